//! The filter context behind `scmp_filter_ctx`, and its translation into a sysgate
//! [`Policy`]: the one place where libseccomp's C API meets sysgate.
//!
//! A [`Filter`] keeps what libseccomp keeps: the default action, the attributes, and per
//! architecture the rules that were added while that architecture was in the filter (rules
//! added before `seccomp_arch_add` do not reach the new architecture, as in libseccomp).
//! Every check a libseccomp call makes before it changes anything is made here, with the
//! same errno. [`Filter::policy`] turns the rules into the [`Policy`] that decides what
//! libseccomp's filter decides; sysgate compiles, exports and installs it.
//!
//! This module does not touch C pointers (that is [`crate::api`]) and does not compile BPF.
//!
//! How rules combine is libseccomp's rule tree ([`crate::tree`]): each architecture keeps
//! the tree libseccomp would build from the same calls, which gives its `-EEXIST` answers
//! and the order in which overlapping conditional rules decide; [`Filter::policy`] reads
//! each architecture's tree back as sysgate rules that do not overlap, shared by the
//! architectures whose trees decide alike and for one architecture only where they differ. Rules on the multiplexers
//! themselves (`socketcall`, `ipc`) keep sysgate's reading (docs/libseccomp.md).

use std::collections::HashSet;

use sysgate::policy::{Action, ArgCond, CmpOp, KernelFlags, Policy, Rule, Syscall, MAX_CONDS};
use sysgate::Arch;

use crate::abi::{act, attr, cmp, ScmpArgCmp};
use crate::tree::{Chain, Db, ReadError, Region};

/// A negative-errno failure, as libseccomp returns it (the value is the positive errno).
pub type Errno = i32;

/// libseccomp's attributes, as `seccomp_attr_get` reports them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Attrs {
    /// `SCMP_FLTATR_ACT_BADARCH` (default `SCMP_ACT_KILL`, i.e. KILL_THREAD).
    pub bad_arch: u32,
    /// `SCMP_FLTATR_CTL_NNP` (default on).
    pub nnp: bool,
    /// `SCMP_FLTATR_CTL_TSYNC`.
    pub tsync: bool,
    /// `SCMP_FLTATR_API_TSKIP`.
    pub tskip: bool,
    /// `SCMP_FLTATR_CTL_LOG`.
    pub log: bool,
    /// `SCMP_FLTATR_CTL_SSB`.
    pub ssb: bool,
    /// `SCMP_FLTATR_CTL_OPTIMIZE` (1 or 2; sysgate's layout is the same for both).
    pub optimize: u32,
    /// `SCMP_FLTATR_API_SYSRAWRC`.
    pub sysrawrc: bool,
    /// `SCMP_FLTATR_CTL_WAITKILL`.
    pub waitkill: bool,
}

impl Default for Attrs {
    fn default() -> Attrs {
        Attrs {
            bad_arch: act::KILL_THREAD,
            nnp: true,
            tsync: false,
            tskip: false,
            log: false,
            ssb: false,
            optimize: 1,
            sysrawrc: false,
            waitkill: false,
        }
    }
}

/// Why a context has no sysgate policy.
enum Refused {
    Errno(Errno),
    /// A syscall's tree cannot be read back as sysgate rules.
    Tree(Arch, ReadError),
    /// A masked test of high bits only, which a 32-bit architecture's tree drops.
    HighMask(Arch),
}

/// One rule as it was added for one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CRule {
    action: Action,
    syscall: Syscall,
    /// Sorted by argument index (libseccomp allows one condition per argument).
    conds: Vec<ArgCond>,
}

/// One architecture of the filter and the rules added while it was there.
#[derive(Clone, Debug)]
struct ArchRules {
    arch: Arch,
    /// In the order they were first added.
    rules: Vec<CRule>,
    /// The same rules, to find a repeated one without reading them all (a filter may hold
    /// a hundred thousand).
    known: HashSet<CRule>,
    /// libseccomp's rule tree for this architecture.
    db: Db,
}

impl ArchRules {
    fn new(arch: Arch) -> ArchRules {
        ArchRules {
            arch,
            rules: Vec::new(),
            known: HashSet::new(),
            db: Db::new(arch.word_bits() == 64),
        }
    }
}

/// The state behind one `scmp_filter_ctx`.
#[derive(Clone, Debug)]
pub struct Filter {
    default: u32,
    attrs: Attrs,
    arches: Vec<ArchRules>,
    notify_used: bool,
    /// Open transactions, innermost last: the state each one started from.
    snapshots: Vec<Snapshot>,
}

/// What a transaction restores when it is rejected.
#[derive(Clone, Debug)]
struct Snapshot {
    default: u32,
    attrs: Attrs,
    arches: Vec<ArchRules>,
    notify_used: bool,
}

/// The action a libseccomp action value stands for, if libseccomp accepts it
/// (`db_col_action_valid`): TRAP without data, ERRNO below 4095, TRACE with any data.
pub fn action(value: u32) -> Option<Action> {
    let data = (value & 0xffff) as u16;
    match value & 0xffff_0000 {
        act::KILL_PROCESS if data == 0 => Some(Action::KillProcess),
        act::KILL_THREAD if data == 0 => Some(Action::KillThread),
        act::TRAP if data == 0 => Some(Action::Trap(0)),
        act::ERRNO if data < 4095 => Some(Action::Errno(data)),
        act::TRACE => Some(Action::Trace(data)),
        act::NOTIFY if data == 0 => Some(Action::UserNotif),
        act::LOG if data == 0 => Some(Action::Log),
        act::ALLOW if data == 0 => Some(Action::Allow),
        _ => None,
    }
}

