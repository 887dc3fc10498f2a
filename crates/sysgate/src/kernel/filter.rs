//! The facade: from rules to a filter installed in this thread or in a child, in one chain.
//!
//! [`Filter`] builds a [`Policy`] by chaining (`allow`, `allow_if`, `rule`, `rule_if`, the
//! install attributes), and runs the whole pipeline in one call:
//!
//! ```text
//! Filter --probe--> Features --adapt--> Policy fitted + Status --compile--> Compiled
//!        --prepare--> PreparedFilters --install / FilteredCommand::spawn / CommandExt
//! ```
//!
//! Each step is the module that owns it ([`super::probe`], [`super::compat`],
//! [`crate::compile`], [`super::install`], [`super::spawn`]); this file only wires them, and
//! owns [`FilterError`], which names the step that failed. What the kernel could not enforce
//! exactly comes back as a [`Status`] with the result, never silently.
//!
//! [`Compiled`] carries the policy's install attributes (`no_new_privs`, TSYNC, LOG,
//! SPEC_ALLOW, NEW_LISTENER, ...): its [`Compiled::install`], [`Compiled::prepare`] and
//! [`Compiled::command`] apply them, so no call site can drop them by accident.

use std::ffi::OsStr;

use super::compat::{adapt_in_place, CompatError, CompatLevel, Status};
use super::install::{InstallError, InstallOptions, Installed, PreparedFilters};
use super::probe::Features;
use super::spawn::{FilteredChild, FilteredCommand, SpawnError};
use crate::arch::Arch;
use crate::compile::{self, CompileError, Compiled};
use crate::policy::{
    Action, ArgCond, Attributes, CmpOp, CondError, Policy, PolicyError, Rule, Syscall,
};

impl Compiled {
    /// The install options of the compiled policy: its `no_new_privs` attribute and its
    /// `seccomp(2)` flags.
    ///
    /// ```
    /// use sysgate::compile::compile;
    /// use sysgate::policy::{Action, Policy};
    ///
    /// let mut policy = Policy::new(Action::Allow);
    /// policy.attrs.flags.log = true;
    /// let compiled = compile(&policy)?;
    /// assert!(compiled.install_options().flags().log);
    /// assert!(compiled.install_options().sets_no_new_privs());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn install_options(&self) -> InstallOptions {
        InstallOptions::new()
            .no_new_privs(self.no_new_privs)
            .with_flags(self.flags)
    }

    /// Check and copy the programs with the policy's install options, ready to install in a
    /// child ([`FilteredCommand`], [`CommandExt`](super::CommandExt)) or in this thread.
    ///
    /// Programs compiled without the native architecture are refused
    /// ([`InstallError::ForeignArch`]), unless their bad-arch action allows the call: their
    /// bad-arch action would answer this process's next call, or the child's `execve`.
    pub fn prepare(&self) -> Result<PreparedFilters, InstallError> {
        let native = Arch::native();
        if !self.arches.is_empty()
            && !self.arches.contains(&native)
            && !matches!(self.bad_arch, Action::Allow | Action::Log)
        {
            return Err(InstallError::ForeignArch {
                arches: self.arches.clone(),
                native,
                bad_arch: self.bad_arch,
            });
        }
        PreparedFilters::new(&self.programs, &self.install_options())
    }

    /// Install the programs into the calling thread (into every thread of the process when
    /// the policy asks for TSYNC), with the policy's install options. Irreversible: see
    /// [`PreparedFilters::install`].
    pub fn install(&self) -> Result<Installed, InstallError> {
        self.prepare()?.install()
    }

    /// A command that starts `program` under these programs, `posix_spawn`-style
    /// ([`FilteredCommand`]). Add arguments, then [`FilteredCommand::spawn`] it.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Result<FilteredCommand, InstallError> {
        Ok(FilteredCommand::new(program, self.prepare()?))
    }
}

