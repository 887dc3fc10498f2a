//! A parent runs a child under a seccomp filter and explains how it died.
//!
//! The parent builds a one-rule filter (KILL_PROCESS on `uname(2)`, default ALLOW) with
//! [`Filter`], which probes the kernel, fits the filter to it and compiles it (every
//! architecture check included: x32 calls on x86_64 get the bad-arch action). It runs
//! `/bin/sh -c 'echo hello; exec uname'` under it with [`CommandExt`] (the filter is
//! installed in the child between `fork` and `exec`, with the filter's own install options;
//! the parent stays unfiltered), and reports the result: SIGSYS (status 159 in shell terms)
//! and, when it can read them, the kernel's seccomp audit record that proves it was the
//! filter ([`AuditReader`]).
//!
//! ```text
//! cargo run -p sysgate --example parent_child
//! ```

use std::error::Error;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode};
use std::time::Duration;

use sysgate::kernel::{AuditReader, CommandExt};
use sysgate::{Action, Filter};

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
    let fitted = Filter::new(Action::Allow)
        .rule(Action::KillProcess, "uname")
        .fit()?;
    if !fitted.status.is_exact() {
        print!("parent: on this kernel the filter is {}", fitted.status);
    }
    // Opened before the child starts, so that its record cannot be missed.
    let audit = AuditReader::open();

    let script = "echo hello; exec uname";
    println!("parent: running /bin/sh -c '{script}' with uname(2) -> KILL_PROCESS");
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .seccomp_filters(fitted.compiled.prepare()?)
        .spawn()?;
    let pid = i32::try_from(child.id())?;
    let status = child.wait()?;

    if status.signal() != Some(libc::SIGSYS) {
        println!("parent: child {pid} ended with {status}: the filter did not kill it");
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "parent: child {pid} was killed by signal {} (SIGSYS){}; a shell would report status {}",
        libc::SIGSYS,
        if status.core_dumped() {
            ", core dumped"
        } else {
            ""
        },
        128 + libc::SIGSYS
    );
    let records = audit.map_err(|e| e.to_string()).and_then(|mut reader| {
        reader
            .read_until(Duration::from_secs(1), |r| {
                r.pid == Some(pid) && r.is_kill()
            })
            .map_err(|e| e.to_string())
    });
    match records
        .as_deref()
        .map(|r| r.iter().find(|r| r.pid == Some(pid)))
    {
        Ok(Some(r)) => match (r.action(), r.arch(), r.number()) {
            (Some(action), Some(arch), Some(nr)) => println!(
                "parent: the kernel's audit record confirms it: seccomp {action} on {} ({nr}) \
                 for {arch}",
                arch.syscall_name(nr).unwrap_or("an unknown syscall")
            ),
            _ => println!("parent: the kernel's audit record: {r:?}"),
        },
        Ok(None) => println!(
            "parent: SIGSYS is the signal seccomp kills with; no audit record arrived to \
             confirm it (actions_logged may exclude kill_process)"
        ),
        Err(e) => println!(
            "parent: SIGSYS is the signal seccomp kills with; cannot read the audit records to \
             confirm it ({e})"
        ),
    }
    Ok(ExitCode::SUCCESS)
}
