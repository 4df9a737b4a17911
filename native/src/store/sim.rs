//! A simulated file system that can lose power: the backend the power-loss tests run the store
//! and the intent records on. (`kill -9` keeps the page cache, so it cannot prove what survives
//! a power cut; this can.)
//!
//! Model, for each file (inode): the bytes readers see now, the bytes that are durable, and
//! the writes and truncations since the last fsync, in order. For each directory: the names
//! readers see now, the durable names, and the creates, renames, links and removes since the
//! last directory fsync. [`SimFs::power_cut`] stops the world: every later call fails, and
//! [`SimFs::after_power_loss`] gives the file system a restart would find:
//! - [`Loss::Strict`]: exactly what was fsynced, nothing else;
//! - [`Loss::Random`]: what was fsynced, plus, as an OS's write-back might have left it, each
//!   later write in full, torn at a random byte, or not at all, each truncation or not, and a
//!   random prefix (journal order) of the directory changes.
//!
//! A cut can also be armed to happen *during* the n-th mutating operation
//! ([`SimFs::cut_at_op`]): a write then lands torn at a random byte (in what `Random` may
//! keep), and the operation fails. Every operation that changes state or syncs counts.
//!
//! Invariants: nothing that was not fsynced (data by a file sync, names by a directory sync) is
//! in a `Strict` restart; nothing that was fsynced is missing from any restart; and once the
//! power is cut no operation succeeds. Creating a directory is durable at once (the store
//! fsyncs a new directory's parent on a real disk; the simulation does not track parents).

use super::storage::{DirLock, FileRef, Open, Storage, StorageFile};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// What survives a power cut beyond the fsynced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Nothing that was not fsynced.
    Strict,
    /// Some of what was not fsynced, chosen by this seed.
    Random(u64),
}

#[derive(Debug, Clone)]
enum Pending {
    Write { off: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    now: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Pending>,
    locked: bool,
}

#[derive(Debug, Clone)]
enum DirOp {
    Put(String, usize),
    Remove(String),
}

#[derive(Debug, Clone, Default)]
struct Dir {
    now: BTreeMap<String, usize>,
    durable: BTreeMap<String, usize>,
    pending: Vec<DirOp>,
}

#[derive(Debug, Default)]
struct State {
    inodes: Vec<Inode>,
    dirs: BTreeMap<PathBuf, Dir>,
    locked_dirs: BTreeSet<PathBuf>,
    ops: u64,
    cut: bool,
    cut_at: Option<(u64, u64)>,
    fail_sync: Vec<(String, u64)>,
    syncs_by_prefix: BTreeMap<String, u64>,
    rng: u64,
}

/// The simulated file system; clones share it.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

fn cut_error() -> io::Error {
    io::Error::other("simulated power cut")
}

fn not_found(p: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", p.display()),
    )
}

fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{}: not a file name", path.display())))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((dir.to_path_buf(), name.to_string_lossy().into_owned()))
}

