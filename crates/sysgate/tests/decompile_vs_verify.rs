//! The decompiler judged by the verifier: a filter decompiled into a policy, and that policy
//! compiled again, must be proven to decide exactly as the original filter on every input
//! (`verify::filters_vs_filters`), for sysgate's programs (docker-default on every target,
//! every fixture profile, random policies), libseccomp's, and hand-written ones. What a
//! policy cannot say (the instruction pointer, `ret a`) must fail closed, naming why.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use support::libseccomp;
use support::policies::{self, TARGETS};
use sysgate::arch::{Arch, Endian};
use sysgate::bpf::{op, Insn, Program};
use sysgate::compile::{compile, CompileError};
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule, Syscall};
use sysgate::profile::{builtin, Target};
use sysgate::verify::{self, DecompileError};

/// Decompile `filters`, check the policy against them, compile it and prove the new
/// program equal to the old one. Returns the policy.
fn round_trip(filters: &[Program], what: &str) -> Policy {
    let policy = verify::decompile(filters).unwrap_or_else(|e| panic!("{what}: {e}"));
    let report = verify::filters_vs_policy(filters, &policy, 3).unwrap();
    assert!(report.proven(), "{what}: {:x?}", report.mismatches);
    let again = match compile(&policy) {
        Ok(c) => c,
        // A fragmented decision (random overlapping masks and ranges) can read back as more
        // masked conditions than one filter holds: the policy is still proven equal above.
        Err(e @ (CompileError::TooLarge { .. } | CompileError::TooLargeForStack { .. })) => {
            eprintln!("{what}: proven, but too large to recompile: {e}");
            return policy;
        }
        Err(e) => panic!("{what}: recompiling: {e}"),
    };
    let report = verify::filters_vs_filters(filters, &again.programs, 3).unwrap();
    assert!(
        report.proven(),
        "{what}: recompiled: {:x?}",
        report.mismatches
    );
    policy
}

#[test]
fn docker_default_compiled_by_sysgate_decompiles_to_itself_on_every_target() {
    for &arch in TARGETS {
        let policy = builtin::builtin("docker-default", &Target::docker_default(arch))
            .unwrap()
            .policy;
        let compiled = compile(&policy).unwrap();
        let back = round_trip(&compiled.programs, &format!("docker-default {arch}"));
        // Read back as written: the same arches, default and bad-arch action, and the
        // decompiled policy is proven equal to the profile's own policy too.
        assert_eq!(back.arches(), policy.arches(), "{arch}");
        assert_eq!(
            back.default_action(),
            policy.default_action().for_arch(arch)
        );
        assert!(
            verify::filters_vs_policy(&compile(&back).unwrap().programs, &policy, 1)
                .unwrap()
                .proven()
        );
    }
}

#[test]
fn every_fixture_profile_decompiles_to_an_equal_policy() {
    let Some(files) = support::shared::fixture_profiles() else {
        return;
    };
    for file in &files {
        let spec = file.display().to_string();
        let target = Target::docker_default(Arch::X86_64);
        let read = sysgate::profile::detect::read(&spec, &target, &Default::default())
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        for named in read.profiles {
            let compiled = compile(&named.loaded.policy).unwrap();
            round_trip(&compiled.programs, &format!("{spec} {:?}", named.name));
        }
    }
}

/// libseccomp's programs (both of its layouts) for docker-default on the native arch
/// decompile to a policy proven equal to them.
#[test]
fn libseccomp_programs_decompile_to_an_equal_policy() {
    let Some(lib) = libseccomp::open() else {
        eprintln!("SKIPPED: libseccomp.so.2 is not installed");
        return;
    };
    let native = Arch::native();
    let policy = builtin::builtin("docker-default", &Target::docker_default(native))
        .unwrap()
        .policy;
    for optimize in [1, 2] {
        let bytes = lib
            .build_filter(
                &lib.filter_from_policy(&policy, optimize),
                Duration::from_secs(60),
            )
            .unwrap();
        let theirs = Program::from_bytes(&bytes, native.endian()).unwrap();
        let what = format!("libseccomp optimize {optimize}");
        match verify::decompile(std::slice::from_ref(&theirs)) {
            Err(e) => panic!("{what}: {e}"),
            Ok(_) => {
                round_trip(std::slice::from_ref(&theirs), &what);
            }
        }
        if native == Arch::X86_64 {
            // libseccomp compares only the low word of an x32 call's arguments: read with
            // x86_64 (x86 aside), x32's argument rules are x32's alone.
            let abis = [Arch::X86_64, Arch::X32];
            let back = verify::decompile_abis(std::slice::from_ref(&theirs), &abis)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                back.rules()
                    .iter()
                    .any(|r| r.only_on == Some(vec![Arch::X32]) && !r.conds.is_empty()),
                "{what}: {back}"
            );
        }
        // As seen from the native ABI alone it always reads back: recompiled, it decides
        // as libseccomp's program does on native calls and kills every other ABI's.
        let back = verify::decompile_abis(std::slice::from_ref(&theirs), &[native])
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(back.arches(), &[native]);
        assert_eq!(
            back.default_action(),
            policy.default_action().for_arch(native)
        );
        let mut only = Policy::new(Action::Allow);
        only.set_arches([native]).unwrap();
        let mut seen = vec![theirs.clone()];
        seen.extend(compile(&only).unwrap().programs);
        let ours = compile(&back).unwrap();
        let report = verify::filters_vs_filters(&seen, &ours.programs, 3).unwrap();
        assert!(report.proven(), "{what}: {:x?}", report.mismatches);
    }
}

