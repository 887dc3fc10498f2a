//! The `sysgate` command: one thin module per subcommand over the `sysgate` library.
//!
//! `main` parses the arguments, runs one subcommand and turns its outcome into an exit status
//! here and nowhere else: 0 success, 1 an operational failure (and `diff`'s "the profiles
//! differ"), 2 bad input (usage, an unknown arch, a profile that does not parse), 74 an I/O
//! error reading an input or writing an output (a full disk, a read-only directory,
//! `>/dev/full`; the message names the path or "standard output"; sysexits' EX_IOERR). When
//! standard output is a pipe whose reader has gone (`sysgate probe | head -1`), the command
//! ends quietly with status 0, as other Unix tools do. `run` reports the program's own
//! status instead:
//! its exit code, 128 + N for signal N, 126/127 when it cannot be executed or found, and
//! 125 for every failure of sysgate's own before the program starts (bad input included,
//! so that the program's statuses stay unambiguous).
//!
//! # The flag convention (for every subcommand, old and new)
//!
//! Flags that mean the same thing are spelled the same everywhere; the shared ones are
//! structs in [`flags`] to `#[command(flatten)]`, so a new subcommand gets them for free:
//!
//! - `-o/--output FILE` wherever something is written ([`flags::OutputArg`]; `-` is standard
//!   output; the write goes through [`output`]). Never another flag name for an output.
//! - `-f/--format FORMAT` names the output format, with `--to` as its alias: profile formats
//!   with [`flags::ProfileFormatArg`], a command's own formats with its own `ValueEnum`
//!   (`compile`'s raw/c/rust/text) given `visible_alias = "to"`.
//! - `--json` ([`flags::JsonArg`]) on every command whose output is data: one JSON document
//!   on standard output instead of the text, built with `serde_json::json!`.
//! - `-a/--arch ARCH` wherever an architecture matters: repeatable in
//!   `profile_input::TargetArgs` for commands that read a profile (it expands Docker's
//!   archMap), [`flags::ArchesArg`] for the architectures of a profile a command writes,
//!   [`flags::ArchArg`] once for commands that work on one (`resolve`, `disasm`).
//! - `-q/--quiet` and `-v/--verbose` ([`flags::Verbosity`]) on every command that prints
//!   warnings or notes: `-q` keeps only errors (and what makes a written profile MORE
//!   PERMISSIVE, and the explanation of a kill), `-v` adds detail. Print through
//!   `Verbosity::warn`, `note` and `detail`.
//! - `--default-action ACTION` parsed by [`flags::parse_default_action`] with
//!   [`flags::DEFAULT_ACTION_HELP`] as its help, so `errno`, `kill` (KILL_PROCESS), `log` and
//!   every action name mean the same in `run`, `learn` and `audit`.
//! - An input is a positional argument (`-` for standard input); `--profile` names a profile
//!   to read, never an output.
//! - A renamed flag stays as an alias (`visible_alias`), or hidden with a warning for one
//!   release when the old name meant something else (`audit --profile OUT`, now `-o`).
//!
//! Completions and man pages come from this parser ([`generate`]), so they follow.