/// Whether the API level (`seccomp_api_get`) lets libseccomp use `action`: LOG and
/// KILL_PROCESS from level 3, NOTIFY from level 5.
pub fn action_at_level(value: u32, level: u32) -> Option<Action> {
    let action = action(value)?;
    let needs = match action {
        Action::Log | Action::KillProcess => 3,
        Action::UserNotif => 5,
        _ => 1,
    };
    (level >= needs).then_some(action)
}

/// The architecture a libseccomp token names (`SCMP_ARCH_NATIVE` is the native one).
pub fn arch(token: u32) -> Option<Arch> {
    if token == crate::abi::SCMP_ARCH_NATIVE {
        return Some(Arch::native());
    }
    Arch::from_libseccomp_token(token)
}

/// One C comparison as a sysgate condition. MASKED_EQ compares with the datum masked, as
/// libseccomp does (`(arg & mask) == (datum & mask)`).
fn cond(c: &ScmpArgCmp) -> Result<ArgCond, Errno> {
    let op = match c.op {
        cmp::NE => CmpOp::Ne,
        cmp::LT => CmpOp::Lt,
        cmp::LE => CmpOp::Le,
        cmp::EQ => CmpOp::Eq,
        cmp::GE => CmpOp::Ge,
        cmp::GT => CmpOp::Gt,
        cmp::MASKED_EQ => CmpOp::MaskedEq(c.datum_a),
        _ => return Err(libc::EINVAL),
    };
    let value = match op {
        CmpOp::MaskedEq(mask) => c.datum_b & mask,
        _ => c.datum_a,
    };
    ArgCond::new(c.arg, op, value).map_err(|_| libc::EINVAL)
}

impl Filter {
    /// `seccomp_init(def_action)` at API `level`: `None` for an action libseccomp refuses.
    pub fn new(default: u32, level: u32) -> Option<Filter> {
        let action = action_at_level(default, level)?;
        Some(Filter {
            default,
            attrs: Attrs::default(),
            arches: vec![ArchRules::new(Arch::native())],
            // A default that notifies needs the listener as much as a rule that does.
            notify_used: action == Action::UserNotif,
            snapshots: Vec::new(),
        })
    }

    /// `seccomp_reset(ctx, def_action)`: back to a new filter.
    pub fn reset(&mut self, default: u32, level: u32) -> Result<(), Errno> {
        *self = Filter::new(default, level).ok_or(libc::EINVAL)?;
        Ok(())
    }

    /// Whether libseccomp would call the context valid (`db_col_valid`: it has an
    /// architecture).
    pub fn valid(&self) -> bool {
        !self.arches.is_empty()
    }

    /// The default action value.
    pub fn default_action(&self) -> u32 {
        self.default
    }

    /// The attributes.
    pub fn attrs(&self) -> &Attrs {
        &self.attrs
    }

    /// Whether a rule returns USER_NOTIF (the load asks for a listener).
    pub fn notify_used(&self) -> bool {
        self.notify_used
    }

