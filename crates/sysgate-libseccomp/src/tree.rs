//! libseccomp's rule tree for one architecture, kept as libseccomp 2.5.4 keeps it, and the
//! order in which its program decides: the one model of how libseccomp combines rules.
//!
//! libseccomp stores each syscall's conditional rules as a tree of argument tests
//! (`src/db.c`): a rule becomes a chain of nodes, one per 32-bit word test (on 64-bit
//! architectures a 64-bit comparison is split into high- and low-word nodes; on 32-bit ones
//! a node compares the low word), and each new chain is merged into the syscall's tree:
//! equal nodes are shared, the others are inserted into a level in a fixed order (argument,
//! then high word before low, then `==`/`!=`/masked before `<`/`<=` before `>`/`>=`, then the
//! datum), shorter chains prune longer ones, and some merges are refused with `-EEXIST`. Its
//! program then tests a level's nodes in that order: a node's true (or false) branch goes
//! to the level below or to an action, and a test with nowhere to go falls through to the
//! next node of the level, and past the level's last node to the node after the parent (the
//! default action at the top). So when several rules match one call, the one the tree tests
//! first decides (libseccomp's regression test `43-sim-a2_order`).
//!
//! [`Db`] rebuilds that tree from the same sequence of rules, with the same merges and the
//! same `-EEXIST` answers, and [`Db::decisions`] reads back, per syscall, which calls reach
//! which action, as sysgate rules whose conditions do not overlap: the most restrictive
//! combination of those rules is exactly the tree's first-match decision. What a node tests
//! is what its rule says (a 64-bit datum is compared on all 64 bits), so libseccomp's
//! program defects (docs/libseccomp.md) are not copied.
//!
//! This module knows nothing of C pointers, attributes or architectures' names; the context
//! ([`crate::filter`]) calls it.

use std::rc::Rc;

use sysgate::policy::{ArgCond, CmpOp, MAX_CONDS};

use crate::abi::cmp;

/// A node's index in [`Db::nodes`].
type NodeId = usize;

/// A tree node: one word test of one rule's chain, possibly shared by several chains.
#[derive(Clone, Debug)]
struct Node {
    arg: u32,
    /// Tests the high word of a 64-bit argument.
    hi: bool,
    /// The test made: `EQ`, `GT`, `GE` or `MASKED_EQ`.
    op: u32,
    /// The rule's operator, which orders nodes within a level.
    op_orig: u32,
    mask: u32,
    datum: u32,
    /// The rule's whole 64-bit datum.
    datum_full: u64,
    /// The rule's condition as written (what a 32-bit architecture's node means).
    cond: ArgCond,
    act_t: u32,
    act_t_flg: bool,
    act_f: u32,
    act_f_flg: bool,
    lvl_prv: Option<NodeId>,
    lvl_nxt: Option<NodeId>,
    nxt_t: Option<NodeId>,
    nxt_f: Option<NodeId>,
    refcnt: u32,
    freed: bool,
}

/// One syscall of the tree: its chains, or the action of an unconditional rule.
#[derive(Clone, Debug)]
struct Sys {
    num: u32,
    tree: Tree,
    action: u32,
}

/// One syscall's chains and the nodes they are made of (nodes are never shared between
/// syscalls, so each syscall's tree is a value of its own).
#[derive(Clone, Debug)]
struct Tree {
    /// libseccomp's `ARCH_SIZE_64`: 64-bit arguments split into two word tests.
    word64: bool,
    nodes: Vec<Node>,
    chains: Option<NodeId>,
}

/// Where a node reference is stored, so that it can be rewritten in place.
#[derive(Copy, Clone, Debug)]
enum Slot {
    Chains,
    NxtT(NodeId),
    NxtF(NodeId),
}

// Flags of the pruning walk (what matched, which chain ended first).
const IST_MATCH: u32 = 0x01;
const IST_MATCH_ONCE: u32 = 0x02;
const IST_X_FINISHED: u32 = 0x10;
const IST_N_FINISHED: u32 = 0x20;
const IST_X_PREFIX: u32 = 0x100;
const IST_N_PREFIX: u32 = 0x200;
const IST_M_MATCHSET: u32 = IST_MATCH | IST_MATCH_ONCE;
const IST_M_REDUNDANT: u32 = IST_MATCH | IST_X_FINISHED | IST_N_PREFIX;

#[derive(Copy, Clone, Debug)]
struct IterState {
    flags: u32,
    action: u32,
}

/// How many decision paths one syscall's tree may have before sysgate gives up on it.
const MAX_PATHS: usize = 20_000;
/// How many sysgate rules one syscall's decisions may take.
const MAX_RULES: usize = 20_000;

/// One architecture's rule trees, one per syscall.
#[derive(Clone, Debug)]
pub struct Db {
    /// libseccomp's `ARCH_SIZE_64`: 64-bit arguments split into two word tests.
    word64: bool,
    /// Sorted by number, as libseccomp keeps them.
    syscalls: Vec<Sys>,
}

/// What [`Db::add`] changed, for [`Db::undo`].
#[derive(Debug)]
pub struct Undo {
    num: u32,
    /// The syscall's entry before the change; `None` when the change created it.
    before: Option<Sys>,
}

/// One rule for one syscall number, as `db_rule_add` receives it: conditions sorted by
/// argument, at most one per argument (a masked comparison with its datum masked).
#[derive(Clone, Debug)]
pub struct Chain {
    /// The syscall number on this architecture (a pseudo number is negative).
    pub nr: i64,
    /// The conditions.
    pub conds: Vec<ArgCond>,
    /// libseccomp's action value.
    pub action: u32,
}

/// The calls of one syscall that reach one action: the conditions of one sysgate rule.
pub type Region = Vec<ArgCond>;

/// Why a tree cannot be read back as sysgate rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// More distinct decision paths, or rules, than sysgate builds for one syscall.
    TooComplex(u32),
    /// A region needs more conditions than one sysgate rule holds.
    TooManyConds(u32),
}

impl Db {
    /// An empty tree; `word64` for libseccomp's 64-bit architectures.
    pub fn new(word64: bool) -> Db {
        Db {
            word64,
            syscalls: Vec::new(),
        }
    }
}

impl Tree {
    fn new(word64: bool) -> Tree {
        Tree {
            word64,
            nodes: Vec::new(),
            chains: None,
        }
    }

    // ---- nodes and references ------------------------------------------------------------

