//! A policy's decision as a partition of the input space into regions, each with the one
//! decision [`Policy::decide_raw`] gives everywhere in it.
//!
//! This file owns the partition and the one claim the proof rests on besides the BDDs:
//! the reference evaluator's decision depends on
//!
//! - the arch token only through whether the policy has it (every other token is bad-arch);
//! - nr only through which of these it is: a number some architecture with that token
//!   numbers (its table, the multiplexers), a number a rule names, 0, `u32::MAX` (-1), the
//!   x32 bit and the number below it, each table's newest number plus one, runc's ENOSYS
//!   threshold and the number above it (and, with a threshold, the ends of the ranges where
//!   the x32 bit is clear again: 2^31 - 1, 2^31, 3 * 2^30 - 1, 3 * 2^30); or which gap
//!   between two of those it lies in;
//! - the arguments only through the truth of the conditions of the rules on that number
//!   (on 32-bit ABIs over the low words, which is all `decide` reads there), and on a
//!   multiplexer's number through `a0 == call` for each multiplexed call;
//! - never on the instruction pointer.
//!
//! Each region's decision is not computed here: it is `decide_raw` at one input of the
//! region. The claim is checked where it is cheap (the two ends of every gap must decide
//! alike, or verification stops with [`VerifyError::Partition`]), and every counterexample
//! is confirmed by running `decide_raw` again on it, so a wrong claim cannot produce a false
//! counterexample silently. It can only hide one if `decide` changed in a way this list
//! misses: keep it in step with `policy/mod.rs`.

use std::collections::BTreeSet;

use biodivine_lib_bdd::Bdd;
use rustc_hash::FxHashMap;

use super::bits::Space;
use super::VerifyError;
use crate::arch::{Arch, X32_SYSCALL_BIT};
use crate::bpf::data;
use crate::policy::{ArgCond, CmpOp, Decision, Policy, Syscall};

/// A set of inputs on which the policy decides one thing.
pub(crate) struct Region {
    pub set: Bdd,
    pub decision: Decision,
    /// The number (or run of numbers) the region lies in, as a set, and a serial number
    /// for it: the regions of one number share it, so a caller can narrow large sets to it
    /// once per number instead of once per region.
    pub scope: (usize, Bdd),
}

/// Visit the regions of `policy` until `visit` returns false; returns how many were visited.
pub(crate) fn regions(
    space: &Space,
    policy: &Policy,
    mut visit: impl FnMut(Region) -> Result<bool, VerifyError>,
) -> Result<usize, VerifyError> {
    let tokens: BTreeSet<u32> = policy.arches().iter().map(|a| a.audit_arch()).collect();
    let token_set = |t: u32| space.word_in(data::ARCH, t, t);
    let mut count = 0;

    // Every token the policy does not have: one region.
    let mut others = space.t();
    for &t in &tokens {
        others = others.and_not(&token_set(t));
    }
    if let Some(w) = space.witness(&others) {
        count += 1;
        let decision = policy.decide_raw(w.arch, w.nr, &w.args);
        if !visit(Region {
            scope: (0, others.clone()),
            set: others,
            decision,
        })? {
            return Ok(count);
        }
    }

    for &token in &tokens {
        let in_token = token_set(token);
        let points = breakpoints(policy, token);
        let by_number = rules_by_number(policy, token, &points);
        // Neighbouring numbers that decide alike without reading arguments are one region:
        // (first, last, decision) of the run being collected.
        let mut run: Option<(u32, u32, Decision)> = None;
        let flush = |run: &mut Option<(u32, u32, Decision)>,
                     count: &mut usize,
                     visit: &mut dyn FnMut(Region) -> Result<bool, VerifyError>|
         -> Result<bool, VerifyError> {
            let Some((lo, hi, decision)) = run.take() else {
                return Ok(true);
            };
            *count += 1;
            let set = in_token.and(&space.word_in(data::NR, lo, hi));
            visit(Region {
                scope: (*count, set.clone()),
                set,
                decision,
            })
        };
        let mut next_free: u64 = 0;
        for &n in &points {
            let mut cells = Vec::with_capacity(2);
            if u64::from(n) > next_free {
                let (lo, hi) = (next_free as u32, n - 1);
                cells.push((lo, hi, gap_decision(policy, token, lo, hi)?));
            }
            next_free = u64::from(n) + 1;
            let atoms = atoms(space, policy, token, n, by_number.get(&n));
            if atoms.is_empty() {
                cells.push((n, n, policy.decide_raw(token, n, &[0; 6])));
            }
            for (lo, hi, decision) in cells {
                match &mut run {
                    Some((_, last, d))
                        if *d == decision && u64::from(*last) + 1 == u64::from(lo) =>
                    {
                        *last = hi;
                    }
                    _ => {
                        if !flush(&mut run, &mut count, &mut visit)? {
                            return Ok(count);
                        }
                        run = Some((lo, hi, decision));
                    }
                }
            }
            if atoms.is_empty() {
                continue;
            }
            if !flush(&mut run, &mut count, &mut visit)? {
                return Ok(count);
            }
            // A number whose decision reads arguments: one region per combination of the
            // conditions' truth values that some input has.
            let mut rest = in_token.and(&space.word_in(data::NR, n, n));
            let scope = (count + 1, rest.clone());
            while let Some(w) = space.witness(&rest) {
                count += 1;
                let decision = policy.decide_raw(token, n, &w.args);
                let mut set = rest.clone();
                for atom in &atoms {
                    set = if atom.holds(&w.args) {
                        set.and(&atom.set)
                    } else {
                        set.and_not(&atom.set)
                    };
                }
                rest = rest.and_not(&set);
                if !visit(Region {
                    set,
                    decision,
                    scope: scope.clone(),
                })? {
                    return Ok(count);
                }
            }
        }
        if !flush(&mut run, &mut count, &mut visit)? {
            return Ok(count);
        }
    }
    Ok(count)
}

