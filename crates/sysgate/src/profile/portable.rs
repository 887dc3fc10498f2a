//! Portable profiles: the calls other architectures use for the same work, and a profile
//! with them added.
//!
//! A profile recorded on x86_64 names what x86_64's libc called: `open`, `stat`, `access`,
//! `readlink`. Architectures that came later (arm64, riscv64, loongarch64: the kernel's
//! `asm-generic/unistd.h` leaves the old calls out unless `__ARCH_WANT_*` asks for them) do
//! not have these names at all, so their libc makes the same request with `openat`,
//! `newfstatat` or `statx`, `faccessat`/`faccessat2`, `readlinkat`. 32-bit ABIs add their own
//! variants (`mmap2`, `fstat64`, `*_time64`, the `*32` uid calls). [`EQUIVALENCES`] is the
//! one table of these facts; [`portable`] adds what it lists to a policy, [`gaps`] says where a
//! policy lacks them, and `sysgate lint` reads the same table for its `equivalent-allowed`
//! check (a call refused while another that does its work is allowed).
//!
//! This module owns the table and those two operations on a [`Policy`]. It reads no file
//! format: the CLI applies it between reading and writing a profile.

use std::collections::{BTreeMap, BTreeSet};

use crate::arch::Arch;
use crate::policy::{ArgCond, Policy, PolicyError, Rule, Syscall};

/// What an alternative is to the call it is listed for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// What architectures without the call (arm64, riscv64, loongarch64), or a newer libc on
    /// every architecture, use for the same work. [`portable`] adds it.
    Modern,
    /// The variant 32-bit ABIs (arm, i386, mips o32, ppc, ...) use: 64-bit offsets, 64-bit
    /// time, 32-bit uids. [`portable`] adds it.
    Compat32,
    /// A call that exists beside it everywhere and reaches the same kernel operation
    /// (`execveat` for `execve`). A program chose one of them; [`portable`] does not add it,
    /// but refusing one while allowing the other refuses nothing (`sysgate lint`).
    Alike,
}

/// How the arguments of a call map onto an alternative's, so that an argument condition can
/// be carried over exactly.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArgMap {
    /// Every argument means the same at the same position (`getdents` and `getdents64`).
    Same,
    /// Argument `from` is the alternative's argument `to`; the ones not listed have no
    /// counterpart (`open`'s a1, the flags, is `openat`'s a2).
    Moved(&'static [(u8, u8)]),
    /// The arguments mean something else: only an unconditional rule carries over.
    Differ,
}

impl ArgMap {
    /// `conds` in the alternative's argument positions, or `None` when one of them has no
    /// counterpart there.
    pub fn carry(self, conds: &[ArgCond]) -> Option<Vec<ArgCond>> {
        conds
            .iter()
            .map(|c| {
                let to = match self {
                    ArgMap::Same => c.arg(),
                    ArgMap::Moved(pairs) => {
                        let (_, to) = pairs
                            .iter()
                            .find(|(from, _)| usize::from(*from) == c.arg())?;
                        usize::from(*to)
                    }
                    ArgMap::Differ => return None,
                };
                ArgCond::new(to as u32, c.op(), c.value()).ok()
            })
            .collect()
    }
}

/// One call that does (part of) another's work.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Alternative {
    /// Its name.
    pub name: &'static str,
    /// Who uses it.
    pub scope: Scope,
    /// How the listed call's arguments map onto its own.
    pub args: ArgMap,
}

/// A call and the calls that do its work elsewhere or beside it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Equivalence {
    /// The call a profile names.
    pub name: &'static str,
    /// Its alternatives. None at all: the work needs no syscall where the call is missing
    /// ([`Equivalence::why`] says why).
    pub alternatives: &'static [Alternative],
    /// Why, in a few words.
    pub why: &'static str,
}

const fn modern(name: &'static str, args: ArgMap) -> Alternative {
    Alternative {
        name,
        scope: Scope::Modern,
        args,
    }
}

const fn compat32(name: &'static str, args: ArgMap) -> Alternative {
    Alternative {
        name,
        scope: Scope::Compat32,
        args,
    }
}

const fn same_work(name: &'static str, args: ArgMap) -> Alternative {
    Alternative {
        name,
        scope: Scope::Alike,
        args,
    }
}

