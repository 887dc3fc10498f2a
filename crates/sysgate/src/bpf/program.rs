//! [`Program`]: a seccomp filter as the kernel receives it, with the kernel's acceptance
//! checks and the raw `struct sock_filter` byte encoding.
//!
//! This file owns what a program is and whether the kernel would take it. Running it is in
//! `emulate.rs`, the action-cache check in `cache.rs`, printing in `disasm.rs` and
//! `export.rs`. It knows nothing about policies: any program, hand-written or libseccomp's,
//! can be checked here.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use super::decode::{decode, AluOp, Op, Src};
use super::insn::{data, Insn, MAX_INSNS};
use crate::arch::Endian;

/// The number of scratch words `M[0..16]` (`BPF_MEMWORDS`).
pub(crate) const MEM_WORDS: u32 = 16;

/// A seccomp BPF program: its instructions and the byte order of the machine it runs on.
///
/// The byte order matters twice: it decides how the 64-bit fields of `seccomp_data` split
/// into the 32-bit words a filter loads (see [`SeccompData::word`](super::SeccompData::word)),
/// and how [`Program::to_bytes`] lays out each instruction.
///
/// A `Program` may hold anything; [`Program::validate`] says whether the kernel would accept
/// it, and the emulator refuses programs the kernel would refuse. The result of validation is
/// computed once and remembered, so emulating one program many times stays cheap.
///
/// ```
/// use sysgate::arch::Endian;
/// use sysgate::bpf::{data, Insn, Program};
///
/// let program = Program::new(
///     vec![Insn::load(data::NR), Insn::ret(0x7fff_0000)],
///     Endian::Little,
/// );
/// assert_eq!(program.len(), 2);
/// assert!(program.validate().is_ok());
/// let bytes = program.to_bytes();
/// assert_eq!(&bytes[..8], &[0x20, 0x00, 0, 0, 0, 0, 0, 0]);
/// assert_eq!(Program::from_bytes(&bytes, Endian::Little)?, program);
/// # Ok::<(), sysgate::bpf::ParseProgramError>(())
/// ```
#[derive(Clone)]
pub struct Program {
    /// Owned when built at run time; borrowed from a `static` when compiled at build time
    /// ([`Program::from_static`]).
    insns: Cow<'static, [Insn]>,
    endian: Endian,
    /// `validate()`'s answer, computed on first use.
    checked: OnceLock<Result<(), InvalidProgram>>,
}

