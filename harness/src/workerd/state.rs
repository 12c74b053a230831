//! Reading what the Worker stored locally, from miniflare's files under the persist directory:
//! D1 databases are SQLite files (one per database id); an R2 bucket is a SQLite index
//! (`_mf_objects`) plus one blob file per object under `v3/r2/<bucket>/blobs/`.
//!
//! The leak scan does not depend on this layout: it reads the whole persist directory, every
//! SQLite file row by row and every other file byte by byte. This module only finds the current
//! scenario's database and objects for the expectations and the `r2` sink.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agency_native::StoredArtifact;
use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

pub fn d1_dir(persist: &Path) -> PathBuf {
    persist.join("v3").join("d1").join("miniflare-D1DatabaseObject")
}

fn r2_dir(persist: &Path) -> PathBuf {
    persist.join("v3").join("r2")
}

/// The SQLite files of Durable-Object-backed storage in `dir` (miniflare's own `metadata.sqlite`
/// excepted).
pub fn object_databases(dir: &Path) -> BTreeSet<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeSet::new() };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite") && p.file_name().is_some_and(|n| n != "metadata.sqlite"))
        .collect()
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// Task runs of the D1 file at `path` that reached a terminal status.
pub fn terminal_task_runs(path: &Path) -> anyhow::Result<u64> {
    let connection = open_read_only(path).with_context(|| format!("opening {}", path.display()))?;
    let count: i64 = connection.query_row(
        "SELECT count(*) FROM runs WHERE kind = 'task' AND status IN ('ignored', 'ineligible', 'succeeded', 'failed')",
        [],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Every object of `bucket`, as the native target reports them.
pub fn r2_objects(persist: &Path, bucket: &str) -> anyhow::Result<Vec<StoredArtifact>> {
    let blobs = r2_dir(persist).join(bucket).join("blobs");
    let mut objects = Vec::new();
    for database in object_databases(&r2_dir(persist).join("miniflare-R2BucketObject")) {
        let connection = open_read_only(&database).with_context(|| format!("opening {}", database.display()))?;
        let has_objects: bool = connection
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_mf_objects'", [], |row| row.get::<_, i64>(0))
            .map(|n| n > 0)?;
        if !has_objects {
            continue;
        }
        let mut statement = connection.prepare("SELECT key, blob_id, http_metadata, custom_metadata FROM _mf_objects ORDER BY key")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?))
        })?;
        for row in rows {
            let (key, blob_id, http_metadata, custom_metadata) = row?;
            // Each bucket's index lives in a file named by an opaque object id; an object is this
            // bucket's when its blob is in this bucket's blob directory.
            let Some(blob_id) = blob_id else { continue };
            let blob = blobs.join(&blob_id);
            if !blob.is_file() {
                continue;
            }
            let body = std::fs::read(&blob).with_context(|| format!("reading {}", blob.display()))?;
            let http: serde_json::Value = serde_json::from_str(&http_metadata).unwrap_or_default();
            let metadata: BTreeMap<String, String> = serde_json::from_str(&custom_metadata).unwrap_or_default();
            objects.push(StoredArtifact {
                key,
                body: String::from_utf8_lossy(&body).into_owned(),
                content_type: http["contentType"].as_str().unwrap_or_default().to_owned(),
                metadata,
            });
        }
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(objects)
}
