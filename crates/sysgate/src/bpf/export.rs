//! Exports of a [`Program`] as source text: a C `sock_filter` array with its `sock_fprog`,
//! a Rust `static` built at compile time ([`Program::from_static`]), and plain disassembly.
//! (A whole compiled policy as a Rust file for a build script is
//! [`Compiled::to_rust`](crate::compile::Compiled::to_rust), built on these.)
//!
//! Raw bytes are [`Program::to_bytes`]; this file only writes text for people and compilers,
//! with the disassembly beside every instruction. Numbers are written as values, so the
//! generated source is right on any machine; the byte order only decides which argument words
//! the program loads, and the header says which one it was built for.

use std::fmt::Write as _;

use super::program::Program;
use crate::arch::Endian;

impl Program {
    /// The program as C: a `struct sock_filter NAME[]` with the disassembly of each
    /// instruction in a comment, and a `struct sock_fprog NAME_prog` pointing at it, ready
    /// for `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &NAME_prog)`.
    ///
    /// Characters of `name` that cannot be in a C identifier become `_`.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{data, Insn, Program};
    ///
    /// let p = Program::new(vec![Insn::load(data::NR), Insn::ret(0x7fff_0000)], Endian::Little);
    /// let c = p.to_c_array("filter");
    /// assert!(c.contains("struct sock_filter filter[] = {\n"));
    /// assert!(c.contains("\t{0x20, 0, 0, 0x00000000}, /*    0: ld   nr */\n"));
    /// assert!(c.contains("\t{0x06, 0, 0, 0x7fff0000}, /*    1: ret  ALLOW */\n"));
    /// assert!(c.contains("struct sock_fprog filter_prog = {"));
    /// ```
    pub fn to_c_array(&self, name: &str) -> String {
        let name = identifier(name);
        let mut out = String::new();
        let _ = writeln!(out, "/* {} */", self.summary());
        out.push_str("#include <linux/filter.h>\n\n");
        let _ = writeln!(out, "struct sock_filter {name}[] = {{");
        for (index, (insn, line)) in self.insns().iter().zip(self.lines(None)).enumerate() {
            let text = line.render(index).trim_end().replace("*/", "* /");
            let _ = writeln!(
                out,
                "\t{{{:#04x}, {}, {}, {:#010x}}}, /* {text} */",
                insn.code, insn.jt, insn.jf, insn.k
            );
        }
        out.push_str("};\n\n");
        let _ = writeln!(out, "struct sock_fprog {name}_prog = {{");
        let _ = writeln!(
            out,
            "\t.len = (unsigned short)(sizeof({name}) / sizeof({name}[0])),"
        );
        let _ = writeln!(out, "\t.filter = {name},");
        out.push_str("};\n");
        out
    }

    /// The program as Rust source: `pub static NAME: sysgate::bpf::Program`, built with the
    /// `const` [`Program::from_static`], with the disassembly beside each instruction. A
    /// crate that includes it (`include!`) has the program at start-up without compiling
    /// or parsing anything. For a whole compiled policy with its install options, see
    /// [`Compiled::to_rust`](crate::compile::Compiled::to_rust).
    ///
    /// `name` is upper-cased, and characters that cannot be in an identifier become `_`.
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{Insn, Program};
    ///
    /// let p = Program::new(vec![Insn::ret(0x7fff_0000)], Endian::Little);
    /// let rust = p.to_rust_static("allow-all");
    /// assert!(rust.contains("pub static ALLOW_ALL: sysgate::bpf::Program = "));
    /// assert!(rust.contains(
    ///     "        sysgate::bpf::Insn { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, //    0: ret  ALLOW\n"
    /// ));
    /// ```
    pub fn to_rust_static(&self, name: &str) -> String {
        let name = identifier(name).to_ascii_uppercase();
        let mut out = String::new();
        let _ = writeln!(out, "/// {}", self.summary());
        let _ = write!(out, "pub static {name}: sysgate::bpf::Program = ");
        self.rust_expr(&mut out, "");
        out.push_str(";\n");
        out
    }

    /// `sysgate::bpf::Program::from_static(&[...], ENDIAN)`, each line after the first
    /// indented by `indent`, no line end after the closing parenthesis.
    pub(crate) fn rust_expr(&self, out: &mut String, indent: &str) {
        out.push_str("sysgate::bpf::Program::from_static(\n");
        let _ = writeln!(out, "{indent}    &[");
        for (index, (insn, line)) in self.insns().iter().zip(self.lines(None)).enumerate() {
            let _ = writeln!(
                out,
                "{indent}        sysgate::bpf::Insn {{ code: {:#04x}, jt: {}, jf: {}, k: {:#010x} }}, // {}",
                insn.code,
                insn.jt,
                insn.jf,
                insn.k,
                line.render(index).trim_end()
            );
        }
        let _ = writeln!(out, "{indent}    ],");
        let endian = match self.endian() {
            Endian::Little => "Little",
            Endian::Big => "Big",
        };
        let _ = writeln!(out, "{indent}    sysgate::arch::Endian::{endian},");
        let _ = write!(out, "{indent})");
    }

