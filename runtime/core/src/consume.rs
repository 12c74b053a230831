//! The queue consumer: one task job becomes one run. The agent's own events are ignored; the
//! task is fetched with the Asana PAT alone and checked before any source or model binding can be
//! read; the (task, skill) claim is taken atomically; then the skill runs in its own scope.

use crate::binding::Binding;
use crate::config::Config;
use crate::context::{RunContext, Step};
use crate::eligibility::{self, Decision};
use crate::job::TaskJob;
use crate::platform::{Platform, StoreError};
use crate::providers::asana;
use crate::redact::Sanitized;
use crate::secrets::SecretScope;
use crate::skills;
use crate::trace::{self, NewRun, RunKind, RunStatus, Statement};

/// What became of a job, for the platform layer's logs and acks.
#[derive(Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub run_id: String,
    pub status: RunStatus,
    pub reason: String,
}

/// Processes one job. `Err` only when the trace store fails, so the platform can retry the
/// message; every other failure is a finished run with its reason.
pub async fn process(platform: &Platform, config: &Config, job: &TaskJob) -> Result<RunOutcome, StoreError> {
    let ctx = RunContext::new(platform, config, SecretScope::of([Binding::AsanaAgentPat]));
    let step = ctx.begin_step("eligibility", Some("asana"));

    if job.event_user_gid.as_deref() == Some(config.agent_user_gid.as_str()) {
        let reason = Sanitized::from_static("event caused by the agent itself");
        let outcome = Ok(Some(reason.clone()));
        ctx.commit_first_step(&step, &outcome, new_run(&ctx, job, RunStatus::Ignored, Some(&reason)), Vec::new()).await?;
        return Ok(outcome_of(&ctx, RunStatus::Ignored, reason));
    }

    let checked = match ctx.read_secret(&step, Binding::AsanaAgentPat).await {
        Ok(pat) => asana::get_task(&ctx, &step, &pat, &job.task_gid).await,
        Err(error) => Err(error),
    };
    let task = match checked {
        Ok(task) => task,
        Err(error) => {
            let text = ctx.describe(&step, &error);
            return end_at_eligibility(&ctx, &step, job, RunStatus::Failed, Err(text)).await;
        }
    };
    let skill = match eligibility::decide(&task, config) {
        Decision::Ineligible(reason) => {
            let reason = ctx.sanitize(&step, "runs.reason", &reason);
            return end_at_eligibility(&ctx, &step, job, RunStatus::Ineligible, Ok(Some(reason))).await;
        }
        Decision::Eligible(name) => skills::find(name).expect("eligibility names only known skills"),
    };

    let summary = Ok(Some(ctx.sanitize(&step, "step.summary", &format!("eligible for {}", skill.name))));
    let claim = trace::claim_run(&ctx.run_id, skill.name);
    match ctx.commit_first_step(&step, &summary, new_run(&ctx, job, RunStatus::Checking, None), vec![claim]).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            let reason = Sanitized::from_static("already processed: another run holds this task and skill");
            return end_at_eligibility(&ctx, &step, job, RunStatus::Ineligible, Ok(Some(reason))).await;
        }
        Err(other) => return Err(other),
    }

    ctx.enter_scope(skill.scope());
    let (status, reason) = skill.run(&ctx, &task).await?;
    Ok(RunOutcome { run_id: ctx.run_id.clone(), status, reason })
}


fn new_run(ctx: &RunContext<'_>, job: &TaskJob, status: RunStatus, reason: Option<&Sanitized>) -> Statement {
    trace::insert_run(&NewRun {
        id: &ctx.run_id,
        kind: RunKind::Task,
        delivery_id: Some(&job.delivery_id),
        task_gid: Some(&job.task_gid),
        status,
        reason,
        at: &ctx.now(),
        finished: status != RunStatus::Checking,
    })
}

/// Ends the run at eligibility (ineligible, or failed to check) in one batch with its step.
async fn end_at_eligibility(
    ctx: &RunContext<'_>,
    step: &Step,
    job: &TaskJob,
    status: RunStatus,
    outcome: Result<Option<Sanitized>, Sanitized>,
) -> Result<RunOutcome, StoreError> {
    let reason = match &outcome {
        Ok(Some(reason)) | Err(reason) => reason.clone(),
        Ok(None) => Sanitized::from_static(""),
    };
    ctx.commit_first_step(step, &outcome, new_run(ctx, job, status, Some(&reason)), Vec::new()).await?;
    Ok(outcome_of(ctx, status, reason))
}

fn outcome_of(ctx: &RunContext<'_>, status: RunStatus, reason: Sanitized) -> RunOutcome {
    RunOutcome { run_id: ctx.run_id.clone(), status, reason: reason.into_string() }
}
