//! `verify` in bounded steps, for the page: a thin adapter over the core's one verifier
//! ([`meguri_core::verify::Verifier`], the same checks and findings as `meguri verify`), which
//! reads the file through the page's source (slices of a `Blob`) a bounded piece per step.
//! The page calls [`Verifier::step`] in a loop, shows the progress and can stop between calls.

use crate::source::Shared;
use crate::views::to_json;
use meguri_core::reader::{ReadOptions, Shape};
use meguri_core::report::{Subject, VerifyView};
use meguri_core::source::Source;
use meguri_core::verify::{self, Phase, Report};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `verify` of a file in bounded steps (see the core's `verify::steps`).
#[wasm_bindgen]
pub struct Verifier {
    inner: verify::Verifier<Shared>,
    /// The file's shape as the page opened it, for the findings' byte ranges.
    shape: Option<Shape>,
}

#[derive(Serialize)]
struct Progress<'a> {
    phase: &'static str,
    done: u64,
    total: u64,
    finished: bool,
    /// The verify report, once finished (the core's `VerifyView`).
    report: Option<VerifyView<'a>>,
}

impl Verifier {
    /// A verifier of the file behind `src` (`shape`: what could be read of it, for the
    /// findings' byte ranges).
    pub fn new(src: Shared, shape: Option<Shape>, opts: ReadOptions) -> Verifier {
        Verifier {
            inner: verify::Verifier::new(src, &opts),
            shape,
        }
    }

    /// The report as far as it goes (complete once [`Verifier::finished`]).
    pub fn report(&self) -> Report {
        self.inner.report()
    }

    /// Sets how many distinct arena references are checked per pass over the reference
    /// columns (tests use a small batch to exercise many passes).
    pub fn set_ref_batch(&mut self, n: usize) {
        self.inner.set_ref_batch(n);
    }

    /// Whether every check has run.
    pub fn finished(&self) -> bool {
        self.inner.finished()
    }
}

#[wasm_bindgen]
impl Verifier {
    /// Does one bounded piece of work and says where it stands: `{phase, done, total,
    /// finished, report}`, with `report` the core's verify report (`VerifyView`) once
    /// finished. `done`/`total` are units of work (bytes read, rows walked × 8), for a bar.
    pub fn step(&mut self) -> String {
        let before = self.inner.progress().phase;
        // A few calls at once while they only change phase (those cost no reading).
        for _ in 0..8 {
            let p = self.inner.step();
            if p.phase == Phase::Done || p.phase == before {
                break;
            }
        }
        let p = self.inner.progress();
        let report = self.inner.finished().then(|| self.inner.report());
        to_json(&Progress {
            phase: p.phase.name(),
            done: p.done,
            total: p.total,
            finished: self.inner.finished(),
            report: report.as_ref().map(|r| VerifyView {
                subject: Subject::File,
                report: r,
                shape: self.shape.as_ref().or(self.inner.shape()),
                file_len: self.inner.source().len(),
            }),
        })
    }
}
