//! Differential test: the same random sequences of C API calls go to Debian's libseccomp
//! 2.5.4 and to this library, both opened in this process with dlopen. Every return code
//! must be equal, and every decision of the two exported programs (run in sysgate's BPF
//! emulator) must be equal too, except where libseccomp's own program is known to decide
//! otherwise (docs/libseccomp.md):
//!
//! - **order**: several conditional rules on one syscall with different actions match the
//!   call; libseccomp takes the first in its rule tree, sysgate the most restrictive;
//! - **32-bit**: x86 or x32 and a datum above 32 bits: libseccomp compares the low word only;
//! - **range64**: a `<`, `<=`, `>`, `>=` rule with a 64-bit datum, where libseccomp's
//!   program compares the words wrongly;
//! - **range64 refused**: libseccomp answers `-EEXIST` to a rule where a 64-bit range test
//!   (`<`, `<=`, `>`, `>=`) shares tree nodes with another rule's word tests; sysgate adds
//!   it (the sequence stops there, as the two filters differ from then on);
//! - **32-bit refused**: x86 or x32 in the filter and a datum above 32 bits on the syscall,
//!   where libseccomp and sysgate disagree about `-EEXIST` (libseccomp's 32-bit tree nodes
//!   keep the 64-bit datum but its program compares the low word); the sequence stops there;
//! - **tree refused**: a syscall with two or more conditional rules already, where
//!   libseccomp's `-EEXIST` answer depends on how its tree merged and pruned them (sysgate
//!   mirrors the common shapes: the same chain with another action, a chain ending inside a
//!   longer one, a chain continuing a shorter one); the sequence stops there;
//! - **x32**: a filter with x32 and x86_64, whose argument checks libseccomp lays out in
//!   one block for the shared audit token and mixes up;
//! - **tree**: several conditional rules on one syscall, and libseccomp answers what the
//!   matching rules do not say: a call that fails one rule's first test follows that
//!   rule's false branch into another rule's subtree and never reaches the sibling that
//!   decides it (it gets the default although a rule matches, or a rule's action although
//!   none matches).
//!
//! Besides, this library's decision must be the one an independent reading of the rules
//! gives: the first unconditional rule on the syscall, else the most restrictive matching
//! conditional rule, else the default.

mod support;

use std::ffi::{c_int, c_uint, c_void};
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use libloading::Library;
use sysgate::arch::Endian;
use sysgate::bpf::{Program, SeccompData};
use sysgate::Arch;

#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
struct ArgCmp {
    arg: c_uint,
    op: c_uint,
    datum_a: u64,
    datum_b: u64,
}

type Init = unsafe extern "C" fn(u32) -> *mut c_void;
type Release = unsafe extern "C" fn(*mut c_void);
type ArchAdd = unsafe extern "C" fn(*mut c_void, u32) -> c_int;
type AttrSet = unsafe extern "C" fn(*mut c_void, c_uint, u32) -> c_int;
type RuleAddArray = unsafe extern "C" fn(*mut c_void, u32, c_int, c_uint, *const ArgCmp) -> c_int;
type RuleAdd = unsafe extern "C" fn(*mut c_void, u32, c_int, c_uint, ...) -> c_int;
type Export = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;

/// One library's functions.
struct Api {
    _lib: Library,
    init: Init,
    release: Release,
    arch_add: ArchAdd,
    attr_set: AttrSet,
    rule_add_array: RuleAddArray,
    rule_add_exact_array: RuleAddArray,
    rule_add: RuleAdd,
    rule_add_exact: RuleAdd,
    export_bpf: Export,
}

impl Api {
    fn open(path: &str) -> Api {
        // SAFETY: loading libseccomp (either build); its initialisers take no arguments.
        let lib = unsafe { Library::new(path) }.unwrap_or_else(|e| panic!("{path}: {e}"));
        // SAFETY: each symbol is libseccomp's function with the C signature given.
        unsafe {
            Api {
                init: *lib.get(b"seccomp_init\0").unwrap(),
                release: *lib.get(b"seccomp_release\0").unwrap(),
                arch_add: *lib.get(b"seccomp_arch_add\0").unwrap(),
                attr_set: *lib.get(b"seccomp_attr_set\0").unwrap(),
                rule_add_array: *lib.get(b"seccomp_rule_add_array\0").unwrap(),
                rule_add_exact_array: *lib.get(b"seccomp_rule_add_exact_array\0").unwrap(),
                rule_add: *lib.get(b"seccomp_rule_add\0").unwrap(),
                rule_add_exact: *lib.get(b"seccomp_rule_add_exact\0").unwrap(),
                export_bpf: *lib.get(b"seccomp_export_bpf\0").unwrap(),
                _lib: lib,
            }
        }
    }

