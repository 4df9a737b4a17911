//! The frontier: per-queue URL heaps, the politeness gate and the lease table. It decides
//! which URLs go out next and holds each one until it comes back. It is the one place those
//! rules live: the drain (`meguri run`, `meguri serve --offline`) and the URLFrontier server
//! (`GetURLs`, `PutURLs`) both dispatch through it.
//!
//! There is no clock, file or thread here: every call takes `now` (milliseconds since the
//! epoch, or of a logical clock), so a dispatch sequence is a function of the calls alone.
//!
//! Invariants:
//! - A URL is in exactly one state: *queued* (in its queue's heap, waiting for its due time and
//!   its queue's gate) or *leased* (handed out, in the lease heap until it expires or is
//!   released). The slot table is the truth: a queue's entries are skipped once they no longer
//!   match their URL's slot, lease entries and a rebuild's runs carry the slot's generation,
//!   so updates never search a heap. Generation 0 names nothing.
//! - A queue hands out URLs only through its gate: not blocked, its crawl limit not reached,
//!   at least its delay since its last hand-out, and fewer leased URLs than the request allows.
//!   A call that hands out nothing from a queue leaves its last hand-out time untouched.
//! - Every queue with queued URLs has one live schedule entry: in the waiting schedule, at the
//!   time it can next hand out (its gate and its earliest due URL), until a request at or after
//!   that time moves it to the ready schedule, where queues are served by (priority of their
//!   head URL, ready time, queue key). A queue whose time has not come never holds back one
//!   whose time has, whatever their priorities. The order depends on state and `now` alone, so
//!   a frontier rebuilt from a checkpoint dispatches exactly as the one that wrote it would
//!   have.
//! - Queues live in a dense table; a queue key maps to its index once, when a URL or a gate
//!   first names it, and schedule entries carry the index beside the key (the key orders, the
//!   index finds). A dropped queue's index is reused; its old entries are stale by generation.
//!
//! Where the time goes: a dispatch is a handful of schedule operations and slot lookups per
//! URL. The schedules are [`LaneHeap`]s, because a round of hand-outs files queues in order,
//! and so is each queue's list of URLs pushed one by one; a rebuild files a host's stored URLs,
//! which come in order, as a run in one shared vector instead (`Frontier::runs`); the ready
//! schedule is a [`BandHeap`], a lane heap per priority level, since queues are promoted to it
//! in time order but served by priority first. URLs named by row number (`u32`, the drain's
//! ids) keep their slots in a dense table, so a host's URLs, stored together, are looked up
//! together. When priorities differ from URL to URL, a queue's URLs stop arriving in order and
//! its lane heap costs what a binary heap costs (docs/engine.md).

use std::cmp::Reverse;
use std::fmt::Debug;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use meguri_core::keys::UrlKey;

use super::lane_heap::{BandHeap, LaneHeap};

/// A fast hasher for the frontier's maps: their keys are host keys and URL keys (already
/// hashes) or row numbers, none chosen by an adversary who could not just send more URLs, so
/// SipHash's protection buys nothing here and costs most of a dispatch.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
}

/// A hash map with [`FastHasher`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Milliseconds since the Unix epoch (or since a logical clock's start).
pub type Millis = u64;

/// How a queue lets URLs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gate {
    /// Minimum time between two hand-outs; `None` uses the frontier's default.
    pub delay: Option<Millis>,
    /// No hand-out before this time (0: not blocked).
    pub blocked_until: Millis,
    /// The queue stops handing out once this many of its URLs are completed (`None`: no limit).
    pub limit: Option<u64>,
    /// When the queue last handed out a URL.
    pub last_handout: Option<Millis>,
}

/// A request for URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// Queues to serve at most (0: no limit).
    pub max_queues: usize,
    /// URLs one queue may have out at once, counting those already leased (0: no limit).
    pub max_per_queue: u32,
    /// How long a handed-out URL is held before it may be handed out again; `None` hands it
    /// out for good: it leaves the frontier at once (a caller whose fetches complete within
    /// the call, such as the drain, has nothing to hold).
    pub lease: Option<Millis>,
    /// Only this queue.
    pub queue: Option<u64>,
}

/// One URL handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handout<Id> {
    /// Its queue.
    pub queue: u64,
    /// The caller's id of the URL.
    pub id: Id,
    /// The lease's end (`None`: handed out for good).
    pub until: Option<Millis>,
}

/// A URL's place in the frontier, as the frontier answers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    /// Its queue.
    pub queue: u64,
    /// When it may be handed out.
    pub due: Millis,
    /// Higher goes first among URLs due at once, and decides between queues.
    pub priority: f32,
    /// Whether it is handed out under a lease.
    pub leased: bool,
}

/// A URL's place as the frontier keeps it: 24 bytes, found by the URL's id in a
/// [`SlotTable`].
///
/// A leased slot does not keep its lease's end: the lease heap's entry has it, and that entry
/// is live while the slot is leased with the entry's generation (each lease takes a fresh one).
/// Keeping the end here too made the slot 32 bytes (4.5 MB more over `full.meguri`'s URLs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    due: Millis,
    /// Its queue's index.
    queue: u32,
    priority: f32,
    /// Which heap entries are this URL's; 0 (never given out) marks a vacant dense slot.
    gen: u32,
    leased: bool,
}

impl Held {
    const VACANT: Held = Held::new(0, 0, 0.0, 0, false);

    const fn new(queue: u32, due: Millis, priority: f32, gen: u32, leased: bool) -> Held {
        Held {
            due,
            queue,
            priority,
            gen,
            leased,
        }
    }
}

/// Where the frontier keeps its URLs' slots, by id.
pub trait SlotTable<Id>: Default + Debug {
    /// The slot of `id`, if held.
    fn get(&self, id: Id) -> Option<&Held>;
    /// The slot of `id`, if held, to change in place.
    fn get_mut(&mut self, id: Id) -> Option<&mut Held>;
    /// Holds `id` at `held`; returns the slot it had.
    fn insert(&mut self, id: Id, held: Held) -> Option<Held>;
    /// Lets `id` go; returns the slot it had.
    fn remove(&mut self, id: Id) -> Option<Held>;
    /// Makes room for `additional` more ids.
    fn reserve(&mut self, additional: usize);
    /// The ids of the slots of queue index `queue`.
    fn ids_in(&self, queue: u32) -> Vec<Id>;
}

/// An id the frontier can name URLs by, with the slot table that suits it.
pub trait FrontierId: Copy + Ord + Hash + Debug {
    /// The slot table for ids of this type.
    type Slots: SlotTable<Self>;
}

/// Row numbers: small, dense integers, so their slots are a vector indexed by the row. The
/// table is as long as the largest row held, so only ids that count rows belong here.
impl FrontierId for u32 {
    type Slots = DenseSlots;
}

/// URL keys: hashes, so their slots are a hash map.
impl FrontierId for UrlKey {
    type Slots = FastMap<UrlKey, Held>;
}

/// The slot table of row numbers (see [`FrontierId`] for `u32`).
#[derive(Debug, Default)]
pub struct DenseSlots(Vec<Held>);

