//! `manifest build`: a catalog of partition files, from each file's header and footer only.
//! Overlapping and inverted ranges are refused; gaps are reported, and refused on request. The
//! manifest is written atomically.

use super::{display_path, entry_name, open_source, Error, IoAction, Op, Refusal, Result};
use crate::atomic::write_atomic;
use meguri_core::manifest::{Entry, Manifest, Tiling};
use meguri_core::reader::Reader;
use meguri_core::report::MapView;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What to catalogue, and where.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Partition files.
    pub files: Vec<PathBuf>,
    /// The manifest to write.
    pub out: PathBuf,
    /// Epoch of every entry.
    pub epoch: u32,
    /// Put before each file's base name to form its file ref.
    pub ref_prefix: String,
    /// Refuse ranges that leave gaps.
    pub require_tiling: bool,
}

/// The manifest written.
///
/// JSON: the core [`MapView`] schema, with `path` (the manifest) and `bytes` beside it.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Where it was written.
    pub out: PathBuf,
    /// Its entries, sorted.
    pub manifest: Manifest,
    /// Their tiling.
    pub tiling: Tiling,
    /// Its size.
    pub bytes: usize,
}

/// Catalogues `opts.files` and writes the manifest.
pub fn build_manifest(opts: &BuildOptions) -> Result<BuildReport> {
    let op = Op::ManifestBuild;
    let mut m = Manifest::default();
    for path in &opts.files {
        let src = open_source(op, path)?;
        let reader = Reader::open_with(&src, crate::fsource::read_options())
            .map_err(|e| Error::format(op, path, e))?;
        let base = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let file_ref = format!("{}{base}", opts.ref_prefix).into_bytes();
        m.entries
            .push(Entry::of_file(reader.shape(), file_ref, opts.epoch));
    }
    m.sort();
    let t = m.tiling();
    let refuse = |refusal| Error::Refused {
        op,
        path: Some(opts.out.clone()),
        refusal,
    };
    let name = |i: usize| entry_name(&m.entries[i]);
    if let Some(ov) = t.overlaps.first() {
        return Err(refuse(Refusal::ManifestOverlap {
            first: name(ov.first),
            second: name(ov.second),
            lo: ov.lo,
            hi: ov.hi,
            count: t.overlaps.len(),
        }));
    }
    if let Some(&i) = t.inverted.first() {
        return Err(refuse(Refusal::ManifestInverted { entry: name(i) }));
    }
    if let (true, Some(g)) = (opts.require_tiling, t.gaps.first()) {
        return Err(refuse(Refusal::ManifestGap {
            lo: g.lo,
            hi: g.hi,
            count: t.gaps.len(),
        }));
    }
    let bytes = m.encode();
    write_atomic(&opts.out, &bytes).map_err(|e| Error::io(op, &opts.out, IoAction::Write, e))?;
    Ok(BuildReport {
        out: opts.out.clone(),
        manifest: m,
        tiling: t,
        bytes: bytes.len(),
    })
}

impl fmt::Display for BuildReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {}: {} entries, {} bytes",
            self.out.display(),
            self.manifest.entries.len(),
            self.bytes
        )?;
        for g in &self.tiling.gaps {
            writeln!(f, "  coverage gap [0x{:016x}, 0x{:016x}]", g.lo, g.hi)?;
        }
        if self.tiling.is_clean() {
            writeln!(f, "  ranges tile the key space cleanly")?;
        }
        Ok(())
    }
}

impl Serialize for BuildReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(serialize_with = "display_path")]
            path: &'a Path,
            bytes: usize,
            #[serde(flatten)]
            view: MapView<'a>,
        }
        Out {
            path: &self.out,
            bytes: self.bytes,
            view: MapView {
                manifest: &self.manifest,
                tiling: &self.tiling,
            },
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{files, TILING};

    #[test]
    fn builds_a_tiling_catalog_and_refuses_overlaps_and_required_gaps() {
        let more = [
            ("c.meguri", 3, 500, 1500, 2),
            ("hi.meguri", 4, 5000, u64::MAX, 2),
        ];
        let (d, f) = files("build", &[TILING, &more].concat());
        let build = |files: &[usize], out: &str, require_tiling| {
            build_manifest(&BuildOptions {
                files: files.iter().map(|&i| f[i].clone()).collect(),
                out: d.join(out),
                epoch: 3,
                ref_prefix: "s3/".into(),
                require_tiling,
            })
        };
        let r = build(&[1, 0], "m.manifest", true).unwrap();
        assert_eq!(r.manifest.entries[0].file_ref_str(), "s3/a.meguri");
        assert_eq!(r.bytes as u64, std::fs::metadata(&r.out).unwrap().len());
        assert!(r
            .to_string()
            .ends_with("  ranges tile the key space cleanly\n"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["bytes"], r.bytes);
        assert_eq!(v["clean"], true);

        let e = build(&[0, 2], "bad.manifest", false).unwrap_err();
        assert!(matches!(
            e,
            Error::Refused {
                refusal: Refusal::ManifestOverlap { .. },
                ..
            }
        ));
        let both = "partition 1 (s3/a.meguri) and partition 3 (s3/c.meguri) both own host keys \
                    [0x00000000000001f4, 0x00000000000003e7]";
        assert!(e.to_string().contains(both), "{e}");
        assert!(!d.join("bad.manifest").exists());

        let e = build(&[0, 3], "gap.manifest", true).unwrap_err();
        assert!(
            e.to_string().contains("--require-tiling refuses gaps"),
            "{e}"
        );
    }
}
