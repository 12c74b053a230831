//! The leak scanner: finds every canary, in every encoding, in any sink or file.
//!
//! Three passes, each on its own, then merged:
//!
//! 1. the **variant pass** matches the precomputed variants of every canary (the generator the
//!    runtime's sanitizer uses, `agency_core::redact::variants`) with one aho-corasick automaton
//!    behind a sampling prefilter ([`sampled`]);
//! 2. the **fragment pass** matches every run of a canary's random part long enough to carry
//!    48 bits, as truncated, line-split and masked credentials leave behind;
//! 3. the **decoding pass** ([`decode`]) decodes what it finds, recursively, and searches the
//!    decoded text. It never uses the variant generator, so a blind spot there is caught here.
//!
//! Where several passes see the same occurrence, it is reported once, named by the first pass
//! that saw it (variants, then decoding, then fragments). Reports carry the binding and the
//! canary masked, never the value.

mod canary;
pub mod cli;
mod decode;
mod passes;
mod sampled;
mod stream;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

pub use canary::Canary;
pub use cli::{run, run_with_output, scan_path, ScanArgs};
pub use stream::{StreamHit, STREAM_CHUNK, STREAM_OVERLAP};

use decode::DecodingPass;
use passes::{FragmentPass, VariantPass};

/// One occurrence of a canary in a haystack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub binding: String,
    /// The encoding or decoding chain, outermost first, e.g. `json→base64(shift 1)`.
    pub encoding: String,
    /// Byte offset in the haystack where the (encoded) occurrence starts.
    pub offset: usize,
    pub masked: String,
}

/// A hit in a named place: the `--json` shape of `agency-harness scan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The sink or file.
    pub path: String,
    /// Where in it: `table T, row K, column C`, an object key, a JSON pointer, `line N`, a header.
    pub location: String,
    pub binding: String,
    pub encoding: String,
    pub offset: usize,
    pub masked: String,
}

impl Finding {
    pub fn new(path: impl Into<String>, location: impl Into<String>, hit: Hit) -> Finding {
        Finding {
            path: path.into(),
            location: location.into(),
            binding: hit.binding,
            encoding: hit.encoding,
            offset: hit.offset,
            masked: hit.masked,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} ({}) as {} at byte {}",
            self.path, self.location, self.binding, self.masked, self.encoding, self.offset
        )
    }
}

/// A hit before it is reported, with the span used to merge what several passes found.
#[derive(Clone, Debug)]
struct RawHit {
    canary: usize,
    /// The login of a Basic-auth pair hit (reported for the password, covering both).
    partner: Option<usize>,
    start: usize,
    end: usize,
    encoding: String,
    /// False inside compressed streams, whose positions all map to the stream's start.
    exact: bool,
    /// For inexact hits, the span in the innermost compressed stream's output, telling apart
    /// occurrences inside one stream.
    inner: (usize, usize),
}

impl RawHit {
    fn exact(canary: usize, start: usize, end: usize, encoding: String) -> RawHit {
        RawHit { canary, partner: None, start, end, encoding, exact: true, inner: (start, end) }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Variants,
    Decoding,
    Fragments,
}

const ALL_PASSES: [Pass; 3] = [Pass::Variants, Pass::Decoding, Pass::Fragments];

/// Accepted spans of one canary: earlier passes' (sorted, with running maximum end) and the
/// current pass's (admitted in start order, so only their furthest end matters).
#[derive(Default)]
struct CanarySpans {
    frozen: Vec<(usize, usize)>,
    frozen_max_end: Vec<usize>,
    current: Vec<(usize, usize)>,
    current_max_end: usize,
}

impl CanarySpans {
    fn overlaps(&self, start: usize, end: usize) -> bool {
        let before_end = self.frozen.partition_point(|&(s, _)| s < end);
        (before_end > 0 && self.frozen_max_end[before_end - 1] > start) || self.current_max_end > start
    }

    fn freeze(&mut self) {
        self.frozen.append(&mut self.current);
        self.frozen.sort_unstable();
        self.frozen_max_end = self.frozen.iter().scan(0, |max, &(_, e)| { *max = e.max(*max); Some(*max) }).collect();
        self.current_max_end = 0;
    }
}

/// Drops hits that repeat an occurrence already accepted for the same canary.
#[derive(Default)]
struct Dedupe {
    spans: HashMap<usize, CanarySpans>,
    /// Inexact hits by (canary, stream start): their spans inside the stream.
    inexact: HashMap<(usize, usize), Vec<(usize, usize)>>,
    /// The compressed streams inexact hits were found in, by canary.
    streams: HashMap<usize, Vec<(usize, usize)>>,
}

impl Dedupe {
    fn admit_pass(&mut self, mut hits: Vec<RawHit>, accepted: &mut Vec<RawHit>) {
        // Earliest first, then the fullest: a whole canary before the fragments inside it.
        hits.sort_by_key(|hit| (hit.start, std::cmp::Reverse(hit.end), hit.inner.0, std::cmp::Reverse(hit.inner.1)));
        for hit in hits {
            if self.admit(&hit) {
                accepted.push(hit);
            }
        }
        self.spans.values_mut().for_each(CanarySpans::freeze);
    }

