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
    /// Headers the answer carries (Box's `WWW-Authenticate`, Meta's usage headers).
    pub headers: Vec<(&'static str, String)>,
    /// Shape-specific detail: Box's `context_info`, the legacy Google
    /// `errors[]` entry's `{domain, reason}`. Boxed: the error travels in
    /// every handler's `Result`, so it stays small.
    pub context: Option<Box<Value>>,
}

impl ProviderError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ProviderError {
            status,
            message: message.into(),
            code: None,
            presented: None,
            headers: Vec::new(),
            context: None,
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

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn context(mut self, context: Value) -> Self {
        self.context = Some(Box::new(context));
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
    /// Django REST framework's `{"detail": "…"}` (§5a: [unverified], DRF-style).
    AccuRanker,
    /// DataForSEO's request envelope with no tasks (§5b): `status_code` is the
    /// error's [`ProviderError::code`] (a 5-digit number) or one derived from
    /// the HTTP status. Logical errors are HTTP 200 with a non-20000 code.
    DataForSeo,
    /// Semrush's plain-text `ERROR <code> :: <MESSAGE>` (§5c), `text/plain`;
    /// `code` is Semrush's number (e.g. `"120"`), else one derived from the status.
    Semrush,
    /// Ahrefs v3 `{"error": "…"}` (§5d: clients read `data.error`, [secondary]).
    Ahrefs,
    /// Box ClientError `{type:"error", status, code, message, context_info,
    /// help_url, request_id}` (§2 "Error format"); a 401 has an empty body
    /// and `WWW-Authenticate` (§2, box-node-sdk #157).
    Box,
    /// Box's token endpoint: RFC 6749 `{error, error_description}` (§2).
    BoxOAuth,
    /// Google's JSON error plus the legacy `errors[{message,domain,reason}]`
    /// PSI still sends (§3e); echo is a DebugInfo "Invalid API key: <key>".
    GoogleApiLegacy { service: &'static str },
    /// Google's JSON error with a GoogleAdsFailure detail, wrapped in the
    /// searchStream array `[{"error":{…}}]` (§3c). `code` is
    /// `"<category>.<VALUE>"`, e.g. `"authorizationError.USER_PERMISSION_DENIED"`.
    GoogleAds,
    /// Graph's `{"error":{message,type,code,error_subcode,is_transient,fbtrace_id}}`
    /// (§4). `code` is Meta's number, optionally `/subcode` (`"100/33"`).
    Meta,
    /// Harvest: a 401 is `{error:"invalid_token", error_description}`, every
    /// other error `{"message"}` (§7 "Errors").
    Harvest,
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
                json!({ "error": google_rpc_status(error.status, &error.message, details, echoed) })
            }
            ErrorShape::CloudflareV4 => json!({
                "success": false,
                "errors": [{ "code": cloudflare_code(error.status), "message": message_with_echo() }],
                "messages": [],
                "result": null,
            }),
            ErrorShape::AccuRanker => json!({ "detail": message_with_echo() }),
            ErrorShape::DataForSeo => json!({
                "version": DATAFORSEO_VERSION,
                "status_code": numeric_code(error).unwrap_or_else(|| dataforseo_code(error.status)),
                "status_message": message_with_echo(),
                "time": "0.0021 sec.",
                "cost": 0,
                "tasks_count": 0,
                "tasks_error": 0,
                "tasks": null,
            }),
            // §5c: the key may be echoed after the message (the defensive model).
            ErrorShape::Semrush => Value::String(format!(
                "ERROR {} :: {}{}",
                numeric_code(error).unwrap_or_else(|| semrush_code(error.status)),
                error.message,
                echoed
                    .map(|credential| format!(" {credential}"))
                    .unwrap_or_default(),
            )),
            ErrorShape::Ahrefs => json!({ "error": message_with_echo() }),
            ErrorShape::Box => render_box(error, echoed),
            ErrorShape::BoxOAuth => ErrorShape::GoogleOAuth.render(error, echo),
            ErrorShape::GoogleApiLegacy { service } => render_google_legacy(service, error, echoed),
            ErrorShape::GoogleAds => render_google_ads(error, echoed),
            ErrorShape::Meta => render_meta(error, echoed),
            ErrorShape::Harvest => render_harvest(error, message_with_echo()),
        }
    }

    /// The bytes and `Content-Type` of [`ErrorShape::render`]'s body: JSON,
    /// except Semrush's plain text.
    pub fn render_body(self, error: &ProviderError, echo: bool) -> (Vec<u8>, &'static str) {
        match (self, self.render(error, echo)) {
            (ErrorShape::Semrush, Value::String(text)) => {
                (text.into_bytes(), "text/plain; charset=utf-8")
            }
            // Box's 401: no body, no Content-Type.
            (ErrorShape::Box, Value::Null) => (Vec::new(), ""),
            (_, body) => (body.to_string().into_bytes(), "application/json"),
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
            (ErrorShape::AccuRanker, 429) => "Request was throttled.",
            (ErrorShape::DataForSeo, _) => dataforseo_message(dataforseo_code(status)),
            (ErrorShape::Semrush, _) => semrush_message(semrush_code(status)),
            (ErrorShape::Box, 401) => return box_unauthorized(true),
            // [unverified] wording (§2 "Rate limiting": a ClientError body).
            (ErrorShape::Box, 429) => "Request rate limit exceeded, please try again later",
            (ErrorShape::GoogleApiLegacy { service }, 429) => {
                return ProviderError::new(429, google_quota_exceeded(service, "Queries per 100 seconds"))
            }
            (ErrorShape::GoogleApiLegacy { .. }, 503) => "The service is currently unavailable.",
            (ErrorShape::GoogleAds, _) => return google_ads_fault(status),
            (ErrorShape::Meta, _) => return meta_fault(status, META_DEFAULT_THROTTLE_CODE),
            (ErrorShape::Harvest, 401) => {
                return ProviderError::new(401, HARVEST_INVALID_TOKEN).code("invalid_token")
            }
            _ => reason_phrase(status),
        };
        ProviderError::new(status, message)
    }

    /// Whether a fault's `retry_after` goes out as a `Retry-After` header.
    /// Meta never sends one (checklist item 4): its fake puts the time in its
    /// usage headers instead (`meta`'s `Provider::fault_error`).
    pub fn sends_retry_after(self) -> bool {
        !matches!(self, ErrorShape::Meta)
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
            // [unverified] DRF's default 404 detail.
            ErrorShape::AccuRanker => ProviderError::new(404, "Not found."),
            // §5b: 404 is one of DataForSEO's few non-200 statuses.
            ErrorShape::DataForSeo => ProviderError::new(404, dataforseo_message(40400)),
            // [unverified] Semrush's answer to an unknown path.
            ErrorShape::Semrush => ProviderError::new(404, "NOT FOUND").code("404"),
            // [unverified] wording.
            ErrorShape::Ahrefs => ProviderError::new(404, format!("Not found: {path}")),
            ErrorShape::Box => ProviderError::new(404, "Not Found").code("not_found"),
            ErrorShape::BoxOAuth => ProviderError::new(404, "Not Found").code("invalid_request"),
            ErrorShape::GoogleApiLegacy { .. } | ErrorShape::GoogleAds => ProviderError::new(
                404,
                format!("The requested URL {path} was not found on this server."),
            ),
            // [secondary] Graph's code 2500 for a path it cannot parse, with HTTP 400.
            ErrorShape::Meta => {
                ProviderError::new(400, format!("Unknown path components: {path}")).code("2500")
            }
            // [unverified] wording.
            ErrorShape::Harvest => ProviderError::new(404, "Not found"),
        }
    }
}

