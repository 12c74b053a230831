//! Fake Asana (PROVIDER-NOTES §1): the REST endpoints the runtime calls, and
//! Asana's side of the webhook, which *sends* the handshake and signed event
//! deliveries to the Worker's `/webhooks/asana`.
//!
//! Endpoints, all under `/api/1.0` and all (but one) behind
//! `Authorization: Bearer <AGENCY_OS_ASANA_AGENT_PAT>`:
//!
//! | name | route |
//! |---|---|
//! | `get_me` | `GET /users/me` |
//! | `list_tasks` | `GET /tasks` (`project`, `tag`, `section`, or `assignee`+`workspace`) |
//! | `create_task` | `POST /tasks` |
//! | `get_task` | `GET /tasks/{task_gid}` |
//! | `list_stories` | `GET /tasks/{task_gid}/stories` |
//! | `create_story` | `POST /tasks/{task_gid}/stories` (`text` xor `html_text`) |
//! | `list_attachments` | `GET /attachments?parent=…` |
//! | `get_attachment` | `GET /attachments/{attachment_gid}` |
//! | `create_attachment` | `POST /attachments` (multipart: `parent` + `file`, or `resource_subtype=external` + `url` + `name`) |
//! | `download_attachment` | `GET /attachments/{attachment_gid}/download` — the fake's stand-in for the short-lived pre-signed `download_url` (no PAT; a signature valid 2 minutes) |
//! | `create_webhook` | `POST /webhooks`, with the synchronous `X-Hook-Secret` handshake |
//! | `get_events` | `GET /events?resource=…&sync=…` (412 with a fresh `sync` on the first call or an unknown/expired token) |
//!
//! State: tasks, stories and attachments a run writes are what the next
//! read returns; lists page with `limit`/`offset` and `next_page` (§1
//! "Pagination") and take `opt_fields` beyond the compact record. Every
//! write also records an event for `/events` on the task and its projects.
//!
//! The webhook handshake: while `POST /webhooks` is open, the fake POSTs an
//! empty body with `X-Hook-Secret: <ASANA_WEBHOOK_SECRET>` to `target` (over
//! plain HTTP, from the responder's thread, blocking it for up to 10 s, so
//! the target must not call fake Asana before answering) and answers 201
//! only if the target answered 200/204 echoing the header. Which targets are
//! tried is [`AsanaWebhookOptions`]: by default loopback ones, and 403 for
//! every other host without connecting (the fake never leaves loopback).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use wiremock::Request;

use crate::config::{Agent, AsanaWebhookOptions, FakesConfig, FakesError, TaskFixture};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{self, query_param, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const AGENT_PAT_BINDING: &str = "AGENCY_OS_ASANA_AGENT_PAT";
pub const WEBHOOK_SECRET_BINDING: &str = "ASANA_WEBHOOK_SECRET";
/// Where Asana's webhook requests go on the Worker.
pub const WEBHOOK_PATH: &str = "/webhooks/asana";

const GET_ME: &str = "get_me";
const LIST_TASKS: &str = "list_tasks";
const CREATE_TASK: &str = "create_task";
const GET_TASK: &str = "get_task";
const CREATE_STORY: &str = "create_story";
const LIST_STORIES: &str = "list_stories";
const LIST_ATTACHMENTS: &str = "list_attachments";
const GET_ATTACHMENT: &str = "get_attachment";
const CREATE_ATTACHMENT: &str = "create_attachment";
const DOWNLOAD_ATTACHMENT: &str = "download_attachment";
const CREATE_WEBHOOK: &str = "create_webhook";
const GET_EVENTS: &str = "get_events";

const WORKSPACE_GID: &str = "1200000000000001";
const WORKSPACE_NAME: &str = "Agency";

/// §1: a `download_url` "may only be valid for two minutes".
const DOWNLOAD_URL_LIFETIME: Duration = Duration::from_secs(120);
/// §1: Asana gives the receiver 10 s.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// §1: at most 100 events per sync token.
const EVENTS_PER_SYNC: usize = 100;
/// The 412 message (spec `/events` 412 example, verified).
const SYNC_INVALID: &str = "Sync token invalid or too old. If you are attempting to keep resources in sync, you must fetch the full dataset for this query now and use the new sync token for the next sync.";

pub(crate) struct Asana {
    base_url: String,
    agent: Agent,
    webhook_secret: String,
    webhook_options: AsanaWebhookOptions,
    auth: [CredentialCheck; 1],
    /// Fixture tasks and the tasks the runtime created, by gid.
    tasks: Mutex<BTreeMap<String, StoredTask>>,
    /// Stories the runtime wrote, per task gid, in full (text and html_text).
    stories: Mutex<BTreeMap<String, Vec<Value>>>,
    attachments: Mutex<Vec<Attachment>>,
    webhooks: Mutex<Vec<Value>>,
    events: Mutex<EventLog>,
    next_gid: AtomicU64,
}

struct StoredTask {
    fixture: TaskFixture,
    /// Fields a `POST /tasks` set beyond the fixture's (notes, html_notes, due_on, created_at).
    extra: Map<String, Value>,
    /// The task as `GET /tasks/{gid}` answers it, rendered on first use: a stored task never
    /// changes, and rendering it (gids hashed, a 1 KB JSON tree) is most of that answer's cost.
    rendered: OnceLock<RenderedTask>,
}

struct RenderedTask {
    full: Value,
    /// `{"data": full}`, serialized.
    answer: Vec<u8>,
}

impl StoredTask {
    fn new(fixture: TaskFixture, extra: Map<String, Value>) -> Self {
        StoredTask {
            fixture,
            extra,
            rendered: OnceLock::new(),
        }
    }
}

struct Attachment {
    gid: String,
    name: String,
    parent_gid: String,
    /// `asana` (uploaded) or `external`.
    resource_subtype: &'static str,
    content_type: String,
    bytes: Vec<u8>,
    external_url: Option<String>,
    created_at: String,
    /// The signature of the current `download_url`, and when it expires.
    download: Option<(String, Instant)>,
}

/// Events by the resources they concern, and the sync tokens handed out.
#[derive(Default)]
struct EventLog {
    /// (resource gids the event is visible on, the event).
    entries: Vec<(Vec<String>, Value)>,
    /// Sync token → (resource gid, position in `entries`).
    tokens: HashMap<String, (String, usize)>,
}

impl EventLog {
    fn token(&mut self, resource: &str) -> String {
        let token = synthetic::random_hex(16);
        self.tokens
            .insert(token.clone(), (resource.to_owned(), self.entries.len()));
        token
    }
}

impl Provider for Asana {
    const NAME: &'static str = "asana";
    const BASE_PATH: &'static str = "/api/1.0";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Asana;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: GET_ME,
            method: "GET",
            path: "/users/me",
        },
        Endpoint {
            name: LIST_TASKS,
            method: "GET",
            path: "/tasks",
        },
        Endpoint {
            name: CREATE_TASK,
            method: "POST",
            path: "/tasks",
        },
        Endpoint {
            name: GET_TASK,
            method: "GET",
            path: "/tasks/{task_gid}",
        },
        Endpoint {
            name: CREATE_STORY,
            method: "POST",
            path: "/tasks/{task_gid}/stories",
        },
        Endpoint {
            name: LIST_STORIES,
            method: "GET",
            path: "/tasks/{task_gid}/stories",
        },
        Endpoint {
            name: LIST_ATTACHMENTS,
            method: "GET",
            path: "/attachments",
        },
        Endpoint {
            name: GET_ATTACHMENT,
            method: "GET",
            path: "/attachments/{attachment_gid}",
        },
        Endpoint {
            name: CREATE_ATTACHMENT,
            method: "POST",
            path: "/attachments",
        },
        Endpoint {
            name: DOWNLOAD_ATTACHMENT,
            method: "GET",
            path: "/attachments/{attachment_gid}/download",
        },
        Endpoint {
            name: CREATE_WEBHOOK,
            method: "POST",
            path: "/webhooks",
        },
        Endpoint {
            name: GET_EVENTS,
            method: "GET",
            path: "/events",
        },
    ];

    fn credential_checks(&self, endpoint: &'static str) -> &[CredentialCheck] {
        match endpoint {
            // A pre-signed URL: its signature is the credential.
            DOWNLOAD_ATTACHMENT => &[],
            _ => &self.auth,
        }
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        match endpoint {
            GET_ME => Ok(Reply::ok(json!({ "data": self.agent_user() }))),
            LIST_TASKS => self.list_tasks(request),
            CREATE_TASK => self.create_task(request),
            GET_TASK => {
                let answer = self.rendered(params.get("task_gid"), |task| task.answer.clone())?;
                Ok(Reply::serialized(200, answer))
            }
            CREATE_STORY => self.create_story(params.get("task_gid"), request),
            LIST_STORIES => self.list_stories(params.get("task_gid"), request),
            LIST_ATTACHMENTS => self.list_attachments(request),
            GET_ATTACHMENT => self.get_attachment(params.get("attachment_gid")),
            CREATE_ATTACHMENT => self.create_attachment(request),
            DOWNLOAD_ATTACHMENT => self.download_attachment(params.get("attachment_gid"), request),
            CREATE_WEBHOOK => self.create_webhook(request),
            GET_EVENTS => self.get_events(request),
            _ => unreachable!("{endpoint} is not an Asana endpoint"),
        }
    }
}

