//! Errno names numbered per architecture, end to end: a profile naming ENOSYS (Podman's
//! `errno`) and runc's ENOSYS rule, read for mips, parisc and x86_64, then `check` (the
//! reference evaluator and the emulated program) and `compile` + `disasm` (the program
//! itself). ENOSYS is 89 on mips and 251 on parisc (their uapi asm/errno.h); 38 elsewhere.

use std::process::Output;

mod support;
use support::sysgate;

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO",
 "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errno": "ENOSYS"}]}"#;

#[test]
fn enosys_is_numbered_per_architecture_from_profile_to_program() {
    let dir = std::env::temp_dir().join(format!("sysgate-cli-errno-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let profile = profile.to_str().unwrap();
    for (arch, enosys, wrong) in [
        ("mipsel64", "ERRNO(89 ENOSYS)", "ERRNO(38"),
        ("mips", "ERRNO(89 ENOSYS)", "ERRNO(38"),
        ("parisc", "ERRNO(251 ENOSYS)", "ERRNO(38"),
        ("x86_64", "ERRNO(38 ENOSYS)", "ERRNO(89"),
    ] {
        // The named errno, and runc's ENOSYS above the largest syscall named (clone3).
        for call in ["uname", "clone3"] {
            let out = stdout(&sysgate(&["check", profile, "--arch", arch, call]));
            assert!(
                out.contains(&format!("action: {enosys}\n")),
                "{arch} {call}:\n{out}"
            );
        }
        let out = stdout(&sysgate(&["check", profile, "--arch", arch, "uname"]));
        assert!(
            out.contains(&format!("decided by: rule #3: {enosys} uname")),
            "{arch}:\n{out}"
        );
        let out = stdout(&sysgate(&["check", profile, "--arch", arch, "getpid"]));
        assert!(out.contains("action: ERRNO(1 EPERM)\n"), "{arch}:\n{out}");

        let raw = dir.join(format!("p-{arch}.bpf"));
        let raw = raw.to_str().unwrap();
        stdout(&sysgate(&["compile", profile, "--arch", arch, "-o", raw]));
        let dis = stdout(&sysgate(&["disasm", raw, "--arch", arch]));
        assert!(dis.contains(&format!("ret  {enosys}")), "{arch}:\n{dis}");
        assert!(!dis.contains(wrong), "{arch}:\n{dis}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_names_errnos_as_the_architecture_numbers_them() {
    let dir = std::env::temp_dir().join(format!("sysgate-cli-errno-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let named = dir.join("named.json");
    let plain = dir.join("plain.json");
    std::fs::write(
        &named,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    std::fs::write(
        &plain,
        r#"{"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#,
    )
    .unwrap();
    let out = sysgate(&[
        "diff",
        named.to_str().unwrap(),
        plain.to_str().unwrap(),
        "--arch",
        "mipsel64",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    // Below read (5000) the defaults differ; above it both answer runc's ENOSYS.
    assert_eq!(
        text,
        "mipsel64: 0..=4999: ERRNO(89 ENOSYS) -> ERRNO(1 EPERM)\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