    fn alloc(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn get(&mut self, n: Option<NodeId>) -> Option<NodeId> {
        if let Some(i) = n {
            self.nodes[i].refcnt += 1;
        }
        n
    }

    fn slot(&self, s: Slot) -> Option<NodeId> {
        match s {
            Slot::Chains => self.chains,
            Slot::NxtT(n) => self.nodes[n].nxt_t,
            Slot::NxtF(n) => self.nodes[n].nxt_f,
        }
    }

    fn set_slot(&mut self, s: Slot, v: Option<NodeId>) {
        match s {
            Slot::Chains => self.chains = v,
            Slot::NxtT(n) => self.nodes[n].nxt_t = v,
            Slot::NxtF(n) => self.nodes[n].nxt_f = v,
        }
    }

    fn first_of_level(&self, mut n: NodeId) -> NodeId {
        while let Some(p) = self.nodes[n].lvl_prv {
            n = p;
        }
        n
    }

    fn leaf(&self, n: NodeId) -> bool {
        self.nodes[n].nxt_t.is_none() && self.nodes[n].nxt_f.is_none()
    }

    fn zombie(&self, n: NodeId) -> bool {
        let x = &self.nodes[n];
        self.leaf(n) && !x.act_t_flg && !x.act_f_flg
    }

    /// Drop one reference; a node losing its last one leaves its level and takes its
    /// sub-trees with it. Returns how many nodes were freed; `node` moves to a neighbour.
    fn put(&mut self, node: &mut Option<NodeId>) -> u32 {
        let Some(n) = *node else { return 0 };
        let mut cnt = 0;
        // An unsigned count, as libseccomp's: a node at 0 wraps and is not freed again.
        self.nodes[n].refcnt = self.nodes[n].refcnt.wrapping_sub(1);
        if self.nodes[n].refcnt == 0 {
            let x = self.nodes[n].clone();
            let (mut lvl_p, mut lvl_n) = (x.lvl_prv, x.lvl_nxt);
            if let Some(p) = lvl_p {
                self.nodes[p].lvl_nxt = None;
            }
            if let Some(q) = lvl_n {
                self.nodes[q].lvl_prv = None;
            }
            if lvl_p.is_some() {
                cnt += self.put(&mut lvl_p);
            }
            if lvl_n.is_some() {
                cnt += self.put(&mut lvl_n);
            }
            if let Some(p) = lvl_p {
                self.nodes[p].lvl_nxt = self.get(lvl_n);
            }
            if let Some(q) = lvl_n {
                self.nodes[q].lvl_prv = self.get(lvl_p);
            }
            *node = lvl_p.or(lvl_n);
            let (mut t, mut f) = (x.nxt_t, x.nxt_f);
            cnt += self.tree_put(&mut t);
            cnt += self.tree_put(&mut f);
            self.nodes[n].freed = true;
            cnt += 1;
        }
        cnt
    }

    /// Drop a tree's reference and free its top level if nothing else refers to it.
    fn tree_put(&mut self, tree: &mut Option<NodeId>) -> u32 {
        let mut cnt = self.put(tree);
        if let Some(t) = *tree {
            cnt += self.level_clean(t);
        }
        cnt
    }

    /// Free a whole level when its nodes are referred to by their neighbours only.
    fn level_clean(&mut self, node: NodeId) -> u32 {
        let start = self.first_of_level(node);
        let mut n = Some(start);
        while let Some(i) = n {
            let x = &self.nodes[i];
            let links = u32::from(x.lvl_prv.is_some()) + u32::from(x.lvl_nxt.is_some());
            if x.refcnt > links {
                return 0;
            }
            n = x.lvl_nxt;
        }
        // Each node is released until it is freed (its neighbours' references go with it).
        let mut cnt = 0;
        let mut n = Some(start);
        let mut rounds = 0;
        while n.is_some() && rounds < 1 << 16 {
            cnt += self.put(&mut n);
            rounds += 1;
        }
        cnt
    }

    /// Remove `node` (found below `tree`) and the empty nodes left on the way.
    fn tree_remove(&mut self, tree: Slot, node: NodeId) -> u32 {
        let Some(t) = self.slot(tree) else { return 0 };
        let mut cnt = 0;
        let mut c = self.first_of_level(t);
        let target = loop {
            if c == node {
                break c;
            }
            cnt += self.tree_remove(Slot::NxtT(c), node);
            cnt += self.tree_remove(Slot::NxtF(c), node);
            if self.zombie(c) {
                break c;
            }
            match self.nodes[c].lvl_nxt {
                Some(next) if cnt == 0 => c = next,
                _ => return cnt,
            }
        };
        let (prv, nxt) = (self.nodes[target].lvl_prv, self.nodes[target].lvl_nxt);
        if self.slot(tree) == Some(target) {
            self.set_slot(tree, prv.or(nxt));
        }
        if let Some(p) = prv {
            self.nodes[p].lvl_nxt = nxt;
        }
        if let Some(q) = nxt {
            self.nodes[q].lvl_prv = prv;
        }
        self.nodes[target].lvl_prv = None;
        self.nodes[target].lvl_nxt = None;
        cnt += self.put(&mut Some(target));
        cnt
    }

    /// Whether every action in the level of `tree` and below is `action`.
    fn act_check(&self, tree: Option<NodeId>, action: u32) -> bool {
        let Some(t) = tree else { return true };
        let mut c = Some(self.first_of_level(t));
        while let Some(i) = c {
            let x = &self.nodes[i];
            if x.act_t_flg && x.act_t != action || x.act_f_flg && x.act_f != action {
                return false;
            }
            if !self.act_check(x.nxt_t, action) || !self.act_check(x.nxt_f, action) {
                return false;
            }
            c = x.lvl_nxt;
        }
        true
    }

    // ---- node order ----------------------------------------------------------------------

    fn arg_priority(&self, n: NodeId) -> u32 {
        let x = &self.nodes[n];
        (x.arg << 1) + u32::from(x.hi)
    }

    fn op_priority(op: u32) -> u32 {
        match op {
            cmp::MASKED_EQ | cmp::EQ | cmp::NE => 3,
            cmp::LE | cmp::LT => 2,
            cmp::GE | cmp::GT => 1,
            _ => 0,
        }
    }

    /// libseccomp's level order: `a` sorts after `b` (levels keep the greatest first).
    fn lt(&self, a: NodeId, b: NodeId) -> bool {
        let (pa, pb) = (self.arg_priority(a), self.arg_priority(b));
        if pa != pb {
            return pa < pb;
        }
        let (x, y) = (&self.nodes[a], &self.nodes[b]);
        let (oa, ob) = (Self::op_priority(x.op_orig), Self::op_priority(y.op_orig));
        if oa != ob {
            return oa < ob;
        }
        match x.op_orig {
            // Smaller bounds of `<`/`<=` come first.
            cmp::LE | cmp::LT => x.datum > y.datum,
            _ => x.datum < y.datum,
        }
    }

    /// The same test: argument word, operator, datum and mask.
    fn eq(&self, a: NodeId, b: NodeId) -> bool {
        let (x, y) = (&self.nodes[a], &self.nodes[b]);
        self.arg_priority(a) == self.arg_priority(b)
            && x.op == y.op
            && x.datum == y.datum
            && x.mask == y.mask
    }

    // ---- merging a new chain -------------------------------------------------------------

    /// Remove the parts of the existing tree that the new chain makes redundant (a shorter
    /// chain with the same action). Returns how many nodes were removed.
    fn prune(&mut self, existing: Option<NodeId>, new: NodeId, state: &mut IterState) -> u32 {
        let mut cnt = 0;
        let mut st_new = *state;
        let Some(x0) = existing else {
            return Self::prune_return(state, st_new, cnt);
        };
        if state.flags & IST_M_MATCHSET == IST_MATCH_ONCE {
            return Self::prune_return(state, st_new, cnt);
        }
        let n = new;
        let mut x = self.first_of_level(x0);
        loop {
            let x_next = self.nodes[x].lvl_nxt;
            'node: {
                if self.eq(x, n) {
                    st_new.flags |= IST_M_MATCHSET;
                    if self.leaf(n) {
                        st_new.flags |= IST_N_FINISHED;
                    }
                    if self.leaf(x) {
                        st_new.flags |= IST_X_FINISHED;
                    }
                    let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
                    if (xn.act_t_flg || xn.nxt_t.is_some()) && !(nn.act_t_flg || nn.nxt_t.is_some())
                    {
                        return Self::prune_return(state, st_new, cnt);
                    }
                    if (xn.act_f_flg || xn.nxt_f.is_some()) && !(nn.act_f_flg || nn.nxt_f.is_some())
                    {
                        return Self::prune_return(state, st_new, cnt);
                    }
                    if st_new.flags & IST_N_FINISHED != 0
                        && st_new.flags & IST_X_FINISHED != 0
                        && (nn.act_t_flg != xn.act_t_flg
                            || nn.act_t != xn.act_t
                            || nn.act_f_flg != xn.act_f_flg
                            || nn.act_f != xn.act_f)
                    {
                        return Self::prune_return(state, st_new, cnt);
                    }
                    for true_branch in [true, false] {
                        let n_sub = if true_branch {
                            self.nodes[n].nxt_t
                        } else {
                            self.nodes[n].nxt_f
                        };
                        let Some(n_sub) = n_sub else { continue };
                        self.get(Some(x));
                        let mut st_nxt = *state;
                        st_nxt.flags |= IST_M_MATCHSET;
                        let x_sub = if true_branch {
                            self.nodes[x].nxt_t
                        } else {
                            self.nodes[x].nxt_f
                        };
                        cnt += self.prune(x_sub, n_sub, &mut st_nxt);
                        let mut xl = Some(x);
                        cnt += self.put(&mut xl);
                        if st_nxt.flags & IST_MATCH != 0 {
                            st_new.flags |= st_nxt.flags;
                        }
                        match xl {
                            None => break 'node,
                            Some(v) => x = v,
                        }
                    }
                    let same_actions = self.act_check(Some(x), st_new.action);
                    let f = st_new.flags;
                    if same_actions
                        && f & IST_MATCH != 0
                        && f & IST_N_FINISHED != 0
                        && f & IST_X_PREFIX != 0
                    {
                        // The new chain is shorter: the existing one goes.
                        cnt += self.tree_remove(Slot::Chains, x);
                        if self.chains.is_none() {
                            return Self::prune_return(state, st_new, cnt);
                        }
                    } else if same_actions
                        && f & IST_MATCH != 0
                        && f & IST_X_FINISHED != 0
                        && f & IST_N_PREFIX != 0
                    {
                        // The new chain is longer.
                        return Self::prune_return(state, st_new, cnt);
                    }
                } else if self.lt(x, n) {
                    if state.flags & IST_N_PREFIX != 0 {
                        return Self::prune_return(state, st_new, cnt);
                    }
                    for true_branch in [true, false] {
                        let x_sub = if true_branch {
                            self.nodes[x].nxt_t
                        } else {
                            self.nodes[x].nxt_f
                        };
                        if x_sub.is_none() {
                            continue;
                        }
                        self.get(Some(x));
                        let mut st_nxt = *state;
                        st_nxt.flags &= !IST_MATCH;
                        st_nxt.flags |= IST_X_PREFIX;
                        cnt += self.prune(x_sub, n, &mut st_nxt);
                        let mut xl = Some(x);
                        cnt += self.put(&mut xl);
                        if st_nxt.flags & IST_MATCH != 0 {
                            st_new.flags |= st_nxt.flags;
                            return Self::prune_return(state, st_new, cnt);
                        }
                        match xl {
                            None => break 'node,
                            Some(v) => x = v,
                        }
                    }
                } else {
                    if state.flags & IST_X_PREFIX != 0 {
                        return Self::prune_return(state, st_new, cnt);
                    }
                    for true_branch in [true, false] {
                        let n_sub = if true_branch {
                            self.nodes[n].nxt_t
                        } else {
                            self.nodes[n].nxt_f
                        };
                        let Some(n_sub) = n_sub else { continue };
                        self.get(Some(x));
                        let mut st_nxt = *state;
                        st_nxt.flags &= !IST_MATCH;
                        st_nxt.flags |= IST_N_PREFIX;
                        cnt += self.prune(Some(x), n_sub, &mut st_nxt);
                        let mut xl = Some(x);
                        cnt += self.put(&mut xl);
                        if st_nxt.flags & IST_MATCH != 0 {
                            st_new.flags |= st_nxt.flags;
                            return Self::prune_return(state, st_new, cnt);
                        }
                        match xl {
                            None => break 'node,
                            Some(v) => x = v,
                        }
                    }
                }
            }
            match x_next {
                Some(v) if !self.nodes[v].freed => x = v,
                _ => break,
            }
        }
        st_new.flags &= !IST_MATCH;
        Self::prune_return(state, st_new, cnt)
    }

