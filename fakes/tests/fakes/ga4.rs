use std::collections::BTreeSet;

use agency_fakes::google_oauth::REFRESH_TOKEN_BINDING;
use agency_fakes::Ga4Fixture;
use serde_json::{json, Value};

use crate::support::{
    self, credential, http, mint_access_token, status_and_json, DIMENSION_VALUES, PAGE_SIZE_CAP,
    PROPERTY_ID,
};

pub async fn run_report(
    fakes: &agency_fakes::Fakes,
    property: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = http()
        .post(format!(
            "{}/properties/{property}:runReport",
            fakes.base_urls().ga4
        ))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    status_and_json(request.send().await.unwrap()).await
}

pub fn two_dimension_request() -> Value {
    json!({
        "dateRanges": [{ "startDate": "28daysAgo", "endDate": "yesterday" }],
        "dimensions": [{ "name": "sessionSource" }, { "name": "country" }],
        "metrics": [{ "name": "sessions" }, { "name": "activeUsers" }],
        "limit": "10000",
    })
}

/// Two date ranges, the first named: a report over them gains a `dateRange` dimension.
pub fn october_and_september() -> Value {
    json!([
        { "startDate": "2026-10-01", "endDate": "2026-10-31", "name": "october" },
        { "startDate": "2026-09-01", "endDate": "2026-09-30" },
    ])
}

#[tokio::test]
async fn accepts_tokens_minted_by_its_own_oauth_fake() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let (status, body) =
        run_report(&fakes, PROPERTY_ID, Some(&token), &two_dimension_request()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "analyticsData#runReport");
    assert_eq!(
        body["metricHeaders"][0],
        json!({ "name": "sessions", "type": "TYPE_INTEGER" })
    );
    assert_eq!(body["metadata"]["currencyCode"], "USD");
    assert!(body["metadata"]["timeZone"].is_string());
}

#[tokio::test]
async fn rejects_other_tokens_as_unauthenticated_in_googles_shape() {
    let fakes = support::start(support::config()).await;
    let other_fakes = support::start(support::config()).await;
    let foreign_token = mint_access_token(&other_fakes).await;
    let refresh_token = credential(REFRESH_TOKEN_BINDING);
    for token in [
        foreign_token.as_str(),
        refresh_token.as_str(),
        "ya29.canary-never-minted",
    ] {
        let (status, body) =
            run_report(&fakes, PROPERTY_ID, Some(token), &two_dimension_request()).await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], 401);
        assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Request had invalid authentication credentials"));
        assert!(!body.to_string().contains(token), "no echo unless asked");
    }
    let (status, body) = run_report(&fakes, PROPERTY_ID, None, &two_dimension_request()).await;
    assert_eq!(
        (status, &body["error"]["status"]),
        (401, &json!("UNAUTHENTICATED"))
    );
    assert_eq!(body["error"]["details"][0]["reason"], "CREDENTIALS_MISSING");
}

#[tokio::test]
async fn an_unconfigured_property_is_permission_denied() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let (status, body) = run_report(&fakes, "999", Some(&token), &two_dimension_request()).await;
    assert_eq!(
        (status, &body["error"]["status"], &body["error"]["code"]),
        (403, &json!("PERMISSION_DENIED"), &json!(403))
    );
}

#[tokio::test]
async fn capped_pages_reach_row_count_by_following_offset() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let expected_rows = DIMENSION_VALUES * DIMENSION_VALUES;
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let mut request = two_dimension_request();
        request["offset"] = json!(rows.len().to_string());
        let (status, page) = run_report(&fakes, PROPERTY_ID, Some(&token), &request).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["rowCount"], expected_rows,
            "rowCount is the whole report's on every page"
        );
        let page_rows = page["rows"].as_array().cloned().unwrap_or_default();
        assert!(
            page_rows.len() <= PAGE_SIZE_CAP,
            "the cap undercuts limit=10000"
        );
        pages += 1;
        if page_rows.is_empty() {
            break;
        }
        rows.extend(page_rows);
    }
    assert_eq!(rows.len(), expected_rows);
    assert_eq!(
        pages,
        expected_rows.div_ceil(PAGE_SIZE_CAP) + 1,
        "capped pages, then an empty one"
    );
    let distinct: BTreeSet<String> = rows
        .iter()
        .map(|row| row["dimensionValues"].to_string())
        .collect();
    assert_eq!(
        distinct.len(),
        expected_rows,
        "paging neither repeats nor skips rows"
    );
}

#[tokio::test]
async fn several_date_ranges_add_a_date_range_dimension() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let request = json!({
        "dateRanges": october_and_september(),
        "dimensions": [{ "name": "country" }],
        "metrics": [{ "name": "sessions" }],
        "limit": 100,
    });
    let mut seen = BTreeSet::new();
    let mut offset = 0;
    let row_count = loop {
        let mut paged = request.clone();
        paged["offset"] = json!(offset);
        let (status, page) = run_report(&fakes, PROPERTY_ID, Some(&token), &paged).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["dimensionHeaders"],
            json!([{ "name": "country" }, { "name": "dateRange" }])
        );
        let rows = page["rows"].as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            break page["rowCount"].as_u64().unwrap();
        }
        for row in &rows {
            seen.insert(
                row["dimensionValues"][1]["value"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        offset += rows.len();
    };
    assert_eq!(row_count as usize, DIMENSION_VALUES * 2);
    assert_eq!(
        seen,
        BTreeSet::from(["october".to_owned(), "date_range_1".to_owned()])
    );
}

#[tokio::test]
async fn figures_are_deterministic_per_property_and_row() {
    let config = support::config().ga4_property("111", Ga4Fixture::default());
    let (fakes, token) = support::start_with_token(config).await;
    let mut as_numbers = two_dimension_request();
    as_numbers["limit"] = json!(2);
    as_numbers["offset"] = json!(1);
    let mut as_strings = as_numbers.clone();
    as_strings["limit"] = json!("2");
    as_strings["offset"] = json!("1");

    let (_, first) = run_report(&fakes, PROPERTY_ID, Some(&token), &as_numbers).await;
    let (_, again) = run_report(&fakes, PROPERTY_ID, Some(&token), &as_strings).await;
    assert_eq!(
        first["rows"], again["rows"],
        "int64 as number or string, same page, same figures"
    );
    assert_eq!(first["rows"].as_array().unwrap().len(), 2);

    let other_fakes = support::start(support::config()).await;
    let other_token = mint_access_token(&other_fakes).await;
    let (_, elsewhere) =
        run_report(&other_fakes, PROPERTY_ID, Some(&other_token), &as_numbers).await;
    assert_eq!(
        first["rows"], elsewhere["rows"],
        "figures do not depend on the run"
    );

    let (_, other_property) = run_report(&fakes, "111", Some(&token), &as_numbers).await;
    assert_eq!(
        other_property["rowCount"], 25,
        "default 5 values per dimension"
    );
    assert_ne!(first["rows"], other_property["rows"]);
}

#[tokio::test]
async fn malformed_requests_are_invalid_argument() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let mut negative_limit = two_dimension_request();
    negative_limit["limit"] = json!("-1");
    let no_date_range = json!({ "metrics": [{ "name": "sessions" }] });
    for request in [negative_limit, no_date_range] {
        let (status, body) = run_report(&fakes, PROPERTY_ID, Some(&token), &request).await;
        assert_eq!(
            (status, &body["error"]["status"]),
            (400, &json!("INVALID_ARGUMENT")),
            "{request}"
        );
    }
}
