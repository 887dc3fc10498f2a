//! How every subcommand writes, from the outside: `-o` on a device node (written in place,
//! never replaced by a file), through a symlink (its target written, the link kept), into a
//! read-only directory (status 74 naming the path, no temporary file left), `-o -` and `-` as
//! an input, and standard output that is `/dev/full` (status 74 naming "standard output") or
//! a pipe whose reader has gone (a quiet exit 0). Nothing panics.
//!
//! Every command runs under `ulimit -v 2000000`, so an input that made one allocate without
//! bound would abort here. The device tests make their own nodes with mknod(2) (root; CI runs
//! as root) and say SKIPPED without it outside CI.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;
use support::{scratch, text};

/// sysgate's status for an I/O error.
const IO_ERROR: i32 = 74;

/// `sysgate ARGS` run in `dir` with its address space limited, stdin from `stdin`.
fn sysgate_in(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_sysgate"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert_no_abort(&o);
    o
}

fn run_with_stdin(mut c: Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_no_abort(&o);
    o
}

fn assert_no_abort(o: &Output) {
    let err = text(&o.stderr);
    assert!(
        o.status.code().is_some() && o.status.code() != Some(101) && !err.contains("panicked"),
        "aborted: {:?}\n{err}",
        o.status
    );
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const SMALL: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}
  ]
}"#;

const OTHER: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [{"names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
}"#;

const AUDIT_LINE: &str = "type=SECCOMP msg=audit(1700000000.123:42): auid=0 uid=0 gid=0 \
    ses=1 pid=9 comm=\"helper\" exe=\"/tmp/helper\" sig=31 arch=c000003e syscall=63 \
    compat=0 ip=0x1 code=0x80000000\n";

/// A scratch directory holding the inputs every command below reads.
fn inputs(name: &str) -> PathBuf {
    let dir = scratch(name);
    fs::write(dir.join("small.json"), SMALL).unwrap();
    fs::write(dir.join("other.json"), OTHER).unwrap();
    fs::write(dir.join("audit.log"), AUDIT_LINE).unwrap();
    let o = run(sysgate_in(
        &dir,
        &["compile", "small.json", "-q", "-o", "small.bpf"],
    ));
    assert!(o.status.success(), "{}", text(&o.stderr));
    dir
}

/// Every way a command writes a file given by `-o` (or `--profile`): the arguments, with
/// OUT standing for the path.
const FILE_WRITERS: &[&[&str]] = &[
    &["compile", "small.json", "-q", "-o", "OUT"],
    &["compile", "small.json", "-q", "-f", "text", "-o", "OUT"],
    &["convert", "small.json", "--to", "systemd", "-o", "OUT"],
    &["learn", "merge", "small.json", "other.json", "-o", "OUT"],
    &["learn", "-q", "-o", "OUT", "--", "true"],
    &["audit", "audit.log", "-o", "OUT"],
];

fn with_out(args: &[&str], out: &str) -> Vec<String> {
    args.iter()
        .map(|a| if *a == "OUT" { out } else { a }.to_string())
        .collect()
}

/// mknod a character device with `/dev/null`'s or `/dev/full`'s numbers; None (after saying
/// SKIPPED) when this process may not, outside CI.
fn device(dir: &Path, name: &str, minor: u32) -> Option<PathBuf> {
    let path = dir.join(name);
    let o = Command::new("mknod")
        .arg(&path)
        .args(["c", "1", &minor.to_string()])
        .output()
        .unwrap();
    if o.status.success() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "mknod failed under CI: {}",
        text(&o.stderr)
    );
    eprintln!("SKIPPED: cannot mknod ({}); run as root", text(&o.stderr));
    None
}

fn is_char_device(p: &Path) -> bool {
    fs::symlink_metadata(p)
        .unwrap()
        .file_type()
        .is_char_device()
}

