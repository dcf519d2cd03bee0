//! Near-duplicate movements: a person's drag (or reach to a one-click box) recorded once
//! and sent again with its samples jittered, rescaled along the track or re-paced.
//!
//! The exact fingerprint (`risk::trajectory_fingerprint`) catches a movement sent again as
//! it was; any jitter changes it. Here a movement is summarised as a [`Profile`]: where it
//! was, along (as a fraction of the distance it covered) and across (px about its mean),
//! averaged over [`K`] even stretches of its duration. Averaging takes most of the jitter
//! out and keeps what differs from person to person (pace and drift); measuring along as
//! a fraction and time as a fraction of the duration makes rescaling and re-pacing no
//! disguise. Two profiles closer than [`DRAG_RADIUS`] ([`REACH_RADIUS`] for reaches) (RMS, in units of what jitter moves
//! them by: [`ALONG_UNIT`], [`ACROSS_UNIT`]) are one movement.
//!
//! Finding the near ones among a day's movements uses locality-sensitive hashing: [`TABLES`]
//! keys per profile, each [`PROJECTIONS`] random projections cut into cells of [`WIDTH`];
//! near profiles share a key with high probability, far ones seldom. The store keeps the
//! profiles seen under each key (a bounded bucket, `HotStore::gather`); the candidates are
//! then measured exactly. The projections are drawn from a secret of the deployment, so an
//! attacker who reads this code cannot aim its jitter across the cells' edges.
//!
//! A reach to a one-click box is short, and ±0.5 px on a reach of a hundred pixels hides its
//! shape about as well as people's reaches resemble each other, so the shape alone is
//! judged with a tight radius. A reach also carries where it set off from relative to its
//! click: a replay on the same page, or moved with its box, keeps that to a pixel, and two
//! people seldom share it *and* a shape. So a reach is keyed by its set-off too (four
//! offset grids, [`OFFSET_RADIUS`]), and one from the same set-off is a copy within the
//! looser [`REACH_LOOSE_RADIUS`]. An attacker who also moves the set-off by more than a
//! pixel or two is left to the shape radius and to the behaviour model.
//!
//! Measured on synthetic people (`cargo test --release --lib risk::resemblance -- --ignored
//! --nocapture`), 20,000 stored (a day of one busy tenant), 1,000 copies jittered by ±2 ms
//! and ±0.5 px and re-paced by 0.9–1.1: drags (also rescaled by 0.5–1.2) 95.9% found, one
//! fresh person in 1,000 taken for a copy, 30 candidates measured per look-up; reaches
//! 98.5% found (26.3% by shape alone), no fresh person taken for a copy, 35 candidates.

use crate::risk::Point;

/// Stretches of time a profile averages over.
pub const K: usize = 16;
/// How far jitter moves a profile: along, as a fraction of the distance covered.
pub const ALONG_UNIT: f64 = 0.006;
/// How far jitter moves a profile: across, in px.
pub const ACROSS_UNIT: f64 = 0.15;
/// A drag closer than this (RMS, in units) to one seen before is a copy of it.
pub const DRAG_RADIUS: f64 = 1.5;
/// The same for a reach to a one-click box: people's reaches are more alike (a Fitts-law
/// approach and a hover), so only a closer one counts.
pub const REACH_RADIUS: f64 = 1.0;
/// A reach that set off from where a stored one did, relative to its click (within
/// [`OFFSET_RADIUS`] px), is a copy when its shape is within this looser radius: a
/// recorded reach replayed on the same page, or moved with its box, keeps where it set off
/// from to a pixel, and people's reaches seldom share both that and a shape.
pub const REACH_LOOSE_RADIUS: f64 = 3.0;
/// How near (px) two reaches' set-offs, relative to their clicks, must be for
/// [`REACH_LOOSE_RADIUS`].
pub const OFFSET_RADIUS: f64 = 1.5;
/// The cells (px) of the set-off grids a reach is also keyed by: four grids, offset by
/// half a cell each way, so that two set-offs within [`OFFSET_RADIUS`] on each axis always
/// share a cell of one of them.
const OFFSET_CELL: f64 = 2.0 * 2.0 * OFFSET_RADIUS;
/// Locality-sensitive keys per profile.
pub const TABLES: usize = 8;
/// Random projections per key.
pub const PROJECTIONS: usize = 4;
/// Width of a projection's cells (in units; a copy moves a projection by about
/// `DRAG_RADIUS × √K` at most).
pub const WIDTH: f64 = 16.0;
/// Profiles kept per key and tenant (the newest): bounds the store and the look-up.
pub const BUCKET_CAP: usize = 64;
/// Stored bytes of a profile (each value in sixteenths of a unit, `i16`).
const BYTES: usize = 2 * K * 2;

