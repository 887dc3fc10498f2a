//! Docker/OCI profiles judged by runc's reading of them: random profiles are read by sysgate
//! (`profile::docker`) and by an independent evaluator of runc's rules written here, over the
//! JSON as `serde_json::Value` and none of sysgate's reading code: runc's `InitSeccomp` and
//! `matchCall` (rules with the default action dropped, a repeated argument index turning every
//! condition into a rule of its own), libseccomp's filter (arch check, x32 split, masked
//! comparisons with the expected value masked, 32-bit ABIs comparing low words) and runc's
//! ENOSYS stub (`patchbpf`: above the largest syscall named per ABI, before the filter).
//!
//! Both the reference evaluator (`Policy::decide`) and the compiled program (emulated) must
//! give runc's answer on every syscall number of every ABI of the filter (the whole table,
//! its neighbours, the thresholds and the x32-bit boundaries) and on boundary arguments.
//!
//! Where sysgate deliberately reads a profile differently (docs/semantics.md, "Where sysgate
//! reads a format differently"), the case is skipped, and `Skip` says which difference it is.
//! Syscall numbers come from sysgate's tables, which `tables_vs_kernel_headers.rs` checks.

use proptest::prelude::*;
use serde_json::{json, Value};
use sysgate::arch::{Arch, X32_SYSCALL_BIT};
use sysgate::bpf::SeccompData;
use sysgate::compile::compile;
use sysgate::policy::Policy;
use sysgate::profile::{docker, Target};

// The kernel's return values (include/uapi/linux/seccomp.h) and errnos runc uses.
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const EPERM: u32 = 1;

/// The ENOSYS runc's stub returns: the C constant of the machine runc was built for
/// (arch/mips/include/uapi/asm/errno.h: 89; parisc: 251; asm-generic: 38).
fn enosys_on(host: Arch) -> u32 {
    match host {
        Arch::Mips
        | Arch::Mipsel
        | Arch::Mips64
        | Arch::Mipsel64
        | Arch::Mips64n32
        | Arch::Mipsel64n32 => 89,
        Arch::Parisc | Arch::Parisc64 => 251,
        _ => 38,
    }
}

/// Targets and the sub-architectures a profile may list for them.
const TARGETS: &[(Arch, &[Arch])] = &[
    (Arch::X86_64, &[Arch::X86, Arch::X32]),
    (Arch::Aarch64, &[Arch::Arm]),
    (Arch::S390x, &[Arch::S390]),
    (Arch::Riscv64, &[]),
    (Arch::Mipsel64, &[Arch::Mipsel, Arch::Mipsel64n32]),
    (Arch::Parisc, &[]),
];

/// Names with numbers low and high, new ones (clone3, openat2, listns), ABI-specific ones
/// (arch_prctl, mmap2, the x32-only rt_sigaction at 512) and multiplexed ones (socket).
const NAMES: &[&str] = &[
    "read",
    "write",
    "close",
    "openat",
    "ioctl",
    "clone",
    "clone3",
    "openat2",
    "faccessat2",
    "close_range",
    "uname",
    "personality",
    "futex",
    "arch_prctl",
    "mmap2",
    "rt_sigaction",
    "preadv2",
    "fchmodat2",
    "listns",
    "rseq_slice_yield",
    "socket",
    "getpid",
    "exit_group",
];

const VALUES: &[u64] = &[
    0,
    1,
    2,
    8,
    0x300,
    1000,
    0xff00,
    0x7e02_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0005,
    0x8000_0000_0000_0000,
    u64::MAX,
];

const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
];

const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

// ---------------------------------------------------------------------------------------------
// runc's reading, written out again.
// ---------------------------------------------------------------------------------------------

/// The libseccomp action runc makes of `action` and `errnoRet` (runc's `getAction`).
fn runc_action(action: &str, errno_ret: Option<u64>) -> u32 {
    let errno = errno_ret.map_or(EPERM, |e| e as u32);
    match action {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => RET_KILL_PROCESS,
        "SCMP_ACT_TRAP" => RET_TRAP,
        "SCMP_ACT_ERRNO" => RET_ERRNO | errno,
        "SCMP_ACT_TRACE" => RET_TRACE | errno,
        "SCMP_ACT_LOG" => RET_LOG,
        "SCMP_ACT_ALLOW" => RET_ALLOW,
        other => panic!("the generator made {other}"),
    }
}

