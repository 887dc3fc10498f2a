//! `sysgate run`: run a program under a seccomp filter built from profiles and flags,
//! forward signals to it, and explain a kill.
//!
//! The steps read top-down in [`run`]: build the policy (profiles, then flags), fit it to
//! the running kernel, compile it, prepare the install, start collecting audit records,
//! start the program (posix_spawn-style, the filters installed in the child before `exec`),
//! wait, explain.
//! Nothing runs unfiltered: any failure before the program starts is an error, which
//! `main` turns into exit status 125.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use sysgate::arch;
use sysgate::bpf::{data, op, Insn, Program};
use sysgate::kernel::{
    exec_failure_advice, AuditReader, CompatLevel, Filter, FilterError, FilteredCommand, Fitted,
    InstallError, SignalForwarder, SpawnError,
};
use sysgate::policy::{parse_errno, Action, Errno, Policy, Rule, Syscall, MAX_ERRNO};
use sysgate::profile;

use crate::explain::{self, AuditWatch, Sources};
use crate::profile_input::{self, TargetArgs};

/// Test-only: when this environment variable is `1`, the first program is replaced by one
/// the kernel rejects, to prove that a filter that cannot be installed starts nothing.
pub const CORRUPT_FILTER_ENV: &str = "SYSGATE_TEST_CORRUPT_FILTER";

/// How to find out which syscall a killed program made.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainMode {
    /// Read the kernel's audit records if this process may (root), else explain nothing.
    Auto,
    /// Read the kernel's audit records; refuse to start if they cannot be read.
    Audit,
    /// Do not explain kills.
    Off,
}

/// How strictly the policy must be enforced on this kernel.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compat {
    /// Replace what the kernel lacks by something that permits no more, and say so.
    BestEffort,
    /// Refuse to run if the kernel cannot enforce the policy exactly as written.
    Hard,
}

/// What `sysgate run` does, in one line of help.
pub const ABOUT: &str = "Run a program under a seccomp filter (Docker's default unless told \
otherwise), and explain it if the filter kills it";

/// Arguments of `sysgate run`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "PROFILES AND FLAGS. Without --profile, the built-in docker-default \
applies: Docker's default seccomp profile for a container with Docker's default \
capabilities (change them with --caps). Several --profile are merged: a call is allowed if \
any profile allows it. Then each --allow or --deny replaces every rule the profiles have \
for that syscall. Where several rules match a call, the most restrictive action wins.\n\n\
EXIT STATUS. The program's own status, or 128 + N when signal N killed it (159 for \
SIGSYS, a seccomp kill). 125: sysgate could not build, fit or install the filter, so the \
program was NOT started; nothing ever runs unfiltered. 126: the program could not be \
executed (sysgate says so when its filter refused execve); 127: it was not found (both \
after the filter was installed). When the program exits with 127 and the filter refuses \
calls the dynamic loader needs, sysgate lists them. The program is killed when sysgate \
ends, even by SIGKILL.\n\n\
SIGNALS. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to sysgate are \
forwarded to the program (those the terminal sends reach it directly).\n\n\
EXPLAINING A KILL. When the program dies by SIGSYS, sysgate prints the syscall (name, \
number, architecture), the rule or default that decided, and the flag or profile change \
that would allow it. The syscall comes from the kernel's seccomp audit record, read from \
the audit netlink socket (needs CAP_AUDIT_READ: run as root) or else from /dev/kmsg (needs \
CAP_SYSLOG when kernel.dmesg_restrict=1; rate-limited, and empty while auditd runs). When \
neither can be read, or no record arrives, sysgate says it cannot tell which syscall. Only \
the program itself is explained, not processes it starts.\n\n\
NO_NEW_PRIVS. By default no_new_privs is set, which lets anyone install a filter and \
means set-uid programs and file capabilities grant nothing in the filtered program. \
--keep-caps leaves it unset, so they keep working; the kernel then accepts the filter only \
from a process with CAP_SYS_ADMIN (root).\n\n\
Examples:\n  sysgate run -- sh -c 'uname -a; unshare --user true || echo refused'\n  \
sysgate run --deny uname:kill -- uname\n  sysgate run --profile my-profile.json --allow \
ptrace -- strace true\n  sysgate run --default-action LOG --log -- ./my-daemon"
)]
pub struct Args {
    /// A profile: a file in any format (Docker/OCI/Podman JSON, systemd, LXC, Kubernetes;
    /// detected from its content), "-" for standard input, a built-in profile's name
    /// (docker-default, unconfined) or systemd:@set. Repeatable; the profiles are merged. Default:
    /// docker-default.
    #[arg(short = 'p', long = "profile", value_name = "P")]
    profiles: Vec<String>,

