//! Proof that seccomp filters decide exactly as a policy (or as other filters) does, on
//! every possible input, or a concrete input where they differ.
//!
//! This module owns the checker. Sampling (every syscall number, each constant and its
//! neighbours) tests the compiler; this proves: the whole input space of a filter, every
//! arch token, every 32-bit nr, every 64-bit argument value and the instruction pointer, is
//! covered exactly. It works on any program the kernel accepts, sysgate's, libseccomp's,
//! runc's, or one read back from a process, and on stacks of them combined as the kernel
//! combines them.
//!
//! How: `seccomp_data` is 512 input bits (`bits.rs`). A program runs once on all inputs at
//! once, each register a vector of binary decision diagrams (`program.rs`), which gives the
//! set of inputs reaching each return and the value returned there. A policy is split into
//! regions on which the reference evaluator, [`Policy::decide_raw`], decides one thing
//! (`policy.rs`); for each region, the inputs where the filters return something else must be
//! the empty set. Return values are compared by what the kernel does with them
//! (`meaning.rs`). Every counterexample is confirmed by the emulator and `decide_raw` before it
//! is reported; if confirmation fails, that is a bug here and [`VerifyError::Unconfirmed`]
//! says so.
//!
//! It does not own the emulator or the reference evaluator: it is checked against them.
//!
//! ```
//! use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
//! use sysgate::{compile, verify, Arch};
//!
//! let mut policy = Policy::new(Action::Errno(1));
//! policy.set_arches([Arch::X86_64])?;
//! policy.add_rule(Rule::new(Action::Allow, "write").with_cond(ArgCond::new(0, CmpOp::Le, 2)?))?;
//! let compiled = compile::compile(&policy)?;
//! let report = verify::filters_vs_policy(&compiled.programs, &policy, 1)?;
//! assert!(report.proven());
//!
//! // A policy that also allows a0 == 3 is a different one: here is an input that shows it.
//! policy.add_rule(Rule::new(Action::Allow, "write").with_cond(ArgCond::new(0, CmpOp::Eq, 3)?))?;
//! let report = verify::filters_vs_policy(&compiled.programs, &policy, 1)?;
//! let m = &report.mismatches[0];
//! assert_eq!((m.data.nr, m.data.args[0]), (1, 3));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bits;
mod decompile;
mod meaning;
mod policy;
mod program;

use rustc_hash::FxHashMap;

use crate::arch::Endian;
use crate::bpf::{InvalidProgram, Program, SeccompData};
use crate::policy::{Decision, Policy, PolicyError};
use bits::{Bounded, Space};
use program::Outcomes;

pub use decompile::{decompile, decompile_abis, DecompileError};

/// Why a verification could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No filter was given.
    #[error("no filter to verify")]
    NoFilters,
    /// A filter the kernel would refuse: it has no behaviour to verify.
    #[error("filter {filter}: the kernel would refuse it: {source}")]
    Invalid {
        /// Index of the filter in its stack (0 = installed first).
        filter: usize,
        /// Why.
        source: InvalidProgram,
    },
    /// Filters (or a filter and the policy) for machines of different byte orders.
    #[error(
        "{what} is for {found:?}-endian machines but {other} is for {expected:?}-endian ones; \
         one seccomp_data layout serves one byte order"
    )]
    Endian {
        /// Which filter or the policy.
        what: String,
        /// Its byte order.
        found: Endian,
        /// What it is checked against.
        other: String,
        /// That one's byte order.
        expected: Endian,
    },
    /// Filters whose decisions cannot be computed in bounded time and memory: they relate
    /// two input words to each other (compare, add or multiply them, or return them),
    /// whose exact sets of inputs can grow exponentially.
    #[error(
        "{what}: too complex to verify or decompile: its sets of inputs needed more than \
         {limit} BDD nodes (a filter that relates two input words, such as `jeq x` after \
         `ld a0; tax; ld a1`, multiplies them or returns them, can need exponentially \
         many); `sysgate check --bpf` still decides single calls"
    )]
    TooComplex {
        /// What needed them: a filter and the instruction being run, or a combination.
        what: String,
        /// The budget, in nodes.
        limit: usize,
    },
    /// The policy itself is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The reference evaluator decides differently at the two ends of a range of numbers
    /// that this checker assumes it decides alike: the checker is out of step with
    /// `Policy::decide` (a bug here, please report it).
    #[error(
        "internal error: the policy's decision changes between nr {lo} and {hi} on arch token \
         {token:#x}, where the verifier assumes it does not; please report this"
    )]
    Partition {
        /// The arch token.
        token: u32,
        /// First number of the range.
        lo: u32,
        /// Last number of the range.
        hi: u32,
    },
    /// A counterexample the emulator and the reference evaluator do not confirm (a bug in
    /// the checker; nothing is reported rather than something false).
    #[error(
        "internal error: the verifier found a difference at {data:x?} that the emulator does \
         not confirm ({detail}); please report this"
    )]
    Unconfirmed {
        /// The input.
        data: SeccompData,
        /// What the emulator and the evaluator said.
        detail: String,
    },
}

