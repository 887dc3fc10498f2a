//! Rules: an action for one syscall when all of its argument conditions hold.

use std::fmt;

use super::{Action, ArgCond};
use crate::arch::Arch;

/// The syscall a rule is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Syscall {
    /// By name, resolved on each architecture of the policy.
    Name(String),
    /// By kernel number, used as-is on every architecture of the policy (x32 numbers include
    /// the x32 bit, mips numbers their ABI offset).
    Number(u32),
}

impl Syscall {
    /// The name, for a syscall given by name.
    pub fn name(&self) -> Option<&str> {
        match self {
            Syscall::Name(n) => Some(n),
            Syscall::Number(_) => None,
        }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Syscall::Name(n) => f.write_str(n),
            Syscall::Number(n) => write!(f, "#{n}"),
        }
    }
}

impl From<&str> for Syscall {
    fn from(s: &str) -> Syscall {
        Syscall::Name(s.to_string())
    }
}

impl From<String> for Syscall {
    fn from(s: String) -> Syscall {
        Syscall::Name(s)
    }
}

impl From<u32> for Syscall {
    fn from(n: u32) -> Syscall {
        Syscall::Number(n)
    }
}

/// The most conditions one rule may carry (libseccomp's and the kernel ABI's six arguments).
pub const MAX_CONDS: usize = 6;

/// `action` for `syscall` when every condition holds (the conditions are ANDed; an argument
/// may appear in several of them).
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Rule};
///
/// let rule = Rule::new(Action::Allow, "socket")
///     .with_cond(ArgCond::new(0, CmpOp::Eq, 1)?)
///     .with_origin("profile.json:12:9");
/// assert_eq!(rule.to_string(), "ALLOW socket if a0 == 0x1 (profile.json:12:9)");
/// # Ok::<(), sysgate::policy::CondError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// What happens when the rule matches.
    pub action: Action,
    /// Which syscall.
    pub syscall: Syscall,
    /// Conditions, all of which must hold.
    pub conds: Vec<ArgCond>,
    /// Where the rule came from (`file:line:column`, a flag), for diagnostics.
    pub origin: Option<String>,
    /// The ABIs the rule applies to, sorted: `None` (the usual case) for every architecture
    /// of the policy, `Some` for only those of the list that the policy has. On the others
    /// the rule does not exist (a C filter whose architectures were given different rules,
    /// or whose rule trees decide overlapping rules differently, `crates/sysgate-libseccomp`).
    pub only_on: Option<Vec<Arch>>,
}

impl Rule {
    /// An unconditional rule.
    pub fn new(action: Action, syscall: impl Into<Syscall>) -> Rule {
        Rule {
            action,
            syscall: syscall.into(),
            conds: Vec::new(),
            origin: None,
            only_on: None,
        }
    }

    /// Make the rule apply on `arches` only (see [`Rule::only_on`](Rule#structfield.only_on)).
    ///
    /// ```
    /// use sysgate::policy::{Action, Rule};
    /// use sysgate::Arch;
    ///
    /// let rule = Rule::new(Action::Allow, "read").applying_on([Arch::X86, Arch::X86]);
    /// assert!(rule.applies_on(Arch::X86) && !rule.applies_on(Arch::X86_64));
    /// assert_eq!(rule.to_string(), "ALLOW read only on x86");
    /// ```
    pub fn applying_on(mut self, arches: impl IntoIterator<Item = Arch>) -> Rule {
        let mut arches: Vec<Arch> = arches.into_iter().collect();
        arches.sort();
        arches.dedup();
        self.only_on = Some(arches);
        self
    }

    /// Whether the rule applies to calls from `arch` (it may still name a syscall `arch`
    /// lacks).
    pub fn applies_on(&self, arch: Arch) -> bool {
        self.only_on.as_ref().is_none_or(|a| a.contains(&arch))
    }

    /// Add a condition.
    pub fn with_cond(mut self, cond: ArgCond) -> Rule {
        self.conds.push(cond);
        self
    }

    /// Add several conditions.
    pub fn with_conds(mut self, conds: impl IntoIterator<Item = ArgCond>) -> Rule {
        self.conds.extend(conds);
        self
    }

    /// Record where the rule came from.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Rule {
        self.origin = Some(origin.into());
        self
    }

    /// Whether the rule matches arguments `args` (already truncated for 32-bit arches).
    pub fn conds_hold(&self, args: &[u64; 6]) -> bool {
        self.conds.iter().all(|c| c.holds(args[c.arg()]))
    }
}

impl Rule {
    /// The rule as `arch` reads it: its errno named (and, for a name, numbered) in `arch`'s
    /// numbering, `ERRNO(89 ENOSYS)` on mips.
    ///
    /// ```
    /// use sysgate::policy::{Action, Errno, Rule};
    /// use sysgate::Arch;
    ///
    /// let r = Rule::new(Action::NamedErrno(Errno::ENOSYS), "clone3");
    /// assert_eq!(r.on(Arch::Mips).to_string(), "ERRNO(89 ENOSYS) clone3");
    /// assert_eq!(r.to_string(), "ERRNO(ENOSYS) clone3");
    /// ```
    pub fn on(&self, arch: Arch) -> RuleOn<'_> {
        RuleOn { rule: self, arch }
    }
}

/// A rule as one architecture reads it ([`Rule::on`]).
#[derive(Copy, Clone, Debug)]
pub struct RuleOn<'r> {
    rule: &'r Rule,
    arch: Arch,
}

impl fmt::Display for RuleOn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_rule(f, self.rule, &self.rule.action.on(self.arch))
    }
}

fn write_rule(f: &mut fmt::Formatter<'_>, rule: &Rule, action: &dyn fmt::Display) -> fmt::Result {
    write!(f, "{action} {}", rule.syscall)?;
    for (i, c) in rule.conds.iter().enumerate() {
        f.write_str(if i == 0 { " if " } else { " && " })?;
        write!(f, "{c}")?;
    }
    if let Some(arches) = &rule.only_on {
        let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
        if names.is_empty() {
            f.write_str(" on no architecture")?;
        } else {
            write!(f, " only on {}", names.join(", "))?;
        }
    }
    if let Some(o) = &rule.origin {
        write!(f, " ({o})")?;
    }
    Ok(())
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_rule(f, self, &self.action)
    }
}