    /// An exact hit repeats an accepted exact hit it overlaps, or a compressed stream an
    /// inexact one was found in (a stored deflate block shows its text as is); an inexact hit
    /// repeats one overlapping it inside the same stream.
    fn admit(&mut self, hit: &RawHit) -> bool {
        let overlapping = |spans: &[(usize, usize)], (start, end): (usize, usize)| spans.iter().any(|&(s, e)| s < end && start < e);
        let end = hit.end.max(hit.start + 1);
        let streams_with = |canary: &usize| self.streams.get(canary).is_some_and(|streams| overlapping(streams, (hit.start, end)));
        let spans_with = |canary: &usize| self.spans.get(canary).is_some_and(|spans| spans.overlaps(hit.start, end));
        if !hit.exact {
            let inner = (hit.inner.0, hit.inner.1.max(hit.inner.0 + 1));
            if spans_with(&hit.canary) || self.inexact.get(&(hit.canary, hit.start)).is_some_and(|inside| overlapping(inside, inner)) {
                return false;
            }
            self.inexact.entry((hit.canary, hit.start)).or_default().push(inner);
            self.streams.entry(hit.canary).or_default().push((hit.start, end));
            return true;
        }
        let covered = [Some(hit.canary), hit.partner];
        if covered.iter().flatten().any(|c| spans_with(c) || streams_with(c)) {
            return false;
        }
        for &canary in covered.iter().flatten() {
            let spans = self.spans.entry(canary).or_default();
            spans.current.push((hit.start, end));
            spans.current_max_end = spans.current_max_end.max(end);
        }
        true
    }
}

/// Binding-name conventions for Basic-auth pairs: `X_LOGIN`/`X_PASSWORD` and
/// `X_CLIENT_ID`/`X_CLIENT_SECRET` (OAuth token endpoints take client credentials that way).
const PAIR_SUFFIXES: [(&str, &str); 2] = [("_LOGIN", "_PASSWORD"), ("_CLIENT_ID", "_CLIENT_SECRET")];

/// Finds every canary, in every encoding. Build once per set of canaries; `scan` is `&self`.
pub struct Scanner {
    canaries: Vec<Canary>,
    explicit_pairs: Vec<(String, String)>,
    variant_pass: VariantPass,
    fragment_pass: FragmentPass,
    decoding_pass: DecodingPass,
}

impl Scanner {
    /// A scanner for `canaries`, pairing logins with passwords (and client IDs with client
    /// secrets) for Basic auth by binding name: `X_LOGIN` with `X_PASSWORD`, `X_CLIENT_ID` with
    /// `X_CLIENT_SECRET`.
    pub fn new(canaries: Vec<Canary>) -> Scanner {
        Scanner::with_pairs(canaries, &[])
    }

    /// Like [`Scanner::new`], with more Basic-auth pairs given as (login binding, password binding).
    pub fn with_pairs(canaries: Vec<Canary>, pairs: &[(&str, &str)]) -> Scanner {
        let explicit_pairs = pairs.iter().map(|&(login, password)| (login.to_owned(), password.to_owned())).collect();
        Scanner::build(canaries, explicit_pairs)
    }

