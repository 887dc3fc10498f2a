//! `sysgate asm`: a program written in the disassembler's notation back to raw BPF (the
//! inverse of `sysgate disasm`), to edit a filter by hand or write one from scratch.
//!
//! Owns reading the text and writing the program; the notation and its parser are the
//! library's (`Program::assemble`).

use std::process::ExitCode;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::bpf::Program;

use crate::bad_input;
use crate::compile::{Format, FormatArg};
use crate::flags::{ArchArg, OutputArg, Verbosity};
use crate::output::{self, Destination};

/// Arguments of `sysgate asm`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "FILE holds one instruction per line, as `sysgate disasm` and \
`sysgate compile --format text` print them: `ld nr`, `jeq #59 jt 4 jf 5` (absolute jump \
targets), `ret ERRNO(1 EPERM)`, `.insn CODE, JT, JF, K` for anything else. The `N:` indexes \
are optional (checked where given); `;` starts a comment. --arch sets the byte order, which \
also names the argument words (a0.lo is offset 16 on little-endian machines). A program \
the kernel would refuse is written all the same, with a warning.\n\nExamples:\n  sysgate \
disasm filter.bpf > filter.txt && sysgate asm filter.txt -o filter.bpf\n  sysgate asm \
my.txt --format c"
)]
pub struct Args {
    /// The program as text ("-" for standard input).
    #[arg(value_name = "FILE")]
    file: String,

    #[command(flatten)]
    arch: ArchArg,

    #[command(flatten)]
    format: FormatArg,

    #[command(flatten)]
    output: OutputArg,

    #[command(flatten)]
    verbosity: Verbosity,
}

/// Run `sysgate asm`.
pub fn run(args: Args) -> Result<ExitCode> {
    let arch = args.arch.parse()?;
    let (bytes, shown) = if args.file == "-" {
        (output::read_stdin()?, output::STDIN_NAME.to_string())
    } else {
        let bytes =
            std::fs::read(&args.file).map_err(|e| bad_input(format!("{}: {e}", args.file)))?;
        (bytes, args.file.clone())
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        bad_input(format!(
            "{shown}: not UTF-8 text (byte {}); `sysgate disasm` reads raw programs",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let endian = arch.unwrap_or_else(Arch::native).endian();
    let program =
        Program::assemble(&text, endian).map_err(|e| bad_input(format!("{shown}:{e}")))?;
    if let Err(e) = program.validate() {
        args.verbosity.warn(format_args!(
            "{shown}: the kernel would refuse this program: {e}"
        ));
    }
    let out = args.output.destination();
    let bytes = match args.format.format {
        Format::Raw => {
            if out == Destination::Stdout && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(bad_input(
                    "refusing to write raw BPF to a terminal; use -o FILE or --format text",
                ));
            }
            program.to_bytes()
        }
        Format::C => program.to_c_array("filter").into_bytes(),
        Format::Rust => program.to_rust_static("FILTER").into_bytes(),
        Format::Text => program.disassemble_with(arch).into_bytes(),
    };
    out.write(&bytes)?;
    Ok(ExitCode::SUCCESS)
}
