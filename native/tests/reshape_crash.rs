//! Crash safety of `compact` and `split`, with real processes and real files: the process is
//! made to die at every step of the protocol (`MEGURI_CRASH_AT`, which aborts), and killed
//! with SIGKILL at spread-out moments. After every death the directory must hold the untouched
//! inputs plus, at most, outputs that are complete; the next run must say it recovered, leave
//! exactly the inputs and the complete outputs, and succeed. Inputs are files our writer
//! generates (three parts tiling the key space, and a 1,000-row file); the SIGKILL test uses
//! the reference's larger parts from `../shared`, so that kills land mid-run.

use meguri_tests::fixtures::{feature_file, parts_and_manifest};
use meguri_tests::{assert_verifies, golden_dir, text, values_at, HostValue, Scratch, UrlValue};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meguri"))
}

/// `compact INPUTS... --out OUT`.
fn compact_args(inputs: &[PathBuf], out: &Path) -> Vec<String> {
    let mut args: Vec<String> = vec!["compact".into()];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["--out".into(), s(out)]);
    args
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The generated parts' names.
const PARTS: [&str; 3] = ["part-1.meguri", "part-2.meguri", "part-3.meguri"];

/// A generated file with no extension columns (`reshape` refuses those), split by the tests.
const WHOLE: &str = "ribbon-mp100-zstd";

/// Writes the generated files `names` (of [`PARTS`], or `WHOLE.meguri`) into `dir`; returns
/// their paths.
fn stage(dir: &Scratch, names: &[&str]) -> Vec<PathBuf> {
    let (parts, _) = parts_and_manifest();
    names
        .iter()
        .map(|&n| {
            let bytes = if n == format!("{WHOLE}.meguri") {
                feature_file(WHOLE).bytes.clone()
            } else {
                parts
                    .iter()
                    .find(|(p, _)| p == n)
                    .expect("a part")
                    .1
                    .clone()
            };
            let to = dir.join(n);
            std::fs::write(&to, bytes).unwrap();
            to
        })
        .collect()
}

/// The rows of disjoint inputs given in key order, as one compacted file must hold them.
fn merged(inputs: &[PathBuf]) -> (Vec<UrlValue>, Vec<HostValue>) {
    let mut want = (Vec::new(), Vec::new());
    for p in inputs {
        let (u, h) = values_at(p);
        want.0.extend(u);
        want.1.extend(h);
    }
    want
}

/// Copies `names` from the golden folder into `dir`; returns their new paths.
fn stage_golden(g: &Path, dir: &Scratch, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| {
            let to = dir.join(Path::new(n).file_name().unwrap().to_str().unwrap());
            std::fs::copy(g.join(n), &to).unwrap();
            to
        })
        .collect()
}

