//! The OCI seccomp-agent handoff: how a container runtime gives a container's notification
//! listener to an agent.
//!
//! A profile with `linux.seccomp.listenerPath` (OCI runtime spec, config-linux.md; runc 1.1
//! and later, crun, youki) makes the runtime, once the container's filter is installed,
//! connect to that UNIX socket and send, in one message, a JSON `ContainerProcessState`
//! (runtime-spec `specs-go/state.go`) with the listener fd attached as `SCM_RIGHTS`. The
//! state's `fds` array names the fds in their order (`"seccompFd"` for the listener); its
//! `metadata` is the profile's `listenerMetadata`, passed through untouched. runc closes
//! the connection after sending and closes its own copy of the listener, so the agent holds
//! the only one.
//!
//! This file owns that message: its serde mirror ([`ContainerProcessState`]),
//! receiving it ([`receive_handoff`]) and sending it ([`send_handoff`], what a runtime does;
//! tests use it to stand in for one). It does not decide anything about the calls: see
//! [`Listener`] for answering them.
//!
//! # When the agent goes away
//!
//! The kernel never leaves a notified call waiting for a listener that no longer exists:
//! when the last copy of the listener fd is closed (the agent exits or is killed), every
//! pending notified call returns `ENOSYS`, and every later call the filter sends to the
//! listener fails at once with `ENOSYS` (`seccomp_unotify(2)`). A container whose agent has
//! died therefore sees `ENOSYS` for the calls it would have notified; it does not hang. If
//! the agent is not listening when the container starts, runc fails the start ("failed to
//! connect with seccomp agent") and the container never runs.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::notify::Listener;
use super::sys;

/// The name of the listener fd in [`ContainerProcessState::fds`] (`specs.SeccompFdName`).
pub const SECCOMP_FD_NAME: &str = "seccompFd";

/// The most bytes of state [`receive_handoff`] reads: a runtime's state is a few hundred
/// bytes plus the container's annotations.
pub const MAX_STATE_BYTES: usize = 1 << 20;

/// What the runtime sends with the listener (runtime-spec `ContainerProcessState`).
///
/// ```
/// use sysgate::kernel::ContainerProcessState;
///
/// let s: ContainerProcessState = serde_json::from_str(r#"{
///     "ociVersion": "1.0.2", "fds": ["seccompFd"], "pid": 4242, "metadata": "mode=learn",
///     "state": {"ociVersion": "1.0.2", "id": "web", "status": "running", "pid": 4242,
///               "bundle": "/srv/web"}}"#)?;
/// assert_eq!(s.state.id, "web");
/// assert_eq!(s.fds, ["seccompFd"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerProcessState {
    /// The runtime-spec version.
    #[serde(rename = "ociVersion", default)]
    pub oci_version: String,
    /// The names of the fds sent with the message, in their order.
    #[serde(default)]
    pub fds: Vec<String>,
    /// The container process's pid as the runtime sees it.
    #[serde(default)]
    pub pid: i64,
    /// The profile's `listenerMetadata`, untouched.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// The container's state.
    #[serde(default)]
    pub state: ContainerState,
}

/// The container part of [`ContainerProcessState`] (runtime-spec `State`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerState {
    /// The runtime-spec version.
    #[serde(rename = "ociVersion", default)]
    pub oci_version: String,
    /// The container's id.
    #[serde(default)]
    pub id: String,
    /// `creating`, `created`, `running` or `stopped`.
    #[serde(default)]
    pub status: String,
    /// The container's init pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    /// The bundle directory.
    #[serde(default)]
    pub bundle: String,
    /// The container's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A listener and the state it came with.
#[derive(Debug)]
pub struct Handoff {
    /// The state the runtime sent.
    pub state: ContainerProcessState,
    /// The container's notification listener.
    pub listener: Listener,
}

