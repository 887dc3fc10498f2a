//! The tracer: run a command under a seccomp filter that hands every syscall to sysgate,
//! and count what it does.
//!
//! # How
//!
//! sysgate forks; the child installs a one-instruction filter and executes the program.
//! Every syscall after that, in the program and in every process and thread it creates
//! (they inherit the filter), reaches sysgate exactly once, before the call runs. strace
//! stops twice per call (entry and exit). Two [`Backend`]s deliver the calls:
//!
//! - **ptrace**: the child waits on a pipe until the parent has attached with
//!   `PTRACE_SEIZE` (TRACESECCOMP, TRACEFORK, TRACEVFORK, TRACECLONE, TRACEEXEC, EXITKILL);
//!   the filter is `ret #SECCOMP_RET_TRACE`. At each `PTRACE_EVENT_SECCOMP` stop the tracer
//!   makes two system calls: `PTRACE_GET_SYSCALL_INFO` (arch token, number with the x32
//!   bit, six arguments) and `PTRACE_CONT`. The kernel then runs the call; the TRACE
//!   result is not re-applied after the tracer has seen it.
//! - **notify**: the filter is `ret #SECCOMP_RET_USER_NOTIF` with a listener. The child
//!   publishes the listener's fd number in shared memory (a store, not a system call: every
//!   call already goes to the listener), the parent copies it with `pidfd_getfd`, switches
//!   it to synchronous wake-ups (Linux 6.6) and answers each notification with CONTINUE.
//!   Caller and sysgate hand the CPU to each other without waking another CPU, which is
//!   what makes a stop expensive on small or virtual machines.
//!
//! Per call, sysgate increments one counter in a hash map keyed by (arch token, number,
//! executable), and, for `--args`, notes the flag arguments of the few calls
//! [`super::flag_args`] lists. Both filters are installed with SPEC_ALLOW where the kernel
//! has it.
//!
//! The executable of each task is read from `/proc/PID/exe`: with ptrace at the exec
//! event, inherited on fork and clone, and lazily for a task met before its creator's fork
//! event; with notify at a task's first call and at its first call after an `execve`.
//!
//! # Signals, stops and exits
//!
//! With ptrace, a signal for a tracee is delivered to it (the tracer passes it on at the
//! signal-delivery stop; nothing is swallowed) and a group-stop (SIGSTOP, SIGTSTP, ...) is
//! left in force with `PTRACE_LISTEN`. The loop waits with `__WALL | __WNOTHREAD` until no
//! tracee is left: daemons that double-fork and outlive the program are followed until
//! they exit too. With notify the program is not traced at all, and the loop ends when no
//! task holds the filter (the listener hangs up). With
//! [`TraceOptions::forward_signals`], HUP, INT, QUIT, TERM, USR1, USR2 and WINCH sent to
//! sysgate itself are passed on to the program (with ptrace, once the program has exited,
//! to every remaining tracee).
//!
//! The calling thread becomes the tracer: it must not have other children it expects to
//! wait for while [`trace`] runs (the ptrace loop reaps any child of the calling thread).
//! Other threads' children are not touched.

use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, CString, OsStr, OsString};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::observe::{abi_of, Observations};
use crate::arch::Arch;
use crate::bpf::Insn;
use crate::kernel::sys::child::{ChildPlan, Exec, ListenerTo, ReportCell, Step};
use crate::kernel::sys::ptrace::{self, pt, SeccompInfo};
use crate::kernel::sys::signals::sigset;
use crate::kernel::sys::{self, process, Errno, SharedPage};
use crate::kernel::{
    InstallOptions, Listener, NotifyError, PreparedFilters, Readiness, Response, SignalForwarder,
};
use crate::policy::{effective_args, ret, Action, DecidedBy, Decision, Policy};

/// What to collect besides syscall counts.
///
/// ```
/// use sysgate::learn::TraceOptions;
///
/// let opts = TraceOptions::new().collect_args(true).forward_signals(false);
/// assert!(opts.collects_args());
/// ```
#[derive(Clone, Debug, Default)]
pub struct TraceOptions {
    collect_args: bool,
    complain: Option<Policy>,
    forward_signals: bool,
    backend: Backend,
    progress: Option<Arc<Progress>>,
}

/// How far a running trace has got, updated by the tracer as calls arrive and read from any
/// thread (a progress display): tasks seen, calls counted, distinct syscalls, and the
/// newest one. Relaxed atomics: each number is exact on its own, a snapshot of several need
/// not be taken at one instant.
///
/// ```
/// use std::sync::Arc;
/// use sysgate::learn::{Progress, TraceOptions};
///
/// let progress = Arc::new(Progress::default());
/// let _opts = TraceOptions::new().progress(Arc::clone(&progress));
/// assert_eq!(progress.snapshot().calls, 0);
/// assert_eq!(progress.snapshot().newest, None);
/// ```
#[derive(Debug, Default)]
pub struct Progress {
    tasks: AtomicU64,
    calls: AtomicU64,
    distinct: AtomicU64,
    /// arch token << 32 | number of the newest distinct call (meaningless while `distinct`
    /// is 0).
    newest: AtomicU64,
}

