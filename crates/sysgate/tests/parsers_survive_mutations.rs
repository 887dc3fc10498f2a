//! The CI smoke run of the fuzz targets (fuzz/, which need nightly): every profile reader, the
//! format detection behind them, and the writers and compiler on whatever parses, over a
//! corpus of deterministically mutated inputs. No input may panic any of them. Seeds are the
//! fixtures in ../shared (when present) plus small inputs of each format written here.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use support::shared;
use sysgate::profile::detect::{read_text, ReadOptions};
use sysgate::profile::{docker, k8s, lxc, show, systemd, Target};
use sysgate::Arch;

const SEEDS: &[&str] = &[
    r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}], "includes": {"caps": ["CAP_SYS_ADMIN"], "minKernel": "4.8"}}]}"#,
    r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "defaultErrno": "ENOSYS", "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM"}]}}}"#,
    "[Service]\nSystemCallFilter=@system-service ~@privileged\nSystemCallFilter=~mount:EPERM \\\n  ptrace:kill\nSystemCallErrorNumber=EACCES\nSystemCallArchitectures=native x86\nSystemCallLog=read\n",
    "SystemCallFilter=\nSystemCallFilter=~@mount\n",
    "2\nallowlist errno 1\nreject_force_umount\n[x86_64]\nread\nsocket kill [0,16,==] [1,0x3,&=,0xf]\n[ALL]\nmount errno 13 [2,4096,SCMP_CMP_MASKED_EQ,4096] # c\n",
    "1\nwhitelist\n0\n1\n60\n",
    "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: b\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n    args: [{index: 0, value: 5, op: SCMP_CMP_LE}]\n---\napiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata: {name: b}\nspec: {defaultAction: SCMP_ACT_KILL, architectures: [SCMP_ARCH_NATIVE]}\n",
];

const INTERESTING: &[&[u8]] = &[
    b"[",
    b"]",
    b",",
    b":",
    b"~",
    b"@",
    b"\"",
    b"{",
    b"}",
    b"\n",
    b"#",
    b"-",
    b"0",
    b"9",
    b"0x",
    b"\\",
    b"\0",
    "é".as_bytes(),
    b" ",
    b"\t",
    b"18446744073709551616",
    b"-1",
    b"SCMP_CMP_MASKED_EQ",
    b"&=",
    b"errno",
    b"kill",
    b"---\n",
    b"&a",
    b"*a",
    b"!!str ",
    b"@default",
    b"=",
    b"[Service]\n",
    b"\r",
];

fn mutate(seed: &[u8], rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.usize(..4) {
        let at = rng.usize(..v.len() + 1);
        match rng.usize(..7) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.usize(..8);
            }
            1 => {
                let piece = INTERESTING[rng.usize(..INTERESTING.len())];
                v.splice(at..at, piece.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + 1 + rng.usize(..16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 => v.truncate(at),
            4 if !v.is_empty() => {
                // Duplicate a stretch (lines, entries).
                let start = at.min(v.len() - 1);
                let end = (start + 1 + rng.usize(..64)).min(v.len());
                let copy = v[start..end].to_vec();
                v.splice(end..end, copy);
            }
            5 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = b"0123456789"[rng.usize(..10)];
            }
            _ => v.reverse(),
        }
    }
    v
}

fn exercise(text: &str) {
    let target = Target::new(Arch::X86_64);
    let _ = docker::parse(text, "f.json", &target);
    let _ = systemd::parse(text, "f.service", &target);
    let _ = lxc::parse(text, "f.seccomp", &target);
    let _ = k8s::read(text, "f.yaml", &target, &Default::default());
    if let Ok(read) = read_text(text, "f", &target, &ReadOptions::default()) {
        for p in &read.profiles {
            let policy = &p.loaded.policy;
            let _ = sysgate::compile::compile(policy);
            let _ = docker::write(policy, None, &Default::default());
            let _ = lxc::write(policy, None, &Default::default());
            let _ = lxc::write(
                policy,
                None,
                &lxc::WriteOptions::version(lxc::LxcVersion::V1),
            );
            let _ = show::show(policy);
        }
    }
}

#[test]
fn no_mutated_input_panics_a_parser() {
    let mut seeds: Vec<String> = SEEDS.iter().map(|s| s.to_string()).collect();
    for name in [
        "docker-default.json",
        "lxc-common.seccomp",
        "lxc-v2-allowlist-trap.seccomp",
        "spo-seccompprofile.yaml",
    ] {
        if let Some(text) = shared::read(&format!("fixtures/profiles/{name}")) {
            seeds.push(text);
        }
    }
    let mut rng = fastrand::Rng::with_seed(0x5eed_5eed_1234_5678);
    let per_seed = 120;
    for seed in &seeds {
        for _ in 0..per_seed {
            let input = mutate(seed.as_bytes(), &mut rng);
            let text = String::from_utf8_lossy(&input).into_owned();
            if catch_unwind(AssertUnwindSafe(|| exercise(&text))).is_err() {
                panic!("a parser panicked on this input:\n{text:?}");
            }
        }
    }
}
