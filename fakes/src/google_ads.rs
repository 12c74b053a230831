//! Fake Google Ads API, REST `searchStream` (PROVIDER-NOTES §3c).
//!
//! Endpoint: `search_stream`
//! (`POST /{version}/customers/{customer_id}/googleAds:searchStream`), behind
//! `Authorization: Bearer <token minted by this Fakes' Google OAuth fake>` and
//! `developer-token: <AGENCY_OS_GOOGLE_ADS_DEVELOPER_TOKEN>`, checked in that
//! order. `login-customer-id` is honoured: a customer reached through a
//! manager answers only when the header names that manager.
//!
//! The answer is a JSON array of `SearchGoogleAdsStreamResponse` batches;
//! every error, including a rejected credential, is a Google error carrying a
//! `GoogleAdsFailure`, wrapped in that array too (§3c, `ErrorShape::GoogleAds`).
//! Figures are deterministic: they depend on the customer, campaign and date only.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::{Date, Duration};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{self, Accepts, CredentialCheck, CredentialLocation, TokenMint};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const DEVELOPER_TOKEN_BINDING: &str = "AGENCY_OS_GOOGLE_ADS_DEVELOPER_TOKEN";
/// The customer served when the config names none (no manager, 3 campaigns).
pub const DEFAULT_CUSTOMER_ID: &str = "1234567890";

const SEARCH_STREAM: &str = "search_stream";

const DEFAULT_CAMPAIGNS: usize = 3;
/// Rows per stream batch: the API's (§3c: batches of `SearchGoogleAdsStreamResponse`).
const DEFAULT_BATCH_SIZE: usize = 10_000;
/// `segments.date` selected with no date filter: the fake reads the last 30 days ([unverified]).
const DEFAULT_DURING: &str = "LAST_30_DAYS";

const CAMPAIGN_NAMES: [&str; 5] = [
    "Brand - Search",
    "Generic - Search",
    "Remarketing - Display",
    "Performance Max",
    "YouTube Awareness",
];

/// A Google Ads customer (account) the fake serves.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct GoogleAdsFixture {
    /// The manager (MCC) the customer is reached through: requests must then
    /// send `login-customer-id: <manager>` (digits only, §3c "Headers").
    pub manager_customer_id: Option<String>,
    /// Campaigns the customer has (default 3).
    pub campaigns: Option<usize>,
    /// Most rows one stream batch carries (default 10,000), so clients must
    /// concatenate every batch's `results`.
    pub batch_size: Option<usize>,
}

/// Everything [`FakesConfig`] holds for this fake.
#[derive(Clone, Debug)]
pub(crate) struct GoogleAdsSetup {
    pub customers: Vec<(String, GoogleAdsFixture)>,
    /// §3c: newer auth pages drop the developer token, so the check is
    /// configurable. When not required, a *present* token must still be right.
    pub developer_token_required: bool,
}

impl Default for GoogleAdsSetup {
    fn default() -> Self {
        GoogleAdsSetup {
            customers: Vec::new(),
            developer_token_required: true,
        }
    }
}

pub(crate) struct GoogleAds {
    customers: BTreeMap<String, GoogleAdsFixture>,
    /// Bearer, then the developer token when it is required.
    auth: Vec<CredentialCheck>,
    /// The developer-token check when it is optional: run only if the header is sent.
    optional_developer_token: Option<CredentialCheck>,
}

// [secondary] wordings, from captured GoogleAdsFailure bodies in client code and issues.
const OAUTH_TOKEN_INVALID: &str = "The OAuth access token is invalid.";
const DEVELOPER_TOKEN_MISSING: &str = "The developer-token parameter is required for all requests.";
const DEVELOPER_TOKEN_INVALID: &str = "The developer token is not valid.";
/// §3c, verified example (trimmed where the notes trim it).
const USER_PERMISSION_DENIED: &str = "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header. See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid";

