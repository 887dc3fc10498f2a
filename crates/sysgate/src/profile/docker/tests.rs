//! Unit tests of the Docker/OCI/Podman reader: every resolution rule and every error.

use super::*;
use crate::arch::Arch;
use crate::kernel::KernelVersion;
use crate::policy::{Action, ArgCond, CmpOp, DecidedBy, KernelFlags, Policy, Syscall};

fn target() -> Target {
    Target::docker_default(Arch::X86_64).with_kernel(Some(KernelVersion::new(6, 1, 0)))
}

fn load(text: &str) -> Loaded {
    load_for(text, &target())
}

fn load_for(text: &str, target: &Target) -> Loaded {
    parse(text, "t.json", target).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> DockerError {
    match parse(text, "t.json", &target()) {
        Ok(l) => panic!("expected an error, got {}", l.policy),
        Err(e) => e,
    }
}

/// A profile with default `default` and these rules (JSON objects, comma-separated).
fn profile(default: &str, rules: &str) -> String {
    format!("{{\"defaultAction\": \"{default}\", \"syscalls\": [{rules}]}}")
}

fn decide(policy: &Policy, name: &str, args: [u64; 6]) -> Action {
    let nr = Arch::X86_64.syscall_number(name).unwrap();
    policy.decide(Arch::X86_64, nr, &args).action
}

fn a0(v: u64) -> [u64; 6] {
    [v, 0, 0, 0, 0, 0]
}

/// Asserts what `name` gets on x86_64 for each argument list.
#[track_caller]
fn assert_decides(policy: &Policy, name: &str, cases: &[([u64; 6], Action)]) {
    for (args, want) in cases {
        assert_eq!(decide(policy, name, *args), *want, "{name}{args:?}");
    }
}

/// Asserts that the error is at `line:column` and its message contains `words`.
#[track_caller]
fn assert_error(err: &DockerError, line: usize, column: usize, words: &str) {
    let text = err.to_string();
    assert_eq!(
        (err.location().line, err.location().column),
        (line, column),
        "{text}"
    );
    assert!(
        text.starts_with(&format!("t.json:{line}:{column}: ")),
        "{text}"
    );
    assert!(text.contains(words), "{text:?} lacks {words:?}");
}

#[test]
fn scmp_act_kill_is_kill_thread() {
    let l = load(&profile(
        "SCMP_ACT_ALLOW",
        r#"{"names": ["ptrace"], "action": "SCMP_ACT_KILL"},
           {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
           {"names": ["kexec_load"], "action": "SCMP_ACT_KILL_THREAD"}"#,
    ));
    assert_eq!(decide(&l.policy, "ptrace", [0; 6]), Action::KillThread);
    assert_eq!(decide(&l.policy, "reboot", [0; 6]), Action::KillProcess);
    assert_eq!(decide(&l.policy, "kexec_load", [0; 6]), Action::KillThread);
}

#[test]
fn errno_ret_applies_to_errno_and_trace_with_eperm_by_default() {
    let l = load(&profile(
        "SCMP_ACT_ALLOW",
        r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO"},
           {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
           {"names": ["open"], "action": "SCMP_ACT_TRACE"},
           {"names": ["close"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
           {"names": ["stat"], "action": "SCMP_ACT_TRAP", "errnoRet": 7},
           {"names": ["fstat"], "action": "SCMP_ACT_LOG"},
           {"names": ["lstat"], "action": "SCMP_ACT_NOTIFY"}"#,
    ));
    let p = &l.policy;
    assert_eq!(decide(p, "read", [0; 6]), Action::Errno(1));
    assert_eq!(decide(p, "write", [0; 6]), Action::Errno(38));
    assert_eq!(decide(p, "open", [0; 6]), Action::Trace(1));
    assert_eq!(decide(p, "close", [0; 6]), Action::Trace(7));
    assert_eq!(decide(p, "stat", [0; 6]), Action::Trap(0));
    assert_eq!(decide(p, "fstat", [0; 6]), Action::Log);
    assert_eq!(decide(p, "lstat", [0; 6]), Action::UserNotif);
    assert!(p.attrs.flags.new_listener, "NOTIFY needs a listener fd");
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(
        l.warnings[0].starts_with("t.json:5:12: "),
        "{:?}",
        l.warnings
    );
    assert!(l.warnings[0].contains("only applies to SCMP_ACT_ERRNO"));
}

#[test]
fn default_errno_ret_goes_with_the_default_action() {
    let l = load(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": []}"#);
    assert_eq!(l.policy.default_action(), Action::Errno(38));
    let l = load(r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}"#);
    assert_eq!(l.policy.default_action(), Action::Errno(1));
    let l = load(r#"{"defaultAction": "SCMP_ACT_KILL_PROCESS"}"#);
    assert_eq!(l.policy.default_action(), Action::KillProcess);
}

#[test]
fn like_runc_bad_arch_kills_the_thread_and_enosys_above_the_largest_named_unless_allowing() {
    // Named: read (0), uname (63), openat (257) on x86_64; fchmodat (306), uname (122) on x86.
    let rules = r#"{"names": ["read", "uname", "openat"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO"}"#;
    let l = load(&format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [{rules}]}}"#
    ));
    let p = &l.policy;
    assert_eq!(p.attrs.bad_arch, Action::KillThread);
    assert!(!p.attrs.enosys_for_unknown_syscalls);
    // fchmodat has the default action, so runc drops its rule, but it still counts.
    let expected = [(Arch::X86, 306), (Arch::X86_64, 268)];
    assert_eq!(p.attrs.enosys_above, expected.into_iter().collect());
    assert_eq!(
        p.decide(Arch::Aarch64, 63, &[0; 6]).action,
        Action::KillThread
    );
    for (arch, n) in expected {
        assert_eq!(
            p.decide(arch, n, &[0; 6]).action,
            Action::Errno(1),
            "{arch}"
        );
        let above = p.decide(arch, n + 1, &[0; 6]);
        assert_eq!(above.action, Action::Errno(38), "{arch}");
        assert_eq!(above.by, DecidedBy::UnknownSyscall);
        // clone3 (435) gets ENOSYS, as under Docker, though the table knows it.
        assert_eq!(p.decide(arch, 435, &[0; 6]).action, Action::Errno(38));
    }
    // nr == -1 too, where runc's stub compares it: on x86, not on x86_64, where a number with
    // the x32 bit goes to x32's section, and this profile has no x32.
    assert_eq!(
        p.decide(Arch::X86, u32::MAX, &[0; 6]).action,
        Action::Errno(38)
    );
    assert_eq!(
        p.decide(Arch::X86_64, u32::MAX, &[0; 6]).action,
        Action::Errno(1)
    );
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"] {
        let l = load(&profile(default, rules));
        assert!(l.policy.attrs.enosys_above.is_empty(), "{default}");
        assert!(!l.policy.attrs.enosys_for_unknown_syscalls, "{default}");
    }
}

#[test]
fn enosys_thresholds_per_abi_x32_over_its_own_numbers_and_s390_setup() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}"#,
    ));
    let p = &l.policy;
    // No architectures listed: the native one is always in, with its threshold.
    assert_eq!(p.arches(), &[Arch::X86_64]);
    assert_eq!(p.attrs.enosys_above.get(&Arch::X86_64), Some(&1));
    assert_eq!(p.decide(Arch::X86_64, 2, &[0; 6]).action, Action::Errno(38));
    let l = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read", "write", "uname"], "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    let p = &l.policy;
    let x32 = 0x4000_0000;
    assert_eq!(p.attrs.enosys_above.get(&Arch::X32), Some(&(x32 + 63)));
    assert_eq!(p.decide(Arch::X32, x32 + 63, &[0; 6]).action, Action::Allow);
    assert_eq!(
        p.decide(Arch::X32, x32 + 64, &[0; 6]).action,
        Action::Errno(38)
    );
    assert_eq!(
        p.decide(Arch::X86_64, 64, &[0; 6]).action,
        Action::Errno(38)
    );
    let s390x = Target::docker_default(Arch::S390x);
    let l = load_for(
        &profile(
            "SCMP_ACT_ERRNO",
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#,
        ),
        &s390x,
    );
    let p = &l.policy;
    assert_eq!(p.decide(Arch::S390x, 0, &[0; 6]).action, Action::Errno(38));
    assert_eq!(p.decide(Arch::S390x, 1, &[0; 6]).action, Action::Errno(1));
    assert_eq!(p.decide(Arch::S390x, 3, &[0; 6]).action, Action::Allow);
    assert_eq!(p.decide(Arch::S390x, 4, &[0; 6]).action, Action::Errno(38));
}

