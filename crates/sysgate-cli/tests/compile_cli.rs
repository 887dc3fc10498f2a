//! `sysgate compile`, `check` and `disasm` from the outside: outputs, stacked programs, and
//! every kind of bad input failing with its location, status 2 and no filter written.

use std::path::Path;

mod support;
use support::{scratch, stderr, stdout, sysgate, write, SMALL};

/// What `sysgate COMMAND PROFILE --arch x86_64 ARGS...` prints on standard output.
fn x86_64(command: &str, profile: &str, args: &[&str]) -> String {
    let mut all = vec![command, profile, "--arch", "x86_64"];
    all.extend(args);
    stdout(&sysgate(&all))
}

/// `sysgate compile PROFILE --arch x86_64 -o OUT`, which must succeed.
fn compile_x86_64(profile: &str, out: &Path) {
    let o = sysgate(&[
        "compile",
        profile,
        "--arch",
        "x86_64",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn compiles_to_every_format() {
    let dir = scratch("formats");
    let profile = write(&dir, "small.json", SMALL);
    let raw = dir.join("small.bpf");
    compile_x86_64(&profile, &raw);
    let bytes = std::fs::read(&raw).unwrap();
    assert!(!bytes.is_empty() && bytes.len() % 8 == 0);

    let text = x86_64("compile", &profile, &["-f", "text"]);
    assert!(
        text.contains("ld   arch") && text.contains("ret  ALLOW"),
        "{text}"
    );
    let c = x86_64("compile", &profile, &["-f", "c"]);
    assert!(c.contains("struct sock_filter filter[]"), "{c}");
    let rust = x86_64("compile", &profile, &["-f", "rust"]);
    assert!(
        rust.contains("pub static FILTERS: [sysgate::bpf::Program; 1]")
            && rust.contains("pub const INSTALL_OPTIONS"),
        "{rust}"
    );

    // The raw program disassembles back with syscall names.
    let dis = x86_64("disasm", raw.to_str().unwrap(), &[]);
    assert_eq!(dis, text, "disasm of the raw output equals the text output");
    assert!(dis.contains("; uname") || dis.contains("uname"), "{dis}");
}

#[test]
fn check_names_the_rule_and_the_cache() {
    let dir = scratch("check");
    let profile = write(&dir, "small.json", SMALL);
    let o = sysgate(&["check", &profile, "--arch", "x86_64", "uname"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("action: ERRNO(38 ENOSYS)"), "{out}");
    assert!(out.contains("small.json:6:5"), "rule origin: {out}");
    let out = x86_64("check", &profile, &["read"]);
    assert!(
        out.contains("action: ALLOW") && out.contains("kernel action cache: yes"),
        "{out}"
    );
    let out = x86_64("check", &profile, &["socket", "2"]);
    assert!(
        out.contains("ERRNO(1 EPERM)") && out.contains("default"),
        "{out}"
    );
    let out = x86_64("check", &profile, &["socket", "1"]);
    assert!(
        out.contains("action: ALLOW") && out.contains("kernel action cache: no"),
        "{out}"
    );
}

#[test]
fn docker_default_compiles_for_amd64() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/profiles/docker-default.json"
    );
    if !Path::new(fixture).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared is missing under CI"
        );
        eprintln!("SKIPPED: {fixture} not found");
        return;
    }
    let o = sysgate(&["compile", fixture, "--arch", "amd64", "-f", "text", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = stdout(&o).lines().count();
    assert!(lines <= 400, "{lines} instructions for the Docker default");
    let out = stdout(&sysgate(&["check", fixture, "--arch", "amd64", "clone3"]));
    assert!(out.contains("ERRNO(38 ENOSYS)"), "{out}");
}

#[test]
fn action_cache_layout_is_another_program_deciding_the_same() {
    let plain = sysgate(&["compile", "docker-default", "-f", "text", "-q"]);
    let cached = sysgate(&[
        "compile",
        "docker-default",
        "-f",
        "text",
        "-q",
        "--action-cache",
    ]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(cached.status.success(), "{}", stderr(&cached));
    assert_ne!(stdout(&plain), stdout(&cached), "the layout did not change");
    // That both decide alike is the library's test (codegen_vs_evaluator); here: both are
    // whole programs.
    for out in [&plain, &cached] {
        let text = stdout(out);
        assert!(text.lines().count() > 100, "{text}");
        assert!(text.starts_with("   0: ld   arch"), "{text}");
    }
}

#[test]
fn stacked_programs_need_a_directory() {
    let dir = scratch("stacked");
    // 200 syscalls x 12 two-argument rules: more than 4096 instructions.
    let mut syscalls = Vec::new();
    let names: Vec<&str> = sysgate::arch::Arch::X86_64
        .table()
        .iter()
        .map(|(n, _)| n)
        .take(200)
        .collect();
    for (i, name) in names.iter().enumerate() {
        for v in 0..12u64 {
            syscalls.push(format!(
                r#"{{"names":["{name}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{},"op":"SCMP_CMP_EQ"}},{{"index":1,"value":{v},"op":"SCMP_CMP_EQ"}}]}}"#,
                i as u64 * 1000 + v * 3
            ));
        }
    }
    let profile = write(
        &dir,
        "big.json",
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{}]}}"#,
            syscalls.join(",")
        ),
    );
    let o = sysgate(&["compile", &profile, "--arch", "x86_64"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("stacked programs"), "{}", stderr(&o));
    let out = dir.join("stack");
    compile_x86_64(&profile, &out);
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    assert_eq!(files[0], "00.bpf");
    for f in &files {
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(bytes.len() / 8 <= 4096);
    }
}

