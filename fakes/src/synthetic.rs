//! Synthetic values: random ids and tokens, stable numbers derived from
//! fixture keys (so reports are deterministic), and timestamps.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::OffsetDateTime;

/// `bytes` random bytes, URL-safe base64 without padding.
pub(crate) fn random_url_safe(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// `bytes` random bytes, lower-case hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    hex::encode(random_bytes(bytes))
}

fn random_bytes(count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// A number that depends only on `parts`.
pub(crate) fn stable_u64(parts: &[&str]) -> u64 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    )
}

/// An Asana-style numeric gid (16 digits) that depends only on `kind` and `key`.
pub(crate) fn stable_gid(kind: &str, key: &str) -> String {
    (1_000_000_000_000_000 + stable_u64(&[kind, key]) % 9_000_000_000_000_000).to_string()
}

/// Now, as Asana writes `created_at`: RFC 3339 UTC with milliseconds.
pub(crate) fn now_millis_utc() -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc()
        .format(&format)
        .expect("UTC timestamps always format")
}

/// Now, as Unix seconds (OpenAI's `created`).
pub(crate) fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A `YYYY-MM-DD` calendar date (the date parameters SEO APIs take).
pub(crate) fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next().filter(|year| year.len() == 4)?.parse().ok()?;
    let month: u8 = parts
        .next()
        .filter(|month| month.len() == 2)?
        .parse()
        .ok()?;
    let day: u8 = parts.next().filter(|day| day.len() == 2)?.parse().ok()?;
    time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()
}

/// Now, RFC 3339 UTC to the second (`2026-12-03T09:12:02Z`), as Box and Harvest write stamps.
pub(crate) fn now_seconds_utc() -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::now_utc()
        .format(&format)
        .expect("UTC timestamps always format")
}

/// Today in UTC: what relative date ranges (Google Ads `DURING`, Meta `date_preset`) count from.
pub(crate) fn today_utc() -> time::Date {
    OffsetDateTime::now_utc().date()
}
