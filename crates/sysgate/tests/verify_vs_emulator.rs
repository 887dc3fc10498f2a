//! The verifier judged by the emulator and the reference evaluator: what it proves must hold
//! at every sampled input, and what it refutes must come with an input where the emulator
//! and `Policy::decide` really differ (the library confirms each one; these tests check it
//! finds them).

mod support;

use std::time::Instant;

use support::policies::TARGETS;
use sysgate::arch::Arch;
use sysgate::compile::compile;
use sysgate::profile::{builtin, Target};
use sysgate::verify;

#[test]
fn docker_default_compiled_by_sysgate_is_proven_on_every_target() {
    for &arch in TARGETS {
        let policy = builtin::builtin("docker-default", &Target::docker_default(arch))
            .unwrap()
            .policy;
        let compiled = compile(&policy).unwrap();
        let t = Instant::now();
        let report = verify::filters_vs_policy(&compiled.programs, &policy, 3).unwrap();
        eprintln!(
            "docker-default {arch} ({:?}): {} regions in {:?}",
            policy.arches(),
            report.regions,
            t.elapsed()
        );
        assert!(report.proven(), "{arch}: {:x?}", report.mismatches);
    }
}

#[test]
fn every_fixture_profile_compiled_by_sysgate_is_proven() {
    let Some(files) = support::shared::fixture_profiles() else {
        return;
    };
    assert!(files.len() >= 8, "{files:?}");
    for file in &files {
        // (Big-endian targets are covered by docker-default above: some of these profiles
        // list arches of both byte orders, which one program cannot serve.)
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let spec = file.display().to_string();
            let target = Target::docker_default(arch);
            let read = sysgate::profile::detect::read(&spec, &target, &Default::default())
                .unwrap_or_else(|e| panic!("{spec}: {e}"));
            for named in read.profiles {
                let policy = named.loaded.policy;
                let compiled = compile(&policy).unwrap();
                let report = verify::filters_vs_policy(&compiled.programs, &policy, 3).unwrap();
                let name = file.file_name().unwrap().to_string_lossy();
                eprintln!("{name} {:?} {arch}: {} regions", named.name, report.regions);
                assert!(
                    report.proven(),
                    "{name} {:?} {arch}: {:x?}",
                    named.name,
                    report.mismatches
                );
            }
        }
    }
}

/// The 64-bit range defect that codegen_vs_libseccomp.rs records by sampling
/// (`write(0, 1, 0)`: libseccomp 2.5.4 returns TRAP where the policy says ERRNO(1)) is
/// found by the proof too, from libseccomp's own program, with a confirmed input on
/// `write`; sysgate's program for the same policy is proven.
#[test]
fn libseccomp_64_bit_range_defect_is_refuted() {
    use std::time::Duration;
    use support::libseccomp;
    use sysgate::bpf::Program;
    use sysgate::policy::Action;

    let Some(lib) = libseccomp::open() else {
        eprintln!("SKIPPED: libseccomp.so.2 is not installed");
        return;
    };
    let p = libseccomp::range_defect_policy();
    let ours = compile(&p).unwrap();
    assert!(verify::filters_vs_policy(&ours.programs, &p, 1)
        .unwrap()
        .proven());
    for optimize in [1, 2] {
        let bytes = lib
            .build_filter(
                &lib.filter_from_policy(&p, optimize),
                Duration::from_secs(60),
            )
            .unwrap();
        let theirs = Program::from_bytes(&bytes, sysgate::arch::Endian::Little).unwrap();
        let report = verify::filters_vs_policy(std::slice::from_ref(&theirs), &p, 10).unwrap();
        let on_write: Vec<_> = report
            .mismatches
            .iter()
            .filter(|m| m.data.nr == 1 && m.data.arch == Arch::X86_64.audit_arch())
            .collect();
        assert!(!on_write.is_empty(), "optimize {optimize}: {report:x?}");
        for m in on_write {
            // Every reported input is a real difference (the library confirmed it; check
            // again here): TRAP from libseccomp, the default ERRNO(1) from the policy.
            let got = theirs.emulate(&m.data).unwrap().ret;
            let want = p.decide(Arch::X86_64, 1, &m.data.args);
            assert_eq!((got, want.action), (m.filters, Action::Errno(1)));
            assert_eq!(got, Action::Trap(0).to_ret());
            eprintln!("optimize {optimize}: write{:x?} -> {got:#x}", m.data.args);
        }
    }
}

/// A one-instruction change to a compiled program that changes its meaning is refuted, and
/// the two programs are told apart directly too.
#[test]
fn a_changed_return_value_is_refuted() {
    use sysgate::bpf::{Insn, Program};
    use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};

    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::Aarch64]).unwrap();
    p.add_rule(Rule::new(Action::Allow, "read")).unwrap();
    p.add_rule(
        Rule::new(Action::Allow, "ioctl").with_cond(ArgCond::new(1, CmpOp::Eq, 0x5401).unwrap()),
    )
    .unwrap();
    let good = compile(&p).unwrap().programs.remove(0);
    let mut insns = good.insns().to_vec();
    let i = insns
        .iter()
        .rposition(|x| *x == Insn::ret(Action::Errno(1).to_ret()))
        .unwrap();
    insns[i] = Insn::ret(Action::Errno(2).to_ret());
    let bad = Program::new(insns, good.endian());
    let report = verify::filters_vs_policy(std::slice::from_ref(&bad), &p, 100).unwrap();
    assert!(!report.proven());
    for m in &report.mismatches {
        assert_eq!(m.filters, Action::Errno(2).to_ret());
    }
    let direct = verify::filters_vs_filters(std::slice::from_ref(&good), &[bad], 1).unwrap();
    assert_eq!(direct.mismatches.len(), 1);
    assert!(verify::filters_vs_filters(
        std::slice::from_ref(&good),
        std::slice::from_ref(&good),
        1
    )
    .unwrap()
    .proven());
}
