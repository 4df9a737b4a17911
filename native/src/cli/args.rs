//! Every command's arguments, declared one way (a `clap::Args` struct each), and how they
//! become the operations' options. Defaults that need the clock (`--before 0`, `--now`) are
//! resolved here, so the operations never read it.

use super::clock::hour_now;
use super::hostkey::host_key;
use crate::arena_zip::ARENA_LEVEL;
use crate::encode::EncodeSettings;
use crate::ops::compact::DEFAULT_GC_HORIZON;
use crate::ops::{self, Op};
use crate::reshape::Gc;
use std::path::PathBuf;

/// How outputs are encoded (`seed`, `compact`, `split`).
#[derive(Debug, Clone, clap::Args)]
pub struct EncodeArgs {
    /// zstd level of column pages.
    #[arg(long, default_value_t = 3)]
    pub level: i32,
    /// zstd level of the string arena.
    #[arg(long, default_value_t = ARENA_LEVEL)]
    pub arena_level: i32,
    /// Rows per column page.
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_rows: u32,
}

impl EncodeArgs {
    /// The encoding these options ask for.
    pub fn encoding(&self) -> EncodeSettings {
        EncodeSettings {
            level: self.level,
            arena_level: self.arena_level,
            page_rows: self.page_rows as usize,
        }
    }
}

/// `inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// The .meguri file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also list every column: bytes, bytes per URL, pages and page encodings.
    #[arg(long)]
    pub columns: bool,
}

impl InspectArgs {
    /// The operation's options.
    pub fn options(&self) -> ops::InspectOptions {
        ops::InspectOptions {
            path: self.file.clone(),
            columns: self.columns,
        }
    }
}

/// `stats`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatsArgs {
    /// The .meguri file or partition directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `schedule`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScheduleArgs {
    /// The .meguri file, or a partition directory (live: every schedulable URL with
    /// next_due <= H, next_due 0 included, by (next_due, key), with its URL).
    #[arg(long)]
    pub data: PathBuf,
    /// Horizon in epoch-hours: rows with 0 < next_due <= H are due (0 = the current hour).
    #[arg(long, default_value_t = 0)]
    pub before: u32,
    /// Only this host key (0x-prefixed hex or decimal; 0 means no filter, as in the reference).
    #[arg(long)]
    pub host: Option<String>,
    /// How many URLs to list (0 = all); the count line always counts every due URL.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Also print each URL's string.
    #[arg(long)]
    pub urls: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ScheduleArgs {
    /// The operation's options: `--before 0` is the current hour, an empty or zero `--host`
    /// no filter, `--limit 0` no limit.
    pub fn options(&self) -> ops::Result<ops::ScheduleOptions> {
        let host = match self.host.as_deref() {
            None | Some("") => None,
            Some(s) => Some(host_key(Op::Schedule, s)?),
        };
        Ok(ops::ScheduleOptions {
            path: self.data.clone(),
            before: if self.before == 0 {
                hour_now()
            } else {
                self.before
            },
            host: host.filter(|&h| h != 0),
            limit: (self.limit != 0).then_some(self.limit),
            urls: self.urls,
        })
    }
}

