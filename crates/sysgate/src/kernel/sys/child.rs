//! The one way a child is started under filters: the steps it takes between `fork` (or
//! `clone`) and `exec` ([`ChildPlan`]), and the one channel it reports them through
//! ([`ReportCell`]: which step it reached, and how one failed, step and errno or the
//! install failure).
//!
//! Every launcher of the crate runs a plan: [`FilteredCommand`](crate::kernel::FilteredCommand)
//! (and so the [`Filter`](crate::kernel::Filter) facade) in a `clone(CLONE_VM | CLONE_VFORK)`
//! child ([`spawn_vfork`]), [`CommandExt`](crate::kernel::CommandExt) from a `pre_exec`
//! hook ([`ChildPlan::run`]), and the tracer of `sysgate learn` in a forked child
//! ([`spawn_forked`]). Each builds a plan in the parent (the child may not allocate) and
//! decides what a [`Report`] means for its own error type.
//!
//! The report is a few atomics written with plain stores, no system call: even a filter
//! that denies every call cannot keep the child from reporting. It lives in memory the
//! parent reads: the parent's own for a `CLONE_VM` child, a [`SharedPage`](super::SharedPage)
//! for a forked one.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::{process, signals, Errno, SharedCell};
use crate::kernel::install::{PreparedFilters, RawFailure};

/// A step of a child's set-up, in the order it takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    /// Waiting for the parent's go-ahead (a tracer attaching).
    WaitForParent = 1,
    /// Resetting signal dispositions and setting the mask the program starts with.
    Signals = 2,
    /// Arming the parent-death signal, and checking that the parent is still there.
    ParentDeath = 3,
    /// `no_new_privs` and the filters.
    Install = 4,
    /// Handing the filters' listener to the parent.
    Handoff = 5,
    /// Executing the program.
    Exec = 6,
    /// Every step done; the caller executes the program (a `pre_exec` hook).
    Done = 7,
}

impl Step {
    fn from_u32(n: u32) -> Option<Step> {
        Some(match n {
            1 => Step::WaitForParent,
            2 => Step::Signals,
            3 => Step::ParentDeath,
            4 => Step::Install,
            5 => Step::Handoff,
            6 => Step::Exec,
            7 => Step::Done,
            _ => return None,
        })
    }
}

/// How a step failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StepFailure {
    /// A system call failed with this errno (0: the parent went away).
    Errno(Errno),
    /// The kernel refused the filters.
    Install(RawFailure),
}

impl StepFailure {
    /// The errno to report (for an install failure, [`RawFailure::errno`]).
    pub(crate) fn errno(self) -> i32 {
        match self {
            StepFailure::Errno(e) => e.0,
            StepFailure::Install(f) => f.errno(),
        }
    }
}

/// What a child reported: the last step it reached, and how it failed, if it did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Report {
    /// The last step begun (`None`: the child never started its plan).
    pub reached: Option<Step>,
    /// Set if that step failed.
    pub failure: Option<StepFailure>,
}

impl Report {
    /// Whether the child got past the install step: for a plan with filters, whether they
    /// are in place.
    pub(crate) fn installed(&self) -> bool {
        match self.reached {
            Some(Step::Install) => false,
            Some(step) => step > Step::Install,
            None => false,
        }
    }
}

/// The report channel: written by the child with atomic stores, read by the parent once
/// the child has executed the program or ended.
#[derive(Debug, Default)]
pub(crate) struct ReportCell {
    reached: AtomicU32,
    /// 0: no failure; 1: errno in `value`; 2..=5: a [`RawFailure`] kind.
    kind: AtomicU32,
    index: AtomicU64,
    value: AtomicI64,
    /// The listener's fd number in the child + 1 (0: none yet), for [`ListenerTo::Publish`].
    listener: AtomicI32,
}

// SAFETY: atomics only, and all-zero is a valid value of each.
unsafe impl SharedCell for ReportCell {}

