//! How time and peak memory grow with the size of a profile: every reader, every writer, the
//! compiler and `show`, at 10k, 100k and 1M rules, minified and pretty where the format has
//! both. The goal is linear growth (ten times the rules, about ten times the time and memory).
//!
//! The inputs are generated here, in sizes real users reach:
//!
//! - **ioctl allow list** (Docker JSON, Kubernetes YAML, LXC): `ioctl` allowed for N values of
//!   its request argument (`a1 == i`), one rule each.
//! - **conflicts** (Docker JSON, LXC deny list): N unconditional rules cycling through the
//!   x86_64 syscall names, the same name getting ALLOW and ERRNO (Docker) or a different errno
//!   (LXC) on every pass, so that every syscall has many overlapping rules.
//! - **names** (systemd): a deny list of N syscall names (cycling through the table), as one
//!   `SystemCallFilter=` line ("minified") or one line each ("pretty").
//!
//! Each measurement runs in a fresh process (this bench re-runs itself for the library steps,
//! or runs the `sysgate` command), and its peak resident memory comes from `wait4`'s rusage,
//! so no `time` package is needed. A run that takes longer than the timeout is killed and
//! shown as `> N s`; a run that fails shows its exit status.
//!
//! `cargo bench -p sysgate-cli --bench scale`. `SYSGATE_BENCH_SIZES` (default
//! `10000,100000,1000000`), `SYSGATE_BENCH_TIMEOUT` (seconds per run, default 60) and
//! `SYSGATE_BENCH_ONLY` (run only the cases whose name contains it) change what runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use sysgate::arch::Arch;
use sysgate::profile::detect::{self, ReadOptions};
use sysgate::profile::Target;

/// The syscall names of x86_64 (the generators cycle through them).
fn names() -> Vec<&'static str> {
    let newest = Arch::X86_64.newest_syscall().1;
    (0..=newest)
        .filter_map(|nr| Arch::X86_64.syscall_name(nr))
        .collect()
}

fn docker_ioctl(n: usize, pretty: bool) -> String {
    let (nl, ind, sp) = if pretty {
        ("\n", "    ", " ")
    } else {
        ("", "", "")
    };
    let mut s = format!(
        "{{{nl}{ind}\"defaultAction\":{sp}\"SCMP_ACT_ERRNO\",{nl}{ind}\"syscalls\":{sp}[{nl}"
    );
    for i in 0..n {
        let comma = if i + 1 < n { "," } else { "" };
        let _ = write!(
            s,
            "{ind}{ind}{{\"names\":{sp}[\"ioctl\"],{sp}\"action\":{sp}\"SCMP_ACT_ALLOW\",{sp}\
             \"args\":{sp}[{{\"index\":{sp}1,{sp}\"value\":{sp}{i},{sp}\"op\":{sp}\"SCMP_CMP_EQ\"}}]}}{comma}{nl}"
        );
    }
    let _ = write!(s, "{ind}]{nl}}}{nl}");
    s
}

fn docker_conflicts(n: usize, pretty: bool) -> String {
    let names = names();
    let (nl, ind, sp) = if pretty {
        ("\n", "    ", " ")
    } else {
        ("", "", "")
    };
    let mut s = format!(
        "{{{nl}{ind}\"defaultAction\":{sp}\"SCMP_ACT_ERRNO\",{nl}{ind}\"syscalls\":{sp}[{nl}"
    );
    for i in 0..n {
        let comma = if i + 1 < n { "," } else { "" };
        let action = if (i / names.len()) % 2 == 0 {
            "SCMP_ACT_ALLOW"
        } else {
            "SCMP_ACT_LOG"
        };
        let name = names[i % names.len()];
        let _ = write!(
            s,
            "{ind}{ind}{{\"names\":{sp}[\"{name}\"],{sp}\"action\":{sp}\"{action}\"}}{comma}{nl}"
        );
    }
    let _ = write!(s, "{ind}]{nl}}}{nl}");
    s
}

