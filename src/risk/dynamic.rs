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
//! op, k, op, k, …]`, encoded with the hour's [`Codebook`]: each kind of operation is sent
//! as a byte of that hour's choosing, and the seeds and constants are masked. The served
//! widget carries the current codebook (written into the script as it is served); it tells
//! init which one it holds (`dvEpoch`), and the server encodes with that one if it is one
//! of the last [`EPOCHS_ACCEPTED`], with the current one otherwise. So the protocol's
//! details rotate: a solver that read the script once and hard-coded its encoding fails
//! within a day and must keep fetching and reading the script.
//!
//! None of this is secrecy — the widget's code is public — but a cost: a solver cannot
//! replay or hand-assemble requests, and has to keep executing what the server sends.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::challenge::{Answer, Point, Pointer};

/// Operations per program.
const OPS: usize = 12;
/// Kinds of operation.
const KINDS: u32 = 5;

/// How long one codebook is current.
pub const EPOCH_MS: i64 = 3_600_000;
/// How many codebooks a widget may still hold: the current one and the 23 before it (a
/// page left open a day keeps working; one older answers with a wrong signature, F017, and
/// a reload fixes it).
pub const EPOCHS_ACCEPTED: i64 = 24;

/// The epoch current at `now_ms`.
pub fn epoch_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(EPOCH_MS)
}

/// One epoch's encoding of programs on the wire: the byte each kind of operation is sent
/// as, and the mask over seeds and constants. Derived from the installation's secret and
/// the epoch, so every node of a cluster agrees and nobody without the script can know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codebook {
    pub epoch: i64,
    pub codes: [u8; KINDS as usize],
    pub mask: u32,
}