/// A movement as [`profile`] summarises it.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The profile in units, along then across.
    v: [f64; 2 * K],
    /// For a reach: where it set off from, relative to its click (page px).
    offset: Option<[f64; 2]>,
}

/// The profile of a movement along x (a drag, or a reach turned onto its line), `None`
/// when it is too short to tell: under 12 samples, 100 ms or 20 px.
pub fn profile(points: &[Point]) -> Option<Profile> {
    if points.len() < 12 {
        return None;
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    let span = last[2] - first[2];
    let dist = last[0] - first[0];
    if !(span >= 100.0 && dist.abs() >= 20.0 && span.is_finite() && dist.is_finite()) {
        return None;
    }
    // The path's mean position over each stretch, the path taken as straight between
    // samples (a stretch with no sample in it still has a position).
    let mut sum = [[0.0f64; 3]; K];
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let t0 = (a[2] - first[2]) / span * K as f64;
        let t1 = (b[2] - first[2]) / span * K as f64;
        if t1.is_nan() || t1 <= t0 {
            continue;
        }
        let mut lo = t0.max(0.0);
        while lo < t1 {
            let bin = (lo.floor() as usize).min(K - 1);
            let hi = ((bin + 1) as f64).min(t1);
            if hi <= lo {
                break;
            }
            let mid = ((lo + hi) / 2.0 - t0) / (t1 - t0);
            let len = hi - lo;
            sum[bin][0] += (a[0] + (b[0] - a[0]) * mid) * len;
            sum[bin][1] += (a[1] + (b[1] - a[1]) * mid) * len;
            sum[bin][2] += len;
            lo = hi;
        }
    }
    let mut v = [0.0; 2 * K];
    for k in 0..K {
        let w = sum[k][2].max(1e-9);
        v[k] = (sum[k][0] / w - first[0]) / dist / ALONG_UNIT;
        v[K + k] = sum[k][1] / w / ACROSS_UNIT;
    }
    // Heights about their mean: where the movement sat on the page says nothing.
    let mean = v[K..].iter().sum::<f64>() / K as f64;
    v[K..].iter_mut().for_each(|x| *x -= mean);
    v.iter()
        .all(|x| x.is_finite())
        .then_some(Profile { v, offset: None })
}

/// The profile of the final reach of a one-click answer (`pointing::frame`), with where it
/// set off from relative to the click; `None` when the reach is too short to tell.
pub fn reach_profile(points: &[Point], click: Point) -> Option<Profile> {
    use crate::risk::behaviour::pointing;
    let mut p = profile(&pointing::frame(points, click)?)?;
    let s = pointing::set_off(points, click)?;
    let offset = [click[0] - s[0], click[1] - s[1]];
    p.offset = offset.iter().all(|x| x.is_finite()).then_some(offset);
    Some(p)
}

impl Profile {
    /// How far apart two profiles are (RMS over the stretches, in units).
    pub fn apart(&self, other: &Profile) -> f64 {
        let sq: f64 = self
            .v
            .iter()
            .zip(&other.v)
            .map(|(p, q)| (p - q).powi(2))
            .sum();
        (sq / K as f64).sqrt()
    }

