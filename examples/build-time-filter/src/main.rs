//! A program that installs a seccomp filter compiled at build time (see `build.rs`): at
//! start-up it only checks and copies the instructions and calls `seccomp(2)`; no profile is
//! read and no compiler runs.
//!
//! The filter (`filter.json`) allows read, write to stdout and exit_group, and kills the
//! process on anything else. With `--violate` the program then calls `getpid`, and the
//! kernel kills it with SIGSYS.

use std::process::ExitCode;

use sysgate::kernel::PreparedFilters;

// `static FILTERS: [sysgate::bpf::Program; N]` and `const INSTALL_OPTIONS`.
include!(concat!(env!("OUT_DIR"), "/filter.rs"));

fn main() -> ExitCode {
    let violate = std::env::args().nth(1).as_deref() == Some("--violate");
    // Everything that may fail or allocate happens before the filter is in place.
    let installed = PreparedFilters::new(&FILTERS, &INSTALL_OPTIONS).and_then(|p| p.install());
    if let Err(e) = installed {
        eprintln!("build-time-filter: {e}");
        return ExitCode::FAILURE;
    }
    println!("filtered: read, write to stdout and exit_group only");
    if violate {
        // SAFETY: getpid has no preconditions; the filter kills the process here.
        unsafe { libc::getpid() };
        println!("getpid was allowed: the filter is not in place");
        return ExitCode::FAILURE;
    }
    // Leave with exit_group alone: returning from main, or std::process::exit, would have
    // the Rust runtime take down its signal stack first (sigaltstack, munmap), which this
    // filter does not allow. println! has written its line already (stdout is line-buffered).
    // SAFETY: _exit has no preconditions; nothing is left to flush or drop.
    unsafe { libc::_exit(0) }
}

#[cfg(test)]
mod tests {
    use sysgate::bpf::Program;

    /// The two build-time recipes agree: the `include!`d static and the `include_bytes!`d
    /// raw program are the same filter.
    #[test]
    fn the_included_bytes_are_the_static_program() {
        let endian = super::FILTERS[0].endian();
        assert_eq!(endian, sysgate::Arch::native().endian());
        let bytes = include_bytes!(concat!(env!("OUT_DIR"), "/filter.bpf"));
        let parsed = Program::from_bytes(bytes, endian).expect("whole instructions");
        assert_eq!(parsed, super::FILTERS[0]);
        assert!(parsed.validate().is_ok());
        assert_eq!(super::FILTERS.len(), 1);
        assert!(super::INSTALL_OPTIONS.sets_no_new_privs());
    }
}