/// Why a [`Filter`] could not be built, fitted, compiled, installed or started. Each variant
/// names the step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// A rule or attribute is invalid (unknown syscall name, errno out of range, ...).
    #[error("invalid filter: {0}")]
    Policy(#[from] PolicyError),
    /// An argument condition is invalid (from [`ArgCond::new`], so that `?` works in a
    /// chain).
    #[error("invalid filter: {0}")]
    Cond(#[from] CondError),
    /// The running kernel cannot enforce the policy at the [`CompatLevel`] asked for.
    #[error("this kernel ({release}) cannot enforce the filter: {source}")]
    Compat {
        /// The kernel release, as `uname -r` prints it.
        release: String,
        /// What it lacks.
        source: CompatError,
    },
    /// The policy does not compile (too large, ...).
    #[error("cannot compile the filter: {0}")]
    Compile(#[from] CompileError),
    /// The kernel refused the programs (or their options are contradictory).
    #[error("cannot install the filter: {0}")]
    Install(#[from] InstallError),
    /// The program was not started (see [`SpawnError`]).
    #[error("{0}")]
    Spawn(#[from] SpawnError),
    /// An argument condition written in a chain means something other than it seems: a
    /// masked compare whose mask is 0 (it always holds: the rule loses its condition) or
    /// whose expected value has bits outside the mask (it never holds: the rule never
    /// applies). Either would silently enforce a different filter than the one written.
    #[error(
        "invalid filter: the condition {cond} of the rule on {syscall} {}",
        masked_problem(.cond)
    )]
    MaskedCond {
        /// The syscall of the rule, as written.
        syscall: String,
        /// The condition.
        cond: ArgCond,
    },
    /// A rule written in the chain names its syscall by number, and the filter has several
    /// architectures: the number would mean another call (or none) on each.
    #[error(
        "invalid filter: syscall #{number} is a number, and the filter is for {}: \
         the same number is another call on each of them ({}); name the syscall instead, \
         so that each architecture gets its own number",
        arch_names(.arches),
        number_meanings(*.number, .arches)
    )]
    NumberOnSeveralArches {
        /// The first number the chain used.
        number: u32,
        /// The filter's architectures.
        arches: Vec<Arch>,
    },
    /// The filter does not cover this process's own architecture: installed, its bad-arch
    /// action would answer this process's next call (usually by killing it).
    #[error(
        "the filter is for {} only, but this process makes {native} calls: installed here, \
         its bad-arch action ({bad_arch}) would answer every one of them, starting with the \
         next; add the native architecture (`.arch(Arch::native())`), or use `fit` to compile \
         it for another machine without installing it",
        arch_names(.arches)
    )]
    ForeignArch {
        /// The filter's architectures.
        arches: Vec<Arch>,
        /// This process's architecture.
        native: Arch,
        /// What the filter does with calls from an architecture it does not list.
        bad_arch: Action,
    },
}

fn masked_problem(cond: &ArgCond) -> String {
    match cond.op() {
        CmpOp::MaskedEq(0) => "always holds: its mask is 0, so the rule applies whatever the \
             argument (O_RDONLY is 0: test an access mode with `CmpOp::MaskedEq(O_ACCMODE)`); \
             drop the condition if that is what you mean"
            .to_string(),
        CmpOp::MaskedEq(mask) => format!(
            "never holds: the expected value has bits ({:#x}) outside the mask, so the rule \
             never applies; expect only bits of the mask (`value & mask`) or widen the mask",
            cond.value() & !mask
        ),
        _ => "is invalid".to_string(),
    }
}

fn number_meanings(number: u32, arches: &[Arch]) -> String {
    let each: Vec<String> = arches
        .iter()
        .map(|a| format!("{}: {}", a.name(), a.syscall_name(number).unwrap_or("none")))
        .collect();
    each.join(", ")
}

fn arch_names(arches: &[Arch]) -> String {
    let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
    if names.is_empty() {
        "no architecture".to_string()
    } else {
        names.join(", ")
    }
}

