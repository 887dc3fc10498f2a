//! Generators for sysgate's committed tables.
//!
//! `gen_syscall_tables` turns `../shared/data/syscalls.csv` (libseccomp's per-architecture
//! syscall table) plus `data/pseudo-syscalls.txt` (libseccomp's pseudo numbers) into one Rust
//! source file per table under `crates/sysgate/src/arch/tables/`. [`gen_systemd_sets_from`] does
//! the same for systemd's syscall sets (see [`systemd_sets`]). The output is a pure function
//! of the inputs, so a test can regenerate it and compare with what is committed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

mod libseccomp_headers;
pub mod systemd_sets;
pub use libseccomp_headers::{gen_libseccomp_headers, gen_libseccomp_headers_from};
pub use systemd_sets::gen_systemd_sets_from;

/// The tables the CSV carries, in CSV column order, with the kernel's offset for each.
///
/// mips o32/n64/n32 numbers are stored raw and offset by 4000/5000/6000 in the kernel; x32
/// numbers carry the x32 bit (0x4000_0000).
pub const TABLES: &[(&str, u32)] = &[
    ("x86", 0),
    ("x86_64", 0),
    ("x32", 0x4000_0000),
    ("arm", 0),
    ("aarch64", 0),
    ("loongarch64", 0),
    ("m68k", 0),
    ("mips", 4000),
    ("mips64", 5000),
    ("mips64n32", 6000),
    ("parisc", 0),
    ("parisc64", 0),
    ("ppc", 0),
    ("ppc64", 0),
    ("riscv64", 0),
    ("s390", 0),
    ("s390x", 0),
    ("sh", 0),
];

/// Raw numbers at or above this are outside an arch's main, growing range (ARM's private
/// calls at 0x0f0000, x32's legacy compat calls at 512): they never count as "newest".
fn is_side_range(table: &str, raw: u32) -> bool {
    match table {
        "arm" => raw >= 0x0f_0000,
        "x32" => raw >= 512,
        _ => false,
    }
}

/// One generated file: its path relative to the workspace root and its contents.
pub struct GeneratedFile {
    /// Path relative to the workspace root.
    pub path: PathBuf,
    /// Full file contents.
    pub contents: String,
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Where the shared data lives by default: `../shared` beside the workspace.
pub fn default_shared_dir() -> PathBuf {
    workspace_root().join("..").join("shared")
}

/// Generate every syscall table file from the CSV text and the pseudo-number list.
pub fn gen_syscall_tables(csv_text: &str, pseudo_text: &str) -> Result<Vec<GeneratedFile>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers().context("reading the CSV header")?.clone();
    let first = headers.get(0).unwrap_or_default();
    // "#syscall (v7.1.0-rc4 2026-05-19)" -> "v7.1.0-rc4 2026-05-19"
    let version = first
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .ok_or_else(|| anyhow!("CSV header {first:?} does not name the kernel version"))?
        .to_string();

    let mut columns = Vec::new();
    for (table, offset) in TABLES {
        let idx = headers
            .iter()
            .position(|h| h == *table)
            .ok_or_else(|| anyhow!("CSV has no column for table {table}"))?;
        columns.push((*table, *offset, idx));
    }

