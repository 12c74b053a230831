//! Fault injection, one mechanism for every fake. A [`FaultSpec`] names a
//! fake's endpoint; the [`FaultBook`] counts the requests that endpoint
//! receives and says, per request, which fault (if any) applies.
//!
//! Which requests are faulted: the first `statuses.len()` (every later one
//! too under `repeat_last`); with empty `statuses`, every request. A faulted
//! request with a status is answered with that status in the provider's own
//! error shape instead of being served; without one it is served normally,
//! then slowed, truncated or echoing as the knobs say.
//!
//! Two knobs act below HTTP, on the wire (`crate::wire_faults`): `short_body`
//! sends the answer's full `Content-Length` but only half its body, then
//! closes; `reset_mid_body` sends half the body, then resets the connection
//! (TCP RST). A fake with such a fault is served through a raw TCP proxy,
//! and the base URL handed out is the proxy's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use crate::config::FakesError;
use crate::server::FakeEndpoints;
pub(crate) use crate::wire_faults::WireFault;

/// A fault scenario files embed verbatim.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `"asana" | "google_oauth" | "ga4" | "ai_gateway" | "accuranker" |
    /// "dataforseo" | "semrush" | "ahrefs" | "browser_run" | "box_auth" | "box_api" |
    /// "box_upload" | "box_download" | "google_ads" | "pagespeed" | "meta" | "harvest"`
    /// (and every other fake's name).
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
    /// The faulted answers (every answer when `statuses` is empty) announce
    /// their full `Content-Length`, carry half the body, then the connection
    /// resets (RST) mid-body.
    #[serde(default)]
    pub reset_mid_body: bool,
    /// The faulted answers carry half the body their `Content-Length`
    /// announces, then the connection closes cleanly (FIN): a body shorter
    /// than its `Content-Length`.
    #[serde(default)]
    pub short_body: bool,
}

impl FaultSpec {
    /// The wire fault this spec asks for, if any.
    pub(crate) fn wire(&self) -> Option<WireFault> {
        if self.reset_mid_body {
            Some(WireFault::ResetMidBody)
        } else if self.short_body {
            Some(WireFault::ShortBody)
        } else {
            None
        }
    }
}

/// What applies to one faulted request.
#[derive(Debug, Default)]
pub(crate) struct AppliedFault {
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub delay: Option<Duration>,
    pub malformed_body: bool,
    pub echo_credential: bool,
    /// Cut the answer on the wire.
    pub wire: Option<WireFault>,
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
            wire: spec.wire(),
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

    /// Whether any fault of `fake` cuts answers on the wire (so its server
    /// needs the wire-fault proxy in front).
    pub fn cuts_on_the_wire(&self, fake: &str) -> bool {
        self.faults
            .iter()
            .any(|((name, _), fault)| *name == fake && crate::lock(fault).spec.wire().is_some())
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
    if spec.reset_mid_body && spec.short_body {
        return Err(invalid(
            spec,
            "reset_mid_body and short_body both cut the body; choose one",
        ));
    }
    let does_something = !spec.statuses.is_empty()
        || spec.delay_ms.is_some()
        || spec.malformed_body
        || spec.echo_credential
        || spec.wire().is_some();
    if !does_something {
        return Err(invalid(
            spec,
            "the fault changes nothing (no statuses, delay, malformed body, echo or wire cut)",
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