// Messages on standard error never panic: std's `eprintln!` does when stderr is a closed pipe
// (`sysgate convert ... -o out 2>&1 | head -1`) or a full device, which would abort a command
// before it writes its output. These shadow std's in every module below (textual scope wins
// over the prelude); a message that cannot be written is dropped.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod agent;
mod asm;
mod audit;
mod check;
mod compile;
mod complain;
mod convert;
mod diff;
mod disasm;
mod dump;
mod explain;
mod flags;
mod generate;
mod learn;
mod lint;
mod oci;
mod output;
mod probe;
mod profile_input;
mod profile_output;
mod resolve;
mod run;
mod sets;
mod show;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A pure-Rust seccomp toolkit: resolve syscalls, compile and check filters, run programs
/// under them.
#[derive(Parser, Debug)]
#[command(
    name = "sysgate",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "EXIT STATUS: 0 success; 1 a failure (and `diff`: the profiles differ); 2 bad \
input (an input file that does not exist or cannot be read included: the path is wrong); 74 \
standard input could not be read or an output written (the message names the path or \
standard output). A closed pipe on standard output ends a command quietly with 0. `run` and \
`learn` exit with the program's own status (see their --help).\n\nEvery -o takes - for \
standard output, and every profile argument - for standard input."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Resolve syscall names and numbers on any architecture (like scmp_sys_resolver).
    Resolve(resolve::Args),
    /// Compile a profile to BPF (raw, C, Rust or readable text).
    Compile(compile::Args),
    /// Show what a profile decides for one call, which rule decided, and whether the kernel
    /// caches it.
    Check(check::Args),
    /// Disassemble a raw seccomp program (sysgate's or libseccomp's) with syscall names.
    Disasm(disasm::Args),
    /// Assemble a program from the text `disasm` prints (the inverse of disasm).
    Asm(asm::Args),
    /// Read the filters a running process runs under: raw, disassembled, or decompiled
    /// into a profile in any format.
    Dump(dump::Args),
    /// Convert a profile between Docker, OCI, Podman, systemd, LXC and Kubernetes formats.
    Convert(convert::Args),
    /// Show what a profile does: default, arches, syscalls per action, argument rules,
    /// conflicts.
    Show(show::Args),
    /// Show where two profiles decide differently (by meaning, not text).
    Diff(diff::Args),
    #[command(about = run::ABOUT)]
    Run(run::Args),
    /// Show what the running kernel's seccomp supports.
    Probe(probe::Args),
    /// Run a command under a tracer and write the profile it needs (`learn merge`: the
    /// union of learned profiles).
    Learn(learn::Args),
    /// List the syscalls in kernel seccomp audit records; optionally write a profile for
    /// them.
    Audit(audit::Args),
    /// Prove that raw filters decide exactly as a profile (or as another filter) on every
    /// input, or show inputs where they differ.
    Verify(verify::Args),
    /// Find where a profile can be walked around, what it grants, where its architectures
    /// disagree and which rules do nothing.
    Lint(lint::Args),
    /// List systemd's syscall sets and their syscalls (like systemd-analyze syscall-filter).
    Sets(sets::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(generate::CompletionsArgs),
    /// Write the man pages, one per subcommand, into a directory (a packaging aid:
    /// `cargo run -p xtask -- gen-dist-files`).
    #[command(hide = true)]
    ManPages(generate::ManArgs),
    /// Serve containers' seccomp notifications for OCI runtimes (listenerPath): learn a
    /// profile per container, or report or refuse what a profile refuses.
    Agent(agent::Args),
    /// OCI bundles and runtime profiles: `oci prepare` routes a container's calls to
    /// `sysgate agent`.
    Oci(oci::Args),
}

/// The whole parser, as clap builds it: what completions and man pages are generated from.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// The status of every command for an I/O error (see [`output::IoFailure`]); sysexits'
/// EX_IOERR, which no command uses for a result.
pub const IO_ERROR: u8 = 74;
/// `sysgate run`'s status when the program was not started (sysgate's own failure).
const NOT_STARTED: u8 = 125;
/// `sysgate run`'s status when the program cannot be executed.
const NOT_EXECUTABLE: u8 = 126;
/// `sysgate run`'s status when the program does not exist.
const NOT_FOUND: u8 = 127;

/// The exit status of `sysgate run`.
fn run_status(outcome: anyhow::Result<run::Finished>) -> ExitCode {
    match outcome {
        Ok(run::Finished::Exited(code)) => ExitCode::from(code.clamp(0, 255) as u8),
        Ok(run::Finished::Signaled(sig)) => ExitCode::from(128u8.saturating_add(sig as u8)),
        Ok(run::Finished::NotExecutable) => ExitCode::from(NOT_EXECUTABLE),
        Ok(run::Finished::NotFound) => ExitCode::from(NOT_FOUND),
        Err(err) => {
            eprintln!("sysgate run: {err:#}");
            ExitCode::from(NOT_STARTED)
        }
    }
}

