//! Fixed codegen cases: the 4096-instruction limit, multiplexers,
//! and the structure of the emitted program.

use sysgate::arch::Arch;
use sysgate::bpf::{Program, MAX_INSNS};
use sysgate::compile::{compile, CompileError};
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};

fn big_policy(syscalls: usize, rules_per_syscall: u64) -> Policy {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    let names: Vec<&str> = Arch::X86_64
        .table()
        .iter()
        .map(|(n, _)| n)
        .take(syscalls)
        .collect();
    for (i, name) in names.into_iter().enumerate() {
        for v in 0..rules_per_syscall {
            // Distinct values per syscall, so no two syscalls share their argument checks,
            // and two arguments per rule, so each rule needs tests of its own.
            let c0 = ArgCond::new(0, CmpOp::Eq, (i as u64) * 1000 + v * 3 + 1).unwrap();
            let c1 = ArgCond::new(1, CmpOp::Eq, v).unwrap();
            p.add_rule(Rule::new(Action::Allow, name).with_cond(c0).with_cond(c1))
                .unwrap();
        }
    }
    p
}

#[test]
fn over_4096_instructions_compiles_to_stacked_programs() {
    let p = big_policy(120, 12);
    let compiled = compile(&p).unwrap();
    assert!(
        compiled.programs.len() >= 2,
        "{} programs",
        compiled.programs.len()
    );
    for prog in &compiled.programs {
        assert!(prog.len() <= MAX_INSNS);
        prog.validate().unwrap();
    }
    for (_, nr) in Arch::X86_64.table().iter().take(130) {
        for (a0, a1) in [
            (0u64, 0),
            (1, 0),
            (4, 1),
            (5, 1),
            (34, 11),
            (35, 11),
            (1 << 32 | 1, 0),
            (5001, 0),
            (5004, 1),
            (5004, 2),
            (119_034, 11),
        ] {
            let args = [a0, a1, 0, 0, 0, 0];
            let want = p.decide(Arch::X86_64, nr, &args).action.to_ret();
            assert_eq!(
                compiled.emulate_call(Arch::X86_64, nr, &args).unwrap().ret,
                want,
                "nr {nr} a0 {a0}"
            );
        }
    }
}

#[test]
fn one_syscall_over_the_limit_is_a_clear_error() {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    for v in 0..1100u64 {
        // Two arguments per rule, each differing in both words: every rule needs tests of
        // its own.
        let c0 = ArgCond::new(0, CmpOp::Eq, (v << 32) | (v * 7 + 1)).unwrap();
        let c1 = ArgCond::new(1, CmpOp::Eq, (v << 33) | (v * 5 + 3)).unwrap();
        p.add_rule(
            Rule::new(Action::Allow, "ioctl")
                .with_cond(c0)
                .with_cond(c1),
        )
        .unwrap();
    }
    match compile(&p) {
        Err(CompileError::TooLarge { nr, limit, .. }) => {
            assert_eq!(nr, 16);
            assert_eq!(limit, MAX_INSNS);
        }
        Err(other) => panic!("expected TooLarge, got {other}"),
        Ok(c) => panic!("expected TooLarge, got {} instructions", c.total_insns()),
    }
}

#[test]
fn multiplexers_are_never_widened() {
    for arch in [Arch::X86, Arch::S390x, Arch::Mips, Arch::Ppc64le] {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([arch]).unwrap();
        p.add_rule(Rule::new(Action::Allow, "socket")).unwrap();
        p.add_rule(
            Rule::new(Action::Allow, "connect").with_cond(ArgCond::new(2, CmpOp::Eq, 16).unwrap()),
        )
        .unwrap();
        let prog = &compile(&p).unwrap().programs[0];
        let socketcall = arch.syscall_number("socketcall").unwrap();
        let call = |c: u64, a2: u64| {
            prog.emulate_call(arch, socketcall, &[c, 0, a2, 0, 0, 0])
                .unwrap()
                .ret
        };
        assert_eq!(
            call(1, 0),
            Action::Allow.to_ret(),
            "{arch}: socketcall(SYS_SOCKET)"
        );
        assert_eq!(
            call(3, 16),
            Action::Errno(1).to_ret(),
            "{arch}: socketcall(SYS_CONNECT) stays closed"
        );
        assert_eq!(
            call(2, 0),
            Action::Errno(1).to_ret(),
            "{arch}: socketcall(SYS_BIND)"
        );
        let connect = arch.syscall_number("connect").unwrap();
        assert_eq!(
            prog.emulate_call(arch, connect, &[0, 0, 16, 0, 0, 0])
                .unwrap()
                .ret,
            Action::Allow.to_ret()
        );
    }
}

