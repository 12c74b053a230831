//! The fakes' answers against the providers' official specs (closed: no
//! field the spec does not declare).

use std::sync::OnceLock;

use agency_fakes::asana::AGENT_PAT_BINDING;
use agency_fakes::contract::{contracts_dir, ContractError, ContractSchemas};
use serde_json::{json, Value};

use crate::ga4::run_report;
use crate::support::{self, credential, http, status_and_json, PROPERTY_ID, TASK_GID};

fn ga4_schemas() -> &'static ContractSchemas {
    static SCHEMAS: OnceLock<ContractSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        ContractSchemas::load_discovery(&contracts_dir().join("google/analyticsdata.v1beta.json"))
            .expect("the GA4 discovery document converts")
    })
}

fn asana_schemas() -> &'static ContractSchemas {
    static SCHEMAS: OnceLock<ContractSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        ContractSchemas::load_openapi(&contracts_dir().join("asana/asana_oas.yaml"))
            .expect("the Asana OpenAPI spec converts")
    })
}

fn assert_valid(schemas: &ContractSchemas, schema: &str, instance: &Value) {
    if let Err(error) = schemas.validate(schema, instance) {
        panic!("{error}\ninstance: {instance:#}");
    }
}

#[tokio::test]
async fn run_report_responses_match_the_discovery_schema() {
    let (fakes, token) = support::start_with_token(support::config()).await;
    let request = json!({
        "dateRanges": crate::ga4::october_and_september(),
        "dimensions": [{ "name": "country" }],
        "metrics": [{ "name": "sessions" }, { "name": "activeUsers" }],
        "offset": "1",
    });
    let (status, report) = run_report(&fakes, PROPERTY_ID, Some(&token), &request).await;
    assert_eq!(status, 200, "{report}");
    assert_valid(ga4_schemas(), "RunReportResponse", &report);

    let (_, beyond_the_end) =
        run_report(&fakes, PROPERTY_ID, Some(&token), &json!({ "dateRanges": request["dateRanges"], "metrics": request["metrics"], "offset": 99 })).await;
    assert_valid(ga4_schemas(), "RunReportResponse", &beyond_the_end);
}

#[test]
fn the_discovery_validator_rejects_undeclared_fields_and_wrong_types() {
    let undeclared = json!({ "rowCount": 1, "rowz": [] });
    assert!(matches!(
        ga4_schemas().validate("RunReportResponse", &undeclared),
        Err(ContractError::Violations { .. })
    ));
    let nested_undeclared =
        json!({ "rows": [{ "dimensionValues": [{ "value": "x", "extra": 1 }] }] });
    assert!(ga4_schemas()
        .validate("RunReportResponse", &nested_undeclared)
        .is_err());
    let wrong_type = json!({ "rowCount": "1" });
    assert!(ga4_schemas()
        .validate("RunReportResponse", &wrong_type)
        .is_err());
    assert!(matches!(
        ga4_schemas().validate("NoSuchSchema", &json!({})),
        Err(ContractError::UnknownSchema(_))
    ));
}

async fn asana_get(fakes: &agency_fakes::Fakes, path: &str) -> Value {
    let url = format!("{}{path}", fakes.base_urls().asana);
    let (status, body) = status_and_json(
        http()
            .get(url)
            .bearer_auth(credential(AGENT_PAT_BINDING))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn asana_task_story_and_user_responses_match_the_openapi_spec() {
    let fakes = support::start(support::config()).await;
    assert_valid(
        asana_schemas(),
        "TaskResponse",
        &asana_get(&fakes, &format!("/tasks/{TASK_GID}")).await["data"],
    );
    assert_valid(
        asana_schemas(),
        "UserResponse",
        &asana_get(&fakes, "/users/me").await["data"],
    );

    let stories_url = format!("{}/tasks/{TASK_GID}/stories", fakes.base_urls().asana);
    for data in [
        json!({ "text": "Report ready" }),
        json!({ "html_text": "<body><em>Report</em> ready</body>" }),
    ] {
        let response = http()
            .post(&stories_url)
            .bearer_auth(credential(AGENT_PAT_BINDING))
            .json(&json!({ "data": data }))
            .send()
            .await
            .unwrap();
        let (status, story) = status_and_json(response).await;
        assert_eq!(status, 201, "{story}");
        assert_valid(asana_schemas(), "StoryResponse", &story["data"]);
    }
    let listed = asana_get(&fakes, &format!("/tasks/{TASK_GID}/stories?limit=1")).await;
    assert_valid(asana_schemas(), "StoryCompact", &listed["data"][0]);
    assert_valid(asana_schemas(), "NextPage", &listed["next_page"]);
    // `opt_fields` asks for fields beyond the compact record: a StoryResponse subset.
    let with_html = asana_get(
        &fakes,
        &format!("/tasks/{TASK_GID}/stories?opt_fields=html_text"),
    )
    .await;
    assert!(asana_schemas()
        .validate("StoryCompact", &with_html["data"][0])
        .is_err());
    assert_valid(asana_schemas(), "StoryResponse", &with_html["data"][0]);
}

#[test]
fn the_openapi_validator_honours_nullable_and_rejects_undeclared_fields() {
    let unassigned = json!({ "gid": "1", "resource_type": "task", "name": "t", "assignee": null });
    assert_valid(asana_schemas(), "TaskResponse", &unassigned);
    let misspelt = json!({ "gid": "1", "resource_type": "task", "custom_field": [] });
    assert!(asana_schemas().validate("TaskResponse", &misspelt).is_err());
    let nested_undeclared =
        json!({ "gid": "1", "assignee": { "gid": "2", "email": "x@example.com" } });
    assert!(asana_schemas()
        .validate("TaskResponse", &nested_undeclared)
        .is_err());
    let wrong_type = json!({ "gid": "1", "completed": "no" });
    assert!(asana_schemas()
        .validate("TaskResponse", &wrong_type)
        .is_err());
}
