//! Stage 1 of codegen: a [`Policy`] resolved for each audit token into ranges of syscall
//! numbers with identical decisions.
//!
//! This stage owns syscall-number semantics (names to numbers, multiplexers, x32 numbers on
//! the x86_64 token, `nr == -1`, unknown numbers). It knows nothing about BPF: a
//! [`Decision`] is still a list of rules, and the next stage lowers it.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::arch::{Arch, Multiplexed, SyscallId, X32_SYSCALL_BIT};
use crate::policy::{is_unknown_number, Action, ArgCond, Errno, Policy, Rule, Syscall};

/// What one syscall number decides: the first entry whose conditions all hold gives the
/// action, else `fallback`. Entries are sorted most restrictive first, so "first match" is
/// "most restrictive match", which is the policy's semantics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Decision {
    /// `(action, conditions)`, most restrictive first; every entry has conditions.
    pub entries: Vec<(Action, Vec<ArgCond>)>,
    /// The action when no entry matches.
    pub fallback: Action,
}

impl Decision {
    /// A decision without argument checks.
    pub fn constant(action: Action) -> Decision {
        Decision {
            entries: Vec::new(),
            fallback: action,
        }
    }

    /// Canonical form of "the most restrictive matching entry, else `fallback`".
    fn new(mut entries: Vec<(Action, Vec<ArgCond>)>, mut fallback: Action) -> Decision {
        for (_, conds) in &mut entries {
            conds.sort();
            conds.dedup();
        }
        entries.sort_by(|a, b| {
            a.0.precedence()
                .cmp(&b.0.precedence())
                .then_with(|| a.1.cmp(&b.1))
        });
        entries.dedup();
        // An unconditional entry decides everything after it (less restrictive entries and the
        // fallback can no longer be reached).
        if let Some(i) = entries.iter().position(|(_, c)| c.is_empty()) {
            fallback = entries[i].0;
            entries.truncate(i);
        }
        // Trailing entries that give the fallback anyway change nothing.
        while entries.last().is_some_and(|(a, _)| *a == fallback) {
            entries.pop();
        }
        Decision { entries, fallback }
    }

