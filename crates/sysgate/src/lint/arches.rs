//! Architecture gaps: a compat ABI that allows what the native ABI refuses
//! (`compat-abi-gap`), and ABIs left out of the policy whose calls are allowed
//! (`bad-arch-permits`).
//!
//! This file owns comparing a policy's ABIs with each other; which ABIs a kernel runs beside
//! its own is in `tables.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::tables::compat_abis;
use super::tables::Probe;
use super::{list, Finding, Lint, Severity, Verdict, Way};
use crate::arch::Arch;

pub(super) fn check(l: &Lint<'_>, out: &mut Vec<Finding>) {
    compat_gap(l, out);
    bad_arch(l, out);
}

fn compat_gap(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let arches = l.policy.arches();
    for &native in arches {
        for &compat in compat_abis(native) {
            if !arches.contains(&compat) {
                continue;
            }
            // Per place that allows it on the compat ABI: the names native refuses.
            let mut found: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for (name, nr) in native.table().iter() {
                let Some(cnr) = compat.syscall_number(name) else {
                    continue;
                };
                let direct = |arch, nr| Way {
                    arch,
                    nr,
                    call: None,
                };
                if !matches!(l.verdict(direct(native, nr)), Verdict::Refused(_)) {
                    continue;
                }
                if let Verdict::Allowed(d) = l.verdict(direct(compat, cnr)) {
                    found.entry(l.place(&d)).or_default().push(name);
                }
            }
            for (at, names) in found {
                let shown: Vec<&str> = names.iter().copied().take(8).collect();
                let more = if names.len() > shown.len() {
                    format!(" and {} more", names.len() - shown.len())
                } else {
                    String::new()
                };
                out.push(Finding {
                    severity: Severity::High,
                    id: "compat-abi-gap",
                    at,
                    message: format!(
                        "{} refuses {}{more}, which {} allows",
                        native.name(),
                        shown.join(", "),
                        compat.name()
                    ),
                    why: format!(
                        "a process on an {} kernel can make {} calls (switching ABI in place, \
                         or executing a program built for {}), which the filter decides by {}'s \
                         rules, so what {} refuses is one ABI switch away",
                        native.name(),
                        compat.name(),
                        compat.name(),
                        compat.name(),
                        native.name()
                    ),
                    fix: format!(
                        "give {} the rules {} has, or leave {} out of the policy so that its \
                         calls get the bad-arch action",
                        compat.name(),
                        native.name(),
                        compat.name()
                    ),
                });
            }
        }
    }
}

fn bad_arch(l: &Lint<'_>, out: &mut Vec<Finding>) {
    let action = l.policy.bad_arch_action();
    if !action.permits() {
        return;
    }
    let arches = l.policy.arches();
    let missing: BTreeSet<Arch> = arches
        .iter()
        .flat_map(|a| compat_abis(*a).iter().copied())
        .filter(|a| !arches.contains(a))
        .collect();
    if missing.is_empty() {
        return;
    }
    let exec_allowed = l.allowed_calls(&[("execve", Probe::AnyCall), ("execveat", Probe::AnyCall)]);
    let (severity, how) = if exec_allowed.is_empty() {
        (
            Severity::Medium,
            "a process can still switch ABI without executing anything (int 0x80 on x86_64)",
        )
    } else {
        (
            Severity::High,
            "execve is allowed, so a program built for them runs unfiltered",
        )
    };
    out.push(Finding {
        severity,
        id: "bad-arch-permits",
        at: l.default_place(),
        message: format!(
            "calls from {} (not in the policy) get {action}: {how}",
            list(missing.iter().map(|a| a.name()))
        ),
        why: format!(
            "the kernel runs {} programs beside {}'s, and every call they make skips the rules",
            list(missing.iter().map(|a| a.name())),
            list(arches.iter().map(|a| a.name()))
        ),
        fix: format!(
            "make the bad-arch action refuse (KILL_PROCESS), or add {} with the same rules",
            list(missing.iter().map(|a| a.name()))
        ),
    });
}
