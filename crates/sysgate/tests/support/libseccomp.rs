//! libseccomp.so.2 opened at run time (dlopen): a second oracle, never the spec.
//!
//! Tests that use it say "SKIPPED" and pass when the library is absent outside CI; under CI
//! (`CI` set) its absence is a failure, because .ci/run installs it.
#![allow(dead_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};

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
