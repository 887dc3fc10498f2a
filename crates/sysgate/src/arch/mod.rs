//! Architectures: audit tokens, word size, endianness, the x32 bit, multiplexed syscalls,
//! the syscall tables and the errno numberings ([`Errno`]).
//!
//! This module owns every per-architecture fact sysgate uses. It does not know about policies
//! or BPF; the compiler asks it for numbers. Syscall numbers here are always *kernel* numbers:
//! the mips ABI offsets (4000, 5000, 6000) and the x32 bit are already added.
//!
//! ```
//! use sysgate::arch::Arch;
//!
//! let arch: Arch = "amd64".parse()?; // Go/Docker spelling
//! assert_eq!(arch, Arch::X86_64);
//! assert_eq!(arch.audit_arch(), 0xc000_003e);
//! assert_eq!(arch.syscall_number("read"), Some(0));
//! assert_eq!(Arch::X86.syscall_name(102), Some("socketcall"));
//! assert_eq!(Arch::Mips.syscall_number("read"), Some(4003));
//! # Ok::<(), sysgate::arch::UnknownArch>(())
//! ```

mod errno;
pub mod tables;

use std::fmt;
use std::str::FromStr;

pub use errno::{Errno, Numbering};
pub use tables::{SyscallId, SyscallTable};

/// Byte order of an architecture.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

/// The x32 ABI marks its syscall numbers with this bit (`__X32_SYSCALL_BIT`).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
const AUDIT_ARCH_LE: u32 = 0x4000_0000;
const AUDIT_ARCH_MIPS_N32: u32 = 0x2000_0000;

/// A Linux architecture (ABI) that seccomp filters can target.
///
/// The set is libseccomp's. Little- and big-endian twins share a syscall table but have their
/// own audit token and byte order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Arch {
    /// 32-bit x86 (i386), also the compat ABI on x86_64 kernels.
    X86,
    /// 64-bit x86.
    X86_64,
    /// The x32 ABI on x86_64 kernels (numbers carry [`X32_SYSCALL_BIT`]).
    X32,
    /// 32-bit ARM EABI, little-endian.
    Arm,
    /// 64-bit ARM.
    Aarch64,
    /// 64-bit LoongArch.
    Loongarch64,
    /// Motorola 68000.
    M68k,
    /// MIPS o32, big-endian.
    Mips,
    /// MIPS o32, little-endian.
    Mipsel,
    /// MIPS n64, big-endian.
    Mips64,
    /// MIPS n64, little-endian.
    Mipsel64,
    /// MIPS n32, big-endian.
    Mips64n32,
    /// MIPS n32, little-endian.
    Mipsel64n32,
    /// 32-bit PA-RISC.
    Parisc,
    /// 64-bit PA-RISC.
    Parisc64,
    /// 32-bit PowerPC, big-endian.
    Ppc,
    /// 64-bit PowerPC, big-endian.
    Ppc64,
    /// 64-bit PowerPC, little-endian.
    Ppc64le,
    /// 64-bit RISC-V.
    Riscv64,
    /// 31-bit s390.
    S390,
    /// 64-bit s390x.
    S390x,
    /// SuperH, little-endian (libseccomp's `sh`).
    Sh,
    /// SuperH, big-endian.
    Sheb,
}

/// Which multiplexer a call goes through on architectures that have one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Multiplexer {
    /// `socketcall(call, args)`.
    Socketcall,
    /// `ipc(call, ...)`.
    Ipc,
}

/// How a syscall is reached through a multiplexer on one architecture.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Multiplexed {
    /// The multiplexer.
    pub via: Multiplexer,
    /// The multiplexer's own syscall number on this architecture.
    pub syscall: u32,
    /// The call number passed as its first argument (`SYS_SOCKET` = 1, `SEMOP` = 1, ...).
    pub call: u32,
}

