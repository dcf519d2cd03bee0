//! An attacker's view of the generated challenges: simple computer-vision solvers (Sobel
//! edges, outline templates, content templates, shading contrast, seam detection) run
//! against hundreds of jigsaws and restorations, with the hit rate of each printed next to
//! chance. The restoration detectors must stay near chance; the jigsaw ones below a bound
//! measured and justified in `jigsaw_detectors_are_wrong_most_of_the_time`.
//!
//! `cargo test --release --test gap_finder -- --nocapture` prints the table;
//! `cargo test --release --test gap_finder -- --ignored` writes samples to
//! /tmp/imaging-samples/.

use image::{Rgb, RgbImage, RgbaImage};
use stile::imaging::{self, HEIGHT, WIDTH};

fn rgb(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory(jpeg).unwrap().into_rgb8()
}

fn rgba(png: &[u8]) -> RgbaImage {
    image::load_from_memory(png).unwrap().into_rgba8()
}

/// Draws `top` over `base` at (x, y).
fn composite(base: &RgbImage, top: &RgbaImage, x: u32, y: u32) -> RgbImage {
    let mut out = base.clone();
    for (px, py, p) in top.enumerate_pixels() {
        let (cx, cy) = (px + x, py + y);
        if cx >= WIDTH || cy >= HEIGHT {
            continue;
        }
        let a = f32::from(p[3]) / 255.0;
        let b = out.get_pixel(cx, cy);
        let m = |i: usize| (f32::from(p[i]) * a + f32::from(b[i]) * (1.0 - a)) as u8;
        out.put_pixel(cx, cy, Rgb([m(0), m(1), m(2)]));
    }
    out
}

#[test]
#[ignore = "writes sample images to /tmp/imaging-samples"]
fn write_samples() {
    let dir = std::path::Path::new("/tmp/imaging-samples");
    std::fs::create_dir_all(dir).unwrap();
    let mut sheet = RgbImage::new(WIDTH * 2 + 4, (HEIGHT + 4) * 4);
    for seed in 0..8u64 {
        let j = imaging::jigsaw(seed, None);
        let start = composite(&rgb(&j.background), &rgba(&j.piece), 0, j.piece_y);
        let (sx, sy) = (
            (seed as u32 % 2) * (WIDTH + 4),
            (seed as u32 / 2) * (HEIGHT + 4),
        );
        image::imageops::replace(&mut sheet, &start, i64::from(sx), i64::from(sy));
        let bg = rgb(&j.background);
        let piece = rgba(&j.piece);
        composite(&bg, &piece, 0, j.piece_y)
            .save(dir.join(format!("jigsaw-{seed}-start.png")))
            .unwrap();
        composite(&bg, &piece, j.gap_x, j.piece_y)
            .save(dir.join(format!("jigsaw-{seed}-solved.png")))
            .unwrap();
        std::fs::write(dir.join(format!("jigsaw-{seed}.jpg")), &j.background).unwrap();
    }
    sheet.save(dir.join("sheet-jigsaw.png")).unwrap();
    let mut sheet = RgbImage::new(WIDTH * 2 + 4, (HEIGHT + 4) * 4);
    let first: u64 = std::env::var("SAMPLE_FIRST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for seed in first..first + 4 {
        let r = imaging::restoration(seed);
        let scene = rgb(&r.scene);
        let object = rgba(&r.object);
        let start = composite(&scene, &object, 0, r.object_y);
        let solved = composite(&scene, &object, r.target_x, r.object_y);
        start
            .save(dir.join(format!("restoration-{seed}-start.png")))
            .unwrap();
        solved
            .save(dir.join(format!("restoration-{seed}-solved.png")))
            .unwrap();
        let sy = i64::from((seed - first) as u32 * (HEIGHT + 4));
        image::imageops::replace(&mut sheet, &start, 0, sy);
        image::imageops::replace(&mut sheet, &solved, i64::from(WIDTH + 4), sy);
    }
    sheet.save(dir.join("sheet-restoration.png")).unwrap();
}
