use super::*;

fn x86_64() -> Target {
    Target::new(Arch::X86_64)
}

fn nr(name: &str) -> u32 {
    Arch::X86_64.syscall_number(name).unwrap()
}

fn decide(policy: &Policy, name: &str) -> Action {
    policy.decide(Arch::X86_64, nr(name), &[0; 6]).action
}

#[test]
fn allow_list_adds_default_and_kills_the_rest() {
    let l = parse("SystemCallFilter=read\n", "u", &x86_64()).unwrap();
    let p = &l.policy;
    assert_eq!(decide(p, "read"), Action::Allow);
    assert_eq!(decide(p, "execve"), Action::Allow); // @default
    assert_eq!(decide(p, "mount"), Action::KillProcess);
    assert_eq!(p.arches(), &[Arch::X86, Arch::X86_64, Arch::X32]);
    assert_eq!(p.attrs.bad_arch, Action::Allow);
    // A syscall outside @known gets ENOSYS (v255+): numbers without a name too, numbered per
    // architecture.
    assert_eq!(
        p.default_action(),
        Action::NamedErrno(crate::policy::Errno::ENOSYS)
    );
    assert_eq!(
        p.decide(Arch::X86_64, 4000, &[0; 6]).action,
        Action::Errno(ENOSYS)
    );
}

#[test]
fn later_lines_add_and_remove() {
    let text = "SystemCallFilter=@basic-io mount\nSystemCallFilter=~write mount:EACCES\n\
                SystemCallErrorNumber=EPERM\n";
    let p = parse(text, "u", &x86_64()).unwrap().policy;
    assert_eq!(decide(&p, "read"), Action::Allow);
    assert_eq!(decide(&p, "write"), Action::Errno(1));
    assert_eq!(decide(&p, "mount"), Action::Errno(13));
    let r = p
        .rules()
        .iter()
        .find(|r| r.syscall == "mount".into())
        .unwrap();
    assert_eq!(r.origin.as_deref(), Some("u:2:25"));
}

/// The origin of the rule for `name`.
fn origin_of(policy: &Policy, name: &str) -> Option<String> {
    let rule = policy.rules().iter().find(|r| r.syscall == name.into());
    rule.and_then(|r| r.origin.clone())
}

#[test]
fn a_refusal_cites_the_filter_line_that_decided_it() {
    // `~uname` on line 3 takes uname out of the allow list: that line decided, not the
    // line that started the list, nor SystemCallErrorNumber= (which only says how).
    let text = "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~uname\n\
                SystemCallErrorNumber=EPERM\n";
    let p = parse(text, "u.service", &x86_64()).unwrap().policy;
    assert_eq!(decide(&p, "uname"), Action::Errno(1));
    assert_eq!(origin_of(&p, "uname").as_deref(), Some("u.service:3:19"));
    // A call the allow list never named is refused by the line that made it an allow list.
    assert_eq!(
        origin_of(&p, "sethostname").as_deref(),
        Some("u.service:2:1")
    );
    // Without SystemCallErrorNumber= too.
    let text = "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=~uname\n";
    let p = parse(text, "u.service", &x86_64()).unwrap().policy;
    assert_eq!(origin_of(&p, "uname").as_deref(), Some("u.service:3:19"));
    // Added back later: the allowing line decides again.
    let text =
        "SystemCallFilter=@system-service\nSystemCallFilter=~uname\nSystemCallFilter=uname\n\
                SystemCallFilter=~@clock\n";
    let p = parse(text, "u", &x86_64()).unwrap().policy;
    assert_eq!(decide(&p, "uname"), Action::Allow);
    assert_eq!(origin_of(&p, "clock_settime").as_deref(), Some("u:4:19"));
}

#[test]
fn deny_list_and_reset() {
    let text = "SystemCallFilter=read\nSystemCallFilter=\nSystemCallFilter=~@mount:EPERM ptrace\n\
                SystemCallFilter=mount\n";
    let p = parse(text, "u", &x86_64()).unwrap().policy;
    assert_eq!(decide(&p, "read"), Action::Allow);
    assert_eq!(decide(&p, "mount"), Action::Allow); // removed again
    assert_eq!(decide(&p, "pivot_root"), Action::Errno(1));
    assert_eq!(decide(&p, "ptrace"), Action::KillProcess);
}

