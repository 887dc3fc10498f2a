//! The filter compiler: [`Policy`] → per-arch ranges → decision graph → [`Program`]s.
//!
//! ```text
//! compile(policy) = emit(graph.filter(token_ranges(policy)))
//! ```
//!
//! - `ranges.rs`: for each audit token, the syscall-number space cut into ranges of identical
//!   decisions (names resolved, multiplexers, x32, `-1`, unknown numbers); public as
//!   [`decision_ranges`].
//! - `graph.rs`: a memoized DAG of word tests: the architecture check, a balanced binary search
//!   of `jge` over range starts, and per decision the rules, most restrictive first, with
//!   64-bit arguments lowered to high/low word tests.
//! - `emit.rs`: the DAG laid out back to front, loads placed wherever a path may arrive with
//!   another word, far jumps through `ja` trampolines.
//!
//! Every argument-free path uses only `ld nr`/`ld arch`, `jeq`/`jge` with constants and
//! `ret`, which the kernel's action cache (v5.11+) can evaluate without running the filter.
//!
//! A program over [`MAX_INSNS`] instructions is split into several programs to be stacked:
//! each one decides a share of the syscall numbers (or of the architectures) exactly and
//! returns ALLOW for the rest. The kernel runs every stacked filter and keeps the most
//! restrictive answer, which for each call is its owner's answer, so the stack decides exactly
//! what the policy does. A share that cannot be made smaller (one syscall whose argument rules
//! alone need more than the limit) is a [`CompileError::TooLarge`].
//!
//! ```
//! use sysgate::compile::compile;
//! use sysgate::policy::{Action, Policy, Rule};
//! use sysgate::Arch;
//!
//! let mut policy = Policy::new(Action::Errno(1));
//! policy.set_arches([Arch::X86_64])?;
//! policy.add_rule(Rule::new(Action::Allow, "read"))?;
//! let compiled = compile(&policy)?;
//! let program = &compiled.programs[0];
//! assert_eq!(program.emulate_call(Arch::X86_64, 0, &[0; 6])?.ret, Action::Allow.to_ret());
//! assert_eq!(program.emulate_call(Arch::X86_64, 1, &[0; 6])?.ret, Action::Errno(1).to_ret());
//! assert!(program.kernel_caches(Arch::X86_64, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The stages are private: what they compute is public only as [`Compiled`] programs and
// [`decision_ranges`], so they can change without breaking a user.
mod emit;
mod export;
mod graph;
mod ranges;

use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::arch::{Arch, Endian};
use crate::bpf::{Insn, Program, MAX_INSNS, MAX_INSNS_PER_PATH};
use crate::policy::{Action, Diagnostic, KernelFlags, Policy, PolicyError};

use graph::Graph;
use ranges::{token_ranges, Decision, TokenRanges};

/// Why a policy cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The policy is invalid (strict-mode unknown name, no architectures, ...).
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Even one syscall's rules on one architecture need more instructions than a filter
    /// may have.
    #[error(
        "the rules for {syscall} (syscall {nr} on arch token {token:#x}) need {insns} \
         instructions, more than the kernel's limit of {limit} for one filter; split them into \
         fewer conditions"
    )]
    TooLarge {
        /// The syscall's name on that architecture (`#nr` if it has none).
        syscall: String,
        /// Audit token of the architecture.
        token: u32,
        /// First syscall number of the range that does not fit.
        nr: u32,
        /// Instructions it needs.
        insns: usize,
        /// The limit.
        limit: usize,
    },
    /// The policy needs more instructions than the kernel lets one thread's stacked filters
    /// hold together ([`MAX_INSNS_PER_PATH`], counting 4 more per filter after the first),
    /// so no stack of filters can hold it. Found before the programs are laid out, from the
    /// instructions each syscall's argument checks need at the least.
    #[error(
        "the policy needs at least {insns} instructions, more than the kernel's limit of {limit} \
         for all stacked filters together; the rules for {syscall} on {arch} alone need \
         {syscall_insns}: use fewer argument conditions (ranges instead of single values)"
    )]
    TooLargeForStack {
        /// Instructions the policy needs at the least.
        insns: usize,
        /// The limit.
        limit: usize,
        /// The syscall whose rules need the most instructions.
        syscall: String,
        /// The architecture it was counted on.
        arch: Arch,
        /// What its rules need at the least.
        syscall_insns: usize,
    },
    /// [`Program::try_from`] wants one program, and the policy needs several stacked ones
    /// ([`compile`] gives them).
    #[error(
        "the policy needs {programs} stacked programs ({insns} instructions), more than one \
         filter of at most {limit}; compile it into a stack instead"
    )]
    NeedsStacking {
        /// How many programs it compiles to.
        programs: usize,
        /// Instructions over all of them.
        insns: usize,
        /// The limit for one.
        limit: usize,
    },
}

