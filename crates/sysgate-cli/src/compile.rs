//! `sysgate compile`: a profile to BPF, as raw bytes, C, Rust or readable text.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use sysgate::bpf::Program;
use sysgate::policy::Diagnostic;

use crate::bad_input;
use crate::flags::Verbosity;
use crate::output::{self, Destination, IoFailure};
use crate::profile_input::{self, TargetArgs};

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The kernel's sock_filter array, ready for seccomp(2) (the default).
    Raw,
    /// A C array of struct sock_filter plus its sock_fprog (and NAME_seccomp_flags when the
    /// policy asks for seccomp(2) flags).
    C,
    /// Rust for a build: `static FILTERS` (sysgate::bpf::Program::from_static) and the
    /// policy's `INSTALL_OPTIONS`, to include! (see docs/library.md).
    Rust,
    /// Readable disassembly with syscall names.
    Text,
}

/// `-f/--format FORMAT` (alias `--to`): the program format `compile` and `asm` write.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct FormatArg {
    /// Output format: raw (the kernel's sock_filter array), c, rust, or text (the
    /// disassembly).
    #[arg(
        short = 'f',
        long,
        visible_alias = "to",
        value_enum,
        default_value = "raw"
    )]
    pub format: Format,
}

/// Arguments of `sysgate compile`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "PROFILE is a profile in any format sysgate reads (Docker/moby, OCI or \
Podman JSON, a systemd unit or SystemCallFilter= lines, LXC, a Kubernetes SeccompProfile; \
detected from its content or named with --from), \"-\" for standard input, the name of a \
built-in profile (docker-default, unconfined) or systemd:@set. It is resolved for the target like Docker does: --arch picks the architecture (an archMap entry brings its \
subArchitectures), --caps the capabilities and --kernel the kernel version that includes and \
excludes are checked against.\n\nWhen a policy needs more than 4096 instructions it compiles \
to several programs to be stacked; then OUT must be a directory (raw) and one file per \
program is written in install order (00.bpf, 01.bpf, ...).\n\nExamples:\n  sysgate compile \
docker-default.json -o filter.bpf\n  sysgate compile docker-default.json --arch arm64 --format c\n  \
sysgate compile profile.json --format text --caps CAP_SYS_ADMIN --kernel 5.10"
)]
pub struct Args {
    /// The profile to compile: a file in any format (detected), "-" for standard input, a
    /// built-in name (docker-default, unconfined) or systemd:@set.
    #[arg(value_name = "PROFILE")]
    profile: String,

    #[command(flatten)]
    target: TargetArgs,

    #[command(flatten)]
    format: FormatArg,

    /// Output file (directory when stacked raw programs are needed); default or "-":
    /// standard output (raw output to a terminal is refused). A regular file is replaced
    /// atomically, a device or FIFO written in place, a symlink's target written.
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// Lay the program out for a kernel with the seccomp action cache (Linux 5.11+): that
    /// kernel skips the filter for calls it allows whatever their arguments, so the calls
    /// that still run it (argument checks, denials) are put nearer the root. It decides the
    /// same either way; `sysgate run` does this when the running kernel has the cache.
    #[arg(long)]
    action_cache: bool,

    // -q: no warnings; -v: every compiler note (rules skipped on an architecture,
    // overlaps, conditions a multiplexer cannot check) instead of one line counting them.
    #[command(flatten)]
    verbosity: Verbosity,
}

