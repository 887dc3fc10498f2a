//! A Debian program that sandboxes itself through `libseccomp.so.2`: man-db's `man` builds a
//! filter in each process of its formatting pipeline (`seccomp_init`, `seccomp_rule_add`,
//! `seccomp_load`) before it runs the formatters. With this library first in
//! `LD_LIBRARY_PATH`, `man -l` formats a page exactly as it does with Debian's libseccomp,
//! and its debug output shows every filter loaded.
//!
//! Needs man-db (`apt-get install man-db`; .ci/run installs it): outside CI its absence makes
//! the test say `SKIPPED`.

mod support;

use std::path::Path;
use std::process::{Command, Output};

/// `man -d -l page` with `lib` (None: Debian's libseccomp), the loader telling which
/// libraries it initialised.
fn man(page: &Path, lib: Option<&Path>) -> Output {
    let mut cmd = Command::new("man");
    cmd.args(["-d", "-l"])
        .arg(page)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .env("LD_DEBUG", "libs")
        .env_remove("MAN_DISABLE_SECCOMP");
    match lib {
        Some(dir) => cmd.env("LD_LIBRARY_PATH", dir),
        None => cmd.env_remove("LD_LIBRARY_PATH"),
    };
    cmd.output().expect("run man")
}

#[test]
fn man_db_sandboxes_its_pipeline_with_this_library() {
    let present = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        if std::env::var_os("CI").is_some() {
            panic!("man-db's man is required under CI");
        }
        eprintln!("SKIPPED: needs man-db (apt-get install man-db)");
        return;
    }
    let lib = support::library_dir();
    let page = lib.join("sysgate-probe.1");
    std::fs::write(
        &page,
        ".TH SYSGATE-PROBE 1\n.SH NAME\nsysgate-probe \\- a page for a test\n\
         .SH DESCRIPTION\nFormatted by man-db under its seccomp sandbox.\n",
    )
    .unwrap();

    let ours = man(&page, Some(&lib));
    let debian = man(&page, None);
    let (out, err) = (
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&ours.stderr),
    );
    assert!(ours.status.success(), "{out}{err}");
    assert!(
        out.contains("Formatted by man-db under its seccomp sandbox."),
        "{out}"
    );
    assert_eq!(
        ours.stdout, debian.stdout,
        "the page differs from Debian's libseccomp's"
    );

    // Every libseccomp.so.2 the loader initialised is this library.
    let inits: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split("calling init: ").nth(1))
        .filter(|path| path.ends_with("libseccomp.so.2"))
        .collect();
    assert!(!inits.is_empty(), "no libseccomp.so.2 initialised:\n{err}");
    for path in inits {
        assert_eq!(
            std::fs::canonicalize(path).unwrap(),
            support::built_library(),
            "man loaded {path}"
        );
    }
    // man-db loads a filter in its pipeline's processes and says when one fails (it takes
    // a failed load for a kernel without seccomp and goes on unconfined).
    assert!(err.contains("loading seccomp filter"), "{err}");
    for failure in [
        "can't load seccomp filter",
        "seccomp filtering requires a kernel",
    ] {
        assert!(!err.contains(failure), "{err}");
    }
}
