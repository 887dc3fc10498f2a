//! Each check on a policy made to trigger it and on one made not to.

use super::*;
use crate::policy::{ArgCond, CmpOp, Rule};

fn policy(default: Action, arches: &[Arch], rules: Vec<Rule>) -> Policy {
    let mut p = Policy::new(default);
    p.set_arches(arches.iter().copied()).unwrap();
    for r in rules {
        p.add_rule(r).unwrap();
    }
    p
}

fn allow(name: &str) -> Rule {
    Rule::new(Action::Allow, name).with_origin(format!("p:{name}"))
}

fn rule(action: Action, name: &str) -> Rule {
    Rule::new(action, name).with_origin(format!("p:{name}"))
}

fn cond(arg: u32, op: CmpOp, value: u64) -> ArgCond {
    ArgCond::new(arg, op, value).unwrap()
}

const EPERM: Action = Action::Errno(1);
const X86_64: &[Arch] = &[Arch::X86_64];

fn findings(p: &Policy) -> Vec<Finding> {
    lint(p, &Context::default().with_default_origin("p:default"))
}

/// The findings of check `id`.
fn of(p: &Policy, id: &str) -> Vec<Finding> {
    assert!(check(id).is_some(), "{id} is not a check");
    findings(p).into_iter().filter(|f| f.id == id).collect()
}

#[test]
fn every_finding_names_a_check_and_ids_are_unique() {
    let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CHECKS.len());
    let p = policy(
        Action::Allow,
        X86_64,
        vec![
            rule(EPERM, "open"),
            rule(EPERM, "mount"),
            rule(EPERM, "quotactl"),
            rule(Action::UserNotif, "connect"),
            allow("connect").with_cond(cond(1, CmpOp::Eq, 0)),
        ],
    );
    let all = findings(&p);
    assert!(all.len() > 10, "{all:#?}");
    for f in all {
        assert!(check(f.id).is_some(), "{f:?}");
        // One line each: the text output puts why and fix on lines of their own.
        for text in [&f.at, &f.message, &f.why, &f.fix] {
            assert!(!text.contains('\n') && !text.contains("  "), "{f:?}");
        }
    }
}

#[test]
fn equivalent_allowed_when_a_rule_refuses_open_and_openat_is_allowed() {
    let p = policy(
        EPERM,
        X86_64,
        vec![allow("openat"), rule(Action::KillProcess, "open")],
    );
    let f = of(&p, "equivalent-allowed");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].at, "p:open");
    assert!(
        f[0].message.contains("but openat allowed (p:openat)"),
        "{f:?}"
    );
    assert_eq!(f[0].severity, Severity::High);
    // Refusing both is no escape; neither is an allow list that merely leaves open out.
    let both = policy(
        EPERM,
        X86_64,
        vec![
            rule(Action::KillProcess, "openat"),
            rule(Action::KillProcess, "open"),
        ],
    );
    assert!(of(&both, "equivalent-allowed").is_empty());
    let left_out = policy(EPERM, X86_64, vec![allow("openat")]);
    assert!(of(&left_out, "equivalent-allowed").is_empty());
    // A rule at the default's place (systemd's allow list writes those) is the default's.
    let systemd_like = policy(
        EPERM,
        X86_64,
        vec![
            allow("openat"),
            Rule::new(Action::KillProcess, "open").with_origin("p:default"),
        ],
    );
    assert!(of(&systemd_like, "equivalent-allowed").is_empty());
}

#[test]
fn equivalent_allowed_through_socketcall_when_socket_is_refused() {
    let p = policy(EPERM, &[Arch::X86], vec![allow("socketcall")]);
    let f = of(&p, "equivalent-allowed");
    assert!(
        f.iter()
            .any(|f| f.message.contains(", socket and socketpair refused")
                && f.message
                    .contains("allowed through socketcall (p:socketcall) on x86")),
        "{f:#?}"
    );
    // An unconditional deny on socket covers socketcall(SYS_SOCKET) too.
    let covered = policy(
        EPERM,
        &[Arch::X86],
        vec![allow("socketcall"), rule(Action::KillProcess, "socket")],
    );
    assert!(!of(&covered, "equivalent-allowed")
        .iter()
        .any(|f| f.message.contains(" socket ")));
}

