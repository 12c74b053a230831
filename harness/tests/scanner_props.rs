//! The scanner and the sanitizer, tested against each other.
//!
//! Random canaries holding every character an encoding changes (`/ + = : & " < %` and a
//! non-ASCII letter) are encoded by encoders written here or taken from other crates — never by
//! the variant generator — and embedded in random text. Then:
//!
//! - the scanner finds every one, at an offset inside the embedded form, for the right binding;
//! - the decoding pass alone finds every decodable form (it does not use the generator, so a
//!   form the generator lacks is still caught);
//! - the runtime's sanitizer removes every form the variant generator covers, so that nothing
//!   the scanner can find is left (decoding-only forms — compressed, folded, nested in another
//!   document — are the scanner's alone).

use std::io::Write;

use agency_core::redact::Redactor;
use agency_harness::scan::{Canary, Hit, Scanner};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use proptest::prelude::*;
use secrecy::SecretString;

const LOGIN: &str = "AGENCY_OS_DATAFORSEO_LOGIN";
const PASSWORD: &str = "AGENCY_OS_DATAFORSEO_PASSWORD";

#[derive(Clone, Copy, Debug)]
enum Form {
    Raw,
    UrlComponent,
    UrlComponentLower,
    UrlFormEncoded,
    UrlDouble,
    Base64 { shift: usize, url_safe: bool, padded: bool },
    Base64Folded { width: usize },
    Base64OfJson,
    BasicAuth,
    HexLower,
    HexUpper,
    Hex0x,
    Base32 { shift: usize },
    Json,
    JsonEscapedSlash,
    JsonAscii,
    JsonNested,
    HtmlText,
    HtmlAttribute,
    HtmlSafe,
    HtmlDecimal,
    HtmlHex,
    RustDebug,
    Utf16Le,
    Utf16Be,
    Gzip,
    Zlib,
    Truncated,
    LineSplit,
}

impl Form {
    /// Whether the decoding pass must find this form on its own.
    fn decodable(self) -> bool {
        !matches!(self, Form::Base32 { .. } | Form::Truncated | Form::LineSplit)
    }

    /// Whether the variant generator covers this form, so the sanitizer must remove it.
    fn sanitizable(self) -> bool {
        !matches!(
            self,
            Form::Base64Folded { .. } | Form::Base64OfJson | Form::Gzip | Form::Zlib | Form::Truncated | Form::LineSplit
        )
    }
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Raw),
        Just(Form::UrlComponent),
        Just(Form::UrlComponentLower),
        Just(Form::UrlFormEncoded),
        Just(Form::UrlDouble),
        (0..3usize, any::<bool>(), any::<bool>()).prop_map(|(shift, url_safe, padded)| Form::Base64 { shift, url_safe, padded }),
        prop_oneof![Just(64usize), Just(76)].prop_map(|width| Form::Base64Folded { width }),
        Just(Form::Base64OfJson),
        Just(Form::BasicAuth),
        Just(Form::HexLower),
        Just(Form::HexUpper),
        Just(Form::Hex0x),
        (0..5usize).prop_map(|shift| Form::Base32 { shift }),
        Just(Form::Json),
        Just(Form::JsonEscapedSlash),
        Just(Form::JsonAscii),
        Just(Form::JsonNested),
        Just(Form::HtmlText),
        Just(Form::HtmlAttribute),
        Just(Form::HtmlSafe),
        Just(Form::HtmlDecimal),
        Just(Form::HtmlHex),
        Just(Form::RustDebug),
        Just(Form::Utf16Le),
        Just(Form::Utf16Be),
        Just(Form::Gzip),
        Just(Form::Zlib),
        Just(Form::Truncated),
        Just(Form::LineSplit),
    ]
}

/// A random run of letters and digits with both cases and a letter beyond hex, so its windows
/// are judged as base62 (8 characters carry 48 bits).
fn random_run() -> impl Strategy<Value = String> {
    ("[A-Za-z0-9]{7,13}", "[0-9]", "[G-Z]", "[g-z]").prop_map(|(run, d, u, l)| format!("{run}{d}{u}{l}"))
}

