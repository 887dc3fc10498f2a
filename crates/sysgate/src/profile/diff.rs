//! The semantic difference between two policies: per architecture, the syscall numbers and
//! argument ranges where the reference evaluator decides differently, with both decisions.
//!
//! This module compares meanings, never text: it asks [`Policy::decide_raw`] of both policies.
//! To stay finite it cuts the syscall-number space where either policy's decision may change
//! (the compiler's ranges, [`crate::compile::decision_ranges`]) and each argument's value
//! space at every constant either policy compares it with, and evaluates one representative of
//! each piece. Between two such cut points every plain comparison (`==`, `<`, ...) has one
//! answer, so the pieces are exact for them. An argument tested only by masked comparisons
//! (`(a & m) == v`) depends on nothing but `a & M`, `M` the union of their masks: it is cut
//! into the classes `a & M == v`, one per value of those bits, and the classes that differ
//! alike are merged back into as few `a & m == v` as the bits allow; those are exact too. An
//! argument tested both ways, or by masks of more than [`MAX_MASK_BITS`] bits, is cut at the
//! values the constants produce and its difference is marked approximate: the decisions differ
//! at the piece's first value, not necessarily at every value of it. When one syscall's
//! arguments have more piece combinations than a fixed budget, the arguments beyond it are
//! held at zero and the syscall is listed as [`Difference::Unchecked`], never as alike.
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
use crate::compile::decision_ranges;
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
        /// Per argument, the values where the decisions differ; empty: any arguments.
        args: Vec<(usize, ArgValues)>,
        /// Whether `args` are approximate (an argument tested by masks and ranges at once):
        /// the decisions differ at the first value of each, not necessarily at all of them.
        approximate: bool,
        /// The first policy's decision.
        a: Action,
        /// The second policy's decision.
        b: Action,
    },
    /// Syscall numbers `first..=last` of `arch` whose arguments have too many combinations to
    /// compare at every piece: the arguments in `args` were held at zero, so the policies
    /// may differ at other values of them. Never read as "alike".
    Unchecked {
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
        /// The arguments held at zero.
        args: Vec<usize>,
    },
}

/// Values of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArgValues {
    /// Every value from the first to the second, both included.
    Range(u64, u64),
    /// Every value `a` with `a & mask == value`.
    Masked {
        /// The bits compared.
        mask: u64,
        /// What they equal.
        value: u64,
    },
}

impl ArgValues {
    /// The first value of the set (the one evaluated).
    fn first(self) -> u64 {
        match self {
            ArgValues::Range(lo, _) => lo,
            ArgValues::Masked { value, .. } => value,
        }
    }
}

