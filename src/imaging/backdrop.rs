//! Procedural backgrounds: four families (landscape, geometric, city, terrain) plus the
//! shared pieces the restoration scenes reuse (sky, sun, clouds, hills, texture). Every
//! family ends with a mid-frequency texture so that no region is flat, and most add shapes
//! with hard edges, which is what makes naive edge-based gap finders noisy.

use rand::Rng;

use super::canvas::{
    Canvas, Convex, Field, Rgb, Surface, bbox_of, coverage, fill, fill_box, mix, scale, sd_circle,
    sd_ellipse,
};
use super::{HEIGHT, WIDTH};

const W: f32 = WIDTH as f32;
const H: f32 = HEIGHT as f32;

/// A colour from hue (degrees), saturation and value (0‥1).
pub(crate) fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h = h.rem_euclid(360.0) / 60.0;
    let c = v * s;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [(r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0]
}

/// A random procedural background, 300×200.
///
/// The family's shapes and the texture are drawn on a half-resolution draft, colour-graded
/// (see [`grade_randomly`]) and upscaled — a quarter of the pixels to shade, which is most
/// of the cost; the streaks, the sharpest edges, are drawn at full resolution on top.
pub(crate) fn procedural(rng: &mut impl Rng) -> Canvas {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut d = Canvas::draft(w, h);
    let family = rng.random_range(0..4);
    draw_family(&mut d, rng, family);
    let amp = rng.random_range(8.0..16.0);
    texture(&mut d, rng, amp);
    grade_randomly(&mut d, rng);
    let mut c = d.upscale2();
    streaks(&mut c, rng);
    c
}

/// Draws family `n` (0 landscape, 1 geometric, 2 city, 3 terrain) over the whole canvas.
pub(crate) fn draw_family(c: &mut Canvas, rng: &mut impl Rng, n: u32) {
    match n {
        0 => landscape(c, rng),
        1 => geometric(c, rng),
        2 => city(c, rng),
        _ => terrain(c, rng),
    }
}

/// The sky: a three-stop vertical gradient from a day, dusk, night or overcast palette,
/// stretched so that its last stop sits at `horizon`.
pub(crate) fn sky(c: &mut Canvas, rng: &mut impl Rng) {
    let hue = rng.random_range(190.0..230.0);
    let stops = match rng.random_range(0..4) {
        0 | 1 => [
            hsv(hue, 0.65, 0.75),
            hsv(hue - 5.0, 0.45, 0.9),
            hsv(hue - 10.0, 0.2, 0.97),
        ],
        2 => [
            hsv(rng.random_range(250.0..280.0), 0.5, 0.5),
            hsv(rng.random_range(320.0..350.0), 0.45, 0.85),
            hsv(rng.random_range(20.0..45.0), 0.6, 0.98),
        ],
        _ => [
            hsv(hue, 0.15, 0.6),
            hsv(hue, 0.1, 0.75),
            hsv(hue, 0.08, 0.88),
        ],
    };
    c.vertical_gradient(&stops);
}

pub(crate) fn sun(c: &mut Canvas, rng: &mut impl Rng) {
    let (x, y) = (
        rng.random_range(20.0..W - 20.0),
        rng.random_range(15.0..70.0),
    );
    let r = rng.random_range(9.0..20.0);
    let col = hsv(
        rng.random_range(35.0..60.0),
        rng.random_range(0.2..0.6),
        1.0,
    );
    let glow = r * 2.2;
    fill(
        c,
        [x - glow, y - glow, x + glow, y + glow],
        col,
        0.25,
        |px, py| sd_circle(px, py, x, y, glow),
    );
    fill(c, [x - r, y - r, x + r, y + r], col, 0.95, |px, py| {
        sd_circle(px, py, x, y, r)
    });
}

/// A few clouds (clusters of ellipses) with their bottoms between `y0` and `y1`.
pub(crate) fn clouds(c: &mut Canvas, rng: &mut impl Rng, n: usize, y0: f32, y1: f32) {
    for _ in 0..n {
        let (cx, cy) = (rng.random_range(-20.0..W + 20.0), rng.random_range(y0..y1));
        let shade = rng.random_range(225.0..255.0);
        let col = [shade, shade, shade + (255.0 - shade) * 0.5];
        let alpha = rng.random_range(0.6..0.95);
        let puffs = rng.random_range(3..6);
        let width = rng.random_range(30.0..70.0);
        for i in 0..puffs {
            let t = i as f32 / (puffs - 1) as f32 - 0.5;
            let (px, rx) = (cx + t * width, rng.random_range(9.0..18.0));
            let ry = rx * rng.random_range(0.6..0.9);
            let py = cy - ry * (1.0 - t.abs()) * 0.8;
            fill(
                c,
                [px - rx, py - ry, px + rx, py + ry],
                col,
                alpha,
                |x, y| sd_ellipse(x, y, px, py, rx, ry),
            );
        }
    }
}

