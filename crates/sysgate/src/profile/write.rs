//! What the writers share: the text they produce with the list of what the target format could
//! not express, and the one way sysgate gives up what a format cannot say: toward the more
//! restrictive reading, never the more permissive one.
//!
//! This module owns no format. Each format's writer lives beside its reader
//! ([`super::docker`], [`super::systemd`], [`super::lxc`], [`super::k8s`]), all with one
//! signature; [`write_as`] picks one for a [`Format`] chosen at run time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::detect::Format;
use super::{docker, k8s, lxc, systemd, Listener};
use crate::arch::{Arch, Multiplexer};
use crate::policy::{Action, Policy, Rule, Syscall};

/// Every format's writer options, for [`write_as`] (the Docker dialects are formats of their
/// own).
///
/// ```
/// use sysgate::profile::k8s;
/// use sysgate::profile::write::WriteOptions;
///
/// let options = WriteOptions::new(k8s::WriteOptions::named("app"));
/// assert_eq!(options.k8s.name, "app");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// How to write systemd settings.
    pub systemd: systemd::WriteOptions,
    /// How to write an LXC file.
    pub lxc: lxc::WriteOptions,
    /// How to write a Kubernetes resource (it has a name, so there is no default).
    pub k8s: k8s::WriteOptions,
}

impl WriteOptions {
    /// The default options of every format, and `k8s` for Kubernetes.
    pub fn new(k8s: k8s::WriteOptions) -> WriteOptions {
        WriteOptions {
            systemd: Default::default(),
            lxc: Default::default(),
            k8s,
        }
    }
}

/// `policy`, with the notification listener its profile names, written as `format` by that
/// format's writer.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::detect::Format;
/// use sysgate::profile::k8s;
/// use sysgate::profile::write::{write_as, WriteOptions};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// let options = WriteOptions::new(k8s::WriteOptions::named("demo"));
/// let unit = write_as(Format::Systemd, &policy, None, &options);
/// assert!(unit.text.contains("SystemCallFilter=read"), "{}", unit.text);
/// let oci = write_as(Format::Oci, &policy, None, &options);
/// assert!(oci.text.contains("\"defaultErrnoRet\": 1"), "{}", oci.text);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_as(
    format: Format,
    policy: &Policy,
    listener: Option<&Listener>,
    options: &WriteOptions,
) -> Written {
    let json = |dialect| docker::write(policy, listener, &docker::WriteOptions::dialect(dialect));
    match format {
        Format::Docker => json(docker::Dialect::Docker),
        Format::Oci => json(docker::Dialect::Oci),
        Format::Podman => json(docker::Dialect::Podman),
        Format::Systemd => systemd::write(policy, listener, &options.systemd),
        Format::Lxc => lxc::write(policy, listener, &options.lxc),
        Format::K8s => k8s::write(policy, listener, &options.k8s),
    }
}

/// A profile written in some format, with everything the format could not express.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::docker;
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// let written = docker::write(&policy, None, &Default::default());
/// assert!(written.text.contains("\"read\""));
/// // runc kills calls from other architectures with KILL_THREAD, not the policy's KILL_PROCESS.
/// assert!(written.losses.iter().any(|l| l.message.contains("KILL_THREAD")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The profile text.
    pub text: String,
    /// What changed on the way, each toward the more restrictive reading unless it says
    /// otherwise.
    pub losses: Vec<Loss>,
}

/// One thing a format could not express, and what sysgate wrote instead.
///
/// ```
/// use sysgate::profile::write::Loss;
///
/// let loss = Loss::about("socket", "argument conditions dropped");
/// assert_eq!(loss.to_string(), "socket: argument conditions dropped");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loss {
    /// The syscall concerned, if one is.
    pub syscall: Option<String>,
    /// What was lost and what was written instead.
    pub message: String,
}

impl Loss {
    /// A loss about one syscall.
    pub fn about(syscall: impl Into<String>, message: impl Into<String>) -> Loss {
        Loss {
            syscall: Some(syscall.into()),
            message: message.into(),
        }
    }

    /// A loss about the whole profile.
    ///
    /// ```
    /// use sysgate::profile::write::Loss;
    ///
    /// assert_eq!(Loss::general("flags dropped").to_string(), "flags dropped");
    /// ```
    pub fn general(message: impl Into<String>) -> Loss {
        Loss {
            syscall: None,
            message: message.into(),
        }
    }

