//! The emulator: runs a [`Program`] on a [`SeccompData`] exactly as the kernel does.
//!
//! This file owns the meaning of every seccomp opcode at run time. It is the ground truth the
//! compiler's tests compare against, so it follows the kernel (the classic-to-eBPF
//! translation in `net/core/filter.c` and the interpreter) rather than textbook classic BPF
//! where the two differ: A and X start at 0; all arithmetic is on unsigned 32-bit values and
//! wraps; `div x` with X = 0 ends the program with return value 0; shifts by X use only the
//! low 5 bits of X; comparisons are unsigned. It does not decide whether a program is valid
//! (that is `program.rs`), but it refuses to run one the kernel would refuse.

use super::decode::{decode, AluOp, Cond, Op, Src};
use super::insn::data;
use super::program::{InvalidProgram, Program};
use super::Action;
use crate::arch::{Arch, Endian};

/// The kernel's `struct seccomp_data`: what a filter sees of a syscall, and what a
/// user-notification listener receives ([`crate::kernel::Notification::data`]).
///
/// It is the one `seccomp_data` of the crate (the emulator, the verifier, notifications and
/// the C library's `struct seccomp_notif` use it), laid out as the kernel's 64-byte struct
/// (`#[repr(C)]`; the kernel's `int nr` is `u32` here, so -1 is `u32::MAX`).
///
/// ```
/// use sysgate::arch::Endian;
/// use sysgate::bpf::SeccompData;
///
/// let data = SeccompData {
///     nr: 1,
///     arch: 0xc000_003e,
///     instruction_pointer: 0,
///     args: [0x1111_2222_3333_4444, 0, 0, 0, 0, 0],
/// };
/// assert_eq!(data.word(16, Endian::Little), Some(0x3333_4444)); // a0 low word
/// assert_eq!(data.word(16, Endian::Big), Some(0x1111_2222)); // a0 high word
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct SeccompData {
    /// The syscall number (`int nr`; -1 is `u32::MAX`). x32 calls carry the x32 bit.
    pub nr: u32,
    /// The `AUDIT_ARCH_*` token of the calling ABI.
    pub arch: u32,
    /// The address of the syscall instruction.
    pub instruction_pointer: u64,
    /// The six syscall arguments, as 64-bit values (zero-extended on 32-bit ABIs).
    pub args: [u64; 6],
}

// The kernel's struct is 64 bytes: nr, arch, instruction_pointer, args[6].
const _: () = assert!(std::mem::size_of::<SeccompData>() == data::SIZE as usize);

impl SeccompData {
    /// The 32-bit word at byte `offset`, as a filter on a machine of byte order `endian`
    /// loads it with `ld [offset]`; `None` unless `offset` is 4-aligned and below 64.
    ///
    /// A 64-bit field (`instruction_pointer`, `args[i]`) is two words: on little-endian
    /// machines the low word is at the lower offset, on big-endian ones the high word is.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::SeccompData;
    ///
    /// let data = SeccompData { nr: 59, args: [0, 0xffff_ffff_0000_0001, 0, 0, 0, 0], ..Default::default() };
    /// assert_eq!(data.word(0, Endian::Big), Some(59));
    /// assert_eq!(data.word(28, Endian::Little), Some(0xffff_ffff)); // a1 high word
    /// assert_eq!(data.word(28, Endian::Big), Some(1)); // a1 low word
    /// assert_eq!(data.word(64, Endian::Little), None);
    /// ```
    pub fn word(&self, offset: u32, endian: Endian) -> Option<u32> {
        if offset >= data::SIZE || offset % 4 != 0 {
            return None;
        }
        let field = match offset {
            data::NR => return Some(self.nr),
            data::ARCH => return Some(self.arch),
            8 | 12 => self.instruction_pointer,
            _ => self.args[((offset - data::ARGS) / 8) as usize],
        };
        let lower_offset = offset % 8 == 0;
        let low_word = match endian {
            Endian::Little => lower_offset,
            Endian::Big => !lower_offset,
        };
        Some(if low_word {
            field as u32
        } else {
            (field >> 32) as u32
        })
    }
}

