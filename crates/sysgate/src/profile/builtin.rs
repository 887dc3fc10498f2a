//! Built-in profiles: policies written in Rust and chosen by name, so that a program can be
//! run under a sensible filter without a profile file (`sysgate run` uses `docker-default`
//! when given no profile).
//!
//! This file owns the table of built-in names ([`BUILTINS`]) and their definitions. It reads
//! no files at run time and knows nothing of BPF: each built-in is a constructor that
//! resolves its rules for a [`Target`] and returns a [`Loaded`] policy, exactly as a frontend
//! does for a file. New built-ins are one more row in [`BUILTINS`].
//!
//! - `docker-default`: what Docker's default seccomp profile enforces in a container on the
//!   target, resolved the way moby and runc resolve the JSON profile: the syscalls every
//!   container may make, the ones that depend on the target's capabilities, architecture
//!   and kernel, the `socket`, `personality` and `clone` argument rules, `clone3` failing
//!   with ENOSYS (so that libc falls back to `clone`, whose flags the filter can check),
//!   EPERM for everything else, ENOSYS above the largest syscall it names on each
//!   architecture (runc's rule), KILL_THREAD for
//!   foreign architectures, and SPEC_ALLOW. A test reads Docker's own JSON with
//!   [`super::docker`] and checks that both decide every call identically.
//! - `unconfined`: no filtering at all, as Docker's `--security-opt seccomp=unconfined`:
//!   default ALLOW, calls from every architecture allowed, no rules. Loading it always
//!   warns, since it is a filter that refuses nothing.
//!
//! ```
//! use sysgate::policy::Action;
//! use sysgate::profile::{builtin, Target};
//! use sysgate::Arch;
//!
//! let target = Target::docker_default(Arch::X86_64);
//! let loaded = builtin::builtin("docker-default", &target).expect("a built-in");
//! let policy = &loaded.policy;
//! let uname = Arch::X86_64.syscall_number("uname").unwrap();
//! let unshare = Arch::X86_64.syscall_number("unshare").unwrap();
//! assert_eq!(policy.decide(Arch::X86_64, uname, &[0; 6]).action, Action::Allow);
//! assert_eq!(policy.decide(Arch::X86_64, unshare, &[0; 6]).action, Action::Errno(1));
//! assert!(builtin::builtin("no-such-profile", &target).is_none());
//! ```

use super::docker::{docker_arch_names, runc_enosys_thresholds};
use super::{Loaded, Target};
use crate::arch::{Arch, SyscallId};
use crate::kernel::KernelVersion;
use crate::policy::{Action, ArgCond, CmpOp, Errno, Policy, Rule, Syscall};

/// One built-in profile: its name, a one-line summary and its constructor.
#[derive(Copy, Clone, Debug)]
pub struct Builtin {
    /// The name users give (`--profile docker-default`).
    pub name: &'static str,
    /// What it is, in one line (for `--help` and listings).
    pub summary: &'static str,
    build: fn(&Target) -> Loaded,
}

impl Builtin {
    /// The policy for `target`.
    ///
    /// ```
    /// use sysgate::profile::{builtin::BUILTINS, Target};
    /// use sysgate::Arch;
    ///
    /// for b in BUILTINS {
    ///     assert!(b.build(&Target::docker_default(Arch::X86_64)).policy.arches().contains(&Arch::X86_64));
    /// }
    /// ```
    pub fn build(&self, target: &Target) -> Loaded {
        (self.build)(target)
    }
}

/// Every built-in profile, by name.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "docker-default",
        summary: "Docker's default seccomp profile for a container with the target's capabilities",
        build: docker_default,
    },
    Builtin {
        name: "unconfined",
        summary: "no filtering: every syscall allowed (Docker's seccomp=unconfined)",
        build: unconfined,
    },
];

/// `unconfined`: every call from every architecture allowed, with a warning saying so.
///
/// ```
/// use sysgate::policy::Action;
/// use sysgate::profile::{builtin, Target};
/// use sysgate::Arch;
///
/// let loaded = builtin::builtin("unconfined", &Target::docker_default(Arch::X86_64)).unwrap();
/// assert_eq!(loaded.policy.default_action(), Action::Allow);
/// assert_eq!(loaded.policy.decide(Arch::Aarch64, 0, &[0; 6]).action, Action::Allow);
/// assert!(loaded.warnings[0].contains("allows every syscall"));
/// ```
fn unconfined(target: &Target) -> Loaded {
    let mut b = Builder::new(
        "unconfined",
        target,
        Action::Allow,
        docker_sub_arches(target.arch),
    );
    b.policy.attrs.bad_arch = Action::Allow;
    b.warnings.push(
        "unconfined: the built-in unconfined profile allows every syscall (default ALLOW): \
         nothing is filtered"
            .to_string(),
    );
    b.finish()
}

