//! Fake GA4 Data API (PROVIDER-NOTES §3b): `runReport` with synthetic,
//! deterministic figures.
//!
//! Endpoint: `run_report` (`POST /v1beta/properties/{id}:runReport`), behind
//! `Authorization: Bearer <token minted by this Fakes' OAuth fake>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError, Ga4Fixture};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation, TokenMint};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

const RUN_REPORT: &str = "run_report";

const DEFAULT_DIMENSION_VALUES: usize = 5;
/// The API's default and largest page (RunReportRequest `limit` docs).
const DEFAULT_LIMIT: usize = 10_000;
const MAX_LIMIT: usize = 250_000;
/// The API's caps per request.
const MAX_DATE_RANGES: usize = 4;
const MAX_DIMENSIONS: usize = 9;
const MAX_METRICS: usize = 10;

// Google's standard texts for a missing and a rejected OAuth token.
pub(crate) const CREDENTIALS_MISSING: &str = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const CREDENTIALS_INVALID: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

pub(crate) struct Ga4 {
    properties: BTreeMap<String, Ga4Fixture>,
    auth: [CredentialCheck; 1],
}

impl Ga4 {
    pub fn new(config: &FakesConfig, access_tokens: Arc<TokenMint>) -> Result<Self, FakesError> {
        let bearer = CredentialCheck::new(
            CredentialLocation::AuthorizationBearer,
            Accepts::MintedBy(access_tokens),
            ProviderError::new(401, CREDENTIALS_INVALID).code("ACCESS_TOKEN_TYPE_UNSUPPORTED"),
        )
        .when_missing(ProviderError::new(401, CREDENTIALS_MISSING).code("CREDENTIALS_MISSING"));
        let properties = config.ga4_properties_by_id()?;
        for (property_id, fixture) in &properties {
            // Zero would make every page empty, so a client following `offset` never finishes.
            if fixture.page_size_cap == Some(0) || fixture.dimension_values == Some(0) {
                return Err(FakesError::InvalidFixture {
                    kind: "GA4 property",
                    key: property_id.clone(),
                    reason: "page_size_cap and dimension_values must be at least 1",
                });
            }
        }
        Ok(Ga4 {
            properties,
            auth: [bearer],
        })
    }
}