#[test]
fn v252_has_no_enosys_and_no_sandbox() {
    let v252 = ReadOptions::for_version(SystemdVersion::V252);
    let p = read_one("SystemCallFilter=~mount\n", "u", &x86_64(), &v252)
        .unwrap()
        .policy;
    assert_eq!(p.default_action(), Action::Allow);
    let err = read_one("SystemCallFilter=@sandbox\n", "u", &x86_64(), &v252).unwrap_err();
    assert!(
        err.to_string().contains("unknown syscall set \"@sandbox\""),
        "{err}"
    );
}

#[test]
fn architectures_native_and_x32() {
    let p = parse("SystemCallArchitectures=native\n", "u", &x86_64())
        .unwrap()
        .policy;
    assert_eq!(p.arches(), &[Arch::X86_64]);
    assert_eq!(p.attrs.bad_arch, Action::KillThread);
    assert_eq!(p.default_action(), Action::Allow);
    let p = parse("SystemCallArchitectures=x32\n", "u", &x86_64())
        .unwrap()
        .policy;
    assert_eq!(p.arches(), &[Arch::X86_64, Arch::X32]);
    let err = parse("SystemCallArchitectures=amd64\n", "u", &x86_64()).unwrap_err();
    assert!(
        err.to_string().contains("expected native or one of x86"),
        "{err}"
    );
}

#[test]
fn log_lists_log_what_the_filter_lets_through() {
    let text = "SystemCallFilter=~mount\nSystemCallLog=read mount\n";
    let p = parse(text, "u", &x86_64()).unwrap().policy;
    assert_eq!(decide(&p, "read"), Action::Log);
    assert_eq!(decide(&p, "mount"), Action::KillProcess);
    assert_eq!(decide(&p, "write"), Action::Allow);
}

#[test]
fn unit_files_sections_comments_and_continuations() {
    let text = "[Unit]\nSystemCallFilter=~read\n[Service]\n# c\nSystemCallFilter=~mount \\\n  \
                # inside\n  ptrace\n";
    let p = parse(text, "u.service", &x86_64()).unwrap().policy;
    assert_eq!(decide(&p, "read"), Action::Allow);
    assert_eq!(decide(&p, "ptrace"), Action::KillProcess);
    let r = p
        .rules()
        .iter()
        .find(|r| r.syscall == "ptrace".into())
        .unwrap();
    assert_eq!(r.origin.as_deref(), Some("u.service:7:3"));
}

#[test]
fn errors_name_line_and_column() {
    let err = parse("\n  SystemCallFilter=~read:EBOGUS\n", "u", &x86_64()).unwrap_err();
    assert_eq!(err.location().to_string(), "u:2:26");
    let err = parse("SystemCallFilter\n", "u", &x86_64()).unwrap_err();
    assert!(err.to_string().contains("expected Key=value"), "{err}");
    let err = parse("SystemCallLog=read:EPERM\n", "u", &x86_64()).unwrap_err();
    assert!(err.to_string().contains("without \":errno\""), "{err}");
    let err = parse("SystemCallArchitectures=\"x86\n", "u", &x86_64()).unwrap_err();
    assert!(err.to_string().contains("quote is not closed"), "{err}");
}

