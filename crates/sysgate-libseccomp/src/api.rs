//! libseccomp's exported functions: a thin C shell. Each one checks its C arguments (null
//! pointers, counts), calls [`Filter`] or the sysgate facade, and maps the outcome to the
//! return code libseccomp documents. Nothing here decides what a filter means.
//!
//! # `seccomp_rule_add` and `seccomp_rule_add_exact` are variadic
//!
//! Stable Rust cannot define a C-variadic function. These two are defined instead with six
//! `struct scmp_arg_cmp` parameters passed by value, which receives exactly what a variadic
//! call passes on x86_64 (System V ABI, §3.2.3): `struct scmp_arg_cmp` is 24 bytes, so it is
//! of class MEMORY and is passed on the stack, in argument order, each copy 8-byte aligned,
//! whether the callee is variadic or not; a variadic callee's `va_arg` walks the same
//! overflow area. The four leading arguments are INTEGER class and sit in `rdi`, `rsi`,
//! `rdx`, `rcx` either way; `%al` (the vector-register count of a variadic call) is
//! ignored. A caller passing fewer than six structs leaves the remaining parameters reading
//! the caller's own stack frame above the arguments (mapped memory); only the first
//! `arg_cnt` are used, and they are plain integers for which any bits are valid. The crate
//! refuses to build for any other target (lib.rs), and tests/c_api.rs calls both functions
//! from gcc-compiled C with 0 to 6 comparisons.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::os::fd::{IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Mutex;

use sysgate::compile::compile;
use sysgate::kernel::{
    ActionKind, Features, FilterFlag, InstallError, InstallOptions, NotifSizes, PreparedFilters,
};
use sysgate::Arch;

use crate::abi::{ScmpArgCmp, ScmpVersion, SeccompNotif, SeccompNotifResp, NR_SCMP_ERROR, VERSION};
use crate::filter::{self, Errno, Filter};

static LIBRARY_VERSION: ScmpVersion = VERSION;

/// The API level (`seccomp_api_get`); 0 until detected or set.
static API_LEVEL: AtomicU32 = AtomicU32::new(0);

/// The listener fd of the process's notifying filter (libseccomp keeps one per process).
static NOTIFY_FD: AtomicI32 = AtomicI32::new(-1);

/// Serialises loads, so two threads cannot both ask for the process's one listener.
static LOAD: Mutex<()> = Mutex::new(());

/// `-errno` as a C return code.
fn rc(result: Result<(), Errno>) -> c_int {
    match result {
        Ok(()) => 0,
        Err(e) => -e,
    }
}

/// A refusal libseccomp would not make, told on stderr (the C API has no other channel).
fn explain(what: &str) {
    eprintln!("libseccomp (sysgate): {what}");
}

/// The filter behind a context pointer.
///
/// # Safety
/// `ctx` is null or a pointer returned by `seccomp_init` and not yet released.
unsafe fn filter<'a>(ctx: *const c_void) -> Option<&'a Filter> {
    // SAFETY: per the contract, a non-null ctx is a live Box<Filter> from seccomp_init.
    unsafe { ctx.cast::<Filter>().as_ref() }
}

/// [`filter`], mutably.
///
/// # Safety
/// As [`filter`], and no other reference to the filter is live.
unsafe fn filter_mut<'a>(ctx: *mut c_void) -> Option<&'a mut Filter> {
    // SAFETY: as in `filter`; C callers do not share a context between concurrent calls.
    unsafe { ctx.cast::<Filter>().as_mut() }
}

/// `seccomp_version()`.
#[no_mangle]
pub extern "C" fn seccomp_version() -> *const ScmpVersion {
    &LIBRARY_VERSION
}

/// The level the running kernel supports, as libseccomp's `_seccomp_api_update` counts.
fn detect_api_level() -> u32 {
    let f = Features::probe();
    let mut level = 1;
    if f.seccomp_syscall && f.has_flag(FilterFlag::Tsync) {
        level = 2;
    }
    if level == 2
        && f.has_flag(FilterFlag::Log)
        && f.has_action(ActionKind::Log)
        && f.has_action(ActionKind::KillProcess)
    {
        level = 3;
    }
    if level == 3 && f.has_flag(FilterFlag::SpecAllow) {
        level = 4;
    }
    if level == 4 && f.has_flag(FilterFlag::NewListener) && f.has_action(ActionKind::UserNotif) {
        level = 5;
    }
    if level == 5 && f.has_flag(FilterFlag::TsyncEsrch) {
        level = 6;
    }
    if level == 6 && f.has_flag(FilterFlag::WaitKillableRecv) {
        level = 7;
    }
    level
}

