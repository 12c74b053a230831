//! Scanner throughput on a mixed corpus generated here (256 MiB by default; never committed):
//! realistic noise with 30 canaries embedded in every variant, plus decoding-only forms (gzip,
//! folded base64, base64 of JSON) and fragments. Measures the variant pass, the fragment check
//! and the decoding pass separately, times `rg -F -f <every variant>` (ripgrep) over the same
//! corpus, and checks that a streamed scan of the corpus file stays within bounded memory.
//!
//! Targets: variant pass ≥ 1 GiB/s and within 1.5× of ripgrep; fragment check ≥ 300 MiB/s;
//! decoding pass ≥ 200 MiB/s. `SCANNER_BENCH_MIB` sets the corpus size.

#[path = "../tests/scan_support/mod.rs"]
mod scan_support;

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use agency_core::redact::variants::variants;
use agency_harness::scan::{Canary, Scanner};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use criterion::{Criterion, Throughput};
use flate2::write::GzEncoder;
use flate2::Compression;

const MIB: usize = 1 << 20;

/// Every variant of every canary (twice), and the forms only the decoding and fragment passes
/// can see. Returns the pieces and the variant strings ripgrep can take (UTF-8, one per line).
fn leaks(canaries: &[Canary]) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut pieces = Vec::new();
    let mut patterns = Vec::new();
    for canary in canaries {
        let value = canary.expose_value();
        for variant in variants(value.as_bytes()) {
            pieces.push(variant.bytes.clone());
            pieces.push(variant.bytes.clone());
            if let Ok(text) = String::from_utf8(variant.bytes) {
                if !text.contains('\n') {
                    patterns.push(text);
                }
            }
        }
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(format!("{{\"token\":{}}}", serde_json::to_string(value).unwrap()).as_bytes()).unwrap();
        pieces.push(gzip.finish().unwrap());
        let folded = STANDARD.encode(format!("{}{value}{}", "-".repeat(90), "-".repeat(90)));
        pieces.push(folded.as_bytes().chunks(76).collect::<Vec<_>>().join(&b"\r\n"[..]));
        pieces.push(STANDARD.encode(serde_json::to_vec(&serde_json::json!({"note": "x", "key": value})).unwrap()).into_bytes());
        pieces.push(value.chars().take(14).collect::<String>().into_bytes());
    }
    (pieces, patterns)
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        best = best.min(start.elapsed());
    }
    (best, last.expect("at least one run"))
}

fn rate(bytes: usize, took: Duration) -> String {
    let per_second = bytes as f64 / took.as_secs_f64();
    if per_second >= (1u64 << 30) as f64 {
        format!("{:.2} GiB/s", per_second / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB/s", per_second / MIB as f64)
    }
}

fn ripgrep(patterns: &Path, corpus: &Path) -> Option<(Duration, String)> {
    let probe = Command::new("rg").arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&probe.stdout).lines().next().unwrap_or_default().to_owned();
    let (took, output) = best_of(3, || {
        Command::new("rg")
            .args(["--no-config", "-F", "-a", "-c", "-f"])
            .arg(patterns)
            .arg(corpus)
            .output()
            .expect("rg runs")
    });
    let lines = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Some((took, format!("{version}, {lines} matching lines")))
}

/// Peak resident memory since the last reset, in MiB (Linux).
fn peak_rss_mib() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<usize>().ok()? / 1024)
}

