//! A real consumer: Debian's runc, which links libseccomp.so.2, runs an OCI bundle (a
//! busybox-static rootfs, its own network namespace, so no network) whose config.json
//! carries Docker's default profile (as Docker hands it to runc), with this library.
//!
//! runc builds the filter in `runc init`, which it starts with an environment of its own,
//! without `LD_LIBRARY_PATH`. So this library is both first in `LD_LIBRARY_PATH` and
//! installed in place of libseccomp's: bind-mounted over `libseccomp.so.2` in a private
//! mount namespace made for the run (`unshare -m`), which nothing outside it sees.
//!
//! The container runs, `unshare -U true` inside fails with EPERM, and the filter the kernel
//! holds for the container's process, read back with `PTRACE_SECCOMP_GET_FILTER`, is
//! sysgate's own program for the profile (compiled here from the same JSON without runc's
//! ENOSYS rule): crun's is that program, runc's is its ENOSYS stub followed by that program.
//! It is not the program Debian's libseccomp builds for the same bundle (read back the same
//! way), and it decides as the profile says in sysgate's emulator.
//!
//! crun (Debian's 1.8.1, which links libseccomp.so.2 too) runs the same bundle the same
//! way, with `--cgroup-manager=disabled`; see its test for the cgroup setup it needs.
//!
//! Needs root, runc, crun, busybox-static, util-linux's unshare and ../shared; outside CI a
//! missing one makes the test say `SKIPPED`.

mod support;

// The busybox bundle, shared with sysgate-cli's tests/agent_runc.rs.
#[path = "../../sysgate-cli/tests/helpers/oci.rs"]
mod oci;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sysgate::arch::Endian;
use sysgate::bpf::Program;
use sysgate::policy::Action;
use sysgate::profile::docker::{self, Dialect, WriteOptions};
use sysgate::profile::{self, Target};
use sysgate::Arch;

fn skip(what: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required under CI");
    }
    eprintln!("SKIPPED: this test needs {what}");
    true
}

/// Docker's default profile for amd64 as sysgate reads it.
fn docker_default_policy() -> Option<sysgate::policy::Policy> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/profiles/docker-default.json");
    let loaded = profile::load(&path, &Target::docker_default(Arch::X86_64)).ok()?;
    Some(loaded.policy)
}

/// Docker's default profile for amd64, as Docker hands it to the runtime (OCI `linux.seccomp`).
fn docker_default_oci() -> Option<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/profiles/docker-default.json");
    if !path.exists() {
        skip("../shared/fixtures/profiles/docker-default.json");
        return None;
    }
    let loaded = profile::load(&path, &Target::docker_default(Arch::X86_64)).expect("load");
    let written = docker::write(&loaded.policy, None, &WriteOptions::dialect(Dialect::Oci));
    Some(serde_json::from_str(&written.text).expect("OCI JSON"))
}

/// A bundle whose process runs `script` with busybox's sh.
fn bundle(runtime: &str, script: &str) -> Option<PathBuf> {
    let seccomp = docker_default_oci()?;
    let dir = support::scratch(&format!("bundle-{runtime}"));
    let bundle = oci::Bundle::new(&dir, script);
    bundle.set_seccomp(seccomp);
    Some(bundle.dir)
}

/// The filters of process `pid`, newest first, read with PTRACE_SECCOMP_GET_FILTER.
fn filters_of(pid: i32) -> Vec<Program> {
    const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
    let mut out = Vec::new();
    // SAFETY: ptrace on a process of ours (root); attach, wait for its stop, read, detach.
    unsafe {
        assert_eq!(
            libc::ptrace(libc::PTRACE_ATTACH, pid, 0, 0),
            0,
            "attach {pid}: {}",
            std::io::Error::last_os_error()
        );
        let mut status = 0;
        libc::waitpid(pid, &mut status, libc::__WALL);
        for index in 0.. {
            let n = libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index as libc::c_long, 0);
            if n <= 0 {
                break;
            }
            let mut buf = vec![0u8; n as usize * 8];
            let got = libc::ptrace(
                PTRACE_SECCOMP_GET_FILTER,
                pid,
                index as libc::c_long,
                buf.as_mut_ptr(),
            );
            assert_eq!(got, n);
            out.push(Program::from_bytes(&buf, Endian::Little).expect("a program"));
        }
        libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0);
    }
    out
}

struct Ran {
    output: String,
    filters: Vec<Program>,
}

