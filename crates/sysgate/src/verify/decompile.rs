//! Decompiling: any seccomp filter stack turned back into the [`Policy`] it decides as.
//!
//! This file owns the way back down the pipeline, `Program -> Policy`. It does not run
//! programs itself: the symbolic run of [`super::program`] gives, for every action the
//! stack can take, the exact set of inputs that get it (BDDs over the 512 input bits). The
//! decompiler reads those sets top-down, in the variable order of [`super::bits`]:
//!
//! 1. the arch word: every token sysgate does not know must get one action (the bad-arch
//!    action); each known token whose calls do not all get it is an architecture of the
//!    policy (x86_64 and x32 share a token and are split at the x32 bit);
//! 2. the nr word: aligned blocks of numbers on which every set has the same rest, merged
//!    into ranges; the bulk of the unnamed numbers gives the default action, and a tail of
//!    numbers that all get `ENOSYS` is runc's rule ([`Attributes::enosys_above`]);
//! 3. the arguments, one 64-bit word at a time (32-bit on 32-bit ABIs, whose high words the
//!    kernel zeroes): the paths through an argument's bits are masked-equality cubes, which
//!    become `==`, `!=`, a range or `MASKED_EQ` conditions, and rules for each action are
//!    chosen so that "the most restrictive matching rule wins" gives exactly the program's
//!    partition;
//! 4. the multiplexed paths (`socketcall(SYS_SOCKET)` on x86): rules on `socket` by name
//!    decide that path too, so they are written in the one of their equivalent forms that
//!    leaves it what the filter gives it, or by number where none does.
//!
//! The result is then proven equal to the stack with [`super::filters_vs_policy`]; a policy
//! that is not proven is never returned. What a policy cannot say fails closed with a
//! [`DecompileError`] that names why: a program that reads the instruction pointer, returns
//! a value computed from its input, decides unknown arch tokens apart, needs a different
//! default on two architectures, or lets a multiplexed call through where neither rules by
//! name nor by number can say it. A syscall decided differently on two architectures gets
//! rules for each of them only.
//!
//! [`Attributes::enosys_above`]: crate::policy::Attributes::enosys_above

use std::collections::{BTreeMap, BTreeSet};

use biodivine_lib_bdd::{Bdd, BddPointer, BddVariable};
use rustc_hash::FxHashMap;

use super::bits::Space;
use super::{kernel_meaning, Reference, VerifyError};
use crate::arch::{Arch, Multiplexed, X32_SYSCALL_BIT};
use crate::bpf::{data, Program};
use crate::policy::{
    ret, Action, ArgCond, CmpOp, Errno, Policy, PolicyError, Rule, Syscall, MAX_CONDS,
};

/// Why a filter stack could not be turned into a policy. Nothing is returned rather than a
/// policy that decides differently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecompileError {
    /// The stack itself could not be read (no filter, an invalid program, mixed byte orders).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A policy cannot look at the instruction pointer.
    #[error(
        "the filter reads the instruction pointer for {where_}; a policy decides on the arch, \
         the syscall number and the arguments only"
    )]
    ReadsInstructionPointer {
        /// The calls whose decision depends on it.
        where_: String,
    },
    /// `ret a` with a value computed from the input.
    #[error(
        "the filter returns a value computed from its input (`ret a`) for {where_}; a policy \
         has one action per rule"
    )]
    ComputedReturn {
        /// The calls concerned.
        where_: String,
    },
    /// A return value that is no action (kept as the kernel reads it).
    #[error("the filter returns {value:#010x}, which is no seccomp action")]
    UnknownAction {
        /// The value.
        value: u32,
    },
    /// Calls from tokens no architecture has get different actions.
    #[error(
        "the filter decides calls from unknown arch tokens differently (token {token:#x} gets \
         {action}); a policy gives them all its one bad-arch action"
    )]
    UnknownTokens {
        /// A token that gets something else than the rest.
        token: u32,
        /// What it gets.
        action: String,
    },
    /// A run of numbers too long to list one rule per number.
    #[error(
        "on {arch}, syscall numbers {lo:#x} to {hi:#x} get {action} while the default is \
         {default}; a policy lists rules one syscall at a time"
    )]
    LongRange {
        /// The architecture.
        arch: Arch,
        /// First number.
        lo: u32,
        /// Last number.
        hi: u32,
        /// What they get.
        action: String,
        /// The policy's default action.
        default: String,
    },
    /// Two architectures' unnamed numbers get different actions.
    #[error(
        "the filter's default differs between architectures ({first} gets {first_action}, \
         {other} gets {other_action}); a policy has one default action: decompile a filter \
         for one of them"
    )]
    DefaultsDiffer {
        /// One architecture.
        first: Arch,
        /// Its default.
        first_action: String,
        /// Another.
        other: Arch,
        /// Its default.
        other_action: String,
    },
    /// The filter's decisions on one syscall take more conditions or rules than a policy
    /// holds, or the program's sets are too fragmented to read back.
    #[error("{what}: too complex to express as rules (more than {limit} {unit})")]
    TooComplex {
        /// Which call.
        what: String,
        /// The limit.
        limit: usize,
        /// Of what.
        unit: &'static str,
    },
    /// `nr == -1` (a tracer's skipped call) answered in a way that a policy with these
    /// architectures and runc's ENOSYS rule does not (it gives -1 the default, or ENOSYS
    /// where x32's threshold applies).
    #[error(
        "the filter answers nr -1 (a call a tracer skipped) in a way a policy cannot say: \
         the policy would decide {detail}"
    )]
    SkippedCall {
        /// The input and both answers.
        detail: String,
    },
    /// The policy read back did not prove equal to the filter (a bug here; nothing is
    /// returned rather than something false).
    #[error(
        "internal error: the decompiled policy decides {detail}; please report this with the \
         filter"
    )]
    NotExact {
        /// The input and both answers.
        detail: String,
    },
    /// The policy could not be built.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The filter that selects the ABIs to read back could not be built.
    #[error(transparent)]
    Compile(#[from] crate::compile::CompileError),
}

