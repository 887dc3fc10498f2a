//! The kernel side: installing programs, probing what the running kernel supports, fitting
//! a policy to it, running a program under filters, and supervising user notifications.
//!
//! - [`Filter`]: the common path in one chain: rules, then probe, fit, compile and install
//!   (this thread) or spawn (a child), with a [`Status`] saying what was enforced.
//!   [`Compiled`](crate::compile::Compiled) carries the policy's install options, so its
//!   `install`, `prepare` and `command` apply them.
//! - [`install`](install_insns): set `no_new_privs` and install one or several programs,
//!   stacked in order, into the calling thread or (TSYNC) the whole process
//!   ([`PreparedFilters`], [`InstallOptions`], [`InstallError`]).
//! - [`Features::probe`]: which actions, flags and notification sizes the kernel has, and
//!   whether it caches allowed syscalls. Installs nothing.
//! - [`adapt`]: fit a [`Policy`](crate::policy::Policy) to a kernel at a [`CompatLevel`],
//!   never permitting more than written, with a [`Status`] saying what changed.
//! - [`CommandExt`]: install filters in a child between `fork` and `exec`, and tell a
//!   refused filter from a failed `exec` ([`InstallReport`]).
//! - [`FilteredCommand`]: start a program under filters the way `posix_spawn` does, without
//!   copying the parent (`clone(CLONE_VM | CLONE_VFORK)`): what `sysgate run` uses.
//!   It, [`CommandExt`] and the tracer of [`learn`](crate::learn) take the same steps in the
//!   child and report them the same way (one child plan in the OS layer, `sys`).
//! - [`SignalForwarder`]: pass the signals sent to this process on to the program it
//!   started; [`SignalWaiter`]: take signals one at a time in a daemon's main thread.
//! - [`Listener`]: receive and answer `USER_NOTIF` notifications; `receive_handoff` (with
//!   the `profiles` feature, which reads the runtime's JSON): take a container's listener
//!   from an OCI runtime (`linux.seccomp.listenerPath`).
//! - [`read_filters`]: the filters a running process runs under, read back with
//!   `PTRACE_SECCOMP_GET_FILTER` ([`DumpError`] says why not).
//! - [`AuditReader`]: the kernel's seccomp audit records ([`SeccompRecord`]): which syscall
//!   a filter killed a process for.
//!
//! This module takes BPF instructions as they are ([`Insn`](crate::bpf::Insn) slices); it
//! neither compiles nor checks them beyond what the kernel needs to be asked. The kernel's
//! own checker decides whether a program is valid.
//!
//! Installing a filter is irreversible for the thread (and, with TSYNC, the process). Tests
//! and tools install only in child processes or in threads made for the purpose.

mod audit;
mod command;
mod compat;
mod dump;
mod filter;
#[cfg(feature = "profiles")]
mod handoff;
mod install;
mod notify;
mod probe;
mod spawn;
// The OS layer serves learn's tracer and agent too; without the `profiles` feature (which
// gates `learn`) their calls have no user.
#[cfg_attr(
    not(feature = "profiles"),
    allow(
        dead_code,
        reason = "the tracer and agent in learn (feature profiles) use the rest"
    )
)]
pub(crate) mod sys;

/// The flag type, re-exported beside the loader that takes it.
pub use crate::bpf::FilterFlag;
pub use audit::{AuditReader, AuditSource, AuditUnavailable, SeccompRecord, AUDIT_SECCOMP};
pub use command::{ChildInstall, CommandExt, InstallReport, ListenerHandoff};
pub use compat::{
    adapt, adapt_in_place, CompatError, CompatLevel, DroppedFlag, Site, Status, Substitution,
};
pub use dump::{read_filters, DumpError};
pub use filter::{Enforced, Filter, FilterError, Fitted, Spawned};
#[cfg(feature = "profiles")]
pub use handoff::{
    receive_handoff, send_handoff, ContainerProcessState, ContainerState, Handoff, HandoffError,
    MAX_FDS, MAX_STATE_BYTES, SECCOMP_FD_NAME,
};
pub use install::{
    install_insns, InstallError, InstallOptions, Installed, PreparedFilters, MAX_INSNS_PER_PATH,
};
pub use notify::{Listener, NotifSizes, Notification, NotifyError, Readiness, Response, TargetFd};
pub use probe::{ActionKind, FeatureSource, Features, KernelVersion, ProcessSeccomp};
pub use spawn::{exec_failure_advice, FilteredChild, FilteredCommand, SpawnError};
pub use sys::signals::{SignalForwarder, SignalWaiter};
