//! Google OAuth 2.0 refresh-token grant: credentials in the form body, a fresh access token back.

use secrecy::{ExposeSecret, SecretString};

use super::parse_json;
use crate::binding::Binding;
use crate::context::{RunContext, Step};
use crate::error::StepError;
use crate::http::{HttpRequest, Method};
use crate::retry;

const PROVIDER: &str = "google_oauth";

/// The label under which minted access tokens are registered with the sanitizer.
pub const ACCESS_TOKEN_LABEL: &str = "minted:google_access_token";

/// Reads the three Google bindings, exchanges the refresh token, and registers the minted
/// access token with the run's sanitizer before returning it.
pub async fn access_token(ctx: &RunContext<'_>, step: &Step) -> Result<SecretString, StepError> {
    let client_id = ctx.read_secret(step, Binding::GoogleClientId).await?;
    let client_secret = ctx.read_secret(step, Binding::GoogleClientSecret).await?;
    let refresh_token = ctx.read_secret(step, Binding::GoogleRefreshToken).await?;
    let url = format!("{}/token", ctx.config.google_oauth_base_url);
    let build = || {
        HttpRequest::new(Method::Post, &url).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id.expose_secret()),
            ("client_secret", client_secret.expose_secret()),
            ("refresh_token", refresh_token.expose_secret()),
        ])
    };
    let response = retry::send(ctx, step, PROVIDER, &build).await?;
    let body = parse_json(PROVIDER, &response.body)?;
    let token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(|t| SecretString::from(t.to_owned()))
        .ok_or_else(|| StepError::InvalidResponse { provider: PROVIDER, what: "no access_token".into() })?;
    ctx.register_minted(ACCESS_TOKEN_LABEL, &token);
    Ok(token)
}
