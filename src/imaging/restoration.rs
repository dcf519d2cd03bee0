//! The image-restoration challenge: a row of similar things, each a base with a top (trees:
//! trunk and crown; street lamps: pole and lantern; snowmen: body and head; houses: walls
//! and roof), where exactly one base has lost its top. The top is the object the person
//! slides back; the picture's meaning — a bare trunk, a headless snowman — fixes where.
//!
//! Nothing is inpainted: the scene is rendered without the object and the object on its
//! own layer, so there is no hole, seam or blur for a detector to find. The complete things
//! are decoys for template matching of the object, the gaps between things are decoys for
//! "find the empty spot", and grain plus JPEG leave no pixel trace.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::backdrop::{self, hsv};
use super::canvas::{
    Canvas, Convex, Layer, Rgb, Surface, bbox_of, fill, mix, scale, sd_circle, sd_ellipse, sd_rect,
};
use super::encode;
use super::{HEIGHT, Restoration, WIDTH};

const DOMAIN: u64 = 0x7265_7374_6f72_0001;
const W: f32 = WIDTH as f32;
const H: f32 = HEIGHT as f32;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Family {
    Trees,
    Lamps,
    Snowmen,
    Houses,
}

/// One thing in the row.
#[derive(Clone, Copy)]
struct Thing {
    /// Centre x and the y of its foot.
    x: f32,
    foot: f32,
    /// Scale around the family's nominal size.
    s: f32,
    /// Colours of the base and the top (family-specific meaning) and a variant switch.
    base: Rgb,
    top: Rgb,
    accent: Rgb,
    variant: u8,
    /// Per-thing jitter for shapes (e.g. where a crown's lobes sit).
    jitter: [f32; 4],
}

impl Family {
    /// Widest extent of a thing at scale 1 (for spacing).
    fn footprint(self) -> f32 {
        match self {
            Family::Trees => 42.0,
            Family::Lamps => 30.0,
            Family::Snowmen => 38.0,
            Family::Houses => 52.0,
        }
    }

    fn base_height(self, t: &Thing) -> f32 {
        t.s * match self {
            Family::Trees => 40.0 + 8.0 * t.jitter[3],
            Family::Lamps => 80.0 + 10.0 * t.jitter[3],
            Family::Snowmen => 0.0,
            Family::Houses => 30.0 + 4.0 * t.jitter[3],
        }
    }

    /// The box `[x0, y0, x1, y1]` the top occupies (anti-aliasing margin included).
    fn top_box(self, t: &Thing) -> [f32; 4] {
        let s = t.s;
        let b = match self {
            Family::Trees => {
                let top = t.foot - self.base_height(t);
                if t.variant == 0 {
                    let r = 17.0 * s;
                    [t.x - r * 1.3, top - r * 1.45, t.x + r * 1.3, top + r * 0.75]
                } else {
                    let hw = 17.0 * s;
                    [t.x - hw, top - 50.0 * s, t.x + hw, top + 6.0 * s]
                }
            }
            Family::Lamps => {
                let top = t.foot - self.base_height(t);
                [
                    t.x - 11.0 * s,
                    top - 22.0 * s,
                    t.x + 11.0 * s,
                    top + 2.0 * s,
                ]
            }
            Family::Snowmen => {
                let (_, neck) = snowman_body(t);
                let r = 8.0 * s;
                [
                    t.x - r - 1.0,
                    neck - 2.0 * r - 8.0 * s,
                    t.x + r + 7.0 * s,
                    neck + 1.0,
                ]
            }
            Family::Houses => {
                let top = t.foot - self.base_height(t);
                let hw = 26.0 * s;
                [t.x - hw, top - 24.0 * s, t.x + hw, top + 1.0]
            }
        };
        [b[0] - 1.5, b[1] - 1.5, b[2] + 1.5, b[3] + 1.5]
    }

