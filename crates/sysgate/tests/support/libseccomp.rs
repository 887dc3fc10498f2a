//! libseccomp.so.2 opened at run time (dlopen): a second oracle, never the spec.
//!
//! Tests that use it say "SKIPPED" and pass when the library is absent outside CI; under CI
//! (`CI` set) its absence is a failure, because .ci/run installs it.
#![allow(dead_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use libloading::{Library, Symbol};

/// The opened library.
pub struct Libseccomp {
    lib: Library,
}

/// Open libseccomp.so.2, or explain why a test cannot run.
pub fn open() -> Option<Libseccomp> {
    // SAFETY: loading a well-known system library whose initialisers have no preconditions.
    match unsafe { Library::new("libseccomp.so.2") } {
        Ok(lib) => Some(Libseccomp { lib }),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("libseccomp.so.2 is required under CI: {e}");
            }
            eprintln!(
                "SKIPPED: libseccomp.so.2 cannot be opened ({e}); apt-get install libseccomp2"
            );
            None
        }
    }
}

impl Libseccomp {
    fn sym<T>(&self, name: &[u8]) -> Symbol<'_, T> {
        // SAFETY: the caller names a libseccomp function and gives its C signature as `T`.
        unsafe { self.lib.get(name) }
            .unwrap_or_else(|e| panic!("libseccomp lacks {}: {e}", String::from_utf8_lossy(name)))
    }

    /// `seccomp_syscall_resolve_name_arch(token, name)`.
    pub fn resolve_name_arch(&self, token: u32, name: &str) -> i32 {
        let f: Symbol<unsafe extern "C" fn(u32, *const c_char) -> c_int> =
            self.sym(b"seccomp_syscall_resolve_name_arch\0");
        let c = CString::new(name).unwrap();
        // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
        unsafe { f(token, c.as_ptr()) }
    }

    /// `seccomp_syscall_resolve_name_rewrite(token, name)`.
    pub fn resolve_name_rewrite(&self, token: u32, name: &str) -> i32 {
        let f: Symbol<unsafe extern "C" fn(u32, *const c_char) -> c_int> =
            self.sym(b"seccomp_syscall_resolve_name_rewrite\0");
        let c = CString::new(name).unwrap();
        // SAFETY: as above.
        unsafe { f(token, c.as_ptr()) }
    }

    /// `seccomp_syscall_resolve_num_arch(token, nr)`; the returned string is malloc'd.
    pub fn resolve_num_arch(&self, token: u32, nr: i32) -> Option<String> {
        let f: Symbol<unsafe extern "C" fn(u32, c_int) -> *mut c_char> =
            self.sym(b"seccomp_syscall_resolve_num_arch\0");
        let free: Symbol<unsafe extern "C" fn(*mut c_void)> = self.sym(b"free\0");
        // SAFETY: plain call; a non-null result is a malloc'd C string we own and free.
        unsafe {
            let p = f(token, nr);
            if p.is_null() {
                return None;
            }
            let s = CStr::from_ptr(p).to_string_lossy().into_owned();
            free(p.cast());
            Some(s)
        }
    }
}

/// libseccomp's comparison operators (`enum scmp_compare`).
pub mod cmp {
    /// `arg != a`.
    pub const NE: u32 = 1;
    /// `arg < a`.
    pub const LT: u32 = 2;
    /// `arg <= a`.
    pub const LE: u32 = 3;
    /// `arg == a`.
    pub const EQ: u32 = 4;
    /// `arg >= a`.
    pub const GE: u32 = 5;
    /// `arg > a`.
    pub const GT: u32 = 6;
    /// `(arg & a) == b`.
    pub const MASKED_EQ: u32 = 7;
}

/// libseccomp's filter attributes (`enum scmp_filter_attr`) used here.
pub mod attr {
    /// The action for calls from an arch the filter does not cover.
    pub const ACT_BADARCH: i32 = 2;
    /// Whether to set NO_NEW_PRIVS on load.
    pub const CTL_NNP: i32 = 3;
    /// Optimisation level: 1 = priority-sorted list, 2 = binary tree.
    pub const CTL_OPTIMIZE: i32 = 8;
}

/// One `seccomp_rule_add_array` call: (action, native syscall number, conditions), each
/// condition (argument index, `cmp::*` operator, datum a, datum b).
pub type LibseccompRule = (u32, i32, Vec<(u32, u32, u64, u64)>);