/// DataForSEO's API version string (§5b example envelope).
pub(crate) const DATAFORSEO_VERSION: &str = "0.1.20260717";

/// A numeric provider code carried in [`ProviderError::code`].
fn numeric_code(error: &ProviderError) -> Option<u32> {
    error.code.and_then(|code| code.parse().ok())
}

/// DataForSEO status codes by HTTP status. Only 20000 is [verified]; the
/// others follow the `/v3/appendix/errors` families and are [unverified].
fn dataforseo_code(status: u16) -> u32 {
    match status {
        200 => 20000,
        401 => 40100,
        402 => 40200,
        404 => 40400,
        429 => 40202,
        400..=499 => u32::from(status) * 100,
        _ => 50000,
    }
}

/// The `status_message` of each DataForSEO code the fake uses ([unverified]
/// except 20000's "Ok."); also what its `/v3/appendix/errors` lists.
pub(crate) fn dataforseo_message(code: u32) -> &'static str {
    match code {
        20000 => "Ok.",
        20100 => "Task Created.",
        40100 => "You are not authorized to access this resource.",
        40200 => "Payment Required.",
        40202 => "Rate limit per minute exceeded.",
        40400 => "Not Found.",
        40401 => "Task Not Found.",
        40501 => "Invalid Field.",
        40503 => "POST Data Is Invalid.",
        40602 => "Task In Queue.",
        50000 => "Internal Error.",
        _ => "Error.",
    }
}

