//! The in-memory index: every URL key in key order with where its current version is durable
//! (and, for the hot set, the record itself), every host row, and, while a checkpoint runs, the
//! pre-images that let it read the state as of its cut while writers go on.
//!
//! Invariants:
//! - Every key the store knows has one [`Entry`]. Its [`Loc`] names the segment (a snapshot or
//!   a log, by the store's segment id) and the row or frame offset where the current version
//!   can be read back, or marks a deletion not yet folded into a snapshot (with the segment of
//!   its tombstone frame).
//! - `resident` counts entries whose record is held in memory, whatever brought it there
//!   (snapshot load, replay, put, or a read of a cold record). With a budget, it never exceeds
//!   the budget after an operation returns; the oldest-resident record is dropped first
//!   (FIFO). Dropping a record loses nothing: its `Loc` still addresses it.
//! - While frozen (a checkpoint runs), the first change to a key after the cut records the
//!   key's location as it was at the cut (or that it did not exist), so the frozen view, the
//!   live map overlaid with those pre-images, is exactly the state at the cut. Entries that
//!   existed at the cut are never removed while frozen.

use meguri_core::keys::UrlKey;
use meguri_core::records::{HostRecord, UrlRecord};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;

/// Where a version of a URL record is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// The segment (the store's id for an open snapshot or log).
    pub seg: u32,
    /// The snapshot row or the frame's byte offset; [`TOMB`] for a deletion.
    pub pos: u64,
}

/// `Loc::pos` of a deletion.
pub const TOMB: u64 = u64::MAX;

impl Loc {
    /// Whether this marks a deletion.
    pub fn is_tomb(&self) -> bool {
        self.pos == TOMB
    }
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

/// A row as a reader finds it: in memory, or to be read back from disk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Row {
    /// Resident.
    Hot(UrlRecord),
    /// Cold, at this location.
    Cold(Loc),
}

/// Rows in strictly increasing key order (a snapshot's), gathered for an empty [`UrlIndex`]
/// that is then built in one pass instead of one tree walk per row. The index it makes is the
/// one `put` (while under the budget) and `put_cold` (past it) would make row by row.
#[derive(Debug)]
pub struct SortedLoad {
    entries: Vec<(UrlKey, Entry)>,
    slab: Vec<UrlRecord>,
    fifo: VecDeque<UrlKey>,
    budget: usize,
}

impl SortedLoad {
    /// Room for `rows` rows under `budget` (0: all resident).
    pub fn new(budget: usize, rows: usize) -> Self {
        let hot = if budget == 0 { rows } else { rows.min(budget) };
        SortedLoad {
            entries: Vec::with_capacity(rows),
            slab: Vec::with_capacity(hot),
            fifo: VecDeque::with_capacity(if budget == 0 { 0 } else { hot }),
            budget,
        }
    }

    /// Adds the next row (its key above every earlier one), durable at `loc`.
    pub fn push(&mut self, r: UrlRecord, loc: Loc) {
        debug_assert!(self.entries.last().is_none_or(|(k, _)| *k < r.key));
        let slot = if self.budget == 0 || self.slab.len() < self.budget {
            if self.budget > 0 {
                self.fifo.push_back(r.key);
            }
            self.slab.push(r);
            (self.slab.len() - 1) as u32
        } else {
            NONE
        };
        self.entries.push((r.key, Entry { loc, slot }));
    }

    /// The index holding the rows.
    pub fn finish(self) -> UrlIndex {
        let live = self.entries.len();
        UrlIndex {
            // Sorted input: the tree is built bottom-up in one pass.
            map: self.entries.into_iter().collect(),
            resident: self.slab.len(),
            slab: self.slab,
            free: Vec::new(),
            fifo: self.fifo,
            live,
            budget: self.budget,
            frozen: None,
        }
    }
}

/// The URL index with its resident budget.
#[derive(Debug, Default)]
pub struct UrlIndex {
    map: BTreeMap<UrlKey, Entry>,
    slab: Vec<UrlRecord>,
    free: Vec<u32>,
    fifo: VecDeque<UrlKey>,
    resident: usize,
    live: usize,
    budget: usize,
    frozen: Option<HashMap<UrlKey, Option<Loc>>>,
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

