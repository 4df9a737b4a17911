//! How the CLI shows a long operation's progress and notes: steps redrawn on one stderr line
//! when stderr is a terminal (and not at all otherwise), notes always, one line each.

use crate::ops::{Op, Progress, Step};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Redraws at most this often.
const REDRAW: Duration = Duration::from_millis(250);

/// The CLI's [`Progress`].
pub struct Terminal {
    tty: bool,
    started: Instant,
    last: Instant,
}

impl Terminal {
    /// Draws steps only if stderr is a terminal.
    pub fn stderr() -> Terminal {
        let now = Instant::now();
        Terminal {
            tty: std::io::stderr().is_terminal(),
            started: now,
            last: now,
        }
    }
}

impl Progress for Terminal {
    fn step(&mut self, op: Op, step: Step) {
        if !self.tty {
            return;
        }
        match step {
            Step::Reading { lines } => {
                if self.last.elapsed() > REDRAW {
                    self.last = Instant::now();
                    let secs = self.started.elapsed().as_secs_f64();
                    eprint!("\r{op}: {lines} lines, {secs:.1}s");
                }
            }
            Step::Loading { urls } => {
                if self.last.elapsed() > REDRAW {
                    self.last = Instant::now();
                    eprint!("\r{op}: {urls} URL rows");
                }
            }
            Step::Merging { runs, urls } => {
                if self.last.elapsed() > REDRAW {
                    self.last = Instant::now();
                    let secs = self.started.elapsed().as_secs_f64();
                    eprint!("\r{op}: merging {runs} sorted runs, {urls} urls, {secs:.1}s\x1b[K");
                }
            }
            Step::Encoding { lines } => eprint!("\r{op}: {lines} lines, encoding...\x1b[K"),
            Step::Done => eprint!("\r\x1b[K"),
        }
    }

    fn note(&mut self, op: Op, line: &str) {
        eprintln!("{op}: {line}");
    }
}