    fn build(canaries: Vec<Canary>, explicit_pairs: Vec<(String, String)>) -> Scanner {
        let index_of = |binding: &str| canaries.iter().position(|c| c.binding() == binding);
        let mut pairs: Vec<(usize, usize)> = explicit_pairs.iter().filter_map(|(l, p)| Some((index_of(l)?, index_of(p)?))).collect();
        for (login, canary) in canaries.iter().enumerate() {
            for (login_suffix, password_suffix) in PAIR_SUFFIXES {
                let Some(stem) = canary.binding().strip_suffix(login_suffix) else { continue };
                if let Some(password) = index_of(&format!("{stem}{password_suffix}")) {
                    pairs.push((login, password));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        Scanner {
            variant_pass: VariantPass::new(&canaries, &pairs),
            fragment_pass: FragmentPass::new(&canaries),
            decoding_pass: DecodingPass::new(&canaries),
            canaries,
            explicit_pairs,
        }
    }

    /// Adds a canary minted during a run (an access token a fake just issued).
    pub fn register(&mut self, canary: Canary) {
        let mut canaries = std::mem::take(&mut self.canaries);
        canaries.push(canary);
        *self = Scanner::build(canaries, std::mem::take(&mut self.explicit_pairs));
    }

    pub fn canaries(&self) -> &[Canary] {
        &self.canaries
    }

    /// Every canary occurrence in `haystack`, by all three passes, in offset order.
    pub fn scan(&self, haystack: &[u8]) -> Vec<Hit> {
        self.report(self.collect(haystack, &ALL_PASSES, &[]))
    }

    /// The variant pass alone.
    pub fn scan_variants(&self, haystack: &[u8]) -> Vec<Hit> {
        self.report(self.collect(haystack, &[Pass::Variants], &[]))
    }

    /// The fragment pass alone.
    pub fn scan_fragments(&self, haystack: &[u8]) -> Vec<Hit> {
        self.report(self.collect(haystack, &[Pass::Fragments], &[]))
    }

    /// The decoding pass alone (independent of the variant generator).
    pub fn scan_decoded(&self, haystack: &[u8]) -> Vec<Hit> {
        self.report(self.collect(haystack, &[Pass::Decoding], &[]))
    }

    /// Every string (and object key, and number) in `value`, each with its JSON pointer. A key
    /// holding a canary is shown as `[masked key]` in pointers.
    pub fn scan_json(&self, value: &Value) -> Vec<(String, Hit)> {
        let mut found = Vec::new();
        self.walk_json(value, &mut String::new(), &mut found);
        found
    }

    fn walk_json(&self, value: &Value, pointer: &mut String, found: &mut Vec<(String, Hit)>) {
        let mut scan_text = |pointer: &str, text: &str| found.extend(self.scan(text.as_bytes()).into_iter().map(|hit| (pointer.to_owned(), hit)));
        match value {
            Value::String(text) => scan_text(pointer, text),
            Value::Number(number) => scan_text(pointer, &number.to_string()),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let parent = pointer.len();
                    pointer.push_str(&format!("/{index}"));
                    self.walk_json(item, pointer, found);
                    pointer.truncate(parent);
                }
            }
            Value::Object(members) => {
                for (key, item) in members {
                    let parent = pointer.len();
                    let key_hits = self.scan(key.as_bytes());
                    pointer.push('/');
                    if key_hits.is_empty() {
                        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    } else {
                        pointer.push_str("[masked key]");
                    }
                    found.extend(key_hits.into_iter().map(|hit| (pointer.clone(), hit)));
                    self.walk_json(item, pointer, found);
                    pointer.truncate(parent);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// `text` as a report may show it: itself, or a placeholder when it holds a canary (a file
    /// name, a table name, a row key).
    pub fn printable(&self, text: &str) -> String {
        if self.scan(text.as_bytes()).is_empty() {
            text.to_owned()
        } else {
            "[masked: holds a canary]".to_owned()
        }
    }

    fn collect(&self, haystack: &[u8], passes: &[Pass], carried: &[RawHit]) -> Vec<RawHit> {
        let mut dedupe = Dedupe::default();
        let mut accepted = Vec::new();
        dedupe.admit_pass(carried.to_vec(), &mut Vec::new());
        for pass in ALL_PASSES.into_iter().filter(|pass| passes.contains(pass)) {
            let mut hits = Vec::new();
            match pass {
                Pass::Variants => self.variant_pass.find(haystack, &mut hits),
                Pass::Decoding => self.decoding_pass.find(haystack, &self.fragment_pass, &mut hits),
                Pass::Fragments => self.fragment_pass.find(haystack, "fragment", &mut hits),
            }
            dedupe.admit_pass(hits, &mut accepted);
        }
        accepted.sort_by_key(|hit| (hit.start, hit.end));
        accepted
    }

    fn to_hit(&self, hit: RawHit, base: usize) -> Hit {
        let canary = &self.canaries[hit.canary];
        Hit { binding: canary.binding().to_owned(), encoding: hit.encoding, offset: base + hit.start, masked: canary.masked() }
    }

    fn report(&self, hits: Vec<RawHit>) -> Vec<Hit> {
        hits.into_iter().map(|hit| self.to_hit(hit, 0)).collect()
    }
}

#[cfg(test)]
mod tests;
