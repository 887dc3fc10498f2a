//! A seccomp agent's decisions for one container, and the profile that routes a
//! container's calls to it.
//!
//! ```text
//! agent_policy(arches, profile, runtime) ──> OCI linux.seccomp with listenerPath (oci prepare)
//!                                        │ runtime sends the listener (kernel::receive_handoff)
//! Notification ──Session::decide──> Response (CONTINUE or errno) + Refusal (complain/enforce)
//!                     └──> Observations ──container_profile──> Policy (+ runtime base set)
//! ```
//!
//! This file owns what each [`AgentMode`] answers and what a learned container profile
//! contains. It reads no socket and no `/proc` file (the caller passes the executable), and
//! writes no file.
//!
//! # What runc refuses, and what it costs
//!
//! runc refuses `SCMP_ACT_NOTIFY` as the default action and on `write`: its init process
//! writes the listener's number to its parent after the filter is in place, and would wait
//! for itself. So [`agent_policy`] names every syscall of its architectures, notifies all of
//! them except [`NEVER_NOTIFIED`], and gives the rest (numbers no table knows) ENOSYS.
//! `write` is never seen by the agent: a learned profile always allows it. `exit` and
//! `exit_group` are not notified either, so that a container whose agent has died can
//! still end (every notified call then fails with ENOSYS): learned profiles allow them too.
//! Nor is the runtime's own base set ([`Runtime::base_syscalls`]), which the runtime calls
//! before the agent has the listener (see [`agent_policy`]).
//!
//! # Enforce mode is not a security boundary on its own (TOCTOU)
//!
//! The agent decides from the call's number and argument *values*, as a filter does, never
//! from memory the arguments point to: the target (or another thread sharing its memory)
//! can change that memory between the agent's decision and the kernel's reading of it.
//! CONTINUE makes the kernel run the call as issued. Conditions on argument values are safe
//! to decide here; a policy that needs to look at a path is not. A refusal other than an
//! errno (KILL_PROCESS, KILL_THREAD, TRAP) cannot be delivered by an agent: it answers
//! EPERM instead and says so in the [`Refusal`].

use std::collections::BTreeSet;

use super::observe::{abi_of, Observations};
use super::runtime::{also_allowing, with_runtime, Runtime};
use super::synth::{synthesize, Learned, SynthOptions};
use crate::arch::Arch;
use crate::kernel::{Notification, Response};
use crate::policy::{Action, DecidedBy, Errno, Policy, PolicyError, Rule};

/// The syscalls a container's calls never reach the agent for: `write` (runc refuses to
/// notify it), `exit` and `exit_group` (so a container can end without its agent).
pub const NEVER_NOTIFIED: &[&str] = &["exit", "exit_group", "write"];

/// What the agent does with a container's calls.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AgentMode {
    /// Record every call and let it run; write the profile when the container exits.
    Learn,
    /// Decide every call with a profile, report those it would refuse, and let all run.
    Complain,
    /// Decide every call with a profile: run it or fail it with the profile's errno.
    Enforce,
}

impl AgentMode {
    /// The mode's name (`learn`, `complain`, `enforce`).
    pub fn name(self) -> &'static str {
        match self {
            AgentMode::Learn => "learn",
            AgentMode::Complain => "complain",
            AgentMode::Enforce => "enforce",
        }
    }

    /// The mode a name spells.
    ///
    /// ```
    /// use sysgate::learn::AgentMode;
    /// assert_eq!(AgentMode::parse("complain"), Some(AgentMode::Complain));
    /// assert_eq!(AgentMode::parse("audit"), None);
    /// ```
    pub fn parse(name: &str) -> Option<AgentMode> {
        super::by_name(
            [AgentMode::Learn, AgentMode::Complain, AgentMode::Enforce],
            AgentMode::name,
            name,
        )
    }
}

