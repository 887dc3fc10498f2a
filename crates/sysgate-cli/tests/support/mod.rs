//! Helpers shared by the CLI's integration tests: run the `sysgate` binary, read what it
//! printed, make scratch directories and files, find `../shared`'s fixtures. Each test file
//! declares `mod support;` and uses what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small Docker profile for x86_64 with one rule of each kind: ALLOW, ERRNO(38), NOTIFY,
/// LOG, and an ALLOW with an argument condition.
pub const SMALL: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["ptrace"], "action": "SCMP_ACT_NOTIFY"},
    {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
  ]
}"#;

/// `sysgate ARGS`, run to its end, in the test's environment (a program it starts sees the
/// same locale as one the test starts itself).
pub fn sysgate(args: &[&str]) -> Output {
    sysgate_command().args(args).output().expect("run sysgate")
}

/// `sysgate ARGS` run in `dir`.
pub fn sysgate_in(dir: &Path, args: &[&str]) -> Output {
    sysgate_command()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run sysgate")
}

/// The path of the `sysgate` binary under test.
pub const SYSGATE: &str = env!("CARGO_BIN_EXE_sysgate");

/// The `sysgate` binary as a command, to add arguments, environment and input to.
pub fn sysgate_command() -> Command {
    Command::new(SYSGATE)
}

/// Bytes as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What a command printed on standard output.
pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

/// What a command printed on standard error.
pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// What a command printed: standard output, then standard error.
pub fn printed(o: &Output) -> String {
    stdout(o) + &stderr(o)
}

/// `sysgate ARGS`, which must succeed: what it printed.
pub fn sysgate_ok(args: &[&str]) -> String {
    let o = sysgate(args);
    let printed = printed(&o);
    assert!(o.status.success(), "sysgate {args:?}: {printed}");
    printed
}

/// The JSON document in `path`.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The syscall names of a Docker/OCI profile's rules that `keep` accepts, in profile order.
pub fn rule_names(
    profile: &serde_json::Value,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Vec<String> {
    profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| keep(r))
        .flat_map(|r| r["names"].as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// The syscall names of a Docker/OCI profile's rules with `action` (`SCMP_ACT_ALLOW`, ...).
pub fn names_with(profile: &serde_json::Value, action: &str) -> Vec<String> {
    rule_names(profile, |r| r["action"] == action)
}

/// An empty scratch directory for one test, named after it and this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sysgate-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Write `contents` to `dir/name`; returns the path as text, for an argument.
pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p.display().to_string()
}

/// A scratch directory for test `test` holding one file `name` with `contents`; returns the
/// file's path as text, for an argument.
pub fn scratch_file(test: &str, name: &str, contents: impl AsRef<[u8]>) -> String {
    write(&scratch(test), name, contents)
}

/// Whether the tests run under CI, where every optional tool and `../shared` must be there.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skip a test for `why`: a failure under CI, a SKIPPED line elsewhere. Returns `true`, so
/// that `if lacking && skip("...") { return; }` reads as one condition.
pub fn skip(why: &str) -> bool {
    assert!(!under_ci(), "{why} (required under CI)");
    eprintln!("SKIPPED: {why}");
    true
}

/// `../shared/REL` if it is there (nothing said otherwise).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    p.exists().then_some(p)
}

/// `../shared/fixtures/profiles`, or `None` (after saying so) where `../shared` is absent.
pub fn fixtures_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/profiles");
    if dir.is_dir() {
        return Some(dir);
    }
    skip(&format!(
        "{} is absent; this test needs ../shared",
        dir.display()
    ));
    None
}

/// The names a Docker profile allows (unconditionally or not), sorted, each once.
pub fn allowed_names(profile: &Path) -> Vec<String> {
    let mut names = names_with(&read_json(profile), "SCMP_ACT_ALLOW");
    names.sort();
    names.dedup();
    names
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