/// Why a connection did not carry a usable handoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// Reading the connection failed (or timed out).
    #[error("cannot read the runtime's message: {0}")]
    Io(#[from] io::Error),
    /// The message is not a `ContainerProcessState`.
    #[error("the runtime's message is not an OCI ContainerProcessState: {0}")]
    Json(#[from] serde_json::Error),
    /// The state is longer than [`MAX_STATE_BYTES`].
    #[error("the runtime's message is longer than {MAX_STATE_BYTES} bytes")]
    TooLong,
    /// No fd named `seccompFd` came with it.
    #[error(
        "the runtime's message came with {sent} fds, named {names:?} in its state: none is \
         \"seccompFd\""
    )]
    NoListener {
        /// How many fds arrived.
        sent: usize,
        /// The names the state gave them.
        names: Vec<String>,
    },
    /// The fd named `seccompFd` is something else (a pipe, a file, a socket).
    #[error("the fd named \"seccompFd\" is {what}, not a seccomp notification listener")]
    NotAListener {
        /// What it is, as `/proc/self/fd` names it.
        what: String,
    },
    /// More fds than a runtime sends: a client hoarding the agent's fds.
    #[error("the runtime's message came with more than {MAX_FDS} fds")]
    TooManyFds,
}

/// The most fds [`receive_handoff`] holds from one connection (runc sends one).
pub const MAX_FDS: usize = 16;

/// Read one handoff from a runtime's connection: the JSON state up to the end of the
/// stream (runc closes it after sending) and the fds that came with it, each fd paired with
/// its name in `fds`; the one named `seccompFd` must be a seccomp notification listener.
/// Waits at most `timeout` for the whole message, so a client that connects and sends
/// nothing, or a byte now and then, cannot hold the caller; holds at most [`MAX_FDS`] fds.
pub fn receive_handoff(
    stream: &UnixStream,
    timeout: Option<Duration>,
) -> Result<Handoff, HandoffError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "the runtime sent nothing in time");
    let mut text = Vec::new();
    let mut end = ObjectEnd::default();
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out().into());
            }
            stream.set_read_timeout(Some(left))?;
        }
        let (n, mut got) = sys::recv_with_fds(stream.as_fd(), &mut buf).map_err(|e| {
            let e = io::Error::from(e);
            if e.kind() == io::ErrorKind::WouldBlock {
                timed_out()
            } else {
                e
            }
        })?;
        fds.append(&mut got);
        if fds.len() > MAX_FDS {
            return Err(HandoffError::TooManyFds);
        }
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        if text.len() > MAX_STATE_BYTES {
            return Err(HandoffError::TooLong);
        }
        // A complete JSON object ends the message even if the runtime keeps the
        // connection open.
        if end.feed(&buf[..n]) && !fds.is_empty() {
            break;
        }
    }
    let state: ContainerProcessState = serde_json::from_slice(&text)?;
    let index = state.fds.iter().position(|n| n == SECCOMP_FD_NAME);
    let sent = fds.len();
    match index {
        Some(i) if i < sent => {
            let fd = fds.swap_remove(i);
            check_listener(&fd)?;
            Ok(Handoff {
                state,
                listener: Listener::from(fd),
            })
        }
        _ => Err(HandoffError::NoListener {
            sent,
            names: state.fds,
        }),
    }
}

/// What the kernel calls a seccomp listener in `/proc/self/fd` (`anon_inode_getfile`'s
/// name).
const LISTENER_LINK: &str = "anon_inode:seccomp notify";

/// Refuse an fd that is not a seccomp listener: answering a pipe or a file as a container
/// would record calls nobody made, or wait forever.
fn check_listener(fd: &OwnedFd) -> Result<(), HandoffError> {
    use std::os::fd::AsRawFd;
    match std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) {
        Ok(link) if link.as_os_str() == LISTENER_LINK => Ok(()),
        Ok(link) => Err(HandoffError::NotAListener {
            what: link.to_string_lossy().into_owned(),
        }),
        // No /proc: ask the fd itself. A listener knows the ioctl (and no notification 0);
        // anything else refuses it.
        Err(_) => match sys::notif_id_valid(fd.as_fd(), 0) {
            Ok(()) | Err(sys::Errno(libc::ENOENT)) => Ok(()),
            Err(e) => Err(HandoffError::NotAListener {
                what: format!("an fd without the seccomp ioctls ({})", io::Error::from(e)),
            }),
        },
    }
}