/// A call the profile refuses (complain and enforce modes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The caller's audit arch token.
    pub audit_arch: u32,
    /// The ABI (`None`: the profile does not list the caller's architecture).
    pub arch: Option<Arch>,
    /// The number.
    pub nr: u32,
    /// Its name on that ABI, if sysgate's tables know it.
    pub name: Option<&'static str>,
    /// The six argument values.
    pub args: [u64; 6],
    /// What the profile says.
    pub action: Action,
    /// Which rule decided (or the default action, or the bad-arch action).
    pub by: DecidedBy,
    /// The rule as text, when a rule decided.
    pub rule: Option<String>,
    /// What the agent answered.
    pub response: Response,
}

impl Refusal {
    /// "uname on x86_64", or the number when the name is unknown.
    pub fn call(&self) -> String {
        let name = self
            .name
            .map_or_else(|| format!("syscall {}", self.nr), str::to_string);
        match self.arch {
            Some(a) => format!("{name} on {a}"),
            None => format!("{name} on arch {:#x}", self.audit_arch),
        }
    }

    /// What decided, in words: "rule #3 [...]", "the default action", "the bad-arch action".
    pub fn decided_by(&self) -> String {
        match (self.by, &self.rule) {
            (DecidedBy::Rule(i), Some(r)) => format!("rule #{i} [{r}]"),
            (DecidedBy::Rule(i), None) => format!("rule #{i}"),
            (DecidedBy::Default, _) => "the default action".into(),
            (DecidedBy::BadArch, _) => "the bad-arch action".into(),
            (DecidedBy::UnknownSyscall, _) => "ENOSYS for an unknown syscall".into(),
            (DecidedBy::SkippedCall, _) => "the skipped-call rule".into(),
        }
    }
}

/// Why a session cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// Complain and enforce modes decide with a profile.
    #[error("{} mode needs a profile to decide with (--profile, or profile= in the \
             container's listenerMetadata)", .0.name())]
    NoProfile(AgentMode),
}

/// One container's session: its mode, profile and what it called.
#[derive(Clone, Debug)]
pub struct Session {
    mode: AgentMode,
    profile: Option<Policy>,
    observations: Observations,
    calls: u64,
}

impl Session {
    /// A session in `mode`, deciding with `profile` (required for complain and enforce; in
    /// learn mode it is not consulted, only kept: see [`Session::profile`]).
    pub fn new(mode: AgentMode, profile: Option<Policy>) -> Result<Session, AgentError> {
        if mode != AgentMode::Learn && profile.is_none() {
            return Err(AgentError::NoProfile(mode));
        }
        Ok(Session {
            mode,
            profile,
            observations: Observations::default(),
            calls: 0,
        })
    }

    /// The session's mode.
    pub fn mode(&self) -> AgentMode {
        self.mode
    }

