//! `sysgate lint`: exit statuses, `--severity`, `--json`, and the findings for every fixture
//! in ../shared/fixtures/profiles and the built-in docker-default, which docs/lint.md lists.
//!
//! docs/lint.md holds one ```` ```text ```` block after each `<!-- lint: ARGS -->` line: what
//! `sysgate lint ARGS` prints, run in the fixtures directory. The test fails when a block and
//! the output drift apart; `UPDATE_SNAPSHOTS=1` rewrites the blocks after a deliberate change
//! (read the diff before committing).

mod support;
use support::{scratch, sysgate_in as sysgate};

use std::path::{Path, PathBuf};

fn fixtures_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/profiles");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is required under CI",
        dir.display()
    );
    eprintln!(
        "SKIPPED: {} is absent; this test needs ../shared",
        dir.display()
    );
    None
}

const CLEAN: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}
  ]
}
"#;

const PTRACE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "ptrace"], "action": "SCMP_ACT_ALLOW"}
  ]
}
"#;

#[test]
fn exit_status_follows_the_severity_threshold() {
    let dir = scratch("status");
    std::fs::write(dir.join("clean.json"), CLEAN).unwrap();
    std::fs::write(dir.join("ptrace.json"), PTRACE).unwrap();

    let out = sysgate(&dir, &["lint", "clean.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no findings\n");

    let out = sysgate(&dir, &["lint", "ptrace.json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("ptrace.json:5:5: medium [tracing-allowed] ptrace allowed on x86_64\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  why: ") && text.contains("\n  fix: "),
        "{text}"
    );
    assert!(
        text.ends_with("1 finding (1 medium); 1 at or above low\n"),
        "{text}"
    );

    // Findings below the threshold are printed, but do not fail.
    let out = sysgate(&dir, &["lint", "ptrace.json", "--severity", "high"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 at or above high"));

    for bad in [
        &["lint", "missing.json"][..],
        &["lint", "clean.json", "--severity", "severe"],
        &["lint", "clean.json", "--arch", "vax"],
    ] {
        let out = sysgate(&dir, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("sysgate: "), "{bad:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_output_parses_and_carries_every_field() {
    let dir = scratch("json");
    std::fs::write(dir.join("ptrace.json"), PTRACE).unwrap();
    let out = sysgate(&dir, &["lint", "ptrace.json", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["severity"], "low");
    assert_eq!(v["failing"], 1);
    let p = &v["profiles"][0];
    assert_eq!(p["profile"], "ptrace.json");
    assert_eq!(p["format"], "docker");
    let f = &p["findings"][0];
    assert_eq!(f["id"], "tracing-allowed");
    assert_eq!(f["severity"], "medium");
    assert_eq!(f["at"], "ptrace.json:5:5");
    for key in ["message", "why", "fix"] {
        assert!(f[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn grants_follow_the_target_capabilities() {
    let dir = scratch("caps");
    // docker-default with CAP_SYS_ADMIN allows mount; that is only info then.
    let out = sysgate(
        &dir,
        &[
            "lint",
            "docker-default",
            "--arch",
            "amd64",
            "--kernel",
            "6.1",
            "--caps",
            "+sys_admin",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["profiles"][0]["findings"].as_array().unwrap();
    let mount = findings
        .iter()
        .find(|f| f["id"] == "grant-mount")
        .expect("grant-mount with CAP_SYS_ADMIN");
    assert_eq!(mount["severity"], "info", "{mount}");
    assert!(mount["message"]
        .as_str()
        .unwrap()
        .contains("the target holds CAP_SYS_ADMIN"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `<!-- lint: ARGS -->` markers of docs/lint.md, each with the line range of the text
/// block after it (the lines between the fences).
fn snapshot_blocks(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(args) = line
            .strip_prefix("<!-- lint: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines.get(i + 1).copied(),
            Some("```text"),
            "docs/lint.md:{}: a text block must follow the marker",
            i + 2
        );
        let end = (i + 2..lines.len())
            .find(|&j| lines[j] == "```")
            .unwrap_or_else(|| panic!("docs/lint.md:{}: the text block is not closed", i + 2));
        out.push((args.to_string(), i + 2..end));
    }
    out
}

#[test]
fn docs_list_the_findings_for_every_fixture_and_docker_default() {
    let Some(dir) = fixtures_dir() else { return };
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint.md");
    let text = std::fs::read_to_string(&docs).unwrap();
    let blocks = snapshot_blocks(&text);
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();

    // Every fixture and the built-in are there.
    let mut wanted: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    wanted.push("docker-default".to_string());
    for name in &wanted {
        assert!(
            blocks
                .iter()
                .any(|(args, _)| args.split_whitespace().next() == Some(name)),
            "docs/lint.md has no `<!-- lint: {name} ... -->` block"
        );
    }
    // And every check is documented.
    for check in sysgate::lint::CHECKS {
        assert!(
            text.contains(&format!("`{}`", check.id)),
            "docs/lint.md does not describe `{}`",
            check.id
        );
    }

    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut failures = Vec::new();
    // From the last block up, so that rewriting one keeps the others' line ranges.
    for (args, range) in blocks.iter().rev() {
        let mut argv = vec!["lint"];
        argv.extend(args.split_whitespace());
        let out = sysgate(&dir, &argv);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "sysgate lint {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = String::from_utf8(out.stdout).unwrap();
        let got: Vec<String> = got.lines().map(str::to_string).collect();
        if update {
            lines.splice(range.clone(), got);
        } else if lines[range.clone()] != got[..] {
            let want = &lines[range.clone()];
            let first = want.iter().zip(&got).position(|(a, b)| a != b);
            failures.push(format!(
                "docs/lint.md:{}: `sysgate lint {args}` prints something else (UPDATE_SNAPSHOTS=1 \
                 rewrites it); first difference at block line {}:\n  docs: {:?}\n  now:  {:?}",
                range.start,
                first.map_or(want.len().min(got.len()), |p| p) + 1,
                first.map(|p| &want[p]),
                first.map(|p| &got[p]),
            ));
        }
    }
    if update {
        let mut new = lines.join("\n");
        new.push('\n');
        std::fs::write(&docs, new).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_go_to_the_output_file_with_o() {
    // -o, as in every command that writes: the JSON report lands in the file, not on stdout.
    let dir = scratch("output");
    let out = dir.join("report.json");
    let o = sysgate(
        &dir,
        &[
            "lint",
            "docker-default",
            "--json",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(report.get("profiles").is_some(), "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
