use agency_core::http::{HttpRequest, HttpResponse, Method};
use agency_core::platform::{HttpClient, TransportError};
use async_trait::async_trait;

/// Outbound HTTP over reqwest (plain HTTP: natively the runtime talks to loopback fakes).
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    pub fn new() -> ReqwestClient {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a plain reqwest client always builds");
        ReqwestClient { client }
    }
}

impl Default for ReqwestClient {
    fn default() -> Self {
        ReqwestClient::new()
    }
}

#[async_trait(?Send)]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        // reqwest's error text can include the URL (and so a query-string key): keep the kind only.
        let describe = |e: reqwest::Error| {
            TransportError(
                if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "connection failed"
                } else if e.is_body() || e.is_decode() {
                    "response body interrupted"
                } else {
                    "request failed"
                }
                .to_owned(),
            )
        };
        let response = builder.send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = response.bytes().await.map_err(describe)?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }
}