fn api_level() -> u32 {
    match API_LEVEL.load(Ordering::Relaxed) {
        0 => {
            let level = detect_api_level();
            API_LEVEL.store(level, Ordering::Relaxed);
            level
        }
        level => level,
    }
}

/// `seccomp_api_get()`.
#[no_mangle]
pub extern "C" fn seccomp_api_get() -> c_uint {
    api_level()
}

/// `seccomp_api_set(level)`: 1 to 7, else `-EINVAL`.
#[no_mangle]
pub extern "C" fn seccomp_api_set(level: c_uint) -> c_int {
    if !(1..=7).contains(&level) {
        return -libc::EINVAL;
    }
    API_LEVEL.store(level, Ordering::Relaxed);
    0
}

/// `seccomp_init(def_action)`: a new context, or NULL for an invalid action.
#[no_mangle]
pub extern "C" fn seccomp_init(def_action: u32) -> *mut c_void {
    api_level();
    match Filter::new(def_action, api_level()) {
        Some(f) => Box::into_raw(Box::new(f)).cast(),
        None => std::ptr::null_mut(),
    }
}

/// `seccomp_reset(ctx, def_action)`; a NULL ctx resets the library's global state.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_reset(ctx: *mut c_void, def_action: u32) -> c_int {
    // SAFETY: per this function's contract.
    match unsafe { filter_mut(ctx) } {
        None => {
            // libseccomp keeps the API level across a global reset.
            let fd = NOTIFY_FD.swap(-1, Ordering::Relaxed);
            if fd >= 0 {
                // SAFETY: the library owns the listener fd it stored.
                unsafe { libc::close(fd) };
            }
            0
        }
        Some(f) => rc(f.reset(def_action, api_level())),
    }
}

/// `seccomp_release(ctx)`.
///
/// # Safety
/// `ctx` is null or a live context, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn seccomp_release(ctx: *mut c_void) {
    if !ctx.is_null() {
        // SAFETY: a live context is a Box<Filter> from seccomp_init, released once.
        drop(unsafe { Box::from_raw(ctx.cast::<Filter>()) });
    }
}

/// `seccomp_merge(dst, src)`: on success `src` is released.
///
/// # Safety
/// Both are null or live contexts.
#[no_mangle]
pub unsafe extern "C" fn seccomp_merge(dst: *mut c_void, src: *mut c_void) -> c_int {
    if dst.is_null() || src.is_null() {
        return -libc::EINVAL;
    }
    if dst == src {
        // libseccomp finds every architecture of a valid filter in itself.
        // SAFETY: a live context.
        return match unsafe { filter(dst) } {
            Some(f) if f.valid() => -libc::EEXIST,
            _ => -libc::EINVAL,
        };
    }
    // SAFETY: distinct live contexts.
    let (d, s) = unsafe { (filter_mut(dst), filter(src)) };
    let (Some(d), Some(s)) = (d, s) else {
        return -libc::EINVAL;
    };
    match d.merge(s.clone()) {
        Ok(()) => {
            // SAFETY: src is live and merged; libseccomp releases it on success.
            unsafe { seccomp_release(src) };
            0
        }
        Err(e) => -e,
    }
}

/// `seccomp_arch_resolve_name(name)`: the token, or 0.
///
/// # Safety
/// `name` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn seccomp_arch_resolve_name(name: *const c_char) -> u32 {
    if name.is_null() {
        return 0;
    }
    // SAFETY: a NUL-terminated string per the contract.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    Arch::ALL
        .into_iter()
        .find(|a| a.name().as_bytes() == name)
        .map_or(0, |a| a.libseccomp_token())
}

/// `seccomp_arch_native()`.
#[no_mangle]
pub extern "C" fn seccomp_arch_native() -> u32 {
    Arch::native().libseccomp_token()
}

/// `seccomp_arch_exist(ctx, token)`: 0 if present, `-EEXIST` if not.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_arch_exist(ctx: *const c_void, token: u32) -> c_int {
    // SAFETY: per the contract.
    match unsafe { filter(ctx) } {
        Some(f) => rc(f.arch_exist(token)),
        None => -libc::EINVAL,
    }
}

