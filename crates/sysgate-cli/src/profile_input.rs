//! Reading a profile for a target (architecture, capabilities, kernel), shared by the
//! subcommands that take a PROFILE: a Docker/OCI/Podman JSON file, or the name of a built-in
//! profile (`docker-default`) when no file of that name exists.

use anyhow::Result;
use sysgate::arch::Arch;
use sysgate::policy::Policy;
use sysgate::profile::{self, builtin, docker, Loaded, Target};

use crate::bad_input;

/// The target a profile is resolved for, as Docker does.
#[derive(clap::Args, Debug, Default)]
pub struct TargetArgs {
    /// Target architecture (repeatable). A Docker archMap entry brings its subArchitectures
    /// (amd64 → x86_64, x86, x32). Default: the native one.
    #[arg(short = 'a', long = "arch", value_name = "ARCH")]
    arch: Vec<String>,

    /// Capabilities the container holds, comma-separated (CAP_SYS_ADMIN or sys_admin);
    /// replaces Docker's default set. Prefix with + to add to the default set instead.
    #[arg(long, value_name = "CAPS", value_delimiter = ',')]
    caps: Vec<String>,

    /// Kernel version "X.Y" that minKernel is checked against. Default: the running kernel.
    #[arg(long, value_name = "X.Y")]
    kernel: Option<String>,

    /// Refuse unknown syscall names instead of skipping them with a warning.
    #[arg(long)]
    strict: bool,
}

/// A profile resolved into one policy, with what is worth telling the user.
pub struct LoadedProfile {
    /// The policy.
    pub policy: Policy,
    /// Warnings from reading the profile.
    pub warnings: Vec<String>,
}

impl TargetArgs {
    /// The architectures asked for, parsed.
    pub fn arches(&self) -> Vec<Arch> {
        self.arch
            .iter()
            .filter_map(|a| Arch::parse(a).ok())
            .collect()
    }

    /// One target per architecture asked for (the native one by default), with the
    /// capabilities and kernel version asked for.
    pub fn targets(&self) -> Result<Vec<Target>> {
        let mut arches = Vec::new();
        for a in &self.arch {
            arches.push(Arch::parse(a).map_err(|e| bad_input(e.to_string()))?);
        }
        if arches.is_empty() {
            arches.push(Arch::native());
        }
        let kernel = match &self.kernel {
            Some(k) => Some(profile::parse_kernel_release(k).ok_or_else(|| {
                bad_input(format!("--kernel {k:?}: expected a version like 5.10"))
            })?),
            None => Target::running_kernel(),
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
}

/// The built-in profile names, for messages.
pub fn builtin_names() -> String {
    builtin::names().collect::<Vec<_>>().join(", ")
}

/// Read `path` (a file, or else a built-in profile's name) and resolve it for every target
/// architecture; the policies are merged.
pub fn load(path: &str, args: &TargetArgs) -> Result<LoadedProfile> {
    let is_file = std::path::Path::new(path).exists();
    let text = match (is_file, builtin::find(path)) {
        (false, Some(_)) => None,
        _ => Some(std::fs::read_to_string(path).map_err(|e| {
            bad_input(format!(
                "cannot read {path}: {e} (built-in profiles: {})",
                builtin_names()
            ))
        })?),
    };
    let options = if args.strict {
        docker::Options::strict()
    } else {
        docker::Options::default()
    };
    let mut merged: Option<LoadedProfile> = None;
    for target in args.targets()? {
        let loaded: Loaded = match &text {
            Some(text) => docker::parse_with(text, path, &target, &options)
                .map_err(|e| bad_input(e.to_string()))?,
            None => builtin::builtin(path, &target)
                .ok_or_else(|| bad_input(format!("no built-in profile {path:?}")))?,
        };
        match &mut merged {
            None => {
                merged = Some(LoadedProfile {
                    policy: loaded.policy,
                    warnings: loaded.warnings,
                })
            }
            Some(m) => {
                m.policy
                    .merge(&loaded.policy)
                    .map_err(|e| bad_input(format!("{path}: {e}")))?;
                for w in loaded.warnings {
                    if !m.warnings.contains(&w) {
                        m.warnings.push(w);
                    }
                }
            }
        }
    }
    merged.ok_or_else(|| bad_input("no target architecture"))
}
