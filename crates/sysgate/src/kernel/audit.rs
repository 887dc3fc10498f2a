//! Live seccomp audit records: what the kernel reports when a filter kills a task.
//!
//! When a filter returns KILL_PROCESS or KILL_THREAD (or LOG, or any non-ALLOW action of a
//! filter installed with the LOG flag, subject to `/proc/sys/kernel/seccomp/actions_logged`),
//! the kernel emits an audit record of type 1326 (`AUDIT_SECCOMP`) naming the process, the
//! architecture, the syscall number and the filter's return value:
//!
//! ```text
//! type=1326 audit(1795840431.182:35): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=6457
//!   comm="uname" exe="/usr/bin/uname" sig=31 arch=c000003e syscall=63 compat=0
//!   ip=0x7f3288fd5b07 code=0x80000000
//! ```
//!
//! [`AuditReader`] subscribes to these records from one of two places:
//!
//! - the audit netlink socket's read-only multicast group (`AUDIT_NLGRP_READLOG`, Linux
//!   3.16): every record, not rate-limited, whether or not auditd runs; needs
//!   CAP_AUDIT_READ (root has it);
//! - `/dev/kmsg`, where the kernel prints records when no audit daemon takes them: needs
//!   CAP_SYSLOG when `kernel.dmesg_restrict` is 1, gets nothing while auditd runs, and the
//!   kernel rate-limits these lines (a burst of kills loses records).
//!
//! Both need a kernel built with `CONFIG_AUDIT`. The record carries no syscall arguments.
//!
//! This file only reads and parses records. Deciding what a record means for a policy is
//! the caller's job ([`crate::policy::Policy::decide`]).

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use super::sys::{self, Errno};
use crate::arch::{abi_of, Arch};
use crate::policy::Action;

/// The audit record type of a seccomp event (`AUDIT_SECCOMP`).
pub const AUDIT_SECCOMP: u16 = 1326;

/// One seccomp audit record: the one parser of the record syntax, for the live
/// [`AuditReader`], the audit-log reader of [`crate::learn`] (`sysgate audit`,
/// `sysgate learn --from-audit`) and `sysgate run --explain`.
///
/// It reads every form the record takes: the kernel's own (netlink, `/dev/kmsg`, dmesg,
/// journalctl), audit.log's (`type=SECCOMP msg=audit(...)`, with auditd's enriched fields
/// after a 0x1d separator) and `ausearch -i`'s (`arch=x86_64 syscall=openat code=kill`).
///
/// ```
/// use sysgate::kernel::SeccompRecord;
/// use sysgate::policy::Action;
/// use sysgate::Arch;
///
/// let r = SeccompRecord::parse(
///     "audit(1795840431.182:35): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=6457 \
///      comm=\"uname\" exe=\"/usr/bin/uname\" sig=31 arch=c000003e syscall=63 compat=0 \
///      ip=0x7f3288fd5b07 code=0x80000000",
/// )
/// .unwrap();
/// assert_eq!((r.pid, r.syscall, r.sig), (Some(6457), 63, Some(31)));
/// assert_eq!(r.arch(), Some(Arch::X86_64));
/// assert_eq!(r.action(), Some(Action::KillProcess));
/// assert_eq!(r.comm.as_deref(), Some("uname"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeccompRecord {
    /// The process (thread group) id, as the kernel's pid namespace of the reader sees it;
    /// `None` if the record has none.
    pub pid: Option<i32>,
    /// The task's command name, if the record has it.
    pub comm: Option<String>,
    /// The executable's path, if the record has it.
    pub exe: Option<String>,
    /// The signal the action sends (31, SIGSYS, for a kill), 0 for none; `None` if the
    /// record has no number (`ausearch -i` prints `sig=SIGSYS`).
    pub sig: Option<i32>,
    /// The `AUDIT_ARCH_*` token of the call.
    pub arch_token: u32,
    /// The syscall number as the filter saw it (x32 calls carry the x32 bit).
    pub syscall: i64,
    /// Whether the call came from a compat (32-bit) task.
    pub compat: bool,
    /// The instruction pointer of the call (0 if the record has none).
    pub ip: u64,
    /// The filter's return value; `None` if the record has no hex value (`ausearch -i`
    /// prints `code=kill`).
    pub code: Option<u32>,
}

