//! `meguri bench`: what one real partition measures (bytes per URL, seen-set bits per URL and its
//! false-positive rate), projected to a fleet, set against the walls a crawl runs into
//! (politeness, the disk's fsync floor, its read bandwidth, the scheduler's selection rate).
//!
//! The report keeps the reference's layout line for line (its Appendix A), so the two can be
//! read side by side; where the reference states a wall it did not measure, this one measures
//! it on this machine ([`walls`]) and says so on the line. Figures are computed here, printed
//! by [`BenchReport`]'s `Display`; nothing here reads a clock but the wall measurements.

pub mod walls;

use crate::encode::{encode_partition, EncodeSettings};
use crate::engine::frontier::{Frontier, Take};
use meguri_core::inspect::fixed;
use meguri_core::keys::{path_key_of, UrlKey};
use meguri_core::partition::Partition;
use meguri_core::reader::Reader;
use meguri_core::seenset::{BloomBuilder, SeenFilter};
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use walls::Walls;

/// What `bench` is asked to project and compare against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchOptions {
    /// URLs of the whole fleet (`--total-urls`).
    pub total_urls: f64,
    /// URLs one partition holds (`--urls-per-partition`).
    pub urls_per_partition: f64,
    /// A selection rate to report against instead of the measured one.
    pub scheduler_sel_rate: Option<f64>,
    /// Partitions the rebalance arm grows to (< 2 skips it).
    pub rebalance_to: u32,
    /// Bandwidth the shipped bytes are divided by, MB/s (`--rebalance-bw`).
    pub rebalance_bw: f64,
}

impl Default for BenchOptions {
    /// The reference's defaults.
    fn default() -> Self {
        BenchOptions {
            total_urls: 1e11,
            urls_per_partition: 3e7,
            scheduler_sel_rate: None,
            rebalance_to: 16,
            rebalance_bw: 1200.0,
        }
    }
}

/// One region's share of the file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RegionShare {
    /// Region name.
    pub name: String,
    /// Bytes.
    pub bytes: u64,
}

/// Everything `bench` measured and projected.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchReport {
    /// The options it ran with.
    #[serde(skip)]
    pub options: BenchOptions,
    /// URL rows.
    pub urls: u64,
    /// Host rows.
    pub hosts: u64,
    /// The encoded file's size.
    pub file_bytes: u64,
    /// Regions in directory order.
    pub regions: Vec<RegionShare>,
    /// Seen-set bits per URL.
    pub seen_bits_per_url: f64,
    /// False-positive probes that hit.
    pub fp_hits: u64,
    /// Probes made.
    pub fp_probes: u64,
    /// Keys the filter missed (must be 0).
    pub false_negatives: u64,
    /// Crawl delays (deciseconds) of hosts that have one, sorted.
    #[serde(skip)]
    pub delays: Vec<u16>,
    /// Hosts counted by the politeness figures.
    pub polite_hosts: u64,
    /// Measured selections per second of the engine's frontier on this partition.
    pub selections_per_sec: f64,
    /// The walls measured on this machine.
    pub walls: Walls,
    /// The rebalance arm: hosts, URLs and bytes moved to new owners.
    pub rebalance: Option<Rebalance>,
    /// The host-key range and its share of the key space.
    pub host_range: (u64, u64),
}

/// What growing one partition to N by jump hash moves.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rebalance {
    /// Partitions grown to.
    pub to: u32,
    /// Hosts that change owner.
    pub hosts: u64,
    /// Their URLs.
    pub urls: u64,
    /// Destinations receiving rows.
    pub destinations: u32,
    /// Encoded bytes of the slices shipped.
    pub shipped: u64,
}