/// A filter to build with libseccomp and export as BPF.
#[derive(Clone, Debug, Default)]
pub struct LibseccompFilter {
    /// `seccomp_init(default_action)`.
    pub default_action: u32,
    /// Arches to add (libseccomp tokens: [`sysgate::arch::Arch::libseccomp_token`]); the
    /// native arch is always there unless removed.
    pub arches: Vec<u32>,
    /// Remove the native arch, unless it is listed in `arches`.
    pub remove_native: bool,
    /// The rules, in order. Syscall numbers are native ones (libseccomp translates them to
    /// each arch by name).
    pub rules: Vec<LibseccompRule>,
    /// `SCMP_FLTATR_CTL_OPTIMIZE` (1 or 2); 0 leaves libseccomp's default.
    pub optimize: u32,
    /// `SCMP_FLTATR_ACT_BADARCH`, if set.
    pub badarch: Option<u32>,
    /// Per rule (same order as `rules`), the arches it is added on (libseccomp tokens), or
    /// `None` for all; empty: every rule on every arch. With any `Some`, each arch gets a
    /// filter of its own with its rules, and the filters are joined with `seccomp_merge`.
    pub rule_arches: Vec<Option<Vec<u32>>>,
}

/// `struct scmp_arg_cmp`.
#[repr(C)]
struct ScmpArgCmp {
    arg: u32,
    op: u32,
    datum_a: u64,
    datum_b: u64,
}

type Ctx = *mut c_void;

/// The libseccomp functions a build needs, resolved before forking so that the child does
/// no dynamic-linker work.
#[derive(Copy, Clone)]
struct BuildApi {
    init: unsafe extern "C" fn(u32) -> Ctx,
    arch_native: unsafe extern "C" fn() -> u32,
    arch_add: unsafe extern "C" fn(Ctx, u32) -> c_int,
    arch_remove: unsafe extern "C" fn(Ctx, u32) -> c_int,
    rule_add_array: unsafe extern "C" fn(Ctx, u32, c_int, u32, *const ScmpArgCmp) -> c_int,
    attr_set: unsafe extern "C" fn(Ctx, c_int, u32) -> c_int,
    export_bpf: unsafe extern "C" fn(Ctx, c_int) -> c_int,
    merge: unsafe extern "C" fn(Ctx, Ctx) -> c_int,
    release: unsafe extern "C" fn(Ctx),
}

impl Libseccomp {
    /// Build `spec` with libseccomp and return the BPF bytes `seccomp_export_bpf` writes (in
    /// the target arch's byte order).
    ///
    /// libseccomp can hang or crash on some inputs, so the whole build runs in a forked child
    /// that writes into memfds; after `timeout` the child is killed and this is an error.
    pub fn build_filter(
        &self,
        spec: &LibseccompFilter,
        timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        let api = BuildApi {
            init: *self.sym(b"seccomp_init\0"),
            arch_native: *self.sym(b"seccomp_arch_native\0"),
            arch_add: *self.sym(b"seccomp_arch_add\0"),
            arch_remove: *self.sym(b"seccomp_arch_remove\0"),
            rule_add_array: *self.sym(b"seccomp_rule_add_array\0"),
            attr_set: *self.sym(b"seccomp_attr_set\0"),
            export_bpf: *self.sym(b"seccomp_export_bpf\0"),
            merge: *self.sym(b"seccomp_merge\0"),
            release: *self.sym(b"seccomp_release\0"),
        };
        let mut out = memfd(c"sysgate-libseccomp-bpf")?;
        let mut err = memfd(c"sysgate-libseccomp-err")?;
        let (out_fd, err_fd) = (out.as_raw_fd(), err.as_raw_fd());
        // SAFETY: fork has no preconditions. The child only calls libseccomp (resolved above),
        // write(2) and _exit(2), and never returns into the test harness.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            let result = std::panic::catch_unwind(|| build_in_child(api, spec, out_fd));
            let (code, message) = match result {
                Ok(Ok(())) => (0, String::new()),
                Ok(Err(message)) => (1, message),
                Err(_) => (2, "panic while building".to_string()),
            };
            // SAFETY: writing a live buffer to an open fd, then leaving without running any
            // of the parent's atexit handlers or destructors.
            unsafe {
                libc::write(err_fd, message.as_ptr().cast(), message.len());
                libc::_exit(code);
            }
        }
        let status = wait_with_timeout(pid, timeout)?;
        let mut message = String::new();
        err.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        err.read_to_string(&mut message)
            .map_err(|e| e.to_string())?;
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            return Err(format!(
                "libseccomp build failed (status {status:#x}): {message}"
            ));
        }
        let mut bytes = Vec::new();
        out.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        out.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        Ok(bytes)
    }
}