impl SlotTable<u32> for DenseSlots {
    fn get(&self, id: u32) -> Option<&Held> {
        self.0.get(id as usize).filter(|h| h.gen != 0)
    }
    fn get_mut(&mut self, id: u32) -> Option<&mut Held> {
        self.0.get_mut(id as usize).filter(|h| h.gen != 0)
    }
    fn insert(&mut self, id: u32, held: Held) -> Option<Held> {
        let i = id as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, Held::VACANT);
        }
        let old = std::mem::replace(&mut self.0[i], held);
        (old.gen != 0).then_some(old)
    }
    fn remove(&mut self, id: u32) -> Option<Held> {
        let h = self.0.get_mut(id as usize)?;
        let old = std::mem::replace(h, Held::VACANT);
        (old.gen != 0).then_some(old)
    }
    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
    fn ids_in(&self, queue: u32) -> Vec<u32> {
        (0..self.0.len() as u32)
            .filter(|&i| self.0[i as usize].gen != 0 && self.0[i as usize].queue == queue)
            .collect()
    }
}

impl<Id: Copy + Eq + Hash + Debug> SlotTable<Id> for FastMap<Id, Held> {
    fn get(&self, id: Id) -> Option<&Held> {
        FastMap::get(self, &id)
    }
    fn get_mut(&mut self, id: Id) -> Option<&mut Held> {
        FastMap::get_mut(self, &id)
    }
    fn insert(&mut self, id: Id, held: Held) -> Option<Held> {
        FastMap::insert(self, id, held)
    }
    fn remove(&mut self, id: Id) -> Option<Held> {
        FastMap::remove(self, &id)
    }
    fn reserve(&mut self, additional: usize) {
        FastMap::reserve(self, additional);
    }
    fn ids_in(&self, queue: u32) -> Vec<Id> {
        self.iter()
            .filter(|(_, h)| h.queue == queue)
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The generation after `gen`: the one rule for making them, which never gives 0 (a vacant
/// dense slot's generation).
fn after(gen: u32) -> u32 {
    gen.wrapping_add(1).max(1)
}

/// A priority as a key that sorts higher priorities first (by the f32's total order).
fn prio_key(p: f32) -> Reverse<u32> {
    let b = p.to_bits();
    // The usual flip that makes IEEE-754 bits sort like the numbers they encode.
    Reverse(if b >> 31 == 1 { !b } else { b | 1 << 31 })
}

/// A queue's entry (smallest first): (due, priority, id). URLs queued in row order at one due
/// time and priority arrive sorted, so they stay on the lane.
///
/// An entry is live while its URL's slot says the same: queued (not leased) in this queue, at
/// this due time and priority. Anything that changes one of those (a hand-out, a move, a
/// re-time, a removal) leaves the entry stale, and it is dropped when it reaches the top. Two
/// live entries of one URL can only be equal keys (a URL pushed again as it was): the first
/// hands the URL out, and the second is stale by then. No generation is kept in the entry, so
/// it takes 16 bytes for a row id instead of 24 (a frontier over `full.meguri` holds 564k).
type QueueItem<Id> = (Millis, Reverse<u32>, Id);

/// A ready-schedule entry (smallest first): a queue that can hand out now, ordered by its head
/// URL's priority first (the band), then by its [`ReadyKey`].
type SchedItem = (Reverse<u32>, ReadyKey);

/// A ready queue within its priority: the time it became able to hand out, then the queue key;
/// then its generation and index.
type ReadyKey = (Millis, u64, u32, u32);

/// A waiting-schedule entry (smallest first): when a queue can next hand out, then the queue
/// key; it carries the generation, head priority and index its ready entry will have.
type WaitItem = (Millis, u64, u32, Reverse<u32>, u32);

/// A queue's record. Its gate is kept field by field, the `None`s as bits of `flags` beside
/// whether the queue is present and scheduled: a [`Gate`] of `Option`s and two `bool`s would
/// make the record 40 bytes longer, and a frontier holds one per host (7 MB for the 186,356
/// hosts of `full.meguri`).
#[derive(Debug)]
struct Queue<Id> {
    key: u64,
    heap: LaneHeap<QueueItem<Id>>,
    /// The queue's run in [`Frontier::runs`] not yet passed: `runs[run.0..run.1]`.
    run: (u32, u32),
    queued: u64,
    completed: u64,
    /// The gate's delay, if `HAS_DELAY`.
    delay: Millis,
    blocked_until: Millis,
    /// The gate's crawl limit, if `HAS_LIMIT`.
    limit: u64,
    /// The gate's last hand-out, if `HAS_LAST`.
    last_handout: Millis,
    /// The live schedule entry's time and priority, to leave it alone when nothing about it
    /// changed.
    sched_at: Millis,
    sched_prio: Reverse<u32>,
    leased: u32,
    /// Generation of the live schedule entry.
    sched_gen: u32,
    flags: u8,
}

/// The index names the queue (not set once dropped, until reused).
const PRESENT: u8 = 1;
/// A live schedule entry exists.
const SCHEDULED: u8 = 2;
const HAS_DELAY: u8 = 4;
const HAS_LIMIT: u8 = 8;
const HAS_LAST: u8 = 16;

impl<Id: Ord> Queue<Id> {
    fn new(key: u64) -> Self {
        Queue {
            key,
            heap: LaneHeap::new(),
            run: (0, 0),
            queued: 0,
            completed: 0,
            delay: 0,
            blocked_until: 0,
            limit: 0,
            last_handout: 0,
            sched_at: 0,
            sched_prio: Reverse(0),
            leased: 0,
            sched_gen: 0,
            flags: PRESENT,
        }
    }
}

impl<Id> Queue<Id> {
    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn mark(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    fn present(&self) -> bool {
        self.has(PRESENT)
    }

    fn scheduled(&self) -> bool {
        self.has(SCHEDULED)
    }

    fn gate(&self) -> Gate {
        Gate {
            delay: self.has(HAS_DELAY).then_some(self.delay),
            blocked_until: self.blocked_until,
            limit: self.has(HAS_LIMIT).then_some(self.limit),
            last_handout: self.has(HAS_LAST).then_some(self.last_handout),
        }
    }

    fn set_gate(&mut self, g: Gate) {
        self.mark(HAS_DELAY, g.delay.is_some());
        self.delay = g.delay.unwrap_or(0);
        self.blocked_until = g.blocked_until;
        self.mark(HAS_LIMIT, g.limit.is_some());
        self.limit = g.limit.unwrap_or(0);
        self.mark(HAS_LAST, g.last_handout.is_some());
        self.last_handout = g.last_handout.unwrap_or(0);
    }

    /// The first moment politeness lets the queue hand out again (0: it never has).
    fn polite_at(&self, default_delay: Millis) -> Millis {
        if !self.has(HAS_LAST) {
            return 0;
        }
        let delay = if self.has(HAS_DELAY) {
            self.delay
        } else {
            default_delay
        };
        self.last_handout.saturating_add(delay)
    }

    /// Whether the queue's crawl limit is reached.
    fn limited(&self) -> bool {
        self.has(HAS_LIMIT) && self.completed >= self.limit
    }
}

/// Counts of one queue or of the whole frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// URLs waiting (due or not).
    pub queued: u64,
    /// URLs handed out and not yet back.
    pub leased: u64,
    /// URLs completed (the frontier counts what callers report through [`Frontier::complete`]).
    pub completed: u64,
}

/// A queue's earliest live URL: its key, and whether it is its run's (else its heap's).
type Head<Id> = (QueueItem<Id>, bool);

/// The earliest live URL of the queue at `ix`: the smaller of its run's first live entry and its
/// heap's (see [`QueueItem`] and [`Frontier::runs`]), passing stale entries on the way.
fn live_head<Id: FrontierId>(
    q: &mut Queue<Id>,
    runs: &[(Id, u32)],
    slots: &Id::Slots,
    ix: u32,
) -> Option<Head<Id>> {
    let mut from_run = None;
    while q.run.0 < q.run.1 {
        let (id, gen) = runs[q.run.0 as usize];
        match slots.get(id) {
            Some(s) if s.gen == gen && !s.leased => {
                from_run = Some((s.due, prio_key(s.priority), id));
                break;
            }
            _ => q.run.0 += 1,
        }
    }
    let mut from_heap = None;
    while let Some(&(due, prio, id)) = q.heap.peek() {
        let live = slots.get(id).is_some_and(|s| {
            s.queue == ix && !s.leased && s.due == due && prio_key(s.priority) == prio
        });
        if live {
            from_heap = Some((due, prio, id));
            break;
        }
        q.heap.pop();
    }
    match (from_run, from_heap) {
        (Some(r), Some(h)) if h < r => Some((h, false)),
        (Some(r), _) => Some((r, true)),
        (None, h) => h.map(|h| (h, false)),
    }
}

/// Takes the head [`live_head`] found out of its queue.
fn pop_head<Id: FrontierId>(q: &mut Queue<Id>, from_run: bool) {
    if from_run {
        q.run.0 += 1;
    } else {
        q.heap.pop();
    }
}

/// A frontier being filled by [`Frontier::rebuild`]: the calls that reopen a crawl, with the
/// scheduling left to the end. Stored rows come grouped by queue (in key order), so queued
/// URLs are gathered per queue and their heap is built once when the next queue starts.
pub struct Rebuild<'a, Id: FrontierId> {
    f: &'a mut Frontier<Id>,
    /// The queue being gathered (its index) and its URLs, with their generations.
    run: Option<u32>,
    items: Vec<(QueueItem<Id>, u32)>,
}

impl<Id: FrontierId> Rebuild<'_, Id> {
    /// As [`Frontier::set_gate`].
    pub fn set_gate(&mut self, queue: u64, gate: Gate) {
        let ix = self.f.index_or_insert(queue);
        self.f.queues[ix as usize].set_gate(gate);
    }

    /// Whether the queue has been met (a gate, a URL or a completed URL).
    pub fn has_queue(&self, queue: u64) -> bool {
        self.f.has_queue(queue)
    }

    /// As [`Frontier::complete`].
    pub fn complete(&mut self, queue: u64) {
        let ix = self.f.index_or_insert(queue);
        self.f.queues[ix as usize].completed += 1;
        self.f.totals.completed += 1;
    }

    /// As [`Frontier::push`].
    pub fn push(&mut self, queue: u64, id: Id, due: Millis, priority: f32) {
        let ix = self.f.index_or_insert(queue);
        let gen = self.hold(ix, id, due, priority, false);
        if self.run != Some(ix) {
            self.flush();
            self.run = Some(ix);
        }
        self.items.push(((due, prio_key(priority), id), gen));
    }

    /// As [`Frontier::push_leased`].
    pub fn push_leased(&mut self, queue: u64, id: Id, due: Millis, priority: f32, until: Millis) {
        let ix = self.f.index_or_insert(queue);
        // Its queue's counts may be read by `hold` when the URL was already held.
        self.flush();
        let gen = self.hold(ix, id, due, priority, true);
        self.f.count_lease(ix, id, gen, until);
    }

    /// Moves the gathered URLs into their queue: as its run when they are its first and come
    /// in order (a host's stored rows at one due time and priority), else into its heap.
    fn flush(&mut self) {
        let Some(ix) = self.run.take() else {
            return;
        };
        let n = self.items.len() as u64;
        let runs = &mut self.f.runs;
        let q = &mut self.f.queues[ix as usize];
        let first = q.heap.is_empty() && q.run.0 == q.run.1;
        let sorted = self.items.windows(2).all(|w| w[0].0 <= w[1].0);
        let end = runs.len() + self.items.len();
        match u32::try_from(end) {
            Ok(end) if first && sorted => {
                q.run = (runs.len() as u32, end);
                runs.extend(self.items.drain(..).map(|((_, _, id), gen)| (id, gen)));
            }
            _ => q.heap.extend(self.items.drain(..).map(|(item, _)| item)),
        }
        q.queued += n;
        self.f.totals.queued += n;
    }

    /// Records `id`'s slot (a URL already held is moved, its old heap entries left stale).
    fn hold(&mut self, queue: u32, id: Id, due: Millis, priority: f32, leased: bool) -> u32 {
        let gen = self.f.gen();
        let held = Held::new(queue, due, priority, gen, leased);
        if let Some(old) = self.f.slots.insert(id, held) {
            // Counted in its queue only once flushed.
            self.flush();
            self.f.uncount(&old);
        }
        gen
    }
}

/// The frontier over URLs the caller names by `Id` (a row index, a URL key).
#[derive(Debug)]
pub struct Frontier<Id: FrontierId> {
    /// Queues by index.
    queues: Vec<Queue<Id>>,
    /// Queue key → index, for the queues present.
    index: FastMap<u64, u32>,
    /// Indices of dropped queues, to reuse.
    free: Vec<u32>,
    slots: Id::Slots,
    /// The URLs a rebuild queued, one run per queue in that queue's order, each beside its
    /// slot's generation: a run's entry is live while the slot still has it. A host's stored
    /// URLs come in order, so a run costs an id and a generation per URL and no allocation per
    /// queue (a frontier over `full.meguri` holds 564k URLs in 186k queues).
    runs: Vec<(Id, u32)>,
    /// Every scheduled queue, by the time it can next hand out.
    waiting: LaneHeap<WaitItem>,
    /// Queues whose time has come (moved here by [`Frontier::take`]), by priority.
    ready: BandHeap<Reverse<u32>, ReadyKey>,
    /// Leases by their end (smallest first).
    leases: LaneHeap<(Millis, Id, u32)>,
    default_delay: Millis,
    next_gen: u32,
    totals: Counts,
}

impl<Id: FrontierId> Frontier<Id> {
    /// An empty frontier whose queues wait `default_delay` between hand-outs unless told
    /// otherwise.
    pub fn new(default_delay: Millis) -> Self {
        Frontier {
            queues: Vec::new(),
            index: FastMap::default(),
            free: Vec::new(),
            slots: Id::Slots::default(),
            runs: Vec::new(),
            waiting: LaneHeap::new(),
            ready: BandHeap::new(),
            leases: LaneHeap::new(),
            default_delay,
            next_gen: 0,
            totals: Counts::default(),
        }
    }

