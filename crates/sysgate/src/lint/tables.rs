//! The facts the checks use: which calls do the same thing, which arguments are pointers,
//! and which calls need a capability. Sources are cited in docs/lint.md.
//!
//! This file owns the tables only; the checks that read them are beside it. Which calls do
//! the same work is the one equivalence table of [`crate::profile::portable`], which
//! `--portable` reads too.

use crate::arch::Arch;

/// Syscall arguments that are pointers to user memory (path names, structures, buffers):
/// seccomp sees the address, never what is stored there.
pub(super) const POINTER_ARGS: &[(&str, &[usize])] = &[
    ("open", &[0]),
    ("openat", &[1]),
    ("openat2", &[1, 2]),
    ("creat", &[0]),
    ("execve", &[0, 1, 2]),
    ("execveat", &[1, 2, 3]),
    ("connect", &[1]),
    ("bind", &[1]),
    ("sendto", &[1, 4]),
    ("sendmsg", &[1]),
    ("recvmsg", &[1]),
    ("setsockopt", &[3]),
    ("getsockopt", &[3, 4]),
    ("mount", &[0, 1, 2, 4]),
    ("umount2", &[0]),
    ("chdir", &[0]),
    ("chroot", &[0]),
    ("pivot_root", &[0, 1]),
    ("unlink", &[0]),
    ("unlinkat", &[1]),
    ("rmdir", &[0]),
    ("rename", &[0, 1]),
    ("renameat", &[1, 3]),
    ("renameat2", &[1, 3]),
    ("link", &[0, 1]),
    ("linkat", &[1, 3]),
    ("symlink", &[0, 1]),
    ("symlinkat", &[0, 2]),
    ("mkdir", &[0]),
    ("mkdirat", &[1]),
    ("mknod", &[0]),
    ("mknodat", &[1]),
    ("chmod", &[0]),
    ("fchmodat", &[1]),
    ("chown", &[0]),
    ("lchown", &[0]),
    ("fchownat", &[1]),
    ("truncate", &[0]),
    ("access", &[0]),
    ("faccessat", &[1]),
    ("faccessat2", &[1]),
    ("readlink", &[0, 1]),
    ("readlinkat", &[1, 2]),
    ("stat", &[0, 1]),
    ("lstat", &[0, 1]),
    ("newfstatat", &[1, 2]),
    ("statx", &[1, 4]),
    ("read", &[1]),
    ("write", &[1]),
    ("clone3", &[0]),
    ("bpf", &[1]),
    ("perf_event_open", &[0]),
    ("init_module", &[0, 2]),
    ("finit_module", &[1]),
    ("kexec_file_load", &[3]),
    ("add_key", &[0, 1, 2]),
    ("request_key", &[0, 1, 2]),
    ("sethostname", &[0]),
    ("setdomainname", &[0]),
];

/// The pointer arguments of `name`.
pub(super) fn pointer_args(name: &str) -> &'static [usize] {
    POINTER_ARGS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[], |(_, a)| a)
}

/// How a grant is probed: any call of the syscalls, or calls with particular arguments.
#[derive(Copy, Clone, Debug)]
pub(super) enum Probe {
    /// Any call (the sampled ones: all-zero arguments and each rule's).
    AnyCall,
    /// Only these calls on this ABI (the dangerous arguments).
    Args(fn(Arch) -> Vec<[u64; 6]>),
}

/// A call that the kernel otherwise reserves for a capability (or that is dangerous in
/// itself), and what granting it means.
#[derive(Copy, Clone, Debug)]
pub(super) struct Grant {
    /// The check's id.
    pub id: &'static str,
    /// The syscalls, each with how it is probed.
    pub names: &'static [(&'static str, Probe)],
    /// What the call is allowed with, in words (`with TIOCSTI`).
    pub with: &'static str,
    /// The capabilities that make the grant expected (any of them); empty when none does.
    pub caps: &'static [&'static str],
    /// Why it matters.
    pub why: &'static str,
    /// What to do.
    pub fix: &'static str,
}

/// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
/// CLONE_NEWPID | CLONE_NEWNET` (linux/sched.h), one at a time, in clone's flags argument
/// (the second on s390 and s390x, whose clone takes the stack first).
fn clone_namespace_flags(arch: Arch) -> Vec<[u64; 6]> {
    let flags_arg = if matches!(arch, Arch::S390 | Arch::S390x) {
        1
    } else {
        0
    };
    [
        0x0002_0000u64,
        0x0200_0000,
        0x0400_0000,
        0x0800_0000,
        0x1000_0000,
        0x2000_0000,
        0x4000_0000,
    ]
    .into_iter()
    .map(|flag| {
        let mut args = [0; 6];
        // SIGCHLD in the low byte, as fork-like callers pass it.
        args[flags_arg] = flag | 17;
        args
    })
    .collect()
}