    fn draw_base<S: Surface>(self, c: &mut S, t: &Thing) {
        let s = t.s;
        match self {
            Family::Trees => {
                let top = t.foot - self.base_height(t);
                let hw = (3.0 + 1.5 * t.jitter[0].abs()) * s;
                let r = [t.x - hw, top, t.x + hw, t.foot];
                fill(c, r, t.base, 1.0, |x, y| sd_rect(x, y, r, 1.0));
                let shade = [t.x + hw * 0.2, top, t.x + hw, t.foot];
                fill(c, shade, scale(t.base, 0.75), 1.0, |x, y| {
                    sd_rect(x, y, shade, 0.5)
                });
            }
            Family::Lamps => {
                let top = t.foot - self.base_height(t);
                let hw = 1.8 * s;
                let r = [t.x - hw, top, t.x + hw, t.foot];
                fill(c, r, t.base, 1.0, |x, y| sd_rect(x, y, r, 0.5));
                let foot = [t.x - 4.5 * s, t.foot - 7.0 * s, t.x + 4.5 * s, t.foot];
                fill(c, foot, t.base, 1.0, |x, y| sd_rect(x, y, foot, 1.5));
            }
            Family::Snowmen => {
                let (belly, _) = snowman_body(t);
                let (rb, rm) = (15.0 * s, 10.5 * s);
                let white = t.base;
                let cb = (t.x, t.foot - rb);
                let cm = (t.x, belly);
                // Stick arms behind the middle ball.
                for dir in [-1.0f32, 1.0] {
                    let (ax, ay) = (t.x + dir * rm * 0.7, belly - 1.0);
                    let (bx, by) = (t.x + dir * rm * 2.1, belly - rm * (0.8 + 0.3 * t.jitter[1]));
                    let pts = [
                        (ax, ay - 1.0),
                        (bx, by - 0.8),
                        (bx, by + 0.8),
                        (ax, ay + 1.0),
                    ];
                    fill(c, bbox_of(&pts), [90.0, 60.0, 35.0], 1.0, {
                        let poly = Convex::new(&pts);
                        move |x, y| poly.sd(x, y)
                    });
                }
                for (cx, cy, r) in [(cb.0, cb.1, rb), (cm.0, cm.1, rm)] {
                    fill(
                        c,
                        [cx - r, cy - r, cx + r, cy + r],
                        scale(white, 0.82),
                        1.0,
                        |x, y| sd_circle(x, y, cx, cy, r),
                    );
                    fill(c, [cx - r, cy - r, cx + r, cy + r], white, 1.0, |x, y| {
                        sd_circle(x, y, cx - r * 0.12, cy - r * 0.12, r * 0.82)
                    });
                }
                for k in 0..3 {
                    let by = belly - rm * 0.5 + k as f32 * rm * 0.45;
                    fill(
                        c,
                        [t.x - 2.0, by - 2.0, t.x + 2.0, by + 2.0],
                        [30.0; 3],
                        1.0,
                        |x, y| sd_circle(x, y, t.x, by, 1.4 * s),
                    );
                }
            }
            Family::Houses => {
                let top = t.foot - self.base_height(t);
                let hw = 21.0 * s;
                let r = [t.x - hw, top, t.x + hw, t.foot];
                fill(c, r, t.base, 1.0, |x, y| sd_rect(x, y, r, 0.0));
                let door = [
                    t.x - 4.0 * s + t.jitter[0] * 8.0 * s,
                    t.foot - 14.0 * s,
                    t.x + 4.0 * s + t.jitter[0] * 8.0 * s,
                    t.foot,
                ];
                fill(c, door, t.accent, 1.0, |x, y| sd_rect(x, y, door, 1.0));
                let glass = hsv(200.0, 0.3, 0.9);
                for wx in [-1.0f32, 1.0] {
                    let cx = t.x + wx * hw * 0.55;
                    let win = [cx - 4.0 * s, top + 6.0 * s, cx + 4.0 * s, top + 13.0 * s];
                    fill(c, win, scale(t.accent, 0.6), 1.0, |x, y| {
                        sd_rect(x, y, win, 0.0)
                    });
                    let inner = [win[0] + 1.2, win[1] + 1.2, win[2] - 1.2, win[3] - 1.2];
                    fill(c, inner, glass, 1.0, |x, y| sd_rect(x, y, inner, 0.0));
                }
            }
        }
    }

