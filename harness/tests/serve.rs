//! `agency-harness fakes serve` end to end: a child process on a free port
//! range, its manifest, authenticated requests with the manifest's canaries,
//! SIGINT, and every port released afterwards.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

const ROWS: u16 = 17;

/// A base port whose 17 ports are all free right now.
fn free_port_range() -> u16 {
    let seed = std::process::id() as u16;
    for attempt in 0..200u16 {
        let base = 20_000 + (seed.wrapping_mul(7).wrapping_add(attempt.wrapping_mul(97)) % 40_000);
        let all_free = (0..ROWS).all(|offset| TcpListener::bind(("127.0.0.1", base + offset)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("no free range of {ROWS} loopback ports");
}

/// One HTTP/1.1 request with `Connection: close`: (status, body).
fn request(base_url: &str, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Vec<u8>) {
    let rest = base_url.strip_prefix("http://").expect("an http base URL");
    let (authority, base_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {base_path}{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|window| window == b"\r\n\r\n").unwrap() + 4;
    let status_line = String::from_utf8_lossy(&response[..split]).lines().next().unwrap().to_owned();
    let status = status_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response[split..].to_vec())
}

#[test]
fn serve_exposes_every_fake_with_a_manifest_and_releases_its_ports_on_sigint() {
    let base = free_port_range();
    let dir = tempfile::tempdir().unwrap();
    let manifest_path = dir.path().join("fakes.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agency-harness"))
        .args(["fakes", "serve", "--port-base", &base.to_string(), "--manifest"])
        .arg(&manifest_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the harness binary starts");

    // Read stdout on a thread until the "serving" line.
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut table = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let mut stderr = String::new();
                child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
                panic!("serve never said it was serving; stdout so far: {table:?}; stderr: {stderr}")
            });
        let done = line.starts_with("serving until interrupted");
        table.push(line);
        if done {
            break;
        }
    }
    assert!(table[0].contains("base URL"), "{table:?}");
    assert_eq!(table.len(), 1 + ROWS as usize + 3, "header, 17 rows, 3 notes: {table:?}");

    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&manifest_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the manifest holds canaries: owner-only");
    }
    let keys = [
        "asana", "box_auth", "box_api", "box_upload", "box_download", "google_oauth", "ga4", "google_ads",
        "pagespeed", "meta", "accuranker", "dataforseo", "semrush", "ahrefs", "browser_run", "ai_gateway", "harvest",
    ];
    assert_eq!(manifest.as_object().unwrap().len(), keys.len());
    for (index, key) in keys.iter().enumerate() {
        let entry = &manifest[key];
        let url = entry["base_url"].as_str().unwrap_or_else(|| panic!("{key} has a base_url"));
        assert!(url.starts_with(&format!("http://127.0.0.1:{}", base + index as u16)), "{key}: {url}");
        assert!(table[1 + index].contains(url), "the table shows {key}'s URL");
        assert!(entry["credentials"].is_object());
    }
    assert_eq!(manifest["ga4"]["credentials"].as_object().unwrap().len(), 0, "GA4's tokens are minted");
    assert!(manifest["google_ads"]["credentials"]["AGENCY_OS_GOOGLE_ADS_DEVELOPER_TOKEN"].is_string());

    // Asana with the manifest's PAT, and with a wrong one.
    let asana = manifest["asana"]["base_url"].as_str().unwrap();
    let pat = manifest["asana"]["credentials"]["AGENCY_OS_ASANA_AGENT_PAT"].as_str().unwrap();
    let (status, body) = request(asana, "GET", "/users/me", &[("Authorization", format!("Bearer {pat}"))], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _) = request(asana, "GET", "/users/me", &[("Authorization", "Bearer canary-wrong".into())], b"");
    assert_eq!(status, 401);
    let (status, task) = request(asana, "GET", "/tasks/1200000000001001", &[("Authorization", format!("Bearer {pat}"))], b"");
    assert_eq!(status, 200, "the served world has a sample task: {}", String::from_utf8_lossy(&task));

    // DataForSEO's Basic auth with the manifest's login and (awkward) password.
    let dataforseo = &manifest["dataforseo"];
    let login = dataforseo["credentials"]["AGENCY_OS_DATAFORSEO_LOGIN"].as_str().unwrap();
    let password = dataforseo["credentials"]["AGENCY_OS_DATAFORSEO_PASSWORD"].as_str().unwrap();
    assert!(password.contains(':') && password.contains('é'), "a fresh harness-shaped canary");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    let task = br#"[{"keyword":"hiking boots","location_code":2840,"language_code":"en"}]"#;
    let (status, body) = request(
        dataforseo["base_url"].as_str().unwrap(),
        "POST",
        "/serp/google/organic/live/advanced",
        &[("Authorization", format!("Basic {basic}")), ("Content-Type", "application/json".into())],
        task,
    );
    let envelope: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, &envelope["status_code"]), (200, &serde_json::json!(20000)), "{envelope}");

    // SIGINT: a clean stop, the manifest gone, every port free again.
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(!manifest_path.exists(), "the manifest is removed on a clean stop");
    for offset in 0..ROWS {
        TcpListener::bind(("127.0.0.1", base + offset)).unwrap_or_else(|error| panic!("port {} still held: {error}", base + offset));
    }
}