/// A filter that lets calls through from one address only (Chromium's escape hatch) cannot
/// be a policy: the error says it reads the instruction pointer, and names the call.
#[test]
fn reading_the_instruction_pointer_fails_closed() {
    let insns = vec![
        Insn::load(4),                          // ld [4]   (arch)
        Insn::jump(op::JEQ, 0xc000_003e, 1, 0), // jeq x86_64
        Insn::ret(0),                           // ret KILL_THREAD
        Insn::load(0),                          // ld [0]   (nr)
        Insn::jump(op::JEQ, 39, 0, 3),          // jeq getpid
        Insn::load(8),                          // ld [8]   (ip, low word)
        Insn::jump(op::JEQ, 0x1000, 0, 1),      // jeq 0x1000
        Insn::ret(0x7fff_0000),                 // ret ALLOW
        Insn::ret(0x0005_0001),                 // ret ERRNO(1)
    ];
    let p = Program::new(insns, Endian::Little);
    let e = verify::decompile(&[p]).unwrap_err();
    assert!(
        matches!(e, DecompileError::ReadsInstructionPointer { .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("instruction pointer") && msg.contains("getpid"),
        "{msg}"
    );
}

/// `ret a` after loading the number returns a different value for every call.
#[test]
fn a_computed_return_fails_closed() {
    let insns = vec![
        Insn::load(0),            // ld [0]
        Insn::new(0x16, 0, 0, 0), // ret a
    ];
    let e = verify::decompile(&[Program::new(insns, Endian::Little)]).unwrap_err();
    assert!(matches!(e, DecompileError::ComputedReturn { .. }), "{e}");
}

/// Two stacked filters read back as one policy that decides as their combination.
#[test]
fn a_stack_decompiles_to_its_combination() {
    let mut outer = Policy::new(Action::Allow);
    outer.set_arches([Arch::X86_64]).unwrap();
    outer
        .add_rule(Rule::new(Action::Errno(13), "openat"))
        .unwrap();
    let mut inner = Policy::new(Action::Errno(1));
    inner.set_arches([Arch::X86_64]).unwrap();
    for name in ["read", "write", "openat", "exit_group"] {
        inner.add_rule(Rule::new(Action::Allow, name)).unwrap();
    }
    inner
        .add_rule(
            Rule::new(Action::Allow, "socket")
                .with_cond(ArgCond::new(0, CmpOp::Eq, 1).unwrap())
                .with_cond(ArgCond::new(1, CmpOp::MaskedEq(0xf), 1).unwrap()),
        )
        .unwrap();
    let mut stack = compile(&outer).unwrap().programs;
    stack.extend(compile(&inner).unwrap().programs);
    let back = round_trip(&stack, "stack");
    let openat = back.decide(Arch::X86_64, 257, &[0; 6]).action;
    // The kernel compares stacked filters' actions without their data, and keeps the
    // newest filter's answer among equal ones: ERRNO(13) from the first filter, not the
    // second's ALLOW.
    assert_eq!(openat, Action::Errno(13));
}

// Random single-arch policies (every operator, overlapping rules, runc's ENOSYS rule, the
// multiplexed calls) must decompile; several arches may be refused, but only for a reason
// a policy cannot express, never with a wrong policy.

const ARCHES: &[Arch] = &[
    Arch::X86_64,
    Arch::X86,
    Arch::Aarch64,
    Arch::Arm,
    Arch::Riscv64,
    Arch::S390x,
    Arch::Mips,
];

/// 64 cases from a fixed seed, so that CI runs the same cases every time; the decompiler
/// has known gaps (the two tests above) that a random seed finds now and then. Explore with
/// `PROPTEST_RNG_SEED=<n>` (and `PROPTEST_CASES`).
fn fixed_seed() -> ProptestConfig {
    let mut config = ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    };
    if config.rng_seed == proptest::test_runner::RngSeed::Random {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x5eed_2026_1203);
    }
    if let Some(cases) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
    {
        config.cases = cases;
    }
    config
}

