//! systemd's seccomp settings (`SystemCallFilter=`, `SystemCallErrorNumber=`,
//! `SystemCallArchitectures=`, `SystemCallLog=`) to and from a [`Policy`].
//!
//! This module owns the unit-file syntax and systemd's reading of these four settings; it does
//! not own what the resulting policy means ([`crate::policy`]) or the set tables
//! ([`super::systemd_sets`]).
//!
//! # Reading
//!
//! The input is a unit file, a drop-in, or bare `Key=value` lines. In a file with sections,
//! only the sections that run processes count (`[Service]`, `[Socket]`, `[Mount]`, `[Swap]`);
//! `#` and `;` start comments; a line ending in `\` continues on the next. Values split at
//! spaces and tabs; quotes are removed in `SystemCallArchitectures=` only (systemd keeps them
//! in the lists, where `"~ptrace"` is a name, not a deny list). systemd's rules:
//!
//! - **`SystemCallFilter=`**: the first assignment decides the mode. A list is an *allow
//!   list*, and `@default` is added to it implicitly; a list starting with `~` is a *deny
//!   list*. Later assignments add to the same filter: in an allow list, names are allowed and
//!   `~names` removed again, `~name:ERRNO` gets that errno; in a deny list, `~names` are denied
//!   and plain names removed again. `@set` names expand to their members (nested sets too).
//!   `name:ERRNO` (an errno name, a number up to 4095, or `kill`) gives a denied call its own
//!   answer; on an allow entry it is ignored, as systemd ignores it (with a warning). An empty
//!   assignment resets the filter. A name no architecture knows is skipped with a warning, as
//!   systemd skips it, and so is a name the version's libseccomp cannot resolve
//!   ([`SystemdVersion::resolves`]; set members it cannot resolve are dropped silently, as
//!   systemd drops them); an unknown `@set` is an error (systemd ignores it, which would
//!   silently permit what a deny list meant to refuse).
//! - **`SystemCallErrorNumber=`**: what refused calls get: an errno, or `kill` (the default):
//!   KILL_PROCESS. Numbers here and in `:ERRNO` read as systemd's `strtol` reads them: `0x`
//!   hex, `0o` octal, `0b` binary, and C's leading-`0` octal (`010` is 8, `09` is refused).
//! - **Allow list**: listed calls are allowed, every other call gets the errno (or is killed).
//!   **Deny list**: listed calls get the errno, every other call is allowed. An empty deny list
//!   installs no filter.
//! - **Unknown syscalls**: from systemd v255 on ([`SystemdVersion::Newest`]), a call outside
//!   `@known` that the filter does not name gets `ENOSYS`, in either mode, so a new libc falls
//!   back; systemd 252 ([`SystemdVersion::V252`]) gives it the default.
//! - **`SystemCallLog=`**: the same list syntax (no errno); logged calls that the filter lets
//!   through get LOG. It is a filter of its own, so it brings the same `ENOSYS` rule.
//! - **`SystemCallArchitectures=`**: systemd's names (`native`, `x86-64`, `x86`, `x32`, `arm64`,
//!   `mips64-le-n32`, ...); several assignments merge, an empty one resets. Calls from other
//!   architectures are killed (KILL_THREAD, libseccomp's default bad-arch action). The native
//!   architecture is always allowed, and `x32` brings `x86-64` with it, as in systemd. Without
//!   the setting, systemd filters each of the machine's own ABIs (x86-64, x86 and x32 on an
//!   x86-64 machine) and lets other architectures through: the policy has those ABIs and
//!   ALLOW as its bad-arch action. systemd filters each ABI separately; a policy holds one
//!   byte order, so only the target's byte order is kept.
//!
//! The policy has one rule per syscall name that is decided differently from the default, with
//! the `file:line:column` of the entry that decided it.
//!
//! # Writing
//!
//! [`write`](fn@write) emits the lines of a `[Service]` section for one systemd version, using only
//! the names and sets that version knows. A deny-by-default policy becomes an allow list, using
//! `@sets` wherever a whole set is allowed; an allow-by-default one a deny list, unless it
//! refuses a call the version cannot name: only an allow list refuses that.
//! systemd cannot express argument conditions, per-architecture decisions, TRAP, TRACE,
//! USER_NOTIF or KILL_THREAD: each is replaced by the more restrictive reading (see
//! [`super::write::without_conditions`]; KILL_THREAD and TRAP become kill, TRACE and USER_NOTIF
//! become EPERM) and listed as a loss. The written lines are read back, and every call they
//! decide differently from the policy is listed too.
//!
//! ```
//! use sysgate::policy::Action;
//! use sysgate::profile::{systemd, Target};
//! use sysgate::Arch;
//!
//! let unit = "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~@privileged:EPERM\n\
//!             SystemCallErrorNumber=EACCES\n";
//! let loaded = systemd::parse(unit, "app.service", &Target::new(Arch::X86_64))?;
//! let policy = &loaded.policy;
//! let nr = |name| Arch::X86_64.syscall_number(name).unwrap();
//! assert_eq!(policy.decide(Arch::X86_64, nr("read"), &[0; 6]).action, Action::Allow);
//! assert_eq!(policy.decide(Arch::X86_64, nr("setuid"), &[0; 6]).action, Action::Errno(1));
//! assert_eq!(policy.decide(Arch::X86_64, nr("mount"), &[0; 6]).action, Action::Errno(13));
//! # Ok::<(), systemd::SystemdError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::line_text::{self, Word};
use super::systemd_sets::{self, SetDef};
use super::write::{name_outcomes, widens, without_conditions, Loss, Written};
use super::{Listener, Loaded, Location, Named, Target};
use crate::arch::{Arch, Endian};
use crate::policy::{errno_name, Action, Errno, Policy, Rule, ENOSYS, MAX_ERRNO};

pub use super::systemd_sets::SystemdVersion;

/// `EPERM`, what TRACE and USER_NOTIF become when written for systemd.
const EPERM: u16 = 1;

/// Why systemd settings cannot be read. Every variant names the location.
///
/// ```
/// use sysgate::profile::{systemd, Target};
/// use sysgate::Arch;
///
/// let err = systemd::parse("SystemCallErrorNumber=EFOO\n", "u.conf", &Target::new(Arch::X86_64))
///     .unwrap_err();
/// assert_eq!(err.location().to_string(), "u.conf:1:23");
/// assert!(err.to_string().contains("expected an errno name such as EPERM"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SystemdError {
    /// A value is not one systemd accepts, or is one sysgate refuses (an unknown `@set`).
    #[error("{at}: {message}")]
    Invalid {
        /// Where the value starts.
        at: Location,
        /// What was found and what was expected.
        message: String,
    },
}