    /// The architectures, in the order they were added.
    pub fn arches(&self) -> impl Iterator<Item = Arch> + '_ {
        self.arches.iter().map(|a| a.arch)
    }

    /// `seccomp_arch_exist`: `Ok` if present, `EEXIST` if not, `EINVAL` for a bad token.
    pub fn arch_exist(&self, token: u32) -> Result<(), Errno> {
        let arch = arch(token).ok_or(libc::EINVAL)?;
        if self.arches.iter().any(|a| a.arch == arch) {
            Ok(())
        } else {
            Err(libc::EEXIST)
        }
    }

    /// `seccomp_arch_add`: the new architecture starts without rules.
    pub fn arch_add(&mut self, token: u32) -> Result<(), Errno> {
        let arch = arch(token).ok_or(libc::EINVAL)?;
        if self.arches.iter().any(|a| a.arch == arch) {
            return Err(libc::EEXIST);
        }
        if self
            .arches
            .first()
            .is_some_and(|a| a.arch.endian() != arch.endian())
        {
            return Err(libc::EDOM);
        }
        self.arches.push(ArchRules::new(arch));
        Ok(())
    }

    /// `seccomp_arch_remove`: the architecture and its rules.
    pub fn arch_remove(&mut self, token: u32) -> Result<(), Errno> {
        let arch = arch(token).ok_or(libc::EINVAL)?;
        let before = self.arches.len();
        self.arches.retain(|a| a.arch != arch);
        if self.arches.len() == before {
            return Err(libc::EEXIST);
        }
        Ok(())
    }

    /// `seccomp_attr_get`.
    pub fn attr_get(&self, which: u32) -> Result<u32, Errno> {
        let a = &self.attrs;
        Ok(match which {
            attr::ACT_DEFAULT => self.default,
            attr::ACT_BADARCH => a.bad_arch,
            attr::CTL_NNP => a.nnp.into(),
            attr::CTL_TSYNC => a.tsync.into(),
            attr::API_TSKIP => a.tskip.into(),
            attr::CTL_LOG => a.log.into(),
            attr::CTL_SSB => a.ssb.into(),
            attr::CTL_OPTIMIZE => a.optimize,
            attr::API_SYSRAWRC => a.sysrawrc.into(),
            attr::CTL_WAITKILL => a.waitkill.into(),
            _ => return Err(libc::EINVAL),
        })
    }

    /// `seccomp_attr_set` at API `level` (TSYNC needs level 2, LOG 3, SSB 4, WAITKILL 7).
    pub fn attr_set(&mut self, which: u32, value: u32, level: u32) -> Result<(), Errno> {
        let on = value != 0;
        let needs = |min: u32| {
            if level >= min {
                Ok(())
            } else {
                Err(libc::EOPNOTSUPP)
            }
        };
        let a = &mut self.attrs;
        match which {
            attr::ACT_DEFAULT => return Err(libc::EACCES),
            attr::ACT_BADARCH => {
                action_at_level(value, level).ok_or(libc::EINVAL)?;
                a.bad_arch = value;
            }
            attr::CTL_NNP => a.nnp = on,
            attr::CTL_TSYNC => {
                needs(2)?;
                // The kernel takes TSYNC with a listener only with TSYNC_ESRCH (level 6).
                if on && self.notify_used && level < 6 {
                    return Err(libc::EINVAL);
                }
                a.tsync = on;
            }
            attr::API_TSKIP => a.tskip = on,
            attr::CTL_LOG => {
                needs(3)?;
                a.log = on;
            }
            attr::CTL_SSB => {
                needs(4)?;
                a.ssb = on;
            }
            attr::CTL_OPTIMIZE => match value {
                1 | 2 => a.optimize = value,
                _ => return Err(libc::EOPNOTSUPP),
            },
            attr::API_SYSRAWRC => a.sysrawrc = on,
            attr::CTL_WAITKILL => {
                needs(7)?;
                a.waitkill = on;
            }
            _ => return Err(libc::EINVAL),
        }
        Ok(())
    }

    /// `seccomp_rule_add_array` (`exact` false) and `seccomp_rule_add_exact_array` (true),
    /// after the C layer has checked the count and the pointer. All or nothing: a rule that
    /// fails on one architecture is added to none.
    pub fn rule_add(
        &mut self,
        level: u32,
        exact: bool,
        action_value: u32,
        syscall: i32,
        args: &[ScmpArgCmp],
    ) -> Result<(), Errno> {
        if args.len() > 6 || !self.valid() {
            return Err(libc::EINVAL);
        }
        // `_syscall_valid`: -1 only with API_TSKIP, -2..-99 never.
        if syscall == -1 && !self.attrs.tskip || (-99..=-2).contains(&syscall) {
            return Err(libc::EINVAL);
        }
        let action = action_at_level(action_value, level).ok_or(libc::EINVAL)?;
        if action == Action::UserNotif && self.attrs.tsync && level < 6 {
            return Err(libc::EINVAL);
        }
        if action_value == self.default {
            return Err(libc::EACCES);
        }
        if exact && self.arches.len() > 1 {
            return Err(libc::EOPNOTSUPP);
        }
        let mut conds: Vec<ArgCond> = Vec::with_capacity(args.len());
        for a in args {
            let c = cond(a)?;
            if conds.iter().any(|x| x.arg() == c.arg()) {
                return Err(libc::EINVAL);
            }
            conds.push(c);
        }
        conds.sort();
        if syscall == -1 {
            // A rule for a tracer's skipped call: sysgate's programs give nr -1 the default
            // action and cannot single it out (docs/libseccomp.md).
            return Err(libc::EOPNOTSUPP);
        }
        let native = Arch::native();
        // A rule is added to every architecture or to none: what was added before a
        // failure is taken back (libseccomp's transaction).
        let mut undo = Vec::new();
        let mut added = Vec::with_capacity(self.arches.len());
        for i in 0..self.arches.len() {
            let arch = self.arches[i].arch;
            let result = arch_rule(native, arch, exact, action, action_value, syscall, &conds)
                .and_then(|(rule, chains)| {
                    for chain in &chains {
                        undo.push((i, self.arches[i].db.add(chain)?));
                    }
                    Ok(rule)
                });
            match result {
                Ok(rule) => added.push(rule),
                Err(e) => {
                    for (i, u) in undo.into_iter().rev() {
                        self.arches[i].db.undo(u);
                    }
                    return Err(e);
                }
            }
        }
        for (a, rule) in self.arches.iter_mut().zip(added) {
            if let Some(rule) = rule {
                if a.known.insert(rule.clone()) {
                    a.rules.push(rule);
                }
            }
        }
        if action == Action::UserNotif {
            self.notify_used = true;
        }
        Ok(())
    }

    /// `seccomp_syscall_priority`, after the C layer's checks: libseccomp translates the
    /// number for every architecture (the first failure is the answer, `EFAULT` for a name
    /// an architecture lacks). The priority itself changes no decision (docs/libseccomp.md).
    pub fn syscall_priority(&self, syscall: i32) -> Result<(), Errno> {
        let native = Arch::native();
        for a in &self.arches {
            translate(native, a.arch, syscall)?;
        }
        Ok(())
    }

    /// `seccomp_transaction_start`: remember the current state (transactions nest).
    pub fn transaction_start(&mut self) {
        self.snapshots.push(Snapshot {
            default: self.default,
            attrs: self.attrs,
            arches: self.arches.clone(),
            notify_used: self.notify_used,
        });
    }

    /// `seccomp_transaction_commit`: keep what the innermost transaction did.
    pub fn transaction_commit(&mut self) {
        self.snapshots.pop();
    }

    /// `seccomp_transaction_reject`: back to where the innermost transaction started.
    pub fn transaction_reject(&mut self) {
        if let Some(s) = self.snapshots.pop() {
            self.default = s.default;
            self.attrs = s.attrs;
            self.arches = s.arches;
            self.notify_used = s.notify_used;
        }
    }

    /// `seccomp_merge(self, other)`: `other`'s architectures (none may be ours) join this
    /// filter with their rules.
    pub fn merge(&mut self, other: Filter) -> Result<(), Errno> {
        if !self.valid() || !other.valid() {
            return Err(libc::EINVAL);
        }
        if self.default != other.default
            || self.attrs.nnp != other.attrs.nnp
            || self.attrs.tsync != other.attrs.tsync
        {
            return Err(libc::EINVAL);
        }
        let endian = self.arches[0].arch.endian();
        if other.arches.iter().any(|a| a.arch.endian() != endian) {
            return Err(libc::EDOM);
        }
        if other
            .arches
            .iter()
            .any(|o| self.arches.iter().any(|a| a.arch == o.arch))
        {
            return Err(libc::EEXIST);
        }
        self.notify_used |= other.notify_used;
        self.arches.extend(other.arches);
        Ok(())
    }

    /// The sysgate policy that decides what libseccomp's filter for this context decides.
    ///
    /// Each architecture's rules are read from its own tree, so architectures given different
    /// rules (one added after rules, or a merge) and trees that order overlapping rules
    /// differently each decide as libseccomp's tree for them does: where two architectures'
    /// trees decide a syscall differently, the policy's rules on it apply to some ABIs only
    /// ([`Rule::only_on`](sysgate::policy::Rule#structfield.only_on)). What a sysgate rule
    /// cannot hold (more than six conditions, a 32-bit tree that drops a test) is refused with
    /// `EOPNOTSUPP` rather than compiled into something else.
    pub fn policy(&self) -> Result<Policy, Errno> {
        self.policy_or_why().map_err(|(e, _)| e)
    }

    /// [`Filter::policy`], with a sentence saying why when the rules cannot be expressed.
    pub fn policy_or_why(&self) -> Result<Policy, (Errno, Option<String>)> {
        self.translate().map_err(|e| match e {
            Refused::Errno(e) => (e, None),
            Refused::Tree(arch, e) => (
                libc::EOPNOTSUPP,
                Some(format!(
                    "{arch} syscall {}: {}",
                    match e {
                        ReadError::TooComplex(n) | ReadError::TooManyConds(n) => n,
                    },
                    match e {
                        ReadError::TooComplex(_) => "its overlapping conditional rules have \
                            too many decision paths to express as sysgate rules"
                            .to_string(),
                        ReadError::TooManyConds(_) => format!(
                            "its overlapping conditional rules decide a set of calls that \
                             needs more than {MAX_CONDS} conditions in one sysgate rule; \
                             make the rules on this syscall not overlap"
                        ),
                    }
                )),
            ),
            Refused::HighMask(arch) => (
                libc::EOPNOTSUPP,
                Some(format!(
                    "a masked comparison whose mask has no bit in the low 32 bits expects \
                     high bits that a 32-bit {arch} argument never has; libseccomp drops the \
                     test (and matches every call), sysgate will not widen the rule"
                )),
            ),
        })
    }

    fn translate(&self) -> Result<Policy, Refused> {
        let default = action(self.default).ok_or(Refused::Errno(libc::EINVAL))?;
        if self.arches.is_empty() {
            return Err(Refused::Errno(libc::EINVAL));
        }
        let mut policy = Policy::new(default);
        policy
            .set_arches(self.arches.iter().map(|a| a.arch))
            .map_err(|_| Refused::Errno(libc::EDOM))?;
        policy.attrs.bad_arch = action(self.attrs.bad_arch).ok_or(Refused::Errno(libc::EINVAL))?;
        policy.attrs.no_new_privs = self.attrs.nnp;
        policy.attrs.flags = KernelFlags {
            tsync: self.attrs.tsync,
            log: self.attrs.log,
            spec_allow: self.attrs.ssb,
            new_listener: self.notify_used,
            tsync_esrch: self.attrs.tsync && self.notify_used,
            wait_killable_recv: self.attrs.waitkill && self.notify_used,
        };
        // A 32-bit tree keeps no test for a mask without low bits; where the rule expects
        // high bits there, the tree matches what the rule never does.
        let high_only =
            |c: &ArgCond| matches!(c.op(), CmpOp::MaskedEq(m) if m as u32 == 0 && c.value() != 0);
        if let Some(a) = self.arches.iter().find(|a| {
            a.arch.word_bits() != 64 && a.rules.iter().any(|r| r.conds.iter().any(high_only))
        }) {
            return Err(Refused::HighMask(a.arch));
        }
        // Each architecture decides as its own tree does: per syscall, the tree's decisions
        // become rules for that architecture. Architectures whose trees decide a syscall
        // alike on the arguments they see share one set of rules (read from the first of
        // them, those with 64-bit arguments first), which then applies on every architecture
        // when all do.
        struct Shared {
            syscall: Syscall,
            /// The decisions as the first architecture reads them, and on 32-bit arguments.
            decisions: Vec<(u32, Region)>,
            on_32_bit: Vec<(u32, Region)>,
            arches: Vec<Arch>,
        }
        let mut shared: Vec<Shared> = Vec::new();
        let by_width = self
            .arches
            .iter()
            .filter(|a| a.arch.args_are_64bit())
            .chain(self.arches.iter().filter(|a| !a.arch.args_are_64bit()));
        for a in by_width {
            for num in a.db.numbers() {
                if (num as i32) < 0 {
                    continue; // a pseudo number: libseccomp's rule never matches
                }
                let name = a.arch.libseccomp_resolve_number(num.into());
                if name.is_some_and(is_multiplexer) {
                    continue; // decided from the rules below
                }
                let syscall = match name {
                    Some(n) if a.arch.syscall_number(n) == Some(num) => Syscall::Name(n.into()),
                    _ => Syscall::Number(num),
                };
                let read = |word32| {
                    a.db.decisions(num, self.default, word32)
                        .map_err(|e| Refused::Tree(a.arch, e))
                };
                // Read for the arguments the filter sees: x32's tree has 32-bit nodes, but
                // its calls carry 64-bit arguments, compared as the rules say.
                let mine = read(!a.arch.args_are_64bit())?;
                let mine_32 = read(true)?;
                let alike = |s: &&mut Shared| {
                    s.syscall == syscall
                        && if a.arch.args_are_64bit() {
                            s.decisions == mine
                        } else {
                            s.on_32_bit == mine_32
                        }
                };
                match shared.iter_mut().find(alike) {
                    Some(s) => s.arches.push(a.arch),
                    None => shared.push(Shared {
                        syscall,
                        decisions: mine,
                        on_32_bit: mine_32,
                        arches: vec![a.arch],
                    }),
                }
            }
        }
        let add = |policy: &mut Policy, rule: Rule, arches: &[Arch]| {
            let rule = if arches.len() == self.arches.len() {
                rule
            } else {
                rule.applying_on(arches.iter().copied())
            };
            policy
                .add_rule(rule)
                .map(drop)
                .map_err(|_| Refused::Errno(libc::EFAULT))
        };
        for s in shared {
            for (value, conds) in s.decisions {
                let act = action(value).ok_or(Refused::Errno(libc::EINVAL))?;
                let rule = Rule::new(act, s.syscall.clone()).with_conds(conds);
                add(&mut policy, rule, &s.arches)?;
            }
        }
        // Rules on the multiplexers, as each architecture keeps them.
        let mut on_multiplexers: Vec<(CRule, Vec<Arch>)> = Vec::new();
        for a in &self.arches {
            let mine: Vec<CRule> = a
                .rules
                .iter()
                .filter(|r| matches!(&r.syscall, Syscall::Name(n) if is_multiplexer(n)))
                .cloned()
                .collect();
            for rule in deciding(&mine) {
                match on_multiplexers.iter_mut().find(|(r, _)| r == rule) {
                    Some((_, arches)) => arches.push(a.arch),
                    None => on_multiplexers.push((rule.clone(), vec![a.arch])),
                }
            }
        }
        for (rule, arches) in on_multiplexers {
            let r = Rule::new(rule.action, rule.syscall.clone()).with_conds(rule.conds.clone());
            add(&mut policy, r, &arches)?;
        }
        Ok(policy)
    }
}