#[test]
fn a_null_device_given_as_output_is_written_in_place_not_replaced() {
    let dir = inputs("null");
    let Some(null) = device(&dir, "null", 3) else {
        return;
    };
    for args in FILE_WRITERS {
        let args = with_out(args, null.to_str().unwrap());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(sysgate_in(&dir, &args));
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        assert!(is_char_device(&null), "{args:?} replaced the device");
    }
    assert_eq!(
        entries(&dir),
        ["audit.log", "null", "other.json", "small.bpf", "small.json"],
        "no temporary file is left behind"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_full_device_given_as_output_fails_with_the_io_status_naming_it() {
    let dir = inputs("full");
    let Some(full) = device(&dir, "full", 7) else {
        return;
    };
    let path = full.to_str().unwrap();
    for args in FILE_WRITERS {
        let args = with_out(args, path);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(sysgate_in(&dir, &args));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(IO_ERROR), "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot write {path}: No space left on device")),
            "{args:?}: {err}"
        );
        assert!(is_char_device(&full), "{args:?} replaced the device");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_symlink_given_as_output_keeps_being_a_link_and_its_target_is_written() {
    let dir = inputs("symlink");
    fs::create_dir(dir.join("real")).unwrap();
    for (i, args) in FILE_WRITERS.iter().enumerate() {
        // An existing target, reached through a relative link.
        let target = dir.join("real").join(format!("t{i}"));
        fs::write(&target, "old").unwrap();
        let link = format!("link{i}");
        std::os::unix::fs::symlink(format!("real/t{i}"), dir.join(&link)).unwrap();
        let argv = with_out(args, &link);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let o = run(sysgate_in(&dir, &argv));
        assert!(o.status.success(), "{argv:?}: {}", text(&o.stderr));
        assert!(
            fs::symlink_metadata(dir.join(&link))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{argv:?} replaced the link with a file"
        );
        let written = fs::read(&target).unwrap();
        assert!(written != b"old" && !written.is_empty(), "{argv:?}");
    }
    // A dangling link: its target is created.
    std::os::unix::fs::symlink("real/new.bpf", dir.join("dangling")).unwrap();
    let o = run(sysgate_in(
        &dir,
        &["compile", "small.json", "-q", "-o", "dangling"],
    ));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        fs::read(dir.join("real/new.bpf")).unwrap(),
        fs::read(dir.join("small.bpf")).unwrap()
    );
    let real = entries(&dir.join("real"));
    assert!(
        real.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {real:?}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_read_only_directory_fails_with_the_io_status_naming_the_path_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = inputs("readonly");
    let ro = dir.join("ro");
    fs::create_dir(&ro).unwrap();
    fs::write(ro.join("old.bpf"), "old").unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(dir.join("small.json"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    for out in ["ro/new.bpf", "ro/old.bpf"] {
        let path = dir.join(out);
        let mut c = sysgate_in(
            &dir,
            &["compile", "small.json", "-q", "-o", path.to_str().unwrap()],
        );
        // root may write anywhere: run as nobody, for whom the directory is read-only
        // (Command::uid and gid switch in the child before exec).
        // SAFETY: geteuid(2) only reads this process's credentials.
        if unsafe { libc::geteuid() } == 0 {
            c.uid(65534).gid(65534);
        }
        let o = run(c);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(IO_ERROR), "{out}: {err}");
        assert!(
            err.contains(&format!(
                "cannot write {}: Permission denied",
                path.display()
            )),
            "{out}: {err}"
        );
        assert!(
            !err.contains(".tmp"),
            "the error names the temporary file: {err}"
        );
    }
    assert_eq!(entries(&ro), ["old.bpf"]);
    assert_eq!(fs::read(ro.join("old.bpf")).unwrap(), b"old");
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn dash_as_output_is_standard_output_and_creates_no_file() {
    let dir = inputs("dash-out");
    for args in FILE_WRITERS {
        let args = with_out(args, "-");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(sysgate_in(&dir, &args));
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        assert!(!o.stdout.is_empty(), "{args:?} wrote nothing to stdout");
        assert!(!dir.join("-").exists(), "{args:?} created a file named -");
    }
    // The raw program on stdout is the one -o FILE writes.
    let o = run(sysgate_in(
        &dir,
        &["compile", "small.json", "-q", "-o", "-"],
    ));
    assert_eq!(o.stdout, fs::read(dir.join("small.bpf")).unwrap());
    // audit -o -: the profile alone on stdout, the listing on stderr.
    let o = run(sysgate_in(&dir, &["audit", "audit.log", "-o", "-"]));
    assert!(text(&o.stdout).starts_with('{'), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("/tmp/helper"),
        "{}",
        text(&o.stderr)
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn dash_as_input_is_standard_input() {
    let dir = inputs("dash-in");
    let by_path = |args: &[&str]| run(sysgate_in(&dir, args));
    let by_stdin =
        |args: &[&str], input: &str| run_with_stdin(sysgate_in(&dir, args), input.as_bytes());
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["compile", "small.json", "-q", "-f", "text"],
            &["compile", "-", "-q", "-f", "text"],
        ),
        (&["check", "small.json", "read"], &["check", "-", "read"]),
        (
            &["convert", "small.json", "--to", "lxc"],
            &["convert", "-", "--to", "lxc"],
        ),
        (
            &["diff", "other.json", "small.json"],
            &["diff", "other.json", "-"],
        ),
        (
            &["learn", "merge", "other.json", "small.json"],
            &["learn", "merge", "other.json", "-"],
        ),
    ];
    for (path_args, stdin_args) in cases {
        let a = by_path(path_args);
        let b = by_stdin(stdin_args, SMALL);
        assert_eq!(
            a.status.code(),
            b.status.code(),
            "{stdin_args:?}: {}",
            text(&b.stderr)
        );
        assert_eq!(
            text(&a.stdout).replace("small.json", "standard input"),
            text(&b.stdout),
            "{stdin_args:?}"
        );
    }
    let o = by_stdin(&["show", "-"], SMALL);
    assert!(
        text(&o.stdout).starts_with("standard input (docker)\n"),
        "{}",
        text(&o.stdout)
    );
    // Errors in a profile on stdin name it.
    let o = by_stdin(&["show", "-"], "{\"defaultAction\": 7}");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("standard input"),
        "{}",
        text(&o.stderr)
    );
    // Standard input can be read once.
    let o = by_stdin(&["diff", "-", "-"], SMALL);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("given twice"),
        "{}",
        text(&o.stderr)
    );
    // disasm and audit already took "-".
    let bpf = fs::read(dir.join("small.bpf")).unwrap();
    let o = run_with_stdin(sysgate_in(&dir, &["disasm", "-"]), &bpf);
    assert!(text(&o.stdout).contains("ld   arch"), "{}", text(&o.stderr));
    assert!(!dir.join("-").exists());
    let _ = fs::remove_dir_all(&dir);
}

/// Every subcommand that prints to standard output, with arguments that make it print.
const PRINTERS: &[&[&str]] = &[
    &["resolve", "--list"],
    &["resolve", "read"],
    &["compile", "small.json", "-q", "-f", "text"],
    &["compile", "small.json", "-q"],
    &["check", "small.json", "read"],
    &["disasm", "small.bpf"],
    &["convert", "small.json", "--to", "k8s"],
    &["show", "small.json"],
    &["diff", "small.json", "other.json"],
    &["probe"],
    &["probe", "--json"],
    &["learn", "-q", "--", "true"],
    &["learn", "merge", "small.json", "other.json"],
    &["audit", "audit.log"],
    &["audit", "audit.log", "-o", "-"],
];

#[test]
fn a_full_standard_output_fails_with_the_io_status_in_every_subcommand() {
    let dir = inputs("stdout-full");
    for args in PRINTERS {
        let mut c = sysgate_in(&dir, args);
        c.stdout(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
        let o = run(c);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(IO_ERROR), "{args:?}: {err}");
        assert!(
            err.contains("cannot write standard output: No space left on device"),
            "{args:?}: {err}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_pipe_on_standard_output_ends_every_subcommand_quietly() {
    let dir = inputs("stdout-pipe");
    for args in PRINTERS {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors, which are then owned here.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both descriptors were just created and nothing else owns them.
        let (reader, writer) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(reader);
        let mut c = sysgate_in(&dir, args);
        c.stdout(Stdio::from(writer));
        let o = run(c);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("standard output"),
            "{args:?}: {err}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_pipe_on_standard_error_does_not_stop_the_output() {
    // `sysgate convert ... -o out 2>&1 | head -1`: the losses listed on stderr meet a closed
    // pipe, and the profile is written all the same.
    let dir = inputs("stderr-pipe");
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two descriptors, which are then owned here.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and nothing else owns them.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let mut c = sysgate_in(
        &dir,
        &[
            "convert",
            "docker-default",
            "--to",
            "systemd",
            "-o",
            "out.conf",
        ],
    );
    c.stderr(Stdio::from(writer));
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", o.status);
    let written = fs::read_to_string(dir.join("out.conf")).unwrap();
    assert!(written.starts_with("[Service]"), "{written}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn hostile_input_on_standard_input_makes_no_command_abort() {
    let dir = inputs("hostile");
    let mut garbage = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..200_000 {
        // xorshift: reproducible bytes, no dependency
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        garbage.push(x as u8);
    }
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_yaml = format!(
        "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nspec: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge_line = "SystemCallFilter=".to_string() + &"read ".repeat(100_000);
    let inputs: [&[u8]; 6] = [
        b"",
        &garbage,
        deep_json.as_bytes(),
        deep_yaml.as_bytes(),
        huge_line.as_bytes(),
        b"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 99999999999, \"value\": 18446744073709551616, \"op\": \"SCMP_CMP_EQ\"}]}]}",
    ];
    let commands: &[&[&str]] = &[
        &["show", "-"],
        &["compile", "-", "-q", "-f", "text"],
        &["check", "-", "read"],
        &["convert", "-", "--to", "lxc"],
        &["diff", "small.json", "-"],
        &["disasm", "-"],
        &["audit", "-"],
        &["learn", "merge", "-"],
    ];
    for input in inputs {
        for args in commands {
            let o = run_with_stdin(sysgate_in(&dir, args), input);
            assert!(
                matches!(o.status.code(), Some(0..=2)),
                "{args:?} on {} bytes: {:?}\n{}",
                input.len(),
                o.status,
                text(&o.stderr)
            );
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn learn_fails_before_running_the_command_when_the_profile_cannot_be_written() {
    let dir = inputs("preflight");
    let o = run(sysgate_in(
        &dir,
        &["learn", "-o", "missing/p.json", "--", "touch", "ran"],
    ));
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(IO_ERROR), "{err}");
    assert!(
        err.contains("cannot write missing/p.json: No such file or directory"),
        "{err}"
    );
    assert!(!dir.join("ran").exists(), "the command ran");
    let o = run(sysgate_in(
        &dir,
        &["learn", "-o", ".", "--", "touch", "ran"],
    ));
    assert_eq!(o.status.code(), Some(IO_ERROR), "{}", text(&o.stderr));
    assert!(!dir.join("ran").exists(), "the command ran");
    assert_eq!(
        entries(&dir),
        ["audit.log", "other.json", "small.bpf", "small.json"],
        "the trial file is gone"
    );
    // A writable place: the command runs and the profile is written.
    let o = run(sysgate_in(
        &dir,
        &["learn", "-q", "-o", "p.json", "--", "touch", "ran"],
    ));
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(dir.join("ran").exists() && dir.join("p.json").exists());
    let _ = fs::remove_dir_all(&dir);
}