impl Codebook {
    /// The codebook of `epoch` under `secret`.
    pub fn derive(secret: &[u8; 32], epoch: i64) -> Codebook {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(secret)
            .chain_update(b"stile-dv-codebook")
            .chain_update(epoch.to_le_bytes())
            .finalize();
        let mut codes = [0u8; KINDS as usize];
        let mut n = 0;
        for &b in &digest[4..] {
            if n < codes.len() && !codes[..n].contains(&b) {
                codes[n] = b;
                n += 1;
            }
        }
        // 28 bytes hold 5 distinct ones but for a vanishing chance; fill up if not.
        let mut next = 0u8;
        while n < codes.len() {
            if !codes[..n].contains(&next) {
                codes[n] = next;
                n += 1;
            }
            next = next.wrapping_add(1);
        }
        Codebook {
            epoch,
            codes,
            mask: u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]),
        }
    }

    /// The codebook as the served widget holds it (a JavaScript object literal).
    pub fn to_js(&self) -> String {
        let codes: Vec<String> = self.codes.iter().map(u8::to_string).collect();
        format!(
            "{{dvEpoch:{},dvCodes:[{}],dvMask:{}}}",
            self.epoch,
            codes.join(","),
            self.mask
        )
    }

    /// A codebook read back from [`Codebook::to_js`]'s form, as a client that reads the
    /// served script would (the tests do).
    pub fn from_js(text: &str) -> Option<Codebook> {
        let field = |name: &str| {
            let start = text.find(name)? + name.len();
            let rest = &text[start..];
            let end = rest.find([',', '}'])?;
            Some(rest[..end].to_owned())
        };
        let epoch = field("dvEpoch:")?.parse().ok()?;
        let mask = field("dvMask:")?.parse().ok()?;
        let start = text.find("dvCodes:[")? + "dvCodes:[".len();
        let end = start + text[start..].find(']')?;
        let list: Vec<u8> = text[start..end]
            .split(',')
            .map(|c| c.trim().parse().ok())
            .collect::<Option<_>>()?;
        Some(Codebook {
            epoch,
            codes: list.try_into().ok()?,
            mask,
        })
    }

    /// The epoch to encode a cycle's program in: the widget's, if it holds one still
    /// accepted at `now_ms`, else the current one.
    pub fn epoch_for(claimed: Option<i64>, now_ms: i64) -> i64 {
        let current = epoch_at(now_ms);
        claimed
            .filter(|e| (current - EPOCHS_ACCEPTED + 1..=current).contains(e))
            .unwrap_or(current)
    }
}

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

    /// The program as the widget receives it, encoded with `book`.
    pub fn to_wire(&self, book: &Codebook) -> Vec<u32> {
        let mut out = vec![self.seeds[0] ^ book.mask, self.seeds[1] ^ book.mask];
        for (op, k) in &self.ops {
            out.push(u32::from(book.codes[usize::from(*op)]));
            out.push(k ^ book.mask);
        }
        out
    }

    /// A program from its wire form under `book` (what a client, or a test acting as one,
    /// reads); `None` when it is not one (an operation code the book does not have).
    pub fn from_wire(wire: &[u32], book: &Codebook) -> Option<Program> {
        if wire.len() < 2 || !wire.len().is_multiple_of(2) {
            return None;
        }
        let ops = wire[2..]
            .chunks(2)
            .map(|c| {
                let op = book.codes.iter().position(|&b| u32::from(b) == c[0])?;
                Some((op as u8, c[1] ^ book.mask))
            })
            .collect::<Option<_>>()?;
        Some(Program {
            seeds: [wire[0] ^ book.mask, wire[1] ^ book.mask],
            ops,
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

    /// The identity codebook: operations sent as 0‥4, nothing masked.
    pub(crate) const PLAIN: Codebook = Codebook {
        epoch: 0,
        codes: [0, 1, 2, 3, 4],
        mask: 0,
    };

    #[test]
    fn the_wire_form_is_seeds_then_pairs_in_the_hours_encoding() {
        let p = Program::random(&mut StdRng::seed_from_u64(3));
        let w = p.to_wire(&PLAIN);
        assert_eq!(w.len(), 2 + 2 * OPS);
        assert_eq!(&w[..2], &p.seeds);
        assert!(w[2..].chunks(2).all(|c| c[0] < KINDS));
        assert_eq!(Program::from_wire(&w, &PLAIN), Some(p.clone()));
        assert_eq!(Program::from_wire(&w[..3], &PLAIN), None);
        // Another hour's book: other bytes, masked numbers; read with the wrong book the
        // program is refused or is another program.
        let secret = [7u8; 32];
        let (a, b) = (
            Codebook::derive(&secret, 100),
            Codebook::derive(&secret, 101),
        );
        assert_ne!(a, b);
        assert_eq!(a, Codebook::derive(&secret, 100), "deterministic");
        assert_ne!(a, Codebook::derive(&[8u8; 32], 100), "secret-dependent");
        for book in [a, b] {
            let mut sorted = book.codes;
            sorted.sort_unstable();
            assert!(sorted.windows(2).all(|w| w[0] != w[1]), "{book:?}");
        }
        let wa = p.to_wire(&a);
        assert_ne!(wa, w);
        assert_eq!(Program::from_wire(&wa, &a), Some(p.clone()));
        assert_ne!(Program::from_wire(&wa, &b), Some(p));
        // What the served script holds reads back.
        assert_eq!(Codebook::from_js(&format!("var x={};", a.to_js())), Some(a));
        assert_eq!(Codebook::from_js("dvEpoch:1,dvCodes:[1,2],dvMask:3}"), None);
    }

    #[test]
    fn a_widget_may_hold_one_of_the_last_day_of_codebooks() {
        let now = 1_000 * EPOCH_MS + 5;
        assert_eq!(epoch_at(now), 1_000);
        assert_eq!(Codebook::epoch_for(None, now), 1_000);
        assert_eq!(Codebook::epoch_for(Some(1_000), now), 1_000);
        assert_eq!(Codebook::epoch_for(Some(977), now), 977);
        assert_eq!(Codebook::epoch_for(Some(976), now), 1_000, "too old");
        assert_eq!(Codebook::epoch_for(Some(1_001), now), 1_000, "not yet");
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
        let p = Program::from_wire(&wire, &PLAIN).unwrap();
        let a = slider(vec![
            [0.0, 20.0, 500.0],
            [120.5, 21.3, 700.0],
            [300.0, -1.26, 900.0],
        ]);
        assert_eq!(p.sign("cert", "nonce", 1, &a), "c17c09fca81eb352");
    }
}
