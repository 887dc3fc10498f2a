//! `--portable` on `learn`, `learn merge` and `convert`, and `show`'s "not portable"
//! section, from the outside. The reference is what glibc calls on arm64 and riscv64 for the
//! calls x86_64 has and they lack (glibc's `sysdeps/unix/sysv/linux` generic code, written
//! out below independently of sysgate's table), and our generated syscall tables.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use sysgate::arch::Arch;
use sysgate::profile::portable::{equivalence, Scope};

mod support;
use support::{allowed_names, scratch, stderr, stdout, sysgate, text, write};

/// What glibc (and musl) call on arm64 and riscv64 for an x86_64 call those architectures
/// lack; `None` for work that needs no syscall there.
const LIBC_ON_ARM64_AND_RISCV64: &[(&str, Option<&str>)] = &[
    ("access", Some("faccessat")),
    ("arch_prctl", None), // the thread pointer is a register (TPIDR_EL0, tp)
    ("chmod", Some("fchmodat")),
    ("chown", Some("fchownat")),
    ("creat", Some("openat")),
    ("dup2", Some("dup3")),
    ("epoll_create", Some("epoll_create1")),
    ("epoll_wait", Some("epoll_pwait")),
    ("eventfd", Some("eventfd2")),
    ("fork", Some("clone")),
    ("getdents", Some("getdents64")),
    ("getpgrp", Some("getpgid")),
    ("inotify_init", Some("inotify_init1")),
    ("lchown", Some("fchownat")),
    ("link", Some("linkat")),
    ("lstat", Some("newfstatat")),
    ("mkdir", Some("mkdirat")),
    ("mknod", Some("mknodat")),
    ("open", Some("openat")),
    ("pipe", Some("pipe2")),
    ("poll", Some("ppoll")),
    ("readlink", Some("readlinkat")),
    ("rename", Some("renameat2")),
    ("rmdir", Some("unlinkat")),
    ("select", Some("pselect6")),
    ("signalfd", Some("signalfd4")),
    ("stat", Some("newfstatat")),
    ("symlink", Some("symlinkat")),
    ("time", Some("clock_gettime")),
    ("unlink", Some("unlinkat")),
    ("utimes", Some("utimensat")),
    ("vfork", Some("clone")),
];

/// The names a Docker profile allows.
fn allowed(profile: &Path) -> BTreeSet<String> {
    allowed_names(profile).into_iter().collect()
}

/// The entries of a Docker profile that name `name`.
fn entries_of(profile: &Path, name: &str) -> Vec<Value> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    json["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["names"].as_array().unwrap().iter().any(|n| n == name))
        .cloned()
        .collect()
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
}

/// Where `x86` (allowed on x86_64) falls short on `arch` in `portable`: the name is missing
/// there, and neither the work needs no call nor the calls doing it are allowed.
fn shortfalls(x86: &BTreeSet<String>, portable: &BTreeSet<String>, arch: Arch) -> Vec<String> {
    let mut out = Vec::new();
    for name in x86 {
        if arch.syscall_number(name).is_some() {
            continue;
        }
        // The independent reference first: what libc calls there.
        if let Some((_, Some(uses))) = LIBC_ON_ARM64_AND_RISCV64.iter().find(|(n, _)| n == name) {
            if !portable.contains(*uses) {
                out.push(format!("{name}: {arch}'s libc calls {uses}, not allowed"));
            }
        }
        // Then the table: it must know the name, and each modern equivalent that exists
        // there must be allowed.
        let Some(entry) = equivalence(name) else {
            out.push(format!("{name}: not on {arch}, and the table has no entry"));
            continue;
        };
        let there: Vec<&str> = entry
            .alternatives
            .iter()
            .filter(|a| a.scope == Scope::Modern && arch.syscall_number(a.name).is_some())
            .map(|a| a.name)
            .collect();
        if there.is_empty() && !entry.alternatives.is_empty() {
            out.push(format!("{name}: none of its equivalents exists on {arch}"));
        }
        for alt in there {
            if !portable.contains(alt) {
                out.push(format!(
                    "{name}: its equivalent {alt} is not allowed for {arch}"
                ));
            }
        }
    }
    out
}

