//! A Python binding on this library: pyseccomp (PyPI; ctypes over `libseccomp.so.2`) builds
//! a filter, exports it as BPF and as text, and loads it in a forked child, with this
//! library first in `LD_LIBRARY_PATH`. The exported program decides as the rules say in
//! sysgate's emulator, and the text is sysgate's.
//!
//! Needs python3 with pyseccomp (`python3 -m pip install pyseccomp`; .ci/run installs it):
//! outside CI its absence makes the test say `SKIPPED`.

mod support;

use std::process::Command;

use sysgate::arch::Endian;
use sysgate::bpf::Program;
use sysgate::policy::Action;
use sysgate::Arch;

#[test]
fn pyseccomp_builds_exports_and_loads_on_this_library() {
    let present = Command::new("python3")
        .args(["-c", "import pyseccomp"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        if std::env::var_os("CI").is_some() {
            panic!("python3 with pyseccomp is required under CI");
        }
        eprintln!("SKIPPED: needs python3 with pyseccomp (python3 -m pip install pyseccomp)");
        return;
    }
    let lib = support::library_dir();
    let (bpf, pfc) = (lib.join("filter.bpf"), lib.join("filter.pfc"));
    let script = support::c_dir().join("../py/pyseccomp_filter.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&bpf)
        .arg(&pfc)
        .env("LD_LIBRARY_PATH", &lib)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = stdout
        .lines()
        .find_map(|l| l.strip_prefix("lib: "))
        .expect("a lib: line");
    assert_eq!(
        std::fs::canonicalize(loaded).unwrap(),
        support::built_library(),
        "pyseccomp loaded {loaded}"
    );
    assert!(stdout.contains("child: 0"), "{stdout}");

    let text = std::fs::read_to_string(&pfc).unwrap();
    assert!(text.contains("sysgate"), "{text}");
    let program = Program::from_bytes(&std::fs::read(&bpf).unwrap(), Endian::Little).unwrap();
    let nr = |n| Arch::X86_64.syscall_number(n).unwrap();
    let run = |n, args: [u64; 6]| {
        program
            .emulate_call(Arch::X86_64, nr(n), &args)
            .unwrap()
            .ret
    };
    assert_eq!(run("uname", [0; 6]), Action::Errno(1).to_ret());
    assert_eq!(
        run("getpriority", [7, 0, 0, 0, 0, 0]),
        Action::Errno(18).to_ret()
    );
    assert_eq!(run("getpriority", [0; 6]), Action::Allow.to_ret());
}
