//! Reading back the filters a running thread runs under (`PTRACE_SECCOMP_GET_FILTER`).
//!
//! This file owns the dance around the request: attach with `PTRACE_SEIZE` (which does not
//! stop the process), stop it with `PTRACE_INTERRUPT`, read every filter index until the
//! kernel says there is none, and detach, which lets the process run on as before (a
//! signal that arrived meanwhile is delivered). It also says why reading failed, in words.
//! It does not decompile or disassemble what it reads: the programs are handed back as
//! [`Program`]s for [`crate::bpf`] and the decompiler (`verify::decompile`).
//!
//! The kernel shows filters only to a caller with CAP_SYS_ADMIN that does not itself run
//! under seccomp, and only with CONFIG_CHECKPOINT_RESTORE (which keeps each filter's
//! original instructions). Filters belong to a thread: a process id names its main thread.

use crate::arch::Arch;
use crate::bpf::Program;

use super::sys::ptrace::{self, TraceeStop};
use super::sys::{self, Errno};

/// Why the filters of a process could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// No such process (or thread).
    #[error("no process {pid}")]
    NoSuchProcess {
        /// The process id.
        pid: u32,
    },
    /// The kernel refused to let sysgate trace the process.
    #[error(
        "not allowed to trace process {pid}: run as root (CAP_SYS_PTRACE and CAP_SYS_ADMIN); \
         check that no other tracer (strace, gdb) is attached and that Yama \
         (/proc/sys/kernel/yama/ptrace_scope, now {yama}) allows it"
    )]
    NotPermitted {
        /// The process id.
        pid: u32,
        /// The Yama `ptrace_scope` setting, or "absent".
        yama: String,
    },
    /// The kernel refused to show the filters (no CAP_SYS_ADMIN, or sysgate itself runs
    /// under a seccomp filter).
    #[error(
        "the kernel refuses to show the filters of process {pid}: reading them needs \
         CAP_SYS_ADMIN, and sysgate must not itself run under seccomp{}",
        if *.self_filtered { " (it does: see Seccomp: in /proc/self/status)" } else { "" }
    )]
    NotAllowedToRead {
        /// The process id.
        pid: u32,
        /// Whether sysgate itself runs under a filter.
        self_filtered: bool,
    },
    /// The kernel has no `PTRACE_SECCOMP_GET_FILTER` (built without
    /// CONFIG_CHECKPOINT_RESTORE, or older than 4.4) or does not keep the filters' text.
    #[error(
        "this kernel cannot show seccomp filters (PTRACE_SECCOMP_GET_FILTER needs Linux 4.4 \
         and CONFIG_CHECKPOINT_RESTORE; errno {errno})"
    )]
    Unsupported {
        /// The kernel's errno.
        errno: i32,
    },
    /// The process runs under no filter.
    #[error("process {pid} runs under no seccomp filter")]
    NoFilter {
        /// The process id.
        pid: u32,
    },
    /// The process runs in seccomp strict mode (read, write, exit, sigreturn only), which
    /// has no filter to show.
    #[error("process {pid} runs in seccomp strict mode (read, write, _exit and sigreturn only), not under a filter")]
    StrictMode {
        /// The process id.
        pid: u32,
    },
    /// The process has exited and its parent has not reaped it yet: nothing runs, and the
    /// kernel lets nobody trace it.
    #[error(
        "process {pid} has exited (a zombie its parent has not reaped): it runs no filter any \
         more"
    )]
    Zombie {
        /// The process id.
        pid: u32,
    },
    /// The process ended while it was being read.
    #[error("process {pid} exited while its filters were being read")]
    Exited {
        /// The process id.
        pid: u32,
    },
    /// Any other failure of a `ptrace` or `waitpid` call.
    #[error("{call} on process {pid}: {source}")]
    Os {
        /// The process id.
        pid: u32,
        /// The call.
        call: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// The filters thread `pid` runs under, in the order they were installed (the kernel runs
/// the last one first). The thread is stopped for the time it takes to read them and then
/// runs on unchanged.
pub fn read_filters(pid: u32) -> Result<Vec<Program>, DumpError> {
    let id = i32::try_from(pid).map_err(|_| DumpError::NoSuchProcess { pid })?;
    if id <= 0 {
        return Err(DumpError::NoSuchProcess { pid });
    }
    let os = |call: &'static str, e: Errno| DumpError::Os {
        pid,
        call,
        source: e.into(),
    };
    ptrace::seize(id, 0).map_err(|e| match e.0 {
        libc::ESRCH => DumpError::NoSuchProcess { pid },
        // The kernel refuses to trace a zombie with the same EPERM as a lack of rights.
        libc::EPERM if process_state(pid) == Some('Z') => DumpError::Zombie { pid },
        libc::EPERM => DumpError::NotPermitted {
            pid,
            yama: sys::read_small_proc_file("/proc/sys/kernel/yama/ptrace_scope")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "absent".into()),
        },
        _ => os("PTRACE_SEIZE", e),
    })?;
    let read = read_while_attached(pid, id);
    // Detach whatever happened; a tracee that is gone needs nothing.
    match read {
        Ok((filters, stop)) => {
            let sig = match stop {
                TraceeStop::Signal(s) => s,
                _ => 0,
            };
            match ptrace::detach(id, sig) {
                Ok(()) | Err(Errno(libc::ESRCH)) => Ok(filters),
                Err(e) => Err(os("PTRACE_DETACH", e)),
            }
        }
        Err((e, stop)) => {
            if let Some(stop) = stop {
                let sig = match stop {
                    TraceeStop::Signal(s) => s,
                    _ => 0,
                };
                let _ = ptrace::detach(id, sig);
            } else {
                // Never stopped: detaching a running tracee fails, so interrupt and wait
                // first (best effort; the tracer's exit detaches it too).
                if ptrace::interrupt(id).is_ok() {
                    if let Ok(TraceeStop::Event | TraceeStop::Signal(_)) = ptrace::wait_tracee(id) {
                        let _ = ptrace::detach(id, 0);
                    }
                }
            }
            Err(e)
        }
    }
}

