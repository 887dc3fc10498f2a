//! The OS layer: every raw system call of the crate, in thin wrappers that take and return
//! plain Rust values, each `unsafe` block with a `// SAFETY:` comment saying why it is sound.
//!
//! - this file: `seccomp(2)`, the seccomp `prctl`s, the user-notification ioctls, the audit
//!   netlink socket, and the socket calls that hand a listener fd from a child to its
//!   parent or from a container runtime to an agent;
//! - [`process`]: `fork`, `clone(CLONE_VM | CLONE_VFORK)`, `exec`, `waitpid`, `kill`,
//!   pidfds, pipes;
//! - [`child`]: the one way a child is started under filters (the steps it takes before
//!   `exec`, and how it reports them);
//! - [`ptrace`]: the tracer's requests and `PTRACE_SECCOMP_GET_FILTER`;
//! - [`signals`]: masks, dispositions, the one signal forwarder and the signal waiter.
//!
//! No other file of the crate has `unsafe` but `kernel/command.rs`, whose `pre_exec` hook
//! `std` makes unsafe. The generic calls go through `libc`; what no crate wraps
//! (seccomp(2), the notify ioctls, ptrace stops, audit netlink) is written here. The raw
//! wrappers take no lock and touch no `std` state beyond `errno`, and only those documented
//! as allocating do, so the others may run in a child between `fork` and `exec`
//! (async-signal-safe). Deciding what an error means is the callers' job.

pub(crate) mod child;
pub(crate) mod process;
pub(crate) mod ptrace;
pub(crate) mod signals;

use std::ffi::{c_int, c_long, c_uint, c_ulong, c_ushort, c_void};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use crate::bpf::Insn;

/// A failed call's `errno`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub i32);

impl Errno {
    /// The calling thread's `errno` (reads a thread-local, no allocation).
    pub(crate) fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(e.0)
    }
}

/// `seccomp(2)` operations (include/uapi/linux/seccomp.h).
pub(crate) mod op {
    use std::ffi::c_uint;
    /// `SECCOMP_SET_MODE_FILTER`.
    pub const SET_MODE_FILTER: c_uint = 1;
    /// `SECCOMP_GET_ACTION_AVAIL` (Linux 4.14).
    pub const GET_ACTION_AVAIL: c_uint = 2;
    /// `SECCOMP_GET_NOTIF_SIZES` (Linux 5.0).
    pub const GET_NOTIF_SIZES: c_uint = 3;
}

/// Flag bits as the system call takes them. All defined flags fit in 32 bits, so nothing
/// is lost where `unsigned long` is 32-bit.
#[allow(clippy::unnecessary_cast)] // a no-op only where c_ulong is 64-bit
const fn ulong(bits: u64) -> c_ulong {
    bits as c_ulong
}

/// `SECCOMP_MODE_FILTER`, for `prctl(PR_SET_SECCOMP)`.
const MODE_FILTER: c_ulong = 2;

