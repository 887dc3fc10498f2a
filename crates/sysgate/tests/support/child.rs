//! One syscall under a filter, in a forked child (never in the test runner): install the
//! program, make the call, report what the kernel did through a pipe.

use std::time::{Duration, Instant};

use sysgate::bpf::Program;

/// What happened to the child's syscall.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `seccomp(SECCOMP_SET_MODE_FILTER)` refused the program with this errno.
    Refused(i32),
    /// The syscall returned this value.
    Returned(i64),
    /// The syscall failed with this errno.
    Errno(i32),
    /// SIGSYS reached the child's handler with this si_syscall and si_arch (only when the
    /// child catches SIGSYS).
    Trapped { syscall: i32, arch: u32 },
    /// The child died of this signal.
    Killed(i32),
}

/// Where the child's SIGSYS handler writes.
static mut REPORT_FD: libc::c_int = -1;

/// A report: a tag byte and 12 bytes of values.
const REPORT: usize = 13;

/// SIGSYS handler in the child: report si_syscall and si_arch, and leave. Async-signal-safe.
#[cfg(target_arch = "x86_64")]
extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: `info` is the kernel's siginfo for SIGSYS; on x86_64 the SIGSYS fields follow
    // the 16-byte header: void *_call_addr; int _syscall; unsigned int _arch.
    unsafe {
        let base = info as *const u8;
        let syscall = std::ptr::read_unaligned(base.add(24) as *const i32);
        let arch = std::ptr::read_unaligned(base.add(28) as *const u32);
        let mut msg = [0u8; REPORT];
        msg[0] = b'T';
        msg[1..5].copy_from_slice(&syscall.to_ne_bytes());
        msg[5..9].copy_from_slice(&arch.to_ne_bytes());
        libc::write(REPORT_FD, msg.as_ptr().cast(), msg.len());
        libc::_exit(0);
    }
}

/// Install `program` in a forked child (after no_new_privs), call `nr(args)`, report. With
/// `catch_sigsys` (x86_64 only) a TRAP is reported as [`Outcome::Trapped`] instead of
/// killing the child.
pub fn run_in_child(program: &Program, nr: i64, args: [u64; 6], catch_sigsys: bool) -> Outcome {
    let mut filter: Vec<libc::sock_filter> = program
        .insns()
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    let mut fds = [0; 2];
    // SAFETY: a valid out-array of two ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: the child makes only raw syscalls and async-signal-safe calls, then _exit; it
    // never allocates or returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: see above; `fprog` and `filter` live in the child's copy of memory.
        unsafe {
            REPORT_FD = wr;
            #[cfg(target_arch = "x86_64")]
            if catch_sigsys {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_sigsys as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO;
                libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = catch_sigsys;
            let report = |tag: u8, value: i64| {
                let mut msg = [0u8; REPORT];
                msg[0] = tag;
                msg[1..9].copy_from_slice(&value.to_ne_bytes());
                libc::write(wr, msg.as_ptr().cast(), msg.len());
                libc::_exit(0);
            };
            let errno = || i64::from(*libc::__errno_location());
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                report(b'N', errno());
            }
            if libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const libc::sock_fprog) != 0 {
                report(b'S', errno());
            }
            let rc = libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
            if rc < 0 {
                report(b'E', errno());
            }
            report(b'R', rc as i64);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(wr) };
    let status = wait(pid);
    let mut msg = [0u8; REPORT];
    // SAFETY: reading into a live buffer from the pipe we own, then closing it.
    let n = unsafe { libc::read(rd, msg.as_mut_ptr().cast(), msg.len()) };
    // SAFETY: closing the read end, which nothing uses afterwards.
    unsafe { libc::close(rd) };
    if libc::WIFSIGNALED(status) {
        return Outcome::Killed(libc::WTERMSIG(status));
    }
    assert_eq!(
        n, REPORT as isize,
        "child reported nothing (status {status:#x})"
    );
    let i32_at = |o: usize| i32::from_ne_bytes(msg[o..o + 4].try_into().unwrap());
    let value = i64::from_ne_bytes(msg[1..9].try_into().unwrap());
    match msg[0] {
        b'R' => Outcome::Returned(value),
        b'E' => Outcome::Errno(value as i32),
        b'S' => Outcome::Refused(value as i32),
        b'T' => Outcome::Trapped {
            syscall: i32_at(1),
            arch: i32_at(5) as u32,
        },
        b'N' => panic!("prctl(PR_SET_NO_NEW_PRIVS) failed: errno {value}"),
        t => panic!("unexpected report {t}"),
    }
}

/// Reap `pid`, killing it after 30 s.
fn wait(pid: libc::pid_t) -> libc::c_int {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    loop {
        // SAFETY: our own child; `status` is a live out-parameter.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            return status;
        }
        if Instant::now() >= deadline {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("child {pid} hung");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
