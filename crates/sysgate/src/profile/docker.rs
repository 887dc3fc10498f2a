//! Docker/moby, OCI runtime-spec and Podman seccomp profiles (JSON) into a [`Policy`].
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
//!    [`Options::strict_names`]); so are names that none of the policy's architectures has.
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

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use super::json_pos::{self, Pos, Seg};
use super::Location;
use crate::arch::{self, Arch};
use crate::bpf::FilterFlag;
use crate::kernel::KernelVersion;
use crate::policy::{
    parse_errno, Action, ArgCond, CmpOp, Errno, Policy, PolicyError, Rule, MAX_ERRNO,
};

pub use super::{Listener, Loaded, Target};

/// `EPERM`: the errno of `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` without `errnoRet`.
const EPERM: u16 = 1;

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
    /// A key the format does not have, with [`Options::strict_keys`].
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
/// use sysgate::profile::docker::Options;
///
/// assert!(!Options::default().strict_names);
/// assert!(Options::strict().strict_names && Options::strict().strict_keys);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// A syscall name no architecture knows is an error instead of a warning.
    pub strict_names: bool,
    /// A key the format does not have (`"sycalls"`) is an error instead of a warning.
    pub strict_keys: bool,
}

impl Options {
    /// Every option at its strict setting.
    ///
    /// ```
    /// use sysgate::profile::docker::Options;
    ///
    /// assert_ne!(Options::strict(), Options::default());
    /// ```
    pub fn strict() -> Options {
        Options {
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
    parse_with(text, source, target, &Options::default())
}

/// [`parse`] with [`Options`].
///
/// ```
/// use sysgate::profile::docker::{self, DockerError, Options};
/// use sysgate::profile::Target;
/// use sysgate::Arch;
///
/// let text = r#"{"defaultAction": "SCMP_ACT_ERRNO",
///                "syscalls": [{"names": ["read", "raed"], "action": "SCMP_ACT_ALLOW"}]}"#;
/// let target = Target::new(Arch::X86_64);
/// let err = docker::parse_with(text, "p.json", &target, &Options::strict()).unwrap_err();
/// assert!(matches!(err, DockerError::UnknownSyscall { ref name, .. } if name == "raed"));
/// assert_eq!(err.location().to_string(), "p.json:2:48");
/// ```
pub fn parse_with(
    text: &str,
    source: &str,
    target: &Target,
    options: &Options,
) -> Result<Loaded, DockerError> {
    let json_error = |e| json_error(text, source, e);
    let Obj(probe): Obj<Probe> = serde_json::from_str(text).map_err(json_error)?;
    let (profile, root) = if probe.oci_version.is_some() || probe.linux.is_some() {
        let Obj(config): Obj<OciConfig> = serde_json::from_str(text).map_err(json_error)?;
        let root = [Seg::Key("linux"), Seg::Key("seccomp")];
        match config.linux.and_then(|l| l.0.seccomp) {
            Some(Obj(profile)) => (profile, json_pos::locate(text, Pos::START, &root)),
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
        warnings: Vec::new(),
        named: Vec::new(),
    };
    resolver.check_keys()?;
    resolver.resolve(profile)
}

/// The names Docker profiles use for `arch` in `includes.arches`/`excludes.arches`: moby's
/// (`amd64`, `arm64`, `x86`, ..., `mips3l64n32` as moby spells it) and libseccomp-golang's,
/// which Podman uses (`mipsel64n32`, `loong64`). Empty for an architecture neither names.
///
/// ```
/// use sysgate::profile::docker::docker_arch_names;
/// use sysgate::Arch;
///
/// assert_eq!(docker_arch_names(Arch::X86_64), &["amd64"]);
/// assert_eq!(docker_arch_names(Arch::Aarch64), &["arm64"]);
/// assert!(docker_arch_names(Arch::Mipsel64n32).contains(&"mipsel64n32"));
/// ```
pub fn docker_arch_names(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86 => &["x86"],
        Arch::X86_64 => &["amd64"],
        Arch::X32 => &["x32"],
        Arch::Arm => &["arm"],
        Arch::Aarch64 => &["arm64"],
        Arch::Loongarch64 => &["loongarch64", "loong64"],
        Arch::M68k => &["m68k"],
        Arch::Mips => &["mips"],
        Arch::Mipsel => &["mipsel"],
        Arch::Mips64 => &["mips64"],
        Arch::Mipsel64 => &["mipsel64"],
        Arch::Mips64n32 => &["mips64n32"],
        Arch::Mipsel64n32 => &["mips3l64n32", "mipsel64n32"],
        Arch::Parisc => &["parisc"],
        Arch::Parisc64 => &["parisc64"],
        Arch::Ppc => &["ppc"],
        Arch::Ppc64 => &["ppc64"],
        Arch::Ppc64le => &["ppc64le"],
        Arch::Riscv64 => &["riscv64"],
        Arch::S390 => &["s390"],
        Arch::S390x => &["s390x"],
        Arch::Sh => &["sh"],
        Arch::Sheb => &["sheb"],
    }
}

// ---------------------------------------------------------------------------------------------
// Serde mirror of the format.
//
// Not oci-spec's types: they have none of moby's fields (`archMap`, `name`, `comment`,
// `includes`, `excludes`) or Podman's (`errno` names), and adding those around them takes
// `#[serde(flatten)]`, which buffers the object so serde_json can no longer say where a bad
// value is. Their enums would also reject values with messages that do not list what is
// allowed. So these types are our own, and validation happens while deserializing: serde_json
// then reports the line and column of the offending value.
// ---------------------------------------------------------------------------------------------

/// Just enough of the top level to tell an OCI `config.json` from a seccomp profile.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    oci_version: Option<IgnoredAny>,
    linux: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct OciConfig {
    linux: Option<Obj<OciLinux>>,
}

#[derive(Deserialize)]
struct OciLinux {
    seccomp: Option<Obj<Profile>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: Option<DefaultAction>,
    default_errno_ret: Option<ErrnoRet>,
    /// Podman: a name or number, preferred over `defaultErrnoRet`.
    default_errno: Option<ErrnoName>,
    architectures: Option<Vec<ArchName>>,
    arch_map: Option<Vec<Obj<ArchMapEntry>>>,
    syscalls: Option<Vec<Obj<SyscallEntry>>>,
    flags: Option<Vec<FilterFlag>>,
    listener_path: Option<String>,
    listener_metadata: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: ArchName,
    sub_architectures: Option<Vec<ArchName>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SyscallEntry {
    names: Option<Vec<SyscallName>>,
    /// The old single-name form; `""` counts as absent, as in Go.
    name: Option<String>,
    action: ActionKind,
    errno_ret: Option<ErrnoRet>,
    /// Podman: a name or number, preferred over `errnoRet`.
    errno: Option<ErrnoName>,
    args: Option<Vec<Obj<Arg>>>,
    /// Type-checked, otherwise documentation.
    #[serde(rename = "comment")]
    _comment: Option<String>,
    // Boxed: most entries have neither, and a profile may hold a million entries.
    includes: Option<Box<Obj<Filter>>>,
    excludes: Option<Box<Obj<Filter>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<MinKernel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    /// Go's zero value when absent, like the other numbers.
    #[serde(default)]
    index: ArgIndex,
    #[serde(default)]
    value: Value64,
    #[serde(default)]
    value_two: Value64,
    op: CmpOp,
}

/// A JSON object as `T`, read the way Go's encoding/json (and so Docker and runc) reads it.
///
/// - Only an object: serde's derived structs also accept an array of the fields in order, Go
///   does not.
/// - Keys match fields ignoring case, an exact match first: to Docker `"ARGS"` (and even
///   `"argſ"`, by Unicode simple case folding) is `"args"`. A rule whose conditions were
///   spelled `"Args"` must not lose them here, or it would allow more than Docker does.
struct Obj<T>(T);

/// What an [`Obj`] is called in "expected ..." messages, and its fields' JSON names.
trait Described {
    const EXPECTING: &'static str;
    const FIELDS: &'static [&'static str];
}

impl<'de, T: Deserialize<'de> + Described> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Described> Visitor<'de> for ObjVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                let folded = FoldKeys {
                    map,
                    fields: T::FIELDS,
                };
                T::deserialize(de::value::MapAccessDeserializer::new(folded))
            }
        }
        d.deserialize_map(ObjVisitor(std::marker::PhantomData))
            .map(Obj)
    }
}