/// A masked compare that would silently change the rule written in a chain (see
/// [`FilterError::MaskedCond`]).
fn pointless_mask(conds: &[ArgCond]) -> Option<ArgCond> {
    conds.iter().copied().find(|c| match c.op() {
        CmpOp::MaskedEq(mask) => mask == 0 || c.value() & !mask != 0,
        _ => false,
    })
}

/// A seccomp filter built by chaining, fitted to the running kernel and installed in one
/// call: the common path from rules to enforcement.
///
/// Syscalls are named (`"read"`, resolved on every architecture of the filter) or numbered
/// (`libc::SYS_read as u32`, used as is). The first invalid rule is remembered and returned
/// by the call that ends the chain, so the chain itself never fails.
///
/// The filter starts for the native architecture with `no_new_privs` set and no flags, at
/// [`CompatLevel::BestEffort`]: an action the kernel lacks is replaced by one that permits no
/// more (see [`adapt`](super::adapt)), and the returned [`Status`] says so. Ask for
/// [`CompatLevel::HardRequirement`] to refuse instead.
///
/// ```
/// use sysgate::kernel::Filter;
/// use sysgate::policy::{ArgCond, CmpOp};
/// use sysgate::Action;
///
/// // In a thread made for it: filters cannot be removed once installed.
/// let filtered = std::thread::spawn(|| {
///     let enforced = Filter::new(Action::Errno(libc::EPERM as u16))
///         .allow("read")
///         .allow_if("write", [ArgCond::new(0, CmpOp::Eq, 1)?])
///         .allow("exit")
///         .allow("futex") // joining the thread
///         .allow("munmap") // freeing its stack
///         .allow("madvise")
///         .install()?;
///     assert!(enforced.status.is_exact());
///     // getpid is not in the list: EPERM.
///     assert_eq!(unsafe { libc::syscall(libc::SYS_getpid) }, -1);
///     Ok::<(), sysgate::kernel::FilterError>(())
/// });
/// filtered.join().expect("the thread ends")?;
/// # Ok::<(), sysgate::kernel::FilterError>(())
/// ```
#[derive(Debug)]
pub struct Filter {
    policy: Result<Policy, FilterError>,
    level: CompatLevel,
    kernel: Option<Features>,
    options: compile::Options,
    /// The first syscall the chain named by number: a number means another call on each
    /// architecture, so it is refused once the filter has several.
    numbered: Option<u32>,
}

/// A [`Filter`] fitted to a kernel and compiled: what will be enforced, ready to install.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fitted {
    /// The policy as it will be enforced (after substitutions for what the kernel lacks).
    pub policy: Policy,
    /// What differs from the policy as written, if anything.
    pub status: Status,
    /// The kernel it was fitted to.
    pub features: Features,
    /// The programs, with the policy's install options.
    pub compiled: Compiled,
}

impl Fitted {
    /// Whether the filter can be installed in this process: it must cover the native
    /// architecture, or its bad-arch action would answer every call made after installing
    /// it (the `execve` of a program to start, too). Unless that action allows the call,
    /// [`FilterError::ForeignArch`] says so. [`Filter::install`], [`Filter::prepare`] and
    /// [`Filter::spawn`] check this; call it before installing `compiled` yourself.
    ///
    /// ```
    /// use sysgate::kernel::FilterError;
    /// use sysgate::policy::Policy;
    /// use sysgate::{Action, Arch, Filter};
    ///
    /// let native = Arch::native();
    /// let other = if native == Arch::Aarch64 { Arch::X86_64 } else { Arch::Aarch64 };
    /// let mut policy = Policy::new(Action::Allow);
    /// policy.set_arches([other])?;
    /// let fitted = Filter::from_policy(policy).fit()?; // compiling for it is fine
    /// assert!(matches!(fitted.check_runs_here(), Err(FilterError::ForeignArch { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_runs_here(&self) -> Result<(), FilterError> {
        let native = Arch::native();
        let bad_arch = self.policy.bad_arch_action();
        if self.policy.arches().contains(&native) || matches!(bad_arch, Action::Allow | Action::Log)
        {
            return Ok(());
        }
        Err(FilterError::ForeignArch {
            arches: self.policy.arches().to_vec(),
            native,
            bad_arch,
        })
    }
}