    fn prune_return(state: &mut IterState, st_new: IterState, cnt: u32) -> u32 {
        if st_new.flags & IST_MATCH != 0 {
            state.flags |= st_new.flags;
        } else {
            state.flags &= !IST_MATCH;
        }
        cnt
    }

    /// Merge the new chain `new` into the tree at `existing`; `EEXIST` where libseccomp
    /// cannot keep both actions.
    fn tree_add(&mut self, existing: Slot, new: NodeId) -> Result<(), i32> {
        let Some(mut x) = self.slot(existing) else {
            return Ok(());
        };
        let n = new;
        loop {
            if self.eq(x, n) {
                let nn = self.nodes[n].clone();
                if nn.act_t_flg {
                    if !self.nodes[x].act_t_flg {
                        if !self.act_check(self.nodes[x].nxt_t, nn.act_t) {
                            return Err(libc::EEXIST);
                        }
                        let mut t = self.nodes[x].nxt_t;
                        self.put(&mut t);
                        let xm = &mut self.nodes[x];
                        xm.nxt_t = None;
                        xm.act_t = nn.act_t;
                        xm.act_t_flg = true;
                    } else if nn.act_t != self.nodes[x].act_t {
                        // libseccomp keeps the action of the larger 64-bit datum on a
                        // shared high-word node, so `>` tests stay in datum order.
                        if nn.hi && nn.datum_full > self.nodes[x].datum_full {
                            self.nodes[x].act_t = nn.act_t;
                        }
                        if self.leaf(x) || self.leaf(n) {
                            return Err(libc::EEXIST);
                        }
                    }
                }
                if nn.act_f_flg {
                    if !self.nodes[x].act_f_flg {
                        if !self.act_check(self.nodes[x].nxt_f, nn.act_f) {
                            return Err(libc::EEXIST);
                        }
                        let mut f = self.nodes[x].nxt_f;
                        self.put(&mut f);
                        let xm = &mut self.nodes[x];
                        xm.nxt_f = None;
                        xm.act_f = nn.act_f;
                        xm.act_f_flg = true;
                    } else if nn.act_f != self.nodes[x].act_f {
                        // libseccomp 2.5.4 updates the true action here (sic).
                        if nn.hi && nn.datum_full < self.nodes[x].datum_full {
                            self.nodes[x].act_t = nn.act_t;
                        }
                        if self.leaf(x) || self.leaf(n) {
                            return Err(libc::EEXIST);
                        }
                    }
                }
                if let Some(nt) = nn.nxt_t {
                    if self.nodes[x].nxt_t.is_some() {
                        self.tree_add(Slot::NxtT(x), nt)?;
                    } else if !self.nodes[x].act_t_flg {
                        self.nodes[x].nxt_t = self.get(Some(nt));
                    } else {
                        return Ok(()); // the existing chain is shorter
                    }
                }
                if let Some(nf) = nn.nxt_f {
                    if self.nodes[x].nxt_f.is_some() {
                        self.tree_add(Slot::NxtF(x), nf)?;
                    } else if !self.nodes[x].act_f_flg {
                        self.nodes[x].nxt_f = self.get(Some(nf));
                    } else {
                        return Ok(());
                    }
                }
                return Ok(());
            } else if !self.lt(x, n) {
                match self.nodes[x].lvl_nxt {
                    None => {
                        self.nodes[n].lvl_prv = self.get(Some(x));
                        self.nodes[x].lvl_nxt = self.get(Some(n));
                        return Ok(());
                    }
                    Some(next) => x = next,
                }
            } else {
                match self.nodes[x].lvl_prv {
                    Some(p) => {
                        self.nodes[p].lvl_nxt = self.get(Some(n));
                        self.nodes[n].lvl_prv = Some(p);
                        self.nodes[x].lvl_prv = self.get(Some(n));
                        self.nodes[n].lvl_nxt = Some(x);
                    }
                    None => {
                        self.nodes[x].lvl_prv = self.get(Some(n));
                        self.nodes[n].lvl_nxt = self.get(Some(x));
                    }
                }
                if self.slot(existing) == Some(x) {
                    let head = self.get(Some(n));
                    self.set_slot(existing, head);
                    self.put(&mut Some(x));
                }
                return Ok(());
            }
        }
    }

