//! `sysgate oci prepare` and `sysgate agent` without a container runtime: the bundle and
//! profile `prepare` writes, and an agent fed by a stand-in runtime (a child under a
//! filter that notifies `uname`, whose listener this test sends to the agent the way runc
//! does, with [`sysgate::kernel::send_handoff`]). Needs no root; runc itself is exercised in
//! tests/agent_runc.rs.

mod support;

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sysgate::bpf::{data, op, Insn};
use sysgate::kernel::{
    send_handoff, CommandExt, ContainerProcessState, ContainerState, InstallOptions,
    PreparedFilters,
};
use sysgate::policy::Action;
use sysgate::Arch;

use support::{names_with, printed as text, read_json, scratch, sysgate, sysgate_command};

const CONFIG: &str = r#"{
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"], "cwd": "/"},
  "root": {"path": "rootfs"},
  "hostname": "kept",
  "linux": {"namespaces": [{"type": "pid"}]}
}"#;

#[test]
fn prepare_routes_calls_to_the_agent_and_keeps_the_original() {
    let dir = scratch("prepare");
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(bundle.join("config.json"), CONFIG).unwrap();
    let prepare = || {
        let o = sysgate(&[
            "oci",
            "prepare",
            bundle.to_str().unwrap(),
            "--agent",
            "relative/agent.sock",
            "--mode",
            "learn",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let said = prepare();
    assert!(said.contains("syscalls notified to"), "{said}");
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json.sysgate-orig")).unwrap(),
        CONFIG
    );
    // Only linux.seccomp is new: every other byte of the file, and the order of its keys, is
    // the user's (a JSON tree written back would sort the keys).
    let rewritten = std::fs::read_to_string(bundle.join("config.json")).unwrap();
    let kept = CONFIG.rfind("]}").unwrap() + 1;
    assert!(
        rewritten.starts_with(&format!("{},\n  \"seccomp\": {{\n", &CONFIG[..kept])),
        "{rewritten}"
    );
    assert!(rewritten.ends_with("\n  }}\n}"), "{rewritten}");
    let config = read_json(&bundle.join("config.json"));
    assert_eq!(config["hostname"], "kept");
    assert_eq!(config["linux"]["namespaces"][0]["type"], "pid");
    let seccomp = &config["linux"]["seccomp"];
    // runc connects from its own working directory: the path is absolute.
    let path = seccomp["listenerPath"].as_str().unwrap();
    assert!(
        path.starts_with('/') && path.ends_with("relative/agent.sock"),
        "{path}"
    );
    assert_eq!(seccomp["listenerMetadata"], "mode=learn runtime=runc");
    // What runc refuses: NOTIFY as the default action, NOTIFY on write.
    assert_ne!(seccomp["defaultAction"], "SCMP_ACT_NOTIFY");
    let notified = names_with(seccomp, "SCMP_ACT_NOTIFY");
    let allowed = names_with(seccomp, "SCMP_ACT_ALLOW");
    for name in ["write", "exit", "exit_group", "futex", "execve"] {
        assert!(!notified.contains(&name.to_string()), "{name} is notified");
        assert!(allowed.contains(&name.to_string()), "{name} is not allowed");
    }
    for name in ["uname", "listen", "mkdir", "openat2"] {
        assert_eq!(
            notified.contains(&name.to_string()),
            name != "openat2", // in runc's base set
            "{name}"
        );
    }

    // Again, from the original: the same result.
    let first = std::fs::read_to_string(bundle.join("config.json")).unwrap();
    prepare();
    assert_eq!(
        std::fs::read_to_string(bundle.join("config.json")).unwrap(),
        first
    );
}

#[test]
fn prepare_for_complain_notifies_only_what_the_profile_may_refuse() {
    let dir = scratch("complain");
    let profile = dir.join("p.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["read", "uname"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let out = dir.join("podman.json");
    let o = sysgate(&[
        "oci",
        "prepare",
        "--agent",
        "/run/a.sock",
        "--mode",
        "complain",
        "--profile",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let seccomp = read_json(&out);
    assert_eq!(seccomp["listenerPath"], "/run/a.sock");
    assert_eq!(
        seccomp["listenerMetadata"],
        format!("mode=complain runtime=runc profile={}", profile.display())
    );
    // Podman's dialect names the errno.
    assert_eq!(seccomp["defaultErrno"], "ENOSYS");
    let notified = names_with(&seccomp, "SCMP_ACT_NOTIFY");
    assert!(!notified.contains(&"uname".to_string()));
    assert!(
        notified.contains(&"socket".to_string()),
        "argument-dependent"
    );
    assert!(notified.contains(&"mkdir".to_string()), "refused");
}

#[test]
fn prepare_and_agent_refuse_what_they_cannot_do() {
    let dir = scratch("refuse");
    let cases: &[&[&str]] = &[
        &["oci", "prepare", "--agent", "/a.sock", "--mode", "learn"],
        &[
            "oci", "prepare", "--agent", "/a.sock", "--mode", "complain", "-o", "-",
        ],
        &[
            "agent",
            "--socket",
            "/nonexistent/a.sock",
            "--mode",
            "enforce",
        ],
    ];
    for args in cases {
        let o = sysgate(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    // A config that is not JSON, or that runc would read in a way the rewrite cannot follow,
    // is named with its line and column and left as it was.
    for (config, want) in [
        (
            "{\"linux\": {\"seccomp\":",
            "config.json:1:21: not valid JSON",
        ),
        (
            "{\"linux\": {},\n \"Linux\": {}}",
            "config.json:2:2: a second key runc reads as \"linux\"",
        ),
    ] {
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("config.json"), config).unwrap();
        let o = sysgate(&[
            "oci",
            "prepare",
            bundle.to_str().unwrap(),
            "--agent",
            "/a.sock",
            "--mode",
            "learn",
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(want), "{config:?}: {}", text(&o));
        assert_eq!(
            std::fs::read_to_string(bundle.join("config.json")).unwrap(),
            config
        );
    }
    let file = dir.join("not-a-socket");
    std::fs::write(&file, "x").unwrap();
    let o = sysgate(&["agent", "--socket", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not a socket"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    // A path longer than a unix socket address holds is the user's to shorten (it was exit 1,
    // "path must be shorter than SUN_LEN").
    let long = format!("/tmp/{}.sock", "x".repeat(120));
    let o = sysgate(&[
        "agent",
        "--socket",
        &long,
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("longer than the 107 bytes"),
        "{}",
        text(&o)
    );
}

/// A running agent, killed when dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
    stderr: PathBuf,
    stdout: PathBuf,
}

impl Agent {
    fn start(dir: &Path, extra: &[&str]) -> Agent {
        Agent::start_with(dir, extra, &[])
    }

    fn start_with(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Agent {
        let socket = dir.join("agent.sock");
        let (stdout, stderr) = (dir.join("agent.out"), dir.join("agent.err"));
        let child = sysgate_command()
            .envs(env.iter().copied())
            .arg("agent")
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let agent = Agent {
            child,
            socket,
            stderr,
            stdout,
        };
        agent.wait_for_log("listening on");
        agent
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn wait_for_log(&self, what: &str) {
        let end = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(what) {
            assert!(Instant::now() < end, "never {what:?}: {}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ld arch; jeq native, +1; ret KILL; ld nr; jeq uname, 0, 1; ret NOTIFY; ret ALLOW`.
fn notify_uname() -> PreparedFilters {
    let uname = Arch::native().syscall_number("uname").unwrap();
    let program = vec![
        Insn::load(data::ARCH),
        Insn::jump(op::JEQ, Arch::native().audit_arch(), 1, 0),
        Insn::ret(Action::KillProcess.to_ret()),
        Insn::load(data::NR),
        Insn::jump(op::JEQ, uname, 0, 1),
        Insn::ret(Action::UserNotif.to_ret()),
        Insn::ret(Action::Allow.to_ret()),
    ];
    PreparedFilters::new(&[program], &InstallOptions::new().new_listener(true)).unwrap()
}

/// Run `sh -c 'uname; echo status=$?'` under [`notify_uname`], handing its listener to the
/// agent as container `id` with `metadata`, as runc does; return what it printed.
fn contained(agent: &Agent, id: &str, metadata: &str) -> String {
    let child = start_contained(agent, id, metadata, "uname; echo status=$?");
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Start `sh -c script` under [`notify_uname`] as container `id`.
fn start_contained(agent: &Agent, id: &str, metadata: &str, script: &str) -> Child {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script])
        .env("LC_ALL", "C")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let handoff = cmd.seccomp_filters_with_listener(notify_uname()).unwrap();
    let child = cmd.spawn().unwrap();
    let listener = handoff.recv().unwrap();
    let state = ContainerProcessState {
        oci_version: "1.0.2".into(),
        fds: vec!["seccompFd".into()],
        pid: i64::from(child.id()),
        metadata: metadata.into(),
        state: ContainerState {
            id: id.into(),
            status: "running".into(),
            ..ContainerState::default()
        },
    };
    let conn = UnixStream::connect(&agent.socket).unwrap();
    send_handoff(&conn, &state, &listener).unwrap();
    drop((conn, listener));
    child
}

#[test]
fn one_agent_learns_enforces_and_refuses_per_container_metadata() {
    let dir = scratch("fake-runtime");
    let deny = dir.join("deny-uname.json");
    std::fs::write(
        &deny,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
    )
    .unwrap();
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap(), "-f", "oci"]);

    // Learn (the agent's default mode): uname runs, and is in the profile written at exit.
    let out = contained(&agent, "learner", "");
    assert!(out.contains("status=0"), "{out}");
    agent.wait_for_log("learner: ");
    agent.wait_for_log("rules written to");
    let learned = read_json(&dir.join("learner.json"));
    let allowed = names_with(&learned, "SCMP_ACT_ALLOW");
    assert!(allowed.contains(&"uname".to_string()), "{allowed:?}");
    assert!(
        allowed.contains(&"futex".to_string()),
        "runc's base set: {allowed:?}"
    );

    // Enforce, chosen by the metadata: uname fails with the profile's errno (EACCES).
    let meta = format!("mode=enforce profile={}", deny.display());
    let out = contained(&agent, "enforced", &meta);
    assert!(out.contains("status=1"), "{out}");
    assert!(out.contains("ermission denied"), "EACCES: {out}");
    let reports = std::fs::read_to_string(&agent.stdout).unwrap();
    let line: serde_json::Value = serde_json::from_str(reports.lines().next().unwrap()).unwrap();
    assert_eq!(line["container"], "enforced");
    assert_eq!(line["syscall"], "uname");
    assert_eq!(line["answer"], "errno 13");
    assert_eq!(line["mode"], "enforce");

    // Metadata the agent cannot honour: the listener is closed, the call fails (ENOSYS).
    let out = contained(&agent, "confused", "mode=audit");
    assert!(out.contains("status=1"), "{out}");
    agent.wait_for_log("confused: refused: listenerMetadata: mode=audit");
    assert!(!dir.join("confused.json").exists());
}

#[test]
fn sighup_writes_the_profile_of_a_container_still_running() {
    let dir = scratch("sighup");
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap()]);
    let mut child = start_contained(&agent, "long", "", "uname; sleep 2; uname");
    agent.wait_for_log("long: learn mode");
    let profile = dir.join("long.json");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!profile.exists(), "written before it was asked for");
    // SAFETY: kill with our own child's pid and a valid signal.
    unsafe { libc::kill(agent.child.id() as i32, libc::SIGHUP) };
    agent.wait_for_log("long: ");
    agent.wait_for_log("rules written to");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the container was still running"
    );
    assert!(names_with(&read_json(&profile), "SCMP_ACT_ALLOW").contains(&"uname".to_string()));
    assert!(child.wait().unwrap().success());
}

#[test]
fn help_says_what_runc_refuses_and_what_a_dead_agent_means() {
    let words = |args: &[&str]| {
        let o = sysgate(args);
        assert!(o.status.success(), "{args:?}");
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let agent = words(&["agent", "--help"]);
    for needle in [
        "fails with ENOSYS",
        "containers do not hang",
        "mode=complain profile=/etc/p.json runtime=runc",
        "SIGHUP or SIGUSR1",
    ] {
        assert!(
            agent.contains(needle),
            "agent --help lacks {needle:?}: {agent}"
        );
    }
    let prepare = words(&["oci", "prepare", "--help"]);
    for needle in [
        "runc refuses SCMP_ACT_NOTIFY as the default action and on write",
        "write is never learned through the agent",
        "config.json.sysgate-orig",
    ] {
        assert!(
            prepare.contains(needle),
            "oci prepare --help lacks {needle:?}: {prepare}"
        );
    }
}

#[test]
fn learning_with_a_profile_adds_the_calls_it_allowed_without_notifying() {
    let dir = scratch("learn-with-profile");
    let known = dir.join("needed.json");
    std::fs::write(
        &known,
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["mkdirat"], "action": "SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap()]);
    let meta = format!("mode=learn profile={}", known.display());
    assert!(contained(&agent, "known", &meta).contains("status=0"));
    agent.wait_for_log("rules written to");
    let allowed = names_with(&read_json(&dir.join("known.json")), "SCMP_ACT_ALLOW");
    assert!(allowed.contains(&"uname".to_string()), "seen: {allowed:?}");
    assert!(
        allowed.contains(&"mkdirat".to_string()),
        "from the profile: {allowed:?}"
    );
}

/// `profile=` names a file the agent reads: a FIFO is refused by name, and while it waited
/// on one, every other container's notified calls used to wait with it (the lock all
/// containers take was held), SIGTERM included.
#[test]
fn a_metadata_profile_that_is_a_fifo_is_refused_and_holds_up_no_other_container() {
    let dir = scratch("fifo-profile");
    let fifo = dir.join("profile.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string and mode.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap()]);
    let meta = format!("mode=complain profile={}", fifo.display());
    let stuck = start_contained(&agent, "fifo", &meta, "uname; echo status=$?");
    agent.wait_for_log("not a regular file");
    let out = stuck.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("status=1"));
    assert!(contained(&agent, "after", "").contains("status=0"));
    agent.wait_for_log("after: learn mode");
}

/// Send `text` with `fds` attached in one message (what a runtime, or an impostor, does).
fn send_fds(conn: &UnixStream, text: &[u8], fds: &[i32]) {
    use std::os::fd::AsRawFd;
    let mut iov = libc::iovec {
        iov_base: text.as_ptr() as *mut libc::c_void,
        iov_len: text.len(),
    };
    let payload = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: plain data, zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `msg` describes `control`, large enough for one cmsg of `payload` bytes,
    // which is filled in before the call; `iov` points at `text`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(payload) as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), fds.len());
        assert_eq!(
            libc::sendmsg(conn.as_raw_fd(), &msg, 0),
            text.len() as isize
        );
    }
}

/// What is not a runtime's handoff is refused by name: an fd that is no seccomp listener
/// (it used to be served as a container, recording nothing and, for a pipe, waiting
/// forever), a message with no fd, and a client hoarding fds (it used to keep them all
/// until its time ran out).
#[test]
fn handoffs_without_a_real_listener_are_refused_by_name() {
    use std::os::fd::AsRawFd;
    let dir = scratch("not-a-listener");
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap()]);
    let state = |id: &str| {
        serde_json::to_vec(&ContainerProcessState {
            oci_version: "1.0.2".into(),
            fds: vec!["seccompFd".into()],
            pid: 1,
            state: ContainerState {
                id: id.into(),
                ..ContainerState::default()
            },
            ..ContainerProcessState::default()
        })
        .unwrap()
    };
    let (pipe, _writer) = UnixStream::pair().unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    for (id, fd) in [("socket", pipe.as_raw_fd()), ("devnull", null.as_raw_fd())] {
        let conn = UnixStream::connect(&agent.socket).unwrap();
        send_fds(&conn, &state(id), &[fd]);
    }
    agent.wait_for_log("is socket:[");
    agent.wait_for_log("is /dev/null, not a seccomp notification listener");
    let conn = UnixStream::connect(&agent.socket).unwrap();
    send_fds(&conn, &state("none"), &[]);
    drop(conn);
    agent.wait_for_log("came with 0 fds");
    let conn = UnixStream::connect(&agent.socket).unwrap();
    send_fds(&conn, b"{", &[null.as_raw_fd(); 20]);
    agent.wait_for_log("more than 16 fds");
    let log = agent.log();
    for id in ["socket", "devnull", "none"] {
        assert!(!log.contains(&format!("{id}: learn mode")), "{log}");
    }
}

/// When no thread can be started for a connection (out of memory or pids; here, threads
/// asked for more stack than there is address space), the connection is refused by name
/// and the agent goes on accepting. The accept thread used to panic, after which every
/// runtime's listener sat unread in the socket's queue and its container hung.
#[test]
fn out_of_threads_a_connection_is_refused_and_the_agent_goes_on() {
    let dir = scratch("no-threads");
    let agent = Agent::start_with(
        &dir,
        &["--output-dir", dir.to_str().unwrap()],
        &[("RUST_MIN_STACK", "70368744177664")],
    );
    for _ in 0..2 {
        // `timeout`: a listener nobody reads would leave uname waiting for ever.
        let child = start_contained(&agent, "starved", "", "timeout 10 uname; echo status=$?");
        let out = child.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("status=1"), "ENOSYS, not a hang: {out}");
    }
    agent.wait_for_log("refused a connection: cannot start a thread");
    let end = Instant::now() + Duration::from_secs(20);
    while agent.log().matches("cannot start a thread").count() < 2 {
        assert!(Instant::now() < end, "{}", agent.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The profile's file name comes from the container's id: a symlink planted under that
/// name in the output directory is refused, not followed (the agent, often root, used to
/// write the profile over the link's target).
#[test]
fn a_symlink_planted_under_a_containers_name_is_not_followed() {
    let dir = scratch("planted");
    let target = dir.join("precious");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("victim.json")).unwrap();
    let agent = Agent::start(&dir, &["--output-dir", dir.to_str().unwrap()]);
    assert!(contained(&agent, "victim", "").contains("status=0"));
    agent.wait_for_log("victim: profile not written");
    assert!(agent.log().contains("is a symlink to"), "{}", agent.log());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
}

/// A bundle whose config.json is a FIFO is refused by name; `oci prepare` used to wait on
/// it for ever (`timeout` turns that into a failure here).
#[test]
fn prepare_refuses_a_config_that_is_not_a_file() {
    let dir = scratch("fifo-config");
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let c = std::ffi::CString::new(bundle.join("config.json").to_str().unwrap()).unwrap();
    // SAFETY: a valid C string and mode.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let program = sysgate_command().get_program().to_owned();
    let o = Command::new("timeout")
        .arg("20")
        .arg(program)
        .args(["oci", "prepare", bundle.to_str().unwrap()])
        .args(["--agent", "/a.sock", "--mode", "learn"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("config.json: not a regular file"),
        "{}",
        text(&o)
    );
}
