//! Lint: where a policy can be walked around, what it grants that needs a capability, where
//! its architectures disagree, and which of its rules do nothing.
//!
//! This module owns the checks ([`CHECKS`]) and the [`Finding`]s they report; it works on a
//! [`Policy`] from any format plus where the reader found its default ([`Context`]), so it
//! knows nothing of file formats. It does not own what a call's outcome is: every "allowed"
//! and "refused" here is the reference evaluator's answer ([`Policy::decide`]) for calls made
//! to match the rules, so argument conditions, multiplexers (`socketcall`, `ipc`), runc's
//! ENOSYS rule and the bad-arch action count exactly as they do when the filter runs.
//!
//! - `escape` (in `escape.rs`): a refused call with an allowed equivalent, io_uring, tracing,
//!   pointers compared as values, user notification deciding security;
//! - `grants` (in `grants.rs`): calls that otherwise need a capability, judged against the
//!   target's capabilities;
//! - `arches` (in `arches.rs`): compat ABIs with fewer rules than the native one, and
//!   ABIs left out of the policy that an allowed `execve` could reach;
//! - `dead` (in `dead.rs`): rules that never match or never decide, rules that say what the
//!   default says, deny lists.
//!
//! The tables the checks use (pointer arguments, dangerous grants) are in `tables.rs`, the
//! equivalent calls in [`crate::profile::portable`]; docs/lint.md lists every check with its
//! sources.
//!
//! ```
//! use sysgate::lint::{lint, Context, Severity};
//! use sysgate::policy::{Action, Policy, Rule};
//! use sysgate::Arch;
//!
//! let mut policy = Policy::new(Action::Errno(1));
//! policy.set_arches([Arch::X86_64])?;
//! policy.add_rule(Rule::new(Action::Allow, "openat"))?;
//! policy.add_rule(Rule::new(Action::KillProcess, "open").with_origin("p.json:9:5"))?;
//! let findings = lint(&policy, &Context::default());
//! let f = findings.iter().find(|f| f.id == "equivalent-allowed").unwrap();
//! assert_eq!(f.severity, Severity::High);
//! assert_eq!(f.at, "p.json:9:5");
//! # Ok::<(), sysgate::policy::PolicyError>(())
//! ```

mod arches;
mod dead;
mod escape;
mod grants;
mod tables;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;

use crate::arch::Arch;
use crate::policy::{conds_witness, Action, DecidedBy, Decision, Errno, Policy, Syscall};
use tables::Probe;

/// How much a finding matters. Ordered: `Info < Low < Medium < High`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix (a grant the target's capabilities cover).
    Info,
    /// Dead weight or a likely mistake; the filter is no weaker for it.
    Low,
    /// The filter is weaker than it looks.
    Medium,
    /// The filter can be walked around.
    High,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
    ];

    /// Its name: `info`, `low`, `medium`, `high`.
    ///
    /// ```
    /// use sysgate::lint::Severity;
    ///
    /// assert_eq!(Severity::Medium.name(), "medium");
    /// assert_eq!("high".parse::<Severity>(), Ok(Severity::High));
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A severity name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected info, low, medium or high")]
pub struct UnknownSeverity(pub String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}

/// One check: its stable id, the severity it reports at, and what it looks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The stable id (`equivalent-allowed`), printed with every finding.
    pub id: &'static str,
    /// The severity its findings have (a grant the target's capabilities cover is `info`).
    pub severity: Severity,
    /// What it looks for, in one line.
    pub summary: &'static str,
}

