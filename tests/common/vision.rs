//! An attacker's eyes: simple computer-vision solvers for the picture challenges (Sobel
//! edges, outline templates, content templates, shading contrast, seam detection), shared
//! by the image-hardness test (`tests/gap_finder.rs`) and the adversarial suite's own image
//! solver (`tests/api/adversarial.rs`). Each detector takes the picture, the movable part
//! and its height, and guesses where the part belongs.

#![allow(dead_code)] // each test crate uses its own share of the detectors

use image::{Rgb, RgbImage, RgbaImage};
use stile::imaging::WIDTH;

pub fn rgb(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory(jpeg).unwrap().into_rgb8()
}

pub fn rgba(png: &[u8]) -> RgbaImage {
    image::load_from_memory(png).unwrap().into_rgba8()
}

/// A grey-level image as floats, row by row.
pub struct Gray {
    pub w: usize,
    pub h: usize,
    pub v: Vec<f32>,
}

impl Gray {
    pub fn from_rgb(img: &RgbImage) -> Gray {
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
    pub fn from_rgba(img: &RgbaImage) -> (Gray, Vec<f32>) {
        let rgb = RgbImage::from_fn(img.width(), img.height(), |x, y| {
            let p = img.get_pixel(x, y);
            Rgb([p[0], p[1], p[2]])
        });
        let alpha = img.pixels().map(|p| f32::from(p[3]) / 255.0).collect();
        (Gray::from_rgb(&rgb), alpha)
    }

    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.v[y * self.w + x]
    }

    /// Sobel gradients (gx, gy), zero on the border.
    pub fn sobel(&self) -> (Vec<f32>, Vec<f32>) {
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
pub fn argmax(lo: u32, hi: u32, score: impl Fn(usize) -> f32) -> u32 {
    (lo..=hi)
        .map(|x| (x, score(x as usize)))
        .fold(
            (lo, f32::NEG_INFINITY),
            |b, c| if c.1 > b.1 { c } else { b },
        )
        .0
}

/// Normalised cross-correlation of `a` and `b` (same length).
pub fn ncc(a: &[f32], b: &[f32]) -> f32 {
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
pub struct Case {
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
    pub fn new(image: &RgbImage, sprite: &RgbaImage, y: u32) -> Case {
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
    pub fn pixels(&self, keep: impl Fn(f32) -> bool) -> Vec<(usize, usize)> {
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
    pub fn outline(&self) -> Vec<(usize, usize, f32, f32)> {
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

    pub fn mag(&self, x: usize, y: usize) -> f32 {
        let i = y * self.image.w + x;
        (self.gx[i] * self.gx[i] + self.gy[i] * self.gy[i]).sqrt()
    }

    /// Edge strength of the picture summed along the sprite's outline.
    pub fn outline_edges(&self) -> u32 {
        let o = self.outline();
        argmax(self.lo, self.hi, |x| {
            o.iter()
                .map(|&(px, py, _, _)| self.mag(x + px, self.y + py))
                .sum()
        })
    }

    /// Picture gradients agreeing in direction with the outline's (a chamfer-like match).
    pub fn oriented_edges(&self) -> u32 {
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
    pub fn content(&self) -> u32 {
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
    pub fn shading(&self) -> u32 {
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
    pub fn softest_shaded(&self) -> u32 {
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
    pub fn emptiest(&self) -> u32 {
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
    pub fn seam(&self) -> u32 {
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
    pub fn chance(&self) -> f64 {
        13.0 / f64::from(self.hi - self.lo + 1)
    }
}

/// A named solver: picture in, guessed x out.
pub type Detector = (&'static str, fn(&Case) -> u32);
