//! Every profile format against the fixtures in ../shared/fixtures/profiles: each fixture
//! parses and compiles, and its compiled programs decide like the reference evaluator; and
//! profiles survive the round trips docker → systemd → docker, docker → lxc → docker and
//! docker → k8s → docker, or the writers list exactly what changed.

mod support;

use std::collections::BTreeSet;

use support::{agree, shared};
use sysgate::compile::compile;
use sysgate::kernel::KernelVersion;
use sysgate::policy::Policy;
use sysgate::profile::detect::{self, ReadOptions};
use sysgate::profile::diff::{diff, Difference};
use sysgate::profile::write::{Loss, Written};
use sysgate::profile::{docker, k8s, lxc, systemd, Target};
use sysgate::Arch;

fn target(arch: Arch) -> Target {
    Target::docker_default(arch).with_kernel(Some(KernelVersion::new(6, 1, 0)))
}

#[test]
fn every_fixture_parses_compiles_and_agrees_with_the_evaluator() {
    let Some(files) = shared::fixture_profiles() else {
        return;
    };
    assert!(files.len() >= 8, "{files:?}");
    for arch in [Arch::X86_64, Arch::Aarch64] {
        for file in &files {
            let spec = file.display().to_string();
            let read = detect::read(&spec, &target(arch), &ReadOptions::default())
                .unwrap_or_else(|e| panic!("{spec} on {arch}: {e}"));
            assert!(!read.profiles.is_empty(), "{spec}");
            for p in &read.profiles {
                let policy = &p.loaded.policy;
                let compiled = compile(policy).unwrap_or_else(|e| panic!("{spec}: {e}"));
                if let Some(m) = agree::first_mismatch(policy, &compiled) {
                    panic!("{spec} ({:?}) on {arch}: {m}", p.name);
                }
            }
        }
    }
}

fn docker_default() -> Option<Policy> {
    let text = shared::read("fixtures/profiles/docker-default.json")?;
    Some(
        docker::parse(&text, "docker-default.json", &target(Arch::X86_64))
            .unwrap()
            .policy,
    )
}

fn read_docker(w: &Written) -> Policy {
    docker::parse(&w.text, "back.json", &target(Arch::X86_64))
        .unwrap_or_else(|e| panic!("{e}\n{}", w.text))
        .policy
}

/// Every difference is one the writers said they made, and none lets through a call the
/// original refused unless a loss says MORE PERMISSIVE.
fn assert_losses_explain(original: &Policy, back: &Policy, losses: &[Loss]) {
    let named: BTreeSet<&str> = losses.iter().filter_map(|l| l.syscall.as_deref()).collect();
    let general: Vec<&str> = losses
        .iter()
        .filter(|l| l.syscall.is_none())
        .map(|l| l.message.as_str())
        .collect();
    let permissive: BTreeSet<&str> = losses
        .iter()
        .filter(|l| l.message.contains("MORE PERMISSIVE"))
        .filter_map(|l| l.syscall.as_deref())
        .collect();
    for d in diff(original, back) {
        match &d {
            Difference::OtherArches { .. } => assert!(
                general.iter().any(|g| g.contains("other architectures")),
                "unexplained: {d}\nlosses: {losses:#?}"
            ),
            Difference::Calls { name, a, b, .. } => {
                match name {
                    Some(n) => assert!(named.contains(n), "unexplained: {d}\nlosses: {losses:#?}"),
                    None => assert!(
                        general.iter().any(|g| g.contains("without a name")),
                        "unexplained: {d}\nlosses: {losses:#?}"
                    ),
                }
                if !a.permits() && b.permits() {
                    let n = name.unwrap_or("?");
                    assert!(permissive.contains(n), "widened without saying so: {d}");
                }
            }
            Difference::Unchecked { .. } => panic!("not compared everywhere: {d}"),
        }
    }
}

#[test]
fn docker_to_systemd_to_docker_keeps_the_policy_or_lists_the_losses() {
    let Some(original) = docker_default() else {
        return;
    };
    let unit = systemd::write(&original, None, &Default::default());
    let via = systemd::parse(&unit.text, "unit", &target(Arch::X86_64))
        .unwrap_or_else(|e| panic!("{e}\n{}", unit.text))
        .policy;
    let json = docker::write(&via, None, &Default::default());
    let back = read_docker(&json);
    let losses: Vec<Loss> = unit.losses.iter().chain(&json.losses).cloned().collect();
    // The conditional rules systemd cannot hold are among the losses.
    for name in ["clone", "personality", "socket"] {
        assert!(
            unit.losses
                .iter()
                .any(|l| l.syscall.as_deref() == Some(name)),
            "{name}: {:#?}",
            unit.losses
        );
    }
    assert_losses_explain(&original, &back, &losses);
}

