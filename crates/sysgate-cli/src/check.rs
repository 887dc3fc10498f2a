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
amd64 socket 40 1 0\n  sysgate check docker-default.json --arch x86 102 1\n  sysgate \
check --bpf filter.bpf --arch amd64 write 1\n\nWith --bpf FILE (repeatable: a stack, in install \
order) there is no PROFILE: the call is decided by running the raw program(s) in the BPF \
emulator, as the kernel combines stacked filters."
)]
pub struct Args {
    /// The profile: a file in any format (detected), "-" for standard input, a built-in name
    /// (docker-default, unconfined) or systemd:@set.
    #[arg(value_name = "PROFILE")]
    profile: String,

    /// Decide the call with this raw filter instead of a profile (repeatable: a stack, in
    /// install order); then the first positional argument is the SYSCALL.
    #[arg(long, value_name = "FILE")]
    bpf: Vec<String>,

    #[command(flatten)]
    target: TargetArgs,

    /// The syscall, by name or number.
    #[arg(value_name = "SYSCALL", required_unless_present = "bpf")]
    syscall: Option<String>,

    /// Argument values a0..a5.
    #[arg(value_name = "ARG", num_args = 0..=6, allow_negative_numbers = true)]
    args: Vec<String>,

    /// Exit with 0 when the call runs, 3 when it is refused, 4 when a supervisor or tracer
    /// decides (see below).
    #[arg(long)]
    exit_status: bool,

    #[command(flatten)]
    json: crate::flags::JsonArg,

    #[command(flatten)]
    verbosity: crate::flags::Verbosity,
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
    if !args.bpf.is_empty() {
        return run_bpf(&args);
    }
    let syscall = args.syscall.clone().unwrap_or_default();
    let loaded = profile_input::load(&args.profile, &args.target)?;
    // What the reader could not take as written decides the answer too (an ignored key, a
    // skipped name): say it, as every other command does.
    for w in profile_input::shown_warnings(&loaded.warnings, args.verbosity.verbose, "") {
        args.verbosity.warn(w);
    }
    let policy = &loaded.policy;
    let arch = match args.target.arches().first() {
        Some(a) => *a,
        None => Arch::native(),
    };
    let nr = syscall_number(arch, &syscall)?;
    let values = arg_values(&args.args)?;
    let decision = policy.decide(arch, nr, &values);
    let compiled = sysgate::compile::compile(policy)
        .map_err(|e| bad_input(format!("{}: {e}", args.profile)))?;
    let emulated = compiled.emulate_call(arch, nr, &values)?;
    let shown = abi_of_call(arch, nr);
    let name = shown.syscall_name(nr).unwrap_or("?");
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
            "arch": shown.name(),
            "syscall": shown.syscall_name(nr),
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
    let _ = writeln!(out, "{shown} {name} ({nr}) args {}", hex_list(&values));
    let _ = writeln!(out, "action: {}", decision.action.on(arch));
    let _ = writeln!(out, "decided by: {why}");
    let _ = writeln!(out, "kernel action cache: {}", cache_answer(cached));
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

/// The syscall by number (decimal, or hex with 0x, as the argument values) or by name.
fn syscall_number(arch: Arch, syscall: &str) -> Result<u32> {
    let hex = syscall
        .strip_prefix("0x")
        .or_else(|| syscall.strip_prefix("0X"));
    let numeric = match hex {
        Some(digits) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !syscall.is_empty() && syscall.bytes().all(|b| b.is_ascii_digit()),
    };
    if numeric {
        return parse_u64(syscall)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                bad_input(format!(
                    "{syscall} is not a syscall number: they go from 0 to 4294967295 \
                     (0xffffffff)"
                ))
            });
    }
    arch.syscall_number(syscall).ok_or_else(|| {
        bad_input(format!(
            "{arch} has no syscall named {syscall:?}: check the spelling (`sysgate resolve \
             {syscall} --arch ARCH` looks it up on another architecture)"
        ))
    })
}

