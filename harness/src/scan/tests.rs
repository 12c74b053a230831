//! Per-encoding tests: each form is found by the pass that should find it, under the right
//! encoding name, at the right offset. The decoding pass is fed by encoders written here, not
//! by the variant generator.

use std::io::Write;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use serde_json::json;

use super::*;
use agency_core::redact::variants::variants;

const BINDING: &str = "AGENCY_OS_AHREFS_API_KEY";
/// Shaped like the harness's password canaries: random runs around every character an encoding
/// changes, and a non-ASCII letter.
const VALUE: &str = "Zx9Qp7LmTk4R/+=:&\"<%éWq3Ns7Yb2KdV";
const PREFIX: &str = "INFO request ok; details: ";

fn scanner() -> Scanner {
    Scanner::new(vec![Canary::new(BINDING, VALUE), Canary::new("AGENCY_OS_SEMRUSH_API_KEY", "sm-4kQ9vX2pLr7TzW8nB3cYh6Jd")])
}

fn embedded(encoded: &[u8]) -> Vec<u8> {
    [PREFIX.as_bytes(), encoded, b" -- end of record\n"].concat()
}

fn summary(hits: &[Hit]) -> Vec<(String, String, usize)> {
    hits.iter().map(|h| (h.binding.clone(), h.encoding.clone(), h.offset)).collect()
}

fn expect_one(hits: Vec<Hit>, encoding: &str, offset: usize) {
    assert_eq!(summary(&hits), [(BINDING.to_owned(), encoding.to_owned(), offset)], "wanted {encoding} at {offset}");
    assert_eq!(hits[0].masked, "Zx9Q…(33 chars)");
}

#[test]
fn variant_pass_finds_every_generated_encoding_by_name() {
    let scanner = scanner();
    for variant in variants(VALUE.as_bytes()) {
        expect_one(scanner.scan_variants(&embedded(&variant.bytes)), variant.encoding, PREFIX.len());
    }
}

#[test]
fn basic_auth_pairs_are_named_by_convention() {
    let scanner = Scanner::new(vec![
        Canary::new("AGENCY_OS_DATAFORSEO_LOGIN", "agent-7Hq2Lp9Xz4@example.test"),
        Canary::new("AGENCY_OS_DATAFORSEO_PASSWORD", "pw-Rk3Vn8Qm2Tz6Wy1Bc"),
    ]);
    let header = format!("Authorization: Basic {}\r\n", STANDARD.encode("agent-7Hq2Lp9Xz4@example.test:pw-Rk3Vn8Qm2Tz6Wy1Bc"));
    let hits = scanner.scan(header.as_bytes());
    assert_eq!(summary(&hits), [("AGENCY_OS_DATAFORSEO_PASSWORD".to_owned(), "basic-auth".to_owned(), 21)]);
    // The decoding pass alone finds both halves inside the decoded header.
    let decoded = summary(&scanner.scan_decoded(header.as_bytes()));
    assert!(decoded.contains(&("AGENCY_OS_DATAFORSEO_LOGIN".to_owned(), "base64(shift 0)".to_owned(), 21)));
    assert!(decoded.iter().any(|(binding, encoding, _)| binding == "AGENCY_OS_DATAFORSEO_PASSWORD" && encoding.starts_with("base64")));
}

#[test]
fn decoding_pass_finds_base64_at_every_alignment() {
    let scanner = scanner();
    for shift in 0..3 {
        let plaintext = format!("{}{VALUE} and more", &"{\"k\":"[..shift]);
        for encoded in [STANDARD.encode(&plaintext), URL_SAFE_NO_PAD.encode(&plaintext)] {
            let expected = PREFIX.len() + shift * 4 / 3;
            expect_one(scanner.scan_decoded(&embedded(encoded.as_bytes())), &format!("base64(shift {shift})"), expected);
        }
    }
}

#[test]
fn decoding_pass_finds_folded_base64_and_base64_glued_to_a_word() {
    let scanner = scanner();
    let plaintext = format!("{}{VALUE}{}", "x".repeat(70), "y".repeat(70));
    let encoded = STANDARD.encode(&plaintext);
    let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|line| std::str::from_utf8(line).unwrap()).collect();
    let hits = scanner.scan_decoded(&embedded(lines.join("\r\n").as_bytes()));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].encoding, "base64(folded, shift 1)");
    let glued = format!("Bearer{}", STANDARD.encode(format!("::{VALUE}")));
    expect_one(scanner.scan_decoded(&embedded(glued.as_bytes())), "base64(shift 2)", PREFIX.len() + 6 + 2);
}