/// A password-like canary: two random runs around every character an encoding changes, shuffled,
/// with a non-ASCII letter.
fn canary_value() -> impl Strategy<Value = String> {
    let specials: Vec<char> = "/+=:&\"<%".chars().collect();
    (random_run(), Just(specials).prop_shuffle(), proptest::sample::select(vec!['é', 'ß', 'ñ', 'Ø', 'ł']), random_run())
        .prop_map(|(head, specials, letter, tail)| format!("{head}{}{letter}{tail}", specials.into_iter().collect::<String>()))
}

/// Text around the leak: printable ASCII, spaces and line breaks.
fn filler() -> impl Strategy<Value = String> {
    "[ -~\n]{0,120}"
}

fn percent(bytes: &[u8], keep: impl Fn(u8) -> bool, lowercase: bool) -> String {
    bytes
        .iter()
        .map(|&b| match (keep(b), lowercase) {
            (true, _) => char::from(b).to_string(),
            (false, true) => format!("%{b:02x}"),
            (false, false) => format!("%{b:02X}"),
        })
        .collect()
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

fn json_ascii(value: &str) -> String {
    let minimal = serde_json::to_string(value).unwrap();
    minimal.chars().map(|c| if c.is_ascii() { c.to_string() } else { format!("\\u{:04x}", u32::from(c)) }).collect()
}

fn compress(value: &str, gzip: bool) -> Vec<u8> {
    let body = format!("comment: {value}\n");
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(body.as_bytes()).unwrap();
        encoder.finish().unwrap()
    } else {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(body.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }
}

/// The form's bytes, from encoders independent of the variant generator.
fn encode(form: Form, login: &str, value: &str, plain_prefix: &[u8]) -> Vec<u8> {
    let bytes = value.as_bytes();
    match form {
        Form::Raw => bytes.to_vec(),
        Form::UrlComponent => percent(bytes, unreserved, false).into_bytes(),
        Form::UrlComponentLower => percent(bytes, unreserved, true).into_bytes(),
        Form::UrlFormEncoded => form_urlencoded::byte_serialize(bytes).collect::<String>().into_bytes(),
        Form::UrlDouble => percent(percent(bytes, unreserved, false).as_bytes(), unreserved, false).into_bytes(),
        Form::Base64 { shift, url_safe, padded } => {
            let plaintext = [&plain_prefix[..shift.min(plain_prefix.len())], bytes, b" tail"].concat();
            let engine = match (url_safe, padded) {
                (false, true) => STANDARD,
                (false, false) => STANDARD_NO_PAD,
                (true, true) => URL_SAFE,
                (true, false) => URL_SAFE_NO_PAD,
            };
            engine.encode(plaintext).into_bytes()
        }
        Form::Base64Folded { width } => {
            let plaintext = [b"-----BEGIN NOTE-----".repeat(4).as_slice(), bytes, b"-----END NOTE-----"].concat();
            let encoded = STANDARD.encode(plaintext);
            encoded.as_bytes().chunks(width).collect::<Vec<_>>().join(&b"\r\n"[..])
        }
        Form::Base64OfJson => STANDARD.encode(serde_json::to_vec(&serde_json::json!({"note": "n", "key": value})).unwrap()).into_bytes(),
        Form::BasicAuth => format!("Basic {}", STANDARD.encode(format!("{login}:{value}"))).into_bytes(),
        Form::HexLower => hex::encode(bytes).into_bytes(),
        Form::HexUpper => hex::encode_upper(bytes).into_bytes(),
        Form::Hex0x => format!("0x{}", hex::encode(bytes)).into_bytes(),
        Form::Base32 { shift } => {
            let plaintext = [&plain_prefix[..shift.min(plain_prefix.len())], bytes, b"!"].concat();
            data_encoding::BASE32.encode(&plaintext).into_bytes()
        }
        Form::Json => serde_json::to_string(value).unwrap().into_bytes(),
        Form::JsonEscapedSlash => serde_json::to_string(value).unwrap().replace('/', "\\/").into_bytes(),
        Form::JsonAscii => json_ascii(value).into_bytes(),
        Form::JsonNested => serde_json::to_string(&serde_json::to_string(value).unwrap()).unwrap().into_bytes(),
        Form::HtmlText => html_escape::encode_text(value).into_owned().into_bytes(),
        Form::HtmlAttribute => html_escape::encode_double_quoted_attribute(value).into_owned().into_bytes(),
        Form::HtmlSafe => html_escape::encode_safe(value).into_owned().into_bytes(),
        Form::HtmlDecimal => value.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("&#{};", u32::from(c)) }).collect::<String>().into_bytes(),
        Form::HtmlHex => value.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("&#x{:X};", u32::from(c)) }).collect::<String>().into_bytes(),
        Form::RustDebug => format!("{value:?}").into_bytes(),
        Form::Utf16Le => value.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Form::Utf16Be => value.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Form::Gzip => compress(value, true),
        Form::Zlib => compress(value, false),
        Form::Truncated => value.as_bytes()[..value.len().min(12)].to_vec(),
        Form::LineSplit => {
            let middle = value.char_indices().nth(value.chars().count() / 2).unwrap().0;
            [&bytes[..middle], b"\n    ", &bytes[middle..]].concat()
        }
    }
}