/// Compiler options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Most instructions per program; larger policies are split into stacked programs.
    /// Defaults to the kernel's limit, [`MAX_INSNS`].
    pub max_insns: usize,
    /// Collect [`Compiled::diagnostics`] (default). Off, only the errors are checked
    /// ([`Policy::check`]): for callers that do not show the warnings, such as
    /// `sysgate run` at start-up.
    pub diagnostics: bool,
    /// The kernel that runs the filter has the seccomp action cache (Linux 5.11+,
    /// [`Features::action_cache`](crate::kernel::Features::action_cache)): it skips the
    /// filter for calls the filter allows whatever their arguments, so only argument checks
    /// and denials run it, and the number dispatch puts those nearer the root. Off (the
    /// default), every syscall weighs the same. Either way the program decides the same.
    pub action_cache: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_insns: MAX_INSNS,
            diagnostics: true,
            action_cache: false,
        }
    }
}

/// The result of compiling a policy.
///
/// It carries the policy's install attributes (`no_new_privs` and the `seccomp(2)` flags:
/// TSYNC, LOG, SPEC_ALLOW, NEW_LISTENER, ...) with the programs, so that installing it
/// ([`Compiled::install`], [`Compiled::prepare`], [`Compiled::command`]) applies them
/// without being told again.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The programs, in install order (usually one). Their stacked combination is the policy.
    pub programs: Vec<Program>,
    /// Warnings about the policy (skipped names, multiplexers, overlapping rules); empty when
    /// [`Options::diagnostics`] was off.
    pub diagnostics: Vec<Diagnostic>,
    /// The policy's `no_new_privs` attribute.
    pub(crate) no_new_privs: bool,
    /// The policy's `seccomp(2)` flags.
    pub(crate) flags: KernelFlags,
    /// The policy's architectures (empty when not known), and what its programs do with
    /// calls from others: installing them in a process of another architecture is refused.
    pub(crate) arches: Vec<crate::Arch>,
    /// The policy's bad-arch action.
    pub(crate) bad_arch: crate::policy::Action,
}

impl Compiled {
    /// Total instructions over all programs.
    pub fn total_insns(&self) -> usize {
        self.programs.iter().map(|p| p.len()).sum()
    }

    /// What the stacked programs return for a call, as the kernel combines them (the most
    /// restrictive action; on ties, the last-installed filter's value).
    pub fn emulate_call(
        &self,
        arch: crate::Arch,
        nr: u32,
        args: &[u64; 6],
    ) -> Result<crate::bpf::Emulated, crate::bpf::EmulateError> {
        combine(
            self.programs
                .iter()
                .rev()
                .map(|p| p.emulate_call(arch, nr, args)),
        )
    }

    /// [`Compiled::emulate_call`] on raw `seccomp_data`.
    pub fn emulate(
        &self,
        data: &crate::bpf::SeccompData,
    ) -> Result<crate::bpf::Emulated, crate::bpf::EmulateError> {
        combine(self.programs.iter().rev().map(|p| p.emulate(data)))
    }
}

/// The kernel's combination of stacked filters (`seccomp_run_filters`), given results newest
/// filter first: the smallest action (signed 32-bit, data masked off) wins, the first seen on
/// ties; `executed` adds up.
fn combine(
    results: impl Iterator<Item = Result<crate::bpf::Emulated, crate::bpf::EmulateError>>,
) -> Result<crate::bpf::Emulated, crate::bpf::EmulateError> {
    let mut best: Option<crate::bpf::Emulated> = None;
    let mut executed = 0;
    for r in results {
        let r = r?;
        executed += r.executed;
        let action = |v: u32| (v & crate::bpf::ret::ACTION_FULL) as i32;
        if best.is_none_or(|b| action(r.ret) < action(b.ret)) {
            best = Some(r);
        }
    }
    let mut best = best.expect("a compiled policy has at least one program");
    best.executed = executed;
    Ok(best)
}