#[test]
fn allow_entries_with_errno_are_ignored_with_a_warning() {
    let l = parse("SystemCallFilter=read:EPERM\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "read"), Action::KillProcess);
    assert!(l.warnings[0].contains("cannot take an error number"));
}

/// Writes `policy`, reads it back, and checks every name decides the same. The losses leave
/// out the note on what systemd 252 would ignore.
fn round_trip(policy: &Policy) -> (Written, Policy) {
    let mut w = write(policy, None, &WriteOptions::default());
    w.losses
        .retain(|l| !l.message.starts_with("systemd 252 ignores"));
    let back = parse(&w.text, "w", &x86_64()).unwrap().policy;
    (w, back)
}

#[test]
fn writes_allow_lists_with_sets() {
    let l = parse(
        "SystemCallFilter=@system-service\nSystemCallFilter=~ptrace\nSystemCallErrorNumber=EPERM\n",
        "u",
        &x86_64(),
    )
    .unwrap();
    let (w, back) = round_trip(&l.policy);
    assert!(w.text.contains("SystemCallErrorNumber=EPERM"), "{}", w.text);
    assert!(
        w.text.contains("SystemCallFilter=@system-service\n"),
        "{}",
        w.text
    );
    assert!(w.losses.is_empty(), "{:?}", w.losses);
    assert_eq!(name_outcomes(&back), name_outcomes(&l.policy));
    assert_eq!(back.default_action(), l.policy.default_action());
    // The same settings with a deny list in the middle come back as a deny list.
    let l = parse(
        "SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\n",
        "u",
        &x86_64(),
    )
    .unwrap();
    let (w, back) = round_trip(&l.policy);
    assert!(w.losses.is_empty(), "{:?}", w.losses);
    assert_eq!(name_outcomes(&back), name_outcomes(&l.policy));
}

#[test]
fn writes_deny_lists_with_errnos_and_logs() {
    let l = parse(
        "SystemCallFilter=~@mount:EACCES ptrace kexec_load:EPERM\nSystemCallErrorNumber=EPERM\n\
         SystemCallLog=read\n",
        "u",
        &x86_64(),
    )
    .unwrap();
    let (w, back) = round_trip(&l.policy);
    assert!(w.losses.is_empty(), "{:?}\n{}", w.losses, w.text);
    assert_eq!(name_outcomes(&back), name_outcomes(&l.policy));
}

#[test]
fn writing_gives_up_conditions_and_actions_restrictively() {
    use crate::policy::{ArgCond, CmpOp};
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Allow, "read")).unwrap();
    p.add_rule(
        Rule::new(Action::Allow, "socket").with_cond(ArgCond::new(0, CmpOp::Eq, 1).unwrap()),
    )
    .unwrap();
    p.add_rule(Rule::new(Action::Trap(3), "ptrace")).unwrap();
    let (w, back) = round_trip(&p);
    assert_eq!(decide(&back, "read"), Action::Allow);
    assert_eq!(decide(&back, "socket"), Action::Errno(1));
    assert_eq!(decide(&back, "ptrace"), Action::KillProcess);
    let text: Vec<String> = w.losses.iter().map(|l| l.to_string()).collect();
    assert!(
        text.iter()
            .any(|l| l.starts_with("socket: systemd cannot express argument")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|l| l.starts_with("ptrace: systemd has no TRAP(3)")),
        "{text:?}"
    );
    // Never more permissive.
    assert!(
        !text.iter().any(|l| l.contains("MORE PERMISSIVE")),
        "{text:?}"
    );
}

#[test]
fn systemd_252_ignores_names_its_libseccomp_does_not_know() {
    let v252 = ReadOptions::for_version(SystemdVersion::V252);
    // mseal (Linux 6.10): ignored as a name, with a warning, so a deny list does not deny it.
    let l = read_one("SystemCallFilter=~mount mseal\n", "u", &x86_64(), &v252).unwrap();
    assert_eq!(decide(&l.policy, "mount"), Action::KillProcess);
    assert_eq!(decide(&l.policy, "mseal"), Action::Allow);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.starts_with("u:1:25: systemd 252 cannot resolve")),
        "{:?}",
        l.warnings
    );
    // Set members it does not know are skipped: uretprobe is in 252's @default, but 252
    // cannot allow it.
    let l = read_one("SystemCallFilter=@basic-io\n", "u", &x86_64(), &v252).unwrap();
    assert_eq!(decide(&l.policy, "read"), Action::Allow);
    assert_eq!(decide(&l.policy, "uretprobe"), Action::KillProcess);
    // The newest systemd knows both.
    let l = parse("SystemCallFilter=~mount mseal\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "mseal"), Action::KillProcess);
}

#[test]
fn written_for_252_a_deny_list_it_cannot_name_becomes_an_allow_list() {
    let v252 = ReadOptions::for_version(SystemdVersion::V252);
    let mut p = Policy::new(Action::Allow);
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Errno(1), "mount")).unwrap();
    p.add_rule(Rule::new(Action::Errno(1), "listns")).unwrap();
    let w = write(&p, None, &WriteOptions::for_version(SystemdVersion::V252));
    assert!(!w.text.contains("listns"), "{}", w.text);
    let back = read_one(&w.text, "w", &x86_64(), &v252).unwrap().policy;
    assert_eq!(decide(&back, "mount"), Action::Errno(1));
    assert_eq!(decide(&back, "listns"), Action::Errno(1));
    assert_eq!(decide(&back, "read"), Action::Allow);
    assert!(
        !w.losses
            .iter()
            .any(|l| l.message.contains("MORE PERMISSIVE")),
        "{:?}",
        w.losses
    );
    // A name 252 cannot allow is refused there, and said so.
    assert!(
        w.losses
            .iter()
            .any(|l| l.syscall.as_deref() == Some("mseal")
                && l.message.contains("systemd 252 cannot name it")),
        "{:?}",
        w.losses
    );
}

