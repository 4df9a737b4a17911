//! Running a reshape (a list of output plans) as one crash-safe job in an output directory,
//! under an intent record (see [`crate::intent`] for the protocol).

use super::{write_output, Error, Input, Outcome, OutputPlan, Refusal, Result, Settings};
use crate::intent::{self, InputRecord, Intent};
use crate::store::storage::{RealFs, Storage};
use std::fs;
use std::path::{Path, PathBuf};

/// Points where a test may ask the process to die (`MEGURI_CRASH_AT`), to prove that every
/// one of them leaves the directory recoverable.
pub const CRASH_POINTS: &[&str] = &[
    "intent",   // the intent record is durable, no output exists
    "output-0", // the first temporary output is complete
    "output-1", // the second (split) temporary output is complete
    "rename-0", // the first output has its final name
    "rename-1", // the second (split) output has its final name
    "commit",   // every output is in place, the intent not yet removed
];

/// The directory outputs go to (`.` for a bare file name).
pub fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Undoes interrupted jobs in `dir` (see [`intent::recover`]); `notes` receives a line for
/// each. Commands call this first, before judging their inputs, since an interrupted job's
/// leftovers may be what makes the inputs look wrong.
pub fn recover(dir: &Path, notes: &mut dyn FnMut(String)) -> Result<()> {
    for line in intent::recover(dir).map_err(Error::io(format!("{}: recovery", dir.display())))? {
        notes(line);
    }
    Ok(())
}

/// Recovers interrupted jobs in `dir`, then writes every plan's output to its path, all or
/// nothing. `notes` receives the recovery lines (for stderr). Refuses outputs that exist.
pub fn run(
    op: &str,
    inputs: &[Input],
    plans: &[(OutputPlan, PathBuf)],
    settings: &Settings,
    notes: &mut dyn FnMut(String),
) -> Result<Vec<Outcome>> {
    let Some((_, first)) = plans.first() else {
        return Err(Refusal::NothingToWrite.into());
    };
    let dir = dir_of(first);
    if plans.iter().any(|(_, p)| dir_of(p) != dir) {
        return Err(Refusal::OutputsSpread.into());
    }
    recover(&dir, notes)?;
    for (_, out) in plans {
        if let Some(i) = inputs.iter().find(|i| same_file(&i.path, out)) {
            return Err(Refusal::OutputIsInput {
                out: out.clone(),
                input: i.name(),
            }
            .into());
        }
        if out.exists() {
            return Err(Refusal::OutputExists { out: out.clone() }.into());
        }
    }
    let abs = |p: &Path| std::path::absolute(p).map_err(Error::io(p.display().to_string()));
    let finals: Vec<PathBuf> = plans
        .iter()
        .map(|(_, p)| abs(p))
        .collect::<Result<_, _>>()?;
    let temps: Vec<PathBuf> = finals.iter().map(|p| intent::temp_name(p)).collect();
    let record = Intent {
        op: op.to_string(),
        pid: std::process::id(),
        inputs: inputs
            .iter()
            .map(|i| {
                Ok(InputRecord {
                    path: abs(&i.path)?,
                    footer_crc: i.footer_crc(),
                })
            })
            .collect::<Result<_>>()?,
        outputs: finals.clone(),
        temps: temps.clone(),
    };
    let held = intent::begin(&dir, &record)
        .map_err(Error::io(format!("{}: intent record", dir.display())))?;
    crate::crash::crash_point("intent");
    let undo = |temps: &[PathBuf], finals: &[PathBuf]| undo_in(&RealFs, &dir, temps, finals);
    let mut outcomes = Vec::with_capacity(plans.len());
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (i, ((plan, out), tmp)) in plans.iter().zip(&temps).enumerate() {
        if progress {
            eprintln!(
                "{op}: writing {} ({}/{})",
                out.display(),
                i + 1,
                plans.len()
            );
        }
        match write_output(inputs, plan, settings, tmp, &dir) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                undo(&temps, &[]);
                let _ = held.commit();
                return Err(e);
            }
        }
        crate::crash::crash_point(&format!("output-{i}"));
    }
    // An input that changed underneath us (another writer replaced it) makes the outputs
    // suspect: refuse rather than publish them.
    for inp in inputs {
        let now = Input::open(&inp.path).ok().map(|i| i.footer_crc());
        if now != Some(inp.footer_crc()) {
            undo(&temps, &[]);
            let _ = held.commit();
            return Err(Refusal::InputChanged(inp.name()).into());
        }
    }
    match publish(&RealFs, &dir, &temps, &finals) {
        Ok(()) => {}
        Err(Published::Undone(out, e)) => {
            let _ = held.commit();
            return Err(Error::io(format!(
                "{}: publishing the output",
                out.display()
            ))(e));
        }
        // Published but not known durable: the record stays, so the next run undoes it.
        Err(Published::NotDurable(e)) => return Err(Error::io(dir.display().to_string())(e)),
    }
    crate::crash::crash_point("commit");
    held.commit().map_err(Error::io(format!(
        "{}: removing the intent record",
        dir.display()
    )))?;
    Ok(outcomes)
}

/// Removes `temps` and `finals` (best effort) and fsyncs `dir`: undoing a job's outputs.
pub fn undo_in(fs: &dyn Storage, dir: &Path, temps: &[PathBuf], finals: &[PathBuf]) {
    for p in temps.iter().chain(finals) {
        let _ = fs.remove(p);
    }
    let _ = fs.sync_dir(dir);
}

/// How [`publish`] failed.
#[derive(Debug)]
pub enum Published {
    /// Linking this output failed; the outputs published before it were removed again.
    Undone(PathBuf, std::io::Error),
    /// Every output is in place, but the directory fsync failed: they may not survive a
    /// crash, so the intent record must stay for recovery to undo them.
    NotDurable(std::io::Error),
}

/// Publishes complete temporary outputs under their final names, one by one, each by a hard
/// link (which fails, rather than replaces, a file that appeared under the output's name
/// meanwhile) and the removal of the temporary; then fsyncs the directory.
pub fn publish(
    fs: &dyn Storage,
    dir: &Path,
    temps: &[PathBuf],
    finals: &[PathBuf],
) -> Result<(), Published> {
    for (i, (out, tmp)) in finals.iter().zip(temps).enumerate() {
        if let Err(e) = fs.hard_link(tmp, out).and_then(|_| fs.remove(tmp)) {
            undo_in(fs, dir, temps, &finals[..i]);
            return Err(Published::Undone(out.clone(), e));
        }
        crate::crash::crash_point(&format!("rename-{i}"));
    }
    fs.sync_dir(dir).map_err(Published::NotDurable)
}
