//! `sysgate learn`: run a command under the tracer and write the profile it needs;
//! `sysgate learn merge`: the union of learned profiles.
//!
//! Also the pieces `sysgate audit` shares: output format, default action, merging with
//! earlier profiles and writing the result atomically.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::learn::{self, Backend, Learned, Progress, SynthOptions, TraceError, TraceOptions};
use sysgate::policy::{Action, Policy, Syscall};
use sysgate::profile::systemd_sets::SystemdVersion;
use sysgate::profile::write::Loss;
use sysgate::profile::{docker, Target};

use crate::bad_input;
use crate::flags::{self, ArchesArg, OutputArg, PortableArg, ProfileFormatArg, Verbosity};
use crate::output::{self, Destination};
use crate::profile_output::{self, OutputOptions};
use sysgate::profile::detect::Format as ProfileFormat;

/// The tracing backend.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracer {
    /// notify on Linux 6.6 and later, else ptrace.
    Auto,
    /// ptrace with SECCOMP_RET_TRACE.
    Ptrace,
    /// Seccomp user notification.
    Notify,
}

impl Tracer {
    /// The library's backend.
    pub fn backend(self) -> Backend {
        match self {
            Tracer::Auto => Backend::Auto,
            Tracer::Ptrace => Backend::Ptrace,
            Tracer::Notify => Backend::Notify,
        }
    }
}

/// Output options shared by `learn`, `learn merge` and `audit`.
#[derive(clap::Args, Debug)]
pub struct OutputArgs {
    #[command(flatten)]
    pub output: OutputArg,

    #[command(flatten)]
    pub format: ProfileFormatArg,

    /// LXC: the file version to write, 2 (names, conditions, errnos) or 1 (numbers only).
    #[arg(long, value_name = "1|2", default_value = "2")]
    pub lxc_version: u8,

    /// Union with an earlier profile (repeatable): e.g. the profiles of several test
    /// runs. Read as Docker/OCI JSON for the --arch architectures (default: the native
    /// one); "-" reads standard input.
    #[arg(long = "merge", value_name = "EXISTING")]
    pub merge: Vec<PathBuf>,
}

/// Arguments of `sysgate learn`.
#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "CMD runs under a seccomp filter that hands every syscall to sysgate once \
(seccomp user notification, or ptrace: see --tracer), in every process, thread and program \
it starts (fork, vfork, clone, clone3, execve, daemons that double-fork). sysgate waits until all of them have exited, passes on \
the command's exit status and the signals it receives, and leaves the standard streams to \
the command.\n\nThe profile allows exactly the syscalls seen, on every architecture seen \
plus the native one (or exactly --arch); everything else gets --default-action. While \
it runs, a terminal on standard error shows live progress (processes, syscalls, distinct \
names, the newest one; not with -q). A summary goes to standard error. The profile is written (to -o FILE, or standard output) once every process has \
exited.\n\nEXIT STATUS. The command's own (128 + N when signal N killed it); 127 when it was \
not found and 126 when it could not be executed (no profile is written); 74 when the profile \
cannot be written; 2 on bad input (usage, a --merge profile that is missing or does not parse); \
1 when the command cannot be traced.\n\nExamples:\n  sysgate learn -o ls.json -- ls -l /\n  sysgate learn --args \
--default-action kill -o srv.json -- ./server --selftest\n  sysgate learn --merge a.json \
--merge b.json -o all.json -- make check\n  sysgate learn --portable -o ls.json -- ls -l /\n  \
sysgate learn merge a.json b.json -o all.json"
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,

    #[command(flatten)]
    out: OutputArgs,

    #[command(flatten)]
    default_action: flags::DefaultActionArg,

    #[command(flatten)]
    arches: ArchesArg,

    /// Also learn argument values of flag-like arguments (socket domain and type, clone
    /// flags, prctl option, ioctl request, personality, fcntl cmd, mmap/mprotect prot,
    /// setsockopt level and name) and allow only the values seen. Pointers, lengths and
    /// file descriptors are never constrained.
    #[arg(long)]
    args: bool,

    /// With --args: an argument seen with more distinct values than this is left
    /// unconstrained.
    #[arg(long, value_name = "N", default_value_t = 32)]
    max_values: usize,

    #[command(flatten)]
    verbosity: Verbosity,

    /// Print the summary as JSON on standard output (the profile then goes to -o FILE).
    #[arg(long)]
    json: bool,

    /// How calls reach sysgate: notify (seccomp user notification with synchronous
    /// wake-ups, Linux 6.6), ptrace (one ptrace stop per call), or auto (notify where the
    /// kernel has it).
    #[arg(long, value_enum, default_value = "auto")]
    tracer: Tracer,

    /// Complain mode: run CMD with PROFILE's (Docker/OCI JSON) denials recorded instead of
    /// enforced, and report on standard error what would have been denied and what would
    /// allow it; no profile is written (what `sysgate run --complain` does).
    #[arg(long, value_name = "PROFILE")]
    complain_with: Option<PathBuf>,

    /// Also allow the calls this container runtime makes between installing the filter and
    /// starting the program, so the profile can be a container's seccomp profile: runc,
    /// crun, or none.
    #[arg(long, value_enum, default_value = "none")]
    runtime: crate::agent::RuntimeArg,

    #[command(flatten)]
    portable: PortableArg,

    /// The command to learn, with its arguments (after `--`).
    // No allow_hyphen_values: a misspelled flag before `--` (`--arg` for `--args`) is an
    // error, not a program to run; after the first word, the command's own flags are its.
    #[arg(value_name = "CMD", trailing_var_arg = true, required = true)]
    cmd: Vec<OsString>,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// Write the union of learned profiles.
    Merge(MergeArgs),
}

