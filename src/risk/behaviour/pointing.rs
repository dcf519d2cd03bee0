//! Free pointing: a one-click answer's approach to the box, for the approach model.
//!
//! The widget sends the pointer samples of the last 3 s before the click, relative to the
//! box, and the click. What is judged is the *final reach*: the samples after the pointer
//! last rested (a gap of more than [`STILL_GAP_MS`] between samples: a still mouse reports
//! nothing), up to the click. [`frame`] turns it into the frame of the movement — along the
//! line from where it set off to the click, and across it — so that the drag features
//! ([`super::features`]) describe it the way they describe a drag along a track: speed
//! profile, submovements, overshoot, curvature, tremor, the dwell before the click.
//!
//! For training and for the tests:
//! - [`person`]: a synthetic person pointing at the box from anywhere on the page, from the
//!   same motor model as [`synth::human`](super::synth::human) (lognormal submovements, Fitts's
//!   law for the box's size, endpoint error along and across, corrections, a curved path,
//!   tremor, a hover before pressing), sometimes after an earlier movement, seen through a
//!   [`Device`];
//! - [`bot`]: the bot families' movements laid along the same geometry (a generator aims at
//!   the box from where its cursor was), and replays of people's approaches moved, scaled
//!   and jittered onto another start.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};

use super::synth::{self, Device, Family, Sub, Walk, round1};
use crate::challenge::{Point, Pointer};

/// A gap between samples longer than this means the pointer rested: a reach starts after it.
pub const STILL_GAP_MS: f64 = 250.0;

/// A final reach shorter than this (px, set-off to click) is too short to judge by the model.
pub const MIN_REACH: f64 = 30.0;

/// The widget's window of samples before the click.
pub const WINDOW_MS: f64 = 3000.0;

/// A one-click answer's pointer data as the widget sends it: samples (px relative to the
/// box, ms since render) and the click.
#[derive(Debug, Clone)]
pub struct Approach {
    pub points: Vec<Point>,
    pub click: Point,
}

/// Where the final reach starts in `points`: the latest set-off after a rest (a gap of
/// more than [`STILL_GAP_MS`]) from which the click is at least [`MIN_REACH`] away — so a
/// small adjustment after hovering on the box belongs to the reach that brought the pointer
/// there. The first sample when none is that far.
fn reach_start(points: &[Point], click: Point) -> usize {
    let far = |i: usize| {
        points
            .get(i)
            .is_some_and(|p| (click[0] - p[0]).hypot(click[1] - p[1]) >= MIN_REACH)
    };
    std::iter::once(0)
        .chain(
            points
                .windows(2)
                .enumerate()
                .filter(|(_, w)| w[1][2] - w[0][2] > STILL_GAP_MS)
                .map(|(i, _)| i + 1),
        )
        .rfind(|&i| far(i))
        .unwrap_or(0)
}

/// Where the final reach set off from (page px and time); `None` with no samples before
/// the click.
pub fn set_off(points: &[Point], click: Point) -> Option<Point> {
    let samples: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p[2] <= click[2])
        .collect();
    samples.get(reach_start(&samples, click)).copied()
}

/// The final reach's length: from where it set off to the click (0 with no samples).
pub fn reach_length(points: &[Point], click: Point) -> f64 {
    set_off(points, click).map_or(0.0, |s| (click[0] - s[0]).hypot(click[1] - s[1]))
}

/// The final reach in the movement's frame: `x` along the line from the set-off to the
/// click, `y` across it, time from the set-off (plus a constant, so that the drag features'
/// reaction time says nothing), the click as the last point. `None` when the reach is
/// shorter than [`MIN_REACH`] or has fewer than 5 samples.
pub fn frame(points: &[Point], click: Point) -> Option<Vec<Point>> {
    let samples: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p[2] <= click[2])
        .collect();
    let reach = &samples[reach_start(&samples, click).min(samples.len())..];
    let s = *reach.first()?;
    let (dx, dy) = (click[0] - s[0], click[1] - s[1]);
    let d = dx.hypot(dy);
    if reach.len() < 5 || !d.is_finite() || d < MIN_REACH {
        return None;
    }
    let (ux, uy) = (dx / d, dy / d);
    let to_frame = |p: &Point| {
        let (px, py) = (p[0] - s[0], p[1] - s[1]);
        [px * ux + py * uy, py * ux - px * uy, p[2] - s[2] + 1000.0]
    };
    let mut out: Vec<Point> = reach.iter().map(to_frame).collect();
    out.push(to_frame(&click));
    Some(out)
}

