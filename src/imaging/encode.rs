//! Encoding for the wire: baseline JPEG for opaque pictures (our own encoder, see
//! [`super::jpeg`]), fast-compressed PNG for the transparent piece and object. Encoding
//! into a `Vec` cannot fail for the sizes used here; should an encoder ever report an
//! error the result is an empty buffer, never a panic.

use super::canvas::Canvas;

/// Encodes `canvas` as JPEG with luma grain of ±`grain` taken from `seed`.
pub(crate) fn jpeg_canvas(canvas: &Canvas, seed: u64, grain: f32, quality: u8) -> Vec<u8> {
    super::jpeg::encode(canvas, seed, grain, quality)
}

/// JPEG quality for backgrounds and scenes: low enough to blur pixel traces and stay under
/// the size budget, high enough that edges stay crisp to a person.
pub(crate) const JPEG_QUALITY: u8 = 72;

/// Encodes packed RGB8 as a 4:2:0 JPEG with a general-purpose encoder: the reference our
/// own is compared with, and test uploads.
#[cfg(test)]
pub(crate) fn jpeg(rgb: &[u8], w: u32, h: u32, quality: u8) -> Vec<u8> {
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
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