#[test]
fn decoding_pass_finds_escaped_forms() {
    let scanner = scanner();
    let percent: String = VALUE.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02x}") }).collect();
    let double = percent.replace('%', "%25");
    let json_once = serde_json::to_string(VALUE).unwrap();
    let json_twice = serde_json::to_string(&json_once).unwrap();
    let html: String = VALUE.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("&#{};", u32::from(c)) }).collect();
    let html_named = VALUE.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('é', "&eacute;");
    let python_ascii = VALUE.replace('"', "\\\"").replace('é', "\\u00E9");
    let rust_debug = format!("{:?}", VALUE);
    for (encoded, encoding, offset) in [
        (percent.clone(), "url", 0),
        (double, "url→url", 0),
        (json_once, "json", 1),
        (json_twice, "json→json", 3),
        (html, "html", 0),
        (html_named, "html", 0),
        (python_ascii, "json", 0),
        (rust_debug, "json", 1),
    ] {
        expect_one(scanner.scan_decoded(&embedded(encoded.as_bytes())), encoding, PREFIX.len() + offset);
    }
}

#[test]
fn decoding_pass_finds_hex_utf16_and_compressed_bodies() {
    let scanner = scanner();
    expect_one(scanner.scan_decoded(&embedded(hex::encode_upper(VALUE).as_bytes())), "hex", PREFIX.len());
    expect_one(scanner.scan_decoded(&embedded(format!("0x{}", hex::encode(VALUE)).as_bytes())), "hex", PREFIX.len() + 2);
    let le: Vec<u8> = VALUE.encode_utf16().flat_map(u16::to_le_bytes).collect();
    expect_one(scanner.scan_decoded(&embedded(&le)), "utf16le", PREFIX.len());
    let be: Vec<u8> = VALUE.encode_utf16().flat_map(u16::to_be_bytes).collect();
    expect_one(scanner.scan_decoded(&embedded(&be)), "utf16be", PREFIX.len());

    let body = serde_json::to_vec(&json!({"note": "report", "key": VALUE})).unwrap();
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(&body).unwrap();
    expect_one(scanner.scan_decoded(&embedded(&gzip.finish().unwrap())), "gzip→json", PREFIX.len());
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
    zlib.write_all(VALUE.as_bytes()).unwrap();
    expect_one(scanner.scan_decoded(&embedded(&zlib.finish().unwrap())), "deflate", PREFIX.len());
}

#[test]
fn chains_name_every_step_outermost_first() {
    let scanner = scanner();
    let document = serde_json::to_string(&json!({"token": VALUE})).unwrap();
    let inside_json = serde_json::to_string(&STANDARD.encode(&document)).unwrap();
    let hits = scanner.scan_decoded(&embedded(inside_json.as_bytes()));
    assert_eq!(summary(&hits), [(BINDING.to_owned(), "base64(shift 1)→json".to_owned(), PREFIX.len() + 1 + 13)]);
}

#[test]
fn mixed_escapes_decode_through_each_other() {
    // A path-encoded value inside a JSON string that escapes its slashes.
    let path_encoded: String = VALUE.chars().map(|c| match c {
        '"' | '<' | '%' | 'é' => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        c => c.to_string(),
    }).collect();
    let in_json = format!("{{\"next\":\"https:\\/\\/api.example.test\\/v1\\/{}\"}}", path_encoded.replace('/', "\\/"));
    let hits = scanner().scan_decoded(&embedded(in_json.as_bytes()));
    let at = PREFIX.len() + in_json.find("Zx9Q").unwrap();
    // The two escapings commute, so either order of undoing them finds it, once.
    assert_eq!(hits.len(), 1);
    assert!(["json→url", "url→json"].contains(&hits[0].encoding.as_str()), "{hits:?}");
    assert_eq!(hits[0].offset, at);
}

