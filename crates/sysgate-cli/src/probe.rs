//! `sysgate probe`: what the running kernel's seccomp supports (or what a given kernel
//! version would), as a report or JSON.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{json, Value};
use sysgate::kernel::{ActionKind, FeatureSource, Features, FilterFlag, KernelVersion};

use crate::bad_input;
use crate::output;

/// Arguments of `sysgate probe`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The probe asks the running kernel directly and installs nothing: \
SECCOMP_GET_ACTION_AVAIL for each action, seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) for \
each filter flag (EFAULT means known), SECCOMP_GET_NOTIF_SIZES, \
/proc/sys/kernel/seccomp/actions_avail and the kernel release. It also reports this \
process's own seccomp state, since new filters stack on top of it.\n\n`sysgate run` fits \
its policy to these features (see --compat there).\n\nExamples:\n  sysgate probe\n  \
sysgate probe --json\n  sysgate probe --kernel 4.9    # what a 4.9 kernel would support"
)]
pub struct Args {
    #[command(flatten)]
    json: crate::flags::JsonArg,

    /// Describe a mainline kernel of this version ("X.Y") instead of probing this one.
    #[arg(long, value_name = "X.Y")]
    kernel: Option<String>,
}

/// Run `sysgate probe`.
pub fn run(args: Args) -> Result<ExitCode> {
    let features =
        match &args.kernel {
            Some(k) => Features::for_kernel(KernelVersion::parse(k).ok_or_else(|| {
                bad_input(format!("--kernel {k:?}: expected a version like 5.10"))
            })?),
            None => Features::probe(),
        };
    let text = if args.json.json {
        format!("{:#}\n", to_json(&features))
    } else {
        features.to_string()
    };
    output::print(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The features as JSON: every field of [`Features`], actions and flags as name → bool.
pub fn to_json(f: &Features) -> Value {
    let actions: serde_json::Map<String, Value> = ActionKind::ALL
        .iter()
        .map(|a| (a.name().to_string(), Value::Bool(f.has_action(*a))))
        .collect();
    let flags: serde_json::Map<String, Value> = FilterFlag::ALL
        .iter()
        .map(|fl| (fl.name().to_string(), Value::Bool(f.has_flag(*fl))))
        .collect();
    let source = match f.source {
        FeatureSource::Probed => "probed".to_string(),
        FeatureSource::Assumed(v) => format!("assumed from {v}"),
    };
    json!({
        "source": source,
        "release": f.release,
        "version": f.version.map(|v| v.to_string()),
        "filter_mode": f.filter_mode,
        "seccomp_syscall": f.seccomp_syscall,
        "actions": actions,
        "actions_avail": f.actions_avail,
        "flags": flags,
        "notif_sizes": f.notif_sizes.map(|s| json!({
            "seccomp_notif": s.notif,
            "seccomp_notif_resp": s.resp,
            "seccomp_data": s.data,
        })),
        "action_cache": f.action_cache,
        "this_process": f.this_process.map(|p| json!({
            "mode": p.mode,
            "filters": p.filters,
            "no_new_privs": p.no_new_privs,
        })),
        "notes": f.notes,
    })
}