    /// Allow a syscall unconditionally, replacing the profiles' rules for it (repeatable).
    /// @SET names a systemd syscall set.
    #[arg(long, value_name = "NAME|@SET")]
    allow: Vec<String>,

    /// Deny a syscall, replacing the profiles' rules for it (repeatable): NAME fails with
    /// EPERM, NAME:ERRNO with that errno (ENOSYS, 38, ...), NAME:kill kills the process.
    #[arg(long, value_name = "NAME[:ERRNO|:kill]")]
    deny: Vec<String>,

    #[arg(
        long,
        value_name = "ACTION",
        value_parser = crate::flags::parse_default_action,
        help = crate::flags::DEFAULT_ACTION_HELP
    )]
    default_action: Option<Action>,

    /// Log every action except ALLOW to the audit log (the filter's LOG flag).
    #[arg(long)]
    log: bool,

    #[command(flatten)]
    target: TargetArgs,

    /// Set no_new_privs before installing the filter (the default).
    #[arg(long, overrides_with = "keep_caps")]
    no_new_privs: bool,

    /// Do not set no_new_privs: set-uid programs and file capabilities keep working in
    /// the program. Needs CAP_SYS_ADMIN (root).
    #[arg(long, overrides_with = "no_new_privs")]
    keep_caps: bool,

    /// What to do when the kernel lacks an action or flag the policy uses.
    #[arg(long, value_enum, default_value = "best-effort")]
    compat: Compat,

    /// How to find out which syscall a killed program made (see below).
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
    explain: ExplainMode,

    /// Complain mode: enforce nothing; run the program under a tracer that decides each
    /// call with the policy and, at the end, lists every call that would have been denied
    /// with the flag or profile rule that would allow it (see `sysgate learn --help` for
    /// what tracing needs).
    #[arg(long)]
    complain: bool,

    // -q: no warnings (the explanation of a kill is still printed); -v: also the
    // filter's size, compiler diagnostics and where explanations come from.
    #[command(flatten)]
    verbosity: crate::flags::Verbosity,

    /// The program and its arguments (put them after --).
    #[arg(value_name = "CMD", required = true, trailing_var_arg = true)]
    command: Vec<OsString>,
}

/// The signals passed on to the program (the help's SIGNALS section).
const FORWARDED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// How the program ended; `main` turns it into the exit status.
#[derive(Debug)]
pub enum Finished {
    /// It exited with this status.
    Exited(i32),
    /// This signal killed it.
    Signaled(i32),
    /// The filter was installed, but the program does not exist.
    NotFound,
    /// The filter was installed, but the program could not be executed.
    NotExecutable,
}

