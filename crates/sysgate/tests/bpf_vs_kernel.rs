//! The validator and the emulator against the running kernel: every program is installed in
//! a forked child (never in the test runner), which then makes one syscall; the kernel's
//! answer (accepted or EINVAL, errno, ALLOW, SIGSYS) must be what `validate` and `emulate`
//! predict. Skipped (with a message) where seccomp filters cannot be installed.

mod support;

use support::child;
use sysgate::arch::{Arch, Endian};
use sysgate::bpf::{data, op, Insn, Program, SeccompData};
use sysgate::policy::Action;

const ALLOW: u32 = 0x7fff_0000;

/// What happened to the child's probe syscall.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// `seccomp(SET_MODE_FILTER)` failed with this errno.
    Refused(i32),
    /// The syscall ran.
    Allowed,
    /// The syscall failed with this errno.
    Errno(i32),
    /// The child died of this signal.
    Signal(i32),
}

/// The syscall the child makes after installing the filter: harmless when allowed.
const PROBE: libc::c_long = libc::SYS_getppid;

/// Install `program` in a forked child, make the probe syscall with `args`, report.
fn in_child(program: &Program, args: [u64; 6]) -> Outcome {
    match child::run_in_child(program, PROBE, args, false) {
        child::Outcome::Refused(e) => Outcome::Refused(e),
        child::Outcome::Returned(_) => Outcome::Allowed,
        child::Outcome::Errno(e) => Outcome::Errno(e),
        child::Outcome::Killed(sig) => Outcome::Signal(sig),
        other => panic!("the child caught no signal, yet reported {other:?}"),
    }
}

/// Whether this machine lets a child install a filter; prints SKIPPED if not.
fn seccomp_works() -> bool {
    let p = Program::new(vec![Insn::ret(ALLOW)], Arch::native().endian());
    match in_child(&p, [0; 6]) {
        Outcome::Allowed => true,
        other => {
            eprintln!("SKIPPED: cannot install a seccomp filter here ({other:?})");
            false
        }
    }
}

fn native(insns: Vec<Insn>) -> Program {
    Program::new(insns, Arch::native().endian())
}

