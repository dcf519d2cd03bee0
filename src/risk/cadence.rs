//! Solve-time anomalies across one source's answers: solver services and relay farms.
//!
//! Each answer's *solve time* is measured on the server, from the moment its challenge was
//! issued (init, a No-CAPTCHA escalation or a retry on a new picture) to the answer's arrival, so a client
//! cannot claim one. Two patterns give away a pipeline that one answer alone does not:
//!
//! - **Too regular** ([`Finding::RegularSolveTime`]). People take as long as they take: one
//!   person's solve times spread over a factor of two or more, and many people behind one
//!   address spread wider still. A bot that feeds each picture to a solver and plays back a
//!   movement takes what its pipeline takes, again and again. Solve times are counted per
//!   source (client IP, device) and hour in buckets [`BUCKET_RATIO`] wide on a log scale;
//!   once a source has [`MIN_ANSWERS`] answers in the hour, an answer is flagged when three
//!   neighbouring buckets (a window 15% wide) within two buckets of its own hold
//!   [`REGULAR_SHARE_PCT`]% of them: it is the pipeline's, even a little early or late.
//!   For one person with solve times spread lognormally by σ = 0.3 (tighter than most) the
//!   window holds about 20%; a pipeline with ±3% of jitter, nearly all. The tests measure
//!   how often such a person is ever flagged in an hour of 30 answers.
//! - **Relayed** ([`Finding::RelayedSolve`]). The widget reports when its input ended, in
//!   ms since it rendered the challenge; the server knows when it issued it. For a person
//!   the difference is the network and the rendering: well under a second, a few on a slow
//!   phone. A relay that ships the challenge to a farm of solvers (people or a service) and
//!   sends back their movement as measured there leaves the shipping unaccounted for. A
//!   source whose answers leave more than [`RELAY_GAP_MS`] unaccounted for in
//!   [`RELAY_SHARE_PCT`]% of at least [`RELAY_MIN_ANSWERS`] answers in the hour is relaying,
//!   and every answer it sends is flagged, gap or not.
//!   (A relay that pads its timestamps to hide the gap shows as a person who waited that
//!   long before starting, which the regular-time rule then sees if the pipeline is steady.)
//!
//! Both are strict: Advanced refuses (F001), Basic adds 40 points. Counting is the hot
//! store's (`HotStore::count`, `cycle::guard::solve_times`); this module holds the rules.
//! Each source is counted in two fixed hourly windows half an hour apart
//! (`cycle::guard::judged_windows`) and judged in each, so an hour beginning gives a
//! pipeline no fresh start while it keeps answering: only a source's first answers are
//! judged alone. An IP's pattern is everyone's behind it: a person who shares a busy bot's
//! address, and solves within a few percent of its time, is judged with it.

/// Width of a solve-time bucket, as a ratio: each bucket is 5% longer than the last.
pub const BUCKET_RATIO: f64 = 1.05;
/// Answers a source must have in the hour before its solve times are judged regular.
pub const MIN_ANSWERS: u64 = 12;
/// Share of a source's answers within one bucket of this one's (a window 15% wide) that
/// makes them regular.
pub const REGULAR_SHARE_PCT: u64 = 60;
/// Time between issuing a challenge and its answer that the client's own clock must account
/// for, in ms; more unaccounted for than this is a gap.
pub const RELAY_GAP_MS: f64 = 10_000.0;
/// Answers a source must have in the hour before its gaps count as relaying.
pub const RELAY_MIN_ANSWERS: u64 = 6;
/// Share of a source's answers with a gap that makes it a relay.
pub const RELAY_SHARE_PCT: u64 = 80;

/// The log-scale bucket of a solve time in ms (times under 1 ms count as 1 ms).
pub fn bucket(solve_ms: i64) -> i64 {
    ((solve_ms.max(1) as f64).ln() / BUCKET_RATIO.ln()).floor() as i64
}

/// The time the client's clock leaves unaccounted for: solve time (server) minus when the
/// input ended after rendering (client). Negative when the client claims more than passed
/// (`risk::timing_finding` judges that).
pub fn gap_ms(solve_ms: i64, input_ended_ms: f64) -> f64 {
    solve_ms as f64 - input_ended_ms
}

/// Whether a source's solve times are regular, from its `total` answers this hour (this one
/// included) and the counts of the five buckets about this answer's (`around[2]` is its
/// own): some three neighbouring buckets among them hold [`REGULAR_SHARE_PCT`]% of the
/// answers. So an answer up to two buckets off a pipeline's usual time is judged with it.
pub fn regular(total: u64, around: &[u64; 5]) -> bool {
    total >= MIN_ANSWERS
        && around
            .windows(3)
            .any(|w| w.iter().sum::<u64>() * 100 >= total * REGULAR_SHARE_PCT)
}

