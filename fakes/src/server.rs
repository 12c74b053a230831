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
//!
//! Each fake listens through a [`Listening`]: on a fixed loopback port when
//! the config names one, and behind the wire-fault proxy
//! (`crate::wire_faults`) when one of its faults cuts answers on the wire.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::config::FakesError;
use crate::credential::{self, CredentialCheck, CredentialPlace};
use crate::error_shape::{ErrorShape, ProviderError};
use crate::fault::{AppliedFault, FaultBook, WireFault};
use crate::journal::Journal;
use crate::wire_faults::{self, WireProxy};

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

    /// The error an injected fault with `status` answers with; `retry_after`
    /// is the fault's knob (already filtered to 429/503). The default is the
    /// shape's [`ErrorShape::fault`]; a provider overrides it to say what the
    /// shape cannot know (Meta's usage headers, from the request's ad account).
    fn fault_error(
        &self,
        status: u16,
        retry_after: Option<&str>,
        request: &Request,
    ) -> ProviderError {
        let _ = (retry_after, request);
        Self::ERROR_SHAPE.fault(status)
    }
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
    /// Fixed ports not yet taken by a server, by server key.
    ports: Mutex<BTreeMap<String, u16>>,
    /// Where every mounted endpoint takes its credentials.
    credential_places: Mutex<BTreeSet<CredentialPlace>>,
}

impl ServerContext {
    pub fn new(journal: Journal, faults: FaultBook) -> Self {
        ServerContext {
            journal,
            faults,
            ports: Mutex::default(),
            credential_places: Mutex::default(),
        }
    }

    /// Servers whose key is in `ports` listen on that loopback port.
    pub fn with_ports(self, ports: BTreeMap<String, u16>) -> Self {
        ServerContext {
            ports: Mutex::new(ports),
            ..self
        }
    }

    /// Every place a mounted endpoint takes a credential, sorted.
    pub fn credential_places(&self) -> Vec<CredentialPlace> {
        crate::lock(&self.credential_places)
            .iter()
            .cloned()
            .collect()
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Fails if a fixed port was configured for a key no server took.
    pub fn check_ports_taken(&self) -> Result<(), FakesError> {
        match crate::lock(&self.ports).keys().next() {
            Some(key) => Err(FakesError::UnknownPortKey { key: key.clone() }),
            None => Ok(()),
        }
    }
}

/// A provider's successful answer.
pub(crate) struct Reply {
    status: u16,
    body: ReplyBody,
    headers: Vec<(&'static str, String)>,
}

enum ReplyBody {
    Json(Value),
    /// Bytes with their own `Content-Type` (Semrush's CSV, a PNG screenshot).
    Raw {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply::json(200, body)
    }

    pub fn created(body: Value) -> Self {
        Reply::json(201, body)
    }

    /// A JSON answer with any status: a provider body the error shape does not
    /// cover (Asana's 412 carrying a fresh `sync`).
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: ReplyBody::Json(body),
            headers: Vec::new(),
        }
    }

    /// A JSON answer already serialized (a cached rendering).
    pub fn serialized(status: u16, json: Vec<u8>) -> Self {
        Reply::raw(status, "application/json", json)
    }

    /// A non-JSON answer: `bytes` sent as `content_type`.
    pub fn raw(status: u16, content_type: &'static str, bytes: Vec<u8>) -> Self {
        Reply {
            status,
            body: ReplyBody::Raw {
                content_type,
                bytes,
            },
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

/// The first value of field `name` of an `application/x-www-form-urlencoded`
/// body, percent-decoded.
pub(crate) fn form_field(request: &Request, name: &str) -> Option<String> {
    form_urlencoded::parse(&request.body)
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.into_owned())
}

/// Every query parameter of `request`, percent-decoded, in order: for
/// handlers that read several (look one up with [`param`]).
pub(crate) fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request.url.query_pairs().into_owned().collect()
}

/// The first value of `name` among decoded query `pairs`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The first value of query parameter `name`, percent-decoded.
pub(crate) fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(param, _)| param == name)
        .map(|(_, value)| value.into_owned())
}

