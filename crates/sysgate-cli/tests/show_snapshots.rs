//! `sysgate show` on every fixture in ../shared/fixtures/profiles, compared with the expected
//! text under tests/snapshots/ (one file per fixture). Run with `UPDATE_SNAPSHOTS=1` to
//! rewrite them after a deliberate change, then read the diff before committing.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::fixtures_dir;

/// The first lines where `want` and `got` differ, as a readable diff.
fn line_diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    let mut shown = 0;
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            if let Some(a) = a {
                out.push_str(&format!("{:>4} - {a}\n", i + 1));
            }
            if let Some(b) = b {
                out.push_str(&format!("{:>4} + {b}\n", i + 1));
            }
            shown += 1;
            if shown == 20 {
                out.push_str("     ...\n");
                break;
            }
        }
    }
    out
}

#[test]
fn show_output_matches_the_snapshots() {
    let Some(dir) = fixtures_dir() else { return };
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_sysgate"))
            .current_dir(&dir)
            .args(["show", &name, "--arch", "amd64", "--kernel", "6.1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8(out.stdout).unwrap();
        let path = snapshots.join(format!("show-{name}.txt"));
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            failures.push(format!(
                "{} differs (UPDATE_SNAPSHOTS=1 rewrites it):\n{}",
                path.display(),
                line_diff(&want, &got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn builtin_systemd_set_shows_like_a_unit_with_that_filter() {
    let out = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(["show", "systemd:@system-service", "--arch", "x86_64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("systemd:@system-service (systemd, systemd:@system-service)\n"),
        "{text}"
    );
    assert!(text.contains("default: ERRNO(38 ENOSYS)"), "{text}");
    assert!(text.contains("@system-service (whole set):"), "{text}");
}
