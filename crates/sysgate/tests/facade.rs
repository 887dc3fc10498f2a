//! The facade ([`sysgate::Filter`], [`sysgate::compile::Compiled`]'s install methods) on the
//! running kernel: filters go into children or into a re-executed copy of this binary, never
//! into the test runner.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use sysgate::compile::compile;
use sysgate::kernel::{CommandExt, FilterError, SpawnError};
use sysgate::policy::{ArgCond, CmpOp, Policy, PolicyError};
use sysgate::{Action, Filter};

mod support;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_call_outside_the_list_kills_the_spawned_child() {
    // The canonical filter: read, write to stdout, exit_group, and execve to start it.
    let mut spawned = Filter::new(Action::KillProcess)
        .allow("read")
        .allow_if("write", [ArgCond::new(0, CmpOp::Eq, 1).unwrap()])
        .allow("exit_group")
        .allow("execve")
        .spawn("/bin/sh", ["-c", "true"])
        .expect("spawn under the filter");
    assert!(spawned.status.is_exact(), "{}", spawned.status);
    let status = spawned.child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGSYS), "{status:?}");
}

#[test]
fn a_spawned_child_runs_what_the_filter_allows() {
    let mut spawned = Filter::new(Action::Allow)
        .rule(Action::Errno(libc::ENOSYS as u16), "uname")
        .spawn("/bin/sh", ["-c", "exit 7"])
        .unwrap();
    assert_eq!(spawned.child.wait().unwrap().code(), Some(7));
    let mut spawned = Filter::new(Action::Allow)
        .rule(Action::Errno(libc::ENOSYS as u16), "uname")
        .spawn("uname", [""; 0])
        .unwrap();
    assert_eq!(spawned.child.wait().unwrap().code(), Some(1));
}

#[test]
fn an_invalid_rule_is_reported_when_the_chain_ends() {
    let err = Filter::new(Action::Allow)
        .allow("read")
        .allow("no_such_syscall")
        .allow("write")
        .fit()
        .unwrap_err();
    assert!(
        matches!(err, FilterError::Policy(PolicyError::UnknownSyscall { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("no_such_syscall"), "{err}");
}

/// `Compiled` keeps the policy's attributes: installing it without naming options applies
/// them. A policy without no_new_privs leaves it unset in the child (we are root); with the
/// defaults of `InstallOptions::new()` it would be set.
#[test]
fn compiled_installs_with_the_policys_attributes() {
    let mut policy = Policy::new(Action::Allow);
    policy.attrs.no_new_privs = false;
    policy.attrs.flags.log = true;
    let compiled = compile(&policy).unwrap();
    let prepared = compiled.prepare().unwrap();
    assert!(!prepared.options().sets_no_new_privs());
    assert!(prepared.options().flags().log);

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped the live half: without root the kernel needs no_new_privs");
        return;
    }
    let out = Command::new("/bin/sh")
        .args(["-c", "grep NoNewPrivs /proc/self/status"])
        .seccomp_filters(prepared)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).split_whitespace().last(), Some("0"));

    policy.attrs.no_new_privs = true;
    let out = Command::new("/bin/sh")
        .args(["-c", "grep NoNewPrivs /proc/self/status"])
        .seccomp_filters(compile(&policy).unwrap().prepare().unwrap())
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).split_whitespace().last(), Some("1"));
}

/// `Filter::tsync(true).install()` filters the other threads of the process too.
#[test]
fn install_with_tsync_filters_every_thread() {
    support::reexec::run_helper("facade_tsync");
}

/// Runs a scenario when this binary was re-executed by a test above; a no-op otherwise.
#[test]
fn helper_entry() {
    support::reexec::serve(|scenario| match scenario {
        "facade_tsync" => scenario_tsync(),
        "facade_tsync_listener" => scenario_tsync_listener(),
        other => Err(format!("unknown scenario {other}")),
    });
}

