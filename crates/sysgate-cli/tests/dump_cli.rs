//! `sysgate dump` on real processes: one started by `sysgate run` under docker-default, and a
//! runc container under Docker's default profile (runc with Debian's libseccomp, a
//! busybox-static rootfs). Each filter is dumped, decompiled, and compared with the profile
//! it came from by `sysgate diff` and `sysgate verify --pid`. Also `check --bpf` on a dumped
//! program, and the errors.
//!
//! Needs root (PTRACE_SECCOMP_GET_FILTER), and for the container runc, busybox-static,
//! scmp_sys_resolver and ../shared; outside CI a missing one makes the test say `SKIPPED`.

#[path = "helpers/oci.rs"]
mod oci;
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci::Bundle;
use support::{is_root, printed as text, scratch, shared, skip, sysgate, sysgate_command};

/// `sysgate run -- sh -c 'echo $$; exec sleep 30'`: the pid of the filtered process.
struct Filtered {
    child: Child,
    pid: u32,
}

impl Filtered {
    fn start() -> Filtered {
        let mut child = sysgate_command()
            .args(["run", "--", "sh", "-c", "echo $$; exec sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = line.trim().parse().unwrap();
        // `exec sleep` has happened once sleep's name shows.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map_or(true, |c| c.trim() != "sleep")
        {
            assert!(Instant::now() < deadline, "sleep never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        Filtered { child, pid }
    }
}

impl Drop for Filtered {
    fn drop(&mut self) {
        // SAFETY: kill on the pid of our own grandchild, which is still ours to reap via
        // `sysgate run` (its parent).
        unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

#[test]
fn a_process_run_under_docker_default_dumps_to_docker_default() {
    if !is_root() && skip("this test needs root") {
        return;
    }
    let p = Filtered::start();
    let pid = p.pid.to_string();
    let dir = scratch("run");

    // Text: the disassembly and the decompiled policy, proven.
    let o = sysgate(&["dump", "--pid", &pid]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.starts_with("filter 0 of 1 (installed 1st), "), "{out}");
    assert!(
        out.contains("decompiled (proven to decide as the filters):"),
        "{out}"
    );
    assert!(out.contains("  ALLOW write\n"), "{out}");

    // As a Docker profile: `sysgate diff` finds no difference from docker-default.
    let json = dir.join("dumped.json");
    let o = sysgate(&[
        "dump",
        "--pid",
        &pid,
        "--format",
        "docker",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = sysgate(&["diff", "docker-default", json.to_str().unwrap()]);
    assert_eq!(text(&o), "no difference\n");
    assert!(o.status.success());

    // And the process's filters are proven equal to the profile.
    let o = sysgate(&["verify", "docker-default", "--pid", &pid]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).starts_with(&format!(
        "proven: the filter stack of process {pid} decides as docker-default for every input"
    )));

    // The raw program decides calls with `check --bpf` as the profile does.
    let raw = dir.join("filter.bpf");
    let o = sysgate(&[
        "dump",
        "--pid",
        &pid,
        "--format",
        "raw",
        "-o",
        raw.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for (call, want) in [
        ("write", "ALLOW"),
        ("mount", "ERRNO(1 EPERM)"),
        ("clone3", "ERRNO(38 ENOSYS)"),
    ] {
        let o = sysgate(&["check", "--bpf", raw.to_str().unwrap(), call]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains(&format!("action: {want} (")),
            "{call}: {}",
            text(&o)
        );
    }
    // Still running: dumping stopped it only for the time it took.
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .trim(),
        "sleep"
    );
}

#[test]
fn errors_name_the_process_and_why() {
    if !is_root() && skip("this test needs root") {
        return;
    }
    let o = sysgate(&["dump", "--pid", "2147483632"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o), "sysgate: no process 2147483632\n");

    let mut plain = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = plain.id().to_string();
    let o = sysgate(&["dump", "--pid", &pid]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        text(&o),
        format!("sysgate: process {pid} runs under no seccomp filter\n")
    );
    let _ = plain.kill();
    let _ = plain.wait();

    let p = Filtered::start();
    let pid = p.pid.to_string();
    let o = sysgate(&["dump", "--pid", &pid, "--filter", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o),
        format!("sysgate: --filter 1: process {pid} has 1 filter (0 to 0)\n")
    );
    let o = sysgate(&["dump", "--pid", &pid, "--format", "yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// Names libseccomp (Debian's, which runc uses) resolves on x86_64.
fn libseccomp_knows(name: &str) -> bool {
    let o = Command::new("scmp_sys_resolver")
        .args(["-a", "x86_64", name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim() != "-1"
}

/// A runc container under Docker's default profile (as Docker hands it to runc for amd64:
/// x86_64, x86 and x32), read back and decompiled. libseccomp's amd64 filter compares only
/// the low word of an x32 call's arguments, which no one policy says alongside x86_64's, so
/// `dump` refuses to decompile it whole and says why; as seen from x86_64 it decompiles,
/// and `sysgate diff` against the profile shows the other ABIs, nr -1, and exactly the
/// syscalls this libseccomp does not know (runc leaves them to its ENOSYS stub or the
/// default): on every other x86_64 call the container's filter decides as the profile.
#[test]
fn a_runc_container_under_docker_default_dumps_to_its_profile() {
    if oci::missing().is_some()
        || oci::which("scmp_sys_resolver").is_none()
            && skip("this test needs scmp_sys_resolver (libseccomp's tools)")
    {
        return;
    }
    let Some(profile) = shared("fixtures/profiles/docker-default.json") else {
        skip("this test needs ../shared/fixtures/profiles/docker-default.json");
        return;
    };
    let profile = profile.to_str().unwrap().to_string();
    let bundle = Bundle::new(&scratch("runc"), "exec sleep 30");
    // Docker's profile as Docker hands it to runc: OCI, for amd64.
    let o = sysgate(&["convert", &profile, "--arch", "amd64", "--to", "oci"]);
    assert!(o.status.success(), "{}", text(&o));
    bundle.set_seccomp(serde_json::from_slice(&o.stdout).unwrap());
    let dir = &bundle.dir;

    let id = bundle.id("dump");
    let state = dir.join("state");
    let pid_file = dir.join("pid");
    let mut runc = Command::new("runc")
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(dir)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            if std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "sleep")
            {
                break pid;
            }
        }
        assert!(Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid_s = pid.to_string();
    let result = std::panic::catch_unwind(|| {
        // Whole, it reads back with rules for some ABIs only: x86's socketcall is allowed
        // whole while socket's rules deny AF_VSOCK, so x86's direct socket is decided by
        // number there. The Docker format cannot limit a rule to an ABI: it says what it
        // wrote more strictly instead.
        let o = sysgate(&["dump", "--pid", &pid_s]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("only on x86"), "{}", text(&o));
        let o = sysgate(&["dump", "--pid", &pid_s, "--format", "docker"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("cannot limit a rule to some architectures"),
            "{}",
            text(&o)
        );
        // x86_64 and x32 read back together, with rules for x32 only where libseccomp
        // compares an x32 call's arguments on the low word alone.
        let o = sysgate(&["dump", "--pid", &pid_s, "--arch", "x86_64", "--arch", "x32"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("only on x32"), "{}", text(&o));
        // As seen from x86_64 it is.
        let json = dir.join("container.json");
        let o = sysgate(&[
            "dump",
            "--pid",
            &pid_s,
            "--arch",
            "x86_64",
            "--format",
            "docker",
            "-o",
            json.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let o = sysgate(&["diff", &profile, json.to_str().unwrap(), "--arch", "amd64"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut unknown = Vec::new();
        for line in out.lines() {
            if line.starts_with("x86: ") || line.starts_with("x32: ") {
                assert!(line.contains(" -> KILL_THREAD"), "{line}");
                continue;
            }
            if line == "x86_64: 4294967295 (no name): ERRNO(38 ENOSYS) -> ERRNO(1 EPERM)" {
                continue;
            }
            // `x86_64: NAME (NR): A -> B`
            let name = line
                .strip_prefix("x86_64: ")
                .and_then(|l| l.split(' ').next())
                .unwrap_or_else(|| panic!("unexpected difference: {line}"));
            assert!(
                !libseccomp_knows(name),
                "{name} is known to libseccomp, yet decided apart: {line}"
            );
            unknown.push(name.to_string());
        }
        eprintln!("runc container: differs from the profile only on {unknown:?}");
    });
    // SAFETY: kill on the container's process, which runc reaps.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    let _ = runc.wait();
    let _ = Command::new("runc")
        .arg("--root")
        .arg(&state)
        .args(["delete", "-f", &id])
        .status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