/// Lamping and Veach's jump consistent hash: the bucket of `key` among `n`.
pub fn jump_hash(mut key: u64, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(n) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

/// Measures partition `p` (its rows sorted, as `seed` makes them).
pub fn measure(p: &Partition, o: &BenchOptions, walls: Walls) -> meguri_core::Result<BenchReport> {
    let settings = EncodeSettings::default();
    let file = encode_partition(p, &settings)?;
    let shape = Reader::open(&file[..])?.shape().clone();
    let regions = shape
        .footer
        .regions
        .iter()
        .map(|r| RegionShare {
            name: meguri_core::format::region_name(r.id).into_owned(),
            bytes: r.length,
        })
        .collect();
    // The seen-set, sized to the URLs and holding every key, probed with keys it never saw.
    let mut b = BloomBuilder::new(p.urls.len() as u64);
    for u in &p.urls {
        b.insert(u.key);
    }
    let filter = SeenFilter::parse(&b.finish())?;
    let false_negatives = p.urls.iter().filter(|u| !filter.contains(u.key)).count() as u64;
    let exact: HashSet<UrlKey> = p.urls.iter().map(|u| u.key).collect();
    let (mut probes, mut hits) = (0u64, 0u64);
    for (i, u) in p.urls.iter().enumerate() {
        let k = UrlKey {
            host: u.key.host,
            path: path_key_of(format!("/__meguri_bench_probe_{i}").as_bytes()),
        };
        if exact.contains(&k) {
            continue;
        }
        probes += 1;
        hits += u64::from(filter.contains(k));
    }
    let mut delays: Vec<u16> = p
        .hosts
        .iter()
        .map(|h| h.crawl_delay)
        .filter(|&d| d != 0)
        .collect();
    delays.sort_unstable();
    let rebalance = (o.rebalance_to >= 2)
        .then(|| rebalance(p, o.rebalance_to, &settings))
        .transpose()?;
    let host_range = match (p.hosts.first(), p.hosts.last()) {
        (Some(a), Some(z)) => (a.host_key, z.host_key),
        _ => (0, 0),
    };
    Ok(BenchReport {
        options: *o,
        urls: p.urls.len() as u64,
        hosts: p.hosts.len() as u64,
        file_bytes: file.len() as u64,
        regions,
        seen_bits_per_url: filter.bits_per_key(),
        fp_hits: hits,
        fp_probes: probes,
        false_negatives,
        polite_hosts: delays.len() as u64,
        delays,
        selections_per_sec: selection_rate(p),
        walls,
        rebalance,
        host_range,
    })
}

/// The engine's dispatch selections per second over `p`'s rows ([`queue_every_url`], then
/// [`select_all`]). Best of three passes.
pub fn selection_rate(p: &Partition) -> f64 {
    let mut best = f64::MAX;
    let mut n = 0u64;
    for _ in 0..3 {
        let mut f = queue_every_url(p);
        let t = std::time::Instant::now();
        n = select_all(&mut f);
        best = best.min(t.elapsed().as_secs_f64());
    }
    if best > 0.0 {
        n as f64 / best
    } else {
        0.0
    }
}

/// The selection workload: every URL of `p` queued on its host, due at 0, each host waiting
/// one second between hand-outs.
pub fn queue_every_url(p: &Partition) -> Frontier<u32> {
    let mut f = Frontier::new(1000);
    for (i, u) in p.urls.iter().enumerate() {
        f.push(u.key.host, i as u32, 0, u.priority);
    }
    f
}

/// Selects from `f` until it is empty, one URL per ready host per round, jumping a logical
/// clock when no host is ready; returns the selections.
pub fn select_all(f: &mut Frontier<u32>) -> u64 {
    let take = Take {
        max_queues: 0,
        max_per_queue: 1,
        lease: None,
        queue: None,
    };
    let mut out = Vec::with_capacity(1 << 16);
    let (mut now, mut n) = (0, 0u64);
    loop {
        out.clear();
        f.take(now, &take, &mut out);
        n += out.len() as u64;
        if out.is_empty() {
            match f.next_ready() {
                Some(at) => now = at,
                None => return n,
            }
        }
    }
}

/// Grows `p` (owner 0) to `to` partitions by jump hash over host keys and encodes what each new
/// owner receives.
fn rebalance(p: &Partition, to: u32, settings: &EncodeSettings) -> meguri_core::Result<Rebalance> {
    let mut shipped = 0u64;
    let (mut hosts, mut urls, mut destinations) = (0u64, 0u64, 0u32);
    for dest in 1..to {
        let owned = |hk: u64| jump_hash(hk, to) == dest;
        let mut slice = Partition {
            id: dest,
            hostkey_lo: p.hostkey_lo,
            hostkey_hi: p.hostkey_hi,
            created_hours: p.created_hours,
            ..Default::default()
        };
        slice.hosts = p
            .hosts
            .iter()
            .filter(|h| owned(h.host_key))
            .copied()
            .collect();
        slice.urls = p
            .urls
            .iter()
            .filter(|u| owned(u.key.host))
            .copied()
            .collect();
        if slice.hosts.is_empty() && slice.urls.is_empty() {
            continue;
        }
        destinations += 1;
        hosts += slice.hosts.len() as u64;
        urls += slice.urls.len() as u64;
        slice.arena = crate::bench::rebase(p, &mut slice);
        shipped += encode_partition(&slice, settings)?.len() as u64;
    }
    Ok(Rebalance {
        to,
        hosts,
        urls,
        destinations,
        shipped,
    })
}

/// A new arena holding only the strings `slice`'s rows refer to (rows re-pointed at it).
fn rebase(p: &Partition, slice: &mut Partition) -> Vec<u8> {
    use meguri_core::arena::Arena;
    let src = Arena(&p.arena);
    let mut arena = vec![0u8];
    let mut copy = |r: &mut u64| {
        if let Some(s) = src.get(*r) {
            let at = arena.len() as u64;
            meguri_core::bytes::put_uvarint(&mut arena, s.len() as u64);
            arena.extend_from_slice(s);
            *r = at;
        } else {
            *r = 0;
        }
    };
    for u in &mut slice.urls {
        copy(&mut u.url_ref);
        copy(&mut u.etag_ref);
        copy(&mut u.redirect_ref);
    }
    for h in &mut slice.hosts {
        copy(&mut h.host_ref);
        copy(&mut h.registrable_ref);
        copy(&mut h.robots_ref);
    }
    arena
}

/// `v` as `d.dde<exp>`, the reference's scientific notation (`"0"` for zero).
pub fn sci(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let e = v.abs().log10().floor();
    format!("{}e{}", fixed(v / 10f64.powf(e), 2), e as i64)
}

/// Bytes in decimal units, as the reference prints them.
pub fn human_bytes(b: f64) -> String {
    match b {
        b if b >= 1e12 => format!("{} TB", fixed(b / 1e12, 2)),
        b if b >= 1e9 => format!("{} GB", fixed(b / 1e9, 2)),
        b if b >= 1e6 => format!("{} MB", fixed(b / 1e6, 2)),
        b if b >= 1e3 => format!("{} KB", fixed(b / 1e3, 2)),
        b => format!("{} B", fixed(b, 0)),
    }
}

impl BenchReport {
    /// Bytes per URL of the file.
    pub fn bytes_per_url(&self) -> f64 {
        self.file_bytes as f64 / self.urls as f64
    }

    /// The false-positive rate the probes found.
    pub fn fp_rate(&self) -> f64 {
        if self.fp_probes == 0 {
            0.0
        } else {
            self.fp_hits as f64 / self.fp_probes as f64
        }
    }

    /// The selection rate reported against: the one given, else the measured one.
    pub fn sel_rate(&self) -> f64 {
        self.options
            .scheduler_sel_rate
            .unwrap_or(self.selections_per_sec)
    }

    /// Summed polite dispatch (fetches per second over every host with a delay) and the median
    /// host's rate.
    fn politeness(&self) -> (f64, f64) {
        let summed: f64 = self.delays.iter().map(|&d| 10.0 / f64::from(d)).sum();
        let single = self
            .delays
            .get(self.delays.len() / 2)
            .map_or(0.0, |&d| 10.0 / f64::from(d));
        (summed, single)
    }

    fn write_report(&self, o: &mut String) -> fmt::Result {
        let urls = self.urls as f64;
        writeln!(
            o,
            "measured per-partition (real corpus, {} urls / {} hosts)",
            self.urls, self.hosts
        )?;
        writeln!(o, "  .meguri file        {} bytes", self.file_bytes)?;
        writeln!(
            o,
            "  bytes/url           {}",
            fixed(self.bytes_per_url(), 2)
        )?;
        for r in &self.regions {
            writeln!(
                o,
                "    {:<12}      {} bytes/url ({} bytes)",
                r.name,
                fixed(r.bytes as f64 / urls, 2),
                r.bytes
            )?;
        }
        writeln!(
            o,
            "  seen-set bits/url   {}",
            fixed(self.seen_bits_per_url, 2)
        )?;
        writeln!(
            o,
            "  achieved fp rate    {} ({}/{} probes)",
            fixed(self.fp_rate(), 4),
            self.fp_hits,
            self.fp_probes
        )?;
        writeln!(o, "  false negatives     {}", self.false_negatives)?;
        writeln!(o)?;
        let opt = &self.options;
        let count = opt.total_urls / opt.urls_per_partition;
        let per_part = |total: f64| {
            if count > 0.0 && count.is_finite() {
                human_bytes(total / count)
            } else {
                human_bytes(0.0)
            }
        };
        writeln!(
            o,
            "fleet projection (measured per-partition x stated count)"
        )?;
        writeln!(o, "  total frontier      {} urls", sci(opt.total_urls))?;
        writeln!(o, "  urls/partition      {}", sci(opt.urls_per_partition))?;
        writeln!(
            o,
            "  partition count     {} (= total / urls-per-partition)",
            if opt.urls_per_partition > 0.0 {
                fixed(count, 0)
            } else {
                "NaN".into()
            }
        )?;
        let seen = self.seen_bits_per_url * opt.total_urls / 8.0;
        writeln!(
            o,
            "  seen-set fleet      {} bits/url x {} / 8 = {}",
            fixed(self.seen_bits_per_url, 2),
            sci(opt.total_urls),
            human_bytes(seen)
        )?;
        writeln!(o, "                      {} per partition", per_part(seen))?;
        let file = self.bytes_per_url() * opt.total_urls;
        writeln!(
            o,
            "  .meguri fleet       {} bytes/url x {} = {}",
            fixed(self.bytes_per_url(), 2),
            sci(opt.total_urls),
            human_bytes(file)
        )?;
        writeln!(o, "                      {} per partition", per_part(file))?;
        writeln!(o)?;
        let (summed, single) = self.politeness();
        let w = &self.walls;
        writeln!(o, "the walls (reported against, never around)")?;
        writeln!(o, "  politeness floor")?;
        writeln!(
            o,
            "    single host <= 1/crawl_delay; partition dispatch = sum over hosts of 1/crawl_delay"
        )?;
        if self.delays.is_empty() {
            writeln!(o, "    no host crawl delays in this partition")?;
        } else {
            writeln!(
                o,
                "    {} hosts, median single-host floor {} fetch/s, summed polite dispatch {} fetch/s over this partition's hosts",
                self.polite_hosts,
                fixed(single, 3),
                fixed(summed, 1)
            )?;
        }
        writeln!(o, "  fsync floor (concurrency 1)")?;
        writeln!(
            o,
            "    durable commit rate <= 1/fsync_latency; group-commit amortizes toward fsync/batch"
        )?;
        match &w.fsync {
            Some(f) => writeln!(
                o,
                "    measured here: {} fsyncs/s (p50 {} us, p99 {} us) on {}",
                fixed(f.per_sec, 0),
                fixed(f.p50_us, 0),
                fixed(f.p99_us, 0),
                w.dir
            )?,
            None => writeln!(o, "    not measured (--no-walls)")?,
        }
        writeln!(o, "  device bandwidth on redistribution")?;
        writeln!(
            o,
            "    partition move time >= file_bytes / min(disk_read_bw, net_write_bw)"
        )?;
        match w.read_mb_s {
            Some(bw) => writeln!(
                o,
                "    measured here: sequential read {} MB/s on {}; this partition moves in >= {} s",
                fixed(bw, 0),
                w.dir,
                fixed(self.file_bytes as f64 / (bw * 1e6), 4)
            )?,
            None => writeln!(o, "    not measured (--no-walls)")?,
        }
        writeln!(o)?;
        let sel = self.sel_rate();
        writeln!(
            o,
            "throughput analysis (scheduler vs politeness, doc 14 section 5.3)"
        )?;
        writeln!(
            o,
            "  scheduler selection   {} sel/s ({})",
            sci(sel),
            if opt.scheduler_sel_rate.is_some() {
                "given by --scheduler-sel-rate".to_string()
            } else {
                "measured here: meguri's frontier over this partition".to_string()
            }
        )?;
        writeln!(
            o,
            "  polite ceiling        {} fetch/s over {} active hosts (sum of 1/crawl_delay)",
            fixed(summed, 1),
            self.polite_hosts
        )?;
        writeln!(
            o,
            "  median host floor     {} fetch/s (1/crawl_delay at the median host)",
            fixed(single, 3)
        )?;
        writeln!(
            o,
            "  fetcher-bound gap     {}x (scheduler outruns this host set by this factor)",
            sci(if summed > 0.0 { sel / summed } else { 0.0 })
        )?;
        writeln!(
            o,
            "  active hosts to saturate the scheduler   {} (= scheduler rate / median host floor)",
            sci(if single > 0.0 { sel / single } else { 0.0 })
        )?;
        writeln!(o, "  polite ceiling vs active hosts")?;
        let mut rates: Vec<f64> = self.delays.iter().map(|&d| 10.0 / f64::from(d)).collect();
        rates.sort_by(|a, b| b.total_cmp(a));
        for k in ladder(self.polite_hosts) {
            let ceiling: f64 = rates.iter().take(k as usize).sum();
            writeln!(o, "    {k:>8} hosts   {:>12} fetch/s", fixed(ceiling, 1))?;
        }
        writeln!(o)?;
        let bits = self.seen_bits_per_url;
        writeln!(
            o,
            "baseline comparison (seen-set vs a naive exact-key frontier, doc 14 section 7)"
        )?;
        writeln!(
            o,
            "  naive exact-key store   128 bits/url (one 128-bit URLKey per seen URL)"
        )?;
        writeln!(
            o,
            "  meguri seen-set         {} bits/url (measured, tiered filter)",
            fixed(bits, 2)
        )?;
        let ratio = if bits == 0.0 { f64::NAN } else { 128.0 / bits };
        writeln!(o, "  memory ratio            {}x smaller", fixed(ratio, 1))?;
        writeln!(
            o,
            "  fleet                   naive 128 bits/url -> {} vs meguri {} bits/url -> {} ({}x)",
            human_bytes(128.0 * opt.total_urls / 8.0),
            fixed(bits, 2),
            human_bytes(bits * opt.total_urls / 8.0),
            fixed(ratio, 1)
        )?;
        let fp = self.fp_rate();
        if fp > 0.0 && fp < 1.0 {
            let model = -fp.ln() / 0.480_453_013_918_201_4;
            writeln!(
                o,
                "  plain bloom (model)     {} bits/url at the same {}% fp (optimal -ln(p)/(ln2)^2, not run)",
                fixed(model, 2),
                fixed(fp * 100.0, 2)
            )?;
            let premium = bits - model;
            writeln!(
                o,
                "  meguri premium          {}{} bits/url over the bloom optimum, the exact tier's cost (zero false negatives, enumerable)",
                if premium >= 0.0 { "+" } else { "" },
                fixed(premium, 2)
            )?;
        }
        writeln!(
            o,
            "  externals cited separately: a RocksDB-backed set adds SST index, per-SST bloom, and write"
        )?;
        writeln!(
            o,
            "  amplification; Nutch keeps the whole CrawlDatum per URL; Frontera stores the URL string. The"
        )?;
        writeln!(
            o,
            "  128-bit floor is the optimistic lower bound they sit above; their measured overhead is the"
        )?;
        writeln!(o, "  fleet-box follow-up.")?;
        if let Some(r) = &self.rebalance {
            writeln!(o)?;
            let bw = w.read_mb_s.unwrap_or(opt.rebalance_bw);
            writeln!(
                o,
                "rebalance vs bandwidth (1 -> {} partitions, doc 12 section 8)",
                r.to
            )?;
            writeln!(
                o,
                "  source partition      {} hosts / {} urls / {}",
                self.hosts,
                self.urls,
                human_bytes(self.file_bytes as f64)
            )?;
            writeln!(
                o,
                "  moved by jump hash    {} hosts / {} urls to {} destinations",
                r.hosts, r.urls, r.destinations
            )?;
            writeln!(
                o,
                "  shipped               {} ({}% of the source)",
                human_bytes(r.shipped as f64),
                fixed(100.0 * r.shipped as f64 / self.file_bytes as f64, 1)
            )?;
            writeln!(
                o,
                "  transfer floor        {} s at {} MB/s (shipped bytes / bandwidth)",
                fixed(r.shipped as f64 / (bw * 1e6), 4),
                fixed(bw, 0)
            )?;
            if w.read_mb_s.is_some() {
                writeln!(
                    o,
                    "  the bandwidth is this machine's measured sequential read, not a named wall."
                )?;
            } else {
                writeln!(
                    o,
                    "  the bandwidth is the named device wall (--rebalance-bw), not a measured disk."
                )?;
            }
        }
        writeln!(o)?;
        let (lo, hi) = self.host_range;
        let span = if hi > lo {
            (hi - lo) as f64 / u64::MAX as f64
        } else {
            0.0
        };
        writeln!(
            o,
            "corpus host-key range: [0x{lo:016x}, 0x{hi:016x}] over {} hosts, {} of the key space",
            self.hosts,
            fixed(span, 4)
        )
    }
}

/// Host counts the ceiling is shown at: 1, 10, 100, ... below `hosts`, then `hosts`.
fn ladder(hosts: u64) -> Vec<u64> {
    if hosts <= 1 {
        return vec![hosts];
    }
    let mut v = Vec::new();
    let mut k = 1;
    while k < hosts {
        v.push(k);
        k *= 10;
    }
    v.push(hosts);
    v
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut o = String::new();
        self.write_report(&mut o)?;
        f.write_str(&o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_the_reference_prints_them() {
        assert_eq!(sci(1e11), "1.00e11");
        assert_eq!(sci(3e7), "3.00e7");
        assert_eq!(sci(1e6), "1.00e6");
        assert_eq!(sci(5.366_08), "5.37e0");
        assert_eq!(sci(0.0), "0");
        assert_eq!(human_bytes(137.79e9), "137.79 GB");
        assert_eq!(human_bytes(2.66e12), "2.66 TB");
        assert_eq!(human_bytes(999.0), "999 B");
        assert_eq!(
            ladder(186_356),
            [1, 10, 100, 1000, 10_000, 100_000, 186_356]
        );
        assert_eq!(ladder(1), [1]);
    }

    #[test]
    fn jump_hash_is_stable_and_moves_little() {
        // Growing from n to n + 1 moves about 1/(n+1) of the keys, all to the new bucket.
        let keys: Vec<u64> = (0..20_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let moved = keys
            .iter()
            .filter(|&&k| jump_hash(k, 9) != jump_hash(k, 10))
            .inspect(|&&k| assert_eq!(jump_hash(k, 10), 9))
            .count();
        assert!((1700..2300).contains(&moved), "{moved}");
        assert_eq!(jump_hash(12345, 1), 0);
    }
}
