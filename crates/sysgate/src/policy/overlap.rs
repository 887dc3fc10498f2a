//! Overlapping rules: which rules on one syscall can match the same call with different
//! actions ([`Diagnostic::Overlap`](super::Diagnostic::Overlap)).
//!
//! This module owns counting them; it does not own what an overlap means (the most restrictive
//! action wins: [`super::Policy::decide`]) or how it is worded ([`super::Diagnostic`]).
//!
//! A generated deny list or an ioctl allow list can hold thousands of rules on one syscall, so
//! the overlaps are summarised per syscall (a count of pairs and a few examples) in memory
//! linear in the rules, and counted without checking every pair where the rules' shape allows:
//! an unconditional rule overlaps every rule with another action; rules whose conditions are
//! all `==` on the same arguments overlap exactly when their values are equal, so they are
//! counted per value. Only the remaining conditional rules are checked pair by pair, up to a
//! budget; past it the count says "at least".

use std::collections::HashMap;

use super::{conds_satisfiable, Action, ArgCond, CmpOp, Rule};

/// How many example pairs one syscall's summary keeps.
pub(super) const EXAMPLES: usize = 3;

/// How many pairs of conditional rules one call of [`super::Policy::diagnostics`] checks one
/// by one, over all syscalls and architectures, before it settles for a lower bound.
pub(super) const PAIR_CHECKS: usize = 1_000_000;

/// Two rules that can match the same call with different actions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OverlapPair {
    /// The first rule (index into [`Policy::rules`](super::Policy::rules)).
    pub a: usize,
    /// The second rule, after `a`.
    pub b: usize,
    /// The rule whose action wins where both match (the more restrictive one).
    pub winner: usize,
}

impl OverlapPair {
    fn new(rules: &[Rule], x: usize, y: usize) -> OverlapPair {
        let (a, b) = (x.min(y), x.max(y));
        let winner = if rules[b].action.precedence() < rules[a].action.precedence() {
            b
        } else {
            a
        };
        OverlapPair { a, b, winner }
    }
}

/// The overlaps among the rules on one syscall of one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Summary {
    /// How many of the rules overlap at least one other.
    pub rules: usize,
    /// How many pairs overlap (found so far, when not `complete`).
    pub pairs: u64,
    /// Whether every pair was accounted for.
    pub complete: bool,
    /// The first few pairs, in rule order.
    pub examples: Vec<OverlapPair>,
}