    /// Whether `other` is this movement again: closer than `radius`, or, for two reaches
    /// that set off from the same place relative to their clicks, closer than
    /// [`REACH_LOOSE_RADIUS`].
    pub fn is_copy_of(&self, other: &Profile, radius: f64) -> bool {
        let apart = self.apart(other);
        let same_set_off = match (self.offset, other.offset) {
            (Some(a), Some(b)) => (a[0] - b[0]).hypot(a[1] - b[1]) < OFFSET_RADIUS,
            _ => false,
        };
        apart < radius || (same_set_off && apart < REACH_LOOSE_RADIUS)
    }

    /// The stored form: each value in sixteenths of a unit; a reach's set-off after them,
    /// in eighths of a pixel.
    pub fn to_bytes(&self) -> Vec<u8> {
        let packed = |x: f64, scale: f64| (x * scale).round().clamp(-32_768.0, 32_767.0) as i16;
        let shape = self.v.iter().map(|&x| packed(x, 16.0));
        let offset = self.offset.iter().flatten().map(|&x| packed(x, 8.0));
        shape.chain(offset).flat_map(i16::to_le_bytes).collect()
    }

    /// The stored form read back; `None` for bytes that are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Profile> {
        if bytes.len() != BYTES && bytes.len() != BYTES + 4 {
            return None;
        }
        let values: Vec<f64> = bytes
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect();
        let mut v = [0.0; 2 * K];
        for (x, y) in v.iter_mut().zip(&values) {
            *x = y / 16.0;
        }
        let offset = (values.len() > 2 * K).then(|| [values[2 * K] / 8.0, values[2 * K + 1] / 8.0]);
        Some(Profile { v, offset })
    }
}

/// The locality-sensitive keys of a deployment: random projections drawn from its secret.
pub struct Hasher {
    dirs: Vec<[f64; 2 * K]>,
    offsets: Vec<f64>,
}

impl Hasher {
    /// The projections for `secret` (the same on every node of a cluster).
    pub fn new(secret: &[u8; 32]) -> Hasher {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = StdRng::from_seed(*secret);
        let n = TABLES * PROJECTIONS;
        let dirs = (0..n)
            .map(|_| std::array::from_fn(|_| StandardNormal.sample(&mut rng)))
            .collect();
        let offsets = (0..n).map(|_| rng.random_range(0.0..WIDTH)).collect();
        Hasher { dirs, offsets }
    }

    /// The profile's [`TABLES`] keys (hex, one per table).
    pub fn keys(&self, p: &Profile) -> Vec<String> {
        self.dirs
            .chunks(PROJECTIONS)
            .zip(self.offsets.chunks(PROJECTIONS))
            .enumerate()
            .map(|(table, (dirs, offsets))| {
                let cells: Vec<String> = dirs
                    .iter()
                    .zip(offsets)
                    .map(|(d, o)| {
                        let dot: f64 = d.iter().zip(&p.v).map(|(a, b)| a * b).sum();
                        (((dot + o) / WIDTH).floor() as i64).to_string()
                    })
                    .collect();
                format!("{table}:{}", cells.join(","))
            })
            .chain(self.offset_keys(p))
            .collect()
    }

