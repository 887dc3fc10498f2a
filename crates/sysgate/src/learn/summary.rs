//! The end-of-run summary: how many syscalls, the most frequent ones, and the dangerous
//! ones that were used.
//!
//! This file owns the list of dangerous syscalls and what makes each one dangerous. It
//! reads [`Observations`]; it changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::observe::Observations;
use crate::arch::Arch;

/// Syscalls worth a second look when a learned profile allows them, with the reason.
/// Each one either reaches into other processes or the kernel (ptrace, bpf, module and
/// kexec loading), changes what the process can see or become (mount, namespaces), or has
/// been a frequent source of kernel exploits (userfaultfd, perf_event_open, io_uring,
/// keyctl).
pub const DANGEROUS: &[(&str, &str)] = &[
    ("ptrace", "controls and reads other processes"),
    ("process_vm_readv", "reads another process's memory"),
    ("process_vm_writev", "writes another process's memory"),
    ("bpf", "loads eBPF programs into the kernel"),
    (
        "perf_event_open",
        "kernel performance counters; a frequent exploit vector",
    ),
    (
        "userfaultfd",
        "user-space page-fault handling; used to win kernel races",
    ),
    (
        "io_uring_setup",
        "io_uring: a second syscall interface seccomp does not filter",
    ),
    (
        "io_uring_enter",
        "io_uring: a second syscall interface seccomp does not filter",
    ),
    (
        "io_uring_register",
        "io_uring: a second syscall interface seccomp does not filter",
    ),
    ("keyctl", "kernel keyrings, not namespaced"),
    ("add_key", "kernel keyrings, not namespaced"),
    ("request_key", "kernel keyrings, not namespaced"),
    ("mount", "changes the mount table"),
    ("umount2", "changes the mount table"),
    ("umount", "changes the mount table"),
    ("move_mount", "changes the mount table"),
    ("open_tree", "clones mounts"),
    ("fsopen", "creates filesystem contexts"),
    ("fsmount", "creates mounts"),
    ("pivot_root", "changes the root filesystem"),
    ("chroot", "changes the root directory"),
    (
        "unshare",
        "creates namespaces (user namespaces open much kernel surface)",
    ),
    ("setns", "enters other namespaces"),
    ("init_module", "loads kernel modules"),
    ("finit_module", "loads kernel modules"),
    ("delete_module", "unloads kernel modules"),
    ("kexec_load", "replaces the running kernel"),
    ("kexec_file_load", "replaces the running kernel"),
    (
        "open_by_handle_at",
        "opens files by handle, bypassing path checks (container escapes)",
    ),
    (
        "name_to_handle_at",
        "file handles (pairs with open_by_handle_at)",
    ),
    ("reboot", "reboots or halts the machine"),
    ("swapon", "changes swap"),
    ("swapoff", "changes swap"),
    ("settimeofday", "sets the system clock"),
    ("clock_settime", "sets the system clock"),
    ("adjtimex", "adjusts the system clock"),
    ("iopl", "raw I/O port access"),
    ("ioperm", "raw I/O port access"),
    ("acct", "process accounting"),
    ("quotactl", "filesystem quotas"),
    ("lookup_dcookie", "kernel profiling cookies"),
    ("vm86", "virtual 8086 mode"),
    ("vm86old", "virtual 8086 mode"),
];

/// Why `name` is dangerous, if it is on the [`DANGEROUS`] list.
pub fn dangerous(name: &str) -> Option<&'static str> {
    DANGEROUS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// A dangerous syscall that was used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DangerousUse {
    /// Its name.
    pub name: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// How many calls.
    pub count: u64,
    /// The executables that made them.
    pub exes: BTreeSet<String>,
}

/// What a learning run saw, in numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Distinct syscalls, per ABI.
    pub distinct: BTreeMap<Arch, usize>,
    /// All calls counted.
    pub calls: u64,
    /// Executables seen.
    pub exes: usize,
    /// The most frequent calls: ABI, name (or number), count.
    pub top: Vec<(Arch, String, u64)>,
    /// Dangerous syscalls that were used.
    pub dangerous: Vec<DangerousUse>,
    /// The syscalls seen (by name), grouped by the smallest systemd syscall set that holds
    /// each (newest systemd; `@known` and `@default` only when no other set has the name),
    /// sets with more members first; names no set has come last under `None`.
    pub by_set: Vec<(Option<&'static str>, Vec<String>)>,
}

/// The smallest systemd set (newest systemd) that holds `name`, preferring any set over
/// the catch-alls `@known` and `@default`.
fn home_set(name: &str) -> Option<&'static str> {
    use crate::profile::systemd_sets::{sets, SystemdVersion};
    let holding = || {
        sets(SystemdVersion::Newest)
            .iter()
            .filter(|s| s.syscalls.contains(&name))
    };
    holding()
        .filter(|s| s.name != "@known" && s.name != "@default")
        .min_by_key(|s| s.syscalls.len())
        .or_else(|| holding().min_by_key(|s| s.syscalls.len()))
        .map(|s| s.name)
}

