//! `sysgate verify` from the outside: proven (0), differs with the inputs in words (1), bad
//! input (2), and JSON.

use std::path::PathBuf;

mod support;
use support::{scratch, stdout, sysgate};

const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_LE"}]}
  ]
}"#;

/// The same profile, but `write` is allowed on fd 3 too.
const WIDER: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LE"}]}
  ]
}"#;

fn setup(name: &str) -> (PathBuf, String, String, String, String) {
    let dir = scratch(name);
    let profile = dir.join("p.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let wider = dir.join("wider.json");
    std::fs::write(&wider, WIDER).unwrap();
    let (p, w) = (profile.display().to_string(), wider.display().to_string());
    let bpf = dir.join("p.bpf").display().to_string();
    let wbpf = dir.join("wider.bpf").display().to_string();
    for (src, out) in [(&p, &bpf), (&w, &wbpf)] {
        let o = sysgate(&["compile", src, "--format", "raw", "-o", out]);
        assert!(o.status.success(), "{o:?}");
    }
    (dir, p, w, bpf, wbpf)
}

#[test]
fn a_filter_compiled_from_the_profile_is_proven() {
    let (_dir, p, _w, bpf, _) = setup("proven");
    let o = sysgate(&["verify", &p, &bpf]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).starts_with("proven: "), "{}", stdout(&o));
    let o = sysgate(&["verify", &p, "--compiled"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn a_wider_filter_is_refuted_with_the_call_in_words() {
    let (_dir, p, _w, _bpf, wbpf) = setup("refuted");
    let o = sysgate(&["verify", &p, &wbpf]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("x86_64 write (1) args [3, "),
        "the only difference is write with a0 == 3:\n{out}"
    );
    assert!(out.contains("  filter:     ALLOW (0x7fff0000)"), "{out}");
    assert!(
        out.contains("  profile:    ERRNO(1 EPERM) (0x00050001)"),
        "{out}"
    );
    assert!(
        out.contains("  decided by: the default action (no rule matched)"),
        "{out}"
    );
}

#[test]
fn two_filters_are_compared_directly() {
    let (_dir, _p, _w, bpf, wbpf) = setup("two");
    let o = sysgate(&["verify", "--bpf", &bpf, "--bpf", &bpf]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = sysgate(&["verify", "--bpf", &bpf, "--bpf", &wbpf, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["proven"], false);
    let d = &v["differences"][0];
    assert_eq!(d["syscall"], "write");
    assert_eq!(d["args"][0], "0x3");
    assert_eq!(d["filter"]["action"], "ERRNO(1 EPERM)");
    assert_eq!(d["reference"]["action"], "ALLOW");
}

#[test]
fn json_names_the_deciding_rule() {
    let (_dir, _p, w, bpf, _) = setup("json");
    let o = sysgate(&["verify", &w, &bpf, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = &v["differences"][0];
    assert_eq!(d["arch"], "x86_64");
    assert_eq!(d["nr"], 1);
    assert_eq!(d["reference"]["action"], "ALLOW");
    assert!(d["reference"]["decided_by"]
        .as_str()
        .unwrap()
        .starts_with("rule #"));
}

#[test]
fn bad_input_is_status_2() {
    let (dir, p, _w, bpf, _) = setup("bad");
    let junk = dir.join("junk.bpf");
    std::fs::write(&junk, [1u8, 2, 3]).unwrap();
    let junk = junk.display().to_string();
    for args in [
        vec!["verify", p.as_str()],
        vec!["verify", p.as_str(), junk.as_str()],
        vec!["verify", p.as_str(), bpf.as_str(), "--compiled"],
        vec!["verify", "--bpf", bpf.as_str()],
        vec!["verify", "--bpf", bpf.as_str(), "--bpf", "/nonexistent.bpf"],
        vec!["verify"],
    ] {
        let o = sysgate(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

/// Valid filters whose exact input sets are exponential (they relate two input words) are
/// refused by name within bounded memory; they used to run for minutes, gigabytes growing.
#[test]
fn filters_relating_two_input_words_are_refused_as_too_complex() {
    use sysgate::bpf::{data, op, Insn, Program};
    use sysgate::policy::Action;
    let dir = scratch("too-complex");
    let endian = sysgate::Arch::native().endian();
    let (a0, a1) = (data::ARGS, data::ARGS + 8);
    let (allow, eperm) = (Action::Allow.to_ret(), Action::Errno(1).to_ret());
    let file = |name: &str, insns: Vec<Insn>| {
        let path = dir.join(name);
        std::fs::write(&path, Program::new(insns, endian).to_bytes()).unwrap();
        path.display().to_string()
    };
    let tax = Insn::new(op::MISC | op::TAX, 0, 0, 0);
    // a0 == a1 (low words): `ld a0; tax; ld a1; jeq x`.
    let equal = file(
        "equal.bpf",
        vec![
            Insn::load(a0),
            tax,
            Insn::load(a1),
            Insn::new(op::JMP | op::JEQ | op::X, 0, 1, 0),
            Insn::ret(eperm),
            Insn::ret(allow),
        ],
    );
    // The same with constant tests only: a0 and a1 agree bit by bit.
    let mut insns = Vec::new();
    for bit in 0..32 {
        let b = 1u32 << bit;
        insns.extend([
            Insn::load(a0),
            Insn::jump(op::JSET, b, 0, 3),
            Insn::load(a1),
            Insn::jump(op::JSET, b, 4, 0),
            Insn::ret(eperm),
            Insn::load(a1),
            Insn::jump(op::JSET, b, 0, 1),
            Insn::ret(eperm),
        ]);
    }
    insns.push(Insn::ret(allow));
    let bitwise = file("bitwise.bpf", insns);
    // Two filters returning two different input words.
    let ret_a = Insn::new(op::RET | op::A, 0, 0, 0);
    let ret_a0 = file("ret-a0.bpf", vec![Insn::load(a0), ret_a]);
    let ret_a1 = file("ret-a1.bpf", vec![Insn::load(a1), ret_a]);
    let plain = file("allow.bpf", vec![Insn::ret(allow)]);
    for (x, y) in [(&equal, &plain), (&bitwise, &plain), (&ret_a0, &ret_a1)] {
        let mut cmd = support::sysgate_command();
        cmd.args(["verify", "--bpf", x, "--bpf", y]);
        // Far above what the refusal needs (~150 MB), far below what the run took.
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                let cap = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &cap) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = cmd.output().unwrap();
        let err = support::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{x} vs {y}: {err}");
        assert!(err.contains("too complex to verify"), "{x} vs {y}: {err}");
    }
}
