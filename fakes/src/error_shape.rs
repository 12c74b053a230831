//! Each provider's own error body. Every error a fake answers with (a
//! rejected credential, a bad request, an injected fault) is a
//! [`ProviderError`] rendered through its fake's [`ErrorShape`], so one fake
//! never answers in another provider's shape.

use serde_json::{json, Value};

/// An error before it is rendered in a provider's shape.
#[derive(Clone, Debug)]
pub(crate) struct ProviderError {
    pub status: u16,
    pub message: String,
    /// The provider's own error code where its shape has one: OAuth's `error`
    /// (e.g. `invalid_grant`), Google's ErrorInfo `reason`.
    pub code: Option<&'static str>,
    /// The credential(s) the request presented that this error concerns;
    /// rendered into the body only under the `echo_credential` knob.
    pub presented: Option<String>,
}

impl ProviderError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ProviderError {
            status,
            message: message.into(),
            code: None,
            presented: None,
        }
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn presenting(mut self, credential: Option<String>) -> Self {
        self.presented = credential;
        self
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum ErrorShape {
    /// `{"errors":[{"message"}]}`, plus `phrase` on 500s (PROVIDER-NOTES §1 "Error format").
    Asana,
    /// RFC 6749 token-endpoint errors `{"error","error_description"}` (§3a).
    GoogleOAuth,
    /// `{"error":{code,message,status,details}}` (§3e); `service` names the
    /// API in ErrorInfo metadata.
    GoogleApi { service: &'static str },
    /// Cloudflare v4 envelope `{success:false, errors:[{code,message}],
    /// messages:[], result:null}` (§6b). Codes are [unverified] except where noted.
    CloudflareV4,
}

impl ErrorShape {
    /// The body for `error`; `echo` puts the presented credential where this
    /// provider's errors can carry text back (PROVIDER-NOTES "ways a credential
    /// can end up stored or logged").
    pub fn render(self, error: &ProviderError, echo: bool) -> Value {
        let echoed = error.presented.as_deref().filter(|_| echo);
        let message_with_echo = || match echoed {
            Some(credential) => format!("{}: {credential}", error.message),
            None => error.message.clone(),
        };
        match self {
            ErrorShape::Asana => {
                let mut entry = json!({ "message": message_with_echo() });
                if error.status == 500 {
                    // The spec's example phrase; Asana adds one to every 500 for support lookups.
                    entry["phrase"] = json!("6 sad squid snuggle softly");
                }
                json!({ "errors": [entry] })
            }
            ErrorShape::GoogleOAuth => json!({
                "error": error.code.unwrap_or_else(|| oauth_error_code(error.status)),
                "error_description": message_with_echo(),
            }),
            ErrorShape::GoogleApi { service } => {
                let mut details = Vec::new();
                if let Some(reason) = error.code {
                    details.push(json!({
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": reason,
                        "domain": "googleapis.com",
                        "metadata": { "service": service },
                    }));
                }
                if let Some(credential) = echoed {
                    // Mirrors the captured DebugInfo "Invalid API key: <key>" (§3e, timesketch #3703).
                    details.push(json!({
                        "@type": "type.googleapis.com/google.rpc.DebugInfo",
                        "detail": format!("Invalid credential: {credential}"),
                    }));
                }
                let mut body = json!({
                    "code": error.status,
                    "message": error.message,
                    "status": google_status(error.status),
                });
                if !details.is_empty() {
                    body["details"] = Value::Array(details);
                }
                json!({ "error": body })
            }
            ErrorShape::CloudflareV4 => json!({
                "success": false,
                "errors": [{ "code": cloudflare_code(error.status), "message": message_with_echo() }],
                "messages": [],
                "result": null,
            }),
        }
    }

    /// What an injected fault with `status` answers with, in the provider's
    /// wording where the notes record it.
    pub fn fault(self, status: u16) -> ProviderError {
        let message = match (self, status) {
            // §1 "Rate limiting", verified text.
            (ErrorShape::Asana, 429) => "You've made too many requests and hit a rate limit. Please retry after the given amount of time.",
            (ErrorShape::Asana, 500) => "Server Error",
            (ErrorShape::GoogleApi { .. }, 429) => "Resource has been exhausted (e.g. check quota).",
            (ErrorShape::GoogleApi { .. }, 503) => "The service is currently unavailable.",
            _ => reason_phrase(status),
        };
        ProviderError::new(status, message)
    }

    /// The answer to a request no endpoint of the fake matches.
    pub fn unrouted(self, path: &str) -> ProviderError {
        match self {
            // [unverified] Asana's wording for an unknown route.
            ErrorShape::Asana => ProviderError::new(404, "No matching route for request"),
            ErrorShape::GoogleOAuth | ErrorShape::GoogleApi { .. } => ProviderError::new(
                404,
                format!("The requested URL {path} was not found on this server."),
            ),
            // The v4 API's "could not route" text (code 7003, §6b lists the code as seen).
            ErrorShape::CloudflareV4 => ProviderError::new(
                404,
                format!("Could not route to {path}, perhaps your object identifier is invalid?"),
            ),
        }
    }
}

/// RFC 6749 §5.2 / §4.1.2.1 codes by status; a handler names a sharper one
/// (e.g. `invalid_grant`) with [`ProviderError::code`].
fn oauth_error_code(status: u16) -> &'static str {
    match status {
        401 => "invalid_client",
        403 => "access_denied",
        // [unverified] Google's token endpoint wording for throttling.
        429 => "rate_limit_exceeded",
        503 => "temporarily_unavailable",
        _ if status >= 500 => "server_error",
        _ => "invalid_request",
    }
}

/// google.rpc.Code names by HTTP status (§3e).
fn google_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if status >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

fn cloudflare_code(status: u16) -> u32 {
    match status {
        // [unverified] AI Gateway's own 401 (§6c "seen elsewhere"; also reported
        // as AiGatewayError internalCode 2009 in cloudflare-docs PR #31050).
        401 => 2009,
        // §6b verified: bad or insufficient token.
        403 => 10000,
        // Seen for unroutable paths (§6b lists 7003 as [unverified]).
        404 => 7003,
        // [unverified] placeholder: no source records the gateway's other codes.
        _ => 2000,
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}
