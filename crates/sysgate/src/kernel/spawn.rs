//! Starting a program under filters without copying the parent: [`FilteredCommand`].
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
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;

use libc::c_int;

use super::install::{InstallError, PreparedFilters, RawFailure};

/// The child's stack: `execvp` needs a path buffer and the install a few frames.
const CHILD_STACK: usize = 256 * 1024;

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
    #[error("cannot execute the program: {0}")]
    Exec(#[source] io::Error),
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
}

/// `waitpid` until `pid` has ended.
fn wait_for(pid: libc::pid_t) -> io::Result<ExitStatus> {
    let mut raw: c_int = 0;
    loop {
        // SAFETY: waiting for our own child, with a live out-parameter.
        if unsafe { libc::waitpid(pid, &mut raw, 0) } == pid {
            return Ok(ExitStatus::from_raw(raw));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
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
        let stack = ChildStack::new().map_err(SpawnError::Start)?;

        let all = full_sigset();
        let mut old = empty_sigset();
        // SAFETY: both sets are initialised; blocking every signal in this thread so that
        // none of the parent's handlers can run in the child while it shares our memory.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old) };
        if rc != 0 {
            return Err(SpawnError::Start(io::Error::from_raw_os_error(rc)));
        }
        let mut child = ChildArgs {
            program: self.program.as_ptr(),
            argv: argv.as_ptr(),
            filters: &self.filters,
            mask: self.mask.unwrap_or(old),
            parent_death_signal: self.parent_death_signal.unwrap_or(0),
            // SAFETY: getpid has no preconditions.
            parent: unsafe { libc::getpid() },
            stage: Stage::NotReached,
            failure: None,
            exec_errno: 0,
        };
        // SAFETY: `child_main` only makes raw system calls on `child`, which outlives the
        // child's use of it: with CLONE_VFORK this thread is suspended until the child has
        // called execve successfully or exited, and the stack stays mapped until then.
        let pid = unsafe {
            libc::clone(
                child_main,
                stack.top(),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                std::ptr::addr_of_mut!(child).cast(),
            )
        };
        let clone_error = io::Error::last_os_error();
        // SAFETY: restoring the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        drop(stack);
        if pid < 0 {
            return Err(SpawnError::Start(clone_error));
        }
        // The child has executed the program or is gone: what it wrote is final.
        let failed = match child.stage {
            Stage::InstallFailed => Some(match child.failure {
                Some(raw) => SpawnError::Install(self.filters.explain(raw)),
                None => SpawnError::Start(io::Error::other("the child lost its report")),
            }),
            Stage::ExecFailed => Some(SpawnError::Exec(io::Error::from_raw_os_error(
                child.exec_errno,
            ))),
            Stage::NotReached | Stage::Installing => Some(SpawnError::Start(io::Error::other(
                "the child died before it installed the filters",
            ))),
            Stage::Executing => None,
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

/// How far the child got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    NotReached,
    Installing,
    InstallFailed,
    Executing,
    ExecFailed,
}

/// What the child reads and writes: in the parent's memory, which it shares.
struct ChildArgs<'a> {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    filters: &'a PreparedFilters,
    mask: libc::sigset_t,
    /// 0, or the signal for `PR_SET_PDEATHSIG`.
    parent_death_signal: c_int,
    /// The parent's pid, to tell whether it died before the death signal was set.
    parent: libc::pid_t,
    stage: Stage,
    failure: Option<RawFailure>,
    exec_errno: c_int,
}

/// The child, until `exec`: raw system calls only, no allocation, no locks, no unwinding.
extern "C" fn child_main(arg: *mut libc::c_void) -> c_int {
    // SAFETY: `arg` is the `ChildArgs` the suspended parent passed to clone; nothing else
    // touches it until the child has executed or exited.
    let child = unsafe { &mut *arg.cast::<ChildArgs>() };
    // Handlers are the parent's code on the parent's data: none may run here. Signals
    // ignored stay ignored across exec; SIGPIPE gets its default, as std gives it.
    for sig in 1..=libc::SIGRTMAX() {
        if matches!(sig, libc::SIGKILL | libc::SIGSTOP) {
            continue;
        }
        // SAFETY: reading and setting dispositions with zeroed plain-data structs; a
        // signal the C library reserves for itself fails with EINVAL and is left alone.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut current) != 0 {
                continue;
            }
            let caught =
                current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN;
            if caught || sig == libc::SIGPIPE {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &default, std::ptr::null_mut());
            }
        }
    }
    // SAFETY: a plain sigset copied from the parent; this process has one thread.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &child.mask, std::ptr::null_mut()) };

    if child.parent_death_signal != 0 {
        // SAFETY: prctl with integer arguments; getppid has no preconditions. The parent
        // may have died (SIGKILL) before the signal was armed: then nothing would send it,
        // so stop here as it would have.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                child.parent_death_signal as libc::c_ulong,
                0,
                0,
                0,
            );
            if libc::getppid() != child.parent {
                libc::_exit(127);
            }
        }
    }
    child.stage = Stage::Installing;
    if let Err(failure) = child.filters.apply() {
        child.failure = Some(failure);
        child.stage = Stage::InstallFailed;
        // SAFETY: leaving without running the parent's exit handlers.
        unsafe { libc::_exit(127) };
    }
    child.stage = Stage::Executing;
    // SAFETY: NUL-terminated strings and a NULL-terminated array, all alive in the
    // suspended parent; execvp only returns on failure.
    unsafe { libc::execvp(child.program, child.argv) };
    child.exec_errno = io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::ENOEXEC);
    child.stage = Stage::ExecFailed;
    // SAFETY: as above.
    unsafe { libc::_exit(127) }
}

/// The child's stack: an anonymous mapping with a guard page at its low end.
struct ChildStack {
    base: *mut libc::c_void,
}

impl ChildStack {
    fn new() -> io::Result<ChildStack> {
        // SAFETY: a fresh private anonymous mapping; the kernel picks the address.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                CHILD_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base };
        // SAFETY: the lowest page of the mapping just made: an overflow faults instead of
        // writing below the stack.
        if unsafe { libc::mprotect(base, page_size(), libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The highest address: stacks grow down on every architecture sysgate runs on.
    fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping, 16-byte aligned (page aligned).
        unsafe { self.base.cast::<u8>().add(CHILD_STACK).cast() }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; the child no longer runs on it.
        unsafe { libc::munmap(self.base, CHILD_STACK) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf with a valid name.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

fn full_sigset() -> libc::sigset_t {
    let mut set = empty_sigset();
    // SAFETY: `set` is a live sigset.
    unsafe { libc::sigfillset(&mut set) };
    set
}

fn empty_sigset() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    }
}
