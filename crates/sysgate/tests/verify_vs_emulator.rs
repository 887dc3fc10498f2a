//! The verifier judged by the emulator and the reference evaluator: what it proves must hold
//! at every sampled input, and what it refutes must come with an input where the emulator
//! and `Policy::decide` really differ (the library confirms each one; these tests check it
//! finds them).

mod support;

use std::time::Instant;

use sysgate::arch::Arch;
use sysgate::compile::compile;
use sysgate::profile::{builtin, Target};
use sysgate::verify;

#[test]
fn docker_default_compiled_by_sysgate_is_proven_on_every_target() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let policy = builtin::builtin("docker-default", &Target::docker_default(arch))
            .unwrap()
            .policy;
        let compiled = compile(&policy).unwrap();
        let t = Instant::now();
        let report = verify::filters_vs_policy(&compiled.programs, &policy, 3).unwrap();
        eprintln!("{arch}: {} regions in {:?}", report.regions, t.elapsed());
        assert!(report.proven(), "{arch}: {:x?}", report.mismatches);
    }
}