impl ReportCell {
    fn reach(&self, step: Step) {
        self.reached.store(step as u32, Ordering::SeqCst);
    }

    fn fail(&self, step: Step, failure: StepFailure) {
        let (kind, index, value) = match failure {
            StepFailure::Errno(e) => (1, 0, i64::from(e.0)),
            StepFailure::Install(RawFailure::NoNewPrivs(e)) => (2, 0, i64::from(e.0)),
            StepFailure::Install(RawFailure::Filter { index, errno }) => {
                (3, index, i64::from(errno.0))
            }
            // c_long is i64 on 64-bit targets and i32 on 32-bit ones.
            #[allow(clippy::useless_conversion)]
            StepFailure::Install(RawFailure::Tsync { index, tid }) => (4, index, i64::from(tid)),
            StepFailure::Install(RawFailure::FlagsNeedSeccomp { index }) => (5, index, 0),
        };
        self.index.store(index as u64, Ordering::SeqCst);
        self.value.store(value, Ordering::SeqCst);
        self.kind.store(kind, Ordering::SeqCst);
        self.reach(step);
    }

    /// What the child reported so far.
    pub(crate) fn read(&self) -> Report {
        let reached = Step::from_u32(self.reached.load(Ordering::SeqCst));
        let index = usize::try_from(self.index.load(Ordering::SeqCst)).unwrap_or(usize::MAX);
        let value = self.value.load(Ordering::SeqCst);
        let errno = Errno(i32::try_from(value).unwrap_or(0));
        let failure = match self.kind.load(Ordering::SeqCst) {
            1 => Some(StepFailure::Errno(errno)),
            2 => Some(StepFailure::Install(RawFailure::NoNewPrivs(errno))),
            3 => Some(StepFailure::Install(RawFailure::Filter { index, errno })),
            4 => std::ffi::c_long::try_from(value)
                .ok()
                .map(|tid| StepFailure::Install(RawFailure::Tsync { index, tid })),
            5 => Some(StepFailure::Install(RawFailure::FlagsNeedSeccomp { index })),
            _ => None,
        };
        Report { reached, failure }
    }

    /// The listener fd the child published ([`ListenerTo::Publish`]), once it has.
    pub(crate) fn published_listener(&self) -> Option<c_int> {
        match self.listener.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n - 1),
        }
    }

    /// Forget a previous child's report (a command spawned again).
    fn clear(&self) {
        self.kind.store(0, Ordering::SeqCst);
        self.listener.store(0, Ordering::SeqCst);
        self.reached.store(0, Ordering::SeqCst);
    }
}

/// Where the listener of filters that ask for one goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ListenerTo<'a> {
    /// The filters ask for none.
    Nobody,
    /// Sent over this socket (`SCM_RIGHTS`), then closed in the child.
    Send(BorrowedFd<'a>),
    /// Left open in the child, its number stored in the report (a store, not a system
    /// call: every call already goes to the listener, which the parent does not hold yet).
    Publish,
}

/// The program a plan executes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Exec<'a> {
    /// None: the caller executes it after [`ChildPlan::run`] (a `pre_exec` hook).
    Not,
    /// `execve(path, argv, envp)`.
    Path {
        path: &'a CStr,
        argv: &'a [*const c_char],
        envp: &'a [*const c_char],
    },
    /// `execvp(program, argv)`: looked up in `PATH`, the environment inherited.
    Search {
        program: &'a CStr,
        argv: &'a [*const c_char],
    },
}