/// Limits that keep a pathological program from taking forever.
const MAX_BLOCKS: usize = 1 << 20;
const MAX_PATHS: usize = 4096;
const MAX_RULE_NUMBERS: u64 = 1 << 16;

/// One answer over the arguments: the actions and the argument sets that get them.
type Partition = Vec<(Action, Bdd)>;

/// Literals fixing some input variables: one path through a BDD, or a cube.
type Lits = Vec<(BddVariable, bool)>;

/// Where a wanted rule set came from: the number's answers and what no rule gives it.
type Source<'a> = (&'a Partition, Action);

/// The rules one syscall number needs on one architecture: (action, conditions), sorted.
type RuleSet = Vec<(Action, Vec<ArgCond>)>;

/// Turn the stacked `filters` (install order, as the kernel runs them newest first) into a
/// policy that decides exactly as they do on every input the kernel can pass, proven so
/// with [`super::filters_vs_policy`].
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::{compile, verify, Arch};
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// policy.add_rule(Rule::new(Action::Allow, "write").with_cond(ArgCond::new(0, CmpOp::Le, 2)?))?;
/// let compiled = compile::compile(&policy)?;
///
/// let back = verify::decompile(&compiled.programs)?;
/// assert_eq!(back.default_action(), Action::Errno(1));
/// assert_eq!(back.arches(), &[Arch::X86_64]);
/// assert!(verify::filters_vs_policy(&compiled.programs, &back, 1)?.proven());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decompile(filters: &[Program]) -> Result<Policy, DecompileError> {
    decompile_stack(filters, false)
}

/// [`decompile`] as seen from the ABIs `abis` only: the policy decides exactly as the
/// filters on calls from those ABIs, and kills calls from every other one (never more
/// permissive than the filters). `nr == -1` (a call a tracer skipped, which belongs to no
/// ABI) may get a more restrictive answer than the filters give it, where a policy without
/// the other ABIs cannot say theirs (runc's ENOSYS stub answers it with x32's threshold). For a filter that one policy cannot describe on all of its
/// ABIs, such as libseccomp's on amd64, which compares only the low word of an x32 call's
/// arguments but all of an x86_64 call's.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::{compile, verify, Arch};
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64, Arch::X32])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// let filters = compile::compile(&policy)?.programs;
/// let back = verify::decompile_abis(&filters, &[Arch::X86_64])?;
/// assert_eq!(back.arches(), &[Arch::X86_64]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decompile_abis(filters: &[Program], abis: &[Arch]) -> Result<Policy, DecompileError> {
    // A filter that allows the chosen ABIs and kills the rest, stacked on the others: the
    // combination is what the filters decide as seen from those ABIs.
    let mut only = Policy::new(Action::Allow);
    only.set_arches(abis.iter().copied())?;
    only.attrs.bad_arch = Action::KillProcess;
    let guard = crate::compile::compile(&only)?;
    let mut stack = filters.to_vec();
    stack.extend(guard.programs);
    decompile_stack(&stack, true)
}

