//! Installing seccomp programs into the calling thread or, with TSYNC, the whole process.
//!
//! This file owns the install sequence: `no_new_privs`, then one `seccomp(2)` call per
//! program (stacked in order, with the prctl fallback for kernels older than 3.17), and
//! the translation of the kernel's answers into [`InstallError`]s. It does not compile or
//! check programs (that is [`crate::bpf`]'s job) and it does not decide which flags a
//! kernel supports (see [`super::probe`] and [`super::compat`]).
//!
//! The sequence is split in two so that it can run after `fork`:
//! [`PreparedFilters::new`] validates and copies everything up front, and applying it
//! only makes raw system calls (no allocation, no locks). [`super::CommandExt`] uses the
//! same prepared value in a child.

use std::ffi::c_long;
use std::io;
use std::os::fd::{OwnedFd, RawFd};

use super::notify::Listener;
use super::sys::{self, Errno};
use crate::bpf::{op, FilterFlag, Insn, MAX_INSNS};
use crate::policy::{ret, Attributes, KernelFlags};

pub use crate::bpf::MAX_INSNS_PER_PATH;

/// How to install: `no_new_privs` and the `seccomp(2)` flags.
///
/// The default sets `no_new_privs` and no flags: the programs go into the calling thread
/// only (and the threads and processes it creates later). [`InstallOptions::tsync`]
/// installs them into every thread of the process instead.
///
/// ```
/// use sysgate::kernel::InstallOptions;
/// use sysgate::policy::{Action, Policy};
///
/// let opts = InstallOptions::new().tsync(true).log(true);
/// assert!(opts.flags().tsync && opts.flags().log && opts.sets_no_new_privs());
///
/// // Or carry them over from a policy's attributes.
/// let policy = Policy::new(Action::Allow);
/// let opts = InstallOptions::from(&policy.attrs);
/// assert!(opts.sets_no_new_privs());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstallOptions {
    flags: KernelFlags,
    no_new_privs: bool,
}

impl Default for InstallOptions {
    fn default() -> InstallOptions {
        InstallOptions::new()
    }
}

impl From<&Attributes> for InstallOptions {
    fn from(attrs: &Attributes) -> InstallOptions {
        InstallOptions {
            flags: attrs.flags,
            no_new_privs: attrs.no_new_privs,
        }
    }
}

impl InstallOptions {
    /// Set `no_new_privs`, no flags.
    pub const fn new() -> InstallOptions {
        InstallOptions {
            flags: KernelFlags::NONE,
            no_new_privs: true,
        }
    }

    /// Whether to call `prctl(PR_SET_NO_NEW_PRIVS, 1)` first. Without it, the kernel only
    /// accepts a filter from a thread with CAP_SYS_ADMIN in its user namespace
    /// ([`InstallError::PermissionDenied`]).
    pub const fn no_new_privs(mut self, on: bool) -> InstallOptions {
        self.no_new_privs = on;
        self
    }

    /// All flags at once.
    pub const fn with_flags(mut self, flags: KernelFlags) -> InstallOptions {
        self.flags = flags;
        self
    }

    /// TSYNC: install into every thread of the process, or fail naming the thread that
    /// cannot follow ([`InstallError::ThreadNotSynchronised`]).
    pub const fn tsync(mut self, on: bool) -> InstallOptions {
        self.flags.tsync = on;
        self
    }

    /// LOG: log every action except ALLOW (subject to `actions_logged`).
    pub const fn log(mut self, on: bool) -> InstallOptions {
        self.flags.log = on;
        self
    }

    /// SPEC_ALLOW: leave speculative-store-bypass mitigation as it is.
    pub const fn spec_allow(mut self, on: bool) -> InstallOptions {
        self.flags.spec_allow = on;
        self
    }

    /// NEW_LISTENER: return a user-notification listener ([`Installed::listener`]).
    pub const fn new_listener(mut self, on: bool) -> InstallOptions {
        self.flags.new_listener = on;
        self
    }

    /// TSYNC_ESRCH: a TSYNC failure returns ESRCH instead of a thread id (needed to combine
    /// TSYNC with NEW_LISTENER).
    pub const fn tsync_esrch(mut self, on: bool) -> InstallOptions {
        self.flags.tsync_esrch = on;
        self
    }

