//! The compiler judged by the reference evaluator: random policies (several arches, every
//! operator, overlapping rules, 64-bit edge values) are compiled, and the emulated programs
//! must decide exactly what `Policy::decide` decides on every syscall number of every arch,
//! on x32-bit and -1 numbers, and on argument values at every constant, its neighbours and
//! its high/low word variants.

use proptest::prelude::*;
use sysgate::arch::{Arch, X32_SYSCALL_BIT};
use sysgate::bpf::SeccompData;
use sysgate::compile::{compile, compile_with, Options};
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule, Syscall};

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
    (action(), syscall, prop::collection::vec(cond(), 0..3)).prop_map(|(a, s, c)| Rule {
        action: a,
        syscall: s,
        conds: c,
        origin: None,
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
    )
        .prop_map(|(default, bad_arch, enosys, arches, rules)| {
            let mut p = Policy::new(default);
            p.set_arches(arches).unwrap();
            p.attrs.bad_arch = bad_arch;
            p.attrs.enosys_for_unknown_syscalls = enosys;
            for r in rules {
                p.add_rule(r).unwrap();
            }
            p
        })
}

/// Argument vectors that probe every constant of the policy on every argument.
fn arg_vectors(policy: &Policy) -> Vec<[u64; 6]> {
    let mut values: Vec<u64> = vec![0, u64::MAX];
    for r in policy.rules() {
        for c in &r.conds {
            for k in c.constants() {
                for v in [
                    k,
                    k.wrapping_add(1),
                    k.wrapping_sub(1),
                    k & 0xffff_ffff,
                    k | 0xffff_ffff_0000_0000,
                    k ^ 0xffff_ffff_0000_0000,
                    k.rotate_right(32),
                    k & 0xffff_ffff_0000_0000,
                ] {
                    values.push(v);
                }
            }
        }
    }
    values.sort();
    values.dedup();
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    for (n, v) in values.iter().enumerate() {
        for arg in 0..3 {
            let mut a = [0u64; 6];
            a[arg] = *v;
            // Vary the other arguments too, so conjunctions see mixed values.
            a[(arg + 1) % 3] = values[(n * 7 + 3) % values.len()];
            a[(arg + 2) % 3] = values[(n * 13 + 5) % values.len()];
            out.push(a);
        }
    }
    out
}

/// Every number worth trying on `arch`: the whole table, its neighbours, gaps, x32-bit and -1.
fn numbers(arch: Arch) -> Vec<u32> {
    let mut nrs: Vec<u32> = arch.table().iter().map(|(_, nr)| nr).collect();
    let (_, newest) = arch.newest_syscall();
    nrs.extend([
        0,
        1,
        19,
        20,
        newest + 1,
        newest + 2,
        4095,
        u32::MAX,
        u32::MAX - 1,
    ]);
    nrs.extend([
        X32_SYSCALL_BIT,
        X32_SYSCALL_BIT + 1,
        X32_SYSCALL_BIT - 1,
        0x8000_0000,
    ]);
    if let Some(bit) = arch.x32_bit() {
        nrs.extend((0..20).map(|n| n | bit));
    }
    nrs.sort();
    nrs.dedup();
    nrs
}

fn check(policy: &Policy, compiled: &sysgate::compile::Compiled) -> Result<(), TestCaseError> {
    let vectors = arg_vectors(policy);
    let mut tokens: Vec<(u32, Arch)> = policy
        .arches()
        .iter()
        .map(|a| (a.audit_arch(), *a))
        .collect();
    tokens.push((0x1234_5678, Arch::X86_64)); // an architecture no filter knows
    tokens.push((Arch::Aarch64.audit_arch(), Arch::Aarch64));
    for (token, arch) in tokens {
        for nr in numbers(arch) {
            let has_rules = policy
                .rules()
                .iter()
                .any(|r| policy.rule_targets(r, arch) == Some(nr))
                || arch.multiplexed_calls().any(|(_, m)| m.syscall == nr);
            let args_list: &[[u64; 6]] = if has_rules { &vectors } else { &vectors[..2] };
            for args in args_list {
                let want = policy.decide_raw(token, nr, args).action.to_ret();
                let data = SeccompData {
                    nr,
                    arch: token,
                    instruction_pointer: 0,
                    args: *args,
                };
                let got = compiled
                    .emulate(&data)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(
                    got.ret,
                    want,
                    "token {:#x} ({}) nr {} args {:x?}\npolicy:\n{}",
                    token,
                    arch,
                    nr,
                    args,
                    policy
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn compiled_programs_decide_like_the_evaluator(policy in policy()) {
        let compiled = compile(&policy).unwrap();
        for p in &compiled.programs {
            prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
            prop_assert!(p.len() <= sysgate::bpf::MAX_INSNS);
        }
        check(&policy, &compiled)?;
    }

    #[test]
    fn split_programs_decide_like_the_evaluator(policy in policy()) {
        // A tiny limit forces stacking, exercising the split on ordinary policies.
        match compile_with(&policy, &Options { max_insns: 48 }) {
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
