//! The disassembler: one readable line per instruction, with the `seccomp_data` word each
//! load reads, absolute jump targets, actions by name, and syscall and arch names on the
//! comparisons that test them.
//!
//! Names come from a forward data-flow pass: for every instruction it computes which arch
//! tokens can still be in `seccomp_data.arch` on the paths that reach it (narrowed by `jeq`
//! against the arch word) and what the accumulator, X and scratch words hold. When a
//! comparison tests `nr` and exactly one arch is possible, the constant is named from that
//! arch's table. This file only prints; it never judges a program (invalid opcodes are shown
//! raw and marked).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::decode::{decode, AluOp, Cond, Op, Src};
use super::insn::{data, Insn};
use super::program::{Program, MEM_WORDS};
use super::Action;
use crate::arch::{Arch, Endian, X32_SYSCALL_BIT};

/// Column at which comments start, when the instruction text is shorter.
const COMMENT_COLUMN: usize = 44;

impl Program {
    /// The program as text, one line per instruction: `index: mnemonic operand`, jump
    /// targets as absolute indexes, and `; comments` naming arches, syscalls and unreachable
    /// code.
    ///
    /// ```
    /// use sysgate::arch::{Arch, Endian};
    /// use sysgate::bpf::{data, op, Insn, Program};
    ///
    /// let p = Program::new(
    ///     vec![
    ///         Insn::load(data::ARCH),
    ///         Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 0, 3),
    ///         Insn::load(data::NR),
    ///         Insn::jump(op::JEQ, 59, 0, 1),
    ///         Insn::ret(0x0005_0001),
    ///         Insn::ret(0x7fff_0000),
    ///     ],
    ///     Endian::Little,
    /// );
    /// let text = p.disassemble();
    /// let lines: Vec<&str> = text.lines().collect();
    /// assert_eq!(lines[0], "   0: ld   arch");
    /// assert!(lines[1].starts_with("   1: jeq  #0xc000003e    jt 2    jf 5"));
    /// assert!(lines[1].ends_with("; arch x86_64"));
    /// assert!(lines[3].ends_with("; execve"));
    /// assert_eq!(lines[4], "   4: ret  ERRNO(1 EPERM)");
    /// ```
    pub fn disassemble(&self) -> String {
        self.disassemble_with(None)
    }

    /// Like [`Program::disassemble`], naming syscalls as on `arch_hint` where the program
    /// itself does not pin the arch down (a filter that never checks `arch`, or a path where
    /// several arches are still possible and the hint is one of them).
    ///
    /// ```
    /// use sysgate::arch::{Arch, Endian};
    /// use sysgate::bpf::{data, op, Insn, Program};
    ///
    /// let p = Program::new(
    ///     vec![
    ///         Insn::load(data::NR),
    ///         Insn::jump(op::JEQ, 63, 0, 1),
    ///         Insn::ret(0x7fff_0000),
    ///         Insn::ret(0),
    ///     ],
    ///     Endian::Little,
    /// );
    /// assert!(!p.disassemble().contains("; read"));
    /// assert!(p.disassemble_with(Some(Arch::Aarch64)).contains("; read"));
    /// assert!(p.disassemble_with(Some(Arch::X86_64)).contains("; uname"));
    /// ```
    pub fn disassemble_with(&self, arch_hint: Option<Arch>) -> String {
        let mut out = String::new();
        for (index, line) in self.lines(arch_hint).into_iter().enumerate() {
            let _ = writeln!(out, "{}", line.render(index));
        }
        out
    }

    /// The disassembly of each instruction, without its index.
    pub(crate) fn lines(&self, arch_hint: Option<Arch>) -> Vec<Line> {
        let states = flow(self);
        self.insns()
            .iter()
            .enumerate()
            .map(|(index, insn)| describe(self, index, insn, states[index].as_ref(), arch_hint))
            .collect()
    }
}

/// One instruction as text: the instruction and an optional comment.
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) comment: Option<String>,
}

impl Line {
    /// `"   3: jeq  #59  jt 4    jf 5        ; execve"`.
    pub(crate) fn render(&self, index: usize) -> String {
        let mut s = format!("{index:>4}: {}", self.text);
        if let Some(comment) = &self.comment {
            let pad = COMMENT_COLUMN.saturating_sub(s.len()).max(2);
            s.push_str(&" ".repeat(pad));
            s.push_str("; ");
            s.push_str(comment);
        }
        s
    }
}

