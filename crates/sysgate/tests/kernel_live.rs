//! Live tests of `sysgate::kernel` against the running kernel.
//!
//! No filter is ever installed in this test process. Each test that needs one runs a
//! child: a `Command` with `CommandExt`, or this very test binary re-executed as a helper
//! (`support::reexec`), in which the `helper_entry` test runs the scenario and exits with
//! its verdict. A helper is a fresh process, so it may spawn threads and
//! install filters freely (which a forked child of a multithreaded test runner could not).

use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use sysgate::bpf::{data, op, Insn};
use sysgate::kernel::{
    install_insns, ActionKind, AuditReader, AuditSource, ChildInstall, CommandExt, Features,
    FilterFlag, FilteredCommand, InstallError, InstallOptions, Listener, PreparedFilters,
    Readiness, Response, SpawnError, TargetFd,
};
use sysgate::policy::Action;
use sysgate::Arch;

mod support;
use support::reexec::{helper, run_helper};

/// A filter: wrong arch -> KILL_PROCESS; each listed syscall -> its action; else `default`.
///
/// ```text
///   ld [arch]; jeq #NATIVE, +1, +0; ret KILL_PROCESS
///   ld [nr]
///   jeq #nr0, +0, +1; ret action0      (one pair per listed syscall)
///   ...
///   ret default
/// ```
fn filter(rules: &[(i64, Action)], default: Action) -> Vec<Insn> {
    let mut p = vec![
        Insn::load(data::ARCH),
        Insn::jump(op::JEQ, Arch::native().audit_arch(), 1, 0),
        Insn::ret(Action::KillProcess.to_ret()),
        Insn::load(data::NR),
    ];
    for (nr, action) in rules {
        p.push(Insn::jump(op::JEQ, *nr as u32, 0, 1));
        p.push(Insn::ret(action.to_ret()));
    }
    p.push(Insn::ret(default.to_ret()));
    p
}

fn prepared(programs: &[Vec<Insn>], options: InstallOptions) -> PreparedFilters {
    PreparedFilters::new(programs, &options).expect("valid filters")
}

fn one(rules: &[(i64, Action)]) -> PreparedFilters {
    prepared(&[filter(rules, Action::Allow)], InstallOptions::new())
}

