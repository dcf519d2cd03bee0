//! Synthetic drags along a slider track: people, from the motor-control literature, and
//! several families of bots. They train and evaluate the behaviour model, and feed the
//! tests that need a person's hand.
//!
//! A person ([`human`]):
//! - waits a reaction time after the challenge appears (lognormal), presses, and sets off
//!   a moment later;
//! - moves in a primary submovement whose speed follows a lognormal profile (the
//!   kinematic theory of rapid movements: a fast rise, a longer tail), lasting about as long
//!   as Fitts's law says for the distance and the target's tolerance, and landing with an
//!   error that grows with speed — so it often overshoots or falls short;
//! - corrects with one or two smaller, later, overlapping submovements;
//! - trembles (physiological tremor, 8–12 Hz, a fraction of a pixel), drifts vertically in
//!   an arc and a slow random walk, and holds still a moment before letting go;
//! - is seen through a [`Device`]: hardware that samples at its own rate and reports only
//!   movement on its pixel grid, delivered to the page sample by sample or one per frame.
//!
//! Bots ([`Family`]) range from naive (a straight line at constant speed) to the generators
//! attackers use to look human: eased curves, Bézier paths with jitter, WindMouse-style
//! physics, textbook minimum-jerk with overshoot, and replays of a person's trace, scaled,
//! jittered and time-warped. The scripted curves are sent over HTTP as stepped, dispatched
//! into a browser by an automation protocol (one event per step, as the pipeline delivers
//! it), or through a [`Device`] as a script driving a browser's input hardware would be.

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Normal};

use crate::challenge::{Point, Pointer};

/// The slider's tolerance as a target width for Fitts's law (±6 px).
const TARGET_WIDTH: f64 = 12.0;

/// A synthetic person's drag of `distance` px along a track (press to release).
pub fn human(rng: &mut impl Rng, distance: f64, pointer: Pointer) -> Vec<Point> {
    let d = distance.max(1.0);
    // Reaction: from the picture appearing to the press.
    let reaction = 250.0 + LogNormal::new(6.2, 0.45).expect("valid").sample(rng);
    // Fitts's law, with per-person intercept, slope and tempo.
    let id = (d / TARGET_WIDTH + 1.0).log2();
    let tempo = LogNormal::new(0.0, 0.25).expect("valid").sample(rng);
    let mt = (rng.random_range(120.0..280.0) + rng.random_range(90.0..190.0) * id) * tempo;
    // Primary submovement: lognormal speed profile; endpoint error ~ speed.
    let sigma = rng.random_range(0.18..0.42);
    let error = Normal::new(0.02, 0.05 + 0.02 * tempo.recip())
        .expect("valid")
        .sample(rng);
    let mut subs = vec![Sub::new(d * (1.0 + error), 0.0, mt, sigma)];
    // Corrections, each starting before the last one ends.
    let mut reached = subs[0].amp;
    let mut start = mt * rng.random_range(0.55..0.8);
    for _ in 0..3 {
        let miss = d - reached;
        if miss.abs() < rng.random_range(1.0..4.0) {
            break;
        }
        let residual = Normal::new(0.0, 0.12).expect("valid").sample(rng);
        let amp = miss * (1.0 + residual);
        let dur = rng.random_range(140.0..320.0) * (1.0 + (amp.abs() / 40.0).min(1.5));
        subs.push(Sub::new(amp, start, dur, rng.random_range(0.2..0.45)));
        reached += amp;
        start += dur * rng.random_range(0.6..0.9);
    }
    let moving_until = subs.iter().map(|s| s.start + s.dur).fold(0.0, f64::max);
    // The hand presses, then sets off a moment later; it holds still before letting go.
    let onset: f64 = LogNormal::new(4.3, 0.5).expect("valid").sample(rng);
    let onset = onset.min(400.0);
    let hold = rng.random_range(60.0..420.0);
    let end = onset + moving_until + hold;
    // Vertical: a height over the track, an arc that grows with the movement, a slow walk.
    let y0 = rng.random_range(12.0..30.0);
    let arc = rng.random_range(-0.04..0.04) * d;
    let (trem_f, trem_a) = (rng.random_range(8.0..12.0), rng.random_range(0.04..0.35));
    let trem_phase = rng.random_range(0.0..std::f64::consts::TAU);
    let walk_step = rng.random_range(0.05..0.3);
    let walk = Walk::new(rng, end, walk_step);
    let device = Device::random(rng, pointer);
    device.sample(rng, reaction, end, |t| {
        let progress: f64 = subs.iter().map(|s| s.at(t - onset)).sum();
        let tremor = trem_a * (std::f64::consts::TAU * trem_f * t / 1000.0 + trem_phase).sin();
        let frac = (progress / d).clamp(0.0, 1.2);
        let x = progress + tremor;
        let y = y0 + arc * 4.0 * frac * (1.0 - frac) + walk.at(t) + tremor * 0.7;
        (x, y)
    })
}

