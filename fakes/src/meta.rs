//! Fake Meta Marketing API (PROVIDER-NOTES §4): ad-account insights with
//! cursor paging and Meta's throttling signals.
//!
//! Endpoint: `get_insights` (`GET /{version}/act_{id}/insights`), behind the
//! `access_token` query parameter *or* `Authorization: Bearer`, either
//! carrying `AGENCY_OS_META_ACCESS_TOKEN` (the query parameter wins when both
//! are sent). `paging.next` repeats the query it answers, so it carries
//! `access_token` exactly when the token came in the query (§4 "Pagination").
//!
//! Errors are Graph errors `{"error":{message,type,code,error_subcode,fbtrace_id}}`
//! (`ErrorShape::Meta`). Faults map Meta's way (see [`crate::error_shape::meta_fault`]):
//! a 429 answers HTTP 400 with the ad account's throttle code (default 80000,
//! the ads_insights BUC limit) and usage headers at 100%, never `Retry-After`;
//! the fault's `retry_after` becomes the headers' time to regain access.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::{Date, Duration};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{self, ErrorShape, ProviderError};
use crate::server::{param, query_pairs, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const ACCESS_TOKEN_BINDING: &str = "AGENCY_OS_META_ACCESS_TOKEN";
/// The ad account served when the config names none (`act_111122223333444`).
pub const DEFAULT_AD_ACCOUNT_ID: &str = "111122223333444";

const GET_INSIGHTS: &str = "get_insights";

/// Graph's default page size.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 5_000;
/// Throttle codes a fixture may choose (§4 "Rate limiting").
const THROTTLE_CODES: [&str; 19] = [
    "4", "17", "32", "613", "80000", "80001", "80002", "80003", "80004", "80005", "80006", "80007",
    "80008", "80009", "80010", "80011", "80012", "80013", "80014",
];
const DEFAULT_THROTTLE_CODE: &str = error_shape::META_DEFAULT_THROTTLE_CODE;
/// Without a `retry_after` knob, a throttled account regains access after this long.
const DEFAULT_REGAIN_SECONDS: u64 = 300;

/// An ad account the fake serves insights for.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct MetaAdAccountFixture {
    /// Default "Agency client <id>".
    pub name: Option<String>,
    /// Default "USD".
    pub currency: Option<String>,
    /// Default 3 campaigns, 2 ad sets per campaign, 2 ads per ad set.
    pub campaigns: Option<usize>,
    pub adsets_per_campaign: Option<usize>,
    pub ads_per_adset: Option<usize>,
    /// Most rows one page carries whatever `limit` asks, so clients must follow `paging.next`.
    pub page_size_cap: Option<usize>,
    /// The code a 429 fault answers with: 4, 17, 32, 613 or 80000–80014 (default 80000).
    pub throttle_code: Option<u32>,
}

/// Everything [`FakesConfig`] holds for this fake.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetaSetup {
    pub ad_accounts: Vec<(String, MetaAdAccountFixture)>,
}

pub(crate) struct Meta {
    base_url: String,
    accounts: BTreeMap<String, Account>,
    auth: [CredentialCheck; 1],
    calls: AtomicU64,
}

struct Account {
    fixture: MetaAdAccountFixture,
    throttle_code: &'static str,
}

