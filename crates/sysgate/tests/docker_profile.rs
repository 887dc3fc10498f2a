//! Docker's default seccomp profile (`../shared/fixtures/profiles/docker-default.json`) read
//! for amd64, Docker's default capabilities and kernel 6.1, checked against an independent
//! reading of the same JSON with `serde_json::Value`; plus `profile::load` on a whole OCI
//! `config.json` and on the Podman dialect.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use support::shared;
use sysgate::kernel::KernelVersion;
use sysgate::policy::{Action, DecidedBy, Errno, Policy};
use sysgate::profile::{self, docker, Loaded, Target};
use sysgate::Arch;

const FIXTURE: &str = "fixtures/profiles/docker-default.json";
const SOURCE: &str = "docker-default.json";

fn amd64() -> Target {
    Target::docker_default(Arch::X86_64).with_kernel(Some(KernelVersion::new(6, 1, 0)))
}

fn load(text: &str, target: &Target) -> Loaded {
    docker::parse(text, SOURCE, target).unwrap_or_else(|e| panic!("{e}"))
}

fn decide(policy: &Policy, arch: Arch, name: &str, args: [u64; 6]) -> Action {
    let nr = arch
        .syscall_number(name)
        .unwrap_or_else(|| panic!("{name} on {arch}"));
    policy.decide(arch, nr, &args).action
}

fn a0(v: u64) -> [u64; 6] {
    [v, 0, 0, 0, 0, 0]
}

/// What moby keeps of the profile for one target, read straight from the JSON.
struct Expected {
    default: Action,
    /// For each name with an unconditional rule, the most restrictive of their actions.
    unconditional: BTreeMap<String, Action>,
    /// Names with a rule that has argument conditions (checked one by one, not here).
    conditional: BTreeSet<String>,
    /// Every name of a kept rule, also those runc drops for having the default action: runc
    /// answers ENOSYS above the largest of their numbers on each architecture.
    named: BTreeSet<String>,
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn min_kernel(filter: &Value) -> Option<(u32, u32)> {
    let s = filter.get("minKernel")?.as_str()?;
    let (v, m) = s.split_once('.').expect("minKernel is <version>.<major>");
    Some((v.parse().unwrap(), m.parse().unwrap()))
}

/// moby's `setupSeccomp` filter, written out again.
fn kept(rule: &Value, docker_arch: &str, caps: &BTreeSet<String>, kernel: (u32, u32)) -> bool {
    if let Some(ex) = rule.get("excludes") {
        if strings(&ex["arches"]).contains(&docker_arch)
            || strings(&ex["caps"]).iter().any(|c| caps.contains(*c))
            || min_kernel(ex).is_some_and(|v| kernel >= v)
        {
            return false;
        }
    }
    if let Some(inc) = rule.get("includes") {
        let arches = strings(&inc["arches"]);
        if (!arches.is_empty() && !arches.contains(&docker_arch))
            || strings(&inc["caps"]).iter().any(|c| !caps.contains(*c))
            || min_kernel(inc).is_some_and(|v| kernel < v)
        {
            return false;
        }
    }
    true
}

/// The actions the default profile uses, as runc maps them.
fn action(name: &str, errno_ret: Option<u64>) -> Action {
    let errno = errno_ret.map_or(1, |e| u16::try_from(e).unwrap());
    match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(errno),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        other => panic!("the fixture now uses {other}: extend this test"),
    }
}

fn expected(profile: &Value, docker_arch: &str, target: &Target) -> Expected {
    let default = action(
        profile["defaultAction"].as_str().unwrap(),
        profile["defaultErrnoRet"].as_u64(),
    );
    let mut out = Expected {
        default,
        unconditional: BTreeMap::new(),
        conditional: BTreeSet::new(),
        named: BTreeSet::new(),
    };
    let kernel = target.kernel.map(|v| (v.major, v.minor)).unwrap();
    for rule in profile["syscalls"].as_array().unwrap() {
        if !kept(rule, docker_arch, &target.caps, kernel) {
            continue;
        }
        let act = action(rule["action"].as_str().unwrap(), rule["errnoRet"].as_u64());
        out.named
            .extend(strings(&rule["names"]).iter().map(|n| n.to_string()));
        if act == default {
            continue; // runc drops it
        }
        let names = strings(&rule["names"]);
        if rule["args"].as_array().is_some_and(|a| !a.is_empty()) {
            out.conditional.extend(names.iter().map(|n| n.to_string()));
        } else {
            for n in names {
                out.unconditional
                    .entry(n.to_string())
                    .and_modify(|a| *a = a.most_restrictive(act))
                    .or_insert(act);
            }
        }
    }
    out
}