/// Run `sh -c script` under `filters`, in the C locale.
fn sh(script: &str, filters: PreparedFilters) -> Output {
    Command::new("/bin/sh")
        .args(["-c", script])
        .env("LC_ALL", "C")
        .seccomp_filters(filters)
        .output()
        .expect("spawn /bin/sh")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---- Command extension -------------------------------------------------------------

#[test]
fn allow_path_exits_zero() {
    let out = sh(
        "echo ok",
        prepared(&[filter(&[], Action::Allow)], InstallOptions::new()),
    );
    assert!(
        out.status.success(),
        "{:?} {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "ok\n");
}

#[test]
fn errno_enosys_on_uname_makes_uname_fail() {
    let out = sh("uname", one(&[(libc::SYS_uname, Action::Errno(38))]));
    assert_eq!(out.status.code(), Some(1), "{:?}", out.status);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Function not implemented"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn kill_process_on_uname_is_sigsys() {
    // The process that calls uname is the one killed: `exec` makes it the child itself.
    let out = sh(
        "echo hello; exec uname",
        one(&[(libc::SYS_uname, Action::KillProcess)]),
    );
    assert_eq!(text(&out.stdout), "hello\n");
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{:?}", out.status);
}

#[test]
fn kill_process_is_status_159_in_shell_terms() {
    // The shell forks uname; uname dies of SIGSYS (31) and the shell sees 128 + 31.
    let out = sh(
        "uname; echo status=$?",
        one(&[(libc::SYS_uname, Action::KillProcess)]),
    );
    assert_eq!(text(&out.stdout), "status=159\n");
    assert!(out.status.success());
}

#[test]
fn stacked_filters_are_all_installed_and_the_strictest_wins() {
    let allow_all = filter(&[], Action::Allow);
    let errno_uname = filter(&[(libc::SYS_uname, Action::Errno(1))], Action::Allow);
    let kill_uname = filter(&[(libc::SYS_uname, Action::KillProcess)], Action::Allow);
    let out = sh(
        "grep Seccomp_filters /proc/self/status; uname; echo status=$?",
        prepared(
            &[allow_all, errno_uname, kill_uname],
            InstallOptions::new().log(true),
        ),
    );
    let stdout = text(&out.stdout);
    // grep itself runs under the three filters; KILL_PROCESS beats ERRNO(1) for uname.
    assert!(stdout.contains("Seccomp_filters:\t3"), "{stdout}");
    assert!(stdout.contains("status=159"), "{stdout}");
}

#[test]
fn an_invalid_program_fails_spawn_and_nothing_runs() {
    let marker = std::env::temp_dir().join(format!("sysgate-never-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    // jeq's true branch jumps 5 past the end of the program.
    let invalid = vec![
        Insn::load(data::NR),
        Insn::jump(op::JEQ, 0, 5, 0),
        Insn::ret(Action::Allow.to_ret()),
    ];
    let err = Command::new("/bin/sh")
        .args(["-c", &format!("touch {}", marker.display())])
        .seccomp_filters(prepared(&[invalid], InstallOptions::new()))
        .spawn()
        .expect_err("the kernel must reject the program");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(!marker.exists(), "the command ran unfiltered");
}

#[test]
fn the_install_report_tells_a_refused_filter_from_a_failed_exec() {
    let invalid = vec![
        Insn::load(data::NR),
        Insn::jump(op::JEQ, 0, 5, 0),
        Insn::ret(Action::Allow.to_ret()),
    ];
    let mut command = Command::new("/bin/true");
    let report = command
        .seccomp_filters_reporting(prepared(&[invalid], InstallOptions::new()))
        .unwrap();
    assert!(matches!(report.outcome(), ChildInstall::NotReached));
    let err = command
        .spawn()
        .expect_err("the kernel must reject the program");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    match report.outcome() {
        ChildInstall::Failed(InstallError::InvalidProgram { index: 0 }) => {}
        other => panic!("expected InvalidProgram, got {other:?}"),
    }

    // A filter that denies all but what a failed exec needs (std reports the errno with
    // write, then exits): the report itself needs no system call.
    let deny_all_but_exec = filter(
        &[
            (libc::SYS_execve, Action::Allow),
            (libc::SYS_write, Action::Allow),
            (libc::SYS_exit_group, Action::Allow),
        ],
        Action::Errno(libc::EPERM as u16),
    );
    let mut command = Command::new("/no/such/program");
    let report = command
        .seccomp_filters_reporting(prepared(&[deny_all_but_exec], InstallOptions::new()))
        .unwrap();
    let err = command.spawn().expect_err("there is no such program");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    assert!(matches!(report.outcome(), ChildInstall::Installed));

    let mut command = Command::new("/bin/true");
    let report = command.seccomp_filters_reporting(one(&[])).unwrap();
    assert!(command.status().unwrap().success());
    assert!(matches!(report.outcome(), ChildInstall::Installed));
}

#[test]
fn a_listener_without_a_handoff_fails_spawn() {
    let notify = prepared(
        &[filter(
            &[(libc::SYS_uname, Action::UserNotif)],
            Action::Allow,
        )],
        InstallOptions::new().new_listener(true),
    );
    let err = Command::new("/bin/true")
        .seccomp_filters(notify)
        .spawn()
        .expect_err("nobody would hold the listener");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
}

// ---- FilteredCommand (posix_spawn-style) ------------------------------------------------

/// A fresh path in the temporary directory for a child to write to.
fn temp_path(tag: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("sysgate-kernel-live-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn filtered_command_runs_the_program_under_the_filter() {
    // Looked up in PATH; uname fails with ENOSYS, the shell reports it in its status.
    let enosys = one(&[(libc::SYS_uname, Action::Errno(libc::ENOSYS as u16))]);
    let mut child = FilteredCommand::new("sh", enosys)
        .args(["-c", "uname >/dev/null 2>&1"])
        .spawn()
        .expect("spawn sh");
    assert_eq!(child.wait().unwrap().code(), Some(1));
    // wait again: the same status, not an error.
    assert_eq!(child.wait().unwrap().code(), Some(1));

    let mut child = FilteredCommand::new("sh", one(&[]))
        .args(["-c", "uname >/dev/null 2>&1"])
        .spawn()
        .expect("spawn sh");
    assert!(child.wait().unwrap().success());

    let kill = one(&[(libc::SYS_uname, Action::KillProcess)]);
    let mut child = FilteredCommand::new("/bin/uname", kill)
        .spawn()
        .expect("spawn uname");
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGSYS));
}

#[test]
fn filtered_command_starts_nothing_when_the_filter_is_refused() {
    let marker = temp_path("refused");
    // ld [nr]; jeq #0, +5 (past the end): the kernel's checker refuses it.
    let invalid = vec![
        Insn::load(data::NR),
        Insn::jump(op::JEQ, 0, 5, 0),
        Insn::ret(Action::Allow.to_ret()),
    ];
    let err = FilteredCommand::new("/bin/sh", prepared(&[invalid], InstallOptions::new()))
        .args(["-c", &format!("touch {}", marker.display())])
        .spawn()
        .expect_err("the kernel must refuse the program");
    match err {
        SpawnError::Install(InstallError::InvalidProgram { index: 0 }) => {}
        other => panic!("expected InvalidProgram, got {other:?}"),
    }
    assert!(
        !marker.exists(),
        "the program ran although its filter was refused"
    );

    // A missing program: the filters were installed, exec failed.
    match FilteredCommand::new("/no/such/program", one(&[])).spawn() {
        Err(SpawnError::Exec { source: e, .. }) => {
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound)
        }
        other => panic!("expected a failed exec, got {other:?}"),
    }
    match FilteredCommand::new("no-such-program-in-path", one(&[])).spawn() {
        Err(SpawnError::Exec { source: e, .. }) => {
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound)
        }
        other => panic!("expected a failed exec, got {other:?}"),
    }
}

#[test]
fn filtered_command_refuses_what_exec_or_the_listener_cannot_take() {
    match FilteredCommand::new("/bin/echo", one(&[]))
        .arg("a\0b")
        .spawn()
    {
        Err(SpawnError::InvalidInput(msg)) => assert!(msg.contains("NUL"), "{msg}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    let notify = prepared(
        &[filter(
            &[(libc::SYS_uname, Action::UserNotif)],
            Action::Allow,
        )],
        InstallOptions::new().new_listener(true),
    );
    match FilteredCommand::new("/bin/true", notify).spawn() {
        Err(SpawnError::InvalidInput(msg)) => assert!(msg.contains("listener"), "{msg}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

/// `field` of /proc/self/status of a `cat` started by `command`, as a bit mask.
fn child_signal_field(command: &mut FilteredCommand, field: &str, tag: &str) -> u64 {
    let out = temp_path(tag);
    let mut child = command
        .args([
            "-c",
            &format!("exec cat /proc/self/status > {}", out.display()),
        ])
        .spawn()
        .expect("spawn sh");
    assert!(child.wait().unwrap().success());
    let status = std::fs::read_to_string(&out).expect("the child wrote its status");
    let _ = std::fs::remove_file(&out);
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in\n{status}"));
    u64::from_str_radix(line.trim(), 16).expect("hex mask")
}

#[test]
fn filtered_command_sets_the_mask_and_default_dispositions() {
    let bit = |sig: i32| 1u64 << (sig - 1);
    // This test process ignores SIGPIPE (the Rust runtime does); the program gets it at its
    // default, as std::process::Command gives it.
    let ignored = child_signal_field(
        &mut FilteredCommand::new("/bin/sh", one(&[])),
        "SigIgn",
        "ign",
    );
    assert_eq!(ignored & bit(libc::SIGPIPE), 0, "SigIgn {ignored:#x}");

    // By default the mask of the spawning thread (nothing blocked here), else the one given.
    let blocked = child_signal_field(
        &mut FilteredCommand::new("/bin/sh", one(&[])),
        "SigBlk",
        "blk0",
    );
    assert_eq!(blocked, 0, "SigBlk {blocked:#x}");
    // SAFETY: a zeroed sigset initialised by sigemptyset, with valid signal numbers.
    let mask = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        set
    };
    let blocked = child_signal_field(
        FilteredCommand::new("/bin/sh", one(&[])).signal_mask(mask),
        "SigBlk",
        "blk1",
    );
    assert_eq!(blocked, bit(libc::SIGUSR1), "SigBlk {blocked:#x}");
}

// ---- Audit records ---------------------------------------------------------------------

#[test]
fn a_seccomp_kill_is_reported_by_an_audit_record() {
    let mut reader = match AuditReader::open() {
        Ok(r) => r,
        Err(e) => {
            // Root (CAP_AUDIT_READ) can always read them; CI runs as root.
            assert!(std::env::var_os("CI").is_none(), "{e}");
            eprintln!("SKIPPED: {e}");
            return;
        }
    };
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exec uname"])
        .stdout(Stdio::null())
        .seccomp_filters(one(&[(libc::SYS_uname, Action::KillProcess)]))
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGSYS));
    let records = reader
        .read_until(Duration::from_secs(2), |r| r.pid == Some(pid))
        .unwrap();
    let Some(record) = records.iter().find(|r| r.pid == Some(pid)) else {
        // /dev/kmsg lines are rate-limited by the kernel; netlink records are not.
        assert_eq!(reader.source(), AuditSource::Kmsg, "{records:?}");
        eprintln!("SKIPPED: no record on /dev/kmsg (rate-limited?)");
        return;
    };
    assert_eq!(record.number(), Some(libc::SYS_uname as u32));
    assert_eq!(record.arch(), Some(Arch::native()));
    assert_eq!(record.action(), Some(Action::KillProcess));
    assert_eq!(record.sig, Some(libc::SIGSYS));
}

// ---- Probe ---------------------------------------------------------------------------

#[test]
fn probe_reports_this_kernels_features() {
    let f = Features::probe();
    eprintln!("{f}");
    assert!(f.seccomp_syscall && f.filter_mode, "{f}");
    for kind in [
        ActionKind::UserNotif,
        ActionKind::Log,
        ActionKind::KillProcess,
    ] {
        assert!(f.has_action(kind), "{kind} missing:\n{f}");
    }
    assert!(f.has_flag(FilterFlag::Tsync), "{f}");
    assert!(f.has_flag(FilterFlag::NewListener), "{f}");
    let sizes = f.notif_sizes.expect("notification sizes");
    assert!(
        sizes.notif >= 80 && sizes.resp >= 24 && sizes.data >= 64,
        "{sizes:?}"
    );
    // The kernel's two answers agree.
    if let Some(words) = &f.actions_avail {
        for kind in ActionKind::ALL {
            assert_eq!(
                words.iter().any(|w| w == kind.name()),
                f.has_action(kind),
                "{kind}: actions_avail says {words:?}"
            );
        }
    }
    assert!(f.notes.is_empty(), "{:?}", f.notes);
}

// ---- Helpers: installing in a fresh process ------------------------------------------

#[test]
fn tsync_filters_every_thread() {
    run_helper("tsync");
}

#[test]
fn tsync_names_the_thread_it_cannot_synchronise() {
    run_helper("tsync_conflict");
}

#[test]
fn trap_delivers_sigsys_with_the_syscall() {
    run_helper("trap");
}

#[test]
fn without_cap_sys_admin_or_no_new_privs_the_kernel_refuses() {
    run_helper("no_caps");
}

#[test]
fn without_seccomp_syscall_install_falls_back_to_prctl() {
    run_helper("no_seccomp_syscall");
}

// ---- User notification ---------------------------------------------------------------

/// The supervisor answers uname with an error, getpgid with a made-up value, lets getppid
/// continue, and answers memfd_create with a socket of its own; the child (a helper)
/// checks what it saw.
#[test]
fn new_listener_supervisor_answers_the_child() {
    const SUPERVISOR_ERRNO: i32 = libc::EHOSTDOWN;
    let notify = prepared(
        &[filter(
            &[
                (libc::SYS_uname, Action::UserNotif),
                (libc::SYS_getpgid, Action::UserNotif),
                (libc::SYS_getppid, Action::UserNotif),
                (libc::SYS_memfd_create, Action::UserNotif),
            ],
            Action::Allow,
        )],
        InstallOptions::new().new_listener(true),
    );
    let mut cmd = helper("notified");
    cmd.env("SUPERVISOR_ERRNO", SUPERVISOR_ERRNO.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let handoff = cmd.seccomp_filters_with_listener(notify).unwrap();
    let mut child = cmd.spawn().expect("spawn the notified helper");
    let listener: Listener = handoff.recv().expect("the child sent its listener");
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();

    let mut seen = Vec::new();
    loop {
        match listener.wait(Some(Duration::from_secs(20))).unwrap() {
            Readiness::Notification => {}
            Readiness::Hangup => break,
            Readiness::Timeout => {
                let _ = child.kill();
                panic!("no notification and no hangup in 20 s; saw {seen:?}");
            }
        }
        let n = listener.recv().expect("recv");
        // `pid` is the calling thread's id, a thread of the child.
        let task = format!("/proc/{}/task/{}", child.id(), n.pid);
        assert!(std::path::Path::new(&task).exists(), "{task}");
        assert_eq!(n.data.arch, Arch::native().audit_arch());
        assert!(listener.id_valid(n.id).unwrap());
        let name = n.syscall_name().expect("a known syscall");
        seen.push(name);
        match name {
            "uname" => listener
                .respond(n.id, Response::Error(SUPERVISOR_ERRNO))
                .unwrap(),
            "getpgid" => listener.respond(n.id, Response::Value(4242)).unwrap(),
            "getppid" => listener.respond(n.id, Response::Continue).unwrap(),
            "memfd_create" => {
                let fd = listener
                    .add_fd(n.id, theirs.as_fd(), TargetFd::any().cloexec(), true)
                    .unwrap();
                assert!(fd >= 0);
            }
            other => panic!("unexpected notification for {other}"),
        }
        // Answered: the id is no longer pending.
        assert!(!listener.id_valid(n.id).unwrap());
    }
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stderr}", out.status);
    assert_eq!(
        seen,
        ["uname", "getpgid", "getppid", "memfd_create"],
        "{stderr}"
    );
    drop(theirs);
    let mut got = String::new();
    ours.read_to_string(&mut got).unwrap();
    assert_eq!(got, "written through an injected fd");
}

// ---- The helper side -----------------------------------------------------------------

/// Runs a scenario when this binary was re-executed by [`helper`]; a no-op otherwise.
#[test]
fn helper_entry() {
    support::reexec::serve(|scenario| match scenario {
        "tsync" => scenario_tsync(),
        "tsync_conflict" => scenario_tsync_conflict(),
        "trap" => scenario_trap(),
        "no_caps" => scenario_no_caps(),
        "no_seccomp_syscall" => scenario_no_seccomp_syscall(),
        "notified" => scenario_notified(),
        other => Err(format!("unknown scenario {other}")),
    });
}

/// `uname(2)`'s result: Ok, or the errno.
fn raw_uname() -> Result<(), i32> {
    // SAFETY: `utsname` is plain bytes; the kernel fills a live, correctly sized one.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut uts) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Threads started before the install all see the filter.
fn scenario_tsync() -> Result<(), String> {
    let start = Arc::new(Barrier::new(4));
    let installed = Arc::new(Barrier::new(4));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (start, installed) = (start.clone(), installed.clone());
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    start.wait();
                    installed.wait();
                    raw_uname()
                })
                .unwrap()
        })
        .collect();
    start.wait();
    let deny = filter(&[(libc::SYS_uname, Action::Errno(38))], Action::Allow);
    let result = install_insns(&[deny], &InstallOptions::new().tsync(true));
    installed.wait();
    result.map_err(|e| e.to_string())?;
    for (i, w) in workers.into_iter().enumerate() {
        match w.join().unwrap() {
            Err(libc::ENOSYS) => {}
            other => return Err(format!("worker-{i}: uname gave {other:?}, not ENOSYS")),
        }
    }
    match raw_uname() {
        Err(libc::ENOSYS) => Ok(()),
        other => Err(format!("the installing thread: uname gave {other:?}")),
    }
}