/// One argument condition as runc hands it to libseccomp.
#[derive(Clone, Debug)]
struct Cond {
    index: usize,
    op: String,
    value: u64,
    value_two: u64,
}

/// One libseccomp rule: a syscall name, an action, conditions that must all hold.
#[derive(Clone, Debug)]
struct ScmpRule {
    name: String,
    action: u32,
    conds: Vec<Cond>,
}

/// What runc installs for one profile on one target.
struct Runc {
    /// The machine's architecture (the target).
    host: Arch,
    default: u32,
    /// The filter's ABIs: the native one and the listed ones.
    arches: Vec<Arch>,
    rules: Vec<ScmpRule>,
    /// The ENOSYS stub's thresholds (none when the default is ALLOW, LOG or TRACE).
    thresholds: Vec<(Arch, u32)>,
}

/// Why a case is not compared: a reading sysgate makes differently on purpose.
#[derive(Debug)]
enum Skip {
    /// Rules with different actions for one syscall: sysgate combines them order-
    /// independently (most restrictive wins); libseccomp's result depends on the order or it
    /// refuses the filter.
    OrderIndependentRules,
    /// A multiplexer's number (socketcall/ipc) where the profile names a call it multiplexes:
    /// sysgate decides that path as the most restrictive outcome the rules can give.
    MultiplexedPath,
    /// A 32-bit ABI with a constant above 32 bits, or x32 with an argument's high word set:
    /// libseccomp compares low words only, sysgate the whole value.
    LowWordOnly,
    /// A number with bit 31 but not the x32 bit on an x86_64 filter without x32: runc's stub
    /// answers ENOSYS, sysgate treats it as a foreign x32 call (bad-arch action).
    NotAnAbiNumber,
}

