//! gzip and zlib ("deflate" as HTTP means it) bodies, recognised by their headers and inflated
//! up to the decoded-run cap. A truncated stream still yields what it holds.

use std::io::Read;

use flate2::bufread::{GzDecoder, ZlibDecoder};
use memchr::memchr2_iter;

use super::{Decoded, Fresh, OffsetMap, Step, MAX_DECODED};

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// A zlib header: deflate with a 32 KiB window, no preset dictionary, any level.
fn is_zlib_header(bytes: &[u8]) -> bool {
    matches!(bytes, [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..])
}

/// Inflates what `decoder` yields from `input`; returns the output and how much input it took.
fn inflate<'a, D: Read>(input: &'a [u8], mut decoder: D, into_rest: impl FnOnce(D) -> &'a [u8]) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    // A corrupt or cut stream ends in an error; what came out before it is kept.
    let _ = (&mut decoder).take(MAX_DECODED as u64).read_to_end(&mut bytes);
    let consumed = input.len() - into_rest(decoder).len();
    (bytes, consumed)
}

pub(super) fn decode_streams(buffer: &[u8], fresh: Fresh<'_>, on_decoded: &mut dyn FnMut(Decoded)) {
    let mut resume = 0;
    for at in memchr2_iter(GZIP_MAGIC[0], 0x78, buffer) {
        if at < resume || !fresh.touches(at, at + 2) {
            continue;
        }
        let input = &buffer[at..];
        let (step, (bytes, consumed)) = if input.starts_with(&GZIP_MAGIC) {
            (Step::Gzip, inflate(input, GzDecoder::new(input), GzDecoder::into_inner))
        } else if is_zlib_header(input) {
            (Step::Zlib, inflate(input, ZlibDecoder::new(input), ZlibDecoder::into_inner))
        } else {
            continue;
        };
        if !bytes.is_empty() {
            resume = at + consumed.max(1);
            on_decoded(Decoded::new(bytes, step, OffsetMap::opaque(at, consumed)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    #[test]
    fn gzip_and_zlib_bodies_inflate_even_when_cut() {
        let body = b"{\"comment\":\"nothing to see here, just a body long enough to compress\"}".repeat(20);
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&body).unwrap();
        let gzip = gzip.finish().unwrap();
        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::best());
        zlib.write_all(&body).unwrap();
        let zlib = zlib.finish().unwrap();
        let haystack = [b"x^2 + headers\r\n\r\n".as_slice(), &gzip, b"then", &zlib[..zlib.len() - 4]].concat();
        let mut found = Vec::new();
        decode_streams(&haystack, Fresh(None), &mut |d: Decoded| found.push((d.step, d.bytes, d.map.to_source(99))));
        // "x^" is a zlib header too; whatever garbage it inflates to is harmless.
        assert!(found.contains(&(Step::Gzip, body.clone(), 17)));
        let gzip_end = 17 + gzip.len();
        assert!(found.iter().any(|(step, bytes, at)| *step == Step::Zlib && *at == gzip_end + 4 && body.starts_with(bytes) && bytes.len() > body.len() / 2));
    }
}