/// Whether `gapped` of a source's `total` answers this hour make it a relay.
pub fn relayed(total: u64, gapped: u64) -> bool {
    total >= RELAY_MIN_ANSWERS && gapped * 100 >= total * RELAY_SHARE_PCT
}

/// The counter of a source's answers this hour for a scene: `what` is `n` (all of them),
/// `b<bucket>` (those in one bucket) or `g` (those with a gap).
pub fn solve_key(scene_id: &str, who: &str, id: &str, what: &str) -> String {
    format!("s:{scene_id}:{who}:{id}:{what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;

    /// A standard normal draw (Box–Muller).
    fn normal(rng: &mut StdRng) -> f64 {
        let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// How many of `runs` sources, each answering `per_hour` times with solve times drawn by
    /// `draw`, are flagged regular at least once in the hour, the counting done as the store
    /// does it (each answer counted, then judged).
    fn flagged_sources(
        runs: usize,
        per_hour: usize,
        rng: &mut StdRng,
        mut draw: impl FnMut(&mut StdRng) -> f64,
    ) -> usize {
        (0..runs)
            .filter(|_| {
                let mut counts: HashMap<i64, u64> = HashMap::new();
                let mut total = 0;
                let mut flagged = false;
                for _ in 0..per_hour {
                    let b = bucket(draw(rng) as i64);
                    *counts.entry(b).or_default() += 1;
                    total += 1;
                    let around =
                        [-2, -1, 0, 1, 2].map(|k| counts.get(&(b + k)).copied().unwrap_or(0));
                    flagged |= regular(total, &around);
                }
                flagged
            })
            .count()
    }

    #[test]
    fn buckets_are_five_percent_wide_and_total() {
        assert_eq!(bucket(0), bucket(1));
        assert_eq!(bucket(-5), 0);
        assert!(bucket(1_050) == bucket(1_000) + 1 || bucket(1_050) == bucket(1_000) + 2);
        assert!(bucket(3_000) > bucket(2_000));
        assert_eq!(bucket(i64::MAX), bucket(i64::MAX - 1));
    }

    #[test]
    fn a_steady_pipeline_is_regular_and_a_person_is_not() {
        let mut rng = StdRng::seed_from_u64(7);
        // A solver service: 2.4 s ± 4% per answer, 30 an hour.
        let bots = flagged_sources(200, 30, &mut rng, |r| 2_400.0 * (1.0 + 0.04 * normal(r)));
        assert_eq!(bots, 200, "steady pipelines missed");
        // One person answering 30 times in an hour (a heavy user), spread by σ = 0.3 about
        // a median of 3 s: flagged seldom.
        let people = flagged_sources(1_000, 30, &mut rng, |r| 3_000.0 * (0.3 * normal(r)).exp());
        assert!(people <= 5, "{people} of 1000 steady people flagged");
        // The same person at σ = 0.5 (typical): practically never.
        let typical = flagged_sources(1_000, 30, &mut rng, |r| 3_000.0 * (0.5 * normal(r)).exp());
        assert!(typical <= 2, "{typical} of 1000 people flagged");
        // A pipeline that varies its delay by ±30% spreads out of the window: the rule is
        // about steadiness, not speed.
        let varied = flagged_sources(200, 30, &mut rng, |r| 2_400.0 * r.random_range(0.7..1.3));
        assert!(varied <= 20, "{varied} of 200 varied pipelines flagged");
        println!(
            "flagged: steady pipelines {bots}/200, people σ=0.3 {people}/1000, σ=0.5 \
             {typical}/1000, pipelines ±30% {varied}/200"
        );
    }

    #[test]
    fn too_few_answers_are_never_judged() {
        let m = MIN_ANSWERS;
        assert!(!regular(m - 1, &[0, 0, m - 1, 0, 0]));
        assert!(regular(m, &[0, 0, m, 0, 0]));
        assert!(!regular(20, &[0, 5, 6, 0, 0]));
        assert!(regular(20, &[0, 6, 6, 0, 0]));
        // Two buckets off the usual time: still judged with it.
        assert!(regular(20, &[12, 0, 1, 0, 0]));
        assert!(regular(20, &[0, 0, 1, 4, 8]));
        assert!(!regular(20, &[4, 4, 1, 4, 4]));
        assert!(!relayed(RELAY_MIN_ANSWERS - 1, RELAY_MIN_ANSWERS - 1));
        assert!(relayed(10, 8));
        assert!(!relayed(10, 7));
    }

    #[test]
    fn the_gap_is_what_the_clients_clock_does_not_account_for() {
        assert_eq!(gap_ms(5_000, 4_200.0), 800.0);
        assert!(gap_ms(30_000, 6_000.0) > RELAY_GAP_MS);
        assert!(gap_ms(1_000, 1_500.0) < 0.0);
    }
}