type Attached = (Vec<Program>, TraceeStop);

fn read_while_attached(pid: u32, id: i32) -> Result<Attached, (DumpError, Option<TraceeStop>)> {
    let os = |call: &'static str, e: Errno| DumpError::Os {
        pid,
        call,
        source: e.into(),
    };
    ptrace::interrupt(id).map_err(|e| (os("PTRACE_INTERRUPT", e), None))?;
    let stop = ptrace::wait_tracee(id).map_err(|e| (os("waitpid", e), None))?;
    if stop == TraceeStop::Gone {
        return Err((DumpError::Exited { pid }, None));
    }
    let endian = Arch::native().endian();
    // Index 0 is the filter installed first (the kernel counts back from the newest).
    let mut filters = Vec::new();
    for index in 0.. {
        match ptrace::seccomp_get_filter(id, index) {
            Ok(insns) => filters.push(Program::new(insns, endian)),
            Err(Errno(libc::ENOENT)) => break,
            Err(e) => {
                let err = match e.0 {
                    libc::EINVAL if index == 0 => match seccomp_mode(pid) {
                        Some(1) => DumpError::StrictMode { pid },
                        Some(0) => DumpError::NoFilter { pid },
                        _ => DumpError::Unsupported { errno: e.0 },
                    },
                    libc::EACCES => DumpError::NotAllowedToRead {
                        pid,
                        self_filtered: seccomp_mode(std::process::id()).is_some_and(|m| m != 0),
                    },
                    libc::EIO | libc::EMEDIUMTYPE => DumpError::Unsupported { errno: e.0 },
                    libc::ESRCH => DumpError::Exited { pid },
                    _ => os("PTRACE_SECCOMP_GET_FILTER", e),
                };
                return Err((err, Some(stop)));
            }
        }
    }
    Ok((filters, stop))
}

/// The `State:` letter of /proc/PID/status (`Z` for a zombie).
fn process_state(pid: u32) -> Option<char> {
    let status = sys::read_small_proc_file(&format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .and_then(|v| v.trim().chars().next())
}

/// The `Seccomp:` field of /proc/PID/status: 0 none, 1 strict, 2 filter.
fn seccomp_mode(pid: u32) -> Option<u32> {
    let status = sys::read_small_proc_file(&format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zombie used to be reported as "not allowed to trace it: run as root", to root.
    #[test]
    fn a_zombie_is_named_as_one() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Wait for it to exit without reaping it.
        while process_state(pid) != Some('Z') {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let e = read_filters(pid).unwrap_err();
        child.wait().unwrap();
        assert!(matches!(e, DumpError::Zombie { .. }), "{e}");
        assert!(e.to_string().contains("has exited (a zombie"), "{e}");
    }

    #[test]
    fn a_missing_process_is_named() {
        // Pid numbers stop at 2^22; this one cannot exist.
        let e = read_filters(0x7fff_fff0).unwrap_err();
        assert!(matches!(e, DumpError::NoSuchProcess { .. }), "{e}");
        assert_eq!(e.to_string(), "no process 2147483632");
        assert!(matches!(
            read_filters(0),
            Err(DumpError::NoSuchProcess { pid: 0 })
        ));
    }
}
