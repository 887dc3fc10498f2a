//! Compiled programs against the reference evaluator, on every number of every arch and on
//! boundary argument values (each constant, its neighbours, hi/lo word variants).

use sysgate::arch::{Arch, X32_SYSCALL_BIT};
use sysgate::bpf::SeccompData;
use sysgate::compile::Compiled;
use sysgate::policy::Policy;

/// Argument vectors that probe every constant of the policy on every argument.
pub fn arg_vectors(policy: &Policy) -> Vec<[u64; 6]> {
    let mut values: Vec<u64> = vec![0, u64::MAX];
    for r in policy.rules() {
        for c in &r.conds {
            for k in c.constants() {
                for v in [
                    k,
                    k.wrapping_add(1),
                    k.wrapping_sub(1),
                    k & 0xffff_ffff,
                    k | 0xffff_ffff_0000_0000,
                    k ^ 0xffff_ffff_0000_0000,
                    k.rotate_right(32),
                    k & 0xffff_ffff_0000_0000,
                ] {
                    values.push(v);
                }
            }
        }
    }
    values.sort();
    values.dedup();
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    for (n, v) in values.iter().enumerate() {
        for arg in 0..3 {
            let mut a = [0u64; 6];
            a[arg] = *v;
            // Vary the other arguments too, so conjunctions see mixed values.
            a[(arg + 1) % 3] = values[(n * 7 + 3) % values.len()];
            a[(arg + 2) % 3] = values[(n * 13 + 5) % values.len()];
            out.push(a);
        }
    }
    out
}

/// Every number worth trying on `arch`: the whole table, its neighbours, gaps, x32-bit and -1.
pub fn numbers(arch: Arch) -> Vec<u32> {
    let mut nrs: Vec<u32> = arch.table().iter().map(|(_, nr)| nr).collect();
    let (_, newest) = arch.newest_syscall();
    nrs.extend([
        0,
        1,
        19,
        20,
        newest + 1,
        newest + 2,
        4095,
        u32::MAX,
        u32::MAX - 1,
    ]);
    nrs.extend([
        X32_SYSCALL_BIT,
        X32_SYSCALL_BIT + 1,
        X32_SYSCALL_BIT - 1,
        0x8000_0000,
    ]);
    if let Some(bit) = arch.x32_bit() {
        nrs.extend((0..20).map(|n| n | bit));
    }
    nrs.sort();
    nrs.dedup();
    nrs
}

/// The first call (token, number, arguments) where the compiled programs and the reference
/// evaluator disagree, described; `None` if they agree everywhere this looks. Probes every
/// architecture of the policy, one it lacks, and an unknown token.
pub fn first_mismatch(policy: &Policy, compiled: &Compiled) -> Option<String> {
    let vectors = arg_vectors(policy);
    let mut tokens: Vec<(u32, Arch)> = policy
        .arches()
        .iter()
        .map(|a| (a.audit_arch(), *a))
        .collect();
    tokens.push((0x1234_5678, Arch::X86_64)); // an architecture no filter knows
    tokens.push((Arch::Aarch64.audit_arch(), Arch::Aarch64));
    for (token, arch) in tokens {
        let mut nrs = numbers(arch);
        // Around each ENOSYS threshold, and where the x86_64 token's stub changes sections.
        for &above in policy.attrs.enosys_above.values() {
            nrs.extend([above.saturating_sub(1), above, above.saturating_add(1)]);
        }
        nrs.extend([0x7fff_ffff, 0xbfff_ffff, 0xc000_0000]);
        nrs.sort_unstable();
        nrs.dedup();
        for nr in nrs {
            let has_rules = policy
                .rules()
                .iter()
                .any(|r| policy.rule_targets(r, arch) == Some(nr))
                || arch.multiplexed_calls().any(|(_, m)| m.syscall == nr);
            let args_list: &[[u64; 6]] = if has_rules { &vectors } else { &vectors[..2] };
            for args in args_list {
                let want = policy.decide_raw(token, nr, args).action.to_ret();
                let data = SeccompData {
                    nr,
                    arch: token,
                    instruction_pointer: 0,
                    args: *args,
                };
                let got = match compiled.emulate(&data) {
                    Ok(got) => got.ret,
                    Err(e) => return Some(format!("emulation failed: {e}")),
                };
                if got != want {
                    return Some(format!(
                        "token {token:#x} ({arch}) nr {nr} args {args:x?}: the program returns \
                         {got:#x}, the evaluator {want:#x}\npolicy:\n{policy}"
                    ));
                }
            }
        }
    }
    None
}
