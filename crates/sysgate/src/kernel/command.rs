//! Running a program under seccomp filters: a [`std::process::Command`] extension that
//! installs them in the child, between `fork` and `exec`.
//!
//! Between `fork` and `exec` a child of a multithreaded parent may only make
//! async-signal-safe calls: no allocation, no locks. So everything is prepared in the
//! parent ([`PreparedFilters`], shared through an `Arc`) and the child makes only raw
//! `prctl` and `seccomp` calls (plus, for a listener, one `sendmsg`). If anything fails, the
//! child reports the errno to `spawn`, which returns it as an error: the program never
//! runs unfiltered.
//!
//! This file owns the `pre_exec` hook and the listener handoff. Installing itself is
//! [`super::install`]'s.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::sync::Arc;

use super::install::PreparedFilters;
use super::notify::Listener;
use super::sys;

/// Install seccomp filters in a [`Command`]'s child before it executes the program.
///
/// Register it after any other `pre_exec` hook: hooks run in order, and the ones after it
/// would run under the filters. The filters must allow `execve` (and whatever the child
/// does between installing and `exec`), or the child dies or fails before the program
/// starts and `spawn` reports it.
///
/// ```no_run
/// use std::process::Command;
/// use sysgate::bpf::{data, op, Insn};
/// use sysgate::kernel::{CommandExt, InstallOptions, PreparedFilters};
/// use sysgate::policy::Action;
///
/// // ld [nr]; jeq #uname, errno(ENOSYS), allow
/// let deny_uname = [
///     Insn::load(data::NR),
///     Insn::jump(op::JEQ, libc::SYS_uname as u32, 0, 1),
///     Insn::ret(Action::Errno(38).to_ret()),
///     Insn::ret(Action::Allow.to_ret()),
/// ];
/// let filters = PreparedFilters::new(&[&deny_uname[..]], &InstallOptions::new())?;
/// let status = Command::new("uname").seccomp_filters(filters).status()?;
/// assert!(!status.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CommandExt {
    /// Install `filters` in the child before `exec`.
    ///
    /// If the filters ask for a listener (NEW_LISTENER), use
    /// [`CommandExt::seccomp_filters_with_listener`] instead: here the child would be the
    /// only holder of the listener and lose it at `exec`, so `spawn` fails with EINVAL
    /// rather than run a program whose notifications nobody answers.
    fn seccomp_filters(&mut self, filters: impl Into<Arc<PreparedFilters>>) -> &mut Self;

    /// Install `filters`, which ask for a listener, in the child before `exec`, and hand
    /// the listener to the parent. After `spawn` succeeds, [`ListenerHandoff::recv`]
    /// returns it.
    ///
    /// The child sends its listener over a socket pair before `exec`; `spawn` only returns
    /// once the child has executed the program (or failed), so the listener is waiting by
    /// then. Fails with EINVAL if the filters do not ask for a listener.
    fn seccomp_filters_with_listener(
        &mut self,
        filters: impl Into<Arc<PreparedFilters>>,
    ) -> io::Result<ListenerHandoff>;
}

/// The parent's end of a listener handed over by a child
/// ([`CommandExt::seccomp_filters_with_listener`]).
#[derive(Debug)]
pub struct ListenerHandoff {
    parent: OwnedFd,
}

impl ListenerHandoff {
    /// The listener the child sent. Call it after `spawn` succeeded, once per spawned
    /// child; it never blocks (WouldBlock if no child has sent one).
    pub fn recv(&self) -> io::Result<Listener> {
        match sys::recv_fd(self.parent.as_fd()) {
            Ok(fd) => Ok(Listener::from(fd)),
            Err(sys::Errno(libc::EAGAIN)) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "no listener has been sent: call recv after spawn() succeeded",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// What the child needs: the filters and, for a listener, the socket to send it on.
struct ChildSide {
    filters: Arc<PreparedFilters>,
    handoff: Option<OwnedFd>,
}

impl ChildSide {
    /// Runs in the child between fork and exec: raw system calls only, no allocation.
    fn run(&self) -> io::Result<()> {
        let wants_listener = self.filters.listener_program().is_some();
        if wants_listener != self.handoff.is_some() {
            // A listener nobody would hold, or a handoff nothing would send: refuse before
            // installing anything.
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let applied = self
            .filters
            .apply()
            .map_err(|f| io::Error::from_raw_os_error(f.errno()))?;
        if let (Some(fd), Some(sock)) = (applied.listener, &self.handoff) {
            let sent = sys::send_fd(sock.as_raw_fd(), fd);
            // The parent has its own copy now; the program must not inherit one.
            sys::close(fd);
            sent.map_err(|e| io::Error::from_raw_os_error(e.0))?;
        }
        Ok(())
    }

    fn register(self, command: &mut Command) {
        // SAFETY: `run` makes only async-signal-safe raw system calls (prctl, seccomp,
        // sendmsg, close) on data prepared before the fork, and builds its error with
        // `io::Error::from_raw_os_error`, which does not allocate. Nothing it touches can
        // be locked by another thread of the parent at the time of the fork.
        unsafe {
            command.pre_exec(move || self.run());
        }
    }
}

impl CommandExt for Command {
    fn seccomp_filters(&mut self, filters: impl Into<Arc<PreparedFilters>>) -> &mut Self {
        ChildSide {
            filters: filters.into(),
            handoff: None,
        }
        .register(self);
        self
    }

    fn seccomp_filters_with_listener(
        &mut self,
        filters: impl Into<Arc<PreparedFilters>>,
    ) -> io::Result<ListenerHandoff> {
        let filters = filters.into();
        if filters.listener_program().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "these filters do not ask for a listener (InstallOptions::new_listener)",
            ));
        }
        let (parent, child) = sys::socketpair()?;
        ChildSide {
            filters,
            handoff: Some(child),
        }
        .register(self);
        Ok(ListenerHandoff { parent })
    }
}
