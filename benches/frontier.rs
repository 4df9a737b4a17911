//! Dispatch selections of the engine's frontier on the reference's `full.meguri` (563,844 URLs
//! on 186,356 hosts), the workload of `meguri bench`'s "scheduler selection" line
//! ([`meguri::bench::queue_every_url`], [`meguri::bench::select_all`]), beside the scheduler a
//! crawler writes by hand for the same job: a first-in-first-out list per host and one heap of
//! hosts by the time each may next be fetched.
//!
//! Both hand out every URL once, one per host per round, each host waiting one second between
//! its URLs on a logical clock. The frontier does more per selection: it orders ready hosts by
//! their head URL's priority, orders each host's URLs by due time and priority, and keeps what
//! leases, moves and gates need. The hand-written one shows what that generality costs.
//!
//! `cargo bench -p meguri-benches --bench frontier`; reported as URLs (selections) per second.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use meguri::bench::{queue_every_url, select_all};
use meguri::engine::frontier::{Frontier, Millis};
use meguri_core::partition::Partition;
use meguri_core::reader::Reader;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hint::black_box;

/// The same delay as [`queue_every_url`]'s.
const DELAY: Millis = 1000;

fn workload() -> Option<Partition> {
    let path = meguri_benches::golden("full.meguri")?;
    let bytes = std::fs::read(path).unwrap();
    Some(Reader::open(&bytes[..]).unwrap().partition().unwrap())
}

/// Selects everything; returns the frontier too, so that criterion drops it outside the timing.
fn drain_frontier(mut f: Frontier<u32>) -> (u64, Frontier<u32>) {
    (select_all(&mut f), f)
}

/// `p` with each URL's priority one of eight levels, scattered by a hash of its row number.
fn mixed_priorities(p: &Partition) -> Partition {
    let mut q = p.clone();
    for (i, u) in q.urls.iter_mut().enumerate() {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 61;
        u.priority = h as f32 / 8.0;
    }
    q
}

/// The hand-written scheduler: URLs per host in arrival order, hosts by next allowed time.
struct ByHand {
    hosts: HashMap<u64, VecDeque<u32>>,
    next: BinaryHeap<Reverse<(Millis, u64)>>,
}

fn by_hand(p: &Partition) -> ByHand {
    let mut hosts: HashMap<u64, VecDeque<u32>> = HashMap::new();
    for (i, u) in p.urls.iter().enumerate() {
        hosts.entry(u.key.host).or_default().push_back(i as u32);
    }
    let next = hosts.keys().map(|&h| Reverse((0, h))).collect();
    ByHand { hosts, next }
}

fn drain_by_hand(mut s: ByHand) -> (u64, ByHand) {
    let mut n = 0;
    while let Some(Reverse((at, host))) = s.next.pop() {
        let q = s.hosts.get_mut(&host).expect("a scheduled host");
        black_box(q.pop_front());
        n += 1;
        if !q.is_empty() {
            s.next.push(Reverse((at + DELAY, host)));
        }
    }
    (n, s)
}

fn benches(c: &mut Criterion) {
    let Some(p) = workload() else {
        return;
    };
    let urls = p.urls.len() as u64;
    // Both hand out every URL.
    assert_eq!(drain_frontier(queue_every_url(&p)).0, urls);
    assert_eq!(drain_by_hand(by_hand(&p)).0, urls);
    let mut g = c.benchmark_group("frontier_select");
    g.sample_size(20);
    g.throughput(Throughput::Elements(urls));
    g.bench_function("meguri_frontier", |b| {
        b.iter_batched(
            || queue_every_url(&p),
            drain_frontier,
            BatchSize::PerIteration,
        )
    });
    // The same, with each URL's priority drawn from its row number (eight levels): a host's
    // URLs no longer arrive in dispatch order, nor do hosts, so the frontier's lane heaps fall
    // back on their binary heaps. The hand-written loop has no priorities to honour.
    let mixed = mixed_priorities(&p);
    assert_eq!(drain_frontier(queue_every_url(&mixed)).0, urls);
    g.bench_function("meguri_frontier_mixed_priorities", |b| {
        b.iter_batched(
            || queue_every_url(&mixed),
            drain_frontier,
            BatchSize::PerIteration,
        )
    });
    g.bench_function("by_hand_fifo_per_host", |b| {
        b.iter_batched(|| by_hand(&p), drain_by_hand, BatchSize::PerIteration)
    });
    g.finish();
}

criterion_group!(frontier, benches);
criterion_main!(frontier);
