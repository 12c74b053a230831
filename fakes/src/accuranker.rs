//! Fake AccuRanker API v4 (PROVIDER-NOTES §5a).
//!
//! Endpoints, under `/api/v4` and behind
//! `Authorization: Token <AGENCY_OS_ACCURANKER_API_KEY>`: `list_accounts`
//! (`GET /accounts/`), `list_domains` (`GET /domains/`) and `list_keywords`
//! (`GET /domains/{domain_id}/keywords/`, with ranks per day when `fields`
//! asks for `ranks` and `period_from`/`period_to` bound the days).
//!
//! Answers are bare JSON arrays of objects holding exactly the requested
//! `fields` (dotted names nest: `search_locale.country_code` →
//! `{"search_locale":{"country_code":…}}`), paged by `limit`/`offset` with
//! no next URL: the last page is the one shorter than `limit`. Errors are
//! DRF-style `{"detail":"…"}` ([unverified] per §5a), as is asking for a
//! field the resource does not have (400).

use serde_json::{json, Map, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{query_param, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const API_KEY_BINDING: &str = "AGENCY_OS_ACCURANKER_API_KEY";

const LIST_ACCOUNTS: &str = "list_accounts";
const LIST_DOMAINS: &str = "list_domains";
const LIST_KEYWORDS: &str = "list_keywords";

/// The synthetic account and its domains: (id, domain, display name).
const ACCOUNT_ID: u64 = 7001;
const DOMAINS: [(u64, &str, &str); 3] = [
    (501, "acme-outdoor.example", "Acme Outdoor"),
    (502, "blue-harbour.example", "Blue Harbour"),
    (503, "cedar-dental.example", "Cedar Dental"),
];
const KEYWORDS_PER_DOMAIN: u64 = 12;
/// The most days of ranks one request may span ([unverified]; the R client asks 30 at a time).
const MAX_RANK_DAYS: i64 = 366;

pub(crate) struct AccuRanker {
    auth: [CredentialCheck; 1],
}

impl AccuRanker {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        // DRF's TokenAuthentication wordings ([unverified] for AccuRanker).
        Ok(AccuRanker {
            auth: [CredentialCheck::new(
                CredentialLocation::AuthorizationScheme("Token"),
                Accepts::binding(config, API_KEY_BINDING)?,
                ProviderError::new(401, "Invalid token."),
            )
            .when_missing(ProviderError::new(
                401,
                "Authentication credentials were not provided.",
            ))],
        })
    }
}

impl Provider for AccuRanker {
    const NAME: &'static str = "accuranker";
    const BASE_PATH: &'static str = "/api/v4";
    const ERROR_SHAPE: ErrorShape = ErrorShape::AccuRanker;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: LIST_ACCOUNTS,
            method: "GET",
            path: "/accounts/",
        },
        Endpoint {
            name: LIST_DOMAINS,
            method: "GET",
            path: "/domains/",
        },
        Endpoint {
            name: LIST_KEYWORDS,
            method: "GET",
            path: "/domains/{domain_id}/keywords/",
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
        let records = match endpoint {
            LIST_ACCOUNTS => vec![json!({ "id": ACCOUNT_ID, "name": "Agency" })],
            LIST_DOMAINS => DOMAINS
                .iter()
                .map(|(id, domain, name)| {
                    json!({ "id": id, "domain": domain, "display_name": name, "account": ACCOUNT_ID })
                })
                .collect(),
            LIST_KEYWORDS => keywords(params.get("domain_id"), request)?,
            _ => unreachable!("{endpoint} is not an AccuRanker endpoint"),
        };
        let fields = query_param(request, "fields");
        let selected = records
            .iter()
            .map(|record| select(record, fields.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Reply::ok(Value::Array(page(selected, request)?)))
    }
}

/// The keywords of `domain_id`, every field filled in (ranks for the requested period).
fn keywords(domain_id: &str, request: &Request) -> Result<Vec<Value>, ProviderError> {
    let (id, domain, _) = DOMAINS
        .iter()
        .find(|(id, _, _)| id.to_string() == domain_id)
        .ok_or_else(|| ProviderError::new(404, "Not found."))?;
    let period = |name: &str| {
        query_param(request, name)
            .map(|text| {
                synthetic::parse_date(&text).ok_or_else(|| {
                    ProviderError::new(400, format!("{name}: Enter a valid date (YYYY-MM-DD)."))
                })
            })
            .transpose()
    };
    let days = match (period("period_from")?, period("period_to")?) {
        (Some(from), Some(to)) if to < from => {
            return Err(ProviderError::new(
                400,
                "period_to must not be before period_from.",
            ))
        }
        (Some(from), Some(to)) if (to - from).whole_days() >= MAX_RANK_DAYS => {
            return Err(ProviderError::new(
                400,
                format!("A period spans at most {MAX_RANK_DAYS} days."),
            ))
        }
        (Some(from), Some(to)) => {
            let mut days = vec![from];
            while let Some(next) = days
                .last()
                .and_then(|day| day.next_day())
                .filter(|day| *day <= to)
            {
                days.push(next);
            }
            days
        }
        (None, None) => Vec::new(),
        _ => {
            return Err(ProviderError::new(
                400,
                "period_from and period_to go together.",
            ))
        }
    };
    Ok((0..KEYWORDS_PER_DOMAIN)
        .map(|index| {
            let keyword = format!("{} keyword {}", domain.split(['-', '.']).next().unwrap_or(domain), index + 1);
            let stable = |what: &str, modulus: u64| {
                synthetic::stable_u64(&["accuranker", domain, &keyword, what]) % modulus
            };
            let ranks: Vec<Value> = days
                .iter()
                .map(|day| {
                    let date = day.to_string();
                    let rank = 1 + synthetic::stable_u64(&["accuranker", domain, &keyword, &date]) % 40;
                    json!({ "date": date, "rank": rank, "url": format!("https://{domain}/page-{}", index % 4 + 1) })
                })
                .collect();
            json!({
                "id": id * 1000 + index + 1,
                "keyword": keyword,
                "tags": if index % 3 == 0 { json!(["brand"]) } else { json!([]) },
                // §5a: 1 is desktop, anything else mobile.
                "search_type": if index % 2 == 0 { 1 } else { 2 },
                "starred": index == 0,
                "search_locale": { "country_code": "US", "region": "", "locale": "English", "locale_short": "en" },
                "search_location": "",
                "search_engine": { "name": "google" },
                "search_volume": {
                    "search_volume": 10 * (1 + stable("volume", 5_000)),
                    "avg_cost_per_click": stable("cpc", 900) as f64 / 100.0,
                    "competition": stable("competition", 100) as f64 / 100.0,
                },
                "ranks": ranks,
            })
        })
        .collect())
}

/// `record` reduced to the comma-separated dotted `fields` (all of it when `None`).
fn select(record: &Value, fields: Option<&str>) -> Result<Value, ProviderError> {
    let Some(fields) = fields else {
        return Ok(record.clone());
    };
    let mut selected = Map::new();
    for field in fields
        .split(',')
        .map(str::trim)
        .filter(|field| !field.is_empty())
    {
        let mut source = record;
        let mut target = &mut selected;
        let parts: Vec<&str> = field.split('.').collect();
        for (depth, part) in parts.iter().enumerate() {
            source = source
                .get(part)
                // [unverified] wording.
                .ok_or_else(|| ProviderError::new(400, format!("Unknown field: {field}")))?;
            if depth + 1 == parts.len() {
                target.insert((*part).to_owned(), source.clone());
            } else {
                target = target
                    .entry(*part)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .ok_or_else(|| ProviderError::new(400, format!("Unknown field: {field}")))?;
            }
        }
    }
    Ok(Value::Object(selected))
}

/// `limit`/`offset` paging of a bare array (§5a: no next URL).
fn page(records: Vec<Value>, request: &Request) -> Result<Vec<Value>, ProviderError> {
    let number = |name: &str| {
        query_param(request, name)
            .map(|value| {
                value.parse::<usize>().map_err(|_| {
                    ProviderError::new(400, format!("{name}: A valid integer is required."))
                })
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    let limit = number("limit")?.unwrap_or(usize::MAX);
    Ok(records.into_iter().skip(offset).take(limit).collect())
}
