//! The library's modules use only the modules below them (the crate root's "Layers"):
//!
//! ```text
//! arch <- bpf <- policy <- compile <- {verify, kernel} <- profile <- {learn, lint}
//! ```
//!
//! Read from the sources: every `crate::MODULE` path outside comments, in code and in unit
//! tests alike. A module that reached up (as `bpf` once did for `policy::Action`) makes the
//! pipeline circular; this test names the file and line.

use std::path::Path;

/// Each module's layer: a module may use the modules of lower layers, never its own layer's
/// others or a higher one's.
const LAYERS: &[(&str, u32)] = &[
    ("arch", 0),
    ("bpf", 1),
    ("policy", 2),
    ("compile", 3),
    ("verify", 4),
    ("kernel", 4),
    ("profile", 5),
    ("learn", 6),
    ("lint", 6),
];

/// The crate root's re-exports, and the module each comes from.
const ROOT_ITEMS: &[(&str, &str)] = &[("Arch", "arch"), ("Action", "bpf"), ("Filter", "kernel")];

fn layer(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The modules a line of code names through `crate::`.
fn used_modules(line: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let module = LAYERS
            .iter()
            .map(|(m, _)| *m)
            .find(|m| *m == name)
            .or_else(|| ROOT_ITEMS.iter().find(|(i, _)| *i == name).map(|(_, m)| *m));
        out.extend(module);
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut against = Vec::new();
    for (module, own) in LAYERS {
        let mut files = Vec::new();
        rust_files(&src.join(module), &mut files);
        assert!(!files.is_empty(), "no sources under src/{module}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for used in used_modules(line) {
                    let theirs = layer(used).unwrap();
                    if used != *module && theirs >= *own {
                        against.push(format!(
                            "{}:{}: {module} uses {used}: {}",
                            file.strip_prefix(&src).unwrap().display(),
                            i + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        against.is_empty(),
        "edges against the layers (move what is needed below, or the code up):\n{}",
        against.join("\n")
    );
}

#[test]
fn every_module_of_the_crate_has_a_layer() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(name) = line.trim().strip_prefix("pub mod ") {
            let name = name.trim_end_matches(';');
            assert!(layer(name).is_some(), "src/{name} has no layer in LAYERS");
        }
    }
}
