//! `inspect`: a partition file's header and footer facts, reading only the first 64 bytes and
//! the tail of the file.

use super::{looks_like_manifest, open_source, Error, Op, Refusal, Result};
use meguri_core::inspect::{self, ColumnLine, Summary};
use meguri_core::reader::{read_shape, ReadOptions};
use meguri_core::source::Source;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What to inspect.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// The partition file.
    pub path: PathBuf,
    /// Also list every column's size and page encodings.
    pub columns: bool,
}

/// A file's facts, and what reading them cost.
///
/// JSON: the core [`Summary`] schema, with `path`, `bytes_read`, `reads` and (with
/// [`InspectOptions::columns`]) `columns` beside it.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// The file as given.
    #[serde(serialize_with = "super::display_path")]
    pub path: PathBuf,
    /// The facts.
    #[serde(flatten)]
    pub summary: Summary,
    /// Bytes read from the file.
    pub bytes_read: u64,
    /// Reads issued.
    pub reads: u64,
    /// Every column, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<ColumnLine>>,
}

/// Reads `opts.path`'s header and footer. A file whose columns are damaged still shows its
/// facts, as the reference's inspect does (judging the rest is `verify`'s job).
pub fn inspect(opts: &InspectOptions) -> Result<InspectReport> {
    let path = &opts.path;
    let src = open_source(Op::Inspect, path)?;
    let shape = read_shape(&src, ReadOptions::default().tail_guess).and_then(|shape| {
        match shape.footer.first_error() {
            Some(e) => Err(e.clone()),
            None => Ok(shape),
        }
    });
    let shape = shape
        .map_err(|e| refuse_manifest(&src, path).unwrap_or(Error::format(Op::Inspect, path, e)))?;
    Ok(InspectReport {
        path: path.clone(),
        summary: Summary::from_shape(&shape),
        bytes_read: src.bytes_read(),
        reads: src.reads(),
        columns: opts.columns.then(|| inspect::columns(&shape)),
    })
}

/// The better message for a file that does not open because it is a manifest.
fn refuse_manifest(src: &impl Source, path: &Path) -> Option<Error> {
    let head = src.read_at(0, 4.min(src.len() as usize)).ok()?;
    looks_like_manifest(&head).then(|| Error::Refused {
        op: Op::Inspect,
        path: Some(path.to_path_buf()),
        refusal: Refusal::NotAPartition,
    })
}

impl fmt::Display for InspectReport {
    /// The reference's text, then (with columns) our column table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary.render())?;
        if let Some(cols) = &self.columns {
            f.write_str(&inspect::render_columns(cols, self.summary.urls))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{files, Scratch};

    #[test]
    fn reports_the_facts_and_renders_the_reference_text() {
        let (_d, f) = files("inspect", &[("a.meguri", 7, 0x100, 0xffff, 4)]);
        let r = inspect(&InspectOptions {
            path: f[0].clone(),
            columns: true,
        })
        .unwrap();
        assert_eq!((r.summary.partition_id, r.summary.urls), (7, 1 + 2 + 3 + 4));
        assert!(r.reads >= 1 && r.bytes_read > 0);
        let text = r.to_string();
        assert!(text.starts_with(&r.summary.render()), "{text}");
        assert!(text.len() > r.summary.render().len());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["path"], f[0].display().to_string());
        assert_eq!(v["hostkey_range"]["lo"], "0x0000000000000100");
        assert_eq!(v["columns"].as_array().unwrap().len(), 23 + 20);
    }

    #[test]
    fn a_manifest_is_refused_with_a_hint_and_a_missing_file_names_itself() {
        let d = Scratch::new("ops-inspect-refuse");
        let m = d.join("meguri.manifest");
        std::fs::write(&m, meguri_core::manifest::Manifest::default().encode()).unwrap();
        let e = inspect(&InspectOptions {
            path: m.clone(),
            columns: false,
        })
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Refused {
                refusal: Refusal::NotAPartition,
                ..
            }
        ));
        let text = e.to_string();
        assert!(text.starts_with(&format!(
            "inspect {}: this is a meguri manifest",
            m.display()
        )));
        let gone = d.join("gone.meguri");
        let e = inspect(&InspectOptions {
            path: gone.clone(),
            columns: false,
        })
        .unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert!(e
            .to_string()
            .starts_with(&format!("inspect {}: ", gone.display())));
    }
}
