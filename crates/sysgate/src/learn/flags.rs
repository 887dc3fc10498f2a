//! Which syscall arguments `--args` learns: the ones that are flags or small enums.
//!
//! A learned argument condition must hold on every later run of the same program, so it is
//! only worth learning for arguments whose value says *what kind* of operation the call is
//! (an address family, a `prctl` option, an `ioctl` request, whether memory becomes
//! executable) and that a program passes as constants. Pointers, lengths, file descriptors,
//! pids and offsets change from run to run; constraining them would make the profile
//! refuse the program it was learned from. They are never constrained.
//!
//! | syscall | arguments | why |
//! | --- | --- | --- |
//! | `socket`, `socketpair` | a0 domain, a1 type | which protocol families (AF_UNIX vs AF_INET vs AF_NETLINK, raw sockets) the program opens |
//! | `clone` | a0 flags | new namespaces (CLONE_NEWUSER, ...) vs plain threads and processes |
//! | `prctl` | a0 option | each option is a different operation |
//! | `ioctl` | a1 request | each request is a different operation on the device |
//! | `personality` | a0 persona | READ_IMPLIES_EXEC and friends weaken hardening |
//! | `fcntl`, `fcntl64` | a1 cmd | locks, leases, seals and flag changes are different operations |
//! | `mmap`, `mmap2`, `mprotect`, `pkey_mprotect` | a2 prot | makes PROT_EXEC use (JIT, W^X) visible and bounded |
//! | `setsockopt` | a1 level, a2 optname | which socket options the program sets |
//!
//! Values are compared as the full 64-bit register (truncated to 32 bits on 32-bit ABIs, as
//! the filter sees them), exactly as the program passed them: flags such as SOCK_CLOEXEC
//! are part of the learned value.
//!
//! On some ABIs a listed name has another argument layout; there the name is learned
//! without conditions ([`flag_args`] returns `None`): `mmap` on i386, s390, s390x and m68k
//! takes a pointer to a struct (`old_mmap`), and `clone` on s390 and s390x takes the stack
//! first. The multiplexers (`socketcall`, `ipc`) pass their real arguments in memory and are
//! never constrained.

use crate::arch::Arch;

/// The flag arguments learned per syscall name (argument indexes, in order).
pub const FLAG_ARGS: &[(&str, &[u8])] = &[
    ("socket", &[0, 1]),
    ("socketpair", &[0, 1]),
    ("clone", &[0]),
    ("prctl", &[0]),
    ("ioctl", &[1]),
    ("personality", &[0]),
    ("fcntl", &[1]),
    ("fcntl64", &[1]),
    ("mmap", &[2]),
    ("mmap2", &[2]),
    ("mprotect", &[2]),
    ("pkey_mprotect", &[2]),
    ("setsockopt", &[1, 2]),
];

/// ABIs on which a name of [`FLAG_ARGS`] has another argument layout.
const OTHER_LAYOUT: &[(&str, &[Arch])] = &[
    ("mmap", &[Arch::X86, Arch::S390, Arch::S390x, Arch::M68k]),
    ("clone", &[Arch::S390, Arch::S390x]),
];

/// The argument indexes `--args` learns for `name` on `arch`, if any.
///
/// ```
/// use sysgate::learn::flag_args;
/// use sysgate::Arch;
///
/// assert_eq!(flag_args("socket", Arch::X86_64), Some(&[0u8, 1][..]));
/// assert_eq!(flag_args("mmap", Arch::X86_64), Some(&[2u8][..]));
/// assert_eq!(flag_args("mmap", Arch::X86), None); // old_mmap takes a struct pointer
/// assert_eq!(flag_args("read", Arch::X86_64), None);
/// ```
pub fn flag_args(name: &str, arch: Arch) -> Option<&'static [u8]> {
    if OTHER_LAYOUT
        .iter()
        .any(|(n, arches)| *n == name && arches.contains(&arch))
    {
        return None;
    }
    FLAG_ARGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, idx)| *idx)
}
