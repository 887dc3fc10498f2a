//! Where every subcommand's output goes, and the one error type for failing to get it there.
//!
//! Owns: writing to standard output (never `print!`, which panics when stdout is a closed pipe
//! or a full device), `-o PATH` files, `-o -` meaning standard output, and `-` as an input
//! meaning standard input. `main` turns an [`IoFailure`] into the I/O exit status (or a quiet
//! exit for a closed pipe). Does not own what is written: each subcommand renders its text,
//! then hands it here.
//!
//! A file is written so that no reader ever sees half of it, where that means something:
//!
//! - a regular file, or a path that does not exist yet: a temporary file created exclusively
//!   (random name, `O_EXCL`, so a planted symlink is never followed) in the same directory,
//!   written, fsynced, renamed over the path, and the directory fsynced; on every error the
//!   temporary file is removed;
//! - a symlink: followed, and its target written the same way (the link stays a link);
//! - a device, FIFO or socket: written in place (renaming over `/dev/null` would replace the
//!   device with a file);
//! - a directory: refused.
//!
//! Every error names the path the user gave, never the temporary file.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A failure to read an input or write an output: what was being done to which path (or to
/// "standard output"), and the system's error. `main` exits with [`crate::IO_ERROR`] for it,
/// or quietly when standard output is a pipe whose reader has gone.
#[derive(Debug)]
pub struct IoFailure {
    /// What was being done, e.g. "cannot write /etc/x.json" or "cannot write standard output".
    pub what: String,
    /// The error.
    pub source: io::Error,
}

impl std::fmt::Display for IoFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

// No `source()`: the message already ends with the system's error, and `{:#}` would print
// it twice.
impl std::error::Error for IoFailure {}

impl IoFailure {
    /// Whether this is standard output (or a FIFO) whose reader has gone away: `sysgate
    /// resolve --list | head` ends quietly, as other Unix tools do.
    pub fn is_broken_pipe(&self) -> bool {
        self.source.kind() == io::ErrorKind::BrokenPipe
    }
}

/// Where a command's output goes: standard output, or a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (no `-o`, or `-o -`).
    Stdout,
    /// A file (`-o PATH`).
    File(PathBuf),
}

impl Destination {
    /// The destination an optional `-o` argument names: none or `-` is standard output.
    pub fn from_arg(arg: Option<&Path>) -> Destination {
        match arg {
            None => Destination::Stdout,
            Some(p) if p.as_os_str() == "-" => Destination::Stdout,
            Some(p) => Destination::File(p.to_path_buf()),
        }
    }

    /// How messages name it: the path, or "standard output".
    pub fn describe(&self) -> String {
        match self {
            Destination::Stdout => "standard output".to_string(),
            Destination::File(p) => p.display().to_string(),
        }
    }

    /// Fail now if writing here later certainly fails: for a command that runs a long time
    /// before it writes (`sysgate learn -- make check`). A file's directory must exist and
    /// take a new file (tried with a temporary file, removed at once); a directory is
    /// refused. Standard output, devices and FIFOs are not tried.
    pub fn preflight(&self) -> Result<(), IoFailure> {
        let Destination::File(path) = self else {
            return Ok(());
        };
        match inspect(path)? {
            Found::Special(_) => Ok(()),
            Found::File(target, _) | Found::New(target) => {
                tempfile::Builder::new()
                    .prefix(".sysgate-check.")
                    .tempfile_in(parent_dir(&target))
                    .map_err(|e| cannot_write(path, bare(e)))?;
                Ok(())
            }
        }
    }

    /// Write `bytes` there (a file as the module documentation says).
    pub fn write(&self, bytes: &[u8]) -> Result<(), IoFailure> {
        match self {
            Destination::Stdout => print(bytes),
            Destination::File(p) => write_file(p, bytes),
        }
    }
}

/// Write `bytes` to standard output and flush, returning the error instead of panicking.
pub fn print(bytes: &[u8]) -> Result<(), IoFailure> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| IoFailure {
            what: "cannot write standard output".to_string(),
            source,
        })
}

/// Symlinks followed before giving up, as the kernel's own limit (ELOOP).
const MAX_SYMLINKS: usize = 40;

/// Write `bytes` to `path` as the module documentation says: atomically for a regular file
/// or a new path, in place for a device, FIFO or socket, through a symlink to its target.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IoFailure> {
    match inspect(path)? {
        Found::File(target, permissions) => replace_atomically(&target, bytes, Some(permissions)),
        Found::New(target) => replace_atomically(&target, bytes, None),
        Found::Special(target) => write_in_place(&target, bytes),
    }
    .map_err(|e| cannot_write(path, e))
}

/// What an output path ends at, its symlinks followed: the one place that decides how a
/// path is written ([`write_file`]) and whether it can be ([`Destination::preflight`]).
enum Found {
    /// A regular file, replaced atomically keeping its permissions.
    File(PathBuf, fs::Permissions),
    /// Nothing yet: a new file, created atomically.
    New(PathBuf),
    /// A device, FIFO or socket: written in place, never replaced.
    Special(PathBuf),
}