    /// Whether the written profile lets through something the policy refused (its message
    /// says `MORE PERMISSIVE`, as systemd 252's missing names do): never a loss to hide.
    ///
    /// ```
    /// use sysgate::profile::write::Loss;
    ///
    /// assert!(Loss::general("mseal: allowed by systemd 252: MORE PERMISSIVE").is_more_permissive());
    /// assert!(!Loss::about("socket", "argument conditions dropped").is_more_permissive());
    /// ```
    pub fn is_more_permissive(&self) -> bool {
        self.message.contains("MORE PERMISSIVE")
    }
}

/// Whether answering `to` where a policy answers `from` lets through more, by kind of
/// action: every errno counts alike (ENOSYS for EPERM is a change, not a widening), anything
/// else by precedence (an errno where the policy kills or traps, an allow where it refuses).
pub(crate) fn widens(from: Action, to: Action) -> bool {
    let kind = |a: Action| match a {
        Action::Errno(_) | Action::NamedErrno(_) => Action::Errno(0).precedence(),
        other => other.precedence(),
    };
    kind(to) > kind(from)
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.syscall {
            Some(s) => write!(f, "{s}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// `policy` without argument conditions, for formats that cannot express them, decided the
/// restrictive way: a conditional rule at least as restrictive as what the call gets when the
/// rule does not match (the syscall's unconditional rules, else the default) now applies to
/// every call; a more permissive one is dropped. For every call the result is the same as or
/// more restrictive than before. Each change is a [`Loss`].
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::profile::write::without_conditions;
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.set_arches([Arch::X86_64])?;
/// let a0 = ArgCond::new(0, CmpOp::Eq, 16)?;
/// policy.add_rule(Rule::new(Action::Errno(1), "socket").with_cond(a0))?;
/// let (plain, losses) = without_conditions(&policy, "systemd");
/// assert_eq!(plain.rules()[0], Rule::new(Action::Errno(1), "socket"));
/// assert_eq!(losses.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn without_conditions(policy: &Policy, format: &str) -> (Policy, Vec<Loss>) {
    without_conditions_where(policy, format, |_| true)
}

/// [`without_conditions`] for the rules `inexpressible` picks; the others are kept as they are.
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::profile::write::without_conditions_where;
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read").with_cond(ArgCond::new(0, CmpOp::Eq, 1)?))?;
/// policy.add_rule(Rule::new(Action::Allow, "write").with_cond(ArgCond::new(0, CmpOp::Eq, u64::MAX)?))?;
/// let big = |r: &Rule| r.conds.iter().any(|c| c.value() > i64::MAX as u64);
/// let (out, losses) = without_conditions_where(&policy, "Kubernetes", big);
/// assert_eq!(out.rules().len(), 1); // the allow rule on write is dropped
/// assert_eq!(losses.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn without_conditions_where(
    policy: &Policy,
    format: &str,
    inexpressible: impl Fn(&Rule) -> bool,
) -> (Policy, Vec<Loss>) {
    // Rules for some ABIs only first: the fallbacks below are the same on every ABI.
    let original = policy;
    let (policy, mut losses) = for_every_arch(original, format);
    let policy = &policy;
    // What a call gets when a conditional rule does not match: its syscall's unconditional
    // rules if it has any (the most restrictive of them), else the default.
    let mut fallback: BTreeMap<&Syscall, Action> = BTreeMap::new();
    for rule in policy.rules().iter().filter(|r| r.conds.is_empty()) {
        fallback
            .entry(&rule.syscall)
            .and_modify(|f| *f = f.most_restrictive(rule.action))
            .or_insert(rule.action);
    }
    let mut out = empty_like(policy);
    for rule in policy.rules() {
        if rule.conds.is_empty() || !inexpressible(rule) {
            push(&mut out, rule.clone());
            continue;
        }
        let falls_to = fallback
            .get(&rule.syscall)
            .copied()
            .unwrap_or(policy.default_action());
        let conds: Vec<String> = rule.conds.iter().map(|c| c.to_string()).collect();
        let what = format!(
            "{format} cannot express argument conditions ({}) of the {} rule{}",
            conds.join(" && "),
            rule.action,
            rule.origin
                .as_ref()
                .map(|o| format!(" at {o}"))
                .unwrap_or_default()
        );
        if rule.action.precedence() <= falls_to.precedence() {
            let mut plain = rule.clone();
            plain.conds.clear();
            push(&mut out, plain);
            losses.push(Loss::about(
                rule.syscall.to_string(),
                format!("{what}: it now applies to every call"),
            ));
        } else {
            losses.push(Loss::about(
                rule.syscall.to_string(),
                format!("{what}: dropped, so every call gets {falls_to}"),
            ));
        }
    }
    restrict_multiplexers(original, &mut out, format, &mut losses);
    (out, losses)
}

/// Keep `out` (`policy` with some conditions dropped) from deciding a multiplexed call more
/// permissively than `policy`. A conditional rule on `socket` leaves `socketcall(SYS_SOCKET)`
/// to the default, since a filter cannot read the multiplexed arguments; without the condition
/// (and so without the rule, when it was dropped), `socketcall`'s own rule would decide it.
/// Where that is more permissive, the multiplexer gets the most restrictive answer `policy`
/// gives any of its calls, for every call: a format without argument conditions cannot tell
/// them apart.
fn restrict_multiplexers(policy: &Policy, out: &mut Policy, format: &str, losses: &mut Vec<Loss>) {
    // multiplexer -> (its most restrictive answer in `policy`, the calls that needed it).
    let mut restrict: BTreeMap<&'static str, (Action, Vec<String>)> = BTreeMap::new();
    for &arch in policy.arches() {
        for (name, m) in arch.multiplexed_calls() {
            let mut args = [0u64; 6];
            args[0] = u64::from(m.call);
            let before = policy.decide(arch, m.syscall, &args).action;
            let after = out.decide(arch, m.syscall, &args).action;
            if after.precedence() <= before.precedence() {
                continue;
            }
            let via = match m.via {
                Multiplexer::Socketcall => "socketcall",
                Multiplexer::Ipc => "ipc",
            };
            let entry = restrict.entry(via).or_insert((before, Vec::new()));
            entry.0 = entry.0.most_restrictive(before);
            entry
                .1
                .push(format!("{via}({name}) on {arch} gets {before}"));
        }
    }
    for (via, (action, calls)) in restrict {
        push(out, Rule::new(action, via));
        losses.push(Loss::about(
            via,
            format!(
                "{format} cannot express that {} while {via} itself is decided otherwise (the \
                 multiplexed call's rules have argument conditions): {via} now gets {action} \
                 for every call",
                calls.join(", ")
            ),
        ));
    }
}

/// `policy` with every rule for some ABIs only ([`Rule::only_on`](Rule#structfield.only_on))
/// made a rule for all of the policy's architectures, for formats that cannot say "only on
/// this architecture", decided the restrictive way. A rule that applies on every architecture
/// of the policy, or on none, is kept as it is or dropped (nothing changes). Of the others, a
/// rule at least as restrictive as anything its syscall can get (the default, its other
/// rules) now applies everywhere; one at most as restrictive as all of those is dropped; for
/// any other the syscall gets the most restrictive of them all, on every call. For every call
/// the result is the same as or more restrictive than before. Each change is a [`Loss`].
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::write::for_every_arch;
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.set_arches([Arch::X86_64, Arch::X86])?;
/// policy.add_rule(Rule::new(Action::Errno(1), "ptrace").applying_on([Arch::X86]))?;
/// let (out, losses) = for_every_arch(&policy, "systemd");
/// assert_eq!(out.rules()[0], Rule::new(Action::Errno(1), "ptrace"));
/// assert!(losses[0].message.contains("applies only on x86"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn for_every_arch(policy: &Policy, format: &str) -> (Policy, Vec<Loss>) {
    let mut out = empty_like(policy);
    let mut losses = Vec::new();
    for (i, rule) in policy.rules().iter().enumerate() {
        let Some(only_on) = &rule.only_on else {
            push(&mut out, rule.clone());
            continue;
        };
        let on: Vec<Arch> = policy
            .arches()
            .iter()
            .copied()
            .filter(|a| only_on.contains(a))
            .collect();
        if on.is_empty() {
            continue; // it applies nowhere in this policy
        }
        let everywhere = Rule {
            only_on: None,
            ..rule.clone()
        };
        if on.len() == policy.arches().len() {
            push(&mut out, everywhere);
            continue;
        }
        // What the syscall can get besides this rule.
        let outcomes: Vec<Action> = std::iter::once(policy.default_action())
            .chain(
                policy
                    .rules()
                    .iter()
                    .enumerate()
                    .filter(|(j, r)| *j != i && r.syscall == rule.syscall)
                    .map(|(_, r)| r.action),
            )
            .collect();
        let p = |a: Action| a.precedence();
        let names: Vec<&str> = on.iter().map(|a| a.name()).collect();
        let what = format!(
            "{format} cannot limit a rule to some architectures: the rule [{everywhere}] \
             applies only on {}",
            names.join(", ")
        );
        if outcomes.iter().all(|o| p(rule.action) <= p(*o)) {
            push(&mut out, everywhere);
            losses.push(Loss::about(
                rule.syscall.to_string(),
                format!("{what}; it now applies on every architecture"),
            ));
        } else if outcomes.iter().all(|o| p(*o) <= p(rule.action)) {
            losses.push(Loss::about(
                rule.syscall.to_string(),
                format!(
                    "{what}; dropped: the calls it matched there get the default or another \
                     rule's action, none of them more permissive"
                ),
            ));
        } else {
            let strictest = outcomes
                .iter()
                .fold(rule.action, |a, o| a.most_restrictive(*o));
            push(&mut out, Rule::new(strictest, rule.syscall.clone()));
            losses.push(Loss::about(
                rule.syscall.to_string(),
                format!(
                    "{what}; {} now gets {strictest}, the most restrictive of its rules and \
                     the default, for every call on every architecture",
                    rule.syscall
                ),
            ));
        }
    }
    (out, losses)
}

