//! Every sink of a run, collected after it ends, and scanned for every canary. A canary may
//! appear only where its own provider takes it (see [`Recorder::allowed`]); anywhere else is a leak.

use agency_fakes::{CredentialPlace, Fakes, RecordedRequest};
use agency_native::StoredArtifact;
use anyhow::Context;

use crate::scan::{Finding, Hit, Scanner};
use crate::target::WorkerSinks;

pub struct WorkerResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl WorkerResponse {
    pub fn from_core(response: agency_core::http::InboundResponse) -> WorkerResponse {
        let (status, headers, body) = response.into_wire();
        WorkerResponse { status, headers, body }
    }
}

/// One cell of the trace store.
pub struct Cell {
    pub table: String,
    pub rowid: i64,
    pub column: String,
    pub value: String,
}

pub struct Collected {
    pub cells: Vec<Cell>,
    pub artifacts: Vec<StoredArtifact>,
    pub journal: Vec<RecordedRequest>,
    pub logs: Vec<String>,
    pub responses: Vec<WorkerResponse>,
    pub extra_paths: Vec<crate::target::ExtraPath>,
    /// Where each fake takes its credentials ([`Fakes::credential_places`]).
    pub credential_places: Vec<CredentialPlace>,
    pub database: rusqlite::Connection,
}

impl Collected {
    pub fn gather(fakes: &Fakes, worker: WorkerSinks, responses: Vec<WorkerResponse>) -> anyhow::Result<Collected> {
        let connection = rusqlite::Connection::open_with_flags(&worker.database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .context("opening the trace database")?;
        Ok(Collected {
            cells: every_cell(&connection)?,
            artifacts: worker.artifacts,
            journal: fakes.journal(),
            logs: worker.logs,
            responses,
            extra_paths: worker.extra_paths,
            credential_places: fakes.credential_places().to_vec(),
            database: connection,
        })
    }

    /// Every wait the runtime announced ("… retrying in N ms"), read from its own log lines so
    /// every target is checked the same way.
    pub fn sleeps_ms(&self) -> Vec<u64> {
        self.logs
            .iter()
            .filter_map(|line| line.split_once("retrying in ")?.1.strip_suffix(" ms")?.parse().ok())
            .collect()
    }

    /// The comments the runtime posted to fake Asana (accepted story writes), in order.
    pub fn comments(&self) -> Vec<String> {
        self.journal
            .iter()
            .filter(|r| r.fake == "asana" && r.method == "POST" && r.path.ends_with("/stories") && r.status < 300)
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .filter_map(|body| body["data"]["html_text"].as_str().or(body["data"]["text"].as_str()).map(str::to_owned))
            .collect()
    }
}

/// Every cell of every table, row by row: nothing the runtime stored escapes the scan.
pub fn every_cell(connection: &rusqlite::Connection) -> anyhow::Result<Vec<Cell>> {
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut cells = Vec::new();
    for table in tables {
        let mut statement = connection.prepare(&format!("SELECT rowid, * FROM \"{table}\""))?;
        let columns: Vec<String> = statement.column_names().iter().skip(1).map(|c| c.to_string()).collect();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            for (i, column) in columns.iter().enumerate() {
                let value = match row.get_ref(i + 1)? {
                    rusqlite::types::ValueRef::Null => continue,
                    rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                    rusqlite::types::ValueRef::Real(r) => r.to_string(),
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                };
                cells.push(Cell { table: table.clone(), rowid, column: column.clone(), value });
            }
        }
    }
    Ok(cells)
}

/// The Worker's own side: the handshake's echo back to Asana, (place, canary label).
const WORKER_RESPONSE_ALLOWED: &[(&str, &str)] = &[("header x-hook-secret", "ASANA_WEBHOOK_SECRET")];

struct Recorder<'a> {
    scanner: &'a Scanner,
    /// Where the fakes take credentials: the provider side of what is allowed.
    credential_places: &'a [CredentialPlace],
    findings: Vec<Finding>,
}

