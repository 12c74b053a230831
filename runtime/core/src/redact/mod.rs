//! The one sanitizer: everything that leaves a run passes through [`Redactor::sanitize`], which
//! replaces every registered secret, in every variant encoding from [`variants`], with
//! `[redacted:<label>]` in a single leftmost-longest aho-corasick pass.
//!
//! # Short secrets
//!
//! A secret's variants are only safe to match when the secret is long enough not to occur in
//! ordinary text by chance: the base64 run of a 5-byte value is 6 characters, which base64 blobs
//! and words contain all the time. So:
//!
//! - at [`MIN_SECRET_LEN`] bytes or more, every variant is matched anywhere;
//! - from [`MIN_TOKEN_SECRET_LEN`] up to that, only the raw value is matched, and only where it
//!   stands alone (no ASCII letter or digit on either side), so a 6-digit account ID is redacted
//!   where it appears as itself without shredding longer numbers that contain it;
//! - shorter values are refused: they cannot be told apart from text. [`Redactor::refused`] lists
//!   their labels so the caller can record the misconfiguration. Empty values are ignored.

pub mod variants;

use std::fmt;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use secrecy::{ExposeSecret, SecretString};

/// Secrets at least this long (in bytes) are matched in every variant encoding.
pub const MIN_SECRET_LEN: usize = 8;
/// Secrets shorter than this are refused (see the module docs).
pub const MIN_TOKEN_SECRET_LEN: usize = 4;

/// Text that has passed the sanitizer. Sinks accept only this type.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Sanitized(String);

impl Sanitized {
    /// A compile-time constant cannot hold a runtime secret.
    pub fn from_static(text: &'static str) -> Sanitized {
        Sanitized(text.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
    /// Only the harness's deliberately leaky mutants may skip the sanitizer.
    #[cfg(feature = "mutants")]
    pub fn unchecked_for_mutant(text: String) -> Sanitized {
        Sanitized(text)
    }
}

impl fmt::Display for Sanitized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sanitized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// One replacement the sanitizer made: which secret, in which encoding, at which byte offset
/// of the input. Never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction {
    pub label: String,
    pub encoding: String,
    pub offset: usize,
}

enum Secret {
    Single(SecretString),
    BasicAuthPair { login: SecretString, password: SecretString },
}

struct Entry {
    label: String,
    secret: Secret,
}

impl Entry {
    fn same_as(&self, other: &Entry) -> bool {
        self.label == other.label
            && match (&self.secret, &other.secret) {
                (Secret::Single(a), Secret::Single(b)) => a.expose_secret() == b.expose_secret(),
                (
                    Secret::BasicAuthPair { login: a_login, password: a_password },
                    Secret::BasicAuthPair { login: b_login, password: b_password },
                ) => a_login.expose_secret() == b_login.expose_secret() && a_password.expose_secret() == b_password.expose_secret(),
                _ => false,
            }
    }
}

/// What one automaton pattern stands for.
struct PatternInfo {
    entry: usize,
    encoding: &'static str,
    whole_token_only: bool,
}

/// The automaton over every variant of every registered secret; built on first use after a
/// registration, since runs register secrets one at a time as they read them.
struct Compiled {
    automaton: Option<AhoCorasick>,
    patterns: Vec<PatternInfo>,
}

impl Compiled {
    fn build(entries: &[Entry]) -> Compiled {
        let mut patterns = Vec::new();
        let mut bytes = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let (found, whole_token_only) = match &entry.secret {
                Secret::Single(value) if value.expose_secret().len() < MIN_SECRET_LEN => {
                    (vec![variants::Variant { encoding: "raw", bytes: value.expose_secret().as_bytes().to_vec() }], true)
                }
                Secret::Single(value) => (variants::variants(value.expose_secret().as_bytes()), false),
                Secret::BasicAuthPair { login, password } => {
                    (variants::basic_auth_variants(login.expose_secret().as_bytes(), password.expose_secret().as_bytes()), false)
                }
            };
            for variant in found {
                patterns.push(PatternInfo { entry: index, encoding: variant.encoding, whole_token_only });
                bytes.push(variant.bytes);
            }
        }
        let automaton = (!bytes.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&bytes)
                .expect("variant patterns are few and bounded; the automaton always builds")
        });
        Compiled { automaton, patterns }
    }
}

