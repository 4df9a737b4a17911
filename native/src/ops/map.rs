//! `map`: a manifest's partition map and its tiling check at the manifest's own epoch (every
//! gap, overlap and inverted range), and `route`: which partition owns a host key.

use super::{display_path, Error, IoAction, Op, Result};
use meguri_core::manifest::{render_map, render_route, Entry, Manifest, Tiling};
use meguri_core::report::{MapView, RouteView};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which manifest.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// The `meguri.manifest` catalog.
    pub manifest: PathBuf,
}

/// A manifest and its tiling.
///
/// JSON: `path` beside the core [`MapView`] schema.
#[derive(Debug, Clone)]
pub struct MapReport {
    /// The manifest as given.
    pub path: PathBuf,
    /// Its entries.
    pub manifest: Manifest,
    /// Its tiling at its epoch.
    pub tiling: Tiling,
}

impl MapReport {
    /// Whether the ranges tile the key space (the CLI exits 1 when they do not).
    pub fn tiles(&self) -> bool {
        self.tiling.is_clean()
    }
}

/// Reads and checks the manifest's tiling.
pub fn map(opts: &MapOptions) -> Result<MapReport> {
    let manifest = load(&opts.manifest)?;
    Ok(MapReport {
        path: opts.manifest.clone(),
        tiling: manifest.tiling(),
        manifest,
    })
}

/// Which key, in which manifest.
#[derive(Debug, Clone, Default)]
pub struct RouteOptions {
    /// The `meguri.manifest` catalog.
    pub manifest: PathBuf,
    /// The host key to route.
    pub host_key: u64,
}

/// The owner of a host key.
///
/// JSON: `path` beside the core [`RouteView`] schema.
#[derive(Debug, Clone)]
pub struct RouteReport {
    /// The manifest as given.
    pub path: PathBuf,
    /// Its entries.
    pub manifest: Manifest,
    /// The key routed.
    pub host_key: u64,
}

impl RouteReport {
    /// The entry that owns the key at the manifest's epoch (the CLI exits 1 when none does).
    pub fn owner(&self) -> Option<&Entry> {
        self.manifest.route(self.host_key)
    }
}

/// Routes `opts.host_key`.
pub fn route(opts: &RouteOptions) -> Result<RouteReport> {
    Ok(RouteReport {
        path: opts.manifest.clone(),
        manifest: load(&opts.manifest)?,
        host_key: opts.host_key,
    })
}

fn load(path: &Path) -> Result<Manifest> {
    read_manifest(Op::Map, path)
}

/// Reads and parses the manifest at `path` for `op`.
pub(crate) fn read_manifest(op: Op, path: &Path) -> Result<Manifest> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(op, path, IoAction::Read, e))?;
    Manifest::parse(&bytes).map_err(|e| Error::format(op, path, e))
}

impl fmt::Display for MapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_map(&self.manifest))
    }
}

impl fmt::Display for RouteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_route(&self.manifest, self.host_key))
    }
}

#[derive(Serialize)]
struct WithPath<'a, V> {
    #[serde(serialize_with = "display_path")]
    path: &'a Path,
    #[serde(flatten)]
    view: V,
}

impl Serialize for MapReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        WithPath {
            path: &self.path,
            view: MapView {
                manifest: &self.manifest,
                tiling: &self.tiling,
            },
        }
        .serialize(s)
    }
}

impl Serialize for RouteReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        WithPath {
            path: &self.path,
            view: RouteView {
                manifest: &self.manifest,
                host_key: self.host_key,
            },
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::files;
    use crate::ops::{build_manifest, BuildOptions};

    #[test]
    fn map_and_route_report_tiling_and_owners() {
        let (d, f) = files(
            "map",
            &[
                ("a.meguri", 1, 0, 999, 2),
                ("b.meguri", 2, 2000, u64::MAX, 2),
            ],
        );
        let m = d.join("meguri.manifest");
        build_manifest(&BuildOptions {
            files: f,
            out: m.clone(),
            ..BuildOptions::default()
        })
        .unwrap();
        let r = map(&MapOptions {
            manifest: m.clone(),
        })
        .unwrap();
        assert!(!r.tiles());
        assert!(r.to_string().contains("coverage gap"), "{r}");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["gaps"][0]["lo"], "0x00000000000003e8");
        assert_eq!(v["entries"][1]["entry"], 1);
        let at = |host_key| {
            route(&RouteOptions {
                manifest: m.clone(),
                host_key,
            })
            .unwrap()
        };
        let owned = at(5);
        assert_eq!(owned.owner().map(|e| e.partition_id), Some(1));
        let v = serde_json::to_value(&owned).unwrap();
        assert_eq!(v["route"]["partition_id"], 1);
        assert!(at(1500).owner().is_none());
        let e = map(&MapOptions {
            manifest: d.join("none.manifest"),
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("map "), "{e}");
    }
}