impl GoogleAds {
    pub fn new(config: &FakesConfig, access_tokens: Arc<TokenMint>) -> Result<Self, FakesError> {
        let bearer = CredentialCheck::new(
            CredentialLocation::AuthorizationBearer,
            Accepts::MintedBy(access_tokens),
            ProviderError::new(401, OAUTH_TOKEN_INVALID)
                .code("authenticationError.OAUTH_TOKEN_INVALID"),
        )
        // [unverified] Google's front end answers a missing token before Ads sees it:
        // no GoogleAdsFailure, the standard text.
        .when_missing(ProviderError::new(401, crate::ga4::CREDENTIALS_MISSING));
        let developer_token = CredentialCheck::new(
            CredentialLocation::Header("developer-token"),
            Accepts::binding(config, DEVELOPER_TOKEN_BINDING)?,
            ProviderError::new(401, DEVELOPER_TOKEN_INVALID)
                .code("authenticationError.DEVELOPER_TOKEN_INVALID"),
        )
        .when_missing(
            ProviderError::new(400, DEVELOPER_TOKEN_MISSING)
                .code("requestError.DEVELOPER_TOKEN_PARAMETER_MISSING"),
        );
        let setup = &config.google_ads;
        let mut customers =
            crate::config::unique_by_key(setup.customers.iter().cloned(), "Google Ads customer")?;
        if customers.is_empty() {
            customers.insert(DEFAULT_CUSTOMER_ID.into(), GoogleAdsFixture::default());
        }
        for (customer_id, fixture) in &customers {
            let digits = |id: &str| !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit());
            if !digits(customer_id) || !fixture.manager_customer_id.as_deref().is_none_or(digits) {
                return Err(invalid_fixture(customer_id, "customer ids are digits only"));
            }
            if fixture.batch_size == Some(0) {
                return Err(invalid_fixture(
                    customer_id,
                    "batch_size must be at least 1",
                ));
            }
        }
        let (auth, optional_developer_token) = if setup.developer_token_required {
            (vec![bearer, developer_token], None)
        } else {
            (vec![bearer], Some(developer_token))
        };
        Ok(GoogleAds {
            customers,
            auth,
            optional_developer_token,
        })
    }
}

fn invalid_fixture(key: &str, reason: &'static str) -> FakesError {
    FakesError::InvalidFixture {
        kind: "Google Ads customer",
        key: key.into(),
        reason,
    }
}

impl Provider for GoogleAds {
    const NAME: &'static str = "google_ads";
    const BASE_PATH: &'static str = "";
    const ERROR_SHAPE: ErrorShape = ErrorShape::GoogleAds;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: SEARCH_STREAM,
        method: "POST",
        path: "/{version}/customers/{customer_id}/googleAds:searchStream",
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
            endpoint, SEARCH_STREAM,
            "searchStream is the Google Ads fake's only endpoint"
        );
        let version = params.get("version");
        if !version
            .strip_prefix('v')
            .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ProviderError::new(
                404,
                format!(
                    "The requested URL {} was not found on this server.",
                    request.url.path()
                ),
            ));
        }
        if let Some(check) = &self.optional_developer_token {
            if request.headers.contains_key("developer-token") {
                credential::authenticate(std::slice::from_ref(check), request)?;
            }
        }
        let customer_id = params.get("customer_id");
        if !customer_id.bytes().all(|byte| byte.is_ascii_digit()) {
            // [unverified] code; the API wants digits only, no dashes (§3c).
            return Err(
                ProviderError::new(400, format!("Invalid customer ID '{customer_id}'."))
                    .code("requestError.INVALID_CUSTOMER_ID"),
            );
        }
        let fixture = self
            .customers
            .get(customer_id)
            .ok_or_else(permission_denied)?;
        let login_customer_id = request
            .headers
            .get("login-customer-id")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        // A client customer answers only through its manager; a customer with no
        // manager answers directly, or with itself as the login customer.
        let reachable = match (&fixture.manager_customer_id, &login_customer_id) {
            (Some(manager), Some(login)) => login == manager,
            (Some(_), None) => false,
            (None, Some(login)) => login == customer_id,
            (None, None) => true,
        };
        if !reachable {
            return Err(permission_denied());
        }

        let search: SearchRequest = request.body_json().map_err(|error| {
            ProviderError::new(400, format!("Invalid JSON payload received. {error}"))
        })?;
        let query = Query::parse(&search.query)?;
        let summary = SummarySetting::parse(search.summary_row_setting.as_deref())?;
        if summary != SummarySetting::None && !query.selects_metrics() {
            // [secondary] RequestErrorEnum value seen in generated clients.
            return Err(query_error(
                "requestError.CANNOT_RETURN_SUMMARY_ROW_FOR_REQUEST_WITHOUT_METRICS",
                "Summary row is only returned for queries that select metrics.".into(),
            ));
        }
        let stream = Stream {
            customer_id,
            campaigns: fixture.campaigns.unwrap_or(DEFAULT_CAMPAIGNS),
            query: &query,
        };
        let rows = stream.rows();
        Ok(Reply::ok(stream.batches(
            rows,
            summary,
            fixture.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
        )))
    }
}