/// A slow random walk (AR(1) on a 10 ms grid), read at any time by interpolation.
pub(super) struct Walk(Vec<f64>);

impl Walk {
    const STEP_MS: f64 = 10.0;

    pub(super) fn new(rng: &mut impl Rng, until: f64, step: f64) -> Walk {
        let n = (until / Self::STEP_MS) as usize + 2;
        let mut v = 0.0;
        let noise = Normal::new(0.0, step).expect("valid");
        Walk(
            (0..n)
                .map(|_| {
                    v = 0.95 * v + noise.sample(rng);
                    v
                })
                .collect(),
        )
    }

    pub(super) fn at(&self, t: f64) -> f64 {
        let i = (t.max(0.0) / Self::STEP_MS) as usize;
        let (a, b) = (
            self.0[i.min(self.0.len() - 1)],
            self.0[(i + 1).min(self.0.len() - 1)],
        );
        let f = t.max(0.0) / Self::STEP_MS - i as f64;
        a + (b - a) * f.clamp(0.0, 1.0)
    }
}

/// How a browser on some device reports a moving pointer to the page. The hardware
/// samples at its own rate and reports only when the position on the device's pixel grid
/// changes; the page sees every sample with its own time when the browser hands over
/// coalesced events, or else one per animation frame (the latest), and a busy main thread
/// now and then merges frames or hangs for a few hundred milliseconds. People and browser-driven bots alike are seen through one,
/// so the model has to tell them apart by how they move, not by how they were sampled.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    /// Milliseconds between hardware samples (a mouse at 125–1000 Hz, a screen at 60–240).
    period: f64,
    /// Whether the page reads every hardware sample (`getCoalescedEvents`).
    coalesced: bool,
    /// Milliseconds between animation frames, when not coalesced.
    frame: f64,
    /// The chance that a frame is lost to a busy main thread.
    stall: f64,
    /// The chance, per frame, that the main thread hangs for 80–350 ms (a garbage
    /// collection, a long task): no frame is delivered until it is free again.
    hiccup: f64,
    /// Device pixels per CSS px.
    dpr: f64,
}

impl Device {
    /// A device as common as it is in the wild, roughly, for `pointer`.
    pub fn random(rng: &mut impl Rng, pointer: Pointer) -> Device {
        let pick = |rng: &mut _, v: &[f64]| v[Rng::random_range(rng, 0..v.len())];
        let period = match pointer {
            Pointer::Touch => pick(rng, &[1000.0 / 60.0, 1000.0 / 120.0, 1000.0 / 240.0]),
            Pointer::Pen => pick(rng, &[1000.0 / 120.0, 1000.0 / 240.0, 4.0]),
            _ => pick(rng, &[8.0, 8.0, 8.0, 4.0, 2.0, 1.0]),
        };
        Device {
            period,
            coalesced: rng.random_bool(0.7),
            frame: pick(
                rng,
                &[1000.0 / 60.0, 1000.0 / 60.0, 1000.0 / 120.0, 1000.0 / 30.0],
            ),
            stall: rng.random_range(0.0..0.1),
            hiccup: if rng.random_bool(0.3) {
                rng.random_range(0.0..0.02)
            } else {
                0.0
            },
            dpr: pick(rng, &[1.0, 1.0, 1.25, 1.5, 2.0, 2.0, 3.0]),
        }
    }