/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`.
pub(crate) const USER_NOTIF_FLAG_CONTINUE: u32 = 1;
/// `SECCOMP_ADDFD_FLAG_SETFD`: install at `newfd` exactly.
pub(crate) const ADDFD_FLAG_SETFD: u32 = 1;
/// `SECCOMP_ADDFD_FLAG_SEND`: install and answer the notification with the fd number.
pub(crate) const ADDFD_FLAG_SEND: u32 = 2;

/// The kernel's `struct sock_fprog`: a length and a pointer to the instructions.
#[repr(C)]
struct SockFprog {
    len: c_ushort,
    filter: *const Insn,
}

/// The kernel's `struct seccomp_notif_sizes`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawNotifSizes {
    pub notif: u16,
    pub resp: u16,
    pub data: u16,
}

/// The kernel's `struct seccomp_notif_addfd`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct RawAddFd {
    pub id: u64,
    pub flags: u32,
    pub srcfd: u32,
    pub newfd: u32,
    pub newfd_flags: u32,
}

/// Size of `struct seccomp_notif` as this crate knows it (id, pid, flags, seccomp_data).
pub(crate) const NOTIF_SIZE: usize = 8 + 4 + 4 + 64;
/// Size of `struct seccomp_notif_resp` as this crate knows it (id, val, error, flags).
pub(crate) const NOTIF_RESP_SIZE: usize = 8 + 8 + 4 + 4;

/// ioctl number encoding (include/uapi/asm-generic/ioctl.h; powerpc, mips and sparc use
/// 13 size bits and different direction bits).
mod ioc {
    /// powerpc, mips and sparc: 13 size bits, and their own direction bits.
    const OWN_LAYOUT: bool = cfg!(any(
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "mips32r6",
        target_arch = "mips64r6",
        target_arch = "sparc",
        target_arch = "sparc64"
    ));
    /// `_IOC_WRITE`.
    pub const WRITE: u32 = if OWN_LAYOUT { 4 } else { 1 };
    /// `_IOC_READ`.
    pub const READ: u32 = 2;
    const SIZEBITS: u32 = if OWN_LAYOUT { 13 } else { 14 };

    const NRSHIFT: u32 = 0;
    const TYPESHIFT: u32 = 8;
    const SIZESHIFT: u32 = 16;
    const DIRSHIFT: u32 = SIZESHIFT + SIZEBITS;

    /// `_IOC(dir, type, nr, size)`.
    pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
        (dir << DIRSHIFT)
            | ((size as u32) << SIZESHIFT)
            | ((ty as u32) << TYPESHIFT)
            | (nr as u32) << NRSHIFT
    }
}

/// The seccomp ioctl type, `'!'`.
const SECCOMP_IOC_MAGIC: u8 = b'!';

/// `SECCOMP_IOCTL_NOTIF_RECV = _IOWR('!', 0, struct seccomp_notif)`.
pub(crate) const IOCTL_NOTIF_RECV: u32 =
    ioc::ioc(ioc::READ | ioc::WRITE, SECCOMP_IOC_MAGIC, 0, NOTIF_SIZE);
/// `SECCOMP_IOCTL_NOTIF_SEND = _IOWR('!', 1, struct seccomp_notif_resp)`.
pub(crate) const IOCTL_NOTIF_SEND: u32 = ioc::ioc(
    ioc::READ | ioc::WRITE,
    SECCOMP_IOC_MAGIC,
    1,
    NOTIF_RESP_SIZE,
);
/// `SECCOMP_IOCTL_NOTIF_ID_VALID = _IOW('!', 2, __u64)`.
pub(crate) const IOCTL_NOTIF_ID_VALID: u32 = ioc::ioc(ioc::WRITE, SECCOMP_IOC_MAGIC, 2, 8);
/// `SECCOMP_IOCTL_NOTIF_ADDFD = _IOW('!', 3, struct seccomp_notif_addfd)`.
pub(crate) const IOCTL_NOTIF_ADDFD: u32 = ioc::ioc(
    ioc::WRITE,
    SECCOMP_IOC_MAGIC,
    3,
    std::mem::size_of::<RawAddFd>(),
);

/// Turn a `-1`-means-errno return into a `Result`.
/// A raw return value: negative means failure with `errno`.
pub(crate) fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`. Returns the kernel's non-negative
/// result: 0, a listener fd (NEW_LISTENER) or a thread id (a TSYNC failure).
pub(crate) fn seccomp_set_mode_filter(flags: u64, insns: &[Insn]) -> Result<c_long, Errno> {
    let Ok(len) = c_ushort::try_from(insns.len()) else {
        return Err(Errno(libc::EINVAL));
    };
    let prog = SockFprog {
        len,
        filter: insns.as_ptr(),
    };
    // SAFETY: `prog` points at `len` valid instructions that outlive the call; the kernel
    // copies both the struct and the instructions before returning.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            op::SET_MODE_FILTER as c_ulong,
            ulong(flags),
            &prog as *const SockFprog,
        )
    })
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL)`: asks whether the kernel accepts `flags`
/// without installing anything. The kernel checks the flags first (EINVAL) and only then
/// copies the program, which fails on NULL (EFAULT). So EFAULT means "these flags are known".
pub(crate) fn seccomp_probe_filter_flags(flags: u64) -> Result<c_long, Errno> {
    // SAFETY: a NULL argument is never dereferenced in user space; the kernel's
    // copy_from_user rejects it with EFAULT, before any filter exists.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            op::SET_MODE_FILTER as c_ulong,
            ulong(flags),
            ptr::null::<c_void>(),
        )
    })
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)`: Ok if the kernel knows the action
/// (EOPNOTSUPP if not, EINVAL before Linux 4.14).
pub(crate) fn seccomp_get_action_avail(action: u32) -> Result<(), Errno> {
    // SAFETY: the kernel reads one u32 from a live local.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            op::GET_ACTION_AVAIL as c_ulong,
            0 as c_ulong,
            &action as *const u32,
        )
    })
    .map(|_| ())
}

