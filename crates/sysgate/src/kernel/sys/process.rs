//! Processes: `fork`, `clone(CLONE_VM | CLONE_VFORK)` on a stack of its own, `execve`,
//! `execvp`, `_exit`, `waitpid`, `kill`, pidfds, pipes and the parent-death signal.
//!
//! The functions a child calls between `fork` (or `clone`) and `exec` make raw system
//! calls only: no allocation, no locks. Which steps a child takes, and in what order, is
//! [`crate::kernel::spawn`]'s business, not this file's.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr;

use super::{check, owned_fd, Errno};

/// `fork(2)`. Returns 0 in the child.
///
/// The child of a multithreaded process may only make async-signal-safe calls until it
/// executes a program or exits: every caller's child makes raw system calls only.
pub(crate) fn fork() -> Result<i32, Errno> {
    // SAFETY: fork has no memory-safety preconditions; what the child may do afterwards is
    // the caller's contract (see above), which every caller in this crate keeps.
    check(unsafe { libc::fork() }.into()).map(|p| p as i32)
}

/// The entry point of a [`clone_vfork`] child: gets the argument back, returns the exit
/// status (it normally executes a program or calls [`exit_now`] instead).
pub(crate) type ChildMain = extern "C" fn(*mut c_void) -> c_int;

/// The child's stack: `execvp` needs a path buffer and the install a few frames.
const CHILD_STACK: usize = 256 * 1024;

/// `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)`: run `main(arg)` in a child that shares this
/// process's memory, on a stack of its own, while the calling thread is suspended until the
/// child has executed a program or exited. Returns the child's pid.
///
/// # Safety
/// `main` must only make raw, async-signal-safe system calls and may only touch `arg` and
/// data it points to, which must stay valid until this function returns. No signal handler
/// of the parent may run in the child: block every signal around the call, and reset the
/// caught ones in the child before unblocking any.
pub(crate) unsafe fn clone_vfork(main: ChildMain, arg: *mut c_void) -> Result<i32, Errno> {
    let stack = ChildStack::new()?;
    // SAFETY: the caller's contract covers `main` and `arg`; with CLONE_VFORK this thread
    // is suspended until the child has called execve successfully or exited, and the stack
    // stays mapped until `stack` is dropped after that.
    let pid = unsafe {
        libc::clone(
            main,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            arg,
        )
    };
    check(pid.into()).map(|p| p as i32)
}

/// A [`clone_vfork`] child's stack: an anonymous mapping with a guard page at its low end.
struct ChildStack {
    base: *mut c_void,
}

impl ChildStack {
    fn new() -> Result<ChildStack, Errno> {
        // SAFETY: a fresh private anonymous mapping; the kernel picks the address.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                CHILD_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let stack = ChildStack { base };
        // SAFETY: the lowest page of the mapping just made: an overflow faults instead of
        // writing below the stack.
        if unsafe { libc::mprotect(base, page_size(), libc::PROT_NONE) } != 0 {
            return Err(Errno::last());
        }
        Ok(stack)
    }

