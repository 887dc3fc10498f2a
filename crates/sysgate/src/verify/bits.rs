//! The input space of a seccomp filter as Boolean variables, and 32-bit words over them.
//!
//! This file owns the encoding: `struct seccomp_data` is 64 bytes, sixteen 32-bit words, so
//! 512 Boolean variables. A set of inputs is a binary decision diagram (BDD) over them, and
//! a value a filter computes (the accumulator, X, a scratch word, a return value) is a
//! vector of 32 BDDs, one per bit. Every operation here is exact: the BDD of `A + X` is the
//! function `A + X` of the input bits, nothing approximated. What it does not own: running
//! programs ([`super::program`]) or reading policies ([`super::policy`]).
//!
//! Variable order: the arch word, then nr, then each argument's high and low word, then
//! the instruction pointer; most significant bit first inside each word. Comparisons of a
//! word with a constant, and of a 64-bit argument with a constant, are then linear in size.
//! Functions that relate two input words (`a0 == a1`, `a0 * a1`) are not: their BDDs grow
//! exponentially with the width. A symbolic run is therefore bounded ([`Budget`]): the
//! operations a program's instructions cause draw on a budget of BDD nodes, and a program
//! that exhausts it is refused as too complex instead of taking minutes and gigabytes.

use std::cell::Cell;

use biodivine_lib_bdd::{
    op_function, Bdd, BddPartialValuation, BddValuation, BddVariable, BddVariableSet,
};

use crate::arch::Endian;
use crate::bpf::{data, SeccompData};

/// The 512 input variables and the byte order that maps load offsets onto them.
pub(crate) struct Space {
    vars: BddVariableSet,
    endian: Endian,
    /// The vector of each of the 16 input words, built once.
    words: Vec<Word>,
}

/// A 32-bit value as a function of the input: bit `i` (0 = least significant) is `bits[i]`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Word {
    pub bits: Vec<Bdd>,
    /// The byte offset of the input word this is, unchanged, if it is one: comparisons of
    /// an input word with a constant are then built directly from its variables.
    pub input: Option<u32>,
}

/// The word of a 64-bit field that a load offset names.
#[derive(Copy, Clone)]
enum Half {
    High,
    Low,
}

