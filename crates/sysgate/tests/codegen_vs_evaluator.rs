//! The compiler judged by the reference evaluator: random policies (several arches, every
//! operator, overlapping rules, 64-bit edge values) are compiled, and the emulated programs
//! must decide exactly what `Policy::decide` decides on every syscall number of every arch,
//! on x32-bit and -1 numbers, and on argument values at every constant, its neighbours and
//! its high/low word variants. Each program is then proven equal to its policy on every
//! input by `sysgate::verify`.

mod support;

use proptest::prelude::*;
use support::agree;
use sysgate::arch::Arch;
use sysgate::compile::{compile, compile_with, Options};
use sysgate::policy::{Action, ArgCond, CmpOp, Errno, Policy, Rule, Syscall};

const LITTLE: &[Arch] = &[
    Arch::X86_64,
    Arch::X86,
    Arch::X32,
    Arch::Aarch64,
    Arch::Arm,
    Arch::Riscv64,
    Arch::Mipsel,
    Arch::Ppc64le,
    Arch::Mipsel64n32,
];
const BIG: &[Arch] = &[
    Arch::S390x,
    Arch::S390,
    Arch::Mips,
    Arch::Ppc,
    Arch::Ppc64,
    Arch::Mips64,
];

const NAMES: &[&str] = &[
    "read",
    "write",
    "openat",
    "close",
    "socket",
    "connect",
    "sendto",
    "recv",
    "ioctl",
    "clone",
    "mmap",
    "mprotect",
    "semop",
    "shmctl",
    "socketcall",
    "ipc",
    "personality",
    "prctl",
    "arch_prctl",
    "clone3",
    "exit_group",
    "futex",
    "getpid",
    "uname",
];

const EDGES: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0xff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_0000_0000,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(EDGES),
        any::<u64>(),
        (0u64..64),
        any::<u32>().prop_map(u64::from),
        any::<u32>().prop_map(|h| u64::from(h) << 32),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::KillProcess),
        Just(Action::KillThread),
        (0u16..3).prop_map(Action::Trap),
        prop::sample::select(&[0u16, 1, 13, 38, 4095][..]).prop_map(Action::Errno),
        // Names, numbered per architecture (mips and parisc differ from the rest).
        prop::sample::select(&["EPERM", "ENOSYS", "EDQUOT", "EAGAIN", "ELOOP"][..])
            .prop_map(|n| Action::NamedErrno(Errno::from_name(n).unwrap())),
        Just(Action::UserNotif),
        (0u16..3).prop_map(Action::Trace),
        Just(Action::Log),
        Just(Action::Allow),
        Just(Action::Allow),
    ]
}

