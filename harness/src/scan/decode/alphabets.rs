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
//! four; and at each only if its characters show a stretch of printable ASCII as long as every
//! canary has (a raw canary inside binary data), or a compressed stream starting. Hex runs are
//! treated the same way at their two alignments.
//!
//! Runs are found 64 bytes at a time, by bitmasks of which bytes are in an alphabet.

use super::{is_printable, is_text, pieces, Decoded, Fresh, OffsetMap, RunContext, Step, MAX_DECODED};

const INVALID: u8 = 0xFF;

const MIN_BASE64_RUN: usize = 16;
const MIN_HEX_RUN: usize = 16;
const MIN_FOLDED_LINE: usize = 64;

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

fn is_base64(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'+') | (b == b'/') | (b == b'-') | (b == b'_')
}

fn is_hex(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 6) | (b.wrapping_sub(b'0') < 10)
}

/// A letter past `f`: only base64, of the two alphabets, has it.
fn is_beyond_hex(b: u8) -> bool {
    (b | 0x20).wrapping_sub(b'g') < 20
}

fn is_fold(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t')
}

/// Bit `i` set when `is(block[i])`, for the first 64 bytes of `block`. Flags first, as
/// comparisons the compiler does many at a time, then packed eight by eight.
#[inline(never)]
fn mask64(block: &[u8], is: impl Fn(u8) -> bool) -> u64 {
    let mut flags = [0u8; 64];
    for (flag, &b) in flags.iter_mut().zip(&block[..64]) {
        *flag = u8::from(is(b));
    }
    flags.chunks_exact(8).enumerate().fold(0, |mask, (i, eight)| {
        let ones = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        // Moves byte i's 0 or 1 to bit 56 + i (no two products share a bit, so nothing carries).
        mask | (ones.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i)
    })
}

/// [`mask64`] of the 64 bytes at `at`, bytes past the buffer's end counted out.
#[inline(always)]
fn mask_at(buffer: &[u8], at: usize, is: impl Fn(u8) -> bool) -> u64 {
    let left = buffer.len() - at;
    if left >= 64 {
        return mask64(&buffer[at..], is);
    }
    let mut block = [0u8; 64];
    block[..left].copy_from_slice(&buffer[at..]);
    mask64(&block, is) & ((1 << left) - 1)
}

/// A position in `from..to` inside a run of at least [`MIN_BASE64_RUN`] bytes that are `is`
/// (the run may start before `from`'s block): text of short words is passed over 64 bytes at
/// a time. Looks no further than the buffer's end.
#[inline(always)]
fn next_long_run(buffer: &[u8], from: usize, to: usize, is: impl Fn(u8) -> bool + Copy) -> Option<usize> {
    const _: () = assert!(MIN_BASE64_RUN == 16 && MIN_HEX_RUN == 16);
    let mut at = from;
    // How many `is` bytes end the blocks already looked at (fewer than a run's worth).
    let mut carried = 0;
    // A run starting before `to` has its first 16 bytes before `to + 15`.
    while at < buffer.len() && at < to + MIN_BASE64_RUN - 1 {
        let mask = mask_at(buffer, at, is);
        let leading = mask.trailing_ones() as usize;
        if leading > 0 && carried + leading >= MIN_BASE64_RUN {
            return Some(at);
        }
        // Bit i of `runs` is set when bytes i..i+16 all are.
        let pairs = mask & mask >> 1;
        let fours = pairs & pairs >> 2;
        let eights = fours & fours >> 4;
        let runs = eights & eights >> 8;
        if runs != 0 {
            return Some(at + runs.trailing_zeros() as usize).filter(|&inside| inside < to);
        }
        carried = mask.leading_ones() as usize;
        at += 64;
    }
    None
}

pub(super) fn decode_runs(buffer: &[u8], context: &RunContext, fresh: Fresh<'_>, on_decoded: &mut dyn FnMut(Decoded)) {
    let runs = Runs { buffer, shortest: context.shortest, printable_stretch: context.printable_stretch, fresh };
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
        while from > floor && is_base64(buffer[from - 1]) {
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
        if before == floor || !is_base64(buffer[before - 1]) {
            return from;
        }
        from = before;
    }
}

/// Walks a base64 run from its start across folds; returns where it ends, how many fold bytes
/// it holds and whether it has a letter beyond `f`.
fn walk(buffer: &[u8], start: usize) -> (usize, usize, bool) {
    let length = buffer.len();
    let mut at = start;
    let mut folds = 0;
    let mut beyond_hex = false;
    loop {
        let line_start = at;
        loop {
            let inside = mask_at(buffer, at, is_base64).trailing_ones() as usize;
            if !beyond_hex {
                let within = if inside == 64 { u64::MAX } else { (1 << inside) - 1 };
                beyond_hex = mask_at(buffer, at, is_beyond_hex) & within != 0;
            }
            at += inside;
            if inside < 64 {
                break;
            }
        }
        let after_fold = skip_fold(buffer, at);
        if at - line_start >= MIN_FOLDED_LINE && after_fold > at && after_fold < length && is_base64(buffer[after_fold]) {
            folds += after_fold - at;
            at = after_fold;
            continue;
        }
        return (at, folds, beyond_hex);
    }
}