/// TSYNC and a listener together: the kernel takes them only with TSYNC_ESRCH, which the
/// chain adds (it has no method for it; before, `install` failed).
#[test]
fn a_notify_rule_asks_for_the_listener_and_spawning_it_is_refused_by_name() {
    // Without the listener the kernel fails NOTIFY's calls with ENOSYS, and the status said
    // the filter was enforced exactly as written.
    let fitted = Filter::new(Action::Allow)
        .rule(Action::UserNotif, "uname")
        .fit()
        .unwrap();
    assert!(fitted.compiled.install_options().flags().new_listener);
    let fitted = Filter::new(Action::UserNotif).allow("read").fit().unwrap();
    assert!(fitted.compiled.install_options().flags().new_listener);
    let fitted = Filter::new(Action::Allow).allow("read").fit().unwrap();
    assert!(!fitted.compiled.install_options().flags().new_listener);
    let err = Filter::new(Action::Allow)
        .rule(Action::UserNotif, "uname")
        .spawn("true", None::<&str>)
        .unwrap_err();
    assert!(err.to_string().contains("listener"), "{err}");
}

#[test]
fn install_with_tsync_and_a_listener_returns_the_listener() {
    let fitted = Filter::new(Action::Allow)
        .rule(Action::UserNotif, "uname")
        .tsync(true)
        .new_listener(true)
        .fit()
        .unwrap();
    assert!(fitted.compiled.install_options().flags().tsync_esrch);
    support::reexec::run_helper("facade_tsync_listener");
}

fn scenario_tsync_listener() -> Result<(), String> {
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        uname_errno()
    });
    let enforced = Filter::new(Action::Allow)
        .rule(Action::UserNotif, "uname")
        .tsync(true)
        .new_listener(true)
        .install()
        .map_err(|e| e.to_string())?;
    let listener = enforced
        .installed
        .into_listener()
        .ok_or("no listener was returned")?;
    go_tx.send(()).unwrap();
    let notification = listener.recv().map_err(|e| e.to_string())?;
    listener
        .respond(
            notification.id,
            sysgate::kernel::Response::Error(libc::EXDEV),
        )
        .map_err(|e| e.to_string())?;
    match other.join().unwrap() {
        libc::EXDEV => Ok(()),
        e => Err(format!(
            "the other thread's uname gave errno {e}, not EXDEV"
        )),
    }
}

fn uname_errno() -> i32 {
    // SAFETY: `utsname` is plain bytes; the kernel fills a live, correctly sized one.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut uts) } == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
    }
}

fn scenario_tsync() -> Result<(), String> {
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        uname_errno()
    });
    let enforced = Filter::new(Action::Allow)
        .rule(Action::Errno(libc::ENOSYS as u16), "uname")
        .tsync(true)
        .install()
        .map_err(|e| e.to_string())?;
    if enforced.installed.filters != 1 {
        return Err(format!("{} filters installed", enforced.installed.filters));
    }
    go_tx.send(()).unwrap();
    match other.join().unwrap() {
        libc::ENOSYS => Ok(()),
        e => Err(format!(
            "the other thread's uname gave errno {e}, not ENOSYS"
        )),
    }
}

// ---- What a chain refuses instead of enforcing another filter than written ----------------