/// Run the bundle with `runtime` and `lib` (this library's directory, or None for the
/// system's), read the container's filters while it sleeps, and collect its output.
fn run(runtime: &str, lib: Option<&Path>, script: &str) -> Option<Ran> {
    let dir = bundle(runtime, script)?;
    let state = dir.join("state");
    let pid_file = dir.join("pid");
    let id = format!(
        "sysgate-{}-{}",
        std::process::id(),
        dir.file_name().unwrap().to_str().unwrap()
    );
    // A private mount namespace for the run (nothing outside it sees its mounts): this
    // library bind-mounted over the system's libseccomp.so.2, and for crun the cgroup v2
    // hierarchy of a hybrid host unmounted (see `crun_runs_docker_default_on_this_library`).
    let mut prepare = Vec::new();
    let mut prepare_args: Vec<PathBuf> = Vec::new();
    if let Some(l) = lib {
        let system = std::fs::canonicalize("/usr/lib/x86_64-linux-gnu/libseccomp.so.2")
            .expect("the system's libseccomp.so.2");
        prepare.push(r#"mount --bind "$1" "$2""#);
        prepare_args.extend([l.join("libseccomp.so.2"), system]);
    } else {
        prepare.push("true");
        prepare_args.extend([PathBuf::from("-"), PathBuf::from("-")]);
    }
    if runtime == "crun" && Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        prepare.push("umount /sys/fs/cgroup/unified");
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg(format!(
            r#"{} && shift 2 && exec "$@""#,
            prepare.join(" && ")
        ))
        .arg("sh")
        .args(&prepare_args)
        .arg(runtime);
    if runtime == "crun" {
        cmd.arg("--cgroup-manager=disabled");
    }
    cmd.arg("--root").arg(&state);
    cmd.args(["run", "--bundle"])
        .arg(&dir)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match lib {
        Some(l) => cmd.env("LD_LIBRARY_PATH", l),
        None => cmd.env_remove("LD_LIBRARY_PATH"),
    };
    let child = cmd.spawn().expect("start the runtime");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "{runtime} never wrote its pid file"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // The script sleeps after its checks; its filter is in place from exec on.
    std::thread::sleep(Duration::from_millis(300));
    let filters = filters_of(pid);
    let out = child.wait_with_output().expect("wait for the runtime");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{runtime}: {output}");
    Some(Ran { output, filters })
}

fn consumer(runtime: &str) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 && skip("root") {
        return;
    }
    if oci::which(runtime).is_none() && skip(runtime) {
        return;
    }
    if !Path::new("/bin/busybox").exists() && skip("busybox-static (/bin/busybox)") {
        return;
    }
    let script = "unshare -U true; echo unshare=$?; sleep 1";
    let lib = support::library_dir();
    let Some(ours) = run(runtime, Some(&lib), script) else {
        return;
    };
    assert!(ours.output.contains("unshare=1"), "{}", ours.output);
    assert!(
        ours.output.contains("Operation not permitted"),
        "{}",
        ours.output
    );
    let theirs = run(runtime, None, script).expect("the same bundle");
    assert!(theirs.output.contains("Operation not permitted"));
    assert_eq!(ours.filters.len(), 1, "one filter in the container");
    assert_eq!(theirs.filters.len(), 1);
    let (p, q) = (&ours.filters[0], &theirs.filters[0]);
    assert_ne!(p, q, "the container's filter is not libseccomp's program");
    assert!(
        p.len() < q.len(),
        "sysgate's program ({}) is shorter than libseccomp's ({})",
        p.len(),
        q.len()
    );
    let unshare = Arch::X86_64.syscall_number("unshare").unwrap();
    let read = Arch::X86_64.syscall_number("read").unwrap();
    let decide = |nr| p.emulate_call(Arch::X86_64, nr, &[0; 6]).unwrap().ret;
    assert_eq!(decide(unshare), Action::Errno(1).to_ret());
    assert_eq!(decide(read), Action::Allow.to_ret());
    // The container's filter is sysgate's program for the profile, without runc's ENOSYS
    // rule (the library is given the profile's rules only): crun loads the program this
    // library exports as it is; runc puts its own ENOSYS stub in front of it.
    let mut policy = docker_default_policy().expect("the profile");
    policy.attrs.enosys_above.clear();
    let compiled = sysgate::compile::compile(&policy).expect("compile");
    assert_eq!(compiled.programs.len(), 1);
    let exported = compiled.programs[0].insns();
    let loaded = p.insns();
    match runtime {
        "crun" => assert_eq!(loaded, exported, "crun's filter is sysgate's program"),
        _ => assert!(
            loaded.len() > exported.len() && loaded.ends_with(exported),
            "runc's filter ends with sysgate's program"
        ),
    }
    eprintln!(
        "{runtime}: container filter {} instructions with sysgate, {} with libseccomp",
        p.len(),
        q.len()
    );
}

#[test]
fn runc_runs_docker_default_on_this_library() {
    consumer("runc");
}

/// crun refuses a hybrid cgroup host ("cgroups in hybrid mode not supported, drop all
/// controllers from cgroupv2") whenever the cgroup v2 hierarchy at
/// `/sys/fs/cgroup/unified` holds a controller, even with `--cgroup-manager=disabled`, as
/// this CI host's does (`hugetlb`). The run's private mount namespace unmounts that
/// hierarchy, so crun sees cgroup v1 only, and `--cgroup-manager=disabled` keeps it from
/// creating cgroups.
#[test]
fn crun_runs_docker_default_on_this_library() {
    consumer("crun");
}
