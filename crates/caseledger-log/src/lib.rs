//! The ledger's log: append-only, gapless, hash-chained, on sled. This is the only crate that
//! knows sled; the others reach storage through [`Store`].
//!
//! - One writer thread takes appends from a bounded queue and commits them in batches (group
//!   commit): check versions and event ids, encode, hash, insert, run the [`Observer`]s,
//!   `flush`, write the head file, then acknowledge.
//! - Every record chains to the previous one (`caseledger_record::record_hash`); record 1
//!   chains to the genesis hash of the ledger's origin name.
//! - A head file outside sled holds the last acknowledged position and hash. On open the tail
//!   is re-hashed against it; a shorter or different log does not open.
//! - There is no update and no delete path.
//!
//! ```
//! use caseledger_log::{Actor, AppendRequest, Ledger, LedgerOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let ledger = Ledger::open(dir.path(), LedgerOptions::new("caseledger.example/anhua")).unwrap();
//! let appended = ledger
//!     .append_blocking(AppendRequest {
//!         stream: "case/0001".into(),
//!         expected_version: 0,
//!         event_id: uuid::Uuid::now_v7(),
//!         actor: Actor { role: "intake".into(), unit: "hotline-12345".into(), user: "op-1".into() },
//!         kind: "ComplaintFiled".into(),
//!         schema_version: 1,
//!         payload: br#"{"summary":"elevator broken"}"#.to_vec(),
//!     })
//!     .unwrap();
//! assert_eq!((appended.position, appended.stream_version), (1, 1));
//! assert_eq!(ledger.head().position, 1);
//! assert!(ledger.verify(|_, _| {}).unwrap().ok);
//! ```
#![deny(missing_docs)]

mod error;
mod frame;
mod head;
mod index;
mod keys;
mod read;
mod scan;
mod store;
mod verify;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use caseledger_record::{Actor, Hash, Record};
pub use error::{Error, ErrorKind};
pub use head::{Head, HEAD_FILE_NAME};
pub use store::{KvBatch, KvPair, KvTree, Store, RESERVED_PREFIX};
pub use verify::VerifyReport;
pub use writer::PAYLOAD_BYTES_MAX;

/// The sled folder inside a ledger folder.
pub const SLED_DIR_NAME: &str = "sled";

/// The sled database of a closed ledger folder, opened with the ledger's own settings and
/// nothing else: no head file read, no check, no writer. For tools and tests that inspect or
/// damage the storage behind the ledger's back. Like [`Ledger::open`], it waits a moment for
/// sled's directory lock, which sled releases only when the last background write of a
/// dropped ledger ends; a folder a ledger still has open is refused after that wait. A folder
/// without a ledger is an error (nothing is created).
pub fn open_storage(dir: &Path) -> Result<sled::Db, Error> {
    writer::open_existing_db(dir, &LedgerOptions::new(""))
}

/// How a ledger is opened. Start from [`LedgerOptions::new`].
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// The ledger's origin name, such as `caseledger.example/anhua`. Stored at creation; the
    /// genesis hash is derived from it. Opening with another origin is an error.
    pub origin: String,
    /// Appends waiting for the writer at most; further submitters wait for room.
    pub queue_requests_max: usize,
    /// Records in one writer batch at most (one flush, one head-file write); also the most
    /// requests one `append_many` may carry.
    pub batch_records_max: usize,
    /// Payload bytes in one writer batch, roughly: the writer stops taking more requests into a
    /// batch once it holds this many (one sled value stays well below sled's blob threshold).
    pub batch_bytes_max: usize,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// Streams whose current version the writer keeps in memory at most; beyond that it
    /// forgets them all and reads versions back from the stream index.
    pub stream_cache_entries_max: usize,
    /// Records before the head-file position that are re-hashed on open, besides every record
    /// after it.
    pub tail_check_records: u64,
}

impl LedgerOptions {
    /// Defaults sized for the service: 16,384 queued requests, batches of up to 4,096 records
    /// or about 1 MiB of payload, 256 MiB of cache.
    pub fn new(origin: impl Into<String>) -> LedgerOptions {
        LedgerOptions {
            origin: origin.into(),
            queue_requests_max: 16_384,
            batch_records_max: 4_096,
            batch_bytes_max: 1024 * 1024,
            cache_bytes: 256 * 1024 * 1024,
            stream_cache_entries_max: 1 << 16,
            tail_check_records: 4_096,
        }
    }
}

/// One act to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    /// The stream, such as `case/<uuid>`.
    pub stream: String,
    /// The stream's version the caller decided on; 0 for a new stream.
    pub expected_version: u64,
    /// The event id. A retry with the same id and the same content returns the first result.
    pub event_id: uuid::Uuid,
    /// Who does it.
    pub actor: Actor,
    /// The act kind.
    pub kind: String,
    /// Schema version of the payload.
    pub schema_version: u16,
    /// The encoded act.
    pub payload: Vec<u8>,
}

