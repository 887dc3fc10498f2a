//! Profile synthesis: [`Observations`] → a [`Policy`] that allows exactly what was seen,
//! and the union of learned policies.
//!
//! This file owns what a learned policy contains; it does not run anything (see
//! [`super::trace`]) or write any file format (see the profile writers in [`crate::profile`]).

use std::collections::{BTreeMap, BTreeSet};

use super::observe::Observations;
use crate::arch::{Arch, Multiplexer};
use crate::policy::{Action, ArgCond, CmpOp, Policy, PolicyError, Rule, Syscall};

/// Syscalls every learned profile allows, whatever was seen.
///
/// `sysgate run` (like [`crate::kernel::CommandExt`]) installs the filter in the child
/// between `fork` and `exec`, so the first call the filter sees is the `execve` that
/// starts the program. The tracer installs its own filter at the same point and sees the
/// same `execve`; a profile from an audit log does not, hence this list.
pub const RUNTIME_SYSCALLS: &[&str] = &["execve"];

/// How to turn observations into a policy.
///
/// ```
/// use sysgate::learn::SynthOptions;
/// use sysgate::policy::Action;
///
/// let o = SynthOptions::default();
/// assert_eq!(o.default_action, Action::Errno(1));
/// assert!(!o.args);
/// assert_eq!(o.max_values, 32);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthOptions {
    /// The action for everything that was not seen (default ERRNO(EPERM)).
    pub default_action: Action,
    /// Learn argument conditions for the calls [`super::flag_args`] lists.
    pub args: bool,
    /// The most distinct values one argument may have before its condition is dropped
    /// (and the most value combinations one syscall may have before its most varied
    /// argument is dropped).
    pub max_values: usize,
    /// The profile's architectures. Empty (the default): every ABI a call was seen on, plus
    /// the native one. Otherwise exactly these: calls seen on other ABIs are left out (with a
    /// note), and calls from them get the bad-arch action.
    pub arches: Vec<Arch>,
}

impl Default for SynthOptions {
    fn default() -> SynthOptions {
        SynthOptions {
            default_action: Action::Errno(1),
            args: false,
            max_values: 32,
            arches: Vec::new(),
        }
    }
}

/// A synthesized policy and what the user should know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Learned {
    /// The policy: the default action, the architectures seen plus the native one, and one
    /// ALLOW rule per syscall seen (per value combination, with `--args`).
    pub policy: Policy,
    /// Things left out or loosened, one sentence each.
    pub notes: Vec<String>,
}