/// `personality(READ_IMPLIES_EXEC)` and `personality(ADDR_NO_RANDOMIZE)`
/// (linux/personality.h: 0x0400000, 0x0040000), alone, together and beside the personas
/// Docker allows (PER_LINUX32 0x8, UNAME26 0x20000): the flags are bits, so a rule that
/// allows one of them with other bits grants them just as well. The kernel takes the
/// argument as `unsigned int`, so on a 64-bit ABI the same values with a high word count too.
fn personality_flags(arch: Arch) -> Vec<[u64; 6]> {
    let mut out = Vec::new();
    for flags in [0x0040_0000u64, 0x0004_0000, 0x0044_0000] {
        for persona in [0u64, 0x8, 0x2_0000, 0x2_0008] {
            out.push([flags | persona, 0, 0, 0, 0, 0]);
        }
    }
    with_ignored_high_word(arch, out, 0)
}

/// `probes` and, on a 64-bit ABI, each of them again with argument `arg` carrying a high word:
/// the kernel reads that argument as a 32-bit `unsigned int` and drops the high word, but
/// seccomp compares all 64 bits, so a rule on the 64-bit value lets the call through.
fn with_ignored_high_word(arch: Arch, mut probes: Vec<[u64; 6]>, arg: usize) -> Vec<[u64; 6]> {
    if arch.args_are_64bit() {
        let high: Vec<[u64; 6]> = probes
            .iter()
            .map(|p| {
                let mut p = *p;
                p[arg] |= 1 << 32;
                p
            })
            .collect();
        probes.extend(high);
    }
    probes
}

/// `ioctl(fd, TIOCSTI, &c)`: 0x5412 (asm-generic/ioctls.h), 0x5472 on mips, `_IOW('t', 114,
/// char)` = 0x80017472 on powerpc.
fn ioctl_tiocsti(arch: Arch) -> Vec<[u64; 6]> {
    let tiocsti = match arch {
        Arch::Mips
        | Arch::Mipsel
        | Arch::Mips64
        | Arch::Mipsel64
        | Arch::Mips64n32
        | Arch::Mipsel64n32 => 0x5472,
        Arch::Ppc | Arch::Ppc64 | Arch::Ppc64le => 0x8001_7472,
        _ => 0x5412,
    };
    // ioctl's request is an `unsigned int` too.
    with_ignored_high_word(arch, vec![[0, tiocsti, 0, 0, 0, 0]], 1)
}