/// A thread with its own filter cannot be synchronised: the error names it.
fn scenario_tsync_conflict() -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let diverger = std::thread::Builder::new()
        .name("diverger".into())
        .spawn(move || {
            let own = filter(&[], Action::Allow);
            let r = install_insns(&[own], &InstallOptions::new()).map(|_| gettid());
            tx.send(r.map_err(|e| e.to_string())).unwrap();
            let _ = done_rx.recv();
        })
        .unwrap();
    let tid = rx.recv().unwrap()?;
    let deny = filter(&[(libc::SYS_uname, Action::Errno(38))], Action::Allow);

    let err = install_insns(&[&deny[..]], &InstallOptions::new().tsync(true))
        .expect_err("TSYNC must fail");
    match &err {
        InstallError::ThreadNotSynchronised {
            index: 0,
            tid: Some(t),
            name: Some(n),
        } if *t == tid && n == "diverger" => {}
        other => return Err(format!("expected thread {tid} \"diverger\", got {other:?}")),
    }
    let msg = err.to_string();
    eprintln!("{msg}");
    if !msg.contains(&format!("thread {tid} (\"diverger\")")) {
        return Err(format!("message does not name the thread: {msg}"));
    }
    if err.installed() != 0 || raw_uname().is_err() {
        return Err("a failed TSYNC left a filter behind".into());
    }

    // With TSYNC_ESRCH the kernel says ESRCH and gives no id.
    let err = install_insns(
        &[&deny[..]],
        &InstallOptions::new().tsync(true).tsync_esrch(true),
    )
    .expect_err("TSYNC must fail");
    if !matches!(err, InstallError::ThreadNotSynchronised { tid: None, .. }) {
        return Err(format!("with TSYNC_ESRCH: {err:?}"));
    }
    done_tx.send(()).unwrap();
    diverger.join().unwrap();
    Ok(())
}

