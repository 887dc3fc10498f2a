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
//! - [`bpf`]: classic BPF programs: encoding, the `SECCOMP_RET_*` return values
//!   ([`bpf::ret`], [`bpf::Action`]), emulator, kernel cache check, assembler and disassembler.
//! - [`policy`]: the IR every frontend produces and the compiler consumes, with the reference
//!   evaluator that defines what a policy means.
//! - [`compile`]: `Policy` → per-arch ranges → memoized decision graph → BPF [`bpf::Program`]s.
//! - [`verify`] (feature `verify`): prove that filters decide exactly as a policy (or other
//!   filters) on every input, or find an input where they differ.
//! - [`kernel`]: the running kernel: install programs, probe its seccomp features, fit a
//!   policy to them, run a command under filters, supervise user notifications.
//! - [`profile`] (feature `profiles`): frontends that read profile files (Docker/OCI/Podman
//!   JSON, systemd, LXC, Kubernetes) into a [`Policy`](policy::Policy) for a target
//!   architecture, capability set and kernel, and backends that write them.
//! - [`learn`] (feature `profiles`): trace a program or read audit logs, and synthesize the
//!   policy it needs.
//! - [`lint`] (feature `profiles`): findings about a profile (grants that escape, dead rules).
//!
//! # Layers
//!
//! Each module uses only the modules below it, so the pipeline reads in one direction:
//!
//! ```text
//! profile  learn  lint       formats and workflows (feature `profiles`)
//!    |       |     |
//! verify       kernel        proofs; install, probe, fit, spawn, Filter
//!     \       /
//!      compile               Policy -> per-arch ranges -> node graph -> Program
//!         |
//!      policy                the IR and its reference evaluator
//!         |
//!       bpf                  instructions, SECCOMP_RET_* encoding, emulator
//!         |
//!       arch                 syscall and errno numbers, audit tokens
//! ```
//!
//! `bpf` knows the kernel's return values and the [`Action`] each stands for, but no policy;
//! [`policy`] builds its rules on them and re-exports them. [`compile`] exposes what it
//! computes through [`compile::compile`] and [`compile::decision_ranges`], never its node
//! graph. `tests/layers.rs` checks the layers on the sources.
//!
//! # Features
//!
//! - `profiles` (default): the profile formats and what is built on them: `profile`
//!   (Docker/OCI/Podman JSON, systemd, LXC, Kubernetes YAML), `learn`, `lint`, and the OCI
//!   seccomp-agent handoff (`kernel::receive_handoff`). It brings serde, serde_json and the
//!   YAML parser (saphyr).
//!
//! - `verify` (default): [`verify`], proofs that filters decide exactly as a policy and the
//!   decompiler. It brings a BDD library (biodivine-lib-bdd).
//!
//! Without them (`default-features = false`) the crate is the core: [`arch`], [`bpf`],
//! [`policy`], [`compile`] and [`kernel`] with [`Filter`], which is all a program that builds
//! its filter in code, or embeds one compiled at build time, needs; its only dependencies
//! are thiserror, libc and rustc-hash:
//!
//! ```toml
//! [dependencies]
//! sysgate = { version = "0.1", default-features = false }
//! ```
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
// Links to the modules the features bring: without them they point at the feature list, so
// the docs build either way.
#![cfg_attr(
    feature = "profiles",
    doc = "[`profile`]: crate::profile\n[`learn`]: crate::learn\n[`lint`]: crate::lint"
)]
#![cfg_attr(feature = "verify", doc = "[`verify`]: crate::verify")]
#![cfg_attr(not(feature = "verify"), doc = "[`verify`]: #features")]
#![cfg_attr(
    not(feature = "profiles"),
    doc = "[`profile`]: #features\n[`learn`]: #features\n[`lint`]: #features"
)]
#![warn(missing_docs)]

pub mod arch;
pub mod bpf;
pub mod compile;
pub mod kernel;
#[cfg(feature = "profiles")]
pub mod learn;
#[cfg(feature = "profiles")]
pub mod lint;
pub mod policy;
#[cfg(feature = "profiles")]
pub mod profile;
#[cfg(feature = "verify")]
pub mod verify;

pub use arch::Arch;
pub use kernel::Filter;

// README.md's Rust examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
pub use policy::Action;
