//! What running under sysgate costs, measured in one run:
//!
//! 1. Start-up: `sysgate run -- true` against plain `true` (and with `--explain=off`, which
//!    skips opening the audit socket, and `sysgate --version`, which is just loading the
//!    binary), the median wall time of many spawns each; then where sysgate's own time goes
//!    (building the built-in policy, probing, fitting, compiling), timed in this process.
//! 2. Per-syscall cost of the filter, in forked child processes all pinned to one CPU: the
//!    built-in docker-default policy for x86_64 (x86_64 + x86 + x32) compiled by sysgate,
//!    and the same policy built by libseccomp with `SCMP_FLTATR_CTL_OPTIMIZE=2` (binary
//!    tree), each installed in its own child that times a loop of calls. Two calls:
//!    `personality(0xffffffff)`, allowed by an argument rule (the filter must look at a0,
//!    so the kernel's action cache cannot skip it), and `unshare(0)`, denied with EPERM by
//!    the default action. The baseline child has the smallest filter that gives the call the
//!    same answer after reading its argument (4 instructions on its path), so that it pays
//!    the same seccomp entry, uncached-filter and speculation-mitigation costs; the time
//!    above it is what the real program's dispatch costs: the median over rounds (each round
//!    runs the three children back to back) of each round's own difference. The emulator
//!    gives the instructions each program executes for the call.
//!
//! `cargo bench -p sysgate-cli --bench run` (libseccomp.so.2 must be installed for the
//! comparison). `SYSGATE_BENCH_SPAWNS`, `SYSGATE_BENCH_CALLS` and `SYSGATE_BENCH_ROUNDS` change
//! the counts.

#[path = "../../sysgate/tests/support/libseccomp.rs"]
mod libseccomp;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sysgate::arch::Arch;
use sysgate::bpf::{data, op, Insn, Program};
use sysgate::kernel::{install_insns, InstallOptions};
use sysgate::policy::Policy;
use sysgate::profile::{builtin, Target};

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The fastest of several runs: each run averages many calls, and the fastest run is the
/// one the rest of the machine disturbed least.
fn fastest(v: Vec<f64>) -> f64 {
    v.into_iter().fold(f64::INFINITY, f64::min)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time of `n` runs of `cmd`, in milliseconds.
fn spawn_ms(program: &str, args: &[&str], n: usize) -> f64 {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .expect("spawn");
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(status.success(), "{program} {args:?}: {status}");
    }
    median(times)
}

/// One call to time: its number and arguments.
#[derive(Copy, Clone)]
struct Call {
    label: &'static str,
    nr: i64,
    args: [u64; 6],
    /// The errno the filter must give (0: allowed).
    errno: i32,
}