/// A map whose keys are replaced by the field they match ignoring case (see [`Obj`]).
struct FoldKeys<A> {
    map: A,
    fields: &'static [&'static str],
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for FoldKeys<A> {
    type Error = A::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key::<String>()? else {
            return Ok(None);
        };
        let key = if self.fields.contains(&key.as_str()) {
            key
        } else {
            let folded = json_pos::fold_case(&key);
            match self
                .fields
                .iter()
                .find(|f| json_pos::fold_case(f) == folded)
            {
                Some(field) => field.to_string(),
                None => key,
            }
        };
        seed.deserialize(de::IntoDeserializer::into_deserializer(key))
            .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

macro_rules! described {
    ($($t:ty => $what:expr, [$($field:expr),* $(,)?];)*) => {
        $(impl Described for $t {
            const EXPECTING: &'static str = $what;
            const FIELDS: &'static [&'static str] = &[$($field),*];
        })*
    };
}

described! {
    Probe => "a seccomp profile or OCI config.json object", ["ociVersion", "linux"];
    OciConfig => "an OCI config.json object", ["linux"];
    OciLinux => "the \"linux\" object of an OCI config.json", ["seccomp"];
    Profile => "a seccomp profile object", [
        "defaultAction", "defaultErrnoRet", "defaultErrno", "architectures", "archMap",
        "syscalls", "flags", "listenerPath", "listenerMetadata",
    ];
    ArchMapEntry => "an archMap entry object", ["architecture", "subArchitectures"];
    SyscallEntry => "a syscall rule object", [
        "names", "name", "action", "errnoRet", "errno", "args", "comment", "includes",
        "excludes",
    ];
    Filter => "an includes/excludes object", ["caps", "arches", "minKernel"];
    Arg => "an argument condition object", ["index", "value", "valueTwo", "op"];
}

/// A string visitor that maps the text through `parse`, whose error names what was expected.
struct StrVisitor<F> {
    expecting: &'static str,
    parse: F,
}

impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for StrVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

/// A fixed vocabulary of strings (actions, operators, flags).
trait Vocabulary: Copy + 'static {
    const WHAT: &'static str;
    const EXPECTING: &'static str;
    const WORDS: &'static [(&'static str, Self)];

    fn lookup(s: &str) -> Result<Self, String> {
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let all: Vec<&str> = Self::WORDS.iter().map(|(w, _)| *w).collect();
                format!(
                    "unknown {} {s:?}: expected one of {}",
                    Self::WHAT,
                    all.join(", ")
                )
            })
    }

    fn deserialize_word<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: Self::EXPECTING,
            parse: Self::lookup,
        })
    }
}

/// `SCMP_ACT_*` as runc spells them (exactly: no data in parentheses, upper case).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ActionKind {
    Kill,
    KillThread,
    KillProcess,
    Trap,
    Errno,
    Trace,
    Allow,
    Log,
    Notify,
}

impl Vocabulary for ActionKind {
    const WHAT: &'static str = "action";
    const EXPECTING: &'static str = "an action such as \"SCMP_ACT_ALLOW\"";
    const WORDS: &'static [(&'static str, ActionKind)] = &[
        ("SCMP_ACT_KILL", ActionKind::Kill),
        ("SCMP_ACT_KILL_THREAD", ActionKind::KillThread),
        ("SCMP_ACT_KILL_PROCESS", ActionKind::KillProcess),
        ("SCMP_ACT_TRAP", ActionKind::Trap),
        ("SCMP_ACT_ERRNO", ActionKind::Errno),
        ("SCMP_ACT_TRACE", ActionKind::Trace),
        ("SCMP_ACT_ALLOW", ActionKind::Allow),
        ("SCMP_ACT_LOG", ActionKind::Log),
        ("SCMP_ACT_NOTIFY", ActionKind::Notify),
    ];
}