#[test]
fn bad_input_names_its_location_and_writes_nothing() {
    let dir = scratch("bad");
    let cases: &[(&str, &str, &str)] = &[
        (
            "json",
            "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n",
            "json:4",
        ),
        (
            "action",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOPE"}]}"#,
            "SCMP_ACT_NOPE",
        ),
        (
            "op",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_SOMETIMES"}]}]}"#,
            "SCMP_CMP_SOMETIMES",
        ),
        (
            "index",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
            "6",
        ),
        (
            "errno",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":4096}]}"#,
            "4096",
        ),
        (
            "value",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551616,"op":"SCMP_CMP_EQ"}]}]}"#,
            "does not fit in 64 bits",
        ),
    ];
    for (name, text, needle) in cases {
        let profile = write(&dir, &format!("{name}.json"), text);
        let out = dir.join(format!("{name}.bpf"));
        let o = sysgate(&[
            "compile",
            &profile,
            "--arch",
            "x86_64",
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("{name}.json:")),
            "{name}: no location in {err}"
        );
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(!out.exists(), "{name}: a filter was written");
    }
    // Strict mode: an unknown name is an error, not a warning.
    let profile = write(
        &dir,
        "strict.json",
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","no_such_call"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let o = sysgate(&["compile", &profile, "--arch", "x86_64", "-f", "text"]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("no_such_call"),
        "warning expected: {}",
        stderr(&o)
    );
    let o = sysgate(&[
        "compile", &profile, "--arch", "x86_64", "-f", "text", "--strict",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no_such_call") && stderr(&o).contains("strict.json:"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn disasm_rejects_garbage_with_status_2() {
    let dir = scratch("disasm");
    let p = write(&dir, "odd.bpf", "1234567");
    let o = sysgate(&["disasm", &p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("odd.bpf"), "{}", stderr(&o));
}

/// Regression: a profile's seccomp(2) flags (here TSYNC and LOG) reached `--format rust` only;
/// the C, raw and text outputs dropped them without a word, so a C program installed the
/// filter on one thread of many.
#[test]
fn formats_without_install_flags_say_which_flags_the_policy_needs() {
    let dir = scratch("flags");
    let profile = write(
        &dir,
        "flags.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let o = sysgate(&["compile", &profile, "--arch", "x86_64", "-f", "c"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "#define filter_seccomp_flags (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG)"
        ),
        "{}",
        stdout(&o)
    );
    for format in ["c", "text", "raw"] {
        let out = dir.join(format!("out.{format}"));
        let o = sysgate(&[
            "compile",
            &profile,
            "--arch",
            "x86_64",
            "-f",
            format,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(
            stderr(&o).contains(
                "the policy asks for the seccomp(2) flags SECCOMP_FILTER_FLAG_TSYNC | \
                 SECCOMP_FILTER_FLAG_LOG"
            ),
            "{format}: {}",
            stderr(&o)
        );
    }
    let o = sysgate(&["compile", &profile, "--arch", "x86_64", "-f", "rust"]);
    assert!(!stderr(&o).contains("seccomp(2) flags"), "{}", stderr(&o));
    // runc's default SPEC_ALLOW changes nothing the filter decides: defined, not warned about.
    let o = sysgate(&["compile", "docker-default", "--arch", "x86_64", "-f", "c"]);
    assert!(!stderr(&o).contains("seccomp(2) flags"), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("#define filter_seccomp_flags (SECCOMP_FILTER_FLAG_SPEC_ALLOW)"),
        "{}",
        stdout(&o)
    );
}