/// Every syscall of `arch`'s table, decided with zero arguments, against the expectation.
fn mismatches(policy: &Policy, arch: Arch, want: &Expected) -> Vec<String> {
    let mut wrong = Vec::new();
    // runc's ENOSYS stub: above the largest number the profile names on this architecture.
    let largest = want
        .named
        .iter()
        .filter_map(|n| arch.syscall_number(n))
        .max()
        .expect("the profile names syscalls on every ABI of its filter");
    for (name, nr) in arch.table().iter() {
        if want.conditional.contains(name) {
            continue;
        }
        let expected = if nr > largest {
            Action::Errno(38)
        } else {
            want.unconditional
                .get(name)
                .copied()
                .unwrap_or(want.default)
        };
        let got = policy.decide(arch, nr, &[0; 6]).action;
        if got != expected {
            wrong.push(format!(
                "{arch} {name} ({nr}): expected {expected}, got {got}"
            ));
        }
    }
    wrong
}

#[test]
fn default_profile_for_amd64_has_x86_64_x86_and_x32() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let loaded = load(&text, &amd64());
    assert_eq!(loaded.policy.arches(), [Arch::X86, Arch::X86_64, Arch::X32]);
    assert_eq!(loaded.policy.default_action(), Action::Errno(1));
    assert_eq!(loaded.policy.attrs.bad_arch, Action::KillThread);
    assert!(loaded.listener.is_none());
}

#[test]
fn default_profile_allows_exactly_what_the_moby_rules_give() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let json: Value = serde_json::from_str(&text).unwrap();
    let target = amd64();
    let policy = load(&text, &target).policy;
    let want = expected(&json, "amd64", &target);
    assert_eq!(
        want.conditional,
        ["clone", "personality", "socket"]
            .map(String::from)
            .into_iter()
            .collect()
    );

    // The allowed names on x86_64, as a set: a readable diff when they differ.
    let allowed: BTreeSet<&str> = Arch::X86_64
        .table()
        .iter()
        .filter(|(name, _)| !want.conditional.contains(*name))
        .filter(|(_, nr)| policy.decide(Arch::X86_64, *nr, &[0; 6]).action == Action::Allow)
        .map(|(name, _)| name)
        .collect();
    let want_allowed: BTreeSet<&str> = want
        .unconditional
        .iter()
        .filter(|(name, a)| **a == Action::Allow && Arch::X86_64.syscall_number(name).is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    let extra: Vec<_> = allowed.difference(&want_allowed).collect();
    let missing: Vec<_> = want_allowed.difference(&allowed).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "allowed but not by moby's rules: {extra:?}\nmoby allows but the policy does not: {missing:?}"
    );
    assert!(allowed.len() > 300, "{}", allowed.len());

    // Every action, on all three ABIs of the filter.
    let mut wrong = Vec::new();
    for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
        wrong.extend(mismatches(&policy, arch, &want));
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn default_profile_answers_enosys_above_its_largest_syscall_like_runc() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let p = load(&text, &amd64()).policy;
    // The profile's largest x86_64 and i386 syscall is 466 (removexattrat); runc's stub answers
    // ENOSYS from 467 on, where the table still knows five more.
    for arch in [Arch::X86_64, Arch::X86] {
        assert_eq!(p.attrs.enosys_above.get(&arch), Some(&466), "{arch}");
        assert_eq!(p.decide(arch, 466, &[0; 6]).action, Action::Allow, "{arch}");
        for nr in 467..=471 {
            let d = p.decide(arch, nr, &[0; 6]);
            assert_eq!(d.action, Action::Errno(38), "{arch} {nr}");
            assert_eq!(d.by, DecidedBy::UnknownSyscall);
        }
    }
}

