//! What a policy does, in words: the default, the architectures, per action the syscalls
//! (grouped by systemd set where a whole set gets it), the argument rules, the conflicts and
//! which rule wins, and the names each architecture lacks.
//!
//! This module only describes; the answers come from the reference evaluator
//! ([`Policy::decide`]) and [`Policy::diagnostics`].
//!
//! ```
//! use sysgate::policy::{Action, Policy, Rule};
//! use sysgate::profile::show::show;
//! use sysgate::Arch;
//!
//! let mut policy = Policy::new(Action::Errno(1));
//! policy.set_arches([Arch::X86_64])?;
//! for name in ["read", "write", "close"] {
//!     policy.add_rule(Rule::new(Action::Allow, name))?;
//! }
//! let text = show(&policy);
//! assert!(text.contains("default: ERRNO(1 EPERM)"));
//! assert!(text.contains("ALLOW (3 syscalls):\n    close read write\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::systemd_sets::{self, SystemdVersion};
use super::write::{empty_like, name_outcomes};
use crate::arch::Arch;
use crate::policy::{Action, CmpOp, Diagnostic, Errno, Numbering, Policy, Rule};

/// `policy` with every errno name replaced by `arch`'s number for it.
fn names_numbered(policy: &Policy, arch: Arch) -> Policy {
    let mut p = policy.clone();
    // Each action was valid, and a name's number is too (at most 4095).
    let _ = p.set_default_action(p.default_action().for_arch(arch));
    p.attrs.bad_arch = p.attrs.bad_arch.for_arch(arch);
    for i in 0..p.rules().len() {
        let action = p.rules()[i].action.for_arch(arch);
        let _ = p.set_rule_action(i, action);
    }
    p
}

