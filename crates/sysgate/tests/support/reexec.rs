//! Scenarios that need a process of their own (several threads, TSYNC, a filter in the
//! process itself): the test binary re-executes itself with [`SCENARIO_ENV`] set, and its
//! `helper_entry` test ([`serve`]) runs the scenario and exits with its verdict. A helper is
//! a fresh process, so it may spawn threads and install filters freely, which a forked child
//! of the multithreaded test runner could not.

use std::process::Command;

/// Names the scenario a re-executed test binary runs.
pub const SCENARIO_ENV: &str = "SYSGATE_TEST_SCENARIO";

/// A helper's exit code for "cannot run here" (the parent test reports it and passes).
pub const SKIPPED: i32 = 77;

/// This test binary, re-executed to run `scenario` in its `helper_entry` test.
pub fn helper(scenario: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("current_exe"));
    c.args(["--exact", "helper_entry", "--nocapture", "--test-threads=1"])
        .env(SCENARIO_ENV, scenario)
        .env("LC_ALL", "C");
    c
}

/// Run a helper scenario and check its verdict.
pub fn run_helper(scenario: &str) {
    let out = helper(scenario).output().expect("spawn helper");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture: what the helper reported.
    eprintln!("helper {scenario}: {}", stderr.trim());
    if out.status.code() == Some(SKIPPED) {
        eprintln!("helper {scenario} skipped: {stderr}");
        return;
    }
    assert!(
        out.status.success(),
        "helper {scenario} failed with {:?}\nstdout:\n{}\nstderr:\n{stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The body of a test binary's `helper_entry` test: when this process was started by
/// [`helper`], run its scenario with `run` and exit with the verdict (an error starting
/// with `skip:` exits [`SKIPPED`]); otherwise return at once.
pub fn serve(run: impl FnOnce(&str) -> Result<(), String>) {
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    match run(&scenario) {
        Ok(()) => std::process::exit(0),
        Err(msg) if msg.starts_with("skip:") => {
            eprintln!("{msg}");
            std::process::exit(SKIPPED)
        }
        Err(msg) => {
            eprintln!("scenario {scenario}: {msg}");
            std::process::exit(1)
        }
    }
}
