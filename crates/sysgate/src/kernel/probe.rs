//! What the running kernel's seccomp supports, found out without installing anything.
//!
//! [`Features::probe`] asks the kernel directly: `SECCOMP_GET_ACTION_AVAIL` for each
//! action, `seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL)` for each filter flag (the kernel
//! checks flags before it reads the program, so EFAULT means "known" and EINVAL
//! "unknown"), `SECCOMP_GET_NOTIF_SIZES`, `/proc/sys/kernel/seccomp/actions_avail` and the
//! kernel release. [`Features::for_kernel`] describes a kernel you are not running on, from
//! the release each feature appeared in, so that a policy can be adapted for an embedded
//! target ([`super::compat`]).
//!
//! This file only observes. Deciding what to do about a missing feature is
//! [`super::compat`]'s job.

use std::collections::BTreeSet;
use std::fmt;

use super::notify::NotifSizes;
use super::sys::{self, Errno};
use crate::bpf::FilterFlag;
use crate::policy::{ret, Action};

/// An action without its data, as the kernel knows it.
///
/// ```
/// use sysgate::kernel::ActionKind;
/// use sysgate::policy::Action;
///
/// assert_eq!(ActionKind::of(Action::Errno(1)), ActionKind::Errno);
/// assert_eq!(ActionKind::UserNotif.name(), "user_notif");
/// assert_eq!(ActionKind::Log.since(), (4, 14));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    /// `SECCOMP_RET_KILL_PROCESS`.
    KillProcess,
    /// `SECCOMP_RET_KILL_THREAD`.
    KillThread,
    /// `SECCOMP_RET_TRAP`.
    Trap,
    /// `SECCOMP_RET_ERRNO`.
    Errno,
    /// `SECCOMP_RET_USER_NOTIF`.
    UserNotif,
    /// `SECCOMP_RET_TRACE`.
    Trace,
    /// `SECCOMP_RET_LOG`.
    Log,
    /// `SECCOMP_RET_ALLOW`.
    Allow,
}

impl ActionKind {
    /// Every action, most restrictive first.
    pub const ALL: [ActionKind; 8] = [
        ActionKind::KillProcess,
        ActionKind::KillThread,
        ActionKind::Trap,
        ActionKind::Errno,
        ActionKind::UserNotif,
        ActionKind::Trace,
        ActionKind::Log,
        ActionKind::Allow,
    ];

    /// The kind of an action.
    pub const fn of(action: Action) -> ActionKind {
        match action {
            Action::KillProcess => ActionKind::KillProcess,
            Action::KillThread => ActionKind::KillThread,
            Action::Trap(_) => ActionKind::Trap,
            Action::Errno(_) | Action::NamedErrno(_) => ActionKind::Errno,
            Action::UserNotif => ActionKind::UserNotif,
            Action::Trace(_) => ActionKind::Trace,
            Action::Log => ActionKind::Log,
            Action::Allow => ActionKind::Allow,
        }
    }

    /// The return value without data (`SECCOMP_RET_*`).
    pub const fn ret(self) -> u32 {
        match self {
            ActionKind::KillProcess => ret::KILL_PROCESS,
            ActionKind::KillThread => ret::KILL_THREAD,
            ActionKind::Trap => ret::TRAP,
            ActionKind::Errno => ret::ERRNO,
            ActionKind::UserNotif => ret::USER_NOTIF,
            ActionKind::Trace => ret::TRACE,
            ActionKind::Log => ret::LOG,
            ActionKind::Allow => ret::ALLOW,
        }
    }

