//! Criterion micro-benchmarks for the three pieces of CPU work every cycle pays for:
//! drawing a picture challenge, scoring an answer (the behaviour models and the score),
//! and sealing / opening the pass token. `cargo bench --bench micro`; the HTTP suite is
//! `cargo run --release --bin stile-bench` (docs/BENCHMARKS.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use stile::challenge::Pointer;
use stile::model::VerificationType;
use stile::risk::score::Assessment;
use stile::token::{Keyring, PassClaims};

fn image_generation(c: &mut Criterion) {
    let mut g = c.benchmark_group("image generation");
    g.sample_size(30);
    for kind in [VerificationType::Jigsaw, VerificationType::ImageRestoration] {
        let mut seed = 0u64;
        g.bench_function(kind.as_str(), |b| {
            b.iter(|| {
                seed += 1;
                black_box(stile::challenge::generate(kind, seed, None).expect("generates"))
            })
        });
    }
    g.finish();
}

fn risk_scoring(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let drag = stile::risk::behaviour::synth::human(&mut rng, 300.0, Pointer::Mouse);
    let approach = stile::risk::behaviour::pointing::person(&mut rng);
    let mut g = c.benchmark_group("risk scoring");
    g.bench_function("drag (behaviour model)", |b| {
        b.iter(|| black_box(stile::risk::behaviour::assess(black_box(&drag))))
    });
    g.bench_function("one-click approach (approach model)", |b| {
        b.iter(|| {
            black_box(stile::risk::behaviour::assess_approach(
                black_box(&approach.points),
                approach.click,
            ))
        })
    });
    let findings = stile::risk::behaviour::assess(&drag);
    g.bench_function("assessment of findings", |b| {
        b.iter(|| black_box(Assessment::of(black_box(&findings))))
    });
    g.finish();
}

fn token_sealing(c: &mut Criterion) {
    let ring = Keyring::generate();
    let claims = PassClaims {
        tenant_id: "tn-bench".into(),
        scene_id: "sc-bench".into(),
        certify_id: stile::ids::certify_id(),
        passed_at_ms: 1_800_000_000_000,
        kind: VerificationType::Slider,
        test_preset: None,
        allow_listed: false,
        risk: Some(Assessment::default()),
    };
    let sealed = ring.seal(&claims);
    let mut g = c.benchmark_group("pass token");
    g.bench_function("seal", |b| {
        b.iter(|| black_box(ring.seal(black_box(&claims))))
    });
    g.bench_function("open", |b| {
        b.iter(|| black_box(ring.open(black_box(&sealed)).expect("opens")))
    });
    g.finish();
}

criterion_group!(micro, image_generation, risk_scoring, token_sealing);
criterion_main!(micro);
