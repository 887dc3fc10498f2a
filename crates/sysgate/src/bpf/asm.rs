//! The assembler: text in the disassembler's notation back to a [`Program`], so that
//! `assemble(disassemble(p)) == p` for every program, and a filter can be written or edited
//! by hand.
//!
//! Owns parsing one instruction per line and turning absolute jump targets back into the
//! relative offsets the kernel reads. Does not judge the program: the result is checked with
//! [`Program::validate`] by whoever installs it, exactly like one read from bytes.
//!
//! The notation (what [`Program::disassemble`] prints):
//!
//! ```text
//!    0: ld   arch                 ; A = seccomp_data word: nr, arch, ip.lo, a0.hi, ... or [k]
//!    1: jeq  #0xc000003e    jt 2    jf 5   ; absolute targets; #k or x; jgt, jge, jset
//!    2: ld   nr
//!    3: jge  #0x40000000    jt 5    jf 4
//!    4: ret  ALLOW                 ; ALLOW, LOG, ERRNO(1 EPERM), TRAP(0), TRACE(0),
//!    5: ret  KILL_PROCESS          ; USER_NOTIF, KILL_THREAD, #0x7fff0000 or a
//! ```
//!
//! and `ld`/`ldx` `#k`, `len`, `M[k]`; `st`/`stx M[k]`; `add sub mul div or and lsh rsh xor`
//! with `#k` or `x`; `neg`, `tax`, `txa`; `ja T`; `.insn CODE, JT, JF, K` for any raw
//! instruction. The leading `N:` is optional, but where given it must be the line's
//! position. Everything after `;` is a comment, blank lines are skipped. Numbers are decimal
//! or `0x` hex. In `ERRNO(n NAME)` the number decides and the name is a comment (it is
//! numbered per architecture).

use super::disasm::word_name;
use super::insn::{data, op, Insn, MAX_INSNS};
use super::program::Program;
use super::{Action, MAX_ERRNO};
use crate::arch::Endian;

/// Why a text is not a program: the line and column (both from 1) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {reason}")]
#[non_exhaustive]
pub struct AsmError {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1 (in characters).
    pub column: usize,
    /// What is wrong.
    pub reason: String,
}

impl Program {
    /// The program `text` spells, in the disassembler's notation (see the module
    /// documentation), for a machine of byte order `endian` (which names the `seccomp_data`
    /// words: `a0.lo` is offset 16 on little-endian machines, 20 on big-endian ones).
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::Program;
    ///
    /// let text = "ld nr\njeq #59 jt 2 jf 3\nret ERRNO(1 EPERM)\nret ALLOW\n";
    /// let p = Program::assemble(text, Endian::Little)?;
    /// assert_eq!(p.len(), 4);
    /// assert_eq!(Program::assemble(&p.disassemble(), Endian::Little)?, p);
    /// assert_eq!(
    ///     Program::assemble("jeq #1 jt 0 jf 1", Endian::Little).unwrap_err().to_string(),
    ///     "1:11: jt 0 does not lie after this instruction (0): BPF jumps only forward"
    /// );
    /// # Ok::<(), sysgate::bpf::AsmError>(())
    /// ```
    pub fn assemble(text: &str, endian: Endian) -> Result<Program, AsmError> {
        let mut insns = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let code = raw.split(';').next().unwrap_or_default();
            if code.trim().is_empty() {
                continue;
            }
            let at = Cursor {
                line: n + 1,
                text: raw,
            };
            if insns.len() == MAX_INSNS {
                return Err(at.error(
                    code,
                    format!("more than {MAX_INSNS} instructions, more than the kernel loads"),
                ));
            }
            insns.push(parse_line(&at, code, insns.len(), endian)?);
        }
        Ok(Program::new(insns, endian))
    }
}

/// One line of the input, to point at its parts.
struct Cursor<'t> {
    line: usize,
    text: &'t str,
}

impl Cursor<'_> {
    /// An error at `part`, which must be a slice of this line.
    fn error(&self, part: &str, reason: impl Into<String>) -> AsmError {
        let offset = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let offset = offset.min(self.text.len());
        let column = self.text.get(..offset).map_or(1, |s| s.chars().count() + 1);
        AsmError {
            line: self.line,
            column,
            reason: reason.into(),
        }
    }
}

