//! `sysgate learn`, `learn merge`, `audit` and complain mode from the outside: learn real
//! programs, then run each under its learned profile with `--default-action kill` and
//! check it behaves the same and gets no SIGSYS; a call the profile lacks is refused.
//!
//! Filters are installed only in the children these tests spawn. The helper programs
//! (`tests/helpers/learn_helper.rs`) are built with `rustc` on first use.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use sysgate::arch::Arch;
use sysgate::bpf::Insn;
use sysgate::kernel::{CommandExt, InstallOptions, PreparedFilters};
use sysgate::profile::{self, Target};

mod support;
use support::{allowed_names, scratch, sysgate, text, write};

/// Signal numbers on x86 and most other arches (not mips, sparc, alpha, parisc).
const SIGSYS: i32 = 31;
const SIGTERM: i32 = 15;

/// The helper program, built once per test run.
fn helper() -> &'static str {
    static HELPER: OnceLock<String> = OnceLock::new();
    HELPER.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/learn_helper.rs");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("learn_helper-{}", std::process::id()));
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let built = Command::new(rustc)
            .args(["--edition", "2021", "-o"])
            .arg(&out)
            .arg(&src)
            .output()
            .expect("rustc runs");
        assert!(built.status.success(), "{}", text(&built.stderr));
        out.display().to_string()
    })
}

/// Learn `cmd` with extra `flags` into `profile`; returns sysgate's output.
fn learn(profile: &Path, flags: &[&str], cmd: &[&str]) -> Output {
    let mut args = vec!["learn", "-o", profile.to_str().unwrap()];
    args.extend(flags);
    args.push("--");
    args.extend(cmd);
    let o = sysgate(&args);
    assert!(profile.exists(), "no profile written: {}", text(&o.stderr));
    o
}

/// Run `cmd` with the profile's filter installed in the child (as `sysgate run` does).
fn run_under(profile: &Path, cmd: &[&str]) -> Output {
    let loaded = profile::load(profile, &Target::docker_default(Arch::native())).unwrap();
    let compiled = sysgate::compile::compile(&loaded.policy).unwrap();
    let programs: Vec<&[Insn]> = compiled.programs.iter().map(|p| p.insns()).collect();
    let filters =
        PreparedFilters::new(&programs, &InstallOptions::from(&loaded.policy.attrs)).unwrap();
    Command::new(cmd[0])
        .args(&cmd[1..])
        .seccomp_filters(filters)
        .output()
        .unwrap()
}

/// Learn `cmd` with `--default-action kill`, then run it under the profile: same status,
/// same output, no SIGSYS.
fn learn_then_enforce(name: &str, cmd: &[&str]) -> (PathBuf, Output) {
    learn_then_enforce_with(name, cmd, |s| s.to_string())
}

/// Both tracing backends.
const TRACERS: [&str; 2] = ["ptrace", "notify"];

/// The same, comparing outputs after `normalize`.
fn learn_then_enforce_with(
    name: &str,
    cmd: &[&str],
    normalize: impl Fn(&str) -> String,
) -> (PathBuf, Output) {
    let mut last = None;
    for tracer in TRACERS {
        last = Some(learn_then_enforce_one(name, tracer, cmd, &normalize));
    }
    last.expect("at least one tracer")
}

fn learn_then_enforce_one(
    name: &str,
    tracer: &str,
    cmd: &[&str],
    normalize: &impl Fn(&str) -> String,
) -> (PathBuf, Output) {
    let name = &format!("{name}-{tracer}");
    let dir = scratch(name);
    let profile = dir.join("learned.json");
    let learned = learn(
        &profile,
        &["--default-action", "kill", "--tracer", tracer],
        cmd,
    );
    let enforced = run_under(&profile, cmd);
    assert_eq!(
        enforced.status.signal(),
        None,
        "{name}: killed under its learned profile ({:?}); profile:\n{}",
        enforced.status,
        std::fs::read_to_string(&profile).unwrap()
    );
    assert_eq!(
        learned.status.code(),
        enforced.status.code(),
        "{name}: status"
    );
    assert_eq!(
        normalize(&text(&learned.stdout)),
        normalize(&text(&enforced.stdout)),
        "{name}: output"
    );
    (profile, learned)
}