/// A one-dimensional height profile: `base` plus a few random sines, one value per column.
pub(crate) fn profile(rng: &mut impl Rng, base: f32, amp: f32) -> Vec<f32> {
    let waves: Vec<(f32, f32, f32)> = (0..3)
        .map(|i| {
            (
                rng.random_range(0.5..1.5) * (i + 1) as f32 * std::f32::consts::TAU / W,
                rng.random_range(0.0..std::f32::consts::TAU),
                amp / (i + 1) as f32,
            )
        })
        .collect();
    (0..WIDTH as usize + 2)
        .map(|x| {
            base + waves
                .iter()
                .map(|(f, p, a)| (x as f32 * f + p).sin() * a)
                .sum::<f32>()
        })
        .collect()
}

/// Fills everything below the profile `top` (one height per canvas column) with `col`.
pub(crate) fn fill_below(c: &mut Canvas, top: &[f32], col: Rgb, alpha: f32) {
    let k = c.scale;
    for x in 0..c.w {
        // The column's centre in canvas units, and the profile there in pixels.
        let t = top[(((x as f32 + 0.5) * k) as usize).min(top.len() - 1)] / k;
        let y0 = (t.floor() as i64 - 1).clamp(0, c.h as i64) as usize;
        for y in y0..c.h {
            let a = coverage(t - (y as f32 + 0.5)) * alpha;
            if a > 0.0 {
                c.blend(x, y, col, a);
            }
        }
    }
}

/// Layered hills from `y0` (farthest) down to `y1`, nearer layers darker and more saturated.
pub(crate) fn hills(c: &mut Canvas, rng: &mut impl Rng, layers: usize, y0: f32, y1: f32, hue: f32) {
    for i in 0..layers {
        let t = i as f32 / layers.max(2) as f32;
        let base = y0 + (y1 - y0) * t;
        let amp = rng.random_range(6.0..22.0);
        let top = profile(rng, base, amp);
        let col = hsv(
            hue + rng.random_range(-25.0..25.0),
            0.25 + 0.5 * t,
            0.8 - 0.45 * t + rng.random_range(-0.05..0.05),
        );
        fill_below(c, &top, col, 1.0);
    }
}

/// The size of a noise field for `c`: a draft's own size (no upscaling needed), a third of
/// a full-resolution canvas's.
fn noise_size(c: &Canvas) -> (usize, usize) {
    if c.scale > 1.0 { (c.w, c.h) } else { (100, 67) }
}

/// Mid-frequency texture over the whole canvas (fractal value noise).
pub(crate) fn texture(c: &mut Canvas, rng: &mut impl Rng, amp: f32) {
    let cells = rng.random_range(10..18);
    let (fw, fh) = noise_size(c);
    let f = Field::value_noise(rng, fw, fh, cells, 3, 0.55);
    let tint = [
        rng.random_range(0.7..1.0),
        rng.random_range(0.7..1.0),
        rng.random_range(0.7..1.0),
    ];
    c.add_field(&f, amp, tint);
}

fn landscape(c: &mut Canvas, rng: &mut impl Rng) {
    sky(c, rng);
    if rng.random_bool(0.6) {
        sun(c, rng);
    }
    let n = rng.random_range(1..5);
    clouds(c, rng, n, 20.0, 90.0);
    let hue = rng.random_range(60.0..160.0);
    let (layers, top) = (rng.random_range(3..6), rng.random_range(70.0..110.0));
    hills(c, rng, layers, top, 185.0, hue);
    // Conifers scattered over the nearer hills.
    for _ in 0..rng.random_range(4..14) {
        let (x, base) = (rng.random_range(0.0..W), rng.random_range(120.0..200.0));
        let (h, w) = (rng.random_range(14.0..36.0), rng.random_range(6.0..13.0));
        let pts = [(x - w, base), (x, base - h), (x + w, base)];
        let col = hsv(
            hue + rng.random_range(-20.0..20.0),
            0.6,
            rng.random_range(0.2..0.45),
        );
        fill(c, bbox_of(&pts), col, 1.0, {
            let poly = Convex::new(&pts);
            move |px, py| poly.sd(px, py)
        });
    }
}

