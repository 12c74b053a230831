//! The AI Gateway adapter: the only way the runtime calls a model. OpenAI-compatible
//! `/compat/chat/completions`, authenticated with `cf-aig-authorization`; the provider key is
//! stored in the gateway (BYOK), so no provider `Authorization` header is sent.

use secrecy::ExposeSecret;

use super::parse_json;
use crate::binding::Binding;
use crate::context::{RunContext, Step};
use crate::error::StepError;
use crate::http::{HttpRequest, Method};
use crate::redact::Sanitized;
use crate::retry;

const PROVIDER: &str = "ai_gateway";

pub struct Completion {
    pub text: String,
    pub summary: String,
}

/// Sends a sanitized prompt through the gateway. The gateway is told not to keep payloads in
/// its logs (`cf-aig-collect-log-payload: false`); metadata carries only the run id.
pub async fn complete(ctx: &RunContext<'_>, step: &Step, system: &str, prompt: &Sanitized) -> Result<Completion, StepError> {
    let token = ctx.read_secret(step, Binding::CloudflareAiGatewayToken).await?;
    let config = ctx.config;
    let url = format!(
        "{}/{}/{}/compat/chat/completions",
        config.ai_gateway_base_url, config.ai_gateway_account_id, config.ai_gateway_id
    );
    let body = serde_json::json!({
        "model": config.ai_model,
        "messages": [
            { "role": "system", "content": system },
            { "role": "user", "content": prompt.as_str() },
        ],
        "max_tokens": 400,
    });
    let metadata = serde_json::json!({ "run_id": ctx.run_id }).to_string();
    let build = || {
        HttpRequest::new(Method::Post, &url)
            .header("cf-aig-authorization", format!("Bearer {}", token.expose_secret()))
            .header("cf-aig-collect-log-payload", "false")
            .header("cf-aig-metadata", metadata.as_str())
            .json(&body)
    };
    let response = retry::send(ctx, step, PROVIDER, &build).await?;
    let log_id = response.header("cf-aig-log-id").unwrap_or("none").to_owned();
    let completion = parse_json(PROVIDER, &response.body)?;
    let text = completion["choices"][0]["message"]["content"]
        .as_str()
        .ok_or_else(|| StepError::InvalidResponse { provider: PROVIDER, what: "no choices[0].message.content".into() })?
        .trim()
        .to_owned();
    let usage = &completion["usage"];
    let summary = format!(
        "model {}; tokens in {}, out {}; gateway log {}",
        completion["model"].as_str().unwrap_or(&config.ai_model),
        usage["prompt_tokens"].as_u64().unwrap_or(0),
        usage["completion_tokens"].as_u64().unwrap_or(0),
        log_id,
    );
    Ok(Completion { text, summary })
}
