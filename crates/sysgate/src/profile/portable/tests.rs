//! The table checked against the generated syscall tables, and [`portable`] and [`gaps`] on
//! small policies.

use super::*;
use crate::policy::{Action, CmpOp};

/// The architectures whose kernels have only the asm-generic calls.
const GENERIC: [Arch; 3] = [Arch::Aarch64, Arch::Riscv64, Arch::Loongarch64];

fn has(arch: Arch, name: &str) -> bool {
    arch.syscall_number(name).is_some()
}

#[test]
fn table_is_sorted_with_one_entry_per_name() {
    for pair in EQUIVALENCES.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "{} then {}: the table must be sorted, one entry per name",
            pair[0].name,
            pair[1].name
        );
    }
}

#[test]
fn every_name_exists_on_the_arches_its_scope_claims() {
    for e in EQUIVALENCES {
        assert!(
            crate::arch::is_known_syscall(e.name),
            "{}: no architecture has it",
            e.name
        );
        for a in e.alternatives {
            assert_ne!(a.name, e.name, "{} lists itself", e.name);
            let on: Vec<Arch> = match a.scope {
                Scope::Modern => GENERIC.to_vec(),
                Scope::Compat32 => Arch::ALL
                    .into_iter()
                    .filter(|arch| arch.word_bits() == 32)
                    .collect(),
                Scope::Alike => Arch::ALL.to_vec(),
            };
            assert!(
                on.iter().any(|arch| has(*arch, a.name)),
                "{} (for {}, {:?}) exists on none of {on:?}",
                a.name,
                e.name,
                a.scope
            );
        }
    }
}

#[test]
fn a_generic_arch_that_lacks_a_call_has_one_of_its_modern_alternatives() {
    for e in EQUIVALENCES.iter().filter(|e| !e.alternatives.is_empty()) {
        for arch in GENERIC.into_iter().filter(|a| !has(*a, e.name)) {
            let there: Vec<&str> = e
                .alternatives
                .iter()
                .filter(|a| a.scope == Scope::Modern && has(arch, a.name))
                .map(|a| a.name)
                .collect();
            assert!(
                !there.is_empty(),
                "{} is not on {arch} and none of its modern alternatives is",
                e.name
            );
        }
    }
}