#[test]
fn podman_errno_names_take_precedence_over_numbers() {
    let l = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "defaultErrno": "ENOSYS",
            "syscalls": [
              {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "EACCES"},
              {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errno": "5"},
              {"names": ["open"], "action": "SCMP_ACT_ERRNO", "errno": 22},
              {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9, "errno": ""}
            ]}"#,
    );
    let p = &l.policy;
    // Names stay names, numbered per architecture; numbers stay numbers.
    assert_eq!(
        p.default_action(),
        Action::NamedErrno(crate::policy::Errno::ENOSYS)
    );
    assert_eq!(decide(p, "read", [0; 6]), Action::Errno(13));
    assert_eq!(decide(p, "write", [0; 6]), Action::Errno(5));
    assert_eq!(decide(p, "open", [0; 6]), Action::Errno(22));
    assert_eq!(decide(p, "close", [0; 6]), Action::Errno(9));
    assert_eq!(decide(p, "getpid", [0; 6]), Action::Errno(38));
}

#[test]
fn errno_names_are_numbered_per_architecture_and_numbers_are_not() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                     {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                     {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errno": "EDQUOT"}]}"#;
    for (arch, enosys, edquot) in [
        (Arch::X86_64, 38, 122),
        (Arch::Mipsel64, 89, 1133),
        (Arch::Mips, 89, 1133),
        (Arch::Parisc, 251, 69),
    ] {
        let p = load_for(text, &Target::new(arch)).policy;
        let nr = |n| arch.syscall_number(n).unwrap();
        let getpid = p.decide(arch, nr("getpid"), &[0; 6]).action;
        assert_eq!(getpid, Action::Errno(enosys), "{arch}");
        // runc passes a number through: 38 on mips is EL2NSYNC, and stays 38.
        let ptrace = p.decide(arch, nr("ptrace"), &[0; 6]).action;
        assert_eq!(ptrace, Action::Errno(38), "{arch}");
        let mount = p.decide(arch, nr("mount"), &[0; 6]).action;
        assert_eq!(mount, Action::Errno(edquot), "{arch}");
    }
}

#[test]
fn a_rule_with_the_default_action_is_dropped_like_runc_does() {
    // Under "most restrictive wins" an ERRNO(1) rule for socket would beat the allow rule;
    // runc never adds it, so socket(AF_UNIX) is allowed.
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["socket"], "action": "SCMP_ACT_ERRNO"},
           {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(l.policy.rules().len(), 1);
    assert_eq!(decide(&l.policy, "socket", a0(1)), Action::Allow);
    assert_eq!(decide(&l.policy, "socket", a0(2)), Action::Errno(1));
}

#[test]
fn arch_map_picks_the_targets_entry_and_its_sub_architectures() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [
          {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
          {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
          {"architecture": "SCMP_ARCH_LOONGARCH64", "subArchitectures": null}
        ],
        "syscalls": []}"#;
    let arches = |arch| load_for(text, &Target::new(arch)).policy.arches().to_vec();
    assert_eq!(arches(Arch::X86_64), [Arch::X86, Arch::X86_64, Arch::X32]);
    assert_eq!(arches(Arch::Aarch64), [Arch::Arm, Arch::Aarch64]);
    assert_eq!(arches(Arch::Loongarch64), [Arch::Loongarch64]);
    // No entry for the target: the native architecture alone, as libseccomp starts.
    assert_eq!(arches(Arch::S390x), [Arch::S390x]);
}

#[test]
fn architectures_list_adds_to_the_native_one() {
    let l = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": []}"#,
    );
    assert_eq!(l.policy.arches(), [Arch::X86, Arch::X86_64]);
}