/// `seccomp_arch_add(ctx, token)`.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_arch_add(ctx: *mut c_void, token: u32) -> c_int {
    // SAFETY: per the contract.
    match unsafe { filter_mut(ctx) } {
        Some(f) => rc(f.arch_add(token)),
        None => -libc::EINVAL,
    }
}

/// `seccomp_arch_remove(ctx, token)`.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_arch_remove(ctx: *mut c_void, token: u32) -> c_int {
    // SAFETY: per the contract.
    match unsafe { filter_mut(ctx) } {
        Some(f) => rc(f.arch_remove(token)),
        None => -libc::EINVAL,
    }
}

/// `seccomp_attr_get(ctx, attr, &value)`.
///
/// # Safety
/// `ctx` is null or a live context; `value` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn seccomp_attr_get(
    ctx: *const c_void,
    attr: c_uint,
    value: *mut u32,
) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    match f.attr_get(attr) {
        Ok(v) => {
            if value.is_null() {
                return -libc::EFAULT;
            }
            // SAFETY: non-null and writable per the contract.
            unsafe { value.write(v) };
            0
        }
        Err(e) => -e,
    }
}

/// `seccomp_attr_set(ctx, attr, value)`.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_attr_set(ctx: *mut c_void, attr: c_uint, value: u32) -> c_int {
    // SAFETY: per the contract.
    match unsafe { filter_mut(ctx) }.filter(|f| f.valid()) {
        Some(f) => rc(f.attr_set(attr, value, api_level())),
        None => -libc::EINVAL,
    }
}

fn arch_of(token: u32) -> Option<Arch> {
    filter::arch(token)
}

/// `seccomp_syscall_resolve_num_arch(token, num)`: a malloc'd name, or NULL.
#[no_mangle]
pub extern "C" fn seccomp_syscall_resolve_num_arch(token: u32, num: c_int) -> *mut c_char {
    let Some(name) = arch_of(token).and_then(|a| a.libseccomp_resolve_number(num.into())) else {
        return std::ptr::null_mut();
    };
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    // SAFETY: `bytes` is a NUL-terminated string; strdup copies it into malloc'd memory the
    // caller frees with free(3), as libseccomp documents.
    unsafe { libc::strdup(bytes.as_ptr().cast()) }
}

/// The name a C caller passed, if it is a valid string.
///
/// # Safety
/// `name` is null or NUL-terminated.
unsafe fn c_name<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated per the contract.
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}

/// `seccomp_syscall_resolve_name_arch(token, name)`.
///
/// # Safety
/// `name` is null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn seccomp_syscall_resolve_name_arch(
    token: u32,
    name: *const c_char,
) -> c_int {
    // SAFETY: per the contract.
    match (arch_of(token), unsafe { c_name(name) }) {
        (Some(a), Some(n)) => a.libseccomp_resolve_name(n),
        _ => NR_SCMP_ERROR,
    }
}

/// `seccomp_syscall_resolve_name_rewrite(token, name)`.
///
/// # Safety
/// `name` is null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn seccomp_syscall_resolve_name_rewrite(
    token: u32,
    name: *const c_char,
) -> c_int {
    // SAFETY: per the contract.
    match (arch_of(token), unsafe { c_name(name) }) {
        (Some(a), Some(n)) => a.libseccomp_resolve_name_rewrite(n),
        _ => NR_SCMP_ERROR,
    }
}

/// `seccomp_syscall_resolve_name(name)`: on the native architecture.
///
/// # Safety
/// `name` is null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn seccomp_syscall_resolve_name(name: *const c_char) -> c_int {
    // SAFETY: per the contract.
    unsafe { seccomp_syscall_resolve_name_arch(0, name) }
}

/// `seccomp_syscall_priority(ctx, syscall, priority)`: checked and accepted. A priority
/// orders libseccomp's dispatch; sysgate's binary search does not depend on it.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_syscall_priority(
    ctx: *mut c_void,
    syscall: c_int,
    _priority: u8,
) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    let tskip = f.attrs().tskip;
    if syscall == -1 && !tskip || (-99..=-2).contains(&syscall) {
        return -libc::EINVAL;
    }
    rc(f.syscall_priority(syscall))
}

