//! Fake Box (PROVIDER-NOTES §2): four hosts, each its own server and fake,
//! sharing one file store and one token mint.
//!
//! - `box_auth` (api.box.com): `token` (`POST /oauth2/token`), the Client
//!   Credentials Grant, minting access tokens (label `minted:box_access_token`).
//! - `box_api` (api.box.com/2.0): `list_folder_items`
//!   (`GET /folders/{id}/items`, offset and marker modes) and `download_file`
//!   (`GET /files/{id}/content`: 302 to the download host).
//! - `box_upload` (upload.box.com/api/2.0): `upload_file`
//!   (`POST /files/content`, multipart, attributes before file).
//! - `box_download` (dl.boxcloud.com): `download_content`
//!   (`GET /d/1/{capability}/download`), the pre-authorised link the 302
//!   points at; it refuses any request carrying `Authorization`.
//!
//! State: an upload is listed in its folder's items and downloadable after.

mod api;
mod auth;
mod download;
mod multipart;
mod upload;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) use api::BoxApi;
pub(crate) use auth::BoxAuth;
pub(crate) use download::BoxDownload;
pub(crate) use upload::BoxUpload;

use crate::config::{FakesConfig, FakesError};
use crate::error_shape::ProviderError;
use crate::synthetic;

pub const CLIENT_ID_BINDING: &str = "AGENCY_OS_BOX_CLIENT_ID";
pub const CLIENT_SECRET_BINDING: &str = "AGENCY_OS_BOX_CLIENT_SECRET";
pub const ENTERPRISE_ID_BINDING: &str = "AGENCY_OS_BOX_ENTERPRISE_ID";
/// The label the mint hook gets for each Box access token minted.
pub const MINTED_ACCESS_TOKEN_LABEL: &str = "minted:box_access_token";
/// Box's root folder ("All Files"), always present.
pub const ROOT_FOLDER_ID: &str = "0";

/// A folder the fake serves.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct BoxFolderFixture {
    /// Digits, unique among folders.
    pub id: String,
    pub name: String,
    /// Default: the root folder, `"0"`.
    #[serde(default = "root")]
    pub parent_id: String,
}

/// A file the fake serves (uploads add more).
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct BoxFileFixture {
    /// Digits, unique among files.
    pub id: String,
    pub name: String,
    /// Default: the root folder, `"0"`.
    #[serde(default = "root")]
    pub parent_id: String,
    /// The file's bytes, as text.
    pub content: String,
    /// Answer the first N content requests 202 + `Retry-After`: "not ready
    /// yet" (§2 endpoints table; checklist item 3).
    #[serde(default)]
    pub pending_downloads: u32,
}

fn root() -> String {
    ROOT_FOLDER_ID.into()
}

/// Everything [`FakesConfig`] holds for the Box fakes.
#[derive(Clone, Debug, Default)]
pub(crate) struct BoxSetup {
    pub folders: Vec<BoxFolderFixture>,
    pub files: Vec<BoxFileFixture>,
}

struct Folder {
    id: String,
    name: String,
    parent_id: Option<String>,
}

/// A file in the store.
#[derive(Clone)]
pub(crate) struct StoredFile {
    id: String,
    name: String,
    parent_id: String,
    content: Vec<u8>,
    version_id: String,
    created_at: String,
    content_created_at: String,
    content_modified_at: String,
    pending_downloads: u32,
}

/// What the four Box hosts share: folders, files, and live download links.
pub(crate) struct BoxStore {
    folders: BTreeMap<String, Folder>,
    files: Mutex<Vec<StoredFile>>,
    /// Download capability → file id.
    downloads: Mutex<HashMap<String, String>>,
    next_id: AtomicU64,
}

/// The app's Service Account: who a CCG enterprise token acts as (§2).
fn service_account() -> Value {
    json!({
        "type": "user",
        "id": "31000000001",
        "name": "Agency OS Service Account",
        "login": "AutomationUser_2100000_jessie@boxdevedition.com",
    })
}