impl Asana {
    pub fn new(config: &FakesConfig, base_url: String) -> Result<Self, FakesError> {
        // §1: a missing or wrong token both get 401 "Not Authorized".
        let not_authorized = ProviderError::new(401, "Not Authorized");
        let pat = Accepts::binding(config, AGENT_PAT_BINDING)?;
        let tasks = config
            .tasks_by_gid()?
            .into_iter()
            .map(|(gid, fixture)| (gid, StoredTask::new(fixture, Map::new())))
            .collect();
        Ok(Asana {
            base_url,
            agent: config.agent.clone(),
            webhook_secret: config.credential(WEBHOOK_SECRET_BINDING)?,
            webhook_options: config.asana_webhooks.clone(),
            auth: [CredentialCheck::new(
                CredentialLocation::AuthorizationBearer,
                pat,
                not_authorized,
            )],
            tasks: Mutex::new(tasks),
            stories: Mutex::default(),
            attachments: Mutex::default(),
            webhooks: Mutex::default(),
            events: Mutex::default(),
            next_gid: AtomicU64::new(1_300_000_000_000_001),
        })
    }

    fn fresh_gid(&self) -> String {
        self.next_gid.fetch_add(1, Ordering::Relaxed).to_string()
    }

    fn require_task(&self, gid: &str) -> Result<(), ProviderError> {
        if crate::lock(&self.tasks).contains_key(gid) {
            Ok(())
        } else {
            Err(unknown_object(gid))
        }
    }

    fn task_full(&self, gid: &str) -> Result<Value, ProviderError> {
        self.rendered(gid, |task| task.full.clone())
    }

    /// `read` of the task's rendering (made on first use).
    fn rendered<T>(
        &self,
        gid: &str,
        read: impl FnOnce(&RenderedTask) -> T,
    ) -> Result<T, ProviderError> {
        let tasks = crate::lock(&self.tasks);
        let stored = tasks.get(gid).ok_or_else(|| unknown_object(gid))?;
        let rendered = stored.rendered.get_or_init(|| {
            let mut full = self.task_json(&stored.fixture);
            for (key, value) in &stored.extra {
                full[key] = value.clone();
            }
            let answer = serde_json::to_vec(&json!({ "data": full }))
                .expect("a JSON value always serializes");
            RenderedTask { full, answer }
        });
        Ok(read(rendered))
    }

    /// The projects a task is in (for events visible on them).
    fn projects_of(&self, task_gid: &str) -> Vec<String> {
        crate::lock(&self.tasks)
            .get(task_gid)
            .map(|task| task.fixture.project_gids.clone())
            .unwrap_or_default()
    }

    fn is_known_resource(&self, gid: &str) -> bool {
        gid == WORKSPACE_GID
            || crate::lock(&self.tasks).values().any(|task| {
                task.fixture.gid == gid
                    || task
                        .fixture
                        .project_gids
                        .iter()
                        .any(|project| project == gid)
            })
    }

