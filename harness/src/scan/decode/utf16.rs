//! UTF-16 text inside bytes (a Windows log, a dumped JS string): runs of code units whose high
//! byte is zero, with an occasional unit outside Latin-1. Found from their zero bytes, so plain
//! ASCII text costs a single `memchr`.

use memchr::memchr_iter;

use super::{Decoded, Fresh, OffsetMap, Step};

const MIN_UNITS: usize = 8;

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

fn unit(buffer: &[u8], at: usize, order: Order) -> Option<(u8, u8)> {
    let pair = buffer.get(at..at + 2)?;
    Some(match order {
        Order::Little => (pair[0], pair[1]),
        Order::Big => (pair[1], pair[0]),
    })
}

fn is_latin1(unit: Option<(u8, u8)>) -> bool {
    matches!(unit, Some((low, 0)) if low != 0)
}

/// How many code units from `start` look like UTF-16 text.
fn run_units(buffer: &[u8], start: usize, order: Order) -> usize {
    let mut units = 0;
    let mut at = start;
    loop {
        let current = unit(buffer, at, order);
        if is_latin1(current) {
            units += 1;
            at += 2;
        } else if units > 0 && matches!(current, Some((low, high)) if low != 0 && high != 0) && is_latin1(unit(buffer, at + 2, order)) {
            units += 2;
            at += 4;
        } else {
            return units;
        }
    }
}

pub(super) fn decode_runs(buffer: &[u8], fresh: Fresh<'_>, on_decoded: &mut dyn FnMut(Decoded)) {
    let mut resume = 0;
    for zero in memchr_iter(0, buffer) {
        if zero < resume {
            continue;
        }
        // Text in one byte order next to a stray byte reads as text in the other, one unit
        // off; each reading then misses an end character, so decoding both finds the truth.
        let readings = [
            zero.checked_sub(1).map(|start| (start, run_units(buffer, start, Order::Little), Order::Little)),
            Some((zero, run_units(buffer, zero, Order::Big), Order::Big)),
        ];
        for (start, units, order) in readings.into_iter().flatten() {
            if units >= MIN_UNITS && fresh.touches(start, start + 2 * units) {
                on_decoded(decode(buffer, start, units, order));
                resume = resume.max(start + 2 * units);
            }
        }
    }
}

fn decode(buffer: &[u8], start: usize, units: usize, order: Order) -> Decoded {
    let code_units = (0..units).filter_map(|i| unit(buffer, start + 2 * i, order)).map(|(low, high)| u16::from_le_bytes([low, high]));
    let mut bytes = Vec::with_capacity(units);
    let mut map = OffsetMap::new(start, (2, 1));
    let mut source = start;
    for decoded in char::decode_utf16(code_units) {
        let c = decoded.unwrap_or(char::REPLACEMENT_CHARACTER);
        bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        // A lone surrogate is one unit, replaced by U+FFFD (which would count as one too).
        source += 2 * c.len_utf16();
        if !c.is_ascii() {
            map.mark(bytes.len(), source);
        }
    }
    let step = match order {
        Order::Little => Step::Utf16Le,
        Order::Big => Step::Utf16Be,
    };
    Decoded::new(bytes, step, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_byte_orders_decode_with_offsets() {
        let text = "token=Ab3é9kLmQ";
        for (bytes, step) in [
            (text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>(), Step::Utf16Le),
            (text.encode_utf16().flat_map(u16::to_be_bytes).collect(), Step::Utf16Be),
        ] {
            let haystack = [b"PK\x03\x04ab".as_slice(), &bytes, b"\xff\xfe"].concat();
            let mut found = Vec::new();
            decode_runs(&haystack, Fresh(None), &mut |d: Decoded| found.push(d));
            let run = found.iter().find(|d| d.step == step && String::from_utf8_lossy(&d.bytes).contains(text)).expect("decoded");
            let at = String::from_utf8_lossy(&run.bytes).find("kLm").unwrap();
            let expected = 6 + 2 * "token=Ab3é9".encode_utf16().count();
            assert_eq!(run.map.to_source(at), expected);
        }
    }
}
