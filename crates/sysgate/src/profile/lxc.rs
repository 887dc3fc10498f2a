//! LXC seccomp policy files (`lxc.seccomp.profile`), versions 1 and 2, to and from a
//! [`Policy`].
//!
//! This module owns the file syntax and LXC's reading of it (lxc's `src/lxc/seccomp.c`); it
//! does not own what the resulting policy means ([`crate::policy`]).
//!
//! # The format
//!
//! ```text
//! 2
//! denylist errno 38
//! reject_force_umount
//! [all]
//! kexec_load errno 1
//! mount kill [2,0x1000,&=,0x1000]
//! ```
//!
//! - Line 1 is the version, `1` or `2`. Line 2 the policy type: `allowlist` or `denylist` (the
//!   old `whitelist` and `blacklist` too), in version 2 optionally followed by the default
//!   action. Version 1 is an allow list only, of syscall **numbers** (the host's own), one a
//!   line; everything else is killed.
//! - Actions: `kill` (KILL_THREAD: libseccomp's `SCMP_ACT_KILL`), `errno N`, `allow`, `trap`,
//!   `notify`. An allow list's default is `kill` and its rules `allow`; a deny list's default
//!   is `allow` and its rules `kill`. The header's action replaces the default; a rule line's
//!   action replaces the rule's.
//! - Rule lines: `name [action] [idx,value,op(,mask)]...`, up to six argument conditions,
//!   with `op` one of `SCMP_CMP_NE`, `_LT`, `_LE`, `_EQ`, `_GE`, `_GT`, `_MASKED_EQ` or `!=`,
//!   `<`, `<=`, `==`, `>=`, `>`, `&=`. `&=` compares `(arg & mask) == value`. Numbers are
//!   decimal, `0x` hex or `0` octal. LXC needs the action before conditions.
//! - `reject_force_umount`: `umount2` with `MNT_FORCE` fails with `EACCES`.
//! - `[arch]` sections, with LXC's exact names in lower or upper case: `all`, `x86`, `x32`,
//!   `x86_64`, `arm`, `arm64`, `ppc`, `ppc64`, `ppc64le`, `mips`, `mips64`, `mips64n32`,
//!   `mipsel`, `mipsel64`, `mipsel64n32`, `s390`, `s390x`, `loongarch64`. A section names the
//!   hosts its lines are for: `[x86]` is read on an i386 or amd64 host, `[arm]` on arm and
//!   arm64, and so on. On a host the section does not fit, its lines are skipped. Lines before
//!   any section belong to `[all]` on amd64, arm64, ppc64 and mips64 hosts and to the host's
//!   own section elsewhere (on hosts LXC has no name for, they are skipped).
//! - The rules a host reads apply to every ABI of its filter: x86, x32 and x86_64 on amd64;
//!   arm and arm64 on arm64; ppc and ppc64 on ppc64; the three mips ABIs on mips64; the host's
//!   own ABI elsewhere.
//! - `#` in the first column starts a comment (version 2); `#` after a rule's name and a space
//!   ends it. LXC splits a rule line at spaces only and takes the name to be everything up to
//!   the first one: a rule whose name has a tab or a `#` glued to it is skipped with a warning,
//!   as LXC skips it; a line that starts with a space, a section line with anything else on
//!   it, or a CRLF line end is refused (LXC refuses them or reads them as nothing).
//!
//! LXC turns `no_new_privs` off; the policy says so. A name the host's own table does not
//! have is skipped with a warning, as LXC skips it: LXC resolves every name on the host, so
//! `socketcall` on an amd64 host is no rule, not even for x86 calls.
//!
//! # Writing
//!
//! [`write`](fn@write) emits version 2 with every rule under `[all]`, or a version 1 allow list
//! for the policy's main architecture ([`LxcVersion`]). LXC has no LOG, TRACE or KILL_PROCESS and no TRAP data;
//! version 1 has nothing but ALLOW rules without conditions. Each is replaced by the closest
//! action on the restrictive side (LOG becomes ALLOW: the call still runs, unlogged) and
//! listed as a loss.
//!
//! ```
//! use sysgate::policy::Action;
//! use sysgate::profile::{lxc, Target};
//! use sysgate::Arch;
//!
//! let text = "2\ndenylist\nreject_force_umount\n[all]\nkexec_load errno 1\n";
//! let loaded = lxc::parse(text, "lxc.seccomp", &Target::new(Arch::X86_64))?;
//! let p = &loaded.policy;
//! assert_eq!(p.arches(), &[Arch::X86, Arch::X86_64, Arch::X32]);
//! assert_eq!(p.decide(Arch::X86_64, 246, &[0; 6]).action, Action::Errno(1)); // kexec_load
//! assert_eq!(p.decide(Arch::X86_64, 166, &[0, 1, 0, 0, 0, 0]).action, Action::Errno(13));
//! assert_eq!(p.decide(Arch::X86_64, 166, &[0; 6]).action, Action::Allow);
//! # Ok::<(), lxc::LxcError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::line_text;
use super::write::{for_every_arch, widens, without_conditions, Loss, Written};
use super::{Listener, Loaded, Location, Named, Target};
use crate::arch::Arch;
use crate::policy::{
    Action, ArgCond, CmpOp, Errno, Numbering, Policy, Rule, Syscall, MAX_CONDS, MAX_ERRNO,
};

