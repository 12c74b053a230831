//! Fake PageSpeed Insights v5 (PROVIDER-NOTES §3d): `runPagespeed`, with
//! deterministic Lighthouse scores and field data.
//!
//! Endpoint: `run_pagespeed` (`GET /pagespeedonline/v5/runPagespeed?url=…`),
//! the key in the query string: `key=<AGENCY_OS_GOOGLE_PAGESPEED_API_KEY>`.
//! Errors are Google's JSON error with PSI's legacy `errors[]` (§3e); under
//! `echo_credential` a `DebugInfo` detail echoes the key.

use serde_json::{json, Map, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{self, ErrorShape, ProviderError};
use crate::server::{self, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const API_KEY_BINDING: &str = "AGENCY_OS_GOOGLE_PAGESPEED_API_KEY";

const RUN_PAGESPEED: &str = "run_pagespeed";
const SERVICE: &str = "pagespeedonline.googleapis.com";

const LIGHTHOUSE_VERSION: &str = "12.8.2";
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/137.0.0.0 Safari/537.36";

/// Everything [`FakesConfig`] holds for this fake.
#[derive(Clone, Debug, Default)]
pub(crate) struct PageSpeedSetup {
    /// URLs Lighthouse cannot load: answered with the captured
    /// `FAILED_DOCUMENT_REQUEST` error (§3d).
    pub failing_urls: Vec<String>,
}

pub(crate) struct PageSpeed {
    failing_urls: Vec<String>,
    auth: [CredentialCheck; 1],
}

impl PageSpeed {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        let key = CredentialCheck::new(
            CredentialLocation::QueryParam("key"),
            Accepts::binding(config, API_KEY_BINDING)?,
            // §3d: the bad-key answer (ErrorInfo reason API_KEY_INVALID, legacy reason badRequest).
            ProviderError::new(400, "API key not valid. Please pass a valid API key.")
                .code("API_KEY_INVALID"),
        )
        // §3d: without a key only a tiny shared quota applies and 429s are common
        // [secondary]; the fake makes it certain, so a keyless client is caught.
        .when_missing(
            ProviderError::new(
                429,
                error_shape::google_quota_exceeded(SERVICE, "Queries per day"),
            )
            .context(legacy_reason("global", "rateLimitExceeded")),
        );
        Ok(PageSpeed {
            failing_urls: config
                .pagespeed
                .failing_urls
                .iter()
                .map(|url| final_url(url))
                .collect(),
            auth: [key],
        })
    }
}

/// The legacy `errors[]` entry's domain and reason (§3e), for `ErrorShape::GoogleApiLegacy`.
fn legacy_reason(domain: &str, reason: &str) -> Value {
    json!({ "domain": domain, "reason": reason })
}

impl Provider for PageSpeed {
    const NAME: &'static str = "pagespeed";
    const BASE_PATH: &'static str = "/pagespeedonline/v5";
    const ERROR_SHAPE: ErrorShape = ErrorShape::GoogleApiLegacy { service: SERVICE };
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: RUN_PAGESPEED,
        method: "GET",
        path: "/runPagespeed",
    }];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        assert_eq!(
            endpoint, RUN_PAGESPEED,
            "runPagespeed is the PageSpeed fake's only endpoint"
        );
        let run = Run::from_query(request)?;
        if self.failing_urls.contains(&run.final_url) {
            return Err(ProviderError::new(
                400,
                "Lighthouse returned error: FAILED_DOCUMENT_REQUEST. Lighthouse was unable to reliably load the page you requested. Make sure you are testing the correct URL and that the server is properly responding to all requests. (Details: net::ERR_CONNECTION_FAILED)",
            )
            .context(legacy_reason("lighthouse", "lighthouseUserError")));
        }
        Ok(Reply::ok(run.result()))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Desktop,
    Mobile,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::Desktop => "desktop",
            Strategy::Mobile => "mobile",
        }
    }
}

/// A Lighthouse category: its key in `categories`, title and audits.
struct Category {
    key: &'static str,
    title: &'static str,
    audits: &'static [Audit],
}

/// An audit: numeric (a metric with Lighthouse's good/poor thresholds, mobile
/// figures) or binary (pass/fail).
struct Audit {
    id: &'static str,
    title: &'static str,
    weight: u32,
    metric: Option<Metric>,
}

struct Metric {
    acronym: &'static str,
    /// Mobile range the fake draws from, and Lighthouse's thresholds.
    low: f64,
    high: f64,
    good: f64,
    poor: f64,
    unit: Unit,
}

#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Milliseconds,
    Unitless,
}