/// The built-in profile `name` resolved for `target`, or `None` if there is none by that
/// name.
///
/// ```
/// use sysgate::profile::{builtin, Target};
/// use sysgate::Arch;
///
/// assert!(builtin::builtin("docker-default", &Target::new(Arch::Aarch64)).is_some());
/// ```
pub fn builtin(name: &str, target: &Target) -> Option<Loaded> {
    find(name).map(|b| b.build(target))
}

/// The built-in profile called `name`.
///
/// ```
/// use sysgate::profile::builtin;
///
/// assert_eq!(builtin::find("docker-default").map(|b| b.name), Some("docker-default"));
/// ```
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// The names of every built-in profile.
///
/// ```
/// use sysgate::profile::builtin;
///
/// assert!(builtin::names().any(|n| n == "docker-default"));
/// ```
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

/// Collects the rules of a built-in for one target.
struct Builder<'t> {
    target: &'t Target,
    name: &'static str,
    policy: Policy,
    warnings: Vec<String>,
}

impl<'t> Builder<'t> {
    fn new(name: &'static str, target: &'t Target, default: Action, subs: &[Arch]) -> Self {
        let mut policy = Policy::new(default);
        let mut warnings = Vec::new();
        let arches = std::iter::once(target.arch).chain(subs.iter().copied());
        if let Err(e) = policy.set_arches(arches) {
            // Only the target's own architecture, which cannot conflict with itself.
            warnings.push(format!(
                "builtin {name}: {e}; filtering {} only",
                target.arch
            ));
            let _ = policy.set_arches([target.arch]);
        }
        Builder {
            target,
            name,
            policy,
            warnings,
        }
    }

    /// Whether the target's architecture has one of these Docker names.
    fn arch_is(&self, docker_names: &[&str]) -> bool {
        docker_arch_names(self.target.arch)
            .iter()
            .any(|n| docker_names.contains(n))
    }

    /// Whether the target's kernel is at least `min` (an unknown kernel counts as new).
    fn kernel_at_least(&self, min: KernelVersion) -> bool {
        self.target.kernel.is_none_or(|k| k >= min)
    }

    /// Add `action` for each of `names` with `conds`, skipping names that none of the
    /// policy's architectures has (as the JSON frontend does).
    fn add(&mut self, action: Action, names: &[&str], conds: &[ArgCond], why: &str) {
        let origin = format!("builtin {}: {why}", self.name);
        for name in names {
            let id = SyscallId::from_name(name);
            let on_target = self.policy.arches().iter().any(|a| {
                id.is_some_and(|id| a.syscall_number_of(id).is_some())
                    || a.multiplexed(name).is_some()
            });
            if !on_target {
                continue;
            }
            let rule = Rule::new(action, *name)
                .with_conds(conds.iter().copied())
                .with_origin(origin.clone());
            if let Err(e) = self.policy.add_rule(rule) {
                // Cannot happen for the rules below; leaving a rule out only denies more.
                self.warnings
                    .push(format!("builtin {}: {name} left out: {e}", self.name));
            }
        }
    }

    fn finish(self) -> Loaded {
        Loaded {
            policy: self.policy,
            warnings: self.warnings,
            listener: None,
            default_origin: Some(format!("builtin {}: default", self.name)),
        }
    }
}

/// A condition on a constant argument index; the indexes used here are all valid.
fn cond(arg: u32, op: CmpOp, value: u64) -> Option<ArgCond> {
    ArgCond::new(arg, op, value).ok()
}

// -------------------------------------------------------------------------------------------
// docker-default
// -------------------------------------------------------------------------------------------

/// EPERM, Docker's default errno.
const EPERM: u16 = 1;

