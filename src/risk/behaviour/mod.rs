//! The behaviour model: how likely a drag is to come from a machine, from the shape and the
//! timing of its trajectory.
//!
//! - [`features`] turns a drag (press to release) into [`N_FEATURES`] numbers a person and
//!   a generator differ on: timing regularity, the speed profile's shape (lognormal rise and
//!   tail, submovements), tremor, overshoot and correction, vertical drift, the hold before
//!   release.
//! - [`Model`] is a small neural network (one hidden layer) over standardised features. It
//!   is trained by `cargo run --release --bin train-behaviour` from synthetic people and bot
//!   families ([`synth`]) and, when given, recorded traces; the result is
//!   `model.json` beside this file, compiled into the binary. `docs/MODEL_CARD.md` states the
//!   data, the features and the held-out figures.
//! - [`assess`] maps the model's output to findings: [`Finding::MotionSuspect`] above the
//!   threshold chosen on held-out people (a soft finding that Advanced mode acts on).
//! - A second model of the same shape judges a one-click answer's approach to the box
//!   ([`assess_approach`]): the final reach, turned into the frame of its own line
//!   ([`pointing::frame`]) so that the same features describe it. It is trained by
//!   `train-behaviour -- --task approach` from synthetic people pointing at the box
//!   ([`pointing::person`]) and the bot families laid along the same geometry; the result
//!   is `approach.json`.
//!
//! Inference is a few hundred multiply-adds: microseconds.

pub mod pointing;
pub mod synth;
pub mod train;

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::Finding;
use crate::challenge::Point;

/// How many numbers describe a drag.
pub const N_FEATURES: usize = 20;

/// Feature names, in order (the model card lists what each means).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "log_duration",
    "log_reaction",
    "sample_rate",
    "dt_cv",
    "dt_regularity",
    "peak_time_fraction",
    "speed_cv",
    "log_jerk",
    "speed_peaks",
    "overshoot",
    "backward_fraction",
    "log_y_std",
    "log_y_range",
    "log_y_tremor",
    "log_x_tremor",
    "log_end_hold",
    "straightness",
    "still_fraction",
    "speed_skew",
    "accel_sign_rate",
];