#[test]
fn program_checks_arch_first_then_number() {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Allow, "read")).unwrap();
    let prog = &compile(&p).unwrap().programs[0];
    let insns = prog.insns();
    assert_eq!(insns[0], sysgate::bpf::Insn::load(4), "ld arch first");
    assert_eq!(insns[1].k, 0xc000_003e);
    assert_eq!(insns[2], sysgate::bpf::Insn::load(0), "then ld nr");
    // read (0) allowed; x32 numbers and unknown arches get KILL_PROCESS; -1 the default.
    assert_eq!(
        prog.emulate_call(Arch::X86_64, 0, &[0; 6]).unwrap().ret,
        Action::Allow.to_ret()
    );
    assert_eq!(
        prog.emulate_call(Arch::X86_64, 0x4000_0000, &[0; 6])
            .unwrap()
            .ret,
        Action::KillProcess.to_ret()
    );
    assert_eq!(
        prog.emulate_call(Arch::X86_64, u32::MAX, &[0; 6])
            .unwrap()
            .ret,
        Action::Errno(1).to_ret()
    );
    assert_eq!(
        prog.emulate_call(Arch::Aarch64, 63, &[0; 6]).unwrap().ret,
        Action::KillProcess.to_ret()
    );
    assert!(prog.len() <= 9, "{}", prog.disassemble());
}

#[test]
fn without_diagnostics_the_errors_are_still_checked() {
    use sysgate::compile::{compile_with, Options};
    use sysgate::policy::{PolicyError, UnknownNames};
    let quiet = Options {
        diagnostics: false,
        ..Options::default()
    };
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Allow, "socketcall")).unwrap(); // x86_64 has none
                                                                 // Warnings are collected by default and skipped when asked.
    assert!(!compile(&p).unwrap().diagnostics.is_empty());
    let compiled = compile_with(&p, &quiet).unwrap();
    assert!(compiled.diagnostics.is_empty());
    assert_eq!(
        compiled.programs[0].insns(),
        compile(&p).unwrap().programs[0].insns()
    );
    // Strict mode refuses either way.
    p.attrs.unknown_names = UnknownNames::Strict;
    for options in [Options::default(), quiet] {
        match compile_with(&p, &options) {
            Err(CompileError::Policy(PolicyError::UnknownOnArch { name, .. })) => {
                assert_eq!(name, "socketcall")
            }
            other => panic!(
                "expected the strict-mode error, got {:?}",
                other.map(|c| c.total_insns())
            ),
        }
    }
}