    /// The name `/proc/sys/kernel/seccomp/actions_avail` uses.
    pub const fn name(self) -> &'static str {
        match self {
            ActionKind::KillProcess => "kill_process",
            ActionKind::KillThread => "kill_thread",
            ActionKind::Trap => "trap",
            ActionKind::Errno => "errno",
            ActionKind::UserNotif => "user_notif",
            ActionKind::Trace => "trace",
            ActionKind::Log => "log",
            ActionKind::Allow => "allow",
        }
    }

    /// The kernel release (major, minor) that introduced the action. Filter mode itself,
    /// with KILL (now KILL_THREAD), TRAP, ERRNO, TRACE and ALLOW, arrived in 3.5.
    pub const fn since(self) -> (u32, u32) {
        match self {
            ActionKind::KillProcess | ActionKind::Log => (4, 14),
            ActionKind::UserNotif => (5, 0),
            _ => (3, 5),
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_uppercase())
    }
}

/// A kernel version, `major.minor.patch`.
///
/// ```
/// use sysgate::kernel::KernelVersion;
///
/// let v = KernelVersion::parse("6.1.0-18-amd64").unwrap();
/// assert_eq!(v, KernelVersion::new(6, 1, 0));
/// assert!(v.at_least(5, 11));
/// assert_eq!(KernelVersion::parse("5.4"), Some(KernelVersion::new(5, 4, 0)));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KernelVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch level (0 if the release has none).
    pub patch: u32,
}

impl KernelVersion {
    /// A version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> KernelVersion {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }

    /// The leading `X.Y[.Z]` of a release string such as `6.1.0-18-amd64`.
    pub fn parse(release: &str) -> Option<KernelVersion> {
        let mut parts = release.split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some(KernelVersion::new(major, minor, patch))
    }

    /// The running kernel's version, from `uname(2)`'s release (what `uname -r` prints);
    /// `None` if it cannot be read.
    ///
    /// ```
    /// use sysgate::kernel::KernelVersion;
    ///
    /// if let Some(v) = KernelVersion::running() {
    ///     println!("kernel {}.{}", v.major, v.minor);
    /// }
    /// ```
    pub fn running() -> Option<KernelVersion> {
        KernelVersion::parse(&sys::kernel_release().ok()?)
    }

    /// Whether this is `major.minor` or later.
    pub const fn at_least(&self, major: u32, minor: u32) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Where a [`Features`] came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FeatureSource {
    /// Asked the running kernel.
    Probed,
    /// Derived from a kernel version ([`Features::for_kernel`]), not observed.
    Assumed(KernelVersion),
}

/// The seccomp state of the probing process, from `/proc/self/status`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcessSeccomp {
    /// `Seccomp:` 0 disabled, 1 strict, 2 filter.
    pub mode: u32,
    /// `Seccomp_filters:` how many filters (Linux 5.9 and later).
    pub filters: Option<u32>,
    /// `NoNewPrivs:` whether `no_new_privs` is set (Linux 4.10 and later).
    pub no_new_privs: Option<bool>,
}

/// What a kernel's seccomp supports.
///
/// ```
/// use sysgate::kernel::{ActionKind, Features, FilterFlag, KernelVersion};
///
/// let features = Features::probe();
/// println!("{features}");
///
/// // An embedded 4.9 kernel: no KILL_PROCESS, LOG or USER_NOTIF, no action cache.
/// let old = Features::for_kernel(KernelVersion::new(4, 9, 0));
/// assert!(!old.has_action(ActionKind::KillProcess));
/// assert!(old.has_flag(FilterFlag::Tsync) && !old.has_flag(FilterFlag::Log));
/// assert!(!old.action_cache);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// Probed or assumed.
    pub source: FeatureSource,
    /// The kernel release string (`uname -r`).
    pub release: String,
    /// The release's version, if it parses.
    pub version: Option<KernelVersion>,
    /// Whether the `seccomp(2)` system call exists (Linux 3.17).
    pub seccomp_syscall: bool,
    /// Whether filter mode exists at all (`CONFIG_SECCOMP_FILTER`, Linux 3.5).
    pub filter_mode: bool,
    /// The actions the kernel accepts in a filter's return value.
    pub actions: BTreeSet<ActionKind>,
    /// The filter flags the kernel knows.
    pub flags: BTreeSet<FilterFlag>,
    /// The notification struct sizes (Linux 5.0), if user notification exists.
    pub notif_sizes: Option<NotifSizes>,
    /// The words of `/proc/sys/kernel/seccomp/actions_avail` (Linux 4.14), if readable.
    pub actions_avail: Option<Vec<String>>,
    /// Whether the kernel caches "always allowed" syscalls per filter and skips running
    /// it for them (Linux 5.11, on architectures with a native seccomp arch).
    pub action_cache: bool,
    /// The probing process's own seccomp state (new filters stack on top of it).
    pub this_process: Option<ProcessSeccomp>,
    /// Anything unexpected the probe met (a filter blocking `seccomp(2)`, ...).
    pub notes: Vec<String>,
}

