//! A min-queue for keys that mostly arrive in ascending order.
//!
//! The frontier's schedule is such a queue: a round of hand-outs visits queues in schedule
//! order and files each one again at `now + delay`, so the entries of a round arrive sorted,
//! and a round's promotions from the waiting schedule to the ready one arrive sorted too. A
//! binary heap pays `log n` cache misses per pop for order that was already there. A
//! [`LaneHeap`] keeps a sorted lane beside a heap: a key no smaller than the lane's last goes
//! on the lane's end in O(1); any other key goes to the heap. A pop takes the smaller of the
//! lane's first key and the heap's top.
//!
//! Invariant: the lane is sorted ascending. So the lane's front is its minimum, the heap's
//! top is its minimum, and the smaller of the two is the minimum of all: pops come out in
//! exactly the order one binary heap of every key would give (equal keys are equal values).
//! Keys that arrive in no order at all cost what a heap costs, plus one comparison.
//!
//! A [`BandHeap`] orders pairs `(band, key)` for bands of few values (priority levels) with
//! one lane heap per band, so that keys in order within their band stay cheap when the bands
//! of successive pushes are scattered.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A min-queue: a sorted lane for keys that arrive in order, a heap for the rest.
///
/// The heap is made when a key first needs it: the frontier keeps a lane heap per queue, and
/// most queues never see a key out of order, so an absent heap saves 16 bytes a queue.
#[derive(Debug, Clone)]
pub struct LaneHeap<T> {
    lane: VecDeque<T>,
    // Boxed on purpose: an absent heap is 8 bytes here instead of a `BinaryHeap`'s 24.
    #[allow(clippy::box_collection)]
    heap: Option<Box<BinaryHeap<Reverse<T>>>>,
}

impl<T: Ord> Default for LaneHeap<T> {
    fn default() -> Self {
        LaneHeap {
            lane: VecDeque::new(),
            heap: None,
        }
    }
}

impl<T: Ord> LaneHeap<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.lane.len() + self.heap_len()
    }

    /// Keys off the lane.
    fn heap_len(&self) -> usize {
        self.heap.as_ref().map_or(0, |h| h.len())
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room on the lane for `additional` more keys: for a caller that knows how many
    /// keys come in order, so the lane does not grow by doubling past them.
    pub fn reserve(&mut self, additional: usize) {
        self.lane.reserve_exact(additional);
    }

    /// Adds a key.
    pub fn push(&mut self, key: T) {
        match self.lane.back() {
            Some(last) if *last > key => self.heap.get_or_insert_default().push(Reverse(key)),
            _ => self.lane.push_back(key),
        }
    }

    /// The heap's top.
    fn heap_top(&self) -> Option<&Reverse<T>> {
        self.heap.as_ref().and_then(|h| h.peek())
    }

    /// Whether the next pop comes from the lane (`None`: nothing held).
    fn lane_first(&self) -> Option<bool> {
        match (self.lane.front(), self.heap_top()) {
            (Some(a), Some(Reverse(b))) => Some(a <= b),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (None, None) => None,
        }
    }

    /// The smallest key.
    pub fn peek(&self) -> Option<&T> {
        match self.lane_first()? {
            true => self.lane.front(),
            false => self.heap_top().map(|r| &r.0),
        }
    }

    /// Takes the smallest key out.
    pub fn pop(&mut self) -> Option<T> {
        match self.lane_first()? {
            true => self.lane.pop_front(),
            false => self.heap.as_mut().and_then(|h| h.pop()).map(|r| r.0),
        }
    }
}

impl<T: Ord> From<Vec<T>> for LaneHeap<T> {
    /// Keys in ascending order become the lane as they are; any others, a heap built in O(n).
    fn from(keys: Vec<T>) -> Self {
        if keys.windows(2).all(|w| w[0] <= w[1]) {
            LaneHeap {
                lane: VecDeque::from(keys),
                heap: None,
            }
        } else {
            LaneHeap {
                lane: VecDeque::new(),
                heap: Some(Box::new(keys.into_iter().map(Reverse).collect())),
            }
        }
    }
}

