//! Fake Ahrefs API v3 (PROVIDER-NOTES §5d).
//!
//! Endpoints, under `/v3` and behind
//! `Authorization: Bearer <AGENCY_OS_AHREFS_API_KEY>`: `domain_rating`
//! (`GET /site-explorer/domain-rating`), `backlinks_stats`
//! (`GET /site-explorer/backlinks-stats`) and `metrics`
//! (`GET /site-explorer/metrics`). Each takes `target` and `date`
//! (`YYYY-MM-DD`), both required, plus `mode` / `protocol` from the SDK
//! index's enums. Answers nest the data under one key (`domain_rating`,
//! `metrics`) with the return fields and types of the official SDK's
//! index; values depend only on target, date and mode. Errors are
//! `{"error":"…"}` (§5d [secondary]; wordings and statuses [unverified]).

use serde_json::{json, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{query_param, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const API_KEY_BINDING: &str = "AGENCY_OS_AHREFS_API_KEY";

const DOMAIN_RATING: &str = "domain_rating";
const BACKLINKS_STATS: &str = "backlinks_stats";
const METRICS: &str = "metrics";

const MODES: [&str; 4] = ["exact", "prefix", "domain", "subdomains"];
const PROTOCOLS: [&str; 3] = ["both", "http", "https"];

pub(crate) struct Ahrefs {
    auth: [CredentialCheck; 1],
}

impl Ahrefs {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        Ok(Ahrefs {
            auth: [CredentialCheck::new(
                CredentialLocation::AuthorizationBearer,
                Accepts::binding(config, API_KEY_BINDING)?,
                // [unverified] status and wording.
                ProviderError::new(401, "Invalid API key"),
            )
            .when_missing(ProviderError::new(401, "Missing API key"))],
        })
    }
}

impl Provider for Ahrefs {
    const NAME: &'static str = "ahrefs";
    const BASE_PATH: &'static str = "/v3";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Ahrefs;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: DOMAIN_RATING,
            method: "GET",
            path: "/site-explorer/domain-rating",
        },
        Endpoint {
            name: BACKLINKS_STATS,
            method: "GET",
            path: "/site-explorer/backlinks-stats",
        },
        Endpoint {
            name: METRICS,
            method: "GET",
            path: "/site-explorer/metrics",
        },
    ];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        let required = |name: &str| {
            query_param(request, name)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| bad_request(format!("missing required parameter: {name}")))
        };
        let target = required("target")?;
        let date = required("date")?;
        if synthetic::parse_date(&date).is_none() {
            return Err(bad_request(format!(
                "date: invalid date {date:?}, expected YYYY-MM-DD"
            )));
        }
        let one_of = |name: &str, allowed: &[&str], default: &str| {
            let value = query_param(request, name).unwrap_or_else(|| default.to_owned());
            if allowed.contains(&value.as_str()) {
                Ok(value)
            } else {
                Err(bad_request(format!(
                    "{name}: must be one of {}",
                    allowed.join(", ")
                )))
            }
        };
        one_of("protocol", &PROTOCOLS, "both")?;
        let mode = if endpoint == DOMAIN_RATING {
            "domain".to_owned()
        } else {
            one_of("mode", &MODES, "subdomains")?
        };
        if let Some(output) = query_param(request, "output") {
            if output != "json" {
                return Err(bad_request("output: only json is supported".into()));
            }
        }
        let stable = |what: &str, modulus: u64| {
            synthetic::stable_u64(&["ahrefs", &target, &date, &mode, what]) % modulus
        };
        let body = match endpoint {
            DOMAIN_RATING => json!({
                "domain_rating": {
                    "domain_rating": stable("dr", 1000) as f64 / 10.0,
                    "ahrefs_rank": 1 + stable("rank", 50_000_000),
                }
            }),
            BACKLINKS_STATS => {
                let live = stable("live", 500_000);
                let live_refdomains = stable("live_refdomains", 20_000);
                json!({
                    "metrics": {
                        "live": live,
                        "all_time": live + stable("all_time", 900_000),
                        "live_refdomains": live_refdomains,
                        "all_time_refdomains": live_refdomains + stable("all_time_refdomains", 30_000),
                    }
                })
            }
            METRICS => {
                let org_keywords = stable("org_keywords", 80_000);
                json!({
                    "metrics": {
                        "org_keywords": org_keywords,
                        "paid_keywords": stable("paid_keywords", 900),
                        "org_keywords_1_3": org_keywords / 10,
                        "org_traffic": stable("org_traffic", 400_000),
                        "org_cost": cost_or_null(stable("org_cost", 2_000_000)),
                        "paid_traffic": stable("paid_traffic", 20_000),
                        "paid_cost": cost_or_null(stable("paid_cost", 300_000)),
                        "paid_pages": stable("paid_pages", 300),
                    }
                })
            }
            _ => unreachable!("{endpoint} is not an Ahrefs endpoint"),
        };
        Ok(Reply::ok(body))
    }
}

/// Costs are `int | None` in the index: a zero cost is reported as null, so both forms occur.
fn cost_or_null(cents: u64) -> Value {
    if cents % 7 == 0 {
        Value::Null
    } else {
        json!(cents)
    }
}

fn bad_request(message: String) -> ProviderError {
    ProviderError::new(400, message)
}
