//! `cargo run -p xtask -- <task> [--shared DIR] [--check]`: regenerate committed tables.
//!
//! - `gen-tables`: the syscall tables (`crates/sysgate/src/arch/tables/`).
//! - `gen-systemd-sets`: systemd's syscall sets (`crates/sysgate/src/profile/systemd_sets/`).
//! - `gen-libseccomp-headers`: `seccomp.h`, `seccomp-syscalls.h` and `libseccomp.pc` of
//!   sysgate's libseccomp.so.2 (`crates/sysgate-libseccomp/include/`).
//! - `gen-dist-files [--out DIR]`: what a package installs beside the binary, generated from
//!   the `sysgate` command's own parser: one man page per subcommand (`DIR/man/man1/`) and the
//!   completion scripts for bash, zsh, fish, elvish and powershell (`DIR/completions/`).
//!   Default DIR: `target/dist-files`. Not committed: built from the binary of this checkout.
//!
//! With `--check`, only report whether the committed files are up to date.

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: xtask gen-tables|gen-systemd-sets|gen-libseccomp-headers \
[--shared DIR] [--check]\n       xtask gen-dist-files [--out DIR]";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        bail!(USAGE);
    };
    if cmd == "gen-dist-files" {
        let out = match (args.next(), args.next()) {
            (None, _) => xtask::workspace_root().join("target/dist-files"),
            (Some(flag), Some(dir)) if flag == "--out" => dir.into(),
            _ => bail!(USAGE),
        };
        return gen_dist_files(&out);
    }
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

/// Build the `sysgate` binary of this checkout and have it write its man pages and
/// completion scripts (both come from its clap parser: `sysgate man-pages`, `sysgate
/// completions`).
fn gen_dist_files(out: &std::path::Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = xtask::workspace_root();
    let run = |args: &[&std::ffi::OsStr]| -> Result<()> {
        let status = std::process::Command::new(&cargo)
            .args(["run", "--quiet", "-p", "sysgate-cli", "--"])
            .args(args)
            .current_dir(&root)
            .status()
            .context("running cargo")?;
        if !status.success() {
            bail!("`sysgate {:?}` failed: {status}", args);
        }
        Ok(())
    };
    let man = out.join("man/man1");
    run(&["man-pages".as_ref(), "-o".as_ref(), man.as_os_str()])?;
    eprintln!("wrote {}", man.display());
    let completions = out.join("completions");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("creating {}", completions.display()))?;
    for (shell, file) in [
        ("bash", "sysgate.bash"),
        ("zsh", "_sysgate"),
        ("fish", "sysgate.fish"),
        ("elvish", "sysgate.elv"),
        ("powershell", "_sysgate.ps1"),
    ] {
        let path = completions.join(file);
        run(&[
            "completions".as_ref(),
            shell.as_ref(),
            "-o".as_ref(),
            path.as_os_str(),
        ])?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