    fn record_event(&self, resources: Vec<String>, event: Value) {
        crate::lock(&self.events).entries.push((resources, event));
    }

    fn user_name(&self, gid: &str) -> String {
        if gid == self.agent.gid {
            self.agent.name.clone()
        } else {
            format!("User {gid}")
        }
    }

    fn user_compact(&self, gid: &str) -> Value {
        json!({ "gid": gid, "resource_type": "user", "name": self.user_name(gid) })
    }

    fn agent_user(&self) -> Value {
        let local_part: String = self
            .agent
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        json!({
            "gid": self.agent.gid,
            "resource_type": "user",
            "name": self.agent.name,
            "email": format!("{}@agency.example", local_part.to_ascii_lowercase()),
            "photo": null,
            "workspaces": [workspace_compact()],
        })
    }

    fn task_compact(&self, gid: &str) -> Value {
        let mut task =
            json!({ "gid": gid, "resource_type": "task", "resource_subtype": "default_task" });
        if let Some(stored) = crate::lock(&self.tasks).get(gid) {
            task["name"] = json!(stored.fixture.name);
        }
        task
    }

    fn task_json(&self, task: &TaskFixture) -> Value {
        let projects: Vec<Value> = task
            .project_gids
            .iter()
            .map(|gid| project_compact(gid))
            .collect();
        let tags: Vec<Value> = task
            .tags
            .iter()
            .map(|name| json!({ "gid": synthetic::stable_gid("tag", name), "resource_type": "tag", "name": name }))
            .collect();
        let custom_fields: Vec<Value> = task
            .custom_fields
            .iter()
            .map(|(name, value)| {
                json!({
                    "gid": synthetic::stable_gid("custom_field", name),
                    "resource_type": "custom_field",
                    "name": name,
                    "type": "text",
                    "resource_subtype": "text",
                    "text_value": value,
                    "display_value": value,
                })
            })
            .collect();
        json!({
            "gid": task.gid,
            "resource_type": "task",
            "resource_subtype": "default_task",
            "name": task.name,
            "completed": task.completed,
            "assignee": task.assignee_gid.as_deref().map(|gid| self.user_compact(gid)),
            "memberships": projects.iter().map(|project| json!({ "project": project })).collect::<Vec<_>>(),
            "projects": projects,
            "tags": tags,
            "custom_fields": custom_fields,
            "workspace": workspace_compact(),
            "permalink_url": format!("https://app.asana.com/0/{}/{}", task.project_gids.first().map_or("0", String::as_str), task.gid),
        })
    }

    /// `{"data": items[page], "next_page": …}`: every item without `limit`
    /// (and no `next_page`), else one page and `next_page` (null on the last)
    /// whose `path`/`uri` repeat the query with the next `offset` (§1 "Pagination").
    fn paginate(
        &self,
        items: Vec<Value>,
        request: &Request,
        path: &str,
    ) -> Result<Reply, ProviderError> {
        let query = server::query_pairs(request);
        let Some(limit) = query_param(request, "limit") else {
            return Ok(Reply::ok(json!({ "data": items })));
        };
        let limit: usize = limit
            .parse()
            .ok()
            .filter(|limit| (1..=100).contains(limit))
            .ok_or_else(|| bad_request("limit: Must be between 1 and 100"))?;
        let start = match query_param(request, "offset") {
            None => 0,
            Some(token) => decode_offset(&token)
                .filter(|&start| start <= items.len())
                .ok_or_else(|| bad_request("offset: Your pagination token is invalid"))?,
        };
        let end = (start + limit).min(items.len());
        let next_page = if end < items.len() {
            let offset = encode_offset(end);
            let mut next_query = form_urlencoded::Serializer::new(String::new());
            for (key, value) in query.iter().filter(|(key, _)| key != "offset") {
                next_query.append_pair(key, value);
            }
            let path = format!(
                "{path}?{}",
                next_query.append_pair("offset", &offset).finish()
            );
            json!({ "offset": offset, "uri": format!("{}{path}", self.base_url), "path": path })
        } else {
            Value::Null
        };
        Ok(Reply::ok(
            json!({ "data": &items[start..end], "next_page": next_page }),
        ))
    }

    /// `GET /tasks`: TaskCompact records matching exactly one filter
    /// (`project`, `tag`, `section`, or `assignee` with `workspace`).
    fn list_tasks(&self, request: &Request) -> Result<Reply, ProviderError> {
        let project = query_param(request, "project");
        let tag = query_param(request, "tag");
        let section = query_param(request, "section");
        let assignee = query_param(request, "assignee");
        let workspace = query_param(request, "workspace");
        // [unverified] wordings.
        if assignee.is_some() != workspace.is_some() {
            return Err(bad_request(
                "assignee, workspace: You must specify a workspace when specifying an assignee, and vice versa",
            ));
        }
        let filters = [
            project.is_some(),
            tag.is_some(),
            section.is_some(),
            assignee.is_some(),
        ];
        if filters.iter().filter(|given| **given).count() != 1 {
            return Err(bad_request(
                "Must specify exactly one of project, tag, section, user task list, or assignee + workspace",
            ));
        }
        if workspace
            .as_deref()
            .is_some_and(|workspace| workspace != WORKSPACE_GID)
        {
            return Err(unknown_object(workspace.as_deref().unwrap_or_default()));
        }
        let assignee = assignee.map(|assignee| {
            if assignee == "me" {
                self.agent.gid.clone()
            } else {
                assignee
            }
        });
        let incomplete_only = query_param(request, "completed_since").is_some();
        let opt_fields = query_param(request, "opt_fields");
        let matching: Vec<String> = crate::lock(&self.tasks)
            .values()
            .filter(|task| {
                let fixture = &task.fixture;
                let by_project = project
                    .as_ref()
                    .is_none_or(|project| fixture.project_gids.contains(project));
                let by_tag = tag.as_ref().is_none_or(|tag| {
                    fixture
                        .tags
                        .iter()
                        .any(|name| name == tag || synthetic::stable_gid("tag", name) == *tag)
                });
                // The fake has no sections: a section filter matches the project of that gid.
                let by_section = section
                    .as_ref()
                    .is_none_or(|section| fixture.project_gids.contains(section));
                let by_assignee = assignee
                    .as_ref()
                    .is_none_or(|assignee| fixture.assignee_gid.as_ref() == Some(assignee));
                by_project
                    && by_tag
                    && by_section
                    && by_assignee
                    && !(incomplete_only && fixture.completed)
            })
            .map(|task| task.fixture.gid.clone())
            .collect();
        let items = matching
            .iter()
            .map(|gid| {
                let full = self.task_full(gid)?;
                let compact = json!({
                    "gid": gid,
                    "resource_type": "task",
                    "name": full["name"],
                    "resource_subtype": "default_task",
                });
                Ok(with_opt_fields(compact, &full, opt_fields.as_deref()))
            })
            .collect::<Result<Vec<_>, ProviderError>>()?;
        self.paginate(items, request, "/tasks")
    }