impl SystemdError {
    /// Where in the file the problem is.
    ///
    /// ```
    /// use sysgate::profile::{systemd, Target};
    /// use sysgate::Arch;
    ///
    /// let err = systemd::parse("SystemCallFilter=@nope", "u", &Target::new(Arch::X86_64)).unwrap_err();
    /// assert_eq!(err.location().column, 18);
    /// ```
    pub fn location(&self) -> &Location {
        match self {
            SystemdError::Invalid { at, .. } => at,
        }
    }
}

/// Which systemd to read for, and how strictly.
///
/// ```
/// use sysgate::profile::systemd::{ReadOptions, SystemdVersion};
///
/// assert_eq!(ReadOptions::default().version, SystemdVersion::Newest);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The systemd version whose sets, syscall names and unknown-syscall rule apply.
    pub version: SystemdVersion,
    /// A misspelled seccomp setting (`SystemCallFilters=`) is an error instead of a warning.
    pub strict_keys: bool,
}

impl ReadOptions {
    /// Options for `version`.
    ///
    /// ```
    /// use sysgate::profile::systemd::{ReadOptions, SystemdVersion};
    ///
    /// assert_eq!(ReadOptions::for_version(SystemdVersion::V252).version, SystemdVersion::V252);
    /// ```
    pub fn for_version(version: SystemdVersion) -> ReadOptions {
        ReadOptions {
            version,
            strict_keys: false,
        }
    }
}

/// Read systemd settings for `target` (the machine's native architecture) with the newest
/// sets. `source` names the file in errors and rule origins.
///
/// ```
/// use sysgate::policy::{Action, Errno};
/// use sysgate::profile::{systemd, Target};
/// use sysgate::Arch;
///
/// let loaded = systemd::parse("SystemCallFilter=~mount:EPERM\n", "d.conf", &Target::new(Arch::Aarch64))?;
/// // ENOSYS outside @known: a name, 38 here, 89 on mips.
/// assert_eq!(loaded.policy.default_action(), Action::NamedErrno(Errno::ENOSYS));
/// assert_eq!(loaded.policy.decide(Arch::Aarch64, 40, &[0; 6]).action, Action::Errno(1));
/// assert_eq!(loaded.policy.decide(Arch::Aarch64, 63, &[0; 6]).action, Action::Allow);
/// # Ok::<(), systemd::SystemdError>(())
/// ```
pub fn parse(text: &str, source: &str, target: &Target) -> Result<Loaded, SystemdError> {
    read_one(text, source, target, &ReadOptions::default())
}

/// Read systemd settings with [`ReadOptions`]: the reader every format has (see
/// [`profile`](crate::profile)), giving the one profile a unit holds, unnamed.
///
/// ```
/// use sysgate::policy::Action;
/// use sysgate::profile::systemd::{self, ReadOptions, SystemdVersion};
/// use sysgate::profile::Target;
/// use sysgate::Arch;
///
/// let v252 = ReadOptions::for_version(SystemdVersion::V252);
/// let read = systemd::read("SystemCallFilter=@basic-io\n", "u", &Target::new(Arch::X86_64), &v252)?;
/// assert_eq!(read[0].loaded.policy.default_action(), Action::KillProcess);
/// # Ok::<(), systemd::SystemdError>(())
/// ```
pub fn read(
    text: &str,
    source: &str,
    target: &Target,
    options: &ReadOptions,
) -> Result<Vec<Named>, SystemdError> {
    read_one(text, source, target, options).map(|loaded| vec![Named::unnamed(loaded)])
}

fn read_one(
    text: &str,
    source: &str,
    target: &Target,
    options: &ReadOptions,
) -> Result<Loaded, SystemdError> {
    let mut reader = Reader {
        source,
        target,
        version: options.version,
        settings: Settings::default(),
        warnings: Vec::new(),
    };
    let (settings, unknown, outside) = settings(text, source)?;
    for (at, name) in outside {
        reader.warnings.push(format!(
            "{at}: {name}= comes before any section: systemd ignores such an assignment \
             (\"Assignment outside of section\"), and so does sysgate"
        ));
    }
    for (at, name) in unknown {
        let message = format!(
            "unknown setting {name}=: systemd ignores it, so it filters nothing (expected \
             SystemCallFilter=, SystemCallErrorNumber=, SystemCallArchitectures= or \
             SystemCallLog=)"
        );
        if options.strict_keys {
            return Err(SystemdError::Invalid {
                at,
                message: format!("{message} (strict mode)"),
            });
        }
        reader.warnings.push(format!("{at}: {message}"));
    }
    for setting in settings {
        reader.apply(setting)?;
    }
    Ok(reader.finish())
}

/// The built-in profile `systemd:@set`: what `SystemCallFilter=@set` gives a service, read for
/// `target`. `None` if there is no such set.
///
/// ```
/// use sysgate::policy::Action;
/// use sysgate::profile::{systemd, Target};
/// use sysgate::Arch;
///
/// let loaded = systemd::builtin("@system-service", &Target::new(Arch::X86_64)).unwrap();
/// assert_eq!(loaded.policy.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow); // read
/// assert_eq!(loaded.policy.decide(Arch::X86_64, 165, &[0; 6]).action, Action::KillProcess); // mount
/// assert!(systemd::builtin("@nope", &Target::new(Arch::X86_64)).is_none());
/// ```
pub fn builtin(set: &str, target: &Target) -> Option<Loaded> {
    systemd_sets::find(SystemdVersion::Newest, set)?;
    let text = format!("SystemCallFilter={set}\n");
    parse(&text, &format!("systemd:{set}"), target).ok()
}

// ---------------------------------------------------------------------------------------------
// Reading: lines into settings.
// ---------------------------------------------------------------------------------------------

/// The settings this module reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Key {
    Filter,
    ErrorNumber,
    Architectures,
    Log,
}

impl Key {
    fn from_name(name: &str) -> Option<Key> {
        match name {
            "SystemCallFilter" => Some(Key::Filter),
            "SystemCallErrorNumber" => Some(Key::ErrorNumber),
            "SystemCallArchitectures" => Some(Key::Architectures),
            "SystemCallLog" => Some(Key::Log),
            _ => None,
        }
    }
}

/// One `Key=value` assignment.
struct Setting {
    key: Key,
    /// Where the key starts.
    at: Location,
    /// The value's words.
    words: Vec<Word>,
}

/// Sections whose settings configure how processes run (systemd.exec(5)).
const EXEC_SECTIONS: [&str; 4] = ["Service", "Socket", "Mount", "Swap"];

