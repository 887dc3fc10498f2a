//! A filter program as a function of its input: which inputs reach each return, and what it
//! returns there.
//!
//! This file owns the symbolic run of every instruction the kernel's seccomp checker accepts
//! (`bpf/decode.rs`' [`Op`]): loads of any `seccomp_data` word, immediates, the length,
//! scratch memory, ALU with constants and X, negation, every jump with K or X, `ret #k` and
//! `ret a`, and `div x` by zero (which returns 0). Programs are loop-free (every jump goes
//! forward), so one pass in instruction order visits every instruction once: the state
//! arriving at an instruction is the union of the states of the paths that reach it, each
//! register a [`Word`] of the input bits. Nothing here is approximated; the cost is the size
//! of the BDDs, which is small for comparisons and masks and can grow exponentially for
//! products or quotients of two input words, or any test relating two of them; a run
//! is therefore refused once it has built [`NODE_BUDGET`] nodes. What it does not own: what a return value means
//! ([`super::meaning`]) or policies.

use biodivine_lib_bdd::Bdd;
use rustc_hash::FxHashMap;

use super::bits::{eq, ult, Bounded, Budget, Space, Word};
use crate::bpf::decode::{decode, AluOp, Cond, Op, Src};
use crate::bpf::{data, InvalidProgram, Program};

/// What a program returns: disjoint input sets, each with its return value. Together they
/// cover every input.
#[derive(Clone, Debug)]
pub(crate) struct Outcomes {
    /// Return constants and the inputs that get them.
    pub constants: FxHashMap<u32, Bdd>,
    /// `ret a` (or a combination of stacked filters) where the value depends on the input.
    pub computed: Vec<(Bdd, Word)>,
}

/// The machine state on the paths that reach one instruction.
#[derive(Clone)]
struct State {
    reach: Bdd,
    a: Word,
    x: Word,
    mem: Vec<Word>,
}

impl State {
    /// The union of two states arriving at one instruction. A register that is dead there
    /// (written before it is read on every path on) keeps either value: merging it would
    /// only build BDDs nobody reads.
    fn merge(self, other: State, live: u32) -> State {
        let (p, q) = (&self.reach, &other.reach);
        let pick = |bit: u32, m: &Word, n: &Word| {
            if live & bit != 0 {
                Word::select(p, m, n)
            } else {
                m.clone()
            }
        };
        State {
            a: pick(LIVE_A, &self.a, &other.a),
            x: pick(LIVE_X, &self.x, &other.x),
            mem: self
                .mem
                .iter()
                .zip(&other.mem)
                .enumerate()
                .map(|(i, (m, n))| pick(live_mem(i), m, n))
                .collect(),
            reach: p.or_b(q),
        }
    }
}

const LIVE_A: u32 = 1;
const LIVE_X: u32 = 2;
const fn live_mem(slot: usize) -> u32 {
    4 << slot
}

/// For each instruction, which of A, X and the scratch words may be read before being
/// written on some path from it (backwards over the loop-free program).
fn liveness(insns: &[crate::bpf::Insn]) -> Vec<u32> {
    let mut live = vec![0u32; insns.len() + 1];
    for pc in (0..insns.len()).rev() {
        let insn = insns[pc];
        let slot = live_mem((insn.k as usize).min(15));
        let at = |t: usize| live.get(t).copied().unwrap_or(0);
        let (uses, defs, out) = match decode(insn.code) {
            None | Some(Op::RetK) => (0, 0, 0),
            Some(Op::RetA) => (LIVE_A, 0, 0),
            Some(Op::LdAbs | Op::LdLen | Op::LdImm) => (0, LIVE_A, at(pc + 1)),
            Some(Op::LdxLen | Op::LdxImm) => (0, LIVE_X, at(pc + 1)),
            Some(Op::LdMem) => (slot, LIVE_A, at(pc + 1)),
            Some(Op::LdxMem) => (slot, LIVE_X, at(pc + 1)),
            Some(Op::St) => (LIVE_A, slot, at(pc + 1)),
            Some(Op::Stx) => (LIVE_X, slot, at(pc + 1)),
            Some(Op::Tax) => (LIVE_A, LIVE_X, at(pc + 1)),
            Some(Op::Txa) => (LIVE_X, LIVE_A, at(pc + 1)),
            Some(Op::Neg) => (LIVE_A, LIVE_A, at(pc + 1)),
            Some(Op::Alu(_, Src::K)) => (LIVE_A, LIVE_A, at(pc + 1)),
            Some(Op::Alu(_, Src::X)) => (LIVE_A | LIVE_X, LIVE_A, at(pc + 1)),
            Some(Op::Ja) => (0, 0, at(pc + 1 + insn.k as usize)),
            Some(Op::Jump(_, src)) => (
                LIVE_A | if src == Src::X { LIVE_X } else { 0 },
                0,
                at(pc + 1 + insn.jt as usize) | at(pc + 1 + insn.jf as usize),
            ),
        };
        live[pc] = uses | (out & !defs);
    }
    live
}