    /// The points the widget records for a movement `at(t)` (CSS px along and above the
    /// track, `t` in ms from the press) from the press to the release at `end`; times
    /// offset by `t0`, rounded as the widget rounds them.
    pub fn sample(
        &self,
        rng: &mut impl Rng,
        t0: f64,
        end: f64,
        mut at: impl FnMut(f64) -> (f64, f64),
    ) -> Vec<Point> {
        let grab = rng.random_range(0.0..1.0f64); // where in its pixel the handle was grabbed
        let snap = |v: f64, off: f64| ((v + off) * self.dpr).round() / self.dpr - off;
        let record = |x: f64, y: f64, t: f64| {
            [
                (x.max(0.0) * 10.0).round() / 10.0,
                (y * 10.0).round() / 10.0,
                (t0 + t).round(),
            ]
        };
        let (x, y) = at(0.0);
        let mut last = (snap(x, grab), snap(y, 0.0));
        let mut out = vec![record(last.0, last.1, 0.0)];
        // A sample that changed position and waits for the next frame (when not coalesced).
        let mut pending: Option<(f64, f64, f64)> = None;
        let mut next_frame = self.frame * rng.random_range(0.0..1.0);
        let mut t = self.period * rng.random_range(0.0..1.0);
        while t < end {
            let (x, y) = at(t);
            let here = (snap(x, grab), snap(y, 0.0));
            if here != last {
                last = here;
                if self.coalesced {
                    out.push(record(here.0, here.1, t));
                } else {
                    pending = Some((here.0, here.1, t));
                }
            }
            if !self.coalesced && t >= next_frame {
                if !rng.random_bool(self.stall)
                    && let Some((x, y, ts)) = pending.take()
                {
                    out.push(record(x, y, ts));
                }
                next_frame += self.frame;
                if self.hiccup > 0.0 && rng.random_bool(self.hiccup) {
                    next_frame += rng.random_range(80.0..350.0);
                }
            }
            t += self.period * rng.random_range(0.9..1.1);
        }
        if let Some((x, y, ts)) = pending {
            out.push(record(x, y, ts));
        }
        // The release: where the pointer is as it lets go.
        let (x, y) = at(end);
        let (x, y) = (snap(x, grab), snap(y, 0.0));
        if out.last().is_none_or(|p| p[0] != record(x, y, end)[0]) {
            out.push(record(x, y, end));
        }
        out
    }
}

/// How a script steps through a path: it presses at `t0` (ms), waits `pause`, then sends
/// `n` steps over `total` ms, each up to `jitter` ms off its time.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    pub t0: f64,
    pub pause: f64,
    pub total: f64,
    pub n: usize,
    pub jitter: f64,
}

/// An automation protocol delivering a script's steps into a browser (DevTools, WebDriver,
/// an OS input queue): each step becomes one event, stamped when it arrives; the script
/// sends the next when it is due or once the last was acknowledged, whichever is later.
/// Round trips longer than a step stretch the drag and make its timing ragged.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline {
    /// Milliseconds for one command to be delivered and acknowledged.
    trip: LogNormal<f64>,
    /// Whether the script keeps to a schedule (else it sleeps a step after each
    /// acknowledgement, and every round trip adds to the drag).
    scheduled: bool,
}

impl Pipeline {
    /// A pipeline whose round trips have median `median_ms` and log-spread `spread`.
    pub fn new(median_ms: f64, spread: f64, scheduled: bool) -> Pipeline {
        Pipeline {
            trip: LogNormal::new(median_ms.max(0.01).ln(), spread.max(0.0)).expect("valid"),
            scheduled,
        }
    }

