//! Small programs with known syscalls for the `sysgate learn` tests. The tests build this
//! file with `rustc` (std only, no crates) and run it in one of these modes:
//!
//! - `plain`: print a line; `plain-extra`: the same, then call `sysinfo`, which `plain`
//!   never calls (a learned profile of `plain` must refuse it).
//! - `threads`: four threads that each report over a channel.
//! - `daemon MARKER`: double-fork a daemon (setsid, umask) that writes MARKER after
//!   300 ms, while the program itself exits at once.
//! - `sockets`: open an AF_UNIX stream socket and an AF_INET datagram socket.
//! - `i386`: call getpid through `int 0x80`, the i386 ABI of an x86_64 kernel.
//! - `listener`: install an allow-all seccomp filter with its own notification listener
//!   and print what `seccomp` returned (`listener ok` or `listener errno N`).
//! - `traceme`: call `ptrace(PTRACE_TRACEME)`, as a program run by a debugger does, and
//!   print `traceme ok` or `traceme errno N`.

use std::ffi::{c_int, c_long};

extern "C" {
    fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    fn close(fd: c_int) -> c_int;
    fn fork() -> c_int;
    fn setsid() -> c_int;
    fn umask(mask: u32) -> u32;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn _exit(code: c_int) -> !;
    fn syscall(nr: c_long, ...) -> c_long;
}

const SYS_SYSINFO: c_long = 99;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("plain") => println!("plain"),
        Some("plain-extra") => {
            println!("plain");
            let mut info = [0u8; 512];
            // SAFETY: sysinfo writes at most sizeof(struct sysinfo) < 512 bytes.
            unsafe { syscall(SYS_SYSINFO, info.as_mut_ptr()) };
            println!("sysinfo was allowed");
        }
        Some("threads") => threads(),
        Some("daemon") => daemon(args.get(2).expect("daemon MARKER")),
        Some("sockets") => sockets(),
        Some("i386") => i386(),
        Some("listener") => listener(),
        Some("traceme") => traceme(),
        _ => {
            eprintln!("usage: learn_helper plain|plain-extra|threads|daemon MARKER|sockets|i386");
            std::process::exit(2);
        }
    }
}

fn threads() {
    let (tx, rx) = std::sync::mpsc::channel();
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let sum: u64 = (0..10_000u64).map(|x| x * i).sum();
                tx.send(sum).unwrap();
            })
        })
        .collect();
    drop(tx);
    for h in handles {
        h.join().unwrap();
    }
    let mut sums: Vec<u64> = rx.iter().collect();
    sums.sort();
    println!("threads: {sums:?}");
}

fn daemon(marker: &str) {
    // SAFETY: the helper is single-threaded; the children only use std after fork, which
    // is fine without other threads.
    unsafe {
        let pid = fork();
        if pid == 0 {
            setsid();
            if fork() == 0 {
                umask(0o022);
                std::thread::sleep(std::time::Duration::from_millis(300));
                std::fs::write(marker, "daemon done\n").unwrap();
                _exit(0);
            }
            _exit(0);
        }
        let mut status = 0;
        waitpid(pid, &mut status, 0);
    }
    println!("parent done");
}

fn sockets() {
    // SAFETY: plain integer arguments.
    unsafe {
        let unix = socket(1, 1, 0); // AF_UNIX, SOCK_STREAM
        let inet = socket(2, 2, 0); // AF_INET, SOCK_DGRAM
        assert!(unix >= 0 && inet >= 0, "socket failed");
        close(unix);
        close(inet);
    }
    println!("sockets ok");
}

#[cfg(target_arch = "x86_64")]
fn i386() {
    let mut ret: i64 = 20; // getpid on i386
    // SAFETY: int 0x80 enters the kernel's i386 syscall path; getpid touches no memory.
    // The i386 path clobbers nothing but eax (r8-r11 are preserved by the entry code).
    unsafe { std::arch::asm!("int 0x80", inout("rax") ret, options(nostack)) };
    println!("i386 getpid {}", if ret == std::process::id() as i64 { "ok" } else { "wrong" });
}

#[cfg(not(target_arch = "x86_64"))]
fn i386() {
    println!("i386 getpid skipped");
}

/// Install `ret ALLOW` with SECCOMP_FILTER_FLAG_NEW_LISTENER, as a container runtime or a
/// seccomp agent does.
fn listener() {
    const SYS_PRCTL: c_long = 157;
    const SYS_SECCOMP: c_long = 317;
    const PR_SET_NO_NEW_PRIVS: c_long = 38;
    const SECCOMP_SET_MODE_FILTER: c_long = 1;
    const SECCOMP_FILTER_FLAG_NEW_LISTENER: c_long = 8;
    #[repr(C)]
    struct Prog {
        len: u16,
        filter: *const u64,
    }
    // BPF_RET | BPF_K, k = SECCOMP_RET_ALLOW.
    let allow: u64 = 0x7fff_0000_0000_0006;
    let prog = Prog { len: 1, filter: &allow };
    // SAFETY: prctl takes integers; seccomp reads `prog` and the one instruction it points to.
    let r = unsafe {
        syscall(SYS_PRCTL, PR_SET_NO_NEW_PRIVS, 1 as c_long, 0 as c_long, 0 as c_long, 0 as c_long);
        syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog as *const Prog)
    };
    if r < 0 {
        println!("listener errno {}", std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    } else {
        println!("listener ok");
    }
}

/// `ptrace(PTRACE_TRACEME, 0, 0, 0)`.
fn traceme() {
    const SYS_PTRACE: c_long = 101;
    // SAFETY: PTRACE_TRACEME takes no pointers.
    let r = unsafe { syscall(SYS_PTRACE, 0 as c_long, 0 as c_long, 0 as c_long, 0 as c_long) };
    if r < 0 {
        println!("traceme errno {}", std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    } else {
        println!("traceme ok");
    }
}
