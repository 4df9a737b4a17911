//! `verify`: check files and manifests completely and report every problem with its place
//! and byte offset.

use super::{display_path, looks_like_manifest, Error, IoAction, Op, Result};
use crate::fsource::{FileBytes, FileSource};
use meguri_core::error::{Error as CoreError, ErrorKind, Finding, Place};
use meguri_core::manifest::Manifest;
use meguri_core::reader::{read_shape, ReadOptions, Shape};
use meguri_core::report::{Subject, VerifyView};
use meguri_core::source::Source;
use meguri_core::verify::{check_manifest_entry, verify_manifest, Report, Verifier};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Partition files and manifests, told apart by their magic.
    pub paths: Vec<PathBuf>,
}

/// One file checked through.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file as given.
    pub path: PathBuf,
    /// Partition file or manifest.
    pub subject: Subject,
    /// Every finding.
    pub report: Report,
    /// The file's shape, when its header and footer could be read: it gives each finding the
    /// byte range of its structure.
    pub shape: Option<Shape>,
    /// The file's length.
    pub file_len: u64,
}

impl Checked {
    /// The core view every front end serializes.
    pub fn view(&self) -> VerifyView<'_> {
        VerifyView {
            subject: self.subject,
            report: &self.report,
            shape: self.shape.as_ref(),
            file_len: self.file_len,
        }
    }
}

/// What verify made of one path.
#[derive(Debug)]
pub enum Verdict {
    /// The file was read and checked (boxed: a report is much larger than an error).
    Checked(Box<Checked>),
    /// The file could not be read at all; this counts as an error.
    Unreadable(Error),
}

impl Verdict {
    /// Whether this path has no error.
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Checked(c) if c.report.is_ok())
    }
}

/// Every path's verdict, in the order given.
///
/// JSON: `{"ok", "files": [...]}`, each file the core [`VerifyView`] schema with its `path`
/// beside it, or `{"path", "ok": false, "error"}` for a file that could not be read.
#[derive(Debug)]
pub struct VerifyReport {
    /// One per path.
    pub files: Vec<Verdict>,
}

impl VerifyReport {
    /// Whether no file has an error (warnings allowed): the CLI's exit status.
    pub fn ok(&self) -> bool {
        self.files.iter().all(Verdict::is_ok)
    }

    /// The command's text; `quiet` leaves out files without findings.
    pub fn render(&self, quiet: bool) -> String {
        let mut o = String::new();
        for v in &self.files {
            let c = match v {
                Verdict::Checked(c) => c,
                Verdict::Unreadable(e) => {
                    let _ = writeln!(o, "{e}");
                    continue;
                }
            };
            let (rep, path) = (&c.report, c.path.display());
            if rep.findings.is_empty() {
                if quiet {
                    continue;
                }
                let what = match c.subject {
                    Subject::Manifest => {
                        String::from("entries match their files, ranges tile the key space")
                    }
                    Subject::File => format!(
                        "{} columns, {} pages, {} URL rows, {} host rows checked",
                        rep.columns_checked,
                        rep.pages_checked,
                        rep.rows_checked.0,
                        rep.rows_checked.1
                    ),
                };
                let _ = writeln!(o, "{path}: ok ({what})");
                continue;
            }
            let verdict = if rep.is_ok() {
                "ok with warnings"
            } else {
                "FAILED"
            };
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            let _ = writeln!(
                o,
                "{path}: {verdict}: {} error{}, {} warning{}",
                rep.errors(),
                plural(rep.errors()),
                rep.warnings(),
                plural(rep.warnings())
            );
            for f in &rep.findings {
                let _ = writeln!(o, "  {f}");
            }
        }
        o
    }
}

/// Checks every path. A path that cannot be read is a verdict, not a failure of the whole.
pub fn verify(opts: &VerifyOptions) -> VerifyReport {
    VerifyReport {
        files: opts
            .paths
            .iter()
            .map(|p| match verify_path(p) {
                Ok(c) => Verdict::Checked(Box::new(c)),
                Err(e) => Verdict::Unreadable(e),
            })
            .collect(),
    }
}