#[test]
fn misspelled_seccomp_settings_warn_and_fail_in_strict_mode() {
    let text = "[Service]\nExecStart=/bin/true\nSystemCallFilters=~ptrace\n  SystemcallLog=read\n";
    let l = parse(text, "u.service", &x86_64()).unwrap();
    // Both misspelled, and then no filter at all: three warnings.
    assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
    assert!(
        l.warnings[0]
            .starts_with("u.service:3:1: unknown setting SystemCallFilters=: systemd ignores it"),
        "{}",
        l.warnings[0]
    );
    assert!(l.warnings[1].starts_with("u.service:4:3: unknown setting SystemcallLog="));
    let strict = ReadOptions {
        strict_keys: true,
        ..ReadOptions::default()
    };
    let err = read_one(text, "u.service", &x86_64(), &strict).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("u.service:3:1: unknown setting"),
        "{err}"
    );
    // Other keys of the unit, and the four settings in any section systemd ignores, are quiet.
    let l = parse(
        "[Unit]\nSystemCallFilterX=a\n[Service]\nUser=x\n",
        "u",
        &x86_64(),
    )
    .unwrap();
    assert!(
        l.warnings.iter().all(|w| !w.contains("unknown setting")),
        "{:?}",
        l.warnings
    );
    assert!(one_edit_apart("systemcalllog", "systemcallog"));
    assert!(one_edit_apart("abc", "abd") && one_edit_apart("abc", "abc"));
    assert!(!one_edit_apart("abc", "cab"));
}

/// systemd (255 on) answers ENOSYS for calls outside @known; where the policy kills them,
/// that lets the process live on: the loss must say MORE PERMISSIVE (it did only when
/// systemd's answer allowed the call, so -q hid it).
#[test]
fn enosys_for_numbers_the_policy_kills_is_more_permissive() {
    let mut p = Policy::new(Action::KillProcess);
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Allow, "read")).unwrap();
    let w = write(&p, None, &WriteOptions::default());
    let loss = w
        .losses
        .iter()
        .find(|l| l.message.starts_with("syscall numbers without a name get"))
        .unwrap_or_else(|| panic!("{:?}", w.losses));
    assert!(loss.is_more_permissive(), "{loss}");
}

