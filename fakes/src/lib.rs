//! Fake provider servers for the Agency OS contract-test harness.
//!
//! Each provider is a wiremock `MockServer` of its own, one module per
//! provider. What every fake shares lives in one place (crate-private):
//!
//! - `server`: routing, and the one request pipeline every fake runs
//!   (fault → credential check → provider handler → journal);
//! - `credential`: where a provider takes its credential and what it accepts,
//!   including tokens minted at run time;
//! - `fault`: the [`FaultSpec`] knobs scenario files embed;
//! - `error_shape`: each provider's own error body, so faults and
//!   rejections look like the real thing;
//! - `journal`: every request every fake received, rejected ones included.
//!
//! [`Fakes::start`] starts them all. Adding a provider means one module that
//! implements `server::Provider`, plus a line in `FAKE_ENDPOINTS` and in
//! [`Fakes::start`].

mod config;
pub mod contract;
mod credential;
mod error_shape;
mod fault;
mod journal;
mod server;
mod synthetic;
mod wire_faults;

pub mod accuranker;
pub mod ahrefs;
pub mod ai_gateway;
pub mod asana;
pub mod box_api;
pub mod browser_run;
pub mod dataforseo;
pub mod ga4;
pub mod google_ads;
pub mod google_oauth;
pub mod harvest;
pub mod meta;
pub mod pagespeed;
pub mod semrush;

use std::sync::{Arc, Mutex, MutexGuard};

pub use ai_gateway::AiGatewayLog;
pub use asana::{AsanaFake, SignatureMode, WebhookRequest};
pub use box_api::{BoxFile, BoxFileFixture, BoxFolderFixture};
pub use config::{AsanaWebhookOptions, FakesConfig, FakesError, Ga4Fixture, TaskFixture};
pub use credential::CredentialPlace;
pub use fault::FaultSpec;
pub use google_ads::GoogleAdsFixture;
pub use harvest::{HarvestFixture, HarvestProjectFixture, HarvestTaskFixture, HarvestUserFixture};
pub use journal::RecordedRequest;
pub use meta::MetaAdAccountFixture;

use accuranker::AccuRanker;
use ahrefs::Ahrefs;
use ai_gateway::AiGateway;
use asana::Asana;
use box_api::{BoxApi, BoxAuth, BoxDownload, BoxStore, BoxUpload};
use browser_run::BrowserRun;
use credential::TokenMint;
use dataforseo::DataForSeo;
use fault::FaultBook;
use ga4::Ga4;
use google_ads::GoogleAds;
use google_oauth::GoogleOAuth;
use harvest::Harvest;
use journal::Journal;
use meta::Meta;
use pagespeed::PageSpeed;
use semrush::Semrush;
use server::{FakeEndpoints, Listening, ServerContext};

/// Every fake and its endpoint names: what a [`FaultSpec`] may name.
const FAKE_ENDPOINTS: &[FakeEndpoints] = &[
    FakeEndpoints::of::<Asana>(),
    FakeEndpoints::of::<GoogleOAuth>(),
    FakeEndpoints::of::<Ga4>(),
    FakeEndpoints::of::<AiGateway>(),
    FakeEndpoints::of::<AccuRanker>(),
    FakeEndpoints::of::<DataForSeo>(),
    FakeEndpoints::of::<Semrush>(),
    FakeEndpoints::of::<Ahrefs>(),
    FakeEndpoints::of::<BrowserRun>(),
    FakeEndpoints::of::<BoxAuth>(),
    FakeEndpoints::of::<BoxApi>(),
    FakeEndpoints::of::<BoxUpload>(),
    FakeEndpoints::of::<BoxDownload>(),
    FakeEndpoints::of::<GoogleAds>(),
    FakeEndpoints::of::<PageSpeed>(),
    FakeEndpoints::of::<Meta>(),
    FakeEndpoints::of::<Harvest>(),
];

/// Where the runtime should send each provider's traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrls {
    /// Stands in for `https://app.asana.com/api/1.0`.
    pub asana: String,
    /// Stands in for `https://oauth2.googleapis.com`.
    pub google_oauth: String,
    /// Stands in for `https://analyticsdata.googleapis.com/v1beta`.
    pub ga4: String,
    /// Stands in for `https://gateway.ai.cloudflare.com/v1`.
    pub ai_gateway: String,
    /// Stands in for `https://app.accuranker.com/api/v4`.
    pub accuranker: String,
    /// Stands in for `https://api.dataforseo.com/v3`.
    pub dataforseo: String,
    /// Stands in for `https://api.semrush.com` (report paths start `/`).
    pub semrush: String,
    /// Stands in for `https://api.ahrefs.com/v3`.
    pub ahrefs: String,
    /// Stands in for `https://api.cloudflare.com/client/v4` (Browser Run).
    pub browser_run: String,
    /// Stands in for `https://api.box.com` (`/oauth2/token`).
    pub box_auth: String,
    /// Stands in for `https://api.box.com/2.0`.
    pub box_api: String,
    /// Stands in for `https://upload.box.com/api/2.0`.
    pub box_upload: String,
    /// Stands in for `https://dl.boxcloud.com` (where file content's 302 points).
    pub box_download: String,
    /// Stands in for `https://googleads.googleapis.com` (paths start `/vNN/`).
    pub google_ads: String,
    /// Stands in for `https://www.googleapis.com/pagespeedonline/v5`.
    pub pagespeed: String,
    /// Stands in for `https://graph.facebook.com` (paths start `/vNN.0/`).
    pub meta: String,
    /// Stands in for `https://api.harvestapp.com/v2`.
    pub harvest: String,
}

