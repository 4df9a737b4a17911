//! Intent records: how `compact` and `split` stay all-or-nothing across crashes.
//!
//! Protocol, in the directory that receives the outputs:
//! 1. Before any output is created, an intent record `.<first output>.meguri-intent` is
//!    written: to a temporary file that is locked and fsynced, then hard-linked to its name
//!    (never replacing another job's record), then the directory is fsynced. It names the
//!    operation, the inputs with their footer CRCs, the final outputs and their temporary names,
//!    as absolute paths. The process holds the lock for as long as it works.
//! 2. Outputs are written to their temporary names and fsynced, then published one by one by
//!    hard link (never replacing a file); the directory is fsynced.
//! 3. Removing the intent record (then a directory fsync) is the commit point.
//!
//! Invariants: inputs are never written, renamed or removed. An intent record that no live
//! process holds locked means an interrupted operation: [`recover`] removes every output and
//! temporary it names (complete or not), then the record itself, so the directory is back to
//! the untouched inputs, and the rerun starts clean. A record another process holds locked is
//! left alone.
//!
//! Every file operation goes through the storage seam ([`Storage`]), so the protocol runs on
//! the simulated file system in the power-loss tests as it does on the real one.

use crate::store::storage::{FileRef, Open, RealFs, Storage};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Suffix of intent record names.
pub const SUFFIX: &str = ".meguri-intent";

/// An input as the intent records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputRecord {
    /// Path as given.
    pub path: PathBuf,
    /// Footer CRC when the operation started.
    pub footer_crc: u32,
}

/// What an operation is about to do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Intent {
    /// `"compact"` or `"split"`.
    pub op: String,
    /// The process that wrote it.
    pub pid: u32,
    /// Inputs, with footer CRCs.
    pub inputs: Vec<InputRecord>,
    /// Final output paths.
    pub outputs: Vec<PathBuf>,
    /// Temporary output paths, published as `outputs` at the end. All paths are absolute, so
    /// recovery from another working directory finds them.
    pub temps: Vec<PathBuf>,
}

/// A written intent, locked for the life of the operation.
pub struct Held<'f> {
    fs: &'f dyn Storage,
    path: PathBuf,
    dir: PathBuf,
    _lock: FileRef,
}

impl Held<'_> {
    /// Commits: removes the record and fsyncs the directory.
    pub fn commit(self) -> std::io::Result<()> {
        self.fs.remove(&self.path)?;
        self.fs.sync_dir(&self.dir)
    }
}

/// The temporary name of an output.
pub fn temp_name(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `intent` into `dir` on the real file system; see [`begin_in`].
pub fn begin(dir: &Path, intent: &Intent) -> std::io::Result<Held<'static>> {
    begin_in(&RealFs, dir, intent)
}

/// Writes `intent` into `dir`, locked before it becomes visible: the record is written and
/// fsynced under a temporary name while locked, then hard-linked to its final name (which fails,
/// rather than replaces, when another job's record is there) and the directory is fsynced.
pub fn begin_in<'f>(fs: &'f dyn Storage, dir: &Path, intent: &Intent) -> std::io::Result<Held<'f>> {
    let first = intent
        .outputs
        .first()
        .and_then(|p| p.file_name())
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let path = dir.join(format!(".{first}{SUFFIX}"));
    let tmp = dir.join(format!(".{first}{SUFFIX}.tmp-{}", std::process::id()));
    let text = serde_json::to_vec_pretty(intent).map_err(std::io::Error::other)?;
    let result = (|| -> std::io::Result<FileRef> {
        let f = fs.open(&tmp, Open::CreateNew)?;
        if !f.try_lock()? {
            return Err(std::io::Error::other("the new intent record is locked"));
        }
        f.write_all_at(&text, 0)?;
        f.sync_all()?;
        fs.hard_link(&tmp, &path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                std::io::Error::other(format!(
                    "{} exists: another job is writing the same outputs",
                    path.display()
                ))
            } else {
                e
            }
        })?;
        Ok(f)
    })();
    let _ = fs.remove(&tmp);
    let lock = result?;
    fs.sync_dir(dir)?;
    Ok(Held {
        fs,
        path,
        dir: dir.to_path_buf(),
        _lock: lock,
    })
}

