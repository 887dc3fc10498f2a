//! Put a seccomp profile into an OCI runtime `config.json`, changing nothing else of its text.
//!
//! `sysgate oci prepare` rewrites a bundle's config so that the runtime routes calls to the
//! agent. Reading the config into a JSON tree and writing the tree back would reorder every key
//! (and drop the user's layout), so only the bytes of `linux.seccomp` are replaced, or the
//! member is inserted where there was none: every other byte of the file stays as it was.
//!
//! Keys are found as runc (Go's encoding/json) finds them: ignoring case. A config with two
//! keys that runc would read as one (`"linux"` and `"Linux"`, or two `seccomp` in `linux`) is
//! refused: runc merges such duplicates, and which half the profile would land in is not
//! something to guess.

use super::docker::{json_error, DockerError};
use super::json_pos::{self, fold_case, Member, Pos};
use super::Location;

/// A config with its `linux.seccomp` set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// The new text of the config.
    pub text: String,
    /// Whether a profile that was there (a `seccomp` other than `null`) was replaced.
    pub replaced: bool,
}

/// `config` (the text of an OCI `config.json` read from `source`) with `linux.seccomp` set to
/// `seccomp`: the member's value is replaced where it exists, else the member (and `linux`, if
/// that is missing too) is added as the last of its object. Everything else is unchanged.
///
/// ```
/// use sysgate::profile::oci_config::set_linux_seccomp;
///
/// let config = "{\n  \"ociVersion\": \"1.0.2\",\n  \"linux\": {\n    \"namespaces\": []\n  }\n}\n";
/// let seccomp = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"});
/// let out = set_linux_seccomp(config, "config.json", &seccomp).unwrap();
/// assert!(!out.replaced);
/// assert_eq!(
///     out.text,
///     "{\n  \"ociVersion\": \"1.0.2\",\n  \"linux\": {\n    \"namespaces\": [],\n    \
///      \"seccomp\": {\n      \"defaultAction\": \"SCMP_ACT_ALLOW\"\n    }\n  }\n}\n"
/// );
/// ```
///
/// # Errors
///
/// [`DockerError::Syntax`] if `config` is not JSON, [`DockerError::Invalid`] if its top level or
/// its `linux` is not an object, or a key runc reads as `linux` or `seccomp` appears twice.
pub fn set_linux_seccomp(
    config: &str,
    source: &str,
    seccomp: &serde_json::Value,
) -> Result<Rewritten, DockerError> {
    serde_json::from_str::<serde::de::IgnoredAny>(config)
        .map_err(|e| json_error(config, source, e))?;
    let at = |p: Pos| Location::new(source, p.line, p.column);
    let start = json_pos::locate(config, Pos::START, &[]).unwrap_or(Pos::START);
    let Some(top) = json_pos::members(config, start) else {
        return Err(DockerError::Invalid {
            at: at(start),
            message: "not an OCI config: the top level is not an object".into(),
        });
    };
    let Some(linux) = only_member(source, &top.1, "linux")? else {
        let value = serde_json::json!({ "seccomp": seccomp });
        return Ok(Rewritten {
            text: insert_member(config, top, "linux", &value),
            replaced: false,
        });
    };
    let Some(inner) = json_pos::members(config, linux.value_at) else {
        return Err(DockerError::Invalid {
            at: at(linux.value_at),
            message: format!(
                "\"{}\" is not an object: expected {{\"seccomp\": ...}}",
                linux.key
            ),
        });
    };
    Ok(match only_member(source, &inner.1, "seccomp")? {
        Some(old) => Rewritten {
            text: replace_value(config, &old, seccomp),
            replaced: &config[old.value_at.offset..old.value_end] != "null",
        },
        None => Rewritten {
            text: insert_member(config, inner, "seccomp", seccomp),
            replaced: false,
        },
    })
}

/// The one member whose key runc reads as `want`, if any.
fn only_member(
    source: &str,
    members: &[Member],
    want: &str,
) -> Result<Option<Member>, DockerError> {
    let mut found = members.iter().filter(|m| fold_case(&m.key) == want);
    let first = found.next();
    if let Some(second) = found.next() {
        let first = first.map_or(String::new(), |m| m.key.clone());
        return Err(DockerError::Invalid {
            at: Location::new(source, second.key_at.line, second.key_at.column),
            message: format!(
                "a second key runc reads as \"{want}\" (\"{first}\" and \"{}\"): runc merges \
                 them; keep one",
                second.key
            ),
        });
    }
    Ok(first.cloned())
}

/// The leading blanks of the line that holds byte `offset`.
fn indent_at(text: &str, offset: usize) -> &str {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// `value` pretty-printed, its continuation lines indented by `indent`.
fn pretty(value: &serde_json::Value, indent: &str) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.replace('\n', &format!("\n{indent}"))
}

fn replace_value(text: &str, old: &Member, value: &serde_json::Value) -> String {
    let indent = indent_at(text, old.key_at.offset);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..old.value_at.offset]);
    out.push_str(&pretty(value, indent));
    out.push_str(&text[old.value_end..]);
    out
}