/// The outcome of one run of a filter.
///
/// ```
/// use sysgate::arch::Endian;
/// use sysgate::bpf::{Insn, Program, SeccompData};
///
/// let p = Program::new(vec![Insn::ret(0x7fff_0000)], Endian::Little);
/// let run = p.emulate(&SeccompData::default())?;
/// assert_eq!((run.ret, run.executed), (0x7fff_0000, 1));
/// # Ok::<(), sysgate::bpf::EmulateError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Emulated {
    /// The filter's return value (`SECCOMP_RET_*` | data).
    pub ret: u32,
    /// How many instructions ran, counting the final return.
    pub executed: usize,
}

impl Emulated {
    /// The action the return value stands for, if it is a well-formed one.
    ///
    /// ```
    /// use sysgate::bpf::Emulated;
    /// use sysgate::policy::Action;
    ///
    /// let run = Emulated { ret: 0x0005_0001, executed: 4 };
    /// assert_eq!(run.action(), Some(Action::Errno(1)));
    /// ```
    pub fn action(&self) -> Option<Action> {
        Action::from_ret(self.ret)
    }
}

/// Why a program could not be run.
///
/// ```
/// use sysgate::arch::Endian;
/// use sysgate::bpf::{EmulateError, Insn, InvalidProgram, Program, SeccompData};
///
/// // Falls off the end: the kernel would refuse it, so there is nothing to run.
/// let p = Program::new(vec![Insn::load(0)], Endian::Little);
/// assert_eq!(
///     p.emulate(&SeccompData::default()),
///     Err(EmulateError::Invalid(InvalidProgram::NoFinalReturn { index: 0 }))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmulateError {
    /// The kernel would refuse the program, so it has no behaviour to emulate. This covers
    /// loads outside `seccomp_data` and falling off the end, which the kernel's checks rule
    /// out before a program ever runs.
    #[error("the kernel would refuse this program: {0}")]
    Invalid(#[from] InvalidProgram),
}

impl Program {
    /// Run the program on `data` as the kernel would, or say why the kernel would refuse it.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{data, op, Insn, Program, SeccompData};
    ///
    /// // Allow only syscall 0.
    /// let p = Program::new(
    ///     vec![
    ///         Insn::load(data::NR),
    ///         Insn::jump(op::JEQ, 0, 0, 1),
    ///         Insn::ret(0x7fff_0000),
    ///         Insn::ret(0x0005_0001),
    ///     ],
    ///     Endian::Little,
    /// );
    /// let run = p.emulate(&SeccompData { nr: 3, ..Default::default() })?;
    /// assert_eq!((run.ret, run.executed), (0x0005_0001, 3));
    /// # Ok::<(), sysgate::bpf::EmulateError>(())
    /// ```
    pub fn emulate(&self, data: &SeccompData) -> Result<Emulated, EmulateError> {
        self.validate()?;
        run(self, data)
    }

    /// Run the program on a call of `nr` with `args` from `arch` (its audit token goes in
    /// `seccomp_data.arch`; the instruction pointer is 0). For x32, `nr` carries the x32 bit,
    /// as the kernel numbers do.
    ///
    /// ```
    /// use sysgate::arch::{Arch, Endian};
    /// use sysgate::bpf::{data, op, Insn, Program};
    ///
    /// // Kill anything that is not x86_64.
    /// let p = Program::new(
    ///     vec![
    ///         Insn::load(data::ARCH),
    ///         Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 0, 1),
    ///         Insn::ret(0x7fff_0000),
    ///         Insn::ret(0x8000_0000),
    ///     ],
    ///     Endian::Little,
    /// );
    /// assert_eq!(p.emulate_call(Arch::X86_64, 0, &[0; 6])?.ret, 0x7fff_0000);
    /// assert_eq!(p.emulate_call(Arch::X86, 0, &[0; 6])?.ret, 0x8000_0000);
    /// # Ok::<(), sysgate::bpf::EmulateError>(())
    /// ```
    pub fn emulate_call(
        &self,
        arch: Arch,
        nr: u32,
        args: &[u64; 6],
    ) -> Result<Emulated, EmulateError> {
        self.emulate(&SeccompData {
            nr,
            arch: arch.audit_arch(),
            instruction_pointer: 0,
            args: *args,
        })
    }
}