    /// WAIT_KILLABLE_RECV: notified tasks wait killably once the supervisor has received
    /// their notification (needs NEW_LISTENER).
    pub const fn wait_killable_recv(mut self, on: bool) -> InstallOptions {
        self.flags.wait_killable_recv = on;
        self
    }

    /// The flags.
    pub const fn flags(&self) -> KernelFlags {
        self.flags
    }

    /// Whether `no_new_privs` is set before installing.
    pub const fn sets_no_new_privs(&self) -> bool {
        self.no_new_privs
    }
}

/// Why programs could not be installed.
///
/// Programs are installed one by one; when installing program `#i` fails, programs
/// `#0..i` stay installed (the kernel cannot remove a filter) and so does `no_new_privs`.
/// [`InstallError::installed`] says how many.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Nothing to install.
    #[error("no programs to install")]
    NoPrograms,
    /// The programs were compiled for other architectures than this process's: installed,
    /// their bad-arch action would answer its next call (a child's `execve` included).
    #[error(
        "the filter is for {} only, but this process makes {native} calls: installed here, \
         its bad-arch action ({bad_arch}) would answer every one of them; compile it with \
         {native} among its architectures",
        arches.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
    )]
    ForeignArch {
        /// The architectures the programs were compiled for.
        arches: Vec<crate::Arch>,
        /// This process's architecture.
        native: crate::Arch,
        /// What the programs do with calls from other architectures.
        bad_arch: crate::policy::Action,
    },
    /// A program without instructions.
    #[error("program #{index} is empty; the kernel needs at least one instruction")]
    EmptyProgram {
        /// Which program.
        index: usize,
    },
    /// A program over the kernel's per-filter limit.
    #[error("program #{index} has {len} instructions; one filter may have at most {MAX_INSNS}")]
    ProgramTooLong {
        /// Which program.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The programs together exceed what one thread may hold.
    #[error(
        "the programs hold {total} instructions counting the kernel's 4-instruction penalty \
         per stacked filter; one thread's filters may hold at most {MAX_INSNS_PER_PATH}"
    )]
    PathTooLong {
        /// Instructions, with penalties.
        total: usize,
    },
    /// A flag that only makes sense with another one.
    #[error("flag {flag} needs flag {needs} (the kernel rejects it alone)")]
    FlagNeedsFlag {
        /// The flag.
        flag: FilterFlag,
        /// The flag it needs.
        needs: FilterFlag,
    },
    /// TSYNC with NEW_LISTENER but without TSYNC_ESRCH.
    #[error(
        "TSYNC with NEW_LISTENER needs TSYNC_ESRCH: otherwise a positive return value could be \
         a listener fd or the id of a thread TSYNC failed on, and the kernel refuses"
    )]
    TsyncListenerNeedsEsrch,
    /// Several programs may return USER_NOTIF, but only one filter can have the listener.
    #[error(
        "programs #{first} and #{second} can both return USER_NOTIF, but NEW_LISTENER gives a \
         listener to one filter only; notifications from the other would fail with ENOSYS"
    )]
    SeveralNotifyingPrograms {
        /// One program.
        first: usize,
        /// Another.
        second: usize,
    },
    /// `prctl(PR_SET_NO_NEW_PRIVS)` failed.
    #[error("could not set no_new_privs: {source}")]
    NoNewPrivs {
        /// The kernel's answer.
        source: io::Error,
    },
    /// EACCES: the thread lacks CAP_SYS_ADMIN and `no_new_privs` is not set.
    #[error(
        "the kernel refused program #{index} (EACCES): this thread has no CAP_SYS_ADMIN and \
         no_new_privs is not set{}",
        if *no_new_privs_requested { "" } else {
            "; install with no_new_privs (InstallOptions::no_new_privs(true), or \
             Attributes::no_new_privs)"
        }
    )]
    PermissionDenied {
        /// The program the kernel refused.
        index: usize,
        /// Whether these options asked for `no_new_privs`.
        no_new_privs_requested: bool,
    },
    /// TSYNC could not move a thread to the new filter: it is in strict mode or has
    /// filters of its own that the caller's do not descend from.
    #[error(
        "TSYNC failed on program #{index}: {} cannot be synchronised (it is in strict mode or \
         has installed seccomp filters of its own)",
        describe_thread(*tid, name.as_deref())
    )]
    ThreadNotSynchronised {
        /// The program being installed.
        index: usize,
        /// The thread's id, as the kernel returned it (`None` with TSYNC_ESRCH).
        tid: Option<i32>,
        /// The thread's name from `/proc/self/task/TID/comm`, if it could be read.
        name: Option<String>,
    },
    /// EINVAL with flags the kernel does not accept.
    #[error("the kernel rejected flags {flags} of program #{index} (EINVAL): it does not know one of them, or not in this combination")]
    UnsupportedFlags {
        /// The program.
        index: usize,
        /// The flags, as `TSYNC|LOG`.
        flags: String,
    },
    /// EINVAL on the program itself.
    #[error(
        "the kernel rejected program #{index} (EINVAL): it has an instruction seccomp does not \
         allow, a load outside seccomp_data, a jump out of range or a path without a return"
    )]
    InvalidProgram {
        /// The program.
        index: usize,
    },
    /// EBUSY: the thread already has a filter with a listener.
    #[error("program #{index} asks for a listener, but a filter with a listener is already installed on this thread (EBUSY)")]
    ListenerExists {
        /// The program.
        index: usize,
    },
    /// ENOMEM: with the filters already installed, the thread would exceed
    /// [`MAX_INSNS_PER_PATH`].
    #[error(
        "the kernel refused program #{index} (ENOMEM): together with the filters installed \
         earlier it exceeds {MAX_INSNS_PER_PATH} instructions (4 more per filter)"
    )]
    TooManyInstructions {
        /// The program.
        index: usize,
    },
    /// `seccomp(2)` is missing (Linux < 3.17) and flags were asked for, which `prctl`
    /// cannot pass.
    #[error("seccomp(2) is not available (ENOSYS) and flags {flags} cannot be passed through prctl(PR_SET_SECCOMP)")]
    FlagsNeedSeccompSyscall {
        /// The program.
        index: usize,
        /// The flags, as `TSYNC|LOG`.
        flags: String,
    },
    /// Any other answer.
    #[error("installing program #{index} failed: {source}")]
    Kernel {
        /// The program.
        index: usize,
        /// The kernel's answer.
        source: io::Error,
    },
}

