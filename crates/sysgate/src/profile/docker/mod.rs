//! Docker/moby, OCI runtime-spec and Podman seccomp profiles (JSON) into a [`Policy`](crate::policy::Policy).
//!
//! This module owns the JSON format and its resolution for a [`Target`]; it does not own what
//! the resulting policy means ([`crate::policy`]) or how it is compiled.
//!
//! # Shapes
//!
//! One reader takes all of these, told apart by content:
//!
//! - **moby** (`docker run --security-opt seccomp=...`): `defaultAction`, `defaultErrnoRet`,
//!   `architectures` or `archMap` (`architecture` + `subArchitectures`), `syscalls[]` with
//!   `names` (or the old single `name`), `action`, `errnoRet`, `args[]` (`index`, `value`,
//!   `valueTwo`, `op`), `comment`, `includes`/`excludes` (`caps`, `arches`, `minKernel`),
//!   `flags`, `listenerPath`, `listenerMetadata`.
//! - **OCI runtime-spec** `linux.seccomp`: the same without the moby additions, either as a
//!   bare object or inside a whole `config.json` (recognised by `ociVersion` or `linux`).
//!   runc reads a `config.json` by the runtime spec, so there the moby and Podman keys
//!   (`name`, `archMap`, `comment`, `includes`, `excludes`, `errno`, `defaultErrno`) are
//!   unknown keys, ignored with a warning: an entry moby would drop for its `includes` still
//!   applies, and one with only `name` names nothing. A bare object is read as moby reads it.
//! - **Podman / containers-common**: `defaultErrno` and per-rule `errno` as a name (`EPERM`,
//!   `ENOSYS`, ...) or a number; they take precedence over `defaultErrnoRet`/`errnoRet`.
//!
//! Keys are read as Go reads them (Docker and runc are Go): unknown ones are ignored, and a key
//! matches its field ignoring case (`"Args"` is `"args"`). Every rule is validated, also those
//! the target skips, and each error names `file:line:column` and what was expected.
//!
//! # Resolution
//!
//! First moby's `setupSeccomp`, then runc's reading of the result:
//!
//! 1. **Architectures**: the target's, plus `architectures`, or else the `archMap` entry whose
//!    `architecture` is the target's, with its `subArchitectures`. Giving both is an error.
//! 2. **Conditional rules**: an entry is skipped if `excludes.arches` names the target's
//!    architecture (Docker's names: `amd64`, `arm64`, `x86`, ... see [`docker_arch_names`]),
//!    if `excludes.caps` names a held capability, if the kernel is at least
//!    `excludes.minKernel`, if `includes.arches` is non-empty and does not name the
//!    architecture, if `includes.caps` names a capability not held, or if the kernel is older
//!    than `includes.minKernel`. Kernel versions compare as (version, major revision).
//! 3. **Actions**: `SCMP_ACT_KILL` is KILL_THREAD. `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` carry
//!    `errnoRet` (EPERM when absent); other actions ignore it (with a warning).
//!    `defaultErrnoRet` goes with the default action. A rule whose action equals the default
//!    is dropped, as runc drops it; under sysgate's "most restrictive wins" it would otherwise
//!    override an allow rule for the same call.
//! 4. **Arguments**: if no argument index repeats, the rule's conditions are ANDed in one rule.
//!    If only one index appears, repeated, its conditions are ORed: `a0 == 1, a0 == 2` allows
//!    either value (runc adds each as a rule of its own). If an index repeats *and* others
//!    appear, the readings differ: runc ORs every condition, the plain reading ORs within an
//!    index and ANDs the indexes. sysgate takes the one that permits less (the ANDed
//!    combinations for an allow, runc's ORed rules for a deny) and warns.
//!    `SCMP_CMP_MASKED_EQ` takes `value` as the mask and `valueTwo` as the expected value,
//!    which is masked too, as libseccomp does (`(a & mask) == (valueTwo & mask)`, so a mask
//!    of 0 always holds); a warning names the bits the mask drops.
//! 5. **Syscall names** no architecture knows are skipped with a warning (an error with
//!    [`ReadOptions::strict_names`]); so are names that none of the policy's architectures has.
//!    Names some of them lack stay in the policy, which skips them per architecture.
//! 6. **Attributes**: `flags` map to [`KernelFlags`](crate::policy::KernelFlags); without `flags`, SPEC_ALLOW is set (runc's
//!    default). A `SCMP_ACT_NOTIFY` anywhere sets NEW_LISTENER. The bad-arch action is
//!    KILL_THREAD (libseccomp's default, which runc keeps). Unless the default action is
//!    ALLOW, LOG or TRACE, a call above the largest syscall the profile names on its
//!    architecture returns ENOSYS, as runc's filter patch makes it
//!    ([`Attributes::enosys_above`](crate::policy::Attributes::enosys_above), set by
//!    [`runc_enosys_thresholds`] from every name of the entries that apply).
//!
//! A profile with neither `defaultAction` nor `syscalls` means "no seccomp" to Docker; it
//! becomes an allow-all policy, with a warning.
//!
//! Two places where moby's Go tables do not match its own data are read as intended: on
//! loongarch64 moby looks `archMap` up under `loong64` and never finds it, and big-endian mips
//! o32 has no Docker name. sysgate selects `archMap` entries by architecture, so both get their
//! entry.
//!
//! ```
//! use sysgate::policy::Action;
//! use sysgate::profile::{docker, Target};
//! use sysgate::Arch;
//!
//! let profile = r#"{
//!     "defaultAction": "SCMP_ACT_ERRNO",
//!     "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
//!     "syscalls": [
//!         {"names": ["read", "write", "openat"], "action": "SCMP_ACT_ALLOW"},
//!         {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}}
//!     ]
//! }"#;
//! let loaded = docker::parse(profile, "p.json", &Target::docker_default(Arch::X86_64))?;
//! let policy = &loaded.policy;
//! assert_eq!(policy.arches(), &[Arch::X86, Arch::X86_64]);
//! assert_eq!(policy.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow); // read
//! assert_eq!(policy.decide(Arch::X86_64, 169, &[0; 6]).action, Action::Errno(1)); // reboot
//! // clone3 (435) is above openat (257), the largest syscall named: ENOSYS, as under runc.
//! assert_eq!(policy.decide(Arch::X86_64, 435, &[0; 6]).action, Action::Errno(38));
//! assert_eq!(policy.rules()[0].origin.as_deref(), Some("p.json:5:9"));
//! # Ok::<(), docker::DockerError>(())
//! ```

