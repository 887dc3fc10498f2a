//! `--help` is the first documentation users read: it names every format a command reads,
//! `-` for standard input and output, the I/O exit status, and every option that exists.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_sysgate"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}");
    // clap wraps to the terminal width: compare words, not lines.
    String::from_utf8(o.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn commands_that_read_a_profile_name_every_format_and_standard_input() {
    for cmd in ["compile", "run"] {
        let h = help(&[cmd]);
        for word in ["systemd", "LXC", "Kubernetes", "\"-\" for standard input"] {
            assert!(h.contains(word), "`{cmd} --help` lacks {word:?}: {h}");
        }
        assert!(
            !h.contains("JSON file, or"),
            "`{cmd} --help` says JSON only: {h}"
        );
    }
    for cmd in ["check", "show", "diff", "convert"] {
        let h = help(&[cmd]);
        assert!(
            h.contains("\"-\" for standard input"),
            "`{cmd} --help`: {h}"
        );
    }
}

#[test]
fn the_io_exit_status_and_dash_for_standard_output_are_documented() {
    let h = help(&[]);
    assert!(
        h.contains("74 standard input could not be read or an output written"),
        "{h}"
    );
    for cmd in [
        &["compile"][..],
        &["convert"],
        &["learn"],
        &["learn", "merge"],
    ] {
        let h = help(cmd);
        assert!(
            h.contains("\"-\": standard output"),
            "`{cmd:?} --help`: {h}"
        );
    }
    assert!(help(&["diff"]).contains("74 when standard output cannot be written"));
}

#[test]
fn learn_merge_speaks_of_no_command_and_learn_documents_complain_with() {
    let merge = help(&["learn", "merge"]);
    assert!(
        !merge.contains("CMD") && !merge.contains("command has finished"),
        "{merge}"
    );
    let learn = help(&["learn"]);
    assert!(learn.contains("--complain-with <PROFILE>"), "{learn}");
}