/// `MNT_FORCE`, the `umount2` flag `reject_force_umount` refuses.
const MNT_FORCE: u64 = 1;
/// `EPERM`, what TRACE becomes when written for LXC.
const EPERM: u16 = 1;

/// Why an LXC seccomp file cannot be read. Every variant names the location.
///
/// ```
/// use sysgate::profile::{lxc, Target};
/// use sysgate::Arch;
///
/// let err = lxc::parse("2\nallowlist\nread bogus\n", "p", &Target::new(Arch::X86_64)).unwrap_err();
/// assert_eq!(err.location().to_string(), "p:3:6");
/// assert!(err.to_string().contains("expected an action"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LxcError {
    /// The text is not what LXC accepts.
    #[error("{at}: {message}")]
    Invalid {
        /// Where the problem starts.
        at: Location,
        /// What was found and what was expected.
        message: String,
    },
}

impl LxcError {
    /// Where in the file the problem is.
    ///
    /// ```
    /// use sysgate::profile::{lxc, Target};
    /// use sysgate::Arch;
    ///
    /// let err = lxc::parse("3\n", "p", &Target::new(Arch::X86_64)).unwrap_err();
    /// assert_eq!(err.location().line, 1);
    /// ```
    pub fn location(&self) -> &Location {
        match self {
            LxcError::Invalid { at, .. } => at,
        }
    }
}

/// LXC's name for a host of architecture `arch` (`get_hostarch`), if it has one.
///
/// ```
/// use sysgate::profile::lxc::host_name;
/// use sysgate::Arch;
///
/// assert_eq!(host_name(Arch::X86_64), Some("amd64"));
/// assert_eq!(host_name(Arch::Riscv64), None);
/// ```
pub fn host_name(arch: Arch) -> Option<&'static str> {
    Some(match arch {
        Arch::X86 => "i386",
        Arch::X86_64 | Arch::X32 => "amd64",
        Arch::Arm => "arm",
        Arch::Aarch64 => "arm64",
        Arch::Ppc64le => "ppc64le",
        Arch::Ppc64 => "ppc64",
        Arch::Ppc => "ppc",
        Arch::Mips => "mips",
        Arch::Mipsel => "mipsel",
        Arch::Mips64 | Arch::Mips64n32 => "mips64",
        Arch::Mipsel64 | Arch::Mipsel64n32 => "mipsel64",
        Arch::S390x => "s390x",
        Arch::S390 => "s390",
        Arch::Loongarch64 => "loongarch64",
        _ => return None,
    })
}

/// The sections LXC accepts and the hosts (LXC host names) that read each.
pub const SECTIONS: &[(&str, &[&str])] = &[
    ("all", &[]),
    ("x86", &["i386", "amd64"]),
    ("x32", &["amd64"]),
    ("x86_64", &["amd64"]),
    ("arm", &["arm", "arm64"]),
    ("arm64", &["arm64"]),
    ("ppc64le", &["ppc64le"]),
    ("ppc64", &["ppc64"]),
    ("ppc", &["ppc", "ppc64"]),
    ("mips64", &["mips64"]),
    ("mips64n32", &["mips64"]),
    ("mips", &["mips", "mips64"]),
    ("mipsel64", &["mipsel64"]),
    ("mipsel64n32", &["mipsel64"]),
    ("mipsel", &["mipsel", "mipsel64"]),
    ("s390x", &["s390x"]),
    ("s390", &["s390"]),
    ("loongarch64", &["loongarch64"]),
];

/// The ABIs an LXC filter on a host of architecture `arch` covers.
///
/// ```
/// use sysgate::profile::lxc::filter_arches;
/// use sysgate::Arch;
///
/// assert_eq!(filter_arches(Arch::X86_64), vec![Arch::X86, Arch::X32, Arch::X86_64]);
/// assert_eq!(filter_arches(Arch::Riscv64), vec![Arch::Riscv64]);
/// ```
pub fn filter_arches(arch: Arch) -> Vec<Arch> {
    match host_name(arch) {
        Some("amd64") => vec![Arch::X86, Arch::X32, Arch::X86_64],
        Some("ppc64") => vec![Arch::Ppc, Arch::Ppc64],
        Some("arm64") => vec![Arch::Arm, Arch::Aarch64],
        Some("mips64") => vec![Arch::Mips, Arch::Mips64n32, Arch::Mips64],
        Some("mipsel64") => vec![Arch::Mipsel, Arch::Mipsel64n32, Arch::Mipsel64],
        _ => vec![arch],
    }
}

/// Read an LXC seccomp file for a host of `target`'s architecture. `source` names the file in
/// errors and rule origins.
///
/// ```
/// use sysgate::policy::Action;
/// use sysgate::profile::{lxc, Target};
/// use sysgate::Arch;
///
/// let loaded = lxc::parse("1\nallowlist\n0\n1\n", "v1", &Target::new(Arch::X86_64))?;
/// assert_eq!(loaded.policy.arches(), &[Arch::X86_64]);
/// assert_eq!(loaded.policy.decide(Arch::X86_64, 1, &[0; 6]).action, Action::Allow);
/// assert_eq!(loaded.policy.decide(Arch::X86_64, 2, &[0; 6]).action, Action::KillThread);
/// # Ok::<(), lxc::LxcError>(())
/// ```
pub fn parse(text: &str, source: &str, target: &Target) -> Result<Loaded, LxcError> {
    let mut r = Reader {
        source,
        target,
        warnings: Vec::new(),
        default_at: None,
    };
    r.parse(text)
}

