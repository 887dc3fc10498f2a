//! The Go-compatible JSON layer of Docker/OCI/Podman profiles: serde mirror types read the
//! way Go's encoding/json (and so moby and runc) reads them (keys matched ignoring case, only
//! objects for structs, numbers as Go accepts them), each value validated as it is read so
//! that an error names its `file:line:column`, and the walk that finds keys no field matches.
//!
//! This module owns what the text says; it does not decide what it means for a target
//! ([`super::resolve`]).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use super::DockerError;
use crate::arch::Arch;
use crate::bpf::FilterFlag;
use crate::kernel::KernelVersion;
use crate::policy::{parse_errno, Action, CmpOp, Errno, MAX_ERRNO};
use crate::profile::json_pos::{self, Pos, Seg};
use crate::profile::Location;

/// `EPERM`: the errno of `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` without `errnoRet`.
const EPERM: u16 = 1;

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
pub(super) struct Probe {
    pub(super) oci_version: Option<IgnoredAny>,
    pub(super) linux: Option<IgnoredAny>,
}

#[derive(Deserialize)]
pub(super) struct OciConfig {
    pub(super) linux: Option<Obj<OciLinux>>,
}

#[derive(Deserialize)]
pub(super) struct OciLinux {
    pub(super) seccomp: Option<Obj<Profile>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Profile {
    pub(super) default_action: Option<DefaultAction>,
    pub(super) default_errno_ret: Option<ErrnoRet>,
    /// Podman: a name or number, preferred over `defaultErrnoRet`.
    pub(super) default_errno: Option<ErrnoName>,
    pub(super) architectures: Option<Vec<ArchName>>,
    pub(super) arch_map: Option<Vec<Obj<ArchMapEntry>>>,
    pub(super) syscalls: Option<Vec<Obj<SyscallEntry>>>,
    pub(super) flags: Option<Vec<FilterFlag>>,
    pub(super) listener_path: Option<String>,
    pub(super) listener_metadata: Option<String>,
}

impl Profile {
    /// The profile as runc reads it from a `config.json`: only the OCI runtime spec's keys
    /// ([`OCI_PROFILE_FIELDS`], [`OCI_SYSCALL_FIELDS`]). Without this, an entry moby would
    /// drop for its `includes` (and that runc applies) or one with only `name` (that runc
    /// reads as naming nothing) would change what the filter permits.
    pub(super) fn runtime_spec_only(mut self) -> Profile {
        self.default_errno = None;
        self.arch_map = None;
        for Obj(entry) in self.syscalls.iter_mut().flatten() {
            entry.name = None;
            entry.errno = None;
            entry.includes = None;
            entry.excludes = None;
        }
        self
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ArchMapEntry {
    pub(super) architecture: ArchName,
    pub(super) sub_architectures: Option<Vec<ArchName>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SyscallEntry {
    pub(super) names: Option<Vec<SyscallName>>,
    /// The old single-name form; `""` counts as absent, as in Go.
    pub(super) name: Option<String>,
    pub(super) action: ActionKind,
    pub(super) errno_ret: Option<ErrnoRet>,
    /// Podman: a name or number, preferred over `errnoRet`.
    pub(super) errno: Option<ErrnoName>,
    pub(super) args: Option<Vec<Obj<Arg>>>,
    /// Type-checked, otherwise documentation.
    #[serde(rename = "comment")]
    pub(super) _comment: Option<String>,
    // Boxed: most entries have neither, and a profile may hold a million entries.
    pub(super) includes: Option<Box<Obj<Filter>>>,
    pub(super) excludes: Option<Box<Obj<Filter>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Filter {
    pub(super) caps: Option<Vec<String>>,
    pub(super) arches: Option<Vec<String>>,
    pub(super) min_kernel: Option<MinKernel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Arg {
    /// Go's zero value when absent, like the other numbers.
    #[serde(default)]
    pub(super) index: ArgIndex,
    #[serde(default)]
    pub(super) value: Value64,
    #[serde(default)]
    pub(super) value_two: Value64,
    pub(super) op: CmpOp,
}

/// A JSON object as `T`, read the way Go's encoding/json (and so Docker and runc) reads it.
///
/// - Only an object: serde's derived structs also accept an array of the fields in order, Go
///   does not.
/// - Keys match fields ignoring case, an exact match first: to Docker `"ARGS"` (and even
///   `"argſ"`, by Unicode simple case folding) is `"args"`. A rule whose conditions were
///   spelled `"Args"` must not lose them here, or it would allow more than Docker does.
pub(super) struct Obj<T>(pub(super) T);

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
pub(super) enum ActionKind {
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
    pub(super) fn takes_errno(self) -> bool {
        matches!(self, ActionKind::Errno | ActionKind::Trace)
    }

    /// The action with its errno: a number stays that number on every architecture (runc
    /// passes `errnoRet` through); a Podman name is numbered per architecture. TRACE's data
    /// is not an errno: a name there is numbered as `arch` numbers it.
    pub(super) fn with_errno(self, errno: Option<ErrnoSpec>, arch: Arch) -> Action {
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
pub(super) struct DefaultAction(pub(super) Option<ActionKind>);

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
pub(super) struct ArchName(pub(super) Arch);

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
pub(super) struct SyscallName(pub(super) String);

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
pub(super) struct Value64(pub(super) u64);

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
pub(super) struct ArgIndex(pub(super) u32);

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
pub(super) struct ErrnoRet(pub(super) u16);

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
pub(super) enum ErrnoSpec {
    Number(u16),
    Name(Errno),
}

/// Podman's `errno`, `defaultErrno`: a name (`EPERM`) or a number, as a string or a JSON
/// number; `""` counts as absent, as in Go.
pub(super) struct ErrnoName(pub(super) Option<ErrnoSpec>);

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
pub(super) struct MinKernel(pub(super) Option<KernelVersion>);

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
pub(super) fn nearest(text: &str, source: &str, from: Pos, path: &[Seg<'_>]) -> Location {
    let pos = (0..=path.len())
        .rev()
        .find_map(|k| json_pos::locate(text, from, &path[..k]))
        .unwrap_or(from);
    Location::new(source, pos.line, pos.column)
}

/// A serde_json error as ours, with the column in characters.
pub(crate) fn json_error(text: &str, source: &str, e: serde_json::Error) -> DockerError {
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

/// The keys of `linux.seccomp` in an OCI runtime spec `config.json`, which runc reads by the
/// spec: none of moby's (`archMap`, `name`, `comment`, `includes`, `excludes`) or Podman's
/// (`defaultErrno`, `errno`). Go ignores the others there.
pub(super) const OCI_PROFILE_FIELDS: &[&str] = &[
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "syscalls",
    "flags",
    "listenerPath",
    "listenerMetadata",
];

/// The keys of a `syscalls` entry in an OCI runtime spec `config.json`.
pub(super) const OCI_SYSCALL_FIELDS: &[&str] = &["names", "action", "errnoRet", "args"];

/// The objects of a profile whose keys are checked, with the fields each can hold.
#[derive(Copy, Clone, Debug)]
pub(super) enum Shape {
    Profile,
    ArchMapEntry,
    SyscallEntry,
    Filter,
    Arg,
    /// `linux.seccomp` of a `config.json`: the runtime spec's keys only.
    OciProfile,
    /// A `syscalls` entry of a `config.json`.
    OciSyscallEntry,
}

impl Shape {
    pub(super) fn fields(self) -> &'static [&'static str] {
        match self {
            Shape::Profile => Profile::FIELDS,
            Shape::ArchMapEntry => ArchMapEntry::FIELDS,
            Shape::SyscallEntry => SyscallEntry::FIELDS,
            Shape::Filter => Filter::FIELDS,
            Shape::Arg => Arg::FIELDS,
            Shape::OciProfile => OCI_PROFILE_FIELDS,
            Shape::OciSyscallEntry => OCI_SYSCALL_FIELDS,
        }
    }

    pub(super) fn what(self) -> &'static str {
        match self {
            Shape::Profile => "the profile",
            Shape::ArchMapEntry => "an archMap entry",
            Shape::SyscallEntry => "a syscalls entry",
            Shape::Filter => "an includes/excludes object",
            Shape::Arg => "an argument condition",
            Shape::OciProfile => "the seccomp object of an OCI config.json",
            Shape::OciSyscallEntry => "a syscalls entry of an OCI config.json",
        }
    }
}

/// One step of a path to a key, owned (the keys are read as they stream by).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

/// A key that matches none of its object's fields: its path from the profile object, and
/// the object's shape.
pub(super) type UnknownKey = (Vec<Step>, Shape);

/// Walks a `shape` object (or, with `list`, a list of them, or one of them) as it streams
/// by, recording the keys that match none of their fields, as [`FoldKeys`] matches them,
/// and going into the objects that hold objects of their own. Nothing is kept of the values:
/// a profile of a million rules is checked in constant memory besides what it reports.
pub(super) struct UnknownKeys<'p> {
    pub(super) shape: Shape,
    pub(super) list: bool,
    pub(super) path: &'p mut Vec<Step>,
    pub(super) found: &'p mut Vec<UnknownKey>,
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
                Some("syscalls") if matches!(self.shape, Shape::OciProfile) => {
                    Shape::OciSyscallEntry
                }
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
