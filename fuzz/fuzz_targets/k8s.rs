//! Fuzz the k8s reader: any text must give a policy or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sysgate::profile::Target;
use sysgate::Arch;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let target = Target::new(Arch::X86_64);
    let _ = sysgate::profile::k8s::read(text, "fuzz.yaml", &target, &Default::default());
});
