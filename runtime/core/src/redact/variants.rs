//! The one variant generator: every literal form a secret takes once something has encoded it.
//!
//! The runtime's sanitizer and the harness scanner's *variant pass* both match these strings with
//! one aho-corasick automaton. The scanner's *decoding pass* deliberately does not use this
//! module: it decodes what it finds instead, so a form missing here is still caught there.
//!
//! Encodings that pack bits across byte boundaries (base64, base32) change with the secret's
//! position inside a larger encoded string. For those we emit, per alignment, the run of output
//! characters that depends on the secret's bytes alone (the "alignment-independent middle run"),
//! so the secret is found wherever it sits in the encoded plaintext.

use std::collections::HashSet;
use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::engine::GeneralPurpose;
use base64::Engine as _;

/// One literal form of a secret. `Debug` shows the encoding and the length, never the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Variant {
    /// Names the encoding as reports show it, e.g. `url(component)` or `base64(shift 1)`.
    pub encoding: &'static str,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Variant").field("encoding", &self.encoding).field("len", &self.bytes.len()).finish()
    }
}

/// Every variant of `secret`, without duplicates (the first encoding that yields a byte string
/// names it, so `raw` wins over an identical `url(component)`).
pub fn variants(secret: &[u8]) -> Vec<Variant> {
    let mut set = VariantSet::default();
    set.push("raw", secret.to_vec());
    push_percent_forms(secret, &mut set);
    push_base64_forms(secret, &mut set);
    push_hex_forms(secret, &mut set);
    push_base32_forms(secret, &mut set);
    set.push("rust-debug(bytes)", rust_debug_bytes(secret));
    if let Ok(text) = std::str::from_utf8(secret) {
        push_json_forms(text, &mut set);
        push_html_forms(text, &mut set);
        set.push("rust-debug", rust_debug_str(text));
        set.push("utf16le", text.encode_utf16().flat_map(u16::to_le_bytes).collect());
        set.push("utf16be", text.encode_utf16().flat_map(u16::to_be_bytes).collect());
    }
    set.variants
}

/// The Basic-auth forms of a `login:password` pair (`Authorization: Basic <these>`).
pub fn basic_auth_variants(login: &[u8], password: &[u8]) -> Vec<Variant> {
    let credentials = [login, b":", password].concat();
    let mut set = VariantSet::default();
    set.push("basic-auth", STANDARD.encode(&credentials).into_bytes());
    set.push("basic-auth", STANDARD_NO_PAD.encode(&credentials).into_bytes());
    set.variants
}

#[derive(Default)]
struct VariantSet {
    seen: HashSet<Vec<u8>>,
    variants: Vec<Variant>,
}

impl VariantSet {
    fn push(&mut self, encoding: &'static str, bytes: Vec<u8>) {
        if !bytes.is_empty() && self.seen.insert(bytes.clone()) {
            self.variants.push(Variant { encoding, bytes });
        }
    }
}

// ---- URL ---------------------------------------------------------------------------------

/// One percent-encoder in use somewhere: which bytes it leaves alone.
struct PercentForm {
    encoding: &'static str,
    keeps: fn(u8) -> bool,
    space_as_plus: bool,
    lowercase_hex: bool,
}

const PERCENT_FORMS: &[PercentForm] = &[
    // RFC 3986 component encoding (Rust's `urlencoding`, Python's `quote(safe="")`).
    PercentForm { encoding: "url(component)", keeps: is_unreserved, space_as_plus: false, lowercase_hex: false },
    PercentForm { encoding: "url(component, lowercase)", keeps: is_unreserved, space_as_plus: false, lowercase_hex: true },
    // `percent_encoding::NON_ALPHANUMERIC`.
    PercentForm { encoding: "url(strict)", keeps: is_alphanumeric, space_as_plus: false, lowercase_hex: false },
    // JavaScript's encodeURIComponent.
    PercentForm { encoding: "url(js)", keeps: js_component_keeps, space_as_plus: false, lowercase_hex: false },
    // WHATWG (the `url` crate, `worker::Url`): path, path segment, query.
    PercentForm { encoding: "url(path)", keeps: whatwg_path_keeps, space_as_plus: false, lowercase_hex: false },
    PercentForm { encoding: "url(path segment)", keeps: whatwg_segment_keeps, space_as_plus: false, lowercase_hex: false },
    PercentForm { encoding: "url(query)", keeps: whatwg_query_keeps, space_as_plus: false, lowercase_hex: false },
    // application/x-www-form-urlencoded (`form_urlencoded`, `query_pairs_mut`, HTML forms).
    PercentForm { encoding: "url(form)", keeps: form_keeps, space_as_plus: true, lowercase_hex: false },
];