/// Replaces every registered secret, in every variant encoding, with `[redacted:<label>]`.
#[derive(Default)]
pub struct Redactor {
    entries: Vec<Entry>,
    refused: Vec<String>,
    compiled: OnceLock<Compiled>,
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Registers `secret` under `label` (a binding name). Registering the same pair twice is a
    /// no-op; values shorter than [`MIN_TOKEN_SECRET_LEN`] are refused (see [`Redactor::refused`]).
    pub fn register(&mut self, label: &str, secret: &SecretString) {
        let length = secret.expose_secret().len();
        if length == 0 {
            return;
        }
        if length < MIN_TOKEN_SECRET_LEN {
            if !self.refused.iter().any(|refused| refused == label) {
                self.refused.push(label.to_owned());
            }
            return;
        }
        self.add(Entry { label: label.to_owned(), secret: Secret::Single(secret.clone()) });
    }

    /// Registers the Basic-auth forms of `login:password` under `label`. The halves are secrets
    /// of their own: register each with [`Redactor::register`] too.
    pub fn register_pair(&mut self, label: &str, login: &SecretString, password: &SecretString) {
        self.add(Entry {
            label: label.to_owned(),
            secret: Secret::BasicAuthPair { login: login.clone(), password: password.clone() },
        });
    }

    /// Labels whose values were too short to redact safely.
    pub fn refused(&self) -> &[String] {
        &self.refused
    }

    fn add(&mut self, entry: Entry) {
        if !self.entries.iter().any(|known| known.same_as(&entry)) {
            self.entries.push(entry);
            self.compiled = OnceLock::new();
        }
    }

    pub fn sanitize(&self, text: &str) -> (Sanitized, Vec<Redaction>) {
        let compiled = self.compiled.get_or_init(|| Compiled::build(&self.entries));
        let Some(automaton) = &compiled.automaton else {
            return (Sanitized(text.to_owned()), Vec::new());
        };
        let bytes = text.as_bytes();
        let mut clean = String::with_capacity(text.len());
        let mut redactions = Vec::new();
        let mut copied = 0;
        let mut search_from = 0;
        while let Some(found) = automaton.find(Input::new(bytes).span(search_from..bytes.len())) {
            let info = &compiled.patterns[found.pattern()];
            if info.whole_token_only && !stands_alone(bytes, found.start(), found.end()) {
                search_from = found.start() + 1;
                continue;
            }
            // Binary-looking variants (UTF-16) could in principle meet text mid-character;
            // widening to character boundaries keeps the output valid UTF-8.
            let start = char_start_at_or_before(text, found.start()).max(copied);
            let end = char_end_at_or_after(text, found.end());
            let label = &self.entries[info.entry].label;
            clean.push_str(&text[copied..start]);
            clean.push_str("[redacted:");
            clean.push_str(label);
            clean.push(']');
            redactions.push(Redaction { label: label.clone(), encoding: info.encoding.to_owned(), offset: start });
            copied = end;
            search_from = end;
        }
        clean.push_str(&text[copied..]);
        (Sanitized(clean), redactions)
    }
}

fn stands_alone(bytes: &[u8], start: usize, end: usize) -> bool {
    let alone_before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
    let alone_after = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
    alone_before && alone_after
}

