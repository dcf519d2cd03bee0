//! The jigsaw challenge: a background with a puzzle-shaped gap, one or two decoy gaps of
//! other shapes, and the piece cut from the undamaged picture.
//!
//! What defeats the cheap solvers, each measured in `tests/gap_finder.rs`:
//! - the hole does not hold the piece's content: it is refilled with the picture reflected
//!   through a point near its centre (feathered, so no seam runs along the outline), while
//!   each decoy carries a ghost of the piece's own pixels — matching the piece's content
//!   against the picture lands on decoys;
//! - two or three decoys, mostly on the piece's own row with their bodies level with the
//!   gap's; the closest differs from the piece on a single side (a knob turned into a hole
//!   or back), the others on two;
//! - decoys are shaded and outlined more boldly and mostly crisp, the true gap mostly with a
//!   soft edge — and each the other way round now and then, so neither "strongest outline"
//!   nor "softest outline" is a rule;
//! - shading strength, rim, tilt and outline vary per gap, and the whole picture gets a
//!   random colour grade and grain; the piece gets its own bevel, outline, tint and grain,
//!   so it is never a pixel-exact copy of anything in the picture.
//!
//! A person matches outlines: the gap is the one shaped like the piece.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::backdrop::{self, hsv};
use super::canvas::{Canvas, Layer, Rgb, Surface, coverage, mix};
use super::encode;
use super::shape::PieceShape;
use super::{Background, HEIGHT, Jigsaw, WIDTH};

/// Keeps jigsaw streams apart from other users of the same seed.
const DOMAIN: u64 = 0x6a69_6773_6177_0001;

/// How one gap (true or decoy) is shaded.
struct Shade {
    colour: Rgb,
    base: f32,
    rim: f32,
    rim_width: f32,
    tilt: (f32, f32),
    edge: f32,
    edge_colour: Rgb,
    /// Width (px) over which the shading fades in at the outline: the true gap's edge is
    /// soft, the decoys' crisp, so summing edge strength along an outline favours decoys.
    soft: f32,
}

impl Shade {
    /// Decoys are drawn a little bolder than the true gap, so that "strongest shaded
    /// outline" picks a decoy even though its shape fits the piece less well.
    fn random(rng: &mut impl Rng, decoy: bool) -> Shade {
        let boost = if decoy {
            rng.random_range(0.16..0.3)
        } else {
            0.0
        };
        let dark = rng.random_bool(0.8);
        let v = if dark {
            rng.random_range(0.0..45.0)
        } else {
            rng.random_range(215.0..255.0)
        };
        Shade {
            colour: [
                v,
                v + rng.random_range(-8.0..8.0),
                v + rng.random_range(-8.0..8.0),
            ],
            base: boost
                + if dark {
                    rng.random_range(0.38..0.58)
                } else {
                    rng.random_range(0.3..0.48)
                },
            rim: rng.random_range(0.08..0.32),
            rim_width: rng.random_range(1.5..4.0),
            tilt: (rng.random_range(-0.25..0.25), rng.random_range(-0.25..0.25)),
            edge: if decoy || rng.random_bool(0.35) {
                rng.random_range(0.15..0.5) + boost * 1.5
            } else {
                0.0
            },
            edge_colour: if rng.random_bool(0.75) {
                [245.0, 245.0, 245.0]
            } else {
                [25.0, 25.0, 25.0]
            },
            // Mostly soft for the true gap, mostly crisp for decoys — but not always, so that
            // "the softest outline" is no giveaway either.
            soft: if rng.random_bool(if decoy { 0.3 } else { 0.75 }) {
                rng.random_range(2.0..3.0)
            } else {
                0.0
            },
        }
    }

