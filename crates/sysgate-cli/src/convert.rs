//! `sysgate convert`: a profile in another format, with every loss listed.

use std::process::ExitCode;

use anyhow::Result;
use sysgate::profile::detect::Format;

use crate::flags::{OutputArg, PortableArg, ProfileFormatArg, Verbosity};
use crate::profile_input::{self, TargetArgs};
use crate::profile_output::{self, OutputOptions};

/// Arguments of `sysgate convert`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The input format is detected from the content (or named with --from). \
What the target format cannot express is replaced by the more restrictive reading, never the \
more permissive one, and each such loss is listed on stderr.\n\nExamples:\n  sysgate convert \
docker-default.json --arch amd64 --format systemd\n  sysgate convert app.service -f k8s \
--k8s-name app -o app-profile.yaml\n  sysgate convert systemd:@system-service --to docker\n  \
sysgate convert --portable learned.json -o learned-portable.json"
)]
pub struct Args {
    /// The profile to convert (a file, "-" for standard input, or systemd:@set).
    #[arg(value_name = "IN")]
    input: String,

    #[command(flatten)]
    format: ProfileFormatArg,

    #[command(flatten)]
    output: OutputArg,

    // -q: no warnings, and of the losses only those that would permit more; -v: nothing
    // more.
    #[command(flatten)]
    verbosity: Verbosity,

    /// LXC: the file version to write, 2 (names, conditions, errnos) or 1 (numbers only).
    #[arg(long, value_name = "1|2", default_value = "2")]
    lxc_version: u8,

    /// Kubernetes: metadata.name of the SeccompProfile written (default: from IN's name).
    #[arg(long, value_name = "NAME")]
    k8s_name: Option<String>,

    /// Kubernetes: metadata.namespace of the SeccompProfile written.
    #[arg(long, value_name = "NAMESPACE", default_value = "default")]
    k8s_namespace: String,

    #[command(flatten)]
    target: TargetArgs,

    #[command(flatten)]
    portable: PortableArg,
}

/// Run `sysgate convert`.
pub fn run(args: Args) -> Result<ExitCode> {
    let to: Format = args.format.format;
    let loaded = profile_input::load(&args.input, &args.target)?;
    for w in profile_input::shown_warnings(&loaded.warnings, false, "") {
        args.verbosity.warn(w);
    }
    let (policy, note) = args
        .portable
        .apply(loaded.policy.clone(), &args.verbosity)?;
    if let Some(note) = note {
        args.verbosity.note(note);
    }
    let policy = &policy;
    let listener = loaded.listener.as_ref();
    let options = OutputOptions {
        lxc_version: args.lxc_version,
        k8s_name: args
            .k8s_name
            .clone()
            .or_else(|| loaded.name.clone())
            .unwrap_or_else(|| default_name(&args.input)),
        k8s_namespace: args.k8s_namespace.clone(),
        systemd_version: args.target.systemd_version()?,
    };
    let mut written = profile_output::render(policy, listener, to, &options)?;
    if args.verbosity.quiet {
        written.losses.retain(|l| l.is_more_permissive());
    }
    profile_output::emit(&written, to, listener.is_some(), &args.output.destination())?;
    Ok(ExitCode::SUCCESS)
}

/// A Kubernetes name from a file name: `docker-default.json` → `docker-default`.
fn default_name(input: &str) -> String {
    let base = input.rsplit('/').next().unwrap_or(input);
    let stem = base.split('.').next().unwrap_or(base);
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "profile".into()
    } else {
        name
    }
}
