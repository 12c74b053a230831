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
use crate::credential::{Accepts, CredentialCheck, CredentialLocation, TokenMint};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};

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
            Ok::<_, FakesError>(
                CredentialCheck::new(
                    CredentialLocation::FormField(field),
                    Accepts::Value(config.credential(binding)?),
                    when_wrong.clone(),
                )
                .when_missing(
                    ProviderError::new(400, format!("The \"{field}\" parameter is missing"))
                        .code("invalid_request"),
                ),
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
        let field = |name: &str| {
            form_urlencoded::parse(&request.body)
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        };
        if field("grant_type") != "client_credentials" {
            // [secondary] Box's wording.
            return Err(ProviderError::new(
                400,
                "Invalid grant_type parameter or parameter missing",
            )
            .code("unsupported_grant_type"));
        }
        match field("box_subject_type").as_str() {
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
        // Minting calls the harness's hooks, so the token is a canary before it is sent.
        let access_token = self.access_tokens.mint();
        Ok(Reply::ok(json!({
            "access_token": access_token,
            "expires_in": EXPIRES_IN,
            "restricted_to": [],
            "token_type": "bearer",
        })))
    }
}