/// What the filters under test are compared with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// The policy's decision (the reference evaluator's answer and the deciding rule).
    Policy(Decision),
    /// What the other filter stack returns (raw).
    Filters(u32),
}

/// One input on which the filters under test and the reference differ, confirmed by the
/// emulator and the reference evaluator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The input.
    pub data: SeccompData,
    /// What the filters under test return for it (raw, stacked as the kernel combines them).
    pub filters: u32,
    /// What the reference says.
    pub reference: Reference,
}

/// The outcome of a verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Inputs where the two sides differ, at most one per region and at most as many as
    /// asked for; empty when they are proven equal.
    pub mismatches: Vec<Mismatch>,
    /// How many regions of the input space were checked (the policy's regions; for two
    /// stacks of filters, the number of distinct outcome pairs).
    pub regions: usize,
}

impl Report {
    /// Whether the two sides are proven to decide alike on every input.
    pub fn proven(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// The kernel's treatment of a return value, for comparing two of them: two values are the
/// same action when this gives the same for both (ERRNO data above 4095 is 4095, ALLOW,
/// LOG and USER_NOTIF data is ignored, unknown actions kill the process).
///
/// ```
/// use sysgate::verify::kernel_meaning;
///
/// assert_eq!(kernel_meaning(0x0005_ffff), kernel_meaning(0x0005_0fff));
/// assert_eq!(kernel_meaning(0x7fff_0001), 0x7fff_0000);
/// assert_ne!(kernel_meaning(0x0005_0001), kernel_meaning(0x0005_0002));
/// ```
pub fn kernel_meaning(value: u32) -> u32 {
    meaning::kernel_meaning(value)
}

/// Prove that the stacked `filters` (in install order) decide as `policy` on every input,
/// or find up to `max_mismatches` inputs (one per region of the policy) where they do not.
pub fn filters_vs_policy(
    filters: &[Program],
    policy: &Policy,
    max_mismatches: usize,
) -> Result<Report, VerifyError> {
    policy.check()?;
    let endian = common_endian(filters)?;
    if let Some(e) = policy.endian().filter(|e| *e != endian) {
        return Err(VerifyError::Endian {
            what: "the policy".into(),
            found: e,
            other: "the filter".into(),
            expected: endian,
        });
    }
    let space = Space::new(endian);
    let outcomes = stacked(&space, filters)?;
    let mut giving: FxHashMap<u32, biodivine_lib_bdd::Bdd> = FxHashMap::default();
    // The same, narrowed to the current number: each operation on a BDD costs time in
    // proportion to the larger operand, and the whole program's sets are large.
    let mut scoped: (usize, FxHashMap<u32, biodivine_lib_bdd::Bdd>) =
        (usize::MAX, Default::default());
    let mut mismatches = Vec::new();
    let regions = policy::regions(&space, policy, |region| {
        let expected = kernel_meaning(region.decision.action.to_ret());
        let (serial, scope) = &region.scope;
        if scoped.0 != *serial {
            scoped = (*serial, FxHashMap::default());
        }
        let good = scoped.1.entry(expected).or_insert_with(|| {
            let all = giving
                .entry(expected)
                .or_insert_with(|| meaning::inputs_giving(&space, &outcomes, expected));
            scope.and(all)
        });
        if let Some(data) = space.witness(&region.set.and_not(good)) {
            mismatches.push(confirm_against_policy(filters, policy, data)?);
        }
        Ok(mismatches.len() < max_mismatches)
    })?;
    Ok(Report {
        mismatches,
        regions,
    })
}

/// Prove that the stacked filters `a` decide as the stacked filters `b` on every input, or
/// find up to `max_mismatches` inputs (one per arch token and nr) where they do not.
pub fn filters_vs_filters(
    a: &[Program],
    b: &[Program],
    max_mismatches: usize,
) -> Result<Report, VerifyError> {
    let endian = common_endian(a)?;
    let other = common_endian(b)?;
    if other != endian {
        return Err(VerifyError::Endian {
            what: "the second stack of filters".into(),
            found: other,
            other: "the first".into(),
            expected: endian,
        });
    }
    let space = Space::new(endian);
    let left = stacked(&space, a)?;
    let right = stacked(&space, b)?;
    // Where the two give different values: pairs of outcomes that differ and overlap.
    let (mut differ, regions) = bounded(
        || "the two stacks' return values compared".to_string(),
        || {
            let mut differ = space.f();
            let mut regions = 0;
            for (ra, wa) in entries(&space, &left) {
                for (rb, wb) in entries(&space, &right) {
                    let both = ra.and_b(&rb);
                    if both.is_false() {
                        continue;
                    }
                    regions += 1;
                    let same = bits::eq(&space, &wa.bits, &wb.bits);
                    differ = differ.or_b(&both.and_not_b(&same));
                }
            }
            (differ, regions)
        },
    )?;
    let mut mismatches = Vec::new();
    while mismatches.len() < max_mismatches {
        let Some(data) = space.witness(&differ) else {
            break;
        };
        let run = |s: &[Program]| emulate_stack(s, &data);
        let (x, y) = (run(a)?, run(b)?);
        if kernel_meaning(x) == kernel_meaning(y) {
            return Err(VerifyError::Unconfirmed {
                data,
                detail: format!("both stacks return {x:#010x} and {y:#010x}"),
            });
        }
        mismatches.push(Mismatch {
            data,
            filters: x,
            reference: Reference::Filters(y),
        });
        let call = space
            .word_in(crate::bpf::data::ARCH, data.arch, data.arch)
            .and(&space.word_in(crate::bpf::data::NR, data.nr, data.nr));
        differ = differ.and_not(&call);
    }
    Ok(Report {
        mismatches,
        regions,
    })
}

fn entries(space: &Space, o: &Outcomes) -> Vec<(biodivine_lib_bdd::Bdd, bits::Word)> {
    o.constants
        .iter()
        .map(|(k, r)| (r.clone(), space.constant(*k)))
        .chain(o.computed.iter().cloned())
        .collect()
}

fn common_endian(filters: &[Program]) -> Result<Endian, VerifyError> {
    let first = filters.first().ok_or(VerifyError::NoFilters)?.endian();
    for (i, f) in filters.iter().enumerate() {
        if f.endian() != first {
            return Err(VerifyError::Endian {
                what: format!("filter {i}"),
                found: f.endian(),
                other: "filter 0".into(),
                expected: first,
            });
        }
        f.validate()
            .map_err(|source| VerifyError::Invalid { filter: i, source })?;
    }
    Ok(first)
}

/// The outcomes of a stack of filters (install order) as the kernel combines them, each
/// return value replaced by what the kernel makes of it.
fn stacked(space: &Space, filters: &[Program]) -> Result<Outcomes, VerifyError> {
    let mut combined: Option<Outcomes> = None;
    // The kernel runs the newest filter first and keeps the first of equal actions.
    for (i, f) in filters.iter().enumerate().rev() {
        let o = program::outcomes(space, f).map_err(|e| match e {
            program::RunError::Invalid(source) => VerifyError::Invalid { filter: i, source },
            program::RunError::TooComplex { index } => VerifyError::TooComplex {
                what: format!("filter {i} (by instruction {index})"),
                limit: program::NODE_BUDGET,
            },
        })?;
        combined = Some(match combined {
            None => o,
            Some(newer) => bounded(
                || format!("filter {i} combined with the filters installed after it"),
                || meaning::stack(space, &newer, &o),
            )?,
        });
    }
    let combined = combined.ok_or(VerifyError::NoFilters)?;
    bounded(
        || "the values the filters return".to_string(),
        || meaning::meanings(space, &combined),
    )
}

/// `work()`, within a fresh budget of [`program::NODE_BUDGET`] nodes for its bounded BDD
/// operations; `what` names it when it runs out.
fn bounded<T>(what: impl FnOnce() -> String, work: impl FnOnce() -> T) -> Result<T, VerifyError> {
    let budget = bits::Budget::start(program::NODE_BUDGET);
    let result = work();
    if budget.spent() {
        return Err(VerifyError::TooComplex {
            what: what(),
            limit: program::NODE_BUDGET,
        });
    }
    Ok(result)
}

/// What the emulator says the stack returns for `data` (raw, combined as the kernel does).
fn emulate_stack(filters: &[Program], data: &SeccompData) -> Result<u32, VerifyError> {
    let mut best: Option<u32> = None;
    for (i, f) in filters.iter().enumerate().rev() {
        let ret = f
            .emulate(data)
            .map_err(|e| match e {
                crate::bpf::EmulateError::Invalid(source) => {
                    VerifyError::Invalid { filter: i, source }
                }
            })?
            .ret;
        let action = |v: u32| (v & crate::bpf::ret::ACTION_FULL) as i32;
        if best.is_none_or(|b| action(ret) < action(b)) {
            best = Some(ret);
        }
    }
    best.ok_or(VerifyError::NoFilters)
}

fn confirm_against_policy(
    filters: &[Program],
    policy: &Policy,
    data: SeccompData,
) -> Result<Mismatch, VerifyError> {
    let ret = emulate_stack(filters, &data)?;
    let decision = policy.decide_raw(data.arch, data.nr, &data.args);
    if kernel_meaning(ret) == kernel_meaning(decision.action.to_ret()) {
        return Err(VerifyError::Unconfirmed {
            data,
            detail: format!(
                "the filters return {ret:#010x} and the policy decides {}",
                decision.action
            ),
        });
    }
    Ok(Mismatch {
        data,
        filters: ret,
        reference: Reference::Policy(decision),
    })
}
