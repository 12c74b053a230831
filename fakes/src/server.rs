//! The machinery every fake runs on: a [`Provider`] declares its endpoints,
//! credential checks, error shape and handlers; [`mount`] turns it into
//! wiremock mocks whose responders all run one pipeline:
//!
//! 1. count the request against its endpoint's fault, if any;
//! 2. a faulted status answers at once, in the provider's error shape;
//! 3. otherwise the credential checks run, then the provider's handler;
//! 4. the fault's delay / truncation / echo knobs shape the answer;
//! 5. the request and the status answered go into the journal.
//!
//! Requests no endpoint matches are journaled too and answered 404 in the
//! provider's shape.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::credential::{self, CredentialCheck};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::fault::{AppliedFault, FaultBook};
use crate::journal::Journal;

/// One route of a fake, named so faults and the journal can refer to it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub name: &'static str,
    pub method: &'static str,
    /// Relative to the provider's base path. A segment is literal, or
    /// `{param}` optionally followed by a literal suffix (`{id}:runReport`).
    pub path: &'static str,
}

pub(crate) trait Provider: Send + Sync + 'static {
    /// The fake's name in faults and the journal.
    const NAME: &'static str;
    /// The real base URL's path (e.g. `/api/1.0`), so the paths the runtime
    /// builds are the real ones.
    const BASE_PATH: &'static str;
    const ERROR_SHAPE: ErrorShape;
    const ENDPOINTS: &'static [Endpoint];

    /// The credentials `endpoint` requires, in the order the provider checks them.
    fn credential_checks(&self, endpoint: &'static str) -> &[CredentialCheck];

    /// Serves an authenticated request to `endpoint`.
    fn handle(
        &self,
        endpoint: &'static str,
        request: &Request,
        params: &PathParams,
    ) -> Result<Reply, ProviderError>;
}

/// A fake's name and endpoints, for validating faults before anything starts.
pub(crate) struct FakeEndpoints {
    pub name: &'static str,
    pub endpoints: &'static [Endpoint],
}

impl FakeEndpoints {
    pub const fn of<P: Provider>() -> Self {
        FakeEndpoints {
            name: P::NAME,
            endpoints: P::ENDPOINTS,
        }
    }
}

/// State shared by every server of one [`crate::Fakes`].
pub(crate) struct ServerContext {
    journal: Journal,
    faults: FaultBook,
}

