//! Fake Cloudflare Browser Run (Browser Rendering) quick actions
//! (PROVIDER-NOTES §6a, envelope §6b).
//!
//! Endpoints, under `/client/v4` and behind
//! `Authorization: Bearer <AGENCY_OS_CLOUDFLARE_BROWSER_RUN_API_TOKEN>`:
//! `content`, `markdown` and `screenshot`
//! (`POST /accounts/{account_id}/browser-rendering/{content|markdown|screenshot}`).
//! The body needs exactly one of `url` (http or https) or `html`.
//!
//! The fake never fetches `url`: it renders a synthetic page that depends
//! only on the URL (or renders the `html` given). `content` and `markdown`
//! answer the v4 envelope `{success:true, errors:[], meta:{status,title},
//! result:"…"}`; `screenshot` answers raw `image/png` bytes (a real PNG,
//! colour derived from the page) on success and the v4 failure envelope on
//! failure. A wrong or missing token is HTTP 403 with code 10000
//! "Authentication error" (§6b, verified).

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::{json, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::credential::{Accepts, CredentialCheck, CredentialLocation};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::server::{Endpoint, PathParams, Provider, Reply};
use crate::synthetic;

pub const API_TOKEN_BINDING: &str = "AGENCY_OS_CLOUDFLARE_BROWSER_RUN_API_TOKEN";

const CONTENT: &str = "content";
const MARKDOWN: &str = "markdown";
const SCREENSHOT: &str = "screenshot";

/// The screenshot's size in pixels: tiny, whatever the viewport asks.
const SCREENSHOT_WIDTH: u32 = 32;
const SCREENSHOT_HEIGHT: u32 = 20;

pub(crate) struct BrowserRun {
    auth: [CredentialCheck; 1],
}

impl BrowserRun {
    pub fn new(config: &FakesConfig) -> Result<Self, FakesError> {
        Ok(BrowserRun {
            auth: [CredentialCheck::new(
                CredentialLocation::AuthorizationBearer,
                Accepts::binding(config, API_TOKEN_BINDING)?,
                // §6b verified: HTTP 403, code 10000 (the shape derives the code).
                ProviderError::new(403, "Authentication error"),
            )],
        })
    }
}

impl Provider for BrowserRun {
    const NAME: &'static str = "browser_run";
    const BASE_PATH: &'static str = "/client/v4";
    const ERROR_SHAPE: ErrorShape = ErrorShape::CloudflareV4;
    const ENDPOINTS: &'static [Endpoint] = &[
        Endpoint {
            name: CONTENT,
            method: "POST",
            path: "/accounts/{account_id}/browser-rendering/content",
        },
        Endpoint {
            name: MARKDOWN,
            method: "POST",
            path: "/accounts/{account_id}/browser-rendering/markdown",
        },
        Endpoint {
            name: SCREENSHOT,
            method: "POST",
            path: "/accounts/{account_id}/browser-rendering/screenshot",
        },
    ];

    fn credential_checks(&self, _endpoint: &'static str) -> &[CredentialCheck] {
        &self.auth
    }

    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        _params: &PathParams,
    ) -> Result<Reply, ProviderError> {
        // [unverified] wordings of the 400s (the shape's code for 400 is a placeholder).
        let body: Value = request
            .body_json()
            .map_err(|error| ProviderError::new(400, format!("Invalid request body: {error}")))?;
        let page = Page::from_request(&body)?;
        match endpoint {
            CONTENT => Ok(Reply::ok(success(&page, json!(page.html)))),
            MARKDOWN => Ok(Reply::ok(success(&page, json!(page.markdown())))),
            SCREENSHOT => {
                let kind = body
                    .pointer("/screenshotOptions/type")
                    .and_then(Value::as_str)
                    .unwrap_or("png");
                if kind != "png" {
                    return Err(ProviderError::new(
                        400,
                        format!("screenshotOptions.type {kind:?} is not supported by this fake (png only)"),
                    ));
                }
                let seed = synthetic::stable_u64(&["browser_run", &page.html]);
                let [red, green, blue, ..] = seed.to_be_bytes();
                Ok(Reply::raw(
                    200,
                    "image/png",
                    png(SCREENSHOT_WIDTH, SCREENSHOT_HEIGHT, [red, green, blue]),
                ))
            }
            _ => unreachable!("{endpoint} is not a Browser Run endpoint"),
        }
    }
}

/// §6a: `{"success":true,"errors":[],"meta":{"status","title"},"result":…}`.
fn success(page: &Page, result: Value) -> Value {
    json!({
        "success": true,
        "errors": [],
        "meta": { "status": 200, "title": page.title },
        "result": result,
    })
}

/// What the fake renders: the page's HTML and title.
struct Page {
    html: String,
    title: String,
}

impl Page {
    fn from_request(body: &Value) -> Result<Page, ProviderError> {
        let field = |name: &str| body.get(name).and_then(Value::as_str);
        match (field("url"), field("html")) {
            (Some(_), Some(_)) => Err(ProviderError::new(
                400,
                "Only one of url or html may be given",
            )),
            (None, None) => Err(ProviderError::new(400, "One of url or html is required")),
            (None, Some(html)) => Ok(Page {
                title: between(html, "<title>", "</title>")
                    .unwrap_or_default()
                    .to_owned(),
                html: html.to_owned(),
            }),
            (Some(url), None) => {
                let host = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"))
                    .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(rest))
                    .filter(|host| !host.is_empty())
                    .ok_or_else(|| {
                        ProviderError::new(400, format!("url {url:?} is not an http(s) URL"))
                    })?;
                let title = format!("{host} | Home");
                let escaped = escape(url);
                Ok(Page {
                    html: format!(
                        "<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{host}</h1><p>A synthetic page rendered for {escaped}.</p></body></html>"
                    ),
                    title,
                })
            }
        }
    }

    /// Headings become `#` lines, paragraphs blocks, other tags drop out.
    fn markdown(&self) -> String {
        let body = between(&self.html, "<body>", "</body>").unwrap_or(&self.html);
        let mut markdown = String::new();
        let mut rest = body;
        while let Some(start) = rest.find('<') {
            markdown.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('>') else {
                break;
            };
            let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
            match tag.as_str() {
                "h1" => markdown.push_str("# "),
                "h2" => markdown.push_str("## "),
                "h3" => markdown.push_str("### "),
                "/h1" | "/h2" | "/h3" | "/p" => markdown.push_str("\n\n"),
                "br" | "br/" | "br /" => markdown.push('\n'),
                _ => {}
            }
            rest = &rest[start + end + 1..];
        }
        markdown.push_str(rest);
        markdown.trim().to_owned()
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A valid PNG: 8-bit RGB, one colour.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    // Each row: filter type 0 (None), then the pixels.
    let row: Vec<u8> = std::iter::once(0)
        .chain(rgb.iter().copied().cycle().take(3 * width as usize))
        .collect();
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
    zlib.write_all(&row.repeat(height as usize))
        .expect("writing to a Vec never fails");
    let zlib = zlib.finish().expect("writing to a Vec never fails");

    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", header.as_slice()),
        (b"IDAT", &zlib),
        (b"IEND", &[]),
    ] {
        png.extend_from_slice(
            &u32::try_from(data.len())
                .expect("small chunks")
                .to_be_bytes(),
        );
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    }
    png
}