/// An error caused by the user's input: reported on one line, exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Shorthand for returning a [`BadInput`] error.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// Parse the command line. `sysgate run` starts another program, so its start-up counts:
/// for it, only the `run` subcommand's parser is built (building every subcommand's costs
/// about a quarter of a millisecond). A test checks both parsers agree.
fn parse() -> Result<Cli, clap::Error> {
    if std::env::args_os().nth(1).is_some_and(|a| a == "run") {
        parse_run_from(std::env::args_os())
    } else {
        Cli::try_parse()
    }
}

/// The `sysgate` command with only its `run` subcommand.
fn run_only_command() -> clap::Command {
    use clap::Args;
    clap::Command::new("sysgate")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true)
        // The Args struct's own doc comment would be the about: the variant's replaces it.
        .subcommand(run::Args::augment_args(clap::Command::new("run")).about(run::ABOUT))
}

fn parse_run_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let matches = run_only_command().try_get_matches_from(args)?;
    let (_, sub) = matches.subcommand().expect("subcommand_required");
    Ok(Cli {
        command: Command::Run(run::Args::from_arg_matches(sub)?),
    })
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        // A usage error of `sysgate run` is sysgate's failure, not the program's status.
        Err(e) if e.use_stderr() && std::env::args_os().nth(1).is_some_and(|a| a == "run") => {
            let _ = e.print();
            return ExitCode::from(NOT_STARTED);
        }
        Err(e) => e.exit(),
    };
    let outcome = match cli.command {
        Command::Resolve(args) => resolve::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Check(args) => check::run(args),
        Command::Disasm(args) => disasm::run(args),
        Command::Asm(args) => asm::run(args),
        Command::Dump(args) => dump::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Show(args) => show::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Run(args) => return run_status(run::run(args)),
        Command::Learn(args) => learn::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Sets(args) => sets::run(args),
        Command::Completions(args) => generate::completions(args),
        Command::ManPages(args) => generate::man_pages(args),
        Command::Agent(args) => agent::run(args),
        Command::Oci(args) => oci::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            let io = err
                .chain()
                .find_map(|e| e.downcast_ref::<output::IoFailure>());
            if let Some(io) = io {
                if io.is_broken_pipe() {
                    // `sysgate resolve --list | head`: the reader left; that is not a failure.
                    return ExitCode::SUCCESS;
                }
                eprintln!("sysgate: {err:#}");
                ExitCode::from(IO_ERROR)
            } else if err.downcast_ref::<BadInput>().is_some() {
                eprintln!("sysgate: {err}");
                ExitCode::from(2)
            } else {
                eprintln!("sysgate: {err:#}");
                ExitCode::from(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parser makes of `argv`: the parsed command, or the text clap would print.
    fn outcome(parsed: Result<Cli, clap::Error>) -> String {
        match parsed {
            Ok(cli) => format!("{cli:?}"),
            Err(e) => format!("{:?}: {}", e.kind(), e.render()),
        }
    }

    #[test]
    fn run_only_parser_agrees_with_the_full_one() {
        let cases: &[&[&str]] = &[
            &["sysgate", "run", "--", "true"],
            &["sysgate", "run", "true", "-x", "--y"],
            &[
                "sysgate",
                "run",
                "--profile",
                "p.json",
                "--allow",
                "@mount",
                "--deny",
                "uname:kill",
                "--default-action",
                "log",
                "--arch",
                "x86",
                "-v",
                "--",
                "sh",
                "-c",
                "echo hi",
            ],
            &["sysgate", "run", "--help"],
            &["sysgate", "run", "-h"],
            &["sysgate", "run", "--version"],
            &["sysgate", "run"],
            &["sysgate", "run", "--no-such-flag", "--", "true"],
            &["sysgate", "run", "--compat", "sideways", "--", "true"],
        ];
        for argv in cases {
            let full = outcome(Cli::try_parse_from(*argv));
            let fast = outcome(parse_run_from(*argv));
            assert_eq!(fast, full, "for {argv:?}");
        }
        // The cases above really reach the run subcommand (not a top-level error).
        assert!(outcome(Cli::try_parse_from(cases[0])).contains("Run(Args"));
        assert!(outcome(Cli::try_parse_from(cases[3])).contains("sysgate run"));
    }
}
