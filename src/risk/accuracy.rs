//! Answers that miss, across one source's answers: a solver that guesses.
//!
//! An image solver that cannot tell the gap from the decoys, or the seam from the picture's
//! own edges, still gets some answers right, and with a person's movement behind them
//! nothing in one right answer tells it from a person. What it cannot hide is how often it
//! is wrong, and how: people miss a picture now and then, mostly by a few pixels (a slip
//! of the hand), seldom by the width of a piece (a decoy taken for the gap); a guesser's
//! misses are nearly all of the second kind. So each answer of a scene is counted per
//! source (client IP, device) and hour, and so is each miss (a wrong answer, F015) and each
//! *far* miss (a picture placed more than [`FAR_MISS_PX`] from its place). Two tests judge
//! the counts, and every answer a source sends while either holds is flagged
//! ([`Finding::FrequentMisses`]), the right ones too: they are the guesses that landed.
//!
//! - **Misses** ([`guessing`]): [`MISS_SHARE_PCT`]% or more of [`MIN_ANSWERS`] or more
//!   answers missed, whatever the type (a slider stopped short is a miss too).
//! - **Far misses** ([`far_guessing`]): more far misses than a person plausibly makes. A
//!   person is assumed to take a decoy for the gap at most one time in ten
//!   ([`PERSON_FAR_MISS`]); a source is flagged once its far misses reach the count that a
//!   person with that rate reaches in fewer than one in a thousand runs of that many
//!   answers ([`far_line`]: 4 of the first 5, 6 of 10, 8 of 20, 10 of 30). Over 40
//!   answers this finds a solver right half the time by a median of 9 answers (the share
//!   test: 12, and 17% never), one right 55% of the time by 12 (the share test: 14, a
//!   third never), one right 60% of the time by 16 (the share test: more than half never).
//!
//! A source found by either test stays found for the rest of that hour: a run of luck
//! after its misses gave it away does not clear it.
//!
//! Strict, like the solve-time rules: Advanced refuses (F001), Basic adds 40 points. The
//! cost to people, measured by the tests: a heavy user answering 30 times in an hour in
//! one scene is flagged in about 0.3% of such hours if one answer in ten lands on a decoy,
//! 3% if one in seven (near misses do not count toward this test; the share test flags
//! 0.07% of them missing one answer in ten, 2.4% one in five, 7% one in four). A source
//! that spreads its guesses over many addresses and identities is out of this rule's
//! reach. The hours are counted as for the solve-time rules: two fixed windows half an
//! hour apart, each judged.
//!
//! [`Finding::FrequentMisses`]: crate::risk::Finding::FrequentMisses

use std::sync::LazyLock;

use crate::challenge::picture::TOLERANCE_PX;

/// Answers a source must have given this scene in the hour before its misses are judged.
pub const MIN_ANSWERS: u64 = 12;
/// Share of a source's answers that missed, from which its answers are flagged.
pub const MISS_SHARE_PCT: u64 = 50;
/// How far from its place a picture must be dropped for the miss to be a far one: three
/// times the tolerance, about half the narrowest piece (decoys sit a piece's width and
/// more away on the same row).
pub const FAR_MISS_PX: f64 = 3.0 * TOLERANCE_PX;
/// The highest rate of far misses assumed of a person.
pub const PERSON_FAR_MISS: f64 = 0.1;
/// The chance, for a person at [`PERSON_FAR_MISS`], of reaching [`far_line`] in a given
/// number of answers.
pub const FAR_LINE_ALPHA: f64 = 1e-3;
/// Answers up to which [`far_line`] is computed exactly; beyond, it grows in proportion.
const EXACT_UP_TO: usize = 1024;

/// Added to a source's far misses when either test finds it guessing, so that it stays
/// found for the rest of its hour (no count of answers reaches it).
pub const FOUND: u64 = 1 << 32;

/// How one answer missed, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// Right.
    None,
    /// Wrong, within [`FAR_MISS_PX`] of the place, or of a type with no place to measure.
    Near,
    /// A picture dropped more than [`FAR_MISS_PX`] from its place.
    Far,
}

impl Miss {
    /// The miss of an answer judged `wrong`, its picture `distance` px from its place
    /// (`None` for types without a place).
    pub fn of(wrong: bool, distance: Option<f64>) -> Miss {
        match (wrong, distance) {
            (false, _) => Miss::None,
            (true, Some(d)) if d > FAR_MISS_PX => Miss::Far,
            (true, _) => Miss::Near,
        }
    }
}