/// The instruction at position `index` that `code` (the line without its comment) spells.
fn parse_line(at: &Cursor, code: &str, index: usize, endian: Endian) -> Result<Insn, AsmError> {
    let mut rest = code.trim_start();
    // An optional `N:` prefix, checked against the position.
    if let Some((head, tail)) = rest.split_once(':') {
        let head_trimmed = head.trim();
        if !head_trimmed.is_empty() && head_trimmed.bytes().all(|b| b.is_ascii_digit()) {
            match head_trimmed.parse::<usize>() {
                Ok(n) if n == index => rest = tail.trim_start(),
                _ => {
                    return Err(at.error(
                        head_trimmed,
                        format!(
                            "instruction {head_trimmed} is at position {index} (indexes count \
                             the instructions from 0)"
                        ),
                    ))
                }
            }
        }
    }
    let (mnemonic, operands) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest.trim(), ""),
    };
    let no_operand = |insn: Insn| {
        if operands.is_empty() {
            Ok(insn)
        } else {
            Err(at.error(operands, format!("`{mnemonic}` takes no operand")))
        }
    };
    let alu = |operation: u16| -> Result<Insn, AsmError> {
        let operand = one_operand(at, operands, mnemonic)?;
        if operand == "x" {
            Ok(Insn::new(op::ALU | operation | op::X, 0, 0, 0))
        } else {
            Ok(Insn::new(
                op::ALU | operation | op::K,
                0,
                0,
                immediate(at, operand)?,
            ))
        }
    };
    match mnemonic {
        "ld" => load(at, one_operand(at, operands, mnemonic)?, op::LD, endian),
        "ldx" => load(at, one_operand(at, operands, mnemonic)?, op::LDX, endian),
        "st" => Ok(Insn::new(op::ST, 0, 0, scratch(at, one_operand(at, operands, mnemonic)?)?)),
        "stx" => Ok(Insn::new(op::STX, 0, 0, scratch(at, one_operand(at, operands, mnemonic)?)?)),
        "add" => alu(op::ADD),
        "sub" => alu(op::SUB),
        "mul" => alu(op::MUL),
        "div" => alu(op::DIV),
        "or" => alu(op::OR),
        "and" => alu(op::AND),
        "lsh" => alu(op::LSH),
        "rsh" => alu(op::RSH),
        "xor" => alu(op::XOR),
        "neg" => no_operand(Insn::new(op::ALU | op::NEG, 0, 0, 0)),
        "tax" => no_operand(Insn::new(op::MISC | op::TAX, 0, 0, 0)),
        "txa" => no_operand(Insn::new(op::MISC | op::TXA, 0, 0, 0)),
        "ja" => {
            let target = one_operand(at, operands, mnemonic)?;
            let distance = forward(at, target, index, "ja", u64::from(u32::MAX))?;
            Ok(Insn::new(op::JMP | op::JA, 0, 0, distance as u32))
        }
        "jeq" => jump(at, operands, op::JEQ, index),
        "jgt" => jump(at, operands, op::JGT, index),
        "jge" => jump(at, operands, op::JGE, index),
        "jset" => jump(at, operands, op::JSET, index),
        "ret" => ret(at, one_operand(at, operands, mnemonic)?),
        ".insn" => raw(at, operands),
        "" => Err(at.error(code, "an index with no instruction")),
        other => Err(at.error(
            other,
            format!("unknown instruction {other:?} (ld ldx st stx add sub mul div or and lsh rsh xor neg tax txa ja jeq jgt jge jset ret .insn)"),
        )),
    }
}

/// The single operand of `mnemonic`.
fn one_operand<'t>(at: &Cursor, operands: &'t str, mnemonic: &str) -> Result<&'t str, AsmError> {
    if operands.is_empty() {
        return Err(at.error(operands, format!("`{mnemonic}` needs an operand")));
    }
    // `ret ERRNO(1 EPERM)` has a space inside its one operand.
    if mnemonic != "ret" && operands.split_whitespace().nth(1).is_some() {
        return Err(at.error(operands, format!("`{mnemonic}` takes one operand")));
    }
    Ok(operands)
}