#[test]
fn enosys_is_a_fallback_not_a_refusal() {
    let p = policy(
        EPERM,
        X86_64,
        vec![allow("clone"), rule(Action::Errno(38), "clone3")],
    );
    assert!(of(&p, "equivalent-allowed").is_empty());
}

#[test]
fn io_uring_and_tracing() {
    let p = policy(
        EPERM,
        X86_64,
        vec![allow("io_uring_setup"), allow("ptrace")],
    );
    assert_eq!(of(&p, "io-uring-allowed").len(), 1);
    assert_eq!(of(&p, "tracing-allowed")[0].at, "p:ptrace");
    let q = policy(EPERM, X86_64, vec![allow("read")]);
    assert!(of(&q, "io-uring-allowed").is_empty());
    assert!(of(&q, "tracing-allowed").is_empty());
}

#[test]
fn pointer_compared_only_on_pointer_arguments() {
    let p = policy(
        EPERM,
        X86_64,
        vec![allow("openat").with_cond(cond(1, CmpOp::Eq, 0x7fff_0000))],
    );
    let f = of(&p, "pointer-compared");
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("on a1"), "{f:?}");
    let flags = policy(
        EPERM,
        X86_64,
        vec![allow("openat").with_cond(cond(2, CmpOp::MaskedEq(3), 0))],
    );
    assert!(of(&flags, "pointer-compared").is_empty());
}

#[test]
fn notify_decides() {
    let by_default = policy(Action::UserNotif, X86_64, vec![allow("read")]);
    assert_eq!(of(&by_default, "notify-decides")[0].at, "p:default");
    let by_rule = policy(EPERM, X86_64, vec![rule(Action::UserNotif, "openat")]);
    assert_eq!(of(&by_rule, "notify-decides")[0].at, "p:openat");
    assert!(of(
        &policy(EPERM, X86_64, vec![allow("read")]),
        "notify-decides"
    )
    .is_empty());
}

#[test]
fn grants_are_info_when_the_target_holds_the_capability() {
    let p = policy(EPERM, X86_64, vec![allow("bpf")]);
    assert_eq!(of(&p, "grant-bpf")[0].severity, Severity::High);
    let held = lint(&p, &Context::default().with_caps(["CAP_BPF".to_string()]));
    let f: Vec<&Finding> = held.iter().filter(|f| f.id == "grant-bpf").collect();
    assert_eq!(f[0].severity, Severity::Info);
    assert!(f[0].message.contains("the target holds CAP_BPF"), "{f:?}");
    assert!(of(&policy(EPERM, X86_64, vec![allow("read")]), "grant-bpf").is_empty());
}

#[test]
fn every_grant_fires_when_allowed() {
    for (id, name) in [
        ("grant-perf", "perf_event_open"),
        ("grant-userfaultfd", "userfaultfd"),
        ("grant-keyring", "keyctl"),
        ("grant-kexec", "kexec_file_load"),
        ("grant-module", "finit_module"),
        ("grant-mount", "pivot_root"),
        ("grant-namespace", "setns"),
        // Regression: open_by_handle_at (the "Shocker" container escape) had no check.
        ("grant-open-by-handle", "open_by_handle_at"),
    ] {
        let p = policy(EPERM, X86_64, vec![allow(name)]);
        assert_eq!(of(&p, id).len(), 1, "{id} for {name}");
        let q = policy(EPERM, X86_64, vec![allow("read")]);
        assert!(of(&q, id).is_empty(), "{id}");
    }
}

#[test]
fn clone_only_with_namespace_flags() {
    let p = policy(EPERM, X86_64, vec![allow("clone")]);
    assert_eq!(of(&p, "grant-namespace").len(), 1);
    // Docker's rule: no namespace flag.
    let docker = policy(
        EPERM,
        X86_64,
        vec![allow("clone").with_cond(cond(0, CmpOp::MaskedEq(0x7e02_0000), 0))],
    );
    assert!(of(&docker, "grant-namespace").is_empty());
    // On s390x the flags are the second argument: a rule on the first does not guard them.
    let s390x = policy(
        EPERM,
        &[Arch::S390x],
        vec![allow("clone").with_cond(cond(0, CmpOp::MaskedEq(0x7e02_0000), 0))],
    );
    assert_eq!(of(&s390x, "grant-namespace").len(), 1);
}