    /// The delay of queues that have none of their own.
    pub fn default_delay(&self) -> Millis {
        self.default_delay
    }

    /// Changes the default delay (queues with their own keep theirs).
    pub fn set_default_delay(&mut self, delay: Millis) {
        self.default_delay = delay;
        for ix in 0..self.queues.len() as u32 {
            if self.queues[ix as usize].present() {
                self.reschedule(ix);
            }
        }
    }

    /// A fresh generation (never 0).
    fn gen(&mut self) -> u32 {
        self.next_gen = after(self.next_gen);
        self.next_gen
    }

    /// The index of a present queue.
    fn index_of(&self, queue: u64) -> Option<u32> {
        self.index.get(&queue).copied()
    }

    /// The index of a queue, making the queue if it is new.
    fn index_or_insert(&mut self, queue: u64) -> u32 {
        if let Some(&ix) = self.index.get(&queue) {
            return ix;
        }
        let ix = match self.free.pop() {
            Some(ix) => {
                self.queues[ix as usize] = Queue::new(queue);
                ix
            }
            None => {
                self.queues.push(Queue::new(queue));
                (self.queues.len() - 1) as u32
            }
        };
        self.index.insert(queue, ix);
        ix
    }

    /// A slot as the frontier answers it.
    fn slot_of(&self, h: &Held) -> Slot {
        Slot {
            queue: self.queues[h.queue as usize].key,
            due: h.due,
            priority: h.priority,
            leased: h.leased,
        }
    }

