//! The kernel's seccomp action cache check (Linux 5.11+): can the kernel prove, knowing only
//! the syscall number and arch, that a filter allows the call, and so skip running it?
//!
//! This file mirrors `seccomp_is_const_allow` in `kernel/seccomp.c`. When a filter is
//! attached the kernel runs this restricted emulation for every syscall number of the native
//! (and compat) arch and records the numbers that come out as constant ALLOW in a bitmap;
//! later calls of those numbers skip every filter. Only a small subset of instructions is
//! understood; anything else means "not cacheable", even when the real answer would be
//! ALLOW. It does not model which arches have the cache or which numbers fit the kernel's
//! bitmap (x32's numbers never do), nor the kernel's uretprobe/uprobe exception (6.14+),
//! which caches those calls whatever the filter says.

use super::decode::{decode, AluOp, Cond, Op, Src};
use super::insn::data;
use super::program::Program;
use super::ret;
use crate::arch::Arch;

impl Program {
    /// Whether the kernel's action cache would always allow syscall `nr` on `arch` without
    /// running this filter (`seccomp_is_const_allow`).
    ///
    /// The kernel emulates the filter knowing only `nr` and the arch token: `ld [0]` and
    /// `ld [4]` load them, `and #k` masks, `ja` and `jeq`/`jge`/`jgt`/`jset` against a
    /// constant are decided, and the first `ret #k` gives the answer (cached only if it is
    /// exactly `SECCOMP_RET_ALLOW`). Any other instruction on the path (an argument load, a
    /// comparison with X, `ret a`, ...) makes the call uncacheable. A program the kernel would
    /// refuse caches nothing.
    ///
    /// ```
    /// use sysgate::arch::{Arch, Endian};
    /// use sysgate::bpf::{data, op, Insn, Program};
    ///
    /// // read (0) is allowed outright; write (1) only when its first argument is 1.
    /// let p = Program::new(
    ///     vec![
    ///         Insn::load(data::NR),
    ///         Insn::jump(op::JEQ, 0, 3, 0),
    ///         Insn::jump(op::JEQ, 1, 0, 3),
    ///         Insn::load(data::ARGS),
    ///         Insn::jump(op::JEQ, 1, 0, 1),
    ///         Insn::ret(0x7fff_0000),
    ///         Insn::ret(0x0005_0001),
    ///     ],
    ///     Endian::Little,
    /// );
    /// assert!(p.kernel_caches(Arch::X86_64, 0));
    /// assert!(!p.kernel_caches(Arch::X86_64, 1)); // needs an argument
    /// assert!(!p.kernel_caches(Arch::X86_64, 2)); // ERRNO, not ALLOW
    /// ```
    pub fn kernel_caches(&self, arch: Arch, nr: u32) -> bool {
        self.validate().is_ok() && const_allow(self, nr, arch.audit_arch())
    }
}

/// Whether the kernel caches `nr` on `arch` as allowed when all of `programs` are attached:
/// only if every one of them is constant-allow for it (each new filter's bitmap is the
/// previous one's, narrowed). With no filters at all, every call is allowed.
///
/// ```
/// use sysgate::arch::{Arch, Endian};
/// use sysgate::bpf::{kernel_caches_all, Insn, Program};
///
/// let allow = Program::new(vec![Insn::ret(0x7fff_0000)], Endian::Little);
/// let log = Program::new(vec![Insn::ret(0x7ffc_0000)], Endian::Little);
/// assert!(kernel_caches_all(&[allow.clone(), allow.clone()], Arch::X86_64, 0));
/// assert!(!kernel_caches_all(&[allow, log], Arch::X86_64, 0));
/// ```
pub fn kernel_caches_all(programs: &[Program], arch: Arch, nr: u32) -> bool {
    programs.iter().all(|p| p.kernel_caches(arch, nr))
}