/// Open libseccomp and build `spec` with it; an error if the library is absent (and a panic
/// under CI, as [`open`] does).
pub fn build_filter(spec: &LibseccompFilter, timeout: Duration) -> Result<Vec<u8>, String> {
    open()
        .ok_or_else(|| "libseccomp.so.2 is not available".to_string())?
        .build_filter(spec, timeout)
}

/// The build itself, in the forked child.
fn build_in_child(api: BuildApi, spec: &LibseccompFilter, out_fd: c_int) -> Result<(), String> {
    let check = |what: &str, rc: c_int| match rc {
        0.. => Ok(()),
        _ => Err(format!("{what} failed: {rc}")),
    };
    // Rules for some arches only: one filter per arch with its rules, merged.
    let per_arch = spec.rule_arches.iter().any(Option::is_some);
    let parts: Vec<(Vec<u32>, bool, Vec<&LibseccompRule>)> = if per_arch {
        spec.arches
            .iter()
            .map(|&token| {
                let rules = spec
                    .rules
                    .iter()
                    .zip(&spec.rule_arches)
                    .filter(|(_, on)| on.as_ref().is_none_or(|on| on.contains(&token)))
                    .map(|(r, _)| r)
                    .collect();
                (vec![token], true, rules)
            })
            .collect()
    } else {
        vec![(
            spec.arches.clone(),
            spec.remove_native,
            spec.rules.iter().collect(),
        )]
    };
    // SAFETY: plain calls into libseccomp with contexts it created; each is released once
    // (a merged one by the merge), and the argument arrays outlive each call.
    unsafe {
        let mut merged: Ctx = std::ptr::null_mut();
        for (arches, remove_native, rules) in parts {
            let ctx = (api.init)(spec.default_action);
            if ctx.is_null() {
                return Err(format!("seccomp_init({:#x}) failed", spec.default_action));
            }
            let result = (|| {
                // Remove first: libseccomp refuses to mix byte orders in one filter (-EDOM).
                let native = (api.arch_native)();
                if remove_native && !arches.contains(&native) {
                    check(
                        "seccomp_arch_remove(native)",
                        (api.arch_remove)(ctx, native),
                    )?;
                }
                for &token in &arches {
                    let rc = (api.arch_add)(ctx, token);
                    if rc != -libc::EEXIST {
                        check(&format!("seccomp_arch_add({token:#x})"), rc)?;
                    }
                }
                if let Some(action) = spec.badarch {
                    check(
                        "seccomp_attr_set(ACT_BADARCH)",
                        (api.attr_set)(ctx, attr::ACT_BADARCH, action),
                    )?;
                }
                if spec.optimize != 0 {
                    check(
                        "seccomp_attr_set(CTL_OPTIMIZE)",
                        (api.attr_set)(ctx, attr::CTL_OPTIMIZE, spec.optimize),
                    )?;
                }
                for (action, syscall, conds) in rules {
                    let args: Vec<ScmpArgCmp> = conds
                        .iter()
                        .map(|&(arg, op, datum_a, datum_b)| ScmpArgCmp {
                            arg,
                            op,
                            datum_a,
                            datum_b,
                        })
                        .collect();
                    let rc = (api.rule_add_array)(
                        ctx,
                        *action,
                        *syscall,
                        args.len() as u32,
                        args.as_ptr(),
                    );
                    check(
                        &format!("seccomp_rule_add_array({action:#x}, {syscall}, {conds:?})"),
                        rc,
                    )?;
                }
                Ok(())
            })();
            if let Err(e) = result {
                (api.release)(ctx);
                if !merged.is_null() {
                    (api.release)(merged);
                }
                return Err(e);
            }
            if merged.is_null() {
                merged = ctx;
            } else {
                let rc = (api.merge)(merged, ctx);
                if rc < 0 {
                    (api.release)(ctx);
                    (api.release)(merged);
                    return Err(format!("seccomp_merge failed: {rc}"));
                }
            }
        }
        let result = check("seccomp_export_bpf", (api.export_bpf)(merged, out_fd));
        (api.release)(merged);
        result
    }
}

