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
        vec![Diagnostic::Overlap {
            syscall: "ioctl".into(),
            rules: 3,
            pairs: 2,
            complete: true,
            examples: vec![
                OverlapPair {
                    a: 0,
                    b: 1,
                    winner: 1
                },
                OverlapPair {
                    a: 1,
                    b: 2,
                    winner: 2
                }
            ]
        }]
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
            rules: 1,
            arches: vec![Arch::X86_64]
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

fn overlaps_of(p: &Policy) -> Vec<Diagnostic> {
    p.diagnostics()
        .unwrap()
        .into_iter()
        .filter(|d| matches!(d, Diagnostic::Overlap { .. }))
        .collect()
}

/// Every pair checked one by one: the reference for the summary's counts.
fn brute_force_pairs(p: &Policy, name: &str) -> (usize, u64) {
    let idx: Vec<usize> = (0..p.rules().len())
        .filter(|&i| p.rules()[i].syscall.to_string() == name)
        .collect();
    let mut pairs = 0;
    let mut involved = BTreeSet::new();
    for (x, &a) in idx.iter().enumerate() {
        for &b in &idx[x + 1..] {
            let (ra, rb) = (&p.rules()[a], &p.rules()[b]);
            let both: Vec<ArgCond> = ra.conds.iter().chain(&rb.conds).copied().collect();
            if ra.action != rb.action && conds_satisfiable(&both, true) {
                pairs += 1;
                involved.extend([a, b]);
            }
        }
    }
    (involved.len(), pairs)
}