/// Matches one endpoint's method and path template.
#[derive(Clone)]
struct Route {
    method: &'static str,
    segments: Vec<Segment>,
}

/// One `/`-separated piece of a path template, parsed once at mount time:
/// matching a request allocates nothing until it has matched.
#[derive(Clone)]
enum Segment {
    Literal(String),
    /// `{name}` followed by a literal `suffix` (often empty): `{id}:runReport`.
    Param {
        name: String,
        suffix: String,
    },
}

impl Route {
    fn new(base_path: &str, endpoint: &Endpoint) -> Self {
        let segments = format!("{base_path}{}", endpoint.path)
            .split('/')
            .map(|pattern| {
                match pattern
                    .strip_prefix('{')
                    .and_then(|rest| rest.split_once('}'))
                {
                    Some((name, suffix)) => Segment::Param {
                        name: name.to_owned(),
                        suffix: suffix.to_owned(),
                    },
                    None => Segment::Literal(pattern.to_owned()),
                }
            })
            .collect();
        Route {
            method: endpoint.method,
            segments,
        }
    }

    /// The parameters' values, borrowed from the path, if `request` matches.
    fn captures<'a>(&'a self, request: &'a Request) -> Option<Vec<(&'a str, &'a str)>> {
        if request.method.as_str() != self.method {
            return None;
        }
        let mut path = request.url.path().split('/');
        let mut captures = Vec::new();
        for segment in &self.segments {
            let actual = path.next()?;
            match segment {
                Segment::Literal(literal) if literal == actual => {}
                Segment::Literal(_) => return None,
                Segment::Param { name, suffix } => {
                    let value = actual
                        .strip_suffix(suffix.as_str())
                        .filter(|value| !value.is_empty())?;
                    captures.push((name.as_str(), value));
                }
            }
        }
        path.next().is_none().then_some(captures)
    }

    fn params(&self, request: &Request) -> Option<PathParams> {
        let captures = self.captures(request)?;
        Some(PathParams(
            captures
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        ))
    }
}

impl Match for Route {
    fn matches(&self, request: &Request) -> bool {
        self.captures(request).is_some()
    }
}

/// One fake's server as the runtime reaches it: the MockServer, behind the
/// wire-fault proxy when the fake has a wire fault. Dropping it stops both.
pub(crate) struct Listening {
    /// Always `Some` until dropped.
    server: Option<MockServer>,
    /// `http://127.0.0.1:<port>` of what the runtime connects to.
    origin: String,
    _proxy: Option<WireProxy>,
}

impl Listening {
    fn new(server: MockServer, origin: String, proxy: Option<WireProxy>) -> Self {
        Listening {
            server: Some(server),
            origin,
            _proxy: proxy,
        }
    }

    pub fn server(&self) -> &MockServer {
        self.server
            .as_ref()
            .expect("a Listening holds its server until dropped")
    }
}

impl Drop for Listening {
    /// wiremock's `MockServer::drop` blocks on an async `verify()` that takes
    /// tokio locks. On a runtime thread whose task has used up its coop
    /// budget (right after `Fakes::start` mounted every endpoint, say, when a
    /// later step fails), tokio defers the lock's wake-up to a scheduler that
    /// never runs again: a deadlock. Off the runtime there is no budget.
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(move || drop(server)).join();
        } else {
            drop(server);
        }
    }
}

/// Binds a server for provider `P` (keyed by its name).
pub(crate) async fn listen<P: Provider>(
    context: &Arc<ServerContext>,
) -> Result<Listening, FakesError> {
    listen_as(P::NAME, P::NAME, context).await
}