/// The numbers of a [`Progress`] at one reading.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Processes and threads seen (by task id).
    pub tasks: u64,
    /// Calls counted.
    pub calls: u64,
    /// Distinct (ABI, syscall) pairs seen.
    pub distinct: u64,
    /// The newest of them: (audit arch token, number as the kernel reported it).
    pub newest: Option<(u32, u32)>,
}

impl Progress {
    /// The numbers now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let distinct = self.distinct.load(Ordering::Relaxed);
        let n = self.newest.load(Ordering::Relaxed);
        ProgressSnapshot {
            tasks: self.tasks.load(Ordering::Relaxed),
            calls: self.calls.load(Ordering::Relaxed),
            distinct,
            newest: (distinct > 0).then_some(((n >> 32) as u32, n as u32)),
        }
    }

    /// The newest distinct call by name (`x86 getpid`, or `openat` on the native ABI), if
    /// its number has one.
    pub fn newest_name(snapshot: &ProgressSnapshot) -> Option<String> {
        let (token, nr) = snapshot.newest?;
        let arch = abi_of(token, nr)?;
        let name = arch.syscall_name(nr)?;
        Some(if arch == Arch::native() {
            name.to_string()
        } else {
            format!("{arch} {name}")
        })
    }
}

impl TraceOptions {
    /// Counts only; no signal forwarding.
    pub fn new() -> TraceOptions {
        TraceOptions::default()
    }

    /// Also record the flag arguments of the calls [`super::flag_args`] lists.
    pub fn collect_args(mut self, on: bool) -> TraceOptions {
        self.collect_args = on;
        self
    }

    /// Whether flag arguments are recorded.
    pub fn collects_args(&self) -> bool {
        self.collect_args
    }

    /// Complain mode: decide every call with `policy` (the reference evaluator) and record
    /// those it would deny ([`Trace::denials`]); the calls still run.
    pub fn complain(mut self, policy: Policy) -> TraceOptions {
        self.complain = Some(policy);
        self
    }

    /// How calls reach the tracer (default [`Backend::Auto`]).
    pub fn backend(mut self, backend: Backend) -> TraceOptions {
        self.backend = backend;
        self
    }

    /// Pass HUP, INT, QUIT, TERM, USR1, USR2 and WINCH sent to this process on to the
    /// program (a command-line tool wants this; a library caller usually not). Installs
    /// process-wide signal handlers for the duration of the trace
    /// ([`SignalForwarder`](crate::kernel::SignalForwarder): one at a time, so a trace
    /// started while another forwards signals fails with [`TraceError::Spawn`]).
    pub fn forward_signals(mut self, on: bool) -> TraceOptions {
        self.forward_signals = on;
        self
    }

    /// Keep `progress` up to date while tracing (for a live display; costs one set lookup
    /// per call).
    pub fn progress(mut self, progress: Arc<Progress>) -> TraceOptions {
        self.progress = Some(progress);
        self
    }
}

/// How the traced program ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl Exit {
    /// The shell's convention: the status, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// A call complain mode saw denied (or killed, trapped, ...) by the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The caller's audit arch token.
    pub audit_arch: u32,
    /// The ABI, if the policy has it (`None`: the bad-arch action decided).
    pub arch: Option<Arch>,
    /// The number.
    pub nr: u32,
    /// Its name on that ABI, if known.
    pub name: Option<&'static str>,
    /// What the policy would have done.
    pub action: Action,
    /// What decided it.
    pub by: DecidedBy,
    /// How many calls.
    pub count: u64,
    /// The arguments of the first such call (as the filter sees them).
    pub first_args: [u64; 6],
    /// The executable that made the first such call.
    pub exe: String,
}

/// The result of [`trace`].
#[derive(Clone, Debug)]
pub struct Trace {
    /// What the program and its descendants called.
    pub observations: Observations,
    /// How the program (the process sysgate started) ended.
    pub exit: Exit,
    /// Complain mode: the calls the policy would have denied, most frequent first.
    pub denials: Vec<Denial>,
    /// How many tasks (processes and threads) were traced.
    pub tasks: u64,
    /// How many syscall stops (or notifications) were handled.
    pub stops: u64,
    /// The backend that was used.
    pub backend: Backend,
    /// Why [`Backend::Auto`] did not use the backend it stands for, when it did not
    /// (another listener already watches this process: the kernel allows one in a filter
    /// tree, so ptrace was used).
    pub fallback: Option<String>,
    /// Where the program ran differently than it will without sysgate, each with what to
    /// do (with notify, the kernel refuses the program a listener of its own; with ptrace,
    /// `PTRACE_TRACEME`).
    pub warnings: Vec<String>,
}

