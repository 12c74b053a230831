//! `agency-harness scan --canaries FILE [--json] PATH…`: the scanner on files a user has at hand
//! (a wrangler log, a D1 export, a downloaded R2 object). Directories are walked recursively;
//! SQLite databases are scanned row by row; gzip files are scanned through decompression;
//! everything else is streamed, with line numbers.
//!
//! Exit status: 1 when anything is found, 0 when clean, 2 on bad usage (a missing or invalid
//! canaries file, a canary shorter than 8 characters, a path that does not exist).

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, ensure, Context};
use flate2::read::MultiGzDecoder;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use agency_core::redact::MIN_SECRET_LEN;

use super::{Canary, Finding, Hit, Scanner};

const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Scan files, directories and SQLite databases for canaries.
#[derive(clap::Args, Clone, Debug)]
pub struct ScanArgs {
    /// JSON object mapping binding names to canary values: {"<BINDING>": "<value>"}.
    #[arg(long, value_name = "FILE")]
    pub canaries: PathBuf,
    /// Print the findings as a JSON array of {path, binding, encoding, location, offset, masked}.
    #[arg(long)]
    pub json: bool,
    /// Files, directories (scanned recursively) and SQLite databases.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Runs `scan`, printing findings to standard output.
pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    run_with_output(args, &mut io::stdout().lock())
}

/// Runs `scan`, printing findings to `out`; usage errors go to standard error.
pub fn run_with_output(args: ScanArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let canaries = match load_canaries(&args.canaries) {
        Ok(canaries) => canaries,
        Err(error) => return Ok(bad_usage(&format!("{error:#}"))),
    };
    if let Some(missing) = args.paths.iter().find(|path| !path.exists()) {
        return Ok(bad_usage(&format!("no such file or directory: {}", missing.display())));
    }
    let scanner = Scanner::new(canaries);
    let mut findings = Vec::new();
    for path in &args.paths {
        scan_path(&scanner, path, &mut findings)?;
    }
    match print(&findings, args.json, out) {
        // A reader that stopped early (`| head`) does not change the verdict.
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => return Err(error.into()),
        _ => {}
    }
    Ok(if findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print(findings: &[Finding], json: bool, out: &mut dyn Write) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, findings)?;
        writeln!(out)
    } else {
        findings.iter().try_for_each(|finding| writeln!(out, "{finding}"))
    }
}

/// A message on standard error; a closed one is no reason to fail the scan.
fn warn(message: &str) {
    let _ = writeln!(io::stderr(), "agency-harness scan: {message}");
}

fn bad_usage(message: &str) -> ExitCode {
    warn(message);
    ExitCode::from(2)
}

fn load_canaries(path: &Path) -> anyhow::Result<Vec<Canary>> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read the canaries file {}", path.display()))?;
    // serde_json's messages name a line and column, never the text, so no value is echoed.
    let members: serde_json::Map<String, Value> =
        serde_json::from_str(&text).context("the canaries file must be a JSON object {\"<BINDING>\": \"<value>\"}")?;
    ensure!(!members.is_empty(), "the canaries file lists no canaries");
    members
        .into_iter()
        .map(|(binding, value)| {
            let text = match value {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                _ => bail!("the canary for {binding} must be a string"),
            };
            // A short value occurs by chance in any data: every match would be noise.
            ensure!(
                text.chars().count() >= MIN_SECRET_LEN,
                "the canary for {binding} has {} characters; a canary needs at least {MIN_SECRET_LEN}",
                text.chars().count()
            );
            Ok(Canary::new(binding, text))
        })
        .collect()
}

/// Scans one path: a directory recursively (not following symbolic links to directories), a
/// SQLite database row by row, a gzip file decompressed, any other file as a stream.
pub fn scan_path(scanner: &Scanner, path: &Path, findings: &mut Vec<Finding>) -> anyhow::Result<()> {
    let metadata = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if metadata.is_dir() {
        let mut entries = fs::read_dir(path)?.collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let file_type = entry.file_type()?;
            // Links are followed to files only, so a link cycle cannot trap the walk; sockets
            // and pipes are skipped.
            let link_to_file = file_type.is_symlink() && entry.path().is_file();
            if file_type.is_dir() || file_type.is_file() || link_to_file {
                scan_path(scanner, &entry.path(), findings)?;
            }
        }
        return Ok(());
    }
    let shown = scanner.printable(&path.display().to_string());
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    findings.extend(scanner.scan(name.as_bytes()).into_iter().map(|hit| Finding::new(&shown, "file name", hit)));
    scan_file(scanner, path, &shown, findings).with_context(|| format!("cannot scan {shown}"))
}

