//! `sysgate oci prepare`: route a container's calls to `sysgate agent`.
//!
//! Builds the profile [`sysgate::learn::agent_policy`] describes (USER_NOTIF for the calls
//! to observe, ALLOW for `write`, `exit`, `exit_group`, the runtime's own calls and what the
//! given profile allows outright, ENOSYS for numbers no table names), with `listenerPath`
//! set to the agent's socket and `listenerMetadata` naming the mode, the runtime and (in
//! complain mode) the profile, and puts it in an OCI bundle's
//! `config.json` (`linux.seccomp`), or writes it as a profile file for
//! `podman run --security-opt seccomp=FILE`.
//!
//! The bundle's original `config.json` is kept beside it as `config.json.sysgate-orig`;
//! preparing the same bundle again starts from that original, so the result does not
//! depend on how often it was prepared.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::learn::{agent_policy, AgentMode};
use sysgate::policy::{Action, Policy};
use sysgate::profile::docker::{self, Dialect, WriteOptions};
use sysgate::profile::{oci_config, Listener};

use crate::bad_input;
use crate::output::{self, Destination};
use crate::profile_input::{self, TargetArgs};
use crate::profile_output;

/// Arguments of `sysgate oci`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// Rewrite an OCI bundle's config.json (or write a profile for Podman) so the runtime
    /// hands the container's calls to `sysgate agent`.
    Prepare(PrepareArgs),
}

/// `--mode` of `oci prepare`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PrepareMode {
    /// Notify every call (but write, exit, exit_group), to learn them.
    Learn,
    /// Notify the calls --profile may refuse, to report them.
    Complain,
}

/// The dialect of `-o`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ProfileDialect {
    /// Podman's seccomp JSON (`podman run --security-opt seccomp=FILE`).
    Podman,
    /// Docker/moby's seccomp JSON.
    Docker,
    /// The OCI `linux.seccomp` object.
    Oci,
}

/// Arguments of `sysgate oci prepare`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "runc refuses SCMP_ACT_NOTIFY as the default action and on write: the \
profile notifies every syscall its architectures name except write, exit, exit_group and the \
runtime's own calls (--runtime), which it allows (so write is never learned through the \
agent: learned profiles always allow it, and the runtime's calls), and gives ENOSYS to \
numbers no table names. With --profile, what that profile allows \
for every argument is allowed directly and only the rest is notified: complain mode reports \
exactly what the profile would refuse.\n\nThe agent must be listening before the container \
starts: runc fails to start a container whose agent it cannot reach.\n\nExamples:\n  sysgate \
oci prepare ./bundle --agent /run/sysgate.sock --mode learn\n  sysgate oci prepare ./bundle \
--agent /run/sysgate.sock --mode complain --profile web.json\n  sysgate oci prepare --agent \
/run/sysgate.sock --mode learn -o podman-learn.json"
)]
struct PrepareArgs {
    /// The bundle directory whose config.json is rewritten (the original is kept as
    /// config.json.sysgate-orig). Without it, -o is required.
    #[arg(value_name = "BUNDLE")]
    bundle: Option<PathBuf>,

    /// The agent's socket (`sysgate agent --socket`): the profile's listenerPath, made
    /// absolute.
    #[arg(long, value_name = "SOCKET")]
    agent: PathBuf,

    /// learn: notify every call; complain: notify the calls --profile may refuse.
    #[arg(long, value_enum)]
    mode: PrepareMode,

    /// The profile complain mode checks against (required for complain); in learn mode,
    /// calls it allows outright are not notified, and the agent adds them to the learned
    /// profile. Its path goes into listenerMetadata so the agent uses the same profile.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,

    /// The runtime that will run the container: the calls it makes under the filter before
    /// the agent has the listener are allowed, not notified (notified, runc's init could
    /// wait for ever), and the agent adds them to the learned profile.
    #[arg(long, value_enum, default_value = "runc")]
    runtime: crate::agent::RuntimeArg,

    #[command(flatten)]
    target: TargetArgs,

    /// Also write the profile to FILE ("-": standard output), e.g. for
    /// `podman run --security-opt seccomp=FILE`.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// The dialect written with -o.
    #[arg(short = 'f', long, value_enum, default_value = "podman")]
    format: ProfileDialect,
}

/// Run `sysgate oci`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Sub::Prepare(p) => prepare(p),
    }
}

