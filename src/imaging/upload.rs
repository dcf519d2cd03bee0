//! Validation of tenant-uploaded jigsaw backgrounds: format by magic bytes, size limit,
//! dimensions read from the header before any pixel is decoded, and a decoder held to
//! strict limits. Untrusted bytes never cause a panic: every failure is an [`UploadError`].

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use super::{Background, HEIGHT, UploadError, WIDTH};

/// Largest accepted upload, in bytes (50 KB).
pub const MAX_UPLOAD_BYTES: usize = 51_200;

/// The container format named by the first bytes, if it is one we accept.
fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::WebP)
    } else {
        None
    }
}

/// Whether the file ends the way its format says files end. Decoders forgive truncation
/// (a JPEG cut short decodes with a grey bottom); an upload cut short is refused instead.
fn complete(bytes: &[u8], format: ImageFormat) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    match format {
        // The end-of-image marker, allowing a little trailing padding after it.
        ImageFormat::Jpeg => tail.windows(2).any(|w| w == [0xFF, 0xD9]),
        // The IEND chunk: its type and CRC close the file.
        ImageFormat::Png => bytes.ends_with(b"IEND\xAE\x42\x60\x82"),
        // The RIFF header states the file's length.
        _ => {
            bytes.len() >= 12
                && u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize + 8
                    <= bytes.len()
        }
    }
}

pub(super) fn decode(bytes: &[u8]) -> Result<Background, UploadError> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(UploadError::TooLarge { bytes: bytes.len() });
    }
    let format = sniff(bytes).ok_or(UploadError::UnsupportedFormat)?;
    if !complete(bytes, format) {
        return Err(UploadError::Undecodable);
    }
    let reader = || {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = Limits::default();
        // A little room above the real size so that a wrong size is reported as such.
        limits.max_image_width = Some(4 * WIDTH);
        limits.max_image_height = Some(4 * HEIGHT);
        limits.max_alloc = Some(16 * 1024 * 1024);
        r.limits(limits);
        r
    };
    // Third-party decoders are fuzzed upstream; the unwind guard is defence in depth so that
    // a decoder bug on hostile bytes is a rejected upload, not a crashed worker.
    let guarded = |f: &dyn Fn() -> Result<Background, UploadError>| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or(Err(UploadError::Undecodable))
    };
    guarded(&|| {
        let (width, height) = reader()
            .into_dimensions()
            .map_err(|_| UploadError::Undecodable)?;
        if (width, height) != (WIDTH, HEIGHT) {
            return Err(UploadError::WrongSize { width, height });
        }
        let img = reader().decode().map_err(|_| UploadError::Undecodable)?;
        if (img.width(), img.height()) != (WIDTH, HEIGHT) {
            return Err(UploadError::WrongSize {
                width: img.width(),
                height: img.height(),
            });
        }
        Ok(Background {
            rgb: img.into_rgb8().into_raw(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn picture(w: u32, h: u32) -> image::RgbImage {
        // Smooth gradients with a few hard-edged blocks: compresses well in every format.
        image::RgbImage::from_fn(w, h, |x, y| {
            let block = ((x / 50) + (y / 40)) % 2 == 0;
            let v = if block { 40 } else { 0 };
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 100 + v])
        })
    }

    fn encode(img: &image::RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn jpeg_of(img: &image::RgbImage) -> Vec<u8> {
        super::super::encode::jpeg(img.as_raw(), img.width(), img.height(), 70)
    }

    #[test]
    fn accepts_png_jpeg_and_webp_of_the_right_size() {
        let img = picture(WIDTH, HEIGHT);
        let png = encode(&img, ImageFormat::Png);
        let webp = encode(&img, ImageFormat::WebP);
        let jpeg = jpeg_of(&img);
        for (name, bytes) in [("png", png), ("webp", webp), ("jpeg", jpeg)] {
            assert!(bytes.len() <= MAX_UPLOAD_BYTES, "{name}: {}", bytes.len());
            let bg = Background::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(bg.rgb.len(), (WIDTH * HEIGHT * 3) as usize);
        }
        // Lossless formats keep the pixels.
        let bg = Background::decode(&encode(&img, ImageFormat::Png)).unwrap();
        assert_eq!(bg.rgb, img.as_raw().clone());
    }

    #[test]
    fn rejects_the_wrong_size() {
        for (w, h) in [(299, 200), (300, 201), (200, 300), (1, 1)] {
            let bytes = encode(&picture(w, h), ImageFormat::Png);
            assert_eq!(
                Background::decode(&bytes).err(),
                Some(UploadError::WrongSize {
                    width: w,
                    height: h
                })
            );
        }
        let jpeg = jpeg_of(&picture(320, 240));
        assert_eq!(
            Background::decode(&jpeg).err(),
            Some(UploadError::WrongSize {
                width: 320,
                height: 240
            })
        );
    }

    #[test]
    fn rejects_too_large_before_looking_inside() {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(MAX_UPLOAD_BYTES + 1, 0);
        assert_eq!(
            Background::decode(&bytes).err(),
            Some(UploadError::TooLarge {
                bytes: MAX_UPLOAD_BYTES + 1
            })
        );
        // Exactly at the limit is not "too large" (it fails later, as garbage).
        bytes.truncate(MAX_UPLOAD_BYTES);
        assert_eq!(
            Background::decode(&bytes).err(),
            Some(UploadError::Undecodable)
        );
    }

    #[test]
    fn rejects_other_formats_and_garbage() {
        let mut bmp = b"BM".to_vec();
        bmp.resize(5000, 7);
        assert_eq!(
            Background::decode(&bmp).err(),
            Some(UploadError::UnsupportedFormat)
        );
        for junk in [&b""[..], b"GIF89a....", b"<svg></svg>", b"hello world"] {
            assert_eq!(
                Background::decode(junk).err(),
                Some(UploadError::UnsupportedFormat)
            );
        }
    }

    #[test]
    fn never_panics_on_truncated_or_corrupted_uploads() {
        let img = picture(WIDTH, HEIGHT);
        let files = [
            encode(&img, ImageFormat::Png),
            encode(&img, ImageFormat::WebP),
            jpeg_of(&img),
        ];
        let mut rng = StdRng::seed_from_u64(99);
        for file in &files {
            for cut in (0..file.len()).step_by(file.len() / 40 + 1) {
                let r = Background::decode(&file[..cut]);
                assert!(r.is_err(), "a truncated file at {cut} bytes was accepted");
            }
            for _ in 0..60 {
                let mut f = file.clone();
                for _ in 0..rng.random_range(1..20) {
                    let i = rng.random_range(0..f.len());
                    f[i] = rng.random();
                }
                // Either outcome is fine; what matters is that it returns.
                let _ = Background::decode(&f);
            }
        }
        for _ in 0..300 {
            let n = rng.random_range(0..2000);
            let mut f: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            // Give some of them a valid signature so that the decoders get exercised.
            match rng.random_range(0..4) {
                0 => f
                    .splice(0..0, b"\x89PNG\r\n\x1a\n".iter().copied())
                    .for_each(drop),
                1 => f.splice(0..0, [0xFF, 0xD8, 0xFF]).for_each(drop),
                2 => f
                    .splice(0..0, b"RIFF\0\0\0\0WEBPVP8 ".iter().copied())
                    .for_each(drop),
                _ => {}
            }
            assert!(Background::decode(&f).is_err());
        }
    }
}