/// Where on the box a person aims, and how wide the target is for Fitts's law: the box
/// itself mostly, sometimes its label.
fn target(rng: &mut impl Rng) -> (f64, f64, f64) {
    if rng.random_bool(0.75) {
        (
            rng.random_range(3.0..21.0),
            rng.random_range(3.0..21.0),
            24.0,
        )
    } else {
        (
            rng.random_range(30.0..200.0),
            rng.random_range(0.0..24.0),
            44.0,
        )
    }
}

/// A distance to travel (log-uniform, 30–900 px) and a direction.
fn geometry(rng: &mut impl Rng) -> (f64, f64) {
    let d = rng.random_range(30f64.ln()..900f64.ln()).exp();
    (d, rng.random_range(0.0..std::f64::consts::TAU))
}

/// Keeps page coordinates positive for the device (which records `x >= 0`).
const OFFSET: f64 = 5000.0;

/// One reach of a person's hand: `d` px at a target `w` px wide. Returns the displacement
/// along and across the line at a time (ms from the set-off) and when the hand stops.
struct Reach {
    along: Vec<Sub>,
    across: Vec<Sub>,
    d: f64,
    arc: f64,
    skew: f64,
    trem: (f64, f64, f64, f64),
    walk: Walk,
    moving_until: f64,
}

impl Reach {
    fn new(rng: &mut impl Rng, d: f64, w: f64, until: f64) -> Reach {
        let id = (d / w + 1.0).log2();
        let tempo = LogNormal::new(0.0, 0.25).expect("valid").sample(rng);
        let mt = (rng.random_range(100.0..250.0) + rng.random_range(80.0..180.0) * id) * tempo;
        let sigma = rng.random_range(0.18..0.42);
        let err_along = Normal::new(0.01, 0.04 + 0.02 * tempo.recip())
            .expect("valid")
            .sample(rng);
        let err_across = Normal::new(0.0, 0.03).expect("valid").sample(rng);
        let mut along = vec![Sub::new(d * (1.0 + err_along), 0.0, mt, sigma)];
        let mut across = vec![Sub::new(d * err_across, 0.0, mt, sigma)];
        let (mut ra, mut rc) = (along[0].amp, across[0].amp);
        let mut start = mt * rng.random_range(0.55..0.8);
        // Corrections until the pointer is on the target (anywhere on it will do).
        for _ in 0..3 {
            let (ma, mc) = (d - ra, -rc);
            if ma.hypot(mc) < 0.5 * w * rng.random_range(0.3..1.0) {
                break;
            }
            let k = 1.0 + Normal::new(0.0, 0.12).expect("valid").sample(rng);
            let dur = rng.random_range(140.0..320.0) * (1.0 + (ma.hypot(mc) / 40.0).min(1.5));
            let sg = rng.random_range(0.2..0.45);
            along.push(Sub::new(ma * k, start, dur, sg));
            across.push(Sub::new(mc * k, start, dur, sg));
            ra += ma * k;
            rc += mc * k;
            start += dur * rng.random_range(0.6..0.9);
        }
        let moving_until = along.iter().map(|s| s.start + s.dur).fold(0.0, f64::max);
        let walk_step = rng.random_range(0.05..0.3);
        Reach {
            along,
            across,
            d,
            // A hand's path bows to one side, more on long movements.
            arc: rng.random_range(-0.1..0.1) * d,
            skew: rng.random_range(0.6..1.4),
            trem: (
                rng.random_range(8.0..12.0),
                rng.random_range(0.04..0.35),
                rng.random_range(0.0..std::f64::consts::TAU),
                rng.random_range(0.0..std::f64::consts::TAU),
            ),
            walk: Walk::new(rng, until, walk_step),
            moving_until,
        }
    }

    /// Displacement (along, across) at `t` ms from the set-off.
    fn at(&self, t: f64) -> (f64, f64) {
        let a: f64 = self.along.iter().map(|s| s.at(t)).sum();
        let c: f64 = self.across.iter().map(|s| s.at(t)).sum();
        let f = (a / self.d).clamp(0.0, 1.0).powf(self.skew);
        let (tf, ta, p1, p2) = self.trem;
        let w = std::f64::consts::TAU * tf * t / 1000.0;
        (
            a + ta * (w + p1).sin(),
            c + self.arc * 4.0 * f * (1.0 - f) + self.walk.at(t) + ta * (w + p2).sin(),
        )
    }
}

