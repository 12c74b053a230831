//! `dl.boxcloud.com`: where file content's 302 points (PROVIDER-NOTES §2).
//!
//! Endpoint: `download_content` (`GET /d/1/{capability}/download`). The link
//! itself is the authorisation, so there is no credential check; a request
//! carrying `Authorization` is refused, so a client that forwards the Box
//! token to the download host fails loudly here.

use std::sync::Arc;

use wiremock::Request;

use crate::credential::CredentialCheck;
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};

use super::{client_error, BoxStore};

const DOWNLOAD_CONTENT: &str = "download_content";

pub(crate) struct BoxDownload {
    store: Arc<BoxStore>,
}

impl BoxDownload {
    pub fn new(store: Arc<BoxStore>) -> Self {
        BoxDownload { store }
    }
}

impl Provider for BoxDownload {
    const NAME: &'static str = "box_download";
    const BASE_PATH: &'static str = "";
    const ERROR_SHAPE: ErrorShape = ErrorShape::Box;
    const ENDPOINTS: &'static [Endpoint] = &[Endpoint {
        name: DOWNLOAD_CONTENT,
        method: "GET",
        path: "/d/1/{capability}/download",
    }];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &[]
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        assert_eq!(endpoint, DOWNLOAD_CONTENT, "box_download has one endpoint");
        if request.headers.contains_key("authorization") {
            // The fake's own rule (real behaviour unrecorded): the token must not travel here.
            return Err(client_error(
                400,
                "bad_request",
                "The download link is pre-authorised: requests to the download host must not carry an Authorization header",
            ));
        }
        let file_id = crate::lock(&self.store.downloads)
            .get(params.get("capability"))
            .cloned()
            .ok_or_else(|| client_error(404, "not_found", "Not Found"))?;
        let file = self
            .store
            .files()
            .into_iter()
            .find(|file| file.id == file_id)
            .ok_or_else(|| client_error(404, "not_found", "Not Found"))?;
        let disposition = format!(
            "attachment;filename=\"{}\";filename*=UTF-8''{}",
            file.name.replace('"', ""),
            percent_encode(&file.name)
        );
        Ok(Reply::raw(200, "application/octet-stream", file.content)
            .header("content-disposition", disposition))
    }
}

/// RFC 5987 `attr-char`s stay, everything else is `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'&'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
