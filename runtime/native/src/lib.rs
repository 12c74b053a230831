//! Native adapters for the core's seams: what `cargo test`, the harness and local runs use.
//!
//! Invariant: nothing here is needed by the Worker, and nothing here leaks into the core.
//! The core's futures are not `Send`; drive them on a current-thread runtime.

mod http;
mod memory;
mod sqlite;
mod worker;

pub use http::ReqwestClient;
pub use memory::{CapturedLog, MapSecrets, MemoryArtifacts, MemoryQueue, SeededRandom, StoredArtifact, VirtualClock};
pub use sqlite::{apply_migrations, SqliteTraceStore};
pub use worker::{NativeOptions, NativeWorker};
