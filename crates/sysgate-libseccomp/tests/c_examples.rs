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
