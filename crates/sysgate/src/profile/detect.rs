//! Which format a profile is in, told from its content, and reading any of them the same way.
//!
//! This module owns the choice of frontend and nothing else: each format's module reads it.
//! The built-in profile `systemd:@set` is recognised by name.
//!
//! ```
//! use sysgate::profile::detect::{detect, Format};
//!
//! assert_eq!(detect("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}"), Some(Format::Docker));
//! assert_eq!(detect("2\ndenylist\n"), Some(Format::Lxc));
//! assert_eq!(detect("[Service]\nSystemCallFilter=@system-service\n"), Some(Format::Systemd));
//! assert_eq!(detect("apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\n"), Some(Format::K8s));
//! assert_eq!(detect("hello"), None);
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::{docker, k8s, lxc, systemd, Named, ProfileError, Target};

/// A profile format.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Docker/moby JSON (also read: OCI and Podman JSON, which share the reader).
    Docker,
    /// The OCI runtime-spec `linux.seccomp` object.
    Oci,
    /// Podman / containers-common JSON.
    Podman,
    /// systemd unit settings.
    Systemd,
    /// LXC seccomp policy file.
    Lxc,
    /// Kubernetes security-profiles-operator `SeccompProfile`.
    K8s,
}

impl Format {
    /// Every format, for messages.
    pub const ALL: [Format; 6] = [
        Format::Docker,
        Format::Oci,
        Format::Podman,
        Format::Systemd,
        Format::Lxc,
        Format::K8s,
    ];

    /// The name used on the command line.
    ///
    /// ```
    /// use sysgate::profile::detect::Format;
    ///
    /// assert_eq!(Format::K8s.name(), "k8s");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Format::Docker => "docker",
            Format::Oci => "oci",
            Format::Podman => "podman",
            Format::Systemd => "systemd",
            Format::Lxc => "lxc",
            Format::K8s => "k8s",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?}: expected docker, oci, podman, systemd, lxc or k8s")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// `docker` (or `moby`, `json`), `oci`, `podman`, `systemd`, `lxc`, `k8s` (or
    /// `kubernetes`), any case.
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s.to_ascii_lowercase().as_str() {
            "docker" | "moby" | "json" => Ok(Format::Docker),
            "oci" => Ok(Format::Oci),
            "podman" | "containers" => Ok(Format::Podman),
            "systemd" => Ok(Format::Systemd),
            "lxc" => Ok(Format::Lxc),
            "k8s" | "kubernetes" => Ok(Format::K8s),
            _ => Err(UnknownFormat(s.to_string())),
        }
    }
}

/// The format of `text`, judged from its content; `None` if it looks like none of them.
pub fn detect(text: &str) -> Option<Format> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') {
        return Some(Format::Docker);
    }
    let meaningful: Vec<&str> = t
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .collect();
    if matches!(t.lines().next().map(str::trim), Some("1" | "2")) {
        return Some(Format::Lxc);
    }
    if meaningful.iter().any(|l| {
        l.starts_with("SystemCall")
            || matches!(
                *l,
                "[Service]" | "[Socket]" | "[Mount]" | "[Swap]" | "[Unit]"
            )
    }) {
        return Some(Format::Systemd);
    }
    if meaningful
        .iter()
        .any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:") || *l == "---")
    {
        return Some(Format::K8s);
    }
    None
}

/// How to read a profile.
///
/// ```
/// use sysgate::profile::detect::ReadOptions;
///
/// assert!(ReadOptions::default().from.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The format, instead of detecting it.
    pub from: Option<Format>,
    /// Docker/OCI/Podman: refuse unknown syscall names.
    pub strict_names: bool,
    /// systemd: which version's sets.
    pub systemd: systemd::ReadOptions,
    /// LXC (no choices yet).
    pub lxc: lxc::ReadOptions,
    /// Kubernetes: where base profiles are.
    pub k8s: k8s::ReadOptions,
}

/// A profile read from a file or a built-in: one [`Loaded`](super::Loaded) per profile it holds (Kubernetes
/// files may hold several), with its name where the format has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// The format it was read as.
    pub format: Format,
    /// The profiles.
    pub profiles: Vec<Named>,
}