impl Runc {
    fn read(profile: &Value, target: Arch) -> Runc {
        // Podman turns an errno name into the machine's number before runc sees it.
        let podman = |name: &Value| match name.as_str() {
            Some("EPERM") => Some(u64::from(EPERM)),
            Some("ENOSYS") => Some(u64::from(enosys_on(target))),
            Some("EACCES") => Some(13),
            Some(other) => panic!("the test uses {other}: extend podman"),
            None => None,
        };
        let default = runc_action(
            profile["defaultAction"].as_str().unwrap(),
            podman(&profile["defaultErrno"]).or(profile["defaultErrnoRet"].as_u64()),
        );
        let mut arches = vec![target];
        for a in profile["architectures"].as_array().into_iter().flatten() {
            let name = a.as_str().unwrap().strip_prefix("SCMP_ARCH_").unwrap();
            let arch = Arch::ALL
                .into_iter()
                .find(|x| x.name().eq_ignore_ascii_case(name))
                .unwrap();
            if !arches.contains(&arch) {
                arches.push(arch);
            }
        }
        // specconv: one configs.Syscall per name; matchCall drops those with the default
        // action, but the stub's findLastSyscalls still sees them.
        let mut all_names = Vec::new();
        let mut rules = Vec::new();
        for entry in profile["syscalls"].as_array().unwrap() {
            let action = runc_action(
                entry["action"].as_str().unwrap(),
                podman(&entry["errno"]).or(entry["errnoRet"].as_u64()),
            );
            let conds: Vec<Cond> = entry["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| Cond {
                    index: a["index"].as_u64().unwrap() as usize,
                    op: a["op"].as_str().unwrap().to_string(),
                    value: a["value"].as_u64().unwrap_or(0),
                    value_two: a["valueTwo"].as_u64().unwrap_or(0),
                })
                .collect();
            for name in entry["names"].as_array().unwrap() {
                let name = name.as_str().unwrap().to_string();
                all_names.push(name.clone());
                if action == default {
                    continue;
                }
                let mut counts = [0; 6];
                conds.iter().for_each(|c| counts[c.index] += 1);
                if counts.iter().any(|&n| n > 1) {
                    // "Revert to old behavior": each condition a rule of its own.
                    for c in &conds {
                        rules.push(ScmpRule {
                            name: name.clone(),
                            action,
                            conds: vec![c.clone()],
                        });
                    }
                } else {
                    rules.push(ScmpRule {
                        name: name.clone(),
                        action,
                        conds: conds.clone(),
                    });
                }
            }
        }
        let permissive = [RET_ALLOW, RET_LOG];
        let stub = !permissive.contains(&default) && default & 0xffff_0000 != RET_TRACE;
        let thresholds = if stub {
            arches
                .iter()
                .filter_map(|&a| {
                    let largest = all_names.iter().filter_map(|n| a.syscall_number(n)).max()?;
                    (largest > 0).then_some((a, largest))
                })
                .collect()
        } else {
            Vec::new()
        };
        Runc {
            host: target,
            default,
            arches,
            rules,
            thresholds,
        }
    }

    fn threshold(&self, arch: Arch) -> Option<u32> {
        self.thresholds
            .iter()
            .find(|(a, _)| *a == arch)
            .map(|(_, t)| *t)
    }

    /// What the installed filter returns, or why this case is not compared.
    fn decide(&self, token: u32, nr: u32, args: &[u64; 6]) -> Result<u32, Skip> {
        let x86_64 = Arch::X86_64.audit_arch();
        let has = |a: Arch| self.arches.contains(&a);
        // The ENOSYS stub runs first.
        let stub_abi = if token == x86_64 {
            Some(if nr & X32_SYSCALL_BIT != 0 {
                Arch::X32
            } else {
                Arch::X86_64
            })
        } else {
            self.arches
                .iter()
                .copied()
                .find(|a| a.audit_arch() == token)
        };
        if let Some(t) = stub_abi.and_then(|a| self.threshold(a).map(|t| (a, t))) {
            let (abi, t) = t;
            if nr == 0 && matches!(abi, Arch::S390 | Arch::S390x) || nr > t {
                if token == x86_64 && !has(Arch::X32) && nr >= X32_SYSCALL_BIT && nr != u32::MAX {
                    return Err(Skip::NotAnAbiNumber);
                }
                return Ok(RET_ERRNO | enosys_on(self.host));
            }
        }
        // libseccomp's filter: the arch check, then x86_64's x32 split.
        let abis: Vec<Arch> = self
            .arches
            .iter()
            .copied()
            .filter(|a| a.audit_arch() == token)
            .collect();
        if abis.is_empty() {
            return Ok(RET_KILL_THREAD);
        }
        if token == x86_64 && !has(Arch::X32) && nr >= X32_SYSCALL_BIT && nr != u32::MAX {
            return Ok(RET_KILL_THREAD);
        }
        // The rules whose name has this number on one of the token's ABIs.
        let mut actions = Vec::new();
        let mut matched = None;
        for abi in &abis {
            if abi.has_multiplexers()
                && [abi.syscall_number("socketcall"), abi.syscall_number("ipc")].contains(&Some(nr))
                && self
                    .rules
                    .iter()
                    .any(|r| abi.multiplexed(&r.name).is_some())
            {
                return Err(Skip::MultiplexedPath);
            }
            let low_words = !abi.args_are_64bit() || *abi == Arch::X32;
            for rule in self
                .rules
                .iter()
                .filter(|r| abi.syscall_number(&r.name) == Some(nr))
            {
                if !actions.contains(&rule.action) {
                    actions.push(rule.action);
                }
                if low_words
                    && rule.conds.iter().any(|c| {
                        (c.value | c.value_two) > 0xffff_ffff || args[c.index] > 0xffff_ffff
                    })
                {
                    return Err(Skip::LowWordOnly);
                }
                if rule.conds.iter().all(|c| holds(c, args[c.index])) {
                    matched = Some(rule.action);
                }
            }
        }
        if actions.len() > 1 {
            return Err(Skip::OrderIndependentRules);
        }
        Ok(matched.unwrap_or(self.default))
    }
}

