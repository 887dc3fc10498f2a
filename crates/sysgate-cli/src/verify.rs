//! `sysgate verify`: prove that raw filters (anyone's) decide exactly as a profile, or as
//! other filters, on every input; otherwise print the inputs where they differ, in the
//! words of `sysgate check`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use sysgate::arch::{Arch, Endian};
use sysgate::bpf::{Program, SeccompData};
use sysgate::policy::{Action, DecidedBy, Policy};
use sysgate::verify::{self, Mismatch, Reference, Report, VerifyError};

use crate::bad_input;
use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate verify`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "A proof, not a sample: every arch token, every syscall number, every 64-bit \
argument value and the instruction pointer are covered (docs/semantics.md, \"What verify \
proves\"). Return values count as equal when the kernel does the same with them. Exit \
status: 0 proven equal, 1 they differ (each difference is printed with an input that shows \
it, confirmed in the emulator), 2 bad input.\n\nFILTERs hold the kernel's sock_filter \
array (8 bytes per instruction), as `sysgate compile --format raw` or libseccomp's \
seccomp_export_bpf write them; several are a stack, in install order. --pid PID reads the \
stack a running process runs under instead (as `sysgate dump` does; needs root).\n\n\
Examples:\n  sysgate verify docker-default --arch amd64 --compiled\n  sysgate verify \
profile.json --arch amd64 filter.bpf\n  sysgate verify docker-default --arch amd64 --pid \
1234\n  sysgate verify --bpf old.bpf --bpf new.bpf"
)]
pub struct Args {
    /// The profile: a file or a built-in name (docker-default, unconfined).
    #[arg(value_name = "PROFILE")]
    profile: Option<String>,

    /// Raw filters to check against the profile, in install order.
    #[arg(value_name = "FILTER")]
    filters: Vec<String>,

    /// Check sysgate's own compilation of the profile instead of FILTERs.
    #[arg(long, conflicts_with = "bpf")]
    compiled: bool,

    /// Check the filters process PID runs under (read with `sysgate dump`'s
    /// PTRACE_SECCOMP_GET_FILTER; needs root) instead of FILTERs.
    #[arg(long, value_name = "PID", conflicts_with_all = ["bpf", "compiled"])]
    pid: Option<u32>,

    /// Compare two raw filters with each other instead of a profile (give it twice).
    #[arg(long, value_name = "FILE")]
    bpf: Vec<String>,

    #[command(flatten)]
    json: crate::flags::JsonArg,

    #[command(flatten)]
    verbosity: crate::flags::Verbosity,

    /// Report at most this many differences (one per region of the input space).
    #[arg(long, value_name = "N", default_value_t = 10)]
    max: usize,

    #[command(flatten)]
    target: TargetArgs,
}

/// Run `sysgate verify`.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.max == 0 {
        return Err(bad_input("--max must be at least 1"));
    }
    if !args.bpf.is_empty() {
        return run_two_filters(&args);
    }
    let Some(profile) = &args.profile else {
        return Err(bad_input(
            "give a PROFILE and FILTERs (or --compiled), or two filters with --bpf A --bpf B",
        ));
    };
    let loaded = profile_input::load(profile, &args.target)?;
    for w in profile_input::shown_warnings(&loaded.warnings, false, "") {
        args.verbosity.warn(w);
    }
    let policy = &loaded.policy;
    let endian = policy.endian().unwrap_or_else(|| Arch::native().endian());
    let filters: Vec<Program> = match args.pid {
        Some(pid) if args.filters.is_empty() => crate::dump::read(pid)?,
        Some(_) => {
            return Err(bad_input(
                "--pid checks the filters a process runs under: give FILTERs or --pid, not both",
            ))
        }
        None => match (args.compiled, args.filters.is_empty()) {
            (true, true) => {
                sysgate::compile::compile(policy)
                    .map_err(|e| bad_input(format!("{profile}: {e}")))?
                    .programs
            }
            (false, false) => args
                .filters
                .iter()
                .map(|f| read_filter(f, endian))
                .collect::<Result<_>>()?,
            (true, false) => return Err(bad_input(
                "--compiled checks sysgate's own compilation: give FILTERs or --compiled, not both",
            )),
            (false, true) => {
                return Err(bad_input(format!(
                    "no filter to check against {profile}: give FILTER files, --pid or --compiled"
                )))
            }
        },
    };
    let report = verify::filters_vs_policy(&filters, policy, args.max).map_err(input_error)?;
    let subject = if args.compiled {
        "sysgate's compilation".to_string()
    } else if let Some(pid) = args.pid {
        format!("the filter stack of process {pid}")
    } else {
        args.filters.join(" + ")
    };
    if args.json.json {
        let out = json!({
            "proven": report.proven(),
            "regions": report.regions,
            "filters": subject,
            "profile": profile,
            "arches": policy.arches().iter().map(|a| a.name()).collect::<Vec<_>>(),
            "differences": report.mismatches.iter().map(|m| mismatch_json(m, Some(policy))).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_report(&report, Some(policy), &subject, profile);
    }
    Ok(status(&report))
}

fn run_two_filters(args: &Args) -> Result<ExitCode> {
    if args.bpf.len() != 2 || args.profile.is_some() || !args.filters.is_empty() {
        return Err(bad_input(
            "--bpf compares two filters: give it exactly twice (--bpf A --bpf B) and no PROFILE",
        ));
    }
    let endian = args
        .target
        .arches()
        .first()
        .copied()
        .unwrap_or_else(Arch::native)
        .endian();
    let a = read_filter(&args.bpf[0], endian)?;
    let b = read_filter(&args.bpf[1], endian)?;
    let report = verify::filters_vs_filters(&[a], &[b], args.max).map_err(input_error)?;
    if args.json.json {
        let out = json!({
            "proven": report.proven(),
            "regions": report.regions,
            "filters": args.bpf[0],
            "reference": args.bpf[1],
            "differences": report.mismatches.iter().map(|m| mismatch_json(m, None)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_report(&report, None, &args.bpf[0], &args.bpf[1]);
    }
    Ok(status(&report))
}

fn status(report: &Report) -> ExitCode {
    if report.proven() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn read_filter(path: &str, endian: Endian) -> Result<Program> {
    let bytes = crate::output::read_raw_filter(path, sysgate::bpf::MAX_INSNS)?;
    Program::from_bytes(&bytes, endian).map_err(|e| bad_input(format!("{path}: {e}")))
}

/// Bad filters and policies are the user's input; the checker's own failures are not.
fn input_error(e: VerifyError) -> anyhow::Error {
    match e {
        VerifyError::Partition { .. } | VerifyError::Unconfirmed { .. } => anyhow::Error::new(e),
        other => bad_input(other.to_string()),
    }
}

/// The ABI a call belongs to, as the policy (or, without one, the token) says.
fn call_arch(data: &SeccompData, policy: Option<&Policy>) -> Option<Arch> {
    match policy {
        Some(p) => p.abi_for(data.arch, data.nr),
        None => sysgate::arch::abi_of(data.arch, data.nr),
    }
}

/// `x86_64 write (1) args [0, 1, 2, 0, 0, 0]`, as `sysgate check` names a call.
fn describe_call(data: &SeccompData, policy: Option<&Policy>) -> String {
    let mut s = match call_arch(data, policy) {
        Some(arch) => format!(
            "{arch} {} ({})",
            arch.syscall_name(data.nr).unwrap_or("?"),
            data.nr as i32
        ),
        None => format!("arch token {:#x} nr {}", data.arch, data.nr as i32),
    };
    s.push_str(&format!(" args {:x?}", data.args));
    if data.instruction_pointer != 0 {
        s.push_str(&format!(" ip {:#x}", data.instruction_pointer));
    }
    s
}

fn action_text(ret: u32) -> String {
    match Action::from_ret(ret) {
        Some(a) => format!("{a} ({ret:#010x})"),
        None => format!("{ret:#010x}"),
    }
}

fn decided_by(policy: &Policy, by: DecidedBy) -> String {
    match by {
        DecidedBy::Rule(i) => format!("rule #{i}: {}", policy.rules()[i]),
        DecidedBy::Default => "the default action (no rule matched)".to_string(),
        DecidedBy::BadArch => "the bad-arch action (architecture not in the profile)".to_string(),
        DecidedBy::UnknownSyscall => "ENOSYS for a syscall newer than the table".to_string(),
        DecidedBy::SkippedCall => "the default action (nr -1, a skipped call)".to_string(),
    }
}

fn print_report(report: &Report, policy: Option<&Policy>, subject: &str, reference: &str) {
    if report.proven() {
        println!(
            "proven: {subject} decides as {reference} for every input ({} regions checked)",
            report.regions
        );
        return;
    }
    println!(
        "differs: {subject} and {reference} decide differently ({} shown)",
        report.mismatches.len()
    );
    for m in &report.mismatches {
        println!();
        println!("{}", describe_call(&m.data, policy));
        match (m.reference, policy) {
            (Reference::Policy(d), Some(p)) => {
                println!("  filter:     {}", action_text(m.filters));
                println!("  profile:    {}", action_text(d.action.to_ret()));
                println!("  decided by: {}", decided_by(p, d.by));
            }
            _ => {
                println!("  {subject}: {}", action_text(m.filters));
                println!("  {reference}: {}", action_text(ret_of(m)));
            }
        }
    }
}

fn ret_of(m: &Mismatch) -> u32 {
    match m.reference {
        Reference::Filters(r) => r,
        Reference::Policy(d) => d.action.to_ret(),
    }
}

fn mismatch_json(m: &Mismatch, policy: Option<&Policy>) -> serde_json::Value {
    let arch = call_arch(&m.data, policy);
    let mut reference = json!({
        "ret": format!("{:#010x}", ret_of(m)),
        "action": Action::from_ret(ret_of(m)).map(|a| a.to_string()),
    });
    if let (Reference::Policy(d), Some(p)) = (m.reference, policy) {
        reference["decided_by"] = json!(decided_by(p, d.by));
        if let DecidedBy::Rule(i) = d.by {
            reference["rule"] = json!(i);
        }
    }
    json!({
        "arch": arch.map(|a| a.name()),
        "arch_token": format!("{:#x}", m.data.arch),
        "nr": m.data.nr as i32,
        "syscall": arch.and_then(|a| a.syscall_name(m.data.nr)),
        "args": m.data.args.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>(),
        "instruction_pointer": format!("{:#x}", m.data.instruction_pointer),
        "filter": {
            "ret": format!("{:#010x}", m.filters),
            "action": Action::from_ret(m.filters).map(|a| a.to_string()),
        },
        "reference": reference,
    })
}