    /// Whether the decision needs argument checks.
    pub fn is_constant(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The decisions for one audit token: consecutive ranges covering every `u32` number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRanges {
    /// The `AUDIT_ARCH_*` value this block serves.
    pub token: u32,
    /// The ABIs behind the token (x86_64 and x32 share one).
    pub arches: Vec<Arch>,
    /// `(first number, decision)`, sorted by first number; the first starts at 0 and each
    /// range runs to the next start (the last to `u32::MAX`). Neighbours differ.
    pub ranges: Vec<(u32, Arc<Decision>)>,
}

impl TokenRanges {
    /// The decision for `nr`.
    #[cfg(test)]
    pub fn decision_for(&self, nr: u32) -> &Arc<Decision> {
        let i = self.ranges.partition_point(|(start, _)| *start <= nr) - 1;
        &self.ranges[i].1
    }
}

/// Resolve `policy` into per-token ranges, native architecture's token first (it is
/// checked first in the program).
pub fn token_ranges(policy: &Policy) -> Vec<TokenRanges> {
    let mut tokens: Vec<u32> = Vec::new();
    let native = Arch::native().audit_arch();
    let mut arches = policy.arches().to_vec();
    arches.sort_by_key(|a| (a.audit_arch() != native, *a));
    for a in &arches {
        if !tokens.contains(&a.audit_arch()) {
            tokens.push(a.audit_arch());
        }
    }
    // Each rule's name is looked up once here, not once per architecture.
    let ids: Vec<Option<SyscallId>> = policy
        .rules()
        .iter()
        .map(|r| match &r.syscall {
            Syscall::Name(name) => SyscallId::from_name(name),
            Syscall::Number(_) => None,
        })
        .collect();
    tokens
        .into_iter()
        .map(|token| {
            let members: Vec<Arch> = arches
                .iter()
                .copied()
                .filter(|a| a.audit_arch() == token)
                .collect();
            TokenRanges {
                token,
                ranges: ranges_for_token(policy, &ids, token, &members),
                arches: members,
            }
        })
        .collect()
}

/// Which slice of the number space an ABI owns under its token (`u32::MAX`, i.e. -1, is
/// handled separately). x86_64 and x32 share a token and split it by the x32 bit.
fn number_space(arch: Arch) -> (u32, u32) {
    match arch {
        Arch::X32 => (X32_SYSCALL_BIT, u32::MAX - 1),
        Arch::X86_64 => (0, X32_SYSCALL_BIT - 1),
        _ => (0, u32::MAX - 1),
    }
}

/// `ids`: each rule's [`SyscallId`] (`None` for a number or an unknown name).
fn ranges_for_token(
    policy: &Policy,
    ids: &[Option<SyscallId>],
    token: u32,
    arches: &[Arch],
) -> Vec<(u32, Arc<Decision>)> {
    let bad_arch = Arc::new(Decision::constant(policy.bad_arch_action()));
    // The default and ENOSYS as each ABI numbers errno names (x86_64 and x32 share one).
    let default_on =
        |arch: Arch| Arc::new(Decision::constant(policy.default_action().for_arch(arch)));
    let enosys_on = |arch: Arch| {
        Arc::new(Decision::constant(
            Action::NamedErrno(Errno::ENOSYS).for_arch(arch),
        ))
    };
    let numbering_of = arches.first().copied().unwrap_or(Arch::native());
    let default = default_on(numbering_of);
    let enosys = enosys_on(numbering_of);
    let enosys_for_unknown = policy.attrs.enosys_for_unknown_syscalls;
    // Equal decisions share one Arc: the next stage builds one node per Arc.
    let mut interned: HashMap<Decision, Arc<Decision>> = HashMap::default();
    let mut intern = |d: Decision| {
        interned
            .entry(d)
            .or_insert_with_key(|d| Arc::new(d.clone()))
            .clone()
    };

    // Each ABI's slice of the number space, in order (x86_64 and x32 split their token).
    let mut slices: Vec<(u32, u32, Arch)> = arches
        .iter()
        .map(|&a| {
            let (lo, hi) = number_space(a);
            (lo, hi, a)
        })
        .collect();
    slices.sort_unstable_by_key(|(lo, _, _)| *lo);

    // `(first number, decision)`: every number up to the next start has that decision.
    let mut points: Vec<(u32, Arc<Decision>)> = Vec::new();
    // The first number no slice has claimed yet: what lies between slices is bad-arch.
    let mut next = 0u32;
    for (lo, hi, arch) in slices {
        debug_assert!(lo >= next, "the ABIs of one token own disjoint slices");
        if lo > next {
            points.push((next, bad_arch.clone()));
        }
        let newest = arch.newest_syscall().1;
        let (default, enosys) = (default_on(arch), enosys_on(arch));
        // What a number no rule names gets: the default, or ENOSYS if it is unknown to the
        // table or above the profile's largest (runc's rule).
        let gap = |nr: u32| {
            if (enosys_for_unknown && is_unknown_number(arch, nr))
                || policy.enosys_above_applies(token, nr)
            {
                enosys.clone()
            } else {
                default.clone()
            }
        };
        let mut targeted = rules_by_number(policy, ids, arch);
        // A number rule outside this slice is not this ABI's.
        targeted.retain(|(nr, _, _)| (lo..=hi).contains(nr));
        // The numbers where the decision may change: the slice's start, each number a rule
        // names and the one after it, and, when unknown numbers get ENOSYS, the numbers
        // around the known ones above the newest.
        let mut starts: Vec<u32> = Vec::with_capacity(2 * targeted.len() + 1);
        starts.push(lo);
        let special = |starts: &mut Vec<u32>, nr: u32| {
            starts.push(nr);
            if nr < hi {
                starts.push(nr + 1);
            }
        };
        for (nr, _, _) in &targeted {
            special(&mut starts, *nr);
        }
        // runc's rule: ENOSYS from the threshold up (0 is its own range on s390).
        if let Some(&above) = policy.attrs.enosys_above.get(&arch) {
            if (lo..hi).contains(&above) {
                starts.push(above + 1);
            }
            starts.push(lo.max(1));
        }
        // On x86_64's token runc compares a number without the x32 bit with x86_64's
        // threshold, whichever slice it is in.
        if arch == Arch::X32 {
            starts.extend([0x8000_0000, 0xc000_0000]);
        }
        if enosys_for_unknown && (lo..hi).contains(&newest) {
            starts.push(newest + 1);
            for (_, nr) in arch.table().iter() {
                if nr > newest && nr <= hi {
                    special(&mut starts, nr);
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        // Both lists are sorted: walk them together.
        let mut rest = &mut targeted[..];
        for start in starts {
            let skip = rest.iter().take_while(|(nr, _, _)| *nr < start).count();
            rest = &mut rest[skip..];
            let here = rest.iter().take_while(|(nr, _, _)| *nr == start).count();
            let (group, after) = rest.split_at_mut(here);
            rest = after;
            let d = match group {
                [] => gap(start),
                // Most numbers: one rule without conditions.
                [(_, action, conds)] if conds.is_empty() => intern(Decision::constant(*action)),
                _ => {
                    let entries = group
                        .iter_mut()
                        .map(|(_, action, conds)| (*action, std::mem::take(conds)))
                        .collect();
                    intern(Decision::new(entries, gap(start).fallback))
                }
            };
            points.push((start, d));
        }
        // hi <= u32::MAX - 1: -1 is never in a slice.
        next = hi + 1;
    }
    if next < u32::MAX {
        points.push((next, bad_arch));
    }
    // nr == -1: a tracer skipped the call; the default applies, unless runc's ENOSYS rule
    // covers it.
    if policy.enosys_above_applies(token, u32::MAX) {
        points.push((u32::MAX, enosys));
    } else {
        points.push((u32::MAX, default));
    }

    let mut ranges: Vec<(u32, Arc<Decision>)> = Vec::with_capacity(points.len());
    for (start, d) in points {
        if ranges.last().is_some_and(|(_, prev)| *prev == d) {
            continue;
        }
        ranges.push((start, d));
    }
    ranges
}

/// Rules that name one syscall, with their indexes in the policy.
type NamedRules<'a> = Vec<(usize, &'a Rule)>;

/// Every rule that applies to a number on `arch`, including the multiplexed paths (what
/// [`Policy::rule_targets`] gives, with the names already looked up in `ids`): `(number,
/// action, conditions)` sorted by number, each number's rules in rule order.
fn rules_by_number(
    policy: &Policy,
    ids: &[Option<SyscallId>],
    arch: Arch,
) -> Vec<(u32, Action, Vec<ArgCond>)> {
    let mut targeted: Vec<(u32, Action, Vec<ArgCond>)> = Vec::with_capacity(ids.len());
    // Rules naming each multiplexed call, grouped in this one pass over the rules.
    let mut multiplexed: BTreeMap<&str, (Multiplexed, NamedRules)> = BTreeMap::new();
    for (i, (rule, id)) in policy.rules().iter().zip(ids).enumerate() {
        if !rule.applies_on(arch) {
            continue; // a rule for other ABIs only
        }
        let target = match rule.syscall {
            Syscall::Number(nr) => Some(nr),
            Syscall::Name(_) => id.and_then(|id| arch.syscall_number_of(id)),
        };
        if let Some(nr) = target {
            targeted.push((nr, rule.action.for_arch(arch), rule.conds.clone()));
        }
        if let Syscall::Name(name) = &rule.syscall {
            if let Some(via) = arch.multiplexed(name) {
                multiplexed
                    .entry(name)
                    .or_insert_with(|| (via, Vec::new()))
                    .1
                    .push((i, rule));
            }
        }
    }
    for (via, rules) in multiplexed.into_values() {
        if let Some((action, _)) = policy.multiplexed_outcome_of(arch, rules) {
            let call = ArgCond::new(0, crate::policy::CmpOp::Eq, u64::from(via.call))
                .expect("argument 0 exists");
            targeted.push((via.syscall, action, vec![call]));
        }
    }
    // Stable: each number's rules stay in the order above.
    targeted.sort_by_key(|(nr, _, _)| *nr);
    targeted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{CmpOp, Rule};

    #[test]
    fn unconditional_entry_cuts_off_the_rest() {
        let c = ArgCond::new(0, CmpOp::Eq, 1).unwrap();
        let d = Decision::new(
            vec![
                (Action::Allow, vec![]),
                (Action::Errno(1), vec![c]),
                (Action::Log, vec![c]),
                (Action::KillProcess, vec![]),
            ],
            Action::Errno(5),
        );
        assert_eq!(d, Decision::constant(Action::KillProcess));
        let d = Decision::new(
            vec![(Action::Errno(1), vec![c]), (Action::Allow, vec![])],
            Action::Trap(0),
        );
        assert_eq!(d.entries, vec![(Action::Errno(1), vec![c])]);
        assert_eq!(d.fallback, Action::Allow);
    }

    #[test]
    fn x86_64_token_holds_both_abis() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64, Arch::X32, Arch::X86]).unwrap();
        p.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        let t = token_ranges(&p);
        assert_eq!(t.len(), 2);
        let x86_64 = t.iter().find(|t| t.token == 0xc000_003e).unwrap();
        assert_eq!(x86_64.arches, vec![Arch::X86_64, Arch::X32]);
        let allow = Decision::constant(Action::Allow);
        assert_eq!(**x86_64.decision_for(0), allow);
        assert_eq!(**x86_64.decision_for(X32_SYSCALL_BIT), allow);
        assert_eq!(x86_64.decision_for(1).fallback, Action::Errno(1));
        assert_eq!(x86_64.decision_for(u32::MAX).fallback, Action::Errno(1));
        p.remove_arch(Arch::X32);
        let t = token_ranges(&p);
        let x86_64 = t.iter().find(|t| t.token == 0xc000_003e).unwrap();
        assert_eq!(
            x86_64.decision_for(X32_SYSCALL_BIT).fallback,
            Action::KillProcess
        );
        assert_eq!(x86_64.decision_for(u32::MAX).fallback, Action::Errno(1));
    }

    #[test]
    fn a_rule_for_one_abi_of_a_shared_token_stays_in_its_slice() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64, Arch::X32]).unwrap();
        p.add_rule(Rule::new(Action::Allow, "read").applying_on([Arch::X32]))
            .unwrap();
        let t = token_ranges(&p);
        let read_x32 = Arch::X32.syscall_number("read").unwrap();
        assert_eq!(
            **t[0].decision_for(read_x32),
            Decision::constant(Action::Allow)
        );
        assert_eq!(t[0].decision_for(0).fallback, Action::Errno(1));
        assert!(t[0].decision_for(0).is_constant());
    }

    #[test]
    fn neighbours_are_merged() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        for name in ["read", "write", "open", "close"] {
            p.add_rule(Rule::new(Action::Allow, name)).unwrap();
        }
        let t = token_ranges(&p);
        // [0,4) allow, [4, 0x40000000) errno, [0x40000000, MAX) bad arch, MAX errno.
        let starts: Vec<u32> = t[0].ranges.iter().map(|(s, _)| *s).collect();
        assert_eq!(starts, vec![0, 4, X32_SYSCALL_BIT, u32::MAX]);
    }
}
