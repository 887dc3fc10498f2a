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