/// Summarise the overlaps among `group` (indexes into `rules`, all on one syscall), spending
/// at most `budget` pair checks (and taking them off it). `None` if nothing overlaps.
pub(super) fn summarise(
    rules: &[Rule],
    group: &[usize],
    args_64bit: bool,
    budget: &mut usize,
) -> Option<Summary> {
    // A rule whose own conditions cannot hold never matches, so it overlaps nothing.
    let live: Vec<usize> = group
        .iter()
        .copied()
        .filter(|&i| conds_satisfiable(&rules[i].conds, args_64bit))
        .collect();
    let first_action = rules[*live.first()?].action;
    if live.iter().all(|&i| rules[i].action == first_action) {
        return None;
    }
    let (unconditional, conditional): (Vec<usize>, Vec<usize>) =
        live.iter().partition(|&&i| rules[i].conds.is_empty());

    let mut overlapping = vec![false; rules.len().min(group.iter().max()? + 1)];
    let mut pairs = 0u64;
    let mut examples = Vec::new();
    let mut complete = true;

    // Unconditional rules overlap every live rule with another action.
    if !unconditional.is_empty() {
        let mut per_action: HashMap<Action, (u64, u64)> = HashMap::new();
        for &i in &live {
            let e = per_action.entry(rules[i].action).or_default();
            if rules[i].conds.is_empty() {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let (u, c) = (unconditional.len() as u64, conditional.len() as u64);
        let same_uu: u64 = per_action.values().map(|(u, _)| u * u).sum();
        let same_uc: u64 = per_action.values().map(|(u, c)| u * c).sum();
        pairs += (u * u - same_uu) / 2 + (u * c - same_uc);
        for &i in &live {
            let (u_same, c_same) = per_action[&rules[i].action];
            let others = if rules[i].conds.is_empty() {
                live.len() as u64 - u_same - c_same
            } else {
                u - u_same
            };
            overlapping[i] = others > 0;
        }
        let first = unconditional[0];
        examples.extend(
            live.iter()
                .filter(|&&j| j != first && rules[j].action != rules[first].action)
                .take(EXAMPLES)
                .map(|&j| OverlapPair::new(rules, first, j)),
        );
    }

    // Conditional rules among themselves.
    let mut found = |x: usize, y: usize| {
        overlapping[x] = true;
        overlapping[y] = true;
        if examples.len() < 2 * EXAMPLES {
            examples.push(OverlapPair::new(rules, x, y));
        }
    };
    if let Some(keys) = equality_keys(rules, &conditional) {
        // All `==` on the same arguments: two overlap exactly when their values are equal.
        let mut by_values: HashMap<Vec<u64>, Vec<usize>> = HashMap::new();
        for (key, &i) in keys.into_iter().zip(&conditional) {
            by_values.entry(key).or_default().push(i);
        }
        let mut buckets: Vec<Vec<usize>> = by_values.into_values().collect();
        buckets.sort_unstable();
        for bucket in buckets {
            let mut per_action: HashMap<Action, u64> = HashMap::new();
            for &i in &bucket {
                *per_action.entry(rules[i].action).or_default() += 1;
            }
            if per_action.len() < 2 {
                continue;
            }
            let n = bucket.len() as u64;
            pairs += (n * n - per_action.values().map(|k| k * k).sum::<u64>()) / 2;
            // Every rule of a mixed bucket overlaps one with another action: pair the first
            // rule with each other action's rules, and one of those with the first's.
            let first = bucket[0];
            let other = bucket
                .iter()
                .copied()
                .find(|&j| rules[j].action != rules[first].action);
            for &j in &bucket[1..] {
                match other {
                    Some(o) if rules[j].action == rules[first].action => found(o, j),
                    _ => found(first, j),
                }
            }
        }
    } else {
        'pairs: for (x, &a) in conditional.iter().enumerate() {
            for &b in &conditional[x + 1..] {
                if rules[a].action == rules[b].action {
                    continue;
                }
                if *budget == 0 {
                    complete = false;
                    break 'pairs;
                }
                *budget -= 1;
                let both: Vec<ArgCond> = rules[a]
                    .conds
                    .iter()
                    .chain(&rules[b].conds)
                    .copied()
                    .collect();
                if conds_satisfiable(&both, args_64bit) {
                    pairs += 1;
                    found(a, b);
                }
            }
        }
    }
    if pairs == 0 {
        return (!complete).then_some(Summary {
            rules: 0,
            pairs: 0,
            complete,
            examples,
        });
    }
    examples.sort_unstable();
    examples.dedup();
    examples.truncate(EXAMPLES);
    Some(Summary {
        rules: overlapping.iter().filter(|o| **o).count(),
        pairs,
        complete,
        examples,
    })
}

/// For rules whose conditions are all `==` on one and the same set of arguments: each rule's
/// values, in argument order. `None` for any other mix.
fn equality_keys(rules: &[Rule], conditional: &[usize]) -> Option<Vec<Vec<u64>>> {
    let mut args: Option<Vec<usize>> = None;
    let mut keys = Vec::with_capacity(conditional.len());
    for &i in conditional {
        let mut conds: Vec<(usize, u64)> = Vec::with_capacity(rules[i].conds.len());
        for c in &rules[i].conds {
            if c.op() != CmpOp::Eq {
                return None;
            }
            conds.push((c.arg(), c.value()));
        }
        conds.sort_unstable();
        // A live rule's repeated `==` on one argument names one value.
        conds.dedup();
        let these: Vec<usize> = conds.iter().map(|(a, _)| *a).collect();
        match &args {
            None => args = Some(these),
            Some(a) if *a == these => {}
            Some(_) => return None,
        }
        keys.push(conds.into_iter().map(|(_, v)| v).collect());
    }
    Some(keys)
}