/// The result of an acknowledged append: durable and chained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its position in the log.
    pub position: u64,
    /// Its chain hash.
    pub hash: Hash,
    /// Its version in its stream.
    pub stream_version: u64,
    /// When the writer recorded it, microseconds since the Unix epoch (UTC).
    pub recorded_at_us: i64,
    /// True when the event id had been appended before with the same content: nothing new was
    /// written and this is the original result.
    pub duplicate: bool,
}

/// A record as stored: its bytes, decoded, and its chain hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its position.
    pub position: u64,
    /// Its chain hash (over `bytes`).
    pub hash: Hash,
    /// The exact stored bytes.
    pub bytes: Arc<[u8]>,
    /// The bytes decoded.
    pub record: Record,
}

/// A record of a batch being committed, as handed to [`Observer`]s.
pub type Committed = StoredRecord;

/// Code that runs inside the writer on every committed batch, after the records are inserted
/// and before the flush and the acknowledgement: projections, the Merkle tree. Whatever it
/// writes through [`Store`] becomes durable with the same flush as the records.
///
/// When `apply` fails, no request of the batch is acknowledged: each gets an
/// [`ErrorKind::Observer`] error and the writer stops (every later append gets
/// [`ErrorKind::Stopped`]). The batch's records are already inserted in the log tree and may
/// reach the disk with sled's own writes; they chain correctly, so after a reopen they are
/// part of the log, and a retry with the same event id returns them as duplicates. An
/// observer therefore keeps its own checkpoint and is caught up on open (see
/// [`Observer::applied_position`]).
pub trait Observer: Send {
    /// A stable name, for errors and logs.
    fn name(&self) -> &str;
    /// Applies one batch, in position order, gapless after the previous one.
    fn apply(&mut self, batch: &[Committed]) -> Result<(), Error>;
    /// The last position this observer has applied, from its own durable checkpoint. On open
    /// the ledger replays every record after it through `apply` before taking appends.
    /// `None` (the default): the observer needs no replay.
    fn applied_position(&self) -> Option<u64> {
        None
    }
}

/// State shared by the readers and the writer.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) log: sled::Tree,
    /// The event-id and stream indexes.
    pub(crate) index: std::sync::RwLock<index::Index>,
    pub(crate) meta: sled::Tree,
    pub(crate) origin: String,
    pub(crate) genesis: Hash,
    /// The last acknowledged record. Readers see nothing beyond it.
    pub(crate) head: Mutex<Head>,
    /// Why the writer stopped, once it has.
    pub(crate) stopped: Mutex<Option<String>>,
}

/// An open ledger. Cheap to clone; the writer stops when the last clone is dropped.
#[derive(Clone)]
pub struct Ledger {
    handle: Arc<writer::Handle>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("dir", &self.shared().dir)
            .field("head", &self.head())
            .finish()
    }
}

impl Ledger {
    /// Opens the ledger in `dir`, creating it when the folder is empty or absent. Checks the
    /// origin, re-hashes the tail against the head file, brings the indexes up to the log,
    /// and starts the writer.
    pub fn open(dir: &Path, options: LedgerOptions) -> Result<Ledger, Error> {
        Ledger::open_with_observers(dir, options, Vec::new())
    }

    /// Like [`Ledger::open`], with observers that run inside every batch. Each is first caught
    /// up from its [`Observer::applied_position`].
    pub fn open_with_observers(
        dir: &Path,
        options: LedgerOptions,
        observers: Vec<Box<dyn Observer>>,
    ) -> Result<Ledger, Error> {
        let handle = writer::Handle::open(dir, options, observers, false)?;
        Ok(Ledger {
            handle: Arc::new(handle),
        })
    }