    /// A machine's pipeline: a fraction of a millisecond idle, tens loaded.
    pub fn random(rng: &mut impl Rng) -> Pipeline {
        Pipeline::new(
            rng.random_range(0.3..40.0),
            rng.random_range(0.2..0.8),
            rng.random_bool(0.5),
        )
    }

    /// The points the widget records for `path(s)` (`s` from 0 to 1) sent as `script`
    /// steps through it.
    pub fn dispatch(
        &self,
        rng: &mut impl Rng,
        script: Script,
        mut path: impl FnMut(f64) -> (f64, f64),
    ) -> Vec<Point> {
        let Script {
            t0,
            pause,
            total,
            n,
            jitter,
        } = script;
        let n = n.max(1);
        let step = total / n as f64;
        let (x, y) = path(0.0);
        let mut out = vec![[round1(x.max(0.0)), round1(y), t0.round()]];
        let mut free = t0 + pause;
        for i in 1..=n {
            let wait = rng.random_range(-jitter..=jitter);
            let due = if self.scheduled {
                t0 + pause + step * i as f64 + wait
            } else {
                free + step + wait
            };
            let sent = due.max(free);
            let round_trip = self.trip.sample(rng);
            let t = (sent + round_trip * rng.random_range(0.3..0.7))
                .round()
                .max(out[out.len() - 1][2]);
            free = sent + round_trip;
            let (x, y) = path(i as f64 / n as f64);
            out.push([round1(x.max(0.0)), round1(y), t]);
        }
        out
    }
}

/// One submovement: `amp` px, starting at `start` ms, lasting about `dur` ms, its speed a
/// lognormal of shape `sigma`.
pub(super) struct Sub {
    pub(super) amp: f64,
    pub(super) start: f64,
    pub(super) dur: f64,
    mu: f64,
    sigma: f64,
}

impl Sub {
    pub(super) fn new(amp: f64, start: f64, dur: f64, sigma: f64) -> Sub {
        // A lognormal's mass lies within e^(μ ± 3σ): fit that span to the duration.
        let span = (3.0 * sigma).exp() - (-3.0 * sigma).exp();
        let mu = (dur / span).ln();
        Sub {
            amp,
            start: start - (mu - 3.0 * sigma).exp(),
            dur,
            mu,
            sigma,
        }
    }

    /// Displacement so far at time `t`.
    pub(super) fn at(&self, t: f64) -> f64 {
        let dt = t - self.start;
        if dt <= 0.0 {
            return 0.0;
        }
        self.amp * phi((dt.ln() - self.mu) / self.sigma)
    }
}

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 for erf; error < 1.5e-7).
fn phi(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    0.5 * (1.0 + if x >= 0.0 { erf } else { -erf })
}

/// Families of bot movement, naive to sophisticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A straight line at constant speed, evenly sampled.
    Linear,
    /// An ease-in-out curve with uniform random jitter on both axes.
    Eased,
    /// A cubic Bézier path with random control points, eased, jittered, sometimes
    /// overshooting (the approach of the popular "human cursor" libraries).
    Bezier,
    /// Physics: a pull towards the target plus random wind (the WindMouse algorithm).
    Physics,
    /// Textbook minimum-jerk movement with an overshoot, a correction and a sine drift.
    MinimumJerk,
    /// A recorded person's drag for another distance, scaled, jittered and time-warped.
    Replay,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::Linear,
        Family::Eased,
        Family::Bezier,
        Family::Physics,
        Family::MinimumJerk,
        Family::Replay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Linear => "linear",
            Family::Eased => "eased + jitter",
            Family::Bezier => "Bézier + jitter",
            Family::Physics => "physics (WindMouse)",
            Family::MinimumJerk => "minimum-jerk + overshoot",
            Family::Replay => "replayed human + jitter",
        }
    }
}

