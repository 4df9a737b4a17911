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

use crate::atomic::sync_dir;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
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
pub struct Held {
    path: PathBuf,
    dir: PathBuf,
    _lock: File,
}

impl Held {
    /// Commits: removes the record and fsyncs the directory.
    pub fn commit(self) -> std::io::Result<()> {
        fs::remove_file(&self.path)?;
        sync_dir(&self.dir)
    }
}

/// The temporary name of an output.
pub fn temp_name(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `intent` into `dir`, locked before it becomes visible: the record is written and
/// fsynced under a temporary name while locked, then hard-linked to its final name (which fails,
/// rather than replaces, when another job's record is there) and the directory is fsynced.
pub fn begin(dir: &Path, intent: &Intent) -> std::io::Result<Held> {
    use std::io::Write;
    let first = intent
        .outputs
        .first()
        .and_then(|p| p.file_name())
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let path = dir.join(format!(".{first}{SUFFIX}"));
    let tmp = dir.join(format!(".{first}{SUFFIX}.tmp-{}", std::process::id()));
    let text = serde_json::to_vec_pretty(intent).map_err(std::io::Error::other)?;
    let result = (|| -> std::io::Result<File> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.try_lock().map_err(std::io::Error::other)?;
        f.write_all(&text)?;
        f.sync_all()?;
        fs::hard_link(&tmp, &path).map_err(|e| {
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
    let _ = fs::remove_file(&tmp);
    let lock = result?;
    sync_dir(dir)?;
    Ok(Held {
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

/// Finds interrupted operations in `dir` and undoes them; returns one line per record handled
/// (for the user to read) and skips records a live process holds.
pub fn recover(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut said = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(said);
    };
    let all: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    // Spill files and record temporaries of processes that died before they could unlink
    // them: no record names these, so they go by their owner's pid.
    for p in &all {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(pid) = name.as_deref().and_then(leftover_pid) {
            if !alive(pid) && fs::remove_file(p).is_ok() {
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
        let lock = match File::open(&path) {
            Ok(f) => f,
            Err(_) => continue,
        };
        if lock.try_lock().is_err() {
            said.push(format!(
                "{}: another meguri process is working here; left alone",
                path.display()
            ));
            continue;
        }
        let bytes = match fs::read(&path) {
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
            fs::remove_file(&path)?;
            sync_dir(dir)?;
            said.push(format!(
                "{}: unreadable intent record removed; nothing else touched",
                path.display()
            ));
            continue;
        };
        let mut removed = Vec::new();
        for p in intent.outputs.iter().chain(&intent.temps) {
            match fs::remove_file(p) {
                Ok(()) => removed.push(p.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        sync_dir(dir)?;
        let mut changed = Vec::new();
        for i in &intent.inputs {
            let now = crate::reshape::Input::open(&i.path)
                .ok()
                .map(|inp| inp.footer_crc());
            if now != Some(i.footer_crc) {
                changed.push(i.path.display().to_string());
            }
        }
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(dir)?;
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