impl<'de> Deserialize<'de> for ActionKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ActionKind::deserialize_word(d)
    }
}

impl ActionKind {
    /// Whether `errnoRet` means something for this action (runc's `getAction`).
    fn takes_errno(self) -> bool {
        matches!(self, ActionKind::Errno | ActionKind::Trace)
    }

    /// The action with its errno: a number stays that number on every architecture (runc
    /// passes `errnoRet` through); a Podman name is numbered per architecture. TRACE's data
    /// is not an errno: a name there is numbered as `arch` numbers it.
    fn with_errno(self, errno: Option<ErrnoSpec>, arch: Arch) -> Action {
        match self {
            // libseccomp's SCMP_ACT_KILL is SECCOMP_RET_KILL_THREAD.
            ActionKind::Kill | ActionKind::KillThread => Action::KillThread,
            ActionKind::KillProcess => Action::KillProcess,
            ActionKind::Trap => Action::Trap(0),
            ActionKind::Errno => match errno {
                Some(ErrnoSpec::Name(e)) => Action::NamedErrno(e),
                Some(ErrnoSpec::Number(n)) => Action::Errno(n),
                None => Action::Errno(EPERM),
            },
            ActionKind::Trace => Action::Trace(match errno {
                Some(ErrnoSpec::Name(e)) => e.number(arch),
                Some(ErrnoSpec::Number(n)) => n,
                None => EPERM,
            }),
            ActionKind::Allow => Action::Allow,
            ActionKind::Log => Action::Log,
            ActionKind::Notify => Action::UserNotif,
        }
    }
}

/// `defaultAction`, where Go's empty string means "not given".
struct DefaultAction(Option<ActionKind>);

impl<'de> Deserialize<'de> for DefaultAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: ActionKind::EXPECTING,
            parse: |s: &str| match s {
                "" => Ok(DefaultAction(None)),
                _ => ActionKind::lookup(s).map(|a| DefaultAction(Some(a))),
            },
        })
    }
}

/// `[(word, value); N]` for every value of the const array `$all`, each named by its const
/// method `$word`: a vocabulary spelled by the IR's own names, never a second list.
macro_rules! words_of {
    ($all:expr, $word:ident) => {{
        let mut words = [("", $all[0]); $all.len()];
        let mut i = 0;
        while i < words.len() {
            words[i] = ($all[i].$word(), $all[i]);
            i += 1;
        }
        words
    }};
}

/// `SCMP_CMP_*`: the words are [`CmpOp::scmp_name`]'s; `SCMP_CMP_MASKED_EQ` reads as
/// `MaskedEq(0)`, its mask (`value`) set when the condition is resolved.
impl Vocabulary for CmpOp {
    const WHAT: &'static str = "operator";
    const EXPECTING: &'static str = "an operator such as \"SCMP_CMP_EQ\"";
    const WORDS: &'static [(&'static str, CmpOp)] = &words_of!(CmpOp::ALL, scmp_name);
}

impl<'de> Deserialize<'de> for CmpOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CmpOp::deserialize_word(d)
    }
}

/// `SECCOMP_FILTER_FLAG_*`: the words are [`FilterFlag::uapi_name`]'s.
impl Vocabulary for FilterFlag {
    const WHAT: &'static str = "flag";
    const EXPECTING: &'static str = "a flag such as \"SECCOMP_FILTER_FLAG_LOG\"";
    const WORDS: &'static [(&'static str, FilterFlag)] = &words_of!(FilterFlag::ALL, uapi_name);
}

impl<'de> Deserialize<'de> for FilterFlag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FilterFlag::deserialize_word(d)
    }
}

/// `SCMP_ARCH_*` followed by a libseccomp architecture name in upper case.
struct ArchName(Arch);

impl<'de> Deserialize<'de> for ArchName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "an architecture such as \"SCMP_ARCH_X86_64\"",
            parse: |s: &str| {
                s.strip_prefix("SCMP_ARCH_")
                    .and_then(|rest| {
                        Arch::ALL
                            .into_iter()
                            .find(|a| a.name().to_ascii_uppercase() == rest)
                    })
                    .map(ArchName)
                    .ok_or_else(|| {
                        let all: Vec<String> = Arch::ALL
                            .iter()
                            .map(|a| format!("SCMP_ARCH_{}", a.name().to_ascii_uppercase()))
                            .collect();
                        format!(
                            "unknown architecture {s:?}: expected one of {}",
                            all.join(", ")
                        )
                    })
            },
        })
    }
}

/// A syscall name; runc refuses the empty one.
struct SyscallName(String);

impl<'de> Deserialize<'de> for SyscallName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a syscall name",
            parse: |s: &str| match s {
                "" => Err("empty syscall name: expected a name such as \"read\"".to_string()),
                _ => Ok(SyscallName(s.to_string())),
            },
        })
    }
}

/// A number from JSON as an unsigned 64-bit value, or an error saying why it is not one.
fn unsigned(v: NumberSeen) -> Result<u64, String> {
    const RANGE: &str = "expected an integer from 0 to 18446744073709551615";
    match v {
        NumberSeen::Unsigned(u) => Ok(u),
        NumberSeen::Negative(i) => Err(format!("{i} does not fit in unsigned 64 bits: {RANGE}")),
        NumberSeen::Float(f) if f.fract() == 0.0 && f.abs() >= 1.8e19 => Err(format!(
            "{} does not fit in 64 bits: {RANGE}",
            as_written(f)
        )),
        NumberSeen::Float(f) => Err(format!("{} is not an integer: {RANGE}", as_written(f))),
    }
}

/// Marks where a message shows a number serde_json only hands over as a float, so that
/// [`json_error`] can put the number back as the profile wrote it
/// (`123456789012345678901234567890`, not `123456789012345680000000000000`; `1e3`, not `1000`).
const WRITTEN: char = '\u{1}';