    /// Opens a ledger that must already exist, with the origin name stored in it
    /// (`options.origin` is ignored). For tools that inspect a ledger: `verify`, `log`.
    pub fn open_existing(dir: &Path, options: LedgerOptions) -> Result<Ledger, Error> {
        let handle = writer::Handle::open(dir, options, Vec::new(), true)?;
        Ok(Ledger {
            handle: Arc::new(handle),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// Appends one act and waits until it is durable.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, Error> {
        let mut results = self.handle.submit(vec![request]).await?;
        Ok(results.remove(0))
    }

    /// Appends several acts atomically, in the same batch: all of them or none. Results are in
    /// request order.
    pub async fn append_many(&self, requests: Vec<AppendRequest>) -> Result<Vec<Appended>, Error> {
        self.handle.submit(requests).await
    }

    /// [`Ledger::append`] for threads outside an async runtime. Panics when called from
    /// inside a runtime (use `append` there).
    pub fn append_blocking(&self, request: AppendRequest) -> Result<Appended, Error> {
        let mut results = self.handle.submit_blocking(vec![request], None)?;
        Ok(results.remove(0))
    }

    /// [`Ledger::append_many`] for threads outside an async runtime.
    pub fn append_many_blocking(
        &self,
        requests: Vec<AppendRequest>,
    ) -> Result<Vec<Appended>, Error> {
        self.handle.submit_blocking(requests, None)
    }

    /// Appends records that happened earlier, each with the time it happened, atomically like
    /// [`Ledger::append_many_blocking`]. Used to load a synthetic or migrated history (the demo
    /// county's year). The times must not go backwards from the last record on and must not
    /// lie in the future, so recorded-at stays monotonic over the whole log; the service never
    /// offers this path to clients.
    pub fn import_many_blocking(
        &self,
        records: Vec<(AppendRequest, i64)>,
    ) -> Result<Vec<Appended>, Error> {
        let (requests, times) = records.into_iter().unzip();
        self.handle.submit_blocking(requests, Some(times))
    }

    /// The last acknowledged position and its hash.
    pub fn head(&self) -> Head {
        *self.shared().head.lock().expect("head lock")
    }

    /// The origin name.
    pub fn origin(&self) -> &str {
        &self.shared().origin
    }

    /// The hash record 1 chains to.
    pub fn genesis(&self) -> Hash {
        self.shared().genesis
    }

    /// The folder of the ledger.
    pub fn dir(&self) -> &Path {
        &self.shared().dir
    }

    /// The storage, for projections and proofs (trees of their own; the log's are reserved).
    pub fn store(&self) -> Store {
        Store::new(self.shared().db.clone())
    }

    /// Up to `limit` records from position `from` (1-based), in order, up to the head.
    pub fn read_range(&self, from: u64, limit: usize) -> Result<Vec<StoredRecord>, Error> {
        read::range(self.shared(), self.head().position, from, limit)
    }

    /// Like [`Ledger::read_range`], the records' fields only: no chain hash, no copy of the
    /// stored bytes and no canonical-form check, none of which a fold uses (hashing was a
    /// sixth of a projection rebuild's reading, re-encoding a fifth); verification checks
    /// them. Each record is still checked to sit at its position.
    pub fn read_records(&self, from: u64, limit: usize) -> Result<Vec<Record>, Error> {
        read::fields(self.shared(), self.head().position, from, limit)
    }

    /// Up to `limit` records of `stream` from version `from_version` (1-based), in order.
    pub fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, Error> {
        read::stream(
            self.shared(),
            self.head().position,
            stream,
            from_version,
            limit,
        )
    }

    /// Calls `visit(position, stored bytes)` for each position of `from..=to` (clamped to the
    /// head), in order, without decoding or chain-hashing the records: for checks that hash
    /// the stored bytes themselves, such as the Merkle tree's. Stops at `visit`'s first error.
    pub fn scan_bytes<E: From<Error>>(
        &self,
        from: u64,
        to: u64,
        visit: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        read::scan_bytes(self.shared(), self.head().position, from, to, visit)
    }

    /// The record with this event id, if it was acknowledged.
    pub fn read_event(&self, event_id: uuid::Uuid) -> Result<Option<StoredRecord>, Error> {
        read::event(self.shared(), self.head().position, event_id)
    }

    /// The current (acknowledged) version of a stream; 0 when it has no records.
    pub fn stream_version(&self, stream: &str) -> Result<u64, Error> {
        read::stream_version(self.shared(), self.head().position, stream)
    }

    /// Re-hashes every record and checks links, gapless positions, contiguous stream versions
    /// and that both indexes agree with the log. `progress(done, total)` is called now and
    /// then. Damage is reported in the result (`ok: false`, `broken_at`), not as an error;
    /// errors are for I/O.
    pub fn verify(&self, progress: impl FnMut(u64, u64)) -> Result<VerifyReport, Error> {
        verify::run(self.shared(), self.head(), progress)
    }
}

/// What the crate's unit tests share.
#[cfg(test)]
pub(crate) mod testing {
    use crate::{Actor, AppendRequest};

    /// The `n`th test append to `stream`. Payload lengths vary with `n`, so that a wrong
    /// offset into a batch cannot land on a record.
    pub(crate) fn request(stream: &str, expected_version: u64, n: u64) -> AppendRequest {
        AppendRequest {
            stream: stream.into(),
            expected_version,
            event_id: uuid::Uuid::now_v7(),
            actor: Actor {
                role: "township".into(),
                unit: "township/dongping".into(),
                user: "u".into(),
            },
            kind: "Noted".into(),
            schema_version: 1,
            payload: format!(
                "{{\"n\":{n},\"pad\":\"{}\"}}",
                "x".repeat((n * 7 % 50) as usize)
            )
            .into_bytes(),
        }
    }
}
