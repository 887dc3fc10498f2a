//! Fitting a policy to what a kernel supports, never permitting more than it says.
//!
//! A policy may use actions or flags the target kernel lacks (KILL_PROCESS before 4.14,
//! USER_NOTIF before 5.0, ...). [`adapt`] returns a policy the kernel accepts and a
//! [`Status`] that says exactly what changed. Under [`CompatLevel::HardRequirement`]
//! nothing may change: anything missing is an error. Under [`CompatLevel::BestEffort`]
//! a missing feature is replaced only by something that permits no more:
//!
//! | written        | kernel lacks it, becomes | why this is safe                               |
//! |----------------|--------------------------|------------------------------------------------|
//! | KILL_PROCESS   | KILL_THREAD              | the call still never runs; only the calling thread dies |
//! | LOG            | ALLOW                    | LOG allows too; only the log entry is lost     |
//! | USER_NOTIF     | ERRNO(ENOSYS)            | what the kernel itself returns when no supervisor listens; never ALLOW |
//! | TRACE          | ERRNO(ENOSYS)            | what the kernel returns when no tracer is attached |
//! | TRAP, ERRNO    | KILL_THREAD              | (only kernels without filter mode lack them)   |
//! | flag LOG, SPEC_ALLOW, TSYNC_ESRCH, WAIT_KILLABLE_RECV | dropped, with a note | they change logging, mitigation or error reporting, not what is allowed |
//! | flag TSYNC, NEW_LISTENER | error          | the other threads, or the supervisor, cannot be emulated |
//!
//! TRACE on a kernel that has it stays TRACE even with no tracer attached: the kernel
//! then fails the call with ENOSYS by itself.
//!
//! This file decides; it does not probe ([`super::probe`]) or install ([`super::install`]).

use std::fmt;

use super::probe::{ActionKind, Features};
use crate::bpf::FilterFlag;
use crate::policy::{Action, Errno, Policy, PolicyError};

/// How strictly a policy must be enforced as written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum CompatLevel {
    /// Replace what the kernel lacks by something that permits no more, and report it.
    #[default]
    BestEffort,
    /// Anything the kernel lacks is an error.
    HardRequirement,
}

impl fmt::Display for CompatLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompatLevel::BestEffort => "best effort",
            CompatLevel::HardRequirement => "hard requirement",
        })
    }
}

/// Where in a policy an action sits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Site {
    /// The default action.
    Default,
    /// The bad-architecture action.
    BadArch,
    /// A rule, by index into [`Policy::rules`] (kept by [`adapt`]).
    Rule(usize),
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Site::Default => f.write_str("default action"),
            Site::BadArch => f.write_str("bad-arch action"),
            Site::Rule(i) => write!(f, "rule #{i}"),
        }
    }
}

/// One action replaced.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Substitution {
    /// Where.
    pub site: Site,
    /// As written.
    pub from: Action,
    /// As enforced.
    pub to: Action,
}

/// One flag dropped, and what that costs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct DroppedFlag {
    /// The flag.
    pub flag: FilterFlag,
    /// What is lost.
    pub consequence: &'static str,
}

/// What [`adapt`] enforced: the policy as written, except for these substitutions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The level asked for.
    pub level: CompatLevel,
    /// Actions replaced, in policy order (default, bad-arch, rules).
    pub substitutions: Vec<Substitution>,
    /// Flags dropped.
    pub dropped_flags: Vec<DroppedFlag>,
}

impl Status {
    /// Whether the policy is enforced exactly as written.
    pub fn is_exact(&self) -> bool {
        self.substitutions.is_empty() && self.dropped_flags.is_empty()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            return writeln!(f, "enforced exactly as written");
        }
        writeln!(
            f,
            "enforced with {} substitution(s) and {} dropped flag(s) ({}):",
            self.substitutions.len(),
            self.dropped_flags.len(),
            self.level
        )?;
        for s in &self.substitutions {
            writeln!(f, "  {}: {} -> {}", s.site, s.from, s.to)?;
        }
        for d in &self.dropped_flags {
            writeln!(f, "  flag {} dropped: {}", d.flag, d.consequence)?;
        }
        Ok(())
    }
}