/// Why the kernel would refuse a program: `seccomp(SECCOMP_SET_MODE_FILTER)` fails with
/// `EINVAL`.
///
/// The checks are the kernel's `bpf_check_classic` followed by `seccomp_check_filter`;
/// `index` is the offending instruction.
///
/// ```
/// use sysgate::arch::Endian;
/// use sysgate::bpf::{op, Insn, InvalidProgram, Program};
///
/// // `mod` is classic BPF, but seccomp does not take it.
/// let p = Program::new(vec![Insn::new(op::ALU | op::MOD | op::K, 0, 0, 3), Insn::ret(0)], Endian::Little);
/// let err = p.validate().unwrap_err();
/// assert_eq!(err, InvalidProgram::OpcodeNotAllowed { index: 0, code: 0x94 });
/// assert_eq!(err.to_string(), "instruction 0: opcode 0x94 is not allowed in a seccomp filter");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidProgram {
    /// No instructions at all.
    #[error("the program is empty")]
    Empty,
    /// More than [`MAX_INSNS`] instructions.
    #[error("the program has {len} instructions; the kernel takes at most {MAX_INSNS}")]
    TooLong {
        /// The program's length.
        len: usize,
    },
    /// An opcode that is not classic BPF, or that seccomp does not allow (byte and half-word
    /// loads, indirect loads, `mod`, `ldx msh`, `ret x`).
    #[error("instruction {index}: opcode {code:#04x} is not allowed in a seccomp filter")]
    OpcodeNotAllowed {
        /// The instruction.
        index: usize,
        /// Its opcode.
        code: u16,
    },
    /// `div #0`.
    #[error("instruction {index}: division by the constant 0")]
    DivisionByZero {
        /// The instruction.
        index: usize,
    },
    /// `lsh #k` or `rsh #k` with `k >= 32`.
    #[error("instruction {index}: shift by {shift}; constant shifts must be below 32")]
    ShiftTooLarge {
        /// The instruction.
        index: usize,
        /// The shift amount.
        shift: u32,
    },
    /// `ld`/`ldx`/`st`/`stx` of a scratch word beyond `M[15]`.
    #[error("instruction {index}: there is no scratch word M[{slot}] (M[0] to M[15])")]
    NoSuchScratchWord {
        /// The instruction.
        index: usize,
        /// The slot asked for.
        slot: u32,
    },
    /// A load at or beyond `sizeof(struct seccomp_data)` (64).
    #[error("instruction {index}: load at offset {offset} is outside seccomp_data (64 bytes)")]
    LoadOutOfRange {
        /// The instruction.
        index: usize,
        /// The offset.
        offset: u32,
    },
    /// A load at an offset that is not a multiple of 4.
    #[error("instruction {index}: load at offset {offset} is not 32-bit aligned")]
    MisalignedLoad {
        /// The instruction.
        index: usize,
        /// The offset.
        offset: u32,
    },
    /// A jump whose target is at or past the end of the program.
    #[error("instruction {index}: jump to {target} is past the last instruction ({})", len - 1)]
    JumpOutOfRange {
        /// The instruction.
        index: usize,
        /// The absolute target.
        target: u64,
        /// The program's length.
        len: usize,
    },
    /// The last instruction is not `ret #k` or `ret a`.
    #[error("instruction {index}: the last instruction must be a return")]
    NoFinalReturn {
        /// The last instruction's index.
        index: usize,
    },
    /// A scratch word may be read on some path before any write to it. The kernel checks
    /// this conservatively, in instruction order, even on unreachable code.
    #[error("instruction {index}: M[{slot}] may be read before it is written")]
    ScratchReadBeforeWrite {
        /// The instruction.
        index: usize,
        /// The slot.
        slot: u32,
    },
}

/// Bytes that are not a `sock_filter` array.
///
/// ```
/// use sysgate::arch::Endian;
/// use sysgate::bpf::{ParseProgramError, Program};
///
/// assert_eq!(
///     Program::from_bytes(&[0; 9], Endian::Little),
///     Err(ParseProgramError::Length { len: 9 })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseProgramError {
    /// The length is not a multiple of 8 (`sizeof(struct sock_filter)`).
    #[error("{len} bytes is not a whole number of 8-byte instructions")]
    Length {
        /// The number of bytes given.
        len: usize,
    },
}

impl Program {
    /// A program of `insns` for a machine of byte order `endian`. Nothing is checked here;
    /// see [`Program::validate`].
    pub fn new(insns: Vec<Insn>, endian: Endian) -> Program {
        Program {
            insns: Cow::Owned(insns),
            endian,
            checked: OnceLock::new(),
        }
    }

    /// A program over instructions that live for the whole run, built in a `const` or
    /// `static` initializer: a filter compiled at build time (`sysgate compile --format
    /// rust`, or [`Compiled::to_rust`](crate::compile::Compiled::to_rust) in a build
    /// script) costs nothing to construct at start-up and needs no compiler.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{Insn, Program};
    ///
    /// static ALLOW_ALL: Program = Program::from_static(
    ///     &[Insn { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }], // ret ALLOW
    ///     Endian::Little,
    /// );
    /// assert_eq!(ALLOW_ALL.len(), 1);
    /// assert!(ALLOW_ALL.validate().is_ok());
    /// ```
    pub const fn from_static(insns: &'static [Insn], endian: Endian) -> Program {
        Program {
            insns: Cow::Borrowed(insns),
            endian,
            checked: OnceLock::new(),
        }
    }

