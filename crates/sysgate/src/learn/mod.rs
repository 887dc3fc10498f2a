//! Learning a profile from what a program does: a tracer, an audit-log reader, complain
//! mode and profile synthesis.
//!
//! ```text
//! trace(cmd) ─┐
//!             ├─> Observations ──synthesize──> Policy ──profile writers──> any format
//! audit log ──┘                                  ^
//!                         earlier profiles ──union┘
//! ```
//!
//! - [`trace`]: run a command under a filter that hands every syscall to sysgate (seccomp
//!   user notification or ptrace, [`Backend`]), following every process, thread and exec;
//!   count calls per ABI, number and executable ([`Observations`]); optionally record
//!   flag arguments ([`flag_args`]) or decide each call with a policy without enforcing
//!   it (complain mode, [`TraceOptions::complain`]).
//! - [`read_audit_log`]: the kernel's `type=SECCOMP` / `type=1326` records from
//!   audit.log, dmesg or journalctl, decoded for each record's ABI.
//! - [`synthesize`]: the policy that allows exactly what was observed; [`union`] merges
//!   learned policies.
//! - [`Session`]: a seccomp agent's decisions for one container (`sysgate agent`), and
//!   [`agent_policy`], the profile that routes a container's calls to it;
//!   [`container_profile`] and [`Runtime`]: learned profiles a container runtime can start.
//! - [`summarize`]: counts, the most frequent calls and the [`DANGEROUS`] ones used.
//!
//! This module produces [`Policy`](crate::policy::Policy) values and reads nothing but
//! its own inputs. Writing them is the profile writers' job ([`crate::profile`]).

mod agent;
mod audit;
mod flags;
mod observe;
mod runtime;
mod summary;
mod synth;
mod trace;

pub use agent::{
    agent_policy, container_profile, AgentError, AgentMode, Refusal, Session, NEVER_NOTIFIED,
};
pub use audit::{parse_audit_line, read_audit_log, AuditLog, AuditRecord};
pub use flags::{flag_args, FLAG_ARGS};
pub use observe::{abi_of, CallCount, Observations};
pub use runtime::{with_runtime, Runtime};
pub use summary::{dangerous, summarize, DangerousUse, Summary, DANGEROUS};
pub use synth::{
    normalize, synthesize, union, without_arg_conditions, Learned, SynthOptions, RUNTIME_SYSCALLS,
};
pub use trace::{
    trace, Backend, Denial, Exit, Progress, ProgressSnapshot, Trace, TraceError, TraceOptions,
};

/// The one of `all` whose `name_of` is `name`: the parser of the small name vocabularies
/// (`--mode`, `--runtime`).
fn by_name<T: Copy, const N: usize>(
    all: [T; N],
    name_of: fn(T) -> &'static str,
    name: &str,
) -> Option<T> {
    all.into_iter().find(|t| name_of(*t) == name)
}