/// `map`.
#[derive(Debug, Clone, clap::Args)]
pub struct MapArgs {
    /// The meguri.manifest catalog.
    #[arg(long)]
    pub manifest: PathBuf,
    /// Route this host key (0x-prefixed hex or decimal).
    #[arg(long)]
    pub host: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// .meguri files and manifests (told apart by their magic).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Say nothing about files without findings.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// CDX JSONL input (stdin when absent); `.zst` input is detected by its magic.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Output .meguri file.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Priority of seeded URLs.
    #[arg(long, default_value_t = 0.5)]
    pub priority: f64,
    /// Crawl delay of new hosts, in deciseconds.
    #[arg(long, default_value_t = 10)]
    pub crawl_delay: u16,
    /// Print a JSON summary (counts, size, bytes/url, seconds per phase) instead of the line.
    #[arg(long)]
    pub json: bool,
    /// Sort buffer (bytes; K, M, G suffixes): input beyond it is sorted in runs on disk and
    /// merged. The output is the same at any budget.
    #[arg(long, default_value = "512M", value_parser = crate::seed_sort::parse_size)]
    pub memory: u64,
    /// Directory for the sorted runs and other temporary files (default: the output's).
    #[arg(long)]
    pub tmp_dir: Option<PathBuf>,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

impl SeedArgs {
    /// The operation's input (stdin without `-i`) and options.
    pub fn options(&self) -> (ops::SeedInput, ops::SeedOptions) {
        let input = match &self.input {
            Some(p) => ops::SeedInput::Path(p.clone()),
            None => ops::SeedInput::Stream {
                name: "<stdin>".into(),
                reader: Box::new(std::io::stdin()),
            },
        };
        let opts = ops::SeedOptions {
            out: self.out.clone(),
            // Parsed as f64 and narrowed, as it always was: parsing straight to f32 can round
            // differently.
            priority: self.priority as f32,
            crawl_delay: self.crawl_delay,
            encoding: self.encode.encoding(),
            memory: self.memory,
            tmp_dir: self.tmp_dir.clone(),
        };
        (input, opts)
    }
}

/// `compact`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompactArgs {
    /// Partition files whose header host-key ranges are disjoint (any order).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The output file (default: compact.meguri beside the first input). It must not exist.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Drop Gone tombstones older than --gc-horizon.
    #[arg(long)]
    pub gc: bool,
    /// Hours a Gone row is kept after its last crawl, so a just-Gone URL is not rediscovered
    /// at once. A Gone row never crawled (last_crawled 0) has no age and is dropped. 0 drops
    /// every Gone row (what the reference's --gc does).
    #[arg(long, default_value_t = DEFAULT_GC_HORIZON, requires = "gc")]
    pub gc_horizon: u32,
    /// The current time in epoch-hours for --gc (default: the system clock).
    #[arg(long, requires = "gc")]
    pub now: Option<u32>,
    /// Partition id of the output (default: the lowest-range input's).
    #[arg(long)]
    pub id: Option<u32>,
    /// Accept inputs whose ranges leave gaps between them; the output then owns the gaps.
    #[arg(long)]
    pub allow_gaps: bool,
    /// Print JSON instead of the summary line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

impl CompactArgs {
    /// The operation's options; `--gc` without `--now` reads the clock.
    pub fn options(&self) -> ops::CompactOptions {
        ops::CompactOptions {
            files: self.files.clone(),
            out: self.out.clone(),
            gc: self.gc.then(|| Gc {
                horizon_hours: self.gc_horizon,
                now: self.now.unwrap_or_else(hour_now),
            }),
            id: self.id,
            allow_gaps: self.allow_gaps,
            encoding: self.encode.encoding(),
        }
    }
}

/// `manifest build`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// Partition files to catalogue.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The manifest to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Epoch of every entry.
    #[arg(long, default_value_t = 0)]
    pub epoch: u32,
    /// Prefix put before each file's base name to form its file ref.
    #[arg(long, default_value = "")]
    pub ref_prefix: String,
    /// Refuse to write a manifest whose ranges leave gaps.
    #[arg(long)]
    pub require_tiling: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl BuildArgs {
    /// The operation's options.
    pub fn options(&self) -> ops::BuildOptions {
        ops::BuildOptions {
            files: self.files.clone(),
            out: self.out.clone(),
            epoch: self.epoch,
            ref_prefix: self.ref_prefix.clone(),
            require_tiling: self.require_tiling,
        }
    }
}

/// `web`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = crate::ops::web::DEFAULT_LISTEN)]
    pub listen: String,
    /// Serve even though this binary lacks the inspector's wasm (the page then cannot work);
    /// for tests of the HTTP server.
    #[arg(long, hide = true)]
    pub without_wasm: bool,
    /// Print the address as JSON (`{address, url}`) instead of the line.
    #[arg(long)]
    pub json: bool,
}

