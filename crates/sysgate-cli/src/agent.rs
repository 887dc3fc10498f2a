//! `sysgate agent`: a seccomp agent for OCI runtimes (`linux.seccomp.listenerPath`).
//!
//! A thread accepts runtime connections on the socket; each handoff
//! ([`sysgate::kernel::receive_handoff`]) gets a thread that answers the container's
//! notifications with a [`Session`] until no task uses the filter any more (the listener
//! hangs up). The main thread takes the signals, blocked everywhere else: SIGHUP and SIGUSR1
//! write the profile of every container still learning, SIGINT and SIGTERM write them and
//! end the agent (after a profile being written has been written).
//!
//! Containers are keyed by their id: a second listener for the same container (`runc exec`)
//! adds to the same session, whose profile is written when its last listener ends. This
//! file owns the threads, the socket, the reports and where profiles go; what each call is
//! answered and what a profile contains are the library's ([`sysgate::learn::Session`],
//! [`sysgate::learn::container_profile`]).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use sysgate::kernel::{Handoff, Listener, NotifyError, Readiness, SignalWaiter};
use sysgate::learn::{container_profile, AgentMode, Refusal, Runtime, Session, SynthOptions};
use sysgate::policy::Policy;

use crate::bad_input;
use crate::flags::{self, OutputArg, ProfileFormatArg};
use crate::learn::{report_notes, with_earlier, write_profile, OutputArgs};
use crate::output;
use crate::profile_input::{self, TargetArgs};
use sysgate::profile::detect::Format;

/// `--mode`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Record every call, let it run, write the profile when the container exits.
    Learn,
    /// Report each call the profile would refuse, and let it run.
    Complain,
    /// Run the calls the profile allows; fail the others with its errno.
    Enforce,
}

impl Mode {
    fn library(self) -> AgentMode {
        match self {
            Mode::Learn => AgentMode::Learn,
            Mode::Complain => AgentMode::Complain,
            Mode::Enforce => AgentMode::Enforce,
        }
    }
}

/// `--runtime`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeArg {
    /// runc's calls between its filter and the container's exec.
    Runc,
    /// crun's.
    Crun,
    /// None: only what was seen (and what the agent never sees).
    None,
}

impl RuntimeArg {
    /// The library's runtime.
    pub fn runtime(self) -> Runtime {
        match self {
            RuntimeArg::Runc => Runtime::Runc,
            RuntimeArg::Crun => Runtime::Crun,
            RuntimeArg::None => Runtime::None,
        }
    }
}

/// Arguments of `sysgate agent`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The runtime (runc 1.1 or later, crun, youki) connects to SOCKET \
once a container's filter is installed and sends the container's notification fd with its \
state. Prepare a bundle with `sysgate oci prepare`, or write the profile for Podman with \
`sysgate oci prepare --agent SOCKET -o FILE`.\n\nThe profile's listenerMetadata may choose \
the mode, profile and runtime per container: \"mode=complain profile=/etc/p.json \
runtime=runc\" (words separated by spaces or commas; `oci prepare` writes them). A container whose metadata cannot be honoured is refused: its listener \
is closed, and every call it would have notified fails with ENOSYS.\n\nlearn: the profile of \
container ID is written to DIR/ID.json (.yaml for k8s, .conf for systemd, .seccomp for lxc; \
an ID with other characters than letters, digits, '.', '_' and '-' has them replaced and a \
hash of the ID added) \
when its last process exits, and for every running container on SIGHUP or SIGUSR1, and on SIGINT or \
SIGTERM before the agent ends. complain and enforce: each call the profile refuses is \
reported on standard error and as one JSON object per line on standard output (container, \
pid, exe, syscall, arch, args, action, rule, answer).\n\nIf the agent dies, the kernel fails \
every pending and later notified call with ENOSYS: containers do not hang, but calls the \
agent would have let through fail. Enforce mode decides from argument values only; memory \
the arguments point to can change after the decision (see docs/containers.md).\n\nExample:\n  \
sysgate agent --socket /run/sysgate.sock --runtime runc --output-dir /var/lib/sysgate"
)]
pub struct Args {
    /// The UNIX socket to listen on (the profile's listenerPath). A stale socket file
    /// nobody listens on is replaced.
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,