use super::json_pos::{self, Pos, Seg};
use super::Location;
use crate::policy::PolicyError;

pub use super::{Listener, Loaded, Named, Target};
pub use resolve::{docker_arch_names, runc_enosys_thresholds};
pub use write::{write, Dialect, WriteOptions};

pub(crate) use json::json_error;
pub(crate) use resolve::masked_eq_warning;

use json::{nearest, Obj, OciConfig, Probe, Profile};
use resolve::Resolver;

mod json;
mod resolve;
pub(crate) mod write;

/// Why a Docker/OCI/Podman profile cannot be read. Every variant names the location.
///
/// ```
/// use sysgate::profile::{docker, Target};
/// use sysgate::Arch;
///
/// let err = docker::parse(
///     "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALOW\"}]}",
///     "p.json",
///     &Target::new(Arch::X86_64),
/// )
/// .unwrap_err();
/// assert_eq!(err.location().to_string(), "p.json:2:45");
/// assert!(err.to_string().contains("unknown action \"SCMP_ACT_ALOW\": expected one of SCMP_ACT_KILL"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DockerError {
    /// The text is not JSON.
    #[error("{at}: not valid JSON: {message}")]
    Syntax {
        /// Where the parser stopped.
        at: Location,
        /// serde_json's description.
        message: String,
    },
    /// A value has the wrong type or is not one the format allows: an unknown action,
    /// operator, architecture, flag or errno name, an argument index above 5, an errno above
    /// 4095, a number that does not fit 64 bits, a malformed `minKernel`, an empty name.
    #[error("{at}: {message}")]
    Invalid {
        /// The start of the value (or the end of the object that lacks a field).
        at: Location,
        /// What was found and what was expected.
        message: String,
    },
    /// A `syscalls[]` entry with both `name` and `names`.
    #[error("{at}: this rule has both \"name\" and \"names\": expected only one of them")]
    NameAndNames {
        /// The entry.
        at: Location,
    },
    /// A profile with both `architectures` and `archMap`.
    #[error(
        "{at}: the profile has both \"architectures\" and \"archMap\": expected only one of them"
    )]
    ArchitecturesAndArchMap {
        /// The `archMap` value.
        at: Location,
    },
    /// Rules without a `defaultAction`.
    #[error(
        "{at}: the profile has rules but no \"defaultAction\": expected one such as \
         \"SCMP_ACT_ERRNO\""
    )]
    MissingDefaultAction {
        /// The profile object.
        at: Location,
    },
    /// An OCI `config.json` without a `linux.seccomp` object.
    #[error("{at}: this OCI config.json has no \"linux\": {{\"seccomp\": ...}}: expected a seccomp profile there")]
    NoSeccomp {
        /// The document.
        at: Location,
    },
    /// A syscall name no architecture knows, in strict mode.
    #[error("{at}: unknown syscall {name:?}: no architecture has it (strict mode)")]
    UnknownSyscall {
        /// The name.
        at: Location,
        /// The name as written.
        name: String,
    },
    /// A key the format does not have, with [`ReadOptions::strict_keys`].
    #[error("{at}: unknown key {key:?} in {what}: expected one of {expected} (strict mode)")]
    UnknownKey {
        /// The key's value.
        at: Location,
        /// The key as written.
        key: String,
        /// The object it is in.
        what: &'static str,
        /// The keys that object has.
        expected: String,
    },
    /// The policy refused what the profile asks for (e.g. architectures of both byte orders).
    #[error("{at}: {source}")]
    Policy {
        /// The part of the profile responsible.
        at: Location,
        /// Why.
        source: PolicyError,
    },
}