/// A bot's drag of `distance` px.
pub fn bot(rng: &mut impl Rng, family: Family, distance: f64) -> Vec<Point> {
    let d = distance.max(1.0);
    let reaction = rng.random_range(300.0..1500.0);
    match family {
        Family::Linear => {
            let n = rng.random_range(10..40);
            let dt = rng.random_range(8.0..25.0);
            let y = rng.random_range(10.0..30.0);
            (0..=n)
                .map(|i| {
                    let s = i as f64 / n as f64;
                    [d * s, y, (reaction + i as f64 * dt).round()]
                })
                .collect()
        }
        Family::Eased => {
            let n = rng.random_range(25..70);
            let total = rng.random_range(500.0..1500.0);
            let y = rng.random_range(10.0..30.0);
            let j = rng.random_range(0.3..2.0);
            emit(rng, reaction, total, n, 3.0, |s, noise| {
                let e = if s < 0.5 {
                    4.0 * s * s * s
                } else {
                    1.0 - (-2.0 * s + 2.0).powi(3) / 2.0
                };
                (
                    (d * e + noise.random_range(-j..j)).max(0.0),
                    y + noise.random_range(-j..j),
                )
            })
        }
        Family::Bezier => {
            let y0 = rng.random_range(10.0..30.0);
            let over = if rng.random_bool(0.5) {
                rng.random_range(3.0..15.0)
            } else {
                0.0
            };
            let end = d + over;
            let (c1, c2) = (
                (
                    end * rng.random_range(0.1..0.5),
                    y0 + rng.random_range(-25.0..25.0),
                ),
                (
                    end * rng.random_range(0.5..0.9),
                    y0 + rng.random_range(-25.0..25.0),
                ),
            );
            let n = rng.random_range(30..90);
            let main = rng.random_range(400.0..1400.0);
            // An overshoot is taken back in a short straight run after the curve.
            let back = if over > 0.0 {
                rng.random_range(80.0..300.0)
            } else {
                0.0
            };
            let total = main + back;
            emit(rng, reaction, total, n, 4.0, |s, noise| {
                let t = s * total;
                if t > main {
                    let k = (t - main) / back;
                    return (end - over * k, y0);
                }
                let u = 0.5 - 0.5 * (std::f64::consts::PI * t / main).cos();
                let (bx, by) = bezier((0.0, y0), c1, c2, (end, y0), u);
                (
                    (bx + noise.random_range(-0.7..0.7)).max(0.0),
                    by + noise.random_range(-0.7..0.7),
                )
            })
        }
        Family::Physics => {
            // WindMouse: velocity pulled to the target, pushed by a wandering wind.
            let (mut x, mut y) = (0.0f64, rng.random_range(10.0..30.0));
            let ty = y + rng.random_range(-3.0..3.0);
            let (gravity, wind_max): (f64, f64) =
                (rng.random_range(7.0..11.0), rng.random_range(2.0..5.0));
            let max_step = rng.random_range(8.0..18.0);
            let (mut vx, mut vy, mut wx, mut wy) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            let mut t = reaction;
            let mut pts = vec![[0.0, round1(y), t.round()]];
            for _ in 0..600 {
                let dist = (d - x).hypot(ty - y);
                if dist < 1.0 {
                    break;
                }
                let w = wind_max.min(dist);
                wx = wx / 3f64.sqrt() + rng.random_range(-w..w) / 5f64.sqrt();
                wy = wy / 3f64.sqrt() + rng.random_range(-w..w) / 5f64.sqrt();
                vx += wx + gravity * (d - x) / dist;
                vy += wy + gravity * (ty - y) / dist;
                let v = vx.hypot(vy);
                let cap = if dist > 20.0 {
                    max_step
                } else {
                    (dist / 2.0).max(1.0)
                };
                if v > cap {
                    let k = cap / v * rng.random_range(0.5..1.0);
                    vx *= k;
                    vy *= k;
                }
                x += vx;
                y += vy;
                t += rng.random_range(6.0..16.0);
                pts.push([round1(x.max(0.0)), round1(y), t.round()]);
            }
            pts
        }
        Family::MinimumJerk => {
            let total = rng.random_range(600.0..1200.0);
            let n = rng.random_range(40..80);
            let over = rng.random_range(4.0..12.0);
            let settle = rng.random_range(0.5..2.5);
            let main = rng.random_range(0.72..0.82);
            let amp = rng.random_range(1.2..3.5);
            let phase = rng.random_range(0.0..std::f64::consts::TAU);
            let y0 = rng.random_range(10.0..30.0);
            emit(
                rng,
                reaction,
                total,
                n,
                0.4 * total / n as f64,
                |s, noise| {
                    let x = if s <= main {
                        (d + over) * min_jerk(s / main)
                    } else {
                        d + over - (over - settle) * min_jerk((s - main) / (1.0 - main))
                    };
                    let y = y0
                        + amp * (s * std::f64::consts::PI + phase).sin()
                        + noise.random_range(-0.6..0.6);
                    (x, y)
                },
            )
        }
        Family::Replay => {
            // A person's trace for another distance, bent to this one.
            let source_d = (d * rng.random_range(0.6..1.6)).max(20.0);
            let src = human(rng, source_d, Pointer::Mouse);
            let (k, warp) = (d / source_d, rng.random_range(0.85..1.15));
            let t0 = src.first().map_or(0.0, |p| p[2]);
            let shift: f64 = rng.random_range(-200.0..200.0);
            let mut out = Vec::with_capacity(src.len());
            for p in &src {
                if rng.random_bool(0.05) {
                    continue; // a dropped sample
                }
                out.push([
                    round1((p[0] * k + rng.random_range(-0.4..0.4)).max(0.0)),
                    round1(p[1] + rng.random_range(-0.4..0.4)),
                    (t0 + shift.max(-t0 + 50.0) + (p[2] - t0) * warp).round(),
                ]);
            }
            out
        }
    }
}