    /// What to do with containers whose listenerMetadata names no mode.
    #[arg(long, value_enum, default_value = "learn")]
    mode: Mode,

    /// The profile complain and enforce modes decide with (any format sysgate reads).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,

    #[command(flatten)]
    target: TargetArgs,

    /// learn: where the profiles go, one file per container id.
    #[arg(long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,

    /// learn: the profile format to write.
    #[command(flatten)]
    format: ProfileFormatArg,

    /// learn: LXC file version, 2 or 1.
    #[arg(long, value_name = "1|2", default_value = "2")]
    lxc_version: u8,

    /// learn: what the profile does with syscalls that were not seen.
    #[command(flatten)]
    default_action: flags::DefaultActionArg,

    /// learn: also allow the calls this runtime makes before the container's program
    /// starts, so the profile works with it as the container's seccomp profile, for
    /// containers whose listenerMetadata names no runtime (`oci prepare` names it).
    #[arg(long, value_enum, default_value = "runc")]
    runtime: RuntimeArg,

    /// Seconds to wait for a runtime that connected to send its message.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    handoff_timeout: u64,
}

/// What every thread shares.
struct Shared {
    args: Args,
    default_profile: Option<Arc<Policy>>,
    /// The containers with a listener open.
    containers: Mutex<BTreeMap<String, Container>>,
    /// Serializes writes of whole lines to stdout and stderr between threads.
    log: Mutex<()>,
    /// Held while a profile is written: the agent ends only between writes.
    writing: Mutex<()>,
}

/// A container with a listener open.
struct Container {
    session: Arc<Mutex<Session>>,
    /// The runtime whose base set its learned profile gets.
    runtime: Runtime,
    /// How many of its listeners are open.
    live: usize,
}

/// Run `sysgate agent`.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.format.format == Format::Lxc && !matches!(args.lxc_version, 1 | 2) {
        return Err(bad_input(format!(
            "--lxc-version {}: expected 1 or 2",
            args.lxc_version
        )));
    }
    let default_profile = match &args.profile {
        Some(p) => Some(Arc::new(load_profile(p, &args.target)?)),
        None => None,
    };
    if args.mode != Mode::Learn && default_profile.is_none() {
        return Err(bad_input(format!(
            "--mode {}: needs --profile PROFILE to decide with",
            args.mode.library().name()
        )));
    }
    let meta = std::fs::metadata(&args.output_dir)
        .map_err(|e| bad_input(format!("--output-dir {}: {e}", args.output_dir.display())))?;
    if !meta.is_dir() {
        return Err(bad_input(format!(
            "--output-dir {}: not a directory",
            args.output_dir.display()
        )));
    }
    // Before any thread starts, so that every thread has them blocked.
    let signals = SignalWaiter::block(&[libc::SIGHUP, libc::SIGUSR1, libc::SIGINT, libc::SIGTERM])
        .context("cannot block signals")?;
    let socket = bind(&args.socket)?;
    let shared = Arc::new(Shared {
        args,
        default_profile,
        containers: Mutex::new(BTreeMap::new()),
        log: Mutex::new(()),
        writing: Mutex::new(()),
    });
    say(
        &shared,
        &format!(
            "listening on {} ({} mode by default)",
            shared.args.socket.display(),
            shared.args.mode.library().name()
        ),
    );
    {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("accept".into())
            .stack_size(ACCEPT_STACK)
            .spawn(move || accept_loop(&shared, &socket))
            .context("cannot start the thread that accepts connections")?;
    }
    loop {
        let sig = signals.wait();
        // Held to the end: a container that ended just now has been written (or is still
        // registered, and written here), and no write starts after.
        let writing = shared.writing.lock().expect("writing lock");
        write_all(&shared, &writing);
        if sig == libc::SIGINT || sig == libc::SIGTERM {
            let _ = std::fs::remove_file(&shared.args.socket);
            say(&shared, "stopped");
            return Ok(ExitCode::SUCCESS);
        }
    }
}