impl Features {
    /// Ask the running kernel. Installs nothing and changes nothing; a feature the probe
    /// cannot confirm counts as missing, with a note saying why.
    pub fn probe() -> Features {
        let mut notes = Vec::new();
        let release = sys::kernel_release().unwrap_or_else(|e| {
            notes.push(format!("uname failed: {}", std::io::Error::from(e)));
            String::new()
        });
        let version = KernelVersion::parse(&release);

        // seccomp(SECCOMP_SET_MODE_FILTER, 0, NULL): EFAULT if filter mode exists.
        let (seccomp_syscall, mut filter_mode) = match sys::seccomp_probe_filter_flags(0) {
            Err(Errno(libc::EFAULT)) => (true, true),
            Err(Errno(libc::ENOSYS)) => (false, false),
            Err(Errno(libc::EINVAL)) => (true, false),
            other => {
                notes.push(format!(
                    "seccomp(SECCOMP_SET_MODE_FILTER, 0, NULL) answered {}",
                    describe(other)
                ));
                (true, false)
            }
        };
        if !seccomp_syscall {
            // Before 3.17: the prctl tells whether filter mode exists.
            filter_mode = match sys::prctl_probe_filter_mode() {
                Err(Errno(libc::EFAULT)) => true,
                Err(Errno(libc::EINVAL)) => false,
                other => {
                    notes.push(format!(
                        "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL) answered {}",
                        describe(other.map(|()| 0))
                    ));
                    false
                }
            };
        }

        let mut actions = BTreeSet::new();
        if filter_mode {
            for kind in ActionKind::ALL {
                match sys::seccomp_get_action_avail(kind.ret()) {
                    Ok(()) => {
                        actions.insert(kind);
                    }
                    Err(Errno(libc::EOPNOTSUPP)) => {}
                    // No SECCOMP_GET_ACTION_AVAIL (or no seccomp(2)): the kernel is older
                    // than 4.14, which had exactly the 3.5 actions.
                    Err(Errno(libc::EINVAL | libc::ENOSYS)) => {
                        if kind.since() == (3, 5) {
                            actions.insert(kind);
                        }
                    }
                    Err(e) => notes.push(format!(
                        "SECCOMP_GET_ACTION_AVAIL({kind}) answered {}",
                        describe(Err(e))
                    )),
                }
            }
        }

        let mut flags = BTreeSet::new();
        if seccomp_syscall && filter_mode {
            for flag in FilterFlag::ALL {
                // WAIT_KILLABLE_RECV alone is EINVAL even where it is known: it must come
                // with NEW_LISTENER.
                let mut bits = flag.bit();
                if flag == FilterFlag::WaitKillableRecv {
                    bits |= FilterFlag::NewListener.bit();
                }
                match sys::seccomp_probe_filter_flags(bits) {
                    Err(Errno(libc::EFAULT)) => {
                        flags.insert(flag);
                    }
                    Err(Errno(libc::EINVAL)) => {}
                    other => {
                        notes.push(format!("probing flag {flag} answered {}", describe(other)))
                    }
                }
            }
        }

        let notif_sizes = match NotifSizes::query() {
            Ok(s) => Some(s),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => None,
            Err(e) => {
                notes.push(format!("SECCOMP_GET_NOTIF_SIZES failed: {e}"));
                None
            }
        };

        let actions_avail = sys::read_small_proc_file("/proc/sys/kernel/seccomp/actions_avail")
            .ok()
            .map(|s| s.split_whitespace().map(String::from).collect());

        Features {
            source: FeatureSource::Probed,
            release,
            version,
            seccomp_syscall,
            filter_mode,
            actions,
            flags,
            notif_sizes,
            actions_avail,
            action_cache: filter_mode && version.is_some_and(|v| v.at_least(5, 11)),
            this_process: process_seccomp(),
            notes,
        }
    }

