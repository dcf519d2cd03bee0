//! The adaptive proof-of-work: what a verification costs the client.
//!
//! At init the server sets a difficulty in bits ([`bits`]); the widget must find a counter
//! whose SHA-256 over `"{certifyId}.{nonce}.{counter}"` starts with that many zero bits
//! ([`meets`]) and send it with its answer. A person's browser does it in the background
//! while the challenge is looked at — 2^8 hashes at the base level, out of sight — but the
//! cost grows with what the server sees of the client and of the scene, so that a farm
//! asking for many challenges pays for each, and more the more it asks:
//!
//! | pressure | bits added |
//! |---|---:|
//! | Advanced mode | 2 |
//! | a forged or freshly shed device identity at this init | 4 |
//! | this IP's inits in the last minute at ¼, ½, ¾ of the scene's per-minute limit | 2, 4, 6 |
//! | the scene's inits in the last minute from everyone ≥ 600, ≥ 3,000 (a flood) | 2, 4 |
//!
//! capped at the scene's maximum (20 by default: about a million hashes, a second or two
//! of a desktop's time, a few on a phone). The answer's check costs one hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::DefenceMode;

/// A scene's proof-of-work settings (`policy.pow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PowPolicy {
    /// Bits asked of everyone (0–24).
    #[serde(default = "default_base")]
    pub base: u8,
    /// The most ever asked (0–24; 0 switches the proof-of-work off).
    #[serde(default = "default_max")]
    pub max: u8,
}

fn default_base() -> u8 {
    8
}

fn default_max() -> u8 {
    20
}

impl Default for PowPolicy {
    fn default() -> Self {
        Self {
            base: default_base(),
            max: default_max(),
        }
    }
}

/// The highest difficulty a policy may set.
pub const MAX_BITS: u8 = 24;

/// What the difficulty is set from, gathered at init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pressure {
    pub mode: DefenceMode,
    /// Init found the device identity forged or shed (see `cycle::guard`).
    pub suspicious_identity: bool,
    /// This IP's (or /64's) inits of this scene in the last minute, this one included.
    pub ip_inits: u64,
    /// The scene's per-minute init limit per IP (0: none; 120 is then the yardstick).
    pub ip_init_limit: u32,
    /// Everyone's inits of this scene in the last minute.
    pub scene_inits: u64,
}

/// The difficulty for an init under `pressure` (0: no proof asked).
pub fn bits(policy: &PowPolicy, pressure: &Pressure) -> u8 {
    if policy.max == 0 {
        return 0;
    }
    let mut b = u32::from(policy.base);
    if pressure.mode == DefenceMode::Advanced {
        b += 2;
    }
    if pressure.suspicious_identity {
        b += 4;
    }
    let limit = match pressure.ip_init_limit {
        0 => 120,
        l => u64::from(l),
    };
    let share = pressure.ip_inits * 4;
    b += match share {
        s if s >= limit * 3 => 6,
        s if s >= limit * 2 => 4,
        s if s >= limit => 2,
        _ => 0,
    };
    b += match pressure.scene_inits {
        n if n >= 3_000 => 4,
        n if n >= 600 => 2,
        _ => 0,
    };
    b.min(u32::from(policy.max.min(MAX_BITS))) as u8
}

/// The string hashed for a cycle.
fn preimage(certify_id: &str, nonce: &str, counter: u64) -> String {
    format!("{certify_id}.{nonce}.{counter}")
}

/// Whether `counter` solves the cycle's puzzle at `bits`.
pub fn meets(certify_id: &str, nonce: &str, counter: u64, bits: u8) -> bool {
    let digest = Sha256::digest(preimage(certify_id, nonce, counter).as_bytes());
    leading_zero_bits(&digest) >= u32::from(bits)
}

/// The answer's `pow` field read as a counter: decimal digits, at most 16 of them.
pub fn parse_counter(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The first counter that solves the puzzle (what the widget computes; tests and the
/// adversarial suite use it as an attacker would).
pub fn solve(certify_id: &str, nonce: &str, bits: u8) -> u64 {
    (0u64..)
        .find(|c| meets(certify_id, nonce, *c, bits))
        .unwrap_or(0)
}

fn leading_zero_bits(d: &[u8]) -> u32 {
    let mut n = 0;
    for b in d {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calm(mode: DefenceMode) -> Pressure {
        Pressure {
            mode,
            suspicious_identity: false,
            ip_inits: 1,
            ip_init_limit: 120,
            scene_inits: 1,
        }
    }

    #[test]
    fn difficulty_rises_with_risk_and_load_up_to_the_cap() {
        let p = PowPolicy::default();
        assert_eq!(bits(&p, &calm(DefenceMode::Basic)), 8);
        assert_eq!(bits(&p, &calm(DefenceMode::Advanced)), 10);
        let shed = Pressure {
            suspicious_identity: true,
            ..calm(DefenceMode::Basic)
        };
        assert_eq!(bits(&p, &shed), 12);
        let by_rate: Vec<u8> = [29, 30, 60, 90, 119]
            .iter()
            .map(|n| {
                bits(
                    &p,
                    &Pressure {
                        ip_inits: *n,
                        ..calm(DefenceMode::Basic)
                    },
                )
            })
            .collect();
        assert_eq!(by_rate, [8, 10, 12, 14, 14]);
        let flood = Pressure {
            scene_inits: 3_000,
            ..calm(DefenceMode::Basic)
        };
        assert_eq!(bits(&p, &flood), 12);
        let everything = Pressure {
            mode: DefenceMode::Advanced,
            suspicious_identity: true,
            ip_inits: 500,
            ip_init_limit: 0,
            scene_inits: 10_000,
        };
        assert_eq!(bits(&p, &everything), 20, "capped at max");
        let strict = PowPolicy { base: 16, max: 24 };
        assert_eq!(bits(&strict, &everything), 24);
        let off = PowPolicy { base: 8, max: 0 };
        assert_eq!(bits(&off, &everything), 0);
    }

    #[test]
    fn a_solution_is_checked_against_its_own_cycle() {
        let c = solve("cert-1", "n0nce", 10);
        assert!(meets("cert-1", "n0nce", c, 10));
        assert!(meets("cert-1", "n0nce", c, 0));
        // Checked against another cycle or nonce, it is (almost surely) no solution.
        let elsewhere = [("cert-2", "n0nce"), ("cert-1", "other")]
            .iter()
            .filter(|(id, n)| meets(id, n, c, 10))
            .count();
        assert_eq!(elsewhere, 0);
        // Brute force: the share of counters that meet 6 bits is near 1/64.
        let hits = (0..64_000).filter(|i| meets("x", "y", *i, 6)).count();
        assert!((800..1200).contains(&hits), "{hits}");
    }

    #[test]
    fn the_counter_is_decimal_and_short() {
        assert_eq!(parse_counter("0"), Some(0));
        assert_eq!(parse_counter("123456"), Some(123_456));
        for bad in ["", "-1", "1e5", " 1", "0x10", "12345678901234567"] {
            assert_eq!(parse_counter(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn leading_zero_bits_are_counted_across_bytes() {
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0x01]), 7);
        assert_eq!(leading_zero_bits(&[0x00, 0x00, 0x3f]), 18);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}