/// Why a command could not be traced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// An empty command line.
    #[error("no command to run")]
    NoCommand,
    /// The program was not found on PATH.
    #[error(
        "{program}: command not found{}",
        crate::kernel::exec_failure_advice(std::ffi::OsStr::new(.program), &io::Error::from_raw_os_error(libc::ENOENT))
    )]
    NotFound {
        /// As given.
        program: String,
    },
    /// An argument or environment variable contains a NUL byte.
    #[error("{0}: contains a NUL byte")]
    Nul(String),
    /// `fork` or a pipe failed.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// As given.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// The kernel refused `PTRACE_SEIZE` (ptrace backend) or `pidfd_getfd` (notify).
    #[error(
        "cannot trace {program}: ptrace was refused ({source}); a container without \
         CAP_SYS_PTRACE, a seccomp profile that denies ptrace, or \
         /proc/sys/kernel/yama/ptrace_scope = 3 forbids it"
    )]
    Ptrace {
        /// As given.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// The tracing filter could not be installed in the child.
    #[error("cannot install the tracing filter for {program}: {source}")]
    Filter {
        /// As given.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// `execve` failed.
    #[error(
        "cannot execute {program}: {source}{}",
        crate::kernel::exec_failure_advice(std::ffi::OsStr::new(.program), .source)
    )]
    Exec {
        /// As given.
        program: String,
        /// Why.
        source: io::Error,
    },
    /// Waiting for the tracees failed.
    #[error("tracing {program} failed: {source}")]
    Wait {
        /// As given.
        program: String,
        /// Why.
        source: io::Error,
    },
}

/// Run `argv` (program and arguments, the program found on PATH like a shell does) under
/// the tracer and return what it and every process and thread it created called.
///
/// Blocks until the program and all its descendants have exited. The program inherits
/// the standard streams, the environment and the working directory.
///
/// ```no_run
/// use sysgate::learn::{trace, TraceOptions};
///
/// let t = trace(&["ls".into(), "-l".into(), "/".into()], &TraceOptions::new())?;
/// assert_eq!(t.exit.code(), 0);
/// for call in t.observations.calls() {
///     println!("{} {:?} {}x by {}", call.arch, call.name, call.count, call.exe);
/// }
/// # Ok::<(), sysgate::learn::TraceError>(())
/// ```
pub fn trace(argv: &[OsString], options: &TraceOptions) -> Result<Trace, TraceError> {
    let backend = options.backend.resolve();
    match trace_with(argv, options, backend, Stops::Seccomp) {
        // A process that already runs under a filter with a listener (an outer `sysgate
        // learn`, a container whose runtime hands calls to a seccomp agent) cannot install
        // another one: the kernel allows one listener in a filter tree (EBUSY). Nothing
        // was executed (the child failed before exec): trace again with ptrace, which does
        // not need a listener.
        Err(TraceError::Filter { source, .. })
            if options.backend == Backend::Auto
                && backend == Backend::Notify
                && source.raw_os_error() == Some(libc::EBUSY) =>
        {
            // The outer filter's USER_NOTIF outranks a SECCOMP_RET_TRACE of ours, so no
            // seccomp stop would ever come: stop at every syscall entry instead.
            let mut traced = trace_with(argv, options, Backend::Ptrace, Stops::Syscall)?;
            traced.fallback = Some(
                "this process already runs under a seccomp filter with a notification \
                 listener (an outer `sysgate learn`, or a container's seccomp agent), and the \
                 kernel allows one listener per filter tree: traced with ptrace syscall stops \
                 instead of notify (slower)"
                    .into(),
            );
            Ok(traced)
        }
        other => other,
    }
}

/// Where the ptrace backend stops a tracee.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stops {
    /// At `PTRACE_EVENT_SECCOMP`, from a `SECCOMP_RET_TRACE` filter: once per call.
    Seccomp,
    /// At every syscall entry and exit (`PTRACE_SYSCALL`), with no filter: for a process
    /// whose filters already hand calls to a listener, which outranks TRACE.
    Syscall,
}