const fn metric(
    acronym: &'static str,
    low: f64,
    high: f64,
    good: f64,
    poor: f64,
    unit: Unit,
) -> Option<Metric> {
    Some(Metric {
        acronym,
        low,
        high,
        good,
        poor,
        unit,
    })
}

const fn binary(id: &'static str, title: &'static str, weight: u32) -> Audit {
    Audit {
        id,
        title,
        weight,
        metric: None,
    }
}

/// The four categories PSI runs (§3d); weights are Lighthouse 10+'s.
const CATEGORIES: [Category; 4] = [
    Category {
        key: "performance",
        title: "Performance",
        audits: &[
            Audit {
                id: "first-contentful-paint",
                title: "First Contentful Paint",
                weight: 10,
                metric: metric("FCP", 600.0, 4_000.0, 1_800.0, 3_000.0, Unit::Seconds),
            },
            Audit {
                id: "largest-contentful-paint",
                title: "Largest Contentful Paint",
                weight: 25,
                metric: metric("LCP", 900.0, 6_000.0, 2_500.0, 4_000.0, Unit::Seconds),
            },
            Audit {
                id: "total-blocking-time",
                title: "Total Blocking Time",
                weight: 30,
                metric: metric("TBT", 0.0, 900.0, 200.0, 600.0, Unit::Milliseconds),
            },
            Audit {
                id: "cumulative-layout-shift",
                title: "Cumulative Layout Shift",
                weight: 25,
                metric: metric("CLS", 0.0, 0.4, 0.1, 0.25, Unit::Unitless),
            },
            Audit {
                id: "speed-index",
                title: "Speed Index",
                weight: 10,
                metric: metric("SI", 800.0, 7_000.0, 3_400.0, 5_800.0, Unit::Seconds),
            },
        ],
    },
    Category {
        key: "accessibility",
        title: "Accessibility",
        audits: &[
            binary(
                "color-contrast",
                "Background and foreground colors have a sufficient contrast ratio",
                7,
            ),
            binary("image-alt", "Image elements have `[alt]` attributes", 10),
            binary(
                "html-has-lang",
                "`<html>` element has a `[lang]` attribute",
                7,
            ),
            binary("button-name", "Buttons have an accessible name", 10),
        ],
    },
    Category {
        key: "best-practices",
        title: "Best Practices",
        audits: &[
            binary("is-on-https", "Uses HTTPS", 5),
            binary(
                "errors-in-console",
                "No browser errors logged to the console",
                1,
            ),
            binary("deprecations", "Avoids deprecated APIs", 5),
        ],
    },
    Category {
        key: "seo",
        title: "SEO",
        audits: &[
            binary("document-title", "Document has a `<title>` element", 1),
            binary("meta-description", "Document has a meta description", 1),
            binary(
                "http-status-code",
                "Page has successful HTTP status code",
                1,
            ),
            binary("is-crawlable", "Page isn't blocked from indexing", 1),
        ],
    },
];

/// One `runPagespeed` call's parameters.
struct Run {
    requested_url: String,
    final_url: String,
    strategy: Strategy,
    categories: Vec<&'static Category>,
    locale: String,
}

