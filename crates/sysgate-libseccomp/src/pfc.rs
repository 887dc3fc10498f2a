//! `seccomp_export_pfc`'s text: libseccomp's "pseudo filter code" is a readable rendering
//! whose format is the library's own. sysgate's shows the policy the context became and
//! each program it compiles to, disassembled.

use sysgate::bpf::Program;
use sysgate::policy::Policy;

/// The policy, then each program.
pub fn render(policy: &Policy, programs: &[Program]) -> String {
    let mut out = String::from("# pseudo filter code: sysgate's libseccomp.so.2\n#\n# policy\n");
    for line in policy.to_string().lines() {
        out.push_str("#   ");
        out.push_str(line);
        out.push('\n');
    }
    let hint = policy.arches().first().copied();
    for (i, program) in programs.iter().enumerate() {
        out.push_str(&format!(
            "#\n# program {} of {}: {} instructions\n",
            i + 1,
            programs.len(),
            program.len()
        ));
        out.push_str(&program.disassemble_with(hint));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}