impl Meta {
    pub fn new(config: &FakesConfig, base_url: String) -> Result<Self, FakesError> {
        let token = CredentialCheck::new(
            CredentialLocation::FirstOf(&[
                CredentialLocation::QueryParam("access_token"),
                CredentialLocation::AuthorizationBearer,
            ]),
            Accepts::binding(config, ACCESS_TOKEN_BINDING)?,
            // §4: code 190, HTTP 400 (verified example text).
            ProviderError::new(
                400,
                "Invalid OAuth access token - Cannot parse access token",
            )
            .code("190"),
        )
        // [unverified] Graph's answer to no token at all.
        .when_missing(
            ProviderError::new(400, "An access token is required to request this resource.")
                .code("104"),
        );
        let mut fixtures = crate::config::unique_by_key(
            config.meta.ad_accounts.iter().cloned(),
            "Meta ad account",
        )?;
        if fixtures.is_empty() {
            fixtures.insert(
                DEFAULT_AD_ACCOUNT_ID.into(),
                MetaAdAccountFixture::default(),
            );
        }
        let mut accounts = BTreeMap::new();
        for (id, fixture) in fixtures {
            let invalid = |reason| FakesError::InvalidFixture {
                kind: "Meta ad account",
                key: id.clone(),
                reason,
            };
            if id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(invalid("ad account ids are digits only, without act_"));
            }
            if fixture.page_size_cap == Some(0) {
                return Err(invalid("page_size_cap must be at least 1"));
            }
            let throttle_code = match fixture.throttle_code {
                None => DEFAULT_THROTTLE_CODE,
                Some(code) => THROTTLE_CODES
                    .iter()
                    .copied()
                    .find(|known| *known == code.to_string())
                    .ok_or_else(|| {
                        invalid("throttle_code must be 4, 17, 32, 613 or 80000-80014")
                    })?,
            };
            accounts.insert(
                id,
                Account {
                    fixture,
                    throttle_code,
                },
            );
        }
        Ok(Meta {
            base_url,
            accounts,
            auth: [token],
            calls: AtomicU64::new(0),
        })
    }

    fn account(&self, node: &str) -> Result<(&str, &Account), ProviderError> {
        node.strip_prefix("act_")
            .and_then(|id| self.accounts.get_key_value(id))
            .map(|(id, account)| (id.as_str(), account))
            .ok_or_else(|| unsupported_get(node))
    }

    /// Meta's usage headers (§4 "Rate limiting"), at `percent` of the limits.
    fn usage_headers(
        &self,
        account_id: &str,
        percent: u64,
        regain_seconds: u64,
    ) -> Vec<(&'static str, String)> {
        let app = json!({ "call_count": percent, "total_cputime": percent / 2, "total_time": percent / 2 });
        let business = json!({ account_id: [{
            "type": "ads_insights",
            "call_count": percent,
            "total_cputime": percent / 3,
            "total_time": percent / 3,
            // Minutes (§4).
            "estimated_time_to_regain_access": regain_seconds.div_ceil(60),
            "ads_api_access_tier": "standard_access",
        }] });
        let ad_account = json!({
            "acc_id_util_pct": percent,
            // Seconds (§4).
            "reset_time_duration": regain_seconds,
            "ads_api_access_tier": "standard_access",
        });
        vec![
            ("x-app-usage", app.to_string()),
            ("x-business-use-case-usage", business.to_string()),
            ("x-ad-account-usage", ad_account.to_string()),
        ]
    }
}

fn unsupported_get(node: &str) -> ProviderError {
    // [secondary] Graph's wording for an object the token cannot read.
    ProviderError::new(
        400,
        format!("Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"),
    )
    .code("100/33")
}

fn invalid_parameter(message: String) -> ProviderError {
    ProviderError::new(400, format!("(#100) {message}")).code("100")
}