/// A policy with `policy`'s default, architectures and attributes, and no rules.
pub(crate) fn empty_like(policy: &Policy) -> Policy {
    let mut out = Policy::new(policy.default_action());
    // The architectures come from a valid policy, so they share a byte order.
    let _ = out.set_arches(policy.arches().iter().copied());
    out.attrs = policy.attrs.clone();
    out
}

fn push(policy: &mut Policy, rule: Rule) {
    // The rule came from a valid policy, so adding it again cannot fail.
    let _ = policy.add_rule(rule);
}

/// What each syscall name gets on `policy`'s architectures when called with any arguments,
/// for a policy without argument conditions (see [`without_conditions`]): per name, the most
/// restrictive of its per-architecture decisions, with the architectures where they differ.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::write::name_outcomes;
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// let outcomes = name_outcomes(&policy);
/// assert_eq!(outcomes["read"].action, Action::Allow);
/// assert_eq!(outcomes["write"].action, Action::Errno(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn name_outcomes(policy: &Policy) -> BTreeMap<&'static str, Outcome> {
    let mut out: BTreeMap<&'static str, Outcome> = BTreeMap::new();
    for &arch in policy.arches() {
        // The reference evaluator reads every rule for every number; of a syscall's
        // unconditional rules only the most restrictive can decide (directly, and for a
        // multiplexed call), so only it is kept: a generated profile may repeat a name a
        // million times.
        let decisive = decisive_rules(policy, arch);
        for (name, nr) in arch.table().iter() {
            let action = decisive.decide(arch, nr, &[0; 6]).action;
            let o = out.entry(name).or_insert(Outcome {
                action,
                differs_on: Vec::new(),
            });
            if o.action != action {
                o.differs_on.push(arch);
                o.action = o.action.most_restrictive(action);
            }
        }
    }
    out
}