    fn draw_top<S: Surface>(self, c: &mut S, t: &Thing) {
        let s = t.s;
        match self {
            Family::Trees => {
                let top = t.foot - self.base_height(t);
                if t.variant == 0 {
                    // A round crown of overlapping lobes, darker underneath.
                    let r = 17.0 * s;
                    let lobes = [
                        (-0.55 + 0.1 * t.jitter[0], -0.1, 0.72),
                        (0.55 + 0.1 * t.jitter[1], -0.15, 0.7),
                        (0.05 * t.jitter[2], -0.62, 0.8),
                        (0.0, 0.0, 0.78),
                    ];
                    for (k, (dx, dy, rr)) in lobes.iter().enumerate() {
                        let (cx, cy, rr) = (t.x + dx * r, top - r * 0.35 + dy * r, rr * r);
                        let col = scale(t.top, 0.8 + 0.07 * k as f32);
                        fill(c, [cx - rr, cy - rr, cx + rr, cy + rr], col, 1.0, |x, y| {
                            sd_circle(x, y, cx, cy, rr)
                        });
                    }
                    let (hx, hy, hr) = (t.x - r * 0.3, top - r * 0.85, r * 0.35);
                    fill(
                        c,
                        [hx - hr, hy - hr, hx + hr, hy + hr],
                        mix(t.top, [255.0; 3], 0.25),
                        0.6,
                        |x, y| sd_circle(x, y, hx, hy, hr),
                    );
                } else {
                    // A conifer: three stacked triangles.
                    let hw = 17.0 * s;
                    for k in 0..3 {
                        let k = k as f32;
                        let w = hw * (1.0 - 0.22 * k);
                        let bottom = top + 6.0 * s - k * 14.0 * s;
                        let pts = [
                            (t.x - w, bottom),
                            (t.x, bottom - 22.0 * s),
                            (t.x + w, bottom),
                        ];
                        fill(c, bbox_of(&pts), scale(t.top, 0.85 + 0.08 * k), 1.0, {
                            let poly = Convex::new(&pts);
                            move |x, y| poly.sd(x, y)
                        });
                    }
                }
            }
            Family::Lamps => {
                let top = t.foot - self.base_height(t);
                let glow = t.accent;
                let (gx, gy, gr) = (t.x, top - 10.0 * s, 10.5 * s);
                fill(
                    c,
                    [gx - gr, gy - gr, gx + gr, gy + gr],
                    glow,
                    0.28,
                    |x, y| sd_circle(x, y, gx, gy, gr),
                );
                let body = [t.x - 5.0 * s, top - 15.0 * s, t.x + 5.0 * s, top - 3.0 * s];
                fill(c, body, t.base, 1.0, |x, y| sd_rect(x, y, body, 1.0));
                let lamp = [
                    body[0] + 1.5 * s,
                    body[1] + 1.5 * s,
                    body[2] - 1.5 * s,
                    body[3] - 1.5 * s,
                ];
                fill(c, lamp, mix(glow, [255.0; 3], 0.4), 1.0, |x, y| {
                    sd_rect(x, y, lamp, 0.5)
                });
                let cap = [
                    (t.x - 8.0 * s, top - 14.5 * s),
                    (t.x, top - 21.0 * s),
                    (t.x + 8.0 * s, top - 14.5 * s),
                ];
                fill(c, bbox_of(&cap), t.top, 1.0, {
                    let poly = Convex::new(&cap);
                    move |x, y| poly.sd(x, y)
                });
                let collar = [t.x - 3.0 * s, top - 3.5 * s, t.x + 3.0 * s, top + 1.0 * s];
                fill(c, collar, t.top, 1.0, |x, y| sd_rect(x, y, collar, 0.5));
            }
            Family::Snowmen => {
                let (_, neck) = snowman_body(t);
                let r = 8.0 * s;
                let (hx, hy) = (t.x, neck - r + 1.5 * s);
                fill(
                    c,
                    [hx - r, hy - r, hx + r, hy + r],
                    scale(t.base, 0.82),
                    1.0,
                    |x, y| sd_circle(x, y, hx, hy, r),
                );
                fill(c, [hx - r, hy - r, hx + r, hy + r], t.base, 1.0, |x, y| {
                    sd_circle(x, y, hx - r * 0.12, hy - r * 0.12, r * 0.8)
                });
                for ex in [-0.35f32, 0.35] {
                    let (ex, ey) = (hx + ex * r, hy - 0.15 * r);
                    fill(
                        c,
                        [ex - 2.0, ey - 2.0, ex + 2.0, ey + 2.0],
                        [25.0; 3],
                        1.0,
                        |x, y| sd_circle(x, y, ex, ey, 1.2 * s),
                    );
                }
                let nose = [
                    (hx, hy + 0.05 * r),
                    (hx + r + 6.0 * s, hy + 0.25 * r),
                    (hx, hy + 0.38 * r),
                ];
                fill(c, bbox_of(&nose), [235.0, 120.0, 30.0], 1.0, {
                    let poly = Convex::new(&nose);
                    move |x, y| poly.sd(x, y)
                });
                // A hat or a bobble cap in the top colour.
                let brim = [hx - r * 0.95, hy - r * 0.85, hx + r * 0.95, hy - r * 0.6];
                if t.variant == 0 {
                    let crown = [hx - r * 0.6, hy - r - 9.0 * s, hx + r * 0.6, hy - r * 0.7];
                    fill(c, crown, t.top, 1.0, |x, y| sd_rect(x, y, crown, 0.8));
                    fill(c, brim, t.top, 1.0, |x, y| sd_rect(x, y, brim, 0.8));
                    let band = [crown[0], crown[3] - 3.0 * s, crown[2], crown[3] - 1.2 * s];
                    fill(c, band, t.accent, 1.0, |x, y| sd_rect(x, y, band, 0.0));
                } else {
                    let (cx, cy) = (hx, hy - r * 0.62);
                    fill(c, [cx - r, cy - r, cx + r, cy], t.top, 1.0, |x, y| {
                        sd_ellipse(x, y, cx, cy, r * 0.9, r * 0.75).max(y - cy)
                    });
                    let (bx, by, br) = (cx, cy - r * 0.8, 2.6 * s);
                    fill(
                        c,
                        [bx - br, by - br, bx + br, by + br],
                        t.accent,
                        1.0,
                        |x, y| sd_circle(x, y, bx, by, br),
                    );
                }
            }
            Family::Houses => {
                let top = t.foot - self.base_height(t);
                let hw = 26.0 * s;
                let peak = top - 22.0 * s;
                // Chimney first, so the roof overlaps its foot.
                let cx = t.x
                    + hw * (0.35 + 0.15 * t.jitter[1]) * if t.variant == 0 { 1.0 } else { -1.0 };
                let chim = [cx - 3.0 * s, peak + 2.0 * s, cx + 3.0 * s, top - 6.0 * s];
                fill(c, chim, scale(t.top, 0.7), 1.0, |x, y| {
                    sd_rect(x, y, chim, 0.0)
                });
                let pts = [(t.x - hw, top + 1.0), (t.x, peak), (t.x + hw, top + 1.0)];
                fill(c, bbox_of(&pts), t.top, 1.0, {
                    let poly = Convex::new(&pts);
                    move |x, y| poly.sd(x, y)
                });
                // Roof tiles: a few darker bands.
                for k in 1..4 {
                    let y0 = peak + k as f32 * 5.5 * s;
                    let band = [t.x - hw, y0, t.x + hw, y0 + 1.0];
                    let roof = Convex::new(&pts);
                    fill(c, band, scale(t.top, 0.75), 1.0, |x, y| {
                        sd_rect(x, y, band, 0.0).max(roof.sd(x, y))
                    });
                }
            }
        }
    }
}