impl ServerContext {
    pub fn new(journal: Journal, faults: FaultBook) -> Self {
        ServerContext { journal, faults }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}

/// A provider's successful answer.
pub(crate) struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    pub fn created(body: Value) -> Self {
        Reply {
            status: 201,
            body,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Path parameters captured by an endpoint's template.
pub(crate) struct PathParams(Vec<(String, String)>);

impl PathParams {
    /// Panics if the template has no such parameter: the handler and its
    /// endpoint's template disagree, a bug in the provider module.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("endpoint template has no parameter {name:?}"))
    }
}

/// Matches one endpoint's method and path template.
#[derive(Clone)]
struct Route {
    method: &'static str,
    template: String,
}

impl Route {
    fn new(base_path: &str, endpoint: &Endpoint) -> Self {
        Route {
            method: endpoint.method,
            template: format!("{base_path}{}", endpoint.path),
        }
    }

    fn params(&self, request: &Request) -> Option<PathParams> {
        if request.method.as_str() != self.method {
            return None;
        }
        let template: Vec<&str> = self.template.split('/').collect();
        let path: Vec<&str> = request.url.path().split('/').collect();
        if template.len() != path.len() {
            return None;
        }
        let mut params = Vec::new();
        for (pattern, segment) in template.iter().zip(&path) {
            match pattern
                .strip_prefix('{')
                .and_then(|rest| rest.split_once('}'))
            {
                Some((name, suffix)) => {
                    let value = segment
                        .strip_suffix(suffix)
                        .filter(|value| !value.is_empty())?;
                    params.push((name.to_owned(), value.to_owned()));
                }
                None if pattern == segment => {}
                None => return None,
            }
        }
        Some(PathParams(params))
    }
}

impl Match for Route {
    fn matches(&self, request: &Request) -> bool {
        self.params(request).is_some()
    }
}

/// The base URL to hand the runtime for provider `P` served by `server`.
pub(crate) fn base_url<P: Provider>(server: &MockServer) -> String {
    format!("{}{}", server.uri(), P::BASE_PATH)
}

/// Starts a server for `provider`.
pub(crate) async fn serve<P: Provider>(
    provider: Arc<P>,
    context: &Arc<ServerContext>,
) -> MockServer {
    let server = MockServer::start().await;
    mount(&server, provider, context).await;
    server
}

/// Mounts `provider`'s endpoints, and the catch-all for unrouted requests, on `server`.
pub(crate) async fn mount<P: Provider>(
    server: &MockServer,
    provider: Arc<P>,
    context: &Arc<ServerContext>,
) {
    for endpoint in P::ENDPOINTS {
        let route = Route::new(P::BASE_PATH, endpoint);
        let responder = EndpointResponder {
            provider: Arc::clone(&provider),
            endpoint,
            route: route.clone(),
            context: Arc::clone(context),
        };
        Mock::given(route)
            .respond_with(responder)
            .named(format!("{} {}", P::NAME, endpoint.name))
            .mount(server)
            .await;
    }
    let unrouted = Unrouted {
        fake: P::NAME,
        shape: P::ERROR_SHAPE,
        context: Arc::clone(context),
    };
    // Lowest priority: only requests no endpoint took reach it.
    Mock::given(any())
        .respond_with(unrouted)
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

struct EndpointResponder<P> {
    provider: Arc<P>,
    endpoint: &'static Endpoint,
    route: Route,
    context: Arc<ServerContext>,
}

impl<P: Provider> EndpointResponder<P> {
    fn answer(&self, request: &Request, fault: AppliedFault) -> Answer {
        let shape = P::ERROR_SHAPE;
        let checks = self.provider.credential_checks(self.endpoint.name);
        let mut answer = match fault.status {
            Some(status) => {
                let error = shape
                    .fault(status)
                    .presenting(credential::presented(checks, request));
                let mut answer = Answer::error(shape, &error, fault.echo_credential);
                if let Some(retry_after) = fault.retry_after {
                    answer.headers.push(("retry-after", retry_after));
                }
                answer.malformed_if(fault.malformed_body)
            }
            None => {
                let params = self
                    .route
                    .params(request)
                    .expect("wiremock routed a request its matcher rejects");
                let served = credential::authenticate(checks, request)
                    .and_then(|()| self.provider.handle(self.endpoint.name, request, &params));
                match served {
                    Ok(reply) => Answer::reply(reply).malformed_if(fault.malformed_body),
                    Err(error) => Answer::error(shape, &error, fault.echo_credential),
                }
            }
        };
        answer.delay = fault.delay;
        answer
    }
}

impl<P: Provider> Respond for EndpointResponder<P> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fault = self
            .context
            .faults
            .next(P::NAME, self.endpoint.name)
            .unwrap_or_default();
        let answer = self.answer(request, fault);
        self.context
            .journal
            .record(P::NAME, Some(self.endpoint.name), request, answer.status);
        answer.into_template()
    }
}

struct Unrouted {
    fake: &'static str,
    shape: ErrorShape,
    context: Arc<ServerContext>,
}

impl Respond for Unrouted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = Answer::error(self.shape, &self.shape.unrouted(request.url.path()), false);
        self.context
            .journal
            .record(self.fake, None, request, answer.status);
        answer.into_template()
    }
}

/// A response about to be sent.
struct Answer {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    delay: Option<Duration>,
}

impl Answer {
    fn reply(reply: Reply) -> Self {
        Answer {
            status: reply.status,
            body: reply.body.to_string().into_bytes(),
            headers: reply.headers,
            delay: None,
        }
    }

    fn error(shape: ErrorShape, error: &ProviderError, echo: bool) -> Self {
        let body = shape.render(error, echo).to_string().into_bytes();
        Answer {
            status: error.status,
            body,
            headers: Vec::new(),
            delay: None,
        }
    }

    /// Cuts the JSON body in half: an object missing its closing brace never parses.
    fn malformed_if(mut self, malformed: bool) -> Self {
        if malformed {
            self.body.truncate(self.body.len() / 2);
        }
        self
    }

    fn into_template(self) -> ResponseTemplate {
        let mut template =
            ResponseTemplate::new(self.status).set_body_raw(self.body, "application/json");
        for (name, value) in self.headers {
            template = template.insert_header(name, value.as_str());
        }
        match self.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}
