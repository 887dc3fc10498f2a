//! The classic libseccomp examples, compiled with gcc against `/usr/include/seccomp.h` and
//! run with this crate's `libseccomp.so.2` (through `LD_LIBRARY_PATH`). The kernel decides:
//! each filter is installed in the C program's own process, never in the test runner.

mod support;

use support::{compile, toolchain_present, Lib};

const SIGSYS: i32 = 31;

#[test]
fn kill_default_allows_read_write_close_and_kills_the_rest() {
    if !toolchain_present() {
        return;
    }
    let p = compile("kill_default", None);
    let run = p.run(Lib::Sysgate, &[], b"");
    run.assert_library();
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("survived"), "{}", run.stdout());

    let run = p.run(Lib::Sysgate, &["blocked"], b"");
    run.assert_library();
    assert_eq!(run.signal(), Some(SIGSYS), "stdout {}", run.stdout());
    assert!(!run.stdout().contains("survived"));
}

#[test]
fn read_with_three_argument_conditions() {
    if !toolchain_present() {
        return;
    }
    let p = compile("read_args", None);
    let run = p.run(Lib::Sysgate, &["ok"], b"hello");
    run.assert_library();
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    assert!(run.stdout().contains("read 5"), "{}", run.stdout());
    for mode in ["long", "fd", "buf"] {
        let run = p.run(Lib::Sysgate, &[mode], b"hello");
        assert_eq!(
            run.signal(),
            Some(SIGSYS),
            "{mode}: stdout {}",
            run.stdout()
        );
    }
}

#[test]
fn parent_allowing_clone_reports_its_childs_fate() {
    if !toolchain_present() {
        return;
    }
    let p = compile("fork_exec", None);
    let run = p.run(Lib::Sysgate, &["/bin/true"], b"");
    run.assert_library();
    assert_eq!(run.code(), Some(0), "stderr: {}", run.stderr());
    assert!(
        run.stdout()
            .contains(&format!("child killed by signal {SIGSYS}")),
        "{}",
        run.stdout()
    );
}

/// The same programs behave the same with Debian's libseccomp: the examples test the
/// filters, not something only sysgate does.
#[test]
fn examples_behave_the_same_with_libseccomp() {
    if !toolchain_present() {
        return;
    }
    let p = compile("kill_default", None);
    let run = p.run(Lib::System, &["blocked"], b"");
    run.assert_library();
    assert_eq!(run.signal(), Some(SIGSYS));
    let p = compile("read_args", None);
    assert_eq!(p.run(Lib::System, &["ok"], b"hi").code(), Some(0));
    assert_eq!(p.run(Lib::System, &["long"], b"hi").signal(), Some(SIGSYS));
    let p = compile("fork_exec", None);
    let run = p.run(Lib::System, &["/bin/true"], b"");
    assert!(
        run.stdout().contains("child killed by signal 31"),
        "{}",
        run.stdout()
    );
}

/// The include directory of the generated headers.
fn sysgate_include() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// The examples, and the API checks, compiled against sysgate's generated `seccomp.h` and
/// `seccomp-syscalls.h` instead of the system's (gcc's dependency list shows which header
/// it read), behave the same.
#[test]
fn examples_build_against_sysgates_generated_header() {
    if !toolchain_present() {
        return;
    }
    let include = sysgate_include();
    let deps = std::process::Command::new("gcc")
        .args(["-D_GNU_SOURCE", "-M", "-I"])
        .arg(support::c_dir())
        .arg("-I")
        .arg(&include)
        .arg(support::c_dir().join("kill_default.c"))
        .output()
        .expect("gcc -M");
    let deps = String::from_utf8_lossy(&deps.stdout);
    assert!(
        deps.contains(&include.join("seccomp.h").display().to_string())
            && deps.contains(&include.join("seccomp-syscalls.h").display().to_string()),
        "{deps}"
    );
    assert!(!deps.contains("/usr/include/seccomp"), "{deps}");

    let p = compile("kill_default", Some(&include));
    assert_eq!(p.run(Lib::Sysgate, &[], b"").code(), Some(0));
    assert_eq!(
        p.run(Lib::Sysgate, &["blocked"], b"").signal(),
        Some(SIGSYS)
    );
    let p = compile("read_args", Some(&include));
    assert_eq!(p.run(Lib::Sysgate, &["ok"], b"hi").code(), Some(0));
    assert_eq!(p.run(Lib::Sysgate, &["long"], b"hi").signal(), Some(SIGSYS));
    let p = compile("fork_exec", Some(&include));
    let run = p.run(Lib::Sysgate, &["/bin/true"], b"");
    assert!(
        run.stdout().contains("child killed by signal 31"),
        "{}",
        run.stdout()
    );
    for name in [
        "api_codes",
        "variadic",
        "notify",
        "a2_order",
        "arch_tokens",
        "api26",
    ] {
        let p = compile(name, Some(&include));
        let run = p.run(Lib::Sysgate, &[], b"");
        run.assert_library();
        run.assert_ok();
    }
}
