//! The puzzle-piece outline: a square body whose four sides each carry a knob (outwards), a
//! hole (inwards) or nothing, described as a signed distance function so that the gap, the
//! decoys and the cut-out piece all share one exact outline.

use rand::Rng;

/// Margin (px) around the shape inside its box, room for the piece's outline.
pub(crate) const PAD: f32 = 2.0;

/// What one side of the body carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Flat,
    Knob,
    Hole,
}

/// A puzzle-piece outline. Sides are in the order top, right, bottom, left.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PieceShape {
    /// Side length of the square body.
    pub body: f32,
    /// Radius of the knobs and holes.
    pub r: f32,
    pub sides: [Side; 4],
    /// Where along each side its knob or hole sits, as an offset from the middle (px).
    pub shift: [f32; 4],
    /// Corner rounding of the body.
    pub round: f32,
}

impl PieceShape {
    /// A random piece, 32–40 px body, with at least one knob and one hole and never knobs on
    /// both the left and the right (which keeps the box at most ~54 px wide).
    pub fn random(rng: &mut impl Rng) -> PieceShape {
        let body = rng.random_range(32.0..40.0f32);
        let mut sides = [Side::Flat; 4];
        loop {
            for s in &mut sides {
                *s = match rng.random_range(0..20) {
                    0..=8 => Side::Knob,
                    9..=17 => Side::Hole,
                    _ => Side::Flat,
                };
            }
            if valid(&sides) {
                break;
            }
        }
        let mut shape = PieceShape {
            body,
            r: body * rng.random_range(0.17..0.21),
            sides,
            shift: [0.0; 4],
            round: rng.random_range(1.0..4.0),
        };
        for s in &mut shape.shift {
            *s = rng.random_range(-0.12..0.12) * body;
        }
        shape
    }

    /// A decoy whose outline differs from `self` on `n` sides (1 or 2): one side differing
    /// is the closest look-alike a person still tells apart (a knob where the piece has a
    /// hole or a flat side).
    pub fn decoy_differing_on(&self, rng: &mut impl Rng, n: usize) -> PieceShape {
        let mut d = *self;
        d.body = (self.body + rng.random_range(-1.5..1.5f32)).clamp(32.0, 41.0);
        d.r = d.body * rng.random_range(0.17..0.21);
        if n <= 1 {
            // One side, turned inside out (a knob becomes a hole or the reverse): the
            // clearest single difference a person can see. Where no such flip leaves a
            // valid piece, two sides differ instead.
            let mut flippable: Vec<usize> =
                (0..4).filter(|&i| self.sides[i] != Side::Flat).collect();
            while !flippable.is_empty() {
                let i = flippable.swap_remove(rng.random_range(0..flippable.len()));
                let mut sides = self.sides;
                sides[i] = if sides[i] == Side::Knob {
                    Side::Hole
                } else {
                    Side::Knob
                };
                if valid(&sides) {
                    d.sides = sides;
                    for s in &mut d.shift {
                        *s = rng.random_range(-0.12..0.12) * d.body;
                    }
                    return d;
                }
            }
        }
        loop {
            let a = rng.random_range(0..4);
            let b = (a + rng.random_range(1..4)) % 4;
            let mut sides = self.sides;
            for i in [a, b] {
                sides[i] = match (self.sides[i], rng.random_bool(0.5)) {
                    (Side::Knob, true) | (Side::Flat, false) => Side::Hole,
                    (Side::Hole, true) | (Side::Flat, true) => Side::Knob,
                    (Side::Knob, false) | (Side::Hole, false) => Side::Flat,
                };
            }
            if valid(&sides) {
                d.sides = sides;
                break;
            }
        }
        for s in &mut d.shift {
            *s = rng.random_range(-0.12..0.12) * d.body;
        }
        d
    }

    /// How far the shape reaches beyond the body on each side (top, right, bottom, left).
    fn reach(&self) -> [f32; 4] {
        self.sides
            .map(|s| if s == Side::Knob { 1.5 * self.r } else { 0.0 })
    }

    /// Distance from the left of the box to the left of the body.
    pub fn body_left(&self) -> f32 {
        PAD + self.reach()[3]
    }

    /// Distance from the top of the box to the top of the body.
    pub fn body_top(&self) -> f32 {
        PAD + self.reach()[0]
    }

    /// Width and height of the shape's box, padding included.
    pub fn box_size(&self) -> (u32, u32) {
        let [t, r, b, l] = self.reach();
        let w = (self.body + l + r + 2.0 * PAD).ceil() as u32;
        let h = (self.body + t + b + 2.0 * PAD).ceil() as u32;
        (w, h)
    }

    /// Signed distance (px, negative inside) at box-local position (x, y).
    #[cfg(test)]
    pub fn sdf(&self, x: f32, y: f32) -> f32 {
        Outline::new(self).at(x, y)
    }