/// What [`Filter::install`] enforced in the calling thread.
#[derive(Debug)]
#[non_exhaustive]
pub struct Enforced {
    /// What differs from the filter as written, if anything.
    pub status: Status,
    /// The filters installed, and the listener if one was asked for.
    pub installed: Installed,
}

impl Filter {
    /// A filter that answers every syscall no rule decides with `default`, for the native
    /// architecture.
    pub fn new(default: Action) -> Filter {
        Filter::from_policy(Policy::new(default))
    }

    /// A filter for an existing policy (read from a profile, or built by hand), with its
    /// architectures and attributes.
    pub fn from_policy(policy: Policy) -> Filter {
        Filter {
            policy: Ok(policy),
            level: CompatLevel::BestEffort,
            kernel: None,
            options: compile::Options {
                diagnostics: false,
                ..compile::Options::default()
            },
            numbered: None,
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Policy) -> Result<(), FilterError>) -> Filter {
        if let Ok(policy) = &mut self.policy {
            if let Err(e) = change(policy) {
                self.policy = Err(e);
            }
        }
        self
    }

    fn attrs(self, change: impl FnOnce(&mut Attributes)) -> Filter {
        self.with(|p| {
            change(&mut p.attrs);
            Ok(())
        })
    }

    /// Add a rule: `action` for `syscall` (a name or a number), whatever its arguments.
    ///
    /// A number is the same number on every architecture of the filter, where it names
    /// different calls (101 is `ptrace` on x86_64 and `ioperm` on i386), so a filter with a
    /// syscall by number and several architectures is refused
    /// ([`FilterError::NumberOnSeveralArches`]): name the syscall instead.
    pub fn rule(mut self, action: Action, syscall: impl Into<Syscall>) -> Filter {
        let rule = Rule::new(action, syscall);
        self.note_number(&rule.syscall);
        self.with(|p| Ok(p.add_rule(rule).map(drop)?))
    }

    fn note_number(&mut self, syscall: &Syscall) {
        if let (None, Syscall::Number(n)) = (self.numbered, syscall) {
            self.numbered = Some(*n);
        }
    }