/// Where a policy's decision for one audit token may change with the syscall number
/// ([`decision_ranges`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRanges(TokenRanges);

impl DecisionRanges {
    /// The `AUDIT_ARCH_*` value these ranges are for.
    pub fn token(&self) -> u32 {
        self.0.token
    }

    /// The policy's ABIs behind the token (x86_64 and x32 share one).
    pub fn arches(&self) -> &[Arch] {
        &self.0.arches
    }

    /// Consecutive ranges of syscall numbers, from 0 to `u32::MAX`, within each of which the
    /// policy decides every number alike (up to the number itself being a named syscall's:
    /// [`Policy::decide`] gives the answer for one call). Neighbouring ranges decide
    /// differently.
    pub fn ranges(&self) -> impl Iterator<Item = RangeInclusive<u32>> + '_ {
        let starts = &self.0.ranges;
        starts.iter().enumerate().map(|(i, (start, _))| {
            let end = starts.get(i + 1).map_or(u32::MAX, |(next, _)| next - 1);
            *start..=end
        })
    }
}

/// The policy resolved per audit token into ranges of syscall numbers with one decision
/// each: the first stage of [`compile`], for tools that compare or explain policies by
/// number (`sysgate diff` cuts the number space at these ranges). The native
/// architecture's token comes first.
///
/// ```
/// use sysgate::compile::decision_ranges;
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?; // 0
/// policy.add_rule(Rule::new(Action::Allow, "write"))?; // 1
/// let x86_64 = &decision_ranges(&policy)[0];
/// assert_eq!(x86_64.token(), Arch::X86_64.audit_arch());
/// // read and write, the rest of the x86_64 numbers, x32's, and -1.
/// let ranges: Vec<_> = x86_64.ranges().collect();
/// assert_eq!(ranges[0], 0..=1);
/// assert_eq!(ranges[1], 2..=0x3fff_ffff);
/// assert_eq!(ranges.last(), Some(&(u32::MAX..=u32::MAX)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decision_ranges(policy: &Policy) -> Vec<DecisionRanges> {
    token_ranges(policy)
        .into_iter()
        .map(DecisionRanges)
        .collect()
}

/// Compile with default options.
pub fn compile(policy: &Policy) -> Result<Compiled, CompileError> {
    compile_with(policy, &Options::default())
}

/// Compile `policy` into one or more programs of at most `options.max_insns` instructions.
pub fn compile_with(policy: &Policy, options: &Options) -> Result<Compiled, CompileError> {
    let diagnostics = if options.diagnostics {
        policy.diagnostics()?
    } else {
        policy.check()?;
        Vec::new()
    };
    let endian = policy.endian().ok_or(PolicyError::NoArches)?;
    let tokens: Vec<(TokenRanges, bool)> = token_ranges(policy)
        .into_iter()
        .map(|t| {
            let args_64bit = t.arches.iter().all(|a| a.args_are_64bit());
            (t, args_64bit)
        })
        .collect();
    // Small policies cannot come near the limits; only large ones pay for the early check.
    let conds: usize = policy.rules().iter().map(|r| r.conds.len()).sum();
    if conds > EARLY_SIZE_CHECK_CONDS {
        check_size(&tokens, options.max_insns)?;
    }
    let mut out = Vec::new();
    let full = Share {
        token: None,
        range: (0, usize::MAX),
    };
    let layout = Layout {
        bad_arch: policy.bad_arch_action(),
        endian,
        max: options.max_insns,
        action_cache: options.action_cache,
    };
    build(&tokens, &layout, full, &mut out)?;
    // What the kernel will count when the last of them is installed.
    let total = out.iter().map(Vec::len).sum::<usize>() + 4 * out.len().saturating_sub(1);
    if total > MAX_INSNS_PER_PATH {
        // The lower bound above passed, so the argument checks fit; the number dispatch of
        // each stacked program did not.
        let (syscall, arch, syscall_insns) = sizes(&tokens)
            .biggest
            .map_or((String::from("no syscall"), Arch::X86_64, 0), |b| {
                (b.0, b.1, b.4)
            });
        return Err(CompileError::TooLargeForStack {
            insns: total,
            limit: MAX_INSNS_PER_PATH,
            syscall,
            arch,
            syscall_insns,
        });
    }
    let programs = out
        .into_iter()
        .map(|insns| Program::new(insns, endian))
        .collect();
    Ok(Compiled {
        programs,
        diagnostics,
        no_new_privs: policy.attrs.no_new_privs,
        flags: policy.attrs.flags,
        arches: policy.arches().to_vec(),
        bad_arch: policy.bad_arch_action(),
    })
}

