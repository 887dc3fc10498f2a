//! Profile frontends: read a profile file into a [`Policy`].
//!
//! Each submodule owns one file format and nothing else: it parses the text, reports errors
//! with `file:line:column`, resolves whatever the format makes conditional (capabilities,
//! kernel version, architecture) for a [`Target`], and produces a [`Policy`] whose rules carry
//! their origin. Frontends never emit BPF and never decide what a policy means; that is
//! [`crate::policy`]'s job.
//!
//! - [`docker`]: Docker/moby seccomp profiles, the OCI runtime-spec `linux.seccomp` object (bare
//!   or inside a whole `config.json`) and the Podman/containers-common dialect.
//! - [`k8s`]: the Kubernetes security-profiles-operator `SeccompProfile` resource (YAML).
//! - [`lxc`]: LXC seccomp policy files, versions 1 and 2.
//! - [`systemd`]: `SystemCallFilter=` and friends, with systemd's syscall sets
//!   ([`systemd_sets`], generated from systemd's tables).
//!
//! - [`builtin`]: profiles defined in Rust and chosen by name (`docker-default`,
//!   `systemd:@set`), resolved for a [`Target`] like a file would be.
//!
//! Every format module has the same shape: its reader and its writer side by side,
//!
//! - `read(text, source, &Target, &ReadOptions) -> Result<Vec<Named>, Error>`: every profile
//!   the text holds (one, except in Kubernetes files), resolved for the target;
//! - `write(&Policy, Option<&Listener>, &WriteOptions) -> Written`: the profile text and what
//!   the format could not express,
//!
//! and the single-profile formats also have `parse(text, source, &Target)`, `read` with the
//! default options. [`detect::read_text`] and [`write::write_as`] pick the module for a
//! [`detect::Format`]; [`write`](mod@write) holds what the writers share (the list of what a
//! format could not express, and the restrictive way of giving it up).
//!
//! [`load`] reads a file and picks the frontend from its content ([`detect`]); [`show`] says
//! what a policy does and [`diff`] how two policies differ; [`portable`] adds the calls
//! other architectures use for the same work (the one table of equivalent calls).
//!
//! ```no_run
//! use sysgate::profile::{self, Target};
//! use sysgate::Arch;
//!
//! let loaded = profile::load("/etc/docker/seccomp.json", &Target::docker_default(Arch::X86_64))?;
//! for warning in &loaded.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! println!("{}", loaded.policy);
//! # Ok::<(), sysgate::profile::ProfileError>(())
//! ```

pub mod builtin;
pub mod detect;
pub mod diff;
pub mod docker;
mod json_pos;
pub mod k8s;
mod line_text;
pub mod lxc;
pub mod oci_config;
pub mod portable;
pub mod show;
pub mod systemd;
pub mod systemd_sets;
pub mod write;

pub use systemd_sets::systemd_set;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::arch::Arch;
use crate::kernel::KernelVersion;
use crate::policy::Policy;

pub use docker::DockerError;

