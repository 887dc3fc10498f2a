use super::*;
use crate::policy::{Action, ArgCond, CmpOp};

fn amd64() -> Target {
    Target::new(Arch::X86_64)
}

const HEAD: &str = "apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\n";

/// What `read(2)` gets on x86_64 under the first profile of `docs`.
fn reads(docs: &[Named]) -> Action {
    docs[0]
        .loaded
        .policy
        .decide(Arch::X86_64, 0, &[0; 6])
        .action
}

fn one(text: &str) -> Result<Named, K8sError> {
    let mut docs = read(text, "p.yaml", &amd64(), &ReadOptions::default())?;
    assert_eq!(docs.len(), 1);
    Ok(docs.remove(0))
}

#[test]
fn reads_args_and_errno_with_yaml_positions() {
    let text = format!(
        "{HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  architectures: [SCMP_ARCH_X86_64, SCMP_ARCH_NATIVE]\n  syscalls:\n  - action: SCMP_ACT_ERRNO\n    errnoRet: 13\n    names: [mount]\n    args:\n    - {{index: 2, value: 4096, valueTwo: 4096, op: SCMP_CMP_MASKED_EQ}}\n"
    );
    let d = one(&text).unwrap();
    let r = &d.loaded.policy.rules()[0];
    assert_eq!(r.action, Action::Errno(13));
    assert_eq!(
        r.conds,
        vec![ArgCond::new(2, CmpOp::MaskedEq(4096), 4096).unwrap()]
    );
    assert_eq!(r.origin.as_deref(), Some("p.yaml:9:5"));
}

#[test]
fn errors_point_into_the_yaml() {
    let base = format!("{HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n");
    let cases: Vec<(String, &str, &str)> = vec![
        (
            base.replace("SCMP_ACT_ALLOW", "SCMP_ACT_ALOW"),
            "p.yaml:8:13",
            "unknown action",
        ),
        (
            format!("{base}    args: [{{index: 7, op: SCMP_CMP_EQ}}]\n"),
            "p.yaml:10:12",
            "expected 0 to 5",
        ),
        (
            format!(
                "{base}    args: [{{index: 0, value: 9223372036854775808, op: SCMP_CMP_EQ}}]\n"
            ),
            "p.yaml:10:30",
            "expected an integer from 0 to 9223372036854775807",
        ),
        (
            format!("{base}    errnoRet: -1\n"),
            "p.yaml:10:15",
            "expected an integer from 0 to 2147483647",
        ),
        (
            base.replace("  defaultAction: SCMP_ACT_ERRNO\n", ""),
            "p.yaml:6:3",
            "no defaultAction",
        ),
        (
            base.replace("names: [read]", "names: []"),
            "p.yaml:9:12",
            "names is empty",
        ),
        (
            format!("{base}  architectures: [SCMP_ARCH_M68K]\n"),
            "p.yaml:10:19",
            "unknown architecture",
        ),
        (
            format!("{base}  baseProfileName: missing\n"),
            "p.yaml:10:20",
            "not found",
        ),
        (
            format!("{base}  baseProfileName: oci://x/y\n"),
            "p.yaml:10:20",
            "does not fetch",
        ),
        ("a: [\n".to_string(), "p.yaml:2:1", "not valid YAML"),
    ];
    for (text, at, what) in cases {
        let err = read(&text, "p.yaml", &amd64(), &ReadOptions::default()).unwrap_err();
        assert_eq!(err.location().to_string(), at, "{text}\n{err}");
        assert!(err.to_string().contains(what), "{err}");
    }
}

