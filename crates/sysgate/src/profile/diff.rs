//! The semantic difference between two policies: per architecture, the syscall numbers and
//! argument ranges where the reference evaluator decides differently, with both decisions.
//!
//! This module compares meanings, never text: it asks [`Policy::decide_raw`] of both policies.
//! To stay finite it cuts the syscall-number space where either policy's decision may change
//! (the compiler's ranges, [`crate::compile::ranges::token_ranges`]) and each argument's value
//! space at every constant either policy compares it with, and evaluates one representative of
//! each piece. Between two such cut points every plain comparison (`==`, `<`, ...) has one
//! answer, so the pieces are exact for them; masked comparisons (`(a & m) == v`) are checked at
//! the values their constants produce.
//!
//! ```
//! use sysgate::policy::{Action, Policy, Rule};
//! use sysgate::profile::diff::diff;
//! use sysgate::Arch;
//!
//! let mut a = Policy::new(Action::Errno(1));
//! a.set_arches([Arch::X86_64])?;
//! a.add_rule(Rule::new(Action::Allow, "read"))?;
//! let mut b = a.clone();
//! b.add_rule(Rule::new(Action::Allow, "write"))?;
//! let d = diff(&a, &b);
//! assert_eq!(d.len(), 1);
//! assert_eq!(d[0].to_string(), "x86_64: write (1): ERRNO(1 EPERM) -> ALLOW");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::arch::Arch;
use crate::compile::ranges::token_ranges;
use crate::policy::{Action, ArgCond, CmpOp, Policy, Syscall};

/// Where two policies decide differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// Calls from architectures a policy does not list get different bad-arch actions.
    OtherArches {
        /// What the first policy does with them.
        a: Action,
        /// What the second does.
        b: Action,
    },
    /// Syscall numbers `first..=last` of `arch`, with the arguments in `args`.
    Calls {
        /// The ABI (from the first policy that has it).
        arch: Option<Arch>,
        /// The audit token.
        token: u32,
        /// First number.
        first: u32,
        /// Last number.
        last: u32,
        /// The syscall's name if the range is one named syscall.
        name: Option<&'static str>,
        /// Per argument, the value range where the decisions differ; empty: any arguments.
        args: Vec<(usize, u64, u64)>,
        /// The first policy's decision.
        a: Action,
        /// The second policy's decision.
        b: Action,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::OtherArches { a, b } => {
                write!(f, "other architectures: {a} -> {b}")
            }
            Difference::Calls {
                arch,
                token,
                first,
                last,
                name,
                args,
                a,
                b,
            } => {
                match arch {
                    Some(arch) => write!(f, "{arch}: ")?,
                    None => write!(f, "token {token:#x}: ")?,
                }
                match (name, first == last) {
                    (Some(n), true) => write!(f, "{n} ({first})")?,
                    (_, true) => write!(f, "{first} (no name)")?,
                    (_, false) => write!(f, "{first}..={last}")?,
                }
                for (i, (arg, lo, hi)) in args.iter().enumerate() {
                    f.write_str(if i == 0 { " when " } else { " and " })?;
                    if lo == hi {
                        write!(f, "a{arg} == {lo:#x}")?;
                    } else {
                        write!(f, "a{arg} in [{lo:#x}, {hi:#x}]")?;
                    }
                }
                // Errnos named as this architecture numbers them (89 is ENOSYS on mips).
                match arch {
                    Some(arch) => write!(f, ": {} -> {}", a.on(*arch), b.on(*arch)),
                    None => write!(f, ": {a} -> {b}"),
                }
            }
        }
    }
}

