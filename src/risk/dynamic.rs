//! Dynamic verification: a signing program chosen by the server for each cycle.
//!
//! At init the cycle gets a random [`Program`]: two seeds and a dozen operations (add, xor,
//! rotate, multiply, shift-mix, each with its own constant) drawn afresh. The widget runs it
//! over the answer's [`canonical`] numbers — the cycle's id and nonce, the attempt, the
//! kind, the pointer, the geometry and every sample, in tenths — and sends the result as
//! the answer's `sig`; the server runs the same program and compares. A request captured
//! from one cycle is signed for that cycle alone, and a client that wants to answer has to
//! run the program it was handed, which changes every time.
//!
//! The program travels in the init response as a flat array of numbers: `[seed_a, seed_b,
//! op, k, op, k, …]`. This is not secrecy — the widget's code is public — but a cost: a
//! solver cannot replay or hand-assemble requests, and has to keep executing what the
//! server sends.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::challenge::{Answer, Point, Pointer};

/// Operations per program.
const OPS: usize = 12;
/// Kinds of operation.
const KINDS: u32 = 5;

/// One cycle's signing program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub seeds: [u32; 2],
    /// (operation, constant) pairs.
    pub ops: Vec<(u8, u32)>,
}

impl Program {
    /// A fresh random program.
    pub fn random(rng: &mut impl Rng) -> Program {
        Program {
            seeds: [rng.random(), rng.random()],
            ops: (0..OPS)
                .map(|_| (rng.random_range(0..KINDS) as u8, rng.random()))
                .collect(),
        }
    }

    /// The program as the widget receives it.
    pub fn to_wire(&self) -> Vec<u32> {
        let mut out = vec![self.seeds[0], self.seeds[1]];
        for (op, k) in &self.ops {
            out.push(u32::from(*op));
            out.push(*k);
        }
        out
    }

    /// A program from its wire form (what a client, or a test acting as one, reads).
    pub fn from_wire(wire: &[u32]) -> Option<Program> {
        if wire.len() < 2 || !wire.len().is_multiple_of(2) {
            return None;
        }
        Some(Program {
            seeds: [wire[0], wire[1]],
            ops: wire[2..].chunks(2).map(|c| (c[0] as u8, c[1])).collect(),
        })
    }

    fn step(&self, mut s: u32, word: u32) -> u32 {
        s ^= word;
        for &(op, k) in &self.ops {
            s = match op {
                0 => s.wrapping_add(k),
                1 => s ^ k,
                2 => s.rotate_left(1 + k % 31),
                3 => s.wrapping_mul(k | 1),
                _ => s ^ (s >> (1 + k % 16)),
            };
        }
        s
    }

    /// The signature of `words`: both lanes, 16 hex digits.
    pub fn sign_words(&self, words: &[u32]) -> String {
        let mut lanes = self.seeds;
        for (i, lane) in lanes.iter_mut().enumerate() {
            // The second lane reads the words in a different light, so the two differ.
            let tweak = if i == 0 { 0 } else { 0x9e37_79b9 };
            for &w in words {
                *lane = self.step(*lane, w ^ tweak);
            }
            for _ in 0..4 {
                *lane = self.step(*lane, tweak);
            }
        }
        format!("{:08x}{:08x}", lanes[0], lanes[1])
    }

    /// The signature of an answer to `certify_id`/`nonce`, attempt `attempt`.
    pub fn sign(&self, certify_id: &str, nonce: &str, attempt: u32, answer: &Answer) -> String {
        self.sign_words(&canonical(certify_id, nonce, attempt, answer))
    }
}

/// A number in tenths, as a 32-bit word (clamped: the widget never sends more).
fn tenths(v: f64) -> u32 {
    let q = (v * 10.0 + 0.5).floor();
    q.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32 as u32
}

fn pointer_code(p: Pointer) -> u32 {
    match p {
        Pointer::Mouse => 1,
        Pointer::Touch => 2,
        Pointer::Pen => 3,
        Pointer::Keyboard => 4,
    }
}

fn push_points(out: &mut Vec<u32>, points: &[Point]) {
    out.push(points.len() as u32);
    for p in points {
        out.extend(p.iter().map(|v| tenths(*v)));
    }
}