    /// A queue's gate (the default gate for a queue the frontier has not seen).
    pub fn gate(&self, queue: u64) -> Gate {
        self.index_of(queue)
            .map(|ix| self.queues[ix as usize].gate())
            .unwrap_or_default()
    }

    /// Sets a queue's gate (creating the queue if needed) and re-times it.
    pub fn set_gate(&mut self, queue: u64, gate: Gate) {
        let ix = self.index_or_insert(queue);
        self.queues[ix as usize].set_gate(gate);
        self.reschedule(ix);
    }

    /// Sets how many of a queue's URLs are completed (rebuilding a frontier from stored rows).
    pub fn set_completed(&mut self, queue: u64, completed: u64) {
        let ix = self.index_or_insert(queue);
        let q = &mut self.queues[ix as usize];
        self.totals.completed = self.totals.completed - q.completed + completed;
        q.completed = completed;
        self.reschedule(ix);
    }

    /// Whether the frontier knows the queue.
    pub fn has_queue(&self, queue: u64) -> bool {
        self.index.contains_key(&queue)
    }

    /// Every queue key (in no particular order).
    pub fn queue_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.index.keys().copied()
    }

    /// The counts of a queue.
    pub fn queue_counts(&self, queue: u64) -> Counts {
        self.index_of(queue).map_or_else(Counts::default, |ix| {
            let q = &self.queues[ix as usize];
            Counts {
                queued: q.queued,
                leased: u64::from(q.leased),
                completed: q.completed,
            }
        })
    }

    /// The counts of the whole frontier.
    pub fn counts(&self) -> Counts {
        self.totals
    }

    /// Queues known.
    pub fn queue_count(&self) -> usize {
        self.index.len()
    }

    /// Whether a queue holds URLs not yet completed (queued or leased) and is not blocked at
    /// `now` (URLFrontier's "active": due-ness is not considered).
    pub fn is_active(&self, queue: u64, now: Millis) -> bool {
        self.index_of(queue).is_some_and(|ix| {
            let q = &self.queues[ix as usize];
            q.queued + u64::from(q.leased) > 0 && q.blocked_until <= now
        })
    }

    /// Where a URL is, if the frontier holds it.
    pub fn slot(&self, id: Id) -> Option<Slot> {
        self.slots.get(id).map(|h| self.slot_of(h))
    }

    /// Queues URL `id` in `queue`, to be handed out from `due` on. A URL already held (queued
    /// or leased) is moved: its lease, if any, ends.
    pub fn push(&mut self, queue: u64, id: Id, due: Millis, priority: f32) {
        self.remove(id);
        let ix = self.index_or_insert(queue);
        self.queue_url(ix, id, due, priority);
    }

    /// Queues a URL the frontier does not hold in the queue at `ix`.
    fn queue_url(&mut self, ix: u32, id: Id, due: Millis, priority: f32) {
        let gen = self.gen();
        let held = Held::new(ix, due, priority, gen, false);
        self.slots.insert(id, held);
        let q = &mut self.queues[ix as usize];
        q.heap.push((due, prio_key(priority), id));
        q.queued += 1;
        self.totals.queued += 1;
        self.reschedule(ix);
    }

    /// Puts URL `id` in `queue` as handed out and leased until `until` (rebuilding a frontier
    /// from stored rows whose lease was still running): it counts as in flight and returns
    /// to its queue, due at `due`, when the lease expires. A URL already held is moved.
    pub fn push_leased(&mut self, queue: u64, id: Id, due: Millis, priority: f32, until: Millis) {
        self.remove(id);
        let ix = self.index_or_insert(queue);
        let gen = self.gen();
        let held = Held::new(ix, due, priority, gen, true);
        self.slots.insert(id, held);
        self.count_lease(ix, id, gen, until);
        self.reschedule(ix);
    }

    /// Files the lease of a URL just held as leased under `gen` in the queue at `ix`, and
    /// counts it in flight.
    fn count_lease(&mut self, ix: u32, id: Id, gen: u32, until: Millis) {
        self.leases.push((until, id, gen));
        self.queues[ix as usize].leased += 1;
        self.totals.leased += 1;
    }

    /// Takes URL `id` out of the frontier (queued or leased); returns where it was.
    pub fn remove(&mut self, id: Id) -> Option<Slot> {
        let held = self.slots.remove(id)?;
        self.uncount(&held);
        self.reschedule(held.queue);
        Some(self.slot_of(&held))
    }

    /// Takes a slot that no longer holds its URL out of its queue's and the totals' counts.
    fn uncount(&mut self, held: &Held) {
        let q = &mut self.queues[held.queue as usize];
        if held.leased {
            q.leased -= 1;
            self.totals.leased -= 1;
        } else {
            q.queued -= 1;
            self.totals.queued -= 1;
        }
    }