impl<T: Ord> Extend<T> for LaneHeap<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, keys: I) {
        for k in keys {
            self.push(k);
        }
    }
}

/// Bands a [`BandHeap`] keeps apart before it files further ones together in one heap.
pub const MAX_BANDS: usize = 32;

/// A min-queue of `(band, key)` pairs for bands that take few values: a [`LaneHeap`] of keys
/// per band, so that keys arriving in order *within* their band stay on a lane even when the
/// bands of successive pushes jump about.
///
/// The frontier's ready schedule is such a queue: queues are promoted to it in time order, but
/// ordered by their head URL's priority first. With a few priority levels scattered over the
/// URLs, a single [`LaneHeap`] sees the priorities jump at every push and falls back on its
/// binary heap; one lane per priority keeps every push in order.
///
/// Invariant: `bands` is sorted by band, each band at most once, and holds at most
/// [`MAX_BANDS`] bands; a pair whose band has no place there (all taken) goes to `spill`. So
/// the minimum of all pairs is the smaller of the first non-empty band's minimum and
/// `spill`'s, and pops come out in exactly the order one binary heap of the pairs would give.
#[derive(Debug, Clone)]
pub struct BandHeap<B, T> {
    bands: Vec<(B, LaneHeap<T>)>,
    spill: LaneHeap<(B, T)>,
}

impl<B: Ord + Copy, T: Ord + Copy> Default for BandHeap<B, T> {
    fn default() -> Self {
        BandHeap {
            bands: Vec::new(),
            spill: LaneHeap::new(),
        }
    }
}

impl<B: Ord + Copy, T: Ord + Copy> BandHeap<B, T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pairs held.
    pub fn len(&self) -> usize {
        self.bands.iter().map(|(_, lane)| lane.len()).sum::<usize>() + self.spill.len()
    }

    /// Whether no pair is held.
    pub fn is_empty(&self) -> bool {
        self.spill.is_empty() && self.bands.iter().all(|(_, lane)| lane.is_empty())
    }

    /// Adds a pair.
    pub fn push(&mut self, band: B, key: T) {
        match self.bands.binary_search_by(|(b, _)| b.cmp(&band)) {
            Ok(i) => self.bands[i].1.push(key),
            Err(i) if self.bands.len() < MAX_BANDS => {
                let mut lane = LaneHeap::new();
                lane.push(key);
                self.bands.insert(i, (band, lane));
            }
            Err(_) => self.spill.push((band, key)),
        }
    }

    /// The smallest pair and where it is: `Some(i)` in band `i`, `None` in the spill. The
    /// first non-empty band holds the smallest banded pair; the spill may hold a smaller one.
    fn smallest(&self) -> Option<(Option<usize>, (B, T))> {
        let banded = self
            .bands
            .iter()
            .enumerate()
            .find_map(|(i, (b, lane))| lane.peek().map(|k| (Some(i), (*b, *k))));
        let spilled = self.spill.peek().map(|&pair| (None, pair));
        match (banded, spilled) {
            (Some(a), Some(s)) => Some(if s.1 < a.1 { s } else { a }),
            (a, s) => a.or(s),
        }
    }

    /// The smallest pair.
    pub fn peek(&self) -> Option<(B, T)> {
        self.smallest().map(|(_, pair)| pair)
    }

    /// Takes the smallest pair out.
    pub fn pop(&mut self) -> Option<(B, T)> {
        match self.smallest()? {
            (Some(i), (band, _)) => self.bands[i].1.pop().map(|k| (band, k)),
            (None, _) => self.spill.pop(),
        }
    }
}