/// The rule functions' common path.
///
/// # Safety
/// `ctx` is null or a live context; `args` is null or points to `arg_cnt` comparisons.
unsafe fn rule_add(
    ctx: *mut c_void,
    exact: bool,
    action: u32,
    syscall: c_int,
    arg_cnt: c_uint,
    args: *const ScmpArgCmp,
) -> c_int {
    if arg_cnt > 6 || arg_cnt > 0 && args.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter_mut(ctx) }) else {
        return -libc::EINVAL;
    };
    let args: &[ScmpArgCmp] = if arg_cnt == 0 {
        &[]
    } else {
        // SAFETY: non-null and `arg_cnt` (≤ 6) elements long per the contract.
        unsafe { std::slice::from_raw_parts(args, arg_cnt as usize) }
    };
    let result = f.rule_add(api_level(), exact, action, syscall, args);
    if result == Err(libc::EOPNOTSUPP) && syscall == -1 {
        explain("a rule on syscall -1 (SCMP_FLTATR_API_TSKIP) cannot be expressed: sysgate's filters give a skipped call the default action");
    }
    rc(result)
}

/// `seccomp_rule_add_array(ctx, action, syscall, arg_cnt, args)`.
///
/// # Safety
/// `ctx` is null or a live context; `args` is null or points to `arg_cnt` comparisons.
#[no_mangle]
pub unsafe extern "C" fn seccomp_rule_add_array(
    ctx: *mut c_void,
    action: u32,
    syscall: c_int,
    arg_cnt: c_uint,
    args: *const ScmpArgCmp,
) -> c_int {
    // SAFETY: per the contract.
    unsafe { rule_add(ctx, false, action, syscall, arg_cnt, args) }
}

/// `seccomp_rule_add_exact_array(ctx, action, syscall, arg_cnt, args)`.
///
/// # Safety
/// `ctx` is null or a live context; `args` is null or points to `arg_cnt` comparisons.
#[no_mangle]
pub unsafe extern "C" fn seccomp_rule_add_exact_array(
    ctx: *mut c_void,
    action: u32,
    syscall: c_int,
    arg_cnt: c_uint,
    args: *const ScmpArgCmp,
) -> c_int {
    // SAFETY: per the contract.
    unsafe { rule_add(ctx, true, action, syscall, arg_cnt, args) }
}

/// `seccomp_rule_add(ctx, action, syscall, arg_cnt, ...)`: see the module docs for how the
/// variadic comparisons arrive.
///
/// # Safety
/// `ctx` is null or a live context; the caller passes `arg_cnt` comparisons.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn seccomp_rule_add(
    ctx: *mut c_void,
    action: u32,
    syscall: c_int,
    arg_cnt: c_uint,
    a0: ScmpArgCmp,
    a1: ScmpArgCmp,
    a2: ScmpArgCmp,
    a3: ScmpArgCmp,
    a4: ScmpArgCmp,
    a5: ScmpArgCmp,
) -> c_int {
    if arg_cnt > 6 {
        return -libc::EINVAL;
    }
    let args = [a0, a1, a2, a3, a4, a5];
    // SAFETY: `args` holds six comparisons, of which the first `arg_cnt` were passed.
    unsafe { rule_add(ctx, false, action, syscall, arg_cnt, args.as_ptr()) }
}

/// `seccomp_rule_add_exact(ctx, action, syscall, arg_cnt, ...)`: as [`seccomp_rule_add`].
///
/// # Safety
/// `ctx` is null or a live context; the caller passes `arg_cnt` comparisons.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn seccomp_rule_add_exact(
    ctx: *mut c_void,
    action: u32,
    syscall: c_int,
    arg_cnt: c_uint,
    a0: ScmpArgCmp,
    a1: ScmpArgCmp,
    a2: ScmpArgCmp,
    a3: ScmpArgCmp,
    a4: ScmpArgCmp,
    a5: ScmpArgCmp,
) -> c_int {
    if arg_cnt > 6 {
        return -libc::EINVAL;
    }
    let args = [a0, a1, a2, a3, a4, a5];
    // SAFETY: as in seccomp_rule_add.
    unsafe { rule_add(ctx, true, action, syscall, arg_cnt, args.as_ptr()) }
}

