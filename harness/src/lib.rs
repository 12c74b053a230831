//! The contract-test and simulation harness (see ARCHITECTURE.md): scenario files, canary
//! seeding, the native runner, sink collection, the leak scanner, expectations and snapshots.

pub mod canary;
pub mod expect;
pub mod parity;
pub mod runner;
pub mod scan;
pub mod scenario;
pub mod serve;
pub mod sinks;
pub mod snapshot;
pub mod target;
pub mod workerd;
