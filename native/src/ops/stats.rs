//! `stats` of a partition file: the footer summary, no rows decoded. (The live counters of a
//! partition directory are [`super::live_stats`].)

use super::{display_path, open_source, Error, Op, Result};
use meguri_core::inspect::ColdStats;
use meguri_core::reader::Reader;
use meguri_core::report::ColdStatsView;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Which file.
#[derive(Debug, Clone, Default)]
pub struct StatsOptions {
    /// The partition file.
    pub path: PathBuf,
}

/// A file's footer summary.
///
/// JSON: `path` beside the core [`ColdStatsView`] schema.
#[derive(Debug, Clone)]
pub struct StatsReport {
    /// The file as given (the text names it so).
    pub path: PathBuf,
    /// The numbers.
    pub stats: ColdStats,
}

/// Opens `opts.path` (header, footer and their checks) and summarises its STATS section.
pub fn stats(opts: &StatsOptions) -> Result<StatsReport> {
    let path = &opts.path;
    let src = open_source(Op::Stats, path)?;
    let reader = Reader::open_with(&src, crate::fsource::read_options())
        .map_err(|e| Error::format(Op::Stats, path, e))?;
    Ok(StatsReport {
        path: path.clone(),
        stats: ColdStats::from_shape(reader.shape()),
    })
}

impl StatsReport {
    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

impl fmt::Display for StatsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stats.render(&self.name()))
    }
}

impl Serialize for StatsReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(serialize_with = "display_path")]
            path: &'a std::path::Path,
            #[serde(flatten)]
            view: ColdStatsView<'a>,
        }
        let name = self.name();
        Out {
            path: &self.path,
            view: ColdStatsView {
                stats: &self.stats,
                name: &name,
            },
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{partition, write_partition, Scratch};

    #[test]
    fn summarises_the_footer_in_text_and_json() {
        let d = Scratch::new("ops-stats");
        let p = partition(4, 10, 1 << 40, 3);
        let f = write_partition(&d.0, "s.meguri", &p);
        let r = stats(&StatsOptions { path: f.clone() }).unwrap();
        let due: Vec<u32> = p
            .urls
            .iter()
            .map(|u| u.next_due)
            .filter(|&d| d != 0)
            .collect();
        assert_eq!(
            (r.stats.urls, r.stats.hosts, r.stats.scheduled),
            (p.urls.len() as u64, 3, due.len() as u64)
        );
        let text = r.to_string();
        let head = format!("partition {} (cold, footer summary)\n", f.display());
        assert!(text.starts_with(&head), "{text}");
        let v = serde_json::to_value(&r).unwrap();
        let range = (due.iter().min().unwrap(), due.iter().max().unwrap());
        assert_eq!(
            v["due_range"],
            serde_json::json!({"min": range.0, "max": range.1})
        );
        assert_eq!(v["text"], text);
        assert_eq!(v["path"], f.display().to_string());
    }
}