fn describe_thread(tid: Option<i32>, name: Option<&str>) -> String {
    match (tid, name) {
        (Some(t), Some(n)) => format!("thread {t} ({n:?})"),
        (Some(t), None) => format!("thread {t}"),
        (None, _) => "a thread (the kernel gave no id: TSYNC_ESRCH)".into(),
    }
}

impl InstallError {
    /// How many of the programs are installed (they stay installed after a failure).
    pub fn installed(&self) -> usize {
        match self {
            InstallError::PermissionDenied { index, .. }
            | InstallError::ThreadNotSynchronised { index, .. }
            | InstallError::UnsupportedFlags { index, .. }
            | InstallError::InvalidProgram { index }
            | InstallError::ListenerExists { index }
            | InstallError::TooManyInstructions { index }
            | InstallError::FlagsNeedSeccompSyscall { index, .. }
            | InstallError::Kernel { index, .. } => *index,
            _ => 0,
        }
    }
}

/// What an installation produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct Installed {
    /// The user-notification listener, with NEW_LISTENER.
    pub listener: Option<OwnedFd>,
    /// How many filters were installed.
    pub filters: usize,
    /// Whether `prctl(PR_SET_SECCOMP)` was used because `seccomp(2)` is missing.
    pub via_prctl: bool,
}

impl Installed {
    /// The listener, ready to [`Listener::recv`].
    pub fn into_listener(self) -> Option<Listener> {
        self.listener.map(Listener::from)
    }
}

/// One program, copied, with the flags it is installed with.
#[derive(Clone, Debug)]
struct PreparedFilter {
    insns: Box<[Insn]>,
    flags: u64,
}

