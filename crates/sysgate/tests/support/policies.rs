//! What the property tests and the per-target tests draw their policies from: the targets
//! every compiled profile is checked on, and proptest strategies for random policies (every
//! operator, overlapping rules, 64-bit edge values, runc's ENOSYS thresholds). One place, so
//! that the compiler, the verifier, the decompiler and the disassembler are judged on the
//! same inputs.

use std::ops::Range;

use proptest::prelude::*;
use sysgate::arch::Arch;
use sysgate::policy::{Action, ArgCond, CmpOp, Errno, Policy, Rule, Syscall};

/// Docker's archMap entries (each brings its sub-architectures) and the other ABIs sysgate
/// compiles for, both byte orders.
pub const TARGETS: &[Arch] = &[
    Arch::X86_64,
    Arch::Aarch64,
    Arch::Arm,
    Arch::X86,
    Arch::Ppc64le,
    Arch::S390x,
    Arch::Riscv64,
    Arch::Mipsel64,
    Arch::Mips64,
    Arch::Loongarch64,
];

/// Syscall names for random rules: common calls, calls that a multiplexer also carries on
/// some arches (`socket`, `semop`, ...), the multiplexers themselves, and names some arches
/// lack (`arch_prctl`, `recv`).
pub const NAMES: &[&str] = &[
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

/// Argument values where comparisons change their answer: word boundaries and sign bits.
pub const EDGES: &[u64] = &[
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

/// An argument value: an edge, any value, a small one, or one filling one word only.
pub fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(EDGES),
        any::<u64>(),
        (0u64..64),
        any::<u32>().prop_map(u64::from),
        any::<u32>().prop_map(|h| u64::from(h) << 32),
    ]
}

/// Every comparison, with `MASKED_EQ` masks drawn from `masks`.
pub fn op(masks: impl Strategy<Value = u64> + 'static) -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Eq),
        Just(CmpOp::Ge),
        Just(CmpOp::Gt),
        masks.prop_map(CmpOp::MaskedEq),
    ]
}

/// Every action, errno names among them (numbered per architecture: mips and parisc differ
/// from the rest).
pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::KillProcess),
        Just(Action::KillThread),
        (0u16..3).prop_map(Action::Trap),
        prop::sample::select(&[0u16, 1, 13, 38, 4095][..]).prop_map(Action::Errno),
        prop::sample::select(&["EPERM", "ENOSYS", "EDQUOT", "EAGAIN", "ELOOP"][..])
            .prop_map(|n| Action::NamedErrno(Errno::from_name(n).unwrap())),
        Just(Action::UserNotif),
        (0u16..3).prop_map(Action::Trace),
        Just(Action::Log),
        Just(Action::Allow),
        Just(Action::Allow),
    ]
}

/// A condition on one of the first three arguments, with edge masks as well as random ones.
pub fn cond() -> impl Strategy<Value = ArgCond> {
    let masks = prop_oneof![
        value(),
        prop::sample::select(&[0xffu64, 0xff00, 0x8000_0000, 0xffff_ffff_0000_0000, 1 << 40][..]),
    ];
    (0u32..3, op(masks), value()).prop_map(|(arg, op, v)| {
        // Masked values sometimes fit their mask, sometimes not.
        let v = match op {
            CmpOp::MaskedEq(m) if v % 3 != 0 => v & m,
            _ => v,
        };
        ArgCond::new(arg, op, v).unwrap()
    })
}

/// A rule by one of [`NAMES`] (or, one time in ten, by a small number) with up to two
/// conditions.
pub fn rule() -> impl Strategy<Value = Rule> {
    let syscall = prop_oneof![
        9 => prop::sample::select(NAMES).prop_map(Syscall::from),
        1 => (0u32..20).prop_map(Syscall::Number),
    ];
    (action(), syscall, prop::collection::vec(cond(), 0..3)).prop_map(|(a, s, c)| Rule {
        action: a,
        syscall: s,
        conds: c,
        origin: None,
        only_on: None,
    })
}

/// [`rule`], but a quarter of the rules apply on some of `abis` only (1 to 3 of them; give
/// ABIs of both byte orders, so some rules apply on none of a policy's).
pub fn rule_on_some(abis: Vec<Arch>) -> impl Strategy<Value = Rule> {
    let only_on = prop::option::weighted(0.25, prop::sample::subsequence(abis, 1..4));
    (rule(), only_on).prop_map(|(r, only_on)| Rule { only_on, ..r })
}

/// A policy on `arches` with `rules` random rules, any default and bad-arch action, ENOSYS
/// for unknown syscalls as `unknown_enosys` draws it, and runc's ENOSYS threshold on some of
/// the arches: one of the table's numbers (so x32's carry the x32 bit and mips's start at
/// 4000, 5000 or 6000).
pub fn policy(
    arches: impl Strategy<Value = Vec<Arch>>,
    rules: Range<usize>,
    unknown_enosys: impl Strategy<Value = bool>,
) -> impl Strategy<Value = Policy> {
    policy_of(arches, rule(), rules, unknown_enosys)
}

/// [`policy`] with rules drawn from `rule`.
pub fn policy_of(
    arches: impl Strategy<Value = Vec<Arch>>,
    rule: impl Strategy<Value = Rule>,
    rules: Range<usize>,
    unknown_enosys: impl Strategy<Value = bool>,
) -> impl Strategy<Value = Policy> {
    (
        action(),
        action(),
        unknown_enosys,
        arches,
        prop::collection::vec(rule, rules),
        prop::collection::vec(prop::option::of(0u32..500), 4),
    )
        .prop_map(|(default, bad_arch, enosys, arches, rules, above)| {
            let mut p = Policy::new(default);
            p.set_arches(arches).unwrap();
            p.attrs.bad_arch = bad_arch;
            p.attrs.enosys_for_unknown_syscalls = enosys;
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
