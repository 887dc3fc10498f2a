//! The policies both benchmarks measure: the synthetic 300 × 40 one and docker-default.

use sysgate::arch::Arch;
use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};

/// 300 x86_64 syscalls, each allowed when a0 equals one of 40 constants (12,000 rules);
/// ERRNO(EPERM) otherwise.
pub fn synthetic() -> Policy {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    let names: Vec<&str> = Arch::X86_64
        .table()
        .iter()
        .map(|(n, _)| n)
        .take(300)
        .collect();
    for (i, name) in names.into_iter().enumerate() {
        for v in 0..40u64 {
            // Spread values (not a contiguous run, which would collapse into one range).
            let c = ArgCond::new(0, CmpOp::Eq, (i as u64) * 1000 + v * 7 + 3).unwrap();
            p.add_rule(Rule::new(Action::Allow, name).with_cond(c))
                .unwrap();
        }
    }
    p
}

/// `../shared/fixtures/profiles/docker-default.json` for x86_64 as Docker reads it, or
/// `None` when `../shared` is absent.
pub fn docker_default() -> Option<Policy> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/profiles/docker-default.json"
    );
    let text = std::fs::read_to_string(path).ok()?;
    let target = sysgate::profile::docker::Target::docker_default(Arch::X86_64);
    sysgate::profile::docker::parse(&text, "docker-default.json", &target)
        .ok()
        .map(|l| l.policy)
}