/// The compiled programs of a context, or the errno to return.
fn programs(f: &Filter) -> Result<(sysgate::policy::Policy, Vec<sysgate::bpf::Program>), Errno> {
    let policy = f.policy_or_why().map_err(|(e, why)| {
        if let Some(why) = why {
            explain(&why);
        }
        e
    })?;
    let compiled = compile(&policy).map_err(|e| {
        explain(&format!("cannot compile the filter: {e}"));
        libc::EFAULT
    })?;
    Ok((policy, compiled.programs))
}

/// `write(2)` all of `bytes`, or the errno.
fn write_all(fd: RawFd, mut bytes: &[u8]) -> Result<(), Errno> {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice of the given length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e.raw_os_error().unwrap_or(libc::EIO));
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// A system error as libseccomp reports it: `-ECANCELED` unless SYSRAWRC is set.
fn sys_rc(f: &Filter, errno: Errno) -> c_int {
    if f.attrs().sysrawrc {
        -errno
    } else {
        -libc::ECANCELED
    }
}

/// `seccomp_export_bpf(ctx, fd)`: the raw program.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_export_bpf(ctx: *const c_void, fd: c_int) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    let (_, programs) = match programs(f) {
        Ok(p) => p,
        Err(e) => return -e,
    };
    let [program] = &programs[..] else {
        explain(&format!(
            "the filter needs {} stacked programs (over 4096 instructions); one raw program \
             cannot hold it (seccomp_load installs it)",
            programs.len()
        ));
        return -libc::EFAULT;
    };
    match write_all(fd, &program.to_bytes()) {
        Ok(()) => 0,
        Err(e) => sys_rc(f, e),
    }
}

/// `seccomp_export_pfc(ctx, fd)`: the policy and the program, readable.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_export_pfc(ctx: *const c_void, fd: c_int) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    let (policy, programs) = match programs(f) {
        Ok(p) => p,
        Err(e) => return -e,
    };
    let text = crate::pfc::render(&policy, &programs);
    match write_all(fd, text.as_bytes()) {
        Ok(()) => 0,
        Err(e) => sys_rc(f, e),
    }
}

/// The errno libseccomp's load reports for an install failure.
fn install_errno(e: &InstallError) -> Errno {
    match e {
        InstallError::NoNewPrivs { source } | InstallError::Kernel { source, .. } => {
            source.raw_os_error().unwrap_or(libc::EFAULT)
        }
        InstallError::PermissionDenied { .. } => libc::EACCES,
        InstallError::ThreadNotSynchronised { .. } => libc::ESRCH,
        InstallError::ListenerExists { .. } => libc::EBUSY,
        InstallError::TooManyInstructions { .. } => libc::ENOMEM,
        InstallError::FlagsNeedSeccompSyscall { .. } => libc::ENOSYS,
        _ => libc::EINVAL,
    }
}

/// `seccomp_load(ctx)`: compile and install into the calling thread (every thread with
/// TSYNC). A filter with NOTIFY rules gets the process's listener unless one exists.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_load(ctx: *const c_void) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    let (policy, programs) = match programs(f) {
        Ok(p) => p,
        Err(e) => return -e,
    };
    let _guard = LOAD.lock().unwrap_or_else(|e| e.into_inner());
    let mut flags = policy.attrs.flags;
    if NOTIFY_FD.load(Ordering::Relaxed) >= 0 {
        flags.new_listener = false;
        flags.wait_killable_recv = false;
    }
    let options = InstallOptions::from(&policy.attrs).with_flags(flags);
    let insns: Vec<&[sysgate::bpf::Insn]> = programs.iter().map(|p| p.insns()).collect();
    let result = PreparedFilters::new(&insns, &options).and_then(|p| p.install());
    match result {
        Ok(installed) => {
            if let Some(listener) = installed.into_listener() {
                let fd: std::os::fd::OwnedFd = listener.into();
                NOTIFY_FD.store(fd.into_raw_fd(), Ordering::Relaxed);
            }
            0
        }
        Err(e) => match install_errno(&e) {
            libc::ESRCH => -libc::ESRCH,
            errno => sys_rc(f, errno),
        },
    }
}