impl Run {
    fn from_query(request: &Request) -> Result<Self, ProviderError> {
        let pairs = server::query_pairs(request);
        let values = |name: &'static str| values_of(&pairs, name);
        // [unverified] wordings of the parameter errors; the rules are the discovery doc's.
        let requested_url = values("url").next().ok_or_else(|| {
            ProviderError::new(400, "Required parameter: url")
                .context(legacy_reason("global", "required"))
        })?;
        let bare = strip_url_prefix(requested_url);
        let scheme_ok = ["http://", "https://"].iter().any(|scheme| {
            bare.get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
                && bare.len() > scheme.len()
        });
        if !scheme_ok {
            return Err(invalid_value("url", requested_url));
        }
        let strategy = match values("strategy").last() {
            None => Strategy::Desktop,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                // The discovery enum's UNSPECIFIED means the default, desktop.
                "desktop" | "strategy_unspecified" => Strategy::Desktop,
                "mobile" => Strategy::Mobile,
                _ => return Err(invalid_value("strategy", value)),
            },
        };
        let mut categories: Vec<&'static Category> = Vec::new();
        for value in values("category") {
            // §3d: lowercase in the reference, enum-style in newer clients; accept both.
            let key = value.to_ascii_lowercase().replace('_', "-");
            if key == "category-unspecified" {
                continue;
            }
            let category = CATEGORIES
                .iter()
                .find(|category| category.key == key)
                .ok_or_else(|| invalid_value("category", value))?;
            if !categories.iter().any(|seen| seen.key == category.key) {
                categories.push(category);
            }
        }
        if categories.is_empty() {
            // §3d: with no category, only Performance runs.
            categories.push(&CATEGORIES[0]);
        }
        Ok(Run {
            requested_url: requested_url.to_owned(),
            final_url: final_url(requested_url),
            strategy,
            categories,
            locale: values("locale").last().unwrap_or("en-US").to_owned(),
        })
    }

    fn hash(&self, salt: &str) -> u64 {
        synthetic::stable_u64(&[&self.final_url, self.strategy.name(), salt])
    }

    /// A value in `[0, 1)` that depends only on the URL, strategy and `salt`.
    fn fraction(&self, salt: &str) -> f64 {
        (self.hash(salt) % 10_000) as f64 / 10_000.0
    }

    fn audit(&self, audit: &Audit) -> (Value, f64) {
        let Some(metric) = &audit.metric else {
            // Mostly passing, as on a real site.
            let score = if self.hash(audit.id) % 8 == 0 {
                0.0
            } else {
                1.0
            };
            let body = json!({
                "id": audit.id,
                "title": audit.title,
                "description": format!("{} [Learn more](https://developer.chrome.com/docs/lighthouse/).", audit.title),
                "score": score,
                "scoreDisplayMode": "binary",
            });
            return (body, score);
        };
        // Desktop runs unthrottled: about twice as fast.
        let scale = match self.strategy {
            Strategy::Desktop => 0.45,
            Strategy::Mobile => 1.0,
        };
        let value = (metric.low + (metric.high - metric.low) * self.fraction(audit.id)) * scale;
        let score = round2(metric_score(
            value,
            metric.good * scale,
            metric.poor * scale,
        ));
        let (numeric_value, display, unit) = match metric.unit {
            Unit::Seconds => (
                value.round(),
                format!("{:.1}\u{a0}s", value / 1_000.0),
                "millisecond",
            ),
            Unit::Milliseconds => (
                value.round(),
                format!("{:.0}\u{a0}ms", value),
                "millisecond",
            ),
            Unit::Unitless => (round3(value), format!("{:.3}", value), "unitless"),
        };
        let body = json!({
            "id": audit.id,
            "title": audit.title,
            "description": format!("{} marks a point in the page load. [Learn more](https://developer.chrome.com/docs/lighthouse/performance/).", audit.title),
            "score": score,
            "scoreDisplayMode": "numeric",
            "displayValue": display,
            "numericValue": numeric_value,
            "numericUnit": unit,
        });
        (body, score)
    }

    fn result(&self) -> Value {
        let mut audits = Map::new();
        let mut categories = Map::new();
        for category in &self.categories {
            let mut weighted = 0.0;
            let mut total_weight = 0.0;
            let mut refs = Vec::new();
            for audit in category.audits {
                let (body, score) = self.audit(audit);
                audits.insert(audit.id.into(), body);
                weighted += score * f64::from(audit.weight);
                total_weight += f64::from(audit.weight);
                let mut reference = json!({ "id": audit.id, "weight": audit.weight });
                if let Some(metric) = &audit.metric {
                    reference["group"] = json!("metrics");
                    reference["acronym"] = json!(metric.acronym);
                }
                refs.push(reference);
            }
            categories.insert(
                category.key.into(),
                json!({
                    "id": category.key,
                    "title": category.title,
                    "score": round2(weighted / total_weight),
                    "auditRefs": refs,
                }),
            );
        }
        let now = synthetic::now_millis_utc();
        json!({
            "captchaResult": "CAPTCHA_NOT_NEEDED",
            "kind": "pagespeedonline#result",
            "id": self.final_url,
            "loadingExperience": self.field_data(&self.final_url),
            "originLoadingExperience": self.field_data(&origin(&self.final_url)),
            "lighthouseResult": {
                "requestedUrl": self.requested_url,
                "finalUrl": self.final_url,
                "mainDocumentUrl": self.final_url,
                "finalDisplayedUrl": self.final_url,
                "lighthouseVersion": LIGHTHOUSE_VERSION,
                "userAgent": USER_AGENT,
                "fetchTime": now,
                "environment": {
                    "networkUserAgent": USER_AGENT,
                    "hostUserAgent": USER_AGENT,
                    "benchmarkIndex": 2_430.0,
                },
                "runWarnings": [],
                "configSettings": {
                    "emulatedFormFactor": self.strategy.name(),
                    "formFactor": self.strategy.name(),
                    "locale": self.locale,
                    "onlyCategories": self.categories.iter().map(|category| category.key).collect::<Vec<_>>(),
                    "channel": "lr",
                },
                "audits": audits,
                "categories": categories,
                "categoryGroups": {
                    "metrics": { "title": "Metrics" },
                },
                "timing": { "total": 8_000.0 + (self.hash("timing") % 9_000) as f64 },
                "i18n": {
                    "rendererFormattedStrings": {
                        "labDataTitle": "Lab Data",
                        "passedAuditsGroupTitle": "Passed audits",
                    },
                },
            },
            "analysisUTCTimestamp": now,
            "version": { "major": "1", "minor": "19" },
        })
    }

    /// CrUX field data for `id` (the page, or its origin): percentiles and
    /// good / needs-improvement / poor proportions per metric.
    fn field_data(&self, id: &str) -> Value {
        // (metric, good, poor, range of the 75th percentile)
        const FIELD_METRICS: [(&str, u32, u32, u32); 5] = [
            ("CUMULATIVE_LAYOUT_SHIFT_SCORE", 10, 25, 40),
            ("EXPERIMENTAL_TIME_TO_FIRST_BYTE", 800, 1_800, 2_600),
            ("FIRST_CONTENTFUL_PAINT_MS", 1_800, 3_000, 4_200),
            ("INTERACTION_TO_NEXT_PAINT", 200, 500, 700),
            ("LARGEST_CONTENTFUL_PAINT_MS", 2_500, 4_000, 6_000),
        ];
        let mut metrics = Map::new();
        let mut worst = "FAST";
        for (name, good, poor, range) in FIELD_METRICS {
            let hash = synthetic::stable_u64(&[id, self.strategy.name(), name]);
            let percentile = (hash % u64::from(range)) as u32;
            let category = if percentile <= good {
                "FAST"
            } else if percentile <= poor {
                "AVERAGE"
            } else {
                "SLOW"
            };
            let core = !matches!(
                name,
                "EXPERIMENTAL_TIME_TO_FIRST_BYTE" | "FIRST_CONTENTFUL_PAINT_MS"
            );
            if core && rank(category) > rank(worst) {
                worst = category;
            }
            let fast = 0.5 + (hash % 45) as f64 / 100.0;
            let slow = round2((1.0 - fast) * ((hash / 45) % 60) as f64 / 100.0);
            let fast = round2(fast);
            metrics.insert(
                name.into(),
                json!({
                    "percentile": percentile,
                    "distributions": [
                        { "min": 0, "max": good, "proportion": fast },
                        { "min": good, "max": poor, "proportion": round2(1.0 - fast - slow) },
                        { "min": poor, "proportion": slow },
                    ],
                    "category": category,
                }),
            );
        }
        json!({
            "id": id,
            "metrics": metrics,
            "overall_category": worst,
            "initial_url": self.requested_url,
        })
    }
}

