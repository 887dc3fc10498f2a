//! What a trace or an audit log saw: syscalls per ABI, number and executable, with counts,
//! and the flag-argument values of the calls `--args` learns.
//!
//! This is the data both sources produce and [`super::synthesize`] turns into a policy. It
//! knows nothing about ptrace or audit records.

use std::collections::{BTreeMap, BTreeSet};

use crate::arch::Arch;

pub use crate::arch::abi_of;

/// One line of [`Observations::calls`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallCount<'a> {
    /// The ABI.
    pub arch: Arch,
    /// The kernel number (with the x32 bit on x32).
    pub nr: u32,
    /// The name, if sysgate's table for `arch` has one.
    pub name: Option<&'static str>,
    /// The executable that made the calls (`?` if it could not be read).
    pub exe: &'a str,
    /// How many calls.
    pub count: u64,
}

/// Observed syscalls, with counts per ABI, number and executable, and the flag-argument
/// values seen for the calls [`super::flag_args`] lists.
///
/// ```
/// use sysgate::learn::Observations;
/// use sysgate::Arch;
///
/// let mut seen = Observations::default();
/// seen.record(Arch::X86_64, 0, "/bin/cat", 3);
/// seen.record(Arch::X86_64, 0, "/bin/sh", 1);
/// seen.record(Arch::X86, 3, "/bin/cat", 1);
/// assert_eq!(seen.totals()[&(Arch::X86_64, 0)], 4);
/// assert_eq!(seen.arches(), [Arch::X86, Arch::X86_64].into());
/// assert_eq!(seen.calls().count(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observations {
    exes: Vec<String>,
    counts: BTreeMap<(Arch, u32, usize), u64>,
    unknown_arch: BTreeMap<(u32, u32), u64>,
    args: BTreeMap<(Arch, u32), BTreeSet<Vec<u64>>>,
}

impl Observations {
    fn exe_index(&mut self, exe: &str) -> usize {
        match self.exes.iter().position(|e| e == exe) {
            Some(i) => i,
            None => {
                self.exes.push(exe.to_string());
                self.exes.len() - 1
            }
        }
    }

    /// Count `count` calls of `nr` on `arch` by `exe`.
    pub fn record(&mut self, arch: Arch, nr: u32, exe: &str, count: u64) {
        let e = self.exe_index(exe);
        *self.counts.entry((arch, nr, e)).or_insert(0) += count;
    }

    /// Count calls from an architecture token sysgate does not know (they cannot go into a
    /// profile; the summary reports them).
    pub fn record_unknown_arch(&mut self, audit_arch: u32, nr: u32, count: u64) {
        *self.unknown_arch.entry((audit_arch, nr)).or_insert(0) += count;
    }

    /// Record one combination of flag-argument values for `nr` on `arch`, in the order of
    /// the indexes [`super::flag_args`] gives for it.
    pub fn record_args(&mut self, arch: Arch, nr: u32, values: Vec<u64>) {
        self.args.entry((arch, nr)).or_default().insert(values);
    }

    /// Every (ABI, number, executable) with its count, sorted by ABI, number, executable.
    pub fn calls(&self) -> impl Iterator<Item = CallCount<'_>> + '_ {
        self.counts
            .iter()
            .map(|(&(arch, nr, e), &count)| CallCount {
                arch,
                nr,
                name: arch.syscall_name(nr),
                exe: &self.exes[e],
                count,
            })
    }

    /// Counts per (ABI, number), over all executables.
    pub fn totals(&self) -> BTreeMap<(Arch, u32), u64> {
        let mut out = BTreeMap::new();
        for (&(arch, nr, _), &c) in &self.counts {
            *out.entry((arch, nr)).or_insert(0) += c;
        }
        out
    }

    /// The ABIs calls were seen on.
    pub fn arches(&self) -> BTreeSet<Arch> {
        self.counts.keys().map(|(a, _, _)| *a).collect()
    }

    /// The executables seen, in order of appearance.
    pub fn exes(&self) -> &[String] {
        &self.exes
    }

    /// Calls from architecture tokens sysgate does not know: (token, number) → count.
    pub fn unknown_arch(&self) -> &BTreeMap<(u32, u32), u64> {
        &self.unknown_arch
    }

    /// The flag-argument value combinations seen per (ABI, number).
    pub fn arg_values(&self) -> &BTreeMap<(Arch, u32), BTreeSet<Vec<u64>>> {
        &self.args
    }

    /// Whether nothing was seen.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.unknown_arch.is_empty()
    }

    /// Add everything `other` saw.
    pub fn absorb(&mut self, other: &Observations) {
        for c in other.calls() {
            self.record(c.arch, c.nr, c.exe, c.count);
        }
        for (&k, &c) in &other.unknown_arch {
            *self.unknown_arch.entry(k).or_insert(0) += c;
        }
        for (&k, v) in &other.args {
            self.args.entry(k).or_default().extend(v.iter().cloned());
        }
    }
}
