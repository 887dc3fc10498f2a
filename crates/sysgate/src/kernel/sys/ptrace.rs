//! `ptrace(2)`: the requests the tracer of `sysgate learn` makes at every stop, and those
//! [`read_filters`](crate::kernel::read_filters) makes to read a running process's filters.
//!
//! One wrapper makes the system call; the others take and return plain values. Deciding
//! what a stop means is the callers' job.

use std::ffi::{c_int, c_long, c_uint, c_void};

use super::{check, Errno};
use crate::bpf::Insn;

/// `ptrace` requests, options and events (include/uapi/linux/ptrace.h).
pub(crate) mod pt {
    use std::ffi::c_uint;
    /// `PTRACE_CONT`.
    pub const CONT: c_uint = 7;
    /// `PTRACE_DETACH`.
    pub const DETACH: c_uint = 17;
    /// `PTRACE_SYSCALL`: continue to the next syscall entry or exit.
    pub const SYSCALL: c_uint = 24;
    /// `PTRACE_GETEVENTMSG`.
    pub const GETEVENTMSG: c_uint = 0x4201;
    /// `PTRACE_SEIZE`: trace without stopping (Linux 3.4).
    pub const SEIZE: c_uint = 0x4206;
    /// `PTRACE_INTERRUPT`: stop a seized tracee.
    pub const INTERRUPT: c_uint = 0x4207;
    /// `PTRACE_LISTEN`: leave a tracee in group-stop, reporting when it is continued.
    pub const LISTEN: c_uint = 0x4208;
    /// `PTRACE_SECCOMP_GET_FILTER` (Linux 4.4, CONFIG_CHECKPOINT_RESTORE).
    pub const SECCOMP_GET_FILTER: c_uint = 0x420c;
    /// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3).
    pub const GET_SYSCALL_INFO: c_uint = 0x420e;

    /// `PTRACE_O_TRACESYSGOOD`: syscall stops report `SIGTRAP | 0x80`.
    pub const O_TRACESYSGOOD: usize = 0x01;
    /// `PTRACE_O_TRACEFORK`.
    pub const O_TRACEFORK: usize = 0x02;
    /// `PTRACE_O_TRACEVFORK`.
    pub const O_TRACEVFORK: usize = 0x04;
    /// `PTRACE_O_TRACECLONE`.
    pub const O_TRACECLONE: usize = 0x08;
    /// `PTRACE_O_TRACEEXEC`.
    pub const O_TRACEEXEC: usize = 0x10;
    /// `PTRACE_O_TRACESECCOMP`: stop at `SECCOMP_RET_TRACE`.
    pub const O_TRACESECCOMP: usize = 0x80;
    /// `PTRACE_O_EXITKILL`: the tracees die with the tracer.
    pub const O_EXITKILL: usize = 0x0010_0000;

    /// `PTRACE_EVENT_FORK`.
    pub const EVENT_FORK: i32 = 1;
    /// `PTRACE_EVENT_VFORK`.
    pub const EVENT_VFORK: i32 = 2;
    /// `PTRACE_EVENT_CLONE`.
    pub const EVENT_CLONE: i32 = 3;
    /// `PTRACE_EVENT_EXEC`.
    pub const EVENT_EXEC: i32 = 4;
    /// `PTRACE_EVENT_SECCOMP`.
    pub const EVENT_SECCOMP: i32 = 7;
    /// `PTRACE_EVENT_STOP`: the stop `PTRACE_INTERRUPT` (or a group stop) reports.
    pub const EVENT_STOP: i32 = 128;

    /// `PTRACE_SYSCALL_INFO_ENTRY`.
    pub const INFO_ENTRY: u8 = 1;
    /// `PTRACE_SYSCALL_INFO_SECCOMP`.
    pub const INFO_SECCOMP: u8 = 3;
}

fn ptrace(req: c_uint, pid: i32, addr: usize, data: usize) -> Result<c_long, Errno> {
    // SAFETY: every request made here takes integers, or (GETEVENTMSG, GET_SYSCALL_INFO,
    // SECCOMP_GET_FILTER) a pointer to a live buffer of the size the wrapper below passes
    // or the kernel said it needs.
    check(unsafe {
        libc::ptrace(
            req,
            pid as libc::pid_t,
            addr as *mut c_void,
            data as *mut c_void,
        )
    })
}

