//! Skill `ga4-traffic-report`: the last 28 days against the 28 before, summarised through the
//! AI Gateway, stored in R2, and reported on the task.

use std::collections::BTreeMap;

use super::{ErrorReporting, Skill};
use crate::binding::Binding;
use crate::context::{Failure, RunContext, Step};
use crate::platform::{Artifact, StoreError};
use crate::providers::asana::{self, Task};
use crate::providers::ga4::{self, Period};
use crate::providers::{ai_gateway, google_oauth};
use crate::redact::Sanitized;
use crate::report::{self, ReportInput};
use crate::trace::{self, RunStatus};
use crate::error::StepError;

pub const PROPERTY_FIELD: &str = "GA4 property";

const SYSTEM_PROMPT: &str = "You are Jessie, an agency's reporting assistant. Summarise the GA4 traffic figures \
you are given in three short sentences for an account manager: overall change, the channels that moved most, \
and one thing to look at. Use only the figures given.";

/// Runs the skill; returns the run's final status and reason. Every step is traced, and the run
/// ends with a comment on the task: the report's summary, or a caveat saying what failed.
pub async fn run(ctx: &RunContext<'_>, skill: &Skill, task: &Task) -> Result<(RunStatus, String), StoreError> {
    match produce(ctx, skill, task).await? {
        Ok(comment) => {
            let compose = |step: &Step| ctx.sanitize(step, "asana.comment", &comment);
            finish_with_comment(ctx, task, RunStatus::Succeeded, "report posted".to_owned(), compose).await
        }
        Err(failure) => {
            let reason = format!("{} failed: {}", failure.step, failure.text);
            let compose = |step: &Step| caveat_comment(ctx, step, skill, &failure);
            finish_with_comment(ctx, task, RunStatus::Failed, reason, compose).await
        }
    }
}

/// Everything up to the comment; the comment's text comes back (not yet sanitized).
async fn produce(ctx: &RunContext<'_>, skill: &Skill, task: &Task) -> Result<Result<String, Failure>, StoreError> {
    macro_rules! settle {
        ($step:expr, $result:expr, $summary:expr) => {
            match ctx.settle(&$step, $result, $summary).await? {
                Ok(value) => value,
                Err(failure) => return Ok(Err(failure)),
            }
        };
    }

    // Inputs first: a task missing its property fails before any source credential is read.
    let step = ctx.begin_step("skill.inputs", None);
    let property = task
        .custom_fields
        .get(PROPERTY_FIELD)
        .and_then(|v| ga4::property_id(v))
        .ok_or_else(|| StepError::MissingInput(format!("the task has no numeric custom field \"{PROPERTY_FIELD}\"")));
    let property = settle!(step, property, |p| format!("GA4 property {p}"));

    let step = ctx.begin_step("google_oauth.refresh", Some("google_oauth"));
    let access_token = settle!(step, google_oauth::access_token(ctx, &step).await, |_| "access token minted".to_owned());

    let step = ctx.begin_step("ga4.run_report", Some("ga4"));
    let result = ga4::traffic_comparison(ctx, &step, &access_token, &property, periods(ctx)).await;
    let comparison = settle!(step, result, |c| format!("{} rows in {} page(s), {} channels", c.rows, c.pages, c.channels.len()));

    let step = ctx.begin_step("ai_gateway.summarize", Some("ai_gateway"));
    let prompt = ctx.sanitize(&step, "ai_gateway.prompt", &report::figures_for_prompt(&comparison));
    let completion = settle!(step, ai_gateway::complete(ctx, &step, SYSTEM_PROMPT, &prompt).await, |c| c.summary.clone());

    let step = ctx.begin_step("report.store", Some("r2"));
    let caveats = report::caveats(&comparison);
    let generated_at = ctx.now();
    let input = ReportInput {
        run_id: &ctx.run_id,
        task_gid: &task.gid,
        task_name: &task.name,
        skill: skill.name,
        comparison: &comparison,
        summary: &completion.text,
        caveats: &caveats,
        generated_at: &generated_at,
    };
    let stored = store_report(ctx, &step, &input).await;
    settle!(step, stored, |keys| format!("stored {}", keys.join(", ")));

    let link = run_link(ctx);
    Ok(Ok(report::comment("GA4 traffic report: last 28 days vs the 28 before", &completion.text, &caveats, &link)))
}

