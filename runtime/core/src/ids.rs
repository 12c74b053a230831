//! Identifiers and timestamps, from the randomness and clock seams only.

use crate::platform::{Clock, RandomSource};

/// A 128-bit random identifier in lowercase hex.
pub fn new_id(random: &dyn RandomSource) -> String {
    format!("{:016x}{:016x}", random.next_u64(), random.next_u64())
}

/// RFC 3339 UTC, millisecond precision: what the trace stores for times.
pub fn timestamp(clock: &dyn Clock) -> String {
    format_ms(clock.now_ms())
}

pub fn format_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .expect("the format is valid for every date")
}

/// The calendar date (UTC) `days_before` days before the clock's today, as `YYYY-MM-DD`.
pub fn date_days_before(clock: &dyn Clock, days_before: i64) -> String {
    let today = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(clock.now_ms()) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    let day = today - time::Duration::days(days_before);
    day.format(time::macros::format_description!("[year]-[month]-[day]")).expect("valid date format")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(i64);
    impl Clock for Fixed {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn formats_times_and_dates() {
        // 2026-12-03T08:00:00.250Z
        let clock = Fixed(1_796_284_800_250);
        assert_eq!(timestamp(&clock), "2026-12-03T08:00:00.250Z");
        assert_eq!(date_days_before(&clock, 1), "2026-12-02");
        assert_eq!(date_days_before(&clock, 28), "2026-11-05");
    }
}