fn as_written(f: f64) -> String {
    format!("{WRITTEN}{f}{WRITTEN}")
}

/// Replace the marked number in `message` by the number token at `line`:`column` of `text`
/// (1-based, in characters), or by the float itself if no number starts there.
fn number_as_written(message: &str, text: &str, line: usize, column: usize) -> String {
    let mut parts = message.splitn(3, WRITTEN);
    let (Some(before), Some(float), Some(after)) = (parts.next(), parts.next(), parts.next())
    else {
        return message.to_string();
    };
    let token: String = text
        .split('\n')
        .nth(line.saturating_sub(1))
        .map(|l| {
            l.chars()
                .skip(column.saturating_sub(1))
                .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                .collect()
        })
        .unwrap_or_default();
    let shown = if token.parse::<f64>().is_ok() {
        token.as_str()
    } else {
        float
    };
    format!("{before}{shown}{after}")
}

/// The numeric shapes serde_json hands a visitor.
enum NumberSeen {
    Unsigned(u64),
    Negative(i64),
    Float(f64),
}

/// A visitor for numbers, with `check` deciding what is acceptable.
struct NumVisitor<F> {
    expecting: &'static str,
    check: F,
}

impl<'de, T, F: FnOnce(NumberSeen) -> Result<T, String>> Visitor<'de> for NumVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.check)(NumberSeen::Unsigned(v)).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        let seen = match u64::try_from(v) {
            Ok(u) => NumberSeen::Unsigned(u),
            Err(_) => NumberSeen::Negative(v),
        };
        (self.check)(seen).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.check)(NumberSeen::Float(v)).map_err(E::custom)
    }
}

/// An argument value (`value`, `valueTwo`): any unsigned 64-bit integer.
#[derive(Copy, Clone, Default)]
struct Value64(u64);

impl<'de> Deserialize<'de> for Value64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor {
            expecting: "an unsigned 64-bit integer",
            check: |n| unsigned(n).map(Value64).map_err(|e| format!("value {e}")),
        })
    }
}

/// An argument index, 0 to 5.
#[derive(Copy, Clone, Default)]
struct ArgIndex(u32);

impl<'de> Deserialize<'de> for ArgIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor {
            expecting: "an argument index from 0 to 5",
            check: |n| match unsigned(n) {
                Ok(i) if i <= 5 => Ok(ArgIndex(i as u32)),
                Ok(i) => Err(format!(
                    "argument index {i} is out of range: expected 0 to 5 (syscalls have six arguments)"
                )),
                Err(e) => Err(format!("argument index {e}")),
            },
        })
    }
}

fn errno_in_range(n: u64) -> Result<u16, String> {
    u16::try_from(n)
        .ok()
        .filter(|e| *e <= MAX_ERRNO)
        .ok_or_else(|| format!("errno {n} is out of range: expected 0 to {MAX_ERRNO}"))
}

/// `errnoRet`, `defaultErrnoRet`: a number from 0 to 4095.
struct ErrnoRet(u16);

impl<'de> Deserialize<'de> for ErrnoRet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor {
            expecting: "an errno number from 0 to 4095",
            check: |n| {
                unsigned(n)
                    .map_err(|e| format!("errno {e}"))
                    .and_then(errno_in_range)
                    .map(ErrnoRet)
            },
        })
    }
}

/// An errno as a profile gives it: a number, or a name numbered per architecture.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum ErrnoSpec {
    Number(u16),
    Name(Errno),
}

/// Podman's `errno`, `defaultErrno`: a name (`EPERM`) or a number, as a string or a JSON
/// number; `""` counts as absent, as in Go.
struct ErrnoName(Option<ErrnoSpec>);