/// A person's movement of `d` px in direction `angle` ending near (`tx`, `ty`), setting off
/// `setoff` ms after render; its samples and where and when it came to rest.
fn hand(
    rng: &mut impl Rng,
    to: (f64, f64),
    d: f64,
    angle: f64,
    w: f64,
    setoff: f64,
    hover: f64,
) -> (Vec<Point>, Point) {
    let (ux, uy) = (angle.cos(), angle.sin());
    let (sx, sy) = (to.0 - ux * d, to.1 - uy * d);
    let reach = Reach::new(rng, d, w, 6000.0);
    let end = reach.moving_until + hover;
    let device = Device::random(rng, Pointer::Mouse);
    let mut pts = device.sample(rng, setoff, end, |t| {
        let (a, c) = reach.at(t);
        (OFFSET + sx + a * ux - c * uy, OFFSET + sy + a * uy + c * ux)
    });
    for p in &mut pts {
        p[0] = round1(p[0] - OFFSET);
        p[1] = round1(p[1] - OFFSET);
    }
    let last = *pts.last().expect("the device records the start");
    (pts, [last[0], last[1], (setoff + end).round()])
}

/// A synthetic person's approach to the box and click, as the widget reports it.
pub fn person(rng: &mut impl Rng) -> Approach {
    let (tx, ty, w) = target(rng);
    let (d, angle) = geometry(rng);
    let setoff = 300.0 + LogNormal::new(6.6, 0.6).expect("valid").sample(rng);
    // The pointer hovers on the box a moment, then the button goes down and up.
    let hover = 40.0 + LogNormal::new(5.1, 0.55).expect("valid").sample(rng);
    let press = rng.random_range(50.0..160.0);
    let (mut points, rest) = hand(rng, (tx, ty), d, angle, w, setoff, hover);
    // Sometimes the pointer had moved a little earlier and rested where this reach began.
    if rng.random_bool(0.35) && setoff > 900.0 {
        let s = points[0];
        let (d0, a0) = geometry(rng);
        let d0 = d0.min(300.0);
        let pause = rng.random_range(STILL_GAP_MS + 60.0..1500.0);
        let earlier_end = setoff - pause;
        let r = Reach::new(rng, d0, 40.0, 3000.0);
        let start = earlier_end - r.moving_until;
        if start > 0.0 {
            let (e, _) = hand(rng, (s[0], s[1]), d0, a0, 40.0, start, 0.0);
            let mut e: Vec<Point> = e.into_iter().filter(|p| p[2] < setoff - pause).collect();
            e.extend(points);
            points = e;
        }
    }
    let mut rest = rest;
    // Now and then the hand settles, then nudges the pointer a few pixels before pressing.
    if rng.random_bool(0.25) {
        let pause = rng.random_range(STILL_GAP_MS + 10.0..800.0);
        let (nx, ny) = (
            rng.random_range(-6.0..6.0f64),
            rng.random_range(-6.0..6.0f64),
        );
        let steps = rng.random_range(2..7);
        for i in 1..=steps {
            rest = [
                round1(rest[0] + nx / f64::from(steps)),
                round1(rest[1] + ny / f64::from(steps)),
                (rest[2]
                    + if i == 1 {
                        pause
                    } else {
                        rng.random_range(6.0..20.0)
                    })
                .round(),
            ];
            points.push(rest);
        }
        rest[2] += rng.random_range(40.0..200.0f64).round();
    }
    let click = [rest[0], rest[1], (rest[2] + press).round()];
    points.retain(|p| p[2] >= click[2] - WINDOW_MS);
    Approach { points, click }
}

