//! Classic BPF instructions as the kernel's `struct sock_filter`, and the subset of opcodes
//! seccomp accepts.
//!
//! This file owns the encoding only: what an instruction is and how its opcode is built.
//! Running, checking and printing programs live beside it in [`super`].

/// One classic BPF instruction, laid out exactly like the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Insn {
    /// Opcode: class | size/op | mode/source.
    pub code: u16,
    /// Jump offset if the condition holds (conditional jumps only).
    pub jt: u8,
    /// Jump offset if it does not hold (conditional jumps only).
    pub jf: u8,
    /// The constant operand: an offset, an immediate, a return value or a jump distance.
    pub k: u32,
}

/// Opcode classes and fields (linux/bpf_common.h).
pub mod op {
    /// Load into the accumulator.
    pub const LD: u16 = 0x00;
    /// Load into the index register.
    pub const LDX: u16 = 0x01;
    /// Store the accumulator into scratch memory.
    pub const ST: u16 = 0x02;
    /// Store the index register into scratch memory.
    pub const STX: u16 = 0x03;
    /// Arithmetic and logic on the accumulator.
    pub const ALU: u16 = 0x04;
    /// Jumps.
    pub const JMP: u16 = 0x05;
    /// Return.
    pub const RET: u16 = 0x06;
    /// Register transfers (TAX/TXA).
    pub const MISC: u16 = 0x07;

    /// 32-bit word size (the only one seccomp allows).
    pub const W: u16 = 0x00;
    /// 16-bit size.
    pub const H: u16 = 0x08;
    /// 8-bit size.
    pub const B: u16 = 0x10;

    /// Immediate mode.
    pub const IMM: u16 = 0x00;
    /// Absolute offset into `seccomp_data`.
    pub const ABS: u16 = 0x20;
    /// Indirect offset (index register + k).
    pub const IND: u16 = 0x40;
    /// Scratch memory.
    pub const MEM: u16 = 0x60;
    /// Packet length (`sizeof(struct seccomp_data)` under seccomp).
    pub const LEN: u16 = 0x80;
    /// IP header length (not allowed in seccomp).
    pub const MSH: u16 = 0xa0;

    /// ALU: add.
    pub const ADD: u16 = 0x00;
    /// ALU: subtract.
    pub const SUB: u16 = 0x10;
    /// ALU: multiply.
    pub const MUL: u16 = 0x20;
    /// ALU: divide.
    pub const DIV: u16 = 0x30;
    /// ALU: or.
    pub const OR: u16 = 0x40;
    /// ALU: and.
    pub const AND: u16 = 0x50;
    /// ALU: left shift.
    pub const LSH: u16 = 0x60;
    /// ALU: right shift.
    pub const RSH: u16 = 0x70;
    /// ALU: negate.
    pub const NEG: u16 = 0x80;
    /// ALU: modulo.
    pub const MOD: u16 = 0x90;
    /// ALU: xor.
    pub const XOR: u16 = 0xa0;

    /// Jump always (k is the distance).
    pub const JA: u16 = 0x00;
    /// Jump if A == operand.
    pub const JEQ: u16 = 0x10;
    /// Jump if A > operand (unsigned).
    pub const JGT: u16 = 0x20;
    /// Jump if A >= operand (unsigned).
    pub const JGE: u16 = 0x30;
    /// Jump if A & operand != 0.
    pub const JSET: u16 = 0x40;

    /// Operand is the constant k.
    pub const K: u16 = 0x00;
    /// Operand is the index register X.
    pub const X: u16 = 0x08;
    /// RET: return the accumulator.
    pub const A: u16 = 0x10;

    /// MISC: X = A.
    pub const TAX: u16 = 0x00;
    /// MISC: A = X.
    pub const TXA: u16 = 0x80;
}

/// The kernel's limit on instructions in one filter (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// The most instructions one thread's filters may hold together. The kernel adds a
/// penalty of 4 instructions per filter already installed (`MAX_INSNS_PER_PATH`, 256 KiB
/// of `sock_filter`).
pub const MAX_INSNS_PER_PATH: usize = 32768;

/// Offsets into `struct seccomp_data`.
pub mod data {
    /// `int nr`: the syscall number.
    pub const NR: u32 = 0;
    /// `__u32 arch`: the AUDIT_ARCH token.
    pub const ARCH: u32 = 4;
    /// `__u64 instruction_pointer`.
    pub const IP: u32 = 8;
    /// `__u64 args[6]` start here, 8 bytes each.
    pub const ARGS: u32 = 16;
    /// `sizeof(struct seccomp_data)`.
    pub const SIZE: u32 = 64;
}

impl Insn {
    /// A raw instruction.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// `ld [k]`: load the 32-bit word at offset `k` of `seccomp_data`.
    pub const fn load(offset: u32) -> Insn {
        Insn::new(op::LD | op::W | op::ABS, 0, 0, offset)
    }

    /// `and #k`.
    pub const fn and(mask: u32) -> Insn {
        Insn::new(op::ALU | op::AND | op::K, 0, 0, mask)
    }

    /// `ja +k`.
    pub const fn ja(distance: u32) -> Insn {
        Insn::new(op::JMP | op::JA, 0, 0, distance)
    }

    /// A conditional jump against the constant `k` (`cond` is `op::JEQ`, `JGT`, `JGE` or
    /// `JSET`).
    pub const fn jump(cond: u16, k: u32, jt: u8, jf: u8) -> Insn {
        Insn::new(op::JMP | cond | op::K, jt, jf, k)
    }

    /// `ret #k`.
    pub const fn ret(value: u32) -> Insn {
        Insn::new(op::RET | op::K, 0, 0, value)
    }

    /// The instruction class (`op::LD`, `op::JMP`, ...).
    pub const fn class(&self) -> u16 {
        self.code & 0x07
    }
}
