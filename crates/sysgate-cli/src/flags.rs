//! The flags every subcommand spells the same way, as structs to `#[command(flatten)]`, and
//! the value parsers behind flags that more than one command takes.
//!
//! Owns the shared vocabulary (the convention is written out in `main`'s module docs):
//! where the output goes ([`OutputArg`], `-o/--output`), JSON output ([`JsonArg`],
//! `--json`), how much goes to standard error ([`Verbosity`], `-q/-v`), the architectures
//! ([`ArchArg`], [`ArchesArg`], `-a/--arch`), the profile format written
//! ([`ProfileFormatArg`], `-f/--format`, alias `--to`), the equivalents other architectures
//! use ([`PortableArg`], `--portable`) and the spellings of `--default-action`
//! ([`parse_default_action`]). Does not own what a command writes or how
//! it reads a profile (`profile_input::TargetArgs`, which flattens [`ArchesArg`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use sysgate::arch::Arch;
use sysgate::policy::{Action, Policy};
use sysgate::profile::detect::Format as ProfileFormat;
use sysgate::profile::portable;

use crate::bad_input;
use crate::output::Destination;

/// `-o/--output FILE`: where a command's result goes.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct OutputArg {
    /// Write to FILE instead of standard output ("-": standard output). A regular file is
    /// replaced atomically, a device or FIFO written in place, a symlink's target written.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArg {
    /// Where the output goes.
    pub fn destination(&self) -> Destination {
        Destination::from_arg(self.output.as_deref())
    }
}

/// `--json`: the command's result as one JSON document instead of text.
#[derive(clap::Args, Debug, Default, Clone, Copy)]
pub struct JsonArg {
    /// Print the result as one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `-q/--quiet` and `-v/--verbose`: how much a command says on standard error besides its
/// result. Errors are always printed; so is anything that makes a written profile MORE
/// PERMISSIVE than its input, and the explanation of a kill.
#[derive(clap::Args, Debug, Default, Clone, Copy)]
pub struct Verbosity {
    /// Print no warnings, notes or summaries on standard error (errors still are).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print more: every compiler note, where answers come from, what each step did.
    #[arg(short = 'v', long, conflicts_with = "quiet")]
    pub verbose: bool,
}

impl Verbosity {
    /// A `sysgate: warning: MSG` line, unless quiet.
    pub fn warn(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("sysgate: warning: {msg}");
        }
    }

    /// A `sysgate: note: MSG` line, unless quiet.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("sysgate: note: {msg}");
        }
    }

    /// A `sysgate: MSG` line, only with -v.
    pub fn detail(&self, msg: impl std::fmt::Display) {
        if self.verbose {
            eprintln!("sysgate: {msg}");
        }
    }
}

/// `-a/--arch ARCH`, once: for commands that work on one architecture (resolve, disasm).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ArchArg {
    /// Architecture, any spelling: x86_64, amd64, SCMP_ARCH_X86_64, x86-64, 0xc000003e,
    /// native, ... Default: the native one.
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    pub arch: Option<String>,
}

impl ArchArg {
    /// The architecture asked for, if one was (bad input for a spelling no arch has).
    pub fn parse(&self) -> Result<Option<Arch>> {
        self.arch
            .as_deref()
            .map(|a| Arch::parse(a).map_err(|e| bad_input(e.to_string())))
            .transpose()
    }

    /// The architecture asked for, or the native one.
    pub fn or_native(&self) -> Result<Arch> {
        Ok(self.parse()?.unwrap_or_else(Arch::native))
    }
}

/// `-a/--arch ARCH`, repeatable: the architectures of a profile a command writes (`learn`,
/// `audit`). Commands that read a profile take `profile_input::TargetArgs`, whose `--arch`
/// is spelled the same and also expands a Docker archMap entry.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ArchesArg {
    /// The written profile's architectures (repeatable; any spelling: x86_64, amd64, i386,
    /// ...); calls recorded on others are left out of it, with a note. Default: every
    /// architecture seen, plus the native one. Profiles given to --merge are read for them.
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    pub arch: Vec<String>,
}

impl ArchesArg {
    /// The architectures asked for, each as given (an archMap name is not expanded here);
    /// bad input for a spelling no arch has. Empty when none was given.
    pub fn parse(&self) -> Result<Vec<Arch>> {
        self.arch
            .iter()
            .map(|a| Arch::parse(a).map_err(|e| bad_input(e.to_string())))
            .collect()
    }
}

/// `--portable`: the profile a command writes gets the calls other architectures use for the
/// same work (`learn`, `learn merge`, `convert`).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct PortableArg {
    /// Add, for each call the profile decides, the calls other architectures use for the
    /// same work, with the same action: openat for open, newfstatat and statx for stat,
    /// ppoll for poll, dup3 for dup2, the 32-bit *64, *32 and *_time64 variants, ... (the
    /// table is in docs/profiles.md), so that a profile recorded on x86_64 runs the program
    /// on arm64 and riscv64. Argument conditions are moved to the equivalent's arguments
    /// where they mean the same; where they cannot be, the equivalent is left out with a
    /// warning.
    #[arg(long)]
    pub portable: bool,
}