fn k8s_ioctl(n: usize, pretty: bool) -> String {
    let mut s = String::from(
        "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n\
         metadata:\n  name: scale\n",
    );
    if pretty {
        s.push_str("spec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n");
        for i in 0..n {
            let _ = write!(
                s,
                "  - names:\n    - ioctl\n    action: SCMP_ACT_ALLOW\n    args:\n    - index: 1\n      \
                 value: {i}\n      op: SCMP_CMP_EQ\n"
            );
        }
    } else {
        s.push_str("spec: {defaultAction: SCMP_ACT_ERRNO, syscalls: [");
        for i in 0..n {
            let comma = if i + 1 < n { "," } else { "" };
            let _ = write!(
                s,
                "{{names: [ioctl], action: SCMP_ACT_ALLOW, args: [{{index: 1, value: {i}, op: SCMP_CMP_EQ}}]}}{comma}"
            );
        }
        s.push_str("]}\n");
    }
    s
}

fn lxc_ioctl(n: usize) -> String {
    let mut s = String::from("2\nallowlist errno 1\n");
    for i in 0..n {
        let _ = writeln!(s, "ioctl allow [1,{i},SCMP_CMP_EQ]");
    }
    s
}

fn lxc_conflicts(n: usize) -> String {
    let names = names();
    let mut s = String::from("2\ndenylist\n");
    for i in 0..n {
        let errno = 1 + (i / names.len()) % 4000;
        let _ = writeln!(s, "{} errno {errno}", names[i % names.len()]);
    }
    s
}

fn systemd_names(n: usize, pretty: bool) -> String {
    let names = names();
    let mut s = String::from("[Service]\nSystemCallErrorNumber=EPERM\n");
    if pretty {
        for i in 0..n {
            let _ = writeln!(s, "SystemCallFilter=~{}", names[i % names.len()]);
        }
    } else {
        s.push_str("SystemCallFilter=~");
        for i in 0..n {
            s.push_str(names[i % names.len()]);
            s.push(' ');
        }
        s.push('\n');
    }
    s
}