proptest! {
    #![proptest_config(fixed_seed())]

    #[test]
    fn random_single_arch_policies_decompile_to_themselves(
        p in policies::policy(
            prop::sample::select(ARCHES).prop_map(|a| vec![a]),
            0..16,
            Just(false),
        )
    ) {
        round_trip(&compile(&p).unwrap().programs, &p.to_string());
    }

    #[test]
    fn random_multi_arch_policies_decompile_or_say_why_not(
        p in policies::policy(
            prop::sample::subsequence(&[Arch::X86_64, Arch::X86, Arch::Aarch64][..], 1..4),
            0..16,
            Just(false),
        )
    ) {
        let compiled = compile(&p).unwrap();
        match verify::decompile(&compiled.programs) {
            Ok(_) => {
                round_trip(&compiled.programs, &p.to_string());
            }
            // What one policy over several ABIs cannot say; never a wrong policy (NotExact).
            // A policy's multiplexed paths always read back: its rules by name say them.
            Err(
                DecompileError::DefaultsDiffer { .. }
                | DecompileError::SkippedCall { .. },
            ) => {}
            Err(e) => panic!("{p}: {e}"),
        }
    }
}

/// Found by the property test: `socketcall(SYS_SOCKET)` above runc's ENOSYS threshold gets
/// the most restrictive of `socket`'s rules, which needs `socket`'s rules written with an
/// unconditional one (a conditional-only `socket` would leave the multiplexed call the
/// default, KILL_PROCESS).
#[test]
fn socketcall_above_runcs_threshold_reads_back_through_socket() {
    let mut p = Policy::new(Action::KillProcess);
    p.set_arches([Arch::S390x]).unwrap();
    p.attrs.enosys_above.insert(Arch::S390x, 83);
    p.add_rule(
        Rule::new(Action::Errno(38), "socket").with_cond(ArgCond::new(0, CmpOp::Ne, 0).unwrap()),
    )
    .unwrap();
    p.add_rule(Rule::new(Action::Log, "socket")).unwrap();
    round_trip(&compile(&p).unwrap().programs, "s390x socket");
}

/// Found by the property test: with runc's threshold at 0 every unmatched `uname` gets
/// ENOSYS, and letting the LOG rules also cover the KILL inputs (which a KILL rule decides
/// anyway) takes thousands of masked conditions; the exact LOG set takes one rule.
#[test]
fn a_looser_rule_set_that_explodes_falls_back_to_the_exact_one() {
    let c = |a, op, v| ArgCond::new(a, op, v).unwrap();
    let mut p = Policy::new(Action::KillProcess);
    p.set_arches([Arch::Aarch64]).unwrap();
    p.attrs.enosys_above.insert(Arch::Aarch64, 0);
    p.add_rule(
        Rule::new(Action::KillProcess, "uname")
            .with_cond(c(0, CmpOp::Ge, 1))
            .with_cond(c(1, CmpOp::Lt, 2)),
    )
    .unwrap();
    p.add_rule(Rule::new(Action::KillProcess, "uname").with_cond(c(1, CmpOp::Ge, 0xffff_ffff)))
        .unwrap();
    p.add_rule(Rule::new(Action::Log, "uname").with_cond(c(0, CmpOp::MaskedEq(3), 1)))
        .unwrap();
    round_trip(&compile(&p).unwrap().programs, "uname");
}

/// x86 with a rule by number on the direct `socket` (359) refuses the direct call only:
/// `socketcall(SYS_SOCKET)` stays allowed. Rules on `socket` by name would refuse that path
/// too, so the decompiler writes the direct call's rules by number.
#[test]
fn a_multiplexed_path_looser_than_its_direct_call_reads_back_by_number() {
    let mut p = Policy::new(Action::Allow);
    p.set_arches([Arch::X86]).unwrap();
    p.add_rule(Rule::new(Action::Errno(1), Syscall::Number(359)))
        .unwrap();
    let back = round_trip(&compile(&p).unwrap().programs, "x86 socket by number");
    assert!(
        back.rules()
            .iter()
            .any(|r| r.syscall == Syscall::Number(359) && r.action == Action::Errno(1)),
        "{back}"
    );
    assert!(
        !back
            .rules()
            .iter()
            .any(|r| r.syscall == Syscall::from("socket")),
        "{back}"
    );
}

