//! `sysgate compile`: a profile to BPF, as raw bytes, C, Rust or readable text.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use sysgate::bpf::Program;
use sysgate::policy::Diagnostic;

use crate::bad_input;
use crate::profile_input::{self, TargetArgs};

/// Output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The kernel's sock_filter array, ready for seccomp(2) (the default).
    Raw,
    /// A C array of struct sock_filter plus its sock_fprog.
    C,
    /// A self-contained Rust `const` array.
    Rust,
    /// Readable disassembly with syscall names.
    Text,
}

/// Arguments of `sysgate compile`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "PROFILE is a Docker/moby or OCI seccomp JSON file, or the name of a \
built-in profile (docker-default). It is resolved for the target like Docker does: --arch picks the architecture (an archMap entry brings its \
subArchitectures), --caps the capabilities and --kernel the kernel version that includes and \
excludes are checked against.\n\nWhen a policy needs more than 4096 instructions it compiles \
to several programs to be stacked; then OUT must be a directory (raw) and one file per \
program is written in install order (00.bpf, 01.bpf, ...).\n\nExamples:\n  sysgate compile \
docker-default.json -o filter.bpf\n  sysgate compile docker-default.json --arch arm64 --format c\n  \
sysgate compile profile.json --format text --caps CAP_SYS_ADMIN --kernel 5.10"
)]
pub struct Args {
    /// The profile to compile: a JSON file or a built-in name (docker-default).
    #[arg(value_name = "PROFILE")]
    profile: String,

    #[command(flatten)]
    target: TargetArgs,

    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value = "raw")]
    format: Format,

    /// Output file (directory when stacked raw programs are needed); default: standard
    /// output (raw output to a terminal is refused).
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// Lay the program out for a kernel with the seccomp action cache (Linux 5.11+): that
    /// kernel skips the filter for calls it allows whatever their arguments, so the calls
    /// that still run it (argument checks, denials) are put nearer the root. It decides the
    /// same either way; `sysgate run` does this when the running kernel has the cache.
    #[arg(long)]
    action_cache: bool,

    /// Do not print warnings about the policy.
    #[arg(short = 'q', long)]
    quiet: bool,

    /// List every compiler note (rules skipped on an architecture, overlaps, conditions a
    /// multiplexer cannot check) instead of one line counting them.
    #[arg(short = 'v', long, conflicts_with = "quiet")]
    verbose: bool,
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
    if !args.quiet {
        for w in &loaded.warnings {
            eprintln!("sysgate: warning: {w}");
        }
        if args.verbose {
            for d in &compiled.diagnostics {
                eprintln!("sysgate: warning: {}", d.describe(&loaded.policy));
            }
        } else if let Some(line) = summary(&compiled.diagnostics) {
            eprintln!("sysgate: warning: {line}");
        }
    }
    let programs = &compiled.programs;
    match (args.format, &args.output) {
        (Format::Raw, Some(out)) if programs.len() > 1 => write_stack(out, programs)?,
        (Format::Raw, None) if programs.len() > 1 => {
            return Err(bad_input(format!(
                "the policy needs {} stacked programs; give -o DIRECTORY to write one file each",
                programs.len()
            )))
        }
        (Format::Raw, None) if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            return Err(bad_input(
                "refusing to write raw BPF to a terminal; use -o FILE or --format text",
            ))
        }
        (format, out) => {
            let mut bytes = Vec::new();
            for (i, p) in programs.iter().enumerate() {
                let name = if programs.len() == 1 {
                    "filter".to_string()
                } else {
                    format!("filter_{i}")
                };
                match format {
                    Format::Raw => bytes.extend(p.to_bytes()),
                    Format::C => bytes.extend(p.to_c_array(&name).into_bytes()),
                    Format::Rust => {
                        bytes.extend(p.to_rust_const(&name.to_uppercase()).into_bytes())
                    }
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
            match out {
                Some(path) => write_atomic(path, &bytes)?,
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
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
            "rule skipped on an architecture that lacks its syscall",
            "rules skipped on architectures that lack their syscall",
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
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (i, p) in programs.iter().enumerate() {
        write_atomic(&dir.join(format!("{i:02}.bpf")), &p.to_bytes())?;
    }
    Ok(())
}

/// Write through a temporary file and rename, so a reader never sees half a filter.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