/// Every value of query parameter `name`, in order (`category` repeats).
fn values_of<'a>(pairs: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn rank(category: &str) -> u8 {
    match category {
        "FAST" => 0,
        "AVERAGE" => 1,
        _ => 2,
    }
}

/// Lighthouse-like scoring: ≥ 0.9 at or under `good`, 0.5 at `poor`, towards 0 beyond.
fn metric_score(value: f64, good: f64, poor: f64) -> f64 {
    if value <= good {
        0.9 + 0.1 * (1.0 - value / good.max(f64::EPSILON))
    } else if value <= poor {
        0.5 + 0.4 * (poor - value) / (poor - good)
    } else {
        (0.5 * (1.0 - (value - poor) / poor)).max(0.0)
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn round3(value: f64) -> f64 {
    (value * 1_000.0).round() / 1_000.0
}

fn invalid_value(parameter: &str, value: &str) -> ProviderError {
    ProviderError::new(
        400,
        format!("Invalid value '{value}' for parameter '{parameter}'."),
    )
    .context(legacy_reason("global", "invalidParameter"))
}

/// The discovery pattern allows a `url:` or `origin:` prefix.
fn strip_url_prefix(url: &str) -> &str {
    ["url:", "origin:"]
        .iter()
        .find_map(|prefix| {
            url.get(..prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(prefix))
                .map(|_| &url[prefix.len()..])
        })
        .unwrap_or(url)
}

/// The URL Lighthouse ends on: prefix dropped, a bare origin given its `/`.
fn final_url(url: &str) -> String {
    let bare = strip_url_prefix(url);
    let after_scheme = bare.find("://").map_or(0, |at| at + 3);
    if bare[after_scheme..].contains('/') {
        bare.to_owned()
    } else {
        format!("{bare}/")
    }
}

/// `https://example.com/a/b` → `https://example.com`.
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => url[..after_scheme + slash].to_owned(),
        None => url.to_owned(),
    }
}