/// Arguments of `sysgate learn merge`.
#[derive(clap::Args, Debug)]
struct MergeArgs {
    /// The profiles to merge (Docker/OCI JSON; "-" for standard input).
    #[arg(value_name = "PROFILE", required = true)]
    profiles: Vec<PathBuf>,

    #[command(flatten)]
    out: OutputArgs,

    /// Default action of the result (same spellings as `learn --default-action`).
    /// Default: the first profile's.
    #[arg(long, value_name = "ACTION", value_parser = flags::parse_default_action)]
    default_action: Option<Action>,

    #[command(flatten)]
    arches: ArchesArg,

    /// Also allow the calls this container runtime makes before the program starts: runc,
    /// crun, or none.
    #[arg(long, value_enum, default_value = "none")]
    runtime: crate::agent::RuntimeArg,

    #[command(flatten)]
    portable: PortableArg,
}

/// Run `sysgate learn`.
pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(Sub::Merge(m)) = args.command {
        return merge(m);
    }
    let arches = args.arches.parse()?;
    if let Some(profile) = &args.complain_with {
        let policy = read_profile(profile, &arches)?;
        let files = [(profile.display().to_string(), ProfileFormat::Docker)];
        return crate::complain::run_complain(&policy, &files, &args.cmd);
    }
    let destination = args.out.output.destination();
    if args.json && destination == Destination::Stdout {
        return Err(bad_input(
            "--json prints the summary on standard output: write the profile with -o FILE",
        ));
    }
    // Before CMD runs, which may take long: a profile that cannot be written fails now.
    destination.preflight()?;
    let earlier = read_profiles(&args.out.merge, &arches)?;

    let mut options = TraceOptions::new()
        .collect_args(args.args)
        .backend(args.tracer.backend())
        .forward_signals(true);
    // Live progress only for a person watching: standard error a terminal, and no -q.
    let live = (!args.verbosity.quiet && std::io::stderr().is_terminal()).then(|| {
        let progress = Arc::new(Progress::default());
        options = options.clone().progress(Arc::clone(&progress));
        LiveProgress::start(progress)
    });
    let traced = learn::trace(&args.cmd, &options);
    if let Some(live) = live {
        live.stop();
    }
    let traced = match traced {
        Ok(t) => t,
        Err(e) => return trace_failed(e),
    };
    report_fallback(&traced, args.verbosity);
    let synth = SynthOptions {
        default_action: args.default_action.default_action,
        args: args.args,
        max_values: args.max_values,
        arches,
    };
    let learned = learn::synthesize(&traced.observations, &synth)
        .map_err(|e| anyhow::anyhow!("cannot build the profile: {e}"))?;
    let learned = with_earlier(learned, &earlier)?;
    let mut learned = learn::with_runtime(learned, args.runtime.runtime())
        .map_err(|e| anyhow::anyhow!("cannot build the profile: {e}"))?;
    let (policy, note) = args.portable.apply(learned.policy, &args.verbosity)?;
    learned.policy = policy;
    learned.notes.extend(note);
    write_profile(&args.out, &learned.policy, args.verbosity.quiet)?;
    let status = traced.exit.code();
    // -v lists every syscall by count; the summary shows the ten most frequent.
    let top = if args.verbosity.verbose {
        usize::MAX
    } else {
        10
    };
    let summary = learn::summarize(&traced.observations, top);
    if args.json {
        let doc = summary_json(&summary, &learned, &destination, status);
        output::print(format!("{doc:#}\n").as_bytes())?;
    }
    if !args.verbosity.quiet {
        if !args.json {
            eprint!("{}", prefixed(&summary.to_string()));
        }
        report_notes(&learned.notes);
        eprintln!(
            "sysgate: {} rules written to {}",
            learned.policy.rules().len(),
            destination.describe()
        );
        if status != 0 {
            // The profile is written all the same: what ran before the failure is real.
            let shown = args.cmd[0].to_string_lossy();
            let how = match traced.exit {
                sysgate::learn::Exit::Signal(sig) => format!("was killed by signal {sig}"),
                sysgate::learn::Exit::Code(code) => format!("exited with status {code}"),
            };
            eprintln!(
                "sysgate: warning: {shown} failed ({how}): the profile holds only the calls it \
                 made until then; sysgate exits with its status ({status})"
            );
        }
    }
    Ok(exit_code(status))
}

