//! Complain mode: run a command with a profile's denials recorded instead of enforced, and
//! say at the end what would have been denied and what would allow it.
//!
//! `sysgate run --complain --profile P -- CMD` (and `sysgate learn --complain-with P -- CMD`)
//! call [`run_complain`].

use std::ffi::OsString;
use std::process::ExitCode;

use sysgate::learn::{self, Denial, TraceError, TraceOptions};
use sysgate::policy::{DecidedBy, Policy};
use sysgate::profile::detect::Format;

use crate::learn::{exit_code, trace_failed};

/// Run `cmd` under the tracer, deciding each call with `policy` without enforcing it;
/// print the would-be denials on standard error, with advice for the profile `files` in
/// their own formats; return the command's exit status.
pub fn run_complain(
    policy: &Policy,
    files: &[(String, Format)],
    cmd: &[OsString],
) -> anyhow::Result<ExitCode> {
    match complain_status(policy, files, cmd) {
        Ok(code) => Ok(exit_code(code)),
        Err(e) => trace_failed(e),
    }
}

/// [`run_complain`] returning the command's status as a number (128 + N for signal N), or
/// why it could not be traced.
pub fn complain_status(
    policy: &Policy,
    files: &[(String, Format)],
    cmd: &[OsString],
) -> Result<i32, TraceError> {
    let options = TraceOptions::new()
        .complain(policy.clone())
        .forward_signals(true);
    let traced = learn::trace(cmd, &options)?;
    crate::learn::report_fallback(&traced, crate::flags::Verbosity::default());
    eprint!("{}", report(policy, files, &traced.denials));
    Ok(traced.exit.code())
}

/// The report: one paragraph per would-be-denied call, with what would allow it.
pub fn report(policy: &Policy, files: &[(String, Format)], denials: &[Denial]) -> String {
    if denials.is_empty() {
        return "sysgate: complain mode: the profile would have denied nothing\n".into();
    }
    let calls: u64 = denials.iter().map(|d| d.count).sum();
    let mut out = format!(
        "sysgate: complain mode: {} syscalls ({calls} calls) would have been denied:\n",
        denials.len()
    );
    for d in denials {
        let name = d
            .name
            .map_or_else(|| format!("syscall {}", d.nr), str::to_string);
        let arch = d
            .arch
            .map_or_else(|| format!("arch {:#x}", d.audit_arch), |a| a.to_string());
        out.push_str(&format!(
            "  {name} on {arch}: {} x{} (first by {})\n",
            d.action, d.count, d.exe
        ));
        out.push_str(&format!("    {}\n", fix(policy, files, d, &name)));
    }
    out
}

/// What would allow the call.
fn fix(policy: &Policy, files: &[(String, Format)], d: &Denial, name: &str) -> String {
    let allow_rule = format!("{{\"names\": [\"{name}\"], \"action\": \"SCMP_ACT_ALLOW\"}}");
    match d.by {
        DecidedBy::BadArch => format!(
            "the profile does not list this architecture: add \"SCMP_ARCH_{}\" to its \
             architectures (or --arch {})",
            d.arch
                .map_or("?".to_string(), |a| a.name().to_ascii_uppercase()),
            d.arch.map_or("?".to_string(), |a| a.name().to_string())
        ),
        DecidedBy::Rule(i) => {
            let rule = policy
                .rules()
                .get(i)
                .map_or_else(|| format!("#{i}"), |r| format!("#{i} [{r}]"));
            format!("denied by rule {rule}: remove or narrow that rule")
        }
        _ => {
            let conditional = d.arch.is_some_and(|arch| {
                policy
                    .rules()
                    .iter()
                    .any(|r| !r.conds.is_empty() && policy.rule_targets(r, arch) == Some(d.nr))
            });
            if conditional {
                let args: Vec<String> = d
                    .first_args
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("a{i}={v:#x}"))
                    .collect();
                format!(
                    "the profile allows {name} only with other arguments (this call had {}): \
                     widen its conditions, or allow it with --allow {name} / {allow_rule}",
                    args.join(" ")
                )
            } else if d.name.is_some() && !files.is_empty() {
                // In each profile file's own format.
                let arch = d.arch.unwrap_or_else(sysgate::arch::Arch::native);
                let each: Vec<String> = files
                    .iter()
                    .map(|(file, format)| crate::explain::allow_in_file(name, file, *format, arch))
                    .collect();
                format!("allow with --allow {name}, {}", each.join(", "))
            } else if d.name.is_some() {
                format!("allow with --allow {name}, or add {allow_rule} to the profile")
            } else {
                "this number has no name in sysgate's tables; no profile rule can name it".into()
            }
        }
    }
}
