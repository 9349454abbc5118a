//! Every SQL statement of backup and restore: catalog reads (tables, columns, keys), streaming a
//! table in key order, batched inserts, sequence resets and wiping a PostgreSQL schema. All run
//! inside one transaction (`WriteTx`): a snapshot for a backup, the whole restore for a restore.

use futures_util::TryStreamExt;
use sqlx::migrate::{Migrate, MigrateError, Migration};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, TypeInfo, ValueRef};

use super::schema::{Column, Table};
use super::value::{Bound, ColumnKind, Value};
use super::BackupError;
use crate::db::{on_tx, Backend, WriteTx};

/// `"name"`: identifiers reach SQL only after `manifest::is_identifier` or from the catalog.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quoted(n))
        .collect::<Vec<_>>()
        .join(", ")
}

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name";
const SQLITE_COLUMNS: &str = "SELECT name, pk FROM pragma_table_info($1) ORDER BY cid";
const SQLITE_REFERENCES: &str = "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)";

const PG_TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' \
     ORDER BY table_name";
const PG_COLUMNS: &str =
    "SELECT column_name::text, data_type::text FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";
const PG_PRIMARY_KEY: &str = "SELECT a.attname::text FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
     WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisprimary \
     ORDER BY array_position(i.indkey::int2[], a.attnum)";
const PG_REFERENCES: &str = "SELECT DISTINCT target.relname::text FROM pg_constraint k \
     JOIN pg_class source ON source.oid = k.conrelid JOIN pg_class target ON target.oid = k.confrelid \
     JOIN pg_namespace n ON n.oid = source.relnamespace \
     WHERE k.contype = 'f' AND n.nspname = current_schema() AND source.relname = $1";

/// The kind of a PostgreSQL column by its `data_type`; types no table uses today are refused
/// rather than guessed at.
fn pg_kind(table: &str, column: &str, data_type: &str) -> Result<ColumnKind, BackupError> {
    Ok(match data_type {
        "bigint" | "integer" | "smallint" => ColumnKind::Int,
        "boolean" => ColumnKind::Bool,
        "double precision" | "real" => ColumnKind::Real,
        "text" | "character varying" | "character" => ColumnKind::Text,
        "bytea" => ColumnKind::Bytes,
        other => {
            return Err(BackupError::Schema(format!(
                "{table}.{column} has type {other}, which backups do not carry"
            )))
        }
    })
}

/// Every table of the database (not the migration table), with columns, keys and references.
pub async fn tables(tx: &mut WriteTx) -> Result<Vec<Table>, BackupError> {
    let backend = backend_of(tx);
    let names: Vec<String> = on_tx!(tx, |conn| sqlx::query_scalar(match backend {
        Backend::Sqlite => SQLITE_TABLES,
        Backend::Postgres => PG_TABLES,
    })
    .fetch_all(&mut *conn)
    .await)?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let (columns, primary_key, references) = match backend {
            Backend::Sqlite => {
                let rows: Vec<(String, i64)> = on_tx!(tx, |conn| sqlx::query_as(SQLITE_COLUMNS)
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await)?;
                let mut keyed: Vec<&(String, i64)> =
                    rows.iter().filter(|(_, pk)| *pk > 0).collect();
                keyed.sort_by_key(|(_, pk)| *pk);
                let primary_key = keyed.into_iter().map(|(c, _)| c.clone()).collect();
                let columns = rows
                    .iter()
                    .map(|(c, _)| Column {
                        name: c.clone(),
                        kind: ColumnKind::Any,
                    })
                    .collect();
                let references: Vec<String> =
                    on_tx!(tx, |conn| sqlx::query_scalar(SQLITE_REFERENCES)
                        .bind(&name)
                        .fetch_all(&mut *conn)
                        .await)?;
                (columns, primary_key, references)
            }
            Backend::Postgres => {
                let rows: Vec<(String, String)> = on_tx!(tx, |conn| sqlx::query_as(PG_COLUMNS)
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await)?;
                let mut columns = Vec::with_capacity(rows.len());
                for (column, data_type) in rows {
                    let kind = pg_kind(&name, &column, &data_type)?;
                    columns.push(Column { name: column, kind });
                }
                let primary_key: Vec<String> =
                    on_tx!(tx, |conn| sqlx::query_scalar(PG_PRIMARY_KEY)
                        .bind(&name)
                        .fetch_all(&mut *conn)
                        .await)?;
                let references: Vec<String> = on_tx!(tx, |conn| sqlx::query_scalar(PG_REFERENCES)
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await)?;
                (columns, primary_key, references)
            }
        };
        tables.push(Table {
            name,
            columns,
            primary_key,
            references: references.into_iter().collect(),
        });
    }
    Ok(tables)
}