#[test]
fn architectures_of_both_byte_orders_are_refused_where_they_are_listed() {
    let err = error(
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"architectures\": [\"SCMP_ARCH_PPC64\"]}",
    );
    assert!(matches!(err, DockerError::Policy { .. }));
    assert_error(
        &err,
        2,
        20,
        "ppc64 is Big-endian but the policy already has x86_64",
    );
}

#[test]
fn includes_and_excludes_follow_moby() {
    let rules = r#"
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        {"names": ["openat"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
        {"names": ["close"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_CHOWN", "CAP_KILL"]}},
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_CHOWN", "CAP_SYS_ADMIN"]}},
        {"names": ["fstat"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_KILL"]}},
        {"names": ["getuid"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["ppoll"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "6.1"}},
        {"names": ["lseek"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "6.2"}},
        {"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "6.1"}},
        {"names": ["mprotect"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "6.2"}},
        {"names": ["munmap"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.10", "caps": []}, "excludes": {}},
        {"names": ["brk"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": []}}"#;
    let text = profile("SCMP_ACT_ERRNO", rules);
    let allowed = |target: &Target| -> Vec<String> {
        let mut names: Vec<String> = load_for(&text, target)
            .policy
            .rules()
            .iter()
            .map(|r| r.syscall.to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        allowed(&target()),
        ["brk", "close", "getuid", "mprotect", "munmap", "ppoll", "read"]
    );
    // An older kernel, another architecture, other capabilities.
    let t = target().with_kernel(Some(KernelVersion::new(5, 4, 0)));
    assert_eq!(
        allowed(&t),
        ["brk", "close", "getuid", "mmap", "mprotect", "read"]
    );
    let t = Target::new(Arch::Aarch64).with_kernel(Some(KernelVersion::new(6, 2, 0)));
    assert_eq!(
        allowed(&t),
        ["brk", "fstat", "getuid", "lseek", "munmap", "openat", "ppoll", "write"]
    );
    let t = target()
        .with_cap("CAP_SYS_ADMIN")
        .with_kernel(Some(KernelVersion::new(7, 0, 0)));
    assert_eq!(
        allowed(&t),
        ["brk", "close", "getpid", "lseek", "munmap", "ppoll", "read"]
    );
    // An unknown kernel is newer than any minKernel.
    let t = target().with_kernel(None);
    assert_eq!(
        allowed(&t),
        ["brk", "close", "getuid", "lseek", "munmap", "ppoll", "read"]
    );
}

#[test]
fn moby_and_podman_spellings_of_the_target_architecture_both_match() {
    let text = profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["mips3l64n32"]}},
           {"names": ["write"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["mipsel64n32"]}},
           {"names": ["open"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["x86_64"]}}"#,
    );
    let l = load_for(&text, &Target::new(Arch::Mipsel64n32));
    assert_eq!(l.policy.rules().len(), 2);
    let l = load_for(&text, &Target::new(Arch::X86_64));
    assert_eq!(l.policy.rules().len(), 0, "Docker says amd64, not x86_64");
}

#[test]
fn conditions_on_different_arguments_are_anded_in_one_rule() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 2, "value": 4, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0}]}"#,
    ));
    assert_eq!(l.policy.rules().len(), 1);
    assert_eq!(
        l.policy.rules()[0].conds,
        [
            ArgCond::new(0, CmpOp::Eq, 0).unwrap(),
            ArgCond::new(2, CmpOp::MaskedEq(4), 0).unwrap()
        ]
    );
    let deny = Action::Errno(1);
    assert_decides(
        &l.policy,
        "mmap",
        &[
            ([0, 0, 3, 0, 0, 0], Action::Allow),
            ([0, 0, 7, 0, 0, 0], deny),
            ([1, 0, 3, 0, 0, 0], deny),
        ],
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn conditions_on_the_same_argument_are_ored() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(l.policy.rules().len(), 3);
    assert!(l.policy.rules().iter().all(|r| r.conds.len() == 1));
    let (allow, deny) = (Action::Allow, Action::Errno(1));
    assert_decides(
        &l.policy,
        "personality",
        &[
            (a0(0), allow),
            (a0(8), allow),
            (a0(0xffff_ffff), allow),
            (a0(1), deny),
            (a0(9), deny),
            (a0(0x1_0000_0000), deny),
        ],
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn a_repeated_index_with_other_indexes_takes_the_narrower_reading_and_warns() {
    // runc (and crun) add each condition as its own rule as soon as an index repeats, so
    // `a0 == 1 || a0 == 2 || a1 == 3`, not `(a0 == 1 || a0 == 2) && a1 == 3`.
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    // An allow: the narrower reading, (a0 == 1 || a0 == 2) && a1 == 3.
    assert_eq!(l.policy.rules().len(), 2);
    let (allow, deny) = (Action::Allow, Action::Errno(1));
    assert_decides(
        &l.policy,
        "socket",
        &[
            ([1, 3, 0, 0, 0, 0], allow),
            ([2, 3, 0, 0, 0, 0], allow),
            // runc would allow these; sysgate does not.
            ([1, 0, 0, 0, 0, 0], deny),
            ([9, 3, 0, 0, 0, 0], deny),
        ],
    );
    assert_eq!(l.warnings.len(), 1);
    assert!(l.warnings[0].contains("narrower"), "{:?}", l.warnings);
    assert!(
        l.warnings[0].contains("runc ORs every condition, which would permit more;"),
        "one sentence, no run of spaces: {:?}",
        l.warnings
    );

    // A deny: runc's reading, every condition ORed, denies more.
    let l = load(&profile(
        "SCMP_ACT_ALLOW",
        r#"{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(l.policy.rules().len(), 3);
    assert_decides(
        &l.policy,
        "socket",
        &[
            ([9, 3, 0, 0, 0, 0], deny),
            ([1, 0, 0, 0, 0, 0], deny),
            ([9, 9, 0, 0, 0, 0], allow),
        ],
    );
    assert!(l.warnings[0].contains("denies more"), "{:?}", l.warnings);
    assert!(
        l.warnings[0].contains("runc adds each condition as a rule of its own,"),
        "one sentence, no run of spaces: {:?}",
        l.warnings
    );
}

#[test]
fn masked_eq_takes_the_mask_from_value_and_the_expected_value_from_value_two() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
           {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 255, "valueTwo": 17, "op": "SCMP_CMP_MASKED_EQ"}]}"#,
    ));
    let p = &l.policy;
    assert_eq!(decide(p, "clone", a0(0x11)), Action::Allow);
    assert_eq!(decide(p, "clone", a0(0x1000_0000)), Action::Errno(1)); // CLONE_NEWUSER
    assert_eq!(decide(p, "unshare", a0(0x1711)), Action::Allow);
    assert_eq!(decide(p, "unshare", a0(0x12)), Action::Errno(1));
}

#[test]
fn every_rule_carries_the_position_of_its_entry_even_after_braces_in_strings() {
    let text = "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"syscalls\": [\n  {\"comment\": \"}]{[\\\" tricky\", \"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n\t{\"names\": [\"close\"],\n   \"action\": \"SCMP_ACT_ALLOW\"}]}";
    let l = load(text);
    let origins: Vec<(String, &str)> = l
        .policy
        .rules()
        .iter()
        .map(|r| (r.syscall.to_string(), r.origin.as_deref().unwrap()))
        .collect();
    assert_eq!(
        origins,
        [
            ("read".to_string(), "t.json:3:3"),
            ("write".to_string(), "t.json:3:3"),
            ("close".to_string(), "t.json:4:2")
        ]
    );
}

#[test]
fn unknown_names_are_skipped_with_a_warning_or_refused_in_strict_mode() {
    let text = profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["read", "no_such_syscall", "arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW"}"#,
    );
    let l = load(&text);
    let names: Vec<&Syscall> = l.policy.rules().iter().map(|r| &r.syscall).collect();
    assert_eq!(names, [&Syscall::Name("read".into())]);
    assert_eq!(l.warnings.len(), 2, "{:?}", l.warnings);
    assert!(l.warnings[0].starts_with("t.json:1:69: unknown syscall \"no_such_syscall\""));
    assert!(
        l.warnings[1].contains("\"arm_fadvise64_64\" does not exist on x86_64"),
        "{:?}",
        l.warnings
    );
    let err = read_one(&text, "t.json", &target(), &ReadOptions::strict()).unwrap_err();
    assert_error(&err, 1, 69, "unknown syscall \"no_such_syscall\"");
}

#[test]
fn names_some_target_arches_lack_stay_in_the_policy() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["chown32"], "action": "SCMP_ACT_ALLOW"}"#,
    ));
    // chown32 is i386's; without archMap or architectures the policy has only x86_64.
    assert!(l.policy.rules().is_empty());
    let l = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [{"name": "chown32", "action": "SCMP_ACT_ALLOW"}]}"#,
    );
    assert_eq!(l.policy.rules().len(), 1);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(
        l.policy.decide(Arch::X86, 212, &[0; 6]).action,
        Action::Allow
    );
}

