//! The policy IR: actions, argument conditions, rules, the policy that holds them, and the
//! reference evaluator that defines what a policy means.
//!
//! Every profile format converts into a [`Policy`]; the compiler turns a `Policy` into BPF.
//! Neither side knows the other. This module owns the semantics:
//!
//! - **Combination is order-independent.** Of the rules that match a call (same syscall on the
//!   caller's architecture, every condition holds), the one whose return value is smallest as
//!   a signed 32-bit integer wins: KILL_PROCESS beats everything, ERRNO(1) beats ERRNO(38),
//!   LOG beats ALLOW. If none matches, the default action applies. Overlapping rules with
//!   different actions are reported ([`Diagnostic::Overlap`]).
//! - **Errno names** ([`Action::NamedErrno`]) are numbered as the calling ABI numbers them
//!   ([`Errno`]: ENOSYS is 38, 89 on mips, 251 on parisc) before anything is compared, so
//!   precedence is decided on the numbers the kernel returns; [`Action::Errno`] is the same
//!   number everywhere. The bad-arch action takes the first architecture's numbering.
//! - **Arguments are 64-bit** and compared unsigned. On 32-bit ABIs only the low word exists:
//!   the argument's high word is zero there.
//! - **Architectures**: a call from an architecture that is not in the policy gets the bad-arch
//!   action (default KILL_PROCESS). On x86_64, a number from the x32 bit (0x40000000) up is
//!   an x32 call and gets the bad-arch action unless x32 is in the policy. `nr == -1` (a tracer skipping the
//!   call) gets the default action.
//! - **Rules for some ABIs only**: a rule with [`Rule::only_on`](Rule#structfield.only_on)
//!   exists only on the listed architectures; on the policy's others it matches nothing (as if
//!   it named a syscall they lack). Everything below reads a rule where it applies.
//! - **Multiplexers** (`socketcall`, `ipc` on x86, s390, ppc, mips o32, m68k, sh): BPF cannot
//!   read their real arguments. `socketcall(SYS_SOCKET)` is decided as the most restrictive
//!   outcome any of `socket`'s rules could give: with only unconditional rules that is exactly
//!   their decision; with a conditional allow rule it is the default (the call cannot be
//!   proven to match); with a conditional deny rule it is the deny. So the multiplexed path is
//!   never more permissive than the direct one, and a warning names the rule.
//! - **Unknown names**: a name an architecture lacks is skipped there and reported (or an
//!   error in strict mode); a name no architecture knows is always an error.
//! - **Unknown syscalls**: optionally, a number above the newest syscall the table knows, and
//!   not in it, gets `ERRNO(ENOSYS)` instead of the default, so new libc calls fall back.
//!   Separately, per ABI, a number above a threshold ([`Attributes::enosys_above`], runc's
//!   rule: the largest syscall the profile names there) gets `ERRNO(ENOSYS)` when no rule
//!   matches; on s390/s390x so does number 0 (the kernel's way of passing numbers it does not
//!   know), and so does `nr == -1` on an ABI with a threshold (runc's stub compares it as the
//!   largest number).

mod cond;
mod overlap;
mod rule;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

// The actions are the kernel's return values and the errnos its numbering per architecture:
// they live below the IR (in `bpf` and `arch`) and are re-exported as the IR's vocabulary.
pub use crate::arch::{Errno, Numbering};
pub use crate::bpf::{
    errno_name, parse_errno, ret, Action, ActionOn, ParseActionError, ERRNO_NAMES, MAX_ERRNO,
};
pub use cond::{ArgCond, CmpOp, CondError};
pub use overlap::OverlapPair;
pub use rule::{Rule, RuleOn, Syscall, MAX_CONDS};

use crate::arch::{Arch, Endian, Multiplexed, IPC_CALLS, SOCKETCALL_CALLS, X32_SYSCALL_BIT};

/// `ENOSYS`, returned for syscalls the table does not know when that option is on.
pub const ENOSYS: u16 = 38;

/// What to do with a syscall name that an architecture of the policy does not have.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum UnknownNames {
    /// Skip the rule on that architecture and report it (libseccomp's and runc's behaviour).
    #[default]
    Skip,
    /// Refuse to compile.
    Strict,
}

/// `seccomp(2)` flags requested for installation ([`Attributes::flags`]); the one flags
/// type, defined with the other kernel facts in [`crate::bpf`].
pub use crate::bpf::KernelFlags;

