//! `meguri manifest build FILE... --out M`: a catalog of partition files, from each file's
//! header and footer only. Overlapping ranges are refused; gaps are reported, and refused with
//! `--require-tiling`. The manifest is written atomically.

use super::fail;
use crate::atomic::write_atomic;
use crate::fsource::FileSource;
use crate::{json, CmdError, CmdResult};
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::reader::Reader;
use std::io::Write;
use std::path::PathBuf;

/// Options of `manifest build`.
#[derive(Debug, Clone, clap::Args)]
pub struct BuildArgs {
    /// Partition files to catalogue.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The manifest to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Epoch of every entry.
    #[arg(long, default_value_t = 0)]
    pub epoch: u32,
    /// Prefix put before each file's base name to form its file ref.
    #[arg(long, default_value = "")]
    pub ref_prefix: String,
    /// Refuse to write a manifest whose ranges leave gaps.
    #[arg(long)]
    pub require_tiling: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `manifest build`.
pub fn build(args: &BuildArgs, out: &mut dyn Write) -> CmdResult {
    let mut m = Manifest::default();
    for path in &args.files {
        let src = FileSource::open(path).map_err(|e| fail("manifest build", path, e))?;
        let reader = Reader::open(&src).map_err(|e| fail("manifest build", path, e))?;
        let base = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let file_ref = format!("{}{base}", args.ref_prefix).into_bytes();
        m.entries
            .push(Entry::of_file(reader.shape(), file_ref, args.epoch));
    }
    m.sort();
    let t = m.tiling();
    let name = |i: usize| {
        let e = &m.entries[i];
        format!("partition {} ({})", e.partition_id, e.file_ref_str())
    };
    if let Some(ov) = t.overlaps.first() {
        return Err(CmdError::new(format!(
            "manifest build {}: {} and {} both own host keys [0x{:016x}, 0x{:016x}]; a manifest may not overlap ({} overlap(s) in all)",
            args.out.display(),
            name(ov.first),
            name(ov.second),
            ov.lo,
            ov.hi,
            t.overlaps.len()
        )));
    }
    if let Some(&i) = t.inverted.first() {
        return Err(CmdError::new(format!(
            "manifest build {}: {} has an inverted range",
            args.out.display(),
            name(i)
        )));
    }
    if args.require_tiling && !t.gaps.is_empty() {
        let g = &t.gaps[0];
        return Err(CmdError::new(format!(
            "manifest build {}: host keys [0x{:016x}, 0x{:016x}] have no owner ({} gap(s)); --require-tiling refuses gaps",
            args.out.display(),
            g.lo,
            g.hi,
            t.gaps.len()
        )));
    }
    let bytes = m.encode();
    write_atomic(&args.out, &bytes).map_err(|e| fail("manifest build", &args.out, e))?;
    let text = if args.json {
        let mut v = json::manifest_map(&m, &t);
        v["path"] = args.out.display().to_string().into();
        v["bytes"] = bytes.len().into();
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        let mut s = format!(
            "wrote {}: {} entries, {} bytes\n",
            args.out.display(),
            m.entries.len(),
            bytes.len()
        );
        for g in &t.gaps {
            s.push_str(&format!(
                "  coverage gap [0x{:016x}, 0x{:016x}]\n",
                g.lo, g.hi
            ));
        }
        if t.is_clean() {
            s.push_str("  ranges tile the key space cleanly\n");
        }
        s
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("manifest build", &args.out, e))
}
