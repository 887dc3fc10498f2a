//! `sysgate agent` and `sysgate oci prepare` with a real runtime: Debian's runc runs busybox
//! containers whose calls go to the agent (`linux.seccomp.listenerPath`).
//!
//! - learn: a container using files, a pipe, sleep and a TCP socket on loopback is learned;
//!   the same container then runs under the learned profile with default KILL_PROCESS;
//!   with `listen` removed from that profile it fails, and complain mode reports exactly
//!   `listen`.
//! - Two containers learned at once by one agent give two profiles, each with its own calls.
//! - An agent stopped with a call pending and then killed never leaves a container hung:
//!   the kernel fails pending and later notified calls with ENOSYS.
//!
//! Needs root, runc and busybox-static (CI installs them); elsewhere a missing one makes
//! the tests say SKIPPED.

#[path = "helpers/oci.rs"]
mod oci;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use oci::Bundle;
use support::{names_with, read_json, scratch, sysgate_command, sysgate_ok as sysgate};

/// The container's work: files, a pipe, sleep, and a TCP connection on loopback. A learned
/// profile holds the calls of the paths taken while learning, so the script takes the same
/// paths every time: the background job is still sleeping when `wait` starts (the shell
/// then waits in rt_sigsuspend; had the job ended, it would not call it at all), and the
/// server's standard input stays open until the client is done (the container's is
/// /dev/null, and nc stops at the first end of file it sees). The client starts once the
/// server listens on port 5555 (0x15B3; busybox listens on IPv6), however slow learning
/// makes the server; after 10 s without one the script fails (`set -e`).
const WORKLOAD: &str = "set -e
echo data > /tmp/f
cat /tmp/f | wc -c > /tmp/count
sleep 0.1
(sleep 1 | nc -l -p 5555 > /tmp/got; sleep 1) &
i=0
until grep -q ':15B3 ' /proc/net/tcp /proc/net/tcp6; do i=$((i+1)); [ $i -lt 100 ]; sleep 0.1; done
echo ping | nc 127.0.0.1 5555
wait
cat /tmp/got /tmp/count
echo workload-ok";

