//! A [`Policy`] written as a Docker/moby, OCI runtime-spec or Podman seccomp profile (JSON).
//!
//! The reader is [`super`]; this module only writes, and it writes what the reader
//! (that is, runc) reads back as the same policy wherever the format allows:
//!
//! - `defaultAction` with `defaultErrnoRet`; `architectures`; `flags` when they are not runc's
//!   default (SPEC_ALLOW alone); `listenerPath` and `listenerMetadata`.
//! - `syscalls`: one entry per action and set of argument conditions, names sorted; entries
//!   sorted too (allows first), so the same policy always gives the same text.
//! - Conditions: `SCMP_CMP_MASKED_EQ` takes the mask in `value` and the expected value in
//!   `valueTwo`.
//! - Podman adds `defaultErrno` and per-rule `errno` names beside the numbers.
//!
//! What runc cannot read back as written, each a [`Loss`], resolved on the restrictive side:
//!
//! - Two conditions on one argument (a range, say): runc ORs the conditions of such an entry.
//!   That widens a refusing rule (kept: more restrictive) and an allowing one (dropped).
//! - A rule whose action is the default: runc drops it. Where it overlapped a more permissive
//!   rule, that rule now decides: the loss says MORE PERMISSIVE.
//! - TRAP data (runc's trap carries none): TRAP(0), which is more restrictive.
//! - Syscall numbers: written as the name they have; a number with different names on the
//!   policy's architectures becomes all of them when it refuses, and is dropped when it allows.
//! - The bad-arch action (runc: KILL_THREAD) and the ENOSYS answer above the largest syscall
//!   the profile names on each architecture (runc: whenever the default refuses).
//!
//! ```
//! use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
//! use sysgate::profile::docker::{self, Dialect, WriteOptions};
//! use sysgate::Arch;
//!
//! let mut policy = Policy::new(Action::Errno(1));
//! policy.set_arches([Arch::X86_64])?;
//! policy.attrs.bad_arch = Action::KillThread;
//! policy.attrs.enosys_above.insert(Arch::X86_64, 135); // personality, the largest named
//! policy.attrs.flags.spec_allow = true;
//! policy.add_rule(Rule::new(Action::Allow, "write"))?;
//! policy.add_rule(Rule::new(Action::Allow, "read"))?;
//! policy.add_rule(Rule::new(Action::Allow, "personality").with_cond(ArgCond::new(0, CmpOp::Eq, 8)?))?;
//! let written = docker::write(&policy, None, &WriteOptions::dialect(Dialect::Docker));
//! assert!(written.losses.is_empty());
//! let json: serde_json::Value = serde_json::from_str(&written.text)?;
//! assert_eq!(json["syscalls"][0]["names"], serde_json::json!(["read", "write"]));
//! assert_eq!(json["syscalls"][1]["args"][0]["op"], "SCMP_CMP_EQ");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::arch::Arch;
use crate::bpf::FilterFlag;
use crate::policy::{
    Action, ArgCond, CmpOp, KernelFlags, Numbering, Policy, Rule, Syscall, ENOSYS,
};
use crate::profile::write::{for_every_arch, widens, Loss, Written};
use crate::profile::Listener;

/// Which JSON dialect to write.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// Docker/moby's profile (what `docker run --security-opt seccomp=FILE` reads).
    #[default]
    Docker,
    /// The OCI runtime-spec `linux.seccomp` object.
    Oci,
    /// Podman / containers-common: errno names beside the numbers.
    Podman,
}

/// How to write a profile: the dialect. The default is Docker's.
///
/// ```
/// use sysgate::policy::{Action, Policy};
/// use sysgate::profile::docker::{self, WriteOptions};
///
/// let policy = Policy::new(Action::Allow);
/// assert!(docker::write(&policy, None, &WriteOptions::default()).text.contains("SCMP_ACT_ALLOW"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Which JSON dialect to write.
    pub dialect: Dialect,
}