/// The interpreter proper. The program is valid, but nothing here relies on it for memory
/// safety: every index is checked and an impossible state is reported, never a panic.
fn run(program: &Program, data: &SeccompData) -> Result<Emulated, EmulateError> {
    let insns = program.insns();
    let len = insns.len();
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut mem = [0u32; 16];
    let mut pc: usize = 0;
    let mut executed: usize = 0;
    loop {
        let Some(insn) = insns.get(pc) else {
            return Err(InvalidProgram::NoFinalReturn {
                index: len.saturating_sub(1),
            }
            .into());
        };
        let index = pc;
        let k = insn.k;
        executed += 1;
        pc += 1;
        let Some(op) = decode(insn.code) else {
            return Err(InvalidProgram::OpcodeNotAllowed {
                index,
                code: insn.code,
            }
            .into());
        };
        let no_slot = InvalidProgram::NoSuchScratchWord { index, slot: k };
        match op {
            Op::LdAbs => {
                a = data
                    .word(k, program.endian())
                    .ok_or(InvalidProgram::LoadOutOfRange { index, offset: k })?;
            }
            Op::LdLen => a = data::SIZE,
            Op::LdxLen => x = data::SIZE,
            Op::LdImm => a = k,
            Op::LdxImm => x = k,
            Op::LdMem => a = *mem.get(k as usize).ok_or(no_slot)?,
            Op::LdxMem => x = *mem.get(k as usize).ok_or(no_slot)?,
            Op::St => *mem.get_mut(k as usize).ok_or(no_slot)? = a,
            Op::Stx => *mem.get_mut(k as usize).ok_or(no_slot)? = x,
            Op::Alu(alu, src) => {
                let operand = match src {
                    Src::K => k,
                    Src::X => x,
                };
                a = match alu {
                    AluOp::Add => a.wrapping_add(operand),
                    AluOp::Sub => a.wrapping_sub(operand),
                    AluOp::Mul => a.wrapping_mul(operand),
                    // The kernel turns `div x` by zero into `return 0`; `div #0` is refused
                    // at load time.
                    AluOp::Div => match a.checked_div(operand) {
                        Some(q) => q,
                        None => return Ok(Emulated { ret: 0, executed }),
                    },
                    AluOp::Or => a | operand,
                    AluOp::And => a & operand,
                    AluOp::Xor => a ^ operand,
                    // Constant shifts are below 32 (checked); shifts by X use X & 31, as
                    // the kernel's interpreter and JITs do.
                    AluOp::Lsh => a.wrapping_shl(operand),
                    AluOp::Rsh => a.wrapping_shr(operand),
                };
            }
            Op::Neg => a = a.wrapping_neg(),
            Op::Ja => pc = pc.saturating_add(k as usize),
            Op::Jump(cond, src) => {
                let operand = match src {
                    Src::K => k,
                    Src::X => x,
                };
                let taken = match cond {
                    Cond::Jeq => a == operand,
                    Cond::Jgt => a > operand,
                    Cond::Jge => a >= operand,
                    Cond::Jset => a & operand != 0,
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            Op::RetK => return Ok(Emulated { ret: k, executed }),
            Op::RetA => return Ok(Emulated { ret: a, executed }),
            Op::Tax => x = a,
            Op::Txa => a = x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::{op, Insn};

    const ALLOW: u32 = 0x7fff_0000;

    fn data() -> SeccompData {
        SeccompData {
            nr: 59,
            arch: 0xc000_003e,
            instruction_pointer: 0x0000_7fff_1234_5678,
            args: [
                0x1111_1111_2222_2222,
                0x3333_3333_4444_4444,
                0x5555_5555_6666_6666,
                0x7777_7777_8888_8888,
                0x9999_9999_aaaa_aaaa,
                0xbbbb_bbbb_cccc_cccc,
            ],
        }
    }

    /// Run `insns` (little-endian) on [`data`] and return (ret, executed).
    fn run_le(insns: Vec<Insn>) -> (u32, usize) {
        run_on(insns, Endian::Little, &data())
    }

    fn run_on(insns: Vec<Insn>, endian: Endian, d: &SeccompData) -> (u32, usize) {
        let e = Program::new(insns, endian).emulate(d).unwrap();
        (e.ret, e.executed)
    }

    /// `A = a; <op>; ret a`.
    fn alu(a: u32, insn: Insn) -> u32 {
        run_le(vec![Insn::new(op::LD | op::IMM, 0, 0, a), insn, ret_a()]).0
    }

    /// `A = a; X = x; <op> x; ret a`.
    fn alu_x(a: u32, x: u32, code: u16) -> (u32, usize) {
        run_le(vec![
            Insn::new(op::LDX | op::IMM, 0, 0, x),
            Insn::new(op::LD | op::IMM, 0, 0, a),
            Insn::new(op::ALU | code | op::X, 0, 0, 0),
            ret_a(),
        ])
    }

    fn ret_a() -> Insn {
        Insn::new(op::RET | op::A, 0, 0, 0)
    }

    fn alu_k(code: u16, k: u32) -> Insn {
        Insn::new(op::ALU | code | op::K, 0, 0, k)
    }

    #[test]
    fn loads_words_in_little_endian_order() {
        let d = data();
        let load = |off| run_on(vec![Insn::load(off), ret_a()], Endian::Little, &d).0;
        assert_eq!(load(data::NR), 59);
        assert_eq!(load(data::ARCH), 0xc000_003e);
        assert_eq!(load(8), 0x1234_5678);
        assert_eq!(load(12), 0x0000_7fff);
        assert_eq!(load(16), 0x2222_2222);
        assert_eq!(load(20), 0x1111_1111);
        assert_eq!(load(56), 0xcccc_cccc);
        assert_eq!(load(60), 0xbbbb_bbbb);
    }

    #[test]
    fn loads_words_in_big_endian_order() {
        let d = data();
        let load = |off| run_on(vec![Insn::load(off), ret_a()], Endian::Big, &d).0;
        assert_eq!(load(data::NR), 59);
        assert_eq!(load(data::ARCH), 0xc000_003e);
        assert_eq!(load(8), 0x0000_7fff);
        assert_eq!(load(12), 0x1234_5678);
        assert_eq!(load(16), 0x1111_1111);
        assert_eq!(load(20), 0x2222_2222);
        assert_eq!(load(40), 0x7777_7777);
        assert_eq!(load(44), 0x8888_8888);
    }

    #[test]
    fn len_loads_the_size_of_seccomp_data() {
        assert_eq!(
            run_le(vec![Insn::new(op::LD | op::W | op::LEN, 0, 0, 0), ret_a()]),
            (64, 2)
        );
        assert_eq!(
            run_le(vec![
                Insn::new(op::LDX | op::W | op::LEN, 0, 0, 0),
                Insn::new(op::MISC | op::TXA, 0, 0, 0),
                ret_a()
            ]),
            (64, 3)
        );
    }

    #[test]
    fn immediates_registers_and_scratch_memory() {
        // X = 5; A = 9; M[3] = A; M[15] = X; A = 0; A = M[15]; X = M[3]; A += X -> 14
        let (ret, executed) = run_le(vec![
            Insn::new(op::LDX | op::IMM, 0, 0, 5),
            Insn::new(op::LD | op::IMM, 0, 0, 9),
            Insn::new(op::ST, 0, 0, 3),
            Insn::new(op::STX, 0, 0, 15),
            Insn::new(op::LD | op::IMM, 0, 0, 0),
            Insn::new(op::LD | op::MEM, 0, 0, 15),
            Insn::new(op::LDX | op::MEM, 0, 0, 3),
            Insn::new(op::ALU | op::ADD | op::X, 0, 0, 0),
            ret_a(),
        ]);
        assert_eq!((ret, executed), (14, 9));
        // TAX / TXA
        assert_eq!(
            run_le(vec![
                Insn::new(op::LD | op::IMM, 0, 0, 7),
                Insn::new(op::MISC | op::TAX, 0, 0, 0),
                Insn::new(op::LD | op::IMM, 0, 0, 1),
                Insn::new(op::MISC | op::TXA, 0, 0, 0),
                ret_a(),
            ])
            .0,
            7
        );
    }

    #[test]
    fn registers_start_at_zero() {
        assert_eq!(run_le(vec![ret_a()]), (0, 1));
        assert_eq!(
            run_le(vec![Insn::new(op::MISC | op::TXA, 0, 0, 0), ret_a()]).0,
            0
        );
    }

    #[test]
    fn alu_with_constants_wraps_at_32_bits() {
        assert_eq!(alu(u32::MAX, alu_k(op::ADD, 2)), 1);
        assert_eq!(alu(1, alu_k(op::SUB, 2)), u32::MAX);
        assert_eq!(alu(0x8000_0001, alu_k(op::MUL, 2)), 2);
        assert_eq!(alu(7, alu_k(op::DIV, 2)), 3);
        assert_eq!(alu(u32::MAX, alu_k(op::DIV, 0x1_0000)), 0xffff);
        assert_eq!(alu(0xf0, alu_k(op::OR, 0x0f)), 0xff);
        assert_eq!(alu(0xf0, alu_k(op::AND, 0x3c)), 0x30);
        assert_eq!(alu(0xff, alu_k(op::XOR, 0x0f)), 0xf0);
        assert_eq!(alu(0x8000_0001, alu_k(op::LSH, 1)), 2);
        assert_eq!(alu(1, alu_k(op::LSH, 31)), 0x8000_0000);
        assert_eq!(alu(0x8000_0000, alu_k(op::RSH, 31)), 1); // logical, not arithmetic
        assert_eq!(alu(1, Insn::new(op::ALU | op::NEG, 0, 0, 0)), u32::MAX);
        assert_eq!(alu(0, Insn::new(op::ALU | op::NEG, 0, 0, 0)), 0);
    }

    #[test]
    fn alu_with_x() {
        assert_eq!(alu_x(u32::MAX, 2, op::ADD).0, 1);
        assert_eq!(alu_x(1, 2, op::SUB).0, u32::MAX);
        assert_eq!(alu_x(3, 5, op::MUL).0, 15);
        assert_eq!(alu_x(17, 5, op::DIV).0, 3);
        assert_eq!(alu_x(0xf0, 0x0f, op::OR).0, 0xff);
        assert_eq!(alu_x(0xf0, 0x3c, op::AND).0, 0x30);
        assert_eq!(alu_x(0xff, 0x0f, op::XOR).0, 0xf0);
        assert_eq!(alu_x(1, 4, op::LSH).0, 16);
        assert_eq!(alu_x(16, 4, op::RSH).0, 1);
        // Shifts by X use its low 5 bits.
        assert_eq!(alu_x(1, 33, op::LSH).0, 2);
        assert_eq!(alu_x(4, 32, op::RSH).0, 4);
    }

    #[test]
    fn division_by_x_zero_returns_zero_at_once() {
        // The div is the third instruction; `ret a` never runs.
        assert_eq!(alu_x(17, 0, op::DIV), (0, 3));
    }

    /// `A = a; j<cond> <operand>, 1, 2`: returns 1 if taken, 2 if not.
    fn branch(a: u32, cond: u16, operand: u32, src: u16) -> (u32, usize) {
        run_le(vec![
            Insn::new(op::LDX | op::IMM, 0, 0, operand),
            Insn::new(op::LD | op::IMM, 0, 0, a),
            Insn::new(op::JMP | cond | src, 0, 1, operand),
            Insn::ret(1),
            Insn::ret(2),
        ])
    }

    #[test]
    fn conditional_jumps_compare_unsigned() {
        for src in [op::K, op::X] {
            let taken = |a, cond, operand| match branch(a, cond, operand, src) {
                (1, 4) => true,
                (2, 4) => false,
                other => panic!("unexpected {other:?}"),
            };
            assert!(taken(5, op::JEQ, 5));
            assert!(!taken(5, op::JEQ, 6));
            assert!(taken(6, op::JGT, 5));
            assert!(!taken(5, op::JGT, 5));
            assert!(taken(5, op::JGE, 5));
            assert!(!taken(4, op::JGE, 5));
            // Unsigned: 0x80000000 is large, not negative.
            assert!(taken(0x8000_0000, op::JGT, 1));
            assert!(taken(0xffff_ffff, op::JGE, 0x8000_0000));
            assert!(!taken(1, op::JGT, 0xffff_ffff));
            assert!(taken(0b1010, op::JSET, 0b0010));
            assert!(!taken(0b1010, op::JSET, 0b0101));
            assert!(taken(0x8000_0000, op::JSET, 0x8000_0000));
        }
    }

    #[test]
    fn jumps_are_relative_to_the_next_instruction() {
        // 0: ja +2 -> 3; 3: jeq #0 jt +1 -> 5 (A is 0); 5: ret 5
        let (ret, executed) = run_le(vec![
            Insn::ja(2),
            Insn::ret(1),
            Insn::ret(2),
            Insn::jump(op::JEQ, 0, 1, 0),
            Insn::ret(4),
            Insn::ret(5),
        ]);
        assert_eq!((ret, executed), (5, 3));
    }

    #[test]
    fn returns_k_or_a() {
        assert_eq!(run_le(vec![Insn::ret(ALLOW)]), (ALLOW, 1));
        assert_eq!(run_le(vec![Insn::load(data::NR), ret_a()]), (59, 2));
    }

    #[test]
    fn refuses_invalid_programs_instead_of_running_them() {
        let d = data();
        let err = |insns| Program::new(insns, Endian::Little).emulate(&d).unwrap_err();
        assert_eq!(
            err(vec![Insn::load(64), ret_a()]),
            EmulateError::Invalid(InvalidProgram::LoadOutOfRange {
                index: 0,
                offset: 64
            })
        );
        assert_eq!(
            err(vec![Insn::load(0)]),
            EmulateError::Invalid(InvalidProgram::NoFinalReturn { index: 0 })
        );
        assert_eq!(err(vec![]), EmulateError::Invalid(InvalidProgram::Empty));
        // Invalid even though the bad instruction is never reached.
        assert!(matches!(
            err(vec![Insn::ret(0), Insn::new(0xffff, 0, 0, 0), Insn::ret(0)]),
            EmulateError::Invalid(InvalidProgram::OpcodeNotAllowed { index: 1, .. })
        ));
    }

    #[test]
    fn the_interpreter_never_panics_on_invalid_programs() {
        // `run` skips validation; it must still report, not panic.
        let d = data();
        for insns in [
            vec![],
            vec![Insn::load(0)],
            vec![Insn::load(62), ret_a()],
            vec![Insn::ja(u32::MAX)],
            vec![Insn::jump(op::JEQ, 59, 200, 200)],
            vec![Insn::new(op::LD | op::MEM, 0, 0, 99), ret_a()],
            vec![Insn::new(0x94, 0, 0, 0)],
        ] {
            assert!(run(&Program::new(insns, Endian::Little), &d).is_err());
        }
    }

    #[test]
    fn emulate_call_fills_in_the_arch_token() {
        let p = Program::new(vec![Insn::load(data::ARCH), ret_a()], Endian::Big);
        let run = p.emulate_call(Arch::S390x, 1, &[0; 6]).unwrap();
        assert_eq!(run.ret, Arch::S390x.audit_arch());
        let p = Program::new(vec![Insn::load(44), ret_a()], Endian::Big);
        let run = p.emulate_call(Arch::S390x, 1, &[0, 0, 0, 5, 0, 0]).unwrap();
        assert_eq!(run.ret, 5);
    }
}