/// Every check, in the order docs/lint.md lists them.
pub const CHECKS: &[Check] = &[
    Check {
        id: "equivalent-allowed",
        severity: Severity::High,
        summary:
            "a refused call has an allowed equivalent (openat for open, socketcall for socket)",
    },
    Check {
        id: "io-uring-allowed",
        severity: Severity::High,
        summary: "io_uring is allowed: its operations never pass the filter",
    },
    Check {
        id: "tracing-allowed",
        severity: Severity::Medium,
        summary: "ptrace or process_vm_writev is allowed: checked memory can be changed",
    },
    Check {
        id: "pointer-compared",
        severity: Severity::Medium,
        summary: "a condition compares a pointer argument, not what it points to",
    },
    Check {
        id: "notify-decides",
        severity: Severity::Medium,
        summary: "user notification decides calls: the supervisor reads memory after the check",
    },
    Check {
        id: "grant-bpf",
        severity: Severity::High,
        summary: "bpf is allowed",
    },
    Check {
        id: "grant-perf",
        severity: Severity::Medium,
        summary: "perf_event_open is allowed",
    },
    Check {
        id: "grant-userfaultfd",
        severity: Severity::Medium,
        summary: "userfaultfd is allowed",
    },
    Check {
        id: "grant-keyring",
        severity: Severity::Medium,
        summary: "keyctl, add_key or request_key is allowed",
    },
    Check {
        id: "grant-kexec",
        severity: Severity::High,
        summary: "kexec_load or kexec_file_load is allowed",
    },
    Check {
        id: "grant-module",
        severity: Severity::High,
        summary: "init_module, finit_module or delete_module is allowed",
    },
    Check {
        id: "grant-mount",
        severity: Severity::High,
        summary: "mount, umount2, pivot_root or the new mount API is allowed",
    },
    Check {
        id: "grant-open-by-handle",
        severity: Severity::High,
        summary: "open_by_handle_at is allowed",
    },
    Check {
        id: "grant-namespace",
        severity: Severity::High,
        summary: "unshare, setns, clone with namespace flags or clone3 is allowed",
    },
    Check {
        id: "personality-unchecked",
        severity: Severity::Medium,
        summary: "personality is allowed with flags such as READ_IMPLIES_EXEC",
    },
    Check {
        id: "ioctl-tiocsti",
        severity: Severity::Medium,
        summary: "ioctl is allowed with TIOCSTI (typing into the terminal)",
    },
    Check {
        id: "compat-abi-gap",
        severity: Severity::High,
        summary: "a compat ABI (i386, x32, arm) allows a call the native ABI refuses",
    },
    Check {
        id: "bad-arch-permits",
        severity: Severity::High,
        summary: "calls from ABIs left out of the policy are allowed",
    },
    Check {
        id: "never-matches",
        severity: Severity::Low,
        summary: "a rule names a syscall no ABI of the policy has, or conditions that cannot hold",
    },
    Check {
        id: "shadowed",
        severity: Severity::Low,
        summary: "a more restrictive rule matches every call this rule matches",
    },
    Check {
        id: "same-as-default",
        severity: Severity::Low,
        summary: "a rule's action is the default action and nothing it overrides",
    },
    Check {
        id: "deny-list",
        severity: Severity::Medium,
        summary: "the default action allows: everything not listed runs, new syscalls too",
    },
];

/// The check with this id.
///
/// ```
/// use sysgate::lint::{check, Severity};
///
/// assert_eq!(check("grant-bpf").unwrap().severity, Severity::High);
/// assert!(check("no-such-check").is_none());
/// ```
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// What the linter needs beside the policy.
///
/// ```
/// use sysgate::lint::Context;
///
/// let c = Context::default().with_default_origin("p.json:2:3");
/// assert_eq!(c.default_origin.as_deref(), Some("p.json:2:3"));
/// assert!(c.caps.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Where the default action is set (`file:line:column`; a profile reader's
    /// [`Loaded::default_origin`](crate::profile::Loaded::default_origin)).
    pub default_origin: Option<String>,
    /// The capabilities the target holds (`CAP_SYS_ADMIN`, ...): a grant they cover is only
    /// `info`.
    pub caps: BTreeSet<String>,
}

impl Context {
    /// Set where the default action is set.
    pub fn with_default_origin(mut self, origin: impl Into<String>) -> Context {
        self.default_origin = Some(origin.into());
        self
    }

