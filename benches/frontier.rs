//! Dispatch selections of the engine's frontier on the reference's `full.meguri` (563,844 URLs
//! on 186,356 hosts, each URL queued on its host with its stored priority), beside the
//! scheduler a crawler writes by hand for the same job: a first-in-first-out list per host and
//! one heap of hosts by the time each may next be fetched.
//!
//! Both hand out every URL once, one per host per round, each host waiting one delay between
//! its URLs on a logical clock (the workload of `meguri bench`'s "scheduler selection" line).
//! The frontier does more per selection: it orders ready hosts by their head URL's priority,
//! orders each host's URLs by due time and priority, and keeps what leases, moves and gates
//! need. The hand-written one shows what that generality costs.
//!
//! `cargo bench -p meguri-benches --bench frontier`; reported as URLs (selections) per second.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use meguri::engine::frontier::{Frontier, Handout, Millis, Take};
use meguri_core::reader::Reader;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hint::black_box;

const DELAY: Millis = 1000;

/// `(host key, priority)` of every URL row, in file order.
fn workload() -> Option<Vec<(u64, f32)>> {
    let path = meguri_benches::golden("full.meguri")?;
    let bytes = std::fs::read(path).unwrap();
    let urls = Reader::open(&bytes[..]).unwrap().url_table().unwrap();
    Some(urls.iter().map(|u| (u.key.host, u.priority)).collect())
}

fn filled(rows: &[(u64, f32)]) -> Frontier<u32> {
    let mut f = Frontier::new(DELAY);
    for (i, &(host, prio)) in rows.iter().enumerate() {
        f.push(host, i as u32, 0, prio);
    }
    f
}

/// Takes until the frontier is empty, jumping the clock when nothing is ready; returns the
/// selections, and the frontier so that criterion drops it outside the timing.
fn drain_frontier(mut f: Frontier<u32>) -> (usize, Frontier<u32>) {
    let take = Take {
        max_queues: 0,
        max_per_queue: 1,
        lease: None,
        queue: None,
    };
    let mut out: Vec<Handout<u32>> = Vec::with_capacity(1 << 16);
    let (mut now, mut n) = (0, 0);
    loop {
        out.clear();
        f.take(now, &take, &mut out);
        n += out.len();
        black_box(&out);
        if out.is_empty() {
            match f.next_ready() {
                Some(at) => now = at,
                None => return (n, f),
            }
        }
    }
}

/// The hand-written scheduler: URLs per host in arrival order, hosts by next allowed time.
struct ByHand {
    hosts: HashMap<u64, VecDeque<u32>>,
    next: BinaryHeap<Reverse<(Millis, u64)>>,
}

fn by_hand(rows: &[(u64, f32)]) -> ByHand {
    let mut hosts: HashMap<u64, VecDeque<u32>> = HashMap::new();
    for (i, &(host, _)) in rows.iter().enumerate() {
        hosts.entry(host).or_default().push_back(i as u32);
    }
    let next = hosts.keys().map(|&h| Reverse((0, h))).collect();
    ByHand { hosts, next }
}

fn drain_by_hand(mut s: ByHand) -> (usize, ByHand) {
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
    let Some(rows) = workload() else {
        return;
    };
    // Both hand out every URL.
    assert_eq!(drain_frontier(filled(&rows)).0, rows.len());
    assert_eq!(drain_by_hand(by_hand(&rows)).0, rows.len());
    let mut g = c.benchmark_group("frontier_select");
    g.sample_size(20);
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function("meguri_frontier", |b| {
        b.iter_batched(|| filled(&rows), drain_frontier, BatchSize::PerIteration)
    });
    g.bench_function("by_hand_fifo_per_host", |b| {
        b.iter_batched(|| by_hand(&rows), drain_by_hand, BatchSize::PerIteration)
    });
    g.finish();
}

criterion_group!(frontier, benches);
criterion_main!(frontier);