impl PortableArg {
    /// `policy` with the equivalents added (when `--portable` was given), and the note that
    /// says what was added; what could not be is warned about on standard error.
    pub fn apply(self, policy: Policy, verbosity: &Verbosity) -> Result<(Policy, Option<String>)> {
        let (mut each, note) = self.apply_each(vec![policy], verbosity)?;
        Ok((each.remove(0), note))
    }

    /// [`PortableArg::apply`] to each of several profiles before they are merged (their
    /// rules still name where they were read), with one note for them all.
    pub fn apply_each(
        self,
        policies: Vec<Policy>,
        verbosity: &Verbosity,
    ) -> Result<(Vec<Policy>, Option<String>)> {
        if !self.portable {
            return Ok((policies, None));
        }
        let mut added: std::collections::BTreeMap<String, Vec<&'static str>> = Default::default();
        let mut out = Vec::new();
        for policy in policies {
            let made = portable::portable(&policy)
                .map_err(|e| anyhow::anyhow!("cannot make the profile portable: {e}"))?;
            for w in &made.warnings {
                verbosity.warn(w);
            }
            for (from, to) in made.added {
                let list = added.entry(from).or_default();
                for name in to {
                    if !list.contains(&name) {
                        list.push(name);
                    }
                }
            }
            out.push(made.policy);
        }
        Ok((out, portable::summary(&added)))
    }
}

/// `-f/--format FORMAT` (alias `--to`): the profile format a command writes.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct ProfileFormatArg {
    /// Profile format to write: docker, oci, podman, systemd, lxc, k8s.
    #[arg(
        short = 'f',
        long = "format",
        visible_alias = "to",
        value_name = "FORMAT",
        default_value = "docker",
        ignore_case = true,
        value_parser = profile_format_parser()
    )]
    pub format: ProfileFormat,
}

/// The profile formats `--format` takes, with the other spellings sysgate reads them by.
pub fn profile_format_parser() -> impl TypedValueParser<Value = ProfileFormat> {
    PossibleValuesParser::new([
        PossibleValue::new("docker")
            .aliases(["moby", "json"])
            .help("Docker/moby seccomp JSON (`docker run --security-opt seccomp=FILE`)"),
        PossibleValue::new("oci")
            .help("OCI runtime-spec `linux.seccomp` JSON (runc, crun); the same subset as docker"),
        PossibleValue::new("podman")
            .alias("containers")
            .help("Podman's seccomp JSON (`podman run --security-opt seccomp=FILE`)"),
        PossibleValue::new("systemd").help("systemd `SystemCallFilter=` lines"),
        PossibleValue::new("lxc").help("LXC `lxc.seccomp.profile` text"),
        PossibleValue::new("k8s")
            .alias("kubernetes")
            .help("Kubernetes Security Profiles Operator `SeccompProfile`"),
    ])
    .map(|s| {
        s.parse::<ProfileFormat>()
            .expect("every possible value parses")
    })
}

/// What `--default-action` takes, in `run`, `learn` and `audit` alike.
pub const DEFAULT_ACTION_HELP: &str =
    "The action for calls no rule decides: errno (EPERM), kill (the whole process, as `--deny \
NAME:kill`), log (allow and log), or any action: ALLOW, LOG, ERRNO(EPERM), ERRNO(38), \
KILL_PROCESS, KILL_THREAD, TRAP (any case, SCMP_ACT_ prefix optional)";

/// `--default-action ACTION`, `errno` unless given: what the profile a command writes
/// (`learn`, `audit`, `agent`) does with the calls it did not see.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct DefaultActionArg {
    #[arg(
        long,
        value_name = "ACTION",
        default_value = "errno",
        value_parser = parse_default_action,
        help = DEFAULT_ACTION_HELP
    )]
    pub default_action: Action,
}

/// A `--default-action` value: `errno` (EPERM), `kill` (KILL_PROCESS, the meaning of
/// `--deny NAME:kill`), `log`, or any action [`Action`]'s parser reads. The one parser of
/// `run`, `learn` and `audit`, so a spelling means the same in each.
pub fn parse_default_action(s: &str) -> Result<Action, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "errno" => Ok(Action::Errno(1)),
        "kill" => Ok(Action::KillProcess),
        _ => s.parse::<Action>().map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_action_spellings_of_learn_and_run_mean_the_same() {
        let p = |s| parse_default_action(s).unwrap();
        assert_eq!(p("errno"), Action::Errno(1));
        assert_eq!(p("kill"), Action::KillProcess);
        assert_eq!(p("KILL"), Action::KillProcess);
        assert_eq!(p("log"), Action::Log);
        assert_eq!(p("SCMP_ACT_LOG"), Action::Log);
        assert_eq!(p("KILL_THREAD"), Action::KillThread);
        assert_eq!(p("errno(38)"), Action::Errno(38));
        assert_eq!(p("allow"), Action::Allow);
        assert!(parse_default_action("sideways").is_err());
    }
}