/// libseccomp's comparison of one argument (64-bit; the 32-bit cases are skipped above).
/// MASKED_EQ masks the expected value too (db.c, `_db_node_mask_fixup`).
fn holds(c: &Cond, arg: u64) -> bool {
    match c.op.as_str() {
        "SCMP_CMP_NE" => arg != c.value,
        "SCMP_CMP_LT" => arg < c.value,
        "SCMP_CMP_LE" => arg <= c.value,
        "SCMP_CMP_EQ" => arg == c.value,
        "SCMP_CMP_GE" => arg >= c.value,
        "SCMP_CMP_GT" => arg > c.value,
        "SCMP_CMP_MASKED_EQ" => arg & c.value == c.value_two & c.value,
        other => panic!("the generator made {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Random profiles.
// ---------------------------------------------------------------------------------------------

fn arg() -> impl Strategy<Value = Value> {
    (
        0u64..4,
        prop::sample::select(OPS),
        prop::sample::select(VALUES),
        prop::sample::select(VALUES),
    )
        .prop_map(|(index, op, value, value_two)| {
            json!({"index": index, "op": op, "value": value, "valueTwo": value_two})
        })
}

fn entry() -> impl Strategy<Value = Value> {
    (
        prop::sample::subsequence(NAMES, 1..4),
        prop::sample::select(ACTIONS),
        prop::option::of(prop::sample::select(&[1u64, 13, 38][..])),
        // Podman's errno names, which win over errnoRet and are the machine's numbers.
        prop::option::of(prop::sample::select(&["EPERM", "EACCES", "ENOSYS"][..])),
        prop::collection::vec(arg(), 0..3),
    )
        .prop_map(|(names, action, errno, name, args)| {
            let mut e = json!({"names": names, "action": action});
            if let Some(errno) = errno {
                e["errnoRet"] = json!(errno);
            }
            if let Some(name) = name {
                e["errno"] = json!(name);
            }
            if !args.is_empty() {
                e["args"] = Value::Array(args);
            }
            e
        })
}

fn profile() -> impl Strategy<Value = (Arch, Value)> {
    (
        0..TARGETS.len(),
        prop::sample::select(ACTIONS),
        prop::option::of(prop::sample::select(&[1u64, 38][..])),
        prop::option::of(prop::sample::select(&["EPERM", "ENOSYS"][..])),
        any::<u8>(),
        prop::collection::vec(entry(), 0..8),
    )
        .prop_map(|(t, default, errno, name, subs, entries)| {
            let (target, all_subs) = TARGETS[t];
            let listed: Vec<String> = all_subs
                .iter()
                .enumerate()
                .filter(|(i, _)| subs & (1 << i) != 0)
                .map(|(_, a)| format!("SCMP_ARCH_{}", a.name().to_ascii_uppercase()))
                .collect();
            let mut p = json!({"defaultAction": default, "syscalls": entries});
            if let Some(errno) = errno {
                p["defaultErrnoRet"] = json!(errno);
            }
            if let Some(name) = name {
                p["defaultErrno"] = json!(name);
            }
            if !listed.is_empty() {
                p["architectures"] = json!(listed);
            }
            (target, p)
        })
}

/// The numbers worth trying on `arch`: its table and neighbours, the thresholds and their
/// neighbours, 0, -1 and the x32-bit boundaries.
fn numbers(arch: Arch, runc: &Runc) -> Vec<u32> {
    let mut nrs: Vec<u32> = Vec::new();
    for (_, nr) in arch.table().iter() {
        nrs.extend([nr.saturating_sub(1), nr, nr.saturating_add(1)]);
    }
    for (_, t) in &runc.thresholds {
        nrs.extend([t.saturating_sub(1), *t, t.saturating_add(1)]);
    }
    nrs.extend([
        0,
        1,
        X32_SYSCALL_BIT - 1,
        X32_SYSCALL_BIT,
        0x7fff_ffff,
        0x8000_0000,
        0xbfff_ffff,
        0xc000_0000,
        u32::MAX - 1,
        u32::MAX,
    ]);
    nrs.sort_unstable();
    nrs.dedup();
    nrs
}

/// Argument vectors at every constant of the profile, its neighbours and masked variants.
fn arg_vectors(profile: &Value) -> Vec<[u64; 6]> {
    let mut values = vec![0, u64::MAX, 0xffff_ffff];
    for entry in profile["syscalls"].as_array().unwrap() {
        for a in entry["args"].as_array().into_iter().flatten() {
            let v = a["value"].as_u64().unwrap();
            let v2 = a["valueTwo"].as_u64().unwrap();
            for k in [v, v2, v2 & v, (v2 & v) | !v, v & 0xffff_ffff] {
                values.extend([k, k.wrapping_add(1), k.wrapping_sub(1)]);
            }
        }
    }
    values.sort_unstable();
    values.dedup();
    let mut out = vec![[0; 6]];
    for (n, v) in values.iter().enumerate() {
        for i in 0..4 {
            let mut a = [0u64; 6];
            a[i] = *v;
            a[(i + 1) % 4] = values[(n * 7 + 3) % values.len()];
            out.push(a);
        }
    }
    out
}

fn ret_name(ret: u32) -> String {
    format!("{ret:#x} ({:?})", sysgate::policy::Action::from_ret(ret))
}

/// The first case where sysgate and runc disagree, described.
fn first_difference(target: Arch, profile: &Value) -> Option<String> {
    let text = serde_json::to_string_pretty(profile).unwrap();
    let loaded = docker::parse(&text, "p.json", &Target::new(target))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let policy: &Policy = &loaded.policy;
    let compiled = compile(policy).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let runc = Runc::read(profile, target);
    let vectors = arg_vectors(profile);
    let mut tokens: Vec<(u32, Arch)> = runc.arches.iter().map(|a| (a.audit_arch(), *a)).collect();
    tokens.push((Arch::Ppc64le.audit_arch(), Arch::Ppc64le)); // never in these filters
    for (token, arch) in tokens {
        for nr in numbers(arch, &runc) {
            let named = runc.rules.iter().any(|r| {
                runc.arches
                    .iter()
                    .any(|a| a.syscall_number(&r.name) == Some(nr))
            });
            let args_list = if named { &vectors[..] } else { &vectors[..1] };
            for args in args_list {
                // The kernel zero-extends the arguments of 32-bit ABIs other than x32.
                let args = match runc.arches.iter().find(|a| a.audit_arch() == token) {
                    Some(a) if !a.args_are_64bit() && *a != Arch::X32 => {
                        args.map(|v| v & 0xffff_ffff)
                    }
                    _ => *args,
                };
                let want = match runc.decide(token, nr, &args) {
                    Ok(want) => want,
                    Err(_skip) => continue,
                };
                let decided = policy.decide_raw(token, nr, &args).action.to_ret();
                let data = SeccompData {
                    nr,
                    arch: token,
                    instruction_pointer: 0,
                    args,
                };
                let emulated = compiled.emulate(&data).unwrap().ret;
                if decided != want || emulated != want {
                    return Some(format!(
                        "token {token:#x} ({arch}) nr {nr} args {args:x?}: runc {}, \
                         Policy::decide {}, the program {}\nprofile for {target}:\n{text}\n\
                         policy:\n{policy}",
                        ret_name(want),
                        ret_name(decided),
                        ret_name(emulated)
                    ));
                }
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn sysgate_reads_docker_profiles_as_runc_does((target, profile) in profile()) {
        if let Some(difference) = first_difference(target, &profile) {
            return Err(TestCaseError::fail(difference));
        }
    }
}

/// The cases the issue names, fixed rather than random.
#[test]
fn runc_reading_of_fixed_profiles() {
    let old = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [{"names": ["read", "write", "uname", "personality"], "action": "SCMP_ACT_ALLOW"}]
    });
    let masked = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                      "args": [{"index": 1, "value": 65280, "valueTwo": 1000, "op": "SCMP_CMP_MASKED_EQ"}]},
                     {"names": ["clone3"], "action": "SCMP_ACT_KILL"}]
    });
    let mut old_s390 = old.clone();
    old_s390["architectures"] = json!(["SCMP_ARCH_S390"]);
    let mut old_mips = old.clone();
    old_mips["architectures"] = json!(["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"]);
    // Podman's names on mips: numbered as mips numbers them, like the stub's ENOSYS.
    let mut named_mips = old_mips.clone();
    named_mips["defaultErrno"] = json!("ENOSYS");
    for (target, p) in [
        (Arch::X86_64, &old),
        (Arch::X86_64, &masked),
        (Arch::S390x, &old_s390),
        (Arch::Mipsel64, &old_mips),
        (Arch::Mipsel64, &named_mips),
    ] {
        if let Some(d) = first_difference(target, p) {
            panic!("{d}");
        }
    }
    // And the evaluator here says what the issue says runc does.
    let runc = Runc::read(&old, Arch::X86_64);
    let clone3 = Arch::X86_64.syscall_number("clone3").unwrap();
    let token = Arch::X86_64.audit_arch();
    assert_eq!(runc.decide(token, clone3, &[0; 6]).unwrap(), RET_ERRNO | 38);
    assert_eq!(runc.decide(token, 135, &[0; 6]).unwrap(), RET_ALLOW); // personality
    assert_eq!(runc.decide(token, 134, &[0; 6]).unwrap(), RET_ERRNO | EPERM);
    let runc = Runc::read(&masked, Arch::X86_64);
    let ioctl = |a1| runc.decide(token, 16, &[0, a1, 0, 0, 0, 0]).unwrap();
    assert_eq!(ioctl(0x3e8), RET_ERRNO | 13);
    assert_eq!(ioctl(0x400), RET_ALLOW);
}
