//! The policy IR: actions, argument conditions, rules and the policy that holds them.

mod action;

pub use action::{errno_name, parse_errno, ret, Action, ParseActionError, ERRNO_NAMES, MAX_ERRNO};