#[test]
fn personality_and_tiocsti_need_their_arguments_checked() {
    let p = policy(EPERM, X86_64, vec![allow("personality"), allow("ioctl")]);
    assert_eq!(of(&p, "personality-unchecked").len(), 1);
    assert_eq!(of(&p, "ioctl-tiocsti").len(), 1);
    let q = policy(
        EPERM,
        X86_64,
        vec![
            allow("personality").with_cond(cond(0, CmpOp::Eq, 0)),
            allow("ioctl"),
            rule(EPERM, "ioctl").with_cond(cond(1, CmpOp::MaskedEq(0xffff_ffff), 0x5412)),
        ],
    );
    assert!(of(&q, "personality-unchecked").is_empty());
    assert!(of(&q, "ioctl-tiocsti").is_empty());
}

/// Regression: only the bare flags were probed, so a rule allowing personality with
/// READ_IMPLIES_EXEC beside other bits (0x440000, 0x400008) or with a high word the kernel
/// drops (its argument and ioctl's request are `unsigned int`) got no finding.
#[test]
fn personality_and_tiocsti_with_other_bits_are_found() {
    for (name, arg, value, id) in [
        ("personality", 0, 0x0044_0000u64, "personality-unchecked"),
        ("personality", 0, 0x0040_0008, "personality-unchecked"),
        (
            "personality",
            0,
            0x0002_0000 | 0x0040_0000,
            "personality-unchecked",
        ),
        ("personality", 0, 0x1_0040_0000, "personality-unchecked"),
        ("ioctl", 1, 0x1_0000_5412, "ioctl-tiocsti"),
    ] {
        let p = policy(
            EPERM,
            X86_64,
            vec![allow(name).with_cond(cond(arg, CmpOp::Eq, value))],
        );
        assert_eq!(of(&p, id).len(), 1, "{name} a{arg} == {value:#x}");
    }
}

#[test]
fn compat_abi_gap_when_i386_allows_what_x86_64_refuses() {
    // #26 is ptrace on i386 and msync on x86_64.
    let p = policy(
        EPERM,
        &[Arch::X86_64, Arch::X86],
        vec![Rule::new(Action::Allow, 26u32).with_origin("p:26")],
    );
    let f = of(&p, "compat-abi-gap");
    assert!(
        f.iter()
            .any(|f| f.message.contains("x86_64 refuses ptrace") && f.at == "p:26"),
        "{f:#?}"
    );
    let by_name = policy(EPERM, &[Arch::X86_64, Arch::X86], vec![allow("ptrace")]);
    assert!(of(&by_name, "compat-abi-gap").is_empty());
}

#[test]
fn bad_arch_permits_when_an_abi_the_kernel_runs_is_missing() {
    let mut p = policy(EPERM, X86_64, vec![allow("execve")]);
    p.attrs.bad_arch = Action::Allow;
    let f = of(&p, "bad-arch-permits");
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].message.contains("x86 and x32"), "{f:?}");
    let mut all = policy(
        EPERM,
        &[Arch::X86_64, Arch::X86, Arch::X32],
        vec![allow("execve")],
    );
    all.attrs.bad_arch = Action::Allow;
    assert!(of(&all, "bad-arch-permits").is_empty());
    let refusing = policy(EPERM, X86_64, vec![allow("execve")]);
    assert!(of(&refusing, "bad-arch-permits").is_empty());
}

#[test]
fn never_matches_unknown_names_and_impossible_conditions() {
    let p = policy(
        EPERM,
        X86_64,
        vec![
            allow("socketcall"),
            allow("read").with_cond(cond(0, CmpOp::Lt, 0)),
            allow("write").with_cond(cond(0, CmpOp::Lt, 5)),
        ],
    );
    let f = of(&p, "never-matches");
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().any(|f| f.at == "p:socketcall"));
    assert!(f.iter().any(|f| f.at == "p:read"));
    // A high word does not exist on 32-bit ABIs.
    let high = policy(
        EPERM,
        &[Arch::X86],
        vec![allow("read").with_cond(cond(0, CmpOp::Eq, 1 << 32))],
    );
    assert_eq!(of(&high, "never-matches").len(), 1);
}