thread_local! {
    /// BDD nodes the bounded operations of this thread may still build; `usize::MAX` when
    /// no [`Budget`] is active.
    static LEFT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// A budget of BDD nodes for one symbolic run, active on this thread while it lives. Every
/// bounded operation ([`Bounded`]) draws the size of its result from it; once it is spent,
/// bounded operations return at once with a meaningless result and [`Budget::spent`] says
/// so: the caller must then throw the run away.
pub(crate) struct Budget {
    before: usize,
}

impl Budget {
    /// Start a budget of `nodes` on this thread (nested budgets draw on the innermost).
    pub fn start(nodes: usize) -> Budget {
        Budget {
            before: LEFT.replace(nodes),
        }
    }

    /// Whether the budget ran out: results built since may be wrong.
    pub fn spent(&self) -> bool {
        LEFT.get() == 0
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        LEFT.set(self.before);
    }
}

/// Binary operations that draw on the thread's [`Budget`].
pub(crate) trait Bounded {
    fn and_b(&self, other: &Bdd) -> Bdd;
    fn or_b(&self, other: &Bdd) -> Bdd;
    fn xor_b(&self, other: &Bdd) -> Bdd;
    fn iff_b(&self, other: &Bdd) -> Bdd;
    fn and_not_b(&self, other: &Bdd) -> Bdd;
}

/// `op(left, right)`, unless the result would be larger than what is left of the budget:
/// then the budget is spent and `left` is returned (the run is abandoned, see [`Budget`]).
fn bounded(left: &Bdd, right: &Bdd, op: fn(Option<bool>, Option<bool>) -> Option<bool>) -> Bdd {
    let budget = LEFT.get();
    if budget == 0 {
        return left.clone();
    }
    match Bdd::binary_op_with_limit(budget, left, right, op) {
        Some(r) => {
            if budget != usize::MAX {
                LEFT.set(budget.saturating_sub(r.size()));
            }
            r
        }
        None => {
            LEFT.set(0);
            left.clone()
        }
    }
}

impl Bounded for Bdd {
    fn and_b(&self, other: &Bdd) -> Bdd {
        bounded(self, other, op_function::and)
    }
    fn or_b(&self, other: &Bdd) -> Bdd {
        bounded(self, other, op_function::or)
    }
    fn xor_b(&self, other: &Bdd) -> Bdd {
        bounded(self, other, op_function::xor)
    }
    fn iff_b(&self, other: &Bdd) -> Bdd {
        bounded(self, other, op_function::iff)
    }
    fn and_not_b(&self, other: &Bdd) -> Bdd {
        bounded(self, other, op_function::and_not)
    }
}

/// `if cond then then else other`, bounded.
pub(crate) fn ite_b(cond: &Bdd, then: &Bdd, other: &Bdd) -> Bdd {
    cond.and_b(then).or_b(&other.and_not_b(cond))
}

impl Space {
    pub fn new(endian: Endian) -> Space {
        let vars = BddVariableSet::new_anonymous(512);
        let mut space = Space {
            vars,
            endian,
            words: Vec::new(),
        };
        space.words = (0..16)
            .map(|w| {
                let block = space.block(w * 4);
                Word {
                    bits: (0..32)
                        .map(|bit| space.vars.mk_var(var(block, bit)))
                        .collect(),
                    input: Some(w * 4),
                }
            })
            .collect();
        space
    }

    #[cfg(test)]
    pub fn endian(&self) -> Endian {
        self.endian
    }

    pub fn t(&self) -> Bdd {
        self.vars.mk_true()
    }

    pub fn f(&self) -> Bdd {
        self.vars.mk_false()
    }

    /// The position in the variable order of the word at byte `offset` of `seccomp_data`.
    fn block(&self, offset: u32) -> usize {
        match offset {
            data::ARCH => 0,
            data::NR => 1,
            _ => {
                let field = offset / 8; // 1 = ip, 2.. = args
                let half = match (offset % 8 == 0, self.endian) {
                    (true, Endian::Little) | (false, Endian::Big) => Half::Low,
                    _ => Half::High,
                };
                let base = if field == 1 {
                    14
                } else {
                    2 + 2 * (field as usize - 2)
                };
                base + usize::from(matches!(half, Half::Low))
            }
        }
    }

    /// The input word at byte `offset` (4-aligned, below 64).
    pub fn input(&self, offset: u32) -> Word {
        self.words[(offset / 4) as usize].clone()
    }

    pub fn constant(&self, k: u32) -> Word {
        Word {
            bits: (0..32).map(|i| self.bit(k >> i & 1 == 1)).collect(),
            input: None,
        }
    }

    /// The variables of the input word at byte `offset`, least significant first.
    pub fn vars_of(&self, offset: u32) -> Vec<BddVariable> {
        let block = self.block(offset);
        (0..32).map(|bit| var(block, bit)).collect()
    }

    /// The variables of argument `arg` as `decide` reads it: 64 on 64-bit ABIs, the low
    /// word's 32 on 32-bit ones (the high word is zero there). Least significant first.
    pub fn arg_vars(&self, arg: usize, wide: bool) -> Vec<BddVariable> {
        let first = data::ARGS + 8 * arg as u32;
        let (lo, hi) = match self.endian {
            Endian::Little => (first, first + 4),
            Endian::Big => (first + 4, first),
        };
        let mut vars = self.vars_of(lo);
        if wide {
            vars.extend(self.vars_of(hi));
        }
        vars
    }

    /// `x == k` for the unsigned number whose bits are `vars` (one cube).
    pub fn eq_k(&self, vars: &[BddVariable], k: u64) -> Bdd {
        if vars.len() < 64 && k >> vars.len() != 0 {
            return self.f();
        }
        let lits: Vec<(BddVariable, bool)> = vars
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, k >> i & 1 == 1))
            .collect();
        self.vars
            .mk_conjunctive_clause(&BddPartialValuation::from_values(&lits))
    }

    /// `x < k` for the unsigned number whose bits are `vars`: one cube per set bit of `k`
    /// (the bits above it equal to `k`'s, that bit clear), built in one go.
    pub fn lt_k(&self, vars: &[BddVariable], k: u128) -> Bdd {
        if k >> vars.len() != 0 {
            return self.t();
        }
        let k = k as u64;
        let cubes: Vec<BddPartialValuation> = (0..vars.len())
            .filter(|i| k >> i & 1 == 1)
            .map(|i| {
                let mut lits = vec![(vars[i], false)];
                lits.extend((i + 1..vars.len()).map(|j| (vars[j], k >> j & 1 == 1)));
                BddPartialValuation::from_values(&lits)
            })
            .collect();
        self.vars.mk_dnf(&cubes)
    }

    /// The inputs where each of `lits` has its value.
    pub fn cube(&self, lits: &[(BddVariable, bool)]) -> Bdd {
        self.vars
            .mk_conjunctive_clause(&BddPartialValuation::from_values(lits))
    }

    /// `x & k != 0` for the number whose bits are `vars`.
    pub fn jset_k(&self, vars: &[BddVariable], k: u64) -> Bdd {
        let lits: Vec<(BddVariable, bool)> = vars
            .iter()
            .enumerate()
            .filter(|(i, _)| k >> i & 1 == 1)
            .map(|(_, v)| (*v, true))
            .collect();
        self.vars
            .mk_disjunctive_clause(&BddPartialValuation::from_values(&lits))
    }

    pub fn bit(&self, b: bool) -> Bdd {
        if b {
            self.t()
        } else {
            self.f()
        }
    }

    /// The input a satisfying assignment of some set stands for.
    pub fn data_of(&self, valuation: &BddValuation) -> SeccompData {
        let word = |offset: u32| -> u32 {
            let block = self.block(offset);
            (0..32).fold(0u32, |acc, bit| {
                acc | (u32::from(valuation.value(var(block, bit))) << bit)
            })
        };
        let field = |offset: u32| -> u64 {
            let (lo, hi) = match self.endian {
                Endian::Little => (word(offset), word(offset + 4)),
                Endian::Big => (word(offset + 4), word(offset)),
            };
            u64::from(hi) << 32 | u64::from(lo)
        };
        SeccompData {
            nr: word(data::NR),
            arch: word(data::ARCH),
            instruction_pointer: field(data::IP),
            args: std::array::from_fn(|i| field(data::ARGS + 8 * i as u32)),
        }
    }

    /// The assignment of the input variables that stands for `d`.
    #[cfg(test)]
    pub fn valuation(&self, d: &SeccompData) -> BddValuation {
        let mut v = BddValuation::all_false(512);
        for offset in (0..data::SIZE).step_by(4) {
            let word = d.word(offset, self.endian).unwrap_or(0);
            let block = self.block(offset);
            for bit in 0..32 {
                v.set_value(var(block, bit), word >> bit & 1 == 1);
            }
        }
        v
    }

    /// Some input in `set`, if it is not empty.
    pub fn witness(&self, set: &Bdd) -> Option<SeccompData> {
        set.sat_witness().map(|v| self.data_of(&v))
    }

    /// The set of inputs whose word at `offset` is in `lo..=hi`.
    pub fn word_in(&self, offset: u32, lo: u32, hi: u32) -> Bdd {
        let vars = self.vars_of(offset);
        if lo == hi {
            return self.eq_k(&vars, u64::from(lo));
        }
        self.lt_k(&vars, u128::from(hi) + 1)
            .and_not(&self.lt_k(&vars, u128::from(lo)))
    }
}

