//! Benchmark, in one run: a C program builds Docker's default profile (amd64: x86_64, x86,
//! x32) through libseccomp's C API and exports it, with Debian's libseccomp 2.5.4 and with
//! this library. Reported side by side: build + export time, program size, and the mean and
//! worst instructions executed per x86_64 syscall (sysgate's emulator, every syscall the
//! x86_64 table knows, arguments zero).
//!
//! `cargo bench -p sysgate-libseccomp --bench c_api_vs_libseccomp`; rounds from
//! `SYSGATE_BENCH_ROUNDS` (default 200). Needs gcc, libseccomp-dev and ../shared.

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use sysgate::arch::Endian;
use sysgate::bpf::Program;
use sysgate::policy::{CmpOp, Syscall};
use sysgate::profile::{self, Target};
use sysgate::Arch;

/// The rules file build_filter.c reads, from sysgate's reading of the profile.
fn rules_file(profile_path: &Path) -> String {
    let loaded = profile::load(profile_path, &Target::docker_default(Arch::X86_64)).expect("load");
    let policy = loaded.policy;
    let default = policy.default_action().to_ret();
    let mut out = format!("default {default:#x}\n");
    for arch in policy.arches() {
        if *arch != Arch::X86_64 {
            writeln!(out, "arch {:#x}", arch.libseccomp_token()).unwrap();
        }
    }
    for rule in policy.rules() {
        let Syscall::Name(name) = &rule.syscall else {
            continue;
        };
        if rule.action.to_ret() == default {
            continue;
        }
        write!(
            out,
            "rule {:#x} {name} {}",
            rule.action.to_ret(),
            rule.conds.len()
        )
        .unwrap();
        for c in &rule.conds {
            let (op, a, b) = match c.op() {
                CmpOp::Ne => (1, c.value(), 0),
                CmpOp::Lt => (2, c.value(), 0),
                CmpOp::Le => (3, c.value(), 0),
                CmpOp::Eq => (4, c.value(), 0),
                CmpOp::Ge => (5, c.value(), 0),
                CmpOp::Gt => (6, c.value(), 0),
                CmpOp::MaskedEq(m) => (7, m, c.value()),
            };
            write!(out, " {} {op} {a} {b}", c.arg()).unwrap();
        }
        out.push('\n');
    }
    out
}

struct Measured {
    min_ns: u64,
    median_ns: u64,
    failed: u64,
    program: Program,
}

fn run(binary: &Path, lib_dir: Option<&Path>, rules: &Path, rounds: u32) -> Measured {
    let out_bpf = rules.with_extension(if lib_dir.is_some() {
        "sysgate.bpf"
    } else {
        "libseccomp.bpf"
    });
    let mut cmd = Command::new(binary);
    cmd.arg(rules).arg(&out_bpf).arg(rounds.to_string());
    match lib_dir {
        Some(d) => cmd.env("LD_LIBRARY_PATH", d),
        None => cmd.env_remove("LD_LIBRARY_PATH"),
    };
    let out = cmd.output().expect("run build_filter");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> u64 {
        let words: Vec<&str> = text.split_whitespace().collect();
        let i = words.iter().position(|w| *w == name).expect(name);
        words[i + 1].parse().expect(name)
    };
    let program = Program::from_bytes(&std::fs::read(&out_bpf).unwrap(), Endian::Little).unwrap();
    Measured {
        min_ns: field("min_ns"),
        median_ns: field("median_ns"),
        failed: field("failed"),
        program,
    }
}

/// Mean and worst instructions executed per x86_64 syscall the table knows.
fn per_syscall(p: &Program) -> (f64, usize) {
    let arch = Arch::X86_64;
    let nrs: Vec<u32> = (0..=arch.newest_syscall().1)
        .filter(|nr| arch.syscall_name(*nr).is_some())
        .collect();
    let counts: Vec<usize> = nrs
        .iter()
        .map(|nr| p.emulate_call(arch, *nr, &[0; 6]).unwrap().executed)
        .collect();
    let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
    (mean, counts.into_iter().max().unwrap_or(0))
}

fn main() {
    let profile_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/profiles/docker-default.json");
    if !profile_path.exists() {
        eprintln!("SKIPPED: needs ../shared/fixtures/profiles/docker-default.json");
        return;
    }
    if !support::toolchain_present() {
        return;
    }
    let rounds: u32 = std::env::var("SYSGATE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let lib_dir = support::library_dir();
    let rules = lib_dir.join("docker-default.rules");
    std::fs::write(&rules, rules_file(&profile_path)).unwrap();
    let binary = lib_dir.join("build_filter");
    let status = Command::new("gcc")
        .args(["-O2", "-Wall", "-o"])
        .arg(&binary)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c/build_filter.c"))
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lseccomp")
        .status()
        .expect("gcc");
    assert!(status.success());

    let theirs = run(&binary, None, &rules, rounds);
    let ours = run(&binary, Some(&lib_dir), &rules, rounds);
    println!("Docker default (amd64: x86_64, x86, x32) through the C API, {rounds} rounds");
    println!("| | libseccomp 2.5.4 | sysgate |");
    println!("|---|---|---|");
    let ms = |ns: u64| format!("{:.3} ms", ns as f64 / 1e6);
    println!(
        "| build + export, min / median | {} / {} | {} / {} |",
        ms(theirs.min_ns),
        ms(theirs.median_ns),
        ms(ours.min_ns),
        ms(ours.median_ns)
    );
    println!(
        "| instructions | {} | {} |",
        theirs.program.len(),
        ours.program.len()
    );
    let (tm, tw) = per_syscall(&theirs.program);
    let (om, ow) = per_syscall(&ours.program);
    println!("| executed per x86_64 syscall, mean / worst | {tm:.2} / {tw} | {om:.2} / {ow} |");
    println!("| rules refused | {} | {} |", theirs.failed, ours.failed);
}
