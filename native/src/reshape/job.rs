//! Running a reshape (a list of output plans) as one crash-safe job in an output directory,
//! under an intent record (see [`crate::intent`] for the protocol).

use super::{write_output, Input, Outcome, OutputPlan, Settings};
use crate::atomic::sync_dir;
use crate::intent::{self, InputRecord, Intent};
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
pub fn recover(dir: &Path, notes: &mut dyn FnMut(String)) -> Result<(), String> {
    for line in intent::recover(dir).map_err(|e| format!("{}: recovery: {e}", dir.display()))? {
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
) -> Result<Vec<Outcome>, String> {
    let Some((_, first)) = plans.first() else {
        return Err("nothing to write".into());
    };
    let dir = dir_of(first);
    if plans.iter().any(|(_, p)| dir_of(p) != dir) {
        return Err("all outputs must go to one directory".into());
    }
    recover(&dir, notes)?;
    for (_, out) in plans {
        if let Some(i) = inputs.iter().find(|i| same_file(&i.path, out)) {
            return Err(format!(
                "{}: the output would overwrite the input {}; inputs are never modified",
                out.display(),
                i.name()
            ));
        }
        if out.exists() {
            return Err(format!(
                "{}: exists; remove it or choose another output name (outputs never replace files)",
                out.display()
            ));
        }
    }
    let abs = |p: &Path| std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()));
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
            .collect::<Result<_, String>>()?,
        outputs: finals.clone(),
        temps: temps.clone(),
    };
    let held = intent::begin(&dir, &record)
        .map_err(|e| format!("{}: intent record: {e}", dir.display()))?;
    crate::crash::crash_point("intent");
    let undo = |temps: &[PathBuf], finals: &[PathBuf]| {
        for p in temps.iter().chain(finals) {
            let _ = fs::remove_file(p);
        }
        let _ = sync_dir(&dir);
    };
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
            return Err(format!(
                "{}: changed while it was being read; nothing was written",
                inp.name()
            ));
        }
    }
    for (i, (out, tmp)) in finals.iter().zip(&temps).enumerate() {
        // A hard link, not a rename: it fails rather than replaces a file that appeared under
        // the output's name while we worked.
        if let Err(e) = fs::hard_link(tmp, out).and_then(|_| fs::remove_file(tmp)) {
            undo(&temps, &finals[..i]);
            let _ = held.commit();
            return Err(format!("{}: publishing the output: {e}", out.display()));
        }
        crate::crash::crash_point(&format!("rename-{i}"));
    }
    sync_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::crash::crash_point("commit");
    held.commit()
        .map_err(|e| format!("{}: removing the intent record: {e}", dir.display()))?;
    Ok(outcomes)
}