/// The rule for `arch` (`None`: libseccomp keeps nothing that can match there) and the
/// chains libseccomp's tree gets, or the errno libseccomp's `arch_filter_rule_add` fails
/// with.
fn arch_rule(
    native: Arch,
    arch: Arch,
    exact: bool,
    action: Action,
    action_value: u32,
    syscall: i32,
    conds: &[ArgCond],
) -> Result<(Option<CRule>, Vec<Chain>), Errno> {
    let number = translate(native, arch, syscall)?;
    let has_mux = arch.multiplexed_calls().next().is_some();
    let local_name = arch.libseccomp_resolve_number(number.into());
    if let Some(n) = local_name {
        if arch.multiplexed(n).is_some() {
            // `abi_rule_add`: exact rules on multiplexed calls take no arguments.
            if exact && !conds.is_empty() {
                return Err(libc::EINVAL);
            }
        } else if number < -1 && exact {
            return Err(libc::EDOM);
        }
    } else if number < -1 && exact && !has_mux {
        return Err(libc::EDOM);
    }
    // The chains, with the data as given: libseccomp's nodes keep the full 64-bit datum
    // even on 32-bit architectures (its program then compares the low word only).
    let cut_conds: Vec<ArgCond> = conds.to_vec();
    let mut chains = Vec::new();
    let via = local_name.and_then(|n| arch.multiplexed(n));
    match via {
        Some(via) => {
            let mut muxed: Vec<ArgCond> =
                cut_conds.iter().filter(|c| c.arg() != 0).copied().collect();
            muxed.push(ArgCond::new(0, CmpOp::Eq, via.call.into()).expect("argument 0"));
            muxed.sort();
            chains.push(Chain {
                nr: via.syscall.into(),
                conds: muxed,
                action: action_value,
            });
            if let Some(direct) = local_name.and_then(|n| arch.syscall_number(n)) {
                chains.push(Chain {
                    nr: direct.into(),
                    conds: cut_conds,
                    action: action_value,
                });
            }
        }
        None => chains.push(Chain {
            nr: number.into(),
            conds: cut_conds,
            action: action_value,
        }),
    }
    let syscall = match (number, local_name) {
        (_, Some(n)) => Syscall::Name(n.to_string()),
        (n, None) if n >= 0 => Syscall::Number(n as u32),
        // A pseudo number with no name: libseccomp keeps a rule that never matches.
        _ => return Ok((None, chains)),
    };
    let rule = CRule {
        action,
        syscall,
        conds: conds.to_vec(),
    };
    Ok((Some(rule), chains))
}