/// How to read an LXC file: LXC has no choices, so there are none yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {}

/// Read an LXC seccomp file with [`ReadOptions`]: the reader every format has (see
/// [`profile`](crate::profile)), giving the one profile a file holds, unnamed (see [`Named`]).
pub fn read(
    text: &str,
    source: &str,
    target: &Target,
    _options: &ReadOptions,
) -> Result<Vec<Named>, LxcError> {
    parse(text, source, target).map(|loaded| vec![Named::unnamed(loaded)])
}

struct Reader<'a> {
    source: &'a str,
    target: &'a Target,
    warnings: Vec<String>,
    /// The policy line, which sets the default action.
    default_at: Option<Location>,
}

/// A line's content without a trailing `#` comment, and where it starts.
fn content(line: &str) -> &str {
    match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    }
}

impl Reader<'_> {
    fn at(&self, line: usize, col: usize) -> Location {
        Location::new(self.source, line, col)
    }

    fn invalid(&self, line: usize, col: usize, message: impl Into<String>) -> LxcError {
        LxcError::Invalid {
            at: self.at(line, col),
            message: message.into(),
        }
    }

    fn parse(&mut self, text: &str) -> Result<Loaded, LxcError> {
        let lines: Vec<&str> = text.lines().collect();
        let first = lines.first().copied().unwrap_or("");
        let version = match first.trim() {
            "1" => 1,
            "2" => 2,
            other => {
                return Err(self.invalid(
                    1,
                    1,
                    format!("invalid version {other:?}: expected 1 or 2 on the first line"),
                ))
            }
        };
        let Some(header) = lines.get(1) else {
            return Err(self.invalid(
                2,
                1,
                "missing policy line: expected \"allowlist\" or \"denylist\" on the second line",
            ));
        };
        let words = line_text::plain_words(content(header));
        let Some((kind, kind_col)) = words.first().copied() else {
            return Err(self.invalid(
                2,
                1,
                "empty policy line: expected \"allowlist\" or \"denylist\"",
            ));
        };
        self.default_at = Some(self.at(2, kind_col));
        let deny = match kind {
            "allowlist" | "whitelist" => false,
            "denylist" | "blacklist" if version == 2 => true,
            "denylist" | "blacklist" => {
                return Err(self.invalid(
                    2,
                    kind_col,
                    "version 1 is an allow list only: expected \"allowlist\"",
                ))
            }
            "debug" => return Err(self.invalid(2, kind_col, "LXC does not implement \"debug\"")),
            other => {
                return Err(self.invalid(
                    2,
                    kind_col,
                    format!(
                        "unknown policy type {other:?}: expected \"allowlist\" or \"denylist\""
                    ),
                ))
            }
        };
        if version == 1 {
            if let Some((w, col)) = words.get(1) {
                return Err(self.invalid(
                    2,
                    *col,
                    format!(
                        "version 1 takes no default action ({w:?}): expected only \"allowlist\""
                    ),
                ));
            }
            return self.parse_v1(&lines[2..]);
        }
        // LXC keeps a CR in each line (a CRLF file's names end in it): refused, not guessed.
        if let Some((i, line)) = text
            .split('\n')
            .enumerate()
            .skip(2)
            .find(|(_, l)| l.contains('\r'))
        {
            return Err(self.invalid(
                i + 1,
                line.find('\r').map_or(1, |b| line_text::column(line, b)),
                "a carriage return (CRLF line end): LXC keeps it as part of the line, so a name \
                 before it is no syscall and a section is unsupported; expected LF line ends",
            ));
        }
        let header_action = self.action(&words[1..], 2, true)?;
        let (default, rule_default) = if deny {
            (header_action.unwrap_or(Action::Allow), Action::KillThread)
        } else {
            (header_action.unwrap_or(Action::KillThread), Action::Allow)
        };
        self.parse_v2(&lines[2..], default, rule_default)
    }

    fn new_policy(&self, default: Action, arches: Vec<Arch>) -> Policy {
        let mut policy = Policy::new(default);
        // LXC's ABIs for one host share its byte order.
        let _ = policy.set_arches(arches);
        policy.attrs.bad_arch = Action::KillThread;
        policy.attrs.no_new_privs = false;
        policy
    }

    fn parse_v1(&mut self, lines: &[&str]) -> Result<Loaded, LxcError> {
        let mut policy = self.new_policy(Action::KillThread, vec![self.target.arch]);
        for (i, raw) in lines.iter().enumerate() {
            let line_no = i + 3;
            let t = raw.trim();
            if t.is_empty() {
                continue;
            }
            let col = raw.len() - raw.trim_start().len() + 1;
            let nr: u32 = t.parse().map_err(|_| {
                self.invalid(
                    line_no,
                    col,
                    format!("{t:?} is not a syscall number: version 1 lists one number a line"),
                )
            })?;
            if self.target.arch.syscall_name(nr).is_none() {
                self.warnings.push(format!(
                    "{}: {nr} is not a syscall on {}; the rule matches nothing there",
                    self.at(line_no, col),
                    self.target.arch
                ));
            }
            let rule = Rule::new(Action::Allow, nr).with_origin(self.at(line_no, col).to_string());
            // ALLOW rules without conditions are always valid.
            let _ = policy.add_rule(rule);
        }
        Ok(self.finish(policy))
    }

    fn finish(&mut self, policy: Policy) -> Loaded {
        Loaded {
            policy,
            warnings: std::mem::take(&mut self.warnings),
            listener: None,
            default_origin: self.default_at.as_ref().map(Location::to_string),
        }
    }

    fn parse_v2(
        &mut self,
        lines: &[&str],
        default: Action,
        rule_default: Action,
    ) -> Result<Loaded, LxcError> {
        let host = host_name(self.target.arch);
        let arches = filter_arches(self.target.arch);
        let mut policy = self.new_policy(default, arches);
        if default == Action::UserNotif {
            policy.attrs.flags.new_listener = true;
        }
        // Lines before any section: [all] on multi-ABI hosts, the host's own section elsewhere.
        let mut relevant = host.is_some();
        for (i, raw) in lines.iter().enumerate() {
            let line_no = i + 3;
            if raw.starts_with('#') {
                continue;
            }
            // LXC takes a rule's syscall name to be the line up to its first space, and
            // compares a section line whole: it skips no leading blanks and knows no other
            // separator (a tab, a `#` glued to the name, a CR are part of the name).
            if let Some(rest) = raw.strip_prefix(' ') {
                let rest = rest.trim_start_matches(' ');
                if rest.is_empty() || rest.starts_with('#') {
                    continue; // LXC reads an empty name here, which it skips
                }
                return Err(self.invalid(
                    line_no,
                    1,
                    "this line starts with a space: LXC takes the syscall name to end at the \
                     first space, so it reads an empty name and the next word as the action; \
                     expected the syscall name (or section) in the first column",
                ));
            }
            let body = content(raw);
            let t = body.trim();
            if t.is_empty() {
                continue;
            }
            let col = body.len() - body.trim_start().len() + 1;
            if t.starts_with('[') && t != *raw {
                return Err(self.invalid(
                    line_no,
                    col,
                    format!(
                        "LXC compares the whole line with a section name, so {raw:?} is an \
                         unsupported section: expected the section alone on its line, such as \
                         \"[all]\""
                    ),
                ));
            }
            if t.starts_with('[') {
                let name = t
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .unwrap_or("");
                let lower = name.to_ascii_lowercase();
                let known = SECTIONS.iter().find(|(s, _)| {
                    *s == lower && (name == lower || name == lower.to_ascii_uppercase())
                });
                let Some((_, hosts)) = known else {
                    let all: Vec<String> = SECTIONS.iter().map(|(s, _)| format!("[{s}]")).collect();
                    return Err(self.invalid(
                        line_no,
                        col,
                        format!(
                            "unsupported architecture section {t:?}: expected one of {} (lower or \
                             upper case)",
                            all.join(", ")
                        ),
                    ));
                };
                relevant = hosts.is_empty() || host.is_some_and(|h| hosts.contains(&h));
                continue;
            }
            // Validate every line, also those this host skips.
            let rule = self.rule(body, line_no, rule_default)?;
            if !relevant {
                continue;
            }
            let Some(rule) = rule else { continue };
            let lxc_name = raw.split(' ').next().unwrap_or(raw);
            if lxc_name.contains(|c: char| c.is_whitespace() || c == '#')
                && !lxc_name.starts_with("reject_force_umount")
            {
                self.warnings.push(format!(
                    "{}: LXC takes the syscall name to be the line up to its first space, \
                     {lxc_name:?}, which is no syscall: the rule is skipped, as LXC skips it \
                     (separate the words with spaces)",
                    self.at(line_no, 1)
                ));
                continue;
            }
            let refuses = rule.action.precedence() < policy.default_action().precedence();
            self.warn_readings(&rule, refuses);
            if rule.action == Action::UserNotif {
                policy.attrs.flags.new_listener = true;
            }
            if rule.action == policy.default_action() {
                self.warnings.push(format!(
                    "{}: this rule's action is the default; LXC (libseccomp) refuses such a rule, \
                     sysgate keeps it",
                    rule.origin.as_deref().unwrap_or("?")
                ));
            }
            let origin = rule.origin.clone().unwrap_or_default();
            policy.add_rule(rule).map_err(|e| LxcError::Invalid {
                at: self.at(line_no, col),
                message: format!("{e} (at {origin})"),
            })?;
        }
        Ok(self.finish(policy))
    }

    /// One rule line (`body` has no comment). `None` for a name to skip.
    fn rule(
        &mut self,
        body: &str,
        line_no: usize,
        rule_default: Action,
    ) -> Result<Option<Rule>, LxcError> {
        let words = line_text::plain_words(body);
        let (name, name_col) = words[0];
        let origin = self.at(line_no, name_col).to_string();
        if name == "reject_force_umount" {
            if let Some((_, col)) = words.get(1) {
                return Err(self.invalid(
                    line_no,
                    *col,
                    "reject_force_umount takes nothing after it: expected the end of the line",
                ));
            }
            let cond =
                ArgCond::new(1, CmpOp::MaskedEq(MNT_FORCE), MNT_FORCE).expect("argument 1 exists");
            return Ok(Some(
                // LXC answers with the host's EACCES.
                Rule::new(Action::NamedErrno(Errno::EACCES), "umount2")
                    .with_cond(cond)
                    .with_origin(origin),
            ));
        }
        // The action: words up to the first argument condition.
        let split = words
            .iter()
            .position(|(w, _)| w.starts_with('['))
            .unwrap_or(words.len());
        let action_words = &words[1..split];
        let action = self.action(action_words, line_no, false)?;
        if split < words.len() && action.is_none() {
            return Err(self.invalid(
                line_no,
                words[split].1,
                "LXC needs the action before argument conditions: expected kill, errno N, allow, \
                 trap or notify",
            ));
        }
        let action = action.unwrap_or(rule_default);
        let conds = self.conditions(body, &words[split..], line_no)?;
        if !crate::arch::is_known_syscall(name) {
            self.warnings.push(format!(
                "{origin}: unknown syscall {name:?} skipped, as LXC skips it"
            ));
            return Ok(None);
        }
        // LXC resolves the name on the host (libseccomp's native architecture), in every
        // section, and skips the rule when the host has no number for it: it is then not
        // added for any ABI of the filter (a call only `socketcall` makes on x86 included).
        let host = self.target.arch;
        if host.syscall_number(name).is_none() {
            self.warnings.push(format!(
                "{origin}: LXC resolves syscall names on the host, and {} has no {name:?}: the \
                 rule is skipped on every ABI, as LXC skips it",
                host.name()
            ));
            return Ok(None);
        }
        Ok(Some(
            Rule::new(action, name)
                .with_conds(conds)
                .with_origin(origin),
        ))
    }

    /// The two places where sysgate reads a rule's conditions differently from libseccomp,
    /// which LXC hands them to (docs/semantics.md): an argument tested twice (libseccomp refuses
    /// the rule, so LXC fails to load the profile; sysgate ANDs the conditions), and a constant
    /// or mask above 32 bits where the host's filter has a 32-bit ABI or x32 (libseccomp
    /// compares only the low word there, sysgate the whole value).
    ///
    /// And for a refusing rule with conditions where the filter has x32: libseccomp compares
    /// only an x32 argument's low word, so it refuses calls with high bits set that sysgate's
    /// reading lets through.
    fn warn_readings(&mut self, rule: &Rule, refuses: bool) {
        let conds = &rule.conds;
        let origin = rule.origin.as_deref().unwrap_or(self.source);
        let mut seen = [false; 6];
        if let Some(c) = conds
            .iter()
            .find(|c| std::mem::replace(&mut seen[c.arg()], true))
        {
            self.warnings.push(format!(
                "{origin}: argument {} is tested twice: libseccomp refuses such a rule, so LXC \
                 fails to load this profile; sysgate ANDs the conditions",
                c.arg()
            ));
        }
        let narrow: Vec<&str> = filter_arches(self.target.arch)
            .into_iter()
            .filter(|a| !a.args_are_64bit() || *a == Arch::X32)
            .map(|a| a.name())
            .collect();
        let wide = conds.iter().find(|c| {
            let mask = match c.op() {
                CmpOp::MaskedEq(m) => m,
                _ => 0,
            };
            (c.value() | mask) > u64::from(u32::MAX)
        });
        if refuses && !conds.is_empty() && narrow.contains(&Arch::X32.name()) {
            self.warnings.push(format!(
                "{origin}: on x32 libseccomp compares only the low 32 bits of an argument, \
                 sysgate all 64: this rule does not refuse an x32 call whose argument has high \
                 bits set, where libseccomp's filter refuses it"
            ));
        }
        if let (Some(c), false) = (wide, narrow.is_empty()) {
            self.warnings.push(format!(
                "{origin}: a{} is compared with a constant or mask above 32 bits ({c}); on {} \
                 libseccomp compares only the low 32 bits, sysgate the whole value, so this \
                 rule matches differently there",
                c.arg(),
                narrow.join(", ")
            ));
        }
    }

    /// An action from its words (`None` if there are none): `kill`, `allow`, `trap`,
    /// `notify`, `errno N`.
    fn action(
        &self,
        words: &[(&str, usize)],
        line_no: usize,
        header: bool,
    ) -> Result<Option<Action>, LxcError> {
        const EXPECTED: &str = "expected an action: kill, errno N, allow, trap or notify";
        let Some(&(word, col)) = words.first() else {
            return Ok(None);
        };
        let (action, used) = match word {
            "kill" => (Action::KillThread, 1),
            "allow" => (Action::Allow, 1),
            "trap" => (Action::Trap(0), 1),
            "notify" => (Action::UserNotif, 1),
            "errno" => {
                let Some(&(n, ncol)) = words.get(1) else {
                    return Err(self.invalid(
                        line_no,
                        col,
                        format!("\"errno\" needs a number: expected errno N with N from 0 to {MAX_ERRNO}"),
                    ));
                };
                let e = n
                    .parse::<u16>()
                    .ok()
                    .filter(|e| *e <= MAX_ERRNO)
                    .ok_or_else(|| {
                        self.invalid(
                            line_no,
                            ncol,
                            format!("invalid errno {n:?}: expected a number from 0 to {MAX_ERRNO}"),
                        )
                    })?;
                (Action::Errno(e), 2)
            }
            other => {
                let what = if header { "default action" } else { "action" };
                return Err(self.invalid(
                    line_no,
                    col,
                    format!("unknown {what} {other:?}: {EXPECTED}"),
                ));
            }
        };
        if let Some(&(extra, col)) = words.get(used) {
            return Err(self.invalid(
                line_no,
                col,
                format!("unexpected {extra:?} after the action: expected argument conditions such as [0,1,==] or the end of the line"),
            ));
        }
        Ok(Some(action))
    }

    /// `[idx,value,op(,mask)]` groups. `words` start at the first `[`.
    fn conditions(
        &mut self,
        body: &str,
        words: &[(&str, usize)],
        line_no: usize,
    ) -> Result<Vec<ArgCond>, LxcError> {
        let Some(&(_, first_col)) = words.first() else {
            return Ok(Vec::new());
        };
        // Work on the rest of the line from the first '[' (conditions may contain spaces).
        let start = body
            .char_indices()
            .nth(first_col - 1)
            .map_or(body.len(), |(i, _)| i);
        let rest = &body[start..];
        let mut conds = Vec::new();
        let mut col = first_col;
        let mut chars = rest;
        loop {
            let trimmed = chars.trim_start();
            col += chars.chars().count() - trimmed.chars().count();
            chars = trimmed;
            if chars.is_empty() {
                break;
            }
            if !chars.starts_with('[') {
                return Err(self.invalid(
                    line_no,
                    col,
                    "expected an argument condition such as [0,1,==] or the end of the line",
                ));
            }
            let Some(end) = chars.find(']') else {
                return Err(self.invalid(
                    line_no,
                    col,
                    "argument condition without ']': expected [idx,value,op] or [idx,value,op,mask]",
                ));
            };
            let inner = &chars[1..end];
            conds.push(self.condition(inner, line_no, col)?);
            if conds.len() > MAX_CONDS {
                return Err(self.invalid(
                    line_no,
                    col,
                    format!(
                        "more than {MAX_CONDS} argument conditions: LXC reads at most {MAX_CONDS}"
                    ),
                ));
            }
            col += chars[..=end].chars().count();
            chars = &chars[end + 1..];
        }
        Ok(conds)
    }

    /// `idx,value,op(,mask)`, which starts (with its `[`) at column `col`.
    fn condition(&mut self, inner: &str, line_no: usize, col: usize) -> Result<ArgCond, LxcError> {
        const SHAPE: &str = "expected [idx,value,op] or [idx,value,op,mask]";
        let parts: Vec<&str> = inner.split(',').collect();
        if parts.len() != 3 && parts.len() != 4 {
            return Err(self.invalid(
                line_no,
                col,
                format!(
                    "argument condition [{inner}] has {} fields: {SHAPE}",
                    parts.len()
                ),
            ));
        }
        let field_col = |k: usize| {
            col + 1
                + parts[..k]
                    .iter()
                    .map(|p| p.chars().count() + 1)
                    .sum::<usize>()
        };
        let idx = parse_c_number(parts[0].trim())
            .filter(|i| *i <= 5)
            .ok_or_else(|| {
                self.invalid(
                    line_no,
                    field_col(0),
                    format!(
                        "invalid argument index {:?}: expected 0 to 5",
                        parts[0].trim()
                    ),
                )
            })?;
        let value = parse_c_number(parts[1].trim()).ok_or_else(|| {
            self.invalid(
                line_no,
                field_col(1),
                format!(
                    "invalid value {:?}: expected an unsigned 64-bit number (decimal, 0x hex or 0 octal)",
                    parts[1].trim()
                ),
            )
        })?;
        let mask = match parts.get(3) {
            Some(m) => parse_c_number(m.trim()).ok_or_else(|| {
                self.invalid(
                    line_no,
                    field_col(3),
                    format!(
                        "invalid mask {:?}: expected an unsigned 64-bit number",
                        m.trim()
                    ),
                )
            })?,
            None => 0,
        };
        let op = match parts[2].trim() {
            "SCMP_CMP_NE" | "!=" => CmpOp::Ne,
            "SCMP_CMP_LT" | "<" => CmpOp::Lt,
            "SCMP_CMP_LE" | "<=" => CmpOp::Le,
            "SCMP_CMP_EQ" | "==" => CmpOp::Eq,
            "SCMP_CMP_GE" | ">=" => CmpOp::Ge,
            "SCMP_CMP_GT" | ">" => CmpOp::Gt,
            // LXC: [idx, value, &=, mask] means (arg & mask) == value, with the value masked
            // too, as libseccomp does.
            "SCMP_CMP_MASKED_EQ" | "&=" => {
                let (cond, dropped) =
                    ArgCond::masked_eq_like_libseccomp(idx as u32, mask, value)
                        .expect("index checked above");
                if dropped != 0 {
                    self.warnings.push(format!(
                        "{}: {}",
                        self.at(line_no, col),
                        super::docker::masked_eq_warning(idx as u32, mask, value)
                    ));
                }
                return Ok(cond);
            }
            other => {
                return Err(self.invalid(
                    line_no,
                    field_col(2),
                    format!(
                        "unknown operator {other:?}: expected SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, \
                         SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ or !=, <, <=, ==, >=, >, &="
                    ),
                ))
            }
        };
        Ok(ArgCond::new(idx as u32, op, value).expect("index checked above"))
    }
}

