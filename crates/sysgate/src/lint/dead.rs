//! Dead weight and mistakes: rules that never match (`never-matches`), rules a more
//! restrictive rule always beats (`shadowed`), rules that say what the default says
//! (`same-as-default`), and deny lists (`deny-list`).
//!
//! This file owns these checks. Which rules overlap at all is the policy's own analysis
//! ([`Policy::diagnostics`](crate::policy::Policy::diagnostics), `policy/overlap.rs`); only
//! the syscalls it reports are searched for shadowed rules.

use std::collections::{BTreeMap, BTreeSet};

use super::{list, on_arches, Finding, Lint, Severity, Unique, Verdict, Way};
use crate::arch::Arch;
use crate::policy::{conds_satisfiable, Diagnostic, Rule, Syscall};

pub(super) fn check(l: &Lint<'_>, out: &mut Vec<Finding>) {
    never_matches(l, out);
    shadowed(l, out);
    same_as_default(l, out);
    deny_list(l, out);
}

/// Names per place, in first-seen order.
#[derive(Default)]
struct Names(Unique);

impl Names {
    fn add(&mut self, rule: &Rule) {
        self.0.push(rule.syscall.to_string());
    }

    fn all(&self) -> &[String] {
        &self.0.items
    }
}

fn never_matches(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let arches = l.policy.arches();
    let mut unknown: BTreeMap<String, Names> = BTreeMap::new();
    let mut impossible: BTreeMap<(String, Vec<Arch>), Names> = BTreeMap::new();
    for (i, rule) in l.policy.rules().iter().enumerate() {
        let targets: Vec<Arch> = arches
            .iter()
            .copied()
            .filter(|&a| {
                l.policy.rule_targets(rule, a).is_some()
                    || matches!(&rule.syscall, Syscall::Name(n) if a.multiplexed(n).is_some())
            })
            .collect();
        if targets.is_empty() {
            if matches!(rule.syscall, Syscall::Name(_)) {
                unknown.entry(l.rule_place(i)).or_default().add(rule);
            }
            continue;
        }
        let never: Vec<Arch> = targets
            .iter()
            .copied()
            .filter(|a| !conds_satisfiable(&rule.conds, a.args_are_64bit()))
            .collect();
        if !never.is_empty() {
            impossible
                .entry((l.rule_place(i), never))
                .or_default()
                .add(rule);
        }
    }
    for (at, names) in unknown {
        out.push(Finding {
            severity: Severity::Low,
            id: "never-matches",
            at,
            message: format!(
                "{} {} not a syscall on {}",
                list(names.all()),
                if names.all().len() == 1 { "is" } else { "are" },
                list(arches.iter().map(|a| a.name()))
            ),
            why: "a rule for a call the policy's ABIs do not have matches nothing; if it was \
                  meant for another ABI, that ABI is not filtered"
                .to_string(),
            fix: "drop the name, or add the ABI that has it".to_string(),
        });
    }
    for ((at, never), names) in impossible {
        let arches: BTreeSet<Arch> = never.into_iter().collect();
        out.push(Finding {
            severity: Severity::Low,
            id: "never-matches",
            at,
            message: format!(
                "the conditions of the rule for {} can never hold together {}",
                list(names.all()),
                on_arches(&arches)
            ),
            why: "no argument values satisfy every condition (on 32-bit ABIs an argument has \
                  no high word), so the rule never decides anything there"
                .to_string(),
            fix: "correct the values or operators (conditions on one rule are ANDed), or drop \
                  the rule"
                .to_string(),
        });
    }
}

/// Whether `winner` matches every call `rule` matches: it has no condition that `rule`
/// lacks.
fn covers(winner: &Rule, rule: &Rule) -> bool {
    winner.conds.iter().all(|c| rule.conds.contains(c))
}

/// Up to how many rules on one syscall `shadowed` compares every pair; above it, only
/// unconditional winners are looked for (a generated ioctl list can hold thousands of rules).
const PAIRWISE: usize = 512;

