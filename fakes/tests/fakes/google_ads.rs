//! Fake Google Ads `searchStream`. There is no machine-readable Google Ads
//! spec in ../shared/contracts (SOURCES.md "Not found or not saved"), so each
//! test quotes the PROVIDER-NOTES.md §3c fact it checks.

use agency_fakes::google_ads::{DEFAULT_CUSTOMER_ID, DEVELOPER_TOKEN_BINDING};
use agency_fakes::google_oauth::REFRESH_TOKEN_BINDING;
use agency_fakes::{Fakes, GoogleAdsFixture};
use serde_json::{json, Value};

use crate::support::{self, credential, http, mint_access_token, status_and_json};

pub const CLIENT_CUSTOMER: &str = "5550001111";
pub const MANAGER: &str = "9990001111";
const CAMPAIGN_QUERY: &str = "SELECT campaign.id, campaign.name, metrics.clicks, metrics.cost_micros FROM campaign WHERE segments.date DURING LAST_30_DAYS";

pub struct Call<'a> {
    pub customer: &'a str,
    pub token: Option<&'a str>,
    pub developer_token: Option<String>,
    pub login_customer_id: Option<&'a str>,
    pub body: Value,
}

impl<'a> Call<'a> {
    pub fn new(customer: &'a str, token: &'a str, query: &str) -> Self {
        Call {
            customer,
            token: Some(token),
            developer_token: Some(credential(DEVELOPER_TOKEN_BINDING)),
            login_customer_id: None,
            body: json!({ "query": query }),
        }
    }

    pub async fn send(&self, fakes: &Fakes) -> reqwest::Response {
        let mut request = http()
            .post(format!(
                "{}/v21/customers/{}/googleAds:searchStream",
                fakes.base_urls().google_ads,
                self.customer
            ))
            .json(&self.body);
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if let Some(developer_token) = &self.developer_token {
            request = request.header("developer-token", developer_token);
        }
        if let Some(login) = self.login_customer_id {
            request = request.header("login-customer-id", login);
        }
        request.send().await.unwrap()
    }

    pub async fn json(&self, fakes: &Fakes) -> (u16, Value) {
        status_and_json(self.send(fakes).await).await
    }
}

/// §3c: "searchStream errors come back wrapped in the array, e.g.
/// `[{"error":{...}}]`, and clients read `data[0].error.details[0].errors[0].message`".
/// Returns that error and its GoogleAdsFailure's first GoogleAdsError.
pub fn ads_error(body: &Value) -> (&Value, &Value) {
    let error = &body.as_array().expect("an array, errors included")[0]["error"];
    let failure = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|detail| {
            detail["@type"].as_str().is_some_and(|kind| {
                kind.starts_with("type.googleapis.com/google.ads.googleads.v")
                    && kind.ends_with(".errors.GoogleAdsFailure")
            })
        })
        .expect("a GoogleAdsFailure detail");
    assert!(
        failure["requestId"].is_string(),
        "§3c: GoogleAdsFailure = errors[] + requestId"
    );
    (error, &failure["errors"][0])
}

fn config() -> agency_fakes::FakesConfig {
    support::config()
        .google_ads_customer(DEFAULT_CUSTOMER_ID, GoogleAdsFixture::default())
        .google_ads_customer(
            CLIENT_CUSTOMER,
            GoogleAdsFixture {
                manager_customer_id: Some(MANAGER.into()),
                campaigns: Some(5),
                batch_size: Some(2),
            },
        )
}

#[tokio::test]
async fn streams_an_array_of_batches_for_a_minted_token_and_the_developer_token() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let (status, body) = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY)
        .json(&fakes)
        .await;
    assert_eq!(status, 200, "{body}");
    // §3c: "Response: a JSON array of batches, each SearchGoogleAdsStreamResponse:
    // {results:[GoogleAdsRow], fieldMask, summaryRow?, requestId}".
    let batches = body.as_array().expect("a JSON array");
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    let keys: Vec<&str> = batch
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["fieldMask", "requestId", "results"]);
    assert_eq!(
        batch["fieldMask"],
        "campaign.id,campaign.name,metrics.clicks,metrics.costMicros"
    );
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "the default customer's 3 campaigns");
    for row in results {
        // §3c: "Rows are lowerCamelCase ... int64 values come back as strings."
        let campaign = &row["campaign"];
        let id = campaign["id"].as_str().expect("int64 id as a string");
        assert_eq!(
            campaign["resourceName"],
            format!("customers/{DEFAULT_CUSTOMER_ID}/campaigns/{id}")
        );
        assert!(campaign["name"].is_string());
        assert!(row["metrics"]["clicks"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok());
        assert!(row["metrics"]["costMicros"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok());
        assert_eq!(
            row.as_object().unwrap().len(),
            2,
            "only the selected resources"
        );
    }
    let (_, again) = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY)
        .json(&fakes)
        .await;
    assert_eq!(
        again[0]["results"], batch["results"],
        "figures are deterministic"
    );
}

