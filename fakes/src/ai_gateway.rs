//! Fake Cloudflare AI Gateway, OpenAI-compatible endpoint (PROVIDER-NOTES §6c).
//!
//! Endpoint: `chat_completions`
//! (`POST /v1/{account_id}/{gateway_id}/compat/chat/completions`), behind
//! `cf-aig-authorization: Bearer <AGENCY_OS_CLOUDFLARE_AI_GATEWAY_TOKEN>`.
//! The answer is deterministic: it depends only on the prompt, never on ids or time.

use serde::Deserialize;
use serde_json::json;
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const GATEWAY_TOKEN_BINDING: &str = "AGENCY_OS_CLOUDFLARE_AI_GATEWAY_TOKEN";

const CHAT_COMPLETIONS: &str = "chat_completions";

pub(crate) struct AiGateway {
    auth: [CredentialCheck; 1],
}

impl AiGateway {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        let token = config.credential(GATEWAY_TOKEN_BINDING)?;
        Ok(AiGateway {
            auth: [CredentialCheck::new(
                CredentialLocation::BearerHeader("cf-aig-authorization"),
                Accepts::Value(token),
                // [unverified] body: §6c "seen elsewhere" code 2009 (error shape renders the code).
                ProviderError::new(401, "Unauthorized"),
            )],
        })
    }
}

impl Provider for AiGateway {
    const NAME: &'static str = "ai_gateway";
    const BASE_PATH: &'static str = "/v1";
    const ERROR_SHAPE: ErrorShape = ErrorShape::CloudflareV4;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: CHAT_COMPLETIONS,
        method: "POST",
        path: "/{account_id}/{gateway_id}/compat/chat/completions",
    }];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        assert_eq!(
            endpoint, CHAT_COMPLETIONS,
            "chat completions is the AI Gateway fake's only endpoint"
        );
        // [unverified] wordings of the gateway's 400s.
        let chat: ChatRequest = request
            .body_json()
            .map_err(|error| ProviderError::new(400, format!("Invalid chat request: {error}")))?;
        let Some((_provider, model)) = chat
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
        if chat.messages.is_empty() {
            return Err(ProviderError::new(400, "messages must not be empty"));
        }

        let prompt: Vec<&str> = chat
            .messages
            .iter()
            .flat_map(|message| message.content.texts())
            .collect();
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
        let completion = json!({
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
        });
        Ok(Reply::ok(completion)
            .header("cf-aig-log-id", synthetic::random_hex(16))
            .header("cf-aig-cache-status", "MISS".into()))
    }
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