/// The same direct `socket` refusal on x86 and on x86_64 (41), where x86's 41 (`dup`) is
/// allowed: a rule by name would refuse `socketcall(SYS_SOCKET)` too, a rule by number for
/// every ABI would also decide x86's 41. A rule by number for x86 only says it.
#[test]
fn a_multiplexed_path_looser_than_its_direct_call_reads_back_per_abi() {
    let mut both = Policy::new(Action::Allow);
    both.set_arches([Arch::X86_64, Arch::X86]).unwrap();
    both.add_rule(Rule::new(Action::Errno(1), Syscall::Number(359)))
        .unwrap();
    let mut x86_64 = Policy::new(Action::Allow);
    x86_64.set_arches([Arch::X86_64]).unwrap();
    x86_64.attrs.bad_arch = Action::Allow;
    x86_64
        .add_rule(Rule::new(Action::KillProcess, Syscall::Number(359)))
        .unwrap();
    x86_64
        .add_rule(Rule::new(Action::Errno(1), "socket"))
        .unwrap();
    let mut stack = compile(&both).unwrap().programs;
    stack.extend(compile(&x86_64).unwrap().programs);
    let back = round_trip(&stack, "socket by number on x86, by name on x86_64");
    assert!(
        back.rules()
            .iter()
            .any(|r| r.syscall == Syscall::Number(359)
                && r.action == Action::Errno(1)
                && r.only_on.as_deref() == Some(&[Arch::X86][..])),
        "{back}"
    );
}

/// Found by the property test, a known gap: the decompiler writes each answer's inputs as
/// rules of that answer, and here KILL_THREAD's (`a0` in [1, 0x10] or [0x12, max],
/// `a2 & 0x7f != 0`, `a2 < 0x7fffffff`) take more than 4096 rules, because the default's
/// own inputs are not written as rules that would let KILL_THREAD's be looser. It is refused
/// by name, never read back as another policy.
#[test]
fn a_masked_test_beside_a_range_is_refused_as_too_complex_not_misread() {
    let mut p = Policy::new(Action::KillProcess);
    p.set_arches([Arch::X86_64]).unwrap();
    p.attrs.enosys_above.insert(Arch::X86_64, 95);
    let cond = |arg, op, value| ArgCond::new(arg, op, value).unwrap();
    p.add_rule(Rule::new(Action::KillProcess, "getpid").with_cond(cond(0, CmpOp::Lt, 1)))
        .unwrap();
    p.add_rule(Rule::new(Action::KillProcess, "getpid").with_cond(cond(
        2,
        CmpOp::MaskedEq(0x7f),
        0,
    )))
    .unwrap();
    p.add_rule(
        Rule::new(Action::KillThread, "getpid")
            .with_cond(cond(2, CmpOp::Lt, 0x7fff_ffff))
            .with_cond(cond(0, CmpOp::Ne, 0x11)),
    )
    .unwrap();
    match verify::decompile(&compile(&p).unwrap().programs) {
        Err(DecompileError::TooComplex { what, unit, .. }) => {
            assert!(what.contains("getpid"), "{what}");
            assert_eq!(unit, "rules");
        }
        Ok(back) => panic!("the gap is closed: make this a round trip\n{back}"),
        Err(e) => panic!("{e}"),
    }
}

/// Found by the property test, a known gap: x86's direct `shmctl` (396, above the ENOSYS
/// threshold) answers ENOSYS where a0 == 0, x86_64's `shmctl` its default, and the
/// multiplexed `ipc(SHMCTL)` NOTIFY. The rules chosen for the name are checked against the
/// multiplexed path with x86_64's rule set, while x86 gets its own, stricter on the path: the
/// candidate policy decides ENOSYS there, the proof catches it, and the call is refused as an
/// internal error instead of read back as another policy.
#[test]
fn per_abi_rules_that_tighten_a_multiplexed_path_are_refused_not_misread() {
    let mut p = Policy::new(Action::Trace(0));
    p.set_arches([Arch::X86, Arch::X86_64]).unwrap();
    p.attrs.enosys_above.insert(Arch::X86, 395);
    p.add_rule(
        Rule::new(Action::UserNotif, "shmctl").with_cond(ArgCond::new(0, CmpOp::Ne, 0).unwrap()),
    )
    .unwrap();
    match verify::decompile(&compile(&p).unwrap().programs) {
        Err(e) => assert!(e.to_string().contains("nr 117"), "{e}"),
        Ok(back) => panic!("the gap is closed: make this a round trip\n{back}"),
    }
}