    /// Shades a placed outline.
    fn apply(&self, c: &mut Canvas, p: &Placed) {
        let (bw, bh) = p.shape.box_size();
        for ly in 0..bh {
            for lx in 0..bw {
                let (cx, cy) = ((p.x + lx) as usize, (p.y + ly) as usize);
                if cx >= c.w || cy >= c.h {
                    continue;
                }
                let d = p.sd[(ly * bw + lx) as usize];
                if d > 1.5 + self.soft {
                    continue;
                }
                let cov = (0.5 - d / (1.0 + self.soft)).clamp(0.0, 1.0);
                if cov > 0.0 {
                    let depth = (-d).max(0.0);
                    let a = self.base
                        + self.tilt.0 * (lx as f32 / bw as f32 - 0.5)
                        + self.tilt.1 * (ly as f32 / bh as f32 - 0.5)
                        + self.rim * (-depth / self.rim_width).exp();
                    c.blend(cx, cy, self.colour, a.clamp(0.05, 0.92) * cov);
                }
                if self.edge > 0.0 {
                    let e = self.edge * (1.0 - d.abs()).max(0.0);
                    if e > 0.0 {
                        c.blend(cx, cy, self.edge_colour, e);
                    }
                }
            }
        }
    }
}

/// A placed outline: the shape, its box's top-left, and its signed distance at every pixel
/// centre of its box (row-major), computed once and shared by every pass over it.
struct Placed {
    shape: PieceShape,
    x: u32,
    y: u32,
    sd: Vec<f32>,
}

impl Placed {
    fn new(shape: PieceShape, x: u32, y: u32) -> Placed {
        let sd = shape.grid();
        Placed { shape, x, y, sd }
    }

    fn overlaps(&self, other: &Placed, margin: u32) -> bool {
        let (aw, ah) = self.shape.box_size();
        let (bw, bh) = other.shape.box_size();
        self.x < other.x + bw + margin
            && other.x < self.x + aw + margin
            && self.y < other.y + bh + margin
            && other.y < self.y + ah + margin
    }
}

pub(super) fn generate(seed: u64, base: Option<&Background>) -> Jigsaw {
    let mut rng = StdRng::seed_from_u64(seed ^ DOMAIN);
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut canvas = match base {
        Some(bg) => {
            let mut c = Canvas::from_rgb8(w, h, &bg.rgb);
            backdrop::texture(&mut c, &mut rng, 5.0);
            backdrop::grade_randomly(&mut c, &mut rng);
            c
        }
        None => backdrop::procedural(&mut rng),
    };

    let shape = PieceShape::random(&mut rng);
    let (pw, ph) = shape.box_size();
    let piece_y = rng.random_range(4..=HEIGHT - ph - 4);
    let gap_x = rng.random_range(pw + 10..=WIDTH - pw - 4);
    let gap = Placed::new(shape, gap_x, piece_y);
    // The undamaged pixels the later passes read: the gap's box and what its refill
    // reflects from, never more than REACH px around it.
    let original = Patch::copy(&canvas, gap_x, piece_y, pw, ph);

    let mut placed = vec![gap];
    let decoys = if rng.random_bool(0.3) { 3 } else { 2 };
    for i in 0..decoys {
        // The first decoy is the closest look-alike: one side differs.
        let d = shape.decoy_differing_on(&mut rng, if i == 0 { 1 } else { 2 });
        let (dw, dh) = d.box_size();
        let same_line = i < 2 && rng.random_bool(0.9) || rng.random_bool(0.3);
        for attempt in 0..60 {
            let y = if same_line && attempt < 40 {
                // Bodies level with each other, so that their sides line up.
                (i64::from(piece_y) + shape.body_top().round() as i64 - d.body_top().round() as i64)
                    .clamp(2, i64::from(HEIGHT - dh - 2)) as u32
            } else {
                rng.random_range(2..=HEIGHT - dh - 2)
            };
            let x = rng.random_range(pw + 6..=WIDTH - dw - 2);
            let cand = Placed {
                shape: d,
                x,
                y,
                sd: Vec::new(),
            };
            if placed.iter().all(|p| !p.overlaps(&cand, 6)) {
                placed.push(Placed::new(d, x, y));
                break;
            }
        }
    }

    // The true gap's own pixels are replaced (the hole does not hold the piece's content, so
    // matching the piece against the picture cannot find it there), and the decoys get a
    // ghost of the piece's pixels instead; then every gap its own shading.
    refill(&mut canvas, &original, &placed[0], &mut rng);
    for p in &placed[1..] {
        ghost(
            &mut canvas,
            &original,
            &placed[0],
            p,
            rng.random_range(0.7..0.95),
        );
    }
    for (i, p) in placed.iter().enumerate() {
        Shade::random(&mut rng, i > 0).apply(&mut canvas, p);
    }

    let piece = cut_piece(&original, &placed[0], &mut rng);
    let background = encode::jpeg_canvas(&canvas, rng.random(), 3.0, encode::JPEG_QUALITY);
    Jigsaw {
        background,
        piece: encode::png_rgba(&piece.to_rgba8(rng.random(), 4.0), pw, ph),
        piece_w: pw,
        piece_h: ph,
        piece_y,
        gap_x,
    }
}

