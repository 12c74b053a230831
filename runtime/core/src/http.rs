//! Plain HTTP values crossing the HTTP seam, in both directions.

use std::fmt;

use secrecy::SecretString;

use crate::redact::Sanitized;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// An outbound request. It is the one value that legitimately carries a credential (a header,
/// a form field), so its `Debug` shows only the method and the path.
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn new(method: Method, url: impl Into<String>) -> HttpRequest {
        HttpRequest { method, url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn json(self, body: &serde_json::Value) -> HttpRequest {
        let mut request = self.header("content-type", "application/json");
        request.body = serde_json::to_vec(body).expect("a JSON value always serializes");
        request
    }

    pub fn form(self, fields: &[(&str, &str)]) -> HttpRequest {
        let mut request = self.header("content-type", "application/x-www-form-urlencoded");
        request.body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
        request
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), path_without_query(&self.url))
    }
}

/// The path of a URL, with no scheme, host or query string: what a trace may say about a call.
pub fn path_without_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

fn form_encode(text: &str) -> String {
    const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'*');
    percent_encoding::utf8_percent_encode(text, FORM).to_string().replace("%20", "+")
}

/// A response from a provider. Bodies are raw provider payloads: never stored as they are.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A request arriving at the Worker.
pub struct InboundRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl InboundRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The Worker's answer. The body is sanitized; the only credential that may leave is the
/// handshake's `X-Hook-Secret` echo, which the platform layer turns into that one header.
pub struct InboundResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Sanitized,
    pub hook_secret_echo: Option<SecretString>,
}

impl InboundResponse {
    pub fn json(status: u16, body: Sanitized) -> InboundResponse {
        InboundResponse { status, content_type: "application/json", body, hook_secret_echo: None }
    }

    /// Status, headers and body as they go on the wire: the one place the echo becomes a header.
    pub fn into_wire(self) -> (u16, Vec<(String, String)>, String) {
        use secrecy::ExposeSecret;
        let mut headers = vec![("content-type".to_owned(), self.content_type.to_owned())];
        if let Some(secret) = &self.hook_secret_echo {
            headers.push(("x-hook-secret".to_owned(), secret.expose_secret().to_owned()));
        }
        (self.status, headers, self.body.into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_paths_drop_host_and_query() {
        assert_eq!(path_without_query("https://x.test/a/b?key=1#f"), "/a/b");
        assert_eq!(path_without_query("http://127.0.0.1:9/"), "/");
        assert_eq!(path_without_query("https://x.test"), "/");
    }

    #[test]
    fn form_fields_are_encoded() {
        let request = HttpRequest::new(Method::Post, "http://x/token").form(&[("a b", "c&d=/+")]);
        assert_eq!(request.body, b"a+b=c%26d%3D%2F%2B");
        assert_eq!(format!("{request:?}"), "POST /token");
    }
}