impl SeccompRecord {
    /// Parse a complete seccomp record as the kernel writes it (the text after
    /// `type=1326`, with or without its `audit(...)` stamp, or a whole line that contains
    /// it). `None` if a field the kernel always writes (`pid`, `arch`, `syscall`, `code`)
    /// is missing or malformed.
    ///
    /// ```
    /// use sysgate::kernel::SeccompRecord;
    ///
    /// assert!(SeccompRecord::parse("audit(1.2:3): pid=1 arch=c000003e syscall=1").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<SeccompRecord> {
        SeccompRecord::from_fields(after_stamp(text).unwrap_or(text))
            .ok()
            .filter(|r| r.pid.is_some() && r.code.is_some())
    }

    /// Parse one line of a log: `None` if it is not a seccomp record (`type=SECCOMP` or
    /// `type=1326`), else the record, which needs only `arch` and `syscall`, or why it
    /// cannot be read.
    ///
    /// ```
    /// use sysgate::kernel::SeccompRecord;
    /// use sysgate::Arch;
    ///
    /// let line = "type=SECCOMP msg=audit(01/01/2024 10:00:00.123:456) : pid=77 comm=dd \
    ///             sig=SIGSYS arch=x86_64 syscall=openat compat=0 ip=0x7f code=kill";
    /// let r = SeccompRecord::from_line(line).unwrap()?;
    /// assert_eq!((r.arch(), r.name(), r.sig, r.code), (Some(Arch::X86_64), Some("openat"), None, None));
    /// assert!(SeccompRecord::from_line("type=SYSCALL msg=audit(1.2:3): syscall=1").is_none());
    /// assert!(SeccompRecord::from_line("type=1326 audit(1.2:3): syscall=1").unwrap().is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_line(line: &str) -> Option<Result<SeccompRecord, String>> {
        // The record's own type is the line's first `type=`: a later one is inside a
        // value, such as the `comm` any process chooses for itself in its SYSCALL records,
        // and reading it would add a syscall no filter refused.
        let rest = &line[line.find("type=")? + "type=".len()..];
        let tag_end = rest.find(is_separator).unwrap_or(rest.len());
        if !matches!(&rest[..tag_end], "SECCOMP" | "1326") {
            return None;
        }
        Some(after_stamp(&rest[tag_end..]).and_then(SeccompRecord::from_fields))
    }

    /// The fields after the stamp: `key=value` pairs, of which `arch` (a hex token or, as
    /// `ausearch -i` prints it, a name) and `syscall` (a number or a name) are required.
    fn from_fields(body: &str) -> Result<SeccompRecord, String> {
        let fields = split_fields(body)?;
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str())
        };
        let arch_text = get("arch").ok_or("no arch= field")?;
        let arch_token = match u32::from_str_radix(arch_text, 16) {
            Ok(token) => token,
            Err(_) => Arch::parse(arch_text)
                .map_err(|_| format!("arch={arch_text} is neither a hex token nor an arch name"))?
                .audit_arch(),
        };
        let syscall_text = get("syscall").ok_or("no syscall= field")?;
        let syscall = match syscall_text.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                // `ausearch -i` prints the name.
                let arch = Arch::from_audit_arch(arch_token)
                    .ok_or_else(|| format!("syscall={syscall_text} on an unknown arch"))?;
                arch.syscall_number(syscall_text)
                    .ok_or_else(|| format!("syscall={syscall_text} is not a syscall on {arch}"))?
                    .into()
            }
        };
        Ok(SeccompRecord {
            pid: get("pid").and_then(|v| v.parse().ok()),
            comm: get("comm").and_then(untrusted_string),
            exe: get("exe").and_then(untrusted_string),
            sig: get("sig").and_then(|v| v.parse().ok()),
            arch_token,
            syscall,
            compat: get("compat") == Some("1"),
            ip: get("ip").and_then(hex).unwrap_or(0),
            code: get("code")
                .and_then(hex)
                .and_then(|c| u32::try_from(c).ok()),
        })
    }

    /// The ABI of the call: x32 for an x86_64 token with the x32 bit in the number
    /// ([`abi_of`]).
    pub fn arch(&self) -> Option<Arch> {
        match self.number() {
            Some(nr) => abi_of(self.arch_token, nr),
            None => Arch::from_audit_arch(self.arch_token),
        }
    }

    /// The syscall number as `seccomp_data.nr` carried it, if it fits.
    pub fn number(&self) -> Option<u32> {
        u32::try_from(self.syscall).ok()
    }

    /// The syscall's name on the call's ABI, if sysgate's tables know it.
    pub fn name(&self) -> Option<&'static str> {
        self.arch()?.syscall_name(self.number()?)
    }

    /// The filter's action, if the record has a return value the kernel defines.
    pub fn action(&self) -> Option<Action> {
        Action::from_ret(self.code?)
    }

    /// Whether the action killed the task (KILL_PROCESS or KILL_THREAD).
    pub fn is_kill(&self) -> bool {
        matches!(
            self.action(),
            Some(Action::KillProcess | Action::KillThread)
        )
    }
}