    /// Set the target's capabilities (spelled `CAP_*`).
    pub fn with_caps(mut self, caps: impl IntoIterator<Item = String>) -> Context {
        self.caps = caps.into_iter().collect();
        self
    }
}

/// One thing the linter found.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// The check's stable id (see [`CHECKS`]).
    pub id: &'static str,
    /// The rule or default it concerns: `file:line:column` where the reader recorded it,
    /// otherwise a description (`rule #3`, `the default action`).
    pub at: String,
    /// What was found, naming the syscalls and architectures.
    pub message: String,
    /// Why it matters.
    pub why: String,
    /// What to do about it.
    pub fix: String,
}

/// Lint `policy`: every check of [`CHECKS`], most severe findings first (then by check and
/// place).
pub fn lint(policy: &Policy, context: &Context) -> Vec<Finding> {
    let l = Lint::new(policy, context);
    let mut out = Vec::new();
    escape::check(&l, &mut out);
    grants::check(&l, &mut out);
    arches::check(&l, &mut out);
    dead::check(&l, &mut out);
    let order = |id: &str| CHECKS.iter().position(|c| c.id == id).unwrap_or(usize::MAX);
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| order(a.id).cmp(&order(b.id)))
            .then_with(|| place_key(&a.at).cmp(&place_key(&b.at)))
            .then_with(|| a.message.cmp(&b.message))
    });
    out.dedup();
    out
}

/// `file:line:column` ordered by file, then line and column as numbers (`p:9:1` before
/// `p:10:1`); any other place by its text.
fn place_key(at: &str) -> (&str, usize, usize) {
    let mut parts = at.rsplitn(3, ':');
    let (col, line, file) = (parts.next(), parts.next(), parts.next());
    match (
        file,
        line.and_then(|l| l.parse().ok()),
        col.and_then(|c| c.parse().ok()),
    ) {
        (Some(file), Some(line), Some(col)) => (file, line, col),
        _ => (at, 0, 0),
    }
}

/// One way of making a call on one ABI: its own number, or a multiplexer's with the call
/// number as the first argument.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Way {
    arch: Arch,
    nr: u32,
    /// The multiplexer's call number (`SYS_SOCKET`), for the multiplexed path.
    call: Option<u32>,
}

/// What the evaluator makes of every sampled call of a [`Way`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Verdict {
    /// Some call runs (ALLOW or LOG); the decision that lets it.
    Allowed(Decision),
    /// Every call is refused (killed, trapped, or failed with an errno other than ENOSYS).
    Refused(Decision),
    /// Neither: ENOSYS (a "does not exist" that makes libc fall back), a tracer or a
    /// supervisor decides, or the outcomes differ without any call running.
    Other,
}

/// A policy being linted, with its rules indexed by the number they target on each ABI.
struct Lint<'a> {
    policy: &'a Policy,
    context: &'a Context,
    by_nr: HashMap<(Arch, u32), Vec<usize>>,
    /// Per (ABI, multiplexer number): the rules naming a call it carries.
    by_mux: HashMap<(Arch, u32), Vec<usize>>,
    /// Per (ABI, number): a policy holding only the rules that can decide that number, and
    /// their indexes in the whole policy (see [`Lint::decide`]).
    narrowed: RefCell<HashMap<(Arch, u32), Rc<Narrowed>>>,
}

/// A policy of some of another's rules, and their indexes there.
type Narrowed = (Policy, Vec<usize>);

