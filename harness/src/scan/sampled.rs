//! One aho-corasick automaton behind a sampling prefilter, so most of a haystack never goes
//! through the automaton at all.
//!
//! Every pattern is at least `min_len` bytes long, so every occurrence covers a whole gram of
//! `width` bytes starting at one of the checkpoints `0, step, 2·step, …` with
//! `step = min_len - width + 1`, and that gram lies in the `min_len`-byte window of the pattern
//! we indexed. The scan reads one gram per checkpoint and runs the automaton only around
//! checkpoints whose gram is indexed. Grams are 8 bytes when patterns allow it (selective even
//! where patterns hold escapes the text is full of, like `\u00e9` or `&amp;`), else 4. Each
//! pattern's window is placed where its grams look least like ordinary text.

use aho_corasick::{AhoCorasick, Input, Match, MatchKind};

pub(crate) struct SampledMatcher {
    automaton: Option<AhoCorasick>,
    filter: Option<GramFilter>,
    longest: usize,
}

struct GramFilter {
    bits: Vec<u64>,
    hash_shift: u32,
    width: usize,
    step: usize,
    /// How far before a checkpoint an occurrence covering it may start.
    reach_back: usize,
}

impl GramFilter {
    fn slot(&self, gram: u64) -> usize {
        (gram.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.hash_shift) as usize
    }

    fn insert(&mut self, gram: u64) {
        let slot = self.slot(gram);
        self.bits[slot / 64] |= 1 << (slot % 64);
    }

    fn contains(&self, gram: u64) -> bool {
        let slot = self.slot(gram);
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }
}

/// The `WIDTH` bytes at `at` as a number (a single unaligned load).
fn gram_at<const WIDTH: usize>(bytes: &[u8], at: usize) -> u64 {
    let mut gram = [0u8; 8];
    gram[..WIDTH].copy_from_slice(&bytes[at..at + WIDTH]);
    u64::from_le_bytes(gram)
}

/// Grams ordinary text is full of: punctuation and escapes, lowercase words, numbers.
fn looks_common(gram: &[u8]) -> bool {
    !gram.iter().all(u8::is_ascii_alphanumeric)
        || gram.iter().all(u8::is_ascii_lowercase)
        || gram.iter().all(u8::is_ascii_digit)
}

impl SampledMatcher {
    /// Leftmost-longest matching of `patterns`; pattern IDs are their indices.
    pub(crate) fn new<P: AsRef<[u8]>>(patterns: &[P]) -> SampledMatcher {
        let longest = patterns.iter().map(|p| p.as_ref().len()).max().unwrap_or(0);
        let min_len = patterns.iter().map(|p| p.as_ref().len()).min().unwrap_or(0);
        if patterns.is_empty() || min_len == 0 {
            return SampledMatcher { automaton: None, filter: None, longest };
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .expect("scanner patterns are bounded in number and length");
        let width = if min_len >= 16 { 8 } else { 4 };
        let filter = (min_len > width).then(|| Self::index(patterns, min_len, width));
        SampledMatcher { automaton: Some(automaton), filter, longest }
    }

    fn index<P: AsRef<[u8]>>(patterns: &[P], window: usize, width: usize) -> GramFilter {
        let grams_per_window = window - width + 1;
        let slots = (patterns.len() * grams_per_window * 32).next_power_of_two().clamp(1 << 12, 1 << 24);
        let mut filter = GramFilter {
            bits: vec![0; slots / 64],
            hash_shift: 64 - slots.trailing_zeros(),
            width,
            step: grams_per_window,
            reach_back: 0,
        };
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let commonness = |offset: usize| pattern[offset..offset + window].windows(width).filter(|g| looks_common(g)).count();
            let offset = (0..=pattern.len() - window).min_by_key(|&offset| commonness(offset)).unwrap_or(0);
            for at in offset..offset + grams_per_window {
                let gram = if width == 8 { gram_at::<8>(pattern, at) } else { gram_at::<4>(pattern, at) };
                filter.insert(gram);
            }
            filter.reach_back = filter.reach_back.max(offset + window - width);
        }
        filter
    }

    /// Calls `on_match` for each leftmost-longest, non-overlapping match, in order.
    pub(crate) fn for_each_match(&self, haystack: &[u8], mut on_match: impl FnMut(Match)) {
        let Some(automaton) = &self.automaton else { return };
        let Some(filter) = &self.filter else {
            automaton.find_iter(haystack).for_each(on_match);
            return;
        };
        let mut search = |(start, end): (usize, usize)| {
            automaton.find_iter(Input::new(haystack).span(start..end)).for_each(&mut on_match);
        };
        let spans = |checkpoint: usize| (checkpoint.saturating_sub(filter.reach_back), (checkpoint + self.longest).min(haystack.len()));
        if filter.width == 8 {
            sampled_spans::<8>(haystack, filter, spans, &mut search);
        } else {
            sampled_spans::<4>(haystack, filter, spans, &mut search);
        }
    }
}

/// Feeds `search` the merged spans around checkpoints whose gram is indexed.
fn sampled_spans<const WIDTH: usize>(
    haystack: &[u8],
    filter: &GramFilter,
    span_of: impl Fn(usize) -> (usize, usize),
    search: &mut impl FnMut((usize, usize)),
) {
    if haystack.len() < WIDTH {
        return;
    }
    let mut pending: Option<(usize, usize)> = None;
    let last = haystack.len() - WIDTH;
    let mut checkpoint = 0;
    while checkpoint <= last {
        if filter.contains(gram_at::<WIDTH>(haystack, checkpoint)) {
            let (start, end) = span_of(checkpoint);
            pending = match pending {
                Some((pending_start, pending_end)) if start <= pending_end => Some((pending_start, pending_end.max(end))),
                earlier => {
                    if let Some(span) = earlier {
                        search(span);
                    }
                    Some((start, end))
                }
            };
        }
        checkpoint += filter.step;
    }
    if let Some(span) = pending {
        search(span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The prefilter never changes the answer: same matches as the bare automaton.
    fn agrees_with_the_bare_automaton(patterns: &[String], noise: String, insert_at: &[usize]) -> Result<(), TestCaseError> {
        let mut haystack = noise.into_bytes();
        for (i, at) in insert_at.iter().enumerate() {
            let pattern = patterns[i % patterns.len()].as_bytes();
            let at = (*at).min(haystack.len());
            haystack.splice(at..at, pattern.iter().copied());
        }
        let mut found = Vec::new();
        SampledMatcher::new(patterns).for_each_match(&haystack, |m| found.push((m.start(), m.end(), m.pattern())));
        let plain = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(patterns).unwrap();
        let expected: Vec<_> = plain.find_iter(&haystack).map(|m| (m.start(), m.end(), m.pattern())).collect();
        prop_assert_eq!(found, expected);
        Ok(())
    }

    proptest! {
        #[test]
        fn four_byte_grams(
            patterns in proptest::collection::vec("[a-dA-D0-3%&]{5,15}", 1..12),
            noise in "[a-dA-D0-3%& ]{0,400}",
            insert_at in proptest::collection::vec(0usize..400, 0..6),
        ) {
            agrees_with_the_bare_automaton(&patterns, noise, &insert_at)?;
        }

        #[test]
        fn eight_byte_grams(
            patterns in proptest::collection::vec("[a-dA-D0-3%&]{16,48}", 1..12),
            noise in "[a-dA-D0-3%& ]{0,600}",
            insert_at in proptest::collection::vec(0usize..600, 0..6),
        ) {
            agrees_with_the_bare_automaton(&patterns, noise, &insert_at)?;
        }
    }
}
