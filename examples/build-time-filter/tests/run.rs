//! The build-time example runs under the filter it was built with, and its binary holds no
//! compiler: the profile was compiled by build.rs.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const STATIC: &str = env!("CARGO_BIN_EXE_build-time-filter");
const RUNTIME: &str = env!("CARGO_BIN_EXE_runtime-compiled");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_filter_compiled_at_build_time_is_installed() {
    for exe in [STATIC, RUNTIME] {
        let out = Command::new(exe).output().unwrap();
        assert!(
            out.status.success(),
            "{exe}: {:?} {}",
            out.status,
            text(&out.stderr)
        );
        assert_eq!(
            text(&out.stdout),
            "filtered: read, write to stdout and exit_group only\n"
        );
        // A call outside the list: the kernel kills the process.
        let out = Command::new(exe).arg("--violate").output().unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGSYS),
            "{exe}: {:?}",
            out.status
        );
        assert_eq!(
            text(&out.stdout),
            "filtered: read, write to stdout and exit_group only\n"
        );
    }
}

/// The symbols of `exe` (function names, demangled), or `None` without `nm`.
fn symbols(exe: &str) -> Option<String> {
    let out = Command::new("nm").args(["--demangle", exe]).output().ok()?;
    out.status.success().then(|| text(&out.stdout))
}

/// The build-time binary links no compiler (the linker dropped everything it does not
/// call); the one that compiles at start-up does, which shows the check can fail.
#[test]
fn no_compiler_in_the_build_time_binary() {
    let (Some(build_time), Some(runtime)) = (symbols(STATIC), symbols(RUNTIME)) else {
        // CI installs binutils (.ci/run): there, its absence is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "nm (binutils) is required under CI"
        );
        eprintln!("SKIPPED: nm (binutils) is not installed");
        return;
    };
    let compiler = "sysgate::compile::compile_with";
    assert!(
        runtime.contains(compiler),
        "the check would not see a compiler"
    );
    assert!(!build_time.contains(compiler), "{STATIC} links {compiler}");
    assert!(!build_time.contains("sysgate::profile::load"));
}
