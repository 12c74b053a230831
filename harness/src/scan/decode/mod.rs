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
use super::{Canary, RawHit, STREAM_OVERLAP};

/// How many decodings deep a chain may go.
pub(crate) const MAX_DEPTH: usize = 3;
/// The most bytes one decoded run may produce; longer runs are decoded in overlapping pieces.
pub(crate) const MAX_DECODED: usize = 16 << 20;
/// How much consecutive pieces of a long run overlap, so no encoded canary is cut in two.
const PIECE_OVERLAP: usize = 64 << 10;
/// Haystacks this long or longer are decoded in pieces, in parallel.
const PARALLEL_PIECE: usize = 4 << 20;
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

/// Maps positions in a decoded run back to the buffer it came from: piecewise linear from the
/// origin, with a checkpoint wherever the ratio breaks (an escape, a line fold, a multi-byte
/// character).
struct OffsetMap {
    origin: usize,
    checkpoints: Vec<(usize, usize)>,
    /// Source bytes per decoded byte, as (numerator, denominator); (0, 1) for compressed runs,
    /// whose every position maps to where the stream starts.
    ratio: (usize, usize),
    /// For compressed runs, how many source bytes the stream took.
    opaque_len: usize,
}

impl OffsetMap {
    fn new(source_start: usize, ratio: (usize, usize)) -> OffsetMap {
        OffsetMap::with_checkpoints(source_start, ratio, 0)
    }

    fn with_checkpoints(source_start: usize, ratio: (usize, usize), expected: usize) -> OffsetMap {
        OffsetMap { origin: source_start, checkpoints: Vec::with_capacity(expected), ratio, opaque_len: 0 }
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
        let before = self.checkpoints.partition_point(|&(at, _)| at <= decoded);
        let (at, source) = before.checked_sub(1).map_or((0, self.origin), |index| self.checkpoints[index]);
        source + (decoded - at) * self.ratio.0 / self.ratio.1
    }
}

/// A decoded run, ready to be searched.
struct Decoded {
    bytes: Vec<u8>,
    step: Step,
    map: OffsetMap,
    /// For escape decoders, the decoded ranges escapes produced (all else is copied through);
    /// `None` when every byte is new.
    changed: Option<Vec<(usize, usize)>>,
}

impl Decoded {
    fn new(bytes: Vec<u8>, step: Step, map: OffsetMap) -> Decoded {
        Decoded { bytes, step, map, changed: None }
    }
}

/// Which parts of a buffer are new at this level. Below an escape decoder, runs lying wholly in
/// copied-through text were already examined one level up; only those touching an escape's
/// output are worth decoding again.
#[derive(Clone, Copy)]
struct Fresh<'a>(Option<&'a [(usize, usize)]>);

impl Fresh<'_> {
    fn touches(self, start: usize, end: usize) -> bool {
        let Some(changed) = self.0 else { return true };
        let first_ending_after = changed.partition_point(|&(_, changed_end)| changed_end < start);
        changed.get(first_ending_after).is_some_and(|&(changed_start, _)| changed_start <= end)
    }
}

/// Bytes text is made of: printable ASCII, whitespace, and NUL (UTF-16 text is half NULs).
const TEXTUAL: [bool; 256] = {
    let mut textual = [false; 256];
    let mut byte = 0x20;
    while byte < 0x7f {
        textual[byte] = true;
        byte += 1;
    }
    textual[b'\t' as usize] = true;
    textual[b'\n' as usize] = true;
    textual[b'\r' as usize] = true;
    textual[0] = true;
    textual
};

/// Whether `sample` is (at least 85%) text.
fn is_text(sample: &[u8]) -> bool {
    let textual = sample.iter().map(|&b| usize::from(TEXTUAL[usize::from(b)])).sum::<usize>();
    !sample.is_empty() && textual * 100 >= sample.len() * 85
}

/// Whether decoded bytes look like text, judged on a sample. The first bytes are skipped: a
/// word glued to a base64 run decodes to a few bytes of garbage before the text.
fn looks_like_text(bytes: &[u8]) -> bool {
    is_text(&bytes[bytes.len().min(6)..bytes.len().min(70)])
}

/// Printable ASCII: what a raw canary's stretches inside binary data are measured in.
fn is_printable(byte: u8) -> bool {
    (0x20..0x7f).contains(&byte)
}

fn longest_printable_stretch(value: &[u8]) -> usize {
    value.split(|&b| !is_printable(b)).map(<[u8]>::len).max().unwrap_or(0)
}