impl WriteOptions {
    /// Options that write `dialect`.
    pub fn dialect(dialect: Dialect) -> WriteOptions {
        WriteOptions { dialect }
    }
}

/// The profile as written, also what the Kubernetes writer puts in its `spec`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    pub default_action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_errno: Option<String>,
    pub architectures: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    pub syscalls: Vec<Entry>,
}

/// One `syscalls[]` entry.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub names: Vec<String>,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
}

/// One argument condition.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Arg {
    pub index: usize,
    pub value: u64,
    pub value_two: u64,
    pub op: &'static str,
}

/// The rules of one `syscalls[]` entry: one action under one set of conditions.
type Group = (Action, Vec<ArgCond>);

/// `SCMP_ACT_*` and the errno/data that goes with it (an errno name as its number in
/// `numbering`); the loss if the action changed.
fn action_word(
    action: Action,
    numbering: Numbering,
) -> (&'static str, Option<u16>, Option<String>) {
    match action {
        Action::NamedErrno(e) => ("SCMP_ACT_ERRNO", Some(e.number_in(numbering)), None),
        Action::KillProcess => ("SCMP_ACT_KILL_PROCESS", None, None),
        Action::KillThread => ("SCMP_ACT_KILL_THREAD", None, None),
        Action::Trap(0) => ("SCMP_ACT_TRAP", None, None),
        Action::Trap(d) => (
            "SCMP_ACT_TRAP",
            None,
            Some(format!(
                "runc's SCMP_ACT_TRAP carries no data; TRAP({d}) is written as TRAP(0)"
            )),
        ),
        Action::Errno(e) => ("SCMP_ACT_ERRNO", Some(e), None),
        Action::UserNotif => ("SCMP_ACT_NOTIFY", None, None),
        Action::Trace(d) => ("SCMP_ACT_TRACE", Some(d), None),
        Action::Log => ("SCMP_ACT_LOG", None, None),
        Action::Allow => ("SCMP_ACT_ALLOW", None, None),
    }
}

/// `SCMP_ARCH_X86_64` for [`Arch::X86_64`].
fn arch_word(arch: Arch) -> String {
    format!("SCMP_ARCH_{}", arch.name().to_ascii_uppercase())
}

fn flag_words(flags: KernelFlags) -> Vec<&'static str> {
    flags.iter().map(FilterFlag::uapi_name).collect()
}

fn arg(c: &ArgCond) -> Arg {
    let (op, value, value_two) = match c.op() {
        CmpOp::Ne => ("SCMP_CMP_NE", c.value(), 0),
        CmpOp::Lt => ("SCMP_CMP_LT", c.value(), 0),
        CmpOp::Le => ("SCMP_CMP_LE", c.value(), 0),
        CmpOp::Eq => ("SCMP_CMP_EQ", c.value(), 0),
        CmpOp::Ge => ("SCMP_CMP_GE", c.value(), 0),
        CmpOp::Gt => ("SCMP_CMP_GT", c.value(), 0),
        // OCI: `value` is the mask, `valueTwo` what the masked argument must be.
        CmpOp::MaskedEq(m) => ("SCMP_CMP_MASKED_EQ", m, c.value()),
    };
    Arg {
        index: c.arg(),
        value,
        value_two,
        op,
    }
}

/// `policy` as a profile of `options.dialect`, with the notification listener if it has one.
///
/// ```
/// use sysgate::policy::{Action, Errno, Policy, Rule};
/// use sysgate::profile::docker::{self, Dialect, WriteOptions};
/// use sysgate::Arch;
///
/// // Names stay names (Podman's `errno`); numbers stay numbers (`errnoRet` only).
/// let mut policy = Policy::new(Action::NamedErrno(Errno::ENOSYS));
/// policy.set_arches([Arch::Aarch64])?;
/// policy.add_rule(Rule::new(Action::NamedErrno(Errno::EPERM), "ptrace"))?;
/// policy.add_rule(Rule::new(Action::Errno(13), "mount"))?;
/// let written = docker::write(&policy, None, &WriteOptions::dialect(Dialect::Podman));
/// assert!(written.text.contains("\"defaultErrno\": \"ENOSYS\""));
/// assert!(written.text.contains("\"errno\": \"EPERM\""));
/// assert!(!written.text.contains("EACCES"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write(policy: &Policy, listener: Option<&Listener>, options: &WriteOptions) -> Written {
    let (profile, mut losses) = profile(policy, listener, options.dialect);
    let mut text = serde_json::to_string_pretty(&profile).expect("plain data serializes");
    text.push('\n');
    losses.sort();
    losses.dedup();
    Written { text, losses }
}