/// A number as C's `strtoull(s, 0)` reads it: decimal, `0x` hex or `0` octal, the whole text.
fn parse_c_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.
// ---------------------------------------------------------------------------------------------

/// LXC's spelling of an action it has; the closest more restrictive one otherwise, and why.
fn lxc_action(action: Action, numbering: Numbering) -> (String, Option<String>) {
    match action {
        // LXC takes numbers only: the name's number on the host the file is for.
        Action::NamedErrno(e) => (format!("errno {}", e.number_in(numbering)), None),
        Action::Allow => ("allow".into(), None),
        Action::KillThread => ("kill".into(), None),
        Action::Trap(0) => ("trap".into(), None),
        Action::Errno(e) => (format!("errno {e}"), None),
        Action::UserNotif => ("notify".into(), None),
        Action::Trap(d) => (
            "trap".into(),
            Some(format!("LXC's trap carries no data; TRAP({d}) is written as trap (TRAP(0))")),
        ),
        Action::KillProcess => (
            "kill".into(),
            Some("LXC has no KILL_PROCESS; written as kill (KILL_THREAD), the most restrictive LXC has".into()),
        ),
        Action::Log => (
            "allow".into(),
            Some("LXC has no LOG; written as allow (the call still runs, but is no longer logged)".into()),
        ),
        Action::Trace(d) => (
            format!("errno {EPERM}"),
            Some(format!("LXC has no TRACE; TRACE({d}) is written as errno {EPERM} (more restrictive)")),
        ),
    }
}

