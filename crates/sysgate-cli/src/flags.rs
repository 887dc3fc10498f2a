//! The flags every subcommand spells the same way, as structs to `#[command(flatten)]`.
//!
//! Owns the shared vocabulary (see the convention in `main`'s module docs): where the output
//! goes ([`OutputArg`], `-o/--output`). Does not own what a command writes or how it reads
//! its inputs (`profile_input::TargetArgs` is the target a profile is read for).

use std::path::PathBuf;

use crate::output::Destination;

/// `-o/--output FILE`: where a command's result goes.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct OutputArg {
    /// Write to FILE instead of standard output ("-": standard output). A regular file is
    /// replaced atomically, a device or FIFO written in place, a symlink's target written.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArg {
    /// Where the output goes.
    pub fn destination(&self) -> Destination {
        Destination::from_arg(self.output.as_deref())
    }
}