/// A bot's approach of family `family`: its movement laid along a line to the box from
/// where its cursor was, the click where it stopped, after a pause of its own choosing.
pub fn bot(rng: &mut impl Rng, family: Family) -> Approach {
    let (d, angle) = geometry(rng);
    // A script aims at the middle of the box, give or take.
    let (tx, ty) = (
        12.0 + rng.random_range(-5.0..5.0),
        12.0 + rng.random_range(-5.0..5.0),
    );
    let (ux, uy) = (angle.cos(), angle.sin());
    let (sx, sy) = (tx - ux * d, ty - uy * d);
    if family == Family::Replay {
        // A person's approach from elsewhere, moved onto this one: rotated and scaled so
        // that it sets off here and ends on the box, jittered, time-warped.
        let f = loop {
            let src = person(rng);
            if let Some(f) = frame(&src.points, src.click) {
                break f;
            }
        };
        let len = f.last().map_or(1.0, |p| p[0]).max(1.0);
        let k = d / len;
        let warp = rng.random_range(0.85..1.15);
        let t0 = rng.random_range(400.0..2500.0);
        let mut pts: Vec<Point> = Vec::with_capacity(f.len());
        for p in &f {
            if rng.random_bool(0.05) {
                continue;
            }
            let (a, c) = (p[0] * k, p[1] * k);
            pts.push([
                round1(sx + a * ux - c * uy + rng.random_range(-0.4..0.4)),
                round1(sy + a * uy + c * ux + rng.random_range(-0.4..0.4)),
                (t0 + (p[2] - 1000.0) * warp).round(),
            ]);
        }
        let click = pts.pop().unwrap_or([tx, ty, t0]);
        return Approach { points: pts, click };
    }
    let drag = synth::bot(rng, family, d);
    let y0 = drag.first().map_or(0.0, |p| p[1]);
    let points: Vec<Point> = drag
        .iter()
        .map(|p| {
            let (a, c) = (p[0], p[1] - y0);
            [
                round1(sx + a * ux - c * uy),
                round1(sy + a * uy + c * ux),
                p[2],
            ]
        })
        .collect();
    let last = *points.last().expect("a bot moves");
    let click = [
        last[0],
        last[1],
        last[2] + rng.random_range(0.0..400.0f64).round(),
    ];
    Approach { points, click }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_reach_is_read_along_and_across_its_own_line() {
        // Set off from (100, 200), rest there first; bow 10 px to one side on the way to (0, 0).
        let mut pts = vec![[300.0, 300.0, 100.0], [100.0, 200.0, 900.0]];
        for i in 1..=10 {
            let s = f64::from(i) / 10.0;
            let bow = 10.0 * 4.0 * s * (1.0 - s);
            // Along (-100, -200)/|..|, across (its left).
            let len = 100f64.hypot(200.0);
            let (ux, uy) = (-100.0 / len, -200.0 / len);
            pts.push([
                100.0 + ux * len * s - uy * bow,
                200.0 + uy * len * s + ux * bow,
                900.0 + 30.0 * f64::from(i),
            ]);
        }
        let click = [0.0, 0.0, 1400.0];
        let f = frame(&pts, click).expect("a long reach");
        // The earlier sample (before the 800 ms rest) is not part of the reach.
        assert_eq!(f.len(), 12);
        assert!((f[0][0]).abs() < 1e-9 && (f[0][1]).abs() < 1e-9);
        assert!((f[0][2] - 1000.0).abs() < 1e-9, "time from the set-off");
        let last = f.last().unwrap();
        assert!((last[0] - 100f64.hypot(200.0)).abs() < 1e-9, "{last:?}");
        assert!(last[1].abs() < 1e-9);
        assert!(
            (f[5][1] - 10.0).abs() < 1e-6,
            "the bow is across: {:?}",
            f[5]
        );
        assert!((reach_length(&pts, click) - 100f64.hypot(200.0)).abs() < 1e-9);
        // Too short, or too few samples: nothing to judge.
        assert!(frame(&[[10.0, 10.0, 0.0], [5.0, 5.0, 10.0]], [0.0, 0.0, 20.0]).is_none());
        assert!(frame(&[], [0.0, 0.0, 20.0]).is_none());
    }

    #[test]
    fn people_reach_the_box_in_human_time() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..300 {
            let a = person(&mut rng);
            assert!(a.points.windows(2).all(|w| w[1][2] >= w[0][2]));
            assert!(a.points.iter().all(|p| p[2] <= a.click[2]));
            assert!(a.click[2] - a.points[0][2] <= WINDOW_MS);
            // On the bar (the box and its label), within a few px.
            assert!(
                (-15.0..230.0).contains(&a.click[0]) && (-15.0..45.0).contains(&a.click[1]),
                "{:?}",
                a.click
            );
            for f in Family::ALL {
                let b = bot(&mut rng, f);
                assert!(b.points.len() >= 5, "{f:?}");
                assert!(
                    (b.click[0] - 12.0).hypot(b.click[1] - 12.0) < 40.0,
                    "{f:?} {:?}",
                    b.click
                );
            }
        }
    }
}
