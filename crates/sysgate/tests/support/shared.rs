//! Files from `../shared` (fixtures, data), which sit beside the workspace.
//!
//! Tests that need them say "SKIPPED" and pass when `../shared` is absent outside CI; under CI
//! (`CI` set) its absence is a failure, because CI always has it.
#![allow(dead_code)]

use std::path::PathBuf;

/// The path of `rel` inside `../shared`.
pub fn path(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).join(rel)
}

/// The text of `../shared/<rel>`, or `None` after saying why the test cannot run.
pub fn read(rel: &str) -> Option<String> {
    let path = path(rel);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("{} is required under CI: {e}", path.display());
            }
            eprintln!(
                "SKIPPED: {} is absent ({e}); this test needs ../shared beside the workspace",
                path.display()
            );
            None
        }
    }
}