/// The name of the `seccomp_data` word at `offset` on a machine of byte order `endian`:
/// `nr`, `arch`, `ip.lo`, `a3.hi`, ...; `None` for offsets no valid load uses.
pub(crate) fn word_name(offset: u32, endian: Endian) -> Option<String> {
    if offset >= data::SIZE || offset % 4 != 0 {
        return None;
    }
    let lower_offset = offset % 8 == 0;
    let half = match (endian, lower_offset) {
        (Endian::Little, true) | (Endian::Big, false) => "lo",
        _ => "hi",
    };
    Some(match offset {
        data::NR => "nr".to_string(),
        data::ARCH => "arch".to_string(),
        8 | 12 => format!("ip.{half}"),
        _ => format!("a{}.{half}", (offset - data::ARGS) / 8),
    })
}

/// What a register or scratch word holds, as far as the disassembler can tell.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Val {
    Unknown,
    /// The `seccomp_data` word at this offset.
    Word(u32),
    Const(u32),
}

impl Val {
    fn join(self, other: Val) -> Val {
        if self == other {
            self
        } else {
            Val::Unknown
        }
    }
}

/// The arch tokens possible on the paths reaching an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Arches {
    /// Any token except these.
    Any { excluded: BTreeSet<u32> },
    /// Only these tokens.
    Only(BTreeSet<u32>),
}

impl Arches {
    fn join(&self, other: &Arches) -> Arches {
        match (self, other) {
            (Arches::Only(a), Arches::Only(b)) => Arches::Only(a | b),
            (Arches::Any { excluded: a }, Arches::Any { excluded: b }) => {
                Arches::Any { excluded: a & b }
            }
            (Arches::Any { excluded }, Arches::Only(only))
            | (Arches::Only(only), Arches::Any { excluded }) => Arches::Any {
                excluded: excluded - only,
            },
        }
    }

    /// Narrowed to `token` (the taken side of `jeq #token` on the arch word).
    fn only(&self, token: u32) -> Arches {
        let possible = self.allows(token);
        Arches::Only(possible.then_some(token).into_iter().collect())
    }

    /// Narrowed to everything but `token` (the other side).
    fn without(&self, token: u32) -> Arches {
        match self {
            Arches::Any { excluded } => {
                let mut excluded = excluded.clone();
                excluded.insert(token);
                Arches::Any { excluded }
            }
            Arches::Only(only) => {
                let mut only = only.clone();
                only.remove(&token);
                Arches::Only(only)
            }
        }
    }

    fn allows(&self, token: u32) -> bool {
        match self {
            Arches::Any { excluded } => !excluded.contains(&token),
            Arches::Only(only) => only.contains(&token),
        }
    }

    fn is_impossible(&self) -> bool {
        matches!(self, Arches::Only(only) if only.is_empty())
    }

    fn single(&self) -> Option<u32> {
        match self {
            Arches::Only(only) if only.len() == 1 => only.first().copied(),
            _ => None,
        }
    }
}

/// What is known on entry to an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    a: Val,
    x: Val,
    mem: [Val; MEM_WORDS as usize],
    arches: Arches,
}

impl State {
    fn entry() -> State {
        State {
            a: Val::Const(0),
            x: Val::Const(0),
            mem: [Val::Unknown; MEM_WORDS as usize],
            arches: Arches::Any {
                excluded: BTreeSet::new(),
            },
        }
    }

    fn join(&self, other: &State) -> State {
        State {
            a: self.a.join(other.a),
            x: self.x.join(other.x),
            mem: std::array::from_fn(|i| self.mem[i].join(other.mem[i])),
            arches: self.arches.join(&other.arches),
        }
    }
}

