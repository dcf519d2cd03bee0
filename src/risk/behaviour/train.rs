//! Training and evaluating the behaviour model: data sets from [`synth`] (and recorded
//! traces), a small network trained with Adam on cross-entropy, ROC-AUC and the
//! true-positive rate at a fixed false-positive rate, leave-one-generator-out.
//!
//! Deterministic: the same seed gives the same model.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::synth::{Family, bot, human};
use super::{FEATURE_NAMES, Model, N_FEATURES, features, pointing};
use crate::challenge::{Point, Pointer};

/// Which movement a model judges: a drag along a track (slider and picture answers), or a
/// one-click answer's free approach to the box ([`pointing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Drag,
    Approach,
}

impl Task {
    /// The `i`-th synthetic person's features (mostly a mouse; for drags some touch and pen).
    fn person(self, rng: &mut impl Rng, i: usize) -> Option<[f64; N_FEATURES]> {
        match self {
            Task::Drag => {
                let pointer = match i % 10 {
                    0 | 1 => Pointer::Touch,
                    2 => Pointer::Pen,
                    _ => Pointer::Mouse,
                };
                let d = distance(rng);
                features(&on_track(human(rng, d, pointer)))
            }
            Task::Approach => {
                let a = pointing::person(rng);
                features(&pointing::frame(&a.points, a.click)?)
            }
        }
    }

    /// A bot of `family`'s features.
    fn bot(self, rng: &mut impl Rng, family: Family) -> Option<[f64; N_FEATURES]> {
        match self {
            Task::Drag => {
                let d = distance(rng);
                features(&on_track(bot(rng, family, d)))
            }
            Task::Approach => {
                let a = pointing::bot(rng, family);
                features(&pointing::frame(&a.points, a.click)?)
            }
        }
    }
}

/// One labelled example: features, 1.0 for a machine, and which generator made it.
#[derive(Clone)]
pub struct Example {
    pub x: [f64; N_FEATURES],
    pub bot: bool,
    pub family: Option<Family>,
}

/// The track the drags run on (the widget's 300 px).
const TRACK: f64 = 300.0;

/// A drag distance: a slider's full track (40%), or a picture's 40–260 px.
fn distance(rng: &mut impl Rng) -> f64 {
    if rng.random_bool(0.4) {
        TRACK
    } else {
        rng.random_range(40.0..260.0)
    }
}

/// Keeps a drag on the track, as the widget's handle does (an overshoot past the end of a
/// slider never shows).
pub fn on_track(mut points: Vec<Point>) -> Vec<Point> {
    for p in &mut points {
        p[0] = p[0].clamp(0.0, TRACK);
    }
    points
}

/// `n` synthetic people for `task`.
pub fn people(task: Task, rng: &mut impl Rng, n: usize) -> Vec<Example> {
    (0..n)
        .filter_map(|i| {
            task.person(rng, i).map(|x| Example {
                x,
                bot: false,
                family: None,
            })
        })
        .collect()
}

/// `n` movements of each family in `families` for `task`.
pub fn bots(task: Task, rng: &mut impl Rng, families: &[Family], n: usize) -> Vec<Example> {
    let mut out = Vec::new();
    for &f in families {
        for _ in 0..n {
            if let Some(x) = task.bot(rng, f) {
                out.push(Example {
                    x,
                    bot: true,
                    family: Some(f),
                });
            }
        }
    }
    out
}

/// Recorded traces (people), as exported by Stile: one drag per entry, or for
/// [`Task::Approach`] one one-click approach (its samples, then the click).
pub fn recorded(task: Task, traces: &[Vec<Point>]) -> Vec<Example> {
    traces
        .iter()
        .filter_map(|t| match task {
            Task::Drag => features(t),
            Task::Approach => {
                let (click, points) = t.split_last()?;
                features(&pointing::frame(points, *click)?)
            }
        })
        .map(|x| Example {
            x,
            bot: false,
            family: None,
        })
        .collect()
}