/// `seccomp_is_const_allow`, on a valid program.
fn const_allow(program: &Program, nr: u32, arch_token: u32) -> bool {
    let insns = program.insns();
    let mut value: u32 = 0;
    let mut pc: usize = 0;
    while let Some(insn) = insns.get(pc) {
        let k = insn.k;
        match decode(insn.code) {
            Some(Op::LdAbs) => match k {
                data::NR => value = nr,
                data::ARCH => value = arch_token,
                _ => return false, // depends on arguments or the instruction pointer
            },
            Some(Op::RetK) => return k == ret::ALLOW,
            Some(Op::Ja) => pc = pc.saturating_add(k as usize),
            Some(Op::Jump(cond, Src::K)) => {
                let taken = match cond {
                    Cond::Jeq => value == k,
                    Cond::Jge => value >= k,
                    Cond::Jgt => value > k,
                    Cond::Jset => value & k != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            Some(Op::Alu(AluOp::And, Src::K)) => value &= k,
            _ => return false,
        }
        pc += 1;
    }
    false // fell off the end: impossible for a valid program
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Endian;
    use crate::bpf::insn::{op, Insn};

    const ALLOW: u32 = ret::ALLOW;
    const X86_64: u32 = 0xc000_003e;

    fn program(insns: Vec<Insn>) -> Program {
        Program::new(insns, Endian::Little)
    }

    /// `ld arch; jeq x86_64 or kill; ld nr` followed by `body` (which starts at index 4).
    fn arch_then(body: Vec<Insn>) -> Program {
        let mut insns = vec![
            Insn::load(data::ARCH),
            Insn::jump(op::JEQ, X86_64, 1, 0),
            Insn::ret(ret::KILL_PROCESS),
            Insn::load(data::NR),
        ];
        insns.extend(body);
        program(insns)
    }

    #[test]
    fn caches_allow_decided_by_nr_and_arch() {
        let p = arch_then(vec![
            Insn::jump(op::JGE, 100, 2, 0),
            Insn::jump(op::JEQ, 59, 1, 0),
            Insn::ret(ALLOW),
            Insn::ret(ret::ERRNO | 1),
        ]);
        assert!(p.kernel_caches(Arch::X86_64, 0));
        assert!(p.kernel_caches(Arch::X86_64, 58));
        assert!(!p.kernel_caches(Arch::X86_64, 59)); // ERRNO
        assert!(!p.kernel_caches(Arch::X86_64, 100)); // ERRNO
        assert!(!p.kernel_caches(Arch::X86, 0)); // KILL for another arch
    }

    #[test]
    fn and_jset_jgt_and_ja_are_understood() {
        let p = arch_then(vec![
            Insn::and(0x4000_0000),                  // 4
            Insn::jump(op::JSET, 0x4000_0000, 3, 0), // 5: x32 bit -> 9
            Insn::load(data::NR),                    // 6
            Insn::jump(op::JGT, 10, 1, 0),           // 7: nr > 10 -> 9
            Insn::ja(1),                             // 8: -> 10
            Insn::ret(ret::KILL_THREAD),             // 9
            Insn::ret(ALLOW),                        // 10
        ]);
        assert!(p.kernel_caches(Arch::X86_64, 10));
        assert!(!p.kernel_caches(Arch::X86_64, 11));
        assert!(!p.kernel_caches(Arch::X86_64, 0x4000_0001));
    }

    #[test]
    fn only_exactly_allow_is_cached() {
        for value in [ret::LOG, ALLOW | 1, ret::ERRNO, ret::TRACE] {
            assert!(!program(vec![Insn::ret(value)]).kernel_caches(Arch::X86_64, 0));
        }
        assert!(program(vec![Insn::ret(ALLOW)]).kernel_caches(Arch::X86_64, 0));
    }

    #[test]
    fn argument_and_instruction_pointer_loads_are_not_cacheable() {
        for offset in [8, 12, 16, 20, 60] {
            let p = program(vec![Insn::load(offset), Insn::ret(ALLOW)]);
            assert!(!p.kernel_caches(Arch::X86_64, 0), "offset {offset}");
        }
    }

    #[test]
    fn other_instructions_are_not_cacheable() {
        let unsupported = [
            Insn::new(op::LD | op::IMM, 0, 0, 0),
            Insn::new(op::LD | op::W | op::LEN, 0, 0, 0),
            Insn::new(op::LDX | op::IMM, 0, 0, 0),
            Insn::new(op::ST, 0, 0, 0),
            Insn::new(op::ALU | op::OR | op::K, 0, 0, 0),
            Insn::new(op::ALU | op::AND | op::X, 0, 0, 0),
            Insn::new(op::ALU | op::NEG, 0, 0, 0),
            Insn::new(op::MISC | op::TAX, 0, 0, 0),
            Insn::new(op::JMP | op::JEQ | op::X, 0, 0, 0),
            Insn::new(op::JMP | op::JSET | op::X, 0, 0, 0),
        ];
        for insn in unsupported {
            let p = program(vec![Insn::load(data::NR), insn, Insn::ret(ALLOW)]);
            assert!(p.validate().is_ok());
            assert!(!p.kernel_caches(Arch::X86_64, 0), "{insn:?}");
        }
        // `ret a` even when A would be ALLOW.
        let p = program(vec![
            Insn::new(op::LD | op::IMM, 0, 0, ALLOW),
            Insn::new(op::RET | op::A, 0, 0, 0),
        ]);
        assert!(!p.kernel_caches(Arch::X86_64, 0));
    }

    #[test]
    fn unsupported_instructions_off_the_path_do_not_matter() {
        // nr 0 goes straight to ALLOW; other numbers load an argument.
        let p = program(vec![
            Insn::load(data::NR),
            Insn::jump(op::JEQ, 0, 2, 0),
            Insn::load(data::ARGS),
            Insn::ret(ret::ERRNO | 1),
            Insn::ret(ALLOW),
        ]);
        assert!(p.kernel_caches(Arch::X86_64, 0));
        assert!(!p.kernel_caches(Arch::X86_64, 1));
    }

    #[test]
    fn the_value_starts_at_zero() {
        // No load at all: compares 0.
        let p = program(vec![
            Insn::jump(op::JEQ, 0, 0, 1),
            Insn::ret(ALLOW),
            Insn::ret(0),
        ]);
        assert!(p.kernel_caches(Arch::X86_64, 7));
    }

    #[test]
    fn invalid_programs_cache_nothing() {
        let p = program(vec![Insn::ret(ALLOW), Insn::load(3), Insn::ret(ALLOW)]);
        assert!(!p.kernel_caches(Arch::X86_64, 0));
    }

    #[test]
    fn stacked_filters_cache_only_when_all_do() {
        let by_nr = program(vec![
            Insn::load(data::NR),
            Insn::jump(op::JEQ, 1, 0, 1),
            Insn::ret(ret::ERRNO | 1),
            Insn::ret(ALLOW),
        ]);
        let allow = program(vec![Insn::ret(ALLOW)]);
        let both = [allow.clone(), by_nr];
        assert!(kernel_caches_all(&both, Arch::X86_64, 0));
        assert!(!kernel_caches_all(&both, Arch::X86_64, 1));
        assert!(kernel_caches_all(&[], Arch::X86_64, 1));
        assert!(kernel_caches_all(&[allow], Arch::X86_64, 1));
    }
}
