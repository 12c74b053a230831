//! The decoding pass.
//!
//! INDEPENDENT OF THE VARIANT GENERATOR, ON PURPOSE: nothing here calls
//! `agency_core::redact::variants`, nor shares its encoders or tables. Instead of enumerating
//! encodings, this pass finds runs that decode — base64 (standard or URL-safe, at any alignment,
//! folded across lines), hex, percent-encoding, JSON/Rust backslash escapes, HTML entities,
//! UTF-16, gzip and zlib bodies — decodes them, recursively up to [`MAX_DEPTH`], each decoded
//! run capped at [`MAX_DECODED`] bytes, and searches what comes out for the canaries' raw values
//! and fragments. A form the generator misses, or one no variant list can enumerate (nesting,
//! folding, compression), is still found here. The sanitizer and the variant pass share the
//! generator; keep this module free of it so the two checks stay independent.

mod alphabets;
mod compressed;
mod escapes;
mod utf16;

use super::passes::FragmentPass;
use super::sampled::SampledMatcher;
use super::{Canary, RawHit};

/// How many decodings deep a chain may go.
pub(crate) const MAX_DEPTH: usize = 3;
/// The most bytes one decoded run may produce; longer runs are decoded in overlapping pieces.
pub(crate) const MAX_DECODED: usize = 16 << 20;
/// How much consecutive pieces of a long run overlap, so no encoded canary is cut in two.
const PIECE_OVERLAP: usize = 64 << 10;
/// Decoded runs shorter than this cannot hold a fragment.
const MIN_DECODED: usize = 6;

/// One decoding step of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Base64 { folded: bool },
    Hex,
    Percent,
    Backslash,
    Html,
    Utf16Le,
    Utf16Be,
    Gzip,
    Zlib,
}

impl Step {
    /// The step's name in a chain; `at` is where, in this step's output, the next thing sits
    /// (base64 reports the alignment the variant generator calls a shift).
    fn label(self, at: usize) -> String {
        match self {
            Step::Base64 { folded: false } => format!("base64(shift {})", at % 3),
            Step::Base64 { folded: true } => format!("base64(folded, shift {})", at % 3),
            Step::Hex => "hex".into(),
            Step::Percent => "url".into(),
            Step::Backslash => "json".into(),
            Step::Html => "html".into(),
            Step::Utf16Le => "utf16le".into(),
            Step::Utf16Be => "utf16be".into(),
            Step::Gzip => "gzip".into(),
            Step::Zlib => "deflate".into(),
        }
    }
}

/// Maps positions in a decoded run back to the buffer it came from: piecewise linear, with a
/// checkpoint wherever the ratio breaks (an escape, a line fold, a multi-byte character).
struct OffsetMap {
    checkpoints: Vec<(usize, usize)>,
    /// Source bytes per decoded byte, as (numerator, denominator); (0, 1) for compressed runs,
    /// whose every position maps to where the stream starts.
    ratio: (usize, usize),
    /// For compressed runs, how many source bytes the stream took.
    opaque_len: usize,
}

impl OffsetMap {
    fn new(source_start: usize, ratio: (usize, usize)) -> OffsetMap {
        OffsetMap { checkpoints: vec![(0, source_start)], ratio, opaque_len: 0 }
    }

    fn opaque(source_start: usize, source_len: usize) -> OffsetMap {
        OffsetMap { opaque_len: source_len, ..OffsetMap::new(source_start, (0, 1)) }
    }

    fn mark(&mut self, decoded: usize, source: usize) {
        self.checkpoints.push((decoded, source));
    }

    fn is_opaque(&self) -> bool {
        self.ratio.0 == 0
    }

    fn to_source(&self, decoded: usize) -> usize {
        let index = self.checkpoints.partition_point(|&(at, _)| at <= decoded).saturating_sub(1);
        let (at, source) = self.checkpoints[index];
        source + (decoded - at) * self.ratio.0 / self.ratio.1
    }
}

/// A decoded run, ready to be searched.
struct Decoded {
    bytes: Vec<u8>,
    step: Step,
    map: OffsetMap,
}

struct Frame {
    step: Step,
    map: OffsetMap,
}

/// What the run finders need to know about the canaries.
struct RunContext {
    /// The longest canary, in bytes: how far an escaped run reaches past its last escape.
    reach: usize,
    /// Whether `+` in percent-encoded runs should also be read as a space (only worth it when a
    /// canary contains a space).
    plus_as_space: bool,
}

pub(crate) struct DecodingPass {
    /// The raw canary values; pattern IDs are canary indices. Built from the values directly.
    raw: SampledMatcher,
    context: RunContext,
}

impl DecodingPass {
    pub(crate) fn new(canaries: &[Canary]) -> DecodingPass {
        let values: Vec<&[u8]> = canaries.iter().map(|c| c.expose_value().as_bytes()).collect();
        DecodingPass {
            raw: SampledMatcher::new(&values),
            context: RunContext {
                reach: values.iter().map(|v| v.len()).max().unwrap_or(0),
                plus_as_space: values.iter().any(|v| v.contains(&b' ')),
            },
        }
    }

