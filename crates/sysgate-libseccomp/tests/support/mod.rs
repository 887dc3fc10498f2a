//! Compile C test programs with gcc against `seccomp.h` and run them with this crate's
//! `libseccomp.so.2` (or, for comparison, the system's libseccomp 2.5.4).
//!
//! The shared object is the one cargo built for this test run (`target/<profile>/deps`),
//! reached through a temporary directory that names it `libseccomp.so.2` (for the loader)
//! and `libseccomp.so` (for `-lseccomp`). Every program prints the file that provides
//! `seccomp_init` (`lib: PATH`), and [`Run::assert_library`] checks it.
//!
//! gcc and libseccomp-dev (the header) are needed: outside CI a test without them says
//! `SKIPPED` and passes; under CI (`CI` set) their absence is a failure.
#![allow(dead_code)]

use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which `libseccomp.so.2` a program runs with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lib {
    /// This crate's, through `LD_LIBRARY_PATH`.
    Sysgate,
    /// The system's libseccomp (Debian's 2.5.4).
    System,
}

/// The C sources of the tests.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// The shared object cargo built for this run.
pub fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory");
    for candidate in [deps.join("libseccomp.so"), deps.join("../libseccomp.so")] {
        if candidate.exists() {
            return candidate.canonicalize().expect("canonical library path");
        }
    }
    panic!(
        "libseccomp.so was not built next to {}: run the tests with cargo test -p sysgate-libseccomp",
        exe.display()
    );
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory for one test's files.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sysgate-libseccomp-{tag}-{}-{}",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A directory holding this crate's library as `libseccomp.so.2` and `libseccomp.so`.
pub fn library_dir() -> PathBuf {
    let dir = scratch("lib");
    let lib = built_library();
    symlink(&lib, dir.join("libseccomp.so.2")).expect("symlink libseccomp.so.2");
    symlink(&lib, dir.join("libseccomp.so")).expect("symlink libseccomp.so");
    dir
}

/// Whether gcc and the system header are here; otherwise say why the test is skipped (and
/// fail under CI, which installs them).
pub fn toolchain_present() -> bool {
    let gcc = Command::new("gcc")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let header = Path::new("/usr/include/seccomp.h").exists();
    if gcc && header {
        return true;
    }
    let what = "gcc and /usr/include/seccomp.h (apt-get install gcc libseccomp-dev)";
    if std::env::var_os("CI").is_some() {
        panic!("{what} are required under CI");
    }
    eprintln!("SKIPPED: this test needs {what}");
    false
}

/// A compiled C program and the library directory it links with.
pub struct Program {
    /// The executable.
    pub path: PathBuf,
    /// The directory holding our `libseccomp.so.2`.
    pub lib_dir: PathBuf,
}

/// Compile `tests/c/<name>.c` against the header in `include` (None: the system's
/// `/usr/include/seccomp.h`), linked with this crate's library.
pub fn compile(name: &str, include: Option<&Path>) -> Program {
    let lib_dir = library_dir();
    let out = lib_dir.join(name);
    let mut gcc = Command::new("gcc");
    gcc.args([
        "-std=gnu11",
        "-D_GNU_SOURCE",
        "-O1",
        "-Wall",
        "-Werror",
        "-o",
    ])
    .arg(&out)
    .arg(c_dir().join(format!("{name}.c")))
    .arg("-I")
    .arg(c_dir());
    if let Some(dir) = include {
        gcc.arg("-I").arg(dir);
    }
    gcc.arg("-L")
        .arg(&lib_dir)
        .args(["-lseccomp", "-ldl", "-lpthread"]);
    let output = gcc.output().expect("run gcc");
    assert!(
        output.status.success(),
        "gcc {name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Program { path: out, lib_dir }
}

/// What a program did.
#[derive(Debug)]
pub struct Run {
    /// Its output.
    pub output: Output,
    /// Which library it was meant to run with.
    pub lib: Lib,
    lib_dir: PathBuf,
}

impl Program {
    /// Run with `lib`, these arguments and this stdin.
    pub fn run(&self, lib: Lib, args: &[&str], stdin: &[u8]) -> Run {
        use std::io::Write;
        let mut cmd = Command::new(&self.path);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match lib {
            Lib::Sysgate => cmd.env("LD_LIBRARY_PATH", &self.lib_dir),
            Lib::System => cmd.env_remove("LD_LIBRARY_PATH"),
        };
        let mut child = cmd.spawn().expect("start the C program");
        let mut input = child.stdin.take().expect("stdin");
        let _ = input.write_all(stdin);
        drop(input);
        let output = child.wait_with_output().expect("wait for the C program");
        Run {
            output,
            lib,
            lib_dir: self.lib_dir.clone(),
        }
    }
}

impl Run {
    /// Its standard output.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Its standard error.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The signal that killed it, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.output.status.signal()
    }

    /// Its exit code, if it exited.
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// The library it printed as providing `seccomp_init` is the one it was meant to use.
    pub fn assert_library(&self) -> &Run {
        let line = self
            .stdout()
            .lines()
            .find_map(|l| l.strip_prefix("lib: ").map(str::to_string))
            .unwrap_or_else(|| panic!("no `lib:` line in {:?}", self.stdout()));
        let loaded = Path::new(&line)
            .canonicalize()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        match self.lib {
            Lib::Sysgate => assert_eq!(loaded, built_library(), "loaded {line}"),
            Lib::System => assert_ne!(loaded, built_library(), "loaded {line}"),
        }
        self
    }

    /// It exited 0 and printed `ok` (the C API tests' success).
    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code(),
            Some(0),
            "with {:?}: stdout {}\nstderr {}",
            self.lib,
            self.stdout(),
            self.stderr()
        );
        self
    }
}