fn prepare(args: PrepareArgs) -> Result<ExitCode> {
    if args.bundle.is_none() && args.output.is_none() {
        return Err(bad_input(
            "oci prepare: name a BUNDLE to rewrite, or -o FILE to write the profile",
        ));
    }
    let (profile, profile_path) = match &args.profile {
        Some(p) => {
            let loaded = profile_input::load(p, &args.target)?;
            for w in &loaded.warnings {
                eprintln!("sysgate: warning: {w}");
            }
            let abs = if p == "-" {
                None
            } else {
                Some(absolute(Path::new(p))?)
            };
            (Some(loaded.policy), abs)
        }
        None => (None, None),
    };
    let mode = match args.mode {
        PrepareMode::Learn => AgentMode::Learn,
        PrepareMode::Complain => AgentMode::Complain,
    };
    if mode == AgentMode::Complain && profile.is_none() {
        return Err(bad_input(
            "oci prepare --mode complain: needs --profile PROFILE to check against",
        ));
    }
    let arches = arches(profile.as_ref(), &args.target);
    let runtime = args.runtime.runtime();
    let policy = agent_policy(&arches, profile.as_ref(), runtime)
        .map_err(|e| anyhow::anyhow!("cannot build the agent's profile: {e}"))?;
    let mut metadata = format!("mode={} runtime={}", mode.name(), runtime.name());
    // Complain: the agent decides with it; learn: the agent adds what it allows (those
    // calls are allowed directly and never reach the agent).
    if let Some(p) = &profile_path {
        metadata.push_str(&format!(" profile={}", p.display()));
    }
    let listener = Listener {
        path: absolute(&args.agent)?.display().to_string(),
        metadata,
    };
    let notified = count(&policy, Action::UserNotif);
    let direct = policy.rules().len() - notified;

    if let Some(out) = &args.output {
        let dialect = match args.format {
            ProfileDialect::Podman => Dialect::Podman,
            ProfileDialect::Docker => Dialect::Docker,
            ProfileDialect::Oci => Dialect::Oci,
        };
        let written = docker::write(&policy, Some(&listener), &WriteOptions::dialect(dialect));
        profile_output::print_losses(&written.losses);
        let destination = Destination::from_arg(Some(out));
        destination.write(written.text.as_bytes())?;
        eprintln!(
            "sysgate: {}: {notified} syscalls notified to {} ({} mode), {direct} allowed \
             directly",
            destination.describe(),
            listener.path,
            mode.name()
        );
    }
    if let Some(bundle) = &args.bundle {
        let written = docker::write(
            &policy,
            Some(&listener),
            &WriteOptions::dialect(Dialect::Oci),
        );
        profile_output::print_losses(&written.losses);
        let seccomp: serde_json::Value = serde_json::from_str(&written.text)
            .map_err(|e| anyhow::anyhow!("the OCI writer produced invalid JSON: {e}"))?;
        let config_path = bundle.join("config.json");
        let backup = bundle.join("config.json.sysgate-orig");
        let (original, from) = if backup.exists() {
            (read(&backup)?, backup.clone())
        } else {
            (read(&config_path)?, config_path.clone())
        };
        let rewritten =
            oci_config::set_linux_seccomp(&original, &from.display().to_string(), &seccomp)
                .map_err(|e| bad_input(e.to_string()))?;
        if profile.is_none() && rewritten.replaced {
            eprintln!(
                "sysgate: warning: {}: its linux.seccomp is replaced; pass it with --profile \
                 to allow what it allows without notifying",
                from.display()
            );
        }
        if !backup.exists() {
            output::write_file(&backup, original.as_bytes())?;
        }
        output::write_file(&config_path, rewritten.text.as_bytes())?;
        eprintln!(
            "sysgate: {}: {notified} syscalls notified to {} ({} mode), {direct} allowed \
             directly; the original is {}",
            config_path.display(),
            listener.path,
            mode.name(),
            backup.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile's architectures, else `--arch`, else the native one with the ABIs Docker
/// adds to it (x86_64: x86 and x32).
fn arches(profile: Option<&Policy>, target: &TargetArgs) -> Vec<Arch> {
    if let Some(p) = profile {
        return p.arches().to_vec();
    }
    let asked = target.arches();
    if !asked.is_empty() {
        return asked;
    }
    let native = Arch::native();
    std::iter::once(native)
        .chain(
            sysgate::profile::builtin::docker_sub_arches(native)
                .iter()
                .copied(),
        )
        .collect()
}

fn count(policy: &Policy, action: Action) -> usize {
    policy.rules().iter().filter(|r| r.action == action).count()
}

fn read(path: &Path) -> Result<String> {
    // A FIFO would block until someone writes to it, a device such as /dev/zero fill
    // memory; runc reads a file.
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(bad_input(format!(
                "{}: not a regular file (a FIFO, device or directory); a bundle's config is a \
                 file",
                path.display()
            )));
        }
    }
    std::fs::read_to_string(path).map_err(|e| {
        anyhow::Error::new(output::IoFailure {
            what: format!("cannot read {}", path.display()),
            source: e,
        })
    })
}

/// `path` made absolute against the working directory (runc connects from its own).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| bad_input(format!("{}: {e}", path.display())))
}
