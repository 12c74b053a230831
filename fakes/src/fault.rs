//! Fault injection, one mechanism for every fake. A [`FaultSpec`] names a
//! fake's endpoint; the [`FaultBook`] counts the requests that endpoint
//! receives and says, per request, which fault (if any) applies.
//!
//! Which requests are faulted: the first `statuses.len()` (every later one
//! too under `repeat_last`); with empty `statuses`, every request. A faulted
//! request with a status is answered with that status in the provider's own
//! error shape instead of being served; without one it is served normally,
//! then slowed, truncated or echoing as the knobs say.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use crate::config::FakesError;
use crate::server::FakeEndpoints;

/// A fault scenario files embed verbatim.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `"asana" | "google_oauth" | "ga4" | "ai_gateway"`.
    pub fake: String,
    /// A named endpoint of that fake, e.g. `"get_task"`, `"run_report"`.
    pub endpoint: String,
    /// Answer the first N requests with these statuses, then behave normally.
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// Keep answering the last status forever.
    #[serde(default)]
    pub repeat_last: bool,
    /// Sent as `Retry-After` on 429/503 answers (seconds, as text).
    pub retry_after: Option<String>,
    pub delay_ms: Option<u64>,
    /// A truncated JSON body on the faulted answers (on success answers when
    /// `statuses` is empty).
    #[serde(default)]
    pub malformed_body: bool,
    /// Error bodies echo the presented credential in the provider's own shape;
    /// with empty `statuses`, the fake's normal credential rejections echo.
    #[serde(default)]
    pub echo_credential: bool,
}

/// What applies to one faulted request.
#[derive(Debug, Default)]
pub(crate) struct AppliedFault {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
    pub malformed_body: bool,
    pub echo_credential: bool,
}

struct ActiveFault {
    spec: FaultSpec,
    requests_seen: usize,
}

impl ActiveFault {
    fn next(&mut self) -> Option<AppliedFault> {
        let spec = &self.spec;
        let status = match spec.statuses.get(self.requests_seen) {
            Some(&status) => Some(status),
            None if spec.statuses.is_empty() => None,
            None if spec.repeat_last => spec.statuses.last().copied(),
            None => return None,
        };
        self.requests_seen += 1;
        Some(AppliedFault {
            status,
            retry_after: spec
                .retry_after
                .clone()
                .filter(|_| matches!(status, Some(429 | 503))),
            delay: spec.delay_ms.map(Duration::from_millis),
            malformed_body: spec.malformed_body,
            echo_credential: spec.echo_credential,
        })
    }
}

/// The faults of one [`crate::Fakes`] instance, keyed by (fake, endpoint).
pub(crate) struct FaultBook {
    faults: HashMap<(&'static str, &'static str), Mutex<ActiveFault>>,
}

impl FaultBook {
    /// Validates every spec against the known fakes and endpoints; any misuse
    /// is an error here rather than a fault that silently never fires.
    pub fn new(specs: &[FaultSpec], known: &[FakeEndpoints]) -> Result<Self, FakesError> {
        let mut faults = HashMap::new();
        for spec in specs {
            let key = resolve(spec, known)?;
            check_knobs(spec)?;
            let active = ActiveFault {
                spec: spec.clone(),
                requests_seen: 0,
            };
            if faults.insert(key, Mutex::new(active)).is_some() {
                return Err(invalid(
                    spec,
                    "a second fault for the same endpoint; put both in one spec",
                ));
            }
        }
        Ok(FaultBook { faults })
    }

    /// The fault for this request to `fake`'s `endpoint`, counting it.
    pub fn next(&self, fake: &'static str, endpoint: &'static str) -> Option<AppliedFault> {
        crate::lock(self.faults.get(&(fake, endpoint))?).next()
    }
}

fn resolve(
    spec: &FaultSpec,
    known: &[FakeEndpoints],
) -> Result<(&'static str, &'static str), FakesError> {
    let fake = known
        .iter()
        .find(|fake| fake.name == spec.fake)
        .ok_or_else(|| FakesError::UnknownFake {
            fake: spec.fake.clone(),
            known: known
                .iter()
                .map(|fake| fake.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let endpoint = fake
        .endpoints
        .iter()
        .find(|endpoint| endpoint.name == spec.endpoint)
        .ok_or_else(|| FakesError::UnknownEndpoint {
            fake: spec.fake.clone(),
            endpoint: spec.endpoint.clone(),
            known: fake
                .endpoints
                .iter()
                .map(|endpoint| endpoint.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    Ok((fake.name, endpoint.name))
}

fn check_knobs(spec: &FaultSpec) -> Result<(), FakesError> {
    if let Some(status) = spec
        .statuses
        .iter()
        .find(|status| !(400..=599).contains(*status))
    {
        return Err(invalid(
            spec,
            &format!("status {status} is not an error status (400-599)"),
        ));
    }
    if spec.repeat_last && spec.statuses.is_empty() {
        return Err(invalid(spec, "repeat_last needs at least one status"));
    }
    if let Some(retry_after) = &spec.retry_after {
        if !spec
            .statuses
            .iter()
            .any(|status| matches!(status, 429 | 503))
        {
            return Err(invalid(
                spec,
                "retry_after is only sent on 429/503 answers, and statuses has neither",
            ));
        }
        if retry_after.is_empty()
            || !retry_after
                .bytes()
                .all(|byte| byte.is_ascii_graphic() || byte == b' ')
        {
            return Err(invalid(
                spec,
                "retry_after must be non-empty printable ASCII",
            ));
        }
    }
    let does_something = !spec.statuses.is_empty()
        || spec.delay_ms.is_some()
        || spec.malformed_body
        || spec.echo_credential;
    if !does_something {
        return Err(invalid(
            spec,
            "the fault changes nothing (no statuses, delay, malformed body or echo)",
        ));
    }
    Ok(())
}

fn invalid(spec: &FaultSpec, reason: &str) -> FakesError {
    FakesError::InvalidFault {
        fake: spec.fake.clone(),
        endpoint: spec.endpoint.clone(),
        reason: reason.into(),
    }
}