fn contents(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn run(args: &[String], crash_at: Option<&str>) -> Output {
    let mut c = bin();
    c.args(args);
    if let Some(p) = crash_at {
        c.env("MEGURI_CRASH_AT", p);
    }
    c.output().expect("run meguri")
}

/// What a directory may hold after a death: the inputs (unchanged), final outputs only if
/// complete, and leftovers (temporaries, an intent record) that the next run must clean.
fn check_after_death(dir: &Scratch, inputs: &[PathBuf], before: &[Vec<u8>], outputs: &[PathBuf]) {
    assert_eq!(contents(inputs), before, "an input changed");
    for o in outputs.iter().filter(|o| o.exists()) {
        assert_verifies(o);
    }
    for name in dir.names() {
        let known = inputs
            .iter()
            .chain(outputs)
            .any(|p| p.file_name().unwrap().to_str() == Some(&name));
        assert!(
            known || name.ends_with(".meguri-intent") || name.contains(".tmp-"),
            "unexpected file {name} after a crash"
        );
    }
}

/// After a clean run: exactly the inputs and the outputs.
fn check_clean(dir: &Scratch, inputs: &[PathBuf], outputs: &[PathBuf]) {
    let mut want: Vec<String> = inputs
        .iter()
        .chain(outputs)
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    want.sort();
    assert_eq!(dir.names(), want);
    for o in outputs {
        assert_verifies(o);
    }
}

#[test]
fn compact_dies_at_every_step_and_the_rerun_recovers() {
    for point in ["intent", "output-0", "rename-0", "commit"] {
        let dir = Scratch::new(&format!("crash-compact-{point}"));
        let inputs = stage(&dir, &PARTS);
        let want = merged(&inputs);
        assert!(want.0.len() > 100);
        let before = contents(&inputs);
        let out = dir.join("merged.meguri");
        let args = compact_args(&inputs, &out);
        let r = run(&args, Some(point));
        assert_eq!(
            r.status.code(),
            None,
            "{point}: should have died: {}",
            text(&r.stderr)
        );
        check_after_death(&dir, &inputs, &before, std::slice::from_ref(&out));
        assert!(
            dir.names().iter().any(|n| n.ends_with(".meguri-intent")),
            "{point}: no intent record left"
        );
        let r = run(&args, None);
        assert!(r.status.success(), "{point}: rerun: {}", text(&r.stderr));
        assert!(
            text(&r.stderr).contains("recovered an interrupted compact"),
            "{point}: {}",
            text(&r.stderr)
        );
        check_clean(&dir, &inputs, std::slice::from_ref(&out));
        assert!(
            values_at(&out) == want,
            "{point}: rows differ after recovery"
        );
    }
}

#[test]
fn split_dies_at_every_step_and_the_rerun_recovers() {
    for point in meguri::reshape::job::CRASH_POINTS {
        let dir = Scratch::new(&format!("crash-split-{point}"));
        let inputs = stage(&dir, &[&format!("{WHOLE}.meguri")]);
        let before = contents(&inputs);
        let outputs: Vec<PathBuf> = (0..2)
            .map(|i| dir.join(&format!("{WHOLE}-{i}.meguri")))
            .collect();
        let args: Vec<String> = vec![
            "split".into(),
            s(&inputs[0]),
            "--into".into(),
            "2".into(),
            "--out-dir".into(),
            s(&dir.0),
        ];
        let r = run(&args, Some(point));
        assert_eq!(r.status.code(), None, "{point}: should have died");
        check_after_death(&dir, &inputs, &before, &outputs);
        // Half a split is never visible as the whole: at most the first output is in place
        // before the second is renamed.
        if *point == "rename-0" {
            assert!(outputs[0].exists() && !outputs[1].exists());
        }
        let r = run(&args, None);
        assert!(r.status.success(), "{point}: rerun: {}", text(&r.stderr));
        assert!(text(&r.stderr).contains("recovered an interrupted split"));
        check_clean(&dir, &inputs, &outputs);
        let whole = values_at(&inputs[0]);
        let (a, b) = (values_at(&outputs[0]), values_at(&outputs[1]));
        let urls: Vec<_> = a.0.into_iter().chain(b.0).collect();
        assert!(urls == whole.0, "{point}: split rows differ");
    }
}

#[test]
fn compact_survives_sigkill_at_spread_out_moments() {
    let Some(g) = golden_dir() else { return };
    let names = [
        "parts/part-0.meguri",
        "parts/part-1.meguri",
        "parts/part-2.meguri",
    ];
    let want = values_at(&g.join("merged.meguri"));
    // How long an undisturbed run takes here, to spread the kills over it.
    let dir = Scratch::new("kill-timing");
    let inputs = stage_golden(&g, &dir, &names);
    let args = compact_args(&inputs, &dir.join("m.meguri"));
    let t = Instant::now();
    assert!(run(&args, None).status.success());
    let full = t.elapsed();
    drop(dir);

    // Twelve runs at delays spread over that time; if the timing run was slow (other tests
    // share the machine) and too few runs die mid-way, more runs at the short delays follow.
    let kills = 12;
    let (mut killed, mut finished) = (0, 0);
    let mut k = 0;
    while (k < kills || killed < kills / 2) && k < 4 * kills {
        let dir = Scratch::new(&format!("kill-{k}"));
        let inputs = stage_golden(&g, &dir, &names);
        let before = contents(&inputs);
        let out = dir.join("merged.meguri");
        let args = compact_args(&inputs, &out);
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64((k % (kills - 2)) as f64 / (kills - 2) as f64));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.success() {
            finished += 1;
        } else {
            killed += 1;
        }
        check_after_death(&dir, &inputs, &before, std::slice::from_ref(&out));
        // A run killed after its rename but before its commit is rolled back and redone; a run
        // that finished leaves an output the rerun must refuse to replace.
        let r = run(&args, None);
        assert!(
            r.status.success() || (status.success() && text(&r.stderr).contains("exists")),
            "kill {k}: rerun: {}",
            text(&r.stderr)
        );
        check_clean(&dir, &inputs, std::slice::from_ref(&out));
        assert!(values_at(&out) == want, "kill {k}: rows differ");
        k += 1;
    }
    eprintln!(
        "{killed} runs killed, {finished} finished before the kill; every directory recovered"
    );
    assert!(
        killed >= kills / 2,
        "only {killed} of {k} runs were killed mid-way"
    );
}

#[test]
fn recovery_notes_inputs_that_changed_since_the_crash() {
    let dir = Scratch::new("crash-changed");
    let inputs = stage(&dir, &PARTS[..2]);
    let out = dir.join("m.meguri");
    let args = compact_args(&inputs, &out);
    assert_eq!(run(&args, Some("output-0")).status.code(), None);
    // Someone replaces an input before the rerun.
    let third = stage(&dir, &PARTS[2..]);
    std::fs::rename(&third[0], &inputs[1]).unwrap();
    let r = run(&args, None);
    let e = text(&r.stderr);
    assert!(e.contains("recovered an interrupted compact"), "{e}");
    assert!(
        e.contains("changed or vanished") && e.contains("part-2.meguri"),
        "{e}"
    );
}

