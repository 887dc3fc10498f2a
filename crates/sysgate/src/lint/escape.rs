//! Escape routes: a refused call with an allowed equivalent (`equivalent-allowed`), io_uring
//! (`io-uring-allowed`), tracing (`tracing-allowed`), pointers compared as values
//! (`pointer-compared`) and user notification deciding security (`notify-decides`).
//!
//! This file owns these checks; the pointer table is in `tables.rs`, the equivalent calls in
//! [`crate::profile::portable`] (the table `--portable` reads).

use std::collections::{BTreeMap, BTreeSet};

use super::tables::pointer_args;
use super::tables::Probe;
use super::{list, on_arches, Finding, Lint, Severity, Unique, Verdict};
use crate::arch::Arch;
use crate::policy::{multiplexed_names, Action, DecidedBy, Syscall};
use crate::profile::portable;

pub(super) fn check(l: &Lint<'_>, out: &mut Vec<Finding>) {
    equivalent_allowed(l, out);
    io_uring(l, out);
    tracing(l, out);
    pointer_compared(l, out);
    notify_decides(l, out);
}

/// A refused call, and a way to do the same that is allowed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Escape {
    refused_at: String,
    refused: String,
    action: String,
    /// Whether the alternative is the refused call's own multiplexed path.
    through: bool,
    alternative: String,
    allowed_at: String,
}

fn equivalent_allowed(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let mut names: BTreeSet<&str> = portable::names().collect();
    names.extend(multiplexed_names());
    let mut found: BTreeMap<Escape, BTreeSet<Arch>> = BTreeMap::new();
    for &arch in l.policy.arches() {
        for &name in &names {
            let Some(nr) = arch.syscall_number(name) else {
                continue;
            };
            let direct = super::Way {
                arch,
                nr,
                call: None,
            };
            let Verdict::Refused(refused) = l.verdict(direct) else {
                continue;
            };
            // Its own multiplexed path, then (when a rule refuses it on purpose) every way of
            // every equivalent. A call an allow list merely leaves out while allowing an
            // equivalent is not walked around: the profile allows that work anyway.
            let mut alternatives: Vec<(bool, String, super::Way)> = l
                .ways(arch, name)
                .into_iter()
                .filter(|(_, w)| w.call.is_some())
                .map(|(_, w)| {
                    let mux = arch.syscall_name(w.nr).unwrap_or("its multiplexer");
                    (true, mux.to_string(), w)
                })
                .collect();
            // A rule written where the default is (systemd's allow list turns every name it
            // leaves out into such a rule) is the default's refusal, not one of its own.
            let on_purpose =
                matches!(refused.by, DecidedBy::Rule(_)) && l.place(&refused) != l.default_place();
            if on_purpose {
                for other in portable::alike(name) {
                    alternatives
                        .extend(l.ways(arch, other).into_iter().map(|(n, w)| (false, n, w)));
                }
            }
            for (through, label, way) in alternatives {
                if let Verdict::Allowed(allowed) = l.verdict(way) {
                    let e = Escape {
                        refused_at: l.place(&refused),
                        refused: name.to_string(),
                        action: refused.action.on(arch).to_string(),
                        through,
                        alternative: label,
                        allowed_at: l.place(&allowed),
                    };
                    found.entry(e).or_default().insert(arch);
                }
            }
        }
    }
    // One finding per refusing place, allowing place and set of ABIs: the names refused
    // there and the ways around them.
    type Key = (String, String, bool, String, BTreeSet<Arch>);
    let mut merged: BTreeMap<Key, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (e, arches) in found {
        let m = merged
            .entry((e.refused_at, e.action, e.through, e.allowed_at, arches))
            .or_default();
        if !m.0.contains(&e.refused) {
            m.0.push(e.refused);
        }
        if !m.1.contains(&e.alternative) {
            m.1.push(e.alternative);
        }
    }
    for ((at, action, through, allowed_at, arches), (refused, alternatives)) in merged {
        let (does, is) = if refused.len() == 1 {
            ("does", "is")
        } else {
            ("do", "are")
        };
        let (refused, alternatives) = (list(&refused), list(&alternatives));
        let (message, why, fix) = if through {
            (
                format!(
                    "{refused} refused ({action}) but allowed through {alternatives} \
                     ({allowed_at}) {}",
                    on_arches(&arches)
                ),
                format!(
                    "{alternatives} makes the same calls with the call number as its first \
                     argument (the real arguments are in memory, out of the filter's reach), so \
                     allowing it allows every call it carries"
                ),
                format!(
                    "allow {alternatives} only for the calls the workload needs (a0 == the call \
                     number), or refuse it with ERRNO(ENOSYS) so that libc uses the direct calls"
                ),
            )
        } else {
            (
                format!(
                    "{refused} refused ({action}) but {alternatives} allowed ({allowed_at}) {}",
                    on_arches(&arches)
                ),
                format!(
                    "{alternatives} can do what {refused} {does}, so the refusal refuses nothing"
                ),
                format!(
                    "refuse {alternatives} as {refused} {is} refused (or allow {refused} if \
                     {refused} {is} not meant to be refused)"
                ),
            )
        };
        out.push(Finding {
            severity: Severity::High,
            id: "equivalent-allowed",
            at,
            message,
            why,
            fix,
        });
    }
}