fn geometric(c: &mut Canvas, rng: &mut impl Rng) {
    let hue = rng.random_range(0.0..360.0);
    let stops = [
        hsv(hue, rng.random_range(0.3..0.8), rng.random_range(0.5..0.95)),
        hsv(
            hue + rng.random_range(40.0..140.0),
            rng.random_range(0.3..0.8),
            rng.random_range(0.5..0.95),
        ),
    ];
    c.vertical_gradient(&stops);
    let f = Field::value_noise(rng, 40, 27, 3, 2, 0.5);
    c.add_field(&f, 40.0, [1.0, 0.8, 0.6]);
    for _ in 0..rng.random_range(25..55) {
        let col = hsv(
            hue + rng.random_range(-60.0..200.0),
            rng.random_range(0.2..0.9),
            rng.random_range(0.25..1.0),
        );
        let alpha = rng.random_range(0.35..1.0);
        let (x, y) = (
            rng.random_range(-10.0..W + 10.0),
            rng.random_range(-10.0..H + 10.0),
        );
        let s = rng.random_range(5.0..40.0);
        match rng.random_range(0..4) {
            0 => fill(c, [x - s, y - s, x + s, y + s], col, alpha, |px, py| {
                sd_circle(px, py, x, y, s)
            }),
            1 => fill_box(c, [x - s, y - s * 0.6, x + s, y + s * 0.6], col, alpha),
            2 => {
                let a = rng.random_range(0.0..std::f32::consts::TAU);
                let pts: Vec<(f32, f32)> = (0..3)
                    .map(|i| {
                        let t = a - i as f32 * std::f32::consts::TAU / 3.0;
                        (x + s * t.cos(), y + s * t.sin())
                    })
                    .collect();
                fill(c, bbox_of(&pts), col, alpha, {
                    let poly = Convex::new(&pts);
                    move |px, py| poly.sd(px, py)
                })
            }
            _ => {
                let th = rng.random_range(1.5..5.0);
                fill(c, [x - s, y - s, x + s, y + s], col, alpha, |px, py| {
                    sd_circle(px, py, x, y, s - th).abs() - th
                })
            }
        }
    }
}

fn city(c: &mut Canvas, rng: &mut impl Rng) {
    sky(c, rng);
    let n = rng.random_range(0..3);
    clouds(c, rng, n, 15.0, 60.0);
    let night = rng.random_bool(0.4);
    if night {
        c.grade(
            [[0.45, 0.0, 0.0], [0.0, 0.45, 0.0], [0.0, 0.0, 0.6]],
            [0.0, 0.0, 10.0],
        );
    }
    let hue = rng.random_range(180.0..260.0);
    for layer in 0..3 {
        let v = 0.75 - layer as f32 * 0.22;
        let mut x = rng.random_range(-20.0..0.0);
        while x < W {
            let bw = rng.random_range(18.0..48.0);
            let top = rng.random_range(40.0 + layer as f32 * 25.0..150.0);
            let col = hsv(
                hue + rng.random_range(-30.0..30.0),
                rng.random_range(0.05..0.3),
                v * if night { 0.4 } else { 1.0 },
            );
            fill_box(c, [x, top, x + bw, H], col, 1.0);
            if layer > 0 {
                let lit = hsv(
                    rng.random_range(35.0..55.0),
                    0.5,
                    if night { 0.95 } else { 0.55 },
                );
                let dark = scale(col, 0.6);
                let (ww, wh) = (rng.random_range(3.0..6.0), rng.random_range(4.0..7.0));
                let mut wy = top + 5.0;
                while wy + wh < H - 4.0 {
                    let mut wx = x + 4.0;
                    while wx + ww < x + bw - 3.0 {
                        let col = if rng.random_bool(0.45) { lit } else { dark };
                        fill_box(c, [wx, wy, wx + ww, wy + wh], col, 1.0);
                        wx += ww + rng.random_range(3.0..5.0);
                    }
                    wy += wh + rng.random_range(4.0..7.0);
                }
            }
            x += bw + rng.random_range(-4.0..10.0);
        }
    }
}