/// `seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes)` (Linux 5.0).
pub(crate) fn seccomp_get_notif_sizes() -> Result<RawNotifSizes, Errno> {
    let mut sizes = RawNotifSizes::default();
    // SAFETY: the kernel writes exactly `struct seccomp_notif_sizes` into a live local of
    // the same layout.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            op::GET_NOTIF_SIZES as c_ulong,
            0 as c_ulong,
            &mut sizes as *mut RawNotifSizes,
        )
    })?;
    Ok(sizes)
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)`: the pre-3.17 way, without flags.
pub(crate) fn prctl_set_seccomp_filter(insns: &[Insn]) -> Result<(), Errno> {
    let Ok(len) = c_ushort::try_from(insns.len()) else {
        return Err(Errno(libc::EINVAL));
    };
    let prog = SockFprog {
        len,
        filter: insns.as_ptr(),
    };
    // SAFETY: as for `seccomp_set_mode_filter`: `prog` and its instructions are live.
    unsafe { prctl_set_seccomp(&prog) }
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL)`: EFAULT means filter mode exists,
/// EINVAL that it does not. Installs nothing.
pub(crate) fn prctl_probe_filter_mode() -> Result<(), Errno> {
    // SAFETY: NULL is rejected by the kernel's copy_from_user (EFAULT); nothing is read or
    // written in user space.
    unsafe { prctl_set_seccomp(ptr::null()) }
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog)`.
///
/// # Safety
/// `prog` is null or points to a live `SockFprog` whose instructions are live.
unsafe fn prctl_set_seccomp(prog: *const SockFprog) -> Result<(), Errno> {
    // SAFETY: the caller's contract covers `prog`; the other arguments are integers.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            MODE_FILTER,
            prog,
            0 as c_ulong,
            0 as c_ulong,
        )
    };
    check(ret.into()).map(|_| ())
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
pub(crate) fn set_no_new_privs() -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
        )
    };
    check(ret.into()).map(|_| ())
}

/// `uname(2)`'s release field.
pub(crate) fn kernel_release() -> Result<String, Errno> {
    // SAFETY: `utsname` is plain bytes; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel fills a live, correctly sized `utsname`.
    check(unsafe { libc::uname(&mut uts) }.into())?;
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The contents of a small file of /proc or /sys, read in one go: such files say their size
/// is 0, so `std::fs::read_to_string` reads them in doubling steps from 32 bytes up (eight
/// reads for /proc/self/status); one page is enough for the ones read here.
pub(crate) fn read_small_proc_file(path: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    std::fs::File::open(path)?.read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// `close(2)` on a raw fd the caller owns (used between fork and exec).
pub(crate) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and never uses it again.
    unsafe { libc::close(fd) };
}

/// Wrap a listener fd the kernel just returned.
pub(crate) fn owned_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was just returned by the kernel to this caller and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A page of memory shared between a process and the children it forks afterwards
/// (`mmap(MAP_SHARED | MAP_ANONYMOUS)`), holding one `T` made of atomics. A child writes it
/// with plain stores, no system call, so it can report what happened between `fork` and
/// `exec` even when its filters would deny every call.
pub(crate) struct SharedPage<T: SharedCell> {
    ptr: std::ptr::NonNull<T>,
}

/// A type that may live in a [`SharedPage`]: atomics only, valid when all-zero.
///
/// # Safety
/// Implementors must be valid for any bit pattern the kernel's zero-filled page gives
/// them (all zeroes) and be usable through a shared reference from several processes
/// (atomics only, no pointers).
pub(crate) unsafe trait SharedCell: Sync {}

// SAFETY: the page is shared memory of atomics; references to it may cross threads.
unsafe impl<T: SharedCell> Send for SharedPage<T> {}
// SAFETY: as above: only atomic accesses go through `&T`.
unsafe impl<T: SharedCell> Sync for SharedPage<T> {}

impl<T: SharedCell> SharedPage<T> {
    pub(crate) fn new() -> Result<SharedPage<T>, Errno> {
        let len = std::mem::size_of::<T>().max(1);
        // SAFETY: an anonymous mapping with no address hint; the kernel picks the address.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        std::ptr::NonNull::new(ptr.cast::<T>())
            .map(|ptr| SharedPage { ptr })
            .ok_or(Errno(libc::ENOMEM))
    }

    pub(crate) fn get(&self) -> &T {
        // SAFETY: the mapping is live until drop, page-aligned, zero-filled (a valid `T` by
        // the `SharedCell` contract) and only accessed through atomics.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: SharedCell> Drop for SharedPage<T> {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in `new`, which nothing references any more.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), std::mem::size_of::<T>().max(1)) };
    }
}

/// `NETLINK_AUDIT`'s read-only multicast group of audit records (`AUDIT_NLGRP_READLOG`,
/// group 1, Linux 3.16), as a bind bitmask (group n is bit n - 1).
const AUDIT_NLGRP_READLOG_MASK: u32 = 1;

/// A `NETLINK_AUDIT` socket subscribed to every audit record the kernel emits (needs
/// CAP_AUDIT_READ). With `rcvbuf`, asks for a larger receive buffer (best effort).
pub(crate) fn audit_readlog_socket(rcvbuf: usize) -> Result<OwnedFd, Errno> {
    // SAFETY: plain arguments; a non-negative result is a new fd that we own.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_AUDIT,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = owned_fd(fd);
    // SAFETY: `sockaddr_nl` is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = AUDIT_NLGRP_READLOG_MASK;
    // SAFETY: `addr` is a live sockaddr_nl and the length is its size.
    let ret = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            ptr::addr_of!(addr).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    let size = c_int::try_from(rcvbuf).unwrap_or(c_int::MAX);
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: `size` is a live c_int and the length is its size.
        let ret = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                ptr::addr_of!(size).cast(),
                std::mem::size_of::<c_int>() as libc::socklen_t,
            )
        };
        if ret == 0 {
            break;
        }
    }
    Ok(fd)
}

/// `recv(fd, buf, MSG_DONTWAIT)`: the number of bytes of one datagram.
pub(crate) fn recv_nonblocking(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the live buffer.
    let ret = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    check(ret as c_long).map(|n| n as usize)
}

/// `ioctl(fd, request, arg)` for the seccomp notification ioctls.
///
/// # Safety
/// `arg` must point at memory of the size and layout `request` encodes, valid for the
/// reads and writes its direction encodes (or be the value a request that takes one by
/// value expects).
unsafe fn notif_ioctl(fd: BorrowedFd<'_>, request: u32, arg: *mut c_void) -> Result<c_int, Errno> {
    // The request type is c_ulong on glibc and c_int on musl/android: the encoded number
    // fits either way (as a bit pattern).
    // SAFETY: the caller's contract covers `arg`; `fd` is a live descriptor.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg) };
    check(ret.into()).map(|v| v as c_int)
}

/// `SECCOMP_IOCTL_NOTIF_RECV` into `buf`, which must be at least the kernel's
/// `seccomp_notif` size and zeroed by the caller.
pub(crate) fn notif_recv(fd: BorrowedFd<'_>, buf: &mut [u64]) -> Result<(), Errno> {
    if buf.len() * 8 < NOTIF_SIZE {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: `buf` is writable for at least the kernel's `seccomp_notif` size (the caller
    // sized it from SECCOMP_GET_NOTIF_SIZES, and never below the size the ioctl encodes).
    unsafe { notif_ioctl(fd, IOCTL_NOTIF_RECV, buf.as_mut_ptr().cast()) }.map(|_| ())
}

/// `SECCOMP_IOCTL_NOTIF_SEND` with a filled `seccomp_notif_resp` in `buf`.
pub(crate) fn notif_send(fd: BorrowedFd<'_>, buf: &mut [u64]) -> Result<(), Errno> {
    if buf.len() * 8 < NOTIF_RESP_SIZE {
        return Err(Errno(libc::EINVAL));
    }
    // SAFETY: `buf` holds at least a full `seccomp_notif_resp`; the kernel only reads it.
    unsafe { notif_ioctl(fd, IOCTL_NOTIF_SEND, buf.as_mut_ptr().cast()) }.map(|_| ())
}

/// `SECCOMP_IOCTL_NOTIF_ID_VALID`.
pub(crate) fn notif_id_valid(fd: BorrowedFd<'_>, id: u64) -> Result<(), Errno> {
    let mut id = id;
    // SAFETY: the kernel reads one u64 from a live local.
    unsafe { notif_ioctl(fd, IOCTL_NOTIF_ID_VALID, (&mut id as *mut u64).cast()) }.map(|_| ())
}

/// `SECCOMP_IOCTL_NOTIF_ADDFD`: returns the fd number in the target.
pub(crate) fn notif_addfd(fd: BorrowedFd<'_>, addfd: &RawAddFd) -> Result<c_int, Errno> {
    let mut addfd = *addfd;
    // SAFETY: the kernel reads one `struct seccomp_notif_addfd` from a live local of that
    // layout.
    unsafe { notif_ioctl(fd, IOCTL_NOTIF_ADDFD, (&mut addfd as *mut RawAddFd).cast()) }
}

/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS = _IOW('!', 4, __u64)` (Linux 6.6).
pub(crate) const IOCTL_NOTIF_SET_FLAGS: u32 = ioc::ioc(ioc::WRITE, SECCOMP_IOC_MAGIC, 4, 8);
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`.
const USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)` (Linux 6.6): the
/// notifying task and the supervisor hand the CPU to each other instead of waking each
/// other up on other CPUs.
pub(crate) fn notif_sync_wake_up(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: this ioctl takes the flags by value, not a pointer: nothing is read or
    // written in user space.
    unsafe {
        notif_ioctl(
            fd,
            IOCTL_NOTIF_SET_FLAGS,
            USER_NOTIF_FD_SYNC_WAKE_UP as *mut c_void,
        )
    }
    .map(|_| ())
}

