//! Signals: masks, dispositions, the one forwarder that passes the signals sent to sysgate
//! on to the program it runs ([`SignalForwarder`], used by `sysgate run` and by the tracer
//! of `sysgate learn`), and the waiter a daemon takes its signals with ([`SignalWaiter`]).
//!
//! The forwarder is a handler rather than a thread: nothing to start, nothing to wind down.
//! The handler reads atomics and makes async-signal-safe system calls only.

use std::ffi::{c_int, c_void};
use std::io;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use super::process;

/// A set of signals (`sigset_t`).
pub(crate) fn sigset(signals: &[c_int]) -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set; sigaddset only fails (and changes nothing)
    // for an invalid signal number.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for &sig in signals {
            libc::sigaddset(set.as_mut_ptr(), sig);
        }
        set.assume_init()
    }
}

/// The set of every signal.
pub(crate) fn full_sigset() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        set.assume_init()
    }
}

/// `pthread_sigmask(how, set)`: change the calling thread's mask; returns the old one.
pub(crate) fn thread_sigmask(how: c_int, set: &libc::sigset_t) -> io::Result<libc::sigset_t> {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is initialised and `old` is a live out-parameter.
    let rc = unsafe { libc::pthread_sigmask(how, set, old.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: pthread_sigmask succeeded and filled `old`.
    Ok(unsafe { old.assume_init() })
}

/// In a child before `exec`: every caught signal back to its default (a handler is the
/// parent's code, and with `CLONE_VM` it would run on the parent's data), SIGPIPE to its
/// default (the Rust runtime ignores it; programs expect it as `std::process::Command`
/// gives it), signals ignored otherwise left ignored; then the mask `mask`.
/// Async-signal-safe, no allocation.
pub(crate) fn reset_for_exec(mask: &libc::sigset_t) {
    for sig in 1..=libc::SIGRTMAX() {
        if matches!(sig, libc::SIGKILL | libc::SIGSTOP) {
            continue;
        }
        // SAFETY: reading and setting dispositions with zeroed plain-data structs; a
        // signal the C library reserves for itself fails with EINVAL and is left alone.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, ptr::null(), &mut current) != 0 {
                continue;
            }
            let caught =
                current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN;
            if caught || sig == libc::SIGPIPE {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &default, ptr::null_mut());
            }
        }
    }
    // SAFETY: an initialised sigset; the child has one thread.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, mask, ptr::null_mut()) };
}