fn load_profile(path: &str, target: &TargetArgs) -> Result<Policy> {
    let loaded = profile_input::load(path, target)?;
    for w in &loaded.warnings {
        eprintln!("sysgate: warning: {w}");
    }
    Ok(loaded.policy)
}

/// Listen on `path`, replacing a socket file nobody listens on.
fn bind(path: &Path) -> Result<UnixListener> {
    // sun_path holds 108 bytes, the last a NUL.
    let len = path.as_os_str().len();
    if len > 107 {
        return Err(bad_input(format!(
            "--socket {}: {len} bytes, longer than the 107 bytes a unix socket's path may have; \
             choose a shorter path (a relative path counts from the current directory)",
            path.display()
        )));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(bad_input(format!(
                "--socket {}: exists and is not a socket",
                path.display()
            )));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(bad_input(format!(
                "--socket {}: another agent is listening there",
                path.display()
            )));
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))
}

fn accept_loop(shared: &Arc<Shared>, socket: &UnixListener) {
    for conn in socket.incoming() {
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                // Out of fds or memory: say so, and do not spin.
                say(shared, &format!("cannot accept a connection: {e}"));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let shared_here = Arc::clone(shared);
        let started = std::thread::Builder::new().spawn(move || {
            let shared = shared_here;
            let timeout = Duration::from_secs(shared.args.handoff_timeout.max(1));
            match sysgate::kernel::receive_handoff(&conn, Some(timeout)) {
                Ok(handoff) => {
                    drop(conn);
                    serve(&shared, handoff);
                }
                Err(e) => say(&shared, &format!("refused a connection: {e}")),
            }
        });
        // Out of threads (memory, pids): the connection is closed with the closure, so a
        // runtime's listener goes with it and its container sees ENOSYS rather than hang;
        // the agent goes on accepting.
        if let Err(e) = started {
            say(
                shared,
                &format!("refused a connection: cannot start a thread for it: {e}"),
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The accept thread's stack: it only accepts and starts threads.
const ACCEPT_STACK: usize = 256 * 1024;

/// What a container's listenerMetadata asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Metadata {
    mode: Option<AgentMode>,
    profile: Option<String>,
    runtime: Option<Runtime>,
}

/// Parse "mode=complain profile=/p.json" (spaces or commas between words). Words that are
/// not `key=value` with a known key are an error: the container asked for something the
/// agent cannot do.
fn parse_metadata(text: &str) -> Result<Metadata, String> {
    let mut out = Metadata::default();
    for word in text.split([' ', ',', '\t', '\n']).filter(|w| !w.is_empty()) {
        match word.split_once('=') {
            Some(("mode", m)) => {
                out.mode = Some(AgentMode::parse(m).ok_or_else(|| {
                    format!("listenerMetadata: mode={m}: expected learn, complain or enforce")
                })?)
            }
            Some(("profile", p)) if !p.is_empty() => out.profile = Some(p.to_string()),
            Some(("runtime", r)) => {
                out.runtime = Some(Runtime::parse(r).ok_or_else(|| {
                    format!("listenerMetadata: runtime={r}: expected runc, crun or none")
                })?)
            }
            _ => {
                return Err(format!(
                    "listenerMetadata: {word:?}: expected mode=learn|complain|enforce, \
                     profile=PATH or runtime=runc|crun|none"
                ))
            }
        }
    }
    Ok(out)
}

/// Answer one listener until it hangs up.
fn serve(shared: &Arc<Shared>, handoff: Handoff) {
    let Handoff { state, listener } = handoff;
    let id = if state.state.id.is_empty() {
        format!("pid-{}", state.pid)
    } else {
        state.state.id.clone()
    };
    let session = match open_session(shared, &id, &state.metadata) {
        Ok(s) => s,
        Err(e) => {
            // Closing the listener fails the container's notified calls with ENOSYS: the
            // container cannot run unobserved, nor hang.
            say(shared, &format!("{id}: refused: {e}"));
            return;
        }
    };
    let mode = session.lock().expect("session lock").mode();
    say(
        shared,
        &format!("{id}: {} mode, pid {}", mode.name(), state.pid),
    );
    let mut exes: BTreeMap<u32, String> = BTreeMap::new();
    loop {
        match listener.wait(None) {
            Ok(Readiness::Notification) => {}
            Ok(Readiness::Hangup) => break,
            Ok(Readiness::Timeout) => continue,
            Err(e) => {
                say(shared, &format!("{id}: {e}"));
                break;
            }
        }
        let n = match listener.recv() {
            Ok(n) => n,
            Err(NotifyError::Gone { .. }) => continue,
            Err(e) => {
                say(shared, &format!("{id}: {e}"));
                break;
            }
        };
        let exe = exes.entry(n.pid).or_insert_with(|| read_exe(n.pid)).clone();
        // The exe read belongs to the caller only if the call is still pending.
        if !listener.id_valid(n.id).unwrap_or(false) {
            continue;
        }
        let (answer, refusal) = session.lock().expect("session lock").decide(&n, &exe);
        if matches!(n.syscall_name(), Some("execve" | "execveat")) {
            exes.remove(&n.pid);
        }
        if let Some(r) = refusal {
            report(shared, &id, n.pid, &exe, mode, &r);
        }
        match listener.respond(n.id, answer) {
            Ok(()) | Err(NotifyError::Gone { .. }) => {}
            Err(e) => {
                say(shared, &format!("{id}: {e}"));
                break;
            }
        }
    }
    drop::<Listener>(listener);
    let writing = shared.writing.lock().expect("writing lock");
    let ended = {
        let mut containers = shared.containers.lock().expect("containers lock");
        let last = containers.get_mut(&id).is_some_and(|c| {
            c.live -= 1;
            c.live == 0
        });
        if last {
            containers.remove(&id)
        } else {
            None
        }
    };
    let calls = session.lock().expect("session lock").calls();
    say(
        shared,
        &format!("{id}: listener closed after {calls} notified calls"),
    );
    if let (AgentMode::Learn, Some(c)) = (mode, ended) {
        write_one(shared, &writing, &id, &session, c.runtime);
    }
}

/// The container's session: the one already open for `id`, or a new one as its metadata
/// and the agent's options say.
fn open_session(shared: &Shared, id: &str, metadata: &str) -> Result<Arc<Mutex<Session>>, String> {
    let meta = parse_metadata(metadata)?;
    let joined = |containers: &mut BTreeMap<String, Container>| {
        containers.get_mut(id).map(|c| {
            c.live += 1;
            Arc::clone(&c.session)
        })
    };
    if let Some(session) = joined(&mut shared.containers.lock().expect("containers lock")) {
        return Ok(session);
    }
    // Loaded without the lock every container and signal needs: a profile may be large,
    // or (named by a container's metadata) slow to read.
    let mode = meta.mode.unwrap_or(shared.args.mode.library());
    let profile = match &meta.profile {
        Some(p) => Some(load_metadata_profile(p, &shared.args.target)?),
        None => shared.default_profile.as_deref().cloned(),
    };
    let session = Session::new(mode, profile).map_err(|e| e.to_string())?;
    let session = Arc::new(Mutex::new(session));
    let runtime = meta.runtime.unwrap_or(shared.args.runtime.runtime());
    let mut containers = shared.containers.lock().expect("containers lock");
    // Another listener of the same container may have opened it meanwhile.
    if let Some(session) = joined(&mut containers) {
        return Ok(session);
    }
    containers.insert(
        id.to_string(),
        Container {
            session: Arc::clone(&session),
            runtime,
            live: 1,
        },
    );
    Ok(session)
}

/// The profile a container's metadata names (`profile=PATH`): a regular file or a
/// built-in name. A FIFO would block the reading thread until someone writes to it, and a
/// device such as /dev/zero would fill memory.
fn load_metadata_profile(path: &str, target: &TargetArgs) -> Result<Policy, String> {
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(format!(
                "listenerMetadata: profile={path}: not a regular file"
            ));
        }
    }
    load_profile(path, target).map_err(|e| format!("{e:#}"))
}

fn read_exe(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "?".into())
}

