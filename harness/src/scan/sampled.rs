//! One aho-corasick automaton behind a sampling prefilter, so most of a haystack never goes
//! through the automaton at all.
//!
//! Every pattern is at least `min_len` bytes long, so every occurrence covers a whole gram of
//! `width` bytes starting at one of the checkpoints `0, step, 2·step, …` with
//! `step = min_len - width + 1`, and that gram lies in the `min_len`-byte window of the pattern
//! we indexed. The scan reads one gram per checkpoint and runs the automaton only over the
//! span the patterns holding that gram could cover. Grams are 8 bytes when patterns allow it
//! (selective even where patterns hold escapes the text is full of, like `\u00e9` or `&amp;`),
//! else 4. Each pattern's window is placed where its grams look least like ordinary text.

use aho_corasick::{AhoCorasick, Input, Match, MatchKind};

pub(crate) struct SampledMatcher {
    automaton: Option<AhoCorasick>,
    filter: Option<GramFilter>,
}

/// The indexed grams: a bitset for the common answer (not indexed), then an exact table that
/// also says how far past a gram the patterns holding it reach.
struct GramFilter {
    bits: Vec<u64>,
    bits_shift: u32,
    slots: Vec<GramSlot>,
    slots_shift: u32,
    width: usize,
    step: usize,
    /// How far before an indexed gram an occurrence may start: one figure for all grams, so
    /// spans come in order and merge.
    reach_back: usize,
}

#[derive(Clone, Copy, Default)]
struct GramSlot {
    gram: u64,
    /// How far after the gram's start an occurrence holding it can end.
    forward: usize,
    used: bool,
}

fn hash(gram: u64, shift: u32) -> usize {
    (gram.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl GramFilter {
    fn new(grams: usize, width: usize, step: usize) -> GramFilter {
        let bits = (grams * 32).next_power_of_two().clamp(1 << 12, 1 << 24);
        let slots = (grams * 2).next_power_of_two().max(16);
        GramFilter {
            bits: vec![0; bits / 64],
            bits_shift: 64 - bits.trailing_zeros(),
            slots: vec![GramSlot::default(); slots],
            slots_shift: 64 - slots.trailing_zeros(),
            width,
            step,
            reach_back: 0,
        }
    }

    fn slot_of(&self, gram: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut index = hash(gram, self.slots_shift);
        while self.slots[index].used && self.slots[index].gram != gram {
            index = (index + 1) & mask;
        }
        index
    }

    fn insert(&mut self, gram: u64, back: usize, forward: usize) {
        let bit = hash(gram, self.bits_shift);
        self.bits[bit / 64] |= 1 << (bit % 64);
        let index = self.slot_of(gram);
        let slot = &mut self.slots[index];
        *slot = GramSlot { gram, forward: slot.forward.max(forward), used: true };
        self.reach_back = self.reach_back.max(back);
    }

    /// The span an occurrence holding the gram at `at` could cover, if the gram is indexed.
    fn span(&self, gram: u64, at: usize) -> Option<(usize, usize)> {
        let bit = hash(gram, self.bits_shift);
        if self.bits[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        let slot = &self.slots[self.slot_of(gram)];
        slot.used.then(|| (at.saturating_sub(self.reach_back), at + slot.forward))
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
        let min_len = patterns.iter().map(|p| p.as_ref().len()).min().unwrap_or(0);
        if patterns.is_empty() || min_len == 0 {
            return SampledMatcher { automaton: None, filter: None };
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            .expect("scanner patterns are bounded in number and length");
        let width = if min_len >= 16 { 8 } else { 4 };
        let filter = (min_len > width).then(|| Self::index(patterns, min_len, width));
        SampledMatcher { automaton: Some(automaton), filter }
    }

    fn index<P: AsRef<[u8]>>(patterns: &[P], window: usize, width: usize) -> GramFilter {
        let grams_per_window = window - width + 1;
        let mut filter = GramFilter::new(patterns.len() * grams_per_window, width, grams_per_window);
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let commonness = |offset: usize| pattern[offset..offset + window].windows(width).filter(|g| looks_common(g)).count();
            let offset = (0..=pattern.len() - window).min_by_key(|&offset| commonness(offset)).unwrap_or(0);
            for at in offset..offset + grams_per_window {
                let gram = if width == 8 { gram_at::<8>(pattern, at) } else { gram_at::<4>(pattern, at) };
                filter.insert(gram, at, pattern.len() - at);
            }
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
            automaton.find_iter(Input::new(haystack).span(start..end.min(haystack.len()))).for_each(&mut on_match);
        };
        if filter.width == 8 {
            sampled_spans::<8>(haystack, filter, &mut search);
        } else {
            sampled_spans::<4>(haystack, filter, &mut search);
        }
    }
}

/// Feeds `search` the merged spans around checkpoints whose gram is indexed.
fn sampled_spans<const WIDTH: usize>(haystack: &[u8], filter: &GramFilter, search: &mut impl FnMut((usize, usize))) {
    if haystack.len() < WIDTH {
        return;
    }
    let mut pending: Option<(usize, usize)> = None;
    let last = haystack.len() - WIDTH;
    let mut checkpoint = 0;
    while checkpoint <= last {
        if let Some((start, end)) = filter.span(gram_at::<WIDTH>(haystack, checkpoint), checkpoint) {
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
            patterns in proptest::collection::vec("[a-dA-D0-3%&]{16,90}", 1..16),
            noise in "[a-dA-D0-3%& ]{0,600}",
            insert_at in proptest::collection::vec(0usize..600, 0..6),
        ) {
            agrees_with_the_bare_automaton(&patterns, noise, &insert_at)?;
        }
    }
}