    /// Add a rule through the variadic function (`variadic`) or the array one.
    fn add(&self, ctx: *mut c_void, exact: bool, variadic: bool, r: &CRule) -> c_int {
        let a = &r.args;
        let n = a.len() as c_uint;
        // SAFETY: a live context; the variadic call passes `n` comparisons by value, as C
        // callers do.
        unsafe {
            if !variadic {
                let f = if exact {
                    self.rule_add_exact_array
                } else {
                    self.rule_add_array
                };
                return f(ctx, r.action, r.syscall, n, a.as_ptr());
            }
            let f = if exact {
                self.rule_add_exact
            } else {
                self.rule_add
            };
            match a.len() {
                0 => f(ctx, r.action, r.syscall, 0),
                1 => f(ctx, r.action, r.syscall, 1, a[0]),
                2 => f(ctx, r.action, r.syscall, 2, a[0], a[1]),
                _ => f(ctx, r.action, r.syscall, n, a[0], a[1], a[2]),
            }
        }
    }

    /// The exported program, or the error code.
    fn export(&self, ctx: *mut c_void) -> Result<Program, c_int> {
        // SAFETY: memfd_create with a static name; the fd is owned below.
        let fd = unsafe { libc::memfd_create(c"export".as_ptr(), 0) };
        assert!(fd >= 0);
        // SAFETY: a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a live context and an open fd.
        let rc = unsafe { (self.export_bpf)(ctx, fd.as_raw_fd()) };
        if rc != 0 {
            return Err(rc);
        }
        let mut file = std::fs::File::from(fd);
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        Ok(Program::from_bytes(&bytes, Endian::Little).expect("a whole program"))
    }
}

const ALLOW: u32 = 0x7fff_0000;
const ACTIONS: &[u32] = &[
    ALLOW,
    0x0005_0001, // ERRNO(1)
    0x0005_0002, // ERRNO(2)
    0,           // KILL_THREAD
    0x8000_0000, // KILL_PROCESS
    0x0003_0000, // TRAP
    0x7ffc_0000, // LOG
    0x7ff0_0003, // TRACE(3)
];
const VALUES: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0xffff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
];

#[derive(Clone, Debug)]
struct CRule {
    action: u32,
    syscall: c_int,
    args: Vec<ArgCmp>,
}

fn holds(c: &ArgCmp, arg: u64) -> bool {
    match c.op {
        1 => arg != c.datum_a,
        2 => arg < c.datum_a,
        3 => arg <= c.datum_a,
        4 => arg == c.datum_a,
        5 => arg >= c.datum_a,
        6 => arg > c.datum_a,
        7 => arg & c.datum_a == c.datum_b & c.datum_a,
        _ => false,
    }
}

/// The decision the rules mean, read independently of sysgate's Policy (see the module
/// docs), for a call of native syscall `native_nr` with `args` (already cut to the ABI's
/// word size).
fn expected(default: u32, rules: &[CRule], native_nr: c_int, args: &[u64; 6]) -> u32 {
    let on: Vec<&CRule> = rules.iter().filter(|r| r.syscall == native_nr).collect();
    if let Some(u) = on.iter().find(|r| r.args.is_empty()) {
        return u.action;
    }
    // A rule continuing an earlier rule's chain of equality tests is dropped by libseccomp.
    let equalities = |r: &CRule| r.args.iter().all(|c| c.op == 4 || c.op == 7);
    let key = |c: &ArgCmp| match c.op {
        7 => (c.arg, c.op, c.datum_a, c.datum_b & c.datum_a),
        _ => (c.arg, c.op, c.datum_a, 0),
    };
    let sorted = |r: &CRule| {
        let mut k: Vec<_> = r.args.iter().map(key).collect();
        k.sort();
        k
    };
    let kept: Vec<&&CRule> = on
        .iter()
        .enumerate()
        .filter(|(i, r)| {
            !on[..*i].iter().any(|e| {
                let (ke, kr) = (sorted(e), sorted(r));
                !ke.is_empty()
                    && ke.len() < kr.len()
                    && equalities(e)
                    && equalities(r)
                    && kr[..ke.len()] == ke[..]
            })
        })
        .map(|(_, r)| r)
        .collect();
    kept.iter()
        .filter(|r| r.args.iter().all(|c| holds(c, args[c.arg as usize])))
        .map(|r| r.action)
        .min_by_key(|a| *a as i32)
        .unwrap_or(default)
}