/// The text after a record's `audit(time:serial)` stamp and its colon.
fn after_stamp(text: &str) -> Result<&str, String> {
    let stamp = text.find("audit(").ok_or("no audit(...) stamp")?;
    let close = text[stamp..]
        .find(')')
        .ok_or("unterminated audit(...) stamp")?;
    Ok(text[stamp + close + 1..].trim_start_matches([' ', ':']))
}

/// `key=value` pairs; a value is a quoted string (kept with its quotes) or runs to the
/// next separator.
fn split_fields(body: &str) -> Result<Vec<(&str, String)>, String> {
    let mut out = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            break;
        };
        let key = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| format!("unterminated quoted value for {key}"))?;
            (format!("\"{}\"", &q[..end]), &q[end + 1..])
        } else {
            let end = after.find(is_separator).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        // Keys never contain spaces; a stray word before one is skipped.
        let key = key.rsplit(is_separator).next().unwrap_or(key);
        out.push((key, value));
        rest = next.trim_start_matches(is_separator);
    }
    Ok(out)
}

/// Spaces, and the group separator (0x1d) auditd puts before its enriched fields.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '\x1d'
}

/// A `0x`-prefixed hex number, as the kernel writes `ip` and `code` (`%#lx`, `0x%x`); a
/// bare word is not read as hex (`ausearch -i` writes `code=kill`).
fn hex(value: &str) -> Option<u64> {
    let digits = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

/// An audit string value (`comm`, `exe`): `"quoted"` as is; unquoted, hex-encoded by the
/// kernel's `audit_log_untrustedstring` when it holds spaces, controls, quotes or non-ASCII
/// bytes, so it is decoded only when the bytes hold one of those (`4142` stays `4142`: the
/// kernel would have written `"AB"`, and `ausearch -i` prints names unquoted); `None` for
/// `(null)` or nothing.
fn untrusted_string(v: &str) -> Option<String> {
    if let Some(q) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Some(q.to_string());
    }
    if v == "(null)" || v.is_empty() {
        return None;
    }
    if v.len() % 2 == 0 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        let bytes: Option<Vec<u8>> = (0..v.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&v[i..i + 2], 16).ok())
            .collect();
        let special = |b: &u8| *b <= 0x20 || *b >= 0x7f || *b == b'"';
        if let Some(bytes) = bytes.filter(|b| b.iter().any(special)) {
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Some(v.to_string())
}

/// Where an [`AuditReader`] gets its records.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuditSource {
    /// The audit netlink socket's read-only multicast group.
    Netlink,
    /// The kernel log, `/dev/kmsg`.
    Kmsg,
}