/// The state on entry to every instruction; `None` where no feasible path arrives. Jumps
/// only go forward, so one pass in index order is exact.
fn flow(program: &Program) -> Vec<Option<State>> {
    let insns = program.insns();
    let len = insns.len();
    let mut states: Vec<Option<State>> = vec![None; len];
    if len == 0 {
        return states;
    }
    states[0] = Some(State::entry());
    let arrive = |states: &mut Vec<Option<State>>, target: u64, state: State| {
        if target >= len as u64 || state.arches.is_impossible() {
            return;
        }
        let slot = &mut states[target as usize];
        *slot = Some(match slot.take() {
            Some(old) => old.join(&state),
            None => state,
        });
    };
    for index in 0..len {
        let Some(mut state) = states[index].clone() else {
            continue;
        };
        let insn = insns[index];
        let k = insn.k;
        let next = index as u64 + 1;
        let Some(op) = decode(insn.code) else {
            continue; // not executable: nothing follows from here
        };
        let slot = (k < MEM_WORDS).then_some(k as usize);
        match op {
            Op::LdAbs => state.a = Val::Word(k),
            Op::LdLen => state.a = Val::Const(data::SIZE),
            Op::LdxLen => state.x = Val::Const(data::SIZE),
            Op::LdImm => state.a = Val::Const(k),
            Op::LdxImm => state.x = Val::Const(k),
            Op::LdMem => state.a = slot.map_or(Val::Unknown, |s| state.mem[s]),
            Op::LdxMem => state.x = slot.map_or(Val::Unknown, |s| state.mem[s]),
            Op::St => {
                if let Some(s) = slot {
                    state.mem[s] = state.a;
                }
            }
            Op::Stx => {
                if let Some(s) = slot {
                    state.mem[s] = state.x;
                }
            }
            Op::Alu(..) | Op::Neg => state.a = Val::Unknown,
            Op::Tax => state.x = state.a,
            Op::Txa => state.a = state.x,
            Op::RetK | Op::RetA => continue,
            Op::Ja => {
                arrive(&mut states, next + u64::from(k), state);
                continue;
            }
            Op::Jump(cond, src) => {
                let operand = match (src, state.x) {
                    (Src::K, _) => Some(k),
                    (Src::X, Val::Const(c)) => Some(c),
                    (Src::X, _) => None,
                };
                let mut taken = state.clone();
                let mut not_taken = state;
                if let (Cond::Jeq, Val::Word(data::ARCH), Some(token)) = (cond, taken.a, operand) {
                    taken.arches = taken.arches.only(token);
                    not_taken.arches = not_taken.arches.without(token);
                }
                arrive(&mut states, next + u64::from(insn.jt), taken);
                arrive(&mut states, next + u64::from(insn.jf), not_taken);
                continue;
            }
        }
        arrive(&mut states, next, state);
    }
    states
}

/// The text and comment of instruction `index`, given what is known on entry to it.
fn describe(
    program: &Program,
    index: usize,
    insn: &Insn,
    state: Option<&State>,
    arch_hint: Option<Arch>,
) -> Line {
    let k = insn.k;
    let raw = |comment: &str| Line {
        text: format!(
            ".insn {:#06x}, {}, {}, {:#x}",
            insn.code, insn.jt, insn.jf, k
        ),
        comment: Some(comment.to_string()),
    };
    let Some(op) = decode(insn.code) else {
        return raw("not a seccomp opcode");
    };
    // The mnemonic shows only the fields the operation reads; an instruction with others set
    // is shown raw, so that the text says everything (and `Program::assemble` gives it back).
    if !only_fields_it_reads(op, insn) {
        return raw("sets fields the instruction does not read");
    }
    let target = |distance: u64| index as u64 + 1 + distance;
    let mut comment = None;
    let text = match op {
        Op::LdAbs => match word_name(k, program.endian()) {
            Some(name) => format!("ld   {name}"),
            None => format!("ld   [{k}]"),
        },
        Op::LdLen => "ld   len".to_string(),
        Op::LdxLen => "ldx  len".to_string(),
        Op::LdImm => format!("ld   {}", constant(k)),
        Op::LdxImm => format!("ldx  {}", constant(k)),
        Op::LdMem => format!("ld   M[{k}]"),
        Op::LdxMem => format!("ldx  M[{k}]"),
        Op::St => format!("st   M[{k}]"),
        Op::Stx => format!("stx  M[{k}]"),
        Op::Alu(alu, src) => {
            let operand = match (alu, src) {
                (_, Src::X) => "x".to_string(),
                (AluOp::Lsh | AluOp::Rsh, Src::K) => format!("#{k}"),
                (_, Src::K) => constant(k),
            };
            format!("{:<4} {operand}", alu_name(alu))
        }
        Op::Neg => "neg".to_string(),
        Op::Ja => format!("ja   {}", target(u64::from(k))),
        Op::Jump(cond, src) => {
            let a = state.map(|s| s.a);
            let operand = match src {
                Src::X => "x".to_string(),
                Src::K if a == Some(Val::Word(data::NR)) && k < 0x1_0000 => format!("#{k}"),
                Src::K => constant(k),
            };
            if let (Some(state), Src::K) = (state, src) {
                comment = compare_comment(cond, k, state, arch_hint);
            }
            let head = format!("{:<4} {operand}", cond_name(cond));
            format!(
                "{head:<20}jt {:<5}jf {}",
                target(u64::from(insn.jt)),
                target(u64::from(insn.jf))
            )
        }
        Op::RetK => match Action::from_ret(k) {
            // An errno is named as the architecture of the path numbers it (89 is ENOSYS on
            // mips, EDESTADDRREQ elsewhere), when the path pins one down.
            Some(action) => match state.and_then(|s| path_arch(s, arch_hint)) {
                Some(arch) => format!("ret  {}", action.on(arch)),
                None => format!("ret  {action}"),
            },
            None => format!("ret  #{k:#x}"),
        },
        Op::RetA => "ret  a".to_string(),
        Op::Tax => "tax".to_string(),
        Op::Txa => "txa".to_string(),
    };
    if state.is_none() {
        comment = Some("unreachable".to_string());
    }
    Line { text, comment }
}