    /// `POST /tasks`: `{"data":{name, notes | html_notes, projects, workspace, assignee, due_on, completed}}`.
    fn create_task(&self, request: &Request) -> Result<Reply, ProviderError> {
        let data = request_data(request)?;
        let projects: Vec<String> = match data.get("projects") {
            None => Vec::new(),
            Some(Value::Array(projects)) => projects
                .iter()
                .map(|project| {
                    project
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad_request("projects: Value is not a string"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad_request("projects: Value is not an array")),
        };
        let workspace = string_field(&data, "workspace")?;
        if workspace.is_none() && projects.is_empty() {
            // §1 verified example.
            return Err(bad_request("workspace: Missing input"));
        }
        if workspace.is_some_and(|workspace| workspace != WORKSPACE_GID) {
            return Err(unknown_object(workspace.unwrap_or_default()));
        }
        let mut extra = Map::new();
        match (
            string_field(&data, "notes")?,
            string_field(&data, "html_notes")?,
        ) {
            (Some(_), Some(_)) => {
                return Err(bad_request(
                    "notes, html_notes: You may only specify one of these",
                ))
            }
            (Some(notes), None) => {
                extra.insert("notes".into(), json!(notes));
                extra.insert(
                    "html_notes".into(),
                    json!(format!("<body>{}</body>", escape_html(notes))),
                );
            }
            (None, Some(html)) => {
                extra.insert("notes".into(), json!(text_of_html(body_content(html)?)));
                extra.insert("html_notes".into(), json!(html));
            }
            (None, None) => {}
        }
        if let Some(due_on) = string_field(&data, "due_on")? {
            if synthetic::parse_date(due_on).is_none() {
                return Err(bad_request("due_on: Invalid date, expected YYYY-MM-DD"));
            }
            extra.insert("due_on".into(), json!(due_on));
        }
        let assignee = string_field(&data, "assignee")?.map(|assignee| {
            if assignee == "me" {
                self.agent.gid.clone()
            } else {
                assignee.to_owned()
            }
        });
        let completed = match data.get("completed") {
            None => false,
            Some(Value::Bool(completed)) => *completed,
            Some(_) => return Err(bad_request("completed: Value is not a boolean")),
        };
        let gid = self.fresh_gid();
        extra.insert("created_at".into(), json!(synthetic::now_millis_utc()));
        let fixture = TaskFixture {
            gid: gid.clone(),
            name: string_field(&data, "name")?.unwrap_or_default().to_owned(),
            assignee_gid: assignee,
            completed,
            project_gids: projects.clone(),
            tags: Vec::new(),
            custom_fields: BTreeMap::new(),
        };
        crate::lock(&self.tasks).insert(gid.clone(), StoredTask::new(fixture, extra));
        let task = self.task_full(&gid)?;
        for project in &projects {
            self.record_event(
                vec![project.clone()],
                json!({
                    "user": self.user_compact(&self.agent.gid),
                    "resource": self.task_compact(&gid),
                    "type": "task",
                    "action": "added",
                    "parent": project_compact(project),
                    "created_at": synthetic::now_millis_utc(),
                }),
            );
        }
        Ok(Reply::created(json!({ "data": task })))
    }

    /// `POST /tasks/{gid}/stories`: exactly one of `text` / `html_text`, the
    /// latter wrapped in `<body>` (§1 table, StoryBase descriptions).
    fn create_story(&self, task_gid: &str, request: &Request) -> Result<Reply, ProviderError> {
        self.require_task(task_gid)?;
        // [unverified] wording of Asana's 400s below; the envelope is §1's.
        let data = request_data(request)?;
        let (text, html_text) = match (
            string_field(&data, "text")?,
            string_field(&data, "html_text")?,
        ) {
            (Some(_), Some(_)) => {
                return Err(bad_request(
                    "text, html_text: You may only specify one of these",
                ))
            }
            (None, None) => return Err(bad_request("text: Missing input")),
            (Some(text), None) => (
                text.to_owned(),
                format!("<body>{}</body>", escape_html(text)),
            ),
            (None, Some(html)) => (text_of_html(body_content(html)?), html.to_owned()),
        };
        let story = json!({
            "gid": self.fresh_gid(),
            "resource_type": "story",
            "created_at": synthetic::now_millis_utc(),
            "created_by": self.user_compact(&self.agent.gid),
            "resource_subtype": "comment_added",
            "type": "comment",
            "text": text,
            "html_text": html_text,
            "is_pinned": data.get("is_pinned").and_then(Value::as_bool).unwrap_or(false),
        });
        crate::lock(&self.stories)
            .entry(task_gid.to_owned())
            .or_default()
            .push(story.clone());
        let mut resources = vec![task_gid.to_owned()];
        resources.extend(self.projects_of(task_gid));
        self.record_event(
            resources,
            json!({
                "user": self.user_compact(&self.agent.gid),
                "resource": { "gid": story["gid"], "resource_type": "story", "name": "" },
                "type": "story",
                "action": "added",
                "parent": self.task_compact(task_gid),
                "created_at": story["created_at"],
            }),
        );
        Ok(Reply::created(json!({ "data": story })))
    }

    /// `GET /tasks/{gid}/stories`: StoryCompact records; `html_text` only when
    /// `opt_fields` asks for it; pages with `next_page` when `limit` is given (§1 "Pagination").
    fn list_stories(&self, task_gid: &str, request: &Request) -> Result<Reply, ProviderError> {
        self.require_task(task_gid)?;
        let opt_fields = query_param(request, "opt_fields");
        let stories: Vec<Value> = self
            .stories(task_gid)
            .iter()
            .map(|story| with_opt_fields(story_compact(story), story, opt_fields.as_deref()))
            .collect();
        self.paginate(stories, request, &format!("/tasks/{task_gid}/stories"))
    }

    fn stories(&self, task_gid: &str) -> Vec<Value> {
        crate::lock(&self.stories)
            .get(task_gid)
            .cloned()
            .unwrap_or_default()
    }

    /// `GET /attachments?parent=…`: AttachmentCompact records of the parent task.
    fn list_attachments(&self, request: &Request) -> Result<Reply, ProviderError> {
        let parent =
            query_param(request, "parent").ok_or_else(|| bad_request("parent: Missing input"))?;
        self.require_task(&parent)?;
        let opt_fields = query_param(request, "opt_fields");
        let items: Vec<Value> = crate::lock(&self.attachments)
            .iter_mut()
            .filter(|attachment| attachment.parent_gid == parent)
            .map(|attachment| {
                let compact = json!({
                    "gid": attachment.gid,
                    "resource_type": "attachment",
                    "name": attachment.name,
                    "resource_subtype": attachment.resource_subtype,
                });
                match opt_fields.as_deref() {
                    None => compact,
                    Some(fields) => {
                        let full = self.attachment_json(attachment);
                        with_opt_fields(compact, &full, Some(fields))
                    }
                }
            })
            .collect();
        self.paginate(items, request, "/attachments")
    }

    fn get_attachment(&self, gid: &str) -> Result<Reply, ProviderError> {
        let mut attachments = crate::lock(&self.attachments);
        let attachment = attachments
            .iter_mut()
            .find(|attachment| attachment.gid == gid)
            .ok_or_else(|| unknown_object(gid))?;
        Ok(Reply::ok(
            json!({ "data": self.attachment_json(attachment) }),
        ))
    }

    /// AttachmentResponse; each call signs a fresh `download_url` (uploads only).
    fn attachment_json(&self, attachment: &mut Attachment) -> Value {
        let download_url = if attachment.resource_subtype == "asana" {
            let signature = synthetic::random_url_safe(24);
            attachment.download = Some((signature.clone(), Instant::now() + DOWNLOAD_URL_LIFETIME));
            json!(format!(
                "{}/attachments/{}/download?signature={signature}",
                self.base_url, attachment.gid
            ))
        } else {
            Value::Null
        };
        let permanent_url = format!(
            "https://app.asana.com/app/asana/-/get_asset?asset_id={}",
            attachment.gid
        );
        let mut json = json!({
            "gid": attachment.gid,
            "resource_type": "attachment",
            "name": attachment.name,
            "resource_subtype": attachment.resource_subtype,
            "created_at": attachment.created_at,
            "download_url": download_url,
            "permanent_url": permanent_url,
            "host": attachment.resource_subtype,
            "parent": self.task_compact(&attachment.parent_gid),
            "view_url": attachment.external_url.clone().unwrap_or(permanent_url),
        });
        if attachment.resource_subtype == "asana" {
            json["size"] = json!(attachment.bytes.len());
        } else {
            json["connected_to_app"] = json!(false);
        }
        json
    }

    /// `POST /attachments`, multipart/form-data (AttachmentRequest): 200 with AttachmentResponse.
    fn create_attachment(&self, request: &Request) -> Result<Reply, ProviderError> {
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let parts = multipart::parse(content_type, &request.body).ok_or_else(|| {
            bad_request("Request body must be multipart/form-data with a boundary")
        })?;
        let field = |name: &str| {
            parts
                .iter()
                .find(|part| part.name == name)
                .map(|part| String::from_utf8_lossy(&part.data).into_owned())
        };
        let parent = field("parent").ok_or_else(|| bad_request("parent: Missing input"))?;
        self.require_task(&parent)?;
        let subtype = field("resource_subtype").unwrap_or_else(|| "asana".into());
        let connect = field("connect_to_app").is_some_and(|value| value == "true");
        let mut attachment = match subtype.as_str() {
            "asana" => {
                let file = parts
                    .iter()
                    .find(|part| part.name == "file")
                    .ok_or_else(|| bad_request("file: Missing input"))?;
                Attachment {
                    gid: self.fresh_gid(),
                    name: file.filename.clone().unwrap_or_else(|| "upload".into()),
                    parent_gid: parent.clone(),
                    resource_subtype: "asana",
                    content_type: file
                        .content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    bytes: file.data.clone(),
                    external_url: None,
                    created_at: synthetic::now_millis_utc(),
                    download: None,
                }
            }
            "external" => {
                let url = field("url").ok_or_else(|| bad_request("url: Missing input"))?;
                let name = field("name").ok_or_else(|| bad_request("name: Missing input"))?;
                if connect {
                    // AttachmentRequest: connect_to_app needs an OAuth token; the agent uses a PAT.
                    return Err(bad_request(
                        "connect_to_app: This property can only be set if an OAuth token is used",
                    ));
                }
                Attachment {
                    gid: self.fresh_gid(),
                    name,
                    parent_gid: parent.clone(),
                    resource_subtype: "external",
                    content_type: String::new(),
                    bytes: Vec::new(),
                    external_url: Some(url),
                    created_at: synthetic::now_millis_utc(),
                    download: None,
                }
            }
            other => {
                return Err(bad_request(&format!(
                    "resource_subtype: {other:?} is not one of asana, external"
                )))
            }
        };
        let json = self.attachment_json(&mut attachment);
        let mut resources = vec![parent.clone()];
        resources.extend(self.projects_of(&parent));
        self.record_event(
            resources,
            json!({
                "user": self.user_compact(&self.agent.gid),
                "resource": { "gid": attachment.gid, "resource_type": "attachment", "name": attachment.name },
                "type": "attachment",
                "action": "added",
                "parent": self.task_compact(&parent),
                "created_at": attachment.created_at,
            }),
        );
        crate::lock(&self.attachments).push(attachment);
        Ok(Reply::ok(json!({ "data": json })))
    }

    fn download_attachment(&self, gid: &str, request: &Request) -> Result<Reply, ProviderError> {
        let signature = query_param(request, "signature").unwrap_or_default();
        let attachments = crate::lock(&self.attachments);
        // [unverified] S3 answers an expired or forged URL with an XML AccessDenied; the fake keeps Asana's shape.
        let denied =
            || ProviderError::new(403, "Request has expired or its signature does not match");
        let attachment = attachments
            .iter()
            .find(|attachment| attachment.gid == gid)
            .ok_or_else(denied)?;
        match &attachment.download {
            Some((expected, expires)) if *expected == signature && Instant::now() < *expires => {
                let content_type: &'static str = match attachment.content_type.as_str() {
                    "image/png" => "image/png",
                    "application/pdf" => "application/pdf",
                    "text/html" => "text/html",
                    "text/plain" => "text/plain",
                    "application/json" => "application/json",
                    _ => "application/octet-stream",
                };
                Ok(Reply::raw(200, content_type, attachment.bytes.clone()))
            }
            _ => Err(denied()),
        }
    }

    /// `POST /webhooks`: validates the target, runs the handshake while the
    /// call is open, and answers 201 WebhookResponse only if it succeeded.
    fn create_webhook(&self, request: &Request) -> Result<Reply, ProviderError> {
        let data = request_data(request)?;
        let resource = string_field(&data, "resource")?
            .ok_or_else(|| bad_request("resource: Missing input"))?;
        let target =
            string_field(&data, "target")?.ok_or_else(|| bad_request("target: Missing input"))?;
        if !self.is_known_resource(resource) {
            return Err(unknown_object(resource));
        }
        let filters = match data.get("filters") {
            None => Vec::new(),
            Some(Value::Array(filters)) if filters.iter().all(Value::is_object) => filters.clone(),
            Some(_) => return Err(bad_request("filters: Value is not an array of objects")),
        };
        let target_url = HandshakeTarget::parse(target)
            .ok_or_else(|| bad_request(&format!("target: {target:?} is not a valid URL")))?;
        // §1: invalid targets such as localhost get 403; see AsanaWebhookOptions.
        if !target_url.loopback || self.webhook_options.reject_loopback_targets {
            return Err(ProviderError::new(
                403,
                format!(
                    "target: The host {:?} is not a valid webhook target",
                    target_url.host
                ),
            ));
        }
        if target_url.https {
            return Err(bad_request(
                "target: this fake can only handshake with plain http:// loopback targets",
            ));
        }
        let secret = self.webhook_secret.clone();
        let handshake = std::thread::scope(|scope| {
            scope
                .spawn(|| target_url.handshake(&secret))
                .join()
                .unwrap_or_else(|_| Err("the handshake thread panicked".into()))
        });
        if let Err(why) = handshake {
            // [unverified] Asana's status and wording for a failed handshake.
            return Err(bad_request(&format!(
                "The remote server did not complete the handshake: {why}"
            )));
        }
        let now = synthetic::now_millis_utc();
        let resource_json = {
            let tasks = crate::lock(&self.tasks);
            match tasks.get(resource) {
                Some(task) => {
                    json!({ "gid": resource, "resource_type": "task", "name": task.fixture.name })
                }
                None if resource == WORKSPACE_GID => workspace_compact(),
                None => project_compact(resource),
            }
        };
        let webhook = json!({
            "gid": self.fresh_gid(),
            "resource_type": "webhook",
            "active": true,
            "resource": resource_json,
            "target": target,
            "created_at": now,
            "last_success_at": now,
            "last_failure_content": "",
            "delivery_retry_count": 0,
            "filters": filters,
        });
        crate::lock(&self.webhooks).push(webhook.clone());
        let mut body = json!({ "data": webhook });
        if self.webhook_options.secret_in_create_response {
            body["X-Hook-Secret"] = json!(self.webhook_secret);
        }
        Ok(Reply::created(body))
    }

    /// `GET /events?resource=…&sync=…` (§1, spec `/events`).
    fn get_events(&self, request: &Request) -> Result<Reply, ProviderError> {
        let resource = query_param(request, "resource")
            .ok_or_else(|| bad_request("resource: Missing input"))?;
        if !self.is_known_resource(&resource) {
            return Err(unknown_object(&resource));
        }
        let mut log = crate::lock(&self.events);
        let position = query_param(request, "sync")
            .and_then(|token| log.tokens.get(&token).cloned())
            .filter(|(token_resource, _)| *token_resource == resource)
            .map(|(_, position)| position);
        let Some(position) = position else {
            let fresh = log.token(&resource);
            return Ok(Reply::json(
                412,
                json!({ "errors": [{ "message": SYNC_INVALID }], "sync": fresh }),
            ));
        };
        let visible: Vec<(usize, Value)> = log.entries[position..]
            .iter()
            .enumerate()
            .filter(|(_, (resources, _))| resources.contains(&resource))
            .map(|(offset, (_, event))| (position + offset, event.clone()))
            .collect();
        let has_more = visible.len() > EVENTS_PER_SYNC;
        let returned: Vec<(usize, Value)> = visible.into_iter().take(EVENTS_PER_SYNC).collect();
        let next_position = if has_more {
            returned.last().map_or(position, |(index, _)| index + 1)
        } else {
            log.entries.len()
        };
        let sync = synthetic::random_hex(16);
        log.tokens.insert(sync.clone(), (resource, next_position));
        let data: Vec<Value> = returned.into_iter().map(|(_, event)| event).collect();
        Ok(Reply::ok(
            json!({ "data": data, "sync": sync, "has_more": has_more }),
        ))
    }
}

/// The `data` object of a JSON write body.
fn request_data(request: &Request) -> Result<Map<String, Value>, ProviderError> {
    let body: Value = request
        .body_json()
        .map_err(|_| bad_request("Could not parse request data, invalid JSON"))?;
    body.get("data")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| bad_request("data: Missing input"))
}