fn scan_file(scanner: &Scanner, path: &Path, shown: &str, findings: &mut Vec<Finding>) -> anyhow::Result<()> {
    let mut file = File::open(path)?;
    let mut head = Vec::with_capacity(SQLITE_HEADER.len());
    Read::by_ref(&mut file).take(SQLITE_HEADER.len() as u64).read_to_end(&mut head)?;
    file.rewind()?;
    if head == SQLITE_HEADER {
        return scan_sqlite(scanner, path, shown, findings);
    }
    if head.starts_with(&GZIP_MAGIC) {
        let mut gunzipped = Vec::new();
        let streamed = scanner.scan_reader(MultiGzDecoder::new(BufReader::new(&file)), |found| {
            gunzipped.push(Finding::new(shown, format!("line {} of the gunzipped stream", found.line), inside_gzip(found.hit)));
        });
        match streamed {
            Ok(()) => {
                findings.append(&mut gunzipped);
                return Ok(());
            }
            // Not gzip after all, or cut short: the decoding pass inflates what it can.
            Err(error) => warn(&format!("{shown}: not a complete gzip stream ({error}); scanning its bytes")),
        }
        file.rewind()?;
    }
    scanner.scan_reader(BufReader::new(file), |found| findings.push(Finding::new(shown, format!("line {}", found.line), found.hit)))?;
    Ok(())
}

fn inside_gzip(hit: Hit) -> Hit {
    let encoding = if hit.encoding == "raw" { "gzip".to_owned() } else { format!("gzip→{}", hit.encoding) };
    Hit { encoding, ..hit }
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A cell as the bytes a sink would have held: text and blobs as stored, numbers as written.
fn cell_bytes(value: ValueRef<'_>) -> Option<Vec<u8>> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(number) => Some(number.to_string().into_bytes()),
        ValueRef::Real(number) => Some(number.to_string().into_bytes()),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes.to_vec()),
    }
}

fn scan_sqlite(scanner: &Scanner, path: &Path, shown: &str, findings: &mut Vec<Finding>) -> anyhow::Result<()> {
    let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let quoted = quote_identifier(&table);
        let shown_table = scanner.printable(&table);
        // Tables declared WITHOUT ROWID have no rowid; their rows are keyed by primary key or position.
        let (mut statement, has_rowid) = match connection.prepare(&format!("SELECT rowid, * FROM {quoted}")) {
            Ok(statement) => (statement, true),
            Err(_) => (connection.prepare(&format!("SELECT * FROM {quoted}"))?, false),
        };
        let skip = usize::from(has_rowid);
        let columns: Vec<String> = statement.column_names().into_iter().skip(skip).map(|name| scanner.printable(name)).collect();
        let key_columns = primary_key_columns(&connection, &quoted)?;
        let mut rows = statement.query([])?;
        let mut position = 0;
        while let Some(row) = rows.next()? {
            position += 1;
            let mut cells = Vec::with_capacity(columns.len());
            for index in 0..columns.len() {
                let bytes = cell_bytes(row.get_ref(index + skip)?);
                let hits = bytes.as_deref().map(|b| scanner.scan(b)).unwrap_or_default();
                cells.push((bytes, hits));
            }
            let key = row_key(&cells, &columns, &key_columns, has_rowid.then(|| row.get::<_, i64>(0)).transpose()?, position);
            for (column, (_, hits)) in columns.iter().zip(cells) {
                for hit in hits {
                    findings.push(Finding::new(shown, format!("table {shown_table}, row {key}, column {column}"), hit));
                }
            }
        }
    }
    Ok(())
}

/// Names of the primary-key columns, in key order.
fn primary_key_columns(connection: &Connection, quoted_table: &str) -> anyhow::Result<Vec<String>> {
    let mut statement = connection.prepare(&format!("PRAGMA table_info({quoted_table})"))?;
    let mut keyed: Vec<(i64, String)> = statement
        .query_map([], |row| Ok((row.get::<_, i64>("pk")?, row.get::<_, String>("name")?)))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|(rank, _)| *rank > 0)
        .collect();
    keyed.sort();
    Ok(keyed.into_iter().map(|(_, name)| name).collect())
}

/// The row's primary key when it is short, printable and holds no canary; else its rowid, else
/// its position.
fn row_key(cells: &[(Option<Vec<u8>>, Vec<Hit>)], columns: &[String], key_columns: &[String], rowid: Option<i64>, position: usize) -> String {
    let key_parts: Option<Vec<String>> = key_columns
        .iter()
        .map(|name| {
            let (bytes, hits) = &cells[columns.iter().position(|c| c == name)?];
            let text = std::str::from_utf8(bytes.as_deref()?).ok()?;
            (hits.is_empty() && text.len() <= 80 && !text.chars().any(char::is_control)).then(|| text.to_owned())
        })
        .collect();
    match (key_parts, rowid) {
        (Some(parts), _) if !parts.is_empty() => parts.join(","),
        (_, Some(rowid)) => format!("rowid {rowid}"),
        _ => format!("#{position}"),
    }
}