/// With `narrower_skipped_call`, a policy that answers `nr == -1` (a call a tracer
/// skipped, from no ABI) more restrictively than the filters is accepted.
fn decompile_stack(
    filters: &[Program],
    narrower_skipped_call: bool,
) -> Result<Policy, DecompileError> {
    let endian = super::common_endian(filters)?;
    let space = Space::new(endian);
    let outcomes = super::stacked(&space, filters)?;
    if let Some((reach, _)) = outcomes.computed.first() {
        return Err(DecompileError::ComputedReturn {
            where_: describe(&space, reach),
        });
    }
    let mut sets: Vec<(Action, Bdd)> = Vec::new();
    for (&k, reach) in &outcomes.constants {
        let action = Action::from_ret(k)
            .or_else(|| Action::from_ret(k & ret::ACTION_FULL))
            .ok_or(DecompileError::UnknownAction { value: k })?;
        sets.push((action, reach.clone()));
    }
    sets.sort_by_key(|(a, _)| (a.precedence(), *a));
    let ip: BTreeSet<BddVariable> = space
        .vars_of(data::IP)
        .into_iter()
        .chain(space.vars_of(data::IP + 4))
        .collect();
    for (_, set) in &sets {
        if set.support_set().iter().any(|v| ip.contains(v)) {
            return Err(DecompileError::ReadsInstructionPointer {
                where_: describe_dependence(&space, set, &ip),
            });
        }
    }

    // 1. Arch tokens.
    let candidates: BTreeMap<u32, Vec<Arch>> = Arch::ALL
        .into_iter()
        .filter(|a| a.endian() == endian)
        .fold(BTreeMap::new(), |mut m, a| {
            m.entry(a.audit_arch()).or_insert_with(Vec::new).push(a);
            m
        });
    let mut others = space.t();
    for &t in candidates.keys() {
        others = others.and_not(&space.word_in(data::ARCH, t, t));
    }
    let bad_arch = single_action(&sets, &others).map_err(|(action, witness)| {
        DecompileError::UnknownTokens {
            token: space.witness(&witness).map_or(0, |d| d.arch),
            action: action.to_string(),
        }
    })?;

    // 2. Per architecture: ranges of numbers and what each range decides.
    let mut abis: Vec<Abi> = Vec::new();
    for (&token, arches) in &candidates {
        let lits = word_lits(&space, data::ARCH, token);
        let restricted: Vec<(Action, Bdd)> = sets
            .iter()
            .map(|(a, s)| (*a, s.restrict(&lits)))
            .filter(|(_, s)| !s.is_false())
            .collect();
        if restricted.len() == 1 && restricted[0].0 == bad_arch {
            continue;
        }
        // nr == -1 (a skipped call) gets the default, unless runc's ENOSYS rule answers it.
        let minus_one = {
            let at = word_lits(&space, data::NR, u32::MAX);
            let hits: Vec<Action> = restricted
                .iter()
                .filter(|(_, s)| !s.restrict(&at).is_false())
                .map(|(a, _)| *a)
                .collect();
            (hits.len() == 1).then(|| hits[0])
        };
        for &arch in arches {
            let mut abi = read_abi(&space, arch, &restricted)?;
            abi.minus_one = minus_one;
            if abi.ranges.iter().all(|r| {
                r.partition.len() == 1 && r.partition[0].0 == bad_arch && r.unconditional()
            }) {
                continue;
            }
            abis.push(abi);
        }
    }

    // 3. The default and runc's ENOSYS tail, per architecture, then one default for all.
    let mut policy = Policy::new(bad_arch);
    policy.attrs.bad_arch = bad_arch;
    let Some(first) = abis.first() else {
        // Every call gets one action.
        let arch = candidates
            .values()
            .flatten()
            .next()
            .copied()
            .unwrap_or(Arch::native());
        policy.set_arches([arch])?;
        return Ok(policy);
    };
    let (first_arch, default) = (first.arch, first.default_guess());
    for abi in &abis {
        let d = abi.default_guess();
        if d != default {
            return Err(DecompileError::DefaultsDiffer {
                first: first_arch,
                first_action: default.to_string(),
                other: abi.arch,
                other_action: d.to_string(),
            });
        }
    }
    policy.set_default_action(default)?;
    policy.set_arches(abis.iter().map(|a| a.arch))?;
    for abi in &abis {
        let enosys = Action::NamedErrno(Errno::ENOSYS).for_arch(abi.arch);
        if let Some(t) = abi.enosys_threshold(default, enosys) {
            policy.attrs.enosys_above.insert(abi.arch, t);
        }
    }

    // 4. Rules: for each number whose answer differs from what no rule gives.
    let mut wanted: BTreeMap<(Arch, u32), RuleSet> = BTreeMap::new();
    // Where each wanted rule set came from, for the multiplexers below.
    let mut sources: BTreeMap<(Arch, u32), Source> = BTreeMap::new();
    let mut residual_cache: FxHashMap<(Arch, Vec<BddPointer>, Action), RuleSet> =
        FxHashMap::default();
    for abi in &abis {
        let threshold = policy.attrs.enosys_above.get(&abi.arch).copied();
        let enosys = Action::NamedErrno(Errno::ENOSYS).for_arch(abi.arch);
        for r in &abi.ranges {
            // What a number of this range gets when no rule matches (the threshold splits
            // a range at most once).
            let mut pieces = vec![(r.lo, r.hi, default)];
            if let Some(t) = threshold {
                pieces = split_at(r.lo, r.hi, t, default, enosys);
            }
            for (lo, hi, none) in pieces {
                if r.unconditional() && r.partition[0].0 == none {
                    continue;
                }
                if u64::from(hi) - u64::from(lo) + 1 > MAX_RULE_NUMBERS {
                    return Err(DecompileError::LongRange {
                        arch: abi.arch,
                        lo,
                        hi,
                        action: r
                            .partition
                            .iter()
                            .map(|(a, _)| a.to_string())
                            .collect::<Vec<_>>()
                            .join(" or "),
                        default: none.to_string(),
                    });
                }
                let key = (abi.arch, r.key.clone(), none);
                let rules = match residual_cache.get(&key) {
                    Some(rules) => rules.clone(),
                    None => {
                        let what = format!("{} on {}", call_name(abi.arch, lo), abi.arch);
                        let rules = rules_for(&space, abi.arch, &r.partition, none, false, &what)?;
                        residual_cache.insert(key, rules.clone());
                        rules
                    }
                };
                for nr in lo..=hi {
                    wanted.insert((abi.arch, nr), rules.clone());
                    sources.insert((abi.arch, nr), (&r.partition, none));
                }
            }
        }
    }
    // 5. The multiplexed paths: `socketcall(SYS_SOCKET)` gets what `socket`'s rules by name
    // give it (see `settle_multiplexed`).
    let numbered = settle_multiplexed(&space, &policy, &abis, &mut wanted, &sources)?;
    emit_rules(&space, &mut policy, &abis, &wanted, &numbered)?;

    // 6. Never return a policy that is not proven to be the filter.
    let report = super::filters_vs_policy(filters, &policy, 16)?;
    let narrower_at_minus_one = |m: &&super::Mismatch| {
        let policy_ret = match m.reference {
            Reference::Policy(d) => d.action.to_ret(),
            Reference::Filters(v) => v,
        };
        narrower_skipped_call
            && m.data.nr == u32::MAX
            && (kernel_meaning(policy_ret) as i32) <= (kernel_meaning(m.filters) as i32)
    };
    match report.mismatches.iter().find(|m| !narrower_at_minus_one(m)) {
        None => Ok(policy),
        Some(m) if m.data.nr == u32::MAX => Err(DecompileError::SkippedCall {
            detail: mismatch_text(m),
        }),
        Some(m) => Err(DecompileError::NotExact {
            detail: mismatch_text(m),
        }),
    }
}