/// Binds a server under `key` (its fixed port's key) for fake `fake` (whose
/// faults decide whether the wire-fault proxy sits in front).
pub(crate) async fn listen_as(
    key: &str,
    fake: &str,
    context: &Arc<ServerContext>,
) -> Result<Listening, FakesError> {
    let port = crate::lock(&context.ports).remove(key).unwrap_or(0);
    let bind = |port: u16| {
        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|source| FakesError::Bind {
            key: key.to_owned(),
            port,
            source,
        })
    };
    let public = bind(port)?;
    let start = |listener| {
        // Our journal records every request; wiremock's own recording would only grow.
        MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
    };
    if context.faults.cuts_on_the_wire(fake) {
        let server = start(bind(0)?).await;
        let proxy =
            WireProxy::start(public, *server.address()).map_err(|source| FakesError::Bind {
                key: key.to_owned(),
                port,
                source,
            })?;
        Ok(Listening::new(
            server,
            format!("http://{}", proxy.address()),
            Some(proxy),
        ))
    } else {
        let server = start(public).await;
        let origin = server.uri();
        Ok(Listening::new(server, origin, None))
    }
}

/// The base URL to hand the runtime for provider `P` served by `listening`.
pub(crate) fn base_url<P: Provider>(listening: &Listening) -> String {
    format!("{}{}", listening.origin, P::BASE_PATH)
}

/// Starts a server for `provider`.
pub(crate) async fn serve<P: Provider>(
    provider: Arc<P>,
    context: &Arc<ServerContext>,
) -> Result<Listening, FakesError> {
    let listening = listen::<P>(context).await?;
    mount(listening.server(), provider, context).await;
    Ok(listening)
}

/// Mounts `provider`'s endpoints, and the catch-all for unrouted requests, on `server`.
pub(crate) async fn mount<P: Provider>(
    server: &MockServer,
    provider: Arc<P>,
    context: &Arc<ServerContext>,
) {
    for endpoint in P::ENDPOINTS {
        crate::lock(&context.credential_places).extend(credential::places(
            P::NAME,
            provider.credential_checks(endpoint.name),
        ));
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
                let error = self
                    .provider
                    .fault_error(status, fault.retry_after.as_deref(), request)
                    .presenting(credential::presented(checks, request));
                let mut answer = Answer::error(shape, &error, fault.echo_credential);
                answer.wire = fault.wire;
                if let Some(retry_after) = fault.retry_after.filter(|_| shape.sends_retry_after()) {
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
                let mut answer = match served {
                    Ok(reply) => Answer::reply(reply).malformed_if(fault.malformed_body),
                    Err(error) => Answer::error(shape, &error, fault.echo_credential),
                };
                answer.wire = fault.wire;
                answer
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
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    delay: Option<Duration>,
    /// Cut on the wire by the proxy in front (see `crate::wire_faults`).
    wire: Option<WireFault>,
}

impl Answer {
    fn reply(reply: Reply) -> Self {
        let (body, content_type) = match reply.body {
            ReplyBody::Json(body) => (
                serde_json::to_vec(&body).expect("a JSON value always serializes"),
                "application/json",
            ),
            ReplyBody::Raw {
                content_type,
                bytes,
            } => (bytes, content_type),
        };
        Answer {
            status: reply.status,
            body,
            content_type,
            headers: reply.headers,
            delay: None,
            wire: None,
        }
    }

    fn error(shape: ErrorShape, error: &ProviderError, echo: bool) -> Self {
        let (body, content_type) = shape.render_body(error, echo);
        Answer {
            status: error.status,
            body,
            content_type,
            headers: error.headers.clone(),
            delay: None,
            wire: None,
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
            ResponseTemplate::new(self.status).set_body_raw(self.body, self.content_type);
        for (name, value) in self.headers {
            template = template.insert_header(name, value.as_str());
        }
        if let Some(wire) = self.wire {
            template = template.insert_header(wire_faults::MARKER_HEADER, wire.marker());
        }
        match self.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}
