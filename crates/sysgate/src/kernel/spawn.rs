//! Starting a program under filters without copying the parent: [`FilteredCommand`].
//!
//! It runs the crate's one child plan ([`ChildPlan`]: signals, parent-death signal,
//! filters, `execvp`) with [`ChildPlan::spawn_vfork`], and turns the child's report into a
//! [`SpawnError`]. This file owns the command's builder and that error, not the child's
//! steps.
//!
//! [`CommandExt`](super::CommandExt) installs filters from a `pre_exec` hook, which makes
//! `std::process::Command` `fork` the whole parent: its page tables are copied, and every
//! page either process writes afterwards is copied again. `FilteredCommand` does what
//! `posix_spawn` does instead: `clone(CLONE_VM | CLONE_VFORK)` runs the child in the
//! parent's memory, on a stack of its own, while the parent waits until the child has
//! executed the program or given up. The child only makes raw system calls on data prepared
//! beforehand (signal dispositions and mask, `prctl`, `seccomp`, `execvp`) and reports
//! through memory the parent reads after `clone` returns. Starting a program this way costs
//! a fraction of a `fork`.
//!
//! Because the child shares the parent's memory until `exec`, no signal handler of the
//! parent may run in it: every signal is blocked across `clone`, and the child resets each
//! caught signal to its default before it sets the signal mask the program starts with.
//! Signals the parent ignores stay ignored, except SIGPIPE, which the Rust runtime ignores
//! and which the program gets at its default, as `std::process::Command` gives it.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;

use libc::c_int;

use super::install::{InstallError, PreparedFilters};
use super::sys::child::{ChildPlan, Exec, ReportCell, Step, StepFailure};
use super::sys::process;

/// A program to start under seccomp filters, `posix_spawn`-style (see the module docs).
///
/// The program inherits the environment, working directory and open file descriptors, and
/// is looked up in `PATH` like [`std::process::Command`] does (`execvp`). Filters that ask
/// for a listener are refused: use
/// [`CommandExt::seccomp_filters_with_listener`](super::CommandExt::seccomp_filters_with_listener)
/// for those.
///
/// ```
/// use sysgate::{Action, Filter};
///
/// // uname fails with ENOSYS; everything else is allowed.
/// let fitted = Filter::new(Action::Allow)
///     .rule(Action::Errno(libc::ENOSYS as u16), "uname")
///     .fit()?;
/// let mut command = fitted.compiled.command("uname")?;
/// let mut child = command.arg("-r").spawn()?;
/// assert!(!child.wait()?.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FilteredCommand {
    program: CString,
    argv: Vec<CString>,
    filters: Arc<PreparedFilters>,
    mask: Option<libc::sigset_t>,
    /// The signal the program gets when the thread that started it ends.
    parent_death_signal: Option<c_int>,
    /// An argument that cannot be passed to `exec` (it holds a NUL byte).
    bad_arg: Option<String>,
}

/// Why a [`FilteredCommand`] did not start its program.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The kernel refused the filters: the program was not started.
    #[error("the filters were not installed: {0}")]
    Install(#[source] InstallError),
    /// The filters were installed, then `exec` failed (no such program, not executable).
    /// The message names the program and, where it can tell, what to do
    /// ([`exec_failure_advice`]).
    #[error(
        "cannot execute {program}: {source}{}",
        exec_failure_advice(OsStr::new(.program), .source)
    )]
    Exec {
        /// The program, as given.
        program: String,
        /// Why `exec` failed.
        #[source]
        source: io::Error,
    },
    /// No child could be started (`clone` failed), or the child died before it got to
    /// install the filters or execute the program.
    #[error("cannot start a process for the program: {0}")]
    Start(#[source] io::Error),
    /// The command cannot be passed to `exec` as given.
    #[error("{0}")]
    InvalidInput(String),
}

/// A program started by [`FilteredCommand::spawn`].
#[derive(Debug)]
pub struct FilteredChild {
    pid: libc::pid_t,
    status: Option<ExitStatus>,
}

