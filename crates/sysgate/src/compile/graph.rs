//! Stage 2 of codegen: the decision graph.
//!
//! Ranges and decisions become an immutable, memoized (hash-consed) DAG of 32-bit word tests
//! and returns: identical sub-trees exist once, so identical tails are emitted once. Nodes
//! say which word they test (`nr`, `arch`, an argument's low or high word) but not how it
//! gets into the accumulator: the emitter decides where a load is needed. Nothing here knows
//! about jump offsets.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use crate::arch::Endian;
use crate::bpf::{data, op};
use crate::policy::{Action, ArgCond, CmpOp};

use super::ranges::{Decision, TokenRanges};

/// Index of a node in a [`Graph`].
pub type NodeId = u32;

/// A 32-bit word of `seccomp_data`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Word {
    /// The syscall number.
    Nr,
    /// The audit architecture token.
    Arch,
    /// Low 32 bits of argument `i`.
    ArgLo(u8),
    /// High 32 bits of argument `i`.
    ArgHi(u8),
}

impl Word {
    /// Offset in `seccomp_data` for a program of byte order `endian`.
    pub fn offset(self, endian: Endian) -> u32 {
        let arg = |i: u8, high: bool| {
            let base = data::ARGS + 8 * u32::from(i);
            // Little-endian stores the low word first.
            if high == (endian == Endian::Little) {
                base + 4
            } else {
                base
            }
        };
        match self {
            Word::Nr => data::NR,
            Word::Arch => data::ARCH,
            Word::ArgLo(i) => arg(i, false),
            Word::ArgHi(i) => arg(i, true),
        }
    }
}

/// A jump condition against a constant.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Test {
    /// `A == k`
    Eq,
    /// `A > k` (unsigned)
    Gt,
    /// `A >= k` (unsigned)
    Ge,
    /// `A & k != 0`
    Set,
}

impl Test {
    /// The BPF jump opcode field.
    pub fn opcode(self) -> u16 {
        match self {
            Test::Eq => op::JEQ,
            Test::Gt => op::JGT,
            Test::Ge => op::JGE,
            Test::Set => op::JSET,
        }
    }
}

/// Most points a JEQ chain tests before a search splits instead (see `point_chain`): short
/// on syscall numbers, where every call pays for the depth, longer on argument values, where
/// the many values of one rule set make size matter more.
const fn max_chain(word: Word) -> usize {
    match word {
        Word::Nr | Word::Arch => 2,
        Word::ArgLo(_) | Word::ArgHi(_) => 6,
    }
}

/// How much more a range whose decision checks arguments weighs in the number search.
const ARG_CHECK_WEIGHT: u64 = 16;

/// A node of the decision graph.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// Return this value.
    Ret(u32),
    /// Test `word` (after `& mask`, if any) against `k`; go to `pass` or `fail`.
    Test {
        /// The word tested.
        word: Word,
        /// Mask applied with `and` before the test.
        mask: Option<u32>,
        /// The condition.
        test: Test,
        /// The constant.
        k: u32,
        /// Next node when the condition holds.
        pass: NodeId,
        /// Next node when it does not.
        fail: NodeId,
    },
}

