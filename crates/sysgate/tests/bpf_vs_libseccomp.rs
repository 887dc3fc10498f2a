//! The bpf module on programs libseccomp.so.2 builds: they parse, validate, emulate as their
//! rules say, pass the kernel's cache check where they should, and disassemble with the right
//! names. libseccomp is only the source of real-world programs here; the expected answers
//! come from the rules themselves. Needs libseccomp.so.2 (tests print SKIPPED without it,
//! and fail under CI).

mod support;

use std::time::Duration;

use support::libseccomp::{self, cmp, LibseccompFilter, LibseccompRule};
use sysgate::arch::{Arch, Endian, X32_SYSCALL_BIT};
use sysgate::bpf::Program;

const TIMEOUT: Duration = Duration::from_secs(60);
const ALLOW: u32 = 0x7fff_0000;
const KILL_PROCESS: u32 = 0x8000_0000;

const fn errno(e: u32) -> u32 {
    0x0005_0000 | e
}

/// Build `spec` and parse it in byte order `endian`, or `None` (skipped) without libseccomp.
fn build(spec: &LibseccompFilter, endian: Endian) -> Option<(Program, Vec<u8>)> {
    let lib = libseccomp::open()?;
    let bytes = lib.build_filter(spec, TIMEOUT).unwrap();
    let program = Program::from_bytes(&bytes, endian).unwrap();
    program.validate().unwrap();
    Some((program, bytes))
}

/// The line of `text` for instruction `index`.
fn line(text: &str, index: usize) -> &str {
    text.lines().nth(index).unwrap()
}

/// The first line of `text` that contains `needle`.
fn line_with<'t>(text: &'t str, needle: &str) -> &'t str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
}

/// Assert that some `jeq #k` in `text` is annotated with syscall `name`.
fn assert_compare_named(text: &str, k: u32, name: &str) {
    let (compare, comment) = (format!("jeq  #{k} "), format!("; {name}"));
    assert!(
        text.lines()
            .any(|l| l.contains(&compare) && l.ends_with(&comment)),
        "no `{compare}... {comment}` in\n{text}"
    );
}

/// x86_64 rules with 32- and 64-bit argument comparisons (native numbers).
fn x86_64_rules() -> Vec<LibseccompRule> {
    vec![
        (ALLOW, 0, vec![]),                                    // read
        (ALLOW, 1, vec![(0, cmp::EQ, 1, 0)]),                  // write(1, ..)
        (ALLOW, 1, vec![(0, cmp::EQ, 2, 0)]),                  // write(2, ..)
        (ALLOW, 9, vec![(2, cmp::MASKED_EQ, 4, 0)]),           // mmap without PROT_EXEC
        (errno(22), 16, vec![(1, cmp::EQ, 0x1_0000_5401, 0)]), // ioctl, high word 1
        (ALLOW, 3, vec![(0, cmp::GT, 0x1_0000_0000, 0)]),      // close(fd > 2^32)
        (errno(13), 59, vec![]),                               // execve
    ]
}

fn x86_64_spec(optimize: u32) -> LibseccompFilter {
    LibseccompFilter {
        default_action: errno(1),
        rules: x86_64_rules(),
        optimize,
        badarch: Some(KILL_PROCESS),
        ..LibseccompFilter::default()
    }
}

