//! Dangerous grants: calls the kernel otherwise reserves for a capability, or that are
//! dangerous in themselves (`grant-*`, `personality-unchecked`, `ioctl-tiocsti`).
//!
//! This file owns judging a grant against the target's capabilities: a grant the target's
//! capabilities cover is what a runtime such as Docker adds for that capability, so it is
//! `info`; without them it is the check's own severity. The table is in `tables.rs`.

use super::tables::GRANTS;
use super::{check as check_by_id, list, on_arches, Finding, Lint, Severity};

pub(super) fn check(l: &Lint<'_>, out: &mut Vec<Finding>) {
    for grant in GRANTS {
        let held: Vec<&str> = grant
            .caps
            .iter()
            .copied()
            .filter(|c| l.context.caps.contains(*c))
            .collect();
        let severity = if held.is_empty() {
            check_by_id(grant.id).map_or(Severity::Medium, |c| c.severity)
        } else {
            Severity::Info
        };
        let needs = match (grant.caps, held.as_slice()) {
            ([], _) => "no capability guards it".to_string(),
            (caps, []) => format!(
                "the kernel otherwise needs {}, which the target does not hold",
                list_or(caps)
            ),
            (_, held) => format!("the target holds {}, which grants it", list(held)),
        };
        for (at, g) in l.allowed_calls(grant.names) {
            let with = if grant.with.is_empty() {
                String::new()
            } else {
                format!(" {}", grant.with)
            };
            out.push(Finding {
                severity,
                id: grant.id,
                at,
                message: format!(
                    "{} allowed{with} {}; {needs}",
                    list(&g.names),
                    on_arches(&g.arches)
                ),
                why: grant.why.to_string(),
                fix: grant.fix.to_string(),
            });
        }
    }
}

/// `a, b or c`.
fn list_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