/// The BDD nodes one program's symbolic run may build (about 12 bytes each, most of them
/// freed as the run goes on). Sysgate's, libseccomp's and runc's filters, which compare
/// input words with constants, need a small fraction of it even at 4096 instructions; a
/// program that relates two input words (`jeq x` after `ld a0; tax; ld a1`, a product of
/// two words) needs more nodes than there are atoms, and is refused when it has drawn this
/// many.
pub(crate) const NODE_BUDGET: usize = 1 << 22;

/// Why a program has no symbolic run.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The kernel would refuse it.
    Invalid(InvalidProgram),
    /// It needed more than [`NODE_BUDGET`] nodes; `index` is the instruction being run
    /// when they ran out.
    TooComplex { index: usize },
}

impl From<InvalidProgram> for RunError {
    fn from(e: InvalidProgram) -> RunError {
        RunError::Invalid(e)
    }
}

/// Run `program` on every input at once, within [`NODE_BUDGET`].
pub(crate) fn outcomes(space: &Space, program: &Program) -> Result<Outcomes, RunError> {
    program.validate()?;
    let budget = Budget::start(NODE_BUDGET);
    let insns = program.insns();
    let live = liveness(insns);
    let mut pending: Vec<Option<State>> = vec![None; insns.len()];
    let zero = space.constant(0);
    pending[0] = Some(State {
        reach: space.t(),
        a: zero.clone(),
        x: zero.clone(),
        mem: vec![zero; 16],
    });
    let mut out = Outcomes {
        constants: FxHashMap::default(),
        computed: Vec::new(),
    };
    let ret_const = |out: &mut Outcomes, reach: Bdd, k: u32| {
        let entry = out.constants.entry(k).or_insert_with(|| space.f());
        *entry = entry.or_b(&reach);
    };
    for pc in 0..insns.len() {
        if budget.spent() {
            return Err(RunError::TooComplex { index: pc - 1 });
        }
        let Some(mut s) = pending[pc].take() else {
            continue;
        };
        if s.reach.is_false() {
            continue;
        }
        let insn = insns[pc];
        let k = insn.k;
        // validate() accepted every opcode.
        let op = decode(insn.code).ok_or(InvalidProgram::OpcodeNotAllowed {
            index: pc,
            code: insn.code,
        })?;
        let mut next = pc + 1;
        let slot = (k as usize).min(15);
        match op {
            Op::LdAbs => s.a = space.input(k),
            Op::LdLen => s.a = space.constant(data::SIZE),
            Op::LdxLen => s.x = space.constant(data::SIZE),
            Op::LdImm => s.a = space.constant(k),
            Op::LdxImm => s.x = space.constant(k),
            Op::LdMem => s.a = s.mem[slot].clone(),
            Op::LdxMem => s.x = s.mem[slot].clone(),
            Op::St => s.mem[slot] = s.a.clone(),
            Op::Stx => s.mem[slot] = s.x.clone(),
            Op::Tax => s.x = s.a.clone(),
            Op::Txa => s.a = s.x.clone(),
            Op::Neg => s.a = space.constant(0).sub(space, &s.a),
            Op::Alu(alu, src) => {
                let operand = match src {
                    Src::K => space.constant(k),
                    Src::X => s.x.clone(),
                };
                if alu == AluOp::Div {
                    // `div x` by zero ends the program with 0 (`div #0` never loads).
                    let by_zero = s.reach.and_b(&eq(space, &operand.bits, &zero_bits(space)));
                    if !by_zero.is_false() {
                        ret_const(&mut out, by_zero.clone(), 0);
                        s.reach = s.reach.and_not_b(&by_zero);
                    }
                }
                s.a = alu_op(space, alu, &s.a, &operand);
            }
            Op::Ja => next = pc + 1 + k as usize,
            Op::Jump(cond, src) => {
                let operand = match src {
                    Src::K => space.constant(k),
                    Src::X => s.x.clone(),
                };
                let holds = match (s.a.input, src) {
                    // An input word against a constant: built from its variables at once.
                    (Some(offset), Src::K) => {
                        let vars = space.vars_of(offset);
                        let k64 = u64::from(k);
                        match cond {
                            Cond::Jeq => space.eq_k(&vars, k64),
                            Cond::Jgt => space.lt_k(&vars, u128::from(k) + 1).not(),
                            Cond::Jge => space.lt_k(&vars, u128::from(k)).not(),
                            Cond::Jset => space.jset_k(&vars, k64),
                        }
                    }
                    _ => symbolic_cond(space, cond, &s.a, &operand),
                };
                let (jt, jf) = (pc + 1 + insn.jt as usize, pc + 1 + insn.jf as usize);
                if jt == jf {
                    next = jt;
                } else {
                    let taken = s.reach.and_b(&holds);
                    let not_taken = s.reach.and_not_b(&holds);
                    arrive(
                        &mut pending,
                        &live,
                        jt,
                        State {
                            reach: taken,
                            ..s.clone()
                        },
                    );
                    arrive(
                        &mut pending,
                        &live,
                        jf,
                        State {
                            reach: not_taken,
                            ..s
                        },
                    );
                    continue;
                }
            }
            Op::RetK => {
                ret_const(&mut out, s.reach, k);
                continue;
            }
            Op::RetA => {
                match s.a.as_const() {
                    Some(v) => ret_const(&mut out, s.reach, v),
                    None => out.computed.push((s.reach, s.a)),
                }
                continue;
            }
        }
        arrive(&mut pending, &live, next, s);
    }
    if budget.spent() {
        return Err(RunError::TooComplex {
            index: insns.len() - 1,
        });
    }
    Ok(out)
}