/// Replaces what lies under the true gap with the picture point-reflected through the gap's
/// centre, feathered over the last few pixels inside the edge so that no new seam runs
/// along the outline: the hole keeps the local colours and texture but no longer holds the
/// piece's content.
fn refill(c: &mut Canvas, original: &Patch, gap: &Placed, rng: &mut impl Rng) {
    let (gw, gh) = gap.shape.box_size();
    // Reflect through a point a little off the centre, so the mirror image is not exact.
    let cx = gap.x as f32 + gw as f32 / 2.0 + rng.random_range(-6.0..6.0);
    let cy = gap.y as f32 + gh as f32 / 2.0 + rng.random_range(-4.0..4.0);
    let feather = rng.random_range(3.0..5.0f32);
    for ly in 0..gh {
        for lx in 0..gw {
            let d = gap.sd[(ly * gw + lx) as usize];
            if d >= 0.0 {
                continue;
            }
            let (x, y) = (gap.x + lx, gap.y + ly);
            let sx = (2.0 * cx - x as f32).clamp(0.0, (c.w - 1) as f32) as usize;
            let sy = (2.0 * cy - y as f32).clamp(0.0, (c.h - 1) as f32) as usize;
            let weight = ((-d) / feather).clamp(0.0, 1.0);
            c.blend(x as usize, y as usize, original.get(sx, sy), weight);
        }
    }
}

/// Blends the content under the true gap into the piece's outline laid over a decoy
/// (bodies aligned), feathered at its edge: matching the piece's pixels against the
/// picture then scores the decoy as high as the gap.
fn ghost(c: &mut Canvas, original: &Patch, gap: &Placed, decoy: &Placed, weight: f32) {
    let (gw, gh) = gap.shape.box_size();
    let ox = i64::from(decoy.x) + decoy.shape.body_left().round() as i64
        - gap.shape.body_left().round() as i64;
    let oy = i64::from(decoy.y) + decoy.shape.body_top().round() as i64
        - gap.shape.body_top().round() as i64;
    for ly in 0..gh {
        for lx in 0..gw {
            let d = gap.sd[(ly * gw + lx) as usize];
            let cov = ((1.5 - d) / 3.0).clamp(0.0, 1.0);
            if cov <= 0.0 {
                continue;
            }
            let (tx, ty) = (ox + i64::from(lx), oy + i64::from(ly));
            if tx < 0 || ty < 0 || tx as usize >= c.w || ty as usize >= c.h {
                continue;
            }
            let src = original.get((gap.x + lx) as usize, (gap.y + ly) as usize);
            c.blend(tx as usize, ty as usize, src, weight * cov);
        }
    }
}