/// Variable `bit` (0 = least significant) of the word in position `block`.
fn var(block: usize, bit: usize) -> BddVariable {
    BddVariable::from_index(block * 32 + (31 - bit))
}

/// `a == b`, bit vectors of equal width.
pub(crate) fn eq(space: &Space, a: &[Bdd], b: &[Bdd]) -> Bdd {
    a.iter()
        .zip(b)
        .fold(space.t(), |acc, (x, y)| acc.and_b(&x.iff_b(y)))
}

/// `a < b` unsigned, bit vectors of equal width (least significant bit first).
pub(crate) fn ult(space: &Space, a: &[Bdd], b: &[Bdd]) -> Bdd {
    // From the least significant bit up: where the bits differ, that bit decides; where
    // they are equal, the lower bits do.
    a.iter().zip(b).fold(space.f(), |lower, (x, y)| {
        let less_here = x.not().and_b(y);
        let same = x.iff_b(y);
        less_here.or_b(&same.and_b(&lower))
    })
}

impl Word {
    pub fn not(&self) -> Word {
        Word {
            bits: self.bits.iter().map(|b| b.not()).collect(),
            input: None,
        }
    }

    pub fn zip(&self, other: &Word, f: impl Fn(&Bdd, &Bdd) -> Bdd) -> Word {
        Word {
            bits: self
                .bits
                .iter()
                .zip(&other.bits)
                .map(|(a, b)| f(a, b))
                .collect(),
            input: None,
        }
    }

