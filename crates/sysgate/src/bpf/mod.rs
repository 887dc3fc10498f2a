//! Classic BPF programs for seccomp: instructions, byte encoding, the return values
//! (`SECCOMP_RET_*`, [`ret`], and the [`Action`] each stands for), an emulator, the kernel's
//! action-cache check, an assembler, a disassembler and exports; and the kernel facts every
//! layer above shares: `struct seccomp_data` ([`SeccompData`], also what notifications carry)
//! and the `seccomp(2)` filter flags ([`FilterFlag`], [`KernelFlags`]).
//!
//! This module knows nothing about policies or profiles (it sits below them: the policy IR
//! builds on its [`Action`]); the compiler produces [`Insn`]s and everything here works on
//! any seccomp program, including libseccomp's.
//!
//! ```
//! use sysgate::arch::{Arch, Endian};
//! use sysgate::bpf::{data, op, Insn, Program};
//!
//! let program = Program::new(
//!     vec![
//!         Insn::load(data::ARCH),
//!         Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 1, 0),
//!         Insn::ret(0x8000_0000),
//!         Insn::load(data::NR),
//!         Insn::jump(op::JEQ, 59, 0, 1),
//!         Insn::ret(0x0005_0001),
//!         Insn::ret(0x7fff_0000),
//!     ],
//!     Endian::Little,
//! );
//! program.validate()?;
//! assert_eq!(program.emulate_call(Arch::X86_64, 59, &[0; 6])?.ret, 0x0005_0001);
//! assert!(program.kernel_caches(Arch::X86_64, 0));
//! assert!(program.disassemble().contains("; execve"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod action;
mod asm;
mod cache;
pub(crate) mod decode;
mod disasm;
mod emulate;
mod export;
mod flags;
mod insn;
mod program;

pub use action::{
    errno_name, parse_errno, ret, Action, ActionOn, ParseActionError, ERRNO_NAMES, MAX_ERRNO,
};
pub use asm::AsmError;
pub use cache::kernel_caches_all;
pub use emulate::{EmulateError, Emulated, SeccompData};
pub use flags::{FilterFlag, KernelFlags};
pub use insn::{data, op, Insn, MAX_INSNS, MAX_INSNS_PER_PATH};
pub use program::{InvalidProgram, ParseProgramError, Program};
