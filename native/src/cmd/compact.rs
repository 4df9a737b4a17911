//! What `split` still borrows from `compact`, which is now [`crate::ops::compact`]. A
//! compatibility shim: it goes when `split` becomes an operation.

use crate::ops::compact::Written;
use crate::reshape::{Outcome, OutputPlan};
use std::path::Path;

pub use crate::cli::EncodeArgs;

/// The JSON of one written output (the [`Written`] schema).
pub fn outcome_json(path: &Path, plan: &OutputPlan, o: &Outcome) -> serde_json::Value {
    serde_json::to_value(Written {
        path: path.to_path_buf(),
        plan: plan.clone(),
        outcome: o.clone(),
    })
    .expect("a report serializes")
}