/// `seccomp_notify_alloc(&req, &resp)`: zeroed buffers as large as the kernel's structs
/// (never smaller than the header's), freed with `seccomp_notify_free`.
///
/// # Safety
/// `req` and `resp` are null or writable.
#[no_mangle]
pub unsafe extern "C" fn seccomp_notify_alloc(
    req: *mut *mut SeccompNotif,
    resp: *mut *mut SeccompNotifResp,
) -> c_int {
    if api_level() < 2 {
        return -libc::EOPNOTSUPP;
    }
    let Ok(sizes) = NotifSizes::query() else {
        return -libc::ECANCELED;
    };
    let notif = sizes.notif.max(std::mem::size_of::<SeccompNotif>());
    let answer = sizes.resp.max(std::mem::size_of::<SeccompNotifResp>());
    // SAFETY: calloc returns zeroed memory or null; the caller frees it with
    // seccomp_notify_free (free(3)), as libseccomp's buffers are.
    unsafe {
        let mut allocated: *mut SeccompNotif = std::ptr::null_mut();
        if !req.is_null() {
            allocated = libc::calloc(1, notif).cast();
            if allocated.is_null() {
                return -libc::ENOMEM;
            }
            req.write(allocated);
        }
        if !resp.is_null() {
            let r: *mut SeccompNotifResp = libc::calloc(1, answer).cast();
            if r.is_null() {
                libc::free(allocated.cast());
                return -libc::ENOMEM;
            }
            resp.write(r);
        }
    }
    0
}

/// `seccomp_notify_free(req, resp)`.
///
/// # Safety
/// Each is null or a buffer from `seccomp_notify_alloc`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn seccomp_notify_free(req: *mut SeccompNotif, resp: *mut SeccompNotifResp) {
    // SAFETY: buffers from calloc (or null, which free ignores).
    unsafe {
        libc::free(req.cast());
        libc::free(resp.cast());
    }
}

/// One notification ioctl on the caller's fd and struct, as libseccomp makes it: the kernel
/// checks both, and every failure (a bad fd, a NULL or unzeroed struct, a signal while
/// waiting, a response it refuses) is `-ECANCELED`.
///
/// # Safety
/// `arg` is null or points to the struct `request` encodes (the kernel checks the rest).
unsafe fn notif_ioctl(fd: c_int, request: libc::Ioctl, arg: *mut c_void) -> c_int {
    // SAFETY: per the contract; the kernel copies at most the size the request encodes,
    // and faults (EFAULT) on a null or unmapped pointer instead of touching it.
    if unsafe { libc::ioctl(fd, request, arg) } < 0 {
        -libc::ECANCELED
    } else {
        0
    }
}

/// `seccomp_notify_receive(fd, req)`: waits for a notification and writes it into `req`,
/// which must be zeroed (the kernel's rule). One ioctl, as in libseccomp: a signal ends the
/// wait with `-ECANCELED`, so a supervisor's signal handler can stop it.
///
/// # Safety
/// `req` is null or a buffer from `seccomp_notify_alloc`.
#[no_mangle]
pub unsafe extern "C" fn seccomp_notify_receive(fd: c_int, req: *mut SeccompNotif) -> c_int {
    if api_level() < 5 {
        return -libc::EOPNOTSUPP;
    }
    // SAFETY: req is null or holds at least sizeof(struct seccomp_notif) writable bytes.
    unsafe { notif_ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, req.cast()) }
}

/// `seccomp_notify_respond(fd, resp)`: `resp` goes to the kernel as it is, which runs the
/// call (`flags` CONTINUE), fails it (`error`) or returns `val`, and refuses what is
/// neither (CONTINUE with an error or a value, unknown flags): `-ECANCELED`, and the call
/// stays waiting.
///
/// # Safety
/// `resp` is null or a readable `struct seccomp_notif_resp`.
#[no_mangle]
pub unsafe extern "C" fn seccomp_notify_respond(fd: c_int, resp: *const SeccompNotifResp) -> c_int {
    if api_level() < 5 {
        return -libc::EOPNOTSUPP;
    }
    // SAFETY: resp is null or a readable struct seccomp_notif_resp; the kernel only reads
    // it (the ioctl is _IOWR, but SEND copies nothing back).
    unsafe { notif_ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, resp.cast_mut().cast()) }
}

/// `SECCOMP_IOCTL_NOTIF_ID_VALID` as Linux 5.0 to 5.6 numbered it (`_IOR`); later kernels
/// take both numbers, earlier ones only this.
const IOCTL_NOTIF_ID_VALID_BEFORE_5_7: libc::Ioctl = libc::_IOR::<u64>(b'!' as u32, 2);

