//! Reading the kernel's seccomp audit records (`type=SECCOMP`, number 1326).
//!
//! The kernel writes one record when a filter returns KILL, TRAP, ERRNO, TRACE, USER_NOTIF
//! or LOG for a call, as allowed by `/proc/sys/kernel/seccomp/actions_logged` (and, for
//! ERRNO and friends, only with the LOG filter flag or auditd's syscall auditing). The
//! same record appears in three places with different prefixes, all read here:
//!
//! ```text
//! audit.log:  type=SECCOMP msg=audit(1700000000.123:42): auid=1000 uid=1000 gid=1000 ses=2 subj=unconfined pid=4242 comm="curl" exe="/usr/bin/curl" sig=31 arch=c000003e syscall=41 compat=0 ip=0x7f... code=0x80000000
//! dmesg:      [ 12.345] audit: type=1326 audit(1700000000.123:42): auid=... pid=4242 comm="curl" exe="/usr/bin/curl" sig=31 arch=c000003e syscall=41 compat=0 ip=0x7f... code=0x80000000
//! journalctl: Jan 01 00:00:00 host kernel: audit: type=1326 audit(1700000000.123:42): ...
//! ```
//!
//! `ausearch -i` output (`arch=x86_64 syscall=socket`) is read as well. `arch` is the
//! audit token of the caller's ABI, so `syscall` is decoded for that ABI: an i386 call on
//! an x86_64 kernel has `arch=40000003`; an x32 call has `arch=c000003e` and a number with
//! the x32 bit (1073741824 + n). `comm` and `exe` are quoted, or hex-encoded when they hold
//! spaces or other special characters; both are decoded.
//!
//! The record syntax is [`SeccompRecord`]'s (one parser for live records and logs); this
//! file reads logs line by line. It does not decide what a profile should contain
//! (see [`super::synthesize`]).

use std::io::BufRead;

use super::observe::Observations;
use crate::arch::Arch;
use crate::kernel::SeccompRecord;
use crate::policy::Action;

/// One seccomp audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// The 1-based line it was read from.
    pub line: usize,
    /// The caller's process id.
    pub pid: Option<u32>,
    /// The caller's command name.
    pub comm: Option<String>,
    /// The caller's executable.
    pub exe: Option<String>,
    /// The audit arch token of the call.
    pub audit_arch: u32,
    /// The ABI of the call, if sysgate knows the token.
    pub arch: Option<Arch>,
    /// The syscall number as the filter saw it (with the x32 bit on x32).
    pub nr: u32,
    /// Its name on that ABI, if known.
    pub name: Option<&'static str>,
    /// The filter's action (`code`), if it is one the kernel defines.
    pub action: Option<Action>,
    /// The signal that accompanied it (`sig`, 31 = SIGSYS for KILL and TRAP).
    pub sig: Option<u32>,
}

impl AuditRecord {
    /// The executable, else the command name, else `?`.
    pub fn who(&self) -> &str {
        self.exe.as_deref().or(self.comm.as_deref()).unwrap_or("?")
    }
}

/// Every seccomp record of a log, and the lines that looked like one but could not be
/// read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditLog {
    /// The records, in file order.
    pub records: Vec<AuditRecord>,
    /// `(line, why)` for each seccomp line that could not be read (1-based lines).
    pub problems: Vec<(usize, String)>,
    /// How many lines were read, seccomp records or not.
    pub lines: usize,
}

impl AuditLog {
    /// The records as observations (one call each, by executable), for
    /// [`super::synthesize`].
    pub fn observations(&self) -> Observations {
        let mut seen = Observations::default();
        for r in &self.records {
            match r.arch {
                Some(arch) => seen.record(arch, r.nr, r.who(), 1),
                None => seen.record_unknown_arch(r.audit_arch, r.nr, 1),
            }
        }
        seen
    }
}