/// `policy` as the profile [`write`] writes, and what it cannot hold.
pub(crate) fn profile(
    policy: &Policy,
    listener: Option<&Listener>,
    dialect: Dialect,
) -> (Profile, Vec<Loss>) {
    // runc reads `includes.arches` as the host's architecture, not the calling ABI: a rule
    // for some ABIs only cannot be written as such.
    let (for_every_arch, mut losses) = for_every_arch(
        policy,
        "the JSON profile (runc reads includes.arches as the host's architecture, not the \
         calling ABI)",
    );
    let policy = &for_every_arch;
    let default = policy.default_action();
    // A name is written as Podman's `errno` name, and as the number the policy's first
    // architecture gives it (runc's errnoRet is one number for every architecture).
    let numbering = policy
        .arches()
        .first()
        .map_or(Numbering::Generic, |a| Numbering::of(*a));
    let named = |a: Action| match a {
        Action::NamedErrno(e) => Some(e.name().to_string()),
        _ => None,
    };
    let mixed = policy
        .arches()
        .iter()
        .any(|a| Numbering::of(*a) != numbering);
    let uses_names = std::iter::once(default)
        .chain(policy.rules().iter().map(|r| r.action))
        .any(|a| matches!(a, Action::NamedErrno(_)));
    if mixed && uses_names && dialect != Dialect::Podman {
        losses.push(Loss::general(
            "errno names are numbered per architecture and these architectures number them \
             differently; errnoRet holds one number, the first architecture's",
        ));
    }
    let (default_word, default_errno, lost) = action_word(default, numbering);
    if let Some(why) = lost {
        losses.push(Loss::general(format!("default action: {why}")));
    }
    if policy.attrs.bad_arch != Action::KillThread {
        losses.push(Loss::general(format!(
            "runc gives calls from other architectures KILL_THREAD, not {}",
            policy.attrs.bad_arch
        )));
    }
    let runc_default_flags = KernelFlags {
        spec_allow: true,
        ..KernelFlags::default()
    };
    let flags = (policy.attrs.flags != runc_default_flags).then(|| flag_words(policy.attrs.flags));

    // Entries: rules grouped by (action, conditions).
    let mut groups: BTreeMap<Group, BTreeSet<String>> = BTreeMap::new();
    let siblings = Siblings::new(policy);
    let mut budget = PAIR_CHECKS;
    for i in 0..policy.rules().len() {
        let Some(rule) = expressible_rule(policy, &siblings, i, &mut budget, &mut losses) else {
            continue;
        };
        for name in names_of(policy, &rule, &mut losses) {
            let mut conds = rule.conds.clone();
            conds.sort();
            conds.dedup();
            groups.entry((rule.action, conds)).or_default().insert(name);
        }
    }
    // runc's ENOSYS rule: above the largest syscall the written profile names, per arch.
    // Counted over the names written (a rule by number is written by name), not the
    // policy's: those are what runc's findLastSyscalls sees.
    let runc_enosys = !matches!(default, Action::Allow | Action::Log | Action::Trace(_));
    let runc_thresholds = if runc_enosys {
        let names = groups.values().flatten().map(String::as_str);
        super::runc_enosys_thresholds(policy.arches(), names)
    } else {
        Default::default()
    };
    if policy.attrs.enosys_for_unknown_syscalls || policy.attrs.enosys_above != runc_thresholds {
        losses.push(Loss::general(enosys_loss(policy, &runc_thresholds)));
    }
    // Moved, not copied, into the entries: a profile may have a million of them.
    let mut entries: Vec<(Group, BTreeSet<String>)> = groups.into_iter().collect();
    // Allows first, then the more restrictive actions; unconditional before conditional.
    entries.sort_by(|(a, _), (b, _)| {
        b.0.precedence()
            .cmp(&a.0.precedence())
            .then_with(|| a.0.cmp(&b.0))
            .then_with(|| a.1.len().cmp(&b.1.len()))
            .then_with(|| a.1.cmp(&b.1))
    });
    let syscalls = entries
        .into_iter()
        .map(|((action, conds), names)| {
            let (word, errno, lost) = action_word(action, numbering);
            if let Some(why) = lost {
                for n in &names {
                    losses.push(Loss::about(n.clone(), why.clone()));
                }
            }
            Entry {
                names: names.into_iter().collect(),
                action: word,
                errno_ret: errno,
                errno: named(action).filter(|_| dialect == Dialect::Podman),
                args: conds.iter().map(arg).collect(),
            }
        })
        .collect();
    let profile = Profile {
        default_action: default_word.to_string(),
        default_errno_ret: default_errno,
        default_errno: named(default).filter(|_| dialect == Dialect::Podman),
        architectures: policy.arches().iter().map(|a| arch_word(*a)).collect(),
        flags,
        listener_path: listener.map(|l| l.path.clone()),
        listener_metadata: listener
            .filter(|l| !l.metadata.is_empty())
            .map(|l| l.metadata.clone()),
        syscalls,
    };
    (profile, losses)
}