/// The general differences between `policy` and anything LXC can say.
fn general_losses(policy: &Policy, arches: &[Arch], losses: &mut Vec<Loss>) {
    if policy.attrs.bad_arch != Action::KillThread {
        losses.push(Loss::general(format!(
            "calls from other architectures get KILL_THREAD under LXC, not {}",
            policy.attrs.bad_arch
        )));
    }
    let mut host = arches.to_vec();
    host.sort();
    if policy.arches() != host {
        let names = |a: &[Arch]| a.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ");
        let extra: Vec<Arch> = host
            .iter()
            .copied()
            .filter(|a| !policy.arches().contains(a))
            .collect();
        let widening = if extra.is_empty() {
            String::new()
        } else {
            format!(
                "; calls from {} get the rules instead of the bad-arch action: MORE PERMISSIVE",
                names(&extra)
            )
        };
        losses.push(Loss::general(format!(
            "LXC's filter covers the host's ABIs ({}), not the policy's ({}){widening}",
            names(&host),
            names(policy.arches())
        )));
    }
    if policy.attrs.enosys_for_unknown_syscalls || !policy.attrs.enosys_above.is_empty() {
        losses.push(Loss::general(format!(
            "LXC has no ENOSYS for syscalls newer than the table or the profile: they get the \
             default, {}",
            policy.default_action()
        )));
    }
    let f = policy.attrs.flags;
    if f.tsync || f.log || f.spec_allow || f.tsync_esrch || f.wait_killable_recv {
        losses.push(Loss::general(
            "LXC sets no seccomp flags (TSYNC, LOG, SPEC_ALLOW, ...); they are dropped",
        ));
    }
}

