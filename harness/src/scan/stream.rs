//! Scanning a stream of any size in bounded memory: overlapping chunks, each scanned whole.
//!
//! Chunk `k` holds `STREAM_OVERLAP` bytes of chunk `k+1` at its end. Hits starting in that tail
//! are left to the next chunk, which sees them whole; hits reported that reach into it are
//! carried over, so the next chunk does not report their remains (a fragment) again.

use std::io::{self, Read};

use memchr::memchr_iter;

use super::{Hit, RawHit, Scanner, ALL_PASSES};

/// Bytes scanned at a time.
pub const STREAM_CHUNK: usize = 8 << 20;
/// Bytes shared by consecutive chunks: more than any encoded canary spans.
pub const STREAM_OVERLAP: usize = 64 << 10;

/// A hit in a stream, with the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamHit {
    pub hit: Hit,
    pub line: usize,
}

impl Scanner {
    /// Scans everything `reader` yields, holding at most one chunk (plus decoding space) in
    /// memory; offsets are from the start of the stream.
    pub fn scan_reader(&self, reader: impl Read, on_hit: impl FnMut(StreamHit)) -> io::Result<()> {
        self.scan_chunked(reader, STREAM_CHUNK, STREAM_OVERLAP, on_hit)
    }

    pub(super) fn scan_chunked(&self, mut reader: impl Read, chunk: usize, overlap: usize, mut on_hit: impl FnMut(StreamHit)) -> io::Result<()> {
        let mut buffer = Vec::with_capacity(chunk + overlap);
        let mut base = 0;
        let mut lines_before = 0;
        let mut carried: Vec<RawHit> = Vec::new();
        loop {
            let at_end = fill(&mut reader, &mut buffer, chunk + overlap)?;
            let limit = if at_end { buffer.len() } else { buffer.len() - overlap };
            let mut next_carried = Vec::new();
            let mut lines = lines_before;
            let mut counted_to = 0;
            for hit in self.collect(&buffer, &ALL_PASSES, &carried) {
                if hit.start >= limit {
                    break;
                }
                lines += memchr_iter(b'\n', &buffer[counted_to..hit.start]).count();
                counted_to = hit.start;
                if hit.exact && hit.end > limit {
                    next_carried.push(RawHit { start: 0, end: hit.end - limit, ..hit.clone() });
                }
                on_hit(StreamHit { hit: self.to_hit(hit, base), line: lines + 1 });
            }
            if at_end {
                return Ok(());
            }
            lines_before += memchr_iter(b'\n', &buffer[..limit]).count();
            base += limit;
            buffer.drain(..limit);
            carried = next_carried;
        }
    }
}

/// Reads until `buffer` holds `target` bytes; true if the stream ended first.
fn fill(reader: &mut impl Read, buffer: &mut Vec<u8>, target: usize) -> io::Result<bool> {
    let wanted = target.saturating_sub(buffer.len());
    reader.by_ref().take(wanted as u64).read_to_end(buffer)?;
    Ok(buffer.len() < target)
}
