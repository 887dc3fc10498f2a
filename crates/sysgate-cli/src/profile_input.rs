//! Reading a profile for a target (architecture, capabilities, kernel), shared by the
//! subcommands that take a PROFILE. The format is detected from the content (or named with
//! `--from`); `systemd:@set` names a built-in profile, and `-` standard input.

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::kernel::KernelVersion;
use sysgate::policy::Policy;
use sysgate::profile::detect::{self, Format, ReadOptions};
use sysgate::profile::systemd_sets::SystemdVersion;
use sysgate::profile::{Listener, Target};

use crate::bad_input;
use crate::output;

/// The target a profile is resolved for, as Docker does, and how to read it.
#[derive(clap::Args, Debug, Default)]
pub struct TargetArgs {
    /// Target architecture (repeatable). A Docker archMap entry brings its subArchitectures
    /// (amd64 → x86_64, x86, x32); systemd and LXC bring the ABIs they filter on that machine.
    /// Default: the native one.
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    arch: Vec<String>,

    /// Capabilities the container holds, comma-separated (CAP_SYS_ADMIN or sys_admin);
    /// replaces Docker's default set. Prefix with + to add to the default set instead.
    #[arg(long, value_name = "CAPS", value_delimiter = ',')]
    caps: Vec<String>,

    /// Kernel version "X.Y" that minKernel is checked against. Default: the running kernel.
    #[arg(long, value_name = "X.Y")]
    kernel: Option<String>,

    /// Refuse unknown syscall names (Docker/OCI/Podman) and unknown or misspelled keys
    /// ("sycalls", SystemCallFilters=) instead of skipping them with a warning.
    #[arg(long)]
    strict: bool,

    /// The input's format, instead of detecting it: docker, oci, podman, systemd, lxc, k8s.
    #[arg(long, value_name = "FORMAT")]
    from: Option<String>,

    /// systemd version whose syscall sets and names apply, reading and writing: newest or 252.
    /// Written for 252, only the names its libseccomp knows are used.
    #[arg(long, value_name = "VERSION", default_value = "newest")]
    systemd_version: String,

    /// Kubernetes: a file, or a directory of YAML files, holding the profiles that
    /// baseProfileName refers to.
    #[arg(long, value_name = "FILE|DIR")]
    base: Option<String>,

    /// Kubernetes: which SeccompProfile of a file with several (metadata.name).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

/// A profile resolved into one policy, with what is worth telling the user.
pub struct LoadedProfile {
    /// The policy.
    pub policy: Policy,
    /// Warnings from reading the profile.
    pub warnings: Vec<String>,
    /// The format it was read as.
    pub format: Format,
    /// The user-notification listener it names.
    pub listener: Option<Listener>,
    /// Its name (Kubernetes), if it has one.
    pub name: Option<String>,
    /// Where its default action is set (`file:line:column`), if the format says.
    pub default_origin: Option<String>,
}

/// How many warnings a command prints before it sums up the rest (a generated profile can
/// have a distinct warning for each of a million rules).
pub const WARNINGS_SHOWN: usize = 100;

/// `warnings` as a command prints them: all with `all`, else the first [`WARNINGS_SHOWN`]
/// and a line counting the others (`hint` says how to see them, if the command can).
pub fn shown_warnings<'w>(
    warnings: &'w [String],
    all: bool,
    hint: &str,
) -> impl Iterator<Item = std::borrow::Cow<'w, str>> {
    let shown = if all { warnings.len() } else { WARNINGS_SHOWN };
    let rest = warnings.len().saturating_sub(shown);
    let more = (rest > 0).then(|| format!("{rest} more warnings not shown{hint}").into());
    warnings
        .iter()
        .take(shown)
        .map(|w| std::borrow::Cow::Borrowed(w.as_str()))
        .chain(more)
}

impl TargetArgs {
    /// The architectures asked for, parsed.
    pub fn arches(&self) -> Vec<Arch> {
        self.arch
            .iter()
            .filter_map(|a| Arch::parse(a).ok())
            .collect()
    }

    /// The systemd version `--systemd-version` names.
    pub fn systemd_version(&self) -> Result<SystemdVersion> {
        SystemdVersion::parse(&self.systemd_version).ok_or_else(|| {
            bad_input(format!(
                "--systemd-version {:?}: expected newest or 252",
                self.systemd_version
            ))
        })
    }

    /// The capabilities the target holds (Docker's default set unless `--caps` changes it),
    /// spelled `CAP_*`.
    pub fn caps(&self) -> Result<std::collections::BTreeSet<String>> {
        Ok(self
            .targets()?
            .into_iter()
            .next()
            .map(|t| t.caps)
            .unwrap_or_default())
    }

