use super::*;

fn amd64() -> Target {
    Target::new(Arch::X86_64)
}

fn nr(name: &str) -> u32 {
    Arch::X86_64.syscall_number(name).unwrap()
}

#[test]
fn allowlist_trap_with_sections() {
    let text = "2\nallowlist trap\n[x86_64]\nread\n[arm64]\nwrite\n[ARM64]\nopen\n[X86]\nclose\n";
    let p = parse(text, "p", &amd64()).unwrap().policy;
    assert_eq!(p.default_action(), Action::Trap(0));
    assert_eq!(
        p.decide(Arch::X86_64, nr("read"), &[0; 6]).action,
        Action::Allow
    );
    // [x86] is read on an amd64 host, and its rules apply to every ABI of the filter.
    assert_eq!(
        p.decide(Arch::X86_64, nr("close"), &[0; 6]).action,
        Action::Allow
    );
    assert_eq!(p.decide(Arch::X86, 6, &[0; 6]).action, Action::Allow);
    // [arm64] is skipped on amd64.
    assert_eq!(
        p.decide(Arch::X86_64, nr("write"), &[0; 6]).action,
        Action::Trap(0)
    );
    assert!(!p.attrs.no_new_privs);
    // On arm64 only [arm64] (and [all]) count; lines before any section are [all] there.
    let p = parse(text, "p", &Target::new(Arch::Aarch64))
        .unwrap()
        .policy;
    assert_eq!(p.arches(), &[Arch::Arm, Arch::Aarch64]);
    assert_eq!(p.decide(Arch::Aarch64, 64, &[0; 6]).action, Action::Allow); // write
    assert_eq!(p.decide(Arch::Aarch64, 63, &[0; 6]).action, Action::Trap(0)); // read
}

#[test]
fn conditions_symbolic_and_named() {
    let text =
        "2\nblacklist errno 1\n# c\nsocket kill [0,16,==] [1,0x3,SCMP_CMP_MASKED_EQ,0xf] # x\n\
                clone errno 38 [0,010,<=]\n";
    let p = parse(text, "p", &amd64()).unwrap().policy;
    assert_eq!(p.default_action(), Action::Errno(1));
    let s = &p.rules()[0];
    assert_eq!(s.action, Action::KillThread);
    assert_eq!(s.conds[0], ArgCond::new(0, CmpOp::Eq, 16).unwrap());
    assert_eq!(
        s.conds[1],
        ArgCond::new(1, CmpOp::MaskedEq(0xf), 3).unwrap()
    );
    assert_eq!(
        p.rules()[1].conds[0],
        ArgCond::new(0, CmpOp::Le, 8).unwrap()
    );
    assert_eq!(s.origin.as_deref(), Some("p:4:1"));
}

#[test]
fn errors_name_line_and_column() {
    let cases: &[(&str, &str, &str)] = &[
        ("x\n", "p:1:1", "expected 1 or 2"),
        ("2\n", "p:2:1", "expected \"allowlist\" or \"denylist\""),
        ("2\nallowlist bogus\n", "p:2:11", "unknown default action"),
        ("1\ndenylist\n", "p:2:1", "allow list only"),
        (
            "2\nallowlist\n[amd64]\n",
            "p:3:1",
            "unsupported architecture section",
        ),
        (
            "2\nallowlist\n[Arm64]\n",
            "p:3:1",
            "unsupported architecture section",
        ),
        (
            "2\nallowlist\nread [0,1,==]\n",
            "p:3:6",
            "action before argument conditions",
        ),
        (
            "2\nallowlist\nread allow [6,1,==]\n",
            "p:3:13",
            "expected 0 to 5",
        ),
        (
            "2\nallowlist\nread allow [0,1,=~]\n",
            "p:3:17",
            "unknown operator",
        ),
        (
            "2\nallowlist\nread allow [0,x,==]\n",
            "p:3:15",
            "invalid value",
        ),
        ("2\nallowlist\nread allow [0,1]\n", "p:3:12", "has 2 fields"),
        (
            "2\nallowlist\nread errno 5000\n",
            "p:3:12",
            "expected a number from 0 to 4095",
        ),
        (
            "2\nallowlist\nread allow [0,1,==\n",
            "p:3:12",
            "without ']'",
        ),
        ("1\nallowlist\n12\nread\n", "p:4:1", "not a syscall number"),
    ];
    for (text, at, what) in cases {
        let err = parse(text, "p", &amd64()).unwrap_err();
        assert_eq!(err.location().to_string(), *at, "{text:?}: {err}");
        assert!(err.to_string().contains(what), "{text:?}: {err}");
    }
}