const fn eq(
    name: &'static str,
    alternatives: &'static [Alternative],
    why: &'static str,
) -> Equivalence {
    Equivalence {
        name,
        alternatives,
        why,
    }
}

use ArgMap::{Differ, Moved, Same};

/// A path call made `*at`: the path and what follows move up by one behind the directory fd
/// (`open(path, flags, mode)` is `openat(AT_FDCWD, path, flags, mode)`).
const AT_1: ArgMap = Moved(&[(0, 1)]);
const AT_2: ArgMap = Moved(&[(0, 1), (1, 2)]);
const AT_3: ArgMap = Moved(&[(0, 1), (1, 2), (2, 3)]);
/// Two paths made `*at`: each behind its own directory fd.
const AT_TWO: ArgMap = Moved(&[(0, 1), (1, 3)]);

/// The equivalence table, sorted by name; one entry per name.
///
/// Sources: the kernel's `include/uapi/asm-generic/unistd.h` (which calls the newer
/// architectures left out), the per-architecture syscall tables
/// (`crate::arch::tables`, where every name here is checked to exist on the architectures
/// its scope says), and the argument lists in the man pages (section 2).
pub const EQUIVALENCES: &[Equivalence] = &[
    eq(
        "_sysctl",
        &[],
        "removed in Linux 5.5; /proc/sys is the interface everywhere",
    ),
    eq(
        "accept",
        &[same_work("accept4", Same)],
        "accept4 with flags 0",
    ),
    eq(
        "access",
        &[modern("faccessat", AT_2), modern("faccessat2", AT_2)],
        "asm-generic has only the *at forms: libc's access calls faccessat, its faccessat faccessat2",
    ),
    eq(
        "afs_syscall",
        &[],
        "never implemented: the kernel returns ENOSYS",
    ),
    eq(
        "alarm",
        &[modern("setitimer", Differ)],
        "asm-generic has no alarm; libc uses setitimer(ITIMER_REAL)",
    ),
    eq(
        "arch_prctl",
        &[],
        "x86 only: arm64 and riscv64 set the thread pointer in a register, no call",
    ),
    eq(
        "chmod",
        &[
            modern("fchmodat", AT_2),
            same_work("fchmod", Differ),
            same_work("fchmodat2", AT_2),
        ],
        "asm-generic has only the *at form",
    ),
    eq(
        "chown",
        &[
            modern("fchownat", AT_3),
            compat32("chown32", Same),
            same_work("lchown", Same),
            same_work("lchown32", Same),
            same_work("fchown", Differ),
            same_work("fchown32", Differ),
        ],
        "asm-generic has only the *at form; 32-bit ABIs have 32-bit uid variants",
    ),
    eq(
        "clock_adjtime",
        &[compat32("clock_adjtime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "clock_getres",
        &[compat32("clock_getres_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "clock_gettime",
        &[compat32("clock_gettime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "clock_nanosleep",
        &[compat32("clock_nanosleep_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "clock_settime",
        &[compat32("clock_settime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "clone",
        &[same_work("clone3", Differ)],
        "clone3 takes clone's arguments in memory",
    ),
    eq(
        "creat",
        &[modern("openat", Moved(&[(0, 1), (1, 3)]))],
        "openat(AT_FDCWD, path, O_CREAT|O_WRONLY|O_TRUNC, mode)",
    ),
    eq(
        "create_module",
        &[],
        "removed in Linux 2.6: the kernel returns ENOSYS",
    ),
    eq(
        "dup2",
        &[modern("dup3", Moved(&[(0, 0), (1, 1)]))],
        "asm-generic has only dup3",
    ),
    eq(
        "epoll_create",
        &[modern("epoll_create1", Differ)],
        "asm-generic has only epoll_create1",
    ),
    eq(
        "epoll_ctl_old",
        &[],
        "never implemented on x86_64: the kernel returns ENOSYS",
    ),
    eq(
        "epoll_wait",
        &[
            modern("epoll_pwait", Moved(&[(0, 0), (1, 1), (2, 2), (3, 3)])),
            modern("epoll_pwait2", Moved(&[(0, 0), (1, 1), (2, 2)])),
        ],
        "asm-generic has only the p forms",
    ),
    eq(
        "epoll_wait_old",
        &[],
        "never implemented on x86_64: the kernel returns ENOSYS",
    ),
    eq(
        "eventfd",
        &[modern("eventfd2", Moved(&[(0, 0)]))],
        "asm-generic has only eventfd2",
    ),
    eq(
        "execve",
        &[same_work("execveat", Differ)],
        "execveat runs a program as execve does",
    ),
    eq(
        "fadvise64",
        &[
            compat32("fadvise64_64", Moved(&[(0, 0)])),
            compat32("arm_fadvise64_64", Moved(&[(0, 0)])),
        ],
        "64-bit offsets and lengths on 32-bit ABIs",
    ),
    eq(
        "fchown",
        &[compat32("fchown32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "fcntl",
        &[compat32("fcntl64", Same)],
        "64-bit locks on 32-bit ABIs",
    ),
    eq(
        "fork",
        &[
            modern("clone", Differ),
            modern("clone3", Differ),
            same_work("vfork", Differ),
        ],
        "asm-generic has no fork; libc uses clone",
    ),
    eq(
        "fstat",
        &[
            modern("newfstatat", Moved(&[(0, 0), (1, 2)])),
            modern("statx", Moved(&[(0, 0)])),
            compat32("fstat64", Same),
        ],
        "glibc 2.33 and later use fstatat; loongarch64's libc uses statx",
    ),
    eq(
        "fstatfs",
        &[compat32("fstatfs64", Moved(&[(0, 0)]))],
        "64-bit sizes on 32-bit ABIs",
    ),
    eq(
        "ftruncate",
        &[compat32("ftruncate64", Moved(&[(0, 0)]))],
        "64-bit lengths on 32-bit ABIs",
    ),
    eq(
        "futex",
        &[compat32("futex_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "futimesat",
        &[modern("utimensat", Moved(&[(0, 0), (1, 1)]))],
        "asm-generic has only utimensat",
    ),
    eq(
        "get_kernel_syms",
        &[],
        "removed in Linux 2.6: the kernel returns ENOSYS",
    ),
    eq(
        "get_thread_area",
        &[],
        "x86 thread-local storage: other architectures keep the thread pointer in a register",
    ),
    eq(
        "getdents",
        &[modern("getdents64", Same)],
        "asm-generic has only getdents64",
    ),
    eq(
        "getegid",
        &[compat32("getegid32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "geteuid",
        &[compat32("geteuid32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "getgid",
        &[compat32("getgid32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "getgroups",
        &[compat32("getgroups32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "getpgrp",
        &[modern("getpgid", Differ)],
        "asm-generic has no getpgrp; libc calls getpgid(0)",
    ),
    eq(
        "getpmsg",
        &[],
        "never implemented: the kernel returns ENOSYS",
    ),
    eq(
        "getresgid",
        &[compat32("getresgid32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "getresuid",
        &[compat32("getresuid32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "getrlimit",
        &[
            modern("prlimit64", Moved(&[(0, 1), (1, 3)])),
            compat32("ugetrlimit", Same),
        ],
        "loongarch64 has only prlimit64",
    ),
    eq(
        "gettimeofday",
        &[modern("clock_gettime", Differ)],
        "newer libc reads the time with clock_gettime",
    ),
    eq(
        "getuid",
        &[compat32("getuid32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "init_module",
        &[same_work("finit_module", Differ)],
        "finit_module loads a module from a file",
    ),
    eq(
        "inotify_init",
        &[modern("inotify_init1", Differ)],
        "asm-generic has only inotify_init1",
    ),
    eq(
        "io_pgetevents",
        &[compat32("io_pgetevents_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "ioperm",
        &[],
        "x86 port I/O: other architectures have no I/O ports",
    ),
    eq(
        "iopl",
        &[],
        "x86 port I/O: other architectures have no I/O ports",
    ),
    eq(
        "kexec_load",
        &[same_work("kexec_file_load", Differ)],
        "both load a new kernel",
    ),
    eq(
        "kill",
        &[
            same_work("tkill", Differ),
            same_work("tgkill", Differ),
            same_work("rt_sigqueueinfo", Differ),
            same_work("rt_tgsigqueueinfo", Differ),
            same_work("pidfd_send_signal", Differ),
        ],
        "each sends a signal",
    ),
    eq(
        "lchown",
        &[modern("fchownat", AT_3), compat32("lchown32", Same)],
        "asm-generic has only the *at form (AT_SYMLINK_NOFOLLOW)",
    ),
    eq(
        "link",
        &[modern("linkat", AT_TWO)],
        "asm-generic has only the *at form",
    ),
    eq(
        "lseek",
        &[compat32("_llseek", Moved(&[(0, 0)]))],
        "64-bit offsets on 32-bit ABIs",
    ),
    eq(
        "lstat",
        &[
            modern("newfstatat", AT_2),
            modern("statx", AT_1),
            compat32("lstat64", Same),
        ],
        "asm-generic has only the *at form (AT_SYMLINK_NOFOLLOW); loongarch64's libc uses statx",
    ),
    eq(
        "mkdir",
        &[modern("mkdirat", AT_2)],
        "asm-generic has only the *at form",
    ),
    eq(
        "mknod",
        &[modern("mknodat", AT_3)],
        "asm-generic has only the *at form",
    ),
    eq(
        "mmap",
        &[compat32(
            "mmap2",
            Moved(&[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]),
        )],
        "32-bit ABIs pass the offset in pages",
    ),
    eq(
        "modify_ldt",
        &[],
        "x86 segment descriptors: other architectures have none",
    ),
    eq(
        "mount",
        &[
            same_work("fsmount", Differ),
            same_work("move_mount", Differ),
        ],
        "the new mount API attaches file systems too",
    ),
    eq(
        "mprotect",
        &[same_work("pkey_mprotect", Moved(&[(0, 0), (1, 1), (2, 2)]))],
        "pkey_mprotect with key -1",
    ),
    eq(
        "mq_timedreceive",
        &[compat32("mq_timedreceive_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "mq_timedsend",
        &[compat32("mq_timedsend_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "nanosleep",
        &[modern("clock_nanosleep", Moved(&[(0, 2), (1, 3)]))],
        "glibc sleeps with clock_nanosleep(CLOCK_REALTIME)",
    ),
    eq(
        "newfstatat",
        &[
            modern("statx", Moved(&[(0, 0), (1, 1)])),
            compat32("fstatat64", Same),
        ],
        "loongarch64's libc uses statx; 32-bit ABIs have fstatat64",
    ),
    eq(
        "open",
        &[
            modern("openat", AT_3),
            same_work("openat2", Differ),
            same_work("creat", Differ),
        ],
        "asm-generic has only the *at form",
    ),
    eq(
        "pause",
        &[
            modern("rt_sigprocmask", Differ),
            modern("rt_sigsuspend", Differ),
        ],
        "asm-generic has no pause; libc waits with rt_sigsuspend on the current mask",
    ),
    eq(
        "pipe",
        &[modern("pipe2", Moved(&[(0, 0)]))],
        "asm-generic has only pipe2",
    ),
    eq(
        "poll",
        &[modern("ppoll", Moved(&[(0, 0), (1, 1)]))],
        "asm-generic has only ppoll",
    ),
    eq(
        "ppoll",
        &[compat32("ppoll_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "pselect6",
        &[compat32("pselect6_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "putpmsg",
        &[],
        "never implemented: the kernel returns ENOSYS",
    ),
    eq(
        "query_module",
        &[],
        "removed in Linux 2.6: the kernel returns ENOSYS",
    ),
    eq(
        "quotactl",
        &[same_work("quotactl_fd", Differ)],
        "quotactl_fd names the file system by fd",
    ),
    eq(
        "readlink",
        &[modern("readlinkat", AT_3)],
        "asm-generic has only the *at form",
    ),
    eq(
        "recv",
        &[
            modern("recvfrom", Moved(&[(0, 0), (1, 1), (2, 2), (3, 3)])),
            same_work("recvmsg", Differ),
            same_work("recvmmsg", Differ),
        ],
        "each receives from a socket",
    ),
    eq(
        "recvmmsg",
        &[compat32("recvmmsg_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "rename",
        &[modern("renameat", AT_TWO), modern("renameat2", AT_TWO)],
        "asm-generic has only the *at forms; riscv64 and loongarch64 only renameat2",
    ),
    eq(
        "renameat",
        &[modern(
            "renameat2",
            Moved(&[(0, 0), (1, 1), (2, 2), (3, 3)]),
        )],
        "riscv64 and loongarch64 have only renameat2",
    ),
    eq(
        "rmdir",
        &[modern("unlinkat", AT_1)],
        "asm-generic has only unlinkat (AT_REMOVEDIR)",
    ),
    eq(
        "rt_sigtimedwait",
        &[compat32("rt_sigtimedwait_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "sched_rr_get_interval",
        &[compat32("sched_rr_get_interval_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "security",
        &[],
        "never implemented: the kernel returns ENOSYS",
    ),
    eq(
        "select",
        &[
            modern("pselect6", Moved(&[(0, 0), (1, 1), (2, 2), (3, 3)])),
            compat32("_newselect", Same),
        ],
        "asm-generic has only pselect6",
    ),
    eq(
        "semtimedop",
        &[compat32("semtimedop_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "send",
        &[
            modern("sendto", Moved(&[(0, 0), (1, 1), (2, 2), (3, 3)])),
            same_work("sendmsg", Differ),
            same_work("sendmmsg", Differ),
        ],
        "each sends on a socket",
    ),
    eq(
        "sendfile",
        &[compat32("sendfile64", Same)],
        "64-bit offsets on 32-bit ABIs",
    ),
    eq(
        "set_thread_area",
        &[],
        "x86 thread-local storage: other architectures keep the thread pointer in a register",
    ),
    eq(
        "setfsgid",
        &[compat32("setfsgid32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "setfsuid",
        &[compat32("setfsuid32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "setgid",
        &[
            compat32("setgid32", Same),
            same_work("setregid", Differ),
            same_work("setregid32", Differ),
            same_work("setresgid", Differ),
            same_work("setresgid32", Differ),
        ],
        "each sets the gid",
    ),
    eq(
        "setgroups",
        &[compat32("setgroups32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "setregid",
        &[compat32("setregid32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "setresgid",
        &[compat32("setresgid32", Same)],
        "32-bit gids on 32-bit ABIs",
    ),
    eq(
        "setresuid",
        &[compat32("setresuid32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "setreuid",
        &[compat32("setreuid32", Same)],
        "32-bit uids on 32-bit ABIs",
    ),
    eq(
        "setrlimit",
        &[modern("prlimit64", Moved(&[(0, 1), (1, 2)]))],
        "loongarch64 has only prlimit64",
    ),
    // adjtimex and clock_adjtime can step the clock too (ADJ_SETOFFSET), but profiles allow
    // them to read the clock's state and the kernel asks CAP_SYS_TIME for any change: they
    // are left out, not to flag every profile that allows reading.
    eq(
        "settimeofday",
        &[
            same_work("stime", Differ),
            same_work("clock_settime", Differ),
            same_work("clock_settime64", Differ),
        ],
        "each sets the clock",
    ),
    eq(
        "setuid",
        &[
            compat32("setuid32", Same),
            same_work("setreuid", Differ),
            same_work("setreuid32", Differ),
            same_work("setresuid", Differ),
            same_work("setresuid32", Differ),
        ],
        "each sets the uid",
    ),
    eq(
        "signalfd",
        &[modern("signalfd4", Same)],
        "asm-generic has only signalfd4",
    ),
    eq(
        "stat",
        &[
            modern("newfstatat", AT_2),
            modern("statx", AT_1),
            compat32("stat64", Same),
        ],
        "asm-generic has only the *at form; loongarch64's libc uses statx",
    ),
    eq(
        "statfs",
        &[compat32("statfs64", Moved(&[(0, 0)]))],
        "64-bit sizes on 32-bit ABIs",
    ),
    eq(
        "symlink",
        &[modern("symlinkat", Moved(&[(0, 0), (1, 2)]))],
        "asm-generic has only the *at form",
    ),
    eq(
        "sysfs",
        &[],
        "obsolete, no libc wrapper: /proc/filesystems is the interface everywhere",
    ),
    eq(
        "time",
        &[modern("clock_gettime", Differ)],
        "asm-generic has no time; libc reads CLOCK_REALTIME",
    ),
    eq(
        "timer_gettime",
        &[compat32("timer_gettime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "timer_settime",
        &[compat32("timer_settime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "timerfd_gettime",
        &[compat32("timerfd_gettime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "timerfd_settime",
        &[compat32("timerfd_settime64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "truncate",
        &[compat32("truncate64", Moved(&[(0, 0)]))],
        "64-bit lengths on 32-bit ABIs",
    ),
    eq(
        "tuxcall",
        &[],
        "never implemented: the kernel returns ENOSYS",
    ),
    eq(
        "umount",
        &[modern("umount2", Moved(&[(0, 0)]))],
        "umount2 with flags 0",
    ),
    eq(
        "unlink",
        &[modern("unlinkat", AT_1)],
        "asm-generic has only the *at form",
    ),
    eq(
        "uprobe",
        &[],
        "made by the kernel's own uprobe trampoline, not by programs",
    ),
    eq(
        "uretprobe",
        &[],
        "made by the kernel's own uretprobe trampoline, not by programs",
    ),
    eq(
        "uselib",
        &[],
        "a.out libraries only; no libc of today calls it",
    ),
    eq(
        "ustat",
        &[],
        "obsolete, removed from glibc 2.28: statfs is the interface everywhere",
    ),
    eq(
        "utime",
        &[
            modern("utimensat", AT_1),
            compat32("utimensat_time64", AT_1),
            same_work("utimes", Moved(&[(0, 0)])),
            same_work("futimesat", AT_1),
        ],
        "asm-generic has only utimensat",
    ),
    eq(
        "utimensat",
        &[compat32("utimensat_time64", Same)],
        "64-bit time on 32-bit ABIs",
    ),
    eq(
        "utimes",
        &[modern("utimensat", AT_1)],
        "asm-generic has only utimensat",
    ),
    eq(
        "vfork",
        &[modern("clone", Differ), modern("clone3", Differ)],
        "asm-generic has no vfork; libc uses clone(CLONE_VM | CLONE_VFORK)",
    ),
    eq(
        "vserver",
        &[],
        "never implemented: the kernel returns ENOSYS",
    ),
];

/// The table's entry for `name`.
pub fn equivalence(name: &str) -> Option<&'static Equivalence> {
    EQUIVALENCES
        .binary_search_by(|e| e.name.cmp(name))
        .ok()
        .map(|i| &EQUIVALENCES[i])
}

/// The calls that do `name`'s work or part of it, in any scope and either direction: the
/// alternatives of its own entry, and the entries (with their other alternatives) that list
/// it. `sysgate lint` reads this: refusing `name` while allowing one of them refuses nothing.
///
/// ```
/// use sysgate::profile::portable::alike;
///
/// assert!(alike("openat").contains(&"open"));
/// assert!(alike("openat2").contains(&"creat"));
/// assert!(alike("unlinkat").contains(&"rmdir"));
/// assert!(!alike("unlink").contains(&"rmdir"));
/// ```
pub fn alike(name: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in EQUIVALENCES {
        let group = std::iter::once(e.name).chain(e.alternatives.iter().map(|a| a.name));
        if !group.clone().any(|n| n == name) {
            continue;
        }
        for other in group {
            if other != name && !out.contains(&other) {
                out.push(other);
            }
        }
    }
    out
}

/// Every name the table knows, the listed calls and their alternatives.
pub fn names() -> impl Iterator<Item = &'static str> {
    EQUIVALENCES
        .iter()
        .flat_map(|e| std::iter::once(e.name).chain(e.alternatives.iter().map(|a| a.name)))
}

/// A policy made portable ([`portable`]) and what the user should know about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Portable {
    /// The policy with the equivalents added.
    pub policy: Policy,
    /// What was added: per call, the equivalents added for it.
    pub added: BTreeMap<String, Vec<&'static str>>,
    /// What could not be carried over, one sentence each.
    pub warnings: Vec<String>,
}

impl Portable {
    /// One sentence that lists what was added (`None` when nothing was).
    pub fn summary(&self) -> Option<String> {
        summary(&self.added)
    }
}

/// One sentence that lists `added` ([`Portable::added`], or several of them merged):
/// `--portable added 2 equivalents other architectures use: faccessat, faccessat2 for access`.
pub fn summary(added: &BTreeMap<String, Vec<&'static str>>) -> Option<String> {
    if added.is_empty() {
        return None;
    }
    let count: usize = added.values().map(Vec::len).sum();
    let each: Vec<String> = added
        .iter()
        .map(|(from, to)| format!("{} for {from}", to.join(", ")))
        .collect();
    Some(format!(
        "--portable added {count} equivalent{} other architectures use: {}",
        if count == 1 { "" } else { "s" },
        each.join("; ")
    ))
}

/// `policy` with, for every rule on a call the table lists (with another action than the
/// default), the same rule on each of its [`Scope::Modern`] alternatives, and on its
/// [`Scope::Compat32`] ones when one of the policy's ABIs has them, so that the program the
/// profile was written for does the same work on other architectures (and again for what
/// that adds: `stat` brings `newfstatat`, which brings `statx`, and `fstatat64` on i386).
///
/// - An unconditional rule gives an unconditional rule. A conditional rule is carried over
///   only where [`ArgMap`] maps every argument it tests, with the same comparisons in the
///   alternative's positions; otherwise the alternative is not added for it, and a warning
///   says so. A conditional rule never becomes an unconditional one.
/// - A call the policy already decides with another action keeps that decision: nothing is
///   added for it (with a warning), so the result never overrides what the profile says.
/// - The architectures stay as they are (a runtime adds its own native one: runc on arm64
///   filters aarch64 calls whatever the profile lists); a name an architecture lacks is
///   skipped there, as everywhere. runc's ENOSYS threshold
///   ([`Attributes::enosys_above`](crate::policy::Attributes::enosys_above)), where the
///   policy has one, moves up to the largest added name, as runc would compute it.
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::profile::portable::portable;
/// use sysgate::Arch;
///
/// let mut p = Policy::new(Action::Errno(1));
/// p.set_arches([Arch::X86_64, Arch::Aarch64])?;
/// p.add_rule(Rule::new(Action::Allow, "access"))?;
/// p.add_rule(Rule::new(Action::Allow, "open").with_cond(ArgCond::new(1, CmpOp::Eq, 0)?))?;
/// let out = portable(&p)?;
/// let on_arm64 = |name, args| out.policy.decide(Arch::Aarch64, Arch::Aarch64.syscall_number(name).unwrap(), &args).action;
/// assert_eq!(on_arm64("faccessat", [0; 6]), Action::Allow);
/// assert_eq!(on_arm64("openat", [0, 0, 0, 0, 0, 0]), Action::Allow); // O_RDONLY in a2
/// assert_eq!(on_arm64("openat", [0, 0, 1, 0, 0, 0]), Action::Errno(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn portable(policy: &Policy) -> Result<Portable, PolicyError> {
    let mut out = policy.clone();
    let mut added: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut warned: BTreeSet<(String, &'static str)> = BTreeSet::new();
    // A worklist over the rules, the added ones included.
    let mut next = 0;
    while next < out.rules().len() {
        let rule = out.rules()[next].clone();
        next += 1;
        let Syscall::Name(name) = &rule.syscall else {
            continue;
        };
        if rule.action == policy.default_action() {
            continue;
        }
        let Some(entry) = equivalence(name) else {
            continue;
        };
        let at = rule
            .origin
            .as_ref()
            .map(|o| format!("{o}: "))
            .unwrap_or_default();
        // The 32-bit variants only where the profile has an ABI that makes them.
        let wanted = |a: &&Alternative| match a.scope {
            Scope::Modern => true,
            Scope::Compat32 => policy
                .arches()
                .iter()
                .any(|arch| arch.syscall_number(a.name).is_some()),
            Scope::Alike => false,
        };
        for alt in entry.alternatives.iter().filter(wanted) {
            let theirs: Vec<&Rule> = out
                .rules()
                .iter()
                .filter(|r| r.syscall.name() == Some(alt.name))
                .collect();
            if let Some(other) = theirs.iter().find(|r| r.action != rule.action) {
                if warned.insert((name.clone(), alt.name)) {
                    warnings.push(format!(
                        "{at}{name}'s equivalent {} is not added: the profile decides it \
                         itself ({other})",
                        alt.name
                    ));
                }
                continue;
            }
            let Some(conds) = alt.args.carry(&rule.conds) else {
                if warned.insert((name.clone(), alt.name)) {
                    warnings.push(format!(
                        "{at}{name}'s rule has argument conditions that {}'s arguments cannot \
                         carry: {} is not added for it (write its rule by hand)",
                        alt.name, alt.name
                    ));
                }
                continue;
            };
            if theirs
                .iter()
                .any(|r| r.conds.is_empty() || r.conds == conds)
            {
                continue;
            }
            let mut new = Rule::new(rule.action, alt.name).with_conds(conds);
            new.origin = Some(format!("--portable, for {name}"));
            out.add_rule(new)?;
            let list = added.entry(name.clone()).or_default();
            if !list.contains(&alt.name) {
                list.push(alt.name);
            }
        }
    }
    // runc answers ENOSYS above the largest syscall a profile names: the added names move
    // that threshold as they would in the profile's text.
    if !out.attrs.enosys_above.is_empty() {
        let names = added.values().flatten().copied();
        let moved = crate::profile::docker::runc_enosys_thresholds(out.arches(), names);
        for (arch, above) in moved {
            if let Some(t) = out.attrs.enosys_above.get_mut(&arch) {
                *t = (*t).max(above);
            }
        }
    }
    Ok(Portable {
        policy: out,
        added,
        warnings,
    })
}

/// The architectures [`gaps`] checks a profile against: those whose kernels have only the
/// asm-generic calls and that run the same programs as x86_64 hosts.
pub const PORTABLE_TO: [Arch; 2] = [Arch::Aarch64, Arch::Riscv64];

/// A name a profile allows that some architectures lack, with its alternatives missing
/// from the profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The name.
    pub name: String,
    /// The architectures of [`PORTABLE_TO`] that lack it.
    pub lacking: Vec<Arch>,
    /// The table's alternatives that those architectures have and the profile does not
    /// name; empty when the table knows none ([`Gap::known`] is false).
    pub missing: Vec<&'static str>,
    /// Whether the table lists the name.
    pub known: bool,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lacking: Vec<&str> = self.lacking.iter().map(|a| a.name()).collect();
        write!(f, "{}: not on {}", self.name, lacking.join(" or "))?;
        if self.known {
            write!(
                f,
                ", which use {} (not in the profile)",
                self.missing.join(", ")
            )
        } else {
            f.write_str(", and the equivalence table knows no replacement")
        }
    }
}

/// Where `policy` is not portable to [`PORTABLE_TO`]: each name a rule lets run (ALLOW or
/// LOG) that one of them lacks, when the profile does not name every alternative the table
/// gives for it there, among the names one of the policy's 64-bit ABIs has (a 32-bit ABI's
/// `waitpid` or `_llseek` is not ported to arm64). Names whose work needs no call elsewhere
/// (`arch_prctl`) are not gaps; refusals are not either (a refused
/// name that an architecture lacks refuses nothing there, which is `sysgate lint`'s
/// business). [`portable`] closes every gap the table knows.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::portable::gaps;
///
/// let mut p = Policy::new(Action::Errno(1));
/// p.add_rule(Rule::new(Action::Allow, "readlink"))?;
/// let g = gaps(&p);
/// assert_eq!(g[0].to_string(), "readlink: not on aarch64 or riscv64, which use readlinkat (not in the profile)");
/// # Ok::<(), sysgate::policy::PolicyError>(())
/// ```
pub fn gaps(policy: &Policy) -> Vec<Gap> {
    let named: BTreeSet<&str> = policy
        .rules()
        .iter()
        .filter_map(|r| r.syscall.name())
        .collect();
    let allowed: BTreeSet<&str> = policy
        .rules()
        .iter()
        .filter(|r| r.action.permits())
        .filter_map(|r| r.syscall.name())
        .collect();
    // Programs for 64-bit ABIs: i386's `waitpid` or `_llseek` has nothing to port to arm64.
    let abis: Vec<Arch> = policy
        .arches()
        .iter()
        .copied()
        .filter(|a| a.args_are_64bit())
        .collect();
    let mut out = Vec::new();
    for name in allowed
        .into_iter()
        .filter(|n| abis.iter().any(|a| a.syscall_number(n).is_some()))
    {
        let lacking: Vec<Arch> = PORTABLE_TO
            .into_iter()
            .filter(|a| a.syscall_number(name).is_none())
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let (known, missing) = match equivalence(name) {
            Some(e) if e.alternatives.is_empty() => continue,
            Some(e) => (
                true,
                e.alternatives
                    .iter()
                    .filter(|a| a.scope == Scope::Modern && !named.contains(a.name))
                    .filter(|a| {
                        lacking
                            .iter()
                            .any(|arch| arch.syscall_number(a.name).is_some())
                    })
                    .map(|a| a.name)
                    .collect::<Vec<_>>(),
            ),
            None => (false, Vec::new()),
        };
        if known && missing.is_empty() {
            continue;
        }
        out.push(Gap {
            name: name.to_string(),
            lacking,
            missing,
            known,
        });
    }
    out
}

#[cfg(test)]
mod tests;
