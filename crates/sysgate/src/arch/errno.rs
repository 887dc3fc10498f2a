//! errno names and their numbers on each architecture.
//!
//! This module owns the errno table: every name a profile may use (`EPERM`, `ENOSYS`, ...)
//! with its number in each of the kernel's numberings. Most architectures use
//! `include/uapi/asm-generic/errno-base.h` and `errno.h`; mips (o32, n32, n64) and parisc
//! number everything from 35 up differently (`arch/mips/include/uapi/asm/errno.h`,
//! `arch/parisc/include/uapi/asm/errno.h`): ENOSYS is 38 generically, 89 on mips and 251 on
//! parisc. The table's facts come from those headers; a test checks the generic column
//! against the machine's own `asm-generic` headers. It does not own what an errno action
//! means ([`crate::bpf::Action`]).
//!
//! An [`Errno`] is a name. Where a profile names an errno (Podman's `errno`, systemd's
//! `:EPERM`, `--deny NAME:ENOSYS`, the ENOSYS rules), the policy keeps the name
//! ([`crate::bpf::Action::NamedErrno`]) and each architecture gets its own number when the policy is
//! compiled or evaluated; a number written as a number stays that number everywhere.
//!
//! ```
//! use sysgate::policy::Errno;
//! use sysgate::Arch;
//!
//! let enosys = Errno::from_name("ENOSYS").unwrap();
//! assert_eq!(enosys.number(Arch::X86_64), 38);
//! assert_eq!(enosys.number(Arch::Mipsel64), 89);
//! assert_eq!(enosys.number(Arch::Parisc), 251);
//! assert_eq!(Errno::name_of(89, Arch::Mips), Some("ENOSYS"));
//! assert_eq!(Errno::name_of(89, Arch::X86_64), Some("EDESTADDRREQ"));
//! ```

use std::fmt;

use crate::arch::Arch;

/// The errno numberings the kernel has (for the architectures sysgate knows).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Numbering {
    /// asm-generic: x86, arm, arm64, riscv, s390, ppc, loongarch, m68k, sh.
    Generic,
    /// mips o32, n32 and n64.
    Mips,
    /// parisc (32- and 64-bit).
    Parisc,
}

impl Numbering {
    /// The numbering `arch` uses.
    pub const fn of(arch: Arch) -> Numbering {
        match arch {
            Arch::Mips
            | Arch::Mipsel
            | Arch::Mips64
            | Arch::Mipsel64
            | Arch::Mips64n32
            | Arch::Mipsel64n32 => Numbering::Mips,
            Arch::Parisc | Arch::Parisc64 => Numbering::Parisc,
            _ => Numbering::Generic,
        }
    }

    const fn column(self) -> usize {
        match self {
            Numbering::Generic => 0,
            Numbering::Mips => 1,
            Numbering::Parisc => 2,
        }
    }
}