/// `poll(2)` one fd for input; returns `revents` (0 on timeout). Retries on EINTR.
pub(crate) fn poll_in(fd: BorrowedFd<'_>, timeout_ms: c_int) -> Result<i16, Errno> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one live `pollfd`.
        let ret = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match check(ret.into()) {
            Ok(0) => return Ok(0),
            Ok(_) => return Ok(pfd.revents),
            Err(Errno(libc::EINTR)) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A connected pair of `AF_UNIX` `SOCK_SEQPACKET` sockets, close-on-exec.
pub(crate) fn socketpair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [-1 as c_int; 2];
    // SAFETY: the kernel writes two fds into a live array of two.
    let ret = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    check(ret.into())?;
    Ok((owned_fd(fds[0]), owned_fd(fds[1])))
}

/// Room for one `SCM_RIGHTS` message carrying one fd, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// `CMSG_SPACE(sizeof(int))`.
fn cmsg_space_one_fd() -> usize {
    // SAFETY: pure arithmetic on a constant.
    unsafe { libc::CMSG_SPACE(std::mem::size_of::<c_int>() as c_uint) as usize }
}

/// Send `data` with `fd` attached as `SCM_RIGHTS` in one `sendmsg`. Blocks like `sendmsg`;
/// returns the bytes of `data` sent. No allocation: safe between fork and exec.
fn sendmsg_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> Result<usize, Errno> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: `msghdr` is plain data (some libcs add private padding fields): zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg_space_one_fd() as _;
    // SAFETY: `msg` describes `cbuf`, which has room for one cmsghdr plus one int
    // (CMSG_SPACE(4) <= 64) and is aligned for cmsghdr; CMSG_FIRSTHDR is non-null because
    // msg_controllen >= sizeof(cmsghdr). The kernel only reads `data` through `iov` (the
    // cast to a mutable pointer is what the C struct's type asks for); `iov`, `data` and
    // `cbuf` outlive the call.
    let ret = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<c_int>() as c_uint) as _;
        ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<c_int>(), fd);
        libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL)
    };
    check(ret as c_long).map(|n| n as usize)
}

