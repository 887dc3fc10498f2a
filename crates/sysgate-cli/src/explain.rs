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
use sysgate::profile::detect::Format;

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
    /// The records kept for process `pid`.
    fn of(&self, pid: i32) -> Vec<SeccompRecord> {
        self.records
            .iter()
            .filter(|r| r.pid == Some(pid))
            .cloned()
            .collect()
    }

    fn keep(&mut self, records: Vec<SeccompRecord>) {
        let interesting = records
            .into_iter()
            .filter(|r| r.is_kill() || r.sig == Some(libc::SIGSYS));
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
            let mine = c.of(pid);
            if !mine.is_empty() {
                return Ok(mine);
            }
            if let Some(e) = &c.failed {
                return Err(format!("reading {} failed: {e}", self.source));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(reader) = &mut c.reader {
                // Read on demand: what is waiting, then whatever arrives before the deadline.
                let got = reader.read_until(left, |r| r.pid == Some(pid));
                match got {
                    Ok(records) => c.keep(records),
                    Err(e) => c.failed = Some(e.to_string()),
                }
                let mine = c.of(pid);
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
    /// Profile files given with --profile (not built-ins), each with the format it was
    /// read as: the advice is written in that format.
    pub files: Vec<(String, Format)>,
    /// Whether --default-action was given.
    pub default_from_flag: bool,
}

impl Sources {
    /// The profile file a rule origin (`file:line:column`) points into, with its format.
    fn file_of(&self, origin: &str) -> Option<&(String, Format)> {
        self.files.iter().find(|(path, _)| {
            origin
                .strip_prefix(path.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
        })
    }
}

/// How to allow `name` in the profile `file` of format `format`, where nothing in it
/// names the call (its default refuses it), in the format's own words.
pub fn allow_in_file(name: &str, file: &str, format: Format, arch: Arch) -> String {
    match format {
        Format::Docker | Format::Oci | Format::Podman => format!(
            "or add \"{name}\" to the \"names\" of a rule with \"action\": \"SCMP_ACT_ALLOW\" in \
             {file}"
        ),
        Format::K8s => {
            format!("or add {name} to the names of a rule with action: SCMP_ACT_ALLOW in {file}")
        }
        Format::Systemd => {
            format!("or add the line `SystemCallFilter={name}` to the [Service] section of {file}")
        }
        Format::Lxc if lxc_version(file) == Some(1) => {
            // Version 1 lists the host's syscall numbers.
            match arch.syscall_number(name) {
                Some(nr) => format!("or add the line `{nr}` ({name} on {arch}) to {file}"),
                None => format!("or convert {file} to LXC version 2 and add `{name} allow`"),
            }
        }
        Format::Lxc => format!(
            "or add the line `{name} allow` to {file} (in its [all] section, or the one for \
             {arch}, if it has sections)"
        ),
    }
}

/// How to allow `name` where the rule at `origin` in `file` (of `format`) refuses it.
fn change_rule_in_file(name: &str, file: &str, origin: &str, format: Format) -> String {
    match format {
        // A later `SystemCallFilter=NAME` allows it in either mode: it adds to an allow
        // list and takes out of a deny list.
        Format::Systemd if systemd_line_denies(file, origin) => format!(
            "or take {name} out of the `SystemCallFilter=~` line at {origin} (or add the line \
             `SystemCallFilter={name}` after it)"
        ),
        Format::Systemd => format!(
            "or add the line `SystemCallFilter={name}` after the allow list at {origin}, \
             which does not name it"
        ),
        Format::Lxc => format!("or make the line at {origin} `{name} allow`"),
        Format::Docker | Format::Oci | Format::Podman | Format::K8s => {
            format!("or change the action of the rule at {origin}")
        }
    }
}

/// Whether the unit line `origin` (`file:line:column`) points at is a deny list
/// (`SystemCallFilter=~...`).
fn systemd_line_denies(file: &str, origin: &str) -> bool {
    let line_no = origin[file.len()..]
        .split(':')
        .nth(1)
        .and_then(|n| n.parse::<usize>().ok());
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let line = line_no.and_then(|n| text.lines().nth(n.saturating_sub(1)));
    line.and_then(|l| l.split_once('='))
        .is_some_and(|(_, value)| value.trim_start().starts_with('~'))
}

/// An LXC policy file's version (its first line), if it can be read.
fn lxc_version(file: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().next()?.trim().parse().ok()
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
        .map(|a| a.to_string())
        .or_else(|| record.code.map(|c| format!("{c:#x}")))
        .unwrap_or_else(|| "?".into());
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
            policy.rule_targets(r, arch) == Some(nr) && Some(r.action.to_ret()) == record.code
        })
        .collect();
    let default_fits = Some(policy.default_action().to_ret()) == record.code;
    let conditional = policy
        .rules()
        .iter()
        .any(|r| policy.rule_targets(r, arch) == Some(nr) && !r.conds.is_empty());
    let by_args = policy.decide(arch, nr, &[0; 6]);
    let deciders: Vec<Decider> = if !conditional && Some(by_args.action.to_ret()) == record.code {
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
            out.extend(one.fix(policy, name_for_flag, arch, sources));
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
                out.extend(first.fix(policy, name_for_flag, arch, sources));
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
    fn fix(self, policy: &Policy, name: &str, arch: Arch, sources: &Sources) -> Vec<String> {
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
                    let change = match sources.file_of(origin) {
                        Some((file, format)) => change_rule_in_file(name, file, origin, *format),
                        None => format!("or change the action of the rule at {origin}"),
                    };
                    out.push(format!(
                        "  to allow it: add `--allow {name}` (it replaces the profile's rules \
                         for {name}), {change}"
                    ));
                }
            }
            Decider::Default => {
                out.push(format!("  to allow it: add `--allow {name}`"));
                for (file, format) in &sources.files {
                    out.push(format!(
                        "               {}",
                        allow_in_file(name, file, *format, arch)
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

/// The line for a kill when explaining was turned off (`--explain=off`): nothing to advise.
pub fn not_asked(program: &str) -> Vec<String> {
    vec![format!(
        "{program} was killed by SIGSYS; not explained (--explain=off)"
    )]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile_input::{self, TargetArgs};

    /// The explanation of a uname kill on x86_64 under `text`, read from a file `name`.
    fn explain_uname(name: &str, text: &str) -> (String, Vec<String>) {
        let dir = std::env::temp_dir().join(format!("sysgate-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name).display().to_string();
        std::fs::write(&path, text).unwrap();
        // The target as the command line gives it without flags.
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            target: TargetArgs,
        }
        let target = <Cli as clap::Parser>::parse_from(["sysgate"]).target;
        let loaded = profile_input::load(&path, &target).unwrap();
        let nr = Arch::X86_64.syscall_number("uname").unwrap();
        let decision = loaded.policy.decide(Arch::X86_64, nr, &[0; 6]);
        let record = SeccompRecord::parse(&format!(
            "audit(1.2:3): pid=1 sig=31 arch={:x} syscall={nr} compat=0 ip=0x0 code={:#x}",
            Arch::X86_64.audit_arch(),
            decision.action.to_ret()
        ))
        .unwrap();
        let sources = Sources {
            files: vec![(path.clone(), loaded.format)],
            default_from_flag: false,
        };
        let lines = explain("uname", &record, &loaded.policy, &sources);
        (path, lines)
    }

    fn advice_in(lines: &[String]) -> String {
        let at = lines
            .iter()
            .position(|l| l.starts_with("  to allow it:"))
            .unwrap_or_else(|| panic!("no advice in {lines:#?}"));
        lines[at..].join("\n")
    }

    #[test]
    fn an_lxc_allow_list_gets_lxc_advice() {
        let (path, lines) = explain_uname("lxc.seccomp", "2\nallowlist\n[all]\nread\nwrite\n");
        let advice = advice_in(&lines);
        assert!(
            advice.contains(&format!(
                "or add the line `uname allow` to {path} (in its [all] section, or the one \
                 for x86_64, if it has sections)"
            )),
            "{advice}"
        );
        assert!(!advice.contains("\"names\""), "no Docker advice: {advice}");
        // Version 1 lists numbers.
        let (path, lines) = explain_uname("lxc-v1.seccomp", "1\nallowlist\n0\n1\n");
        let advice = advice_in(&lines);
        assert!(
            advice.contains(&format!("or add the line `63` (uname on x86_64) to {path}")),
            "{advice}"
        );
    }

    #[test]
    fn an_lxc_rule_is_changed_at_its_line() {
        let (path, lines) = explain_uname("deny.seccomp", "2\ndenylist\n[all]\nuname kill\n");
        let advice = advice_in(&lines);
        assert!(
            advice.contains(&format!("or make the line at {path}:4:1 `uname allow`")),
            "{advice}"
        );
    }

    #[test]
    fn a_systemd_refusal_points_at_its_filter_line() {
        let unit = "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~uname\n\
                    SystemCallErrorNumber=EPERM\n";
        let (path, lines) = explain_uname("u.service", unit);
        let all = lines.join("\n");
        assert!(all.contains(&format!("({path}:3:19)")), "{all}");
        assert!(
            all.contains(&format!(
                "or take uname out of the `SystemCallFilter=~` line at {path}:3:19 (or add \
                 the line `SystemCallFilter=uname` after it)"
            )),
            "{all}"
        );
    }

    #[test]
    fn a_systemd_allow_list_gets_systemd_advice() {
        let (path, lines) = explain_uname("a.service", "[Service]\nSystemCallFilter=read\n");
        let all = lines.join("\n");
        assert!(
            all.contains(&format!(
                "or add the line `SystemCallFilter=uname` after the allow list at {path}:2:1, \
                 which does not name it"
            )),
            "{all}"
        );
        assert!(!all.contains("\"names\""), "no Docker advice: {all}");
    }

    #[test]
    fn docker_json_keeps_its_advice() {
        let json = r#"{"defaultAction": "SCMP_ACT_KILL_PROCESS",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let (path, lines) = explain_uname("p.json", json);
        let all = lines.join("\n");
        assert!(
            all.contains(&format!(
                "or add \"uname\" to the \"names\" of a rule with \"action\": \
                 \"SCMP_ACT_ALLOW\" in {path}"
            )),
            "{all}"
        );
    }

    #[test]
    fn explain_off_gives_no_advice() {
        let lines = not_asked("uname");
        assert_eq!(
            lines,
            ["uname was killed by SIGSYS; not explained (--explain=off)"]
        );
    }
}