/// Where something is in a profile file: `file:line:column`, 1-based, the column counted in
/// characters.
///
/// ```
/// use sysgate::profile::Location;
///
/// let at = Location::new("docker-default.json", 123, 9);
/// assert_eq!(at.to_string(), "docker-default.json:123:9");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file name as the caller gave it.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// A location.
    ///
    /// ```
    /// use sysgate::profile::Location;
    ///
    /// assert_eq!(Location::new("p.json", 1, 2).column, 2);
    /// ```
    pub fn new(file: impl Into<String>, line: usize, column: usize) -> Location {
        Location {
            file: file.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The capabilities Docker grants a container by default (moby's
/// `oci/caps.DefaultCapabilities`), which its default seccomp profile is resolved against.
///
/// ```
/// use sysgate::profile::DOCKER_DEFAULT_CAPS;
///
/// assert!(DOCKER_DEFAULT_CAPS.contains(&"CAP_NET_BIND_SERVICE"));
/// assert!(!DOCKER_DEFAULT_CAPS.contains(&"CAP_SYS_ADMIN"));
/// ```
pub const DOCKER_DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// What a profile is resolved for: the architecture the container runs on, the capabilities
/// in its bounding set, and the kernel version.
///
/// Docker profiles make rules conditional on all three (`includes`/`excludes`), and pick the
/// filter's architectures from `archMap` by the running architecture.
///
/// `kernel: None` means the version is unknown: every `minKernel` is then taken as satisfied,
/// as on a kernel newer than any the profile mentions. (moby refuses to load a profile with a
/// `minKernel` when it cannot read the kernel version; a target for another machine is the
/// common case here, and "recent kernel" is its useful reading.)
///
/// ```
/// use sysgate::kernel::KernelVersion;
/// use sysgate::profile::Target;
/// use sysgate::Arch;
///
/// let six_one = KernelVersion::new(6, 1, 0);
/// let t = Target::docker_default(Arch::X86_64).with_kernel(Some(six_one)).with_cap("sys_admin");
/// assert!(t.holds("CAP_SYS_ADMIN"));
/// assert!(t.holds("CAP_CHOWN"));
/// assert!(!t.holds("CAP_SYS_BOOT"));
/// assert_eq!(t.kernel, Some(six_one));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The architecture the filter is for (Docker's "native" architecture).
    pub arch: Arch,
    /// Capabilities in the container's bounding set, spelled `CAP_*` in upper case.
    pub caps: BTreeSet<String>,
    /// Kernel version, e.g. 6.1 (moby compares version and major revision only: the patch
    /// level of a `minKernel` is 0); `None` if unknown.
    pub kernel: Option<KernelVersion>,
}

impl Target {
    /// A target with no capabilities and an unknown kernel.
    ///
    /// ```
    /// use sysgate::profile::Target;
    /// use sysgate::Arch;
    ///
    /// let t = Target::new(Arch::Aarch64);
    /// assert!(t.caps.is_empty() && t.kernel.is_none());
    /// ```
    pub fn new(arch: Arch) -> Target {
        Target {
            arch,
            caps: BTreeSet::new(),
            kernel: None,
        }
    }

    /// What `docker run` gives a container on `arch`: [`DOCKER_DEFAULT_CAPS`] and the running
    /// kernel's version ([`KernelVersion::running`]).
    ///
    /// ```
    /// use sysgate::profile::{Target, DOCKER_DEFAULT_CAPS};
    /// use sysgate::Arch;
    ///
    /// let t = Target::docker_default(Arch::X86_64);
    /// assert_eq!(t.caps.len(), DOCKER_DEFAULT_CAPS.len());
    /// assert!(!t.holds("CAP_SYS_ADMIN"));
    /// ```
    pub fn docker_default(arch: Arch) -> Target {
        Target {
            arch,
            caps: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(),
            kernel: KernelVersion::running(),
        }
    }

    /// Add a capability; `sys_admin`, `SYS_ADMIN` and `CAP_SYS_ADMIN` all mean the same.
    ///
    /// ```
    /// use sysgate::profile::Target;
    /// use sysgate::Arch;
    ///
    /// assert!(Target::new(Arch::X86_64).with_cap("net_admin").holds("CAP_NET_ADMIN"));
    /// ```
    pub fn with_cap(mut self, cap: &str) -> Target {
        self.caps.insert(normalize_cap(cap));
        self
    }

    /// Remove a capability (any spelling [`Target::with_cap`] accepts).
    ///
    /// ```
    /// use sysgate::profile::Target;
    /// use sysgate::Arch;
    ///
    /// let t = Target::docker_default(Arch::X86_64).without_cap("net_raw");
    /// assert!(!t.holds("CAP_NET_RAW"));
    /// ```
    pub fn without_cap(mut self, cap: &str) -> Target {
        self.caps.remove(&normalize_cap(cap));
        self
    }

    /// Set the kernel version.
    ///
    /// ```
    /// use sysgate::kernel::KernelVersion;
    /// use sysgate::profile::Target;
    /// use sysgate::Arch;
    ///
    /// let v = KernelVersion::parse("5.4").unwrap();
    /// assert_eq!(Target::new(Arch::X86_64).with_kernel(Some(v)).kernel, Some(v));
    /// ```
    pub fn with_kernel(mut self, kernel: Option<KernelVersion>) -> Target {
        self.kernel = kernel;
        self
    }

    /// Whether the bounding set has this capability (exact `CAP_*` spelling, as moby compares).
    ///
    /// ```
    /// use sysgate::profile::Target;
    /// use sysgate::Arch;
    ///
    /// assert!(Target::docker_default(Arch::X86_64).holds("CAP_KILL"));
    /// ```
    pub fn holds(&self, cap: &str) -> bool {
        self.caps.contains(cap)
    }
}

fn normalize_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// The user-notification listener a profile asks for (OCI `listenerPath` and
/// `listenerMetadata`). The policy has no place for it: the runtime that installs the filter
/// sends the listener fd to this socket.
///
/// ```
/// use sysgate::profile::Listener;
///
/// let l = Listener { path: "/run/agent.sock".into(), metadata: String::new() };
/// assert_eq!(l.path, "/run/agent.sock");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Listener {
    /// The UNIX socket the runtime sends the listener fd (and container state) to.
    pub path: String,
    /// Opaque data passed along to the agent (empty if none).
    pub metadata: String,
}

/// A profile read and resolved for a target: the policy, what is worth telling the user, and
/// the listener the profile names.
///
/// ```
/// use sysgate::profile::{docker, Target};
/// use sysgate::Arch;
///
/// let loaded = docker::parse(
///     r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
///         {"names": ["read", "no_such_call"], "action": "SCMP_ACT_ALLOW"}]}"#,
///     "p.json",
///     &Target::new(Arch::X86_64),
/// )?;
/// assert_eq!(loaded.policy.rules().len(), 1);
/// assert!(loaded.warnings[0].contains("no_such_call"));
/// assert!(loaded.listener.is_none());
/// assert_eq!(loaded.default_origin.as_deref(), Some("p.json:1:19"));
/// # Ok::<(), sysgate::profile::DockerError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The policy; every rule's origin is `file:line:column`.
    pub policy: Policy,
    /// Things skipped or worth a look, each starting with its location.
    pub warnings: Vec<String>,
    /// The user-notification listener, if the profile names one.
    pub listener: Option<Listener>,
    /// Where the default action is set (`file:line:column`), for messages about it; `None`
    /// when the format has no such place.
    pub default_origin: Option<String>,
}