/// The dangerous grants, in the order of [`super::CHECKS`].
pub(super) const GRANTS: &[Grant] = &[
    Grant {
        id: "grant-bpf",
        names: &[("bpf", ANY)],
        with: "",
        caps: &["CAP_BPF", "CAP_SYS_ADMIN"],
        why: "bpf(2) loads programs into the kernel and reads kernel memory through maps; it \
              has been a steady source of verifier exploits, and unprivileged use depends only \
              on the kernel.unprivileged_bpf_disabled sysctl",
        fix: "refuse bpf unless the workload loads BPF programs and holds CAP_BPF",
    },
    Grant {
        id: "grant-perf",
        names: &[("perf_event_open", ANY)],
        with: "",
        caps: &["CAP_PERFMON", "CAP_SYS_ADMIN"],
        why: "perf_event_open(2) exposes kernel addresses and timing side channels; beyond \
              the kernel.perf_event_paranoid sysctl it needs CAP_PERFMON",
        fix: "refuse perf_event_open unless the workload profiles itself",
    },
    Grant {
        id: "grant-userfaultfd",
        names: &[("userfaultfd", ANY)],
        with: "",
        caps: &["CAP_SYS_PTRACE"],
        why: "userfaultfd(2) lets a process stall the kernel at a chosen page fault, the usual \
              way to win a kernel race; Docker allows it only with CAP_SYS_PTRACE, which the \
              kernel asks for when vm.unprivileged_userfaultfd is 0",
        fix: "refuse userfaultfd unless the workload needs it (CRIU, some VMs)",
    },
    Grant {
        id: "grant-keyring",
        names: &[("keyctl", ANY), ("add_key", ANY), ("request_key", ANY)],
        with: "",
        caps: &[],
        why: "the kernel keyring is not namespaced: a container can read and fill keys of \
              other containers of the same user; Docker refuses these calls in every container",
        fix: "refuse keyctl, add_key and request_key (ERRNO(ENOSYS) makes most callers fall back)",
    },
    Grant {
        id: "grant-kexec",
        names: &[("kexec_load", ANY), ("kexec_file_load", ANY)],
        with: "",
        caps: &["CAP_SYS_BOOT"],
        why: "kexec replaces the running kernel with another one",
        fix: "refuse kexec_load and kexec_file_load",
    },
    Grant {
        id: "grant-module",
        names: &[
            ("init_module", ANY),
            ("finit_module", ANY),
            ("delete_module", ANY),
        ],
        with: "",
        caps: &["CAP_SYS_MODULE"],
        why: "loading a module runs code in the kernel; removing one takes a feature from the \
              whole machine",
        fix: "refuse init_module, finit_module and delete_module",
    },
    Grant {
        id: "grant-mount",
        names: &[
            ("mount", ANY),
            ("umount", ANY),
            ("umount2", ANY),
            ("pivot_root", ANY),
            ("fsopen", ANY),
            ("fsconfig", ANY),
            ("fsmount", ANY),
            ("fspick", ANY),
            ("move_mount", ANY),
            ("open_tree", ANY),
            ("mount_setattr", ANY),
        ],
        with: "",
        caps: &["CAP_SYS_ADMIN"],
        why: "mounting changes what every path means for the processes that share the mount \
              namespace: a mount over /etc or /proc defeats checks made by path, and a new \
              user namespace makes the capability easy to get",
        fix: "refuse the mount calls unless the workload mounts, and then only with \
              CAP_SYS_ADMIN",
    },
    Grant {
        id: "grant-open-by-handle",
        names: &[("open_by_handle_at", ANY)],
        with: "",
        caps: &["CAP_DAC_READ_SEARCH"],
        why: "open_by_handle_at(2) opens a file by its handle on a mounted filesystem, whatever \
              the process's root and mount namespace; handles are guessable, so a container \
              with it reads any file of a filesystem it shares with the host (the 'Shocker' \
              escape)",
        fix: "refuse open_by_handle_at unless the workload needs it (file servers) and holds \
              CAP_DAC_READ_SEARCH",
    },
    Grant {
        id: "grant-namespace",
        names: &[
            ("unshare", Probe::Args(unshare_namespace_flags)),
            ("setns", ANY),
            ("clone", Probe::Args(clone_namespace_flags)),
            ("clone3", ANY),
        ],
        with: "",
        caps: &["CAP_SYS_ADMIN"],
        why: "new namespaces (a user namespace needs no capability) hand a process CAP_SYS_ADMIN \
              over them, which opens kernel code that is otherwise root's; clone3's flags are \
              in memory, where seccomp cannot check them",
        fix: "refuse unshare and setns, allow clone only when (flags & 0x7e020000) == 0 \
              (Docker's rule), and refuse clone3 with ERRNO(ENOSYS) so that libc falls back to \
              clone",
    },
    Grant {
        id: "personality-unchecked",
        names: &[("personality", Probe::Args(personality_flags))],
        with: "with READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE",
        caps: &[],
        why: "personality(READ_IMPLIES_EXEC) makes every readable mapping executable and \
              ADDR_NO_RANDOMIZE turns off address randomisation for what the process executes",
        fix: "allow personality only for the values Docker allows: 0x0, 0x8, 0x20000, 0x20008 \
              and 0xffffffff",
    },
    Grant {
        id: "ioctl-tiocsti",
        names: &[("ioctl", Probe::Args(ioctl_tiocsti))],
        with: "with TIOCSTI",
        caps: &["CAP_SYS_ADMIN"],
        why: "TIOCSTI pushes characters into a terminal's input, so a sandboxed program that \
              shares its terminal types commands into the shell that started it; kernels from \
              6.2 refuse it without CAP_SYS_ADMIN only when built without LEGACY_TIOCSTI or \
              with dev.tty.legacy_tiocsti=0",
        fix: "refuse ioctl when (a1 & 0xffffffff) == TIOCSTI, or allow only the requests the \
              workload uses",
    },
];

/// `unshare` of each namespace flag (its only argument).
fn unshare_namespace_flags(_: Arch) -> Vec<[u64; 6]> {
    clone_namespace_flags(Arch::X86_64)
        .into_iter()
        .map(|mut args| {
            args[0] &= !0xff;
            args
        })
        .collect()
}

/// Shorthand for the table below.
const ANY: Probe = Probe::AnyCall;

/// The compat ABIs a kernel of each primary ABI runs: a program executed there can make
/// calls with these tokens too (x86_64 runs i386 and x32, arm64 runs arm, ...).
pub(super) fn compat_abis(arch: Arch) -> &'static [Arch] {
    match arch {
        Arch::X86_64 => &[Arch::X86, Arch::X32],
        Arch::Aarch64 => &[Arch::Arm],
        Arch::S390x => &[Arch::S390],
        Arch::Ppc64 => &[Arch::Ppc],
        Arch::Mips64 => &[Arch::Mips, Arch::Mips64n32],
        Arch::Mipsel64 => &[Arch::Mipsel, Arch::Mipsel64n32],
        Arch::Parisc64 => &[Arch::Parisc],
        _ => &[],
    }
}
