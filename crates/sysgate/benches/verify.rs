//! How long a proof takes: `sysgate::verify::filters_vs_policy` on sysgate's own program for
//!
//! - the built-in docker-default for amd64 (x86_64 + x86 + x32, Docker's default
//!   capabilities), and the same for arm64;
//! - the Docker default profile file (../shared/fixtures/profiles/docker-default.json) for
//!   amd64, when ../shared is there;
//! - a synthetic profile of 300 syscalls × 40 `a0 == v` rules (12,000 rules), as in the
//!   compile_vs_libseccomp bench.
//!
//! Reported per policy: program size, regions checked, and the median and worst of
//! `SYSGATE_BENCH_ROUNDS` proofs (default 5). `cargo bench -p sysgate --bench verify`.

use std::time::{Duration, Instant};

use sysgate::arch::Arch;
use sysgate::compile::compile;
use sysgate::policy::Policy;
use sysgate::profile::{builtin, Target};
use sysgate::verify;

mod common;
use common::{docker_default, synthetic};

fn bench(name: &str, policy: &Policy, rounds: usize) {
    let compiled = compile(policy).unwrap();
    let mut times = Vec::with_capacity(rounds);
    let mut regions = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let report = verify::filters_vs_policy(&compiled.programs, policy, 1).unwrap();
        times.push(t.elapsed());
        assert!(report.proven(), "{name}: {:x?}", report.mismatches);
        regions = report.regions;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<34} {:>6} {:>8} {:>11.1} ms {:>9.1} ms",
        compiled.total_insns(),
        regions,
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("verify: run with `cargo bench` to measure");
        return;
    }
    let rounds = std::env::var("SYSGATE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5usize)
        .max(1);
    println!(
        "{:<34} {:>6} {:>8} {:>14} {:>12}",
        "policy (sysgate's program)", "insns", "regions", "median", "worst"
    );
    for (name, arch) in [
        ("docker-default amd64 (built-in)", Arch::X86_64),
        ("docker-default arm64 (built-in)", Arch::Aarch64),
    ] {
        let policy = builtin::builtin("docker-default", &Target::docker_default(arch))
            .unwrap()
            .policy;
        bench(name, &policy, rounds);
    }
    match docker_default() {
        Some(p) => bench("docker-default.json amd64", &p, rounds),
        None => eprintln!("SKIPPED docker-default.json: ../shared/fixtures/profiles not found"),
    }
    bench("300x40 EQ rules (12,000)", &synthetic(), rounds);
}