    /// The program as text: the same as [`Program::disassemble`].
    ///
    /// ```
    /// use sysgate::arch::Endian;
    /// use sysgate::bpf::{Insn, Program};
    ///
    /// let p = Program::new(vec![Insn::ret(0)], Endian::Little);
    /// assert_eq!(p.to_text(), "   0: ret  KILL_THREAD\n");
    /// ```
    pub fn to_text(&self) -> String {
        self.disassemble()
    }

    /// One line saying what the program is, for export headers.
    fn summary(&self) -> String {
        let order = match self.endian() {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        };
        format!(
            "seccomp filter, {} instructions, for a {order} machine; generated by sysgate",
            self.len()
        )
    }
}

/// `name` with every character that cannot be in a C or Rust identifier replaced by `_`,
/// and a leading `_` if it would start with a digit or be empty.
fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, '_');
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::bpf::insn::{data, op, Insn};
    use std::path::PathBuf;
    use std::process::Command;

    fn sample() -> Program {
        Program::new(
            vec![
                Insn::load(data::ARCH),
                Insn::jump(op::JEQ, Arch::X86_64.audit_arch(), 1, 0),
                Insn::ret(0x8000_0000),
                Insn::load(data::NR),
                Insn::jump(op::JEQ, 1, 0, 1),
                Insn::ret(0x0005_0001),
                Insn::ret(0x7fff_0000),
            ],
            Endian::Little,
        )
    }

    #[test]
    fn identifiers_are_sanitised() {
        assert_eq!(identifier("my-filter.v2"), "my_filter_v2");
        assert_eq!(identifier("2fast"), "_2fast");
        assert_eq!(identifier(""), "_");
        assert_eq!(identifier("ok_name"), "ok_name");
    }

    #[test]
    fn c_array_snapshot() {
        let expected = "\
/* seccomp filter, 7 instructions, for a little-endian machine; generated by sysgate */
#include <linux/filter.h>

struct sock_filter f[] = {
\t{0x20, 0, 0, 0x00000004}, /*    0: ld   arch */
\t{0x15, 1, 0, 0xc000003e}, /*    1: jeq  #0xc000003e    jt 3    jf 2      ; arch x86_64 */
\t{0x06, 0, 0, 0x80000000}, /*    2: ret  KILL_PROCESS */
\t{0x20, 0, 0, 0x00000000}, /*    3: ld   nr */
\t{0x15, 0, 1, 0x00000001}, /*    4: jeq  #1             jt 5    jf 6      ; write */
\t{0x06, 0, 0, 0x00050001}, /*    5: ret  ERRNO(1 EPERM) */
\t{0x06, 0, 0, 0x7fff0000}, /*    6: ret  ALLOW */
};

struct sock_fprog f_prog = {
\t.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
\t.filter = f,
};
";
        assert_eq!(sample().to_c_array("f"), expected);
    }

    #[test]
    fn rust_static_snapshot() {
        let out = sample().to_rust_static("filter");
        assert!(out.starts_with(
            "/// seccomp filter, 7 instructions, for a little-endian machine; generated by sysgate\n\
             pub static FILTER: sysgate::bpf::Program = sysgate::bpf::Program::from_static(\n    &[\n"
        ));
        assert!(out.contains(
            "        sysgate::bpf::Insn { code: 0x15, jt: 0, jf: 1, k: 0x00000001 }, //    4: jeq  #1  "
        ));
        assert!(out.ends_with(
            "        sysgate::bpf::Insn { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 }, //    6: ret  ALLOW\n    \
             ],\n    sysgate::arch::Endian::Little,\n);\n"
        ));
    }

    /// A scratch directory for one test.
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sysgate-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Whether `program` can be run; prints SKIPPED otherwise.
    fn have(program: &str) -> bool {
        let found = Command::new(program).arg("--version").output().is_ok();
        if !found {
            eprintln!("SKIPPED: {program} is not installed");
        }
        found
    }

    #[test]
    fn c_array_compiles() {
        if !have("cc") {
            return;
        }
        let dir = scratch("c-array");
        let src = dir.join("filter.c");
        std::fs::write(&src, sample().to_c_array("filter")).unwrap();
        let out = Command::new("cc")
            .args(["-std=c99", "-Wall", "-Werror", "-fsyntax-only"])
            .arg(&src)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