/// Whether `name` looks like a misspelled seccomp setting: it starts with `SystemCall` in any
/// case, or is one edit away from one of the four, ignoring case.
fn misspelled_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let known = [
        "systemcallfilter",
        "systemcallerrornumber",
        "systemcallarchitectures",
        "systemcalllog",
    ];
    lower.starts_with("systemcall") || known.iter().any(|k| one_edit_apart(&lower, k))
}

/// Whether two strings differ by at most one inserted, deleted or replaced character.
fn one_edit_apart(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    // They differ, so the common prefix ends before the longer one does.
    let prefix = short.iter().zip(&long).take_while(|(x, y)| x == y).count();
    if short.len() == long.len() {
        short[prefix + 1..] == long[prefix + 1..]
    } else {
        short[prefix..] == long[prefix + 1..]
    }
}

/// The seccomp assignments of a unit file, drop-in or bare lines, in order, and the
/// (location, name) of each key in an exec section that looks like a misspelled one.
#[allow(clippy::type_complexity)]
fn settings(
    text: &str,
    source: &str,
) -> Result<
    (
        Vec<Setting>,
        Vec<(Location, String)>,
        Vec<(Location, String)>,
    ),
    SystemdError,
> {
    let at = |line, column| Location::new(source, line, column);
    let invalid = |line, column, message: String| SystemdError::Invalid {
        at: at(line, column),
        message,
    };
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    let mut outside = Vec::new();
    // Bare `Key=value` lines (no section anywhere) are read as a [Service] section; in a file
    // with sections, systemd ignores what comes before the first one.
    // systemd drops a byte order mark at the start of a line, the first one it meets.
    let mut bom_seen = false;
    let lines: Vec<&str> = text
        .lines()
        .map(|l| match l.strip_prefix('\u{feff}') {
            Some(rest) if !bom_seen => {
                bom_seen = true;
                rest
            }
            _ => l,
        })
        .collect();
    let has_sections = lines.iter().any(|l| l.trim_start().starts_with('['));
    let mut before_sections = has_sections;
    let mut in_exec_section = !has_sections;
    let mut i = 0;
    while i < lines.len() {
        let first = i;
        let raw = lines[i];
        i += 1;
        let trimmed = raw.trim_start();
        let indent = raw.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(name) = rest.trim_end().strip_suffix(']') else {
                return Err(invalid(
                    first + 1,
                    line_text::column(raw, indent),
                    "section header without ']': expected \"[Service]\"".into(),
                ));
            };
            in_exec_section = EXEC_SECTIONS.contains(&name);
            before_sections = false;
            continue;
        }
        // A trailing backslash continues the value on the next line (comment lines inside
        // are skipped, as systemd does). Only the first line carries the key.
        let mut pieces: Vec<(usize, &str, usize)> = vec![(first, raw, 0)];
        while pieces
            .last()
            .is_some_and(|(_, l, _)| l.trim_end().ends_with('\\'))
            && i < lines.len()
        {
            let next = lines[i];
            i += 1;
            let t = next.trim_start();
            if t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            pieces.push((i - 1, next, 0));
        }
        let Some(eq) = raw.find('=') else {
            return Err(invalid(
                first + 1,
                line_text::column(raw, indent),
                format!(
                    "{:?} is not a setting: expected Key=value",
                    trimmed.trim_end()
                ),
            ));
        };
        let name = raw[..eq].trim();
        let Some(key) = Key::from_name(name) else {
            if in_exec_section && misspelled_key(name) {
                unknown.push((
                    at(first + 1, line_text::column(raw, indent)),
                    name.to_string(),
                ));
            }
            continue;
        };
        if before_sections {
            outside.push((
                at(first + 1, line_text::column(raw, indent)),
                name.to_string(),
            ));
            continue;
        }
        if !in_exec_section {
            continue;
        }
        let mut words = Vec::new();
        for (n, (line_no, line, _)) in pieces.iter().enumerate() {
            let start = if n == 0 { eq + 1 } else { 0 };
            let mut value = &line[start..];
            let stripped = value.trim_end();
            if let Some(v) = stripped.strip_suffix('\\') {
                value = v;
            }
            let col = line_text::column(line, start);
            // systemd removes quotes from SystemCallArchitectures= only: in the lists a
            // quote is part of a name (so `"~ptrace"` is no deny list and no name), and
            // SystemCallErrorNumber= is one value, parsed as it stands.
            let w = match key {
                Key::Architectures => line_text::words(value, line_no + 1, col).map_err(|c| {
                    invalid(
                        line_no + 1,
                        c,
                        "quote is not closed: expected a matching quote".into(),
                    )
                })?,
                Key::Filter | Key::Log | Key::ErrorNumber => {
                    line_text::literal_words(value, line_no + 1, col)
                }
            };
            words.extend(w);
        }
        out.push(Setting {
            key,
            at: at(first + 1, line_text::column(raw, indent)),
            words,
        });
    }
    Ok((out, unknown, outside))
}

// ---------------------------------------------------------------------------------------------
// Reading: settings into systemd's state, then into a Policy.
// ---------------------------------------------------------------------------------------------

/// A number as systemd's `safe_atoi` reads it (`parse_errno`): `0x` hex, `0o` octal, `0b`
/// binary, C's leading-`0` octal (`010` is 8, and `09` is no number), else decimal; an
/// optional sign; nothing after the digits. `None` for anything else or a negative value
/// other than 0.
fn systemd_number(text: &str) -> Option<u64> {
    let (negative, n) = super::line_text::c_style_int(text)?;
    (!negative || n == 0).then_some(n)
}

/// What a refused call gets: an errno or kill.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Deny {
    Errno(u16),
    /// An errno name: systemd's number for it is the machine's, so per architecture.
    Named(Errno),
    Kill,
}

impl Deny {
    fn action(self) -> Action {
        match self {
            Deny::Errno(e) => Action::Errno(e),
            Deny::Named(e) => Action::NamedErrno(e),
            Deny::Kill => Action::KillProcess,
        }
    }
}

/// One name in a filter or log list.
#[derive(Clone, Debug)]
struct Entry {
    /// The entry's own answer (`name:ERRNO`), if any.
    deny: Option<Deny>,
    /// Where it was set.
    at: Location,
}

/// A `SystemCallFilter=` or `SystemCallLog=` list.
#[derive(Clone, Debug)]
struct List {
    allow: bool,
    /// Where the first assignment (the one that chose the mode) is.
    at: Location,
    entries: BTreeMap<String, Entry>,
    /// Names a later assignment took out of `entries`, and where: the line that decided
    /// them (`SystemCallFilter=~uname` after an allow list).
    removed: BTreeMap<String, Location>,
}

#[derive(Default)]
struct Settings {
    filter: Option<List>,
    log: Option<List>,
    error: Option<(Deny, Location)>,
    arches: Option<(BTreeSet<Arch>, Location)>,
}

