//! The raw system calls of the tracer: `fork`, `ptrace`, `waitpid`, `kill`, pipes, `execve`
//! and the signal handlers that forward signals to the traced program.
//!
//! Every `unsafe` block of [`super`] lives here, each in a wrapper that takes and returns
//! plain Rust values. The functions the child calls between `fork` and `exec`
//! ([`child_wait_for_seize`], [`reset_child_signals`], [`exec`], [`report_and_exit`]) make
//! raw system calls only: no allocation, no locks.

use std::ffi::{c_char, c_int, c_long, c_void, CStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

// One errno type and return-value check for every raw wrapper of the crate.
pub(crate) use crate::kernel::sys::{check, Errno};

/// `ptrace` requests and options this tracer uses (include/uapi/linux/ptrace.h).
pub(crate) mod pt {
    use std::ffi::c_uint;
    pub const CONT: c_uint = 7;
    pub const SYSCALL: c_uint = 24;
    pub const INTERRUPT: c_uint = 0x4207;
    pub const GETEVENTMSG: c_uint = 0x4201;
    pub const SEIZE: c_uint = 0x4206;
    pub const LISTEN: c_uint = 0x4208;
    pub const GET_SYSCALL_INFO: c_uint = 0x420e;

    pub const O_TRACESYSGOOD: usize = 0x01;
    pub const O_TRACEFORK: usize = 0x02;
    pub const O_TRACEVFORK: usize = 0x04;
    pub const O_TRACECLONE: usize = 0x08;
    pub const O_TRACEEXEC: usize = 0x10;
    pub const O_TRACESECCOMP: usize = 0x80;
    pub const O_EXITKILL: usize = 0x0010_0000;

    pub const EVENT_FORK: i32 = 1;
    pub const EVENT_VFORK: i32 = 2;
    pub const EVENT_CLONE: i32 = 3;
    pub const EVENT_EXEC: i32 = 4;
    pub const EVENT_SECCOMP: i32 = 7;
    pub const EVENT_STOP: i32 = 128;

    /// `PTRACE_SYSCALL_INFO_ENTRY`.
    pub const INFO_ENTRY: u8 = 1;
    /// `PTRACE_SYSCALL_INFO_SECCOMP`.
    pub const INFO_SECCOMP: u8 = 3;
}

/// `fork(2)`. Returns 0 in the child.
pub(crate) fn fork() -> Result<i32, Errno> {
    // SAFETY: the child only makes raw system calls until it executes or exits (see the
    // callers in `trace.rs`), which is what a fork from a multithreaded process allows.
    check(unsafe { libc::fork() }.into()).map(|p| p as i32)
}

/// A pipe whose ends are closed on exec.
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: the kernel writes two fds into a live array of two.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }.into())?;
    // SAFETY: both fds were just created for this caller and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Write all of `bytes` (used by the parent, and by the child for its 4-byte report).
pub(crate) fn write_all(fd: RawFd, bytes: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < bytes.len() {
        // SAFETY: the pointer and length describe the live rest of `bytes`.
        let n = unsafe {
            libc::write(
                fd,
                bytes[done..].as_ptr() as *const c_void,
                bytes.len() - done,
            )
        };
        match n {
            n if n > 0 => done += n as usize,
            _ if Errno::last().0 == libc::EINTR => {}
            _ => return Err(Errno::last()),
        }
    }
    Ok(())
}

/// Read up to `buf.len()` bytes, retrying on EINTR; 0 at end of file.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into the live buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        if Errno::last().0 != libc::EINTR {
            return Err(Errno::last());
        }
    }
}

/// In the child: wait until the parent has attached (it writes one byte on `fd`).
/// Returns false if the parent gave up (end of file).
pub(crate) fn child_wait_for_seize(fd: RawFd) -> bool {
    let mut b = [0u8; 1];
    matches!(read(fd, &mut b), Ok(1))
}

/// In the child: give the program what `std::process::Command` gives it: SIGPIPE at its
/// default (Rust ignores it in its own process) and no blocked signals.
pub(crate) fn reset_child_signals() {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it; sigprocmask and signal
    // are async-signal-safe and take only these values.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// In the child: `execve(path, argv, envp)`; returns only on failure.
pub(crate) fn exec(path: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()));
    debug_assert!(envp.last().is_some_and(|p| p.is_null()));
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NULL-terminated arrays of
    // pointers to NUL-terminated strings that the parent built before forking and that
    // live until exec replaces the image.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// In the child: send the failed `stage` and `errno` to the parent on `fd` (8 bytes) and
