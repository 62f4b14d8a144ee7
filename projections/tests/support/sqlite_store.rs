//! The rebuild's baseline: the projections' trees in SQLite, the store a user would otherwise
//! pick (bundled, WAL, `synchronous=FULL`, as the writer's baseline). Each tree is a table of
//! byte keys and values (`WITHOUT ROWID`, so rows are stored in key order as sled's are); an
//! atomic batch is one transaction. The projections' code, their paging included, is the same
//! over both stores: only the storage differs.

use std::path::Path;
use std::sync::{Arc, Mutex};

use caseledger_projections::{KvStore, KvTree, Scan, StoreError, Writes};
use rusqlite::{params, Connection, OptionalExtension};

/// One SQLite database holding every tree.
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

/// One tree: a table in that database.
struct SqliteTree {
    connection: Arc<Mutex<Connection>>,
    table: String,
}

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError(format!("sqlite: {error}"))
}

/// The table that holds the tree called `name`, as `sqlite_master` lists it.
fn table_name(name: &str) -> String {
    format!("tree:{name}")
}

/// The tree called `name`'s table as a quoted SQL identifier (tree names hold `/`).
fn table_of(name: &str) -> String {
    format!("\"{}\"", table_name(name).replace('"', "\"\""))
}

impl SqliteStore {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let connection = Connection::open(path).map_err(failed)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        Ok(SqliteStore {
            connection: Arc::new(Mutex::new(connection)),
        })
    }
}

fn lock(connection: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KvStore for SqliteStore {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn KvTree>, StoreError> {
        let table = table_of(name);
        lock(&self.connection)
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;"
            ))
            .map_err(failed)?;
        Ok(Arc::new(SqliteTree {
            connection: self.connection.clone(),
            table,
        }))
    }

    fn drop_tree(&self, name: &str) -> Result<bool, StoreError> {
        let connection = lock(&self.connection);
        let existed = connection
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table_name(name)],
                |_| Ok(()),
            )
            .optional()
            .map_err(failed)?
            .is_some();
        connection
            .execute_batch(&format!("DROP TABLE IF EXISTS {};", table_of(name)))
            .map_err(failed)?;
        Ok(existed)
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every transaction is durable when it commits (synchronous=FULL).
        Ok(())
    }
}

impl KvTree for SqliteTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let connection = lock(&self.connection);
        let mut statement = connection
            .prepare_cached(&format!("SELECT v FROM {} WHERE k = ?1", self.table))
            .map_err(failed)?;
        statement
            .query_row([key], |row| row.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(failed)
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Scan,
    ) -> Result<(), StoreError> {
        let connection = lock(&self.connection);
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT k, v FROM {} WHERE k >= ?1 AND (?2 IS NULL OR k < ?2) ORDER BY k",
                self.table
            ))
            .map_err(failed)?;
        let mut rows = statement.query(params![start, end]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let key = row.get_ref(0).map_err(failed)?.as_blob().map_err(failed)?;
            let value = row.get_ref(1).map_err(failed)?.as_blob().map_err(failed)?;
            if visit(key, value) == Scan::Stop {
                break;
            }
        }
        Ok(())
    }

    fn apply_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let mut connection = lock(&self.connection);
        let transaction = connection.transaction().map_err(failed)?;
        {
            let mut put = transaction
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO {} (k, v) VALUES (?1, ?2)",
                    self.table
                ))
                .map_err(failed)?;
            let mut delete = transaction
                .prepare_cached(&format!("DELETE FROM {} WHERE k = ?1", self.table))
                .map_err(failed)?;
            for (key, value) in &writes.entries {
                match value {
                    Some(value) => put.execute(params![key, value]).map_err(failed)?,
                    None => delete.execute([key]).map_err(failed)?,
                };
            }
        }
        transaction.commit().map_err(failed)
    }
}
