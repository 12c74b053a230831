//! The journal: every request every fake received, as the harness scans it.

use std::sync::{Arc, Mutex};

use wiremock::Request;

/// One request a fake received, and the status it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The fake's name, as in a [`crate::FaultSpec`]: `"asana"`, `"google_oauth"`,
    /// `"ga4"`, `"ai_gateway"`, `"box_api"`, `"meta"`, ….
    pub fake: &'static str,
    /// The endpoint name it was routed to; `None` when no endpoint matched.
    pub endpoint: Option<&'static str>,
    pub method: String,
    /// The path as sent (still percent-encoded).
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-case, values as sent (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
}

/// Shared by every fake of one [`crate::Fakes`], so arrival order spans fakes.
#[derive(Clone, Default)]
pub(crate) struct Journal(Arc<Mutex<Vec<RecordedRequest>>>);

impl Journal {
    pub fn record(
        &self,
        fake: &'static str,
        endpoint: Option<&'static str>,
        request: &Request,
        status: u16,
    ) {
        let entry = RecordedRequest {
            fake,
            endpoint,
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request
                .url
                .query_pairs()
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: request.body.clone(),
            status,
        };
        crate::lock(&self.0).push(entry);
    }

    pub fn entries(&self) -> Vec<RecordedRequest> {
        crate::lock(&self.0).clone()
    }
}
