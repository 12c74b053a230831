//! What the harness hands [`crate::Fakes::start`]: credentials, fixtures, faults, hooks.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::box_api::{BoxFileFixture, BoxFolderFixture, BoxSetup};
use crate::credential::MintHook;
use crate::fault::FaultSpec;
use crate::google_ads::{GoogleAdsFixture, GoogleAdsSetup};
use crate::harvest::HarvestFixture;
use crate::meta::{MetaAdAccountFixture, MetaSetup};
use crate::pagespeed::PageSpeedSetup;

/// A by-value builder for every fake's configuration.
#[derive(Clone)]
pub struct FakesConfig {
    pub(crate) credentials: BTreeMap<String, String>,
    pub(crate) agent: Agent,
    pub(crate) tasks: Vec<TaskFixture>,
    pub(crate) ga4_properties: Vec<(String, Ga4Fixture)>,
    pub(crate) faults: Vec<FaultSpec>,
    pub(crate) mint_hooks: Vec<MintHook>,
    /// Fixed loopback ports by server key (a fake's name, or a `BaseUrls` field).
    pub(crate) ports: BTreeMap<String, u16>,
    pub(crate) asana_webhooks: AsanaWebhookOptions,
    pub(crate) box_setup: BoxSetup,
    pub(crate) google_ads: GoogleAdsSetup,
    pub(crate) pagespeed: PageSpeedSetup,
    pub(crate) meta: MetaSetup,
    pub(crate) harvest: HarvestFixture,
}

/// How fake Asana's `POST /webhooks` treats targets and its answer.
#[derive(Clone, Debug, Default)]
pub struct AsanaWebhookOptions {
    /// Real Asana answers 403 for invalid targets "such as localhost"
    /// (PROVIDER-NOTES §1). The harness's receivers *are* loopback, so by
    /// default the fake accepts loopback targets (`127.0.0.0/8`, `[::1]`,
    /// `localhost`) and answers 403 for every other host, without ever
    /// connecting to it. `true` applies the real rule: loopback targets get
    /// 403 too (so every target does: the fake never leaves loopback).
    pub reject_loopback_targets: bool,
    /// Put the handshake secret in the 201 body as a top-level
    /// `"X-Hook-Secret"` member, as Asana's docs example does (§1 step 5).
    pub secret_in_create_response: bool,
}

/// The Asana user the agent's PAT belongs to.
#[derive(Clone, Debug)]
pub(crate) struct Agent {
    pub gid: String,
    pub name: String,
}

/// An Asana task the fake serves.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct TaskFixture {
    pub gid: String,
    pub name: String,
    pub assignee_gid: Option<String>,
    #[serde(default)]
    pub completed: bool,
    #[serde(default)]
    pub project_gids: Vec<String>,
    /// Tag names.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Text custom fields: name → value.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
}

/// A GA4 property the fake serves reports for.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct Ga4Fixture {
    /// How many distinct values each requested dimension has (default 5).
    pub dimension_values: Option<usize>,
    /// Most rows one page carries, whatever `limit` asks for, so clients must
    /// follow `offset` until `rowCount`.
    pub page_size_cap: Option<usize>,
}

impl FakesConfig {
    /// `credentials` maps a binding name to the value (a canary) the fake accepts.
    pub fn new(credentials: BTreeMap<String, String>) -> Self {
        FakesConfig {
            credentials,
            agent: Agent {
                gid: "1201000000000001".into(),
                name: "Jessie".into(),
            },
            tasks: Vec::new(),
            ga4_properties: Vec::new(),
            faults: Vec::new(),
            mint_hooks: Vec::new(),
            ports: BTreeMap::new(),
            asana_webhooks: AsanaWebhookOptions::default(),
            box_setup: BoxSetup::default(),
            google_ads: GoogleAdsSetup::default(),
            pagespeed: PageSpeedSetup::default(),
            meta: MetaSetup::default(),
            harvest: HarvestFixture::default(),
        }
    }

    /// Serve `key`'s fake on this loopback port instead of a random one
    /// (`key`: a fake's name, or a [`crate::BaseUrls`] field for a fake
    /// with several servers). Starting fails if the port cannot be bound.
    pub fn port(mut self, key: &str, port: u16) -> Self {
        self.ports.insert(key.into(), port);
        self
    }

    /// A Box folder (the root, `"0"`, always exists).
    pub fn box_folder(mut self, folder: BoxFolderFixture) -> Self {
        self.box_setup.folders.push(folder);
        self
    }

    /// A Box file, listed in its folder and downloadable.
    pub fn box_file(mut self, file: BoxFileFixture) -> Self {
        self.box_setup.files.push(file);
        self
    }