/// The main architecture of a policy: the one whose LXC host covers most of its ABIs.
fn main_arch(policy: &Policy) -> Option<Arch> {
    policy.arches().iter().copied().max_by_key(|a| {
        let covered = filter_arches(*a);
        (
            policy
                .arches()
                .iter()
                .filter(|x| covered.contains(x))
                .count(),
            a.word_bits(),
        )
    })
}

/// Which LXC file version to write.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum LxcVersion {
    /// Version 1: an allow list of syscall numbers.
    V1,
    /// Version 2: named rules with actions and argument conditions.
    #[default]
    V2,
}

/// How to write an LXC file: its version. The default is version 2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// The file version.
    pub version: LxcVersion,
}

impl WriteOptions {
    /// Options that write `version`.
    pub fn version(version: LxcVersion) -> WriteOptions {
        WriteOptions { version }
    }
}

/// `policy` as an LXC file: version 2 with every rule under `[all]`, or a version 1 allow
/// list of the main architecture's numbers (every syscall the policy allows there without
/// conditions; everything else is killed). LXC has no place for a notification `listener`:
/// it is not written (the caller says so).
///
/// ```
/// use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
/// use sysgate::profile::lxc::{self, LxcVersion, WriteOptions};
/// use sysgate::Arch;
///
/// let mut policy = Policy::new(Action::Allow);
/// policy.set_arches([Arch::Riscv64])?;
/// policy.attrs.bad_arch = Action::KillThread;
/// let a1 = ArgCond::new(1, CmpOp::MaskedEq(1), 1)?;
/// policy.add_rule(Rule::new(Action::Errno(13), "umount2").with_cond(a1))?;
/// let written = lxc::write(&policy, None, &WriteOptions::default());
/// assert_eq!(written.text, "2\ndenylist allow\n[all]\numount2 errno 13 [1,1,&=,1]\n");
/// assert!(written.losses.is_empty());
///
/// let mut policy = Policy::new(Action::KillThread);
/// policy.set_arches([Arch::X86_64])?;
/// policy.attrs.bad_arch = Action::KillThread;
/// policy.add_rule(Rule::new(Action::Allow, "write"))?;
/// let v1 = WriteOptions::version(LxcVersion::V1);
/// assert_eq!(lxc::write(&policy, None, &v1).text, "1\nallowlist\n1\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write(policy: &Policy, _listener: Option<&Listener>, options: &WriteOptions) -> Written {
    // Every rule is written for every architecture (v2's `[all]`, v1's one list).
    let section = match options.version {
        LxcVersion::V1 => "LXC version 1 (one list for every architecture)",
        LxcVersion::V2 => "LXC's [all] section",
    };
    let (for_every_arch, losses) = for_every_arch(policy, section);
    let mut written = match options.version {
        LxcVersion::V1 => write_v1(&for_every_arch),
        LxcVersion::V2 => write_v2(&for_every_arch),
    };
    written.losses.splice(0..0, losses);
    written
}