/// `sysgate learn FLAGS -o DIR/ls.json -- ls -l /` in a new scratch directory `DIR`, on
/// x86_64 only (`None` elsewhere, after saying so).
fn learn_ls(name: &str, flags: &[&str]) -> Option<(std::path::PathBuf, std::process::Output)> {
    if Arch::native() != Arch::X86_64 {
        eprintln!("SKIPPED: this test learns on x86_64");
        return None;
    }
    let dir = scratch(name);
    let profile = dir.join("ls.json");
    let mut args = vec!["learn"];
    args.extend(flags);
    args.extend(["-o", profile.to_str().unwrap(), "--", "ls", "-l", "/"]);
    let o = sysgate(&args);
    ok(&o);
    Some((dir, o))
}

#[test]
fn ls_learned_on_x86_64_made_portable_has_what_arm64_and_riscv64_libc_call() {
    let Some((dir, _)) = learn_ls("portable-ls", &["-q"]) else {
        return;
    };
    let learned = dir.join("ls.json");
    let x86 = allowed(&learned);
    // The recording names calls arm64 lacks (ld.so's access, ls's readlink, ...), or the test
    // would prove nothing.
    let lacking: Vec<&String> = x86
        .iter()
        .filter(|n| Arch::Aarch64.syscall_number(n).is_none())
        .collect();
    assert!(!lacking.is_empty(), "ls used only arm64's calls: {x86:?}");
    assert!(
        !shortfalls(&x86, &x86, Arch::Aarch64).is_empty(),
        "the recording alone is already portable"
    );

    let portable = dir.join("ls-portable.json");
    let o = sysgate(&[
        "convert",
        "--portable",
        learned.to_str().unwrap(),
        "-o",
        portable.to_str().unwrap(),
    ]);
    ok(&o);
    assert!(
        stderr(&o).contains("sysgate: note: --portable added "),
        "{}",
        stderr(&o)
    );
    let made = allowed(&portable);
    assert!(made.is_superset(&x86), "--portable removed names");
    for arch in [Arch::Aarch64, Arch::Riscv64] {
        let missing = shortfalls(&x86, &made, arch);
        assert!(missing.is_empty(), "{missing:#?}");
    }

    // show points at each gap of the recording, with the hint, and at none of the result.
    let shown = stdout(&sysgate(&["show", learned.to_str().unwrap()]));
    assert!(
        shown.contains("\nnot portable (sysgate convert --portable adds"),
        "{shown}"
    );
    for name in &lacking {
        let gap = equivalence(name).is_some_and(|e| !e.alternatives.is_empty());
        let line = format!("\n  {name}: not on aarch64 or riscv64, which use ");
        assert_eq!(shown.contains(&line), gap, "{name}:\n{shown}");
    }
    let shown = stdout(&sysgate(&["show", portable.to_str().unwrap()]));
    assert!(!shown.contains("not portable"), "{shown}");

    // show --json: the same gaps as data.
    let json = |p: &Path| -> Value {
        serde_json::from_str(&stdout(&sysgate(&["show", "--json", p.to_str().unwrap()]))).unwrap()
    };
    let gaps = json(&learned)["not_portable"].as_array().unwrap().clone();
    assert!(!gaps.is_empty());
    for g in &gaps {
        let name = g["syscall"].as_str().unwrap();
        assert!(lacking.iter().any(|l| *l == name), "{g}");
        let on = g["missing_on"].as_array().unwrap();
        assert!(on.contains(&"riscv64".into()), "{g}");
        assert!(!g["equivalents"].as_array().unwrap().is_empty(), "{g}");
    }
    assert_eq!(json(&portable)["not_portable"], serde_json::json!([]));
}

#[test]
fn learn_portable_writes_the_equivalents_and_says_so() {
    let Some((dir, o)) = learn_ls("portable-learn", &["--portable"]) else {
        return;
    };
    let profile = dir.join("ls.json");
    let names = allowed(&profile);
    for arch in [Arch::Aarch64, Arch::Riscv64] {
        let missing = shortfalls(&names, &names, arch);
        assert!(missing.is_empty(), "{missing:#?}");
    }
    assert!(stderr(&o).contains("sysgate: note: --portable added "));
}

/// A profile with a conditional open (O_WRONLY or O_RDWR in a1), a conditional epoll_create
/// (whose argument means nothing to epoll_create1), pipe, and dup2 refused on purpose.
const CONDITIONAL: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "pipe"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["open"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 1, "value": 3, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["epoll_create"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
    {"names": ["dup2"], "action": "SCMP_ACT_KILL_PROCESS"}
  ]
}"#;

