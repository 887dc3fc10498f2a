//! `sysgate learn` shows live progress (processes, syscalls, distinct names, the newest one)
//! on standard error when it is a terminal, and erases it before the summary; nothing when
//! standard error is not a terminal, or with -q. The terminal is a pty made by `script`
//! (util-linux; in Debian's essential bsdutils).

mod support;

use std::process::Command;

use support::{scratch, skip, sysgate_command, SYSGATE};

/// What a terminal shows for `sysgate learn FLAGS -o p.json -- sh -c '...'`, run on a pty.
fn on_a_terminal(flags: &str) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        skip("no script(1) to make a terminal");
        return None;
    }
    let dir = scratch(if flags.is_empty() { "tty" } else { "tty-flags" });
    let command = format!(
        "'{}' learn {flags} -o '{}' -- sh -c 'ls / >/dev/null; sleep 0.4; echo done'",
        SYSGATE,
        dir.join("p.json").display()
    );
    let o = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.join("p.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn a_terminal_sees_live_progress_erased_before_the_summary() {
    let Some(shown) = on_a_terminal("") else {
        return;
    };
    let line = shown
        .split('\r')
        .rfind(|l| l.starts_with("sysgate: learning: "))
        .unwrap_or_else(|| panic!("no progress line:\n{shown:?}"));
    // The last drawing, during `sleep`: the shell, ls and sleep ran, calls were counted.
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&words[..2], ["sysgate:", "learning:"], "{line:?}");
    let processes: u64 = words[2].parse().unwrap();
    assert!(processes >= 2, "{line:?}");
    assert!(
        line.contains(" syscalls, ") && line.contains(" distinct"),
        "{line:?}"
    );
    assert!(line.contains("(new: "), "{line:?}");
    // Erased (carriage return, erase to end of line), then the program's output and the
    // summary on lines of their own.
    let erased = shown.rfind("\r\x1b[K").unwrap();
    assert!(shown[erased..].contains("distinct syscalls"), "{shown:?}");
    assert!(shown.contains("done"), "{shown:?}");
}

#[test]
fn quiet_shows_no_progress_even_on_a_terminal() {
    let Some(shown) = on_a_terminal("-q") else {
        return;
    };
    assert!(!shown.contains("learning:"), "{shown:?}");
    assert!(!shown.contains("\x1b[K"), "{shown:?}");
}

#[test]
fn no_progress_when_standard_error_is_not_a_terminal() {
    let dir = scratch("pipe");
    let o = sysgate_command()
        .args(["learn", "-o"])
        .arg(dir.join("p.json"))
        .args(["--", "sh", "-c", "ls / >/dev/null; sleep 0.3"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("learning:") && !err.contains('\r'), "{err:?}");
    assert!(err.contains("distinct syscalls"), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
