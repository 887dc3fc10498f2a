//! `sysgate check`: what a profile decides for one call, which rule decided, and whether the
//! kernel would cache it.

use std::process::ExitCode;

use std::fmt::Write as _;

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::policy::{Action, DecidedBy};

use crate::bad_input;
use crate::output;
use crate::profile_input::{self, TargetArgs};

/// Arguments of `sysgate check`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The answer comes from sysgate's reference evaluator and is confirmed \
by running the compiled program in the BPF emulator; the two must agree. ARGs are the \
syscall's arguments a0..a5 (decimal or 0x hex; missing ones are 0); they are printed in \
hex.\n\nEXIT STATUS. 0 when the answer was printed, 1 on a failure, 2 for bad input. With \
--exit-status the answer is in the status too: 0 when the call runs (ALLOW, LOG), 3 when it \
is refused (ERRNO, TRAP, KILL_THREAD, KILL_PROCESS), 4 when a supervisor or tracer decides \
(USER_NOTIF, TRACE).\n\nExamples:\n  sysgate \
check docker-default.json --arch amd64 clone3\n  sysgate check docker-default.json --arch \
amd64 socket 40 1 0\n  sysgate check docker-default.json --arch x86 102 1"
)]
pub struct Args {
    /// The profile: a file in any format (detected), "-" for standard input, a built-in name
    /// (docker-default, unconfined) or systemd:@set.
    #[arg(value_name = "PROFILE")]
    profile: String,

    #[command(flatten)]
    target: TargetArgs,

    /// The syscall, by name or number.
    #[arg(value_name = "SYSCALL")]
    syscall: String,

    /// Argument values a0..a5.
    #[arg(value_name = "ARG", num_args = 0..=6, allow_negative_numbers = true)]
    args: Vec<String>,

    /// Exit with 0 when the call runs, 3 when it is refused, 4 when a supervisor or tracer
    /// decides (see below).
    #[arg(long)]
    exit_status: bool,

    #[command(flatten)]
    json: crate::flags::JsonArg,
}

/// `check --exit-status`: the call is refused (ERRNO, TRAP or a kill).
const REFUSED: u8 = 3;
/// `check --exit-status`: a supervisor (USER_NOTIF) or tracer (TRACE) decides the call.
const DEFERRED: u8 = 4;

/// The exit status `--exit-status` gives `action`.
fn status_for(action: Action) -> ExitCode {
    match action {
        Action::Allow | Action::Log => ExitCode::SUCCESS,
        Action::UserNotif | Action::Trace(_) => ExitCode::from(DEFERRED),
        Action::KillProcess
        | Action::KillThread
        | Action::Trap(_)
        | Action::Errno(_)
        | Action::NamedErrno(_) => ExitCode::from(REFUSED),
    }
}

/// Argument values as `[0x28, 0x1, ...]`.
fn hex_list(values: &[u64]) -> String {
    let shown: Vec<String> = values.iter().map(|v| format!("{v:#x}")).collect();
    format!("[{}]", shown.join(", "))
}

fn parse_u64(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(neg) = s.strip_prefix('-') {
        neg.parse::<u64>().ok().map(|v| v.wrapping_neg())
    } else {
        s.parse().ok()
    }
}

/// Run `sysgate check`.
pub fn run(args: Args) -> Result<ExitCode> {
    let loaded = profile_input::load(&args.profile, &args.target)?;
    // What the reader could not take as written decides the answer too (an ignored key, a
    // skipped name): say it, as every other command does.
    for w in &loaded.warnings {
        eprintln!("sysgate: warning: {w}");
    }
    let policy = &loaded.policy;
    let arch = match args.target.arches().first() {
        Some(a) => *a,
        None => Arch::native(),
    };
    let nr = match args.syscall.parse::<u32>() {
        Ok(n) => n,
        Err(_) => match arch.syscall_number(&args.syscall) {
            Some(n) => n,
            None => {
                return Err(bad_input(format!(
                    "{arch} has no syscall named {:?}",
                    args.syscall
                )))
            }
        },
    };
    let mut values = [0u64; 6];
    for (i, a) in args.args.iter().enumerate() {
        values[i] = parse_u64(a)
            .ok_or_else(|| bad_input(format!("argument a{i}: {a:?} is not a number")))?;
    }
    let decision = policy.decide(arch, nr, &values);
    let compiled = sysgate::compile::compile(policy)
        .map_err(|e| bad_input(format!("{}: {e}", args.profile)))?;
    let emulated = compiled.emulate_call(arch, nr, &values)?;
    let name = arch.syscall_name(nr).unwrap_or("?");
    let why = match decision.by {
        DecidedBy::Rule(i) => format!("rule #{i}: {}", policy.rules()[i].on(arch)),
        DecidedBy::Default => "the default action (no rule matched)".to_string(),
        DecidedBy::BadArch => "the bad-arch action (architecture not in the profile)".to_string(),
        DecidedBy::UnknownSyscall if policy.enosys_above_applies(arch.audit_arch(), nr) => {
            "ENOSYS above the largest syscall the profile names on this architecture (runc's rule)"
                .to_string()
        }
        DecidedBy::UnknownSyscall => "ENOSYS for a syscall newer than the table".to_string(),
        DecidedBy::SkippedCall => "the default action (nr -1, a skipped call)".to_string(),
    };
    let cached = sysgate::bpf::kernel_caches_all(&compiled.programs, arch, nr);
    if args.json.json {
        let rule = match decision.by {
            DecidedBy::Rule(i) => Some(i),
            _ => None,
        };
        let doc = serde_json::json!({
            "arch": arch.name(),
            "syscall": arch.syscall_name(nr),
            "number": nr,
            "args": values,
            "action": decision.action.on(arch).to_string(),
            "ret": decision.action.to_ret(),
            "decided_by": why,
            "rule": rule,
            "kernel_action_cache": cached,
            "emulated": {"ret": emulated.ret, "instructions": emulated.executed},
        });
        output::print(format!("{doc:#}\n").as_bytes())?;
    }
    let mut out = String::new();
    let _ = writeln!(out, "{arch} {name} ({nr}) args {}", hex_list(&values));
    let _ = writeln!(out, "action: {}", decision.action.on(arch));
    let _ = writeln!(out, "decided by: {why}");
    let _ = writeln!(
        out,
        "kernel action cache: {}",
        if cached {
            "yes (the kernel skips the filter for this syscall)"
        } else {
            "no (the filter runs on every call)"
        }
    );
    let _ = writeln!(
        out,
        "emulated: {:#010x} after {} instructions",
        emulated.ret, emulated.executed
    );
    if !args.json.json {
        output::print(out.as_bytes())?;
    }
    if emulated.ret != decision.action.to_ret() {
        anyhow::bail!(
            "internal error: the compiled filter returns {:#x} but the policy decides {}; please report this",
            emulated.ret,
            decision.action
        );
    }
    if args.exit_status {
        return Ok(status_for(decision.action));
    }
    Ok(ExitCode::SUCCESS)
}