/// [`trace`] with one backend (not [`Backend::Auto`]).
fn trace_with(
    argv: &[OsString],
    options: &TraceOptions,
    backend: Backend,
    stops: Stops,
) -> Result<Trace, TraceError> {
    let first = argv.first().ok_or(TraceError::NoCommand)?;
    let program = first.to_string_lossy().into_owned();
    let path = find_program(first).ok_or_else(|| TraceError::NotFound {
        program: program.clone(),
    })?;
    let spawn_err = |source: io::Error| TraceError::Spawn {
        program: program.clone(),
        source,
    };

    // Everything the child needs is built here: after fork it may not allocate.
    let c_path = cstring(path.as_os_str())?;
    let c_args = argv
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>, _>>()?;
    let c_env = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstring(&kv)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let argv_ptrs = null_terminated(&c_args);
    let envp_ptrs = null_terminated(&c_env);
    // ptrace: `ret #TRACE`; notify: `ret #USER_NOTIF` with a listener. SPEC_ALLOW: where
    // the kernel forces the speculative-store-bypass mitigation on seccomp tasks, every
    // switch between tracer and tracee would toggle it (an MSR write); learning does not
    // need it. Kernels before 4.17 lack the flag: then without.
    let (ret_value, listener) = match backend {
        Backend::Notify => (ret::USER_NOTIF, true),
        _ => (ret::TRACE, false),
    };
    let trace_all = [Insn::ret(ret_value)];
    let prepare = |options: InstallOptions| {
        PreparedFilters::new(&[&trace_all[..]], &options.new_listener(listener))
            .map_err(|e| spawn_err(io::Error::other(e.to_string())))
    };
    let filter = prepare(InstallOptions::new().spec_allow(true))?;
    let plain_filter = prepare(InstallOptions::new())?;
    // How far the child got, and (notify) the listener fd it publishes.
    let report: SharedPage<ReportCell> = SharedPage::new().map_err(|e| spawn_err(e.into()))?;
    let (go_r, go_w) = process::pipe().map_err(|e| spawn_err(e.into()))?;
    // From here on a forwarded signal waits until the program exists, then reaches it.
    let forwarder = match options.forward_signals {
        true => Some(SignalForwarder::start(&SignalForwarder::SIGNALS, true).map_err(spawn_err)?),
        false => None,
    };
    let plan = ChildPlan {
        go_ahead: Some((go_r.as_fd(), go_w.as_fd())),
        // The program starts with no signal blocked, as `std::process::Command` starts it.
        signal_mask: Some(sigset(&[])),
        // With syscall stops the tracer sees every call without a filter.
        filters: (stops == Stops::Seccomp).then_some(&filter),
        fallback: Some(&plain_filter),
        listener: ListenerTo::Publish,
        exec: Exec::Path {
            path: &c_path,
            argv: &argv_ptrs,
            envp: &envp_ptrs,
        },
        ..ChildPlan::new()
    };
    let pid = plan
        .spawn_forked(report.get())
        .map_err(|e| spawn_err(e.into()))?;
    drop(go_r);

    if backend == Backend::Ptrace {
        let stop_at = match stops {
            Stops::Seccomp => pt::O_TRACESECCOMP,
            Stops::Syscall => pt::O_TRACESYSGOOD,
        };
        let opts = stop_at
            | pt::O_TRACEFORK
            | pt::O_TRACEVFORK
            | pt::O_TRACECLONE
            | pt::O_TRACEEXEC
            | pt::O_EXITKILL;
        // Syscall stops begin once the tracee is resumed with PTRACE_SYSCALL from a stop:
        // stop it now (it waits on the pipe), the loop resumes it.
        let seized = ptrace::seize(pid, opts).and_then(|()| match stops {
            Stops::Syscall => ptrace::interrupt(pid),
            Stops::Seccomp => Ok(()),
        });
        if let Err(e) = seized {
            process::kill(pid, libc::SIGKILL);
            reap(pid);
            return Err(TraceError::Ptrace {
                program,
                source: e.into(),
            });
        }
    }
    // The child may go on: it installs the filter and executes the program.
    let released = process::write_all(go_w.as_fd(), &[1]);
    drop(go_w);
    if let Err(e) = released {
        process::kill(pid, libc::SIGKILL);
        reap(pid);
        return Err(spawn_err(e.into()));
    }

    let mut tracer = Tracer::new(pid, options, stops);
    if let Some(mut forwarder) = forwarder {
        forwarder.attach(pid as u32);
        tracer.forwarder = Some(forwarder);
    }
    // The child's calls before exec (the execve itself) are the program's start: count them
    // under the program, not under sysgate.
    let program_exe = std::fs::canonicalize(&path).unwrap_or(path);
    tracer.set_exe(pid, &program_exe.to_string_lossy());
    let outcome = match backend {
        Backend::Notify => tracer.run_notify(report.get()),
        _ => tracer.run(),
    };
    // The handlers and mask as they were.
    drop(tracer.forwarder.take());
    outcome.map_err(|e| TraceError::Wait {
        program: program.clone(),
        source: e.into(),
    })?;
    if let Some(e) = tracer.refused {
        return Err(TraceError::Ptrace {
            program,
            source: e.into(),
        });
    }

    let report = report.get().read();
    if let Some(failure) = report.failure {
        let errno = failure.errno();
        let source = io::Error::from_raw_os_error(errno);
        return Err(match report.reached {
            // Asked for notify by name: say why it cannot be had ([`trace`] falls back
            // for Auto on the plain EBUSY).
            Some(Step::Install) if options.backend == Backend::Notify && errno == libc::EBUSY => {
                TraceError::Filter {
                    program,
                    source: io::Error::new(
                        source.kind(),
                        format!(
                            "{source}: this process already runs under a filter with a \
                             notification listener, and the kernel allows one per filter \
                             tree; use the ptrace tracer"
                        ),
                    ),
                }
            }
            Some(Step::Install) => TraceError::Filter { program, source },
            Some(Step::Exec) => TraceError::Exec { program, source },
            _ => TraceError::Spawn { program, source },
        });
    }
    Ok(tracer.finish(backend))
}

