//! `sysgate convert` and `sysgate diff` from the command line: outputs, losses on stderr, exit
//! statuses, and parse errors with file:line:column and exit status 2.

use std::process::Output;

mod support;
use support::{scratch as tmp, sysgate_in};

fn sysgate(args: &[&str], dir: &std::path::Path) -> Output {
    sysgate_in(dir, args)
}

#[test]
fn convert_lists_losses_and_diff_finds_exactly_them() {
    let dir = tmp("convert");
    std::fs::write(
        dir.join("p.json"),
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    let out = sysgate(
        // On riscv64, LXC filters the host's own ABI only, like the policy.
        &[
            "convert", "p.json", "--arch", "riscv64", "--to", "lxc", "-o", "p.lxc",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sysgate: lost: LXC has no ENOSYS"),
        "{stderr}"
    );
    let lxc = std::fs::read_to_string(dir.join("p.lxc")).unwrap();
    assert!(lxc.contains("personality allow [0,8,==]"), "{lxc}");
    // The one difference is the listed loss: runc answers ENOSYS above the largest syscall
    // the profile names (exit_group, 94 on riscv64), also for -1; LXC gives the default.
    let out = sysgate(&["diff", "p.json", "p.lxc", "--arch", "riscv64"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("riscv64: waitid (95): ERRNO(38 ENOSYS) -> ERRNO(1 EPERM)\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("riscv64: 472..=4294967295: ERRNO(38 ENOSYS) -> ERRNO(1 EPERM)\n"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .all(|l| l.ends_with(": ERRNO(38 ENOSYS) -> ERRNO(1 EPERM)")),
        "{stdout}"
    );
    let out = sysgate(&["diff", "p.json", "p.json", "--arch", "riscv64"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no difference\n");

    let out = sysgate(
        &["convert", "p.json", "--arch", "x86_64", "--to", "systemd"],
        &dir,
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sysgate: lost: personality: systemd cannot express"),
        "{stderr}"
    );
    std::fs::write(dir.join("p.conf"), &out.stdout).unwrap();
    let out = sysgate(&["diff", "p.json", "p.conf", "--arch", "x86_64"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("x86_64: personality (135) when a0 == 0x8: ALLOW -> ERRNO(1 EPERM)"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parse_errors_name_the_place_and_exit_2() {
    let dir = tmp("errors");
    let cases: &[(&str, &str, &str)] = &[
        ("a.lxc", "2\ndenylist\nread bogus\n", "a.lxc:3:6: unknown action \"bogus\""),
        ("b.conf", "[Service]\nSystemCallFilter=@nope\n", "b.conf:2:18: unknown syscall set \"@nope\""),
        ("c.json", "{\"defaultAction\": 5}", "c.json:1:19: invalid type"),
        (
            "d.yaml",
            "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata: {name: d}\nspec: {defaultAction: SCMP_ACT_NOPE}\n",
            "d.yaml:4:23: unknown action \"SCMP_ACT_NOPE\"",
        ),
        ("e.txt", "hello\n", "e.txt:1:1: cannot tell the format"),
    ];
    for (name, text, want) in cases {
        std::fs::write(dir.join(name), text).unwrap();
        let out = sysgate(&["show", name, "--arch", "x86_64"], &dir);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{name}: {stderr}");
    }
    let out = sysgate(&["convert", "a.lxc", "--to", "yaml"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression: two profiles whose only difference sits at an argument beyond diff's
/// combination budget (here a1 == 50 of `read`) got "no difference" and exit status 0.
#[test]
fn diff_never_says_alike_when_arguments_were_not_all_compared() {
    let dir = tmp("diff-budget");
    let profile = |skip: u64| {
        let mut rules: Vec<String> = (0..150)
            .map(|k| {
                format!(
                    r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                     "args": [{{"index": 0, "value": {}, "op": "SCMP_CMP_EQ"}}]}}"#,
                    1000 + k
                )
            })
            .collect();
        rules.extend((1..150).filter(|j| *j != skip).map(|j| {
            format!(
                r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                 "args": [{{"index": 1, "value": {j}, "op": "SCMP_CMP_EQ"}}]}}"#
            )
        }));
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{}]}}"#,
            rules.join(",")
        )
    };
    std::fs::write(dir.join("a.json"), profile(0)).unwrap();
    std::fs::write(dir.join("b.json"), profile(50)).unwrap();
    let out = sysgate(&["diff", "a.json", "b.json"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("x86_64: read (0): not compared at every value of a1"),
        "{stdout}"
    );
    let out = sysgate(&["diff", "a.json", "b.json", "--json"], &dir);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["same"], false);
    assert_eq!(doc["differences"][0]["unchecked"], true);
    assert_eq!(doc["differences"][0]["args_held_at_zero"][0], 1);
}
