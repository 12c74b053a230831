//! Fake DataForSEO v3 (PROVIDER-NOTES §5b): Google organic SERPs, live and
//! in standard mode, and the error appendix.
//!
//! Endpoints, under `/v3` and behind HTTP Basic
//! `AGENCY_OS_DATAFORSEO_LOGIN:AGENCY_OS_DATAFORSEO_PASSWORD` (decoded as
//! UTF-8; the password may hold `:` and any other character):
//! `serp_live_advanced` (`POST /serp/google/organic/live/advanced`),
//! `serp_task_post` (`POST /serp/google/organic/task_post`),
//! `serp_tasks_ready` (`GET /serp/google/organic/tasks_ready`),
//! `serp_task_get_advanced` (`GET /serp/google/organic/task_get/advanced/{id}`)
//! and `appendix_errors` (`GET /appendix/errors`).
//!
//! Every answer is the envelope `{version, status_code, status_message,
//! time, cost, tasks_count, tasks_error, tasks}`. As §5b records, HTTP is 200
//! for logical errors: a body that is not a JSON array of task objects is a
//! request-level `40503`, a task without `keyword` a task-level `40501`
//! inside a `20000` request, an unknown task id a task-level `40401`. Only a
//! rejected login is HTTP 401 (`40100`); 402 (`40200`) and the rest come from
//! faults. `tasks[].data` echoes the task as posted, `postback_url` and
//! `pingback_url` included (§5b credential flows); the fake never calls them.

use std::sync::Mutex;

use serde_json::{json, Map, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{dataforseo_message, ErrorShape, ProviderError, DATAFORSEO_VERSION};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const LOGIN_BINDING: &str = "AGENCY_OS_DATAFORSEO_LOGIN";
pub const PASSWORD_BINDING: &str = "AGENCY_OS_DATAFORSEO_PASSWORD";

const SERP_LIVE_ADVANCED: &str = "serp_live_advanced";
const SERP_TASK_POST: &str = "serp_task_post";
const SERP_TASKS_READY: &str = "serp_tasks_ready";
const SERP_TASK_GET_ADVANCED: &str = "serp_task_get_advanced";
const APPENDIX_ERRORS: &str = "appendix_errors";

/// What a SERP task costs, USD ([unverified]: the §5b example's figure).
const TASK_COST: f64 = 0.002;
/// Organic items a result carries at most, whatever `depth` asks.
const MAX_ITEMS: u64 = 10;
/// Tasks one request may carry (§5b "tasks-per-request caps"; the number is [unverified]).
const MAX_TASKS: usize = 100;
/// The codes `/v3/appendix/errors` lists: every one the fake answers.
const CODES: [u32; 11] = [
    20000, 20100, 40100, 40200, 40202, 40400, 40401, 40501, 40503, 40602, 50000,
];

pub(crate) struct DataForSeo {
    auth: [CredentialCheck; 2],
    /// Tasks set with `task_post`, in posting order.
    tasks: Mutex<Vec<PostedTask>>,
}

struct PostedTask {
    id: String,
    data: Map<String, Value>,
    posted_at: String,
    collected: bool,
}

impl DataForSeo {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        let not_authorized = ProviderError::new(401, dataforseo_message(40100)).code("40100");
        Ok(DataForSeo {
            auth: [
                CredentialCheck::new(
                    CredentialLocation::BasicUser,
                    Accepts::binding(config, LOGIN_BINDING)?,
                    not_authorized.clone(),
                ),
                CredentialCheck::new(
                    CredentialLocation::BasicPassword,
                    Accepts::binding(config, PASSWORD_BINDING)?,
                    not_authorized,
                ),
            ],
            tasks: Mutex::default(),
        })
    }
}