fn terrain(c: &mut Canvas, rng: &mut impl Rng) {
    let cells = rng.random_range(3..6);
    let (fw, fh) = noise_size(c);
    let f = Field::value_noise(rng, fw, fh, cells, 4, 0.55);
    let hue = rng.random_range(0.0..360.0);
    let palette: Vec<Rgb> = (0..5)
        .map(|i| {
            hsv(
                hue + i as f32 * rng.random_range(15.0..50.0),
                rng.random_range(0.25..0.85),
                rng.random_range(0.3..1.0),
            )
        })
        .collect();
    let bands = rng.random_range(1.0..3.0);
    let last = palette.len() - 1;
    let w = c.w;
    f.rows_upscaled(w, c.h, |y, values| {
        for (p, &v) in c.px[y * w..(y + 1) * w].iter_mut().zip(values) {
            let t = ((v * bands * 0.5 + 0.5).rem_euclid(1.0)) * last as f32;
            let k = (t as usize).min(last - 1);
            *p = mix(palette[k], palette[k + 1], t - k as f32);
        }
    });
    // Pebbles with a rim.
    for _ in 0..rng.random_range(5..20) {
        let (x, y, r) = (
            rng.random_range(0.0..W),
            rng.random_range(0.0..H),
            rng.random_range(3.0..14.0),
        );
        let col = palette[rng.random_range(0..palette.len())];
        let ry = r * rng.random_range(0.5..1.0);
        fill(
            c,
            [x - r, y - ry, x + r, y + ry],
            scale(col, 0.55),
            1.0,
            |px, py| sd_ellipse(px, py, x, y, r, ry),
        );
        fill(c, [x - r, y - ry, x + r, y + ry], col, 1.0, |px, py| {
            sd_ellipse(px, py, x, y, r, ry) + 1.5
        });
    }
}

/// Thin straight strokes in random directions: strong edges everywhere.
fn streaks(c: &mut Canvas, rng: &mut impl Rng) {
    let n = rng.random_range(2..9);
    strokes(c, rng, n, (0.0, H));
}

fn strokes(c: &mut Canvas, rng: &mut impl Rng, count: usize, band: (f32, f32)) {
    for _ in 0..count {
        let (x, y) = (rng.random_range(0.0..W), rng.random_range(band.0..band.1));
        let a = rng.random_range(0.0..std::f32::consts::PI);
        let (len, th) = (rng.random_range(20.0..120.0), rng.random_range(0.8..2.5));
        let (dx, dy) = (a.cos() * len * 0.5, a.sin() * len * 0.5);
        let (nx, ny) = (-a.sin() * th, a.cos() * th);
        let pts = [
            (x - dx - nx, y - dy - ny),
            (x + dx - nx, y + dy - ny),
            (x + dx + nx, y + dy + ny),
            (x - dx + nx, y - dy + ny),
        ];
        let v = if rng.random_bool(0.5) { 20.0 } else { 240.0 };
        let alpha = rng.random_range(0.25..0.7);
        fill(c, bbox_of(&pts), [v, v, v], alpha, {
            let poly = Convex::new(&pts);
            move |px, py| poly.sd(px, py)
        });
    }
}

/// A random per-challenge colour grade: hue rotation (±25°), saturation, contrast and
/// brightness, so that no threshold tuned on one challenge transfers to the next.
pub(crate) fn grade_randomly(c: &mut Canvas, rng: &mut impl Rng) {
    let th: f32 = rng.random_range(-0.45..0.45);
    let sat: f32 = rng.random_range(0.8..1.2);
    let contrast: f32 = rng.random_range(0.85..1.15);
    let bright: f32 = rng.random_range(-15.0..15.0);
    let (cs, sn) = (th.cos(), th.sin());
    let k = (1.0 - cs) / 3.0;
    let s3 = sn / 3f32.sqrt();
    // Rotation about the grey axis.
    let hue = [
        [cs + k, k - s3, k + s3],
        [k + s3, cs + k, k - s3],
        [k - s3, k + s3, cs + k],
    ];
    let mut m = [[0.0f32; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            // Saturation about the mean, then contrast.
            let s = (0..3)
                .map(|l| {
                    let sm = if i == l { sat } else { 0.0 } + (1.0 - sat) / 3.0;
                    sm * hue[l][j]
                })
                .sum::<f32>();
            *v = s * contrast;
        }
    }
    let b = 128.0 * (1.0 - contrast) + bright;
    c.grade(m, [b, b, b]);
}

/// `cargo test --release --lib imaging::backdrop::timing -- --ignored --nocapture`
#[cfg(test)]
mod timing {
    use super::*;
    use rand::SeedableRng;

    #[test]
    #[ignore = "a timing loop, run by hand in release (and under perf)"]
    fn families_on_a_draft() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let family: u32 = std::env::var("FAMILY")
            .ok()
            .and_then(|f| f.parse().ok())
            .unwrap_or(1);
        let mut d = Canvas::draft(300, 200);
        let t = std::time::Instant::now();
        for _ in 0..3000 {
            draw_family(&mut d, &mut rng, family);
        }
        println!("family {family}: {:?}", t.elapsed() / 3000);
    }
}
