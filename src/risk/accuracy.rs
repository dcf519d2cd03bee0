//! Answers that miss, across one source's answers: a solver that guesses.
//!
//! An image solver that cannot tell the gap from the decoys, or the seam from the picture's
//! own edges, still gets some answers right, and with a person's movement behind them
//! nothing in one right answer tells it from a person. What it cannot hide is how often it
//! is wrong: people miss a picture now and then (a decoy taken for the gap, a slip of the
//! hand), a guesser misses most of them. So each answer of a scene is counted per source
//! (client IP, device) and hour, and so is each miss (a wrong answer, F015); once a source
//! has [`MIN_ANSWERS`] answers in the hour, every answer it sends while
//! [`MISS_SHARE_PCT`]% or more of them missed is flagged ([`Finding::FrequentMisses`]),
//! the right ones too: they are the guesses that landed.
//!
//! Strict, like the solve-time rules: Advanced refuses (F001), Basic adds 40 points. The
//! rule is set for guessers that miss more than half the time (a solver right 40% of the
//! time misses 60%): a heavy user answering 30 times in an hour in one scene is flagged in
//! about 0.07% of such hours if they miss one answer in ten, 2.4% if one in five, 7% if
//! one in four (the tests measure these, and how soon a guesser is found). A source that spreads its guesses over
//! many addresses and identities is out of this rule's reach. The hours are counted as for
//! the solve-time rules: two fixed windows half an hour apart, each judged.
//!
//! [`Finding::FrequentMisses`]: crate::risk::Finding::FrequentMisses

/// Answers a source must have given this scene in the hour before its misses are judged.
pub const MIN_ANSWERS: u64 = 12;
/// Share of a source's answers that missed, from which its answers are flagged.
pub const MISS_SHARE_PCT: u64 = 50;

/// Whether a source with `total` answers this hour, `misses` of them wrong, is guessing.
pub fn guessing(total: u64, misses: u64) -> bool {
    total >= MIN_ANSWERS && misses.saturating_mul(100) >= MISS_SHARE_PCT.saturating_mul(total)
}

/// The hot-store counter of a source's answers (`what` = "n") or misses ("m") in a scene.
pub fn key(scene_id: &str, who: &str, id: &str, what: &str) -> String {
    format!("a:{scene_id}:{who}:{id}:{what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// For each of `runs` sources answering `per_hour` times, each answer missing with
    /// probability `miss`: the answer (1-based) at which it was first flagged, counted as
    /// the store counts (this answer added, then judged); `None` when never.
    fn first_flagged(runs: usize, per_hour: u64, miss: f64, rng: &mut StdRng) -> Vec<Option<u64>> {
        (0..runs)
            .map(|_| {
                let mut misses = 0;
                (1..=per_hour).find(|&total| {
                    misses += u64::from(rng.random_bool(miss));
                    guessing(total, misses)
                })
            })
            .collect()
    }

    #[test]
    fn people_who_miss_now_and_then_are_not_guessers() {
        let mut rng = StdRng::seed_from_u64(21);
        // A heavy user: 30 answers in an hour in one scene (about 0.07%, 2.4% and 7% of
        // them flagged at one miss in ten, five and four).
        for (miss, most) in [(0.10, 20), (0.20, 300), (0.25, 850)] {
            let flagged = first_flagged(10_000, 30, miss, &mut rng)
                .iter()
                .filter(|f| f.is_some())
                .count();
            assert!(
                flagged < most,
                "{flagged} of 10,000 heavy users missing {miss} flagged"
            );
        }
    }

    #[test]
    fn a_solver_right_four_times_in_ten_is_found_within_its_first_answers() {
        let mut rng = StdRng::seed_from_u64(22);
        let found = first_flagged(1_000, 30, 0.6, &mut rng);
        let within_15 = found.iter().filter(|f| f.is_some_and(|n| n <= 15)).count();
        assert!(
            within_15 > 800,
            "{within_15} of 1,000 guessers found by their 15th answer"
        );
        assert!(found.iter().all(|f| f.is_none_or(|n| n >= MIN_ANSWERS)));
    }

    #[test]
    fn the_rule_needs_enough_answers_and_counts_exactly() {
        assert!(!guessing(MIN_ANSWERS - 1, MIN_ANSWERS - 1));
        assert!(guessing(12, 6));
        assert!(!guessing(12, 5));
        assert!(guessing(u64::MAX, u64::MAX));
    }
}
