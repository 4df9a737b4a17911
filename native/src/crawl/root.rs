//! A data root: the directory `meguri serve -d` serves, holding one partition directory per
//! crawl and the node's own settings.
//!
//! ```text
//! DIR/meguri-serve                       node settings (active flag, default delay), text
//! DIR/crawls/<escaped id>/p-0000000000000000/   the crawl's partition directory
//! ```
//!
//! A DIR that is itself a partition directory (it holds `super`) is the `DEFAULT` crawl; other
//! crawls then live under `DIR/crawls/` beside its files, which the reference ignores.
//! Crawl ids are escaped into directory names: bytes outside `[A-Za-z0-9_-]`, and a leading
//! `.`, become `%XX`, so every id is one safe, distinct name.

use super::names::DEFAULT_CRAWL;
use super::state::{Crawl, CrawlError, OpenReport, Result};
use crate::engine::frontier::Millis;
use crate::store::{Durability, Options, SUPER};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Name of the node settings file.
pub const NODE_FILE: &str = "meguri-serve";

/// Folder of the crawls.
pub const CRAWLS: &str = "crawls";

/// The partition directory of a crawl's only partition (it owns every host key).
pub const PARTITION: &str = "p-0000000000000000";

/// The delay between two hand-outs of a queue when nothing else is said (upstream's).
pub const DEFAULT_DELAY_MS: Millis = 1000;

/// A clock in epoch milliseconds.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis)
    })
}

/// How a data root is opened.
#[derive(Clone)]
pub struct RootOptions {
    /// Every crawl's durability.
    pub durability: Durability,
    /// Most URL records a crawl keeps in memory (0: all).
    pub resident_budget: usize,
    /// The default delay between hand-outs; `None` keeps the one stored in the node file
    /// ([`DEFAULT_DELAY_MS`] if none).
    pub default_delay: Option<Millis>,
    /// The clock.
    pub clock: Clock,
    /// Where every crawl writes its hand-outs, releases and delay changes (`None`: nowhere).
    pub handout_log: Option<super::HandoutLog>,
}

impl Default for RootOptions {
    fn default() -> Self {
        RootOptions {
            durability: Durability::Normal,
            resident_budget: 0,
            default_delay: None,
            clock: system_clock(),
            handout_log: None,
        }
    }
}

/// The node's settings, kept in [`NODE_FILE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSettings {
    /// Whether GetURLs hands anything out.
    pub active: bool,
    /// Delay of queues without their own.
    pub default_delay: Millis,
}

impl NodeSettings {
    fn encode(&self) -> String {
        format!(
            "# meguri serve node settings\nactive = {}\ndefault_delay_ms = {}\n",
            self.active, self.default_delay
        )
    }

    fn decode(text: &str) -> std::result::Result<Self, String> {
        let mut s = NodeSettings {
            active: true,
            default_delay: DEFAULT_DELAY_MS,
        };
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!("line {line:?} is not `key = value`"));
            };
            match (k.trim(), v.trim()) {
                ("active", v) => s.active = v.parse().map_err(|_| format!("active = {v:?}"))?,
                ("default_delay_ms", v) => {
                    s.default_delay = v.parse().map_err(|_| format!("default_delay_ms = {v:?}"))?
                }
                // Settings of a later version are ignored.
                _ => {}
            }
        }
        Ok(s)
    }
}

