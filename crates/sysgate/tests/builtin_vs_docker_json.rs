//! The built-in `docker-default` profile (written in Rust) against Docker's own JSON
//! (`../shared/fixtures/profiles/docker-default.json`) read by the Docker frontend: for many
//! targets (architecture, capabilities, kernel), both policies must decide every call the
//! same way: every syscall number of every architecture in the policy, numbers newer than
//! the table, `nr == -1`, a foreign architecture, and the argument values at the edges of
//! every argument condition either policy has.

mod support;

use std::collections::BTreeSet;

use support::shared;
use sysgate::arch::Arch;
use sysgate::kernel::KernelVersion;
use sysgate::policy::{Action, Errno, Numbering, Policy, Syscall};
use sysgate::profile::{builtin, docker, Target};

const FIXTURE: &str = "fixtures/profiles/docker-default.json";

/// Every capability the profile mentions, so that "all of them" switches every rule on.
const PROFILE_CAPS: &[&str] = &[
    "CAP_DAC_READ_SEARCH",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_CHROOT",
    "CAP_SYS_MODULE",
    "CAP_SYS_PACCT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_SYS_NICE",
    "CAP_SYSLOG",
    "CAP_BPF",
    "CAP_PERFMON",
];

/// Capability and kernel variants on `arch`: all of them on x86_64 (the kernel matters only
/// around 4.8, the one `minKernel` of the profile), fewer elsewhere to keep the test quick.
fn targets(arch: Arch) -> Vec<(String, Target)> {
    let mut out = Vec::new();
    let kernels: &[Option<KernelVersion>] = if arch == Arch::X86_64 {
        &[
            Some(KernelVersion::new(4, 7, 0)),
            Some(KernelVersion::new(4, 8, 0)),
            None,
        ]
    } else {
        &[Some(KernelVersion::new(6, 1, 0))]
    };
    for &kernel in kernels {
        let base = Target::docker_default(arch).with_kernel(kernel);
        let mut all = base.clone();
        for cap in PROFILE_CAPS {
            all = all.with_cap(cap);
        }
        let mut none = base.clone();
        none.caps.clear();
        let variants = [
            ("docker caps", base.clone()),
            ("+CAP_SYS_ADMIN", base.clone().with_cap("CAP_SYS_ADMIN")),
            ("+CAP_SYS_PTRACE", base.clone().with_cap("CAP_SYS_PTRACE")),
            ("every cap", all),
            ("no caps", none),
        ];
        for (label, t) in variants {
            if arch != Arch::X86_64 && !matches!(label, "docker caps" | "every cap") {
                continue;
            }
            out.push((format!("{arch} {label} kernel {kernel:?}"), t));
        }
    }
    out
}

/// Argument values at the edges of every condition of either policy, on the arguments
/// conditions use.
fn arg_vectors(policies: &[&Policy]) -> Vec<[u64; 6]> {
    let mut values = BTreeSet::from([0u64, 1, 0xffff_ffff, 0x1_0000_0000, u64::MAX]);
    let mut args_used = BTreeSet::new();
    for p in policies {
        for rule in p.rules() {
            for c in &rule.conds {
                args_used.insert(c.arg());
                for k in c.constants() {
                    values.extend([k, k.wrapping_sub(1), k.wrapping_add(1), k | 1 << 32]);
                    // Every single bit of a mask, and the mask with one bit cleared.
                    for bit in 0..64 {
                        if k & (1 << bit) != 0 {
                            values.extend([1 << bit, k & !(1 << bit)]);
                        }
                    }
                }
            }
        }
    }
    let mut out = vec![[0; 6]];
    for &arg in &args_used {
        for &v in &values {
            let mut a = [0; 6];
            a[arg] = v;
            out.push(a);
        }
    }
    out
}

/// The numbers worth deciding on `arch`: the table, its neighbours, numbers newer than the
/// table, and -1.
fn numbers(arch: Arch) -> BTreeSet<u32> {
    let mut nrs: BTreeSet<u32> = arch.table().iter().map(|(_, nr)| nr).collect();
    let newest = arch.newest_syscall().1;
    let extra: Vec<u32> = nrs.iter().map(|n| n + 1).collect();
    nrs.extend(extra);
    nrs.extend((1..=5).map(|d| newest + d));
    nrs.extend([0, 1000, 4095, u32::MAX]);
    nrs
}