/// Every difference between `a` and `b`, ordered by architecture token and number.
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::profile::diff::diff;
/// use sysgate::Arch;
///
/// let mut a = Policy::new(Action::Allow);
/// a.set_arches([Arch::X86_64])?;
/// let mut b = a.clone();
/// b.add_rule(Rule::new(Action::Errno(1), "socket").with_cond(ArgCond::new(0, CmpOp::Ge, 16)?))?;
/// let d = diff(&a, &b);
/// assert_eq!(d[0].to_string(), "x86_64: socket (41) when a0 in [0x10, 0xffffffffffffffff]: ALLOW -> ERRNO(1 EPERM)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(a: &Policy, b: &Policy) -> Vec<Difference> {
    let mut out = Vec::new();
    if a.attrs.bad_arch != b.attrs.bad_arch {
        out.push(Difference::OtherArches {
            a: a.attrs.bad_arch,
            b: b.attrs.bad_arch,
        });
    }
    let ra = token_ranges(a);
    let rb = token_ranges(b);
    let mut tokens: BTreeSet<u32> = ra.iter().map(|t| t.token).collect();
    tokens.extend(rb.iter().map(|t| t.token));
    for token in tokens {
        let mut starts: BTreeSet<u32> = BTreeSet::new();
        starts.insert(0);
        for t in ra.iter().chain(&rb).filter(|t| t.token == token) {
            starts.extend(t.ranges.iter().map(|(s, _)| *s));
        }
        let starts: Vec<u32> = starts.into_iter().collect();
        let arch_of = |nr: u32| a.abi_for(token, nr).or_else(|| b.abi_for(token, nr));
        let mut pending: Option<Difference> = None;
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(u32::MAX, |n| n - 1);
            // Within [start, end] neither policy's decision changes with the number, except
            // that each named syscall is its own rule target: walk names one by one, and the
            // unnamed stretches between them as one.
            for (first, last) in pieces(start, end, arch_of(start)) {
                for d in differences_at(a, b, token, first, last, arch_of(first)) {
                    match (&mut pending, &d) {
                        (
                            Some(Difference::Calls {
                                last: pl,
                                args: pa,
                                a: x,
                                b: y,
                                name: pn,
                                ..
                            }),
                            Difference::Calls {
                                first: f,
                                last: l,
                                args: da,
                                a: dx,
                                b: dy,
                                name: None,
                                ..
                            },
                        ) if pn.is_none()
                            && *pl + 1 == *f
                            && pa.is_empty()
                            && da.is_empty()
                            && x == dx
                            && y == dy =>
                        {
                            *pl = *l;
                        }
                        _ => {
                            if let Some(p) = pending.replace(d) {
                                out.push(p);
                            }
                        }
                    }
                }
            }
        }
        out.extend(pending);
    }
    out
}

/// `[start, end]` cut so that each named syscall of `arch` is a piece of its own.
fn pieces(start: u32, end: u32, arch: Option<Arch>) -> Vec<(u32, u32)> {
    let Some(arch) = arch else {
        return vec![(start, end)];
    };
    let named: Vec<u32> = arch
        .table()
        .iter()
        .map(|(_, nr)| nr)
        .filter(|nr| (start..=end).contains(nr))
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let mut out = Vec::new();
    let mut cur = start;
    for nr in named {
        if nr > cur {
            out.push((cur, nr - 1));
        }
        out.push((nr, nr));
        if nr == u32::MAX {
            return out;
        }
        cur = nr + 1;
    }
    if cur <= end {
        out.push((cur, end));
    }
    out
}

/// The conditions either policy tests for number `nr` of `arch` (its own rules and the
/// multiplexed calls it dispatches).
fn conds_for(p: &Policy, arch: Arch, nr: u32) -> Vec<ArgCond> {
    let mut out = Vec::new();
    for rule in p.rules() {
        let targets = p.rule_targets(rule, arch) == Some(nr);
        let via = match &rule.syscall {
            Syscall::Name(n) => arch.multiplexed(n).filter(|m| m.syscall == nr),
            Syscall::Number(_) => None,
        };
        if targets {
            out.extend(rule.conds.iter().copied());
        }
        if let Some(m) = via {
            out.push(ArgCond::new(0, CmpOp::Eq, u64::from(m.call)).expect("a0 exists"));
        }
    }
    out
}

/// Cut points of one argument: every constant, and the values masks produce.
fn cut_points(conds: &[&ArgCond], max: u64) -> Vec<(u64, u64)> {
    let mut cuts: BTreeSet<u64> = BTreeSet::new();
    cuts.insert(0);
    let mut points: BTreeSet<u64> = BTreeSet::new();
    for c in conds {
        let v = c.value();
        match c.op() {
            CmpOp::MaskedEq(m) => {
                points.insert(v & max);
                points.insert((v | !m) & max);
                points.insert(!m & max & !v);
            }
            CmpOp::Le | CmpOp::Gt => {
                cuts.insert(v.saturating_add(1).min(max));
                if v < max {
                    cuts.insert(v + 1);
                }
            }
            _ => {
                if v <= max {
                    cuts.insert(v);
                }
                if v < max {
                    cuts.insert(v + 1);
                }
            }
        }
    }
    let cuts: Vec<u64> = cuts.into_iter().collect();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (i, &lo) in cuts.iter().enumerate() {
        let hi = cuts.get(i + 1).map_or(max, |n| n - 1);
        // Points inside an interval get intervals of their own.
        let inside: Vec<u64> = points.range(lo..=hi).copied().collect();
        let mut cur = lo;
        for p in inside {
            if p > cur {
                out.push((cur, p - 1));
            }
            out.push((p, p));
            if p == u64::MAX {
                cur = p;
                break;
            }
            cur = p + 1;
        }
        if cur <= hi && !(cur == hi && out.last() == Some(&(hi, hi))) {
            out.push((cur, hi));
        }
    }
    out.dedup();
    out
}

