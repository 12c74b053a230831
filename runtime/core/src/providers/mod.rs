//! Provider clients: how each provider takes its credential and shapes its answers. They build
//! requests, send them through [`crate::retry`], and parse only the fields the core needs.

pub mod ai_gateway;
pub mod asana;
pub mod ga4;
pub mod google_oauth;

use crate::error::StepError;

fn parse_json(provider: &'static str, body: &[u8]) -> Result<serde_json::Value, StepError> {
    serde_json::from_slice(body)
        .map_err(|e| StepError::InvalidResponse { provider, what: format!("not JSON ({})", e.classify_name()) })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// The error category only: serde's message can quote the offending input.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}
