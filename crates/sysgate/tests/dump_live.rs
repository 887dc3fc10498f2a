//! Filters read back from running processes (`PTRACE_SECCOMP_GET_FILTER`): exactly the
//! instructions installed, in install order, and the process runs on unchanged. Needs root
//! (CAP_SYS_ADMIN); skipped, saying so, without it.

use std::time::Duration;

use sysgate::arch::Arch;
use sysgate::compile::compile;
use sysgate::kernel::{read_filters, DumpError, FilteredCommand, InstallOptions, PreparedFilters};
use sysgate::policy::{Action, Policy, Rule};
use sysgate::profile::{builtin, Target};
use sysgate::verify;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_stack_reads_back_as_installed_and_the_process_runs_on() {
    if !is_root() {
        eprintln!("SKIPPED: reading filters needs root");
        return;
    }
    let arch = Arch::native();
    let docker = builtin::builtin("docker-default", &Target::docker_default(arch))
        .unwrap()
        .policy;
    let mut extra = Policy::new(Action::Allow);
    extra.set_arches(docker.arches().iter().copied()).unwrap();
    extra
        .add_rule(Rule::new(Action::Errno(1), "mount"))
        .unwrap();
    let mut programs = compile(&docker).unwrap().programs;
    programs.extend(compile(&extra).unwrap().programs);
    let prepared = PreparedFilters::new(&programs, &InstallOptions::new()).unwrap();
    let mut child = FilteredCommand::new("sleep", prepared)
        .arg("2")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let read = read_filters(child.id()).unwrap();
    assert_eq!(read.len(), programs.len());
    for (got, want) in read.iter().zip(&programs) {
        assert_eq!(got.insns(), want.insns());
    }
    // Read twice: the first read left it as it was.
    assert_eq!(read_filters(child.id()).unwrap(), read);
    let back = verify::decompile(&read).unwrap();
    assert!(verify::filters_vs_policy(&read, &back, 1).unwrap().proven());
    // The process was stopped and resumed, not disturbed: sleep finishes normally.
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_process_without_a_filter_says_so() {
    if !is_root() {
        eprintln!("SKIPPED: reading filters needs root");
        return;
    }
    let mut child = std::process::Command::new("sleep")
        .arg("2")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let e = read_filters(child.id()).unwrap_err();
    assert!(matches!(e, DumpError::NoFilter { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("process {} runs under no seccomp filter", child.id())
    );
    // Still running, still a child of ours, ends normally.
    assert!(child.wait().unwrap().success());
}