#[test]
fn x86_64_filter_parses_validates_and_emulates_its_rules() {
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("SKIPPED: native syscall numbers in the rules are x86_64's");
        return;
    }
    let Some((p, bytes)) = build(&x86_64_spec(0), Endian::Little) else {
        return;
    };
    assert_eq!(p.to_bytes(), bytes, "byte round trip");
    let run = |nr: u32, args: [u64; 6]| p.emulate_call(Arch::X86_64, nr, &args).unwrap().ret;
    let a0 = |v: u64| [v, 0, 0, 0, 0, 0];
    let a1 = |v: u64| [0, v, 0, 0, 0, 0];
    let a2 = |v: u64| [0, 0, v, 0, 0, 0];
    let cases = [
        ("read", run(0, a0(7)), ALLOW),
        ("write(1)", run(1, a0(1)), ALLOW),
        ("write(2)", run(1, a0(2)), ALLOW),
        ("write(3)", run(1, a0(3)), errno(1)),
        (
            "write(2^32 + 1): high word differs",
            run(1, a0(0x1_0000_0001)),
            errno(1),
        ),
        ("mmap(PROT_READ|PROT_WRITE)", run(9, a2(3)), ALLOW),
        ("mmap(PROT_EXEC)", run(9, a2(7)), errno(1)),
        (
            "mmap(high bits | 3)",
            run(9, a2(0xffff_0000_0000_0003)),
            ALLOW,
        ),
        (
            "ioctl(_, 2^32 + 0x5401)",
            run(16, a1(0x1_0000_5401)),
            errno(22),
        ),
        ("ioctl(_, 0x5401)", run(16, a1(0x5401)), errno(1)),
        ("close(2^32 + 1)", run(3, a0(0x1_0000_0001)), ALLOW),
        ("close(2^32)", run(3, a0(0x1_0000_0000)), errno(1)),
        ("close(2^33)", run(3, a0(0x2_0000_0000)), ALLOW),
        ("close(5)", run(3, a0(5)), errno(1)),
        ("execve", run(59, a0(0)), errno(13)),
        ("getpid: default", run(39, a0(0)), errno(1)),
        ("nr -1: default", run(u32::MAX, a0(0)), errno(1)),
        (
            "x32 read: bad arch",
            run(X32_SYSCALL_BIT, a0(0)),
            KILL_PROCESS,
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "{what}: got {got:#x}, want {want:#x}");
    }
    assert_eq!(
        p.emulate_call(Arch::X86, 3, &[0; 6]).unwrap().ret,
        KILL_PROCESS,
        "i386 call: bad arch"
    );
    // ld arch, jeq, ld nr, jge x32, jeq read, ret ALLOW.
    assert_eq!(
        p.emulate_call(Arch::X86_64, 0, &[0; 6]).unwrap().executed,
        6
    );

    // The unconditional ALLOW of read is cacheable; argument checks and errnos are not.
    assert!(p.kernel_caches(Arch::X86_64, 0));
    for nr in [1, 3, 9, 16, 39, 59] {
        assert!(!p.kernel_caches(Arch::X86_64, nr), "nr {nr}");
    }
    assert!(!p.kernel_caches(Arch::X86, 3));

    let text = p.disassemble();
    assert_eq!(line(&text, 0), "   0: ld   arch");
    assert!(line(&text, 1).ends_with("; arch x86_64"), "{text}");
    assert_eq!(line(&text, 2), "   2: ld   nr");
    for (k, name) in [
        (0, "read"),
        (1, "write"),
        (3, "close"),
        (9, "mmap"),
        (16, "ioctl"),
        (59, "execve"),
    ] {
        assert_compare_named(&text, k, name);
    }
    for word in ["a0.hi", "a0.lo", "a1.hi", "a1.lo", "a2.hi", "a2.lo"] {
        line_with(&text, &format!("ld   {word}"));
    }
    line_with(&text, "ret  ERRNO(22 EINVAL)");
    line_with(&text, "ret  KILL_PROCESS");
}