/// SplitMix64 step.
fn next(r: &mut u64) -> u64 {
    *r = r.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *r;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn apply(buf: &mut Vec<u8>, p: &Pending) {
    match p {
        Pending::Write { off, data } => {
            let off = *off as usize;
            if buf.len() < off + data.len() {
                buf.resize(off + data.len(), 0);
            }
            buf[off..off + data.len()].copy_from_slice(data);
        }
        Pending::SetLen(n) => buf.resize(*n as usize, 0),
    }
}

impl State {
    /// Counts a mutating operation; fails if the power is (or now goes) off. Returns
    /// `Some(seed)` when this operation is the one the cut lands in.
    fn step(&mut self) -> io::Result<Option<u64>> {
        if self.cut {
            return Err(cut_error());
        }
        self.ops += 1;
        if let Some((at, seed)) = self.cut_at {
            if self.ops >= at {
                self.cut = true;
                return Ok(Some(seed));
            }
        }
        Ok(None)
    }

    fn alive(&self) -> io::Result<()> {
        if self.cut {
            Err(cut_error())
        } else {
            Ok(())
        }
    }

    fn dir(&mut self, dir: &Path) -> io::Result<&mut Dir> {
        self.dirs.get_mut(dir).ok_or_else(|| not_found(dir))
    }

    fn lookup(&self, path: &Path) -> io::Result<usize> {
        let (d, n) = split(path)?;
        self.dirs
            .get(&d)
            .and_then(|d| d.now.get(&n))
            .copied()
            .ok_or_else(|| not_found(path))
    }

    fn put_name(&mut self, path: &Path, ino: usize) -> io::Result<()> {
        let (d, n) = split(path)?;
        let dir = self.dir(&d)?;
        dir.now.insert(n.clone(), ino);
        dir.pending.push(DirOp::Put(n, ino));
        Ok(())
    }

    fn remove_name(&mut self, path: &Path) -> io::Result<usize> {
        let (d, n) = split(path)?;
        let dir = self.dir(&d)?;
        let ino = dir.now.remove(&n).ok_or_else(|| not_found(path))?;
        dir.pending.push(DirOp::Remove(n));
        Ok(ino)
    }

    fn write(&mut self, ino: usize, off: u64, data: &[u8]) -> io::Result<()> {
        let torn = self.step()?;
        let data = match torn {
            Some(seed) => {
                let mut r = seed;
                let keep = (next(&mut r) % (data.len() as u64 + 1)) as usize;
                &data[..keep]
            }
            None => data,
        };
        let p = Pending::Write {
            off,
            data: data.to_vec(),
        };
        let i = &mut self.inodes[ino];
        apply(&mut i.now, &p);
        i.pending.push(p);
        if torn.is_some() {
            return Err(cut_error());
        }
        Ok(())
    }

    fn sync(&mut self, ino: usize, name: &str) -> io::Result<()> {
        if self.step()?.is_some() {
            return Err(cut_error());
        }
        for (prefix, nth) in &self.fail_sync {
            if name.starts_with(prefix.as_str()) {
                let n = self.syncs_by_prefix.entry(prefix.clone()).or_insert(0);
                *n += 1;
                if *n == *nth {
                    return Err(io::Error::other("injected fsync failure"));
                }
            }
        }
        let i = &mut self.inodes[ino];
        i.durable = i.now.clone();
        i.pending.clear();
        Ok(())
    }
}

impl SimFs {
    /// An empty file system (with a root directory `/`).
    pub fn new() -> SimFs {
        let fs = SimFs::default();
        fs.lock().dirs.insert(PathBuf::from("/"), Dir::default());
        fs
    }

    /// Shares this file system as a [`Storage`].
    pub fn storage(&self) -> Arc<dyn Storage> {
        Arc::new(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock is a bug in the simulation itself; the tests that
        // use it should see it rather than carry on.
        self.state.lock().expect("simulated file system lock")
    }

    /// Mutating operations so far.
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// Arms a power cut during the `n`-th mutating operation from the start (1-based); `seed`
    /// decides where a write in flight is torn.
    pub fn cut_at_op(&self, n: u64, seed: u64) {
        self.lock().cut_at = Some((n, seed));
    }

    /// Cuts the power now.
    pub fn power_cut(&self) {
        self.lock().cut = true;
    }

    /// Whether the power is off.
    pub fn is_cut(&self) -> bool {
        self.lock().cut
    }

    /// What the kernel does when the process that holds locks dies: releases them. (Its
    /// written data stays, visible but only as durable as its fsyncs made it.)
    pub fn release_locks(&self) {
        let mut s = self.lock();
        s.locked_dirs.clear();
        for i in &mut s.inodes {
            i.locked = false;
        }
    }

    /// Makes the `nth` fsync of files whose name starts with `prefix` fail (once).
    pub fn fail_sync(&self, prefix: &str, nth: u64) {
        self.lock().fail_sync.push((prefix.to_string(), nth));
    }

    /// The file system a restart after a power cut finds (see the module docs). The power
    /// need not be cut first: this is also "what is durable now".
    pub fn after_power_loss(&self, loss: Loss) -> SimFs {
        let s = self.lock();
        let mut rng = match loss {
            Loss::Strict => 0,
            Loss::Random(seed) => seed ^ 0x5EED,
        };
        let random = matches!(loss, Loss::Random(_));
        let inodes = s
            .inodes
            .iter()
            .map(|i| {
                let mut data = i.durable.clone();
                if random {
                    for p in &i.pending {
                        match (next(&mut rng) % 3, p) {
                            (0, _) => {}
                            (1, Pending::Write { off, data: d }) => {
                                let keep = (next(&mut rng) % (d.len() as u64 + 1)) as usize;
                                apply(
                                    &mut data,
                                    &Pending::Write {
                                        off: *off,
                                        data: d[..keep].to_vec(),
                                    },
                                );
                            }
                            _ => apply(&mut data, p),
                        }
                    }
                }
                Inode {
                    now: data.clone(),
                    durable: data,
                    pending: Vec::new(),
                    locked: false,
                }
            })
            .collect();
        let dirs = s
            .dirs
            .iter()
            .map(|(path, d)| {
                let mut names = d.durable.clone();
                if random && !d.pending.is_empty() {
                    let keep = (next(&mut rng) % (d.pending.len() as u64 + 1)) as usize;
                    for op in &d.pending[..keep] {
                        match op {
                            DirOp::Put(n, i) => {
                                names.insert(n.clone(), *i);
                            }
                            DirOp::Remove(n) => {
                                names.remove(n);
                            }
                        }
                    }
                }
                (
                    path.clone(),
                    Dir {
                        now: names.clone(),
                        durable: names,
                        pending: Vec::new(),
                    },
                )
            })
            .collect();
        SimFs {
            state: Arc::new(Mutex::new(State {
                inodes,
                dirs,
                rng: s.rng,
                ..State::default()
            })),
        }
    }

    /// The current bytes of `path` (for tests that inspect or damage files).
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = self.lock();
        let ino = s.lookup(path)?;
        Ok(s.inodes[ino].now.clone())
    }

    /// Replaces the bytes of `path`, durably (for tests that damage files).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.lock();
        let ino = match s.lookup(path) {
            Ok(i) => i,
            Err(_) => {
                s.inodes.push(Inode::default());
                let ino = s.inodes.len() - 1;
                let (d, n) = split(path)?;
                let dir = s.dir(&d)?;
                dir.now.insert(n.clone(), ino);
                dir.durable.insert(n, ino);
                ino
            }
        };
        let i = &mut s.inodes[ino];
        i.now = bytes.to_vec();
        i.durable = bytes.to_vec();
        i.pending.clear();
        Ok(())
    }
}