impl Provider for DataForSeo {
    const NAME: &'static str = "dataforseo";
    const BASE_PATH: &'static str = "/v3";
    const ERROR_SHAPE: ErrorShape = ErrorShape::DataForSeo;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: SERP_LIVE_ADVANCED,
            method: "POST",
            path: "/serp/google/organic/live/advanced",
        },
        Endpoint {
            name: SERP_TASK_POST,
            method: "POST",
            path: "/serp/google/organic/task_post",
        },
        Endpoint {
            name: SERP_TASKS_READY,
            method: "GET",
            path: "/serp/google/organic/tasks_ready",
        },
        Endpoint {
            name: SERP_TASK_GET_ADVANCED,
            method: "GET",
            path: "/serp/google/organic/task_get/advanced/{id}",
        },
        Endpoint {
            name: APPENDIX_ERRORS,
            method: "GET",
            path: "/appendix/errors",
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
        let tasks = match endpoint {
            SERP_LIVE_ADVANCED => posted_tasks(request)?
                .into_iter()
                .map(|task| {
                    let id = task_id();
                    match validate(&task) {
                        Ok(()) => {
                            let result = serp_result(&task);
                            task_envelope(&id, 20000, "live", &task, Some(json!([result])))
                        }
                        Err((code, message)) => failed_task(&id, code, message, "live", &task),
                    }
                })
                .collect(),
            SERP_TASK_POST => posted_tasks(request)?
                .into_iter()
                .map(|task| {
                    let id = task_id();
                    match validate(&task) {
                        Ok(()) => {
                            let envelope = task_envelope(&id, 20100, "task_post", &task, None);
                            crate::lock(&self.tasks).push(PostedTask {
                                id,
                                data: task,
                                posted_at: synthetic::now_millis_utc(),
                                collected: false,
                            });
                            envelope
                        }
                        Err((code, message)) => failed_task(&id, code, message, "task_post", &task),
                    }
                })
                .collect(),
            SERP_TASKS_READY => {
                let ready: Vec<Value> = crate::lock(&self.tasks)
                    .iter()
                    .filter(|task| !task.collected)
                    .map(|task| {
                        json!({
                            "id": task.id,
                            "se": "google",
                            "se_type": "organic",
                            "date_posted": task.posted_at,
                            "tag": task.data.get("tag").cloned().unwrap_or(Value::Null),
                            "endpoint_regular": format!("/v3/serp/google/organic/task_get/regular/{}", task.id),
                            "endpoint_advanced": format!("/v3/serp/google/organic/task_get/advanced/{}", task.id),
                            "endpoint_html": format!("/v3/serp/google/organic/task_get/html/{}", task.id),
                        })
                    })
                    .collect();
                let mut task = task_envelope(
                    &task_id(),
                    20000,
                    "tasks_ready",
                    &Map::new(),
                    Some(Value::Array(ready)),
                );
                task["cost"] = json!(0);
                vec![task]
            }
            SERP_TASK_GET_ADVANCED => {
                let id = params.get("id");
                let mut tasks = crate::lock(&self.tasks);
                match tasks.iter_mut().find(|task| task.id == id) {
                    Some(posted) => {
                        posted.collected = true;
                        let result = serp_result(&posted.data);
                        let mut task = task_envelope(
                            id,
                            20000,
                            "task_get",
                            &posted.data,
                            Some(json!([result])),
                        );
                        // Collecting a result already paid for costs nothing.
                        task["cost"] = json!(0);
                        vec![task]
                    }
                    None => vec![failed_task(
                        id,
                        40401,
                        dataforseo_message(40401).into(),
                        "task_get",
                        &Map::new(),
                    )],
                }
            }
            APPENDIX_ERRORS => {
                let codes: Vec<Value> = CODES
                    .iter()
                    .map(|&code| json!({ "code": code, "message": dataforseo_message(code) }))
                    .collect();
                let mut task = task_envelope(
                    &task_id(),
                    20000,
                    "errors",
                    &Map::new(),
                    Some(Value::Array(codes)),
                );
                task["path"] = json!(["v3", "appendix", "errors"]);
                task["data"] = json!({ "api": "appendix", "function": "errors" });
                task["cost"] = json!(0);
                vec![task]
            }
            _ => unreachable!("{endpoint} is not a DataForSEO endpoint"),
        };
        Ok(Reply::ok(request_envelope(tasks)))
    }
}

/// The posted JSON array of task objects; anything else is a request-level 40503 (HTTP 200).
fn posted_tasks(request: &Request) -> Result<Vec<Map<String, Value>>, ProviderError> {
    let invalid = || ProviderError::new(200, dataforseo_message(40503)).code("40503");
    let Ok(Value::Array(tasks)) = serde_json::from_slice::<Value>(&request.body) else {
        return Err(invalid());
    };
    if tasks.is_empty() || tasks.len() > MAX_TASKS {
        return Err(invalid());
    }
    tasks
        .into_iter()
        .map(|task| match task {
            Value::Object(task) => Ok(task),
            _ => Err(invalid()),
        })
        .collect()
}

/// Task-level checks: a failed task is reported inside a 20000 request.
fn validate(task: &Map<String, Value>) -> Result<(), (u32, String)> {
    let invalid_field = |name: &str| (40501, format!("Invalid Field: '{name}'."));
    match task.get("keyword") {
        Some(Value::String(keyword)) if !keyword.trim().is_empty() => {}
        _ => return Err(invalid_field("keyword")),
    }
    for (name, check) in [
        ("location_code", Value::is_u64 as fn(&Value) -> bool),
        ("language_code", Value::is_string),
        ("depth", Value::is_u64),
        ("device", Value::is_string),
    ] {
        if task.get(name).is_some_and(|value| !check(value)) {
            return Err(invalid_field(name));
        }
    }
    if task
        .get("device")
        .and_then(Value::as_str)
        .is_some_and(|device| !matches!(device, "desktop" | "mobile"))
    {
        return Err(invalid_field("device"));
    }
    Ok(())
}

