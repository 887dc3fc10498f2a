//! `sysgate show`: what a profile does, in words.

use std::process::ExitCode;

use anyhow::Result;

use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate show`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Shows the default action, the architectures, per action the syscalls \
(a whole systemd set where one gets it; * marks syscalls with argument rules), the argument \
rules in words, conflicting rules and which one wins, the names an architecture lacks, and \
where the profile is not portable: each name it allows that aarch64 or riscv64 lacks while \
their equivalents are missing (convert --portable adds them). A Kubernetes file with several \
profiles shows each.\n\nExamples:\n  sysgate show \
docker-default.json --arch amd64 --kernel 6.1\n  sysgate show systemd:@system-service"
)]
pub struct Args {
    /// The profile (a file, "-" for standard input, or systemd:@set).
    #[arg(value_name = "PROFILE")]
    profile: String,

    #[command(flatten)]
    target: TargetArgs,

    #[command(flatten)]
    json: crate::flags::JsonArg,
}

/// Run `sysgate show`.
pub fn run(args: Args) -> Result<ExitCode> {
    let all = profile_input::load_all(&args.profile, &args.target)?;
    let shown = if args.profile == "-" {
        crate::output::STDIN_NAME
    } else {
        &args.profile
    };
    if args.json.json {
        let doc: Vec<serde_json::Value> = all.iter().map(|p| to_json(shown, p)).collect();
        let doc = if doc.len() == 1 {
            doc.into_iter().next().expect("one")
        } else {
            serde_json::Value::Array(doc)
        };
        crate::output::print(format!("{doc:#}\n").as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for (i, p) in all.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match &p.name {
            Some(n) => out.push_str(&format!("{shown} ({}, {n})\n", p.format)),
            None => out.push_str(&format!("{shown} ({})\n", p.format)),
        }
        if let Some(l) = &p.listener {
            out.push_str(&format!("listener: {}\n", l.path));
        }
        out.push_str(&sysgate::profile::show::show(&p.policy));
        out.push_str(&not_portable(&p.policy));
        if !p.warnings.is_empty() {
            out.push_str("\nwarnings:\n");
            for w in crate::profile_input::shown_warnings(&p.warnings, false, "") {
                out.push_str(&format!("  {w}\n"));
            }
        }
    }
    crate::output::print(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The `not portable` section: one line per name the profile allows that arm64 or riscv64
/// lacks while its equivalents are missing (empty when there is none).
fn not_portable(policy: &sysgate::policy::Policy) -> String {
    let gaps = sysgate::profile::portable::gaps(policy);
    if gaps.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nnot portable (sysgate convert --portable adds the equivalents the table knows):\n",
    );
    for g in gaps {
        out.push_str(&format!("  {g}\n"));
    }
    out
}

/// One profile as `show --json` prints it: what the text shows, as data (each rule with its
/// action, syscall, conditions and origin; the policy's diagnostics as sentences).
fn to_json(shown: &str, p: &profile_input::LoadedProfile) -> serde_json::Value {
    use serde_json::json;
    let policy = &p.policy;
    let rules: Vec<serde_json::Value> = policy
        .rules()
        .iter()
        .map(|r| {
            json!({
                "action": r.action.to_string(),
                "syscall": r.syscall.to_string(),
                "conditions": r.conds.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                "origin": r.origin,
            })
        })
        .collect();
    json!({
        "profile": shown,
        "format": p.format.to_string(),
        "name": p.name,
        "listener": p.listener.as_ref().map(|l| l.path.clone()),
        "default": policy.default_action().to_string(),
        "architectures": policy.arches().iter().map(|a| a.name()).collect::<Vec<_>>(),
        "bad_arch": policy.attrs.bad_arch.to_string(),
        "enosys_for_unknown_syscalls": policy.attrs.enosys_for_unknown_syscalls,
        "rules": rules,
        "diagnostics": policy
            .diagnostics()
            .unwrap_or_default()
            .iter()
            .map(|d| d.describe(policy))
            .collect::<Vec<_>>(),
        "not_portable": sysgate::profile::portable::gaps(policy)
            .iter()
            .map(|g| json!({
                "syscall": g.name,
                "missing_on": g.lacking.iter().map(|a| a.name()).collect::<Vec<_>>(),
                "equivalents": g.missing,
            }))
            .collect::<Vec<_>>(),
        "warnings": p.warnings,
    })
}
