//! Whether a task is the agent's work, decided from the task alone (the idempotency part is the
//! trace store's unique claim; see [`crate::consume`]).

use crate::config::Config;
use crate::providers::asana::Task;
use crate::skills::{self, Skill};

pub const SKILL_TAG_PREFIX: &str = "skill:";

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Eligible(&'static str),
    Ineligible(String),
}

pub fn decide(task: &Task, config: &Config) -> Decision {
    use Decision::Ineligible;
    if task.assignee_gid.as_deref() != Some(config.agent_user_gid.as_str()) {
        return Ineligible("not assigned to the agent".into());
    }
    if task.completed {
        return Ineligible("task is completed".into());
    }
    if !task.project_gids.iter().any(|gid| config.allowed_project_gids.contains(gid)) {
        return Ineligible("not in an allowed project".into());
    }
    let skill_tags: Vec<&str> =
        task.tag_names.iter().filter_map(|t| t.strip_prefix(SKILL_TAG_PREFIX)).map(str::trim).collect();
    match skill_tags.as_slice() {
        [] => Ineligible("no skill:<name> tag".into()),
        [name] => match skills::find(name) {
            Some(Skill { name, .. }) => Decision::Eligible(name),
            None => Ineligible(format!("unknown skill \"{name}\"")),
        },
        _ => Ineligible(format!("more than one skill tag ({})", skill_tags.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_vars(|name| {
            Some(match name {
                "AGENT_USER_GID" => "7".into(),
                "ALLOWED_PROJECT_GIDS" => "100, 200".into(),
                _ => "http://x".into(),
            })
        })
        .unwrap()
    }

    fn task() -> Task {
        Task {
            gid: "1".into(),
            name: "t".into(),
            completed: false,
            assignee_gid: Some("7".into()),
            project_gids: vec!["200".into()],
            tag_names: vec!["client:acme".into(), "skill:ga4-traffic-report".into()],
            custom_fields: Default::default(),
        }
    }

    #[test]
    fn each_rule_has_its_reason() {
        let config = config();
        assert_eq!(decide(&task(), &config), Decision::Eligible("ga4-traffic-report"));
        type Change = fn(&mut Task);
        let cases: [(Change, &str); 6] = [
            (|t| t.assignee_gid = Some("8".into()), "not assigned to the agent"),
            (|t| t.assignee_gid = None, "not assigned to the agent"),
            (|t| t.completed = true, "task is completed"),
            (|t| t.project_gids = vec!["300".into()], "not in an allowed project"),
            (|t| t.tag_names = vec![], "no skill:<name> tag"),
            (|t| t.tag_names = vec!["skill:nope".into()], "unknown skill \"nope\""),
        ];
        for (change, reason) in cases {
            let mut t = task();
            change(&mut t);
            assert_eq!(decide(&t, &config), Decision::Ineligible(reason.into()));
        }
    }
}
