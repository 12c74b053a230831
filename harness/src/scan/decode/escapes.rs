//! Escaped text: percent-encoding, backslash escapes (JSON, and Rust's `{:?}` forms) and HTML
//! entities. Escapes of one kind that lie close together form a cluster; the cluster, widened by
//! the longest canary on each side (a canary may be escaped only in part), is decoded as one run.
//! Nested escaping (`\\\"`, `%252F`) comes undone one level per recursion.
//!
//! Escapes are read greedily, so a trigger just before an encoded canary can swallow its first
//! characters (`%` then `0aB…` reads as `%0a`); the variant pass still matches such text.

use std::collections::HashMap;
use std::sync::OnceLock;

use memchr::{memchr, memchr3_iter};

use super::{Decoded, Fresh, OffsetMap, RunContext, Step, MAX_DECODED};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Percent,
    Backslash,
    Html,
}

impl Kind {
    fn of(trigger: u8) -> Kind {
        match trigger {
            b'%' => Kind::Percent,
            b'\\' => Kind::Backslash,
            _ => Kind::Html,
        }
    }

    fn trigger(self) -> u8 {
        match self {
            Kind::Percent => b'%',
            Kind::Backslash => b'\\',
            Kind::Html => b'&',
        }
    }

    fn step(self) -> Step {
        match self {
            Kind::Percent => Step::Percent,
            Kind::Backslash => Step::Backslash,
            Kind::Html => Step::Html,
        }
    }

    /// The length of what looks like an escape at `at`, for clustering: the decoder decides.
    fn escape_len(self, buffer: &[u8], at: usize, scratch: &mut Vec<u8>) -> Option<usize> {
        match self {
            Kind::Html => entity_body_end(buffer, at).map(|semicolon| semicolon + 1 - at),
            _ => self.parse(buffer, at, scratch),
        }
    }

    /// The escape at `at` (which holds the trigger byte): its length and what it stands for.
    fn parse(self, buffer: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
        match self {
            Kind::Percent => {
                let byte = hex_value(buffer.get(at + 1..at + 3)?)?;
                out.push(byte as u8);
                Some(3)
            }
            Kind::Backslash => parse_backslash(buffer, at, out),
            Kind::Html => parse_entity(buffer, at, out),
        }
    }
}

fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

fn parse_backslash(buffer: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let simple = match *buffer.get(at + 1)? {
        b @ (b'"' | b'\\' | b'/' | b'\'') => Some(b),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'0' => Some(0),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return Some(2);
    }
    match buffer[at + 1] {
        // A byte, as in escaped byte strings.
        b'x' => {
            out.push(hex_value(buffer.get(at + 2..at + 4)?)? as u8);
            Some(4)
        }
        // Rust's `\u{…}`.
        b'u' if buffer.get(at + 2) == Some(&b'{') => {
            let close = (at + 3..buffer.len().min(at + 10)).find(|&i| buffer[i] == b'}')?;
            push_char(out, hex_value(&buffer[at + 3..close])?);
            Some(close + 1 - at)
        }
        // JSON's `\uXXXX`, joining surrogate pairs.
        b'u' => {
            let unit = hex_value(buffer.get(at + 2..at + 6)?)?;
            if (0xD800..0xDC00).contains(&unit) && buffer.get(at + 6..at + 8) == Some(b"\\u") {
                if let Some(low @ 0xDC00..=0xDFFF) = buffer.get(at + 8..at + 12).and_then(hex_value) {
                    push_char(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
                    return Some(12);
                }
            }
            push_char(out, unit);
            Some(6)
        }
        _ => None,
    }
}

/// The WHATWG named entities, as html-escape ships them, by name.
fn named_entities() -> &'static HashMap<&'static [u8], &'static str> {
    static BY_NAME: OnceLock<HashMap<&'static [u8], &'static str>> = OnceLock::new();
    BY_NAME.get_or_init(|| html_escape::NAMED_ENTITIES.iter().copied().collect())
}

/// Where the `;` ending an entity-shaped `&name;`, `&#123;` or `&#x7b;` at `at` is.
fn entity_body_end(buffer: &[u8], at: usize) -> Option<usize> {
    let body_start = at + 1;
    let limit = buffer.len().min(body_start + 33);
    let semicolon = (body_start..limit).find(|&i| !(buffer[i].is_ascii_alphanumeric() || (i == body_start && buffer[i] == b'#')))?;
    (buffer[semicolon] == b';' && semicolon > body_start).then_some(semicolon)
}

fn parse_entity(buffer: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let semicolon = entity_body_end(buffer, at)?;
    let code = match &buffer[at + 1..semicolon] {
        [b'#', b'x' | b'X', digits @ ..] if digits.len() <= 6 => hex_value(digits)?,
        [b'#', digits @ ..] if digits.len() <= 7 && digits.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(digits).ok()?.parse().ok()?
        }
        [b'#', ..] => return None,
        name => {
            out.extend_from_slice(named_entities().get(name)?.as_bytes());
            return Some(semicolon + 1 - at);
        }
    };
    push_char(out, code);
    Some(semicolon + 1 - at)
}

struct Cluster {
    first: usize,
    last_end: usize,
    escapes: usize,
}