/// The numbers some conditional rule of either policy applies to on `arch` (directly or
/// through a multiplexer).
fn conditional_numbers(arch: Arch, policies: &[&Policy]) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for p in policies {
        for rule in p.rules().iter().filter(|r| !r.conds.is_empty()) {
            if let Some(nr) = p.rule_targets(rule, arch) {
                out.insert(nr);
            }
            if let Syscall::Name(name) = &rule.syscall {
                if let Some(via) = arch.multiplexed(name) {
                    out.insert(via.syscall);
                }
            }
        }
    }
    out
}

fn compare(label: &str, json: &Policy, ours: &Policy) {
    assert_eq!(json.arches(), ours.arches(), "{label}: arches");
    assert_eq!(
        json.default_action(),
        ours.default_action(),
        "{label}: default"
    );
    assert_eq!(json.attrs, ours.attrs, "{label}: attributes");
    let both = [json, ours];
    let vectors = arg_vectors(&both);
    let mut decided = 0usize;
    for &arch in json.arches() {
        let conditional = conditional_numbers(arch, &both);
        for nr in numbers(arch) {
            let args: &[[u64; 6]] = if conditional.contains(&nr) {
                &vectors
            } else {
                // No rule of either policy looks at this call's arguments.
                &[[0; 6]]
            };
            for a in args {
                let (j, o) = (json.decide(arch, nr, a), ours.decide(arch, nr, a));
                // moby's Go profile says clone3 gets unix.ENOSYS, the host's number (89 on
                // mips, 251 on parisc), which the built-in keeps as a name; the JSON was
                // generated on amd64 and says 38, which runc passes through as written.
                if arch.syscall_name(nr) == Some("clone3")
                    && Numbering::of(arch) != Numbering::Generic
                    && j.action == Action::Errno(38)
                {
                    let enosys = Errno::ENOSYS.number(arch);
                    assert_eq!(o.action, Action::Errno(enosys), "{label}: {arch} clone3");
                    decided += 1;
                    continue;
                }
                assert_eq!(
                    (j.action, j.arch),
                    (o.action, o.arch),
                    "{label}: {arch} nr {nr} ({}) args {a:x?}\n  json decided by {:?}\n  builtin decided by {:?}",
                    arch.syscall_name(nr).unwrap_or("?"),
                    j.by,
                    o.by,
                );
                decided += 1;
            }
        }
    }
    // A foreign architecture (and, when x32 is not in the policy, x32 numbers on x86_64).
    for token in [Arch::Ppc64.audit_arch(), 0, 0xdead_beef] {
        if json.arches().iter().any(|a| a.audit_arch() == token) {
            continue;
        }
        assert_eq!(
            json.decide_raw(token, 0, &[0; 6]).action,
            ours.decide_raw(token, 0, &[0; 6]).action,
            "{label}: bad arch {token:#x}"
        );
    }
    assert!(decided > 0);
}

#[test]
fn builtin_docker_default_decides_like_dockers_json() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let arches = [
        Arch::X86_64,
        Arch::X86,
        Arch::X32,
        Arch::Aarch64,
        Arch::Arm,
        Arch::S390x,
        Arch::Ppc64le,
        Arch::Riscv64,
        Arch::Mipsel64,
        Arch::Mips64n32,
        Arch::Loongarch64,
    ];
    for arch in arches {
        for (label, target) in targets(arch) {
            let json = docker::parse(&text, "docker-default.json", &target)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            let ours = builtin::builtin("docker-default", &target).expect("built-in exists");
            assert!(ours.warnings.is_empty(), "{label}: {:?}", ours.warnings);
            compare(&label, &json.policy, &ours.policy);
        }
    }
}

#[test]
fn builtin_docker_default_compiles_to_what_it_decides() {
    let target =
        Target::docker_default(Arch::X86_64).with_kernel(Some(KernelVersion::new(6, 1, 0)));
    let policy = builtin::builtin("docker-default", &target).unwrap().policy;
    let compiled = sysgate::compile::compile(&policy).expect("compiles");
    for &arch in policy.arches() {
        for nr in numbers(arch) {
            for a in [[0; 6], [0x7e02_0000, 0, 0, 0, 0, 0], [40, 0, 0, 0, 0, 0]] {
                let want = policy.decide(arch, nr, &a).action.to_ret();
                let got = compiled.emulate_call(arch, nr, &a).unwrap().ret;
                assert_eq!(got, want, "{arch} nr {nr} args {a:x?}");
            }
        }
    }
}