/// `PTRACE_SEIZE` with `options` (`pt::O_*`, 0 for none): become `pid`'s tracer without
/// stopping it.
pub(crate) fn seize(pid: i32, options: usize) -> Result<(), Errno> {
    ptrace(pt::SEIZE, pid, 0, options).map(|_| ())
}

/// `PTRACE_INTERRUPT`: ask a seized tracee to stop (it reports a `PTRACE_EVENT_STOP`).
pub(crate) fn interrupt(pid: i32) -> Result<(), Errno> {
    ptrace(pt::INTERRUPT, pid, 0, 0).map(|_| ())
}

/// `PTRACE_DETACH`, delivering `sig` (0 for none): the tracee runs on.
pub(crate) fn detach(pid: i32, sig: i32) -> Result<(), Errno> {
    ptrace(pt::DETACH, pid, 0, sig as usize).map(|_| ())
}

/// `PTRACE_CONT`, delivering `sig` (0 for none); with `syscall_stops`, `PTRACE_SYSCALL`
/// (stop again at the next syscall entry or exit).
pub(crate) fn cont(pid: i32, sig: i32, syscall_stops: bool) -> Result<(), Errno> {
    let request = if syscall_stops { pt::SYSCALL } else { pt::CONT };
    ptrace(request, pid, 0, sig as usize).map(|_| ())
}

/// `PTRACE_LISTEN`: leave a tracee in group-stop but report when it is continued.
pub(crate) fn listen(pid: i32) -> Result<(), Errno> {
    ptrace(pt::LISTEN, pid, 0, 0).map(|_| ())
}

/// `PTRACE_GETEVENTMSG`.
pub(crate) fn event_msg(pid: i32) -> Result<u64, Errno> {
    let mut msg: libc::c_ulong = 0;
    // The kernel writes one unsigned long into `msg`.
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

/// `PTRACE_GET_SYSCALL_INFO` at a `PTRACE_EVENT_SECCOMP` stop (or a syscall-entry stop):
/// the audit arch token, the number (with the x32 bit, if any) and the six arguments, in
/// one call.
///
/// `struct ptrace_syscall_info` is 88 bytes: `op` (u8), padding, `flags` (u16), `arch`
/// (u32), the instruction and stack pointers (u64 each), then for a seccomp stop `nr`
/// (u64), `args[6]` (u64) and `ret_data` (u32).
pub(crate) fn seccomp_info(pid: i32) -> Result<SeccompInfo, Errno> {
    let mut buf = [0u64; 11];
    let size = std::mem::size_of_val(&buf);
    // The kernel writes at most `size` bytes into `buf`.
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

/// How a tracee reported to `waitpid`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TraceeStop {
    /// Stopped by `PTRACE_INTERRUPT` or in a group stop: detach with no signal.
    Event,
    /// Stopped to receive this signal: detach with it, so that it is delivered.
    Signal(i32),
    /// It exited or was killed.
    Gone,
}

/// `waitpid(pid, __WALL)` for a tracee, retried on EINTR.
pub(crate) fn wait_tracee(pid: i32) -> Result<TraceeStop, Errno> {
    let status: c_int = super::process::wait_retrying(pid, libc::__WALL)?.1;
    if !libc::WIFSTOPPED(status) {
        return Ok(TraceeStop::Gone);
    }
    if status >> 16 == pt::EVENT_STOP {
        return Ok(TraceeStop::Event);
    }
    Ok(TraceeStop::Signal(libc::WSTOPSIG(status)))
}

/// `PTRACE_SECCOMP_GET_FILTER`: the `index`-th filter of a ptrace-stopped tracee, 0 being
/// the one installed first. Needs CAP_SYS_ADMIN, and the caller must not run under seccomp
/// itself. Allocates (not for use between fork and exec).
pub(crate) fn seccomp_get_filter(pid: i32, index: usize) -> Result<Vec<Insn>, Errno> {
    let len = ptrace(pt::SECCOMP_GET_FILTER, pid, index, 0)? as usize;
    let mut raw: Vec<libc::sock_filter> = vec![
        libc::sock_filter {
            code: 0,
            jt: 0,
            jf: 0,
            k: 0,
        };
        len
    ];
    let got = ptrace(
        pt::SECCOMP_GET_FILTER,
        pid,
        index,
        raw.as_mut_ptr() as usize,
    )? as usize;
    raw.truncate(got.min(len));
    Ok(raw
        .iter()
        .map(|f| Insn::new(f.code, f.jt, f.jf, f.k))
        .collect())
}
