//! Fake Cloudflare AI Gateway (PROVIDER-NOTES §6c): the OpenAI-compatible
//! endpoint and provider-native ones, all under `/v1/{account_id}/{gateway_id}`
//! and behind `cf-aig-authorization: Bearer <AGENCY_OS_CLOUDFLARE_AI_GATEWAY_TOKEN>`.
//!
//! Endpoints: `chat_completions` (`POST …/compat/chat/completions`, `model`
//! as `{provider}/{model}`), `openai_chat_completions`
//! (`POST …/openai/chat/completions`) and `anthropic_messages`
//! (`POST …/anthropic/v1/messages`, Anthropic's Messages shape). The
//! provider's own `Authorization` is neither required nor checked (BYOK
//! gateways drop it), but it is part of the cache key.
//!
//! Request headers honoured: `cf-aig-metadata` (a JSON object of at most 5
//! entries with string, number or boolean values, else 400),
//! `cf-aig-skip-cache`, `cf-aig-cache-ttl` (seconds), `cf-aig-cache-key`,
//! `cf-aig-collect-log`, `cf-aig-collect-log-payload` (false: the log entry
//! keeps metadata but no bodies) and `cf-aig-event-id` (echoed). Every
//! answer carries a fresh `cf-aig-log-id` and `cf-aig-cache-status`: `HIT`
//! when an identical request (same provider, path, model, hashed provider
//! `Authorization` and body, or the same `cf-aig-cache-key`) was answered
//! within its TTL and `cf-aig-skip-cache` is not set, else `MISS`. Each
//! served request is recorded as an [`AiGatewayLog`].
//!
//! Answers are deterministic: they depend only on the prompt, never on ids or time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const GATEWAY_TOKEN_BINDING: &str = "AGENCY_OS_CLOUDFLARE_AI_GATEWAY_TOKEN";

const CHAT_COMPLETIONS: &str = "chat_completions";
const OPENAI_CHAT_COMPLETIONS: &str = "openai_chat_completions";
const ANTHROPIC_MESSAGES: &str = "anthropic_messages";

/// At most this many `cf-aig-metadata` entries (§6c).
const MAX_METADATA_ENTRIES: usize = 5;
/// How long an answer stays cached without `cf-aig-cache-ttl` ([unverified]).
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// One request the gateway served, as its logs would show it.
#[derive(Clone, Debug, PartialEq)]
pub struct AiGatewayLog {
    /// The `cf-aig-log-id` answered.
    pub log_id: String,
    /// The fake's endpoint name (`chat_completions`, `openai_chat_completions`, …).
    pub endpoint: &'static str,
    pub provider: String,
    pub model: String,
    /// The path after `/v1/{account_id}/{gateway_id}`.
    pub path: String,
    /// Answered from the cache.
    pub cached: bool,
    /// `cf-aig-metadata`, as sent.
    pub metadata: Map<String, Value>,
    pub skip_cache: bool,
    /// `cf-aig-cache-ttl`, seconds.
    pub cache_ttl: Option<u64>,
    /// `cf-aig-collect-log` (default true).
    pub collect_log: bool,
    /// `cf-aig-collect-log-payload` (default true).
    pub collect_log_payload: bool,
    pub event_id: Option<String>,
    /// The bodies, kept only when `collect_log_payload` is true.
    pub request_body: Option<Vec<u8>>,
    pub response_body: Option<Vec<u8>>,
}

pub(crate) struct AiGateway {
    auth: [CredentialCheck; 1],
    cache: Mutex<HashMap<String, (Instant, Value)>>,
    logs: Mutex<Vec<AiGatewayLog>>,
}

impl AiGateway {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        let token = Accepts::binding(config, GATEWAY_TOKEN_BINDING)?;
        Ok(AiGateway {
            auth: [CredentialCheck::new(
                CredentialLocation::BearerHeader("cf-aig-authorization"),
                token,
                // [unverified] body: §6c "seen elsewhere" code 2009 (error shape renders the code).
                ProviderError::new(401, "Unauthorized"),
            )],
            cache: Mutex::default(),
            logs: Mutex::default(),
        })
    }

    /// Every request served, in order.
    pub fn logs(&self) -> Vec<AiGatewayLog> {
        crate::lock(&self.logs).clone()
    }
}