impl<'de> Deserialize<'de> for ErrnoName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTING: &str = "an errno name such as \"EPERM\" or a number from 0 to 4095";
        impl<'de> Visitor<'de> for V {
            type Value = ErrnoName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTING)
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<ErrnoName, E> {
                if s.is_empty() {
                    return Ok(ErrnoName(None));
                }
                if let Some(e) = Errno::from_name(s) {
                    return Ok(ErrnoName(Some(ErrnoSpec::Name(e))));
                }
                let n = parse_errno(s).ok_or_else(|| {
                    E::custom(format!("unknown errno {s:?}: expected {EXPECTING}"))
                })?;
                errno_in_range(n.into())
                    .map(|e| ErrnoName(Some(ErrnoSpec::Number(e))))
                    .map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ErrnoName, E> {
                errno_in_range(n)
                    .map(|e| ErrnoName(Some(ErrnoSpec::Number(e))))
                    .map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ErrnoName, E> {
                Err(E::custom(format!(
                    "errno {n} is out of range: expected 0 to {MAX_ERRNO}"
                )))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<ErrnoName, E> {
                Err(E::custom(format!(
                    "errno {} is not an integer: expected {EXPECTING}",
                    as_written(n)
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// `minKernel`: `"<version>.<major>"` such as `"4.8"`, each part below 256 and not both 0,
/// as moby reads it; `""` means no constraint.
struct MinKernel(Option<KernelVersion>);

impl<'de> Deserialize<'de> for MinKernel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a kernel version such as \"4.8\"",
            parse: |s: &str| {
                if s.is_empty() {
                    return Ok(MinKernel(None));
                }
                let part = |p: &str| {
                    (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| p.parse::<u8>().ok())
                        .flatten()
                };
                let parsed = s
                    .split_once('.')
                    .and_then(|(v, m)| Some((part(v)?, part(m)?)))
                    .filter(|v| *v != (0, 0));
                match parsed {
                    Some((v, m)) => Ok(MinKernel(Some(KernelVersion::new(v.into(), m.into(), 0)))),
                    None => Err(format!(
                        "invalid kernel version {s:?}: expected \"<version>.<major>\" such as \"4.8\""
                    )),
                }
            },
        })
    }
}

/// The location of the value at `path` inside the value at `from`, or else of the nearest
/// enclosing value that exists.
fn nearest(text: &str, source: &str, from: Pos, path: &[Seg<'_>]) -> Location {
    let pos = (0..=path.len())
        .rev()
        .find_map(|k| json_pos::locate(text, from, &path[..k]))
        .unwrap_or(from);
    Location::new(source, pos.line, pos.column)
}

/// A serde_json error as ours, with the column in characters.
fn json_error(text: &str, source: &str, e: serde_json::Error) -> DockerError {
    let line = e.line().max(1);
    let column = json_pos::char_column(text, line, e.column());
    let at = Location::new(source, line, column);
    let mut message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    if let Some(stripped) = message.strip_suffix(&suffix) {
        message = stripped.to_string();
    }
    match e.classify() {
        serde_json::error::Category::Data => {
            let (line, column) = json_pos::value_start(text, line, column);
            let message = number_as_written(&message, text, line, column);
            DockerError::Invalid {
                at: Location { line, column, ..at },
                message,
            }
        }
        _ => DockerError::Syntax { at, message },
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution: the mirror types into a Policy for a Target.
// ---------------------------------------------------------------------------------------------

struct Resolver<'a> {
    text: &'a str,
    source: &'a str,
    target: &'a Target,
    options: &'a Options,
    /// Where the profile object starts (inside `config.json` or not).
    root: Pos,
    warnings: Vec<String>,
    /// Every syscall name of the entries that apply to the target, for runc's ENOSYS rule.
    named: Vec<String>,
}

impl Resolver<'_> {
    /// The location of the value at `path` in the profile object (or of the nearest
    /// enclosing value that exists).
    fn location(&self, path: &[Seg<'_>]) -> Location {
        nearest(self.text, self.source, self.root, path)
    }

    fn warn(&mut self, at: &Location, message: impl fmt::Display) {
        self.warnings.push(format!("{at}: {message}"));
    }

    /// Go's encoding/json ignores keys a struct lacks, so to Docker a misspelled key
    /// (`"sycalls"`) is no key at all: a deny list with that typo denies nothing. Every key
    /// of the profile object and the objects inside it is checked against the fields it can
    /// match (ignoring case, as Go matches them); one it cannot is a warning, or an error with
    /// [`Options::strict_keys`].
    fn check_keys(&mut self) -> Result<(), DockerError> {
        let mut found = Vec::new();
        let walk = UnknownKeys {
            shape: Shape::Profile,
            list: false,
            path: &mut Vec::new(),
            found: &mut found,
        };
        let mut json = serde_json::Deserializer::from_str(&self.text[self.root.offset..]);
        if de::DeserializeSeed::deserialize(walk, &mut json).is_err() {
            return Ok(()); // the typed read accepted it; nothing more to say
        }
        // Each key is located from the start of its syscalls entry (found once for all of
        // them), not from the start of the profile: a million entries with an unknown key
        // each must not scan the profile a million times.
        let mut entries: Option<(String, Vec<Pos>)> = None;
        let mut found: Vec<(Location, String, Shape)> = found
            .into_iter()
            .filter_map(|(path, shape)| {
                let Some(Step::Key(key)) = path.last() else {
                    return None;
                };
                let segs: Vec<Seg<'_>> = path
                    .iter()
                    .map(|s| match s {
                        Step::Key(k) => Seg::Key(k),
                        Step::Index(i) => Seg::Index(*i),
                    })
                    .collect();
                let at = match segs.as_slice() {
                    [Seg::Key(list), Seg::Index(i), rest @ ..] => {
                        if entries.as_ref().is_none_or(|(k, _)| k != list) {
                            let starts =
                                json_pos::elements(self.text, self.root, &[Seg::Key(list)]);
                            entries = Some((list.to_string(), starts));
                        }
                        match entries.as_ref().and_then(|(_, starts)| starts.get(*i)) {
                            Some(&start) => nearest(self.text, self.source, start, rest),
                            None => self.location(&segs),
                        }
                    }
                    _ => self.location(&segs),
                };
                Some((at, key.clone(), shape))
            })
            .collect();
        found.sort_by_key(|(at, _, _)| (at.line, at.column));
        // A key written twice in one object is reported once.
        found.dedup_by(|a, b| a.0 == b.0);
        for (at, key, shape) in found {
            let expected = shape.fields().join(", ");
            if self.options.strict_keys {
                return Err(DockerError::UnknownKey {
                    at,
                    key: key.to_string(),
                    what: shape.what(),
                    expected,
                });
            }
            self.warn(
                &at,
                format_args!(
                    "unknown key {key:?} in {}: ignored, as Docker and runc ignore it \
                     (expected one of {expected})",
                    shape.what()
                ),
            );
        }
        Ok(())
    }

    fn resolve(mut self, profile: Profile) -> Result<Loaded, DockerError> {
        let entries = profile.syscalls.unwrap_or_default();
        let default_kind = match profile.default_action.and_then(|a| a.0) {
            Some(kind) => kind,
            None if entries.is_empty() => return Ok(self.unconfined()),
            None => {
                return Err(DockerError::MissingDefaultAction {
                    at: self.location(&[]),
                })
            }
        };
        let default_errno = errno_of(profile.default_errno, profile.default_errno_ret);
        let default = default_kind.with_errno(default_errno, self.target.arch);
        if default_errno.is_some() && !default_kind.takes_errno() {
            let at = self.location(&[Seg::Key("defaultErrnoRet")]);
            self.warn(
                &at,
                "an errno only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE; ignored",
            );
        }

        let mut policy = Policy::new(default);
        policy.attrs.bad_arch = Action::KillThread;
        self.set_arches(&mut policy, profile.architectures, profile.arch_map)?;
        match profile.flags {
            None => policy.attrs.flags.spec_allow = true,
            Some(flags) => flags.iter().for_each(|f| policy.attrs.flags.set(*f, true)),
        }
        let listener = self.listener(profile.listener_path, profile.listener_metadata);

        let positions = json_pos::elements(self.text, self.root, &[Seg::Key("syscalls")]);
        for (i, Obj(entry)) in entries.into_iter().enumerate() {
            // Every entry has a position; the fallback only keeps this total.
            let pos = positions.get(i).copied().unwrap_or(self.root);
            self.add_entry(&mut policy, entry, pos)?;
        }
        if !matches!(
            default_kind,
            ActionKind::Allow | ActionKind::Log | ActionKind::Trace
        ) {
            policy.attrs.enosys_above =
                runc_enosys_thresholds(policy.arches(), self.named.iter().map(String::as_str));
        }
        if default == Action::UserNotif
            || policy.rules().iter().any(|r| r.action == Action::UserNotif)
        {
            policy.attrs.flags.new_listener = true;
        }
        let default_origin = Some(self.location(&[Seg::Key("defaultAction")]).to_string());
        Ok(Loaded {
            policy,
            warnings: self.warnings,
            listener,
            default_origin,
        })
    }

    /// Docker runs a profile with no default action and no rules without seccomp.
    fn unconfined(mut self) -> Loaded {
        let mut policy = Policy::new(Action::Allow);
        // One architecture cannot mix byte orders.
        let _ = policy.set_arches([self.target.arch]);
        let at = self.location(&[]);
        self.warn(
            &at,
            "no \"defaultAction\" and no \"syscalls\": Docker runs such a container without \
             seccomp, so the policy allows everything",
        );
        Loaded {
            policy,
            warnings: self.warnings,
            listener: None,
            default_origin: Some(at.to_string()),
        }
    }

    fn set_arches(
        &self,
        policy: &mut Policy,
        architectures: Option<Vec<ArchName>>,
        arch_map: Option<Vec<Obj<ArchMapEntry>>>,
    ) -> Result<(), DockerError> {
        let architectures = architectures.unwrap_or_default();
        let arch_map = arch_map.unwrap_or_default();
        if !architectures.is_empty() && !arch_map.is_empty() {
            return Err(DockerError::ArchitecturesAndArchMap {
                at: self.location(&[Seg::Key("archMap")]),
            });
        }
        // The native architecture is always in the filter (libseccomp starts with it).
        let mut arches = vec![self.target.arch];
        let field = if architectures.is_empty() {
            let mut entries = arch_map.iter().map(|e| &e.0);
            if let Some(entry) = entries.find(|e| e.architecture.0 == self.target.arch) {
                let subs = entry.sub_architectures.iter().flatten();
                arches.extend(subs.map(|a| a.0));
            }
            "archMap"
        } else {
            arches.extend(architectures.iter().map(|a| a.0));
            "architectures"
        };
        policy
            .set_arches(arches)
            .map_err(|source| DockerError::Policy {
                at: self.location(&[Seg::Key(field)]),
                source,
            })
    }

    fn listener(&mut self, path: Option<String>, metadata: Option<String>) -> Option<Listener> {
        let path = path.unwrap_or_default();
        let metadata = metadata.unwrap_or_default();
        if path.is_empty() && !metadata.is_empty() {
            let at = self.location(&[Seg::Key("listenerMetadata")]);
            self.warn(
                &at,
                "\"listenerMetadata\" without \"listenerPath\" is never sent",
            );
        }
        (!path.is_empty()).then_some(Listener { path, metadata })
    }

    /// Whether moby keeps this entry for the target (see the module docs).
    fn applies(&self, includes: Option<&Filter>, excludes: Option<&Filter>) -> bool {
        let names = docker_arch_names(self.target.arch);
        let names_arch =
            |list: &Option<Vec<String>>| list.iter().flatten().any(|a| names.contains(&a.as_str()));
        // Whether the kernel is at least `minKernel` (`None` without one). A kernel of unknown
        // version counts as newer than any.
        let kernel_at_least = |min: &Option<MinKernel>| {
            let min = min.as_ref().and_then(|m| m.0)?;
            Some(self.target.kernel.is_none_or(|k| k >= min))
        };
        if let Some(ex) = excludes {
            if names_arch(&ex.arches)
                || ex.caps.iter().flatten().any(|c| self.target.holds(c))
                || kernel_at_least(&ex.min_kernel) == Some(true)
            {
                return false;
            }
        }
        if let Some(inc) = includes {
            let arches_listed = inc.arches.as_ref().is_some_and(|a| !a.is_empty());
            if (arches_listed && !names_arch(&inc.arches))
                || inc.caps.iter().flatten().any(|c| !self.target.holds(c))
                || kernel_at_least(&inc.min_kernel) == Some(false)
            {
                return false;
            }
        }
        true
    }

    /// Add the rules of one `syscalls[]` entry, which starts at `pos`.
    fn add_entry(
        &mut self,
        policy: &mut Policy,
        entry: SyscallEntry,
        pos: Pos,
    ) -> Result<(), DockerError> {
        let at = &Location::new(self.source, pos.line, pos.column);
        let single = entry.name.filter(|n| !n.is_empty());
        let names: Vec<(String, Seg<'static>, Option<usize>)> = match (single, entry.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err(DockerError::NameAndNames { at: at.clone() })
            }
            (Some(name), _) => vec![(name, Seg::Key("name"), None)],
            (None, names) => names
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(j, n)| (n.0, Seg::Key("names"), Some(j)))
                .collect(),
        };
        let (includes, excludes) = (
            entry.includes.map(|f| (*f).0),
            entry.excludes.map(|f| (*f).0),
        );
        if !self.applies(includes.as_ref(), excludes.as_ref()) {
            return Ok(());
        }
        // runc's ENOSYS threshold counts every name moby passes on, also those of rules it
        // then drops for having the default action.
        self.named.extend(names.iter().map(|(n, _, _)| n.clone()));
        if names.is_empty() {
            self.warn(at, "this rule names no syscall");
            return Ok(());
        }
        let errno = errno_of(entry.errno, entry.errno_ret);
        if errno.is_some() && !entry.action.takes_errno() {
            self.warn(
                at,
                "an errno only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE; ignored",
            );
        }
        let action = entry.action.with_errno(errno, self.target.arch);
        let low_word_arches: Vec<Arch> = policy
            .arches()
            .iter()
            .copied()
            .filter(|a| !a.args_are_64bit() || *a == Arch::X32)
            .collect();
        let cond_sets = self.condition_sets(
            entry.args.unwrap_or_default(),
            at,
            action,
            policy.default_action(),
        );
        if action != policy.default_action() && !low_word_arches.is_empty() {
            self.warn_above_32_bits(at, &cond_sets, &low_word_arches);
        }
        // On x32 libseccomp compares only an argument's low word, sysgate both: a refusing
        // rule with conditions then lets through, on x32, calls whose argument has high bits
        // set that libseccomp refuses.
        let refuses = action.precedence() < policy.default_action().precedence();
        if refuses
            && policy.arches().contains(&Arch::X32)
            && cond_sets.iter().any(|c| !c.is_empty())
        {
            self.warn(
                at,
                "on x32 libseccomp compares only the low 32 bits of an argument, sysgate all \
                 64: this rule does not refuse an x32 call whose argument has high bits set, \
                 where libseccomp's filter refuses it",
            );
        }

        let mut kept = Vec::new();
        for (name, seg, j) in names {
            if !arch::is_known_syscall(&name) {
                let name_at = match j {
                    Some(j) => nearest(self.text, self.source, pos, &[seg, Seg::Index(j)]),
                    None => nearest(self.text, self.source, pos, &[seg]),
                };
                if self.options.strict_names {
                    return Err(DockerError::UnknownSyscall { at: name_at, name });
                }
                self.warn(&name_at, format_args!("unknown syscall {name:?} skipped"));
                continue;
            }
            let on_target = policy
                .arches()
                .iter()
                .any(|a| a.syscall_number(&name).is_some() || a.multiplexed(&name).is_some());
            if !on_target {
                let arches: Vec<&str> = policy.arches().iter().map(|a| a.name()).collect();
                self.warn(
                    at,
                    format_args!(
                        "syscall {name:?} does not exist on {}; skipped",
                        arches.join(", ")
                    ),
                );
                continue;
            }
            kept.push(name);
        }
        // runc skips a rule with the default action (libseccomp would refuse it), comparing
        // the numbers the host gives them.
        let host = self.target.arch;
        if action.for_arch(host) == policy.default_action().for_arch(host) {
            return Ok(());
        }
        for name in kept {
            for conds in &cond_sets {
                let rule = Rule::new(action, name.as_str())
                    .with_conds(conds.iter().copied())
                    .with_origin(at.to_string());
                policy
                    .add_rule(rule)
                    .map_err(|source| DockerError::Policy {
                        at: at.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// libseccomp compares only the low 32 bits of a constant on 32-bit ABIs (and x32); sysgate
    /// compares the whole value (the argument's high word is zero there, so `a0 == 0x100000005`
    /// never holds where libseccomp reads `a0 == 5`). One warning per entry that has such a
    /// constant, naming the ABIs where the readings differ.
    fn warn_above_32_bits(&mut self, at: &Location, cond_sets: &[Vec<ArgCond>], arches: &[Arch]) {
        let wide = cond_sets.iter().flatten().find(|c| {
            let mask = match c.op() {
                CmpOp::MaskedEq(m) => m,
                _ => 0,
            };
            (c.value() | mask) > u64::from(u32::MAX)
        });
        if let Some(c) = wide {
            let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
            self.warn(
                at,
                format_args!(
                    "a{} is compared with a constant or mask above 32 bits ({}); on {} \
                     libseccomp compares only the low 32 bits, sysgate the whole value, so \
                     this rule matches differently there",
                    c.arg(),
                    c,
                    names.join(", ")
                ),
            );
        }
    }

    /// The conditions of one entry as sets of ANDed conditions (one rule each).
    ///
    /// With no repeated index, one rule ANDs them all (runc and the plain reading agree). With
    /// an index that repeats and no other index, each condition is a rule of its own, ORed
    /// (again both agree). With a repeated index *and* other indexes the readings differ:
    /// runc adds every condition as a rule of its own (all ORed), the plain reading ORs the
    /// conditions of one index and ANDs the indexes (one rule per combination). sysgate takes
    /// whichever permits less: the combinations for a rule more permissive than `default`
    /// (an allow), runc's all-ORed rules for one more restrictive (a deny), and warns.
    fn condition_sets(
        &mut self,
        args: Vec<Obj<Arg>>,
        at: &Location,
        action: Action,
        default: Action,
    ) -> Vec<Vec<ArgCond>> {
        let mut conds: Vec<ArgCond> = Vec::with_capacity(args.len());
        for Obj(a) in &args {
            let (op, value) = match a.op {
                // OCI: `value` is the mask, `valueTwo` what the masked argument must be, which
                // libseccomp masks too.
                CmpOp::MaskedEq(_) => {
                    let (mask, expected) = (a.value.0, a.value_two.0);
                    // The index was checked while parsing (0..=5), so this cannot fail.
                    let Ok((c, dropped)) =
                        ArgCond::masked_eq_like_libseccomp(a.index.0, mask, expected)
                    else {
                        continue;
                    };
                    if dropped != 0 {
                        self.warn(at, masked_eq_warning(a.index.0, mask, expected));
                    }
                    conds.push(c);
                    continue;
                }
                op => (op, a.value.0),
            };
            // The index was checked while parsing (0..=5), so this cannot fail.
            conds.extend(ArgCond::new(a.index.0, op, value).ok());
        }
        let mut per_index: [Vec<ArgCond>; 6] = Default::default();
        for c in &conds {
            per_index[c.arg()].push(*c);
        }
        if per_index.iter().all(|v| v.len() <= 1) {
            return vec![conds];
        }
        let runc_reading: Vec<Vec<ArgCond>> = conds.iter().map(|c| vec![*c]).collect();
        if per_index.iter().filter(|v| !v.is_empty()).count() == 1 {
            return runc_reading;
        }
        if action.precedence() > default.precedence() {
            self.warn(
                at,
                "an argument index repeats alongside other indexes: runc ORs every condition, \
                 which would permit more; sysgate ORs the conditions of one index and ANDs the \
                 indexes, the narrower reading",
            );
            let mut combos: Vec<Vec<ArgCond>> = vec![Vec::new()];
            for choices in per_index.iter().filter(|v| !v.is_empty()) {
                combos = combos
                    .iter()
                    .flat_map(|combo| {
                        choices.iter().map(move |c| {
                            let mut next = combo.clone();
                            next.push(*c);
                            next
                        })
                    })
                    .collect();
            }
            combos
        } else {
            self.warn(
                at,
                "an argument index repeats alongside other indexes: runc adds each condition \
                 as a rule of its own, so all of them are ORed; sysgate keeps runc's reading, \
                 which denies more than ANDing the indexes",
            );
            runc_reading
        }
    }
}

/// The objects of a profile whose keys are checked, with the fields each can hold.
#[derive(Copy, Clone, Debug)]
enum Shape {
    Profile,
    ArchMapEntry,
    SyscallEntry,
    Filter,
    Arg,
}

impl Shape {
    fn fields(self) -> &'static [&'static str] {
        match self {
            Shape::Profile => Profile::FIELDS,
            Shape::ArchMapEntry => ArchMapEntry::FIELDS,
            Shape::SyscallEntry => SyscallEntry::FIELDS,
            Shape::Filter => Filter::FIELDS,
            Shape::Arg => Arg::FIELDS,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Shape::Profile => "the profile",
            Shape::ArchMapEntry => "an archMap entry",
            Shape::SyscallEntry => "a syscalls entry",
            Shape::Filter => "an includes/excludes object",
            Shape::Arg => "an argument condition",
        }
    }
}

/// One step of a path to a key, owned (the keys are read as they stream by).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Key(String),
    Index(usize),
}

/// A key that matches none of its object's fields: its path from the profile object, and
/// the object's shape.
type UnknownKey = (Vec<Step>, Shape);

/// Walks a `shape` object (or, with `list`, a list of them, or one of them) as it streams
/// by, recording the keys that match none of their fields, as [`FoldKeys`] matches them,
/// and going into the objects that hold objects of their own. Nothing is kept of the values:
/// a profile of a million rules is checked in constant memory besides what it reports.
struct UnknownKeys<'p> {
    shape: Shape,
    list: bool,
    path: &'p mut Vec<Step>,
    found: &'p mut Vec<UnknownKey>,
}

impl<'de> de::DeserializeSeed<'de> for UnknownKeys<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UnknownKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.list {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        let mut i = 0;
        loop {
            self.path.push(Step::Index(i));
            let more = seq.next_element_seed(UnknownKeys {
                shape: self.shape,
                list: false,
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = self.shape.fields();
        while let Some(key) = map.next_key::<String>()? {
            let field = fields.iter().copied().find(|f| *f == key).or_else(|| {
                let folded = json_pos::fold_case(&key);
                fields
                    .iter()
                    .copied()
                    .find(|f| json_pos::fold_case(f) == folded)
            });
            let inner = match field {
                None => {
                    let mut path = self.path.clone();
                    path.push(Step::Key(key));
                    self.found.push((path, self.shape));
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Some("archMap") => Shape::ArchMapEntry,
                Some("syscalls") => Shape::SyscallEntry,
                Some("includes" | "excludes") => Shape::Filter,
                Some("args") => Shape::Arg,
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            self.path.push(Step::Key(key));
            map.next_value_seed(UnknownKeys {
                shape: inner,
                list: true,
                path: &mut *self.path,
                found: &mut *self.found,
            })?;
            self.path.pop();
        }
        Ok(())
    }

    // Scalars hold no keys.
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// runc's ENOSYS thresholds (`findLastSyscalls` in runc's `patchbpf`): for each of `arches`,
/// the largest number any of `names` has there. An ABI where none of them exists gets no
/// threshold (runc warns and leaves it out). Names are looked up as direct syscalls: a call
/// reached only through `socketcall`/`ipc` has no number of its own (libseccomp gives it a
/// negative pseudo-number, which never counts).
///
/// ```
/// use sysgate::profile::docker::runc_enosys_thresholds;
/// use sysgate::Arch;
///
/// let t = runc_enosys_thresholds(&[Arch::X86_64, Arch::X86], ["read", "openat2", "rt_sigreturn"]);
/// assert_eq!(t[&Arch::X86_64], 437); // openat2
/// assert_eq!(t[&Arch::X86], 437);
/// ```
pub fn runc_enosys_thresholds<'a>(
    arches: &[Arch],
    names: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeMap<Arch, u32> {
    let ids: Vec<arch::SyscallId> = names
        .into_iter()
        .filter_map(arch::SyscallId::from_name)
        .collect();
    arches
        .iter()
        .filter_map(|&a| {
            let largest = ids.iter().filter_map(|id| a.syscall_number_of(*id)).max()?;
            (largest > 0).then_some((a, largest))
        })
        .collect()
}

/// The warning for a `SCMP_CMP_MASKED_EQ` whose expected value has bits outside its mask
/// (see [`ArgCond::masked_eq_like_libseccomp`]); LXC's reader says the same.
pub(crate) fn masked_eq_warning(arg: u32, mask: u64, expected: u64) -> String {
    format!(
        "SCMP_CMP_MASKED_EQ on argument {arg} expects {expected:#x}, which has bits {:#x} \
         outside the mask {mask:#x}: libseccomp masks the expected value too, so the condition \
         is (a{arg} & {mask:#x}) == {:#x}, and sysgate reads it so",
        expected & !mask,
        expected & mask
    )
}

/// Podman's `errno` wins over `errnoRet` when given.
fn errno_of(name: Option<ErrnoName>, ret: Option<ErrnoRet>) -> Option<ErrnoSpec> {
    name.and_then(|n| n.0)
        .or(ret.map(|e| ErrnoSpec::Number(e.0)))
}

#[cfg(test)]
mod tests;