static SIGSYS_SYSCALL: AtomicI32 = AtomicI32::new(-1);
static SIGSYS_DATA: AtomicI32 = AtomicI32::new(-1);
static SIGSYS_CODE: AtomicI32 = AtomicI32::new(-1);
static SIGSYS_ARCH: AtomicU32 = AtomicU32::new(0);

/// The SIGSYS view of `siginfo_t` (`_sigsys` in the kernel's union).
#[repr(C)]
struct SigsysInfo {
    signo: i32,
    errno: i32,
    code: i32,
    #[cfg(target_pointer_width = "64")]
    _pad: i32,
    call_addr: *mut libc::c_void,
    syscall: i32,
    arch: u32,
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SIGSYS with SA_SIGINFO; SigsysInfo is
    // a prefix of its layout. Only atomic stores follow (async-signal-safe).
    let info = unsafe { &*(info as *const SigsysInfo) };
    SIGSYS_SYSCALL.store(info.syscall, Ordering::SeqCst);
    SIGSYS_DATA.store(info.errno, Ordering::SeqCst);
    SIGSYS_CODE.store(info.code, Ordering::SeqCst);
    SIGSYS_ARCH.store(info.arch, Ordering::SeqCst);
}

/// TRAP(7) on uname: SIGSYS arrives with si_syscall = uname, si_errno = 7,
/// si_code = SYS_SECCOMP.
fn scenario_trap() -> Result<(), String> {
    // SAFETY: a zeroed sigaction is valid; we set a handler with the SA_SIGINFO signature.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        if libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut()) != 0 {
            return Err("sigaction failed".into());
        }
    }
    let trap = filter(&[(libc::SYS_uname, Action::Trap(7))], Action::Allow);
    install_insns(&[trap], &InstallOptions::new()).map_err(|e| e.to_string())?;
    let _ = raw_uname();
    const SYS_SECCOMP: i32 = 1;
    let got = (
        SIGSYS_SYSCALL.load(Ordering::SeqCst),
        SIGSYS_DATA.load(Ordering::SeqCst),
        SIGSYS_CODE.load(Ordering::SeqCst),
        SIGSYS_ARCH.load(Ordering::SeqCst),
    );
    let want = (
        libc::SYS_uname as i32,
        7,
        SYS_SECCOMP,
        Arch::native().audit_arch(),
    );
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "SIGSYS (syscall, data, code, arch) = {got:?}, want {want:?}"
        ))
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Copy, Clone, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drop CAP_SYS_ADMIN from this thread's effective set: installing without no_new_privs
/// is then refused, with a message that says how to fix it.
fn scenario_no_caps() -> Result<(), String> {
    const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_SYS_ADMIN: u32 = 21;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if status.lines().any(|l| l == "NoNewPrivs:\t1") {
        return Err("skip: the test runs with no_new_privs already set".into());
    }
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut caps = [CapData::default(); 2];
    // SAFETY: capget/capset read and write one header and two data structs, live locals of
    // the kernel's v3 layout.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, caps.as_mut_ptr()) != 0 {
            return Err("capget failed".into());
        }
        caps[0].effective &= !(1 << CAP_SYS_ADMIN);
        if libc::syscall(libc::SYS_capset, &mut header, caps.as_ptr()) != 0 {
            return Err("capset failed".into());
        }
    }
    let allow = filter(&[], Action::Allow);
    match install_insns(&[&allow[..]], &InstallOptions::new().no_new_privs(false)) {
        Err(
            e @ InstallError::PermissionDenied {
                index: 0,
                no_new_privs_requested: false,
            },
        ) => {
            let msg = e.to_string();
            eprintln!("{msg}");
            if !msg.contains("CAP_SYS_ADMIN") || !msg.contains("no_new_privs") {
                return Err(format!("unhelpful message: {msg}"));
            }
        }
        other => return Err(format!("expected PermissionDenied, got {other:?}")),
    }
    // With no_new_privs it works.
    install_insns(&[&allow[..]], &InstallOptions::new())
        .map(|_| ())
        .map_err(|e| format!("with no_new_privs: {e}"))
}