    /// The instructions.
    ///
    /// ```
    /// # use sysgate::{arch::Endian, bpf::{Insn, Program}};
    /// let p = Program::new(vec![Insn::ret(0)], Endian::Big);
    /// assert_eq!(p.insns(), &[Insn::ret(0)]);
    /// ```
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The number of instructions.
    ///
    /// ```
    /// # use sysgate::{arch::Endian, bpf::{Insn, Program}};
    /// assert_eq!(Program::new(vec![Insn::ret(0)], Endian::Little).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Whether the program has no instructions (the kernel refuses such a program).
    ///
    /// ```
    /// # use sysgate::{arch::Endian, bpf::Program};
    /// assert!(Program::new(vec![], Endian::Little).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The byte order of the machine the program runs on.
    ///
    /// ```
    /// # use sysgate::{arch::Endian, bpf::Program};
    /// assert_eq!(Program::new(vec![], Endian::Big).endian(), Endian::Big);
    /// ```
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// Whether the kernel would accept this program as a seccomp filter, and if not, why.
    /// The kernel only says `EINVAL`; this names the first problem in instruction order
    /// (per-instruction checks, then the final return, then scratch memory).
    ///
    /// These are the kernel's checks (`bpf_check_classic` and `seccomp_check_filter`):
    /// 1 to 4096 instructions; only the opcodes seccomp allows; `ld [k]` only at a 32-bit
    /// aligned offset below 64; scratch slots below 16; no `div #0`; no constant shift of 32
    /// or more; every jump lands inside the program; the last instruction is a return; no
    /// scratch word is read before it is written (checked conservatively, as the kernel does).
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{Insn, InvalidProgram, Program};
    ///
    /// let p = Program::new(vec![Insn::load(6), Insn::ret(0)], Endian::Little);
    /// assert_eq!(
    ///     p.validate(),
    ///     Err(InvalidProgram::MisalignedLoad { index: 0, offset: 6 })
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), InvalidProgram> {
        self.checked.get_or_init(|| check(&self.insns)).clone()
    }

    /// A program from the kernel's `sock_filter` array, each field in byte order `endian`
    /// (`code` u16, `jt` u8, `jf` u8, `k` u32). The program is not validated.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{Insn, Program};
    ///
    /// let bytes = [0x00, 0x06, 0, 0, 0x7f, 0xff, 0x00, 0x00];
    /// let p = Program::from_bytes(&bytes, Endian::Big)?;
    /// assert_eq!(p.insns(), &[Insn::ret(0x7fff_0000)]);
    /// assert!(Program::from_bytes(&bytes[..7], Endian::Big).is_err());
    /// # Ok::<(), sysgate::bpf::ParseProgramError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8], endian: Endian) -> Result<Program, ParseProgramError> {
        if bytes.len() % 8 != 0 {
            return Err(ParseProgramError::Length { len: bytes.len() });
        }
        let insns = bytes
            .chunks_exact(8)
            .map(|b| {
                let code = [b[0], b[1]];
                let k = [b[4], b[5], b[6], b[7]];
                let (code, k) = match endian {
                    Endian::Little => (u16::from_le_bytes(code), u32::from_le_bytes(k)),
                    Endian::Big => (u16::from_be_bytes(code), u32::from_be_bytes(k)),
                };
                Insn::new(code, b[2], b[3], k)
            })
            .collect();
        Ok(Program::new(insns, endian))
    }

    /// The kernel's `sock_filter` array, each field in the program's byte order: what
    /// `sock_fprog.filter` points to on the target machine.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{Insn, Program};
    ///
    /// let p = Program::new(vec![Insn::ret(0x7fff_0000)], Endian::Little);
    /// assert_eq!(p.to_bytes(), [0x06, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x7f]);
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.insns.len() * 8);
        for insn in self.insns.iter() {
            let (code, k) = match self.endian {
                Endian::Little => (insn.code.to_le_bytes(), insn.k.to_le_bytes()),
                Endian::Big => (insn.code.to_be_bytes(), insn.k.to_be_bytes()),
            };
            out.extend_from_slice(&code);
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&k);
        }
        out
    }
}