/// Semrush error numbers by HTTP status (§5c codes; the mapping is the fake's).
fn semrush_code(status: u16) -> u32 {
    match status {
        401 | 403 => 120,
        402 => 132,
        404 => 50,
        429 => 131,
        _ => u32::from(status),
    }
}

/// Semrush's wording per error number (§5c).
fn semrush_message(code: u32) -> &'static str {
    match code {
        50 => "NOTHING FOUND",
        120 => "WRONG KEY - ID PAIR",
        130 => "API DISABLED",
        131 => "LIMIT EXCEEDED",
        132 => "API UNITS BALANCE IS ZERO",
        _ => "INTERNAL ERROR",
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

/// Box's 401 (§2 "Authentication on API calls", box-node-sdk #157): an empty
/// body and an RFC 6750 challenge, naming `invalid_token` when one was sent.
pub(crate) fn box_unauthorized(token_presented: bool) -> ProviderError {
    let challenge = if token_presented {
        r#"Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid.""#
    } else {
        r#"Bearer realm="Service""#
    };
    ProviderError::new(401, "Unauthorized").header("www-authenticate", challenge)
}

/// Box ClientError `code`s by status: the spec's enum (§2 "Error format").
fn box_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        412 => "precondition_failed",
        // The spec's enum value; §2 guesses `rate_limit_exceeded` [unverified].
        429 => "too_many_requests",
        503 => "unavailable",
        _ if status >= 500 => "internal_server_error",
        _ => "bad_request",
    }
}

fn render_box(error: &ProviderError, echoed: Option<&str>) -> Value {
    // The empty 401 body, signalled to `render_body` as null. Under echo the
    // fake sends a ClientError carrying the token instead [unverified: no
    // capture shows Box echoing; the knob models the SDK-debug-dump risk].
    if error.status == 401 && echoed.is_none() {
        return Value::Null;
    }
    let message = match echoed {
        Some(credential) => format!("{}: {credential}", error.message),
        None => error.message.clone(),
    };
    let mut body = json!({
        "type": "error",
        "status": error.status,
        "code": error.code.unwrap_or_else(|| box_code(error.status)),
        "message": message,
        "help_url": "https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/",
        "request_id": crate::synthetic::random_hex(6),
    });
    if let Some(context) = &error.context {
        body["context_info"] = (**context).clone();
    }
    body
}

/// §3d's captured quota text for `service`'s `limit`.
pub(crate) fn google_quota_exceeded(service: &str, limit: &str) -> String {
    format!("Quota exceeded for quota group 'default' and limit '{limit}' of service '{service}' for consumer 'project_number:583797351490'.")
}

/// Legacy `errors[].reason` by status (§3d/§3e captures; others [unverified]).
fn google_legacy_reason(status: u16) -> &'static str {
    match status {
        401 => "authError",
        403 => "forbidden",
        404 => "notFound",
        429 => "rateLimitExceeded",
        _ if status >= 500 => "backendError",
        _ => "badRequest",
    }
}