fn permission_denied() -> ProviderError {
    ProviderError::new(403, USER_PERMISSION_DENIED)
        .code("authorizationError.USER_PERMISSION_DENIED")
}

fn query_error(code: &'static str, message: String) -> ProviderError {
    ProviderError::new(400, message).code(code)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    #[serde(default)]
    query: String,
    summary_row_setting: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SummarySetting {
    None,
    WithResults,
    Only,
}

impl SummarySetting {
    fn parse(setting: Option<&str>) -> Result<Self, ProviderError> {
        match setting {
            None | Some("NO_SUMMARY_ROW" | "UNSPECIFIED") => Ok(SummarySetting::None),
            Some("SUMMARY_ROW_WITH_RESULTS") => Ok(SummarySetting::WithResults),
            Some("SUMMARY_ROW_ONLY") => Ok(SummarySetting::Only),
            Some(other) => Err(ProviderError::new(
                400,
                format!("Invalid value at 'summary_row_setting', \"{other}\""),
            )),
        }
    }
}

/// The resources a query may select `FROM`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resource {
    Customer,
    Campaign,
}

/// A GAQL query, as far as the fake reads it: the SELECT list, the FROM
/// resource, a date range on `segments.date`, and LIMIT (§3c request body).
struct Query {
    fields: Vec<String>,
    resource: Resource,
    /// Inclusive; `None` when the query filters no dates.
    dates: Option<(Date, Date)>,
    limit: Option<usize>,
}

/// Fields the fake can select, per resource prefix. Metric types follow the
/// Google Ads field reference: int64 (as JSON strings, §3c) or double.
const CUSTOMER_FIELDS: &[&str] = &["id", "descriptive_name", "currency_code", "time_zone"];
const CAMPAIGN_FIELDS: &[&str] = &["id", "name", "status", "advertising_channel_type"];
const INT64_METRICS: &[&str] = &["clicks", "impressions", "cost_micros", "interactions"];
const DOUBLE_METRICS: &[&str] = &["conversions", "conversions_value", "ctr", "average_cpc"];
const SEGMENT_FIELDS: &[&str] = &["date"];