    /// Fills the frontier from stored state (a crawl reopening) through `fill`, with room for
    /// `queues` queues and `urls` URLs, and schedules each queue once at the end instead of
    /// re-timing it after every URL. What it builds is what the same [`Frontier::set_gate`],
    /// [`Frontier::push`], [`Frontier::push_leased`] and [`Frontier::complete`] calls would.
    pub fn rebuild<T>(
        &mut self,
        queues: usize,
        urls: usize,
        fill: impl FnOnce(&mut Rebuild<'_, Id>) -> T,
    ) -> T {
        self.queues.reserve(queues);
        self.index.reserve(queues);
        self.slots.reserve(urls);
        self.runs.reserve(urls);
        // Every queue is scheduled at the end, in index order: all on the waiting lane.
        self.waiting.reserve(queues);
        let mut rb = Rebuild {
            f: self,
            run: None,
            items: Vec::new(),
        };
        let out = fill(&mut rb);
        rb.flush();
        for ix in 0..self.queues.len() as u32 {
            if self.queues[ix as usize].present() {
                self.reschedule(ix);
            }
        }
        out
    }

    /// Counts a URL of `queue` as completed (it will not be handed out again), for its crawl
    /// limit. The caller has removed it, or never queued it.
    pub fn complete(&mut self, queue: u64) {
        let ix = self.index_or_insert(queue);
        self.queues[ix as usize].completed += 1;
        self.totals.completed += 1;
        self.reschedule(ix);
    }

    /// Takes back a count of completed URLs of `queue` (a completed URL scheduled again, or
    /// deleted).
    pub fn uncomplete(&mut self, queue: u64) {
        let Some(ix) = self.index_of(queue) else {
            return;
        };
        let q = &mut self.queues[ix as usize];
        if q.completed > 0 {
            q.completed -= 1;
            self.totals.completed -= 1;
        }
        self.reschedule(ix);
    }

    /// Drops a whole queue: its URLs (queued and leased) and its gate. Returns the ids it held.
    pub fn drop_queue(&mut self, queue: u64) -> Vec<Id> {
        let Some(ix) = self.index.remove(&queue) else {
            return Vec::new();
        };
        let ids = self.slots.ids_in(ix);
        for &id in &ids {
            self.slots.remove(id);
        }
        let q = &mut self.queues[ix as usize];
        self.totals.queued -= q.queued;
        self.totals.leased -= u64::from(q.leased);
        self.totals.completed -= q.completed;
        // Its schedule entries go stale with it (`scheduled` is false); the index is reused.
        *q = Queue::new(queue);
        q.mark(PRESENT, false);
        self.free.push(ix);
        ids
    }

    /// Ends the lease of `id` (its URL came back): the URL leaves the frontier; the caller
    /// pushes it again if it is to be fetched again. Returns its slot as it was.
    pub fn release(&mut self, id: Id) -> Option<Slot> {
        match self.slots.get(id) {
            Some(h) if h.leased => self.remove(id),
            _ => None,
        }
    }

    /// Returns URLs whose lease has ended by `now` to their queues, due as they were; returns
    /// how many.
    pub fn expire(&mut self, now: Millis) -> usize {
        self.expire_each(now, |_, _, _| {})
    }

    /// [`Frontier::expire`], telling `f` the queue, id and lease end of each URL returned (a
    /// caller keeping an account of leases, such as the hand-out log).
    pub fn expire_each(&mut self, now: Millis, mut f: impl FnMut(u64, Id, Millis)) -> usize {
        let mut n = 0;
        while let Some(&(until, id, gen)) = self.leases.peek() {
            if until > now {
                break;
            }
            self.leases.pop();
            let Some(h) = self.live_lease(id, gen) else {
                continue;
            };
            self.remove(id);
            self.queue_url(h.queue, id, h.due, h.priority);
            f(self.queues[h.queue as usize].key, id, until);
            n += 1;
        }
        n
    }

    /// When the next lease ends, if any is out.
    pub fn next_expiry(&mut self) -> Option<Millis> {
        while let Some(&(until, id, gen)) = self.leases.peek() {
            if self.live_lease(id, gen).is_some() {
                return Some(until);
            }
            self.leases.pop();
        }
        None
    }

    /// The slot a lease entry of `id` under `gen` names, while that lease still runs: every
    /// lease takes a fresh generation, so only the lease that pushed the entry matches.
    fn live_lease(&self, id: Id, gen: u32) -> Option<Held> {
        self.slots
            .get(id)
            .copied()
            .filter(|h| h.gen == gen && h.leased)
    }

    /// The earliest time a queue can hand out a URL, if any URL is queued at all (a queue
    /// already ready, but full of leased URLs for the last request, answers its ready time).
    pub fn next_ready(&mut self) -> Option<Millis> {
        let mut earliest = None;
        while let Some((_, (at, _, gen, ix))) = self.ready.peek() {
            if self.live_entry(ix, gen) {
                earliest = Some(at);
                break;
            }
            self.ready.pop();
        }
        while let Some(&(at, _, gen, _, ix)) = self.waiting.peek() {
            if self.live_entry(ix, gen) {
                return Some(earliest.map_or(at, |e: Millis| e.min(at)));
            }
            self.waiting.pop();
        }
        earliest
    }

    /// Re-times a queue in the schedule after anything about it changed. An entry whose key
    /// did not change stays as it is, so the schedule holds few stale entries.
    fn reschedule(&mut self, ix: u32) {
        let default_delay = self.default_delay;
        let gen = after(self.next_gen);
        let q = &mut self.queues[ix as usize];
        let head = live_head(q, &self.runs, &self.slots, ix);
        let Some(((due, prio, _), _)) = head.filter(|_| !q.limited()) else {
            q.mark(SCHEDULED, false);
            return;
        };
        let at = due.max(q.polite_at(default_delay)).max(q.blocked_until);
        if q.scheduled() && (q.sched_prio, q.sched_at) == (prio, at) {
            return;
        }
        self.next_gen = gen;
        q.sched_gen = gen;
        (q.sched_prio, q.sched_at) = (prio, at);
        q.mark(SCHEDULED, true);
        self.waiting.push((at, q.key, gen, prio, ix));
    }

    /// Whether a schedule entry of the queue at `ix` with generation `gen` is the live one.
    fn live_entry(&self, ix: u32, gen: u32) -> bool {
        let q = &self.queues[ix as usize];
        q.scheduled() && q.sched_gen == gen
    }

    /// Moves the queues whose time has come by `now` from the waiting schedule to the ready
    /// one. Stale entries move too: the ready schedule skips them when they come up, which
    /// costs less than looking every queue up here.
    fn promote(&mut self, now: Millis) {
        while let Some(&(at, key, gen, prio, ix)) = self.waiting.peek() {
            if at > now {
                break;
            }
            self.waiting.pop();
            self.ready.push(prio, (at, key, gen, ix));
        }
    }

    /// Hands out URLs due at `now` under every queue's gate, as `take` asks; appends them to
    /// `out` and returns how many queues served. Queues are visited in schedule order (higher
    /// head priority first, then the longest ready, then by key).
    pub fn take(&mut self, now: Millis, take: &Take, out: &mut Vec<Handout<Id>>) -> usize {
        if let Some(key) = take.queue {
            return match self.index_of(key) {
                Some(ix) => usize::from(self.serve(ix, now, take, out)),
                None => 0,
            };
        }
        let mut served = 0;
        // Queues ready in time but full of leased URLs for this request; they go back after.
        let mut full: Vec<SchedItem> = Vec::new();
        self.promote(now);
        while take.max_queues == 0 || served < take.max_queues {
            let Some(item) = self.ready.pop() else {
                break;
            };
            let (_, (_, _, gen, ix)) = item;
            let q = &mut self.queues[ix as usize];
            if !(q.scheduled() && q.sched_gen == gen) {
                continue;
            }
            if take.max_per_queue != 0 && q.leased >= take.max_per_queue {
                full.push(item);
                continue;
            }
            // The live entry is out of the schedule now; serving (or not) puts a new one in.
            q.mark(SCHEDULED, false);
            if self.serve(ix, now, take, out) {
                served += 1;
            } else {
                self.reschedule(ix);
            }
        }
        self.ready.extend(full);
        served
    }

    /// Serves the queue at `ix` if its gate lets it; returns whether it handed out anything.
    fn serve(&mut self, ix: u32, now: Millis, take: &Take, out: &mut Vec<Handout<Id>>) -> bool {
        let default_delay = self.default_delay;
        let Frontier {
            queues,
            slots,
            runs,
            leases,
            next_gen,
            totals,
            ..
        } = self;
        let q = &mut queues[ix as usize];
        let polite = q.polite_at(default_delay) <= now;
        let limited = q.limited();
        let room = if take.max_per_queue == 0 {
            u32::MAX
        } else {
            take.max_per_queue.saturating_sub(q.leased)
        };
        if !polite || limited || q.blocked_until > now || room == 0 {
            return false;
        }
        let until = take.lease.map(|l| now.saturating_add(l));
        let mut n = 0u32;
        while n < room {
            let id = match live_head(q, runs, slots, ix) {
                Some(((due, _, id), from_run)) if due <= now => {
                    pop_head(q, from_run);
                    id
                }
                _ => break,
            };
            q.queued -= 1;
            match until {
                Some(until) => {
                    q.leased += 1;
                    *next_gen = after(*next_gen);
                    let gen = *next_gen;
                    let h = slots.get_mut(id).expect("live");
                    h.leased = true;
                    h.gen = gen;
                    leases.push((until, id, gen));
                }
                None => {
                    slots.remove(id);
                }
            }
            out.push(Handout {
                queue: q.key,
                id,
                until,
            });
            n += 1;
        }
        totals.queued -= u64::from(n);
        if until.is_some() {
            totals.leased += u64::from(n);
        }
        if n > 0 {
            // Only a queue that handed something out pays its delay.
            q.last_handout = now;
            q.mark(HAS_LAST, true);
        }
        self.reschedule(ix);
        n > 0
    }

    /// Ids of the URLs of `queue` (queued and leased), in no particular order.
    pub fn ids_of(&self, queue: u64) -> Vec<Id> {
        self.index_of(queue)
            .map_or_else(Vec::new, |ix| self.slots.ids_in(ix))
    }

    /// Updates a held URL's due time and priority (a leased URL keeps its lease).
    pub fn retime(&mut self, id: Id, due: Millis, priority: f32) {
        let Some(h) = self.slots.get_mut(id) else {
            return;
        };
        if h.leased {
            h.due = due;
            h.priority = priority;
        } else {
            let ix = h.queue;
            self.remove(id);
            self.queue_url(ix, id, due, priority);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A xorshift generator from `seed` (nonzero): each call gives a number below `n`.
    fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        }
    }

    /// Random pushes, moves, re-times, removals, hand-outs with and without leases, expiries and
    /// releases, checked against a plain map of what is held: every URL handed out is queued in
    /// that queue at that moment, due, and its queue's smallest (due, priority, id); the counts
    /// always agree. Stale heap entries (a URL moved, re-timed, handed out or removed) never
    /// hand anything out.
    #[test]
    fn hand_outs_follow_what_is_held_through_moves_and_retimes() {
        use std::collections::HashMap;
        let mut rnd = xorshift(0x2545_f491_4f6c_dd1d);
        let mut f: Frontier<u32> = Frontier::new(0);
        // id -> (queue, due, priority, lease end)
        let mut held: HashMap<u32, (u64, Millis, f32, Option<Millis>)> = HashMap::new();
        // Reopened first: queues 0-3 in order (runs), queue 4's URLs out of order (a heap).
        let stored: Vec<(u64, u32, Millis, f32)> = (0..40u32)
            .map(|id| {
                let q = u64::from(id / 8);
                let (due, prio) = if q == 4 {
                    (u64::from(7 - id % 8), 1.0)
                } else {
                    (u64::from(id % 8 / 3), 2.0 - (id % 8 % 3) as f32)
                };
                (q, id, due, prio)
            })
            .collect();
        f.rebuild(5, 40, |r| {
            for &(q, id, due, prio) in &stored {
                r.push(q, id, due, prio);
            }
        });
        for &(q, id, due, prio) in &stored {
            held.insert(id, (q, due, prio, None));
        }
        assert!(f.runs.len() >= 24, "the in-order queues became runs");
        let mut now = 0;
        let mut handed = 0;
        for _ in 0..20_000 {
            let id = rnd(40) as u32;
            let (q, due, prio) = (rnd(5), now + rnd(4), rnd(3) as f32);
            match rnd(9) {
                0..=2 => {
                    f.push(q, id, due, prio);
                    held.insert(id, (q, due, prio, None));
                }
                3 => {
                    f.retime(id, due, prio);
                    if let Some(h) = held.get_mut(&id) {
                        (h.1, h.2) = (due, prio);
                    }
                }
                4 => {
                    f.remove(id);
                    held.remove(&id);
                }
                5 => {
                    if matches!(held.get(&id), Some((_, _, _, Some(_)))) {
                        f.release(id);
                        held.remove(&id);
                    }
                }
                6 => {
                    now += rnd(3);
                    f.expire(now);
                    for h in held.values_mut() {
                        if h.3.is_some_and(|t| t <= now) {
                            h.3 = None;
                        }
                    }
                }
                _ => {
                    now += rnd(2);
                    let lease = (rnd(2) == 0).then(|| 1 + rnd(5));
                    let mut out = Vec::new();
                    f.take(
                        now,
                        &Take {
                            max_queues: 0,
                            max_per_queue: 1,
                            lease,
                            queue: None,
                        },
                        &mut out,
                    );
                    for h in &out {
                        let best = held
                            .iter()
                            .filter(|(_, v)| v.0 == h.queue && v.3.is_none())
                            .map(|(&i, v)| (v.1, prio_key(v.2), i))
                            .min()
                            .expect("a queued URL in that queue");
                        assert_eq!(best.2, h.id, "the queue's smallest entry");
                        assert!(best.0 <= now, "due");
                        match lease {
                            Some(l) => held.get_mut(&h.id).unwrap().3 = Some(now + l),
                            None => drop(held.remove(&h.id)),
                        }
                        handed += 1;
                    }
                }
            }
            let queued = held.values().filter(|v| v.3.is_none()).count() as u64;
            let leased = held.len() as u64 - queued;
            let c = f.counts();
            assert_eq!((c.queued, c.leased), (queued, leased));
            // A slot keeps no lease end: the lease heap's live entries must name each one.
            let next_end = held.values().filter_map(|v| v.3).min();
            assert_eq!(f.next_expiry(), next_end, "the earliest lease end");
            for i in 0..40u32 {
                let want = held.get(&i).map(|v| (v.0, v.3.is_some()));
                assert_eq!(f.slot(i).map(|s| (s.queue, s.leased)), want, "slot {i}");
            }
        }
        assert!(handed > 1_000, "{handed}");
    }

    #[test]
    fn a_queue_record_stays_within_128_bytes() {
        // One per host: a frontier over 186,356 hosts holds 24 MB of them at this size.
        assert!(std::mem::size_of::<Queue<u32>>() <= 128);
        assert!(std::mem::size_of::<Queue<UrlKey>>() <= 128);
    }

    #[test]
    fn a_slot_stays_within_24_bytes() {
        // One per URL: a frontier over `full.meguri`'s 564k URLs holds 13.5 MB of them.
        assert_eq!(std::mem::size_of::<Held>(), 24);
    }

    const S: Millis = 1000;

    fn take(max_queues: usize, max_per_queue: u32) -> Take {
        Take {
            max_queues,
            max_per_queue,
            lease: Some(30 * S),
            queue: None,
        }
    }

    fn ids(out: &[Handout<u32>]) -> Vec<u32> {
        out.iter().map(|h| h.id).collect()
    }

    /// A rebuild (gathered per queue, scheduled at the end) makes the frontier the same calls
    /// make one at a time: same counts per queue, same hand-outs in the same order, across
    /// gates, leases, completed URLs, URLs pushed twice and queues met in several runs.
    #[test]
    fn a_rebuild_dispatches_as_the_same_calls_one_at_a_time() {
        #[derive(Clone, Copy)]
        enum Op {
            Gate(u64, Gate),
            Push(u64, u32, Millis, f32),
            Leased(u64, u32, Millis, f32, Millis),
            Complete(u64),
        }
        let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..20 {
            let mut ops = Vec::new();
            for q in 0..8u64 {
                if rnd(2) == 0 {
                    let gate = Gate {
                        delay: (rnd(2) == 0).then(|| rnd(4) * S),
                        blocked_until: rnd(3) * 5 * S,
                        limit: (rnd(3) == 0).then(|| rnd(3)),
                        last_handout: (rnd(2) == 0).then(|| rnd(10) * S),
                    };
                    ops.push(Op::Gate(q, gate));
                }
            }
            for _ in 0..60 {
                // Mostly in queue order, as a key-ordered scan meets them; some strays.
                let q = if rnd(8) == 0 {
                    rnd(8)
                } else {
                    ops.len() as u64 / 9 % 8
                };
                // Odd rounds hold every URL once (the rebuild's no-stale-entry path).
                let id = if round % 2 == 0 {
                    rnd(50) as u32
                } else {
                    ops.len() as u32
                };
                let (due, prio) = (rnd(20) * S, rnd(4) as f32 / 4.0);
                ops.push(match rnd(10) {
                    0 => Op::Complete(q),
                    1 => Op::Leased(q, id, due, prio, 5 * S + rnd(30) * S),
                    _ => Op::Push(q, id, due, prio),
                });
            }
            let mut one = Frontier::new(2 * S);
            for op in &ops {
                match *op {
                    Op::Gate(q, g) => one.set_gate(q, g),
                    Op::Push(q, id, due, p) => one.push(q, id, due, p),
                    Op::Leased(q, id, due, p, until) => one.push_leased(q, id, due, p, until),
                    Op::Complete(q) => one.complete(q),
                }
            }
            let mut built = Frontier::new(2 * S);
            built.rebuild(8, 100, |rb| {
                for op in &ops {
                    match *op {
                        Op::Gate(q, g) => rb.set_gate(q, g),
                        Op::Push(q, id, due, p) => rb.push(q, id, due, p),
                        Op::Leased(q, id, due, p, until) => rb.push_leased(q, id, due, p, until),
                        Op::Complete(q) => rb.complete(q),
                    }
                }
            });
            assert_eq!(one.counts(), built.counts(), "round {round}");
            for q in 0..8 {
                assert_eq!(
                    one.queue_counts(q),
                    built.queue_counts(q),
                    "round {round} queue {q}"
                );
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for t in 0..80 {
                let now = t * S;
                one.expire(now);
                built.expire(now);
                one.take(now, &take(3, 2), &mut a);
                built.take(now, &take(3, 2), &mut b);
                assert_eq!(a, b, "round {round} at {t} s");
            }
            assert!(!a.is_empty(), "round {round} handed nothing out");
        }
    }

    /// Priority orders the queues that can hand out now; a queue whose head is not due yet
    /// must not hold back a lower-priority queue that is (it once did: one heap ordered by
    /// priority first stopped at the first entry in the future).
    #[test]
    fn a_high_priority_queue_not_yet_due_does_not_hold_back_one_that_is() {
        let mut f = Frontier::new(0);
        f.push(1, 10, 100 * S, 0.9);
        f.push(2, 20, 5 * S, 0.1);
        f.push(3, 30, 5 * S, 0.5);
        assert_eq!(f.next_ready(), Some(5 * S));
        let mut out = Vec::new();
        assert_eq!(f.take(10 * S, &take(0, 0), &mut out), 2);
        assert_eq!(
            ids(&out),
            [30, 20],
            "the ready queues, higher priority first"
        );
        out.clear();
        assert_eq!(f.take(50 * S, &take(0, 0), &mut out), 0);
        assert_eq!(f.next_ready(), Some(100 * S));
        assert_eq!(f.take(100 * S, &take(0, 0), &mut out), 1);
        assert_eq!(ids(&out), [10]);
    }

    #[test]
    fn a_queue_waits_its_delay_between_handouts_and_an_empty_handout_costs_nothing() {
        let mut f = Frontier::new(S);
        for i in 0..3 {
            f.push(7, i, 0, 0.0);
        }
        let mut out = Vec::new();
        assert_eq!(f.take(10 * S, &take(0, 1), &mut out), 1);
        assert_eq!(ids(&out), [0]);
        // Its lease is out and the request allows one in flight: nothing more.
        f.release(0);
        out.clear();
        assert_eq!(f.take(10 * S + 999, &take(0, 1), &mut out), 0);
        assert_eq!(f.take(11 * S, &take(0, 1), &mut out), 1);
        assert_eq!(ids(&out), [1]);
        // A queue whose URLs are not due hands out nothing and keeps its last hand-out time.
        let mut g = Frontier::new(S);
        g.push(9, 5, 100 * S, 0.0);
        assert_eq!(g.take(50 * S, &take(0, 0), &mut out), 0);
        assert_eq!(g.gate(9).last_handout, None);
    }

    #[test]
    fn urls_leave_a_queue_in_due_order_then_by_priority() {
        let mut f = Frontier::new(0);
        f.push(1, 10, 5 * S, 0.9);
        f.push(1, 11, 2 * S, 0.1);
        f.push(1, 12, 2 * S, 0.7);
        let mut out = Vec::new();
        f.take(10 * S, &take(0, 0), &mut out);
        assert_eq!(ids(&out), [12, 11, 10]);
    }

    #[test]
    fn leases_hold_urls_until_released_or_expired() {
        let mut f = Frontier::new(0);
        f.push(1, 1, 0, 0.0);
        let mut out = Vec::new();
        f.take(S, &take(0, 0), &mut out);
        assert_eq!(f.counts().leased, 1);
        out.clear();
        assert_eq!(
            f.take(20 * S, &take(0, 0), &mut out),
            0,
            "leased until 31 s"
        );
        assert_eq!(f.expire(30 * S), 0);
        let mut back = Vec::new();
        assert_eq!(
            f.expire_each(31 * S, |q, id, until| back.push((q, id, until))),
            1
        );
        assert_eq!(
            back,
            [(1, 1, 31 * S)],
            "queue, id and lease end of the one returned"
        );
        assert_eq!(
            f.counts(),
            Counts {
                queued: 1,
                leased: 0,
                completed: 0
            }
        );
        f.take(31 * S, &take(0, 0), &mut out);
        assert_eq!(ids(&out), [1]);
        // Released: it leaves the frontier and its expiry is forgotten.
        assert!(f.release(1).is_some());
        assert_eq!(f.expire(u64::MAX), 0);
        assert_eq!(f.counts(), Counts::default());
    }

    #[test]
    fn blocks_limits_and_in_flight_caps_close_the_gate() {
        let mut f = Frontier::new(0);
        for i in 0..4 {
            f.push(3, i, 0, 0.0);
        }
        f.set_gate(
            3,
            Gate {
                blocked_until: 100 * S,
                ..Gate::default()
            },
        );
        let mut out = Vec::new();
        assert_eq!(f.take(99 * S, &take(0, 0), &mut out), 0);
        assert_eq!(f.take(100 * S, &take(0, 2), &mut out), 1);
        assert_eq!(out.len(), 2, "at most two in flight");
        out.clear();
        assert_eq!(f.take(200 * S, &take(0, 2), &mut out), 0);
        f.release(out.first().map_or(0, |h| h.id));
        f.release(0);
        f.complete(3);
        f.set_gate(
            3,
            Gate {
                limit: Some(1),
                ..f.gate(3)
            },
        );
        assert_eq!(
            f.take(300 * S, &take(0, 0), &mut out),
            0,
            "crawl limit reached"
        );
        f.set_gate(
            3,
            Gate {
                limit: None,
                ..f.gate(3)
            },
        );
        assert_eq!(f.take(300 * S, &take(0, 0), &mut out), 1);
    }

    #[test]
    fn many_queues_are_served_fairly_and_max_queues_bounds_a_call() {
        let mut f = Frontier::new(S);
        for q in 0..10u64 {
            for i in 0..3u32 {
                f.push(q, (q as u32) * 10 + i, 0, 0.5);
            }
        }
        let mut out = Vec::new();
        assert_eq!(f.take(0, &take(4, 1), &mut out), 4);
        assert_eq!(f.take(0, &take(4, 1), &mut out), 4);
        assert_eq!(f.take(0, &take(4, 1), &mut out), 2);
        let mut queues: Vec<u64> = out.iter().map(|h| h.queue).collect();
        queues.sort();
        queues.dedup();
        assert_eq!(queues.len(), 10, "every queue once before any twice");
        for h in out.drain(..) {
            f.release(h.id);
        }
        // One second later each is polite again.
        assert_eq!(f.take(S, &take(0, 1), &mut out), 10);
    }

    #[test]
    fn higher_priority_queues_go_first() {
        let mut f = Frontier::new(0);
        f.push(1, 1, 0, 0.2);
        f.push(2, 2, 0, 0.9);
        f.push(3, 3, 0, 0.5);
        let mut out = Vec::new();
        f.take(0, &take(1, 0), &mut out);
        f.take(0, &take(1, 0), &mut out);
        f.take(0, &take(1, 0), &mut out);
        assert_eq!(ids(&out), [2, 3, 1]);
    }

    #[test]
    fn pushing_a_leased_url_ends_its_lease_and_dropping_a_queue_forgets_it() {
        let mut f = Frontier::new(0);
        f.push(1, 1, 0, 0.0);
        f.push(1, 2, 0, 0.0);
        let mut out = Vec::new();
        f.take(0, &take(0, 1), &mut out);
        f.push(1, 1, 50, 0.0);
        assert_eq!(
            f.counts(),
            Counts {
                queued: 2,
                leased: 0,
                completed: 0
            }
        );
        assert_eq!(f.expire(u64::MAX), 0, "the old lease is stale");
        let dropped = f.drop_queue(1);
        assert_eq!(dropped.len(), 2);
        assert_eq!(f.counts(), Counts::default());
        assert_eq!(f.next_ready(), None);
    }

    #[test]
    fn a_restored_lease_counts_in_flight_and_expires_back_to_its_queue() {
        let mut f = Frontier::new(0);
        f.push_leased(4, 1, 5, 0.0, 20 * S);
        f.push(4, 2, 0, 0.0);
        assert_eq!(f.queue_counts(4).leased, 1);
        let mut out = Vec::new();
        assert_eq!(f.take(S, &take(0, 1), &mut out), 0, "one in flight already");
        assert_eq!(f.expire(20 * S), 1);
        assert_eq!(f.take(20 * S, &take(0, 0), &mut out), 1);
        assert_eq!(ids(&out), [2, 1], "back in due order");
    }

    /// Politeness under a random mix of pushes, takes, releases and expiries: no queue ever
    /// hands out twice within its delay, and never more in flight than a request allows.
    #[test]
    fn politeness_holds_under_a_random_mix() {
        let mut rnd = xorshift(0x1234_5678_9abc_def0);
        let mut f: Frontier<u32> = Frontier::new(2 * S);
        let mut last: std::collections::HashMap<u64, Millis> = Default::default();
        let mut next_id = 0u32;
        let mut now = 0;
        let mut out = Vec::new();
        let mut checked = 0;
        for _ in 0..20_000 {
            match rnd(10) {
                0..=3 => {
                    f.push(rnd(20), next_id, now + rnd(5 * S), rnd(3) as f32);
                    next_id += 1;
                }
                4..=6 => {
                    out.clear();
                    let t = take(rnd(5) as usize, 1 + rnd(3) as u32);
                    f.take(now, &t, &mut out);
                    let mut seen = Vec::new();
                    for h in &out {
                        if !seen.contains(&h.queue) {
                            if let Some(&prev) = last.get(&h.queue) {
                                assert!(now >= prev + 2 * S, "queue {} too soon", h.queue);
                            }
                            last.insert(h.queue, now);
                            seen.push(h.queue);
                        }
                        let c = f.queue_counts(h.queue);
                        assert!(c.leased <= u64::from(t.max_per_queue));
                        checked += 1;
                    }
                    for h in &out {
                        if rnd(2) == 0 {
                            f.release(h.id);
                        }
                    }
                }
                7 => {
                    f.expire(now);
                }
                _ => now += rnd(3 * S),
            }
        }
        assert!(checked > 1000, "only {checked} hand-outs");
    }

    /// Row ids (dense slot table) and URL keys (hashed slot table) dispatch alike under a
    /// random mix that moves URLs between queues, drops queues and makes them again (so
    /// queue indices are reused), retimes, leases, releases and expires.
    #[test]
    fn dense_and_hashed_slot_tables_dispatch_alike() {
        let key = |id: u32| UrlKey {
            host: 7,
            path: u64::from(id),
        };
        for seed in 1..6u64 {
            let mut rnd = xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut dense: Frontier<u32> = Frontier::new(S);
            let mut hashed: Frontier<UrlKey> = Frontier::new(S);
            let (mut now, mut handed) = (0, 0);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for step in 0..6000 {
                let id = rnd(400) as u32;
                let queue = rnd(25);
                match rnd(12) {
                    0..=3 => {
                        let (due, prio) = (now + rnd(4 * S), rnd(3) as f32);
                        dense.push(queue, id, due, prio);
                        hashed.push(queue, key(id), due, prio);
                    }
                    4..=6 => {
                        let t = take(rnd(4) as usize, rnd(3) as u32);
                        let t = Take {
                            lease: (rnd(4) != 0).then_some(rnd(5 * S)),
                            ..t
                        };
                        a.clear();
                        b.clear();
                        let served = dense.take(now, &t, &mut a);
                        assert_eq!(served, hashed.take(now, &t, &mut b), "step {step}");
                        let b: Vec<_> = b
                            .iter()
                            .map(|h| (h.queue, h.id.path as u32, h.until))
                            .collect();
                        let a: Vec<_> = a.iter().map(|h| (h.queue, h.id, h.until)).collect();
                        assert_eq!(a, b, "seed {seed} step {step}");
                        handed += a.len();
                        for &(_, id, _) in a.iter().filter(|_| rnd(3) == 0) {
                            assert_eq!(dense.release(id), hashed.release(key(id)));
                        }
                    }
                    7 => assert_eq!(dense.expire(now), hashed.expire(now)),
                    8 => {
                        let (due, prio) = (now + rnd(2 * S), rnd(3) as f32);
                        dense.retime(id, due, prio);
                        hashed.retime(key(id), due, prio);
                    }
                    9 if rnd(8) == 0 => {
                        let mut da = dense.drop_queue(queue);
                        let mut db: Vec<u32> = hashed
                            .drop_queue(queue)
                            .iter()
                            .map(|k| k.path as u32)
                            .collect();
                        da.sort_unstable();
                        db.sort_unstable();
                        assert_eq!(da, db);
                    }
                    10 => {
                        assert_eq!(dense.remove(id), hashed.remove(key(id)));
                        dense.complete(queue);
                        hashed.complete(queue);
                    }
                    _ => now += rnd(2 * S),
                }
                assert_eq!(dense.counts(), hashed.counts(), "step {step}");
                assert_eq!(dense.queue_counts(queue), hashed.queue_counts(queue));
                assert_eq!(dense.slot(id), hashed.slot(key(id)));
                assert_eq!(dense.queue_count(), hashed.queue_count());
            }
            assert_eq!(dense.next_ready(), hashed.next_ready());
            assert!(handed > 1000, "only {handed} hand-outs");
        }
    }
}