/// A scripted path `path(s, noise)` (`s` from 0 to 1 over `total` ms) as the points a
/// widget would record, reaching it one of three ways, a third of the time each:
/// - sent as a script steps through it over HTTP: `n` even steps, each `jitter` ms off its
///   time, positions to a tenth of a pixel;
/// - dispatched into a real browser by an automation protocol (DevTools, WebDriver, an OS
///   input queue): each step is one event, stamped when it arrives, and the next is sent
///   when it is due or once the last is acknowledged, whichever is later — so a busy
///   pipeline stretches the drag and makes its timing as ragged as a person's device;
/// - driving the input of some [`Device`], which samples it as it samples a hand.
///
/// A script that drives a browser often waits a moment after pressing before it moves (as
/// the "human cursor" scripts do), so the last two do that more often than not. Only the
/// shape of the movement gives any of them away.
fn emit(
    rng: &mut impl Rng,
    reaction: f64,
    total: f64,
    n: usize,
    jitter: f64,
    mut path: impl FnMut(f64, &mut rand::rngs::StdRng) -> (f64, f64),
) -> Vec<Point> {
    let mut noise = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(rng.random());
    let channel = rng.random_range(0..3);
    let pause = if channel > 0 && rng.random_bool(0.6) {
        rng.random_range(30.0..300.0)
    } else {
        0.0
    };
    match channel {
        0 => {
            let mut last_t = f64::MIN;
            (0..=n)
                .map(|i| {
                    let s = i as f64 / n as f64;
                    let (x, y) = path(s, &mut noise);
                    let t = (reaction + total * s + noise.random_range(-jitter..=jitter))
                        .round()
                        .max(last_t);
                    last_t = t;
                    [round1(x.max(0.0)), round1(y), t]
                })
                .collect()
        }
        1 => {
            let script = Script {
                t0: reaction,
                pause,
                total,
                n,
                jitter,
            };
            Pipeline::random(rng).dispatch(rng, script, |s| path(s, &mut noise))
        }
        _ => {
            let device = Device::random(rng, Pointer::Mouse);
            device.sample(rng, reaction, total + pause, |t| {
                path(((t - pause) / total).clamp(0.0, 1.0), &mut noise)
            })
        }
    }
}

