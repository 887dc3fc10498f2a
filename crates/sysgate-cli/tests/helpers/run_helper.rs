//! A small program for `tests/run.rs` to run under `sysgate run`: it makes the calls a test
//! needs and reports what the kernel answered. Built as an example (cargo test builds
//! examples), so it is never installed.
//!
//! - `x32-getpid`: getpid with the x32 bit (0x40000000 | 39), as an x32 program would.
//! - `threads N`: start N threads that each call uname(2) after the filter is in place, and
//!   print one line per thread with the result.
//! - `sleep-until-signal`: print "ready", then wait for SIGTERM and exit 42 when it comes.

use std::io::Write;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// uname(2), returning 0 or the errno.
fn uname() -> i32 {
    // SAFETY: `utsname` is plain bytes; the kernel fills a live, correctly sized one.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut uts) } == 0 {
        0
    } else {
        errno()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["x32-getpid"] => {
            // SAFETY: a raw syscall with no pointer arguments.
            let r = unsafe { libc::syscall(0x4000_0000 | libc::SYS_getpid) };
            let e = if r < 0 { errno() } else { 0 };
            println!("x32 getpid returned {r} errno {e}");
        }
        ["swapoff"] => {
            // SAFETY: a NUL-terminated path; the call fails harmlessly when allowed.
            let r = unsafe { libc::swapoff(c"/nonexistent-swap".as_ptr()) };
            println!(
                "swapoff returned {r} errno {}",
                if r < 0 { errno() } else { 0 }
            );
        }
        ["threads", n] => {
            let n: usize = n.parse().expect("a thread count");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        // Every thread is running before any of them calls uname.
                        barrier.wait();
                        uname()
                    })
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                println!("thread {i}: uname errno {}", h.join().expect("thread"));
            }
        }
        ["sleep-until-signal"] => {
            let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: sigemptyset/sigaddset initialise the set; sigprocmask and sigwait take
            // it by pointer.
            let sig = unsafe {
                libc::sigemptyset(set.as_mut_ptr());
                libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
                let set = set.assume_init();
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                println!("ready");
                std::io::stdout().flush().expect("flush");
                let mut sig = 0;
                libc::sigwait(&set, &mut sig);
                sig
            };
            println!("got signal {sig}");
            std::process::exit(42);
        }
        _ => {
            eprintln!("usage: run-helper x32-getpid | threads N | sleep-until-signal");
            std::process::exit(2);
        }
    }
}