    /// The entry of `key`, if the key is known (live or deleted).
    pub fn entry(&self, key: &UrlKey) -> Option<Entry> {
        self.map.get(key).copied()
    }

    /// Whether `key` is live (known and not deleted).
    pub fn is_live(&self, key: &UrlKey) -> bool {
        self.map.get(key).is_some_and(|e| !e.loc.is_tomb())
    }

    /// The row of `key` as a reader sees it now (`None`: unknown or deleted).
    pub fn row(&self, key: &UrlKey) -> Option<Row> {
        let e = self.map.get(key)?;
        if e.loc.is_tomb() {
            return None;
        }
        Some(match self.record(*e) {
            Some(r) => Row::Hot(*r),
            None => Row::Cold(e.loc),
        })
    }

    fn record(&self, e: Entry) -> Option<&UrlRecord> {
        (e.slot != NONE).then(|| &self.slab[e.slot as usize])
    }

    /// Whether any live key's host lies outside `lo..=hi`.
    pub fn any_outside(&self, lo: u64, hi: u64) -> bool {
        let below = self
            .map
            .range(..UrlKey { host: lo, path: 0 })
            .any(|(_, e)| !e.loc.is_tomb());
        let above = hi < u64::MAX
            && self
                .map
                .range((
                    Bound::Excluded(UrlKey {
                        host: hi,
                        path: u64::MAX,
                    }),
                    Bound::Unbounded,
                ))
                .any(|(_, e)| !e.loc.is_tomb());
        below || above
    }

    fn note_change(&mut self, key: UrlKey) {
        if let Some(f) = self.frozen.as_mut() {
            let pre = self.map.get(&key).map(|e| e.loc);
            f.entry(key).or_insert(pre);
        }
    }

    /// Records that `r` is now the current version, durable at `loc`, and keeps it resident
    /// (evicting older records if over budget).
    pub fn put(&mut self, r: UrlRecord, loc: Loc) {
        use std::collections::btree_map::Entry as Slot;
        let key = r.key;
        self.note_change(key);
        // One walk of the tree: the common cases (a new key, a resident key) finish here.
        match self.map.entry(key) {
            Slot::Occupied(mut o) if o.get().slot != NONE => {
                let e = o.get_mut();
                self.slab[e.slot as usize] = r;
                if e.loc.is_tomb() {
                    self.live += 1;
                }
                e.loc = loc;
            }
            Slot::Occupied(mut o) => {
                let was_live = !o.get().loc.is_tomb();
                o.get_mut().loc = loc;
                let slot = Self::admit_in(
                    &mut self.slab,
                    &mut self.free,
                    &mut self.fifo,
                    self.budget,
                    r,
                );
                self.resident += 1;
                if let Some(e) = self.map.get_mut(&key) {
                    e.slot = slot;
                }
                if !was_live {
                    self.live += 1;
                }
            }
            Slot::Vacant(v) => {
                let slot = Self::admit_in(
                    &mut self.slab,
                    &mut self.free,
                    &mut self.fifo,
                    self.budget,
                    r,
                );
                self.resident += 1;
                v.insert(Entry { loc, slot });
                self.live += 1;
            }
        }
        self.enforce_budget();
    }

    /// Records a cold entry: known and durable at `loc`, not in memory.
    pub fn put_cold(&mut self, key: UrlKey, loc: Loc) {
        self.note_change(key);
        if let Some(old) = self.map.insert(key, Entry { loc, slot: NONE }) {
            self.release(old.slot);
            if !old.loc.is_tomb() {
                return;
            }
        }
        self.live += 1;
    }

    /// Marks `key` deleted by the tombstone in segment `seg`. Returns whether it was live.
    pub fn delete(&mut self, key: UrlKey, seg: u32) -> bool {
        if !self.is_live(&key) {
            return false;
        }
        self.note_change(key);
        let Some(e) = self.map.get_mut(&key) else {
            return false;
        };
        let slot = std::mem::replace(&mut e.slot, NONE);
        e.loc = Loc { seg, pos: TOMB };
        self.release(slot);
        self.live -= 1;
        true
    }

    /// Makes a record read back from `loc` resident again, if the key still points there
    /// (a writer may have replaced it while it was being read).
    pub fn rematerialize(&mut self, r: UrlRecord, loc: Loc) {
        if let Some(e) = self.map.get(&r.key).copied() {
            if e.slot == NONE && e.loc == loc {
                let slot = self.admit(r);
                if let Some(m) = self.map.get_mut(&r.key) {
                    m.slot = slot;
                }
                self.enforce_budget();
            }
        }
    }