/// Training settings.
pub struct Settings {
    pub hidden: usize,
    pub epochs: usize,
    pub rate: f64,
    pub l2: f64,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hidden: 16,
            epochs: 60,
            rate: 0.01,
            l2: 1e-4,
            seed: 7,
        }
    }
}

/// Trains a model on `data` (classes weighted to balance). The threshold is left at 0.5;
/// [`calibrate`] sets it.
pub fn fit(data: &[Example], s: &Settings) -> Model {
    let n = data.len().max(1) as f64;
    let mut mean = vec![0.0; N_FEATURES];
    for e in data {
        for (m, v) in mean.iter_mut().zip(&e.x) {
            *m += v / n;
        }
    }
    let mut scale = vec![0.0; N_FEATURES];
    for e in data {
        for ((sd, v), m) in scale.iter_mut().zip(&e.x).zip(&mean) {
            *sd += (v - m).powi(2) / n;
        }
    }
    for sd in &mut scale {
        *sd = sd.sqrt().max(1e-6);
    }
    let mut rng = StdRng::seed_from_u64(s.seed);
    let h = s.hidden;
    let init = (1.0 / N_FEATURES as f64).sqrt();
    let mut params: Vec<f64> = (0..h * N_FEATURES + h + h + 1)
        .map(|_| rng.random_range(-init..init))
        .collect();
    let (mut m1, mut v1) = (vec![0.0; params.len()], vec![0.0; params.len()]);
    let bots = data.iter().filter(|e| e.bot).count().max(1) as f64;
    let people = (data.len() as f64 - bots).max(1.0);
    let (w_bot, w_person) = (n / (2.0 * bots), n / (2.0 * people));
    let z: Vec<[f64; N_FEATURES]> = data
        .iter()
        .map(|e| std::array::from_fn(|i| ((e.x[i] - mean[i]) / scale[i]).clamp(-8.0, 8.0)))
        .collect();
    let mut order: Vec<usize> = (0..data.len()).collect();
    let batch = 256;
    let mut step = 0i32;
    for _ in 0..s.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(batch) {
            let mut grad = vec![0.0; params.len()];
            for &i in chunk {
                let x = &z[i];
                let (w1, rest) = params.split_at(h * N_FEATURES);
                let (b1, rest) = rest.split_at(h);
                let (w2, b2) = rest.split_at(h);
                let mut a = vec![0.0; h];
                let mut out = b2[0];
                for j in 0..h {
                    let pre: f64 = w1[j * N_FEATURES..(j + 1) * N_FEATURES]
                        .iter()
                        .zip(x)
                        .map(|(w, v)| w * v)
                        .sum::<f64>()
                        + b1[j];
                    a[j] = pre.tanh();
                    out += w2[j] * a[j];
                }
                let p = 1.0 / (1.0 + (-out).exp());
                let y = if data[i].bot { 1.0 } else { 0.0 };
                let weight = if data[i].bot { w_bot } else { w_person };
                let d_out = (p - y) * weight;
                let (g1, grest) = grad.split_at_mut(h * N_FEATURES);
                let (gb1, grest) = grest.split_at_mut(h);
                let (gw2, gb2) = grest.split_at_mut(h);
                gb2[0] += d_out;
                for j in 0..h {
                    gw2[j] += d_out * a[j];
                    let d_pre = d_out * w2[j] * (1.0 - a[j] * a[j]);
                    gb1[j] += d_pre;
                    for (g, v) in g1[j * N_FEATURES..(j + 1) * N_FEATURES].iter_mut().zip(x) {
                        *g += d_pre * v;
                    }
                }
            }
            // Adam.
            step += 1;
            let (b1c, b2c) = (1.0 - 0.9f64.powi(step), 1.0 - 0.999f64.powi(step));
            let k = 1.0 / chunk.len() as f64;
            for (((p, g), m), v) in params.iter_mut().zip(&grad).zip(&mut m1).zip(&mut v1) {
                let g = g * k + s.l2 * *p;
                *m = 0.9 * *m + 0.1 * g;
                *v = 0.999 * *v + 0.001 * g * g;
                *p -= s.rate * (*m / b1c) / ((*v / b2c).sqrt() + 1e-8);
            }
        }
    }
    let (w1, rest) = params.split_at(h * N_FEATURES);
    let (b1, rest) = rest.split_at(h);
    let (w2, b2) = rest.split_at(h);
    Model {
        mean,
        scale,
        w1: w1.chunks(N_FEATURES).map(<[f64]>::to_vec).collect(),
        b1: b1.to_vec(),
        w2: w2.to_vec(),
        b2: b2[0],
        threshold: 0.5,
        card: serde_json::Value::Null,
    }
}