fn unknown_object(gid: &str) -> ProviderError {
    // [unverified] wording of Asana's 404 for an unknown gid.
    ProviderError::new(404, format!("Unknown object: {gid}"))
}

/// `compact` plus the top-level fields `opt_fields` names (dotted names add
/// their first segment) that `full` has.
fn with_opt_fields(mut compact: Value, full: &Value, opt_fields: Option<&str>) -> Value {
    for field in opt_fields.into_iter().flat_map(|fields| fields.split(',')) {
        let name = field.trim().split('.').next().unwrap_or_default();
        if let Some(value) = full.get(name) {
            compact[name] = value.clone();
        }
    }
    compact
}

/// A webhook target the fake may handshake with.
struct HandshakeTarget {
    host: String,
    https: bool,
    loopback: bool,
    address: Option<SocketAddr>,
    /// Path and query, as sent in the request line.
    path: String,
}

impl HandshakeTarget {
    fn parse(target: &str) -> Option<Self> {
        let (https, rest) = if let Some(rest) = target.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, target.strip_prefix("http://")?)
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                (host, port.parse::<u16>().ok()?)
            }
            _ => (authority, if https { 443 } else { 80 }),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        // Loopback by name or by literal address only: no name is ever resolved beyond `localhost`.
        let address: Option<std::net::IpAddr> = if host == "localhost" {
            Some(Ipv4Addr::LOCALHOST.into())
        } else {
            host.parse().ok()
        };
        let loopback = address.is_some_and(|address| address.is_loopback());
        let path = match path {
            "" => "/".to_owned(),
            path if path.starts_with('?') => format!("/{path}"),
            path => path.to_owned(),
        };
        Some(HandshakeTarget {
            address: address
                .filter(|_| loopback)
                .and_then(|ip| (ip, port).to_socket_addrs().ok()?.next()),
            host,
            https,
            loopback,
            path,
        })
    }

    /// POSTs the handshake (blocking): Ok when the target answers 200/204 echoing `secret`.
    fn handshake(&self, secret: &str) -> Result<(), String> {
        let address = self.address.ok_or("the target is not a loopback address")?;
        let mut stream = TcpStream::connect_timeout(&address, HANDSHAKE_TIMEOUT)
            .map_err(|error| format!("cannot connect: {}", error.kind()))?;
        stream
            .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT)))
            .map_err(|error| format!("cannot set timeouts: {}", error.kind()))?;
        let host = if address.is_ipv6() {
            format!("[{}]:{}", address.ip(), address.port())
        } else {
            address.to_string()
        };
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {host}\r\nX-Hook-Secret: {secret}\r\nContent-Length: 0\r\nUser-Agent: Asana\r\nConnection: close\r\n\r\n",
            self.path
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|error| format!("cannot send: {}", error.kind()))?;
        let mut head = Vec::new();
        let mut buffer = [0u8; 4096];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream
                .read(&mut buffer)
                .map_err(|error| format!("no answer: {}", error.kind()))?;
            if read == 0 {
                break;
            }
            head.extend_from_slice(&buffer[..read]);
            if head.len() > 64 * 1024 {
                return Err("the answer's head is too long".into());
            }
        }
        let head = String::from_utf8_lossy(&head);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|status| status.parse().ok())
            .ok_or("the answer is not HTTP")?;
        if status != 200 && status != 204 {
            return Err(format!("the target answered {status}"));
        }
        let echoed = lines
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("x-hook-secret"))
            .map(|(_, value)| value.trim().to_owned());
        match echoed {
            Some(echoed) if echoed == secret => Ok(()),
            Some(_) => Err("the target echoed a different X-Hook-Secret".into()),
            None => Err("the target did not echo X-Hook-Secret".into()),
        }
    }
}