/// Where a JSON object ends, found in one pass over its bytes as they arrive (parsing the
/// whole text again at each read would be quadratic in a message sent a byte at a time).
#[derive(Default)]
struct ObjectEnd {
    depth: usize,
    in_string: bool,
    escaped: bool,
    done: bool,
}

impl ObjectEnd {
    /// Take the next bytes; whether the first top-level object or array has closed.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.done {
                break;
            }
            if self.in_string {
                match (self.escaped, b) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    self.done = self.depth == 0;
                }
                _ => {}
            }
        }
        self.done
    }
}

/// Send `state` with `listener` attached, as a runtime does: one message, the fd as
/// `SCM_RIGHTS` with the first bytes, the rest of the JSON after it.
pub fn send_handoff(
    stream: &UnixStream,
    state: &ContainerProcessState,
    listener: impl AsFd,
) -> io::Result<()> {
    use std::io::Write;
    let text = serde_json::to_vec(state).map_err(io::Error::other)?;
    let sent = sys::send_with_fd(stream.as_fd(), &text, listener.as_fd())?;
    (&*stream).write_all(&text[sent..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(fds: &[&str]) -> ContainerProcessState {
        ContainerProcessState {
            oci_version: "1.0.2".into(),
            fds: fds.iter().map(|s| s.to_string()).collect(),
            pid: 7,
            metadata: "mode=complain".into(),
            state: ContainerState {
                id: "c1".into(),
                status: "running".into(),
                ..ContainerState::default()
            },
        }
    }

    /// The round trip with a real listener is `tests/agent_cli.rs`' (a listener needs a
    /// filter, installed only in children).
    #[test]
    fn a_handoff_of_something_else_than_a_listener_is_refused() {
        let (a, b) = UnixStream::pair().unwrap();
        let (x, _y) = UnixStream::pair().unwrap();
        send_handoff(&a, &state(&["seccompFd"]), &x).unwrap();
        drop(a);
        let err = receive_handoff(&b, Some(Duration::from_secs(5))).unwrap_err();
        assert!(
            matches!(&err, HandoffError::NotAListener { what } if what.starts_with("socket:[")),
            "{err}"
        );
    }

    #[test]
    fn a_state_without_a_seccomp_fd_is_refused() {
        let (a, b) = UnixStream::pair().unwrap();
        let (x, _y) = UnixStream::pair().unwrap();
        send_handoff(&a, &state(&["other"]), &x).unwrap();
        drop(a);
        let err = receive_handoff(&b, Some(Duration::from_secs(5))).unwrap_err();
        assert!(
            matches!(err, HandoffError::NoListener { sent: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn an_object_ends_at_its_closing_brace_whatever_its_strings_hold() {
        let text = br#"{"a": "}\"{", "b": [1, {"c": "]"}]} trailing"#;
        let mut end = ObjectEnd::default();
        let cut = text.len() - " trailing".len();
        for (i, chunk) in text[..cut].chunks(1).enumerate() {
            assert_eq!(end.feed(chunk), i == cut - 1, "byte {i}");
        }
    }

    #[test]
    fn a_silent_client_times_out() {
        let (_a, b) = UnixStream::pair().unwrap();
        let err = receive_handoff(&b, Some(Duration::from_millis(50))).unwrap_err();
        assert!(err.to_string().contains("in time"), "{err}");
    }

    /// The timeout is for the whole message: a client sending a byte now and then used to
    /// hold the reader as long as it kept going.
    #[test]
    fn a_dripping_client_times_out_too() {
        use std::io::Write;
        let (mut a, b) = UnixStream::pair().unwrap();
        let drip = std::thread::spawn(move || {
            for _ in 0..100 {
                if a.write_all(b" ").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let err = receive_handoff(&b, Some(Duration::from_millis(200))).unwrap_err();
        assert!(
            matches!(&err, HandoffError::Io(e) if e.kind() == io::ErrorKind::TimedOut),
            "{err}"
        );
        drop(b);
        drip.join().unwrap();
    }

    #[test]
    fn garbage_is_refused_by_name() {
        use std::io::Write;
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"not json").unwrap();
        drop(a);
        let err = receive_handoff(&b, Some(Duration::from_secs(5))).unwrap_err();
        assert!(err.to_string().contains("ContainerProcessState"), "{err}");
    }
}
