//! A canary: a synthetic credential seeded into one binding, and what the scanner derives from it.

use std::fmt;
use std::ops::Range;

/// One binding's canary value. `Debug` and `Display` mask the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Canary {
    binding: String,
    value: String,
    random: Range<usize>,
}

impl Canary {
    /// A canary whose random part is inferred: the value less a short leading shape tag ended by
    /// a separator (`ya29.`, `sk-`, `1/`), which real-shaped canaries share with real tokens,
    /// and less the domain of an email-shaped value (a login).
    pub fn new(binding: impl Into<String>, value: impl Into<String>) -> Canary {
        let value = value.into();
        let random = inferred_random_part(&value);
        Canary { binding: binding.into(), value, random }
    }

    /// A canary whose random part is the byte range `random` of `value` (clamped to the value
    /// and to character boundaries).
    pub fn with_random_part(binding: impl Into<String>, value: impl Into<String>, random: Range<usize>) -> Canary {
        let value = value.into();
        let mut start = random.start.min(value.len());
        let mut end = random.end.clamp(start, value.len());
        while !value.is_char_boundary(start) {
            start -= 1;
        }
        while !value.is_char_boundary(end) {
            end += 1;
        }
        Canary { binding: binding.into(), value, random: start..end }
    }

    pub fn binding(&self) -> &str {
        &self.binding
    }

    /// The value itself: for seeding it into a binding, never for printing.
    pub fn expose_value(&self) -> &str {
        &self.value
    }

    pub(crate) fn random_part(&self) -> &str {
        &self.value[self.random.clone()]
    }

    /// The value as reports show it: at most its first 4 characters (none for short values, so
    /// what is shown never carries a fragment's worth of randomness) and its length.
    pub fn masked(&self) -> String {
        let length = self.value.chars().count();
        let shown: String = if length >= 16 { self.value.chars().take(4).collect() } else { String::new() };
        format!("{shown}…({length} chars)")
    }

    /// How many characters of the random part carry 48 bits: 8 of a base62-or-richer alphabet,
    /// 12 of hex, 15 of digits.
    pub(crate) fn fragment_len(&self) -> usize {
        let random = self.random_part();
        if random.bytes().all(|b| b.is_ascii_digit()) {
            15
        } else if random.bytes().all(|b| b.is_ascii_hexdigit()) {
            12
        } else {
            8
        }
    }
}

fn inferred_random_part(value: &str) -> Range<usize> {
    let tag_end = value
        .char_indices()
        .take(7)
        .find(|&(_, c)| matches!(c, '.' | '-' | '_' | '/' | ':'))
        .map(|(index, c)| index + c.len_utf8());
    let end = value.rfind('@').unwrap_or(value.len());
    match tag_end {
        Some(start) if start < end && value[start..end].chars().count() >= 12 => start..end,
        _ => 0..end,
    }
}

impl fmt::Debug for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Canary").field("binding", &self.binding).field("value", &self.masked()).finish()
    }
}

impl fmt::Display for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.binding, self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_never_shows_more_than_four_characters() {
        let canary = Canary::new("AGENCY_OS_META_ACCESS_TOKEN", "EAAbQ7xZp2LmN4vR8sT1uW3y");
        assert_eq!(canary.masked(), "EAAb…(24 chars)");
        assert_eq!(format!("{canary:?}"), "Canary { binding: \"AGENCY_OS_META_ACCESS_TOKEN\", value: \"EAAb…(24 chars)\" }");
        assert_eq!(canary.to_string(), "AGENCY_OS_META_ACCESS_TOKEN=EAAb…(24 chars)");
        assert_eq!(Canary::new("SHORT", "1234567").masked(), "…(7 chars)");
    }

    #[test]
    fn random_part_skips_a_shape_tag_and_sets_the_fragment_length() {
        let google = Canary::new("G", "ya29.a0AfB9xQ2mZkLp7RtV");
        assert_eq!(google.random_part(), "a0AfB9xQ2mZkLp7RtV");
        assert_eq!(google.fragment_len(), 8);
        assert_eq!(Canary::new("H", "9f86d081884c7d659a2feaa0c55ad015").fragment_len(), 12);
        assert_eq!(Canary::new("D", "482910573920184756102938475610").fragment_len(), 15);
        assert_eq!(Canary::new("L", "agent-7Hq2Lp9Xz4Qw@example.test").random_part(), "7Hq2Lp9Xz4Qw");
        let pinned = Canary::with_random_part("P", "fixed-é-0123456789abcdefXYZ", 6..40);
        assert_eq!(pinned.random_part(), "é-0123456789abcdefXYZ");
    }
}
