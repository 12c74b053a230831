//! Credential checks every fake shares: where a provider takes a credential,
//! what it accepts, and how it says no. Tokens minted at run time (Google
//! access tokens now, Box later) come from a [`TokenMint`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::Request;

use crate::config::{FakesConfig, FakesError};
use crate::error_shape::ProviderError;
use crate::server::{self, Reply};
use crate::synthetic;

/// A harness callback told about every credential a fake mints: (label, value).
pub(crate) type MintHook = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Where a request carries a credential (PROVIDER-NOTES cross-provider checklist, item 1).
#[derive(Clone, Copy, Debug)]
pub(crate) enum CredentialLocation {
    /// `Authorization: Bearer <credential>`.
    AuthorizationBearer,
    /// Another header holding `Bearer <credential>` (AI Gateway's `cf-aig-authorization`).
    BearerHeader(&'static str),
    /// A field of an `application/x-www-form-urlencoded` body (token endpoints).
    FormField(&'static str),
    /// `Authorization: <scheme> <credential>` for a scheme other than Bearer
    /// (AccuRanker's `Token`); the scheme matches case-insensitively.
    AuthorizationScheme(&'static str),
    /// The user-id half of `Authorization: Basic base64(user-id:password)`
    /// (RFC 7617, UTF-8): everything before the first `:` (DataForSEO's login).
    BasicUser,
    /// The password half of a Basic header: everything after the first `:`,
    /// so a password may itself hold `:` (DataForSEO's password).
    BasicPassword,
    /// A query-string parameter, percent-decoded (Semrush's `key`).
    QueryParam(&'static str),
    /// A header's whole value (Google Ads' `developer-token`, Harvest's `Harvest-Account-Id`).
    Header(&'static str),
    /// The first of these locations where the request presents anything
    /// (Meta's `access_token` query parameter or Bearer header).
    FirstOf(&'static [CredentialLocation]),
}

/// What a request presented at a [`CredentialLocation`].
enum Presented {
    Missing,
    Value(String),
    /// Something other than `Bearer <credential>` in a bearer header: never
    /// accepted, even if it contains the right value.
    Malformed(String),
}

impl CredentialLocation {
    /// Where a scanner of the wire sees this location, spelled as the
    /// harness's scan locations: `header <lowercase name>` (Bearer, Basic and
    /// scheme forms are all the `authorization` header), `query <name>`,
    /// `form <field>`. [`CredentialLocation::FirstOf`] is each of its places.
    fn places(self) -> Vec<String> {
        match self {
            CredentialLocation::AuthorizationBearer
            | CredentialLocation::AuthorizationScheme(_)
            | CredentialLocation::BasicUser
            | CredentialLocation::BasicPassword => vec!["header authorization".to_owned()],
            CredentialLocation::BearerHeader(name) | CredentialLocation::Header(name) => {
                vec![format!("header {}", name.to_ascii_lowercase())]
            }
            CredentialLocation::FormField(field) => vec![format!("form {field}")],
            CredentialLocation::QueryParam(name) => vec![format!("query {name}")],
            CredentialLocation::FirstOf(locations) => locations
                .iter()
                .flat_map(|location| location.places())
                .collect(),
        }
    }

    fn read(self, request: &Request) -> Presented {
        match self {
            CredentialLocation::AuthorizationBearer => read_bearer(request, "authorization"),
            CredentialLocation::BearerHeader(name) => read_bearer(request, name),
            CredentialLocation::FormField(name) => {
                server::form_field(request, name).map_or(Presented::Missing, Presented::Value)
            }
            CredentialLocation::AuthorizationScheme(scheme) => {
                read_scheme(request, "authorization", scheme)
            }
            CredentialLocation::BasicUser => read_basic(request, |user, _| user),
            CredentialLocation::BasicPassword => read_basic(request, |_, password| password),
            CredentialLocation::QueryParam(name) => {
                server::query_param(request, name).map_or(Presented::Missing, Presented::Value)
            }
            CredentialLocation::Header(name) => request
                .headers
                .get(name)
                .map_or(Presented::Missing, |value| {
                    Presented::Value(String::from_utf8_lossy(value.as_bytes()).into_owned())
                }),
            CredentialLocation::FirstOf(locations) => locations
                .iter()
                .map(|location| location.read(request))
                .find(|presented| !matches!(presented, Presented::Missing))
                .unwrap_or(Presented::Missing),
        }
    }
}

/// `<scheme> <credential>` in `header`; anything else there is malformed.
fn read_scheme(request: &Request, header: &str, scheme: &str) -> Presented {
    let Some(raw) = request.headers.get(header) else {
        return Presented::Missing;
    };
    let raw = String::from_utf8_lossy(raw.as_bytes()).into_owned();
    match raw.split_once(' ') {
        Some((presented, value)) if presented.eq_ignore_ascii_case(scheme) && !value.is_empty() => {
            Presented::Value(value.to_owned())
        }
        _ => Presented::Malformed(raw),
    }
}

/// One half of `Authorization: Basic …`, decoded as UTF-8 (RFC 7617 `charset=UTF-8`);
/// undecodable base64, non-UTF-8 or a missing `:` is malformed.
fn read_basic(request: &Request, half: fn(String, String) -> String) -> Presented {
    use base64::Engine;
    let encoded = match read_scheme(request, "authorization", "basic") {
        Presented::Value(encoded) => encoded,
        other => return other,
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded.as_deref().and_then(|pair| pair.split_once(':')) {
        Some((user, password)) => Presented::Value(half(user.to_owned(), password.to_owned())),
        None => Presented::Malformed(format!("Basic {encoded}")),
    }
}

fn read_bearer(request: &Request, header: &str) -> Presented {
    read_scheme(request, header, "bearer")
}

/// What a [`CredentialCheck`] accepts.
pub(crate) enum Accepts {
    /// Exactly the value seeded into `binding` (a canary).
    Value {
        binding: &'static str,
        value: String,
    },
    /// Any token this mint issued.
    MintedBy(Arc<TokenMint>),
}

impl Accepts {
    /// Exactly the value `config` seeds into `binding`.
    pub fn binding(config: &FakesConfig, binding: &'static str) -> Result<Self, FakesError> {
        Ok(Accepts::Value {
            binding,
            value: config.credential(binding)?,
        })
    }

    /// The canary label of what is accepted: the binding's name, or the
    /// mint's label (`minted:…`).
    fn label(&self) -> &'static str {
        match self {
            Accepts::Value { binding, .. } => binding,
            Accepts::MintedBy(mint) => mint.label,
        }
    }
}

/// One place a fake takes a credential: the fake's name (as in
/// [`crate::RecordedRequest::fake`]), the place on the wire (spelled
/// `header <lowercase name>`, `query <name>` or `form <field>`), and the
/// canary label accepted there (a binding name, or a mint's `minted:…` label).
///
/// Listed by [`crate::Fakes::credential_places`], derived from the very
/// checks the fakes enforce, so a scanner can tell a credential where its
/// provider takes it from a leak.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialPlace {
    pub fake: &'static str,
    pub place: String,
    pub label: &'static str,
}

/// Every place `checks` take a credential, for fake `fake`.
pub(crate) fn places<'a>(
    fake: &'static str,
    checks: &'a [CredentialCheck],
) -> impl Iterator<Item = CredentialPlace> + 'a {
    checks.iter().flat_map(move |check| {
        let label = check.accepts.label();
        check
            .location
            .places()
            .into_iter()
            .map(move |place| CredentialPlace { fake, place, label })
    })
}

/// One credential a request must carry, and the provider's answers when it does not.
pub(crate) struct CredentialCheck {
    pub location: CredentialLocation,
    pub accepts: Accepts,
    pub when_missing: ProviderError,
    pub when_wrong: ProviderError,
}

impl CredentialCheck {
    /// A check whose missing and wrong answers are the same (e.g. Asana's "Not Authorized").
    pub fn new(location: CredentialLocation, accepts: Accepts, rejection: ProviderError) -> Self {
        CredentialCheck {
            location,
            accepts,
            when_missing: rejection.clone(),
            when_wrong: rejection,
        }
    }

    /// A token endpoint's form field `field`, which must hold `binding`'s
    /// value (Google's and Box's client id and secret).
    pub fn form_field(
        config: &FakesConfig,
        field: &'static str,
        binding: &'static str,
        when_wrong: ProviderError,
        when_missing: ProviderError,
    ) -> Result<Self, FakesError> {
        Ok(CredentialCheck::new(
            CredentialLocation::FormField(field),
            Accepts::binding(config, binding)?,
            when_wrong,
        )
        .when_missing(when_missing))
    }

    pub fn when_missing(mut self, rejection: ProviderError) -> Self {
        self.when_missing = rejection;
        self
    }

    fn accepts(&self, value: &str) -> bool {
        match &self.accepts {
            Accepts::Value {
                value: expected, ..
            } => expected == value,
            Accepts::MintedBy(mint) => mint.issued(value),
        }
    }
}

/// Runs `checks` in order (the order the real provider checks them); the first
/// failure is the answer, carrying what was presented in case it is echoed.
pub(crate) fn authenticate(
    checks: &[CredentialCheck],
    request: &Request,
) -> Result<(), ProviderError> {
    for check in checks {
        match check.location.read(request) {
            Presented::Missing => return Err(check.when_missing.clone()),
            Presented::Value(value) if check.accepts(&value) => {}
            Presented::Value(value) | Presented::Malformed(value) => {
                return Err(check.when_wrong.clone().presenting(Some(value)));
            }
        }
    }
    Ok(())
}

/// Everything `checks` would read from `request`, joined by spaces; `None`
/// when nothing was presented. A faulted answer echoes this.
pub(crate) fn presented(checks: &[CredentialCheck], request: &Request) -> Option<String> {
    let values: Vec<String> = checks
        .iter()
        .filter_map(|check| match check.location.read(request) {
            Presented::Missing => None,
            Presented::Value(value) | Presented::Malformed(value) => Some(value),
        })
        .collect();
    (!values.is_empty()).then(|| values.join(" "))
}

/// A token endpoint's `grant_type` check: the form must ask for `expected`;
/// anything else (what was sent, empty if nothing) gets `unsupported`'s answer.
pub(crate) fn require_grant_type(
    request: &Request,
    expected: &str,
    unsupported: impl FnOnce(&str) -> ProviderError,
) -> Result<(), ProviderError> {
    match server::form_field(request, "grant_type").unwrap_or_default() {
        grant_type if grant_type == expected => Ok(()),
        grant_type => Err(unsupported(&grant_type)),
    }
}

/// Issues fresh access tokens, remembers them for the fakes that accept them,
/// and tells the harness about each one before it is sent.
pub(crate) struct TokenMint {
    label: &'static str,
    prefix: &'static str,
    issued: Mutex<HashSet<String>>,
    hooks: Vec<MintHook>,
}

impl TokenMint {
    /// Tokens `prefix` + 256 random bits, URL-safe (the design asks ≥ 96 bits
    /// for canaries), announced to `hooks` under `label`.
    pub fn new(label: &'static str, prefix: &'static str, hooks: Vec<MintHook>) -> Self {
        TokenMint {
            label,
            prefix,
            issued: Mutex::default(),
            hooks,
        }
    }

    pub fn mint(&self) -> String {
        let token = format!("{}{}", self.prefix, synthetic::random_url_safe(32));
        crate::lock(&self.issued).insert(token.clone());
        for hook in &self.hooks {
            hook(self.label, &token);
        }
        token
    }

    /// A token endpoint's answer: a fresh token as `access_token` (a canary
    /// before it is sent, see [`TokenMint::mint`]), its `expires_in` and
    /// `token_type`, and the provider's own `extra` field.
    pub fn token_reply(&self, expires_in: u64, token_type: &str, extra: (&str, Value)) -> Reply {
        let mut body = json!({
            "access_token": self.mint(),
            "expires_in": expires_in,
            "token_type": token_type,
        });
        body[extra.0] = extra.1;
        Reply::ok(body)
    }

    fn issued(&self, token: &str) -> bool {
        crate::lock(&self.issued).contains(token)
    }
}