impl TryFrom<&Policy> for Program {
    type Error = CompileError;

    /// Compile into exactly one program; a policy that needs stacking is
    /// [`CompileError::TooLarge`] here (use [`compile`] for those).
    fn try_from(policy: &Policy) -> Result<Program, CompileError> {
        let options = Options::default();
        let compiled = compile_with(policy, &options)?;
        if compiled.programs.len() != 1 {
            return Err(CompileError::NeedsStacking {
                programs: compiled.programs.len(),
                insns: compiled.total_insns(),
                limit: options.max_insns,
            });
        }
        Ok(compiled.programs.into_iter().next().expect("one program"))
    }
}

/// Above this many argument conditions in a policy, [`compile_with`] checks that the policy
/// can fit the kernel's limits before it lays any program out.
const EARLY_SIZE_CHECK_CONDS: usize = 1000;

/// `nr`'s name on the token's first ABI, or `#nr`.
fn syscall_name(t: &TokenRanges, nr: u32) -> String {
    t.arches
        .first()
        .and_then(|a| a.syscall_name(nr))
        .map_or_else(|| format!("#{nr}"), str::to_string)
}

/// The argument checks of every range with some, lowered once into one graph: per range, its
/// root node, token index and first number.
fn decision_roots(tokens: &[(TokenRanges, bool)]) -> (Graph, Vec<(graph::NodeId, usize, u32)>) {
    let mut graph = Graph::new();
    let mut roots = Vec::new();
    for (t, (ranges, args_64bit)) in tokens.iter().enumerate() {
        for (start, d) in &ranges.ranges {
            if !d.entries.is_empty() {
                roots.push((graph.decision(d, *args_64bit), t, *start));
            }
        }
    }
    (graph, roots)
}

/// How many nodes are reachable from `root` whose mark is not `stamp` (marking them with it).
fn count_new(graph: &Graph, root: graph::NodeId, marks: &mut [u32], stamp: u32) -> usize {
    let mut stack = vec![root];
    let mut n = 0;
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut marks[id as usize], stamp) == stamp {
            continue;
        }
        n += 1;
        if let graph::Node::Test { pass, fail, .. } = graph.node(id) {
            stack.extend([pass, fail]);
        }
    }
    n
}

/// The argument checks in numbers: nodes of all of them together (shared nodes once), and
/// the syscall whose checks need the most on their own (name, ABI, token index, number,
/// nodes).
struct Sizes {
    total: usize,
    biggest: Option<(String, Arch, usize, u32, usize)>,
}

fn sizes(tokens: &[(TokenRanges, bool)]) -> Sizes {
    let (graph, roots) = decision_roots(tokens);
    // Mark 1: counted in the total; marks from 2 on: counted for one root alone.
    let mut total_marks = vec![0u32; graph.len()];
    let mut alone_marks = vec![0u32; graph.len()];
    let mut total = 0;
    let mut biggest: Option<(String, Arch, usize, u32, usize)> = None;
    for (k, (root, t, nr)) in roots.into_iter().enumerate() {
        total += count_new(&graph, root, &mut total_marks, 1);
        let alone = count_new(&graph, root, &mut alone_marks, k as u32 + 2);
        if biggest.as_ref().is_none_or(|b| alone > b.4) {
            let arch = tokens[t].0.arches.first().copied().unwrap_or(Arch::X86_64);
            biggest = Some((syscall_name(&tokens[t].0, nr), arch, t, nr, alone));
        }
    }
    Sizes { total, biggest }
}