#[test]
fn unknown_names_are_skipped_with_a_warning() {
    let l = parse("2\ndenylist\nno_such_call\n", "p", &amd64()).unwrap();
    assert!(l.policy.rules().is_empty());
    assert!(l.warnings[0].contains("no_such_call"));
}

#[test]
fn v2_round_trip_keeps_every_rule() {
    let text = "2\nallowlist errno 1\n[all]\nread\nsocket kill [0,16,==]\nmount errno 13 [2,4096,&=,4096]\nptrace trap\n";
    let p = parse(text, "p", &amd64()).unwrap().policy;
    let w = write(&p, None, &WriteOptions::default());
    assert!(w.losses.is_empty(), "{:?}", w.losses);
    let back = parse(&w.text, "w", &amd64()).unwrap().policy;
    let strip = |p: &Policy| {
        let mut r: Vec<(Action, Syscall, Vec<ArgCond>)> = p
            .rules()
            .iter()
            .map(|r| (r.action, r.syscall.clone(), r.conds.clone()))
            .collect();
        r.sort();
        r
    };
    assert_eq!(strip(&back), strip(&p));
    assert_eq!(back.default_action(), p.default_action());
}

#[test]
fn v1_round_trip_and_losses() {
    let text = "1\nallowlist\n0\n1\n60\n";
    let p = parse(text, "p", &amd64()).unwrap().policy;
    let w = write(&p, None, &WriteOptions::version(LxcVersion::V1));
    assert_eq!(w.text, "1\nallowlist\n0\n1\n60\n");
    assert!(w.losses.is_empty(), "{:?}", w.losses);
    let p = parse("2\nallowlist errno 1\nread\nwrite errno 5\n", "p", &amd64())
        .unwrap()
        .policy;
    let w = write(&p, None, &WriteOptions::version(LxcVersion::V1));
    assert_eq!(w.text, "1\nallowlist\n0\n");
    let losses: Vec<String> = w.losses.iter().map(|l| l.to_string()).collect();
    assert!(
        losses
            .iter()
            .any(|l| l.starts_with("write: version 1 has only allow and kill")),
        "{losses:?}"
    );
    assert!(
        losses.iter().any(|l| l.contains("default is ERRNO(1")),
        "{losses:?}"
    );
}

#[test]
fn masked_eq_masks_the_expected_value_like_libseccomp() {
    // LXC hands [1,1000,&=,65280] to libseccomp, which compares a1 & 0xff00 with 0x300.
    let text = "2\ndenylist\n[x86_64]\nioctl errno 13 [1,1000,&=,65280]\n";
    let l = parse(text, "p", &amd64()).unwrap();
    let ioctl = |v: u64| {
        l.policy
            .decide(Arch::X86_64, nr("ioctl"), &[0, v, 0, 0, 0, 0])
            .action
    };
    assert_eq!(ioctl(0x3e8), Action::Errno(13));
    assert_eq!(ioctl(0x3ff), Action::Errno(13));
    assert_eq!(ioctl(0x400), Action::Allow);
    // (and the x32 argument-word warning: the rule refuses, amd64's filter has x32)
    assert_eq!(l.warnings.len(), 2, "{:?}", l.warnings);
    assert!(
        l.warnings[0].starts_with("p:4:") && l.warnings[0].contains("(a1 & 0xff00) == 0x300"),
        "{}",
        l.warnings[0]
    );
}

#[test]
fn readings_libseccomp_would_differ_on_are_warned() {
    let text = "2\ndenylist\nioctl errno 1 [1,4,>=] [1,8,<=]\nmount kill [0,0x100000005,==]\n";
    let l = parse(text, "p", &amd64()).unwrap();
    assert_eq!(l.warnings.len(), 4, "{:?}", l.warnings);
    assert!(
        l.warnings[0].starts_with("p:3:1: argument 1 is tested twice"),
        "{}",
        l.warnings[0]
    );
    // Both rules refuse with conditions, and amd64's filter has x32.
    for w in [&l.warnings[1], &l.warnings[2]] {
        assert!(w.contains("on x32 libseccomp compares only the low 32 bits of an argument"));
    }
    assert!(
        l.warnings[3].contains("on x86, x32 libseccomp compares only the low 32 bits"),
        "{}",
        l.warnings[3]
    );
    // s390x's filter has no 32-bit ABI: nothing to say about wide constants or x32.
    let l = parse(text, "p", &Target::new(Arch::S390x)).unwrap();
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
}