/// Policy-wide attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// Action for calls from an architecture the policy does not list.
    pub bad_arch: Action,
    /// Set `no_new_privs` before installing (required without CAP_SYS_ADMIN).
    pub no_new_privs: bool,
    /// Flags for `seccomp(SECCOMP_SET_MODE_FILTER)`.
    pub flags: KernelFlags,
    /// Names an architecture lacks: skip or refuse.
    pub unknown_names: UnknownNames,
    /// Return `ERRNO(ENOSYS)` for numbers above the newest syscall the table knows.
    pub enosys_for_unknown_syscalls: bool,
    /// runc's ENOSYS rule, per ABI: a call that no rule matches and whose number is above the
    /// ABI's value here returns `ERRNO(ENOSYS)` instead of the default. So do number 0 on
    /// s390/s390x and `nr == -1` (see [`Policy::enosys_above_applies`]). The Docker/OCI/Podman
    /// reader sets it to the largest number the profile names on each ABI, as runc's
    /// `findLastSyscalls` does; ABIs not listed have no such rule.
    pub enosys_above: BTreeMap<Arch, u32>,
}

impl Default for Attributes {
    fn default() -> Attributes {
        Attributes {
            bad_arch: Action::KillProcess,
            no_new_privs: true,
            flags: KernelFlags::default(),
            unknown_names: UnknownNames::Skip,
            enosys_for_unknown_syscalls: false,
            enosys_above: BTreeMap::new(),
        }
    }
}

/// Why a policy or rule is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// ERRNO data above 4095.
    #[error("errno {errno} is out of range (0 to {MAX_ERRNO}){}", at(.origin))]
    ErrnoRange {
        /// The value.
        errno: u16,
        /// Where it came from.
        origin: Option<String>,
    },
    /// More than six conditions in one rule.
    #[error("a rule may have at most {MAX_CONDS} argument conditions, this one has {count}{}", at(.origin))]
    TooManyConds {
        /// How many.
        count: usize,
        /// Where it came from.
        origin: Option<String>,
    },
    /// A name no architecture knows.
    #[error("unknown syscall {name:?}: no architecture has it{}", at(.origin))]
    UnknownSyscall {
        /// The name.
        name: String,
        /// Where it came from.
        origin: Option<String>,
    },
    /// A name this architecture lacks, in strict mode.
    #[error("syscall {name:?} does not exist on {arch} (strict mode){}", at(.origin))]
    UnknownOnArch {
        /// The name.
        name: String,
        /// The architecture.
        arch: Arch,
        /// Where it came from.
        origin: Option<String>,
    },
    /// Mixed byte orders.
    #[error("{new} is {:?}-endian but the policy already has {existing} ({:?}-endian); one program serves one byte order", new.endian(), existing.endian())]
    MixedEndian {
        /// The architecture being added.
        new: Arch,
        /// One already present.
        existing: Arch,
    },
    /// A policy without architectures.
    #[error("the policy has no architectures: give it at least one (Policy::add_arch, or --arch)")]
    NoArches,
    /// Two policies that cannot be merged.
    #[error("cannot merge policies: {0}")]
    Merge(String),
}

fn at(origin: &Option<String>) -> String {
    origin
        .as_ref()
        .map(|o| format!(" at {o}"))
        .unwrap_or_default()
}

/// Something worth telling the user about a policy that still compiles.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A syscall name that some of the policy's architectures lack: its rules are skipped
    /// there. One note per name, however many rules name it.
    UnknownOnArch {
        /// Index in [`Policy::rules`] of the first rule that names it.
        rule: usize,
        /// How many rules name it.
        rules: usize,
        /// The architectures that lack it, sorted.
        arches: Vec<Arch>,
    },
    /// Conditional rules on a multiplexed call: the multiplexer's path cannot check the
    /// arguments, so it gets the most restrictive outcome the rules allow. One note per name
    /// and architecture, however many rules.
    ConditionalMultiplexed {
        /// Index of the first conditional rule on the name.
        rule: usize,
        /// How many conditional rules name it.
        rules: usize,
        /// The architecture.
        arch: Arch,
        /// How the call is multiplexed.
        via: Multiplexed,
    },
    /// Rules on one syscall that can match the same call with different actions; where
    /// several match, the most restrictive wins. One summary per syscall, however many rules
    /// it has: how many rules and pairs overlap, and the first few pairs.
    Overlap {
        /// The syscall, as the architecture's table names it.
        syscall: String,
        /// How many of its rules overlap at least one other.
        rules: usize,
        /// How many pairs of rules overlap.
        pairs: u64,
        /// Whether every pair was accounted for. Pairs of conditional rules that are not all
        /// `==` on the same arguments are checked one by one, up to a budget; past it,
        /// `rules` and `pairs` count what was found (a lower bound).
        complete: bool,
        /// The first few overlapping pairs (at most three), in rule order.
        examples: Vec<OverlapPair>,
    },
}