/// Chooses how the rules of each multiplexed call are written, so that its multiplexed path
/// gets what the filter gives it, and returns the calls whose rules must be written by
/// number (with what to say if numbers cannot say it either).
///
/// The compiler gives `socketcall(SYS_SOCKET)` the most restrictive action among `socket`'s
/// rules by name, and the default as well when none of them is unconditional (`M`), besides
/// the rules on `socketcall` itself; rules by number reach the direct call only. So the path
/// is exact when `M` is no stricter than the least restrictive answer the filter gives on it
/// (the rules on `socketcall` then give every stricter one; where some calls on the path
/// match none of them, they are written with an unconditional base rule, so that no call is
/// left to `M`). Rules that give the
/// direct call its decisions can be written three ways: as read, with an unconditional rule
/// for its least restrictive answer (`M` = the strictest answer), or with every rule
/// conditional (`M` = the strictest answer a rule gives, or the default); no rule set by name
/// leaves `M` less strict than both. When neither fits, the direct call's rules are written
/// by number, which leaves the path to the multiplexer's own rules.
fn settle_multiplexed(
    space: &Space,
    policy: &Policy,
    abis: &[Abi],
    wanted: &mut BTreeMap<(Arch, u32), RuleSet>,
    sources: &BTreeMap<(Arch, u32), Source>,
) -> Result<BTreeSet<&'static str>, DecompileError> {
    // What a number gets when no rule matches.
    let none_at = |arch: Arch, nr: u32| match policy.attrs.enosys_above.get(&arch) {
        Some(&t) if nr > t => Action::NamedErrno(Errno::ENOSYS).for_arch(arch),
        _ => policy.default_action().for_arch(arch),
    };
    let names: BTreeSet<&'static str> = abis
        .iter()
        .flat_map(|abi| abi.arch.multiplexed_calls().map(|(name, _)| name))
        .collect();
    let mut numbered = BTreeSet::new();
    for name in names {
        // Per ABI with the multiplexer: the least restrictive answer on the path, and
        // whether some calls on it match no rule on the multiplexer (they get its default).
        let paths: Vec<(Arch, Multiplexed, Action, bool)> = abis
            .iter()
            .filter_map(|abi| Some((abi.arch, abi.arch.multiplexed(name)?)))
            .map(|(arch, via)| {
                let lits: Lits = space
                    .arg_vars(0, true)
                    .into_iter()
                    .enumerate()
                    .map(|(bit, v)| (v, u64::from(via.call) >> bit & 1 == 1))
                    .collect();
                let none = none_at(arch, via.syscall);
                let Some((partition, _)) = sources.get(&(arch, via.syscall)) else {
                    return (arch, via, none, true);
                };
                let answers: Vec<Action> = partition
                    .iter()
                    .filter(|(_, s)| !s.restrict(&lits).is_false())
                    .map(|(a, _)| *a)
                    .collect();
                let least = answers.iter().copied().max_by_key(|a| a.precedence());
                (arch, via, least.unwrap_or(none), answers.contains(&none))
            })
            .collect();
        // The entry whose rules are written for the name (as `emit_rules` orders them).
        let Some(owner) = wanted
            .keys()
            .filter(|(arch, nr)| arch.syscall_name(*nr) == Some(name))
            .min_by_key(|(arch, nr)| (!arch.args_are_64bit(), *arch, *nr))
            .copied()
        else {
            // No rule names the call: its path is the multiplexer's rules alone.
            continue;
        };
        let (partition, none) = sources[&owner];
        let what = format!("{name} on {}", owner.0);
        let all_conditional = rules_for(space, owner.0, partition, none, false, &what)?
            .into_iter()
            .map(|(action, mut conds)| {
                if conds.is_empty() {
                    // `a0 >= 0` always holds.
                    conds.push(ArgCond::new(0, CmpOp::Ge, 0).expect("argument 0 exists"));
                }
                (action, conds)
            })
            .collect();
        let candidates = [
            wanted[&owner].clone(),
            rules_for(space, owner.0, partition, none, true, &what)?,
            all_conditional,
        ];
        let outcome = |rules: &RuleSet, arch: Arch| {
            let rules: Vec<Rule> = rules
                .iter()
                .map(|(action, conds)| Rule::new(*action, name).with_conds(conds.iter().copied()))
                .collect();
            policy
                .multiplexed_outcome_of(arch, rules.iter().enumerate())
                .map(|(action, _)| action)
        };
        let fits = |rules: &RuleSet| {
            paths.iter().all(|(arch, _, least, _)| {
                outcome(rules, *arch).is_none_or(|m| m.precedence() >= least.precedence())
            })
        };
        let Some(chosen) = candidates.iter().find(|rules| fits(rules)) else {
            // Even the least strict rule set by name is too strict on the path: the direct
            // call's rules go by number (for the ABIs that want them), and the path keeps the
            // multiplexer's own rules.
            numbered.insert(name);
            continue;
        };
        for (arch, via, _, unmatched) in &paths {
            let none_there = none_at(*arch, via.syscall);
            if !unmatched || outcome(chosen, *arch).is_none_or(|m| m == none_there) {
                continue;
            }
            // A call on the path that matches no rule on the multiplexer would get `M`:
            // every call must match one.
            let base = match sources.get(&(*arch, via.syscall)) {
                Some((partition, none)) => {
                    let what = format!("{} on {arch}", call_name(*arch, via.syscall));
                    rules_for(space, *arch, partition, *none, true, &what)?
                }
                None => vec![(none_there, Vec::new())],
            };
            wanted.insert((*arch, via.syscall), base);
        }
        wanted.insert(owner, chosen.clone());
    }
    Ok(numbered)
}

fn mismatch_text(m: &super::Mismatch) -> String {
    let policy_says = match m.reference {
        Reference::Policy(d) => d.action.to_string(),
        Reference::Filters(v) => format!("{v:#010x}"),
    };
    format!(
        "{policy_says} where the filter returns {:#010x}, at arch {:#x} nr {} args {:x?}",
        m.filters, m.data.arch, m.data.nr, m.data.args
    )
}

/// What the filter decides on one ABI: its numbers as ranges.
struct Abi {
    arch: Arch,
    ranges: Vec<NrRange>,
    /// What the token's `nr == -1` gets, if it reads no argument.
    minus_one: Option<Action>,
}