fn io_uring(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let names = [
        ("io_uring_setup", Probe::AnyCall),
        ("io_uring_enter", Probe::AnyCall),
        ("io_uring_register", Probe::AnyCall),
    ];
    for (at, g) in l.allowed_calls(&names) {
        out.push(Finding {
            severity: Severity::High,
            id: "io-uring-allowed",
            at,
            message: format!("{} allowed {}", list(&g.names), on_arches(&g.arches)),
            why: "the operations of an io_uring (open, read, write, connect, send, ...) are \
                  carried out by the kernel without a syscall, so the filter never sees them: \
                  every refusal of the profile can be walked around through a ring"
                .to_string(),
            fix: "refuse io_uring_setup, io_uring_enter and io_uring_register (as Docker and \
                  ChromeOS do), or set the kernel.io_uring_disabled sysctl"
                .to_string(),
        });
    }
}

fn tracing(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let names = [
        ("ptrace", Probe::AnyCall),
        ("process_vm_writev", Probe::AnyCall),
    ];
    for (at, g) in l.allowed_calls(&names) {
        out.push(Finding {
            severity: Severity::Medium,
            id: "tracing-allowed",
            at,
            message: format!("{} allowed {}", list(&g.names), on_arches(&g.arches)),
            why: "a tracer can rewrite a tracee's registers and memory after its filter has \
                  checked a call (before kernel 4.8 it could even change the syscall after the \
                  check), and process_vm_writev writes another process's memory; within one \
                  sandbox they let one process undo the checks made on another"
                .to_string(),
            fix: "refuse ptrace and process_vm_writev unless the workload debugs or traces; \
                  Docker allows them only from kernel 4.8 (or with CAP_SYS_PTRACE)"
                .to_string(),
        });
    }
}

fn pointer_compared(l: &Lint<'_>, out: &mut Vec<Finding>) {
    // Per syscall and pointer arguments: the places of the rules comparing them.
    let mut found: BTreeMap<(String, BTreeSet<usize>), Unique> = BTreeMap::new();
    for (i, rule) in l.policy.rules().iter().enumerate() {
        let Syscall::Name(name) = &rule.syscall else {
            continue;
        };
        let pointers = pointer_args(name);
        let compared: BTreeSet<usize> = rule
            .conds
            .iter()
            .map(|c| c.arg())
            .filter(|a| pointers.contains(a))
            .collect();
        if compared.is_empty() {
            continue;
        }
        found
            .entry((name.clone(), compared))
            .or_default()
            .push(l.rule_place(i));
    }
    for ((name, args), places) in found {
        let places = places.items;
        let rules = match places.len() {
            1 => String::new(),
            n => format!(" by {n} rules (this one and {} more)", n - 1),
        };
        out.push(Finding {
            severity: Severity::Medium,
            id: "pointer-compared",
            at: places[0].clone(),
            message: format!(
                "{name} compared on {}{rules}, which {} a pointer",
                list(args.iter().map(|a| format!("a{a}"))),
                if args.len() == 1 { "is" } else { "are" }
            ),
            why: "seccomp compares the address, never the path or structure stored there, and \
                  the process can change that memory after the check (time of check to time \
                  of use): the condition decides nothing about what the call does"
                .to_string(),
            fix: "drop the condition on the pointer; restrict paths with Landlock, mount \
                  namespaces or file permissions instead"
                .to_string(),
        });
    }
}

fn notify_decides(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let why = "the supervisor reads the call's arguments from the process's memory after the \
               filter has run, and another thread can change them before the kernel does \
               (seccomp_unotify(2) warns against deciding security this way); \
               SECCOMP_USER_NOTIF_FLAG_CONTINUE lets the call run with whatever is there then"
        .to_string();
    let fix = "decide security in the filter (or refuse the call) and use notification only \
               to emulate calls on the process's behalf"
        .to_string();
    if l.policy.default_action() == Action::UserNotif {
        out.push(Finding {
            severity: Severity::Medium,
            id: "notify-decides",
            at: l.default_place(),
            message: "the default action is USER_NOTIF: a supervisor decides every call no \
                      rule matches"
                .to_string(),
            why: why.clone(),
            fix: fix.clone(),
        });
    }
    let mut by_place: BTreeMap<String, Unique> = BTreeMap::new();
    for (i, rule) in l.policy.rules().iter().enumerate() {
        if rule.action == Action::UserNotif {
            by_place
                .entry(l.rule_place(i))
                .or_default()
                .push(rule.syscall.to_string());
        }
    }
    for (at, names) in by_place {
        let names = names.items;
        out.push(Finding {
            severity: Severity::Medium,
            id: "notify-decides",
            at,
            message: format!("{} decided by a USER_NOTIF supervisor", list(&names)),
            why: why.clone(),
            fix: fix.clone(),
        });
    }
}
