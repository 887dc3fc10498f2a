//! Compiled filters against the real kernel. Each filter is installed in a forked child
//! (never in the test runner), which makes one syscall and reports what the kernel did:
//! ALLOW, ERRNO(n), TRAP (SIGSYS with si_syscall), KILL_PROCESS, LOG, and an x32 number.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::time::{Duration, Instant};

use sysgate::arch::{Arch, X32_SYSCALL_BIT};
use sysgate::bpf::Program;
use sysgate::compile::compile;
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The syscall returned this value.
    Returned(i64),
    /// The syscall failed with this errno.
    Errno(i32),
    /// SIGSYS was delivered to the handler with this si_syscall and si_arch.
    Trapped { syscall: i32, arch: u32 },
    /// The child was killed by this signal.
    Killed(i32),
}

static mut REPORT_FD: libc::c_int = -1;

/// SIGSYS handler in the child: report si_syscall / si_arch and leave. Async-signal-safe.
extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: `info` is the kernel's siginfo for SIGSYS; on x86_64 the SIGSYS fields follow
    // the 16-byte header: void *_call_addr; int _syscall; unsigned int _arch.
    unsafe {
        let base = info as *const u8;
        let syscall = std::ptr::read_unaligned(base.add(24) as *const i32);
        let arch = std::ptr::read_unaligned(base.add(28) as *const u32);
        let mut msg = [0u8; 13];
        msg[0] = b'T';
        msg[1..5].copy_from_slice(&syscall.to_ne_bytes());
        msg[5..9].copy_from_slice(&arch.to_ne_bytes());
        libc::write(REPORT_FD, msg.as_ptr().cast(), msg.len());
        libc::_exit(0);
    }
}

/// Install `program` in a forked child, call `nr(args)`, report.
fn run_in_child(program: &Program, nr: i64, args: [u64; 6]) -> Outcome {
    let mut filter: Vec<libc::sock_filter> = program
        .insns()
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    let mut fds = [0; 2];
    // SAFETY: a valid out-array of two ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: the child makes only raw syscalls and async-signal-safe calls, then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: see above; `fprog` and `filter` live in the child's copy of memory.
        unsafe {
            REPORT_FD = wr;
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigsys as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
            let fail = |tag: u8| {
                let mut msg = [0u8; 13];
                msg[0] = tag;
                msg[1..5].copy_from_slice(&(*libc::__errno_location()).to_ne_bytes());
                libc::write(wr, msg.as_ptr().cast(), msg.len());
                libc::_exit(1);
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                fail(b'N');
            }
            if libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const libc::sock_fprog) != 0 {
                fail(b'S');
            }
            let rc = libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
            let mut msg = [0u8; 13];
            if rc < 0 {
                msg[0] = b'E';
                msg[1..5].copy_from_slice(&(*libc::__errno_location()).to_ne_bytes());
            } else {
                msg[0] = b'R';
                msg[1..9].copy_from_slice(&(rc as i64).to_ne_bytes());
            }
            libc::write(wr, msg.as_ptr().cast(), msg.len());
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(wr) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    loop {
        // SAFETY: reaping our own child.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            break;
        }
        assert!(Instant::now() < deadline, "child hung");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut msg = [0u8; 13];
    // SAFETY: reading into a live buffer from the pipe we own, then closing it.
    let n = unsafe { libc::read(rd, msg.as_mut_ptr().cast(), msg.len()) };
    unsafe { libc::close(rd) };
    if libc::WIFSIGNALED(status) {
        return Outcome::Killed(libc::WTERMSIG(status));
    }
    assert_eq!(n, 13, "child reported nothing (status {status:#x})");
    let i32_at = |o: usize| i32::from_ne_bytes(msg[o..o + 4].try_into().unwrap());
    match msg[0] {
        b'R' => Outcome::Returned(i64::from_ne_bytes(msg[1..9].try_into().unwrap())),
        b'E' => Outcome::Errno(i32_at(1)),
        b'T' => Outcome::Trapped {
            syscall: i32_at(1),
            arch: i32_at(5) as u32,
        },
        b'N' => panic!("no_new_privs failed: errno {}", i32_at(1)),
        b'S' => panic!(
            "the kernel refused the compiled filter: errno {}",
            i32_at(1)
        ),
        t => panic!("unexpected report {t}"),
    }
}

