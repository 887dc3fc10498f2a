//! `sysgate audit`: list the syscalls in kernel seccomp audit records, per executable, and
//! optionally write a profile (or an addition to one) that allows them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::learn::{self, AuditLog, SynthOptions};

use crate::bad_input;
use crate::flags::{self, ArchesArg, Verbosity};
use crate::learn::{read_profile, report_notes, with_earlier, write_profile, OutputArgs};
use crate::output::{self, Destination, IoFailure};

/// Arguments of `sysgate audit`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Reads `type=SECCOMP` (audit.log) and `audit: type=1326` (dmesg, \
journalctl) records; other lines are skipped. Each record's syscall number is decoded for \
the record's own architecture (arch=40000003 is i386, x32 numbers carry the x32 bit).\n\n\
EXIT STATUS. 0 when records were found; 1 when the input holds none (then no profile is \
written) or on a failure; 2 when the input cannot be read (a directory, a missing file).\n\n\
Examples:\n  dmesg | sysgate audit\n  sysgate audit /var/log/audit/audit.log\n  journalctl -k \
| sysgate audit - -o extra.json --merge current.json"
)]
pub struct Args {
    /// The log to read; `-` or nothing for standard input.
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,

    /// Write a profile that allows the syscalls found (with --merge, added to earlier
    /// profiles) to OUT. "-" writes it to standard output, and the listing to standard
    /// error. A regular file is replaced atomically, a device or FIFO written in place.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,

    /// The old name of -o (it reads a profile in every other command); kept for one
    /// release, with a warning.
    #[arg(long, value_name = "OUT", hide = true, conflicts_with = "output")]
    profile: Option<PathBuf>,

    #[command(flatten)]
    format: flags::ProfileFormatArg,

    /// LXC: the file version to write, 2 (names, conditions, errnos) or 1 (numbers only).
    #[arg(long, value_name = "1|2", default_value = "2")]
    lxc_version: u8,

    /// Union with an earlier profile (repeatable; Docker/OCI JSON, "-" for standard input
    /// when the log is a file).
    #[arg(long = "merge", value_name = "EXISTING")]
    merge: Vec<PathBuf>,

    #[command(flatten)]
    default_action: flags::DefaultActionArg,

    #[command(flatten)]
    arches: ArchesArg,

    #[command(flatten)]
    verbosity: Verbosity,
}

/// `sysgate audit`'s status when the input holds no seccomp record.
const NOTHING_FOUND: u8 = 1;

/// Run `sysgate audit`.
pub fn run(mut args: Args) -> Result<ExitCode> {
    if let Some(old) = args.profile.take() {
        args.verbosity.warn(
            "`audit --profile OUT` is now `audit -o OUT` (--profile names an input everywhere \
             else); --profile will be removed in the next release",
        );
        args.output = Some(old);
    }
    let arches = args.arches.parse()?;
    if args.output.is_some() {
        // Before a log on standard input is read to its end.
        Destination::from_arg(args.output.as_deref()).preflight()?;
    }
    let (log, shown) = match args.input.as_deref() {
        None => (read_stdin_log()?, "standard input".to_string()),
        Some(p) if p.as_os_str() == "-" => (read_stdin_log()?, "standard input".to_string()),
        Some(p) => {
            // A directory opens but cannot be read: both are the input's fault.
            let cannot = |e: std::io::Error| bad_input(format!("cannot read {}: {e}", p.display()));
            let f = std::fs::File::open(p).map_err(cannot)?;
            (
                learn::read_audit_log(BufReader::new(f)).map_err(cannot)?,
                p.display().to_string(),
            )
        }
    };
    for (line, why) in &log.problems {
        args.verbosity.warn(format_args!(
            "{shown}:{line}: skipped an unreadable seccomp record ({why}); its syscall is \
             neither listed nor learned: check the line is whole, or add the call to the profile by hand"
        ));
    }
    if log.records.is_empty() {
        // Nothing to list or learn from: most likely the wrong file, or auditd took them.
        eprintln!(
            "sysgate: {shown}: no seccomp audit records in its {} line{} (looked for \
             `type=SECCOMP` and `audit: type=1326` records); nothing written",
            log.lines,
            if log.lines == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(NOTHING_FOUND));
    }
    let listing = listing(&log);
    if args.output.as_deref() == Some(Path::new("-")) {
        eprint!("{listing}");
    } else {
        output::print(listing.as_bytes())?;
    }

    if let Some(out) = args.output {
        let earlier = args
            .merge
            .iter()
            .map(|p| read_profile(p, &arches))
            .collect::<Result<Vec<_>>>()?;
        let synth = SynthOptions {
            default_action: args.default_action.default_action,
            arches,
            ..SynthOptions::default()
        };
        let learned = learn::synthesize(&log.observations(), &synth)
            .map_err(|e| anyhow::anyhow!("cannot build the profile: {e}"))?;
        let learned = with_earlier(learned, &earlier)?;
        if !args.verbosity.quiet {
            report_notes(&learned.notes);
        }
        let output = OutputArgs {
            output: flags::OutputArg { output: Some(out) },
            format: args.format,
            lxc_version: args.lxc_version,
            merge: Vec::new(),
        };
        write_profile(&output, &learned.policy, args.verbosity.quiet)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The log on standard input, read as it comes.
fn read_stdin_log() -> Result<AuditLog> {
    output::take_stdin()?;
    Ok(
        learn::read_audit_log(std::io::stdin().lock()).map_err(|source| IoFailure {
            what: format!("cannot read {}", output::STDIN_NAME),
            source,
        })?,
    )
}

/// Per executable: each syscall by name with its ABI, count and the actions recorded.
fn listing(log: &AuditLog) -> String {
    type Key = (Option<Arch>, u32, u32);
    let mut per_exe: BTreeMap<&str, BTreeMap<Key, (u64, Vec<String>)>> = BTreeMap::new();
    for r in &log.records {
        let e = per_exe
            .entry(r.who())
            .or_default()
            .entry((r.arch, r.audit_arch, r.nr))
            .or_default();
        e.0 += 1;
        let action = r.action.map_or("?".to_string(), |a| a.to_string());
        if !e.1.contains(&action) {
            e.1.push(action);
        }
    }
    let mut out = String::new();
    for (exe, calls) in per_exe {
        let _ = writeln!(out, "{}", escape_controls(exe));
        for ((arch, token, nr), (count, actions)) in calls {
            let name = arch
                .and_then(|a| a.syscall_name(nr))
                .map_or_else(|| format!("#{nr}"), str::to_string);
            let arch = arch.map_or_else(|| format!("{token:#x}"), |a| a.to_string());
            let _ = writeln!(
                out,
                "  {name:<24} {arch:<8} {count:>6}  {}",
                actions.join(", ")
            );
        }
    }
    out
}

/// `text` with control characters escaped (`\n`, `\u{1b}`): a log's `exe` and `comm` are
/// chosen by whoever made the call, and the kernel hex-encodes those holding controls, so
/// once decoded they could forge listing lines or drive the terminal.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}