/// The numbers where the decision on `token` may change (see the module docs); always
/// holds 0 and `u32::MAX`, so the gaps between them cover every number.
fn breakpoints(policy: &Policy, token: u32) -> Vec<u32> {
    let mut points: BTreeSet<u32> = [0, u32::MAX, X32_SYSCALL_BIT - 1, X32_SYSCALL_BIT].into();
    for arch in Arch::ALL.into_iter().filter(|a| a.audit_arch() == token) {
        points.extend(arch.table().iter().map(|(_, nr)| nr));
        points.insert(arch.newest_syscall().1.saturating_add(1));
        // runc's ENOSYS rule: above the largest number the profile names on this ABI. On
        // x86_64's token it picks x86_64 or x32 by the x32 bit alone (as runc's stub does), so
        // the numbers from 2^31 up to the next x32-bit number are x86_64's again there.
        if let Some(&above) = policy.attrs.enosys_above.get(&arch) {
            points.insert(above);
            points.insert(above.saturating_add(1));
            points.extend([0x7fff_ffff, 0x8000_0000, 0xbfff_ffff, 0xc000_0000]);
        }
    }
    for rule in policy.rules() {
        if let Syscall::Number(n) = rule.syscall {
            points.insert(n);
        }
    }
    points.into_iter().collect()
}

/// For each breakpoint, the rules that target it on the ABI that `decide` picks there.
fn rules_by_number(policy: &Policy, token: u32, points: &[u32]) -> FxHashMap<u32, Vec<usize>> {
    let mut out: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
    let abis: BTreeSet<Arch> = policy
        .arches()
        .iter()
        .copied()
        .filter(|a| a.audit_arch() == token)
        .collect();
    for arch in abis {
        for (i, rule) in policy.rules().iter().enumerate() {
            if let Some(n) = policy.rule_targets(rule, arch) {
                if points.binary_search(&n).is_ok() && policy.abi_for(token, n) == Some(arch) {
                    out.entry(n).or_default().push(i);
                }
            }
        }
    }
    out
}

/// The decision in a gap between breakpoints, checked at both ends.
fn gap_decision(policy: &Policy, token: u32, lo: u32, hi: u32) -> Result<Decision, VerifyError> {
    let zero = [0u64; 6];
    let first = policy.decide_raw(token, lo, &zero);
    let last = policy.decide_raw(token, hi, &zero);
    if first.action != last.action || first.by != last.by {
        return Err(VerifyError::Partition { token, lo, hi });
    }
    Ok(first)
}

/// One condition the decision on a number depends on, as a set of inputs.
struct Atom {
    set: Bdd,
    arg: usize,
    wide: bool,
    test: ArgTest,
}

enum ArgTest {
    Cond(ArgCond),
    Equals(u64),
}

impl Atom {
    fn holds(&self, args: &[u64; 6]) -> bool {
        let mut v = args[self.arg];
        if !self.wide {
            v &= 0xffff_ffff;
        }
        match &self.test {
            ArgTest::Cond(c) => c.holds(v),
            ArgTest::Equals(k) => v == *k,
        }
    }
}

/// The conditions `decide` reads for number `n` on `token`.
fn atoms(
    space: &Space,
    policy: &Policy,
    token: u32,
    n: u32,
    rules: Option<&Vec<usize>>,
) -> Vec<Atom> {
    let Some(arch) = policy.abi_for(token, n) else {
        return Vec::new();
    };
    if n == u32::MAX {
        return Vec::new();
    }
    let wide = arch.args_are_64bit();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for &i in rules.into_iter().flatten() {
        for c in &policy.rules()[i].conds {
            if seen.insert(*c) {
                out.push(Atom {
                    set: cond_set(space, c, wide),
                    arg: c.arg(),
                    wide,
                    test: ArgTest::Cond(*c),
                });
            }
        }
    }
    let mut calls = BTreeSet::new();
    for (_, via) in arch.multiplexed_calls() {
        if via.syscall == n && calls.insert(via.call) {
            let k = u64::from(via.call);
            out.push(Atom {
                set: space.eq_k(&space.arg_vars(0, wide), k),
                arg: 0,
                wide,
                test: ArgTest::Equals(k),
            });
        }
    }
    out
}

/// The inputs on which `cond` holds, reading the argument as `decide` does.
fn cond_set(space: &Space, cond: &ArgCond, wide: bool) -> Bdd {
    let vars = space.arg_vars(cond.arg(), wide);
    let k = cond.value();
    let lt = |k: u128| space.lt_k(&vars, k);
    match cond.op() {
        CmpOp::Eq => space.eq_k(&vars, k),
        CmpOp::Ne => space.eq_k(&vars, k).not(),
        CmpOp::Lt => lt(u128::from(k)),
        CmpOp::Le => lt(u128::from(k) + 1),
        CmpOp::Gt => lt(u128::from(k) + 1).not(),
        CmpOp::Ge => lt(u128::from(k)).not(),
        CmpOp::MaskedEq(mask) => {
            // The masked bits equal the value's; the value's other bits must be zero, and
            // on 32-bit ABIs the high word is zero.
            let width = vars.len();
            let fits = k & !mask == 0 && (width == 64 || (k & mask) >> 32 == 0);
            if !fits {
                return space.f();
            }
            let lits: Vec<_> = (0..width)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| (vars[i], k >> i & 1 == 1))
                .collect();
            space.cube(&lits)
        }
    }
}