impl DockerError {
    /// Where in the file the problem is.
    ///
    /// ```
    /// use sysgate::profile::{docker, Target};
    /// use sysgate::Arch;
    ///
    /// let err = docker::parse("{\n  \"defaultAction\": 1\n}", "p.json", &Target::new(Arch::X86_64))
    ///     .unwrap_err();
    /// assert_eq!((err.location().line, err.location().column), (2, 20));
    /// ```
    pub fn location(&self) -> &Location {
        match self {
            DockerError::Syntax { at, .. }
            | DockerError::Invalid { at, .. }
            | DockerError::NameAndNames { at }
            | DockerError::ArchitecturesAndArchMap { at }
            | DockerError::MissingDefaultAction { at }
            | DockerError::NoSeccomp { at }
            | DockerError::UnknownSyscall { at, .. }
            | DockerError::UnknownKey { at, .. }
            | DockerError::Policy { at, .. } => at,
        }
    }
}

/// How strictly to read a profile.
///
/// ```
/// use sysgate::profile::docker::ReadOptions;
///
/// assert!(!ReadOptions::default().strict_names);
/// assert!(ReadOptions::strict().strict_names && ReadOptions::strict().strict_keys);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// A syscall name no architecture knows is an error instead of a warning.
    pub strict_names: bool,
    /// A key the format does not have (`"sycalls"`) is an error instead of a warning.
    pub strict_keys: bool,
}