    // ---- chains --------------------------------------------------------------------------

    fn node(&mut self, cond: ArgCond, hi: bool, op: u32, mask: u64, datum: u64) -> NodeId {
        let (mask, datum) = if !self.word64 {
            (mask as u32, datum as u32)
        } else if hi {
            ((mask >> 32) as u32, (datum >> 32) as u32)
        } else {
            (mask as u32, datum as u32)
        };
        self.alloc(Node {
            arg: cond.arg() as u32,
            hi,
            op,
            op_orig: op_code(cond.op()),
            mask,
            datum: datum & mask,
            datum_full: cond.value(),
            cond,
            act_t: 0,
            act_t_flg: false,
            act_f: 0,
            act_f_flg: false,
            lvl_prv: None,
            lvl_nxt: None,
            nxt_t: None,
            nxt_f: None,
            refcnt: 0,
            freed: false,
        })
    }

    /// The chain of nodes for one rule on a 64-bit architecture: each comparison is split
    /// into word tests (`>`-type: high `>`, else high `==` and low; `==`-type: high then
    /// low), the next comparison hangs on every accepting branch.
    fn gen64(&mut self, conds: &[ArgCond], action: u32) -> Option<NodeId> {
        let mut head = None;
        let mut prev: Option<(u32, [Option<NodeId>; 3])> = None;
        for &c in conds {
            let (mask, datum) = mask_datum(c);
            if mask == 0 {
                continue; // a masked test of no bits always holds
            }
            let op = op_code(c.op());
            let level: [Option<NodeId>; 3] = match op {
                cmp::GT | cmp::GE | cmp::LE | cmp::LT => {
                    let low_op = if matches!(op, cmp::GT | cmp::LE) {
                        cmp::GT
                    } else {
                        cmp::GE
                    };
                    let h_gt = self.node(c, true, cmp::GT, mask, datum);
                    let h_eq = self.node(c, true, cmp::EQ, mask, datum);
                    let l = self.node(c, false, low_op, mask, datum);
                    self.nodes[h_gt].nxt_f = self.get(Some(h_eq));
                    self.nodes[h_eq].nxt_t = self.get(Some(l));
                    [Some(h_gt), Some(h_eq), Some(l)]
                }
                _ => {
                    let word_op = if op == cmp::MASKED_EQ {
                        cmp::MASKED_EQ
                    } else {
                        cmp::EQ
                    };
                    let h = self.node(c, true, word_op, mask, datum);
                    let l = self.node(c, false, word_op, mask, datum);
                    self.nodes[h].nxt_t = self.get(Some(l));
                    [Some(h), Some(l), None]
                }
            };
            let first = level[0];
            match prev {
                None => head = self.get(first),
                Some((p_op, p)) => {
                    let (i, j, true_branch) = match p_op {
                        cmp::GT | cmp::GE => (0, Some(2), true),
                        cmp::EQ | cmp::MASKED_EQ => (1, None, true),
                        cmp::LE | cmp::LT => (1, Some(2), false),
                        _ => (0, Some(1), false), // NE
                    };
                    for k in std::iter::once(i).chain(j) {
                        let from = p[k].expect("a node of the previous level");
                        let to = self.get(first);
                        if true_branch {
                            self.nodes[from].nxt_t = to;
                        } else {
                            self.nodes[from].nxt_f = to;
                        }
                    }
                }
            }
            prev = Some((op, level));
        }
        if let Some((p_op, p)) = prev {
            let (i, j, true_branch) = match p_op {
                cmp::GT | cmp::GE => (0, Some(2), true),
                cmp::LE | cmp::LT => (1, Some(2), false),
                cmp::EQ | cmp::MASKED_EQ => (1, None, true),
                _ => (0, Some(1), false), // NE
            };
            for k in std::iter::once(i).chain(j) {
                let n = &mut self.nodes[p[k].expect("a node of the last level")];
                if true_branch {
                    n.act_t = action;
                    n.act_t_flg = true;
                } else {
                    n.act_f = action;
                    n.act_f_flg = true;
                }
            }
        }
        head
    }

