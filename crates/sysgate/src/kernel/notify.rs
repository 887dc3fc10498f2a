//! User notification: the supervisor's side of `SECCOMP_RET_USER_NOTIF`.
//!
//! A filter installed with NEW_LISTENER gives its installer a [`Listener`]. Whenever the
//! filter returns USER_NOTIF, the calling thread blocks and the listener receives a
//! [`Notification`]; the supervisor answers with [`Listener::respond`] (a return value,
//! an errno, or "continue": run the call as it is), and can first inject a file descriptor
//! into the target with [`Listener::add_fd`].
//!
//! This file owns the listener's ioctls and their structs. It does not install filters
//! ([`super::install`], [`super::CommandExt`]) and it does not read the target's memory.
//!
//! # What a supervisor must not rely on (TOCTOU)
//!
//! - **Pointer arguments are not evidence.** A notification carries the *values* of the
//!   six arguments. If one is a pointer (a path, a `sockaddr`), the supervisor can read the
//!   target's memory (`/proc/PID/mem`, `process_vm_readv`), but another thread of the
//!   target, or a process sharing its memory, can change that memory after the supervisor
//!   read it and before the kernel does. Never allow a call because of what a pointer
//!   pointed to when you looked.
//! - **[`Response::Continue`] is not a security boundary.** It tells the kernel to run the
//!   call as the target issued it, reading the (possibly changed) memory again. Use it
//!   only where the call would be acceptable whatever its memory arguments say, or where
//!   the filter below would stop it anyway.
//! - **The target may be gone.** Between [`Listener::recv`] and [`Listener::respond`] the
//!   target may be killed, or its call interrupted by a signal. Check
//!   [`Listener::id_valid`] after reading the target's `/proc` files to be sure they
//!   belonged to the process that made the call (pids are reused); expect
//!   [`NotifyError::Gone`] from `respond`.
//!
//! Only the supervisor should hold the listener: a thread that is itself filtered and
//! waits on its own notifications deadlocks.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::time::Duration;

use super::sys::{self, Errno, RawAddFd};
use crate::arch::Arch;
use crate::bpf::SeccompData;
use crate::policy::MAX_ERRNO;

/// The sizes of the notification structs, as the running kernel reports them
/// (`SECCOMP_GET_NOTIF_SIZES`). Newer kernels may have larger structs than this crate
/// knows; buffers are sized from these values so the kernel never writes past them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct NotifSizes {
    /// `sizeof(struct seccomp_notif)`.
    pub notif: usize,
    /// `sizeof(struct seccomp_notif_resp)`.
    pub resp: usize,
    /// `sizeof(struct seccomp_data)`.
    pub data: usize,
}

impl NotifSizes {
    /// Ask the kernel (Linux 5.0 and later).
    ///
    /// ```
    /// # if std::path::Path::new("/proc/sys/kernel/seccomp/actions_avail").exists() {
    /// let sizes = sysgate::kernel::NotifSizes::query()?;
    /// assert!(sizes.data >= 64);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn query() -> io::Result<NotifSizes> {
        let raw = sys::seccomp_get_notif_sizes()?;
        Ok(NotifSizes {
            notif: raw.notif.into(),
            resp: raw.resp.into(),
            data: raw.data.into(),
        })
    }
}

/// One notified syscall (`struct seccomp_notif`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Notification {
    /// The cookie that [`Listener::respond`], [`Listener::id_valid`] and
    /// [`Listener::add_fd`] take.
    pub id: u64,
    /// The thread that made the call, in the listener's pid namespace (0 if it is not
    /// visible there). It may exit, and its id be reused, at any time.
    pub pid: u32,
    /// Flags (none are defined yet).
    pub flags: u32,
    /// What the filter saw. Pointers among the arguments point into the target's memory,
    /// which can change at any time (see the module docs).
    pub data: SeccompData,
}

