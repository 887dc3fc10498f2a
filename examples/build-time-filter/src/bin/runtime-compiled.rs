//! The same program with the filter compiled at start-up instead: read `filter.json`, fit
//! it to the running kernel, compile it and install it, through `sysgate::Filter`. Only
//! here to measure what the build-time recipe saves (`cargo bench -p build-time-filter`).

use std::process::ExitCode;

use sysgate::profile::{self, Target};
use sysgate::{Arch, Filter};

fn main() -> ExitCode {
    let violate = std::env::args().nth(1).as_deref() == Some("--violate");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/filter.json");
    let installed = profile::load(path, &Target::new(Arch::native()))
        .map_err(|e| e.to_string())
        .and_then(|loaded| {
            Filter::from_policy(loaded.policy)
                .install()
                .map_err(|e| e.to_string())
        });
    if let Err(e) = installed {
        eprintln!("runtime-compiled: {e}");
        return ExitCode::FAILURE;
    }
    println!("filtered: read, write to stdout and exit_group only");
    if violate {
        // SAFETY: getpid has no preconditions; the filter kills the process here.
        unsafe { libc::getpid() };
        return ExitCode::FAILURE;
    }
    // Leave with exit_group alone: returning from main, or std::process::exit, would have
    // the Rust runtime take down its signal stack first (sigaltstack, munmap), which this
    // filter does not allow. println! has written its line already (stdout is line-buffered).
    // SAFETY: _exit has no preconditions; nothing is left to flush or drop.
    unsafe { libc::_exit(0) }
}