    /// Appends what decoding `haystack` reveals. Fragments are searched in decoded runs only:
    /// at the top level the fragment pass has already looked.
    pub(crate) fn find(&self, haystack: &[u8], fragments: &FragmentPass, hits: &mut Vec<RawHit>) {
        if self.context.reach > 0 {
            self.search(haystack, None, &mut Vec::new(), fragments, hits);
        }
    }

    /// Searches `buffer`, decoded from `parent` by the last of `frames`.
    fn search(&self, buffer: &[u8], parent: Option<&[u8]>, frames: &mut Vec<Frame>, fragments: &FragmentPass, hits: &mut Vec<RawHit>) {
        let mut found = Vec::new();
        self.raw.for_each_match(buffer, |m| found.push(RawHit::exact(m.pattern().as_usize(), m.start(), m.end(), String::new())));
        if !frames.is_empty() {
            fragments.find(buffer, "fragment", &mut found);
        }
        // Bytes an escape decoder copied through unchanged are the parent level's to report.
        let copied_verbatim = |hit: &RawHit| match (parent, frames.last()) {
            (Some(parent), Some(frame)) if !frame.map.is_opaque() => {
                parent.get(frame.map.to_source(hit.start)..frame.map.to_source(hit.end)) == Some(&buffer[hit.start..hit.end])
            }
            _ => false,
        };
        found.retain(|hit| !copied_verbatim(hit));
        hits.extend(found.into_iter().map(|hit| locate(frames, hit)));
        if frames.len() == MAX_DEPTH {
            return;
        }
        for_each_decoded(buffer, &self.context, &mut |decoded| {
            frames.push(Frame { step: decoded.step, map: decoded.map });
            self.search(&decoded.bytes, Some(buffer), frames, fragments, hits);
            frames.pop();
        });
    }
}

fn for_each_decoded(buffer: &[u8], context: &RunContext, on_decoded: &mut dyn FnMut(Decoded)) {
    let mut keep = |decoded: Decoded| {
        if decoded.bytes.len() >= MIN_DECODED {
            on_decoded(decoded);
        }
    };
    alphabets::decode_runs(buffer, &mut keep);
    escapes::decode_clusters(buffer, context, &mut keep);
    utf16::decode_runs(buffer, &mut keep);
    compressed::decode_streams(buffer, &mut keep);
}

/// Splits `start..end` into pieces of at most `max` bytes overlapping by [`PIECE_OVERLAP`].
fn pieces(start: usize, end: usize, max: usize) -> impl Iterator<Item = (usize, usize)> {
    let stride = max - PIECE_OVERLAP;
    (start..end)
        .step_by(stride)
        .map(move |piece_start| (piece_start, (piece_start + max).min(end)))
        .take_while(move |&(piece_start, _)| piece_start == start || piece_start + PIECE_OVERLAP < end)
}

/// Turns a hit in the innermost decoded buffer into one in the haystack, naming the chain
/// outermost step first, e.g. `json→base64(shift 1)`. A hit inside a compressed stream spans
/// the whole stream, and keeps its span inside the stream's output to tell occurrences apart.
fn locate(frames: &[Frame], hit: RawHit) -> RawHit {
    let (mut start, mut end) = (hit.start, hit.end);
    let mut inner = None;
    let mut labels = Vec::with_capacity(frames.len() + 1);
    for frame in frames.iter().rev() {
        labels.push(frame.step.label(start));
        if frame.map.is_opaque() && inner.is_none() {
            inner = Some((start, end));
        }
        start = frame.map.to_source(start);
        end = if frame.map.is_opaque() { start + frame.map.opaque_len } else { frame.map.to_source(end).max(start) };
    }
    labels.reverse();
    if !hit.encoding.is_empty() {
        labels.push(hit.encoding.clone());
    }
    let encoding = if labels.is_empty() { "raw".to_owned() } else { labels.join("→") };
    RawHit { start, end, encoding, exact: inner.is_none(), inner: inner.unwrap_or((start, end)), ..hit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_maps_are_piecewise_linear() {
        let mut map = OffsetMap::new(100, (4, 3));
        assert_eq!(map.to_source(0), 100);
        assert_eq!(map.to_source(3), 104);
        assert_eq!(map.to_source(4), 105);
        map.mark(57, 178);
        assert_eq!(map.to_source(60), 182);
        assert_eq!(OffsetMap::opaque(7, 20).to_source(1000), 7);
    }

    #[test]
    fn pieces_cover_long_runs_with_overlap() {
        let max = 4 * PIECE_OVERLAP;
        assert_eq!(pieces(10, 20, max).collect::<Vec<_>>(), [(10, 20)]);
        let all: Vec<_> = pieces(0, 10 * PIECE_OVERLAP, max).collect();
        assert_eq!(all.first().unwrap().0, 0);
        assert_eq!(all.last().unwrap().1, 10 * PIECE_OVERLAP);
        assert!(all.windows(2).all(|w| w[1].0 + PIECE_OVERLAP == w[0].1));
    }
}