/// Which calls a [`Difference`] is about: `x86_64: read (0)`, `token 0x...: 5 (no name)` or
/// `x86_64: 335..=423`.
fn write_calls(
    f: &mut fmt::Formatter<'_>,
    arch: Option<Arch>,
    token: u32,
    first: u32,
    last: u32,
    name: Option<&str>,
) -> fmt::Result {
    match arch {
        Some(arch) => write!(f, "{arch}: ")?,
        None => write!(f, "token {token:#x}: ")?,
    }
    match (name, first == last) {
        (Some(n), true) => write!(f, "{n} ({first})"),
        (_, true) => write!(f, "{first} (no name)"),
        (_, false) => write!(f, "{first}..={last}"),
    }
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
                approximate,
                a,
                b,
            } => {
                write_calls(f, *arch, *token, *first, *last, name.as_deref())?;
                for (i, (arg, values)) in args.iter().enumerate() {
                    f.write_str(if i == 0 { " when " } else { " and " })?;
                    match values {
                        ArgValues::Range(lo, hi) if lo == hi => write!(f, "a{arg} == {lo:#x}")?,
                        ArgValues::Range(lo, hi) => write!(f, "a{arg} in [{lo:#x}, {hi:#x}]")?,
                        ArgValues::Masked { mask, value } => {
                            write!(f, "a{arg} & {mask:#x} == {value:#x}")?
                        }
                    }
                }
                // Errnos named as this architecture numbers them (89 is ENOSYS on mips).
                match arch {
                    Some(arch) => write!(f, ": {} -> {}", a.on(*arch), b.on(*arch))?,
                    None => write!(f, ": {a} -> {b}")?,
                }
                if *approximate {
                    f.write_str(
                        " (approximate: masked and plain comparisons of one argument; \
                         `sysgate check` gives the answer for a value)",
                    )?;
                }
                Ok(())
            }
            Difference::Unchecked {
                arch,
                token,
                first,
                last,
                name,
                args,
            } => {
                write_calls(f, *arch, *token, *first, *last, name.as_deref())?;
                let held: Vec<String> = args.iter().map(|a| format!("a{a}")).collect();
                write!(
                    f,
                    ": not compared at every value of {} (too many argument combinations); \
                     compile both and compare them with `sysgate verify --bpf A --bpf B`",
                    held.join(", ")
                )
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
    let ra = decision_ranges(a);
    let rb = decision_ranges(b);
    let mut tokens: BTreeSet<u32> = ra.iter().map(|t| t.token()).collect();
    tokens.extend(rb.iter().map(|t| t.token()));
    for token in tokens {
        let mut starts: BTreeSet<u32> = BTreeSet::new();
        starts.insert(0);
        for t in ra.iter().chain(&rb).filter(|t| t.token() == token) {
            starts.extend(t.ranges().map(|r| *r.start()));
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

/// The most bits the masks testing one argument may have for it to be cut into exact
/// classes (`a & M == v`, 2^bits of them).
pub const MAX_MASK_BITS: u32 = 12;

/// One argument's value space cut into pieces where every condition on it has one answer,
/// and whether that is approximate (see the module documentation).
fn arg_pieces(conds: &[&ArgCond], max: u64) -> (Vec<ArgValues>, bool) {
    let mut masks = 0u64;
    let mut plain = false;
    for c in conds {
        match c.op() {
            CmpOp::MaskedEq(m) => masks |= m & max,
            _ => plain = true,
        }
    }
    let masked = conds.iter().any(|c| matches!(c.op(), CmpOp::MaskedEq(_)));
    if masked && !plain && masks.count_ones() <= MAX_MASK_BITS {
        // Every value of the mask's bits, in order: v walks the subsets of `masks`.
        let mut classes = Vec::new();
        let mut v = 0u64;
        loop {
            classes.push(ArgValues::Masked {
                mask: masks,
                value: v,
            });
            if v == masks {
                break;
            }
            v = (v.wrapping_sub(masks)) & masks;
        }
        return (classes, false);
    }
    let ranges = cut_points(conds, max)
        .into_iter()
        .map(|(lo, hi)| ArgValues::Range(lo, hi))
        .collect();
    (ranges, masked)
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
    let mut per_arg: BTreeMap<usize, Vec<ArgValues>> = BTreeMap::new();
    let mut approximate = false;
    for arg in 0..6 {
        let on: Vec<&ArgCond> = conds.iter().filter(|c| c.arg() == arg).collect();
        if !on.is_empty() {
            let (pieces, approx) = arg_pieces(&on, max);
            approximate |= approx;
            per_arg.insert(arg, pieces);
        }
    }
    // Keep the product of intervals bounded; the arguments left out are held at zero and
    // reported, so that a difference at their other values is never read as "alike".
    let mut total: usize = 1;
    let mut held = Vec::new();
    per_arg.retain(|arg, v| {
        if total.saturating_mul(v.len()) > MAX_POINTS {
            held.push(*arg);
            false
        } else {
            total *= v.len();
            true
        }
    });
    let args: Vec<(usize, Vec<ArgValues>)> = per_arg.into_iter().collect();
    let mut found: Vec<Found> = Vec::new();
    let mut idx = vec![0usize; args.len()];
    loop {
        let mut values = [0u64; 6];
        for (k, (arg, pieces)) in args.iter().enumerate() {
            values[*arg] = pieces[idx[k]].first();
        }
        let x = a.decide_raw(token, first, &values).action;
        let y = b.decide_raw(token, first, &values).action;
        if x != y {
            let pieces: Vec<(usize, ArgValues)> = args
                .iter()
                .enumerate()
                .map(|(k, (arg, pieces))| (*arg, pieces[idx[k]]))
                .collect();
            found.push(Found {
                args: pieces,
                a: x,
                b: y,
            });
        }
        // Next combination.
        let mut k = 0;
        loop {
            if k == args.len() {
                let found = merge_masked(found);
                let out = found.into_iter().map(|f| Difference::Calls {
                    arch,
                    token,
                    first,
                    last,
                    name,
                    // A whole value space, or a mask that tests nothing, says nothing.
                    args: f
                        .args
                        .into_iter()
                        .filter(|(_, v)| {
                            !matches!(v, ArgValues::Masked { mask: 0, .. })
                                && *v != ArgValues::Range(0, max)
                        })
                        .collect(),
                    approximate,
                    a: f.a,
                    b: f.b,
                });
                let mut out = merge_arg_ranges(out.collect());
                if !held.is_empty() {
                    out.push(Difference::Unchecked {
                        arch,
                        token,
                        first,
                        last,
                        name,
                        args: held,
                    });
                }
                return out;
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

/// Argument values where two decisions differ, before they become a [`Difference`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    args: Vec<(usize, ArgValues)>,
    a: Action,
    b: Action,
}

/// The masked classes of each argument that differ alike (same decisions, same other
/// arguments) merged into as few `a & m == v` as their bits allow.
fn merge_masked(mut found: Vec<Found>) -> Vec<Found> {
    let positions = found.first().map_or(0, |f| f.args.len());
    for k in 0..positions {
        // Group by everything but argument k's value; keep first-seen order.
        let mut groups: Vec<(Found, u64, BTreeSet<u64>)> = Vec::new();
        let mut rest = Vec::new();
        for f in found {
            let ArgValues::Masked { mask, value } = f.args[k].1 else {
                rest.push(f);
                continue;
            };
            let mut key = f.clone();
            key.args[k].1 = ArgValues::Masked { mask, value: 0 };
            match groups.iter_mut().find(|(g, m, _)| *g == key && *m == mask) {
                Some((_, _, values)) => {
                    values.insert(value);
                }
                None => groups.push((key, mask, BTreeSet::from([value]))),
            }
        }
        for (key, mask, values) in groups {
            for (mask, value) in cover(mask, &values) {
                let mut f = key.clone();
                f.args[k].1 = ArgValues::Masked { mask, value };
                rest.push(f);
            }
        }
        found = rest;
    }
    found
}

/// `(m, v)` pairs whose classes `a & m == v` together are exactly the values `a` with
/// `a & mask` in `values` (each a subset of `mask`): split on the highest bit, and what both
/// halves hold needs no test of it.
fn cover(mask: u64, values: &BTreeSet<u64>) -> Vec<(u64, u64)> {
    if values.is_empty() {
        return Vec::new();
    }
    if mask == 0 {
        return vec![(0, 0)];
    }
    let bit = 1u64 << (63 - mask.leading_zeros());
    let rest = mask & !bit;
    let clear: BTreeSet<u64> = values.iter().filter(|v| *v & bit == 0).copied().collect();
    let set: BTreeSet<u64> = values
        .iter()
        .filter(|v| *v & bit != 0)
        .map(|v| v & !bit)
        .collect();
    let both: BTreeSet<u64> = clear.intersection(&set).copied().collect();
    let mut out = cover(rest, &both);
    let only_clear: BTreeSet<u64> = clear.difference(&both).copied().collect();
    out.extend(
        cover(rest, &only_clear)
            .into_iter()
            .map(|(m, v)| (m | bit, v)),
    );
    let only_set: BTreeSet<u64> = set.difference(&both).copied().collect();
    out.extend(
        cover(rest, &only_set)
            .into_iter()
            .map(|(m, v)| (m | bit, v | bit)),
    );
    out.sort_by_key(|(m, v)| (*v, *m));
    out
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
            if let ([(pk, ArgValues::Range(_, phi))], [(k, ArgValues::Range(lo, hi))]) =
                (pa.as_mut_slice(), args.as_slice())
            {
                if px == a && py == b && pk == k && phi.checked_add(1) == Some(*lo) {
                    *phi = *hi;
                    continue;
                }
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

    /// Regression: with more argument combinations than MAX_POINTS, the arguments beyond
    /// the budget were held at zero and a difference only at their other values came out
    /// as "no difference".
    #[test]
    fn too_many_combinations_is_never_read_as_alike() {
        let build = |skip: Option<u64>| {
            let mut p = base();
            for k in 0..150u64 {
                let c = ArgCond::new(0, CmpOp::Eq, 1000 + k).unwrap();
                p.add_rule(Rule::new(Action::Allow, "read").with_cond(c))
                    .unwrap();
            }
            for j in (1..150u64).filter(|j| Some(*j) != skip) {
                let c = ArgCond::new(1, CmpOp::Eq, j).unwrap();
                p.add_rule(Rule::new(Action::Allow, "read").with_cond(c))
                    .unwrap();
            }
            p
        };
        let d = diff(&build(None), &build(Some(50)));
        assert!(!d.is_empty(), "a difference at a1 == 50 read as alike");
        assert!(d.iter().any(|d| matches!(
            d,
            Difference::Unchecked { name: Some("read"), args, .. } if args == &[1]
        )));
        assert!(d[d.len() - 1]
            .to_string()
            .starts_with("x86_64: read (0): not compared at every value of a1"));
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

    fn masked(mask: u64, value: u64) -> ArgCond {
        ArgCond::new(0, CmpOp::MaskedEq(mask), value).unwrap()
    }

    #[test]
    fn a_changed_mask_differs_exactly_where_the_masks_do() {
        // Docker's clone rule, and the same with CLONE_NEWCGROUP (0x02000000) left out of
        // the mask: they differ only where that bit is set and the others are clear.
        let mut a = base();
        a.add_rule(Rule::new(Action::Allow, "clone").with_cond(masked(0x7e02_0000, 0)))
            .unwrap();
        let mut b = base();
        b.add_rule(Rule::new(Action::Allow, "clone").with_cond(masked(0x7c02_0000, 0)))
            .unwrap();
        let d: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            d,
            ["x86_64: clone (56) when a0 & 0x7e020000 == 0x2000000: ERRNO(1 EPERM) -> ALLOW"]
        );
        // Where they agree (0x10000000: both refuse), nothing covers it.
        let nr = Arch::X86_64.syscall_number("clone").unwrap();
        let at = |p: &Policy, v: u64| p.decide(Arch::X86_64, nr, &[v, 0, 0, 0, 0, 0]).action;
        assert_eq!(at(&a, 0x1000_0000), at(&b, 0x1000_0000));
        assert_ne!(at(&a, 0x0200_0000), at(&b, 0x0200_0000));
    }

    #[test]
    fn masked_classes_merge_into_few_conditions() {
        // Allowed when bit 0 is clear, or when bits 0 and 1 are both set: the other policy
        // allows everything, so they differ when a0 & 3 == 1.
        let mut a = base();
        a.add_rule(Rule::new(Action::Allow, "clone").with_cond(masked(1, 0)))
            .unwrap();
        a.add_rule(Rule::new(Action::Allow, "clone").with_cond(masked(3, 3)))
            .unwrap();
        let mut b = base();
        b.add_rule(Rule::new(Action::Allow, "clone")).unwrap();
        let d: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            d,
            ["x86_64: clone (56) when a0 & 0x3 == 0x1: ERRNO(1 EPERM) -> ALLOW"]
        );
        // Two bits that do not matter are not tested.
        let mut a = base();
        a.add_rule(Rule::new(Action::Allow, "clone").with_cond(masked(0x10, 0)))
            .unwrap();
        a.add_rule(Rule::new(Action::Errno(13), "clone").with_cond(masked(0x21, 0x21)))
            .unwrap();
        let mut b = a.clone();
        b.retain_rules(|r| r.action != Action::Errno(13));
        let d: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            d,
            [
                "x86_64: clone (56) when a0 & 0x31 == 0x21: ERRNO(13 EACCES) -> ALLOW",
                "x86_64: clone (56) when a0 & 0x31 == 0x31: ERRNO(13 EACCES) -> ERRNO(1 EPERM)",
            ]
        );
    }

    #[test]
    fn masks_mixed_with_ranges_are_marked_approximate() {
        let mut a = base();
        a.add_rule(Rule::new(Action::Allow, "clone").with_cond(masked(0x10, 0)))
            .unwrap();
        let mut b = base();
        b.add_rule(
            Rule::new(Action::Allow, "clone").with_cond(ArgCond::new(0, CmpOp::Lt, 0x100).unwrap()),
        )
        .unwrap();
        let d = diff(&a, &b);
        assert!(!d.is_empty());
        for d in &d {
            assert!(
                d.to_string().ends_with(
                    "(approximate: masked and plain comparisons of one argument; `sysgate \
                     check` gives the answer for a value)"
                ),
                "{d}"
            );
        }
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