/// `arch_syscall_translate`: a number is the native architecture's; another architecture
/// gets the same name's number there (`EFAULT` when it has none). -1 stays -1.
fn translate(native: Arch, arch: Arch, syscall: i32) -> Result<i32, Errno> {
    if arch == native || syscall == -1 {
        return Ok(syscall);
    }
    let name = native
        .libseccomp_resolve_number(syscall.into())
        .ok_or(libc::EFAULT)?;
    match arch.libseccomp_resolve_name(name) {
        -1 => Err(libc::EFAULT),
        n => Ok(n),
    }
}

/// Whether `name` is a multiplexer (`socketcall`, `ipc`), whose own rules sysgate combines
/// with the calls it carries (docs/libseccomp.md).
fn is_multiplexer(name: &str) -> bool {
    matches!(name, "socketcall" | "ipc")
}

/// The rules on a multiplexer that decide, as libseccomp keeps them: the first unconditional
/// rule alone; or else every conditional one, except a rule that continues an earlier rule's
/// chain of equality tests (the earlier rule's tests are the first of its own): libseccomp
/// drops it, and the shorter chain decides every call both match.
fn deciding(rules: &[CRule]) -> Vec<&CRule> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let first_unconditional = rules
            .iter()
            .find(|r| r.syscall == rule.syscall && r.conds.is_empty());
        match first_unconditional {
            Some(u) if std::ptr::eq(u, rule) => out.push(rule),
            Some(_) => {}
            None if rules[..i].iter().any(|e| extends(rule, e)) => {}
            None => out.push(rule),
        }
    }
    out
}