/// Report a refused call: a line on stderr, a JSON object on stdout.
fn report(shared: &Shared, id: &str, pid: u32, exe: &str, mode: AgentMode, r: &Refusal) {
    let answer = match r.response {
        sysgate::kernel::Response::Continue => "continue".to_string(),
        sysgate::kernel::Response::Error(e) => format!("errno {e}"),
        sysgate::kernel::Response::Value(v) => format!("value {v}"),
    };
    let text = format!(
        "{id}: pid {pid} ({exe}): {} would be refused ({}) by {}; answered {answer} ({} mode)",
        r.call(),
        r.action,
        r.decided_by(),
        mode.name()
    );
    let json = serde_json::json!({
        "container": id,
        "mode": mode.name(),
        "pid": pid,
        "exe": exe,
        "syscall": r.name,
        "nr": r.nr,
        "arch": r.arch.map(|a| a.to_string()),
        "audit_arch": format!("{:#x}", r.audit_arch),
        "args": r.args.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>(),
        "action": r.action.to_string(),
        "decided_by": r.decided_by(),
        "answer": answer,
    });
    let _guard = shared.log.lock().expect("log lock");
    eprintln!("sysgate agent: {text}");
    // A reader that went away (a closed pipe) does not stop the agent.
    let _ = output::print(format!("{json}\n").as_bytes());
}