/// One profile of a file, with its name where the format has one: what every format's `read`
/// gives, one per profile the text holds (Kubernetes files may hold several, the others one).
///
/// ```
/// use sysgate::profile::{lxc, Target};
/// use sysgate::Arch;
///
/// let read = lxc::read("2\ndenylist\nmount\n", "p", &Target::new(Arch::X86_64), &Default::default())?;
/// assert_eq!(read.len(), 1);
/// assert!(read[0].name.is_none());
/// assert_eq!(read[0].loaded.policy.rules().len(), 1);
/// # Ok::<(), sysgate::profile::lxc::LxcError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// Its name (Kubernetes `metadata.name`, or the built-in's name).
    pub name: Option<String>,
    /// Its namespace (Kubernetes).
    pub namespace: Option<String>,
    /// The policy, warnings and listener.
    pub loaded: Loaded,
}

impl Named {
    /// A profile without a name, as the formats that hold one profile per file read it.
    pub fn unnamed(loaded: Loaded) -> Named {
        Named {
            name: None,
            namespace: None,
            loaded,
        }
    }
}

/// Why [`load`] failed.
///
/// ```
/// use sysgate::profile::{self, ProfileError, Target};
/// use sysgate::Arch;
///
/// let err = profile::load("/nonexistent.json", &Target::new(Arch::X86_64)).unwrap_err();
/// assert!(matches!(err, ProfileError::Io { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file (or standard input) is larger than [`MAX_PROFILE_BYTES`]: a runaway input
    /// such as `/dev/zero` is refused instead of read until memory runs out.
    #[error(
        "{}: larger than {} MiB, more than any profile; sysgate reads profiles up to that size",
        path.display(),
        MAX_PROFILE_BYTES >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is a Docker/OCI/Podman profile and is invalid.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// The file holds systemd settings and is invalid.
    #[error(transparent)]
    Systemd(#[from] systemd::SystemdError),
    /// The file is an LXC seccomp file and is invalid.
    #[error(transparent)]
    Lxc(#[from] lxc::LxcError),
    /// The file is a Kubernetes `SeccompProfile` and is invalid.
    #[error(transparent)]
    K8s(#[from] k8s::K8sError),
    /// The file is not UTF-8 text (every profile format is): where the first byte that is
    /// not UTF-8, or a NUL byte (binary data), is.
    #[error(
        "{source_name}:{line}:{column}: byte {byte:#04x} at offset {offset} is not UTF-8 text: \
         expected a text profile (Docker/OCI JSON, LXC, systemd or Kubernetes YAML), not binary \
         data or another encoding"
    )]
    NotText {
        /// The file as named.
        source_name: String,
        /// 1-based line of the byte.
        line: usize,
        /// 1-based column of the byte, in characters.
        column: usize,
        /// Byte offset from the start of the file.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The content matches no format.
    #[error(
        "{source_name}:1:1: cannot tell the format of {source_name}: expected JSON (Docker, OCI, \
         Podman), an LXC seccomp file (first line 1 or 2), systemd settings \
         (SystemCallFilter=...) or a Kubernetes SeccompProfile (YAML); name it with --from"
    )]
    Unrecognized {
        /// The file as named.
        source_name: String,
    },
    /// A file of several profiles where one was needed.
    #[error("{source_name} holds {count} profiles ({}): expected one; pick it by name", names.join(", "))]
    SeveralProfiles {
        /// The file as named.
        source_name: String,
        /// How many.
        count: usize,
        /// Their names.
        names: Vec<String>,
    },
}