/// Syscalls every container may make, whatever its capabilities, architecture or kernel.
const DOCKER_ALWAYS: &[&str] = &[
    "_llseek",
    "_newselect",
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "riscv_hwprobe",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

/// Allowed from this kernel release on (before it, these could bypass seccomp through
/// ptrace).
const DOCKER_FROM_4_8: &[&str] = &["process_vm_readv", "process_vm_writev", "ptrace"];

/// Allowed only on some architectures (Docker's architecture names).
const DOCKER_BY_ARCH: &[(&[&str], &[&str])] = &[
    (&["ppc64le"], &["sync_file_range2", "swapcontext"]),
    (
        &["arm", "arm64"],
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
    ),
    (&["amd64", "x32"], &["arch_prctl"]),
    (&["amd64", "x32", "x86"], &["modify_ldt"]),
    (
        &["s390", "s390x"],
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
    (&["riscv64"], &["riscv_flush_icache"]),
];

/// Allowed only to a container holding the capability.
const DOCKER_BY_CAP: &[(&str, &[&str])] = &[
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "lsm_get_self_attr",
            "lsm_list_modules",
            "lsm_set_self_attr",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "init_module", "finit_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["iopl", "ioperm"]),
    (
        "CAP_SYS_TIME",
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    (
        "CAP_SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("CAP_SYSLOG", &["syslog"]),
    ("CAP_BPF", &["bpf"]),
    ("CAP_PERFMON", &["perf_event_open"]),
];

/// `socket(domain, ...)` is allowed for every domain except AF_ALG (38) and AF_VSOCK (40).
const DOCKER_SOCKET_DOMAINS: &[(CmpOp, u64)] = &[(CmpOp::Lt, 38), (CmpOp::Eq, 39), (CmpOp::Gt, 40)];

/// `personality(persona)` values allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32,
/// and 0xffffffff (which only queries the current persona).
const DOCKER_PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// The namespace flags `clone` may not carry without CAP_SYS_ADMIN: CLONE_NEWNS,
/// CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET.
const DOCKER_CLONE_NS_FLAGS: u64 = 0x7e02_0000;

/// The sub-architectures Docker's `archMap` adds to a target architecture (x86_64: x86 and
/// x32): the ABIs a container on that machine can call with.
///
/// ```
/// use sysgate::profile::builtin::docker_sub_arches;
/// use sysgate::Arch;
///
/// assert_eq!(docker_sub_arches(Arch::X86_64), [Arch::X86, Arch::X32]);
/// assert!(docker_sub_arches(Arch::Riscv64).is_empty());
/// ```
pub fn docker_sub_arches(arch: Arch) -> &'static [Arch] {
    match arch {
        Arch::X86_64 => &[Arch::X86, Arch::X32],
        Arch::Aarch64 => &[Arch::Arm],
        Arch::Mips64 => &[Arch::Mips, Arch::Mips64n32],
        Arch::Mips64n32 => &[Arch::Mips, Arch::Mips64],
        Arch::Mipsel64 => &[Arch::Mipsel, Arch::Mipsel64n32],
        Arch::Mipsel64n32 => &[Arch::Mipsel, Arch::Mipsel64],
        Arch::S390x => &[Arch::S390],
        _ => &[],
    }
}

/// Docker's default profile for `target` (see the module docs).
fn docker_default(target: &Target) -> Loaded {
    let mut b = Builder::new(
        "docker-default",
        target,
        Action::Errno(EPERM),
        docker_sub_arches(target.arch),
    );
    // As runc installs it: foreign architectures KILL_THREAD, no forced speculative-store-
    // bypass mitigation (the profile sets no flags), and (below, once the rules are in)
    // ENOSYS above the largest syscall the profile names on each architecture.
    b.policy.attrs.bad_arch = Action::KillThread;
    b.policy.attrs.flags.spec_allow = true;

    b.add(
        Action::Allow,
        DOCKER_ALWAYS,
        &[],
        "allowed in every container",
    );
    if b.kernel_at_least(KernelVersion::new(4, 8, 0)) {
        b.add(
            Action::Allow,
            DOCKER_FROM_4_8,
            &[],
            "allowed from kernel 4.8",
        );
    }
    for &(op, domain) in DOCKER_SOCKET_DOMAINS {
        let c: Vec<ArgCond> = cond(0, op, domain).into_iter().collect();
        b.add(
            Action::Allow,
            &["socket"],
            &c,
            "socket domains other than AF_ALG and AF_VSOCK",
        );
    }
    for &persona in DOCKER_PERSONALITIES {
        let c: Vec<ArgCond> = cond(0, CmpOp::Eq, persona).into_iter().collect();
        b.add(
            Action::Allow,
            &["personality"],
            &c,
            "harmless personalities",
        );
    }
    for (arches, names) in DOCKER_BY_ARCH {
        if b.arch_is(arches) {
            b.add(Action::Allow, names, &[], "allowed on this architecture");
        }
    }
    for (cap, names) in DOCKER_BY_CAP {
        if target.holds(cap) {
            let why = format!("allowed with {cap}");
            b.add(Action::Allow, names, &[], &why);
        }
    }
    if !target.holds("CAP_SYS_ADMIN") {
        // s390 passes clone's flags in the second argument.
        let flags_arg = if b.arch_is(&["s390", "s390x"]) { 1 } else { 0 };
        let c: Vec<ArgCond> = cond(flags_arg, CmpOp::MaskedEq(DOCKER_CLONE_NS_FLAGS), 0)
            .into_iter()
            .collect();
        b.add(
            Action::Allow,
            &["clone"],
            &c,
            "clone without namespace flags",
        );
        // moby's Go profile says unix.ENOSYS: the host's number, so a name here.
        b.add(
            Action::NamedErrno(Errno::ENOSYS),
            &["clone3"],
            &[],
            "clone3 fails with ENOSYS so that libc falls back to clone",
        );
    }
    let names: Vec<&str> = b
        .policy
        .rules()
        .iter()
        .filter_map(|r| match &r.syscall {
            Syscall::Name(n) => Some(n.as_str()),
            Syscall::Number(_) => None,
        })
        .collect();
    let thresholds = runc_enosys_thresholds(b.policy.arches(), names);
    b.policy.attrs.enosys_above = thresholds;
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ENOSYS;

    #[test]
    fn every_name_is_a_syscall_somewhere() {
        let all = DOCKER_ALWAYS
            .iter()
            .chain(DOCKER_FROM_4_8)
            .chain(DOCKER_BY_ARCH.iter().flat_map(|(_, n)| n.iter()))
            .chain(DOCKER_BY_CAP.iter().flat_map(|(_, n)| n.iter()));
        for name in all {
            assert!(crate::arch::is_known_syscall(name), "{name}");
        }
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for b in BUILTINS {
            assert!(seen.insert(b.name), "{} twice", b.name);
        }
        let mut always = DOCKER_ALWAYS.to_vec();
        always.sort_unstable();
        always.dedup();
        assert_eq!(always.len(), DOCKER_ALWAYS.len());
    }

    #[test]
    fn no_builtin_warns_but_unconfined_which_always_does() {
        for arch in Arch::ALL {
            for b in BUILTINS {
                let loaded = b.build(&Target::docker_default(arch));
                if b.name == "unconfined" {
                    assert_eq!(loaded.warnings.len(), 1, "{arch}: {:?}", loaded.warnings);
                } else {
                    assert!(loaded.warnings.is_empty(), "{arch}: {:?}", loaded.warnings);
                }
            }
        }
    }

    #[test]
    fn capabilities_and_kernel_change_the_policy() {
        let x = Arch::X86_64;
        let nr = |n| x.syscall_number(n).unwrap();
        let decide = |t: &Target, name, a0| {
            builtin("docker-default", t)
                .unwrap()
                .policy
                .decide(x, nr(name), &[a0, 0, 0, 0, 0, 0])
                .action
        };
        let plain = Target::docker_default(x).with_kernel(Some(KernelVersion::new(6, 1, 0)));
        let admin = plain.clone().with_cap("CAP_SYS_ADMIN");
        let old = plain.clone().with_kernel(Some(KernelVersion::new(4, 4, 0)));
        assert_eq!(decide(&plain, "clone3", 0), Action::Errno(ENOSYS));
        assert_eq!(decide(&admin, "clone3", 0), Action::Allow);
        assert_eq!(decide(&plain, "clone", 0x1000_0000), Action::Errno(EPERM));
        assert_eq!(decide(&plain, "clone", 0x11), Action::Allow);
        assert_eq!(decide(&admin, "clone", 0x1000_0000), Action::Allow);
        assert_eq!(decide(&plain, "ptrace", 0), Action::Allow);
        assert_eq!(decide(&old, "ptrace", 0), Action::Errno(EPERM));
        assert_eq!(decide(&plain, "socket", 40), Action::Errno(EPERM));
        assert_eq!(decide(&plain, "socket", 2), Action::Allow);
        assert_eq!(decide(&plain, "personality", 8), Action::Allow);
        assert_eq!(decide(&plain, "personality", 9), Action::Errno(EPERM));
    }
}