/// What is signed: the cycle's id and nonce (bytes), the attempt, then per kind its
/// numbers — tag, pointer, track width, release position, click, samples — in tenths.
pub fn canonical(certify_id: &str, nonce: &str, attempt: u32, answer: &Answer) -> Vec<u32> {
    let mut out: Vec<u32> = certify_id
        .bytes()
        .chain(std::iter::once(b'.'))
        .chain(nonce.bytes())
        .map(u32::from)
        .collect();
    out.push(attempt);
    match answer {
        Answer::Slider(a) => {
            out.extend([1, pointer_code(a.pointer), tenths(a.track_width)]);
            push_points(&mut out, &a.points);
        }
        Answer::OneClick(a) => {
            out.extend([2, pointer_code(a.pointer)]);
            out.extend(a.click.iter().map(|v| tenths(*v)));
            push_points(&mut out, &a.points);
        }
        Answer::Jigsaw(a) | Answer::ImageRestoration(a) => {
            let tag = if matches!(answer, Answer::Jigsaw(_)) {
                3
            } else {
                4
            };
            out.extend([
                tag,
                pointer_code(a.pointer),
                tenths(a.track_width),
                tenths(a.x),
            ]);
            push_points(&mut out, &a.points);
        }
        Answer::Silent { .. } => out.push(5),
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn slider(points: Vec<Point>) -> Answer {
        serde_json::from_value(serde_json::json!({"kind": "slider", "trackWidth": 300,
            "pointer": "mouse", "points": points}))
        .unwrap()
    }

    #[test]
    fn a_signature_binds_the_cycle_the_attempt_and_every_number() {
        let p = Program::random(&mut StdRng::seed_from_u64(1));
        let pts = vec![
            [0.0, 20.0, 500.0],
            [120.5, 21.3, 700.0],
            [300.0, 22.0, 900.0],
        ];
        let a = slider(pts.clone());
        let sig = p.sign("cert", "nonce", 1, &a);
        assert_eq!(sig.len(), 16);
        assert_eq!(sig, p.sign("cert", "nonce", 1, &a), "deterministic");
        let mut moved = pts.clone();
        moved[1][1] = 21.4;
        for other in [
            p.sign("cerT", "nonce", 1, &a),
            p.sign("cert", "noncf", 1, &a),
            p.sign("cert", "nonce", 2, &a),
            p.sign("cert", "nonce", 1, &slider(moved)),
            p.sign("cert", "nonce", 1, &slider(pts[..2].to_vec())),
            Program::random(&mut StdRng::seed_from_u64(2)).sign("cert", "nonce", 1, &a),
        ] {
            assert_ne!(other, sig);
        }
    }

    #[test]
    fn the_wire_form_is_seeds_then_pairs() {
        let p = Program::random(&mut StdRng::seed_from_u64(3));
        let w = p.to_wire();
        assert_eq!(w.len(), 2 + 2 * OPS);
        assert_eq!(&w[..2], &p.seeds);
        assert!(w[2..].chunks(2).all(|c| c[0] < KINDS));
        assert_eq!(Program::from_wire(&w), Some(p));
        assert_eq!(Program::from_wire(&w[..3]), None);
    }

    #[test]
    fn tenths_round_as_the_widget_does_and_clamp() {
        assert_eq!(tenths(12.34), 123);
        assert_eq!(tenths(0.05), 1);
        assert_eq!(tenths(-0.05) as i32, 0);
        assert_eq!(tenths(-1.26) as i32, -13);
        assert_eq!(tenths(1e308) as i32, i32::MAX);
        assert_eq!(tenths(-1e308) as i32, i32::MIN);
    }

    /// A fixed program over fixed words: the widget's `dvSign` gives the same (checked in
    /// node when this was written; the browser suite checks live answers).
    #[test]
    fn a_fixed_vector() {
        let p = Program {
            seeds: [1, 2],
            ops: (0..5).map(|i| (i as u8, 0x1234_5678 + i)).collect(),
        };
        assert_eq!(p.sign_words(&[0, 1, 0xffff_ffff, 42]), FIXED_VECTOR);
    }

    pub(crate) const FIXED_VECTOR: &str = "0af55833a746e96a";

    /// A whole answer, signed by the widget's code in node (and by the SDK check's Python):
    /// the canonical numbers agree, negative heights and all.
    #[test]
    fn a_fixed_answer_signs_as_the_widget_signs_it() {
        let wire = [
            3_000_000_000,
            7,
            0,
            4_000_000_000,
            1,
            5,
            2,
            77,
            3,
            2_222_222_222,
            4,
            99,
            2,
            31,
        ];
        let p = Program::from_wire(&wire).unwrap();
        let a = slider(vec![
            [0.0, 20.0, 500.0],
            [120.5, 21.3, 700.0],
            [300.0, -1.26, 900.0],
        ]);
        assert_eq!(p.sign("cert", "nonce", 1, &a), "c17c09fca81eb352");
    }
}