    /// Decide one notified call made by `exe`: what to answer, and the refusal to report
    /// if the profile refuses it. Every call is recorded, whatever the mode.
    ///
    /// ```
    /// use sysgate::bpf::SeccompData;
    /// use sysgate::kernel::{Notification, Response};
    /// use sysgate::learn::{AgentMode, Session};
    /// use sysgate::policy::{Action, Policy, Rule};
    ///
    /// let mut profile = Policy::new(Action::Errno(1));
    /// profile.set_arches([sysgate::Arch::X86_64])?;
    /// profile.add_rule(Rule::new(Action::Allow, "read"))?;
    /// let call = |nr| Notification {
    ///     id: 1, pid: 1, flags: 0,
    ///     data: SeccompData { nr, arch: 0xc000_003e, instruction_pointer: 0, args: [0; 6] },
    /// };
    /// let mut s = Session::new(AgentMode::Enforce, Some(profile.clone()))?;
    /// assert_eq!(s.decide(&call(0), "/bin/sh").0, Response::Continue); // read
    /// let (answer, refusal) = s.decide(&call(63), "/bin/sh"); // uname
    /// assert_eq!(answer, Response::Error(1));
    /// assert_eq!(refusal.unwrap().name, Some("uname"));
    /// let mut c = Session::new(AgentMode::Complain, Some(profile))?;
    /// assert_eq!(c.decide(&call(63), "/bin/sh").0, Response::Continue);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide(&mut self, n: &Notification, exe: &str) -> (Response, Option<Refusal>) {
        let token = n.data.arch;
        let nr = n.data.nr;
        self.calls += 1;
        match abi_of(token, nr) {
            Some(arch) => self.observations.record(arch, nr, exe, 1),
            None => self.observations.record_unknown_arch(token, nr, 1),
        }
        let Some(profile) = (self.mode != AgentMode::Learn)
            .then_some(self.profile.as_ref())
            .flatten()
        else {
            return (Response::Continue, None);
        };
        let d = profile.decide_raw(token, nr, &n.data.args);
        if d.action.permits() {
            return (Response::Continue, None);
        }
        let errno = match d.action {
            Action::Errno(e) => Some(e),
            Action::NamedErrno(e) => Some(d.arch.map_or(e.number(Arch::native()), |a| e.number(a))),
            _ => None,
        };
        let response = match (self.mode, errno) {
            // SECCOMP_RET_ERRNO with 0: the call returns 0 without running; so here.
            (AgentMode::Enforce, Some(0)) => Response::Value(0),
            (AgentMode::Enforce, Some(e)) => Response::Error(i32::from(e)),
            (AgentMode::Enforce, _) => Response::Error(libc::EPERM),
            _ => Response::Continue,
        };
        let rule = match d.by {
            DecidedBy::Rule(i) => profile.rules().get(i).map(|r| r.to_string()),
            _ => None,
        };
        let refusal = Refusal {
            audit_arch: token,
            arch: d.arch,
            nr,
            name: abi_of(token, nr).and_then(|a| a.syscall_name(nr)),
            args: n.data.args,
            action: d.action,
            by: d.by,
            rule,
            response,
        };
        (response, Some(refusal))
    }

    /// The profile the session decides with (in learn mode: the calls known to be needed
    /// already, which a learned profile adds).
    pub fn profile(&self) -> Option<&Policy> {
        self.profile.as_ref()
    }

    /// Everything the container called, by ABI, number and executable.
    pub fn observations(&self) -> &Observations {
        &self.observations
    }

    /// How many calls were decided.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// Add what another listener of the same container saw (`runc exec` sends one more).
    pub fn absorb(&mut self, other: &Session) {
        self.observations.absorb(&other.observations);
        self.calls += other.calls;
    }
}

/// The profile a learning agent writes for what `seen` saw: [`synthesize`]'s, plus
/// [`NEVER_NOTIFIED`] (the agent cannot see them; noted), plus `runtime`'s base set.
///
/// ```
/// use sysgate::learn::{container_profile, Observations, Runtime, SynthOptions};
/// use sysgate::policy::Action;
/// use sysgate::Arch;
///
/// let mut seen = Observations::default();
/// seen.record(Arch::X86_64, 0, "/bin/sh", 1); // read
/// let opts = SynthOptions { default_action: Action::KillProcess, ..SynthOptions::default() };
/// let learned = container_profile(&seen, &opts, Runtime::None)?;
/// assert_eq!(learned.policy.decide(Arch::X86_64, 1, &[0; 6]).action, Action::Allow); // write
/// assert_eq!(learned.policy.decide(Arch::X86_64, 63, &[0; 6]).action, Action::KillProcess);
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn container_profile(
    seen: &Observations,
    opts: &SynthOptions,
    runtime: Runtime,
) -> Result<Learned, PolicyError> {
    let Learned { policy, mut notes } = synthesize(seen, opts)?;
    let out = also_allowing(&policy, NEVER_NOTIFIED)?;
    notes.push(format!(
        "{} are allowed without being seen: the container's calls to them never reach the \
         agent (runc refuses to notify write; exit and exit_group let a container end when \
         its agent is gone)",
        NEVER_NOTIFIED.join(", ")
    ));
    with_runtime(Learned { policy: out, notes }, runtime)
}

