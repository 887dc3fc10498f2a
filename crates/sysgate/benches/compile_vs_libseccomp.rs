//! sysgate's compiler side by side with libseccomp (list layout, and the binary tree of
//! `SCMP_FLTATR_CTL_OPTIMIZE=2`) in one run, on the same policies:
//!
//! - the Docker default profile (../shared/fixtures/profiles/docker-default.json) resolved for
//!   amd64 with Docker's default capabilities: x86_64 + x86 + x32;
//! - a synthetic profile of 300 syscalls × 40 `a0 == v` rules (12,000 rules).
//!
//! Reported: compile time (median), program size, mean and worst instructions executed per
//! x86_64 syscall (every number of the x86_64 table, arguments zero, in the emulator), and how
//! many argument-free allowed x86_64 syscalls the kernel's action cache can skip.
//!
//! `cargo bench -p sysgate --bench compile_vs_libseccomp` (libseccomp.so.2 must be installed;
//! its builds run in a child with a timeout, `SYSGATE_BENCH_TIMEOUT` seconds, default 300;
//! `SYSGATE_BENCH_LIBSECCOMP=0` leaves libseccomp out).

#[path = "../tests/support/libseccomp.rs"]
mod libseccomp;

use std::time::{Duration, Instant};

use sysgate::arch::Arch;
use sysgate::bpf::Program;
use sysgate::compile::compile;
use sysgate::policy::{Action, Policy};

mod common;
use common::{docker_default, synthetic};

struct Row {
    name: String,
    compile: Option<Duration>,
    insns: usize,
    programs: usize,
    mean: f64,
    worst: usize,
    cacheable: usize,
    allowed_free: usize,
}

/// Mean and worst executed instructions over the x86_64 table, and cacheability; `None`
/// when a program is one the kernel would refuse (libseccomp emits programs over 4096
/// instructions without complaint).
fn measure(policy: &Policy, programs: &[Program]) -> Option<(f64, usize, usize, usize)> {
    if programs.iter().any(|p| p.validate().is_err()) {
        return None;
    }
    let arch = Arch::X86_64;
    let (mut total, mut worst, mut n) = (0usize, 0usize, 0usize);
    let (mut cacheable, mut allowed_free) = (0, 0);
    for (_, nr) in arch.table().iter() {
        let executed: usize = programs
            .iter()
            .map(|p| p.emulate_call(arch, nr, &[0; 6]).unwrap().executed)
            .sum();
        total += executed;
        worst = worst.max(executed);
        n += 1;
        let free = !policy
            .rules()
            .iter()
            .any(|r| !r.conds.is_empty() && policy.rule_targets(r, arch) == Some(nr));
        if free && policy.decide(arch, nr, &[0; 6]).action == Action::Allow {
            allowed_free += 1;
            if sysgate::bpf::kernel_caches_all(programs, arch, nr) {
                cacheable += 1;
            }
        }
    }
    Some((total as f64 / n as f64, worst, cacheable, allowed_free))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_policy(
    label: &str,
    policy: &Policy,
    lib: Option<&libseccomp::Libseccomp>,
    timeout: Duration,
) -> Vec<Row> {
    let mut rows = Vec::new();
    // sysgate: median of several runs.
    let runs = 15;
    let mut times = Vec::with_capacity(runs);
    let mut compiled = None;
    for _ in 0..runs {
        let start = Instant::now();
        let c = compile(policy).expect("sysgate compiles");
        times.push(start.elapsed());
        compiled = Some(c);
    }
    let compiled = compiled.unwrap();
    let (mean, worst, cacheable, allowed_free) =
        measure(policy, &compiled.programs).expect("sysgate's programs are valid");
    rows.push(Row {
        name: format!("{label}: sysgate"),
        compile: Some(median(times)),
        insns: compiled.total_insns(),
        programs: compiled.programs.len(),
        mean,
        worst,
        cacheable,
        allowed_free,
    });
    let Some(lib) = lib else { return rows };
    for (layout, optimize) in [("libseccomp list", 1), ("libseccomp tree", 2)] {
        let spec = lib.filter_from_policy(policy, optimize);
        let mut times = Vec::new();
        let mut result = None;
        // Fewer runs: a libseccomp build can take minutes. Each run includes a fork (~1 ms).
        for _ in 0..3 {
            let start = Instant::now();
            let r = lib.build_filter(&spec, timeout);
            times.push(start.elapsed());
            let failed = r.is_err();
            result = Some(r);
            if failed || times.last().unwrap() > &Duration::from_secs(5) {
                break;
            }
        }
        match result.unwrap() {
            Ok(bytes) => {
                let program = Program::from_bytes(&bytes, Arch::native().endian()).unwrap();
                let measured = measure(policy, std::slice::from_ref(&program));
                let (mean, worst, cacheable, allowed_free) =
                    measured.unwrap_or((f64::NAN, 0, 0, 0));
                let note = if measured.is_none() {
                    " (>4096: kernel refuses)"
                } else {
                    ""
                };
                rows.push(Row {
                    name: format!("{label}: {layout}{note}"),
                    compile: Some(median(times)),
                    insns: program.len(),
                    programs: 1,
                    mean,
                    worst,
                    cacheable,
                    allowed_free,
                });
            }
            Err(e) => {
                eprintln!("{label}: {layout}: {e}");
                rows.push(Row {
                    name: format!(
                        "{label}: {layout} (no result: {})",
                        e.lines().next().unwrap_or("")
                    ),
                    compile: None,
                    insns: 0,
                    programs: 0,
                    mean: 0.0,
                    worst: 0,
                    cacheable: 0,
                    allowed_free: 0,
                });
            }
        }
    }
    rows
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("compile_vs_libseccomp: run with `cargo bench` to measure");
        return;
    }
    let timeout = Duration::from_secs(
        std::env::var("SYSGATE_BENCH_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300),
    );
    // SYSGATE_BENCH_LIBSECCOMP=0 measures sysgate alone (libseccomp needs minutes on the
    // synthetic profile).
    let lib = match std::env::var("SYSGATE_BENCH_LIBSECCOMP").as_deref() {
        Ok("0") => None,
        _ => libseccomp::open(),
    };
    let mut rows = Vec::new();
    match docker_default() {
        Some(p) => rows.extend(bench_policy(
            "docker-default amd64",
            &p,
            lib.as_ref(),
            timeout,
        )),
        None => eprintln!(
            "SKIPPED docker-default: ../shared/fixtures/profiles/docker-default.json not found"
        ),
    }
    rows.extend(bench_policy(
        "300x40 EQ rules",
        &synthetic(),
        lib.as_ref(),
        timeout,
    ));
    println!(
        "{:<48} {:>12} {:>8} {:>5} {:>8} {:>6} {:>12}",
        "policy: compiler", "compile", "insns", "progs", "mean", "worst", "cacheable"
    );
    for r in rows {
        let t = r.compile.map_or_else(
            || "-".to_string(),
            |d| format!("{:.3} ms", d.as_secs_f64() * 1e3),
        );
        println!(
            "{:<48} {:>12} {:>8} {:>5} {:>8.2} {:>6} {:>6}/{:<5}",
            r.name, t, r.insns, r.programs, r.mean, r.worst, r.cacheable, r.allowed_free
        );
    }
}