/// Every errno name with its number in the generic, mips and parisc numberings. Where two
/// names share a number (EAGAIN and EWOULDBLOCK), the first is the one [`Errno::name_of`]
/// gives.
#[rustfmt::skip]
const TABLE: &[(&str, [u16; 3])] = &[
    ("EPERM", [1, 1, 1]),
    ("ENOENT", [2, 2, 2]),
    ("ESRCH", [3, 3, 3]),
    ("EINTR", [4, 4, 4]),
    ("EIO", [5, 5, 5]),
    ("ENXIO", [6, 6, 6]),
    ("E2BIG", [7, 7, 7]),
    ("ENOEXEC", [8, 8, 8]),
    ("EBADF", [9, 9, 9]),
    ("ECHILD", [10, 10, 10]),
    ("EAGAIN", [11, 11, 11]),
    ("EWOULDBLOCK", [11, 11, 11]),
    ("ENOMEM", [12, 12, 12]),
    ("EACCES", [13, 13, 13]),
    ("EFAULT", [14, 14, 14]),
    ("ENOTBLK", [15, 15, 15]),
    ("EBUSY", [16, 16, 16]),
    ("EEXIST", [17, 17, 17]),
    ("EXDEV", [18, 18, 18]),
    ("ENODEV", [19, 19, 19]),
    ("ENOTDIR", [20, 20, 20]),
    ("EISDIR", [21, 21, 21]),
    ("EINVAL", [22, 22, 22]),
    ("ENFILE", [23, 23, 23]),
    ("EMFILE", [24, 24, 24]),
    ("ENOTTY", [25, 25, 25]),
    ("ETXTBSY", [26, 26, 26]),
    ("EFBIG", [27, 27, 27]),
    ("ENOSPC", [28, 28, 28]),
    ("ESPIPE", [29, 29, 29]),
    ("EROFS", [30, 30, 30]),
    ("EMLINK", [31, 31, 31]),
    ("EPIPE", [32, 32, 32]),
    ("EDOM", [33, 33, 33]),
    ("ERANGE", [34, 34, 34]),
    ("EDEADLK", [35, 45, 45]),
    ("EDEADLOCK", [35, 56, 45]),
    ("ENAMETOOLONG", [36, 78, 248]),
    ("ENOLCK", [37, 46, 46]),
    ("ENOSYS", [38, 89, 251]),
    ("ENOTEMPTY", [39, 93, 247]),
    ("ELOOP", [40, 90, 249]),
    ("ENOMSG", [42, 35, 35]),
    ("EIDRM", [43, 36, 36]),
    ("ECHRNG", [44, 37, 37]),
    ("EL2NSYNC", [45, 38, 38]),
    ("EL3HLT", [46, 39, 39]),
    ("EL3RST", [47, 40, 40]),
    ("ELNRNG", [48, 41, 41]),
    ("EUNATCH", [49, 42, 42]),
    ("ENOCSI", [50, 43, 43]),
    ("EL2HLT", [51, 44, 44]),
    ("EBADE", [52, 50, 160]),
    ("EBADR", [53, 51, 161]),
    ("EXFULL", [54, 52, 162]),
    ("ENOANO", [55, 53, 163]),
    ("EBADRQC", [56, 54, 164]),
    ("EBADSLT", [57, 55, 165]),
    ("EBFONT", [59, 59, 166]),
    ("ENOSTR", [60, 60, 54]),
    ("ENODATA", [61, 61, 51]),
    ("ETIME", [62, 62, 52]),
    ("ENOSR", [63, 63, 53]),
    ("ENONET", [64, 64, 50]),
    ("ENOPKG", [65, 65, 55]),
    ("EREMOTE", [66, 66, 71]),
    ("ENOLINK", [67, 67, 57]),
    ("EADV", [68, 68, 58]),
    ("ESRMNT", [69, 69, 59]),
    ("ECOMM", [70, 70, 60]),
    ("EPROTO", [71, 71, 61]),
    ("EMULTIHOP", [72, 74, 64]),
    ("EDOTDOT", [73, 73, 66]),
    ("EBADMSG", [74, 77, 67]),
    ("EOVERFLOW", [75, 79, 72]),
    ("ENOTUNIQ", [76, 80, 167]),
    ("EBADFD", [77, 81, 168]),
    ("EREMCHG", [78, 82, 169]),
    ("ELIBACC", [79, 83, 170]),
    ("ELIBBAD", [80, 84, 171]),
    ("ELIBSCN", [81, 85, 172]),
    ("ELIBMAX", [82, 86, 173]),
    ("ELIBEXEC", [83, 87, 174]),
    ("EILSEQ", [84, 88, 47]),
    ("ERESTART", [85, 91, 175]),
    ("ESTRPIPE", [86, 92, 176]),
    ("EUSERS", [87, 94, 68]),
    ("ENOTSOCK", [88, 95, 216]),
    ("EDESTADDRREQ", [89, 96, 217]),
    ("EMSGSIZE", [90, 97, 218]),
    ("EPROTOTYPE", [91, 98, 219]),
    ("ENOPROTOOPT", [92, 99, 220]),
    ("EPROTONOSUPPORT", [93, 120, 221]),
    ("ESOCKTNOSUPPORT", [94, 121, 222]),
    ("EOPNOTSUPP", [95, 122, 223]),
    ("ENOTSUP", [95, 122, 252]),
    ("EPFNOSUPPORT", [96, 123, 224]),
    ("EAFNOSUPPORT", [97, 124, 225]),
    ("EADDRINUSE", [98, 125, 226]),
    ("EADDRNOTAVAIL", [99, 126, 227]),
    ("ENETDOWN", [100, 127, 228]),
    ("ENETUNREACH", [101, 128, 229]),
    ("ENETRESET", [102, 129, 230]),
    ("ECONNABORTED", [103, 130, 231]),
    ("ECONNRESET", [104, 131, 232]),
    ("ENOBUFS", [105, 132, 233]),
    ("EISCONN", [106, 133, 234]),
    ("ENOTCONN", [107, 134, 235]),
    ("ESHUTDOWN", [108, 143, 236]),
    ("ETOOMANYREFS", [109, 144, 237]),
    ("ETIMEDOUT", [110, 145, 238]),
    ("ECONNREFUSED", [111, 146, 239]),
    ("EHOSTDOWN", [112, 147, 241]),
    ("EHOSTUNREACH", [113, 148, 242]),
    ("EALREADY", [114, 149, 244]),
    ("EINPROGRESS", [115, 150, 245]),
    ("ESTALE", [116, 151, 70]),
    ("EUCLEAN", [117, 135, 177]),
    ("ENOTNAM", [118, 137, 178]),
    ("ENAVAIL", [119, 138, 179]),
    ("EISNAM", [120, 139, 180]),
    ("EREMOTEIO", [121, 140, 181]),
    ("EDQUOT", [122, 1133, 69]),
    ("ENOMEDIUM", [123, 159, 182]),
    ("EMEDIUMTYPE", [124, 160, 183]),
    ("ECANCELED", [125, 158, 253]),
    ("ENOKEY", [126, 161, 184]),
    ("EKEYEXPIRED", [127, 162, 185]),
    ("EKEYREVOKED", [128, 163, 186]),
    ("EKEYREJECTED", [129, 164, 187]),
    ("EOWNERDEAD", [130, 165, 254]),
    ("ENOTRECOVERABLE", [131, 166, 255]),
    ("ERFKILL", [132, 167, 256]),
    ("EHWPOISON", [133, 168, 257]),
];