impl BoxStore {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        let setup = &config.box_setup;
        let invalid = |kind, key: &str, reason| FakesError::InvalidFixture {
            kind,
            key: key.into(),
            reason,
        };
        let mut folders = BTreeMap::from([(
            ROOT_FOLDER_ID.to_owned(),
            Folder {
                id: ROOT_FOLDER_ID.into(),
                name: "All Files".into(),
                parent_id: None,
            },
        )]);
        for fixture in &setup.folders {
            if !is_box_id(&fixture.id) || fixture.id == ROOT_FOLDER_ID {
                return Err(invalid(
                    "Box folder",
                    &fixture.id,
                    "ids are digits, and 0 is the root",
                ));
            }
            let folder = Folder {
                id: fixture.id.clone(),
                name: fixture.name.clone(),
                parent_id: Some(fixture.parent_id.clone()),
            };
            if folders.insert(fixture.id.clone(), folder).is_some() {
                return Err(FakesError::DuplicateFixture {
                    kind: "Box folder",
                    key: fixture.id.clone(),
                });
            }
        }
        for folder in folders.values() {
            if let Some(parent) = &folder.parent_id {
                if !folders.contains_key(parent) {
                    return Err(invalid(
                        "Box folder",
                        &folder.id,
                        "its parent_id names no folder",
                    ));
                }
            }
        }
        let now = synthetic::now_seconds_utc();
        let mut files: Vec<StoredFile> = Vec::new();
        for fixture in &setup.files {
            if !is_box_id(&fixture.id) {
                return Err(invalid("Box file", &fixture.id, "ids are digits"));
            }
            if !folders.contains_key(&fixture.parent_id) {
                return Err(invalid(
                    "Box file",
                    &fixture.id,
                    "its parent_id names no folder",
                ));
            }
            if files.iter().any(|file| file.id == fixture.id) {
                return Err(FakesError::DuplicateFixture {
                    kind: "Box file",
                    key: fixture.id.clone(),
                });
            }
            files.push(StoredFile {
                id: fixture.id.clone(),
                name: fixture.name.clone(),
                parent_id: fixture.parent_id.clone(),
                content: fixture.content.clone().into_bytes(),
                version_id: version_id(&fixture.id),
                created_at: now.clone(),
                content_created_at: now.clone(),
                content_modified_at: now.clone(),
                pending_downloads: fixture.pending_downloads,
            });
        }
        Ok(BoxStore {
            folders,
            files: Mutex::new(files),
            downloads: Mutex::default(),
            next_id: AtomicU64::new(1_500_000_000_001),
        })
    }

    /// Every file, uploads included, in folder order.
    pub fn files(&self) -> Vec<StoredFile> {
        crate::lock(&self.files).clone()
    }

    fn folder_mini(&self, folder: &Folder) -> Value {
        json!({ "type": "folder", "id": folder.id, "sequence_id": "0", "etag": "0", "name": folder.name })
    }

    /// The folder's children: folders, then files, each by name (the `order` Items reports).
    fn children(&self, folder_id: &str) -> Vec<Value> {
        let mut folders: Vec<&Folder> = self
            .folders
            .values()
            .filter(|folder| folder.parent_id.as_deref() == Some(folder_id))
            .collect();
        folders.sort_by(|a, b| a.name.cmp(&b.name));
        let mut files: Vec<StoredFile> = self
            .files()
            .into_iter()
            .filter(|file| file.parent_id == folder_id)
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        folders
            .into_iter()
            .map(|folder| self.folder_mini(folder))
            .chain(files.iter().map(file_mini))
            .collect()
    }

    /// A File (full) as upload answers it, `path_collection` from the root down.
    fn file_full(&self, file: &StoredFile) -> Value {
        let mut path = Vec::new();
        let mut next = Some(file.parent_id.as_str());
        while let Some(id) = next {
            let folder = &self.folders[id];
            path.push(self.folder_mini(folder));
            next = folder.parent_id.as_deref();
        }
        path.reverse();
        let mut full = file_mini(file);
        let fields = json!({
            "description": "",
            "size": file.content.len(),
            "path_collection": { "total_count": path.len(), "entries": path },
            "created_at": file.created_at,
            "modified_at": file.created_at,
            "trashed_at": null,
            "purged_at": null,
            "content_created_at": file.content_created_at,
            "content_modified_at": file.content_modified_at,
            "created_by": service_account(),
            "modified_by": service_account(),
            "owned_by": service_account(),
            "parent": self.folder_mini(&self.folders[&file.parent_id]),
            "item_status": "active",
        });
        for (key, value) in fields.as_object().expect("an object literal") {
            full[key] = value.clone();
        }
        full
    }

    fn next_file_id(&self) -> String {
        self.next_id.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

fn file_mini(file: &StoredFile) -> Value {
    json!({
        "type": "file",
        "id": file.id,
        "sequence_id": "0",
        "etag": "0",
        "name": file.name,
        "file_version": { "type": "file_version", "id": file.version_id },
    })
}

fn version_id(file_id: &str) -> String {
    (1_600_000_000_000 + synthetic::stable_u64(&["box file version", file_id]) % 100_000_000_000)
        .to_string()
}

fn is_box_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit())
}

/// A ClientError (§2 "Error format") with Box's `code`.
fn client_error(status: u16, code: &'static str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(status, message).code(code)
}

fn not_found(kind: &str, id: &str) -> ProviderError {
    // [secondary] Box's 404 context_info, as Box SDK issues quote it.
    client_error(404, "not_found", "Not Found").context(json!({
        "errors": [{
            "reason": "invalid_parameter",
            "name": kind,
            "message": format!("Invalid value '{id}'. '{kind}' with value '{id}' not found"),
        }],
    }))
}

/// A file fake Box holds, as the harness reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxFile {
    pub id: String,
    pub name: String,
    pub parent_id: String,
    pub content: Vec<u8>,
}

impl BoxStore {
    pub fn public_files(&self) -> Vec<BoxFile> {
        self.files()
            .into_iter()
            .map(|file| BoxFile {
                id: file.id,
                name: file.name,
                parent_id: file.parent_id,
                content: file.content,
            })
            .collect()
    }
}