impl Recorder<'_> {
    /// Whether canary `label` may travel at `place` (`header <name>`, `query <name>`,
    /// `form <field>`) of `fake`'s traffic: only where that provider takes it; nothing else is
    /// ever allowed.
    fn allowed(&self, fake: &str, place: &str, label: &str) -> bool {
        if fake == "worker_response" {
            return WORKER_RESPONSE_ALLOWED.contains(&(place, label));
        }
        self.credential_places.iter().any(|p| p.fake == fake && p.place == place && p.label == label)
    }

    fn hits(&mut self, sink: &str, location: &str, hits: Vec<Hit>) {
        self.findings.extend(hits.into_iter().map(|hit| Finding {
            path: sink.to_owned(),
            location: location.to_owned(),
            binding: hit.binding,
            encoding: hit.encoding,
            offset: hit.offset,
            masked: hit.masked,
        }));
    }

    fn text(&mut self, sink: &str, location: &str, bytes: &[u8]) {
        let hits = self.scanner.scan(bytes);
        self.hits(sink, location, hits);
    }

    /// A place a credential may occupy: hits of the canaries allowed there are not leaks.
    fn place(&mut self, sink: &str, fake: &str, prefix: &str, place: &str, bytes: &[u8]) {
        let hits = self.scanner.scan(bytes).into_iter().filter(|h| !self.allowed(fake, place, &h.binding)).collect();
        self.hits(sink, format!("{prefix} {place}").trim_start(), hits);
    }

    fn body(&mut self, sink: &str, fake: &str, prefix: &str, content_type: Option<&str>, body: &[u8]) {
        let content_type = content_type.unwrap_or_default();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (name, value) in form_urlencoded::parse(body) {
                self.place(sink, fake, prefix, &format!("form {name}"), value.as_bytes());
            }
            return;
        }
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
            for (pointer, hit) in self.scanner.scan_json(&json) {
                self.hits(sink, &format!("{prefix} {pointer}"), vec![hit]);
            }
            return;
        }
        self.text(sink, prefix, body);
    }
}

pub fn scan_all(scanner: &Scanner, collected: &Collected) -> anyhow::Result<Vec<Finding>> {
    let mut recorder = Recorder { scanner, credential_places: &collected.credential_places, findings: Vec::new() };
    for extra in &collected.extra_paths {
        let mut found = Vec::new();
        crate::scan::scan_path(scanner, &extra.path, &mut found)?;
        // Named by sink, like every other finding; the file goes into the location.
        recorder.findings.extend(found.into_iter().map(|f| Finding {
            location: format!("file {}, {}", f.path, f.location),
            path: extra.sink.clone(),
            ..f
        }));
    }
    for cell in &collected.cells {
        let location = format!("table {}, row {}, column {}", cell.table, cell.rowid, cell.column);
        recorder.text("d1", &location, cell.value.as_bytes());
    }
    for object in &collected.artifacts {
        recorder.text("r2", &format!("object key {}", object.key), object.key.as_bytes());
        recorder.text("r2", &format!("object {} body", object.key), object.body.as_bytes());
        for (name, value) in &object.metadata {
            recorder.text("r2", &format!("object {} metadata {name}", object.key), value.as_bytes());
        }
    }
    for (i, line) in collected.logs.iter().enumerate() {
        recorder.text("log", &format!("line {}", i + 1), line.as_bytes());
    }
    for (i, response) in collected.responses.iter().enumerate() {
        let sink = format!("worker_response {}", i + 1);
        for (name, value) in &response.headers {
            let place = format!("header {}", name.to_ascii_lowercase());
            recorder.place(&sink, "worker_response", "", &place, value.as_bytes());
        }
        let content_type = response.headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v.as_str());
        recorder.body(&sink, "worker_response", "body", content_type, response.body.as_bytes());
    }
    for request in &collected.journal {
        // What the runtime wrote to Asana is the "asana" sink; every other provider's traffic is
        // "request:<fake>". Each request is scanned once, part by part.
        let sink = if request.fake == "asana" { "asana".to_owned() } else { format!("request:{}", request.fake) };
        let endpoint = format!("{} {}", request.method, request.path);
        recorder.text(&sink, &format!("{endpoint} path"), request.path.as_bytes());
        for (name, value) in &request.query {
            recorder.place(&sink, request.fake, &endpoint, &format!("query {name}"), value.as_bytes());
        }
        let mut content_type = None;
        for (name, value) in &request.headers {
            let name = name.to_ascii_lowercase();
            if name == "content-type" {
                content_type = Some(value.as_str());
            }
            recorder.place(&sink, request.fake, &endpoint, &format!("header {name}"), value.as_bytes());
        }
        recorder.body(&sink, request.fake, &format!("{endpoint} body"), content_type, &request.body);
    }
    Ok(recorder.findings)
}