/// Why a policy cannot be fitted to the kernel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompatError {
    /// The kernel has no seccomp filter mode (before 3.5, or `CONFIG_SECCOMP_FILTER` off).
    #[error("the kernel has no seccomp filter mode")]
    NoFilterMode,
    /// An action the kernel lacks, under a hard requirement or with no safe substitute.
    #[error("the kernel does not support {action} ({site}){}", requirement(*.level))]
    Action {
        /// The action as written.
        action: Action,
        /// Where.
        site: Site,
        /// The level.
        level: CompatLevel,
    },
    /// A flag the kernel lacks, under a hard requirement or impossible to do without.
    #[error("the kernel does not know flag {flag}: {reason}")]
    Flag {
        /// The flag.
        flag: FilterFlag,
        /// Why it cannot be dropped.
        reason: &'static str,
    },
    /// Rebuilding the policy failed (cannot happen for a valid policy).
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn requirement(level: CompatLevel) -> &'static str {
    match level {
        CompatLevel::HardRequirement => " and the policy is a hard requirement",
        CompatLevel::BestEffort => " and nothing that permits no more is available",
    }
}

/// What replaces a missing action, permitting no more. `None`: no safe substitute.
fn substitute(action: Action) -> Option<Action> {
    match action {
        Action::KillProcess => Some(Action::KillThread),
        Action::Log => Some(Action::Allow),
        Action::UserNotif | Action::Trace(_) => Some(Action::NamedErrno(Errno::ENOSYS)),
        Action::Trap(_) | Action::Errno(_) | Action::NamedErrno(_) => Some(Action::KillThread),
        Action::KillThread | Action::Allow => None,
    }
}

/// The action to enforce for `action`, or an error.
fn fit(
    action: Action,
    site: Site,
    features: &Features,
    level: CompatLevel,
) -> Result<Action, CompatError> {
    let mut current = action;
    while !features.has_action(ActionKind::of(current)) {
        let err = CompatError::Action {
            action,
            site,
            level,
        };
        if level == CompatLevel::HardRequirement {
            return Err(err);
        }
        current = substitute(current).ok_or(err)?;
    }
    Ok(current)
}

/// What dropping a flag costs, or why it cannot be dropped.
fn drop_flag(flag: FilterFlag, tsync_and_listener: bool) -> Result<&'static str, &'static str> {
    match flag {
        FilterFlag::Log => Ok("actions other than ALLOW are not logged"),
        FilterFlag::SpecAllow => {
            Ok("the kernel forces the speculative-store-bypass mitigation on filtered threads")
        }
        FilterFlag::TsyncEsrch if tsync_and_listener => {
            Err("TSYNC with NEW_LISTENER needs it, and neither can be dropped")
        }
        FilterFlag::TsyncEsrch => Ok("a TSYNC failure names the thread instead of returning ESRCH"),
        FilterFlag::WaitKillableRecv => Ok(
            "notified tasks wait interruptibly: a signal interrupts and restarts the notified call",
        ),
        FilterFlag::Tsync => Err("the filter cannot be applied to the other threads without it"),
        FilterFlag::NewListener => Err("no supervisor could receive USER_NOTIF without it"),
    }
}

