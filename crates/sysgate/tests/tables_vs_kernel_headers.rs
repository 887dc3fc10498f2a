//! The generated syscall tables checked against sources independent of libseccomp's CSV:
//! the kernel's own UAPI headers (linux-libc-dev) for x86_64, x86 and x32, and spot checks
//! taken from the kernels' syscall tables for the other architectures.

use std::path::{Path, PathBuf};

use sysgate::arch::{Arch, X32_SYSCALL_BIT};

/// Where Debian's linux-libc-dev puts the x86 UAPI headers.
fn header(name: &str) -> PathBuf {
    for dir in [
        "/usr/include/x86_64-linux-gnu/asm",
        "/usr/include/asm",
        "/usr/include/i386-linux-gnu/asm",
    ] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{name} not found: install linux-libc-dev (apt-get install linux-libc-dev); .ci/run does"
    );
}

/// `#define __NR_<name> <number>` or `#define __NR_<name> (__X32_SYSCALL_BIT + <number>)`.
fn parse_unistd(path: &Path) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("#define __NR_") else {
            continue;
        };
        let mut parts = rest.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap().to_string();
        let value = parts.next().unwrap_or("").trim();
        let nr = if let Some(inner) = value.strip_prefix("(__X32_SYSCALL_BIT + ") {
            X32_SYSCALL_BIT + inner.trim_end_matches(')').trim().parse::<u32>().unwrap()
        } else {
            match value.parse::<u32>() {
                Ok(n) => n,
                Err(_) => continue, // e.g. a macro alias, not a number
            }
        };
        out.push((name, nr));
    }
    out
}

fn check_header(arch: Arch, file: &str, at_least: usize) {
    let defs = parse_unistd(&header(file));
    assert!(
        defs.len() >= at_least,
        "{file}: only {} definitions parsed",
        defs.len()
    );
    let mut mismatches = Vec::new();
    for (name, nr) in &defs {
        if arch.syscall_number(name) != Some(*nr) {
            mismatches.push(format!(
                "{name}: header {nr}, table {:?}",
                arch.syscall_number(name)
            ));
        }
        if arch.syscall_name(*nr) != Some(name.as_str()) {
            mismatches.push(format!(
                "{nr}: header {name}, table {:?}",
                arch.syscall_name(*nr)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{arch} vs {file}:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn x86_64_matches_unistd_64_h() {
    check_header(Arch::X86_64, "unistd_64.h", 300);
}

#[test]
fn x86_matches_unistd_32_h() {
    check_header(Arch::X86, "unistd_32.h", 380);
}

#[test]
fn x32_matches_unistd_x32_h() {
    check_header(Arch::X32, "unistd_x32.h", 300);
}

#[test]
fn spot_checks_on_other_arches() {
    // From each kernel's syscall table (arch/*/kernel/syscalls/*.tbl, asm-generic/unistd.h).
    let cases: &[(Arch, &str, u32)] = &[
        (Arch::Aarch64, "read", 63),
        (Arch::Aarch64, "openat", 56),
        (Arch::Aarch64, "clone3", 435),
        (Arch::Riscv64, "write", 64),
        (Arch::Riscv64, "riscv_flush_icache", 259),
        (Arch::Loongarch64, "exit_group", 94),
        (Arch::Arm, "read", 3),
        (Arch::Arm, "socket", 281),
        (Arch::Arm, "breakpoint", 0x0f0001),
        (Arch::Arm, "set_tls", 0x0f0005),
        (Arch::S390x, "read", 3),
        (Arch::S390x, "socketcall", 102),
        (Arch::S390x, "socket", 359),
        (Arch::S390, "ipc", 117),
        (Arch::Ppc64, "read", 3),
        (Arch::Ppc64le, "socket", 326),
        (Arch::Ppc, "socketcall", 102),
        (Arch::Mips, "read", 4003),
        (Arch::Mipsel, "socket", 4183),
        (Arch::Mips64, "read", 5000),
        (Arch::Mipsel64, "write", 5001),
        (Arch::Mips64n32, "read", 6000),
        (Arch::Mipsel64n32, "clone3", 6435),
        (Arch::M68k, "socketcall", 102),
        (Arch::Sh, "socketcall", 102),
        (Arch::Parisc, "read", 3),
        (Arch::Parisc64, "socket", 17),
    ];
    for (arch, name, nr) in cases {
        assert_eq!(arch.syscall_number(name), Some(*nr), "{arch} {name}");
        assert_eq!(arch.syscall_name(*nr), Some(*name), "{arch} {nr}");
    }
    // mips ABIs start at their kernel offsets.
    assert!(Arch::Mips
        .table()
        .iter()
        .all(|(_, nr)| (4000..5000).contains(&nr)));
    assert!(Arch::Mips64
        .table()
        .iter()
        .all(|(_, nr)| (5000..6000).contains(&nr)));
    assert!(Arch::Mips64n32
        .table()
        .iter()
        .all(|(_, nr)| (6000..7000).contains(&nr)));
    // x32 numbers all carry the x32 bit.
    assert!(Arch::X32
        .table()
        .iter()
        .all(|(_, nr)| nr & X32_SYSCALL_BIT != 0));
    // The twins share tables.
    assert!(std::ptr::eq(Arch::Ppc64.table(), Arch::Ppc64le.table()));
    assert!(std::ptr::eq(Arch::Sh.table(), Arch::Sheb.table()));
}

#[test]
fn every_table_round_trips() {
    for arch in Arch::ALL {
        let table = arch.table();
        assert!(table.len() > 250, "{arch}: {} syscalls", table.len());
        for (name, nr) in table.iter() {
            assert_eq!(arch.syscall_number(name), Some(nr));
            assert_eq!(arch.syscall_name(nr), Some(name));
        }
    }
}
