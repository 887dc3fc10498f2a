//! Stage 3 of codegen: a decision graph laid out as a linear BPF program.
//!
//! This is the only place that knows about jump widths. The program is built back to front,
//! so every jump target is already placed and its distance known: a conditional jump whose
//! target is more than 255 instructions away goes through a `ja` trampoline placed right
//! after it (reused by later jumps while in reach).
//!
//! It is also the only place that decides loads. A node tests a word; the emitter loads that
//! word unless every edge into the node leaves exactly that word in the accumulator (the
//! same word, unmasked — or masked with the same mask). A node shared by paths that hold
//! different words is always preceded by a reload: the bug class behind libseccomp's wrong
//! 64-bit range code cannot happen here.

use std::collections::HashMap;

use crate::arch::Endian;
use crate::bpf::Insn;

use super::graph::{Graph, Node, NodeId, Word};

/// What the accumulator holds when a node is entered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Acc {
    /// No edge seen yet.
    Unset,
    /// Every edge leaves this word, masked like this.
    Holds(Word, Option<u32>),
    /// Edges disagree, or the entry point (nothing loaded).
    Unknown,
}

impl Acc {
    fn join(self, other: Acc) -> Acc {
        match (self, other) {
            (Acc::Unset, x) | (x, Acc::Unset) => x,
            (a, b) if a == b => a,
            _ => Acc::Unknown,
        }
    }
}

/// Lay `root` out as instructions for a program of byte order `endian`.
pub fn emit(graph: &Graph, root: NodeId, endian: Endian) -> Vec<Insn> {
    let order = post_order(graph, root);
    let entry = entry_states(graph, root, &order);

    // `rev` holds the program back to front: index i is instruction len-1-i.
    let mut rev: Vec<Insn> = Vec::new();
    // Where each laid-out node sits in `rev` (indexed by node id).
    let mut addr: Vec<usize> = vec![usize::MAX; graph.len()];
    // For each target, the nearest trampoline (`ja` to it) placed so far.
    let mut trampolines: HashMap<usize, usize> = HashMap::new();

    for &id in &order {
        match graph.node(id) {
            Node::Ret(value) => rev.push(Insn::ret(value)),
            Node::Test {
                word,
                mask,
                test,
                k,
                pass,
                fail,
            } => {
                let (mut to_pass, mut to_fail) = (addr[pass as usize], addr[fail as usize]);
                // The jump will sit at index `rev.len()`; bring far targets within 255 through
                // trampolines. Placing one moves the jump, so re-check until both fit.
                loop {
                    let here = rev.len();
                    if here - to_pass - 1 > 255 {
                        to_pass = trampoline(&mut rev, &mut trampolines, to_pass);
                    } else if here - to_fail - 1 > 255 {
                        to_fail = trampoline(&mut rev, &mut trampolines, to_fail);
                    } else {
                        break;
                    }
                }
                let here = rev.len();
                rev.push(Insn::jump(
                    test.opcode(),
                    k,
                    (here - to_pass - 1) as u8,
                    (here - to_fail - 1) as u8,
                ));
                let state = entry[id as usize];
                // `ld word; and mask` unless the accumulator already holds what is needed.
                let (need_load, need_and) = match (state, mask) {
                    (Acc::Holds(w, m), _) if w == word && m == mask => (false, false),
                    (Acc::Holds(w, None), Some(_)) if w == word => (false, true),
                    (_, m) => (true, m.is_some()),
                };
                if need_and {
                    rev.push(Insn::and(mask.expect("need_and implies a mask")));
                }
                if need_load {
                    rev.push(Insn::load(word.offset(endian)));
                }
            }
        }
        addr[id as usize] = rev.len() - 1;
    }
    rev.reverse();
    rev
}

/// A `ja` to `target` within reach of the next instruction: reuse the last one if it is
/// close enough, else place a new one.
fn trampoline(
    rev: &mut Vec<Insn>,
    trampolines: &mut HashMap<usize, usize>,
    target: usize,
) -> usize {
    let here = rev.len();
    if let Some(&t) = trampolines.get(&target) {
        // The caller re-checks the distance after every placement.
        if here - t - 1 <= 255 {
            return t;
        }
    }
    // `ja` takes a 32-bit distance, so it always reaches.
    rev.push(Insn::ja((here - target - 1) as u32));
    trampolines.insert(target, here);
    here
}

/// Nodes in an order where every node comes after both of its successors, so that laying
/// them out back to front puts each jump after (never before) its targets.
fn post_order(graph: &Graph, root: NodeId) -> Vec<NodeId> {
    let mut done = vec![false; graph.len()];
    let mut order = Vec::with_capacity(graph.len());
    let mut stack = vec![(root, false)];
    while let Some((id, expanded)) = stack.pop() {
        if done[id as usize] {
            continue;
        }
        if expanded {
            done[id as usize] = true;
            order.push(id);
            continue;
        }
        stack.push((id, true));
        if let Node::Test { pass, fail, .. } = graph.node(id) {
            // `fail` is laid out first, i.e. further from this node than `pass`.
            for next in [pass, fail] {
                if !done[next as usize] {
                    stack.push((next, false));
                }
            }
        }
    }
    order
}