/// Fit `policy` to `features` at `level`: the policy to compile and install, and what it
/// enforces.
///
/// Rules keep their indices. Under a hard requirement, the result is the policy unchanged
/// or an error.
///
/// ```
/// use sysgate::kernel::{adapt, CompatLevel, Features, KernelVersion, Site};
/// use sysgate::policy::{Action, Errno, Policy, Rule};
///
/// let mut policy = Policy::new(Action::KillProcess);
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// policy.add_rule(Rule::new(Action::UserNotif, "openat"))?;
///
/// // A 4.9 kernel has neither KILL_PROCESS nor USER_NOTIF.
/// let old = Features::for_kernel(KernelVersion::new(4, 9, 0));
/// let (fitted, status) = adapt(&policy, &old, CompatLevel::BestEffort)?;
/// assert_eq!(fitted.default_action(), Action::KillThread);
/// assert_eq!(fitted.rules()[1].action, Action::NamedErrno(Errno::ENOSYS)); // 38, 89 on mips
/// assert_eq!(status.substitutions.len(), 3); // default, bad-arch, rule #1
/// assert!(status.substitutions.iter().any(|s| s.site == Site::Rule(1)));
///
/// assert!(adapt(&policy, &old, CompatLevel::HardRequirement).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn adapt(
    policy: &Policy,
    features: &Features,
    level: CompatLevel,
) -> Result<(Policy, Status), CompatError> {
    let mut fitted = policy.clone();
    let status = adapt_in_place(&mut fitted, features, level)?;
    Ok((fitted, status))
}