/// The runs of one buffer, and what decides which are worth decoding.
struct Runs<'a> {
    buffer: &'a [u8],
    shortest: usize,
    printable_stretch: usize,
    fresh: Fresh<'a>,
}

impl Runs<'_> {
    /// Decodes the runs of at least [`MIN_BASE64_RUN`] characters starting in `from..to`, each
    /// to its end; returns how far it looked.
    fn decode_in(&self, from: usize, to: usize, on_decoded: &mut dyn FnMut(Decoded)) -> usize {
        let buffer = self.buffer;
        let mut done = from;
        while let Some(inside) = next_long_run(buffer, done, to, is_base64) {
            let mut run_start = inside;
            while run_start > done && is_base64(buffer[run_start - 1]) {
                run_start -= 1;
            }
            let (run_end, folds, beyond_hex) = walk(buffer, run_start);
            self.decode_hex_runs(run_start, run_end, on_decoded);
            // Base64 of text has a letter in every group (an ASCII byte's top six bits are 8 to
            // 31, all letters), and base64 at large uses 64 symbols, 22 of them hex digits: a run
            // with no letter beyond `f` is an ID, a path or a digest, not base64.
            if beyond_hex && self.fresh.touches(run_start, run_end) {
                self.decode_base64_run(run_start, run_end, folds, on_decoded);
            }
            done = run_end;
        }
        done.max(to)
    }

    /// Decodes the hex runs of at least [`MIN_HEX_RUN`] digits inside the base64 run `start..end`.
    fn decode_hex_runs(&self, start: usize, end: usize, on_decoded: &mut dyn FnMut(Decoded)) {
        let digits = &self.buffer[..end];
        let mut done = start;
        while let Some(inside) = next_long_run(digits, done, end, is_hex) {
            let hex_start = (done..inside).rev().take_while(|&at| is_hex(digits[at])).last().unwrap_or(inside);
            let hex_end = (inside..end).find(|&at| !is_hex(digits[at])).unwrap_or(end);
            if self.fresh.touches(hex_start, hex_end) {
                self.decode_hex_run(hex_start, hex_end, on_decoded);
            }
            done = hex_end;
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
            let mut binary = [false; 4];
            if (0..4).any(binary_at) {
                // What could be found in binary: a raw canary, whose printable stretch it would
                // show, or a compressed stream starting it. Random payloads have neither.
                let piece = &buffer[start..end];
                let unfolded: Vec<u8>;
                let characters = if piece_folds == 0 {
                    piece
                } else {
                    unfolded = piece.split(|&b| is_fold(b)).flatten().copied().collect();
                    &unfolded
                };
                for alignment in (0..4).filter(|&a| binary_at(a)) {
                    let from = &characters[alignment..];
                    binary[alignment] = starts_compressed(from) || has_printable_stretch(from, self.printable_stretch);
                }
            }
            for alignment in (0..4).filter(|&a| text[a] || binary[a]) {
                on_decoded(decode_base64(buffer, start + alignment, end));
            }
        }
    }

    fn decode_hex_run(&self, start: usize, end: usize, on_decoded: &mut dyn FnMut(Decoded)) {
        for (piece_start, piece_end) in pieces(start, end, MAX_DECODED * 2) {
            let digits_at = |alignment: usize| &self.buffer[piece_start + alignment..piece_end];
            let text = [hex_tail_is_text(digits_at(0)), hex_tail_is_text(digits_at(1))];
            let binary = !text.contains(&true);
            let compressed = |digits: &[u8]| digits.len() >= 4 && super::is_compressed_stream(&[hex_byte(&digits[..2]), hex_byte(&digits[2..4])]);
            let worth_it = |a: usize| text[a] || (binary && (has_ascii_stretch(digits_at(a), self.printable_stretch) || compressed(digits_at(a))));
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
    if digits.len() / 2 < wanted {
        return false;
    }
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

/// The bytes the `index`th group of four base64 characters decodes to.
fn group_bytes(characters: &[u8], index: usize) -> [u8; 3] {
    let group = &characters[4 * index..4 * index + 4];
    let value = group.iter().fold(0u32, |value, &c| value << 6 | u32::from(SEXTETS[usize::from(c)] & 0x3f));
    let [_, bytes @ ..] = value.to_be_bytes();
    bytes
}

fn starts_compressed(characters: &[u8]) -> bool {
    characters.len() >= 4 && super::is_compressed_stream(&group_bytes(characters, 0))
}

/// Whether base64 `characters` decode to `wanted` consecutive bytes of printable ASCII. Such a stretch
/// holds `needed` whole groups, so probing one group in `needed` finds it; most probes in
/// random data fail at once.
fn has_printable_stretch(characters: &[u8], wanted: usize) -> bool {
    let needed = wanted.saturating_sub(2) / 3;
    if needed == 0 {
        return true;
    }
    let groups = characters.len() / 4;
    let printable = |group: usize| group_bytes(characters, group).iter().all(|&b| is_printable(b));
    let mut probe = needed - 1;
    while probe < groups {
        if !printable(probe) {
            probe += needed;
            continue;
        }
        let first = (0..probe).rev().take_while(|&g| printable(g)).last().unwrap_or(probe);
        let last = (probe + 1..groups).take_while(|&g| printable(g)).last().unwrap_or(probe);
        if last + 1 - first >= needed {
            return true;
        }
        probe = last + 1 + needed;
    }
    false
}

fn fold_bytes(run: &[u8]) -> usize {
    run.iter().filter(|&&b| is_fold(b)).count()
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
            } else if is_fold(buffer[at]) {
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

    const CONTEXT: RunContext = RunContext { reach: 8, shortest: 8, printable_stretch: 8, plus_as_space: false };

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
        let context = RunContext { shortest: 30, printable_stretch: 20, ..CONTEXT };
        let random: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
        let with_island = [&random[..100], "an ASCII island, with é, in binary data".as_bytes(), &random[100..]].concat();
        let mut found = Vec::new();
        decode_runs(format!("ab{}", engine.encode(&with_island)).as_bytes(), &context, Fresh(None), &mut |d: Decoded| found.push(d.bytes));
        assert!(found.iter().any(|bytes| bytes.windows(6).any(|w| w == b"island")));
        let mut count = 0;
        decode_runs(engine.encode(&random[..20]).as_bytes(), &context, Fresh(None), &mut |_: Decoded| count += 1);
        assert_eq!(count, 0, "too short to hold a canary");
        // Long enough, but neither a printable stretch nor a compressed stream at any alignment.
        decode_runs(format!("ab{}", engine.encode(&random)).as_bytes(), &context, Fresh(None), &mut |_: Decoded| count += 1);
        assert_eq!(count, 0, "random binary");
        let mut stream = vec![0x1f, 0x8b, 0x08];
        stream.extend_from_slice(&random);
        for glued in ["", "a", "ab", "abc"] {
            let mut starts = Vec::new();
            decode_runs(format!("{glued}{}", engine.encode(&stream)).as_bytes(), &context, Fresh(None), &mut |d: Decoded| starts.push(d.bytes[..3].to_vec()));
            assert_eq!(starts, [stream[..3].to_vec()], "compressed stream after {glued:?}");
        }
    }

    #[test]
    fn printable_stretches_are_found_at_any_offset() {
        let random: Vec<u8> = (0..600u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8 | 0x80).collect();
        let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes).into_bytes();
        assert!(!has_printable_stretch(&encode(&random), 20));
        for at in 0..40 {
            // Judged on whole groups: 18 bytes may pass or not, by where they sit.
            for (length, found) in [(20, true), (17, false)] {
                let mut bytes = random.clone();
                bytes[at..at + length].fill(b'k');
                assert_eq!(has_printable_stretch(&encode(&bytes), 20), found, "{length} printable bytes at {at}");
            }
        }
    }

    #[test]
    fn masks_agree_with_the_predicates_and_find_every_long_run() {
        let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for block in bytes.windows(64).step_by(7) {
            for is in [is_base64, is_hex, is_beyond_hex] {
                let expected = block.iter().enumerate().fold(0u64, |mask, (i, &b)| mask | u64::from(is(b)) << i);
                assert_eq!(mask64(block, is), expected);
            }
        }
        let text = format!("{} {}", "short words only ".repeat(8), "QUJDREVGR0hJSktMTU5PUFFSU1RV");
        let run = text.find('Q').unwrap()..text.len();
        assert!(next_long_run(text.as_bytes(), 0, text.len(), is_base64).is_some_and(|inside| run.contains(&inside)));
        assert_eq!(next_long_run(text.as_bytes(), 0, run.start - 1, is_base64), None);
        // Runs at every position relative to the 64-byte blocks, long enough or not.
        for start in 0..140 {
            for (length, found) in [(16, true), (15, false)] {
                let mut bytes = b". ".repeat(150);
                bytes[start..start + length].fill(b'Q');
                let inside = next_long_run(&bytes, 0, bytes.len(), is_base64);
                assert_eq!(inside.is_some(), found, "run of {length} at {start}");
                assert!(inside.map_or(true, |at| (start..start + length).contains(&at)));
            }
        }
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