#[derive(Default, Debug)]
struct Tally {
    compared: usize,
    order: usize,
    bits32: usize,
    range64: usize,
    x32: usize,
    tree: usize,
    range64_refused: usize,
    bits32_refused: usize,
    tree_refused: usize,
}

/// One of `items`, chosen by `rng`.
fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

#[test]
fn random_call_sequences_agree_with_libseccomp() {
    if Arch::native() != Arch::X86_64 {
        eprintln!("SKIPPED: the sequences use x86_64 syscall numbers");
        return;
    }
    if std::fs::metadata("/usr/lib/x86_64-linux-gnu/libseccomp.so.2").is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("libseccomp2 is required under CI");
        }
        eprintln!("SKIPPED: libseccomp.so.2 is not installed (apt-get install libseccomp2)");
        return;
    }
    let theirs = Api::open("/usr/lib/x86_64-linux-gnu/libseccomp.so.2");
    let ours = Api::open(support::built_library().to_str().unwrap());
    let x86_64 = |n: &str| Arch::X86_64.libseccomp_resolve_name(n);
    let syscalls = [
        x86_64("read"),
        x86_64("write"),
        x86_64("socket"),
        x86_64("close"),
        x86_64("openat"),
        x86_64("socketcall"), // a pseudo number on x86_64
        1000,                 // no such syscall
    ];
    let mut tally = Tally::default();
    for case in 0..cases() {
        let mut rng = fastrand::Rng::with_seed(
            0x9e37_79b9_7f4a_7c15 ^ (case + 1).wrapping_mul(0x1234_5678_9abc),
        );
        let what = |step: &str| format!("case {case}: {step}");
        let default = pick(&mut rng, &[0, 0x0005_0026, ALLOW, 0x8000_0000]);
        // SAFETY: init with a plain value.
        let (a, b) = unsafe { ((theirs.init)(default), (ours.init)(default)) };
        assert!(!a.is_null() && !b.is_null(), "{}", what("init"));
        let mut arches = vec![Arch::X86_64];
        for extra in [Arch::X86, Arch::X32] {
            if rng.usize(..4) == 0 {
                let token = extra.libseccomp_token();
                // SAFETY: live contexts.
                let (ra, rb) = unsafe { ((theirs.arch_add)(a, token), (ours.arch_add)(b, token)) };
                assert_eq!(ra, rb, "{}", what("arch_add"));
                arches.push(extra);
            }
        }
        let mut bad_arch = 0; // SCMP_ACT_KILL, libseccomp's default
        if rng.usize(..5) == 0 {
            // SAFETY: live contexts; ACT_BADARCH = ERRNO(5).
            let (ra, rb) = unsafe {
                (
                    (theirs.attr_set)(a, 2, 0x0005_0005),
                    (ours.attr_set)(b, 2, 0x0005_0005),
                )
            };
            assert_eq!(ra, rb, "{}", what("attr_set"));
            bad_arch = 0x0005_0005;
        }
        let mut rules: Vec<CRule> = Vec::new();
        let mut diverged = false;
        for step in 0..1 + rng.usize(..8) {
            let mut r = CRule {
                action: pick(&mut rng, ACTIONS),
                syscall: pick(&mut rng, &syscalls),
                args: Vec::new(),
            };
            for _ in 0..pick(&mut rng, &[0, 0, 1, 1, 2, 3]) {
                r.args.push(ArgCmp {
                    arg: if rng.usize(..30) == 0 {
                        6
                    } else {
                        rng.usize(..3) as c_uint
                    },
                    op: if rng.usize(..40) == 0 {
                        8
                    } else {
                        1 + rng.usize(..7) as c_uint
                    },
                    datum_a: pick(&mut rng, VALUES),
                    datum_b: pick(&mut rng, VALUES),
                });
            }
            // Sometimes continue an earlier rule's chain by one more equality, the shape
            // whose decision depends on libseccomp's tree (a shorter chain decides).
            if rng.usize(..4) == 0 {
                if let Some(earlier) = rules.get(rng.usize(..rules.len().max(1))) {
                    if !earlier.args.is_empty() && earlier.args.len() < 3 {
                        let used: Vec<c_uint> = earlier.args.iter().map(|c| c.arg).collect();
                        if let Some(free) = (0..3).find(|a| !used.contains(a)) {
                            r.syscall = earlier.syscall;
                            r.args = earlier.args.clone();
                            r.args.push(ArgCmp {
                                arg: free,
                                op: 4,
                                datum_a: pick(&mut rng, VALUES),
                                datum_b: 0,
                            });
                        }
                    }
                }
            }
            let exact = rng.usize(..5) == 0;
            let variadic = rng.usize(..2) == 0 && std::env::var_os("NOVAR").is_none();
            let ra = theirs.add(a, exact, variadic, &r);
            let rb = ours.add(b, exact, variadic, &r);
            let range = |r: &CRule| r.args.iter().any(|c| matches!(c.op, 2 | 3 | 5 | 6));
            let ranges_here = range(&r) || rules.iter().any(|o| o.syscall == r.syscall && range(o));
            let wide = |r: &CRule| {
                r.args
                    .iter()
                    .any(|c| c.datum_a > 0xffff_ffff || c.datum_b > 0xffff_ffff)
            };
            let wide_here = wide(&r) || rules.iter().any(|o| o.syscall == r.syscall && wide(o));
            let word32 = arches.iter().any(|a| *a == Arch::X86 || *a == Arch::X32);
            if ra != rb && (ra == -libc::EEXIST || rb == -libc::EEXIST) && word32 && wide_here {
                // libseccomp's 32-bit chains keep 64-bit data in their nodes but compare
                // low words; which of them then clash with -EEXIST is not mirrored here.
                tally.bits32_refused += 1;
                diverged = true;
                break;
            }
            let conditional_here = rules
                .iter()
                .filter(|o| o.syscall == r.syscall && !o.args.is_empty())
                .count();
            if ra != rb && (ra == -libc::EEXIST || rb == -libc::EEXIST) && conditional_here >= 2 {
                // With several conditional rules on the syscall, whether libseccomp's tree
                // takes one more depends on how it merged and pruned the earlier ones; the
                // shapes sysgate mirrors are in filter.rs (`clashes`). The sequence stops.
                tally.tree_refused += 1;
                diverged = true;
                break;
            }
            if (ra, rb) == (-libc::EEXIST, 0) && ranges_here {
                // libseccomp splits a 64-bit range test into word tests whose tree nodes
                // collide with another rule's: it refuses what sysgate takes. The filters
                // now differ, so the case ends here.
                tally.range64_refused += 1;
                diverged = true;
                break;
            }
            assert_eq!(
                ra,
                rb,
                "{}: {r:x?} exact {exact}",
                what(&format!("rule {step}"))
            );
            if std::env::var_os("DEBUG_CASES").is_some() {
                eprintln!("case {case} arches {arches:?} default {default:#x}: rule {r:x?} exact {exact} -> {ra}");
            }
            if ra == 0 {
                rules.push(r);
            }
        }
        let (pa, pb) = (theirs.export(a), ours.export(b));
        // SAFETY: live contexts, released once.
        unsafe {
            (theirs.release)(a);
            (ours.release)(b);
        }
        let (pa, pb) = match (pa, pb) {
            (Ok(pa), Ok(pb)) => (pa, pb),
            (ra, rb) => panic!("{}: {ra:?} vs {rb:?}", what("export")),
        };
        if diverged {
            continue;
        }
        // Calls from an architecture the filter lacks (and x32 calls on an x86_64 filter
        // without x32) get the bad-arch action from both.
        let mut foreign = vec![(Arch::Aarch64.audit_arch(), 63)];
        if !arches.contains(&Arch::X32) {
            foreign.push((Arch::X86_64.audit_arch(), 0x4000_0000));
        }
        for (token, nr) in foreign {
            let data = SeccompData {
                nr,
                arch: token,
                instruction_pointer: 0,
                args: [0; 6],
            };
            let (ra, rb) = (
                pa.emulate(&data).unwrap().ret,
                pb.emulate(&data).unwrap().ret,
            );
            assert_eq!(ra, rb, "case {case}: bad arch {token:#x} nr {nr:#x}");
            assert_eq!(rb, bad_arch, "case {case}: bad arch {token:#x} nr {nr:#x}");
            tally.compared += 1;
        }
        for &arch in &arches {
            for &native_nr in &syscalls {
                let name = Arch::X86_64.libseccomp_resolve_number(native_nr.into());
                let Some(nr) = name.and_then(|n| arch.syscall_number(n)).or_else(|| {
                    (arch == Arch::X86_64 && native_nr >= 0).then_some(native_nr as u32)
                }) else {
                    continue;
                };
                if arch.multiplexed_calls().any(|(_, via)| via.syscall == nr) {
                    // socketcall on x86 also carries the socket rules: decided by the
                    // multiplexer semantics, compared in tests of their own.
                    continue;
                }
                let on: Vec<&CRule> = rules.iter().filter(|r| r.syscall == native_nr).collect();
                for v in VALUES {
                    for args in [
                        [*v, 0, 0, 0, 0, 0],
                        [0, *v, 0, 0, 0, 0],
                        [1, *v, 2, 0, 0, 0],
                    ] {
                        let data = SeccompData {
                            nr,
                            arch: arch.audit_arch(),
                            instruction_pointer: 0,
                            args,
                        };
                        let seen = sysgate::policy::effective_args(arch, &args);
                        let want = expected(default, &rules, native_nr, &seen);
                        let got_ours = pb.emulate(&data).unwrap().ret;
                        let got_theirs = pa.emulate(&data).unwrap().ret;
                        let at = format!(
                            "case {case}: {arch} nr {nr} args {args:x?}, rules {on:x?}, default {default:#x}"
                        );
                        assert_eq!(got_ours, want, "sysgate: {at}");
                        tally.compared += 1;
                        if got_theirs == got_ours {
                            continue;
                        }
                        let matching: Vec<u32> = on
                            .iter()
                            .filter(|r| r.args.iter().all(|c| holds(c, seen[c.arg as usize])))
                            .map(|r| r.action)
                            .collect();
                        if arches.contains(&Arch::X32)
                            && arch != Arch::X86
                            && on.iter().any(|r| !r.args.is_empty())
                        {
                            tally.x32 += 1;
                            continue;
                        }
                        let big = |c: &ArgCmp| c.datum_a > 0xffff_ffff || c.datum_b > 0xffff_ffff;
                        if (!arch.args_are_64bit() || arch == Arch::X32)
                            && on.iter().any(|r| r.args.iter().any(big))
                        {
                            tally.bits32 += 1;
                            continue;
                        }
                        if on.iter().any(|r| {
                            r.args
                                .iter()
                                .any(|c| (2..=6).contains(&c.op) && c.op != 4 && big(c))
                        }) {
                            tally.range64 += 1;
                            continue;
                        }
                        let distinct = matching.iter().collect::<std::collections::BTreeSet<_>>();
                        if distinct.len() > 1 && matching.contains(&got_theirs) {
                            tally.order += 1;
                            continue;
                        }
                        if on.iter().filter(|r| !r.args.is_empty()).count() > 1 {
                            tally.tree += 1;
                            continue;
                        }
                        panic!("libseccomp {got_theirs:#x}, sysgate {got_ours:#x}: {at}");
                    }
                }
            }
        }
    }
    eprintln!("{tally:?}");
    assert!(tally.compared > 10_000, "{tally:?}");
}

/// How many sequences: 400, or `SYSGATE_DIFF_CASES`.
fn cases() -> u64 {
    std::env::var("SYSGATE_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}
