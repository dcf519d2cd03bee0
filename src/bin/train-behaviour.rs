//! `cargo run --release --bin train-behaviour [-- --task drag|approach] [--traces FILE.jsonl] [--out PATH]`
//!
//! `--task approach` trains the one-click approach model instead of the drag model (default
//! output `src/risk/behaviour/approach.json`); its `--traces` are a one-click scene's
//! export, whose points are the approach's samples with the click last.
//!
//! Trains the behaviour model from synthetic people and bot families (and, with `--traces`,
//! recorded drags of people: the NDJSON export of a scene in recording mode, whose passed
//! drags are used, or one bare JSON array of `[x, y, t]` points per line), evaluates it
//! leave-one-generator-out, prints the model card's tables, and writes the model
//! (default `src/risk/behaviour/model.json`, which the binary compiles in).
//!
//! `--explain FILE [--model PATH]` trains nothing: it shows how the shipped model (or the
//! model file at PATH, a candidate) sees the traces in FILE
//! (all of them, whatever their outcome: a suspected campaign's export, say) beside
//! held-out synthetic people — the share flagged, and each feature's median in units of
//! the people's spread — so that an operator can see which features set them apart.

use rand::SeedableRng;
use rand::rngs::StdRng;
use stile::challenge::Point;
use stile::risk::behaviour::synth::Family;
use stile::risk::behaviour::train::{self, Settings, Task};
use stile::risk::behaviour::{FEATURE_NAMES, Model, N_FEATURES};

/// The false-positive rate on held-out people the shipped threshold is set to.
const SHIPPED_FPR: f64 = 0.03;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let task = match value("--task").as_deref() {
        None | Some("drag") => Task::Drag,
        Some("approach") => Task::Approach,
        Some(other) => anyhow::bail!("--task is drag or approach, not {other}"),
    };
    let out = value("--out").unwrap_or_else(|| {
        match task {
            Task::Drag => "src/risk/behaviour/model.json",
            Task::Approach => "src/risk/behaviour/approach.json",
        }
        .into()
    });
    if let Some(path) = value("--explain") {
        let candidate = match value("--model") {
            Some(file) => Some(serde_json::from_str(&std::fs::read_to_string(file)?)?),
            None => None,
        };
        return explain(task, candidate, &read_traces(&path, task, false)?);
    }
    let recorded = match value("--traces") {
        Some(path) => read_traces(&path, task, true)?,
        None => Vec::new(),
    };
    let (n_people, n_bots) = (12_000, 2_000);
    let mut rng = StdRng::seed_from_u64(20_261_202);
    let train_people = train::people(task, &mut rng, n_people);
    let test_people = train::people(task, &mut rng, n_people / 3);
    let mut people = train_people.clone();
    people.extend(train::recorded(task, &recorded));
    let settings = Settings::default();
    println!(
        "training on {} synthetic people, {} recorded drags, {} bots of each of {} families",
        train_people.len(),
        recorded.len(),
        n_bots,
        Family::ALL.len()
    );
    let logo = train::leave_one_out(
        task,
        &people,
        &test_people,
        &mut rng,
        n_bots,
        SHIPPED_FPR,
        &settings,
    );
    println!("\nLeave one generator out (trained without the family, scored on it):\n");
    println!(
        "| held-out family | ROC-AUC | TPR at 1% FPR | TPR at {:.0}% FPR |",
        SHIPPED_FPR * 100.0
    );
    println!("|---|---:|---:|---:|");
    for r in &logo {
        println!(
            "| {} | {:.3} | {:.1}% | {:.1}% |",
            r.family.name(),
            r.auc,
            r.tpr_at_1pct * 100.0,
            r.tpr_at_threshold * 100.0
        );
    }
    // The shipped model: every family.
    let mut data = people.clone();
    data.extend(train::bots(task, &mut rng, &Family::ALL, n_bots));
    let mut model = train::fit(&data, &settings);
    model.threshold = train::calibrate(&model, &test_people, SHIPPED_FPR);
    println!("\nShipped model (all families), on held-out people and fresh bots:\n");
    println!("| family | ROC-AUC | TPR at 1% FPR | caught at the threshold |");
    println!("|---|---:|---:|---:|");
    let t1 = train::calibrate(&model, &test_people, 0.01);
    let mut rows = Vec::new();
    for f in Family::ALL {
        let fresh = train::bots(task, &mut rng, &[f], n_bots / 2);
        let row = (
            f.name(),
            train::auc(&model, &test_people, &fresh),
            train::tpr(&model, &fresh, t1),
            train::tpr(&model, &fresh, model.threshold),
        );
        println!(
            "| {} | {:.3} | {:.1}% | {:.1}% |",
            row.0,
            row.1,
            row.2 * 100.0,
            row.3 * 100.0
        );
        rows.push(row);
    }
    let people_flagged = test_people
        .iter()
        .filter(|e| model.score(&e.x) >= model.threshold)
        .count() as f64
        / test_people.len() as f64;
    println!(
        "\nthreshold {:.4}: {:.1}% of held-out people flagged",
        model.threshold,
        people_flagged * 100.0
    );
    // Inference time.
    let t = std::time::Instant::now();
    let mut acc = 0.0;
    for e in test_people.iter().cycle().take(200_000) {
        acc += model.score(&e.x);
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / 200_000.0;
    println!("inference: {per:.2} µs per drag (features excluded; checksum {acc:.1})");
    model.card = serde_json::json!({
        "task": format!("{task:?}").to_lowercase(),
        "features": FEATURE_NAMES,
        "n_features": N_FEATURES,
        "hidden_units": settings.hidden,
        "trained_on": {
            "synthetic_people": train_people.len(),
            "recorded_people": recorded.len(),
            "bots_per_family": n_bots,
            "families": Family::ALL.iter().map(|f| f.name()).collect::<Vec<_>>(),
        },
        "threshold_fpr_on_held_out_people": SHIPPED_FPR,
        "leave_one_generator_out": logo.iter().map(|r| serde_json::json!({
            "family": r.family.name(), "auc": r.auc, "tpr_at_1pct_fpr": r.tpr_at_1pct,
            "tpr_at_threshold": r.tpr_at_threshold,
        })).collect::<Vec<_>>(),
        "shipped": rows.iter().map(|r| serde_json::json!({
            "family": r.0, "auc": r.1, "tpr_at_1pct_fpr": r.2, "tpr_at_threshold": r.3,
        })).collect::<Vec<_>>(),
    });
    std::fs::write(&out, serde_json::to_string_pretty(&model)? + "\n")?;
    println!("wrote {out}");
    Ok(())
}