/// Programs and options, checked and copied so that installing them makes only raw system
/// calls. Build one before starting a child; apply it there with [`super::FilteredCommand`]
/// or [`super::CommandExt`], or in the calling thread with [`PreparedFilters::install`].
///
/// The checks are the ones that need no kernel: at least one program, each of 1 to
/// [`MAX_INSNS`] instructions, all within [`MAX_INSNS_PER_PATH`], flag combinations the
/// kernel accepts, and at most one program that can return USER_NOTIF when a listener is
/// asked for. Whether the instructions themselves are valid is the kernel's call.
///
/// Flags go to every program, except NEW_LISTENER and WAIT_KILLABLE_RECV, which go to the
/// one program that can return USER_NOTIF (or the last program if none can): the kernel
/// hands a notification to the listener of the filter that returned USER_NOTIF, and allows
/// one listener per thread.
///
/// ```
/// use sysgate::compile::compile;
/// use sysgate::kernel::{InstallOptions, PreparedFilters};
/// use sysgate::policy::{Action, Policy, Rule};
///
/// let allow_all = compile(&Policy::new(Action::Allow))?;
/// let mut notify = Policy::new(Action::Allow);
/// notify.add_rule(Rule::new(Action::UserNotif, "uname"))?;
/// let notify_uname = compile(&notify)?;
/// let prepared = PreparedFilters::new(
///     &[&allow_all.programs[0], &notify_uname.programs[0]],
///     &InstallOptions::new().new_listener(true),
/// )?;
/// assert_eq!(prepared.len(), 2);
/// assert_eq!(prepared.listener_program(), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct PreparedFilters {
    filters: Vec<PreparedFilter>,
    options: InstallOptions,
    listener_program: Option<usize>,
}

/// What applying produced, as raw values (safe to build after fork).
pub(crate) struct Applied {
    pub listener: Option<RawFd>,
    pub filters: usize,
    pub via_prctl: bool,
}

/// Why applying failed, as raw values (safe to build after fork).
#[derive(Copy, Clone, Debug)]
pub(crate) enum RawFailure {
    NoNewPrivs(Errno),
    Filter { index: usize, errno: Errno },
    Tsync { index: usize, tid: c_long },
    FlagsNeedSeccomp { index: usize },
}

impl RawFailure {
    /// The errno a child reports to its parent: the kernel's, ESRCH for a TSYNC failure
    /// (as TSYNC_ESRCH would), ENOSYS for missing `seccomp(2)`.
    pub(crate) fn errno(self) -> i32 {
        match self {
            RawFailure::NoNewPrivs(e) | RawFailure::Filter { errno: e, .. } => e.0,
            RawFailure::Tsync { .. } => libc::ESRCH,
            RawFailure::FlagsNeedSeccomp { .. } => libc::ENOSYS,
        }
    }
}

/// Whether a program has a `ret` that can produce USER_NOTIF (`ret #USER_NOTIF`, or
/// `ret a`, which can return anything).
fn may_return_user_notif(insns: &[Insn]) -> bool {
    insns.iter().any(|i| {
        i.code == op::RET | op::A
            || (i.code == op::RET | op::K && i.k & ret::ACTION_FULL == ret::USER_NOTIF)
    })
}

impl PreparedFilters {
    /// Check and copy `programs` (installed in this order) with `options`.
    pub fn new<P: AsRef<[Insn]>>(
        programs: &[P],
        options: &InstallOptions,
    ) -> Result<PreparedFilters, InstallError> {
        if programs.is_empty() {
            return Err(InstallError::NoPrograms);
        }
        let mut total = 0;
        for (index, p) in programs.iter().enumerate() {
            let len = p.as_ref().len();
            if len == 0 {
                return Err(InstallError::EmptyProgram { index });
            }
            if len > MAX_INSNS {
                return Err(InstallError::ProgramTooLong { index, len });
            }
            total += len + if index > 0 { 4 } else { 0 };
        }
        if total > MAX_INSNS_PER_PATH {
            return Err(InstallError::PathTooLong { total });
        }

        let f = options.flags;
        if f.wait_killable_recv && !f.new_listener {
            return Err(InstallError::FlagNeedsFlag {
                flag: FilterFlag::WaitKillableRecv,
                needs: FilterFlag::NewListener,
            });
        }
        if f.tsync && f.new_listener && !f.tsync_esrch {
            return Err(InstallError::TsyncListenerNeedsEsrch);
        }

        let listener_program = if f.new_listener {
            let notifying: Vec<usize> = programs
                .iter()
                .enumerate()
                .filter(|(_, p)| may_return_user_notif(p.as_ref()))
                .map(|(i, _)| i)
                .collect();
            match notifying[..] {
                [] => Some(programs.len() - 1),
                [one] => Some(one),
                [first, second, ..] => {
                    return Err(InstallError::SeveralNotifyingPrograms { first, second })
                }
            }
        } else {
            None
        };

        let mut common = f;
        common.new_listener = false;
        common.wait_killable_recv = false;
        let common = common.bits();
        let listener_bits = KernelFlags {
            new_listener: f.new_listener,
            wait_killable_recv: f.wait_killable_recv,
            ..KernelFlags::NONE
        }
        .bits();
        let filters = programs
            .iter()
            .enumerate()
            .map(|(i, p)| PreparedFilter {
                insns: p.as_ref().into(),
                flags: if Some(i) == listener_program {
                    common | listener_bits
                } else {
                    common
                },
            })
            .collect();
        Ok(PreparedFilters {
            filters,
            options: *options,
            listener_program,
        })
    }