impl Diagnostic {
    /// A readable message, with the rules spelled out.
    pub fn describe(&self, policy: &Policy) -> String {
        let r = |i: &usize| {
            policy
                .rules
                .get(*i)
                .map_or_else(|| format!("rule {i}"), |r| format!("rule #{i} [{r}]"))
        };
        match self {
            Diagnostic::UnknownOnArch {
                rule,
                rules,
                arches,
            } => {
                let arches: Vec<&str> = arches.iter().map(|a| a.name()).collect();
                let arches = arches.join(", ");
                match rules {
                    1 => format!("{} skipped on {arches}: no such syscall there", r(rule)),
                    n => format!(
                        "{n} rules on {} skipped on {arches}: no such syscall there; the first \
                         is {}",
                        name_of(policy, *rule),
                        r(rule)
                    ),
                }
            }
            Diagnostic::ConditionalMultiplexed {
                rule,
                rules,
                arch,
                via,
            } => {
                let (who, first) = match rules {
                    1 => (format!("{} has", r(rule)), String::new()),
                    n => (
                        format!("{n} rules on {} have", name_of(policy, *rule)),
                        format!("; the first is {}", r(rule)),
                    ),
                };
                format!(
                    "{who} argument conditions, which {}({}) on {arch} cannot check: that path \
                     gets the most restrictive outcome the rules for this call can give{first}",
                    arch.syscall_name(via.syscall).unwrap_or("multiplexer"),
                    via.call
                )
            }
            Diagnostic::Overlap {
                syscall,
                rules,
                pairs,
                complete,
                examples,
            } => {
                let pair = |p: &OverlapPair| {
                    format!(
                        "{} and {}: where both match, #{} wins",
                        r(&p.a),
                        r(&p.b),
                        p.winner
                    )
                };
                match (examples.as_slice(), *pairs, *complete) {
                    ([only], 1, true) => format!(
                        "{} and {} overlap with different actions; where both match, #{} wins",
                        r(&only.a),
                        r(&only.b),
                        only.winner
                    ),
                    (_, 0, _) => format!(
                        "{syscall}: too many conditional rules with different actions to check \
                         them all for overlaps; where several match, the most restrictive wins"
                    ),
                    _ => {
                        let at_least = if *complete { "" } else { "at least " };
                        let shown: Vec<String> = examples.iter().map(pair).collect();
                        let more = *pairs - examples.len() as u64;
                        let more = if more > 0 {
                            format!("; {at_least}{more} more")
                        } else {
                            String::new()
                        };
                        format!(
                            "{syscall}: {at_least}{rules} rules overlap with different actions \
                             in {at_least}{pairs} pairs, the most restrictive winning: {}{more}",
                            shown.join("; ")
                        )
                    }
                }
            }
        }
    }
}

/// The syscall rule `i` names, for messages.
fn name_of(policy: &Policy, i: usize) -> String {
    policy
        .rules
        .get(i)
        .map_or_else(|| format!("rule {i}"), |r| r.syscall.to_string())
}

/// A seccomp policy: default action, architectures, rules and attributes.
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// policy.add_rule(
///     Rule::new(Action::Allow, "socket").with_cond(ArgCond::new(0, CmpOp::Eq, 1)?),
/// )?;
/// let args = [1, 0, 0, 0, 0, 0];
/// assert_eq!(policy.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
/// assert_eq!(policy.decide(Arch::X86_64, 41, &args).action, Action::Allow);
/// assert_eq!(policy.decide(Arch::X86_64, 41, &[2, 0, 0, 0, 0, 0]).action, Action::Errno(1));
/// assert_eq!(policy.decide(Arch::Aarch64, 63, &[0; 6]).action, Action::KillProcess);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    default: Action,
    arches: Vec<Arch>,
    rules: Vec<Rule>,
    /// Policy-wide attributes.
    pub attrs: Attributes,
}

/// What decided a call, as the reference evaluator sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DecidedBy {
    /// This rule (index into [`Policy::rules`]) matched and was the most restrictive.
    Rule(usize),
    /// No rule matched.
    Default,
    /// The caller's architecture is not in the policy.
    BadArch,
    /// No rule matched and the number gets ENOSYS: unknown to the table (with
    /// [`Attributes::enosys_for_unknown_syscalls`]) or above the ABI's
    /// [`Attributes::enosys_above`] threshold.
    UnknownSyscall,
    /// `nr == -1`: a tracer skipped the call.
    SkippedCall,
}