/// A hash-consed DAG of [`Node`]s.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, NodeId>,
    /// Memo of lowered decisions, keyed by identity and word size; holds the `Arc` so the
    /// address cannot be reused while the graph lives.
    decisions: HashMap<(*const Decision, bool), (Arc<Decision>, NodeId)>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// The node behind an id.
    pub fn node(&self, id: NodeId) -> Node {
        self.nodes[id as usize]
    }

    /// How many distinct nodes exist.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    fn intern(&mut self, node: Node) -> NodeId {
        if let Some(id) = self.index.get(&node) {
            return *id;
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(node);
        self.index.insert(node, id);
        id
    }

    /// `ret value`.
    pub fn ret(&mut self, value: u32) -> NodeId {
        self.intern(Node::Ret(value))
    }

    /// A test node, folded when its outcome is known without looking at the word.
    pub fn test(
        &mut self,
        word: Word,
        mask: Option<u32>,
        test: Test,
        k: u32,
        pass: NodeId,
        fail: NodeId,
    ) -> NodeId {
        if pass == fail {
            return pass;
        }
        let mask = mask.filter(|m| *m != u32::MAX);
        // The largest value the (masked) word can hold.
        let max = mask.unwrap_or(u32::MAX);
        let known = match (test, mask) {
            (_, Some(0)) => Some(match test {
                Test::Eq => k == 0,
                Test::Gt => false,
                Test::Ge => k == 0,
                Test::Set => false,
            }),
            (Test::Gt, _) if k >= max => Some(false),
            (Test::Ge, _) if k == 0 => Some(true),
            (Test::Ge, _) if k > max => Some(false),
            (Test::Set, _) if k & max == 0 => Some(false),
            (Test::Eq, Some(m)) if k & !m != 0 => Some(false),
            _ => None,
        };
        match known {
            Some(true) => pass,
            Some(false) => fail,
            None => {
                // `(A & m) != 0` needs no `and`: JSET tests it directly.
                if let (Test::Set, Some(m)) = (test, mask) {
                    return self.intern(Node::Test {
                        word,
                        mask: None,
                        test,
                        k: k & m,
                        pass,
                        fail,
                    });
                }
                self.intern(Node::Test {
                    word,
                    mask,
                    test,
                    k,
                    pass,
                    fail,
                })
            }
        }
    }

    /// The node deciding `decision` (memoized per decision).
    pub fn decision(&mut self, decision: &Arc<Decision>, args_64bit: bool) -> NodeId {
        let key = (Arc::as_ptr(decision), args_64bit);
        if let Some((_, id)) = self.decisions.get(&key) {
            return *id;
        }
        if let Some(node) = self.single_argument(decision, args_64bit) {
            self.decisions.insert(key, (decision.clone(), node));
            return node;
        }
        // Most restrictive first: "if entry 1 holds then its action, else if entry 2 ...".
        // Built from the end, so each entry's fail branch is the rest of the chain.
        let mut node = self.ret(decision.fallback.to_ret());
        for (action, conds) in decision.entries.iter().rev() {
            let pass = self.ret(action.to_ret());
            node = self.all_of(conds, pass, node, args_64bit);
        }
        self.decisions.insert(key, (decision.clone(), node));
        node
    }

    /// `pass` if every condition holds, else `fail`.
    fn all_of(
        &mut self,
        conds: &[ArgCond],
        pass: NodeId,
        fail: NodeId,
        args_64bit: bool,
    ) -> NodeId {
        let mut node = pass;
        for cond in conds.iter().rev() {
            node = self.cond(cond, node, fail, args_64bit);
        }
        node
    }

    /// One 64-bit argument condition as word tests.
    ///
    /// On 64-bit ABIs the high word decides unless equal, then the low word:
    ///
    /// ```text
    /// a > v:   ld a.hi; jgt v.hi -> pass; jeq v.hi -> (ld a.lo; jgt v.lo -> pass : fail) : fail
    /// a == v:  ld a.hi; jeq v.hi -> (ld a.lo; jeq v.lo -> pass : fail) : fail
    /// ```
    ///
    /// On 32-bit ABIs the high word is zero, so its test is decided here and only the low word
    /// is loaded. `!=`, `<` and `<=` are `==`, `>=` and `>` with the branches swapped.
    fn cond(&mut self, cond: &ArgCond, pass: NodeId, fail: NodeId, args_64bit: bool) -> NodeId {
        let i = cond.arg() as u8;
        let v = cond.value();
        let (vh, vl) = ((v >> 32) as u32, v as u32);
        match cond.op() {
            CmpOp::Eq => self.eq(i, vh, vl, None, pass, fail, args_64bit),
            CmpOp::Ne => self.eq(i, vh, vl, None, fail, pass, args_64bit),
            CmpOp::Gt => self.greater(i, vh, vl, Test::Gt, pass, fail, args_64bit),
            CmpOp::Le => self.greater(i, vh, vl, Test::Gt, fail, pass, args_64bit),
            CmpOp::Ge => self.greater(i, vh, vl, Test::Ge, pass, fail, args_64bit),
            CmpOp::Lt => self.greater(i, vh, vl, Test::Ge, fail, pass, args_64bit),
            CmpOp::MaskedEq(m) => {
                if v & !m != 0 {
                    return fail; // bits outside the mask can never match
                }
                self.eq(i, vh, vl, Some(m), pass, fail, args_64bit)
            }
        }
    }

    /// `(a & mask) == v`, word by word; without a mask, plain equality.
    #[allow(clippy::too_many_arguments)]
    fn eq(
        &mut self,
        i: u8,
        vh: u32,
        vl: u32,
        mask: Option<u64>,
        pass: NodeId,
        fail: NodeId,
        args_64bit: bool,
    ) -> NodeId {
        let (mh, ml) = match mask {
            Some(m) => ((m >> 32) as u32, m as u32),
            None => (u32::MAX, u32::MAX),
        };
        let lo = self.masked_eq_word(Word::ArgLo(i), ml, vl, pass, fail);
        if args_64bit {
            self.masked_eq_word(Word::ArgHi(i), mh, vh, lo, fail)
        } else if vh == 0 {
            lo // the high word is zero, so it matches
        } else {
            fail
        }
    }

    /// `(word & m) == v` for one word, preferring forms that leave the accumulator intact:
    ///
    /// ```text
    /// m = all ones:            jeq v
    /// v = 0:                   jset m -> fail : pass
    /// m one bit, v = m:        jset m -> pass : fail
    /// otherwise:               and m; jeq v
    /// ```
    fn masked_eq_word(&mut self, word: Word, m: u32, v: u32, pass: NodeId, fail: NodeId) -> NodeId {
        if m == u32::MAX {
            self.test(word, None, Test::Eq, v, pass, fail)
        } else if v & !m != 0 {
            fail
        } else if v == 0 {
            self.test(word, None, Test::Set, m, fail, pass)
        } else if m.is_power_of_two() {
            self.test(word, None, Test::Set, m, pass, fail)
        } else {
            self.test(word, Some(m), Test::Eq, v, pass, fail)
        }
    }

    /// `a > v` (test Gt) or `a >= v` (test Ge) over 64 bits.
    #[allow(clippy::too_many_arguments)]
    fn greater(
        &mut self,
        i: u8,
        vh: u32,
        vl: u32,
        test: Test,
        pass: NodeId,
        fail: NodeId,
        args_64bit: bool,
    ) -> NodeId {
        let lo = self.test(Word::ArgLo(i), None, test, vl, pass, fail);
        if !args_64bit {
            // a.hi is 0: a >(=) v needs v.hi == 0 and then the low word decides.
            return if vh == 0 { lo } else { fail };
        }
        let hi_eq = self.test(Word::ArgHi(i), None, Test::Eq, vh, lo, fail);
        self.test(Word::ArgHi(i), None, Test::Gt, vh, pass, hi_eq)
    }

    /// Search over one token's ranges of syscall numbers.
    ///
    /// Each range is weighted by how many syscalls of the token's primary ABI it holds (x86_64
    /// over x32 on the shared token), so the common calls sit near the root; ranges holding no
    /// syscall still count a little, so they do not pile up in one deep chain.
    ///
    /// With `action_cache` the kernel never runs the filter for a call it allows whatever the
    /// arguments (below the x32 bit: the cache is indexed by the arch's own numbers), so
    /// such ranges weigh as little as empty ones, and the calls that do run the filter
    /// (argument checks, denials) sit nearer the root.
    pub fn dispatch_numbers(
        &mut self,
        ranges: &TokenRanges,
        args_64bit: bool,
        action_cache: bool,
    ) -> NodeId {
        let leaves: Vec<NodeId> = ranges
            .ranges
            .iter()
            .map(|(_, d)| self.decision(d, args_64bit))
            .collect();
        let starts: Vec<u32> = ranges.ranges.iter().map(|(s, _)| *s).collect();
        let primary = ranges
            .arches
            .iter()
            .copied()
            .find(|a| *a != crate::arch::Arch::X32)
            .unwrap_or(ranges.arches[0]);
        let table: Vec<u32> = primary.table().iter().map(|(_, nr)| nr).collect();
        let weights: Vec<u64> = (0..starts.len())
            .map(|i| {
                let lo = starts[i];
                let hi = starts
                    .get(i + 1)
                    .map_or(u64::from(u32::MAX) + 1, |s| u64::from(*s));
                let inside = table.partition_point(|n| u64::from(*n) < hi)
                    - table.partition_point(|n| *n < lo);
                // Scaled so that an empty range weighs a tenth of a syscall; a syscall whose
                // arguments are checked weighs more, since its path is longer after the
                // dispatch: this keeps the worst case down at little cost to the mean.
                let decision = &ranges.ranges[i].1;
                let checked = !decision.is_constant();
                let cached = action_cache
                    && !checked
                    && decision.fallback == Action::Allow
                    && hi <= u64::from(crate::arch::X32_SYSCALL_BIT);
                if cached {
                    return 1;
                }
                (10 * inside as u64 + 1) * if checked { ARG_CHECK_WEIGHT } else { 1 }
            })
            .collect();
        self.search(Word::Nr, &starts, &leaves, &weights)
    }

    /// A search tree over consecutive ranges `[starts[i], starts[i+1])` of `word`, each
    /// deciding `leaves[i]`:
    ///
    /// ```text
    /// isolated points in a sea (few):  jeq p1 -> L1 : (jeq p2 -> L2 : SEA)
    /// otherwise, split where the weights balance:  jge starts[k] -> <upper> : <lower>
    /// ```
    fn search(&mut self, word: Word, starts: &[u32], leaves: &[NodeId], weights: &[u64]) -> NodeId {
        self.search_below(word, starts, leaves, weights, 1 << 32)
    }

    /// [`Graph::search`] over ranges whose last one ends at `end` (exclusive).
    fn search_below(
        &mut self,
        word: Word,
        starts: &[u32],
        leaves: &[NodeId],
        weights: &[u64],
        end: u64,
    ) -> NodeId {
        if leaves.len() == 1 {
            return leaves[0];
        }
        if let Some(node) = self.point_chain(word, starts, leaves, end) {
            return node;
        }
        let total: u64 = weights.iter().sum();
        let mut best = (u64::MAX, usize::MAX, 1);
        let mut below = 0u64;
        for k in 1..leaves.len() {
            below += weights[k - 1];
            let imbalance = below.abs_diff(total - below);
            let off_centre = k.abs_diff(leaves.len() / 2);
            if (imbalance, off_centre) < (best.0, best.1) {
                best = (imbalance, off_centre, k);
            }
        }
        let k = best.2;
        let upper = self.search_below(word, &starts[k..], &leaves[k..], &weights[k..], end);
        let lower = self.search_below(
            word,
            &starts[..k],
            &leaves[..k],
            &weights[..k],
            u64::from(starts[k]),
        );
        self.test(word, None, Test::Ge, starts[k], upper, lower)
    }

    /// Ranges that are all either one "sea" decision or single values ("points"): a chain of
    /// JEQs on the points, falling through to the sea. It is about half the size of a search
    /// over the same ranges and, up to [`max_chain`] points, only a little deeper. Values
    /// reaching this subtree lie inside its ranges (the last one ends at `end`), so a point at
    /// either end needs no bound.
    fn point_chain(
        &mut self,
        word: Word,
        starts: &[u32],
        leaves: &[NodeId],
        end: u64,
    ) -> Option<NodeId> {
        let n = leaves.len();
        if n > 2 * max_chain(word) + 1 {
            return None;
        }
        let range_end = |i: usize| starts.get(i + 1).map_or(end, |s| u64::from(*s));
        let is_point = |i: usize| range_end(i) == u64::from(starts[i]) + 1;
        let sea = leaves[(0..n).find(|&i| !is_point(i)).unwrap_or(n - 1)];
        let mut points = Vec::new();
        for i in 0..n {
            if leaves[i] == sea {
                continue;
            }
            if !is_point(i) {
                return None;
            }
            points.push((starts[i], leaves[i]));
        }
        if points.len() > max_chain(word) {
            return None;
        }
        let mut node = sea;
        for (value, leaf) in points.into_iter().rev() {
            node = self.test(word, None, Test::Eq, value, leaf, node);
        }
        Some(node)
    }

    /// A decision whose conditions all test one argument with comparisons (no masks): it is a
    /// step function of that argument, so it becomes a search over value ranges, first on the
    /// high word, then on the low word, instead of a chain of rules.
    ///
    /// ```text
    /// a0 < 38 || a0 == 39 || a0 > 40  (socket, 64-bit):
    ///   ld a0.hi; jeq #0 -> (ld a0.lo; jge #41 -> ALLOW : (jeq #38 -> DENY : (jeq #40 -> DENY : ALLOW))) : ALLOW
    /// ```
    fn single_argument(&mut self, decision: &Decision, args_64bit: bool) -> Option<NodeId> {
        let arg = decision.entries.first()?.1.first()?.arg();
        let conds = || decision.entries.iter().flat_map(|(_, c)| c.iter());
        if conds().any(|c| c.arg() != arg || matches!(c.op(), CmpOp::MaskedEq(_))) {
            return None;
        }
        let limit = if args_64bit {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        // Where the truth of some condition can change.
        let mut points = vec![0u64];
        for c in conds() {
            let v = c.value();
            match c.op() {
                CmpOp::Eq | CmpOp::Ne => {
                    points.extend([Some(v), v.checked_add(1)].into_iter().flatten())
                }
                CmpOp::Lt | CmpOp::Ge => points.push(v),
                CmpOp::Le | CmpOp::Gt => points.extend(v.checked_add(1)),
                CmpOp::MaskedEq(_) => unreachable!("excluded above"),
            }
        }
        points.retain(|p| *p <= limit);
        points.sort_unstable();
        points.dedup();
        let values = first_matches(decision, &points, limit);
        let mut steps: Vec<(u64, u32)> = Vec::new();
        for (p, v) in points.into_iter().zip(values) {
            if steps.last().is_none_or(|(_, last)| *last != v) {
                steps.push((p, v));
            }
        }
        Some(self.step_function(arg as u8, &steps, args_64bit))
    }

    /// Lower a step function of a 64-bit argument (`steps`: start and return value, first
    /// start 0) into a high-word search whose leaves are low-word searches.
    fn step_function(&mut self, arg: u8, steps: &[(u64, u32)], args_64bit: bool) -> NodeId {
        let value_at = |x: u64| steps[steps.partition_point(|(s, _)| *s <= x) - 1].1;
        // The low-word function for high word `h`.
        let low_word = |g: &mut Graph, h: u32| {
            let base = u64::from(h) << 32;
            let mut starts = vec![0u32];
            let mut leaves = vec![value_at(base)];
            // The steps inside this high word (they are sorted): a slice, not a filter over
            // all of them for each high word.
            let first = steps.partition_point(|(s, _)| *s <= base);
            let end = steps.partition_point(|(s, _)| (*s >> 32) <= u64::from(h));
            for (s, v) in &steps[first..end.max(first)] {
                starts.push(*s as u32);
                leaves.push(*v);
            }
            let leaves: Vec<NodeId> = leaves.into_iter().map(|v| g.ret(v)).collect();
            let weights = vec![1; leaves.len()];
            g.search(Word::ArgLo(arg), &starts, &leaves, &weights)
        };
        if !args_64bit {
            return low_word(self, 0);
        }
        // High words where the low-word function may differ from its neighbours'.
        let mut highs: Vec<u32> = vec![0];
        for (s, _) in steps {
            let h = (*s >> 32) as u32;
            highs.push(h);
            if *s as u32 != 0 {
                highs.extend(h.checked_add(1));
            }
        }
        highs.sort_unstable();
        highs.dedup();
        let mut starts = Vec::new();
        let mut leaves: Vec<NodeId> = Vec::new();
        for (i, &h) in highs.iter().enumerate() {
            let node = low_word(self, h);
            if leaves.last() != Some(&node) {
                starts.push(h);
                leaves.push(node);
            }
            // Between this special high word and the next, the argument is constant.
            let next = highs
                .get(i + 1)
                .map_or(u64::from(u32::MAX) + 1, |n| u64::from(*n));
            if u64::from(h) + 1 < next {
                let node = self.ret(value_at((u64::from(h) + 1) << 32));
                if leaves.last() != Some(&node) {
                    starts.push(h + 1);
                    leaves.push(node);
                }
            }
        }
        let weights = vec![1; leaves.len()];
        self.search(Word::ArgHi(arg), &starts, &leaves, &weights)
    }

    /// The whole filter: check the architecture, then dispatch on the number.
    ///
    /// ```text
    /// ld arch; jeq TOKEN1 -> <numbers of TOKEN1> : (jeq TOKEN2 -> ... : ret BAD_ARCH)
    /// ```
    ///
    /// `action_cache`: the kernel skips the filter for calls it allows whatever their
    /// arguments (see [`Graph::dispatch_numbers`]).
    pub fn filter(
        &mut self,
        tokens: &[(TokenRanges, bool)],
        bad_arch: Action,
        action_cache: bool,
    ) -> NodeId {
        let mut node = self.ret(bad_arch.to_ret());
        for (ranges, args_64bit) in tokens.iter().rev() {
            let block = self.dispatch_numbers(ranges, *args_64bit, action_cache);
            node = self.test(Word::Arch, None, Test::Eq, ranges.token, block, node);
        }
        node
    }
}

