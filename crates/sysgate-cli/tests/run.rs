//! `sysgate run` and `sysgate probe`, live: the built `sysgate` binary runs real programs
//! under real filters in child processes (never in this test process), and the tests check
//! what the kernel answered, the exit status and the explanation of a kill.
//!
//! `run-helper` (tests/helpers/run_helper.rs, built as an example by `cargo test`) makes
//! the calls no ordinary program makes: x32 syscalls, uname from many threads, waiting for
//! a signal. Explaining a kill needs the kernel's audit records, which root can read; the
//! tests that check an explanation say SKIPPED without them outside CI (CI runs as root).

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sysgate::kernel::{ActionKind, AuditReader, Features, FilterFlag};

mod support;
use support::text;

fn sysgate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sysgate"));
    c.env("LC_ALL", "C")
        .env_remove("SYSGATE_TEST_CORRUPT_FILTER");
    c
}

fn run(args: &[&str]) -> Output {
    sysgate()
        .arg("run")
        .args(args)
        .output()
        .expect("spawn sysgate")
}

/// `run-helper`, built beside the test binaries as an example.
fn helper() -> String {
    let exe = std::env::current_exe().expect("current_exe");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path: PathBuf = debug.join("examples").join("run-helper");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p sysgate-cli --example run-helper` \
         (cargo test --workspace builds it)",
        path.display()
    );
    path.display().to_string()
}

/// Whether kills can be explained here (the kernel's audit records are readable). Under
/// CI they must be.
fn explanations_available() -> bool {
    match AuditReader::open() {
        Ok(_) => true,
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "CI runs as root: {e}");
            eprintln!("SKIPPED (explanation part): {e}");
            false
        }
    }
}

/// A temporary file that is removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("sysgate-run-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---- The built-in default ------------------------------------------------------------------

#[test]
fn true_exits_zero() {
    let out = run(&["--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn the_default_refuses_a_user_namespace() {
    let out = run(&["--", "unshare", "--user", "true"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_default_lets_ordinary_work_through() {
    let out = run(&["--", "uname", "-a"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Linux"),
        "{}",
        text(&out.stdout)
    );

    let out = run(&["--", "ls", "/"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).lines().any(|l| l == "proc"),
        "{}",
        text(&out.stdout)
    );

    let out = run(&["--", "sh", "-c", "echo hi | cat"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
}

#[test]
fn allow_replaces_the_profiles_rules_for_a_syscall() {
    // As root the kernel allows a user namespace once seccomp does.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root for unshare --user to succeed unfiltered");
        return;
    }
    let out = run(&["--allow", "unshare", "--", "unshare", "--user", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

// ---- Exit statuses -------------------------------------------------------------------------

#[test]
fn the_exit_status_is_the_programs() {
    assert_eq!(run(&["--", "sh", "-c", "exit 7"]).status.code(), Some(7));
    // Killed by SIGTERM: 128 + 15.
    assert_eq!(
        run(&["--", "sh", "-c", "kill -TERM $$"]).status.code(),
        Some(143)
    );
}

#[test]
fn a_missing_program_is_127_and_a_directory_126() {
    let out = run(&["--", "/no/such/program"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    let out = run(&["--", "/"]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
}

/// Each way a program cannot be executed is named, with what to do about it.
#[test]
fn a_program_that_cannot_be_executed_says_why_and_what_to_do() {
    let stderr_of = |args: &[&str], cwd: &std::path::Path, code: i32| {
        let out = sysgate()
            .current_dir(cwd)
            .args(["run", "-q", "-p", "unconfined", "--"])
            .args(args)
            .output()
            .expect("spawn sysgate");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    };
    let dir = std::env::temp_dir().join(format!("sysgate-run-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("not-executable"), "#!/bin/sh\ntrue\n").unwrap();
    std::fs::copy("/bin/true", dir.join("here-only")).unwrap();

    let err = stderr_of(&["/"], &dir, 126);
    assert!(
        err.contains("/: ") && err.contains("is a directory"),
        "{err}"
    );
    let err = stderr_of(&["./not-executable"], &dir, 126);
    assert!(err.contains("chmod +x ./not-executable"), "{err}");
    // A name without a slash is looked up in PATH only, as a shell does.
    let err = stderr_of(&["here-only"], &dir, 127);
    assert!(err.contains("PATH") && err.contains("./here-only"), "{err}");
    // A name is looked up in PATH: a directory of that name here is not what failed.
    let bin = dir.join("bin");
    std::fs::create_dir_all(bin.join("..").join("samename")).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("samename"), "#!/bin/sh\n").unwrap();
    let out = sysgate()
        .current_dir(&dir)
        .env("PATH", &bin)
        .args(["run", "-q", "-p", "unconfined", "--", "samename"])
        .output()
        .expect("spawn sysgate");
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("PATH") && !err.contains("is a directory"),
        "{err}"
    );
    std::os::unix::fs::symlink("/no/such/target", dir.join("dangling")).unwrap();
    let err = stderr_of(&["./dangling"], &dir, 127);
    assert!(err.contains("symbolic link to /no/such/target"), "{err}");
    let err = stderr_of(&[""], &dir, 127);
    assert!(err.contains("name is empty"), "{err}");
    let err = stderr_of(&["no-such-program-h4"], &dir, 127);
    assert!(
        err.contains("no-such-program-h4") && err.contains("PATH"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Complain mode says why a program could not be started, as enforcing mode does (it
/// exited 127 or 126 without a word).
#[test]
fn complain_mode_says_why_a_program_did_not_start() {
    let out = run(&["--complain", "--", "/no/such/program"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        text(&out.stderr).contains("/no/such/program"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["--complain", "--", "/"]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        text(&out.stderr).contains("directory"),
        "{}",
        text(&out.stderr)
    );
}

/// A filter for other architectures only would kill the program at its first call, the
/// execve that starts it: it is refused before anything runs, with the flag to add.
#[test]
fn a_filter_without_this_machines_architecture_starts_nothing() {
    let native = sysgate::arch::Arch::native();
    let other = if native == sysgate::arch::Arch::Aarch64 {
        "x86_64"
    } else {
        "aarch64"
    };
    let out = run(&["--arch", other, "--", "true"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains(&format!("--arch {}", native.name())), "{err}");
}

/// NOTIFY needs a supervisor that sysgate run does not have: refused before the program
/// starts, with what to use instead.
#[test]
fn a_notify_profile_starts_nothing_and_says_what_serves_it() {
    let profile = TempFile::new(
        "notify.json",
        r#"{"defaultAction":"SCMP_ACT_NOTIFY","syscalls":[{"names":["uname"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let out = run(&["-p", profile.path(), "--", "true"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("NOTIFY") && err.contains("sysgate agent"),
        "{err}"
    );
    assert!(!err.contains("CommandExt"), "{err}");
}

/// Without a tracer the kernel fails TRACE calls with ENOSYS: said up front, and when it
/// is execve itself, said instead of a bare "Function not implemented".
#[test]
fn a_trace_default_is_explained_when_execve_fails_with_enosys() {
    let profile = TempFile::new(
        "trace.json",
        r#"{"defaultAction":"SCMP_ACT_TRACE","syscalls":[{"names":["uname"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let out = run(&["-p", profile.path(), "--", "true"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{err}");
    assert!(
        err.contains("refuses execve") && err.contains("TRACE"),
        "{err}"
    );
    assert!(err.contains("--allow execve"), "{err}");
}

// ---- Deny flags ----------------------------------------------------------------------------

#[test]
fn deny_kill_ends_with_159_and_names_the_syscall() {
    let out = run(&["--deny", "uname:kill", "--", "uname"]);
    assert_eq!(out.status.code(), Some(159), "{}", text(&out.stderr));
    if !explanations_available() {
        return;
    }
    let err = text(&out.stderr);
    let uname = libc::SYS_uname;
    assert!(
        err.contains(&format!("syscall uname ({uname}) on x86_64"))
            || !cfg!(target_arch = "x86_64"),
        "{err}"
    );
    assert!(
        err.contains("decided by:") && err.contains("(--deny uname:kill)"),
        "{err}"
    );
    assert!(
        err.contains("to allow it: drop `--deny uname:kill`"),
        "{err}"
    );
}

#[test]
fn a_kill_by_the_default_action_points_at_the_allow_flag() {
    // docker-default allows unshare only with CAP_SYS_ADMIN: here the default decides.
    let out = run(&[
        "--default-action",
        "KILL_PROCESS",
        "--",
        "unshare",
        "--user",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(159), "{}", text(&out.stderr));
    if !explanations_available() {
        return;
    }
    let err = text(&out.stderr);
    assert!(err.contains("the default action KILL_PROCESS"), "{err}");
    assert!(err.contains("syscall unshare"), "{err}");
    assert!(err.contains("to allow it: add `--allow unshare`"), "{err}");
    assert!(err.contains("or change --default-action"), "{err}");
}

#[test]
fn explain_off_says_only_that_it_was_not_explained() {
    let out = run(&["--explain", "off", "--deny", "uname:kill", "--", "uname"]);
    assert_eq!(out.status.code(), Some(159));
    let err = text(&out.stderr);
    // Turned off on purpose: no advice to run as root.
    assert_eq!(
        err,
        "sysgate: uname was killed by SIGSYS; not explained (--explain=off)\n"
    );
}

#[test]
fn deny_enosys_makes_uname_fail_with_enosys() {
    let out = run(&["--deny", "uname:ENOSYS", "--", "uname"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Function not implemented"),
        "{}",
        text(&out.stderr)
    );
    // By number too.
    let out = run(&["--deny", "uname:38", "--", "uname"]);
    assert!(text(&out.stderr).contains("Function not implemented"));
}

#[test]
fn contradicting_or_unknown_flags_start_nothing() {
    for args in [
        &["--allow", "uname", "--deny", "uname"][..],
        &["--deny", "no_such_call"],
        &["--deny", "uname:EWHAT"],
        &["--default-action", "ALOW"],
        &["--profile", "/no/such/profile.json"],
        &["--allow", "@no-such-set"],
        &["--deny", "@system-service"],
    ] {
        let marker = TempFile::new("never", "");
        std::fs::remove_file(&marker.0).unwrap();
        let out = sysgate()
            .arg("run")
            .args(args)
            .args(["--", "touch", marker.path()])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(125),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!marker.0.exists(), "{args:?}: the program ran");
        // A value clap's parser refuses (--default-action) is a usage error in clap's words.
        assert!(
            text(&out.stderr).starts_with("sysgate run: ")
                || text(&out.stderr).starts_with("error: invalid value"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(&["--allow", "@no-such-set", "--", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("no systemd syscall set \"@no-such-set\"")
            && text(&out.stderr).contains("@system-service"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn allow_a_systemd_set() {
    // `uname` is in @system-service: under the built-in profile of that set, plus the flag
    // that allows the set again, it works.
    let out = run(&[
        "--profile",
        "systemd:@system-service",
        "--allow",
        "@system-service",
        "--",
        "uname",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // swapoff is in @swap, not in @system-service: systemd's default for an allow list is to
    // kill, and so does this profile.
    let out = run(&[
        "--profile",
        "systemd:@system-service",
        "--",
        &helper(),
        "swapoff",
    ]);
    assert_eq!(out.status.code(), Some(159), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("swapoff"),
        "{}",
        text(&out.stderr)
    );
}

// ---- Threads, architectures, install failures ------------------------------------------

#[test]
fn every_thread_of_a_multithreaded_child_is_filtered() {
    // The filter is installed before exec, so every thread the program starts inherits it
    // (what TSYNC does for threads that already exist).
    let out = run(&["--deny", "uname:ENOSYS", "--", &helper(), "threads", "8"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
    for line in stdout.lines() {
        assert!(line.ends_with("uname errno 38"), "{stdout}");
    }

    // KILL_PROCESS from any thread ends the whole process.
    let out = run(&["--deny", "uname:kill", "--", &helper(), "threads", "8"]);
    assert_eq!(out.status.code(), Some(159), "{}", text(&out.stderr));
    if explanations_available() {
        let err = text(&out.stderr);
        assert!(err.contains("syscall uname"), "{err}");
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn an_x32_syscall_gets_the_bad_arch_action() {
    // A profile for x86_64 alone: x32 numbers are a foreign architecture.
    let profile = TempFile::new(
        "x86_64-only.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}"#,
    );
    let out = run(&["--profile", profile.path(), "--", &helper(), "x32-getpid"]);
    // Docker profiles' bad-arch action is KILL_THREAD; the helper has one thread.
    assert_eq!(out.status.code(), Some(159), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "the call returned: {}",
        text(&out.stdout)
    );
    if explanations_available() {
        let err = text(&out.stderr);
        assert!(err.contains("on x32"), "{err}");
        assert!(err.contains("the bad-arch action KILL_THREAD"), "{err}");
        assert!(err.contains("--arch x32"), "{err}");
    }

    // Docker's default covers x32 on amd64: the call reaches the kernel, which answers
    // (ENOSYS when it was built without x32 support).
    let out = run(&["--", &helper(), "x32-getpid"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("x32 getpid returned"));
}

#[test]
fn a_filter_that_fails_to_install_starts_nothing() {
    let marker = TempFile::new("corrupt", "");
    std::fs::remove_file(&marker.0).unwrap();
    let out = sysgate()
        .env("SYSGATE_TEST_CORRUPT_FILTER", "1")
        .args(["run", "--", "touch", marker.path()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    assert!(!marker.0.exists(), "the program ran unfiltered");
    let err = text(&out.stderr);
    assert!(
        err.contains("the filter could not be installed, so touch was not started"),
        "{err}"
    );
    assert!(err.contains("EINVAL"), "{err}");
}

#[test]
fn keep_caps_leaves_no_new_privs_unset() {
    let status = |args: &[&str]| {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let s = text(&out.stdout);
        s.lines()
            .find_map(|l| l.strip_prefix("NoNewPrivs:"))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        status(&["--", "grep", "NoNewPrivs", "/proc/self/status"]),
        "1"
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        // Without CAP_SYS_ADMIN the kernel refuses a filter without no_new_privs.
        let out = run(&["--keep-caps", "--", "true"]);
        assert_eq!(out.status.code(), Some(125));
        assert!(text(&out.stderr).contains("drop --keep-caps"));
        return;
    }
    assert_eq!(
        status(&[
            "--keep-caps",
            "--",
            "grep",
            "NoNewPrivs",
            "/proc/self/status"
        ]),
        "0"
    );
}

// ---- Signals -------------------------------------------------------------------------------

#[test]
fn a_signal_sent_to_sysgate_reaches_the_program() {
    let mut child = sysgate()
        .args(["run", "--", &helper(), "sleep-until-signal"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: kill takes a pid and a signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, format!("got signal {}\n", libc::SIGTERM));
    assert_eq!(status.code(), Some(42));
}

#[test]
fn a_program_killed_by_a_forwarded_signal_is_128_plus_it() {
    let mut command = sysgate();
    command.args(["run", "--", "sleep", "30"]);
    // A shell starts background jobs with SIGINT ignored, and sysgate rightly leaves an
    // ignored signal ignored: start it with the default, whoever started this test.
    // SAFETY: signal(2) is async-signal-safe and takes plain values.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    // Give sleep time to start; a signal that arrives earlier is delivered once it has.
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill takes a pid and a signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(128 + libc::SIGINT));
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "sysgate run did not end: {:?}",
                child.wait().unwrap().signal()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- Probe -----------------------------------------------------------------------------------

#[test]
fn probe_prints_this_kernels_features() {
    let expected = Features::probe();
    let out = sysgate().arg("probe").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = text(&out.stdout);
    assert!(
        report.contains(&format!("kernel           {} (probed)", expected.release)),
        "{report}"
    );
    assert!(report.contains("filter flags"), "{report}");

    let out = sysgate().args(["probe", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["release"], expected.release.as_str());
    assert_eq!(json["filter_mode"], expected.filter_mode);
    assert_eq!(json["action_cache"], expected.action_cache);
    for a in ActionKind::ALL {
        assert_eq!(json["actions"][a.name()], expected.has_action(a), "{a}");
    }
    for f in FilterFlag::ALL {
        assert_eq!(json["flags"][f.name()], expected.has_flag(f), "{f}");
    }
    // sysgate run needs these on this machine.
    assert_eq!(json["actions"]["kill_process"], true);
    assert_eq!(json["flags"]["TSYNC"], true);

    let out = sysgate()
        .args(["probe", "--kernel", "4.9", "--json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["actions"]["kill_process"], false);
    assert_eq!(json["source"], "assumed from 4.9.0");
}

#[test]
fn complain_mode_records_denials_instead_of_enforcing_them() {
    let out = run(&["--complain", "--deny", "uname", "--", "uname"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "Linux",
        "uname ran despite the deny"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("would have been denied") && err.contains("uname"),
        "{err}"
    );
    assert!(
        err.contains("--deny uname"),
        "names the rule to change: {err}"
    );
}