fn hits_for<'a>(hits: &'a [Hit], binding: &'a str) -> impl Iterator<Item = &'a Hit> + 'a {
    hits.iter().filter(move |hit| hit.binding == binding)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_encoding_is_found_and_every_variant_is_sanitized(
        login in random_run().prop_map(|run| format!("agent-{run}@example.test")),
        value in canary_value(),
        form in form(),
        before in filler(),
        after in filler(),
        plain_prefix in proptest::collection::vec(any::<u8>(), 4),
    ) {
        let scanner = Scanner::new(vec![Canary::new(LOGIN, login.clone()), Canary::new(PASSWORD, value.clone())]);
        let encoded = encode(form, &login, &value, &plain_prefix);
        let start = before.len();
        let end = start + encoded.len();
        let text = [before.as_bytes(), &encoded, after.as_bytes()].concat();

        let hits = scanner.scan(&text);
        let found: Vec<&Hit> = hits_for(&hits, PASSWORD).collect();
        prop_assert!(!found.is_empty(), "{form:?} not found; hits {hits:?}");
        prop_assert!(found.iter().all(|hit| (start..end).contains(&hit.offset)), "{form:?} at {start}..{end}: {found:?}");
        prop_assert!(hits.iter().all(|hit| hit.binding == PASSWORD || hit.binding == LOGIN), "{hits:?}");
        if matches!(form, Form::Truncated | Form::LineSplit) {
            prop_assert!(found.iter().all(|hit| hit.encoding == "fragment"), "{found:?}");
        }

        // An unfinished escape just before the form (`%`, `%0`, `\\u00`, `&#x`) can join its
        // first characters into an escape (`%0` + `0a…` reads as a NUL): decoding cannot tell,
        // the variant pass (asserted above through the full scan) still can.
        let ambiguous_start = before.chars().rev().take(6).any(|c| matches!(c, '%' | '\\' | '&'));
        if form.decodable() && !ambiguous_start {
            let decoded = scanner.scan_decoded(&text);
            prop_assert!(hits_for(&decoded, PASSWORD).any(|hit| (start..end).contains(&hit.offset)), "decoding pass missed {form:?}: {decoded:?}");
        }

        if let (true, Ok(text)) = (form.sanitizable(), std::str::from_utf8(&text)) {
            let mut redactor = Redactor::new();
            redactor.register(LOGIN, &SecretString::from(login.clone()));
            redactor.register(PASSWORD, &SecretString::from(value.clone()));
            redactor.register_pair(PASSWORD, &SecretString::from(login.clone()), &SecretString::from(value.clone()));
            let (clean, redactions) = redactor.sanitize(text);
            prop_assert!(!redactions.is_empty());
            let left = scanner.scan(clean.as_str().as_bytes());
            prop_assert!(left.is_empty(), "{form:?}: the sanitizer left {left:?} in {:?}", clean.as_str());
        }
    }
}