impl Provider for Meta {
    const NAME: &'static str = "meta";
    const BASE_PATH: &'static str = "";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Meta;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: GET_INSIGHTS,
        method: "GET",
        path: "/{version}/{ad_account}/insights",
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
            endpoint, GET_INSIGHTS,
            "insights is the Meta fake's only endpoint"
        );
        let version = params.get("version");
        if !is_version(version) {
            return Err(ErrorShape::Meta.unrouted(request.url.path()));
        }
        let (account_id, account) = self.account(params.get("ad_account"))?;
        let query = query_pairs(request);
        let insights = Insights::new(account_id, &account.fixture, &query)?;
        let rows = insights.rows();

        let limit = match param(&query, "limit") {
            None => DEFAULT_LIMIT,
            Some(limit) => limit
                .parse::<usize>()
                .ok()
                .filter(|limit| *limit >= 1)
                .ok_or_else(|| invalid_parameter("Param limit must be a positive integer".into()))?
                .min(MAX_LIMIT),
        };
        let page_size = account
            .fixture
            .page_size_cap
            .map_or(limit, |cap| limit.min(cap));
        let start = match param(&query, "after") {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .map(|position| position + 1)
                .filter(|start| *start <= rows.len())
                .ok_or_else(|| invalid_parameter("Invalid cursor in param after".into()))?,
        };
        let end = (start + page_size).min(rows.len());
        let mut body = json!({ "data": &rows[start..end] });
        if start < end {
            let mut paging = json!({ "cursors": {
                "before": encode_cursor(start),
                "after": encode_cursor(end - 1),
            } });
            let page_url = |cursor_param: &str, cursor: String| {
                // The query as it came (access_token included iff it came there), cursor replaced.
                let mut next = form_urlencoded::Serializer::new(String::new());
                for (key, value) in query
                    .iter()
                    .filter(|(key, _)| key != "after" && key != "before")
                {
                    next.append_pair(key, value);
                }
                next.append_pair(cursor_param, &cursor);
                format!("{}{}?{}", self.base_url, request.url.path(), next.finish())
            };
            if end < rows.len() {
                paging["next"] = json!(page_url("after", encode_cursor(end - 1)));
            }
            if start > 0 {
                paging["previous"] = json!(page_url("before", encode_cursor(start)));
            }
            body["paging"] = paging;
        }
        let calls = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let mut reply = Reply::ok(body)
            .header("x-fb-trace-id", synthetic::random_url_safe(8))
            .header("facebook-api-version", version.to_owned());
        for (name, value) in self.usage_headers(account_id, calls.min(60), 0) {
            reply = reply.header(name, value);
        }
        Ok(reply)
    }

    /// Faults answer Meta's way: [`error_shape::meta_fault`] maps the status, and
    /// a throttled answer carries usage headers at 100%, its regain time from the
    /// fault's `retry_after` (seconds), never a `Retry-After` header (§4, checklist 4).
    fn fault_error(
        &self,
        status: u16,
        retry_after: Option<&str>,
        request: &Request,
    ) -> ProviderError {
        let account = request
            .url
            .path_segments()
            .and_then(|mut segments| segments.nth(1))
            .and_then(|node| self.account(node).ok());
        let throttle_code =
            account.map_or(DEFAULT_THROTTLE_CODE, |(_, account)| account.throttle_code);
        let mut error = error_shape::meta_fault(status, throttle_code);
        if status == 429 {
            let regain = retry_after
                .and_then(|seconds| seconds.trim().parse().ok())
                .unwrap_or(DEFAULT_REGAIN_SECONDS);
            let account_id = account.map_or(DEFAULT_AD_ACCOUNT_ID, |(id, _)| id);
            for (name, value) in self.usage_headers(account_id, 100, regain) {
                error = error.header(name, value);
            }
        }
        error
    }
}

/// `v25.0`.
fn is_version(version: &str) -> bool {
    version
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
        })
}

/// Graph cursors are base64 with `=` written `ZD` ("MAZDZD" is "0").
fn encode_cursor(position: usize) -> String {
    STANDARD.encode(position.to_string()).replace('=', "ZD")
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let mut trimmed = cursor;
    let mut padding = 0;
    while let Some(rest) = trimmed.strip_suffix("ZD") {
        trimmed = rest;
        padding += 1;
    }
    let encoded = format!("{trimmed}{}", "=".repeat(padding));
    String::from_utf8(STANDARD.decode(encoded).ok()?)
        .ok()?
        .parse()
        .ok()
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Account,
    Campaign,
    Adset,
    Ad,
}

/// Fields the fake serves (a subset of AdsInsights.json's), with the level
/// each needs: an id/name field deeper than the report's level is refused.
const FIELDS: &[(&str, Level)] = &[
    ("account_id", Level::Account),
    ("account_name", Level::Account),
    ("account_currency", Level::Account),
    ("campaign_id", Level::Campaign),
    ("campaign_name", Level::Campaign),
    ("adset_id", Level::Adset),
    ("adset_name", Level::Adset),
    ("ad_id", Level::Ad),
    ("ad_name", Level::Ad),
    ("objective", Level::Account),
    ("impressions", Level::Account),
    ("reach", Level::Account),
    ("frequency", Level::Account),
    ("clicks", Level::Account),
    ("unique_clicks", Level::Account),
    ("spend", Level::Account),
    ("cpc", Level::Account),
    ("cpm", Level::Account),
    ("cpp", Level::Account),
    ("ctr", Level::Account),
    ("actions", Level::Account),
    ("date_start", Level::Account),
    ("date_stop", Level::Account),
];