#[test]
fn a_masked_compare_with_a_zero_mask_is_refused() {
    // "open read-only" written with O_RDONLY (0) as the mask would allow open with any flags.
    let read_only = ArgCond::new(1, CmpOp::MaskedEq(libc::O_RDONLY as u64), 0).unwrap();
    let err = Filter::new(Action::Errno(1))
        .allow_if("open", [read_only])
        .fit()
        .unwrap_err();
    assert!(matches!(err, FilterError::MaskedCond { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("open") && msg.contains("always holds"),
        "{msg}"
    );
}

#[test]
fn a_masked_compare_expecting_bits_outside_its_mask_is_refused() {
    // A kill rule that can never match would leave the call allowed.
    let never = ArgCond::new(0, CmpOp::MaskedEq(0xff), 0x100).unwrap();
    let err = Filter::new(Action::Allow)
        .rule_if(Action::KillProcess, "getpid", [never])
        .fit()
        .unwrap_err();
    assert!(matches!(err, FilterError::MaskedCond { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("getpid") && msg.contains("0x100"), "{msg}");
    // A mask that covers what it expects is fine.
    let fine = ArgCond::new(0, CmpOp::MaskedEq(0xff), 0x10).unwrap();
    assert!(Filter::new(Action::Allow)
        .rule_if(Action::KillProcess, "getpid", [fine])
        .fit()
        .is_ok());
}

#[test]
fn an_invalid_default_action_is_not_blamed_on_the_kernel() {
    let err = Filter::new(Action::Errno(5000)).fit().unwrap_err();
    assert!(
        matches!(
            err,
            FilterError::Policy(PolicyError::ErrnoRange { errno: 5000, .. })
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("kernel"), "{err}");
}

#[test]
fn a_filter_without_the_native_arch_is_refused_before_it_starts_anything() {
    let native = sysgate::Arch::native();
    let other = if native == sysgate::Arch::Aarch64 {
        sysgate::Arch::X86_64
    } else {
        sysgate::Arch::Aarch64
    };
    let foreign = || {
        let mut policy = Policy::new(Action::Allow);
        policy.set_arches([other]).unwrap();
        Filter::from_policy(policy)
    };
    // Installed, it would kill the child at its execve: refused, naming both arches.
    match foreign().spawn("/bin/true", [""; 0]) {
        Err(err @ FilterError::ForeignArch { .. }) => {
            let msg = err.to_string();
            assert!(
                msg.contains(other.name()) && msg.contains(native.name()),
                "{msg}"
            );
        }
        Err(other) => panic!("{other:?}"),
        Ok(mut spawned) => panic!(
            "started under a filter for {other} only: {:?}",
            spawned.child.wait()
        ),
    }
    assert!(matches!(
        foreign().prepare(),
        Err(FilterError::ForeignArch { .. })
    ));
    // Compiling it for the machine it is meant for stays possible, but not starting a
    // program here with what was compiled.
    let fitted = foreign().fit().unwrap();
    match fitted.compiled.command("/bin/true") {
        Err(err @ sysgate::kernel::InstallError::ForeignArch { .. }) => {
            assert!(err.to_string().contains(native.name()), "{err}");
        }
        Err(other) => panic!("{other:?}"),
        Ok(command) => panic!(
            "a command under a filter for {other} only: {:?}",
            command.spawn().map(|mut c| c.wait())
        ),
    }
}

#[test]
fn a_program_that_cannot_be_executed_is_named_with_what_to_do() {
    let spawn = |program: &str| match Filter::new(Action::Allow).spawn(program, [""; 0]) {
        Err(err @ FilterError::Spawn(SpawnError::Exec { .. })) => err.to_string(),
        other => panic!("{program}: {other:?}"),
    };
    let msg = spawn("/no/such/program");
    assert!(msg.contains("/no/such/program"), "{msg}");
    let msg = spawn("/");
    assert!(msg.contains("directory"), "{msg}");
    let msg = spawn("no-such-program-in-path");
    assert!(
        msg.contains("no-such-program-in-path") && msg.contains("PATH"),
        "{msg}"
    );
}

#[test]
fn a_spawned_child_can_be_polled_and_killed_like_a_std_child() {
    let mut spawned = Filter::new(Action::Allow)
        .spawn("sleep", ["600"])
        .expect("spawn sleep");
    assert_eq!(spawned.child.try_wait().unwrap(), None);
    spawned.child.kill().unwrap();
    let status = spawned.child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(spawned.child.try_wait().unwrap(), Some(status));
    // Once reaped, the id may be another process's: nothing is sent.
    spawned.child.kill().unwrap();
}

/// A number is another call on each architecture: a chain that names a syscall by number
/// and has several architectures is refused (a kill rule on 101, ptrace on x86_64, killed
/// ioperm on i386 and left i386's ptrace allowed).
#[test]
fn a_syscall_by_number_on_several_architectures_is_refused() {
    let err = Filter::new(Action::Allow)
        .rule(Action::KillProcess, 101u32)
        .arch(sysgate::Arch::X86)
        .arch(sysgate::Arch::X86_64)
        .fit()
        .unwrap_err();
    assert!(
        matches!(err, FilterError::NumberOnSeveralArches { number: 101, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("x86_64: ptrace") && msg.contains("x86: ioperm"),
        "{msg}"
    );
    // One architecture: the number is the caller's to choose.
    assert!(Filter::new(Action::Allow)
        .rule(Action::KillProcess, 101u32)
        .fit()
        .is_ok());
}
