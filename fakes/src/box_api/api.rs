//! `api.box.com/2.0`: folder items and file content (PROVIDER-NOTES §2 "Endpoints").
//!
//! Endpoints: `list_folder_items` (`GET /folders/{folder_id}/items`) behind
//! `Authorization: Bearer <minted Box token>`; `download_file`
//! (`GET /files/{file_id}/content`) behind the same Bearer or the documented
//! `access_token` query parameter (§2 "Authentication on API calls").

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::Request;

use crate::credential::{Accepts, CredentialCheck, CredentialLocation, TokenMint};
use crate::error_shape::{box_unauthorized, ErrorShape, ProviderError};
use crate::server::{self, Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

use super::{client_error, is_box_id, not_found, BoxStore};

const LIST_FOLDER_ITEMS: &str = "list_folder_items";
const DOWNLOAD_FILE: &str = "download_file";

/// §2: `limit` defaults to 100 and is capped at 1000; offsets stop at 9999.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
const MAX_OFFSET: usize = 9_999;

pub(crate) struct BoxApi {
    store: Arc<BoxStore>,
    /// The download host's base URL, for the 302 `Location`.
    download_base: String,
    bearer: [CredentialCheck; 1],
    bearer_or_query: [CredentialCheck; 1],
}

/// Box's Bearer check at `location`: 401, empty body, `WWW-Authenticate`.
pub(super) fn box_token_check(
    location: CredentialLocation,
    tokens: &Arc<TokenMint>,
) -> CredentialCheck {
    CredentialCheck::new(
        location,
        Accepts::MintedBy(Arc::clone(tokens)),
        box_unauthorized(true),
    )
    .when_missing(box_unauthorized(false))
}

impl BoxApi {
    pub fn new(store: Arc<BoxStore>, tokens: &Arc<TokenMint>, download_base: String) -> Self {
        BoxApi {
            store,
            download_base,
            bearer: [box_token_check(
                CredentialLocation::AuthorizationBearer,
                tokens,
            )],
            bearer_or_query: [box_token_check(
                CredentialLocation::FirstOf(&[
                    CredentialLocation::AuthorizationBearer,
                    CredentialLocation::QueryParam("access_token"),
                ]),
                tokens,
            )],
        }
    }

    fn list_folder_items(
        &self,
        folder_id: &str,
        request: &Request,
    ) -> Result<Reply, ProviderError> {
        if !is_box_id(folder_id) {
            // The spec's 405: "folder_id is not in a recognized format".
            return Err(client_error(
                405,
                "method_not_allowed",
                "Method Not Allowed",
            ));
        }
        if !self.store.folders.contains_key(folder_id) {
            return Err(not_found("folder", folder_id));
        }
        let query = server::query_pairs(request);
        let param = |name: &str| server::param(&query, name);
        // [unverified] wordings of the 400s; the codes are the spec enum's.
        let number = |name: &str| -> Result<Option<usize>, ProviderError> {
            param(name)
                .map(|value| {
                    value.parse::<usize>().map_err(|_| {
                        client_error(
                            400,
                            "bad_request",
                            format!("Invalid value '{value}' for query parameter '{name}'"),
                        )
                    })
                })
                .transpose()
        };
        // Box answers with the limit it used: the maximum when asked for more.
        let limit = number("limit")?
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT);
        let entries = self.store.children(folder_id);
        if param("usemarker") == Some("true") {
            let start = match param("marker") {
                None | Some("") => 0,
                Some(marker) => decode_marker(marker)
                    .filter(|start| *start <= entries.len())
                    .ok_or_else(|| client_error(400, "bad_request", "Invalid marker"))?,
            };
            let end = (start + limit).min(entries.len());
            // §2: marker mode has no total_count, offset or order.
            return Ok(Reply::ok(json!({
                "entries": &entries[start..end],
                "limit": limit,
                "next_marker": (end < entries.len()).then(|| encode_marker(end)),
                "prev_marker": (start > 0).then(|| encode_marker(start.saturating_sub(limit))),
            })));
        }
        let offset = number("offset")?.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(client_error(
                400,
                "bad_request",
                format!("Invalid value '{offset}' for query parameter 'offset': the maximum offset is {MAX_OFFSET}; use marker-based pagination"),
            ));
        }
        let start = offset.min(entries.len());
        let end = (start + limit).min(entries.len());
        Ok(Reply::ok(json!({
            "total_count": entries.len(),
            "entries": &entries[start..end],
            "offset": offset,
            "limit": limit,
            "order": [
                { "by": "type", "direction": "ASC" },
                { "by": "name", "direction": "ASC" },
            ],
        })))
    }

    /// 302 to a fresh, pre-authorised link on the download host (§2: not
    /// persistent, the client must follow it), or 202 while "not ready".
    fn download_file(&self, file_id: &str) -> Result<Reply, ProviderError> {
        {
            let mut files = crate::lock(&self.store.files);
            let file = files
                .iter_mut()
                .find(|file| file.id == file_id)
                .ok_or_else(|| not_found("file", file_id))?;
            if file.pending_downloads > 0 {
                file.pending_downloads -= 1;
                return Ok(Reply::raw(202, "", Vec::new()).header("retry-after", "1".into()));
            }
        }
        let capability = format!("b1!{}", synthetic::random_url_safe(32));
        crate::lock(&self.store.downloads).insert(capability.clone(), file_id.to_owned());
        Ok(Reply::raw(302, "", Vec::new()).header(
            "location",
            format!("{}/d/1/{capability}/download", self.download_base),
        ))
    }
}

/// Markers are opaque; these carry a position.
fn encode_marker(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "position": position }).to_string())
}

fn decode_marker(marker: &str) -> Option<usize> {
    let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(marker).ok()?).ok()?;
    usize::try_from(json.get("position")?.as_u64()?).ok()
}

impl Provider for BoxApi {
    const NAME: &'static str = "box_api";
    const BASE_PATH: &'static str = "/2.0";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Box;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: LIST_FOLDER_ITEMS,
            method: "GET",
            path: "/folders/{folder_id}/items",
        },
        Endpoint {
            name: DOWNLOAD_FILE,
            method: "GET",
            path: "/files/{file_id}/content",
        },
    ];

    fn credential_checks(&self, endpoint: &'static str) -> &[CredentialCheck] {
        match endpoint {
            DOWNLOAD_FILE => &self.bearer_or_query,
            _ => &self.bearer,
        }
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        match endpoint {
            LIST_FOLDER_ITEMS => self.list_folder_items(params.get("folder_id"), request),
            DOWNLOAD_FILE => self.download_file(params.get("file_id")),
            _ => unreachable!("{endpoint} is not a box_api endpoint"),
        }
    }
}
