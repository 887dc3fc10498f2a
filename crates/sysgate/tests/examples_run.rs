//! The examples in `crates/sysgate/examples/` build and do what their docs say. Each runs as
//! its own process: the filters go into the children they start, never into this runner.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Build example `name` (cargo builds examples for `cargo test`, but not for
/// `cargo test --test examples_run`) and run it.
fn run_example(name: &str) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--quiet", "-p", "sysgate", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo");
    assert!(built.success(), "cargo build --example {name}: {built}");
    // target/debug/deps/examples_run-HASH -> target/debug/examples/NAME
    let exe: PathBuf = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples").join(name))
        .unwrap();
    Command::new(&exe)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()))
}

/// Run example `name`, check that it succeeded, and return what it printed.
fn example_stdout(name: &str) -> String {
    let out = run_example(name);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name}: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// The canonical program: the child is killed by SIGSYS at its first call outside the list,
/// and the parent says so.
#[test]
fn quick_start_child_is_killed_by_sigsys_and_the_parent_reports_it() {
    let stdout = example_stdout("quick_start");
    assert!(
        stdout.starts_with(&format!(
            "parent: echo ended with signal: {} (SIGSYS)",
            libc::SIGSYS
        )) && stdout.trim_end().ends_with("killed by the filter: true"),
        "{stdout}"
    );
    // The child never got to write: its loader was killed first.
    assert!(!stdout.contains("hello"), "{stdout}");
}

/// The parent/child example: the shell runs until `uname`, which the filter kills; the
/// parent reports SIGSYS (and the audit record when it can read one).
#[test]
fn parent_child_reports_the_kill() {
    let stdout = example_stdout("parent_child");
    assert!(stdout.contains("\nhello\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("was killed by signal {} (SIGSYS)", libc::SIGSYS)),
        "{stdout}"
    );
    if stdout.contains("audit record confirms") {
        assert!(stdout.contains("seccomp KILL_PROCESS on uname"), "{stdout}");
    }
}

/// README's Library section shows the quick_start example's `main` exactly (README's Rust
/// blocks are compiled and run as doc tests of the crate root).
#[test]
fn readme_shows_the_quick_start_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example =
        std::fs::read_to_string(root.join("crates/sysgate/examples/quick_start.rs")).unwrap();
    let body = &example[example.find("use std::").unwrap()..];
    assert!(
        readme.contains(&format!("```rust\n{body}```\n")),
        "README's Library section and examples/quick_start.rs differ"
    );
    // At most 10 lines of body.
    let main = &body[body.find("fn main()").unwrap()..];
    assert!(main.lines().count() - 2 <= 10, "{main}");
}
