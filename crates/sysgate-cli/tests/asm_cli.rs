//! `sysgate asm`, the inverse of `sysgate disasm`: what disasm prints assembles back to the
//! same bytes (from a file or standard input, either byte order), and bad text is bad input
//! naming file:line:column.

mod support;
use support::{scratch, sysgate_in as sysgate, text};

use std::process::{Command, Stdio};

#[test]
fn disasm_then_asm_gives_the_same_bytes_on_both_byte_orders() {
    let dir = scratch("round-trip");
    for arch in ["amd64", "s390x", "mips64"] {
        let o = sysgate(
            &dir,
            &[
                "compile",
                "docker-default",
                "--arch",
                arch,
                "-q",
                "-o",
                "f.bpf",
            ],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        let d = sysgate(&dir, &["disasm", "f.bpf", "--arch", arch]);
        assert!(d.status.success());
        std::fs::write(dir.join("f.txt"), &d.stdout).unwrap();
        let a = sysgate(&dir, &["asm", "f.txt", "--arch", arch, "-o", "back.bpf"]);
        assert!(a.status.success(), "{arch}: {}", text(&a.stderr));
        assert_eq!(text(&a.stderr), "", "{arch}");
        assert_eq!(
            std::fs::read(dir.join("back.bpf")).unwrap(),
            std::fs::read(dir.join("f.bpf")).unwrap(),
            "{arch}"
        );
    }
    // Standard input, and the other output formats.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(["asm", "-", "--format", "text", "--arch", "mips64"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let txt = std::fs::read(dir.join("f.txt")).unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&txt).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        o.stdout, txt,
        "asm --format text prints disasm's text again"
    );
    let c = sysgate(&dir, &["asm", "f.txt", "--arch", "mips64", "--format", "c"]);
    assert!(text(&c.stdout).contains("struct sock_filter filter[]"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_text_is_bad_input_naming_file_line_and_column() {
    let dir = scratch("bad");
    std::fs::write(dir.join("p.txt"), "ld nr\njeq #59 jt 1 jf 3\nret ALLOW\n").unwrap();
    let o = sysgate(&dir, &["asm", "p.txt", "-o", "p.bpf"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "sysgate: p.txt:2:12: jt 1 does not lie after this instruction (1): BPF jumps only forward\n"
    );
    assert!(!dir.join("p.bpf").exists(), "nothing is written");
    std::fs::write(dir.join("bin.txt"), [0x20u8, 0, 0, 0, 0xff, 0xfe]).unwrap();
    let o = sysgate(&dir, &["asm", "bin.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not UTF-8 text"),
        "{}",
        text(&o.stderr)
    );
    // A program the kernel would refuse (it falls off its end) is written, with a warning.
    std::fs::write(dir.join("open.txt"), "ld nr\n").unwrap();
    let o = sysgate(&dir, &["asm", "open.txt", "-o", "open.bpf"]);
    assert!(o.status.success());
    assert!(text(&o.stderr).contains("the kernel would refuse this program"));
    assert_eq!(std::fs::read(dir.join("open.bpf")).unwrap().len(), 8);
    let o = sysgate(&dir, &["asm", "missing.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
