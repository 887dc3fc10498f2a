//! Shell completions and man pages, generated from the parser: the bash script loads in
//! bash and completes subcommands and flags, every shell gets a script, and every
//! subcommand's man page renders with `man -l` without a warning.
//!
//! Needs bash and man (man-db; `.ci/run` installs it). Without man outside CI the man test
//! says SKIPPED.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use support::{scratch, skip, sysgate_command, SYSGATE};

/// What bash completes after `sysgate WORDS...` (the last word being completed).
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = format!(
        "source <(\"$0\" completions bash) && COMP_WORDS=(sysgate {words}) && \
         COMP_CWORD={cword} && COMP_LINE=\"${{COMP_WORDS[*]}}\" && COMP_POINT=${{#COMP_LINE}} && \
         _sysgate sysgate \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\" && \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(SYSGATE)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The visible subcommands `sysgate --help` lists.
fn subcommands() -> Vec<String> {
    let o = sysgate_command().arg("--help").output().unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    let mut in_commands = false;
    let mut names = Vec::new();
    for line in help.lines() {
        if line == "Commands:" {
            in_commands = true;
        } else if in_commands && line.starts_with("  ") && !line.starts_with("   ") {
            let name = line.split_whitespace().next().unwrap();
            if name != "help" {
                names.push(name.to_string());
            }
        } else if in_commands && !line.starts_with(' ') {
            break;
        }
    }
    assert!(names.len() > 10, "{help}");
    names
}

#[test]
fn the_bash_script_loads_and_registers_sysgate() {
    let o = Command::new("bash")
        .arg("-c")
        .arg("source <(\"$0\" completions bash) && complete -p sysgate")
        .arg(SYSGATE)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("-F _sysgate sysgate"), "{out}");
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    let subs = bash_completes(&["co"]);
    for s in ["compile", "completions", "convert"] {
        assert!(subs.contains(&s.to_string()), "{subs:?}");
    }
    let flags = bash_completes(&["learn", "--def"]);
    assert_eq!(flags, ["--default-action"]);
    let shells = bash_completes(&["completions", ""]);
    for s in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(shells.contains(&s.to_string()), "{shells:?}");
    }
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = sysgate_command()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell}");
        let script = String::from_utf8(o.stdout).unwrap();
        for s in &subs {
            assert!(script.contains(s.as_str()), "{shell} script lacks {s}");
        }
    }
    let o = sysgate_command()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn completions_go_to_a_file_with_dash_o() {
    let dir = scratch("o");
    let path = dir.join("sysgate.bash");
    let o = sysgate_command()
        .args(["completions", "bash", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(o.stdout.is_empty());
    assert!(std::fs::read_to_string(&path).unwrap().contains("_sysgate"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn have_man() -> bool {
    let ok = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok || !skip("no man (.ci/run installs man-db; apt-get install man-db)")
}

fn render(page: &Path) -> (bool, String, String) {
    let o = Command::new("man")
        .args(["--warnings", "-l", "-P", "cat"])
        .arg(page)
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn man_renders_a_page_for_every_subcommand_without_warnings() {
    if !have_man() {
        return;
    }
    let dir = scratch("pages");
    let o = sysgate_command()
        .args(["man-pages", "-o"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pages: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut expected: BTreeSet<String> = subcommands()
        .iter()
        .map(|s| format!("sysgate-{s}.1"))
        .collect();
    expected.insert("sysgate.1".into());
    // Nested subcommands get a page each too.
    expected.insert("sysgate-learn-merge.1".into());
    expected.insert("sysgate-oci-prepare.1".into());
    assert_eq!(pages, expected);
    for page in &pages {
        let (ok, text, warnings) = render(&dir.join(page));
        assert!(ok, "man -l {page} failed: {warnings}");
        assert!(warnings.is_empty(), "man -l {page} warns: {warnings}");
        let name = page.trim_end_matches(".1");
        assert!(text.contains("NAME"), "{page}: {text}");
        assert!(text.contains(&format!("{name}(1)")), "{page}: {text}");
        assert!(text.contains("--help"), "{page} lists no options: {text}");
    }
    // A page carries the command's own long help, not only its flags.
    let (_, run, _) = render(&dir.join("sysgate-run.1"));
    assert!(run.contains("EXIT STATUS"), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
}