/// An errno by name, numbered per architecture ([`Errno::number`]).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(u8);

impl Errno {
    /// `EPERM` (1 everywhere).
    pub const EPERM: Errno = Errno(0);
    /// `EACCES` (13 everywhere).
    pub const EACCES: Errno = Errno(13);
    /// `ENOSYS`: 38, 89 on mips, 251 on parisc.
    pub const ENOSYS: Errno = Errno(39);

    /// The errno called `name` (any case).
    pub fn from_name(name: &str) -> Option<Errno> {
        let upper = name.trim().to_ascii_uppercase();
        TABLE
            .iter()
            .position(|(n, _)| *n == upper)
            .map(|i| Errno(i as u8))
    }

    /// Its name (`"ENOSYS"`).
    pub fn name(self) -> &'static str {
        TABLE[usize::from(self.0)].0
    }

    /// Its number on `arch`.
    pub fn number(self, arch: Arch) -> u16 {
        self.number_in(Numbering::of(arch))
    }

    /// Its number in `numbering`.
    pub const fn number_in(self, numbering: Numbering) -> u16 {
        TABLE[self.0 as usize].1[numbering.column()]
    }

    /// The name of errno number `n` on `arch`, if it has one.
    pub fn name_of(n: u16, arch: Arch) -> Option<&'static str> {
        Errno::name_in(n, Numbering::of(arch))
    }

    /// The name of errno number `n` in `numbering`, if it has one.
    pub fn name_in(n: u16, numbering: Numbering) -> Option<&'static str> {
        let c = numbering.column();
        TABLE.iter().find(|(_, v)| v[c] == n).map(|(name, _)| *name)
    }

    /// Every errno, in the table's order.
    pub fn all() -> impl Iterator<Item = Errno> {
        (0..TABLE.len()).map(|i| Errno(i as u8))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_name_what_they_say() {
        assert_eq!(Errno::EPERM.name(), "EPERM");
        assert_eq!(Errno::EACCES.name(), "EACCES");
        assert_eq!(Errno::ENOSYS.name(), "ENOSYS");
        assert!(TABLE.len() < 256);
    }

    #[test]
    fn mips_and_parisc_number_differently() {
        let n = |name| Errno::from_name(name).unwrap();
        assert_eq!(n("ENOSYS").number(Arch::Mips64n32), 89);
        assert_eq!(n("ENOSYS").number(Arch::Parisc64), 251);
        assert_eq!(n("EDQUOT").number(Arch::Mips), 1133);
        assert_eq!(n("ENOTSUP").number(Arch::Parisc), 252);
        assert_eq!(n("EOPNOTSUPP").number(Arch::Parisc), 223);
        assert_eq!(n("EPERM").number(Arch::Parisc), 1);
        // Every number fits SECCOMP_RET_ERRNO's data.
        for e in Errno::all() {
            for c in [Numbering::Generic, Numbering::Mips, Numbering::Parisc] {
                assert!(e.number_in(c) <= 4095, "{e}"); // the kernel's MAX_ERRNO
            }
        }
    }

    /// The generic column against the machine's own asm-generic headers.
    #[test]
    fn generic_numbers_match_the_installed_kernel_headers() {
        let mut seen = 0;
        for file in ["errno-base.h", "errno.h"] {
            let path = format!("/usr/include/asm-generic/{file}");
            let Ok(text) = std::fs::read_to_string(&path) else {
                eprintln!("{path} is absent (package linux-libc-dev): skipped");
                return;
            };
            for line in text.lines() {
                let mut words = line.split_whitespace();
                if words.next() != Some("#define") {
                    continue;
                }
                let (Some(name), Some(value)) = (words.next(), words.next()) else {
                    continue;
                };
                let Some(e) = Errno::from_name(name) else {
                    continue;
                };
                let n = value
                    .parse::<u16>()
                    .ok()
                    .or_else(|| Errno::from_name(value).map(|a| a.number_in(Numbering::Generic)));
                assert_eq!(Some(e.number_in(Numbering::Generic)), n, "{name}");
                seen += 1;
            }
        }
        assert!(seen > 120, "{seen}");
    }
}