/// Whether a source with `total` answers this hour, `misses` of them wrong, is guessing.
pub fn guessing(total: u64, misses: u64) -> bool {
    total >= MIN_ANSWERS && misses.saturating_mul(100) >= MISS_SHARE_PCT.saturating_mul(total)
}

/// Whether a source with `total` answers this hour, `far` of them far misses, misses far
/// more often than a person does.
pub fn far_guessing(total: u64, far: u64) -> bool {
    total > 0 && far >= far_line(total)
}

/// The fewest answers at which [`far_guessing`] can hold: below, a source's far misses need
/// not be read.
pub fn far_min_answers() -> u64 {
    (1..).find(|&n| far_line(n) <= n).unwrap_or(u64::MAX)
}

/// The far misses in `total` answers from which a source is flagged: the smallest k with
/// P(Binomial(total, [`PERSON_FAR_MISS`]) ≥ k) ≤ [`FAR_LINE_ALPHA`]. Exact up to
/// 1,024 answers, then the same share of the answers (a line that only gets stricter for
/// people, whose share of far misses settles nearer their rate the more they answer).
pub fn far_line(total: u64) -> u64 {
    static LINES: LazyLock<Vec<u64>> = LazyLock::new(|| {
        (0..=EXACT_UP_TO as u64)
            .map(|n| binomial_line(n, PERSON_FAR_MISS, FAR_LINE_ALPHA))
            .collect()
    });
    match usize::try_from(total) {
        Ok(n) if n <= EXACT_UP_TO => LINES[n],
        _ => {
            let last = LINES[EXACT_UP_TO] as f64 / EXACT_UP_TO as f64;
            (total as f64 * last).ceil() as u64
        }
    }
}

/// The smallest k with P(Binomial(n, p) ≥ k) ≤ alpha (n + 1 when no k ≤ n is that rare).
fn binomial_line(n: u64, p: f64, alpha: f64) -> u64 {
    // The probabilities of exactly k, in logs (for n in the hundreds the plain products
    // underflow): ln P(0) = n ln(1 - p), and each next one by the ratio of binomials.
    let mut ln_pmf = Vec::with_capacity(n as usize + 1);
    let mut ln = n as f64 * (1.0 - p).ln();
    for k in 0..=n {
        ln_pmf.push(ln);
        ln += ((n - k) as f64 / (k + 1) as f64).ln() + (p / (1.0 - p)).ln();
    }
    // Summed from the top until the tail is no longer rare.
    let mut tail = 0.0;
    for k in (0..=n).rev() {
        tail += ln_pmf[k as usize].exp();
        if tail > alpha {
            return k + 1;
        }
    }
    0
}