/// In a child: read `file` (and write it as `to`, if given), nothing else.
fn child(args: &[String]) -> ExitCode {
    let [file, rest @ ..] = args else {
        return ExitCode::FAILURE;
    };
    let target = Target::new(Arch::X86_64);
    let read = match detect::read(file, &target, &ReadOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let policy = &read.profiles[0].loaded.policy;
    let written = match rest.first().map(String::as_str) {
        None => return ExitCode::SUCCESS,
        Some("docker") => sysgate::profile::docker_write::write(policy, None),
        Some("k8s") => sysgate::profile::k8s::write(
            policy,
            None,
            &sysgate::profile::k8s::WriteOptions::named("scale"),
        ),
        Some("lxc") => sysgate::profile::lxc::write(policy),
        Some("systemd") => sysgate::profile::systemd::write(policy),
        Some(_) => return ExitCode::FAILURE,
    };
    println!("{}", written.text.len());
    ExitCode::SUCCESS
}

struct Outcome {
    seconds: f64,
    max_rss_kb: i64,
    /// `None` when it ran into the timeout.
    status: Option<i32>,
    stderr_lines: usize,
}

/// Run `program args`, stdout to /dev/null and stderr counted, within `timeout`.
fn measure(program: &Path, args: &[&str], timeout: Duration, stderr_to: &Path) -> Outcome {
    let err = std::fs::File::create(stderr_to).expect("stderr file");
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data, fully written by wait4 before it is read.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: waits for our own child, whose pid std will not wait for (the Child is
        // dropped without wait); status and usage are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            panic!("wait4: {}", std::io::Error::last_os_error());
        }
        if !timed_out && start.elapsed() > timeout {
            // SAFETY: the pid is our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            timed_out = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(child);
    let stderr_lines = std::fs::read(stderr_to)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Outcome {
        seconds,
        max_rss_kb: usage.ru_maxrss,
        status: (!timed_out).then_some(code),
        stderr_lines,
    }
}

struct Case {
    /// What is measured.
    name: &'static str,
    /// The input, generated for n rules.
    input: fn(usize) -> String,
    /// `None`: read (and write) in this bench's own child; `Some(args)`: the `sysgate`
    /// command with these arguments before the file.
    command: Option<&'static [&'static str]>,
    /// For the library child: the format to write, if any.
    write: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let lib = |name, input, write| Case {
        name,
        input,
        command: None,
        write,
    };
    let cli = |name, input, args| Case {
        name,
        input,
        command: Some(args),
        write: None,
    };
    vec![
        lib(
            "read docker, minified ioctl list",
            |n| docker_ioctl(n, false),
            None,
        ),
        lib(
            "read docker, pretty ioctl list",
            |n| docker_ioctl(n, true),
            None,
        ),
        lib(
            "read k8s, flow (one line) ioctl list",
            |n| k8s_ioctl(n, false),
            None,
        ),
        lib("read k8s, block ioctl list", |n| k8s_ioctl(n, true), None),
        lib("read lxc, ioctl list", lxc_ioctl, None),
        lib("read lxc, conflicting deny list", lxc_conflicts, None),
        lib(
            "read systemd, one line of names",
            |n| systemd_names(n, false),
            None,
        ),
        lib(
            "read systemd, a line per name",
            |n| systemd_names(n, true),
            None,
        ),
        lib(
            "write docker, ioctl list",
            |n| docker_ioctl(n, true),
            Some("docker"),
        ),
        lib(
            "write k8s, ioctl list",
            |n| docker_ioctl(n, true),
            Some("k8s"),
        ),
        lib(
            "write lxc, ioctl list",
            |n| docker_ioctl(n, true),
            Some("lxc"),
        ),
        lib(
            "write systemd, conflicting names",
            |n| docker_conflicts(n, true),
            Some("systemd"),
        ),
        cli(
            "sysgate compile, lxc conflicting deny list",
            lxc_conflicts,
            &["compile", "-o", "/dev/null"],
        ),
        cli(
            "sysgate compile, docker ioctl list",
            |n| docker_ioctl(n, false),
            &["compile", "-o", "/dev/null"],
        ),
        cli(
            "sysgate show, docker conflicts",
            |n| docker_conflicts(n, false),
            &["show"],
        ),
        cli(
            "sysgate convert --to docker, docker ioctl list",
            |n| docker_ioctl(n, false),
            &["convert", "--to", "docker"],
        ),
        cli(
            "sysgate convert --to k8s, docker ioctl list",
            |n| docker_ioctl(n, false),
            &["convert", "--to", "k8s"],
        ),
    ]
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__child") {
        return child(&args[2..]);
    }
    let sizes: Vec<usize> = std::env::var("SYSGATE_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let timeout = Duration::from_secs(env_or("SYSGATE_BENCH_TIMEOUT", 60));
    let only = std::env::var("SYSGATE_BENCH_ONLY").unwrap_or_default();
    let me = std::env::current_exe().expect("own path");
    let sysgate = PathBuf::from(env!("CARGO_BIN_EXE_sysgate"));
    let dir = std::env::temp_dir().join(format!("sysgate-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    println!("| case | rules | input | time | peak RSS | exit | stderr lines |");
    println!("|---|---|---|---|---|---|---|");
    for case in cases().iter().filter(|c| c.name.contains(&only)) {
        for &n in &sizes {
            let text = (case.input)(n);
            let file = dir.join("input");
            std::fs::write(&file, &text).expect("write input");
            let file_arg = file.to_str().expect("utf-8 temp path");
            let stderr_to = dir.join("stderr");
            let out = match case.command {
                None => {
                    let mut a = vec!["__child", file_arg];
                    a.extend(case.write);
                    measure(&me, &a, timeout, &stderr_to)
                }
                Some(cmd) => {
                    let mut a = cmd.to_vec();
                    a.push(file_arg);
                    measure(&sysgate, &a, timeout, &stderr_to)
                }
            };
            let time = match out.status {
                None => format!("> {} s", timeout.as_secs()),
                Some(_) => format!("{:.2} s", out.seconds),
            };
            let exit = out.status.map_or("killed".to_string(), |c| c.to_string());
            println!(
                "| {} | {n} | {:.1} MB | {time} | {:.0} MB | {exit} | {} |",
                case.name,
                text.len() as f64 / 1e6,
                out.max_rss_kb as f64 / 1024.0,
                out.stderr_lines
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}