/// How calls reach the tracer.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// [`Backend::Notify`] on Linux 6.6 and later, else [`Backend::Ptrace`].
    #[default]
    Auto,
    /// `PTRACE_SEIZE` and `SECCOMP_RET_TRACE`: one ptrace stop per syscall (Linux 5.3).
    Ptrace,
    /// `SECCOMP_RET_USER_NOTIF` answered with CONTINUE, the listener in synchronous
    /// wake-up mode (Linux 6.6): the caller and sysgate hand the CPU to each other, with
    /// no cross-CPU wake-ups. Several times cheaper per syscall than a ptrace stop; the
    /// program can use ptrace itself.
    Notify,
}

impl Backend {
    /// The backend [`Backend::Auto`] stands for on the running kernel.
    pub fn resolve(self) -> Backend {
        match self {
            Backend::Auto => match crate::kernel::KernelVersion::running() {
                Some(v) if v.at_least(6, 6) => Backend::Notify,
                _ => Backend::Ptrace,
            },
            other => other,
        }
    }
}

/// Reap a child that was never traced (after a failed seize).
fn reap(pid: i32) {
    let _ = process::wait_retrying(pid, libc::__WALL);
}

/// `waitpid` for the program: its wait status, or `None` with `nohang` if it runs on.
fn wait_child(pid: i32, nohang: bool) -> Result<Option<i32>, Errno> {
    let flags = if nohang { libc::WNOHANG } else { 0 };
    let (got, status) = process::wait_retrying(pid, flags)?;
    Ok((got != 0).then_some(status))
}

