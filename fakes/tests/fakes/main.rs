//! Contract tests for the fakes, over real HTTP. One test binary: the
//! modules share `support` and link once.

mod ai_gateway;
mod asana;
mod asana_state;
mod box_api;
mod cloudflare;
mod contracts;
mod contracts_more;
mod credential_places;
mod faults;
mod ga4;
mod google_ads;
mod google_oauth;
mod harvest;
mod meta;
mod pagespeed;
mod provider_faults;
mod seo;
mod support;
mod wire_faults;
