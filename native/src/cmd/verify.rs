//! `meguri verify FILE...`: check every file (partitions and manifests) and report every
//! problem with its place and byte offset.

use super::{fail, looks_like_manifest};
use crate::fsource::{FileBytes, FileSource};
use crate::{json, CmdResult};
use meguri_core::error::{Error, ErrorKind, Finding, Place};
use meguri_core::manifest::Manifest;
use meguri_core::reader::read_shape;
use meguri_core::reader::ReadOptions;
use meguri_core::verify::{check_manifest_entry, verify_file, verify_manifest, Report};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Options of `verify`.
#[derive(Debug, Clone, Default)]
pub struct VerifyArgs {
    /// Print JSON instead of text.
    pub json: bool,
    /// Print only files with findings, and nothing for clean ones.
    pub quiet: bool,
}

/// What verify found in one path.
pub struct Verified {
    /// The path.
    pub path: PathBuf,
    /// `"file"` or `"manifest"`.
    pub kind: &'static str,
    /// The report.
    pub report: Report,
}

/// Verifies one path, deciding by its magic whether it is a manifest.
pub fn verify_path(path: &Path) -> CmdResult<Verified> {
    let bytes = FileBytes::open(path).map_err(|e| fail("verify", path, e))?;
    let (kind, report) = if looks_like_manifest(&bytes) {
        let mut report = verify_manifest(&bytes);
        check_manifest_files(path, &bytes, &mut report);
        ("manifest", report)
    } else {
        ("file", verify_file(&bytes[..], &ReadOptions::default()))
    };
    Ok(Verified {
        path: path.to_path_buf(),
        kind,
        report,
    })
}

/// Checks each manifest entry against its partition file, resolved relative to the manifest's
/// folder, reading only the file's header and tail. A file that is not there (an object-store
/// key, say) is a warning: it cannot be checked here.
fn check_manifest_files(path: &Path, bytes: &[u8], report: &mut Report) {
    let Ok(m) = Manifest::parse(bytes) else {
        return;
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    for (i, e) in m.entries.iter().enumerate() {
        let place = Place::Manifest {
            entry: Some(i as u32),
        };
        let file = dir.join(e.file_ref_str());
        let src = match FileSource::open(&file) {
            Ok(s) => s,
            Err(err) => {
                report.findings.push(Finding::warning(
                    Error::new(
                        ErrorKind::Source,
                        format!("{} not checked: {err}", file.display()),
                    )
                    .within(place),
                ));
                continue;
            }
        };
        match read_shape(&src, ReadOptions::default().tail_guess) {
            Ok(shape) => report.findings.extend(check_manifest_entry(i, e, &shape)),
            Err(err) => report.findings.push(Finding::error(
                Error::new(err.kind, format!("{} does not open: {err}", file.display()))
                    .within(place),
            )),
        }
    }
}

/// Runs `verify` over `paths`. Returns whether every file is free of errors; a path that cannot
/// be read is reported and counts as an error.
pub fn run(paths: &[PathBuf], args: &VerifyArgs, out: &mut dyn Write) -> CmdResult<bool> {
    let mut all_ok = true;
    let mut results = Vec::new();
    for p in paths {
        match verify_path(p) {
            Ok(v) => {
                all_ok &= v.report.is_ok();
                results.push(Ok(v));
            }
            Err(e) => {
                all_ok = false;
                results.push(Err((p.clone(), e)));
            }
        }
    }
    let io = |e: std::io::Error| fail("verify", Path::new("<stdout>"), e);
    if args.json {
        let arr: Vec<_> = results
            .iter()
            .map(|r| match r {
                Ok(v) => json!({
                    "path": v.path.display().to_string(),
                    "kind": v.kind,
                    "ok": v.report.is_ok(),
                    "errors": v.report.errors(),
                    "warnings": v.report.warnings(),
                    "columns_checked": v.report.columns_checked,
                    "pages_checked": v.report.pages_checked,
                    "url_rows_checked": v.report.rows_checked.0,
                    "host_rows_checked": v.report.rows_checked.1,
                    "findings": v.report.findings.iter().map(json::finding).collect::<Vec<_>>(),
                }),
                Err((p, e)) => {
                    json!({"path": p.display().to_string(), "ok": false, "error": e.message})
                }
            })
            .collect();
        let mut s =
            serde_json::to_string_pretty(&json!({"ok": all_ok, "files": arr})).expect("JSON");
        s.push('\n');
        out.write_all(s.as_bytes()).map_err(io)?;
        return Ok(all_ok);
    }
    for r in &results {
        match r {
            Ok(v) => {
                let rep = &v.report;
                if rep.findings.is_empty() {
                    if !args.quiet {
                        let what = if v.kind == "manifest" {
                            String::from("entries match their files, ranges tile the key space")
                        } else {
                            format!(
                                "{} columns, {} pages, {} URL rows, {} host rows checked",
                                rep.columns_checked,
                                rep.pages_checked,
                                rep.rows_checked.0,
                                rep.rows_checked.1
                            )
                        };
                        writeln!(out, "{}: ok ({what})", v.path.display()).map_err(io)?;
                    }
                    continue;
                }
                let verdict = if rep.is_ok() {
                    "ok with warnings"
                } else {
                    "FAILED"
                };
                writeln!(
                    out,
                    "{}: {verdict}: {} error{}, {} warning{}",
                    v.path.display(),
                    rep.errors(),
                    if rep.errors() == 1 { "" } else { "s" },
                    rep.warnings(),
                    if rep.warnings() == 1 { "" } else { "s" }
                )
                .map_err(io)?;
                for f in &rep.findings {
                    writeln!(out, "  {f}").map_err(io)?;
                }
            }
            Err((_, e)) => writeln!(out, "{e}").map_err(io)?,
        }
    }
    Ok(all_ok)
}