fn cond() -> impl Strategy<Value = ArgCond> {
    let op = prop_oneof![
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Eq),
        Just(CmpOp::Ge),
        Just(CmpOp::Gt),
        value().prop_map(CmpOp::MaskedEq),
        prop::sample::select(&[0xffu64, 0xff00, 0x8000_0000, 0xffff_ffff_0000_0000, 1 << 40][..])
            .prop_map(CmpOp::MaskedEq),
    ];
    (0u32..3, op, value()).prop_map(|(arg, op, v)| {
        // Masked values sometimes fit their mask, sometimes not.
        let v = match op {
            CmpOp::MaskedEq(m) if v % 3 != 0 => v & m,
            _ => v,
        };
        ArgCond::new(arg, op, v).unwrap()
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    let syscall = prop_oneof![
        9 => prop::sample::select(NAMES).prop_map(Syscall::from),
        1 => (0u32..20).prop_map(Syscall::Number),
    ];
    // A quarter of the rules apply on some ABIs only (of either byte order, so some apply on
    // none of the policy's).
    let only_on = prop::option::weighted(
        0.25,
        prop::sample::subsequence([LITTLE, BIG].concat(), 1..4),
    );
    (
        action(),
        syscall,
        prop::collection::vec(cond(), 0..3),
        only_on,
    )
        .prop_map(|(a, s, c, only_on)| Rule {
            action: a,
            syscall: s,
            conds: c,
            origin: None,
            only_on,
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    let arches = prop_oneof![
        3 => prop::sample::subsequence(LITTLE, 1..4),
        1 => prop::sample::subsequence(BIG, 1..3),
    ];
    (
        action(),
        action(),
        any::<bool>(),
        arches,
        prop::collection::vec(rule(), 0..24),
        prop::collection::vec(prop::option::of(0u32..500), 4),
    )
        .prop_map(|(default, bad_arch, enosys, arches, rules, above)| {
            let mut p = Policy::new(default);
            p.set_arches(arches).unwrap();
            p.attrs.bad_arch = bad_arch;
            p.attrs.enosys_for_unknown_syscalls = enosys;
            // runc's ENOSYS thresholds on some of the arches: one of the table's numbers (so
            // x32's carry the x32 bit and mips's start at 4000, 5000 or 6000).
            for (arch, above) in p.arches().to_vec().into_iter().zip(above) {
                if let Some(k) = above {
                    let mut nrs: Vec<u32> = arch.table().iter().map(|(_, nr)| nr).collect();
                    nrs.sort_unstable();
                    p.attrs
                        .enosys_above
                        .insert(arch, nrs[k as usize % nrs.len()]);
                }
            }
            for r in rules {
                p.add_rule(r).unwrap();
            }
            p
        })
}

/// Sampling checks the evaluator and the emulator agree at chosen points; the proof then
/// checks the program against the policy on every input.
fn check(policy: &Policy, compiled: &sysgate::compile::Compiled) -> Result<(), TestCaseError> {
    if let Some(m) = agree::first_mismatch(policy, compiled) {
        return Err(TestCaseError::fail(m));
    }
    match sysgate::verify::filters_vs_policy(&compiled.programs, policy, 1) {
        Ok(report) if report.proven() => Ok(()),
        Ok(report) => Err(TestCaseError::fail(format!(
            "not proven equal: {:x?}",
            report.mismatches
        ))),
        Err(e) => Err(TestCaseError::fail(e.to_string())),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn compiled_programs_decide_like_the_evaluator(policy in policy(), action_cache: bool) {
        // The action-cache layout only reshapes the dispatch: it must decide the same.
        let options = Options { action_cache, ..Options::default() };
        let compiled = compile_with(&policy, &options).unwrap();
        for p in &compiled.programs {
            prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
            prop_assert!(p.len() <= sysgate::bpf::MAX_INSNS);
        }
        check(&policy, &compiled)?;
    }

    #[test]
    fn split_programs_decide_like_the_evaluator(policy in policy()) {
        // A tiny limit forces stacking, exercising the split on ordinary policies.
        match compile_with(&policy, &Options { max_insns: 48, ..Options::default() }) {
            Ok(compiled) => {
                for p in &compiled.programs {
                    prop_assert!(p.len() <= 48);
                }
                check(&policy, &compiled)?;
            }
            Err(sysgate::compile::CompileError::TooLarge { .. }) => {}
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
    }
}

#[test]
fn argument_free_allow_paths_are_cacheable() {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64, Arch::X86, Arch::X32]).unwrap();
    for name in [
        "read",
        "write",
        "close",
        "getpid",
        "futex",
        "mmap",
        "exit_group",
    ] {
        p.add_rule(Rule::new(Action::Allow, name)).unwrap();
    }
    p.add_rule(
        Rule::new(Action::Allow, "ioctl").with_cond(ArgCond::new(1, CmpOp::Eq, 0x5401).unwrap()),
    )
    .unwrap();
    let compiled = compile(&p).unwrap();
    let prog = &compiled.programs[0];
    for arch in [Arch::X86_64, Arch::X86] {
        for (name, nr) in arch.table().iter() {
            let allowed = p.decide(arch, nr, &[0; 6]).action == Action::Allow
                && !p
                    .rules()
                    .iter()
                    .any(|r| !r.conds.is_empty() && p.rule_targets(r, arch) == Some(nr));
            assert_eq!(prog.kernel_caches(arch, nr), allowed, "{arch} {name}");
        }
    }
}