fn main() {
    if std::env::var("TMP_MISSES").is_ok() {
        let mut rng = scan_support::rng(0x5ca1ab1e);
        let canaries = scan_support::canaries(&mut rng, 30);
        let scanner = Scanner::new(canaries.clone());
        let mut missed = std::collections::BTreeMap::<&str, usize>::new();
        for canary in &canaries {
            for variant in variants(canary.expose_value().as_bytes()) {
                let text = [b"leak: ".as_slice(), &variant.bytes, b"\n"].concat();
                if !scanner.scan_decoded(&text).iter().any(|h| h.binding == canary.binding()) {
                    *missed.entry(variant.encoding).or_default() += 1;
                }
            }
        }
        println!("{missed:?}");
        return;
    }
    if std::env::var("TMP_PROBE").is_ok() {
        let mut rng = scan_support::rng(1);
        let scanner = Scanner::new(scan_support::canaries(&mut rng, 30));
        let only = std::env::var("TMP_PROBE").unwrap();
        for (name, record) in scan_support::TMP_KINDS.into_iter().filter(|(n, _)| only == "all" || *n == only) {
            let mut corpus = Vec::new();
            while corpus.len() < 16 * MIB {
                corpus.extend(record(&mut rng));
            }
            let (took, _) = best_of(3, || scanner.scan_decoded(&corpus).len());
            let (vtook, _) = best_of(3, || scanner.scan_variants(&corpus).len());
            println!("{name:>6}: decoding {:>11}  variants {:>11}", rate(corpus.len(), took), rate(corpus.len(), vtook));
        }
        return;
    }
    let size = std::env::var("SCANNER_BENCH_MIB").ok().and_then(|mib| mib.parse().ok()).unwrap_or(256) * MIB;
    let mut rng = scan_support::rng(0x5ca1ab1e);
    let canaries = scan_support::canaries(&mut rng, 30);
    let (pieces, patterns) = leaks(&canaries);
    let noise = scan_support::noise(&mut rng, size);
    let corpus = scan_support::embed(&mut rng, &noise, &pieces);
    drop(noise);
    let scanner = Scanner::new(canaries);

    let scratch = tempfile::tempdir().expect("temp dir");
    let corpus_path = scratch.path().join("corpus.bin");
    let patterns_path = scratch.path().join("variants.txt");
    std::fs::write(&corpus_path, &corpus).unwrap();
    std::fs::write(&patterns_path, patterns.join("\n") + "\n").unwrap();
    println!(
        "corpus: {} MiB, {} embedded leaks, {} variant patterns ({} given to rg)",
        corpus.len() / MIB,
        pieces.len(),
        pieces.len() / 2,
        patterns.len()
    );

    let (variant_time, variant_hits) = best_of(3, || scanner.scan_variants(&corpus).len());
    let (fragment_time, fragment_hits) = best_of(3, || scanner.scan_fragments(&corpus).len());
    let (decoding_time, decoding_hits) = best_of(3, || scanner.scan_decoded(&corpus).len());
    println!("variant pass:  {:>11}  ({variant_hits} hits)   target ≥ 1 GiB/s", rate(corpus.len(), variant_time));
    println!("fragments:     {:>11}  ({fragment_hits} hits)   target ≥ 300 MiB/s", rate(corpus.len(), fragment_time));
    println!("decoding pass: {:>11}  ({decoding_hits} hits)   target ≥ 200 MiB/s", rate(corpus.len(), decoding_time));
    match ripgrep(&patterns_path, &corpus_path) {
        Some((rg_time, about)) => println!(
            "rg -F -f:      {:>11}  ({about}); variant pass takes {:.2}× rg's time   target ≤ 1.5×",
            rate(corpus.len(), rg_time),
            variant_time.as_secs_f64() / rg_time.as_secs_f64()
        ),
        None => println!("rg not installed (apt-get install ripgrep): ripgrep comparison skipped"),
    }

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    let mut group = criterion.benchmark_group("scanner");
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    group.bench_function("variant pass", |b| b.iter(|| black_box(scanner.scan_variants(black_box(&corpus)))));
    group.bench_function("fragment check", |b| b.iter(|| black_box(scanner.scan_fragments(black_box(&corpus)))));
    group.bench_function("decoding pass", |b| b.iter(|| black_box(scanner.scan_decoded(black_box(&corpus)))));
    group.finish();

    // Bounded memory: with the corpus gone, stream the file through all three passes.
    drop(corpus);
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let file = std::fs::File::open(&corpus_path).unwrap();
    let (stream_time, streamed_hits) = best_of(1, || {
        let mut hits = 0;
        scanner.scan_reader(std::io::BufReader::new(&file), |_| hits += 1).unwrap();
        hits
    });
    let peak = if reset { peak_rss_mib().map_or("unknown".into(), |mib| format!("{mib} MiB")) } else { "unknown".into() };
    println!("streamed file, all passes: {} ({streamed_hits} hits), peak RSS while streaming {peak}", rate(size, stream_time));
    criterion.final_summary();
}