/// Build the policy that allows exactly what `seen` saw.
///
/// - Architectures: every ABI a call was seen on, plus the native one, or exactly
///   [`SynthOptions::arches`] when given (calls on other ABIs are then left out and noted:
///   the profile never allows what was asked to be left out). Profile formats
///   name syscalls per profile, not per ABI, so a name seen on one of them is allowed on
///   all of the profile's ABIs (where it exists).
/// - One unconditional ALLOW rule per name seen, plus [`RUNTIME_SYSCALLS`].
/// - With [`SynthOptions::args`], calls with flag arguments get one ALLOW rule per
///   combination of values seen, each condition `aN == value`. An argument with more than
///   `max_values` distinct values is left unconstrained; so is a call seen on an ABI where
///   its arguments have another layout, or whose values were not recorded.
/// - Numbers without a name on their ABI, and calls from architectures sysgate does not
///   know, cannot be written into a profile: they are left out and noted.
///
/// ```
/// use sysgate::learn::{synthesize, Observations, SynthOptions};
/// use sysgate::policy::Action;
/// use sysgate::Arch;
///
/// let mut seen = Observations::default();
/// seen.record(Arch::X86_64, 0, "/bin/cat", 3); // read
/// seen.record(Arch::X86_64, 41, "/bin/cat", 1); // socket
/// seen.record_args(Arch::X86_64, 41, vec![1, 1]); // AF_UNIX, SOCK_STREAM
/// let opts = SynthOptions { args: true, ..SynthOptions::default() };
/// let learned = synthesize(&seen, &opts)?;
/// let p = &learned.policy;
/// assert_eq!(p.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
/// assert_eq!(p.decide(Arch::X86_64, 41, &[1, 1, 0, 0, 0, 0]).action, Action::Allow);
/// assert_eq!(p.decide(Arch::X86_64, 41, &[2, 1, 0, 0, 0, 0]).action, Action::Errno(1));
/// assert_eq!(p.decide(Arch::X86_64, 1, &[0; 6]).action, Action::Errno(1)); // write: unseen
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn synthesize(seen: &Observations, opts: &SynthOptions) -> Result<Learned, PolicyError> {
    let mut notes = Vec::new();
    let mut policy = Policy::new(opts.default_action);
    let arches: BTreeSet<Arch> = if opts.arches.is_empty() {
        let mut arches = seen.arches();
        arches.insert(Arch::native());
        arches
    } else {
        opts.arches.iter().copied().collect()
    };
    policy.set_arches(arches.iter().copied())?;

    // name → the ABIs it was seen on.
    let mut names: BTreeMap<&'static str, BTreeSet<Arch>> = BTreeMap::new();
    let mut left_out: BTreeMap<Arch, u64> = BTreeMap::new();
    for (&(arch, nr), count) in &seen.totals() {
        if !arches.contains(&arch) {
            *left_out.entry(arch).or_default() += count;
            continue;
        }
        match arch.syscall_name(nr) {
            Some(name) => {
                names.entry(name).or_default().insert(arch);
            }
            None => notes.push(format!(
                "syscall number {nr} on {arch} ({count} calls) has no name in sysgate's \
                 tables and cannot be written into a profile; it is left out"
            )),
        }
    }
    for (arch, count) in left_out {
        notes.push(format!(
            "{count} calls on {arch}, which is not one of the profile's architectures, are \
             left out: the profile gives them the bad-arch action"
        ));
    }
    for (&(token, nr), count) in seen.unknown_arch() {
        notes.push(format!(
            "{count} calls of syscall {nr} from unknown architecture token {token:#x} are \
             left out"
        ));
    }
    for name in RUNTIME_SYSCALLS {
        names.entry(name).or_default();
    }
    let multiplexers_seen: BTreeSet<Multiplexer> = names
        .keys()
        .filter_map(|n| match *n {
            "socketcall" => Some(Multiplexer::Socketcall),
            "ipc" => Some(Multiplexer::Ipc),
            _ => None,
        })
        .collect();

    let mut rules = Vec::new();
    for (name, on) in &names {
        let conds = if opts.args {
            arg_conditions(
                seen,
                name,
                on,
                &arches,
                &multiplexers_seen,
                opts,
                &mut notes,
            )
        } else {
            None
        };
        match conds {
            None => rules.push(Rule::new(Action::Allow, *name)),
            Some(sets) => {
                for set in sets {
                    rules.push(Rule::new(Action::Allow, *name).with_conds(set));
                }
            }
        }
    }
    for rule in normalize(rules) {
        policy.add_rule(rule)?;
    }
    Ok(Learned { policy, notes })
}

