//! The core's typed errors. Their `Display` is compact by construction (provider, path without
//! query, status, a short provider error code) and still passes the sanitizer before it is stored.

use crate::binding::Binding;
use crate::platform::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{provider} {path} answered HTTP {status}{} after {attempts} attempt(s)", code_suffix(.code))]
    Http {
        provider: &'static str,
        path: String,
        status: u16,
        code: Option<String>,
        attempts: u32,
        /// The provider's raw error body, kept only for the harness's leaky mutants.
        #[cfg(feature = "mutants")]
        raw_body: String,
    },
    #[error("{provider} {path} asked to retry after {retry_after_s} s, more than the {limit_s} s allowed")]
    RetryAfterTooLong { provider: &'static str, path: String, retry_after_s: u64, limit_s: u64 },
    #[error("{provider} {path} could not be reached after {attempts} attempt(s): {detail}")]
    Transport { provider: &'static str, path: String, attempts: u32, detail: String },
    #[error("{provider} answered with an unexpected body: {what}")]
    InvalidResponse { provider: &'static str, what: String },
    #[error("binding {0} is not configured")]
    MissingSecret(Binding),
    #[error("policy violation: binding {0} is outside this step's scope")]
    PolicyViolation(Binding),
    #[error("{0}")]
    MissingInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
}

impl StepError {
    /// Whether a caveat comment should say the provider limited us (for the comment's wording).
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, StepError::RetryAfterTooLong { .. } | StepError::Http { status: 429, .. })
    }
}

/// Pulls a short, code-like error identifier out of a provider error body — never its message,
/// which may echo a credential. Knows the shapes of OAuth (`error`), Google (`error.status`) and
/// Cloudflare (`errors[0].code`); Asana's envelope carries only free text, so it yields none.
pub fn provider_error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let candidate = match &value["error"] {
        serde_json::Value::String(code) => Some(code.clone()),
        serde_json::Value::Object(google) => google.get("status").and_then(|s| s.as_str()).map(str::to_owned),
        _ => value["errors"][0]["code"].as_i64().map(|c| c.to_string()),
    }?;
    let code_like = !candidate.is_empty()
        && candidate.len() <= 48
        && candidate.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    code_like.then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_come_from_known_shapes_only() {
        assert_eq!(provider_error_code(br#"{"error":"invalid_grant","error_description":"x"}"#).as_deref(), Some("invalid_grant"));
        assert_eq!(provider_error_code(br#"{"error":{"code":401,"status":"UNAUTHENTICATED","message":"tok"}}"#).as_deref(), Some("UNAUTHENTICATED"));
        assert_eq!(provider_error_code(br#"{"success":false,"errors":[{"code":2009,"message":"m"}]}"#).as_deref(), Some("2009"));
        assert_eq!(provider_error_code(br#"{"errors":[{"message":"Not Authorized"}]}"#), None);
        assert_eq!(provider_error_code(br#"{"error":"has a space: secret"}"#), None);
        assert_eq!(provider_error_code(b"not json"), None);
    }
}
