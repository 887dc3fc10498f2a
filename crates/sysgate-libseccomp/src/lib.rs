//! `libseccomp.so.2` built from sysgate: libseccomp's C API, binary compatible with
//! libseccomp 2.5.4's `seccomp.h`, over sysgate's policy, compiler and loader.
//!
//! ```text
//! C calls --api--> Filter (libseccomp's context) --filter::policy--> Policy --sysgate--> Program
//! ```
//!
//! - [`abi`]: the C structs and constants.
//! - [`filter`]: the context and its checks, and the one translation into a sysgate
//!   [`Policy`](sysgate::policy::Policy).
//! - [`api`]: the exported functions, a thin shell mapping outcomes to return codes.
//! - [`tree`]: libseccomp's rule tree, which decides return codes and rule order.
//! - [`pfc`]: the text `seccomp_export_pfc` writes.
//!
//! docs/libseccomp.md lists every difference a C program can observe.
#![warn(missing_docs)]

// `seccomp_rule_add` receives its variadic comparisons as six by-value structs, which is
// only the same call on x86_64 System V (see `api`).
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!(
    "sysgate-libseccomp receives seccomp_rule_add's variadic arguments as by-value structs, \
     which matches a C variadic call only on x86_64 Linux (System V ABI)"
);

pub mod abi;
pub mod api;
pub mod filter;
pub mod pfc;
pub mod tree;