/// The evaluator's answer: the action and why.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The action the kernel should take.
    pub action: Action,
    /// What decided it.
    pub by: DecidedBy,
    /// The ABI the call was decided for (`None` for a bad arch).
    pub arch: Option<Arch>,
}

impl Policy {
    /// An empty policy with this default action, for the native architecture.
    pub fn new(default: Action) -> Policy {
        Policy {
            default,
            arches: vec![Arch::native()],
            rules: Vec::new(),
            attrs: Attributes::default(),
        }
    }

    /// The default action.
    pub fn default_action(&self) -> Action {
        self.default
    }

    /// Whether any call is answered with NOTIFY (the default or a rule): such a policy
    /// needs a listener (NEW_LISTENER) for anybody to answer those calls.
    ///
    /// ```
    /// use sysgate::policy::{Action, Policy, Rule};
    ///
    /// let mut p = Policy::new(Action::Allow);
    /// assert!(!p.notifies());
    /// p.add_rule(Rule::new(Action::UserNotif, "uname"))?;
    /// assert!(p.notifies());
    /// # Ok::<(), sysgate::policy::PolicyError>(())
    /// ```
    pub fn notifies(&self) -> bool {
        self.default == Action::UserNotif
            || self.rules.iter().any(|r| r.action == Action::UserNotif)
    }

    /// Change the default action.
    pub fn set_default_action(&mut self, action: Action) -> Result<(), PolicyError> {
        check_action(action, &None)?;
        self.default = action;
        Ok(())
    }

    /// Change the action of rule `i` (its index from [`Policy::add_rule`]); the rule keeps
    /// its syscall, conditions and origin.
    pub(crate) fn set_rule_action(&mut self, i: usize, action: Action) -> Result<(), PolicyError> {
        let rule = &mut self.rules[i];
        check_action(action, &rule.origin)?;
        rule.action = action;
        Ok(())
    }

    /// The architectures, sorted.
    pub fn arches(&self) -> &[Arch] {
        &self.arches
    }

    /// The rules, in the order they were added (order does not change the meaning).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Add an architecture. All architectures of one policy share a byte order.
    pub fn add_arch(&mut self, arch: Arch) -> Result<(), PolicyError> {
        if let Some(existing) = self.arches.iter().find(|a| a.endian() != arch.endian()) {
            return Err(PolicyError::MixedEndian {
                new: arch,
                existing: *existing,
            });
        }
        if !self.arches.contains(&arch) {
            self.arches.push(arch);
            self.arches.sort();
        }
        Ok(())
    }

    /// Remove an architecture (no-op if absent).
    pub fn remove_arch(&mut self, arch: Arch) {
        self.arches.retain(|a| *a != arch);
    }

    /// Replace the architectures.
    pub fn set_arches(
        &mut self,
        arches: impl IntoIterator<Item = Arch>,
    ) -> Result<(), PolicyError> {
        let old = std::mem::take(&mut self.arches);
        for a in arches {
            if let Err(e) = self.add_arch(a) {
                self.arches = old;
                return Err(e);
            }
        }
        Ok(())
    }

    /// The byte order of the policy's architectures.
    pub fn endian(&self) -> Option<Endian> {
        self.arches.first().map(|a| a.endian())
    }

    /// Add a rule after validating it (errno range, at most six conditions, a name some
    /// architecture knows). Returns its index.
    pub fn add_rule(&mut self, rule: Rule) -> Result<usize, PolicyError> {
        check_action(rule.action, &rule.origin)?;
        if rule.conds.len() > MAX_CONDS {
            return Err(PolicyError::TooManyConds {
                count: rule.conds.len(),
                origin: rule.origin,
            });
        }
        if let Syscall::Name(name) = &rule.syscall {
            if !crate::arch::is_known_syscall(name) {
                return Err(PolicyError::UnknownSyscall {
                    name: name.clone(),
                    origin: rule.origin,
                });
            }
        }
        self.rules.push(rule);
        Ok(self.rules.len() - 1)
    }

    /// Rewrite every rule's origin in place (a reader that read an intermediate text points
    /// them back at the file the user wrote).
    #[cfg(feature = "profiles")]
    pub(crate) fn map_origins(&mut self, mut f: impl FnMut(&mut Option<String>)) {
        for rule in &mut self.rules {
            f(&mut rule.origin);
        }
    }