/// Whether `insn` leaves at zero every field that `op` does not read.
fn only_fields_it_reads(op: Op, insn: &Insn) -> bool {
    let (reads_k, reads_jumps) = match op {
        Op::Jump(_, Src::K) => (true, true),
        Op::Jump(_, Src::X) => (false, true),
        Op::LdLen | Op::LdxLen | Op::Neg | Op::Tax | Op::Txa | Op::RetA | Op::Alu(_, Src::X) => {
            (false, false)
        }
        Op::LdAbs
        | Op::LdImm
        | Op::LdxImm
        | Op::LdMem
        | Op::LdxMem
        | Op::St
        | Op::Stx
        | Op::Alu(_, Src::K)
        | Op::Ja
        | Op::RetK => (true, false),
    };
    (reads_k || insn.k == 0) && (reads_jumps || (insn.jt == 0 && insn.jf == 0))
}

/// The architecture of the paths reaching an instruction: the one token they all carry, or
/// else the hint if it is possible there.
fn path_arch(state: &State, arch_hint: Option<Arch>) -> Option<Arch> {
    match state.arches.single() {
        Some(token) => Arch::from_audit_arch(token),
        None => arch_hint.filter(|h| state.arches.allows(h.audit_arch())),
    }
}

/// The comment on `j<cond> #k` when A holds the arch or the syscall number.
fn compare_comment(cond: Cond, k: u32, state: &State, arch_hint: Option<Arch>) -> Option<String> {
    match state.a {
        Val::Word(data::ARCH) if cond == Cond::Jeq => {
            Arch::from_audit_arch(k).map(|arch| format!("arch {arch}"))
        }
        Val::Word(data::NR) => {
            let arch = match state.arches.single() {
                Some(token) => Arch::from_audit_arch(token)?,
                None => arch_hint.filter(|h| state.arches.allows(h.audit_arch()))?,
            };
            syscall_comment(cond, k, arch)
        }
        _ => None,
    }
}

/// The name a syscall-number comparison tests. On the x86_64 token, numbers with the x32 bit
/// are x32 calls.
fn syscall_comment(cond: Cond, k: u32, arch: Arch) -> Option<String> {
    let x86_64_token = matches!(arch, Arch::X86_64 | Arch::X32);
    if x86_64_token {
        let x32_bit_test = match cond {
            Cond::Jge | Cond::Jset => k == X32_SYSCALL_BIT,
            Cond::Jgt => k == X32_SYSCALL_BIT - 1,
            Cond::Jeq => false,
        };
        if x32_bit_test {
            return Some("x32 syscall bit".to_string());
        }
    }
    if cond == Cond::Jset {
        return None;
    }
    if cond == Cond::Jeq && k == u32::MAX {
        return Some("-1: no syscall (skipped by a tracer)".to_string());
    }
    let arch = match (x86_64_token, k & X32_SYSCALL_BIT != 0) {
        (true, true) => Arch::X32,
        (true, false) => Arch::X86_64,
        (false, _) => arch,
    };
    arch.syscall_name(k).map(|name| match arch {
        Arch::X32 => format!("x32 {name}"),
        _ => name.to_string(),
    })
}

