//! Large and malformed inputs from the outside: every command answers within a 2 GB address
//! space (no abort, no OOM kill), overlaps are one line per syscall, and bad bytes and huge
//! numbers are reported as written, with their position.

use std::fmt::Write as _;
use std::process::{Command, Output};

mod support;
use support::{scratch, stderr, write};

/// `sysgate ARGS` with its address space limited to 2,000,000 KiB (`ulimit -v 2000000`).
fn sysgate_limited(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_sysgate"))
        .args(args)
        .output()
        .unwrap()
}

/// The command ran to its end: an exit status, not a signal (an abort, or the OOM killer).
fn assert_finished(o: &Output, what: &str) {
    assert!(
        o.status.code().is_some(),
        "{what}: ended by {:?}; stderr: {}",
        o.status,
        stderr(o).lines().take(5).collect::<Vec<_>>().join("\n")
    );
}

/// An LXC deny list of `n` lines: a few names, each repeated with a different errno, so every
/// pair of lines on one name overlaps with different actions.
fn lxc_conflicts(n: usize) -> String {
    let names = ["read", "write", "openat", "close", "mmap"];
    let mut s = String::from("2\ndenylist\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "{} errno {}",
            names[i % names.len()],
            1 + (i / names.len()) % 4000
        );
    }
    s
}

#[test]
fn regression_3000_conflicting_lxc_lines_warn_once_per_syscall() {
    // Before: 4.45 million warning lines (one per overlapping pair) and 1.85 GB.
    let dir = scratch("conflicts");
    let file = write(&dir, "deny.seccomp", lxc_conflicts(3000));
    let o = sysgate_limited(&[
        "compile",
        &file,
        "-o",
        &dir.join("f.bpf").display().to_string(),
    ]);
    assert_finished(&o, "compile");
    assert!(o.status.success(), "{}", stderr(&o));
    // Without -v the notes are counted on one line.
    let summary = stderr(&o);
    assert!(
        summary.contains("5 compiler notes: 5 overlaps of rules with different actions"),
        "{summary}"
    );
    let o = sysgate_limited(&[
        "compile",
        "-v",
        &file,
        "-o",
        &dir.join("f.bpf").display().to_string(),
    ]);
    assert_finished(&o, "compile -v");
    let err = stderr(&o);
    let overlaps: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("overlap") && !l.contains("compiler notes"))
        .collect();
    // Five names, each reported once (the x86, x32 and x86_64 filters share their rules).
    assert_eq!(overlaps.len(), 5, "{err}");
    for l in &overlaps {
        assert!(
            l.contains(": 600 rules overlap with different actions in 179700 pairs"),
            "{l}"
        );
        assert!(l.len() < 1000, "{l}");
    }
    let o = sysgate_limited(&["show", &file]);
    assert_finished(&o, "show");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.lines().count() < 100, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn regression_large_inputs_finish_within_2_gb() {
    // 30,000 rules of each kind the issue measured (the pairwise overlap report needed
    // hundreds of millions of entries for these); every command must end on its own,
    // successfully or with an error, never by a signal.
    let dir = scratch("large");
    let lxc = write(&dir, "deny.seccomp", lxc_conflicts(30_000));
    let mut docker = String::from("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[");
    for i in 0..30_000u64 {
        let sep = if i == 0 { "" } else { "," };
        let (name, action) = match i % 3 {
            0 => ("ioctl", "SCMP_ACT_ALLOW"),
            1 => ("read", "SCMP_ACT_ALLOW"),
            _ => ("read", "SCMP_ACT_LOG"),
        };
        let _ = write!(
            docker,
            "{sep}{{\"names\":[\"{name}\"],\"action\":\"{action}\",\"args\":[{{\"index\":1,\"value\":{},\"op\":\"SCMP_CMP_EQ\"}}]}}",
            i * 2
        );
    }
    docker.push_str("]}");
    let docker = write(&dir, "minified.json", docker);
    let out = dir.join("out").display().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["compile", &lxc, "-o", &out],
        vec!["show", &lxc],
        vec!["compile", &docker, "-o", &out],
        vec!["show", &docker],
        vec!["convert", &docker, "--to", "docker", "-o", &out],
        vec!["convert", &docker, "--to", "k8s", "-o", &out],
        vec!["convert", &docker, "--to", "lxc", "-o", &out],
    ];
    for args in runs {
        let o = sysgate_limited(&args);
        assert_finished(&o, &args.join(" "));
        // Warnings stay a summary, not a line per pair of rules.
        assert!(stderr(&o).lines().count() < 5000, "{}", args.join(" "));
    }
    // The minified Docker list needs far more instructions than any stack of filters holds;
    // read's 20,000 rules need the most.
    let o = sysgate_limited(&["compile", &docker, "-o", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the rules for read on x86_64 alone need"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn regression_bad_bytes_are_reported_where_they_are() {
    let dir = scratch("bytes");
    let bad = write(
        &dir,
        "p.json",
        b"{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [{\"names\": [\"r\xc3\xa9\xffad\"]}]}",
    );
    let o = sysgate_limited(&["show", &bad]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Line 2 starts at offset 36; ` "syscalls": [{"names": ["ré` is 28 characters (29 bytes),
    // so the bad byte is character 29, at offset 65.
    assert!(
        stderr(&o).contains("p.json:2:29: byte 0xff at offset 65 is not UTF-8 text"),
        "{}",
        stderr(&o)
    );
    let binary = write(&dir, "prog", b"\x7fELF\x02\x01\x01\x00\x00\x00");
    let o = sysgate_limited(&["compile", &binary, "-o", "/dev/null"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("prog:1:8: byte 0x00 at offset 7 is not UTF-8 text"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn regression_huge_numbers_are_echoed_as_written() {
    let dir = scratch("numbers");
    for (value, shown) in [
        (
            "123456789012345678901234567890",
            "value 123456789012345678901234567890 does not fit in 64 bits",
        ),
        ("1e3", "value 1e3 is not an integer"),
        ("1.5", "value 1.5 is not an integer"),
    ] {
        let text = format!(
            "{{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{{\"names\": [\"ioctl\"], \
             \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{{\"index\": 1, \"value\": {value}, \"op\": \"SCMP_CMP_EQ\"}}]}}]}}"
        );
        let file = write(&dir, "p.json", text);
        let o = sysgate_limited(&["show", &file]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("p.json:1:130: {shown}")),
            "{value}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("e29"), "{}", stderr(&o));
    }
    let file = write(
        &dir,
        "p.json",
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1e3, \"syscalls\": []}",
    );
    let o = sysgate_limited(&["show", &file]);
    assert!(stderr(&o).contains("1e3"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