/// `text` with `"key": value` added as the last member of the object `(open, members, close)`.
fn insert_member(
    text: &str,
    (open, members, close): (usize, Vec<Member>, usize),
    key: &str,
    value: &serde_json::Value,
) -> String {
    let key = serde_json::Value::from(key);
    let mut out = String::with_capacity(text.len());
    match members.last() {
        Some(last) => {
            // After the last member, on a line of its own indented like that member.
            let indent = indent_at(text, last.key_at.offset);
            out.push_str(&text[..last.value_end]);
            out.push_str(&format!(",\n{indent}{key}: {}", pretty(value, indent)));
            out.push_str(&text[last.value_end..]);
        }
        None => {
            let outer = indent_at(text, open);
            let indent = format!("{outer}  ");
            out.push_str(&text[..=open]);
            out.push_str(&format!(
                "\n{indent}{key}: {}\n{outer}",
                pretty(value, &indent)
            ));
            out.push_str(&text[close..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seccomp() -> serde_json::Value {
        json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
    }

    /// The output is JSON whose linux.seccomp is the profile, and every other member is the
    /// same as before.
    fn check(config: &str) -> String {
        let out = set_linux_seccomp(config, "config.json", &seccomp())
            .unwrap()
            .text;
        let before: serde_json::Value = serde_json::from_str(config).unwrap();
        let mut after: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(after["linux"]["seccomp"], seccomp(), "{out}");
        let linux = after["linux"].as_object_mut().unwrap();
        linux.remove("seccomp");
        let mut before = before;
        let before_linux = before
            .as_object_mut()
            .unwrap()
            .entry("linux")
            .or_insert(json!({}));
        before_linux.as_object_mut().unwrap().remove("seccomp");
        assert_eq!(after, before, "{out}");
        out
    }

    #[test]
    fn replaces_only_the_seccomp_bytes() {
        let config = "{\n\t\"ociVersion\": \"1.0.2\",\n\t\"linux\": {\n\t\t\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"},\n\t\t\"namespaces\": [ {\"type\": \"pid\"} ]\n\t},\n\t\"zz\": 1\n}";
        assert!(set_linux_seccomp(config, "c", &seccomp()).unwrap().replaced);
        let out = check(config);
        assert!(out.starts_with("{\n\t\"ociVersion\": \"1.0.2\",\n\t\"linux\": {\n\t\t\"seccomp\": {\n\t\t  \"defaultAction\""), "{out}");
        assert!(
            out.ends_with(
                "\n\t\t},\n\t\t\"namespaces\": [ {\"type\": \"pid\"} ]\n\t},\n\t\"zz\": 1\n}"
            ),
            "{out}"
        );
    }

    #[test]
    fn inserts_seccomp_or_linux_where_missing() {
        let out = check("{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":[]}}");
        assert!(
            out.starts_with(
                "{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":[],\n\"seccomp\": {"
            ),
            "{out}"
        );
        let out = check("{\n  \"root\": {\"path\": \"rootfs\"}\n}\n");
        assert!(
            out.starts_with(
                "{\n  \"root\": {\"path\": \"rootfs\"},\n  \"linux\": {\n    \"seccomp\": {\n"
            ),
            "{out}"
        );
        assert!(out.ends_with("\n    }\n  }\n}\n"), "{out}");
        check("{\"linux\": {}}");
        check("{}");
        check("  {\n}  ");
    }

    #[test]
    fn keys_match_ignoring_case_as_runc_reads_them() {
        let config = "{\"Linux\": {\"Seccomp\": null, \"x\": \"}\"}}";
        assert!(!set_linux_seccomp(config, "c", &seccomp()).unwrap().replaced);
        let out = set_linux_seccomp(config, "c", &seccomp()).unwrap().text;
        let after: serde_json::Value = serde_json::from_str(&out).unwrap();
        // The existing member keeps its spelling; its value is replaced.
        assert_eq!(
            after,
            json!({"Linux": {"Seccomp": seccomp(), "x": "}"}}),
            "{out}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_rewrite_faithfully() {
        let cases = [
            (
                "{\"linux\": {}, \"LINUX\": {}}",
                "config.json:1:15: a second key runc reads as \"linux\"",
            ),
            (
                "{\"linux\": {\"seccomp\": 1,\n \"seccomp\": 2}}",
                "config.json:2:2: a second key runc reads as \"seccomp\"",
            ),
            ("[1]", "config.json:1:1: not an OCI config"),
            (
                "{\"linux\": [1]}",
                "config.json:1:11: \"linux\" is not an object",
            ),
            (
                "{\"linux\": {\n  \"seccomp\": ",
                "config.json:2:13: not valid JSON",
            ),
            ("", "config.json:1:1: not valid JSON"),
        ];
        for (config, want) in cases {
            let e = set_linux_seccomp(config, "config.json", &seccomp()).unwrap_err();
            assert!(e.to_string().starts_with(want), "{config:?}: {e}");
        }
    }
}
