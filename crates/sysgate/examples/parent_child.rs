//! A parent runs a child under a seccomp filter and explains how it died.
//!
//! The parent builds a tiny filter that kills the process on `uname(2)`, runs
//! `/bin/sh -c 'echo hello; exec uname'` under it with [`CommandExt`] (the filter is
//! installed in the child between `fork` and `exec`; the parent stays unfiltered), and
//! reports the result: SIGSYS (status 159 in shell terms) and, when it can read the
//! kernel log, the seccomp audit record that proves it was the filter.
//!
//! ```text
//! cargo run -p sysgate --example parent_child
//! ```

use std::error::Error;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode};

use sysgate::bpf::{data, op, Insn};
use sysgate::kernel::{CommandExt, InstallOptions, PreparedFilters};
use sysgate::policy::Action;
use sysgate::Arch;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("parent_child: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn Error>> {
    let arch = Arch::native();
    let uname = arch
        .syscall_number("uname")
        .ok_or("this architecture has no uname")?;

    // Hand-written BPF for now; once the compiler is merged this is the compiled form of a
    // one-rule policy (KILL_PROCESS uname, default ALLOW) from `sysgate::compile`, which
    // also handles x32 calls on x86_64 (this sketch does not).
    //
    //   ld [arch]; jeq #NATIVE, +1, +0; ret KILL_PROCESS
    //   ld [nr];   jeq #uname, +0, +1;  ret KILL_PROCESS
    //   ret ALLOW
    let filter = [
        Insn::load(data::ARCH),
        Insn::jump(op::JEQ, arch.audit_arch(), 1, 0),
        Insn::ret(Action::KillProcess.to_ret()),
        Insn::load(data::NR),
        Insn::jump(op::JEQ, uname, 0, 1),
        Insn::ret(Action::KillProcess.to_ret()),
        Insn::ret(Action::Allow.to_ret()),
    ];
    let filters = PreparedFilters::new(&[&filter[..]], &InstallOptions::new())?;

    let script = "echo hello; exec uname";
    println!("parent: running /bin/sh -c '{script}' with uname(2) -> KILL_PROCESS");
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .seccomp_filters(filters)
        .spawn()?;
    let pid = child.id();
    let status = child.wait()?;

    match status.signal() {
        Some(libc::SIGSYS) => {
            println!(
                "parent: child {pid} was killed by signal {} (SIGSYS){}; a shell would report \
                 status {}",
                libc::SIGSYS,
                if status.core_dumped() {
                    ", core dumped"
                } else {
                    ""
                },
                128 + libc::SIGSYS
            );
            match seccomp_record(pid) {
                Ok(Some(record)) => println!("parent: kernel log confirms it: {record}"),
                Ok(None) => println!(
                    "parent: SIGSYS is the signal seccomp kills with; no audit record found \
                     to confirm it (actions_logged may exclude kill_process)"
                ),
                Err(e) => println!(
                    "parent: SIGSYS is the signal seccomp kills with; cannot read the kernel \
                     log to confirm it ({e})"
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            println!("parent: child {pid} ended with {status}: the filter did not kill it");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The kernel's seccomp audit record (type 1326) for `pid`, explained, from `/dev/kmsg`.
fn seccomp_record(pid: u32) -> Result<Option<String>, Box<dyn Error>> {
    let mut kmsg = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")?;
    let needle = format!(" pid={pid} ");
    let mut found = None;
    let mut buf = vec![0u8; 8192];
    loop {
        // One read returns one record; EAGAIN once they are all read.
        match kmsg.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let line = String::from_utf8_lossy(&buf[..n]);
                if line.contains("type=1326") && line.contains(&needle) {
                    found = Some(line.into_owned());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            // Records were overwritten while reading: go on with the next one.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found.map(|line| explain(&line)))
}

/// `syscall=63 arch=c000003e code=0x80000000` -> "KILL_PROCESS on uname (63) for x86_64".
fn explain(record: &str) -> String {
    let field = |key: &str| {
        record
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .map(str::to_string)
    };
    let hex = |s: Option<String>| {
        s.and_then(|v| u32::from_str_radix(v.trim_start_matches("0x"), 16).ok())
    };
    let arch = hex(field("arch=")).and_then(Arch::from_audit_arch);
    let nr = field("syscall=").and_then(|v| v.parse::<u32>().ok());
    let action = hex(field("code=")).and_then(Action::from_ret);
    match (action, arch, nr) {
        (Some(action), Some(arch), Some(nr)) => format!(
            "seccomp {action} on {} ({nr}) for {arch}",
            arch.syscall_name(nr).unwrap_or("an unknown syscall")
        ),
        _ => record.trim().to_string(),
    }
}