/// A running `sysgate agent`, stopped with SIGTERM when dropped.
struct Agent {
    child: Option<Child>,
    socket: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Agent {
    fn start(dir: &Path, extra: &[&str]) -> Agent {
        let socket = dir.join("agent.sock");
        let stdout = dir.join("agent.out");
        let stderr = dir.join("agent.err");
        let child = sysgate_command()
            .arg("agent")
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start sysgate agent");
        let agent = Agent {
            child: Some(child),
            socket,
            stdout,
            stderr,
        };
        agent.wait_for_log("listening on");
        agent
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn wait_for_log(&self, text: &str) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(text) {
            assert!(
                Instant::now() < end,
                "the agent never said {text:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and wait: the agent writes what it learned and ends.
    fn stop(&mut self) -> String {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill with a pid of our own child and a valid signal.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let status = child.wait().unwrap();
            assert!(status.success(), "agent: {status}\n{}", self.log());
        }
        self.log()
    }

    /// The JSON lines the agent printed.
    fn reports(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.stdout)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn prepare(bundle: &Bundle, agent: &Agent, extra: &[&str]) {
    let mut args = vec![
        "oci",
        "prepare",
        bundle.dir.to_str().unwrap(),
        "--agent",
        agent.socket.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    sysgate(&args);
}

/// The syscall names a learned OCI profile allows.
fn allowed(profile: &serde_json::Value) -> Vec<String> {
    names_with(profile, "SCMP_ACT_ALLOW")
}

#[test]
fn a_learned_profile_runs_its_container_and_complain_names_the_call_removed() {
    if oci::missing().is_some() {
        return;
    }
    let dir = scratch("learn");
    let out = dir.join("profiles");
    std::fs::create_dir_all(&out).unwrap();
    let bundle = Bundle::new(&dir.join("bundle"), WORKLOAD);
    let id = bundle.id("learn");

    // 1. Learn: every call but write/exit/exit_group goes to the agent.
    let mut agent = Agent::start(
        &dir,
        &[
            "--output-dir",
            out.to_str().unwrap(),
            "--format",
            "oci",
            "--default-action",
            "kill",
            "--runtime",
            "runc",
        ],
    );
    prepare(&bundle, &agent, &["--mode", "learn"]);
    let ran = bundle.run(&id, Duration::from_secs(60));
    assert!(ran.succeeded(), "learning run: {}", ran.output);
    assert!(ran.output.contains("workload-ok"), "{}", ran.output);
    assert!(ran.output.contains("ping"), "{}", ran.output);
    agent.wait_for_log(&format!("{id}: listener closed"));
    // SIGTERM right away: the agent still writes the profile before it ends.
    let log = agent.stop();
    let profile_path = out.join(format!("{id}.json"));
    assert!(log.contains("rules written to"), "{log}");
    let learned = read_json(&profile_path);
    assert_eq!(learned["defaultAction"], "SCMP_ACT_KILL_PROCESS");
    let names = allowed(&learned);
    for call in [
        "pipe2", "listen", "connect", "bind", "openat", "write", "execve",
    ] {
        assert!(names.iter().any(|n| n == call), "{call} not in {names:?}");
    }

    // 2. The same container under the learned profile (default KILL_PROCESS) succeeds.
    let original = bundle.dir.join("config.json.sysgate-orig");
    assert!(original.exists(), "oci prepare keeps the original config");
    std::fs::copy(&original, bundle.config_path()).unwrap();
    bundle.set_seccomp(learned.clone());
    let ran = bundle.run(&id, Duration::from_secs(60));
    assert!(
        ran.succeeded(),
        "under the learned profile: {:?} {}",
        ran.status,
        ran.output
    );
    assert!(ran.output.contains("workload-ok"), "{}", ran.output);

    // 3. Without `listen`, it fails.
    let mut reduced = learned.clone();
    for rule in reduced["syscalls"].as_array_mut().unwrap() {
        rule["names"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n != "listen");
    }
    assert!(!allowed(&reduced).contains(&"listen".to_string()));
    bundle.set_seccomp(reduced.clone());
    let ran = bundle.run(&id, Duration::from_secs(60));
    assert!(!ran.succeeded(), "without listen: {}", ran.output);
    assert!(ran.status.is_some(), "without listen it fails, not hangs");
    assert!(!ran.output.contains("workload-ok"), "{}", ran.output);

    // 4. Complain mode with the reduced profile reports exactly that call, and lets it run.
    let reduced_path = dir.join("reduced.json");
    std::fs::write(&reduced_path, reduced.to_string()).unwrap();
    let mut agent = Agent::start(&dir, &["--output-dir", out.to_str().unwrap()]);
    prepare(
        &bundle,
        &agent,
        &[
            "--mode",
            "complain",
            "--profile",
            reduced_path.to_str().unwrap(),
        ],
    );
    let ran = bundle.run(&id, Duration::from_secs(60));
    assert!(ran.succeeded(), "complain mode: {}", ran.output);
    assert!(ran.output.contains("workload-ok"), "{}", ran.output);
    agent.wait_for_log(&format!("{id}: listener closed"));
    let log = agent.stop();
    assert!(log.contains(&format!("{id}: complain mode")), "{log}");
    let reports = agent.reports();
    let calls: std::collections::BTreeSet<&str> = reports
        .iter()
        .map(|r| r["syscall"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        calls,
        ["listen"].into(),
        "complain mode reports exactly the call removed: {reports:#?}\n{log}"
    );
    let r = &reports[0];
    assert_eq!(r["container"], id.as_str());
    assert_eq!(r["action"], "KILL_PROCESS");
    assert_eq!(r["answer"], "continue");
    assert!(r["exe"].as_str().unwrap().ends_with("busybox"), "{r}");
    assert!(r["pid"].as_u64().unwrap() > 0);
    assert!(log.contains("listen on x86_64 would be refused"), "{log}");
}

#[test]
fn two_containers_learned_at_once_give_two_profiles() {
    if oci::missing().is_some() {
        return;
    }
    let dir = scratch("two");
    let out = dir.join("profiles");
    std::fs::create_dir_all(&out).unwrap();
    let mut agent = Agent::start(&dir, &["--output-dir", out.to_str().unwrap()]);
    let a = Bundle::new(&dir.join("a"), "sleep 0.5; echo a > /tmp/a");
    let b = Bundle::new(&dir.join("b"), "sleep 0.5; mkdir /tmp/d; echo b");
    prepare(&a, &agent, &["--mode", "learn"]);
    prepare(&b, &agent, &["--mode", "learn"]);
    let (id_a, id_b) = (a.id("two-a"), b.id("two-b"));
    let (ran_a, ran_b) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.run(&id_a, Duration::from_secs(60)));
        let tb = s.spawn(|| b.run(&id_b, Duration::from_secs(60)));
        (ta.join().unwrap(), tb.join().unwrap())
    });
    assert!(
        ran_a.succeeded(),
        "{:?} {}\n{}",
        ran_a.status,
        ran_a.output,
        agent.log()
    );
    assert!(
        ran_b.succeeded(),
        "{:?} {}\n{}",
        ran_b.status,
        ran_b.output,
        agent.log()
    );
    agent.wait_for_log(&format!("{id_a}: listener closed"));
    agent.wait_for_log(&format!("{id_b}: listener closed"));
    agent.stop();
    let pa = allowed(&read_json(&out.join(format!("{id_a}.json"))));
    let pb = allowed(&read_json(&out.join(format!("{id_b}.json"))));
    assert!(pb.iter().any(|n| n == "mkdir" || n == "mkdirat"), "{pb:?}");
    assert!(!pa.iter().any(|n| n == "mkdir" || n == "mkdirat"), "{pa:?}");
}

#[test]
fn killing_the_agent_never_leaves_a_container_hung() {
    if oci::missing().is_some() {
        return;
    }
    let dir = scratch("kill");
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap()]);
    let bundle = Bundle::new(
        &dir.join("bundle"),
        "echo > /tmp/started; sleep 1; echo still-here; cat /etc/hostname; echo cat=$?",
    );
    prepare(&bundle, &agent, &["--mode", "learn"]);
    let id = bundle.id("kill");
    let started = bundle.dir.join("rootfs/tmp/started");
    std::thread::scope(|s| {
        let run = s.spawn(|| bundle.run(&id, Duration::from_secs(30)));
        // The container's program is running (sleep 1 has started).
        let end = Instant::now() + Duration::from_secs(20);
        while !started.exists() {
            assert!(
                Instant::now() < end,
                "the container never started: {}",
                agent.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        // Stopped, the agent answers nothing: the container's next notified call waits.
        // SAFETY: kill with our own child's pid and valid signals.
        unsafe { libc::kill(agent.pid(), libc::SIGSTOP) };
        std::thread::sleep(Duration::from_millis(1500));
        // Killed, its listener closes: the pending call and every later notified call
        // fail with ENOSYS.
        // SAFETY: as above.
        unsafe { libc::kill(agent.pid(), libc::SIGKILL) };
        let ran = run.join().unwrap();
        assert!(
            ran.status.is_some(),
            "the container hung after its agent died: {}",
            ran.output
        );
        // The shell's wait for sleep was pending: it failed with ENOSYS, and so does every
        // later notified call; the container cannot have read the file.
        assert!(!ran.output.contains("cat=0"), "{}", ran.output);
        eprintln!(
            "container after its agent died: {:?} {}",
            ran.status, ran.output
        );
    });
}
