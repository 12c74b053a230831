//! Non-secret configuration: the Worker's `[vars]`, or the map the harness hands in.
//! Secrets never come from here; see [`crate::secrets`].

#[derive(Clone, Debug)]
pub struct Config {
    pub asana_base_url: String,
    pub google_oauth_base_url: String,
    pub ga4_base_url: String,
    pub ai_gateway_base_url: String,
    pub ai_gateway_account_id: String,
    pub ai_gateway_id: String,
    pub ai_model: String,
    pub agent_user_gid: String,
    pub allowed_project_gids: Vec<String>,
    pub dashboard_url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {0} is missing or empty")]
pub struct ConfigError(pub &'static str);

impl Config {
    /// Reads every variable through `var`, so the Worker (`env.var`) and native maps share one parser.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str| {
            var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).ok_or(ConfigError(name))
        };
        let base_url = |name: &'static str| required(name).map(|v| v.trim_end_matches('/').to_owned());
        Ok(Config {
            asana_base_url: base_url("ASANA_BASE_URL")?,
            google_oauth_base_url: base_url("GOOGLE_OAUTH_BASE_URL")?,
            ga4_base_url: base_url("GA4_BASE_URL")?,
            ai_gateway_base_url: base_url("AI_GATEWAY_BASE_URL")?,
            ai_gateway_account_id: required("AI_GATEWAY_ACCOUNT_ID")?,
            ai_gateway_id: required("AI_GATEWAY_ID")?,
            ai_model: required("AI_MODEL")?,
            agent_user_gid: required("AGENT_USER_GID")?,
            allowed_project_gids: required("ALLOWED_PROJECT_GIDS")?
                .split(',')
                .map(|gid| gid.trim().to_owned())
                .filter(|gid| !gid.is_empty())
                .collect(),
            dashboard_url: base_url("DASHBOARD_URL")?,
        })
    }
}
