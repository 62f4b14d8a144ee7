//! Opening a ledger and its one writer thread (group commit).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use caseledger_record::{
    genesis_hash, record_hash, ChainWalker, Hash, Record, FIELD_BYTES_MAX, RECORD_BYTES_MAX,
    RECORD_FORMAT,
};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, ErrorKind};
use crate::head::{self, Head};
use crate::index::{FrozenRun, Index};
use crate::{
    frame, keys, read, AppendRequest, Appended, Committed, LedgerOptions, Observer, Shared,
};

/// The largest payload accepted, in bytes: the record limit less room for the other fields.
pub const PAYLOAD_BYTES_MAX: usize = RECORD_BYTES_MAX - 8 * FIELD_BYTES_MAX;

/// Batches sealed but not yet flushed, at most.
const SEALED_BATCHES_MAX: usize = 256;

/// Records re-read from the log per step while catching up indexes and observers.
const CATCH_UP_RECORDS: usize = 4_096;

type Reply = oneshot::Sender<Result<Vec<Appended>, Error>>;

struct Job {
    requests: Vec<AppendRequest>,
    /// Times given by an import ([`crate::Ledger::import_many_blocking`]), one per request;
    /// `None` for ordinary appends, which the writer's clock stamps.
    recorded_at_us: Option<Vec<i64>>,
    reply: Reply,
}

/// Owns the writer thread; dropping it closes the queue and waits for the thread.
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    sender: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How long opening waits for sled's directory lock before reporting it as held.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens sled, waiting up to [`LOCK_WAIT`] for its directory lock: sled 0.34 releases it when
/// its last background write ends, which can be a moment after a ledger was dropped, so a
/// close followed at once by an open (in one process or by a restarted one) would otherwise
/// be refused now and then. A folder another process keeps open is still refused after the
/// wait, with an error that says so (sled's own is "could not acquire lock … WouldBlock").
fn open_db(dir: &Path, options: &LedgerOptions) -> Result<sled::Db, Error> {
    let started = std::time::Instant::now();
    loop {
        match try_open_db(dir, options) {
            Err(sled::Error::Io(error)) if error.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(Error::new(ErrorKind::InUse {
                        dir: dir.to_path_buf(),
                    }));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(sled::Error::Corruption { .. }) => {
                return Err(Error::io(
                    "opening the ledger",
                    format!(
                        "{0} 中的存储文件已损坏或不完整，无法打开；请从备份恢复该目录 / the storage \
                         files in {0} are damaged or incomplete (sled reads corrupted data), so the \
                         ledger cannot be opened; restore the folder from a backup",
                        dir.join(crate::SLED_DIR_NAME).display()
                    ),
                ));
            }
            result => return result.map_err(|error| Error::io("opening sled", error)),
        }
    }
}

/// [`open_db`] for a folder that must already hold a ledger.
pub(crate) fn open_existing_db(dir: &Path, options: &LedgerOptions) -> Result<sled::Db, Error> {
    if !dir.join(crate::SLED_DIR_NAME).is_dir() {
        return Err(Error::io(
            "opening an existing ledger",
            format!("no ledger in {} / 此处没有账本", dir.display()),
        ));
    }
    open_db(dir, options)
}

fn try_open_db(dir: &Path, options: &LedgerOptions) -> sled::Result<sled::Db> {
    // Every option explicit (sled 0.34 is beta; defaults may change under us).
    sled::Config::new()
        .path(dir.join(crate::SLED_DIR_NAME))
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(options.cache_bytes)
        // Durability is ours: the writer flushes before every acknowledgement, so no
        // background flusher is needed.
        .flush_every_ms(None)
        .use_compression(false)
        .temporary(false)
        .create_new(false)
        .segment_size(8 * 1024 * 1024)
        .print_profile_on_drop(false)
        .open()
}