/// A number: decimal or `0x` hex, at most 32 bits.
fn number(at: &Cursor, s: &str) -> Result<u32, AsmError> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => s.parse::<u32>(),
    };
    parsed.map_err(|_| at.error(s, format!("{s:?} is not a 32-bit number")))
}

/// `#k`.
fn immediate(at: &Cursor, s: &str) -> Result<u32, AsmError> {
    match s.strip_prefix('#') {
        Some(n) => number(at, n),
        None => Err(at.error(s, format!("expected #NUMBER or x, found {s:?}"))),
    }
}

/// `M[k]`.
fn scratch(at: &Cursor, s: &str) -> Result<u32, AsmError> {
    match s.strip_prefix("M[").and_then(|r| r.strip_suffix(']')) {
        Some(n) => number(at, n),
        None => Err(at.error(s, format!("expected a scratch word M[N], found {s:?}"))),
    }
}

/// `ld`/`ldx` (`class`) with its operand.
fn load(at: &Cursor, operand: &str, class: u16, endian: Endian) -> Result<Insn, AsmError> {
    if operand == "len" {
        return Ok(Insn::new(class | op::W | op::LEN, 0, 0, 0));
    }
    if operand.starts_with('#') {
        return Ok(Insn::new(class | op::IMM, 0, 0, immediate(at, operand)?));
    }
    if operand.starts_with("M[") {
        return Ok(Insn::new(class | op::MEM, 0, 0, scratch(at, operand)?));
    }
    if class == op::LDX {
        return Err(at.error(
            operand,
            format!("ldx loads #k, len or M[k], not {operand:?}"),
        ));
    }
    if let Some(k) = operand.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return Ok(Insn::load(number(at, k)?));
    }
    (0..data::SIZE)
        .step_by(4)
        .find(|&offset| word_name(offset, endian).as_deref() == Some(operand))
        .map(Insn::load)
        .ok_or_else(|| {
            at.error(
                operand,
                format!(
                    "unknown operand {operand:?} (a seccomp_data word: nr, arch, ip.lo, ip.hi, \
                     a0.lo .. a5.hi; or [k], #k, len, M[k])"
                ),
            )
        })
}

/// The distance from the instruction after `index` to the absolute `target`, at most `max`.
fn forward(at: &Cursor, target: &str, index: usize, what: &str, max: u64) -> Result<u64, AsmError> {
    let t = u64::from(number(at, target)?);
    let next = index as u64 + 1;
    if t < next {
        return Err(at.error(
            target,
            format!(
                "{what} {t} does not lie after this instruction ({index}): BPF jumps only forward"
            ),
        ));
    }
    let distance = t - next;
    if distance > max {
        return Err(at.error(
            target,
            format!("{what} {t} is {distance} instructions ahead; a conditional jump reaches at most {max}"),
        ));
    }
    Ok(distance)
}

/// `jeq #k|x jt T jf F` (absolute targets).
fn jump(at: &Cursor, operands: &str, cond: u16, index: usize) -> Result<Insn, AsmError> {
    let words: Vec<&str> = operands.split_whitespace().collect();
    let [operand, "jt", t, "jf", f] = words[..] else {
        return Err(at.error(
            operands,
            "expected `#K jt TARGET jf TARGET` (or `x` for #K)",
        ));
    };
    let (src, k) = if operand == "x" {
        (op::X, 0)
    } else {
        (op::K, immediate(at, operand)?)
    };
    let jt = forward(at, t, index, "jt", 255)?;
    let jf = forward(at, f, index, "jf", 255)?;
    Ok(Insn::new(op::JMP | cond | src, jt as u8, jf as u8, k))
}

/// `ret ACTION`, `ret #k` or `ret a`.
fn ret(at: &Cursor, operand: &str) -> Result<Insn, AsmError> {
    if operand == "a" {
        return Ok(Insn::new(op::RET | op::A, 0, 0, 0));
    }
    if operand.starts_with('#') {
        return Ok(Insn::ret(immediate(at, operand)?));
    }
    // `ERRNO(38 ENOSYS)`: the number, then its name as a comment.
    let errno_inner = operand
        .get(..6)
        .filter(|head| head.eq_ignore_ascii_case("ERRNO("))
        .and_then(|_| operand[6..].strip_suffix(')'));
    if let Some(inner) = errno_inner {
        let first = inner.split_whitespace().next().unwrap_or(inner);
        if !first.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            return Err(at.error(
                operand,
                format!(
                    "{operand}: give the errno's number (names are numbered per architecture), \
                     e.g. ERRNO(1 EPERM)"
                ),
            ));
        }
        let e = number(at, first)?;
        if e > u32::from(MAX_ERRNO) {
            return Err(at.error(
                operand,
                format!("{operand}: an errno is a number up to {MAX_ERRNO}"),
            ));
        }
        return Ok(Insn::ret(Action::Errno(e as u16).to_ret()));
    }
    operand
        .parse::<Action>()
        .map(|a| Insn::ret(a.to_ret()))
        .map_err(|e| at.error(operand, e.to_string()))
}