/// The traces in the file at `path` for `task` ([`train::parse_traces`]).
fn read_traces(path: &str, task: Task, passed_only: bool) -> anyhow::Result<Vec<Vec<Point>>> {
    train::parse_traces(&std::fs::read_to_string(path)?, task, passed_only)
}

/// Prints how the shipped model (or a `candidate`) sees `traces` beside held-out
/// synthetic people.
fn explain(task: Task, candidate: Option<Model>, traces: &[Vec<Point>]) -> anyhow::Result<()> {
    let model = match (&candidate, task) {
        (Some(m), _) => Some(m),
        (None, Task::Drag) => stile::risk::behaviour::MODEL.as_ref(),
        (None, Task::Approach) => stile::risk::behaviour::APPROACH_MODEL.as_ref(),
    }
    .filter(|m| m.is_consistent())
    .ok_or_else(|| anyhow::anyhow!("the model does not load"))?;
    let e = train::explain(model, task, traces)
        .ok_or_else(|| anyhow::anyhow!("no trace in the file has enough samples to judge"))?;
    println!(
        "{} traces judged ({} too short); flagged: {:.1}% of them, {:.1}% of synthetic people\n",
        e.judged,
        e.too_short,
        e.flagged * 100.0,
        e.people_flagged * 100.0
    );
    println!(
        "their scores (threshold {:.3}): lowest {:.3}, 5th percentile {:.3}, median {:.3}\n",
        model.threshold, e.lowest, e.p5, e.median
    );
    println!("| feature | people's median | theirs | theirs in people's IQRs |");
    println!("|---|---:|---:|---:|");
    for r in &e.rows {
        println!(
            "| {} | {:.3} | {:.3} | {:+.2} |",
            r.name, r.people_median, r.theirs, r.iqrs
        );
    }
    Ok(())
}
