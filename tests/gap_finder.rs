//! An attacker's view of the generated challenges: simple computer-vision solvers (Sobel
//! edges, outline templates, content templates, shading contrast, seam detection) run
//! against hundreds of jigsaws and restorations, with the hit rate of each printed next to
//! chance. The restoration detectors must stay near chance; the jigsaw ones below a bound
//! measured and justified in `jigsaw_detectors_stay_below_the_regression_bound`.
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

/// A grey-level image as floats, row by row.
struct Gray {
    w: usize,
    h: usize,
    v: Vec<f32>,
}

impl Gray {
    fn from_rgb(img: &RgbImage) -> Gray {
        let v = img
            .pixels()
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Gray {
            w: img.width() as usize,
            h: img.height() as usize,
            v,
        }
    }

    /// Grey level and opacity of a transparent image.
    fn from_rgba(img: &RgbaImage) -> (Gray, Vec<f32>) {
        let rgb = RgbImage::from_fn(img.width(), img.height(), |x, y| {
            let p = img.get_pixel(x, y);
            Rgb([p[0], p[1], p[2]])
        });
        let alpha = img.pixels().map(|p| f32::from(p[3]) / 255.0).collect();
        (Gray::from_rgb(&rgb), alpha)
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.v[y * self.w + x]
    }

    /// Sobel gradients (gx, gy), zero on the border.
    fn sobel(&self) -> (Vec<f32>, Vec<f32>) {
        let (w, h) = (self.w, self.h);
        let (mut gx, mut gy) = (vec![0.0; w * h], vec![0.0; w * h]);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let p = |dx: usize, dy: usize| self.at(x + dx - 1, y + dy - 1);
                gx[y * w + x] =
                    p(2, 0) + 2.0 * p(2, 1) + p(2, 2) - p(0, 0) - 2.0 * p(0, 1) - p(0, 2);
                gy[y * w + x] =
                    p(0, 2) + 2.0 * p(1, 2) + p(2, 2) - p(0, 0) - 2.0 * p(1, 0) - p(2, 0);
            }
        }
        (gx, gy)
    }
}

/// The x (in `lo..=hi`) with the highest score.
fn argmax(lo: u32, hi: u32, score: impl Fn(usize) -> f32) -> u32 {
    (lo..=hi)
        .map(|x| (x, score(x as usize)))
        .fold(
            (lo, f32::NEG_INFINITY),
            |b, c| if c.1 > b.1 { c } else { b },
        )
        .0
}

/// Normalised cross-correlation of `a` and `b` (same length).
fn ncc(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (da, db) = (x - ma, y - mb);
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    sab / (saa * sbb).sqrt().max(1e-6)
}

/// What every detector gets: the picture, the movable image, its y and the answer range.
struct Case {
    image: Gray,
    gx: Vec<f32>,
    gy: Vec<f32>,
    sprite: Gray,
    alpha: Vec<f32>,
    y: usize,
    lo: u32,
    hi: u32,
}

impl Case {
    fn new(image: &RgbImage, sprite: &RgbaImage, y: u32) -> Case {
        let image = Gray::from_rgb(image);
        let (gx, gy) = image.sobel();
        let (sprite, alpha) = Gray::from_rgba(sprite);
        let w = sprite.w as u32;
        Case {
            image,
            gx,
            gy,
            sprite,
            alpha,
            y: y as usize,
            lo: w + 10,
            hi: WIDTH - w - 4,
        }
    }