impl Query {
    fn parse(text: &str) -> Result<Self, ProviderError> {
        // [unverified] QueryError codes and wordings below.
        let syntax = |detail: &str| {
            query_error(
                "queryError.QUERY_ERROR",
                format!("Error in query: {detail}."),
            )
        };
        let text = text.trim();
        let upper = text.to_ascii_uppercase();
        if !upper.starts_with("SELECT ") {
            return Err(syntax("expected SELECT"));
        }
        let from = find_keyword(&upper, "FROM").ok_or_else(|| syntax("expected FROM"))?;
        let fields: Vec<String> = text["SELECT ".len()..from]
            .split(',')
            .map(|field| field.trim().to_owned())
            .collect();
        if fields.iter().any(String::is_empty) {
            return Err(syntax("unexpected end of SELECT clause"));
        }
        let after_from = text[from + "FROM".len()..].trim_start();
        let resource_name: String = after_from
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let resource = match resource_name.as_str() {
            "customer" => Resource::Customer,
            "campaign" => Resource::Campaign,
            "" => return Err(syntax("expected a resource after FROM")),
            other => {
                return Err(query_error(
                    "queryError.BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                    format!("Error in FROM clause: invalid resource '{other}'."),
                ))
            }
        };
        for field in &fields {
            if !selectable(field, resource) {
                return Err(query_error(
                    "queryError.UNRECOGNIZED_FIELD",
                    format!("Error in SELECT clause: unrecognized field '{field}'."),
                ));
            }
        }
        let rest = &after_from[resource_name.len()..];
        let rest_upper = rest.to_ascii_uppercase();
        let (clauses, limit) = match find_keyword(&rest_upper, "LIMIT") {
            Some(at) => {
                let limit = rest[at + "LIMIT".len()..]
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| syntax("LIMIT takes a positive integer"))?;
                (&rest[..at], Some(limit))
            }
            None => (rest, None),
        };
        let clauses_upper = clauses.to_ascii_uppercase();
        let where_clause = find_keyword(&clauses_upper, "WHERE").map(|at| {
            let end = find_keyword(&clauses_upper, "ORDER").unwrap_or(clauses.len());
            &clauses[at + "WHERE".len()..end]
        });
        let mut dates = match where_clause {
            Some(conditions) => date_range(conditions)?,
            None => None,
        };
        if dates.is_none() && fields.iter().any(|field| field == "segments.date") {
            dates = Some(during(DEFAULT_DURING)?);
        }
        Ok(Query {
            fields,
            resource,
            dates,
            limit,
        })
    }

    fn selects_metrics(&self) -> bool {
        self.fields
            .iter()
            .any(|field| field.starts_with("metrics."))
    }

    fn selects(&self, field: &str) -> bool {
        self.fields.iter().any(|selected| selected == field)
    }
}

fn selectable(field: &str, resource: Resource) -> bool {
    let Some((prefix, name)) = field.split_once('.') else {
        return false;
    };
    match prefix {
        "customer" => CUSTOMER_FIELDS.contains(&name),
        "campaign" => resource == Resource::Campaign && CAMPAIGN_FIELDS.contains(&name),
        "metrics" => INT64_METRICS.contains(&name) || DOUBLE_METRICS.contains(&name),
        "segments" => SEGMENT_FIELDS.contains(&name),
        _ => false,
    }
}

/// Where `keyword` starts as a whole word in `upper` (already upper-cased).
fn find_keyword(upper: &str, keyword: &str) -> Option<usize> {
    let bytes = upper.as_bytes();
    upper.match_indices(keyword).map(|(at, _)| at).find(|&at| {
        let before = at == 0 || bytes[at - 1].is_ascii_whitespace();
        let end = at + keyword.len();
        let after = end == bytes.len() || bytes[end].is_ascii_whitespace();
        before && after
    })
}

