//! Fake Meta insights: the token in the query or as Bearer, cursor paging
//! whose `next` carries `access_token` exactly when it came in the query,
//! Graph errors, and rows held to meta/specs/AdsInsights.json's field list.

use std::sync::OnceLock;

use agency_fakes::contract::{contracts_dir, ContractError, FieldListSpecs};
use agency_fakes::meta::{ACCESS_TOKEN_BINDING, DEFAULT_AD_ACCOUNT_ID};
use agency_fakes::{Fakes, MetaAdAccountFixture};
use serde_json::{json, Value};

use crate::support::{self, credential, fault, http, status_and_json};

pub const ACCOUNT: &str = "222233334444555";

pub fn meta_specs() -> &'static FieldListSpecs {
    static SPECS: OnceLock<FieldListSpecs> = OnceLock::new();
    SPECS.get_or_init(|| {
        FieldListSpecs::load_dir(&contracts_dir().join("meta/specs")).expect("the Meta specs load")
    })
}

pub fn assert_rows_are_ads_insights(body: &Value) {
    for row in body["data"].as_array().expect("a data array") {
        if let Err(error) = meta_specs().validate("AdsInsights", row) {
            panic!("{error}\nrow: {row:#}");
        }
    }
}

pub fn token() -> String {
    credential(ACCESS_TOKEN_BINDING)
}

#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Query(&'a str),
    Bearer(&'a str),
    None,
}

pub async fn insights(
    fakes: &Fakes,
    account: &str,
    auth: Auth<'_>,
    query: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http()
        .get(format!(
            "{}/v25.0/act_{account}/insights",
            fakes.base_urls().meta
        ))
        .query(query);
    match auth {
        Auth::Query(token) => request = request.query(&[("access_token", token)]),
        Auth::Bearer(token) => request = request.bearer_auth(token),
        Auth::None => {}
    }
    request.send().await.unwrap()
}

fn config() -> agency_fakes::FakesConfig {
    support::config().meta_ad_account(
        ACCOUNT,
        MetaAdAccountFixture {
            name: Some("Acme".into()),
            page_size_cap: Some(2),
            ..MetaAdAccountFixture::default()
        },
    )
}

const FIELDS: &str = "account_id,account_name,campaign_id,campaign_name,impressions,clicks,spend,reach,frequency,cpc,cpm,ctr,actions";

#[tokio::test]
async fn insights_take_the_token_in_the_query_or_as_bearer_and_rows_match_ads_insights() {
    let fakes = support::start(support::config()).await;
    let token = token();
    let query = [
        ("fields", FIELDS),
        ("level", "campaign"),
        ("date_preset", "last_7d"),
    ];
    let by_query = insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &query).await;
    let usage = by_query
        .headers()
        .get("x-app-usage")
        .map(|value| value.to_str().unwrap().to_owned());
    let (status, body) = status_and_json(by_query).await;
    assert_eq!(status, 200, "{body}");
    assert_rows_are_ads_insights(&body);
    let usage: Value =
        serde_json::from_str(&usage.expect("§4: JSON usage headers on every answer")).unwrap();
    assert!(usage["call_count"].is_u64());
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "3 campaigns, one all-days row each");
    let row = &rows[0];
    // §4: "Metric values are strings".
    for metric in ["impressions", "clicks", "spend", "reach", "cpc", "ctr"] {
        assert!(
            row[metric].as_str().unwrap().parse::<f64>().is_ok(),
            "{metric}: {row}"
        );
    }
    assert_eq!(row["account_id"], DEFAULT_AD_ACCOUNT_ID);
    assert!(row["date_start"].is_string() && row["date_stop"].is_string());
    assert_eq!(row["actions"][0]["action_type"], "link_click");

    let (status, by_bearer) = status_and_json(
        insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Bearer(&token), &query).await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        by_bearer["data"], body["data"],
        "same figures whichever way the token came"
    );
}