fn is_compressed_stream(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || matches!(bytes, [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..])
}

struct Frame {
    step: Step,
    map: OffsetMap,
}

/// What the run finders need to know about the canaries.
struct RunContext {
    /// The longest canary, in bytes: how far an escaped run reaches past its last escape.
    reach: usize,
    /// The shortest canary, in bytes: a decoded buffer shorter than this holds no encoded canary
    /// (an encoding never shrinks a value, and a compressed stream has headers).
    shortest: usize,
    /// The shortest of the canaries' longest stretches of printable ASCII: what a raw canary
    /// inside binary data shows at least.
    printable_stretch: usize,
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
                shortest: values.iter().map(|v| v.len()).min().unwrap_or(0),
                printable_stretch: values.iter().map(|v| longest_printable_stretch(v)).min().unwrap_or(0),
                plus_as_space: values.iter().any(|v| v.contains(&b' ')),
            },
        }
    }

    /// Appends what decoding `haystack` reveals. Fragments are searched in decoded runs only:
    /// at the top level the fragment pass has already looked.
    ///
    /// A long haystack is decoded in pieces, one per core. Each piece is read with
    /// [`STREAM_OVERLAP`] bytes of its neighbours on both sides, so a run crossing its edges is
    /// seen whole (as a streamed scan sees it), and keeps the hits that start inside it.
    pub(crate) fn find(&self, haystack: &[u8], fragments: &FragmentPass, hits: &mut Vec<RawHit>) {
        if self.context.reach == 0 {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        self.find_in_pieces(haystack, (haystack.len() / PARALLEL_PIECE).clamp(1, cores), fragments, hits);
    }

    fn find_in_pieces(&self, haystack: &[u8], pieces: usize, fragments: &FragmentPass, hits: &mut Vec<RawHit>) {
        if pieces == 1 {
            self.search(haystack, None, Fresh(None), &mut Vec::new(), fragments, hits);
            return;
        }
        let stride = haystack.len().div_ceil(pieces);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..pieces)
                .map(|piece| {
                    let owned = piece * stride..((piece + 1) * stride).min(haystack.len());
                    let window = owned.start.saturating_sub(STREAM_OVERLAP)..(owned.end + STREAM_OVERLAP).min(haystack.len());
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        self.search(&haystack[window.clone()], None, Fresh(None), &mut Vec::new(), fragments, &mut found);
                        found.retain_mut(|hit| {
                            hit.start += window.start;
                            hit.end += window.start;
                            if hit.exact {
                                hit.inner = (hit.start, hit.end);
                            }
                            owned.contains(&hit.start)
                        });
                        found
                    })
                })
                .collect();
            for worker in workers {
                hits.extend(worker.join().expect("a decoding piece never panics"));
            }
        });
    }

    /// Searches `buffer`, decoded from `parent` by the last of `frames`.
    fn search(
        &self,
        buffer: &[u8],
        parent: Option<&[u8]>,
        fresh: Fresh<'_>,
        frames: &mut Vec<Frame>,
        fragments: &FragmentPass,
        hits: &mut Vec<RawHit>,
    ) {
        // What a byte decoder (base64, hex, inflate) produced is searched for raw values
        // whatever it is, but searched for fragments, and decoded further, only when it is text
        // (or a compressed stream): decoded garbage — a wrong base64 alignment, a random blob —
        // stops here.
        let below_a_byte_decoder = fresh.0.is_none() && !frames.is_empty();
        let text = !below_a_byte_decoder || looks_like_text(buffer);
        let mut found = Vec::new();
        let mut search_window = |(start, end): (usize, usize)| {
            let window = &buffer[start..end];
            let before = found.len();
            self.raw.for_each_match(window, |m| found.push(RawHit::exact(m.pattern().as_usize(), m.start(), m.end(), String::new())));
            if !frames.is_empty() && text {
                fragments.find(window, "fragment", &mut found);
            }
            for hit in &mut found[before..] {
                hit.start += start;
                hit.end += start;
            }
        };
        match fresh.0 {
            None => search_window((0, buffer.len())),
            Some(changed) => self.escape_neighbourhoods(buffer.len(), changed).into_iter().for_each(search_window),
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
        if frames.len() == MAX_DEPTH || buffer.len() < self.context.shortest || !(text || is_compressed_stream(buffer)) {
            return;
        }
        for_each_decoded(buffer, &self.context, fresh, &mut |decoded| {
            frames.push(Frame { step: decoded.step, map: decoded.map });
            self.search(&decoded.bytes, Some(buffer), Fresh(decoded.changed.as_deref()), frames, fragments, hits);
            frames.pop();
        });
    }
}