    /// A Google Ads customer (default when none is given: customer
    /// `google_ads::DEFAULT_CUSTOMER_ID`, no manager).
    pub fn google_ads_customer(mut self, customer_id: &str, fixture: GoogleAdsFixture) -> Self {
        self.google_ads
            .customers
            .push((customer_id.into(), fixture));
        self
    }

    /// Whether Google Ads requires `developer-token` (default true); when
    /// not, a token that is sent must still be right.
    pub fn google_ads_developer_token_required(mut self, required: bool) -> Self {
        self.google_ads.developer_token_required = required;
        self
    }

    /// A URL Lighthouse cannot load: PageSpeed answers `FAILED_DOCUMENT_REQUEST`.
    pub fn pagespeed_failing_url(mut self, url: &str) -> Self {
        self.pagespeed.failing_urls.push(url.into());
        self
    }

    /// A Meta ad account, by its digits (without `act_`). Default when none
    /// is given: `meta::DEFAULT_AD_ACCOUNT_ID`.
    pub fn meta_ad_account(mut self, account_id: &str, fixture: MetaAdAccountFixture) -> Self {
        self.meta.ad_accounts.push((account_id.into(), fixture));
        self
    }

    /// The Harvest account (default: [`HarvestFixture::default`]).
    pub fn harvest(mut self, fixture: HarvestFixture) -> Self {
        self.harvest = fixture;
        self
    }

    pub fn asana_webhooks(mut self, options: AsanaWebhookOptions) -> Self {
        self.asana_webhooks = options;
        self
    }

    /// The Asana user behind the agent PAT (default: gid 1201000000000001, "Jessie").
    pub fn agent(mut self, gid: &str, name: &str) -> Self {
        self.agent = Agent {
            gid: gid.into(),
            name: name.into(),
        };
        self
    }

    pub fn task(mut self, task: TaskFixture) -> Self {
        self.tasks.push(task);
        self
    }

    pub fn ga4_property(mut self, property_id: &str, fixture: Ga4Fixture) -> Self {
        self.ga4_properties.push((property_id.into(), fixture));
        self
    }

    pub fn fault(mut self, fault: FaultSpec) -> Self {
        self.faults.push(fault);
        self
    }

    /// Called with a label (e.g. `"minted:google_access_token"`) and the value
    /// each time a fake mints a credential, before the response carrying it is
    /// sent, so the harness can register it as a canary. Every hook added is called.
    pub fn on_mint(mut self, hook: impl Fn(&str, &str) + Send + Sync + 'static) -> Self {
        self.mint_hooks.push(Arc::new(hook));
        self
    }

    /// The value a fake accepts for `binding`; a missing binding is a harness bug.
    pub(crate) fn credential(&self, binding: &'static str) -> Result<String, FakesError> {
        self.credentials
            .get(binding)
            .cloned()
            .ok_or(FakesError::MissingCredential(binding))
    }

    pub(crate) fn tasks_by_gid(&self) -> Result<BTreeMap<String, TaskFixture>, FakesError> {
        unique_by_key(
            self.tasks
                .iter()
                .map(|task| (task.gid.clone(), task.clone())),
            "task",
        )
    }

    pub(crate) fn ga4_properties_by_id(&self) -> Result<BTreeMap<String, Ga4Fixture>, FakesError> {
        unique_by_key(self.ga4_properties.iter().cloned(), "GA4 property")
    }
}

pub(crate) fn unique_by_key<T>(
    entries: impl Iterator<Item = (String, T)>,
    kind: &'static str,
) -> Result<BTreeMap<String, T>, FakesError> {
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        if map.insert(key.clone(), value).is_some() {
            return Err(FakesError::DuplicateFixture { kind, key });
        }
    }
    Ok(map)
}

/// Why the fakes refused to start. Messages never include credential values.
#[derive(Debug, thiserror::Error)]
pub enum FakesError {
    #[error("fault names unknown fake {fake:?}; known fakes: {known}")]
    UnknownFake { fake: String, known: String },
    #[error("fault for {fake} names unknown endpoint {endpoint:?}; known endpoints: {known}")]
    UnknownEndpoint {
        fake: String,
        endpoint: String,
        known: String,
    },
    #[error("invalid fault for {fake}/{endpoint}: {reason}")]
    InvalidFault {
        fake: String,
        endpoint: String,
        reason: String,
    },
    #[error("credential binding {0} is missing from the credentials map")]
    MissingCredential(&'static str),
    #[error("{kind} {key:?} is configured twice")]
    DuplicateFixture { kind: &'static str, key: String },
    #[error("{kind} {key:?}: {reason}")]
    InvalidFixture {
        kind: &'static str,
        key: String,
        reason: &'static str,
    },
    #[error("cannot listen for {key} on 127.0.0.1:{port}: {source}")]
    Bind {
        key: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("a port is configured for {key:?}, which no fake serves")]
    UnknownPortKey { key: String },
}