#[test]
fn the_old_single_name_form_works() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"name": "read", "action": "SCMP_ACT_ALLOW"}, {"name": "", "names": ["write"], "action": "SCMP_ACT_ALLOW"}"#,
    ));
    assert_eq!(l.policy.rules().len(), 2);
}

#[test]
fn flags_map_to_kernel_flags_and_default_to_spec_allow() {
    let l = load(&profile("SCMP_ACT_ERRNO", ""));
    assert_eq!(
        l.policy.attrs.flags,
        KernelFlags {
            spec_allow: true,
            ..KernelFlags::default()
        }
    );
    let l = load(r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": []}"#);
    assert_eq!(l.policy.attrs.flags, KernelFlags::default());
    let l = load(
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            "SECCOMP_FILTER_FLAG_TSYNC_ESRCH", "SECCOMP_FILTER_FLAG_NEW_LISTENER"]}"#,
    );
    assert_eq!(
        l.policy.attrs.flags,
        KernelFlags {
            tsync: true,
            log: true,
            spec_allow: false,
            new_listener: true,
            tsync_esrch: true,
            wait_killable_recv: true,
        }
    );
}

#[test]
fn listener_fields_are_returned_beside_the_policy() {
    let l = load(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
            "listenerMetadata": "hello",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}"#,
    );
    assert_eq!(
        l.listener,
        Some(Listener {
            path: "/run/agent.sock".into(),
            metadata: "hello".into()
        })
    );
    assert!(l.policy.attrs.flags.new_listener);
    assert_eq!(decide(&l.policy, "mount", [0; 6]), Action::UserNotif);
}

#[test]
fn no_default_action_and_no_rules_is_unconfined() {
    for text in ["{}", r#"{"defaultAction": "", "syscalls": null}"#] {
        let l = load(text);
        assert_eq!(l.policy.default_action(), Action::Allow);
        assert!(l.policy.rules().is_empty());
        assert!(
            l.warnings[0].contains("without seccomp"),
            "{:?}",
            l.warnings
        );
    }
}