#[test]
fn fragments_truncated_split_and_repeated() {
    let scanner = scanner();
    let truncated = format!("key={}… (truncated)", &VALUE[..12]);
    assert_eq!(summary(&scanner.scan(truncated.as_bytes())), [(BINDING.to_owned(), "fragment".to_owned(), 4)]);
    let masked = format!("key=****{}", &VALUE[VALUE.len() - 9..]);
    assert_eq!(summary(&scanner.scan(masked.as_bytes())), [(BINDING.to_owned(), "fragment".to_owned(), 8)]);
    let split = format!("{}\n{}", &VALUE[..16], &VALUE[16..]);
    let hits = scanner.scan(split.as_bytes());
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.encoding == "fragment"));
    let twice = format!("{VALUE} and again {VALUE}");
    assert_eq!(summary(&scanner.scan(twice.as_bytes())).len(), 2);
    assert!(scanner.scan(twice.as_bytes()).iter().all(|h| h.encoding == "raw"));
    // Seven characters carry less than 48 bits: not a finding.
    assert!(scanner.scan(&VALUE.as_bytes()[..7]).is_empty());
}

#[test]
fn every_pass_reports_one_occurrence_once() {
    let scanner = scanner();
    let encoded = STANDARD.encode(VALUE);
    let text = format!("a {VALUE} b {encoded} c");
    assert_eq!(
        summary(&scanner.scan(text.as_bytes())),
        [(BINDING.to_owned(), "raw".to_owned(), 2), (BINDING.to_owned(), "base64".to_owned(), 39)]
    );
    assert!(scanner.scan(b"nothing here but text, 0123456789abcdef, QUJDREVGR0g=").is_empty());
}

#[test]
fn json_values_report_pointers_and_mask_keys() {
    let scanner = scanner();
    let value = json!({"comments": [{"text": "ok"}, {"text": format!("leaked {VALUE}")}], VALUE: 1, "a/b": {"n": 5}});
    let mut found: Vec<(String, usize)> = scanner.scan_json(&value).into_iter().map(|(pointer, hit)| (pointer, hit.offset)).collect();
    found.sort();
    assert_eq!(found, [("/[masked key]".to_owned(), 0), ("/comments/1/text".to_owned(), 7)]);
}

#[test]
fn minted_tokens_become_canaries_when_registered() {
    let mut scanner = scanner();
    let minted = "ya29.a0Kf7Lq2Zp9Xv3Wm8Rt1Ns";
    assert!(scanner.scan(minted.as_bytes()).is_empty());
    scanner.register(Canary::new("minted:google_access_token", minted));
    assert_eq!(scanner.scan(minted.as_bytes())[0].binding, "minted:google_access_token");
    assert_eq!(scanner.canaries().len(), 3);
}

#[test]
fn streaming_in_small_chunks_matches_scanning_whole() {
    let scanner = scanner();
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("line {i} some filler text to pad the line out a little\n"));
        if i % 37 == 5 {
            text.push_str(&format!("token={VALUE}&b64={}\n", STANDARD.encode(VALUE)));
        }
        if i % 53 == 7 {
            text.push_str(&format!("cut {}\n", &VALUE[4..20]));
        }
    }
    let whole = scanner.scan(text.as_bytes());
    assert!(whole.len() >= 12);
    for (chunk, overlap) in [(256, 128), (1000, 300), (4096, 1024)] {
        let mut streamed = Vec::new();
        scanner.scan_chunked(text.as_bytes(), chunk, overlap, |found| streamed.push(found)).unwrap();
        let hits: Vec<Hit> = streamed.iter().map(|s| s.hit.clone()).collect();
        assert_eq!(summary(&hits), summary(&whole), "chunk {chunk}");
        for found in &streamed {
            let line = text.as_bytes()[..found.hit.offset].iter().filter(|&&b| b == b'\n').count() + 1;
            assert_eq!(found.line, line);
        }
    }
}

#[test]
fn findings_display_and_serialize_without_the_value() {
    let hit = scanner().scan(VALUE.as_bytes()).remove(0);
    let finding = Finding::new("logs/worker.log", "line 3", hit);
    assert_eq!(finding.to_string(), "logs/worker.log: line 3: AGENCY_OS_AHREFS_API_KEY (Zx9Q…(33 chars)) as raw at byte 0");
    let json = serde_json::to_value(&finding).unwrap();
    assert_eq!(json["location"], "line 3");
    assert!(!json.to_string().contains(&VALUE[4..12]));
    assert!(!format!("{finding:?}").contains(&VALUE[4..12]));
}