#[test]
fn libseccomp_binary_tree_behaves_like_its_list() {
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("SKIPPED: native syscall numbers in the rules are x86_64's");
        return;
    }
    let Some((list, _)) = build(&x86_64_spec(1), Endian::Little) else {
        return;
    };
    let (tree, _) = build(&x86_64_spec(2), Endian::Little).unwrap();
    assert_ne!(list, tree, "optimize=2 should change the program");
    let values = [
        0,
        1,
        2,
        3,
        4,
        7,
        0x5401,
        0x1_0000_0000,
        0x1_0000_0001,
        0x1_0000_5401,
    ];
    let mut compared = 0;
    for arch in [Arch::X86_64, Arch::X86] {
        for nr in (0..450).chain([X32_SYSCALL_BIT, u32::MAX]) {
            for v in values {
                for args in [[v, 0, 0, 0, 0, 0], [0, v, v, 0, 0, 0]] {
                    let a = list.emulate_call(arch, nr, &args).unwrap().ret;
                    let b = tree.emulate_call(arch, nr, &args).unwrap().ret;
                    assert_eq!(a, b, "{arch} nr {nr} args {args:x?}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 10_000);
}

#[test]
fn multi_arch_filter_is_named_per_arch() {
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("SKIPPED: native syscall numbers in the rules are x86_64's");
        return;
    }
    let spec = LibseccompFilter {
        default_action: errno(1),
        arches: vec![Arch::X86.libseccomp_token(), Arch::X32.libseccomp_token()],
        rules: x86_64_rules()[..3].to_vec(), // read, write(1), write(2)
        optimize: 2,
        badarch: Some(KILL_PROCESS),
        ..LibseccompFilter::default()
    };
    let Some((p, _)) = build(&spec, Endian::Little) else {
        return;
    };
    let run = |arch, nr, a0| p.emulate_call(arch, nr, &[a0, 0, 0, 0, 0, 0]).unwrap().ret;
    assert_eq!(run(Arch::X86_64, 0, 0), ALLOW);
    assert_eq!(run(Arch::X86, 3, 0), ALLOW); // i386 read
    assert_eq!(run(Arch::X86, 4, 2), ALLOW); // i386 write(2)
    assert_eq!(run(Arch::X86, 4, 3), errno(1));
    assert_eq!(run(Arch::X32, X32_SYSCALL_BIT, 0), ALLOW); // x32 read
    assert_eq!(run(Arch::X32, X32_SYSCALL_BIT | 1, 1), ALLOW); // x32 write(1)
    assert_eq!(run(Arch::X86_64, 1, 0x1_0000_0001), errno(1));
    // libseccomp compares only the low word of x32 arguments (sysgate compares both, see
    // Arch::args_are_64bit): write(2^32 + 1) passes as write(1). Recorded, not endorsed.
    assert_eq!(run(Arch::X32, X32_SYSCALL_BIT | 1, 0x1_0000_0001), ALLOW);
    assert_eq!(run(Arch::Aarch64, 0, 0), KILL_PROCESS);

    let text = p.disassemble();
    line_with(&text, "; arch x86_64");
    line_with(&text, "; arch x86");
    line_with(&text, "; x32 read");
    line_with(&text, "; x32 write");
    // Number 3 is read on i386 (close on x86_64), 4 is write (stat on x86_64).
    assert_compare_named(&text, 3, "read");
    assert_compare_named(&text, 4, "write");
    assert!(
        !text.contains("; close") && !text.contains("; stat"),
        "{text}"
    );
}

#[test]
fn big_endian_filter_loads_the_high_word_first() {
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("SKIPPED: native syscall numbers in the rules are x86_64's");
        return;
    }
    let spec = LibseccompFilter {
        default_action: errno(1),
        arches: vec![Arch::S390x.libseccomp_token()],
        remove_native: true,
        rules: x86_64_rules()[..3].to_vec(), // read, write(1), write(2)
        badarch: Some(KILL_PROCESS),
        ..LibseccompFilter::default()
    };
    let Some((p, bytes)) = build(&spec, Endian::Big) else {
        return;
    };
    // libseccomp writes the target's byte order: read as little-endian it is garbage.
    assert!(Program::from_bytes(&bytes, Endian::Little)
        .unwrap()
        .validate()
        .is_err());
    let run = |nr, a0| {
        p.emulate_call(Arch::S390x, nr, &[a0, 0, 0, 0, 0, 0])
            .unwrap()
            .ret
    };
    assert_eq!(run(3, 0), ALLOW); // s390x read
    assert_eq!(run(4, 1), ALLOW); // write(1)
    assert_eq!(run(4, 2), ALLOW);
    assert_eq!(run(4, 0x1_0000_0001), errno(1)); // high word
    assert_eq!(run(4, 3), errno(1));
    assert_eq!(
        p.emulate_call(Arch::X86_64, 0, &[0; 6]).unwrap().ret,
        KILL_PROCESS
    );
    assert!(p.kernel_caches(Arch::S390x, 3));
    assert!(!p.kernel_caches(Arch::S390x, 4));

    let text = p.disassemble();
    assert!(line(&text, 1).ends_with("; arch s390x"), "{text}");
    assert_compare_named(&text, 3, "read");
    assert_compare_named(&text, 4, "write");
    // On a big-endian machine the high word of a0 is at offset 16, loaded first.
    let hi = text.find("ld   a0.hi").unwrap();
    let lo = text.find("ld   a0.lo").unwrap();
    assert!(hi < lo, "{text}");
}

#[test]
fn build_errors_are_reported() {
    let Some(lib) = libseccomp::open() else {
        return;
    };
    let spec = LibseccompFilter {
        default_action: ALLOW,
        rules: vec![(errno(1), 0, vec![(9, cmp::EQ, 0, 0)])], // there is no a9
        ..LibseccompFilter::default()
    };
    let err = lib.build_filter(&spec, TIMEOUT).unwrap_err();
    assert!(err.contains("seccomp_rule_add_array"), "{err}");
}