    /// The chain for one rule on a 32-bit architecture: one node per comparison, `!=`, `<`
    /// and `<=` stored as `==`, `>=` and `>` with the rule continuing on the false branch.
    fn gen32(&mut self, conds: &[ArgCond], action: u32) -> Option<NodeId> {
        let mut head = None;
        let mut prev: Option<(NodeId, bool)> = None;
        for &c in conds {
            let (mask, datum) = mask_datum(c);
            if mask as u32 == 0 {
                continue;
            }
            let (op, on_true) = match op_code(c.op()) {
                cmp::NE => (cmp::EQ, false),
                cmp::LT => (cmp::GE, false),
                cmp::LE => (cmp::GT, false),
                op => (op, true),
            };
            let n = self.node(c, false, op, mask, datum);
            match prev {
                None => head = self.get(Some(n)),
                Some((p, true)) => self.nodes[p].nxt_t = self.get(Some(n)),
                Some((p, false)) => self.nodes[p].nxt_f = self.get(Some(n)),
            }
            prev = Some((n, on_true));
        }
        if let Some((p, on_true)) = prev {
            let n = &mut self.nodes[p];
            if on_true {
                n.act_t = action;
                n.act_t_flg = true;
            } else {
                n.act_f = action;
                n.act_f_flg = true;
            }
        }
        head
    }
}

impl Db {
    /// `db_rule_add`: merge one rule into the tree, or the errno libseccomp fails with (the
    /// tree then unchanged). The [`Undo`] takes the change back.
    pub fn add(&mut self, chain: &Chain) -> Result<Undo, i32> {
        let num = chain.nr as i32 as u32;
        let pos = self.syscalls.partition_point(|s| s.num < num);
        if self.syscalls.get(pos).is_none_or(|s| s.num != num) {
            let mut tree = Tree::new(self.word64);
            let head = tree.gen(&chain.conds, chain.action);
            tree.chains = head;
            self.syscalls.insert(
                pos,
                Sys {
                    num,
                    tree,
                    action: chain.action,
                },
            );
            return Ok(Undo { num, before: None });
        }
        let before = self.syscalls[pos].clone();
        let s = &mut self.syscalls[pos];
        match s.tree.add(&mut s.action, chain) {
            Ok(()) => Ok(Undo {
                num,
                before: Some(before),
            }),
            Err(e) => {
                self.syscalls[pos] = before;
                Err(e)
            }
        }
    }

    /// Take back what [`Db::add`] did.
    pub fn undo(&mut self, undo: Undo) {
        let pos = self.syscalls.partition_point(|s| s.num < undo.num);
        match undo.before {
            Some(before) => self.syscalls[pos] = before,
            None => {
                self.syscalls.remove(pos);
            }
        }
    }

    // ---- reading the decisions back ------------------------------------------------------

    /// The syscall numbers of the tree (pseudo numbers as their unsigned 32-bit value).
    pub fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.syscalls.iter().map(|s| s.num)
    }

    /// What the tree decides for syscall `num`, as (action, region) pairs whose regions do
    /// not overlap; calls in none of them get `default`. Regions whose action is `default`
    /// are left out.
    ///
    /// With `word32`, the regions are read for 32-bit arguments (bounded by `u32::MAX`), the
    /// form in which two architectures' trees can be compared.
    pub fn decisions(
        &self,
        num: u32,
        default: u32,
        word32: bool,
    ) -> Result<Vec<(u32, Region)>, ReadError> {
        let max = if word32 {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        let Some(s) = self.syscalls.iter().find(|s| s.num == num) else {
            return Ok(Vec::new());
        };
        s.tree.decisions(s.action, num, default, max)
    }
}