#[test]
fn recovery_from_another_working_directory_finds_relative_outputs() {
    let dir = Scratch::new("crash-relative");
    let whole = format!("{WHOLE}.meguri");
    let inputs = stage(&dir, &[&whole]);
    std::fs::create_dir(dir.join("parts")).unwrap();
    // Crash with every path relative to the scratch folder, half-way through publishing.
    let r = bin()
        .current_dir(&dir.0)
        .args(["split", &whole, "--into", "2", "--out-dir", "parts"])
        .env("MEGURI_CRASH_AT", "rename-0")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), None);
    assert!(dir.join(&format!("parts/{WHOLE}-0.meguri")).exists());
    // The rerun names the same folder absolutely, from elsewhere.
    let r = bin()
        .current_dir("/")
        .args([
            "split",
            &s(&inputs[0]),
            "--at",
            "0x8000000000000000",
            "--out-dir",
            &s(&dir.join("parts")),
        ])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(
        text(&r.stderr).contains("removed 2 partial output(s)"),
        "{}",
        text(&r.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.join("parts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [format!("{WHOLE}-0.meguri"), format!("{WHOLE}-1.meguri")]
    );
}

/// The compact/split protocol (intent record, temporary outputs, publication by link, commit
/// by removing the record) on the simulated file system, with the power cut at every storage
/// operation: after recovery the directory holds the input and either every output, complete,
/// or none, and nothing else.
#[test]
fn the_intent_protocol_survives_a_power_cut_at_every_step() {
    use meguri::intent::{self, InputRecord, Intent};
    use meguri::reshape::job;
    use meguri::store::sim::{Loss, SimFs};
    use meguri::store::storage::{Open, Storage};
    let dir = Path::new("/job");
    let input = dir.join("in.meguri");
    let finals: Vec<PathBuf> = (0..2)
        .map(|i| dir.join(format!("out-{i}.meguri")))
        .collect();
    let temps: Vec<PathBuf> = finals.iter().map(|p| intent::temp_name(p)).collect();
    let body = |i: usize| vec![b'a' + i as u8; 5000 + 100 * i];
    let record = Intent {
        op: "split".into(),
        pid: 1,
        inputs: vec![InputRecord {
            path: input.clone(),
            footer_crc: 7,
        }],
        outputs: finals.clone(),
        temps: temps.clone(),
    };
    let run = |fs: &dyn Storage| -> std::io::Result<()> {
        let held = intent::begin_in(fs, dir, &record)?;
        for (i, t) in temps.iter().enumerate() {
            let f = fs.open(t, Open::CreateNew)?;
            f.write_all_at(&body(i), 0)?;
            f.sync_all()?;
        }
        job::publish(fs, dir, &temps, &finals)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        held.commit()
    };
    let (mut cuts, mut committed, mut undone) = (0u64, 0u64, 0u64);
    let mut step = 1;
    loop {
        for loss in [Loss::Strict, Loss::Random(step)] {
            let sim = SimFs::new();
            sim.create_dir_all(dir).unwrap();
            sim.write(&input, b"input bytes").unwrap();
            sim.cut_at_op(sim.ops() + step, step);
            let finished = run(&sim).is_ok() && !sim.is_cut();
            let after = sim.after_power_loss(loss);
            let said = intent::recover_in(&after, dir, &|_| false, &|_| Some(7)).unwrap();
            let names = after.list(dir).unwrap();
            let outs: Vec<&String> = names.iter().filter(|n| n.starts_with("out-")).collect();
            assert_eq!(
                after.read(&input).unwrap(),
                b"input bytes",
                "step {step}: the input changed"
            );
            if outs.is_empty() {
                undone += 1;
                assert_eq!(
                    names,
                    ["in.meguri"],
                    "step {step} ({loss:?}): {names:?} {said:?}"
                );
            } else {
                committed += 1;
                assert_eq!(
                    names,
                    ["in.meguri", "out-0.meguri", "out-1.meguri"],
                    "step {step} ({loss:?}): half a job is visible: {said:?}"
                );
                for (i, f) in finals.iter().enumerate() {
                    assert_eq!(after.read(f).unwrap(), body(i), "step {step}: output {i}");
                }
            }
            cuts += 1;
            if finished {
                assert!(committed > 0 && undone > 0);
                eprintln!(
                    "intent protocol: {cuts} power cuts over {step} storage operations: \
                     {committed} recovered as done, {undone} undone, none half-done"
                );
                return;
            }
        }
        step += 1;
        assert!(step < 1000, "the job never finished");
    }
}