/// What changes where runc's ENOSYS stub (`thresholds`, from the names written; empty when
/// the default allows, logs or traces) and `policy`'s own ENOSYS rules differ, marked
/// `MORE PERMISSIVE` when runc lets through what the policy kills, traps or refuses by
/// another kind of action: its ENOSYS where the policy's default kills or traps, or its
/// default (an allow, log or trace) where the policy answers ENOSYS. One errno for another
/// (ENOSYS for EPERM) is a change, listed, not a widening, as for the other writers.
fn enosys_loss(policy: &Policy, thresholds: &BTreeMap<Arch, u32>) -> String {
    let default = policy.default_action();
    let enosys = Action::Errno(ENOSYS);
    let wider = policy.arches().iter().any(|&a| {
        let ours = policy.attrs.enosys_above.get(&a);
        match thresholds.get(&a) {
            // runc answers ENOSYS above `t`: wider where the policy gives its default
            // instead (it has no threshold of its own there, or a higher one).
            Some(t) => widens(default, enosys) && ours.is_none_or(|o| o > t),
            // runc gives the default where the policy answers ENOSYS.
            None => {
                (ours.is_some() || policy.attrs.enosys_for_unknown_syscalls)
                    && widens(enosys, default)
            }
        }
    });
    let widened = if wider { ": MORE PERMISSIVE" } else { "" };
    if thresholds.is_empty() {
        format!(
            "runc does not answer ENOSYS for unknown syscalls when the default is {default}; \
             this policy answers ENOSYS for some{widened}"
        )
    } else {
        let at: Vec<String> = thresholds
            .iter()
            .map(|(a, t)| format!("{} {t}", a.name()))
            .collect();
        format!(
            "runc answers ENOSYS above the largest syscall the profile names on each \
             architecture ({}), where this policy answers {default} or ENOSYS elsewhere{widened}",
            at.join(", ")
        )
    }
}

/// How many pairs of conditional rules [`write`] checks one by one for a rule that
/// runc drops (its action is the default) beating a more permissive one; past it, such a rule
/// is taken to beat one (the loss is listed rather than missed).
const PAIR_CHECKS: usize = 1_000_000;