impl DecodingPass {
    /// Below an escape decoder, where to look for canaries: around each escape's output.
    /// Anything else was copied through and is the level above's to report.
    fn escape_neighbourhoods(&self, length: usize, changed: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let reach = self.context.reach;
        let mut windows: Vec<(usize, usize)> = Vec::new();
        for &(start, end) in changed {
            let window = (start.saturating_sub(reach), (end + reach).min(length));
            match windows.last_mut() {
                Some(last) if window.0 <= last.1 => last.1 = last.1.max(window.1),
                _ => windows.push(window),
            }
        }
        windows
    }
}

fn for_each_decoded(buffer: &[u8], context: &RunContext, fresh: Fresh<'_>, on_decoded: &mut dyn FnMut(Decoded)) {
    let mut keep = |decoded: Decoded| {
        if decoded.bytes.len() >= MIN_DECODED {
            on_decoded(decoded);
        }
    };
    alphabets::decode_runs(buffer, context, fresh, &mut keep);
    escapes::decode_clusters(buffer, context, fresh, &mut keep);
    utf16::decode_runs(buffer, fresh, &mut keep);
    compressed::decode_streams(buffer, fresh, &mut keep);
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
    fn fresh_regions_and_the_text_gate() {
        let changed = [(10, 12), (40, 41)];
        let fresh = Fresh(Some(&changed));
        assert!(fresh.touches(0, 10) && fresh.touches(12, 20) && fresh.touches(30, 45));
        assert!(!fresh.touches(13, 39) && !fresh.touches(42, 99) && !fresh.touches(0, 9));
        assert!(Fresh(None).touches(5, 6));
        assert!(looks_like_text(b"\xff\x00\x13 a plain sentence that is text {\"json\": true} and more text"));
        assert!(is_compressed_stream(&[0x1f, 0x8b, 8, 0, 0xff, 0xfe]));
        let garbage: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(!looks_like_text(&garbage) && !is_compressed_stream(&garbage));
    }

    #[test]
    fn decoding_in_parallel_pieces_finds_what_one_piece_finds() {
        use base64::Engine as _;
        use std::io::Write as _;
        let canaries = [Canary::new("AGENCY_OS_A", "Zx9Qp7LmTk4R/+=:&\"<%éWq3Ns7Yb2KdV"), Canary::new("AGENCY_OS_B", "sm-4kQ9vX2pLr7TzW8nB3cYh6Jd")];
        let (pass, fragments) = (DecodingPass::new(&canaries), FragmentPass::new(&canaries));
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(format!("{{\"token\":\"{}\"}}", canaries[1].expose_value()).as_bytes()).unwrap();
        let leaks: Vec<Vec<u8>> = vec![
            base64::engine::general_purpose::STANDARD.encode(format!("note {} end", canaries[0].expose_value())).into_bytes(),
            canaries[1].expose_value().replace('-', "%2D").into_bytes(),
            gzip.finish().unwrap(),
        ];
        // Leaks on and around each piece's edges, for three pieces.
        let mut haystack = b"ordinary text, a line of it\n".repeat(3 * STREAM_OVERLAP / 10);
        let stride = haystack.len().div_ceil(3);
        for edge in [stride, 2 * stride] {
            for (shift, leak) in [0usize, 150, 300].iter().flat_map(|&back| leaks.iter().enumerate().map(move |(i, leak)| (back + 50 * i, leak))) {
                let at = edge - shift - leak.len() / 2;
                haystack.splice(at..at + leak.len(), leak.iter().copied());
            }
        }
        let spans = |pieces: usize| {
            let mut hits = Vec::new();
            pass.find_in_pieces(&haystack, pieces, &fragments, &mut hits);
            let mut spans: Vec<_> = hits.into_iter().map(|hit| (hit.canary, hit.start, hit.end, hit.encoding)).collect();
            spans.sort();
            spans
        };
        let whole = spans(1);
        for edge in [stride, 2 * stride] {
            let near: Vec<&str> = whole.iter().filter(|hit| hit.1.abs_diff(edge) < 1000).map(|hit| hit.3.as_str()).collect();
            assert!(["base64", "url", "gzip"].iter().all(|step| near.iter().any(|found| found.starts_with(step))), "{near:?}");
        }
        assert_eq!(spans(3), whole);
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
