//! Backups for both backends: an export streams every table from one read snapshot;
//! a restore inserts line by line inside one write transaction, so a bad line (or a
//! missing trailer) leaves the database as it was.

use std::fmt::Write as _;
use std::io::{BufRead, Write};

use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::{ColumnIndex, Decode, Encode, Executor, FromRow, IntoArguments, Row, Type};

use super::rows::*;
use super::{Backend, SqlStore};
use crate::backup::{
    Backup, BackupCounts, BackupError, ColumnKind, ExportOptions, FORMAT, FORMAT_CODE,
    NOT_EMPTY_CODE, TABLES, Table, VERSION, numbered_lines,
};
use crate::error::{StoreError, StoreResult};

fn is_postgres<DB: Backend>() -> bool {
    DB::KIND == "postgres"
}

/// `SELECT` of a table's backed-up columns in key order. PostgreSQL compares text
/// bytewise only when told to; SQLite always does, so both give one order.
fn select_sql<DB: Backend>(table: &Table) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let order: Vec<String> = table
        .key
        .iter()
        .map(|k| {
            let is_text = table.column(k).is_some_and(|c| c.kind == ColumnKind::Text);
            if is_text && is_postgres::<DB>() {
                format!("{k} COLLATE \"C\"")
            } else {
                (*k).to_owned()
            }
        })
        .collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        order.join(", ")
    )
}

/// `INSERT` of `rows` rows of a table at once.
fn insert_sql(table: &Table, rows: usize) -> String {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let width = columns.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let values: Vec<String> = (1..=width).map(|i| format!("${}", r * width + i)).collect();
            format!("({})", values.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {}",
        table.name,
        columns.join(", "),
        tuples.join(", ")
    )
}

/// Rows restored per statement: one round trip for many rows, far below both
/// backends' limits on parameters (the widest table has 18 columns).
const BATCH_ROWS: usize = 200;

/// A value of a record, typed by its column.
enum Field {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// Record lines of one table waiting to be inserted, with their line numbers.
struct Batch {
    table: usize,
    rows: Vec<(u64, Vec<Field>)>,
}

fn push_json_str(out: &mut String, s: &str) {
    // Serialising a str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn header_line(options: ExportOptions) -> String {
    let mut line = String::from("{\"format\":");
    push_json_str(&mut line, FORMAT);
    let _ = write!(
        line,
        ",\"version\":{VERSION},\"with_secrets\":{},\"tables\":[",
        options.with_secrets
    );
    for (i, t) in TABLES.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        push_json_str(&mut line, t.name);
    }
    line.push_str("]}\n");
    line
}

fn trailer_line(counts: &BackupCounts) -> String {
    let mut line = String::from("{\"end\":");
    push_json_str(&mut line, FORMAT);
    line.push_str(",\"counts\":{");
    for (i, (table, n)) in counts.0.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        push_json_str(&mut line, table);
        let _ = write!(line, ":{n}");
    }
    line.push_str("}}\n");
    line
}

fn format_error(line: u64, message: impl std::fmt::Display) -> StoreError {
    StoreError::Refused {
        code: FORMAT_CODE,
        message: format!("{line}: {message}"),
    }
}

/// What the header line of a backup says.
struct Header {
    with_secrets: bool,
}