/// `seccomp_notify_id_valid(fd, id)`: 0 if pending, `-ENOENT` if not (or on any failure),
/// asking with the number older kernels know when the current one is refused, as
/// libseccomp does.
#[no_mangle]
pub extern "C" fn seccomp_notify_id_valid(fd: c_int, id: u64) -> c_int {
    if api_level() < 5 {
        return -libc::EOPNOTSUPP;
    }
    let mut id = id;
    let arg: *mut c_void = (&mut id as *mut u64).cast();
    // SAFETY: the kernel reads one u64 from a live local; a bad fd is the kernel's EBADF.
    let mut rc = unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, arg) };
    if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        rc = unsafe { libc::ioctl(fd, IOCTL_NOTIF_ID_VALID_BEFORE_5_7, arg) };
    }
    if rc < 0 {
        -libc::ENOENT
    } else {
        0
    }
}

/// `seccomp_notify_fd(ctx)`: the listener of the filter this process loaded with NOTIFY
/// rules, or `-EFAULT` (libseccomp filters its "no fd" -1 into the catch-all code).
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_notify_fd(ctx: *const c_void) -> c_int {
    api_level();
    // SAFETY: per the contract.
    if unsafe { filter(ctx) }.filter(|f| f.valid()).is_none() {
        return -libc::EINVAL;
    }
    match NOTIFY_FD.load(Ordering::Relaxed) {
        fd if fd >= 0 => fd,
        _ => -libc::EFAULT,
    }
}

/// `seccomp_export_bpf_mem(ctx, buf, &len)` (libseccomp 2.6): the raw program into `buf`;
/// `*len` becomes its size. A NULL `buf` asks for the size; a short one is `-ERANGE`.
///
/// # Safety
/// `ctx` is null or a live context; `len` is null or valid; `buf` is null or has `*len`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn seccomp_export_bpf_mem(
    ctx: *const c_void,
    buf: *mut c_void,
    len: *mut usize,
) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    if len.is_null() {
        return -libc::EINVAL;
    }
    let (_, programs) = match programs(f) {
        Ok(p) => p,
        Err(e) => return -e,
    };
    let [program] = &programs[..] else {
        explain("the filter needs stacked programs (over 4096 instructions); one raw program cannot hold it");
        return -libc::EFAULT;
    };
    let bytes = program.to_bytes();
    let mut rc = 0;
    // SAFETY: `len` is valid; `buf` has `*len` writable bytes per the contract.
    unsafe {
        if !buf.is_null() {
            if bytes.len() > *len {
                rc = -libc::ERANGE;
            } else {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            }
        }
        *len = bytes.len();
    }
    rc
}

/// `seccomp_precompute(ctx)` (libseccomp 2.6): compile now. sysgate compiles again at load
/// and export (in about a millisecond), so this only reports whether compiling succeeds.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_precompute(ctx: *const c_void) -> c_int {
    // SAFETY: per the contract.
    let Some(f) = (unsafe { filter(ctx) }).filter(|f| f.valid()) else {
        return -libc::EINVAL;
    };
    match programs(f) {
        Ok(_) => 0,
        Err(e) => -e,
    }
}

/// `seccomp_transaction_start(ctx)` (libseccomp 2.6): transactions nest.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_transaction_start(ctx: *mut c_void) -> c_int {
    // SAFETY: per the contract.
    match unsafe { filter_mut(ctx) }.filter(|f| f.valid()) {
        Some(f) => {
            f.transaction_start();
            0
        }
        None => -libc::EINVAL,
    }
}

/// `seccomp_transaction_commit(ctx)` (libseccomp 2.6).
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_transaction_commit(ctx: *mut c_void) -> c_int {
    // SAFETY: per the contract.
    match unsafe { filter_mut(ctx) }.filter(|f| f.valid()) {
        Some(f) => {
            f.transaction_commit();
            0
        }
        None => -libc::EINVAL,
    }
}

/// `seccomp_transaction_reject(ctx)` (libseccomp 2.6): back to where the innermost open
/// transaction started.
///
/// # Safety
/// `ctx` is null or a live context.
#[no_mangle]
pub unsafe extern "C" fn seccomp_transaction_reject(ctx: *mut c_void) {
    // SAFETY: per the contract.
    if let Some(f) = unsafe { filter_mut(ctx) }.filter(|f| f.valid()) {
        f.transaction_reject();
    }
}
