//! The one signal forwarder (`SignalForwarder`, used by `sysgate run` and the tracer of
//! `sysgate learn`): a signal sent to this process reaches the program, one that finds no
//! program is kept, and dropping it puts back what it found.
//!
//! One test: the forwarder's handlers are process-wide, so its steps run in order in this
//! test binary's own process.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use sysgate::kernel::SignalForwarder;

/// The disposition of `sig` (its handler address, or SIG_DFL / SIG_IGN).
fn disposition(sig: libc::c_int) -> libc::sighandler_t {
    // SAFETY: `sigaction` is plain data; all-zero is a valid value.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: reading a disposition into a live struct.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut current) };
    assert_eq!(rc, 0);
    current.sa_sigaction
}

/// Send `sig` to this process.
fn raise(sig: libc::c_int) {
    // SAFETY: kill with our own pid and a valid signal.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

#[test]
fn signals_reach_the_program_then_wait_then_the_dispositions_come_back() {
    // Started before the forwarder: a child inherits the blocked signals of the thread that
    // starts it (`sysgate run` starts its program with `original_mask`).
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    // A background job's ignored signal stays ignored.
    // SAFETY: setting a valid signal to SIG_IGN.
    unsafe { libc::signal(libc::SIGUSR2, libc::SIG_IGN) };

    let mut forwarder = SignalForwarder::start(&SignalForwarder::SIGNALS, false).unwrap();
    let second = SignalForwarder::start(&SignalForwarder::SIGNALS, false).unwrap_err();
    assert_eq!(second.kind(), std::io::ErrorKind::AlreadyExists);
    assert_ne!(disposition(libc::SIGTERM), libc::SIG_DFL);
    assert_eq!(disposition(libc::SIGUSR2), libc::SIG_IGN);

    // Sent before the program is attached: it waits (blocked in this thread, or kept by
    // the handler in a thread that did not block it), and reaches the program once it is.
    raise(libc::SIGTERM);
    forwarder.attach(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");

    // No program: kept for the caller.
    forwarder.detach();
    raise(libc::SIGUSR1);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pending = None;
    while pending.is_none() && Instant::now() < deadline {
        pending = forwarder.take_pending();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(pending, Some(libc::SIGUSR1));
    assert_eq!(forwarder.take_pending(), None, "taken once");

    drop(forwarder);
    assert_eq!(disposition(libc::SIGTERM), libc::SIG_DFL);
    assert_eq!(disposition(libc::SIGUSR2), libc::SIG_IGN);
    // And another forwarder may start.
    drop(SignalForwarder::start(&[libc::SIGHUP], false).unwrap());
}
