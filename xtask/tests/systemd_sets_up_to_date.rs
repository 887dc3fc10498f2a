//! Regenerating systemd's syscall sets from ../shared must reproduce the committed files.

#[test]
fn committed_systemd_sets_match_the_generator() {
    let shared = xtask::default_shared_dir();
    if !shared.join("data/systemd-syscall-sets.txt").exists() {
        if std::env::var_os("CI").is_some() {
            panic!("{} is required under CI", shared.display());
        }
        eprintln!(
            "SKIPPED: {} is absent, cannot regenerate the systemd syscall sets",
            shared.display()
        );
        return;
    }
    let root = xtask::workspace_root();
    let files = xtask::gen_systemd_sets_from(&shared).expect("generator runs");
    assert_eq!(files.len(), 2, "the newest sets and v252");
    for f in files {
        let committed = std::fs::read_to_string(root.join(&f.path))
            .unwrap_or_else(|e| panic!("{} is not committed: {e}", f.path.display()));
        assert!(
            committed == f.contents,
            "{} differs from the generator's output; run `cargo run -p xtask -- gen-systemd-sets`",
            f.path.display()
        );
    }
}