/// Numbers `lo..=hi` on which every action's argument set is the same.
struct NrRange {
    lo: u32,
    hi: u32,
    /// Identifies the argument sets (equal keys, equal sets).
    key: Vec<BddPointer>,
    partition: Partition,
}

impl NrRange {
    fn unconditional(&self) -> bool {
        self.partition.len() == 1
    }
}

impl Abi {
    /// The action most unnamed numbers get (below runc's ENOSYS tail, if there is one):
    /// what no rule can name is what the default decides.
    fn default_guess(&self) -> Action {
        let enosys = Action::NamedErrno(Errno::ENOSYS).for_arch(self.arch);
        if let Some(a) = self.minus_one.filter(|a| *a != enosys) {
            return a;
        }
        let tail = self.enosys_tail(enosys);
        let mut count: BTreeMap<Action, u64> = BTreeMap::new();
        let mut any_conditional = None;
        for r in &self.ranges {
            if !r.unconditional() {
                any_conditional.get_or_insert(r.partition[0].0);
                continue;
            }
            let hi = match tail {
                Some(t) if r.lo > t => continue,
                Some(t) => r.hi.min(t),
                None => r.hi,
            };
            let named = (r.lo..=hi)
                .take(MAX_RULE_NUMBERS as usize + 1)
                .filter(|&n| self.arch.syscall_name(n).is_some())
                .count() as u64;
            let len = u64::from(hi) - u64::from(r.lo) + 1;
            *count.entry(r.partition[0].0).or_default() += len.saturating_sub(named);
        }
        let best = count
            .iter()
            .max_by_key(|(a, n)| (**n, std::cmp::Reverse(a.precedence())));
        match best {
            Some((a, n)) if *n > 0 => *a,
            _ => match (tail, self.ranges.last()) {
                (Some(_), _) => enosys,
                (None, Some(r)) => r.partition.last().map_or(enosys, |p| p.0),
                (None, None) => enosys,
            },
        }
    }

    /// runc's ENOSYS threshold that needs the fewest rules given the `default`: numbers up
    /// to it that do not get the default, and numbers above it that do not get `ENOSYS`,
    /// each need a rule. `None` when no threshold saves any.
    fn enosys_threshold(&self, default: Action, enosys: Action) -> Option<u32> {
        if default == enosys {
            return None;
        }
        let len = |r: &NrRange| u64::from(r.hi) - u64::from(r.lo) + 1;
        let gets = |r: &NrRange, a: Action| r.unconditional() && r.partition[0].0 == a;
        // cost(i): the threshold just below range i (i == len: no threshold).
        let mut below: u64 = 0;
        let mut above: u64 = self
            .ranges
            .iter()
            .filter(|r| !gets(r, enosys))
            .map(len)
            .sum();
        let mut best: Option<(u64, usize)> = None;
        for (i, r) in self.ranges.iter().enumerate() {
            if r.lo > 0 && best.is_none_or(|(c, _)| below + above <= c) {
                best = Some((below + above, i));
            }
            if !gets(r, default) {
                below += len(r);
            }
            if !gets(r, enosys) {
                above -= len(r);
            }
        }
        match best {
            Some((c, i)) if c < below => Some(self.ranges[i].lo - 1),
            _ => None,
        }
    }

    /// The last number below a run of numbers up to the end of the ABI's range that all get
    /// `ENOSYS` unconditionally (runc's stub), if there is such a run.
    fn enosys_tail(&self, enosys: Action) -> Option<u32> {
        let last = self.ranges.last()?;
        (last.unconditional() && last.partition[0].0 == enosys && last.lo > 0).then(|| last.lo - 1)
    }
}

fn split_at(lo: u32, hi: u32, t: u32, below: Action, above: Action) -> Vec<(u32, u32, Action)> {
    if hi <= t {
        vec![(lo, hi, below)]
    } else if lo > t {
        vec![(lo, hi, above)]
    } else {
        vec![(lo, t, below), (t + 1, hi, above)]
    }
}

/// The numbers of `arch` (its share of the token) as ranges with their argument sets.
fn read_abi(space: &Space, arch: Arch, sets: &[(Action, Bdd)]) -> Result<Abi, DecompileError> {
    // The numbers this ABI owns: x86_64 and x32 split the token at the x32 bit; -1 (a
    // skipped call) is decided by the default alone and is left to the final proof.
    let (lo, hi) = match arch {
        Arch::X86_64 => (0, X32_SYSCALL_BIT - 1),
        Arch::X32 => (X32_SYSCALL_BIT, u32::MAX - 1),
        _ => (0, u32::MAX - 1),
    };
    let nr_vars: Vec<BddVariable> = space.vars_of(data::NR).into_iter().rev().collect();
    let bdds: Vec<&Bdd> = sets.iter().map(|(_, s)| s).collect();
    let mut blocks: Vec<(u64, u64, Vec<BddPointer>)> = Vec::new();
    let roots: Vec<BddPointer> = bdds.iter().map(|b| b.root_pointer()).collect();
    walk_blocks(&bdds, &nr_vars, 0, 0, roots, &mut blocks).map_err(|()| {
        DecompileError::TooComplex {
            what: format!("the syscall numbers on {arch}"),
            limit: MAX_BLOCKS,
            unit: "blocks of numbers",
        }
    })?;
    let wide = arch.args_are_64bit();
    let mut partitions: FxHashMap<Vec<BddPointer>, Partition> = FxHashMap::default();
    let mut ranges: Vec<NrRange> = Vec::new();
    for (blo, bhi, key) in blocks {
        let (blo, bhi) = (blo.max(u64::from(lo)), bhi.min(u64::from(hi)));
        if blo > bhi {
            continue;
        }
        let (blo, bhi) = (blo as u32, bhi as u32);
        if let Some(last) = ranges.last_mut() {
            if last.key == key && u64::from(last.hi) + 1 == u64::from(blo) {
                last.hi = bhi;
                continue;
            }
        }
        let partition = match partitions.get(&key) {
            Some(p) => p.clone(),
            None => {
                let lits = word_lits(space, data::NR, blo);
                let mut p: Partition = Vec::new();
                for (action, set) in sets {
                    let mut s = set.restrict(&lits);
                    if !wide {
                        // The kernel zeroes the high words of a 32-bit ABI's arguments.
                        for arg in 0..6 {
                            s = s.restrict(&high_word_zero(space, arg));
                        }
                    }
                    if !s.is_false() {
                        p.push((*action, s));
                    }
                }
                partitions.insert(key.clone(), p.clone());
                p
            }
        };
        ranges.push(NrRange {
            lo: blo,
            hi: bhi,
            key,
            partition,
        });
    }
    Ok(Abi {
        arch,
        ranges,
        minus_one: None,
    })
}