    /// How many programs.
    pub fn len(&self) -> usize {
        self.filters.len()
    }

    /// Never true: a `PreparedFilters` holds at least one program.
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The options.
    pub fn options(&self) -> &InstallOptions {
        &self.options
    }

    /// The program installed with NEW_LISTENER, if a listener was asked for.
    pub fn listener_program(&self) -> Option<usize> {
        self.listener_program
    }

    /// The instructions of program `index`.
    pub fn program(&self, index: usize) -> Option<&[Insn]> {
        self.filters.get(index).map(|f| &f.insns[..])
    }

    /// Install into the calling thread (with TSYNC, into every thread of the process).
    ///
    /// This cannot be undone: the filters stay for the life of the thread and are
    /// inherited by every thread and process it creates. To filter another program, use
    /// [`super::FilteredCommand`] or [`super::CommandExt`] instead.
    pub fn install(&self) -> Result<Installed, InstallError> {
        match self.apply() {
            Ok(applied) => Ok(Installed {
                listener: applied.listener.map(sys::owned_fd),
                filters: applied.filters,
                via_prctl: applied.via_prctl,
            }),
            Err(failure) => Err(self.explain(failure)),
        }
    }

    /// The install sequence with raw system calls only: no allocation, no locks, so it
    /// may run between `fork` and `exec`.
    pub(crate) fn apply(&self) -> Result<Applied, RawFailure> {
        if self.options.no_new_privs {
            sys::set_no_new_privs().map_err(RawFailure::NoNewPrivs)?;
        }
        let mut listener: Option<RawFd> = None;
        let mut via_prctl = false;
        let fail = |listener: Option<RawFd>, failure: RawFailure| {
            if let Some(fd) = listener {
                sys::close(fd);
            }
            Err(failure)
        };
        for (index, f) in self.filters.iter().enumerate() {
            let result = match sys::seccomp_set_mode_filter(f.flags, &f.insns) {
                Err(Errno(libc::ENOSYS)) if f.flags == 0 => {
                    via_prctl = true;
                    sys::prctl_set_seccomp_filter(&f.insns).map(|()| 0)
                }
                Err(Errno(libc::ENOSYS)) => {
                    return fail(listener, RawFailure::FlagsNeedSeccomp { index })
                }
                other => other,
            };
            match result {
                // With NEW_LISTENER any non-negative value is the fd (possibly 0).
                Ok(fd) if f.flags & FilterFlag::NewListener.bit() != 0 => {
                    listener = Some(fd as RawFd)
                }
                Ok(0) => {}
                // Without TSYNC_ESRCH, a TSYNC failure is the id of the offending thread.
                Ok(tid) => return fail(listener, RawFailure::Tsync { index, tid }),
                Err(errno) => return fail(listener, RawFailure::Filter { index, errno }),
            }
        }
        Ok(Applied {
            listener,
            filters: self.filters.len(),
            via_prctl,
        })
    }

