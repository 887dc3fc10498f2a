//! One flag vocabulary across subcommands: `--json` on every command whose output is data
//! (and the output parses), `-f/--format` with `--to` as its alias, `-o` wherever something
//! is written (`audit -o`, its old `--profile` kept with a warning), `--arch` in `learn` and
//! `audit`, `-q/-v` spelled and described alike, and `--default-action` read the same way by
//! `run`, `learn` and `audit`.
//!
//! Uses only built-in profiles and files it writes; `learn` traces `true` (as tests/learn_cli.rs
//! does).

mod support;
use support::{scratch, sysgate_in as sysgate, text};

use std::path::Path;

use serde_json::Value;

/// Standard output of a command that must succeed (or, for `diff`, report a difference).
fn json_of(dir: &Path, args: &[&str]) -> Value {
    let o = sysgate(dir, args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {:?}\n{}",
        o.status,
        text(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{}", text(&o.stdout)))
}

const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
  ]
}
"#;

const AUDIT_LOG: &str = "type=SECCOMP msg=audit(1700000000.123:41): auid=0 uid=0 gid=0 \
ses=1 pid=7 comm=\"k\" exe=\"/tmp/k\" sig=31 arch=c000003e syscall=63 compat=0 ip=0x1 \
code=0x80000000\ntype=SECCOMP msg=audit(1700000000.123:42): auid=0 uid=0 gid=0 ses=1 \
pid=9 comm=\"h\" exe=\"/tmp/h\" sig=31 arch=40000003 syscall=20 compat=1 ip=0x1 \
code=0x80000000\n";

