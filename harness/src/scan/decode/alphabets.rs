//! Runs of base64 and hex characters. Base64 runs may continue across line folds (a line of 64
//! characters or more, a line break, optional indentation), as MIME and PEM wrap them. Where a
//! run really starts is unknown (a word or a path can run into it), so every run is decoded at
//! each of the four alignments, hex runs at both.

use super::{pieces, Decoded, OffsetMap, Step, MAX_DECODED};

const BASE64: u8 = 1;
const HEX: u8 = 2;
const FOLD: u8 = 4;
const INVALID: u8 = 0xFF;

const MIN_BASE64_RUN: usize = 16;
const MIN_HEX_RUN: usize = 16;
const MIN_FOLDED_LINE: usize = 64;

const CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        let mut class = 0;
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_') {
            class |= BASE64;
        }
        if b.is_ascii_hexdigit() {
            class |= HEX;
        }
        if matches!(b, b'\r' | b'\n' | b' ' | b'\t') {
            class |= FOLD;
        }
        classes[byte] = class;
        byte += 1;
    }
    classes
};

/// Sextet values of both alphabets at once (`+`/`-` are 62, `/`/`_` are 63).
const SEXTETS: [u8; 256] = {
    let mut values = [INVALID; 256];
    let mut i = 0;
    while i < 26 {
        values[b'A' as usize + i] = i as u8;
        values[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut digit = 0;
    while digit < 10 {
        values[b'0' as usize + digit] = 52 + digit as u8;
        digit += 1;
    }
    values[b'+' as usize] = 62;
    values[b'-' as usize] = 62;
    values[b'/' as usize] = 63;
    values[b'_' as usize] = 63;
    values
};

fn class(byte: u8) -> u8 {
    CLASSES[usize::from(byte)]
}

pub(super) fn decode_runs(buffer: &[u8], on_decoded: &mut dyn FnMut(Decoded)) {
    let length = buffer.len();
    let mut at = 0;
    while at < length {
        while at < length && class(buffer[at]) & BASE64 == 0 {
            at += 1;
        }
        let run_start = at;
        let mut hex_start = at;
        loop {
            let line_start = at;
            while at < length {
                let class = class(buffer[at]);
                if class & BASE64 == 0 {
                    break;
                }
                if class & HEX == 0 {
                    if at - hex_start >= MIN_HEX_RUN {
                        decode_hex_run(buffer, hex_start, at, on_decoded);
                    }
                    hex_start = at + 1;
                }
                at += 1;
            }
            if at - hex_start >= MIN_HEX_RUN {
                decode_hex_run(buffer, hex_start, at, on_decoded);
            }
            let after_fold = skip_fold(buffer, at);
            if at - line_start >= MIN_FOLDED_LINE && after_fold > at && after_fold < length && class(buffer[after_fold]) & BASE64 != 0 {
                at = after_fold;
                hex_start = at;
                continue;
            }
            break;
        }
        if at - run_start >= MIN_BASE64_RUN {
            for (start, end) in pieces(run_start, at, MAX_DECODED / 3 * 4) {
                for alignment in 0..4 {
                    on_decoded(decode_base64(buffer, start + alignment, end));
                }
            }
        }
    }
}

/// Where the text after a line break (and its indentation) starts, or `at` if none is here.
fn skip_fold(buffer: &[u8], at: usize) -> usize {
    let mut next = at;
    if buffer.get(next) == Some(&b'\r') {
        next += 1;
    }
    if buffer.get(next) != Some(&b'\n') {
        return at;
    }
    next += 1;
    while matches!(buffer.get(next), Some(b' ' | b'\t')) {
        next += 1;
    }
    next
}

/// Decodes base64 characters from `start` to `end`, skipping folds; stops at anything else.
fn decode_base64(buffer: &[u8], start: usize, end: usize) -> Decoded {
    let mut bytes = Vec::with_capacity((end - start) / 4 * 3 + 3);
    let mut map = OffsetMap::new(start, (4, 3));
    let mut folded = false;
    let mut at = start;
    loop {
        if at + 4 <= end {
            let [a, b, c, d] = [0, 1, 2, 3].map(|i| SEXTETS[usize::from(buffer[at + i])]);
            if (a | b | c | d) & 0x80 == 0 {
                let group = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                bytes.extend_from_slice(&group.to_be_bytes()[1..]);
                at += 4;
                continue;
            }
        }
        // A group interrupted by a fold, or the run's last few characters.
        let mut sextets = [0u8; 4];
        let mut count = 0;
        while count < 4 && at < end {
            let value = SEXTETS[usize::from(buffer[at])];
            if value != INVALID {
                sextets[count] = value;
                count += 1;
                at += 1;
            } else if class(buffer[at]) & FOLD != 0 {
                at = skip_fold(buffer, at).max(at + 1);
                folded = true;
                map.mark(bytes.len(), at);
            } else {
                break;
            }
        }
        let group = sextets.iter().fold(0u32, |group, &s| group << 6 | u32::from(s));
        bytes.extend_from_slice(&group.to_be_bytes()[1..][..count * 6 / 8]);
        if count < 4 || at >= end {
            break;
        }
    }
    Decoded { bytes, step: Step::Base64 { folded }, map }
}

fn decode_hex_run(buffer: &[u8], start: usize, end: usize, on_decoded: &mut dyn FnMut(Decoded)) {
    for (piece_start, piece_end) in pieces(start, end, MAX_DECODED * 2) {
        for alignment in 0..2 {
            let digits = &buffer[piece_start + alignment..piece_end];
            let bytes = digits.chunks_exact(2).map(|pair| nibble(pair[0]) << 4 | nibble(pair[1])).collect();
            on_decoded(Decoded { bytes, step: Step::Hex, map: OffsetMap::new(piece_start + alignment, (2, 1)) });
        }
    }
}

fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// Each decoding that holds `wanted`, with where `wanted` maps back to.
    fn found(buffer: &[u8], wanted: &[u8]) -> Vec<(Step, usize)> {
        let mut out = Vec::new();
        decode_runs(buffer, &mut |d: Decoded| {
            if let Some(at) = d.bytes.windows(wanted.len()).position(|w| w == wanted) {
                out.push((d.step, d.map.to_source(at)));
            }
        });
        out
    }

    #[test]
    fn base64_runs_decode_at_every_alignment_and_across_folds() {
        let payload = b"the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over";
        let encoded = base64::engine::general_purpose::STANDARD.encode(payload);
        let text = format!("path/x{encoded} end");
        assert_eq!(found(text.as_bytes(), payload), [(Step::Base64 { folded: false }, 6)]);

        let folded: Vec<String> = encoded.as_bytes().chunks(76).map(|l| String::from_utf8(l.to_vec()).unwrap()).collect();
        let text = format!("body: {}\n", folded.join("\r\n  "));
        assert_eq!(found(text.as_bytes(), payload), [(Step::Base64 { folded: true }, 6)]);
    }

    #[test]
    fn hex_runs_decode_at_both_alignments() {
        assert_eq!(found(b"id=0x68656c6c6f2c20776f726c64 x", b"hello, world"), [(Step::Hex, 5)]);
        assert_eq!(found(b"z68656C6C6F2C20776F726C64", b"hello, world"), [(Step::Hex, 1)]);
    }
}
