//! `sysgate show`: what a profile does, in words.

use std::process::ExitCode;

use anyhow::Result;

use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate show`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Shows the default action, the architectures, per action the syscalls \
(a whole systemd set where one gets it; * marks syscalls with argument rules), the argument \
rules in words, conflicting rules and which one wins, and the names an architecture lacks. A \
Kubernetes file with several profiles shows each.\n\nExamples:\n  sysgate show \
docker-default.json --arch amd64 --kernel 6.1\n  sysgate show systemd:@system-service"
)]
pub struct Args {
    /// The profile (a file, "-" for standard input, or systemd:@set).
    #[arg(value_name = "PROFILE")]
    profile: String,

    #[command(flatten)]
    target: TargetArgs,
}

/// Run `sysgate show`.
pub fn run(args: Args) -> Result<ExitCode> {
    let all = profile_input::load_all(&args.profile, &args.target)?;
    let shown = if args.profile == "-" {
        crate::output::STDIN_NAME
    } else {
        &args.profile
    };
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