impl Notification {
    /// The syscall's name on the caller's ABI, if sysgate's tables know it.
    pub fn syscall_name(&self) -> Option<&'static str> {
        let arch = Arch::from_audit_arch(self.data.arch)?;
        arch.syscall_name(self.data.nr)
    }
}

/// The answer to a notification.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Response {
    /// The call succeeds with this return value, without running.
    Value(i64),
    /// The call fails with this errno (1 to 4095), without running.
    Error(i32),
    /// Run the call as issued (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`, Linux 5.5). The kernel
    /// re-reads any memory the call uses: not a security boundary (see the module docs).
    Continue,
}

/// Where [`Listener::add_fd`] puts the descriptor in the target.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct TargetFd {
    /// The exact number (`SECCOMP_ADDFD_FLAG_SETFD`, replacing what is there), or `None`
    /// for the lowest free one.
    pub number: Option<RawFd>,
    /// Close-on-exec in the target (`O_CLOEXEC`, the only flag the kernel takes).
    pub cloexec: bool,
}

impl TargetFd {
    /// The lowest free number, not close-on-exec.
    pub const fn any() -> TargetFd {
        TargetFd {
            number: None,
            cloexec: false,
        }
    }

    /// Exactly this number.
    pub const fn at(number: RawFd) -> TargetFd {
        TargetFd {
            number: Some(number),
            cloexec: false,
        }
    }

    /// Make it close-on-exec.
    pub const fn cloexec(mut self) -> TargetFd {
        self.cloexec = true;
        self
    }
}

/// What [`Listener::wait`] saw.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Readiness {
    /// A notification is waiting: [`Listener::recv`] will not block.
    Notification,
    /// No task uses the filter any more: nothing will ever arrive.
    Hangup,
    /// The timeout passed.
    Timeout,
}

/// Why a listener operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// ENOENT: the notification no longer exists. The target was killed, or a signal
    /// interrupted its call, after the notification was generated.
    #[error("notification {}is gone: the target was killed or its call interrupted by a signal", id.map(|i| format!("{i} ")).unwrap_or_default())]
    Gone {
        /// The notification, when the operation named one.
        id: Option<u64>,
    },
    /// An errno outside 1 to 4095 in [`Response::Error`].
    #[error("errno {0} cannot be returned: it must be between 1 and {MAX_ERRNO}")]
    BadErrno(i32),
    /// Any other failure of an ioctl or `poll`.
    #[error("{op} failed: {source}")]
    Io {
        /// The operation (`SECCOMP_IOCTL_NOTIF_RECV`, ...).
        op: &'static str,
        /// The kernel's answer.
        source: io::Error,
    },
}

fn io_err(op: &'static str, e: Errno) -> NotifyError {
    NotifyError::Io {
        op,
        source: e.into(),
    }
}

/// A user-notification listener fd.
///
/// The supervisor loop, with a timeout so it notices when every target has gone:
///
/// ```no_run
/// use std::time::Duration;
/// use sysgate::kernel::{Listener, Readiness, Response};
///
/// fn supervise(listener: &Listener) -> Result<(), sysgate::kernel::NotifyError> {
///     loop {
///         match listener.wait(Some(Duration::from_secs(1)))? {
///             Readiness::Notification => {
///                 let n = match listener.recv() {
///                     Ok(n) => n,
///                     Err(sysgate::kernel::NotifyError::Gone { .. }) => continue,
///                     Err(e) => return Err(e),
///                 };
///                 // Decide from the call's number and argument *values* only.
///                 let answer = match n.syscall_name() {
///                     Some("uname") => Response::Error(libc::EPERM),
///                     _ => Response::Error(libc::ENOSYS),
///                 };
///                 match listener.respond(n.id, answer) {
///                     Ok(()) | Err(sysgate::kernel::NotifyError::Gone { .. }) => {}
///                     Err(e) => return Err(e),
///                 }
///             }
///             Readiness::Hangup => return Ok(()),
///             Readiness::Timeout => {}
///         }
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
    sizes: OnceLock<NotifSizes>,
}