    /// The signed distance at every pixel centre of the box, row by row.
    pub fn grid(&self) -> Vec<f32> {
        let o = Outline::new(self);
        let (w, h) = self.box_size();
        let (w, h) = (w as usize, h as usize);
        let mut out = vec![0.0; w * h];
        // Plain loops over a branch-free distance: the compiler runs four pixels at once.
        for (y, row) in out.chunks_exact_mut(w).enumerate() {
            let py = y as f32 + 0.5;
            for (x, d) in row.iter_mut().enumerate() {
                *d = o.at(x as f32 + 0.5, py);
            }
        }
        out
    }
}

/// A shape with everything that does not depend on the point worked out once: the body's
/// centre and the centre of each knob (added) and hole (cut out). Unused slots hold a
/// centre so far away that it never wins, which keeps [`Outline::at`] free of branches.
struct Outline {
    cx: f32,
    cy: f32,
    half: f32,
    round: f32,
    r: f32,
    knobs: [(f32, f32); 4],
    holes: [(f32, f32); 4],
}

/// Where an unused knob or hole slot sits: no pixel of a box is near it.
const FAR: (f32, f32) = (1.0e6, 1.0e6);

impl Outline {
    fn new(s: &PieceShape) -> Outline {
        let [t, _, _, l] = s.reach();
        let half = s.body * 0.5;
        let mut o = Outline {
            cx: PAD + l + half,
            cy: PAD + t + half,
            half,
            round: s.round,
            r: s.r,
            knobs: [FAR; 4],
            holes: [FAR; 4],
        };
        for (i, side) in s.sides.iter().enumerate() {
            // Unit outward normal and the direction along the side.
            let (nx, ny, ax, ay) = match i {
                0 => (0.0, -1.0, 1.0, 0.0),
                1 => (1.0, 0.0, 0.0, 1.0),
                2 => (0.0, 1.0, -1.0, 0.0),
                _ => (-1.0, 0.0, 0.0, -1.0),
            };
            let push = if *side == Side::Knob { 0.5 } else { -0.5 } * s.r;
            let centre = (
                nx * (half + push) + ax * s.shift[i],
                ny * (half + push) + ay * s.shift[i],
            );
            match side {
                Side::Flat => {}
                Side::Knob => o.knobs[i] = centre,
                Side::Hole => o.holes[i] = centre,
            }
        }
        o
    }

    #[inline]
    fn at(&self, x: f32, y: f32) -> f32 {
        let (px, py) = (x - self.cx, y - self.cy);
        // The rounded square body.
        let q = self.half - self.round;
        let (qx, qy) = (px.abs() - q, py.abs() - q);
        let (ox, oy) = (
            if qx > 0.0 { qx } else { 0.0 },
            if qy > 0.0 { qy } else { 0.0 },
        );
        let inside = if qx > qy { qx } else { qy };
        let inside = if inside < 0.0 { inside } else { 0.0 };
        let mut d = (ox * ox + oy * oy).sqrt() + inside - self.round;
        let circle =
            |&(kx, ky): &(f32, f32)| ((px - kx).powi(2) + (py - ky).powi(2)).sqrt() - self.r;
        for k in &self.knobs {
            let c = circle(k);
            d = if c < d { c } else { d };
        }
        for h in &self.holes {
            let c = -circle(h);
            d = if c > d { c } else { d };
        }
        d
    }
}

/// At least one knob and one hole; never knobs on both the left and the right.
fn valid(sides: &[Side; 4]) -> bool {
    sides.contains(&Side::Knob)
        && sides.contains(&Side::Hole)
        && !(sides[1] == Side::Knob && sides[3] == Side::Knob)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn pieces_stay_within_the_advertised_size_and_fill_their_middle() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let s = PieceShape::random(&mut rng);
            let (w, h) = s.box_size();
            assert!((34..=57).contains(&w), "width {w}");
            assert!((34..=72).contains(&h), "height {h}");
            // Corners of the box are outside, the middle is inside.
            assert!(s.sdf(0.5, 0.5) > 0.5);
            assert!(s.sdf(w as f32 - 0.5, h as f32 - 0.5) > 0.5);
            let [t, _, _, l] = s.reach();
            let mid = (PAD + l + s.body / 2.0, PAD + t + s.body / 2.0);
            assert!(s.sdf(mid.0, mid.1) < -5.0);
        }
    }

    #[test]
    fn decoys_differ_on_the_sides_asked_and_a_single_difference_is_inside_out() {
        let mut rng = StdRng::seed_from_u64(8);
        for _ in 0..500 {
            let s = PieceShape::random(&mut rng);
            let d = s.decoy_differing_on(&mut rng, 2);
            let differing = (0..4).filter(|&i| s.sides[i] != d.sides[i]).count();
            assert!(differing >= 2);
            assert!(valid(&d.sides));
            let d = s.decoy_differing_on(&mut rng, 1);
            let changed: Vec<usize> = (0..4).filter(|&i| s.sides[i] != d.sides[i]).collect();
            assert!(!changed.is_empty() && valid(&d.sides));
            if changed.len() == 1 {
                // knob <-> hole: never a flat side, which a person might overlook
                let i = changed[0];
                assert!(s.sides[i] != Side::Flat && d.sides[i] != Side::Flat);
            }
        }
    }
}