#[test]
fn default_profile_conditional_rules() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let p = load(&text, &amd64()).policy;
    let x = Arch::X86_64;
    // clone3 gets ENOSYS so that libc falls back to clone.
    assert_eq!(decide(&p, x, "clone3", [0; 6]), Action::Errno(38));
    // personality: only the listed personas.
    for persona in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(decide(&p, x, "personality", a0(persona)), Action::Allow);
    }
    assert_eq!(decide(&p, x, "personality", a0(0x12345)), Action::Errno(1));
    assert_eq!(
        decide(&p, x, "personality", a0(0x1_0000_0000)),
        Action::Errno(1)
    );
    // socket: every family but AF_ALG (38) and AF_VSOCK (40).
    for family in [1, 2, 10, 16, 37, 39, 41, 45] {
        assert_eq!(
            decide(&p, x, "socket", a0(family)),
            Action::Allow,
            "{family}"
        );
    }
    for family in [38, 40] {
        assert_eq!(
            decide(&p, x, "socket", a0(family)),
            Action::Errno(1),
            "{family}"
        );
    }
    // clone: no namespace flags without CAP_SYS_ADMIN.
    const SIGCHLD: u64 = 17;
    const CLONE_THREAD_FLAGS: u64 = 0x3d0f00;
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWNS: u64 = 0x0002_0000;
    assert_eq!(decide(&p, x, "clone", a0(SIGCHLD)), Action::Allow);
    assert_eq!(
        decide(&p, x, "clone", a0(CLONE_THREAD_FLAGS)),
        Action::Allow
    );
    for flag in [CLONE_NEWUSER, CLONE_NEWNS] {
        assert_eq!(decide(&p, x, "clone", a0(SIGCHLD | flag)), Action::Errno(1));
    }
    // The 32-bit ABI sees only the low word of the personality argument.
    assert_eq!(
        decide(&p, Arch::X86, "personality", a0(0xffff_ffff)),
        Action::Allow
    );
    // i386's direct socket call checks the family too.
    assert_eq!(decide(&p, Arch::X86, "socket", a0(40)), Action::Errno(1));
    assert_eq!(decide(&p, Arch::X86, "socket", a0(2)), Action::Allow);
    // socketcall(SYS_SOCKET, ...) cannot show the family to BPF. Docker allows socketcall
    // outright, so any family passes there; sysgate's policy never lets the multiplexed
    // path be more permissive than the direct one, so it gets the default (narrower than
    // Docker, on purpose). Other socketcall calls keep their unconditional rules.
    const SYS_SOCKET: u64 = 1;
    const SYS_BIND: u64 = 2;
    assert_eq!(
        decide(&p, Arch::X86, "socketcall", a0(SYS_SOCKET)),
        Action::Errno(1)
    );
    assert_eq!(
        decide(&p, Arch::X86, "socketcall", a0(SYS_BIND)),
        Action::Allow
    );
}

#[test]
fn capabilities_and_kernel_change_the_default_profile_like_moby() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let x = Arch::X86_64;
    let admin = load(&text, &amd64().with_cap("CAP_SYS_ADMIN")).policy;
    assert_eq!(decide(&admin, x, "clone3", [0; 6]), Action::Allow);
    assert_eq!(
        decide(&admin, x, "clone", a0(0x1000_0000 | 17)),
        Action::Allow
    );
    assert_eq!(decide(&admin, x, "mount", [0; 6]), Action::Allow);

    let default = load(&text, &amd64()).policy;
    assert_eq!(decide(&default, x, "mount", [0; 6]), Action::Errno(1));
    assert_eq!(decide(&default, x, "ptrace", [0; 6]), Action::Allow);
    assert_eq!(decide(&default, x, "reboot", [0; 6]), Action::Errno(1));

    // Before 4.8, ptrace could bypass seccomp: moby allows it only with CAP_SYS_PTRACE.
    let old = load(
        &text,
        &amd64().with_kernel(Some(KernelVersion::new(4, 4, 0))),
    )
    .policy;
    assert_eq!(decide(&old, x, "ptrace", [0; 6]), Action::Errno(1));
    let old_ptrace = load(
        &text,
        &amd64()
            .with_kernel(Some(KernelVersion::new(4, 4, 0)))
            .with_cap("CAP_SYS_PTRACE"),
    )
    .policy;
    assert_eq!(decide(&old_ptrace, x, "ptrace", [0; 6]), Action::Allow);

    // arm64 gets its archMap entry and its arch-specific rules, not amd64's.
    let arm64 = load(
        &text,
        &Target::docker_default(Arch::Aarch64).with_kernel(Some(KernelVersion::new(6, 1, 0))),
    )
    .policy;
    assert_eq!(arm64.arches(), [Arch::Arm, Arch::Aarch64]);
    assert_eq!(
        decide(&arm64, Arch::Arm, "arm_fadvise64_64", [0; 6]),
        Action::Allow
    );
    assert_eq!(
        decide(&amd64_policy(&text), Arch::X86_64, "arch_prctl", [0; 6]),
        Action::Allow
    );
}

fn amd64_policy(text: &str) -> Policy {
    load(text, &amd64()).policy
}