/// `policy` with, per syscall, only the most restrictive of its unconditional rules (as
/// `arch` numbers errno names); conditional rules are kept. It decides every call on `arch`
/// as `policy` does.
fn decisive_rules(policy: &Policy, arch: Arch) -> Policy {
    let mut strongest: Vec<&Rule> = Vec::new();
    let mut slot: HashMap<&Syscall, usize> = HashMap::new();
    let mut out = empty_like(policy);
    for rule in policy.rules() {
        if !rule.conds.is_empty() {
            push(&mut out, rule.clone());
            continue;
        }
        let strength = |r: &Rule| r.action.for_arch(arch).precedence();
        match slot.get(&rule.syscall) {
            Some(&i) if strength(strongest[i]) <= strength(rule) => {}
            Some(&i) => strongest[i] = rule,
            None => {
                slot.insert(&rule.syscall, strongest.len());
                strongest.push(rule);
            }
        }
    }
    for rule in strongest {
        push(&mut out, rule.clone());
    }
    out
}

/// What one syscall name gets (see [`name_outcomes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The most restrictive decision over the architectures that have the name.
    pub action: Action,
    /// Architectures whose decision differed from the first one seen (empty when all agree).
    pub differs_on: Vec<Arch>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{ArgCond, CmpOp};

    /// Every call of `names` on every architecture of `before`, with argument 0 from `a0s`,
    /// gets from `after` the same or a more restrictive action.
    fn never_wider(before: &Policy, after: &Policy, names: &[&str], a0s: &[u64]) {
        for &arch in before.arches() {
            for name in names {
                let Some(nr) = arch.syscall_number(name) else {
                    continue;
                };
                for &a0 in a0s {
                    let args = [a0, 0, 0, 0, 0, 0];
                    let (b, a) = (
                        before.decide(arch, nr, &args),
                        after.decide(arch, nr, &args),
                    );
                    assert!(
                        a.action.precedence() <= b.action.precedence(),
                        "{arch} {name}({a0}): {} became {}",
                        b.action,
                        a.action
                    );
                }
            }
        }
    }

    #[test]
    fn rules_for_some_abis_are_written_for_all_never_wider() {
        let a0 = |v| ArgCond::new(0, CmpOp::Eq, v).unwrap();
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64, Arch::X86]).unwrap();
        // More restrictive than anything else on ptrace: now everywhere.
        p.add_rule(Rule::new(Action::KillProcess, "ptrace").applying_on([Arch::X86]))
            .unwrap();
        // More permissive than anything else on read: dropped.
        p.add_rule(Rule::new(Action::Allow, "read").applying_on([Arch::X86_64]))
            .unwrap();
        // Between the default and another rule on write: write gets the strictest.
        p.add_rule(Rule::new(Action::Log, "write").applying_on([Arch::X86]))
            .unwrap();
        p.add_rule(Rule::new(Action::KillThread, "write").with_cond(a0(9)))
            .unwrap();
        p.add_rule(Rule::new(Action::Allow, "write").with_cond(a0(1)))
            .unwrap();
        // On every architecture of the policy: kept as it is, no loss.
        p.add_rule(Rule::new(Action::Allow, "close").applying_on([Arch::X86, Arch::X86_64]))
            .unwrap();
        let (out, losses) = for_every_arch(&p, "the format");
        assert!(out.rules().iter().all(|r| r.only_on.is_none()));
        never_wider(&p, &out, &["ptrace", "read", "write", "close"], &[0, 1, 9]);
        let about: Vec<&str> = losses.iter().filter_map(|l| l.syscall.as_deref()).collect();
        assert_eq!(about, ["ptrace", "read", "write"]);
        assert!(out
            .rules()
            .contains(&Rule::new(Action::KillThread, "write")));
        assert!(losses[0]
            .message
            .contains("[KILL_PROCESS ptrace] applies only on x86; it now applies on every"));
        // The writers that cannot say it go through it.
        let (plain, _) = without_conditions(&p, "systemd");
        never_wider(
            &p,
            &plain,
            &["ptrace", "read", "write", "close"],
            &[0, 1, 9],
        );
        for written in [
            super::super::docker::write(&p, None, &Default::default()),
            super::super::lxc::write(&p, None, &Default::default()),
            super::super::systemd::write(&p, None, &Default::default()),
        ] {
            let limited = |l: &Loss| l.message.contains("cannot limit a rule to some arch");
            assert_eq!(written.losses.iter().filter(|l| limited(l)).count(), 3);
        }
    }

    /// Docker's default allows `socketcall` and `socket` only for some domains: on i386,
    /// `socketcall(SYS_SOCKET)` falls to the default. Dropping the `socket` conditions must
    /// not hand it to `socketcall`'s own ALLOW.
    #[test]
    fn dropping_a_condition_on_socket_does_not_open_socketcall() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64, Arch::X86]).unwrap();
        p.add_rule(Rule::new(Action::Allow, "socketcall")).unwrap();
        p.add_rule(
            Rule::new(Action::Allow, "socket").with_cond(ArgCond::new(0, CmpOp::Eq, 1).unwrap()),
        )
        .unwrap();
        let sys_socket = [1, 0, 0, 0, 0, 0];
        let socketcall = Arch::X86.syscall_number("socketcall").unwrap();
        assert_eq!(
            p.decide(Arch::X86, socketcall, &sys_socket).action,
            Action::Errno(1)
        );
        let (plain, losses) = without_conditions(&p, "systemd");
        assert_eq!(
            plain.decide(Arch::X86, socketcall, &sys_socket).action,
            Action::Errno(1)
        );
        assert!(
            losses
                .iter()
                .any(|l| l.syscall.as_deref() == Some("socketcall")
                    && l.message
                        .contains("socketcall(socket) on x86 gets ERRNO(1 EPERM)")),
            "{losses:?}"
        );
    }
}