    /// What a mainline kernel of `version` supports, from the release each feature
    /// appeared in (distribution kernels may have backports; probe when you can).
    pub fn for_kernel(version: KernelVersion) -> Features {
        let has = |(major, minor): (u32, u32)| version.at_least(major, minor);
        let filter_mode = has((3, 5));
        let seccomp_syscall = has((3, 17));
        Features {
            source: FeatureSource::Assumed(version),
            release: version.to_string(),
            version: Some(version),
            seccomp_syscall,
            filter_mode,
            actions: ActionKind::ALL
                .into_iter()
                .filter(|a| has(a.since()))
                .collect(),
            flags: FilterFlag::ALL
                .into_iter()
                .filter(|f| has(f.since()))
                .collect(),
            notif_sizes: has((5, 0)).then_some(NotifSizes {
                notif: sys::NOTIF_SIZE,
                resp: sys::NOTIF_RESP_SIZE,
                data: 64,
            }),
            actions_avail: has((4, 14)).then(|| {
                ActionKind::ALL
                    .into_iter()
                    .filter(|a| has(a.since()))
                    .map(|a| a.name().to_string())
                    .collect()
            }),
            action_cache: has((5, 11)),
            this_process: None,
            notes: Vec::new(),
        }
    }

    /// Whether the kernel accepts this kind of action.
    pub fn has_action(&self, kind: ActionKind) -> bool {
        self.actions.contains(&kind)
    }

    /// Whether the kernel knows this flag.
    pub fn has_flag(&self, flag: FilterFlag) -> bool {
        self.flags.contains(&flag)
    }
}

fn describe(result: Result<libc::c_long, Errno>) -> String {
    match result {
        Ok(v) => format!("success ({v})"),
        Err(e) => std::io::Error::from(e).to_string(),
    }
}

/// `Seccomp:` and `Seccomp_filters:` from `/proc/self/status`.
fn process_seccomp() -> Option<ProcessSeccomp> {
    let status = sys::read_small_proc_file("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    Some(ProcessSeccomp {
        mode: field("Seccomp:")?,
        filters: field("Seccomp_filters:"),
        no_new_privs: field("NoNewPrivs:").map(|v| v == 1),
    })
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

