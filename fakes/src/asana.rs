//! Fake Asana (PROVIDER-NOTES §1): the REST endpoints the runtime calls, and
//! Asana's side of the webhook, which *sends* the handshake and signed event
//! deliveries to the Worker's `/webhooks/asana`.
//!
//! Endpoints: `get_me` (`GET /users/me`), `get_task` (`GET /tasks/{gid}`),
//! `create_story` (`POST /tasks/{gid}/stories`), `list_stories`
//! (`GET /tasks/{gid}/stories`), all under `/api/1.0` and all behind
//! `Authorization: Bearer <AGENCY_OS_ASANA_AGENT_PAT>`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use wiremock::Request;

use crate::config::{Agent, FakesConfig, FakesError, TaskFixture};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const AGENT_PAT_BINDING: &str = "AGENCY_OS_ASANA_AGENT_PAT";
pub const WEBHOOK_SECRET_BINDING: &str = "ASANA_WEBHOOK_SECRET";
/// Where Asana's webhook requests go on the Worker.
pub const WEBHOOK_PATH: &str = "/webhooks/asana";

const GET_ME: &str = "get_me";
const GET_TASK: &str = "get_task";
const CREATE_STORY: &str = "create_story";
const LIST_STORIES: &str = "list_stories";

const WORKSPACE_GID: &str = "1200000000000001";
const WORKSPACE_NAME: &str = "Agency";

pub(crate) struct Asana {
    base_url: String,
    agent: Agent,
    tasks: BTreeMap<String, TaskFixture>,
    webhook_secret: String,
    auth: [CredentialCheck; 1],
    /// Stories the runtime wrote, per task gid, in full (text and html_text).
    stories: Mutex<BTreeMap<String, Vec<Value>>>,
    next_story_gid: AtomicU64,
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
        match endpoint {
            GET_ME => Ok(Reply::ok(json!({ "data": self.agent_user() }))),
            GET_TASK => Ok(Reply::ok(
                json!({ "data": self.task_json(self.task(params.get("task_gid"))?) }),
            )),
            CREATE_STORY => self.create_story(params.get("task_gid"), request),
            LIST_STORIES => self.list_stories(params.get("task_gid"), request),
            _ => unreachable!("{endpoint} is not an Asana endpoint"),
        }
    }
}

impl Asana {
    pub fn new(config: &FakesConfig, base_url: String) -> Result<Self, FakesError> {
        // §1: a missing or wrong token both get 401 "Not Authorized".
        let not_authorized = ProviderError::new(401, "Not Authorized");
        let pat = config.credential(AGENT_PAT_BINDING)?;
        Ok(Asana {
            base_url,
            agent: config.agent.clone(),
            tasks: config.tasks_by_gid()?,
            webhook_secret: config.credential(WEBHOOK_SECRET_BINDING)?,
            auth: [CredentialCheck::new(
                CredentialLocation::AuthorizationBearer,
                Accepts::Value(pat),
                not_authorized,
            )],
            stories: Mutex::default(),
            next_story_gid: AtomicU64::new(1_300_000_000_000_001),
        })
    }

    fn task(&self, gid: &str) -> Result<&TaskFixture, ProviderError> {
        // [unverified] wording of Asana's 404 for an unknown gid.
        self.tasks
            .get(gid)
            .ok_or_else(|| ProviderError::new(404, format!("Unknown object: {gid}")))
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
        if let Some(fixture) = self.tasks.get(gid) {
            task["name"] = json!(fixture.name);
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

    /// `POST /tasks/{gid}/stories`: exactly one of `text` / `html_text`, the
    /// latter wrapped in `<body>` (§1 table, StoryBase descriptions).
    fn create_story(&self, task_gid: &str, request: &Request) -> Result<Reply, ProviderError> {
        self.task(task_gid)?;
        // [unverified] wording of Asana's 400s below; the envelope is §1's.
        let body: Value = request
            .body_json()
            .map_err(|_| bad_request("Could not parse request data, invalid JSON"))?;
        let data = body
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| bad_request("data: Missing input"))?;
        let (text, html_text) = match (
            string_field(data, "text")?,
            string_field(data, "html_text")?,
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
            "gid": self.next_story_gid.fetch_add(1, Ordering::Relaxed).to_string(),
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
        Ok(Reply::created(json!({ "data": story })))
    }

    /// `GET /tasks/{gid}/stories`: StoryCompact records; `html_text` only when
    /// `opt_fields` asks for it; pages with `next_page` when `limit` is given (§1 "Pagination").
    fn list_stories(&self, task_gid: &str, request: &Request) -> Result<Reply, ProviderError> {
        self.task(task_gid)?;
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| {
            query
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let with_html = param("opt_fields")
            .is_some_and(|fields| fields.split(',').any(|field| field.trim() == "html_text"));
        let stories: Vec<Value> = self
            .stories(task_gid)
            .iter()
            .map(|story| story_compact(story, with_html))
            .collect();

        let Some(limit) = param("limit") else {
            return Ok(Reply::ok(json!({ "data": stories })));
        };
        let limit: usize = limit
            .parse()
            .ok()
            .filter(|limit| (1..=100).contains(limit))
            .ok_or_else(|| bad_request("limit: Must be between 1 and 100"))?;
        let start = match param("offset") {
            None => 0,
            Some(token) => decode_offset(token)
                .filter(|&start| start <= stories.len())
                .ok_or_else(|| bad_request("offset: Your pagination token is invalid"))?,
        };
        let end = (start + limit).min(stories.len());
        let next_page = if end < stories.len() {
            let offset = encode_offset(end);
            let mut next_query = form_urlencoded::Serializer::new(String::new());
            for (key, value) in query.iter().filter(|(key, _)| key != "offset") {
                next_query.append_pair(key, value);
            }
            let path = format!(
                "/tasks/{task_gid}/stories?{}",
                next_query.append_pair("offset", &offset).finish()
            );
            json!({ "offset": offset, "uri": format!("{}{path}", self.base_url), "path": path })
        } else {
            Value::Null
        };
        Ok(Reply::ok(
            json!({ "data": &stories[start..end], "next_page": next_page }),
        ))
    }

    fn stories(&self, task_gid: &str) -> Vec<Value> {
        crate::lock(&self.stories)
            .get(task_gid)
            .cloned()
            .unwrap_or_default()
    }
}

fn workspace_compact() -> Value {
    json!({ "gid": WORKSPACE_GID, "resource_type": "workspace", "name": WORKSPACE_NAME })
}

fn project_compact(gid: &str) -> Value {
    json!({ "gid": gid, "resource_type": "project", "name": format!("Project {gid}") })
}

fn story_compact(story: &Value, with_html: bool) -> Value {
    let mut fields = vec![
        "gid",
        "resource_type",
        "created_at",
        "created_by",
        "resource_subtype",
        "text",
    ];
    if with_html {
        fields.push("html_text");
    }
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
        let assignee = self
            .asana
            .tasks
            .get(task_gid)
            .and_then(|task| task.assignee_gid.as_deref());
        json!({
            "user": self.asana.user_compact(user_gid),
            "resource": self.asana.task_compact(task_gid),
            "parent": null,
            "action": "changed",
            "created_at": synthetic::now_millis_utc(),
            "change": {
                "field": "assignee",
                "action": "changed",
                "new_value": assignee.map(|gid| self.asana.user_compact(gid)),
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
}

fn hmac_sha256_hex(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}
