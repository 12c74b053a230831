//! Parity between targets: a run's trace (the `runs`, `run_steps`, `secret_reads` and
//! `redactions` rows) normalized so that what legitimately differs between two runs of one
//! scenario does not show: run ids become their position (`run#1`), and ids, times, dates and
//! durations are masked. Two targets running the same core on the same scenario must give the
//! same normalized trace; `agency-harness parity` diffs them (ARCHITECTURE.md explains any
//! difference that remains).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// Ids, times and dates masked in free text, as snapshots mask them.
pub fn mask(text: &str) -> String {
    static MASKS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let masks = MASKS.get_or_init(|| {
        [
            (r"\b[0-9a-f]{32}\b", "[RUN_ID]"),
            (r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b", "[TIME]"),
            (r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"),
        ]
        .into_iter()
        .map(|(pattern, replacement)| (Regex::new(pattern).expect("a valid regex"), replacement))
        .collect()
    });
    let mut text = text.to_owned();
    for (pattern, replacement) in masks {
        text = pattern.replace_all(&text, *replacement).into_owned();
    }
    text
}

fn cell(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(r) => r.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => format!("{:?}", mask(&String::from_utf8_lossy(t))),
    }
}

/// Columns whose value is the clock's or the id generator's, shown only as present or absent.
const VOLATILE: &[&str] = &["started_at", "finished_at", "read_at", "duration_ms"];

/// The normalized trace, one line per row, in the order the rows were written.
pub fn normalized_trace(connection: &Connection) -> anyhow::Result<Vec<String>> {
    let mut run_names: HashMap<String, String> = HashMap::new();
    let mut lines = Vec::new();
    for (table, order) in [("runs", "rowid"), ("run_steps", "rowid"), ("secret_reads", "rowid"), ("redactions", "rowid")] {
        let mut statement = connection.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
        let columns: Vec<String> = statement.column_names().iter().map(|c| c.to_string()).collect();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let mut fields = Vec::new();
            for (i, column) in columns.iter().enumerate() {
                let value = row.get_ref(i)?;
                let shown = if matches!(column.as_str(), "id" | "run_id" | "delivery_id") {
                    match value {
                        ValueRef::Text(t) => {
                            let id = String::from_utf8_lossy(t).into_owned();
                            let next = format!("run#{}", run_names.len() + 1);
                            run_names.entry(id).or_insert(next).clone()
                        }
                        other => cell(other),
                    }
                } else if VOLATILE.contains(&column.as_str()) {
                    if matches!(value, ValueRef::Null) { "NULL".to_owned() } else { "[…]".to_owned() }
                } else {
                    cell(value)
                };
                fields.push(format!("{column}={shown}"));
            }
            lines.push(format!("{table}: {}", fields.join(" ")));
        }
    }
    Ok(lines)
}

/// A line diff (longest common subsequence): `-` lines only in `a`, `+` only in `b`.
pub fn diff(a: &[String], b: &[String]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_times_and_dates_are_masked() {
        assert_eq!(
            mask("run 0123456789abcdef0123456789abcdef at 2026-11-30T09:00:01.5Z for 2026-11-02"),
            "run [RUN_ID] at [TIME] for [DATE]"
        );
    }

    #[test]
    fn the_diff_shows_only_what_differs() {
        let a: Vec<String> = ["x", "y", "z"].map(String::from).to_vec();
        let b: Vec<String> = ["x", "q", "z"].map(String::from).to_vec();
        assert_eq!(diff(&a, &b), vec!["+ q".to_owned(), "- y".to_owned()]);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn run_ids_become_positions() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE runs (id TEXT, kind TEXT, delivery_id TEXT, started_at TEXT);
             CREATE TABLE run_steps (run_id TEXT, seq INTEGER, duration_ms INTEGER);
             CREATE TABLE secret_reads (run_id TEXT, binding TEXT, read_at TEXT);
             CREATE TABLE redactions (run_id TEXT, place TEXT);
             INSERT INTO runs VALUES ('aa', 'delivery', 'aa', '2026-01-01T00:00:00Z'), ('bb', 'task', 'aa', '2026-01-01T00:00:01Z');
             INSERT INTO run_steps VALUES ('bb', 0, 17);",
        )
        .unwrap();
        assert_eq!(
            normalized_trace(&c).unwrap(),
            vec![
                "runs: id=run#1 kind=\"delivery\" delivery_id=run#1 started_at=[…]",
                "runs: id=run#2 kind=\"task\" delivery_id=run#1 started_at=[…]",
                "run_steps: run_id=run#2 seq=0 duration_ms=[…]",
            ]
        );
    }
}