impl<B: Ord + Copy, T: Ord + Copy> Extend<(B, T)> for BandHeap<B, T> {
    fn extend<I: IntoIterator<Item = (B, T)>>(&mut self, pairs: I) {
        for (band, key) in pairs {
            self.push(band, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so a failure repeats.
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    #[test]
    fn pops_come_out_as_one_binary_heap_would_give_them() {
        // Mixes of sorted runs (the frontier's rounds) and strays, pushes and pops interleaved.
        for seed in 1..40u64 {
            let mut next = rng(seed);
            let (mut lane, mut heap) = (LaneHeap::new(), BinaryHeap::new());
            let mut base = 0u64;
            for _ in 0..2000 {
                match next() % 8 {
                    0..=3 => {
                        base += next() % 3;
                        lane.push(base);
                        heap.push(Reverse(base));
                    }
                    4 => {
                        let k = next() % (base + 10);
                        lane.push(k);
                        heap.push(Reverse(k));
                    }
                    _ => {
                        assert_eq!(lane.peek().copied(), heap.peek().map(|r| r.0));
                        assert_eq!(lane.pop(), heap.pop().map(|r| r.0), "seed {seed}");
                    }
                }
                assert_eq!(lane.len(), heap.len());
            }
            while let Some(Reverse(k)) = heap.pop() {
                assert_eq!(lane.pop(), Some(k));
            }
            assert!(lane.is_empty() && lane.pop().is_none());
        }
    }

    #[test]
    fn band_heap_pops_come_out_as_one_binary_heap_would_give_them() {
        // Few bands (each on its own lane), then more bands than it keeps apart (the rest
        // spill to one heap), keys in order within a band and strays, pops interleaved.
        for (bands, seed) in (1..40u64).flat_map(|s| [(3, s), (8, s), (MAX_BANDS as u64 + 9, s)]) {
            let mut next = rng(seed * 97 + bands);
            let (mut banded, mut heap) = (BandHeap::new(), BinaryHeap::new());
            let mut base = 0u64;
            for _ in 0..3000 {
                match next() % 8 {
                    0..=3 => {
                        base += next() % 3;
                        let b = next() % bands;
                        banded.push(b, base);
                        heap.push(Reverse((b, base)));
                    }
                    4 => {
                        let (b, k) = (next() % bands, next() % (base + 10));
                        banded.push(b, k);
                        heap.push(Reverse((b, k)));
                    }
                    _ => {
                        assert_eq!(banded.peek(), heap.peek().map(|r| r.0));
                        assert_eq!(banded.pop(), heap.pop().map(|r| r.0), "seed {seed}");
                    }
                }
                assert_eq!(banded.len(), heap.len());
            }
            while let Some(Reverse(pair)) = heap.pop() {
                assert_eq!(banded.pop(), Some(pair));
            }
            assert!(banded.is_empty() && banded.pop().is_none() && banded.peek().is_none());
        }
    }

    #[test]
    fn keys_in_order_within_their_band_stay_on_its_lane() {
        let mut q = BandHeap::new();
        for (b, k) in [(2, 1), (0, 1), (2, 2), (1, 5), (0, 3), (2, 2)] {
            q.push(b, k);
        }
        assert!(q.bands.iter().all(|(_, lane)| lane.heap_len() == 0));
        assert_eq!(q.bands.len(), 3);
        let order: Vec<(i32, i32)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(0, 1), (0, 3), (1, 5), (2, 1), (2, 2), (2, 2)]);
    }

    #[test]
    fn a_vector_becomes_the_lane_when_sorted_and_a_heap_otherwise() {
        for keys in [vec![1, 2, 2, 7], vec![3, 1, 2, 2, 9, 0]] {
            let mut q = LaneHeap::from(keys.clone());
            let mut sorted = keys.clone();
            sorted.sort();
            let sorted_in = keys == sorted;
            assert_eq!(
                (q.lane.len(), q.heap_len()),
                if sorted_in { (4, 0) } else { (0, 6) }
            );
            q.push(5);
            sorted.push(5);
            sorted.sort();
            let order: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
            assert_eq!(order, sorted);
        }
    }

    #[test]
    fn keys_in_order_stay_on_the_lane_and_a_stray_goes_to_the_heap() {
        let mut q = LaneHeap::new();
        q.extend([1, 2, 2, 5]);
        q.push(3);
        assert_eq!((q.lane.len(), q.heap_len()), (4, 1));
        let order: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [1, 2, 2, 3, 5]);
    }
}
