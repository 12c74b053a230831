//! Runs of base64 and hex characters. Base64 runs may continue across line folds (a line of 64
//! characters or more, a line break, optional indentation), as MIME and PEM wrap them.
//!
//! Where a run really starts is unknown (a word or a path can run into it), so any of the four
//! alignments may be the run's. Where it ends is known, so the last few groups are decoded at
//! each alignment first: those whose tail is text (the run's, and now and then a wrong one that
//! happens to look like it) are decoded. When none is, the payload is binary, worth decoding
//! only if it is long enough to hold a whole canary (fragments and nested encodings live in
//! text), and then at the alignment its padding (`=`, `==`) pins — the encoded characters plus
//! padding come in fours whatever was glued in front — or, unpadded (perhaps cut short), at all
//! four. Hex runs are treated the same way at their two alignments, a binary one decoded only
//! where its digits show a stretch of ASCII (or a compressed stream) could be in it.

use super::{is_text, pieces, Decoded, Fresh, OffsetMap, RunContext, Step, MAX_DECODED};

const BASE64: u8 = 1;
const HEX: u8 = 2;
const FOLD: u8 = 4;
/// A letter past `f`: only base64, of the two alphabets, has it.
const BEYOND_HEX: u8 = 8;
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
        } else if b.is_ascii_alphabetic() {
            class |= BEYOND_HEX;
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

/// The classes of 8 bytes at once, one per byte of the result.
fn classes8(bytes: &[u8]) -> u64 {
    bytes[..8].iter().rev().fold(0, |classes, &byte| classes << 8 | u64::from(class(byte)))
}

const LOW_BITS: u64 = 0x0101_0101_0101_0101;

pub(super) fn decode_runs(buffer: &[u8], context: &RunContext, fresh: Fresh<'_>, on_decoded: &mut dyn FnMut(Decoded)) {
    let runs = Runs { buffer, shortest: context.shortest, fresh };
    let Some(changed) = fresh.0 else {
        runs.decode_in(0, buffer.len(), on_decoded);
        return;
    };
    // Below an escape decoder: only the runs touching what the escapes produced.
    let mut scanned_to = 0;
    for &(start, end) in changed {
        if end < scanned_to {
            continue;
        }
        let from = run_start_before(buffer, start.max(scanned_to), scanned_to);
        scanned_to = runs.decode_in(from, (end + 1).min(buffer.len()), on_decoded);
    }
}

/// Where a run reaching `at` starts, looking back across folds, no further than `floor`.
fn run_start_before(buffer: &[u8], at: usize, floor: usize) -> usize {
    let mut from = at;
    loop {
        while from > floor && class(buffer[from - 1]) & BASE64 != 0 {
            from -= 1;
        }
        let mut before = from;
        while before > floor && matches!(buffer[before - 1], b' ' | b'\t') {
            before -= 1;
        }
        let line_break = before > floor && buffer[before - 1] == b'\n';
        if !line_break {
            return from;
        }
        before -= 1;
        if before > floor && buffer[before - 1] == b'\r' {
            before -= 1;
        }
        if before == floor || class(buffer[before - 1]) & BASE64 == 0 {
            return from;
        }
        from = before;
    }
}

/// The runs of one buffer, and what decides which are worth decoding.
struct Runs<'a> {
    buffer: &'a [u8],
    shortest: usize,
    fresh: Fresh<'a>,
}

