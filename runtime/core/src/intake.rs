//! Intake: `POST /webhooks/asana`. Handshakes are echoed; deliveries are verified (hex
//! HMAC-SHA256 of the raw body, keyed with `ASANA_WEBHOOK_SECRET`, compared in constant time)
//! before anything else happens, recorded, queued, and answered at once. Intake may read only
//! the webhook secret.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::binding::Binding;
use crate::config::Config;
use crate::context::{RunContext, Step};
use crate::http::{InboundRequest, InboundResponse};
use crate::job::TaskJob;
use crate::platform::{LogLevel, Platform};
use crate::redact::Sanitized;
use crate::secrets::SecretScope;
use crate::trace::{self, NewRun, RunKind, RunStatus};

pub const WEBHOOK_PATH: &str = "/webhooks/asana";

pub async fn handle(platform: &Platform, config: &Config, request: InboundRequest) -> InboundResponse {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/health") => InboundResponse::json(200, Sanitized::from_static(r#"{"ok":true}"#)),
        ("POST", WEBHOOK_PATH) => webhook(platform, config, request).await,
        (_, WEBHOOK_PATH) => InboundResponse::json(405, Sanitized::from_static(r#"{"error":"method not allowed"}"#)),
        _ => InboundResponse::json(404, Sanitized::from_static(r#"{"error":"not found"}"#)),
    }
}

/// How a delivery ends at intake; each outcome is one batch: the run row, its step, its reads.
struct Verdict {
    status: RunStatus,
    http_status: u16,
    reason: String,
    body: Sanitized,
}

async fn webhook(platform: &Platform, config: &Config, request: InboundRequest) -> InboundResponse {
    let ctx = RunContext::new(platform, config, SecretScope::of([Binding::AsanaWebhookSecret]));
    let step = ctx.begin_step("intake.verify", Some("asana"));

    if let Some(offered) = request.header("x-hook-secret") {
        // Asana's handshake: echo the secret it chose. Say whether it matches the binding, so an
        // operator knows whether ASANA_WEBHOOK_SECRET must be updated.
        let configured = ctx.read_secret(&step, Binding::AsanaWebhookSecret).await.ok();
        let matches = configured.as_ref().is_some_and(|c| constant_time_eq(c.expose_secret().as_bytes(), offered.as_bytes()));
        let reason = if matches { "handshake; secret matches the binding" } else { "handshake; secret differs from ASANA_WEBHOOK_SECRET" };
        let verdict = Verdict { status: RunStatus::Handshake, http_status: 200, reason: reason.into(), body: Sanitized::from_static("") };
        let mut response = record(&ctx, &step, verdict).await;
        response.hook_secret_echo = Some(secrecy::SecretString::from(offered.to_owned()));
        return response;
    }

    let Some(signature) = request.header("x-hook-signature") else {
        return reject(&ctx, &step, 401, "missing X-Hook-Signature").await;
    };
    let secret = match ctx.read_secret(&step, Binding::AsanaWebhookSecret).await {
        Ok(secret) => secret,
        Err(error) => {
            let reason = ctx.describe(&step, &error).into_string();
            return reject(&ctx, &step, 500, &reason).await;
        }
    };
    if !signature_matches(secret.expose_secret().as_bytes(), &request.body, signature) {
        return reject(&ctx, &step, 401, "X-Hook-Signature does not match the body").await;
    }
    let Some(events) = parse_events(&request.body) else {
        return reject(&ctx, &step, 400, "body is not an Asana event delivery").await;
    };
    if events.is_empty() {
        // A heartbeat: answered, not recorded.
        return InboundResponse::json(200, Sanitized::from_static(r#"{"accepted":0}"#));
    }

    let jobs = task_jobs(&ctx.run_id, &events);
    for job in &jobs {
        if let Err(error) = platform.queue.send(job.clone()).await {
            let reason = format!("work queue refused the delivery: {error}");
            return reject(&ctx, &step, 503, &reason).await;
        }
    }
    let reason = format!("{} event(s), {} task job(s) queued", events.len(), jobs.len());
    let body = ctx.sanitize(&step, "response.body", &format!(r#"{{"accepted":{}}}"#, jobs.len()));
    record(&ctx, &step, Verdict { status: RunStatus::Accepted, http_status: 200, reason, body }).await
}

async fn reject(ctx: &RunContext<'_>, step: &Step, http_status: u16, reason: &str) -> InboundResponse {
    ctx.log(LogLevel::Warn, &format!("webhook rejected ({http_status}): {reason}"));
    let body = ctx.sanitize(step, "response.body", &serde_json::json!({ "error": reason }).to_string());
    let verdict = Verdict { status: RunStatus::Rejected, http_status, reason: reason.to_owned(), body };
    record(ctx, step, verdict).await
}

/// Writes the delivery's run row with its intake step in one batch. A trace failure turns the
/// answer into a 500, so Asana delivers again rather than the delivery being lost.
async fn record(
    ctx: &RunContext<'_>,
    step: &Step,
    verdict: Verdict,
) -> InboundResponse {
    let reason = ctx.sanitize(step, "runs.reason", &verdict.reason);
    let at = ctx.now();
    let run = trace::insert_run(&NewRun {
        id: &ctx.run_id,
        kind: RunKind::Delivery,
        delivery_id: Some(&ctx.run_id),
        task_gid: None,
        status: verdict.status,
        reason: Some(&reason),
        at: &at,
        finished: true,
    });
    let outcome = match verdict.status {
        RunStatus::Rejected => Err(reason.clone()),
        _ => Ok(Some(reason.clone())),
    };
    if let Err(error) = ctx.commit_first_step(step, &outcome, run, Vec::new()).await {
        ctx.log(LogLevel::Error, &format!("trace store failed at intake: {error}"));
        return InboundResponse::json(500, Sanitized::from_static(r#"{"error":"trace store unavailable"}"#));
    }
    InboundResponse::json(verdict.http_status, verdict.body)
}

fn signature_matches(key: &[u8], body: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn parse_events(body: &[u8]) -> Option<Vec<serde_json::Value>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("events")?.as_array().cloned()
}

/// One job per (task, acting user): task events name the task; story events name it as parent.
fn task_jobs(delivery_id: &str, events: &[serde_json::Value]) -> Vec<TaskJob> {
    let mut jobs: Vec<TaskJob> = Vec::new();
    for event in events {
        let resource = &event["resource"];
        let task_gid = match resource["resource_type"].as_str() {
            Some("task") => resource["gid"].as_str(),
            _ if event["parent"]["resource_type"].as_str() == Some("task") => event["parent"]["gid"].as_str(),
            _ => None,
        };
        let Some(task_gid) = task_gid else { continue };
        let job = TaskJob {
            delivery_id: delivery_id.to_owned(),
            task_gid: task_gid.to_owned(),
            event_user_gid: event["user"]["gid"].as_str().map(str::to_owned),
        };
        if !jobs.contains(&job) {
            jobs.push(job);
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        let key = b"Jefe";
        let body = b"what do ya want for nothing?";
        let good = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert!(signature_matches(key, body, good));
        assert!(signature_matches(key, body, &good.to_uppercase()));
        assert!(!signature_matches(key, body, &good.replace('5', "6")));
        assert!(!signature_matches(key, body, "not hex"));
        assert!(!signature_matches(key, body, ""));
    }

    #[test]
    fn jobs_come_from_tasks_and_story_parents_once_each() {
        let events: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"user":{"gid":"9"},"resource":{"gid":"1","resource_type":"task"},"action":"changed"},
                {"user":{"gid":"9"},"resource":{"gid":"1","resource_type":"task"},"action":"changed"},
                {"user":{"gid":"7"},"resource":{"gid":"55","resource_type":"story"},"parent":{"gid":"1","resource_type":"task"},"action":"added"},
                {"user":{"gid":"9"},"resource":{"gid":"3","resource_type":"project"},"action":"changed"}]"#,
        )
        .unwrap();
        let jobs = task_jobs("d", &events);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[1].event_user_gid.as_deref(), Some("7"));
    }
}