/// The aligned blocks of values of the word whose variables are `vars` (most significant
/// first) on which each of `bdds` has one sub-function (the pointers), in ascending order.
fn walk_blocks(
    bdds: &[&Bdd],
    vars: &[BddVariable],
    depth: usize,
    prefix: u64,
    at: Vec<BddPointer>,
    out: &mut Vec<(u64, u64, Vec<BddPointer>)>,
) -> Result<(), ()> {
    let width = vars.len();
    let below = |b: &Bdd, p: BddPointer| p.is_terminal() || b.var_of(p) > vars[width - 1];
    if depth == width || bdds.iter().zip(&at).all(|(b, p)| below(b, *p)) {
        if out.len() >= MAX_BLOCKS {
            return Err(());
        }
        let free = width - depth;
        let lo = prefix << free;
        let hi = lo | ((1u64 << free) - 1);
        out.push((lo, hi, at));
        return Ok(());
    }
    let v = vars[depth];
    for value in [false, true] {
        let next: Vec<BddPointer> = bdds
            .iter()
            .zip(&at)
            .map(|(b, &p)| {
                if !p.is_terminal() && b.var_of(p) == v {
                    if value {
                        b.high_link_of(p)
                    } else {
                        b.low_link_of(p)
                    }
                } else {
                    p
                }
            })
            .collect();
        walk_blocks(
            bdds,
            vars,
            depth + 1,
            prefix << 1 | u64::from(value),
            next,
            out,
        )?;
    }
    Ok(())
}

/// The literals fixing the input word at `offset` to `value`.
fn word_lits(space: &Space, offset: u32, value: u32) -> Vec<(BddVariable, bool)> {
    space
        .vars_of(offset)
        .into_iter()
        .enumerate()
        .map(|(bit, v)| (v, value >> bit & 1 == 1))
        .collect()
}

fn high_word_zero(space: &Space, arg: usize) -> Vec<(BddVariable, bool)> {
    let wide = space.arg_vars(arg, true);
    wide[32..].iter().map(|v| (*v, false)).collect()
}

/// The one action `sets` give on `within`, or one that differs and where.
fn single_action(sets: &[(Action, Bdd)], within: &Bdd) -> Result<Action, (Action, Bdd)> {
    let hits: Vec<(Action, Bdd)> = sets
        .iter()
        .map(|(a, s)| (*a, s.and(within)))
        .filter(|(_, s)| !s.is_false())
        .collect();
    match hits.as_slice() {
        [(a, _)] => Ok(*a),
        [_, (b, s), ..] => Err((*b, s.clone())),
        [] => Ok(Action::KillProcess),
    }
}

/// The rules that make "most restrictive matching rule, else `none`" give `partition`;
/// with `force_base`, always with an unconditional rule for the least restrictive answer.
fn rules_for(
    space: &Space,
    arch: Arch,
    partition: &Partition,
    none: Action,
    force_base: bool,
    what: &str,
) -> Result<RuleSet, DecompileError> {
    let wide = arch.args_are_64bit();
    let mut rules: RuleSet = Vec::new();
    let present: Vec<Action> = partition.iter().map(|(a, _)| *a).collect();
    // With `none` among the answers, its inputs match no rule; otherwise the least
    // restrictive answer is an unconditional rule and the others override it.
    let base = if present.contains(&none) && !force_base {
        none
    } else {
        let base = *present
            .iter()
            .max_by_key(|a| a.precedence())
            .expect("a partition is never empty");
        rules.push((base, Vec::new()));
        base
    };
    for (action, set) in partition {
        if *action == base {
            continue;
        }
        // Inputs that a more restrictive rule decides anyway may match this one too.
        let mut dont_care = space.f();
        for (other, s) in partition {
            if other.precedence() < action.precedence() && *other != none {
                dont_care = dont_care.or(s);
            }
        }
        let exact = terms(space, set, 0, wide, what)?;
        // (Only a help: when the looser set takes too many rules, the exact one is used.)
        let loose = if dont_care.is_false() {
            None
        } else {
            terms(space, &set.or(&dont_care), 0, wide, what).ok()
        };
        let chosen = match loose {
            Some(l) if l.len() < exact.len() => l,
            _ => exact,
        };
        rules.extend(chosen.into_iter().map(|c| (*action, c)));
    }
    rules.sort();
    Ok(rules)
}