impl<'a> Lint<'a> {
    fn new(policy: &'a Policy, context: &'a Context) -> Lint<'a> {
        let mut by_nr: HashMap<(Arch, u32), Vec<usize>> = HashMap::new();
        let mut by_mux: HashMap<(Arch, u32), Vec<usize>> = HashMap::new();
        for &arch in policy.arches() {
            for (i, rule) in policy.rules().iter().enumerate() {
                if let Some(nr) = policy.rule_targets(rule, arch) {
                    by_nr.entry((arch, nr)).or_default().push(i);
                }
                if let Syscall::Name(name) = &rule.syscall {
                    if let Some(m) = arch.multiplexed(name) {
                        by_mux.entry((arch, m.syscall)).or_default().push(i);
                    }
                }
            }
        }
        Lint {
            policy,
            context,
            by_nr,
            by_mux,
            narrowed: RefCell::new(HashMap::new()),
        }
    }

    /// The reference evaluator's decision, [`Policy::decide`] exactly, asked of a policy that
    /// holds only the rules that can decide `nr` on `arch` (those that target it, and for a
    /// multiplexer those naming a call it carries) with the same default, ABIs and attributes.
    /// Asking the whole policy costs time linear in its rules for every call; the linter asks
    /// about thousands of calls.
    fn decide(&self, arch: Arch, nr: u32, args: &[u64; 6]) -> Decision {
        let narrowed = self
            .narrowed
            .borrow_mut()
            .entry((arch, nr))
            .or_insert_with(|| {
                let mut index: Vec<usize> = self.rules_on(arch, nr).to_vec();
                index.extend(self.by_mux.get(&(arch, nr)).into_iter().flatten());
                index.sort_unstable();
                index.dedup();
                let mut p = Policy::new(self.policy.default_action());
                // The ABIs come from a valid policy, so they share a byte order.
                let _ = p.set_arches(self.policy.arches().iter().copied());
                p.attrs = self.policy.attrs.clone();
                for &i in &index {
                    // The rule is valid: it is in a valid policy.
                    let _ = p.add_rule(self.policy.rules()[i].clone());
                }
                Rc::new((p, index))
            })
            .clone();
        let (p, index) = &*narrowed;
        let mut d = p.decide(arch, nr, args);
        if let DecidedBy::Rule(j) = d.by {
            d.by = DecidedBy::Rule(index[j]);
        }
        d
    }

    /// The rules that target `nr` on `arch` directly.
    fn rules_on(&self, arch: Arch, nr: u32) -> &[usize] {
        self.by_nr.get(&(arch, nr)).map_or(&[], Vec::as_slice)
    }

    /// The ways `name` can be called on `arch`: directly, and through a multiplexer.
    fn ways(&self, arch: Arch, name: &str) -> Vec<(String, Way)> {
        let mut ways = Vec::new();
        if let Some(nr) = arch.syscall_number(name) {
            ways.push((
                name.to_string(),
                Way {
                    arch,
                    nr,
                    call: None,
                },
            ));
        }
        if let Some(m) = arch.multiplexed(name) {
            let mux = arch.syscall_name(m.syscall).unwrap_or("multiplexer");
            ways.push((
                format!("{mux}({}) for {name}", m.call),
                Way {
                    arch,
                    nr: m.syscall,
                    call: Some(m.call),
                },
            ));
        }
        ways
    }

    /// Calls that exercise every rule on the way's number: all-zero arguments, and for each
    /// rule, arguments that satisfy its conditions (the multiplexer's call number stays the
    /// first argument).
    fn samples(&self, way: Way) -> Vec<[u64; 6]> {
        let mut base = [0u64; 6];
        if let Some(call) = way.call {
            base[0] = u64::from(call);
        }
        let mut out = vec![base];
        let mut seen: std::collections::HashSet<[u64; 6]> = [base].into_iter().collect();
        let wide = way.arch.args_are_64bit();
        for &i in self.rules_on(way.arch, way.nr) {
            if let Some(mut args) = conds_witness(&self.policy.rules()[i].conds, wide) {
                if let Some(call) = way.call {
                    args[0] = u64::from(call);
                }
                if seen.insert(args) {
                    out.push(args);
                }
            }
        }
        out
    }

    /// The evaluator's verdict on the way's sampled calls, plus `extra` ones.
    fn verdict_with(&self, way: Way, extra: &[[u64; 6]]) -> Verdict {
        let decisions: Vec<Decision> = self
            .samples(way)
            .iter()
            .chain(extra)
            .map(|args| self.decide(way.arch, way.nr, args))
            .collect();
        if let Some(d) = decisions.iter().find(|d| d.action.permits()) {
            return Verdict::Allowed(*d);
        }
        if decisions.iter().all(|d| refuses(d.action, way.arch)) {
            return Verdict::Refused(decisions[0]);
        }
        Verdict::Other
    }

    fn verdict(&self, way: Way) -> Verdict {
        self.verdict_with(way, &[])
    }

    /// Where what decided a call is written: the rule's origin, or the default's.
    fn place(&self, d: &Decision) -> String {
        match d.by {
            DecidedBy::Rule(i) => self.rule_place(i),
            _ => self.default_place(),
        }
    }

    fn rule_place(&self, i: usize) -> String {
        self.policy.rules()[i]
            .origin
            .clone()
            .unwrap_or_else(|| format!("rule #{i}"))
    }

    fn default_place(&self) -> String {
        self.context
            .default_origin
            .clone()
            .unwrap_or_else(|| "the default action".to_string())
    }
}