impl fmt::Display for Features {
    /// A readable report, one topic a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let release = if self.release.is_empty() {
            "unknown"
        } else {
            &self.release
        };
        match self.source {
            FeatureSource::Probed => writeln!(f, "kernel           {release} (probed)")?,
            FeatureSource::Assumed(_) => writeln!(
                f,
                "kernel           {release} (assumed from the version, not probed)"
            )?,
        }
        writeln!(
            f,
            "filter mode      {}{}",
            yes_no(self.filter_mode),
            if self.seccomp_syscall {
                ", seccomp(2) available"
            } else {
                ", no seccomp(2): prctl(PR_SET_SECCOMP) only, no flags"
            }
        )?;
        let actions: Vec<String> = ActionKind::ALL
            .iter()
            .map(|a| format!("{a} {}", yes_no(self.has_action(*a))))
            .collect();
        writeln!(f, "actions          {}", actions.join(", "))?;
        match &self.actions_avail {
            Some(words) => writeln!(f, "actions_avail    {}", words.join(" "))?,
            None => writeln!(f, "actions_avail    (not readable)")?,
        }
        let flags: Vec<String> = FilterFlag::ALL
            .iter()
            .map(|fl| format!("{fl} {}", yes_no(self.has_flag(*fl))))
            .collect();
        writeln!(f, "filter flags     {}", flags.join(", "))?;
        match self.notif_sizes {
            Some(s) => writeln!(
                f,
                "notif sizes      seccomp_notif {}, seccomp_notif_resp {}, seccomp_data {}",
                s.notif, s.resp, s.data
            )?,
            None => writeln!(f, "notif sizes      none (no user notification)")?,
        }
        writeln!(
            f,
            "action cache     {}",
            if self.action_cache {
                "yes (kernel >= 5.11): always-allowed syscalls skip the filter"
            } else {
                "no (kernel < 5.11): every filter runs on every syscall"
            }
        )?;
        if let Some(p) = self.this_process {
            let mode = match p.mode {
                0 => "disabled".to_string(),
                1 => "strict".to_string(),
                2 => "filter".to_string(),
                m => format!("mode {m}"),
            };
            let filters = p
                .filters
                .map(|n| format!(", {n} filter(s) installed"))
                .unwrap_or_default();
            let nnp = match p.no_new_privs {
                Some(true) => ", no_new_privs set",
                Some(false) => ", no_new_privs not set",
                None => "",
            };
            writeln!(f, "this process     {mode}{filters}{nnp}")?;
        }
        for note in &self.notes {
            writeln!(f, "note             {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v669"),
            Some(KernelVersion::new(6, 18, 44))
        );
        assert_eq!(
            KernelVersion::parse("5.10.0+"),
            Some(KernelVersion::new(5, 10, 0))
        );
        assert_eq!(
            KernelVersion::parse("4.19-rc1"),
            Some(KernelVersion::new(4, 19, 0))
        );
        assert_eq!(KernelVersion::parse("garbage"), None);
        assert!(KernelVersion::new(5, 11, 0).at_least(5, 11));
        assert!(!KernelVersion::new(5, 10, 200).at_least(5, 11));
        assert!(KernelVersion::new(6, 0, 0).at_least(5, 19));
    }

    #[test]
    fn history_is_monotonic_and_matches_the_man_pages() {
        let v = |a, b| Features::for_kernel(KernelVersion::new(a, b, 0));
        assert!(!v(3, 4).filter_mode);
        let k35 = v(3, 5);
        assert!(k35.filter_mode && !k35.seccomp_syscall && k35.flags.is_empty());
        assert_eq!(k35.actions.len(), 5);
        assert!(v(3, 17).has_flag(FilterFlag::Tsync));
        let k414 = v(4, 14);
        assert!(k414.has_action(ActionKind::Log) && k414.has_action(ActionKind::KillProcess));
        assert!(!k414.has_action(ActionKind::UserNotif) && k414.notif_sizes.is_none());
        assert!(v(5, 0).has_flag(FilterFlag::NewListener) && v(5, 0).notif_sizes.is_some());
        assert!(!v(5, 10).action_cache && v(5, 11).action_cache);
        assert!(!v(5, 18).has_flag(FilterFlag::WaitKillableRecv));
        let k6 = v(6, 1);
        assert_eq!(k6.actions.len(), 8);
        assert_eq!(k6.flags.len(), 6);
        let mut prev = v(3, 0);
        for (a, b) in [
            (3, 5),
            (3, 17),
            (4, 14),
            (4, 17),
            (5, 0),
            (5, 7),
            (5, 11),
            (5, 19),
        ] {
            let cur = v(a, b);
            assert!(prev.actions.is_subset(&cur.actions));
            assert!(prev.flags.is_subset(&cur.flags));
            prev = cur;
        }
    }

    #[test]
    fn action_kinds_match_actions() {
        for kind in ActionKind::ALL {
            assert_eq!(Action::from_ret(kind.ret()).map(ActionKind::of), Some(kind));
        }
    }

    /// Probing runs in the test process itself: it must install nothing.
    #[test]
    fn probing_installs_nothing() {
        let before = process_seccomp();
        let features = Features::probe();
        let after = process_seccomp();
        assert_eq!(before, after);
        assert_eq!(features.this_process, before);
        let report = features.to_string();
        assert!(report.contains("filter flags"), "{report}");
    }
}