/// The condition sets (one per allowed combination) for `name`, or `None` to allow it
/// unconditionally.
fn arg_conditions(
    seen: &Observations,
    name: &str,
    on: &BTreeSet<Arch>,
    arches: &BTreeSet<Arch>,
    multiplexers_seen: &BTreeSet<Multiplexer>,
    opts: &SynthOptions,
    notes: &mut Vec<String>,
) -> Option<Vec<Vec<ArgCond>>> {
    // One layout for every ABI the name was seen on, or none at all.
    let mut layout: Option<&'static [u8]> = None;
    for &arch in on {
        let l = super::flag_args(name, arch)?;
        if layout.is_some_and(|prev| prev != l) {
            return None;
        }
        layout = Some(l);
    }
    let layout = layout?;
    // If the program also used a multiplexer that reaches this call on one of the policy's
    // ABIs, a condition on the direct call would make the policy deny the multiplexed one
    // (a filter cannot read its arguments).
    if let Some(via) = arches.iter().find_map(|a| a.multiplexed(name)) {
        if multiplexers_seen.contains(&via.via) {
            notes.push(format!(
                "{name}: also reached through {:?} here, whose arguments a filter cannot \
                 read; allowed without argument conditions",
                via.via
            ));
            return None;
        }
    }
    let mut tuples: BTreeSet<Vec<u64>> = BTreeSet::new();
    for &arch in on {
        let nr = arch.syscall_number(name)?;
        let values = seen.arg_values().get(&(arch, nr))?;
        tuples.extend(values.iter().cloned());
    }
    if tuples.is_empty() {
        return None;
    }

    // Drop arguments with too many values, then the most varied one while there are too
    // many combinations.
    let mut kept: Vec<usize> = (0..layout.len()).collect();
    loop {
        let distinct = |k: usize| tuples.iter().map(|t| t[k]).collect::<BTreeSet<_>>().len();
        let projected: BTreeSet<Vec<u64>> = tuples
            .iter()
            .map(|t| kept.iter().map(|&k| t[k]).collect())
            .collect();
        let worst = kept.iter().copied().max_by_key(|&k| distinct(k));
        let too_many_values = kept.iter().find(|&&k| distinct(k) > opts.max_values);
        let drop = match (too_many_values, worst) {
            (Some(&k), _) => Some(k),
            (None, Some(k)) if projected.len() > opts.max_values => Some(k),
            _ => None,
        };
        match drop {
            Some(k) => {
                notes.push(format!(
                    "{name}: a{} had {} distinct values (more than {}); it is not constrained",
                    layout[k],
                    distinct(k),
                    opts.max_values
                ));
                kept.retain(|&x| x != k);
                if kept.is_empty() {
                    return None;
                }
            }
            None => {
                return Some(
                    projected
                        .into_iter()
                        .map(|values| {
                            kept.iter()
                                .zip(values)
                                .map(|(&k, v)| {
                                    ArgCond::new(u32::from(layout[k]), CmpOp::Eq, v)
                                        .expect("flag argument indexes are below 6")
                                })
                                .collect()
                        })
                        .collect(),
                );
            }
        }
    }
}

/// Rules as a learned profile keeps them: one per (action, syscall, condition set), an
/// unconditional rule replacing the conditional ones of the same action and syscall, no
/// origins, sorted by syscall, action and conditions.
pub fn normalize(rules: impl IntoIterator<Item = Rule>) -> Vec<Rule> {
    let mut by_call: BTreeMap<(Syscall, Action), Option<BTreeSet<Vec<ArgCond>>>> = BTreeMap::new();
    for rule in rules {
        let entry = by_call
            .entry((rule.syscall, rule.action))
            .or_insert_with(|| Some(BTreeSet::new()));
        if rule.conds.is_empty() {
            *entry = None;
        } else if let Some(sets) = entry {
            let mut conds = rule.conds;
            conds.sort();
            conds.dedup();
            sets.insert(conds);
        }
    }
    let mut out = Vec::new();
    for ((syscall, action), sets) in by_call {
        match sets {
            None => out.push(Rule::new(action, syscall)),
            Some(sets) => {
                for conds in sets {
                    out.push(Rule::new(action, syscall.clone()).with_conds(conds));
                }
            }
        }
    }
    out
}