fn periods(ctx: &RunContext<'_>) -> [Period; 2] {
    let clock = &*ctx.platform.clock;
    let period = |name, from, to| Period {
        name,
        start_date: crate::ids::date_days_before(clock, from),
        end_date: crate::ids::date_days_before(clock, to),
    };
    [period("current", 28, 1), period("previous", 56, 29)]
}

async fn store_report(ctx: &RunContext<'_>, step: &Step, input: &ReportInput<'_>) -> Result<Vec<String>, StepError> {
    let mut metadata = BTreeMap::new();
    metadata.insert("run_id".to_owned(), ctx.sanitize(step, "r2.metadata", &ctx.run_id));
    metadata.insert("skill".to_owned(), Sanitized::from_static("ga4-traffic-report"));
    metadata.insert("task_gid".to_owned(), ctx.sanitize(step, "r2.metadata", input.task_gid));
    let objects = [
        ("report.html", "text/html; charset=utf-8", report::html(input)),
        ("report.json", "application/json", report::json(input)),
    ];
    let mut keys = Vec::new();
    for (name, content_type, body) in objects {
        step.attempt();
        let key = ctx.sanitize(step, "r2.key", &format!("runs/{}/{name}", ctx.run_id));
        let body = ctx.sanitize(step, &format!("r2.body:{name}"), &body);
        ctx.platform
            .artifacts
            .put(Artifact { key: key.clone(), body, content_type, metadata: metadata.clone() })
            .await?;
        keys.push(key.into_string());
    }
    Ok(keys)
}

fn run_link(ctx: &RunContext<'_>) -> String {
    format!("{}/runs/{}", ctx.config.dashboard_url, ctx.run_id)
}

/// The comment for a failed run: which step failed and why, in the sanitized compact form.
fn caveat_comment(ctx: &RunContext<'_>, step: &Step, skill: &Skill, failure: &Failure) -> Sanitized {
    let mut caveats = vec![format!("Step {} failed: {}", failure.step, failure.text)];
    if failure.error.is_rate_limit() {
        caveats.push("The provider limited our requests; the report can be retried later.".to_owned());
    }
    caveats.push("No report was produced. A new change to the task can retry it.".to_owned());
    let comment = report::comment("Jessie could not finish the GA4 traffic report", "", &caveats, &run_link(ctx));
    match skill.error_reporting {
        ErrorReporting::Sanitized => ctx.sanitize(step, "asana.comment", &comment),
        // Built to leak: the provider's raw error body, appended after the sanitizer ran.
        #[cfg(feature = "mutants")]
        ErrorReporting::RawProviderBodyMutant => {
            let raw = match &failure.error {
                StepError::Http { raw_body, .. } => raw_body.as_str(),
                _ => "",
            };
            let clean = ctx.sanitize(step, "asana.comment", &comment).into_string();
            Sanitized::unchecked_for_mutant(clean.replace("</body>", &format!("\n<code>{raw}</code></body>")))
        }
    }
}

/// Posts the comment `compose` writes and finishes the run in the comment step's batch.
async fn finish_with_comment(
    ctx: &RunContext<'_>,
    task: &Task,
    status: RunStatus,
    reason: String,
    compose: impl FnOnce(&Step) -> Sanitized,
) -> Result<(RunStatus, String), StoreError> {
    let step = ctx.begin_step("asana.comment", Some("asana"));
    let html = compose(&step);
    let posted = match ctx.read_secret(&step, Binding::AsanaAgentPat).await {
        Ok(pat) => asana::post_comment(ctx, &step, &pat, &task.gid, &html).await,
        Err(error) => Err(error),
    };
    let (status, reason, outcome) = match posted {
        Ok(story) => (status, reason, Ok(Some(ctx.sanitize(&step, "step.summary", &format!("story {story}"))))),
        Err(error) => {
            let text = ctx.describe(&step, &error);
            (RunStatus::Failed, format!("asana.comment failed: {text}"), Err(text))
        }
    };
    let reason_text = ctx.sanitize(&step, "runs.reason", &reason);
    let finish = trace::finish_run(&ctx.run_id, status, Some(&reason_text), &ctx.now());
    ctx.commit_step(&step, &outcome, vec![finish]).await?;
    Ok((status, reason_text.into_string()))
}