/// Where a snowman's middle ball sits and where its neck is.
fn snowman_body(t: &Thing) -> (f32, f32) {
    let (rb, rm) = (15.0 * t.s, 10.5 * t.s);
    let belly = t.foot - 2.0 * rb - rm + 4.0 * t.s;
    (belly, belly - rm + 2.0 * t.s)
}

pub(super) fn generate(seed: u64) -> Restoration {
    let mut rng = StdRng::seed_from_u64(seed ^ DOMAIN);
    let family = match rng.random_range(0..4) {
        0 => Family::Trees,
        1 => Family::Lamps,
        2 => Family::Snowmen,
        _ => Family::Houses,
    };
    loop {
        if let Some(r) = attempt(family, &mut rng) {
            return r;
        }
    }
}

/// One try at a layout; `None` when no thing's top lands in the answer range.
fn attempt(family: Family, rng: &mut StdRng) -> Option<Restoration> {
    let mut c = Canvas::new(WIDTH as usize, HEIGHT as usize, [0.0; 3]);
    let ground = rng.random_range(150.0..178.0);
    let night = family == Family::Lamps && rng.random_bool(0.6);
    scenery(&mut c, rng, family, ground, night);

    // Lay the row out left to right with uneven spacing.
    let s0 = rng.random_range(0.85..1.15);
    let foot_print = family.footprint() * s0;
    let mut xs = Vec::new();
    let mut x = rng.random_range(foot_print * 0.8..foot_print * 1.4);
    while x < W - foot_print * 0.5 {
        xs.push(x);
        x += foot_print + rng.random_range(6.0..foot_print * 1.1);
    }
    if xs.len() < 3 {
        return None;
    }
    let things: Vec<Thing> = xs
        .iter()
        .map(|&x| thing(family, rng, x, ground, s0, night))
        .collect();

    let fits = |t: &Thing| {
        let b = family.top_box(t);
        let (x0, w) = (b[0].floor(), (b[2].ceil() - b[0].floor()));
        x0 >= w + 10.0 && x0 <= W - w - 4.0 && b[1] >= 0.0 && b[3] <= H
    };
    let candidates: Vec<usize> = (0..things.len()).filter(|&i| fits(&things[i])).collect();
    if candidates.is_empty() {
        return None;
    }
    let missing = candidates[rng.random_range(0..candidates.len())];

    for t in &things {
        family.draw_base(&mut c, t);
    }
    for (i, t) in things.iter().enumerate() {
        if i != missing {
            family.draw_top(&mut c, t);
        }
    }
    foreground(&mut c, rng, family, ground);

    let b = family.top_box(&things[missing]);
    let (ox, oy) = (b[0].floor() as i32, b[1].floor() as i32);
    let (ow, oh) = (
        (b[2].ceil() as i32 - ox) as usize,
        (b[3].ceil() as i32 - oy) as usize,
    );
    let mut layer = Layer::new(ox, oy, ow, oh);
    family.draw_top(&mut layer, &things[missing]);

    let scene = encode::jpeg_canvas(&c, rng.random(), 4.0, encode::JPEG_QUALITY);
    let object = encode::png_rgba(&layer.to_rgba8(rng.random(), 4.0), ow as u32, oh as u32);
    Some(Restoration {
        scene,
        object,
        object_w: ow as u32,
        object_h: oh as u32,
        object_y: oy as u32,
        target_x: ox as u32,
    })
}

