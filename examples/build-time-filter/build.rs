//! Compile `filter.json` (a Docker/OCI seccomp profile) with sysgate, at build time, for the
//! target's architecture, and write it for the binary to include:
//!
//! - `$OUT_DIR/filter.rs`: `static FILTERS` (built with the `const`
//!   `sysgate::bpf::Program::from_static`) and `const INSTALL_OPTIONS`, for `include!`;
//! - `$OUT_DIR/filter.bpf`: the first program's raw `struct sock_filter` bytes, for
//!   `include_bytes!` (what `sysgate compile` writes by default).

use std::path::PathBuf;

use sysgate::profile::{self, Target};
use sysgate::Arch;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=filter.json");
    // The architecture the binary will run on, not the one building it.
    // Its arch, byte order and pointer width: "powerpc64" alone is ppc64 or ppc64le.
    let arch = Arch::cargo_target()?;
    let loaded = profile::load("filter.json", &Target::new(arch))?;
    for warning in &loaded.warnings {
        println!("cargo:warning={warning}");
    }
    let compiled = sysgate::compile::compile(&loaded.policy)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("filter.rs"), compiled.to_rust())?;
    std::fs::write(out.join("filter.bpf"), compiled.programs[0].to_bytes())?;
    Ok(())
}