    /// The highest address: stacks grow down on every architecture sysgate runs on.
    fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of the mapping, 16-byte aligned (page aligned).
        unsafe { self.base.cast::<u8>().add(CHILD_STACK).cast() }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; the child no longer runs on it.
        unsafe { libc::munmap(self.base, CHILD_STACK) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf with a valid name.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// `execve(path, argv, envp)`; returns only on failure.
///
/// `argv` and `envp` are NULL-terminated arrays of pointers to NUL-terminated strings that
/// stay alive until the program replaces this one (built before the fork).
pub(crate) fn execve(path: &CStr, argv: &[*const c_char], envp: &[*const c_char]) -> Errno {
    assert_null_terminated(argv);
    assert_null_terminated(envp);
    // SAFETY: `path` is NUL-terminated; the arrays are NULL-terminated (checked above)
    // arrays of pointers to NUL-terminated strings, alive as the function's contract asks.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// `execvp(program, argv)`: `program` looked up in `PATH` unless it holds a `/`; returns
/// only on failure. `argv` as for [`execve`].
pub(crate) fn execvp(program: &CStr, argv: &[*const c_char]) -> Errno {
    assert_null_terminated(argv);
    // SAFETY: as for `execve`.
    unsafe { libc::execvp(program.as_ptr(), argv.as_ptr()) };
    Errno::last()
}

/// An argument or environment array ends with NULL (no allocation, no formatting: the
/// check runs in a child between fork and exec, and a failure ends it at once).
fn assert_null_terminated(array: &[*const c_char]) {
    if !array.last().is_some_and(|p| p.is_null()) {
        exit_now(127);
    }
}

/// `_exit(status)`: end the process without running exit handlers or destructors, which
/// must not run in a forked child.
pub(crate) fn exit_now(status: c_int) -> ! {
    // SAFETY: `_exit` has no preconditions and does not return.
    unsafe { libc::_exit(status) }
}

/// `waitpid(pid, flags)`: the pid that changed (0 with `WNOHANG` if none) and its wait
/// status. EINTR is returned, not retried.
pub(crate) fn waitpid(pid: i32, flags: c_int) -> Result<(i32, c_int), Errno> {
    let mut status: c_int = 0;
    // SAFETY: the kernel writes the status into a live int.
    let got = unsafe { libc::waitpid(pid, &mut status, flags) };
    check(got.into()).map(|p| (p as i32, status))
}

/// [`waitpid`], retried when a signal interrupts it.
pub(crate) fn wait_retrying(pid: i32, flags: c_int) -> Result<(i32, c_int), Errno> {
    loop {
        match waitpid(pid, flags) {
            Err(Errno(libc::EINTR)) => continue,
            other => return other,
        }
    }
}

/// `kill(pid, sig)`; errors (the process is gone) are ignored. Async-signal-safe.
pub(crate) fn kill(pid: i32, sig: c_int) {
    // SAFETY: integer arguments only.
    unsafe { libc::kill(pid, sig) };
}

/// `getpid(2)`.
pub(crate) fn getpid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

/// `getppid(2)`.
pub(crate) fn getppid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getppid() }
}

/// `getpgid(pid) == getpgrp()`: whether `pid` is in the caller's process group.
/// Async-signal-safe.
pub(crate) fn in_my_process_group(pid: i32) -> bool {
    // SAFETY: getpgid and getpgrp take plain values and have no preconditions.
    unsafe { libc::getpgid(pid) == libc::getpgrp() }
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: `sig` reaches this process when the thread that
/// created it ends.
pub(crate) fn set_parent_death_signal(sig: c_int) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    check(ret.into()).map(|_| ())
}

/// `pidfd_open(pid, 0)` (Linux 5.3): a descriptor that names the process itself, never a
/// later one that reuses its pid.
pub(crate) fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: integer arguments only.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    Ok(owned_fd(fd as RawFd))
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`. Async-signal-safe.
pub(crate) fn pidfd_send_signal(pidfd: RawFd, sig: c_int) -> Result<(), Errno> {
    // SAFETY: integer arguments and a NULL siginfo, which the kernel fills in itself.
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            ptr::null::<libc::siginfo_t>(),
            0,
        )
    })
    .map(|_| ())
}

/// A copy of file descriptor `fd` of process `pid` (`pidfd_open` + `pidfd_getfd`, Linux
/// 5.6; the same permission as ptrace).
pub(crate) fn take_fd(pid: i32, fd: i32) -> Result<OwnedFd, Errno> {
    let pidfd = pidfd_open(pid)?;
    // SAFETY: integer arguments only.
    let copy = check(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) })?;
    Ok(owned_fd(copy as RawFd))
}

/// A pipe whose ends are closed on exec.
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: the kernel writes two fds into a live array of two.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }.into())?;
    Ok((owned_fd(fds[0]), owned_fd(fds[1])))
}

/// Write all of `bytes`, retrying on EINTR. No allocation.
pub(crate) fn write_all(fd: BorrowedFd<'_>, bytes: &[u8]) -> Result<(), Errno> {
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: the pointer and length describe the live rest of `bytes`.
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        match check(n as libc::c_long) {
            Ok(n) => done += n as usize,
            Err(Errno(libc::EINTR)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Read up to `buf.len()` bytes, retrying on EINTR; 0 at end of file. No allocation.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into the live buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match check(n as libc::c_long) {
            Ok(n) => return Ok(n as usize),
            Err(Errno(libc::EINTR)) => {}
            Err(e) => return Err(e),
        }
    }
}
