//! The variant pass (every precomputed encoding of every canary, through one automaton) and the
//! fragment pass (every 48-bit run of a canary's random part).

use agency_core::redact::variants::{basic_auth_variants, variants};
use agency_core::redact::MIN_SECRET_LEN;

use super::canary::Canary;
use super::sampled::SampledMatcher;
use super::RawHit;

struct VariantPattern {
    canary: usize,
    partner: Option<usize>,
    encoding: &'static str,
}

/// Matches the shared variant generator's output: the same strings the runtime's sanitizer
/// removes, so a leak the sanitizer should have caught is reported under the same encoding name.
pub(crate) struct VariantPass {
    matcher: SampledMatcher,
    patterns: Vec<VariantPattern>,
}

impl VariantPass {
    /// `pairs` are (login, password) canary indices whose Basic-auth forms are matched too;
    /// those hits are reported for the password.
    pub(crate) fn new(canaries: &[Canary], pairs: &[(usize, usize)]) -> VariantPass {
        let mut patterns = Vec::new();
        let mut bytes = Vec::new();
        for (index, canary) in canaries.iter().enumerate() {
            let value = canary.expose_value().as_bytes();
            // Encoded forms of a short value occur by chance in ordinary data; match it raw only.
            let found = if value.len() < MIN_SECRET_LEN {
                variants(value).into_iter().take(1).collect()
            } else {
                variants(value)
            };
            for variant in found {
                patterns.push(VariantPattern { canary: index, partner: None, encoding: variant.encoding });
                bytes.push(variant.bytes);
            }
        }
        for &(login, password) in pairs {
            let found = basic_auth_variants(canaries[login].expose_value().as_bytes(), canaries[password].expose_value().as_bytes());
            for variant in found {
                patterns.push(VariantPattern { canary: password, partner: Some(login), encoding: variant.encoding });
                bytes.push(variant.bytes);
            }
        }
        VariantPass { matcher: SampledMatcher::new(&bytes), patterns }
    }

    pub(crate) fn find(&self, haystack: &[u8], hits: &mut Vec<RawHit>) {
        self.matcher.for_each_match(haystack, |found| {
            let pattern = &self.patterns[found.pattern()];
            hits.push(RawHit {
                partner: pattern.partner,
                ..RawHit::exact(pattern.canary, found.start(), found.end(), pattern.encoding.to_owned())
            });
        });
    }
}

/// Matches every window of a canary's random part long enough to carry 48 bits, and reports
/// each maximal run of adjacent windows once: what a truncated, line-split or masked credential
/// leaves behind.
pub(crate) struct FragmentPass {
    matcher: SampledMatcher,
    owners: Vec<usize>,
}

impl FragmentPass {
    pub(crate) fn new(canaries: &[Canary]) -> FragmentPass {
        let mut owners = Vec::new();
        let mut windows = Vec::new();
        for (index, canary) in canaries.iter().enumerate() {
            for window in canary.fragment_windows() {
                windows.push(window.as_bytes());
                owners.push(index);
            }
        }
        FragmentPass { matcher: SampledMatcher::new(&windows), owners }
    }

    /// Appends fragment runs; `encoding` names them (`fragment`, or a decoding chain's).
    pub(crate) fn find(&self, haystack: &[u8], encoding: &str, hits: &mut Vec<RawHit>) {
        let mut run: Option<RawHit> = None;
        self.matcher.for_each_match(haystack, |found| {
            let canary = self.owners[found.pattern()];
            match &mut run {
                Some(current) if current.canary == canary && found.start() <= current.end => current.end = found.end(),
                current => {
                    hits.extend(current.take());
                    *current = Some(RawHit::exact(canary, found.start(), found.end(), encoding.to_owned()));
                }
            }
        });
        hits.extend(run);
    }
}
