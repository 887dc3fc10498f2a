//! The verifier judged by brute force on mutants: every single-instruction mutation of a
//! compiled docker-default (a changed constant, load offset, jump target or return value)
//! is either proven to decide as the original or refuted with an input that the emulator
//! confirms; and no proof of equality is contradicted by a brute-force run over the
//! mutant's own constants and their neighbours.
//!
//! The original is proven equal to its policy (verify_vs_emulator.rs), so "equal to the
//! original" is "equal to the policy". By default every 8th mutant runs (a few
//! hundred, seconds in CI) of arm64's program; `SYSGATE_MUTANTS=all` runs all of them, and
//! amd64's.

use std::collections::BTreeSet;

use sysgate::arch::Arch;
use sysgate::bpf::{op, Insn, Program, SeccompData};
use sysgate::compile::compile;
use sysgate::profile::{builtin, Target};
use sysgate::verify;

/// Every valid one-instruction mutant of `p`, with a description.
fn mutants(p: &Program) -> Vec<(String, Program)> {
    let insns = p.insns();
    let rets: BTreeSet<u32> = insns
        .iter()
        .filter(|i| i.code == op::RET | op::K)
        .map(|i| i.k)
        .chain([0x0005_0002, 0x7ffc_0000])
        .collect();
    let mut out = Vec::new();
    for (at, insn) in insns.iter().enumerate() {
        let mut variants: Vec<(String, Insn)> = Vec::new();
        let mut with = |what: String, f: &dyn Fn(&mut Insn)| {
            let mut m = *insn;
            f(&mut m);
            if m != *insn {
                variants.push((what, m));
            }
        };
        match insn.class() {
            op::JMP if insn.code != op::JMP | op::JA => {
                with("k ^ 1".into(), &|m| m.k ^= 1);
                with("k + 1".into(), &|m| m.k = m.k.wrapping_add(1));
                with("k - 1".into(), &|m| m.k = m.k.wrapping_sub(1));
                with("k ^ 1 << 31".into(), &|m| m.k ^= 1 << 31);
                with("jt + 1".into(), &|m| m.jt = m.jt.wrapping_add(1));
                with("jf + 1".into(), &|m| m.jf = m.jf.wrapping_add(1));
                with("jt - 1".into(), &|m| m.jt = m.jt.wrapping_sub(1));
                with("jf - 1".into(), &|m| m.jf = m.jf.wrapping_sub(1));
            }
            op::JMP => with("ja + 1".into(), &|m| m.k = m.k.wrapping_add(1)),
            op::LD => {
                with("offset + 4".into(), &|m| m.k = m.k.wrapping_add(4));
                with("offset - 4".into(), &|m| m.k = m.k.wrapping_sub(4));
            }
            op::ALU => with("k ^ 1".into(), &|m| m.k ^= 1),
            op::RET => {
                for &r in &rets {
                    with(format!("ret {r:#x}"), &|m| m.k = r);
                }
            }
            _ => {}
        }
        for (what, m) in variants {
            let mut v = insns.to_vec();
            v[at] = m;
            let mutant = Program::new(v, p.endian());
            if mutant.validate().is_ok() {
                out.push((format!("#{at} {what}"), mutant));
            }
        }
    }
    out
}