    /// Keep only the rules for which `keep` is true (the others are removed; the indices of
    /// the remaining rules shift down).
    ///
    /// ```
    /// use sysgate::policy::{Action, Policy, Rule, Syscall};
    ///
    /// let mut policy = Policy::new(Action::Errno(1));
    /// policy.add_rule(Rule::new(Action::Allow, "read"))?;
    /// policy.add_rule(Rule::new(Action::KillProcess, "uname"))?;
    /// policy.retain_rules(|r| r.syscall != Syscall::from("uname"));
    /// assert_eq!(policy.rules().len(), 1);
    /// # Ok::<(), sysgate::policy::PolicyError>(())
    /// ```
    pub fn retain_rules(&mut self, keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(keep);
    }

    /// Merge `other` into this policy: the union of architectures and rules. Both must have
    /// the same default and bad-arch actions (as libseccomp's `seccomp_merge` requires), so
    /// that the merged policy means "a call matching a rule of either".
    pub fn merge(&mut self, other: &Policy) -> Result<(), PolicyError> {
        if self.default != other.default {
            return Err(PolicyError::Merge(format!(
                "default actions differ ({} vs {})",
                self.default, other.default
            )));
        }
        if self.attrs.bad_arch != other.attrs.bad_arch {
            return Err(PolicyError::Merge(format!(
                "bad-arch actions differ ({} vs {})",
                self.attrs.bad_arch, other.attrs.bad_arch
            )));
        }
        let mut merged = self.clone();
        for a in &other.arches {
            merged.add_arch(*a)?;
        }
        merged.rules.extend(other.rules.iter().cloned());
        merged.attrs.no_new_privs |= other.attrs.no_new_privs;
        merged.attrs.enosys_for_unknown_syscalls |= other.attrs.enosys_for_unknown_syscalls;
        // A merged policy names what both name: each ABI's threshold is the larger one.
        for (&arch, &above) in &other.attrs.enosys_above {
            let t = merged.attrs.enosys_above.entry(arch).or_insert(above);
            *t = (*t).max(above);
        }
        if other.attrs.unknown_names == UnknownNames::Strict {
            merged.attrs.unknown_names = UnknownNames::Strict;
        }
        *self = merged;
        Ok(())
    }

    /// The ABI a call with this audit token and number belongs to, if the policy has it.
    pub fn abi_for(&self, audit_arch: u32, nr: u32) -> Option<Arch> {
        let mut candidates = self
            .arches
            .iter()
            .copied()
            .filter(|a| a.audit_arch() == audit_arch);
        let first = candidates.next()?;
        if audit_arch != Arch::X86_64.audit_arch() {
            return Some(first);
        }
        if nr == u32::MAX {
            return Some(first);
        }
        // Numbers from the x32 bit up are x32's (as libseccomp's x86_64 filters treat them:
        // no x86_64 syscall is that large).
        let want = if nr >= X32_SYSCALL_BIT {
            Arch::X32
        } else {
            Arch::X86_64
        };
        self.arches.contains(&want).then_some(want)
    }

    /// The reference evaluator: what the policy decides for a call of syscall `nr` with
    /// `args` from ABI `arch`. Plain Rust over the rules, no BPF involved.
    pub fn decide(&self, arch: Arch, nr: u32, args: &[u64; 6]) -> Decision {
        self.decide_raw(arch.audit_arch(), nr, args)
    }

    /// The reference evaluator on raw `seccomp_data` fields (any audit token).
    pub fn decide_raw(&self, audit_arch: u32, nr: u32, args: &[u64; 6]) -> Decision {
        let Some(arch) = self.abi_for(audit_arch, nr) else {
            return Decision {
                action: self.bad_arch_action(),
                by: DecidedBy::BadArch,
                arch: None,
            };
        };
        // Errno names become this ABI's numbers before anything is compared.
        let enosys = Action::NamedErrno(Errno::ENOSYS).for_arch(arch);
        let fallback = |by| Decision {
            action: self.default.for_arch(arch),
            by,
            arch: Some(arch),
        };
        if nr == u32::MAX {
            if self.enosys_above_applies(audit_arch, nr) {
                return Decision {
                    action: enosys,
                    by: DecidedBy::UnknownSyscall,
                    arch: Some(arch),
                };
            }
            return fallback(DecidedBy::SkippedCall);
        }
        let args = effective_args(arch, args);
        let mut best: Option<(Action, usize)> = None;
        let mut consider = |action: Action, index: usize| {
            if best.is_none_or(|(b, _)| action.precedence() < b.precedence()) {
                best = Some((action, index));
            }
        };
        for (i, rule) in self.rules.iter().enumerate() {
            if self.rule_targets(rule, arch) == Some(nr) && rule.conds_hold(&args) {
                consider(rule.action.for_arch(arch), i);
            }
        }
        // The multiplexed path: socketcall(call, ...) / ipc(call, ...).
        for (name, via) in arch.multiplexed_calls() {
            if via.syscall == nr && args[0] == u64::from(via.call) {
                if let Some((action, index)) = self.multiplexed_outcome(arch, name) {
                    consider(action, index.unwrap_or(usize::MAX));
                }
            }
        }
        match best {
            Some((action, usize::MAX)) => Decision {
                action,
                by: DecidedBy::Default,
                arch: Some(arch),
            },
            Some((action, i)) => Decision {
                action,
                by: DecidedBy::Rule(i),
                arch: Some(arch),
            },
            None if (self.attrs.enosys_for_unknown_syscalls && is_unknown_number(arch, nr))
                || self.enosys_above_applies(audit_arch, nr) =>
            {
                Decision {
                    action: enosys,
                    by: DecidedBy::UnknownSyscall,
                    arch: Some(arch),
                }
            }
            None => fallback(DecidedBy::Default),
        }
    }

