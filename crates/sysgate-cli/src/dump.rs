//! `sysgate dump`: the filters a running process runs under, read back from the kernel, as
//! raw programs, disassembly, or a decompiled profile in any format.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::bpf::Program;
use sysgate::kernel::{read_filters, DumpError};
use sysgate::policy::Policy;
use sysgate::profile::detect::Format;
use sysgate::profile::systemd_sets::SystemdVersion;
use sysgate::verify;

use crate::bad_input;
use crate::output::Destination;
use crate::profile_output::{self, OutputOptions};

/// Arguments of `sysgate dump`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Reads the filters with PTRACE_SECCOMP_GET_FILTER: the process is stopped \
for the time it takes and then runs on unchanged. Needs root (CAP_SYS_ADMIN), a kernel with \
CONFIG_CHECKPOINT_RESTORE, Yama's ptrace_scope allowing it, and sysgate itself not running \
under seccomp. Filters belong to a thread: PID names the process's main thread (a thread id \
from /proc/PID/task/ names another).\n\nFormats: text (default: each filter disassembled, \
then the decompiled policy), disasm, raw (the kernel's sock_filter array of one filter; \
--filter N chooses it when there are several), and docker, oci, podman, systemd, lxc, k8s \
(the decompiled profile, losses listed on stderr). Decompiling reads back the policy that \
decides exactly as the whole stack on every input, proven with `sysgate verify`'s checker; \
what a policy cannot say (the instruction pointer, a computed return value) fails with the \
reason; a syscall decided apart on two ABIs reads back as rules for each ABI only. --arch \
reads the filter as seen from those ABIs only, killing calls from the others.\n\nEXIT STATUS: 0 success; 1 when the filters cannot be read (not \
permitted, no filter: \"process N runs under no seccomp filter\") or not decompiled; 2 for \
bad input (no such process); 74 when the output cannot be written.\n\nExamples:\n  sysgate \
dump --pid 1234\n  sysgate dump --pid 1234 --format docker -o profile.json\n  sysgate dump \
--pid 1234 --format raw --filter 0 -o filter.bpf"
)]
pub struct Args {
    /// The process (or thread) whose filters to read.
    #[arg(long, value_name = "PID")]
    pid: u32,

    /// What to write: text, disasm, raw, docker, oci, podman, systemd, lxc, k8s.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,

    /// Only the filter at this index (0 = installed first).
    #[arg(long, value_name = "N")]
    filter: Option<usize>,

    /// Decompile as seen from these ABIs only (repeatable); calls from others are killed.
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    arch: Vec<String>,

    /// Write here instead of to standard output ("-": standard output).
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<PathBuf>,

    /// Kubernetes: metadata.name of the SeccompProfile written.
    #[arg(long, value_name = "NAME")]
    k8s_name: Option<String>,
}

/// What `--format` asks for.
enum Wanted {
    Text,
    Disasm,
    Raw,
    Profile(Format),
}

/// Run `sysgate dump`.
pub fn run(args: Args) -> Result<ExitCode> {
    let wanted = match args.format.as_str() {
        "text" => Wanted::Text,
        "disasm" => Wanted::Disasm,
        "raw" => Wanted::Raw,
        other => Wanted::Profile(
            other
                .parse()
                .map_err(|e| bad_input(format!("--format: {e} (or text, disasm, raw)")))?,
        ),
    };
    let arches = args
        .arch
        .iter()
        .map(|a| Arch::parse(a).map_err(|e| bad_input(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let filters = read(args.pid)?;
    let chosen: Vec<(usize, &Program)> = match args.filter {
        Some(i) if i >= filters.len() => {
            return Err(bad_input(format!(
                "--filter {i}: process {} has {} filter{} (0 to {})",
                args.pid,
                filters.len(),
                if filters.len() == 1 { "" } else { "s" },
                filters.len() - 1
            )))
        }
        Some(i) => vec![(i, &filters[i])],
        None => filters.iter().enumerate().collect(),
    };
    let stack: Vec<Program> = chosen.iter().map(|(_, p)| (*p).clone()).collect();
    let destination = Destination::from_arg(args.output.as_deref());
    match wanted {
        Wanted::Raw => {
            let [(_, program)] = chosen.as_slice() else {
                return Err(bad_input(format!(
                    "process {} has {} filters and a raw file holds one: choose it with \
                     --filter 0 to {}",
                    args.pid,
                    filters.len(),
                    filters.len() - 1
                )));
            };
            destination.write(&program.to_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Wanted::Disasm => {
            destination.write(disassembly(&chosen, filters.len()).as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Wanted::Text => {
            let mut out = disassembly(&chosen, filters.len());
            let decompiled = decompile(&stack, &arches);
            match &decompiled {
                Ok(policy) => {
                    let _ = writeln!(out, "decompiled (proven to decide as the filters):");
                    out.push_str(&describe(policy));
                }
                Err(e) => {
                    let _ = writeln!(out, "not decompiled: {e}");
                }
            }
            destination.write(out.as_bytes())?;
            Ok(if decompiled.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Wanted::Profile(format) => {
            let policy = decompile(&stack, &arches)
                .map_err(|e| anyhow::anyhow!("process {}: cannot decompile: {e}", args.pid))?;
            let options = OutputOptions {
                lxc_version: 2,
                k8s_name: args
                    .k8s_name
                    .clone()
                    .unwrap_or_else(|| format!("pid-{}", args.pid)),
                k8s_namespace: "default".into(),
                systemd_version: SystemdVersion::Newest,
            };
            let written = profile_output::render(&policy, None, format, &options)?;
            profile_output::emit(&written, format, false, &destination)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The filters of `pid`, with a missing process as bad input and the rest as failures.
pub fn read(pid: u32) -> Result<Vec<Program>> {
    read_filters(pid).map_err(|e| match e {
        DumpError::NoSuchProcess { .. } => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    })
}

fn decompile(stack: &[Program], arches: &[Arch]) -> Result<Policy, verify::DecompileError> {
    if arches.is_empty() {
        verify::decompile(stack)
    } else {
        verify::decompile_abis(stack, arches)
    }
}

fn disassembly(chosen: &[(usize, &Program)], total: usize) -> String {
    let mut out = String::new();
    for (i, program) in chosen {
        let _ = writeln!(
            out,
            "filter {i} of {total} (installed {}), {} instructions:",
            ordinal(*i + 1),
            program.len()
        );
        out.push_str(&program.disassemble());
        out.push('\n');
    }
    out
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The policy as lines: default and arches, bad-arch action, runc's ENOSYS thresholds, rules.
fn describe(policy: &Policy) -> String {
    let mut out = String::new();
    let arches: Vec<&str> = policy.arches().iter().map(|a| a.name()).collect();
    let _ = writeln!(
        out,
        "  default {} on {}",
        policy.default_action(),
        arches.join(", ")
    );
    let _ = writeln!(out, "  bad arch {}", policy.attrs.bad_arch);
    for (arch, above) in &policy.attrs.enosys_above {
        let _ = writeln!(out, "  ENOSYS above {above} on {arch} (runc's rule)");
    }
    for rule in policy.rules() {
        let _ = writeln!(out, "  {rule}");
    }
    out
}