impl FilteredChild {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Wait for the program to end (retrying when a signal interrupts the wait).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let status = wait_for(self.pid)?;
        self.status = Some(status);
        Ok(status)
    }

    /// The program's status if it has ended, without waiting (`None` while it runs), as
    /// [`std::process::Child::try_wait`].
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        match process::waitpid(self.pid, libc::WNOHANG) {
            Ok((0, _)) => Ok(None),
            Ok((_, raw)) => {
                let status = ExitStatus::from_raw(raw);
                self.status = Some(status);
                Ok(Some(status))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Send SIGKILL to the program, as [`std::process::Child::kill`]; then
    /// [`FilteredChild::wait`] for it. Once its status has been collected the process id
    /// may belong to another process, so nothing is sent.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use sysgate::{Action, Filter};
    ///
    /// let mut spawned = Filter::new(Action::Allow).spawn("sleep", ["60"])?;
    /// spawned.child.kill()?;
    /// assert_eq!(spawned.child.wait()?.signal(), Some(libc::SIGKILL));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        if self.status.is_none() {
            process::kill(self.pid, libc::SIGKILL);
        }
        Ok(())
    }
}

/// What to do about `exec` of `program` (as given: looked up in `PATH` unless it holds a
/// `/`) failing with `err`, as "; advice" to append to the error, or "" when there is
/// nothing to add. It looks at the file (a directory? executable? in the current
/// directory?) when it is asked, so call it when the failure is reported.
///
/// ```
/// use std::ffi::OsStr;
/// use std::io::Error;
/// use sysgate::kernel::exec_failure_advice;
///
/// let enoent = Error::from_raw_os_error(libc::ENOENT);
/// let eacces = Error::from_raw_os_error(libc::EACCES);
/// assert!(exec_failure_advice(OsStr::new("/tmp"), &eacces).contains("is a directory"));
/// // A name without a slash was looked up in PATH, whatever the current directory holds.
/// assert!(exec_failure_advice(OsStr::new("tmp"), &eacces).contains("PATH"));
/// assert!(exec_failure_advice(OsStr::new("no-such-program"), &enoent).contains("PATH"));
/// ```
pub fn exec_failure_advice(program: &OsStr, err: &io::Error) -> String {
    let shown = program.to_string_lossy();
    let searched = !program.as_bytes().contains(&b'/');
    let meta = std::fs::metadata(program);
    if program.is_empty() {
        return "; the program name is empty".to_string();
    }
    let advice = match err.raw_os_error() {
        Some(libc::ENOENT) if searched => match &meta {
            Ok(m) if m.is_file() => format!(
                "it is not in any directory of PATH; the file in the current directory is run \
                 as ./{shown}"
            ),
            _ => "it is not in any directory of PATH: check the spelling, or give its path"
                .to_string(),
        },
        Some(libc::ENOENT) => match &meta {
            Ok(_) => "the file exists, so what it needs to start does not: the interpreter its \
                 #! line names, or a binary's dynamic loader (a program built for another \
                 architecture or C library)"
                .to_string(),
            Err(_) => match std::fs::read_link(program) {
                Ok(target) => format!(
                    "it is a symbolic link to {}, which does not exist",
                    target.display()
                ),
                Err(_) => "no such file: check the path".to_string(),
            },
        },
        // A name was looked up in PATH: what is in the current directory says nothing.
        Some(libc::EACCES) if searched => "a file of that name in a directory of PATH may not \
             be executed (a directory, or a file without exec permission): check what `command \
             -v` finds"
            .to_string(),
        Some(libc::EACCES) => match &meta {
            Ok(m) if m.is_dir() => "it is a directory, not a program".to_string(),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                format!("it is not executable: make it so (chmod +x {shown})")
            }
            Ok(_) => "its file system may be mounted noexec, or a directory on the way may not \
                 be searched"
                .to_string(),
            Err(_) => "a directory on the way may not be searched".to_string(),
        },
        Some(libc::ENOEXEC) => format!(
            "the kernel does not know this file's format: a script needs a #! line \
             (#!/bin/sh), or run it with its interpreter (sh {shown}); a binary may be built \
             for another architecture"
        ),
        Some(libc::ENOTDIR) => "a part of the path is not a directory".to_string(),
        Some(libc::ETXTBSY) => "the file is open for writing: wait until it is written".to_string(),
        Some(libc::E2BIG) => {
            "its arguments and environment are too large for exec: pass fewer or shorter ones"
                .to_string()
        }
        _ => return String::new(),
    };
    format!("; {advice}")
}