/// Read every seccomp record from `input`; other lines are skipped. Only a read error
/// fails; lines that are not valid UTF-8 are read lossily.
///
/// ```
/// use sysgate::learn::read_audit_log;
///
/// let log = "[  12.3] audit: type=1326 audit(1700000000.123:42): auid=4294967295 uid=0 \
///     gid=0 ses=4294967295 pid=7 comm=\"k\" exe=\"/tmp/k\" sig=31 arch=c000003e \
///     syscall=63 compat=0 ip=0x7f02b4506b07 code=0x80000000\n\
///     some other line\n";
/// let log = read_audit_log(log.as_bytes())?;
/// assert_eq!(log.records.len(), 1);
/// assert_eq!(log.records[0].name, Some("uname"));
/// assert_eq!(log.records[0].exe.as_deref(), Some("/tmp/k"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_audit_log(mut input: impl BufRead) -> std::io::Result<AuditLog> {
    let mut log = AuditLog::default();
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        log.lines = line_no;
        let line = String::from_utf8_lossy(&buf);
        match parse_audit_line(&line, line_no) {
            None => {}
            Some(Ok(r)) => log.records.push(r),
            Some(Err(why)) => log.problems.push((line_no, why)),
        }
    }
    Ok(log)
}

/// Parse one line: `None` if it is not a seccomp record, else the record or why it cannot
/// be read. The syntax is [`SeccompRecord::from_line`]'s.
pub fn parse_audit_line(line: &str, line_no: usize) -> Option<Result<AuditRecord, String>> {
    Some(SeccompRecord::from_line(line)?.and_then(|r| AuditRecord::new(line_no, r)))
}