/// The hot-store counter of a source's answers (`what` = "n"), misses ("m") or far misses
/// ("f") in a scene.
pub fn key(scene_id: &str, who: &str, id: &str, what: &str) -> String {
    format!("a:{scene_id}:{who}:{id}:{what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// For each of `runs` sources answering `per_hour` times, each answer missing with
    /// probability `miss` and missing far with probability `far` (a part of `miss`): the
    /// answer (1-based) at which it was first flagged by either test, counted as the store
    /// counts (this answer added, then judged); `None` when never.
    fn first_flagged(
        runs: usize,
        per_hour: u64,
        (miss, far): (f64, f64),
        rng: &mut StdRng,
    ) -> Vec<Option<u64>> {
        (0..runs)
            .map(|_| {
                let (mut misses, mut fars) = (0, 0);
                (1..=per_hour).find(|&total| {
                    let r: f64 = rng.random();
                    misses += u64::from(r < miss);
                    fars += u64::from(r < far);
                    guessing(total, misses) || far_guessing(total, fars)
                })
            })
            .collect()
    }

    fn flagged(found: &[Option<u64>]) -> usize {
        found.iter().filter(|f| f.is_some()).count()
    }

    fn median_found(found: &mut [Option<u64>]) -> u64 {
        found.sort_by_key(|f| f.unwrap_or(u64::MAX));
        found[found.len() / 2].unwrap_or(u64::MAX)
    }

    #[test]
    fn people_who_miss_now_and_then_are_not_guessers() {
        let mut rng = StdRng::seed_from_u64(21);
        // A heavy user: 30 answers in an hour in one scene. Near misses alone: about
        // 0.07%, 2.4% and 7% of them flagged at one miss in ten, five and four.
        for (miss, most) in [(0.10, 20), (0.20, 300), (0.25, 850)] {
            let n = flagged(&first_flagged(10_000, 30, (miss, 0.0), &mut rng));
            assert!(n < most, "{n} of 10,000 heavy users missing {miss} flagged");
        }
        // Every miss a decoy taken for the gap, one time in twenty, ten, seven (about 0%,
        // 0.3%, 3%).
        for (far, most) in [(0.05, 10), (0.10, 60), (0.15, 400)] {
            let n = flagged(&first_flagged(10_000, 30, (far, far), &mut rng));
            assert!(
                n < most,
                "{n} of 10,000 heavy users missing far {far} flagged"
            );
        }
    }

    #[test]
    fn a_solver_right_four_times_in_ten_is_found_within_its_first_answers() {
        let mut rng = StdRng::seed_from_u64(22);
        let mut found = first_flagged(1_000, 30, (0.6, 0.6), &mut rng);
        let within_12 = found.iter().filter(|f| f.is_some_and(|n| n <= 12)).count();
        assert!(
            within_12 > 850,
            "{within_12} of 1,000 guessers found by their 12th answer"
        );
        assert!(median_found(&mut found) <= 9);
        // Misses near the place are not a guesser's: the share test alone, from the 12th.
        let found = first_flagged(1_000, 30, (0.6, 0.0), &mut rng);
        assert!(found.iter().all(|f| f.is_none_or(|n| n >= MIN_ANSWERS)));
    }

    #[test]
    fn a_solver_right_more_than_half_the_time_is_found_by_its_far_misses() {
        let mut rng = StdRng::seed_from_u64(23);
        // Right 55% and 60% of the time, 40 answers: the share test alone flags about two
        // in three and fewer than half of them (at a median of 14 answers, and never);
        // with their far misses counted, nearly all (at a median of 12 and 16).
        for (miss, share_most, by) in [(0.45, 750, 13), (0.40, 550, 18)] {
            let share_only = flagged(&first_flagged(1_000, 40, (miss, 0.0), &mut rng));
            assert!(
                share_only < share_most,
                "share test alone: {share_only} of 1,000"
            );
            let mut found = first_flagged(1_000, 40, (miss, miss), &mut rng);
            assert!(flagged(&found) > 920, "{} of 1,000", flagged(&found));
            let median = median_found(&mut found);
            assert!(
                median <= by,
                "solver missing {miss}: found at median {median}"
            );
        }
    }

    #[test]
    fn the_far_line_is_the_binomial_tail() {
        // P(Binomial(n, 0.1) ≥ k) ≤ 0.001 first at these k (computed independently).
        for (n, k) in [
            (1, 2),
            (3, 4),
            (4, 4),
            (5, 4),
            (6, 5),
            (10, 6),
            (20, 8),
            (30, 10),
            (50, 14),
            (100, 21),
        ] {
            assert_eq!(far_line(n), k, "far line at {n} answers");
        }
        assert_eq!(far_min_answers(), 4);
        assert!(!far_guessing(0, 0));
        assert!(far_guessing(4, 4) && !far_guessing(5, 3));
        // Monotone, and carried on in proportion past the exact table, without overflow.
        let lines: Vec<u64> = (1..2_000).map(far_line).collect();
        assert!(lines.windows(2).all(|w| w[0] <= w[1]));
        assert!(far_line(1_025) >= far_line(1_024));
        assert!(far_guessing(u64::MAX, u64::MAX));
        assert!(!far_guessing(u64::MAX, u64::MAX / 8));
    }

    #[test]
    fn a_miss_is_far_only_with_a_place_to_measure_from() {
        assert_eq!(Miss::of(false, Some(90.0)), Miss::None);
        assert_eq!(Miss::of(true, Some(FAR_MISS_PX)), Miss::Near);
        assert_eq!(Miss::of(true, Some(FAR_MISS_PX + 0.5)), Miss::Far);
        assert_eq!(Miss::of(true, None), Miss::Near);
    }

    #[test]
    fn the_rule_needs_enough_answers_and_counts_exactly() {
        assert!(!guessing(MIN_ANSWERS - 1, MIN_ANSWERS - 1));
        assert!(guessing(12, 6));
        assert!(!guessing(12, 5));
        assert!(guessing(u64::MAX, u64::MAX));
    }
}
