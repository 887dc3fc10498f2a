//! Resolution of a Docker/OCI/Podman profile for a [`Target`]: the mirror types of
//! [`super::json`] into a [`Policy`], as moby's `setupSeccomp` and then runc read them
//! (conditional rules, actions and errno values, argument conditions, runc's ENOSYS rule,
//! attributes). See [`super`] for the rules in full.
//!
//! This module owns the meaning of a profile; it does not read JSON ([`super::json`]).

use std::fmt;

use serde::de;

use super::json::*;
use super::{DockerError, Listener, Loaded, ReadOptions, Target};
use crate::arch::{self, Arch};
use crate::policy::{Action, ArgCond, CmpOp, Policy, Rule};
use crate::profile::json_pos::{self, Pos, Seg};
use crate::profile::Location;

/// The names Docker profiles use for `arch` in `includes.arches`/`excludes.arches`: moby's
/// (`amd64`, `arm64`, `x86`, ..., `mips3l64n32` as moby spells it) and libseccomp-golang's,
/// which Podman uses (`mipsel64n32`, `loong64`). Empty for an architecture neither names.
///
/// ```
/// use sysgate::profile::docker::docker_arch_names;
/// use sysgate::Arch;
///
/// assert_eq!(docker_arch_names(Arch::X86_64), &["amd64"]);
/// assert_eq!(docker_arch_names(Arch::Aarch64), &["arm64"]);
/// assert!(docker_arch_names(Arch::Mipsel64n32).contains(&"mipsel64n32"));
/// ```
pub fn docker_arch_names(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86 => &["x86"],
        Arch::X86_64 => &["amd64"],
        Arch::X32 => &["x32"],
        Arch::Arm => &["arm"],
        Arch::Aarch64 => &["arm64"],
        Arch::Loongarch64 => &["loongarch64", "loong64"],
        Arch::M68k => &["m68k"],
        Arch::Mips => &["mips"],
        Arch::Mipsel => &["mipsel"],
        Arch::Mips64 => &["mips64"],
        Arch::Mipsel64 => &["mipsel64"],
        Arch::Mips64n32 => &["mips64n32"],
        Arch::Mipsel64n32 => &["mips3l64n32", "mipsel64n32"],
        Arch::Parisc => &["parisc"],
        Arch::Parisc64 => &["parisc64"],
        Arch::Ppc => &["ppc"],
        Arch::Ppc64 => &["ppc64"],
        Arch::Ppc64le => &["ppc64le"],
        Arch::Riscv64 => &["riscv64"],
        Arch::S390 => &["s390"],
        Arch::S390x => &["s390x"],
        Arch::Sh => &["sh"],
        Arch::Sheb => &["sheb"],
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution: the mirror types into a Policy for a Target.
// ---------------------------------------------------------------------------------------------

pub(super) struct Resolver<'a> {
    pub(super) text: &'a str,
    pub(super) source: &'a str,
    pub(super) target: &'a Target,
    pub(super) options: &'a ReadOptions,
    /// Where the profile object starts (inside `config.json` or not).
    pub(super) root: Pos,
    /// Whether the profile is `linux.seccomp` of a `config.json`, which runc reads by the
    /// runtime spec (no moby or Podman keys).
    pub(super) oci_config: bool,
    pub(super) warnings: Vec<String>,
    /// Every syscall name of the entries that apply to the target, for runc's ENOSYS rule.
    pub(super) named: Vec<String>,
}