/// What `convert --portable` and `learn merge --portable` must have made of [`CONDITIONAL`].
fn check_conditional(out: &Path, err: &str) {
    let openat = entries_of(out, "openat");
    assert_eq!(openat.len(), 1, "{openat:?}");
    assert_eq!(openat[0]["action"], "SCMP_ACT_ALLOW");
    let args = openat[0]["args"].as_array().unwrap();
    assert_eq!(args.len(), 1, "{args:?}");
    assert_eq!(args[0]["index"], 2, "open's a1 is openat's a2: {args:?}");
    assert_eq!(args[0]["op"], "SCMP_CMP_MASKED_EQ");
    assert_eq!(
        (&args[0]["value"], &args[0]["valueTwo"]),
        (&3.into(), &1.into())
    );
    assert!(allowed(out).contains("pipe2"));
    let dup3 = entries_of(out, "dup3");
    assert_eq!(dup3.len(), 1);
    assert_eq!(dup3[0]["action"], "SCMP_ACT_KILL_PROCESS");
    // Not carried, never widened: no epoll_create1 at all, and a warning naming the rule.
    assert!(entries_of(out, "epoll_create1").is_empty());
    assert!(
        err.contains(
            "sysgate: warning: in.json:8:5: epoll_create's rule has argument conditions that \
             epoll_create1's arguments cannot carry: epoll_create1 is not added for it (write \
             its rule by hand)"
        ),
        "{err}"
    );
}

#[test]
fn convert_portable_moves_conditions_and_warns_where_it_cannot() {
    let dir = scratch("portable-convert");
    let input = write(&dir, "in.json", CONDITIONAL);
    let out = dir.join("out.json");
    let o = sysgate(&["convert", "--portable", &input, "-o", out.to_str().unwrap()]);
    ok(&o);
    let err = stderr(&o).replace(&format!("{}/", dir.display()), "");
    check_conditional(&out, &err);
    assert!(
        err.contains(
            "sysgate: note: --portable added 3 equivalents other architectures use: dup3 for \
             dup2; openat for open; pipe2 for pipe\n"
        ),
        "{err}"
    );
    // Without the flag nothing is added.
    let plain = dir.join("plain.json");
    ok(&sysgate(&[
        "convert",
        &input,
        "-o",
        plain.to_str().unwrap(),
    ]));
    assert!(entries_of(&plain, "openat").is_empty());
}

#[test]
fn learn_merge_portable_adds_the_equivalents_of_every_merged_profile() {
    let dir = scratch("portable-merge");
    let a = write(&dir, "in.json", CONDITIONAL);
    let b = write(
        &dir,
        "b.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["readlink"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let out = dir.join("merged.json");
    let o = sysgate(&[
        "learn",
        "merge",
        "--portable",
        &a,
        &b,
        "-o",
        out.to_str().unwrap(),
    ]);
    ok(&o);
    let err = stderr(&o).replace(&format!("{}/", dir.display()), "");
    check_conditional(&out, &err);
    assert!(allowed(&out).contains("readlinkat"), "{}", text(&o.stderr));
}

#[test]
fn help_names_portable_on_each_command_that_writes_a_profile() {
    for cmd in [
        &["learn", "--help"][..],
        &["learn", "merge", "--help"],
        &["convert", "--help"],
    ] {
        let help = stdout(&sysgate(cmd));
        let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains(
                "--portable Add, for each call the profile decides, the calls other \
                            architectures use for the same work"
            ),
            "{cmd:?}:\n{help}"
        );
    }
    let help = stdout(&sysgate(&["show", "--help"]));
    assert!(help.contains("not portable"), "{help}");
}

/// The table as docs/profiles.md lists it: one row per call.
fn table_rows() -> Vec<String> {
    use sysgate::profile::portable::EQUIVALENCES;
    EQUIVALENCES
        .iter()
        .map(|e| {
            let of = |scope| {
                e.alternatives
                    .iter()
                    .filter(|a| a.scope == scope)
                    .map(|a| format!("`{}`", a.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "| `{}` | {} | {} | {} | {} |",
                e.name,
                of(Scope::Modern),
                of(Scope::Compat32),
                of(Scope::Alike),
                e.why.replace('*', "\\*")
            )
        })
        .collect()
}

#[test]
fn docs_profiles_lists_the_equivalence_table_as_it_is() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/profiles.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Portable profiles"))
        .expect("docs/profiles.md has a section \"Portable profiles\"");
    let rows = table_rows();
    let listed: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(
        listed,
        rows,
        "docs/profiles.md must list the table as it is; the rows are:\n{}",
        rows.join("\n")
    );
}