    /// Whether runc's ENOSYS rule ([`Attributes::enosys_above`]) answers a call with this audit
    /// token and number when no rule matches it.
    ///
    /// runc's stub compares the number as an unsigned 32-bit value, so `nr == -1` is above
    /// every threshold. On the x86_64 token a number with the x32 bit (which -1 has) is
    /// compared with x32's threshold, any other with x86_64's. On s390 and s390x number 0 (the
    /// kernel passes numbers it does not know as 0 there) gets ENOSYS too.
    ///
    /// ```
    /// use sysgate::policy::{Action, Policy};
    /// use sysgate::Arch;
    ///
    /// let mut p = Policy::new(Action::Errno(1));
    /// p.set_arches([Arch::X86_64])?;
    /// p.attrs.enosys_above.insert(Arch::X86_64, 330);
    /// let token = Arch::X86_64.audit_arch();
    /// assert!(!p.enosys_above_applies(token, 330));
    /// assert!(p.enosys_above_applies(token, 331));
    /// assert_eq!(p.decide(Arch::X86_64, 435, &[0; 6]).action, Action::Errno(38)); // clone3
    /// # Ok::<(), sysgate::policy::PolicyError>(())
    /// ```
    pub fn enosys_above_applies(&self, audit_arch: u32, nr: u32) -> bool {
        let owner = if audit_arch == Arch::X86_64.audit_arch() {
            if nr & X32_SYSCALL_BIT != 0 {
                Arch::X32
            } else {
                Arch::X86_64
            }
        } else {
            match self.arches.iter().find(|a| a.audit_arch() == audit_arch) {
                Some(a) => *a,
                None => return false,
            }
        };
        if !self.arches.contains(&owner) {
            return false;
        }
        let Some(&above) = self.attrs.enosys_above.get(&owner) else {
            return false;
        };
        nr > above || (nr == 0 && matches!(owner, Arch::S390 | Arch::S390x))
    }

    /// The number a rule applies to (directly) on `arch`, if any.
    /// A rule that does not apply on `arch` ([`Rule::only_on`](Rule#structfield.only_on))
    /// targets nothing there.
    pub fn rule_targets(&self, rule: &Rule, arch: Arch) -> Option<u32> {
        if !rule.applies_on(arch) {
            return None;
        }
        match &rule.syscall {
            Syscall::Number(n) => Some(*n),
            Syscall::Name(name) => arch.syscall_number(name),
        }
    }