/// The kernel's checks, in one pass over the instructions plus the scratch-memory pass.
fn check(insns: &[Insn]) -> Result<(), InvalidProgram> {
    let len = insns.len();
    if len == 0 {
        return Err(InvalidProgram::Empty);
    }
    if len > MAX_INSNS {
        return Err(InvalidProgram::TooLong { len });
    }
    for (index, insn) in insns.iter().enumerate() {
        let k = insn.k;
        let Some(op) = decode(insn.code) else {
            return Err(InvalidProgram::OpcodeNotAllowed {
                index,
                code: insn.code,
            });
        };
        let jump_to = |distance: u8| -> Result<(), InvalidProgram> {
            jump_target(index, u64::from(distance), len).map(|_| ())
        };
        match op {
            Op::LdAbs if k >= data::SIZE => {
                return Err(InvalidProgram::LoadOutOfRange { index, offset: k });
            }
            Op::LdAbs if k % 4 != 0 => {
                return Err(InvalidProgram::MisalignedLoad { index, offset: k });
            }
            Op::LdMem | Op::LdxMem | Op::St | Op::Stx if k >= MEM_WORDS => {
                return Err(InvalidProgram::NoSuchScratchWord { index, slot: k });
            }
            Op::Alu(AluOp::Div, Src::K) if k == 0 => {
                return Err(InvalidProgram::DivisionByZero { index });
            }
            Op::Alu(AluOp::Lsh | AluOp::Rsh, Src::K) if k >= 32 => {
                return Err(InvalidProgram::ShiftTooLarge { index, shift: k });
            }
            Op::Ja => {
                jump_target(index, u64::from(k), len)?;
            }
            Op::Jump(..) => {
                jump_to(insn.jt)?;
                jump_to(insn.jf)?;
            }
            _ => {}
        }
    }
    let last = len - 1;
    if !matches!(decode(insns[last].code), Some(Op::RetK | Op::RetA)) {
        return Err(InvalidProgram::NoFinalReturn { index: last });
    }
    check_scratch(insns)
}

/// The absolute target of a jump `distance` instructions past the one after `index`.
fn jump_target(index: usize, distance: u64, len: usize) -> Result<usize, InvalidProgram> {
    let target = index as u64 + 1 + distance;
    if target >= len as u64 {
        return Err(InvalidProgram::JumpOutOfRange { index, target, len });
    }
    Ok(target as usize)
}

