//! Fake Harvest API v2 (PROVIDER-NOTES §7): the authenticated user and time
//! entries. Time entries are stateful: what the runtime POSTs is listed by
//! the next GET.
//!
//! Endpoints, under `/v2`: `get_me` (`GET /users/me`), `list_time_entries`
//! (`GET /time_entries`), `create_time_entry` (`POST /time_entries`). Each
//! checks, in order, `Authorization: Bearer <AGENCY_OS_HARVEST_ACCESS_TOKEN>`
//! and `Harvest-Account-Id: <AGENCY_OS_HARVEST_ACCOUNT_ID>` (or the
//! query-string pair `access_token` / `account_id`, §7 "Authentication"),
//! both answered 401 `invalid_token`; then a request without `User-Agent` is a 400.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{json, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError, HARVEST_INVALID_TOKEN};
use crate::server::{self, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const ACCESS_TOKEN_BINDING: &str = "AGENCY_OS_HARVEST_ACCESS_TOKEN";
pub const ACCOUNT_ID_BINDING: &str = "AGENCY_OS_HARVEST_ACCOUNT_ID";

const GET_ME: &str = "get_me";
const LIST_TIME_ENTRIES: &str = "list_time_entries";
const CREATE_TIME_ENTRY: &str = "create_time_entry";

/// §7: `per_page` is 1–2000, default 2000.
const MAX_PER_PAGE: usize = 2_000;
/// When the fake's data was "created" (users, assignments): a fixed instant.
const CREATED_AT: &str = "2026-01-05T14:00:00Z";

/// The Harvest account the fake serves.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct HarvestFixture {
    /// The user the access token belongs to.
    pub user: HarvestUserFixture,
    /// Projects the user can log time to, with their tasks.
    pub projects: Vec<HarvestProjectFixture>,
    /// §7 "Pagination" leaves open whether `links` repeat `access_token` /
    /// `account_id` sent in the query string [unverified]; `true` makes them.
    #[serde(default)]
    pub links_echo_query_auth: bool,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct HarvestUserFixture {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct HarvestProjectFixture {
    pub id: u64,
    pub name: String,
    pub client_id: u64,
    pub client_name: String,
    pub tasks: Vec<HarvestTaskFixture>,
}

#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct HarvestTaskFixture {
    pub id: u64,
    pub name: String,
}

impl Default for HarvestFixture {
    /// Jessie, with one client project ("Monthly reporting" for Acme) and two tasks.
    fn default() -> Self {
        HarvestFixture {
            user: HarvestUserFixture {
                id: 4_100_001,
                first_name: "Jessie".into(),
                last_name: "Agent".into(),
                email: "jessie@agency.example".into(),
            },
            projects: vec![HarvestProjectFixture {
                id: 31_000_001,
                name: "Monthly reporting".into(),
                client_id: 9_100_001,
                client_name: "Acme".into(),
                tasks: vec![
                    HarvestTaskFixture {
                        id: 18_000_001,
                        name: "Reporting".into(),
                    },
                    HarvestTaskFixture {
                        id: 18_000_002,
                        name: "Analysis".into(),
                    },
                ],
            }],
            links_echo_query_auth: false,
        }
    }
}

pub(crate) struct Harvest {
    base_url: String,
    fixture: HarvestFixture,
    auth: [CredentialCheck; 2],
    time_entries: Mutex<Vec<Value>>,
    next_id: AtomicU64,
}

impl Harvest {
    pub fn new(config: &FakesConfig, base_url: String) -> Result<Self, FakesError> {
        // §7: the 401 body (verified capture); a missing Harvest-Account-Id gets it too [secondary].
        let invalid_token = ProviderError::new(401, HARVEST_INVALID_TOKEN).code("invalid_token");
        let check = |location, binding| -> Result<CredentialCheck, FakesError> {
            Ok(CredentialCheck::new(
                location,
                Accepts::binding(config, binding)?,
                invalid_token.clone(),
            ))
        };
        let auth = [
            check(
                CredentialLocation::FirstOf(&[
                    CredentialLocation::AuthorizationBearer,
                    CredentialLocation::QueryParam("access_token"),
                ]),
                ACCESS_TOKEN_BINDING,
            )?,
            check(
                CredentialLocation::FirstOf(&[
                    CredentialLocation::Header("harvest-account-id"),
                    CredentialLocation::QueryParam("account_id"),
                ]),
                ACCOUNT_ID_BINDING,
            )?,
        ];
        Ok(Harvest {
            base_url,
            fixture: config.harvest.clone(),
            auth,
            time_entries: Mutex::default(),
            next_id: AtomicU64::new(2_400_000_001),
        })
    }

    /// Every time entry the runtime created, newest first.
    pub fn time_entries(&self) -> Vec<Value> {
        let mut entries = crate::lock(&self.time_entries).clone();
        sort_entries(&mut entries);
        entries
    }

    fn me(&self) -> Value {
        let user = &self.fixture.user;
        json!({
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "telephone": "",
            "timezone": "Eastern Time (US & Canada)",
            "has_access_to_all_future_projects": false,
            "is_contractor": false,
            "is_active": true,
            // 35 hours, in seconds.
            "weekly_capacity": 126_000,
            "default_hourly_rate": 100.0,
            "cost_rate": 50.0,
            "roles": [],
            "access_roles": ["member"],
            "avatar_url": "https://d3s3969qhosaug.cloudfront.net/v2/user.png",
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
        })
    }

    fn list(&self, request: &Request) -> Result<Reply, ProviderError> {
        let query = server::query_pairs(request);
        let param = |name: &str| server::param(&query, name);
        // [unverified] 422 wordings; §7 lists 422 for processing errors.
        let number = |name: &str, min: usize, max: usize| -> Result<Option<usize>, ProviderError> {
            param(name)
                .map(|value| {
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|value| (min..=max).contains(value))
                        .ok_or_else(|| {
                            unprocessable(format!("{name} must be between {min} and {max}"))
                        })
                })
                .transpose()
        };
        let page = number("page", 1, usize::MAX)?.unwrap_or(1);
        let per_page = number("per_page", 1, MAX_PER_PAGE)?.unwrap_or(MAX_PER_PAGE);
        let id_filter = |name: &str| -> Result<Option<u64>, ProviderError> {
            param(name)
                .map(|value| {
                    value
                        .parse::<u64>()
                        .map_err(|_| unprocessable(format!("{name} must be an integer")))
                })
                .transpose()
        };
        let filters = [
            ("user", id_filter("user_id")?),
            ("client", id_filter("client_id")?),
            ("project", id_filter("project_id")?),
            ("task", id_filter("task_id")?),
        ];
        let is_running = match param("is_running") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(unprocessable("is_running must be true or false".into())),
        };
        let date = |name: &str| -> Result<Option<String>, ProviderError> {
            param(name)
                .map(|value| {
                    synthetic::parse_date(value)
                        .map(|date| date.to_string())
                        .ok_or_else(|| unprocessable(format!("{name} must be a date (YYYY-MM-DD)")))
                })
                .transpose()
        };
        let (from, to) = (date("from")?, date("to")?);

        let entries: Vec<Value> = self
            .time_entries()
            .into_iter()
            .filter(|entry| {
                filters.iter().all(|(object, wanted)| {
                    wanted.is_none_or(|id| entry[object]["id"].as_u64() == Some(id))
                }) && is_running.is_none_or(|running| entry["is_running"] == running)
                    && from
                        .as_deref()
                        .is_none_or(|from| entry["spent_date"].as_str() >= Some(from))
                    && to
                        .as_deref()
                        .is_none_or(|to| entry["spent_date"].as_str() <= Some(to))
            })
            .collect();
        let total_entries = entries.len();
        let total_pages = total_entries.div_ceil(per_page).max(1);
        let start = (page - 1).saturating_mul(per_page).min(total_entries);
        let end = start.saturating_add(per_page).min(total_entries);
        let next_page = (page < total_pages).then_some(page + 1);
        let previous_page = (page > 1).then(|| (page - 1).min(total_pages));
        let link = |page: usize| self.page_link(&query, page, per_page);
        Ok(Reply::ok(json!({
            "time_entries": &entries[start..end],
            "per_page": per_page,
            "total_pages": total_pages,
            "total_entries": total_entries,
            "next_page": next_page,
            "previous_page": previous_page,
            "page": page,
            "links": {
                "first": link(1),
                "next": next_page.map(link),
                "previous": previous_page.map(link),
                "last": link(total_pages),
            },
        })))
    }

    /// `{base}/time_entries?<the request's filters>&page=N&per_page=M` (§7 "Pagination").
    fn page_link(&self, query: &[(String, String)], page: usize, per_page: usize) -> String {
        let mut link = form_urlencoded::Serializer::new(String::new());
        for (key, value) in query {
            let auth = key == "access_token" || key == "account_id";
            let paging = key == "page" || key == "per_page";
            if !paging && (!auth || self.fixture.links_echo_query_auth) {
                link.append_pair(key, value);
            }
        }
        link.append_pair("page", &page.to_string())
            .append_pair("per_page", &per_page.to_string());
        format!("{}/time_entries?{}", self.base_url, link.finish())
    }

    fn create(&self, request: &Request) -> Result<Reply, ProviderError> {
        let body: NewTimeEntry = request
            .body_json()
            .map_err(|error| ProviderError::new(400, format!("Invalid JSON: {error}")))?;
        // [unverified] Rails-style validation messages.
        let mut blank = Vec::new();
        if body.project_id.is_none() {
            blank.push("Project can't be blank");
        }
        if body.task_id.is_none() {
            blank.push("Task can't be blank");
        }
        if body.spent_date.is_none() {
            blank.push("Spent date can't be blank");
        }
        if !blank.is_empty() {
            return Err(unprocessable(blank.join(", ")));
        }
        let (project_id, task_id) = (
            body.project_id.unwrap_or_default(),
            body.task_id.unwrap_or_default(),
        );
        let spent_date = body.spent_date.unwrap_or_default();
        let spent_date = synthetic::parse_date(&spent_date)
            .ok_or_else(|| unprocessable("Spent date is not a valid date".into()))?;
        let user = &self.fixture.user;
        if body.user_id.is_some_and(|id| id != user.id) {
            return Err(unprocessable("User is not a member of this account".into()));
        }
        let project = self
            .fixture
            .projects
            .iter()
            .find(|project| project.id == project_id)
            .ok_or_else(|| unprocessable("Project is not assigned to the user".into()))?;
        let task = project
            .tasks
            .iter()
            .find(|task| task.id == task_id)
            .ok_or_else(|| unprocessable("Task is not assigned to the project".into()))?;
        if body
            .hours
            .is_some_and(|hours| !(0.0..=24.0).contains(&hours))
        {
            return Err(unprocessable("Hours must be between 0 and 24".into()));
        }

        let now = synthetic::now_seconds_utc();
        // §7: with no hours (and no end time) a running timer starts.
        let is_running = body.hours.is_none() && body.ended_time.is_none();
        let hours = body.hours.unwrap_or(0.0);
        let assignment_id = |kind: &str, id: u64| {
            100_000_000
                + synthetic::stable_u64(&[kind, &project.id.to_string(), &id.to_string()])
                    % 900_000_000
        };
        let entry = json!({
            "id": self.next_id.fetch_add(1, Ordering::Relaxed),
            "spent_date": spent_date.to_string(),
            "user": { "id": user.id, "name": format!("{} {}", user.first_name, user.last_name) },
            "user_assignment": {
                "id": assignment_id("user_assignment", user.id),
                "is_project_manager": false,
                "is_active": true,
                "use_default_rates": true,
                "budget": null,
                "created_at": CREATED_AT,
                "updated_at": CREATED_AT,
                "hourly_rate": 100.0,
            },
            "client": { "id": project.client_id, "name": project.client_name },
            "project": { "id": project.id, "name": project.name },
            "task": { "id": task.id, "name": task.name },
            "task_assignment": {
                "id": assignment_id("task_assignment", task.id),
                "billable": true,
                "is_active": true,
                "created_at": CREATED_AT,
                "updated_at": CREATED_AT,
                "hourly_rate": 100.0,
                "budget": null,
            },
            "external_reference": body.external_reference.map(|reference| json!({
                "id": reference.id,
                "group_id": reference.group_id,
                "account_id": reference.account_id,
                "permalink": reference.permalink,
                "service": null,
                "service_icon_url": null,
            })),
            "invoice": null,
            "hours": hours,
            "hours_without_timer": hours,
            "rounded_hours": (hours * 4.0).ceil() / 4.0,
            "notes": body.notes,
            "is_locked": false,
            "locked_reason": null,
            "is_closed": false,
            "is_billed": false,
            "timer_started_at": if is_running { json!(now) } else { Value::Null },
            "started_time": body.started_time,
            "ended_time": body.ended_time,
            "is_running": is_running,
            "billable": true,
            "budgeted": false,
            "billable_rate": 100.0,
            "cost_rate": 50.0,
            "created_at": now,
            "updated_at": now,
        });
        crate::lock(&self.time_entries).push(entry.clone());
        Ok(Reply::created(entry))
    }
}