#[test]
fn shadowed_by_an_unconditional_more_restrictive_rule() {
    let p = policy(
        EPERM,
        X86_64,
        vec![
            allow("socket").with_cond(cond(0, CmpOp::Eq, 1)),
            rule(Action::KillProcess, "socket"),
        ],
    );
    let f = of(&p, "shadowed");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("rule at p:socket"), "{f:?}");
    let disjoint = policy(
        EPERM,
        X86_64,
        vec![
            allow("socket").with_cond(cond(0, CmpOp::Eq, 1)),
            rule(Action::KillProcess, "socket").with_cond(cond(0, CmpOp::Eq, 2)),
        ],
    );
    assert!(of(&disjoint, "shadowed").is_empty());
}

#[test]
fn same_as_default_unless_it_overrides_or_sets_runcs_threshold() {
    let p = policy(EPERM, X86_64, vec![rule(EPERM, "uname")]);
    assert_eq!(of(&p, "same-as-default").len(), 1);
    let overrides = policy(
        EPERM,
        X86_64,
        vec![
            rule(EPERM, "uname"),
            allow("uname").with_cond(cond(0, CmpOp::Eq, 0)),
        ],
    );
    assert!(of(&overrides, "same-as-default").is_empty());
    let mut threshold = policy(EPERM, X86_64, vec![rule(EPERM, "uname")]);
    threshold
        .attrs
        .enosys_above
        .insert(Arch::X86_64, Arch::X86_64.syscall_number("uname").unwrap());
    assert!(of(&threshold, "same-as-default").is_empty());
}

#[test]
fn deny_list_when_the_default_allows() {
    let p = policy(Action::Allow, X86_64, vec![rule(EPERM, "mount")]);
    let f = of(&p, "deny-list");
    assert_eq!(f[0].at, "p:default");
    assert!(f[0].message.contains("1 of x86_64's"), "{f:?}");
    assert!(of(&policy(EPERM, X86_64, vec![allow("read")]), "deny-list").is_empty());
}

#[test]
fn narrowed_decisions_are_the_whole_policys() {
    let target = crate::profile::Target::docker_default(Arch::X86_64);
    let mut p = crate::profile::builtin::builtin("docker-default", &target)
        .unwrap()
        .policy;
    // Rules on multiplexed calls and on the multiplexer itself, as i386 sees them.
    p.add_rule(rule(Action::KillProcess, "bind")).unwrap();
    p.add_rule(allow("socketcall").with_cond(cond(0, CmpOp::Eq, 3)))
        .unwrap();
    let context = Context::default();
    let l = Lint::new(&p, &context);
    for &arch in p.arches() {
        for (_, nr) in arch.table().iter() {
            let way = Way {
                arch,
                nr,
                call: None,
            };
            let mut samples = l.samples(way);
            samples.extend([1, 2, 3, 5, 17].map(|call| [call, 0x5412, 0x7e02_0011, 0, 0, 0]));
            for args in samples {
                assert_eq!(
                    l.decide(arch, nr, &args),
                    p.decide(arch, nr, &args),
                    "{arch} {nr} {args:x?}"
                );
            }
        }
    }
}

#[test]
fn large_rule_lists_give_one_finding_per_cause() {
    let mut rules: Vec<Rule> = (0..600)
        .map(|i| {
            Rule::new(Action::Allow, "ioctl")
                .with_cond(cond(1, CmpOp::Eq, i))
                .with_origin(format!("p:{i}"))
        })
        .collect();
    rules.push(rule(Action::KillProcess, "ioctl"));
    rules.extend((0..50).map(|i| {
        Rule::new(Action::Allow, "openat")
            .with_cond(cond(1, CmpOp::Eq, i))
            .with_origin(format!("q:{i}"))
    }));
    let p = policy(EPERM, X86_64, rules);
    let f = of(&p, "shadowed");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.starts_with("600 rules for ioctl"), "{f:?}");
    let f = of(&p, "pointer-compared");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("by 50 rules"), "{f:?}");
}