/// Run `sysgate run`.
pub fn run(args: Args) -> Result<Finished> {
    if args.complain {
        return complain(&args);
    }
    // First: from now on a forwarded signal waits until the child exists, then reaches it.
    let mut forwarder = SignalForwarder::start(&FORWARDED, false)
        .map_err(|e| anyhow!("cannot set up signals: {e}"))?;
    let warn = |msg: &str| args.verbosity.warn(msg);
    let verbose = |msg: &str| args.verbosity.detail(msg);

    let (policy, sources) = build_policy(&args, &warn)?;
    let level = match args.compat {
        Compat::BestEffort => CompatLevel::BestEffort,
        Compat::Hard => CompatLevel::HardRequirement,
    };
    // Probe the kernel, fit the policy to it and compile (laid out for the action cache
    // when this kernel has one; the filter decides the same). The diagnostics are shown
    // only with -v: skip that work at start-up otherwise.
    let fitted = Filter::from_policy(policy)
        .compat(level)
        .diagnostics(args.verbosity.verbose)
        .fit()
        .map_err(|e| match e {
            FilterError::Compat { release, source } => {
                anyhow!("this kernel ({release}) cannot enforce the policy: {source}")
            }
            FilterError::Compile(e) => anyhow!("cannot compile the policy: {e}"),
            other => anyhow!("{other}"),
        })?;
    check_runnable(&fitted, &warn)?;
    let Fitted {
        policy,
        status,
        features,
        mut compiled,
        ..
    } = fitted;
    if !status.is_exact() {
        for line in status.to_string().lines() {
            warn(&format!(
                "this kernel ({}): {}",
                features.release,
                line.trim()
            ));
        }
    }
    if args.verbosity.verbose {
        for d in &compiled.diagnostics {
            verbose(&format!("note: {}", d.describe(&policy)));
        }
    }
    verbose(&format!(
        "filter: {} program(s), {} instructions, for {}",
        compiled.programs.len(),
        compiled.total_insns(),
        explain::arch_list(policy.arches())
    ));
    if let Some(first) = compiled
        .programs
        .first_mut()
        .filter(|_| std::env::var_os(CORRUPT_FILTER_ENV).is_some_and(|v| v == "1"))
    {
        // ld [nr]; jeq #0, +5 (past the end); ret ALLOW: the kernel's checker refuses it.
        let corrupt = vec![
            Insn::load(data::NR),
            Insn::jump(op::JEQ, 0, 5, 0),
            Insn::ret(Action::Allow.to_ret()),
        ];
        *first = Program::new(corrupt, first.endian());
    }
    // sysgate exits when the program does: freeing the policy's hundreds of allocations then
    // would only hold up the exit status (it is still read to explain a kill).
    let policy = std::mem::ManuallyDrop::new(policy);
    // The programs with the policy's install options (no_new_privs, LOG, ...).
    let prepared = compiled
        .prepare()
        .map_err(|e| anyhow!("cannot install the filter: {e}"))?;

    let watch = start_explaining(args.explain, args.log, &verbose)?;

    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow!("no program to run"))?;
    let shown = program.to_string_lossy().into_owned();
    // Started posix_spawn-style (the child shares our memory until exec), with the signal
    // mask sysgate was started with.
    // The program dies with sysgate, even when sysgate is killed with SIGKILL: nothing it
    // leaves running is supervised or explained.
    let mut command = FilteredCommand::new(program, prepared);
    command
        .args(rest)
        .signal_mask(forwarder.original_mask())
        .kill_when_parent_dies();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return spawn_failed(&shown, e, args.keep_caps, &policy),
    };
    forwarder.attach(child.id());
    let pid = i32::try_from(child.id()).unwrap_or(0);
    let status = child
        .wait()
        .map_err(|e| anyhow!("waiting for {shown}: {e}"))?;

    match status.signal() {
        Some(sig) if sig == libc::SIGSYS => {
            let lines = match &watch {
                Ok(w) => match w.records_for(pid, Duration::from_secs(2)) {
                    Ok(records) => match records
                        .iter()
                        .rev()
                        .find(|r| r.is_kill())
                        .or(records.last())
                    {
                        Some(r) => explain::explain(&shown, r, &policy, &sources),
                        None => explain::no_record(&shown, w.source(), &policy),
                    },
                    Err(e) => explain::unexplained(&shown, &e),
                },
                Err(_) if args.explain == ExplainMode::Off => explain::not_asked(&shown),
                Err(why) => explain::unexplained(&shown, why),
            };
            for line in lines {
                eprintln!("sysgate: {line}");
            }
            Ok(Finished::Signaled(sig))
        }
        Some(sig) => Ok(Finished::Signaled(sig)),
        None => {
            // A thread killed alone (KILL_THREAD) leaves the process running; say so.
            if let Ok(w) = &watch {
                if let Ok(records) = w.records_for(pid, Duration::ZERO) {
                    for r in records.iter().filter(|r| r.is_kill()) {
                        let what = format!("a thread of {shown}");
                        for line in explain::explain(&what, r, &policy, &sources) {
                            eprintln!("sysgate: {line}");
                        }
                    }
                }
            }
            let code = status.code().unwrap_or(0);
            if code == LOADER_FAILED {
                for line in loader_refused(&shown, &policy) {
                    eprintln!("sysgate: {line}");
                }
            }
            Ok(Finished::Exited(code))
        }
    }
}

/// The status the dynamic loader (ld.so) exits with when it cannot load a program; shells
/// use it for a command not found too.
const LOADER_FAILED: i32 = 127;

/// The calls glibc's and musl's dynamic loaders make to map a program and its libraries
/// before `main` (and `writev` for their error message).
const LOADER_CALLS: &[&str] = &[
    "access",
    "arch_prctl",
    "brk",
    "close",
    "fstat",
    "mmap",
    "mprotect",
    "munmap",
    "newfstatat",
    "openat",
    "pread64",
    "read",
    "set_tid_address",
    "writev",
];