/// Inputs built from `p`'s own constants and their neighbours: as the number (arguments
/// zero), and on the numbers the policy checks arguments for, in each argument word.
fn brute_force_inputs(p: &Program, arg_nrs: &[u32], tokens: &[u32]) -> Vec<SeccompData> {
    let mut values: BTreeSet<u32> = [0, 1, u32::MAX, 0x4000_0000].into();
    // Constants compared with an argument word (the last load before the jump, in
    // instruction order) and their neighbours.
    let mut arg_values: BTreeSet<u32> = [0, 1, u32::MAX].into();
    let mut loaded = 0;
    for i in p.insns() {
        if i.code == op::LD | op::W | op::ABS {
            loaded = i.k;
        }
        if i.class() == op::JMP && i.code != op::JMP | op::JA {
            let near = [i.k, i.k.wrapping_add(1), i.k.wrapping_sub(1)];
            values.extend(near);
            if loaded >= sysgate::bpf::data::ARGS {
                arg_values.extend(near);
            }
        }
    }
    let mut out = Vec::new();
    for &arch in tokens.iter().chain(&[0]) {
        for &nr in &values {
            out.push(SeccompData {
                nr,
                arch,
                ..Default::default()
            });
        }
        for &nr in arg_nrs {
            for word in 0..6usize {
                for &v in &arg_values {
                    let mut args = [0u64; 6];
                    args[word] = u64::from(v);
                    out.push(SeccompData {
                        nr,
                        arch,
                        args,
                        ..Default::default()
                    });
                    args[word] = u64::from(v) << 32;
                    out.push(SeccompData {
                        nr,
                        arch,
                        args,
                        ..Default::default()
                    });
                }
            }
        }
    }
    out
}

#[test]
fn mutants_are_proven_harmless_or_refuted_and_brute_force_agrees() {
    let all = std::env::var("SYSGATE_MUTANTS").as_deref() == Ok("all");
    // arm64 (arm + aarch64) always; amd64 (x86_64 + x86 + x32) too with SYSGATE_MUTANTS=all.
    let targets: &[Arch] = if all {
        &[Arch::Aarch64, Arch::X86_64]
    } else {
        &[Arch::Aarch64]
    };
    let (mut total, mut proven, mut refuted, mut brute_found) = (0, 0, 0, 0);
    for &arch in targets {
        let policy = builtin::builtin("docker-default", &Target::docker_default(arch))
            .unwrap()
            .policy;
        let original = compile(&policy).unwrap().programs.remove(0);
        let mut arg_nrs = BTreeSet::new();
        for &a in policy.arches() {
            for r in policy.rules().iter().filter(|r| !r.conds.is_empty()) {
                arg_nrs.extend(policy.rule_targets(r, a));
            }
        }
        let arg_nrs: Vec<u32> = arg_nrs.into_iter().collect();
        let tokens: Vec<u32> = policy
            .arches()
            .iter()
            .map(|a| a.audit_arch())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mutants = mutants(&original);
        total += mutants.len();
        for (n, (what, mutant)) in mutants.iter().enumerate() {
            if !all && n % 8 != 0 {
                continue;
            }
            let what = format!("{arch} {what}");
            let report = verify::filters_vs_filters(
                std::slice::from_ref(&original),
                std::slice::from_ref(mutant),
                1,
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            let differs_at = brute_force_inputs(mutant, &arg_nrs, &tokens)
                .into_iter()
                .find(|d| {
                    let (a, b) = (
                        original.emulate(d).unwrap().ret,
                        mutant.emulate(d).unwrap().ret,
                    );
                    verify::kernel_meaning(a) != verify::kernel_meaning(b)
                });
            if report.proven() {
                proven += 1;
                assert!(
                    differs_at.is_none(),
                    "{what}: proven equal, but brute force finds {differs_at:x?}"
                );
            } else {
                refuted += 1;
                let m = &report.mismatches[0];
                let (a, b) = (
                    original.emulate(&m.data).unwrap().ret,
                    mutant.emulate(&m.data).unwrap().ret,
                );
                assert_ne!(
                    verify::kernel_meaning(a),
                    verify::kernel_meaning(b),
                    "{what}: the counterexample {m:x?} is not one"
                );
                brute_found += usize::from(differs_at.is_some());
            }
        }
    }
    eprintln!(
        "{total} mutants ({} run): {proven} proven harmless, {refuted} refuted ({brute_found} of \
         them also found by brute force)",
        proven + refuted
    );
    assert!(refuted > 0 && proven > 0);
}