fn arg_values(args: &[String]) -> Result<[u64; 6]> {
    if args.len() > 6 {
        return Err(bad_input(format!(
            "{} argument values given: syscalls have six, a0 to a5",
            args.len()
        )));
    }
    let mut values = [0u64; 6];
    for (i, a) in args.iter().enumerate() {
        values[i] = parse_u64(a)
            .ok_or_else(|| bad_input(format!("argument a{i}: {a:?} is not a number")))?;
    }
    Ok(values)
}

/// `sysgate check --bpf FILE... SYSCALL [ARG]...`: the call decided by raw programs.
fn run_bpf(args: &Args) -> Result<ExitCode> {
    // Without a PROFILE the positionals shift: PROFILE holds the syscall, SYSCALL a0.
    let syscall = &args.profile;
    let values: Vec<String> = args.syscall.iter().chain(&args.args).cloned().collect();
    let arch = match args.target.arches().first() {
        Some(a) => *a,
        None => Arch::native(),
    };
    let nr = syscall_number(arch, syscall)?;
    let values = arg_values(&values)?;
    let mut programs = Vec::new();
    for file in &args.bpf {
        let bytes = output::read_raw_filter(file, sysgate::bpf::MAX_INSNS)?;
        let program = sysgate::bpf::Program::from_bytes(&bytes, arch.endian())
            .map_err(|e| bad_input(format!("{file}: {e}")))?;
        program
            .validate()
            .map_err(|e| bad_input(format!("{file}: the kernel would refuse it: {e}")))?;
        programs.push(program);
    }
    let data = sysgate::bpf::SeccompData {
        nr,
        arch: arch.audit_arch(),
        instruction_pointer: 0,
        args: values,
    };
    // The kernel runs the newest filter first and keeps the first of the most restrictive
    // actions (compared without their data).
    let mut decided: Option<(usize, u32, usize)> = None;
    for (i, p) in programs.iter().enumerate().rev() {
        let run = p
            .emulate(&data)
            .map_err(|e| bad_input(format!("{}: {e}", args.bpf[i])))?;
        let action = |v: u32| (v & sysgate::policy::ret::ACTION_FULL) as i32;
        if decided.is_none_or(|(_, best, _)| action(run.ret) < action(best)) {
            decided = Some((i, run.ret, run.executed));
        }
    }
    let (index, ret, executed) = decided.expect("at least one filter");
    let meaning = sysgate::verify::kernel_meaning(ret);
    let action = Action::from_ret(meaning);
    let shown = abi_of_call(arch, nr);
    let name = shown.syscall_name(nr).unwrap_or("?");
    let mut out = String::new();
    let _ = writeln!(out, "{shown} {name} ({nr}) args {}", hex_list(&values));
    match action {
        Some(a) => {
            let _ = writeln!(out, "action: {} ({ret:#010x})", a.on(arch));
        }
        None => {
            let _ = writeln!(out, "action: {ret:#010x}");
        }
    }
    let _ = writeln!(
        out,
        "decided by: {} ({executed} instructions executed)",
        args.bpf[index]
    );
    let cached = sysgate::bpf::kernel_caches_all(&programs, arch, nr);
    let _ = writeln!(out, "kernel action cache: {}", cache_answer(cached));
    output::print(out.as_bytes())?;
    match action {
        Some(a) if args.exit_status => Ok(status_for(a)),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The ABI a call with `arch`'s audit token and number `nr` is, as the kernel sees it: x86_64
/// and x32 share one token, and the x32 bit of the number tells them apart.
fn abi_of_call(arch: Arch, nr: u32) -> Arch {
    sysgate::arch::abi_of(arch.audit_arch(), nr).unwrap_or(arch)
}

/// The `kernel action cache:` line's answer, for a policy and for raw programs alike.
fn cache_answer(cached: bool) -> &'static str {
    if cached {
        "yes (the kernel skips the filter for this syscall)"
    } else {
        "no (the filter runs on every call)"
    }
}
