//! Fuzz format detection, every reader behind it, and the writers and compiler on whatever
//! parses: no input may panic any of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::profile::detect::{read_text, ReadOptions};
use sysgate::profile::Target;
use sysgate::Arch;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let target = Target::new(Arch::X86_64);
    let Ok(read) = read_text(text, "fuzz", &target, &ReadOptions::default()) else {
        return;
    };
    for p in &read.profiles {
        let policy = &p.loaded.policy;
        let _ = sysgate::compile::compile(policy);
        let _ = sysgate::profile::docker::write(policy, None, &Default::default());
        let _ = sysgate::profile::lxc::write(policy, None, &Default::default());
        let _ = sysgate::profile::show::show(policy);
    }
});