/// [unverified] the fields Graph returns when `fields` is absent.
const DEFAULT_FIELDS: [&str; 2] = ["impressions", "spend"];

/// One insights request over one ad account.
struct Insights<'a> {
    account_id: &'a str,
    fixture: &'a MetaAdAccountFixture,
    level: Level,
    fields: Vec<String>,
    /// Inclusive buckets of days.
    buckets: Vec<(Date, Date)>,
}

/// One object at the report's level: campaign, ad set and ad indexes where they apply.
#[derive(Clone, Copy)]
struct Object {
    campaign: Option<usize>,
    adset: Option<usize>,
    ad: Option<usize>,
}

#[derive(Default, Clone, Copy)]
struct Figures {
    impressions: u64,
    reach: u64,
    clicks: u64,
    unique_clicks: u64,
    spend_cents: u64,
    link_clicks: u64,
    page_engagement: u64,
}

impl Figures {
    fn add(mut self, other: Figures) -> Figures {
        self.impressions += other.impressions;
        self.reach += other.reach;
        self.clicks += other.clicks;
        self.unique_clicks += other.unique_clicks;
        self.spend_cents += other.spend_cents;
        self.link_clicks += other.link_clicks;
        self.page_engagement += other.page_engagement;
        self
    }
}

impl<'a> Insights<'a> {
    fn new(
        account_id: &'a str,
        fixture: &'a MetaAdAccountFixture,
        query: &[(String, String)],
    ) -> Result<Self, ProviderError> {
        // [unverified] wordings of the (#100) parameter errors.
        let level = match param(query, "level").unwrap_or("account") {
            "account" => Level::Account,
            "campaign" => Level::Campaign,
            "adset" => Level::Adset,
            "ad" => Level::Ad,
            other => {
                return Err(invalid_parameter(format!(
                    "Param level must be one of {{account, campaign, adset, ad}}, got {other}"
                )))
            }
        };
        if param(query, "breakdowns").is_some() || param(query, "action_breakdowns").is_some() {
            return Err(invalid_parameter(
                "breakdowns are not supported by this fake".into(),
            ));
        }
        let mut fields: Vec<String> = match param(query, "fields") {
            Some(fields) => fields
                .split(',')
                .map(|field| field.trim().to_owned())
                .filter(|field| !field.is_empty())
                .collect(),
            None => DEFAULT_FIELDS
                .iter()
                .map(|field| (*field).to_owned())
                .collect(),
        };
        for field in &fields {
            let known = FIELDS.iter().find(|(name, _)| name == field);
            match known {
                Some((_, needs)) if *needs <= level => {}
                Some(_) => {
                    return Err(invalid_parameter(format!(
                        "{field} cannot be requested at level {}",
                        param(query, "level").unwrap_or("account")
                    )))
                }
                None => {
                    return Err(invalid_parameter(format!(
                        "{field} is not valid for fields param. please check https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ for all valid values"
                    )))
                }
            }
        }
        // Every row carries its window (§4 example rows).
        for always in ["date_start", "date_stop"] {
            if !fields.iter().any(|field| field == always) {
                fields.push(always.into());
            }
        }
        let (since, until) = match param(query, "time_range") {
            Some(range) => time_range(range)?,
            None => date_preset(param(query, "date_preset").unwrap_or("last_30d"))?,
        };
        let step = match param(query, "time_increment").unwrap_or("all_days") {
            "all_days" => None,
            days => Some(
                days.parse::<i64>()
                    .ok()
                    .filter(|days| (1..=90).contains(days))
                    .ok_or_else(|| {
                        invalid_parameter(
                            "Param time_increment must be all_days or 1 to 90 days".into(),
                        )
                    })?,
            ),
        };
        let buckets = match step {
            None => vec![(since, until)],
            Some(days) => {
                let mut buckets = Vec::new();
                let mut start = since;
                while start <= until {
                    let end = (start + Duration::days(days - 1)).min(until);
                    buckets.push((start, end));
                    start = end + Duration::days(1);
                }
                buckets
            }
        };
        Ok(Insights {
            account_id,
            fixture,
            level,
            fields,
            buckets,
        })
    }