    /// A reach's cells in the four set-off grids (none for a drag).
    fn offset_keys(&self, p: &Profile) -> Vec<String> {
        let Some([x, y]) = p.offset else {
            return Vec::new();
        };
        let half = OFFSET_CELL / 2.0;
        [(0.0, 0.0), (half, 0.0), (0.0, half), (half, half)]
            .iter()
            .enumerate()
            .map(|(grid, (ox, oy))| {
                let cx = ((x + ox) / OFFSET_CELL).floor() as i64;
                let cy = ((y + oy) / OFFSET_CELL).floor() as i64;
                format!("o{grid}:{cx},{cy}")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::Pointer;
    use crate::risk::behaviour::{pointing, synth};
    use rand::{Rng, SeedableRng, rngs::StdRng};
    use std::collections::HashMap;

    /// What a replaying attacker does to a recorded drag: ±2 ms (time kept running
    /// forward), ±0.5 px, rescaled along the track by `scale`, re-paced by `pace`.
    fn disguise(rng: &mut StdRng, src: &[Point], scale: f64, pace: f64) -> Vec<Point> {
        let mut last_t = f64::MIN;
        src.iter()
            .map(|p| {
                last_t = (p[2] * pace + rng.random_range(-2.0..2.0f64).round()).max(last_t);
                [
                    p[0] * scale + rng.random_range(-0.5..0.5),
                    p[1] + rng.random_range(-0.5..0.5),
                    last_t,
                ]
            })
            .collect()
    }

    /// An index of `people` profiles by key; how many of `probes` find a copy in it, and
    /// the mean number of candidates measured.
    fn look_up(people: &[Profile], probes: &[Profile], radius: f64) -> (usize, f64) {
        let h = Hasher::new(&[7; 32]);
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, q) in people.iter().enumerate() {
            for k in h.keys(q) {
                index.entry(k).or_default().push(i);
            }
        }
        let (mut found, mut measured) = (0, 0);
        for p in probes {
            let candidates: Vec<usize> = h
                .keys(p)
                .iter()
                .filter_map(|k| index.get(k))
                .flatten()
                .copied()
                .collect();
            measured += candidates.len();
            if candidates.iter().any(|&i| people[i].is_copy_of(p, radius)) {
                found += 1;
            }
        }
        (found, measured as f64 / probes.len() as f64)
    }

    fn people(rng: &mut StdRng, n: usize) -> Vec<Vec<Point>> {
        (0..n)
            .map(|_| {
                let d = rng.random_range(120.0..300.0);
                synth::human(rng, d, Pointer::Mouse)
            })
            .collect()
    }

    /// Synthetic people's approaches to a one-click box, the click as the last point.
    fn reaches(rng: &mut StdRng, n: usize) -> Vec<Vec<Point>> {
        (0..n)
            .map(|_| {
                let a = pointing::person(rng);
                let mut points = a.points;
                points.push(a.click);
                points
            })
            .collect()
    }

    /// A drag's profile, or (`reach`) an approach's with its click last.
    fn profile_of(reach: bool, points: &[Point]) -> Option<Profile> {
        match points.split_last() {
            Some((&click, approach)) if reach => reach_profile(approach, click),
            _ => profile(points),
        }
    }

    fn measure(n_people: usize, n_probes: usize) -> (usize, usize, f64) {
        measure_with(false, 0.5..1.2, DRAG_RADIUS, n_people, n_probes)
    }

    fn measure_with(
        reach: bool,
        scales: std::ops::Range<f64>,
        radius: f64,
        n_people: usize,
        n_probes: usize,
    ) -> (usize, usize, f64) {
        let make = if reach { reaches } else { people };
        let mut rng = StdRng::seed_from_u64(11);
        let drags = make(&mut rng, n_people);
        let stored: Vec<Profile> = drags.iter().filter_map(|d| profile_of(reach, d)).collect();
        let copies: Vec<Profile> = drags[..n_probes]
            .iter()
            .filter_map(|d| {
                let scale = if scales.is_empty() {
                    scales.start
                } else {
                    rng.random_range(scales.clone())
                };
                let pace = rng.random_range(0.9..1.1);
                profile_of(reach, &disguise(&mut rng, d, scale, pace))
            })
            .collect();
        let fresh: Vec<Profile> = make(&mut rng, n_probes)
            .iter()
            .filter_map(|d| profile_of(reach, d))
            .collect();
        let (caught, per_look_up) = look_up(&stored, &copies, radius);
        let (mistaken, _) = look_up(&stored, &fresh, radius);
        (caught, mistaken, per_look_up)
    }

    #[test]
    fn jittered_rescaled_repaced_copies_are_found_and_people_are_not_copies() {
        let (caught, mistaken, per_look_up) = measure(3_000, 300);
        assert!(caught >= 270, "{caught} of 300 copies found");
        assert_eq!(mistaken, 0, "fresh people taken for copies");
        assert!(per_look_up < 20.0, "{per_look_up} candidates per look-up");
    }

    #[test]
    fn jittered_repaced_reaches_are_found_even_moved_with_their_box_and_people_are_not() {
        let (caught, mistaken, _) = measure_with(true, 1.0..1.0, REACH_RADIUS, 3_000, 300);
        assert!(caught >= 270, "{caught} of 300 reaches found");
        assert_eq!(mistaken, 0, "fresh people's reaches taken for copies");
        // The page laid out differently: the recorded reach moved with its box.
        let mut rng = StdRng::seed_from_u64(5);
        let h = Hasher::new(&[9; 32]);
        let (mut found, mut tried) = (0, 0);
        for mut points in reaches(&mut rng, 200) {
            let Some(stored) = profile_of(true, &points) else {
                continue;
            };
            for p in &mut points {
                (p[0], p[1]) = (p[0] + 137.0, p[1] - 42.0);
            }
            let Some(copy) = profile_of(true, &disguise(&mut rng, &points, 1.0, 1.0)) else {
                continue;
            };
            tried += 1;
            let shares_a_key = h.keys(&copy).iter().any(|k| h.keys(&stored).contains(k));
            found += usize::from(shares_a_key && copy.is_copy_of(&stored, REACH_RADIUS));
        }
        assert!(
            found * 10 >= tried * 9,
            "{found} of {tried} moved reaches found"
        );
    }

    #[test]
    fn profiles_survive_their_stored_form_and_short_movements_have_none() {
        let mut rng = StdRng::seed_from_u64(3);
        let d = synth::human(&mut rng, 300.0, Pointer::Mouse);
        let p = profile(&d).unwrap();
        let back = Profile::from_bytes(&p.to_bytes()).unwrap();
        assert!(p.apart(&back) < 0.05);
        assert!(Profile::from_bytes(&[0; 7]).is_none());
        let a = pointing::person(&mut rng);
        let r = reach_profile(&a.points, a.click).expect("a reach");
        let back = Profile::from_bytes(&r.to_bytes()).unwrap();
        assert!(r.apart(&back) < 0.05);
        let (o, ob) = (r.offset.unwrap(), back.offset.unwrap());
        assert!((o[0] - ob[0]).abs() <= 0.07 && (o[1] - ob[1]).abs() <= 0.07);
        assert!(profile(&d[..11]).is_none());
        let still: Vec<Point> = (0..20).map(|i| [0.0, 0.0, i as f64 * 16.0]).collect();
        assert!(profile(&still).is_none(), "no distance covered");
        let instant: Vec<Point> = (0..20).map(|i| [i as f64 * 10.0, 0.0, 0.0]).collect();
        assert!(profile(&instant).is_none(), "no time taken");
    }

    #[test]
    fn keys_depend_on_the_deployment_secret() {
        let mut rng = StdRng::seed_from_u64(4);
        let p = profile(&synth::human(&mut rng, 300.0, Pointer::Mouse)).unwrap();
        let (a, b) = (Hasher::new(&[1; 32]), Hasher::new(&[2; 32]));
        assert_eq!(a.keys(&p), Hasher::new(&[1; 32]).keys(&p));
        assert_eq!(a.keys(&p).len(), TABLES);
        assert_ne!(a.keys(&p), b.keys(&p));
    }

    /// The figures in the module doc: `cargo test --release --lib risk::resemblance --
    /// --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement (seconds in release)"]
    fn measure_a_day_of_one_busy_tenant() {
        let (caught, mistaken, per_look_up) = measure(20_000, 1_000);
        println!(
            "drags, 20,000 stored: copies found {caught}/1000, fresh people taken for \
             copies {mistaken}/1000, {per_look_up:.1} candidates measured per look-up"
        );
        let (caught, mistaken, per_look_up) =
            measure_with(true, 1.0..1.0, REACH_RADIUS, 20_000, 1_000);
        println!(
            "reaches, 20,000 stored: copies found {caught}/1000, fresh people taken for \
             copies {mistaken}/1000, {per_look_up:.1} candidates measured per look-up"
        );
    }
}