/// exit with status 127.
pub(crate) fn report_and_exit(fd: RawFd, stage: u32, errno: i32) -> ! {
    let s = stage.to_ne_bytes();
    let e = errno.to_ne_bytes();
    let _ = write_all(fd, &[s[0], s[1], s[2], s[3], e[0], e[1], e[2], e[3]]);
    // SAFETY: `_exit` ends the process without running atexit handlers or destructors,
    // which must not run in a forked child.
    unsafe { libc::_exit(127) }
}

fn ptrace(req: std::ffi::c_uint, pid: i32, addr: usize, data: usize) -> Result<c_long, Errno> {
    // SAFETY: every request used here takes integers, or (GETEVENTMSG, GET_SYSCALL_INFO)
    // a pointer to a live buffer of the size the caller passes; see the wrappers.
    check(unsafe {
        libc::ptrace(
            req,
            pid as libc::pid_t,
            addr as *mut c_void,
            data as *mut c_void,
        )
    })
}

/// `PTRACE_SEIZE` with these options.
pub(crate) fn seize(pid: i32, options: usize) -> Result<(), Errno> {
    ptrace(pt::SEIZE, pid, 0, options).map(|_| ())
}

/// `PTRACE_CONT`, delivering `sig` (0 for none); with `syscall_stops`, `PTRACE_SYSCALL`
/// (stop again at the next syscall entry or exit).
pub(crate) fn cont(pid: i32, sig: i32, syscall_stops: bool) -> Result<(), Errno> {
    let request = if syscall_stops { pt::SYSCALL } else { pt::CONT };
    ptrace(request, pid, 0, sig as usize).map(|_| ())
}

/// `PTRACE_INTERRUPT`: stop a seized tracee (it reports a `PTRACE_EVENT_STOP`).
pub(crate) fn interrupt(pid: i32) -> Result<(), Errno> {
    ptrace(pt::INTERRUPT, pid, 0, 0).map(|_| ())
}

/// `PTRACE_LISTEN`: leave a tracee in group-stop but report when it is continued.
pub(crate) fn listen(pid: i32) -> Result<(), Errno> {
    ptrace(pt::LISTEN, pid, 0, 0).map(|_| ())
}

/// `PTRACE_GETEVENTMSG`.
pub(crate) fn event_msg(pid: i32) -> Result<u64, Errno> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY (of the pointer): the kernel writes one unsigned long into `msg`.
    ptrace(
        pt::GETEVENTMSG,
        pid,
        0,
        &mut msg as *mut libc::c_ulong as usize,
    )?;
    Ok(msg as u64)
}

/// What `PTRACE_GET_SYSCALL_INFO` says at a seccomp stop.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SeccompInfo {
    pub arch: u32,
    pub nr: u32,
    pub args: [u64; 6],
}

/// `PTRACE_GET_SYSCALL_INFO` at a `PTRACE_EVENT_SECCOMP` stop: the audit arch token, the
/// number (with the x32 bit, if any) and the six arguments, in one call.
///
/// `struct ptrace_syscall_info` is 88 bytes: `op` (u8), padding, `flags` (u16), `arch`
/// (u32), the instruction and stack pointers (u64 each), then for a seccomp stop `nr`
/// (u64), `args[6]` (u64) and `ret_data` (u32).
pub(crate) fn seccomp_info(pid: i32) -> Result<SeccompInfo, Errno> {
    let mut buf = [0u64; 11];
    let size = std::mem::size_of_val(&buf);
    // SAFETY (of the pointer): the kernel writes at most `size` bytes into `buf`.
    ptrace(pt::GET_SYSCALL_INFO, pid, size, buf.as_mut_ptr() as usize)?;
    let head = buf[0].to_ne_bytes();
    // A syscall-entry stop lays out the number and arguments as a seccomp stop does; a
    // syscall-exit stop has none.
    if head[0] != pt::INFO_SECCOMP && head[0] != pt::INFO_ENTRY {
        return Err(Errno(libc::EINVAL));
    }
    Ok(SeccompInfo {
        arch: u32::from_ne_bytes([head[4], head[5], head[6], head[7]]),
        nr: buf[3] as u32,
        args: [buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]],
    })
}

/// `waitpid(-1, __WALL | __WNOTHREAD)`: the next change of any child or tracee of the
/// calling thread (and of no other thread). EINTR is returned, not retried.
pub(crate) fn wait_any() -> Result<(i32, i32), Errno> {
    let mut status: c_int = 0;
    // SAFETY: the kernel writes the status into a live int.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::__WNOTHREAD) };
    check(pid.into()).map(|p| (p as i32, status))
}

/// `waitpid(pid, 0)`, reaping a child that was never traced (after a failed seize).
pub(crate) fn reap(pid: i32) {
    let mut status: c_int = 0;
    // SAFETY: as in `wait_any`.
    unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
}

