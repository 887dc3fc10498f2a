//! `sysgate sets`: systemd's syscall sets and what is in them, listed as
//! `systemd-analyze syscall-filter` lists them.
//!
//! Owns the listing only; the sets are the library's generated tables
//! (`sysgate::profile::systemd_sets`), the same ones `--allow @SET`, `systemd:@set` and the
//! systemd reader use.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use sysgate::profile::systemd_sets::{self, SetDef, SystemdVersion};

use crate::bad_input;
use crate::flags::JsonArg;

/// Arguments of `sysgate sets`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Each set is printed with its members as systemd lists them: nested \
@sets and syscall names, in systemd's order, one per line (--expand: every syscall the set \
stands for, nested sets expanded, sorted). These are the sets that --allow @SET, systemd:@SET \
and SystemCallFilter= lines mean in sysgate.\n\nExamples:\n  sysgate sets\n  sysgate sets \
@mount @privileged\n  sysgate sets @system-service --expand --systemd-version 252\n  sysgate \
sets --json"
)]
pub struct Args {
    /// The sets to list (with their @). Default: every set.
    #[arg(value_name = "@SET")]
    sets: Vec<String>,

    /// List every syscall a set stands for, nested sets expanded, instead of its members.
    #[arg(long)]
    expand: bool,

    /// Whose sets: newest (systemd main) or 252.
    #[arg(long, value_name = "VERSION", default_value = "newest")]
    systemd_version: String,

    #[command(flatten)]
    json: JsonArg,
}

/// Run `sysgate sets`.
pub fn run(args: Args) -> Result<ExitCode> {
    let version = SystemdVersion::parse(&args.systemd_version).ok_or_else(|| {
        bad_input(format!(
            "--systemd-version {:?}: expected newest or 252",
            args.systemd_version
        ))
    })?;
    let chosen: Vec<&SetDef> = if args.sets.is_empty() {
        systemd_sets::sets(version).iter().collect()
    } else {
        args.sets
            .iter()
            .map(|name| {
                systemd_sets::find(version, name).ok_or_else(|| {
                    let names: Vec<&str> =
                        systemd_sets::sets(version).iter().map(|s| s.name).collect();
                    bad_input(format!(
                        "{name:?}: {} has no such syscall set; it has {}",
                        version.source(),
                        names.join(" ")
                    ))
                })
            })
            .collect::<Result<_>>()?
    };
    let text = if args.json.json {
        let doc: serde_json::Map<String, serde_json::Value> = chosen
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    json!({"members": s.members, "syscalls": s.syscalls}),
                )
            })
            .collect();
        format!("{:#}\n", serde_json::Value::Object(doc))
    } else {
        let mut out = String::new();
        for (i, s) in chosen.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", s.name);
            let listed = if args.expand { s.syscalls } else { s.members };
            for m in listed {
                let _ = writeln!(out, "    {m}");
            }
        }
        out
    };
    crate::output::print(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