/// The pid signals are forwarded to (0: none yet, or no longer).
static TARGET_PID: AtomicI32 = AtomicI32::new(0);
/// A pidfd for it (-1: none).
static TARGET_PIDFD: AtomicI32 = AtomicI32::new(-1);
/// The last signal that arrived while nothing could receive it (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);
/// Whether a [`SignalForwarder`] exists (its state is process-wide).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// The handler: forward `sig` to the target, or keep it pending.
extern "C" fn forward(sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // A handler must leave errno as it found it.
    // SAFETY: __errno_location returns the calling thread's errno, always valid.
    let errno = unsafe { *libc::__errno_location() };
    let pid = TARGET_PID.load(Ordering::SeqCst);
    // SAFETY: the kernel passes a valid siginfo (or none) to an SA_SIGINFO handler.
    let from_kernel = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
    // A signal the terminal sent (Ctrl-C, Ctrl-\, hang-up, a window change) reached the
    // whole foreground process group, the program included: sending it again would deliver
    // it twice. Only signals sent to sysgate alone (kill, a service manager) are passed on.
    if pid <= 0 || (from_kernel && process::in_my_process_group(pid)) {
        PENDING.store(sig, Ordering::SeqCst);
    } else {
        send(pid, sig);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Send `sig` to the target `pid`, through its pidfd if there is one: after the target is
/// reaped the pidfd answers ESRCH instead of reaching another process that got its pid.
/// Async-signal-safe.
fn send(pid: i32, sig: c_int) {
    let pidfd = TARGET_PIDFD.load(Ordering::SeqCst);
    if pidfd >= 0 {
        let _ = process::pidfd_send_signal(pidfd, sig);
    } else {
        process::kill(pid, sig);
    }
}

/// Passes the signals sent to this process on to the program it started.
///
/// [`SignalForwarder::start`] blocks the signals in the calling thread (and so in every
/// thread it starts afterwards) and installs the handlers; [`SignalForwarder::attach`]
/// names the program and unblocks them, so a signal that arrived meanwhile reaches it then
/// (also one another thread, which did not block it, took meanwhile).
/// A signal the terminal sent to the whole foreground process group, the program included,
/// is not sent a second time. The program is reached through a pidfd where the kernel has
/// them (Linux 5.3), so a late signal never reaches a process that reused its pid. A signal
/// that finds no program (after [`SignalForwarder::detach`]) or came from the terminal is
/// kept for [`SignalForwarder::take_pending`]. Signals ignored when the forwarder starts
/// (a background job's SIGINT) stay ignored.
///
/// The handlers are process-wide: one forwarder at a time ([`io::ErrorKind::AlreadyExists`]
/// otherwise). Dropping it puts back the dispositions and the mask it found.
///
/// ```
/// use sysgate::kernel::SignalForwarder;
///
/// // A child inherits the mask of the thread that starts it: start it with the one the
/// // forwarder found (`FilteredCommand::signal_mask(forwarder.original_mask())`), or, as
/// // here, before the forwarder blocks anything.
/// let mut child = std::process::Command::new("sleep").arg("10").spawn()?;
/// let mut forwarder = SignalForwarder::start(&SignalForwarder::SIGNALS, false)?;
/// forwarder.attach(child.id());
/// // SAFETY: sends SIGTERM to this process, whose handler passes it on.
/// unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
/// let status = child.wait()?;
/// assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGTERM));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SignalForwarder {
    /// The calling thread's mask before `start`.
    old_mask: libc::sigset_t,
    /// The dispositions replaced, to put back on drop.
    replaced: Vec<(c_int, libc::sigaction)>,
}

impl SignalForwarder {
    /// HUP, INT, QUIT, TERM, USR1, USR2 and WINCH: the signals a terminal, a service manager
    /// or a user sends to ask a program to stop, reload or redraw.
    pub const SIGNALS: [c_int; 7] = [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGWINCH,
    ];

    /// Block `signals` in the calling thread and install the handlers that will forward
    /// them. With `interrupt_calls`, a handled signal interrupts a blocking system call of
    /// this process (EINTR) instead of restarting it, so that a wait loop can look at
    /// [`SignalForwarder::take_pending`].
    pub fn start(signals: &[c_int], interrupt_calls: bool) -> io::Result<SignalForwarder> {
        if ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "signals are already forwarded by another SignalForwarder",
            ));
        }
        let old_mask = match thread_sigmask(libc::SIG_BLOCK, &sigset(signals)) {
            Ok(m) => m,
            Err(e) => {
                ACTIVE.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        TARGET_PID.store(0, Ordering::SeqCst);
        PENDING.store(0, Ordering::SeqCst);
        let mut forwarder = SignalForwarder {
            old_mask,
            replaced: Vec::new(),
        };
        let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = forward;
        for &sig in signals {
            // SAFETY: `sigaction` is plain data; all-zero is a valid starting value.
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: reading the current disposition into a live struct.
            if unsafe { libc::sigaction(sig, ptr::null(), &mut previous) } != 0 {
                return Err(io::Error::last_os_error());
            }
            if previous.sa_sigaction == libc::SIG_IGN {
                // Ignored by whoever started us (a background job): leave it ignored, for
                // the program too.
                continue;
            }
            // SAFETY: as above.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO;
            if !interrupt_calls {
                action.sa_flags |= libc::SA_RESTART;
            }
            // SAFETY: sa_mask is a live sigset inside `action`.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: a valid signal and a fully initialised action whose handler only
            // makes async-signal-safe calls.
            if unsafe { libc::sigaction(sig, &action, ptr::null_mut()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            forwarder.replaced.push((sig, previous));
        }
        Ok(forwarder)
    }

    /// The signal mask the calling thread had before [`SignalForwarder::start`]: the one
    /// the program should start with.
    pub fn original_mask(&self) -> libc::sigset_t {
        self.old_mask
    }

    /// The program is running: forward signals to it from now on, including those that
    /// arrived while it was starting.
    pub fn attach(&mut self, pid: u32) {
        let Ok(pid) = i32::try_from(pid) else {
            return;
        };
        if let Ok(fd) = process::pidfd_open(pid) {
            use std::os::fd::IntoRawFd;
            TARGET_PIDFD.store(fd.into_raw_fd(), Ordering::SeqCst);
        }
        TARGET_PID.store(pid, Ordering::SeqCst);
        // One that a thread which did not block it took meanwhile, with nobody to send it
        // to, goes to the program now.
        if let Some(sig) = self.take_pending() {
            send(pid, sig);
        }
        let _ = thread_sigmask(libc::SIG_SETMASK, &self.old_mask);
    }

    /// The program has ended: keep later signals for [`SignalForwarder::take_pending`].
    pub fn detach(&mut self) {
        // Not in this thread's handler while the pidfd is closed.
        let blocked = thread_sigmask(libc::SIG_BLOCK, &full_sigset());
        TARGET_PID.store(0, Ordering::SeqCst);
        let fd = TARGET_PIDFD.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            super::close(fd);
        }
        if let Ok(mask) = blocked {
            let _ = thread_sigmask(libc::SIG_SETMASK, &mask);
        }
    }

    /// The last signal that found no program to receive it, or came from the terminal,
    /// since the last call (taken: a second call returns `None`).
    pub fn take_pending(&self) -> Option<c_int> {
        match PENDING.swap(0, Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        self.detach();
        for (sig, previous) in &self.replaced {
            // SAFETY: putting back a disposition read by sigaction.
            unsafe { libc::sigaction(*sig, previous, ptr::null_mut()) };
        }
        let _ = thread_sigmask(libc::SIG_SETMASK, &self.old_mask);
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// Signals a daemon (`sysgate agent`) takes one at a time in a thread of its own instead of
/// in a handler: blocked in every thread, and received with [`SignalWaiter::wait`].
#[derive(Debug)]
pub struct SignalWaiter {
    set: libc::sigset_t,
}

impl SignalWaiter {
    /// Block `signals` in the calling thread, and so in every thread it starts afterwards:
    /// call it before starting any.
    pub fn block(signals: &[c_int]) -> io::Result<SignalWaiter> {
        let set = sigset(signals);
        thread_sigmask(libc::SIG_BLOCK, &set)?;
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
