//! Realistic noise and realistic canaries for the scanner's no-false-alarm test and its
//! benchmark (included by both with `#[path]`). Everything is generated from a seed; nothing is
//! committed.

use std::io::Write;

use agency_harness::scan::Canary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn base62(rng: &mut StdRng, len: usize) -> String {
    Alphanumeric.sample_string(rng, len)
}

fn from_alphabet(rng: &mut StdRng, alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())])).collect()
}

fn hex(rng: &mut StdRng, len: usize) -> String {
    from_alphabet(rng, b"0123456789abcdef", len)
}

fn digits(rng: &mut StdRng, len: usize) -> String {
    from_alphabet(rng, b"0123456789", len)
}

fn url_safe(rng: &mut StdRng, len: usize) -> String {
    from_alphabet(rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", len)
}

/// `count` canaries in the shapes real credentials have, each with at least 96 random bits.
pub fn canaries(rng: &mut StdRng, count: usize) -> Vec<Canary> {
    (0..count)
        .map(|i| {
            let value = match i % 10 {
                0 => format!("2/{}/{}:{}", digits(rng, 16), digits(rng, 16), hex(rng, 32)),
                1 => hex(rng, 32),
                2 => format!("{}-{}.apps.googleusercontent.com", digits(rng, 12), base62(rng, 32).to_lowercase()),
                3 => format!("GOCSPX-{}", url_safe(rng, 28)),
                4 => format!("1//0{}", url_safe(rng, 40)),
                5 => digits(rng, 30),
                6 => format!("jessie+{}@agency.test", base62(rng, 20).to_lowercase()),
                7 => format!("{}/+=:&\"<%é{}", base62(rng, 12), base62(rng, 12)),
                8 => format!("EAAC{}", base62(rng, 60)),
                _ => url_safe(rng, 40),
            };
            Canary::new(format!("CANARY_{i:02}"), value)
        })
        .collect()
}

const WORDS: &[&str] = &[
    "sessions", "users", "report", "weekly", "traffic", "organic", "search", "campaign", "budget", "spend", "clicks",
    "impressions", "conversion", "rate", "landing", "page", "keyword", "rank", "position", "mobile", "desktop", "audit",
    "performance", "score", "task", "project", "client", "agency", "brief", "review", "summary", "evidence", "caveat",
    "the", "of", "and", "to", "in", "for", "is", "on", "with", "as", "by", "this", "last", "week", "versus", "Jessie",
    "Asana", "Harvest", "PageSpeed", "AccuRanker", "Semrush", "Ahrefs", "DataForSEO", "Google", "Meta", "Box",
];

fn words(rng: &mut StdRng, count: usize) -> String {
    (0..count).map(|_| WORDS[rng.gen_range(0..WORDS.len())]).collect::<Vec<_>>().join(" ")
}

fn uuid(rng: &mut StdRng) -> String {
    format!("{}-{}-4{}-a{}-{}", hex(rng, 8), hex(rng, 4), hex(rng, 3), hex(rng, 3), hex(rng, 12))
}

fn timestamp(rng: &mut StdRng) -> String {
    format!(
        "2025-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.gen_range(1..13),
        rng.gen_range(1..29),
        rng.gen_range(0..24),
        rng.gen_range(0..60),
        rng.gen_range(0..60),
        rng.gen_range(0..1000)
    )
}

fn html_record(rng: &mut StdRng) -> String {
    let sessions = rng.gen_range(100..99_999);
    let change = rng.gen_range(-400..400) as f32 / 10.0;
    format!(
        "<tr><td class=\"metric\">{}</td><td>{sessions}</td><td>{change:+.1}% &mdash; {} &amp; {}</td>\
         <td><a href=\"https://reports.example.test/r/{}?page={}&amp;sort=desc\">&raquo; details</a></td></tr>\n",
        words(rng, 2),
        words(rng, 4),
        words(rng, 3),
        uuid(rng),
        rng.gen_range(1..20)
    )
}

fn json_record(rng: &mut StdRng) -> String {
    format!(
        "{{\"gid\":\"{}\",\"name\":\"{}\",\"notes\":\"{}\\n\\\"{}\\\" caf\\u00e9\",\"permalink_url\":\"https:\\/\\/app.asana.com\\/0\\/{}\\/{}\",\
         \"created_at\":\"{}\",\"tags\":[\"seo\",\"ads\"],\"completed\":false,\"sha256\":\"{}\"}}\n",
        digits(rng, 16),
        words(rng, 3),
        words(rng, 8),
        words(rng, 2),
        digits(rng, 16),
        digits(rng, 16),
        timestamp(rng),
        hex(rng, 64)
    )
}

fn log_record(rng: &mut StdRng) -> String {
    let status = [200, 200, 200, 201, 204, 304, 404, 429, 500][rng.gen_range(0..9)];
    format!(
        "{} INFO agency_worker run={} step={} status={status} duration_ms={} \
         path=/api/1.0/tasks/{}/stories?opt_fields=text%2Ccreated_at%2Cresource_subtype&limit={} request_id={} msg=\"{}\"\n",
        timestamp(rng),
        uuid(rng),
        words(rng, 1),
        rng.gen_range(3..9000),
        digits(rng, 16),
        rng.gen_range(10..100),
        hex(rng, 32),
        words(rng, 6)
    )
}

fn blob_record(rng: &mut StdRng) -> String {
    let bytes: Vec<u8> = (0..rng.gen_range(200..3000)).map(|_| rng.gen()).collect();
    let encoded = STANDARD.encode(bytes);
    if rng.gen_bool(0.3) {
        // MIME-style, folded at 76 columns.
        let lines: Vec<&str> = encoded.as_bytes().chunks(76).map(|line| std::str::from_utf8(line).unwrap()).collect();
        format!("Content-Transfer-Encoding: base64\r\n\r\n{}\r\n", lines.join("\r\n"))
    } else {
        format!("{{\"screenshot\":\"data:image/png;base64,{encoded}\",\"md5\":\"{}\"}}\n", hex(rng, 32))
    }
}

fn gzip_record(rng: &mut StdRng) -> Vec<u8> {
    let mut body = GzEncoder::new(Vec::new(), Compression::fast());
    for _ in 0..rng.gen_range(2..8) {
        body.write_all(json_record(rng).as_bytes()).unwrap();
    }
    body.finish().unwrap()
}

/// About `size` bytes of mixed noise: HTML report rows, JSON payloads, log lines, base64 blobs
/// (some folded), hashes, UUIDs, percent-encoded paths, entities, escapes, gzip bodies.
pub fn noise(rng: &mut StdRng, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 4096);
    while out.len() < size {
        match rng.gen_range(0..100) {
            0..=29 => out.extend_from_slice(html_record(rng).as_bytes()),
            30..=59 => out.extend_from_slice(json_record(rng).as_bytes()),
            60..=84 => out.extend_from_slice(log_record(rng).as_bytes()),
            85..=97 => out.extend_from_slice(blob_record(rng).as_bytes()),
            _ => out.extend(gzip_record(rng)),
        }
    }
    out.truncate(size);
    out
}

/// `haystack` with each of `pieces` inserted, on a line of its own, at a random record boundary.
pub fn embed(rng: &mut StdRng, haystack: &[u8], pieces: &[Vec<u8>]) -> Vec<u8> {
    let mut insertions: Vec<(usize, &[u8])> = pieces
        .iter()
        .map(|piece| {
            let at = rng.gen_range(0..haystack.len());
            (memchr::memchr(b'\n', &haystack[at..]).map_or(haystack.len(), |newline| at + newline + 1), piece.as_slice())
        })
        .collect();
    insertions.sort_by_key(|&(at, _)| at);
    let mut out = Vec::with_capacity(haystack.len() + pieces.iter().map(|p| p.len() + 8).sum::<usize>());
    let mut copied = 0;
    for (at, piece) in insertions {
        out.extend_from_slice(&haystack[copied..at]);
        out.extend_from_slice(b"leak: ");
        out.extend_from_slice(piece);
        out.push(b'\n');
        copied = at;
    }
    out.extend_from_slice(&haystack[copied..]);
    out
}
