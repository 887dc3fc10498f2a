//! Regenerating the syscall tables from ../shared must reproduce the committed files exactly.

#[test]
fn committed_tables_match_the_generator() {
    let shared = xtask::default_shared_dir();
    if !shared.join("data/syscalls.csv").exists() {
        // CI always has ../shared; a bare clone elsewhere cannot run this check.
        eprintln!(
            "SKIPPED: {} is absent, cannot regenerate the syscall tables",
            shared.display()
        );
        return;
    }
    let root = xtask::workspace_root();
    let files = xtask::gen_syscall_tables_from(&shared).expect("generator runs");
    assert_eq!(
        files.len(),
        20,
        "18 tables plus the name list and the pseudo-number file"
    );
    for f in files {
        let committed = std::fs::read_to_string(root.join(&f.path))
            .unwrap_or_else(|e| panic!("{} is not committed: {e}", f.path.display()));
        assert!(
            committed == f.contents,
            "{} differs from the generator's output; run `cargo run -p xtask -- gen-tables`",
            f.path.display()
        );
    }
}

#[test]
fn generator_rejects_a_csv_without_version() {
    let err = xtask::gen_syscall_tables("#syscall,x86\nread,3\n", "")
        .err()
        .expect("error");
    assert!(err.to_string().contains("kernel version"), "{err}");
}