/// The running fakes. Dropping it stops every server.
pub struct Fakes {
    base_urls: BaseUrls,
    journal: Journal,
    asana: AsanaFake,
    ai_gateway: Arc<AiGateway>,
    box_store: Arc<BoxStore>,
    harvest: Arc<Harvest>,
    credential_places: Vec<CredentialPlace>,
    // Held only to keep the servers alive: dropping a MockServer stops it
    // (on a thread of its own: see the Drop impl).
    servers: Vec<Listening>,
}

impl Drop for Fakes {
    /// wiremock's `MockServer::drop` blocks on `verify()`, whose tokio
    /// `RwLock` reads take coop budget. Dropped inside a task whose budget is
    /// spent, tokio defers that wake to the scheduler the drop is blocking,
    /// and it hangs forever. A plain thread has no budget, so the servers are
    /// dropped there.
    fn drop(&mut self) {
        let servers = std::mem::take(&mut self.servers);
        let dropped = std::thread::spawn(move || drop(servers)).join();
        if let Err(panic) = dropped {
            if !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Fakes {
    /// Starts every fake. Fails before serving anything when the config is
    /// misused: a fault naming an unknown fake or endpoint, a credential
    /// binding missing from the map, a fixture configured twice.
    pub async fn start(config: FakesConfig) -> Result<Fakes, FakesError> {
        let faults = FaultBook::new(&config.faults, FAKE_ENDPOINTS)?;
        let context = Arc::new(
            ServerContext::new(Journal::default(), faults).with_ports(config.ports.clone()),
        );
        let access_tokens = Arc::new(TokenMint::new(
            google_oauth::MINTED_ACCESS_TOKEN_LABEL,
            google_oauth::ACCESS_TOKEN_PREFIX,
            config.mint_hooks.clone(),
        ));

        let google_oauth = GoogleOAuth::new(&config, Arc::clone(&access_tokens))?;
        let ga4 = Ga4::new(&config, Arc::clone(&access_tokens))?;
        let google_ads = GoogleAds::new(&config, access_tokens)?;
        let pagespeed = PageSpeed::new(&config)?;
        let box_tokens = Arc::new(TokenMint::new(
            box_api::MINTED_ACCESS_TOKEN_LABEL,
            "",
            config.mint_hooks.clone(),
        ));
        let box_store = Arc::new(BoxStore::new(&config)?);
        let box_auth = BoxAuth::new(&config, Arc::clone(&box_tokens))?;
        let ai_gateway = Arc::new(AiGateway::new(&config)?);
        let accuranker = AccuRanker::new(&config)?;
        let dataforseo = DataForSeo::new(&config)?;
        let semrush = Semrush::new(&config)?;
        let ahrefs = Ahrefs::new(&config)?;
        let browser_run = BrowserRun::new(&config)?;

        // Asana's `next_page.uri` carries its own base URL, so its server starts first.
        let asana_server = server::listen::<Asana>(&context).await?;
        let asana = Arc::new(Asana::new(
            &config,
            server::base_url::<Asana>(&asana_server),
        )?);

        let google_oauth_server = server::serve(Arc::new(google_oauth), &context).await?;
        let ga4_server = server::serve(Arc::new(ga4), &context).await?;
        let ai_gateway_server = server::serve(Arc::clone(&ai_gateway), &context).await?;
        let accuranker_server = server::serve(Arc::new(accuranker), &context).await?;
        let dataforseo_server = server::serve(Arc::new(dataforseo), &context).await?;
        let semrush_server = server::serve(Arc::new(semrush), &context).await?;
        let ahrefs_server = server::serve(Arc::new(ahrefs), &context).await?;
        let browser_run_server = server::serve(Arc::new(browser_run), &context).await?;
        server::mount(asana_server.server(), Arc::clone(&asana), &context).await;
        // Box's 302 points at the download host, so that server starts first;
        // Meta's `paging.next` and Harvest's `links` carry their own base URLs.
        let box_download_server =
            server::serve(Arc::new(BoxDownload::new(Arc::clone(&box_store))), &context).await?;
        let box_api = BoxApi::new(
            Arc::clone(&box_store),
            &box_tokens,
            server::base_url::<BoxDownload>(&box_download_server),
        );
        let box_auth_server = server::serve(Arc::new(box_auth), &context).await?;
        let box_api_server = server::serve(Arc::new(box_api), &context).await?;
        let box_upload = BoxUpload::new(Arc::clone(&box_store), &box_tokens);
        let box_upload_server = server::serve(Arc::new(box_upload), &context).await?;
        let google_ads_server = server::serve(Arc::new(google_ads), &context).await?;
        let pagespeed_server = server::serve(Arc::new(pagespeed), &context).await?;
        let meta_server = server::listen::<Meta>(&context).await?;
        let meta = Meta::new(&config, server::base_url::<Meta>(&meta_server))?;
        server::mount(meta_server.server(), Arc::new(meta), &context).await;
        let harvest_server = server::listen::<Harvest>(&context).await?;
        let harvest = Arc::new(Harvest::new(
            &config,
            server::base_url::<Harvest>(&harvest_server),
        )?);
        server::mount(harvest_server.server(), Arc::clone(&harvest), &context).await;
        context.check_ports_taken()?;

        Ok(Fakes {
            base_urls: BaseUrls {
                asana: server::base_url::<Asana>(&asana_server),
                google_oauth: server::base_url::<GoogleOAuth>(&google_oauth_server),
                ga4: server::base_url::<Ga4>(&ga4_server),
                ai_gateway: server::base_url::<AiGateway>(&ai_gateway_server),
                accuranker: server::base_url::<AccuRanker>(&accuranker_server),
                dataforseo: server::base_url::<DataForSeo>(&dataforseo_server),
                semrush: server::base_url::<Semrush>(&semrush_server),
                ahrefs: server::base_url::<Ahrefs>(&ahrefs_server),
                browser_run: server::base_url::<BrowserRun>(&browser_run_server),
                box_auth: server::base_url::<BoxAuth>(&box_auth_server),
                box_api: server::base_url::<BoxApi>(&box_api_server),
                box_upload: server::base_url::<BoxUpload>(&box_upload_server),
                box_download: server::base_url::<BoxDownload>(&box_download_server),
                google_ads: server::base_url::<GoogleAds>(&google_ads_server),
                pagespeed: server::base_url::<PageSpeed>(&pagespeed_server),
                meta: server::base_url::<Meta>(&meta_server),
                harvest: server::base_url::<Harvest>(&harvest_server),
            },
            journal: context.journal().clone(),
            credential_places: context.credential_places(),
            asana: AsanaFake::new(asana),
            ai_gateway,
            box_store,
            harvest,
            servers: vec![
                asana_server,
                google_oauth_server,
                ga4_server,
                ai_gateway_server,
                accuranker_server,
                dataforseo_server,
                semrush_server,
                ahrefs_server,
                browser_run_server,
                box_auth_server,
                box_api_server,
                box_upload_server,
                box_download_server,
                google_ads_server,
                pagespeed_server,
                meta_server,
                harvest_server,
            ],
        })
    }

    pub fn base_urls(&self) -> BaseUrls {
        self.base_urls.clone()
    }

    /// Every request every fake received, in arrival order, with the status
    /// it was answered with (rejected, faulted and unrouted requests included).
    pub fn journal(&self) -> Vec<RecordedRequest> {
        self.journal.entries()
    }

    /// Every place a fake takes a credential, as (fake, place, accepted
    /// label) triples, sorted: derived from the credential checks the fakes
    /// enforce on every endpoint, so it cannot drift from them.
    ///
    /// `fake` is [`RecordedRequest::fake`]; `place` is spelled as the
    /// harness's scanner locations: `header <lowercase name>` (Bearer, Basic
    /// and other scheme forms are all `header authorization`, so both halves
    /// of a Basic pair are allowed there), `query <name>`, `form <field>`;
    /// `label` is a binding name (`AGENCY_OS_ASANA_AGENT_PAT`) or a mint's
    /// label (`minted:google_access_token`). Anywhere else a credential is a
    /// leak.
    pub fn credential_places(&self) -> &[CredentialPlace] {
        &self.credential_places
    }

    pub fn asana(&self) -> &AsanaFake {
        &self.asana
    }

    /// Every request fake AI Gateway served, as its logs record them
    /// (metadata, cache and payload-logging headers, cache hits).
    pub fn ai_gateway_logs(&self) -> Vec<AiGatewayLog> {
        self.ai_gateway.logs()
    }

    /// Every file fake Box holds, fixtures and uploads, in the order stored.
    pub fn box_files(&self) -> Vec<BoxFile> {
        self.box_store.public_files()
    }

    /// Every time entry fake Harvest holds (the runtime's POSTs), newest first.
    pub fn harvest_time_entries(&self) -> Vec<serde_json::Value> {
        self.harvest.time_entries()
    }
}

/// Locks shared fake state. A panic elsewhere must not wedge every later
/// request, so a poisoned lock is used as is: the state is plain data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