impl Tree {
    /// [`Db::decisions`] for this syscall's tree (`action`: its unconditional rule's).
    fn decisions(
        &self,
        action: u32,
        num: u32,
        default: u32,
        max: u64,
    ) -> Result<Vec<(u32, Region)>, ReadError> {
        let Some(head) = self.chains else {
            return Ok(if action == default {
                Vec::new()
            } else {
                vec![(action, Vec::new())]
            });
        };
        let mut walk = Walk {
            db: self,
            lits: Vec::new(),
            bounds: vec![self.unbounded()],
            paths: Vec::new(),
            visited: 0,
        };
        walk.run(self.first_of_level(head))
            .map_err(|()| ReadError::TooComplex(num))?;
        let mut by_action: Vec<(u32, Vec<Boxes>)> = Vec::new();
        for (lits, action) in walk.paths {
            if action == default {
                continue;
            }
            let boxes = self
                .regions(&lits)
                .iter()
                .flat_map(|r| simplify(r, max))
                .collect::<Vec<_>>();
            match by_action.iter_mut().find(|(a, _)| *a == action) {
                Some((_, all)) => all.extend(boxes),
                None => by_action.push((action, boxes)),
            }
            if by_action.iter().map(|(_, b)| b.len()).sum::<usize>() > MAX_RULES {
                return Err(ReadError::TooComplex(num));
            }
        }
        let mut out: Vec<(u32, Region)> = Vec::new();
        for (action, mut boxes) in by_action {
            if boxes.len() > 2000 {
                return Err(ReadError::TooComplex(num));
            }
            merge(&mut boxes);
            for b in &boxes {
                let region = conds(b, max);
                if region.len() > MAX_CONDS {
                    return Err(ReadError::TooManyConds(num));
                }
                out.push((action, region));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The sysgate conditions of one path: each node test, true or false, as one or more
    /// alternative conditions on the 64-bit argument, multiplied out. Linear in the path's
    /// length for tests with one alternative (a path can pass thousands of tests).
    fn regions(&self, lits: &[(NodeId, bool)]) -> Vec<Region> {
        // The high word a path's `==` test fixes, per argument (see `literal`).
        let mut pinned = [None; 6];
        for &(p, t) in lits {
            let y = &self.nodes[p];
            if t && y.hi && y.op == cmp::EQ && y.mask == u32::MAX {
                pinned[y.arg as usize].get_or_insert(u64::from(y.datum) << 32);
            }
        }
        let mut out: Vec<(Region, [Span; 6])> = vec![(Vec::new(), [Span::ANY; 6])];
        for &(n, truth) in lits {
            let alternatives = self.literal(pinned[self.nodes[n].arg as usize], n, truth);
            let mut next = Vec::with_capacity(out.len() * alternatives.len());
            for (r, spans) in out {
                let mut r = Some(r);
                'alt: for (i, alt) in alternatives.iter().enumerate() {
                    let mut spans = spans;
                    for c in alt {
                        let a = c.arg();
                        match spans[a].and(c) {
                            Some(s) => spans[a] = s,
                            None => continue 'alt,
                        }
                    }
                    // The last alternative takes the region itself: no copy on a path of
                    // single tests.
                    let mut r = if i + 1 == alternatives.len() {
                        r.take().expect("the region, taken once")
                    } else {
                        r.clone().expect("the region, until the last alternative")
                    };
                    r.extend_from_slice(alt);
                    next.push((r, spans));
                }
            }
            out = next;
            if out.len() > MAX_RULES {
                break;
            }
        }
        out.into_iter()
            .map(|(mut r, _)| {
                r.sort();
                r.dedup();
                r
            })
            .collect()
    }

    /// One node test on the path `lits` as alternatives (an OR of ANDs) of conditions on
    /// the whole argument.
    /// `pinned`: the high word a `==` test on the path fixes for this node's argument.
    fn literal(&self, pinned: Option<u64>, n: NodeId, truth: bool) -> Vec<Vec<ArgCond>> {
        let x = &self.nodes[n];
        let arg = x.arg;
        let c = |op, v| ArgCond::new(arg, op, v).expect("argument index from a rule");
        if !self.word64 {
            // A 32-bit architecture's node means its rule's condition as written.
            return match (truth, x.cond.op()) {
                (t, CmpOp::Ne) => vec![vec![c(
                    if t { CmpOp::Eq } else { CmpOp::Ne },
                    x.cond.value(),
                )]],
                (t, CmpOp::Lt) => vec![vec![c(
                    if t { CmpOp::Ge } else { CmpOp::Lt },
                    x.cond.value(),
                )]],
                (t, CmpOp::Le) => vec![vec![c(
                    if t { CmpOp::Gt } else { CmpOp::Le },
                    x.cond.value(),
                )]],
                (true, _) => vec![vec![x.cond]],
                (false, CmpOp::Eq) => vec![vec![c(CmpOp::Ne, x.cond.value())]],
                (false, CmpOp::Gt) => vec![vec![c(CmpOp::Le, x.cond.value())]],
                (false, CmpOp::Ge) => vec![vec![c(CmpOp::Lt, x.cond.value())]],
                (false, CmpOp::MaskedEq(m)) => not_masked(arg, m, x.cond.value()),
            };
        }
        let (mask, datum) = (u64::from(x.mask), u64::from(x.datum));
        if x.hi {
            let (m, d) = (mask << 32, datum << 32);
            let top = d | 0xffff_ffff;
            return match (x.op, truth) {
                (cmp::EQ, true) => vec![vec![c(CmpOp::MaskedEq(m), d)]],
                (cmp::EQ, false) => {
                    let mut alts = Vec::new();
                    if d != 0 {
                        alts.push(vec![c(CmpOp::Lt, d)]);
                    }
                    if top != u64::MAX {
                        alts.push(vec![c(CmpOp::Gt, top)]);
                    }
                    alts
                }
                (cmp::MASKED_EQ, true) => vec![vec![c(CmpOp::MaskedEq(m), d)]],
                (cmp::MASKED_EQ, false) => not_masked(arg, m, d),
                (cmp::GT, true) if top == u64::MAX => Vec::new(),
                (cmp::GT, true) => vec![vec![c(CmpOp::Gt, top)]],
                (cmp::GT, false) => vec![vec![c(CmpOp::Le, top)]],
                (cmp::GE, true) => vec![vec![c(CmpOp::Ge, d)]],
                (_, false) if d == 0 => Vec::new(),
                _ => vec![vec![c(CmpOp::Lt, d)]],
            };
        }
        // A low word: `==` and masked tests need no high word; `>`/`>=` are reached only
        // below the high word's `==` on the same path, which fixes the high word.
        match (x.op, truth) {
            (cmp::EQ | cmp::MASKED_EQ, true) => vec![vec![c(CmpOp::MaskedEq(mask), datum)]],
            (cmp::EQ, false) => match pinned {
                Some(h) => vec![vec![c(CmpOp::Ne, h | datum)]],
                None => not_masked(arg, mask, datum),
            },
            (cmp::MASKED_EQ, false) => not_masked(arg, mask, datum),
            (op, t) => {
                // Never without the high word's `==` (see `gen64`); read as the full
                // comparison within that high word.
                let h = pinned.unwrap_or(0);
                let v = h | datum;
                let op = match (op, t) {
                    (cmp::GT, true) => CmpOp::Gt,
                    (cmp::GT, false) => CmpOp::Le,
                    (_, true) => CmpOp::Ge,
                    (_, false) => CmpOp::Lt,
                };
                vec![vec![c(op, v)]]
            }
        }
    }
}

impl Tree {
    /// The chain for one rule, in this tree's word size.
    fn gen(&mut self, conds: &[ArgCond], action: u32) -> Option<NodeId> {
        if self.word64 {
            self.gen64(conds, action)
        } else {
            self.gen32(conds, action)
        }
    }

    /// `db_rule_add` on a syscall that has an entry already (`action`: the entry's action
    /// when it has no chains). The tree may be half changed on failure, as libseccomp's.
    fn add(&mut self, action: &mut u32, chain: &Chain) -> Result<(), i32> {
        let mut new = self.gen(&chain.conds, chain.action);
        let mut removed_some = false;
        loop {
            if self.chains.is_none() {
                if removed_some {
                    self.chains = new;
                    *action = chain.action;
                } else {
                    // An unconditional rule decides the syscall already.
                    self.tree_put(&mut new);
                }
                return Ok(());
            }
            let Some(new_head) = new else {
                // The new rule is unconditional: it replaces every chain.
                let mut old = self.chains.take();
                self.tree_put(&mut old);
                *action = chain.action;
                return Ok(());
            };
            let mut state = IterState {
                flags: 0,
                action: chain.action,
            };
            let removed = self.prune(self.chains, new_head, &mut state);
            if removed > 0 {
                removed_some = true;
                if self.chains.is_none() {
                    continue;
                }
            } else if state.flags & IST_M_REDUNDANT == IST_M_REDUNDANT {
                // An existing, shorter chain decides every call the new one matches.
                self.tree_put(&mut new);
                return Ok(());
            }
            let result = self.tree_add(Slot::Chains, new_head);
            self.tree_put(&mut new);
            return result;
        }
    }
}

/// The continuation of a test with nowhere to go: the next node of an enclosing level, or
/// the default action.
enum Cont {
    Default,
    At(NodeId, Rc<Cont>),
}

/// The walk over every path of one syscall's tree, in the order libseccomp's program tests.
/// It keeps its own stack: a level's tests fall through to one another, so a path is as
/// long as the tests it passes (thousands of rules on one syscall).
struct Walk<'a> {
    db: &'a Tree,
    lits: Vec<(NodeId, bool)>,
    /// What the tests in `lits` allow, after each of them (the first: anything).
    bounds: Vec<Bounds>,
    paths: Vec<(Vec<(NodeId, bool)>, u32)>,
    visited: usize,
}

/// One node being tested: which outcomes have been followed.
struct Frame {
    n: NodeId,
    /// Where a test of `n` with nowhere to go continues.
    next: Rc<Cont>,
    /// 0: none yet; 1: true; 2: true and false.
    tried: u8,
    /// Whether this frame's test is on `lits` now.
    pushed: bool,
    /// No call on the path passes the test: its failing is no news, so the false outcome
    /// is followed without a literal and without counting (a call fixed by one `==` falls
    /// through the other `==` tests of its level).
    never_true: bool,
}

impl Walk<'_> {
    /// Every path from the level of `head`, in the program's order: a node's true outcome,
    /// then its false one, each into its sub-tree, its action, or where it falls through.
    fn run(&mut self, head: NodeId) -> Result<(), ()> {
        let mut stack = Vec::new();
        self.enter(&mut stack, head, Rc::new(Cont::Default), true)?;
        while let Some(top) = stack.last_mut() {
            if top.pushed {
                top.pushed = false;
                self.lits.pop();
                self.bounds.pop();
            }
            if top.tried == 2 {
                stack.pop();
                continue;
            }
            let truth = top.tried == 0;
            top.tried += 1;
            let (n, next) = (top.n, top.next.clone());
            let here = self.bounds.last().expect("the walk's first bounds");
            // A failed test that every call on the path fails adds nothing to the path.
            let implied = !truth && top.never_true;
            if !implied {
                let Some(narrowed) = self.db.narrow(here, n, truth) else {
                    top.never_true |= truth;
                    continue; // no call passes this path
                };
                top.pushed = true;
                self.lits.push((n, truth));
                self.bounds.push(narrowed);
            }
            let counted = !implied;
            let x = &self.db.nodes[n];
            let (sub, act) = if truth {
                (x.nxt_t, x.act_t_flg.then_some(x.act_t))
            } else {
                (x.nxt_f, x.act_f_flg.then_some(x.act_f))
            };
            match (sub, act) {
                (Some(s), _) => self.enter(&mut stack, self.db.first_of_level(s), next, counted)?,
                (None, Some(a)) => self.paths.push((self.lits.clone(), a)),
                (None, None) => match &*next {
                    Cont::Default => {}
                    Cont::At(m, fall) => self.enter(&mut stack, *m, fall.clone(), counted)?,
                },
            }
        }
        Ok(())
    }