/// For each of `points` (sorted, where the truth of the decision's single-argument conditions
/// can change), the return value of the first entry whose conditions all hold there, or of the
/// fallback. Each entry holds on one interval of values less some single values (`!=`), so it
/// covers a few runs of points; the entries, most restrictive first, each paint the runs no
/// earlier entry painted, skipping painted points through a "next unpainted" forest, so that
/// every point is painted once: O((points + conditions) log points), where asking each point
/// which entry holds first was O(points × entries).
fn first_matches(decision: &Decision, points: &[u64], limit: u64) -> Vec<u32> {
    let n = points.len();
    let mut value: Vec<Option<u32>> = vec![None; n];
    // next[i]: the first unpainted index at or after i (path-halving union-find).
    let mut next: Vec<usize> = (0..=n).collect();
    fn find(next: &mut [usize], mut i: usize) -> usize {
        while next[i] != i {
            next[i] = next[next[i]];
            i = next[i];
        }
        i
    }
    let index_of = |x: u64| points.partition_point(|p| *p < x);
    for (action, conds) in &decision.entries {
        let (mut lo, mut hi) = (0u64, limit);
        let mut excluded: Vec<u64> = Vec::new();
        for c in conds {
            let v = c.value();
            match c.op() {
                CmpOp::Eq => (lo, hi) = (lo.max(v), hi.min(v)),
                CmpOp::Ne => excluded.push(v),
                CmpOp::Lt => match v.checked_sub(1) {
                    Some(m) => hi = hi.min(m),
                    None => (lo, hi) = (1, 0),
                },
                CmpOp::Le => hi = hi.min(v),
                CmpOp::Gt => match v.checked_add(1) {
                    Some(m) => lo = lo.max(m),
                    None => (lo, hi) = (1, 0),
                },
                CmpOp::Ge => lo = lo.max(v),
                CmpOp::MaskedEq(_) => unreachable!("single_argument excludes masked compares"),
            }
        }
        if lo > hi {
            continue;
        }
        // The runs of point indexes inside [lo, hi], cut at each excluded value (a point, and
        // so is the value after it).
        excluded.retain(|v| (lo..=hi).contains(v));
        excluded.sort_unstable();
        excluded.dedup();
        let (start, end) = (index_of(lo), points.partition_point(|p| *p <= hi));
        let mut runs = Vec::with_capacity(excluded.len() + 1);
        let mut from = start;
        for v in excluded {
            let at = index_of(v);
            runs.push((from, at));
            from = at + 1;
        }
        runs.push((from, end));
        let ret = action.to_ret();
        for (a, b) in runs {
            let mut i = find(&mut next, a.min(n));
            while i < b {
                value[i] = Some(ret);
                next[i] = i + 1;
                i = find(&mut next, i + 1);
            }
        }
    }
    let fallback = decision.fallback.to_ret();
    value.into_iter().map(|v| v.unwrap_or(fallback)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_nodes_are_shared() {
        let mut g = Graph::new();
        let a = g.ret(1);
        let b = g.ret(2);
        let t1 = g.test(Word::Nr, None, Test::Eq, 5, a, b);
        let t2 = g.test(Word::Nr, None, Test::Eq, 5, a, b);
        assert_eq!(t1, t2);
        assert_eq!(g.len(), 3);
        assert_eq!(g.test(Word::Nr, None, Test::Eq, 7, a, a), a);
    }

    #[test]
    fn tests_with_known_outcome_fold() {
        let mut g = Graph::new();
        let (p, f) = (g.ret(1), g.ret(2));
        assert_eq!(g.test(Word::ArgLo(0), None, Test::Gt, u32::MAX, p, f), f);
        assert_eq!(g.test(Word::ArgLo(0), None, Test::Ge, 0, p, f), p);
        assert_eq!(g.test(Word::ArgLo(0), Some(0), Test::Eq, 0, p, f), p);
        assert_eq!(g.test(Word::ArgLo(0), Some(0xf0), Test::Eq, 0x0f, p, f), f);
        assert_eq!(g.test(Word::ArgLo(0), Some(0xf0), Test::Gt, 0xf0, p, f), f);
    }

    #[test]
    fn argument_words_follow_byte_order() {
        assert_eq!(Word::ArgLo(0).offset(Endian::Little), 16);
        assert_eq!(Word::ArgHi(0).offset(Endian::Little), 20);
        assert_eq!(Word::ArgLo(0).offset(Endian::Big), 20);
        assert_eq!(Word::ArgHi(5).offset(Endian::Big), 56);
    }
}