/// `sysgate learn --json`: the summary, what was written where, and the command's status.
fn summary_json(
    summary: &learn::Summary,
    learned: &Learned,
    destination: &Destination,
    status: i32,
) -> serde_json::Value {
    use serde_json::json;
    json!({
        "calls": summary.calls,
        "executables": summary.exes,
        "distinct": summary
            .distinct
            .iter()
            .map(|(arch, n)| (arch.name().to_string(), json!(n)))
            .collect::<serde_json::Map<_, _>>(),
        "top": summary
            .top
            .iter()
            .map(|(arch, name, count)| json!({"arch": arch.name(), "syscall": name, "count": count}))
            .collect::<Vec<_>>(),
        "dangerous": summary
            .dangerous
            .iter()
            .map(|d| json!({"syscall": d.name, "why": d.why, "count": d.count, "executables": d.exes}))
            .collect::<Vec<_>>(),
        "by_set": summary
            .by_set
            .iter()
            .map(|(set, names)| json!({"set": set, "syscalls": names}))
            .collect::<Vec<_>>(),
        "notes": learned.notes,
        "rules": learned.policy.rules().len(),
        "profile": destination.describe(),
        "exit_status": status,
    })
}

/// `sysgate learn merge`.
fn merge(args: MergeArgs) -> Result<ExitCode> {
    let arches = args.arches.parse()?;
    let mut all = read_profiles(&args.profiles, &arches)?;
    all.extend(read_profiles(&args.out.merge, &arches)?);
    // Each profile before the union, whose rules no longer say where they were read.
    let (mut all, note) = args.portable.apply_each(all, &Verbosity::default())?;
    let mut first = all.remove(0);
    if let Some(d) = args.default_action {
        first
            .set_default_action(d)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let learned = learn::union(&first, &all).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut learned =
        learn::with_runtime(learned, args.runtime.runtime()).map_err(|e| anyhow::anyhow!("{e}"))?;
    learned.notes.extend(note);
    report_notes(&learned.notes);
    write_profile(&args.out, &learned.policy, false)?;
    Ok(ExitCode::SUCCESS)
}

/// Read a Docker/OCI profile for `arches` (none: the native architecture), merged across
/// them (no capability rules apply to learned profiles; Docker's default set is assumed for
/// others).
pub fn read_profile(path: &Path, arches: &[Arch]) -> Result<Policy> {
    let (text, name) = if path.as_os_str() == "-" {
        let bytes = output::read_stdin()?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad_input(format!("{}: not UTF-8 text", output::STDIN_NAME)))?;
        (text, output::STDIN_NAME.to_string())
    } else {
        let bytes = sysgate::profile::read_file(path).map_err(|e| bad_input(e.to_string()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad_input(format!("{}: not UTF-8 text", path.display())))?;
        (text, path.display().to_string())
    };
    let native = [Arch::native()];
    let arches = if arches.is_empty() {
        &native[..]
    } else {
        arches
    };
    let mut merged: Option<Policy> = None;
    // Each architecture's reading repeats the warnings about the file: each once, in order.
    let mut seen = std::collections::HashSet::new();
    let mut warnings: Vec<String> = Vec::new();
    for &arch in arches {
        let loaded = docker::parse(&text, &name, &Target::docker_default(arch))
            .map_err(|e| bad_input(e.to_string()))?;
        for w in loaded.warnings {
            if seen.insert(w.clone()) {
                warnings.push(w);
            }
        }
        match &mut merged {
            None => merged = Some(loaded.policy),
            Some(m) => m
                .merge(&loaded.policy)
                .map_err(|e| bad_input(format!("{name}: {e}")))?,
        }
    }
    let warnings = sysgate::profile::collapse_repeated_warnings(warnings);
    for w in crate::profile_input::shown_warnings(&warnings, false, "") {
        eprintln!("sysgate: warning: {w}");
    }
    Ok(merged.expect("at least one architecture"))
}

fn read_profiles(paths: &[PathBuf], arches: &[Arch]) -> Result<Vec<Policy>> {
    paths.iter().map(|p| read_profile(p, arches)).collect()
}

/// `learned` united with earlier profiles (the learned default action wins).
pub fn with_earlier(learned: Learned, earlier: &[Policy]) -> Result<Learned> {
    if earlier.is_empty() {
        return Ok(learned);
    }
    let mut merged = learn::union(&learned.policy, earlier).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut notes = learned.notes;
    notes.append(&mut merged.notes);
    merged.notes = notes;
    Ok(merged)
}

/// Write the profile where `out` says, atomically for a file, through the profile writers
/// (what a format cannot express is listed on stderr, written the more restrictive way;
/// `quiet` keeps only what would permit more).
///
/// A learned policy has no bad-arch action or ENOSYS rule of its own choosing: written for
/// runc (Docker, OCI), it takes runc's (KILL_THREAD, ENOSYS above the largest syscall it
/// names; both refuse, as the policy does), so nothing is listed as lost that the learned
/// program never asked for.
pub fn write_profile(out: &OutputArgs, policy: &Policy, quiet: bool) -> Result<()> {
    let format = out.format.format;
    let mut runc_reading;
    let policy = if matches!(format, ProfileFormat::Docker | ProfileFormat::Oci) {
        runc_reading = policy.clone();
        runc_reading.attrs.bad_arch = Action::KillThread;
        runc_reading.attrs.enosys_for_unknown_syscalls = false;
        runc_reading.attrs.enosys_above = if matches!(
            policy.default_action(),
            Action::Allow | Action::Log | Action::Trace(_)
        ) {
            Default::default()
        } else {
            let names = policy.rules().iter().filter_map(|r| match &r.syscall {
                Syscall::Name(n) => Some(n.as_str()),
                Syscall::Number(_) => None,
            });
            sysgate::profile::docker::runc_enosys_thresholds(policy.arches(), names)
        };
        &runc_reading
    } else {
        policy
    };
    let destination = out.output.destination();
    let name = match &destination {
        Destination::File(p) => p.file_stem(),
        Destination::Stdout => None,
    }
    .map(|s| {
        s.to_string_lossy()
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    })
    .filter(|s| !s.is_empty())
    .unwrap_or_else(|| "learned".to_string());
    let options = OutputOptions {
        lxc_version: out.lxc_version,
        k8s_name: name,
        k8s_namespace: "default".into(),
        systemd_version: SystemdVersion::Newest,
    };
    // A format without argument conditions gets the calls allowed for every argument, so the
    // program still runs under its profile; the writers would refuse them instead.
    let without_conds = match format {
        ProfileFormat::Systemd => Some("systemd"),
        ProfileFormat::Lxc if out.lxc_version == 1 => Some("LXC version 1"),
        _ => None,
    };
    let plain;
    let (policy, widened) = match without_conds {
        Some(name) => {
            plain = learn::without_arg_conditions(policy, name)
                .map_err(|e| anyhow::anyhow!("cannot build the profile: {e}"))?;
            (&plain.policy, plain.notes.as_slice())
        }
        None => (policy, &[][..]),
    };
    let mut written = profile_output::render(policy, None, format, &options)?;
    written
        .losses
        .extend(widened.iter().map(|n| Loss::general(n.clone())));
    if quiet {
        written.losses.retain(|l| l.is_more_permissive());
    }
    profile_output::emit(&written, format, false, &destination)
}

/// Say that the tracer fell back to another backend, and why (unless -q), and where the
/// program ran differently than without sysgate.
pub fn report_fallback(traced: &learn::Trace, verbosity: Verbosity) {
    if let Some(why) = &traced.fallback {
        verbosity.note(why);
    }
    for w in &traced.warnings {
        verbosity.warn(w);
    }
}

/// Each note on its own `sysgate: note:` line.
pub fn report_notes(notes: &[String]) {
    for n in notes {
        eprintln!("sysgate: note: {n}");
    }
}

fn prefixed(text: &str) -> String {
    text.lines().map(|l| format!("sysgate: {l}\n")).collect()
}

/// Exit status for a program's status (0..=255; 128 + signal for a signal).
pub fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(255))
}