/// The steps a child takes between `fork` and `exec`, in this order; each is skipped when
/// its field is `None`. Built in the parent: running it makes raw system calls only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChildPlan<'a> {
    /// Before anything else, close the child's copy of the pipe's write end (the second)
    /// and read one byte from its read end (the tracer's go-ahead; end of file if the
    /// parent gave up).
    pub go_ahead: Option<(BorrowedFd<'a>, BorrowedFd<'a>)>,
    /// Reset caught signals (and SIGPIPE) to their defaults, then set this mask.
    pub signal_mask: Option<libc::sigset_t>,
    /// Arm this parent-death signal, and give up if the parent (this pid) is already gone.
    pub parent_death: Option<(c_int, i32)>,
    /// Install these filters.
    pub filters: Option<&'a PreparedFilters>,
    /// Install these instead when the kernel refuses `filters`' flags (EINVAL, ENOSYS).
    pub fallback: Option<&'a PreparedFilters>,
    /// Where the listener goes, if the filters ask for one.
    pub listener: ListenerTo<'a>,
    /// The program.
    pub exec: Exec<'a>,
}

/// Records the steps in a report, if there is one.
#[derive(Clone, Copy)]
struct Reporter<'a>(Option<&'a ReportCell>);

impl Reporter<'_> {
    fn reach(self, step: Step) {
        if let Some(cell) = self.0 {
            cell.reach(step);
        }
    }

    fn fail(self, step: Step, failure: StepFailure) -> (Step, StepFailure) {
        if let Some(cell) = self.0 {
            cell.fail(step, failure);
        }
        (step, failure)
    }
}

impl ChildPlan<'_> {
    /// A plan with no steps: set the fields of the ones wanted.
    pub(crate) fn new() -> Self {
        ChildPlan {
            go_ahead: None,
            signal_mask: None,
            parent_death: None,
            filters: None,
            fallback: None,
            listener: ListenerTo::Nobody,
            exec: Exec::Not,
        }
    }
}

impl<'a> ChildPlan<'a> {
    /// Take the steps, in the child, recording each in `report`. Returns `Ok` after the
    /// last step when the plan executes nothing ([`Exec::Not`]); otherwise only if the
    /// program could not be executed, with the step that failed (also recorded).
    ///
    /// Raw system calls only: no allocation, no locks, so that it may run between `fork`
    /// and `exec` of a multithreaded parent, or in a `CLONE_VM` child.
    pub(crate) fn run(&self, report: Option<&ReportCell>) -> Result<(), (Step, StepFailure)> {
        if let Some(cell) = report {
            cell.clear();
        }
        let report = Reporter(report);
        if let Some((fd, parent_end)) = self.go_ahead {
            report.reach(Step::WaitForParent);
            super::close(parent_end.as_raw_fd());
            let mut byte = [0u8; 1];
            match process::read(fd, &mut byte) {
                Ok(1) => {}
                // The parent gave up (end of file).
                Ok(_) => return Err(report.fail(Step::WaitForParent, StepFailure::Errno(Errno(0)))),
                Err(e) => return Err(report.fail(Step::WaitForParent, StepFailure::Errno(e))),
            }
        }
        if let Some(mask) = &self.signal_mask {
            report.reach(Step::Signals);
            signals::reset_for_exec(mask);
        }
        if let Some((sig, parent)) = self.parent_death {
            report.reach(Step::ParentDeath);
            if let Err(e) = process::set_parent_death_signal(sig) {
                return Err(report.fail(Step::ParentDeath, StepFailure::Errno(e)));
            }
            // The parent may have died before the signal was armed: then nothing would
            // send it, so stop here as it would have.
            if process::getppid() != parent {
                return Err(report.fail(Step::ParentDeath, StepFailure::Errno(Errno(libc::ESRCH))));
            }
        }
        if let Some(filters) = self.filters {
            report.reach(Step::Install);
            let applied = match (filters.apply(), self.fallback) {
                (Err(f), Some(fallback)) if matches!(f.errno(), libc::EINVAL | libc::ENOSYS) => {
                    fallback.apply()
                }
                (other, _) => other,
            };
            let applied =
                applied.map_err(|f| report.fail(Step::Install, StepFailure::Install(f)))?;
            match (applied.listener, self.listener) {
                (Some(fd), ListenerTo::Send(sock)) => {
                    report.reach(Step::Handoff);
                    let sent = super::send_fd(sock.as_raw_fd(), fd);
                    // The parent has its own copy now; the program must not inherit one.
                    super::close(fd);
                    sent.map_err(|e| report.fail(Step::Handoff, StepFailure::Errno(e)))?;
                }
                (Some(fd), ListenerTo::Publish) => {
                    report.reach(Step::Handoff);
                    if let Some(cell) = report.0 {
                        cell.listener.store(fd + 1, Ordering::SeqCst);
                    }
                }
                _ => {}
            }
        }
        let failed = match self.exec {
            Exec::Not => {
                report.reach(Step::Done);
                return Ok(());
            }
            Exec::Path { path, argv, envp } => {
                report.reach(Step::Exec);
                process::execve(path, argv, envp)
            }
            Exec::Search { program, argv } => {
                report.reach(Step::Exec);
                process::execvp(program, argv)
            }
        };
        Err(report.fail(Step::Exec, StepFailure::Errno(failed)))
    }

