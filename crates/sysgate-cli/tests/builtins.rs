//! The built-ins users expect: the `unconfined` profile (default ALLOW, always with a
//! warning, wherever a built-in name is accepted) and `sysgate sets`, compared with
//! `systemd-analyze syscall-filter` (systemd 252 on Debian 12; `.ci/run` installs systemd).

mod support;
use support::{sysgate, text};

use std::collections::BTreeMap;
use std::process::Command;

const UNCONFINED_WARNING: &str =
    "the built-in unconfined profile allows every syscall (default ALLOW): nothing is filtered";

#[test]
fn unconfined_allows_everything_and_always_says_so() {
    let o = sysgate(&[
        "check",
        "unconfined",
        "--arch",
        "x86_64",
        "unshare",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["action"], "ALLOW");
    assert_eq!(v["kernel_action_cache"], true);

    let o = sysgate(&["show", "unconfined", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["default"], "ALLOW");
    assert_eq!(v["bad_arch"], "ALLOW");
    assert!(v["warnings"][0]
        .as_str()
        .unwrap()
        .contains(UNCONFINED_WARNING));

    let o = sysgate(&["compile", "unconfined", "--format", "text"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(UNCONFINED_WARNING),
        "{}",
        text(&o.stderr)
    );
    // -q means no warnings, this one included: the user asked twice.
    let o = sysgate(&["compile", "unconfined", "--format", "text", "-q"]);
    assert_eq!(text(&o.stderr), "");

    // A starting point for --deny; the warning comes first.
    let o = sysgate(&[
        "run",
        "--profile",
        "unconfined",
        "--deny",
        "uname",
        "--",
        "uname",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains(UNCONFINED_WARNING), "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    let o = sysgate(&[
        "run",
        "--profile",
        "unconfined",
        "--",
        "unshare",
        "--user",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));

    let o = sysgate(&["diff", "unconfined", "docker-default", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
}

/// `@set` → its lines, from a listing in systemd-analyze's layout (comments left out).
fn parse_listing(listing: &str) -> Vec<(String, Vec<String>)> {
    let mut sets: Vec<(String, Vec<String>)> = Vec::new();
    for line in listing.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with('@') {
            sets.push((trimmed.to_string(), Vec::new()));
        } else {
            sets.last_mut()
                .unwrap_or_else(|| panic!("a member before any set: {line:?}"))
                .1
                .push(trimmed.to_string());
        }
    }
    sets
}

/// systemd-analyze's major version, if it is installed.
fn systemd_version() -> Option<u32> {
    let o = Command::new("systemd-analyze").arg("--version").output();
    let ok = o.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "systemd-analyze is missing under CI (.ci/run installs systemd)"
    );
    let o = o.ok().filter(|o| o.status.success())?;
    text(&o.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
}

#[test]
fn sets_lists_what_systemd_analyze_lists() {
    let Some(version) = systemd_version() else {
        eprintln!("SKIPPED: no systemd-analyze");
        return;
    };
    if version != 252 {
        // sysgate has systemd 252's sets and the newest; another release differs from both.
        eprintln!("SKIPPED: systemd {version} here; sysgate's tables are 252's and main's");
        return;
    }
    let theirs = Command::new("systemd-analyze")
        .arg("syscall-filter")
        .output()
        .unwrap();
    let theirs = parse_listing(&text(&theirs.stdout));
    let o = sysgate(&["sets", "--systemd-version", "252"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ours = parse_listing(&text(&o.stdout));
    assert!(theirs.len() > 20, "{theirs:?}");
    let names = |l: &[(String, Vec<String>)]| l.iter().map(|s| s.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs));
    for ((name, our), (_, their)) in ours.iter().zip(&theirs) {
        assert_eq!(our, their, "{name}");
    }
    // One set by name, as `systemd-analyze syscall-filter @mount`.
    let mount = Command::new("systemd-analyze")
        .args(["syscall-filter", "@mount"])
        .output()
        .unwrap();
    let o = sysgate(&["sets", "@mount", "--systemd-version", "252"]);
    assert_eq!(
        parse_listing(&text(&o.stdout)),
        parse_listing(&text(&mount.stdout))
    );
}

#[test]
fn sets_expands_nested_sets_and_refuses_unknown_ones() {
    let o = sysgate(&["sets", "@privileged", "--expand", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let members = v["@privileged"]["members"].as_array().unwrap();
    let syscalls = v["@privileged"]["syscalls"].as_array().unwrap();
    assert!(members.iter().any(|m| m == "@chown"));
    // @chown's syscalls are in @privileged's expansion, and no @name is.
    assert!(syscalls.iter().any(|m| m == "fchownat"));
    assert!(syscalls
        .iter()
        .all(|m| !m.as_str().unwrap().starts_with('@')));
    let listed = text(&sysgate(&["sets", "@privileged", "--expand"]).stdout);
    assert!(listed.contains("\n    fchownat\n"), "{listed}");

    let o = sysgate(&["sets", "@sandbox", "--systemd-version", "252"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("\"@sandbox\": systemd 252 has no such syscall set"));
    assert!(sysgate(&["sets", "@sandbox"]).status.success());
}