/// The most argument combinations looked at for one syscall; beyond it, arguments beyond the
/// first few are held at zero (and the result says so by listing only what it checked).
const MAX_POINTS: usize = 1 << 14;

fn differences_at(
    a: &Policy,
    b: &Policy,
    token: u32,
    first: u32,
    last: u32,
    arch: Option<Arch>,
) -> Vec<Difference> {
    let name = arch.and_then(|ar| (first == last).then(|| ar.syscall_name(first)).flatten());
    let mut conds = Vec::new();
    if let Some(ar) = arch {
        conds.extend(conds_for(a, ar, first));
        conds.extend(conds_for(b, ar, first));
    }
    let max = match arch {
        Some(ar) if !ar.args_are_64bit() => u64::from(u32::MAX),
        _ => u64::MAX,
    };
    let mut per_arg: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    for arg in 0..6 {
        let on: Vec<&ArgCond> = conds.iter().filter(|c| c.arg() == arg).collect();
        if !on.is_empty() {
            per_arg.insert(arg, cut_points(&on, max));
        }
    }
    // Keep the product of intervals bounded.
    let mut total: usize = 1;
    per_arg.retain(|_, v| {
        if total.saturating_mul(v.len()) > MAX_POINTS {
            false
        } else {
            total *= v.len();
            true
        }
    });
    let args: Vec<(usize, Vec<(u64, u64)>)> = per_arg.into_iter().collect();
    let mut out = Vec::new();
    let mut idx = vec![0usize; args.len()];
    loop {
        let mut values = [0u64; 6];
        for (k, (arg, ivs)) in args.iter().enumerate() {
            values[*arg] = ivs[idx[k]].0;
        }
        let x = a.decide_raw(token, first, &values).action;
        let y = b.decide_raw(token, first, &values).action;
        if x != y {
            let ranges: Vec<(usize, u64, u64)> = args
                .iter()
                .enumerate()
                .map(|(k, (arg, ivs))| (*arg, ivs[idx[k]].0, ivs[idx[k]].1))
                .filter(|(_, lo, hi)| !(*lo == 0 && *hi == max))
                .collect();
            out.push(Difference::Calls {
                arch,
                token,
                first,
                last,
                name,
                args: ranges,
                a: x,
                b: y,
            });
        }
        // Next combination.
        let mut k = 0;
        loop {
            if k == args.len() {
                return merge_arg_ranges(out);
            }
            idx[k] += 1;
            if idx[k] < args[k].1.len() {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
    }
}

/// Neighbouring argument intervals of one argument with the same decisions become one.
fn merge_arg_ranges(diffs: Vec<Difference>) -> Vec<Difference> {
    let mut out: Vec<Difference> = Vec::new();
    for d in diffs {
        if let (
            Some(Difference::Calls {
                args: pa,
                a: px,
                b: py,
                ..
            }),
            Difference::Calls { args, a, b, .. },
        ) = (out.last_mut(), &d)
        {
            if px == a
                && py == b
                && pa.len() == 1
                && args.len() == 1
                && pa[0].0 == args[0].0
                && pa[0].2.checked_add(1) == Some(args[0].1)
            {
                pa[0].2 = args[0].2;
                continue;
            }
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Rule;

    fn base() -> Policy {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        p
    }

    #[test]
    fn identical_policies_have_no_difference() {
        let mut a = base();
        a.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        let mut b = base();
        b.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        b.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        assert!(diff(&a, &b).is_empty());
    }

    #[test]
    fn masked_and_ranges() {
        let mut a = base();
        a.add_rule(
            Rule::new(Action::Allow, "clone")
                .with_cond(ArgCond::new(0, CmpOp::MaskedEq(0x10), 0).unwrap()),
        )
        .unwrap();
        let mut b = base();
        b.add_rule(Rule::new(Action::Allow, "clone")).unwrap();
        let d = diff(&a, &b);
        assert!(!d.is_empty());
        assert!(d
            .iter()
            .all(|d| d.to_string().starts_with("x86_64: clone (56) when a0")));
    }

    #[test]
    fn unnamed_numbers_merge_and_arches_differ() {
        let a = base();
        let mut b = base();
        b.set_default_action(Action::Errno(38)).unwrap();
        b.attrs.bad_arch = Action::Allow;
        let d = diff(&a, &b);
        assert_eq!(
            d[0].to_string(),
            "other architectures: KILL_PROCESS -> ALLOW"
        );
        assert!(d.len() < 600, "{}", d.len());
        assert!(d.iter().any(|d| d.to_string().contains("..=")));
    }
}