/// Whether `longer`'s chain continues `shorter`'s in libseccomp's tree: both test only
/// equalities (`==`, masked `==`), on the same syscall, and `shorter`'s tests are the first
/// of `longer`'s (chains are ordered by argument). Other comparisons are stored as split or
/// inverted nodes, where the prefix relation is not this simple; they are not matched.
fn extends(longer: &CRule, shorter: &CRule) -> bool {
    let equalities = |r: &CRule| {
        r.conds
            .iter()
            .all(|c| matches!(c.op(), CmpOp::Eq | CmpOp::MaskedEq(_)))
    };
    longer.syscall == shorter.syscall
        && !shorter.conds.is_empty()
        && shorter.conds.len() < longer.conds.len()
        && equalities(longer)
        && equalities(shorter)
        && longer.conds[..shorter.conds.len()] == shorter.conds[..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(arg: u32, v: u64) -> ScmpArgCmp {
        arg_cmp(arg, cmp::EQ, v, 0)
    }

    fn arg_cmp(arg: u32, op: u32, datum_a: u64, datum_b: u64) -> ScmpArgCmp {
        ScmpArgCmp {
            arg,
            op,
            datum_a,
            datum_b,
        }
    }

    #[test]
    fn actions_libseccomp_refuses() {
        assert_eq!(action(act::TRAP | 1), None);
        assert_eq!(action(act::ERRNO | 4095), None);
        assert_eq!(action(act::ERRNO | 4094), Some(Action::Errno(4094)));
        assert_eq!(action(act::TRACE | 7), Some(Action::Trace(7)));
        assert_eq!(action(0x1234_0000), None);
        assert!(Filter::new(0x1234_0000, 6).is_none());
    }

    #[test]
    fn rule_add_return_codes() {
        assert!(Filter::new(act::LOG, 2).is_none());
        let mut f = Filter::new(act::KILL_THREAD, 6).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        assert_eq!(
            f.rule_add(4, false, act::NOTIFY, read, &[]),
            Err(libc::EINVAL)
        );
        assert_eq!(
            f.rule_add(6, false, act::KILL_THREAD, read, &[]),
            Err(libc::EACCES)
        );
        assert_eq!(
            f.rule_add(6, false, 0x1234_0000, read, &[]),
            Err(libc::EINVAL)
        );
        assert_eq!(f.rule_add(6, false, act::ALLOW, -5, &[]), Err(libc::EINVAL));
        assert_eq!(f.rule_add(6, false, act::ALLOW, -1, &[]), Err(libc::EINVAL));
        assert_eq!(
            f.rule_add(6, false, act::ALLOW, read, &[eq(0, 1), eq(0, 2)]),
            Err(libc::EINVAL)
        );
        assert_eq!(
            f.rule_add(6, false, act::ALLOW, read, &[eq(6, 1)]),
            Err(libc::EINVAL)
        );
        let bad_op = ScmpArgCmp { op: 8, ..eq(0, 1) };
        assert_eq!(
            f.rule_add(6, false, act::ALLOW, read, &[bad_op]),
            Err(libc::EINVAL)
        );
        assert_eq!(f.rule_add(6, false, act::ALLOW, read, &[eq(0, 1)]), Ok(()));
        assert_eq!(f.rule_add(6, false, act::ALLOW, read, &[eq(0, 1)]), Ok(()));
        assert_eq!(
            f.rule_add(6, false, act::ERRNO | 1, read, &[eq(0, 1)]),
            Err(libc::EEXIST)
        );
    }

    #[test]
    fn first_unconditional_rule_decides_its_syscall() {
        let mut f = Filter::new(act::KILL_THREAD, 6).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        f.rule_add(6, false, act::ERRNO | 1, read, &[eq(0, 3)])
            .unwrap();
        f.rule_add(6, false, act::ALLOW, read, &[]).unwrap();
        f.rule_add(6, false, act::ERRNO | 2, read, &[]).unwrap();
        let p = f.policy().unwrap();
        let d = p.decide(Arch::native(), read as u32, &[3, 0, 0, 0, 0, 0]);
        assert_eq!(d.action, Action::Allow);
    }

    #[test]
    fn a_rejected_transaction_restores_rules_arches_and_attributes() {
        let mut f = Filter::new(act::KILL_THREAD, 7).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        f.rule_add(7, false, act::ALLOW, read, &[]).unwrap();
        let before = f.policy().unwrap();
        f.transaction_start();
        f.transaction_start();
        f.rule_add(7, false, act::ERRNO | 1, read + 1, &[]).unwrap();
        f.transaction_commit();
        f.attr_set(attr::CTL_NNP, 0, 7).unwrap();
        f.arch_remove(0).unwrap();
        f.transaction_reject();
        assert_eq!(f.policy().unwrap(), before);
        f.transaction_reject(); // nothing open: no change
        assert_eq!(f.policy().unwrap(), before);
    }

    #[test]
    fn a_rule_continuing_an_earlier_chain_is_dropped_as_libseccomp_drops_it() {
        let mut f = Filter::new(act::KILL_THREAD, 7).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        f.rule_add(7, false, act::ALLOW, read, &[eq(0, 1)]).unwrap();
        f.rule_add(7, false, act::ERRNO | 1, read, &[eq(0, 1), eq(1, 2)])
            .unwrap();
        let p = f.policy().unwrap();
        let d = p.decide(Arch::native(), read as u32, &[1, 2, 0, 0, 0, 0]);
        assert_eq!(d.action, Action::Allow);
    }

    #[test]
    fn an_arch_added_after_rules_has_only_the_later_rules() {
        let mut f = Filter::new(act::KILL_THREAD, 6).unwrap();
        let nr = |name| Arch::native().syscall_number(name).unwrap() as i32;
        f.rule_add(6, false, act::ALLOW, nr("read"), &[]).unwrap();
        f.arch_add(Arch::X86.libseccomp_token()).unwrap();
        f.rule_add(6, false, act::ALLOW, nr("write"), &[eq(0, 1)])
            .unwrap();
        let p = f.policy().unwrap();
        let decide = |arch: Arch, name, fd| {
            let nr = arch.syscall_number(name).unwrap();
            p.decide(arch, nr, &[fd, 0, 0, 0, 0, 0]).action
        };
        assert_eq!(decide(Arch::X86_64, "read", 0), Action::Allow);
        assert_eq!(decide(Arch::X86, "read", 0), Action::KillThread);
        for arch in [Arch::X86_64, Arch::X86] {
            assert_eq!(decide(arch, "write", 1), Action::Allow);
            assert_eq!(decide(arch, "write", 2), Action::KillThread);
        }
        // The rule both have applies on both, the other on x86_64 only.
        let only: Vec<_> = p.rules().iter().map(|r| r.only_on.clone()).collect();
        assert!(only.contains(&Some(vec![Arch::X86_64])) && only.contains(&None));
    }

    /// x86_64's tree tests `a0 != 0` (as high- and low-word tests) before the masked test,
    /// x86's the masked test first: `read(1, 3)` is ERRNO(1) on x86_64 and ERRNO(2) on x86,
    /// as libseccomp 2.5.4's programs decide (its PFC shows both orders).
    #[test]
    fn trees_that_order_overlapping_rules_differently_decide_each_on_its_own() {
        let mut f = Filter::new(act::ALLOW, 7).unwrap();
        f.arch_add(Arch::X86.libseccomp_token()).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        let ne0 = arg_cmp(0, cmp::NE, 0, 0);
        let odd = arg_cmp(0, cmp::MASKED_EQ, 1, 1);
        f.rule_add(7, false, act::ERRNO | 1, read, &[ne0, eq(1, 3)])
            .unwrap();
        f.rule_add(7, false, act::ERRNO | 2, read, &[odd]).unwrap();
        let p = f.policy().unwrap();
        let program = &sysgate::compile::compile(&p).unwrap().programs[0];
        for (arch, want) in [(Arch::X86_64, 1), (Arch::X86, 2)] {
            let nr = arch.syscall_number("read").unwrap();
            let args = [1, 3, 0, 0, 0, 0];
            assert_eq!(p.decide(arch, nr, &args).action, Action::Errno(want));
            let ret = program.emulate_call(arch, nr, &args).unwrap().ret;
            assert_eq!(ret, Action::Errno(want).to_ret(), "{arch}");
            // Where only one rule matches, both decide alike.
            assert_eq!(
                p.decide(arch, nr, &[3, 0, 0, 0, 0, 0]).action,
                Action::Errno(2)
            );
            assert_eq!(
                p.decide(arch, nr, &[2, 3, 0, 0, 0, 0]).action,
                Action::Errno(1)
            );
        }
    }

    #[test]
    fn merged_filters_keep_their_own_rules() {
        let nr = |name| Arch::native().syscall_number(name).unwrap() as i32;
        let mut a = Filter::new(act::ERRNO | 1, 6).unwrap();
        a.rule_add(6, false, act::ALLOW, nr("read"), &[]).unwrap();
        let mut b = Filter::new(act::ERRNO | 1, 6).unwrap();
        b.arch_add(Arch::X86.libseccomp_token()).unwrap();
        b.arch_remove(crate::abi::SCMP_ARCH_NATIVE).unwrap();
        b.rule_add(6, false, act::ALLOW, nr("getpid"), &[]).unwrap();
        a.merge(b).unwrap();
        let p = a.policy().unwrap();
        let decide = |arch: Arch, name| {
            let nr = arch.syscall_number(name).unwrap();
            p.decide(arch, nr, &[0; 6]).action
        };
        assert_eq!(decide(Arch::X86_64, "read"), Action::Allow);
        assert_eq!(decide(Arch::X86_64, "getpid"), Action::Errno(1));
        assert_eq!(decide(Arch::X86, "read"), Action::Errno(1));
        assert_eq!(decide(Arch::X86, "getpid"), Action::Allow);
    }

    /// libseccomp's regression test 43-sim-a2_order: `<=`/`>` and `>=`/`<` bounds on one
    /// argument with different actions; the tree tests the largest `>` bound and the
    /// smallest `<` bound first, so the most specific rule decides.
    #[test]
    fn overlapping_bounds_decide_in_libseccomps_order_a2_order() {
        let bound = |op, v| ScmpArgCmp {
            arg: 2,
            op,
            datum_a: v,
            datum_b: 0,
        };
        for arches in [&[Arch::X86_64][..], &[Arch::X86_64, Arch::X86]] {
            let mut f = Filter::new(act::KILL_THREAD, 7).unwrap();
            for a in &arches[1..] {
                f.arch_add(a.libseccomp_token()).unwrap();
            }
            let nr = |name| Arch::X86_64.syscall_number(name).unwrap() as i32;
            f.rule_add(7, false, act::ALLOW, nr("read"), &[bound(cmp::LE, 64)])
                .unwrap();
            f.rule_add(7, false, act::ALLOW, nr("write"), &[bound(cmp::GE, 32768)])
                .unwrap();
            for (i, v) in [128, 256, 512, 1024, 2048, 4096, 8192, 16384]
                .into_iter()
                .enumerate()
            {
                let e = act::ERRNO | (5 + i as u32);
                f.rule_add(7, false, e, nr("read"), &[bound(cmp::GT, v)])
                    .unwrap();
                f.rule_add(7, false, e, nr("write"), &[bound(cmp::LT, v)])
                    .unwrap();
            }
            let p = f.policy().unwrap();
            let kill = Action::KillThread;
            let read: &[(u64, Action)] = &[
                (30, Action::Allow),
                (64, Action::Allow),
                (65, kill),
                (128, kill),
                (129, Action::Errno(5)),
                (256, Action::Errno(5)),
                (257, Action::Errno(6)),
                (1024, Action::Errno(7)),
                (1025, Action::Errno(8)),
                (4097, Action::Errno(10)),
                (16384, Action::Errno(11)),
                (16385, Action::Errno(12)),
            ];
            let write: &[(u64, Action)] = &[
                (65, Action::Errno(5)),
                (128, Action::Errno(6)),
                (256, Action::Errno(7)),
                (513, Action::Errno(8)),
                (2048, Action::Errno(10)),
                (8193, Action::Errno(12)),
                (16384, kill),
                (16385, kill),
                (32768, Action::Allow),
            ];
            for &arch in arches {
                for (name, cases) in [("read", read), ("write", write)] {
                    let n = arch.syscall_number(name).unwrap();
                    for &(size, want) in cases {
                        let args = [4, 0x856b008, size, 0, 0, 0];
                        let got = p.decide(arch, n, &args).action;
                        assert_eq!(got, want, "{arch} {name}(.., {size})");
                    }
                }
            }
        }
    }

    /// 400 rules `a0 == i && a1 < (i << 33)` on one syscall: a call with `a0 == i` falls
    /// through the other rules' `a0` tests, which the reading once counted as decision
    /// paths (quadratically) and refused the filter with `EOPNOTSUPP` from about 380 rules.
    #[test]
    fn rules_that_fix_one_argument_each_do_not_multiply_paths() {
        let mut f = Filter::new(act::ALLOW, 7).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        for i in 0..400u64 {
            let lt = arg_cmp(1, cmp::LT, i << 33, 0);
            f.rule_add(
                7,
                false,
                act::ERRNO | (1 + i as u32 % 3),
                read,
                &[eq(0, i), lt],
            )
            .unwrap();
        }
        let p = f.policy().unwrap();
        let decide = |a0: u64, a1: u64| {
            p.decide(Arch::X86_64, read as u32, &[a0, a1, 0, 0, 0, 0])
                .action
        };
        assert_eq!(decide(7, 0), Action::Errno(2));
        assert_eq!(decide(7, 7 << 33), Action::Allow);
        assert_eq!(decide(399, (399 << 33) - 1), Action::Errno(1));
        assert_eq!(decide(0, 0), Action::Allow);
        assert_eq!(decide(400, 0), Action::Allow);
    }

    #[test]
    fn eexist_follows_libseccomps_tree() {
        let mut f = Filter::new(act::KILL_THREAD, 7).unwrap();
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        let c = |arg, op, v| ScmpArgCmp {
            arg,
            op,
            datum_a: v,
            datum_b: 0,
        };
        f.rule_add(
            7,
            false,
            act::ALLOW,
            read,
            &[c(0, cmp::EQ, 1), c(1, cmp::EQ, 2)],
        )
        .unwrap();
        // Ends inside the longer chain with another action: libseccomp refuses it.
        assert_eq!(
            f.rule_add(7, false, act::ERRNO | 1, read, &[c(0, cmp::EQ, 1)]),
            Err(libc::EEXIST)
        );
        // The same chain's end with the same action is taken.
        assert_eq!(
            f.rule_add(7, false, act::ALLOW, read, &[c(0, cmp::EQ, 1)]),
            Ok(())
        );
    }

    #[test]
    fn a_32_bit_architecture_refuses_a_mask_of_high_bits_libseccomp_would_drop() {
        let read = Arch::native().syscall_number("read").unwrap() as i32;
        let high = ScmpArgCmp {
            arg: 0,
            op: cmp::MASKED_EQ,
            datum_a: 0x1_0000_0000,
            datum_b: 0x1_0000_0000,
        };
        for remove_native in [true, false] {
            let mut f = Filter::new(act::KILL_THREAD, 7).unwrap();
            f.arch_add(Arch::X86.libseccomp_token()).unwrap();
            if remove_native {
                f.arch_remove(crate::abi::SCMP_ARCH_NATIVE).unwrap();
            }
            f.rule_add(7, false, act::ALLOW, read, &[high]).unwrap();
            assert_eq!(f.policy().err(), Some(libc::EOPNOTSUPP));
        }
        // A mask with low bits is kept and compared as written.
        let mut f = Filter::new(act::KILL_THREAD, 7).unwrap();
        f.arch_add(Arch::X86.libseccomp_token()).unwrap();
        f.arch_remove(crate::abi::SCMP_ARCH_NATIVE).unwrap();
        f.rule_add(
            7,
            false,
            act::ALLOW,
            read,
            &[ScmpArgCmp {
                datum_a: 0xff,
                datum_b: 3,
                ..high
            }],
        )
        .unwrap();
        let p = f.policy().unwrap();
        let x86_read = Arch::X86.syscall_number("read").unwrap();
        assert_eq!(
            p.decide(Arch::X86, x86_read, &[0x103, 0, 0, 0, 0, 0])
                .action,
            Action::Allow
        );
        assert_eq!(
            p.decide(Arch::X86, x86_read, &[4, 0, 0, 0, 0, 0]).action,
            Action::KillThread
        );
    }
}
