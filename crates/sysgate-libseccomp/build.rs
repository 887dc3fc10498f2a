//! Gives the shared object libseccomp's soname, so programs linked against this library
//! (`-lseccomp` with `libseccomp.so` pointing here) record `libseccomp.so.2` as their
//! dependency, and programs linked against Debian's library load this one in its place.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libseccomp.so.2");
    println!("cargo:rerun-if-changed=build.rs");
}
