//! `sysgate resolve` compared with libseccomp's `scmp_sys_resolver`, plus its own extras.

use std::process::{Command, Output};

mod support;
use support::{stdout, sysgate};

/// The reference tool, if installed (package `seccomp`; .ci/run installs it).
fn scmp_sys_resolver(args: &[&str]) -> Option<Output> {
    match Command::new("scmp_sys_resolver").args(args).output() {
        Ok(o) => Some(o),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: scmp_sys_resolver unavailable ({e}); apt-get install seccomp");
            None
        }
        Err(e) => panic!("scmp_sys_resolver is required under CI: {e}"),
    }
}

#[test]
fn same_output_as_scmp_sys_resolver() {
    let queries: &[&[&str]] = &[
        &["read"],
        &["-a", "x86", "socket"],
        &["-a", "x86", "-t", "socket"],
        &["-a", "x86", "-t", "shmctl"],
        &["-a", "x86", "-t", "arch_prctl"],
        &["-a", "x32", "read"],
        &["-a", "x32", "1073741824"],
        &["-a", "arm", "arch_prctl"],
        &["-a", "arm", "-t", "arch_prctl"],
        &["-a", "mips", "-t", "socket"],
        &["-a", "mips64", "read"],
        &["-a", "mips64n32", "clone"],
        &["-a", "s390x", "-t", "socket"],
        &["-a", "s390x", "0"],
        &["-a", "aarch64", "63"],
        &["-a", "ppc64le", "socket"],
        &["-a", "x86_64", "99999"],
        &["-a", "x86_64", "no_such_syscall"],
        &["-a", "x86_64", "-t", "no_such_syscall"],
        &["-a", "x86", "--", "-101"],
        &["-a", "arm", "--", "-10001"],
        &["-a", "x86_64", "--", "-101"],
        // A number without its ABI's marker is read with it (x32 bit, mips offsets).
        &["-a", "x32", "0"],
        &["-a", "x32", "547"],
        &["-a", "x32", "548"],
        &["-a", "mips", "1"],
        &["-a", "mips", "400"],
        &["-a", "mips", "4001"],
        &["-a", "mips", "8001"],
        &["-a", "mips64", "0"],
        &["-a", "mips64", "4001"],
        &["-a", "mipsel64n32", "0"],
        &["-a", "x86_64", "1073741824"],
    ];
    for q in queries {
        let Some(theirs) = scmp_sys_resolver(q) else {
            return;
        };
        let ours = sysgate(&[&["resolve"], *q].concat());
        assert!(
            ours.status.success(),
            "sysgate resolve {q:?} failed: {ours:?}"
        );
        assert_eq!(stdout(&ours), stdout(&theirs), "sysgate resolve {q:?}");
    }
}

#[test]
fn expected_answers() {
    assert_eq!(
        stdout(&sysgate(&["resolve", "-a", "x86", "-t", "socket"])),
        "102\n"
    );
    assert_eq!(
        stdout(&sysgate(&["resolve", "-a", "x32", "read"])),
        "1073741824\n"
    );
    assert_eq!(
        stdout(&sysgate(&["resolve", "-a", "amd64", "59"])),
        "execve\n"
    );
    assert_eq!(
        stdout(&sysgate(&["resolve", "-a", "mips", "socket"])),
        "-101\n"
    );
}

#[test]
fn bad_arch_is_a_one_line_error_with_status_2() {
    let o = sysgate(&["resolve", "-a", "vax", "read"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("unknown architecture \"vax\"") && err.contains("x86_64"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_input_has_status_2() {
    for args in [
        &["resolve"][..],
        &["resolve", "--", "-12x"],
        &["resolve", "--all-arches", "nope"],
    ] {
        let o = sysgate(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).lines().count(),
            1,
            "{args:?}"
        );
    }
}

#[test]
fn list_prints_every_syscall_of_the_arch() {
    let o = sysgate(&["resolve", "-a", "aarch64", "--list"]);
    let text = stdout(&o);
    assert!(text.lines().any(|l| l == "63\tread"), "read missing");
    assert_eq!(
        text.lines().count(),
        sysgate::arch::Arch::Aarch64.table().len()
    );
    let o = sysgate(&["resolve", "-a", "aarch64", "--list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["arch"], "aarch64");
    assert!(v["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "read" && s["number"] == 63));
}

#[test]
fn all_arches_table() {
    let text = stdout(&sysgate(&["resolve", "--all-arches", "socket"]));
    assert_eq!(text.lines().count(), 1 + 23, "{text}");
    let x86 = text.lines().find(|l| l.starts_with("x86 ")).unwrap();
    assert!(
        x86.contains("359") && x86.contains("socketcall(1)") && x86.contains("-101"),
        "{x86}"
    );
    let v: serde_json::Value = serde_json::from_slice(
        &sysgate(&["resolve", "--all-arches", "socket", "-t", "--json"]).stdout,
    )
    .unwrap();
    let mips = v["arches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["arch"] == "mips")
        .unwrap();
    assert_eq!(mips["libseccomp"], 4102);
    assert_eq!(mips["number"], 4183);
}
