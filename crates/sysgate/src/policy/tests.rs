//! Unit tests of the policy semantics (the reference evaluator).

use super::*;

fn cond(arg: u32, op: CmpOp, v: u64) -> ArgCond {
    ArgCond::new(arg, op, v).unwrap()
}

fn policy(default: Action, arches: &[Arch], rules: Vec<Rule>) -> Policy {
    let mut p = Policy::new(default);
    p.set_arches(arches.iter().copied()).unwrap();
    for r in rules {
        p.add_rule(r).unwrap();
    }
    p
}

const NO_ARGS: [u64; 6] = [0; 6];

#[test]
fn most_restrictive_matching_rule_wins_whatever_the_order() {
    let rules = vec![
        Rule::new(Action::Allow, "read"),
        Rule::new(Action::Errno(38), "read"),
        Rule::new(Action::Errno(1), "read").with_cond(cond(0, CmpOp::Eq, 3)),
        Rule::new(Action::Log, "write"),
        Rule::new(Action::Allow, "write"),
    ];
    let mut reversed = rules.clone();
    reversed.reverse();
    for rules in [rules, reversed] {
        let p = policy(Action::KillProcess, &[Arch::X86_64], rules);
        assert_eq!(
            p.decide(Arch::X86_64, 0, &NO_ARGS).action,
            Action::Errno(38)
        );
        assert_eq!(
            p.decide(Arch::X86_64, 0, &[3, 0, 0, 0, 0, 0]).action,
            Action::Errno(1)
        );
        assert_eq!(p.decide(Arch::X86_64, 1, &NO_ARGS).action, Action::Log);
        assert_eq!(
            p.decide(Arch::X86_64, 2, &NO_ARGS).action,
            Action::KillProcess
        );
    }
}

#[test]
fn arguments_are_64_bit_on_64_bit_abis_and_32_bit_elsewhere() {
    let rules = vec![Rule::new(Action::Allow, "read").with_cond(cond(0, CmpOp::Eq, 0x1_0000_0005))];
    let p = policy(
        Action::Errno(1),
        &[Arch::X86_64, Arch::X86, Arch::X32],
        rules,
    );
    let a = [0x1_0000_0005, 0, 0, 0, 0, 0];
    let low = [5, 0, 0, 0, 0, 0];
    assert_eq!(p.decide(Arch::X86_64, 0, &a).action, Action::Allow);
    assert_eq!(p.decide(Arch::X86_64, 0, &low).action, Action::Errno(1));
    // x32 calls carry 64-bit registers.
    assert_eq!(p.decide(Arch::X32, 0x4000_0000, &a).action, Action::Allow);
    // i386: the high word does not exist, so the condition never holds.
    assert_eq!(p.decide(Arch::X86, 3, &a).action, Action::Errno(1));
    assert_eq!(p.decide(Arch::X86, 3, &low).action, Action::Errno(1));
}

#[test]
fn bad_arch_x32_and_skipped_calls() {
    let p = policy(
        Action::Errno(1),
        &[Arch::X86_64],
        vec![Rule::new(Action::Allow, "read")],
    );
    assert_eq!(p.decide(Arch::X86_64, 0, &NO_ARGS).action, Action::Allow);
    let x32 = p.decide_raw(Arch::X86_64.audit_arch(), 0x4000_0000, &NO_ARGS);
    assert_eq!(
        (x32.action, x32.by),
        (Action::KillProcess, DecidedBy::BadArch)
    );
    let i386 = p.decide(Arch::X86, 3, &NO_ARGS);
    assert_eq!(i386.by, DecidedBy::BadArch);
    let skipped = p.decide(Arch::X86_64, u32::MAX, &NO_ARGS);
    assert_eq!(
        (skipped.action, skipped.by),
        (Action::Errno(1), DecidedBy::SkippedCall)
    );

    let mut with_x32 = p.clone();
    with_x32.add_arch(Arch::X32).unwrap();
    assert_eq!(
        with_x32.decide(Arch::X32, 0x4000_0000, &NO_ARGS).action,
        Action::Allow
    );
    assert_eq!(
        with_x32.decide(Arch::X32, 0x4000_0001, &NO_ARGS).action,
        Action::Errno(1)
    );
}