async fn walk(fakes: &Fakes, auth: Auth<'_>) -> (Vec<Value>, Vec<String>) {
    let query = [
        ("fields", "campaign_id,impressions"),
        ("level", "ad"),
        (
            "time_range",
            r#"{"since":"2026-10-01","until":"2026-10-03"}"#,
        ),
        ("time_increment", "1"),
    ];
    let (status, mut page) = status_and_json(insights(fakes, ACCOUNT, auth, &query).await).await;
    assert_eq!(status, 200, "{page}");
    let mut rows = Vec::new();
    let mut nexts = Vec::new();
    loop {
        assert_rows_are_ads_insights(&page);
        rows.extend(page["data"].as_array().unwrap().clone());
        let Some(next) = page["paging"]["next"].as_str().map(str::to_owned) else {
            break;
        };
        assert!(next.starts_with(&fakes.base_urls().meta), "{next}");
        nexts.push(next.clone());
        // Follow `next` as given; Bearer clients still send their header.
        let mut request = http().get(&next);
        if let Auth::Bearer(token) = auth {
            request = request.bearer_auth(token);
        }
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        page = body;
    }
    (rows, nexts)
}

#[tokio::test]
async fn paging_next_carries_access_token_exactly_when_it_came_in_the_query() {
    let fakes = support::start(config()).await;
    let token = token();
    let (query_rows, query_nexts) = walk(&fakes, Auth::Query(&token)).await;
    let (bearer_rows, bearer_nexts) = walk(&fakes, Auth::Bearer(&token)).await;
    // 3 campaigns × 2 ad sets × 2 ads, 3 days, pages of 2.
    assert_eq!(query_rows.len(), 36);
    assert_eq!(query_nexts.len(), 17);
    assert_eq!(query_rows, bearer_rows);
    let encoded = url_encoded(&token);
    // §4 "Pagination": next URLs embed the token when it was a query parameter...
    assert!(query_nexts
        .iter()
        .all(|next| next.contains(&format!("access_token={encoded}"))));
    // ...and not when it came another way (restfb #214).
    assert!(bearer_nexts
        .iter()
        .all(|next| !next.contains("access_token") && !next.contains(&token)));
    assert!(query_nexts.iter().all(|next| next.contains("after=")));
}

