//! Asana: `Authorization: Bearer <PAT>`; payloads wrapped in `{"data": …}`.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::parse_json;
use crate::context::{RunContext, Step};
use crate::error::StepError;
use crate::http::{HttpRequest, Method};
use crate::redact::Sanitized;
use crate::retry;

const PROVIDER: &str = "asana";
const TASK_FIELDS: &str = "name,completed,assignee.gid,projects.gid,memberships.project.gid,tags.name,custom_fields.name,custom_fields.display_value,custom_fields.text_value";

/// The parts of a task that eligibility and skills look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub gid: String,
    pub name: String,
    pub completed: bool,
    pub assignee_gid: Option<String>,
    pub project_gids: Vec<String>,
    pub tag_names: Vec<String>,
    /// Custom field name → its display value.
    pub custom_fields: BTreeMap<String, String>,
}

pub async fn get_task(ctx: &RunContext<'_>, step: &Step, pat: &SecretString, task_gid: &str) -> Result<Task, StepError> {
    let url = format!("{}/tasks/{}?opt_fields={TASK_FIELDS}", ctx.config.asana_base_url, path_segment(task_gid));
    let build = || HttpRequest::new(Method::Get, &url).header("authorization", bearer(pat));
    let response = retry::send(ctx, step, PROVIDER, &build).await?;
    parse_task(&parse_json(PROVIDER, &response.body)?["data"])
}

fn parse_task(data: &serde_json::Value) -> Result<Task, StepError> {
    let invalid = |what: &str| StepError::InvalidResponse { provider: PROVIDER, what: what.to_owned() };
    let gids = |items: &serde_json::Value, path: &[&str]| -> Vec<String> {
        items
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| path.iter().try_fold(item, |v, key| v.get(key)))
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let mut project_gids = gids(&data["projects"], &["gid"]);
    project_gids.extend(gids(&data["memberships"], &["project", "gid"]));
    project_gids.sort();
    project_gids.dedup();
    let custom_fields = data["custom_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|field| {
            let name = field["name"].as_str()?;
            let value = field["display_value"].as_str().or_else(|| field["text_value"].as_str())?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect();
    Ok(Task {
        gid: data["gid"].as_str().ok_or_else(|| invalid("task without gid"))?.to_owned(),
        name: data["name"].as_str().unwrap_or_default().to_owned(),
        completed: data["completed"].as_bool().ok_or_else(|| invalid("task without completed"))?,
        assignee_gid: data["assignee"]["gid"].as_str().map(str::to_owned),
        project_gids,
        tag_names: gids(&data["tags"], &["name"]),
        custom_fields,
    })
}

/// Posts a comment (a story) in Asana's rich text; returns the story's gid.
pub async fn post_comment(
    ctx: &RunContext<'_>,
    step: &Step,
    pat: &SecretString,
    task_gid: &str,
    html_text: &Sanitized,
) -> Result<String, StepError> {
    let url = format!("{}/tasks/{}/stories", ctx.config.asana_base_url, path_segment(task_gid));
    let body = serde_json::json!({ "data": { "html_text": html_text.as_str() } });
    let build = || HttpRequest::new(Method::Post, &url).header("authorization", bearer(pat)).json(&body);
    let response = retry::send(ctx, step, PROVIDER, &build).await?;
    let story = parse_json(PROVIDER, &response.body)?;
    story["data"]["gid"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| StepError::InvalidResponse { provider: PROVIDER, what: "story without gid".into() })
}

fn bearer(token: &SecretString) -> String {
    format!("Bearer {}", token.expose_secret())
}

/// Asana gids are digits; anything else is percent-encoded rather than trusted into a path.
fn path_segment(gid: &str) -> String {
    percent_encoding::utf8_percent_encode(gid, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fields_eligibility_needs() {
        let data = serde_json::json!({
            "gid": "12", "name": "Report", "completed": false,
            "assignee": {"gid": "7"},
            "projects": [{"gid": "100"}],
            "memberships": [{"project": {"gid": "100"}}, {"project": {"gid": "101"}}],
            "tags": [{"gid": "1", "name": "skill:ga4-traffic-report"}],
            "custom_fields": [{"name": "GA4 property", "display_value": "123"}, {"name": "Empty", "display_value": null}]
        });
        let task = parse_task(&data).unwrap();
        assert_eq!(task.assignee_gid.as_deref(), Some("7"));
        assert_eq!(task.project_gids, ["100", "101"]);
        assert_eq!(task.tag_names, ["skill:ga4-traffic-report"]);
        assert_eq!(task.custom_fields.get("GA4 property").map(String::as_str), Some("123"));
        assert_eq!(task.custom_fields.len(), 1);
    }
}
