//! The Agency OS Worker's core: intake, eligibility, skills, providers, trace and sanitizer.
//!
//! Invariant: this crate performs no I/O and builds for wasm32-unknown-unknown. Every effect
//! goes through the seams in [`platform`]; time, sleep and randomness too.

pub mod binding;
pub mod config;
pub mod consume;
pub mod context;
pub mod eligibility;
pub mod error;
pub mod http;
pub mod ids;
pub mod intake;
pub mod job;
pub mod platform;
pub mod providers;
pub mod redact;
pub mod report;
pub mod retry;
pub mod secrets;
pub mod skills;
pub mod trace;
