//! Encoding for the wire: baseline JPEG for opaque pictures, fast-compressed PNG for the
//! transparent piece and object. Encoding into a `Vec` cannot fail for the sizes used here;
//! should an encoder ever report an error the result is an empty buffer, never a panic.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::canvas::Canvas;

thread_local! {
    /// This thread's RGB8 staging buffer for [`jpeg_canvas`] (180 KB, reused).
    static STAGING: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Packs `canvas` with grain (see [`Canvas::to_rgb8`]) and encodes it as JPEG, staging the
/// pixels in a per-thread buffer.
pub(crate) fn jpeg_canvas(canvas: &Canvas, seed: u64, grain: f32, quality: u8) -> Vec<u8> {
    STAGING.with(|staging| {
        let mut rgb = staging.borrow_mut();
        canvas.to_rgb8_into(seed, grain, &mut rgb);
        jpeg(&rgb, canvas.w as u32, canvas.h as u32, quality)
    })
}

/// JPEG quality for backgrounds and scenes: low enough to blur pixel traces and stay under
/// the size budget, high enough that edges stay crisp to a person.
pub(crate) const JPEG_QUALITY: u8 = 72;

/// Encodes packed RGB8 as a 4:2:0 JPEG.
pub(crate) fn jpeg(rgb: &[u8], w: u32, h: u32, quality: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 * 1024);
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(SamplingFactor::R_4_2_0);
    let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h)) else {
        return Vec::new();
    };
    match enc.encode(rgb, w, h, ColorType::Rgb) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Encodes packed RGBA8 as a PNG with the fastest compression.
pub(crate) fn png_rgba(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 * 1024);
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let Ok(mut writer) = enc.write_header() else {
            return Vec::new();
        };
        if writer.write_image_data(rgba).is_err() || writer.finish().is_err() {
            return Vec::new();
        }
    }
    out
}