    /// Turn a raw failure into a readable error (in the installing process, after the
    /// fact: may allocate and read /proc).
    pub(crate) fn explain(&self, failure: RawFailure) -> InstallError {
        match failure {
            RawFailure::NoNewPrivs(e) => InstallError::NoNewPrivs { source: e.into() },
            RawFailure::Tsync { index, tid } => {
                let tid = i32::try_from(tid).ok();
                InstallError::ThreadNotSynchronised {
                    index,
                    tid,
                    name: tid.and_then(thread_name),
                }
            }
            RawFailure::FlagsNeedSeccomp { index } => InstallError::FlagsNeedSeccompSyscall {
                index,
                flags: FilterFlag::names_of(self.filters[index].flags),
            },
            RawFailure::Filter { index, errno } => {
                let flags = self.filters[index].flags;
                match errno.0 {
                    libc::EACCES => InstallError::PermissionDenied {
                        index,
                        no_new_privs_requested: self.options.no_new_privs,
                    },
                    libc::ESRCH if flags & FilterFlag::Tsync.bit() != 0 => {
                        InstallError::ThreadNotSynchronised {
                            index,
                            tid: None,
                            name: None,
                        }
                    }
                    libc::EINVAL => {
                        // Ask the kernel about the flags alone (installs nothing): EINVAL
                        // again means the flags are the problem, EFAULT that they are fine.
                        let flags_ok = flags == 0
                            || sys::seccomp_probe_filter_flags(flags) == Err(Errno(libc::EFAULT));
                        if flags_ok {
                            InstallError::InvalidProgram { index }
                        } else {
                            InstallError::UnsupportedFlags {
                                index,
                                flags: FilterFlag::names_of(flags),
                            }
                        }
                    }
                    libc::EBUSY if flags & FilterFlag::NewListener.bit() != 0 => {
                        InstallError::ListenerExists { index }
                    }
                    libc::ENOMEM => InstallError::TooManyInstructions { index },
                    _ => InstallError::Kernel {
                        index,
                        source: errno.into(),
                    },
                }
            }
        }
    }
}