/// The calls `socketcall` dispatches, with their `SYS_*` numbers (linux/net.h).
pub const SOCKETCALL_CALLS: &[(&str, u32)] = &[
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// The calls `ipc` dispatches, with their call numbers (linux/ipc.h).
pub const IPC_CALLS: &[(&str, u32)] = &[
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// An architecture spelling that no convention recognises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture {input:?}; valid: {}", Arch::valid_names())]
pub struct UnknownArch {
    /// What was given.
    pub input: String,
}

impl Arch {
    /// Every architecture, in libseccomp's order.
    pub const ALL: [Arch; 23] = [
        Arch::X86,
        Arch::X86_64,
        Arch::X32,
        Arch::Arm,
        Arch::Aarch64,
        Arch::Loongarch64,
        Arch::M68k,
        Arch::Mips,
        Arch::Mipsel,
        Arch::Mips64,
        Arch::Mipsel64,
        Arch::Mips64n32,
        Arch::Mipsel64n32,
        Arch::Parisc,
        Arch::Parisc64,
        Arch::Ppc,
        Arch::Ppc64,
        Arch::Ppc64le,
        Arch::Riscv64,
        Arch::S390,
        Arch::S390x,
        Arch::Sh,
        Arch::Sheb,
    ];

    /// libseccomp's name for the architecture (`x86_64`, `mipsel64n32`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X86_64 => "x86_64",
            Arch::X32 => "x32",
            Arch::Arm => "arm",
            Arch::Aarch64 => "aarch64",
            Arch::Loongarch64 => "loongarch64",
            Arch::M68k => "m68k",
            Arch::Mips => "mips",
            Arch::Mipsel => "mipsel",
            Arch::Mips64 => "mips64",
            Arch::Mipsel64 => "mipsel64",
            Arch::Mips64n32 => "mips64n32",
            Arch::Mipsel64n32 => "mipsel64n32",
            Arch::Parisc => "parisc",
            Arch::Parisc64 => "parisc64",
            Arch::Ppc => "ppc",
            Arch::Ppc64 => "ppc64",
            Arch::Ppc64le => "ppc64le",
            Arch::Riscv64 => "riscv64",
            Arch::S390 => "s390",
            Arch::S390x => "s390x",
            Arch::Sh => "sh",
            Arch::Sheb => "sheb",
        }
    }

    /// The ELF machine number (`EM_*`) in the audit token.
    const fn elf_machine(self) -> u32 {
        match self {
            Arch::X86 => 3,
            Arch::X86_64 | Arch::X32 => 62,
            Arch::Arm => 40,
            Arch::Aarch64 => 183,
            Arch::Loongarch64 => 258,
            Arch::M68k => 4,
            Arch::Mips
            | Arch::Mipsel
            | Arch::Mips64
            | Arch::Mipsel64
            | Arch::Mips64n32
            | Arch::Mipsel64n32 => 8,
            Arch::Parisc | Arch::Parisc64 => 15,
            Arch::Ppc => 20,
            Arch::Ppc64 | Arch::Ppc64le => 21,
            Arch::Riscv64 => 243,
            Arch::S390 | Arch::S390x => 22,
            Arch::Sh | Arch::Sheb => 42,
        }
    }

    /// The `AUDIT_ARCH_*` token the kernel puts in `seccomp_data.arch` for this ABI.
    ///
    /// x32 shares x86_64's token (`0xc000003e`); the kernel tells them apart by the x32 bit in
    /// the syscall number.
    pub const fn audit_arch(self) -> u32 {
        let mut token = self.elf_machine();
        if self.is_abi_64bit_kernel_token() {
            token |= AUDIT_ARCH_64BIT;
        }
        if matches!(self.endian(), Endian::Little) {
            token |= AUDIT_ARCH_LE;
        }
        if matches!(self, Arch::Mips64n32 | Arch::Mipsel64n32) {
            token |= AUDIT_ARCH_MIPS_N32;
        }
        token
    }

    /// Whether the audit token carries `__AUDIT_ARCH_64BIT` (true for x32 and mips n32 too).
    const fn is_abi_64bit_kernel_token(self) -> bool {
        self.word_bits() == 64 || matches!(self, Arch::X32 | Arch::Mips64n32 | Arch::Mipsel64n32)
    }

    /// libseccomp's `SCMP_ARCH_*` token. Equal to [`Arch::audit_arch`] except for x32, whose
    /// libseccomp token is `EM_X86_64 | __AUDIT_ARCH_LE` (`0x4000003e`).
    pub const fn libseccomp_token(self) -> u32 {
        match self {
            Arch::X32 => 62 | AUDIT_ARCH_LE,
            other => other.audit_arch(),
        }
    }

    /// The ABI's word (pointer) size in bits: 32 or 64. x32 and mips n32 are 32-bit ABIs.
    pub const fn word_bits(self) -> u32 {
        match self {
            Arch::X86_64
            | Arch::Aarch64
            | Arch::Loongarch64
            | Arch::Mips64
            | Arch::Mipsel64
            | Arch::Parisc64
            | Arch::Ppc64
            | Arch::Ppc64le
            | Arch::Riscv64
            | Arch::S390x => 64,
            _ => 32,
        }
    }

    /// Whether syscall arguments reach the filter as full 64-bit values.
    ///
    /// True on 64-bit ABIs and on x32, whose calls run on an x86_64 kernel with 64-bit
    /// registers (libseccomp compares only the low word on x32; sysgate compares both, so a
    /// rule can never match more than it says). On the other 32-bit ABIs only the low word
    /// of each argument exists.
    pub const fn args_are_64bit(self) -> bool {
        self.word_bits() == 64 || matches!(self, Arch::X32)
    }

    /// Byte order.
    pub const fn endian(self) -> Endian {
        match self {
            Arch::M68k
            | Arch::Mips
            | Arch::Mips64
            | Arch::Mips64n32
            | Arch::Parisc
            | Arch::Parisc64
            | Arch::Ppc
            | Arch::Ppc64
            | Arch::S390
            | Arch::S390x
            | Arch::Sheb => Endian::Big,
            _ => Endian::Little,
        }
    }

    /// The bit that marks this ABI's syscall numbers (x32 only).
    pub const fn x32_bit(self) -> Option<u32> {
        match self {
            Arch::X32 => Some(X32_SYSCALL_BIT),
            _ => None,
        }
    }

    /// The number a mips ABI adds to its syscall numbers (o32 4000, n64 5000, n32 6000).
    const fn mips_abi_base(self) -> Option<u32> {
        match self {
            Arch::Mips | Arch::Mipsel => Some(4000),
            Arch::Mips64 | Arch::Mipsel64 => Some(5000),
            Arch::Mips64n32 | Arch::Mipsel64n32 => Some(6000),
            _ => None,
        }
    }

    /// The syscall table this architecture uses.
    pub fn table(self) -> &'static SyscallTable {
        use tables::*;
        match self {
            Arch::X86 => &x86::TABLE,
            Arch::X86_64 => &x86_64::TABLE,
            Arch::X32 => &x32::TABLE,
            Arch::Arm => &arm::TABLE,
            Arch::Aarch64 => &aarch64::TABLE,
            Arch::Loongarch64 => &loongarch64::TABLE,
            Arch::M68k => &m68k::TABLE,
            Arch::Mips | Arch::Mipsel => &mips::TABLE,
            Arch::Mips64 | Arch::Mipsel64 => &mips64::TABLE,
            Arch::Mips64n32 | Arch::Mipsel64n32 => &mips64n32::TABLE,
            Arch::Parisc => &parisc::TABLE,
            Arch::Parisc64 => &parisc64::TABLE,
            Arch::Ppc => &ppc::TABLE,
            Arch::Ppc64 | Arch::Ppc64le => &ppc64::TABLE,
            Arch::Riscv64 => &riscv64::TABLE,
            Arch::S390 => &s390::TABLE,
            Arch::S390x => &s390x::TABLE,
            Arch::Sh | Arch::Sheb => &sh::TABLE,
        }
    }

    /// The kernel number of the direct syscall `name` on this architecture.
    ///
    /// `None` when the architecture has no such syscall (it may still be reachable through a
    /// multiplexer: see [`Arch::multiplexed`]).
    pub fn syscall_number(self, name: &str) -> Option<u32> {
        self.table().number(name)
    }

    /// [`Arch::syscall_number`] for a name already looked up: one array read.
    pub fn syscall_number_of(self, id: SyscallId) -> Option<u32> {
        self.table().number_of(id)
    }

    /// The name of kernel syscall number `nr` on this architecture.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        self.table().name(nr)
    }

    /// The newest syscall this architecture's table knows (name, kernel number).
    pub fn newest_syscall(self) -> (&'static str, u32) {
        self.table().newest
    }

    /// The kernel number of a multiplexer on this architecture, if it has one.
    pub fn multiplexer_number(self, mux: Multiplexer) -> Option<u32> {
        match mux {
            Multiplexer::Socketcall => self.syscall_number("socketcall"),
            Multiplexer::Ipc => self.syscall_number("ipc"),
        }
    }

    /// Whether this architecture has `socketcall`/`ipc` (its table does: x86, m68k, mips o32,
    /// ppc, ppc64, s390, s390x, sh). A test checks this against the tables.
    pub const fn has_multiplexers(self) -> bool {
        matches!(
            self,
            Arch::X86
                | Arch::M68k
                | Arch::Mips
                | Arch::Mipsel
                | Arch::Ppc
                | Arch::Ppc64
                | Arch::Ppc64le
                | Arch::S390
                | Arch::S390x
                | Arch::Sh
                | Arch::Sheb
        )
    }

    /// How `name` is reached through `socketcall`/`ipc` here, if this architecture has the
    /// multiplexer and `name` is one of its calls.
    pub fn multiplexed(self, name: &str) -> Option<Multiplexed> {
        if !self.has_multiplexers() {
            return None;
        }
        for (via, calls) in [
            (Multiplexer::Socketcall, SOCKETCALL_CALLS),
            (Multiplexer::Ipc, IPC_CALLS),
        ] {
            if let Some((_, call)) = calls.iter().find(|(n, _)| *n == name) {
                let syscall = self.multiplexer_number(via)?;
                return Some(Multiplexed {
                    via,
                    syscall,
                    call: *call,
                });
            }
        }
        None
    }

    /// Every call that goes through a multiplexer on this architecture.
    pub fn multiplexed_calls(self) -> impl Iterator<Item = (&'static str, Multiplexed)> {
        SOCKETCALL_CALLS
            .iter()
            .chain(IPC_CALLS)
            .filter_map(move |(name, _)| self.multiplexed(name).map(|m| (*name, m)))
    }

    /// The architecture this program was built for.
    pub const fn native() -> Arch {
        #[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
        return Arch::X86_64;
        #[cfg(all(target_arch = "x86_64", target_pointer_width = "32"))]
        return Arch::X32;
        #[cfg(target_arch = "x86")]
        return Arch::X86;
        #[cfg(target_arch = "aarch64")]
        return Arch::Aarch64;
        #[cfg(target_arch = "arm")]
        return Arch::Arm;
        #[cfg(target_arch = "loongarch64")]
        return Arch::Loongarch64;
        #[cfg(target_arch = "m68k")]
        return Arch::M68k;
        #[cfg(all(target_arch = "mips", target_endian = "big"))]
        return Arch::Mips;
        #[cfg(all(target_arch = "mips", target_endian = "little"))]
        return Arch::Mipsel;
        #[cfg(all(
            target_arch = "mips64",
            target_pointer_width = "64",
            target_endian = "big"
        ))]
        return Arch::Mips64;
        #[cfg(all(
            target_arch = "mips64",
            target_pointer_width = "64",
            target_endian = "little"
        ))]
        return Arch::Mipsel64;
        #[cfg(all(
            target_arch = "mips64",
            target_pointer_width = "32",
            target_endian = "big"
        ))]
        return Arch::Mips64n32;
        #[cfg(all(
            target_arch = "mips64",
            target_pointer_width = "32",
            target_endian = "little"
        ))]
        return Arch::Mipsel64n32;
        #[cfg(target_arch = "powerpc")]
        return Arch::Ppc;
        #[cfg(all(target_arch = "powerpc64", target_endian = "big"))]
        return Arch::Ppc64;
        #[cfg(all(target_arch = "powerpc64", target_endian = "little"))]
        return Arch::Ppc64le;
        #[cfg(target_arch = "riscv64")]
        return Arch::Riscv64;
        #[cfg(target_arch = "s390x")]
        return Arch::S390x;
        #[allow(unreachable_code)]
        {
            panic!("sysgate does not know this target architecture")
        }
    }

    /// The architecture of a Rust target, from its `target_arch`, `target_endian` and
    /// `target_pointer_width` (what [`Arch::native`] is for the target being built). The
    /// arch name alone is not enough: `powerpc64` is ppc64 or ppc64le, `mips` is mips or
    /// mipsel, and `x86_64` with 32-bit pointers is x32.
    ///
    /// ```
    /// use sysgate::Arch;
    ///
    /// assert_eq!(Arch::from_rust_target("powerpc64", "little", "64"), Ok(Arch::Ppc64le));
    /// assert_eq!(Arch::from_rust_target("x86_64", "little", "32"), Ok(Arch::X32));
    /// assert!(Arch::from_rust_target("sparc64", "big", "64").is_err());
    /// ```
    pub fn from_rust_target(
        target_arch: &str,
        endian: &str,
        pointer_width: &str,
    ) -> Result<Arch, UnknownArch> {
        let little = endian == "little";
        let wide = pointer_width == "64";
        let arch = match target_arch {
            "x86_64" if wide => Arch::X86_64,
            "x86_64" => Arch::X32,
            "x86" => Arch::X86,
            "aarch64" => Arch::Aarch64,
            "arm" => Arch::Arm,
            "loongarch64" => Arch::Loongarch64,
            "m68k" => Arch::M68k,
            "mips" if little => Arch::Mipsel,
            "mips" => Arch::Mips,
            "mips64" => match (wide, little) {
                (true, false) => Arch::Mips64,
                (true, true) => Arch::Mipsel64,
                (false, false) => Arch::Mips64n32,
                (false, true) => Arch::Mipsel64n32,
            },
            "powerpc" => Arch::Ppc,
            "powerpc64" if little => Arch::Ppc64le,
            "powerpc64" => Arch::Ppc64,
            "riscv64" => Arch::Riscv64,
            "s390x" => Arch::S390x,
            _ => {
                return Err(UnknownArch {
                    input: format!("{target_arch} ({endian}-endian, {pointer_width}-bit)"),
                })
            }
        };
        Ok(arch)
    }

    /// In a build script: the architecture of the target being built, from the
    /// `CARGO_CFG_TARGET_ARCH`, `CARGO_CFG_TARGET_ENDIAN` and `CARGO_CFG_TARGET_POINTER_WIDTH`
    /// variables Cargo sets ([`Arch::from_rust_target`]). Parsing `CARGO_CFG_TARGET_ARCH`
    /// alone would compile a ppc64le target's filter for ppc64, whose calls the kernel
    /// then reports under another audit token: the program would be killed at its first
    /// call.
    pub fn cargo_target() -> Result<Arch, UnknownArch> {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Arch::from_rust_target(
            &var("CARGO_CFG_TARGET_ARCH"),
            &var("CARGO_CFG_TARGET_ENDIAN"),
            &var("CARGO_CFG_TARGET_POINTER_WIDTH"),
        )
    }

    /// The architecture whose audit token is `token` (x86_64 for `0xc000003e`, which x32
    /// shares).
    pub fn from_audit_arch(token: u32) -> Option<Arch> {
        Arch::ALL
            .into_iter()
            .find(|a| *a != Arch::X32 && a.audit_arch() == token)
    }

    /// The architecture whose libseccomp `SCMP_ARCH_*` token is `token`.
    pub fn from_libseccomp_token(token: u32) -> Option<Arch> {
        Arch::ALL
            .into_iter()
            .find(|a| a.libseccomp_token() == token)
    }

    /// Every accepted spelling, for error messages: libseccomp names plus the common aliases.
    pub fn valid_names() -> String {
        let mut s: String = Arch::ALL
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", ");
        s.push_str(
            " (also SCMP_ARCH_*, Go/Docker names such as amd64, arm64, 386, ppc64le, \
             systemd names such as x86-64, mips64-le, native, LXC names such as i386, armhf, \
             and audit tokens such as 0xc000003e)",
        );
        s
    }

    /// Parse any spelling users meet; see [`Arch::valid_names`].
    ///
    /// Accepted, case-insensitively: libseccomp names (`x86_64`), `SCMP_ARCH_X86_64`, Go and
    /// Docker names (`amd64`, `arm64`, `386`, `mips64le`, `loong64`), systemd names (`x86-64`,
    /// `mips64-le-n32`, `native`), LXC section and Debian names (`i386`, `i686`, `armhf`,
    /// `armel`, `ppc64el`), `uname -m` names (`armv7l`, `ppc64le`) and audit tokens in hex
    /// (`0xc000003e`).
    pub fn parse(input: &str) -> Result<Arch, UnknownArch> {
        let unknown = || UnknownArch {
            input: input.to_string(),
        };
        let trimmed = input.trim();
        let lower = trimmed.to_ascii_lowercase();
        if let Some(hex) = lower.strip_prefix("0x") {
            let token = u32::from_str_radix(hex, 16).map_err(|_| unknown())?;
            return Arch::from_audit_arch(token)
                .or_else(|| Arch::from_libseccomp_token(token))
                .ok_or_else(unknown);
        }
        let name = lower.strip_prefix("scmp_arch_").unwrap_or(&lower);
        if let Some(arch) = Arch::ALL.into_iter().find(|a| a.name() == name) {
            return Ok(arch);
        }
        let arch = match name {
            "native" => Arch::native(),
            // Go / Docker / Debian / LXC / uname spellings.
            "386" | "i386" | "i486" | "i586" | "i686" | "ia32" => Arch::X86,
            "amd64" | "x86-64" | "x64" => Arch::X86_64,
            "arm64" | "armv8" | "armv8l" => Arch::Aarch64,
            "armel" | "armhf" | "armv7" | "armv7l" | "armv6l" | "armv5tel" | "armeabi" => Arch::Arm,
            "loong64" => Arch::Loongarch64,
            "mipsle" | "mips-le" => Arch::Mipsel,
            "mips64le" | "mips64el" | "mips64-le" => Arch::Mipsel64,
            "mips64p32" | "mips64-n32" | "mipsn32" => Arch::Mips64n32,
            "mips64p32le" | "mips64-le-n32" | "mipsel64-n32" | "mipsn32el" => Arch::Mipsel64n32,
            "hppa" | "parisc32" => Arch::Parisc,
            "hppa64" => Arch::Parisc64,
            "powerpc" | "ppc32" => Arch::Ppc,
            "powerpc64" => Arch::Ppc64,
            "ppc64el" | "ppc64-le" | "powerpc64le" => Arch::Ppc64le,
            "riscv" | "riscv-64" => Arch::Riscv64,
            "s390-x" => Arch::S390x,
            "sh4" | "shel" | "sh-le" => Arch::Sh,
            "sh4eb" | "sh-be" => Arch::Sheb,
            _ => return Err(unknown()),
        };
        Ok(arch)
    }

    /// What libseccomp's `seccomp_syscall_resolve_name_arch` returns for `name`:
    /// the kernel number, or on architectures with `socketcall`/`ipc` a multiplexed call's
    /// pseudo number (`socket` is -101 on x86), or the pseudo number of a name this
    /// architecture lacks, or -1 (`__NR_SCMP_ERROR`) for a name no table knows.
    pub fn libseccomp_resolve_name(self, name: &str) -> i32 {
        if self.multiplexed(name).is_some() {
            if let Some(pseudo) = tables::pseudo_number(name) {
                return pseudo;
            }
        }
        match self.syscall_number(name) {
            Some(nr) => nr as i32,
            None => tables::pseudo_number(name).unwrap_or(-1),
        }
    }

    /// libseccomp's `seccomp_syscall_resolve_name_rewrite`: like
    /// [`Arch::libseccomp_resolve_name`], but a multiplexed call's pseudo number becomes the
    /// multiplexer's syscall number (`socket` on x86 is 102).
    pub fn libseccomp_resolve_name_rewrite(self, name: &str) -> i32 {
        let nr = self.libseccomp_resolve_name(name);
        match nr {
            -120..=-100 => self
                .multiplexer_number(Multiplexer::Socketcall)
                .map_or(nr, |n| n as i32),
            -224..=-200 => self
                .multiplexer_number(Multiplexer::Ipc)
                .map_or(nr, |n| n as i32),
            _ => nr,
        }
    }

    /// The name libseccomp's `seccomp_syscall_resolve_num_arch` gives number `nr`: a kernel
    /// number's syscall, or for a negative number the pseudo syscall it stands for here (a
    /// multiplexed call, or a name this architecture lacks). As libseccomp does, a number
    /// given without its ABI's marker is read with it: x32's 0 is `read` (0x40000000), and
    /// mips o32's 1 is `exit` (4001), as are n64's 5000 + n and n32's 6000 + n.
    pub fn libseccomp_resolve_number(self, nr: i64) -> Option<&'static str> {
        if nr >= 0 {
            let n = u32::try_from(nr).ok()?;
            let n = match (self.x32_bit(), self.mips_abi_base()) {
                (Some(bit), _) => n | bit,
                (None, Some(base)) if n < base => n + base,
                _ => n,
            };
            return self.syscall_name(n);
        }
        let pseudo = i32::try_from(nr).ok()?;
        let name = tables::pseudo_name(pseudo)?;
        let via_mux = self.multiplexed(name).is_some();
        (via_mux || self.syscall_number(name).is_none()).then_some(name)
    }
}

