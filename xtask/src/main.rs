//! `cargo run -p xtask -- <task> [--shared DIR] [--check]`: regenerate committed tables.
//!
//! - `gen-tables`: the syscall tables (`crates/sysgate/src/arch/tables/`).
//! - `gen-systemd-sets`: systemd's syscall sets (`crates/sysgate/src/profile/systemd_sets/`).
//! - `gen-libseccomp-headers`: `seccomp.h`, `seccomp-syscalls.h` and `libseccomp.pc` of
//!   sysgate's libseccomp.so.2 (`crates/sysgate-libseccomp/include/`).
//!
//! With `--check`, only report whether the committed files are up to date.

use anyhow::{bail, Context, Result};

const USAGE: &str =
    "usage: xtask gen-tables|gen-systemd-sets|gen-libseccomp-headers [--shared DIR] [--check]";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        bail!(USAGE);
    };
    let mut shared = xtask::default_shared_dir();
    let mut check = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--shared" => shared = args.next().context("--shared needs a directory")?.into(),
            "--check" => check = true,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    let files = match cmd.as_str() {
        "gen-tables" => xtask::gen_syscall_tables_from(&shared)?,
        "gen-systemd-sets" => xtask::gen_systemd_sets_from(&shared)?,
        "gen-libseccomp-headers" => xtask::gen_libseccomp_headers_from(&shared)?,
        other => bail!("unknown task {other:?}; {USAGE}"),
    };
    let root = xtask::workspace_root();
    let mut stale = 0;
    for f in files {
        let path = root.join(&f.path);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != f.contents {
            stale += 1;
            if check {
                eprintln!("stale: {}", f.path.display());
            } else {
                std::fs::write(&path, &f.contents)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", f.path.display());
            }
        }
    }
    if check && stale > 0 {
        bail!("{stale} generated file(s) are out of date; run `cargo run -p xtask -- {cmd}`");
    }
    Ok(())
}