/// A readable account of `policy`.
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::profile::show::show;
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Errno(1), "socket").with_cond(ArgCond::new(0, CmpOp::Eq, 16)?))?;
/// assert!(show(&policy).contains("ERRNO(1 EPERM) socket when argument 0 is 16 (0x10)"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn show(policy: &Policy) -> String {
    // Errno names are shown as the policy's architectures number them (ENOSYS is 89 on mips)
    // when they all number them alike, which is the usual case; otherwise as names.
    let numbered_as = policy.arches().first().copied().filter(|a| {
        let n = Numbering::of(*a);
        policy.arches().iter().all(|b| Numbering::of(*b) == n)
    });
    let resolved;
    let policy = match numbered_as {
        Some(arch) => {
            resolved = names_numbered(policy, arch);
            &resolved
        }
        None => policy,
    };
    let shown = |a: Action| match numbered_as {
        Some(arch) => a.on(arch).to_string(),
        None => a.to_string(),
    };
    let mut out = String::new();
    let arches: Vec<&str> = policy.arches().iter().map(|a| a.name()).collect();
    let _ = writeln!(out, "default: {}", shown(policy.default_action()));
    let _ = writeln!(
        out,
        "architectures: {} (calls from others: {})",
        arches.join(", "),
        shown(policy.attrs.bad_arch)
    );
    if policy.attrs.enosys_for_unknown_syscalls {
        let _ = writeln!(
            out,
            "syscalls newer than the table: {} unless a rule says otherwise",
            shown(Action::NamedErrno(Errno::ENOSYS))
        );
    }
    if !policy.attrs.enosys_above.is_empty() {
        let above: Vec<String> = policy
            .attrs
            .enosys_above
            .iter()
            .map(|(arch, nr)| {
                // x32's numbers carry the x32 bit: shown in hex, as `disasm` shows them.
                let number = if *arch == Arch::X32 {
                    format!("{nr:#x}")
                } else {
                    nr.to_string()
                };
                match arch.syscall_name(*nr) {
                    Some(name) => format!("{arch} {number} ({name})"),
                    None => format!("{arch} {number}"),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "ENOSYS above the largest syscall named (runc's rule): {}",
            above.join(", ")
        );
    }
    let mut attrs = Vec::new();
    let f = policy.attrs.flags;
    for (on, name) in [
        (f.tsync, "TSYNC"),
        (f.log, "LOG"),
        (f.spec_allow, "SPEC_ALLOW"),
        (f.new_listener, "NEW_LISTENER"),
        (f.tsync_esrch, "TSYNC_ESRCH"),
        (f.wait_killable_recv, "WAIT_KILLABLE_RECV"),
    ] {
        if on {
            attrs.push(name);
        }
    }
    let _ = writeln!(
        out,
        "flags: {}; no_new_privs: {}",
        if attrs.is_empty() {
            "none".to_string()
        } else {
            attrs.join(" ")
        },
        if policy.attrs.no_new_privs {
            "set"
        } else {
            "not set"
        }
    );

    // Per action, the names decided without looking at arguments. Names with argument rules
    // are marked with '*' and listed below.
    let mut unconditional = empty_like(policy);
    for r in policy.rules().iter().filter(|r| r.conds.is_empty()) {
        // The rule came from a valid policy.
        let _ = unconditional.add_rule(r.clone());
    }
    let outcomes = name_outcomes(&unconditional);
    let conditional: BTreeSet<String> = policy
        .rules()
        .iter()
        .filter(|r| !r.conds.is_empty())
        .map(|r| r.syscall.to_string())
        .collect();
    let mut per_action: BTreeMap<Action, BTreeSet<&'static str>> = BTreeMap::new();
    let mut differs: Vec<String> = Vec::new();
    for (name, o) in &outcomes {
        per_action.entry(o.action).or_default().insert(name);
        if !o.differs_on.is_empty() {
            let arches: Vec<&str> = o.differs_on.iter().map(|a| a.name()).collect();
            differs.push(format!("{name} (differs on {})", arches.join(", ")));
        }
    }
    let default = policy.default_action();
    let mut actions: Vec<&Action> = per_action.keys().collect();
    actions.sort_by_key(|a| std::cmp::Reverse(a.precedence()));
    for action in actions {
        let names = &per_action[action];
        if *action == default {
            let _ = writeln!(
                out,
                "\n{} (the default): {} other syscalls",
                shown(*action),
                names.len()
            );
            continue;
        }
        let _ = writeln!(out, "\n{} ({} syscalls):", shown(*action), names.len());
        let mark = |n: &str| {
            if conditional.contains(n) {
                format!("{n}*")
            } else {
                n.to_string()
            }
        };
        let mut rest: BTreeSet<&str> = names.clone();
        // Whole systemd sets first, largest first.
        let mut sets: Vec<&systemd_sets::SetDef> = systemd_sets::sets(SystemdVersion::Newest)
            .iter()
            .filter(|s| s.name != "@known")
            .collect();
        sets.sort_by_key(|s| std::cmp::Reverse(s.syscalls.len()));
        for set in sets {
            let members: Vec<&str> = set
                .syscalls
                .iter()
                .copied()
                .filter(|n| outcomes.contains_key(n))
                .collect();
            if members.len() < 2
                || !members.iter().all(|n| names.contains(n))
                || !members.iter().any(|n| rest.contains(n))
            {
                continue;
            }
            let listed: Vec<String> = members
                .iter()
                .filter(|n| rest.contains(*n))
                .map(|n| mark(n))
                .collect();
            for m in &members {
                rest.remove(m);
            }
            let _ = writeln!(out, "  {} (whole set):", set.name);
            wrap(&mut out, &listed);
        }
        if !rest.is_empty() {
            let listed: Vec<String> = rest.iter().map(|n| mark(n)).collect();
            if rest.len() != names.len() {
                let _ = writeln!(out, "  other:");
            }
            wrap(&mut out, &listed);
        }
    }
    if !differs.is_empty() {
        let _ = writeln!(
            out,
            "\ndecided differently per architecture (the most restrictive is shown above):\n  {}",
            differs.join(", ")
        );
    }

    let conditional_rules: Vec<(usize, &Rule)> = policy
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.conds.is_empty())
        .collect();
    if !conditional_rules.is_empty() {
        let _ = writeln!(out, "\nargument rules (*):");
        let mut lines: Vec<String> = conditional_rules
            .iter()
            .map(|(i, r)| format!("  #{i} {}", in_words_as(r, numbered_as)))
            .collect();
        lines.sort_by(|a, b| strip_index(a).cmp(strip_index(b)));
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }

    match policy.diagnostics() {
        Ok(diags) => {
            let mut conflicts = Vec::new();
            let mut unknown: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
            let mut mux = Vec::new();
            for d in &diags {
                match d {
                    Diagnostic::Overlap { .. } => {
                        conflicts.push(format!("  {}", d.describe(policy)))
                    }
                    Diagnostic::UnknownOnArch { rule, arches, .. } => {
                        for arch in arches {
                            unknown
                                .entry(arch.name())
                                .or_default()
                                .insert(policy.rules()[*rule].syscall.to_string());
                        }
                    }
                    Diagnostic::ConditionalMultiplexed { .. } => {
                        mux.push(format!("  {}", d.describe(policy)))
                    }
                }
            }
            if !conflicts.is_empty() {
                let _ = writeln!(out, "\nconflicts (the most restrictive action wins):");
                for c in conflicts {
                    let _ = writeln!(out, "{c}");
                }
            }
            if !mux.is_empty() {
                let _ = writeln!(out, "\nmultiplexed calls:");
                for m in mux {
                    let _ = writeln!(out, "{m}");
                }
            }
            if !unknown.is_empty() {
                let _ = writeln!(out, "\nnames unknown on an architecture (skipped there):");
                for (arch, names) in unknown {
                    let names: Vec<String> = names.into_iter().collect();
                    let _ = writeln!(out, "  {arch}:");
                    wrap(&mut out, &names);
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "\nthe policy is invalid: {e}");
        }
    }
    out
}

/// Words on lines of at most 100 columns, indented by four.
fn wrap(out: &mut String, words: &[String]) {
    let mut line = String::from("   ");
    for w in words {
        if line.len() + 1 + w.len() > 100 && line.len() > 3 {
            let _ = writeln!(out, "{line}");
            line = String::from("   ");
        }
        line.push(' ');
        line.push_str(w);
    }
    if line.len() > 3 {
        let _ = writeln!(out, "{line}");
    }
}

fn strip_index(line: &str) -> &str {
    line.trim_start()
        .split_once(' ')
        .map_or(line, |(_, rest)| rest)
}

/// A rule in words: `ERRNO(1 EPERM) socket when argument 0 is 16 (0x10) (file:1:2)`.
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Rule};
/// use sysgate::profile::show::in_words;
///
/// let r = Rule::new(Action::Allow, "clone")
///     .with_cond(ArgCond::new(0, CmpOp::MaskedEq(0x7e020000), 0)?);
/// assert_eq!(in_words(&r), "ALLOW clone when argument 0 has none of the bits 0x7e020000");
/// # Ok::<(), sysgate::policy::CondError>(())
/// ```
pub fn in_words(rule: &Rule) -> String {
    in_words_as(rule, None)
}