struct SimFile {
    fs: SimFs,
    ino: usize,
    name: String,
    writable: bool,
    holds_lock: std::sync::atomic::AtomicBool,
}

impl Drop for SimFile {
    fn drop(&mut self) {
        if self.holds_lock.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(mut s) = self.fs.state.lock() {
                s.inodes[self.ino].locked = false;
            }
        }
    }
}

impl StorageFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let s = self.fs.lock();
        s.alive()?;
        let data = &s.inodes[self.ino].now;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "opened read-only",
            ));
        }
        self.fs.lock().write(self.ino, offset, buf)
    }

    fn len(&self) -> io::Result<u64> {
        let s = self.fs.lock();
        s.alive()?;
        Ok(s.inodes[self.ino].now.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut s = self.fs.lock();
        if s.step()?.is_some() {
            return Err(cut_error());
        }
        let i = &mut s.inodes[self.ino];
        let p = Pending::SetLen(len);
        apply(&mut i.now, &p);
        i.pending.push(p);
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.fs.lock().sync(self.ino, &self.name)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.fs.lock().sync(self.ino, &self.name)
    }

    fn try_lock(&self) -> io::Result<bool> {
        let mut s = self.fs.lock();
        s.alive()?;
        if s.inodes[self.ino].locked {
            return Ok(self.holds_lock.load(std::sync::atomic::Ordering::Relaxed));
        }
        s.inodes[self.ino].locked = true;
        self.holds_lock
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }
}

struct SimDirLock {
    fs: SimFs,
    dir: PathBuf,
}

impl DirLock for SimDirLock {}

impl Drop for SimDirLock {
    fn drop(&mut self) {
        if let Ok(mut s) = self.fs.state.lock() {
            s.locked_dirs.remove(&self.dir);
        }
    }
}

