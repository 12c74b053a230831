//! A canary: a synthetic credential seeded into one binding, and the fragments the scanner
//! derives from its random part.

use std::fmt;
use std::ops::Range;

/// One binding's canary value. `Debug` and `Display` mask the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Canary {
    binding: String,
    value: String,
    /// The random part, when the caller knows it; otherwise it is inferred.
    random: Option<Range<usize>>,
}

impl Canary {
    /// A canary whose random part is inferred from its shape: the runs of letters and digits,
    /// less an email-shaped value's domain, runs too short to carry 48 bits, and words (see
    /// `looks_like_a_word`: `googleusercontent` is one). Shape tags such as `ya29.` or `GOCSPX-`
    /// fall away as short runs.
    pub fn new(binding: impl Into<String>, value: impl Into<String>) -> Canary {
        Canary { binding: binding.into(), value: value.into(), random: None }
    }

    /// A canary whose random part is the byte range `random` of `value` (clamped to the value
    /// and widened to character boundaries).
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
        Canary { binding: binding.into(), value, random: Some(start..end) }
    }

    pub fn binding(&self) -> &str {
        &self.binding
    }

    /// The value itself: for seeding it into a binding, never for printing.
    pub fn expose_value(&self) -> &str {
        &self.value
    }

    /// The value as reports show it: at most its first 4 characters (none for short values, so
    /// what is shown never carries a fragment's worth of randomness) and its length.
    pub fn masked(&self) -> String {
        let length = self.value.chars().count();
        let shown: String = if length >= 16 { self.value.chars().take(4).collect() } else { String::new() };
        format!("{shown}…({length} chars)")
    }

    /// Every window of the random part carrying 48 bits: 8 characters of a base62-or-richer
    /// alphabet, 10 of one-case letters and digits, 12 of hex, 15 of digits.
    pub(crate) fn fragment_windows(&self) -> Vec<&str> {
        let segments = match &self.random {
            Some(range) => vec![&self.value[range.clone()]],
            None => inferred_random_segments(&self.value),
        };
        segments.into_iter().flat_map(windows_carrying_48_bits).collect()
    }
}

const SHORTEST_WINDOW: usize = 8;
const LONGEST_WINDOW: usize = 15;

fn inferred_random_segments(value: &str) -> Vec<&str> {
    let local_part = value.rfind('@').map_or(value, |at| &value[..at]);
    local_part
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| run.len() >= SHORTEST_WINDOW && !looks_like_a_word(run))
        .collect()
}

/// Letters of one case, not too long, with the vowels of a word (about 40% in English words,
/// 19% in random letters). A random run of letters alone is rare but happens (a lowercased
/// base62 string without a digit); so do fixed words in credential shapes.
fn looks_like_a_word(run: &str) -> bool {
    let one_case = run.bytes().all(|b| b.is_ascii_lowercase()) || run.bytes().all(|b| b.is_ascii_uppercase());
    let vowels = run.bytes().filter(|b| b"aeiouAEIOU".contains(b)).count();
    one_case && run.len() <= 20 && vowels * 10 >= run.len() * 3
}

/// How many characters like these it takes to carry 48 bits.
fn required_len(window: &str) -> usize {
    let all = |test: fn(&u8) -> bool| window.as_bytes().iter().all(test);
    if all(u8::is_ascii_digit) {
        15
    } else if all(u8::is_ascii_hexdigit) {
        12
    } else if all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) || all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        10
    } else {
        SHORTEST_WINDOW
    }
}

/// From each start, the shortest window that carries 48 bits.
fn windows_carrying_48_bits(segment: &str) -> impl Iterator<Item = &str> {
    let starts: Vec<usize> = segment.char_indices().map(|(at, _)| at).chain([segment.len()]).collect();
    let chars = starts.len() - 1;
    (0..chars).filter_map(move |first| {
        (SHORTEST_WINDOW..=LONGEST_WINDOW).take_while(|len| first + len <= chars).find_map(|len| {
            let window = &segment[starts[first]..starts[first + len]];
            (len >= required_len(window)).then_some(window)
        })
    })
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
    fn windows_come_from_random_runs_and_carry_48_bits() {
        let windows = |value: &str| Canary::new("B", value).fragment_windows().into_iter().map(str::to_owned).collect::<Vec<_>>();
        // Shape tag and fixed domain contribute nothing; one-case words neither.
        let client_id = windows("123456789012-k3j9x2m4p7q1w8e5r6t0y2u4i9o3a1s5.apps.googleusercontent.com");
        assert!(client_id.iter().all(|w| w.len() == 10 && !w.contains("google")));
        assert_eq!(client_id.len(), 32 - 10 + 1);
        assert!(windows("jessie+k3j9x2m4p7q1w8e5r6t0@agency.test").iter().all(|w| !w.contains("agency")));
        // Random letters without a digit are still random; words are not.
        assert_eq!(windows("jessie+feliegljlbamrmjyjefk@agency.test")[0], "feliegljlb");
        assert!(windows("x-vzfydhsxivwmbaitnmigolkagfokmxlx.apps.googleusercontent.com").iter().all(|w| !w.contains("google")));
        assert!(windows("ya29.a0AfB9xQ2mZkLp7RtV")[0].starts_with("a0AfB9xQ"));
        assert_eq!(windows("482910573920184756102938475610")[0].len(), 15);
        assert_eq!(windows("9f86d081884c7d659a2feaa0c55ad015")[0].len(), 12);
        // A window is as long as its own characters need: digits then hex letters.
        assert_eq!(windows("2/1234567890123456/1234567890123456:9f86d081884c7d65")[0], "123456789012345");
        let pinned = Canary::with_random_part("P", "fixed-é/Q9xZ2mKp7RtV", 6..40);
        assert_eq!(pinned.fragment_windows()[0], "é/Q9xZ2m");
    }
}
