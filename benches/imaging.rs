//! Challenge-generation benchmark: N jigsaws and N restorations on one thread, each timed
//! from seed to encoded bytes. Prints median and p99 µs per challenge, challenges per second
//! per core, and mean/max bytes per challenge (image + movable piece).
//!
//! `cargo bench --bench imaging` (optionally `-- 5000` for N).

use std::hint::black_box;
use std::time::Instant;

use stile::imaging;

struct Run {
    micros: Vec<f64>,
    bytes: Vec<usize>,
}

fn measure(n: u64, mut f: impl FnMut(u64) -> usize) -> Run {
    // Warm-up: caches, allocator, CPU clock.
    for seed in 0..n.min(200) {
        black_box(f(u64::MAX - seed));
    }
    let mut micros = Vec::with_capacity(n as usize);
    let mut bytes = Vec::with_capacity(n as usize);
    for seed in 0..n {
        let t = Instant::now();
        let b = black_box(f(seed));
        micros.push(t.elapsed().as_secs_f64() * 1e6);
        bytes.push(b);
    }
    Run { micros, bytes }
}

fn report(name: &str, mut r: Run) {
    r.micros.sort_by(f64::total_cmp);
    let n = r.micros.len();
    let median = r.micros[n / 2];
    let p99 = r.micros[(n * 99 / 100).min(n - 1)];
    let mean_us = r.micros.iter().sum::<f64>() / n as f64;
    let mean_b = r.bytes.iter().sum::<usize>() as f64 / n as f64;
    let max_b = r.bytes.iter().copied().max().unwrap_or(0);
    println!(
        "| {name:<11} | {n:>5} | {median:>9.0} | {p99:>7.0} | {:>10.0} | {:>8.1} | {:>7.1} |",
        1e6 / mean_us,
        mean_b / 1024.0,
        max_b as f64 / 1024.0,
    );
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    println!("| challenge   |     N | median µs |  p99 µs | per s/core | mean KiB | max KiB |");
    println!("|-------------|------:|----------:|--------:|-----------:|---------:|--------:|");
    report(
        "jigsaw",
        measure(n, |s| {
            let j = imaging::jigsaw(s, None);
            j.background.len() + j.piece.len()
        }),
    );
    report(
        "restoration",
        measure(n, |s| {
            let r = imaging::restoration(s);
            r.scene.len() + r.object.len()
        }),
    );
}