/// [`adapt`] without a copy: on success `policy` is the fitted policy; on error it is left
/// unchanged.
///
/// ```
/// use sysgate::kernel::{adapt_in_place, CompatLevel, Features, KernelVersion};
/// use sysgate::policy::{Action, Policy};
///
/// let mut policy = Policy::new(Action::KillProcess);
/// let old = Features::for_kernel(KernelVersion::new(4, 9, 0));
/// assert!(adapt_in_place(&mut policy, &old, CompatLevel::HardRequirement).is_err());
/// assert_eq!(policy.default_action(), Action::KillProcess);
/// let status = adapt_in_place(&mut policy, &old, CompatLevel::BestEffort)?;
/// assert_eq!(policy.default_action(), Action::KillThread);
/// assert!(!status.is_exact());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn adapt_in_place(
    policy: &mut Policy,
    features: &Features,
    level: CompatLevel,
) -> Result<Status, CompatError> {
    if !features.filter_mode {
        return Err(CompatError::NoFilterMode);
    }
    let mut substitutions = Vec::new();
    let mut fit_at = |action: Action, site: Site| -> Result<Action, CompatError> {
        let to = fit(action, site, features, level)?;
        if to != action {
            substitutions.push(Substitution {
                site,
                from: action,
                to,
            });
        }
        Ok(to)
    };

    // Everything is decided first and applied only when nothing failed.
    let default = fit_at(policy.default_action(), Site::Default)?;
    let bad_arch = fit_at(policy.attrs.bad_arch, Site::BadArch)?;
    let mut rule_actions = Vec::new();
    for (i, r) in policy.rules().iter().enumerate() {
        let to = fit_at(r.action, Site::Rule(i))?;
        if to != r.action {
            rule_actions.push((i, to));
        }
    }

    let mut flags = policy.attrs.flags;
    let requested = policy.attrs.flags;
    let tsync_and_listener = requested.tsync && requested.new_listener;
    let mut dropped_flags = Vec::new();
    for flag in requested.iter() {
        if features.has_flag(flag) {
            continue;
        }
        match drop_flag(flag, tsync_and_listener) {
            Ok(consequence) if level == CompatLevel::BestEffort => {
                flags.set(flag, false);
                dropped_flags.push(DroppedFlag { flag, consequence });
            }
            Ok(_) => {
                return Err(CompatError::Flag {
                    flag,
                    reason: "the policy is a hard requirement",
                })
            }
            Err(reason) => return Err(CompatError::Flag { flag, reason }),
        }
    }

    // The same architectures, attributes and rules in order, with the fitted actions.
    policy.set_default_action(default)?;
    policy.attrs.bad_arch = bad_arch;
    policy.attrs.flags = flags;
    for (i, action) in rule_actions {
        policy.set_rule_action(i, action)?;
    }
    Ok(Status {
        level,
        substitutions,
        dropped_flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelVersion;
    use crate::policy::{ArgCond, CmpOp, Rule};
    use crate::Arch;

    fn kernel(major: u32, minor: u32) -> Features {
        Features::for_kernel(KernelVersion::new(major, minor, 0))
    }

    fn every_action_policy() -> Policy {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64, Arch::X86]).unwrap();
        for (action, name) in [
            (Action::KillProcess, "ptrace"),
            (Action::KillThread, "reboot"),
            (Action::Trap(3), "kexec_load"),
            (Action::Errno(13), "mount"),
            (Action::UserNotif, "openat"),
            (Action::Trace(7), "execve"),
            (Action::Log, "connect"),
            (Action::Allow, "read"),
        ] {
            p.add_rule(Rule::new(action, name)).unwrap();
        }
        p.add_rule(
            Rule::new(Action::Log, "socket").with_cond(ArgCond::new(0, CmpOp::Eq, 2).unwrap()),
        )
        .unwrap();
        p
    }

    #[test]
    fn a_new_kernel_changes_nothing() {
        let p = every_action_policy();
        for level in [CompatLevel::BestEffort, CompatLevel::HardRequirement] {
            let (fitted, status) = adapt(&p, &kernel(6, 1), level).unwrap();
            assert_eq!(fitted, p);
            assert!(status.is_exact());
            assert_eq!(status.to_string(), "enforced exactly as written\n");
        }
    }

    #[test]
    fn in_place_fits_like_the_copy_and_leaves_a_refused_policy_alone() {
        let p = every_action_policy();
        for features in [kernel(3, 17), kernel(4, 9), kernel(5, 4), kernel(6, 1)] {
            let (copy, copy_status) = adapt(&p, &features, CompatLevel::BestEffort).unwrap();
            let mut in_place = p.clone();
            let status = adapt_in_place(&mut in_place, &features, CompatLevel::BestEffort).unwrap();
            assert_eq!(in_place, copy);
            assert_eq!(status.to_string(), copy_status.to_string());
        }
        // A hard requirement on 4.9 fails (no KILL_PROCESS, no USER_NOTIF): whatever was
        // fitted before the failure must not stick.
        let mut refused = p.clone();
        adapt_in_place(&mut refused, &kernel(4, 9), CompatLevel::HardRequirement).unwrap_err();
        assert_eq!(refused, p);
    }

    #[test]
    fn substitutes_never_permit_more() {
        let p = every_action_policy();
        for (major, minor) in [(3, 5), (3, 17), (4, 9), (4, 14), (4, 19), (5, 4)] {
            let features = kernel(major, minor);
            let (fitted, status) = adapt(&p, &features, CompatLevel::BestEffort).unwrap();
            assert_eq!(fitted.rules().len(), p.rules().len());
            assert_eq!(fitted.arches(), p.arches());
            for (before, after) in p.rules().iter().zip(fitted.rules()) {
                assert_eq!(before.syscall, after.syscall);
                assert_eq!(before.conds, after.conds);
                assert!(features.has_action(ActionKind::of(after.action)));
                // A denying action stays denying; only LOG may become ALLOW.
                if !before.action.permits() {
                    assert!(
                        !after.action.permits(),
                        "{} -> {}",
                        before.action,
                        after.action
                    );
                }
                if after.action != before.action {
                    assert!(status
                        .substitutions
                        .iter()
                        .any(|s| s.from == before.action && s.to == after.action));
                }
            }
        }
    }

    #[test]
    fn the_documented_substitutions() {
        let p = every_action_policy();
        let (fitted, status) = adapt(&p, &kernel(4, 9), CompatLevel::BestEffort).unwrap();
        let actions: Vec<Action> = fitted.rules().iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            [
                Action::KillThread,
                Action::KillThread,
                Action::Trap(3),
                Action::Errno(13),
                Action::NamedErrno(Errno::ENOSYS),
                Action::Trace(7),
                Action::Allow,
                Action::Allow,
                Action::Allow,
            ]
        );
        assert_eq!(fitted.attrs.bad_arch, Action::KillThread);
        assert_eq!(
            status.substitutions[0],
            Substitution {
                site: Site::BadArch,
                from: Action::KillProcess,
                to: Action::KillThread
            }
        );
        let report = status.to_string();
        assert!(
            report.contains("rule #4: USER_NOTIF -> ERRNO(ENOSYS)"),
            "{report}"
        );
        assert!(report.contains("rule #6: LOG -> ALLOW"), "{report}");
    }

    #[test]
    fn hard_requirement_names_the_first_missing_action() {
        let p = every_action_policy();
        assert_eq!(
            adapt(&p, &kernel(4, 19), CompatLevel::HardRequirement),
            Err(CompatError::Action {
                action: Action::UserNotif,
                site: Site::Rule(4),
                level: CompatLevel::HardRequirement
            })
        );
    }

    #[test]
    fn flags_are_dropped_only_when_harmless() {
        let mut p = Policy::new(Action::Allow);
        // KILL_PROCESS (the default bad-arch action) is missing on 4.9 too; keep this
        // test about flags.
        p.attrs.bad_arch = Action::KillThread;
        p.attrs.flags.log = true;
        p.attrs.flags.spec_allow = true;
        let (fitted, status) = adapt(&p, &kernel(4, 9), CompatLevel::BestEffort).unwrap();
        assert!(!fitted.attrs.flags.log && !fitted.attrs.flags.spec_allow);
        let dropped: Vec<FilterFlag> = status.dropped_flags.iter().map(|d| d.flag).collect();
        assert_eq!(dropped, [FilterFlag::Log, FilterFlag::SpecAllow]);
        assert!(matches!(
            adapt(&p, &kernel(4, 9), CompatLevel::HardRequirement),
            Err(CompatError::Flag {
                flag: FilterFlag::Log,
                ..
            })
        ));

        let mut p = Policy::new(Action::Allow);
        p.attrs.bad_arch = Action::KillThread;
        p.attrs.flags.tsync = true;
        assert!(matches!(
            adapt(&p, &kernel(3, 10), CompatLevel::BestEffort),
            Err(CompatError::Flag {
                flag: FilterFlag::Tsync,
                ..
            })
        ));
        assert!(adapt(&p, &kernel(3, 17), CompatLevel::HardRequirement).is_ok());

        let mut p = Policy::new(Action::Allow);
        p.attrs.flags.new_listener = true;
        assert!(matches!(
            adapt(&p, &kernel(4, 19), CompatLevel::BestEffort),
            Err(CompatError::Flag {
                flag: FilterFlag::NewListener,
                ..
            })
        ));

        // TSYNC_ESRCH is only an error-reporting choice, unless TSYNC+NEW_LISTENER need it.
        let mut p = Policy::new(Action::Allow);
        p.attrs.flags.tsync = true;
        p.attrs.flags.tsync_esrch = true;
        let (fitted, _) = adapt(&p, &kernel(5, 4), CompatLevel::BestEffort).unwrap();
        assert!(fitted.attrs.flags.tsync && !fitted.attrs.flags.tsync_esrch);
        p.attrs.flags.new_listener = true;
        assert!(matches!(
            adapt(&p, &kernel(5, 4), CompatLevel::BestEffort),
            Err(CompatError::Flag {
                flag: FilterFlag::TsyncEsrch,
                ..
            })
        ));
    }

    #[test]
    fn no_filter_mode_is_an_error_at_any_level() {
        let p = Policy::new(Action::Allow);
        assert_eq!(
            adapt(&p, &kernel(3, 4), CompatLevel::BestEffort),
            Err(CompatError::NoFilterMode)
        );
    }
}