pub(super) fn decode_clusters(buffer: &[u8], context: &RunContext, fresh: Fresh<'_>, on_decoded: &mut dyn FnMut(Decoded)) {
    let kinds = [Kind::Percent, Kind::Backslash, Kind::Html];
    let mut open: [Option<Cluster>; 3] = [None, None, None];
    let mut scratch = Vec::new();
    let close = |cluster: Cluster, kind: Kind, on_decoded: &mut dyn FnMut(Decoded)| {
        let start = cluster.first.saturating_sub(context.reach);
        let end = (cluster.last_end + context.reach).min(buffer.len());
        if !fresh.touches(start, end) {
            return;
        }
        let readings = if kind == Kind::Percent && context.plus_as_space { &[false, true][..] } else { &[false] };
        for &plus_as_space in readings {
            let decoded = decode_span(buffer, start, end, kind, plus_as_space, cluster.escapes);
            // Entity-shaped text such as `&nope;` clusters but decodes to nothing new.
            if decoded.changed.as_ref().is_some_and(|changed| !changed.is_empty()) {
                on_decoded(decoded);
            }
        }
    };
    for at in memchr3_iter(b'%', b'\\', b'&', buffer) {
        let kind = Kind::of(buffer[at]);
        let slot = kinds.iter().position(|&k| k == kind).expect("every trigger has a kind");
        if open[slot].as_ref().is_some_and(|cluster| at < cluster.last_end) {
            continue; // inside the previous escape (the second `\` of `\\`)
        }
        scratch.clear();
        let Some(length) = kind.escape_len(buffer, at, &mut scratch) else { continue };
        let end = at + length;
        match &mut open[slot] {
            Some(cluster) if at - cluster.last_end <= 2 * context.reach && end - cluster.first <= MAX_DECODED => {
                cluster.last_end = end;
                cluster.escapes += 1;
            }
            slot_cluster => {
                if let Some(previous) = slot_cluster.replace(Cluster { first: at, last_end: end, escapes: 1 }) {
                    close(previous, kind, on_decoded);
                }
            }
        }
    }
    for (slot, cluster) in open.into_iter().enumerate() {
        if let Some(cluster) = cluster {
            close(cluster, kinds[slot], on_decoded);
        }
    }
}

/// Decodes `start..end` (holding about `escapes` escapes) with `kind`'s escapes.
fn decode_span(buffer: &[u8], start: usize, end: usize, kind: Kind, plus_as_space: bool, escapes: usize) -> Decoded {
    let mut bytes = Vec::with_capacity(end - start);
    let mut map = OffsetMap::with_checkpoints(start, (1, 1), 2 * escapes);
    let mut changed = Vec::with_capacity(escapes);
    let trigger = kind.trigger();
    let mut at = start;
    while at < end {
        // Literal text up to the next trigger, copied as is (a form's `+` read as a space).
        let next = memchr(trigger, &buffer[at..end]).map_or(end, |offset| at + offset);
        let literal = bytes.len();
        bytes.extend_from_slice(&buffer[at..next]);
        if plus_as_space {
            bytes[literal..].iter_mut().filter(|b| **b == b'+').for_each(|b| *b = b' ');
        }
        at = next;
        if at == end {
            break;
        }
        let before = bytes.len();
        match kind.parse(&buffer[..end], at, &mut bytes) {
            Some(length) => {
                map.mark(before, at);
                at += length;
                map.mark(bytes.len(), at);
                changed.push((before, bytes.len()));
            }
            None => {
                bytes.push(trigger);
                at += 1;
            }
        }
    }
    Decoded { bytes, step: kind.step(), map, changed: Some(changed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(text: &str, reach: usize) -> Vec<(Step, String, usize)> {
        let context = RunContext { reach, shortest: reach, printable_stretch: reach, plus_as_space: true };
        let mut out = Vec::new();
        decode_clusters(text.as_bytes(), &context, Fresh(None), &mut |d: Decoded| {
            out.push((d.step, String::from_utf8_lossy(&d.bytes).into_owned(), d.map.to_source(0)))
        });
        out
    }

    #[test]
    fn each_kind_decodes() {
        let found = decode_all(r#"a=x%2Fy%C3%A9+z&b=\"q\u00e9\ud83d\ude00\/\u{1F600}\x41 &lt;&#233;&#xE9;&eacute;&amp;"#, 4);
        assert!(found.iter().any(|(step, text, at)| *step == Step::Percent && text.starts_with("a=x/yé+z") && *at == 0));
        assert!(found.iter().any(|(step, text, _)| *step == Step::Percent && text.starts_with("a=x/yé z")));
        assert!(found.iter().any(|(step, text, _)| *step == Step::Backslash && text.contains("\"qé😀/😀A")));
        assert!(found.iter().any(|(step, text, _)| *step == Step::Html && text.contains("<ééé&")));
    }

    #[test]
    fn offsets_map_through_escapes() {
        let text = "....%41%42cdef";
        let context = RunContext { reach: 2, shortest: 2, printable_stretch: 2, plus_as_space: false };
        let mut maps = Vec::new();
        decode_clusters(text.as_bytes(), &context, Fresh(None), &mut |d: Decoded| maps.push((d.bytes, d.map)));
        let (bytes, map) = &maps[0];
        assert_eq!(bytes, b"..ABcd");
        assert_eq!(map.to_source(2), 4);
        assert_eq!(map.to_source(3), 7);
        assert_eq!(map.to_source(4), 10);
    }

    #[test]
    fn distant_escapes_make_separate_clusters_and_non_escapes_are_ignored() {
        let text = format!("%41{}%42 C:\\Users 100% &zzqq; &", ".".repeat(50));
        let found = decode_all(&text, 4);
        assert_eq!(found.iter().filter(|(step, _, _)| *step == Step::Percent).count(), 4);
        assert!(found.iter().all(|(step, _, _)| *step == Step::Percent));
    }
}