/// Fork a child that pins itself to `cpu`, installs `filter`, checks that `call` gets the
/// expected answer, then times `calls` of it; the nanoseconds per call.
fn time_in_child(filter: &[Insn], call: Call, calls: usize, cpu: usize) -> Result<f64, String> {
    let mut fds = [0; 2];
    // SAFETY: a live two-element array for the pipe's ends.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: the kernel just gave us both fds.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: this benchmark is single-threaded when it forks; the child only installs a
    // filter, makes syscalls, writes to a pipe and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        drop(read_end);
        let mut out = std::fs::File::from(write_end);
        let result = (|| -> Result<f64, String> {
            pin_to_cpu(cpu);
            install_insns(&[filter], &InstallOptions::new()).map_err(|e| e.to_string())?;
            let a = call.args;
            let once = || {
                // SAFETY: a raw syscall with integer arguments only.
                let r = unsafe { libc::syscall(call.nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
                if r < 0 {
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
                } else {
                    0
                }
            };
            let got = once();
            if got != call.errno {
                return Err(format!(
                    "{}: errno {got}, expected {}",
                    call.label, call.errno
                ));
            }
            let start = Instant::now();
            for _ in 0..calls {
                std::hint::black_box(once());
            }
            Ok(start.elapsed().as_secs_f64() * 1e9 / calls as f64)
        })();
        let line = match result {
            Ok(ns) => format!("ok {ns}"),
            Err(e) => format!("err {e}"),
        };
        let _ = out.write_all(line.as_bytes());
        // SAFETY: leave without running the parent's destructors or atexit handlers.
        unsafe { libc::_exit(0) };
    }
    drop(write_end);
    let mut line = String::new();
    std::fs::File::from(read_end)
        .read_to_string(&mut line)
        .map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    match line.split_once(' ') {
        Some(("ok", ns)) => ns.parse().map_err(|e| format!("{e}")),
        Some(("err", e)) => Err(e.to_string()),
        _ => Err(format!(
            "child ended with status {status:#x} and said {line:?}"
        )),
    }
}

/// The CPU every timing child runs on: one for all of them, so that no variant is timed on a
/// faster or quieter CPU than another (virtual CPUs differ), and none is migrated halfway.
fn timing_cpu() -> usize {
    // SAFETY: sched_getcpu has no arguments.
    usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0)
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: the set is plain data, zero-initialised, and CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Median time of `f` over `n` runs, in milliseconds.
fn in_process_ms<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    median(
        (0..n)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(f());
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn docker_default() -> Policy {
    let target = Target::docker_default(Arch::X86_64);
    builtin::builtin("docker-default", &target)
        .expect("built-in")
        .policy
}

fn main() {
    // `cargo test --benches` runs this without --bench: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("run: run with `cargo bench -p sysgate-cli --bench run` to measure");
        return;
    }
    if Arch::native() != Arch::X86_64 {
        eprintln!(
            "run: this benchmark measures x86_64 calls; skipped on {}",
            Arch::native()
        );
        return;
    }
    let spawns = env_count("SYSGATE_BENCH_SPAWNS", 300);
    let calls = env_count("SYSGATE_BENCH_CALLS", 300_000);
    let reps = env_count("SYSGATE_BENCH_ROUNDS", 41);

    // ---- Start-up ----
    let sysgate = env!("CARGO_BIN_EXE_sysgate");
    let truth = "/bin/true";
    // Warm the page cache and the dynamic loader first.
    spawn_ms(truth, &[], 20);
    spawn_ms(sysgate, &["run", "--", truth], 20);
    let rows: [(&str, &str, &[&str]); 4] = [
        ("true", truth, &[]),
        ("sysgate --version", sysgate, &["--version"]),
        ("sysgate run -- true", sysgate, &["run", "--", truth]),
        (
            "sysgate run --explain=off -- true",
            sysgate,
            &["run", "--explain=off", "--", truth],
        ),
    ];
    let mut times = vec![Vec::new(); rows.len()];
    // Interleaved in rounds, so that drift in the machine's load hits every row alike.
    let rounds = 10;
    for _ in 0..rounds {
        for (i, (_, program, args)) in rows.iter().enumerate() {
            times[i].push(spawn_ms(program, args, (spawns / rounds).max(1)));
        }
    }
    let times: Vec<f64> = times.into_iter().map(median).collect();
    println!("start-up: median wall time per spawn ({spawns} spawns each)");
    for ((label, _, _), t) in rows.iter().zip(&times) {
        println!(
            "  {:<40} {:>8.3} ms  (+{:.3} ms over true)",
            label,
            t,
            t - times[0]
        );
    }
    let target = Target::docker_default(Arch::X86_64);
    let built = in_process_ms(50, || builtin::builtin("docker-default", &target));
    let policy = docker_default();
    let probed = in_process_ms(50, sysgate::kernel::Features::probe);
    let features = sysgate::kernel::Features::probe();
    // In place, as sysgate run fits (after the first call nothing changes here, but every
    // rule is checked each time).
    let mut fitting = policy.clone();
    let fitted = in_process_ms(50, || {
        sysgate::kernel::adapt_in_place(
            &mut fitting,
            &features,
            sysgate::kernel::CompatLevel::BestEffort,
        )
    });
    // Compiled as `sysgate run` compiles: no diagnostics, laid out for this kernel's cache.
    let run_options = sysgate::compile::Options {
        diagnostics: false,
        action_cache: features.action_cache,
        ..Default::default()
    };
    let compiled = in_process_ms(50, || sysgate::compile::compile_with(&policy, &run_options));
    println!(
        "  of which, in sysgate: build docker-default {built:.3} ms, probe {probed:.3} ms, \
         fit {fitted:.3} ms, compile {compiled:.3} ms"
    );

    // ---- Per-syscall cost ----
    let policy = docker_default();
    let ours = sysgate::compile::compile_with(&policy, &run_options).expect("compiles");
    assert_eq!(ours.programs.len(), 1, "docker-default fits one program");
    let ours = ours.programs[0].insns().to_vec();
    let theirs: Option<Vec<Insn>> = libseccomp::open().and_then(|lib| {
        let mut spec = lib.filter_from_policy(&policy, 2);
        // Names newer than this libseccomp's table resolve to -1 (__NR_SCMP_ERROR), which
        // it refuses, and it refuses their raw numbers too: leave those rules out (they do
        // not touch the calls timed here) and say which.
        let kept = policy
            .rules()
            .iter()
            .filter(|r| r.action != policy.default_action());
        let mut dropped = Vec::new();
        spec.rules = spec
            .rules
            .into_iter()
            .zip(kept)
            .filter(|((_, nr, _), rule)| {
                let known = *nr != -1;
                if !known {
                    dropped.push(rule.syscall.to_string());
                }
                known
            })
            .map(|(r, _)| r)
            .collect();
        if !dropped.is_empty() {
            eprintln!(
                "this libseccomp does not know {}: left out of its filter",
                dropped.join(", ")
            );
        }
        match lib.build_filter(&spec, Duration::from_secs(120)) {
            Ok(bytes) => Some(
                Program::from_bytes(&bytes, Arch::native().endian())
                    .expect("libseccomp's program parses")
                    .insns()
                    .to_vec(),
            ),
            Err(e) => {
                eprintln!("libseccomp build failed: {e}");
                None
            }
        }
    });
    let calls_to_time = [
        Call {
            label: "personality(0xffffffff), allowed by a0",
            nr: libc::SYS_personality,
            args: [0xffff_ffff, 0, 0, 0, 0, 0],
            errno: 0,
        },
        Call {
            label: "unshare(0), denied EPERM by default",
            nr: libc::SYS_unshare,
            args: [0; 6],
            errno: libc::EPERM,
        },
    ];
    // The least a filter can do to give the call its answer while reading its argument
    // (which keeps the kernel's action cache out of it, as for the real filters); every
    // other call is allowed, so that the child can report and exit:
    //
    //   ld [nr]; jeq #NR, +0, +2; ld [a0.lo]; ret ANSWER; ret ALLOW
    let answer = |call: &Call| {
        use sysgate::policy::Action;
        let action = if call.errno == 0 {
            Action::Allow
        } else {
            Action::Errno(call.errno as u16)
        };
        vec![
            Insn::load(data::NR),
            Insn::jump(op::JEQ, call.nr as u32, 0, 2),
            Insn::load(data::ARGS),
            Insn::ret(action.to_ret()),
            Insn::ret(Action::Allow.to_ret()),
        ]
    };
    let cpu = timing_cpu();
    println!();
    println!(
        "per-syscall cost in a child: docker-default for x86_64 ({} sysgate insns, {} libseccomp \
         -O2 insns); fastest of {reps} runs of {calls} calls, all on CPU {cpu}",
        ours.len(),
        theirs.as_ref().map_or(0, Vec::len)
    );
    println!(
        "  {:<40} {:>9} {:>9} {:>11} {:>19} {:>10}",
        "call", "minimal", "sysgate", "libseccomp", "cost over minimal", "insns run"
    );
    for call in calls_to_time {
        let mut base = Vec::new();
        let mut sg = Vec::new();
        let mut ls = Vec::new();
        for _ in 0..reps {
            base.push(time_in_child(&answer(&call), call, calls, cpu).expect("baseline"));
            sg.push(time_in_child(&ours, call, calls, cpu).expect("sysgate's filter"));
            if let Some(t) = &theirs {
                ls.push(time_in_child(t, call, calls, cpu).expect("libseccomp's filter"));
            }
        }
        // The cost over minimal: the median over rounds of each round's own difference. The
        // three children of a round run back to back on one CPU, so what drifts between
        // rounds (frequency, neighbours) cancels out of the difference.
        let over = |times: &[f64]| median(times.iter().zip(&base).map(|(t, b)| t - b).collect());
        let sg_over = over(&sg);
        let emulate = |insns: &[Insn]| {
            Program::new(insns.to_vec(), Arch::native().endian())
                .emulate_call(Arch::X86_64, call.nr as u32, &call.args)
                .map(|r| r.executed)
                .unwrap_or(0)
        };
        let (base, sg) = (fastest(base.clone()), fastest(sg.clone()));
        let (ls_text, ratio, insns) = match &theirs {
            Some(t) => {
                let ls_over = over(&ls);
                let ls = fastest(ls);
                let ratio = sg_over / ls_over;
                (
                    format!("{ls:>8.1}ns"),
                    format!("{sg_over:.1}/{ls_over:.1}ns {ratio:.2}x"),
                    format!("{}/{}", emulate(&ours), emulate(t)),
                )
            }
            None => (
                "-".into(),
                format!("{sg_over:.1}"),
                format!("{}", emulate(&ours)),
            ),
        };
        println!(
            "  {:<40} {:>7.1}ns {:>7.1}ns {:>11} {:>19} {:>10}",
            call.label, base, sg, ls_text, ratio, insns
        );
    }
    println!(
        "\n(minimal = the smallest filter giving the same answer, 4 instructions on the call's \
         path; the times are the fastest of the runs; cost over minimal = the median over the \
         rounds of each round's time above its minimal run, sysgate/libseccomp, and their \
         ratio; insns run = BPF instructions executed for the call, sysgate/libseccomp)"
    );
}
