//! The trace store on SQLite, built from the same `migrations/` files as D1, with wrangler's
//! `d1_migrations` bookkeeping, so a database made here looks like one `wrangler d1` made.

use std::cell::RefCell;
use std::path::Path;

use agency_core::platform::{StoreError, TraceStore};
use agency_core::trace::{Row, SqlValue, Statement};
use async_trait::async_trait;
use rusqlite::{params_from_iter, Connection, ErrorCode};

pub struct SqliteTraceStore {
    connection: RefCell<Connection>,
}

impl SqliteTraceStore {
    /// Opens (or creates) the database at `path` and applies every pending migration.
    pub fn open(path: &Path, migrations_dir: &Path) -> Result<SqliteTraceStore, StoreError> {
        let mut connection = Connection::open(path).map_err(other)?;
        // D1 enforces foreign keys; so does this store, so both refuse the same writes.
        connection.pragma_update(None, "foreign_keys", true).map_err(other)?;
        apply_migrations(&mut connection, migrations_dir)?;
        Ok(SqliteTraceStore { connection: RefCell::new(connection) })
    }
}

/// Applies, in name order, every `*.sql` file in `dir` not yet named in `d1_migrations`, each in
/// its own transaction together with its bookkeeping row (as `wrangler d1 migrations apply` does).
pub fn apply_migrations(connection: &mut Connection, dir: &Path) -> Result<Vec<String>, StoreError> {
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, \
             applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
        )
        .map_err(other)?;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| StoreError::Other(format!("cannot read migrations in {}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    names.sort();
    let mut applied = Vec::new();
    for name in names {
        let done: bool = connection
            .query_row("SELECT EXISTS (SELECT 1 FROM d1_migrations WHERE name = ?1)", [&name], |row| row.get(0))
            .map_err(other)?;
        if done {
            continue;
        }
        let sql = std::fs::read_to_string(dir.join(&name)).map_err(|e| StoreError::Other(format!("{name}: {e}")))?;
        let transaction = connection.transaction().map_err(other)?;
        transaction.execute_batch(&sql).map_err(|e| StoreError::Other(format!("{name}: {e}")))?;
        transaction.execute("INSERT INTO d1_migrations (name) VALUES (?1)", [&name]).map_err(other)?;
        transaction.commit().map_err(other)?;
        applied.push(name);
    }
    Ok(applied)
}

fn other(error: rusqlite::Error) -> StoreError {
    StoreError::Other(error.to_string())
}

fn classify(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::ConstraintViolation => {
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE {
                StoreError::Conflict
            } else {
                other(error)
            }
        }
        _ => other(error),
    }
}

fn to_sql(value: &SqlValue) -> rusqlite::types::Value {
    match value {
        SqlValue::Null => rusqlite::types::Value::Null,
        SqlValue::Integer(i) => rusqlite::types::Value::Integer(*i),
        SqlValue::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

fn from_sql(value: rusqlite::types::ValueRef<'_>) -> SqlValue {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(r) => SqlValue::Text(r.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

#[async_trait(?Send)]
impl TraceStore for SqliteTraceStore {
    async fn batch(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        let mut connection = self.connection.borrow_mut();
        let transaction = connection.transaction().map_err(other)?;
        for statement in &statements {
            transaction
                .execute(statement.sql, params_from_iter(statement.params.iter().map(to_sql)))
                .map_err(classify)?;
        }
        transaction.commit().map_err(other)
    }

    async fn query(&self, statement: Statement) -> Result<Vec<Row>, StoreError> {
        let connection = self.connection.borrow();
        let mut prepared = connection.prepare(statement.sql).map_err(other)?;
        let columns: Vec<String> = prepared.column_names().iter().map(|c| c.to_string()).collect();
        let rows = prepared
            .query_map(params_from_iter(statement.params.iter().map(to_sql)), |row| {
                Ok(columns.iter().enumerate().map(|(i, c)| (c.clone(), from_sql(row.get_ref_unwrap(i)))).collect::<Row>())
            })
            .map_err(other)?;
        rows.collect::<Result<Vec<Row>, _>>().map_err(other)
    }
}