/// The piece: the undamaged pixels under the gap, tinted, with a light bevel inside the
/// edge and a thin outline around it, transparent elsewhere.
fn cut_piece(original: &Patch, gap: &Placed, rng: &mut impl Rng) -> Layer {
    let (pw, ph) = gap.shape.box_size();
    let (x0, y0) = (gap.x, gap.y);
    let mut layer = Layer::new(0, 0, pw as usize, ph as usize);
    let tint = [
        rng.random_range(0.96..1.06),
        rng.random_range(0.96..1.06),
        rng.random_range(0.96..1.06),
    ];
    let lift = rng.random_range(0.0..12.0);
    let bevel = rng.random_range(0.3..0.6);
    let highlight = hsv(rng.random_range(0.0..360.0), 0.08, 1.0);
    let outline_alpha = rng.random_range(0.55..0.85);
    let outline = if rng.random_bool(0.7) {
        [30.0, 30.0, 30.0]
    } else {
        [250.0, 250.0, 250.0]
    };
    for ly in 0..ph {
        for lx in 0..pw {
            let d = gap.sd[(ly * pw + lx) as usize];
            let (i, j) = (lx as usize, ly as usize);
            let cov = coverage(d);
            if cov > 0.0 {
                let src = original.get((x0 + lx) as usize, (y0 + ly) as usize);
                let mut col = [
                    src[0] * tint[0] + lift,
                    src[1] * tint[1] + lift,
                    src[2] * tint[2] + lift,
                ];
                let depth = (-d).max(0.0);
                if depth < 3.0 {
                    col = mix(col, highlight, bevel * (1.0 - depth / 3.0));
                }
                layer.blend(i, j, col, cov);
            }
            // The outline straddles the edge, fading out 1.5 px either side of it.
            let o = outline_alpha * (1.0 - (d - 0.3).abs() / 1.5).max(0.0);
            if o > 0.0 {
                layer.blend(i, j, outline, o);
            }
        }
    }
    layer
}

/// How far around the gap's box the refill's reflection can read (its centre moves at most
/// 6 px, so a reflected pixel lies at most 12 px outside the box).
const REACH: u32 = 14;

/// A copy of the canvas around the gap, taken before any gap is drawn: copying this
/// rather than the whole 300×200 picture keeps the pass cheap.
struct Patch {
    x0: u32,
    y0: u32,
    w: usize,
    h: usize,
    px: Vec<Rgb>,
}

impl Patch {
    fn copy(c: &Canvas, x: u32, y: u32, w: u32, h: u32) -> Patch {
        let x0 = x.saturating_sub(REACH);
        let y0 = y.saturating_sub(REACH);
        let x1 = (x + w + REACH).min(c.w as u32);
        let y1 = (y + h + REACH).min(c.h as u32);
        let (pw, ph) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let mut px = Vec::with_capacity(pw * ph);
        for row in y0 as usize..y1 as usize {
            let start = row * c.w + x0 as usize;
            px.extend_from_slice(&c.px[start..start + pw]);
        }
        Patch {
            x0,
            y0,
            w: pw,
            h: ph,
            px,
        }
    }

    /// The pixel at canvas coordinates (x, y), clamped into the patch.
    fn get(&self, x: usize, y: usize) -> Rgb {
        let lx = x.saturating_sub(self.x0 as usize).min(self.w - 1);
        let ly = y.saturating_sub(self.y0 as usize).min(self.h - 1);
        self.px[ly * self.w + lx]
    }
}

/// `cargo test --release --lib imaging::jigsaw::timing -- --ignored --nocapture`
#[cfg(test)]
mod timing {
    #[test]
    #[ignore = "a timing loop, run by hand in release (and under perf)"]
    fn jigsaws() {
        let t = std::time::Instant::now();
        for seed in 0..3000 {
            std::hint::black_box(super::generate(seed, None));
        }
        println!("jigsaw: {:?}", t.elapsed() / 3000);
    }
}