#[test]
fn base_profiles_are_unioned_from_the_file_and_a_directory() {
    let text = format!(
        "{HEAD}metadata:\n  name: derived\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: base\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [write]\n---\n{HEAD}metadata:\n  name: base\nspec:\n  defaultAction: SCMP_ACT_KILL\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n"
    );
    let docs = read(&text, "p.yaml", &amd64(), &ReadOptions::default()).unwrap();
    let derived = &docs[0].loaded.policy;
    assert_eq!(derived.default_action(), Action::Errno(1));
    assert_eq!(
        derived.decide(Arch::X86_64, 0, &[0; 6]).action,
        Action::Allow
    );
    assert_eq!(derived.rules()[1].origin.as_deref(), Some("p.yaml:19:5"));
    // From a directory.
    let dir = std::env::temp_dir().join(format!("sysgate-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("base.yaml"), &text[text.find("---").unwrap()..]).unwrap();
    let only = &text[..text.find("---").unwrap()];
    let docs = read(only, "d.yaml", &amd64(), &ReadOptions::with_base(&dir)).unwrap();
    assert_eq!(reads(&docs), Action::Allow);
    let _ = std::fs::remove_dir_all(&dir);
    // A cycle.
    let cyc = text.replace(
        "  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n",
        "  baseProfileName: derived\n",
    );
    let err = read(&cyc, "p.yaml", &amd64(), &ReadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("includes itself"), "{err}");
}

/// A FIFO (or a device) among a base directory's `.yaml` files is no profile: it was opened
/// first (in name order) and blocked the read for ever.
#[test]
fn a_fifo_in_the_base_directory_is_skipped_not_waited_on() {
    let text = format!(
        "{HEAD}metadata:\n  name: derived\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: base\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [write]\n"
    );
    let base = format!(
        "{HEAD}metadata:\n  name: base\nspec:\n  defaultAction: SCMP_ACT_KILL\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n"
    );
    let dir = std::env::temp_dir().join(format!("sysgate-k8s-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("base.yaml"), base).unwrap();
    let fifo = std::ffi::CString::new(dir.join("a.yaml").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    let base_dir = dir.clone();
    std::thread::spawn(move || {
        let got = read(
            &text,
            "d.yaml",
            &amd64(),
            &ReadOptions::with_base(&base_dir),
        )
        .map(|docs| reads(&docs));
        let _ = tx.send(got.map_err(|e| e.to_string()));
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(20));
    if got.is_err() {
        // Unblock the reader before failing, so that the test process can end.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("a.yaml"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(got.expect("the read waited on the FIFO"), Ok(Action::Allow));
}

#[test]
fn base_files_are_searched_in_order_and_only_as_far_as_needed() {
    // Many profiles naming one base: each finds it (the file is indexed once, not scanned
    // for every profile), and the base's rules reach every one of them.
    let derived = |i: usize| {
        format!(
            "{HEAD}metadata:\n  name: p{i}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: base\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [write]\n---\n"
        )
    };
    let base = format!(
        "{HEAD}metadata:\n  name: base\nspec:\n  defaultAction: SCMP_ACT_KILL\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [read]\n"
    );
    let many: String = (0..200).map(derived).collect::<String>() + &base;
    let docs = read(&many, "m.yaml", &amd64(), &ReadOptions::default()).unwrap();
    assert_eq!(docs.len(), 201);
    for d in &docs[..200] {
        let p = &d.loaded.policy;
        assert_eq!(p.decide(Arch::X86_64, 0, &[0; 6]).action, Action::Allow);
        assert_eq!(p.decide(Arch::X86_64, 1, &[0; 6]).action, Action::Allow);
    }
    // A directory: a.yaml holds the base, b.yaml is not YAML at all. The search stops at
    // a.yaml, as a search from the top does, so b.yaml's state does not matter here...
    let dir = std::env::temp_dir().join(format!("sysgate-k8s-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), &base).unwrap();
    std::fs::write(dir.join("b.yaml"), "a: [\n").unwrap();
    let one = derived(0);
    let docs = read(&one, "d.yaml", &amd64(), &ReadOptions::with_base(&dir)).unwrap();
    assert_eq!(reads(&docs), Action::Allow);
    // ...but a name only b.yaml could hold reaches it, and its error is reported.
    let err = read(
        &one.replace("baseProfileName: base", "baseProfileName: other"),
        "d.yaml",
        &amd64(),
        &ReadOptions::with_base(&dir),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not valid YAML"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn writes_a_resource_that_reads_back() {
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64, Arch::X86]).unwrap();
    p.attrs.bad_arch = Action::KillThread;
    p.attrs.enosys_above = crate::profile::docker::runc_enosys_thresholds(
        p.arches(),
        ["read", "personality", "ioctl"],
    );
    p.attrs.flags.spec_allow = true;
    p.add_rule(crate::policy::Rule::new(Action::Allow, "read"))
        .unwrap();
    p.add_rule(
        crate::policy::Rule::new(Action::Allow, "personality")
            .with_cond(ArgCond::new(0, CmpOp::Eq, 0xffff_ffff).unwrap()),
    )
    .unwrap();
    p.add_rule(
        crate::policy::Rule::new(Action::Allow, "ioctl")
            .with_cond(ArgCond::new(1, CmpOp::Eq, u64::MAX).unwrap()),
    )
    .unwrap();
    let w = write(&p, None, &WriteOptions::named("demo"));
    assert_eq!(w.losses.len(), 1, "{:?}", w.losses);
    assert!(
        w.losses[0].to_string().starts_with("ioctl: Kubernetes"),
        "{:?}",
        w.losses
    );
    let d = one(&w.text).unwrap();
    assert_eq!(d.name.as_deref(), Some("demo"));
    assert_eq!(d.loaded.policy.rules().len(), 2, "{}", w.text);
}

#[test]
fn unknown_top_level_and_metadata_fields_warn_and_fail_in_strict_mode() {
    let text = format!(
        "{HEAD}metadata:\n  name: a\n  nmespace: web\nsepc2: 1\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n"
    );
    let d = one(&text).unwrap();
    let w = &d.loaded.warnings;
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with("p.yaml:6:8: unknown field \"sepc2\" in the SeccompProfile"),
        "{w:?}"
    );
    assert!(
        w[1].starts_with("p.yaml:5:13: unknown field \"nmespace\" in metadata"),
        "{w:?}"
    );
    let strict = ReadOptions {
        strict_keys: true,
        ..ReadOptions::default()
    };
    let err = read(&text, "p.yaml", &amd64(), &strict).unwrap_err();
    assert!(err.to_string().contains("unknown field \"sepc2\""), "{err}");
}

/// `kubectl` turns the YAML into JSON with go-yaml v2 (YAML 1.1): a plain `0644` is octal
/// 420 there, as a file mode is meant, and `1_000` is 1000. sysgate read YAML 1.2's decimal
/// 644, so a rule on a mode matched other calls than under Kubernetes.
#[test]
fn integers_are_read_as_kubectl_reads_them() {
    let value_of = |v: &str| {
        let text = format!(
            "{HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - action: SCMP_ACT_ALLOW\n    names: [fchmod]\n    args:\n    - {{index: 1, value: {v}, op: SCMP_CMP_EQ}}\n"
        );
        one(&text).map(|d| d.loaded.policy.rules()[0].conds[0].value())
    };
    assert_eq!(value_of("0644").unwrap(), 0o644);
    assert_eq!(value_of("0o644").unwrap(), 0o644);
    assert_eq!(value_of("0x1a4").unwrap(), 0x1a4);
    assert_eq!(value_of("0b11").unwrap(), 3);
    assert_eq!(value_of("1_000").unwrap(), 1000);
    assert_eq!(value_of("+5").unwrap(), 5);
    assert_eq!(value_of("644").unwrap(), 644);
    // Quoted, it is a string, as to kubectl.
    assert!(value_of("'0644'").is_err());
    assert!(value_of("-1").is_err());
}