/// The accumulator state on entry to every reachable node (indexed by node id; unreachable
/// nodes stay `Unset`).
fn entry_states(graph: &Graph, root: NodeId, order: &[NodeId]) -> Vec<Acc> {
    let mut entry: Vec<Acc> = vec![Acc::Unset; graph.len()];
    entry[root as usize] = Acc::Unknown;
    // Predecessors come after their successors in `order`, so walk it backwards.
    for &id in order.iter().rev() {
        if let Node::Test {
            word,
            mask,
            pass,
            fail,
            ..
        } = graph.node(id)
        {
            let out = Acc::Holds(word, mask);
            for next in [pass, fail] {
                let e = &mut entry[next as usize];
                *e = e.join(out);
            }
        }
    }
    entry
}

/// Count of each instruction class, for tests and reports.
#[cfg(test)]
pub fn count_loads(insns: &[Insn]) -> usize {
    insns
        .iter()
        .filter(|i| i.class() == crate::bpf::op::LD)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{op, Program, SeccompData};
    use crate::compile::graph::Test;

    fn data(nr: u32) -> SeccompData {
        SeccompData {
            nr,
            arch: 0,
            instruction_pointer: 0,
            args: [0; 6],
        }
    }

    #[test]
    fn shared_node_reached_with_different_words_reloads() {
        let mut g = Graph::new();
        let allow = g.ret(1);
        let deny = g.ret(2);
        // Shared tail tests a0.lo; it is reached from a test on a0.hi and from one on a0.lo.
        let tail = g.test(Word::ArgLo(0), None, Test::Eq, 7, allow, deny);
        let from_hi = g.test(Word::ArgHi(0), None, Test::Eq, 0, tail, deny);
        let from_lo = g.test(Word::ArgLo(0), None, Test::Gt, 3, tail, from_hi);
        let insns = emit(&g, from_lo, Endian::Little);
        // Loads: a0.lo at the root, a0.hi before its test, a0.lo again before the tail.
        assert_eq!(count_loads(&insns), 3, "{insns:?}");
    }

    #[test]
    fn same_word_needs_no_reload() {
        let mut g = Graph::new();
        let allow = g.ret(1);
        let deny = g.ret(2);
        let inner = g.test(Word::Nr, None, Test::Eq, 5, allow, deny);
        let root = g.test(Word::Nr, None, Test::Ge, 3, inner, deny);
        let insns = emit(&g, root, Endian::Little);
        assert_eq!(count_loads(&insns), 1);
        assert_eq!(insns.len(), 1 + 2 + 2);
    }

    #[test]
    fn far_jumps_go_through_trampolines() {
        let mut g = Graph::new();
        let far = g.ret(0xdead);
        // A chain of 300 distinct tests ending in `far`, and a root that jumps to `far` over
        // all of them.
        let mut chain = far;
        for k in 0..300u32 {
            let r = g.ret(10_000 + k);
            chain = g.test(Word::Nr, None, Test::Eq, k, r, chain);
        }
        let root = g.test(Word::Nr, None, Test::Eq, 999, far, chain);
        let insns = emit(&g, root, Endian::Little);
        assert!(
            insns.iter().any(|i| i.code == op::JMP | op::JA),
            "no trampoline emitted"
        );
        for (i, insn) in insns.iter().enumerate() {
            if insn.class() == op::JMP && insn.code != op::JMP | op::JA {
                assert!(i + 1 + (insn.jt as usize) < insns.len());
                assert!(i + 1 + (insn.jf as usize) < insns.len());
            }
        }
    }

    /// A root whose fail branch jumps over a chain of `chain` distinct tests: the distance sweeps
    /// about 230..=290 instructions, across the 255 limit of a conditional jump.
    #[test]
    fn jumps_around_255_are_fixed_inside_codegen() {
        let (mut with_trampoline, mut without) = (0, 0);
        for chain in 115..=145u32 {
            let mut g = Graph::new();
            let far = g.ret(0xdead);
            // The chain ends in `far`, so `far` is laid out after the whole chain.
            let mut node = far;
            for k in 0..chain {
                let r = g.ret(0x1_0000 + k);
                node = g.test(Word::Nr, None, Test::Eq, k, r, node);
            }
            // The root's pass jump to `far` crosses the whole chain.
            let root = g.test(Word::Nr, None, Test::Eq, 999, far, node);
            let insns = emit(&g, root, Endian::Little);
            let program = Program::new(insns, Endian::Little);
            program
                .validate()
                .unwrap_or_else(|e| panic!("chain {chain}: {e}"));
            assert_eq!(
                program.emulate(&data(999)).unwrap().ret,
                0xdead,
                "chain {chain}"
            );
            assert_eq!(
                program.emulate(&data(5000)).unwrap().ret,
                0xdead,
                "chain {chain}"
            );
            for k in [0, chain / 2, chain - 1] {
                assert_eq!(
                    program.emulate(&data(k)).unwrap().ret,
                    0x1_0000 + k,
                    "chain {chain} nr {k}"
                );
            }
            let far_jump = program.insns().iter().any(|i| i.code == op::JMP | op::JA);
            if far_jump {
                with_trampoline += 1;
            } else {
                without += 1;
            }
        }
        assert!(
            with_trampoline > 0 && without > 0,
            "the sweep must cross 255: {with_trampoline} / {without}"
        );
    }
}
