//! Seccomp actions and their kernel return values: the `SECCOMP_RET_*` encoding ([`ret`]),
//! the [`Action`] a return value stands for, and how actions are written and read.
//!
//! This is a kernel fact below the policy IR: the emulator, disassembler and assembler name
//! return values with it, and [`crate::policy`] builds its rules on it (re-exported there).

use std::fmt;
use std::str::FromStr;

use crate::arch::{Arch, Errno, Numbering};

/// What the kernel does with a syscall, as returned by a seccomp filter.
///
/// Ordered most restrictive first; [`Action::precedence`] compares return values as signed
/// 32-bit integers, which is how sysgate combines rules (the smallest wins).
///
/// ```
/// use sysgate::policy::Action;
///
/// assert_eq!(Action::Errno(1).to_ret(), 0x0005_0001);
/// assert_eq!(Action::from_ret(0x7fff_0000), Some(Action::Allow));
/// assert!(Action::Errno(1).precedence() < Action::Errno(38).precedence());
/// assert_eq!("SCMP_ACT_ERRNO(38)".parse::<Action>().unwrap(), Action::Errno(38));
/// ```
///
/// The derived `Ord` follows the variants (most restrictive first) and then the data; it is
/// for sorting and maps only. Combination uses [`Action::precedence`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Kill the whole process (`SECCOMP_RET_KILL_PROCESS`, 0x80000000).
    KillProcess,
    /// Kill the calling thread (`SECCOMP_RET_KILL_THREAD`, 0).
    KillThread,
    /// Send SIGSYS with this value in `si_errno` (`SECCOMP_RET_TRAP`, 0x00030000).
    Trap(u16),
    /// Fail the call with this errno number, 0..=4095 (`SECCOMP_RET_ERRNO`, 0x00050000), the
    /// same number on every architecture.
    Errno(u16),
    /// Fail the call with the errno of this name, numbered as the calling architecture numbers
    /// it (`ENOSYS` is 38, 89 on mips, 251 on parisc: see [`Errno`]). What a profile that
    /// names an errno means. [`Action::for_arch`] gives the number; everything that decides a
    /// call (the evaluator, the compiler) resolves it per architecture first, so the kernel
    /// and the reference evaluator only ever see [`Action::Errno`]. Where no architecture is
    /// known (`to_ret`, `precedence`), the generic number stands in.
    NamedErrno(Errno),
    /// Ask the user-space supervisor (`SECCOMP_RET_USER_NOTIF`, 0x7fc00000).
    UserNotif,
    /// Notify a ptrace tracer with this value (`SECCOMP_RET_TRACE`, 0x7ff00000).
    Trace(u16),
    /// Allow and log (`SECCOMP_RET_LOG`, 0x7ffc0000).
    Log,
    /// Allow (`SECCOMP_RET_ALLOW`, 0x7fff0000).
    Allow,
}

/// The largest errno the kernel accepts in `SECCOMP_RET_ERRNO` (`MAX_ERRNO`).
pub const MAX_ERRNO: u16 = 4095;

/// `SECCOMP_RET_*` action values.
pub mod ret {
    /// Kill the process.
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// Kill the thread.
    pub const KILL_THREAD: u32 = 0x0000_0000;
    /// SIGSYS.
    pub const TRAP: u32 = 0x0003_0000;
    /// Errno.
    pub const ERRNO: u32 = 0x0005_0000;
    /// User notification.
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// Tracer.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// Log.
    pub const LOG: u32 = 0x7ffc_0000;
    /// Allow.
    pub const ALLOW: u32 = 0x7fff_0000;
    /// The action bits of a return value.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// The data bits of a return value.
    pub const DATA: u32 = 0x0000_ffff;
}

impl Action {
    /// The filter return value (`SECCOMP_RET_*` | data).
    pub const fn to_ret(self) -> u32 {
        match self {
            Action::KillProcess => ret::KILL_PROCESS,
            Action::KillThread => ret::KILL_THREAD,
            Action::Trap(d) => ret::TRAP | d as u32,
            Action::Errno(e) => ret::ERRNO | e as u32,
            Action::NamedErrno(e) => ret::ERRNO | e.number_in(Numbering::Generic) as u32,
            Action::UserNotif => ret::USER_NOTIF,
            Action::Trace(d) => ret::TRACE | d as u32,
            Action::Log => ret::LOG,
            Action::Allow => ret::ALLOW,
        }
    }

