//! `agency-harness scan` as a user runs it: exit codes 0/1/2, the `--json` shape, a SQLite
//! database scanned row by row, a directory scanned recursively, a gzip file, line numbers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agency_harness::scan::cli::{run_with_output, ScanArgs};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;

const KEY: &str = "Hq7ZkP2xLm9VtR4sWn8B";
const PAT: &str = "2/1234567890123456/6543210987654321:9f86d081884c7d659a2feaa0c55ad015";

fn canaries_file(dir: &Path) -> PathBuf {
    let path = dir.join("canaries.json");
    let canaries = serde_json::json!({"AGENCY_OS_SEMRUSH_API_KEY": KEY, "AGENCY_OS_ASANA_AGENT_PAT": PAT});
    std::fs::write(&path, canaries.to_string()).unwrap();
    path
}

fn scan(canaries: &Path, json: bool, paths: &[&Path]) -> (ExitCode, String) {
    let args = ScanArgs { canaries: canaries.to_owned(), json, paths: paths.iter().map(|p| p.to_path_buf()).collect() };
    let mut out = Vec::new();
    let code = run_with_output(args, &mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

fn findings(output: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(output).unwrap().as_array().unwrap().clone()
}

#[test]
fn clean_files_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let canaries = canaries_file(dir.path());
    let log = dir.path().join("worker.log");
    std::fs::write(&log, "2025-05-01 INFO run ok\nnothing to see\n").unwrap();
    let (code, output) = scan(&canaries, true, &[&log]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(findings(&output), Vec::<Value>::new());
}

#[test]
fn bad_usage_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("worker.log");
    std::fs::write(&log, "x").unwrap();
    let missing = dir.path().join("missing.json");
    assert_eq!(scan(&missing, false, &[&log]).0, ExitCode::from(2));
    // A short canary matches by chance anywhere (a number is read as its digits).
    for invalid in ["not json", "[\"a\"]", "{}", "{\"A\": \"\"}", "{\"A\": true}", "{\"A\": \"é-short\"}", "{\"A\": 5}"] {
        let file = dir.path().join("invalid.json");
        std::fs::write(&file, invalid).unwrap();
        assert_eq!(scan(&file, false, &[&log]).0, ExitCode::from(2), "{invalid}");
    }
    let canaries = canaries_file(dir.path());
    assert_eq!(scan(&canaries, false, &[&dir.path().join("nowhere")]).0, ExitCode::from(2));
}

/// Standard output closed early, as by `| head -1`.
struct ClosedPipe;

impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_reader_that_stops_early_does_not_change_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let canaries = canaries_file(dir.path());
    let log = dir.path().join("worker.log");
    std::fs::write(&log, format!("GET /v1?key={KEY}\n")).unwrap();
    for json in [false, true] {
        let args = ScanArgs { canaries: canaries.clone(), json, paths: vec![log.clone()] };
        assert_eq!(run_with_output(args, &mut ClosedPipe).unwrap(), ExitCode::from(1));
    }
}

#[test]
fn directories_sqlite_and_gzip_are_scanned_with_locations() {
    let dir = tempfile::tempdir().unwrap();
    let canaries = canaries_file(dir.path());
    let tree = dir.path().join("export");
    std::fs::create_dir_all(tree.join("r2/reports")).unwrap();
    std::fs::write(tree.join("wrangler.log"), format!("line one\nline two\nGET /v1?key={KEY}&x=1\n")).unwrap();
    std::fs::write(tree.join("r2/reports/report.html"), format!("<p>token: {}</p>\n", STANDARD.encode(PAT))).unwrap();
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(format!("{{\"body\":\"{KEY}\"}}\n").as_bytes()).unwrap();
    std::fs::write(tree.join("r2/object.json.gz"), gzip.finish().unwrap()).unwrap();

    let db = tree.join("d1.sqlite");
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection.execute_batch("CREATE TABLE comments (id TEXT PRIMARY KEY, body TEXT, n INTEGER);").unwrap();
    connection.execute("INSERT INTO comments VALUES ('c-1', 'fine', 1)", []).unwrap();
    connection.execute("INSERT INTO comments VALUES ('c-2', ?1, 2)", [format!("see {}", urlencode(PAT))]).unwrap();
    drop(connection);

    let (code, output) = scan(&canaries, true, &[&tree]);
    assert_eq!(code, ExitCode::from(1));
    let found = findings(&output);
    let summary: Vec<(String, String, String, String)> = found
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let relative = Path::new(path).strip_prefix(&tree).unwrap().display().to_string();
            (relative, f["location"].as_str().unwrap().to_owned(), f["binding"].as_str().unwrap().to_owned(), f["encoding"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected = [
        ("d1.sqlite", "table comments, row c-2, column body", "AGENCY_OS_ASANA_AGENT_PAT", "url(component)"),
        ("r2/object.json.gz", "line 1 of the gunzipped stream", "AGENCY_OS_SEMRUSH_API_KEY", "gzip"),
        ("r2/reports/report.html", "line 1", "AGENCY_OS_ASANA_AGENT_PAT", "base64"),
        ("wrangler.log", "line 3", "AGENCY_OS_SEMRUSH_API_KEY", "raw"),
    ];
    assert_eq!(summary, expected.map(|(p, l, b, e)| (p.to_owned(), l.to_owned(), b.to_owned(), e.to_owned())));
    for finding in &found {
        let keys: Vec<&str> = finding.as_object().unwrap().keys().map(String::as_str).collect();
        for key in ["path", "binding", "encoding", "location", "offset"] {
            assert!(keys.contains(&key), "{key} missing from {finding}");
        }
        assert!(!finding.to_string().contains(&KEY[4..12]) && !finding.to_string().contains(&PAT[2..17]));
    }
    assert_eq!(found[3]["offset"], 30);
    assert_eq!(found[0]["offset"], 4);

    let (code, text) = scan(&canaries, false, &[&tree.join("wrangler.log")]);
    assert_eq!(code, ExitCode::from(1));
    assert!(text.ends_with("wrangler.log: line 3: AGENCY_OS_SEMRUSH_API_KEY (Hq7Z…(20 chars)) as raw at byte 30\n"), "{text}");
}

fn urlencode(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}