impl Storage for SimFs {
    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef> {
        let mut s = self.lock();
        s.alive()?;
        let found = s.lookup(path).ok();
        let ino = match (how, found) {
            (Open::CreateNew, Some(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}: exists", path.display()),
                ))
            }
            (Open::Read | Open::Write, None) => return Err(not_found(path)),
            (_, Some(i)) => {
                if how == Open::Truncate {
                    if s.step()?.is_some() {
                        return Err(cut_error());
                    }
                    let p = Pending::SetLen(0);
                    apply(&mut s.inodes[i].now, &p);
                    s.inodes[i].pending.push(p);
                }
                i
            }
            (_, None) => {
                if s.step()?.is_some() {
                    return Err(cut_error());
                }
                s.inodes.push(Inode::default());
                let ino = s.inodes.len() - 1;
                s.put_name(path, ino)?;
                ino
            }
        };
        let name = split(path)?.1;
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            name,
            writable: how != Open::Read,
            holds_lock: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.alive()?;
        let mut at = Some(dir);
        while let Some(d) = at.filter(|d| !d.as_os_str().is_empty()) {
            s.dirs.entry(d.to_path_buf()).or_default();
            at = d.parent();
        }
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.lock().dirs.contains_key(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let s = self.lock();
        s.alive()?;
        Ok(s.dirs.contains_key(path) || s.lookup(path).is_ok())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let s = self.lock();
        s.alive()?;
        let d = s.dirs.get(dir).ok_or_else(|| not_found(dir))?;
        Ok(d.now.keys().cloned().collect())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.lookup(from)?;
        if s.step()?.is_some() {
            return Err(cut_error());
        }
        let ino = s.remove_name(from)?;
        s.put_name(to, ino)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        let ino = s.lookup(from)?;
        if s.lookup(to).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists", to.display()),
            ));
        }
        if s.step()?.is_some() {
            return Err(cut_error());
        }
        s.put_name(to, ino)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.lookup(path)?;
        if s.step()?.is_some() {
            return Err(cut_error());
        }
        s.remove_name(path).map(|_| ())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        if s.step()?.is_some() {
            return Err(cut_error());
        }
        let d = s.dir(dir)?;
        d.durable = d.now.clone();
        d.pending.clear();
        Ok(())
    }

    fn try_lock_dir(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>> {
        let mut s = self.lock();
        s.alive()?;
        if !s.dirs.contains_key(dir) {
            return Err(not_found(dir));
        }
        if !s.locked_dirs.insert(dir.to_path_buf()) {
            return Ok(None);
        }
        Ok(Some(Box::new(SimDirLock {
            fs: self.clone(),
            dir: dir.to_path_buf(),
        })))
    }

    fn scratch_dir(&self, _dir: &Path) -> PathBuf {
        std::env::temp_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_loss_keeps_exactly_what_was_synced() {
        let fs = SimFs::new();
        let d = Path::new("/d");
        fs.create_dir_all(d).unwrap();
        let f = fs.open(&d.join("a"), Open::Create).unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.sync_data().unwrap();
        f.write_all_at(b" world", 5).unwrap();
        // The name was never made durable: a strict restart has no file.
        let after = fs.after_power_loss(Loss::Strict);
        assert!(after.read(&d.join("a")).is_err());
        fs.sync_dir(d).unwrap();
        let after = fs.after_power_loss(Loss::Strict);
        assert_eq!(after.read(&d.join("a")).unwrap(), b"hello");
        // Random loss keeps the synced bytes and at most the rest.
        for seed in 0..50 {
            let b = fs
                .after_power_loss(Loss::Random(seed))
                .read(&d.join("a"))
                .unwrap();
            assert!(b.starts_with(b"hello") && b.len() <= 11, "{b:?}");
        }
    }

    #[test]
    fn a_cut_tears_the_write_in_flight_and_stops_everything() {
        let fs = SimFs::new();
        let d = Path::new("/d");
        fs.create_dir_all(d).unwrap();
        let f = fs.open(&d.join("a"), Open::Create).unwrap();
        fs.sync_dir(d).unwrap();
        fs.cut_at_op(fs.ops() + 1, 7);
        assert!(f.write_all_at(&[1u8; 100], 0).is_err());
        assert!(f.sync_data().is_err());
        assert!(fs.open(&d.join("b"), Open::Create).is_err());
        let seen: BTreeSet<usize> = (0..40)
            .map(|s| {
                fs.after_power_loss(Loss::Random(s))
                    .read(&d.join("a"))
                    .unwrap()
                    .len()
            })
            .collect();
        assert!(seen.len() > 2, "torn lengths {seen:?}");
        assert!(seen.iter().all(|&n| n <= 100));
    }

    #[test]
    fn unlinked_files_stay_readable_through_their_handle() {
        let fs = SimFs::new();
        let d = Path::new("/d");
        fs.create_dir_all(d).unwrap();
        let f = fs.open(&d.join("a"), Open::Create).unwrap();
        f.write_all_at(b"x", 0).unwrap();
        fs.remove(&d.join("a")).unwrap();
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, 0).unwrap();
        assert_eq!(&b, b"x");
        assert!(fs.list(d).unwrap().is_empty());
    }
}