struct Reader<'a> {
    source: &'a str,
    target: &'a Target,
    version: SystemdVersion,
    settings: Settings,
    warnings: Vec<String>,
}

/// systemd's names for `SystemCallArchitectures=` (`seccomp_arch_to_string`).
pub const SYSTEMD_ARCH_NAMES: &[(&str, Arch)] = &[
    ("x86", Arch::X86),
    ("x86-64", Arch::X86_64),
    ("x32", Arch::X32),
    ("arm", Arch::Arm),
    ("arm64", Arch::Aarch64),
    ("loongarch64", Arch::Loongarch64),
    ("mips", Arch::Mips),
    ("mips64", Arch::Mips64),
    ("mips64-n32", Arch::Mips64n32),
    ("mips-le", Arch::Mipsel),
    ("mips64-le", Arch::Mipsel64),
    ("mips64-le-n32", Arch::Mipsel64n32),
    ("parisc", Arch::Parisc),
    ("parisc64", Arch::Parisc64),
    ("ppc", Arch::Ppc),
    ("ppc64", Arch::Ppc64),
    ("ppc64-le", Arch::Ppc64le),
    ("riscv64", Arch::Riscv64),
    ("s390", Arch::S390),
    ("s390x", Arch::S390x),
];

/// systemd's name for `arch`, if systemd has one.
///
/// ```
/// use sysgate::profile::systemd::systemd_arch_name;
/// use sysgate::Arch;
///
/// assert_eq!(systemd_arch_name(Arch::X86_64), Some("x86-64"));
/// assert_eq!(systemd_arch_name(Arch::M68k), None);
/// ```
pub fn systemd_arch_name(arch: Arch) -> Option<&'static str> {
    SYSTEMD_ARCH_NAMES
        .iter()
        .find(|(_, a)| *a == arch)
        .map(|(n, _)| *n)
}

/// The ABIs systemd filters on a machine whose native architecture is `native`
/// (`seccomp_local_archs`), limited to `native`'s byte order.
///
/// ```
/// use sysgate::profile::systemd::local_arches;
/// use sysgate::Arch;
///
/// assert_eq!(local_arches(Arch::X86_64), vec![Arch::X86, Arch::X86_64, Arch::X32]);
/// assert_eq!(local_arches(Arch::Aarch64), vec![Arch::Arm, Arch::Aarch64]);
/// ```
pub fn local_arches(native: Arch) -> Vec<Arch> {
    let all: &[Arch] = match native {
        Arch::X86_64 | Arch::X32 => &[Arch::X86, Arch::X86_64, Arch::X32],
        Arch::Aarch64 => &[Arch::Arm, Arch::Aarch64],
        Arch::Mips64 | Arch::Mips64n32 => &[Arch::Mips, Arch::Mips64n32, Arch::Mips64],
        Arch::Mipsel64 | Arch::Mipsel64n32 => &[Arch::Mipsel, Arch::Mipsel64n32, Arch::Mipsel64],
        Arch::Ppc64 | Arch::Ppc64le => &[Arch::Ppc, Arch::Ppc64, Arch::Ppc64le],
        Arch::S390x => &[Arch::S390, Arch::S390x],
        Arch::Parisc64 => &[Arch::Parisc, Arch::Parisc64],
        _ => &[],
    };
    let mut out: Vec<Arch> = all
        .iter()
        .copied()
        .filter(|a| a.endian() == native.endian())
        .collect();
    if out.is_empty() {
        out.push(native);
    }
    out
}