/// The shell's answer to a command that could not run: 127 not found, 126 not executable;
/// other failures are sysgate's own (1).
pub fn trace_failed(e: TraceError) -> Result<ExitCode> {
    eprintln!("sysgate: {e}");
    Ok(match &e {
        TraceError::NotFound { .. } => ExitCode::from(127),
        TraceError::Exec { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ExitCode::from(127)
        }
        TraceError::Exec { .. } => ExitCode::from(126),
        TraceError::NoCommand | TraceError::Nul(_) => ExitCode::from(2),
        _ => ExitCode::from(1),
    })
}

/// A status line on standard error, redrawn while `sysgate learn` traces: processes and
/// threads, calls, distinct syscalls and the newest one. Erased when the trace ends, so the
/// summary and the program's own output are left as they were.
struct LiveProgress {
    done: Arc<AtomicBool>,
    drawer: std::thread::JoinHandle<()>,
}

impl LiveProgress {
    /// How often the line is redrawn.
    const EVERY: Duration = Duration::from_millis(100);

    fn start(progress: Arc<Progress>) -> LiveProgress {
        let done = Arc::new(AtomicBool::new(false));
        let drawer = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut last = None;
                while !done.load(Ordering::Relaxed) {
                    let now = progress.snapshot();
                    if last != Some(now) {
                        eprint!("\r{}\x1b[K", progress_line(&now));
                        last = Some(now);
                    }
                    std::thread::park_timeout(Self::EVERY);
                }
                // Erase the line.
                eprint!("\r\x1b[K");
            })
        };
        LiveProgress { done, drawer }
    }

    fn stop(self) {
        self.done.store(true, Ordering::Relaxed);
        self.drawer.thread().unpark();
        let _ = self.drawer.join();
    }
}

/// `sysgate: learning: 3 processes, 1204 syscalls, 41 distinct (new: openat)`.
fn progress_line(p: &learn::ProgressSnapshot) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "sysgate: learning: {}, {}, {} distinct",
        plural(p.tasks, "process", "processes"),
        plural(p.calls, "syscall", "syscalls"),
        p.distinct
    );
    if let Some(name) = Progress::newest_name(p) {
        line.push_str(&format!(" (new: {name})"));
    }
    line
}