impl fmt::Display for AuditSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuditSource::Netlink => "the audit netlink socket",
            AuditSource::Kmsg => "/dev/kmsg",
        })
    }
}

/// Why no audit source could be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read seccomp audit records: the audit netlink socket: {netlink} (needs \
     CAP_AUDIT_READ); /dev/kmsg: {kmsg} (needs CAP_SYSLOG when kernel.dmesg_restrict=1)"
)]
pub struct AuditUnavailable {
    /// Why the netlink socket failed.
    pub netlink: io::Error,
    /// Why `/dev/kmsg` failed.
    pub kmsg: io::Error,
}

enum Handle {
    Netlink(OwnedFd),
    Kmsg(File),
}

/// A subscription to seccomp audit records from now on (see the module docs).
///
/// Open it before the events you want to see: records emitted earlier are not returned.
///
/// ```no_run
/// use std::time::Duration;
/// use sysgate::kernel::AuditReader;
///
/// let mut reader = AuditReader::open()?;
/// // ... run a child that a filter kills ...
/// for record in reader.read(Duration::from_millis(200))? {
///     println!("pid {:?} syscall {} on {:?}", record.pid, record.syscall, record.arch());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AuditReader {
    handle: Handle,
    buf: Vec<u8>,
}

impl fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditReader")
            .field("source", &self.source())
            .finish_non_exhaustive()
    }
}

impl AuditReader {
    /// The audit netlink socket if this process may read it, else `/dev/kmsg`.
    pub fn open() -> Result<AuditReader, AuditUnavailable> {
        let netlink = match AuditReader::open_netlink() {
            Ok(r) => return Ok(r),
            Err(e) => e,
        };
        AuditReader::open_kmsg().map_err(|kmsg| AuditUnavailable { netlink, kmsg })
    }

    /// Subscribe to the audit netlink socket's read-only multicast group.
    pub fn open_netlink() -> io::Result<AuditReader> {
        let fd = sys::audit_readlog_socket(4 << 20)?;
        Ok(AuditReader {
            handle: Handle::Netlink(fd),
            buf: vec![0; 64 * 1024],
        })
    }

    /// Read `/dev/kmsg` from its current end.
    pub fn open_kmsg() -> io::Result<AuditReader> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")?;
        file.seek(SeekFrom::End(0))?;
        Ok(AuditReader {
            handle: Handle::Kmsg(file),
            buf: vec![0; 16 * 1024],
        })
    }

    /// Where the records come from.
    pub fn source(&self) -> AuditSource {
        match self.handle {
            Handle::Netlink(_) => AuditSource::Netlink,
            Handle::Kmsg(_) => AuditSource::Kmsg,
        }
    }

    /// Wait up to `timeout` for records to arrive, then return every seccomp record that
    /// is waiting (possibly none).
    pub fn read(&mut self, timeout: Duration) -> io::Result<Vec<SeccompRecord>> {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let ready = match &self.handle {
            Handle::Netlink(fd) => sys::poll_in(fd.as_fd(), ms)?,
            Handle::Kmsg(f) => sys::poll_in(f.as_fd(), ms)?,
        };
        let mut out = Vec::new();
        if ready != 0 {
            self.drain(&mut out)?;
        }
        Ok(out)
    }

    /// Wait until a record for which `wanted` is true arrives, for at most `timeout`; the
    /// records read meanwhile are returned too, in order.
    pub fn read_until(
        &mut self,
        timeout: Duration,
        mut wanted: impl FnMut(&SeccompRecord) -> bool,
    ) -> io::Result<Vec<SeccompRecord>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = self.read(left)?;
            let found = got.iter().any(&mut wanted);
            out.extend(got);
            if found || left.is_zero() {
                return Ok(out);
            }
        }
    }

    /// Everything readable now, without blocking.
    fn drain(&mut self, out: &mut Vec<SeccompRecord>) -> io::Result<()> {
        loop {
            match &mut self.handle {
                Handle::Netlink(fd) => match sys::recv_nonblocking(fd.as_fd(), &mut self.buf) {
                    Ok(n) => netlink_records(&self.buf[..n], out),
                    Err(Errno(libc::EAGAIN)) => return Ok(()),
                    // The socket buffer overflowed and records were lost; go on with the
                    // ones that follow.
                    Err(Errno(libc::ENOBUFS | libc::EINTR)) => continue,
                    Err(e) => return Err(e.into()),
                },
                Handle::Kmsg(file) => match file.read(&mut self.buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => out.extend(kmsg_record(&self.buf[..n])),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    // EPIPE: records were overwritten before we read them; the next read
                    // continues with the oldest one left.
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                },
            }
        }
    }
}

