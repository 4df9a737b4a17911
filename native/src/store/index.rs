//! The URL index: every live URL key, where its current version is durable, and (for the hot
//! set) the record itself.
//!
//! Invariants:
//! - Every key the store knows has one [`Entry`]. Its [`Loc`] is where the current version
//!   can be read back from disk (a snapshot row or a log frame), or `Tomb` for a deletion not
//!   yet folded into a snapshot.
//! - `resident` counts entries whose record is held in memory, whatever brought it there
//!   (snapshot load, replay, put, or a read of a cold record). With a budget, it never exceeds
//!   the budget after an operation returns; the oldest-resident record is dropped first
//!   (FIFO). Dropping a record loses nothing: its `Loc` still addresses it.

use meguri_core::keys::UrlKey;
use meguri_core::records::UrlRecord;
use std::collections::{HashMap, VecDeque};

/// Where the current version of a URL record is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Loc {
    /// Row `n` of the current snapshot.
    Snap(u32),
    /// The frame at this byte offset of the current log.
    Log(u64),
    /// Deleted since the snapshot.
    Tomb,
}

/// One URL key's state.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Where it is on disk.
    pub loc: Loc,
    /// Index of the resident record in the slab, or `NONE`.
    slot: u32,
}

const NONE: u32 = u32::MAX;

/// The index with its resident budget.
#[derive(Debug, Default)]
pub struct UrlIndex {
    map: HashMap<UrlKey, Entry>,
    slab: Vec<UrlRecord>,
    free: Vec<u32>,
    fifo: VecDeque<UrlKey>,
    resident: usize,
    live: usize,
    budget: usize,
}

impl UrlIndex {
    /// An empty index; `budget` 0 means every record stays resident.
    pub fn new(budget: usize) -> Self {
        UrlIndex {
            budget,
            ..UrlIndex::default()
        }
    }

    /// Live (not deleted) URL keys.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Records held in memory.
    pub fn resident(&self) -> usize {
        self.resident
    }

    /// The resident-record budget (0 = unbounded).
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The entry of `key`, if the key is known (live or deleted).
    pub fn entry(&self, key: &UrlKey) -> Option<Entry> {
        self.map.get(key).copied()
    }

    /// Whether `key` is live (known and not deleted).
    pub fn is_live(&self, key: &UrlKey) -> bool {
        self.map.get(key).is_some_and(|e| e.loc != Loc::Tomb)
    }

    /// The resident record of an entry.
    pub fn record(&self, e: Entry) -> Option<&UrlRecord> {
        (e.slot != NONE).then(|| &self.slab[e.slot as usize])
    }

    /// Records that `r` is now the current version, durable at `loc`, and keeps it resident
    /// (evicting older records if over budget).
    pub fn put(&mut self, r: UrlRecord, loc: Loc) {
        let key = r.key;
        let prev = self.map.get(&key).copied();
        let slot = match prev {
            Some(e) if e.slot != NONE => {
                self.slab[e.slot as usize] = r;
                e.slot
            }
            _ => self.admit(r),
        };
        if !matches!(prev, Some(e) if e.loc != Loc::Tomb) {
            self.live += 1;
        }
        self.map.insert(key, Entry { loc, slot });
        self.enforce_budget();
    }

    /// Records a cold entry: known and durable at `loc`, not in memory.
    pub fn put_cold(&mut self, key: UrlKey, loc: Loc) {
        if let Some(old) = self.map.insert(key, Entry { loc, slot: NONE }) {
            self.release(old.slot);
            if old.loc != Loc::Tomb {
                return;
            }
        }
        self.live += 1;
    }

    /// Marks `key` deleted. Returns whether it was live.
    pub fn delete(&mut self, key: UrlKey) -> bool {
        match self.map.get_mut(&key) {
            Some(e) if e.loc != Loc::Tomb => {
                let slot = std::mem::replace(&mut e.slot, NONE);
                e.loc = Loc::Tomb;
                self.release(slot);
                self.live -= 1;
                true
            }
            _ => false,
        }
    }

    /// Makes a record read back from disk resident again (it counts against the budget).
    pub fn rematerialize(&mut self, r: UrlRecord) {
        if let Some(e) = self.map.get(&r.key).copied() {
            if e.slot == NONE && e.loc != Loc::Tomb {
                let slot = self.admit(r);
                if let Some(m) = self.map.get_mut(&r.key) {
                    m.slot = slot;
                }
                self.enforce_budget();
            }
        }
    }

    /// Every key with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&UrlKey, &Entry)> {
        self.map.iter()
    }

    /// After a checkpoint: forgets deletions and points every live key at its new snapshot
    /// row. `rows` are the live keys in snapshot order.
    pub fn rebase(&mut self, rows: &[UrlKey]) {
        self.map.retain(|_, e| e.loc != Loc::Tomb);
        for (i, k) in rows.iter().enumerate() {
            if let Some(e) = self.map.get_mut(k) {
                e.loc = Loc::Snap(i as u32);
            }
        }
    }

    fn admit(&mut self, r: UrlRecord) -> u32 {
        self.resident += 1;
        if self.budget > 0 {
            self.fifo.push_back(r.key);
        }
        match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = r;
                i
            }
            None => {
                self.slab.push(r);
                (self.slab.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, slot: u32) {
        if slot != NONE {
            self.free.push(slot);
            self.resident -= 1;
        }
    }

    fn enforce_budget(&mut self) {
        if self.budget == 0 {
            return;
        }
        while self.resident > self.budget {
            let Some(key) = self.fifo.pop_front() else {
                break;
            };
            if let Some(e) = self.map.get_mut(&key) {
                if e.slot != NONE && e.loc != Loc::Tomb {
                    let slot = std::mem::replace(&mut e.slot, NONE);
                    self.release(slot);
                }
            }
        }
        // Keys evicted long ago and re-admitted appear twice; keep the queue from growing
        // past a small multiple of the budget.
        if self.fifo.len() > 4 * self.budget + 1024 {
            let map = &self.map;
            let mut seen = std::collections::HashSet::new();
            let mut kept: VecDeque<UrlKey> = VecDeque::with_capacity(self.resident);
            for k in self.fifo.iter().rev() {
                if map.get(k).is_some_and(|e| e.slot != NONE) && seen.insert(*k) {
                    kept.push_front(*k);
                }
            }
            self.fifo = kept;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u64) -> UrlRecord {
        UrlRecord {
            key: UrlKey { host: i, path: i },
            crawl_count: i as u32,
            ..UrlRecord::default()
        }
    }

    #[test]
    fn budget_bounds_resident_records_of_every_origin() {
        let mut ix = UrlIndex::new(10);
        for i in 0..50 {
            ix.put(rec(i), Loc::Log(i * 121));
            assert!(ix.resident() <= 10);
        }
        assert_eq!(ix.live(), 50);
        let cold = ix.iter().filter(|(_, e)| ix.record(**e).is_none()).count();
        assert_eq!(cold, 40);
        for i in 0..50 {
            ix.rematerialize(rec(i));
            assert!(ix.resident() <= 10);
        }
        assert!(ix.delete(rec(3).key));
        assert!(!ix.delete(rec(3).key));
        assert_eq!(ix.live(), 49);
        ix.put(rec(3), Loc::Log(1));
        assert_eq!(ix.live(), 50);
        ix.put_cold(rec(99).key, Loc::Snap(0));
        assert_eq!(ix.live(), 51);
    }
}
