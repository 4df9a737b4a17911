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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A min-queue: a sorted lane for keys that arrive in order, a heap for the rest.
#[derive(Debug, Clone)]
pub struct LaneHeap<T> {
    lane: VecDeque<T>,
    heap: BinaryHeap<Reverse<T>>,
}

impl<T: Ord> Default for LaneHeap<T> {
    fn default() -> Self {
        LaneHeap {
            lane: VecDeque::new(),
            heap: BinaryHeap::new(),
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
        self.lane.len() + self.heap.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.lane.is_empty() && self.heap.is_empty()
    }

    /// Adds a key.
    pub fn push(&mut self, key: T) {
        match self.lane.back() {
            Some(last) if *last > key => self.heap.push(Reverse(key)),
            _ => self.lane.push_back(key),
        }
    }

    /// Whether the next pop comes from the lane (`None`: nothing held).
    fn lane_first(&self) -> Option<bool> {
        match (self.lane.front(), self.heap.peek()) {
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
            false => self.heap.peek().map(|r| &r.0),
        }
    }

    /// Takes the smallest key out.
    pub fn pop(&mut self) -> Option<T> {
        match self.lane_first()? {
            true => self.lane.pop_front(),
            false => self.heap.pop().map(|r| r.0),
        }
    }
}

impl<T: Ord> From<Vec<T>> for LaneHeap<T> {
    /// Keys in ascending order become the lane as they are; any others, a heap built in O(n).
    fn from(keys: Vec<T>) -> Self {
        if keys.windows(2).all(|w| w[0] <= w[1]) {
            LaneHeap {
                lane: VecDeque::from(keys),
                heap: BinaryHeap::new(),
            }
        } else {
            LaneHeap {
                lane: VecDeque::new(),
                heap: keys.into_iter().map(Reverse).collect(),
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
    fn a_vector_becomes_the_lane_when_sorted_and_a_heap_otherwise() {
        for keys in [vec![1, 2, 2, 7], vec![3, 1, 2, 2, 9, 0]] {
            let mut q = LaneHeap::from(keys.clone());
            let mut sorted = keys.clone();
            sorted.sort();
            let sorted_in = keys == sorted;
            assert_eq!(
                (q.lane.len(), q.heap.len()),
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
        assert_eq!((q.lane.len(), q.heap.len()), (4, 1));
        let order: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [1, 2, 2, 3, 5]);
    }
}