/// The seccomp records in one netlink datagram (`struct nlmsghdr` + text, repeated).
fn netlink_records(mut bytes: &[u8], out: &mut Vec<SeccompRecord>) {
    const HDR: usize = 16;
    while bytes.len() >= HDR {
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let kind = u16::from_ne_bytes([bytes[4], bytes[5]]);
        if len < HDR || len > bytes.len() {
            return;
        }
        if kind == AUDIT_SECCOMP {
            let text = String::from_utf8_lossy(&bytes[HDR..len]);
            out.extend(SeccompRecord::parse(text.trim_end_matches('\0')));
        }
        // NLMSG_ALIGN: messages are padded to 4 bytes.
        let next = (len + 3) & !3;
        bytes = bytes.get(next..).unwrap_or_default();
    }
}

/// The seccomp record in one `/dev/kmsg` line (`prio,seq,ts,flags;audit: type=1326 ...`).
fn kmsg_record(bytes: &[u8]) -> Option<SeccompRecord> {
    let line = String::from_utf8_lossy(bytes);
    let message = line.split_once(';').map_or(&*line, |(_, m)| m);
    let message = message.lines().next()?;
    message.contains("type=1326 ").then_some(())?;
    SeccompRecord::parse(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command named with hex digits only (`4142`) is a plain word: the kernel
    /// hex-encodes only strings with spaces, controls, quotes or non-ASCII bytes (it would
    /// have written `"AB"` for AB).
    #[test]
    fn regression_a_hex_looking_comm_is_not_decoded() {
        let line = "audit(1.2:3): pid=7 comm=4142 exe=2F746D702F6D792070726F67 sig=31 \
                    arch=c000003e syscall=63 compat=0 ip=0x1 code=0x80000000";
        let r = SeccompRecord::parse(line).unwrap();
        assert_eq!(r.comm.as_deref(), Some("4142"));
        assert_eq!(r.exe.as_deref(), Some("/tmp/my prog"));
        let r = SeccompRecord::parse(&line.replace("comm=4142", "comm=(null)")).unwrap();
        assert_eq!(r.comm, None);
    }

    /// The live reader split fields on white space and read `code` as hex with or without
    /// `0x`; the log reader split quoted values whole and wanted the `0x`. One parser now:
    /// quoted values are whole (`comm="a b"` is `a b`, not `"a`), and `code` needs its
    /// `0x`, as the kernel writes it (`0x%x`): a bare word is `ausearch -i`'s `code=kill`
    /// or a number of unknown base, not a return value.
    #[test]
    fn regression_quoted_values_are_whole_and_code_needs_its_0x() {
        let r = SeccompRecord::parse(
            "audit(1.2:3): pid=1 comm=\"a b\" arch=c000003e syscall=1 code=0x80000000",
        )
        .unwrap();
        assert_eq!(r.comm.as_deref(), Some("a b"));
        assert!(SeccompRecord::parse("pid=1 arch=c000003e syscall=1 code=80000000").is_none());
        let r =
            SeccompRecord::from_line("type=1326 audit(1.2:3): arch=c000003e syscall=1 code=kill")
                .unwrap()
                .unwrap();
        assert_eq!((r.code, r.action()), (None, None));
    }

    const KMSG: &str = "5,1234,2660398602,-;audit: type=1326 audit(1795841465.734:50): \
        auid=4294967295 uid=0 gid=0 ses=4294967295 pid=12688 comm=\"k\" exe=\"/tmp/exp/k\" \
        sig=31 arch=c000003e syscall=63 compat=0 ip=0x7fa9d7addb07 code=0x80000000\n";

    #[test]
    fn a_kmsg_line_parses() {
        let r = kmsg_record(KMSG.as_bytes()).unwrap();
        assert_eq!(r.pid, Some(12688));
        assert_eq!(r.exe.as_deref(), Some("/tmp/exp/k"));
        assert_eq!(r.arch(), Some(Arch::X86_64));
        assert_eq!(r.number(), Some(63));
        assert!(r.is_kill());
        assert_eq!(r.ip, 0x7fa9_d7ad_db07);
        assert!(
            kmsg_record(b"6,1,2,-;audit: type=1300 audit(1.1:1): arch=c000003e syscall=1")
                .is_none()
        );
        assert!(kmsg_record(b"6,1,2,-;eth0: link up").is_none());
    }

    #[test]
    fn x32_and_compat_calls_name_their_abi() {
        let x32 =
            SeccompRecord::parse("pid=1 arch=c000003e syscall=1073741863 compat=0 code=0x0 sig=31")
                .unwrap();
        assert_eq!(x32.arch(), Some(Arch::X32));
        assert_eq!(x32.action(), Some(Action::KillThread));
        let i386 = SeccompRecord::parse("pid=1 arch=40000003 syscall=122 compat=1 code=0x80000000")
            .unwrap();
        assert_eq!(i386.arch(), Some(Arch::X86));
        assert!(i386.compat);
        let unknown = SeccompRecord::parse("pid=1 arch=1234 syscall=1 code=0x7ffc0000").unwrap();
        assert_eq!(unknown.arch(), None);
        assert_eq!(unknown.action(), Some(Action::Log));
        assert!(!unknown.is_kill());
    }

    #[test]
    fn hex_encoded_strings_decode() {
        // comm "a b" is hex-encoded by the kernel because of the space.
        let r = SeccompRecord::parse("pid=1 comm=612062 arch=c000003e syscall=1 code=0x0").unwrap();
        assert_eq!(r.comm.as_deref(), Some("a b"));
    }

    #[test]
    fn malformed_records_are_refused_not_guessed() {
        for text in [
            "",
            "pid=x arch=c000003e syscall=1 code=0x0",
            "pid=1 arch=zz syscall=1 code=0x0",
            "pid=1 arch=c000003e syscall=1 code=0x1ffffffff",
            "pid=1 arch=c000003e code=0x0",
        ] {
            assert!(SeccompRecord::parse(text).is_none(), "{text}");
        }
    }

    #[test]
    fn netlink_datagrams_may_hold_several_messages() {
        let mut bytes = Vec::new();
        for (kind, text) in [
            (
                AUDIT_SECCOMP,
                "audit(1.1:1): pid=7 arch=c000003e syscall=63 code=0x80000000",
            ),
            (1300, "audit(1.1:2): arch=c000003e syscall=1"),
            (
                AUDIT_SECCOMP,
                "audit(1.1:3): pid=8 arch=c000003e syscall=1 code=0x7ffc0000",
            ),
        ] {
            let len = 16 + text.len();
            bytes.extend((len as u32).to_ne_bytes());
            bytes.extend(kind.to_ne_bytes());
            bytes.extend([0u8; 10]);
            bytes.extend(text.as_bytes());
            bytes.resize((bytes.len() + 3) & !3, 0);
        }
        let mut out = Vec::new();
        netlink_records(&bytes, &mut out);
        assert_eq!(
            out.iter().map(|r| r.pid).collect::<Vec<_>>(),
            [Some(7), Some(8)]
        );
        // A truncated datagram yields what is complete and stops.
        let mut out = Vec::new();
        netlink_records(&bytes[..20], &mut out);
        assert!(out.is_empty());
    }
}