impl Handle {
    pub(crate) fn open(
        dir: &Path,
        mut options: LedgerOptions,
        mut observers: Vec<Box<dyn Observer>>,
        existing_only: bool,
    ) -> Result<Handle, Error> {
        if existing_only {
            let db = open_existing_db(dir, &options)?;
            let meta = db.open_tree(keys::META_TREE)?;
            let origin = meta.get(keys::META_ORIGIN)?.ok_or_else(|| {
                Error::corrupt(0, "the ledger has no stored origin name / 账本缺少来源名称")
            })?;
            options.origin = String::from_utf8_lossy(&origin).into_owned();
            drop(meta);
            drop(db);
        }
        if options.origin.is_empty() || options.origin.len() > FIELD_BYTES_MAX {
            return Err(Error::invalid("the origin name must be 1 to 256 bytes"));
        }
        if options.queue_requests_max == 0 || options.batch_records_max == 0 {
            return Err(Error::invalid("queue and batch limits must be at least 1"));
        }
        std::fs::create_dir_all(dir)
            .map_err(|error| Error::io("creating the ledger folder", error))?;
        let db = open_db(dir, &options)?;
        let shared = Shared {
            dir: dir.to_path_buf(),
            log: db.open_tree(keys::LOG_TREE)?,
            index: std::sync::RwLock::new(Index::load(db.open_tree(keys::INDEX_TREE)?)?),
            meta: db.open_tree(keys::META_TREE)?,
            db,
            origin: options.origin.clone(),
            genesis: genesis_hash(&options.origin),
            head: Mutex::new(Head {
                position: 0,
                hash: genesis_hash(&options.origin),
            }),
            stopped: Mutex::new(None),
        };
        check_origin(&shared)?;
        let head = check_tail(&shared, &options)?;
        catch_up_indexes(&shared, head.position)?;
        *shared.head.lock().expect("head lock") = head;
        catch_up_observers(&shared, head.position, &mut observers)?;
        shared.db.flush()?;
        head::create(&shared.dir, &head)?;
        let head_file = head::HeadFile::open(&shared.dir)?;
        let sled_file = SledFile::open(&shared.dir)?;
        let shared = Arc::new(shared);
        let (sender, receiver) = mpsc::channel(options.queue_requests_max);
        let mut writer = Writer {
            shared: shared.clone(),
            receiver,
            observers,
            next_position: head.position + 1,
            last_hash: head.hash,
            last_recorded_at_us: 0,
            versions: HashMap::new(),
            options,
            syncer: None,
            syncer_thread: None,
            head_thread: None,
            runs: None,
            runs_thread: None,
            value_buffer: Vec::new(),
            observed: Arc::new(Observed::new(head.position)),
        };
        let (runs_sender, runs_receiver) = std::sync::mpsc::channel();
        let runs_shared = shared.clone();
        writer.runs_thread = Some(
            std::thread::Builder::new()
                .name("caseledger-runs".into())
                .spawn(move || write_runs(runs_shared, runs_receiver))
                .map_err(|error| Error::io("starting the index run thread", error))?,
        );
        writer.runs = Some(runs_sender);
        // Bounded: the writer waits when this many batches are sealed but not yet flushed.
        let (sealed_sender, sealed_receiver) = std::sync::mpsc::sync_channel(SEALED_BATCHES_MAX);
        let (durable_sender, durable_receiver) = std::sync::mpsc::sync_channel(DURABLE_GROUPS_MAX);
        let head_writer = HeadWriter {
            shared: shared.clone(),
            head_file,
            observed: writer.observed.clone(),
        };
        writer.head_thread = Some(
            std::thread::Builder::new()
                .name("caseledger-head".into())
                .spawn(move || head_writer.run(durable_receiver))
                .map_err(|error| Error::io("starting the head-file thread", error))?,
        );
        let syncer = Syncer {
            shared: shared.clone(),
            sled_file,
            durable: durable_sender,
        };
        writer.syncer_thread = Some(
            std::thread::Builder::new()
                .name("caseledger-syncer".into())
                .spawn(move || syncer.run(sealed_receiver))
                .map_err(|error| Error::io("starting the syncer thread", error))?,
        );
        writer.syncer = Some(sealed_sender);
        let thread = std::thread::Builder::new()
            .name("caseledger-writer".into())
            .spawn(move || writer.run())
            .map_err(|error| Error::io("starting the writer thread", error))?;
        Ok(Handle {
            shared,
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    fn stopped_error(&self) -> Error {
        stopped_error(&self.shared)
    }

    pub(crate) async fn submit(
        &self,
        requests: Vec<AppendRequest>,
    ) -> Result<Vec<Appended>, Error> {
        let recorded_at_us = None;
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let sender = self
            .sender
            .as_ref()
            .expect("sender lives as long as the handle");
        if sender
            .send(Job {
                requests,
                recorded_at_us,
                reply,
            })
            .await
            .is_err()
        {
            return Err(self.stopped_error());
        }
        answer.await.unwrap_or_else(|_| Err(self.stopped_error()))
    }

    pub(crate) fn submit_blocking(
        &self,
        requests: Vec<AppendRequest>,
        recorded_at_us: Option<Vec<i64>>,
    ) -> Result<Vec<Appended>, Error> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let sender = self
            .sender
            .as_ref()
            .expect("sender lives as long as the handle");
        if sender
            .blocking_send(Job {
                requests,
                recorded_at_us,
                reply,
            })
            .is_err()
        {
            return Err(self.stopped_error());
        }
        answer
            .blocking_recv()
            .unwrap_or_else(|_| Err(self.stopped_error()))
    }
}

/// An import's times must be one per request, never go backwards (from the last record on),
/// and never lie in the future: recorded-at stays monotonic over the whole log.
fn check_given_times(times: &[i64], requests: usize, last_us: i64) -> Result<(), Error> {
    if times.len() != requests {
        return Err(Error::invalid(format!(
            "{} times for {} imported records / 导入时间数与记录数不符",
            times.len(),
            requests
        )));
    }
    let now = now_us();
    let mut previous = last_us;
    for &time in times {
        if time < previous {
            return Err(Error::invalid(format!(
                "imported time {time} µs is before the previous record's {previous} µs / 导入时间早于前一条记录"
            )));
        }
        if time > now {
            return Err(Error::invalid(format!(
                "imported time {time} µs lies in the future / 导入时间晚于当前时间"
            )));
        }
        previous = time;
    }
    Ok(())
}

fn check_origin(shared: &Shared) -> Result<(), Error> {
    match shared.meta.get(keys::META_ORIGIN)? {
        Some(stored) => {
            let stored = String::from_utf8_lossy(&stored).into_owned();
            if stored != shared.origin {
                return Err(Error::new(ErrorKind::OriginMismatch {
                    stored,
                    requested: shared.origin.clone(),
                }));
            }
        }
        None => {
            if !shared.log.is_empty() {
                return Err(Error::corrupt(
                    1,
                    "the log has records but no origin is stored",
                ));
            }
            shared
                .meta
                .insert(keys::META_ORIGIN, shared.origin.as_bytes())?;
            shared
                .meta
                .insert(keys::META_FORMAT, keys::STORAGE_FORMAT)?;
        }
    }
    if let Some(format) = shared.meta.get(keys::META_FORMAT)? {
        if format != keys::STORAGE_FORMAT {
            return Err(Error::corrupt(0, "unknown storage format in the meta tree"));
        }
    }
    Ok(())
}

/// The last position in the log tree (0 when empty).
fn log_end(shared: &Shared) -> Result<u64, Error> {
    match shared.log.last()? {
        None => Ok(0),
        Some((key, value)) => {
            let first = frame::position_of_key(&key)?;
            Ok(first + frame::split(first, &value)?.len() as u64 - 1)
        }
    }
}

/// Re-hashes the tail and compares it with the head file. Returns the new head: the end of
/// the log, which may be past the head file when a batch was flushed but the process died
/// before acknowledging it (those records chain correctly and are kept).
fn check_tail(shared: &Shared, options: &LedgerOptions) -> Result<Head, Error> {
    let end = log_end(shared)?;
    let head_path = head::path(&shared.dir);
    let acknowledged = match head::read(&shared.dir)? {
        Some(head) => head,
        None if end == 0 => Head {
            position: 0,
            hash: shared.genesis,
        },
        None => {
            return Err(Error::head(
                &head_path,
                format!(
                    "is missing but the log holds {end} records; refusing to open / 头文件缺失，拒绝打开"
                ),
            ))
        }
    };
    if acknowledged.position > end {
        return Err(Error::corrupt(
            end + 1,
            format!(
                "the log ends at {end} but position {} was acknowledged (head file); records are missing",
                acknowledged.position
            ),
        ));
    }
    if end == 0 {
        if acknowledged.hash != shared.genesis {
            return Err(Error::head(
                &head_path,
                "names another genesis hash than this origin's",
            ));
        }
        return Ok(acknowledged);
    }
    let start = acknowledged
        .position
        .saturating_sub(options.tail_check_records)
        .max(1);
    let mut walker = if start == 1 {
        ChainWalker::new(shared.genesis)
    } else {
        // Trust the link stored in the first record of the window; everything after it is
        // re-hashed and linked.
        let first = read::at(shared, end, start)?;
        ChainWalker::resume(start - 1, first.record.prev_hash)
    };
    let mut last_hash = shared.genesis;
    let mut position = start;
    while position <= end {
        let records = read::range(shared, end, position, CATCH_UP_RECORDS)?;
        for record in &records {
            let (_, hash) = walker
                .push(&record.bytes)
                .map_err(|error| Error::corrupt(error.position(), error.to_string()))?;
            if record.position == acknowledged.position && hash != acknowledged.hash {
                return Err(Error::corrupt(
                    record.position,
                    format!(
                        "hash {hash} differs from the acknowledged hash {} in the head file",
                        acknowledged.hash
                    ),
                ));
            }
            last_hash = hash;
        }
        position += records.len() as u64;
    }
    if acknowledged.position == 0 && acknowledged.hash != shared.genesis {
        return Err(Error::head(
            &head_path,
            "names another genesis hash than this origin's",
        ));
    }
    Ok(Head {
        position: end,
        hash: last_hash,
    })
}

/// Adds a batch's entries to the indexes. Returns the memtables to write as a run when one is
/// due; the caller writes it (in the background while serving, in line while opening).
fn write_indexes(shared: &Shared, records: &[Committed]) -> Option<FrozenRun> {
    let mut index = shared.index.write().expect("index lock");
    for committed in records {
        let record = &committed.record;
        index.add(
            committed.position,
            &record.event_id,
            &record.stream,
            record.stream_version,
        );
    }
    index.freeze()
}

/// Writes index runs handed over by the writer, off the acknowledgement path, and installs
/// them. A failure stops the writer: sled can no longer be trusted to write.
fn write_runs(shared: Arc<Shared>, frozen_runs: std::sync::mpsc::Receiver<FrozenRun>) {
    // Merges run on this thread too: first those due when the ledger opened (runs written
    // before merging existed), then after each new run. A merge reads and writes without the
    // index's lock; lookups use the base runs meanwhile.
    let merge_all = || -> Result<(), Error> {
        loop {
            let merge = shared.index.read().expect("index lock").merge_due();
            let Some(merge) = merge else {
                return Ok(());
            };
            let merged = merge.store()?;
            shared
                .index
                .write()
                .expect("index lock")
                .install_merge(merged);
        }
    };
    let mut result = merge_all();
    if result.is_ok() {
        for frozen in frozen_runs {
            result = frozen.store().and_then(|stored| {
                shared.index.write().expect("index lock").install(stored);
                merge_all()
            });
            if result.is_err() {
                break;
            }
        }
    }
    if let Err(error) = result {
        let reason = format!("writing an index run: {error}");
        tracing::error!(%reason, "ledger writer stopped");
        shared
            .stopped
            .lock()
            .expect("stopped lock")
            .get_or_insert(reason);
    }
}

/// Feeds the indexes the records after the last stored run (their memtables live in memory
/// only).
fn catch_up_indexes(shared: &Shared, end: u64) -> Result<(), Error> {
    let indexed = shared.index.read().expect("index lock").position();
    if indexed > end {
        return Err(Error::corrupt(
            end + 1,
            format!("the indexes cover position {indexed} but the log ends at {end}"),
        ));
    }
    let mut position = indexed + 1;
    while position <= end {
        let records = read::range(shared, end, position, CATCH_UP_RECORDS)?;
        if let Some(frozen) = write_indexes(shared, &records) {
            let stored = frozen.store()?;
            shared.index.write().expect("index lock").install(stored);
        }
        position += records.len() as u64;
    }
    Ok(())
}

fn catch_up_observers(
    shared: &Shared,
    end: u64,
    observers: &mut [Box<dyn Observer>],
) -> Result<(), Error> {
    for observer in observers.iter_mut() {
        let Some(applied) = observer.applied_position() else {
            continue;
        };
        if applied > end {
            return Err(Error::new(ErrorKind::Observer {
                name: observer.name().to_string(),
                reason: format!("has applied position {applied}, past the end of the log {end}"),
            }));
        }
        let mut position = applied + 1;
        while position <= end {
            let records = read::range(shared, end, position, CATCH_UP_RECORDS)?;
            observer.apply(&records).map_err(|error| {
                Error::new(ErrorKind::Observer {
                    name: observer.name().to_string(),
                    reason: error.to_string(),
                })
            })?;
            position += records.len() as u64;
        }
    }
    Ok(())
}

/// What became of one request in a batch.
enum Outcome {
    /// Appended as the record at this index of the batch.
    New(usize),
    /// The same event id was acknowledged before: its original result.
    Duplicate(Appended),
}

struct Writer {
    shared: Arc<Shared>,
    receiver: mpsc::Receiver<Job>,
    observers: Vec<Box<dyn Observer>>,
    next_position: u64,
    last_hash: Hash,
    last_recorded_at_us: i64,
    /// Current version of recently written streams (a cache of the stream index).
    versions: HashMap<String, u64>,
    options: LedgerOptions,
    /// Hands sealed batches to the syncer thread (flush, head file, acknowledgement), so the
    /// next batch is decided, encoded and inserted while the previous one is being flushed.
    syncer: Option<std::sync::mpsc::SyncSender<Sealed>>,
    syncer_thread: Option<std::thread::JoinHandle<()>>,
    /// The head-file stage after the syncer; it ends once the syncer has.
    head_thread: Option<std::thread::JoinHandle<()>>,
    /// Hands full memtables to the thread that writes them as index runs.
    runs: Option<std::sync::mpsc::Sender<FrozenRun>>,
    runs_thread: Option<std::thread::JoinHandle<()>>,
    /// The batch value being built, kept between batches.
    value_buffer: Vec<u8>,
    /// How far the observers have applied the log; the head writer waits on it.
    observed: Arc<Observed>,
}

/// The batch value buffer is kept between batches up to this capacity (a batch of 64
/// typical records is about 36 KiB; an import batch may be a few MiB).
const VALUE_BUFFER_KEPT_BYTES: usize = 4 * 1024 * 1024;

/// A batch inserted into sled, waiting for its flush and acknowledgement.
struct Sealed {
    /// The head after this batch (`None` when it appended nothing new, only duplicates).
    head: Option<Head>,
    /// Each request's reply and results.
    answers: Vec<(Reply, Vec<Appended>)>,
}

/// Makes sealed batches durable in sled (flush, fdatasync of sled's data file), in order,
/// and hands each group on to the [`HeadWriter`].
struct Syncer {
    shared: Arc<Shared>,
    sled_file: SledFile,
    /// The head-file stage; it answers.
    durable: std::sync::mpsc::SyncSender<Durable>,
}

/// A group of batches whose records are durable in sled (or that failed on the way).
struct Durable {
    /// The head after the group; `None` when it appended nothing new.
    head: Option<Head>,
    /// Each request's reply and results, in order.
    answers: Vec<(Reply, Vec<Appended>)>,
    /// Why the group could not be made durable: its requests get this error.
    failure: Option<Error>,
}

/// The error requests get once the writer has stopped (or is closing).
fn stopped_error(shared: &Shared) -> Error {
    // Also called while a panicking writer unwinds: a poisoned lock must not panic again.
    let reason = shared
        .stopped
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
        .unwrap_or_else(|| "the ledger is closing".into());
    Error::new(ErrorKind::Stopped { reason })
}

/// Records why the writer stopped (the first reason stays) and returns the error every later
/// request gets.
fn stop(shared: &Shared, error: &Error) -> Error {
    let reason = error.to_string();
    tracing::error!(%reason, "ledger writer stopped");
    let reason = shared
        .stopped
        .lock()
        .expect("stopped lock")
        .get_or_insert(reason)
        .clone();
    Error::new(ErrorKind::Stopped { reason })
}

/// Groups the head-file stage may lag behind the sled stage at most.
const DURABLE_GROUPS_MAX: usize = 64;

/// How far the observers have applied the log, shared by the writer (which runs them) and
/// the head writer (which answers only batches they have applied).
///
/// The writer hands a batch to the syncer first and runs the observers (projections, the
/// Merkle tree) while the syncer flushes it, so their work overlaps the flush and fdatasync
/// instead of adding to every append's latency. A request is still answered only once every
/// observer has applied its batch (a client reads its own writes), and the head readers see
/// is published only then.
struct Observed {
    state: Mutex<ObservedState>,
    changed: std::sync::Condvar,
}

struct ObservedState {
    /// Every observer has applied the log up to here.
    position: u64,
    /// Why the observers stopped (an observer failed, or the writer ended): batches beyond
    /// `position` are answered with it.
    failure: Option<Error>,
}

impl Observed {
    fn new(position: u64) -> Observed {
        Observed {
            state: Mutex::new(ObservedState {
                position,
                failure: None,
            }),
            changed: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ObservedState> {
        // The state is two plain fields, each written whole; a panic elsewhere leaves it
        // usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn applied(&self, position: u64) {
        let mut state = self.lock();
        state.position = state.position.max(position);
        drop(state);
        self.changed.notify_all();
    }

    fn fail(&self, error: Error) {
        let mut state = self.lock();
        state.failure.get_or_insert(error);
        drop(state);
        self.changed.notify_all();
    }

    /// Waits until the observers have applied `position`, or stopped before it.
    fn wait_for(&self, position: u64) -> Result<(), Error> {
        let mut state = self.lock();
        loop {
            if state.position >= position {
                return Ok(());
            }
            if let Some(error) = &state.failure {
                return Err(error.clone());
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Syncer {
    /// Takes every batch sealed so far and makes them durable in sled with one flush and one
    /// fdatasync. While it does, the writer keeps sealing the next ones (group commit), and
    /// the head writer writes the head file of the previous group: the two fdatasyncs of
    /// consecutive groups overlap, while each group's head file is still written only after
    /// its records are durable.
    fn run(mut self, sealed_batches: std::sync::mpsc::Receiver<Sealed>) {
        let mut failure: Option<Error> = None;
        while let Ok(first) = sealed_batches.recv() {
            let mut group = vec![first];
            while let Ok(next) = sealed_batches.try_recv() {
                group.push(next);
            }
            let head = group.iter().rev().find_map(|sealed| sealed.head);
            let answers: Vec<_> = group
                .into_iter()
                .flat_map(|sealed| sealed.answers)
                .collect();
            if failure.is_none() && head.is_some() {
                if let Err(error) = self.sync_sled() {
                    failure = Some(stop(&self.shared, &error));
                    let _ = self.durable.send(Durable {
                        head: None,
                        answers,
                        failure: Some(error),
                    });
                    continue;
                }
            }
            let durable = Durable {
                head,
                answers,
                failure: failure.clone(),
            };
            if self.durable.send(durable).is_err() {
                // The head writer ended (it failed): it has recorded why; nothing more can be
                // acknowledged, and dropping the replies fails their requests.
                return;
            }
        }
    }

    fn sync_sled(&mut self) -> Result<(), Error> {
        self.shared.db.flush()?;
        self.sled_file.sync()
    }
}

/// Writes the head file for groups already durable in sled, publishes the head, answers.
struct HeadWriter {
    shared: Arc<Shared>,
    head_file: head::HeadFile,
    observed: Arc<Observed>,
}

impl HeadWriter {
    /// Takes every group made durable so far, writes the head file once for the last of them,
    /// then publishes the head and answers every request, in order.
    fn run(mut self, durable_groups: std::sync::mpsc::Receiver<Durable>) {
        let mut failure: Option<Error> = None;
        while let Ok(first) = durable_groups.recv() {
            let mut groups = vec![first];
            while let Ok(next) = durable_groups.try_recv() {
                groups.push(next);
            }
            // Groups before a failed one are answered normally; the failed one and every
            // later one get its error.
            let sound = groups
                .iter()
                .position(|group| group.failure.is_some())
                .unwrap_or(groups.len());
            let head = groups[..sound].iter().rev().find_map(|group| group.head);
            if failure.is_none() {
                if let Some(head) = head {
                    // The head file may run ahead of what the observers have applied (it
                    // must never be behind what was acknowledged); the head readers see and
                    // the answers wait for them.
                    let written = self
                        .head_file
                        .write(&head)
                        .and_then(|()| self.observed.wait_for(head.position));
                    if let Err(error) = written {
                        failure = Some(stop(&self.shared, &error));
                        for (reply, _) in groups.into_iter().flat_map(|group| group.answers) {
                            let _ = reply.send(Err(error.clone()));
                        }
                        continue;
                    }
                    *self.shared.head.lock().expect("head lock") = head;
                }
            }
            // The sled stage marks the group that failed and every later one, so the sound
            // groups are a prefix.
            for group in groups {
                let error = failure.as_ref().or(group.failure.as_ref());
                for (reply, results) in group.answers {
                    let _ = reply.send(match error {
                        Some(error) => Err(error.clone()),
                        None => Ok(results),
                    });
                }
            }
        }
    }
}

/// sled's data file. sled's flush uses `sync_file_range`, which writes the data but persists
/// none of the metadata needed to read it back after a power loss: the file's size and the
/// blocks allocated for it (also inside the file, where sled's I/O threads may have left a
/// hole that a later buffer fills). An fdatasync after every flush commits exactly that, and
/// costs only a device flush when nothing was allocated.
struct SledFile {
    file: std::fs::File,
}

/// The data file inside sled's folder (sled 0.34 keeps its log in one file).
const SLED_DATA_FILE: &str = "db";

impl SledFile {
    fn open(dir: &Path) -> Result<SledFile, Error> {
        let file = std::fs::File::open(dir.join(crate::SLED_DIR_NAME).join(SLED_DATA_FILE))
            .map_err(|error| Error::io("opening sled's data file", error))?;
        let mut sled_file = SledFile { file };
        sled_file.sync()?;
        Ok(sled_file)
    }

    fn sync(&mut self) -> Result<(), Error> {
        self.file
            .sync_data()
            .map_err(|error| Error::io("syncing sled's data file", error))
    }
}

/// The records of the batch being built.
#[derive(Default)]
struct Pending {
    records: Vec<Committed>,
    /// Versions of streams written in this batch.
    versions: HashMap<String, u64>,
    /// Event ids of this batch → index into `records`.
    events: HashMap<[u8; 16], usize>,
}

fn now_us() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

fn validate(request: &AppendRequest) -> Result<(), Error> {
    let fields = [
        ("stream", &request.stream),
        ("kind", &request.kind),
        ("actor.role", &request.actor.role),
        ("actor.unit", &request.actor.unit),
        ("actor.user", &request.actor.user),
    ];
    for (name, value) in fields {
        if value.len() > FIELD_BYTES_MAX {
            return Err(Error::invalid(format!(
                "{name} is {} bytes, at most {FIELD_BYTES_MAX} allowed / 字段过长",
                value.len()
            )));
        }
    }
    if request.stream.is_empty() || request.kind.is_empty() {
        return Err(Error::invalid(
            "stream and kind must not be empty / 流与类型不能为空",
        ));
    }
    if request.payload.len() > PAYLOAD_BYTES_MAX {
        return Err(Error::invalid(format!(
            "payload is {} bytes, at most {PAYLOAD_BYTES_MAX} allowed / 内容过大",
            request.payload.len()
        )));
    }
    Ok(())
}

/// Whether a stored record is what `request` would have written.
fn same_content(record: &Record, request: &AppendRequest) -> bool {
    record.stream == request.stream
        && record.stream_version == request.expected_version + 1
        && record.actor == request.actor
        && record.kind == request.kind
        && record.schema_version == request.schema_version
        && record.payload == request.payload
}

fn appended(committed: &Committed, duplicate: bool) -> Appended {
    Appended {
        position: committed.position,
        hash: committed.hash,
        stream_version: committed.record.stream_version,
        recorded_at_us: committed.record.recorded_at_us,
        duplicate,
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A writer unwinding from a panic in an observer never reaches the end of `run`: the
        // head writer would wait for that batch for ever, and its requests with it.
        self.observed.fail(stopped_error(&self.shared));
    }
}

impl Writer {
    fn run(&mut self) {
        self.serve();
        // Every batch handed over has been observed unless the writer stopped; either way
        // nothing more will be, and the head writer must not wait for it. (`Drop` says so
        // too, for a writer that panicked.)
        self.observed.fail(stopped_error(&self.shared));
        // Dropping the sender lets the syncer finish the batches it holds, then end.
        self.syncer.take();
        if let Some(thread) = self.syncer_thread.take() {
            let _ = thread.join();
        }
        if let Some(thread) = self.head_thread.take() {
            let _ = thread.join();
        }
        self.runs.take();
        if let Some(thread) = self.runs_thread.take() {
            let _ = thread.join();
        }
    }

    fn serve(&mut self) {
        while let Some(first) = self.receiver.blocking_recv() {
            let payload_bytes = |job: &Job| -> usize {
                job.requests
                    .iter()
                    .map(|request| request.payload.len())
                    .sum()
            };
            let mut count = first.requests.len();
            let mut bytes = payload_bytes(&first);
            let mut jobs = vec![first];
            while count < self.options.batch_records_max && bytes < self.options.batch_bytes_max {
                match self.receiver.try_recv() {
                    Ok(job) => {
                        count += job.requests.len();
                        bytes += payload_bytes(&job);
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            let stopped = self.shared.stopped.lock().expect("stopped lock").clone();
            let result = match stopped {
                Some(reason) => Err(Error::new(ErrorKind::Stopped { reason })),
                None => self.commit(jobs),
            };
            if let Err(error) = result {
                let stopped = stop(&self.shared, &error);
                // Closing the queue fails every waiting and future submitter.
                self.receiver.close();
                while let Ok(job) = self.receiver.try_recv() {
                    let _ = job.reply.send(Err(stopped.clone()));
                }
                return;
            }
        }
    }

    /// The current version of a stream: this batch, then the cache, then the index.
    fn version(&self, pending: &Pending, stream: &str) -> Result<u64, Error> {
        if let Some(version) = pending.versions.get(stream) {
            return Ok(*version);
        }
        if let Some(version) = self.versions.get(stream) {
            return Ok(*version);
        }
        let latest = self
            .shared
            .index
            .read()
            .expect("index lock")
            .stream_latest(stream)?;
        Ok(latest.map_or(0, |(version, _)| version))
    }

    /// Decides one job against the batch so far; on success its records join `pending`.
    fn decide(
        &mut self,
        pending: &mut Pending,
        requests: Vec<AppendRequest>,
        given_times: Option<Vec<i64>>,
    ) -> Result<Vec<Outcome>, Error> {
        if let Some(times) = &given_times {
            check_given_times(times, requests.len(), self.last_recorded_at_us)?;
        }
        if requests.len() > self.options.batch_records_max {
            return Err(Error::invalid(format!(
                "{} requests in one atomic append, at most {} allowed / 一次追加过多",
                requests.len(),
                self.options.batch_records_max
            )));
        }
        for (index, request) in requests.iter().enumerate() {
            validate(request)?;
            if requests[..index]
                .iter()
                .any(|other| other.event_id == request.event_id)
            {
                return Err(Error::new(ErrorKind::DuplicateInBatch {
                    event_id: request.event_id,
                }));
            }
        }
        let mark = pending.records.len();
        let mut job_versions: HashMap<&str, u64> = HashMap::new();
        let mut outcomes = Vec::with_capacity(requests.len());
        for request in &requests {
            let id = *request.event_id.as_bytes();
            if let Some(&index) = pending.events.get(&id) {
                if same_content(&pending.records[index].record, request) {
                    outcomes.push(Outcome::New(index));
                    continue;
                }
                return Err(Error::new(ErrorKind::DuplicateMismatch {
                    event_id: request.event_id,
                }));
            }
            let known = self.shared.index.read().expect("index lock").event(&id)?;
            if let Some(position) = known {
                let original = read::at(&self.shared, u64::MAX, position)?;
                if same_content(&original.record, request) {
                    outcomes.push(Outcome::Duplicate(appended(&original, true)));
                    continue;
                }
                return Err(Error::new(ErrorKind::DuplicateMismatch {
                    event_id: request.event_id,
                }));
            }
            let actual = match job_versions.get(request.stream.as_str()) {
                Some(version) => *version,
                None => self.version(pending, &request.stream)?,
            };
            if actual != request.expected_version {
                return Err(Error::new(ErrorKind::Conflict {
                    stream: request.stream.clone(),
                    expected: request.expected_version,
                    actual,
                }));
            }
            job_versions.insert(&request.stream, actual + 1);
            outcomes.push(Outcome::New(usize::MAX));
        }
        // Everything checked: now the records of this job are built and chained.
        let mut built = mark;
        // The requests are consumed: their strings and payload move into the records.
        for (index, (request, outcome)) in requests.into_iter().zip(outcomes.iter_mut()).enumerate()
        {
            if !matches!(outcome, Outcome::New(usize::MAX)) {
                continue;
            }
            let recorded_at_us = match &given_times {
                Some(times) => times[index],
                None => now_us().max(self.last_recorded_at_us),
            };
            let record = Record {
                format: RECORD_FORMAT,
                position: self.next_position,
                prev_hash: self.last_hash,
                recorded_at_us,
                stream: request.stream,
                stream_version: request.expected_version + 1,
                event_id: *request.event_id.as_bytes(),
                actor: request.actor,
                kind: request.kind,
                schema_version: request.schema_version,
                payload: request.payload,
            };
            let bytes = record.encode();
            let hash = record_hash(&bytes);
            self.next_position += 1;
            self.last_hash = hash;
            self.last_recorded_at_us = recorded_at_us;
            pending
                .versions
                .insert(record.stream.clone(), record.stream_version);
            pending.events.insert(record.event_id, built);
            pending.records.push(Committed {
                position: record.position,
                hash,
                bytes: Arc::from(bytes),
                record,
            });
            *outcome = Outcome::New(built);
            built += 1;
        }
        Ok(outcomes)
    }

    /// Commits one batch of jobs. An error returned here stops the writer; errors of single
    /// jobs (conflicts, invalid requests) are answered and do not.
    fn commit(&mut self, jobs: Vec<Job>) -> Result<(), Error> {
        let mut pending = Pending::default();
        let mut decided = Vec::with_capacity(jobs.len());
        for job in jobs {
            // A job that fails leaves `pending` and the chain state as they were.
            let saved = (self.next_position, self.last_hash, self.last_recorded_at_us);
            match self.decide(&mut pending, job.requests, job.recorded_at_us) {
                Ok(outcomes) => decided.push((job.reply, outcomes)),
                Err(error) => {
                    (self.next_position, self.last_hash, self.last_recorded_at_us) = saved;
                    if matches!(
                        error.kind(),
                        ErrorKind::Io { .. } | ErrorKind::Corrupt { .. }
                    ) {
                        let _ = job.reply.send(Err(error.clone()));
                        return Err(error);
                    }
                    let _ = job.reply.send(Err(error));
                }
            }
        }
        if let Err(error) = self.insert(&pending) {
            for (reply, _) in decided {
                let _ = reply.send(Err(error.clone()));
            }
            return Err(error);
        }
        let answers = decided
            .into_iter()
            .map(|(reply, outcomes)| {
                let results = outcomes
                    .into_iter()
                    .map(|outcome| match outcome {
                        Outcome::New(index) => appended(&pending.records[index], false),
                        Outcome::Duplicate(original) => original,
                    })
                    .collect();
                (reply, results)
            })
            .collect();
        let head = pending.records.last().map(|last| Head {
            position: last.position,
            hash: last.hash,
        });
        let syncer = self
            .syncer
            .as_ref()
            .expect("the syncer lives as long as the writer");
        if syncer.send(Sealed { head, answers }).is_err() {
            return Err(Error::io(
                "handing a batch to the syncer",
                "the syncer thread ended",
            ));
        }
        // While the syncer flushes the batch; its requests are answered once this is done.
        if let Err(error) = self.observe(&pending) {
            self.observed.fail(error.clone());
            return Err(error);
        }
        if let Some(head) = head {
            self.observed.applied(head.position);
        }
        if self.versions.len() + pending.versions.len() > self.options.stream_cache_entries_max {
            self.versions.clear();
        }
        self.versions.extend(pending.versions);
        Ok(())
    }

    /// Inserts the batch's value and adds its index entries. The syncer flushes; the
    /// observers run next ([`Writer::observe`]); the head writer acknowledges.
    fn insert(&mut self, pending: &Pending) -> Result<(), Error> {
        let Some(first) = pending.records.first() else {
            return Ok(());
        };
        // One buffer for every batch value: sled copies the value into its own allocation,
        // so a fresh vector per batch would only add an allocation and page faults.
        let value = &mut self.value_buffer;
        value.clear();
        for committed in &pending.records {
            frame::push(value, &committed.bytes);
        }
        self.shared
            .log
            .insert(frame::key(first.position), value.as_slice())?;
        if value.capacity() > VALUE_BUFFER_KEPT_BYTES {
            *value = Vec::new();
        }
        if let Some(frozen) = write_indexes(&self.shared, &pending.records) {
            let runs = self
                .runs
                .as_ref()
                .expect("the run writer lives as long as the writer");
            if runs.send(frozen).is_err() {
                return Err(Error::io(
                    "handing an index run over",
                    "the run writer thread ended",
                ));
            }
        }
        Ok(())
    }

    /// Runs the observers over the batch's records.
    fn observe(&mut self, pending: &Pending) -> Result<(), Error> {
        if pending.records.is_empty() {
            return Ok(());
        }
        for observer in self.observers.iter_mut() {
            observer.apply(&pending.records).map_err(|error| {
                Error::new(ErrorKind::Observer {
                    name: observer.name().to_string(),
                    reason: error.to_string(),
                })
            })?;
        }
        Ok(())
    }
}
