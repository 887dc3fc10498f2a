//! `sysgate completions SHELL` and the man pages: both generated from the one clap parser in
//! `main`, so they never fall behind the flags.
//!
//! Owns: rendering the completion script for a shell (`clap_complete`) and one roff man page
//! per subcommand, nested ones included (`clap_mangen`): `sysgate(1)`, `sysgate-run(1)`,
//! `sysgate-learn-merge(1)`, ... `sysgate man-pages -o DIR` (hidden: a packaging aid, run by
//! `cargo run -p xtask -- gen-dist-files`) writes them all. Does not own the parser itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap_complete::Shell;

use crate::output::{self, Destination};

/// Arguments of `sysgate completions`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Prints the script on standard output (or to -o FILE). To load it:\n  \
bash:  source <(sysgate completions bash)   (or save it in \
/usr/share/bash-completion/completions/sysgate)\n  zsh:   sysgate completions zsh -o \
\"${fpath[1]}/_sysgate\"\n  fish:  sysgate completions fish -o \
~/.config/fish/completions/sysgate.fish\n  elvish, powershell: print it and source it from \
your rc file."
)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,

    #[command(flatten)]
    output: crate::flags::OutputArg,
}

/// Arguments of `sysgate man-pages`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The directory to write the pages into (created if missing): sysgate.1 and one
    /// sysgate-SUBCOMMAND.1 per subcommand.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    dir: PathBuf,
}

/// Run `sysgate completions`.
pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = crate::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "sysgate", &mut script);
    args.output.destination().write(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Run `sysgate man-pages`.
pub fn man_pages(args: ManArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.dir).map_err(|source| output::IoFailure {
        what: format!("cannot create the directory {}", args.dir.display()),
        source,
    })?;
    let mut cmd = crate::command();
    cmd.build();
    for (name, page) in pages(&cmd, "sysgate") {
        Destination::File(args.dir.join(format!("{name}.1"))).write(&page)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Every page: `cmd`'s own (named `name`) and, recursively, one per visible subcommand,
/// named `name-SUB`.
pub fn pages(cmd: &clap::Command, name: &str) -> Vec<(String, Vec<u8>)> {
    // clap_mangen takes the page's title from the command's name; the subcommand's own
    // name ("merge") would make "merge(1)".
    let titled = cmd.clone().name(name.to_string());
    let mut page = Vec::new();
    clap_mangen::Man::new(titled)
        .render(&mut page)
        .expect("writing to a Vec cannot fail");
    let mut all = vec![(name.to_string(), page)];
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        all.extend(pages(sub, &format!("{name}-{}", sub.get_name())));
    }
    all
}