    /// The action a return value stands for, if it is one the kernel defines.
    ///
    /// Data bits are kept for TRAP, ERRNO and TRACE; an errno above 4095 or data on an action
    /// that takes none makes the value invalid here (the kernel would clamp or ignore it).
    pub const fn from_ret(value: u32) -> Option<Action> {
        let data = (value & ret::DATA) as u16;
        match value & ret::ACTION_FULL {
            ret::KILL_PROCESS if data == 0 => Some(Action::KillProcess),
            ret::KILL_THREAD if data == 0 => Some(Action::KillThread),
            ret::TRAP => Some(Action::Trap(data)),
            ret::ERRNO if data <= MAX_ERRNO => Some(Action::Errno(data)),
            ret::USER_NOTIF if data == 0 => Some(Action::UserNotif),
            ret::TRACE => Some(Action::Trace(data)),
            ret::LOG if data == 0 => Some(Action::Log),
            ret::ALLOW if data == 0 => Some(Action::Allow),
            _ => None,
        }
    }

    /// The value rules are combined by: the return value as a signed 32-bit integer. The
    /// smallest wins, so KILL_PROCESS beats everything and ERRNO(1) beats ERRNO(38).
    pub const fn precedence(self) -> i32 {
        self.to_ret() as i32
    }

    /// Whether the action lets the syscall run (ALLOW or LOG).
    pub const fn permits(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }

    /// The more restrictive of two actions (the smaller signed return value).
    pub fn most_restrictive(self, other: Action) -> Action {
        if other.precedence() < self.precedence() {
            other
        } else {
            self
        }
    }

    /// The action as `arch` sees it: a [`Action::NamedErrno`] becomes the errno number `arch`
    /// gives that name; every other action is itself.
    ///
    /// ```
    /// use sysgate::policy::{Action, Errno};
    /// use sysgate::Arch;
    ///
    /// let enosys = Action::NamedErrno(Errno::ENOSYS);
    /// assert_eq!(enosys.for_arch(Arch::X86_64), Action::Errno(38));
    /// assert_eq!(enosys.for_arch(Arch::Mips), Action::Errno(89));
    /// assert_eq!(Action::Errno(38).for_arch(Arch::Mips), Action::Errno(38));
    /// ```
    pub fn for_arch(self, arch: Arch) -> Action {
        match self {
            Action::NamedErrno(e) => Action::Errno(e.number(arch)),
            other => other,
        }
    }

    /// The action resolved and written as `arch` reads it: errnos are named in `arch`'s
    /// numbering (`ERRNO(89 ENOSYS)` on mips, where generic 89 would be EDESTADDRREQ).
    ///
    /// ```
    /// use sysgate::policy::{Action, Errno};
    /// use sysgate::Arch;
    ///
    /// let enosys = Action::NamedErrno(Errno::ENOSYS);
    /// assert_eq!(enosys.on(Arch::Mips).to_string(), "ERRNO(89 ENOSYS)");
    /// assert_eq!(Action::Errno(89).on(Arch::X86_64).to_string(), "ERRNO(89 EDESTADDRREQ)");
    /// assert_eq!(enosys.to_string(), "ERRNO(ENOSYS)");
    /// ```
    pub fn on(self, arch: Arch) -> ActionOn {
        ActionOn {
            action: self.for_arch(arch),
            arch,
        }
    }

    /// libseccomp/OCI spelling: `SCMP_ACT_ALLOW`, `SCMP_ACT_ERRNO(1)`, ...
    pub fn oci_name(self) -> String {
        match self {
            Action::KillProcess => "SCMP_ACT_KILL_PROCESS".into(),
            Action::KillThread => "SCMP_ACT_KILL_THREAD".into(),
            Action::Trap(0) => "SCMP_ACT_TRAP".into(),
            Action::Trap(d) => format!("SCMP_ACT_TRAP({d})"),
            Action::Errno(e) => format!("SCMP_ACT_ERRNO({e})"),
            Action::NamedErrno(e) => format!("SCMP_ACT_ERRNO({e})"),
            Action::UserNotif => "SCMP_ACT_NOTIFY".into(),
            Action::Trace(d) => format!("SCMP_ACT_TRACE({d})"),
            Action::Log => "SCMP_ACT_LOG".into(),
            Action::Allow => "SCMP_ACT_ALLOW".into(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillProcess => f.write_str("KILL_PROCESS"),
            Action::KillThread => f.write_str("KILL_THREAD"),
            Action::Trap(d) => write!(f, "TRAP({d})"),
            Action::Errno(e) => match errno_name(*e) {
                Some(name) => write!(f, "ERRNO({e} {name})"),
                None => write!(f, "ERRNO({e})"),
            },
            Action::NamedErrno(e) => write!(f, "ERRNO({e})"),
            Action::UserNotif => f.write_str("USER_NOTIF"),
            Action::Trace(d) => write!(f, "TRACE({d})"),
            Action::Log => f.write_str("LOG"),
            Action::Allow => f.write_str("ALLOW"),
        }
    }
}

/// An action as one architecture reads it ([`Action::on`]): errno numbers are named in that
/// architecture's numbering.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ActionOn {
    action: Action,
    arch: Arch,
}

