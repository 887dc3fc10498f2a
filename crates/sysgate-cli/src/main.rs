//! The `sysgate` command: one thin module per subcommand over the `sysgate` library.
//!
//! `main` parses the arguments, runs one subcommand and turns its outcome into an exit status
//! here and nowhere else: 0 success, 1 an operational failure, 2 bad input (usage, an unknown
//! arch, a profile that does not parse), and whatever a subcommand reports explicitly (for
//! `run`, the child's own status).

mod audit;
mod check;
mod compile;
mod complain;
mod disasm;
mod learn;
mod profile_input;
mod resolve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A pure-Rust seccomp toolkit: resolve syscalls, compile and check filters, run programs
/// under them.
#[derive(Parser, Debug)]
#[command(name = "sysgate", version, about, long_about = None, propagate_version = true)]
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
    /// Run a command under a tracer and write the profile it needs (`learn merge`: the
    /// union of learned profiles).
    Learn(learn::Args),
    /// List the syscalls in kernel seccomp audit records; optionally write a profile for
    /// them.
    Audit(audit::Args),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Resolve(args) => resolve::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Check(args) => check::run(args),
        Command::Disasm(args) => disasm::run(args),
        Command::Learn(args) => learn::run(args),
        Command::Audit(args) => audit::run(args),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                // `sysgate resolve --list | head`: the reader left; that is not a failure.
                ExitCode::SUCCESS
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

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