/// `policy` with the argument conditions of its permitting rules (ALLOW, LOG) dropped by
/// permitting the call for every argument: what `learn` writes without `--args`. This is for
/// a learned policy written in a format that cannot express argument conditions (systemd,
/// LXC version 1). Dropping them the way the profile writers drop them for any other
/// policy, toward refusing the call ([`crate::profile::write::without_conditions`]), would
/// refuse calls the program was seen making (`mmap` with the `prot` it used), so the program
/// would no longer run under its own profile. Refusing rules keep their conditions. Each
/// call concerned is noted, once, naming `format`.
///
/// ```
/// use sysgate::learn::without_arg_conditions;
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Errno(1));
/// policy.set_arches([Arch::X86_64])?;
/// let prot = |v| ArgCond::new(2, CmpOp::Eq, v).unwrap();
/// policy.add_rule(Rule::new(Action::Allow, "mmap").with_cond(prot(1)))?;
/// policy.add_rule(Rule::new(Action::Allow, "mmap").with_cond(prot(3)))?;
/// let plain = without_arg_conditions(&policy, "systemd")?;
/// assert_eq!(plain.policy.rules(), [Rule::new(Action::Allow, "mmap")]);
/// assert_eq!(plain.notes.len(), 1);
/// assert!(plain.notes[0].starts_with("mmap: systemd cannot"), "{}", plain.notes[0]);
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn without_arg_conditions(policy: &Policy, format: &str) -> Result<Learned, PolicyError> {
    let mut widened: BTreeMap<Syscall, Vec<String>> = BTreeMap::new();
    let rules: Vec<Rule> = policy
        .rules()
        .iter()
        .map(|rule| {
            if rule.conds.is_empty() || !rule.action.permits() {
                return rule.clone();
            }
            let conds: Vec<String> = rule.conds.iter().map(|c| c.to_string()).collect();
            widened
                .entry(rule.syscall.clone())
                .or_default()
                .push(conds.join(" && "));
            Rule::new(rule.action, rule.syscall.clone())
        })
        .collect();
    let mut out = Policy::new(policy.default_action());
    out.attrs = policy.attrs.clone();
    out.set_arches(policy.arches().iter().copied())?;
    for rule in normalize(rules) {
        out.add_rule(rule)?;
    }
    let notes = widened
        .into_iter()
        .map(|(syscall, conds)| {
            format!(
                "{syscall}: {format} cannot express argument conditions; allowed for every \
                 argument, as learned without --args, instead of only for the values seen ({})",
                conds.join("; ")
            )
        })
        .collect();
    Ok(Learned { policy: out, notes })
}

