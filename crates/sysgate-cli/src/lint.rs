//! `sysgate lint`: where a profile can be walked around, what it grants, where its
//! architectures disagree, and which of its rules do nothing (the checks are the library's
//! `sysgate::lint`; this module prints them and decides the exit status).

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use sysgate::lint::{self, Context, Finding, Severity};

use crate::bad_input;
use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate lint`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Each finding names its check (a stable id), its severity, the rule or \
default it concerns (file:line:column), why it matters and the fix; docs/lint.md lists every \
check with its sources. Calls are judged by the reference evaluator, so argument conditions, \
socketcall/ipc and the bad-arch action count as they do when the filter runs. Grants of calls \
that need a capability are judged against the target's capabilities (--caps): one the target \
holds is only info.\n\nExit status: 0 no finding at or above --severity, 1 some, 2 bad \
input.\n\nExamples:\n  sysgate lint docker-default.json --arch amd64\n  sysgate lint \
profile.json --severity high --json\n  sysgate lint docker-default --caps +sys_admin"
)]
pub struct Args {
    /// The profile (a file, "-" for standard input, a built-in name or systemd:@set).
    #[arg(value_name = "PROFILE")]
    profile: String,

    /// The lowest severity that makes the exit status 1: info, low, medium or high.
    #[arg(long, value_name = "LEVEL", default_value = "low")]
    severity: String,

    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,

    /// Leave out the warnings from reading the profile.
    #[arg(short, long)]
    quiet: bool,

    #[command(flatten)]
    output: crate::flags::OutputArg,

    #[command(flatten)]
    target: TargetArgs,
}

/// Run `sysgate lint`.
pub fn run(args: Args) -> Result<ExitCode> {
    let threshold: Severity = args
        .severity
        .parse()
        .map_err(|e: lint::UnknownSeverity| bad_input(format!("--severity: {e}")))?;
    let all = profile_input::load_all(&args.profile, &args.target)?;
    let caps = args.target.caps()?;
    let shown = if args.profile == "-" {
        crate::output::STDIN_NAME
    } else {
        &args.profile
    };
    let mut reports = Vec::new();
    for p in &all {
        if !args.quiet {
            for w in &p.warnings {
                eprintln!("sysgate: warning: {w}");
            }
        }
        let mut context = Context::default().with_caps(caps.iter().cloned());
        context.default_origin = p.default_origin.clone();
        reports.push((p, lint::lint(&p.policy, &context)));
    }
    let failing = reports
        .iter()
        .flat_map(|(_, f)| f)
        .filter(|f| f.severity >= threshold)
        .count();
    let out = if args.json {
        let profiles: Vec<serde_json::Value> = reports
            .iter()
            .map(|(p, findings)| {
                json!({
                    "profile": shown,
                    "name": p.name,
                    "format": p.format.name(),
                    "findings": findings,
                })
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&json!({
            "severity": threshold,
            "failing": failing,
            "profiles": profiles,
        }))?;
        text.push('\n');
        text
    } else {
        let mut text = String::new();
        for (i, (p, findings)) in reports.iter().enumerate() {
            if all.len() > 1 {
                if i > 0 {
                    text.push('\n');
                }
                let name = p.name.as_deref().unwrap_or("(unnamed)");
                text.push_str(&format!("{shown} ({name}):\n"));
            }
            for f in findings {
                text.push_str(&render(f));
            }
            text.push_str(&summary(findings, threshold));
        }
        text
    };
    args.output.destination().write(out.as_bytes())?;
    Ok(if failing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One finding as text: the place, severity and id, what, then why and the fix.
fn render(f: &Finding) -> String {
    format!(
        "{}: {} [{}] {}\n  why: {}\n  fix: {}\n",
        f.at, f.severity, f.id, f.message, f.why, f.fix
    )
}

/// `3 findings (1 high, 2 low); 1 at or above medium`.
fn summary(findings: &[Finding], threshold: Severity) -> String {
    if findings.is_empty() {
        return "no findings\n".to_string();
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == *s).count();
            (n > 0).then(|| format!("{n} {s}"))
        })
        .collect();
    let failing = findings.iter().filter(|f| f.severity >= threshold).count();
    format!(
        "{} finding{} ({}); {failing} at or above {threshold}\n",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        counts.join(", ")
    )
}