impl fmt::Display for ActionOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.action {
            Action::Errno(e) => match Errno::name_of(e, self.arch) {
                Some(name) => write!(f, "ERRNO({e} {name})"),
                None => write!(f, "ERRNO({e})"),
            },
            other => other.fmt(f),
        }
    }
}

/// An action spelling that is not recognised, or data out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid action {input:?}: {reason}")]
pub struct ParseActionError {
    /// What was given.
    pub input: String,
    /// Why it is not an action.
    pub reason: String,
}

impl FromStr for Action {
    type Err = ParseActionError;

    /// Accepts `ALLOW`, `KILL`, `KILL_PROCESS`, `KILL_THREAD`, `TRAP[(n)]`, `ERRNO(n)` or
    /// `ERRNO(ENAME)`, `NOTIFY`/`USER_NOTIF`, `TRACE[(n)]`, `LOG`, with or without the
    /// `SCMP_ACT_` prefix, any case. Bare `KILL` is KILL_THREAD (libseccomp's and runc's
    /// meaning). `ERRNO(ENAME)` is [`Action::NamedErrno`], numbered per architecture;
    /// `ERRNO(n)` the number `n` everywhere.
    fn from_str(s: &str) -> Result<Action, ParseActionError> {
        let err = |reason: &str| ParseActionError {
            input: s.to_string(),
            reason: reason.into(),
        };
        let upper = s.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("SCMP_ACT_").unwrap_or(&upper);
        let (name, arg) = match body.split_once('(') {
            Some((n, rest)) => {
                let inner = rest.strip_suffix(')').ok_or_else(|| err("missing ')'"))?;
                (n.trim(), Some(inner.trim()))
            }
            None => (body, None),
        };
        let data = |max: u16| -> Result<u16, ParseActionError> {
            match arg {
                None => Ok(0),
                Some(a) => {
                    let v =
                        parse_errno(a).ok_or_else(|| err("data is not a number or errno name"))?;
                    if v > u32::from(max) {
                        return Err(err(&format!("data {v} is larger than {max}")));
                    }
                    Ok(v as u16)
                }
            }
        };
        let no_arg = |a: Action| match arg {
            None => Ok(a),
            Some(_) => Err(err("this action takes no data")),
        };
        match name {
            "ALLOW" => no_arg(Action::Allow),
            "LOG" => no_arg(Action::Log),
            "KILL" | "KILL_THREAD" => no_arg(Action::KillThread),
            "KILL_PROCESS" => no_arg(Action::KillProcess),
            "NOTIFY" | "USER_NOTIF" => no_arg(Action::UserNotif),
            "TRAP" => Ok(Action::Trap(data(u16::MAX)?)),
            "TRACE" => Ok(Action::Trace(data(u16::MAX)?)),
            "ERRNO" => {
                let Some(a) = arg else {
                    return Err(err("ERRNO needs a number, e.g. ERRNO(1) or ERRNO(EPERM)"));
                };
                if let Some(named) = Errno::from_name(a) {
                    return Ok(Action::NamedErrno(named));
                }
                Ok(Action::Errno(data(MAX_ERRNO)?))
            }
            _ => Err(err(
                "expected ALLOW, LOG, KILL, KILL_PROCESS, KILL_THREAD, TRAP, ERRNO(n), NOTIFY or TRACE",
            )),
        }
    }
}