    /// Sprite-local pixels where `keep(alpha)` holds, as (x, y).
    fn pixels(&self, keep: impl Fn(f32) -> bool) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for y in 0..self.sprite.h {
            for x in 0..self.sprite.w {
                if keep(self.alpha[y * self.sprite.w + x]) && self.y + y < self.image.h {
                    out.push((x, y));
                }
            }
        }
        out
    }

    /// Sobel of the sprite's opacity: its outline, with directions.
    fn outline(&self) -> Vec<(usize, usize, f32, f32)> {
        let a = Gray {
            w: self.sprite.w,
            h: self.sprite.h,
            v: self.alpha.iter().map(|a| a * 255.0).collect(),
        };
        let (ax, ay) = a.sobel();
        let mut out = Vec::new();
        for y in 0..a.h {
            for x in 0..a.w {
                let (gx, gy) = (ax[y * a.w + x], ay[y * a.w + x]);
                let m = (gx * gx + gy * gy).sqrt();
                if m > 200.0 && self.y + y < self.image.h {
                    out.push((x, y, gx / m, gy / m));
                }
            }
        }
        out
    }

    fn mag(&self, x: usize, y: usize) -> f32 {
        let i = y * self.image.w + x;
        (self.gx[i] * self.gx[i] + self.gy[i] * self.gy[i]).sqrt()
    }

    /// Edge strength of the picture summed along the sprite's outline.
    fn outline_edges(&self) -> u32 {
        let o = self.outline();
        argmax(self.lo, self.hi, |x| {
            o.iter()
                .map(|&(px, py, _, _)| self.mag(x + px, self.y + py))
                .sum()
        })
    }

    /// Picture gradients agreeing in direction with the outline's (a chamfer-like match).
    fn oriented_edges(&self) -> u32 {
        let o = self.outline();
        argmax(self.lo, self.hi, |x| {
            o.iter()
                .map(|&(px, py, nx, ny)| {
                    let i = (self.y + py) * self.image.w + x + px;
                    (self.gx[i] * nx + self.gy[i] * ny).abs()
                })
                .sum()
        })
    }

    /// The sprite's own pixels matched against the picture (normalised correlation).
    fn content(&self) -> u32 {
        let inside = self.pixels(|a| a > 0.95);
        let a: Vec<f32> = inside.iter().map(|&(x, y)| self.sprite.at(x, y)).collect();
        argmax(self.lo, self.hi, |x| {
            let b: Vec<f32> = inside
                .iter()
                .map(|&(px, py)| self.image.at(x + px, self.y + py))
                .collect();
            ncc(&a, &b)
        })
    }

    /// Mean grey inside the outline against the ring of the box outside it: shaded gaps
    /// stand out as the largest contrast.
    fn shading(&self) -> u32 {
        let inside = self.pixels(|a| a > 0.95);
        let ring = self.pixels(|a| a == 0.0);
        argmax(self.lo, self.hi, |x| {
            let m = |ps: &[(usize, usize)]| {
                ps.iter()
                    .map(|&(px, py)| self.image.at(x + px, self.y + py))
                    .sum::<f32>()
                    / ps.len().max(1) as f32
            };
            (m(&inside) - m(&ring)).abs()
        })
    }

    /// Two stages, as an attacker who has looked at the pictures would do: the four most
    /// strongly shaded candidates on the row (at least 20 px apart), then the one whose
    /// outline is softest for its shading ("the real gap is the blurry one").
    fn softest_shaded(&self) -> u32 {
        let inside = self.pixels(|a| a > 0.95);
        let ring = self.pixels(|a| a == 0.0);
        let o = self.outline();
        let mean = |x: usize, ps: &[(usize, usize)]| {
            ps.iter()
                .map(|&(px, py)| self.image.at(x + px, self.y + py))
                .sum::<f32>()
                / ps.len().max(1) as f32
        };
        let mut scored: Vec<(u32, f32)> = (self.lo..=self.hi)
            .map(|x| {
                let xu = x as usize;
                (x, (mean(xu, &inside) - mean(xu, &ring)).abs())
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut picks: Vec<(u32, f32)> = Vec::new();
        for (x, contrast) in scored {
            if picks.iter().all(|p| p.0.abs_diff(x) >= 20) {
                picks.push((x, contrast));
            }
            if picks.len() == 4 {
                break;
            }
        }
        picks
            .into_iter()
            .map(|(x, contrast)| {
                let edges: f32 = o
                    .iter()
                    .map(|&(px, py, _, _)| self.mag(x as usize + px, self.y + py))
                    .sum::<f32>()
                    / o.len().max(1) as f32;
                (x, edges / (contrast + 1.0))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(self.lo, |p| p.0)
    }

    /// Edge energy under the sprite's footprint, lowest first: "the empty spot".
    fn emptiest(&self) -> u32 {
        let inside = self.pixels(|a| a > 0.5);
        argmax(self.lo, self.hi, |x| {
            -inside
                .iter()
                .map(|&(px, py)| self.mag(x + px, self.y + py))
                .sum::<f32>()
        })
    }

    /// Inpainting leaves smoother texture than its surroundings: the box whose Laplacian
    /// energy is lowest relative to a ring around it.
    fn seam(&self) -> u32 {
        let (w, h) = (self.sprite.w, self.sprite.h);
        let lap = |x: usize, y: usize| {
            if x == 0 || y == 0 || x + 1 >= self.image.w || y + 1 >= self.image.h {
                return 0.0;
            }
            (4.0 * self.image.at(x, y)
                - self.image.at(x - 1, y)
                - self.image.at(x + 1, y)
                - self.image.at(x, y - 1)
                - self.image.at(x, y + 1))
            .abs()
        };
        argmax(self.lo, self.hi, |x| {
            let (mut inner, mut ni, mut outer, mut no) = (0.0, 0.0, 0.0, 0.0);
            for y in self.y.saturating_sub(4)..(self.y + h + 4).min(self.image.h) {
                for cx in x.saturating_sub(4)..(x + w + 4).min(self.image.w) {
                    let inside = cx >= x && cx < x + w && y >= self.y && y < self.y + h;
                    if inside {
                        inner += lap(cx, y);
                        ni += 1.0;
                    } else {
                        outer += lap(cx, y);
                        no += 1.0;
                    }
                }
            }
            -(inner / ni) / (outer / no + 1.0)
        })
    }

    /// A uniform guess over the answer range, for comparison.
    fn chance(&self) -> f64 {
        13.0 / f64::from(self.hi - self.lo + 1)
    }
}

/// A named solver: picture in, guessed x out.
type Detector = (&'static str, fn(&Case) -> u32);

/// Hit rates (|found - answer| ≤ 6) per detector, and the mean chance level.
fn hit_rates(cases: &[(Case, u32)], detectors: &[Detector]) -> (Vec<(String, f64)>, f64) {
    let chance = cases.iter().map(|(c, _)| c.chance()).sum::<f64>() / cases.len() as f64;
    let rates = detectors
        .iter()
        .map(|(name, d)| {
            let hits = cases
                .iter()
                .filter(|(c, answer)| d(c).abs_diff(*answer) <= 6)
                .count();
            (name.to_string(), hits as f64 / cases.len() as f64)
        })
        .collect();
    (rates, chance)
}

fn print_table(title: &str, n: usize, rates: &[(String, f64)], chance: f64) {
    println!("\n{title} ({n} challenges; chance = uniform guess over the answer range)");
    println!("| detector | hit rate | × chance |");
    println!("|---|---:|---:|");
    println!("| chance | {:.1}% | 1.0 |", chance * 100.0);
    for (name, r) in rates {
        println!("| {name} | {:.1}% | {:.1} |", r * 100.0, r / chance);
    }
}

const N: u64 = 200;

#[test]
fn restoration_detectors_stay_near_chance() {
    let cases: Vec<(Case, u32)> = (0..N)
        .map(|seed| {
            let r = imaging::restoration(seed + 10_000);
            (
                Case::new(&rgb(&r.scene), &rgba(&r.object), r.object_y),
                r.target_x,
            )
        })
        .collect();
    let detectors: [Detector; 5] = [
        ("object template (NCC)", Case::content),
        ("object outline on Sobel edges", Case::outline_edges),
        ("oriented outline on Sobel edges", Case::oriented_edges),
        ("emptiest spot (least edge energy)", Case::emptiest),
        ("inpainting seam (Laplacian ratio)", Case::seam),
    ];
    let (rates, chance) = hit_rates(&cases, &detectors);
    print_table("Image restoration", cases.len(), &rates, chance);
    for (name, r) in &rates {
        assert!(
            *r <= chance * 2.5,
            "{name}: {:.1}% against chance {:.1}%",
            r * 100.0,
            chance * 100.0
        );
    }
}

#[test]
fn jigsaw_detectors_are_wrong_most_of_the_time() {
    let cases: Vec<(Case, u32)> = (0..N)
        .map(|seed| {
            // Seeds 50 000‥: held out from the 10 000‥ range the generator was tuned on.
            let j = imaging::jigsaw(seed + 50_000, None);
            (
                Case::new(&rgb(&j.background), &rgba(&j.piece), j.piece_y),
                j.gap_x,
            )
        })
        .collect();
    let detectors: [Detector; 5] = [
        ("piece outline on Sobel edges", Case::outline_edges),
        ("oriented outline on Sobel edges", Case::oriented_edges),
        ("piece content (NCC)", Case::content),
        ("shading contrast inside/outside", Case::shading),
        ("softest of the 4 most shaded", Case::softest_shaded),
    ];
    let (rates, chance) = hit_rates(&cases, &detectors);
    print_table("Jigsaw", cases.len(), &rates, chance);
    for (name, r) in &rates {
        assert!(*r <= JIGSAW_BOUND, "{name}: {:.1}%", r * 100.0);
    }
}

/// The jigsaw bound: every detector must be wrong at least half the time. Measured on the
/// held-out seeds 50 000‥50 199 (docs/BENCHMARKS.md has the table): ≈ 20–40%, against a
/// chance level of ≈ 7%. A jigsaw has a visible gap by design; what keeps these solvers
/// wrong is that the hole does not hold the piece's content (so content matching lands on
/// the decoys, which do), that two or three decoys share the piece's row, the closest of
/// them differing on a single side, and that decoys are shaded and outlined more boldly
/// than the true gap. A detector that cannot tell the row's candidates apart scores about
/// one in three or four; the margin to 50% covers seed-to-seed noise (±3.5% at n = 200).
/// Behaviour and trajectory checks carry the rest of the jigsaw's defence.
const JIGSAW_BOUND: f64 = 0.5;

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
        start
            .save(dir.join(format!("jigsaw-{seed}-start.jpg")))
            .unwrap();
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
        solved
            .save(dir.join(format!("restoration-{seed}-solved.jpg")))
            .unwrap();
        start
            .save(dir.join(format!("restoration-{seed}-start.jpg")))
            .unwrap();
        let sy = i64::from((seed - first) as u32 * (HEIGHT + 4));
        image::imageops::replace(&mut sheet, &start, 0, sy);
        image::imageops::replace(&mut sheet, &solved, i64::from(WIDTH + 4), sy);
    }
    sheet.save(dir.join("sheet-restoration.png")).unwrap();
}