impl ReadOptions {
    /// Every option at its strict setting.
    ///
    /// ```
    /// use sysgate::profile::docker::ReadOptions;
    ///
    /// assert_ne!(ReadOptions::strict(), ReadOptions::default());
    /// ```
    pub fn strict() -> ReadOptions {
        ReadOptions {
            strict_names: true,
            strict_keys: true,
        }
    }
}

/// Read a Docker/moby, OCI (`linux.seccomp` or whole `config.json`) or Podman profile and
/// resolve it for `target`. `source` names the file in errors and rule origins.
///
/// ```
/// use sysgate::policy::Action;
/// use sysgate::profile::{docker, Target};
/// use sysgate::Arch;
///
/// let loaded = docker::parse(
///     r#"{"defaultAction": "SCMP_ACT_ALLOW",
///         "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errno": "ENOSYS"}]}"#,
///     "podman.json",
///     &Target::new(Arch::X86_64),
/// )?;
/// assert_eq!(loaded.policy.decide(Arch::X86_64, 101, &[0; 6]).action, Action::Errno(38));
/// # Ok::<(), docker::DockerError>(())
/// ```
pub fn parse(text: &str, source: &str, target: &Target) -> Result<Loaded, DockerError> {
    read_one(text, source, target, &ReadOptions::default())
}

/// Read a profile with [`ReadOptions`]: the reader every format has (see
/// [`profile`](crate::profile)), giving the one profile a JSON file holds, unnamed.
///
/// ```
/// use sysgate::profile::docker::{self, DockerError, ReadOptions};
/// use sysgate::profile::Target;
/// use sysgate::Arch;
///
/// let text = r#"{"defaultAction": "SCMP_ACT_ERRNO",
///                "syscalls": [{"names": ["read", "raed"], "action": "SCMP_ACT_ALLOW"}]}"#;
/// let target = Target::new(Arch::X86_64);
/// let err = docker::read(text, "p.json", &target, &ReadOptions::strict()).unwrap_err();
/// assert!(matches!(err, DockerError::UnknownSyscall { ref name, .. } if name == "raed"));
/// assert_eq!(err.location().to_string(), "p.json:2:48");
/// ```
pub fn read(
    text: &str,
    source: &str,
    target: &Target,
    options: &ReadOptions,
) -> Result<Vec<Named>, DockerError> {
    read_one(text, source, target, options).map(|loaded| vec![Named::unnamed(loaded)])
}

/// The JSON layer, then the resolver.
fn read_one(
    text: &str,
    source: &str,
    target: &Target,
    options: &ReadOptions,
) -> Result<Loaded, DockerError> {
    let json_error = |e| json_error(text, source, e);
    let Obj(probe): Obj<Probe> = serde_json::from_str(text).map_err(json_error)?;
    let oci_config = probe.oci_version.is_some() || probe.linux.is_some();
    let (profile, root) = if oci_config {
        let Obj(config): Obj<OciConfig> = serde_json::from_str(text).map_err(json_error)?;
        let root = [Seg::Key("linux"), Seg::Key("seccomp")];
        match config.linux.and_then(|l| l.0.seccomp) {
            // runc reads config.json by the runtime spec: moby's and Podman's keys are not
            // there, and Go ignores them (`check_keys` warns about each).
            Some(Obj(profile)) => (
                profile.runtime_spec_only(),
                json_pos::locate(text, Pos::START, &root),
            ),
            None => {
                return Err(DockerError::NoSeccomp {
                    at: nearest(text, source, Pos::START, &root),
                })
            }
        }
    } else {
        let Obj(profile): Obj<Profile> = serde_json::from_str(text).map_err(json_error)?;
        (profile, json_pos::locate(text, Pos::START, &[]))
    };
    let mut resolver = Resolver {
        text,
        source,
        target,
        options,
        root: root.unwrap_or(Pos::START),
        oci_config,
        warnings: Vec::new(),
        named: Vec::new(),
    };
    resolver.check_keys()?;
    resolver.resolve(profile)
}

#[cfg(test)]
mod tests;