impl AuditRecord {
    /// The record of line `line_no`, with its number checked.
    fn new(line_no: usize, r: SeccompRecord) -> Result<AuditRecord, String> {
        let nr = r
            .number()
            .ok_or_else(|| format!("syscall={} is not a syscall number", r.syscall))?;
        Ok(AuditRecord {
            line: line_no,
            pid: r.pid.and_then(|p| u32::try_from(p).ok()),
            audit_arch: r.arch_token,
            arch: r.arch(),
            nr,
            name: r.name(),
            action: r.action(),
            sig: r.sig.and_then(|s| u32::try_from(s).ok()),
            comm: r.comm,
            exe: r.exe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first two are real dmesg records from a Linux 6.18 x86_64 machine: a KILL of
    /// uname, and a KILL of getpid made through `int 0x80` by a 64-bit process (i386 ABI).
    /// The audit.log (with auditd's enriched fields), journalctl and `ausearch -i` lines
    /// follow those formats' documented shapes.
    const SAMPLES: &str = "\
[ 2729.818347] audit: type=1326 audit(1795841535.154:62): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=14603 comm=\"k\" exe=\"/tmp/exp/k\" sig=31 arch=c000003e syscall=63 compat=0 ip=0x7f02b4506b07 code=0x80000000
[ 4446.060370] audit: type=1326 audit(1795843251.394:137): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=22296 comm=\"lh\" exe=\"/tmp/lh\" sig=31 arch=40000003 syscall=20 compat=1 ip=0x558d68ce0e74 code=0x80000000
type=SECCOMP msg=audit(1700000000.123:42): auid=1000 uid=1000 gid=1000 ses=2 subj=unconfined pid=4242 comm=\"curl\" exe=\"/usr/bin/curl\" sig=0 arch=c000003e syscall=41 compat=0 ip=0x7f4c8a1d2b3b code=0x7ffc0000\x1dAUID=\"alice\" UID=\"alice\" GID=\"alice\" ARCH=x86_64 SYSCALL=socket
Jan 01 00:00:00 host kernel: audit: type=1326 audit(1700000001.000:43): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=9 comm=\"sh\" exe=2F746D702F6D7920736865 sig=31 arch=40000003 syscall=102 compat=1 ip=0xf7f1 code=0x0
type=SECCOMP msg=audit(01/01/2024 10:00:00.123:456) : auid=unset uid=root gid=root ses=unset pid=77 comm=dd exe=/usr/bin/dd sig=SIGSYS arch=x86_64 syscall=openat compat=0 ip=0x7f code=kill
kauditd_printk_skb: 4 callbacks suppressed
type=SYSCALL msg=audit(1700000000.123:41): arch=c000003e syscall=59 success=yes
";

    #[test]
    fn every_form_decodes_for_its_arch() {
        let log = read_audit_log(SAMPLES.as_bytes()).unwrap();
        assert!(log.problems.is_empty(), "{:?}", log.problems);
        let got: Vec<(Option<Arch>, Option<&str>, &str)> = log
            .records
            .iter()
            .map(|r| (r.arch, r.name, r.who()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(Arch::X86_64), Some("uname"), "/tmp/exp/k"),
                (Some(Arch::X86), Some("getpid"), "/tmp/lh"),
                (Some(Arch::X86_64), Some("socket"), "/usr/bin/curl"),
                (Some(Arch::X86), Some("socketcall"), "/tmp/my she"),
                (Some(Arch::X86_64), Some("openat"), "/usr/bin/dd"),
            ]
        );
        assert_eq!(log.records[0].action, Some(Action::KillProcess));
        assert_eq!(log.records[2].action, Some(Action::Log));
        assert_eq!(log.records[3].action, Some(Action::KillThread));
        assert_eq!(log.records[1].line, 2);
        assert_eq!(log.records[1].sig, Some(31));
    }

    #[test]
    fn x32_numbers_carry_the_x32_bit_on_the_x86_64_token() {
        let line = "type=SECCOMP msg=audit(1.2:3): pid=1 comm=\"a\" exe=\"/a\" sig=31 \
                    arch=c000003e syscall=1073741825 compat=0 ip=0x1 code=0x80000000";
        let r = parse_audit_line(line, 1).unwrap().unwrap();
        assert_eq!(r.arch, Some(Arch::X32));
        assert_eq!(r.name, Some("write"));
    }

    #[test]
    fn broken_records_are_reported_not_panicked_on() {
        for line in [
            "type=SECCOMP msg=audit(1.2:3): pid=1 arch=zz syscall=1",
            "type=SECCOMP msg=audit(1.2:3): pid=1 syscall=1",
            "type=SECCOMP msg=audit(1.2:3): arch=c000003e",
            "type=SECCOMP msg=audit(1.2:3): arch=c000003e syscall=nosuchcall",
            "type=SECCOMP msg=audit(1.2:3): comm=\"unterminated arch=c000003e syscall=1",
            "type=SECCOMP msg=audit(1.2:3",
            "type=1326 no stamp",
            "type=SECCOMP msg=audit(): =",
        ] {
            assert!(matches!(parse_audit_line(line, 1), Some(Err(_))), "{line}");
        }
        // An unknown token is a record, just not one sysgate can name.
        let r = parse_audit_line("type=1326 audit(1:2): arch=1234 syscall=5", 1)
            .unwrap()
            .unwrap();
        assert_eq!((r.arch, r.name), (None, None));
    }

    #[test]
    fn a_seccomp_tag_inside_another_records_value_is_not_a_record() {
        // Any process names itself (PR_SET_NAME); its audited SYSCALL records carry that
        // name, so a comm of "type=1326" must not turn them into seccomp records that a
        // learned profile would allow.
        for line in [
            "type=SYSCALL msg=audit(1700000000.1:5): arch=c000003e syscall=101 success=yes \
             exit=0 comm=\"type=1326\" exe=\"/tmp/x\"",
            "type=SYSCALL msg=audit(1700000000.1:5): arch=c000003e syscall=101 \
             comm=\"type=SECCOMP\"",
            "[ 1.0] audit: type=1300 audit(1.2:3): arch=c000003e syscall=101 comm=\"type=1326\"",
        ] {
            assert_eq!(parse_audit_line(line, 1), None, "{line}");
        }
    }

    #[test]
    fn observations_count_per_executable() {
        let log = read_audit_log(SAMPLES.as_bytes()).unwrap();
        let seen = log.observations();
        assert_eq!(seen.exes().len(), 5);
        assert_eq!(seen.totals()[&(Arch::X86, 20)], 1);
    }
}