fn backend_of(tx: &mut WriteTx) -> Backend {
    match tx.backend_tx() {
        crate::db::TxInner::Sqlite(_) => Backend::Sqlite,
        crate::db::TxInner::Postgres(_) => Backend::Postgres,
    }
}

/// The last migration applied; 0 for a database that has the migration table but no row.
pub async fn schema_version(tx: &mut WriteTx) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
    on_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .fetch_one(&mut *conn)
        .await)
}

/// A row's cells as backend-neutral values.
trait NeutralRow {
    fn cell(&self, index: usize) -> Result<Value, String>;
}

impl NeutralRow for SqliteRow {
    fn cell(&self, index: usize) -> Result<Value, String> {
        let raw = self.try_get_raw(index).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        // SQLite types each value, whatever the column declares.
        let storage = raw.type_info().name().to_string();
        let value = match storage.as_str() {
            "INTEGER" => self.try_get_unchecked::<i64, _>(index).map(Value::Int),
            "REAL" => self.try_get_unchecked::<f64, _>(index).map(Value::Real),
            "TEXT" => self.try_get_unchecked::<String, _>(index).map(Value::Text),
            "BLOB" => self
                .try_get_unchecked::<Vec<u8>, _>(index)
                .map(Value::Bytes),
            other => return Err(format!("unexpected SQLite storage class {other}")),
        };
        value.map_err(|e| e.to_string())
    }
}

impl NeutralRow for PgRow {
    fn cell(&self, index: usize) -> Result<Value, String> {
        let raw = self.try_get_raw(index).map_err(|e| e.to_string())?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let type_name = raw.type_info().name().to_string();
        let value = match type_name.as_str() {
            "INT8" => self.try_get::<i64, _>(index).map(Value::Int),
            "INT4" => self.try_get::<i32, _>(index).map(|n| Value::Int(n.into())),
            "INT2" => self.try_get::<i16, _>(index).map(|n| Value::Int(n.into())),
            "BOOL" => self.try_get::<bool, _>(index).map(Value::Bool),
            "FLOAT8" => self.try_get::<f64, _>(index).map(Value::Real),
            "FLOAT4" => self.try_get::<f32, _>(index).map(|x| Value::Real(x.into())),
            "TEXT" | "VARCHAR" | "BPCHAR" => self.try_get::<String, _>(index).map(Value::Text),
            "BYTEA" => self.try_get::<Vec<u8>, _>(index).map(Value::Bytes),
            other => return Err(format!("unexpected PostgreSQL type {other}")),
        };
        value.map_err(|e| e.to_string())
    }
}

/// Stream `table`'s rows in key order into `visit` (one row in memory at a time); returns the
/// number of rows.
pub async fn stream_rows(
    tx: &mut WriteTx,
    table: &Table,
    mut visit: impl FnMut(Vec<Value>) -> Result<(), BackupError>,
) -> Result<u64, BackupError> {
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        quoted_list(&table.column_names()),
        quoted(&table.name),
        quoted_list(&table.order_columns())
    );
    let width = table.columns.len();
    on_tx!(tx, |conn| {
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        let mut count = 0u64;
        while let Some(row) = rows.try_next().await? {
            let cells = (0..width)
                .map(|i| row.cell(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| BackupError::Schema(format!("{}: {why}", table.name)))?;
            visit(cells)?;
            count += 1;
        }
        Ok(count)
    })
}

pub async fn has_rows(tx: &mut WriteTx, table: &str) -> sqlx::Result<bool> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table));
    on_tx!(tx, |conn| sqlx::query_scalar(&sql)
        .fetch_one(&mut *conn)
        .await)
}