fn render_google_legacy(
    service: &'static str,
    error: &ProviderError,
    echoed: Option<&str>,
) -> Value {
    let mut body = ErrorShape::GoogleApi { service }.render(error, false);
    let text = |key: &str| {
        error
            .context
            .as_ref()
            .and_then(|context| context.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let domain = text("domain").unwrap_or_else(|| "global".into());
    let reason = text("reason").unwrap_or_else(|| google_legacy_reason(error.status).into());
    body["error"]["errors"] =
        json!([{ "message": error.message, "domain": domain, "reason": reason }]);
    if let Some(credential) = echoed {
        // §3e: the captured DebugInfo "Invalid API key: <key>" (timesketch #3703).
        let debug_info = json!({
            "@type": "type.googleapis.com/google.rpc.DebugInfo",
            "detail": format!("Invalid API key: {credential}"),
        });
        match body["error"]["details"].as_array_mut() {
            Some(details) => details.push(debug_info),
            None => body["error"]["details"] = json!([debug_info]),
        }
    }
    body
}

/// The Google Ads API version named in GoogleAdsFailure's `@type` (§3c: the
/// stored docs call v26 the latest; the URL pattern itself is [unverified]).
const GOOGLE_ADS_FAILURE_VERSION: &str = "v26";

/// google.rpc's standard messages by status, the top-level `message` when a
/// GoogleAdsFailure carries the specific one (§3c example: 403 "The caller
/// does not have permission").
fn google_canonical_message(status: u16) -> &'static str {
    match status {
        400 => "Request contains an invalid argument.",
        401 => "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        403 => "The caller does not have permission",
        404 => "Requested entity was not found.",
        429 => "Resource has been exhausted (e.g. check quota).",
        503 => "The service is currently unavailable.",
        _ if status >= 500 => "Internal error encountered.",
        _ => reason_phrase(status),
    }
}

fn render_google_ads(error: &ProviderError, echoed: Option<&str>) -> Value {
    let mut details = Vec::new();
    let message = match error.code.and_then(|code| code.split_once('.')) {
        Some((category, value)) => {
            let mut error_code = serde_json::Map::new();
            error_code.insert(category.to_owned(), json!(value));
            details.push(json!({
                "@type": format!("type.googleapis.com/google.ads.googleads.{GOOGLE_ADS_FAILURE_VERSION}.errors.GoogleAdsFailure"),
                "errors": [{ "errorCode": error_code, "message": error.message }],
                "requestId": crate::synthetic::random_url_safe(16),
            }));
            google_canonical_message(error.status).to_owned()
        }
        None => error.message.clone(),
    };
    let body = google_rpc_status(error.status, &message, details, echoed);
    // searchStream answers an array, errors included (§3c, dubinc/dub #4409).
    json!([{ "error": body }])
}

/// A google.rpc.Status body (GA4's and Google Ads' `error`): `details`, plus
/// a DebugInfo echoing the credential presented, if any.
fn google_rpc_status(
    status: u16,
    message: &str,
    mut details: Vec<Value>,
    echoed: Option<&str>,
) -> Value {
    if let Some(credential) = echoed {
        // Mirrors the captured DebugInfo "Invalid API key: <key>" (§3e, timesketch #3703).
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.DebugInfo",
            "detail": format!("Invalid credential: {credential}"),
        }));
    }
    let mut body = json!({
        "code": status,
        "message": message,
        "status": google_status(status),
    });
    if !details.is_empty() {
        body["details"] = Value::Array(details);
    }
    body
}

/// What an injected fault answers on Google Ads: a GoogleAdsFailure for the
/// statuses the notes map (§3c "gRPC-to-HTTP status mapping"); the codes
/// other than QuotaError's are [unverified].
fn google_ads_fault(status: u16) -> ProviderError {
    let (code, message) = match status {
        401 => (
            "authenticationError.OAUTH_TOKEN_INVALID",
            "The OAuth access token is invalid.",
        ),
        403 => (
            "authorizationError.USER_PERMISSION_DENIED",
            "User doesn't have permission to access customer.",
        ),
        429 => (
            "quotaError.RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
        ),
        503 => (
            "internalError.TRANSIENT_ERROR",
            "The service is currently unavailable.",
        ),
        _ if status >= 500 => (
            "internalError.INTERNAL_ERROR",
            "An internal error has occurred.",
        ),
        _ => return ProviderError::new(status, reason_phrase(status)),
    };
    ProviderError::new(status, message).code(code)
}

/// The throttle code a Meta 429 fault answers with unless the ad account
/// names another: 80000, the ads_insights BUC limit (§4 "Rate limiting").
pub(crate) const META_DEFAULT_THROTTLE_CODE: &str = "80000";

