//! `sysgate diff`: where two profiles decide differently, by meaning rather than text.

use std::process::ExitCode;

use anyhow::Result;

use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate diff`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Both profiles are read for the same target (--arch, --caps, --kernel) \
and compared through the reference evaluator: per architecture, the syscalls and argument \
ranges where the decisions differ, with both decisions (A -> B). An argument tested only by \
masks is shown as `a0 & MASK == VALUE`, exactly; one tested by masks and plain comparisons \
at once is shown as ranges marked approximate. Exit status 0 when they decide alike, 1 when \
they differ, 2 on bad input, 74 when standard output cannot be written.\n\nExamples:\n  sysgate diff \
docker-default.json converted.json --arch amd64\n  sysgate diff app.service \
systemd:@system-service"
)]
pub struct Args {
    /// The first profile (a file, "-" for standard input, or systemd:@set).
    #[arg(value_name = "A")]
    a: String,

    /// The second profile.
    #[arg(value_name = "B")]
    b: String,

    #[command(flatten)]
    target: TargetArgs,
}

/// Run `sysgate diff`.
pub fn run(args: Args) -> Result<ExitCode> {
    let a = profile_input::load(&args.a, &args.target)?;
    let b = profile_input::load(&args.b, &args.target)?;
    let diffs = sysgate::profile::diff::diff(&a.policy, &b.policy);
    let mut out = String::new();
    if diffs.is_empty() {
        out.push_str("no difference\n");
    }
    for d in &diffs {
        out.push_str(&d.to_string());
        out.push('\n');
    }
    crate::output::print(out.as_bytes())?;
    Ok(if diffs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