/// An anonymous in-memory file the child can write and the parent read back.
fn memfd(name: &CStr) -> Result<File, String> {
    // SAFETY: `name` is NUL-terminated; a non-negative result is a new fd we own.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` is open and owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Wait for child `pid`; kill it once `timeout` has passed.
fn wait_with_timeout(pid: libc::pid_t, timeout: Duration) -> Result<c_int, String> {
    let deadline = Instant::now() + timeout;
    let mut status: c_int = 0;
    loop {
        // SAFETY: `pid` is our child; `status` is a live out-parameter.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Ok(status);
        }
        if rc < 0 {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
        if Instant::now() >= deadline {
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!("libseccomp build timed out after {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Libseccomp {
    /// The libseccomp build of a sysgate policy: the same default, arches, bad-arch action and
    /// rules (named syscalls resolved on the native arch, as libseccomp expects). Rules whose
    /// action is the default are left out, since libseccomp refuses them (they change
    /// nothing), and so are rules on syscalls this libseccomp does not know (2.5.4 predates
    /// the newest ones: it resolves them to -1).
    pub fn filter_from_policy(
        &self,
        p: &sysgate::policy::Policy,
        optimize: u32,
    ) -> LibseccompFilter {
        use sysgate::policy::{CmpOp, Syscall};
        let native = sysgate::arch::Arch::native();
        let kept: Vec<&sysgate::policy::Rule> = p
            .rules()
            .iter()
            .filter(|r| r.action != p.default_action())
            .filter(|r| match &r.syscall {
                Syscall::Name(name) => {
                    self.resolve_name_arch(native.libseccomp_token(), name) != -1
                }
                Syscall::Number(_) => true,
            })
            .collect();
        let rule_arches = kept
            .iter()
            .map(|r| {
                r.only_on
                    .as_ref()
                    .map(|on| on.iter().map(|a| a.libseccomp_token()).collect())
            })
            .collect();
        let rules = kept
            .into_iter()
            .filter_map(|r| {
                let nr = match &r.syscall {
                    Syscall::Name(name) => self.resolve_name_arch(native.libseccomp_token(), name),
                    Syscall::Number(n) => *n as i32,
                };
                if nr == -1 {
                    return None;
                }
                let conds = r
                    .conds
                    .iter()
                    .map(|c| {
                        let (op, a, b) = match c.op() {
                            CmpOp::Ne => (cmp::NE, c.value(), 0),
                            CmpOp::Lt => (cmp::LT, c.value(), 0),
                            CmpOp::Le => (cmp::LE, c.value(), 0),
                            CmpOp::Eq => (cmp::EQ, c.value(), 0),
                            CmpOp::Ge => (cmp::GE, c.value(), 0),
                            CmpOp::Gt => (cmp::GT, c.value(), 0),
                            CmpOp::MaskedEq(m) => (cmp::MASKED_EQ, m, c.value()),
                        };
                        (c.arg() as u32, op, a, b)
                    })
                    .collect();
                Some((r.action.to_ret(), nr, conds))
            })
            .collect();
        LibseccompFilter {
            default_action: p.default_action().to_ret(),
            arches: p.arches().iter().map(|a| a.libseccomp_token()).collect(),
            remove_native: true,
            rules,
            optimize,
            badarch: Some(p.attrs.bad_arch.to_ret()),
            rule_arches,
        }
    }
}

/// The policy on which libseccomp 2.5.4 compiles a wrong filter (its 64-bit range defect):
/// TRAP rules on `write` with `a1 < 1`, `a2 >= 3`, and `a1 >= 0x1_0000_0001 && a2 < 0xff`,
/// default ERRNO(1), x86_64. `write(0, 1, 0)` matches none of them; libseccomp's filter
/// returns TRAP.
pub fn range_defect_policy() -> sysgate::policy::Policy {
    use sysgate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
    use sysgate::Arch;

    let cond = |a, op, v| ArgCond::new(a, op, v).unwrap();
    let mut p = Policy::new(Action::Errno(1));
    p.set_arches([Arch::X86_64]).unwrap();
    p.add_rule(Rule::new(Action::Trap(0), "write").with_cond(cond(1, CmpOp::Lt, 1)))
        .unwrap();
    p.add_rule(Rule::new(Action::Trap(0), "write").with_cond(cond(2, CmpOp::Ge, 3)))
        .unwrap();
    p.add_rule(
        Rule::new(Action::Trap(0), "write")
            .with_cond(cond(1, CmpOp::Ge, 0x1_0000_0001))
            .with_cond(cond(2, CmpOp::Lt, 0xff)),
    )
    .unwrap();
    p
}