/// systemd 252 splits `SystemCallFilter=` and `SystemCallLog=` at its whitespace (space, tab)
/// without removing quotes, decides the mode on the value's first character, and reads
/// `SystemCallErrorNumber=` as one value (`systemd-analyze verify`: "Failed to parse system
/// call, ignoring: \"~ptrace" and "Failed to parse error number, ignoring: \"EPERM\""). So
/// `SystemCallFilter="~ptrace mount"` is an allow list holding only @default: sysgate read it as
/// a deny list of one unknown name and allowed everything.
#[test]
fn quotes_are_not_removed_where_systemd_keeps_them() {
    let l = parse("SystemCallFilter=\"~ptrace mount\"\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "read"), Action::KillProcess);
    assert_eq!(decide(&l.policy, "mount"), Action::KillProcess);
    assert_eq!(decide(&l.policy, "execve"), Action::Allow); // @default
    assert!(
        l.warnings.iter().any(|w| w.contains("\"\\\"~ptrace\"")),
        "{:?}",
        l.warnings
    );
    // A quoted name is no name: not allowed.
    let l = parse("SystemCallFilter=read \"write\"\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "read"), Action::Allow);
    assert_eq!(decide(&l.policy, "write"), Action::KillProcess);
    // A no-break space is not a separator to systemd.
    let l = parse("SystemCallFilter=\u{a0}~ptrace\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "read"), Action::KillProcess);
    // SystemCallLog= likewise: a quoted name logs nothing.
    let l = parse("SystemCallLog=\"read\"\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "read"), Action::Allow);
    // systemd ignores a quoted errno (the calls are killed); sysgate refuses it.
    let err = parse(
        "SystemCallFilter=read\nSystemCallErrorNumber=\"EPERM\"\n",
        "u",
        &x86_64(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("invalid error number"), "{err}");
    // A backslash takes the next character as it is (systemd-analyze verify: "Failed to parse
    // system call, ignoring: ptrace mount" for `~ptr\ace\ mount`, while `~ptr\ace` denies
    // ptrace).
    let l = parse("SystemCallFilter=~ptr\\ace\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "ptrace"), Action::KillProcess);
    let l = parse("SystemCallFilter=read\\ write\n", "u", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "write"), Action::KillProcess);
    // SystemCallArchitectures= does remove quotes, as systemd does.
    let l = parse("SystemCallArchitectures=\"native\"\n", "u", &x86_64()).unwrap();
    assert_eq!(l.policy.arches(), &[Arch::X86_64]);
}

/// systemd reads an error number with C's `strtol` base 0 (plus `0o` and `0b`):
/// `SystemCallErrorNumber=010` is 8 (ENOEXEC), `09` no number at all (`systemd-analyze
/// verify`: "Failed to parse error number, ignoring: 09", so refused calls are killed). sysgate
/// read both as decimal: 10 (ECHILD), and EBADF where systemd kills.
#[test]
fn error_numbers_are_read_as_systemd_reads_them() {
    let errno_of = |value: &str| {
        let text = format!("SystemCallFilter=read\nSystemCallErrorNumber={value}\n");
        parse(&text, "u", &x86_64()).map(|l| decide(&l.policy, "mount"))
    };
    assert_eq!(errno_of("010").unwrap(), Action::Errno(8));
    assert_eq!(errno_of("0x10").unwrap(), Action::Errno(16));
    assert_eq!(errno_of("0o10").unwrap(), Action::Errno(8));
    assert_eq!(errno_of("0b11").unwrap(), Action::Errno(3));
    assert_eq!(errno_of("+5").unwrap(), Action::Errno(5));
    assert_eq!(errno_of("0").unwrap(), Action::Errno(0));
    assert_eq!(errno_of("eacces").unwrap(), Action::Errno(13));
    for bad in ["09", "1e1", "-5", "0x", "4096", "5x"] {
        let err = errno_of(bad).unwrap_err();
        assert!(
            err.to_string().contains("invalid error number"),
            "{bad}: {err}"
        );
    }
    // The same in a deny list's `:errno`.
    let p = parse("SystemCallFilter=~ptrace:010\n", "u", &x86_64())
        .unwrap()
        .policy;
    assert_eq!(decide(&p, "ptrace"), Action::Errno(8));
}

/// systemd ignores an assignment before the first section of a unit ("Assignment outside of
/// section. Ignoring."): `SystemCallErrorNumber=EPERM` there leaves the refusal at kill.
/// sysgate applied it, answering EPERM where systemd kills.
#[test]
fn settings_before_the_first_section_are_ignored_as_systemd_ignores_them() {
    let text = "SystemCallErrorNumber=EPERM\n[Service]\nSystemCallFilter=read\n";
    let l = parse(text, "u.service", &x86_64()).unwrap();
    assert_eq!(decide(&l.policy, "mount"), Action::KillProcess);
    assert!(
        l.warnings.iter().any(
            |w| w.starts_with("u.service:1:1: SystemCallErrorNumber= comes before any section")
        ),
        "{:?}",
        l.warnings
    );
    // Bare lines, with no section anywhere, are still read.
    let l = parse(
        "SystemCallFilter=read\nSystemCallErrorNumber=EPERM\n",
        "u",
        &x86_64(),
    )
    .unwrap();
    assert_eq!(decide(&l.policy, "mount"), Action::Errno(1));
}

/// systemd drops a UTF-8 byte order mark at the start of a line (`systemd-analyze verify`
/// reads `\u{feff}SystemCallFilter=~ptrace bogus` and warns about `bogus` only). sysgate read
/// the key as unknown, said systemd ignores it, and allowed everything.
#[test]
fn a_byte_order_mark_is_dropped_as_systemd_drops_it() {
    for text in [
        "\u{feff}SystemCallFilter=~ptrace\n",
        "\u{feff}[Service]\nSystemCallFilter=~ptrace\n",
        "[Service]\n\u{feff}SystemCallFilter=~ptrace\n",
    ] {
        let l = parse(text, "u", &x86_64()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(decide(&l.policy, "ptrace"), Action::KillProcess, "{text:?}");
    }
}