    /// Start testing node `n`, whose level falls through to `fall` after its last node;
    /// `counted` against the limit unless it is reached through a test that decided nothing.
    fn enter(
        &mut self,
        stack: &mut Vec<Frame>,
        n: NodeId,
        fall: Rc<Cont>,
        counted: bool,
    ) -> Result<(), ()> {
        self.visited += usize::from(counted);
        if self.visited > MAX_PATHS * 8 || self.paths.len() > MAX_PATHS {
            return Err(());
        }
        let next = match self.db.nodes[n].lvl_nxt {
            Some(m) => Rc::new(Cont::At(m, fall)),
            None => fall,
        };
        stack.push(Frame {
            n,
            next,
            tried: 0,
            pushed: false,
            never_true: false,
        });
        Ok(())
    }
}

/// One argument word's values a path allows: a range and bits known to be set or clear.
#[derive(Clone, Copy)]
struct Word {
    lo: u64,
    hi: u64,
    ones: u64,
    zeros: u64,
}

/// Per argument, its low and high word (a 32-bit architecture's node uses the first).
type Bounds = [[Word; 2]; 6];

impl Tree {
    /// Bounds that allow every call.
    fn unbounded(&self) -> Bounds {
        let full = if self.word64 {
            u32::MAX as u64
        } else {
            u64::MAX
        };
        [[Word {
            lo: 0,
            hi: full,
            ones: 0,
            zeros: 0,
        }; 2]; 6]
    }

    /// `b` with node `n`'s test added as `t`, or `None` when no call can pass them all, per
    /// argument word: a bound and fixed bits. Only says no when they certainly cannot (a
    /// path kept in vain only costs instructions).
    fn narrow(&self, b: &Bounds, n: NodeId, t: bool) -> Option<Bounds> {
        let full = if self.word64 {
            u32::MAX as u64
        } else {
            u64::MAX
        };
        let mut b = *b;
        let x = &self.nodes[n];
        let w = &mut b[x.arg as usize][usize::from(x.hi)];
        let (m, d) = if self.word64 {
            (u64::from(x.mask), u64::from(x.datum))
        } else {
            // What the node means as written (see `literal`).
            match x.cond.op() {
                CmpOp::MaskedEq(m) => (m, x.cond.value()),
                _ => (u64::MAX, x.cond.value()),
            }
        };
        match (x.op, t) {
            (cmp::EQ | cmp::MASKED_EQ, true) => {
                w.ones |= d & m;
                w.zeros |= !d & m & full;
            }
            (cmp::GT, true) if d >= full => return None,
            (cmp::GT, true) => w.lo = w.lo.max(d.saturating_add(1)),
            (cmp::GT, false) => w.hi = w.hi.min(d),
            (cmp::GE, true) => w.lo = w.lo.max(d),
            (cmp::GE, false) if d == 0 => return None,
            (cmp::GE, false) => w.hi = w.hi.min(d - 1),
            _ => {}
        }
        let possible = w.lo <= w.hi
            && w.ones & w.zeros == 0
            && w.ones <= w.hi
            && (w.ones | (full & !w.zeros)) >= w.lo;
        possible.then_some(b)
    }
}

/// `(arg & m) != d` as alternatives: some bit of `m` differs from `d`'s.
fn not_masked(arg: u32, m: u64, d: u64) -> Vec<Vec<ArgCond>> {
    (0..64)
        .map(|b| 1u64 << b)
        .filter(|bit| m & bit != 0)
        .map(|bit| vec![ArgCond::new(arg, CmpOp::MaskedEq(bit), !d & bit).expect("argument index")])
        .collect()
}

/// The values conditions on one argument allow, as far as a contradiction shows: bits set
/// and clear, and bounds. Only used to drop regions nothing can reach.
#[derive(Clone, Copy)]
struct Span {
    ones: u64,
    zeros: u64,
    lo: u64,
    hi: u64,
}

impl Span {
    const ANY: Span = Span {
        ones: 0,
        zeros: 0,
        lo: 0,
        hi: u64::MAX,
    };

    /// With `c` (on this argument) added, or `None` when they certainly contradict (two
    /// masked tests disagreeing on a bit, or empty bounds).
    fn and(mut self, c: &ArgCond) -> Option<Span> {
        let v = c.value();
        match c.op() {
            CmpOp::MaskedEq(m) => {
                self.ones |= v & m;
                self.zeros |= !v & m;
            }
            CmpOp::Eq => {
                self.ones |= v;
                self.zeros |= !v;
            }
            CmpOp::Gt if v == u64::MAX => return None,
            CmpOp::Gt => self.lo = self.lo.max(v + 1),
            CmpOp::Ge => self.lo = self.lo.max(v),
            CmpOp::Lt if v == 0 => return None,
            CmpOp::Lt => self.hi = self.hi.min(v - 1),
            CmpOp::Le => self.hi = self.hi.min(v),
            CmpOp::Ne => {}
        }
        let empty = self.ones & self.zeros != 0
            || self.lo > self.hi
            || self.ones > self.hi
            || (self.ones | !self.zeros) < self.lo;
        (!empty).then_some(self)
    }
}