impl From<OwnedFd> for Listener {
    fn from(fd: OwnedFd) -> Listener {
        Listener {
            fd,
            sizes: OnceLock::new(),
        }
    }
}

impl From<Listener> for OwnedFd {
    fn from(l: Listener) -> OwnedFd {
        l.fd
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Whole u64 words for `bytes` bytes.
fn words(bytes: usize) -> usize {
    bytes.div_ceil(8)
}

/// Two native-endian u32 halves of a word, in memory order.
fn halves(word: u64) -> (u32, u32) {
    let b = word.to_ne_bytes();
    (
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
    )
}

/// One word from two native-endian u32s, in memory order.
fn join(first: u32, second: u32) -> u64 {
    let (a, b) = (first.to_ne_bytes(), second.to_ne_bytes());
    u64::from_ne_bytes([a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]])
}

impl Listener {
    /// The kernel's struct sizes, asked once.
    fn sizes(&self) -> Result<NotifSizes, NotifyError> {
        if let Some(s) = self.sizes.get() {
            return Ok(*s);
        }
        let s = NotifSizes::query().map_err(|source| NotifyError::Io {
            op: "SECCOMP_GET_NOTIF_SIZES",
            source,
        })?;
        Ok(*self.sizes.get_or_init(|| s))
    }