/// `waitpid` until `pid` has ended.
fn wait_for(pid: libc::pid_t) -> io::Result<ExitStatus> {
    let (_, raw) = process::wait_retrying(pid, 0)?;
    Ok(ExitStatus::from_raw(raw))
}

impl FilteredCommand {
    /// Run `program` (looked up in `PATH` unless it holds a `/`) under `filters`.
    pub fn new(program: impl AsRef<OsStr>, filters: impl Into<Arc<PreparedFilters>>) -> Self {
        let mut command = FilteredCommand {
            program: CString::default(),
            argv: Vec::new(),
            filters: filters.into(),
            mask: None,
            parent_death_signal: None,
            bad_arg: None,
        };
        command.program = command.c_string(program.as_ref());
        command.argv.push(command.program.clone());
        command
    }

    fn c_string(&mut self, s: &OsStr) -> CString {
        CString::new(s.as_bytes()).unwrap_or_else(|_| {
            self.bad_arg
                .get_or_insert_with(|| format!("{} holds a NUL byte", s.to_string_lossy()));
            CString::default()
        })
    }

    /// Add an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        let arg = self.c_string(arg.as_ref());
        self.argv.push(arg);
        self
    }

    /// Add arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    /// The signal mask the program starts with (default: the calling thread's mask at
    /// [`FilteredCommand::spawn`]).
    pub fn signal_mask(&mut self, mask: libc::sigset_t) -> &mut Self {
        self.mask = Some(mask);
        self
    }

    /// Kill the program (SIGKILL) when the thread that calls [`FilteredCommand::spawn`]
    /// ends, even by SIGKILL, so that it cannot outlive its supervisor
    /// (`PR_SET_PDEATHSIG`, set before the filters are installed). Only for a thread that
    /// lives as long as the program should: the kernel watches that thread, not the process.
    /// The kernel clears it when the program executes a set-user-ID or set-group-ID file or
    /// one with file capabilities.
    pub fn kill_when_parent_dies(&mut self) -> &mut Self {
        self.parent_death_signal = Some(libc::SIGKILL);
        self
    }

    /// Start the program. Returns once it runs under the filters, or with why it does not:
    /// it never runs unfiltered.
    pub fn spawn(&self) -> Result<FilteredChild, SpawnError> {
        if let Some(bad) = &self.bad_arg {
            return Err(SpawnError::InvalidInput(bad.clone()));
        }
        if self.filters.listener_program().is_some() {
            return Err(SpawnError::InvalidInput(
                "these filters ask for a listener, which the program would be the only one to \
                 hold: use CommandExt::seccomp_filters_with_listener"
                    .into(),
            ));
        }
        let mut argv: Vec<*const libc::c_char> = self.argv.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let plan = ChildPlan {
            signal_mask: self.mask,
            parent_death: self.parent_death_signal.map(|sig| (sig, process::getpid())),
            filters: Some(&self.filters),
            exec: Exec::Search {
                program: &self.program,
                argv: &argv,
            },
            ..ChildPlan::new()
        };
        let report = ReportCell::default();
        let pid = plan
            .spawn_vfork(&report)
            .map_err(|e| SpawnError::Start(e.into()))?;
        // The child has executed the program or is gone: what it reported is final.
        let report = report.read();
        let failed = match (report.reached, report.failure) {
            (Some(Step::Exec), None) => None,
            (Some(Step::Install), Some(StepFailure::Install(raw))) => {
                Some(SpawnError::Install(self.filters.explain(raw)))
            }
            (Some(Step::Exec), Some(failure)) => Some(SpawnError::Exec {
                program: OsStr::from_bytes(self.program.as_bytes())
                    .to_string_lossy()
                    .into_owned(),
                source: io::Error::from_raw_os_error(failure.errno()),
            }),
            _ => Some(SpawnError::Start(io::Error::other(
                "the child died before it installed the filters",
            ))),
        };
        match failed {
            Some(err) => {
                // Reap it: it has exited (or been killed) without running the program.
                let _ = wait_for(pid);
                Err(err)
            }
            None => Ok(FilteredChild { pid, status: None }),
        }
    }
}
