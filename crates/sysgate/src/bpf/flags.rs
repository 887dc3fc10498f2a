//! The `seccomp(2)` filter flags (`SECCOMP_FILTER_FLAG_*`, include/uapi/linux/seccomp.h):
//! [`FilterFlag`] names one flag, [`KernelFlags`] is the set a program is installed with.
//!
//! This file owns the flags' kernel facts: bits, uapi names, the release that introduced
//! each. Every user of the flags goes through these two types: the policy's attributes, the
//! Docker/OCI reader and writer (their `SECCOMP_FILTER_FLAG_*` words), the loader and the
//! probe (`kernel`), the Rust export. It does not install anything (that is
//! `kernel::install`) nor decide which flags a running kernel accepts (`kernel::probe`).

use std::fmt;

/// One `SECCOMP_FILTER_FLAG_*` flag.
///
/// ```
/// use sysgate::bpf::FilterFlag;
///
/// assert_eq!(FilterFlag::Tsync.bit(), 1);
/// assert_eq!(FilterFlag::NewListener.to_string(), "NEW_LISTENER");
/// assert_eq!(FilterFlag::Log.uapi_name(), "SECCOMP_FILTER_FLAG_LOG");
/// assert_eq!(FilterFlag::from_uapi_name("SECCOMP_FILTER_FLAG_LOG"), Some(FilterFlag::Log));
/// assert_eq!(FilterFlag::WaitKillableRecv.since(), (5, 19));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterFlag {
    /// `SECCOMP_FILTER_FLAG_TSYNC`: install into every thread of the process.
    Tsync,
    /// `SECCOMP_FILTER_FLAG_LOG`: log every action except ALLOW.
    Log,
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: do not force the speculative-store-bypass
    /// mitigation.
    SpecAllow,
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a user-notification listener fd.
    NewListener,
    /// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`: a TSYNC failure is ESRCH, not a thread id.
    TsyncEsrch,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: a notified task waits killably once its
    /// notification has been received.
    WaitKillableRecv,
}

impl FilterFlag {
    /// Every flag, in bit order.
    pub const ALL: [FilterFlag; 6] = [
        FilterFlag::Tsync,
        FilterFlag::Log,
        FilterFlag::SpecAllow,
        FilterFlag::NewListener,
        FilterFlag::TsyncEsrch,
        FilterFlag::WaitKillableRecv,
    ];

    /// The flag's bit.
    pub const fn bit(self) -> u64 {
        match self {
            FilterFlag::Tsync => 1 << 0,
            FilterFlag::Log => 1 << 1,
            FilterFlag::SpecAllow => 1 << 2,
            FilterFlag::NewListener => 1 << 3,
            FilterFlag::TsyncEsrch => 1 << 4,
            FilterFlag::WaitKillableRecv => 1 << 5,
        }
    }

    /// The uapi name without its `SECCOMP_FILTER_FLAG_` prefix.
    pub const fn name(self) -> &'static str {
        match self {
            FilterFlag::Tsync => "TSYNC",
            FilterFlag::Log => "LOG",
            FilterFlag::SpecAllow => "SPEC_ALLOW",
            FilterFlag::NewListener => "NEW_LISTENER",
            FilterFlag::TsyncEsrch => "TSYNC_ESRCH",
            FilterFlag::WaitKillableRecv => "WAIT_KILLABLE_RECV",
        }
    }

    /// The full uapi name, as Docker/OCI profiles write it (`SECCOMP_FILTER_FLAG_LOG`).
    pub const fn uapi_name(self) -> &'static str {
        match self {
            FilterFlag::Tsync => "SECCOMP_FILTER_FLAG_TSYNC",
            FilterFlag::Log => "SECCOMP_FILTER_FLAG_LOG",
            FilterFlag::SpecAllow => "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            FilterFlag::NewListener => "SECCOMP_FILTER_FLAG_NEW_LISTENER",
            FilterFlag::TsyncEsrch => "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
            FilterFlag::WaitKillableRecv => "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        }
    }

    /// The flag whose full uapi name is `word` (exact spelling).
    pub fn from_uapi_name(word: &str) -> Option<FilterFlag> {
        FilterFlag::ALL.into_iter().find(|f| f.uapi_name() == word)
    }

    /// The kernel release (major, minor) that introduced the flag.
    pub const fn since(self) -> (u32, u32) {
        match self {
            FilterFlag::Tsync => (3, 17),
            FilterFlag::Log => (4, 14),
            FilterFlag::SpecAllow => (4, 17),
            FilterFlag::NewListener => (5, 0),
            FilterFlag::TsyncEsrch => (5, 7),
            FilterFlag::WaitKillableRecv => (5, 19),
        }
    }

    /// `A|B|C` for the flags in a bit set, `none` for none (bits no flag has are not shown).
    ///
    /// ```
    /// use sysgate::bpf::FilterFlag;
    ///
    /// assert_eq!(FilterFlag::names_of(0b101), "TSYNC|SPEC_ALLOW");
    /// assert_eq!(FilterFlag::names_of(0), "none");
    /// ```
    pub fn names_of(bits: u64) -> String {
        let names: Vec<&str> = FilterFlag::ALL
            .into_iter()
            .filter(|f| bits & f.bit() != 0)
            .map(FilterFlag::name)
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join("|")
        }
    }
}