#[test]
fn docker_to_lxc_to_docker_keeps_the_policy_but_names_the_host_lacks() {
    let Some(original) = docker_default() else {
        return;
    };
    let file = lxc::write(&original, None, &Default::default());
    let via = lxc::parse(&file.text, "lxc", &target(Arch::X86_64))
        .unwrap_or_else(|e| panic!("{e}\n{}", file.text))
        .policy;
    let json = docker::write(&via, None, &Default::default());
    let back = read_docker(&json);
    let losses: Vec<Loss> = file.losses.iter().chain(&json.losses).cloned().collect();
    assert_losses_explain(&original, &back, &losses);
    // LXC resolves names on the amd64 host: the x86 calls x86_64 has no name for (waitpid,
    // socketcall, ...) lose their rules, and only those.
    for d in diff(&original, &back) {
        match &d {
            Difference::Calls {
                name: Some(n),
                arch,
                ..
            } => assert!(
                Arch::X86_64.syscall_number(n).is_none() && *arch != Some(Arch::X86_64),
                "{d}"
            ),
            _ => panic!("{d}"),
        }
    }
    assert!(
        losses
            .iter()
            .any(|l| l.syscall.as_deref() == Some("waitpid") && l.message.contains("host")),
        "{losses:#?}"
    );
}

#[test]
fn docker_to_k8s_to_docker_keeps_the_policy() {
    let Some(original) = docker_default() else {
        return;
    };
    let resource = k8s::write(&original, None, &k8s::WriteOptions::named("docker-default"));
    let docs = k8s::read(
        &resource.text,
        "k8s.yaml",
        &target(Arch::X86_64),
        &k8s::ReadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", resource.text));
    let via = &docs[0].loaded.policy;
    let json = docker::write(via, None, &Default::default());
    let back = read_docker(&json);
    assert!(resource.losses.is_empty(), "{:#?}", resource.losses);
    assert!(
        diff(&original, &back).is_empty(),
        "{:#?}",
        diff(&original, &back)
    );
}

#[test]
fn lxc_and_k8s_fixtures_convert_to_every_format_without_widening() {
    let Some(files) = shared::fixture_profiles() else {
        return;
    };
    let t = target(Arch::X86_64);
    for file in files {
        let spec = file.display().to_string();
        let read = detect::read(&spec, &t, &ReadOptions::default()).unwrap();
        for p in &read.profiles {
            let original = &p.loaded.policy;
            let outputs: Vec<(&str, Written, Policy)> = {
                let d = docker::write(original, None, &Default::default());
                let dp = read_docker(&d);
                let s = systemd::write(original, None, &Default::default());
                let sp = systemd::parse(&s.text, "u", &t).unwrap().policy;
                let l = lxc::write(original, None, &Default::default());
                let lp = lxc::parse(&l.text, "l", &t).unwrap().policy;
                let k = k8s::write(original, None, &k8s::WriteOptions::named("p"));
                let kp = k8s::read(&k.text, "k", &t, &Default::default()).unwrap()[0]
                    .loaded
                    .policy
                    .clone();
                vec![
                    ("docker", d, dp),
                    ("systemd", s, sp),
                    ("lxc", l, lp),
                    ("k8s", k, kp),
                ]
            };
            for (format, written, back) in outputs {
                for d in diff(original, &back) {
                    if let Difference::Calls {
                        a, b, name, arch, ..
                    } = &d
                    {
                        if !a.permits() && b.permits() {
                            let n = name.unwrap_or("?");
                            let arch = arch.map_or("?", |a| a.name());
                            let said = |l: &Loss| {
                                l.message.contains("MORE PERMISSIVE")
                                    && (l.syscall.as_deref() == Some(n)
                                        || (l.syscall.is_none() && l.message.contains(arch)))
                            };
                            assert!(
                                written.losses.iter().any(said),
                                "{spec} ({:?}) -> {format} widens without saying so: {d}\n{}",
                                p.name,
                                written.text
                            );
                        }
                    }
                }
            }
        }
    }
}