impl Reader<'_> {
    fn invalid(&self, w: &Word, message: String) -> SystemdError {
        SystemdError::Invalid {
            at: Location::new(self.source, w.line, w.column),
            message,
        }
    }

    fn word_at(&self, w: &Word) -> Location {
        Location::new(self.source, w.line, w.column)
    }

    fn apply(&mut self, s: Setting) -> Result<(), SystemdError> {
        match s.key {
            Key::Filter => {
                let list = self.settings.filter.take();
                self.settings.filter = self.apply_list(list, &s, true)?;
            }
            Key::Log => {
                let list = self.settings.log.take();
                self.settings.log = self.apply_list(list, &s, false)?;
            }
            Key::ErrorNumber => {
                self.settings.error = match s.words.as_slice() {
                    [] => None,
                    [w] => Some((self.parse_deny(w, &w.text)?, s.at.clone())),
                    [_, extra, ..] => {
                        return Err(self.invalid(
                            extra,
                            "SystemCallErrorNumber= takes one value: expected an errno name \
                             such as EPERM, a number from 0 to 4095, or kill"
                                .into(),
                        ))
                    }
                }
            }
            Key::Architectures => {
                if s.words.is_empty() {
                    self.settings.arches = None;
                    return Ok(());
                }
                let (set, _) = self
                    .settings
                    .arches
                    .get_or_insert_with(|| (BTreeSet::new(), s.at.clone()));
                for w in &s.words {
                    let arch = if w.text == "native" {
                        self.target.arch
                    } else {
                        match SYSTEMD_ARCH_NAMES.iter().find(|(n, _)| *n == w.text) {
                            Some((_, a)) => *a,
                            None => {
                                let names: Vec<&str> =
                                    SYSTEMD_ARCH_NAMES.iter().map(|(n, _)| *n).collect();
                                return Err(SystemdError::Invalid {
                                    at: Location::new(self.source, w.line, w.column),
                                    message: format!(
                                        "unknown architecture {:?}: expected native or one of {}",
                                        w.text,
                                        names.join(", ")
                                    ),
                                });
                            }
                        }
                    };
                    set.insert(arch);
                }
            }
        }
        Ok(())
    }

    /// An errno name, a number from 0 to 4095, or `kill`.
    fn parse_deny(&self, w: &Word, text: &str) -> Result<Deny, SystemdError> {
        if text == "kill" {
            return Ok(Deny::Kill);
        }
        if let Some(e) = Errno::from_name(text) {
            return Ok(Deny::Named(e));
        }
        match systemd_number(text) {
            Some(e) if e <= u64::from(MAX_ERRNO) => Ok(Deny::Errno(e as u16)),
            _ => Err(self.invalid(
                w,
                format!(
                    "invalid error number {text:?}: expected an errno name such as EPERM, a \
                     number from 0 to {MAX_ERRNO}, or kill"
                ),
            )),
        }
    }

    /// One `SystemCallFilter=` (`filter`) or `SystemCallLog=` line applied to `list`.
    fn apply_list(
        &mut self,
        list: Option<List>,
        s: &Setting,
        filter: bool,
    ) -> Result<Option<List>, SystemdError> {
        let mut words = s.words.clone();
        if words.is_empty() {
            return Ok(None);
        }
        let invert = words[0].text.starts_with('~');
        if invert {
            words[0].text.remove(0);
            words[0].column += 1;
            if words[0].text.is_empty() {
                words.remove(0);
            }
        }
        let mut list = match list {
            Some(l) => l,
            None => {
                let mut l = List {
                    allow: !invert,
                    at: s.at.clone(),
                    entries: BTreeMap::new(),
                    removed: BTreeMap::new(),
                };
                if filter && l.allow {
                    // An allow list starts with @default (systemd adds it implicitly).
                    let default = systemd_sets::find(self.version, "@default")
                        .expect("every systemd version has @default");
                    for name in default.syscalls.iter().filter(|n| self.version.resolves(n)) {
                        l.entries.insert(
                            name.to_string(),
                            Entry {
                                deny: None,
                                at: s.at.clone(),
                            },
                        );
                    }
                }
                l
            }
        };
        for w in &words {
            let (name, deny) = match w.text.split_once(':') {
                Some((name, err)) if filter => {
                    let err_word = Word {
                        text: err.to_string(),
                        line: w.line,
                        column: w.column + name.chars().count() + 1,
                    };
                    (name, Some(self.parse_deny(&err_word, err)?))
                }
                Some(_) => {
                    return Err(self.invalid(
                        w,
                        format!(
                            "{:?}: SystemCallLog= takes syscall names and @sets without \
                             \":errno\": expected a name such as \"read\"",
                            w.text
                        ),
                    ))
                }
                None => (w.text.as_str(), None),
            };
            if name.is_empty() {
                return Err(self.invalid(
                    w,
                    "empty syscall name: expected a name such as \"read\" or a set such as \
                     \"@system-service\""
                        .into(),
                ));
            }
            if deny.is_some() && !invert {
                let at = self.word_at(w);
                self.warnings.push(format!(
                    "{at}: an allowed system call cannot take an error number; {:?} is \
                     ignored, as systemd ignores it",
                    w.text
                ));
                continue;
            }
            let names: Vec<&str> = if name.starts_with('@') {
                match systemd_sets::find(self.version, name) {
                    // systemd skips the members its libseccomp does not know.
                    Some(set) => set
                        .syscalls
                        .iter()
                        .copied()
                        .filter(|n| self.version.resolves(n))
                        .collect(),
                    None => {
                        return Err(self.invalid(
                            w,
                            format!(
                                "unknown syscall set {name:?} in {}: expected one of {}",
                                self.version,
                                systemd_sets::set_names(self.version).join(", ")
                            ),
                        ))
                    }
                }
            } else {
                if !crate::arch::is_known_syscall(name) {
                    let at = self.word_at(w);
                    self.warnings.push(format!(
                        "{at}: unknown syscall {name:?} skipped, as systemd skips it"
                    ));
                    continue;
                }
                if !self.version.resolves(name) {
                    let at = self.word_at(w);
                    self.warnings.push(format!(
                        "{at}: {} cannot resolve syscall {name:?} (its libseccomp does not know \
                         it) and ignores it; so does sysgate",
                        self.version
                    ));
                    continue;
                }
                vec![name]
            };
            let at = self.word_at(w);
            for n in names {
                // seccomp_parse_syscall_filter: add when (allowing in an allow list) or
                // (denying in a deny list) or (an errno entry in an allow list); else remove.
                let add = (invert != list.allow) || (invert && list.allow && deny.is_some());
                if add {
                    list.removed.remove(n);
                    list.entries.insert(
                        n.to_string(),
                        Entry {
                            deny,
                            at: at.clone(),
                        },
                    );
                } else {
                    list.entries.remove(n);
                    list.removed.insert(n.to_string(), at.clone());
                }
            }
        }
        Ok(Some(list))
    }

    fn finish(mut self) -> Loaded {
        let target = self.target.arch;
        let known: BTreeSet<&str> = systemd_sets::find(self.version, "@known")
            .map(|s| s.syscalls.iter().copied().collect())
            .unwrap_or_default();
        let enosys = self.version.enosys_outside_known();
        let st = &self.settings;
        let neg = st.error.as_ref().map_or(Deny::Kill, |(d, _)| *d).action();
        // An empty deny list (or an empty log allow list) installs no filter.
        let filter = st
            .filter
            .as_ref()
            .filter(|l| l.allow || !l.entries.is_empty());
        let log = st
            .log
            .as_ref()
            .filter(|l| !l.allow || !l.entries.is_empty());

        // What the main filter and the log filter decide for a name (`None`: a number with no
        // name), and why.
        let main = |name: Option<&str>| -> (Action, Option<Location>) {
            let Some(list) = filter else {
                return (Action::Allow, None);
            };
            if let Some(e) = name.and_then(|n| list.entries.get(n)) {
                let action = match (list.allow, e.deny) {
                    (_, Some(d)) => d.action(),
                    (true, None) => Action::Allow,
                    (false, None) => neg,
                };
                return (action, Some(e.at.clone()));
            }
            // A name a later line took out is decided there; any other by the line that
            // chose the mode (not SystemCallErrorNumber=, which only says how).
            let removed_at = name.and_then(|n| list.removed.get(n));
            if enosys && !name.is_some_and(|n| known.contains(n)) {
                (Action::NamedErrno(Errno::ENOSYS), Some(list.at.clone()))
            } else if list.allow {
                (neg, Some(removed_at.unwrap_or(&list.at).clone()))
            } else {
                (Action::Allow, None)
            }
        };
        let logged = |name: Option<&str>| -> (Action, Option<Location>) {
            let Some(list) = log else {
                return (Action::Allow, None);
            };
            if let Some(e) = name.and_then(|n| list.entries.get(n)) {
                let action = if list.allow {
                    Action::Log
                } else {
                    Action::Allow
                };
                return (action, Some(e.at.clone()));
            }
            if enosys && !name.is_some_and(|n| known.contains(n)) {
                (Action::NamedErrno(Errno::ENOSYS), Some(list.at.clone()))
            } else if list.allow {
                (Action::Allow, None)
            } else {
                (Action::Log, Some(list.at.clone()))
            }
        };
        let decide = |name: Option<&str>| {
            let (a, a_at) = main(name);
            let (b, b_at) = logged(name);
            if b.precedence() < a.precedence() {
                (b, b_at)
            } else {
                (a, a_at)
            }
        };

        let (default, default_at) = decide(None);
        let mut policy = Policy::new(default);
        policy.attrs.bad_arch = Action::Allow;
        let local = local_arches(target);
        let mut arches = local.clone();
        if let Some((listed, at)) = &st.arches {
            policy.attrs.bad_arch = Action::KillThread;
            let mut wanted = listed.clone();
            wanted.insert(target);
            if wanted.contains(&Arch::X32) {
                wanted.insert(Arch::X86_64);
            }
            let outside: Vec<&str> = wanted
                .iter()
                .filter(|a| !local.contains(a))
                .map(|a| a.name())
                .collect();
            if !outside.is_empty() {
                self.warnings.push(format!(
                    "{at}: {} {} not one of the machine's own ABIs: systemd lets {} calls through \
                     unfiltered; sysgate leaves {} out of the policy, so {} calls get the \
                     bad-arch action",
                    outside.join(", "),
                    if outside.len() == 1 { "is" } else { "are" },
                    if outside.len() == 1 { "its" } else { "their" },
                    if outside.len() == 1 { "it" } else { "them" },
                    if outside.len() == 1 { "its" } else { "their" },
                ));
            }
            arches.retain(|a| wanted.contains(a));
        }
        arches.retain(|a| a.endian() == target.endian());
        // Both byte orders never mix here: the local ABIs share the target's.
        let _ = policy.set_arches(arches);

        let mut names: BTreeSet<&str> = BTreeSet::new();
        for arch in policy.arches() {
            names.extend(arch.table().iter().map(|(n, _)| n));
        }
        for name in names {
            let (action, at) = decide(Some(name));
            if action == default {
                continue;
            }
            let mut rule = Rule::new(action, name);
            rule.origin = at.map(|a| a.to_string());
            // Every name here comes from a table, so the rule is valid.
            let _ = policy.add_rule(rule);
        }
        if st.filter.is_none() && st.log.is_none() && st.arches.is_none() {
            let at = Location::new(self.source, 1, 1);
            self.warnings.push(format!(
                "{at}: no SystemCallFilter=, SystemCallLog= or SystemCallArchitectures=: \
                 systemd installs no seccomp filter, so the policy allows everything"
            ));
        }
        Loaded {
            policy,
            warnings: self.warnings,
            listener: None,
            default_origin: default_at.map(|a| a.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.
// ---------------------------------------------------------------------------------------------

/// Which systemd to write for: its syscall names and sets. The default is the newest.
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::systemd::{self, WriteOptions};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Errno(1), "mount"))?;
/// let written = systemd::write(&policy, None, &WriteOptions::default());
/// assert!(written.text.contains("SystemCallFilter=~mount"), "{}", written.text);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The systemd version whose sets and syscall names may be written.
    pub version: SystemdVersion,
}