/// The score at which at most `fpr` of `people` are flagged.
pub fn calibrate(model: &Model, people: &[Example], fpr: f64) -> f64 {
    let mut s: Vec<f64> = people.iter().map(|e| model.score(&e.x)).collect();
    s.sort_by(f64::total_cmp);
    let k = ((1.0 - fpr) * s.len() as f64).ceil() as usize;
    s.get(k.min(s.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.5)
        .max(1e-6)
}

/// ROC-AUC of `model` on people (negatives) and bots (positives).
pub fn auc(model: &Model, people: &[Example], bots: &[Example]) -> f64 {
    let mut scored: Vec<(f64, bool)> = people
        .iter()
        .map(|e| (model.score(&e.x), false))
        .chain(bots.iter().map(|e| (model.score(&e.x), true)))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann–Whitney U with mid-ranks for ties.
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < scored.len() {
        let mut j = i + 1;
        while j < scored.len() && scored[j].0 == scored[i].0 {
            j += 1;
        }
        let mid = (i + j + 1) as f64 / 2.0;
        rank_sum += scored[i..j].iter().filter(|s| s.1).count() as f64 * mid;
        i = j;
    }
    let (np, nn) = (bots.len() as f64, people.len() as f64);
    if np == 0.0 || nn == 0.0 {
        return f64::NAN;
    }
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// The share of `bots` at or above `threshold`.
pub fn tpr(model: &Model, bots: &[Example], threshold: f64) -> f64 {
    bots.iter()
        .filter(|e| model.score(&e.x) >= threshold)
        .count() as f64
        / bots.len().max(1) as f64
}

/// One row of the leave-one-generator-out table.
pub struct HeldOut {
    pub family: Family,
    pub auc: f64,
    pub tpr_at_1pct: f64,
    /// The share caught at the shipped threshold's false-positive rate.
    pub tpr_at_threshold: f64,
}

/// Leave-one-generator-out: for each family, train on people and the other families, and
/// score people never trained on against the family never seen.
pub fn leave_one_out(
    task: Task,
    train_people: &[Example],
    test_people: &[Example],
    rng: &mut impl Rng,
    per_family: usize,
    fpr: f64,
    s: &Settings,
) -> Vec<HeldOut> {
    Family::ALL
        .iter()
        .map(|&held| {
            let others: Vec<Family> = Family::ALL.iter().copied().filter(|f| *f != held).collect();
            let mut data = train_people.to_vec();
            data.extend(bots(task, rng, &others, per_family));
            let model = fit(&data, s);
            let unseen = bots(task, rng, &[held], per_family / 2);
            let t1 = calibrate(&model, test_people, 0.01);
            let tt = calibrate(&model, test_people, fpr);
            if std::env::var_os("STILE_TRAIN_DEBUG").is_some() {
                let mut b: Vec<f64> = unseen.iter().map(|e| model.score(&e.x)).collect();
                b.sort_by(f64::total_cmp);
                eprintln!(
                    "{held:?}: t1 {t1} tt {tt} bots min {:?} median {:?}",
                    b.first(),
                    b.get(b.len() / 2)
                );
            }
            HeldOut {
                family: held,
                auc: auc(&model, test_people, &unseen),
                tpr_at_1pct: tpr(&model, &unseen, t1),
                tpr_at_threshold: tpr(&model, &unseen, tt),
            }
        })
        .collect()
}

/// Traces from `text`, one per line: a bare JSON array of `[x, y, t]` points, or a trace as
/// exported by `GET /admin/v1/scenes/{id}/traces` — of those only the task's kind (one-click
/// approaches for [`Task::Approach`], drags otherwise) and, with `passed_only`, only passes.
/// Blank lines are skipped; a line that is not JSON is an error naming it.
pub fn parse_traces(text: &str, task: Task, passed_only: bool) -> anyhow::Result<Vec<Vec<Point>>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?;
        let is = |o: &serde_json::Map<String, serde_json::Value>, k: &str, v: &str| {
            o.get(k).and_then(|x| x.as_str()) == Some(v)
        };
        let points = match v {
            serde_json::Value::Array(_) => Some(v),
            serde_json::Value::Object(mut o)
                if (!passed_only || is(&o, "outcome", "T001"))
                    && is(&o, "type", "one-click") == (task == Task::Approach) =>
            {
                o.remove("points")
            }
            _ => None,
        };
        if let Some(p) = points {
            out.push(
                serde_json::from_value(p).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?,
            );
        }
    }
    Ok(out)
}