impl Runs<'_> {
    /// Decodes the runs of at least [`MIN_BASE64_RUN`] characters starting in `from..to`, each
    /// to its end; returns how far it looked.
    ///
    /// Rather than classifying every byte, it probes one byte in [`MIN_BASE64_RUN`]: every run
    /// that long covers a probe. A probe in a shorter run (a word) costs that word; the next
    /// probe comes a stride later all the same.
    fn decode_in(&self, from: usize, to: usize, on_decoded: &mut dyn FnMut(Decoded)) -> usize {
        let buffer = self.buffer;
        let mut probe = from;
        let mut done = from;
        while probe < to {
            if class(buffer[probe]) & BASE64 == 0 {
                probe += MIN_BASE64_RUN;
                continue;
            }
            let mut run_start = probe;
            while run_start > done && class(buffer[run_start - 1]) & BASE64 != 0 {
                run_start -= 1;
            }
            let (run_end, folds, beyond_hex) = self.walk(run_start, on_decoded);
            if run_end - run_start < MIN_BASE64_RUN {
                probe += MIN_BASE64_RUN;
                continue;
            }
            // Base64 of text has a letter in every group (an ASCII byte's top six bits are 8 to
            // 31, all letters), and base64 at large uses 64 symbols, 22 of them hex digits: a run
            // with no letter beyond `f` is an ID, a path or a digest, not base64.
            if beyond_hex && self.fresh.touches(run_start, run_end) {
                self.decode_base64_run(run_start, run_end, folds, on_decoded);
            }
            done = run_end;
            probe = run_end + 1;
        }
        done.max(to)
    }

    /// Walks a base64 run from its start across folds, decoding the hex runs inside it; returns
    /// where it ends, how many fold bytes it holds and whether it has a letter beyond `f`.
    fn walk(&self, start: usize, on_decoded: &mut dyn FnMut(Decoded)) -> (usize, usize, bool) {
        let buffer = self.buffer;
        let length = buffer.len();
        let mut at = start;
        let mut hex_start = at;
        let mut folds = 0;
        let mut seen = 0;
        loop {
            let line_start = at;
            // Eight bytes at a time while they are all base64; hex runs break where a byte is not hex.
            while at + 8 <= length {
                let classes = classes8(&buffer[at..]);
                if !classes & (LOW_BITS * u64::from(BASE64)) != 0 {
                    break;
                }
                seen |= classes;
                let not_hex = !classes & (LOW_BITS * u64::from(HEX));
                if not_hex != 0 {
                    let first = at + not_hex.trailing_zeros() as usize / 8;
                    if first - hex_start >= MIN_HEX_RUN && self.fresh.touches(hex_start, first) {
                        self.decode_hex_run(hex_start, first, on_decoded);
                    }
                    hex_start = at + (63 - not_hex.leading_zeros() as usize) / 8 + 1;
                }
                at += 8;
            }
            while at < length {
                let class = class(buffer[at]);
                if class & BASE64 == 0 {
                    break;
                }
                seen |= u64::from(class);
                if class & HEX == 0 {
                    if at - hex_start >= MIN_HEX_RUN && self.fresh.touches(hex_start, at) {
                        self.decode_hex_run(hex_start, at, on_decoded);
                    }
                    hex_start = at + 1;
                }
                at += 1;
            }
            if at - hex_start >= MIN_HEX_RUN && self.fresh.touches(hex_start, at) {
                self.decode_hex_run(hex_start, at, on_decoded);
            }
            let after_fold = skip_fold(buffer, at);
            if at - line_start >= MIN_FOLDED_LINE && after_fold > at && after_fold < length && class(buffer[after_fold]) & BASE64 != 0 {
                folds += after_fold - at;
                at = after_fold;
                hex_start = at;
                continue;
            }
            return (at, folds, seen & (LOW_BITS * u64::from(BEYOND_HEX)) != 0);
        }
    }

    fn decode_base64_run(&self, run_start: usize, run_end: usize, folds: usize, on_decoded: &mut dyn FnMut(Decoded)) {
        let buffer = self.buffer;
        let padding = buffer[run_end..].iter().take(2).take_while(|&&b| b == b'=').count();
        for (start, end) in pieces(run_start, run_end, MAX_DECODED / 3 * 4) {
            // Padding pins the alignment only for the piece that ends the run.
            let padded = if end == run_end { padding } else { 0 };
            let piece_folds = if (start, end) == (run_start, run_end) { folds } else { fold_bytes(&buffer[start..end]) };
            let characters = end - start - piece_folds;
            let mut text = [false; 4];
            for alignment in (0..4).filter(|&a| a < characters) {
                text[alignment] = base64_tail_is_text(&buffer[start..end], characters - alignment);
            }
            // Text decides; padding only pins where a binary payload starts (a stray `=` after a
            // run glued to a word would mislead it, and text is the common case).
            let binary_worth_it = !text.contains(&true) && characters * 3 / 4 >= self.shortest;
            let binary_at = |a: usize| binary_worth_it && possible_alignment(characters, a, padded);
            for alignment in (0..4).filter(|&a| text[a] || binary_at(a)) {
                on_decoded(decode_base64(buffer, start + alignment, end));
            }
        }
    }

    fn decode_hex_run(&self, start: usize, end: usize, on_decoded: &mut dyn FnMut(Decoded)) {
        for (piece_start, piece_end) in pieces(start, end, MAX_DECODED * 2) {
            let digits_at = |alignment: usize| &self.buffer[piece_start + alignment..piece_end];
            let text = [hex_tail_is_text(digits_at(0)), hex_tail_is_text(digits_at(1))];
            let binary = !text.contains(&true);
            let compressed = |digits: &[u8]| digits.len() >= 4 && super::is_compressed_stream(&decode_hex(&digits[..4]));
            let worth_it = |a: usize| text[a] || (binary && (has_ascii_stretch(digits_at(a), self.shortest) || compressed(digits_at(a))));
            for alignment in (0..2).filter(|&a| worth_it(a)) {
                let map = OffsetMap::new(piece_start + alignment, (2, 1));
                on_decoded(Decoded::new(decode_hex(digits_at(alignment)), Step::Hex, map));
            }
        }
    }
}