/// When a program exited with 127 and the policy refuses calls the dynamic loader needs on
/// the native architecture, the lines that say so: the loader's own error message was
/// most likely refused too, and 127 alone would read as "command not found".
fn loader_refused(program: &str, policy: &Policy) -> Vec<String> {
    let arch = arch::Arch::native();
    let refused: Vec<(&str, Action, String)> = LOADER_CALLS
        .iter()
        .filter_map(|name| {
            let nr = arch.syscall_number(name)?;
            let decision = policy.decide(arch, nr, &[0; 6]);
            (!decision.action.permits()).then(|| {
                let by = match decision.by {
                    sysgate::policy::DecidedBy::Rule(i) => format!("rule #{i}"),
                    _ => "the default action".to_string(),
                };
                (*name, decision.action, by)
            })
        })
        .collect();
    if refused.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!(
        "{program} exited with status 127, and its filter refuses calls the dynamic loader \
         makes before the program starts: if {program} is dynamically linked, the filter \
         stopped it from loading (and its error message)"
    )];
    for (name, action, by) in &refused {
        out.push(format!("  {name}: {action} ({by})"));
    }
    let flags: Vec<String> = refused
        .iter()
        .map(|(n, _, _)| format!("--allow {n}"))
        .collect();
    out.push(format!("  to allow them: {}", flags.join(" ")));
    out
}

/// Start collecting audit records, or say why kills will not be explained.
fn start_explaining(
    mode: ExplainMode,
    log: bool,
    verbose: &dyn Fn(&str),
) -> Result<Result<AuditWatch, String>> {
    if mode == ExplainMode::Off {
        return Ok(Err("--explain=off".into()));
    }
    let opened = AuditReader::open().map_err(|e| e.to_string());
    // --log can log a record per denied call: drain them during the run.
    let watch = opened.and_then(|r| AuditWatch::start(r, log).map_err(|e| e.to_string()));
    match (&watch, mode) {
        (Err(e), ExplainMode::Audit) => bail!("--explain=audit: {e}"),
        (Ok(w), _) => verbose(&format!("kills are explained from {}", w.source())),
        (Err(e), _) => verbose(&format!("kills cannot be explained: {e}")),
    }
    Ok(watch)
}

/// The program was not started: because of the filter, or because `exec` failed.
fn spawn_failed(
    program: &str,
    err: SpawnError,
    keep_caps: bool,
    policy: &Policy,
) -> Result<Finished> {
    match err {
        SpawnError::Exec { source: err, .. } => {
            match execve_refused(policy, &err) {
                Some((by, fix)) => eprintln!(
                    "sysgate: cannot run {program}: its filter refuses execve, which starting \
                     it needs ({by}); {fix}"
                ),
                None => eprintln!(
                    "sysgate: cannot run {program}: {err}{}",
                    exec_failure_advice(std::ffi::OsStr::new(program), &err)
                ),
            }
            if err.kind() == std::io::ErrorKind::NotFound {
                Ok(Finished::NotFound)
            } else {
                Ok(Finished::NotExecutable)
            }
        }
        SpawnError::Install(e) => {
            let hint = match &e {
                InstallError::PermissionDenied { .. } if keep_caps => {
                    "; without no_new_privs the kernel needs CAP_SYS_ADMIN: drop --keep-caps or \
                     run as root"
                }
                InstallError::InvalidProgram { .. }
                    if std::env::var_os(CORRUPT_FILTER_ENV).is_some() =>
                {
                    " (the program was corrupted on purpose by SYSGATE_TEST_CORRUPT_FILTER)"
                }
                _ => "",
            };
            bail!("the filter could not be installed, so {program} was not started: {e}{hint}")
        }
        // No process could be started, or it died before installing; or a bad argument.
        other => bail!("{program} was not started: {other}"),
    }
}

/// When `exec` failed with the errno the policy answers `execve` with, what decided that
/// and how to allow it (the filter is installed before `exec`, so it judges `execve`
/// itself).
fn execve_refused(policy: &Policy, err: &std::io::Error) -> Option<(String, String)> {
    let arch = arch::Arch::native();
    let nr = arch.syscall_number("execve")?;
    let decision = policy.decide(arch, nr, &[0; 6]);
    let (errno, why) = match decision.action {
        Action::Errno(e) => (i32::from(e), ""),
        // With no tracer attached, the kernel fails a TRACE call with ENOSYS.
        Action::Trace(_) => (
            libc::ENOSYS,
            ": TRACE fails a call with ENOSYS when no tracer is attached, and sysgate run \
             attaches none",
        ),
        _ => return None,
    };
    if err.raw_os_error() != Some(errno) {
        return None;
    }
    let allow = "allow it with --allow execve".to_string();
    Some(match decision.by {
        sysgate::policy::DecidedBy::Rule(i) => {
            let rule = &policy.rules()[i];
            let fix = match rule.origin.as_deref() {
                Some(flag) if flag.starts_with("--deny") => format!("drop `{flag}`"),
                _ => allow,
            };
            (format!("rule #{i}: {rule}{why}"), fix)
        }
        _ => (
            format!("the default action {}{why}", decision.action),
            allow,
        ),
    })
}