#[test]
fn ls_runs_under_its_learned_profile() {
    // /proc's and /tmp's link counts follow the processes and directories other tests
    // create meanwhile; every other line must be the same.
    let (profile, learned) = learn_then_enforce_with("ls", &["ls", "-l", "/"], |out| {
        out.lines()
            .filter(|l| !l.ends_with(" proc") && !l.ends_with(" tmp"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert!(text(&learned.stdout).contains("usr"));
    let names = allowed_names(&profile);
    for n in ["execve", "openat", "getdents64", "exit_group"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
    let stderr = text(&learned.stderr);
    assert!(stderr.contains("distinct syscalls"), "{stderr}");
    assert!(stderr.contains("most frequent:"), "{stderr}");
}

#[test]
fn a_pipeline_runs_under_its_learned_profile() {
    let (_, learned) = learn_then_enforce(
        "pipeline",
        &["sh", "-c", "cat /etc/passwd | sort | head -1"],
    );
    assert!(!learned.stdout.is_empty());
    // sh, cat, sort and head each made calls.
    let stderr = text(&learned.stderr);
    assert!(stderr.contains(" executables"), "{stderr}");
}

#[test]
fn a_multithreaded_program_runs_under_its_learned_profile() {
    let (profile, learned) = learn_then_enforce("threads", &[helper(), "threads"]);
    assert!(text(&learned.stdout).starts_with("threads: [0, "));
    let names = allowed_names(&profile);
    assert!(
        names.iter().any(|n| n == "clone3" || n == "clone"),
        "{names:?}"
    );
}

#[test]
fn a_daemon_that_outlives_its_parent_is_followed() {
    for tracer in TRACERS {
        daemon_followed(tracer);
    }
}

fn daemon_followed(tracer: &str) {
    let dir = scratch(&format!("daemon-{tracer}"));
    let marker = dir.join("marker");
    let profile = dir.join("learned.json");
    let cmd = [helper(), "daemon", marker.to_str().unwrap()];
    let learned = learn(
        &profile,
        &["--default-action", "kill", "--tracer", tracer],
        &cmd,
    );
    assert!(learned.status.success(), "{}", text(&learned.stderr));
    // learn returns only after the daemon has exited.
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "daemon done\n");
    let names = allowed_names(&profile);
    for n in ["setsid", "umask", "clock_nanosleep"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }

    std::fs::remove_file(&marker).unwrap();
    let enforced = run_under(&profile, &cmd);
    assert_eq!(enforced.status.code(), Some(0), "{:?}", enforced.status);
    assert_eq!(text(&enforced.stdout), text(&learned.stdout));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("daemon done\n"),
        "the daemon did not finish under its learned profile"
    );
}

#[test]
fn a_call_the_learned_profile_lacks_is_refused() {
    let dir = scratch("refused");
    let profile = dir.join("learned.json");
    learn(
        &profile,
        &["--default-action", "kill"],
        &[helper(), "plain"],
    );
    assert!(!allowed_names(&profile).contains(&"sysinfo".to_string()));
    let ok = run_under(&profile, &[helper(), "plain"]);
    assert!(ok.status.success());
    let refused = run_under(&profile, &[helper(), "plain-extra"]);
    assert_eq!(
        refused.status.signal(),
        Some(SIGSYS),
        "{:?}",
        refused.status
    );
    assert_eq!(text(&refused.stdout), "plain\n");

    // With the default errno, the call fails instead of killing.
    let errno_profile = dir.join("errno.json");
    learn(&errno_profile, &[], &[helper(), "plain"]);
    let refused = run_under(&errno_profile, &[helper(), "plain-extra"]);
    assert!(refused.status.success());
    assert_eq!(text(&refused.stdout), "plain\nsysinfo was allowed\n");
}

#[test]
fn args_learns_exactly_the_socket_domains_used() {
    for tracer in TRACERS {
        socket_domains(tracer);
    }
}

fn socket_domains(tracer: &str) {
    let dir = scratch(&format!("sockets-{tracer}"));
    let profile = dir.join("learned.json");
    learn(
        &profile,
        &["--args", "--default-action", "kill", "--tracer", tracer],
        &[helper(), "sockets"],
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    let socket_rules: Vec<&Value> = json["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["names"].as_array().unwrap().iter().any(|n| n == "socket"))
        .collect();
    let mut domains: Vec<u64> = Vec::new();
    for rule in &socket_rules {
        let args = rule["args"].as_array().expect("socket is constrained");
        let domain = args
            .iter()
            .find(|a| a["index"] == 0)
            .expect("a0 constrained");
        assert_eq!(domain["op"], "SCMP_CMP_EQ");
        domains.push(domain["value"].as_u64().unwrap());
    }
    domains.sort();
    assert_eq!(domains, [1, 2], "AF_UNIX and AF_INET, nothing else");
    // And the learned profile still runs the program.
    let enforced = run_under(&profile, &[helper(), "sockets"]);
    assert!(enforced.status.success(), "{:?}", enforced.status);
    // mmap's prot is constrained too, so PROT_EXEC use is visible.
    assert!(json["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["names"][0] == "mmap" && e["args"][0]["index"] == 2));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn i386_calls_are_learned_for_the_i386_abi() {
    let (profile, learned) = learn_then_enforce("i386", &[helper(), "i386"]);
    assert_eq!(text(&learned.stdout), "i386 getpid ok\n");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    assert_eq!(
        json["architectures"],
        serde_json::json!(["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"])
    );
    assert!(allowed_names(&profile).contains(&"getpid".to_string()));
}

#[test]
fn the_exit_status_and_signals_are_passed_on() {
    let dir = scratch("status");
    let profile = dir.join("p.json");
    for tracer in TRACERS {
        let flags = ["-q", "--tracer", tracer];
        let o = learn(&profile, &flags, &["sh", "-c", "exit 7"]);
        assert_eq!(o.status.code(), Some(7), "{tracer}");
        let o = learn(&profile, &flags, &["sh", "-c", "kill -TERM $$"]);
        assert_eq!(o.status.code(), Some(128 + SIGTERM), "{tracer}");
    }
    let o = sysgate(&[
        "learn",
        "-q",
        "-o",
        profile.to_str().unwrap(),
        "--",
        "/no/such/program",
    ]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("/no/such/program"));
}

/// A misspelled flag before `--` is a usage error, not a program named `--arg`; the
/// command's own flags still pass through after its name.
#[test]
fn a_misspelled_flag_is_not_taken_for_the_command() {
    let dir = scratch("misspelled");
    let profile = dir.join("p.json");
    let o = sysgate(&[
        "learn",
        "--arg",
        "-o",
        profile.to_str().unwrap(),
        "--",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--arg"), "{}", text(&o.stderr));
    assert!(!profile.exists());
    let o = sysgate(&[
        "learn",
        "-q",
        "-o",
        profile.to_str().unwrap(),
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
}

/// A script without a #! line, a file without exec permission, a name in PATH only: each
/// refusal names the program and what to do.
#[test]
fn a_program_that_cannot_be_executed_says_what_to_do() {
    let dir = scratch("cannot-exec");
    let profile = dir.join("p.json");
    let script = dir.join("no-shebang.sh");
    std::fs::write(&script, "echo hi\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let plain = dir.join("plain.sh");
    std::fs::write(&plain, "#!/bin/sh\ntrue\n").unwrap();
    let learn_err = |program: &str, code: i32| {
        let o = sysgate(&[
            "learn",
            "-q",
            "-o",
            profile.to_str().unwrap(),
            "--",
            program,
        ]);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{program}: {}",
            text(&o.stderr)
        );
        text(&o.stderr)
    };
    let err = learn_err(script.to_str().unwrap(), 126);
    assert!(err.contains("#!") && err.contains("sh "), "{err}");
    let err = learn_err(plain.to_str().unwrap(), 126);
    assert!(err.contains("chmod +x"), "{err}");
    let err = learn_err("no-such-program-h4", 127);
    assert!(err.contains("PATH"), "{err}");
}

#[test]
fn a_signal_sent_to_sysgate_reaches_the_program() {
    for tracer in TRACERS {
        signal_reaches(tracer);
    }
}

fn signal_reaches(tracer: &str) {
    let dir = scratch(&format!("signal-{tracer}"));
    let profile = dir.join("p.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(["learn", "-q", "--tracer", tracer, "-o"])
        .arg(&profile)
        .args(["--", "sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + SIGTERM));
    assert!(profile.exists(), "the profile is still written");
}

#[test]
fn merge_unites_learned_profiles() {
    let dir = scratch("merge");
    let a = dir.join("a.json");
    let b = dir.join("b.json");
    let c = dir.join("c.json");
    learn(&a, &["-q"], &[helper(), "plain"]);
    learn(&b, &["-q"], &[helper(), "plain-extra"]);
    let o = sysgate(&[
        "learn",
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        c.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (na, nb, nc) = (allowed_names(&a), allowed_names(&b), allowed_names(&c));
    let mut union: Vec<String> = na.iter().chain(&nb).cloned().collect();
    union.sort();
    union.dedup();
    assert_eq!(nc, union);

    // --merge while learning gives the same union.
    let d = dir.join("d.json");
    learn(
        &d,
        &["-q", "--merge", a.to_str().unwrap()],
        &[helper(), "plain-extra"],
    );
    assert_eq!(allowed_names(&d), union);
}

#[test]
fn every_format_is_written_through_the_profile_writers() {
    let dir = scratch("formats");
    for (format, needle) in [
        ("docker", "\"defaultAction\""),
        ("oci", "\"defaultAction\""),
        ("systemd", "SystemCallFilter="),
        ("lxc", "allowlist"),
        ("k8s", "kind: SeccompProfile"),
    ] {
        let out = dir.join(format!("learned-{format}"));
        let o = sysgate(&[
            "learn",
            "-q",
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
            "--",
            "/bin/true",
        ]);
        assert!(o.status.success(), "{format}: {}", text(&o.stderr));
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(written.contains(needle), "{format}: {written}");
    }
    // The unit read back allows what `true` needed (execve comes through systemd's implicit
    // @default) and nothing it did not use (mount).
    let unit = dir.join("learned-systemd");
    let check = |name: &str| {
        let o = sysgate(&["check", unit.to_str().unwrap(), "--arch", "x86_64", name]);
        assert!(o.status.success(), "{name}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    assert!(check("execve").contains("action: ALLOW"));
    assert!(check("read").contains("action: ALLOW"));
    assert!(!check("mount").contains("action: ALLOW"));
}

#[test]
fn audit_names_the_syscalls_of_recorded_lines() {
    // Real dmesg records (x86_64 uname; i386 getpid through int 0x80) and an audit.log one.
    let dir = scratch("audit");
    let log = dir.join("log");
    std::fs::write(
        &log,
        "[ 2729.818347] audit: type=1326 audit(1795841535.154:62): auid=4294967295 uid=0 gid=0 \
         ses=4294967295 pid=14603 comm=\"k\" exe=\"/tmp/exp/k\" sig=31 arch=c000003e \
         syscall=63 compat=0 ip=0x7f02b4506b07 code=0x80000000\n\
         noise\n\
         [ 4446.060370] audit: type=1326 audit(1795843251.394:137): auid=4294967295 uid=0 \
         gid=0 ses=4294967295 pid=22296 comm=\"lh\" exe=\"/tmp/lh\" sig=31 arch=40000003 \
         syscall=20 compat=1 ip=0x558d68ce0e74 code=0x80000000\n\
         type=SECCOMP msg=audit(1700000000.123:42): auid=0 uid=0 gid=0 ses=1 pid=9 \
         comm=\"helper\" exe=\"/tmp/helper\" sig=31 arch=40000003 syscall=20 compat=1 \
         ip=0x1 code=0x80000000\n",
    )
    .unwrap();
    let out = dir.join("p.json");
    let o = sysgate(&["audit", log.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let listing = text(&o.stdout);
    assert!(listing.contains("/tmp/exp/k\n  uname"), "{listing}");
    assert!(listing.contains("/tmp/helper\n  getpid"), "{listing}");
    assert!(listing.contains("/tmp/lh\n  getpid"), "{listing}");
    assert!(listing.contains("x86 "), "{listing}");
    let names = allowed_names(&out);
    assert_eq!(names, ["execve", "getpid", "uname"]);
}

#[test]
fn complain_mode_reports_what_would_be_denied() {
    let dir = scratch("complain");
    let profile = dir.join("p.json");
    learn(&profile, &["-q"], &[helper(), "plain"]);
    let o = sysgate(&[
        "learn",
        "--complain-with",
        profile.to_str().unwrap(),
        "--",
        helper(),
        "plain-extra",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The call was recorded, not enforced.
    assert_eq!(text(&o.stdout), "plain\nsysinfo was allowed\n");
    let report = text(&o.stderr);
    assert!(report.contains("sysinfo on x86_64"), "{report}");
    assert!(report.contains("--allow sysinfo"), "{report}");
    assert!(
        !report.contains("write on"),
        "only sysinfo is missing: {report}"
    );
}

#[test]
fn complain_mode_denials_are_the_same_on_both_backends() {
    use sysgate::learn::{trace, Backend, TraceOptions};
    let dir = scratch("complain-lib");
    let profile = dir.join("p.json");
    learn(&profile, &["-q"], &[helper(), "plain"]);
    let policy = profile::load(&profile, &Target::docker_default(Arch::native()))
        .unwrap()
        .policy;
    let cmd: Vec<std::ffi::OsString> = [helper(), "plain-extra"].iter().map(Into::into).collect();
    for backend in [Backend::Ptrace, Backend::Notify] {
        let options = TraceOptions::new()
            .complain(policy.clone())
            .backend(backend);
        let t = trace(&cmd, &options).unwrap();
        assert_eq!(t.backend, backend);
        assert_eq!(t.exit.code(), 0);
        let denied: Vec<(Option<&str>, u64)> =
            t.denials.iter().map(|d| (d.name, d.count)).collect();
        assert_eq!(denied, [(Some("sysinfo"), 1)], "{backend:?}");
        assert!(t.denials[0]
            .exe
            .ends_with(&format!("learn_helper-{}", std::process::id())));
    }
}

#[test]
fn runtime_adds_the_calls_a_container_runtime_makes_before_the_program() {
    let dir = scratch("runtime");
    let (plain, runc) = (dir.join("plain.json"), dir.join("runc.json"));
    learn(&plain, &["-q"], &["/bin/true"]);
    learn(&runc, &["-q", "--runtime", "runc"], &["/bin/true"]);
    let (plain, runc) = (allowed_names(&plain), allowed_names(&runc));
    // runc's Go init waits on futexes and syncs over a pipe (recvfrom) before exec.
    for name in ["futex", "recvfrom", "sched_yield"] {
        assert!(!plain.contains(&name.to_string()), "{name} in {plain:?}");
        assert!(runc.contains(&name.to_string()), "{name} not in {runc:?}");
    }
    // learn merge takes it too.
    let merged = dir.join("merged.json");
    let o = sysgate(&[
        "learn",
        "merge",
        dir.join("plain.json").to_str().unwrap(),
        "--runtime",
        "crun",
        "-o",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(allowed_names(&merged).contains(&"pivot_root".to_string()));
}

#[test]
fn audit_names_the_file_and_line_of_an_unreadable_record() {
    let dir = scratch("audit-unreadable");
    let log = dir.join("log");
    std::fs::write(
        &log,
        "noise\n\
         type=SECCOMP msg=audit(1.2:3): pid=1 comm=\"cut off arch=c000003e syscall=1\n\
         type=SECCOMP msg=audit(1.2:4): pid=1 arch=c000003e syscall=63 code=0x80000000\n",
    )
    .unwrap();
    let o = sysgate(&["audit", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{}:2: ", log.display())),
        "names file:line: {err}"
    );
    assert!(err.contains("unterminated quoted value for comm"), "{err}");
    let o = support::sysgate_command()
        .arg("audit")
        .stdin(std::fs::File::open(&log).unwrap())
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(err.contains("standard input:2: "), "{err}");
}

#[test]
fn notify_learning_warns_when_the_program_is_refused_its_own_listener() {
    // The kernel allows one notification listener per filter tree: under --tracer notify
    // the program's own NEW_LISTENER filter fails with EBUSY, so it ran differently than it
    // will under its profile. sysgate must say so, and what to do.
    let dir = scratch("own-listener");
    let out = dir.join("p.json");
    let o = sysgate(&[
        "learn",
        "--tracer",
        "notify",
        "-o",
        out.to_str().unwrap(),
        "--",
        helper(),
        "listener",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), format!("listener errno {}\n", libc::EBUSY));
    let err = text(&o.stderr);
    assert!(
        err.contains("EBUSY") && err.contains("--tracer ptrace"),
        "{err}"
    );
    // Under ptrace the program gets its listener, and no warning is given.
    let o = sysgate(&[
        "learn",
        "--tracer",
        "ptrace",
        "-o",
        out.to_str().unwrap(),
        "--",
        helper(),
        "listener",
    ]);
    assert_eq!(text(&o.stdout), "listener ok\n", "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("EBUSY"), "{}", text(&o.stderr));
}

#[test]
fn ptrace_learning_warns_when_the_program_is_refused_ptrace_traceme() {
    // A task has one tracer: under --tracer ptrace, PTRACE_TRACEME fails with EPERM, so the
    // program ran differently than it will under its profile.
    let dir = scratch("traceme");
    let out = dir.join("p.json");
    let learn_with = |tracer: &str| {
        sysgate(&[
            "learn",
            "--tracer",
            tracer,
            "-o",
            out.to_str().unwrap(),
            "--",
            helper(),
            "traceme",
        ])
    };
    let o = learn_with("ptrace");
    assert_eq!(text(&o.stdout), format!("traceme errno {}\n", libc::EPERM));
    let err = text(&o.stderr);
    assert!(
        err.contains("PTRACE_TRACEME") && err.contains("--tracer notify"),
        "{err}"
    );
    let o = learn_with("notify");
    assert_eq!(text(&o.stdout), "traceme ok\n", "{}", text(&o.stderr));
    assert!(
        !text(&o.stderr).contains("PTRACE_TRACEME"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn audit_listing_escapes_control_characters_of_a_hostile_exe() {
    // The kernel hex-encodes an exe or comm with control characters; decoded and printed
    // raw, a newline forged listing lines and an escape sequence reached the terminal.
    let dir = scratch("audit-controls");
    let exe: String = b"/tmp/a\x1b[2J\n  ptrace"
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let log = write(
        &dir,
        "log",
        format!(
            "type=SECCOMP msg=audit(1.2:3): pid=1 exe={exe} arch=c000003e syscall=63 \
             code=0x80000000\n"
        ),
    );
    let o = sysgate(&["audit", &log]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let listing = text(&o.stdout);
    assert!(!listing.contains('\x1b'), "{listing:?}");
    assert_eq!(listing.lines().count(), 2, "{listing:?}");
    assert!(
        listing.starts_with("/tmp/a\\u{1b}[2J\\n  ptrace\n  uname"),
        "{listing:?}"
    );
}