/// `run`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["input", "seed"])))]
pub struct RunArgs {
    /// A .meguri file to decode and drain (it is not modified).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// CDX JSONL (plain or zstd) to seed a fresh partition from and drain (`-` for stdin).
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Where to write the drained partition (atomically; never over the input).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub drain: DrainArgs,
    /// Print JSON instead of the lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

/// The drain's flags, shared by `run` and `serve --offline`.
#[derive(Debug, Clone, clap::Args)]
pub struct DrainArgs {
    /// Fold outcomes through meguri's state machine (change-rate revisits, retries, Gone):
    /// `run` turns it on with --seed. Off, a fetch is a crawl revisited a week later, which is
    /// what the reference's state machine makes of the offline fetcher's answers.
    #[arg(long)]
    pub state_machine: bool,
    /// Fetch parallelism (0 = the default, 8). The offline fetcher answers within each dispatch
    /// round, so this changes neither the order nor the rows.
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    /// Wait out politeness on the wall clock instead of a logical clock.
    #[arg(long)]
    pub wall: bool,
    /// Priority of seeded URLs and discovered redirect targets.
    #[arg(long, default_value_t = 0.5)]
    pub priority: f64,
    /// Crawl delay of seeded hosts and of hosts without one, in deciseconds.
    #[arg(long, default_value_t = 10)]
    pub crawl_delay: u16,
    /// When the drain starts: an epoch-hour, or @ and an epoch-second (default: now). Crawled
    /// rows get its hour.
    #[arg(long, value_parser = |s: &str| super::clock::parse_now(s))]
    pub now: Option<u64>,
}

impl DrainArgs {
    /// The drain these flags ask for; without `--now` it starts at the wall clock.
    pub fn settings(&self) -> ops::DrainSettings {
        ops::DrainSettings {
            start: self.now.unwrap_or_else(super::clock::millis_now),
            wall: self.wall,
            state_machine: self.state_machine,
            workers: self.workers,
            priority: self.priority as f32,
            crawl_delay: self.crawl_delay,
        }
    }
}

impl RunArgs {
    /// The operation's input and options; without `--now`, the drain starts now.
    pub fn options(&self) -> (ops::RunInput, ops::RunOptions) {
        let input = match (&self.input, &self.seed) {
            (Some(p), _) => ops::RunInput::File(p.clone()),
            (None, Some(p)) => ops::RunInput::Seed(seed_input(p)),
            // clap's group requires one of the two.
            (None, None) => unreachable!("--input or --seed is required"),
        };
        let mut drain = self.drain.settings();
        drain.state_machine |= self.seed.is_some();
        let opts = ops::RunOptions {
            out: self.out.clone(),
            drain,
            encoding: self.encode.encoding(),
        };
        (input, opts)
    }
}

/// A CDX input named on the command line: a file, or stdin for `-`.
pub(crate) fn seed_input(p: &std::path::Path) -> ops::SeedInput {
    if p.as_os_str() == "-" {
        ops::SeedInput::Stream {
            name: "<stdin>".into(),
            reader: Box::new(std::io::stdin()),
        }
    } else {
        ops::SeedInput::Path(p.to_path_buf())
    }
}

/// `bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// CDX JSONL (plain or zstd) to build the partition from (stdin when absent).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Fleet total URL count to project to.
    #[arg(long, default_value_t = 1e11)]
    pub total_urls: f64,
    /// URLs one partition holds, the projection's lever.
    #[arg(long, default_value_t = 3e7)]
    pub urls_per_partition: f64,
    /// Priority of seeded URLs.
    #[arg(long, default_value_t = 0.5)]
    pub priority: f64,
    /// Crawl delay of seeded hosts, in deciseconds.
    #[arg(long, default_value_t = 10)]
    pub crawl_delay: u16,
    /// A selection rate to report against instead of the one measured on this partition.
    #[arg(long)]
    pub scheduler_sel_rate: Option<f64>,
    /// Partitions the rebalance arm grows to (under 2 skips it).
    #[arg(long, default_value_t = 16)]
    pub rebalance_to: u32,
    /// Bandwidth in MB/s the shipped bytes are divided by.
    #[arg(long, default_value_t = 1200.0)]
    pub rebalance_bw: f64,
    /// Directory whose disk's fsync floor and read bandwidth are measured (scratch files are
    /// made and removed there).
    #[arg(long, default_value = ".")]
    pub walls_dir: PathBuf,
    /// Do not measure the disk; state its walls as the reference does.
    #[arg(long)]
    pub no_walls: bool,
    /// Seconds of fsyncs to time.
    #[arg(long, default_value_t = 2.0)]
    pub fsync_seconds: f64,
    /// MiB written and read back for the read bandwidth.
    #[arg(long, default_value_t = 256)]
    pub read_mib: u64,
    /// Print JSON instead of the report.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// The operation's input and options.
    pub fn options(&self) -> (ops::SeedInput, ops::BenchRunOptions) {
        let input = match &self.input {
            Some(p) => seed_input(p),
            None => seed_input(std::path::Path::new("-")),
        };
        let opts = ops::BenchRunOptions {
            priority: self.priority as f32,
            crawl_delay: self.crawl_delay,
            bench: crate::bench::BenchOptions {
                total_urls: self.total_urls,
                urls_per_partition: self.urls_per_partition,
                scheduler_sel_rate: self.scheduler_sel_rate,
                rebalance_to: self.rebalance_to,
                rebalance_bw: self.rebalance_bw,
            },
            walls: (!self.no_walls).then(|| ops::WallOptions {
                dir: self.walls_dir.clone(),
                fsync_for: std::time::Duration::from_secs_f64(
                    self.fsync_seconds.clamp(0.0, 3600.0),
                ),
                read_bytes: self.read_mib.saturating_mul(1 << 20),
            }),
        };
        (input, opts)
    }
}