/// Version 2 text for `policy`, every rule under `[all]`.
fn write_v2(policy: &Policy) -> Written {
    let mut losses = Vec::new();
    if let Some(main) = main_arch(policy) {
        general_losses(policy, &filter_arches(main), &mut losses);
    }
    let numbering = main_arch(policy).map_or(Numbering::Generic, Numbering::of);
    let (default, lost) = lxc_action(policy.default_action(), numbering);
    if let Some(why) = lost {
        losses.push(Loss::general(format!("default action: {why}")));
    }
    let kind = if policy.default_action().permits() {
        "denylist"
    } else {
        "allowlist"
    };
    let mut text = format!("2\n{kind} {default}\n[all]\n");
    let mut lines: Vec<String> = Vec::new();
    for rule in policy.rules() {
        let name = match &rule.syscall {
            Syscall::Name(n) => n.clone(),
            Syscall::Number(nr) => match number_name(policy, *nr) {
                Some(n) => n.to_string(),
                None => {
                    losses.push(Loss::about(
                        format!("#{nr}"),
                        "LXC version 2 names syscalls; this number has no single name on the \
                         policy's architectures, so the rule is dropped",
                    ));
                    continue;
                }
            },
        };
        // LXC resolves every name on the host and skips a rule whose name the host lacks
        // (x86's `waitpid` on amd64), for every ABI: the call gets what the rest decides.
        if let Some(main) = main_arch(policy).filter(|m| m.syscall_number(&name).is_none()) {
            let direction = if widens(rule.action, policy.default_action()) {
                "MORE PERMISSIVE"
            } else {
                "more restrictive"
            };
            losses.push(Loss::about(
                name.clone(),
                format!(
                    "LXC resolves syscall names on the host ({}), which has no such call, and \
                     skips the rule for every ABI: the call gets the default, {}: {direction}",
                    main.name(),
                    policy.default_action()
                ),
            ));
            continue;
        }
        let (action, lost) = lxc_action(rule.action, numbering);
        if let Some(why) = lost {
            losses.push(Loss::about(name.clone(), why));
        }
        let mut line = format!("{name} {action}");
        for c in &rule.conds {
            let (op, value, mask) = match c.op() {
                CmpOp::Ne => ("!=", c.value(), None),
                CmpOp::Lt => ("<", c.value(), None),
                CmpOp::Le => ("<=", c.value(), None),
                CmpOp::Eq => ("==", c.value(), None),
                CmpOp::Ge => (">=", c.value(), None),
                CmpOp::Gt => (">", c.value(), None),
                CmpOp::MaskedEq(m) => ("&=", c.value(), Some(m)),
            };
            let _ = write!(line, " [{},{},{op}", c.arg(), number(value));
            if let Some(m) = mask {
                let _ = write!(line, ",{}", number(m));
            }
            line.push(']');
        }
        lines.push(line);
    }
    lines.sort();
    lines.dedup();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    losses.sort();
    losses.dedup();
    Written { text, losses }
}