#[test]
fn every_data_command_prints_json_that_parses() {
    let dir = scratch("json");
    std::fs::write(dir.join("p.json"), PROFILE).unwrap();

    let v = json_of(
        &dir,
        &[
            "check", "p.json", "--arch", "x86_64", "socket", "1", "--json",
        ],
    );
    assert_eq!(v["action"], "ALLOW");
    assert_eq!(v["syscall"], "socket");
    assert_eq!(v["args"][0], 1);
    let v = json_of(
        &dir,
        &[
            "check", "p.json", "--arch", "x86_64", "socket", "2", "--json",
        ],
    );
    assert_eq!(v["action"], "ERRNO(1 EPERM)");
    assert_eq!(v["rule"], Value::Null);

    let v = json_of(&dir, &["show", "p.json", "--arch", "x86_64", "--json"]);
    assert_eq!(v["default"], "ERRNO(1 EPERM)");
    assert_eq!(v["architectures"], serde_json::json!(["x86_64"]));
    let socket = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["syscall"] == "socket")
        .unwrap();
    assert_eq!(socket["conditions"].as_array().unwrap().len(), 1);

    let v = json_of(&dir, &["diff", "p.json", "p.json", "--json"]);
    assert_eq!(v["same"], true);
    let v = json_of(
        &dir,
        &[
            "diff",
            "p.json",
            "docker-default",
            "--arch",
            "x86_64",
            "--json",
        ],
    );
    assert_eq!(v["same"], false);
    assert!(v["differences"].as_array().unwrap().len() > 1);

    let v = json_of(&dir, &["probe", "--kernel", "5.10", "--json"]);
    assert!(v["actions"].is_object());
    let v = json_of(&dir, &["resolve", "-a", "arm64", "63", "--json"]);
    assert_eq!(v["name"], "read");
    let v = json_of(&dir, &["resolve", "--all-arches", "read", "--json"]);
    assert!(v["arches"].is_array());
    let v = json_of(&dir, &["verify", "p.json", "--compiled", "--json"]);
    assert_eq!(v["proven"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn learn_prints_its_summary_as_json_and_writes_the_profile_to_the_file() {
    let dir = scratch("learn-json");
    let v = json_of(&dir, &["learn", "--json", "-o", "t.json", "--", "true"]);
    assert!(v["calls"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["exit_status"], 0);
    assert!(v["profile"].as_str().unwrap().ends_with("t.json"));
    let profile: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("t.json")).unwrap()).unwrap();
    assert!(profile["syscalls"].is_array());
    // The summary and the profile cannot share standard output.
    let o = sysgate(&dir, &["learn", "--json", "--", "true"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("-o FILE"), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn format_and_its_alias_to_write_the_same() {
    let dir = scratch("format");
    std::fs::write(dir.join("p.json"), PROFILE).unwrap();
    let by_format = sysgate(&dir, &["convert", "p.json", "--format", "systemd"]);
    let by_to = sysgate(&dir, &["convert", "p.json", "--to", "systemd"]);
    let by_f = sysgate(&dir, &["convert", "p.json", "-f", "SYSTEMD"]);
    assert!(by_format.status.success(), "{}", text(&by_format.stderr));
    assert!(text(&by_format.stdout).contains("SystemCallFilter="));
    assert_eq!(by_format.stdout, by_to.stdout);
    assert_eq!(by_format.stdout, by_f.stdout);
    // The other spellings the readers know.
    let kube = sysgate(&dir, &["convert", "p.json", "--to", "kubernetes"]);
    assert!(text(&kube.stdout).contains("kind: SeccompProfile"));
    let bad = sysgate(&dir, &["convert", "p.json", "--to", "yaml"]);
    assert_eq!(bad.status.code(), Some(2));
    // compile's own formats take the alias too.
    let c = sysgate(&dir, &["compile", "p.json", "--to", "text"]);
    assert!(text(&c.stdout).contains("ld   arch"), "{}", text(&c.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_writes_its_profile_with_dash_o_and_still_takes_profile_with_a_warning() {
    let dir = scratch("audit");
    std::fs::write(dir.join("audit.log"), AUDIT_LOG).unwrap();
    let o = sysgate(&dir, &["audit", "audit.log", "-o", "new.json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("warning"), "{}", text(&o.stderr));
    let new = std::fs::read_to_string(dir.join("new.json")).unwrap();

    let o = sysgate(&dir, &["audit", "audit.log", "--profile", "old.json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("`audit --profile OUT` is now `audit -o OUT`"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(dir.join("old.json")).unwrap(), new);

    let o = sysgate(&dir, &["audit", "audit.log", "-o", "a", "--profile", "b"]);
    assert_eq!(o.status.code(), Some(2));
    // --profile is kept for scripts, not advertised.
    let help = sysgate(&dir, &["audit", "--help"]);
    assert!(!text(&help.stdout).contains("--profile"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn architectures(profile: &Path) -> Vec<String> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    v["architectures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn arch_sets_the_architectures_of_what_learn_and_audit_write() {
    let dir = scratch("arch");
    std::fs::write(dir.join("audit.log"), AUDIT_LOG).unwrap();
    let o = sysgate(&dir, &["audit", "audit.log", "-o", "all.json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(architectures(&dir.join("all.json")).contains(&"SCMP_ARCH_X86".to_string()));
    let o = sysgate(
        &dir,
        &["audit", "audit.log", "--arch", "x86_64", "-o", "amd64.json"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(architectures(&dir.join("amd64.json")), ["SCMP_ARCH_X86_64"]);
    assert!(
        text(&o.stderr).contains("1 calls on x86, which is not one of the profile's"),
        "{}",
        text(&o.stderr)
    );
    // getpid was recorded only on i386: not allowed by the x86_64-only profile.
    let check = sysgate(
        &dir,
        &[
            "check",
            "amd64.json",
            "--arch",
            "x86_64",
            "getpid",
            "--json",
        ],
    );
    let v: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_ne!(v["action"], "ALLOW", "{v}");

    let o = sysgate(
        &dir,
        &["learn", "-q", "-a", "x86_64", "-o", "t.json", "--", "true"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(architectures(&dir.join("t.json")), ["SCMP_ARCH_X86_64"]);
    let o = sysgate(&dir, &["learn", "--arch", "sideways", "--", "true"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

fn default_action(profile: &Path) -> String {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    v["defaultAction"].as_str().unwrap().to_string()
}

#[test]
fn default_action_is_spelled_the_same_in_run_learn_and_audit() {
    let dir = scratch("default-action");
    std::fs::write(dir.join("audit.log"), AUDIT_LOG).unwrap();
    for (spelling, written) in [
        ("kill", "SCMP_ACT_KILL_PROCESS"),
        ("KILL_PROCESS", "SCMP_ACT_KILL_PROCESS"),
        ("errno", "SCMP_ACT_ERRNO"),
        ("SCMP_ACT_LOG", "SCMP_ACT_LOG"),
    ] {
        let o = sysgate(
            &dir,
            &[
                "audit",
                "audit.log",
                "--default-action",
                spelling,
                "-o",
                "a.json",
            ],
        );
        assert!(o.status.success(), "audit {spelling}: {}", text(&o.stderr));
        assert_eq!(
            default_action(&dir.join("a.json")),
            written,
            "audit {spelling}"
        );
        let o = sysgate(
            &dir,
            &[
                "learn",
                "-q",
                "--default-action",
                spelling,
                "-o",
                "l.json",
                "--",
                "true",
            ],
        );
        assert!(o.status.success(), "learn {spelling}: {}", text(&o.stderr));
        assert_eq!(
            default_action(&dir.join("l.json")),
            written,
            "learn {spelling}"
        );
        let o = sysgate(
            &dir,
            &["run", "-q", "--default-action", spelling, "--", "true"],
        );
        assert!(o.status.success(), "run {spelling}: {}", text(&o.stderr));
    }
    // `kill` kills the whole process in run too (as --deny NAME:kill does): SIGSYS, 159.
    // docker-default leaves unshare to its default action.
    let o = sysgate(
        &dir,
        &[
            "run",
            "-q",
            "--default-action",
            "kill",
            "--",
            "unshare",
            "--user",
            "true",
        ],
    );
    assert_eq!(o.status.code(), Some(159), "{}", text(&o.stderr));
    for cmd in [&["run", "--"][..], &["learn", "--"], &["audit"]] {
        let mut args = vec![cmd[0], "--default-action", "sideways"];
        args.extend(&cmd[1..]);
        args.push("true");
        let o = sysgate(&dir, &args);
        assert!(
            text(&o.stderr).contains("invalid value 'sideways' for '--default-action"),
            "{cmd:?}: {}",
            text(&o.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quiet_and_verbose_are_spelled_and_described_alike_everywhere() {
    let dir = scratch("qv");
    let mut described = Vec::new();
    for cmd in [
        "compile", "convert", "disasm", "asm", "run", "learn", "audit", "verify",
    ] {
        let o = sysgate(&dir, &[cmd, "--help"]);
        let help = text(&o.stdout);
        // clap puts the text beside the flag, or (in long help) on the next line.
        let mut from_q = help.lines().skip_while(|l| !l.contains("-q, --quiet"));
        let line = from_q
            .next()
            .unwrap_or_else(|| panic!("`{cmd} --help` has no -q, --quiet:\n{help}"));
        let beside = line.split_once("--quiet").unwrap().1.trim();
        let mut q = beside.to_string();
        // The text may wrap: continuation lines, up to a blank line or the next flag.
        for more in from_q {
            let more = more.trim();
            if more.is_empty() || more.starts_with('-') {
                break;
            }
            q = format!("{q} {more}").trim().to_string();
        }
        assert!(help.contains("-v, --verbose"), "{cmd}: {help}");
        described.push((cmd, q));
        let o = sysgate(&dir, &[cmd, "-q", "-v"]);
        assert_eq!(
            o.status.code(),
            Some(if cmd == "run" { 125 } else { 2 }),
            "{cmd}"
        );
        assert!(
            text(&o.stderr).contains("cannot be used with"),
            "{cmd}: {}",
            text(&o.stderr)
        );
    }
    for (cmd, q) in &described {
        assert_eq!(q, &described[0].1, "{cmd}'s -q says something else");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