    /// `if cond then self else other`, bit by bit.
    pub fn select(cond: &Bdd, then: &Word, other: &Word) -> Word {
        if then == other {
            return then.clone();
        }
        then.zip(other, |a, b| ite_b(cond, a, b))
    }

    /// The value as a constant, if every bit is one.
    pub fn as_const(&self) -> Option<u32> {
        let mut k = 0u32;
        for (i, b) in self.bits.iter().enumerate() {
            if b.is_true() {
                k |= 1 << i;
            } else if !b.is_false() {
                return None;
            }
        }
        Some(k)
    }

    /// `self + other + carry_in`, wrapping at 32 bits.
    pub fn add(&self, space: &Space, other: &Word, carry_in: bool) -> Word {
        let mut carry = space.bit(carry_in);
        let mut bits = Vec::with_capacity(32);
        for (a, b) in self.bits.iter().zip(&other.bits) {
            let half = a.xor_b(b);
            bits.push(half.xor_b(&carry));
            carry = a.and_b(b).or_b(&carry.and_b(&half));
        }
        Word { bits, input: None }
    }

    pub fn sub(&self, space: &Space, other: &Word) -> Word {
        self.add(space, &other.not(), true)
    }

    /// Shift left by a constant below 32.
    pub fn shl(&self, space: &Space, n: u32) -> Word {
        let n = n as usize;
        Word {
            bits: (0..32)
                .map(|i| {
                    if i >= n {
                        self.bits[i - n].clone()
                    } else {
                        space.f()
                    }
                })
                .collect(),
            input: None,
        }
    }

    /// Logical shift right by a constant below 32.
    pub fn shr(&self, space: &Space, n: u32) -> Word {
        let n = n as usize;
        Word {
            bits: (0..32)
                .map(|i| self.bits.get(i + n).cloned().unwrap_or_else(|| space.f()))
                .collect(),
            input: None,
        }
    }

    /// Shift by the low five bits of `by` (the kernel's `lsh x`/`rsh x`), as a barrel
    /// shifter: one stage per bit of the amount.
    pub fn shift_by(&self, space: &Space, by: &Word, left: bool) -> Word {
        let mut v = self.clone();
        for stage in 0..5 {
            let amount = 1u32 << stage;
            let shifted = if left {
                v.shl(space, amount)
            } else {
                v.shr(space, amount)
            };
            v = Word::select(&by.bits[stage], &shifted, &v);
        }
        v
    }

    /// `self * other`, wrapping: shift-and-add over the bits of `other`.
    pub fn mul(&self, space: &Space, other: &Word) -> Word {
        let zero = space.constant(0);
        let mut acc = zero.clone();
        for (i, b) in other.bits.iter().enumerate() {
            if b.is_false() {
                continue;
            }
            let term = Word::select(b, &self.shl(space, i as u32), &zero);
            acc = acc.add(space, &term, false);
        }
        acc
    }

    /// `self / other`, unsigned, for every input where `other` is not zero (restoring
    /// division, one compare-and-subtract per quotient bit).
    pub fn div(&self, space: &Space, other: &Word) -> Word {
        // A 33-bit remainder: doubling a remainder below a divisor of up to 2^32 - 1 may
        // need the extra bit.
        let mut divisor = other.bits.clone();
        divisor.push(space.f());
        let mut rem: Vec<Bdd> = (0..33).map(|_| space.f()).collect();
        let mut quotient = vec![space.f(); 32];
        for i in (0..32).rev() {
            rem.pop();
            rem.insert(0, self.bits[i].clone());
            let fits = ult(space, &rem, &divisor).not();
            let diff = Word {
                bits: rem.clone(),
                input: None,
            }
            .sub33(space, &divisor);
            rem = rem
                .iter()
                .zip(&diff)
                .map(|(r, d)| ite_b(&fits, d, r))
                .collect();
            quotient[i] = fits;
        }
        Word {
            bits: quotient,
            input: None,
        }
    }