fn is_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)
}

fn js_component_keeps(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte)
}

fn whatwg_path_keeps(byte: u8) -> bool {
    byte.is_ascii_graphic() && !b"\"#<>?`{}".contains(&byte)
}

fn whatwg_segment_keeps(byte: u8) -> bool {
    whatwg_path_keeps(byte) && byte != b'/' && byte != b'%'
}

fn whatwg_query_keeps(byte: u8) -> bool {
    byte.is_ascii_graphic() && !b"\"#<>'".contains(&byte)
}

fn form_keeps(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"*-._".contains(&byte)
}

fn percent_encode(input: &[u8], form: &PercentForm) -> Vec<u8> {
    let digits: &[u8; 16] = if form.lowercase_hex { b"0123456789abcdef" } else { b"0123456789ABCDEF" };
    let mut out = Vec::with_capacity(input.len() * 3);
    for &byte in input {
        if (form.keeps)(byte) {
            out.push(byte);
        } else if byte == b' ' && form.space_as_plus {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[b'%', digits[usize::from(byte >> 4)], digits[usize::from(byte & 0xf)]]);
        }
    }
    out
}

fn push_percent_forms(secret: &[u8], set: &mut VariantSet) {
    for form in PERCENT_FORMS {
        set.push(form.encoding, percent_encode(secret, form));
    }
    // A component-encoded value encoded once more (a URL inside a query parameter).
    let component = &PERCENT_FORMS[0];
    set.push("url(double)", percent_encode(&percent_encode(secret, component), component));
}

// ---- base64, base32 ----------------------------------------------------------------------

/// The characters of `encode_unpadded(<shift filler bytes> ++ secret ++ <anything>)` that are
/// fixed by the secret alone, for an encoding of `bits_per_char` bits per output character.
fn aligned_run(secret: &[u8], shift: usize, bits_per_char: usize, encode_unpadded: impl Fn(&[u8]) -> String) -> Vec<u8> {
    let mut input = vec![0u8; shift];
    input.extend_from_slice(secret);
    let encoded = encode_unpadded(&input).into_bytes();
    let first = (8 * shift).div_ceil(bits_per_char);
    let end = (8 * (shift + secret.len())) / bits_per_char;
    if first >= end {
        return Vec::new();
    }
    encoded[first..end].to_vec()
}