    let pseudo = parse_pseudo(pseudo_text)?;
    let mut per_table: Vec<BTreeMap<String, u32>> = vec![BTreeMap::new(); TABLES.len()];
    let mut needs_pseudo = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("CSV record {}", line + 2))?;
        let name = record.get(0).unwrap_or_default().to_string();
        if name.is_empty() {
            bail!("CSV record {} has an empty name", line + 2);
        }
        let mut absent_somewhere = false;
        for (t, (table, offset, idx)) in columns.iter().enumerate() {
            let cell = record.get(*idx).unwrap_or("PNR");
            if cell == "PNR" {
                absent_somewhere = true;
                continue;
            }
            let raw: u32 = cell.parse().with_context(|| {
                format!("CSV record {} ({name}) column {table}: {cell:?}", line + 2)
            })?;
            per_table[t].insert(name.clone(), raw + offset);
        }
        if absent_somewhere {
            needs_pseudo.push(name);
        }
    }
    for name in &needs_pseudo {
        if !pseudo.iter().any(|(n, _)| n == name) {
            bail!("{name} is missing on some arch but has no pseudo number in pseudo-syscalls.txt");
        }
    }

    // Every name any table or the pseudo list knows, sorted: a name's index here is its id,
    // and the tables refer to names only by id, so they hold no pointers (nothing for the
    // dynamic loader to relocate at start-up) and a name is searched for once, not per table.
    let mut all_names: Vec<&str> = per_table
        .iter()
        .flat_map(|t| t.keys().map(String::as_str))
        .chain(pseudo.iter().map(|(n, _)| n.as_str()))
        .collect();
    all_names.sort_unstable();
    all_names.dedup();
    let id_of = |name: &str| -> u16 {
        all_names
            .binary_search(&name)
            .expect("every name is in all_names") as u16
    };
    let text_len: usize = all_names.iter().map(|n| n.len()).sum();
    if all_names.len() > usize::from(u16::MAX) || text_len > usize::from(u16::MAX) {
        bail!(
            "{} names ({text_len} bytes) do not fit 16-bit ids and offsets",
            all_names.len()
        );
    }

    let header = format!(
        "// Generated by `cargo run -p xtask -- gen-tables` from ../shared/data/syscalls.csv\n\
         // (libseccomp's table, kernel {version}). Do not edit: change the generator and rerun it.\n"
    );
    let mut files = Vec::new();
    for (t, (table, offset)) in TABLES.iter().enumerate() {
        let entries = &per_table[t];
        let mut by_number: Vec<(u32, &str)> =
            entries.iter().map(|(n, nr)| (*nr, n.as_str())).collect();
        by_number.sort();
        for pair in by_number.windows(2) {
            if pair[0].0 == pair[1].0 {
                bail!(
                    "table {table}: {} and {} share number {}",
                    pair[0].1,
                    pair[1].1,
                    pair[0].0
                );
            }
        }
        if by_number.iter().any(|(nr, _)| *nr == u32::MAX) {
            bail!(
                "table {table}: number {} is reserved for \"absent\"",
                u32::MAX
            );
        }
        let newest = by_number
            .iter()
            .rev()
            .find(|(nr, _)| !is_side_range(table, nr - offset))
            .ok_or_else(|| anyhow!("table {table} is empty"))?;
        let mut s = header.clone();
        writeln!(
            s,
            "//! The `{table}` syscall table: {} syscalls, kernel numbers.",
            entries.len()
        )?;
        s.push('\n');
        s.push_str("use super::{SyscallTable, ABSENT};\n\n");
        writeln!(s, "/// Syscalls of the `{table}` table.")?;
        s.push_str("#[rustfmt::skip] // one number per line, each with its name\n");
        s.push_str("pub(crate) static TABLE: SyscallTable = SyscallTable {\n");
        writeln!(s, "    name: {table:?},")?;
        writeln!(s, "    kernel: {version:?},")?;
        writeln!(s, "    base: {offset:#x},")?;
        writeln!(s, "    newest: ({:?}, {}),", newest.1, newest.0)?;
        s.push_str("    numbers: &[\n");
        for name in &all_names {
            match entries.get(*name) {
                Some(nr) => writeln!(s, "        {nr}, // {name}")?,
                None => writeln!(s, "        ABSENT, // {name}")?,
            }
        }
        s.push_str("    ],\n    by_number: &[\n");
        for (nr, name) in &by_number {
            writeln!(s, "        ({nr}, {}), // {name}", id_of(name))?;
        }
        s.push_str("    ],\n};\n");
        files.push(GeneratedFile {
            path: PathBuf::from(format!("crates/sysgate/src/arch/tables/{table}.rs")),
            contents: s,
        });
    }

    let mut s = header.replace(
        "from ../shared/data/syscalls.csv\n// (libseccomp's table",
        "from ../shared/data/syscalls.csv and xtask/data/pseudo-syscalls.txt\n// (libseccomp's names",
    );
    writeln!(
        s,
        "//! Every syscall name the tables and the pseudo list know ({}), sorted: a name's\n\
         //! index is its id.\n",
        all_names.len()
    )?;
    writeln!(
        s,
        "/// How many names there are: every per-name array has this length.\n\
         pub(crate) const COUNT: usize = {};\n",
        all_names.len()
    )?;
    s.push_str(
        "/// The names, concatenated in id order.\npub(crate) static TEXT: &str = concat!(\n",
    );
    for name in &all_names {
        writeln!(s, "    {name:?},")?;
    }
    s.push_str(
        ");\n\n/// Where each name ends in [`TEXT`] (it starts where the previous one ends).\n",
    );
    s.push_str("#[rustfmt::skip] // one offset per line, each with its name\n");
    s.push_str("pub(crate) static ENDS: [u16; COUNT] = [\n");
    let mut end = 0;
    for name in &all_names {
        end += name.len();
        writeln!(s, "    {end}, // {name}")?;
    }
    s.push_str("];\n\n");
    // An open-addressing hash table over the ids (linear probing), so that a name is found
    // with one hash and a compare or two instead of a binary search of string compares.
    let slots = (all_names.len() * 2).next_power_of_two();
    let mut table = vec![u16::MAX; slots];
    for (id, name) in all_names.iter().enumerate() {
        let mut slot = name_hash(name) as usize & (slots - 1);
        while table[slot] != u16::MAX {
            slot = (slot + 1) & (slots - 1);
        }
        table[slot] = id as u16;
    }
    writeln!(
        s,
        "/// Name ids by `name_hash(name) % SLOTS`, linear probing; `u16::MAX` is an empty slot.\n\
         #[rustfmt::skip] // sixteen slots per line\n\
         pub(crate) static SLOTS: [u16; {slots}] = ["
    )?;
    for chunk in table.chunks(16) {
        let row: Vec<String> = chunk.iter().map(|v| v.to_string()).collect();
        writeln!(s, "    {},", row.join(", "))?;
    }
    s.push_str("];\n");
    files.push(GeneratedFile {
        path: PathBuf::from("crates/sysgate/src/arch/tables/names.rs"),
        contents: s,
    });

    let mut s = header.replace(
        "from ../shared/data/syscalls.csv\n// (libseccomp's table",
        "from xtask/data/pseudo-syscalls.txt\n// (libseccomp's pseudo numbers, matching the table",
    );
    s.push_str("//! libseccomp's pseudo syscall numbers: what a name resolves to on an arch without it.\n\n");
    s.push_str("use super::names::COUNT;\n\n");
    s.push_str("/// The pseudo number of each name id (0: the name has none).\n");
    s.push_str("#[rustfmt::skip] // one number per line, each with its name\n");
    s.push_str("pub(crate) static PSEUDO: [i32; COUNT] = [\n");
    for name in &all_names {
        let nr = pseudo
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, nr)| *nr);
        writeln!(s, "    {nr}, // {name}")?;
    }
    s.push_str("];\n\n/// `(pseudo number, name id)`, sorted by number.\n");
    s.push_str("#[rustfmt::skip] // one pair per line, each with its name\n");
    s.push_str("pub(crate) static PSEUDO_BY_NUMBER: &[(i32, u16)] = &[\n");
    let mut by_nr: Vec<(i32, &str)> = pseudo.iter().map(|(n, v)| (*v, n.as_str())).collect();
    by_nr.sort();
    for (nr, name) in &by_nr {
        writeln!(s, "    ({nr}, {}), // {name}", id_of(name))?;
    }
    s.push_str("];\n");
    files.push(GeneratedFile {
        path: PathBuf::from("crates/sysgate/src/arch/tables/pseudo.rs"),
        contents: s,
    });
    Ok(files)
}