fn shadowed(l: &Lint<'_>, out: &mut Vec<Finding>) {
    // The policy's overlap analysis says which syscalls have overlapping rules at all.
    let overlapping: BTreeSet<String> = l
        .policy
        .diagnostics()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| match d {
            Diagnostic::Overlap { syscall, .. } => Some(syscall),
            _ => None,
        })
        .collect();
    if overlapping.is_empty() {
        return;
    }
    let rules = l.policy.rules();
    // Per winning rule: the rules it shadows (their places and names) and where.
    let mut found: BTreeMap<String, (Unique, Names, BTreeSet<Arch>)> = BTreeMap::new();
    for &arch in l.policy.arches() {
        for name in &overlapping {
            let Some(nr) = arch.syscall_number(name) else {
                continue;
            };
            let group = l.rules_on(arch, nr);
            let precedence = |i: usize| rules[i].action.for_arch(arch).precedence();
            // The most restrictive unconditional rule covers every rule; other winners are
            // looked for pair by pair only in groups small enough for that.
            let unconditional = group
                .iter()
                .copied()
                .filter(|&w| rules[w].conds.is_empty())
                .min_by_key(|&w| precedence(w));
            let pairwise = group.len() <= PAIRWISE;
            for &r in group {
                let rule = &rules[r];
                if !conds_satisfiable(&rule.conds, arch.args_are_64bit()) {
                    continue;
                }
                let mine = precedence(r);
                let winner = unconditional
                    .filter(|&w| w != r && precedence(w) < mine)
                    .or_else(|| {
                        pairwise
                            .then(|| {
                                group.iter().copied().find(|&w| {
                                    w != r && precedence(w) < mine && covers(&rules[w], rule)
                                })
                            })
                            .flatten()
                    });
                if let Some(w) = winner {
                    let e = found.entry(l.rule_place(w)).or_default();
                    e.0.push(l.rule_place(r));
                    e.1.add(rule);
                    e.2.insert(arch);
                }
            }
        }
    }
    for (by, (places, names, arches)) in found {
        let (first, rest) = (places.items[0].clone(), places.items.len() - 1);
        let rules = match rest {
            0 => format!("the rule for {}", list(names.all())),
            n => format!(
                "{} rules for {} (this one and {n} more)",
                n + 1,
                list(names.all())
            ),
        };
        out.push(Finding {
            severity: Severity::Low,
            id: "shadowed",
            at: first,
            message: format!(
                "{rules} never decide {}: the more restrictive rule at {by} matches every call \
                 they match",
                on_arches(&arches)
            ),
            why: "where several rules match, the most restrictive action wins (as in the \
                  kernel across stacked filters), whatever the order they are written in"
                .to_string(),
            fix: "drop the shadowed rules, or narrow the more restrictive one with conditions \
                  the others lack"
                .to_string(),
        });
    }
}

fn same_as_default(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let rules = l.policy.rules();
    let default = l.policy.default_action();
    let mut found: BTreeMap<String, (Names, BTreeSet<Arch>)> = BTreeMap::new();
    let mut least_restrictive: std::collections::HashMap<(Arch, u32), i32> = Default::default();
    for (r, rule) in rules.iter().enumerate() {
        let mut arches = BTreeSet::new();
        let mut matters = false;
        for &arch in l.policy.arches() {
            let Some(nr) = l.policy.rule_targets(rule, arch) else {
                continue;
            };
            let mine = rule.action.for_arch(arch);
            let group = l.rules_on(arch, nr);
            // It beats a less restrictive rule where both match, or (runc's rule) it is the
            // only one naming the largest number, below which the default applies.
            let least = *least_restrictive.entry((arch, nr)).or_insert_with(|| {
                group
                    .iter()
                    .map(|&o| rules[o].action.for_arch(arch).precedence())
                    .max()
                    .unwrap_or(i32::MIN)
            });
            let beats_another = least > mine.precedence();
            let sets_threshold =
                group.len() == 1 && l.policy.attrs.enosys_above.get(&arch) == Some(&nr);
            if mine != default.for_arch(arch) || beats_another || sets_threshold {
                matters = true;
                break;
            }
            arches.insert(arch);
        }
        if !matters && !arches.is_empty() {
            let e = found.entry(l.rule_place(r)).or_default();
            e.0.add(rule);
            e.1.extend(arches);
        }
    }
    for (at, (names, arches)) in found {
        out.push(Finding {
            severity: Severity::Low,
            id: "same-as-default",
            at,
            message: format!(
                "the rule for {} has the default action ({default}) and overrides no other \
                 rule {}",
                list(names.all()),
                on_arches(&arches)
            ),
            why: "the calls it matches get the default action without it, so it only makes \
                  the profile longer (libseccomp and LXC refuse such a rule)"
                .to_string(),
            fix: "drop the rule, or give it the action it was meant to have".to_string(),
        });
    }
}

fn deny_list(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let default = l.policy.default_action();
    if !default.permits() {
        return;
    }
    let Some(&arch) = l.policy.arches().first() else {
        return;
    };
    let refused = arch
        .table()
        .iter()
        .filter(|&(_, nr)| {
            matches!(
                l.verdict(Way {
                    arch,
                    nr,
                    call: None
                }),
                Verdict::Refused(_)
            )
        })
        .count();
    out.push(Finding {
        severity: Severity::Medium,
        id: "deny-list",
        at: l.default_place(),
        message: format!(
            "the default action is {default}: {refused} of {}'s {} syscalls are refused and \
             every other one runs",
            arch.name(),
            arch.table().len()
        ),
        why: "a deny list lets through whatever it forgot, every equivalent of what it \
              refuses, and every syscall later kernels add"
            .to_string(),
        fix: "refuse by default and allow what the workload needs (`sysgate learn` writes such \
              a list)"
            .to_string(),
    });
}
