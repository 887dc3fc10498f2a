//! Classic BPF programs for seccomp: instructions, byte encoding, an emulator, the kernel's
//! action-cache check, a disassembler and exports.
//! This module knows nothing about policies or profiles; the compiler produces [`Insn`]s and
//! everything here works on any seccomp program, including libseccomp's.

mod cache;
mod decode;
mod emulate;
mod insn;
mod program;

pub use cache::kernel_caches_all;
pub use emulate::{EmulateError, Emulated, SeccompData};
pub use insn::{data, op, Insn, MAX_INSNS};
pub use program::{InvalidProgram, ParseProgramError, Program};