impl WriteOptions {
    /// Options for `version`.
    pub fn for_version(version: SystemdVersion) -> WriteOptions {
        WriteOptions { version }
    }
}

/// The systemd settings for `policy`, as `[Service]` lines for the systemd of
/// `options.version`: only the syscall names and `@sets` that version knows are written
/// ([`SystemdVersion::resolves`]), because systemd ignores the others, and an ignored name in
/// a `~` deny list is not denied. A call the policy refuses that the version cannot name is
/// refused by writing an allow list instead; whatever is still decided differently is listed.
/// For [`SystemdVersion::Newest`], the losses also name what systemd 252 would ignore.
/// systemd has no place for a notification `listener`: it is not written (the caller says so).
///
/// ```
/// use sysgate::policy::{Action, Policy, Rule};
/// use sysgate::profile::systemd::{self, SystemdVersion, WriteOptions};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.set_arches([Arch::X86_64])?;
/// policy.add_rule(Rule::new(Action::Errno(1), "mount"))?;
/// policy.add_rule(Rule::new(Action::Errno(1), "mseal"))?; // Linux 6.10: systemd 252 cannot name it
/// let newest = systemd::write(&policy, None, &WriteOptions::default());
/// assert!(newest.text.contains("SystemCallFilter=~mount mseal"), "{}", newest.text);
/// assert!(newest.losses.iter().any(|l| l.message.contains("systemd 252 ignores mseal")));
/// let v252 = systemd::write(&policy, None, &WriteOptions::for_version(SystemdVersion::V252));
/// assert!(!v252.text.contains("mseal"), "{}", v252.text);
/// assert!(v252.text.contains("SystemCallFilter=@"), "an allow list: {}", v252.text);
/// assert!(!v252.losses.iter().any(|l| l.message.contains("MORE PERMISSIVE")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write(policy: &Policy, _listener: Option<&Listener>, options: &WriteOptions) -> Written {
    let version = options.version;
    let (plain, mut losses) = without_conditions(policy, "systemd");
    let outcomes = name_outcomes(&plain);
    let known: BTreeSet<&str> = systemd_sets::find(version, "@known")
        .map(|s| s.syscalls.iter().copied().collect())
        .unwrap_or_default();

    // What systemd can say for each name, and for the default.
    let mut want: BTreeMap<&'static str, Action> = BTreeMap::new();
    for (name, o) in &outcomes {
        if !o.differs_on.is_empty() {
            let arches: Vec<&str> = o.differs_on.iter().map(|a| a.name()).collect();
            losses.push(Loss::about(
                *name,
                format!(
                    "decided differently on {}; systemd's filter is the same on every \
                     architecture, so it gets the most restrictive, {}",
                    arches.join(", "),
                    o.action
                ),
            ));
        }
        let (a, lost) = expressible(o.action);
        if let Some(why) = lost {
            losses.push(Loss::about(*name, why));
        }
        want.insert(name, a);
    }
    let (default, lost) = expressible(plain.default_action());
    if let Some(why) = lost {
        losses.push(Loss::general(format!("default action: {why}")));
    }
    // What can be written: systemd ignores a name its libseccomp does not resolve. The others
    // get what systemd gives a call no entry names; reading the text back shows what that is.
    let writable: BTreeMap<&'static str, Action> = want
        .iter()
        .filter(|(n, _)| version.resolves(n))
        .map(|(n, a)| (*n, *a))
        .collect();

    let mut text = String::from("[Service]\n");
    let native = main_arch(plain.arches());
    // Without SystemCallArchitectures=, systemd filters the machine's own ABIs and lets others
    // through: that is what a policy with those ABIs and an ALLOW bad-arch action says.
    let implicit_arches = plain.attrs.bad_arch == Action::Allow
        && native.is_some_and(|n| local_arches(n) == plain.arches());
    if !implicit_arches {
        let arch_names: Vec<&str> = plain
            .arches()
            .iter()
            .filter_map(|a| {
                let n = systemd_arch_name(*a);
                if n.is_none() {
                    losses.push(Loss::general(format!(
                        "systemd has no name for {a}: its calls get the bad-arch action"
                    )));
                }
                n
            })
            .collect();
        let _ = writeln!(text, "SystemCallArchitectures={}", arch_names.join(" "));
        if plain.attrs.bad_arch != Action::KillThread {
            losses.push(Loss::general(format!(
                "calls from other architectures get KILL_THREAD under systemd, not {}",
                plain.attrs.bad_arch
            )));
        }
    }
    if plain.attrs.enosys_for_unknown_syscalls || !plain.attrs.enosys_above.is_empty() {
        losses.push(Loss::general(
            "systemd answers ENOSYS for syscalls outside its @known set rather than for numbers \
             above the syscall table or the profile's largest syscall",
        ));
    }

    let unlisted = |name: &str, neg: Action| {
        if version.enosys_outside_known() && !known.contains(name) {
            Action::Errno(ENOSYS)
        } else {
            neg
        }
    };
    // The denial most @known calls get: SystemCallErrorNumber= (allow lists) or the answer
    // of plain `~name` entries (deny lists).
    let mut denials: BTreeMap<Action, usize> = BTreeMap::new();
    for (name, action) in &writable {
        if known.contains(name) && !action.permits() {
            *denials.entry(*action).or_default() += 1;
        }
    }
    let neg = denials
        .iter()
        .max_by_key(|(a, n)| (**n, **a == default, std::cmp::Reverse(**a)))
        .map_or(default, |(a, _)| *a);
    // Both modes can say the same thing; a policy that came from an allow list is said best by
    // one, from a deny list by the other. Write both and keep the one that is more permissive
    // than the policy for the fewest calls (a deny list cannot refuse a call the version
    // cannot name; an allow list can), then the deny list for an allow-by-default policy,
    // then the one that loses least, then the shorter.
    let lists = Lists {
        want: &writable,
        neg,
        version,
        unlisted: &unlisted,
    };
    let render = |deny_mode: bool| {
        let mut t = text.clone();
        if deny_mode {
            lists.deny(&mut t);
        } else {
            lists.allow(&mut t);
        }
        write_log_list(&mut t, &writable, default);
        let mut l = Vec::new();
        check_written(&t, &plain, &want, default, version, &mut l);
        let permissive = l.iter().filter(|l| l.is_more_permissive()).count();
        let unnatural = default.permits() && !deny_mode;
        (permissive, unnatural, l.len(), t.len(), t, l)
    };
    // An allow-by-default policy keeps its deny list unless that lets something through.
    let deny = default.permits().then(|| render(true));
    let best = match deny {
        Some(d) if d.0 == 0 => d,
        d => {
            let (a, b) = (render(false), d.unwrap_or_else(|| render(true)));
            if (a.0, a.1, a.2, a.3) <= (b.0, b.1, b.2, b.3) {
                a
            } else {
                b
            }
        }
    };
    let (_, _, _, _, text, more) = best;
    losses.extend(more);
    if version == SystemdVersion::Newest {
        losses.extend(ignored_by_v252(&text, &want));
    }
    losses.sort();
    losses.dedup();
    Written { text, losses }
}