/// Run `sysgate compile`.
pub fn run(args: Args) -> Result<ExitCode> {
    let loaded = profile_input::load(&args.profile, &args.target)?;
    let options = sysgate::compile::Options {
        action_cache: args.action_cache,
        ..Default::default()
    };
    let compiled = sysgate::compile::compile_with(&loaded.policy, &options)
        .map_err(|e| bad_input(format!("{}: {e}", args.profile)))?;
    if !args.verbosity.quiet {
        let hint = "; -v lists them all";
        for w in profile_input::shown_warnings(&loaded.warnings, args.verbosity.verbose, hint) {
            eprintln!("sysgate: warning: {w}");
        }
        if args.verbosity.verbose {
            for d in &compiled.diagnostics {
                eprintln!("sysgate: warning: {}", d.describe(&loaded.policy));
            }
        } else if let Some(line) = summary(&compiled.diagnostics) {
            eprintln!("sysgate: warning: {line}");
        }
    }
    // The seccomp(2) flags travel with the Rust output (INSTALL_OPTIONS) only: the other
    // formats hold programs, so say which flags the installer must pass itself when one
    // changes what is filtered (TSYNC left out filters one thread of many; without
    // NEW_LISTENER the NOTIFY calls fail with ENOSYS). LOG and SPEC_ALLOW (runc's default)
    // change neither, so they are only defined in the C output.
    let kernel_flags = compiled.install_options().flags();
    let flags: Vec<&str> = kernel_flags.iter().map(|f| f.uapi_name()).collect();
    let flags = flags.join(" | ");
    let must_pass = kernel_flags.tsync || kernel_flags.new_listener;
    if must_pass && args.format.format != Format::Rust && !args.verbosity.quiet {
        eprintln!(
            "sysgate: warning: the policy asks for the seccomp(2) flags {flags}, which the \
             installer must pass: seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) (--format c \
             defines them beside each program; --format rust carries them)"
        );
    }
    let programs = &compiled.programs;
    let out = Destination::from_arg(args.output.as_deref());
    match (args.format.format, &out) {
        (Format::Raw, Destination::File(dir)) if programs.len() > 1 => write_stack(dir, programs)?,
        (Format::Raw, Destination::Stdout) if programs.len() > 1 => {
            return Err(bad_input(format!(
                "the policy needs {} stacked programs; give -o DIRECTORY to write one file each",
                programs.len()
            )))
        }
        (Format::Raw, Destination::Stdout)
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) =>
        {
            return Err(bad_input(
                "refusing to write raw BPF to a terminal; use -o FILE or --format text",
            ))
        }
        (format, _) => {
            let mut bytes = Vec::new();
            for (i, p) in programs.iter().enumerate() {
                let name = if programs.len() == 1 {
                    "filter".to_string()
                } else {
                    format!("filter_{i}")
                };
                match format {
                    Format::Raw => bytes.extend(p.to_bytes()),
                    Format::C => {
                        bytes.extend(p.to_c_array(&name).into_bytes());
                        if !flags.is_empty() {
                            bytes.extend(
                                format!(
                                    "\n/* seccomp(2) flags the policy asks for: install with \
                                     seccomp(SECCOMP_SET_MODE_FILTER, {name}_seccomp_flags, \
                                     &{name}_prog) (linux/seccomp.h) */\n\
                                     #define {name}_seccomp_flags ({flags})\n"
                                )
                                .into_bytes(),
                            );
                        }
                    }
                    // One file for the whole stack, with the install options.
                    Format::Rust if i == 0 => bytes.extend(compiled.to_rust().into_bytes()),
                    Format::Rust => {}
                    Format::Text => {
                        if programs.len() > 1 {
                            bytes.extend(
                                format!(
                                    "; program {i} of {} (install in this order)\n",
                                    programs.len()
                                )
                                .into_bytes(),
                            );
                        }
                        bytes.extend(p.disassemble().into_bytes());
                    }
                }
            }
            out.write(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line counting the compiler's notes by kind, or `None` when there are none.
fn summary(diagnostics: &[Diagnostic]) -> Option<String> {
    let (mut skipped, mut multiplexed, mut overlaps) = (0, 0, 0);
    for d in diagnostics {
        match d {
            Diagnostic::UnknownOnArch { .. } => skipped += 1,
            Diagnostic::ConditionalMultiplexed { .. } => multiplexed += 1,
            Diagnostic::Overlap { .. } => overlaps += 1,
            _ => {}
        }
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut kinds = Vec::new();
    if skipped > 0 {
        kinds.push(plural(
            skipped,
            "syscall skipped on an architecture that lacks it",
            "syscalls skipped on architectures that lack them",
        ));
    }
    if multiplexed > 0 {
        kinds.push(plural(
            multiplexed,
            "argument condition that a multiplexer (socketcall, ipc) cannot check",
            "argument conditions that a multiplexer (socketcall, ipc) cannot check",
        ));
    }
    if overlaps > 0 {
        kinds.push(plural(
            overlaps,
            "overlap of rules with different actions",
            "overlaps of rules with different actions",
        ));
    }
    let others = diagnostics.len() - skipped - multiplexed - overlaps;
    if others > 0 {
        kinds.push(plural(others, "other note", "other notes"));
    }
    (!diagnostics.is_empty()).then(|| {
        format!(
            "{}: {}; -v lists them",
            plural(diagnostics.len(), "compiler note", "compiler notes"),
            kinds.join(", ")
        )
    })
}

fn write_stack(dir: &Path, programs: &[Program]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| IoFailure {
        what: format!("cannot create the directory {}", dir.display()),
        source,
    })?;
    for (i, p) in programs.iter().enumerate() {
        output::write_file(&dir.join(format!("{i:02}.bpf")), &p.to_bytes())?;
    }
    Ok(())
}