#[test]
fn every_rule_points_at_its_syscalls_entry() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let loaded = load(&text, &amd64());
    let lines: Vec<&str> = text.lines().collect();
    for rule in loaded.policy.rules() {
        let origin = rule.origin.as_deref().unwrap();
        let mut parts = origin.rsplitn(3, ':');
        let column: usize = parts.next().unwrap().parse().unwrap();
        let line: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(parts.next(), Some(SOURCE));
        // The fixture indents entries with two tabs: `{` is at column 3, and the entry runs
        // to the next line that is `\t\t}` with or without a comma.
        assert_eq!(lines[line - 1], "\t\t{", "{origin}");
        assert_eq!(column, 3, "{origin}");
        let body: Vec<&str> = lines[line..]
            .iter()
            .take_while(|l| !l.starts_with("\t\t}"))
            .copied()
            .collect();
        let quoted = format!("\"{}\"", rule.syscall);
        assert!(
            body.iter()
                .any(|l| l.trim_end_matches(',').trim() == quoted),
            "{origin} does not name {}",
            rule.syscall
        );
    }
    // The clone3 rule is the one that says ENOSYS.
    let clone3 = loaded.policy.decide(Arch::X86_64, 435, &[0; 6]);
    let DecidedBy::Rule(i) = clone3.by else {
        panic!("{clone3:?}")
    };
    let origin = loaded.policy.rules()[i].origin.clone().unwrap();
    let line: usize = origin.split(':').nth(1).unwrap().parse().unwrap();
    assert!(lines[line..line + 8]
        .iter()
        .any(|l| l.contains("\"errnoRet\": 38")));
}

#[test]
fn default_profile_warnings_are_only_about_names_these_arches_lack() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let loaded = load(&text, &amd64());
    for w in &loaded.warnings {
        assert!(
            w.starts_with("docker-default.json:")
                && w.contains("does not exist on x86, x86_64, x32"),
            "{w}"
        );
    }
}

#[test]
fn load_reads_the_file_and_an_oci_config_json_with_the_same_profile() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let target = amd64();
    let from_file = profile::load(shared::path(FIXTURE), &target).unwrap();
    let from_text = load(&text, &target);
    assert_eq!(
        from_file.policy.rules().len(),
        from_text.policy.rules().len()
    );
    let origin = from_file.policy.rules()[0].origin.clone().unwrap();
    assert!(
        origin.contains("fixtures/profiles/docker-default.json:"),
        "{origin}"
    );

    // The same profile as `linux.seccomp` of a config.json: runc reads it by the runtime
    // spec, which has none of moby's keys, so `archMap` and `includes`/`excludes` are ignored
    // (with a warning) and every entry applies.
    let profile: Value = serde_json::from_str(&text).unwrap();
    let config = json!({
        "ociVersion": "1.2.0",
        "process": {"args": ["sh"], "capabilities": {"bounding": ["CAP_KILL"]}},
        "root": {"path": "rootfs"},
        "linux": {"namespaces": [{"type": "pid"}], "seccomp": profile},
    });
    let path = std::env::temp_dir().join(format!("sysgate-config-{}.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let from_config = profile::load(&path, &target);
    std::fs::remove_file(&path).unwrap();
    let from_config = from_config.unwrap();
    assert_eq!(from_config.policy.arches(), [Arch::X86_64]);
    for key in ["archMap", "includes", "excludes"] {
        assert!(
            from_config
                .warnings
                .iter()
                .any(|w| w.contains(&format!("unknown key {key:?}"))),
            "{key}: {:?}",
            from_config.warnings
        );
    }
    let rules = |l: &Loaded| -> Vec<String> {
        l.policy
            .rules()
            .iter()
            .map(|r| format!("{} {} {:?}", r.action, r.syscall, r.conds))
            .collect()
    };
    // What CAP_SYS_ADMIN's entry allows moby drops for this target; runc keeps it.
    let (in_config, in_text) = (rules(&from_config), rules(&from_text));
    assert!(
        in_config.iter().any(|r| r.starts_with("ALLOW mount ")),
        "{in_config:?}"
    );
    assert!(!in_text.iter().any(|r| r.starts_with("ALLOW mount ")));

    let missing = profile::load("/nonexistent/profile.json", &target).unwrap_err();
    assert!(missing
        .to_string()
        .starts_with("cannot read /nonexistent/profile.json: "));
}

#[test]
fn podman_errno_names_override_the_numbers() {
    let Some(text) = shared::read(FIXTURE) else {
        return;
    };
    let mut profile: Value = serde_json::from_str(&text).unwrap();
    profile["defaultErrno"] = json!("ENOSYS");
    for rule in profile["syscalls"].as_array_mut().unwrap() {
        if strings(&rule["names"]) == ["clone3"] && rule.get("errnoRet").is_some() {
            rule["errno"] = json!("EPERM");
        }
    }
    let p = load(&profile.to_string(), &amd64()).policy;
    // A name stays a name, numbered per architecture.
    assert_eq!(p.default_action(), Action::NamedErrno(Errno::ENOSYS));
    assert_eq!(decide(&p, Arch::X86_64, "clone3", [0; 6]), Action::Errno(1));
    assert_eq!(decide(&p, Arch::X86_64, "mount", [0; 6]), Action::Errno(38));
}