    /// Add a rule: `action` for `syscall` when all of `conds` hold.
    ///
    /// A masked compare (`CmpOp::MaskedEq`) with a zero mask, or whose expected value has
    /// bits outside its mask, is refused ([`FilterError::MaskedCond`]): the first always
    /// holds and the second never does, so either would enforce another filter than the
    /// one written. (Profiles keep their format's meaning: see
    /// [`ArgCond::masked_eq_like_libseccomp`].)
    ///
    /// ```
    /// use sysgate::kernel::FilterError;
    /// use sysgate::policy::{ArgCond, CmpOp};
    /// use sysgate::{Action, Filter};
    ///
    /// // "open read-only": O_RDONLY is 0, so this mask tests nothing.
    /// let read_only = ArgCond::new(1, CmpOp::MaskedEq(libc::O_RDONLY as u64), 0)?;
    /// let err = Filter::new(Action::Errno(1)).allow_if("open", [read_only]).fit().unwrap_err();
    /// assert!(matches!(err, FilterError::MaskedCond { .. }), "{err}");
    /// // What was meant: the access mode is O_RDONLY.
    /// let read_only = ArgCond::new(1, CmpOp::MaskedEq(libc::O_ACCMODE as u64), 0)?;
    /// assert!(Filter::new(Action::Errno(1)).allow_if("open", [read_only]).fit().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rule_if(
        mut self,
        action: Action,
        syscall: impl Into<Syscall>,
        conds: impl IntoIterator<Item = ArgCond>,
    ) -> Filter {
        let rule = Rule::new(action, syscall).with_conds(conds);
        self.note_number(&rule.syscall);
        self.with(|p| {
            if let Some(cond) = pointless_mask(&rule.conds) {
                return Err(FilterError::MaskedCond {
                    syscall: rule.syscall.to_string(),
                    cond,
                });
            }
            Ok(p.add_rule(rule).map(drop)?)
        })
    }

    /// Allow `syscall` whatever its arguments.
    pub fn allow(self, syscall: impl Into<Syscall>) -> Filter {
        self.rule(Action::Allow, syscall)
    }

    /// Allow `syscall` when all of `conds` hold.
    pub fn allow_if(
        self,
        syscall: impl Into<Syscall>,
        conds: impl IntoIterator<Item = ArgCond>,
    ) -> Filter {
        self.rule_if(Action::Allow, syscall, conds)
    }

    /// Also filter calls of `arch` (the filter starts with the native one; calls from an
    /// architecture not listed get the bad-arch action, KILL_PROCESS).
    pub fn arch(self, arch: Arch) -> Filter {
        self.with(|p| Ok(p.add_arch(arch)?))
    }

    /// Set `no_new_privs` before installing (the default). Without it the kernel accepts
    /// the filter only from a thread with CAP_SYS_ADMIN.
    pub fn no_new_privs(self, on: bool) -> Filter {
        self.attrs(|a| a.no_new_privs = on)
    }

    /// TSYNC: [`Filter::install`] installs into every thread of the process.
    pub fn tsync(self, on: bool) -> Filter {
        self.attrs(|a| a.flags.tsync = on)
    }

    /// LOG: the kernel logs every action except ALLOW.
    pub fn log(self, on: bool) -> Filter {
        self.attrs(|a| a.flags.log = on)
    }

    /// SPEC_ALLOW: leave the speculative-store-bypass mitigation as it is.
    pub fn spec_allow(self, on: bool) -> Filter {
        self.attrs(|a| a.flags.spec_allow = on)
    }

    /// NEW_LISTENER: [`Filter::install`] returns a user-notification listener
    /// ([`Installed::into_listener`]). A filter with a NOTIFY rule or default asks for it
    /// whether or not this is called (as libseccomp does), since nobody could answer its
    /// notifications otherwise. With [`Filter::tsync`] too, the filter also asks for
    /// TSYNC_ESRCH, without which the kernel refuses the two together (Linux 5.7).
    pub fn new_listener(self, on: bool) -> Filter {
        self.attrs(|a| a.flags.new_listener = on)
    }

    /// How strictly the filter must be enforced on the running kernel (default:
    /// [`CompatLevel::BestEffort`]).
    pub fn compat(mut self, level: CompatLevel) -> Filter {
        self.level = level;
        self
    }

    /// Fit to these features instead of probing the running kernel (to prepare a filter
    /// for another kernel, or to test).
    pub fn for_kernel(mut self, features: Features) -> Filter {
        self.kernel = Some(features);
        self
    }

    /// Collect the compiler's diagnostics ([`Compiled::diagnostics`]); off by default, as
    /// they cost start-up time.
    pub fn diagnostics(mut self, on: bool) -> Filter {
        self.options.diagnostics = on;
        self
    }

    /// The policy built so far, or why the first invalid rule is invalid.
    pub fn policy(&self) -> Result<&Policy, &FilterError> {
        self.policy.as_ref()
    }

    /// Probe the kernel (unless [`Filter::for_kernel`] gave one), fit the policy to it and
    /// compile: what will be enforced, not installed yet.
    ///
    /// ```
    /// use sysgate::kernel::{CompatLevel, Features, Filter, KernelVersion};
    /// use sysgate::Action;
    ///
    /// // A 4.9 kernel has no KILL_PROCESS: best effort kills the thread instead, and says so.
    /// let old = Features::for_kernel(KernelVersion::new(4, 9, 0));
    /// let fitted = Filter::new(Action::KillProcess).allow("read").for_kernel(old.clone()).fit()?;
    /// assert_eq!(fitted.policy.default_action(), Action::KillThread);
    /// assert!(!fitted.status.is_exact());
    ///
    /// let hard = Filter::new(Action::KillProcess).compat(CompatLevel::HardRequirement);
    /// assert!(hard.for_kernel(old).fit().is_err());
    /// # Ok::<(), sysgate::kernel::FilterError>(())
    /// ```
    pub fn fit(self) -> Result<Fitted, FilterError> {
        let mut policy = self.policy?;
        if let (Some(number), [_, _, ..]) = (self.numbered, policy.arches()) {
            return Err(FilterError::NumberOnSeveralArches {
                number,
                arches: policy.arches().to_vec(),
            });
        }
        // A filter that answers calls with NOTIFY asks for the listener, as libseccomp's
        // seccomp_load and the Docker reader do: without it the kernel fails those calls with
        // ENOSYS, and the status would call that "exactly as written". Spawning such a filter
        // is then refused by name (the child would be the only holder of the listener).
        if policy.notifies() {
            policy.attrs.flags.new_listener = true;
        }
        // TSYNC and NEW_LISTENER together need TSYNC_ESRCH, which the chain has no method
        // for: without it the kernel refuses the pair (a positive return value could be
        // either the listener or the thread TSYNC failed on).
        let flags = &mut policy.attrs.flags;
        if flags.tsync && flags.new_listener {
            flags.tsync_esrch = true;
        }
        let features = self.kernel.unwrap_or_else(Features::probe);
        let status = adapt_in_place(&mut policy, &features, self.level).map_err(|source| {
            match source {
                // The policy itself is invalid (an errno out of range in the default
                // action): no kernel could enforce it, so do not blame this one.
                CompatError::Policy(e) => FilterError::Policy(e),
                source => FilterError::Compat {
                    release: features.release.clone(),
                    source,
                },
            }
        })?;
        let options = compile::Options {
            action_cache: features.action_cache,
            ..self.options
        };
        let compiled = compile::compile_with(&policy, &options)?;
        Ok(Fitted {
            policy,
            status,
            features,
            compiled,
        })
    }

    /// Fit, compile and install into the calling thread (every thread with
    /// [`Filter::tsync`]). Irreversible: call it in a thread or process made for it.
    ///
    /// A filter that does not cover the native architecture is refused
    /// ([`FilterError::ForeignArch`]): its bad-arch action would answer the installing
    /// thread's next call. The same holds for [`Filter::prepare`] and [`Filter::spawn`].
    pub fn install(self) -> Result<Enforced, FilterError> {
        let fitted = self.fit()?;
        fitted.check_runs_here()?;
        let installed = fitted.compiled.install()?;
        Ok(Enforced {
            status: fitted.status,
            installed,
        })
    }

    /// Fit, compile and prepare for a child: give the result to
    /// [`CommandExt::seccomp_filters`](super::CommandExt::seccomp_filters) or
    /// [`FilteredCommand::new`].
    pub fn prepare(self) -> Result<(PreparedFilters, Status), FilterError> {
        let fitted = self.fit()?;
        fitted.check_runs_here()?;
        Ok((fitted.compiled.prepare()?, fitted.status))
    }

    /// Fit, compile and start `program` (looked up in `PATH`) with `args` under the filter,
    /// `posix_spawn`-style ([`FilteredCommand`]: the filter is installed in the child, which
    /// then executes the program; this process stays unfiltered). The filter must allow
    /// `execve`. For more control (signal mask, parent-death signal), [`Filter::fit`] and
    /// [`Compiled::command`].
    pub fn spawn<I, S>(self, program: impl AsRef<OsStr>, args: I) -> Result<Spawned, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let fitted = self.fit()?;
        fitted.check_runs_here()?;
        let mut command = fitted.compiled.command(program)?;
        let child = command.args(args).spawn()?;
        Ok(Spawned {
            child,
            status: fitted.status,
        })
    }
}

/// What [`Filter::spawn`] started.
#[derive(Debug)]
#[non_exhaustive]
pub struct Spawned {
    /// The program, running under the filter.
    pub child: FilteredChild,
    /// What differs from the filter as written, if anything.
    pub status: Status,
}