    /// How the multiplexed path of `name` on `arch` is decided: the most restrictive outcome
    /// `name`'s rules can give (see the module docs). `None` when no rule names it; the index
    /// is the deciding rule, or `None` for the default.
    pub fn multiplexed_outcome(&self, arch: Arch, name: &str) -> Option<(Action, Option<usize>)> {
        arch.multiplexed(name)?;
        let named = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(&r.syscall, Syscall::Name(n) if n == name));
        self.multiplexed_outcome_of(arch, named)
    }

    /// [`Policy::multiplexed_outcome`] over the rules (index, rule) that name one multiplexed
    /// call, for callers that have already grouped the rules by name. The action is `arch`'s
    /// (errno names numbered as `arch` numbers them).
    pub fn multiplexed_outcome_of<'a>(
        &self,
        arch: Arch,
        rules: impl IntoIterator<Item = (usize, &'a Rule)>,
    ) -> Option<(Action, Option<usize>)> {
        let mut best: Option<(Action, Option<usize>)> = None;
        let mut any_unconditional = false;
        let mut any = false;
        for (i, rule) in rules.into_iter().filter(|(_, r)| r.applies_on(arch)) {
            any = true;
            any_unconditional |= rule.conds.is_empty();
            let action = rule.action.for_arch(arch);
            if best.is_none_or(|(b, _)| action.precedence() < b.precedence()) {
                best = Some((action, Some(i)));
            }
        }
        if !any {
            return None;
        }
        if !any_unconditional {
            // No rule is certain to match: the default is a possible outcome too.
            let default = self.default.for_arch(arch);
            if best.is_none_or(|(b, _)| default.precedence() < b.precedence()) {
                best = Some((default, None));
            }
        }
        best
    }

    /// The action for calls from an architecture the policy does not have. An errno name is
    /// numbered as the policy's first architecture numbers it (the caller's own numbering is
    /// not known; a policy's architectures normally share one).
    pub fn bad_arch_action(&self) -> Action {
        match self.arches.first() {
            Some(&a) => self.attrs.bad_arch.for_arch(a),
            None => self.attrs.bad_arch.for_arch(Arch::native()),
        }
    }

    /// The errors [`Policy::diagnostics`] reports, without the warnings: no architectures,
    /// or (in strict mode) a name an architecture lacks. What compiling needs when nobody
    /// reads the warnings.
    pub fn check(&self) -> Result<(), PolicyError> {
        if self.arches.is_empty() {
            return Err(PolicyError::NoArches);
        }
        if self.attrs.unknown_names != UnknownNames::Strict {
            return Ok(());
        }
        for &arch in &self.arches {
            for rule in self.rules.iter().filter(|r| r.applies_on(arch)) {
                let Syscall::Name(name) = &rule.syscall else {
                    continue;
                };
                if arch.syscall_number(name).is_none() && arch.multiplexed(name).is_none() {
                    return Err(PolicyError::UnknownOnArch {
                        name: name.clone(),
                        arch,
                        origin: rule.origin.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Everything worth reporting about the policy on its architectures: names skipped,
    /// conditional multiplexed rules, overlapping rules with different actions. Errors in
    /// strict mode.
    pub fn diagnostics(&self) -> Result<Vec<Diagnostic>, PolicyError> {
        self.check()?;
        let mut out = BTreeSet::new();
        let mut overlaps: std::collections::BTreeMap<String, overlap::Summary> = Default::default();
        let mut budget = overlap::PAIR_CHECKS;
        // Names some architecture lacks, and conditional rules on multiplexed calls: one note
        // per name (and architecture), however many rules name it.
        #[derive(Default)]
        struct Uses {
            first: usize,
            rules: usize,
            first_conditional: Option<usize>,
            conditional: usize,
            /// The policy's architectures some rule on the name applies on, and those some
            /// conditional one does.
            on: BTreeSet<Arch>,
            conditional_on: BTreeSet<Arch>,
        }
        let mut named: std::collections::BTreeMap<&str, Uses> = Default::default();
        for (i, rule) in self.rules.iter().enumerate() {
            let Syscall::Name(name) = &rule.syscall else {
                continue;
            };
            let uses = named.entry(name).or_insert(Uses {
                first: i,
                ..Default::default()
            });
            uses.rules += 1;
            let on = self.arches.iter().copied().filter(|a| rule.applies_on(*a));
            if !rule.conds.is_empty() {
                uses.first_conditional.get_or_insert(i);
                uses.conditional += 1;
                uses.conditional_on.extend(on.clone());
            }
            uses.on.extend(on);
        }
        for (name, uses) in &named {
            let lacking: Vec<Arch> = self
                .arches
                .iter()
                .copied()
                .filter(|a| uses.on.contains(a))
                .filter(|a| a.syscall_number(name).is_none() && a.multiplexed(name).is_none())
                .collect();
            if !lacking.is_empty() {
                out.insert(Diagnostic::UnknownOnArch {
                    rule: uses.first,
                    rules: uses.rules,
                    arches: lacking,
                });
            }
            if let Some(first) = uses.first_conditional {
                for &arch in &uses.conditional_on {
                    if let Some(via) = arch.multiplexed(name) {
                        out.insert(Diagnostic::ConditionalMultiplexed {
                            rule: first,
                            rules: uses.conditional,
                            arch,
                            via,
                        });
                    }
                }
            }
        }
        for &arch in &self.arches {
            // Overlaps, per syscall number, summarised per syscall.
            let mut by_nr: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
            for (i, rule) in self.rules.iter().enumerate() {
                if let Some(nr) = self.rule_targets(rule, arch) {
                    by_nr.entry(nr).or_default().push(i);
                }
            }
            for (nr, group) in by_nr {
                if group.len() < 2 {
                    continue;
                }
                let summary =
                    overlap::summarise(&self.rules, &group, arch.args_are_64bit(), &mut budget);
                if let Some(summary) = summary {
                    let syscall = arch
                        .syscall_name(nr)
                        .map_or_else(|| nr.to_string(), str::to_string);
                    // The same rules usually overlap alike on every architecture: keep the
                    // summary with the most pairs.
                    let kept = overlaps.entry(syscall).or_insert_with(|| summary.clone());
                    if summary.pairs > kept.pairs {
                        *kept = summary;
                    }
                }
            }
        }
        out.extend(
            overlaps
                .into_iter()
                .map(|(syscall, s)| Diagnostic::Overlap {
                    syscall,
                    rules: s.rules,
                    pairs: s.pairs,
                    complete: s.complete,
                    examples: s.examples,
                }),
        );
        Ok(out.into_iter().collect())
    }
}

fn check_action(action: Action, origin: &Option<String>) -> Result<(), PolicyError> {
    match action {
        Action::Errno(e) if e > MAX_ERRNO => Err(PolicyError::ErrnoRange {
            errno: e,
            origin: origin.clone(),
        }),
        _ => Ok(()),
    }
}

/// The arguments as the filter sees them on `arch`: on 32-bit ABIs only the low word.
pub fn effective_args(arch: Arch, args: &[u64; 6]) -> [u64; 6] {
    if arch.args_are_64bit() {
        *args
    } else {
        args.map(|a| a & 0xffff_ffff)
    }
}

/// Whether `nr` is above the newest syscall of `arch`'s table and not in it.
pub fn is_unknown_number(arch: Arch, nr: u32) -> bool {
    nr > arch.newest_syscall().1 && arch.syscall_name(nr).is_none()
}

/// Whether some argument values satisfy every condition (per argument, conditions on
/// different arguments are independent). Exact for comparisons; for masked comparisons it
/// tries the values a mask can produce from the other conditions' constants, which may report
/// an overlap that needs a value it did not try as absent.
pub fn conds_satisfiable(conds: &[ArgCond], args_64bit: bool) -> bool {
    conds_witness(conds, args_64bit).is_some()
}

/// Argument values that satisfy every condition, if [`conds_satisfiable`] finds some (0 for
/// arguments without conditions): a call that matches a rule, for asking the reference
/// evaluator what it decides.
///
/// ```
/// use sysgate::policy::{conds_witness, ArgCond, CmpOp};
///
/// let conds = [ArgCond::new(1, CmpOp::Gt, 7)?, ArgCond::new(1, CmpOp::Lt, 10)?];
/// let args = conds_witness(&conds, true).unwrap();
/// assert!(args[1] > 7 && args[1] < 10 && args[0] == 0);
/// assert!(conds_witness(&[ArgCond::new(0, CmpOp::Eq, 1 << 32)?], false).is_none());
/// # Ok::<(), sysgate::policy::CondError>(())
/// ```
pub fn conds_witness(conds: &[ArgCond], args_64bit: bool) -> Option<[u64; 6]> {
    let limit = if args_64bit {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    let mut args = [0u64; 6];
    for (arg, slot) in args.iter_mut().enumerate() {
        let on_arg: Vec<&ArgCond> = conds.iter().filter(|c| c.arg() == arg).collect();
        if on_arg.is_empty() {
            continue;
        }
        let mut candidates = vec![0, limit];
        for c in &on_arg {
            let v = c.value();
            candidates.extend([v, v.wrapping_add(1), v.wrapping_sub(1)]);
        }
        let bases = candidates.clone();
        for c in &on_arg {
            if let CmpOp::MaskedEq(m) = c.op() {
                for b in &bases {
                    candidates.push(c.value() | (b & !m));
                }
            }
        }
        *slot = candidates
            .into_iter()
            .filter(|x| *x <= limit)
            .find(|x| on_arg.iter().all(|c| c.holds(*x)))?;
    }
    Some(args)
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arches: Vec<&str> = self.arches.iter().map(|a| a.name()).collect();
        writeln!(f, "default {} on {}", self.default, arches.join(", "))?;
        for (i, r) in self.rules.iter().enumerate() {
            writeln!(f, "#{i} {r}")?;
        }
        Ok(())
    }
}

/// All `(name, call)` pairs the multiplexers dispatch.
pub fn multiplexed_names() -> impl Iterator<Item = &'static str> {
    SOCKETCALL_CALLS.iter().chain(IPC_CALLS).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests;