fn policy(default: Action, rules: Vec<Rule>) -> Program {
    let mut p = Policy::new(default);
    p.set_arches([Arch::X86_64]).unwrap();
    // Everything the child needs to report and exit.
    for name in [
        "write",
        "exit",
        "exit_group",
        "rt_sigreturn",
        "rt_sigaction",
    ] {
        p.add_rule(Rule::new(Action::Allow, name)).unwrap();
    }
    for r in rules {
        p.add_rule(r).unwrap();
    }
    p.attrs.bad_arch = Action::Errno(99);
    let compiled = compile(&p).unwrap();
    assert_eq!(compiled.programs.len(), 1);
    compiled.programs.into_iter().next().unwrap()
}

#[test]
fn allow_errno_and_argument_rules() {
    let p = policy(
        Action::Errno(1),
        vec![
            Rule::new(Action::Allow, "getppid"),
            Rule::new(Action::Errno(38), "uname"),
            // getpriority(which, who): allowed only for who >= 2^32 + 5 (64-bit compare).
            Rule::new(Action::Allow, "getpriority")
                .with_cond(ArgCond::new(1, CmpOp::Ge, 0x1_0000_0005).unwrap()),
        ],
    );
    assert!(matches!(
        run_in_child(&p, libc::SYS_getppid, [0; 6]),
        Outcome::Returned(_)
    ));
    assert_eq!(
        run_in_child(&p, libc::SYS_uname, [0; 6]),
        Outcome::Errno(38)
    );
    assert_eq!(
        run_in_child(&p, libc::SYS_getpid, [0; 6]),
        Outcome::Errno(1)
    );
    // The low word alone is not enough: 5 < 2^32 + 5.
    assert_eq!(
        run_in_child(&p, libc::SYS_getpriority, [0, 5, 0, 0, 0, 0]),
        Outcome::Errno(1)
    );
    // The filter allows it; the kernel then rejects the bogus `who` itself (ESRCH or EINVAL),
    // which is not the filter's EPERM.
    let passed = run_in_child(&p, libc::SYS_getpriority, [0, 0x1_0000_0006, 0, 0, 0, 0]);
    assert!(!matches!(passed, Outcome::Errno(1)), "{passed:?}");
}

#[test]
fn trap_delivers_sigsys_with_the_syscall() {
    let p = policy(
        Action::Errno(1),
        vec![Rule::new(Action::Trap(7), "getppid")],
    );
    assert_eq!(
        run_in_child(&p, libc::SYS_getppid, [0; 6]),
        Outcome::Trapped {
            syscall: libc::SYS_getppid as i32,
            arch: Arch::X86_64.audit_arch()
        }
    );
}

#[test]
fn kill_process_ends_the_child_with_sigsys() {
    let p = policy(
        Action::Errno(1),
        vec![Rule::new(Action::KillProcess, "getppid")],
    );
    assert_eq!(
        run_in_child(&p, libc::SYS_getppid, [0; 6]),
        Outcome::Killed(libc::SIGSYS)
    );
}

#[test]
fn log_lets_the_call_run() {
    let p = policy(Action::Errno(1), vec![Rule::new(Action::Log, "getppid")]);
    assert!(matches!(
        run_in_child(&p, libc::SYS_getppid, [0; 6]),
        Outcome::Returned(_)
    ));
}

#[test]
fn x32_numbers_get_the_bad_arch_action() {
    // x32's getppid is 110 | the x32 bit. The filter has only x86_64, so the bad-arch action
    // (ERRNO(99) here) answers, whether or not the kernel has x32 support.
    let p = policy(Action::Errno(1), vec![Rule::new(Action::Allow, "getppid")]);
    let nr = i64::from(X32_SYSCALL_BIT | 110);
    assert_eq!(run_in_child(&p, nr, [0; 6]), Outcome::Errno(99));
}