/// Summarise `seen`, keeping the `top` most frequent calls.
///
/// ```
/// use sysgate::learn::{summarize, Observations};
/// use sysgate::Arch;
///
/// let mut seen = Observations::default();
/// seen.record(Arch::X86_64, 0, "/bin/cat", 30); // read
/// seen.record(Arch::X86_64, 101, "/usr/bin/gdb", 2); // ptrace
/// let s = summarize(&seen, 10);
/// assert_eq!(s.calls, 32);
/// assert_eq!(s.top[0].1, "read");
/// assert_eq!(s.dangerous[0].name, "ptrace");
/// ```
pub fn summarize(seen: &Observations, top: usize) -> Summary {
    let totals = seen.totals();
    let mut distinct: BTreeMap<Arch, usize> = BTreeMap::new();
    for &(arch, _) in totals.keys() {
        *distinct.entry(arch).or_insert(0) += 1;
    }
    let mut ranked: Vec<(Arch, String, u64)> = totals
        .iter()
        .map(|(&(arch, nr), &c)| {
            let name = arch
                .syscall_name(nr)
                .map_or_else(|| format!("#{nr}"), str::to_string);
            (arch, name, c)
        })
        .collect();
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    ranked.truncate(top);

    let mut dangerous_uses: BTreeMap<&'static str, DangerousUse> = BTreeMap::new();
    for call in seen.calls() {
        let Some(name) = call.name else { continue };
        let Some(why) = dangerous(name) else { continue };
        let d = dangerous_uses.entry(name).or_insert_with(|| DangerousUse {
            name,
            why,
            count: 0,
            exes: BTreeSet::new(),
        });
        d.count += call.count;
        d.exes.insert(call.exe.to_string());
    }
    let mut groups: BTreeMap<Option<&'static str>, BTreeSet<String>> = BTreeMap::new();
    for &(arch, nr) in totals.keys() {
        if let Some(name) = arch.syscall_name(nr) {
            groups
                .entry(home_set(name))
                .or_default()
                .insert(name.to_string());
        }
    }
    let mut by_set: Vec<(Option<&'static str>, Vec<String>)> = groups
        .into_iter()
        .map(|(set, names)| (set, names.into_iter().collect()))
        .collect();
    by_set.sort_by(|a, b| {
        (a.0.is_none(), std::cmp::Reverse(a.1.len()), a.0).cmp(&(
            b.0.is_none(),
            std::cmp::Reverse(b.1.len()),
            b.0,
        ))
    });
    Summary {
        distinct,
        calls: totals.values().sum(),
        exes: seen.exes().len(),
        top: ranked,
        dangerous: dangerous_uses.into_values().collect(),
        by_set,
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_arch: Vec<String> = self
            .distinct
            .iter()
            .map(|(a, n)| format!("{n} on {a}"))
            .collect();
        writeln!(
            f,
            "{} distinct syscalls ({}), {} calls, {} executables",
            self.distinct.values().sum::<usize>(),
            if per_arch.is_empty() {
                "none".to_string()
            } else {
                per_arch.join(", ")
            },
            self.calls,
            self.exes
        )?;
        if !self.top.is_empty() {
            let top: Vec<String> = self
                .top
                .iter()
                .map(|(a, n, c)| {
                    if *a == Arch::native() {
                        format!("{n} {c}")
                    } else {
                        format!("{n}/{a} {c}")
                    }
                })
                .collect();
            writeln!(f, "most frequent: {}", top.join(", "))?;
        }
        if self.dangerous.is_empty() {
            writeln!(f, "dangerous syscalls used: none")?;
        } else {
            writeln!(f, "dangerous syscalls used:")?;
            for d in &self.dangerous {
                let exes: Vec<&str> = d.exes.iter().map(String::as_str).collect();
                writeln!(
                    f,
                    "  {} ({} calls, by {}): {}",
                    d.name,
                    d.count,
                    exes.join(", "),
                    d.why
                )?;
            }
        }
        if !self.by_set.is_empty() {
            writeln!(f, "by systemd set:")?;
            for (set, names) in &self.by_set {
                writeln!(
                    f,
                    "  {} ({}): {}",
                    set.unwrap_or("(in no set)"),
                    names.len(),
                    names.join(" ")
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syscalls_are_grouped_by_their_smallest_systemd_set() {
        let mut seen = Observations::default();
        seen.record(Arch::X86_64, 0, "/bin/a", 3); // read: @basic-io
        seen.record(Arch::X86_64, 1, "/bin/a", 1); // write: @basic-io
        seen.record(Arch::X86_64, 165, "/bin/a", 1); // mount: @mount
        seen.record(Arch::X86, 3, "/bin/a", 1); // read again, on i386: counted once
        let s = summarize(&seen, 10);
        assert_eq!(
            s.by_set,
            vec![
                (
                    Some("@basic-io"),
                    vec!["read".to_string(), "write".to_string()]
                ),
                (Some("@mount"), vec!["mount".to_string()]),
            ]
        );
        let text = s.to_string();
        assert!(
            text.contains("by systemd set:\n  @basic-io (2): read write\n  @mount (1): mount"),
            "{text}"
        );
        assert!(!text.contains("needs the systemd tables"));
    }
}