/// How a model sees a set of traces beside held-out synthetic people ([`explain`]).
#[derive(Debug)]
pub struct Explanation {
    /// Traces with enough samples to judge, and those without.
    pub judged: usize,
    pub too_short: usize,
    /// Shares flagged at the model's threshold: of the traces, of synthetic people.
    pub flagged: f64,
    pub people_flagged: f64,
    /// The traces' scores: lowest, 5th percentile, median.
    pub lowest: f64,
    pub p5: f64,
    pub median: f64,
    /// Per feature, the furthest from people first.
    pub rows: Vec<FeatureRow>,
}

/// Where the traces' median of one feature sits against synthetic people's.
#[derive(Debug)]
pub struct FeatureRow {
    pub name: &'static str,
    pub people_median: f64,
    pub theirs: f64,
    /// The difference of the medians in units of people's interquartile range.
    pub iqrs: f64,
}

/// How `model` sees `traces` for `task` beside 4,000 synthetic people (a fixed draw);
/// `None` when no trace has enough samples to judge.
pub fn explain(model: &Model, task: Task, traces: &[Vec<Point>]) -> Option<Explanation> {
    let theirs = recorded(task, traces);
    if theirs.is_empty() {
        return None;
    }
    let people = people(task, &mut StdRng::seed_from_u64(1), 4_000);
    let flagged = |set: &[Example]| {
        set.iter()
            .filter(|e| model.score(&e.x) >= model.threshold)
            .count() as f64
            / set.len() as f64
    };
    let mut scores: Vec<f64> = theirs.iter().map(|e| model.score(&e.x)).collect();
    scores.sort_by(f64::total_cmp);
    let at = |q: f64| scores[((scores.len() - 1) as f64 * q) as usize];
    let quartiles = |set: &[Example], k: usize| {
        let mut v: Vec<f64> = set.iter().map(|e| e.x[k]).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 4], v[v.len() / 2], v[v.len() * 3 / 4])
    };
    let mut rows: Vec<FeatureRow> = (0..N_FEATURES)
        .map(|k| {
            let (q1, people_median, q3) = quartiles(&people, k);
            let theirs = quartiles(&theirs, k).1;
            FeatureRow {
                name: FEATURE_NAMES[k],
                people_median,
                theirs,
                iqrs: (theirs - people_median) / (q3 - q1).max(1e-9),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.iqrs.abs().total_cmp(&a.iqrs.abs()));
    Some(Explanation {
        judged: theirs.len(),
        too_short: traces.len() - theirs.len(),
        flagged: flagged(&theirs),
        people_flagged: flagged(&people),
        lowest: at(0.0),
        p5: at(0.05),
        median: at(0.5),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_rates_on_a_known_ranking() {
        let mut rng = StdRng::seed_from_u64(1);
        let people = people(Task::Drag, &mut rng, 300);
        let linear = bots(Task::Drag, &mut rng, &[Family::Linear], 100);
        for e in &linear {
            assert!(e.x.iter().all(|v| v.is_finite()), "{:?}", e.x);
        }
        let mut data = people.clone();
        data.extend(bots(Task::Drag, &mut rng, &[Family::Eased], 100));
        let model = fit(
            &data,
            &Settings {
                epochs: 5,
                ..Settings::default()
            },
        );
        for e in &linear {
            let s = model.score(&e.x);
            assert!(s.is_finite(), "score {s} for {:?}", e.x);
        }
    }

    #[test]
    fn traces_are_read_from_an_export_or_bare_arrays_by_task_and_outcome() {
        let drag = "[[0,20,900],[10,20,950],[30,21,1000]]";
        let text = format!(
            "{{\"type\":\"slider\",\"outcome\":\"T001\",\"points\":{drag}}}\n\
             {{\"type\":\"jigsaw\",\"outcome\":\"F001\",\"points\":{drag}}}\n\
             \n\
             {{\"type\":\"one-click\",\"outcome\":\"T001\",\"points\":{drag}}}\n\
             {drag}\n"
        );
        let count = |task, passed| parse_traces(&text, task, passed).unwrap().len();
        // Drags: the passed slider and the bare array; with refusals, the jigsaw too.
        assert_eq!(count(Task::Drag, true), 2);
        assert_eq!(count(Task::Drag, false), 3);
        // Approaches: the one-click pass and the bare array.
        assert_eq!(count(Task::Approach, true), 2);
        let first = &parse_traces(&text, Task::Drag, true).unwrap()[0];
        assert_eq!(first[2], [30.0, 21.0, 1000.0]);
        let bad = parse_traces("[[0,1,2]]\nnot json\n", Task::Drag, false).unwrap_err();
        assert!(bad.to_string().starts_with("line 2:"), "{bad}");
        assert!(parse_traces("[[0,1]]", Task::Drag, false).is_err());
    }

    #[test]
    fn explain_tells_generated_drags_from_people_feature_by_feature() {
        let model = crate::risk::behaviour::MODEL
            .as_ref()
            .expect("shipped model");
        let mut rng = StdRng::seed_from_u64(3);
        let drags = |rng: &mut StdRng, bot: bool| -> Vec<Vec<Point>> {
            (0..300)
                .map(|_| {
                    let d = distance(rng);
                    on_track(if bot {
                        super::bot(rng, Family::Bezier, d)
                    } else {
                        human(rng, d, Pointer::Mouse)
                    })
                })
                .collect()
        };
        let mut bots = drags(&mut rng, true);
        bots.push(vec![[0.0, 20.0, 900.0]]); // too short to judge
        let e = explain(model, Task::Drag, &bots).unwrap();
        assert_eq!((e.judged, e.too_short), (300, 1));
        assert!(e.flagged > 0.9, "{e:?}");
        assert!((0.01..0.06).contains(&e.people_flagged), "{e:?}");
        assert!(e.lowest <= e.p5 && e.p5 <= e.median && e.median > model.threshold);
        assert_eq!(e.rows.len(), N_FEATURES);
        assert!(
            e.rows
                .windows(2)
                .all(|w| w[0].iqrs.abs() >= w[1].iqrs.abs())
        );
        assert!(e.rows[0].iqrs.abs() > 1.0, "{:?}", e.rows[0]);
        // People of another draw sit among the synthetic ones.
        let e = explain(model, Task::Drag, &drags(&mut rng, false)).unwrap();
        assert!(e.flagged < 0.08, "{e:?}");
        assert!(e.rows.iter().all(|r| r.iqrs.abs() < 0.5), "{:?}", e.rows);
        assert!(explain(model, Task::Drag, &[vec![[0.0, 20.0, 900.0]]]).is_none());
    }
}