#[test]
fn validate_agrees_with_the_kernel() {
    if !seccomp_works() {
        return;
    }
    use op::*;
    let ld_nr = Insn::load(data::NR);
    let allow = Insn::ret(ALLOW);
    let st0 = Insn::new(ST, 0, 0, 0);
    let ld_m0 = Insn::new(LD | MEM, 0, 0, 0);
    let programs: Vec<(&str, Vec<Insn>)> = vec![
        ("ret allow", vec![allow]),
        ("empty", vec![]),
        (
            "4096 instructions",
            [vec![ld_nr; 4095], vec![allow]].concat(),
        ),
        (
            "4097 instructions",
            [vec![ld_nr; 4096], vec![allow]].concat(),
        ),
        ("mod #3", vec![Insn::new(ALU | MOD | K, 0, 0, 3), allow]),
        ("mod x", vec![Insn::new(ALU | MOD | X, 0, 0, 0), allow]),
        (
            "ld half word",
            vec![Insn::new(LD | H | ABS, 0, 0, 0), allow],
        ),
        ("ld byte", vec![Insn::new(LD | B | ABS, 0, 0, 0), allow]),
        ("ld indirect", vec![Insn::new(LD | W | IND, 0, 0, 0), allow]),
        ("ldx msh", vec![Insn::new(LDX | B | MSH, 0, 0, 0), allow]),
        ("ret x", vec![Insn::new(RET | X, 0, 0, 0)]),
        ("neg x", vec![Insn::new(ALU | NEG | X, 0, 0, 0), allow]),
        ("ld len", vec![Insn::new(LD | W | LEN, 0, 0, 0), allow]),
        ("ldx len", vec![Insn::new(LDX | W | LEN, 0, 0, 0), allow]),
        ("ld [60]", vec![Insn::load(60), allow]),
        ("ld [64]", vec![Insn::load(64), allow]),
        ("ld [2]", vec![Insn::load(2), allow]),
        ("div #0", vec![Insn::new(ALU | DIV | K, 0, 0, 0), allow]),
        ("div x", vec![Insn::new(ALU | DIV | X, 0, 0, 0), allow]),
        ("lsh #31", vec![Insn::new(ALU | LSH | K, 0, 0, 31), allow]),
        ("lsh #32", vec![Insn::new(ALU | LSH | K, 0, 0, 32), allow]),
        ("rsh #32", vec![Insn::new(ALU | RSH | K, 0, 0, 32), allow]),
        ("st M[15]", vec![Insn::new(ST, 0, 0, 15), allow]),
        ("st M[16]", vec![Insn::new(ST, 0, 0, 16), allow]),
        ("ja past the end", vec![Insn::ja(1), allow]),
        ("jeq past the end", vec![Insn::jump(JEQ, 0, 1, 0), allow]),
        ("jeq inside", vec![Insn::jump(JEQ, 0, 1, 0), allow, allow]),
        ("no final ret", vec![allow, ld_nr]),
        ("read before write", vec![ld_m0, allow]),
        ("write then read", vec![st0, ld_m0, allow]),
        (
            "write on one branch",
            vec![Insn::jump(JEQ, 0, 0, 1), st0, ld_m0, allow],
        ),
        (
            "read reached only by a jump after a write, below a ret",
            vec![
                Insn::jump(JEQ, 0, 0, 2),
                st0,
                Insn::ja(1),
                allow,
                ld_m0,
                allow,
            ],
        ),
        ("unknown opcode", vec![Insn::new(0xff, 0, 0, 0), allow]),
        ("opcode above 0xff", vec![Insn::new(0x106, 0, 0, ALLOW)]),
    ];
    let mut disagreements = Vec::new();
    for (what, insns) in programs {
        let p = native(insns);
        let ours = p.validate();
        let kernel = in_child(&p, [0; 6]);
        let kernel_accepts = match kernel {
            Outcome::Refused(libc::EINVAL) => false,
            // Installed; `div x` by X = 0 then kills the probe, which is fine here.
            Outcome::Allowed | Outcome::Signal(libc::SIGSYS) => true,
            other => panic!("{what}: unexpected {other:?}"),
        };
        if ours.is_ok() != kernel_accepts {
            disagreements.push(format!("{what}: ours {ours:?}, kernel {kernel:?}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// `ld nr; jeq PROBE or allow; <body>; and #0xfff; or ERRNO; ret a; ret ALLOW`: the probe
/// call fails with errno `A & 0xfff` after `body`, unless `body` returns on its own.
fn probe_program(body: Vec<Insn>) -> Program {
    let len = body.len() as u8;
    let mut insns = vec![
        Insn::load(data::NR),
        Insn::jump(op::JEQ, PROBE as u32, 0, len + 3),
    ];
    insns.extend(body);
    insns.extend([
        Insn::and(0xfff),
        Insn::new(op::ALU | op::OR | op::K, 0, 0, 0x0005_0000),
        Insn::new(op::RET | op::A, 0, 0, 0),
        Insn::ret(ALLOW),
    ]);
    native(insns)
}

/// What the emulator says the child will see.
fn predicted(p: &Program, args: [u64; 6]) -> Outcome {
    let data = SeccompData {
        nr: PROBE as u32,
        arch: Arch::native().audit_arch(),
        instruction_pointer: 0,
        args,
    };
    let ret = p.emulate(&data).unwrap().ret;
    match Action::from_ret(ret) {
        Some(Action::Allow) => Outcome::Allowed,
        // ERRNO(0) makes the call return 0 without running it: success, to the caller.
        Some(Action::Errno(0)) => Outcome::Allowed,
        Some(Action::Errno(e)) => Outcome::Errno(i32::from(e)),
        Some(Action::KillThread | Action::KillProcess) => Outcome::Signal(libc::SIGSYS),
        other => panic!("unexpected action {other:?} ({ret:#x})"),
    }
}

#[test]
fn emulator_agrees_with_the_kernel() {
    if !seccomp_works() {
        return;
    }
    use op::*;
    let endian = Arch::native().endian();
    let (a0_lo, a0_hi, a1_lo) = match endian {
        Endian::Little => (16, 20, 24),
        Endian::Big => (20, 16, 28),
    };
    // A = a0.lo, X = a1.lo
    let load_ax = vec![
        Insn::load(a1_lo),
        Insn::new(MISC | TAX, 0, 0, 0),
        Insn::load(a0_lo),
    ];
    let with = |tail: &[Insn]| [load_ax.clone(), tail.to_vec()].concat();
    let alu_k = |code: u16, k: u32| Insn::new(ALU | code | K, 0, 0, k);
    let alu_x = |code: u16| Insn::new(ALU | code | X, 0, 0, 0);
    // j<cond>: errno 1 if taken, 2 if not.
    let branch = |code: u16, k: u32| {
        vec![
            Insn::new(JMP | code, 0, 2, k),
            Insn::new(LD | IMM, 0, 0, 1),
            Insn::ja(1),
            Insn::new(LD | IMM, 0, 0, 2),
        ]
    };
    let bodies: Vec<(&str, Vec<Insn>)> = vec![
        ("a0.lo", with(&[])),
        ("a0.hi", vec![Insn::load(a0_hi)]),
        ("arch", vec![Insn::load(data::ARCH)]),
        ("nr", vec![Insn::load(data::NR)]),
        ("len", vec![Insn::new(LD | W | LEN, 0, 0, 0)]),
        (
            "ldx len; txa",
            vec![
                Insn::new(LDX | W | LEN, 0, 0, 0),
                Insn::new(MISC | TXA, 0, 0, 0),
            ],
        ),
        ("add #k", with(&[alu_k(ADD, 0xffff_fff0)])),
        ("sub #k", with(&[alu_k(SUB, 5)])),
        ("mul #k", with(&[alu_k(MUL, 0x1001)])),
        ("div #k", with(&[alu_k(DIV, 3)])),
        ("or #k", with(&[alu_k(OR, 0x0f0)])),
        ("and #k", with(&[alu_k(AND, 0x3c3)])),
        ("xor #k", with(&[alu_k(XOR, 0xa5a)])),
        ("lsh #k", with(&[alu_k(LSH, 4)])),
        ("rsh #k", with(&[alu_k(RSH, 4)])),
        ("neg", with(&[Insn::new(ALU | NEG, 0, 0, 0)])),
        ("add x", with(&[alu_x(ADD)])),
        ("sub x", with(&[alu_x(SUB)])),
        ("mul x", with(&[alu_x(MUL)])),
        ("div x", with(&[alu_x(DIV)])),
        ("or x", with(&[alu_x(OR)])),
        ("and x", with(&[alu_x(AND)])),
        ("xor x", with(&[alu_x(XOR)])),
        ("lsh x", with(&[alu_x(LSH)])),
        ("rsh x", with(&[alu_x(RSH)])),
        ("jeq #k", with(&branch(JEQ | K, 0x8000_0001))),
        ("jgt #k", with(&branch(JGT | K, 0x8000_0000))),
        ("jge #k", with(&branch(JGE | K, 0x8000_0001))),
        ("jset #k", with(&branch(JSET | K, 0x8000_0010))),
        ("jeq x", with(&branch(JEQ | X, 0))),
        ("jgt x", with(&branch(JGT | X, 0))),
        ("jge x", with(&branch(JGE | X, 0))),
        ("jset x", with(&branch(JSET | X, 0))),
        (
            "scratch",
            with(&[
                Insn::new(ST, 0, 0, 3),
                Insn::new(STX, 0, 0, 9),
                Insn::new(LD | MEM, 0, 0, 9),
                Insn::new(LDX | MEM, 0, 0, 3),
                alu_x(SUB),
            ]),
        ),
    ];
    let values: [u64; 6] = [0, 1, 3, 33, 0x8000_0001, 0xffff_ffff];
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for (what, body) in &bodies {
        let p = probe_program(body.clone());
        p.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
        for (i, &a) in values.iter().enumerate() {
            // a0 with a distinct high word; a1 (X) from the same list, shifted.
            let x = values[(i + 2) % values.len()];
            let args = [a | 0x0000_0123_0000_0000, x, 0, 0, 0, 0];
            let ours = predicted(&p, args);
            let kernel = in_child(&p, args);
            compared += 1;
            if ours != kernel {
                disagreements.push(format!(
                    "{what} a0={:#x} x={x:#x}: emulator {ours:?}, kernel {kernel:?}",
                    args[0]
                ));
            }
        }
    }
    assert!(compared > 100);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
