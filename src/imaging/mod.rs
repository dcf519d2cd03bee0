//! Procedural challenge images: jigsaw backgrounds with a puzzle-shaped gap, and
//! image-restoration scenes with one object taken out. Pure and seeded — the same seed
//! gives the same bytes — with no I/O, no async and no HTTP; callers run it on the bounded
//! image pool.
//!
//! Map:
//! - [`canvas`] — RGB/RGBA surfaces and signed-distance drawing;
//! - [`backdrop`] — procedural backgrounds (four families) and colour grading;
//! - [`shape`] — the puzzle-piece outline;
//! - [`jigsaw`] / [`restoration`] — the two generators;
//! - [`upload`] — validation of tenant-uploaded backgrounds;
//! - [`encode`] — JPEG and PNG encoding.
//!
//! Geometry shared by both challenges: the movable image (piece or object) is shown at
//! `(x, y)` with `x` from the slider (starting at 0), and the answer `x` always lies in
//! `[w + 10, WIDTH - w - 4]` for a movable image `w` pixels wide.

mod backdrop;
mod canvas;
mod encode;
mod jigsaw;
mod restoration;
mod shape;
mod upload;

pub use upload::MAX_UPLOAD_BYTES;

/// Canvas width of every challenge image.
pub const WIDTH: u32 = 300;
/// Canvas height of every challenge image.
pub const HEIGHT: u32 = 200;

/// A decoded RGB8 image, exactly WIDTH×HEIGHT (tenant-uploaded jigsaw backgrounds).
#[derive(Clone)]
pub struct Background {
    rgb: Vec<u8>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Background({WIDTH}×{HEIGHT})")
    }
}

/// Why an uploaded background was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadError {
    #[error("the image is {bytes} bytes; at most {MAX_UPLOAD_BYTES} bytes (50 KB) are accepted")]
    TooLarge { bytes: usize },
    #[error("the file is not a PNG, JPEG or WebP image")]
    UnsupportedFormat,
    #[error("the image could not be decoded (truncated or corrupt)")]
    Undecodable,
    #[error("the image is {width}×{height} px; it must be exactly {WIDTH}×{HEIGHT} px")]
    WrongSize { width: u32, height: u32 },
}

impl Background {
    /// Validate an upload: PNG, JPEG or WebP; at most 50 KB (51_200 bytes); exactly
    /// 300×200 px. Never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Background, UploadError> {
        upload::decode(bytes)
    }

    /// The pixels, packed RGB8, row by row.
    pub fn rgb8(&self) -> &[u8] {
        &self.rgb
    }
}

/// A generated jigsaw challenge.
pub struct Jigsaw {
    /// JPEG 300×200: the picture with the gap (and decoys).
    pub background: Vec<u8>,
    /// PNG RGBA, `piece_w × piece_h`, transparent outside the piece shape.
    pub piece: Vec<u8>,
    pub piece_w: u32,
    pub piece_h: u32,
    /// Top of the piece's box in background coordinates; the piece only moves in x.
    pub piece_y: u32,
    /// Left of the piece's box where it fits (the secret answer); the piece starts at x = 0.
    pub gap_x: u32,
}

/// Generate a jigsaw. `base` = a custom background to cut from; `None` = procedural.
pub fn jigsaw(seed: u64, base: Option<&Background>) -> Jigsaw {
    jigsaw::generate(seed, base)
}

/// A generated image-restoration challenge.
pub struct Restoration {
    /// JPEG 300×200: a generated scene with ONE object removed and no visible hole.
    pub scene: Vec<u8>,
    /// PNG RGBA of the removed object, transparent around it.
    pub object: Vec<u8>,
    pub object_w: u32,
    pub object_h: u32,
    /// Top of the object's box; it only moves in x and starts at x = 0.
    pub object_y: u32,
    /// Left of the object's box where it belongs (the secret answer).
    pub target_x: u32,
}

/// Generate an image-restoration challenge.
pub fn restoration(seed: u64) -> Restoration {
    restoration::generate(seed)
}