/// The action systemd can express closest to `action` on the restrictive side, and why it
/// changed.
fn expressible(action: Action) -> (Action, Option<String>) {
    let to = match action {
        Action::Allow
        | Action::Log
        | Action::Errno(_)
        | Action::NamedErrno(_)
        | Action::KillProcess => return (action, None),
        Action::KillThread | Action::Trap(_) => Action::KillProcess,
        Action::Trace(_) | Action::UserNotif => Action::Errno(EPERM),
    };
    (
        to,
        Some(format!(
            "systemd has no {action}; written as {} (more restrictive)",
            deny_word(to)
        )),
    )
}

/// systemd's spelling of a refusing action: an errno name or number, or `kill`.
fn deny_word(action: Action) -> String {
    match action {
        Action::Errno(e) => errno_name(e).map_or_else(|| e.to_string(), str::to_string),
        Action::NamedErrno(e) => e.name().to_string(),
        _ => "kill".to_string(),
    }
}

/// Sets that are wholly `pred` (every member the policy's tables know satisfies it),
/// largest first, each covering something not covered yet; the names they cover.
fn covering_sets(
    want: &BTreeMap<&'static str, Action>,
    version: SystemdVersion,
    pred: impl Fn(Action) -> bool,
    skip: &[&str],
) -> (Vec<&'static str>, BTreeSet<&'static str>) {
    let mut sets: Vec<&SetDef> = systemd_sets::sets(version)
        .iter()
        .filter(|s| s.name != "@known" && !skip.contains(&s.name))
        .collect();
    sets.sort_by_key(|s| std::cmp::Reverse(s.syscalls.len()));
    let mut chosen = Vec::new();
    let mut covered = BTreeSet::new();
    for set in sets {
        let members: Vec<&'static str> = set
            .syscalls
            .iter()
            .copied()
            .filter(|n| want.contains_key(n))
            .collect();
        if members.len() < 2 || !members.iter().all(|n| pred(want[n])) {
            continue;
        }
        if members.iter().all(|n| covered.contains(n)) {
            continue;
        }
        covered.extend(members);
        chosen.push(set.name);
    }
    chosen.sort();
    (chosen, covered)
}

/// What either mode writes its `SystemCallFilter=` lines from.
#[derive(Clone, Copy)]
struct Lists<'a> {
    /// What each name must get.
    want: &'a BTreeMap<&'static str, Action>,
    /// The denial most calls get (`SystemCallErrorNumber=` or plain `~name`).
    neg: Action,
    version: SystemdVersion,
    /// What a name gets when no line lists it, given the mode's denial.
    unlisted: &'a dyn Fn(&str, Action) -> Action,
}