#[test]
fn overlap_counts_match_checking_every_pair() {
    // Small policies of every shape the summary counts without checking each pair
    // (unconditional rules, `==` on the same arguments) and of the shapes it checks pair by
    // pair, against the plain pairwise count.
    let actions = [
        Action::Allow,
        Action::Errno(1),
        Action::Errno(2),
        Action::Log,
    ];
    let mut seed = 0x2545_f491_u64;
    let mut next = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    for round in 0..200 {
        let mut rules = Vec::new();
        for _ in 0..(2 + next(12)) {
            let action = actions[next(4) as usize];
            let mut rule = Rule::new(action, "ioctl");
            match (round % 4, next(3)) {
                (_, 0) => {}
                (0 | 1, _) => rule = rule.with_cond(cond(1, CmpOp::Eq, next(4))),
                (2, _) => {
                    rule = rule.with_cond(cond(0, CmpOp::Eq, next(2))).with_cond(cond(
                        1,
                        CmpOp::Eq,
                        next(3),
                    ))
                }
                _ => {
                    let op = [CmpOp::Lt, CmpOp::Gt, CmpOp::Eq, CmpOp::Ne][next(4) as usize];
                    rule = rule.with_cond(cond(next(2) as u32, op, next(5)));
                }
            }
            rules.push(rule);
        }
        let p = policy(Action::KillProcess, &[Arch::X86_64], rules);
        let (rules, pairs) = brute_force_pairs(&p, "ioctl");
        match overlaps_of(&p).as_slice() {
            [] => assert_eq!(pairs, 0, "round {round}: {p}"),
            [Diagnostic::Overlap {
                rules: r,
                pairs: n,
                complete,
                examples,
                ..
            }] => {
                assert_eq!(
                    (*r, *n, *complete),
                    (rules, pairs, true),
                    "round {round}: {p}"
                );
                assert!(!examples.is_empty() && examples.len() <= 3);
                for e in examples {
                    let (ra, rb) = (&p.rules()[e.a], &p.rules()[e.b]);
                    let both: Vec<ArgCond> = ra.conds.iter().chain(&rb.conds).copied().collect();
                    assert!(ra.action != rb.action && conds_satisfiable(&both, true));
                }
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
}

/// A policy of 3,000 rules on `read` and `write` made by `rule(i)`.
fn conflicting(rule: impl Fn(usize) -> Rule) -> Policy {
    policy(
        Action::KillProcess,
        &[Arch::X86_64, Arch::X86],
        (0..3000).map(rule).collect(),
    )
}

/// The overlap report of 3,000 conflicting rules: one bounded line per syscall, not one per
/// pair (which printed 4.45 million lines and took 1.85 GB).
fn assert_one_short_line_per_syscall(p: &Policy, expected: &[(&str, usize, u64, bool)]) {
    let overlaps = overlaps_of(p);
    let got: Vec<(String, usize, u64, bool)> = overlaps
        .iter()
        .map(|d| match d {
            Diagnostic::Overlap {
                syscall,
                rules,
                pairs,
                complete,
                examples,
            } => {
                assert_eq!(examples.len(), 3);
                (syscall.clone(), *rules, *pairs, *complete)
            }
            _ => unreachable!(),
        })
        .collect();
    let expected: Vec<(String, usize, u64, bool)> = expected
        .iter()
        .map(|(s, r, n, c)| (s.to_string(), *r, *n, *c))
        .collect();
    assert_eq!(got, expected);
    for d in &overlaps {
        let text = d.describe(p);
        assert!(!text.contains('\n') && text.len() < 1000, "{text}");
    }
}

#[test]
fn regression_thousands_of_conflicting_unconditional_rules_give_one_line_per_syscall() {
    // A generated deny list: each name repeated with a different errno on every pass.
    let p = conflicting(|i| {
        let name = if i % 2 == 0 { "read" } else { "write" };
        Rule::new(Action::Errno(1 + (i / 2) as u16 % 4000), name)
    });
    // 1,500 rules each, all with different errnos: every pair overlaps.
    let all = 1500 * 1499 / 2;
    assert_one_short_line_per_syscall(&p, &[("read", 1500, all, true), ("write", 1500, all, true)]);
    let text = overlaps_of(&p)[0].describe(&p);
    assert!(
        text.starts_with("read: 1500 rules overlap with different actions in 1124250 pairs"),
        "{text}"
    );
}

#[test]
fn regression_thousands_of_conflicting_ioctl_values_give_one_line_per_syscall() {
    // An ioctl allow list with the same 1,000 values also denied: each value's two rules
    // overlap, no others do.
    let p = conflicting(|i| {
        let action = if i < 1000 {
            Action::Allow
        } else {
            Action::Errno(1)
        };
        Rule::new(action, "ioctl").with_cond(cond(1, CmpOp::Eq, (i % 1000) as u64))
    });
    // Values 0..999: one ALLOW and two ERRNO(1) each: two overlapping pairs per value.
    assert_one_short_line_per_syscall(&p, &[("ioctl", 3000, 2000, true)]);
}

#[test]
fn regression_thousands_of_conflicting_range_rules_are_counted_within_a_budget() {
    // Ranges overlap pair by pair; 4.5 million pairs are more than the check budget, so the
    // count is a lower bound and says so.
    let p = conflicting(|i| {
        let action = if i % 2 == 0 {
            Action::Allow
        } else {
            Action::Errno(1)
        };
        Rule::new(action, "ioctl").with_cond(cond(1, CmpOp::Gt, i as u64))
    });
    let overlaps = overlaps_of(&p);
    let [Diagnostic::Overlap {
        pairs, complete, ..
    }] = overlaps.as_slice()
    else {
        panic!("{overlaps:?}")
    };
    assert!(!complete && *pairs > 0 && *pairs < 3000 * 2999 / 2);
    assert!(overlaps[0].describe(&p).contains("at least"));
}

#[test]
fn a_rule_for_some_abis_exists_only_there() {
    let p = policy(
        Action::Errno(1),
        &[Arch::X86_64, Arch::X32, Arch::X86],
        vec![
            Rule::new(Action::Allow, "read").applying_on([Arch::X86]),
            Rule::new(Action::Allow, "write").applying_on([Arch::X32, Arch::X86_64]),
            Rule::new(Action::KillProcess, "write")
                .with_cond(cond(0, CmpOp::Eq, 7))
                .applying_on([Arch::X32]),
        ],
    );
    let read = |a: Arch| {
        p.decide(a, a.syscall_number("read").unwrap(), &NO_ARGS)
            .action
    };
    assert_eq!(read(Arch::X86), Action::Allow);
    assert_eq!(read(Arch::X86_64), Action::Errno(1));
    assert_eq!(read(Arch::X32), Action::Errno(1));
    let write = |a: Arch, fd: u64| {
        let nr = a.syscall_number("write").unwrap();
        p.decide(a, nr, &[fd, 0, 0, 0, 0, 0]).action
    };
    assert_eq!(write(Arch::X86, 7), Action::Errno(1));
    assert_eq!(write(Arch::X86_64, 7), Action::Allow);
    assert_eq!(write(Arch::X32, 7), Action::KillProcess);
    assert_eq!(write(Arch::X32, 8), Action::Allow);
}

#[test]
fn a_rule_for_other_abis_leaves_the_multiplexer_alone() {
    // socket allowed on x86_64 only: x86's socketcall(SYS_SOCKET) keeps the default.
    let p = policy(
        Action::Errno(1),
        &[Arch::X86_64, Arch::X86],
        vec![Rule::new(Action::Allow, "socket").applying_on([Arch::X86_64])],
    );
    let socketcall = Arch::X86.syscall_number("socketcall").unwrap();
    let args = [1, 0, 0, 0, 0, 0]; // SYS_SOCKET
    assert_eq!(
        p.decide(Arch::X86, socketcall, &args).action,
        Action::Errno(1)
    );
    let socket = Arch::X86_64.syscall_number("socket").unwrap();
    assert_eq!(
        p.decide(Arch::X86_64, socket, &NO_ARGS).action,
        Action::Allow
    );
    // Nothing to say about x86: no rule on socket applies there.
    assert_eq!(p.diagnostics().unwrap(), vec![]);
}

#[test]
fn names_an_abi_lacks_are_reported_only_where_the_rule_applies() {
    // `ugetrlimit` is x86's only: x86_64 lacks it.
    let only_x86 = Rule::new(Action::Allow, "ugetrlimit").applying_on([Arch::X86]);
    let mut p = policy(
        Action::Errno(1),
        &[Arch::X86_64, Arch::X86],
        vec![only_x86.clone()],
    );
    assert_eq!(p.diagnostics().unwrap(), vec![]);
    p.attrs.unknown_names = UnknownNames::Strict;
    assert_eq!(p.check(), Ok(()));
    let everywhere = Rule {
        only_on: None,
        ..only_x86
    };
    p.add_rule(everywhere).unwrap();
    assert!(matches!(
        p.check(),
        Err(PolicyError::UnknownOnArch {
            arch: Arch::X86_64,
            ..
        })
    ));
}