/// The kernel's `check_load_and_stores`: walking the instructions in order, a slot is known
/// written if every jump into this instruction, and the fall-through from the previous one,
/// carried it. After a jump the fall-through carries everything (only jumps reach the next
/// instruction); after a return it still carries the state before the return, as in the
/// kernel. Operands are already checked.
fn check_scratch(insns: &[Insn]) -> Result<(), InvalidProgram> {
    let mut into = vec![u16::MAX; insns.len()];
    let mut written: u16 = 0;
    for (index, insn) in insns.iter().enumerate() {
        written &= into[index];
        let slot_bit = 1u16 << (insn.k & 15);
        match decode(insn.code) {
            Some(Op::St | Op::Stx) => written |= slot_bit,
            Some(Op::LdMem | Op::LdxMem) if written & slot_bit == 0 => {
                return Err(InvalidProgram::ScratchReadBeforeWrite {
                    index,
                    slot: insn.k,
                });
            }
            Some(Op::Ja) => {
                into[index + 1 + insn.k as usize] &= written;
                written = u16::MAX;
            }
            Some(Op::Jump(..)) => {
                into[index + 1 + usize::from(insn.jt)] &= written;
                into[index + 1 + usize::from(insn.jf)] &= written;
                written = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

impl PartialEq for Program {
    fn eq(&self, other: &Program) -> bool {
        self.insns == other.insns && self.endian == other.endian
    }
}

impl Eq for Program {}

impl Hash for Program {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.insns.hash(state);
        self.endian.hash(state);
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("endian", &self.endian)
            .field("insns", &self.insns)
            .finish()
    }
}

impl AsRef<[Insn]> for Program {
    /// The instructions, so a `Program` can be handed to
    /// [`PreparedFilters`](crate::kernel::PreparedFilters) directly.
    fn as_ref(&self) -> &[Insn] {
        self.insns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::op;

    const ALLOW: u32 = 0x7fff_0000;

    fn program(insns: Vec<Insn>) -> Program {
        Program::new(insns, Endian::Little)
    }

    fn invalid(insns: Vec<Insn>) -> InvalidProgram {
        program(insns).validate().unwrap_err()
    }

    #[test]
    fn accepts_a_program_using_every_operation() {
        use op::*;
        let p = program(vec![
            Insn::load(data::NR),
            Insn::new(LD | W | LEN, 0, 0, 0),
            Insn::new(LDX | W | LEN, 0, 0, 0),
            Insn::new(LD | IMM, 0, 0, 7),
            Insn::new(LDX | IMM, 0, 0, 3),
            Insn::new(ST, 0, 0, 15),
            Insn::new(STX, 0, 0, 0),
            Insn::new(LD | MEM, 0, 0, 15),
            Insn::new(LDX | MEM, 0, 0, 0),
            Insn::new(ALU | ADD | K, 0, 0, 1),
            Insn::new(ALU | SUB | X, 0, 0, 0),
            Insn::new(ALU | DIV | X, 0, 0, 0),
            Insn::new(ALU | LSH | K, 0, 0, 31),
            Insn::new(ALU | NEG, 0, 0, 0),
            Insn::new(MISC | TAX, 0, 0, 0),
            Insn::new(MISC | TXA, 0, 0, 0),
            Insn::ja(1),
            Insn::ret(0),
            Insn::jump(JSET, 1, 0, 1),
            Insn::new(JMP | JGT | X, 0, 1, 0),
            Insn::new(RET | A, 0, 0, 0),
            Insn::ret(ALLOW),
        ]);
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn refuses_empty_and_too_long() {
        assert_eq!(invalid(vec![]), InvalidProgram::Empty);
        assert_eq!(
            invalid(vec![Insn::ret(0); MAX_INSNS + 1]),
            InvalidProgram::TooLong { len: 4097 }
        );
        assert_eq!(program(vec![Insn::ret(0); MAX_INSNS]).validate(), Ok(()));
    }

    #[test]
    fn refuses_opcodes_outside_seccomp() {
        let modulo = Insn::new(op::ALU | op::MOD | op::K, 0, 0, 3);
        assert_eq!(
            invalid(vec![modulo, Insn::ret(0)]),
            InvalidProgram::OpcodeNotAllowed {
                index: 0,
                code: 0x94
            }
        );
        let byte_load = Insn::new(op::LD | op::B | op::ABS, 0, 0, 0);
        assert!(matches!(
            invalid(vec![Insn::ret(0), byte_load, Insn::ret(0)]),
            InvalidProgram::OpcodeNotAllowed { index: 1, .. }
        ));
    }

    #[test]
    fn refuses_bad_loads() {
        assert_eq!(
            invalid(vec![Insn::load(64), Insn::ret(0)]),
            InvalidProgram::LoadOutOfRange {
                index: 0,
                offset: 64
            }
        );
        assert_eq!(
            invalid(vec![Insn::load(2), Insn::ret(0)]),
            InvalidProgram::MisalignedLoad {
                index: 0,
                offset: 2
            }
        );
        assert_eq!(
            program(vec![Insn::load(60), Insn::ret(0)]).validate(),
            Ok(())
        );
    }

    #[test]
    fn refuses_bad_scratch_slots() {
        for code in [op::ST, op::STX, op::LD | op::MEM, op::LDX | op::MEM] {
            assert_eq!(
                invalid(vec![Insn::new(code, 0, 0, 16), Insn::ret(0)]),
                InvalidProgram::NoSuchScratchWord { index: 0, slot: 16 }
            );
        }
    }

    #[test]
    fn refuses_constant_division_by_zero_and_wide_shifts() {
        let div0 = Insn::new(op::ALU | op::DIV | op::K, 0, 0, 0);
        assert_eq!(
            invalid(vec![div0, Insn::ret(0)]),
            InvalidProgram::DivisionByZero { index: 0 }
        );
        let div_x = Insn::new(op::ALU | op::DIV | op::X, 0, 0, 0);
        assert_eq!(program(vec![div_x, Insn::ret(0)]).validate(), Ok(()));
        for code in [op::ALU | op::LSH | op::K, op::ALU | op::RSH | op::K] {
            assert_eq!(
                invalid(vec![Insn::new(code, 0, 0, 32), Insn::ret(0)]),
                InvalidProgram::ShiftTooLarge {
                    index: 0,
                    shift: 32
                }
            );
        }
    }

    #[test]
    fn refuses_jumps_out_of_the_program() {
        assert_eq!(
            invalid(vec![Insn::ja(1), Insn::ret(0)]),
            InvalidProgram::JumpOutOfRange {
                index: 0,
                target: 2,
                len: 2
            }
        );
        assert_eq!(
            invalid(vec![Insn::ja(u32::MAX), Insn::ret(0)]),
            InvalidProgram::JumpOutOfRange {
                index: 0,
                target: 1 << 32,
                len: 2
            }
        );
        assert_eq!(
            invalid(vec![Insn::jump(op::JEQ, 0, 0, 1), Insn::ret(0)]),
            InvalidProgram::JumpOutOfRange {
                index: 0,
                target: 2,
                len: 2
            }
        );
        assert_eq!(
            invalid(vec![Insn::jump(op::JEQ, 0, 1, 0), Insn::ret(0)]),
            InvalidProgram::JumpOutOfRange {
                index: 0,
                target: 2,
                len: 2
            }
        );
    }

    #[test]
    fn refuses_a_program_not_ending_in_return() {
        assert_eq!(
            invalid(vec![Insn::ret(0), Insn::load(0)]),
            InvalidProgram::NoFinalReturn { index: 1 }
        );
    }

    #[test]
    fn refuses_scratch_reads_before_writes() {
        let st0 = Insn::new(op::ST, 0, 0, 0);
        let ld0 = Insn::new(op::LD | op::MEM, 0, 0, 0);
        assert_eq!(
            invalid(vec![ld0, Insn::ret(0)]),
            InvalidProgram::ScratchReadBeforeWrite { index: 0, slot: 0 }
        );
        // Written on one branch only.
        assert_eq!(
            invalid(vec![Insn::jump(op::JEQ, 0, 0, 1), st0, ld0, Insn::ret(0)]),
            InvalidProgram::ScratchReadBeforeWrite { index: 2, slot: 0 }
        );
        // Written before the branch: fine.
        assert_eq!(
            program(vec![st0, Insn::jump(op::JEQ, 0, 0, 1), ld0, Insn::ret(0)]).validate(),
            Ok(())
        );
        // The kernel carries the state across a return in instruction order: M[0] is
        // written on the only path to 4 (0 -> 1 -> 2 -> 4), but the fall-through from the
        // return at 3 did not write it, and the kernel refuses.
        assert_eq!(
            invalid(vec![
                Insn::jump(op::JEQ, 0, 0, 2),
                st0,
                Insn::ja(1),
                Insn::ret(0),
                ld0,
                Insn::ret(0)
            ]),
            InvalidProgram::ScratchReadBeforeWrite { index: 4, slot: 0 }
        );
    }

    #[test]
    fn errors_name_the_instruction() {
        let e = invalid(vec![Insn::ret(0), Insn::load(3), Insn::ret(0)]);
        assert_eq!(
            e.to_string(),
            "instruction 1: load at offset 3 is not 32-bit aligned"
        );
    }

    #[test]
    fn bytes_round_trip_in_both_byte_orders() {
        let insns = vec![
            Insn::load(data::ARCH),
            Insn::jump(op::JEQ, 0xc000_003e, 1, 2),
            Insn::new(0x1234, 0xab, 0xcd, 0x0102_0304),
            Insn::ret(ALLOW),
        ];
        for endian in [Endian::Little, Endian::Big] {
            let p = Program::new(insns.clone(), endian);
            let bytes = p.to_bytes();
            assert_eq!(bytes.len(), 32);
            assert_eq!(Program::from_bytes(&bytes, endian).unwrap(), p);
        }
        let le = Program::new(insns.clone(), Endian::Little).to_bytes();
        let be = Program::new(insns, Endian::Big).to_bytes();
        assert_eq!(
            &le[16..24],
            &[0x34, 0x12, 0xab, 0xcd, 0x04, 0x03, 0x02, 0x01]
        );
        assert_eq!(
            &be[16..24],
            &[0x12, 0x34, 0xab, 0xcd, 0x01, 0x02, 0x03, 0x04]
        );
    }

    #[test]
    fn from_bytes_wants_whole_instructions() {
        assert_eq!(
            Program::from_bytes(&[0; 12], Endian::Little),
            Err(ParseProgramError::Length { len: 12 })
        );
        assert!(Program::from_bytes(&[], Endian::Little).unwrap().is_empty());
    }

    #[test]
    fn equality_ignores_the_validation_cache() {
        let a = program(vec![Insn::ret(0)]);
        let b = program(vec![Insn::ret(0)]);
        a.validate().unwrap();
        assert_eq!(a, b);
        assert_ne!(a, Program::new(vec![Insn::ret(0)], Endian::Big));
    }
}