impl Provider for AiGateway {
    const NAME: &'static str = "ai_gateway";
    const BASE_PATH: &'static str = "/v1";
    const ERROR_SHAPE: ErrorShape = ErrorShape::CloudflareV4;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: CHAT_COMPLETIONS,
            method: "POST",
            path: "/{account_id}/{gateway_id}/compat/chat/completions",
        },
        Endpoint {
            name: OPENAI_CHAT_COMPLETIONS,
            method: "POST",
            path: "/{account_id}/{gateway_id}/openai/chat/completions",
        },
        Endpoint {
            name: ANTHROPIC_MESSAGES,
            method: "POST",
            path: "/{account_id}/{gateway_id}/anthropic/v1/messages",
        },
    ];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        let headers = GatewayHeaders::read(request)?;
        // [unverified] wordings of the gateway's 400s.
        let (provider, model, prompt, shape) = match endpoint {
            CHAT_COMPLETIONS => {
                let chat: ChatRequest = parse(request, "chat")?;
                let Some((provider, model)) = chat
                    .model
                    .split_once('/')
                    .filter(|(provider, model)| !provider.is_empty() && !model.is_empty())
                else {
                    return Err(ProviderError::new(
                        400,
                        format!(
                            "Invalid model {:?}: /compat expects {{provider}}/{{model}}",
                            chat.model
                        ),
                    ));
                };
                (
                    provider.to_owned(),
                    model.to_owned(),
                    chat.prompt()?,
                    Shape::OpenAi,
                )
            }
            OPENAI_CHAT_COMPLETIONS => {
                let chat: ChatRequest = parse(request, "chat")?;
                if chat.model.is_empty() {
                    return Err(ProviderError::new(400, "model must not be empty"));
                }
                let prompt = chat.prompt()?;
                ("openai".to_owned(), chat.model, prompt, Shape::OpenAi)
            }
            ANTHROPIC_MESSAGES => {
                let messages: AnthropicRequest = parse(request, "messages")?;
                if messages.model.is_empty() || messages.max_tokens == 0 {
                    return Err(ProviderError::new(
                        400,
                        "model and a positive max_tokens are required",
                    ));
                }
                let mut prompt: Vec<String> = messages.system.into_iter().collect();
                prompt.extend(prompt_of(&messages.messages)?);
                (
                    "anthropic".to_owned(),
                    messages.model,
                    prompt,
                    Shape::Anthropic,
                )
            }
            _ => unreachable!("{endpoint} is not an AI Gateway endpoint"),
        };

        let prefix = format!(
            "{}/{}/{}",
            Self::BASE_PATH,
            params.get("account_id"),
            params.get("gateway_id")
        );
        let path = request
            .url
            .path()
            .strip_prefix(&prefix)
            .unwrap_or(request.url.path())
            .to_owned();
        let cache_key = headers.cache_key.clone().unwrap_or_else(|| {
            let provider_auth = request
                .headers
                .get("authorization")
                .map(|value| hex::encode(Sha256::digest(value.as_bytes())))
                .unwrap_or_default();
            let mut hasher = Sha256::new();
            for part in [
                provider.as_bytes(),
                path.as_bytes(),
                model.as_bytes(),
                provider_auth.as_bytes(),
                &request.body,
            ] {
                hasher.update(part);
                hasher.update([0]);
            }
            hex::encode(hasher.finalize())
        });

        let cached = (!headers.skip_cache)
            .then(|| {
                let mut cache = crate::lock(&self.cache);
                cache.retain(|_, (expires, _)| *expires > Instant::now());
                cache.get(&cache_key).map(|(_, body)| body.clone())
            })
            .flatten();
        let hit = cached.is_some();
        let body = match cached {
            Some(body) => body,
            None => {
                let body = shape.answer(&model, &prompt);
                let ttl = headers
                    .cache_ttl
                    .map_or(DEFAULT_CACHE_TTL, Duration::from_secs);
                if !headers.skip_cache && !ttl.is_zero() {
                    crate::lock(&self.cache)
                        .insert(cache_key, (Instant::now() + ttl, body.clone()));
                }
                body
            }
        };

        let log_id = synthetic::random_hex(16);
        let payload = headers.collect_log_payload;
        crate::lock(&self.logs).push(AiGatewayLog {
            log_id: log_id.clone(),
            endpoint,
            provider,
            model,
            path,
            cached: hit,
            metadata: headers.metadata,
            skip_cache: headers.skip_cache,
            cache_ttl: headers.cache_ttl,
            collect_log: headers.collect_log,
            collect_log_payload: payload,
            event_id: headers.event_id.clone(),
            request_body: payload.then(|| request.body.clone()),
            response_body: payload.then(|| body.to_string().into_bytes()),
        });
        let mut reply = Reply::ok(body).header("cf-aig-log-id", log_id).header(
            "cf-aig-cache-status",
            if hit { "HIT" } else { "MISS" }.into(),
        );
        if let Some(event_id) = headers.event_id {
            reply = reply.header("cf-aig-event-id", event_id);
        }
        Ok(reply)
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    request: &Request,
    kind: &str,
) -> Result<T, ProviderError> {
    request
        .body_json()
        .map_err(|error| ProviderError::new(400, format!("Invalid {kind} request: {error}")))
}