/// The union of `base` and `others`: every architecture and rule of each, normalized
/// ([`normalize`]), with `base`'s default action. Rules whose action is the default
/// action are dropped (they change nothing); an architecture whose byte order differs
/// from `base`'s is left out with a note.
///
/// ```
/// use sysgate::learn::union;
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::Arch;
///
/// let mut a = Policy::new(Action::Errno(1));
/// a.add_rule(Rule::new(Action::Allow, "read"))?;
/// let mut b = Policy::new(Action::KillProcess);
/// b.set_arches([Arch::X86_64, Arch::X86])?;
/// b.add_rule(Rule::new(Action::Allow, "write"))?;
/// let learned = union(&a, &[b])?;
/// assert_eq!(learned.policy.rules().len(), 2);
/// assert!(learned.policy.arches().contains(&Arch::X86));
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn union(base: &Policy, others: &[Policy]) -> Result<Learned, PolicyError> {
    let mut notes = Vec::new();
    let mut policy = Policy::new(base.default_action());
    policy.attrs = base.attrs.clone();
    policy.set_arches(base.arches().iter().copied())?;
    for other in others {
        for &arch in other.arches() {
            if let Err(e) = policy.add_arch(arch) {
                notes.push(format!("{e}; {arch} is left out"));
            }
        }
    }
    let default = policy.default_action();
    let rules = std::iter::once(base)
        .chain(others)
        .flat_map(|p| p.rules().iter().cloned())
        .filter(|r| r.action != default);
    for rule in normalize(rules) {
        policy.add_rule(rule)?;
    }
    Ok(Learned { policy, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{docker, Target};

    fn seen_with_sockets(domains: impl IntoIterator<Item = u64>) -> Observations {
        let mut seen = Observations::default();
        seen.record(Arch::X86_64, 0, "/bin/a", 1); // read
        seen.record(Arch::X86_64, 41, "/bin/a", 1); // socket
        for d in domains {
            seen.record_args(Arch::X86_64, 41, vec![d, 1]);
        }
        seen
    }

    fn with_args() -> SynthOptions {
        SynthOptions {
            args: true,
            ..SynthOptions::default()
        }
    }

    #[test]
    fn given_arches_are_exactly_the_profiles_and_calls_on_others_are_left_out() {
        let mut seen = Observations::default();
        seen.record(Arch::X86_64, 0, "/bin/a", 1); // read
        seen.record(Arch::X86, 20, "/bin/a", 2); // getpid on i386
        let opts = SynthOptions {
            arches: vec![Arch::X86_64],
            ..SynthOptions::default()
        };
        let learned = synthesize(&seen, &opts).unwrap();
        let p = &learned.policy;
        assert_eq!(p.arches(), &[Arch::X86_64][..]);
        assert_eq!(p.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
        // getpid was seen only on i386, which is left out: not allowed anywhere.
        assert_eq!(p.decide(Arch::X86_64, 39, &[0; 6]).action, Action::Errno(1));
        assert_eq!(p.decide(Arch::X86, 20, &[0; 6]).action, p.attrs.bad_arch);
        assert!(
            learned.notes.iter().any(|n| n.contains("2 calls on x86")),
            "{:?}",
            learned.notes
        );
    }

    #[test]
    fn the_rendered_profile_reads_back_as_the_same_policy() {
        let mut seen = seen_with_sockets([1, 2]);
        seen.record(Arch::X86, 20, "/bin/a", 1); // getpid on i386
        let learned = synthesize(&seen, &with_args()).unwrap();
        let json = docker::write(&learned.policy, None, &Default::default()).text;
        let back = docker::parse(&json, "learned.json", &Target::new(Arch::X86_64))
            .unwrap()
            .policy;
        assert_eq!(back.arches(), learned.policy.arches());
        for (arch, nr, args) in [
            (Arch::X86_64, 0, [0u64; 6]),
            (Arch::X86_64, 41, [1, 1, 0, 0, 0, 0]),
            (Arch::X86_64, 41, [2, 1, 0, 0, 0, 0]),
            (Arch::X86_64, 41, [10, 1, 0, 0, 0, 0]),
            (Arch::X86_64, 41, [1, 2, 0, 0, 0, 0]),
            (Arch::X86_64, 59, [0; 6]), // execve: always allowed
            (Arch::X86_64, 1, [0; 6]),  // write: never seen
            (Arch::X86, 20, [0; 6]),
            (Arch::X86, 4, [0; 6]),
        ] {
            assert_eq!(
                back.decide(arch, nr, &args).action,
                learned.policy.decide(arch, nr, &args).action,
                "{arch} {nr} {args:?}"
            );
        }
        let p = &learned.policy;
        assert_eq!(
            p.decide(Arch::X86_64, 41, &[10, 1, 0, 0, 0, 0]).action,
            Action::Errno(1)
        );
        assert_eq!(p.decide(Arch::X86, 20, &[0; 6]).action, Action::Allow);
    }

    #[test]
    fn too_many_values_drop_the_condition_and_say_so() {
        let seen = seen_with_sockets(0..40);
        let learned = synthesize(&seen, &with_args()).unwrap();
        let socket: Vec<&Rule> = learned
            .policy
            .rules()
            .iter()
            .filter(|r| r.syscall == Syscall::from("socket"))
            .collect();
        // a0 had 40 values: dropped; a1 (always 1) is kept.
        assert_eq!(socket.len(), 1);
        assert_eq!(socket[0].conds, [ArgCond::new(1, CmpOp::Eq, 1).unwrap()]);
        assert!(learned
            .notes
            .iter()
            .any(|n| n.contains("a0 had 40 distinct values")));
    }

    #[test]
    fn calls_without_recorded_values_are_never_constrained() {
        // socket seen, but no values recorded (e.g. from an audit log).
        let mut seen = Observations::default();
        seen.record(Arch::X86_64, 41, "/bin/a", 1);
        let learned = synthesize(&seen, &with_args()).unwrap();
        let p = &learned.policy;
        assert_eq!(
            p.decide(Arch::X86_64, 41, &[7, 7, 0, 0, 0, 0]).action,
            Action::Allow
        );
    }

    #[test]
    fn old_mmap_on_i386_keeps_mmap_unconstrained() {
        let mut seen = Observations::default();
        seen.record(Arch::X86_64, 9, "/bin/a", 1); // mmap
        seen.record_args(Arch::X86_64, 9, vec![3]);
        seen.record(Arch::X86, 90, "/bin/a", 1); // old_mmap: a struct pointer
        let learned = synthesize(&seen, &with_args()).unwrap();
        let p = &learned.policy;
        assert_eq!(
            p.decide(Arch::X86_64, 9, &[0, 0, 7, 0, 0, 0]).action,
            Action::Allow
        );
        assert_eq!(
            p.decide(Arch::X86, 90, &[0x1234, 0, 0, 0, 0, 0]).action,
            Action::Allow
        );
    }

    #[test]
    fn socketcall_use_keeps_socket_unconstrained() {
        let mut seen = seen_with_sockets([1]);
        seen.record(Arch::X86, 102, "/bin/a", 1); // socketcall
        let learned = synthesize(&seen, &with_args()).unwrap();
        let p = &learned.policy;
        // socketcall(SYS_SOCKET, ...) on i386 must not be denied by a conditional socket rule.
        assert_eq!(
            p.decide(Arch::X86, 102, &[1, 0, 0, 0, 0, 0]).action,
            Action::Allow
        );
        assert!(learned.notes.iter().any(|n| n.contains("Socketcall")));
    }

    #[test]
    fn unnamed_numbers_and_unknown_arches_are_left_out_with_a_note() {
        let mut seen = Observations::default();
        seen.record(Arch::X86_64, 999, "/bin/a", 2);
        seen.record_unknown_arch(0x1234, 5, 1);
        let learned = synthesize(&seen, &SynthOptions::default()).unwrap();
        assert_eq!(learned.notes.len(), 2);
        assert_eq!(learned.policy.rules().len(), RUNTIME_SYSCALLS.len());
    }

    #[test]
    fn without_arg_conditions_keeps_the_conditions_of_refusing_rules() {
        let a0 = |v| ArgCond::new(0, CmpOp::Eq, v).unwrap();
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        p.add_rule(Rule::new(Action::Allow, "socket").with_cond(a0(1)))
            .unwrap();
        p.add_rule(Rule::new(Action::KillProcess, "socket").with_cond(a0(16)))
            .unwrap();
        let plain = without_arg_conditions(&p, "systemd").unwrap().policy;
        let decide = |args: [u64; 6]| plain.decide(Arch::X86_64, 41, &args).action;
        assert_eq!(decide([2, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(decide([16, 0, 0, 0, 0, 0]), Action::KillProcess);
    }

    #[test]
    fn union_keeps_the_widest_rule_and_drops_rules_of_the_default_action() {
        let mut a = Policy::new(Action::Errno(1));
        a.add_rule(
            Rule::new(Action::Allow, "socket").with_cond(ArgCond::new(0, CmpOp::Eq, 1).unwrap()),
        )
        .unwrap();
        let mut b = Policy::new(Action::Errno(1));
        b.add_rule(Rule::new(Action::Allow, "socket")).unwrap();
        b.add_rule(Rule::new(Action::Errno(1), "read")).unwrap();
        let u = union(&a, &[b]).unwrap().policy;
        assert_eq!(u.rules(), [Rule::new(Action::Allow, "socket")]);
    }
}
