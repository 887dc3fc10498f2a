//! `sysgate disasm`: disassemble any raw seccomp program (sysgate's, libseccomp's, a dump).

use std::process::ExitCode;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::bpf::Program;

use crate::bad_input;
use crate::flags::{ArchArg, Verbosity};
use crate::output;

/// Arguments of `sysgate disasm`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "FILE holds the kernel's sock_filter array (8 bytes per instruction), \
as written by `sysgate compile --format raw` or libseccomp's seccomp_export_bpf. Syscall \
numbers are named for the architecture each path has checked; --arch names them where the \
program does not check the architecture and sets the byte order (default: native).\n\n\
Example:\n  sysgate compile docker-default.json -o filter.bpf && sysgate disasm filter.bpf"
)]
pub struct Args {
    /// The raw program to read ("-" for standard input).
    #[arg(value_name = "FILE")]
    file: String,

    #[command(flatten)]
    arch: ArchArg,

    #[command(flatten)]
    verbosity: Verbosity,
}

/// The most instructions `disasm` reads from a file: far more than any filter.
const DISASM_MAX_INSNS: usize = 1 << 20;

/// Run `sysgate disasm`.
pub fn run(args: Args) -> Result<ExitCode> {
    let arch = args.arch.parse()?;
    let bytes = if args.file == "-" {
        output::read_stdin()?
    } else {
        // Longer than the kernel loads is still shown (with a warning), up to a bound.
        output::read_raw_filter(&args.file, DISASM_MAX_INSNS)?
    };
    let endian = arch.unwrap_or_else(Arch::native).endian();
    let program = Program::from_bytes(&bytes, endian)
        .map_err(|e| bad_input(format!("{}: {e}", args.file)))?;
    if let Err(e) = program.validate() {
        args.verbosity.warn(format_args!(
            "{}: the kernel would refuse this program: {e}",
            args.file
        ));
    }
    output::print(program.disassemble_with(arch).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
