//! Opcode decoding: which of the 2^16 possible `code` values seccomp accepts, and what each
//! one does.
//!
//! This is the single place that maps raw opcodes to operations; the validator, the
//! emulator, the cache check and the disassembler all match on [`Op`] instead of on numbers.
//! It does not check operands (offsets, jump targets, scratch slots): that is `program.rs`.

use super::insn::op;

/// An ALU operation seccomp accepts (`BPF_MOD` is valid classic BPF but seccomp refuses it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Or,
    And,
    Lsh,
    Rsh,
    Xor,
}

/// A conditional jump's comparison.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    Jeq,
    Jgt,
    Jge,
    Jset,
}

/// The second operand of an ALU operation or conditional jump.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Src {
    /// The constant `k`.
    K,
    /// The index register.
    X,
}

/// One operation of the seccomp subset of classic BPF.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `A = seccomp_data[k]` (32-bit word).
    LdAbs,
    /// `A = sizeof(seccomp_data)`.
    LdLen,
    /// `X = sizeof(seccomp_data)`.
    LdxLen,
    /// `A = k`.
    LdImm,
    /// `X = k`.
    LdxImm,
    /// `A = M[k]`.
    LdMem,
    /// `X = M[k]`.
    LdxMem,
    /// `M[k] = A`.
    St,
    /// `M[k] = X`.
    Stx,
    /// `A = A op operand`.
    Alu(AluOp, Src),
    /// `A = -A`.
    Neg,
    /// `pc += k`.
    Ja,
    /// `pc += (A cond operand) ? jt : jf`.
    Jump(Cond, Src),
    /// Return `k`.
    RetK,
    /// Return `A`.
    RetA,
    /// `X = A`.
    Tax,
    /// `A = X`.
    Txa,
}

/// The operation an opcode stands for, if seccomp accepts that exact opcode.
///
/// The accepted set is the intersection of the kernel's classic BPF opcodes
/// (`chk_code_allowed`) and seccomp's list (`seccomp_check_filter`): opcodes must match
/// exactly, so unused bits (e.g. a size on `LD IMM`) make an opcode invalid.
pub(crate) fn decode(code: u16) -> Option<Op> {
    use op::*;
    const LD_W_ABS: u16 = LD | W | ABS;
    const LD_W_LEN: u16 = LD | W | LEN;
    const LDX_W_LEN: u16 = LDX | W | LEN;
    const LD_IMM: u16 = LD | IMM;
    const LDX_IMM: u16 = LDX | IMM;
    const LD_MEM: u16 = LD | MEM;
    const LDX_MEM: u16 = LDX | MEM;
    const ALU_NEG: u16 = ALU | NEG;
    const JMP_JA: u16 = JMP | JA;
    const RET_K: u16 = RET | K;
    const RET_A: u16 = RET | A;
    const MISC_TAX: u16 = MISC | TAX;
    const MISC_TXA: u16 = MISC | TXA;
    if code > 0xff {
        return None; // opcodes are 8 bits; the kernel's table stops there
    }
    Some(match code {
        LD_W_ABS => Op::LdAbs,
        LD_W_LEN => Op::LdLen,
        LDX_W_LEN => Op::LdxLen,
        LD_IMM => Op::LdImm,
        LDX_IMM => Op::LdxImm,
        LD_MEM => Op::LdMem,
        LDX_MEM => Op::LdxMem,
        ST => Op::St,
        STX => Op::Stx,
        ALU_NEG => Op::Neg,
        JMP_JA => Op::Ja,
        RET_K => Op::RetK,
        RET_A => Op::RetA,
        MISC_TAX => Op::Tax,
        MISC_TXA => Op::Txa,
        _ => {
            let src = match code & 0x08 {
                0 => Src::K,
                _ => Src::X,
            };
            let operation = code & 0xf0;
            match code & 0x07 {
                ALU => Op::Alu(
                    match operation {
                        ADD => AluOp::Add,
                        SUB => AluOp::Sub,
                        MUL => AluOp::Mul,
                        DIV => AluOp::Div,
                        OR => AluOp::Or,
                        AND => AluOp::And,
                        LSH => AluOp::Lsh,
                        RSH => AluOp::Rsh,
                        XOR => AluOp::Xor,
                        _ => return None, // MOD, NEG|X and unassigned operations
                    },
                    src,
                ),
                JMP => Op::Jump(
                    match operation {
                        JEQ => Cond::Jeq,
                        JGT => Cond::Jgt,
                        JGE => Cond::Jge,
                        JSET => Cond::Jset,
                        _ => return None, // JA|X and unassigned comparisons
                    },
                    src,
                ),
                _ => return None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every opcode the kernel's `seccomp_check_filter` lists, and nothing else.
    #[test]
    fn accepts_exactly_the_seccomp_opcodes() {
        let accepted: Vec<u16> = (0..=u16::MAX).filter(|c| decode(*c).is_some()).collect();
        let expected: Vec<u16> = vec![
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, // ld #k .. tax
            0x0c, // add x
            0x14, 0x15, 0x16, // sub #k, jeq #k, ret a
            0x1c, 0x1d, // sub x, jeq x
            0x20, 0x24, 0x25, 0x2c, 0x2d, // ld [k], mul, jgt
            0x34, 0x35, 0x3c, 0x3d, // div, jge
            0x44, 0x45, 0x4c, 0x4d, // or, jset
            0x54, 0x5c, // and
            0x60, 0x61, 0x64, 0x6c, // ld M[], ldx M[], lsh
            0x74, 0x7c, // rsh
            0x80, 0x81, 0x84, 0x87, // ld len, ldx len, neg, txa
            0xa4, 0xac, // xor
        ];
        assert_eq!(accepted, expected);
    }

    #[test]
    fn refuses_classic_opcodes_seccomp_does_not_take() {
        for code in [
            op::ALU | op::MOD | op::K,
            op::ALU | op::MOD | op::X,
            op::LD | op::H | op::ABS,
            op::LD | op::B | op::ABS,
            op::LD | op::W | op::IND,
            op::LDX | op::B | op::MSH,
            op::RET | op::X,
            op::ALU | op::NEG | op::X,
        ] {
            assert_eq!(decode(code), None, "{code:#x}");
        }
    }
}