fn char_start_at_or_before(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn char_end_at_or_after(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secret(value: &str) -> SecretString {
        SecretString::from(value.to_owned())
    }

    fn redactor_with(label: &str, value: &str) -> Redactor {
        let mut redactor = Redactor::new();
        redactor.register(label, &secret(value));
        redactor
    }

    #[test]
    fn every_variant_is_redacted_with_its_encoding_and_offset() {
        let value = "Ab3/x+Q=:z&\"<%é9kLm";
        let redactor = redactor_with("TOKEN", value);
        for variant in variants::variants(value.as_bytes()) {
            let Ok(encoded) = std::str::from_utf8(&variant.bytes) else { continue };
            let text = format!("before {encoded} after");
            let (clean, redactions) = redactor.sanitize(&text);
            assert_eq!(clean.as_str(), "before [redacted:TOKEN] after", "{}", variant.encoding);
            assert_eq!(redactions, [Redaction { label: "TOKEN".into(), encoding: variant.encoding.into(), offset: 7 }]);
        }
    }

    #[test]
    fn repeated_occurrences_and_several_secrets() {
        let mut redactor = redactor_with("A", "alpha-secret-1234");
        redactor.register("B", &secret("bravo-secret-5678"));
        let (clean, redactions) = redactor.sanitize("alpha-secret-1234 bravo-secret-5678 alpha-secret-1234");
        assert_eq!(clean.as_str(), "[redacted:A] [redacted:B] [redacted:A]");
        assert_eq!(redactions.iter().map(|r| r.offset).collect::<Vec<_>>(), [0, 18, 36]);
    }

    #[test]
    fn registering_twice_is_harmless_and_clean_text_is_untouched() {
        let mut redactor = redactor_with("A", "alpha-secret-1234");
        redactor.register("A", &secret("alpha-secret-1234"));
        let (clean, redactions) = redactor.sanitize("nothing to see");
        assert_eq!(clean.as_str(), "nothing to see");
        assert!(redactions.is_empty());
        assert_eq!(Redactor::new().sanitize("x").0.as_str(), "x");
    }

    #[test]
    fn short_secrets_match_only_standing_alone_and_tiny_ones_are_refused() {
        let mut redactor = redactor_with("ACCOUNT", "123456");
        redactor.register("TINY", &secret("ab"));
        redactor.register("EMPTY", &secret(""));
        let (clean, _) = redactor.sanitize("id 123456, not 91234567 nor x123456; ab stays");
        assert_eq!(clean.as_str(), "id [redacted:ACCOUNT], not 91234567 nor x123456; ab stays");
        assert_eq!(redactor.refused(), ["TINY"]);
        // Short secrets get no encoded variants: their base64 would be noise-sized.
        let (clean, _) = redactor.sanitize("MTIzNDU2");
        assert_eq!(clean.as_str(), "MTIzNDU2");
    }

    #[test]
    fn basic_auth_pairs_are_redacted_whole() {
        let mut redactor = Redactor::new();
        redactor.register("LOGIN", &secret("agent@example.test"));
        redactor.register("PASSWORD", &secret("pw-Zq81xT0vLm"));
        redactor.register_pair("PASSWORD", &secret("agent@example.test"), &secret("pw-Zq81xT0vLm"));
        let header = format!("Authorization: Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "agent@example.test:pw-Zq81xT0vLm"));
        let (clean, redactions) = redactor.sanitize(&header);
        assert_eq!(clean.as_str(), "Authorization: Basic [redacted:PASSWORD]");
        assert_eq!(redactions[0].encoding, "basic-auth");
    }

    #[test]
    fn sanitized_debug_and_display_show_only_clean_text() {
        let redactor = redactor_with("A", "alpha-secret-1234");
        let (clean, _) = redactor.sanitize("k=alpha-secret-1234");
        assert_eq!(format!("{clean}"), "k=[redacted:A]");
        assert_eq!(format!("{clean:?}"), "\"k=[redacted:A]\"");
        assert_eq!(serde_json::to_string(&clean).unwrap(), "\"k=[redacted:A]\"");
    }

    /// Characters every encoding changes, plus letters and digits.
    fn canary() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::ranges(vec!['a'..='z', 'A'..='Z', '0'..='9'].into()),
                1 => proptest::sample::select(vec!['/', '+', '=', ':', '&', '"', '<', '%', 'é', 'ß']),
            ],
            16..40,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    /// Text no variant can start or end in, so the only match is the embedded one.
    fn filler() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ .,;!?\n]{0,24}").unwrap()
    }

    proptest! {
        #[test]
        fn sanitizer_removes_every_variant(value in canary(), before in filler(), after in filler()) {
            let redactor = redactor_with("CANARY", &value);
            let all = variants::variants(value.as_bytes());
            for variant in &all {
                let Ok(encoded) = std::str::from_utf8(&variant.bytes) else { continue };
                let text = format!("{before}{encoded}{after}");
                let (clean, redactions) = redactor.sanitize(&text);
                prop_assert_eq!(clean.as_str(), format!("{before}[redacted:CANARY]{after}"));
                prop_assert_eq!(&redactions, &vec![Redaction {
                    label: "CANARY".into(),
                    encoding: variant.encoding.into(),
                    offset: before.len(),
                }]);
                for other in &all {
                    prop_assert!(!clean.as_str().as_bytes().windows(other.bytes.len()).any(|w| w == other.bytes));
                }
            }
        }

        #[test]
        fn sanitizer_output_is_unchanged_without_secrets(text in "\\PC{0,200}") {
            let redactor = redactor_with("CANARY", "zz-not-in-the-text-QQ9");
            let (clean, redactions) = redactor.sanitize(&text);
            prop_assert_eq!(clean.as_str(), text.as_str());
            prop_assert!(redactions.is_empty());
        }
    }
}