/// The features of one drag; `None` when there are too few samples to say anything (the
/// rule-based findings handle those).
pub fn features(points: &[Point]) -> Option<[f64; N_FEATURES]> {
    if points.len() < 6 {
        return None;
    }
    let t0 = points[0][2];
    let duration = (points[points.len() - 1][2] - t0).max(1.0);
    let x_end = points[points.len() - 1][0];
    let x_start = points[0][0];
    let dist = (x_end - x_start).abs().max(1.0);
    // Sampling intervals.
    let dts: Vec<f64> = points.windows(2).map(|w| w[1][2] - w[0][2]).collect();
    let (dt_mean, dt_sd) = mean_sd(&dts);
    let mut sorted = dts.clone();
    sorted.sort_by(f64::total_cmp);
    let dt_median = sorted[sorted.len() / 2];
    let regular =
        dts.iter().filter(|d| (*d - dt_median).abs() <= 0.5).count() as f64 / dts.len() as f64;
    // Speed along x (px/ms) per interval with time > 0.
    let mut speeds = Vec::with_capacity(dts.len());
    let mut times = Vec::with_capacity(dts.len());
    for w in points.windows(2) {
        let dt = w[1][2] - w[0][2];
        if dt > 0.0 {
            speeds.push((w[1][0] - w[0][0]) / dt);
            times.push(0.5 * (w[0][2] + w[1][2]) - t0);
        }
    }
    if speeds.len() < 4 {
        return None;
    }
    // Smooth a little (3-tap) before looking at peaks and derivatives.
    let smooth: Vec<f64> = (0..speeds.len())
        .map(|i| {
            let a = speeds[i.saturating_sub(1)];
            let c = speeds[(i + 1).min(speeds.len() - 1)];
            0.25 * a + 0.5 * speeds[i] + 0.25 * c
        })
        .collect();
    let (peak_i, peak) = smooth
        .iter()
        .enumerate()
        .fold((0, f64::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
    let peak_time = times[peak_i] / duration;
    let abs_speeds: Vec<f64> = smooth.iter().map(|v| v.abs()).collect();
    let (sp_mean, sp_sd) = mean_sd(&abs_speeds);
    let peaks = (1..smooth.len() - 1)
        .filter(|&i| {
            smooth[i] > smooth[i - 1] && smooth[i] >= smooth[i + 1] && smooth[i] > 0.15 * peak
        })
        .count() as f64;
    // Acceleration and jerk over the smoothed speed.
    let mut acc = Vec::new();
    for i in 1..smooth.len() {
        let dt = (times[i] - times[i - 1]).max(1.0);
        acc.push((smooth[i] - smooth[i - 1]) / dt);
    }
    let mut jerk_sum = 0.0;
    for i in 1..acc.len() {
        let dt = (times[i + 1] - times[i]).max(1.0);
        jerk_sum += ((acc[i] - acc[i - 1]) / dt).abs();
    }
    let jerk = jerk_sum / acc.len().max(1) as f64 * duration.powi(3) / dist;
    let sign_changes = acc
        .windows(2)
        .filter(|w| w[0].abs() > 1e-5 && w[1].abs() > 1e-5 && w[0].signum() != w[1].signum())
        .count() as f64;
    let skew = if sp_sd > 1e-9 {
        abs_speeds
            .iter()
            .map(|v| ((v - sp_mean) / sp_sd).powi(3))
            .sum::<f64>()
            / abs_speeds.len() as f64
    } else {
        0.0
    };
    // Geometry.
    let x_max = points.iter().map(|p| p[0]).fold(f64::MIN, f64::max);
    let overshoot = (x_max - x_end).max(0.0) / dist;
    let steps = points.len() - 1;
    let backward = points
        .windows(2)
        .filter(|w| w[1][0] < w[0][0] - 0.05)
        .count() as f64
        / steps as f64;
    let still = points
        .windows(2)
        .filter(|w| (w[1][0] - w[0][0]).abs() < 0.05)
        .count() as f64
        / steps as f64;
    let ys: Vec<f64> = points.iter().map(|p| p[1]).collect();
    let (_, y_sd) = mean_sd(&ys);
    let y_range =
        ys.iter().copied().fold(f64::MIN, f64::max) - ys.iter().copied().fold(f64::MAX, f64::min);
    let tremor = |v: &dyn Fn(&Point) -> f64| {
        let r: Vec<f64> = points
            .windows(3)
            .map(|w| v(&w[1]) - 0.5 * (v(&w[0]) + v(&w[2])))
            .collect();
        mean_sd(&r).1
    };
    let y_tremor = tremor(&|p: &Point| p[1]);
    let x_tremor = tremor(&|p: &Point| p[0]);
    let path: f64 = points
        .windows(2)
        .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
        .sum();
    // The hold: from the last real movement to the release.
    let last_move = points
        .windows(2)
        .rposition(|w| (w[1][0] - w[0][0]).abs() > 0.5)
        .map_or(t0, |i| points[i + 1][2]);
    let hold = points[points.len() - 1][2] - last_move;
    let f = [
        duration.ln(),
        t0.max(1.0).ln(),
        steps as f64 / duration * 100.0,
        if dt_mean > 0.0 { dt_sd / dt_mean } else { 0.0 },
        regular,
        peak_time,
        if sp_mean > 0.0 { sp_sd / sp_mean } else { 0.0 },
        jerk.max(1e-9).ln(),
        peaks,
        overshoot * 10.0,
        backward * 10.0,
        (1.0 + y_sd).ln(),
        (1.0 + y_range).ln(),
        (0.01 + y_tremor).ln(),
        (0.01 + x_tremor).ln(),
        (1.0 + hold).ln(),
        (path / dist).min(5.0),
        still,
        skew.clamp(-5.0, 5.0),
        sign_changes / duration * 1000.0,
    ];
    // Whatever the input, the model only ever sees finite numbers.
    f.iter().all(|v| v.is_finite()).then_some(f)
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A trained model: standardisation, one tanh hidden layer, a logistic output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Hidden weights, one row of [`N_FEATURES`] per unit.
    pub w1: Vec<Vec<f64>>,
    pub b1: Vec<f64>,
    pub w2: Vec<f64>,
    pub b2: f64,
    /// Output from which a drag is [`Finding::MotionSuspect`].
    pub threshold: f64,
    /// What the model was trained on and how it scored, for the model card.
    pub card: serde_json::Value,
}

impl Model {
    /// The probability-like output (0 person … 1 machine) for features `f`.
    pub fn score(&self, f: &[f64; N_FEATURES]) -> f64 {
        let z: Vec<f64> = f
            .iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| ((v - m) / s).clamp(-8.0, 8.0))
            .collect();
        let mut out = self.b2;
        for ((row, b), w) in self.w1.iter().zip(&self.b1).zip(&self.w2) {
            let a: f64 = row.iter().zip(&z).map(|(w, z)| w * z).sum::<f64>() + b;
            out += w * a.tanh();
        }
        1.0 / (1.0 + (-out).exp())
    }

    /// Whether the shapes agree (a model file from another feature set is refused).
    pub fn is_consistent(&self) -> bool {
        self.mean.len() == N_FEATURES
            && self.scale.len() == N_FEATURES
            && self.scale.iter().all(|s| *s > 0.0)
            && self.w1.iter().all(|r| r.len() == N_FEATURES)
            && self.w1.len() == self.b1.len()
            && self.b1.len() == self.w2.len()
    }
}

/// The drag model compiled into the binary.
pub static MODEL: LazyLock<Option<Model>> = LazyLock::new(|| load(include_str!("model.json")));

/// The approach model (one-click) compiled into the binary.
pub static APPROACH_MODEL: LazyLock<Option<Model>> =
    LazyLock::new(|| load(include_str!("approach.json")));

fn load(text: &str) -> Option<Model> {
    serde_json::from_str::<Model>(text)
        .ok()
        .filter(Model::is_consistent)
}

/// The behaviour findings for a one-click answer's mouse approach (`points` before the
/// `click`): the approach model's verdict on the final reach; and a reach too short to
/// judge (or too sparsely sampled) is suspect too — a person's pointer almost always comes
/// to the box from elsewhere on the page, so a script that moved a few pixels to avoid the
/// model gains nothing by it. (Fewer than 3 samples is [`Finding::NoApproach`], by rule.)
pub fn assess_approach(points: &[Point], click: Point) -> Vec<Finding> {
    if points.len() < 3 {
        return Vec::new();
    }
    let Some(model) = APPROACH_MODEL.as_ref() else {
        return Vec::new();
    };
    // Too short a reach, or too few samples on a long one (a moving mouse reports often).
    let Some(f) = pointing::frame(points, click).and_then(|r| features(&r)) else {
        return vec![Finding::MotionSuspect];
    };
    if model.score(&f) >= model.threshold {
        vec![Finding::MotionSuspect]
    } else {
        Vec::new()
    }
}

/// The behaviour findings for a drag (empty when the model has nothing to say).
pub fn assess(points: &[Point]) -> Vec<Finding> {
    let (Some(model), Some(f)) = (MODEL.as_ref(), features(points)) else {
        return Vec::new();
    };
    if model.score(&f) >= model.threshold {
        vec![Finding::MotionSuspect]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::synth::{Family, bot, human};
    use super::*;
    use crate::challenge::Pointer;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn features_are_finite_for_every_kind_of_drag() {
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let d = rng.random_range(40.0..260.0);
            let f = features(&human(&mut rng, d, Pointer::Mouse)).expect("enough samples");
            assert!(f.iter().all(|v| v.is_finite()), "{f:?}");
            for fam in Family::ALL {
                if let Some(f) = features(&bot(&mut rng, fam, d)) {
                    assert!(f.iter().all(|v| v.is_finite()), "{fam:?}: {f:?}");
                }
            }
        }
        assert!(features(&[[0.0, 0.0, 0.0]; 3]).is_none());
        // Degenerate input (all samples at one instant) gives no panic and no NaN.
        if let Some(f) = features(&[[5.0, 5.0, 100.0]; 10]) {
            assert!(f.iter().all(|v| v.is_finite()));
        }
    }

    /// Over `n` draws each: at most 6% of people flagged, at least 80% of each family caught.
    fn tells_people_from(
        rng: &mut StdRng,
        n: usize,
        families: &[Family],
        mut person_flagged: impl FnMut(&mut StdRng) -> bool,
        mut bot_caught: impl FnMut(&mut StdRng, Family) -> bool,
    ) {
        let flagged = (0..n).filter(|_| person_flagged(rng)).count();
        assert!(flagged * 100 <= n * 6, "{flagged} of {n} people flagged");
        for &fam in families {
            let caught = (0..n).filter(|_| bot_caught(rng, fam)).count();
            assert!(caught * 100 >= n * 80, "{fam:?}: {caught} of {n} caught");
        }
    }

    #[test]
    fn the_shipped_model_loads_and_tells_held_out_people_from_bots() {
        let model = MODEL.as_ref().expect("model.json is valid");
        // Seeds far from the trainer's: people pass, the generator families mostly do not.
        let suspect = |f: &[f64; N_FEATURES]| model.score(f) >= model.threshold;
        tells_people_from(
            &mut StdRng::seed_from_u64(0xC0FFEE),
            400,
            &[
                Family::Linear,
                Family::Eased,
                Family::Bezier,
                Family::MinimumJerk,
            ],
            |rng| {
                let d = rng.random_range(40.0..260.0);
                features(&human(rng, d, Pointer::Mouse)).is_some_and(|f| suspect(&f))
            },
            |rng, fam| {
                let d = rng.random_range(40.0..260.0);
                features(&bot(rng, fam, d)).is_none_or(|f| suspect(&f))
            },
        );
    }

    #[test]
    fn the_shipped_approach_model_tells_people_pointing_from_generators() {
        assert!(APPROACH_MODEL.is_some(), "approach.json is valid");
        // 3% by the threshold, and about 1% whose reach is too short to judge.
        let judged = |a: pointing::Approach| !assess_approach(&a.points, a.click).is_empty();
        tells_people_from(
            &mut StdRng::seed_from_u64(0xBEEF),
            1000,
            &[
                Family::Eased,
                Family::Bezier,
                Family::Physics,
                Family::MinimumJerk,
            ],
            |rng| judged(pointing::person(rng)),
            |rng, fam| judged(pointing::bot(rng, fam)),
        );
        // Too short or too sparse a reach is suspect; no samples is the rules' business.
        let nudge = [[4.0, 9.0, 900.0], [7.0, 10.0, 916.0], [10.0, 12.0, 950.0]];
        assert_eq!(
            assess_approach(&nudge, [10.0, 12.0, 1090.0]),
            vec![Finding::MotionSuspect]
        );
        let sparse = [
            [-300.0, 200.0, 900.0],
            [-150.0, 100.0, 950.0],
            [0.0, 0.0, 1000.0],
        ];
        assert_eq!(
            assess_approach(&sparse, [0.0, 0.0, 1100.0]),
            vec![Finding::MotionSuspect]
        );
        assert!(assess_approach(&[], [0.0, 0.0, 1100.0]).is_empty());
    }
}