struct Base64Form {
    whole: &'static str,
    shifts: [&'static str; 3],
    padded: GeneralPurpose,
    unpadded: GeneralPurpose,
}

const BASE64_FORMS: [Base64Form; 2] = [
    Base64Form {
        whole: "base64",
        shifts: ["base64(shift 0)", "base64(shift 1)", "base64(shift 2)"],
        padded: STANDARD,
        unpadded: STANDARD_NO_PAD,
    },
    Base64Form {
        whole: "base64url",
        shifts: ["base64url(shift 0)", "base64url(shift 1)", "base64url(shift 2)"],
        padded: URL_SAFE,
        unpadded: URL_SAFE_NO_PAD,
    },
];

fn push_base64_forms(secret: &[u8], set: &mut VariantSet) {
    for form in &BASE64_FORMS {
        set.push(form.whole, form.padded.encode(secret).into_bytes());
        set.push(form.whole, form.unpadded.encode(secret).into_bytes());
        for (shift, name) in form.shifts.iter().enumerate() {
            set.push(name, aligned_run(secret, shift, 6, |bytes| form.unpadded.encode(bytes)));
        }
    }
}

const BASE32_SHIFTS: [&str; 5] = ["base32(shift 0)", "base32(shift 1)", "base32(shift 2)", "base32(shift 3)", "base32(shift 4)"];

fn push_base32_forms(secret: &[u8], set: &mut VariantSet) {
    set.push("base32", data_encoding::BASE32.encode(secret).into_bytes());
    set.push("base32", data_encoding::BASE32_NOPAD.encode(secret).into_bytes());
    for (shift, name) in BASE32_SHIFTS.iter().enumerate() {
        set.push(name, aligned_run(secret, shift, 5, |bytes| data_encoding::BASE32_NOPAD.encode(bytes)));
    }
}

// ---- hex ---------------------------------------------------------------------------------

fn push_hex_forms(secret: &[u8], set: &mut VariantSet) {
    let lower = hex::encode(secret);
    let upper = hex::encode_upper(secret);
    set.push("hex(0x)", format!("0x{lower}").into_bytes());
    set.push("hex(0x, upper)", format!("0x{upper}").into_bytes());
    set.push("hex", lower.into_bytes());
    set.push("hex(upper)", upper.into_bytes());
}

// ---- JSON --------------------------------------------------------------------------------

/// One JSON string encoder's choices.
struct JsonStyle {
    encoding: &'static str,
    escape_slash: bool,
    ascii_only: bool,
    html_safe: bool,
    upper_hex: bool,
}

const JSON_STYLES: &[JsonStyle] = &[
    // serde_json, JavaScript's JSON.stringify.
    JsonStyle { encoding: "json", escape_slash: false, ascii_only: false, html_safe: false, upper_hex: false },
    JsonStyle { encoding: "json(escaped /)", escape_slash: true, ascii_only: false, html_safe: false, upper_hex: false },
    // Python's json.dumps.
    JsonStyle { encoding: "json(ascii)", escape_slash: false, ascii_only: true, html_safe: false, upper_hex: false },
    // Java's escapers.
    JsonStyle { encoding: "json(ascii, upper hex)", escape_slash: false, ascii_only: true, html_safe: false, upper_hex: true },
    // PHP's json_encode.
    JsonStyle { encoding: "json(php)", escape_slash: true, ascii_only: true, html_safe: false, upper_hex: false },
    // Go's encoding/json.
    JsonStyle { encoding: "json(html-safe)", escape_slash: false, ascii_only: false, html_safe: true, upper_hex: false },
];

fn json_escape(text: &str, style: &JsonStyle) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let unicode_escape = |out: &mut String, c: char| {
        for unit in c.encode_utf16(&mut [0u16; 2]) {
            if style.upper_hex {
                out.push_str(&format!("\\u{unit:04X}"));
            } else {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    };
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if style.escape_slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => unicode_escape(&mut out, c),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style.html_safe => unicode_escape(&mut out, c),
            c if !c.is_ascii() && style.ascii_only => unicode_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

fn push_json_forms(text: &str, set: &mut VariantSet) {
    for style in JSON_STYLES {
        set.push(style.encoding, json_escape(text, style).into_bytes());
    }
    let plain = &JSON_STYLES[0];
    set.push("json(nested)", json_escape(&json_escape(text, plain), plain).into_bytes());
}

// ---- HTML --------------------------------------------------------------------------------

/// The HTML5 names of U+00C0..=U+00FF, in code point order.
const LATIN1_LETTER_NAMES: [&str; 64] = [
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave",
    "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave",
    "Uacute", "Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig",
    "ccedil", "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve", "oacute",
    "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml",
];

/// The escapes every HTML escaper makes for markup characters, given its choice for quotes
/// (`None`: left as they are).
fn markup_entity(c: char, quote: Option<&str>, apostrophe: Option<&str>) -> Option<String> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => quote,
        '\'' => apostrophe,
        _ => None,
    }
    .map(str::to_owned)
}

fn html_escape(text: &str, entity: impl Fn(char) -> Option<String>) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match entity(c) {
            Some(escaped) => out.push_str(&escaped),
            None => out.push(c),
        }
    }
    out.into_bytes()
}

fn push_html_forms(text: &str, set: &mut VariantSet) {
    // Python's html.escape, askama.
    set.push("html", html_escape(text, |c| markup_entity(c, Some("&quot;"), Some("&#x27;"))));
    // PHP's htmlspecialchars, Jinja.
    set.push("html", html_escape(text, |c| markup_entity(c, Some("&quot;"), Some("&#39;"))));
    set.push("html", html_escape(text, |c| markup_entity(c, Some("&quot;"), Some("&#039;"))));
    // Go's html.EscapeString and html/template.
    set.push("html", html_escape(text, |c| markup_entity(c, Some("&#34;"), Some("&#39;"))));
    // Text-node escapers leave quotes alone (`html_escape::encode_text`, `html.escape(s, False)`).
    set.push("html(text)", html_escape(text, |c| markup_entity(c, None, None)));
    // OWASP-style "safe" escaping also covers the slash.
    set.push(
        "html(safe)",
        html_escape(text, |c| if c == '/' { Some("&#x2F;".into()) } else { markup_entity(c, Some("&quot;"), Some("&#x27;")) }),
    );
    // PHP's htmlentities: names for the Latin-1 letters too.
    set.push(
        "html(named)",
        html_escape(text, |c| {
            markup_entity(c, Some("&quot;"), Some("&apos;")).or_else(|| match u32::from(c) {
                code @ 0xC0..=0xFF => Some(format!("&{};", LATIN1_LETTER_NAMES[(code - 0xC0) as usize])),
                code if code > 0x7F => Some(format!("&#{code};")),
                _ => None,
            })
        }),
    );
    // Encoders that escape everything but letters and digits.
    set.push(
        "html(decimal)",
        html_escape(text, |c| (!c.is_ascii_alphanumeric()).then(|| format!("&#{};", u32::from(c)))),
    );
    set.push(
        "html(hex)",
        html_escape(text, |c| (!c.is_ascii_alphanumeric()).then(|| format!("&#x{:x};", u32::from(c)))),
    );
    set.push(
        "html(hex, upper)",
        html_escape(text, |c| (!c.is_ascii_alphanumeric()).then(|| format!("&#x{:X};", u32::from(c)))),
    );
}