/// The ABI a call with this audit token and number belongs to: x32 for numbers with the x32
/// bit on the x86_64 token; `None` for a token sysgate does not know.
///
/// ```
/// use sysgate::arch::abi_of;
/// use sysgate::Arch;
///
/// assert_eq!(abi_of(0xc000_003e, 59), Some(Arch::X86_64));
/// assert_eq!(abi_of(0xc000_003e, 0x4000_0000 + 59), Some(Arch::X32));
/// assert_eq!(abi_of(0x4000_0003, 11), Some(Arch::X86));
/// assert_eq!(abi_of(0x1234, 1), None);
/// ```
pub fn abi_of(audit_arch: u32, nr: u32) -> Option<Arch> {
    let arch = Arch::from_audit_arch(audit_arch)?;
    if arch == Arch::X86_64 && nr != u32::MAX && nr >= X32_SYSCALL_BIT {
        Some(Arch::X32)
    } else {
        Some(arch)
    }
}

/// Whether any architecture's table knows `name`.
pub fn is_known_syscall(name: &str) -> bool {
    tables::known_anywhere(name)
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = UnknownArch;
    fn from_str(s: &str) -> Result<Arch, UnknownArch> {
        Arch::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A build script that parsed CARGO_CFG_TARGET_ARCH alone (as docs/library.md's recipe
    /// did) compiled ppc64le's filter for ppc64 and mipsel's for mips: the byte order and
    /// pointer width pick the ABI.
    #[test]
    fn a_rust_target_is_told_apart_by_byte_order_and_pointer_width() {
        let cases = [
            (("powerpc64", "little", "64"), Arch::Ppc64le),
            (("powerpc64", "big", "64"), Arch::Ppc64),
            (("mips", "little", "32"), Arch::Mipsel),
            (("mips64", "little", "32"), Arch::Mipsel64n32),
            (("x86_64", "little", "32"), Arch::X32),
            (("x86_64", "little", "64"), Arch::X86_64),
        ];
        for ((arch, endian, width), expected) in cases {
            assert_eq!(
                Arch::from_rust_target(arch, endian, width),
                Ok(expected),
                "{arch} {endian} {width}"
            );
        }
        let width = if cfg!(target_pointer_width = "64") {
            "64"
        } else {
            "32"
        };
        let endian = if cfg!(target_endian = "little") {
            "little"
        } else {
            "big"
        };
        assert_eq!(
            Arch::from_rust_target(std::env::consts::ARCH, endian, width),
            Ok(Arch::native())
        );
        let err = Arch::from_rust_target("sparc64", "big", "64").unwrap_err();
        assert!(err.to_string().contains("sparc64"), "{err}");
    }

    #[test]
    fn audit_tokens_match_the_kernel_headers() {
        let expected = [
            (Arch::X86, 0x4000_0003),
            (Arch::X86_64, 0xc000_003e),
            (Arch::X32, 0xc000_003e),
            (Arch::Arm, 0x4000_0028),
            (Arch::Aarch64, 0xc000_00b7),
            (Arch::Loongarch64, 0xc000_0102),
            (Arch::M68k, 0x0000_0004),
            (Arch::Mips, 0x0000_0008),
            (Arch::Mipsel, 0x4000_0008),
            (Arch::Mips64, 0x8000_0008),
            (Arch::Mipsel64, 0xc000_0008),
            (Arch::Mips64n32, 0xa000_0008),
            (Arch::Mipsel64n32, 0xe000_0008),
            (Arch::Parisc, 0x0000_000f),
            (Arch::Parisc64, 0x8000_000f),
            (Arch::Ppc, 0x0000_0014),
            (Arch::Ppc64, 0x8000_0015),
            (Arch::Ppc64le, 0xc000_0015),
            (Arch::Riscv64, 0xc000_00f3),
            (Arch::S390, 0x0000_0016),
            (Arch::S390x, 0x8000_0016),
            (Arch::Sh, 0x4000_002a),
            (Arch::Sheb, 0x0000_002a),
        ];
        assert_eq!(expected.len(), Arch::ALL.len());
        for (arch, token) in expected {
            assert_eq!(arch.audit_arch(), token, "{arch}");
        }
        assert_eq!(Arch::X32.libseccomp_token(), 0x4000_003e);
    }

    #[test]
    fn parses_every_convention() {
        let cases = [
            ("x86_64", Arch::X86_64),
            ("SCMP_ARCH_X86_64", Arch::X86_64),
            ("amd64", Arch::X86_64),
            ("x86-64", Arch::X86_64),
            ("0xc000003e", Arch::X86_64),
            ("0x4000003e", Arch::X32),
            ("386", Arch::X86),
            ("i686", Arch::X86),
            ("arm64", Arch::Aarch64),
            ("armhf", Arch::Arm),
            ("ppc64le", Arch::Ppc64le),
            ("ppc64-le", Arch::Ppc64le),
            ("mips64-le", Arch::Mipsel64),
            ("mips64-le-n32", Arch::Mipsel64n32),
            ("SCMP_ARCH_MIPSEL64N32", Arch::Mipsel64n32),
            ("loong64", Arch::Loongarch64),
            ("sheb", Arch::Sheb),
            ("native", Arch::native()),
        ];
        for (s, arch) in cases {
            assert_eq!(Arch::parse(s), Ok(arch), "{s}");
        }
        for arch in Arch::ALL {
            assert_eq!(arch.name().parse::<Arch>(), Ok(arch));
            if arch != Arch::X32 {
                assert_eq!(Arch::from_audit_arch(arch.audit_arch()), Some(arch));
            }
        }
    }

    #[test]
    fn unknown_spelling_lists_valid_ones() {
        let err = Arch::parse("vax").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"vax\"") && msg.contains("x86_64") && msg.contains("mipsel64n32"));
        assert!(Arch::parse("0xdeadbeef").is_err());
        assert!(Arch::parse("0xzz").is_err());
    }

    #[test]
    fn multiplexers_follow_the_tables() {
        let m = Arch::X86.multiplexed("socket").unwrap();
        assert_eq!(
            (m.via, m.syscall, m.call),
            (Multiplexer::Socketcall, 102, 1)
        );
        let m = Arch::X86.multiplexed("shmctl").unwrap();
        assert_eq!((m.via, m.syscall, m.call), (Multiplexer::Ipc, 117, 24));
        assert_eq!(Arch::Mips.multiplexed("socket").unwrap().syscall, 4102);
        assert!(Arch::X86_64.multiplexed("socket").is_none());
        assert!(Arch::Aarch64.multiplexed("semop").is_none());
        assert_eq!(Arch::S390x.multiplexed_calls().count(), 32);
        let with_mux: Vec<_> = Arch::ALL
            .into_iter()
            .filter(|a| a.multiplexer_number(Multiplexer::Socketcall).is_some())
            .collect();
        for arch in Arch::ALL {
            assert_eq!(
                arch.has_multiplexers(),
                with_mux.contains(&arch) || arch.multiplexer_number(Multiplexer::Ipc).is_some(),
                "{arch}"
            );
        }
        assert_eq!(
            with_mux,
            [
                Arch::X86,
                Arch::M68k,
                Arch::Mips,
                Arch::Mipsel,
                Arch::Ppc,
                Arch::Ppc64,
                Arch::Ppc64le,
                Arch::S390,
                Arch::S390x,
                Arch::Sh,
                Arch::Sheb
            ]
        );
    }

    #[test]
    fn libseccomp_resolution_rules() {
        assert_eq!(Arch::X86.libseccomp_resolve_name("socket"), -101);
        assert_eq!(Arch::X86.libseccomp_resolve_name_rewrite("socket"), 102);
        assert_eq!(Arch::Mips.libseccomp_resolve_name_rewrite("socket"), 4102);
        assert_eq!(Arch::X86_64.libseccomp_resolve_name("socket"), 41);
        assert_eq!(Arch::X32.libseccomp_resolve_name("socket"), 0x4000_0029);
        assert_eq!(Arch::Arm.libseccomp_resolve_name("arch_prctl"), -10001);
        assert_eq!(
            Arch::Arm.libseccomp_resolve_name_rewrite("arch_prctl"),
            -10001
        );
        assert_eq!(Arch::X86_64.libseccomp_resolve_name("no_such_call"), -1);
        assert_eq!(
            Arch::Arm.libseccomp_resolve_number(-10001),
            Some("arch_prctl")
        );
        assert_eq!(Arch::X86.libseccomp_resolve_number(-10001), None);
        assert_eq!(Arch::X86.libseccomp_resolve_number(-101), Some("socket"));
        assert_eq!(Arch::X86_64.libseccomp_resolve_number(-101), None);
        assert_eq!(Arch::X86_64.libseccomp_resolve_number(99_999), None);
    }

    #[test]
    fn newest_syscall_is_recorded_per_table() {
        for arch in Arch::ALL {
            let (name, nr) = arch.newest_syscall();
            assert_eq!(arch.syscall_number(name), Some(nr), "{arch}");
        }
        assert_eq!(
            Arch::Mips64.newest_syscall().1 - 5000,
            Arch::Aarch64.newest_syscall().1
        );
    }
}