#[test]
fn oci_config_json_and_bare_linux_seccomp_are_read() {
    let config = r#"{
  "ociVersion": "1.2.0",
  "process": {"args": ["sh"], "capabilities": {"bounding": ["CAP_KILL"]}},
  "linux": {
    "namespaces": [{"type": "pid"}],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
      ]
    }
  }
}"#;
    let l = load(config);
    let p = &l.policy;
    assert_eq!(p.arches(), [Arch::X86, Arch::X86_64, Arch::X32]);
    assert_eq!(p.default_action(), Action::Errno(38));
    assert!(p.attrs.flags.log && !p.attrs.flags.spec_allow);
    assert_eq!(decide(p, "write", [0; 6]), Action::Allow);
    assert_eq!(decide(p, "personality", a0(8)), Action::Allow);
    assert_eq!(decide(p, "personality", a0(0)), Action::Errno(38));
    assert_eq!(p.rules()[0].origin.as_deref(), Some("t.json:12:9"));
    assert_eq!(p.rules()[2].origin.as_deref(), Some("t.json:13:9"));

    // The same object on its own.
    let start = config.find("{\n      \"defaultAction\"").unwrap();
    let end = config.rfind("}\n  }").unwrap() + 1;
    let bare = load(&config[start..end]);
    assert_eq!(&bare.policy.rules()[0].conds, &p.rules()[0].conds);
    assert_eq!(bare.policy.arches(), p.arches());
    assert_eq!(bare.policy.rules()[0].origin.as_deref(), Some("t.json:7:9"));
}

#[test]
fn errors_name_their_location_and_what_was_expected() {
    let cases: &[(&str, usize, usize, &str)] = &[
        // Not JSON.
        ("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",,\n}", 2, 37, "not valid JSON"),
        ("{\"defaultAction\": \"SCMP_ACT_ERRNO\"", 1, 34, "EOF"),
        ("", 1, 1, "EOF"),
        ("[1]", 1, 1, "invalid type: sequence, expected a seccomp profile or OCI config.json object"),
        // Unknown action, default or in a rule.
        (
            "{\"defaultAction\": \"SCMP_ACT_ALLOWED\"}",
            1,
            19,
            "unknown action \"SCMP_ACT_ALLOWED\": expected one of SCMP_ACT_KILL, ",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\"syscalls\": [{\"names\": [\"read\"],\n \"action\": \"scmp_act_allow\"}]}",
            3,
            12,
            "unknown action \"scmp_act_allow\"",
        ),
        // Unknown operator.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQUAL\"}]}]}",
            2,
            42,
            "unknown operator \"SCMP_CMP_EQUAL\": expected one of SCMP_CMP_NE, ",
        ),
        // Argument index above 5.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
            2,
            21,
            "argument index 6 is out of range: expected 0 to 5",
        ),
        // errno above 4095.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n \"defaultErrnoRet\": 4096}",
            2,
            21,
            "errno 4096 is out of range: expected 0 to 4095",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errno\": \"EWHAT\"}]}",
            1,
            107,
            "unknown errno \"EWHAT\": expected an errno name such as \"EPERM\"",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrno\": \"70000\"}",
            1,
            53,
            "errno 70000 is out of range",
        ),
        // A value that does not fit 64 bits, or is negative, or not an integer.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"args\": [{\"index\": 0, \"value\": 18446744073709551616, \"op\": \"SCMP_CMP_EQ\"}]}]}",
            2,
            33,
            "does not fit in 64 bits: expected an integer from 0 to 18446744073709551615",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"args\": [{\"index\": 0, \"valueTwo\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
            2,
            36,
            "value -1 does not fit in unsigned 64 bits",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"args\": [{\"index\": 0, \"value\": 1.5, \"op\": \"SCMP_CMP_EQ\"}]}]}",
            2,
            33,
            "value 1.5 is not an integer",
        ),
        // Both name and names.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [\n  {\"name\": \"read\", \"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
            2,
            3,
            "both \"name\" and \"names\"",
        ),
        // Both architectures and archMap.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_X86\"],\n \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}",
            2,
            13,
            "both \"architectures\" and \"archMap\"",
        ),
        // Unknown architecture name.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [\"SCMP_ARCH_AMD64\"]}",
            1,
            55,
            "unknown architecture \"SCMP_ARCH_AMD64\": expected one of SCMP_ARCH_X86, SCMP_ARCH_X86_64,",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{\"architecture\": \"amd64\"}]}",
            1,
            66,
            "unknown architecture \"amd64\"",
        ),
        // Unknown flag, bad minKernel, empty name, wrong types.
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"flags\": [\"SECCOMP_FILTER_FLAG_FAST\"]}",
            1,
            47,
            "unknown flag \"SECCOMP_FILTER_FLAG_FAST\": expected one of SECCOMP_FILTER_FLAG_TSYNC",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"4.8.1\"}}]}",
            1,
            124,
            "invalid kernel version \"4.8.1\": expected \"<version>.<major>\"",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
            1,
            69,
            "empty syscall name",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": \"read\", \"action\": \"SCMP_ACT_ALLOW\"}]}",
            1,
            60,
            "invalid type: string \"read\", expected a sequence",
        ),
        (
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"]}]}",
            1,
            68,
            "missing field `action`",
        ),
        // Rules without a default action.
        (
            "\n {\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
            2,
            2,
            "no \"defaultAction\"",
        ),
        // A config.json without a seccomp section.
        (
            "{\"ociVersion\": \"1.0.2\",\n \"linux\": {\"namespaces\": []}}",
            2,
            11,
            "no \"linux\": {\"seccomp\": ...}",
        ),
    ];
    let mut wrong = Vec::new();
    for (text, line, column, words) in cases {
        let err = error(text);
        let (l, c) = (err.location().line, err.location().column);
        let message = err.to_string();
        if (l, c) != (*line, *column) || !message.contains(words) {
            wrong.push(format!(
                "expected {line}:{column} {words:?}\n     got {message}"
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn error_kinds_are_told_apart() {
    assert!(matches!(error("{"), DockerError::Syntax { .. }));
    assert!(matches!(
        error("{\"defaultAction\": \"X\"}"),
        DockerError::Invalid { .. }
    ));
    assert!(matches!(
        error("{\"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ALLOW\"}]}"),
        DockerError::MissingDefaultAction { .. }
    ));
}

/// The same document with every object key in upper case.
fn upper_keys(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_uppercase(), upper_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(upper_keys).collect()),
        other => other,
    }
}

#[test]
fn keys_match_fields_ignoring_case_like_go() {
    // Every field of every object, once.
    let profiles = [
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13, "defaultErrno": "ENOSYS",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/s", "listenerMetadata": "m",
            "syscalls": [
              {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "comment": "c",
               "args": [{"index": 1, "value": 7, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}],
               "includes": {"caps": ["CAP_KILL"], "arches": ["amd64"], "minKernel": "4.0"},
               "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"], "minKernel": "9.0"}},
              {"name": "read", "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "errno": "EIO"}]}"#,
        r#"{"ociVersion": "1.0.0", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"}]}}}"#,
    ];
    for text in profiles {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let lower = load(&value.to_string());
        let upper = load(&upper_keys(value).to_string());
        assert_eq!(upper, lower);
        assert!(!lower.policy.rules().is_empty());
    }
    // Exact matches first, then Go's folding (long s folds to s).
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
            "argſ": [{"Index": 0, "VALUE": 1, "oP": "SCMP_CMP_EQ"}]}"#,
    ));
    assert_eq!(decide(&l.policy, "socket", a0(1)), Action::Allow);
    assert_eq!(decide(&l.policy, "socket", a0(2)), Action::Errno(1));
}

