//! Compiled filters against the real kernel. Each filter is installed in a forked child
//! (never in the test runner), which makes one syscall and reports what the kernel did:
//! ALLOW, ERRNO(n), TRAP (SIGSYS with si_syscall), KILL_PROCESS, LOG, and an x32 number.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod support;

use support::child::{self, Outcome};
use sysgate::arch::{Arch, X32_SYSCALL_BIT};
use sysgate::bpf::Program;
use sysgate::compile::compile;
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};

/// Install `program` in a forked child that catches SIGSYS, call `nr(args)`, report.
fn run_in_child(program: &Program, nr: i64, args: [u64; 6]) -> Outcome {
    child::run_in_child(program, nr, args, true)
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