/// Escapes a crawl id into a directory name.
pub fn escape(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The crawl id of a directory name [`escape`] made (`None` for any other name).
pub fn unescape(name: &str) -> Option<String> {
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let id = String::from_utf8(out).ok()?;
    (escape(&id) == name).then_some(id)
}

/// A data root: see the module documentation.
pub struct DataRoot {
    dir: PathBuf,
    /// DIR is itself the DEFAULT crawl's partition directory.
    single: bool,
    opts: RootOptions,
    crawls: RwLock<BTreeMap<String, Arc<Crawl>>>,
    /// Serialises creating crawls and writing the node file.
    create: Mutex<()>,
    node: RwLock<NodeSettings>,
    rotate: AtomicUsize,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> CrawlError {
    move |source| CrawlError::Io { what, source }
}

impl DataRoot {
    /// Opens the data root `dir` (creating it if needed) and every crawl in it; returns what
    /// opening each crawl found.
    pub fn open(dir: &Path, opts: RootOptions) -> Result<(DataRoot, Vec<OpenReport>)> {
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
        let single = dir.join(SUPER).exists();
        let node_path = dir.join(NODE_FILE);
        let mut node = match std::fs::read_to_string(&node_path) {
            Ok(text) => NodeSettings::decode(&text)
                .map_err(|e| CrawlError::Invalid(format!("{}: {e}", node_path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => NodeSettings {
                active: true,
                default_delay: DEFAULT_DELAY_MS,
            },
            Err(e) => return Err(io(format!("cannot read {}", node_path.display()))(e)),
        };
        if let Some(d) = opts.default_delay {
            node.default_delay = d;
        }
        let root = DataRoot {
            dir: dir.to_path_buf(),
            single,
            opts,
            crawls: RwLock::new(BTreeMap::new()),
            create: Mutex::new(()),
            node: RwLock::new(node),
            rotate: AtomicUsize::new(0),
        };
        let mut ids = Vec::new();
        if single {
            ids.push(DEFAULT_CRAWL.to_string());
        }
        let crawls = dir.join(CRAWLS);
        match std::fs::read_dir(&crawls) {
            Ok(rd) => {
                for e in rd {
                    let e = e.map_err(io(format!("cannot list {}", crawls.display())))?;
                    let name = e.file_name();
                    let Some(id) = name.to_str().and_then(unescape) else {
                        tracing::warn!("{}: not a crawl, left alone", e.path().display());
                        continue;
                    };
                    if single && id == DEFAULT_CRAWL {
                        return Err(CrawlError::Invalid(format!(
                            "{} is the DEFAULT crawl, and so is {}",
                            dir.display(),
                            e.path().display()
                        )));
                    }
                    if e.path().join(PARTITION).is_dir() {
                        ids.push(id);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(format!("cannot list {}", crawls.display()))(e)),
        }
        ids.sort();
        let mut reports = Vec::new();
        for id in ids {
            let (c, r) = root.open_crawl(&id)?;
            reports.push(r);
            root.write_crawls()?.insert(id, Arc::new(c));
        }
        Ok((root, reports))
    }

    fn write_crawls(
        &self,
    ) -> Result<std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Crawl>>>> {
        self.crawls
            .write()
            .map_err(|_| CrawlError::Poisoned("the data root".into()))
    }

    /// The partition directory of crawl `id`.
    pub fn crawl_dir(&self, id: &str) -> PathBuf {
        if self.single && id == DEFAULT_CRAWL {
            self.dir.clone()
        } else {
            self.dir.join(CRAWLS).join(escape(id)).join(PARTITION)
        }
    }

    fn open_crawl(&self, id: &str) -> Result<(Crawl, OpenReport)> {
        let opts = Options {
            durability: self.opts.durability,
            resident_budget: self.opts.resident_budget,
            ..Options::default()
        };
        Crawl::open(
            id,
            &self.crawl_dir(id),
            opts,
            self.settings().default_delay,
            self.now(),
            self.opts.handout_log.clone(),
        )
    }

    /// The clock's time.
    pub fn now(&self) -> Millis {
        (self.opts.clock)()
    }

    /// The node settings.
    pub fn settings(&self) -> NodeSettings {
        self.node.read().map_or(
            NodeSettings {
                active: true,
                default_delay: DEFAULT_DELAY_MS,
            },
            |g| *g,
        )
    }

    /// The crawl `id` (`""` is DEFAULT), if it exists.
    pub fn crawl(&self, id: &str) -> Option<Arc<Crawl>> {
        let id = super::names::crawl_id(id);
        self.crawls.read().ok()?.get(id).cloned()
    }

    /// The crawl `id`, created (with its directory) if new.
    pub fn crawl_or_create(&self, id: &str) -> Result<Arc<Crawl>> {
        let id = super::names::crawl_id(id);
        if let Some(c) = self.crawl(id) {
            return Ok(c);
        }
        let _g = self
            .create
            .lock()
            .map_err(|_| CrawlError::Poisoned("the data root".into()))?;
        if let Some(c) = self.crawl(id) {
            return Ok(c);
        }
        let (c, r) = self.open_crawl(id)?;
        // The new directories' entries are durable before anything is acked in them.
        let crawls = self.dir.join(CRAWLS);
        for d in [self.dir.as_path(), crawls.as_path()] {
            crate::atomic::sync_dir(d).map_err(io(format!("cannot sync {}", d.display())))?;
        }
        if let Some(parent) = self.crawl_dir(id).parent() {
            crate::atomic::sync_dir(parent)
                .map_err(io(format!("cannot sync {}", parent.display())))?;
        }
        tracing::info!(crawl = id, "created in {} ms", r.millis);
        let c = Arc::new(c);
        self.write_crawls()?.insert(id.to_string(), c.clone());
        Ok(c)
    }

    /// Every crawl, in id order.
    pub fn crawls(&self) -> Vec<Arc<Crawl>> {
        self.crawls
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every crawl, starting one further along each call (GetURLs without a crawl id
    /// serves crawls in turn).
    pub fn crawls_rotated(&self) -> Vec<Arc<Crawl>> {
        let mut v = self.crawls();
        if !v.is_empty() {
            let n = self.rotate.fetch_add(1, Ordering::Relaxed) % v.len();
            v.rotate_left(n);
        }
        v
    }

    /// Ids of the crawls that have queues.
    pub fn list_crawls(&self) -> Vec<String> {
        self.crawls()
            .iter()
            .filter(|c| c.has_queues())
            .map(|c| c.id().to_string())
            .collect()
    }

    fn store_node(&self, f: impl FnOnce(&mut NodeSettings)) -> Result<()> {
        let _g = self
            .create
            .lock()
            .map_err(|_| CrawlError::Poisoned("the data root".into()))?;
        let mut s = self.settings();
        f(&mut s);
        let path = self.dir.join(NODE_FILE);
        crate::atomic::write_atomic(&path, s.encode().as_bytes())
            .map_err(io(format!("cannot write {}", path.display())))?;
        *self
            .node
            .write()
            .map_err(|_| CrawlError::Poisoned("the data root".into()))? = s;
        Ok(())
    }

    /// Turns hand-outs on or off (durably).
    pub fn set_active(&self, active: bool) -> Result<()> {
        self.store_node(|s| s.active = active)
    }

    /// Sets the delay of queues without their own, in every crawl (durably).
    pub fn set_default_delay(&self, delay: Millis) -> Result<()> {
        self.store_node(|s| s.default_delay = delay)?;
        for c in self.crawls() {
            c.set_default_delay(delay)?;
        }
        Ok(())
    }

    /// Writes the node file if it does not exist yet (so a data root says what it is).
    pub fn persist_settings(&self) -> Result<()> {
        self.store_node(|_| {})
    }

    /// Deletes every URL and queue of crawl `id`; returns how many URLs. The crawl's
    /// directory stays (empty), so a concurrent request never sees a closed store.
    pub fn delete_crawl(&self, id: &str) -> Result<u64> {
        match self.crawl(id) {
            Some(c) => c.delete_all(),
            None => Ok(0),
        }
    }

    /// Checkpoints every crawl; returns the failures (each crawl is tried).
    pub fn checkpoint_all(&self) -> Vec<CrawlError> {
        self.crawls()
            .iter()
            .filter_map(|c| c.checkpoint().err())
            .collect()
    }

    /// Closes every crawl (their logs trimmed and synced). Requests still holding a crawl
    /// keep it open until they finish; it is then closed by being dropped.
    pub fn close(self) -> Vec<CrawlError> {
        let crawls = match self.crawls.into_inner() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let mut errors = Vec::new();
        for (_, c) in crawls {
            if let Ok(c) = Arc::try_unwrap(c) {
                if let Err(e) = c.close() {
                    errors.push(e);
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_escape_to_distinct_safe_names_and_back() {
        for id in [
            "DEFAULT", "BESPOKE", "a b/c", "..", ".x", "x.y", "%41", "é", "a_b-c",
        ] {
            let name = escape(id);
            assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
            assert_eq!(unescape(&name).as_deref(), Some(id), "{name}");
        }
        assert_eq!(escape("a b"), "a%20b");
        assert_eq!(unescape("A"), Some("A".into()));
        // Names escape would not make are not crawls.
        assert_eq!(unescape("%4"), None);
        assert_eq!(
            unescape("%41"),
            None,
            "an escaped byte that needs no escape"
        );
        assert_eq!(unescape(".hidden"), None);
    }

    #[test]
    fn node_settings_round_trip_and_refuse_garbage() {
        let s = NodeSettings {
            active: false,
            default_delay: 2500,
        };
        assert_eq!(NodeSettings::decode(&s.encode()), Ok(s));
        assert!(NodeSettings::decode("active = maybe").is_err());
        assert!(NodeSettings::decode("nonsense").is_err());
        assert_eq!(
            NodeSettings::decode("later_setting = 1\n").map(|s| s.active),
            Ok(true)
        );
    }
}