/// The rules on each syscall, gathered once so that what one rule needs to know about the
/// others on its syscall does not take a pass over the whole policy per rule.
struct Siblings<'a> {
    /// The indexes of the rules on each syscall.
    by_syscall: HashMap<&'a Syscall, Vec<usize>>,
    /// Per syscall, its two most restrictive unconditional rules (index and action).
    unconditional: HashMap<&'a Syscall, Vec<(usize, Action)>>,
    /// Per syscall, the precedence of its most permissive rule that can match at all.
    most_permissive: HashMap<&'a Syscall, i32>,
}

impl<'a> Siblings<'a> {
    fn new(policy: &'a Policy) -> Siblings<'a> {
        let mut by_syscall: HashMap<&Syscall, Vec<usize>> = HashMap::new();
        let mut unconditional: HashMap<&Syscall, Vec<(usize, Action)>> = HashMap::new();
        let mut most_permissive: HashMap<&Syscall, i32> = HashMap::new();
        for (i, r) in policy.rules().iter().enumerate() {
            by_syscall.entry(&r.syscall).or_default().push(i);
            if crate::policy::conds_satisfiable(&r.conds, true) {
                let p = most_permissive.entry(&r.syscall).or_insert(i32::MIN);
                *p = (*p).max(r.action.precedence());
            }
            if r.conds.is_empty() {
                let top = unconditional.entry(&r.syscall).or_default();
                top.push((i, r.action));
                top.sort_by_key(|(_, a)| a.precedence());
                top.truncate(2);
            }
        }
        Siblings {
            by_syscall,
            unconditional,
            most_permissive,
        }
    }

    /// The most restrictive action of the unconditional rules on rule `i`'s syscall other
    /// than rule `i`.
    fn other_unconditional(&self, policy: &Policy, i: usize) -> Option<Action> {
        self.unconditional
            .get(&policy.rules()[i].syscall)?
            .iter()
            .find(|(j, _)| *j != i)
            .map(|(_, a)| *a)
    }
}

/// The rule as runc will read it back, or `None` if it must be dropped (each a loss).
fn expressible_rule(
    policy: &Policy,
    siblings: &Siblings<'_>,
    i: usize,
    budget: &mut usize,
    losses: &mut Vec<Loss>,
) -> Option<Rule> {
    let rule = &policy.rules()[i];
    let name = rule.syscall.to_string();
    // What the call gets when this rule does not match.
    let fallback = siblings
        .other_unconditional(policy, i)
        .unwrap_or(policy.default_action());
    if rule.action == policy.default_action() {
        // runc drops it. It only mattered where it beat a more permissive rule.
        let more_permissive = siblings
            .most_permissive
            .get(&rule.syscall)
            .is_some_and(|p| *p > rule.action.precedence());
        let beaten = more_permissive
            && (rule.conds.is_empty()
                || siblings.by_syscall[&rule.syscall].iter().any(|&j| {
                    if *budget == 0 {
                        return true;
                    }
                    *budget -= 1;
                    let r = &policy.rules()[j];
                    r.action.precedence() > rule.action.precedence()
                        && crate::policy::conds_satisfiable(
                            &r.conds
                                .iter()
                                .chain(&rule.conds)
                                .copied()
                                .collect::<Vec<_>>(),
                            true,
                        )
                }));
        if beaten {
            losses.push(Loss::about(
                name,
                format!(
                    "runc drops rules whose action is the default ({}); where this one beat a \
                     more permissive rule, that rule now decides: MORE PERMISSIVE",
                    rule.action
                ),
            ));
        }
        return None;
    }
    let mut per_arg = [0usize; 6];
    for c in &rule.conds {
        per_arg[c.arg()] += 1;
    }
    if per_arg.iter().any(|n| *n > 1) {
        if rule.action.precedence() <= fallback.precedence() {
            losses.push(Loss::about(
                name,
                format!(
                    "runc ORs the conditions of an entry that tests one argument twice; the {} \
                     rule now applies when any of them holds (more restrictive)",
                    rule.action
                ),
            ));
            return Some(rule.clone());
        }
        losses.push(Loss::about(
            name,
            format!(
                "runc ORs the conditions of an entry that tests one argument twice, which would \
                 widen this {} rule: dropped, so those calls get {fallback}",
                rule.action
            ),
        ));
        return None;
    }
    Some(rule.clone())
}

/// The names a rule is written under.
fn names_of(policy: &Policy, rule: &Rule, losses: &mut Vec<Loss>) -> Vec<String> {
    match &rule.syscall {
        Syscall::Name(n) => vec![n.clone()],
        Syscall::Number(nr) => {
            let names: BTreeSet<&str> = policy
                .arches()
                .iter()
                .filter_map(|a| a.syscall_name(*nr))
                .collect();
            if names.len() <= 1 {
                return names
                    .into_iter()
                    .filter(|name| by_name_keeps(policy, rule, *nr, name, losses))
                    .map(str::to_string)
                    .collect();
            }
            let list: Vec<&str> = names.iter().copied().collect();
            if rule.action.permits() {
                losses.push(Loss::about(
                    format!("#{nr}"),
                    format!(
                        "the number is {} on different architectures and Docker names syscalls: \
                         the {} rule is dropped",
                        list.join(", "),
                        rule.action
                    ),
                ));
                Vec::new()
            } else {
                losses.push(Loss::about(
                    format!("#{nr}"),
                    format!(
                        "the number is {} on different architectures and Docker names syscalls: \
                         the {} rule is written for all of them (more restrictive)",
                        list.join(", "),
                        rule.action
                    ),
                ));
                list.into_iter().map(str::to_string).collect()
            }
        }
    }
}

/// Whether the rule by number `nr` may be written under its `name`. A rule by number decides
/// the direct call only; under the name it also decides the call's multiplexed path
/// (`socketcall(SYS_SOCKET)` for x86's `socket`), where the policy may decide otherwise. An
/// unconditional rule more permissive than what that path gets would widen it: it is dropped
/// (the direct call gets what the rest of the profile gives it). Any other rule is written,
/// making the path at most stricter. Either way the loss says so.
fn by_name_keeps(
    policy: &Policy,
    rule: &Rule,
    nr: u32,
    name: &str,
    losses: &mut Vec<Loss>,
) -> bool {
    let Some((arch, via)) = policy
        .arches()
        .iter()
        .filter(|a| a.syscall_name(nr) == Some(name))
        .find_map(|a| Some((*a, a.multiplexed(name)?)))
    else {
        return true;
    };
    let mut args = [0u64; 6];
    args[0] = u64::from(via.call);
    let path = policy.decide(arch, via.syscall, &args).action;
    let path_name = format!(
        "{}({})",
        arch.syscall_name(via.syscall).unwrap_or("the multiplexer"),
        via.call
    );
    let widens = rule.conds.is_empty() && rule.action.precedence() > path.precedence();
    losses.push(Loss::about(
        format!("#{nr}"),
        if widens {
            format!(
                "Docker names syscalls, and under the name {name} the {} rule would also let \
                 {path_name} through on {arch}, which gets {path}: dropped",
                rule.action
            )
        } else {
            format!(
                "Docker names syscalls: under the name {name} the {} rule also decides \
                 {path_name} on {arch} (more restrictive there)",
                rule.action
            )
        },
    ));
    !widens
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{docker, Target};

    fn sorted_rules(p: &Policy) -> Vec<(Action, String, Vec<ArgCond>)> {
        let mut r: Vec<_> = p
            .rules()
            .iter()
            .map(|r| {
                let mut c = r.conds.clone();
                c.sort();
                (r.action, r.syscall.to_string(), c)
            })
            .collect();
        r.sort();
        r
    }

    /// A rule by number on a call that also goes through a multiplexer (x86's 359 is
    /// `socket`, also `socketcall(SYS_SOCKET)`) decides the direct call only; written under the
    /// call's name it would decide the multiplexed path too. That is never wider.
    #[test]
    fn a_rule_by_number_on_a_multiplexed_call_never_widens_its_multiplexed_path() {
        use crate::policy::Rule;
        for (default, action) in [
            (Action::KillThread, Action::Allow),
            (Action::Allow, Action::Errno(1)),
        ] {
            let mut p = Policy::new(default);
            p.set_arches([Arch::X86]).unwrap();
            p.add_rule(Rule::new(action, Syscall::Number(359))).unwrap();
            let written = write(&p, None, &WriteOptions::default());
            let back = docker::parse(&written.text, "back.json", &Target::new(Arch::X86))
                .unwrap()
                .policy;
            let socketcall = Arch::X86.syscall_number("socketcall").unwrap();
            for (nr, args) in [
                (359, [2u64, 1, 0, 0, 0, 0]),
                (socketcall, [1, 0, 0, 0, 0, 0]),
            ] {
                let before = p.decide(Arch::X86, nr, &args).action;
                let after = back.decide(Arch::X86, nr, &args).action;
                assert!(
                    after.precedence() <= before.precedence(),
                    "{action} #359 under {default}: nr {nr} {args:?} was {before}, now {after}: \
                     {}",
                    written.text
                );
            }
            assert!(
                written
                    .losses
                    .iter()
                    .any(|l| l.message.contains("socketcall(1)") && l.message.contains("on x86")),
                "{:?}",
                written.losses
            );
        }
    }

    #[test]
    fn dropped_default_action_rules_are_a_loss_only_where_they_beat_a_more_permissive_one() {
        use crate::policy::{ArgCond, CmpOp, Rule};
        let eq = |v| ArgCond::new(1, CmpOp::Eq, v).unwrap();
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        for rule in [
            Rule::new(Action::Allow, "ioctl").with_cond(eq(1)),
            Rule::new(Action::Errno(1), "ioctl").with_cond(eq(1)),
            Rule::new(Action::Errno(1), "ioctl").with_cond(eq(2)),
            Rule::new(Action::Errno(1), "read"),
            Rule::new(Action::Log, "write"),
            Rule::new(Action::Errno(1), "write"),
        ] {
            p.add_rule(rule).unwrap();
        }
        let written = write(&p, None, &WriteOptions::default());
        let widened: Vec<&str> = written
            .losses
            .iter()
            .filter(|l| l.is_more_permissive())
            .map(|l| l.syscall.as_deref().unwrap_or(""))
            .collect();
        // ioctl's a1 == 1 rule beat the allow; a1 == 2 and read beat nothing; write's did.
        assert_eq!(widened, ["ioctl", "write"], "{:?}", written.losses);
    }

    #[test]
    fn round_trips_through_the_reader() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "listenerPath": "/run/a.sock", "listenerMetadata": "m",
            "syscalls": [
              {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["ptrace"], "action": "SCMP_ACT_NOTIFY"},
              {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
              {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
               "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_GE"}]}
            ]}"#;
        let target = Target::new(Arch::X86_64);
        let a = docker::parse(text, "a", &target).unwrap();
        for dialect in [Dialect::Docker, Dialect::Oci, Dialect::Podman] {
            let w = write(
                &a.policy,
                a.listener.as_ref(),
                &WriteOptions::dialect(dialect),
            );
            assert!(w.losses.is_empty(), "{:?}", w.losses);
            let b = docker::parse(&w.text, "b", &target).unwrap();
            assert_eq!(
                sorted_rules(&a.policy),
                sorted_rules(&b.policy),
                "{}",
                w.text
            );
            assert_eq!(a.policy.default_action(), b.policy.default_action());
            assert_eq!(a.policy.arches(), b.policy.arches());
            assert_eq!(a.policy.attrs, b.policy.attrs);
            assert_eq!(a.listener, b.listener);
        }
    }

    #[test]
    fn same_policy_same_text() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        p.add_rule(Rule::new(Action::Allow, "write")).unwrap();
        p.add_rule(Rule::new(Action::Errno(5), "mount")).unwrap();
        p.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        let mut q = Policy::new(Action::Errno(1));
        q.set_arches([Arch::X86_64]).unwrap();
        q.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        q.add_rule(Rule::new(Action::Errno(5), "mount")).unwrap();
        q.add_rule(Rule::new(Action::Allow, "write")).unwrap();
        let docker = WriteOptions::default();
        assert_eq!(write(&p, None, &docker).text, write(&q, None, &docker).text);
    }

    #[test]
    fn ranges_on_one_argument_are_given_up_restrictively() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        let ge = ArgCond::new(0, CmpOp::Ge, 5).unwrap();
        let le = ArgCond::new(0, CmpOp::Le, 9).unwrap();
        p.add_rule(Rule::new(Action::Allow, "personality").with_conds([ge, le]))
            .unwrap();
        p.add_rule(Rule::new(Action::KillProcess, "setns").with_conds([ge, le]))
            .unwrap();
        let w = write(&p, None, &WriteOptions::default());
        assert!(!w.text.contains("personality"), "{}", w.text);
        assert!(w.text.contains("setns"), "{}", w.text);
        // + the ENOSYS and bad-arch differences.
        assert_eq!(w.losses.len(), 2 + 2, "{:?}", w.losses);
    }

    /// runc's ENOSYS stub counts the names the written profile holds. A policy with rules by
    /// number (an LXC v1 file) is written with names, so under runc every call above the
    /// largest of them returns ENOSYS where the policy kills it; the writer compared the
    /// policy's names only (none), saw no difference and listed nothing.
    #[test]
    fn runc_enosys_above_the_written_names_is_a_loss_and_more_permissive_than_kill() {
        let mut p = Policy::new(Action::KillThread);
        p.set_arches([Arch::X86_64]).unwrap();
        for nr in [0, 1, 60, 231] {
            p.add_rule(Rule::new(Action::Allow, Syscall::Number(nr)))
                .unwrap();
        }
        let written = write(&p, None, &WriteOptions::default());
        let back = docker::parse(&written.text, "back.json", &Target::new(Arch::X86_64))
            .unwrap()
            .policy;
        // epoll_wait (232) is above exit_group (231): ENOSYS under runc, killed by the policy.
        assert_eq!(
            back.decide(Arch::X86_64, 232, &[0; 6]).action,
            Action::Errno(38)
        );
        assert_eq!(
            p.decide(Arch::X86_64, 232, &[0; 6]).action,
            Action::KillThread
        );
        assert!(
            written
                .losses
                .iter()
                .any(|l| l.message.contains("ENOSYS") && l.is_more_permissive()),
            "{:?}",
            written.losses
        );

        // A default that allows: runc has no stub, so where the policy answers ENOSYS the
        // written profile allows.
        let mut q = Policy::new(Action::Allow);
        q.set_arches([Arch::X86_64]).unwrap();
        q.attrs.enosys_for_unknown_syscalls = true;
        q.add_rule(Rule::new(Action::Errno(1), "ptrace")).unwrap();
        let written = write(&q, None, &WriteOptions::default());
        assert!(
            written
                .losses
                .iter()
                .any(|l| l.message.contains("ENOSYS") && l.is_more_permissive()),
            "{:?}",
            written.losses
        );

        // Where the written names give the policy's own thresholds, nothing is lost.
        let mut r = Policy::new(Action::KillThread);
        r.set_arches([Arch::X86_64]).unwrap();
        r.add_rule(Rule::new(Action::Allow, "read")).unwrap();
        r.add_rule(Rule::new(Action::Allow, "openat")).unwrap();
        r.attrs.enosys_above = [(Arch::X86_64, 257)].into_iter().collect();
        let written = write(&r, None, &WriteOptions::default());
        assert!(
            !written.losses.iter().any(|l| l.message.contains("ENOSYS")),
            "{:?}",
            written.losses
        );
    }
}