/// application/x-www-form-urlencoded, as the fake (and Graph) write queries.
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                char::from(byte).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// §4 "Error format": `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
fn graph_error(body: &Value) -> &Value {
    let error = &body["error"];
    assert!(
        error["fbtrace_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    assert!(error["code"].is_u64() && error["message"].is_string() && error["type"].is_string());
    error
}

#[tokio::test]
async fn a_wrong_token_is_code_190_with_http_400_and_echoes_only_under_the_knob() {
    let plain = support::start(support::config()).await;
    let echoing = support::start(support::config().fault(fault(
        json!({ "fake": "meta", "endpoint": "get_insights", "echo_credential": true }),
    )))
    .await;
    let wrong = "EAACcanaryMalformedToken";
    for (fakes, echoes) in [(&plain, false), (&echoing, true)] {
        for auth in [Auth::Query(wrong), Auth::Bearer(wrong)] {
            let (status, body) =
                status_and_json(insights(fakes, DEFAULT_AD_ACCOUNT_ID, auth, &[]).await).await;
            // §4: code 190 comes with HTTP 400.
            assert_eq!(status, 400);
            let error = graph_error(&body);
            assert_eq!(
                (&error["code"], &error["type"]),
                (&json!(190), &json!("OAuthException"))
            );
            let expected = if echoes {
                // §4: "Malformed access token [the token]" (react-native-fbsdk #220).
                format!("Malformed access token {wrong}")
            } else {
                "Invalid OAuth access token - Cannot parse access token".to_owned()
            };
            assert_eq!(error["message"], expected);
        }
    }
    let (status, body) =
        status_and_json(insights(&plain, DEFAULT_AD_ACCOUNT_ID, Auth::None, &[]).await).await;
    assert_eq!((status, &graph_error(&body)["code"]), (400, &json!(104)));
    let token = token();
    assert_eq!(
        insights(&echoing, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &[])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn unknown_accounts_fields_and_presets_are_graph_errors() {
    let fakes = support::start(support::config()).await;
    let token = token();
    let (status, body) =
        status_and_json(insights(&fakes, "999", Auth::Query(&token), &[]).await).await;
    let error = graph_error(&body);
    assert_eq!(
        (
            status,
            &error["code"],
            &error["error_subcode"],
            &error["type"]
        ),
        (400, &json!(100), &json!(33), &json!("GraphMethodException"))
    );
    for query in [
        [("fields", "impressions,bogus_metric")],
        [("date_preset", "last_century")],
        [("level", "campaign_group")],
    ] {
        let (status, body) = status_and_json(
            insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &query).await,
        )
        .await;
        assert_eq!(
            (status, &graph_error(&body)["code"]),
            (400, &json!(100)),
            "{query:?}"
        );
    }
    let (status, body) = status_and_json(
        http()
            .get(format!("{}/v25.0/me/adaccounts/x", fakes.base_urls().meta))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &graph_error(&body)["code"]),
        (400, &json!(2500)),
        "unknown path components"
    );
}

#[tokio::test]
async fn daily_rows_add_up_to_the_all_days_row() {
    let fakes = support::start(support::config()).await;
    let token = token();
    let range = r#"{"since":"2026-09-01","until":"2026-09-10"}"#;
    let fields = [
        ("fields", "impressions,spend"),
        ("time_range", range),
        ("limit", "100"),
    ];
    let (_, total) = status_and_json(
        insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &fields).await,
    )
    .await;
    let mut daily_query = fields.to_vec();
    daily_query.push(("time_increment", "1"));
    let (_, daily) = status_and_json(
        insights(
            &fakes,
            DEFAULT_AD_ACCOUNT_ID,
            Auth::Query(&token),
            &daily_query,
        )
        .await,
    )
    .await;
    let days = daily["data"].as_array().unwrap();
    assert_eq!(days.len(), 10);
    assert_eq!(
        (&days[0]["date_start"], &days[9]["date_stop"]),
        (&json!("2026-09-01"), &json!("2026-09-10"))
    );
    let sum: u64 = days
        .iter()
        .map(|day| day["impressions"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total["data"][0]["impressions"], sum.to_string());
    assert!(
        total.get("paging").is_some() && total["paging"].get("next").is_none(),
        "one page"
    );
}

#[test]
fn the_field_list_checker_is_closed_and_typed() {
    let specs = meta_specs();
    assert!(specs
        .validate(
            "AdsInsights",
            &json!({ "impressions": "5", "actions": [{ "action_type": "x", "value": "1" }] })
        )
        .is_ok());
    for bad in [
        json!({ "impressions": 5 }),
        json!({ "impresions": "5" }),
        json!({ "actions": [{ "action_type": "x", "valu": "1" }] }),
        json!({ "actions": { "action_type": "x" } }),
    ] {
        assert!(
            matches!(
                specs.validate("AdsInsights", &bad),
                Err(ContractError::Violations { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        specs.validate("NoSuchNode", &json!({})),
        Err(ContractError::UnknownSchema(_))
    ));
    // The grammar beyond insights: maps, nested lists, enums, other nodes.
    let inline = FieldListSpecs::from_documents(
        [(
            "Node".to_owned(),
            json!({ "fields": [
            { "name": "tags", "type": "map<string, list<int>>" },
            { "name": "status", "type": "Node_status" },
            { "name": "when", "type": "datetime" },
            { "name": "flag", "type": "bool" },
        ] }),
        )],
        Some(&json!([{ "name": "Node_status", "values": ["ACTIVE", "PAUSED"] }])),
    )
    .unwrap();
    assert!(inline.validate("Node", &json!({ "tags": { "a": [1, 2] }, "status": "ACTIVE", "when": "2026-01-01T00:00:00+0000", "flag": true })).is_ok());
    assert!(inline
        .validate("Node", &json!({ "tags": { "a": ["1"] } }))
        .is_err());
    assert!(inline
        .validate("Node", &json!({ "status": "DELETED" }))
        .is_err());
}
