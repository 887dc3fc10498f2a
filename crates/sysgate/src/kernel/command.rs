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
//! `spawn` only returns an errno when the child fails, the same for a filter the kernel
//! refused and a program that does not exist. [`CommandExt::seccomp_filters_reporting`]
//! tells them apart: the child records how far it got in a page of shared memory, with
//! plain stores (no system call, so even a filter that denies everything cannot stop the
//! report), and [`InstallReport::outcome`] reads it back as an [`InstallError`].
//!
//! This file owns the `pre_exec` hook and what the report and the handoff mean to its
//! caller. The child's steps and the report channel are the crate's one child plan
//! ([`ChildPlan`]); installing itself is [`super::install`]'s.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::sync::Arc;

use super::install::{InstallError, PreparedFilters};
use super::notify::Listener;
use super::sys::child::{ChildPlan, ListenerTo, ReportCell, Step, StepFailure};
use super::sys::{self, SharedPage};

/// Install seccomp filters in a [`Command`]'s child before it executes the program.
///
/// Register it after any other `pre_exec` hook: hooks run in order, and the ones after it
/// would run under the filters. The filters must allow `execve` (and whatever the child
/// does between installing and `exec`), or the child dies or fails before the program
/// starts and `spawn` reports it.
///
/// ```
/// use std::process::Command;
/// use sysgate::kernel::CommandExt;
/// use sysgate::{Action, Filter};
///
/// // uname fails with ENOSYS; everything else is allowed.
/// let (filters, _status) = Filter::new(Action::Allow)
///     .rule(Action::Errno(libc::ENOSYS as u16), "uname")
///     .prepare()?;
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

    /// Like [`CommandExt::seccomp_filters`], and also record in shared memory how far the
    /// child got, so that a failed `spawn` can say whether the filters were refused (the
    /// program never ran) or the program could not be executed (after the filters were in
    /// place). Read it with [`InstallReport::outcome`] after `spawn` returns.
    ///
    /// ```
    /// use std::process::Command;
    /// use sysgate::kernel::{ChildInstall, CommandExt};
    /// use sysgate::{Action, Filter};
    ///
    /// let (filters, _status) = Filter::new(Action::Allow).prepare()?;
    /// let mut command = Command::new("/no/such/program");
    /// let report = command.seccomp_filters_reporting(filters)?;
    /// assert!(command.spawn().is_err());
    /// assert!(matches!(report.outcome(), ChildInstall::Installed)); // exec failed, not seccomp
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn seccomp_filters_reporting(
        &mut self,
        filters: impl Into<Arc<PreparedFilters>>,
    ) -> io::Result<InstallReport>;
}

/// How far a child got with its filters ([`InstallReport::outcome`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum ChildInstall {
    /// No child reached the install step: `fork` failed, or a `pre_exec` hook registered
    /// before it failed.
    NotReached,
    /// The child was installing when it stopped reporting (it was killed in between).
    Interrupted,
    /// The filters are installed. A `spawn` error after this came from `exec` (no such
    /// program, permission denied), and the program runs filtered.
    Installed,
    /// The kernel refused the filters; the program was not started.
    Failed(InstallError),
}

/// Where a child reports its install step ([`CommandExt::seccomp_filters_reporting`]).
///
/// It describes the most recent child of the command that reached the install step.
pub struct InstallReport {
    page: Arc<SharedPage<ReportCell>>,
    filters: Arc<PreparedFilters>,
}

impl std::fmt::Debug for InstallReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallReport")
            .field("report", &self.page.get().read())
            .finish_non_exhaustive()
    }
}

impl InstallReport {
    /// What the child reported. Call it after `spawn` returned: `spawn` waits until the
    /// child has executed the program or failed, so the report is complete by then.
    pub fn outcome(&self) -> ChildInstall {
        let report = self.page.get().read();
        match (report.reached, report.failure) {
            (None, _) => ChildInstall::NotReached,
            _ if report.installed() => ChildInstall::Installed,
            (Some(Step::Install), Some(StepFailure::Install(raw))) => {
                ChildInstall::Failed(self.filters.explain(raw))
            }
            _ => ChildInstall::Interrupted,
        }
    }
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
    report: Option<Arc<SharedPage<ReportCell>>>,
}

impl ChildSide {
    /// Runs in the child between fork and exec: the child plan, raw system calls only.
    fn run(&self) -> io::Result<()> {
        let wants_listener = self.filters.listener_program().is_some();
        if wants_listener != self.handoff.is_some() {
            // A listener nobody would hold, or a handoff nothing would send: refuse before
            // installing anything.
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let plan = ChildPlan {
            filters: Some(&self.filters),
            listener: match &self.handoff {
                Some(sock) => ListenerTo::Send(sock.as_fd()),
                None => ListenerTo::Nobody,
            },
            ..ChildPlan::new()
        };
        // `io::Error::from_raw_os_error` does not allocate.
        plan.run(self.report.as_deref().map(SharedPage::get))
            .map_err(|(_, failure)| io::Error::from_raw_os_error(failure.errno()))
    }

    fn register(self, command: &mut Command) {
        // SAFETY: `run` takes the child plan's steps, which make only async-signal-safe raw
        // system calls (prctl, seccomp, sendmsg, close) on data prepared before the fork
        // and store to atomics in a shared page mapped before the fork, and builds its
        // error with `io::Error::from_raw_os_error`, which does not allocate. Nothing it
        // touches can be locked by another thread of the parent at the time of the fork.
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
            report: None,
        }
        .register(self);
        self
    }

    fn seccomp_filters_reporting(
        &mut self,
        filters: impl Into<Arc<PreparedFilters>>,
    ) -> io::Result<InstallReport> {
        let filters = filters.into();
        let page = Arc::new(SharedPage::new()?);
        ChildSide {
            filters: filters.clone(),
            handoff: None,
            report: Some(page.clone()),
        }
        .register(self);
        Ok(InstallReport { page, filters })
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
            report: None,
        }
        .register(self);
        Ok(ListenerHandoff { parent })
    }
}
