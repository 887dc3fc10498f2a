//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod agree;
pub mod child;
pub mod libseccomp;
pub mod policies;
pub mod reexec;
pub mod shared;