    fn targets(&self) -> Result<Vec<Target>> {
        let mut arches = Vec::new();
        for a in &self.arch {
            arches.push(Arch::parse(a).map_err(|e| bad_input(e.to_string()))?);
        }
        if arches.is_empty() {
            arches.push(Arch::native());
        }
        let kernel = match &self.kernel {
            Some(k) => Some(KernelVersion::parse(k).ok_or_else(|| {
                bad_input(format!("--kernel {k:?}: expected a version like 5.10"))
            })?),
            None => KernelVersion::running(),
        };
        Ok(arches
            .into_iter()
            .map(|arch| {
                let mut t = Target::docker_default(arch).with_kernel(kernel);
                let replace = self.caps.iter().any(|c| !c.starts_with('+'));
                if replace {
                    t.caps.clear();
                }
                for c in &self.caps {
                    t = t.with_cap(c.trim_start_matches('+'));
                }
                t
            })
            .collect())
    }

    fn read_options(&self) -> Result<ReadOptions> {
        let mut o = ReadOptions::default();
        if let Some(f) = &self.from {
            o.from = Some(
                f.parse::<Format>()
                    .map_err(|e| bad_input(format!("--from: {e}")))?,
            );
        }
        o.strict_names = self.strict;
        o.systemd = sysgate::profile::systemd::ReadOptions::for_version(self.systemd_version()?);
        o.systemd.strict_keys = self.strict;
        if let Some(b) = &self.base {
            o.k8s = sysgate::profile::k8s::ReadOptions::with_base(b);
        }
        Ok(o)
    }
}

/// Read `path` (`-`: standard input, read once) and resolve every profile it holds for
/// every target architecture (the policies of one profile are merged across architectures).
pub fn load_all(path: &str, args: &TargetArgs) -> Result<Vec<LoadedProfile>> {
    let options = args.read_options()?;
    let targets = args.targets()?;
    let stdin = if path == "-" {
        let bytes = output::read_stdin()?;
        Some(
            String::from_utf8(bytes)
                .map_err(|_| bad_input(format!("{}: not UTF-8 text", output::STDIN_NAME)))?,
        )
    } else {
        None
    };
    let path = if stdin.is_some() {
        output::STDIN_NAME
    } else {
        path
    };
    let mut merged: Vec<LoadedProfile> = Vec::new();
    for target in targets {
        let read = match &stdin {
            Some(text) => detect::read_text(text, path, &target, &options),
            None => detect::read(path, &target, &options),
        }
        .map_err(|e| bad_input(e.to_string()))?;
        let profiles: Vec<_> = read
            .profiles
            .into_iter()
            // --name picks among named profiles (Kubernetes); an unnamed one is the file's only.
            .filter(|p| args.name.is_none() || p.name.is_none() || p.name == args.name)
            .collect();
        if profiles.is_empty() {
            return Err(bad_input(match &args.name {
                Some(n) => format!("{path}: no profile named {n:?}"),
                None => format!("{path}: no seccomp profile in it"),
            }));
        }
        for (i, p) in profiles.into_iter().enumerate() {
            match merged.get_mut(i) {
                None => merged.push(LoadedProfile {
                    policy: p.loaded.policy,
                    warnings: p.loaded.warnings,
                    format: read.format,
                    listener: p.loaded.listener,
                    name: p.name,
                    default_origin: p.loaded.default_origin,
                }),
                Some(m) => {
                    m.policy
                        .merge(&p.loaded.policy)
                        .map_err(|e| bad_input(format!("{path}: {e}")))?;
                    // The same file read for another architecture repeats most warnings.
                    let known: std::collections::HashSet<&String> = m.warnings.iter().collect();
                    let new: Vec<String> = p
                        .loaded
                        .warnings
                        .into_iter()
                        .filter(|w| !known.contains(w))
                        .collect();
                    m.warnings.extend(new);
                }
            }
        }
    }
    Ok(merged)
}

/// Read `path` and resolve its one profile for every target architecture; the policies are
/// merged.
pub fn load(path: &str, args: &TargetArgs) -> Result<LoadedProfile> {
    let mut all = load_all(path, args)?;
    if all.len() > 1 {
        let names: Vec<String> = all.iter().filter_map(|p| p.name.clone()).collect();
        return Err(bad_input(format!(
            "{path} holds {} profiles ({}): pick one with --name",
            all.len(),
            names.join(", ")
        )));
    }
    Ok(all.remove(0))
}