/// `pack`.
#[derive(Debug, Clone, clap::Args)]
pub struct PackArgs {
    /// The partition directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Output file (default `DIR/pack.meguri`); written atomically, never over an input.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Print a JSON summary instead of the line.
    #[arg(long)]
    pub json: bool,
}

impl PackArgs {
    /// The operation's options.
    pub fn options(&self) -> ops::PackOptions {
        ops::PackOptions {
            dir: self.data.clone(),
            out: self.out.clone(),
        }
    }
}

/// `load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The partition directory (created if absent).
    #[arg(long)]
    pub data: PathBuf,
    /// Partition files whose rows to load.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// none | normal | full: when the log is fsynced (see docs/format.md §13.5).
    #[arg(long, default_value = "normal")]
    pub durability: crate::store::Durability,
    /// Most URL records held in memory (0 = all).
    #[arg(long, default_value_t = 0)]
    pub resident_budget: usize,
    /// Fold the log into a new snapshot when done.
    #[arg(long)]
    pub checkpoint: bool,
    /// Print a JSON summary instead of the line.
    #[arg(long)]
    pub json: bool,
}

impl LoadArgs {
    /// The operation's options.
    pub fn options(&self) -> ops::LoadOptions {
        ops::LoadOptions {
            dir: self.data.clone(),
            files: self.files.clone(),
            durability: self.durability,
            resident_budget: self.resident_budget,
            checkpoint: self.checkpoint,
        }
    }
}

/// `split`.
#[derive(Debug, Clone, clap::Args)]
pub struct SplitArgs {
    /// The partition file to split (it is not modified).
    pub file: PathBuf,
    /// Cut at these host keys (0x-hex or decimal): each starts an output's range.
    #[arg(long, num_args = 1.., value_parser = super::hostkey::parse_host_key, required_unless_present = "into", conflicts_with = "into")]
    pub at: Vec<u64>,
    /// Cut into N outputs of about equal URL counts, at host boundaries.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..))]
    pub into: Option<u32>,
    /// Directory for the outputs, named `<stem>-<i>.meguri`.
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Id of the first output; the others count up from it (default: the input's id).
    #[arg(long)]
    pub first_id: Option<u32>,
    /// Also write a manifest of the outputs here.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Epoch of the manifest's entries.
    #[arg(long, default_value_t = 0, requires = "manifest")]
    pub epoch: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

impl SplitArgs {
    /// The operation's options.
    pub fn options(&self) -> ops::SplitOptions {
        ops::SplitOptions {
            file: self.file.clone(),
            cuts: match self.into {
                Some(n) => ops::Cuts::Into(n),
                None => ops::Cuts::At(self.at.clone()),
            },
            out_dir: self.out_dir.clone(),
            first_id: self.first_id,
            manifest: self.manifest.clone(),
            epoch: self.epoch,
            encoding: self.encode.encoding(),
        }
    }
}