/// A line on stderr, whole even with several threads.
fn say(shared: &Shared, text: &str) {
    let _guard = shared.log.lock().expect("log lock");
    let _ = writeln!(std::io::stderr(), "sysgate agent: {text}");
}

/// Write the profile of every container still learning (those that ended were written
/// then).
fn write_all(shared: &Shared, writing: &MutexGuard<'_, ()>) {
    let sessions: Vec<(String, Arc<Mutex<Session>>, Runtime)> = shared
        .containers
        .lock()
        .expect("containers lock")
        .iter()
        .map(|(id, c)| (id.clone(), Arc::clone(&c.session), c.runtime))
        .collect();
    for (id, session, runtime) in sessions {
        if session.lock().expect("session lock").mode() == AgentMode::Learn {
            write_one(shared, writing, &id, &session, runtime);
        }
    }
}

/// Write container `id`'s learned profile to the output directory (`_writing`: the caller
/// holds [`Shared::writing`]).
fn write_one(
    shared: &Shared,
    _writing: &MutexGuard<'_, ()>,
    id: &str,
    session: &Mutex<Session>,
    runtime: Runtime,
) {
    let args = &shared.args;
    let (seen, known) = {
        let s = session.lock().expect("session lock");
        (s.observations().clone(), s.profile().cloned())
    };
    let synth = SynthOptions {
        default_action: args.default_action.default_action,
        ..SynthOptions::default()
    };
    let path = args.output_dir.join(file_name(id, args.format.format));
    // The name comes from the container, not from the operator: a symlink or device
    // planted under it (in a shared directory) would make the agent write where the
    // planter chose. `-o` follows symlinks because its user named them; this does not.
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if !meta.file_type().is_file() {
            let what = if meta.file_type().is_symlink() {
                match std::fs::read_link(&path) {
                    Ok(t) => format!("a symlink to {}", t.display()),
                    Err(_) => "a symlink".to_string(),
                }
            } else if meta.is_dir() {
                "a directory".to_string()
            } else {
                "a device, FIFO or socket".to_string()
            };
            say(
                shared,
                &format!(
                    "{id}: profile not written: {} is {what}, not a regular file; remove it \
                     (or send SIGHUP once it is gone)",
                    path.display()
                ),
            );
            return;
        }
    }
    let result = container_profile(&seen, &synth, runtime)
        .map_err(|e| anyhow::anyhow!("cannot build the profile: {e}"))
        // Calls the prepared profile allowed directly because this profile allows them
        // (`oci prepare --mode learn --profile P`) never reached the agent: add them.
        .and_then(|learned| with_earlier(learned, known.as_slice()))
        .and_then(|learned| {
            let out = OutputArgs {
                output: OutputArg {
                    output: Some(path.clone()),
                },
                format: args.format,
                lxc_version: args.lxc_version,
                merge: Vec::new(),
            };
            let _guard = shared.log.lock().expect("log lock");
            report_notes(&learned.notes);
            write_profile(&out, &learned.policy, true)?;
            Ok(learned.policy.rules().len())
        });
    match result {
        Ok(rules) => say(
            shared,
            &format!("{id}: {rules} rules written to {}", path.display()),
        ),
        Err(e) => say(shared, &format!("{id}: {e:#}")),
    }
}