/// Whether `action` refuses a call for good: kills, traps or fails it with an errno other
/// than ENOSYS (which says "no such call", so that libc falls back to an older one).
fn refuses(action: Action, arch: Arch) -> bool {
    match action {
        Action::KillProcess | Action::KillThread | Action::Trap(_) => true,
        Action::Errno(_) | Action::NamedErrno(_) => {
            action.for_arch(arch) != Action::NamedErrno(Errno::ENOSYS).for_arch(arch)
        }
        Action::UserNotif | Action::Trace(_) | Action::Log | Action::Allow => false,
    }
}

/// `a, b and c`.
fn list<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `on x86_64, x86 and x32` (the policy's order).
fn on_arches(arches: &BTreeSet<Arch>) -> String {
    format!("on {}", list(arches.iter().map(|a| a.name())))
}

#[cfg(test)]
mod tests;

/// Strings in first-seen order, each once; linear in what is pushed (a large profile
/// repeats places and names thousands of times).
#[derive(Clone, Debug, Default)]
struct Unique {
    items: Vec<String>,
    seen: std::collections::HashSet<String>,
}

impl Unique {
    fn push(&mut self, item: impl Into<String>) {
        let item = item.into();
        if self.seen.insert(item.clone()) {
            self.items.push(item);
        }
    }
}

/// Calls grouped by the place that decides them: the names (in first-seen order) and the
/// ABIs.
#[derive(Clone, Debug, Default)]
struct Group {
    names: Vec<String>,
    arches: BTreeSet<Arch>,
}

impl Group {
    fn add(&mut self, name: &str, arch: Arch) {
        if !self.names.iter().any(|n| n == name) {
            self.names.push(name.to_string());
        }
        self.arches.insert(arch);
    }
}

impl Lint<'_> {
    /// Where each of `names` is allowed: per allowing place, the names and ABIs. A name with
    /// [`Probe::Args`] is probed with those calls only (its dangerous arguments); one with
    /// [`Probe::AnyCall`] with the sampled calls of every way it can be made.
    fn allowed_calls(&self, names: &[(&str, Probe)]) -> std::collections::BTreeMap<String, Group> {
        let mut out: std::collections::BTreeMap<String, Group> = Default::default();
        for &arch in self.policy.arches() {
            for &(name, args) in names {
                let verdicts: Vec<Verdict> = match args {
                    Probe::Args(args) => {
                        let Some(nr) = arch.syscall_number(name) else {
                            continue;
                        };
                        args(arch)
                            .iter()
                            .map(|a| self.decide(arch, nr, a))
                            .filter(|d| d.action.permits())
                            .map(Verdict::Allowed)
                            .take(1)
                            .collect()
                    }
                    Probe::AnyCall => self
                        .ways(arch, name)
                        .into_iter()
                        .map(|(_, way)| self.verdict(way))
                        .collect(),
                };
                for v in verdicts {
                    if let Verdict::Allowed(d) = v {
                        out.entry(self.place(&d)).or_default().add(name, arch);
                    }
                }
            }
        }
        out
    }
}