    /// Wait until a notification is pending, every target has gone, or `timeout` (`None`:
    /// forever) has passed.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Readiness, NotifyError> {
        let ms = match timeout {
            None => -1,
            Some(t) => i32::try_from(t.as_millis()).unwrap_or(i32::MAX),
        };
        let revents = sys::poll_in(self.fd.as_fd(), ms).map_err(|e| io_err("poll", e))?;
        Ok(if revents & libc::POLLIN != 0 {
            Readiness::Notification
        } else if revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            Readiness::Hangup
        } else {
            Readiness::Timeout
        })
    }

    /// Receive the next notification, blocking until there is one
    /// (`SECCOMP_IOCTL_NOTIF_RECV`).
    ///
    /// The buffer is as large as the running kernel's `struct seccomp_notif` and zeroed
    /// before the call, as the kernel requires. Returns [`NotifyError::Gone`] when the
    /// target died or was interrupted as the notification was being made; just receive
    /// again. After every target has gone this blocks forever: use [`Listener::wait`]
    /// first to notice the hangup.
    pub fn recv(&self) -> Result<Notification, NotifyError> {
        let sizes = self.sizes()?;
        let len = words(sizes.notif.max(sys::NOTIF_SIZE));
        loop {
            // Freshly zeroed for every call: the kernel refuses a non-zero buffer.
            let mut buf = vec![0u64; len];
            match sys::notif_recv(self.fd.as_fd(), &mut buf) {
                Ok(()) => {
                    // Layout: u64 id; u32 pid; u32 flags; seccomp_data { i32 nr; u32 arch;
                    // u64 ip; u64 args[6] }.
                    let (pid, flags) = halves(buf[1]);
                    let (nr, arch) = halves(buf[2]);
                    let mut args = [0u64; 6];
                    args.copy_from_slice(&buf[4..10]);
                    return Ok(Notification {
                        id: buf[0],
                        pid,
                        flags,
                        data: SeccompData {
                            nr,
                            arch,
                            instruction_pointer: buf[3],
                            args,
                        },
                    });
                }
                Err(Errno(libc::EINTR)) => continue,
                Err(Errno(libc::ENOENT)) => return Err(NotifyError::Gone { id: None }),
                Err(e) => return Err(io_err("SECCOMP_IOCTL_NOTIF_RECV", e)),
            }
        }
    }

    /// Answer notification `id` (`SECCOMP_IOCTL_NOTIF_SEND`). The target's call returns.
    pub fn respond(&self, id: u64, response: Response) -> Result<(), NotifyError> {
        let (val, error, flags) = match response {
            Response::Value(v) => (v, 0, 0),
            Response::Error(e) if (1..=i32::from(MAX_ERRNO)).contains(&e) => (0, -e, 0),
            Response::Error(e) => return Err(NotifyError::BadErrno(e)),
            Response::Continue => (0, 0, sys::USER_NOTIF_FLAG_CONTINUE),
        };
        let sizes = self.sizes()?;
        // Layout: u64 id; i64 val; i32 error; u32 flags. Any newer fields stay zero.
        let mut buf = vec![0u64; words(sizes.resp.max(sys::NOTIF_RESP_SIZE))];
        buf[0] = id;
        buf[1] = val as u64;
        buf[2] = join(error as u32, flags);
        sys::notif_send(self.fd.as_fd(), &mut buf).map_err(|e| match e {
            Errno(libc::ENOENT) => NotifyError::Gone { id: Some(id) },
            e => io_err("SECCOMP_IOCTL_NOTIF_SEND", e),
        })
    }

    /// Whether notification `id` is still pending: its target is alive and waiting
    /// (`SECCOMP_IOCTL_NOTIF_ID_VALID`). Check it after reading the target's `/proc` files,
    /// so that what was read belongs to the process that made the call.
    pub fn id_valid(&self, id: u64) -> Result<bool, NotifyError> {
        match sys::notif_id_valid(self.fd.as_fd(), id) {
            Ok(()) => Ok(true),
            Err(Errno(libc::ENOENT)) => Ok(false),
            Err(e) => Err(io_err("SECCOMP_IOCTL_NOTIF_ID_VALID", e)),
        }
    }

    /// Copy `fd` into the target of notification `id` (`SECCOMP_IOCTL_NOTIF_ADDFD`,
    /// Linux 5.9) and return its number there.
    ///
    /// With `send` (`SECCOMP_ADDFD_FLAG_SEND`, Linux 5.14), this also answers the
    /// notification atomically: the target's call returns the new number, as if it had
    /// opened the file itself. Without it, answer with [`Listener::respond`] afterwards.
    pub fn add_fd(
        &self,
        id: u64,
        fd: BorrowedFd<'_>,
        target: TargetFd,
        send: bool,
    ) -> Result<RawFd, NotifyError> {
        let mut flags = 0;
        if target.number.is_some() {
            flags |= sys::ADDFD_FLAG_SETFD;
        }
        if send {
            flags |= sys::ADDFD_FLAG_SEND;
        }
        let addfd = RawAddFd {
            id,
            flags,
            srcfd: fd.as_raw_fd() as u32,
            newfd: target.number.unwrap_or(0) as u32,
            newfd_flags: if target.cloexec {
                libc::O_CLOEXEC as u32
            } else {
                0
            },
        };
        sys::notif_addfd(self.fd.as_fd(), &addfd).map_err(|e| match e {
            Errno(libc::ENOENT) => NotifyError::Gone { id: Some(id) },
            e => io_err("SECCOMP_IOCTL_NOTIF_ADDFD", e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_in_memory_order() {
        let w = join(0x1122_3344, 0x5566_7788);
        assert_eq!(halves(w), (0x1122_3344, 0x5566_7788));
        // On a little-endian machine the first field is the low half.
        if cfg!(target_endian = "little") {
            assert_eq!(w, 0x5566_7788_1122_3344);
        }
    }

    #[test]
    fn errno_range_is_checked_before_the_kernel() {
        // An fd that is not a listener: the range check must fail first.
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let l = Listener::from(OwnedFd::from(a));
        assert!(matches!(
            l.respond(1, Response::Error(0)),
            Err(NotifyError::BadErrno(0))
        ));
        assert!(matches!(
            l.respond(1, Response::Error(4096)),
            Err(NotifyError::BadErrno(4096))
        ));
    }

    #[test]
    fn target_fd_builders() {
        assert_eq!(TargetFd::any(), TargetFd::default());
        let t = TargetFd::at(7).cloexec();
        assert_eq!(t.number, Some(7));
        assert!(t.cloexec);
    }
}