/// The range the WHERE clause's `segments.date` conditions select: DURING,
/// BETWEEN, or comparisons, joined by AND. Other conditions are ignored
/// (every campaign is ENABLED).
fn date_range(conditions: &str) -> Result<Option<(Date, Date)>, ProviderError> {
    let mut start: Option<Date> = None;
    let mut end: Option<Date> = None;
    let mut narrow = |from: Date, to: Date| {
        start = Some(start.map_or(from, |start| start.max(from)));
        end = Some(end.map_or(to, |end| end.min(to)));
    };
    let words: Vec<&str> = conditions.split_whitespace().collect();
    let mut index = 0;
    while index < words.len() {
        if words[index] != "segments.date" {
            index += 1;
            continue;
        }
        let operator = words.get(index + 1).copied().unwrap_or_default();
        let operand = |offset: usize| words.get(index + offset).copied().unwrap_or_default();
        match operator.to_ascii_uppercase().as_str() {
            "DURING" => {
                let (from, to) = during(operand(2))?;
                narrow(from, to);
                index += 3;
            }
            "BETWEEN" => {
                if !operand(3).eq_ignore_ascii_case("AND") {
                    return Err(date_error("BETWEEN takes 'start' AND 'end'"));
                }
                narrow(literal_date(operand(2))?, literal_date(operand(4))?);
                index += 5;
            }
            comparison @ ("=" | ">=" | "<=" | ">" | "<") => {
                let date = literal_date(operand(2))?;
                match comparison {
                    "=" => narrow(date, date),
                    ">=" => narrow(date, Date::MAX),
                    ">" => narrow(date.next_day().unwrap_or(Date::MAX), Date::MAX),
                    "<=" => narrow(Date::MIN, date),
                    _ => narrow(Date::MIN, date.previous_day().unwrap_or(Date::MIN)),
                }
                index += 3;
            }
            _ => return Err(date_error("unsupported operator on segments.date")),
        }
    }
    match (start, end) {
        (Some(start), Some(end)) if start == Date::MIN || end == Date::MAX => {
            Err(date_error("segments.date needs a finite range"))
        }
        (Some(start), Some(end)) => Ok(Some((start, end))),
        _ => Ok(None),
    }
}

fn date_error(detail: &str) -> ProviderError {
    query_error(
        "queryError.INVALID_DATE_RANGE",
        format!("Error in WHERE clause: {detail}."),
    )
}

/// `'2026-10-01'` (quotes optional).
fn literal_date(text: &str) -> Result<Date, ProviderError> {
    let text = text.trim_matches(|c| c == '\'' || c == '"');
    synthetic::parse_date(text).ok_or_else(|| date_error(&format!("invalid date '{text}'")))
}

/// The inclusive range of a DURING literal, relative to today (UTC).
fn during(literal: &str) -> Result<(Date, Date), ProviderError> {
    let today = synthetic::today_utc();
    let yesterday = today - Duration::days(1);
    let last_days = |days: i64| (today - Duration::days(days), yesterday);
    let first_of_month = |date: Date| date.replace_day(1).expect("every month has a 1st");
    match literal.to_ascii_uppercase().as_str() {
        "TODAY" => Ok((today, today)),
        "YESTERDAY" => Ok((yesterday, yesterday)),
        "LAST_7_DAYS" => Ok(last_days(7)),
        "LAST_14_DAYS" => Ok(last_days(14)),
        "LAST_30_DAYS" => Ok(last_days(30)),
        "THIS_MONTH" => Ok((first_of_month(today), today)),
        "LAST_MONTH" => {
            let end = first_of_month(today) - Duration::days(1);
            Ok((first_of_month(end), end))
        }
        other => Err(query_error(
            "queryError.INVALID_VALUE_WITH_DURING_OPERATOR",
            format!("Error in WHERE clause: invalid value '{other}' for DURING."),
        )),
    }
}

/// One customer's rows for one query.
struct Stream<'a> {
    customer_id: &'a str,
    campaigns: usize,
    query: &'a Query,
}

/// The row an entity (the customer, or one campaign) has for one date or the whole range.
struct RowKey {
    campaign: Option<usize>,
    date: Option<Date>,
}

#[derive(Default, Clone, Copy)]
struct Figures {
    impressions: u64,
    clicks: u64,
    cost_micros: u64,
    conversions_cents: u64,
    conversions_value_cents: u64,
}

impl Figures {
    fn add(mut self, other: Figures) -> Figures {
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.cost_micros += other.cost_micros;
        self.conversions_cents += other.conversions_cents;
        self.conversions_value_cents += other.conversions_value_cents;
        self
    }

