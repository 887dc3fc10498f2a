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
//!
//! # Quick start
//!
//! [`Filter`] is the common path: rules, then [`Filter::spawn`] (a program in a child),
//! [`Filter::install`] (this thread) or [`Filter::prepare`] (for a
//! [`std::process::Command`], through [`kernel::CommandExt`]). Each probes the kernel, fits
//! the filter to it, compiles it and installs it with the filter's own attributes, and
//! returns a [`kernel::Status`] saying what was enforced. Default KILL; read, write to
//! stdout, exit_group, and execve to start the child:
//!
//! ```
//! use std::os::unix::process::ExitStatusExt;
//!
//! use sysgate::policy::{ArgCond, CmpOp};
//! use sysgate::{Action, Filter};
//!
//! let mut spawned = Filter::new(Action::KillProcess)
//!     .allow("read")
//!     .allow_if("write", [ArgCond::new(0, CmpOp::Eq, 1)?]) // fd 1 only
//!     .allow("exit_group")
//!     .allow("execve") // the child executes the program under the filter
//!     .spawn("echo", ["hello"])?;
//! // echo's loader makes a call outside the list: the kernel kills it.
//! assert_eq!(spawned.child.wait()?.signal(), Some(libc::SIGSYS));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod arch;
pub mod bpf;
pub mod compile;
pub mod kernel;
pub mod learn;
pub mod lint;
pub mod policy;
pub mod profile;
pub mod verify;

pub use arch::Arch;
pub use kernel::Filter;

// README.md's Rust examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
pub use policy::Action;