#[tokio::test]
async fn batches_split_and_the_summary_row_rides_on_the_last() {
    let (fakes, token) = support::start_with_token(config()).await;
    let mut call = Call::new(
        CLIENT_CUSTOMER,
        &token,
        "SELECT campaign.id, metrics.clicks, metrics.impressions, metrics.ctr FROM campaign",
    );
    call.login_customer_id = Some(MANAGER);
    call.body["summaryRowSetting"] = json!("SUMMARY_ROW_WITH_RESULTS");
    let (status, body) = call.json(&fakes).await;
    assert_eq!(status, 200, "{body}");
    let batches = body.as_array().unwrap();
    assert_eq!(
        batches
            .iter()
            .map(|batch| batch["results"].as_array().map_or(0, Vec::len))
            .collect::<Vec<_>>(),
        [2, 2, 1]
    );
    let request_ids: Vec<&Value> = batches.iter().map(|batch| &batch["requestId"]).collect();
    assert!(
        request_ids.windows(2).all(|pair| pair[0] == pair[1]),
        "one request, one requestId"
    );
    assert!(batches[..2]
        .iter()
        .all(|batch| batch.get("summaryRow").is_none()));
    let clicks: u64 = batches
        .iter()
        .flat_map(|batch| batch["results"].as_array().unwrap().clone())
        .map(|row| {
            row["metrics"]["clicks"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    let summary = &batches[2]["summaryRow"]["metrics"];
    assert_eq!(summary["clicks"], clicks.to_string());
    assert!(summary["ctr"].is_f64(), "double metrics are JSON numbers");

    call.body["summaryRowSetting"] = json!("SUMMARY_ROW_ONLY");
    let (_, only) = call.json(&fakes).await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert!(only[0].get("results").is_none());
    assert_eq!(only[0]["summaryRow"], batches[2]["summaryRow"]);
}

#[tokio::test]
async fn daily_rows_add_up_to_the_range_row() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let range = "WHERE segments.date BETWEEN '2026-10-01' AND '2026-10-07'";
    let daily_query =
        format!("SELECT campaign.id, segments.date, metrics.impressions FROM campaign {range}");
    let (status, daily) = Call::new(DEFAULT_CUSTOMER_ID, &token, &daily_query)
        .json(&fakes)
        .await;
    assert_eq!(status, 200, "{daily}");
    let rows = daily[0]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3 * 7);
    assert_eq!(rows[0]["segments"]["date"], "2026-10-01");
    let (_, total) = Call::new(
        DEFAULT_CUSTOMER_ID,
        &token,
        &format!("SELECT customer.id, metrics.impressions FROM customer {range} LIMIT 10"),
    )
    .json(&fakes)
    .await;
    let sum: u64 = rows
        .iter()
        .map(|row| {
            row["metrics"]["impressions"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        total[0]["results"][0]["metrics"]["impressions"],
        sum.to_string()
    );
    assert_eq!(
        total[0]["results"][0]["customer"]["id"],
        DEFAULT_CUSTOMER_ID
    );
}

#[tokio::test]
async fn rejected_credentials_are_google_ads_failures_inside_the_array() {
    let fakes = support::start(support::config()).await;
    let other = support::start(support::config()).await;
    let token = mint_access_token(&fakes).await;
    let foreign = mint_access_token(&other).await;
    let refresh = credential(REFRESH_TOKEN_BINDING);
    for wrong in [foreign.as_str(), refresh.as_str()] {
        let (status, body) = Call::new(DEFAULT_CUSTOMER_ID, wrong, CAMPAIGN_QUERY)
            .json(&fakes)
            .await;
        assert_eq!(status, 401);
        let (error, ads) = ads_error(&body);
        // §3c status mapping: 401 UNAUTHENTICATED.
        assert_eq!(
            (&error["code"], &error["status"]),
            (&json!(401), &json!("UNAUTHENTICATED"))
        );
        assert_eq!(
            ads["errorCode"],
            json!({ "authenticationError": "OAUTH_TOKEN_INVALID" })
        );
        assert!(!body.to_string().contains(wrong), "no echo unless asked");
    }
    let mut missing_token = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY);
    missing_token.token = None;
    let (status, body) = missing_token.json(&fakes).await;
    assert_eq!(
        (status, &body[0]["error"]["status"]),
        (401, &json!("UNAUTHENTICATED"))
    );

    // §3c "Headers": developer-token is required.
    let mut no_developer_token = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY);
    no_developer_token.developer_token = None;
    let (status, body) = no_developer_token.json(&fakes).await;
    assert_eq!(status, 400);
    assert_eq!(
        ads_error(&body).1["errorCode"],
        json!({ "requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING" })
    );
    let mut wrong_developer_token = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY);
    wrong_developer_token.developer_token = Some("canary-wrong-developer-token".into());
    let (status, body) = wrong_developer_token.json(&fakes).await;
    assert_eq!(status, 401);
    assert_eq!(
        ads_error(&body).1["errorCode"],
        json!({ "authenticationError": "DEVELOPER_TOKEN_INVALID" })
    );
}

