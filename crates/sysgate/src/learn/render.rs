//! The learn output: a policy as Docker/moby seccomp JSON.
//!
//! This is the learn output until the profile writers land; then `--format` dispatches to
//! them. It writes only what a learned (or merged) policy holds: a default action,
//! architectures and rules with `==`-style conditions, in the subset of the format that
//! Docker, runc, crun and the OCI runtime spec all read the same way.

use serde_json::{json, Map, Value};

use crate::policy::{Action, CmpOp, Policy, Syscall};

/// Docker/moby (and OCI `linux.seccomp`) JSON for `policy`: `defaultAction` (with
/// `defaultErrnoRet`), `architectures`, then `syscalls`: one entry per action for the
/// unconditional rules, with sorted `names`, then one entry per conditional rule (its
/// conditions are ANDed, as Docker reads an entry whose argument indexes do not repeat).
///
/// Rules by number have no place in this format and are left out; learned policies have
/// none ([`super::synthesize`] names every rule).
///
/// ```
/// use sysgate::learn::render_docker_json;
/// use sysgate::policy::{Action, Policy, Rule};
///
/// let mut p = Policy::new(Action::Errno(1));
/// p.add_rule(Rule::new(Action::Allow, "write"))?;
/// p.add_rule(Rule::new(Action::Allow, "read"))?;
/// let json: serde_json::Value = serde_json::from_str(&render_docker_json(&p))?;
/// assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
/// assert_eq!(json["defaultErrnoRet"], 1);
/// assert_eq!(json["syscalls"][0]["names"], serde_json::json!(["read", "write"]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_docker_json(policy: &Policy) -> String {
    let mut root = Map::new();
    let (action, errno) = action_json(policy.default_action());
    root.insert("defaultAction".into(), action.into());
    if let Some(e) = errno {
        root.insert("defaultErrnoRet".into(), e.into());
    }
    let arches: Vec<Value> = policy
        .arches()
        .iter()
        .map(|a| format!("SCMP_ARCH_{}", a.name().to_ascii_uppercase()).into())
        .collect();
    root.insert("architectures".into(), arches.into());

    // Unconditional rules grouped by action, in action order; then conditional ones.
    let mut grouped: std::collections::BTreeMap<Action, Vec<&str>> = Default::default();
    let mut conditional = Vec::new();
    for rule in policy.rules() {
        let Syscall::Name(name) = &rule.syscall else {
            continue;
        };
        if rule.conds.is_empty() {
            grouped.entry(rule.action).or_default().push(name);
        } else {
            conditional.push((name.as_str(), rule));
        }
    }
    let mut entries = Vec::new();
    for (action, mut names) in grouped {
        names.sort_unstable();
        names.dedup();
        let mut e = entry(action);
        e.insert("names".into(), json!(names));
        entries.push(Value::Object(e));
    }
    conditional.sort_by(|a, b| a.0.cmp(b.0).then(a.1.conds.cmp(&b.1.conds)));
    for (name, rule) in conditional {
        let mut e = entry(rule.action);
        e.insert("names".into(), json!([name]));
        let args: Vec<Value> = rule
            .conds
            .iter()
            .map(|c| {
                let (op, value, value_two) = match c.op() {
                    CmpOp::MaskedEq(mask) => ("SCMP_CMP_MASKED_EQ", mask, c.value()),
                    op => (op.scmp_name(), c.value(), 0),
                };
                json!({"index": c.arg(), "value": value, "valueTwo": value_two, "op": op})
            })
            .collect();
        e.insert("args".into(), args.into());
        entries.push(Value::Object(e));
    }
    root.insert("syscalls".into(), entries.into());
    let mut text =
        serde_json::to_string_pretty(&Value::Object(root)).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// The moby spelling of an action and its errno field, if it has one.
fn action_json(action: Action) -> (String, Option<u16>) {
    match action {
        Action::KillProcess => ("SCMP_ACT_KILL_PROCESS".into(), None),
        Action::KillThread => ("SCMP_ACT_KILL_THREAD".into(), None),
        Action::Trap(_) => ("SCMP_ACT_TRAP".into(), None),
        Action::Errno(e) => ("SCMP_ACT_ERRNO".into(), Some(e)),
        Action::UserNotif => ("SCMP_ACT_NOTIFY".into(), None),
        Action::Trace(d) => ("SCMP_ACT_TRACE".into(), Some(d)),
        Action::Log => ("SCMP_ACT_LOG".into(), None),
        Action::Allow => ("SCMP_ACT_ALLOW".into(), None),
    }
}

fn entry(action: Action) -> Map<String, Value> {
    let (name, errno) = action_json(action);
    let mut e = Map::new();
    e.insert("action".into(), name.into());
    if let Some(errno) = errno {
        e.insert("errnoRet".into(), errno.into());
    }
    e
}