impl fmt::Display for FilterFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `seccomp(2)` flags a filter is installed with: a policy's attribute
/// ([`crate::policy::Attributes::flags`]), what the loader passes to the kernel.
///
/// ```
/// use sysgate::bpf::{FilterFlag, KernelFlags};
///
/// let mut flags = KernelFlags { log: true, ..KernelFlags::NONE };
/// flags.set(FilterFlag::Tsync, true);
/// assert!(flags.contains(FilterFlag::Tsync) && flags.tsync);
/// assert_eq!(flags.bits(), 0b11);
/// assert_eq!(flags.iter().collect::<Vec<_>>(), [FilterFlag::Tsync, FilterFlag::Log]);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct KernelFlags {
    /// `SECCOMP_FILTER_FLAG_TSYNC`: apply to every thread of the process.
    pub tsync: bool,
    /// `SECCOMP_FILTER_FLAG_LOG`: log every action except ALLOW.
    pub log: bool,
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: do not force speculative-store-bypass mitigation.
    pub spec_allow: bool,
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER`: return a user-notification listener fd.
    pub new_listener: bool,
    /// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`: report TSYNC failures as ESRCH.
    pub tsync_esrch: bool,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: notified tasks wait killably.
    pub wait_killable_recv: bool,
}

impl KernelFlags {
    /// No flag.
    pub const NONE: KernelFlags = KernelFlags {
        tsync: false,
        log: false,
        spec_allow: false,
        new_listener: false,
        tsync_esrch: false,
        wait_killable_recv: false,
    };

    /// Whether `flag` is set.
    pub const fn contains(&self, flag: FilterFlag) -> bool {
        match flag {
            FilterFlag::Tsync => self.tsync,
            FilterFlag::Log => self.log,
            FilterFlag::SpecAllow => self.spec_allow,
            FilterFlag::NewListener => self.new_listener,
            FilterFlag::TsyncEsrch => self.tsync_esrch,
            FilterFlag::WaitKillableRecv => self.wait_killable_recv,
        }
    }

    /// Set or clear `flag`.
    pub fn set(&mut self, flag: FilterFlag, on: bool) {
        let field = match flag {
            FilterFlag::Tsync => &mut self.tsync,
            FilterFlag::Log => &mut self.log,
            FilterFlag::SpecAllow => &mut self.spec_allow,
            FilterFlag::NewListener => &mut self.new_listener,
            FilterFlag::TsyncEsrch => &mut self.tsync_esrch,
            FilterFlag::WaitKillableRecv => &mut self.wait_killable_recv,
        };
        *field = on;
    }

    /// The flags set, in bit order.
    pub fn iter(&self) -> impl Iterator<Item = FilterFlag> + '_ {
        FilterFlag::ALL.into_iter().filter(|f| self.contains(*f))
    }

    /// The bits `seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)` takes.
    pub fn bits(&self) -> u64 {
        self.iter().fold(0, |bits, f| bits | f.bit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_cast)]
    #[test]
    fn bits_match_libc() {
        let libc_bits = [
            libc::SECCOMP_FILTER_FLAG_TSYNC,
            libc::SECCOMP_FILTER_FLAG_LOG,
            libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        ];
        for (flag, bit) in FilterFlag::ALL.into_iter().zip(libc_bits) {
            assert_eq!(flag.bit(), bit as u64, "{flag}");
        }
    }

    #[test]
    fn every_flag_round_trips_through_its_names_and_the_set() {
        let mut all = KernelFlags::NONE;
        for flag in FilterFlag::ALL {
            assert_eq!(FilterFlag::from_uapi_name(flag.uapi_name()), Some(flag));
            assert_eq!(flag.uapi_name(), format!("SECCOMP_FILTER_FLAG_{flag}"));
            let mut one = KernelFlags::NONE;
            one.set(flag, true);
            assert_eq!(one.bits(), flag.bit());
            assert_eq!(one.iter().collect::<Vec<_>>(), [flag]);
            all.set(flag, true);
        }
        assert_eq!(all.bits(), 0b11_1111);
        assert_eq!(FilterFlag::from_uapi_name("SECCOMP_FILTER_FLAG_FAST"), None);
    }
}
