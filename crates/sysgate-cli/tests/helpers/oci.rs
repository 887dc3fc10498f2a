//! OCI bundles for tests that run real containers with runc: a busybox-static rootfs, the
//! config `runc spec` writes, a shell script as the process, and a runner with a deadline.
//!
//! Included with `#[path]` by the tests that need it (`sysgate-cli/tests/agent_runc.rs`,
//! `sysgate-libseccomp/tests/runc.rs`). Needs root, runc and busybox-static: [`missing`]
//! says which is absent (under CI a missing one fails the test instead).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What this machine lacks to run a busybox container with runc, if anything. Under CI
/// (`CI` set) a missing piece panics: CI installs them.
pub fn missing() -> Option<&'static str> {
    // SAFETY: geteuid has no preconditions.
    let what = if unsafe { libc::geteuid() } != 0 {
        Some("root")
    } else if which("runc").is_none() {
        Some("runc")
    } else if !Path::new("/bin/busybox").exists() {
        Some("busybox-static (/bin/busybox)")
    } else {
        None
    };
    if let Some(w) = what {
        if std::env::var_os("CI").is_some() {
            panic!("{w} is required under CI");
        }
        eprintln!("SKIPPED: this test needs {w}");
    }
    what
}

/// A program on PATH.
pub fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.exists())
}

/// Busybox applets linked into the rootfs's /bin.
pub const APPLETS: &[&str] = &[
    "sh", "sleep", "echo", "cat", "wc", "nc", "grep", "mkdir", "true", "unshare", "uname", "ls",
];

/// An OCI bundle in its own directory.
pub struct Bundle {
    /// The bundle directory (config.json, rootfs/).
    pub dir: PathBuf,
}

/// How a container run ended.
pub struct Ran {
    /// runc's exit status; `None` when it had to be killed at the deadline.
    pub status: Option<std::process::ExitStatus>,
    /// Its standard output and error.
    pub output: String,
}

impl Ran {
    /// Whether runc exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

impl Bundle {
    /// A bundle in `dir` (created) whose process is `sh -c script`, with a writable rootfs
    /// that has /tmp, and no seccomp profile.
    pub fn new(dir: &Path, script: &str) -> Bundle {
        let bin = dir.join("rootfs/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.join("rootfs/tmp")).unwrap();
        std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
        let status = Command::new("runc")
            .arg("spec")
            .current_dir(dir)
            .status()
            .expect("runc spec");
        assert!(status.success());
        let bundle = Bundle {
            dir: dir.to_path_buf(),
        };
        let mut config = bundle.config();
        config["process"]["terminal"] = false.into();
        config["process"]["args"] = serde_json::json!(["/bin/sh", "-c", script]);
        config["root"]["readonly"] = false.into();
        bundle.set_config(&config);
        bundle
    }

    /// config.json.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// config.json, parsed.
    pub fn config(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.config_path()).unwrap()).unwrap()
    }

    /// Replace config.json.
    pub fn set_config(&self, config: &serde_json::Value) {
        std::fs::write(
            self.config_path(),
            serde_json::to_string_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// Set `linux.seccomp`.
    pub fn set_seccomp(&self, seccomp: serde_json::Value) {
        let mut config = self.config();
        config["linux"]["seccomp"] = seccomp;
        self.set_config(&config);
    }

    /// A container id unique to this test process and bundle.
    pub fn id(&self, name: &str) -> String {
        format!("sysgate-{}-{name}", std::process::id())
    }

    /// `runc run` the bundle as container `id`, killing it after `deadline`.
    pub fn run(&self, id: &str, deadline: Duration) -> Ran {
        let state = self.dir.join("state");
        let mut child = Command::new("runc")
            .arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&self.dir)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start runc");
        let end = Instant::now() + deadline;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > end {
                let _ = Command::new("runc")
                    .arg("--root")
                    .arg(&state)
                    .args(["kill", id, "KILL"])
                    .status();
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let _ = Command::new("runc")
            .arg("--root")
            .arg(&state)
            .args(["delete", "-f", id])
            .stderr(Stdio::null())
            .status();
        Ran {
            status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
}