/// Conjunctions of conditions on arguments `arg..6` whose union is `set`.
fn terms(
    space: &Space,
    set: &Bdd,
    arg: usize,
    wide: bool,
    what: &str,
) -> Result<Vec<Vec<ArgCond>>, DecompileError> {
    if set.is_false() {
        return Ok(Vec::new());
    }
    if set.is_true() || arg == 6 {
        return Ok(vec![Vec::new()]);
    }
    let mut vars = space.arg_vars(arg, wide);
    vars.reverse(); // most significant first, as the BDD orders them
    let root = set.root_pointer();
    if set.var_of(root) > vars[vars.len() - 1] {
        return terms(space, set, arg + 1, wide, what);
    }
    let mut paths: Vec<(Vec<(BddVariable, bool)>, BddPointer)> = Vec::new();
    walk_paths(set, &vars, root, &mut Vec::new(), &mut paths).map_err(|()| {
        DecompileError::TooComplex {
            what: format!("argument {arg} of {what}"),
            limit: MAX_PATHS,
            unit: "paths",
        }
    })?;
    // Paths that end in the same rest share it: their union is one condition on this
    // argument (or several alternatives).
    let mut groups: Vec<(BddPointer, Vec<Lits>)> = Vec::new();
    for (lits, end) in paths {
        if end.is_zero() {
            continue;
        }
        match groups.iter_mut().find(|(p, _)| *p == end) {
            Some((_, g)) => g.push(lits),
            None => groups.push((end, vec![lits])),
        }
    }
    let mut out = Vec::new();
    for (_, cubes) in groups {
        let rest = set.restrict(&cubes[0]);
        let alternatives = conditions(space, arg, &vars, &cubes);
        for tail in terms(space, &rest, arg + 1, wide, what)? {
            for alt in &alternatives {
                let mut conds = alt.clone();
                conds.extend(tail.iter().copied());
                if conds.len() > MAX_CONDS {
                    return Err(DecompileError::TooComplex {
                        what: what.to_string(),
                        limit: MAX_CONDS,
                        unit: "conditions in one rule",
                    });
                }
                out.push(conds);
                if out.len() > MAX_PATHS {
                    return Err(DecompileError::TooComplex {
                        what: what.to_string(),
                        limit: MAX_PATHS,
                        unit: "rules",
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The paths from `at` through `vars` (most significant first): the literals on the way
/// and where they end.
fn walk_paths(
    set: &Bdd,
    vars: &[BddVariable],
    at: BddPointer,
    lits: &mut Vec<(BddVariable, bool)>,
    out: &mut Vec<(Vec<(BddVariable, bool)>, BddPointer)>,
) -> Result<(), ()> {
    if at.is_terminal() || set.var_of(at) > vars[vars.len() - 1] {
        if out.len() >= MAX_PATHS {
            return Err(());
        }
        out.push((lits.clone(), at));
        return Ok(());
    }
    let v = set.var_of(at);
    for value in [false, true] {
        lits.push((v, value));
        let next = if value {
            set.high_link_of(at)
        } else {
            set.low_link_of(at)
        };
        walk_paths(set, vars, next, lits, out)?;
        lits.pop();
    }
    Ok(())
}

/// The union of `cubes` (literals on argument `arg`'s variables `vars`, most significant
/// first) as alternatives of conditions: one condition if it is a value, a range, all but
/// one value or one mask pattern; else one `MASKED_EQ` per cube.
fn conditions(
    space: &Space,
    arg: usize,
    vars: &[BddVariable],
    cubes: &[Lits],
) -> Vec<Vec<ArgCond>> {
    let width = vars.len();
    let top: u64 = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let bit_of = |v: BddVariable| width - 1 - vars.iter().position(|x| *x == v).unwrap_or(0);
    let mask_value = |cube: &Vec<(BddVariable, bool)>| {
        cube.iter().fold((0u64, 0u64), |(m, val), (v, b)| {
            let bit = 1u64 << bit_of(*v);
            (m | bit, if *b { val | bit } else { val })
        })
    };
    let lsb_first: Vec<BddVariable> = vars.iter().rev().copied().collect();
    let cond = |op: CmpOp, value: u64| {
        ArgCond::new(arg as u32, op, value).expect("argument index below 6")
    };
    let one = |op: CmpOp, value: u64| vec![vec![cond(op, value)]];
    let union = cubes
        .iter()
        .fold(space.f(), |acc, c| acc.or(&space.cube(c)));
    if union.is_true() {
        return vec![Vec::new()];
    }
    if let [cube] = cubes {
        let (mask, value) = mask_value(cube);
        return if mask == top {
            one(CmpOp::Eq, value)
        } else {
            one(CmpOp::MaskedEq(mask), value)
        };
    }
    let lo = cubes.iter().map(|c| mask_value(c).1).min().unwrap_or(0);
    let hi = cubes
        .iter()
        .map(|c| {
            let (m, v) = mask_value(c);
            v | (!m & top)
        })
        .max()
        .unwrap_or(top);
    let interval = space
        .lt_k(&lsb_first, u128::from(hi) + 1)
        .and_not(&space.lt_k(&lsb_first, u128::from(lo)));
    if interval == union {
        let mut conds = Vec::new();
        if lo == hi {
            conds.push(cond(CmpOp::Eq, lo));
        } else {
            if lo > 0 {
                conds.push(cond(CmpOp::Ge, lo));
            }
            if hi < top {
                conds.push(cond(CmpOp::Le, hi));
            }
        }
        return vec![conds];
    }
    let rest = union.not();
    if let Some(w) = rest.sat_witness() {
        let value = lsb_first
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, v)| acc | (u64::from(w.value(*v)) << i));
        if space.eq_k(&lsb_first, value) == rest {
            return one(CmpOp::Ne, value);
        }
    }
    cubes
        .iter()
        .map(|c| {
            let (mask, value) = mask_value(c);
            vec![if mask == top {
                cond(CmpOp::Eq, value)
            } else {
                cond(CmpOp::MaskedEq(mask), value)
            }]
        })
        .collect()
}

/// Add the wanted rules to `policy`, one set per syscall (by name where the ABI's table has
/// one, unless `numbered` holds the name: then by number) and group of ABIs that want the same decisions there: a set every ABI the name
/// reaches wants applies on all of them, any other only on its group
/// ([`Rule::only_on`](crate::policy::Rule#structfield.only_on)). 64-bit ABIs go first: their
/// conditions say what a 32-bit ABI's (whose high words are zero) leave open.
fn emit_rules(
    space: &Space,
    policy: &mut Policy,
    abis: &[Abi],
    wanted: &BTreeMap<(Arch, u32), RuleSet>,
    numbered: &BTreeSet<&str>,
) -> Result<(), DecompileError> {
    let syscall_of = |arch: Arch, nr: u32| match arch.syscall_name(nr) {
        Some(name) if !numbered.contains(name) => Syscall::Name(name.to_string()),
        _ => Syscall::Number(nr),
    };
    let mut order: Vec<(&(Arch, u32), &RuleSet)> = wanted.iter().collect();
    order.sort_by_key(|((arch, nr), _)| (!arch.args_are_64bit(), *arch, *nr));
    let mut done: BTreeSet<(Arch, Syscall)> = BTreeSet::new();
    for (&(arch, nr), rules) in order {
        let syscall = syscall_of(arch, nr);
        if done.contains(&(arch, syscall.clone())) {
            continue;
        }
        // The ABIs this name (or number) reaches that want the same decisions there.
        let probe = Rule::new(Action::Allow, syscall.clone());
        let mut group = vec![arch];
        let mut everywhere = true;
        for other in abis.iter().filter(|o| o.arch != arch) {
            let Some(n) = policy.rule_targets(&probe, other.arch) else {
                continue;
            };
            if (other.arch == Arch::X86_64 && n >= X32_SYSCALL_BIT)
                || (other.arch == Arch::X32 && n < X32_SYSCALL_BIT)
            {
                continue;
            }
            let alike = !done.contains(&(other.arch, syscall.clone()))
                && alike(space, wanted, rules, other.arch, n);
            if alike {
                group.push(other.arch);
            } else {
                everywhere = false;
            }
        }
        for a in &group {
            done.insert((*a, syscall.clone()));
        }
        for (action, conds) in rules {
            let rule = Rule::new(*action, syscall.clone()).with_conds(conds.iter().copied());
            let rule = if everywhere {
                rule
            } else {
                rule.applying_on(group.iter().copied())
            };
            policy.add_rule(rule)?;
        }
    }
    Ok(())
}

/// Whether `arch`'s number `n` wants what `rules` decide there.
fn alike(
    space: &Space,
    wanted: &BTreeMap<(Arch, u32), RuleSet>,
    rules: &RuleSet,
    arch: Arch,
    n: u32,
) -> bool {
    wanted.get(&(arch, n)).is_some_and(|there| {
        there == rules || decisions(space, there, arch) == decisions(space, rules, arch)
    })
}

/// What `rules` decide on `arch` (most restrictive match first; high words zero on 32-bit
/// ABIs): each action with the argument values that get it.
fn decisions(space: &Space, rules: &RuleSet, arch: Arch) -> Vec<(Action, Bdd)> {
    let mut taken = space.f();
    let mut sorted: Vec<&(Action, Vec<ArgCond>)> = rules.iter().collect();
    sorted.sort_by_key(|(a, _)| a.precedence());
    let mut out: Vec<(Action, Bdd)> = Vec::new();
    for (action, conds) in sorted {
        let mut set = space.t();
        for c in conds {
            set = set.and(&cond_set(space, c));
        }
        if !arch.args_are_64bit() {
            for arg in 0..6 {
                set = set.restrict(&high_word_zero(space, arg));
            }
        }
        let fresh = set.and_not(&taken);
        taken = taken.or(&set);
        match out.last_mut() {
            Some((a, s)) if a == action => *s = s.or(&fresh),
            _ => out.push((*action, fresh)),
        }
    }
    out.retain(|(_, s)| !s.is_false());
    out
}

/// The 64-bit argument values for which `c` holds.
fn cond_set(space: &Space, c: &ArgCond) -> Bdd {
    let vars = space.arg_vars(c.arg(), true);
    let v = c.value();
    let lt = |k: u128| space.lt_k(&vars, k);
    match c.op() {
        CmpOp::Eq => space.eq_k(&vars, v),
        CmpOp::Ne => space.eq_k(&vars, v).not(),
        CmpOp::Lt => lt(u128::from(v)),
        CmpOp::Le => lt(u128::from(v) + 1),
        CmpOp::Gt => lt(u128::from(v) + 1).not(),
        CmpOp::Ge => lt(u128::from(v)).not(),
        CmpOp::MaskedEq(m) => {
            let lits: Vec<(BddVariable, bool)> = (0..64)
                .filter(|i| m >> i & 1 == 1)
                .map(|i| (vars[i], v >> i & 1 == 1))
                .collect();
            if v & !m != 0 {
                space.f()
            } else {
                space.cube(&lits)
            }
        }
    }
}

fn call_name(arch: Arch, nr: u32) -> String {
    match arch.syscall_name(nr) {
        Some(n) => n.to_string(),
        None => format!("syscall {nr}"),
    }
}

/// "arch 0x… nr …" of one input in `set`.
fn describe(space: &Space, set: &Bdd) -> String {
    match space.witness(set) {
        Some(d) => match Arch::from_audit_arch(d.arch) {
            Some(a) => format!("{} on {a}", call_name(a, d.nr)),
            None => format!("nr {} on arch token {:#x}", d.nr, d.arch),
        },
        None => "no input".into(),
    }
}

/// A call whose decision in `set` depends on the variables `on`.
fn describe_dependence(space: &Space, set: &Bdd, on: &BTreeSet<BddVariable>) -> String {
    let vars: Vec<BddVariable> = on.iter().copied().collect();
    let sensitive = set.exists(&vars).and_not(&set.for_all(&vars));
    describe(space, &sensitive)
}