/// The profile that sends a container's calls to an agent: for each syscall of `arches`,
/// USER_NOTIF, except [`NEVER_NOTIFIED`] and `runtime`'s base set (ALLOW) and, when
/// `profile` is given, the calls it allows for every argument value on every one of
/// `arches` (its action: they need no agent). Numbers no table names get ENOSYS (runc
/// refuses NOTIFY as the default action).
///
/// The runtime's base set is allowed, not notified, because the runtime makes those calls
/// under the filter *before* the agent has the listener: runc's init (Go, every thread
/// filtered) must still write the listener's number to its parent, and a scheduler call
/// (`futex`, `nanosleep`) that waits for an agent nobody has told about would wait for
/// ever, and runc with it. A container-ready profile allows that set anyway
/// ([`container_profile`]), so nothing is lost for learn or complain mode.
///
/// Complain mode passes the profile to check, so only what it may refuse is notified;
/// learn mode passes none (everything is observed) or a profile of calls known to be
/// needed already.
///
/// ```
/// use sysgate::learn::{agent_policy, Runtime};
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::Arch;
///
/// let all = agent_policy(&[Arch::X86_64], None, Runtime::None)?;
/// assert_eq!(all.decide(Arch::X86_64, 0, &[0; 6]).action, Action::UserNotif); // read
/// assert_eq!(all.decide(Arch::X86_64, 1, &[0; 6]).action, Action::Allow); // write
/// let mut known = Policy::new(Action::Errno(1));
/// known.add_rule(Rule::new(Action::Allow, "read"))?;
/// let rest = agent_policy(&[Arch::X86_64], Some(&known), Runtime::None)?;
/// let runc = agent_policy(&[Arch::X86_64], None, Runtime::Runc)?;
/// assert_eq!(runc.decide(Arch::X86_64, 202, &[0; 6]).action, Action::Allow); // futex
/// assert_eq!(rest.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
/// assert_eq!(rest.decide(Arch::X86_64, 63, &[0; 6]).action, Action::UserNotif); // uname
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn agent_policy(
    arches: &[Arch],
    profile: Option<&Policy>,
    runtime: Runtime,
) -> Result<Policy, PolicyError> {
    let enosys = Errno::from_name("ENOSYS").expect("ENOSYS is in the errno table");
    let mut policy = Policy::new(Action::NamedErrno(enosys));
    policy.set_arches(arches.iter().copied())?;
    let names: BTreeSet<&'static str> = arches
        .iter()
        .flat_map(|a| a.table().iter().map(|(name, _)| name))
        .collect();
    for &name in &names {
        let action = if NEVER_NOTIFIED.contains(&name) || runtime.base_syscalls().contains(&name) {
            Action::Allow
        } else {
            profile
                .and_then(|p| plainly_permitted(p, name, arches))
                .unwrap_or(Action::UserNotif)
        };
        policy.add_rule(Rule::new(action, name))?;
    }
    // As runc reads the profile it becomes: KILL_THREAD for other architectures, ENOSYS
    // above the largest syscall it names (which is ENOSYS here anyway).
    policy.attrs.bad_arch = Action::KillThread;
    policy.attrs.enosys_above =
        crate::profile::docker::runc_enosys_thresholds(arches, names.iter().copied());
    Ok(policy)
}