/// The file a container's profile goes to: its id with anything but letters, digits, `.`,
/// `_` and `-` replaced, never a hidden file or a path. An id that had to be changed gets a
/// hash of the id as it was, so that two ids never share a file (`a/b` and `a_b` used to
/// both write `a_b.json`, the second over the first).
fn file_name(id: &str, format: Format) -> String {
    let mut stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert_str(0, "container");
    }
    if stem != id {
        // FNV-1a, 64 bits: stable across runs and versions, unlike std's hasher.
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        stem.push_str(&format!("-{hash:016x}"));
    }
    let ext = match format {
        Format::Docker | Format::Oci | Format::Podman => "json",
        Format::K8s => "yaml",
        Format::Systemd => "conf",
        Format::Lxc => "seccomp",
    };
    format!("{stem}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_selects_mode_and_profile() {
        assert_eq!(parse_metadata("").unwrap(), Metadata::default());
        let m = parse_metadata("mode=complain, profile=/etc/p.json").unwrap();
        assert_eq!(m.mode, Some(AgentMode::Complain));
        assert_eq!(m.profile.as_deref(), Some("/etc/p.json"));
        assert!(parse_metadata("mode=audit")
            .unwrap_err()
            .contains("mode=audit"));
        assert!(parse_metadata("whatever")
            .unwrap_err()
            .contains("\"whatever\""));
    }

    #[test]
    fn container_ids_make_plain_file_names() {
        assert_eq!(file_name("web-1", Format::Docker), "web-1.json");
        let up = file_name("../../etc/x", Format::K8s);
        assert!(up.starts_with("container.._.._etc_x-"), "{up}");
        assert!(up.ends_with(".yaml") && !up.contains('/'), "{up}");
        let empty = file_name("", Format::Lxc);
        assert!(empty.starts_with("container-") && empty.ends_with(".seccomp"));
        assert_eq!(file_name("a_b", Format::Docker), "a_b.json");
    }

    /// Two ids that differ only where a character had to be replaced write two files.
    #[test]
    fn regression_ids_that_read_alike_do_not_share_a_file() {
        let names = ["a/b", "a_b", "a b", "a:b", ".a_b"].map(|id| file_name(id, Format::Docker));
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            file_name("a/b", Format::Docker),
            file_name("a/b", Format::Docker)
        );
    }
}