impl Provider for Ga4 {
    const NAME: &'static str = "ga4";
    const BASE_PATH: &'static str = "/v1beta";
    const ERROR_SHAPE: ErrorShape = ErrorShape::GoogleApi {
        service: "analyticsdata.googleapis.com",
    };
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: RUN_REPORT,
        method: "POST",
        path: "/properties/{property_id}:runReport",
    }];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        assert_eq!(
            endpoint, RUN_REPORT,
            "runReport is the GA4 fake's only endpoint"
        );
        let property_id = params.get("property_id");
        let fixture = self.properties.get(property_id).ok_or_else(|| {
            // [secondary] GA4's wording for a property the caller cannot read.
            ProviderError::new(
                403,
                "User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
            )
        })?;
        let report_request: RunReportRequest = request
            .body_json()
            .map_err(|error| invalid_argument(format!("Invalid JSON payload received. {error}")))?;
        Ok(Reply::ok(
            Report::new(property_id, fixture, &report_request)?.page(&report_request)?,
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunReportRequest {
    #[serde(default)]
    date_ranges: Vec<DateRange>,
    #[serde(default)]
    dimensions: Vec<Named>,
    #[serde(default)]
    metrics: Vec<Named>,
    limit: Option<Int64>,
    offset: Option<Int64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DateRange {
    start_date: String,
    end_date: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

/// proto3 JSON writes int64 as a string, but accepts numbers too (§3b).
#[derive(Deserialize)]
#[serde(untagged)]
enum Int64 {
    Number(i64),
    Text(String),
}

impl Int64 {
    /// The value as a non-negative count, or why not.
    fn count(&self, field: &str) -> Result<usize, ProviderError> {
        let value = match self {
            Int64::Number(number) => Some(*number),
            Int64::Text(text) => text.parse().ok(),
        };
        value
            .and_then(|value| usize::try_from(value).ok())
            .ok_or_else(|| invalid_argument(format!("{field} must be a non-negative int64")))
    }
}

/// Every row a request selects, generated on demand.
struct Report<'a> {
    property_id: &'a str,
    dimension_names: Vec<String>,
    dimension_values: Vec<Vec<String>>,
    metric_names: Vec<&'a str>,
    page_size_cap: Option<usize>,
}

impl<'a> Report<'a> {
    fn new(
        property_id: &'a str,
        fixture: &Ga4Fixture,
        request: &'a RunReportRequest,
    ) -> Result<Self, ProviderError> {
        // [unverified] wordings; the limits are the API's.
        if request.date_ranges.is_empty() || request.date_ranges.len() > MAX_DATE_RANGES {
            return Err(invalid_argument(format!(
                "dateRanges must hold 1 to {MAX_DATE_RANGES} ranges"
            )));
        }
        if request
            .date_ranges
            .iter()
            .any(|range| range.start_date.is_empty() || range.end_date.is_empty())
        {
            return Err(invalid_argument(
                "Every date range needs a startDate and an endDate".into(),
            ));
        }
        if request.dimensions.len() > MAX_DIMENSIONS || request.metrics.len() > MAX_METRICS {
            return Err(invalid_argument(format!(
                "At most {MAX_DIMENSIONS} dimensions and {MAX_METRICS} metrics per request"
            )));
        }
        if request.dimensions.is_empty() && request.metrics.is_empty() {
            return Err(invalid_argument("Request a dimension or a metric".into()));
        }
        let values_per_dimension = fixture.dimension_values.unwrap_or(DEFAULT_DIMENSION_VALUES);
        let mut dimension_names: Vec<String> = request
            .dimensions
            .iter()
            .map(|dimension| dimension.name.clone())
            .collect();
        let mut dimension_values: Vec<Vec<String>> = dimension_names
            .iter()
            .map(|name| {
                (1..=values_per_dimension)
                    .map(|index| format!("{name} {index:02}"))
                    .collect()
            })
            .collect();
        // With several ranges GA4 adds a `dateRange` dimension valued by each range's name.
        if request.date_ranges.len() > 1 {
            dimension_names.push("dateRange".into());
            dimension_values.push(
                request
                    .date_ranges
                    .iter()
                    .enumerate()
                    .map(|(index, range)| {
                        range
                            .name
                            .clone()
                            .unwrap_or_else(|| format!("date_range_{index}"))
                    })
                    .collect(),
            );
        }
        Ok(Report {
            property_id,
            dimension_names,
            dimension_values,
            metric_names: request
                .metrics
                .iter()
                .map(|metric| metric.name.as_str())
                .collect(),
            page_size_cap: fixture.page_size_cap,
        })
    }

    fn row_count(&self) -> usize {
        self.dimension_values.iter().map(Vec::len).product()
    }

    /// Row `index` of the full report; dimensions vary last-fastest.
    fn row(&self, mut index: usize) -> Value {
        let mut values = Vec::with_capacity(self.dimension_values.len());
        for choices in self.dimension_values.iter().rev() {
            values.push(choices[index % choices.len()].as_str());
            index /= choices.len();
        }
        values.reverse();
        let metric_values: Vec<Value> = self
            .metric_names
            .iter()
            .map(|metric| {
                let seed: Vec<&str> = [self.property_id, metric]
                    .into_iter()
                    .chain(values.iter().copied())
                    .collect();
                json!({ "value": (synthetic::stable_u64(&seed) % 10_000).to_string() })
            })
            .collect();
        json!({
            "dimensionValues": values.iter().map(|value| json!({ "value": value })).collect::<Vec<_>>(),
            "metricValues": metric_values,
        })
    }

    /// The page `limit`/`offset` select, capped by the fixture; `rowCount` is
    /// always the whole report's.
    fn page(&self, request: &RunReportRequest) -> Result<Value, ProviderError> {
        let limit = match &request.limit {
            Some(limit) => limit.count("limit")?,
            None => 0,
        };
        // 0 is proto3's "unset"; the fixture's cap undercuts what the client asked.
        let limit = if limit == 0 {
            DEFAULT_LIMIT
        } else {
            limit.min(MAX_LIMIT)
        };
        let limit = self.page_size_cap.map_or(limit, |cap| limit.min(cap));
        let offset = match &request.offset {
            Some(offset) => offset.count("offset")?,
            None => 0,
        };
        let row_count = self.row_count();
        let start = offset.min(row_count);
        let end = start.saturating_add(limit).min(row_count);
        let rows: Vec<Value> = (start..end).map(|index| self.row(index)).collect();
        let mut body = json!({
            "rowCount": row_count,
            "metadata": { "currencyCode": "USD", "timeZone": "America/New_York" },
            "kind": "analyticsData#runReport",
        });
        // proto3 JSON leaves empty repeated fields out.
        if !self.dimension_names.is_empty() {
            body["dimensionHeaders"] = self
                .dimension_names
                .iter()
                .map(|name| json!({ "name": name }))
                .collect();
        }
        if !self.metric_names.is_empty() {
            body["metricHeaders"] = self
                .metric_names
                .iter()
                .map(|name| json!({ "name": name, "type": "TYPE_INTEGER" }))
                .collect();
        }
        if !rows.is_empty() {
            body["rows"] = Value::Array(rows);
        }
        Ok(body)
    }
}

fn invalid_argument(message: String) -> ProviderError {
    ProviderError::new(400, message)
}