// ---- Rust Debug --------------------------------------------------------------------------

/// `format!("{:?}", text)` without the surrounding quotes.
fn rust_debug_str(text: &str) -> Vec<u8> {
    let quoted = format!("{text:?}");
    quoted.as_bytes()[1..quoted.len() - 1].to_vec()
}

/// `format!("{:?}", bytes)` (a `Vec<u8>` body printed for debugging) without the brackets.
fn rust_debug_bytes(secret: &[u8]) -> Vec<u8> {
    let listed = format!("{secret:?}");
    listed.as_bytes()[1..listed.len() - 1].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "Ab3/x+Q=:z&\"<%é9kLm";

    fn variant(encoding: &str) -> Vec<Vec<u8>> {
        variants(SECRET.as_bytes()).into_iter().filter(|v| v.encoding == encoding).map(|v| v.bytes).collect()
    }

    fn text(encoding: &str) -> Vec<String> {
        variant(encoding).into_iter().map(|bytes| String::from_utf8(bytes).unwrap()).collect()
    }

    #[test]
    fn url_forms_match_their_encoders() {
        assert_eq!(text("url(component)"), ["Ab3%2Fx%2BQ%3D%3Az%26%22%3C%25%C3%A99kLm"]);
        assert_eq!(text("url(component, lowercase)"), ["Ab3%2fx%2bQ%3d%3az%26%22%3c%25%c3%a99kLm"]);
        assert_eq!(text("url(path)"), ["Ab3/x+Q=:z&%22%3C%%C3%A99kLm"]);
        assert_eq!(text("url(path segment)"), ["Ab3%2Fx+Q=:z&%22%3C%25%C3%A99kLm"]);
        // Identical to the path form for this secret, so deduplicated away.
        assert!(text("url(query)").is_empty());
        assert_eq!(String::from_utf8(percent_encode(b"a'b#", &PERCENT_FORMS[6])).unwrap(), "a%27b%23");
        assert_eq!(text("url(double)"), ["Ab3%252Fx%252BQ%253D%253Az%2526%2522%253C%2525%25C3%25A99kLm"]);
        let form = percent_encode(b"a b+c", &PERCENT_FORMS[7]);
        assert_eq!(form, b"a+b%2Bc");
    }

    #[test]
    fn base64_forms_include_whole_and_every_alignment() {
        let whole = STANDARD.encode(SECRET);
        assert_eq!(text("base64"), [whole.clone(), whole.trim_end_matches('=').to_owned()]);
        for shift in 0..3 {
            let run = aligned_run(SECRET.as_bytes(), shift, 6, |b| STANDARD_NO_PAD.encode(b));
            for prefix in [&b""[..], b"x", b"xy", b"xyz", b"wxyz"] {
                let embedded = STANDARD.encode([prefix, SECRET.as_bytes(), b"tail"].concat());
                if prefix.len() % 3 == shift {
                    assert!(embedded.contains(std::str::from_utf8(&run).unwrap()), "shift {shift}");
                }
            }
        }
        // Where an alignment's run equals an earlier form (std and url-safe alphabets agree on
        // most runs) it is deduplicated, but the bytes are always among the variants.
        let all: Vec<Vec<u8>> = variants(SECRET.as_bytes()).into_iter().map(|v| v.bytes).collect();
        for shift in 0..3 {
            assert!(all.contains(&aligned_run(SECRET.as_bytes(), shift, 6, |b| URL_SAFE_NO_PAD.encode(b))));
        }
    }

    #[test]
    fn hex_json_html_debug_and_utf16_forms() {
        assert_eq!(text("hex"), [hex::encode(SECRET)]);
        assert_eq!(text("hex(0x, upper)"), [format!("0x{}", hex::encode_upper(SECRET))]);
        let serde = serde_json::to_string(SECRET).unwrap();
        assert_eq!(text("json"), [serde[1..serde.len() - 1].to_owned()]);
        assert_eq!(text("json(php)"), [r#"Ab3\/x+Q=:z&\"<%\u00e99kLm"#]);
        assert_eq!(text("json(html-safe)"), [r#"Ab3/x+Q=:z\u0026\"\u003c%é9kLm"#]);
        assert_eq!(text("json(nested)"), [r#"Ab3/x+Q=:z&\\\"<%é9kLm"#]);
        assert!(text("html").contains(&"Ab3/x+Q=:z&amp;&quot;&lt;%é9kLm".to_owned()));
        assert!(text("html").contains(&"Ab3/x+Q=:z&amp;&#34;&lt;%é9kLm".to_owned()));
        assert_eq!(text("html(named)"), ["Ab3/x+Q=:z&amp;&quot;&lt;%&eacute;9kLm"]);
        assert_eq!(text("html(text)"), ["Ab3/x+Q=:z&amp;\"&lt;%é9kLm"]);
        assert_eq!(text("html(safe)"), ["Ab3&#x2F;x+Q=:z&amp;&quot;&lt;%é9kLm"]);
        assert_eq!(text("html(decimal)"), ["Ab3&#47;x&#43;Q&#61;&#58;z&#38;&#34;&#60;&#37;&#233;9kLm"]);
        assert_eq!(text("html(hex)"), ["Ab3&#x2f;x&#x2b;Q&#x3d;&#x3a;z&#x26;&#x22;&#x3c;&#x25;&#xe9;9kLm"]);
        // Rust's Debug agrees with JSON on this secret (deduplicated), not on control characters.
        assert!(text("rust-debug").is_empty());
        assert_eq!(rust_debug_str("a\u{7f}'b"), br"a\u{7f}'b");
        assert_eq!(variant("rust-debug(bytes)")[0], format!("{:?}", SECRET.as_bytes()).trim_matches(['[', ']']).as_bytes());
        let le: Vec<u8> = SECRET.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(variant("utf16le"), [le]);
        assert_eq!(variant("utf16be").len(), 1);
    }

    #[test]
    fn base32_and_basic_auth() {
        assert_eq!(text("base32")[0], data_encoding::BASE32.encode(SECRET.as_bytes()));
        let all: Vec<Vec<u8>> = variants(SECRET.as_bytes()).into_iter().map(|v| v.bytes).collect();
        for shift in 0..5 {
            assert!(all.contains(&aligned_run(SECRET.as_bytes(), shift, 5, |b| data_encoding::BASE32_NOPAD.encode(b))));
        }
        let basic = basic_auth_variants(b"login", b"pa:ss");
        assert_eq!(basic[0].bytes, STANDARD.encode("login:pa:ss").into_bytes());
        assert!(basic.iter().all(|v| v.encoding == "basic-auth"));
    }

    #[test]
    fn debug_never_shows_bytes_and_variants_are_unique() {
        let all = variants(SECRET.as_bytes());
        let shown = format!("{all:?}");
        assert!(!shown.contains("Ab3"));
        let unique: HashSet<_> = all.iter().map(|v| &v.bytes).collect();
        assert_eq!(unique.len(), all.len());
        assert_eq!(all[0].encoding, "raw");
    }

    proptest! {
        #[test]
        fn aligned_runs_appear_in_any_embedding(
            secret in proptest::collection::vec(any::<u8>(), 8..40),
            prefix in proptest::collection::vec(any::<u8>(), 0..12),
            suffix in proptest::collection::vec(any::<u8>(), 0..12),
        ) {
            let embedded = [&prefix[..], &secret, &suffix].concat();
            let b64 = URL_SAFE_NO_PAD.encode(&embedded);
            let run64 = aligned_run(&secret, prefix.len() % 3, 6, |b| URL_SAFE_NO_PAD.encode(b));
            prop_assert!(b64.contains(std::str::from_utf8(&run64).unwrap()));
            let b32 = data_encoding::BASE32.encode(&embedded);
            let run32 = aligned_run(&secret, prefix.len() % 5, 5, |b| data_encoding::BASE32_NOPAD.encode(b));
            prop_assert!(b32.contains(std::str::from_utf8(&run32).unwrap()));
        }
    }
}