#[cfg(feature = "profiles")]
#[test]
fn the_action_cache_layout_brings_filter_running_calls_closer() {
    use sysgate::compile::{compile_with, Options};
    use sysgate::profile::{builtin, Target};
    let policy = builtin::builtin("docker-default", &Target::docker_default(Arch::X86_64))
        .expect("built-in")
        .policy;
    // The calls the kernel's action cache cannot skip: those not allowed whatever the
    // arguments. The mean instructions they execute, with and without the cache layout.
    let runs_filter: Vec<u32> = Arch::X86_64
        .table()
        .iter()
        .map(|(_, nr)| nr)
        .filter(|&nr| {
            [0, 1, 0xffff_ffff, u64::MAX]
                .iter()
                .any(|v| policy.decide(Arch::X86_64, nr, &[*v; 6]).action != Action::Allow)
        })
        .collect();
    assert!(runs_filter.len() > 20, "{runs_filter:?}");
    let mean = |action_cache: bool| {
        let options = Options {
            action_cache,
            ..Options::default()
        };
        let compiled = compile_with(&policy, &options).unwrap();
        let total: usize = runs_filter
            .iter()
            .map(|&nr| {
                compiled
                    .emulate_call(Arch::X86_64, nr, &[0; 6])
                    .unwrap()
                    .executed
            })
            .sum();
        // Which calls the kernel caches must not change.
        let caches: Vec<bool> = Arch::X86_64
            .table()
            .iter()
            .map(|(_, nr)| compiled.programs[0].kernel_caches(Arch::X86_64, nr))
            .collect();
        (total as f64 / runs_filter.len() as f64, caches)
    };
    let (plain, plain_caches) = mean(false);
    let (cached, cached_caches) = mean(true);
    assert!(
        cached < plain,
        "cache layout {cached:.2} vs plain {plain:.2}"
    );
    assert_eq!(cached_caches, plain_caches);
}

/// Each syscall allowed for `n` values of a1 spread apart (every other number), so that no two
/// merge into one range, and different for each syscall, so that no two share their checks.
fn compile_err(p: &Policy) -> CompileError {
    match compile(p) {
        Ok(c) => panic!(
            "expected an error, got {} programs, {} instructions",
            c.programs.len(),
            c.total_insns()
        ),
        Err(e) => e,
    }
}

fn ioctl_values(n: u64, syscalls: &[&str]) -> Policy {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    for (k, name) in (0u64..).zip(syscalls) {
        for v in 0..n {
            let c = ArgCond::new(1, CmpOp::Eq, k * 1_000_000 + v * 2).unwrap();
            p.add_rule(Rule::new(Action::Allow, *name).with_cond(c))
                .unwrap();
        }
    }
    p
}

#[test]
fn regression_too_large_names_the_syscall_not_only_its_number() {
    let err = compile_err(&ioctl_values(4000, &["ioctl"]));
    assert!(
        matches!(&err, CompileError::TooLarge { syscall, nr: 16, limit: MAX_INSNS, .. } if syscall == "ioctl"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("the rules for ioctl (syscall 16 "),
        "{err}"
    );
}

#[test]
fn regression_a_policy_beyond_the_stack_limit_is_refused_before_it_is_laid_out() {
    // 40,000 values need far more than the 32,768 instructions one thread's stacked filters
    // may hold; before, compiling this took minutes and then blamed "syscall 16".
    let err = compile_err(&ioctl_values(40_000, &["ioctl"]));
    match &err {
        CompileError::TooLargeForStack {
            insns,
            limit,
            syscall,
            arch,
            syscall_insns,
        } => {
            assert_eq!(*limit, 32768);
            assert!(*insns > 32768 && *syscall_insns > 32768);
            assert_eq!((syscall.as_str(), *arch), ("ioctl", Arch::X86_64));
        }
        other => panic!("expected TooLargeForStack, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("the rules for ioctl on x86_64 alone need"),
        "{text}"
    );
    // Many syscalls that each fit one filter but not all together in a stack.
    let names = [
        "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek",
    ];
    let err = compile_err(&ioctl_values(3600, &names));
    assert!(
        matches!(err, CompileError::TooLargeForStack { .. }),
        "{err:?}"
    );
}

#[test]
fn regression_one_program_wanted_for_a_stack_says_so() {
    // Fits a stack of a few filters, so `compile` succeeds, but not one program.
    let p = ioctl_values(1000, &["read", "write", "open", "close", "stat", "fstat"]);
    let compiled = compile(&p).unwrap();
    assert!(compiled.programs.len() > 1);
    let total: usize = compiled.programs.iter().map(|p| p.len()).sum();
    assert!(total + 4 * (compiled.programs.len() - 1) <= 32768);
    let err = Program::try_from(&p).unwrap_err();
    assert!(
        matches!(err, CompileError::NeedsStacking { programs, .. } if programs == compiled.programs.len()),
        "{err:?}"
    );
    assert!(!err.to_string().contains("syscall 0"), "{err}");
}