/// Refuse, before starting anything, a policy that `sysgate run` cannot enforce as meant:
/// one that answers calls with NOTIFY (nobody would answer them: the program would hang
/// or, as the kernel does without a listener, fail them), or one whose architectures leave
/// out this machine's (its bad-arch action would answer the program's very first call).
/// Warn about TRACE, which fails calls with ENOSYS when no tracer is attached.
fn check_runnable(fitted: &Fitted, warn: &dyn Fn(&str)) -> Result<()> {
    let policy = &fitted.policy;
    let site = |action: &dyn Fn(Action) -> bool| -> Option<String> {
        if action(policy.default_action()) {
            return Some(format!("the default action {}", policy.default_action()));
        }
        let (i, rule) = policy
            .rules()
            .iter()
            .enumerate()
            .find(|(_, r)| action(r.action))?;
        Some(format!("rule #{i} [{rule}]"))
    };
    if let Some(at) = site(&|a| matches!(a, Action::UserNotif)) {
        bail!(
            "the policy answers calls with NOTIFY ({at}), which needs a supervisor to answer \
             them, and sysgate run has none, so the program was not started; serve a \
             container's notifications with `sysgate agent`, record the calls with `sysgate \
             learn`, or replace NOTIFY (--default-action, --allow, --deny)"
        );
    }
    if let Err(FilterError::ForeignArch {
        arches,
        native,
        bad_arch,
    }) = fitted.check_runs_here()
    {
        bail!(
            "the filter is for {} only, but the program would start as {native}: its bad-arch \
             action ({bad_arch}) would answer its first call (execve), so it was not started; \
             add --arch {native}",
            explain::arch_list(&arches)
        );
    }
    if let Some(at) = site(&|a| matches!(a, Action::Trace(_))) {
        warn(&format!(
            "the policy answers calls with TRACE ({at}): sysgate run attaches no tracer, so \
             the kernel fails those calls with ENOSYS"
        ));
    }
    Ok(())
}

/// The policy from the profiles and flags, and what an explanation may point at.
/// `--complain`: the policy decides each call under the tracer, nothing is enforced.
fn complain(args: &Args) -> Result<Finished> {
    let warn = |msg: &str| {
        if !args.verbosity.quiet {
            eprintln!("sysgate: warning: {msg}");
        }
    };
    let (policy, sources) = build_policy(args, &warn)?;
    use sysgate::learn::TraceError;
    let result = crate::complain::complain_status(&policy, &sources.files, &args.command);
    // The program did not run: say why (the error names it and what to do), then exit as a
    // shell would.
    if let Err(e @ (TraceError::NotFound { .. } | TraceError::Exec { .. })) = &result {
        eprintln!("sysgate: {e}");
    }
    match result {
        Ok(code) => Ok(Finished::Exited(code)),
        Err(TraceError::NotFound { .. }) => Ok(Finished::NotFound),
        Err(TraceError::Exec { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Finished::NotFound)
        }
        Err(TraceError::Exec { .. }) => Ok(Finished::NotExecutable),
        Err(e) => Err(anyhow!("cannot trace the program: {e}")),
    }
}