/// A minimal multipart/form-data reader (RFC 7578), enough for `POST /attachments`.
mod multipart {
    pub struct Part {
        pub name: String,
        pub filename: Option<String>,
        pub content_type: Option<String>,
        pub data: Vec<u8>,
    }

    pub fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
        let (kind, params) = content_type.split_once(';')?;
        if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
            return None;
        }
        let boundary = params
            .split(';')
            .filter_map(|param| param.trim().split_once('='))
            .find(|(key, _)| key.eq_ignore_ascii_case("boundary"))
            .map(|(_, value)| value.trim_matches('"').to_owned())?;
        let delimiter = format!("--{boundary}").into_bytes();
        let mut parts = Vec::new();
        let mut rest = &body[find(body, &delimiter)? + delimiter.len()..];
        loop {
            if rest.starts_with(b"--") {
                return Some(parts);
            }
            rest = rest.strip_prefix(b"\r\n")?;
            let head_end = find(rest, b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
            rest = &rest[head_end + 4..];
            let mut closing = b"\r\n".to_vec();
            closing.extend_from_slice(&delimiter);
            let data_end = find(rest, &closing)?;
            let data = rest[..data_end].to_vec();
            rest = &rest[data_end + closing.len()..];
            let mut part = Part {
                name: String::new(),
                filename: None,
                content_type: None,
                data,
            };
            for line in head.split("\r\n") {
                let Some((header, value)) = line.split_once(':') else {
                    continue;
                };
                if header.trim().eq_ignore_ascii_case("content-type") {
                    part.content_type = Some(value.trim().to_owned());
                } else if header.trim().eq_ignore_ascii_case("content-disposition") {
                    for param in value.split(';').skip(1) {
                        if let Some((key, value)) = param.trim().split_once('=') {
                            let value = value.trim().trim_matches('"').to_owned();
                            match key.trim() {
                                "name" => part.name = value,
                                "filename" => part.filename = Some(value),
                                _ => {}
                            }
                        }
                    }
                }
            }
            parts.push(part);
        }
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    }
}