/// Send `fd` over the socket `sock` as `SCM_RIGHTS`, with one byte of data. No
/// allocation: safe between fork and exec.
pub(crate) fn send_fd(sock: RawFd, fd: RawFd) -> Result<(), Errno> {
    sendmsg_with_fd(sock, &[0], fd).map(|_| ())
}

/// Receive one fd sent by [`send_fd`], without blocking (`EAGAIN` if nothing is queued).
/// The fd arrives close-on-exec.
pub(crate) fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut byte = [0u8; 1];
    let (n, fds) = recvmsg_with_fds(sock, &mut byte, libc::MSG_DONTWAIT)?;
    if n == 0 {
        // The other end closed without sending anything.
        return Err(Errno(libc::EPIPE));
    }
    fds.into_iter().next().ok_or(Errno(libc::EBADMSG))
}

/// Room for an `SCM_RIGHTS` message carrying up to 32 fds (`CMSG_SPACE(32 * 4)` is 144).
#[repr(C, align(8))]
struct CmsgBufMany([u8; 256]);

// The OCI handoff (kernel/handoff.rs) is built with the `profiles` feature.
#[cfg(feature = "profiles")]
/// Send `data` with `fd` attached as `SCM_RIGHTS` in one `sendmsg` (what an OCI runtime
/// does for a seccomp agent). Blocks like `sendmsg`; returns the bytes of `data` sent.
pub(crate) fn send_with_fd(
    sock: BorrowedFd<'_>,
    data: &[u8],
    fd: BorrowedFd<'_>,
) -> Result<usize, Errno> {
    sendmsg_with_fd(sock.as_raw_fd(), data, fd.as_raw_fd())
}