/// FNV-1a (32-bit) of a syscall name: the hash `names.rs`'s `SLOTS` are laid out by. The
/// library computes the same (`arch::tables::name_hash`); a name that did not hash alike
/// there would not be found, which the lookup tests would catch.
pub fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub(crate) fn parse_pseudo(text: &str) -> Result<Vec<(String, i32)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(nr), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!("pseudo-syscalls.txt:{}: expected `<name> <number>`", i + 1);
        };
        let nr: i32 = nr
            .parse()
            .with_context(|| format!("pseudo-syscalls.txt:{}: bad number {nr:?}", i + 1))?;
        if nr >= 0 {
            bail!("pseudo-syscalls.txt:{}: pseudo numbers are negative", i + 1);
        }
        out.push((name.to_string(), nr));
    }
    Ok(out)
}

/// Read the inputs from `shared` (the `../shared` directory) and generate the tables.
pub fn gen_syscall_tables_from(shared: &Path) -> Result<Vec<GeneratedFile>> {
    let csv_path = shared.join("data/syscalls.csv");
    let csv_text = std::fs::read_to_string(&csv_path)
        .with_context(|| format!("reading {}", csv_path.display()))?;
    let pseudo_path = workspace_root().join("xtask/data/pseudo-syscalls.txt");
    let pseudo_text = std::fs::read_to_string(&pseudo_path)
        .with_context(|| format!("reading {}", pseudo_path.display()))?;
    gen_syscall_tables(&csv_text, &pseudo_text)
}