    fn objects(&self) -> Vec<Object> {
        let campaigns = self.fixture.campaigns.unwrap_or(3);
        let adsets = self.fixture.adsets_per_campaign.unwrap_or(2);
        let ads = self.fixture.ads_per_adset.unwrap_or(2);
        let mut objects = Vec::new();
        if self.level == Level::Account {
            return vec![Object {
                campaign: None,
                adset: None,
                ad: None,
            }];
        }
        for campaign in 0..campaigns {
            if self.level == Level::Campaign {
                objects.push(Object {
                    campaign: Some(campaign),
                    adset: None,
                    ad: None,
                });
                continue;
            }
            for adset in 0..adsets {
                if self.level == Level::Adset {
                    objects.push(Object {
                        campaign: Some(campaign),
                        adset: Some(adset),
                        ad: None,
                    });
                    continue;
                }
                for ad in 0..ads {
                    objects.push(Object {
                        campaign: Some(campaign),
                        adset: Some(adset),
                        ad: Some(ad),
                    });
                }
            }
        }
        objects
    }

    fn rows(&self) -> Vec<Value> {
        let mut rows = Vec::new();
        for object in self.objects() {
            for &(since, until) in &self.buckets {
                let mut figures = Figures::default();
                let mut day = since;
                while day <= until {
                    figures = figures.add(self.daily(object, day));
                    day += Duration::days(1);
                }
                rows.push(self.row(object, since, until, &figures));
            }
        }
        rows
    }

    /// One ad's (or the sum of the ads under an object's) figures for one day.
    fn daily(&self, object: Object, day: Date) -> Figures {
        let leaves: Vec<Object> = match (object.campaign, object.adset, object.ad) {
            (_, _, Some(_)) => vec![object],
            _ => self.leaves_under(object),
        };
        let day = day.to_string();
        leaves.into_iter().fold(Figures::default(), |sum, leaf| {
            let id = self.ad_id(leaf);
            let hash = |salt: &str| synthetic::stable_u64(&[self.account_id, &id, &day, salt]);
            let impressions = 200 + hash("impressions") % 12_000;
            let reach = impressions * (55 + hash("reach") % 40) / 100;
            let clicks = impressions * (2 + hash("ctr") % 40) / 1_000;
            sum.add(Figures {
                impressions,
                reach,
                clicks,
                unique_clicks: clicks * (70 + hash("unique") % 30) / 100,
                spend_cents: impressions * (300 + hash("cpm") % 1_500) / 1_000,
                link_clicks: clicks * (50 + hash("link") % 50) / 100,
                page_engagement: clicks + hash("engagement") % 50,
            })
        })
    }

    fn leaves_under(&self, object: Object) -> Vec<Object> {
        let campaigns = self.fixture.campaigns.unwrap_or(3);
        let adsets = self.fixture.adsets_per_campaign.unwrap_or(2);
        let ads = self.fixture.ads_per_adset.unwrap_or(2);
        let mut leaves = Vec::new();
        for campaign in 0..campaigns {
            if object.campaign.is_some_and(|wanted| wanted != campaign) {
                continue;
            }
            for adset in 0..adsets {
                if object.adset.is_some_and(|wanted| wanted != adset) {
                    continue;
                }
                for ad in 0..ads {
                    leaves.push(Object {
                        campaign: Some(campaign),
                        adset: Some(adset),
                        ad: Some(ad),
                    });
                }
            }
        }
        leaves
    }

    fn base_id(&self) -> u64 {
        23_800_000_000_000_000 + synthetic::stable_u64(&[self.account_id]) % 1_000_000 * 1_000
    }

    fn campaign_id(&self, object: Object) -> String {
        (self.base_id() + object.campaign.unwrap_or(0) as u64).to_string()
    }

    fn adset_id(&self, object: Object) -> String {
        (self.base_id()
            + 100
            + (object.campaign.unwrap_or(0) * 10 + object.adset.unwrap_or(0)) as u64)
            .to_string()
    }

    fn ad_id(&self, object: Object) -> String {
        let index = (object.campaign.unwrap_or(0) * 10 + object.adset.unwrap_or(0)) * 10
            + object.ad.unwrap_or(0);
        (self.base_id() + 500 + index as u64).to_string()
    }