/// Warnings that say the same thing in several places (a name unknown on every line that
/// names it, a warning about each of a million generated rules) as one each: the first
/// place, and how many there are. The rest keep their order.
///
/// ```
/// use sysgate::profile::collapse_repeated_warnings;
///
/// let w = vec![
///     "p:1:1: unknown syscall \"foo\" skipped".to_string(),
///     "p:2:1: unknown syscall \"bar\" skipped".to_string(),
///     "p:3:1: unknown syscall \"foo\" skipped".to_string(),
/// ];
/// assert_eq!(
///     collapse_repeated_warnings(w),
///     [
///         "p:1:1: unknown syscall \"foo\" skipped (2 times; the first is shown)",
///         "p:2:1: unknown syscall \"bar\" skipped",
///     ]
/// );
/// ```
pub fn collapse_repeated_warnings(warnings: Vec<String>) -> Vec<String> {
    let mut count: std::collections::HashMap<&str, usize> = Default::default();
    for w in &warnings {
        *count.entry(without_location(w)).or_default() += 1;
    }
    if count.len() == warnings.len() {
        return warnings;
    }
    let mut out = Vec::with_capacity(count.len());
    let mut shown: std::collections::HashSet<&str> = Default::default();
    for w in &warnings {
        let message = without_location(w);
        if !shown.insert(message) {
            continue;
        }
        match count[message] {
            1 => out.push(w.clone()),
            n => out.push(format!("{w} ({n} times; the first is shown)")),
        }
    }
    out
}

/// A warning's text after its `file:line:column: ` (all of it when it has none).
fn without_location(warning: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // The first ": " ends the location (a file name with ": " in it is not taken apart).
    let Some((place, message)) = warning.split_once(": ") else {
        return warning;
    };
    let mut parts = place.rsplitn(3, ':');
    let (column, line, file) = (parts.next(), parts.next(), parts.next());
    if file.is_some() && column.is_some_and(digits) && line.is_some_and(digits) {
        message
    } else {
        warning
    }
}

/// The largest profile sysgate reads, in bytes (512 MiB): far more than any real profile (a
/// million-name allow list is about 20 MiB, a million argument rules in pretty-printed Docker
/// JSON about 240 MB), small enough that a runaway input such as
/// `/dev/zero` is refused by name ([`ProfileError::TooLarge`]) rather than read until memory
/// runs out.
pub const MAX_PROFILE_BYTES: u64 = 512 << 20;

/// All bytes of `reader`, refused as [`ProfileError::TooLarge`] (naming `path`) past
/// [`MAX_PROFILE_BYTES`]. Every profile file sysgate reads goes through it; so can a caller
/// that reads profiles from its own sources (standard input, a socket).
///
/// ```
/// use sysgate::profile::{read_bounded, ProfileError, MAX_PROFILE_BYTES};
/// use std::io::Read;
///
/// let small = read_bounded(&b"{}"[..], "inline".as_ref())?;
/// assert_eq!(small, b"{}");
/// let endless = std::io::repeat(b' ').take(MAX_PROFILE_BYTES + 1);
/// assert!(matches!(read_bounded(endless, "endless".as_ref()), Err(ProfileError::TooLarge { .. })));
/// # Ok::<(), ProfileError>(())
/// ```
pub fn read_bounded(reader: impl std::io::Read, path: &Path) -> Result<Vec<u8>, ProfileError> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    reader
        .take(MAX_PROFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ProfileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_PROFILE_BYTES {
        return Err(ProfileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// [`read_bounded`] of the file at `path`.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ProfileError> {
    let file = std::fs::File::open(path).map_err(|source| ProfileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_bounded(file, path)
}

/// Read a profile file and resolve it for `target`, choosing the format from the content
/// (see [`detect`]): Docker/moby, OCI (`linux.seccomp` or a whole `config.json`), Podman,
/// systemd settings, LXC, or a Kubernetes `SeccompProfile`. Also the built-in
/// `systemd:@set`. A file of several Kubernetes profiles is an error here; [`detect::read`]
/// returns them all. Errors and rule origins name the file as `path` is given.
///
/// ```no_run
/// use sysgate::profile::{self, Target};
/// use sysgate::Arch;
///
/// let loaded = profile::load("bundle/config.json", &Target::docker_default(Arch::X86_64))?;
/// println!("{} rules", loaded.policy.rules().len());
/// # Ok::<(), sysgate::profile::ProfileError>(())
/// ```
pub fn load(path: impl AsRef<Path>, target: &Target) -> Result<Loaded, ProfileError> {
    let spec = path.as_ref().display().to_string();
    let mut read = detect::read(&spec, target, &detect::ReadOptions::default())?;
    if read.profiles.len() != 1 {
        return Err(ProfileError::SeveralProfiles {
            source_name: spec,
            count: read.profiles.len(),
            names: read
                .profiles
                .iter()
                .filter_map(|p| p.name.clone())
                .collect(),
        });
    }
    Ok(read.profiles.remove(0).loaded)
}
