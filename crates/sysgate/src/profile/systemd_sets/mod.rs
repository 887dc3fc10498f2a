//! systemd's syscall sets (`@system-service`, `@default`, `@known`, ...) for each systemd
//! version sysgate knows, generated from systemd's own tables.
//!
//! The tables are generated (`cargo run -p xtask -- gen-systemd-sets`) and committed; a test
//! regenerates them and compares. This module only looks sets up; what `SystemCallFilter=`
//! does with them is [`super::systemd`]'s business.
//!
//! ```
//! use sysgate::profile::systemd_sets::{self, SystemdVersion};
//!
//! let service = systemd_sets::find(SystemdVersion::Newest, "@system-service").unwrap();
//! assert!(service.members.contains(&"@basic-io"));
//! assert!(service.syscalls.contains(&"read")); // nested sets are expanded
//! assert!(systemd_sets::find(SystemdVersion::V252, "@sandbox").is_none()); // added in v254
//! ```

// Generated files keep the generator's layout, so regenerating them changes nothing.
#[rustfmt::skip]
mod main;
#[rustfmt::skip]
mod v252;

use std::fmt;

/// One systemd syscall set.
#[derive(Debug)]
pub struct SetDef {
    /// The name, with its `@`.
    pub name: &'static str,
    /// The members as systemd lists them: syscall names and nested `@sets`, in source order.
    pub members: &'static [&'static str],
    /// Every syscall the set stands for, nested sets expanded, sorted, each once.
    pub syscalls: &'static [&'static str],
}

impl SetDef {
    /// Whether the set (with its nested sets) contains syscall `name`.
    ///
    /// ```
    /// use sysgate::profile::systemd_sets::{self, SystemdVersion};
    ///
    /// let io = systemd_sets::find(SystemdVersion::Newest, "@basic-io").unwrap();
    /// assert!(io.contains("read") && !io.contains("mount"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.syscalls.binary_search(&name).is_ok()
    }
}

/// Which systemd's sets to use. The sets grow between releases, and systemd from v255 on
/// answers `ENOSYS` for syscalls outside `@known` that a filter does not name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum SystemdVersion {
    /// The newest sets sysgate has (systemd main, 261~devel).
    #[default]
    Newest,
    /// systemd 252 (Debian 12): no `@sandbox`, and no ENOSYS for unknown syscalls.
    V252,
}

impl SystemdVersion {
    /// Parse `newest`/`main` or `252`/`v252`.
    ///
    /// ```
    /// use sysgate::profile::systemd_sets::SystemdVersion;
    ///
    /// assert_eq!(SystemdVersion::parse("v252"), Some(SystemdVersion::V252));
    /// assert_eq!(SystemdVersion::parse("newest"), Some(SystemdVersion::Newest));
    /// assert_eq!(SystemdVersion::parse("249"), None);
    /// ```
    pub fn parse(s: &str) -> Option<SystemdVersion> {
        match s.trim().to_ascii_lowercase().as_str() {
            "newest" | "main" | "latest" => Some(SystemdVersion::Newest),
            "252" | "v252" => Some(SystemdVersion::V252),
            _ => None,
        }
    }

    /// Whether a filter of this version returns `ENOSYS` for syscalls outside `@known` that it
    /// does not name (systemd v255 and later).
    ///
    /// ```
    /// use sysgate::profile::systemd_sets::SystemdVersion;
    ///
    /// assert!(SystemdVersion::Newest.enosys_outside_known());
    /// assert!(!SystemdVersion::V252.enosys_outside_known());
    /// ```
    pub fn enosys_outside_known(self) -> bool {
        matches!(self, SystemdVersion::Newest)
    }

    /// Whether this version's systemd accepts syscall `name` in `SystemCallFilter=` and
    /// `SystemCallLog=`. systemd resolves every name with the libseccomp it links; a name
    /// libseccomp does not know is ignored ("Failed to parse system call, ignoring"), and a
    /// member of a set that it does not know is skipped silently. In a deny list, such a
    /// call is therefore not denied.
    ///
    /// - [`SystemdVersion::Newest`]: libseccomp 2.6.1, whose table (Linux 7.1-rc4) is the one
    ///   sysgate's tables are generated from: every name in them.
    /// - [`SystemdVersion::V252`]: the libseccomp of Debian 12 (2.5.4-1+deb12u1, whose table
    ///   is upstream 2.5.5's, Linux 6.7), which systemd 252 links there: not the names added
    ///   to the kernel or to libseccomp since ([`V252_UNRESOLVED`]). Checked against
    ///   `systemd-analyze verify` of systemd 252 with every name in sysgate's tables.
    ///
    /// ```
    /// use sysgate::profile::systemd_sets::SystemdVersion;
    ///
    /// assert!(SystemdVersion::Newest.resolves("mseal"));
    /// assert!(!SystemdVersion::V252.resolves("mseal")); // Linux 6.10
    /// assert!(SystemdVersion::V252.resolves("cachestat")); // Linux 6.5
    /// assert!(!SystemdVersion::Newest.resolves("no_such_call"));
    /// ```
    pub fn resolves(self, name: &str) -> bool {
        crate::arch::is_known_syscall(name)
            && (self == SystemdVersion::Newest || !V252_UNRESOLVED.contains(&name))
    }

