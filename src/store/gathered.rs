//! The embedded engine's index of gathered values (`HotStore::gather`: the buckets behind
//! near-duplicate movements, `risk::resemblance`), held in memory.
//!
//! Each value is one entry, whatever the number of buckets it joins; an entry links, for
//! each of its buckets, to the one gathered into that bucket before it, and a map holds
//! each bucket's newest entry. Reading a bucket walks its chain, newest first, until it has
//! `cap` live values: values beyond a bucket's cap are never read again and simply wait
//! to leave with their entry. Entries leave in the order they came: at purge, while the
//! oldest has expired, and at once whenever more than the capacity are held (the oldest
//! first, whatever its expiry).
//!
//! The engine appends each entry to a table as it is gathered and reads the table back into
//! a new index on start (`embedded`). In a B-tree keyed by bucket, every value wrote a page
//! at a random place for each of its eight buckets — most of what a full verification cycle
//! wrote to the write-ahead log, and a third of its server time.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// A bucket, named by a 64-bit digest of its scope and name (`bucket_key`).
pub type BucketKey = u64;

/// One gathered value.
#[derive(Debug)]
struct Entry {
    /// Its row in the engine's table (the table is purged up to the oldest entry's).
    seq: i64,
    expires_at: i64,
    value: Box<[u8]>,
    /// One for each of its buckets.
    links: Box<[Link]>,
}

/// An entry's place in one bucket's chain: the bucket, and how many entries back the one
/// gathered into it before this one is (0 for none; one beyond the capacity is never
/// followed). Packed: 12 bytes instead of 16, eight or twelve to a value.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct Link {
    bucket: BucketKey,
    back: u32,
}

/// Hashes a [`BucketKey`] as itself: it is already a uniform digest, of names derived from
/// a deployment secret, so no caller can aim keys at one slot of the map.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The index: entries in the order gathered, and each bucket's newest.
#[derive(Debug)]
pub struct Gathered {
    entries: VecDeque<Entry>,
    /// The number of `entries[0]`; numbers only grow.
    first: u64,
    heads: HashMap<BucketKey, u64, BuildHasherDefault<Identity>>,
    capacity: usize,
    /// The highest row added.
    last_seq: i64,
}

impl Gathered {
    /// An empty index that keeps at most `capacity` entries.
    pub fn new(capacity: usize) -> Gathered {
        Gathered {
            entries: VecDeque::new(),
            first: 0,
            heads: HashMap::default(),
            capacity: capacity.max(1),
            last_seq: 0,
        }
    }

    /// A row number above every one added so far.
    pub fn next_seq(&self) -> i64 {
        self.last_seq + 1
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The values each of `buckets` holds live at `now_ms`, newest first and at most `cap`
    /// per bucket, bucket by bucket.
    pub fn held(&self, buckets: &[BucketKey], cap: usize, now_ms: i64) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for &bucket in buckets {
            let mut taken = 0;
            let mut at = self.heads.get(&bucket).copied();
            while let Some(number) = at.filter(|&n| taken < cap && n >= self.first) {
                let Some(e) = self.entries.get((number - self.first) as usize) else {
                    break;
                };
                if e.expires_at > now_ms {
                    out.push(e.value.to_vec());
                    taken += 1;
                }
                at = e
                    .links
                    .iter()
                    .find(|l| { l.bucket } == bucket)
                    .filter(|l| l.back > 0)
                    .and_then(|l| number.checked_sub(u64::from(l.back)));
            }
        }
        out
    }

    /// Add a value to `buckets` (each named once), as the newest of each; `seq` is its row.
    /// Beyond the capacity, the oldest entries go; returns how many.
    pub fn add(&mut self, seq: i64, buckets: &[BucketKey], value: &[u8], expires_at: i64) -> u64 {
        let number = self.first + self.entries.len() as u64;
        self.last_seq = self.last_seq.max(seq);
        let mut links: Vec<Link> = Vec::with_capacity(buckets.len());
        for (i, &bucket) in buckets.iter().enumerate() {
            if buckets[..i].contains(&bucket) {
                continue;
            }
            let back = self
                .heads
                .insert(bucket, number)
                .map_or(0, |prev| u32::try_from(number - prev).unwrap_or(0));
            links.push(Link { bucket, back });
        }
        self.entries.push_back(Entry {
            seq,
            expires_at,
            value: value.into(),
            links: links.into(),
        });
        let mut gone = 0;
        while self.entries.len() > self.capacity {
            self.pop();
            gone += 1;
        }
        gone
    }