fn build_policy(args: &Args, warn: &dyn Fn(&str)) -> Result<(Policy, Sources)> {
    let default_action = args.default_action;
    let specs: Vec<String> = if args.profiles.is_empty() {
        vec!["docker-default".to_string()]
    } else {
        args.profiles.clone()
    };
    let mut policy: Option<Policy> = None;
    let mut files = Vec::new();
    for spec in &specs {
        let loaded = profile_input::load(spec, &args.target)?;
        if std::path::Path::new(spec).exists() {
            files.push((spec.clone(), loaded.format));
        }
        for w in profile_input::shown_warnings(&loaded.warnings, false, "") {
            warn(&w);
        }
        let mut p = loaded.policy;
        if let Some(a) = default_action {
            p.set_default_action(a)
                .map_err(|e| anyhow!("--default-action: {e}"))?;
        }
        match &mut policy {
            None => policy = Some(p),
            Some(merged) => merged.merge(&p).map_err(|e| {
                anyhow!("cannot merge {spec} with the profiles before it: {e}; give --default-action to use one default for all")
            })?,
        }
    }
    let mut policy = policy.ok_or_else(|| anyhow!("no profile"))?;

    apply_flags(&mut policy, &args.allow, &args.deny, warn)?;
    if args.log {
        policy.attrs.flags.log = true;
    }
    policy.attrs.no_new_privs = !args.keep_caps;
    Ok((
        policy,
        Sources {
            files,
            default_from_flag: default_action.is_some(),
        },
    ))
}

/// One `--allow` or `--deny`: the syscall and its action.
fn parse_flag(flag: &str, value: &str) -> Result<Vec<(String, Action)>> {
    let (name, action) = match flag {
        "--allow" => (value, Action::Allow),
        _ => match value.split_once(':') {
            None => (value, Action::Errno(1)),
            Some((name, "kill")) => (name, Action::KillProcess),
            // A name is numbered per architecture (ENOSYS is 89 on mips); a number is not.
            Some((name, spec)) if Errno::from_name(spec).is_some() => (
                name,
                Action::NamedErrno(Errno::from_name(spec).expect("checked")),
            ),
            Some((name, spec)) => {
                let errno = parse_errno(spec)
                    .filter(|e| *e <= u32::from(MAX_ERRNO))
                    .ok_or_else(|| {
                        anyhow!(
                            "--deny {value}: {spec:?} is not an errno (a name such as EPERM or \
                             ENOSYS, or a number up to {MAX_ERRNO}) or \"kill\""
                        )
                    })?;
                (name, Action::Errno(errno as u16))
            }
        },
    };
    if name.starts_with('@') {
        if flag != "--allow" {
            bail!("{flag} {value}: syscall sets can only be allowed; deny syscalls one by one");
        }
        let names = profile::systemd_set(name).ok_or_else(|| {
            anyhow!(
                "--allow {value}: no systemd syscall set {name:?}; the sets are: {}",
                profile::systemd_sets::set_names(profile::systemd_sets::SystemdVersion::Newest)
                    .join(" ")
            )
        })?;
        // As systemd does, a set's members that no architecture has (or that the target
        // lacks) are passed over quietly: a set names calls of every architecture.
        return Ok(names
            .iter()
            .filter(|n| arch::is_known_syscall(n))
            .map(|n| (n.to_string(), action))
            .collect());
    }
    if name.is_empty() {
        bail!("{flag} {value:?}: expected a syscall name");
    }
    if !arch::is_known_syscall(name) {
        bail!("{flag} {value}: unknown syscall {name:?}: no architecture has it");
    }
    Ok(vec![(name.to_string(), action)])
}

/// Apply `--allow` and `--deny`: each replaces every rule for its syscall.
fn apply_flags(
    policy: &mut Policy,
    allow: &[String],
    deny: &[String],
    warn: &dyn Fn(&str),
) -> Result<()> {
    let mut wanted: Vec<(String, Action, String)> = Vec::new();
    let flags = allow
        .iter()
        .map(|v| ("--allow", v))
        .chain(deny.iter().map(|v| ("--deny", v)));
    for (flag, value) in flags {
        for (name, action) in parse_flag(flag, value)? {
            let origin = format!("{flag} {value}");
            if let Some((_, other, other_origin)) = wanted.iter().find(|(n, _, _)| *n == name) {
                if *other != action {
                    bail!("{origin} contradicts {other_origin}: give one action per syscall");
                }
                continue;
            }
            wanted.push((name, action, origin));
        }
    }
    for (name, action, origin) in wanted {
        let on_target = policy
            .arches()
            .iter()
            .any(|a| a.syscall_number(&name).is_some() || a.multiplexed(&name).is_some());
        if !on_target && !origin.contains(" @") {
            warn(&format!(
                "{origin}: {name} does not exist on {}",
                explain::arch_list(policy.arches())
            ));
        }
        let syscall = Syscall::from(name.as_str());
        policy.retain_rules(|r| r.syscall != syscall);
        policy
            .add_rule(Rule::new(action, syscall).with_origin(origin.clone()))
            .map_err(|e| anyhow!("{origin}: {e}"))?;
    }
    Ok(())
}
