//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod libseccomp;
pub mod shared;