/// Decimal for small numbers, hex for large ones (masks, flags).
fn number(v: u64) -> String {
    if v < 4096 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// The name number `nr` has on every architecture of `policy` that has it, if that is one name.
fn number_name(policy: &Policy, nr: u32) -> Option<&'static str> {
    let mut names = policy.arches().iter().filter_map(|a| a.syscall_name(nr));
    let first = names.next()?;
    names.all(|n| n == first).then_some(first)
}

/// A version 1 allow list of `policy`'s main architecture's numbers: every syscall the policy
/// allows there without conditions; everything else is killed.
fn write_v1(policy: &Policy) -> Written {
    let mut losses = Vec::new();
    let Some(main) = main_arch(policy) else {
        return Written {
            text: "1\nallowlist\n".into(),
            losses: vec![Loss::general("the policy has no architectures")],
        };
    };
    general_losses(policy, &[main], &mut losses);
    let (plain, lost) = without_conditions(policy, "LXC version 1");
    losses.extend(lost);
    if policy.default_action() != Action::KillThread {
        losses.push(Loss::general(format!(
            "version 1 kills every call it does not allow; the policy's default is {}",
            policy.default_action()
        )));
    }
    let mut allowed: BTreeMap<u32, &str> = BTreeMap::new();
    for (name, nr) in main.table().iter() {
        let d = plain.decide(main, nr, &[0; 6]).action;
        match d {
            Action::Allow => {
                allowed.insert(nr, name);
            }
            Action::Log => {
                allowed.insert(nr, name);
                losses.push(Loss::about(
                    name,
                    "version 1 has no LOG; allowed without logging",
                ));
            }
            Action::KillThread => {}
            other if other != policy.default_action() => losses.push(Loss::about(
                name,
                format!("version 1 has only allow and kill; {other} becomes kill (KILL_THREAD)"),
            )),
            _ => {}
        }
    }
    let mut text = String::from("1\nallowlist\n");
    for nr in allowed.keys() {
        let _ = writeln!(text, "{nr}");
    }
    losses.sort();
    losses.dedup();
    Written { text, losses }
}

#[cfg(test)]
mod tests;