fn thing(family: Family, rng: &mut impl Rng, x: f32, ground: f32, s0: f32, night: bool) -> Thing {
    let mut jitter = [0.0f32; 4];
    for v in &mut jitter {
        *v = rng.random_range(-1.0..1.0);
    }
    let s = s0 * rng.random_range(0.92..1.08);
    let foot = ground + rng.random_range(-2.0..5.0);
    let (base, top, accent, variant) = match family {
        Family::Trees => (
            hsv(
                rng.random_range(20.0..35.0),
                0.6,
                rng.random_range(0.3..0.45),
            ),
            hsv(
                rng.random_range(85.0..140.0),
                rng.random_range(0.5..0.75),
                rng.random_range(0.45..0.7),
            ),
            [0.0; 3],
            u8::from(rng.random_bool(0.3)),
        ),
        Family::Lamps => {
            let v = rng.random_range(0.15..0.3);
            (
                hsv(210.0, 0.15, v),
                hsv(210.0, 0.15, v * 0.8),
                hsv(
                    rng.random_range(40.0..55.0),
                    0.7,
                    if night { 1.0 } else { 0.9 },
                ),
                0,
            )
        }
        Family::Snowmen => (
            hsv(205.0, 0.05, rng.random_range(0.95..1.0)),
            hsv(
                rng.random_range(0.0..360.0),
                rng.random_range(0.4..0.8),
                rng.random_range(0.2..0.6),
            ),
            hsv(rng.random_range(0.0..360.0), 0.7, 0.85),
            u8::from(rng.random_bool(0.5)),
        ),
        Family::Houses => (
            hsv(
                rng.random_range(20.0..60.0),
                rng.random_range(0.1..0.4),
                rng.random_range(0.75..0.95),
            ),
            hsv(
                [5.0, 15.0, 25.0, 210.0][rng.random_range(0..4)],
                rng.random_range(0.4..0.7),
                rng.random_range(0.4..0.65),
            ),
            hsv(rng.random_range(0.0..40.0), 0.5, rng.random_range(0.3..0.5)),
            u8::from(rng.random_bool(0.5)),
        ),
    };
    Thing {
        x,
        foot,
        s,
        base,
        top,
        accent,
        variant,
        jitter,
    }
}

