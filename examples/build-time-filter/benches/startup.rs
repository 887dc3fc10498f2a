//! Start-up with the filter compiled at build time against compiling it at start-up, in one
//! run (`cargo bench -p build-time-filter`):
//!
//! - whole process: start the binary, install, print, exit; `build-time-filter` against
//!   `runtime-compiled` (which reads filter.json, probes the kernel, fits and compiles);
//! - in process, without installing: getting the programs ready
//!   (`PreparedFilters::new(&FILTERS, ..)` against `profile::load` + `Filter::fit` +
//!   `prepare`).
//!
//! A benchmark, not a test: it prints figures and asserts nothing about time.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use sysgate::kernel::PreparedFilters;
use sysgate::profile::{self, Target};
use sysgate::{Arch, Filter};

include!(concat!(env!("OUT_DIR"), "/filter.rs"));

const RUNS: usize = 300;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len() as u32
}

fn main() {
    let exes = [
        ("build time", env!("CARGO_BIN_EXE_build-time-filter")),
        ("start-up  ", env!("CARGO_BIN_EXE_runtime-compiled")),
    ];
    let mut times = [Vec::new(), Vec::new()];
    // Interleaved, so that both see the same machine load.
    for _ in 0..RUNS {
        for (i, (_, exe)) in exes.iter().enumerate() {
            let start = Instant::now();
            let out = Command::new(exe).output().expect("run the example");
            times[i].push(start.elapsed());
            assert!(out.status.success(), "{exe}: {:?}", out.status);
        }
    }
    println!("whole process (spawn, install, print, exit), {RUNS} runs each:");
    for ((what, _), t) in exes.iter().zip(&times) {
        println!(
            "  compiled at {what}: median {:>9.1?}  mean {:>9.1?}",
            median(t.clone()),
            mean(t)
        );
    }

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/filter.json");
    let target = Target::new(Arch::native());
    let mut ready = [Vec::new(), Vec::new()];
    for _ in 0..RUNS {
        let start = Instant::now();
        black_box(PreparedFilters::new(&FILTERS, &INSTALL_OPTIONS).unwrap());
        ready[0].push(start.elapsed());
        let start = Instant::now();
        let loaded = profile::load(path, &target).unwrap();
        let (prepared, _status) = Filter::from_policy(loaded.policy).prepare().unwrap();
        black_box(prepared);
        ready[1].push(start.elapsed());
    }
    println!("in process, programs ready to install (no install), {RUNS} runs each:");
    for ((what, _), t) in exes.iter().zip(&ready) {
        println!(
            "  compiled at {what}: median {:>9.1?}  mean {:>9.1?}",
            median(t.clone()),
            mean(t)
        );
    }
}