#[tokio::test]
async fn login_customer_id_is_honoured() {
    let (fakes, token) = support::start_with_token(config()).await;
    let query = "SELECT campaign.id FROM campaign";
    for (customer, login, expected) in [
        (CLIENT_CUSTOMER, None, 403),
        (CLIENT_CUSTOMER, Some("1112223333"), 403),
        (CLIENT_CUSTOMER, Some("999-000-1111"), 403),
        (CLIENT_CUSTOMER, Some(MANAGER), 200),
        (DEFAULT_CUSTOMER_ID, None, 200),
        (DEFAULT_CUSTOMER_ID, Some(DEFAULT_CUSTOMER_ID), 200),
        (DEFAULT_CUSTOMER_ID, Some(MANAGER), 403),
        ("4440004444", None, 403),
    ] {
        let mut call = Call::new(customer, &token, query);
        call.login_customer_id = login;
        let (status, body) = call.json(&fakes).await;
        assert_eq!(status, expected, "{customer} via {login:?}: {body}");
        if status == 403 {
            // §3c's example: PERMISSION_DENIED, authorizationError USER_PERMISSION_DENIED,
            // the message naming the login-customer-id header.
            let (error, ads) = ads_error(&body);
            assert_eq!(
                (&error["status"], &error["message"]),
                (
                    &json!("PERMISSION_DENIED"),
                    &json!("The caller does not have permission")
                )
            );
            assert_eq!(
                ads["errorCode"],
                json!({ "authorizationError": "USER_PERMISSION_DENIED" })
            );
            assert!(ads["message"]
                .as_str()
                .unwrap()
                .contains("'login-customer-id' header"));
        }
    }
}

#[tokio::test]
async fn the_developer_token_check_is_configurable() {
    // §3c: "Make the developer-token check configurable in the fake."
    let (fakes, token) =
        support::start_with_token(support::config().google_ads_developer_token_required(false))
            .await;
    let mut without = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY);
    without.developer_token = None;
    assert_eq!(without.send(&fakes).await.status(), 200);
    let mut wrong = Call::new(DEFAULT_CUSTOMER_ID, &token, CAMPAIGN_QUERY);
    wrong.developer_token = Some("canary-wrong".into());
    assert_eq!(
        wrong.send(&fakes).await.status(),
        401,
        "a token that is sent must be right"
    );
}

#[tokio::test]
async fn bad_queries_are_invalid_argument_query_errors() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    for (query, code) in [
        ("SELECT campaign.id", "QUERY_ERROR"),
        ("SELECT campaign.bogus FROM campaign", "UNRECOGNIZED_FIELD"),
        (
            "SELECT ad_group.id FROM ad_group",
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_3_FORTNIGHTS",
            "INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
    ] {
        let (status, body) = Call::new(DEFAULT_CUSTOMER_ID, &token, query)
            .json(&fakes)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        let (error, ads) = ads_error(&body);
        assert_eq!(error["status"], "INVALID_ARGUMENT");
        assert_eq!(ads["errorCode"], json!({ "queryError": code }), "{query}");
    }
}