/// §7: sorted by `spent_date`, most recent first (then newest id first).
fn sort_entries(entries: &mut [Value]) {
    entries.sort_by(|a, b| {
        let key = |entry: &Value| {
            (
                entry["spent_date"].as_str().unwrap_or_default().to_owned(),
                entry["id"].as_u64().unwrap_or_default(),
            )
        };
        key(b).cmp(&key(a))
    });
}

fn unprocessable(message: String) -> ProviderError {
    ProviderError::new(422, message)
}

#[derive(Deserialize)]
struct NewTimeEntry {
    user_id: Option<u64>,
    project_id: Option<u64>,
    task_id: Option<u64>,
    spent_date: Option<String>,
    hours: Option<f64>,
    notes: Option<String>,
    started_time: Option<String>,
    ended_time: Option<String>,
    external_reference: Option<ExternalReference>,
}

#[derive(Deserialize)]
struct ExternalReference {
    id: Option<String>,
    group_id: Option<String>,
    account_id: Option<String>,
    permalink: Option<String>,
}

impl Provider for Harvest {
    const NAME: &'static str = "harvest";
    const BASE_PATH: &'static str = "/v2";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Harvest;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: GET_ME,
            method: "GET",
            path: "/users/me",
        },
        Endpoint {
            name: LIST_TIME_ENTRIES,
            method: "GET",
            path: "/time_entries",
        },
        Endpoint {
            name: CREATE_TIME_ENTRY,
            method: "POST",
            path: "/time_entries",
        },
    ];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        // §7: the User-Agent is required; without it, 400 ([unverified] body).
        let user_agent = request
            .headers
            .get("user-agent")
            .is_some_and(|value| !value.as_bytes().trim_ascii().is_empty());
        if !user_agent {
            return Err(ProviderError::new(
                400,
                "Missing User-Agent header: send `User-Agent: AppName (email or URL)`",
            ));
        }
        match endpoint {
            GET_ME => Ok(Reply::ok(self.me())),
            LIST_TIME_ENTRIES => self.list(request),
            CREATE_TIME_ENTRY => self.create(request),
            _ => unreachable!("{endpoint} is not a Harvest endpoint"),
        }
    }
}
