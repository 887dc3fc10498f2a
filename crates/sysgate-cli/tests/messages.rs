//! Every bad input gets one answer, and every message is right: what `check`, `diff`,
//! `audit`, `compile` and `run`'s explanations say, in the words and at the place that
//! decided. Live cases (`run`, `learn`) start their programs through the built `sysgate`
//! binary, which installs filters in its children only.

use std::path::Path;
use std::process::Command;

mod support;
use support::{
    read_json, rule_names, scratch, scratch_file, stderr, stdout, sysgate_command, write, SMALL,
};

/// `sysgate ARGS` in the C locale: the messages checked here are the untranslated ones.
fn sysgate(args: &[&str]) -> std::process::Output {
    sysgate_command()
        .env("LC_ALL", "C")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_prints_arguments_in_hex() {
    let profile = scratch_file("check-hex", "small.json", SMALL);
    let o = sysgate(&["check", &profile, "--arch", "x86_64", "socket", "40", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = stdout(&o).lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first,
        "x86_64 socket (41) args [0x28, 0x1, 0x0, 0x0, 0x0, 0x0]"
    );
}

/// A syscall number is read as the argument values are (decimal or 0x hex); one too large
/// for a syscall number is called that, not an unknown name.
#[test]
fn check_reads_syscall_numbers_in_hex_and_names_one_out_of_range() {
    let profile = scratch_file("check-nr", "small.json", SMALL);
    let o = sysgate(&["check", &profile, "--arch", "x86_64", "0x29", "40", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("x86_64 socket (41)"),
        "{}",
        stdout(&o)
    );
    let o = sysgate(&["check", &profile, "--arch", "x86_64", "4294967296"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("4294967296 is not a syscall number"),
        "{}",
        stderr(&o)
    );
    let o = sysgate(&["check", &profile, "--arch", "x86_64", "no_such_call"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("check the spelling"), "{}", stderr(&o));
}

/// Regression: on x86_64 a number with the x32 bit is an x32 call (the kernel gives both ABIs
/// one audit token), but `check` labelled it "x86_64 ?" and its JSON had no syscall name;
/// likewise a number without the bit given with --arch x32 is an x86_64 call.
#[test]
fn check_names_the_abi_a_number_belongs_to() {
    let o = sysgate(&[
        "check",
        "-q",
        "docker-default",
        "--arch",
        "amd64",
        "0x40000001",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("x32 write (1073741825) args"),
        "{}",
        stdout(&o)
    );
    let o = sysgate(&[
        "check",
        "-q",
        "docker-default",
        "--arch",
        "amd64",
        "0x40000001",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["arch"], "x32");
    assert_eq!(doc["syscall"], "write");
    let o = sysgate(&["check", "-q", "docker-default", "--arch", "x32", "5"]);
    assert!(
        stdout(&o).starts_with("x86_64 fstat (5) args"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_prints_what_the_reader_warns_about() {
    // A misspelled top-level key: Docker ignores it, so the profile denies nothing. `check`
    // decides as Docker would, and must say why, as every other command does.
    let p = scratch_file(
        "check-warnings",
        "typo.json",
        r#"{"defaultAction":"SCMP_ACT_ALLOW","sycalls":[{"names":["ptrace"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let o = sysgate(&["check", &p, "--arch", "amd64", "ptrace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("action: ALLOW"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("typo.json:1:45: unknown key \"sycalls\""),
        "{}",
        stderr(&o)
    );
    // -q means what it means everywhere: no warnings.
    let o = sysgate(&["check", "-q", &p, "--arch", "amd64", "ptrace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
}

#[test]
fn check_exit_status_tells_allowed_from_refused() {
    let profile = scratch_file("check-status", "small.json", SMALL);
    let status = |call: &[&str]| {
        let mut argv = vec!["check", &profile, "--arch", "x86_64", "--exit-status"];
        argv.extend_from_slice(call);
        let o = sysgate(&argv);
        assert!(o.stderr.is_empty(), "{argv:?}: {}", stderr(&o));
        o.status.code()
    };
    assert_eq!(status(&["read"]), Some(0), "ALLOW");
    assert_eq!(status(&["getpid"]), Some(0), "LOG runs the call");
    assert_eq!(status(&["socket", "1"]), Some(0), "allowed by its argument");
    assert_eq!(status(&["socket", "2"]), Some(3), "refused by the default");
    assert_eq!(status(&["uname"]), Some(3), "ERRNO");
    assert_eq!(status(&["ptrace"]), Some(4), "USER_NOTIF");
    // Without the flag, the answer is only printed.
    let o = sysgate(&["check", &profile, "--arch", "x86_64", "uname"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Bad input keeps status 2 with or without it.
    let o = sysgate(&[
        "check",
        &profile,
        "--arch",
        "x86_64",
        "--exit-status",
        "no_such_call",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn audit_of_a_log_without_records_says_so() {
    let dir = scratch("audit-empty");
    let log = write(&dir, "kern.log", "hello\nworld\n");
    let out = dir.join("never.json");
    let o = sysgate(&["audit", &log, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing is listed");
    assert_eq!(
        stderr(&o),
        format!(
            "sysgate: {log}: no seccomp audit records in its 2 lines (looked for \
             `type=SECCOMP` and `audit: type=1326` records); nothing written\n"
        )
    );
    assert!(!out.exists(), "no profile is written from nothing");
}

#[test]
fn audit_of_a_directory_names_it_with_status_2() {
    let dir = scratch("audit-dir");
    let o = sysgate(&["audit", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("sysgate: cannot read {}: ", dir.display())),
        "{err}"
    );
}

#[test]
fn compile_counts_its_notes_in_one_line_and_lists_them_with_v() {
    let dir = scratch("compile-notes");
    // getgid32 and chown32 exist on x86 only: skipped on x86_64 and x32.
    let profile = write(
        &dir,
        "p.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read", "getgid32", "chown32"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let out = dir.join("f.bpf");
    let o = sysgate(&["compile", &profile, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "sysgate: warning: 2 compiler notes: 2 syscalls skipped on architectures that lack \
         them; -v lists them\n"
    );
    let o = sysgate(&["compile", &profile, "-v", "-o", out.to_str().unwrap()]);
    let err = stderr(&o);
    // One line per name, naming every architecture that lacks it.
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(
        err.lines()
            .all(|l| l.starts_with("sysgate: warning: rule #")
                && l.contains("skipped on x86_64, x32: no such syscall there")),
        "{err}"
    );
    let o = sysgate(&["compile", &profile, "-q", "-o", out.to_str().unwrap()]);
    assert_eq!(stderr(&o), "");
}

#[test]
fn the_repeated_index_warning_is_one_sentence() {
    let profile = scratch_file(
        "repeated-index",
        "p.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
              {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
              {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
              {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let o = sysgate(&["compile", &profile, "-f", "text"]);
    let err = stderr(&o);
    assert!(err.contains("an argument index repeats"), "{err}");
    assert!(!err.contains("  "), "a run of spaces in {err:?}");
}

/// A fixture from ../shared, or `None` (outside CI) when it is absent.
fn fixture(name: &str) -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/profiles/"
    );
    let path = format!("{path}{name}");
    if Path::new(&path).exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "../shared is missing under CI"
    );
    eprintln!("SKIPPED: {path} not found");
    None
}

#[test]
fn diff_of_a_changed_clone_mask_agrees_with_check() {
    let Some(original) = fixture("docker-default.json") else {
        return;
    };
    // Docker's clone rule (a0 & 0x7e020000 == 0) with CLONE_NEWCGROUP left out of the mask.
    let text = std::fs::read_to_string(&original).unwrap();
    let changed_text = text.replacen("\"value\": 2114060288,", "\"value\": 2080505856,", 1);
    assert_ne!(text, changed_text, "the fixture's clone rule moved");
    let dir = scratch("diff-clone");
    let changed = write(&dir, "changed.json", &changed_text);
    let o = sysgate(&["diff", &original, &changed, "--arch", "x86_64"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // The x86_64 archMap entry brings x86 and x32.
    assert_eq!(
        stdout(&o),
        "x86: clone (120) when a0 & 0x7e020000 == 0x2000000: ERRNO(1 EPERM) -> ALLOW\n\
         x86_64: clone (56) when a0 & 0x7e020000 == 0x2000000: ERRNO(1 EPERM) -> ALLOW\n\
         x32: clone (1073741880) when a0 & 0x7e020000 == 0x2000000: ERRNO(1 EPERM) -> ALLOW\n"
    );
    // check agrees: the same answer at 0x10000000, different ones at 0x2000000.
    let action = |profile: &str, a0: &str| {
        let out = stdout(&sysgate(&[
            "check", profile, "--arch", "x86_64", "clone", a0,
        ]));
        out.lines().nth(1).unwrap_or_default().to_string()
    };
    assert_eq!(
        action(&original, "0x10000000"),
        action(&changed, "0x10000000")
    );
    assert_ne!(
        action(&original, "0x2000000"),
        action(&changed, "0x2000000")
    );
}

// ---- run -----------------------------------------------------------------------------------

#[test]
fn run_says_when_the_filter_refuses_execve() {
    let o = sysgate(&["run", "--deny", "execve", "--", "true"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "sysgate: cannot run true: its filter refuses execve, which starting it needs \
         (rule #375: ERRNO(1 EPERM) execve (--deny execve)); drop `--deny execve`\n"
            .replace("#375", &rule_number(&stderr(&o)))
    );
    // A real permission problem keeps the kernel's words, and says what to do.
    let script = scratch_file("not-executable", "script", "#!/bin/sh\n");
    let o = sysgate(&["run", "--", &script]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "sysgate: cannot run {script}: Permission denied (os error 13); it is not \
             executable: make it so (chmod +x {script})\n"
        )
    );
}

/// The `#N` of the first rule a message cites.
fn rule_number(text: &str) -> String {
    let at = text.find("rule #").map_or(0, |i| i + 5);
    text[at..]
        .chars()
        .take_while(|c| *c == '#' || c.is_ascii_digit())
        .collect()
}

#[test]
fn a_loader_stopped_by_the_filter_is_reported_not_a_silent_127() {
    let Some(profile) = fixture("spo-baseprofile-runc.yaml") else {
        return;
    };
    // SPO's runc base profile refuses pread64, which ld.so needs to read libc.
    let o = sysgate(&["run", "-p", &profile, "--", "true"]);
    assert_eq!(o.status.code(), Some(127), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "sysgate: true exited with status 127, and its filter refuses calls the dynamic \
             loader makes before the program starts"
        ),
        "{err}"
    );
    assert!(
        err.contains("sysgate:   pread64: ERRNO(1 EPERM) (the default action)\n"),
        "{err}"
    );
    assert!(err.contains("--allow pread64"), "{err}");
    // A 127 under a filter that lets the loader work is the program's own.
    let o = sysgate(&["run", "--", "sh", "-c", "exit 127"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stderr(&o), "");
}

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn run_killed_with_sigkill_leaves_no_orphan() {
    let dir = scratch("orphan");
    let pidfile = dir.join("pid");
    let script = format!("echo $$ > {}; exec sleep 60", pidfile.display());
    let mut sysgate = sysgate_command()
        .args(["run", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pid = loop {
        let text = std::fs::read_to_string(&pidfile).unwrap_or_default();
        if text.ends_with('\n') {
            break text.trim().to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the program never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(!ended(&pid), "the program runs");
    sysgate.kill().unwrap(); // SIGKILL
    sysgate.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !ended(&pid) {
        if std::time::Instant::now() > deadline {
            // Do not leave it behind when the test fails.
            let _ = Command::new("kill").args(["-9", &pid]).status();
            panic!("the program {pid} outlived sysgate run by 5 seconds");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

// ---- learn ---------------------------------------------------------------------------------

#[test]
fn learn_of_a_failing_command_writes_the_profile_and_says_it_failed() {
    let dir = scratch("learn-fail");
    let out = dir.join("p.json");
    let o = learn(&[], &out, &["sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(out.exists(), "the profile is written all the same");
    let err = stderr(&o);
    assert!(
        err.ends_with(
            "sysgate: warning: sh failed (exited with status 3): the profile holds only the \
             calls it made until then; sysgate exits with its status (3)\n"
        ),
        "{err}"
    );
    // The learned profile is written for runc as runc reads it: nothing about runc's own
    // bad-arch action or ENOSYS rule is reported as lost.
    assert!(!err.contains("lost:"), "{err}");
}

#[test]
fn learn_quiet_prints_nothing() {
    let dir = scratch("learn-quiet");
    for format in ["docker", "oci", "systemd", "lxc", "k8s"] {
        let out = dir.join(format!("p.{format}"));
        let o = learn(&["-q", "-f", format], &out, &["true"]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        // Only what would permit more than was learned is still said (LXC filters the
        // host's other ABIs with the same rules).
        let err = stderr(&o);
        assert!(
            err.lines()
                .all(|l| l.starts_with("sysgate: lost: ") && l.ends_with("MORE PERMISSIVE")),
            "{format}: {err}"
        );
        if format != "lxc" {
            assert_eq!(err, "", "{format}");
        }
        assert!(out.exists(), "{format}");
    }
    // Quiet about a failure too: the status says it.
    let out = dir.join("fail.json");
    let o = learn(&["-q"], &out, &["sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "");
}

/// `sysgate learn FLAGS -o OUT -- CMD...`.
fn learn(flags: &[&str], out: &Path, cmd: &[&str]) -> std::process::Output {
    let mut args = vec!["learn"];
    args.extend(flags);
    args.extend(["-o", out.to_str().unwrap(), "--"]);
    args.extend(cmd);
    sysgate(&args)
}

/// The syscall names a learned Docker profile allows without conditions, sorted.
fn allowed_names(profile: &Path) -> Vec<String> {
    let mut names = rule_names(&read_json(profile), |r| {
        r["action"] == "SCMP_ACT_ALLOW" && r.get("args").is_none()
    });
    names.sort();
    names
}

#[test]
fn learn_under_an_outer_listener_falls_back_to_ptrace_and_says_so() {
    if sysgate::learn::Backend::Auto.resolve() != sysgate::learn::Backend::Notify {
        eprintln!("SKIPPED: this kernel has no notify backend (Linux 6.6)");
        return;
    }
    let dir = scratch("nested-learn");
    let (outer, inner, alone) = (
        dir.join("outer.json"),
        dir.join("inner.json"),
        dir.join("alone.json"),
    );
    let me = env!("CARGO_BIN_EXE_sysgate");
    // The outer learn holds the listener of the filter tree the inner one runs in.
    let o = learn(
        &["-q"],
        &outer,
        &[me, "learn", "-o", inner.to_str().unwrap(), "--", "true"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "sysgate: note: this process already runs under a seccomp filter with a \
             notification listener (an outer `sysgate learn`, or a container's seccomp \
             agent), and the kernel allows one listener per filter tree: traced with ptrace \
             syscall stops instead of notify (slower)\n"
        ),
        "{err}"
    );
    // What it learned is what learning `true` alone gives.
    let o = learn(&["-q"], &alone, &["true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(allowed_names(&inner), allowed_names(&alone));
    assert!(allowed_names(&inner).contains(&"mmap".to_string()));

    // run --complain too.
    let o = learn(
        &["-q"],
        &outer,
        &[me, "run", "--complain", "--deny", "uname", "--", "uname"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("traced with ptrace syscall stops"), "{err}");
    assert!(
        err.contains("uname on x86_64") || !cfg!(target_arch = "x86_64"),
        "{err}"
    );
}

#[test]
fn complain_advice_is_in_the_profile_format() {
    let lxc = scratch_file("complain-lxc", "a.seccomp", "2\nallowlist\n[all]\nread\n");
    let o = sysgate(&["run", "--complain", "-p", &lxc, "--", "true"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "    allow with --allow mmap, or add the line `mmap allow` to {lxc} (in its [all] \
             section, or the one for x86_64, if it has sections)\n"
        )) || !cfg!(target_arch = "x86_64"),
        "{err}"
    );
    assert!(!err.contains("SCMP_ACT_ALLOW"), "no Docker advice: {err}");
}