/// errno names and numbers (asm-generic/errno-base.h and errno.h, as on x86, arm, arm64,
/// riscv, s390, ppc; mips, parisc and alpha number some differently). Where two names share a
/// number, the first is the one [`errno_name`] gives.
pub const ERRNO_NAMES: &[(&str, u16)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("EWOULDBLOCK", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("EDEADLOCK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("ECHRNG", 44),
    ("EL2NSYNC", 45),
    ("EL3HLT", 46),
    ("EL3RST", 47),
    ("ELNRNG", 48),
    ("EUNATCH", 49),
    ("ENOCSI", 50),
    ("EL2HLT", 51),
    ("EBADE", 52),
    ("EBADR", 53),
    ("EXFULL", 54),
    ("ENOANO", 55),
    ("EBADRQC", 56),
    ("EBADSLT", 57),
    ("EBFONT", 59),
    ("ENOSTR", 60),
    ("ENODATA", 61),
    ("ETIME", 62),
    ("ENOSR", 63),
    ("ENONET", 64),
    ("ENOPKG", 65),
    ("EREMOTE", 66),
    ("ENOLINK", 67),
    ("EADV", 68),
    ("ESRMNT", 69),
    ("ECOMM", 70),
    ("EPROTO", 71),
    ("EMULTIHOP", 72),
    ("EDOTDOT", 73),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76),
    ("EBADFD", 77),
    ("EREMCHG", 78),
    ("ELIBACC", 79),
    ("ELIBBAD", 80),
    ("ELIBSCN", 81),
    ("ELIBMAX", 82),
    ("ELIBEXEC", 83),
    ("EILSEQ", 84),
    ("ERESTART", 85),
    ("ESTRPIPE", 86),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("ENOTSUP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("ESTALE", 116),
    ("EUCLEAN", 117),
    ("ENOTNAM", 118),
    ("ENAVAIL", 119),
    ("EISNAM", 120),
    ("EREMOTEIO", 121),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("ENOKEY", 126),
    ("EKEYEXPIRED", 127),
    ("EKEYREVOKED", 128),
    ("EKEYREJECTED", 129),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
    ("ERFKILL", 132),
    ("EHWPOISON", 133),
];

/// The number of an errno name (`EPERM` -> 1), or of a decimal number (`"38"` -> 38).
pub fn parse_errno(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let upper = s.to_ascii_uppercase();
    ERRNO_NAMES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, v)| u32::from(*v))
}

/// The name of an errno number, if it is a common one.
pub fn errno_name(e: u16) -> Option<&'static str> {
    ERRNO_NAMES.iter().find(|(_, v)| *v == e).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_round_trip() {
        for a in [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap(7),
            Action::Errno(0),
            Action::Errno(4095),
            Action::UserNotif,
            Action::Trace(3),
            Action::Log,
            Action::Allow,
        ] {
            assert_eq!(Action::from_ret(a.to_ret()), Some(a));
        }
        assert_eq!(Action::from_ret(0x0005_1000), None);
        assert_eq!(Action::from_ret(0x7fff_0001), None);
    }

    #[test]
    fn precedence_is_signed_return_value() {
        let order = [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap(0),
            Action::Errno(1),
            Action::Errno(38),
            Action::UserNotif,
            Action::Trace(0),
            Action::Log,
            Action::Allow,
        ];
        for w in order.windows(2) {
            assert!(
                w[0].precedence() < w[1].precedence(),
                "{} vs {}",
                w[0],
                w[1]
            );
            assert_eq!(w[0].most_restrictive(w[1]), w[0]);
            assert_eq!(w[1].most_restrictive(w[0]), w[0]);
        }
    }

    #[test]
    fn parses_spellings() {
        assert_eq!("SCMP_ACT_KILL".parse(), Ok(Action::KillThread));
        assert_eq!("kill_process".parse(), Ok(Action::KillProcess));
        assert_eq!("ERRNO(EPERM)".parse(), Ok(Action::NamedErrno(Errno::EPERM)));
        assert_eq!("ERRNO(1)".parse(), Ok(Action::Errno(1)));
        assert_eq!("SCMP_ACT_TRACE(5)".parse(), Ok(Action::Trace(5)));
        assert_eq!("SCMP_ACT_NOTIFY".parse(), Ok(Action::UserNotif));
        assert!("ERRNO(4096)".parse::<Action>().is_err());
        assert!("ERRNO".parse::<Action>().is_err());
        assert!("ALLOW(1)".parse::<Action>().is_err());
        assert!("SCMP_ACT_FOO".parse::<Action>().is_err());
    }
}