/// One multi-row `INSERT` of `rows` (cells in `columns` order). Restored ids are kept, also in
/// a PostgreSQL identity column declared `GENERATED ALWAYS`.
pub async fn insert_rows(
    tx: &mut WriteTx,
    table: &str,
    columns: &[String],
    rows: Vec<Vec<Bound>>,
) -> sqlx::Result<()> {
    let keep_ids = match backend_of(tx) {
        Backend::Sqlite => "",
        Backend::Postgres => "OVERRIDING SYSTEM VALUE ",
    };
    let head = format!(
        "INSERT INTO {} ({}) {keep_ids}",
        quoted(table),
        quoted_list(columns)
    );
    on_tx!(tx, |conn| {
        let mut sql = QueryBuilder::new(head);
        sql.push_values(rows, |mut out, row| {
            for cell in row {
                match cell {
                    Bound::Int(v) => out.push_bind(v),
                    Bound::Real(v) => out.push_bind(v),
                    Bound::Bool(v) => out.push_bind(v),
                    Bound::Text(v) => out.push_bind(v),
                    Bound::Bytes(v) => out.push_bind(v),
                };
            }
        });
        sql.build().execute(&mut *conn).await.map(|_| ())
    })
}

/// PostgreSQL: point every identity or serial sequence past its column's highest value, so the
/// next insert after a restore does not collide with a restored id. SQLite needs nothing: a new
/// rowid is always past the highest.
pub async fn reset_sequences(tx: &mut WriteTx) -> sqlx::Result<()> {
    const GENERATED: &str = "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')";
    let crate::db::TxInner::Postgres(conn) = tx.backend_tx() else {
        return Ok(());
    };
    let columns: Vec<(String, String)> = sqlx::query_as(GENERATED).fetch_all(&mut **conn).await?;
    for (table, column) in columns {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({c}) FROM {t}), 0) + 1, false)",
            c = quoted(&column),
            t = quoted(&table)
        );
        sqlx::query(&sql)
            .bind(quoted(&table))
            .bind(&column)
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// PostgreSQL: drop every table (the migration table too) and every function of the current
/// schema that is not part of an extension: what opencoder's migrations create.
pub async fn wipe_schema(tx: &mut WriteTx) -> sqlx::Result<()> {
    const TABLES: &str =
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()";
    const FUNCTIONS: &str =
        "SELECT format('%I(%s)', p.proname, pg_get_function_identity_arguments(p.oid)) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = current_schema() AND p.prokind = 'f' \
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')";
    let crate::db::TxInner::Postgres(conn) = tx.backend_tx() else {
        return Ok(());
    };
    let tables: Vec<String> = sqlx::query_scalar(TABLES).fetch_all(&mut **conn).await?;
    for table in tables {
        sqlx::query(&format!("DROP TABLE IF EXISTS {} CASCADE", quoted(&table)))
            .execute(&mut **conn)
            .await?;
    }
    let functions: Vec<String> = sqlx::query_scalar(FUNCTIONS).fetch_all(&mut **conn).await?;
    for function in functions {
        sqlx::query(&format!("DROP FUNCTION IF EXISTS {function} CASCADE"))
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// Apply one migration inside the restore's transaction (sqlx nests it as a savepoint).
pub async fn apply_migration(tx: &mut WriteTx, migration: &Migration) -> Result<(), MigrateError> {
    on_tx!(tx, |conn| {
        conn.ensure_migrations_table().await?;
        conn.apply(migration).await.map(|_| ())
    })
}

/// SQLite: move everything the WAL holds into the database file and empty the WAL, so the file
/// alone is the whole database and can be renamed into place.
pub async fn checkpoint_wal(db: &crate::db::Db) -> Result<(), BackupError> {
    let crate::db::Pool::Sqlite(pool) = db.backend_pool() else {
        return Ok(());
    };
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await?;
    if busy != 0 {
        return Err(BackupError::Schema(
            "the restored database could not be checkpointed (busy)".into(),
        ));
    }
    Ok(())
}
