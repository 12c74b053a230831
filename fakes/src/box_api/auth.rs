//! Box's token endpoint (PROVIDER-NOTES §2 "Token exchange"): the Client
//! Credentials Grant for the enterprise's Service Account.
//!
//! Endpoint: `token` (`POST /oauth2/token`, form body). Checks run in this
//! order: `client_id`, `client_secret`, `box_subject_id` (= the enterprise
//! id), then `grant_type` and `box_subject_type`.

use std::sync::Arc;

use serde_json::json;
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{self, CredentialCheck, TokenMint};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{form_field, Endpoint, PathParams, Provider, Reply};

use super::{CLIENT_ID_BINDING, CLIENT_SECRET_BINDING, ENTERPRISE_ID_BINDING};

const TOKEN: &str = "token";
/// [secondary] a real CCG capture's lifetime (§2).
const EXPIRES_IN: u64 = 3992;

pub(crate) struct BoxAuth {
    auth: [CredentialCheck; 3],
    access_tokens: Arc<TokenMint>,
}

impl BoxAuth {
    pub fn new(config: &FakesConfig, access_tokens: Arc<TokenMint>) -> Result<Self, FakesError> {
        // §2 [secondary]: the examples seen; missing-field wordings are [unverified].
        let invalid_client =
            ProviderError::new(400, "The client credentials are invalid").code("invalid_client");
        let form_check = |field: &'static str, binding, when_wrong: &ProviderError| {
            CredentialCheck::form_field(
                config,
                field,
                binding,
                when_wrong.clone(),
                ProviderError::new(400, format!("The \"{field}\" parameter is missing"))
                    .code("invalid_request"),
            )
        };
        Ok(BoxAuth {
            auth: [
                form_check("client_id", CLIENT_ID_BINDING, &invalid_client)?,
                form_check("client_secret", CLIENT_SECRET_BINDING, &invalid_client)?,
                form_check(
                    "box_subject_id",
                    ENTERPRISE_ID_BINDING,
                    &ProviderError::new(400, "Grant credentials are invalid").code("invalid_grant"),
                )?,
            ],
            access_tokens,
        })
    }
}

impl Provider for BoxAuth {
    const NAME: &'static str = "box_auth";
    const BASE_PATH: &'static str = "";
    const ERROR_SHAPE: ErrorShape = ErrorShape::BoxOAuth;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: TOKEN,
        method: "POST",
        path: "/oauth2/token",
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
        assert_eq!(endpoint, TOKEN, "the token endpoint is box_auth's only one");
        credential::require_grant_type(request, "client_credentials", |_| {
            // [secondary] Box's wording.
            ProviderError::new(400, "Invalid grant_type parameter or parameter missing")
                .code("unsupported_grant_type")
        })?;
        match form_field(request, "box_subject_type")
            .unwrap_or_default()
            .as_str()
        {
            "enterprise" => {}
            // §2: acting as a managed user needs app settings this app lacks.
            "user" => {
                return Err(ProviderError::new(
                    400,
                    "The \"box_subject_type\" value is unauthorized for this client_id",
                )
                .code("unauthorized_client"))
            }
            _ => {
                return Err(ProviderError::new(
                    400,
                    "The \"box_subject_type\" parameter is invalid",
                )
                .code("invalid_request"))
            }
        }
        Ok(self
            .access_tokens
            .token_reply(EXPIRES_IN, "bearer", ("restricted_to", json!([]))))
    }
}