/// `kill(pid, sig)`; errors (the process is gone) are ignored.
pub(crate) fn kill(pid: i32, sig: i32) {
    // SAFETY: integer arguments only.
    unsafe { libc::kill(pid, sig) };
}

/// The pid signals are forwarded to (0: none).
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
/// The last signal that arrived while nobody could receive it (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);

/// The signals sysgate passes on to the traced program.
pub(crate) const FORWARDED: [c_int; 7] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

extern "C" fn forward(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // A signal the terminal sent (Ctrl-C, a window change) reached the whole foreground
    // process group, the program included: sending it again would deliver it twice. Only
    // signals sent to sysgate alone (kill, a service manager) are passed on.
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    if code == libc::SI_KERNEL {
        PENDING.store(sig, Ordering::SeqCst);
        return;
    }
    match FORWARD_TO.load(Ordering::SeqCst) {
        0 => PENDING.store(sig, Ordering::SeqCst),
        pid => kill(pid, sig),
    }
}

/// Install handlers that pass [`FORWARDED`] signals on to `pid` (async-signal-safe
/// `kill`). They do not restart system calls, so a `waitpid` in progress returns EINTR
/// and the tracer sees [`take_pending_signal`].
pub(crate) fn forward_signals_to(pid: i32) {
    FORWARD_TO.store(pid, Ordering::SeqCst);
    for sig in FORWARDED {
        // SAFETY: `sigaction` is plain data; the handler is an `extern "C"` function with
        // the SA_SIGINFO signature that only touches atomics and calls `kill`.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = forward as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, ptr::null_mut());
        }
    }
}

/// Stop forwarding to a particular pid (the program exited); later signals are left
/// pending for the tracer.
pub(crate) fn forward_signals_to_nobody() {
    FORWARD_TO.store(0, Ordering::SeqCst);
}

/// Put the default handlers back.
pub(crate) fn stop_forwarding_signals() {
    FORWARD_TO.store(0, Ordering::SeqCst);
    for sig in FORWARDED {
        // SAFETY: restoring the default disposition of a catchable signal.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// A signal that arrived while no program could receive it directly, if any.
pub(crate) fn take_pending_signal() -> Option<i32> {
    match PENDING.swap(0, Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The raw fd of an owned one (for the child, which must not run destructors).
pub(crate) fn raw(fd: &OwnedFd) -> RawFd {
    fd.as_raw_fd()
}

/// `close(2)` on a raw fd (the child's copy of the parent's pipe end).
pub(crate) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` in this process and never uses it again.
    unsafe { libc::close(fd) };
}

/// A word of memory shared with a child after `fork` (an anonymous shared mapping that is
/// never unmapped: one page per trace). The child publishes its listener fd in it without
/// a system call, which the listener would intercept.
pub(crate) fn shared_word() -> Result<&'static AtomicI32, Errno> {
    // SAFETY: a fresh anonymous mapping of one page, zero-filled by the kernel; it is never
    // unmapped, so the 'static reference stays valid; AtomicI32 has the layout of an i32
    // and the page is suitably aligned.
    unsafe {
        let p = libc::mmap(
            ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(&*(p as *const AtomicI32))
    }
}

/// A copy of file descriptor `fd` of process `pid` (`pidfd_open` + `pidfd_getfd`, Linux
/// 5.6; the same permission as ptrace).
pub(crate) fn take_fd(pid: i32, fd: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: integer arguments only.
    let pidfd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel just returned `pidfd` to this caller.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    // SAFETY: integer arguments only.
    let copy = check(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })?;
    // SAFETY: the kernel just returned `copy` to this caller.
    Ok(unsafe { OwnedFd::from_raw_fd(copy as RawFd) })
}

/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)` (Linux 6.6): the
/// notifying task and the supervisor hand the CPU to each other instead of waking each
/// other up on other CPUs.
pub(crate) fn notif_sync_wake_up(fd: &OwnedFd) -> Result<(), Errno> {
    // _IOW('!', 4, __u64)
    const SET_FLAGS: libc::c_ulong = (1 << 30) | (8 << 16) | ((b'!' as libc::c_ulong) << 8) | 4;
    const SYNC_WAKE_UP: u64 = 1;
    // SAFETY: the ioctl takes the flags by value; no memory is passed.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), SET_FLAGS as _, SYNC_WAKE_UP) }.into()).map(|_| ())
}

/// `waitpid(pid, 0)` for a child: its wait status.
pub(crate) fn wait_child(pid: i32, nohang: bool) -> Result<Option<i32>, Errno> {
    let mut status: c_int = 0;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: the kernel writes the status into a live int.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        match check(r.into()) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(status)),
            Err(Errno(libc::EINTR)) => continue,
            Err(e) => return Err(e),
        }
    }
}
