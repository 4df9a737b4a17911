//! Every command's arguments, declared one way (a `clap::Args` struct each), and how they
//! become the operations' options. Defaults that need the clock (`--before 0`, `--now`) are
//! resolved here, so the operations never read it.

use super::clock::hour_now;
use super::hostkey::host_key;
use crate::arena_zip::ARENA_LEVEL;
use crate::encode::EncodeSettings;
use crate::ops::compact::DEFAULT_GC_HORIZON;
use crate::ops::{self, Op};
use crate::reshape::{Gc, Settings};
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

    /// The reshape settings these options give (for `split`, not yet an operation).
    pub fn settings(&self, gc: Option<Gc>) -> Settings {
        ops::compact::settings(&self.encoding(), gc)
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
    #[arg(long, default_value = crate::cmd::web::DEFAULT_LISTEN)]
    pub listen: String,
    /// Serve even though this binary lacks the inspector's wasm (the page then cannot work);
    /// for tests of the HTTP server.
    #[arg(long, hide = true)]
    pub without_wasm: bool,
}