/// Whether process `pid` is alive (Linux: it has a /proc entry).
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The pid in a leftover's name (`.meguri-spill-<pid>-…`, `….meguri-intent.tmp-<pid>`).
fn leftover_pid(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(".meguri-spill-") {
        return rest.split('-').next()?.parse().ok();
    }
    let (_, pid) = name.split_once(&format!("{SUFFIX}.tmp-"))?;
    pid.parse().ok()
}

/// Finds interrupted operations in `dir` on the real file system and undoes them; returns one
/// line per record handled (for the user to read) and skips records a live process holds.
pub fn recover(dir: &Path) -> std::io::Result<Vec<String>> {
    let crc = |p: &Path| {
        crate::reshape::Input::open(p)
            .ok()
            .map(|inp| inp.footer_crc())
    };
    recover_in(&RealFs, dir, &alive, &crc)
}

/// [`recover`] on any file system: `alive` says whether a process id is running, `footer_crc`
/// reads an input's footer CRC (`None` when it cannot be read).
pub fn recover_in(
    fs: &dyn Storage,
    dir: &Path,
    alive: &dyn Fn(u32) -> bool,
    footer_crc: &dyn Fn(&Path) -> Option<u32>,
) -> std::io::Result<Vec<String>> {
    let mut said = Vec::new();
    let Ok(names) = fs.list(dir) else {
        return Ok(said);
    };
    let all: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    // Spill files and record temporaries of processes that died before they could unlink
    // them: no record names these, so they go by their owner's pid.
    for p in &all {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(pid) = name.as_deref().and_then(leftover_pid) {
            if !alive(pid) && fs.remove(p).is_ok() {
                said.push(format!(
                    "removed {} left by a process that died",
                    p.display()
                ));
            }
        }
    }
    let mut records: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(SUFFIX))
        })
        .collect();
    records.sort();
    for path in records {
        let lock = match fs.open(&path, Open::Read) {
            Ok(f) => f,
            Err(_) => continue,
        };
        if !lock.try_lock().unwrap_or(false) {
            said.push(format!(
                "{}: another meguri process is working here; left alone",
                path.display()
            ));
            continue;
        }
        let bytes = match read_all(&*lock) {
            Ok(b) => b,
            // Its owner committed between our listing and our lock.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let intent: Option<Intent> = serde_json::from_slice(&bytes).ok();
        let Some(intent) = intent else {
            // A record that does not parse was never completely written (the atomic write
            // makes that impossible unless it was damaged): nothing it names can be trusted,
            // so only the record goes.
            fs.remove(&path)?;
            fs.sync_dir(dir)?;
            said.push(format!(
                "{}: unreadable intent record removed; nothing else touched",
                path.display()
            ));
            continue;
        };
        let mut removed = Vec::new();
        for p in intent.outputs.iter().chain(&intent.temps) {
            match fs.remove(p) {
                Ok(()) => removed.push(p.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        fs.sync_dir(dir)?;
        let mut changed = Vec::new();
        for i in &intent.inputs {
            if footer_crc(&i.path) != Some(i.footer_crc) {
                changed.push(i.path.display().to_string());
            }
        }
        match fs.remove(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        fs.sync_dir(dir)?;
        let mut line = format!(
            "recovered an interrupted {} (pid {}): removed {} partial output(s){}; inputs untouched",
            intent.op,
            intent.pid,
            removed.len(),
            if removed.is_empty() {
                String::new()
            } else {
                format!(" ({})", removed.join(", "))
            }
        );
        if !changed.is_empty() {
            line.push_str(&format!(
                "; note: these inputs changed or vanished since: {}",
                changed.join(", ")
            ));
        }
        said.push(line);
    }
    Ok(said)
}

/// The whole content of a small file.
fn read_all(f: &dyn crate::store::storage::StorageFile) -> std::io::Result<Vec<u8>> {
    let len = f.len()?;
    // An intent record is a few hundred bytes of JSON; anything huge is not one of ours.
    if len > 16 << 20 {
        return Err(std::io::Error::other("an intent record larger than 16 MiB"));
    }
    let mut b = vec![0u8; len as usize];
    f.read_exact_at(&mut b, 0)?;
    Ok(b)
}