fn workspace_compact() -> Value {
    json!({ "gid": WORKSPACE_GID, "resource_type": "workspace", "name": WORKSPACE_NAME })
}

fn project_compact(gid: &str) -> Value {
    json!({ "gid": gid, "resource_type": "project", "name": format!("Project {gid}") })
}

/// StoryCompact: `html_text` and the rest only through `opt_fields`.
fn story_compact(story: &Value) -> Value {
    let fields = [
        "gid",
        "resource_type",
        "created_at",
        "created_by",
        "resource_subtype",
        "text",
    ];
    Value::Object(
        fields
            .into_iter()
            .map(|field| (field.to_owned(), story[field].clone()))
            .collect(),
    )
}

fn bad_request(message: &str) -> ProviderError {
    ProviderError::new(400, message)
}

fn string_field<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ProviderError> {
    match data.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(bad_request(&format!("{name}: Value is not a string"))),
    }
}

/// The inside of `<body>…</body>`; Asana rejects rich text without that root.
fn body_content(html: &str) -> Result<&str, ProviderError> {
    html.trim()
        .strip_prefix("<body>")
        .and_then(|rest| rest.strip_suffix("</body>"))
        .ok_or_else(|| {
            bad_request("html_text: XML is invalid; rich text must be wrapped in a <body> element")
        })
}

