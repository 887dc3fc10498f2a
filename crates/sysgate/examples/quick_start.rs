//! The canonical program: default KILL, allow read, write (to stdout only) and exit_group,
//! load the filter into a child and execute a program there. `echo` needs more calls than
//! that (its loader maps memory first), so the kernel kills it with SIGSYS at its first call
//! outside the list, and the parent, which stays unfiltered, reports it.
//!
//! ```text
//! cargo run -p sysgate --example quick_start
//! ```

use std::os::unix::process::ExitStatusExt;

use sysgate::policy::{ArgCond, CmpOp};
use sysgate::{Action, Filter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut spawned = Filter::new(Action::KillProcess)
        .allow("read")
        .allow_if("write", [ArgCond::new(0, CmpOp::Eq, 1)?]) // fd 1 only
        .allow("exit_group")
        .allow("execve") // the child executes the program under the filter
        .spawn("echo", ["hello"])?;
    let status = spawned.child.wait()?;
    let by_sigsys = status.signal() == Some(libc::SIGSYS);
    println!("parent: echo ended with {status}; killed by the filter: {by_sigsys}");
    Ok(())
}