#[test]
fn objects_must_be_objects_not_arrays_of_their_fields() {
    // serde's derived structs would take `["read"]`-style arrays positionally; Go does not.
    let err = error(&profile(
        "SCMP_ACT_ERRNO",
        r#"[["read"], "SCMP_ACT_ALLOW"]"#,
    ));
    assert_error(
        &err,
        1,
        50,
        "invalid type: sequence, expected a syscall rule object",
    );
}

#[test]
fn decided_by_points_at_rules_with_origins() {
    let l = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#,
    ));
    let d = l.policy.decide(Arch::X86_64, 0, &[0; 6]);
    let DecidedBy::Rule(i) = d.by else {
        panic!("{d:?}")
    };
    assert_eq!(l.policy.rules()[i].origin.as_deref(), Some("t.json:1:50"));
}

const SEED_PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "flags": ["SECCOMP_FILTER_FLAG_LOG"], "listenerPath": "/s",
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "{[\"]}"},
    {"name": "personality", "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}, {"index": 0, "value": 1, "op": "SCMP_CMP_NE"}],
     "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "errno": "ENOSYS", "includes": {"minKernel": "5.3"}}
  ]
}"#;

/// The byte ranges of string literals and numbers in `text`.
fn tokens(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let start = i;
        if text[i] == b'"' {
            i += 1;
            while i < text.len() && text[i] != b'"' {
                i += if text[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(text.len());
            out.push((start, i));
        } else if text[i].is_ascii_digit() {
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Mostly mutations that keep the text JSON (a string or number swapped for another value),
/// so the fuzzing reaches the resolver, plus plain damage.
fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "null",
        "true",
        "0",
        "-1",
        "5",
        "6",
        "4095",
        "4096",
        "1e400",
        "1.5",
        "18446744073709551615",
        "18446744073709551616",
        "\"\"",
        "\"SCMP_ACT_KILL\"",
        "\"SCMP_ACT_NOTIFY\"",
        "\"SCMP_ACT_ERRNO\"",
        "\"SCMP_ARCH_PPC64\"",
        "\"SCMP_ARCH_X86\"",
        "\"SCMP_CMP_GT\"",
        "\"names\"",
        "\"name\"",
        "\"args\"",
        "\"index\"",
        "\"architectures\"",
        "\"linux\"",
        "\"seccomp\"",
        "\"ociVersion\"",
        "\"errno\"",
        "\"EPERM\"",
        "\"minKernel\"",
        "\"0.0\"",
        "\"4.8\"",
        "\"amd64\"",
        "\"CAP_SYS_ADMIN\"",
        "\"no_such\"",
        "\"é\"",
        "[]",
        "{}",
        "[\"read\", \"socketcall\"]",
        "{\"index\": 5, \"value\": 1, \"op\": \"SCMP_CMP_LE\"}",
    ];
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.usize(..3) {
        let piece = PIECES[rng.usize(..PIECES.len())].as_bytes();
        let at = rng.usize(..bytes.len() + 1);
        match rng.usize(..6) {
            0..=2 => {
                let spans = tokens(&bytes);
                if let Some(&(from, to)) = spans.get(rng.usize(..spans.len().max(1))) {
                    bytes.splice(from..to, piece.iter().copied());
                }
            }
            3 => {
                bytes.splice(at..at, piece.iter().copied());
            }
            4 if at < bytes.len() => {
                let end = (at + 1 + rng.usize(..20)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                // Duplicate a slice elsewhere (repeats keys, entries, conditions).
                let from = rng.usize(..bytes.len());
                let len = rng.usize(..60).min(bytes.len() - from);
                let slice = bytes[from..from + len].to_vec();
                bytes.splice(at..at, slice);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_profiles_never_panic_and_errors_point_inside_the_text() {
    let targets = [
        target(),
        Target::new(Arch::S390x).with_cap("CAP_SYS_ADMIN"),
        Target::new(Arch::Ppc64le),
    ];
    let mut rng = fastrand::Rng::with_seed(0x5eed_cafe_f00d_1234);
    let mut accepted = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for round in 0..6000 {
        let text = mutate(&mut rng, SEED_PROFILE);
        let target = &targets[round % targets.len()];
        // Full strictness refuses most mutated keys, so it takes a third of the rounds.
        let options = match round % 3 {
            0 => ReadOptions::default(),
            1 => ReadOptions {
                strict_names: true,
                ..ReadOptions::default()
            },
            _ => ReadOptions::strict(),
        };
        match read_one(&text, "f.json", target, &options) {
            Ok(l) => {
                accepted += 1;
                assert!(l.policy.rules().iter().all(|r| r.conds.len() <= 6));
                assert!(l.policy.rules().iter().all(|r| r.origin.is_some()));
            }
            Err(e) => {
                kinds.insert(
                    format!("{e:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap()
                        .to_string(),
                );
                let at = e.location();
                let lines = text.split('\n').count();
                assert!(at.line >= 1 && at.line <= lines, "{e} in {text:?}");
                assert!(at.column >= 1, "{e}");
            }
        }
    }
    // The mutations must leave enough valid profiles to exercise the resolver.
    assert!(accepted > 300, "only {accepted} accepted");
    // And errors of several kinds, so the checks past JSON syntax run too.
    assert!(kinds.len() >= 5, "{kinds:?}");
}

#[test]
fn masked_eq_masks_the_expected_value_like_libseccomp() {
    // libseccomp compares (a1 & 0xff00) with 1000 & 0xff00 = 0x300: a1 in 0x300..=0x3ff.
    let cond =
        r#""args": [{"index": 1, "value": 65280, "valueTwo": 1000, "op": "SCMP_CMP_MASKED_EQ"}]"#;
    let a1 = |v: u64| [0, v, 0, 0, 0, 0];
    let allow = load(&profile(
        "SCMP_ACT_ERRNO",
        &format!(r#"{{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", {cond}}}"#),
    ));
    // A deny rule read as "never matches" would let these calls through.
    let deny = load(&profile(
        "SCMP_ACT_ALLOW",
        &format!(r#"{{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, {cond}}}"#),
    ));
    for v in [0x300, 0x3e8, 0x3ff, 0x1_0000_0300] {
        assert_eq!(
            decide(&allow.policy, "ioctl", a1(v)),
            Action::Allow,
            "{v:#x}"
        );
        assert_eq!(
            decide(&deny.policy, "ioctl", a1(v)),
            Action::Errno(13),
            "{v:#x}"
        );
    }
    for v in [0, 0x2ff, 0x400, 0xe8] {
        assert_eq!(
            decide(&allow.policy, "ioctl", a1(v)),
            Action::Errno(1),
            "{v:#x}"
        );
        assert_eq!(
            decide(&deny.policy, "ioctl", a1(v)),
            Action::Allow,
            "{v:#x}"
        );
    }
    for l in [&allow, &deny] {
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(
            l.warnings[0].starts_with("t.json:1:")
                && l.warnings[0].contains("bits 0xe8 outside the mask 0xff00")
                && l.warnings[0].contains("(a1 & 0xff00) == 0x300"),
            "{}",
            l.warnings[0]
        );
    }
    // A mask of 0 always holds (libseccomp emits no comparison at all).
    let zero = load(&profile(
        "SCMP_ACT_ALLOW",
        r#"{"names": ["ioctl"], "action": "SCMP_ACT_KILL",
            "args": [{"index": 2, "value": 0, "valueTwo": 5, "op": "SCMP_CMP_MASKED_EQ"}]}"#,
    ));
    for v in [0, 5, u64::MAX] {
        let args = [0, 0, v, 0, 0, 0];
        assert_eq!(decide(&zero.policy, "ioctl", args), Action::KillThread);
    }
    // An expected value inside the mask is read as written, without a warning.
    let exact = load(&profile(
        "SCMP_ACT_ERRNO",
        r#"{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": 65280, "valueTwo": 768, "op": "SCMP_CMP_MASKED_EQ"}]}"#,
    ));
    assert!(exact.warnings.is_empty(), "{:?}", exact.warnings);
    assert_eq!(decide(&exact.policy, "ioctl", a1(0x3aa)), Action::Allow);
}

#[test]
fn constants_above_32_bits_warn_where_libseccomp_compares_low_words() {
    let rule = r#"{"names": ["ioctl"], "action": "SCMP_ACT_KILL",
                   "args": [{"index": 0, "value": 4294967301, "op": "SCMP_CMP_EQ"}]}"#;
    let l = load(&profile("SCMP_ACT_ALLOW", rule));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let l = load(&format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{rule}]}}"#
    ));
    // And the x32 argument-word warning, since the rule refuses.
    assert_eq!(l.warnings.len(), 2, "{:?}", l.warnings);
    assert!(
        l.warnings[0].contains("on x86, x32 libseccomp compares only the low 32 bits"),
        "{}",
        l.warnings[0]
    );
}

#[test]
fn unknown_keys_warn_with_their_location_and_fail_in_strict_mode() {
    // A deny list whose "syscalls" is misspelled denies nothing, to Docker as to sysgate: say so.
    let text = "{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n \"sycalls\": [{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ERRNO\"}]}";
    let l = load(text);
    assert!(l.policy.rules().is_empty());
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(
        l.warnings[0].starts_with("t.json:2:13: unknown key \"sycalls\" in the profile: ignored"),
        "{}",
        l.warnings[0]
    );
    let err = read_one(text, "t.json", &target(), &ReadOptions::strict()).unwrap_err();
    assert!(matches!(err, DockerError::UnknownKey { ref key, .. } if key == "sycalls"));
    assert_eq!(err.location().to_string(), "t.json:2:13");

    // Inside entries, conditions and includes too; keys differing only in case are Go's match.
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"Names": ["read"], "action": "SCMP_ACT_ALLOW", "comments": "x",
         "includes": {"arch": ["amd64"]},
         "ARGS": [{"index": 0, "vaule": 1, "op": "SCMP_CMP_EQ"}]}]}"#;
    let l = load(text);
    let keys: Vec<&str> = l
        .warnings
        .iter()
        .map(|w| w.split('"').nth(1).unwrap())
        .collect();
    assert_eq!(keys, ["comments", "arch", "vaule"], "{:?}", l.warnings);
    assert!(
        l.warnings[0].starts_with("t.json:2:69:"),
        "{}",
        l.warnings[0]
    );
    assert!(
        l.warnings[2].contains("in an argument condition"),
        "{}",
        l.warnings[2]
    );
}

#[test]
fn repeated_index_warnings_read_as_one_sentence() {
    let rule = |action: &str| {
        format!(
            r#"{{"names": ["ioctl"], "action": "{action}", "args": [
                {{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}},
                {{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}},
                {{"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}}]}}"#
        )
    };
    for (default, action) in [
        ("SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"),
        ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"),
    ] {
        let l = load(&profile(default, &rule(action)));
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        assert!(!l.warnings[0].contains("  "), "{}", l.warnings[0]);
    }
}

#[test]
fn refusing_conditional_rules_warn_about_x32_low_words() {
    let rule = r#"{"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                   "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]}"#;
    let with_x32 = format!(
        r#"{{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X32"], "syscalls": [{rule}]}}"#
    );
    let l = load(&with_x32);
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(l.warnings[0].contains("on x32 libseccomp compares only the low 32 bits"));
    // Without x32, or for an allowing rule, nothing to say.
    assert!(load(&profile("SCMP_ACT_ALLOW", rule)).warnings.is_empty());
    let allow = with_x32.replace("SCMP_ACT_ALLOW", "SCMP_ACT_KILL").replace(
        r#""action": "SCMP_ACT_ERRNO""#,
        r#""action": "SCMP_ACT_ALLOW""#,
    );
    assert!(
        load(&allow).warnings.is_empty(),
        "{:?}",
        load(&allow).warnings
    );
}

/// runc reads `config.json` by the OCI runtime spec, which has none of moby's or Podman's
/// profile keys: a `name`, `includes`/`excludes`, `archMap` or `errno` there is ignored, so a
/// rule moby would drop for its `includes` still refuses under runc, and an entry with only
/// `name` names nothing. sysgate once read them as moby does, which let through what runc
/// refuses (checked with runc 1.1: `mkdir` with `includes.arches: ["s390x"]` is refused).
#[test]
fn oci_config_json_ignores_moby_and_podman_keys_as_runc_does() {
    let config = r#"{
  "ociVersion": "1.0.2",
  "linux": {
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrno": "ENOSYS",
      "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
      "syscalls": [
        {"names": ["read", "write", "mkdir", "openat"], "action": "SCMP_ACT_ALLOW"},
        {"name": "ptrace", "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_KILL_PROCESS", "includes": {"arches": ["s390x"]}},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "errno": "ENOSYS",
         "excludes": {"arches": ["amd64"]}}
      ]
    }
  }
}"#;
    let l = load(config);
    let p = &l.policy;
    // archMap is not read: only the native architecture.
    assert_eq!(p.arches(), [Arch::X86_64]);
    // defaultErrno is not read: SCMP_ACT_ERRNO without defaultErrnoRet is EPERM.
    assert_eq!(p.default_action(), Action::Errno(1));
    assert_eq!(decide(p, "read", [0; 6]), Action::Allow);
    // The entry with only "name" names nothing.
    assert_eq!(decide(p, "ptrace", [0; 6]), Action::Errno(1));
    // includes and excludes do not drop rules; errno does not replace errnoRet.
    assert_eq!(decide(p, "mkdir", [0; 6]), Action::KillProcess);
    assert_eq!(decide(p, "write", [0; 6]), Action::Errno(5));
    for key in [
        "defaultErrno",
        "archMap",
        "name",
        "includes",
        "errno",
        "excludes",
    ] {
        assert!(
            l.warnings
                .iter()
                .any(|w| w.contains(&format!("unknown key {key:?} in "))
                    && w.contains("of an OCI config.json: ignored, as runc ignores it")),
            "{key}: {:?}",
            l.warnings
        );
    }
    // The same object on its own is a moby profile, read as moby reads it.
    let start = config.find("{\n      \"defaultAction\"").unwrap();
    let end = config.rfind("}\n  }").unwrap() + 1;
    let bare = load(&config[start..end]);
    assert_eq!(decide(&bare.policy, "ptrace", [0; 6]), Action::Allow);
    assert_eq!(decide(&bare.policy, "mkdir", [0; 6]), Action::Allow);
}

/// runc 1.1 refuses SCMP_ACT_NOTIFY as the default action and on `write` (it needs write()
/// to hand the notification fd to its parent): such a profile starts no container under runc,
/// which sysgate's reading must say.
#[test]
fn notify_where_runc_refuses_it_is_warned_about() {
    let l = load(&profile(
        "SCMP_ACT_NOTIFY",
        r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#,
    ));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("runc refuses SCMP_ACT_NOTIFY as the default")),
        "{:?}",
        l.warnings
    );
    let l = load(&profile(
        "SCMP_ACT_ALLOW",
        r#"{"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}"#,
    ));
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("runc refuses SCMP_ACT_NOTIFY for write")),
        "{:?}",
        l.warnings
    );
    let l = load(&profile(
        "SCMP_ACT_ALLOW",
        r#"{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}"#,
    ));
    assert!(
        !l.warnings.iter().any(|w| w.contains("runc refuses")),
        "{:?}",
        l.warnings
    );
}
