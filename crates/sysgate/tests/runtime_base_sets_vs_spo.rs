//! The runtimes' base sets (`sysgate::learn::Runtime`) against the Security Profiles
//! Operator's base profile for runc in ../shared/fixtures: every call SPO lists for runc is
//! in sysgate's list. Needs ../shared (CI has it; elsewhere the test says SKIPPED).

use sysgate::learn::Runtime;
use sysgate::policy::{Action, Syscall};
use sysgate::profile::{self, Target};
use sysgate::Arch;

#[test]
fn runc_base_set_holds_every_call_of_spo_baseprofile_runc() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/profiles/spo-baseprofile-runc.yaml");
    if !path.exists() {
        if std::env::var_os("CI").is_some() {
            panic!("{} is required under CI", path.display());
        }
        eprintln!("SKIPPED: needs {}", path.display());
        return;
    }
    let loaded = profile::load(&path, &Target::new(Arch::X86_64)).expect("the SPO profile");
    let spo: Vec<String> = loaded
        .policy
        .rules()
        .iter()
        .filter(|r| r.action == Action::Allow)
        .filter_map(|r| match &r.syscall {
            Syscall::Name(n) => Some(n.clone()),
            Syscall::Number(_) => None,
        })
        .collect();
    assert!(spo.len() > 30, "{spo:?}");
    let ours = Runtime::Runc.base_syscalls();
    let missing: Vec<&String> = spo.iter().filter(|n| !ours.contains(&n.as_str())).collect();
    assert!(missing.is_empty(), "not in Runtime::Runc: {missing:?}");
    // Every name exists on x86_64, so none is skipped where it matters.
    for name in ours.iter().chain(Runtime::Crun.base_syscalls()) {
        assert!(Arch::X86_64.syscall_number(name).is_some(), "{name}");
    }
}
