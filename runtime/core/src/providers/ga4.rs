//! GA4 Data API `runReport`: two date ranges in one request, offset paging until `rowCount`.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::parse_json;
use crate::context::{RunContext, Step};
use crate::error::StepError;
use crate::http::{HttpRequest, Method};
use crate::retry;

const PROVIDER: &str = "ga4";
const PAGE_LIMIT: u64 = 10_000;
/// A guard against a server that keeps answering pages without ever reaching `rowCount`.
const MAX_PAGES: usize = 100;

pub const METRICS: [&str; 3] = ["sessions", "activeUsers", "screenPageViews"];
pub const DIMENSION: &str = "sessionDefaultChannelGroup";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub name: &'static str,
    pub start_date: String,
    pub end_date: String,
}

/// Metric totals for one channel: `[current, previous]` per metric, in [`METRICS`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChannelFigures {
    pub current: [i64; 3],
    pub previous: [i64; 3],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrafficComparison {
    pub property: String,
    pub periods: [Period; 2],
    pub channels: BTreeMap<String, ChannelFigures>,
    pub pages: usize,
    pub rows: usize,
}

impl TrafficComparison {
    pub fn totals(&self) -> ChannelFigures {
        self.channels.values().fold(ChannelFigures::default(), |mut sum, c| {
            for i in 0..METRICS.len() {
                sum.current[i] += c.current[i];
                sum.previous[i] += c.previous[i];
            }
            sum
        })
    }
}

/// Accepts `123456`, or `properties/123456` as GA4's own resource name has it.
pub fn property_id(field_value: &str) -> Option<String> {
    let id = field_value.trim().trim_start_matches("properties/");
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned())
}

pub async fn traffic_comparison(
    ctx: &RunContext<'_>,
    step: &Step,
    access_token: &SecretString,
    property: &str,
    periods: [Period; 2],
) -> Result<TrafficComparison, StepError> {
    let url = format!("{}/properties/{property}:runReport", ctx.config.ga4_base_url);
    let mut report = TrafficComparison {
        property: property.to_owned(),
        periods,
        channels: BTreeMap::new(),
        pages: 0,
        rows: 0,
    };
    loop {
        let body = serde_json::json!({
            "dateRanges": report.periods.iter().map(|p| serde_json::json!({
                "startDate": p.start_date, "endDate": p.end_date, "name": p.name,
            })).collect::<Vec<_>>(),
            "dimensions": [{ "name": DIMENSION }],
            "metrics": METRICS.iter().map(|m| serde_json::json!({ "name": m })).collect::<Vec<_>>(),
            "limit": PAGE_LIMIT.to_string(),
            "offset": report.rows.to_string(),
        });
        let build = || {
            HttpRequest::new(Method::Post, &url)
                .header("authorization", format!("Bearer {}", access_token.expose_secret()))
                .json(&body)
        };
        let response = retry::send(ctx, step, PROVIDER, &build).await?;
        let page = parse_json(PROVIDER, &response.body)?;
        let added = add_page(&mut report, &page)?;
        report.pages += 1;
        let row_count = page["rowCount"].as_u64().unwrap_or(0) as usize;
        if report.rows >= row_count || added == 0 {
            return Ok(report);
        }
        if report.pages >= MAX_PAGES {
            return Err(StepError::InvalidResponse { provider: PROVIDER, what: format!("rowCount not reached after {MAX_PAGES} pages") });
        }
    }
}

/// Folds one page into the comparison; returns how many rows it held.
fn add_page(report: &mut TrafficComparison, page: &serde_json::Value) -> Result<usize, StepError> {
    let invalid = |what: &str| StepError::InvalidResponse { provider: PROVIDER, what: what.to_owned() };
    let headers: Vec<&str> = page["dimensionHeaders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["name"].as_str())
        .collect();
    let channel_at = headers.iter().position(|h| *h == DIMENSION).ok_or_else(|| invalid("no channel dimension"))?;
    let range_at = headers.iter().position(|h| *h == "dateRange");
    let rows = page["rows"].as_array().map(Vec::as_slice).unwrap_or_default();
    for row in rows {
        let dimension = |i: usize| row["dimensionValues"][i]["value"].as_str();
        let channel = dimension(channel_at).ok_or_else(|| invalid("row without channel"))?;
        let is_previous = match range_at.and_then(dimension) {
            Some(range) => range == report.periods[1].name || range == "date_range_1",
            None => false,
        };
        let figures = report.channels.entry(channel.to_owned()).or_default();
        let target = if is_previous { &mut figures.previous } else { &mut figures.current };
        for (i, slot) in target.iter_mut().enumerate() {
            let value = row["metricValues"][i]["value"].as_str().ok_or_else(|| invalid("row without metric"))?;
            *slot += value.parse::<i64>().map_err(|_| invalid("metric is not an integer"))?;
        }
    }
    report.rows += rows.len();
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_ids_are_digits_only() {
        assert_eq!(property_id("properties/123").as_deref(), Some("123"));
        assert_eq!(property_id(" 42 ").as_deref(), Some("42"));
        assert_eq!(property_id("12/../x"), None);
        assert_eq!(property_id(""), None);
    }

    #[test]
    fn pages_fold_into_current_and_previous() {
        let mut report = TrafficComparison {
            property: "1".into(),
            periods: [
                Period { name: "current", start_date: "a".into(), end_date: "b".into() },
                Period { name: "previous", start_date: "c".into(), end_date: "d".into() },
            ],
            channels: BTreeMap::new(),
            pages: 0,
            rows: 0,
        };
        let page = serde_json::json!({
            "dimensionHeaders": [{"name": DIMENSION}, {"name": "dateRange"}],
            "rows": [
                {"dimensionValues": [{"value": "Organic Search"}, {"value": "current"}], "metricValues": [{"value": "10"}, {"value": "5"}, {"value": "30"}]},
                {"dimensionValues": [{"value": "Organic Search"}, {"value": "previous"}], "metricValues": [{"value": "8"}, {"value": "4"}, {"value": "20"}]}
            ],
            "rowCount": 2
        });
        assert_eq!(add_page(&mut report, &page).unwrap(), 2);
        let organic = &report.channels["Organic Search"];
        assert_eq!(organic.current, [10, 5, 30]);
        assert_eq!(organic.previous, [8, 4, 20]);
    }
}