impl Resolver<'_> {
    /// The location of the value at `path` in the profile object (or of the nearest
    /// enclosing value that exists).
    fn location(&self, path: &[Seg<'_>]) -> Location {
        nearest(self.text, self.source, self.root, path)
    }

    fn warn(&mut self, at: &Location, message: impl fmt::Display) {
        self.warnings.push(format!("{at}: {message}"));
    }

    /// Go's encoding/json ignores keys a struct lacks, so to Docker a misspelled key
    /// (`"sycalls"`) is no key at all: a deny list with that typo denies nothing. Every key
    /// of the profile object and the objects inside it is checked against the fields it can
    /// match (ignoring case, as Go matches them); one it cannot is a warning, or an error with
    /// [`ReadOptions::strict_keys`].
    pub(super) fn check_keys(&mut self) -> Result<(), DockerError> {
        let mut found = Vec::new();
        let walk = UnknownKeys {
            shape: if self.oci_config {
                Shape::OciProfile
            } else {
                Shape::Profile
            },
            list: false,
            path: &mut Vec::new(),
            found: &mut found,
        };
        let mut json = serde_json::Deserializer::from_str(&self.text[self.root.offset..]);
        if de::DeserializeSeed::deserialize(walk, &mut json).is_err() {
            return Ok(()); // the typed read accepted it; nothing more to say
        }
        // Each key is located from the start of its syscalls entry (found once for all of
        // them), not from the start of the profile: a million entries with an unknown key
        // each must not scan the profile a million times.
        let mut entries: Option<(String, Vec<Pos>)> = None;
        let mut found: Vec<(Location, String, Shape)> = found
            .into_iter()
            .filter_map(|(path, shape)| {
                let Some(Step::Key(key)) = path.last() else {
                    return None;
                };
                let segs: Vec<Seg<'_>> = path
                    .iter()
                    .map(|s| match s {
                        Step::Key(k) => Seg::Key(k),
                        Step::Index(i) => Seg::Index(*i),
                    })
                    .collect();
                let at = match segs.as_slice() {
                    [Seg::Key(list), Seg::Index(i), rest @ ..] => {
                        if entries.as_ref().is_none_or(|(k, _)| k != list) {
                            let starts =
                                json_pos::elements(self.text, self.root, &[Seg::Key(list)]);
                            entries = Some((list.to_string(), starts));
                        }
                        match entries.as_ref().and_then(|(_, starts)| starts.get(*i)) {
                            Some(&start) => nearest(self.text, self.source, start, rest),
                            None => self.location(&segs),
                        }
                    }
                    _ => self.location(&segs),
                };
                Some((at, key.clone(), shape))
            })
            .collect();
        found.sort_by_key(|(at, _, _)| (at.line, at.column));
        // A key written twice in one object is reported once.
        found.dedup_by(|a, b| a.0 == b.0);
        for (at, key, shape) in found {
            let expected = shape.fields().join(", ");
            if self.options.strict_keys {
                return Err(DockerError::UnknownKey {
                    at,
                    key: key.to_string(),
                    what: shape.what(),
                    expected,
                });
            }
            self.warn(
                &at,
                format_args!(
                    "unknown key {key:?} in {}: ignored, as {} (expected one of {expected})",
                    shape.what(),
                    if self.oci_config {
                        "runc ignores it there: the OCI runtime spec has no such key"
                    } else {
                        "Docker and runc ignore it"
                    }
                ),
            );
        }
        Ok(())
    }

    pub(super) fn resolve(mut self, profile: Profile) -> Result<Loaded, DockerError> {
        let entries = profile.syscalls.unwrap_or_default();
        let default_kind = match profile.default_action.and_then(|a| a.0) {
            Some(kind) => kind,
            None if entries.is_empty() => return Ok(self.unconfined()),
            None => {
                return Err(DockerError::MissingDefaultAction {
                    at: self.location(&[]),
                })
            }
        };
        let default_errno = errno_of(profile.default_errno, profile.default_errno_ret);
        let default = default_kind.with_errno(default_errno, self.target.arch);
        if default_errno.is_some() && !default_kind.takes_errno() {
            let at = self.location(&[Seg::Key("defaultErrnoRet")]);
            self.warn(
                &at,
                "an errno only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE; ignored",
            );
        }

        let mut policy = Policy::new(default);
        policy.attrs.bad_arch = Action::KillThread;
        self.set_arches(&mut policy, profile.architectures, profile.arch_map)?;
        match profile.flags {
            None => policy.attrs.flags.spec_allow = true,
            Some(flags) => flags.iter().for_each(|f| policy.attrs.flags.set(*f, true)),
        }
        let listener = self.listener(profile.listener_path, profile.listener_metadata);

        let positions = json_pos::elements(self.text, self.root, &[Seg::Key("syscalls")]);
        for (i, Obj(entry)) in entries.into_iter().enumerate() {
            // Every entry has a position; the fallback only keeps this total.
            let pos = positions.get(i).copied().unwrap_or(self.root);
            self.add_entry(&mut policy, entry, pos)?;
        }
        if !matches!(
            default_kind,
            ActionKind::Allow | ActionKind::Log | ActionKind::Trace
        ) {
            policy.attrs.enosys_above =
                runc_enosys_thresholds(policy.arches(), self.named.iter().map(String::as_str));
        }
        if policy.notifies() {
            policy.attrs.flags.new_listener = true;
        }
        // runc refuses both (it writes the notification fd to its parent with write()).
        if default == Action::UserNotif {
            let at = self.location(&[Seg::Key("defaultAction")]);
            self.warn(
                &at,
                "runc refuses SCMP_ACT_NOTIFY as the default action and does not start the \
                 container; sysgate reads it as written",
            );
        }
        if let Some(r) = policy
            .rules()
            .iter()
            .find(|r| r.action == Action::UserNotif && r.syscall == "write".into())
        {
            let at = r.origin.clone().unwrap_or_default();
            self.warnings.push(format!(
                "{at}: runc refuses SCMP_ACT_NOTIFY for write and does not start the \
                 container; sysgate reads it as written"
            ));
        }
        let default_origin = Some(self.location(&[Seg::Key("defaultAction")]).to_string());
        Ok(Loaded {
            policy,
            warnings: self.warnings,
            listener,
            default_origin,
        })
    }

    /// Docker runs a profile with no default action and no rules without seccomp.
    fn unconfined(mut self) -> Loaded {
        let mut policy = Policy::new(Action::Allow);
        // One architecture cannot mix byte orders.
        let _ = policy.set_arches([self.target.arch]);
        let at = self.location(&[]);
        self.warn(
            &at,
            "no \"defaultAction\" and no \"syscalls\": Docker runs such a container without \
             seccomp, so the policy allows everything",
        );
        Loaded {
            policy,
            warnings: self.warnings,
            listener: None,
            default_origin: Some(at.to_string()),
        }
    }

    fn set_arches(
        &self,
        policy: &mut Policy,
        architectures: Option<Vec<ArchName>>,
        arch_map: Option<Vec<Obj<ArchMapEntry>>>,
    ) -> Result<(), DockerError> {
        let architectures = architectures.unwrap_or_default();
        let arch_map = arch_map.unwrap_or_default();
        if !architectures.is_empty() && !arch_map.is_empty() {
            return Err(DockerError::ArchitecturesAndArchMap {
                at: self.location(&[Seg::Key("archMap")]),
            });
        }
        // The native architecture is always in the filter (libseccomp starts with it).
        let mut arches = vec![self.target.arch];
        let field = if architectures.is_empty() {
            let mut entries = arch_map.iter().map(|e| &e.0);
            if let Some(entry) = entries.find(|e| e.architecture.0 == self.target.arch) {
                let subs = entry.sub_architectures.iter().flatten();
                arches.extend(subs.map(|a| a.0));
            }
            "archMap"
        } else {
            arches.extend(architectures.iter().map(|a| a.0));
            "architectures"
        };
        policy
            .set_arches(arches)
            .map_err(|source| DockerError::Policy {
                at: self.location(&[Seg::Key(field)]),
                source,
            })
    }

    fn listener(&mut self, path: Option<String>, metadata: Option<String>) -> Option<Listener> {
        let path = path.unwrap_or_default();
        let metadata = metadata.unwrap_or_default();
        if path.is_empty() && !metadata.is_empty() {
            let at = self.location(&[Seg::Key("listenerMetadata")]);
            self.warn(
                &at,
                "\"listenerMetadata\" without \"listenerPath\" is never sent",
            );
        }
        (!path.is_empty()).then_some(Listener { path, metadata })
    }

    /// Whether moby keeps this entry for the target (see the module docs).
    fn applies(&self, includes: Option<&Filter>, excludes: Option<&Filter>) -> bool {
        let names = docker_arch_names(self.target.arch);
        let names_arch =
            |list: &Option<Vec<String>>| list.iter().flatten().any(|a| names.contains(&a.as_str()));
        // Whether the kernel is at least `minKernel` (`None` without one). A kernel of unknown
        // version counts as newer than any.
        let kernel_at_least = |min: &Option<MinKernel>| {
            let min = min.as_ref().and_then(|m| m.0)?;
            Some(self.target.kernel.is_none_or(|k| k >= min))
        };
        if let Some(ex) = excludes {
            if names_arch(&ex.arches)
                || ex.caps.iter().flatten().any(|c| self.target.holds(c))
                || kernel_at_least(&ex.min_kernel) == Some(true)
            {
                return false;
            }
        }
        if let Some(inc) = includes {
            let arches_listed = inc.arches.as_ref().is_some_and(|a| !a.is_empty());
            if (arches_listed && !names_arch(&inc.arches))
                || inc.caps.iter().flatten().any(|c| !self.target.holds(c))
                || kernel_at_least(&inc.min_kernel) == Some(false)
            {
                return false;
            }
        }
        true
    }

    /// Add the rules of one `syscalls[]` entry, which starts at `pos`.
    fn add_entry(
        &mut self,
        policy: &mut Policy,
        entry: SyscallEntry,
        pos: Pos,
    ) -> Result<(), DockerError> {
        let at = &Location::new(self.source, pos.line, pos.column);
        let single = entry.name.filter(|n| !n.is_empty());
        let names: Vec<(String, Seg<'static>, Option<usize>)> = match (single, entry.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err(DockerError::NameAndNames { at: at.clone() })
            }
            (Some(name), _) => vec![(name, Seg::Key("name"), None)],
            (None, names) => names
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(j, n)| (n.0, Seg::Key("names"), Some(j)))
                .collect(),
        };
        let (includes, excludes) = (
            entry.includes.map(|f| (*f).0),
            entry.excludes.map(|f| (*f).0),
        );
        if !self.applies(includes.as_ref(), excludes.as_ref()) {
            return Ok(());
        }
        // runc's ENOSYS threshold counts every name moby passes on, also those of rules it
        // then drops for having the default action.
        self.named.extend(names.iter().map(|(n, _, _)| n.clone()));
        if names.is_empty() {
            self.warn(at, "this rule names no syscall");
            return Ok(());
        }
        let errno = errno_of(entry.errno, entry.errno_ret);
        if errno.is_some() && !entry.action.takes_errno() {
            self.warn(
                at,
                "an errno only applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE; ignored",
            );
        }
        let action = entry.action.with_errno(errno, self.target.arch);
        let low_word_arches: Vec<Arch> = policy
            .arches()
            .iter()
            .copied()
            .filter(|a| !a.args_are_64bit() || *a == Arch::X32)
            .collect();
        let cond_sets = self.condition_sets(
            entry.args.unwrap_or_default(),
            at,
            action,
            policy.default_action(),
        );
        if action != policy.default_action() && !low_word_arches.is_empty() {
            self.warn_above_32_bits(at, &cond_sets, &low_word_arches);
        }
        // On x32 libseccomp compares only an argument's low word, sysgate both: a refusing
        // rule with conditions then lets through, on x32, calls whose argument has high bits
        // set that libseccomp refuses.
        let refuses = action.precedence() < policy.default_action().precedence();
        if refuses
            && policy.arches().contains(&Arch::X32)
            && cond_sets.iter().any(|c| !c.is_empty())
        {
            self.warn(
                at,
                "on x32 libseccomp compares only the low 32 bits of an argument, sysgate all \
                 64: this rule does not refuse an x32 call whose argument has high bits set, \
                 where libseccomp's filter refuses it",
            );
        }

        let mut kept = Vec::new();
        for (name, seg, j) in names {
            if !arch::is_known_syscall(&name) {
                let name_at = match j {
                    Some(j) => nearest(self.text, self.source, pos, &[seg, Seg::Index(j)]),
                    None => nearest(self.text, self.source, pos, &[seg]),
                };
                if self.options.strict_names {
                    return Err(DockerError::UnknownSyscall { at: name_at, name });
                }
                self.warn(&name_at, format_args!("unknown syscall {name:?} skipped"));
                continue;
            }
            let on_target = policy
                .arches()
                .iter()
                .any(|a| a.syscall_number(&name).is_some() || a.multiplexed(&name).is_some());
            if !on_target {
                let arches: Vec<&str> = policy.arches().iter().map(|a| a.name()).collect();
                self.warn(
                    at,
                    format_args!(
                        "syscall {name:?} does not exist on {}; skipped",
                        arches.join(", ")
                    ),
                );
                continue;
            }
            kept.push(name);
        }
        // runc skips a rule with the default action (libseccomp would refuse it), comparing
        // the numbers the host gives them.
        let host = self.target.arch;
        if action.for_arch(host) == policy.default_action().for_arch(host) {
            return Ok(());
        }
        for name in kept {
            for conds in &cond_sets {
                let rule = Rule::new(action, name.as_str())
                    .with_conds(conds.iter().copied())
                    .with_origin(at.to_string());
                policy
                    .add_rule(rule)
                    .map_err(|source| DockerError::Policy {
                        at: at.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// libseccomp compares only the low 32 bits of a constant on 32-bit ABIs (and x32); sysgate
    /// compares the whole value (the argument's high word is zero there, so `a0 == 0x100000005`
    /// never holds where libseccomp reads `a0 == 5`). One warning per entry that has such a
    /// constant, naming the ABIs where the readings differ.
    fn warn_above_32_bits(&mut self, at: &Location, cond_sets: &[Vec<ArgCond>], arches: &[Arch]) {
        let wide = cond_sets.iter().flatten().find(|c| {
            let mask = match c.op() {
                CmpOp::MaskedEq(m) => m,
                _ => 0,
            };
            (c.value() | mask) > u64::from(u32::MAX)
        });
        if let Some(c) = wide {
            let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
            self.warn(
                at,
                format_args!(
                    "a{} is compared with a constant or mask above 32 bits ({}); on {} \
                     libseccomp compares only the low 32 bits, sysgate the whole value, so \
                     this rule matches differently there",
                    c.arg(),
                    c,
                    names.join(", ")
                ),
            );
        }
    }

    /// The conditions of one entry as sets of ANDed conditions (one rule each).
    ///
    /// With no repeated index, one rule ANDs them all (runc and the plain reading agree). With
    /// an index that repeats and no other index, each condition is a rule of its own, ORed
    /// (again both agree). With a repeated index *and* other indexes the readings differ:
    /// runc adds every condition as a rule of its own (all ORed), the plain reading ORs the
    /// conditions of one index and ANDs the indexes (one rule per combination). sysgate takes
    /// whichever permits less: the combinations for a rule more permissive than `default`
    /// (an allow), runc's all-ORed rules for one more restrictive (a deny), and warns.
    fn condition_sets(
        &mut self,
        args: Vec<Obj<Arg>>,
        at: &Location,
        action: Action,
        default: Action,
    ) -> Vec<Vec<ArgCond>> {
        let mut conds: Vec<ArgCond> = Vec::with_capacity(args.len());
        for Obj(a) in &args {
            let (op, value) = match a.op {
                // OCI: `value` is the mask, `valueTwo` what the masked argument must be, which
                // libseccomp masks too.
                CmpOp::MaskedEq(_) => {
                    let (mask, expected) = (a.value.0, a.value_two.0);
                    // The index was checked while parsing (0..=5), so this cannot fail.
                    let Ok((c, dropped)) =
                        ArgCond::masked_eq_like_libseccomp(a.index.0, mask, expected)
                    else {
                        continue;
                    };
                    if dropped != 0 {
                        self.warn(at, masked_eq_warning(a.index.0, mask, expected));
                    }
                    conds.push(c);
                    continue;
                }
                op => (op, a.value.0),
            };
            // The index was checked while parsing (0..=5), so this cannot fail.
            conds.extend(ArgCond::new(a.index.0, op, value).ok());
        }
        let mut per_index: [Vec<ArgCond>; 6] = Default::default();
        for c in &conds {
            per_index[c.arg()].push(*c);
        }
        if per_index.iter().all(|v| v.len() <= 1) {
            return vec![conds];
        }
        let runc_reading: Vec<Vec<ArgCond>> = conds.iter().map(|c| vec![*c]).collect();
        if per_index.iter().filter(|v| !v.is_empty()).count() == 1 {
            return runc_reading;
        }
        if action.precedence() > default.precedence() {
            self.warn(
                at,
                "an argument index repeats alongside other indexes: runc ORs every condition, \
                 which would permit more; sysgate ORs the conditions of one index and ANDs the \
                 indexes, the narrower reading",
            );
            let mut combos: Vec<Vec<ArgCond>> = vec![Vec::new()];
            for choices in per_index.iter().filter(|v| !v.is_empty()) {
                combos = combos
                    .iter()
                    .flat_map(|combo| {
                        choices.iter().map(move |c| {
                            let mut next = combo.clone();
                            next.push(*c);
                            next
                        })
                    })
                    .collect();
            }
            combos
        } else {
            self.warn(
                at,
                "an argument index repeats alongside other indexes: runc adds each condition \
                 as a rule of its own, so all of them are ORed; sysgate keeps runc's reading, \
                 which denies more than ANDing the indexes",
            );
            runc_reading
        }
    }
}

/// runc's ENOSYS thresholds (`findLastSyscalls` in runc's `patchbpf`): for each of `arches`,
/// the largest number any of `names` has there. An ABI where none of them exists gets no
/// threshold (runc warns and leaves it out). Names are looked up as direct syscalls: a call
/// reached only through `socketcall`/`ipc` has no number of its own (libseccomp gives it a
/// negative pseudo-number, which never counts).
///
/// ```
/// use sysgate::profile::docker::runc_enosys_thresholds;
/// use sysgate::Arch;
///
/// let t = runc_enosys_thresholds(&[Arch::X86_64, Arch::X86], ["read", "openat2", "rt_sigreturn"]);
/// assert_eq!(t[&Arch::X86_64], 437); // openat2
/// assert_eq!(t[&Arch::X86], 437);
/// ```
pub fn runc_enosys_thresholds<'a>(
    arches: &[Arch],
    names: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeMap<Arch, u32> {
    let ids: Vec<arch::SyscallId> = names
        .into_iter()
        .filter_map(arch::SyscallId::from_name)
        .collect();
    arches
        .iter()
        .filter_map(|&a| {
            let largest = ids.iter().filter_map(|id| a.syscall_number_of(*id)).max()?;
            (largest > 0).then_some((a, largest))
        })
        .collect()
}

/// The warning for a `SCMP_CMP_MASKED_EQ` whose expected value has bits outside its mask
/// (see [`ArgCond::masked_eq_like_libseccomp`]); LXC's reader says the same.
pub(crate) fn masked_eq_warning(arg: u32, mask: u64, expected: u64) -> String {
    format!(
        "SCMP_CMP_MASKED_EQ on argument {arg} expects {expected:#x}, which has bits {:#x} \
         outside the mask {mask:#x}: libseccomp masks the expected value too, so the condition \
         is (a{arg} & {mask:#x}) == {:#x}, and sysgate reads it so",
        expected & !mask,
        expected & mask
    )
}

/// Podman's `errno` wins over `errnoRet` when given.
fn errno_of(name: Option<ErrnoName>, ret: Option<ErrnoRet>) -> Option<ErrnoSpec> {
    name.and_then(|n| n.0)
        .or(ret.map(|e| ErrnoSpec::Number(e.0)))
}
