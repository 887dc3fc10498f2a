//! Every console example in README.md and docs/*.md, run: what the docs show is what the
//! commands print.
//!
//! The convention, for whoever writes an example:
//!
//! - A ```` ```console ```` block is a session. Each line starting with `$ ` is a command,
//!   run by `sh -c` (so `;`, `|`, `$?` and trailing `# comments` work) with the `sysgate` under
//!   test first on PATH. The lines after it, up to the next `$ ` line or the end of the block,
//!   are what it prints: standard output and standard error together, in order, compared line
//!   by line, literally.
//! - A line that is exactly `...` stands for any number of lines (none included): output left
//!   out because it is long, or because it depends on the machine (`sysgate probe`, `uname
//!   -a`, `ls /`). A command whose output is not shown at all is followed by `...`; one
//!   followed by nothing must print nothing.
//! - The commands of one block run one after the other in one fresh directory, so a later
//!   command reads what an earlier one wrote (`compile -o filter.bpf`, then `disasm
//!   filter.bpf`). The directory starts with `docker-default.json` (copied at test time from
//!   ../shared/fixtures/profiles, never committed) and the small files that [`FIXTURES`]
//!   lists.
//! - Commands that cannot run on any machine (a `./daemon` of the reader's, a real audit log)
//!   belong in ```` ```sh ```` blocks, which are not run.
//!
//! A mismatch fails with the file and line of the command, and the expected and actual lines
//! side by side, so an example can be fixed from the message alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Files every block's directory starts with, beside docker-default.json.
const FIXTURES: &[(&str, &str)] = &[
    (
        "profile.json",
        r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}
  ]
}
"#,
    ),
    (
        "app.service",
        "[Service]\nSystemCallFilter=@system-service\nSystemCallErrorNumber=EPERM\n",
    ),
];

/// One `$ ` command of a console block, with the output the docs show for it.
struct Example {
    /// file:line of the command.
    place: String,
    command: String,
    expected: Vec<String>,
}

/// The console blocks of one Markdown file, each as its examples.
fn console_blocks(path: &Path) -> Vec<Vec<Example>> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let shown = if name == "README.md" {
        name
    } else {
        format!("docs/{name}")
    };
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Example>> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed.starts_with("```console") => current = Some(Vec::new()),
            None => {}
            Some(_) if trimmed.starts_with("```") => blocks.push(current.take().unwrap()),
            Some(block) => {
                if let Some(command) = line.strip_prefix("$ ") {
                    block.push(Example {
                        place: format!("{shown}:{}", i + 1),
                        command: command.to_string(),
                        expected: Vec::new(),
                    });
                } else {
                    match block.last_mut() {
                        Some(example) => example.expected.push(line.to_string()),
                        None => panic!(
                            "{shown}:{}: output before the first `$ ` command of the block",
                            i + 1
                        ),
                    }
                }
            }
        }
    }
    assert!(current.is_none(), "{shown}: a console block is not closed");
    blocks
}

/// Whether `actual` is what `expected` shows, `...` standing for any run of lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| a.trim_end() == first.trim_end() && matches(rest, more)),
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn docker_default() -> Option<PathBuf> {
    let p = repo().join("../shared/fixtures/profiles/docker-default.json");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "../shared is missing under CI"
    );
    eprintln!("SKIPPED: {} not found", p.display());
    None
}

/// A fresh directory holding the fixtures.
fn workdir(n: usize, fixture: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sysgate-docs-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture, dir.join("docker-default.json")).unwrap();
    for (name, text) in FIXTURES {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// What `command` prints (stdout and stderr merged) in `dir`.
fn run(command: &str, dir: &Path) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_sysgate")).parent().unwrap();
    let path = match std::env::var_os("PATH") {
        Some(p) => {
            let mut dirs = vec![bin.to_path_buf()];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).unwrap()
        }
        None => bin.as_os_str().to_owned(),
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1\n{command}"))
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn report(example: &Example, actual: &[&str]) -> String {
    let mut r = format!(
        "{}: `{}` prints something else\n  the docs show ({} lines):\n",
        example.place,
        example.command,
        example.expected.len()
    );
    for l in &example.expected {
        r.push_str(&format!("    | {l}\n"));
    }
    r.push_str(&format!("  it printed ({} lines):\n", actual.len()));
    for l in actual.iter().take(SHOWN) {
        r.push_str(&format!("    | {l}\n"));
    }
    if actual.len() > SHOWN {
        r.push_str(&format!("    ({} more lines)\n", actual.len() - SHOWN));
    }
    r
}

/// How many printed lines a failure shows.
const SHOWN: usize = 40;

#[test]
fn every_console_example_prints_what_the_docs_show() {
    let Some(fixture) = docker_default() else {
        return;
    };
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut failures = Vec::new();
    let mut commands = 0;
    let mut n = 0;
    for file in &files {
        for block in console_blocks(file) {
            n += 1;
            let dir = workdir(n, &fixture);
            for example in &block {
                commands += 1;
                let printed = run(&example.command, &dir);
                let actual: Vec<&str> = printed.lines().collect();
                if !matches(&example.expected, &actual) {
                    failures.push(report(example, &actual));
                }
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    assert!(commands >= 10, "only {commands} console examples found");
    assert!(
        failures.is_empty(),
        "{} of {commands} console examples differ from what the docs show:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn an_ellipsis_stands_for_any_run_of_lines_and_nothing_else_is_loose() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches(&e(&[]), &[]));
    assert!(!matches(&e(&[]), &["x"]));
    assert!(matches(&e(&["..."]), &[]));
    assert!(matches(&e(&["..."]), &["a", "b"]));
    assert!(matches(&e(&["a", "...", "d"]), &["a", "b", "c", "d"]));
    assert!(matches(&e(&["a", "...", "d"]), &["a", "d"]));
    assert!(!matches(&e(&["a", "...", "d"]), &["a", "b", "c"]));
    assert!(!matches(&e(&["a"]), &["a", "b"]));
    assert!(!matches(&e(&["a b"]), &["a  b"]));
}
