//! Name and number resolution compared with libseccomp.so.2 (2.5.4 on these machines) on
//! every architecture. libseccomp 2.5.4's table is older than ours (kernel 6.x vs 7.1), so a
//! name it does not know (-1) is skipped; every other answer must be identical.

mod support;

use support::libseccomp;
use sysgate::arch::Arch;

/// Entries where libseccomp's newer table (the one we generate from) differs from 2.5.4's:
/// parisc64 has no `_llseek`, x32 gained `map_shadow_stack`.
const TABLE_CHANGES_SINCE_2_5_4: &[(Arch, &str)] =
    &[(Arch::Parisc64, "_llseek"), (Arch::X32, "map_shadow_stack")];

#[test]
fn names_resolve_like_libseccomp_on_every_arch() {
    let Some(lib) = libseccomp::open() else {
        return;
    };
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for arch in Arch::ALL {
        let token = arch.libseccomp_token();
        for table in sysgate::arch::tables::all() {
            for (name, _) in table.iter() {
                let name = &name;
                let theirs = lib.resolve_name_arch(token, name);
                if theirs == -1 {
                    continue; // newer than libseccomp 2.5.4
                }
                if TABLE_CHANGES_SINCE_2_5_4.contains(&(arch, *name)) {
                    continue;
                }
                compared += 1;
                let ours = arch.libseccomp_resolve_name(name);
                if ours != theirs {
                    mismatches.push(format!("{arch} {name}: ours {ours}, libseccomp {theirs}"));
                }
                let ours_t = arch.libseccomp_resolve_name_rewrite(name);
                let theirs_t = lib.resolve_name_rewrite(token, name);
                if ours_t != theirs_t {
                    mismatches.push(format!(
                        "{arch} -t {name}: ours {ours_t}, libseccomp {theirs_t}"
                    ));
                }
            }
        }
    }
    assert!(compared > 20_000, "only {compared} comparisons");
    mismatches.sort();
    mismatches.dedup();
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn numbers_resolve_like_libseccomp_on_every_arch() {
    let Some(lib) = libseccomp::open() else {
        return;
    };
    let mut mismatches = Vec::new();
    for arch in Arch::ALL {
        let token = arch.libseccomp_token();
        for (name, nr) in arch.table().iter() {
            let theirs = lib.resolve_num_arch(token, nr as i32);
            if let Some(theirs) = theirs {
                if theirs != name {
                    mismatches.push(format!("{arch} {nr}: ours {name}, libseccomp {theirs}"));
                }
            }
        }
        for pseudo in [-101, -120, -201, -224, -10001, -10060, -10217] {
            let theirs = lib.resolve_num_arch(token, pseudo);
            let ours = arch
                .libseccomp_resolve_number(pseudo.into())
                .map(str::to_string);
            if theirs.is_some() && theirs != ours {
                mismatches.push(format!(
                    "{arch} {pseudo}: ours {ours:?}, libseccomp {theirs:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
