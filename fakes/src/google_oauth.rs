//! Fake Google OAuth token endpoint (PROVIDER-NOTES §3a): the refresh-token
//! grant, minting a fresh access token per call.
//!
//! Endpoint: `token` (`POST /token`, form body). Checks run in this order:
//! client_id, client_secret, refresh_token (form fields), then grant_type.

use std::sync::Arc;

use serde_json::json;
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{self, CredentialCheck, TokenMint};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};

pub const CLIENT_ID_BINDING: &str = "AGENCY_OS_GOOGLE_CLIENT_ID";
pub const CLIENT_SECRET_BINDING: &str = "AGENCY_OS_GOOGLE_CLIENT_SECRET";
pub const REFRESH_TOKEN_BINDING: &str = "AGENCY_OS_GOOGLE_REFRESH_TOKEN";
/// The label the mint hook gets for each access token minted.
pub const MINTED_ACCESS_TOKEN_LABEL: &str = "minted:google_access_token";
/// Google access tokens start with this.
pub const ACCESS_TOKEN_PREFIX: &str = "ya29.";

const TOKEN: &str = "token";
const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";

pub(crate) struct GoogleOAuth {
    auth: [CredentialCheck; 3],
    access_tokens: Arc<TokenMint>,
}

impl GoogleOAuth {
    pub fn new(config: &FakesConfig, access_tokens: Arc<TokenMint>) -> Result<Self, FakesError> {
        // §3a: invalid_client (401) for a wrong client, invalid_grant (400) for a
        // wrong refresh token. The missing-field wordings are [unverified].
        let invalid_client = ProviderError::new(401, "Unauthorized").code("invalid_client");
        let invalid_grant =
            ProviderError::new(400, "Token has been expired or revoked.").code("invalid_grant");
        let form_check = |field, binding, when_wrong, when_missing| {
            CredentialCheck::form_field(config, field, binding, when_wrong, when_missing)
        };
        let auth = [
            form_check(
                "client_id",
                CLIENT_ID_BINDING,
                invalid_client.clone(),
                invalid_request("Could not determine client ID from request."),
            )?,
            form_check(
                "client_secret",
                CLIENT_SECRET_BINDING,
                invalid_client,
                invalid_request("client_secret is missing."),
            )?,
            form_check(
                "refresh_token",
                REFRESH_TOKEN_BINDING,
                invalid_grant,
                invalid_request("Missing required parameter: refresh_token"),
            )?,
        ];
        Ok(GoogleOAuth {
            auth,
            access_tokens,
        })
    }
}

impl Provider for GoogleOAuth {
    const NAME: &'static str = "google_oauth";
    const BASE_PATH: &'static str = "";
    const ERROR_SHAPE: ErrorShape = ErrorShape::GoogleOAuth;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: TOKEN,
        method: "POST",
        path: "/token",
    }];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        assert_eq!(
            endpoint, TOKEN,
            "the token endpoint is Google OAuth's only one"
        );
        credential::require_grant_type(request, "refresh_token", |grant_type| {
            ProviderError::new(400, format!("Invalid grant_type: {grant_type}"))
                .code("unsupported_grant_type")
        })?;
        Ok(self
            .access_tokens
            .token_reply(3599, "Bearer", ("scope", json!(SCOPE))))
    }
}

fn invalid_request(description: &str) -> ProviderError {
    ProviderError::new(400, description).code("invalid_request")
}
