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
//! - [`policy`]: the IR every frontend produces and the compiler consumes, with the reference
//!   evaluator that defines what a policy means.
//! - [`compile`]: `Policy` → per-arch ranges → memoized decision graph → BPF [`bpf::Program`]s.
//! - [`bpf`]: classic BPF programs: encoding, emulator, kernel cache check, disassembler.
//! - [`profile`]: frontends that read profile files (Docker/OCI/Podman JSON) into a
//!   [`Policy`](policy::Policy) for a target architecture, capability set and kernel.
//! - [`kernel`]: the running kernel: install programs, probe its seccomp features, fit a
//!   policy to them, run a command under filters, supervise user notifications.
//! - [`learn`]: trace a program or read audit logs, and synthesize the policy it needs.
//! - [`verify`]: prove that filters decide exactly as a policy (or other filters) on every
//!   input, or find an input where they differ.
#![warn(missing_docs)]

pub mod arch;
pub mod bpf;
pub mod compile;
pub mod kernel;
pub mod learn;
pub mod policy;
pub mod profile;
pub mod verify;

pub use arch::Arch;
pub use kernel::Filter;
pub use policy::Action;