    fn metric(&self, name: &str) -> Value {
        let ratio = |numerator: f64, denominator: u64| {
            if denominator == 0 {
                0.0
            } else {
                numerator / denominator as f64
            }
        };
        match name {
            // int64: strings in JSON (§3c).
            "clicks" | "interactions" => json!(self.clicks.to_string()),
            "impressions" => json!(self.impressions.to_string()),
            "cost_micros" => json!(self.cost_micros.to_string()),
            "conversions" => json!(self.conversions_cents as f64 / 100.0),
            "conversions_value" => json!(self.conversions_value_cents as f64 / 100.0),
            "ctr" => json!(ratio(self.clicks as f64, self.impressions)),
            "average_cpc" => json!(ratio(self.cost_micros as f64, self.clicks)),
            _ => unreachable!("Query::parse admits only known metrics"),
        }
    }
}

impl Stream<'_> {
    fn entities(&self) -> Vec<Option<usize>> {
        match self.query.resource {
            Resource::Customer => vec![None],
            Resource::Campaign => (0..self.campaigns).map(Some).collect(),
        }
    }

    fn dates(&self) -> Vec<Date> {
        let Some((start, end)) = self.query.dates else {
            return Vec::new();
        };
        let mut dates = Vec::new();
        let mut date = start;
        while date <= end {
            dates.push(date);
            match date.next_day() {
                Some(next) => date = next,
                None => break,
            }
        }
        dates
    }

    fn rows(&self) -> Vec<(RowKey, Figures)> {
        let per_date = self.query.selects("segments.date");
        let dates = self.dates();
        let mut rows = Vec::new();
        for campaign in self.entities() {
            if per_date {
                for &date in &dates {
                    let key = RowKey {
                        campaign,
                        date: Some(date),
                    };
                    rows.push((key, self.daily(campaign, Some(date))));
                }
            } else {
                // A row over the range is the sum of its days, so figures agree across queries.
                let figures = if dates.is_empty() {
                    self.daily(campaign, None)
                } else {
                    dates.iter().fold(Figures::default(), |sum, &date| {
                        sum.add(self.daily(campaign, Some(date)))
                    })
                };
                rows.push((
                    RowKey {
                        campaign,
                        date: None,
                    },
                    figures,
                ));
            }
        }
        if let Some(limit) = self.query.limit {
            rows.truncate(limit);
        }
        rows
    }

    /// One entity's figures for one day (`None`: all time, for queries
    /// without dates). The customer's are the sum of its campaigns'.
    fn daily(&self, campaign: Option<usize>, date: Option<Date>) -> Figures {
        let Some(campaign) = campaign else {
            return (0..self.campaigns).fold(Figures::default(), |sum, index| {
                sum.add(self.daily(Some(index), date))
            });
        };
        let campaign = self.campaign_id(campaign);
        let date = date
            .map(|date| date.to_string())
            .unwrap_or_else(|| "all_time".into());
        let hash = |salt: &str| synthetic::stable_u64(&[self.customer_id, &campaign, &date, salt]);
        let impressions = 500 + hash("impressions") % 20_000;
        let clicks = impressions * (1 + hash("ctr") % 80) / 1_000;
        let cost_micros = clicks * (150_000 + hash("cpc") % 2_850_000);
        let conversions_cents = clicks * (hash("conversions") % 12);
        let conversions_value_cents = conversions_cents * (20 + hash("value") % 200);
        Figures {
            impressions,
            clicks,
            cost_micros,
            conversions_cents,
            conversions_value_cents,
        }
    }

    fn campaign_id(&self, index: usize) -> String {
        let base = 20_000_000_000 + synthetic::stable_u64(&[self.customer_id]) % 1_000_000 * 1_000;
        (base + index as u64 + 1).to_string()
    }

    fn campaign_resource(&self, index: usize) -> String {
        format!(
            "customers/{}/campaigns/{}",
            self.customer_id,
            self.campaign_id(index)
        )
    }

    fn row(&self, key: &RowKey, figures: &Figures) -> Value {
        let mut row = Map::new();
        // The FROM resource's resourceName comes back whether selected or not.
        match key.campaign {
            Some(index) => row.insert(
                "campaign".into(),
                json!({ "resourceName": self.campaign_resource(index) }),
            ),
            None => row.insert(
                "customer".into(),
                json!({ "resourceName": format!("customers/{}", self.customer_id) }),
            ),
        };
        for field in &self.query.fields {
            let (prefix, name) = field
                .split_once('.')
                .expect("Query::parse checked the field");
            let value = match prefix {
                "customer" => self.customer_field(name),
                "campaign" => self.campaign_field(key.campaign.expect("campaign rows"), name),
                "metrics" => figures.metric(name),
                _ => json!(key
                    .date
                    .expect("segments.date rows carry a date")
                    .to_string()),
            };
            let resource = row.entry(prefix.to_owned()).or_insert_with(|| json!({}));
            match prefix {
                "customer" => {
                    resource["resourceName"] = json!(format!("customers/{}", self.customer_id))
                }
                "campaign" => {
                    resource["resourceName"] =
                        json!(self.campaign_resource(key.campaign.expect("campaign rows")))
                }
                _ => {}
            }
            resource[lower_camel(name)] = value;
        }
        Value::Object(row)
    }

    fn customer_field(&self, name: &str) -> Value {
        match name {
            "id" => json!(self.customer_id),
            "descriptive_name" => json!(format!("Agency client {}", self.customer_id)),
            "currency_code" => json!("USD"),
            _ => json!("America/New_York"),
        }
    }

    fn campaign_field(&self, index: usize, name: &str) -> Value {
        match name {
            "id" => json!(self.campaign_id(index)),
            "name" => {
                let base = CAMPAIGN_NAMES[index % CAMPAIGN_NAMES.len()];
                match index / CAMPAIGN_NAMES.len() {
                    0 => json!(base),
                    round => json!(format!("{base} {}", round + 1)),
                }
            }
            "status" => json!("ENABLED"),
            _ => json!(
                ["SEARCH", "SEARCH", "DISPLAY", "PERFORMANCE_MAX", "VIDEO"]
                    [index % CAMPAIGN_NAMES.len()]
            ),
        }
    }

    /// The streamed answer: `rows` in batches of `batch_size`, one requestId
    /// for the whole stream, the summary row on the last batch.
    fn batches(
        &self,
        rows: Vec<(RowKey, Figures)>,
        summary: SummarySetting,
        batch_size: usize,
    ) -> Value {
        let field_mask = self
            .query
            .fields
            .iter()
            .map(|field| {
                let (prefix, name) = field.split_once('.').expect("checked");
                format!("{prefix}.{}", lower_camel(name))
            })
            .collect::<Vec<_>>()
            .join(",");
        let request_id = synthetic::random_url_safe(16);
        let totals = rows
            .iter()
            .fold(Figures::default(), |sum, (_, figures)| sum.add(*figures));
        let results: Vec<Value> = match summary {
            SummarySetting::Only => Vec::new(),
            _ => rows
                .iter()
                .map(|(key, figures)| self.row(key, figures))
                .collect(),
        };
        let mut batches: Vec<Value> = results
            .chunks(batch_size)
            .map(|chunk| json!({ "results": chunk, "fieldMask": field_mask, "requestId": request_id }))
            .collect();
        if batches.is_empty() {
            // proto3 JSON leaves the empty `results` out.
            batches.push(json!({ "fieldMask": field_mask, "requestId": request_id }));
        }
        if summary != SummarySetting::None {
            let metrics: Map<String, Value> = self
                .query
                .fields
                .iter()
                .filter_map(|field| field.strip_prefix("metrics."))
                .map(|name| (lower_camel(name), totals.metric(name)))
                .collect();
            let last = batches.last_mut().expect("at least one batch");
            last["summaryRow"] = json!({ "metrics": metrics });
        }
        Value::Array(batches)
    }
}

/// `cost_micros` → `costMicros`: proto3 JSON names.
fn lower_camel(name: &str) -> String {
    let mut camel = String::with_capacity(name.len());
    let mut upper = false;
    for character in name.chars() {
        if character == '_' {
            upper = true;
        } else if upper {
            camel.push(character.to_ascii_uppercase());
            upper = false;
        } else {
            camel.push(character);
        }
    }
    camel
}