/// Read `text` (named `source` in errors and origins) for `target`.
///
/// ```
/// use sysgate::profile::detect::{read_text, Format, ReadOptions};
/// use sysgate::profile::Target;
/// use sysgate::Arch;
///
/// let read = read_text("2\ndenylist\nmount\n", "p", &Target::new(Arch::X86_64), &ReadOptions::default())?;
/// assert_eq!(read.format, Format::Lxc);
/// assert_eq!(read.profiles[0].loaded.policy.rules().len(), 1);
/// # Ok::<(), sysgate::profile::ProfileError>(())
/// ```
pub fn read_text(
    text: &str,
    source: &str,
    target: &Target,
    options: &ReadOptions,
) -> Result<Read, ProfileError> {
    let format = match options.from.or_else(|| detect(text)) {
        Some(f) => f,
        None => {
            return Err(ProfileError::Unrecognized {
                source_name: source.to_string(),
            })
        }
    };
    let mut k8s_options = options.k8s.clone();
    k8s_options.strict_keys |= options.strict_names;
    let profiles = match format {
        Format::Docker | Format::Oci | Format::Podman => {
            let o = if options.strict_names {
                docker::ReadOptions::strict()
            } else {
                docker::ReadOptions::default()
            };
            docker::read(text, source, target, &o)?
        }
        Format::Systemd => systemd::read(text, source, target, &options.systemd)?,
        Format::Lxc => lxc::read(text, source, target, &options.lxc)?,
        Format::K8s => k8s::read(text, source, target, &k8s_options)?,
    };
    let profiles = profiles
        .into_iter()
        .map(|mut p| {
            p.loaded.warnings = super::collapse_repeated_warnings(p.loaded.warnings);
            p
        })
        .collect();
    Ok(Read { format, profiles })
}

/// Read the profile `spec` for `target`: a file, the built-in `systemd:@set`, or another
/// built-in profile by name (`docker-default`, see [`super::builtin`]) when no file of that
/// name exists.
///
/// ```
/// use sysgate::profile::detect::{read, Format, ReadOptions};
/// use sysgate::profile::Target;
/// use sysgate::Arch;
///
/// let r = read("systemd:@system-service", &Target::new(Arch::X86_64), &ReadOptions::default())?;
/// assert_eq!(r.format, Format::Systemd);
/// assert!(read("/nonexistent", &Target::new(Arch::X86_64), &ReadOptions::default()).is_err());
/// # Ok::<(), sysgate::profile::ProfileError>(())
/// ```
pub fn read(spec: &str, target: &Target, options: &ReadOptions) -> Result<Read, ProfileError> {
    if let Some(set) = spec.strip_prefix("systemd:") {
        let text = format!("SystemCallFilter={set}\n");
        let mut r = read_text(
            &text,
            spec,
            target,
            &ReadOptions {
                from: Some(Format::Systemd),
                ..options.clone()
            },
        )?;
        for p in &mut r.profiles {
            p.name = Some(spec.to_string());
        }
        return Ok(r);
    }
    let path = Path::new(spec);
    if !path.exists() {
        if let Some(loaded) = super::builtin::builtin(spec, target) {
            return Ok(Read {
                format: Format::Docker,
                profiles: vec![Named {
                    name: Some(spec.to_string()),
                    namespace: None,
                    loaded,
                }],
            });
        }
    }
    let bytes = super::read_file(path)?;
    // Binary data: the first NUL byte, or the first byte that is not UTF-8, whichever is first.
    let bad = match std::str::from_utf8(&bytes) {
        Ok(_) => None,
        Err(e) => Some(e.valid_up_to()),
    };
    let nul = bytes[..bad.unwrap_or(bytes.len())]
        .iter()
        .position(|b| *b == 0);
    if let Some(offset) = nul.or(bad) {
        return Err(not_text(spec, &bytes, offset));
    }
    let text = String::from_utf8(bytes).expect("checked above");
    read_text(&text, spec, target, options)
}

/// Where the byte at `offset` (the first that is not text) sits: its line and column (in
/// characters, counting the valid text before it) and byte offset.
fn not_text(source: &str, bytes: &[u8], offset: usize) -> ProfileError {
    // Everything before `offset` is valid UTF-8.
    let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before[line_start..].chars().count() + 1;
    ProfileError::NotText {
        source_name: source.to_string(),
        line,
        column,
        offset,
        byte: bytes[offset],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arch;

    #[test]
    fn from_overrides_detection_and_errors_say_what_was_expected() {
        let t = Target::new(Arch::X86_64);
        let err = read_text("hello", "p", &t, &ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("cannot tell the format of p"),
            "{err}"
        );
        let o = ReadOptions {
            from: Some(Format::Systemd),
            ..Default::default()
        };
        let err = read_text("hello", "p", &t, &o).unwrap_err();
        assert!(err.to_string().starts_with("p:1:1:"), "{err}");
        let err = read("systemd:@nope", &t, &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("unknown syscall set"), "{err}");
    }

    #[test]
    fn names_parse() {
        assert_eq!("Kubernetes".parse::<Format>(), Ok(Format::K8s));
        assert!("yaml".parse::<Format>().is_err());
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
    }
}
