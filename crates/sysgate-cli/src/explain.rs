//! Explaining a kill: which syscall the filter killed the program for, which rule or
//! default decided, and the flag or profile change that would allow it.
//!
//! The syscall comes from the kernel's seccomp audit record ([`sysgate::kernel::AuditReader`]),
//! subscribed to before the program starts. The records wait in the socket (4 MiB of
//! receive buffer) and are read once the program has ended; with `--log`, which can log a
//! record for every denied call, a thread drains them during the run instead, so that a
//! flood cannot crowd out the kill. The rule comes from the policy that was installed,
//! through the reference evaluator. This file owns the collection and the wording; it
//! installs nothing.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sysgate::arch::Arch;
use sysgate::kernel::{AuditReader, AuditSource, SeccompRecord};
use sysgate::policy::{Action, DecidedBy, Policy, Rule};

/// At most this many records are kept (kills and traps only); older ones are dropped.
const MAX_KEPT: usize = 10_000;

#[derive(Default)]
struct Collected {
    records: Vec<SeccompRecord>,
    failed: Option<String>,
    /// The reader, when records are read on demand rather than by a thread.
    reader: Option<AuditReader>,
}

impl Collected {
    fn keep(&mut self, records: Vec<SeccompRecord>) {
        let interesting = records
            .into_iter()
            .filter(|r| r.is_kill() || r.sig == libc::SIGSYS);
        self.records.extend(interesting);
        let excess = self.records.len().saturating_sub(MAX_KEPT);
        self.records.drain(..excess);
    }
}

/// Seccomp audit records of kills and traps, from the start of a run to its end.
pub struct AuditWatch {
    source: AuditSource,
    shared: Arc<(Mutex<Collected>, Condvar)>,
}

impl AuditWatch {
    /// Start collecting from `reader`: with `drain_continuously`, a thread reads records as
    /// they come; otherwise they wait in the socket until asked for.
    pub fn start(mut reader: AuditReader, drain_continuously: bool) -> std::io::Result<AuditWatch> {
        let source = reader.source();
        let shared = Arc::new((Mutex::new(Collected::default()), Condvar::new()));
        if !drain_continuously {
            shared.0.lock().unwrap_or_else(|e| e.into_inner()).reader = Some(reader);
            return Ok(AuditWatch { source, shared });
        }
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("sysgate-audit".into())
            .spawn(move || loop {
                let got = reader.read(Duration::from_millis(500));
                let (lock, ready) = &*thread_shared;
                let mut c = lock.lock().unwrap_or_else(|e| e.into_inner());
                match got {
                    Ok(records) => c.keep(records),
                    Err(e) => {
                        c.failed = Some(e.to_string());
                        ready.notify_all();
                        return;
                    }
                }
                ready.notify_all();
            })?;
        Ok(AuditWatch { source, shared })
    }

    /// Where the records come from.
    pub fn source(&self) -> AuditSource {
        self.source
    }

