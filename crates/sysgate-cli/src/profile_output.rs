//! Writing a policy as a profile in any format, shared by the subcommands that produce one
//! (`convert`, and `learn` and `audit --profile`): the format dispatch, the list of losses on
//! stderr, and an atomic write.

use anyhow::Result;
use sysgate::policy::Policy;
use sysgate::profile::detect::Format;
use sysgate::profile::lxc::LxcVersion;
use sysgate::profile::systemd_sets::SystemdVersion;
use sysgate::profile::write::{write_as, Loss, WriteOptions, Written};
use sysgate::profile::{k8s, lxc, systemd, Listener};

use crate::bad_input;
use crate::output::Destination;
use crate::profile_input::WARNINGS_SHOWN;

/// Format-specific choices for writing.
#[derive(Clone, Debug)]
pub struct OutputOptions {
    /// LXC file version, 1 or 2.
    pub lxc_version: u8,
    /// Kubernetes `metadata.name`.
    pub k8s_name: String,
    /// Kubernetes `metadata.namespace`.
    pub k8s_namespace: String,
    /// The systemd to write for: its syscall names and sets.
    pub systemd_version: SystemdVersion,
}

/// `policy` written as `format`.
pub fn render(
    policy: &Policy,
    listener: Option<&Listener>,
    format: Format,
    options: &OutputOptions,
) -> Result<Written> {
    let lxc_version = match options.lxc_version {
        1 => LxcVersion::V1,
        2 => LxcVersion::V2,
        v if format == Format::Lxc => {
            return Err(bad_input(format!("--lxc-version {v}: expected 1 or 2")))
        }
        _ => LxcVersion::default(),
    };
    let options = WriteOptions {
        systemd: systemd::WriteOptions::for_version(options.systemd_version),
        lxc: lxc::WriteOptions::version(lxc_version),
        k8s: k8s::WriteOptions {
            name: options.k8s_name.clone(),
            namespace: options.k8s_namespace.clone(),
        },
    };
    Ok(write_as(format, policy, listener, &options))
}

/// List the losses on stderr, then write the text to `output` (see [`crate::output`]: a file
/// atomically, so no reader sees half a profile, or standard output).
pub fn emit(
    written: &Written,
    format: Format,
    has_listener: bool,
    output: &Destination,
) -> Result<()> {
    if has_listener && matches!(format, Format::Systemd | Format::Lxc) {
        eprintln!("sysgate: lost: the notification listener ({format} has no place for it)");
    }
    print_losses(&written.losses);
    output.write(written.text.as_bytes())?;
    Ok(())
}

/// List `losses` on stderr: every one that makes the profile more permissive, and the first
/// [`WARNINGS_SHOWN`] of the others (a conversion can lose something on each of a million
/// rules), then a line counting the rest.
pub fn print_losses(losses: &[Loss]) {
    let mut others = 0usize;
    for loss in losses {
        if !loss.is_more_permissive() {
            others += 1;
            if others > WARNINGS_SHOWN {
                continue;
            }
        }
        eprintln!("sysgate: lost: {loss}");
    }
    if let Some(rest) = others.checked_sub(WARNINGS_SHOWN).filter(|r| *r > 0) {
        eprintln!(
            "sysgate: lost: {rest} more, not shown (each one written the more restrictive way)"
        );
    }
}
