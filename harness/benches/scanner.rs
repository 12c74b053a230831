//! Scanner throughput on a mixed corpus generated here (256 MiB by default; never committed):
//! realistic noise with 30 canaries embedded in every variant, plus decoding-only forms (gzip,
//! folded base64, base64 of JSON) and fragments. Measures the variant pass, the fragment check
//! and the decoding pass separately, times `rg -F -f <every variant>` (ripgrep) over the same
//! corpus, and checks that a streamed scan of the corpus file stays within bounded memory.
//!
//! Targets: variant pass ≥ 1 GiB/s and within 1.5× of ripgrep; fragment check ≥ 300 MiB/s;
//! decoding pass ≥ 200 MiB/s. `SCANNER_BENCH_MIB` sets the corpus size. Figures are printed
//! by wall time and by CPU time (the pass's threads', rg's), since the cores may be shared; the
//! decoding pass runs on every core, so its CPU figure is throughput per core.
//!
//! The workspace's release profile optimises for size (`opt-level = "z"`, for the Worker's
//! wasm); the bench profile overrides that with `opt-level = 3`:
//! `cargo bench -p agency-harness --bench scanner`.

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

/// Whose CPU time a measurement counts.
#[derive(Clone, Copy)]
enum Cpu {
    /// This thread's: a single-threaded pass.
    Thread,
    /// The whole process's: a pass that runs on every core.
    Process,
    /// Waited-for child processes' (ripgrep).
    Children,
}

/// CPU seconds used so far: what a run costs whatever else the machine's cores are doing.
/// Linux only.
fn cpu_seconds(whose: Cpu) -> Option<f64> {
    let path = if matches!(whose, Cpu::Thread) { "/proc/thread-self/stat" } else { "/proc/self/stat" };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which ends in ')'): utime is the 14th field overall.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let (user, system) = if matches!(whose, Cpu::Children) { (fields[13], fields[14]) } else { (fields[11], fields[12]) };
    Some((user.parse::<f64>().ok()? + system.parse::<f64>().ok()?) / 100.0)
}

/// The best wall time and the mean CPU time of `runs` runs.
fn best_of<T>(runs: usize, whose: Cpu, mut f: impl FnMut() -> T) -> (Duration, Option<Duration>, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    let cpu_before = cpu_seconds(whose);
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        best = best.min(start.elapsed());
    }
    let cpu = cpu_before.zip(cpu_seconds(whose)).map(|(before, after)| Duration::from_secs_f64((after - before) / runs as f64));
    (best, cpu, last.expect("at least one run"))
}

fn rate(bytes: usize, took: Duration) -> String {
    let per_second = bytes as f64 / took.as_secs_f64();
    if per_second >= (1u64 << 30) as f64 {
        format!("{:.2} GiB/s", per_second / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB/s", per_second / MIB as f64)
    }
}

fn ripgrep(patterns: &Path, corpus: &Path) -> Option<(Duration, Option<Duration>, String)> {
    let probe = Command::new("rg").arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&probe.stdout).lines().next().unwrap_or_default().to_owned();
    let (took, cpu, output) = best_of(3, Cpu::Children, || {
        Command::new("rg")
            .args(["--no-config", "-F", "-a", "-c", "-f"])
            .arg(patterns)
            .arg(corpus)
            .output()
            .expect("rg runs")
    });
    let lines = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Some((took, cpu, format!("{version}, {lines} matching lines")))
}

/// Throughput by wall time and, where known, by CPU time.
fn rates(bytes: usize, wall: Duration, cpu: Option<Duration>) -> String {
    match cpu {
        Some(cpu) => format!("{:>11} wall, {:>11} CPU", rate(bytes, wall), rate(bytes, cpu)),
        None => format!("{:>11} wall", rate(bytes, wall)),
    }
}

/// Peak resident memory since the last reset, in MiB (Linux).
fn peak_rss_mib() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<usize>().ok()? / 1024)
}

fn main() {
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

    let (variant_time, variant_cpu, variant_hits) = best_of(3, Cpu::Thread, || scanner.scan_variants(&corpus).len());
    let (fragment_time, fragment_cpu, fragment_hits) = best_of(3, Cpu::Thread, || scanner.scan_fragments(&corpus).len());
    let (decoding_time, decoding_cpu, decoding_hits) = best_of(3, Cpu::Process, || scanner.scan_decoded(&corpus).len());
    println!("variant pass:  {}  ({variant_hits} hits)   target ≥ 1 GiB/s", rates(corpus.len(), variant_time, variant_cpu));
    println!("fragments:     {}  ({fragment_hits} hits)   target ≥ 300 MiB/s", rates(corpus.len(), fragment_time, fragment_cpu));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("decoding pass: {}  ({decoding_hits} hits, {cores} cores)   target ≥ 200 MiB/s", rates(corpus.len(), decoding_time, decoding_cpu));
    match ripgrep(&patterns_path, &corpus_path) {
        Some((rg_time, rg_cpu, about)) => {
            println!("rg -F -f:      {}  ({about})", rates(corpus.len(), rg_time, rg_cpu));
            let ratio = |ours: Duration, theirs: Duration| ours.as_secs_f64() / theirs.as_secs_f64();
            let cpu_ratio = variant_cpu.zip(rg_cpu).map_or(String::new(), |(ours, theirs)| format!(", {:.2}× by CPU", ratio(ours, theirs)));
            println!("variant pass takes {:.2}× rg's wall time{cpu_ratio}   target ≤ 1.5×", ratio(variant_time, rg_time));
        }
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
    let (stream_time, stream_cpu, streamed_hits) = best_of(1, Cpu::Process, || {
        let mut hits = 0;
        scanner.scan_reader(std::io::BufReader::new(&file), |_| hits += 1).unwrap();
        hits
    });
    let peak = if reset { peak_rss_mib().map_or("unknown".into(), |mib| format!("{mib} MiB")) } else { "unknown".into() };
    println!("streamed file, all passes: {} ({streamed_hits} hits), peak RSS while streaming {peak}", rates(size, stream_time, stream_cpu));
    criterion.final_summary();
}