/// A jump's condition on any two values.
fn symbolic_cond(space: &Space, cond: Cond, a: &Word, operand: &Word) -> Bdd {
    match cond {
        Cond::Jeq => eq(space, &a.bits, &operand.bits),
        Cond::Jgt => ult(space, &operand.bits, &a.bits),
        Cond::Jge => ult(space, &a.bits, &operand.bits).not(),
        Cond::Jset => a
            .bits
            .iter()
            .zip(&operand.bits)
            .fold(space.f(), |acc, (x, y)| acc.or_b(&x.and_b(y))),
    }
}

fn zero_bits(space: &Space) -> Vec<Bdd> {
    space.constant(0).bits
}

/// Record that the paths of `s` reach instruction `at`.
fn arrive(pending: &mut [Option<State>], live: &[u32], at: usize, s: State) {
    if s.reach.is_false() {
        return;
    }
    // validate() checked every jump lands inside the program.
    let Some(slot) = pending.get_mut(at) else {
        return;
    };
    *slot = Some(match slot.take() {
        Some(there) => there.merge(s, live.get(at).copied().unwrap_or(u32::MAX)),
        None => s,
    });
}

fn alu_op(space: &Space, alu: AluOp, a: &Word, operand: &Word) -> Word {
    if let (Some(x), Some(y)) = (a.as_const(), operand.as_const()) {
        let v = match alu {
            AluOp::Add => x.wrapping_add(y),
            AluOp::Sub => x.wrapping_sub(y),
            AluOp::Mul => x.wrapping_mul(y),
            AluOp::Div => x.checked_div(y).unwrap_or(0),
            AluOp::Or => x | y,
            AluOp::And => x & y,
            AluOp::Xor => x ^ y,
            AluOp::Lsh => x.wrapping_shl(y),
            AluOp::Rsh => x.wrapping_shr(y),
        };
        return space.constant(v);
    }
    match alu {
        AluOp::Add => a.add(space, operand, false),
        AluOp::Sub => a.sub(space, operand),
        AluOp::Mul => a.mul(space, operand),
        AluOp::Div => match operand.as_const() {
            Some(d) if d.is_power_of_two() => a.shr(space, d.trailing_zeros()),
            _ => a.div(space, operand),
        },
        AluOp::Or => a.zip(operand, |p, q| p.or_b(q)),
        AluOp::And => a.zip(operand, |p, q| p.and_b(q)),
        AluOp::Xor => a.zip(operand, |p, q| p.xor_b(q)),
        AluOp::Lsh => match operand.as_const() {
            Some(n) => a.shl(space, n & 31),
            None => a.shift_by(space, operand, true),
        },
        AluOp::Rsh => match operand.as_const() {
            Some(n) => a.shr(space, n & 31),
            None => a.shift_by(space, operand, false),
        },
    }
}