    /// Subtraction on any width (used by [`Word::div`] on 33 bits).
    fn sub33(&self, space: &Space, other: &[Bdd]) -> Vec<Bdd> {
        let mut carry = space.t();
        let mut bits = Vec::with_capacity(self.bits.len());
        for (a, b) in self.bits.iter().zip(other) {
            let nb = b.not();
            let half = a.xor_b(&nb);
            bits.push(half.xor_b(&carry));
            carry = a.and_b(&nb).or_b(&carry.and_b(&half));
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluate a word at one input.
    fn eval(space: &Space, w: &Word, d: &SeccompData) -> u32 {
        let at = space.valuation(d);
        w.bits
            .iter()
            .enumerate()
            .fold(0, |acc, (i, b)| acc | (u32::from(b.eval_in(&at)) << i))
    }

    /// The set holding exactly `d`.
    fn point(space: &Space, d: &SeccompData) -> Bdd {
        let mut set = space.t();
        for offset in (0..64).step_by(4) {
            let v = d.word(offset, space.endian()).unwrap();
            set = set.and(&eq(
                space,
                &space.input(offset).bits,
                &space.constant(v).bits,
            ));
        }
        set
    }

    #[test]
    fn witnesses_read_back_the_words_loads_see() {
        for endian in [Endian::Little, Endian::Big] {
            let space = Space::new(endian);
            let d = SeccompData {
                nr: 7,
                arch: 0xc000_003e,
                instruction_pointer: 0x1234_5678_9abc_def0,
                args: [1, 0xffff_0000_0000_0001, 3, 4, 5, 0x8000_0000_0000_0000],
            };
            assert_eq!(space.witness(&point(&space, &d)), Some(d));
            for offset in (0..64).step_by(4) {
                let w = space.input(offset);
                assert_eq!(eval(&space, &w, &d), d.word(offset, endian).unwrap());
            }
        }
    }

    /// `w` with every bit outside `keep` forced to zero.
    fn only_bits(space: &Space, w: &Word, keep: &[usize]) -> Word {
        Word {
            bits: (0..32)
                .map(|i| {
                    if keep.contains(&i) {
                        w.bits[i].clone()
                    } else {
                        space.f()
                    }
                })
                .collect(),
            input: None,
        }
    }

    type Reference = fn(u32, u32) -> u32;
    type Symbolic = fn(&Space, &Word, &Word) -> Word;

    /// Each operation on a symbolic word and a constant, and on two symbolic words whose
    /// free bits are the low six and the top one (so carries, borrows and wrapping all
    /// happen); checked against Rust's own arithmetic at every combination of samples.
    /// (Two full 32-bit input words in one sum make BDDs exponential in this variable
    /// order: the documented worst case, not something to test.)
    #[test]
    fn arithmetic_is_exact_at_sample_points() {
        let space = Space::new(Endian::Little);
        let keep = [0, 1, 2, 3, 4, 5, 31];
        let a = only_bits(&space, &space.input(data::NR), &keep);
        let x = only_bits(&space, &space.input(data::ARCH), &keep);
        let samples = [0u32, 1, 2, 3, 7, 31, 32, 33, 63, 0x8000_0000, 0x8000_003f];
        let ops: Vec<(&str, Symbolic, Reference)> = vec![
            (
                "add",
                |s, a, x| a.add(s, x, false),
                |a, x| a.wrapping_add(x),
            ),
            ("sub", |s, a, x| a.sub(s, x), |a, x| a.wrapping_sub(x)),
            ("mul", |s, a, x| a.mul(s, x), |a, x| a.wrapping_mul(x)),
            (
                "lsh",
                |s, a, x| a.shift_by(s, x, true),
                |a, x| a.wrapping_shl(x),
            ),
            (
                "rsh",
                |s, a, x| a.shift_by(s, x, false),
                |a, x| a.wrapping_shr(x),
            ),
        ];
        for (name, op, f) in &ops {
            let both = op(&space, &a, &x);
            for &vx in &samples {
                let full = op(&space, &space.input(data::NR), &space.constant(vx));
                for &va in &samples {
                    let d = SeccompData {
                        nr: va,
                        arch: vx,
                        ..Default::default()
                    };
                    assert_eq!(
                        eval(&space, &both, &d),
                        f(va, vx),
                        "{name}({va:#x}, {vx:#x})"
                    );
                    let nr = va ^ 0x1234_5600;
                    let d = SeccompData {
                        nr,
                        ..Default::default()
                    };
                    assert_eq!(
                        eval(&space, &full, &d),
                        f(nr, vx),
                        "{name}({nr:#x}, {vx:#x})"
                    );
                }
            }
        }
        let full = space.input(data::NR);
        // (A divisor k costs up to k BDD nodes per bit: x / 65537 takes a minute.)
        for k in [1u32, 3, 7, 0x10, u32::MAX] {
            let q = full.div(&space, &space.constant(k));
            for v in [0u32, 1, 6, 7, 8, 0xffff, 0x1_0000, 0x8000_0000, u32::MAX] {
                let d = SeccompData {
                    nr: v,
                    ..Default::default()
                };
                assert_eq!(eval(&space, &q, &d), v / k, "{v:#x} / {k:#x}");
            }
        }
        let lt = ult(&space, &a.bits, &x.bits);
        for &va in &samples {
            for &vx in &samples {
                let d = SeccompData {
                    nr: va,
                    arch: vx,
                    ..Default::default()
                };
                assert_eq!(lt.eval_in(&space.valuation(&d)), va < vx);
            }
        }
    }

    #[test]
    fn constant_comparisons_on_64_bit_arguments() {
        for endian in [Endian::Little, Endian::Big] {
            let space = Space::new(endian);
            let vars = space.arg_vars(2, true);
            let narrow = space.arg_vars(2, false);
            let ks = [
                0u64,
                1,
                2,
                0xffff_ffff,
                0x1_0000_0000,
                0x1_0000_0001,
                u64::MAX,
            ];
            for &k in &ks {
                let (eq64, lt64) = (space.eq_k(&vars, k), space.lt_k(&vars, u128::from(k)));
                let (eq32, lt32) = (space.eq_k(&narrow, k), space.lt_k(&narrow, u128::from(k)));
                let set = space.jset_k(&vars, k);
                for &x in &ks {
                    let mut d = SeccompData::default();
                    d.args[2] = x;
                    let at = space.valuation(&d);
                    assert_eq!(eq64.eval_in(&at), x == k, "{x:#x} == {k:#x}");
                    assert_eq!(lt64.eval_in(&at), x < k, "{x:#x} < {k:#x}");
                    assert_eq!(set.eval_in(&at), x & k != 0, "{x:#x} & {k:#x}");
                    let low = x & 0xffff_ffff;
                    assert_eq!(eq32.eval_in(&at), low == k, "32-bit {x:#x} == {k:#x}");
                    assert_eq!(lt32.eval_in(&at), low < k, "32-bit {x:#x} < {k:#x}");
                }
            }
            assert!(space.lt_k(&vars, 1 << 64).is_true());
            assert!(space
                .word_in(data::NR, 5, 9)
                .eval_in(&space.valuation(&SeccompData {
                    nr: 9,
                    ..Default::default()
                })));
        }
    }

    #[test]
    fn division_by_a_symbolic_word() {
        let space = Space::new(Endian::Little);
        let (a, x) = (space.input(data::NR), space.input(data::ARCH));
        // Small words keep this quick: restrict both to 4 bits by construction.
        let a4 = Word {
            bits: (0..32)
                .map(|i| if i < 4 { a.bits[i].clone() } else { space.f() })
                .collect(),
            input: None,
        };
        let x4 = Word {
            bits: (0..32)
                .map(|i| if i < 4 { x.bits[i].clone() } else { space.f() })
                .collect(),
            input: None,
        };
        let q = a4.div(&space, &x4);
        for va in 0..16u32 {
            for vx in 1..16u32 {
                let d = SeccompData {
                    nr: va,
                    arch: vx,
                    ..Default::default()
                };
                assert_eq!(eval(&space, &q, &d), va / vx);
            }
        }
    }
}