/// A kernel older than 3.17, emulated: a first filter makes seccomp(2) fail with ENOSYS.
/// Installing without flags then goes through prctl; with flags it is refused; the probe
/// falls back to prctl and to the actions of Linux 3.5.
fn scenario_no_seccomp_syscall() -> Result<(), String> {
    let no_seccomp = filter(&[(libc::SYS_seccomp, Action::Errno(38))], Action::Allow);
    let first = install_insns(&[no_seccomp], &InstallOptions::new()).map_err(|e| e.to_string())?;
    if first.via_prctl {
        return Err("the first install should use seccomp(2)".into());
    }

    let f = Features::probe();
    if f.seccomp_syscall || !f.filter_mode || !f.flags.is_empty() || f.notif_sizes.is_some() {
        return Err(format!("probe under the emulated old kernel:\n{f}"));
    }
    let old_actions = [
        ActionKind::KillThread,
        ActionKind::Trap,
        ActionKind::Errno,
        ActionKind::Trace,
        ActionKind::Allow,
    ];
    if !f.actions.iter().copied().eq(old_actions) {
        return Err(format!("actions should be the 3.5 set:\n{f}"));
    }

    let deny = filter(&[(libc::SYS_uname, Action::Errno(38))], Action::Allow);
    match install_insns(&[&deny[..]], &InstallOptions::new().log(true)) {
        Err(InstallError::FlagsNeedSeccompSyscall { index: 0, flags }) if flags == "LOG" => {}
        other => return Err(format!("with flags: {other:?}")),
    }
    let second = install_insns(&[&deny[..]], &InstallOptions::new()).map_err(|e| e.to_string())?;
    if !second.via_prctl {
        return Err("the second install should have used prctl".into());
    }
    match raw_uname() {
        Err(libc::ENOSYS) => Ok(()),
        other => Err(format!(
            "uname under the prctl-installed filter gave {other:?}"
        )),
    }
}