/// Whether the last (up to 8) whole pairs of `digits` decode to text.
fn hex_tail_is_text(digits: &[u8]) -> bool {
    let whole = digits.len() / 2 * 2;
    let mut bytes = [0u8; 8];
    let pairs = digits[whole.saturating_sub(16)..whole].chunks_exact(2);
    let count = pairs.len();
    for (byte, pair) in bytes.iter_mut().zip(pairs) {
        *byte = hex_byte(pair);
    }
    is_text(&bytes[..count])
}

/// Whether `digits` decode to at least `wanted` consecutive bytes of printable ASCII (a raw
/// canary inside binary data), judged on the digits: each such byte's high digit is 2 to 7.
fn has_ascii_stretch(digits: &[u8], wanted: usize) -> bool {
    let mut stretch = 0;
    for pair in digits.chunks_exact(2) {
        stretch = if (b'2'..=b'7').contains(&pair[0]) { stretch + 1 } else { 0 };
        if stretch >= wanted {
            return true;
        }
    }
    false
}

fn decode_hex(digits: &[u8]) -> Vec<u8> {
    digits.chunks_exact(2).map(hex_byte).collect()
}

/// Whether the last (up to 6) whole groups of the `encoded` characters ending `run` decode to
/// text. Characters are read backwards, skipping folds, then the partial last group.
fn base64_tail_is_text(run: &[u8], encoded: usize) -> bool {
    const GROUPS: usize = 6;
    let wanted = (encoded / 4).min(GROUPS) * 4;
    let mut sextets = [0u8; GROUPS * 4];
    let tail_len = wanted + encoded % 4;
    let tail = &run[run.len().saturating_sub(tail_len)..];
    if tail.len() == tail_len && tail.iter().all(|&b| SEXTETS[usize::from(b)] != INVALID) {
        for (sextet, &byte) in sextets.iter_mut().zip(&tail[..wanted]) {
            *sextet = SEXTETS[usize::from(byte)];
        }
    } else {
        // A fold near the end: read backwards, skipping it.
        let backwards = run.iter().rev().map(|&b| SEXTETS[usize::from(b)]).filter(|&s| s != INVALID).skip(encoded % 4);
        for (taken, value) in backwards.take(wanted).enumerate() {
            sextets[wanted - 1 - taken] = value;
        }
    }
    let mut bytes = [0u8; GROUPS * 3];
    for (group, out) in sextets[..wanted].chunks_exact(4).zip(bytes.chunks_exact_mut(3)) {
        let value = group.iter().fold(0u32, |value, &s| value << 6 | u32::from(s));
        out.copy_from_slice(&value.to_be_bytes()[1..]);
    }
    is_text(&bytes[..wanted / 4 * 3])
}

fn fold_bytes(run: &[u8]) -> usize {
    run.iter().filter(|&&b| class(b) & FOLD != 0).count()
}

