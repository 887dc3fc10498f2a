//! `Program::assemble` is the inverse of the disassembler: every fixture profile's compiled
//! programs (and docker-default's on every target, both byte orders, with and without the
//! action-cache layout) come back instruction for instruction from their text, whichever
//! architecture names the syscalls in it.

mod support;

use support::policies::TARGETS;
use sysgate::arch::Arch;
use sysgate::bpf::Program;
use sysgate::compile::{compile_with, Options};
use sysgate::profile::{builtin, Target};

fn assert_round_trip(what: &str, program: &Program, hint: Arch) {
    for text in [program.disassemble(), program.disassemble_with(Some(hint))] {
        let back = Program::assemble(&text, program.endian())
            .unwrap_or_else(|e| panic!("{what}: {e}\n{text}"));
        assert!(
            back == *program,
            "{what}: the text does not give the program back"
        );
        assert_eq!(back.to_bytes(), program.to_bytes(), "{what}");
    }
}

fn compiled(policy: &sysgate::policy::Policy) -> Vec<Program> {
    let mut all = Vec::new();
    for action_cache in [false, true] {
        let options = Options {
            action_cache,
            ..Default::default()
        };
        all.extend(compile_with(policy, &options).unwrap().programs);
    }
    all
}

#[test]
fn docker_default_on_every_target_survives_disassembly_and_assembly() {
    for &arch in TARGETS {
        let policy = builtin::builtin("docker-default", &Target::docker_default(arch))
            .unwrap()
            .policy;
        for program in compiled(&policy) {
            assert_round_trip(&format!("docker-default {arch}"), &program, arch);
        }
    }
}

#[test]
fn every_fixture_profile_survives_disassembly_and_assembly() {
    let Some(files) = support::shared::fixture_profiles() else {
        return;
    };
    assert!(files.len() >= 8, "{files:?}");
    let mut programs = 0;
    for file in &files {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let spec = file.display().to_string();
            let read = sysgate::profile::detect::read(
                &spec,
                &Target::docker_default(arch),
                &Default::default(),
            )
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
            for named in read.profiles {
                for program in compiled(&named.loaded.policy) {
                    let what = format!("{spec} {:?} {arch}", named.name);
                    assert_round_trip(&what, &program, arch);
                    programs += 1;
                }
            }
        }
    }
    assert!(programs >= 32, "{programs}");
}
