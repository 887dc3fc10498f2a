//! sysgate: a pure-Rust seccomp toolkit.
//!
//! The library follows one pipeline, and each stage is a module:
//!
//! ```text
//! profile text --frontend--> Policy --resolve per Arch--> syscall ranges --codegen--> Program
//! ```
//!
//! - [`arch`]: every architecture libseccomp supports, with its audit token, word size,
//!   endianness, multiplexed syscalls and generated syscall table.
#![warn(missing_docs)]

pub mod arch;

pub use arch::Arch;