/// How a fault's status maps onto Meta (§4): Meta answers token, permission
/// and throttle errors with HTTP 400 and says which in `code`.
///
/// | fault | HTTP | code |
/// |---|---|---|
/// | 401 | 400 | 190 OAuthException |
/// | 403 | 400 | 200 (permissions) [unverified status] |
/// | 404 | 400 | 100, subcode 33 (GraphMethodException) |
/// | 429 | 400 | `throttle_code` (4, 17, 32, 613, 80000–80014) |
/// | other 4xx | 400 | 100 (invalid parameter) |
/// | 500 | 500 | 1 (unknown, transient) |
/// | other 5xx | as given | 2 (service, transient) |
pub(crate) fn meta_fault(status: u16, throttle_code: &'static str) -> ProviderError {
    match status {
        401 => ProviderError::new(
            400,
            "Invalid OAuth access token - Cannot parse access token",
        )
        .code("190"),
        403 => ProviderError::new(400, "(#200) Permissions error").code("200"),
        404 => ProviderError::new(400, "Unsupported get request.").code("100/33"),
        429 => ProviderError::new(400, meta_throttle_message(throttle_code)).code(throttle_code),
        500 => ProviderError::new(500, "An unknown error occurred").code("1"),
        _ if status > 500 => ProviderError::new(
            status,
            "An unexpected error has occurred. Please retry your request later.",
        )
        .code("2"),
        _ => ProviderError::new(400, "(#100) Invalid parameter").code("100"),
    }
}

/// §4 "Rate limiting" wordings ([secondary]; 613's is the verified subcode text).
fn meta_throttle_message(code: &str) -> &'static str {
    match code {
        "4" => "(#4) Application request limit reached",
        "17" => "(#17) User request limit reached",
        "32" => "(#32) Page request limit reached",
        "613" => "(#613) There have been too many calls from this ad-account. Please wait a bit and try again.",
        _ => "There have been too many calls from this ad-account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    }
}

/// Graph `code`s an error without one gets, by status.
fn meta_default_code(status: u16) -> &'static str {
    match status {
        401 => "190",
        403 => "200",
        404 => "100/33",
        429 => "17",
        500 => "1",
        _ if status > 500 => "2",
        _ => "100",
    }
}

/// §4's subcodes for the throttle codes.
fn meta_default_subcode(code: u32) -> Option<u32> {
    match code {
        4 => Some(1_504_022),
        17 | 80_000..=80_014 => Some(2_446_079),
        613 => Some(1_487_742),
        _ => None,
    }
}

fn render_meta(error: &ProviderError, echoed: Option<&str>) -> Value {
    let code = error
        .code
        .unwrap_or_else(|| meta_default_code(error.status));
    let (number, subcode) = match code.split_once('/') {
        Some((number, subcode)) => (number, subcode.parse().ok()),
        None => (code, None),
    };
    let number: u32 = number.parse().unwrap_or(1);
    let subcode = subcode.or_else(|| meta_default_subcode(number));
    let message = match echoed {
        // §4 / checklist item 2: code 190 echoes the malformed token (react-native-fbsdk #220).
        Some(token) if number == 190 => format!("Malformed access token {token}"),
        Some(credential) => format!("{}: {credential}", error.message),
        None => error.message.clone(),
    };
    let mut body = json!({
        "message": message,
        "type": if subcode == Some(33) { "GraphMethodException" } else { "OAuthException" },
        "code": number,
        "fbtrace_id": crate::synthetic::random_url_safe(8),
    });
    if let Some(subcode) = subcode {
        body["error_subcode"] = json!(subcode);
    }
    // Transient (retry later) per §4: 1/2, and the throttling codes.
    if matches!(number, 1 | 2 | 4 | 17 | 32 | 613 | 80_000..=80_014) {
        body["is_transient"] = json!(true);
    }
    json!({ "error": body })
}

/// §7's verified 401 `error_description`.
pub(crate) const HARVEST_INVALID_TOKEN: &str =
    "The access token provided is expired, revoked, malformed or invalid for other reasons.";

fn render_harvest(error: &ProviderError, message: String) -> Value {
    if error.status == 401 {
        json!({ "error": error.code.unwrap_or("invalid_token"), "error_description": message })
    } else {
        json!({ "message": message })
    }
}