/// Checks one path, deciding by its magic whether it is a manifest. A partition file is read
/// through positioned reads by the core's stepwise verifier, so memory stays bounded whatever
/// the file's size (a memory map would keep every page it touched resident); a manifest is
/// small and read whole.
pub fn verify_path(path: &Path) -> Result<Checked> {
    let open_err = |e| Error::io(Op::Verify, path, IoAction::Open, e);
    let src = FileSource::open(path).map_err(open_err)?;
    let file_len = src.len();
    let magic_len = meguri_core::manifest::MANIFEST_MAGIC
        .len()
        .min(file_len as usize);
    let head = src
        .read_at(0, magic_len)
        .map_err(|e| open_err(std::io::Error::other(e.to_string())))?;
    if looks_like_manifest(&head) {
        let bytes = FileBytes::open(path).map_err(open_err)?;
        let mut report = verify_manifest(&bytes);
        check_manifest_files(path, &bytes, &mut report);
        return Ok(Checked {
            path: path.to_path_buf(),
            subject: Subject::Manifest,
            report,
            shape: None,
            file_len,
        });
    }
    let mut v = Verifier::new(&src, &ReadOptions::default());
    while !v.finished() {
        v.step();
    }
    let shape = v.shape().cloned();
    Ok(Checked {
        path: path.to_path_buf(),
        subject: Subject::File,
        report: v.into_report(),
        shape,
        file_len,
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
                    CoreError::new(
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
                CoreError::new(err.kind, format!("{} does not open: {err}", file.display()))
                    .within(place),
            )),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Verdict::Checked(c) => {
                #[derive(Serialize)]
                struct Out<'a> {
                    #[serde(serialize_with = "display_path")]
                    path: &'a Path,
                    #[serde(flatten)]
                    view: VerifyView<'a>,
                }
                Out {
                    path: &c.path,
                    view: c.view(),
                }
                .serialize(s)
            }
            Verdict::Unreadable(e) => {
                let mut m = s.serialize_map(Some(3))?;
                match e {
                    Error::Io { path, .. } | Error::Format { path, .. } => {
                        m.serialize_entry("path", &path.display().to_string())?
                    }
                    _ => {}
                }
                m.serialize_entry("ok", &false)?;
                m.serialize_entry("error", &e.to_string())?;
                m.end()
            }
        }
    }
}

impl Serialize for VerifyReport {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("ok", &self.ok())?;
        m.serialize_entry("files", &self.files)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{files, first_page_crc_at, TILING};
    use meguri_core::manifest::Entry;

    #[test]
    fn clean_damaged_and_missing_files_each_get_a_verdict() {
        let (d, f) = files("verify", &[("good.meguri", 1, 0, u64::MAX, 5)]);
        let good = &f[0];
        let mut b = std::fs::read(good).unwrap();
        let at = first_page_crc_at(&b, meguri_core::Table::Url, 10);
        b[at] ^= 1;
        let bad = d.join("bad.meguri");
        std::fs::write(&bad, &b).unwrap();
        let gone = d.join("gone.meguri");
        let rep = verify(&VerifyOptions {
            paths: vec![good.clone(), bad.clone(), gone.clone()],
        });
        assert!(!rep.ok());
        assert!(rep.files[0].is_ok() && !rep.files[1].is_ok() && !rep.files[2].is_ok());
        let text = rep.render(false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(&format!("{}: ok (", good.display())),
            "{text}"
        );
        assert!(
            lines[1].starts_with(&format!("{}: FAILED: ", bad.display())),
            "{text}"
        );
        assert!(
            text.contains(&format!("verify {}: ", gone.display())),
            "{text}"
        );
        assert!(!rep.render(true).contains("good.meguri"));
        let v = serde_json::to_value(&rep).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["files"][0]["ok"], true);
        assert_eq!(v["files"][2]["path"], gone.display().to_string());
        let findings = v["files"][1]["findings"].as_array().unwrap();
        let f = findings
            .iter()
            .find(|f| f["place"]["kind"] == "column")
            .unwrap();
        assert!(f["span"]["length"].as_u64().unwrap() > 0, "{f}");
        assert!(f["text"].as_str().unwrap().contains("url column 10"), "{f}");
    }

    #[test]
    fn a_manifest_is_checked_against_its_files() {
        let (d, f) = files("verify-manifest", TILING);
        let mut m = Manifest::default();
        for p in &f {
            let bytes = std::fs::read(p).unwrap();
            let shape = read_shape(&bytes[..], 1 << 16).unwrap();
            let name = p.file_name().unwrap().to_string_lossy();
            m.entries
                .push(Entry::of_file(&shape, name.as_bytes().to_vec(), 0));
        }
        let mp = d.join("meguri.manifest");
        std::fs::write(&mp, m.encode()).unwrap();
        let c = verify_path(&mp).unwrap();
        assert_eq!(c.subject, Subject::Manifest);
        assert!(c.report.findings.is_empty(), "{:?}", c.report.findings);
        std::fs::remove_file(&f[1]).unwrap();
        let c = verify_path(&mp).unwrap();
        assert_eq!((c.report.errors(), c.report.warnings()), (0, 1));
    }
}