    fn row(&self, object: Object, since: Date, until: Date, figures: &Figures) -> Value {
        let per = |numerator: f64, denominator: u64, scale: f64| {
            if denominator == 0 {
                "0".to_owned()
            } else {
                format_number(numerator * scale / denominator as f64)
            }
        };
        let spend = figures.spend_cents as f64 / 100.0;
        let mut row = Map::new();
        for field in &self.fields {
            let value = match field.as_str() {
                "account_id" => json!(self.account_id),
                "account_name" => json!(self
                    .fixture
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("Agency client {}", self.account_id))),
                "account_currency" => json!(self.fixture.currency.as_deref().unwrap_or("USD")),
                "campaign_id" => json!(self.campaign_id(object)),
                "campaign_name" => json!(format!("Campaign {}", object.campaign.unwrap_or(0) + 1)),
                "adset_id" => json!(self.adset_id(object)),
                "adset_name" => json!(format!(
                    "Campaign {} - Ad set {}",
                    object.campaign.unwrap_or(0) + 1,
                    object.adset.unwrap_or(0) + 1
                )),
                "ad_id" => json!(self.ad_id(object)),
                "ad_name" => json!(format!("Ad {}", object.ad.unwrap_or(0) + 1)),
                "objective" => json!("OUTCOME_TRAFFIC"),
                // Metric values are strings (§4, verified example).
                "impressions" => json!(figures.impressions.to_string()),
                "reach" => json!(figures.reach.to_string()),
                "frequency" => json!(per(figures.impressions as f64, figures.reach, 1.0)),
                "clicks" => json!(figures.clicks.to_string()),
                "unique_clicks" => json!(figures.unique_clicks.to_string()),
                "spend" => json!(format_number(spend)),
                "cpc" => json!(per(spend, figures.clicks, 1.0)),
                "cpm" => json!(per(spend, figures.impressions, 1_000.0)),
                "cpp" => json!(per(spend, figures.reach, 1_000.0)),
                "ctr" => json!(per(figures.clicks as f64, figures.impressions, 100.0)),
                "actions" => json!([
                    { "action_type": "link_click", "value": figures.link_clicks.to_string() },
                    { "action_type": "page_engagement", "value": figures.page_engagement.to_string() },
                ]),
                "date_start" => json!(since.to_string()),
                "date_stop" => json!(until.to_string()),
                _ => unreachable!("Insights::new admits only known fields"),
            };
            row.insert(field.clone(), value);
        }
        Value::Object(row)
    }
}

/// Graph's decimal strings: up to 6 places, trailing zeros dropped ("5339.5").
fn format_number(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

fn time_range(range: &str) -> Result<(Date, Date), ProviderError> {
    let invalid = || {
        invalid_parameter(
            "Param time_range must be a JSON object {\"since\":\"YYYY-MM-DD\",\"until\":\"YYYY-MM-DD\"}"
                .into(),
        )
    };
    let range: Value = serde_json::from_str(range).map_err(|_| invalid())?;
    let date = |key: &str| {
        range
            .get(key)
            .and_then(Value::as_str)
            .and_then(synthetic::parse_date)
    };
    match (date("since"), date("until")) {
        (Some(since), Some(until)) if since <= until => Ok((since, until)),
        _ => Err(invalid()),
    }
}

/// The window of a `date_preset`, relative to today (UTC; Meta uses the ad account's zone).
fn date_preset(preset: &str) -> Result<(Date, Date), ProviderError> {
    let today = synthetic::today_utc();
    let yesterday = today - Duration::days(1);
    let last = |days: i64| Ok((today - Duration::days(days), yesterday));
    let first_of_month = |date: Date| date.replace_day(1).expect("every month has a 1st");
    match preset {
        "today" => Ok((today, today)),
        "yesterday" => Ok((yesterday, yesterday)),
        "last_3d" => last(3),
        "last_7d" => last(7),
        "last_14d" => last(14),
        "last_28d" => last(28),
        "last_30d" => last(30),
        "last_90d" => last(90),
        "this_month" => Ok((first_of_month(today), today)),
        "last_month" => {
            let end = first_of_month(today) - Duration::days(1);
            Ok((first_of_month(end), end))
        }
        other => Err(invalid_parameter(format!(
            "date_preset must be one of the following values: today, yesterday, last_3d, last_7d, last_14d, last_28d, last_30d, last_90d, this_month, last_month (got {other})"
        ))),
    }
}
