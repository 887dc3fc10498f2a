//! `sysgate convert --to systemd` checked against systemd itself: every fixture profile (each
//! profile of a file with several) is written for systemd 252 and for the newest systemd, each
//! written line goes into a unit that `systemd-analyze verify` reads, and
//!
//! - written for 252, systemd 252 ignores no syscall name and no set ("Failed to parse system
//!   call, ignoring" / "Unknown system call group, ignoring"): an ignored name in a `~` deny
//!   list is not denied;
//! - written for the newest systemd, every name systemd 252 ignores is named in the loss list;
//! - `sysgate diff INPUT OUTPUT` shows no call that the output refuses less than the input
//!   (killed -> refused with an errno -> logged -> allowed); for the newest systemd, except
//!   the ENOSYS it gives numbers outside its `@known` set, which the loss list names.
//!
//! Needs systemd-analyze (package `systemd`) and ../shared: without them the test says
//! SKIPPED, except under CI (CI=true), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use sysgate::arch::Arch;
use sysgate::profile::detect::{self, ReadOptions};
use sysgate::profile::Target;

mod support;
use support::{fixtures_dir, skip, sysgate, text};

fn systemd_analyze_present() -> bool {
    let found = Command::new("systemd-analyze").arg("--version").output();
    if found.is_ok_and(|o| o.status.success()) {
        return true;
    }
    skip("systemd-analyze is not installed (package systemd)");
    false
}

/// Every (fixture, profile name) pair: files with several profiles give one case each.
fn cases(dir: &Path) -> Vec<(PathBuf, Option<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let target = Target::docker_default(Arch::native());
    let mut out = Vec::new();
    for file in files {
        let read = detect::read(file.to_str().unwrap(), &target, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if read.profiles.len() == 1 {
            out.push((file, None));
        } else {
            for p in read.profiles {
                out.push((file.clone(), p.name));
            }
        }
    }
    out
}

/// The syscall names and sets systemd-analyze reports as ignored in `unit`.
fn ignored_by_systemd(unit: &Path) -> Vec<String> {
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .output()
        .unwrap();
    text(&o.stderr)
        .lines()
        .chain(text(&o.stdout).lines())
        .filter(|l| {
            l.contains("Failed to parse system call") || l.contains("Unknown system call group")
        })
        .map(|l| l.rsplit(' ').next().unwrap_or(l).to_string())
        .collect()
}

/// How much an answer lets through: killed < refused (errno, trace, notify) < logged < allowed.
fn openness(action: &str) -> u8 {
    match action.split(['(', ' ']).next().unwrap_or(action) {
        "ALLOW" => 3,
        "LOG" => 2,
        "ERRNO" | "TRACE" | "USER_NOTIF" => 1,
        _ => 0,
    }
}

/// The lines of `sysgate diff` output (`...: A -> B`) where B lets through more than A.
fn more_permissive(diff: &str) -> Vec<String> {
    diff.lines()
        .filter(|l| {
            let Some((before, after)) = l.rsplit_once(": ").and_then(|(_, d)| d.split_once(" -> "))
            else {
                return false;
            };
            openness(after) > openness(before)
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn systemd_output_uses_only_names_the_target_systemd_knows_and_never_widens() {
    let Some(dir) = fixtures_dir() else { return };
    if !systemd_analyze_present() {
        return;
    }
    let scratch = std::env::temp_dir().join(format!("sysgate-sdverify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut failures = Vec::new();
    for (n, (file, name)) in cases(&dir).into_iter().enumerate() {
        for version in ["252", "newest"] {
            let what = format!(
                "{}{} for systemd {version}",
                file.file_name().unwrap().to_string_lossy(),
                name.as_deref()
                    .map(|n| format!(" --name {n}"))
                    .unwrap_or_default()
            );
            let out = scratch.join(format!("{n}-{version}.conf"));
            let mut args = vec![file.to_str().unwrap(), "--systemd-version", version];
            if let Some(name) = &name {
                args.extend(["--name", name.as_str()]);
            }
            let mut convert = vec!["convert", "--to", "systemd", "-o", out.to_str().unwrap()];
            convert.extend(&args);
            let converted = sysgate(&convert);
            assert!(
                converted.status.success(),
                "{what}: {}",
                text(&converted.stderr)
            );
            let losses = text(&converted.stderr);
            let written = std::fs::read_to_string(&out).unwrap();

            let unit = scratch.join(format!("sysgate-verify-{n}-{version}.service"));
            let body: String = written
                .lines()
                .filter(|l| *l != "[Service]")
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(
                &unit,
                format!("[Unit]\nDescription=t\n[Service]\nExecStart=/bin/true\n{body}"),
            )
            .unwrap();
            let ignored = ignored_by_systemd(&unit);
            if version == "252" {
                if !ignored.is_empty() {
                    failures.push(format!(
                        "{what}: systemd 252 ignores {ignored:?}:\n{written}"
                    ));
                }
            } else {
                let listed = losses
                    .lines()
                    .find(|l| l.contains("systemd 252 ignores"))
                    .unwrap_or("");
                let unlisted: Vec<&String> = ignored
                    .iter()
                    .filter(|i| !listed.contains(i.as_str()))
                    .collect();
                if !unlisted.is_empty() {
                    failures.push(format!(
                        "{what}: systemd 252 ignores {unlisted:?}, which no loss names:\n{losses}"
                    ));
                }
            }

            let mut diff = vec!["diff"];
            diff.extend(&args);
            diff.insert(2, out.to_str().unwrap());
            let diffed = sysgate(&diff);
            assert!(
                diffed.status.code() == Some(0) || diffed.status.code() == Some(1),
                "{what}: diff failed: {}",
                text(&diffed.stderr)
            );
            let mut wider = more_permissive(&text(&diffed.stdout));
            // systemd 255 and later answer ENOSYS for every syscall outside its @known set
            // that the filter does not name, whatever the filter's default: numbers without
            // a name that the input kills get ENOSYS. That cannot be written otherwise, and
            // the loss list says it.
            if version == "newest"
                && losses.contains("syscall numbers without a name get ERRNO(ENOSYS)")
            {
                wider.retain(|l| !l.ends_with("-> ERRNO(38 ENOSYS)"));
            }
            if !wider.is_empty() {
                failures.push(format!(
                    "{what}: more permissive than the input:\n{}",
                    wider.join("\n")
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