    /// Up to `n` live rows with keys above `after` (from the start when `None`), in key order,
    /// up to and including `end`.
    pub fn batch(&self, after: Option<UrlKey>, end: UrlKey, n: usize) -> Vec<(UrlKey, Row)> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.map
            .range((start, Bound::Included(end)))
            .filter(|(_, e)| !e.loc.is_tomb())
            .take(n)
            .map(|(k, e)| {
                let row = match self.record(*e) {
                    Some(r) => Row::Hot(*r),
                    None => Row::Cold(e.loc),
                };
                (*k, row)
            })
            .collect()
    }

    /// Starts a frozen view at this instant (see the module invariants).
    pub fn freeze(&mut self) {
        self.frozen = Some(HashMap::new());
    }

    /// Ends the frozen view.
    pub fn thaw(&mut self) {
        self.frozen = None;
    }

    /// Keys changed since the freeze (the pre-images held).
    pub fn frozen_changes(&self) -> usize {
        self.frozen.as_ref().map_or(0, HashMap::len)
    }

    /// Up to `n` keys above `after` that were live at the freeze, in key order, each with its
    /// row as it was then (a pre-image is always read back from disk). The last key scanned is
    /// returned too, so a caller resumes after it even when the batch is empty.
    pub fn frozen_batch(
        &self,
        after: Option<UrlKey>,
        n: usize,
    ) -> (Vec<(UrlKey, Row)>, Option<UrlKey>) {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut out = Vec::with_capacity(n.min(4096));
        let mut last = None;
        for (k, e) in self.map.range((start, Bound::Unbounded)) {
            if out.len() >= n {
                break;
            }
            last = Some(*k);
            let row = match self.frozen.as_ref().and_then(|f| f.get(k)) {
                Some(None) => continue,
                Some(Some(loc)) if loc.is_tomb() => continue,
                Some(Some(loc)) => Row::Cold(*loc),
                None if e.loc.is_tomb() => continue,
                None => match self.record(*e) {
                    Some(r) => Row::Hot(*r),
                    None => Row::Cold(e.loc),
                },
            };
            out.push((*k, row));
        }
        (out, last)
    }

    /// After a checkpoint commits: walks the frozen view from `after` like
    /// [`UrlIndex::frozen_batch`] (the same keys, so the same row numbers, starting at
    /// `row`), pointing every entry still in a frozen segment at its row of the new snapshot
    /// `seg`, and dropping deletions the snapshot has folded in. Returns the last key walked
    /// and the next row number.
    pub fn rebase_batch(
        &mut self,
        after: Option<UrlKey>,
        n: usize,
        mut row: u64,
        frozen_seg: &dyn Fn(u32) -> bool,
        seg: u32,
    ) -> (Option<UrlKey>, u64) {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut last = None;
        let mut gone = Vec::new();
        let frozen = self.frozen.as_ref();
        for (k, e) in self.map.range_mut((start, Bound::Unbounded)).take(n) {
            last = Some(*k);
            let visible = match frozen.and_then(|f| f.get(k)) {
                Some(None) => false,
                Some(Some(loc)) => !loc.is_tomb(),
                None => !e.loc.is_tomb(),
            };
            if frozen_seg(e.loc.seg) {
                if e.loc.is_tomb() {
                    gone.push(*k);
                } else {
                    e.loc = Loc { seg, pos: row };
                }
            }
            if visible {
                row += 1;
            }
        }
        for k in gone {
            self.map.remove(&k);
        }
        (last, row)
    }

    fn admit(&mut self, r: UrlRecord) -> u32 {
        self.resident += 1;
        Self::admit_in(
            &mut self.slab,
            &mut self.free,
            &mut self.fifo,
            self.budget,
            r,
        )
    }

    /// Stores a resident record in the slab (and the eviction queue, with a budget).
    fn admit_in(
        slab: &mut Vec<UrlRecord>,
        free: &mut Vec<u32>,
        fifo: &mut VecDeque<UrlKey>,
        budget: usize,
        r: UrlRecord,
    ) -> u32 {
        if budget > 0 {
            fifo.push_back(r.key);
        }
        match free.pop() {
            Some(i) => {
                slab[i as usize] = r;
                i
            }
            None => {
                slab.push(r);
                (slab.len() - 1) as u32
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
                if e.slot != NONE && !e.loc.is_tomb() {
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

/// The host rows, with the same frozen view as the URL index.
#[derive(Debug, Default)]
pub struct HostIndex {
    map: BTreeMap<u64, HostRecord>,
    frozen: Option<HashMap<u64, Option<HostRecord>>>,
}

impl HostIndex {
    /// Host rows.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The row of `key`.
    pub fn get(&self, key: u64) -> Option<HostRecord> {
        self.map.get(&key).copied()
    }

    fn note_change(&mut self, key: u64) {
        if let Some(f) = self.frozen.as_mut() {
            let pre = self.map.get(&key).copied();
            f.entry(key).or_insert(pre);
        }
    }

    /// Puts a row.
    pub fn put(&mut self, h: HostRecord) {
        self.note_change(h.host_key);
        self.map.insert(h.host_key, h);
    }

    /// Removes a row.
    pub fn remove(&mut self, key: u64) {
        self.note_change(key);
        self.map.remove(&key);
    }

    /// Whether any row's key lies outside `lo..=hi`.
    pub fn any_outside(&self, lo: u64, hi: u64) -> bool {
        self.map.range(..lo).next().is_some()
            || (hi < u64::MAX && self.map.range(hi + 1..).next().is_some())
    }

    /// Up to `n` rows with keys above `after`, in key order (live view).
    pub fn batch(&self, after: Option<u64>, n: usize) -> Vec<HostRecord> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.map
            .range((start, Bound::Unbounded))
            .take(n)
            .map(|(_, h)| *h)
            .collect()
    }

    /// Starts a frozen view.
    pub fn freeze(&mut self) {
        self.frozen = Some(HashMap::new());
    }

    /// Ends it.
    pub fn thaw(&mut self) {
        self.frozen = None;
    }

    /// Up to `n` rows with keys above `after` as they were at the freeze, in key order.
    pub fn frozen_batch(&self, after: Option<u64>, n: usize) -> Vec<HostRecord> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let Some(f) = self.frozen.as_ref() else {
            return self.batch(after, n);
        };
        // Rows removed since the cut are in the pre-images only: merge both in key order.
        let mut out: Vec<HostRecord> = self
            .map
            .range((start, Bound::Unbounded))
            .filter(|(k, _)| !f.contains_key(k))
            .take(n)
            .map(|(_, h)| *h)
            .collect();
        let bound = out.last().map(|h| h.host_key);
        let full = out.len() >= n;
        for (k, pre) in f {
            let above = after.is_none_or(|a| *k > a);
            let within = !full || bound.is_none_or(|b| *k < b);
            if let (true, true, Some(h)) = (above, within, pre) {
                out.push(*h);
            }
        }
        out.sort_unstable_by_key(|h| h.host_key);
        out.truncate(n);
        out
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

    fn log(off: u64) -> Loc {
        Loc { seg: 1, pos: off }
    }

    /// The one-pass load of a snapshot's rows makes the index `put` (under the budget) and
    /// `put_cold` (past it) make row by row: same rows, hot and cold, and the same eviction
    /// order afterwards.
    #[test]
    fn a_sorted_load_is_the_row_by_row_index() {
        let end = UrlKey {
            host: u64::MAX,
            path: u64::MAX,
        };
        for budget in [0, 7, 40] {
            let mut one = UrlIndex::new(budget);
            let mut load = SortedLoad::new(budget, 4);
            for i in 0..30 {
                let loc = Loc { seg: 0, pos: i };
                if budget == 0 || one.resident() < budget {
                    one.put(rec(i), loc);
                } else {
                    one.put_cold(rec(i).key, loc);
                }
                load.push(rec(i), loc);
            }
            let mut built = load.finish();
            assert_eq!(
                (one.live(), one.resident()),
                (built.live(), built.resident())
            );
            assert_eq!(
                one.batch(None, end, usize::MAX),
                built.batch(None, end, usize::MAX)
            );
            // Later puts evict the same records in the same order.
            for i in 100..110 {
                one.put(rec(i), log(i));
                built.put(rec(i), log(i));
                assert_eq!(
                    one.batch(None, end, usize::MAX),
                    built.batch(None, end, usize::MAX)
                );
            }
        }
    }

    #[test]
    fn budget_bounds_resident_records_of_every_origin() {
        let mut ix = UrlIndex::new(10);
        for i in 0..50 {
            ix.put(rec(i), log(i * 121));
            assert!(ix.resident() <= 10);
        }
        assert_eq!(ix.live(), 50);
        let all = ix.batch(
            None,
            UrlKey {
                host: u64::MAX,
                path: u64::MAX,
            },
            usize::MAX,
        );
        let cold = all
            .iter()
            .filter(|(_, r)| matches!(r, Row::Cold(_)))
            .count();
        assert_eq!(cold, 40);
        for i in 0..50 {
            ix.rematerialize(rec(i), log(i * 121));
            assert!(ix.resident() <= 10);
        }
        assert!(ix.delete(rec(3).key, 1));
        assert!(!ix.delete(rec(3).key, 1));
        assert_eq!(ix.live(), 49);
        ix.put(rec(3), log(1));
        assert_eq!(ix.live(), 50);
        ix.put_cold(rec(99).key, Loc { seg: 0, pos: 0 });
        assert_eq!(ix.live(), 51);
    }

    #[test]
    fn the_frozen_view_is_the_state_at_the_cut() {
        let mut ix = UrlIndex::new(0);
        for i in 0..20 {
            ix.put(rec(i), log(i));
        }
        ix.delete(rec(5).key, 1);
        ix.freeze();
        // After the cut: a change, a delete, a new key, a resurrection.
        let mut changed = rec(2);
        changed.status = 9;
        ix.put(changed, Loc { seg: 2, pos: 0 });
        ix.delete(rec(3).key, 2);
        ix.put(rec(100), Loc { seg: 2, pos: 1 });
        ix.put(rec(5), Loc { seg: 2, pos: 2 });
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (b, last) = ix.frozen_batch(after, 3);
            if last.is_none() {
                break;
            }
            seen.extend(b);
            after = last;
        }
        let keys: Vec<u64> = seen.iter().map(|(k, _)| k.path).collect();
        let want: Vec<u64> = (0..20).filter(|&i| i != 5).collect();
        assert_eq!(keys, want);
        assert_eq!(
            seen[2].1,
            Row::Cold(log(2)),
            "a pre-image is read from disk"
        );
        assert_eq!(seen[3].1, Row::Cold(log(3)));
        // Rebase: rows of the frozen segment move to the new snapshot (segment 3).
        let (mut after, mut row) = (None, 0);
        loop {
            let (last, next) = ix.rebase_batch(after, 4, row, &|s| s == 1, 3);
            if last.is_none() {
                break;
            }
            (after, row) = (last, next);
        }
        assert_eq!(row, 19);
        ix.thaw();
        assert_eq!(ix.entry(&rec(0).key).unwrap().loc, Loc { seg: 3, pos: 0 });
        assert_eq!(ix.entry(&rec(6).key).unwrap().loc, Loc { seg: 3, pos: 5 });
        assert_eq!(ix.entry(&rec(2).key).unwrap().loc.seg, 2);
        assert!(ix.entry(&rec(3).key).unwrap().loc.is_tomb());
        assert_eq!(ix.live(), 20);
    }

    #[test]
    fn frozen_hosts_merge_pre_images_in_order() {
        let mut hx = HostIndex::default();
        for k in [10u64, 20, 30, 40] {
            hx.put(HostRecord {
                host_key: k,
                ..HostRecord::default()
            });
        }
        hx.freeze();
        hx.remove(20);
        hx.put(HostRecord {
            host_key: 25,
            ..HostRecord::default()
        });
        hx.put(HostRecord {
            host_key: 30,
            crawl_delay: 7,
            ..HostRecord::default()
        });
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let b = hx.frozen_batch(after, 2);
            let Some(last) = b.last() else { break };
            after = Some(last.host_key);
            got.extend(b);
        }
        let keys: Vec<(u64, u16)> = got.iter().map(|h| (h.host_key, h.crawl_delay)).collect();
        assert_eq!(keys, [(10, 0), (20, 0), (30, 0), (40, 0)]);
    }
}