/// The `cf-aig-*` request headers the fake honours.
struct GatewayHeaders {
    metadata: Map<String, Value>,
    skip_cache: bool,
    cache_ttl: Option<u64>,
    cache_key: Option<String>,
    collect_log: bool,
    collect_log_payload: bool,
    event_id: Option<String>,
}

impl GatewayHeaders {
    fn read(request: &Request) -> Result<Self, ProviderError> {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        };
        let boolean = |name: &str, default: bool| match header(name).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ProviderError::new(
                400,
                format!("{name} must be true or false, not {other:?}"),
            )),
        };
        let metadata = match header("cf-aig-metadata") {
            None => Map::new(),
            Some(raw) => {
                let invalid = |why: &str| {
                    ProviderError::new(400, format!("Invalid cf-aig-metadata header: {why}"))
                };
                let Ok(Value::Object(entries)) = serde_json::from_str::<Value>(&raw) else {
                    return Err(invalid("it must be a JSON object"));
                };
                if entries.len() > MAX_METADATA_ENTRIES {
                    return Err(invalid(&format!("at most {MAX_METADATA_ENTRIES} entries")));
                }
                if let Some((key, _)) = entries.iter().find(|(_, value)| {
                    !(value.is_string() || value.is_number() || value.is_boolean())
                }) {
                    return Err(invalid(&format!(
                        "{key:?} must be a string, number or boolean"
                    )));
                }
                entries
            }
        };
        let cache_ttl = header("cf-aig-cache-ttl")
            .map(|ttl| {
                ttl.parse::<u64>().map_err(|_| {
                    ProviderError::new(
                        400,
                        format!("cf-aig-cache-ttl must be whole seconds, not {ttl:?}"),
                    )
                })
            })
            .transpose()?;
        Ok(GatewayHeaders {
            metadata,
            skip_cache: boolean("cf-aig-skip-cache", false)?,
            cache_ttl,
            cache_key: header("cf-aig-cache-key").filter(|key| !key.is_empty()),
            collect_log: boolean("cf-aig-collect-log", true)?,
            collect_log_payload: boolean("cf-aig-collect-log-payload", true)?,
            event_id: header("cf-aig-event-id"),
        })
    }
}

/// Which provider's body the answer takes.
#[derive(Clone, Copy)]
enum Shape {
    /// OpenAI `chat.completion`.
    OpenAi,
    /// Anthropic Messages `message`.
    Anthropic,
}

impl Shape {
    fn answer(self, model: &str, prompt: &[String]) -> Value {
        let lines_of_figures = prompt
            .iter()
            .flat_map(|text| text.lines())
            .filter(|line| line.chars().any(|character| character.is_ascii_digit()))
            .count();
        let content = format!(
            "Summary: the prompt carried {lines_of_figures} lines of figures. They move within their usual range; nothing needs escalation."
        );
        let prompt_tokens: usize = prompt
            .iter()
            .map(|text| text.split_whitespace().count())
            .sum();
        let completion_tokens = content.split_whitespace().count();
        match self {
            Shape::OpenAi => json!({
                "id": format!("chatcmpl-{}", synthetic::random_url_safe(18)),
                "object": "chat.completion",
                "created": synthetic::now_unix(),
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": content },
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }),
            Shape::Anthropic => json!({
                "id": format!("msg_{}", synthetic::random_url_safe(18)),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{ "type": "text", "text": content }],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": { "input_tokens": prompt_tokens, "output_tokens": completion_tokens },
            }),
        }
    }
}

impl ChatRequest {
    fn prompt(&self) -> Result<Vec<String>, ProviderError> {
        prompt_of(&self.messages)
    }
}

fn prompt_of(messages: &[ChatMessage]) -> Result<Vec<String>, ProviderError> {
    if messages.is_empty() {
        return Err(ProviderError::new(400, "messages must not be empty"));
    }
    Ok(messages
        .iter()
        .flat_map(|message| message.content.texts())
        .map(str::to_owned)
        .collect())
}

#[derive(Deserialize)]
struct AnthropicRequest {
    model: String,
    max_tokens: u64,
    system: Option<String>,
    messages: Vec<ChatMessage>,
}

#[derive(Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<ChatMessage>,
}

#[derive(Deserialize)]
struct ChatMessage {
    content: Content,
}

/// OpenAI message content: a string, or an array of typed parts.
#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Deserialize)]
struct ContentPart {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

impl Content {
    fn texts(&self) -> Vec<&str> {
        match self {
            Content::Text(text) => vec![text.as_str()],
            Content::Parts(parts) => parts
                .iter()
                .filter(|part| part.kind == "text")
                .filter_map(|part| part.text.as_deref())
                .collect(),
        }
    }
}