/// `#k` in decimal when small, hex otherwise.
fn constant(k: u32) -> String {
    if k < 10 {
        format!("#{k}")
    } else {
        format!("#{k:#x}")
    }
}

fn alu_name(alu: AluOp) -> &'static str {
    match alu {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::Or => "or",
        AluOp::And => "and",
        AluOp::Lsh => "lsh",
        AluOp::Rsh => "rsh",
        AluOp::Xor => "xor",
    }
}

fn cond_name(cond: Cond) -> &'static str {
    match cond {
        Cond::Jeq => "jeq",
        Cond::Jgt => "jgt",
        Cond::Jge => "jge",
        Cond::Jset => "jset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::op;

    const ALLOW: u32 = 0x7fff_0000;

    #[test]
    fn word_names_follow_the_byte_order() {
        assert_eq!(word_name(0, Endian::Big).as_deref(), Some("nr"));
        assert_eq!(word_name(4, Endian::Little).as_deref(), Some("arch"));
        assert_eq!(word_name(8, Endian::Little).as_deref(), Some("ip.lo"));
        assert_eq!(word_name(8, Endian::Big).as_deref(), Some("ip.hi"));
        assert_eq!(word_name(16, Endian::Little).as_deref(), Some("a0.lo"));
        assert_eq!(word_name(20, Endian::Little).as_deref(), Some("a0.hi"));
        assert_eq!(word_name(16, Endian::Big).as_deref(), Some("a0.hi"));
        assert_eq!(word_name(20, Endian::Big).as_deref(), Some("a0.lo"));
        assert_eq!(word_name(60, Endian::Little).as_deref(), Some("a5.hi"));
        assert_eq!(word_name(64, Endian::Little), None);
        assert_eq!(word_name(18, Endian::Little), None);
    }

    /// A small two-arch filter, exactly as printed.
    #[test]
    fn snapshot_of_a_small_filter() {
        let x86_64 = Arch::X86_64.audit_arch();
        let x86 = Arch::X86.audit_arch();
        let p = Program::new(
            vec![
                Insn::load(data::ARCH),                           // 0
                Insn::jump(op::JEQ, x86_64, 2, 0),                // 1 -> 4 / 2
                Insn::jump(op::JEQ, x86, 9, 0),                   // 2 -> 12 / 3
                Insn::ret(0x8000_0000),                           // 3
                Insn::load(data::NR),                             // 4
                Insn::jump(op::JGE, X32_SYSCALL_BIT, 8, 0),       // 5 -> 14 / 6
                Insn::jump(op::JEQ, 59, 7, 0),                    // 6 -> 14 / 7
                Insn::jump(op::JEQ, 1, 0, 4),                     // 7 -> 8 / 12
                Insn::load(data::ARGS + 4),                       // 8
                Insn::jump(op::JEQ, 0, 0, 4),                     // 9 -> 10 / 14
                Insn::load(data::ARGS),                           // 10
                Insn::jump(op::JGT, 2, 2, 1),                     // 11 -> 14 / 13
                Insn::load(data::NR),                             // 12
                Insn::ret(ALLOW),                                 // 13
                Insn::ret(0x0005_0001),                           // 14
                Insn::new(op::ALU | op::AND | op::K, 0, 0, 0xff), // 15
                Insn::new(op::RET | op::A, 0, 0, 0),              // 16
            ],
            Endian::Little,
        );
        let expected = "   0: ld   arch
   1: jeq  #0xc000003e    jt 4    jf 2      ; arch x86_64
   2: jeq  #0x40000003    jt 12   jf 3      ; arch x86
   3: ret  KILL_PROCESS
   4: ld   nr
   5: jge  #0x40000000    jt 14   jf 6      ; x32 syscall bit
   6: jeq  #59            jt 14   jf 7      ; execve
   7: jeq  #1             jt 8    jf 12     ; write
   8: ld   a0.hi
   9: jeq  #0             jt 10   jf 14
  10: ld   a0.lo
  11: jgt  #2             jt 14   jf 13
  12: ld   nr
  13: ret  ALLOW
  14: ret  ERRNO(1 EPERM)
  15: and  #0xff                            ; unreachable
  16: ret  a                                ; unreachable
";
        assert_eq!(p.disassemble(), expected);
    }

    #[test]
    fn prints_every_operation() {
        use op::*;
        let p = Program::new(
            vec![
                Insn::new(LD | W | LEN, 0, 0, 0),
                Insn::new(LDX | W | LEN, 0, 0, 0),
                Insn::new(LD | IMM, 0, 0, 0x1234),
                Insn::new(LDX | IMM, 0, 0, 3),
                Insn::new(ST, 0, 0, 2),
                Insn::new(STX, 0, 0, 3),
                Insn::new(LD | MEM, 0, 0, 2),
                Insn::new(LDX | MEM, 0, 0, 3),
                Insn::new(ALU | ADD | X, 0, 0, 0),
                Insn::new(ALU | LSH | K, 0, 0, 12),
                Insn::new(ALU | XOR | K, 0, 0, 0xff),
                Insn::new(ALU | NEG, 0, 0, 0),
                Insn::new(MISC | TAX, 0, 0, 0),
                Insn::new(MISC | TXA, 0, 0, 0),
                Insn::new(JMP | JSET | X, 1, 0, 0),
                Insn::ja(0),
                Insn::load(40),
                Insn::ret(0x0003_0007),
                Insn::ret(0x0005_2000),
                Insn::new(0x94, 0, 0, 1),
                Insn::load(18),
            ],
            Endian::Big,
        );
        let lines: Vec<String> = p
            .disassemble()
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        let texts: Vec<&str> = lines.iter().map(|l| &l[6..]).collect();
        assert_eq!(
            texts,
            [
                "ld   len",
                "ldx  len",
                "ld   #0x1234",
                "ldx  #3",
                "st   M[2]",
                "stx  M[3]",
                "ld   M[2]",
                "ldx  M[3]",
                "add  x",
                "lsh  #12",
                "xor  #0xff",
                "neg",
                "tax",
                "txa",
                "jset x              jt 16   jf 15",
                "ja   16",
                "ld   a3.hi",
                "ret  TRAP(7)",
                "ret  #0x52000                         ; unreachable",
                ".insn 0x0094, 0, 0, 0x1               ; not a seccomp opcode",
                "ld   [18]                             ; unreachable",
            ]
        );
    }

    #[test]
    fn names_x32_calls_on_the_shared_token() {
        let p = Program::new(
            vec![
                Insn::load(data::ARCH),
                Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 0, 2),
                Insn::load(data::NR),
                Insn::jump(op::JEQ, X32_SYSCALL_BIT | 1, 0, 0),
                Insn::ret(ALLOW),
            ],
            Endian::Little,
        );
        assert!(p.disassemble().contains("; x32 write"));
    }

    #[test]
    fn no_syscall_names_while_several_arches_are_possible() {
        // Both arches reach the nr compare: no single table applies.
        let p = Program::new(
            vec![
                Insn::load(data::ARCH),
                Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 1, 0),
                Insn::jump(op::JEQ, Arch::Aarch64.audit_arch(), 0, 3),
                Insn::load(data::NR),
                Insn::jump(op::JEQ, 63, 0, 0),
                Insn::ret(ALLOW),
                Insn::ret(0),
            ],
            Endian::Little,
        );
        let text = p.disassemble();
        assert!(!text.contains("; read"), "{text}");
        assert!(!text.contains("; uname"), "{text}");
        // A hint among the possible arches decides.
        assert!(p.disassemble_with(Some(Arch::Aarch64)).contains("; read"));
        // A hint the program rules out does not.
        assert!(!p.disassemble_with(Some(Arch::X86)).contains("dup2"));
    }

    #[test]
    fn follows_the_accumulator_through_x_and_scratch() {
        let p = Program::new(
            vec![
                Insn::load(data::ARCH),
                Insn::new(op::ST, 0, 0, 0),
                Insn::new(op::LD | op::IMM, 0, 0, 0),
                Insn::new(op::LD | op::MEM, 0, 0, 0),
                Insn::jump(op::JEQ, Arch::Aarch64.audit_arch(), 0, 4),
                Insn::load(data::NR),
                Insn::new(op::MISC | op::TAX, 0, 0, 0),
                Insn::new(op::MISC | op::TXA, 0, 0, 0),
                Insn::jump(op::JEQ, 221, 0, 0),
                Insn::ret(ALLOW),
            ],
            Endian::Little,
        );
        let text = p.disassemble();
        assert!(text.contains("; arch aarch64"), "{text}");
        assert!(text.contains("; execve"), "{text}");
    }
}
