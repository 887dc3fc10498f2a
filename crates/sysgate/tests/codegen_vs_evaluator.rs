//! The compiler judged by the reference evaluator: random policies (several arches, every
//! operator, overlapping rules, 64-bit edge values) are compiled, and the emulated programs
//! must decide exactly what `Policy::decide` decides on every syscall number of every arch,
//! on x32-bit and -1 numbers, and on argument values at every constant, its neighbours and
//! its high/low word variants. Each program is then proven equal to its policy on every
//! input by `sysgate::verify`.

mod support;

use proptest::prelude::*;
use support::{agree, policies};
use sysgate::arch::Arch;
use sysgate::compile::{compile, compile_with, Options};
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};

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

fn policy() -> impl Strategy<Value = Policy> {
    let arches = prop_oneof![
        3 => prop::sample::subsequence(LITTLE, 1..4),
        1 => prop::sample::subsequence(BIG, 1..3),
    ];
    // A quarter of the rules apply on some ABIs only (of either byte order, so some apply on
    // none of the policy's).
    let rule = policies::rule_on_some([LITTLE, BIG].concat());
    policies::policy_of(arches, rule, 0..24, any::<bool>())
}

/// Sampling checks the evaluator and the emulator agree at chosen points; the proof then
/// checks the program against the policy on every input (with the `verify` feature).
fn check(policy: &Policy, compiled: &sysgate::compile::Compiled) -> Result<(), TestCaseError> {
    if let Some(m) = agree::first_mismatch(policy, compiled) {
        return Err(TestCaseError::fail(m));
    }
    #[cfg(feature = "verify")]
    prove(policy, compiled)?;
    Ok(())
}

/// The proof (with the `verify` feature): the programs decide as the policy on every input.
#[cfg(feature = "verify")]
fn prove(policy: &Policy, compiled: &sysgate::compile::Compiled) -> Result<(), TestCaseError> {
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
