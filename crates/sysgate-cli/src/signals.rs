//! Forwarding the signals sent to `sysgate run` to the program it runs.
//!
//! SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 get a handler that sends the signal
//! on to the child (through a pidfd where the kernel has them, so that a late signal can
//! never reach a recycled pid). They stay blocked from [`Forwarder::start`] until the child
//! exists ([`Forwarder::attach`]); one that arrives meanwhile waits and is forwarded then.
//! Signals the terminal sends (Ctrl-C, Ctrl-\, hang-up) go to the whole foreground process
//! group, the child included, so those are not sent a second time. The child starts with
//! the signal mask and dispositions `sysgate` was started with.
//!
//! A handler instead of a thread: nothing to start, and nothing to wind down at exit. The
//! handler only reads atomics and makes async-signal-safe system calls.
//!
//! This file owns signal masks and dispositions; every `unsafe` block of the command's
//! signal handling is here.

use std::io;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicI32, Ordering};

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

/// The child's pid (0 until there is one) and a pidfd for it (-1 if none).
static CHILD_PID: AtomicI32 = AtomicI32::new(0);
static CHILD_PIDFD: AtomicI32 = AtomicI32::new(-1);

/// The handlers, and what they replaced.
pub struct Forwarder {
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

/// The handler: forward `sig` to the child.
extern "C" fn forward(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let pid = CHILD_PID.load(Ordering::SeqCst);
    if pid <= 0 {
        return; // cannot happen: the signals stay blocked until there is a child
    }
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let from_kernel = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
    // SAFETY: getpgid and getpgrp are async-signal-safe and take plain values.
    if from_kernel && unsafe { libc::getpgid(pid) == libc::getpgrp() } {
        return; // from the terminal, which sent it to the child too
    }
    let pidfd = CHILD_PIDFD.load(Ordering::SeqCst);
    let errno = io::Error::last_os_error().raw_os_error();
    // SAFETY: raw system calls with plain values; after the child is reaped the pidfd
    // answers ESRCH instead of reaching another process.
    unsafe {
        if pidfd >= 0 {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        } else {
            libc::kill(pid, sig);
        }
        // A handler must leave errno as it found it.
        if let Some(e) = errno {
            *libc::__errno_location() = e;
        }
    }
}

impl Forwarder {
    /// Block the forwarded signals and install the handlers that will forward them.
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
        for sig in FORWARDED {
            // SAFETY: `sigaction` is plain data; all-zero is a valid starting value.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: as above.
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut libc::c_void) = forward;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            // SAFETY: sa_mask is a live sigset inside `action`.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: reading the current disposition of a valid signal.
            unsafe { libc::sigaction(sig, std::ptr::null(), &mut previous) };
            if previous.sa_sigaction == libc::SIG_IGN {
                // Ignored by whoever started us (a background job): leave it ignored, for
                // the child too.
                continue;
            }
            // SAFETY: a valid signal and a fully initialised action whose handler only
            // makes async-signal-safe calls.
            if unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(Forwarder { old_mask })
    }

    /// The signal mask this process had before [`Forwarder::start`]: the one the child
    /// starts with. (Its dispositions need nothing: the child resets every caught signal to
    /// its default, and those ignored when sysgate started were left ignored.)
    pub fn original_mask(&self) -> libc::sigset_t {
        self.old_mask
    }

    /// The child is running: forward signals to it from now on, including those that
    /// arrived while it was starting.
    pub fn attach(&self, pid: u32) {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return;
        };
        // SAFETY: pidfd_open takes a pid and flags; a non-negative result is a new fd, which
        // stays open (and owned by these statics) until the process exits.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if let Ok(fd) = c_int::try_from(fd) {
            if fd >= 0 {
                CHILD_PIDFD.store(fd, Ordering::SeqCst);
            }
        }
        CHILD_PID.store(pid, Ordering::SeqCst);
        // SAFETY: restoring the mask saved in `start`; pending signals are delivered now.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
    }
}

/// Signals a daemon (`sysgate agent`) takes one at a time in a thread of its own instead of
/// in a handler: blocked in every thread, and received with [`SignalWaiter::wait`].
pub struct SignalWaiter {
    set: libc::sigset_t,
}

impl SignalWaiter {
    /// Block `signals` in the calling thread, and so in every thread it starts afterwards:
    /// call it before starting any.
    pub fn block(signals: &[c_int]) -> io::Result<SignalWaiter> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set; sigaddset takes valid signal numbers.
        let set = unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            for &sig in signals {
                libc::sigaddset(set.as_mut_ptr(), sig);
            }
            set.assume_init()
        };
        // SAFETY: `set` is initialised; the old mask is not wanted.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        Ok(SignalWaiter { set })
    }

    /// Wait until one of the signals is pending and take it.
    pub fn wait(&self) -> c_int {
        loop {
            let mut sig: c_int = 0;
            // SAFETY: `self.set` is initialised and `sig` is a live out-parameter.
            if unsafe { libc::sigwait(&self.set, &mut sig) } == 0 {
                return sig;
            }
        }
    }
}