pub(super) fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn min_jerk(s: f64) -> f64 {
    10.0 * s.powi(3) - 15.0 * s.powi(4) + 6.0 * s.powi(5)
}

fn bezier(p0: (f64, f64), p1: (f64, f64), p2: (f64, f64), p3: (f64, f64), u: f64) -> (f64, f64) {
    let v = 1.0 - u;
    let (a, b, c, e) = (v * v * v, 3.0 * v * v * u, 3.0 * v * u * u, u * u * u);
    (
        a * p0.0 + b * p1.0 + c * p2.0 + e * p3.0,
        a * p0.1 + b * p1.1 + c * p2.1 + e * p3.1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_pipeline_delivers_one_event_per_step_and_slow_round_trips_stretch_the_drag() {
        let mut rng = StdRng::seed_from_u64(5);
        let line = |s: f64| (200.0 * s, 20.0);
        for scheduled in [true, false] {
            // Idle: the drag keeps its length (500 ms of 10 ms steps, ±2 ms each).
            let script = |pause| Script {
                t0: 1000.0,
                pause,
                total: 500.0,
                n: 50,
                jitter: 2.0,
            };
            let quick = Pipeline::new(0.3, 0.3, scheduled).dispatch(&mut rng, script(100.0), line);
            assert_eq!(quick.len(), 51);
            assert!(quick.windows(2).all(|w| w[1][2] >= w[0][2]));
            let span = quick[50][2] - quick[0][2];
            assert!((590.0..=660.0).contains(&span), "{span}");
            assert_eq!((quick[50][0], quick[1][0]), (200.0, 4.0));
            // Loaded (40 ms round trips): every step waits for the last to be acknowledged.
            let slow = Pipeline::new(40.0, 0.3, scheduled).dispatch(&mut rng, script(0.0), line);
            let span = slow[50][2] - slow[0][2];
            assert!(span > 1400.0, "{span}");
            let mean = span / 50.0;
            let var = slow
                .windows(2)
                .map(|w| (w[1][2] - w[0][2] - mean).powi(2))
                .sum::<f64>()
                / 50.0;
            let cv = var.sqrt() / mean;
            assert!(cv > 0.1, "ragged: cv {cv}");
        }
    }

    #[test]
    fn people_end_near_the_target_in_human_time() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut ends = Vec::new();
        for _ in 0..300 {
            let d = rng.random_range(60.0..260.0);
            let p = human(&mut rng, d, Pointer::Mouse);
            assert!(
                p.windows(2).all(|w| w[1][2] >= w[0][2]),
                "time runs forward"
            );
            let dur = p.last().unwrap()[2] - p[0][2];
            assert!((250.0..6000.0).contains(&dur), "duration {dur}");
            ends.push((p.last().unwrap()[0] - d).abs());
        }
        ends.sort_by(f64::total_cmp);
        assert!(
            ends[ends.len() * 9 / 10] <= 6.0,
            "90% end within 6 px: {:?}",
            &ends[270..]
        );
    }

    #[test]
    fn the_normal_cdf_is_accurate() {
        assert!((phi(0.0) - 0.5).abs() < 1e-7);
        assert!((phi(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((phi(-2.0) - 0.022_750_1).abs() < 1e-6);
    }

    #[test]
    fn every_bot_family_reaches_roughly_the_target() {
        let mut rng = StdRng::seed_from_u64(2);
        for f in Family::ALL {
            for _ in 0..50 {
                let d = rng.random_range(60.0..260.0);
                let p = bot(&mut rng, f, d);
                assert!(p.len() >= 5, "{f:?}");
                let end = p.last().unwrap()[0];
                assert!((end - d).abs() < 0.2 * d + 8.0, "{f:?}: {end} for {d}");
            }
        }
    }
}