/// The plain text Asana derives from rich text: tags dropped, entities decoded.
fn text_of_html(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for character in html.chars() {
        match character {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => text.push(character),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Asana offsets are opaque tokens; these look like Asana's (base64 JSON) and carry a position.
fn encode_offset(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "position": position }).to_string())
}

fn decode_offset(token: &str) -> Option<usize> {
    let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    usize::try_from(json.get("position")?.as_u64()?).ok()
}

/// How [`AsanaFake::delivery`] signs a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureMode {
    /// `X-Hook-Signature` = lower-case hex HMAC-SHA256 of the body under the hook secret.
    Valid,
    /// A well-formed signature made with some other key.
    Wrong,
    /// No `X-Hook-Signature` header.
    Missing,
}

/// A request Asana would POST to the Worker's webhook.
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    pub method: &'static str,
    /// Always [`WEBHOOK_PATH`].
    pub path: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The harness's handle on fake Asana: what Asana sends, and what it stored.
pub struct AsanaFake {
    asana: Arc<Asana>,
}

impl AsanaFake {
    pub(crate) fn new(asana: Arc<Asana>) -> Self {
        AsanaFake { asana }
    }

    /// The handshake Asana sends while a webhook is being created: the secret
    /// in `X-Hook-Secret`, an empty body (§1 "Webhooks").
    pub fn handshake(&self) -> WebhookRequest {
        WebhookRequest {
            method: "POST",
            path: WEBHOOK_PATH,
            headers: vec![("X-Hook-Secret".into(), self.asana.webhook_secret.clone())],
            body: Vec::new(),
        }
    }

    /// An event delivery, body `{"events":[…]}`, signed as `signature` says.
    pub fn delivery(&self, events: Vec<Value>, signature: SignatureMode) -> WebhookRequest {
        let body = json!({ "events": events }).to_string().into_bytes();
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let signing_key = match signature {
            SignatureMode::Valid => Some(self.asana.webhook_secret.clone()),
            SignatureMode::Wrong => Some(synthetic::random_hex(32)),
            SignatureMode::Missing => None,
        };
        if let Some(key) = signing_key {
            headers.push((
                "X-Hook-Signature".into(),
                hmac_sha256_hex(key.as_bytes(), &body),
            ));
        }
        WebhookRequest {
            method: "POST",
            path: WEBHOOK_PATH,
            headers,
            body,
        }
    }

    /// `user_gid` changed the task's assignee (to the fixture's assignee).
    pub fn task_event(&self, task_gid: &str, user_gid: &str) -> Value {
        let assignee = crate::lock(&self.asana.tasks)
            .get(task_gid)
            .and_then(|task| task.fixture.assignee_gid.clone());
        json!({
            "user": self.asana.user_compact(user_gid),
            "resource": self.asana.task_compact(task_gid),
            "parent": null,
            "action": "changed",
            "created_at": synthetic::now_millis_utc(),
            "change": {
                "field": "assignee",
                "action": "changed",
                "new_value": assignee.map(|gid| self.asana.user_compact(&gid)),
            },
        })
    }

    /// `user_gid` added comment `story_gid` to the task.
    pub fn story_added_event(&self, task_gid: &str, story_gid: &str, user_gid: &str) -> Value {
        json!({
            "user": self.asana.user_compact(user_gid),
            "resource": { "gid": story_gid, "resource_type": "story", "resource_subtype": "comment_added" },
            "parent": self.asana.task_compact(task_gid),
            "action": "added",
            "created_at": synthetic::now_millis_utc(),
        })
    }

    /// The stories the runtime wrote on the task, in full (text and html_text).
    pub fn stories(&self, task_gid: &str) -> Vec<Value> {
        self.asana.stories(task_gid)
    }

    /// The task as `GET /tasks/{gid}` answers it now (fixtures and created tasks).
    pub fn task(&self, task_gid: &str) -> Option<Value> {
        self.asana.task_full(task_gid).ok()
    }

    /// The gids of the tasks the runtime created, in creation order.
    pub fn created_tasks(&self) -> Vec<String> {
        let mut created: Vec<(String, String)> = crate::lock(&self.asana.tasks)
            .values()
            .filter_map(|task| {
                let created_at = task.extra.get("created_at")?.as_str()?.to_owned();
                Some((created_at, task.fixture.gid.clone()))
            })
            .collect();
        created.sort();
        created.into_iter().map(|(_, gid)| gid).collect()
    }

    /// What was uploaded to the task: (attachment gid, name, bytes; external ones have none).
    pub fn attachments(&self, task_gid: &str) -> Vec<(String, String, Vec<u8>)> {
        crate::lock(&self.asana.attachments)
            .iter()
            .filter(|attachment| attachment.parent_gid == task_gid)
            .map(|attachment| {
                (
                    attachment.gid.clone(),
                    attachment.name.clone(),
                    attachment.bytes.clone(),
                )
            })
            .collect()
    }

    /// Every webhook created (WebhookResponse records).
    pub fn webhooks(&self) -> Vec<Value> {
        crate::lock(&self.asana.webhooks).clone()
    }

    /// Adds an event `GET /events` reports on `resource_gid` (e.g. a human's
    /// change made "in Asana"); build it with [`AsanaFake::task_event`] and kin.
    pub fn push_event(&self, resource_gid: &str, event: Value) {
        self.asana
            .record_event(vec![resource_gid.to_owned()], event);
    }

    /// Forgets every sync token handed out, as Asana does with old ones: the
    /// next `/events` call with any of them gets 412 and a fresh token.
    pub fn expire_sync_tokens(&self) {
        crate::lock(&self.asana.events).tokens.clear();
    }
}

fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