/// Follow `path`'s symlinks and say what is there; a directory is refused.
fn inspect(path: &Path) -> Result<Found, IoFailure> {
    let target = resolve_symlinks(path).map_err(|e| cannot_write(path, e))?;
    match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => Err(cannot_write(
            path,
            io::Error::new(io::ErrorKind::IsADirectory, "it is a directory"),
        )),
        Ok(meta) if meta.is_file() => Ok(Found::File(target, meta.permissions())),
        Ok(meta) => {
            let t = meta.file_type();
            debug_assert!(
                t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
            );
            Ok(Found::Special(target))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::New(target)),
        Err(e) => Err(cannot_write(path, e)),
    }
}

/// The failure to write `path` (named as the user gave it).
fn cannot_write(path: &Path, source: io::Error) -> IoFailure {
    IoFailure {
        what: format!("cannot write {}", path.display()),
        source,
    }
}

/// The path a chain of symlinks ends at (which need not exist: a dangling link names the
/// file to create).
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// The directory `path` is in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A device, FIFO or socket: opened for writing as it is, never replaced.
fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// A temporary file beside `path`, written, fsynced and renamed over it, then the directory
/// fsynced so the rename survives a crash. The temporary file is removed on every error
/// (dropping a `NamedTempFile` deletes it). `keep` is the mode of the file replaced; a new
/// file gets 0666 less the umask, as any other new file.
fn replace_atomically(path: &Path, bytes: &[u8], keep: Option<fs::Permissions>) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(bare)?;
    if let Some(perm) = keep {
        tmp.as_file().set_permissions(perm)?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| bare(e.error))?;
    fs::File::open(dir)?.sync_all()
}

/// The system's error without the temporary file's path that tempfile adds to it: messages
/// name the user's path. tempfile's wrapper hides the errno, and shows as "ERROR at path P".
fn bare(e: io::Error) -> io::Error {
    if e.raw_os_error().is_some() {
        return e;
    }
    let text = e.to_string();
    match text.rfind(" at path ") {
        Some(at) => io::Error::new(e.kind(), &text[..at]),
        None => e,
    }
}

/// Set once standard input has been read: it can be read only once.
static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// How messages and locations name standard input.
pub const STDIN_NAME: &str = "standard input";

/// Claim standard input for a reader that streams it; an error if it was claimed before
/// (a second `-` in one command).
pub fn take_stdin() -> anyhow::Result<()> {
    if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(crate::bad_input(
            "`-` (standard input) is given twice; it can be read only once",
        ));
    }
    Ok(())
}

/// The bytes of a raw BPF file: at most `max_insns` instructions of 8 bytes, so that
/// `/dev/zero` or a runaway file is refused by name instead of read until memory runs out.
pub fn read_raw_filter(path: &str, max_insns: usize) -> anyhow::Result<Vec<u8>> {
    let limit = (max_insns * 8) as u64;
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| crate::bad_input(format!("{path}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(crate::bad_input(format!(
            "{path}: more than {max_insns} instructions ({limit} bytes); the kernel loads at \
             most 4096 per filter"
        )));
    }
    Ok(bytes)
}

/// All of standard input, for an input given as `-`, up to
/// [`sysgate::profile::MAX_PROFILE_BYTES`] (more is bad input: `-` fed from `/dev/zero` is
/// refused, not read until memory runs out). A second `-` in one command is bad input (the
/// first one has read everything).
pub fn read_stdin() -> anyhow::Result<Vec<u8>> {
    take_stdin()?;
    match sysgate::profile::read_bounded(io::stdin().lock(), STDIN_NAME.as_ref()) {
        Ok(bytes) => Ok(bytes),
        Err(sysgate::profile::ProfileError::Io { source, .. }) => Err(IoFailure {
            what: "cannot read standard input".to_string(),
            source,
        }
        .into()),
        Err(e) => Err(crate::bad_input(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_is_standard_output() {
        assert_eq!(Destination::from_arg(None), Destination::Stdout);
        assert_eq!(
            Destination::from_arg(Some(Path::new("-"))),
            Destination::Stdout
        );
        assert_eq!(
            Destination::from_arg(Some(Path::new("./-"))),
            Destination::File(PathBuf::from("./-"))
        );
    }

    #[test]
    fn a_regular_file_is_replaced_keeping_its_mode_and_no_temporary_file_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let p = dir.join("out.json");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&p, b"new").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        // Only the file itself: no temporary file stays beside it.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn a_chain_of_relative_symlinks_is_followed_to_its_target() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        fs::create_dir(dir.join("real")).unwrap();
        fs::write(dir.join("real/t"), "old").unwrap();
        std::os::unix::fs::symlink("real/t", dir.join("l1")).unwrap();
        std::os::unix::fs::symlink("l1", dir.join("l2")).unwrap();
        write_file(&dir.join("l2"), b"new").unwrap();
        assert_eq!(fs::read(dir.join("real/t")).unwrap(), b"new");
        assert!(fs::symlink_metadata(dir.join("l1"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::symlink_metadata(dir.join("l2"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_dir(dir.join("real")).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_loop_and_a_directory_fail_naming_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
        let e = write_file(&dir.join("a"), b"x").unwrap_err();
        assert_eq!(e.what, format!("cannot write {}", dir.join("a").display()));
        assert_eq!(e.source.raw_os_error(), Some(libc::ELOOP));
        let e = write_file(&dir, b"x").unwrap_err();
        assert_eq!(e.source.kind(), io::ErrorKind::IsADirectory, "{e}");
    }
}
