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

/// The profiles in `../shared/fixtures/profiles`, sorted, or `None` (after saying why) when
/// `../shared` is absent outside CI.
pub fn fixture_profiles() -> Option<Vec<PathBuf>> {
    read("fixtures/profiles/docker-default.json")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(path("fixtures/profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    Some(files)
}