#[test]
fn unconditional_rule_covers_the_multiplexer() {
    let p = policy(
        Action::Errno(1),
        &[Arch::X86],
        vec![Rule::new(Action::Allow, "socket")],
    );
    assert_eq!(p.decide(Arch::X86, 359, &NO_ARGS).action, Action::Allow);
    assert_eq!(
        p.decide(Arch::X86, 102, &[1, 0, 0, 0, 0, 0]).action,
        Action::Allow
    );
    // socketcall(SYS_BIND) is not covered.
    assert_eq!(
        p.decide(Arch::X86, 102, &[2, 0, 0, 0, 0, 0]).action,
        Action::Errno(1)
    );
}

#[test]
fn conditional_allow_never_opens_the_multiplexer() {
    let p = policy(
        Action::Errno(1),
        &[Arch::X86],
        vec![Rule::new(Action::Allow, "socket").with_cond(cond(0, CmpOp::Eq, 1))],
    );
    assert_eq!(
        p.decide(Arch::X86, 359, &[1, 0, 0, 0, 0, 0]).action,
        Action::Allow
    );
    assert_eq!(
        p.decide(Arch::X86, 102, &[1, 0, 0, 0, 0, 0]).action,
        Action::Errno(1)
    );
    let diags = p.diagnostics().unwrap();
    assert!(diags
        .iter()
        .any(|d| matches!(d, Diagnostic::ConditionalMultiplexed { rule: 0, .. })));
}

#[test]
fn conditional_deny_closes_the_multiplexer() {
    let p = policy(
        Action::Allow,
        &[Arch::X86],
        vec![Rule::new(Action::KillProcess, "socket").with_cond(cond(0, CmpOp::Eq, 2))],
    );
    assert_eq!(
        p.decide(Arch::X86, 359, &[1, 0, 0, 0, 0, 0]).action,
        Action::Allow
    );
    assert_eq!(
        p.decide(Arch::X86, 102, &[1, 0, 0, 0, 0, 0]).action,
        Action::KillProcess
    );
}

#[test]
fn enosys_for_numbers_the_table_does_not_know() {
    let mut p = policy(Action::Errno(1), &[Arch::X86_64], vec![]);
    let newest = Arch::X86_64.newest_syscall().1;
    assert_eq!(
        p.decide(Arch::X86_64, newest + 1, &NO_ARGS).action,
        Action::Errno(1)
    );
    p.attrs.enosys_for_unknown_syscalls = true;
    let d = p.decide(Arch::X86_64, newest + 1, &NO_ARGS);
    assert_eq!(
        (d.action, d.by),
        (Action::Errno(ENOSYS), DecidedBy::UnknownSyscall)
    );
    assert_eq!(
        p.decide(Arch::X86_64, newest, &NO_ARGS).action,
        Action::Errno(1)
    );
    assert_eq!(
        p.decide(Arch::X86_64, u32::MAX, &NO_ARGS).action,
        Action::Errno(1)
    );
}

#[test]
fn overlap_is_reported_with_the_winner() {
    let p = policy(
        Action::Errno(1),
        &[Arch::X86_64],
        vec![
            Rule::new(Action::Allow, "ioctl").with_cond(cond(1, CmpOp::Lt, 100)),
            Rule::new(Action::Errno(13), "ioctl").with_cond(cond(1, CmpOp::Gt, 50)),
            Rule::new(Action::KillThread, "ioctl").with_cond(cond(1, CmpOp::Gt, 1000)),
        ],
    );
    let overlaps: Vec<_> = p
        .diagnostics()
        .unwrap()
        .into_iter()
        .filter(|d| matches!(d, Diagnostic::Overlap { .. }))
        .collect();
    // 0 and 1 overlap on 51..99; 1 and 2 on >1000; 0 and 2 are disjoint.
    assert_eq!(
        overlaps,
        vec![
            Diagnostic::Overlap {
                a: 0,
                b: 1,
                winner: 1
            },
            Diagnostic::Overlap {
                a: 1,
                b: 2,
                winner: 2
            }
        ]
    );
    assert!(overlaps[0].describe(&p).contains("ALLOW ioctl"));
}

