//! Forwarding the signals sent to `sysgate run` to the program it runs.
//!
//! SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are blocked in `sysgate` before any
//! thread starts, and one thread takes them with `sigwaitinfo` and sends each to the child
//! (through a pidfd where the kernel has them, so a signal can never reach a recycled pid).
//! Signals the terminal sends (Ctrl-C, Ctrl-\, hang-up) go to the whole foreground process
//! group, the child included, so those are not sent a second time. The child starts with
//! the signal mask `sysgate` had before, and the default dispositions.
//!
//! This file owns signal masks and the forwarding thread; every `unsafe` block of the
//! command's signal handling is here.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::sync::{Arc, Mutex};

use libc::c_int;

/// The signals forwarded to the child.
pub const FORWARDED: [c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Where forwarded signals go: the child's pid, and a pidfd for it when the kernel has
/// them (Linux 5.3).
struct Target {
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
}

#[derive(Default)]
struct State {
    target: Option<Target>,
    /// Signals that arrived before the child existed.
    pending: Vec<c_int>,
}

/// The forwarding thread and the mask it changed.
pub struct Forwarder {
    state: Arc<Mutex<State>>,
    old_mask: libc::sigset_t,
}

fn forwarded_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set; sigaddset takes valid signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for sig in FORWARDED {
            libc::sigaddset(set.as_mut_ptr(), sig);
        }
        set.assume_init()
    }
}

impl Forwarder {
    /// Block the forwarded signals in this thread (call it before starting any other
    /// thread, which inherit the mask) and start the thread that takes them.
    pub fn start() -> io::Result<Forwarder> {
        let set = forwarded_set();
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `set` is initialised and `old` is a live out-parameter.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, old.as_mut_ptr()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: pthread_sigmask succeeded and filled `old`.
        let old_mask = unsafe { old.assume_init() };
        let state = Arc::new(Mutex::new(State::default()));
        let thread_state = state.clone();
        std::thread::Builder::new()
            .name("sysgate-signals".into())
            .spawn(move || loop {
                let mut info = MaybeUninit::<libc::siginfo_t>::uninit();
                // SAFETY: `set` is initialised; `info` is a live out-parameter.
                let sig = unsafe { libc::sigwaitinfo(&set, info.as_mut_ptr()) };
                if sig < 0 {
                    continue; // EINTR
                }
                // SAFETY: sigwaitinfo returned a signal, so it filled `info`.
                let code = unsafe { info.assume_init() }.si_code;
                deliver(&thread_state, sig, code == libc::SI_KERNEL);
            })?;
        Ok(Forwarder { state, old_mask })
    }

    /// Make `command`'s child start with the signal mask this process had before
    /// [`Forwarder::start`]. Register it before the seccomp hook.
    pub fn restore_mask_in_child(&self, command: &mut Command) {
        let mask = self.old_mask;
        // SAFETY: the hook makes one async-signal-safe call (pthread_sigmask, which is
        // sigprocmask in a single-threaded child) on a value copied before the fork.
        unsafe {
            command.pre_exec(move || {
                match libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut()) {
                    0 => Ok(()),
                    e => Err(io::Error::from_raw_os_error(e)),
                }
            });
        }
    }

    /// The child is running: forward signals to it from now on, and those that arrived
    /// while it was starting.
    pub fn attach(&self, pid: u32) {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return;
        };
        // SAFETY: pidfd_open takes a pid and flags; a non-negative result is a new fd.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = match c_int::try_from(fd) {
            // SAFETY: the kernel just returned this fd to us.
            Ok(fd) if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
            _ => None,
        };
        let target = Target { pid, pidfd };
        let pending = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.target = Some(target);
            std::mem::take(&mut state.pending)
        };
        for sig in pending {
            deliver(&self.state, sig, false);
        }
    }
}

/// Send `sig` to the child, or keep it until there is one. A signal from the terminal is
/// skipped when the child is in our process group: it has received it already.
fn deliver(state: &Mutex<State>, sig: c_int, from_terminal: bool) {
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let Some(target) = &state.target else {
        state.pending.push(sig);
        return;
    };
    // SAFETY: getpgid takes a pid; getpgrp has no arguments.
    if from_terminal && unsafe { libc::getpgid(target.pid) == libc::getpgrp() } {
        return;
    }
    match &target.pidfd {
        // SAFETY: a live pidfd, a valid signal number, no siginfo, no flags. After the
        // child is reaped this fails with ESRCH instead of reaching another process.
        Some(fd) => unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        },
        // SAFETY: kill takes a pid and a valid signal number.
        None => unsafe {
            libc::kill(target.pid, sig);
        },
    }
}
