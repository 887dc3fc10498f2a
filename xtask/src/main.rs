//! `cargo run -p xtask -- gen-tables [--shared DIR] [--check]`: regenerate the committed
//! syscall tables (and, with `--check`, only report whether they are up to date).

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        bail!("usage: xtask gen-tables [--shared DIR] [--check]");
    };
    let mut shared = xtask::default_shared_dir();
    let mut check = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--shared" => shared = args.next().context("--shared needs a directory")?.into(),
            "--check" => check = true,
            other => bail!("unknown argument {other:?}"),
        }
    }
    match cmd.as_str() {
        "gen-tables" => {
            let root = xtask::workspace_root();
            let files = xtask::gen_syscall_tables_from(&shared)?;
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
                bail!("{stale} generated file(s) are out of date; run `cargo run -p xtask -- gen-tables`");
            }
            Ok(())
        }
        other => bail!("unknown task {other:?}; tasks: gen-tables"),
    }
}