    /// What the tables were taken from.
    ///
    /// ```
    /// use sysgate::profile::systemd_sets::SystemdVersion;
    ///
    /// assert_eq!(SystemdVersion::V252.source(), "systemd 252");
    /// ```
    pub fn source(self) -> &'static str {
        match self {
            SystemdVersion::Newest => main::VERSION,
            SystemdVersion::V252 => v252::VERSION,
        }
    }
}

/// The names in sysgate's syscall tables that systemd 252's libseccomp (Debian 12's
/// 2.5.4-1+deb12u1, upstream 2.5.5's table) does not resolve, so systemd 252 ignores them:
/// the syscalls added in Linux 6.8 and later, `riscv_hwprobe` and `uretprobe`, and the m68k
/// and Alpha names libseccomp 2.5 has no entry for. A test fails when the tables gain a name,
/// so that each new name is checked against systemd 252 before it is written for it.
pub const V252_UNRESOLVED: &[&str] = &[
    "atomic_barrier",
    "atomic_cmpxchg_32",
    "file_getattr",
    "file_setattr",
    "getpagesize",
    "getxattrat",
    "listmount",
    "listns",
    "listxattrat",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lsm_set_self_attr",
    "mseal",
    "open_tree_attr",
    "removexattrat",
    "riscv_hwprobe",
    "rseq_slice_yield",
    "setxattrat",
    "statmount",
    "uprobe",
    "uretprobe",
];

impl fmt::Display for SystemdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.source())
    }
}

/// Every set of `version`, in systemd's order (`@default` first, `@known` last).
///
/// ```
/// use sysgate::profile::systemd_sets::{self, SystemdVersion};
///
/// let sets = systemd_sets::sets(SystemdVersion::Newest);
/// assert_eq!(sets.first().unwrap().name, "@default");
/// assert_eq!(sets.last().unwrap().name, "@known");
/// ```
pub fn sets(version: SystemdVersion) -> &'static [SetDef] {
    match version {
        SystemdVersion::Newest => main::SETS,
        SystemdVersion::V252 => v252::SETS,
    }
}

/// The set called `name` (with its `@`) in `version`.
///
/// ```
/// use sysgate::profile::systemd_sets::{self, SystemdVersion};
///
/// assert!(systemd_sets::find(SystemdVersion::V252, "@mount").is_some());
/// assert!(systemd_sets::find(SystemdVersion::V252, "mount").is_none());
/// ```
pub fn find(version: SystemdVersion, name: &str) -> Option<&'static SetDef> {
    sets(version).iter().find(|s| s.name == name)
}

/// The syscalls of the newest set called `name` (with its `@`), nested sets expanded.
///
/// ```
/// use sysgate::profile::systemd_set;
///
/// let mount = systemd_set("@mount").unwrap();
/// assert!(mount.contains(&"mount") && mount.contains(&"pivot_root"));
/// assert!(systemd_set("@no-such-set").is_none());
/// ```
pub fn systemd_set(name: &str) -> Option<&'static [&'static str]> {
    systemd_set_of(SystemdVersion::Newest, name)
}

/// [`systemd_set`] for a chosen version.
///
/// ```
/// use sysgate::profile::systemd_sets::{systemd_set_of, SystemdVersion};
///
/// assert!(systemd_set_of(SystemdVersion::Newest, "@sandbox").is_some());
/// assert!(systemd_set_of(SystemdVersion::V252, "@sandbox").is_none());
/// ```
pub fn systemd_set_of(version: SystemdVersion, name: &str) -> Option<&'static [&'static str]> {
    find(version, name).map(|s| s.syscalls)
}

/// The names of every set of `version`, for "expected one of" messages.
pub fn set_names(version: SystemdVersion) -> Vec<&'static str> {
    sets(version).iter().map(|s| s.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_sets_contain_their_nested_sets() {
        for version in [SystemdVersion::Newest, SystemdVersion::V252] {
            for set in sets(version) {
                for m in set.members {
                    match m.strip_prefix('@') {
                        Some(_) => {
                            let nested = find(version, m).expect("nested set exists");
                            assert!(nested.syscalls.iter().all(|s| set.contains(s)));
                        }
                        None => assert!(set.contains(m), "{} lacks {m}", set.name),
                    }
                }
                assert!(set.syscalls.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }

    /// How many names sysgate's syscall tables held when [`V252_UNRESOLVED`] was checked.
    const SYSCALL_NAMES_CLASSIFIED: usize = 509;

    #[test]
    fn every_syscall_name_is_classified_for_systemd_252() {
        assert_eq!(
            crate::arch::tables::names::COUNT,
            SYSCALL_NAMES_CLASSIFIED,
            "the syscall tables changed: check each new name with systemd 252's \
             systemd-analyze verify, add those it ignores to V252_UNRESOLVED, then update \
             SYSCALL_NAMES_CLASSIFIED"
        );
        for name in V252_UNRESOLVED {
            assert!(crate::arch::is_known_syscall(name), "{name} is in no table");
        }
    }

    #[test]
    fn system_service_includes_default_but_not_mount() {
        let s = find(SystemdVersion::Newest, "@system-service").unwrap();
        assert!(s.contains("execve") && s.contains("read") && !s.contains("mount"));
    }
}
