//! Regenerating sysgate's libseccomp headers must reproduce the committed files exactly.

#[test]
fn committed_libseccomp_headers_match_the_generator() {
    let shared = xtask::default_shared_dir();
    if !shared.join("data/syscalls.csv").exists() {
        // CI always has ../shared; a bare clone elsewhere cannot run this check.
        eprintln!(
            "SKIPPED: {} is absent, cannot regenerate the headers",
            shared.display()
        );
        return;
    }
    let root = xtask::workspace_root();
    let files = xtask::gen_libseccomp_headers_from(&shared).expect("generator runs");
    assert_eq!(
        files.len(),
        3,
        "seccomp.h, seccomp-syscalls.h, libseccomp.pc"
    );
    for f in files {
        let committed = std::fs::read_to_string(root.join(&f.path))
            .unwrap_or_else(|e| panic!("{} is not committed: {e}", f.path.display()));
        assert!(
            committed == f.contents,
            "{} differs from the generator's output; run `cargo run -p xtask -- gen-libseccomp-headers`",
            f.path.display()
        );
    }
}
