//! `sysgate resolve`: syscall names to numbers and back, with `scmp_sys_resolver`'s answers.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use sysgate::arch::Arch;

use crate::bad_input;
use crate::flags::{ArchArg, JsonArg};

/// Arguments of `sysgate resolve`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Answers match libseccomp's scmp_sys_resolver: a name prints its number on \
ARCH; a number prints its name or UNKNOWN; a name the arch lacks prints libseccomp's negative \
pseudo number (and -1 when no arch knows it). x32 numbers include the x32 bit (0x40000000), \
mips numbers their ABI offset (4000, 5000, 6000).\n\nExamples:\n  sysgate resolve read\n  \
sysgate resolve -a x86 -t socket      # 102 (socketcall)\n  sysgate resolve -a aarch64 63\n  \
sysgate resolve --all-arches clone3\n  sysgate resolve -a arm64 --list --json"
)]
pub struct Args {
    #[command(flatten)]
    arch: ArchArg,

    /// Rewrite multiplexed calls to their multiplexer (socket -> socketcall on x86).
    #[arg(short = 't', long = "translate")]
    translate: bool,

    /// Print every syscall of ARCH with its number, ordered by number.
    #[arg(long, conflicts_with_all = ["all_arches", "query"])]
    list: bool,

    /// Print NAME's number on every architecture.
    #[arg(long, value_name = "NAME", conflicts_with = "query")]
    all_arches: Option<String>,

    #[command(flatten)]
    json: JsonArg,

    /// A syscall name, or a number (decimal, or hex with 0x; negative for pseudo numbers).
    #[arg(value_name = "NAME|NUMBER", allow_negative_numbers = true)]
    query: Option<String>,
}

/// Run `sysgate resolve`.
pub fn run(args: Args) -> Result<ExitCode> {
    let arch = args.arch.or_native()?;
    let mut out = Vec::new();
    if args.list {
        list(arch, args.json.json, &mut out)?;
    } else if let Some(name) = &args.all_arches {
        all_arches(name, args.translate, args.json.json, &mut out)?;
    } else {
        query(&args, arch, &mut out)?;
    }
    crate::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// One name or number.
fn query(args: &Args, arch: Arch, out: &mut impl Write) -> Result<()> {
    let Some(query) = args.query.as_deref() else {
        return Err(bad_input(
            "resolve needs a syscall NAME or NUMBER (or --list / --all-arches NAME); see --help",
        ));
    };
    if query.is_empty() {
        return Err(bad_input("empty syscall name"));
    }
    if let Some(nr) = parse_number(query)? {
        let name = arch.libseccomp_resolve_number(nr);
        if args.json.json {
            writeln!(
                out,
                "{}",
                json!({"arch": arch.name(), "number": nr, "name": name})
            )?;
        } else {
            writeln!(out, "{}", name.unwrap_or("UNKNOWN"))?;
        }
    } else {
        let nr = if args.translate {
            arch.libseccomp_resolve_name_rewrite(query)
        } else {
            arch.libseccomp_resolve_name(query)
        };
        if args.json.json {
            let known = arch.syscall_number(query).is_some() || arch.multiplexed(query).is_some();
            writeln!(
                out,
                "{}",
                json!({"arch": arch.name(), "name": query, "number": nr, "known": known})
            )?;
        } else {
            writeln!(out, "{nr}")?;
        }
    }
    Ok(())
}

/// A number if `s` looks like one (as scmp_sys_resolver decides: a leading digit or '-').
fn parse_number(s: &str) -> Result<Option<i64>> {
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || first == '-') {
        return Ok(None);
    }
    let parsed = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16)
    } else {
        s.parse::<i64>()
    };
    parsed
        .map(Some)
        .map_err(|_| bad_input(format!("{s:?} is neither a syscall name nor a number")))
}

fn list(arch: Arch, json: bool, out: &mut impl Write) -> Result<()> {
    let table = arch.table();
    if json {
        let items: Vec<_> = table
            .iter()
            .map(|(name, nr)| json!({"name": name, "number": nr}))
            .collect();
        writeln!(out, "{}", json!({"arch": arch.name(), "syscalls": items}))?;
    } else {
        for (name, nr) in table.iter() {
            writeln!(out, "{nr}\t{name}")?;
        }
    }
    Ok(())
}

fn all_arches(name: &str, translate: bool, json: bool, out: &mut impl Write) -> Result<()> {
    if !sysgate::arch::is_known_syscall(name) {
        return Err(bad_input(format!(
            "no architecture knows a syscall named {name:?}"
        )));
    }
    let mut rows = Vec::new();
    for arch in Arch::ALL {
        let direct = arch.syscall_number(name);
        let mux = arch.multiplexed(name);
        let resolved = if translate {
            arch.libseccomp_resolve_name_rewrite(name)
        } else {
            arch.libseccomp_resolve_name(name)
        };
        rows.push((arch, direct, mux, resolved));
    }
    if json {
        let items: Vec<_> = rows
            .iter()
            .map(|(arch, direct, mux, resolved)| {
                json!({
                    "arch": arch.name(),
                    "number": direct,
                    "multiplexer": mux.map(|m| json!({"syscall": m.syscall, "call": m.call})),
                    "libseccomp": resolved,
                })
            })
            .collect();
        writeln!(out, "{}", json!({"name": name, "arches": items}))?;
    } else {
        writeln!(
            out,
            "{:<12} {:>10}  {:<20} {:>10}",
            "ARCH", "NUMBER", "MULTIPLEXED", "LIBSECCOMP"
        )?;
        for (arch, direct, mux, resolved) in rows {
            let direct = direct.map_or_else(|| "-".to_string(), |n| n.to_string());
            let mux = mux.map_or_else(
                || "-".to_string(),
                |m| {
                    format!(
                        "{}({})",
                        arch.syscall_name(m.syscall).unwrap_or("?"),
                        m.call
                    )
                },
            );
            writeln!(
                out,
                "{:<12} {:>10}  {:<20} {:>10}",
                arch.name(),
                direct,
                mux,
                resolved
            )?;
        }
    }
    Ok(())
}