    /// `fork`, and run the plan in the child, which exits with status 127 if the program
    /// was not executed. Returns the child's pid; read how far it got in `report` (a
    /// [`SharedPage`](super::SharedPage), so that the parent sees it).
    pub(crate) fn spawn_forked(&self, report: &ReportCell) -> Result<i32, Errno> {
        match process::fork()? {
            0 => {
                let _ = self.run(Some(report));
                process::exit_now(127)
            }
            pid => Ok(pid),
        }
    }

    /// Start the plan `posix_spawn`-style: `clone(CLONE_VM | CLONE_VFORK)` runs the child
    /// in this process's memory, on a stack of its own, while the calling thread waits
    /// until the child has executed the program or given up (exit status 127). Returns the
    /// child's pid once `report` is final.
    ///
    /// Every signal is blocked in the calling thread across `clone`, so that none of this
    /// process's handlers runs in the child; the plan's [`ChildPlan::signal_mask`] step
    /// resets the caught ones before it unblocks any, with the calling thread's own mask if
    /// the plan names none.
    pub(crate) fn spawn_vfork(&self, report: &ReportCell) -> Result<i32, Errno> {
        let old = signals::thread_sigmask(libc::SIG_SETMASK, &signals::full_sigset())
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EINVAL)))?;
        let plan = ChildPlan {
            signal_mask: Some(self.signal_mask.unwrap_or(old)),
            ..*self
        };
        let mut child = VforkChild {
            plan: &plan,
            report,
        };
        // SAFETY: `vfork_main` only runs the plan, which makes raw async-signal-safe system
        // calls on data `child` points to, and resets the caught signals before it unblocks
        // any (the plan has a signal mask); `child` lives until `clone_vfork` returns, which
        // is after the child has executed or exited.
        let pid = unsafe {
            process::clone_vfork(vfork_main, std::ptr::addr_of_mut!(child).cast::<c_void>())
        };
        let _ = signals::thread_sigmask(libc::SIG_SETMASK, &old);
        pid
    }
}

/// What a [`ChildPlan::spawn_vfork`] child gets: in the parent's memory, which it shares.
struct VforkChild<'p, 'a> {
    plan: &'p ChildPlan<'a>,
    report: &'p ReportCell,
}