/// A region's conditions as boxes: per argument, the bounds and one masked test (a mask of
/// high bits is a bound), excluded values splitting the range. `[]` when nothing is in it.
fn simplify(region: &[ArgCond], max: u64) -> Vec<Boxes> {
    let any = ArgBox {
        lo: 0,
        hi: max,
        m: 0,
        v: 0,
    };
    let mut out: Vec<Boxes> = vec![[any; 6]];
    for arg in 0..6u32 {
        let on: Vec<&ArgCond> = region.iter().filter(|c| c.arg() as u32 == arg).collect();
        if on.is_empty() {
            continue;
        }
        let (mut lo, mut hi) = (0u64, max);
        let (mut m, mut v) = (0u64, 0u64);
        let mut excluded = Vec::new();
        for c in &on {
            let x = c.value();
            match c.op() {
                CmpOp::Eq => {
                    lo = lo.max(x);
                    hi = hi.min(x);
                }
                CmpOp::Ge => lo = lo.max(x),
                CmpOp::Gt if x == u64::MAX => return Vec::new(),
                CmpOp::Gt => lo = lo.max(x + 1),
                CmpOp::Le => hi = hi.min(x),
                CmpOp::Lt if x == 0 => return Vec::new(),
                CmpOp::Lt => hi = hi.min(x - 1),
                CmpOp::Ne => excluded.push(x),
                CmpOp::MaskedEq(mask) => {
                    if (v ^ x) & m & mask != 0 {
                        return Vec::new();
                    }
                    m |= mask;
                    v |= x & mask;
                }
            }
        }
        // A mask of high bits only is a range.
        if m != 0 && m.leading_ones() + m.trailing_zeros() == 64 {
            lo = lo.max(v);
            hi = hi.min(v | !m);
            m = 0;
            v = 0;
        }
        if lo > hi {
            return Vec::new();
        }
        // The bits every value in [lo, hi] shares; with the mask they may fix the value.
        let shared = match (lo ^ hi).leading_zeros() {
            64 => u64::MAX,
            0 => 0,
            n => !(u64::MAX >> n),
        };
        if m != 0 && (lo ^ v) & shared & m != 0 {
            return Vec::new();
        }
        // Bits the bounds fix need no mask.
        m &= !shared;
        v &= m;
        if m | shared == u64::MAX && m != 0 {
            let x = (lo & shared) | (v & m);
            if x < lo || x > hi {
                return Vec::new();
            }
            (lo, hi, m) = (x, x, 0);
        }
        // Excluded values split the range.
        excluded.sort_unstable();
        excluded.dedup();
        // In ascending order, each can only fall in the last range left.
        let mut ranges = vec![(lo, hi)];
        for x in excluded {
            if m != 0 && x & m != v {
                continue;
            }
            let Some(&(a, b)) = ranges.last() else { break };
            if x < a || x > b {
                continue;
            }
            ranges.pop();
            if x > a {
                ranges.push((a, x - 1));
            }
            if x < b {
                ranges.push((x + 1, b));
            }
        }
        let mut next = Vec::new();
        for r in &out {
            for &(a, b) in &ranges {
                if a == b && m != 0 && a & m != v {
                    continue;
                }
                let m = if a == b { 0 } else { m };
                let mut r = *r;
                r[arg as usize] = ArgBox {
                    lo: a,
                    hi: b,
                    m,
                    v: v & m,
                };
                next.push(r);
            }
        }
        out = next;
    }
    out
}

/// The values one argument may take in a region: `lo..=hi` with `(x & m) == v`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ArgBox {
    lo: u64,
    hi: u64,
    m: u64,
    v: u64,
}

/// A region as one box per argument.
type Boxes = [ArgBox; 6];

/// Join regions of one action that differ in one argument's adjacent ranges, until none
/// are left to join (a `<` rule's two paths, high word below and equal, become one range).
fn merge(regions: &mut Vec<Boxes>) {
    loop {
        let mut joined = None;
        'search: for i in 0..regions.len() {
            for j in i + 1..regions.len() {
                let (a, b) = (&regions[i], &regions[j]);
                let differ: Vec<usize> = (0..6).filter(|&k| a[k] != b[k]).collect();
                match differ[..] {
                    [] => {
                        joined = Some((i, j, a[0], 0));
                        break 'search;
                    }
                    [k] if a[k].m == b[k].m && a[k].v == b[k].v => {
                        let (x, y) = if a[k].lo <= b[k].lo {
                            (a[k], b[k])
                        } else {
                            (b[k], a[k])
                        };
                        if y.lo <= x.hi.saturating_add(1) {
                            let u = ArgBox {
                                lo: x.lo,
                                hi: x.hi.max(y.hi),
                                ..x
                            };
                            joined = Some((i, j, u, k));
                            break 'search;
                        }
                    }
                    _ => {}
                }
            }
        }
        let Some((i, j, u, k)) = joined else { return };
        regions[i][k] = u;
        regions.swap_remove(j);
    }
}

/// A region's boxes as sysgate conditions.
fn conds(region: &Boxes, max: u64) -> Region {
    let mut out = Vec::new();
    for (arg, b) in region.iter().enumerate() {
        let c = |op, x| ArgCond::new(arg as u32, op, x).expect("argument index");
        if b.lo == b.hi {
            out.push(c(CmpOp::Eq, b.lo));
            continue;
        }
        if b.lo > 0 {
            out.push(c(CmpOp::Ge, b.lo));
        }
        if b.hi < max {
            out.push(c(CmpOp::Le, b.hi));
        }
        if b.m != 0 {
            out.push(c(CmpOp::MaskedEq(b.m), b.v));
        }
    }
    out
}

/// libseccomp's operator code.
fn op_code(op: CmpOp) -> u32 {
    match op {
        CmpOp::Ne => cmp::NE,
        CmpOp::Lt => cmp::LT,
        CmpOp::Le => cmp::LE,
        CmpOp::Eq => cmp::EQ,
        CmpOp::Ge => cmp::GE,
        CmpOp::Gt => cmp::GT,
        CmpOp::MaskedEq(_) => cmp::MASKED_EQ,
    }
}

/// The 64-bit mask and datum of a condition (`DATUM_MAX` for plain comparisons).
fn mask_datum(c: ArgCond) -> (u64, u64) {
    match c.op() {
        CmpOp::MaskedEq(m) => (m, c.value() & m),
        _ => (u64::MAX, c.value()),
    }
}