/// [`in_words`] with errno numbers named as `arch` names them.
fn in_words_as(rule: &Rule, arch: Option<Arch>) -> String {
    let action = match arch {
        Some(arch) => rule.action.on(arch).to_string(),
        None => rule.action.to_string(),
    };
    let mut s = format!("{action} {}", rule.syscall);
    for (i, c) in rule.conds.iter().enumerate() {
        s.push_str(if i == 0 { " when " } else { " and " });
        let v = c.value();
        let num = |v: u64| {
            if v < 10 {
                v.to_string()
            } else {
                format!("{v} ({v:#x})")
            }
        };
        let a = c.arg();
        let _ = match c.op() {
            CmpOp::Eq => write!(s, "argument {a} is {}", num(v)),
            CmpOp::Ne => write!(s, "argument {a} is not {}", num(v)),
            CmpOp::Lt => write!(s, "argument {a} < {}", num(v)),
            CmpOp::Le => write!(s, "argument {a} <= {}", num(v)),
            CmpOp::Gt => write!(s, "argument {a} > {}", num(v)),
            CmpOp::Ge => write!(s, "argument {a} >= {}", num(v)),
            CmpOp::MaskedEq(m) if v == 0 => {
                write!(s, "argument {a} has none of the bits {m:#x}")
            }
            CmpOp::MaskedEq(m) if v == m => write!(s, "argument {a} has all of the bits {m:#x}"),
            CmpOp::MaskedEq(m) => write!(s, "argument {a} & {m:#x} is {v:#x}"),
        };
    }
    if let Some(arches) = &rule.only_on {
        let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
        let _ = write!(s, ", only on {}", names.join(", "));
    }
    if let Some(o) = &rule.origin {
        let _ = write!(s, " ({o})");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, Rule};
    use crate::Arch;

    #[test]
    fn repeated_unconditional_rules_show_their_most_restrictive_action() {
        let mut p = Policy::new(Action::Errno(1));
        p.set_arches([Arch::X86_64]).unwrap();
        for a in [Action::Allow, Action::Log, Action::Allow, Action::Allow] {
            p.add_rule(Rule::new(a, "read")).unwrap();
        }
        p.add_rule(Rule::new(Action::Allow, "write")).unwrap();
        let text = show(&p);
        assert!(text.contains("LOG (1 syscalls):\n    read"), "{text}");
        assert!(text.contains("ALLOW (1 syscalls):\n    write"), "{text}");
    }
}
