//! Contract tests for the fakes, over real HTTP. One test binary: the
//! modules share `support` and link once.

mod ai_gateway;
mod asana;
mod contracts;
mod faults;
mod ga4;
mod google_oauth;
mod support;