/// Whether the encoded text can start `alignment` characters into a run of `characters`
/// base64 characters followed by `padding` `=`.
fn possible_alignment(characters: usize, alignment: usize, padding: usize) -> bool {
    alignment < characters && (padding == 0 || (characters - alignment + padding) % 4 == 0)
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
        // Eight characters make six bytes; any invalid sextet (a fold, the end) sets bit 7.
        while at + 8 <= end {
            let (group, invalid) = buffer[at..at + 8].iter().fold((0u64, 0u8), |(group, invalid), &c| {
                let sextet = SEXTETS[usize::from(c)];
                (group << 6 | u64::from(sextet & 0x3f), invalid | sextet)
            });
            if invalid & 0x80 != 0 {
                break;
            }
            bytes.extend_from_slice(&group.to_be_bytes()[2..]);
            at += 8;
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
    Decoded::new(bytes, Step::Base64 { folded }, map)
}

/// Hex digit values (either case); other bytes never reach it.
const NIBBLES: [u8; 256] = {
    let mut values = [0u8; 256];
    let mut digit = 0;
    while digit < 10 {
        values[b'0' as usize + digit] = digit as u8;
        digit += 1;
    }
    let mut letter = 0;
    while letter < 6 {
        values[b'a' as usize + letter] = 10 + letter as u8;
        values[b'A' as usize + letter] = 10 + letter as u8;
        letter += 1;
    }
    values
};

fn hex_byte(pair: &[u8]) -> u8 {
    NIBBLES[usize::from(pair[0])] << 4 | NIBBLES[usize::from(pair[1])]
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const CONTEXT: RunContext = RunContext { reach: 8, shortest: 8, plus_as_space: false };

    /// Each decoding that holds `wanted`, with where `wanted` maps back to.
    fn found(buffer: &[u8], wanted: &[u8]) -> Vec<(Step, usize)> {
        let mut out = Vec::new();
        decode_runs(buffer, &CONTEXT, Fresh(None), &mut |d: Decoded| {
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
    fn below_escapes_only_runs_touching_an_escape_are_decoded() {
        let engine = base64::engine::general_purpose::STANDARD;
        let (first, second) = (engine.encode("plain text number one!"), engine.encode("plain text number two!"));
        let text = format!("{first} untouched {second} tail");
        let escape_output = text.find(&second).unwrap() + 5;
        let changed = [(escape_output, escape_output + 1)];
        let mut starts = Vec::new();
        decode_runs(text.as_bytes(), &CONTEXT, Fresh(Some(&changed)), &mut |d: Decoded| starts.push(d.map.to_source(0)));
        assert_eq!(starts, [text.find(&second).unwrap()]);
        assert_eq!(run_start_before(b"xx QUJD\r\n  QUJD", 15, 0), 3);
    }

    #[test]
    fn only_the_alignment_whose_tail_is_text_is_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("a sentence of text, in base64, with no padding!!");
        let mut alignments = Vec::new();
        decode_runs(format!("xy{encoded}").as_bytes(), &CONTEXT, Fresh(None), &mut |d: Decoded| alignments.push(d.map.to_source(0)));
        assert_eq!(alignments, [2]);
    }

    #[test]
    fn digests_and_ids_are_not_decoded_but_hex_text_and_ascii_islands_are() {
        let mut count = 0;
        let sha256 = b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        decode_runs(sha256, &CONTEXT, Fresh(None), &mut |_: Decoded| count += 1);
        assert_eq!(count, 0);
        let island = format!("00ff{}9a", hex::encode("a canary-ish ASCII island"));
        let mut found = Vec::new();
        decode_runs(island.as_bytes(), &CONTEXT, Fresh(None), &mut |d: Decoded| found.push((d.step, d.bytes)));
        assert!(found.iter().any(|(step, bytes)| *step == Step::Hex && bytes.windows(6).any(|w| w == b"island")));
    }

    #[test]
    fn binary_payloads_are_decoded_when_they_could_hold_a_canary() {
        let context = RunContext { shortest: 30, ..CONTEXT };
        let random: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
        let with_island = [&random[..100], "an ASCII island, with é, in binary data".as_bytes(), &random[100..]].concat();
        let mut found = Vec::new();
        decode_runs(format!("ab{}", engine.encode(&with_island)).as_bytes(), &context, Fresh(None), &mut |d: Decoded| found.push(d.bytes));
        assert!(found.iter().any(|bytes| bytes.windows(6).any(|w| w == b"island")));
        let mut count = 0;
        decode_runs(engine.encode(&random[..20]).as_bytes(), &context, Fresh(None), &mut |_: Decoded| count += 1);
        assert_eq!(count, 0, "too short to hold a canary");
    }

    #[test]
    fn padding_pins_the_alignment() {
        assert!((0..4).all(|a| possible_alignment(10, a, 0)));
        let pinned: Vec<usize> = (0..4).filter(|&a| possible_alignment(11, a, 1)).collect();
        assert_eq!(pinned, [0]);
        let glued: Vec<usize> = (0..4).filter(|&a| possible_alignment(6 + 10, a, 2)).collect();
        assert_eq!(glued, [2]);
    }

    #[test]
    fn hex_runs_decode_at_both_alignments() {
        assert_eq!(found(b"id=0x68656c6c6f2c20776f726c64 x", b"hello, world"), [(Step::Hex, 5)]);
        assert_eq!(found(b"z68656C6C6F2C20776F726C64", b"hello, world"), [(Step::Hex, 1)]);
    }
}