/// `.insn CODE, JT, JF, K`: any instruction, jumps relative as the kernel reads them.
fn raw(at: &Cursor, operands: &str) -> Result<Insn, AsmError> {
    let fields: Vec<&str> = operands.split(',').map(str::trim).collect();
    let [code, jt, jf, k] = fields[..] else {
        return Err(at.error(operands, "expected `.insn CODE, JT, JF, K`"));
    };
    let code_value = number(at, code)?;
    let code_value = u16::try_from(code_value)
        .map_err(|_| at.error(code, format!("opcode {code} is wider than 16 bits")))?;
    let small = |s: &str| -> Result<u8, AsmError> {
        u8::try_from(number(at, s)?).map_err(|_| at.error(s, format!("{s} is wider than 8 bits")))
    };
    Ok(Insn::new(
        code_value,
        small(jt)?,
        small(jf)?,
        number(at, k)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::bpf::decode::{decode, Op};

    /// Every opcode seccomp accepts, with operands that exercise each field, plus raw ones.
    fn every_kind_of_instruction(endian: Endian) -> Program {
        let mut insns = Vec::new();
        for offset in (0..data::SIZE).step_by(4) {
            insns.push(Insn::load(offset));
        }
        insns.push(Insn::load(2)); // not a word boundary: `ld [2]`
        for code in 0..=0xffu16 {
            let Some(op) = decode(code) else {
                continue;
            };
            let insn = match op {
                Op::Jump(..) => Insn::new(code, 3, 200, 0x1234_5678),
                Op::Ja => Insn::new(code, 0, 0, 7),
                Op::LdMem | Op::LdxMem | Op::St | Op::Stx => Insn::new(code, 0, 0, 15),
                Op::Alu(..) if code & op::X != 0 => Insn::new(code, 0, 0, 0),
                Op::LdAbs | Op::LdLen | Op::LdxLen | Op::Neg | Op::Tax | Op::Txa | Op::RetA => {
                    Insn::new(code, 0, 0, if op == Op::LdAbs { 60 } else { 0 })
                }
                _ => Insn::new(code, 0, 0, 9),
            };
            insns.push(insn);
        }
        // Jumps with k that name syscalls, arch tokens and the x32 bit.
        insns.push(Insn::load(data::ARCH));
        insns.push(Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 0, 255));
        insns.push(Insn::load(data::NR));
        insns.push(Insn::jump(op::JGE, 0x4000_0000, 1, 0));
        insns.push(Insn::jump(op::JEQ, u32::MAX, 0, 0));
        for ret in [
            0x7fff_0000,
            0x7ffc_0000,
            0x7ff0_0005,
            0x7fc0_0000,
            0x0005_0026,
            0x0005_0fff,
            0x0003_0002,
            0,
            0x8000_0000,
            0x1234_5678, // no action: `ret #0x12345678`
        ] {
            insns.push(Insn::ret(ret));
        }
        insns.push(Insn::new(0x0090 | op::ALU, 1, 2, 3)); // MOD: not seccomp, `.insn`
        insns.push(Insn::new(0x1234, 4, 5, 6));
        // Targets up to 255 ahead must exist.
        insns.extend(std::iter::repeat_n(Insn::ret(0x7fff_0000), 256));
        Program::new(insns, endian)
    }

    #[test]
    fn every_instruction_survives_a_round_trip_in_both_byte_orders() {
        for endian in [Endian::Little, Endian::Big] {
            let p = every_kind_of_instruction(endian);
            for hint in [None, Some(Arch::X86_64), Some(Arch::Aarch64)] {
                let text = p.disassemble_with(hint);
                let back = Program::assemble(&text, endian)
                    .unwrap_or_else(|e| panic!("{endian:?} {hint:?}: {e}\n{text}"));
                assert_eq!(back, p, "{endian:?} {hint:?}");
            }
        }
    }

    #[test]
    fn hostile_input_is_an_error_naming_its_line_and_column_never_a_panic() {
        let le = Endian::Little;
        let err = |text: &str| Program::assemble(text, le).unwrap_err().to_string();
        assert_eq!(err("ld nr\nfoo"), "2:1: unknown instruction \"foo\" (ld ldx st stx add sub mul div or and lsh rsh xor neg tax txa ja jeq jgt jge jset ret .insn)");
        assert_eq!(err("  ld   a9.lo"), "1:8: unknown operand \"a9.lo\" (a seccomp_data word: nr, arch, ip.lo, ip.hi, a0.lo .. a5.hi; or [k], #k, len, M[k])");
        assert_eq!(
            err("ld #4294967296"),
            "1:5: \"4294967296\" is not a 32-bit number"
        );
        assert_eq!(
            err("   3: ret ALLOW"),
            "1:4: instruction 3 is at position 0 (indexes count the instructions from 0)"
        );
        assert_eq!(
            err("jeq #1 jt 300 jf 1"),
            "1:11: jt 300 is 299 instructions ahead; a conditional jump reaches at most 255"
        );
        assert_eq!(
            err("jeq #1 jt 1"),
            "1:5: expected `#K jt TARGET jf TARGET` (or `x` for #K)"
        );
        assert_eq!(err("ret ERRNO(EPERM)"), "1:5: ERRNO(EPERM): give the errno's number (names are numbered per architecture), e.g. ERRNO(1 EPERM)");
        assert_eq!(
            err("ret ERRNO(5000)"),
            "1:5: ERRNO(5000): an errno is a number up to 4095"
        );
        // Fields an operation does not read are shown raw, and come back.
        let odd = Program::new(vec![Insn::new(op::RET | op::A, 1, 2, 3)], le);
        assert!(odd.disassemble().contains(".insn 0x0016, 1, 2, 0x3"));
        assert_eq!(Program::assemble(&odd.disassemble(), le).unwrap(), odd);
        assert_eq!(err("ret SIDEWAYS").split(": ").next(), Some("1:5"));
        assert_eq!(err("tax x"), "1:5: `tax` takes no operand");
        assert_eq!(err("ldx nr"), "1:5: ldx loads #k, len or M[k], not \"nr\"");
        assert_eq!(
            err(".insn 0x10000, 0, 0, 0"),
            "1:7: opcode 0x10000 is wider than 16 bits"
        );
        assert_eq!(err("0:"), "1:1: an index with no instruction");
        assert_eq!(
            err("ld M[0"),
            "1:4: expected a scratch word M[N], found \"M[0\""
        );
        assert_eq!(err("ret ALLOW\nret ALLOW\n\u{e9}\u{e9} nr"), "3:1: unknown instruction \"\u{e9}\u{e9}\" (ld ldx st stx add sub mul div or and lsh rsh xor neg tax txa ja jeq jgt jge jset ret .insn)");
        let too_many = "ret ALLOW\n".repeat(MAX_INSNS + 1);
        assert_eq!(
            err(&too_many),
            "4097:1: more than 4096 instructions, more than the kernel loads"
        );
        // Comments, blank lines and missing indexes are fine; a jump may end the program
        // early (validate() judges that, as for a program read from bytes).
        let p = Program::assemble("; header\n\nld nr ; the number\n1: ja 5\n", le).unwrap();
        assert_eq!(p.len(), 2);
        assert!(p.validate().is_err());
        // Arbitrary bytes as text never panic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut line = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let pieces = [
                    "ld",
                    "jeq",
                    " ",
                    "#",
                    "0x",
                    "jt",
                    "jf",
                    "9",
                    "ret",
                    "ERRNO(",
                    ")",
                    "M[",
                    "]",
                    ":",
                    ";",
                    ",",
                    ".insn",
                    "x",
                    "\u{e9}",
                    "\n",
                    "a0.lo",
                    "-1",
                    "99999999999",
                ];
                line.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let _ = Program::assemble(&line, le);
        }
    }
}
