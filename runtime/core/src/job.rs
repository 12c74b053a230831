//! What intake puts on the work queue: one task event to consider.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskJob {
    pub delivery_id: String,
    pub task_gid: String,
    /// The gid of the user whose action caused the event (the agent's own events are ignored).
    pub event_user_gid: Option<String>,
}