/// The permitting action `profile` takes for `name` whatever its arguments, on every arch
/// of `arches` that has it; `None` if it refuses it anywhere or its arguments matter.
fn plainly_permitted(profile: &Policy, name: &str, arches: &[Arch]) -> Option<Action> {
    let mut action = None;
    for &arch in arches {
        let Some(nr) = arch.syscall_number(name) else {
            continue;
        };
        let conditional = profile
            .rules()
            .iter()
            .any(|r| !r.conds.is_empty() && profile.rule_targets(r, arch) == Some(nr));
        if conditional || arch.multiplexed_calls().any(|(_, m)| m.syscall == nr) {
            return None;
        }
        let d = profile.decide(arch, nr, &[0; 6]);
        if !d.action.permits() || action.is_some_and(|a| a != d.action) {
            return None;
        }
        action = Some(d.action);
    }
    action
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learn_mode_needs_no_profile_but_the_others_do() {
        assert!(Session::new(AgentMode::Learn, None).is_ok());
        let err = Session::new(AgentMode::Complain, None).unwrap_err();
        assert!(
            err.to_string().starts_with("complain mode needs a profile"),
            "{err}"
        );
        assert!(Session::new(AgentMode::Enforce, None).is_err());
    }

    #[test]
    fn the_agent_policy_never_notifies_what_runc_refuses() {
        let p = agent_policy(&[Arch::X86_64, Arch::X86, Arch::X32], None, Runtime::Runc).unwrap();
        assert_ne!(p.default_action(), Action::UserNotif);
        for r in p.rules() {
            if r.syscall == crate::policy::Syscall::Name("write".into()) {
                assert_eq!(r.action, Action::Allow);
            }
        }
        // Every named call on every arch is notified or allowed, never refused.
        for arch in [Arch::X86_64, Arch::X86] {
            for (name, nr) in arch.table().iter() {
                let a = p.decide(arch, nr, &[0; 6]).action;
                assert!(
                    a == Action::UserNotif || a == Action::Allow,
                    "{name} on {arch}: {a}"
                );
            }
        }
    }

    #[test]
    fn enforce_answers_as_the_kernel_would_where_an_agent_can() {
        use crate::bpf::SeccompData;
        let mut profile = Policy::new(Action::Allow);
        profile.set_arches([Arch::X86_64]).unwrap();
        profile
            .add_rule(Rule::new(Action::Errno(0), "uname"))
            .unwrap();
        profile
            .add_rule(Rule::new(Action::KillProcess, "mkdir"))
            .unwrap();
        let call = |name| Notification {
            id: 1,
            pid: 1,
            flags: 0,
            data: SeccompData {
                nr: Arch::X86_64.syscall_number(name).unwrap(),
                arch: Arch::X86_64.audit_arch(),
                instruction_pointer: 0,
                args: [0; 6],
            },
        };
        let mut s = Session::new(AgentMode::Enforce, Some(profile)).unwrap();
        // ERRNO(0) makes the call return 0 without running.
        assert_eq!(s.decide(&call("uname"), "x").0, Response::Value(0));
        // A kill cannot be delivered: EPERM, and the refusal says what the profile said.
        let (answer, refusal) = s.decide(&call("mkdir"), "x");
        assert_eq!(answer, Response::Error(libc::EPERM));
        assert_eq!(refusal.unwrap().action, Action::KillProcess);
        assert_eq!(s.decide(&call("read"), "x"), (Response::Continue, None));
        assert_eq!(s.calls(), 3);
    }

    #[test]
    fn a_conditional_rule_keeps_its_call_notified() {
        use crate::policy::{ArgCond, CmpOp};
        let mut known = Policy::new(Action::Errno(1));
        known
            .add_rule(
                Rule::new(Action::Allow, "socket")
                    .with_cond(ArgCond::new(0, CmpOp::Eq, 1).unwrap()),
            )
            .unwrap();
        let p = agent_policy(&[Arch::X86_64], Some(&known), Runtime::None).unwrap();
        let socket = Arch::X86_64.syscall_number("socket").unwrap();
        assert_eq!(
            p.decide(Arch::X86_64, socket, &[1, 0, 0, 0, 0, 0]).action,
            Action::UserNotif
        );
    }
}
