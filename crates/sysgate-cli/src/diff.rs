//! `sysgate diff`: where two profiles decide differently, by meaning rather than text.

use std::process::ExitCode;

use anyhow::Result;

use sysgate::profile::diff::{ArgValues, Difference};

use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate diff`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Both profiles are read for the same target (--arch, --caps, --kernel) \
and compared through the reference evaluator: per architecture, the syscalls and argument \
ranges where the decisions differ, with both decisions (A -> B). An argument tested only by \
masks is shown as `a0 & MASK == VALUE`, exactly; one tested by masks and plain comparisons \
at once is shown as ranges marked approximate. A syscall whose arguments have too many \
combinations to compare everywhere is listed as not compared (never as alike); `sysgate verify \
--bpf` compares the compiled filters exactly. Exit status 0 when they decide alike, 1 when \
they differ or could not be compared everywhere, 2 on bad input, 74 when standard output cannot be written.\n\nExamples:\n  sysgate diff \
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

    #[command(flatten)]
    json: crate::flags::JsonArg,
}

/// Run `sysgate diff`.
pub fn run(args: Args) -> Result<ExitCode> {
    let a = profile_input::load(&args.a, &args.target)?;
    let b = profile_input::load(&args.b, &args.target)?;
    let diffs = sysgate::profile::diff::diff(&a.policy, &b.policy);
    let mut out = String::new();
    if args.json.json {
        let doc = serde_json::json!({
            "a": args.a,
            "b": args.b,
            "same": diffs.is_empty(),
            "differences": diffs.iter().map(difference_json).collect::<Vec<_>>(),
        });
        out = format!("{doc:#}\n");
    } else if diffs.is_empty() {
        out.push_str("no difference\n");
    }
    for d in diffs.iter().filter(|_| !args.json.json) {
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

/// One difference as `diff --json` prints it, with the text line it stands for.
fn difference_json(d: &Difference) -> serde_json::Value {
    use serde_json::json;
    match d {
        Difference::OtherArches { a, b } => json!({
            "other_arches": true,
            "a": a.to_string(),
            "b": b.to_string(),
            "text": d.to_string(),
        }),
        Difference::Calls {
            arch,
            token,
            first,
            last,
            name,
            args,
            approximate,
            a,
            b,
        } => json!({
            "arch": arch.map(|a| a.name()),
            "token": token,
            "first": first,
            "last": last,
            "syscall": name,
            "args": args.iter().map(|(i, v)| match v {
                ArgValues::Range(lo, hi) => json!({"arg": i, "from": lo, "to": hi}),
                ArgValues::Masked { mask, value } => json!({"arg": i, "mask": mask, "value": value}),
            }).collect::<Vec<_>>(),
            "approximate": approximate,
            "a": a.to_string(),
            "b": b.to_string(),
            "text": d.to_string(),
        }),
        Difference::Unchecked {
            arch,
            token,
            first,
            last,
            name,
            args,
        } => json!({
            "unchecked": true,
            "arch": arch.map(|a| a.name()),
            "token": token,
            "first": first,
            "last": last,
            "syscall": name,
            "args_held_at_zero": args,
            "text": d.to_string(),
        }),
    }
}
