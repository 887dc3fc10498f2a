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
    // Kubernetes: the YAML parser reads them as floats; the message shows what was written.
    for value in ["123456789012345678901234567890", "1e3", "1.5"] {
        let text = format!(
            "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\n\
             metadata: {{name: p}}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  \
             - {{names: [ioctl], action: SCMP_ACT_ALLOW, args: [{{index: 1, value: {value}, op: SCMP_CMP_EQ}}]}}\n"
        );
        let file = write(&dir, "p.yaml", text);
        let o = sysgate_limited(&["show", &file]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "p.yaml:7:71: value is {value} (not a 64-bit integer): expected an integer from 0 \
                 to 9223372036854775807"
            )),
            "{value}: {}",
            stderr(&o)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Docker profile for x86_64, x86 and x32 whose `n` entries each name `getgid32` (x86
/// only), `no_such_call` (no architecture) and one of 300 other unknown names.
fn docker_repeated_names(n: usize) -> String {
    let mut s = String::from(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\
         \"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"syscalls\":[",
    );
    for i in 0..n {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            s,
            "{sep}{{\"names\":[\"getgid32\",\"no_such_call\",\"unknown_{}\"],\
             \"action\":\"SCMP_ACT_ALLOW\"}}",
            i % 300
        );
    }
    s.push_str("]}");
    s
}

#[test]
fn regression_warnings_are_one_line_per_name_not_per_rule() {
    // Before: compile -v printed one note per rule and architecture (2 x 3,000 lines for
    // getgid32) and the reader one warning per rule naming an unknown syscall (6,000).
    let dir = scratch("per-name");
    let file = write(&dir, "p.json", docker_repeated_names(3000));
    let out = dir.join("f.bpf").display().to_string();
    let o = sysgate_limited(&["compile", &file, "-v", "-o", &out]);
    assert_finished(&o, "compile");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let skipped: Vec<&str> = err.lines().filter(|l| l.contains("getgid32")).collect();
    assert_eq!(skipped.len(), 1, "{err}");
    assert!(
        skipped[0].contains(
            "3000 rules on getgid32 skipped on x86_64, x32: no such syscall there; the first \
             is rule #0"
        ),
        "{}",
        skipped[0]
    );
    assert!(skipped[0].contains(&format!("{file}:1:")), "{}", skipped[0]);
    let unknown: Vec<&str> = err.lines().filter(|l| l.contains("no_such_call")).collect();
    assert_eq!(unknown.len(), 1, "{err}");
    assert!(
        unknown[0]
            .ends_with("unknown syscall \"no_such_call\" skipped (3000 times; the first is shown)"),
        "{}",
        unknown[0]
    );
    // 301 distinct warnings and one note: -v lists them all.
    assert_eq!(err.lines().count(), 302, "{err}");
    // Without -v: the first 100 warnings, a line counting the others, and the notes' summary.
    let o = sysgate_limited(&["compile", &file, "-o", &out]);
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 102, "{err}");
    assert_eq!(
        lines[100],
        "sysgate: warning: 201 more warnings not shown; -v lists them all"
    );
    assert!(lines[101].contains("1 compiler note"), "{}", lines[101]);
    // Commands without -v cap them the same way.
    let o = sysgate_limited(&["convert", &file, "--to", "lxc", "-o", &out]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sysgate: warning: 201 more warnings not shown\n"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A conversion that loses something on every rule (here: argument conditions systemd cannot
/// say) lists the first hundred losses and counts the rest, as reading warnings are.
#[test]
fn regression_losses_are_capped_like_warnings() {
    let dir = scratch("losses-capped");
    let names: Vec<&str> = sysgate::Arch::X86_64
        .table()
        .iter()
        .map(|(n, _)| n)
        .take(300)
        .collect();
    let rules: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                r#"{{"names": ["{n}"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}}]}}"#
            )
        })
        .collect();
    let profile = write(
        &dir,
        "many.json",
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
            rules.join(",\n")
        ),
    );
    let out = dir.join("out.conf");
    let o = sysgate_limited(&[
        "convert",
        &profile,
        "--format",
        "systemd",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_finished(&o, "convert");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let lost: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("sysgate: lost: "))
        .collect();
    assert!(lost.len() <= 101 + 5, "{} loss lines", lost.len());
    let last = lost.last().unwrap();
    assert!(
        last.contains("more, not shown (each one written the more restrictive way)"),
        "{last}"
    );
}

/// Raw BPF is read up to a bound: `/dev/zero` as a filter used to be read until memory
/// ran out ("out of memory" here, the machine's memory without a limit).
#[test]
fn regression_raw_filters_are_read_up_to_a_bound() {
    for (args, want) in [
        (
            &["check", "--bpf", "/dev/zero", "write"][..],
            "/dev/zero: more than 4096 instructions",
        ),
        (
            &["verify", "--bpf", "/dev/zero", "--bpf", "/dev/zero"][..],
            "/dev/zero: more than 4096 instructions",
        ),
        (&["disasm", "/dev/zero"][..], "/dev/zero: more than 1048576"),
    ] {
        let o = sysgate_limited(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

/// Profiles are read up to a bound too: `/dev/zero` as a profile, a file or standard input,
/// used to be read until memory ran out ("out of memory" under this limit, the machine's
/// memory without one).
#[test]
fn regression_profiles_are_read_up_to_a_bound() {
    for args in [
        &["check", "/dev/zero", "write"][..],
        &["show", "/dev/zero"][..],
        &["learn", "merge", "/dev/zero", "/dev/zero"][..],
    ] {
        let o = sysgate_limited(args);
        assert_finished(&o, &format!("{args:?}"));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("/dev/zero: larger than 512 MiB"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" convert -f docker - </dev/zero")
        .arg(env!("CARGO_BIN_EXE_sysgate"))
        .output()
        .unwrap();
    assert_finished(&o, "convert - </dev/zero");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("standard input: larger than 512 MiB"),
        "{}",
        stderr(&o)
    );
}
