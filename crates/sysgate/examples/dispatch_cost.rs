//! Instructions executed per x86_64 syscall for a Docker/OCI profile, worst first:
//! `cargo run -p sysgate --example dispatch_cost -- PROFILE.json`.

use sysgate::arch::Arch;
use sysgate::compile::compile;
use sysgate::profile::{docker, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: dispatch_cost PROFILE.json")?;
    let text = std::fs::read_to_string(&path)?;
    let loaded = docker::parse(&text, &path, &Target::docker_default(Arch::X86_64))?;
    let compiled = compile(&loaded.policy)?;
    let mut costs: Vec<(usize, &str, u32)> = Arch::X86_64
        .table()
        .iter()
        .map(|(name, nr)| {
            (
                compiled
                    .emulate_call(Arch::X86_64, nr, &[0; 6])
                    .unwrap()
                    .executed,
                name,
                nr,
            )
        })
        .collect();
    costs.sort_by(|a, b| b.cmp(a));
    let mean = costs.iter().map(|c| c.0).sum::<usize>() as f64 / costs.len() as f64;
    println!(
        "{} instructions, mean {mean:.2} executed per x86_64 syscall",
        compiled.total_insns()
    );
    for (cost, name, nr) in costs.iter().take(15) {
        println!("{cost:>4}  {name} ({nr})");
    }
    Ok(())
}