fn task_id() -> String {
    // DataForSEO ids are UUID-shaped, e.g. 01011349-1535-0066-0000-4b2f87c1c63a.
    let hex = synthetic::random_hex(16);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn function_path(function: &str) -> Vec<&str> {
    match function {
        "live" => vec!["v3", "serp", "google", "organic", "live", "advanced"],
        "task_get" => vec!["v3", "serp", "google", "organic", "task_get", "advanced"],
        "tasks_ready" => vec!["v3", "serp", "google", "organic", "tasks_ready"],
        _ => vec!["v3", "serp", "google", "organic", function],
    }
}

/// One task of the envelope; `data` echoes the task as posted (§5b).
fn task_envelope(
    id: &str,
    status_code: u32,
    function: &str,
    task: &Map<String, Value>,
    result: Option<Value>,
) -> Value {
    let mut data =
        json!({ "api": "serp", "function": function, "se": "google", "se_type": "organic" });
    for (key, value) in task {
        data[key] = value.clone();
    }
    let result_count = result
        .as_ref()
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    json!({
        "id": id,
        "status_code": status_code,
        "status_message": dataforseo_message(status_code),
        "time": "0.0512 sec.",
        "cost": TASK_COST,
        "result_count": result_count,
        "path": function_path(function),
        "data": data,
        "result": result,
    })
}

fn failed_task(
    id: &str,
    code: u32,
    message: String,
    function: &str,
    task: &Map<String, Value>,
) -> Value {
    let mut failed = task_envelope(id, code, function, task, None);
    failed["status_message"] = json!(message);
    failed["cost"] = json!(0);
    failed
}

fn request_envelope(tasks: Vec<Value>) -> Value {
    let errors = tasks
        .iter()
        .filter(|task| {
            task["status_code"]
                .as_u64()
                .is_some_and(|code| code >= 40000)
        })
        .count();
    let cost: f64 = tasks.iter().filter_map(|task| task["cost"].as_f64()).sum();
    json!({
        "version": DATAFORSEO_VERSION,
        "status_code": 20000,
        "status_message": dataforseo_message(20000),
        "time": "0.0806 sec.",
        "cost": (cost * 10_000.0).round() / 10_000.0,
        "tasks_count": tasks.len(),
        "tasks_error": errors,
        "tasks": tasks,
    })
}

/// A SERP result that depends only on keyword, location, language and depth.
fn serp_result(task: &Map<String, Value>) -> Value {
    let keyword = task["keyword"].as_str().unwrap_or_default().trim();
    let location_code = task
        .get("location_code")
        .and_then(Value::as_u64)
        .unwrap_or(2840);
    let language_code = task
        .get("language_code")
        .and_then(Value::as_str)
        .unwrap_or("en");
    let depth = task.get("depth").and_then(Value::as_u64).unwrap_or(100);
    let location = location_code.to_string();
    let stable = |what: &str, modulus: u64| {
        synthetic::stable_u64(&["dataforseo", keyword, &location, language_code, what]) % modulus
    };
    let slug: String = keyword
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let items: Vec<Value> = (1..=depth.min(MAX_ITEMS))
        .map(|rank| {
            let domain = format!("site{}.example", stable(&format!("domain{rank}"), 90) + 10);
            json!({
                "type": "organic",
                "rank_group": rank,
                "rank_absolute": rank,
                "page": 1,
                "position": "left",
                "xpath": format!("/html[1]/body[1]/div[1]/div[{rank}]"),
                "domain": domain,
                "title": format!("{keyword} — result {rank}"),
                "url": format!("https://{domain}/{slug}"),
                "breadcrumb": format!("https://{domain} › {slug}"),
                "description": format!("A synthetic result about {keyword}."),
                "is_image": false,
                "is_video": false,
                "is_featured_snippet": false,
                "is_malicious": false,
                "is_web_story": false,
            })
        })
        .collect();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("q", keyword)
        .append_pair("hl", language_code)
        .finish();
    json!({
        "keyword": keyword,
        "type": "organic",
        "se_domain": "google.com",
        "location_code": location_code,
        "language_code": language_code,
        "check_url": format!("https://www.google.com/search?{query}"),
        "datetime": "2026-11-30 09:00:00 +00:00",
        "spell": null,
        "refinement_chips": null,
        "item_types": ["organic"],
        "se_results_count": 1_000 * (1 + stable("results", 900_000)),
        "pages_count": 1,
        "items_count": items.len(),
        "items": items,
    })
}
