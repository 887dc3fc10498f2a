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
use std::time::Duration;

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
    #[error("the runtime sent {sent} fds named {names:?}, none of them \"seccompFd\"")]
    NoListener {
        /// How many fds arrived.
        sent: usize,
        /// The names the state gave them.
        names: Vec<String>,
    },
}

/// Read one handoff from a runtime's connection: the JSON state up to the end of the
/// stream (runc closes it after sending) and the fds that came with it, each fd paired with
/// its name in `fds`. Waits at most `timeout` for each read, so a client that connects and
/// sends nothing cannot hold the caller.
pub fn receive_handoff(
    stream: &UnixStream,
    timeout: Option<Duration>,
) -> Result<Handoff, HandoffError> {
    stream.set_read_timeout(timeout)?;
    let mut text = Vec::new();
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, mut got) = sys::recv_with_fds(stream.as_fd(), &mut buf).map_err(|e| {
            let e = io::Error::from(e);
            if e.kind() == io::ErrorKind::WouldBlock {
                io::Error::new(io::ErrorKind::TimedOut, "the runtime sent nothing in time")
            } else {
                e
            }
        })?;
        fds.append(&mut got);
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buf[..n]);
        if text.len() > MAX_STATE_BYTES {
            return Err(HandoffError::TooLong);
        }
        // A complete JSON object ends the message even if the runtime keeps the
        // connection open.
        if !fds.is_empty() && serde_json::from_slice::<serde_json::Value>(&text).is_ok() {
            break;
        }
    }
    let state: ContainerProcessState = serde_json::from_slice(&text)?;
    let index = state.fds.iter().position(|n| n == SECCOMP_FD_NAME);
    let sent = fds.len();
    match index {
        Some(i) if i < sent => {
            let fd = fds.swap_remove(i);
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

    #[test]
    fn a_handoff_round_trips_with_its_fd() {
        let (a, b) = UnixStream::pair().unwrap();
        let (x, _y) = UnixStream::pair().unwrap();
        let sent = state(&["seccompFd"]);
        send_handoff(&a, &sent, &x).unwrap();
        drop(a);
        let got = receive_handoff(&b, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(got.state, sent);
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
    fn a_silent_client_times_out() {
        let (_a, b) = UnixStream::pair().unwrap();
        let err = receive_handoff(&b, Some(Duration::from_millis(50))).unwrap_err();
        assert!(err.to_string().contains("in time"), "{err}");
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