/// Sky, clouds, far hills and the ground the row stands on.
fn scenery(c: &mut Canvas, rng: &mut impl Rng, family: Family, ground: f32, night: bool) {
    backdrop::sky(c, rng);
    if night {
        c.grade(
            [[0.35, 0.0, 0.0], [0.0, 0.35, 0.0], [0.0, 0.0, 0.5]],
            [5.0, 5.0, 20.0],
        );
        for _ in 0..rng.random_range(10..30) {
            let (x, y) = (
                rng.random_range(0.0..W),
                rng.random_range(0.0..ground - 40.0),
            );
            fill(
                c,
                [x - 1.0, y - 1.0, x + 1.0, y + 1.0],
                [240.0; 3],
                0.8,
                |px, py| sd_circle(px, py, x, y, 0.7),
            );
        }
    } else if rng.random_bool(0.5) {
        backdrop::sun(c, rng);
    }
    let n = rng.random_range(1..5);
    backdrop::clouds(c, rng, n, 15.0, ground - 50.0);
    let snowy = family == Family::Snowmen;
    let hue = if snowy {
        210.0
    } else {
        rng.random_range(70.0..150.0)
    };
    let layers = rng.random_range(1..3);
    for i in 0..layers {
        let amp = rng.random_range(6.0..18.0);
        let top = backdrop::profile(rng, ground - 25.0 + i as f32 * 10.0, amp);
        let col = if snowy {
            hsv(hue, 0.12 + 0.06 * i as f32, 0.85 - 0.05 * i as f32)
        } else {
            hsv(
                hue,
                0.3 + 0.1 * i as f32,
                if night { 0.25 } else { 0.6 - 0.08 * i as f32 },
            )
        };
        backdrop::fill_below(c, &top, col, 1.0);
    }
    let ground_col = match family {
        Family::Snowmen => hsv(205.0, 0.06, 0.93),
        Family::Lamps => hsv(220.0, 0.08, if night { 0.22 } else { 0.45 }),
        _ => hsv(
            rng.random_range(80.0..120.0),
            0.55,
            rng.random_range(0.4..0.6),
        ),
    };
    let top = backdrop::profile(rng, ground, 1.5);
    backdrop::fill_below(c, &top, ground_col, 1.0);
    if family == Family::Lamps {
        let kerb = [0.0, ground + 12.0, W, ground + 14.0];
        fill(c, kerb, scale(ground_col, 1.5), 1.0, |x, y| {
            sd_rect(x, y, kerb, 0.0)
        });
    }
    let amp = rng.random_range(6.0..12.0);
    backdrop::texture(c, rng, amp);
}

/// Tufts, stones or snow lumps along the ground line, in front of the row.
fn foreground(c: &mut Canvas, rng: &mut impl Rng, family: Family, ground: f32) {
    for _ in 0..rng.random_range(4..12) {
        let (x, y) = (
            rng.random_range(0.0..W),
            ground + rng.random_range(4.0..(H - ground).max(6.0)),
        );
        let (rx, ry) = (rng.random_range(3.0..9.0), rng.random_range(2.0..5.0));
        let col = match family {
            Family::Snowmen => hsv(205.0, 0.1, rng.random_range(0.8..1.0)),
            Family::Lamps => hsv(30.0, 0.1, rng.random_range(0.3..0.6)),
            _ => hsv(
                rng.random_range(70.0..130.0),
                0.6,
                rng.random_range(0.3..0.55),
            ),
        };
        fill(c, [x - rx, y - ry, x + rx, y + ry], col, 1.0, |px, py| {
            sd_ellipse(px, py, x, y, rx, ry)
        });
    }
}