    /// The records for process `pid`, waiting up to `timeout` for the first one (the
    /// kernel emits them asynchronously, shortly after the kill).
    pub fn records_for(&self, pid: i32, timeout: Duration) -> Result<Vec<SeccompRecord>, String> {
        let deadline = Instant::now() + timeout;
        let (lock, ready) = &*self.shared;
        let mut c = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let mine: Vec<SeccompRecord> =
                c.records.iter().filter(|r| r.pid == pid).cloned().collect();
            if !mine.is_empty() {
                return Ok(mine);
            }
            if let Some(e) = &c.failed {
                return Err(format!("reading {} failed: {e}", self.source));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(reader) = &mut c.reader {
                // Read on demand: what is waiting, then whatever arrives before the deadline.
                let got = reader.read_until(left, |r| r.pid == pid);
                match got {
                    Ok(records) => c.keep(records),
                    Err(e) => c.failed = Some(e.to_string()),
                }
                let mine: Vec<SeccompRecord> =
                    c.records.iter().filter(|r| r.pid == pid).cloned().collect();
                return match &c.failed {
                    Some(e) if mine.is_empty() => {
                        Err(format!("reading {} failed: {e}", self.source))
                    }
                    _ => Ok(mine),
                };
            }
            if left.is_zero() {
                return Ok(Vec::new());
            }
            c = ready
                .wait_timeout(c, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// What the explanation may point at besides flags: the profiles given.
pub struct Sources {
    /// Profile files given with --profile (not built-ins).
    pub files: Vec<String>,
    /// Whether --default-action was given.
    pub default_from_flag: bool,
}

/// The lines explaining `record` (the kill of `program`) under the installed `policy`.
pub fn explain(
    program: &str,
    record: &SeccompRecord,
    policy: &Policy,
    sources: &Sources,
) -> Vec<String> {
    let mut out = Vec::new();
    let action = record
        .action()
        .map_or_else(|| format!("{:#x}", record.code), |a| a.to_string());
    let Some(nr) = record.number() else {
        out.push(format!(
            "{program} was killed by its seccomp filter ({action}) on syscall {}",
            record.syscall
        ));
        return out;
    };
    let abi = policy.abi_for(record.arch_token, nr);
    let arch_name = record.arch().map_or_else(
        || format!("audit arch {:#x}", record.arch_token),
        |a| a.to_string(),
    );
    let name = record.arch().and_then(|a| a.syscall_name(nr));
    let shown = name.map_or_else(|| format!("#{nr}"), |n| format!("{n} ({nr})"));
    out.push(format!(
        "{program} was killed by its seccomp filter ({action}): syscall {shown} on {arch_name}"
    ));

    let Some(arch) = abi else {
        let arches: Vec<&str> = policy.arches().iter().map(|a| a.name()).collect();
        out.push(format!(
            "  decided by:  the bad-arch action {}: {arch_name} is not one of the filter's \
             architectures ({})",
            policy.attrs.bad_arch,
            arches.join(", ")
        ));
        match record.arch() {
            Some(a) => out.push(format!(
                "  to allow it: add --arch {a} (with one --arch for each architecture the \
                 program uses)"
            )),
            None => out.push("  to allow it: sysgate cannot filter this architecture".into()),
        }
        return out;
    };

    // The record has no arguments: find what can return this action for this call.
    let candidates: Vec<(usize, &Rule)> = policy
        .rules()
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            policy.rule_targets(r, arch) == Some(nr) && r.action.to_ret() == record.code
        })
        .collect();
    let default_fits = policy.default_action().to_ret() == record.code;
    let conditional = policy
        .rules()
        .iter()
        .any(|r| policy.rule_targets(r, arch) == Some(nr) && !r.conds.is_empty());
    let by_args = policy.decide(arch, nr, &[0; 6]);
    let deciders: Vec<Decider> = if !conditional && by_args.action.to_ret() == record.code {
        vec![match by_args.by {
            DecidedBy::Rule(i) => Decider::Rule(i),
            _ => Decider::Default,
        }]
    } else {
        let mut d: Vec<Decider> = candidates.iter().map(|(i, _)| Decider::Rule(*i)).collect();
        if default_fits {
            d.push(Decider::Default);
        }
        d
    };

    let name_for_flag = name.unwrap_or("");
    match deciders.as_slice() {
        [] => out.push(format!(
            "  decided by:  nothing in the policy returns {action} for this call; the kernel's \
             answer came from another filter (one installed before sysgate ran?)"
        )),
        [one] => {
            out.push(format!("  decided by:  {}", one.describe(policy)));
            out.extend(one.fix(policy, name_for_flag, sources));
        }
        many => {
            out.push(
                "  decided by:  one of these, depending on the arguments (the audit record does \
                 not carry them):"
                    .into(),
            );
            for d in many {
                out.push(format!("    {}", d.describe(policy)));
            }
            if let Some(first) = many.first() {
                out.extend(first.fix(policy, name_for_flag, sources));
            }
        }
    }
    out
}

/// What decided a call.
#[derive(Copy, Clone)]
enum Decider {
    Rule(usize),
    Default,
}

impl Decider {
    fn describe(self, policy: &Policy) -> String {
        match self {
            Decider::Rule(i) => format!("rule #{i}: {}", policy.rules()[i]),
            Decider::Default => format!(
                "the default action {} (no rule matched)",
                policy.default_action()
            ),
        }
    }

    /// The exact change that would allow the call.
    fn fix(self, policy: &Policy, name: &str, sources: &Sources) -> Vec<String> {
        if name.is_empty() {
            return vec![
                "  to allow it: the number is not in sysgate's syscall table, so no rule can \
                 name it; use --default-action ALLOW or a profile whose default allows it"
                    .into(),
            ];
        }
        let mut out = Vec::new();
        match self {
            Decider::Rule(i) => {
                let origin = policy.rules()[i].origin.as_deref().unwrap_or("");
                if origin.starts_with("--deny") {
                    out.push(format!(
                        "  to allow it: drop `{origin}` (or replace it with `--allow {name}`)"
                    ));
                } else if origin.starts_with("builtin ") || origin.is_empty() {
                    out.push(format!(
                        "  to allow it: add `--allow {name}` (it replaces the profile's rules \
                         for {name})"
                    ));
                } else {
                    out.push(format!(
                        "  to allow it: add `--allow {name}` (it replaces the profile's rules \
                         for {name}), or change the action of the rule at {origin}"
                    ));
                }
            }
            Decider::Default => {
                out.push(format!("  to allow it: add `--allow {name}`"));
                for file in &sources.files {
                    out.push(format!(
                        "               or add \"{name}\" to the \"names\" of a rule with \
                         \"action\": \"SCMP_ACT_ALLOW\" in {file}"
                    ));
                }
                if sources.default_from_flag {
                    out.push("               or change --default-action".into());
                }
            }
        }
        out
    }
}

/// The lines saying that a kill cannot be explained, and what would make it possible.
pub fn unexplained(program: &str, why: &str) -> Vec<String> {
    vec![
        format!("{program} was killed by SIGSYS; cannot say which syscall: {why}"),
        "  (explaining a kill needs the kernel's seccomp audit record: run sysgate as root, \
         or give it CAP_AUDIT_READ; see `sysgate run --help`)"
            .into(),
    ]
}

/// The lines for a kill when no audit record names it. A TRAP action raises SIGSYS too,
/// and the kernel logs no record for TRAP unless the filter has the LOG flag.
pub fn no_record(program: &str, source: AuditSource, policy: &Policy) -> Vec<String> {
    let traps = policy
        .rules()
        .iter()
        .any(|r| matches!(r.action, Action::Trap(_)))
        || matches!(policy.default_action(), Action::Trap(_));
    let mut why = format!("no seccomp audit record for it arrived from {source}");
    if source == AuditSource::Kmsg {
        why.push_str(
            " (the kernel rate-limits these lines, and they go to auditd instead when it runs)",
        );
    }
    if traps {
        why.push_str("; the policy has TRAP actions, which the kernel only logs with --log");
    }
    vec![format!(
        "{program} was killed by SIGSYS; cannot say which syscall: {why}"
    )]
}

/// A short name for an architecture list (for messages).
pub fn arch_list(arches: &[Arch]) -> String {
    arches
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}
