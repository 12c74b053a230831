//! One aho-corasick automaton behind a sampling prefilter, so most of a haystack never goes
//! through the automaton at all.
//!
//! Every pattern is at least `min_len` bytes long, so every occurrence covers a whole 4-byte
//! gram starting at one of the checkpoints `0, step, 2·step, …` with `step = min_len - 3`, and
//! that gram lies in the `min_len`-byte window of the pattern we indexed. The scan reads one
//! gram per checkpoint, and runs the automaton only around checkpoints whose gram is indexed.
//! Each pattern's window is chosen where its grams look least like ordinary text, which keeps
//! the automaton's share of the work small on real data.

use aho_corasick::{AhoCorasick, Input, Match, MatchKind};

const GRAM: usize = 4;

pub(crate) struct SampledMatcher {
    automaton: Option<AhoCorasick>,
    filter: Option<GramFilter>,
    longest: usize,
}

struct GramFilter {
    bits: Vec<u64>,
    hash_shift: u32,
    step: usize,
    /// How far before a checkpoint an occurrence covering it may start.
    reach_back: usize,
}

impl GramFilter {
    fn slot(&self, gram: u32) -> usize {
        (gram.wrapping_mul(0x9E37_79B1) >> self.hash_shift) as usize
    }

    fn insert(&mut self, gram: u32) {
        let slot = self.slot(gram);
        self.bits[slot / 64] |= 1 << (slot % 64);
    }

    fn contains(&self, gram: u32) -> bool {
        let slot = self.slot(gram);
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }
}

fn gram_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
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
        let filter = (min_len > GRAM).then(|| Self::index(patterns, min_len));
        SampledMatcher { automaton: Some(automaton), filter, longest }
    }

    fn index<P: AsRef<[u8]>>(patterns: &[P], window: usize) -> GramFilter {
        let grams_per_window = window - GRAM + 1;
        let slots = (patterns.len() * grams_per_window * 32).next_power_of_two().clamp(1 << 12, 1 << 24);
        let mut filter = GramFilter {
            bits: vec![0; slots / 64],
            hash_shift: 32 - slots.trailing_zeros(),
            step: grams_per_window,
            reach_back: 0,
        };
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let commonness = |offset: usize| pattern[offset..offset + window].windows(GRAM).filter(|g| looks_common(g)).count();
            let offset = (0..=pattern.len() - window).min_by_key(|&offset| commonness(offset)).unwrap_or(0);
            for at in offset..offset + grams_per_window {
                filter.insert(gram_at(pattern, at));
            }
            filter.reach_back = filter.reach_back.max(offset + window - GRAM);
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
        if haystack.len() < GRAM {
            return;
        }
        let mut search = |(start, end): (usize, usize)| {
            automaton.find_iter(Input::new(haystack).span(start..end)).for_each(&mut on_match);
        };
        let mut pending: Option<(usize, usize)> = None;
        let last = haystack.len() - GRAM;
        let mut checkpoint = 0;
        while checkpoint <= last {
            if filter.contains(gram_at(haystack, checkpoint)) {
                let start = checkpoint.saturating_sub(filter.reach_back);
                let end = (checkpoint + self.longest).min(haystack.len());
                pending = match pending {
                    Some((pending_start, pending_end)) if start <= pending_end => Some((pending_start, pending_end.max(end))),
                    earlier => {
                        earlier.map(&mut search);
                        Some((start, end))
                    }
                };
            }
            checkpoint += filter.step;
        }
        pending.map(search);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The prefilter never changes the answer: same matches as the bare automaton.
        #[test]
        fn sampling_finds_what_the_automaton_finds(
            patterns in proptest::collection::vec("[a-dA-D0-3%&]{5,30}", 1..12),
            noise in "[a-dA-D0-3%& ]{0,400}",
            insert_at in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let mut haystack = noise.into_bytes();
            for (i, at) in insert_at.iter().enumerate() {
                let pattern = patterns[i % patterns.len()].as_bytes();
                let at = (*at).min(haystack.len());
                haystack.splice(at..at, pattern.iter().copied());
            }
            let sampled = SampledMatcher::new(&patterns);
            let mut found = Vec::new();
            sampled.for_each_match(&haystack, |m| found.push((m.start(), m.end(), m.pattern())));
            let plain = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&patterns).unwrap();
            let expected: Vec<_> = plain.find_iter(&haystack).map(|m| (m.start(), m.end(), m.pattern())).collect();
            prop_assert_eq!(found, expected);
        }
    }
}
