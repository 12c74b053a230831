//! Provider calls with retries: 429 honours `Retry-After` up to a limit, 5xx and transport
//! failures back off exponentially with seeded jitter, and no call makes more than four attempts.

use std::time::Duration;

use crate::context::{RunContext, Step};
use crate::error::{provider_error_code, StepError};
use crate::http::{path_without_query, HttpRequest, HttpResponse};

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_retry_after_s: u64,
    pub base_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

pub const DEFAULT_POLICY: RetryPolicy =
    RetryPolicy { max_attempts: 4, max_retry_after_s: 30, base_backoff_ms: 500, max_backoff_ms: 8_000 };

enum Verdict {
    Done(HttpResponse),
    /// Retryable: wait, then try again; `error` is what the step reports if no attempts remain.
    Retry { wait: Duration, error: StepError },
    Fail(StepError),
}

/// Sends the request built by `build` (rebuilt per attempt) until it succeeds (2xx), fails for
/// good, or runs out of attempts. Counts attempts on `step`.
pub async fn send(
    ctx: &RunContext<'_>,
    step: &Step,
    provider: &'static str,
    build: &dyn Fn() -> HttpRequest,
) -> Result<HttpResponse, StepError> {
    let policy = DEFAULT_POLICY;
    let mut attempt = 0;
    loop {
        attempt += 1;
        step.attempt();
        let request = build();
        let path = path_without_query(&request.url).to_owned();
        let verdict = match ctx.platform.http.send(request).await {
            Ok(response) => judge(ctx, &policy, response, provider, &path, attempt),
            Err(transport) => Verdict::Retry {
                wait: backoff(ctx, &policy, attempt),
                error: StepError::Transport { provider, path: path.clone(), attempts: attempt, detail: transport.0 },
            },
        };
        match verdict {
            Verdict::Done(response) => return Ok(response),
            Verdict::Fail(error) => return Err(error),
            Verdict::Retry { error, .. } if attempt >= policy.max_attempts => return Err(error),
            Verdict::Retry { wait, .. } => {
                ctx.log(
                    crate::platform::LogLevel::Warn,
                    &format!("{provider} {path}: attempt {attempt} failed, retrying in {} ms", wait.as_millis()),
                );
                ctx.platform.sleeper.sleep(wait).await;
            }
        }
    }
}

fn judge(
    ctx: &RunContext<'_>,
    policy: &RetryPolicy,
    response: HttpResponse,
    provider: &'static str,
    path: &str,
    attempt: u32,
) -> Verdict {
    if (200..300).contains(&response.status) {
        return Verdict::Done(response);
    }
    let error = StepError::Http {
        provider,
        path: path.to_owned(),
        status: response.status,
        code: provider_error_code(&response.body),
        attempts: attempt,
        #[cfg(feature = "mutants")]
        raw_body: String::from_utf8_lossy(&response.body).into_owned(),
    };
    match response.status {
        429 => match response.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(seconds) if seconds > policy.max_retry_after_s => Verdict::Fail(StepError::RetryAfterTooLong {
                provider,
                path: path.to_owned(),
                retry_after_s: seconds,
                limit_s: policy.max_retry_after_s,
            }),
            Some(seconds) => Verdict::Retry { wait: Duration::from_secs(seconds), error },
            None => Verdict::Retry { wait: backoff(ctx, policy, attempt), error },
        },
        500..=599 => Verdict::Retry { wait: backoff(ctx, policy, attempt), error },
        _ => Verdict::Fail(error),
    }
}

/// Exponential backoff with "full jitter": a seeded random wait up to the attempt's ceiling.
fn backoff(ctx: &RunContext<'_>, policy: &RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy.base_backoff_ms.saturating_mul(1 << (attempt - 1).min(16)).min(policy.max_backoff_ms);
    let jitter = ctx.platform.random.next_u64() % (ceiling / 2 + 1);
    Duration::from_millis(ceiling / 2 + jitter)
}