#[test]
fn unknown_names() {
    let mut p = Policy::new(Action::Allow);
    let err = p.add_rule(Rule::new(Action::Errno(1), "no_such_call").with_origin("f.json:3:4"));
    assert_eq!(
        err.unwrap_err().to_string(),
        "unknown syscall \"no_such_call\": no architecture has it at f.json:3:4"
    );
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Errno(1), "socketcall"))
        .unwrap();
    let d = p.diagnostics().unwrap();
    assert_eq!(
        d,
        vec![Diagnostic::UnknownOnArch {
            rule: 0,
            arch: Arch::X86_64
        }]
    );
    p.attrs.unknown_names = UnknownNames::Strict;
    assert!(matches!(
        p.diagnostics(),
        Err(PolicyError::UnknownOnArch { .. })
    ));
}

#[test]
fn invalid_rules_are_refused() {
    let mut p = Policy::new(Action::Allow);
    assert!(p.add_rule(Rule::new(Action::Errno(4096), "read")).is_err());
    let seven = (0..7).map(|_| cond(0, CmpOp::Ne, 1));
    assert!(p
        .add_rule(Rule::new(Action::Errno(1), "read").with_conds(seven))
        .is_err());
    assert!(p.set_default_action(Action::Errno(5000)).is_err());
    assert!(matches!(
        p.set_arches([Arch::X86_64, Arch::S390x]),
        Err(PolicyError::MixedEndian { .. })
    ));
    assert_eq!(p.arches(), &[Arch::native()]);
}

#[test]
fn merge_unions_rules_and_arches() {
    let mut a = policy(
        Action::Errno(1),
        &[Arch::X86_64],
        vec![Rule::new(Action::Allow, "read")],
    );
    let b = policy(
        Action::Errno(1),
        &[Arch::X86],
        vec![Rule::new(Action::Allow, "write")],
    );
    a.merge(&b).unwrap();
    assert_eq!(a.arches(), &[Arch::X86, Arch::X86_64]);
    assert_eq!(a.decide(Arch::X86, 4, &NO_ARGS).action, Action::Allow);
    assert_eq!(a.decide(Arch::X86_64, 0, &NO_ARGS).action, Action::Allow);
    let c = policy(Action::Allow, &[Arch::X86_64], vec![]);
    assert!(a.merge(&c).is_err());
}

#[test]
fn satisfiability() {
    assert!(conds_satisfiable(
        &[cond(0, CmpOp::Gt, 5), cond(0, CmpOp::Lt, 7)],
        true
    ));
    assert!(!conds_satisfiable(
        &[cond(0, CmpOp::Gt, 5), cond(0, CmpOp::Lt, 6)],
        true
    ));
    assert!(!conds_satisfiable(
        &[cond(0, CmpOp::Eq, 5), cond(0, CmpOp::Ne, 5)],
        true
    ));
    assert!(!conds_satisfiable(
        &[cond(0, CmpOp::Gt, u64::from(u32::MAX))],
        false
    ));
    assert!(conds_satisfiable(
        &[
            cond(0, CmpOp::MaskedEq(0xf0), 0x30),
            cond(0, CmpOp::Gt, 0x100)
        ],
        true
    ));
    assert!(!conds_satisfiable(
        &[cond(0, CmpOp::MaskedEq(0xf0), 0x31)],
        true
    ));
}