/// Under the supervisor of `new_listener_supervisor_answers_the_child`.
fn scenario_notified() -> Result<(), String> {
    let want: i32 = std::env::var("SUPERVISOR_ERRNO")
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("SUPERVISOR_ERRNO not set")?;
    match raw_uname() {
        Err(e) if e == want => {}
        other => return Err(format!("uname gave {other:?}, want errno {want}")),
    }
    // SAFETY: an integer argument.
    let pgid = unsafe { libc::getpgid(0) };
    if pgid != 4242 {
        return Err(format!("getpgid gave {pgid}, the supervisor said 4242"));
    }
    // SAFETY: no arguments.
    let ppid = unsafe { libc::getppid() };
    let real = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.to_string();
            after.split_whitespace().nth(1)?.parse::<i32>().ok()
        })
        .ok_or("cannot read /proc/self/stat")?;
    if ppid != real {
        return Err(format!("getppid gave {ppid}, /proc says {real}"));
    }
    // The supervisor answers memfd_create with an fd of its own.
    // SAFETY: a NUL-terminated name and integer flags.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_create, c"x".as_ptr(), 0) };
    if fd < 0 {
        return Err(format!(
            "memfd_create failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    let msg = b"written through an injected fd";
    // SAFETY: `fd` is an open socket the supervisor injected; `msg` is live.
    let n = unsafe { libc::write(fd as i32, msg.as_ptr().cast(), msg.len()) };
    if n != msg.len() as isize {
        return Err(format!("write gave {n}"));
    }
    Ok(())
}