// The OCI handoff (kernel/handoff.rs) is built with the `profiles` feature.
#[cfg(feature = "profiles")]
/// Receive bytes into `buf` and every fd attached to them (`SCM_RIGHTS`, close-on-exec),
/// blocking. Returns the byte count (0 at end of stream) and the fds; fds beyond
/// 32 in one message are closed by the kernel (`MSG_CTRUNC`).
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
) -> Result<(usize, Vec<OwnedFd>), Errno> {
    recvmsg_with_fds(sock, buf, 0)
}

/// `recvmsg(sock, flags | MSG_CMSG_CLOEXEC)` into `buf`, retried on EINTR: the byte count
/// and every fd attached (`SCM_RIGHTS`). Allocates.
fn recvmsg_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: c_int,
) -> Result<(usize, Vec<OwnedFd>), Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBufMany([0; 256]);
    // SAFETY: plain data, zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len() as _;
    let n = loop {
        // SAFETY: `msg` describes live buffers of the stated sizes.
        let ret =
            unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, flags | libc::MSG_CMSG_CLOEXEC) };
        match check(ret as c_long) {
            Err(Errno(libc::EINTR)) => continue,
            r => break r? as usize,
        }
    };
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `msg.msg_control` with well-formed cmsgs up to
    // `msg_controllen`; CMSG_FIRSTHDR/CMSG_NXTHDR stay inside it; an SCM_RIGHTS message
    // holds (cmsg_len - CMSG_LEN(0)) / sizeof(int) fds, each now ours to close.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let payload = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(cmsg).cast::<c_int>();
                for i in 0..payload / std::mem::size_of::<c_int>() {
                    fds.push(owned_fd(ptr::read_unaligned(data.add(i))));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n, fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn small_proc_files_are_read_whole() {
        // /proc/self/status says its size is 0 and is longer than one of std's first reads;
        // its last line is the context-switch count.
        let status = read_small_proc_file("/proc/self/status").unwrap();
        assert!(status.starts_with("Name:"), "{status}");
        assert!(status.len() > 1024, "{status}");
        assert!(status.contains("\nSeccomp:"), "{status}");
        assert!(
            status
                .trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("nonvoluntary_ctxt_switches:"),
            "{status}"
        );
        let err = read_small_proc_file("/proc/self/no-such-file").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn struct_sizes_match_the_uapi() {
        assert_eq!(std::mem::size_of::<RawAddFd>(), 24);
        assert_eq!(std::mem::size_of::<RawNotifSizes>(), 6);
        assert_eq!(
            NOTIF_SIZE,
            std::mem::size_of::<libc::seccomp_notif>(),
            "struct seccomp_notif"
        );
        assert_eq!(
            NOTIF_RESP_SIZE,
            std::mem::size_of::<libc::seccomp_notif_resp>()
        );
        assert_eq!(
            std::mem::size_of::<RawAddFd>(),
            std::mem::size_of::<libc::seccomp_notif_addfd>()
        );
        assert_eq!(
            std::mem::size_of::<SockFprog>(),
            std::mem::size_of::<libc::sock_fprog>()
        );
    }

    // The casts are no-ops only on some targets (libc's types differ per target).
    #[allow(clippy::unnecessary_cast)]
    #[test]
    fn ioctl_numbers_match_libc() {
        assert_eq!(
            IOCTL_NOTIF_RECV as u64,
            libc::SECCOMP_IOCTL_NOTIF_RECV as u64
        );
        assert_eq!(
            IOCTL_NOTIF_SEND as u64,
            libc::SECCOMP_IOCTL_NOTIF_SEND as u64
        );
        assert_eq!(
            IOCTL_NOTIF_ID_VALID as u64,
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID as u64
        );
        assert_eq!(
            IOCTL_NOTIF_ADDFD as u64,
            libc::SECCOMP_IOCTL_NOTIF_ADDFD as u64
        );
    }

    /// The values `_IOWR('!', 0, struct seccomp_notif)` etc. expand to with the generic
    /// ioctl encoding (x86, arm, arm64, riscv, s390, loongarch).
    #[test]
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ))]
    fn ioctl_numbers_match_the_header_expansion() {
        assert_eq!(IOCTL_NOTIF_RECV, 0xc050_2100);
        assert_eq!(IOCTL_NOTIF_SEND, 0xc018_2101);
        assert_eq!(IOCTL_NOTIF_ID_VALID, 0x4008_2102);
        assert_eq!(IOCTL_NOTIF_ADDFD, 0x4018_2103);
        assert_eq!(IOCTL_NOTIF_SET_FLAGS, 0x4008_2104);
    }

    #[allow(clippy::unnecessary_cast)]
    #[test]
    fn op_values_match_libc() {
        assert_eq!(op::SET_MODE_FILTER, libc::SECCOMP_SET_MODE_FILTER);
        assert_eq!(op::GET_ACTION_AVAIL, libc::SECCOMP_GET_ACTION_AVAIL);
        assert_eq!(op::GET_NOTIF_SIZES, libc::SECCOMP_GET_NOTIF_SIZES);
        assert_eq!(MODE_FILTER, libc::SECCOMP_MODE_FILTER as c_ulong);
        assert_eq!(
            u64::from(USER_NOTIF_FLAG_CONTINUE),
            libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u64
        );
        assert_eq!(
            u64::from(ADDFD_FLAG_SETFD),
            libc::SECCOMP_ADDFD_FLAG_SETFD as u64
        );
        assert_eq!(
            u64::from(ADDFD_FLAG_SEND),
            libc::SECCOMP_ADDFD_FLAG_SEND as u64
        );
    }

    #[test]
    fn an_fd_crosses_a_socketpair() {
        use std::io::{Read, Write};
        use std::os::unix::net::UnixStream;
        let (a, b) = socketpair().unwrap();
        let (mut near, far) = UnixStream::pair().unwrap();
        send_fd(a.as_raw_fd(), far.as_raw_fd()).unwrap();
        let got = recv_fd(b.as_fd()).unwrap();
        assert_ne!(got.as_raw_fd(), far.as_raw_fd());
        drop(far);
        let mut got = UnixStream::from(got);
        got.write_all(b"x").unwrap();
        drop(got);
        let mut s = String::new();
        near.read_to_string(&mut s).unwrap();
        assert_eq!(s, "x");
        // Nothing more queued: EAGAIN, not a hang.
        assert_eq!(recv_fd(b.as_fd()).unwrap_err(), Errno(libc::EAGAIN));
    }
}
