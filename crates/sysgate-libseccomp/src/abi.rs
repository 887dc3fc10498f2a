//! The C side of libseccomp's interface: struct layouts and constant values exactly as
//! libseccomp's `seccomp.h` (2.5.4, plus the 2.6 attribute) defines them.
//!
//! This module owns the types a C caller passes in and gets back. It holds no logic; the
//! meaning of a call lives in [`crate::filter`].

/// `struct scmp_version`.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScmpVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Micro version.
    pub micro: u32,
}

/// `struct scmp_arg_cmp`: one argument comparison, 24 bytes, 8-byte aligned.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct ScmpArgCmp {
    /// Argument index, 0 to 5.
    pub arg: u32,
    /// `enum scmp_compare` (an `int`-sized C enum; any value may arrive).
    pub op: u32,
    /// The value compared with (for `SCMP_CMP_MASKED_EQ`, the mask).
    pub datum_a: u64,
    /// For `SCMP_CMP_MASKED_EQ`, the value the masked argument must equal.
    pub datum_b: u64,
}

/// `struct seccomp_data` (linux/seccomp.h), inside a notification: sysgate's own, which
/// has the kernel's layout.
pub use sysgate::bpf::SeccompData as SeccompDataC;

/// `struct seccomp_notif` (linux/seccomp.h), 80 bytes.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct SeccompNotif {
    /// The notification's cookie.
    pub id: u64,
    /// The calling thread.
    pub pid: u32,
    /// Flags (none defined).
    pub flags: u32,
    /// What the filter saw.
    pub data: SeccompDataC,
}

/// `struct seccomp_notif_resp` (linux/seccomp.h), 24 bytes.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct SeccompNotifResp {
    /// The cookie of the notification answered.
    pub id: u64,
    /// The call's return value.
    pub val: i64,
    /// A negative errno, or 0.
    pub error: i32,
    /// `SECCOMP_USER_NOTIF_FLAG_CONTINUE` (1): run the call.
    pub flags: u32,
}

/// The version this library reports from `seccomp_version()`: the libseccomp release whose
/// API it implements in full (2.6.0: 2.5.4's functions plus `seccomp_precompute`, the
/// transactions, `seccomp_export_bpf_mem`, `SCMP_FLTATR_CTL_WAITKILL` and API level 7).
pub const VERSION: ScmpVersion = ScmpVersion {
    major: 2,
    minor: 6,
    micro: 0,
};

/// `SCMP_ARCH_NATIVE`.
pub const SCMP_ARCH_NATIVE: u32 = 0;

/// `__NR_SCMP_ERROR`.
pub const NR_SCMP_ERROR: i32 = -1;

/// `enum scmp_compare`.
pub mod cmp {
    /// Not equal.
    pub const NE: u32 = 1;
    /// Less than.
    pub const LT: u32 = 2;
    /// Less than or equal.
    pub const LE: u32 = 3;
    /// Equal.
    pub const EQ: u32 = 4;
    /// Greater than or equal.
    pub const GE: u32 = 5;
    /// Greater than.
    pub const GT: u32 = 6;
    /// `(arg & datum_a) == datum_b`.
    pub const MASKED_EQ: u32 = 7;
}

/// `enum scmp_filter_attr`.
pub mod attr {
    /// Default action (read only after `seccomp_init`).
    pub const ACT_DEFAULT: u32 = 1;
    /// Action for calls from architectures not in the filter.
    pub const ACT_BADARCH: u32 = 2;
    /// Set `no_new_privs` on load.
    pub const CTL_NNP: u32 = 3;
    /// Synchronise every thread on load.
    pub const CTL_TSYNC: u32 = 4;
    /// Allow rules on syscall -1.
    pub const API_TSKIP: u32 = 5;
    /// Log every action but ALLOW.
    pub const CTL_LOG: u32 = 6;
    /// Leave speculative-store-bypass mitigation off.
    pub const CTL_SSB: u32 = 7;
    /// Optimisation level (1: priority order, 2: binary tree).
    pub const CTL_OPTIMIZE: u32 = 8;
    /// Return the kernel's errno instead of `-ECANCELED`.
    pub const API_SYSRAWRC: u32 = 9;
    /// Notified tasks wait killably (libseccomp 2.6).
    pub const CTL_WAITKILL: u32 = 10;
}

/// `SCMP_ACT_*` values (the kernel's `SECCOMP_RET_*`).
pub mod act {
    /// `SCMP_ACT_KILL_PROCESS`.
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// `SCMP_ACT_KILL_THREAD`, also `SCMP_ACT_KILL`.
    pub const KILL_THREAD: u32 = 0;
    /// `SCMP_ACT_TRAP`.
    pub const TRAP: u32 = 0x0003_0000;
    /// `SCMP_ACT_ERRNO(0)`.
    pub const ERRNO: u32 = 0x0005_0000;
    /// `SCMP_ACT_NOTIFY`.
    pub const NOTIFY: u32 = 0x7fc0_0000;
    /// `SCMP_ACT_TRACE(0)`.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// `SCMP_ACT_LOG`.
    pub const LOG: u32 = 0x7ffc_0000;
    /// `SCMP_ACT_ALLOW`.
    pub const ALLOW: u32 = 0x7fff_0000;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_cmp_has_the_c_layout() {
        assert_eq!(std::mem::size_of::<ScmpArgCmp>(), 24);
        assert_eq!(std::mem::align_of::<ScmpArgCmp>(), 8);
        assert_eq!(std::mem::offset_of!(ScmpArgCmp, datum_a), 8);
        assert_eq!(std::mem::offset_of!(ScmpArgCmp, datum_b), 16);
        assert_eq!(std::mem::size_of::<ScmpVersion>(), 12);
        assert_eq!(std::mem::size_of::<SeccompNotif>(), 80);
        assert_eq!(std::mem::size_of::<SeccompNotifResp>(), 24);
    }
}