/// A thread's name, from `/proc/self/task/TID/comm`.
fn thread_name(tid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

/// Install `programs`, in order, into the calling thread (with TSYNC, the whole process).
///
/// Shorthand for [`PreparedFilters::new`] and [`PreparedFilters::install`]. Each element
/// of `programs` is one filter: a `&[Insn]`, a `Vec<Insn>`, anything that is
/// `AsRef<[Insn]>`.
///
/// The options are not taken from anywhere: give a compiled policy's own
/// ([`Compiled::install_options`](crate::compile::Compiled::install_options)), or call
/// [`Compiled::install`](crate::compile::Compiled::install), which does.
///
/// This filters the caller for good. The example runs it in a thread made for it:
///
/// ```
/// use sysgate::compile::compile;
/// use sysgate::kernel::install_insns;
/// use sysgate::policy::{Action, Policy, Rule};
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.add_rule(Rule::new(Action::Errno(libc::ENOSYS as u16), "uname"))?;
/// let compiled = compile(&policy)?;
/// let installed = std::thread::spawn(move || {
///     install_insns(&compiled.programs, &compiled.install_options())
/// })
/// .join()
/// .expect("the thread ends")?;
/// assert_eq!(installed.filters, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn install_insns<P: AsRef<[Insn]>>(
    programs: &[P],
    options: &InstallOptions,
) -> Result<Installed, InstallError> {
    PreparedFilters::new(programs, options)?.install()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::data;
    use crate::policy::Action;

    fn allow() -> Vec<Insn> {
        vec![Insn::ret(Action::Allow.to_ret())]
    }

    fn notify() -> Vec<Insn> {
        vec![
            Insn::load(data::NR),
            Insn::jump(op::JEQ, 63, 0, 1),
            Insn::ret(Action::UserNotif.to_ret()),
            Insn::ret(Action::Allow.to_ret()),
        ]
    }

    #[test]
    fn structural_checks_need_no_kernel() {
        let none: [&[Insn]; 0] = [];
        assert!(matches!(
            PreparedFilters::new(&none, &InstallOptions::new()),
            Err(InstallError::NoPrograms)
        ));
        let empty: &[Insn] = &[];
        assert!(matches!(
            PreparedFilters::new(&[&allow()[..], empty], &InstallOptions::new()),
            Err(InstallError::EmptyProgram { index: 1 })
        ));
        let long = vec![Insn::ret(0); MAX_INSNS + 1];
        assert!(matches!(
            PreparedFilters::new(&[long], &InstallOptions::new()),
            Err(InstallError::ProgramTooLong {
                index: 0,
                len: 4097
            })
        ));
        let full = vec![Insn::ret(0); MAX_INSNS];
        let many = vec![full; 9];
        assert!(matches!(
            PreparedFilters::new(&many, &InstallOptions::new()),
            Err(InstallError::PathTooLong { total }) if total == 9 * 4096 + 8 * 4
        ));
    }

    #[test]
    fn exactly_the_path_limit_is_accepted() {
        // 8 full filters: 8 * 4096 + 7 * 4 > 32768, so the last one must be 28 shorter.
        let mut many = vec![vec![Insn::ret(0); MAX_INSNS]; 8];
        many[7].truncate(MAX_INSNS - 28);
        assert!(PreparedFilters::new(&many, &InstallOptions::new()).is_ok());
        many[7].push(Insn::ret(0));
        assert!(PreparedFilters::new(&many, &InstallOptions::new()).is_err());
    }

    #[test]
    fn flag_combinations_the_kernel_rejects_are_refused_early() {
        let p = [allow()];
        assert!(matches!(
            PreparedFilters::new(&p, &InstallOptions::new().wait_killable_recv(true)),
            Err(InstallError::FlagNeedsFlag {
                flag: FilterFlag::WaitKillableRecv,
                needs: FilterFlag::NewListener
            })
        ));
        assert!(matches!(
            PreparedFilters::new(&p, &InstallOptions::new().tsync(true).new_listener(true)),
            Err(InstallError::TsyncListenerNeedsEsrch)
        ));
        assert!(PreparedFilters::new(
            &p,
            &InstallOptions::new()
                .tsync(true)
                .new_listener(true)
                .tsync_esrch(true)
        )
        .is_ok());
    }

    #[test]
    fn the_listener_goes_to_the_notifying_program() {
        let opts = InstallOptions::new()
            .new_listener(true)
            .wait_killable_recv(true)
            .log(true);
        let p = PreparedFilters::new(&[notify(), allow()], &opts).unwrap();
        assert_eq!(p.listener_program(), Some(0));
        assert_eq!(
            p.filters[0].flags,
            FilterFlag::Log.bit()
                | FilterFlag::NewListener.bit()
                | FilterFlag::WaitKillableRecv.bit()
        );
        assert_eq!(p.filters[1].flags, FilterFlag::Log.bit());

        // No program notifies: the last one gets it.
        let p = PreparedFilters::new(&[allow(), allow()], &opts).unwrap();
        assert_eq!(p.listener_program(), Some(1));

        assert!(matches!(
            PreparedFilters::new(&[notify(), allow(), notify()], &opts),
            Err(InstallError::SeveralNotifyingPrograms {
                first: 0,
                second: 2
            })
        ));
        // Without NEW_LISTENER, any number of programs may notify.
        assert!(PreparedFilters::new(&[notify(), notify()], &InstallOptions::new()).is_ok());
    }

    #[test]
    fn ret_a_may_notify() {
        let ret_a = vec![Insn::load(data::NR), Insn::new(op::RET | op::A, 0, 0, 0)];
        assert!(may_return_user_notif(&ret_a));
        assert!(!may_return_user_notif(&allow()));
        // USER_NOTIF with stray data bits is still USER_NOTIF to the kernel.
        assert!(may_return_user_notif(&[Insn::ret(ret::USER_NOTIF | 5)]));
    }

    #[test]
    fn options_come_from_attributes() {
        let attrs = Attributes {
            no_new_privs: false,
            flags: KernelFlags {
                tsync: true,
                spec_allow: true,
                ..KernelFlags::default()
            },
            ..Attributes::default()
        };
        let o = InstallOptions::from(&attrs);
        assert!(!o.sets_no_new_privs());
        assert_eq!(
            o.flags().bits(),
            FilterFlag::Tsync.bit() | FilterFlag::SpecAllow.bit()
        );
        assert_eq!(FilterFlag::names_of(o.flags().bits()), "TSYNC|SPEC_ALLOW");
        assert_eq!(FilterFlag::names_of(0), "none");
    }

    #[test]
    fn error_messages_name_the_cause() {
        let e = InstallError::ThreadNotSynchronised {
            index: 0,
            tid: Some(4242),
            name: Some("worker-3".into()),
        };
        assert!(e.to_string().contains("thread 4242 (\"worker-3\")"), "{e}");
        let e = InstallError::PermissionDenied {
            index: 1,
            no_new_privs_requested: false,
        };
        assert!(e.to_string().contains("CAP_SYS_ADMIN"), "{e}");
        assert!(e.to_string().contains("no_new_privs(true)"), "{e}");
        assert_eq!(e.installed(), 1);
    }
}
