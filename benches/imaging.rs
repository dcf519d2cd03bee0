//! Challenge-generation benchmark: N jigsaws and N restorations on one thread, each timed
//! from seed to encoded bytes. Prints median and p99 µs per challenge, challenges per second
//! per core, and mean/max bytes per challenge (image + movable piece).
//!
//! These machines are noisy, so every challenge is followed by a fixed reference job timed
//! the same way: a general-purpose JPEG encoder (the `jpeg-encoder` crate) encoding one
//! fixed 300×200 picture. The last column is the challenge's median over the reference's
//! median in the same run, which moves far less between runs than the absolute figures.
//!
//! `cargo bench --bench imaging` (optionally `-- 5000` for N).

use std::hint::black_box;
use std::time::Instant;

use stile::imaging;

struct Run {
    micros: Vec<f64>,
    bytes: Vec<usize>,
    reference: Vec<f64>,
}

fn micros_of(f: impl FnOnce() -> usize) -> (f64, usize) {
    let t = Instant::now();
    let b = black_box(f());
    (t.elapsed().as_secs_f64() * 1e6, b)
}

fn measure(n: u64, reference: &impl Fn() -> usize, mut f: impl FnMut(u64) -> usize) -> Run {
    // Warm-up: caches, allocator, CPU clock.
    for seed in 0..n.min(200) {
        black_box(f(u64::MAX - seed));
        black_box(reference());
    }
    let mut run = Run {
        micros: Vec::with_capacity(n as usize),
        bytes: Vec::with_capacity(n as usize),
        reference: Vec::with_capacity(n as usize),
    };
    for seed in 0..n {
        let (us, b) = micros_of(|| f(seed));
        run.micros.push(us);
        run.bytes.push(b);
        run.reference.push(micros_of(reference).0);
    }
    run
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn report(name: &str, mut r: Run) {
    let n = r.micros.len();
    let median_us = median(&mut r.micros);
    let p99 = r.micros[(n * 99 / 100).min(n - 1)];
    let mean_us = r.micros.iter().sum::<f64>() / n as f64;
    let mean_b = r.bytes.iter().sum::<usize>() as f64 / n as f64;
    let max_b = r.bytes.iter().copied().max().unwrap_or(0);
    let reference = median(&mut r.reference);
    println!(
        "| {name:<11} | {n:>5} | {median_us:>9.0} | {p99:>7.0} | {:>10.0} | {:>8.1} | {:>7.1} | {reference:>6.0} | {:>5.2} |",
        1e6 / mean_us,
        mean_b / 1024.0,
        max_b as f64 / 1024.0,
        median_us / reference,
    );
}

/// The reference job: one fixed 300×200 picture (a smooth gradient with texture, so that
/// its blocks are neither empty nor noise) encoded at quality 72, 4:2:0.
fn reference_job() -> impl Fn() -> usize {
    let rgb: Vec<u8> = (0..200u32)
        .flat_map(|y| {
            (0..300u32).flat_map(move |x| {
                let t = ((x * 7 + y * 13) % 23) as u8;
                [
                    (x * 255 / 300) as u8 ^ t,
                    (y * 255 / 200) as u8,
                    128u8.wrapping_add(t * 3),
                ]
            })
        })
        .collect();
    move || {
        let mut out = Vec::with_capacity(32 * 1024);
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 72);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        enc.encode(&rgb, 300, 200, jpeg_encoder::ColorType::Rgb)
            .expect("encodes");
        out.len()
    }
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let reference = reference_job();
    println!(
        "| challenge   |     N | median µs |  p99 µs | per s/core | mean KiB | max KiB | ref µs | ratio |"
    );
    println!(
        "|-------------|------:|----------:|--------:|-----------:|---------:|--------:|-------:|------:|"
    );
    report(
        "jigsaw",
        measure(n, &reference, |s| {
            let j = imaging::jigsaw(s, None);
            j.background.len() + j.piece.len()
        }),
    );
    report(
        "restoration",
        measure(n, &reference, |s| {
            let r = imaging::restoration(s);
            r.scene.len() + r.object.len()
        }),
    );
}