fn cstring(s: &OsStr) -> Result<CString, TraceError> {
    CString::new(s.as_bytes()).map_err(|_| TraceError::Nul(s.to_string_lossy().into_owned()))
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The program's path: as given if it contains a slash, else the first executable regular
/// file of that name on PATH (the default path if PATH is unset), as `execvp` finds it.
fn find_program(program: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.is_empty() {
        return None;
    }
    if program.as_bytes().contains(&b'/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                Path::new(".").join(program)
            } else {
                dir.join(program)
            }
        })
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// FxHash: the tracer's maps are keyed by small integers it produces itself, so a fast,
/// non-randomised hash is enough.
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(u64::from(*b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_i32(&mut self, n: i32) {
        self.add(n as u32 as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// (audit arch token, number): a call as the tracer sees it.
type CallKey = (u32, u32);

/// Up to two flag arguments (the most any [`super::FLAG_ARGS`] entry has).
type FlagValues = [u64; 2];

struct Tracer {
    main: i32,
    exit: Option<Exit>,
    /// Passes signals on to the program while it runs ([`TraceOptions::forward_signals`]).
    forwarder: Option<SignalForwarder>,
    /// Task id → executable index.
    tasks: FastMap<i32, u32>,
    exes: Vec<String>,
    exe_index: FastMap<String, u32>,
    counts: FastMap<(u32, u32, u32), u64>,
    /// For `--args`: which indexes to record per call (resolved on first sight).
    flag_spec: Option<FastMap<CallKey, Option<&'static [u8]>>>,
    flag_values: FastMap<CallKey, FastSet<FlagValues>>,
    judge: Option<Judge>,
    seen_tasks: u64,
    stops: u64,
    /// (arch token, number) of execve and execveat on every ABI: after one, the notify
    /// backend reads the caller's executable again.
    execs: FastSet<CallKey>,
    /// The kernel refused to hand over the child's listener (ptrace permission).
    refused: Option<Errno>,
    /// (arch token, number) of seccomp on every ABI: with notify, a filter of the
    /// program's own that asks for a listener fails with EBUSY.
    seccomps: FastSet<CallKey>,
    /// With notify: the executable that asked for a listener of its own, if one did.
    own_listener: Option<u32>,
    /// (arch token, number) of ptrace on every ABI: with ptrace, PTRACE_TRACEME fails
    /// with EPERM (a task has one tracer).
    ptraces: FastSet<CallKey>,
    /// With ptrace: the executable that asked to be traced, if one did.
    trace_me: Option<u32>,
    /// Stopped at every syscall entry and exit rather than by a filter.
    syscall_stops: bool,
    /// With syscall stops: whether the program has been executed (the child's own calls
    /// before, but for the `execve`, are sysgate's, which a filter would not have seen).
    started: bool,
    /// For a live display: the counters, the calls seen so far to tell new ones, and the
    /// task ids seen (a task that executes a program stays one task).
    progress: Option<(Arc<Progress>, FastSet<CallKey>, FastSet<i32>)>,
}

impl Tracer {
    fn new(main: i32, options: &TraceOptions, stops: Stops) -> Tracer {
        Tracer {
            syscall_stops: stops == Stops::Syscall,
            started: false,
            progress: options
                .progress
                .clone()
                .map(|p| (p, FastSet::default(), FastSet::default())),
            main,
            exit: None,
            forwarder: None,
            tasks: FastMap::default(),
            exes: Vec::new(),
            exe_index: FastMap::default(),
            counts: FastMap::default(),
            flag_spec: options.collect_args.then(FastMap::default),
            flag_values: FastMap::default(),
            judge: options.complain.clone().map(Judge::new),
            seen_tasks: 0,
            stops: 0,
            refused: None,
            own_listener: None,
            seccomps: calls_named("seccomp"),
            trace_me: None,
            ptraces: calls_named("ptrace"),
            execs: Arch::ALL
                .iter()
                .flat_map(|a| {
                    ["execve", "execveat"]
                        .into_iter()
                        .filter_map(move |n| a.syscall_number(n).map(|nr| (a.audit_arch(), nr)))
                })
                .collect(),
        }
    }

    /// Handle events until no tracee is left.
    fn run(&mut self) -> Result<(), Errno> {
        loop {
            // Any child or tracee of this thread (and of no other thread); EINTR when a
            // forwarded signal arrives.
            let (pid, status) = match process::waitpid(-1, libc::__WALL | libc::__WNOTHREAD) {
                Ok(x) => x,
                Err(Errno(libc::ECHILD)) => return Ok(()),
                Err(Errno(libc::EINTR)) => {
                    self.interrupted();
                    continue;
                }
                Err(e) => return Err(e),
            };
            if libc::WIFSTOPPED(status) {
                self.stopped(pid, status);
            } else if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.tasks.remove(&pid);
                if pid == self.main {
                    self.exited(status);
                }
            }
        }
    }

    /// A signal reached sysgate while nobody could receive it directly: once the program
    /// has exited, pass it on to every remaining tracee (daemons), so that INT or TERM
    /// ends the trace.
    fn interrupted(&mut self) {
        if let Some(sig) = self.forwarder.as_ref().and_then(|f| f.take_pending()) {
            if self.exit.is_some() {
                for &pid in self.tasks.keys() {
                    process::kill(pid, sig);
                }
            }
        }
    }

    fn stopped(&mut self, pid: i32, status: i32) {
        let sig = libc::WSTOPSIG(status);
        let resume_with = match status >> 16 {
            // A syscall-entry or -exit stop (TRACESYSGOOD marks it): count entries.
            0 if self.syscall_stops && sig == libc::SIGTRAP | 0x80 => {
                if let Ok(info) = ptrace::seccomp_info(pid) {
                    if self.started || self.execs.contains(&(info.arch, info.nr)) {
                        self.count(pid, &info);
                        self.note_trace_me(pid, &info);
                    }
                }
                0
            }
            pt::EVENT_SECCOMP => {
                self.syscall(pid);
                0
            }
            pt::EVENT_FORK | pt::EVENT_VFORK | pt::EVENT_CLONE => {
                if let Ok(new) = ptrace::event_msg(pid) {
                    let exe = self.exe_of(pid);
                    if self.tasks.insert(new as i32, exe).is_none() {
                        self.seen_tasks += 1;
                    }
                }
                0
            }
            pt::EVENT_EXEC => {
                self.started = true;
                // A thread other than the leader that executes takes over the leader's id;
                // its old id is gone.
                if let Ok(former) = ptrace::event_msg(pid) {
                    if former as i32 != pid {
                        self.tasks.remove(&(former as i32));
                    }
                }
                let exe = self.read_exe(pid);
                if self.tasks.insert(pid, exe).is_none() {
                    self.seen_tasks += 1;
                }
                0
            }
            pt::EVENT_STOP => {
                if matches!(
                    sig,
                    libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
                ) {
                    // A group-stop: leave it stopped until SIGCONT, as without a tracer.
                    let _ = ptrace::listen(pid);
                    return;
                }
                // The first stop of an automatically attached task, or the end of a
                // group-stop.
                0
            }
            // A signal-delivery stop: deliver the signal.
            0 => sig,
            _ => 0,
        };
        // ESRCH: the task was killed meanwhile; its exit comes next.
        let _ = ptrace::cont(pid, resume_with, self.syscall_stops);
    }

    /// A seccomp stop: count the call. The hot path.
    fn syscall(&mut self, pid: i32) {
        if let Ok(info) = ptrace::seccomp_info(pid) {
            self.count(pid, &info);
            self.note_trace_me(pid, &info);
        }
    }

    /// With ptrace: note a `ptrace(PTRACE_TRACEME)`, which the kernel refuses (EPERM) to a
    /// task sysgate traces.
    fn note_trace_me(&mut self, pid: i32, info: &SeccompInfo) {
        const PTRACE_TRACEME: u64 = 0;
        if self.trace_me.is_some() || !self.ptraces.contains(&(info.arch, info.nr)) {
            return;
        }
        let Some(arch) = abi_of(info.arch, info.nr) else {
            return;
        };
        if effective_args(arch, &info.args)[0] == PTRACE_TRACEME {
            self.trace_me = self.tasks.get(&pid).copied();
        }
    }

    /// Handle notifications until no task uses the filter any more, then reap the
    /// program. The child publishes the listener's fd number in `report` once the filter
    /// is installed.
    fn run_notify(&mut self, report: &ReportCell) -> Result<(), Errno> {
        let fd = loop {
            match report.published_listener() {
                None => {
                    // Not installed yet, or the child failed before (it reports why).
                    if let Some(status) = wait_child(self.main, true)? {
                        self.exited(status);
                        return Ok(());
                    }
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                Some(fd) => break fd,
            }
        };
        let listener = match process::take_fd(self.main, fd) {
            Ok(l) => l,
            Err(e) => {
                process::kill(self.main, libc::SIGKILL);
                let _ = wait_child(self.main, false);
                self.refused = Some(e);
                return Ok(());
            }
        };
        // Without synchronous wake-ups it still works, only slower.
        let _ = sys::notif_sync_wake_up(listener.as_fd());
        let listener = Listener::from(listener);
        loop {
            match listener.wait(None) {
                Ok(Readiness::Notification) => {}
                Ok(Readiness::Hangup) => break,
                Ok(Readiness::Timeout) => continue,
                Err(_) => break,
            }
            let n = match listener.recv() {
                Ok(n) => n,
                Err(NotifyError::Gone { .. }) => continue,
                Err(_) => break,
            };
            let pid = n.pid as i32;
            let info = SeccompInfo {
                arch: n.data.arch,
                nr: n.data.nr,
                args: n.data.args,
            };
            self.count(pid, &info);
            if self.own_listener.is_none() && self.asks_for_listener(&info) {
                self.own_listener = self.tasks.get(&pid).copied();
            }
            // The call runs as issued. Gone: the caller was killed or interrupted.
            let _ = listener.respond(n.id, Response::Continue);
            if self.execs.contains(&(info.arch, info.nr)) {
                // Read the new executable at the task's next call.
                self.tasks.remove(&pid);
            }
        }
        if let Some(status) = wait_child(self.main, false)? {
            self.exited(status);
        }
        Ok(())
    }

    /// Whether the call is `seccomp(SECCOMP_SET_MODE_FILTER, flags with
    /// SECCOMP_FILTER_FLAG_NEW_LISTENER, ...)`, which the kernel refuses (EBUSY) below the
    /// notify backend's own listener.
    fn asks_for_listener(&self, info: &SeccompInfo) -> bool {
        const SECCOMP_SET_MODE_FILTER: u64 = 1;
        const SECCOMP_FILTER_FLAG_NEW_LISTENER: u64 = 1 << 3;
        if !self.seccomps.contains(&(info.arch, info.nr)) {
            return false;
        }
        let Some(arch) = abi_of(info.arch, info.nr) else {
            return false;
        };
        let args = effective_args(arch, &info.args);
        args[0] == SECCOMP_SET_MODE_FILTER && args[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
    }

    fn exited(&mut self, status: i32) {
        self.exit = Some(if libc::WIFEXITED(status) {
            Exit::Code(libc::WEXITSTATUS(status))
        } else {
            Exit::Signal(libc::WTERMSIG(status))
        });
        if let Some(forwarder) = &mut self.forwarder {
            forwarder.detach();
        }
    }

    /// Count one call of task `pid`.
    fn count(&mut self, pid: i32, info: &SeccompInfo) {
        let info = *info;
        self.stops += 1;
        let exe = self.exe_of(pid);
        if let Some((progress, seen, tasks)) = &mut self.progress {
            progress.calls.store(self.stops, Ordering::Relaxed);
            if tasks.insert(pid) {
                progress.tasks.store(tasks.len() as u64, Ordering::Relaxed);
            }
            if seen.insert((info.arch, info.nr)) {
                progress
                    .distinct
                    .store(seen.len() as u64, Ordering::Relaxed);
                let key = u64::from(info.arch) << 32 | u64::from(info.nr);
                progress.newest.store(key, Ordering::Relaxed);
            }
        }
        *self.counts.entry((info.arch, info.nr, exe)).or_insert(0) += 1;
        if let Some(spec) = &mut self.flag_spec {
            let indexes = *spec
                .entry((info.arch, info.nr))
                .or_insert_with(|| flag_spec_for(info.arch, info.nr));
            if let Some(indexes) = indexes {
                let args = match abi_of(info.arch, info.nr) {
                    Some(arch) => effective_args(arch, &info.args),
                    None => info.args,
                };
                let mut values = [0u64; 2];
                for (slot, &i) in values.iter_mut().zip(indexes) {
                    *slot = args[usize::from(i)];
                }
                self.flag_values
                    .entry((info.arch, info.nr))
                    .or_default()
                    .insert(values);
            }
        }
        if let Some(judge) = &mut self.judge {
            judge.judge(&info, exe);
        }
    }

    fn exe_of(&mut self, pid: i32) -> u32 {
        match self.tasks.get(&pid) {
            Some(&e) => e,
            None => {
                let e = self.read_exe(pid);
                self.tasks.insert(pid, e);
                self.seen_tasks += 1;
                e
            }
        }
    }

    fn read_exe(&mut self, pid: i32) -> u32 {
        let path = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "?".to_string());
        self.intern(path)
    }

    fn intern(&mut self, path: String) -> u32 {
        if let Some(&i) = self.exe_index.get(&path) {
            return i;
        }
        let i = self.exes.len() as u32;
        self.exes.push(path.clone());
        self.exe_index.insert(path, i);
        i
    }

    fn set_exe(&mut self, pid: i32, exe: &str) {
        let e = self.intern(exe.to_string());
        if self.tasks.insert(pid, e).is_none() {
            self.seen_tasks += 1;
        }
    }

    fn finish(self, backend: Backend) -> Trace {
        let mut observations = Observations::default();
        let mut counts: Vec<_> = self.counts.into_iter().collect();
        counts.sort_unstable();
        for ((token, nr, exe), count) in counts {
            match abi_of(token, nr) {
                Some(arch) => observations.record(arch, nr, &self.exes[exe as usize], count),
                None => observations.record_unknown_arch(token, nr, count),
            }
        }
        let spec = self.flag_spec.unwrap_or_default();
        for ((token, nr), set) in self.flag_values {
            let (Some(arch), Some(Some(indexes))) = (abi_of(token, nr), spec.get(&(token, nr)))
            else {
                continue;
            };
            for values in set {
                observations.record_args(arch, nr, values[..indexes.len()].to_vec());
            }
        }
        let denials = self.judge.map(|j| j.finish(&self.exes)).unwrap_or_default();
        let own_listener = self.own_listener.map(|e| {
            format!(
                "{} installed a seccomp filter with a notification listener of its own, \
                 which the kernel refused (EBUSY: one listener per filter tree, and the \
                 notify tracer holds it), so it ran differently than it will under its \
                 profile: learn it again with --tracer ptrace",
                self.exes[e as usize]
            )
        });
        let trace_me = self.trace_me.map(|e| {
            format!(
                "{} called ptrace(PTRACE_TRACEME), which the kernel refused (EPERM: a task \
                 has one tracer, and sysgate is it), so it ran differently than it will \
                 under its profile: learn it again with --tracer notify",
                self.exes[e as usize]
            )
        });
        let warnings = own_listener.into_iter().chain(trace_me).collect();
        Trace {
            observations,
            exit: self.exit.unwrap_or(Exit::Code(0)),
            denials,
            tasks: self.seen_tasks,
            stops: self.stops,
            backend,
            fallback: None,
            warnings,
        }
    }
}

/// (arch token, number) of the syscall `name` on every ABI that has it.
fn calls_named(name: &str) -> FastSet<CallKey> {
    Arch::ALL
        .iter()
        .filter_map(|a| a.syscall_number(name).map(|nr| (a.audit_arch(), nr)))
        .collect()
}

fn flag_spec_for(token: u32, nr: u32) -> Option<&'static [u8]> {
    let arch = abi_of(token, nr)?;
    super::flag_args(arch.syscall_name(nr)?, arch)
}

/// Complain mode's bookkeeping: decisions (cached where arguments cannot matter) and the
/// calls that would have been denied.
struct Judge {
    policy: Policy,
    cache: FastMap<CallKey, Option<Decision>>,
    denied: FastMap<(u32, u32, DecidedBy), Denied>,
}

struct Denied {
    arch: Option<Arch>,
    action: Action,
    count: u64,
    first_args: [u64; 6],
    exe: u32,
}

impl Judge {
    fn new(policy: Policy) -> Judge {
        Judge {
            policy,
            cache: FastMap::default(),
            denied: FastMap::default(),
        }
    }

    /// Whether the decision for this call can depend on its arguments.
    fn depends_on_args(&self, token: u32, nr: u32) -> bool {
        let Some(arch) = self.policy.abi_for(token, nr) else {
            return false;
        };
        arch.multiplexed_calls().any(|(_, m)| m.syscall == nr)
            || self
                .policy
                .rules()
                .iter()
                .any(|r| !r.conds.is_empty() && self.policy.rule_targets(r, arch) == Some(nr))
    }

    fn judge(&mut self, info: &SeccompInfo, exe: u32) {
        let key = (info.arch, info.nr);
        let cached = match self.cache.get(&key) {
            Some(c) => *c,
            None => {
                let d = (!self.depends_on_args(info.arch, info.nr))
                    .then(|| self.policy.decide_raw(info.arch, info.nr, &info.args));
                self.cache.insert(key, d);
                d
            }
        };
        let d = cached.unwrap_or_else(|| self.policy.decide_raw(info.arch, info.nr, &info.args));
        if d.action.permits() {
            return;
        }
        let entry = self
            .denied
            .entry((info.arch, info.nr, d.by))
            .or_insert_with(|| Denied {
                arch: d.arch,
                action: d.action,
                count: 0,
                first_args: match d.arch {
                    Some(a) => effective_args(a, &info.args),
                    None => info.args,
                },
                exe,
            });
        entry.count += 1;
    }

    fn finish(self, exes: &[String]) -> Vec<Denial> {
        let mut out: Vec<Denial> = self
            .denied
            .into_iter()
            .map(|((token, nr, by), d)| Denial {
                audit_arch: token,
                arch: d.arch,
                nr,
                name: d.arch.and_then(|a| a.syscall_name(nr)),
                action: d.action,
                by,
                count: d.count,
                first_args: d.first_args,
                exe: exes
                    .get(d.exe as usize)
                    .cloned()
                    .unwrap_or_else(|| "?".into()),
            })
            .collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.audit_arch.cmp(&b.audit_arch))
                .then(a.nr.cmp(&b.nr))
        });
        out
    }
}