/// LXC resolves every rule's name on the host (`seccomp_syscall_resolve_name`, the native
/// architecture) and skips the rule when the host has no number for it ("Got negative return
/// value ... This syscall will NOT be handled by seccomp"), also in the filter's other ABIs
/// and in an `[x86]` section. sysgate applied `socketcall allow` to x86 on an amd64 host, so
/// an i386 binary's socketcall was allowed where LXC kills it.
#[test]
fn names_the_host_lacks_are_skipped_on_every_abi_as_lxc_skips_them() {
    let text = "2\nallowlist\n[all]\nread\nsocketcall\n[x86]\n_llseek\n";
    let l = parse(text, "p", &amd64()).unwrap();
    let p = &l.policy;
    let x86 = |name: &str| Arch::X86.syscall_number(name).unwrap();
    assert_eq!(
        p.decide(Arch::X86, x86("read"), &[0; 6]).action,
        Action::Allow
    );
    for name in ["socketcall", "_llseek"] {
        assert_eq!(
            p.decide(Arch::X86, x86(name), &[1, 0, 0, 0, 0, 0]).action,
            Action::KillThread,
            "{name}"
        );
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains(&format!("{name:?}")) && w.contains("x86_64 has no")),
            "{name}: {:?}",
            l.warnings
        );
    }
    // On an i386 host the same names are the host's own.
    let p = parse(text, "p", &Target::new(Arch::X86)).unwrap().policy;
    assert_eq!(
        p.decide(Arch::X86, x86("socketcall"), &[1, 0, 0, 0, 0, 0])
            .action,
        Action::Allow
    );
}

/// LXC splits a rule line at spaces only, skips no leading blanks and keeps a CR (lxc's
/// `parse_config_v2`, `get_v2_action`, `do_resolve_add_rule`): `read\t# c` and `read#c` name
/// no syscall, so the rule is skipped and an allow list does not allow `read`. sysgate cut the
/// comment and split at any whitespace, which allowed it.
#[test]
fn rule_lines_are_split_as_lxc_splits_them() {
    for line in ["read\t# allowed?", "read#c", "\tread"] {
        let text = format!("2\nallowlist\n[all]\n{line}\nwrite\n");
        let l = parse(&text, "p", &amd64()).unwrap();
        assert_eq!(
            l.policy.decide(Arch::X86_64, nr("read"), &[0; 6]).action,
            Action::KillThread,
            "{line:?}"
        );
        assert_eq!(
            l.policy.decide(Arch::X86_64, nr("write"), &[0; 6]).action,
            Action::Allow
        );
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains("up to its first space")),
            "{line:?}: {:?}",
            l.warnings
        );
    }
    // A space-separated comment still ends the rule; reject_force_umount's is the fixtures'.
    let l = parse(
        "2\ndenylist\nreject_force_umount  # not recommended\n[all]\nmount kill # c\n",
        "p",
        &amd64(),
    )
    .unwrap();
    assert!(
        !l.warnings.iter().any(|w| w.contains("first space")),
        "{:?}",
        l.warnings
    );
    assert_eq!(
        l.policy.decide(Arch::X86_64, nr("mount"), &[0; 6]).action,
        Action::KillThread
    );
    // What LXC refuses, sysgate refuses; blank-looking lines are nothing.
    for (text, words) in [
        ("2\nallowlist\n  read\n", "starts with a space"),
        ("2\nallowlist\n[all] # c\nread\n", "whole line"),
        ("2\nallowlist\r\n[all]\r\nread\r\n", "carriage return"),
    ] {
        let err = parse(text, "p", &amd64()).unwrap_err();
        assert!(err.to_string().contains(words), "{text:?}: {err}");
    }
    let l = parse("2\nallowlist\n   \n  # c\nread\n", "p", &amd64()).unwrap();
    assert_eq!(
        l.policy.decide(Arch::X86_64, nr("read"), &[0; 6]).action,
        Action::Allow
    );
}