impl Lists<'_> {
    /// An allow list: the allowed calls (by set where a whole set is), then what `@default`
    /// allows that must be refused.
    fn allow(&self, text: &mut String) {
        let (want, neg, version, unlisted) = (self.want, self.neg, self.version, self.unlisted);
        if let Action::Errno(_) = neg {
            let _ = writeln!(text, "SystemCallErrorNumber={}", deny_word(neg));
        }
        let implicit: BTreeSet<&str> = systemd_sets::find(version, "@default")
            .map(|s| s.syscalls.iter().copied().collect())
            .unwrap_or_default();
        let (sets, covered) = covering_sets(want, version, Action::permits, &["@default"]);
        let mut allowed: Vec<&str> = sets.clone();
        allowed.extend(want.iter().filter_map(|(n, a)| {
            (a.permits() && !covered.contains(n) && !implicit.contains(n)).then_some(*n)
        }));
        // The first line decides the mode: an allow list (even if it only holds @default).
        if allowed.is_empty() {
            allowed.push("@default");
        }
        let _ = writeln!(text, "SystemCallFilter={}", allowed.join(" "));
        // Calls allowed by @default (or listed nowhere) that must be refused.
        let mut removed = Vec::new();
        let mut per_answer: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (name, action) in want {
            if action.permits() {
                continue;
            }
            let listed = implicit.contains(name);
            if !listed && unlisted(name, neg) == *action {
                continue;
            }
            if listed && unlisted(name, neg) == *action {
                removed.push(*name);
            } else {
                per_answer.entry(deny_word(*action)).or_default().push(name);
            }
        }
        if !removed.is_empty() {
            let _ = writeln!(text, "SystemCallFilter=~{}", removed.join(" "));
        }
        for (answer, names) in per_answer {
            let words: Vec<String> = names.iter().map(|n| format!("{n}:{answer}")).collect();
            let _ = writeln!(text, "SystemCallFilter=~{}", words.join(" "));
        }
    }

    /// A deny list: the refused calls, by set where a whole set gets the usual denial.
    fn deny(&self, text: &mut String) {
        let (want, neg, version, unlisted) = (self.want, self.neg, self.version, self.unlisted);
        let mut per_answer: BTreeMap<Action, Vec<&'static str>> = BTreeMap::new();
        for (name, action) in want {
            if action.permits() || unlisted(name, Action::Allow) == *action {
                continue;
            }
            per_answer.entry(*action).or_default().push(name);
        }
        if per_answer.is_empty() {
            return;
        }
        if let Action::Errno(_) = neg {
            let _ = writeln!(text, "SystemCallErrorNumber={}", deny_word(neg));
        }
        for (action, names) in &per_answer {
            let (sets, covered) = if *action == neg {
                covering_sets(want, version, |a| a == neg, &[])
            } else {
                (Vec::new(), BTreeSet::new())
            };
            let mut words: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            for n in names.iter().filter(|n| !covered.contains(*n)) {
                if *action == neg {
                    words.push(n.to_string());
                } else {
                    words.push(format!("{n}:{}", deny_word(*action)));
                }
            }
            let _ = writeln!(text, "SystemCallFilter=~{}", words.join(" "));
        }
    }
}

fn write_log_list(text: &mut String, want: &BTreeMap<&'static str, Action>, default: Action) {
    if default == Action::Log {
        let allowed: Vec<&str> = want
            .iter()
            .filter(|(_, a)| **a == Action::Allow)
            .map(|(n, _)| *n)
            .collect();
        let _ = writeln!(text, "SystemCallLog=~{}", allowed.join(" "));
    } else {
        let logged: Vec<&str> = want
            .iter()
            .filter(|(_, a)| **a == Action::Log)
            .map(|(n, _)| *n)
            .collect();
        if !logged.is_empty() {
            let _ = writeln!(text, "SystemCallLog={}", logged.join(" "));
        }
    }
}

/// Read `text` back for the policy's main architecture and list every name it decides
/// differently from `want`, and a different answer for numbers without a name.
fn check_written(
    text: &str,
    plain: &Policy,
    want: &BTreeMap<&'static str, Action>,
    default: Action,
    version: SystemdVersion,
    losses: &mut Vec<Loss>,
) {
    let Some(native) = main_arch(plain.arches()) else {
        return;
    };
    let options = ReadOptions::for_version(version);
    let Ok(back) = read_one(text, "written", &Target::new(native), &options) else {
        losses.push(Loss::general(
            "internal error: the written settings do not read back; please report this",
        ));
        return;
    };
    let got = name_outcomes(&back.policy);
    for (name, action) in want {
        let Some(o) = got.get(name) else {
            continue;
        };
        if o.action != *action {
            let direction = if o.action.precedence() < action.precedence() {
                "more restrictive"
            } else {
                "MORE PERMISSIVE"
            };
            let why = if !version.resolves(name) {
                format!(" ({version} cannot name it: its libseccomp does not know it)")
            } else if o.action == Action::Errno(ENOSYS) {
                " (outside systemd's @known, systemd answers ENOSYS)".to_string()
            } else {
                String::new()
            };
            losses.push(Loss::about(
                *name,
                format!(
                    "systemd decides {} where the policy decides {action}{why}: {direction}",
                    o.action
                ),
            ));
        }
    }
    let got = back.policy.default_action();
    if got != default {
        // ENOSYS where the policy kills is as much a widening as an allow where it refuses.
        let direction = if widens(default, got) {
            ": MORE PERMISSIVE"
        } else {
            ""
        };
        losses.push(Loss::general(format!(
            "syscall numbers without a name get {got} under systemd, not {default}{direction}"
        )));
    }
}

/// What systemd 252 would make of `text` written for the newest systemd: the names it would
/// ignore (its libseccomp does not know them; set members too) and the sets it does not
/// have, among what the text names. `want` limits set members to the policy's names.
fn ignored_by_v252(text: &str, want: &BTreeMap<&'static str, Action>) -> Option<Loss> {
    let old = SystemdVersion::V252;
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut sets: BTreeSet<&str> = BTreeSet::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key != "SystemCallFilter" && key != "SystemCallLog" {
            continue;
        }
        for word in value.split_whitespace() {
            let word = word.trim_start_matches('~');
            let name = word.split_once(':').map_or(word, |(n, _)| n);
            if name.starts_with('@') {
                if systemd_sets::find(old, name).is_none() {
                    sets.insert(name);
                }
                let members = systemd_sets::find(SystemdVersion::Newest, name)
                    .map_or(&[][..], |s| s.syscalls);
                names.extend(
                    members
                        .iter()
                        .filter(|n| want.contains_key(*n) && !old.resolves(n)),
                );
            } else if !name.is_empty() && !old.resolves(name) {
                names.insert(name);
            }
        }
    }
    if names.is_empty() && sets.is_empty() {
        return None;
    }
    let why = match (names.is_empty(), sets.is_empty()) {
        (false, true) => "its libseccomp 2.5 does not know the names",
        (true, false) => "it has no such sets",
        _ => "its libseccomp 2.5 does not know the names, and it has no such sets",
    };
    let mut what: Vec<&str> = names.into_iter().collect();
    what.extend(sets);
    Some(Loss::general(format!(
        "systemd 252 ignores {} ({why}): where they are denied here, systemd 252 allows them, \
         and where they are allowed, it refuses them; for systemd 252 write with \
         --systemd-version 252",
        what.join(", ")
    )))
}

/// The architecture whose machine filters the most of `arches` (x86-64 for x86-64 + x86).
fn main_arch(arches: &[Arch]) -> Option<Arch> {
    arches.iter().copied().max_by_key(|a| {
        let local = local_arches(*a);
        (
            arches.iter().filter(|x| local.contains(x)).count(),
            a.word_bits(),
            a.endian() == Endian::Little,
        )
    })
}

#[cfg(test)]
mod tests;