fn parse_header(line: u64, text: &str) -> StoreResult<Header> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format_error(line, format!("the header is not JSON ({e})")))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(format_error(
            line,
            format!(
                "this is not a Parley backup (the first line must say \"format\":\"{FORMAT}\")"
            ),
        ));
    }
    let version = value
        .get("version")
        .and_then(Value::as_i64)
        .ok_or_else(|| format_error(line, "the header has no version"))?;
    if version != VERSION {
        return Err(format_error(
            line,
            format!("backup format version {version}; this Parley reads version {VERSION}"),
        ));
    }
    let with_secrets = value
        .get("with_secrets")
        .and_then(Value::as_bool)
        .ok_or_else(|| format_error(line, "the header does not say with_secrets"))?;
    Ok(Header { with_secrets })
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> SiteRow: FromRow<'r, DB::Row>,
    for<'r> OriginRow: FromRow<'r, DB::Row>,
    for<'r> StoryRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> CommentRow: FromRow<'r, DB::Row>,
    for<'r> CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> StandingRow: FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
    for<'r> AuditRow: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    // What backups add: columns read by kind, any value bound by kind.
    Option<bool>: Type<DB> + for<'q> Encode<'q, DB>,
    i64: for<'r> Decode<'r, DB>,
    String: for<'r> Decode<'r, DB>,
    bool: for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    /// One row as its backup line.
    fn record_line(
        table: &Table,
        row: &DB::Row,
        options: ExportOptions,
    ) -> Result<String, sqlx::Error> {
        let mut line = String::with_capacity(256);
        line.push_str("{\"table\":");
        push_json_str(&mut line, table.name);
        for (i, column) in table.columns.iter().enumerate() {
            line.push(',');
            push_json_str(&mut line, column.name);
            line.push(':');
            if column.secret && !options.with_secrets {
                line.push_str("null");
                continue;
            }
            match column.kind {
                ColumnKind::Int => match row.try_get::<Option<i64>, usize>(i)? {
                    Some(v) => {
                        let _ = write!(line, "{v}");
                    }
                    None => line.push_str("null"),
                },
                ColumnKind::Text => match row.try_get::<Option<String>, usize>(i)? {
                    Some(v) => push_json_str(&mut line, &v),
                    None => line.push_str("null"),
                },
                ColumnKind::Bool => match row.try_get::<Option<bool>, usize>(i)? {
                    Some(v) => line.push_str(if v { "true" } else { "false" }),
                    None => line.push_str("null"),
                },
            }
        }
        line.push_str("}\n");
        Ok(line)
    }

    async fn refuse_unless_empty(conn: &mut DB::Connection) -> StoreResult<()> {
        for table in TABLES {
            let sql = format!("SELECT COUNT(*) FROM {}", table.name);
            let (n,) = sqlx::query_as::<DB, (i64,)>(&sql)
                .fetch_one(&mut *conn)
                .await?;
            if n > 0 {
                return Err(StoreError::Refused {
                    code: NOT_EMPTY_CODE,
                    message: table.name.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The values of one record line of `table`, checked against its columns.
    fn values_of(table: &Table, record: &Map<String, Value>, line: u64) -> StoreResult<Vec<Field>> {
        if let Some(unknown) = record
            .keys()
            .find(|k| k.as_str() != "table" && table.column(k).is_none())
        {
            return Err(format_error(
                line,
                format!("{} has no column {unknown:?}", table.name),
            ));
        }
        let mut values = Vec::with_capacity(table.columns.len());
        for column in table.columns {
            let value = record.get(column.name).ok_or_else(|| {
                format_error(
                    line,
                    format!("the {} row has no {:?}", table.name, column.name),
                )
            })?;
            let wrong = |wanted: &str| {
                format_error(
                    line,
                    format!("{}.{} must be {wanted}", table.name, column.name),
                )
            };
            if value.is_null() && !column.nullable {
                return Err(wrong("given (it cannot be null)"));
            }
            values.push(match column.kind {
                ColumnKind::Int => Field::Int(match value {
                    Value::Null => None,
                    v => Some(v.as_i64().ok_or_else(|| wrong("an integer"))?),
                }),
                ColumnKind::Text => Field::Text(match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err(wrong("a string")),
                }),
                ColumnKind::Bool => Field::Bool(match value {
                    Value::Null => None,
                    Value::Bool(b) => Some(*b),
                    _ => return Err(wrong("true or false")),
                }),
            });
        }
        Ok(values)
    }

    async fn insert_rows(
        conn: &mut DB::Connection,
        table: &Table,
        rows: &[(u64, Vec<Field>)],
    ) -> Result<(), sqlx::Error> {
        let sql = insert_sql(table, rows.len());
        let mut q = sqlx::query::<DB>(&sql);
        for (_, values) in rows {
            for v in values {
                q = match v {
                    Field::Int(v) => q.bind(*v),
                    Field::Text(v) => q.bind(v.clone()),
                    Field::Bool(v) => q.bind(*v),
                };
            }
        }
        q.execute(&mut *conn).await?;
        Ok(())
    }

    /// Inserts the waiting rows. When the database refuses the batch, the rows go in
    /// one by one (after rolling the batch back) to name the line it refused.
    async fn flush(conn: &mut DB::Connection, batch: &mut Batch) -> StoreResult<()> {
        if batch.rows.is_empty() {
            return Ok(());
        }
        let table = &TABLES[batch.table];
        conn.execute("SAVEPOINT restore_rows").await?;
        if Self::insert_rows(conn, table, &batch.rows).await.is_err() {
            conn.execute("ROLLBACK TO SAVEPOINT restore_rows").await?;
            for row in &batch.rows {
                Self::insert_rows(conn, table, std::slice::from_ref(row))
                    .await
                    .map_err(|e| {
                        format_error(
                            row.0,
                            format!("the database refused this {} row: {e}", table.name),
                        )
                    })?;
            }
        }
        conn.execute("RELEASE SAVEPOINT restore_rows").await?;
        batch.rows.clear();
        Ok(())
    }

    async fn tx_restore(
        conn: &mut DB::Connection,
        input: Box<dyn BufRead + Send>,
    ) -> StoreResult<BackupCounts> {
        Self::refuse_unless_empty(conn).await?;
        let mut batch = Batch {
            table: 0,
            rows: Vec::with_capacity(BATCH_ROWS),
        };
        let mut counts: Vec<u64> = vec![0; TABLES.len()];
        let mut lines = numbered_lines(input);
        let read_error = |n: u64, e: std::io::Error| format_error(n, format!("cannot read ({e})"));
        let header = match lines.next() {
            Some((n, text)) => parse_header(n, &text.map_err(|e| read_error(n, e))?)?,
            None => return Err(format_error(1, "the file is empty")),
        };
        let mut current = 0usize;
        let mut last_line = 1u64;
        let mut trailer = None;
        for (n, text) in lines.by_ref() {
            last_line = n;
            let text = text.map_err(|e| read_error(n, e))?;
            if text.trim().is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| format_error(n, format!("not a JSON record ({e})")))?;
            let Value::Object(record) = value else {
                return Err(format_error(n, "a record must be a JSON object"));
            };
            if record.contains_key("end") {
                Self::flush(conn, &mut batch).await?;
                trailer = Some((n, record));
                break;
            }
            let name = record
                .get("table")
                .and_then(Value::as_str)
                .ok_or_else(|| format_error(n, "the record names no table"))?;
            let index = TABLES
                .iter()
                .position(|t| t.name == name)
                .ok_or_else(|| format_error(n, format!("unknown table {name:?}")))?;
            if index < current {
                return Err(format_error(
                    n,
                    format!(
                        "a {name} row after {} rows: tables come in a fixed order",
                        TABLES[current].name
                    ),
                ));
            }
            current = index;
            let table = &TABLES[index];
            if table.secret && !header.with_secrets {
                return Err(format_error(
                    n,
                    format!("{name} rows in a backup whose header says it has no secrets"),
                ));
            }
            let values = Self::values_of(table, &record, n)?;
            if batch.table != index || batch.rows.len() >= BATCH_ROWS {
                Self::flush(conn, &mut batch).await?;
                batch.table = index;
            }
            batch.rows.push((n, values));
            counts[index] += 1;
        }
        let Some((end_line, record)) = trailer else {
            return Err(format_error(
                last_line + 1,
                "the backup ends without its trailer line: the file was cut short",
            ));
        };
        if record.get("end").and_then(Value::as_str) != Some(FORMAT) {
            return Err(format_error(end_line, "the trailer line is not Parley's"));
        }
        let declared = record
            .get("counts")
            .and_then(Value::as_object)
            .ok_or_else(|| format_error(end_line, "the trailer has no counts"))?;
        for (table, got) in TABLES.iter().zip(&counts) {
            let want = declared
                .get(table.name)
                .and_then(Value::as_u64)
                .ok_or_else(|| format_error(end_line, format!("no count for {}", table.name)))?;
            if want != *got {
                return Err(format_error(
                    end_line,
                    format!(
                        "the trailer counts {want} {} rows but the file has {got}: it is incomplete",
                        table.name
                    ),
                ));
            }
        }
        for (n, text) in lines {
            let text = text.map_err(|e| read_error(n, e))?;
            if !text.trim().is_empty() {
                return Err(format_error(n, "text after the trailer line"));
            }
        }
        if is_postgres::<DB>() {
            // Ids came from the file: move each identity past the largest, or the next
            // new row would collide with a restored one.
            for table in TABLES.iter().filter(|t| t.identity) {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {0}",
                    table.name
                );
                sqlx::query::<DB>(&sql).execute(&mut *conn).await?;
            }
        }
        Ok(BackupCounts(
            TABLES.iter().map(|t| t.name).zip(counts).collect(),
        ))
    }
}

#[async_trait]
impl<DB> Backup for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> SiteRow: FromRow<'r, DB::Row>,
    for<'r> OriginRow: FromRow<'r, DB::Row>,
    for<'r> StoryRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> CommentRow: FromRow<'r, DB::Row>,
    for<'r> CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> StandingRow: FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
    for<'r> AuditRow: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    Option<bool>: Type<DB> + for<'q> Encode<'q, DB>,
    i64: for<'r> Decode<'r, DB>,
    String: for<'r> Decode<'r, DB>,
    bool: for<'r> Decode<'r, DB>,
    usize: ColumnIndex<DB::Row>,
{
    async fn export(
        &self,
        out: &mut (dyn Write + Send),
        options: ExportOptions,
    ) -> Result<BackupCounts, BackupError> {
        // One snapshot for every table, so rows written while exporting cannot leave
        // a comment without its story or a count without its rows.
        let begin = if is_postgres::<DB>() {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        };
        let mut tx = self.read_pool().begin_with(begin).await?;
        out.write_all(header_line(options).as_bytes())?;
        let mut counts = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            if table.secret && !options.with_secrets {
                counts.push((table.name, 0));
                continue;
            }
            let sql = select_sql::<DB>(table);
            let mut n = 0u64;
            let mut rows = sqlx::query::<DB>(&sql).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                out.write_all(Self::record_line(table, &row, options)?.as_bytes())?;
                n += 1;
            }
            counts.push((table.name, n));
        }
        let counts = BackupCounts(counts);
        out.write_all(trailer_line(&counts).as_bytes())?;
        out.flush()?;
        tx.rollback().await?;
        Ok(counts)
    }

    async fn restore(&self, input: Box<dyn BufRead + Send>) -> Result<BackupCounts, BackupError> {
        Ok(self
            .write(move |conn| Box::pin(Self::tx_restore(conn, input)))
            .await?)
    }

    async fn schema_columns(&self) -> Result<Vec<(String, String)>, BackupError> {
        let sql = if is_postgres::<DB>() {
            "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
             ORDER BY table_name, ordinal_position"
        } else {
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' \
             AND m.name <> '_sqlx_migrations' ORDER BY m.name, p.cid"
        };
        let rows = sqlx::query::<DB>(sql).fetch_all(self.read_pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push((
                row.try_get::<String, usize>(0)?,
                row.try_get::<String, usize>(1)?,
            ));
        }
        Ok(out)
    }
}