/// The `clone` entry point of [`ChildPlan::spawn_vfork`].
extern "C" fn vfork_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `VforkChild` the suspended parent passed to clone; nothing else
    // touches it until the child has executed or exited.
    let child = unsafe { &*arg.cast::<VforkChild>() };
    let _ = child.plan.run(Some(child.report));
    process::exit_now(127)
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::os::fd::AsFd;

    use super::*;
    use crate::kernel::sys::SharedPage;

    /// Run `plan` in a forked child and wait for it: its report and wait status.
    fn run_forked(plan: &ChildPlan<'_>) -> (Report, c_int) {
        let page: SharedPage<ReportCell> = SharedPage::new().unwrap();
        let pid = plan.spawn_forked(page.get()).unwrap();
        let (_, status) = process::wait_retrying(pid, 0).unwrap();
        (page.get().read(), status)
    }

    #[test]
    fn a_failed_exec_is_reported_with_its_step_and_errno() {
        let path = CString::new("/no/such/program").unwrap();
        let argv = [path.as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null()];
        let plan = ChildPlan {
            exec: Exec::Path {
                path: &path,
                argv: &argv,
                envp: &envp,
            },
            ..ChildPlan::new()
        };
        let (report, status) = run_forked(&plan);
        assert_eq!(report.reached, Some(Step::Exec));
        assert_eq!(report.failure.map(StepFailure::errno), Some(libc::ENOENT));
        assert_eq!(libc::WEXITSTATUS(status), 127);
    }

    #[test]
    fn a_parent_that_gave_up_ends_the_child_at_the_first_step() {
        let (read, write) = process::pipe().unwrap();
        let path = CString::new("/bin/true").unwrap();
        let argv = [path.as_ptr(), std::ptr::null()];
        let plan = ChildPlan {
            go_ahead: Some((read.as_fd(), write.as_fd())),
            exec: Exec::Search {
                program: &path,
                argv: &argv,
            },
            ..ChildPlan::new()
        };
        let page: SharedPage<ReportCell> = SharedPage::new().unwrap();
        let pid = plan.spawn_forked(page.get()).unwrap();
        // No go-ahead: the child reads end of file once the parent's end is closed.
        drop(write);
        let (_, status) = process::wait_retrying(pid, 0).unwrap();
        let report = page.get().read();
        assert_eq!(report.reached, Some(Step::WaitForParent));
        assert_eq!(report.failure.map(StepFailure::errno), Some(0));
        assert_eq!(libc::WEXITSTATUS(status), 127);
    }

    #[test]
    fn a_dead_parent_stops_the_child_before_the_filters() {
        // A parent pid that is not the child's parent: as if it had died before the
        // parent-death signal was armed.
        let plan = ChildPlan {
            parent_death: Some((libc::SIGKILL, 1)),
            ..ChildPlan::new()
        };
        let (report, _) = run_forked(&plan);
        assert_eq!(report.reached, Some(Step::ParentDeath));
        assert_eq!(report.failure.map(StepFailure::errno), Some(libc::ESRCH));
    }

    #[test]
    fn a_plan_without_exec_reports_done() {
        let plan = ChildPlan {
            signal_mask: Some(super::signals::sigset(&[])),
            ..ChildPlan::new()
        };
        let (report, status) = run_forked(&plan);
        assert_eq!(report.reached, Some(Step::Done));
        assert!(report.failure.is_none());
        // `spawn_forked` ends a child that executed nothing with 127.
        assert_eq!(libc::WEXITSTATUS(status), 127);
    }

    #[test]
    fn every_failure_survives_the_report() {
        let cell = ReportCell::default();
        for failure in [
            StepFailure::Errno(Errno(libc::EACCES)),
            StepFailure::Install(RawFailure::NoNewPrivs(Errno(libc::EPERM))),
            StepFailure::Install(RawFailure::Filter {
                index: 2,
                errno: Errno(libc::EINVAL),
            }),
            StepFailure::Install(RawFailure::Tsync {
                index: 1,
                tid: 4242,
            }),
            StepFailure::Install(RawFailure::FlagsNeedSeccomp { index: 3 }),
        ] {
            cell.fail(Step::Install, failure);
            let read = cell.read();
            assert_eq!(read.reached, Some(Step::Install));
            assert_eq!(
                format!("{:?}", read.failure),
                format!("{:?}", Some(failure))
            );
        }
    }
}
