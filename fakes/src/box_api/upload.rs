//! `upload.box.com/api/2.0`: small-file upload (PROVIDER-NOTES §2 "Endpoints").
//!
//! Endpoint: `upload_file` (`POST /files/content`), behind
//! `Authorization: Bearer <minted Box token>`: multipart with an `attributes`
//! JSON part (`{"name","parent":{"id"}}`) that must come before the `file`
//! part (else 400 `metadata_after_file_contents`). 201 answers `Files`; the
//! file is then listed in its folder and downloadable.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use wiremock::Request;

use crate::credential::{CredentialCheck, CredentialLocation, TokenMint};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

use super::api::box_token_check;
use super::{client_error, file_mini, multipart, not_found, version_id, BoxStore, StoredFile};

const UPLOAD_FILE: &str = "upload_file";

pub(crate) struct BoxUpload {
    store: Arc<BoxStore>,
    bearer: [CredentialCheck; 1],
}

impl BoxUpload {
    pub fn new(store: Arc<BoxStore>, tokens: &Arc<TokenMint>) -> Self {
        BoxUpload {
            store,
            bearer: [box_token_check(
                CredentialLocation::AuthorizationBearer,
                tokens,
            )],
        }
    }
}

#[derive(Deserialize)]
struct Attributes {
    name: Option<String>,
    parent: Option<Parent>,
    content_created_at: Option<String>,
    content_modified_at: Option<String>,
}

#[derive(Deserialize)]
struct Parent {
    id: Option<String>,
}

impl Provider for BoxUpload {
    const NAME: &'static str = "box_upload";
    const BASE_PATH: &'static str = "/api/2.0";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Box;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: UPLOAD_FILE,
        method: "POST",
        path: "/files/content",
    }];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.bearer
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        assert_eq!(endpoint, UPLOAD_FILE, "box_upload has one endpoint");
        // [unverified] wordings; the codes are the spec's.
        let bad_request = |message: &str| client_error(400, "bad_request", message.to_owned());
        let content_type = request
            .headers
            .get("content-type")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .unwrap_or_default();
        let parts = multipart::parse(&content_type, &request.body).map_err(bad_request)?;
        let position = |name: &str| parts.iter().position(|part| part.name == name);
        let (attributes_at, file_at) = match (position("attributes"), position("file")) {
            (_, None) => return Err(bad_request("API upload did not contain a file part")),
            (None, Some(_)) => {
                return Err(bad_request("API upload did not contain an attributes part"))
            }
            (Some(attributes), Some(file)) => (attributes, file),
        };
        if attributes_at > file_at {
            // §2 / spec text: the attributes part must come before the file part.
            return Err(client_error(
                400,
                "metadata_after_file_contents",
                "Metadata must be sent before file contents",
            ));
        }
        let attributes: Attributes = serde_json::from_slice(&parts[attributes_at].body)
            .map_err(|_| bad_request("Invalid JSON in the attributes part"))?;
        let name = attributes.name.unwrap_or_default();
        // Box's item-name rules: no slashes, no leading/trailing spaces, not "." or "..".
        if name.is_empty()
            || name.len() > 255
            || name.contains(['/', '\\'])
            || name.trim() != name
            || name == "."
            || name == ".."
        {
            return Err(client_error(400, "item_name_invalid", "Item name invalid"));
        }
        let parent_id = attributes
            .parent
            .and_then(|parent| parent.id)
            .ok_or_else(|| bad_request("attributes.parent.id is required"))?;
        if !self.store.folders.contains_key(&parent_id) {
            return Err(not_found("folder", &parent_id));
        }
        for stamp in [
            &attributes.content_created_at,
            &attributes.content_modified_at,
        ]
        .into_iter()
        .flatten()
        {
            if !looks_like_rfc3339(stamp) {
                return Err(bad_request(
                    "content_created_at and content_modified_at are RFC 3339 date-times",
                ));
            }
        }
        let now = synthetic::now_seconds_utc();
        let mut files = crate::lock(&self.store.files);
        // Names are unique per folder, case-insensitively (spec text on `name`).
        let folder_clash = self.store.folders.values().any(|folder| {
            folder.parent_id.as_deref() == Some(parent_id.as_str())
                && folder.name.eq_ignore_ascii_case(&name)
        });
        if let Some(existing) = files
            .iter()
            .find(|file| file.parent_id == parent_id && file.name.eq_ignore_ascii_case(&name))
        {
            return Err(client_error(
                409,
                "item_name_in_use",
                "Item with the same name already exists",
            )
            .context(json!({ "conflicts": file_mini(existing) })));
        }
        if folder_clash {
            return Err(client_error(
                409,
                "item_name_in_use",
                "Item with the same name already exists",
            ));
        }
        let id = self.store.next_file_id();
        let file = StoredFile {
            version_id: version_id(&id),
            id,
            name,
            parent_id,
            content: parts[file_at].body.clone(),
            created_at: now.clone(),
            content_created_at: attributes.content_created_at.unwrap_or_else(|| now.clone()),
            content_modified_at: attributes.content_modified_at.unwrap_or(now),
            pending_downloads: 0,
        };
        files.push(file.clone());
        drop(files);
        Ok(Reply::created(json!({
            "total_count": 1,
            "entries": [self.store.file_full(&file)],
        })))
    }
}

/// `2026-12-03T09:12:02Z` / `…-08:00`, optionally with fractional seconds.
fn looks_like_rfc3339(stamp: &str) -> bool {
    let bytes = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let shape = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(bytes.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19);
    let zone = stamp.get(19..).unwrap_or_default();
    let zone = zone
        .strip_prefix('.')
        .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or(zone);
    shape
        && (zone.eq_ignore_ascii_case("z")
            || (zone.len() == 6
                && matches!(zone.as_bytes()[0], b'+' | b'-')
                && zone.as_bytes()[3] == b':'))
}