#[test]
fn every_x86_64_call_arm64_or_riscv64_lacks_is_in_the_table() {
    for (name, _) in Arch::X86_64.table().iter() {
        if PORTABLE_TO.iter().all(|a| has(*a, name)) {
            continue;
        }
        assert!(
            equivalence(name).is_some(),
            "{name}: x86_64 has it, {} lack(s) it, and the table has no entry",
            PORTABLE_TO
                .iter()
                .filter(|a| !has(**a, name))
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

#[test]
fn argument_maps_stay_within_six_arguments_and_map_each_argument_once() {
    for e in EQUIVALENCES {
        for a in e.alternatives {
            if let ArgMap::Moved(pairs) = a.args {
                for (i, (from, to)) in pairs.iter().enumerate() {
                    assert!(*from < 6 && *to < 6, "{} -> {}: {pairs:?}", e.name, a.name);
                    assert!(
                        pairs[..i].iter().all(|(f, t)| f != from && t != to),
                        "{} -> {}: {pairs:?} maps an argument twice",
                        e.name,
                        a.name
                    );
                }
            }
        }
    }
}

fn allow_all(names: &[&str]) -> Policy {
    let mut p = Policy::new(Action::Errno(1));
    // The profile as a runtime on arm64 reads it: its native architecture is always in.
    p.set_arches([Arch::X86_64, Arch::Aarch64]).unwrap();
    for n in names {
        p.add_rule(Rule::new(Action::Allow, *n)).unwrap();
    }
    p
}

fn allowed_on(p: &Policy, arch: Arch, name: &str, args: [u64; 6]) -> bool {
    let nr = arch.syscall_number(name).expect(name);
    p.decide(arch, nr, &args).action == Action::Allow
}

#[test]
fn unconditional_rules_bring_their_modern_and_32bit_alternatives_transitively() {
    let mut p = allow_all(&["stat", "open", "read"]);
    p.add_arch(Arch::X86).unwrap();
    let out = portable(&p).unwrap();
    let names: BTreeSet<String> = out
        .policy
        .rules()
        .iter()
        .map(|r| r.syscall.to_string())
        .collect();
    for n in ["newfstatat", "statx", "stat64", "fstatat64", "openat"] {
        assert!(names.contains(n), "{n} missing from {names:?}");
    }
    // Alike alternatives are lint's business, not portability's.
    assert!(!names.contains("openat2") && !names.contains("creat"));
    assert_eq!(out.added["stat"], ["newfstatat", "statx", "stat64"]);
    assert_eq!(out.added["newfstatat"], ["fstatat64"]);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(
        out.summary().unwrap(),
        "--portable added 5 equivalents other architectures use: fstatat64 for newfstatat; \
         openat for open; newfstatat, statx, stat64 for stat"
    );
}

#[test]
fn the_32bit_variants_only_when_the_profile_has_a_32bit_abi() {
    let out = portable(&allow_all(&["stat", "mmap", "futex"])).unwrap();
    assert_eq!(out.added.keys().collect::<Vec<_>>(), ["stat"]);
    assert_eq!(out.added["stat"], ["newfstatat", "statx"]);
}

#[test]
fn runcs_enosys_threshold_follows_the_added_names() {
    let mut p = allow_all(&["access"]);
    p.attrs.enosys_above.insert(Arch::X86_64, 21); // access
    let out = portable(&p).unwrap();
    assert_eq!(out.policy.attrs.enosys_above[&Arch::X86_64], 439); // faccessat2
    assert!(!out.policy.attrs.enosys_above.contains_key(&Arch::Aarch64));
}

#[test]
fn conditions_move_to_the_alternatives_argument_positions() {
    let mut p = allow_all(&[]);
    let o_wronly = ArgCond::new(1, CmpOp::MaskedEq(3), 1).unwrap();
    p.add_rule(Rule::new(Action::Allow, "open").with_cond(o_wronly))
        .unwrap();
    let out = portable(&p).unwrap();
    let openat = out
        .policy
        .rules()
        .iter()
        .find(|r| r.syscall == Syscall::from("openat"))
        .unwrap();
    assert_eq!(
        openat.conds,
        [ArgCond::new(2, CmpOp::MaskedEq(3), 1).unwrap()]
    );
    assert!(allowed_on(
        &out.policy,
        Arch::Aarch64,
        "openat",
        [0, 0, 1, 0, 0, 0]
    ));
    assert!(!allowed_on(
        &out.policy,
        Arch::Aarch64,
        "openat",
        [0, 1, 0, 0, 0, 0]
    ));
}

#[test]
fn a_condition_that_cannot_be_carried_is_warned_about_never_widened() {
    let mut p = allow_all(&[]);
    let cloexec = ArgCond::new(0, CmpOp::Eq, 1).unwrap();
    p.add_rule(
        Rule::new(Action::Allow, "epoll_create")
            .with_cond(cloexec)
            .with_origin("p.json:4:5"),
    )
    .unwrap();
    let out = portable(&p).unwrap();
    assert_eq!(out.policy.rules().len(), 1, "{}", out.policy);
    assert!(out.added.is_empty());
    assert_eq!(
        out.warnings,
        [
            "p.json:4:5: epoll_create's rule has argument conditions that epoll_create1's \
          arguments cannot carry: epoll_create1 is not added for it (write its rule by hand)"
        ]
    );
}

#[test]
fn a_call_the_profile_decides_otherwise_keeps_its_decision() {
    let mut p = allow_all(&["access"]);
    p.add_rule(Rule::new(Action::KillProcess, "faccessat2"))
        .unwrap();
    let out = portable(&p).unwrap();
    assert!(allowed_on(&out.policy, Arch::Aarch64, "faccessat", [0; 6]));
    let nr = Arch::Aarch64.syscall_number("faccessat2").unwrap();
    assert_eq!(
        out.policy.decide(Arch::Aarch64, nr, &[0; 6]).action,
        Action::KillProcess
    );
    assert_eq!(out.added["access"], ["faccessat"]);
    assert!(
        out.warnings[0].contains("faccessat2 is not added"),
        "{:?}",
        out.warnings
    );
}

#[test]
fn rules_with_the_default_action_and_names_already_allowed_add_nothing() {
    let mut p = allow_all(&["pipe", "pipe2"]);
    p.add_rule(Rule::new(Action::Errno(1), "open")).unwrap();
    let out = portable(&p).unwrap();
    assert_eq!(out.policy, p);
    assert_eq!(out.summary(), None);
}

#[test]
fn gaps_name_what_arm64_and_riscv64_lack_and_portable_closes_them() {
    // uselib needs nothing elsewhere; i386's waitpid is no 64-bit program's call.
    let p = allow_all(&[
        "access",
        "arch_prctl",
        "renameat",
        "uselib",
        "read",
        "waitpid",
    ]);
    let shown: Vec<String> = gaps(&p).iter().map(|g| g.to_string()).collect();
    assert_eq!(
        shown,
        [
            "access: not on aarch64 or riscv64, which use faccessat, faccessat2 (not in the \
             profile)",
            "renameat: not on riscv64, which use renameat2 (not in the profile)",
        ]
    );
    let after: Vec<String> = gaps(&portable(&p).unwrap().policy)
        .iter()
        .map(|g| g.name.clone())
        .collect();
    assert!(after.is_empty(), "{after:?}");
    // A 64-bit call the table does not list: ppc64's Cell SPU calls.
    let mut ppc = Policy::new(Action::Errno(1));
    ppc.set_arches([Arch::Ppc64le]).unwrap();
    ppc.add_rule(Rule::new(Action::Allow, "spu_run")).unwrap();
    let shown: Vec<String> = gaps(&ppc).iter().map(|g| g.to_string()).collect();
    assert_eq!(
        shown,
        ["spu_run: not on aarch64 or riscv64, and the equivalence table knows no replacement"]
    );
}

#[test]
fn a_whole_x86_64_table_made_portable_has_no_gaps_the_table_knows() {
    let names: Vec<&str> = Arch::X86_64.table().iter().map(|(n, _)| n).collect();
    let out = portable(&allow_all(&names)).unwrap();
    let left: Vec<String> = gaps(&out.policy).iter().map(|g| g.to_string()).collect();
    assert!(left.is_empty(), "{left:#?}");
}

#[test]
fn lint_groups_are_symmetric_and_keep_unlink_apart_from_rmdir() {
    for name in names() {
        for other in alike(name) {
            assert!(
                alike(other).contains(&name),
                "{name} ~ {other} but not back"
            );
        }
    }
    assert!(alike("unlinkat").contains(&"rmdir") && alike("unlinkat").contains(&"unlink"));
    assert!(!alike("unlink").contains(&"rmdir"));
    assert!(alike("fchown32").contains(&"lchown"));
}
