//! Container-ready profiles: the syscalls a container runtime makes itself, inside the
//! container, between installing the container's filter and `execve` of its process.
//!
//! A runtime installs the profile as late as it can, but not at the very end: runc (a Go
//! program, every thread of which gets the filter) still syncs with its parent over a pipe,
//! reopens the exec FIFO through `/proc/self/fd`, waits for `runc start`, and its Go runtime
//! keeps scheduling (futex, nanosleep, signals) before `execve`. A profile learned from the
//! program alone (`sysgate learn -- CMD`) lacks those calls, and the runtime dies under it
//! before the program starts. [`Runtime::base_syscalls`] lists them; [`with_runtime`] adds
//! them to a learned policy.
//!
//! The lists are facts about other programs, kept here with their sources:
//!
//! - runc: the Security Profiles Operator's `examples/baseprofile-runc.yaml` (runc v1.4.2,
//!   commit a2e4c4b), plus what runc 1.1's `libcontainer/standard_init_linux.go` does after
//!   `seccomp.InitSeccomp` (the sync over the init pipe, `close`, `openat` of the FIFO,
//!   `getpid`, `execve`) and the Go runtime's own calls on any thread in that window
//!   (`rt_sigprocmask`, `munmap`, `madvise`, `exit`), seen by `sysgate agent` with Debian's
//!   runc 1.1.5.
//! - crun: the Security Profiles Operator's `examples/baseprofile-crun.yaml` (crun v1.21,
//!   commit 0683a19).
//!
//! This file owns the lists and the rule they become; it runs nothing.

use super::synth::{normalize, Learned};
use crate::policy::{Action, Policy, PolicyError, Rule, Syscall};

/// The runtime a profile is made for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Runtime {
    /// runc (Docker, containerd, CRI-O's default).
    Runc,
    /// crun (Podman's default on many distributions, CRI-O).
    Crun,
    /// No runtime: the program is started by `sysgate run` or another tool that installs
    /// the filter right before `execve`.
    #[default]
    None,
}

/// runc's calls between its filter and `execve` (see the module docs for the sources).
const RUNC: &[&str] = &[
    "arch_prctl",
    "brk",
    "capget",
    "capset",
    "chdir",
    "close",
    "close_range",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "exit",
    "exit_group",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "getuid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "openat2",
    "prctl",
    "read",
    "recvfrom",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "set_tid_address",
    "setgid",
    "setgroups",
    "setuid",
    "sigaltstack",
    "statx",
    "tgkill",
    "write",
];

/// crun's calls (see the module docs for the source).
const CRUN: &[&str] = &[
    "access",
    "arch_prctl",
    "brk",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "close",
    "close_range",
    "dup2",
    "execve",
    "exit_group",
    "fchdir",
    "fchown",
    "fstat",
    "fstatfs",
    "getcwd",
    "getegid",
    "geteuid",
    "getgid",
    "getuid",
    "ioctl",
    "lseek",
    "mkdirat",
    "mknodat",
    "mmap",
    "mount",
    "mprotect",
    "nanosleep",
    "newfstatat",
    "openat",
    "openat2",
    "pivot_root",
    "prctl",
    "pselect6",
    "read",
    "readlink",
    "rt_sigaction",
    "rt_sigprocmask",
    "set_tid_address",
    "setgroups",
    "sethostname",
    "setns",
    "setresgid",
    "setresuid",
    "setsid",
    "statfs",
    "statx",
    "symlinkat",
    "umask",
    "umount2",
    "unshare",
    "write",
];

impl Runtime {
    /// The runtime's name as `--runtime` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
            Runtime::None => "none",
        }
    }

    /// The runtime `--runtime` names (`runc`, `crun`, `none`).
    ///
    /// ```
    /// use sysgate::learn::Runtime;
    /// assert_eq!(Runtime::parse("crun"), Some(Runtime::Crun));
    /// assert_eq!(Runtime::parse("youki"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Runtime> {
        super::by_name(
            [Runtime::Runc, Runtime::Crun, Runtime::None],
            Runtime::name,
            name,
        )
    }

    /// The syscalls the runtime makes under the container's filter before `execve`
    /// (x86_64 names; a name an architecture lacks is skipped there, as for any rule).
    ///
    /// ```
    /// use sysgate::learn::Runtime;
    ///
    /// assert!(Runtime::Runc.base_syscalls().contains(&"futex"));
    /// assert!(Runtime::Crun.base_syscalls().contains(&"pivot_root"));
    /// assert!(Runtime::None.base_syscalls().is_empty());
    /// ```
    pub fn base_syscalls(self) -> &'static [&'static str] {
        match self {
            Runtime::Runc => RUNC,
            Runtime::Crun => CRUN,
            Runtime::None => &[],
        }
    }
}

/// `policy` with `names` allowed unconditionally as well (rules normalized again).
pub(super) fn also_allowing(policy: &Policy, names: &[&str]) -> Result<Policy, PolicyError> {
    let mut out = Policy::new(policy.default_action());
    out.attrs = policy.attrs.clone();
    out.set_arches(policy.arches().iter().copied())?;
    let rules = policy
        .rules()
        .iter()
        .cloned()
        .chain(names.iter().map(|n| Rule::new(Action::Allow, *n)));
    for rule in normalize(rules) {
        out.add_rule(rule)?;
    }
    Ok(out)
}

/// `learned` with an ALLOW rule for each of `runtime`'s base syscalls not allowed already,
/// and a note naming how many were added.
///
/// ```
/// use sysgate::learn::{with_runtime, Learned, Runtime};
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::KillProcess);
/// policy.add_rule(Rule::new(Action::Allow, "read"))?;
/// let learned = with_runtime(Learned { policy, notes: vec![] }, Runtime::Runc)?;
/// assert_eq!(learned.policy.decide(Arch::X86_64, 202, &[0; 6]).action, Action::Allow); // futex
/// assert!(learned.notes[0].contains("runc"));
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn with_runtime(learned: Learned, runtime: Runtime) -> Result<Learned, PolicyError> {
    let names = runtime.base_syscalls();
    if names.is_empty() {
        return Ok(learned);
    }
    let Learned { policy, mut notes } = learned;
    let allowed_already = |name: &str| {
        policy.rules().iter().any(|r| {
            r.action == Action::Allow
                && r.conds.is_empty()
                && matches!(&r.syscall, Syscall::Name(n) if n == name)
        })
    };
    let added = names.iter().filter(|n| !allowed_already(n)).count();
    let out = also_allowing(&policy, names)?;
    notes.push(format!(
        "{added} syscalls {} makes before the container's program starts were added \
         (--runtime {}; --runtime none leaves them out)",
        runtime.name(),
        runtime.name()
    ));
    Ok(Learned { policy: out, notes })
}