/// Refuse, before anything is laid out, a policy no filter or stack of filters can hold.
/// Every node of the decision graph becomes at least one instruction of the program that
/// decides its syscall, so the nodes of all argument checks are a lower bound on the
/// instructions of the stack, and one syscall's nodes on those of the program holding it.
fn check_size(tokens: &[(TokenRanges, bool)], max_insns: usize) -> Result<(), CompileError> {
    let Sizes { total, biggest } = sizes(tokens);
    let Some((syscall, arch, t, nr, alone)) = biggest else {
        return Ok(());
    };
    if total > MAX_INSNS_PER_PATH {
        return Err(CompileError::TooLargeForStack {
            insns: total,
            limit: MAX_INSNS_PER_PATH,
            syscall,
            arch,
            syscall_insns: alone,
        });
    }
    if alone > max_insns {
        return Err(CompileError::TooLarge {
            syscall,
            token: tokens[t].0.token,
            nr,
            insns: alone,
            limit: max_insns,
        });
    }
    Ok(())
}

/// Which part of the policy one program decides: all tokens, or one token's ranges
/// `range.0..range.1` (indexes into its range list).
#[derive(Copy, Clone, Debug)]
struct Share {
    token: Option<usize>,
    range: (usize, usize),
}

/// What every program of one policy shares: how it is laid out and how long it may be.
struct Layout {
    bad_arch: Action,
    endian: Endian,
    max: usize,
    action_cache: bool,
}

/// Emit the program for `share`; if it is too long, split the share in two and recurse.
fn build(
    tokens: &[(TokenRanges, bool)],
    layout: &Layout,
    share: Share,
    out: &mut Vec<Vec<Insn>>,
) -> Result<(), CompileError> {
    let max = layout.max;
    let insns = emit_share(tokens, layout, share);
    if insns.len() <= max {
        out.push(insns);
        return Ok(());
    }
    match share.token {
        // Split by architecture token first.
        None if tokens.len() > 1 => {
            for t in 0..tokens.len() {
                build(
                    tokens,
                    layout,
                    Share {
                        token: Some(t),
                        range: (0, usize::MAX),
                    },
                    out,
                )?;
            }
            Ok(())
        }
        None => build(
            tokens,
            layout,
            Share {
                token: Some(0),
                range: (0, usize::MAX),
            },
            out,
        ),
        Some(t) => {
            let (lo, hi) = share.range;
            let hi = hi.min(tokens[t].0.ranges.len());
            if hi - lo <= 1 {
                let nr = tokens[t].0.ranges[lo].0;
                return Err(CompileError::TooLarge {
                    syscall: syscall_name(&tokens[t].0, nr),
                    token: tokens[t].0.token,
                    nr,
                    insns: insns.len(),
                    limit: max,
                });
            }
            let mid = lo + (hi - lo) / 2;
            build(
                tokens,
                layout,
                Share {
                    token: Some(t),
                    range: (lo, mid),
                },
                out,
            )?;
            build(
                tokens,
                layout,
                Share {
                    token: Some(t),
                    range: (mid, hi),
                },
                out,
            )
        }
    }
}

/// The program deciding `share` exactly and allowing everything else the policy's
/// architectures do (unknown architectures still get the bad-arch action).
fn emit_share(tokens: &[(TokenRanges, bool)], layout: &Layout, share: Share) -> Vec<Insn> {
    let allow = Arc::new(Decision::constant(Action::Allow));
    let shaped: Vec<(TokenRanges, bool)> = tokens
        .iter()
        .enumerate()
        .map(|(i, (t, args_64bit))| {
            let owned = match share.token {
                None => (0, usize::MAX),
                Some(s) if s == i => share.range,
                Some(_) => (0, 0),
            };
            if owned == (0, usize::MAX) {
                return (t.clone(), *args_64bit);
            }
            let mut ranges: Vec<(u32, Arc<Decision>)> = Vec::new();
            for (j, (start, d)) in t.ranges.iter().enumerate() {
                let d = if j >= owned.0 && j < owned.1 {
                    d.clone()
                } else {
                    allow.clone()
                };
                if ranges.last().is_some_and(|(_, prev)| **prev == *d) {
                    continue;
                }
                ranges.push((*start, d));
            }
            (
                TokenRanges {
                    token: t.token,
                    arches: t.arches.clone(),
                    ranges,
                },
                *args_64bit,
            )
        })
        .collect();
    let mut graph = Graph::new();
    let root = graph.filter(&shaped, layout.bad_arch, layout.action_cache);
    emit::emit(&graph, root, layout.endian)
}