    /// Drop the oldest entries while they have expired at `now_ms`; returns how many went.
    /// (One that expires before an older one waits for it; reads skip it meanwhile.)
    pub fn purge(&mut self, now_ms: i64) -> u64 {
        let mut gone = 0;
        while self.entries.front().is_some_and(|e| e.expires_at <= now_ms) {
            self.pop();
            gone += 1;
        }
        gone
    }

    /// The row of the oldest entry held: every row before it may be deleted.
    pub fn oldest_seq(&self) -> Option<i64> {
        self.entries.front().map(|e| e.seq)
    }

    fn pop(&mut self) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        let number = self.first;
        self.first += 1;
        for link in e.links.iter() {
            // The bucket's newest leaving means the whole bucket has.
            let bucket = link.bucket;
            if self.heads.get(&bucket) == Some(&number) {
                self.heads.remove(&bucket);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_read_newest_first_up_to_their_cap_and_only_live_values() {
        let mut g = Gathered::new(100);
        g.add(1, &[1, 2], b"one", 1_000);
        g.add(2, &[2], b"two", 1_000);
        g.add(3, &[2, 3], b"three", 50);
        assert_eq!(
            g.held(&[2], 10, 0),
            vec![b"three".to_vec(), b"two".into(), b"one".into()]
        );
        assert_eq!(g.held(&[2], 2, 0), vec![b"three".to_vec(), b"two".into()]);
        // The cap counts live values only.
        assert_eq!(g.held(&[2], 2, 60), vec![b"two".to_vec(), b"one".into()]);
        assert_eq!(
            g.held(&[1, 3], 10, 0),
            vec![b"one".to_vec(), b"three".into()]
        );
        assert!(g.held(&[4], 10, 0).is_empty());
        // A bucket named twice in one value is linked once (no chain through itself).
        g.add(4, &[5, 5], b"four", 1_000);
        assert_eq!(g.held(&[5], 10, 0), vec![b"four".to_vec()]);
    }

    #[test]
    fn the_capacity_drops_the_oldest_entries_and_their_buckets() {
        let mut g = Gathered::new(3);
        for i in 0..5u64 {
            let gone = g.add(i as i64 + 10, &[i, 100], &[i as u8], 1_000);
            assert_eq!(gone, u64::from(i >= 3));
        }
        assert_eq!(g.len(), 3);
        assert_eq!(g.oldest_seq(), Some(12));
        assert_eq!(g.held(&[100], 10, 0), vec![vec![4], vec![3], vec![2]]);
        assert!(g.held(&[0], 10, 0).is_empty() && g.held(&[1], 10, 0).is_empty());
        // Buckets whose every entry left are forgotten, not kept as dead heads.
        assert_eq!(g.heads.len(), 4);
    }

    #[test]
    fn purging_stops_at_the_first_live_entry() {
        let mut g = Gathered::new(10);
        g.add(1, &[1], b"a", 10);
        g.add(2, &[1], b"b", 30);
        g.add(3, &[1], b"c", 20);
        assert_eq!(g.purge(25), 1);
        assert_eq!(g.oldest_seq(), Some(2));
        // "c" expired but waits behind "b"; reads skip it.
        assert_eq!(g.held(&[1], 10, 25), vec![b"b".to_vec()]);
        assert_eq!(g.purge(30), 2);
        assert!(g.is_empty() && g.heads.is_empty());
        assert_eq!(g.oldest_seq(), None);
    }

    /// Memory per entry, for `RESEMBLANCE_VALUES`'s doc: `cargo test --release --lib
    /// store::gathered -- --ignored --nocapture`. Every bucket new (the most a value can
    /// cost), then eight buckets shared by many (one fixed key in eight).
    #[test]
    #[ignore = "a measurement (a second in release)"]
    fn memory_per_entry() {
        fn resident() -> u64 {
            let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
            statm
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
                * 4096
        }
        const N: u64 = 500_000;
        let mut kept = Vec::new();
        for (label, spread) in [("every bucket new", u64::MAX), ("few buckets", 1 << 12)] {
            let before = resident();
            let mut g = Gathered::new(N as usize);
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            for i in 0..N {
                let keys: Vec<u64> = (0..8)
                    .map(|t| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x % spread) * 8 + t
                    })
                    .collect();
                g.add(i as i64, &keys, &[7; 64], i64::MAX);
            }
            let per = (resident() - before) as f64 / N as f64;
            println!(
                "{label}: {per:.0} bytes per entry ({} buckets)",
                g.heads.len()
            );
            assert_eq!(g.len(), N as usize);
            kept.push(g);
        }
    }
}
