//! Full verification: every record re-hashed and linked, positions gapless, stream versions
//! contiguous, and both indexes holding exactly one entry per record, pointing at it.
//!
//! The index check is a multiset digest: while walking the log, the entries the indexes must
//! hold are summed into a 128-bit digest (two 64-bit SipHash sums); the index trees are then
//! scanned in key order and summed the same way. Equal digests and counts mean the indexes
//! agree with the log, at the cost of one sequential scan per index instead of one random read
//! per record. Only when they differ are the records checked one by one, to name the first
//! position whose entries are wrong.

use std::collections::HashMap;
use std::hash::Hasher;

use caseledger_record::{record_hash, Hash};

use crate::error::Error;
use crate::head::Head;
use crate::index::{Kind, Snapshot};
use crate::{frame, keys, read, scan, Shared};

/// The outcome of a full verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Whether everything checked out.
    pub ok: bool,
    /// Records checked (up to the acknowledged head).
    pub records: u64,
    /// The acknowledged head's hash.
    pub head_hash: Hash,
    /// The first broken position, when not ok.
    pub broken_at: Option<u64>,
    /// What is broken there, when not ok (Chinese and English).
    pub reason: Option<String>,
}

/// A multiset digest: a count and a wrapping sum of one 64-bit SipHash per entry, taken over
/// the entry's key bytes and its position. Accidental disagreement goes unnoticed with
/// probability about 2^-64; deliberate index edits are out of its scope (the chain is what
/// proves records; the indexes only find them).
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Digest {
    count: u64,
    sum: u64,
}

impl Digest {
    /// Adds an entry whose key is the concatenation of `pieces`.
    fn add(&mut self, pieces: &[&[u8]], position: u64) {
        let mut hasher = std::hash::DefaultHasher::new();
        for piece in pieces {
            hasher.write(piece);
        }
        hasher.write(&position.to_be_bytes());
        self.count += 1;
        self.sum = self.sum.wrapping_add(hasher.finish());
    }

    /// Adds another digest's entries (the sum does not depend on the order).
    fn merge(&mut self, other: Digest) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
    }
}

fn broken(head: &Head, records: u64, position: u64, reason: impl Into<String>) -> VerifyReport {
    VerifyReport {
        ok: false,
        records,
        head_hash: head.hash,
        broken_at: Some(position),
        reason: Some(reason.into()),
    }
}

pub(crate) fn run(
    shared: &Shared,
    head: Head,
    progress: impl FnMut(u64, u64),
) -> Result<VerifyReport, Error> {
    let total = head.position;
    // The index side is summed on a second thread while this one walks the chain.
    let snapshot = shared.index.read().expect("index lock").snapshot();
    let (chain, indexes) = std::thread::scope(|scope| {
        let indexes = scope.spawn(|| index_digests(&snapshot, total));
        let chain = walk_chain(shared, &head, progress);
        (chain, indexes.join())
    });
    let walked = match chain? {
        Ok(walked) => walked,
        Err(report) => return Ok(report),
    };
    let (actual_events, actual_streams) =
        indexes.map_err(|_| Error::io("verify", "the index thread panicked"))??;
    if actual_events != walked.events || actual_streams != walked.streams {
        let position = first_bad_index_entry(shared, &snapshot, total)?;
        return Ok(broken(
            &head,
            total,
            position,
            "索引与日志不符 / the indexes disagree with the log",
        ));
    }
    Ok(VerifyReport {
        ok: true,
        records: total,
        head_hash: head.hash,
        broken_at: None,
        reason: None,
    })
}

/// What a sound chain walk yields: the digests the indexes must match.
struct Walked {
    events: Digest,
    streams: Digest,
}

/// Walks the log up to the head. `Ok(Err(report))` when it is broken.
fn walk_chain(
    shared: &Shared,
    head: &Head,
    progress: impl FnMut(u64, u64),
) -> Result<Result<Walked, VerifyReport>, Error> {
    // Everything about a record but its place in the order is checked by checking threads
    // (one per core, up to four): splitting the batch, hashing, decoding, its position, the
    // links inside the batch, and the index digests (sums, which need no order). One thread
    // reads the log (one sled iterator: several would each pull the log through sled's
    // cache) and deals the batches round-robin; the walk takes the checked batches back
    // round-robin, so in log order, and checks what needs the order: the link between
    // batches and each stream's versions.
    let workers = std::thread::available_parallelism()
        .map_or(1, |cores| cores.get())
        .clamp(1, CHECKING_THREADS_MAX);
    let mut inputs = Vec::with_capacity(workers);
    let mut outputs = Vec::with_capacity(workers);
    std::thread::scope(|scope| {
        let mut digests = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (input, batches) = std::sync::mpsc::sync_channel(CHECKED_BATCHES_AHEAD);
            let (checked, output) = std::sync::mpsc::sync_channel(CHECKED_BATCHES_AHEAD);
            inputs.push(input);
            outputs.push(output);
            let total = head.position;
            digests.push(
                std::thread::Builder::new()
                    .name("verify-check".into())
                    .spawn_scoped(scope, move || check_batches(total, batches, checked))
                    .map_err(|error| Error::io("starting a checking thread", error))?,
            );
        }
        std::thread::Builder::new()
            .name("verify-read".into())
            .spawn_scoped(scope, move || read_batches(shared, head.position, inputs))
            .map_err(|error| Error::io("starting the log reading thread", error))?;
        let walked = walk_checked(shared, head, progress, outputs);
        let mut events = Digest::default();
        let mut streams = Digest::default();
        for worker in digests {
            let (worker_events, worker_streams) = worker
                .join()
                .map_err(|_| Error::io("verify", "a checking thread panicked"))?;
            events.merge(worker_events);
            streams.merge(worker_streams);
        }
        Ok(walked?.map(|()| Walked { events, streams }))
    })
}

/// Batches each checking thread may hold and run ahead of the walk.
const CHECKED_BATCHES_AHEAD: usize = 64;

/// Checking threads at most.
const CHECKING_THREADS_MAX: usize = 4;

/// A batch as read from the log tree.
type LogItem = sled::Result<(sled::IVec, sled::IVec)>;

/// Deals the log's batches up to the head round-robin to the checking threads. Stops after
/// an error (the walk reports it) or once the walk has ended.
fn read_batches(shared: &Shared, head: u64, inputs: Vec<std::sync::mpsc::SyncSender<LogItem>>) {
    for (batch, item) in shared.log.iter().enumerate() {
        // A batch starting past the head is not walked; after a damaged key or a read
        // error the walk stops there.
        let last = match &item {
            Ok((key, _)) => {
                read::let_cache_evict(shared, key);
                match frame::position_of_key(key) {
                    Ok(first) if first > head => return,
                    Ok(_) => false,
                    Err(_) => true,
                }
            }
            Err(_) => true,
        };
        if inputs[batch % inputs.len()].send(item).is_err() || last {
            return;
        }
    }
}

/// What a checking thread found in one batch, for the walk.
enum Checked {
    /// The batch could not be read; the walk reports it.
    Unreadable(Error),
    /// The batch's key is damaged; the walk reports it at the position it expected.
    BadKey(String),
    Batch(BatchChecks),
}

/// A batch's records as far as they are sound on their own, and what the walk must still
/// check in order.
struct BatchChecks {
    /// The position of the batch's first record (its key).
    first: u64,
    /// The value, which `streams` points into.
    value: sled::IVec,
    /// The first record's previous hash, when it decoded.
    first_prev_hash: Option<Hash>,
    /// The hash of the last sound record.
    last_hash: Option<Hash>,
    /// Each sound record's stream (its [`stream_id`] and a byte range of `value`, for the
    /// report) and stream version, in order.
    streams: Vec<(u128, std::ops::Range<usize>, u64)>,
    /// The first record that is not sound on its own: its position and why.
    failure: Option<(u64, String)>,
}

/// Checks every record of each batch it is given that is not sound on its own, and sums the
/// index digests of the sound ones up to the head.
fn check_batches(
    head: u64,
    batches: std::sync::mpsc::Receiver<LogItem>,
    checked: std::sync::mpsc::SyncSender<Checked>,
) -> (Digest, Digest) {
    let mut events = Digest::default();
    let mut streams = Digest::default();
    for item in batches {
        let result = match item {
            Err(error) => Checked::Unreadable(error.into()),
            Ok((key, value)) => match frame::position_of_key(&key) {
                Err(error) => Checked::BadKey(error.to_string()),
                Ok(first) => {
                    Checked::Batch(check_batch(head, first, value, &mut events, &mut streams))
                }
            },
        };
        if checked.send(result).is_err() {
            break;
        }
    }
    (events, streams)
}

fn check_batch(
    head: u64,
    first: u64,
    value: sled::IVec,
    events: &mut Digest,
    stream_digest: &mut Digest,
) -> BatchChecks {
    let mut checks = BatchChecks {
        first,
        value: value.clone(),
        first_prev_hash: None,
        last_hash: None,
        streams: Vec::new(),
        failure: None,
    };
    let records = match frame::split(first, &value) {
        Ok(records) => records,
        Err(error) => {
            checks.failure = Some((error.position().unwrap_or(first), error.to_string()));
            return checks;
        }
    };
    checks.streams.reserve(records.len());
    let base = value.as_ptr() as usize;
    for (index, bytes) in records.into_iter().enumerate() {
        let position = first + index as u64;
        if position > head {
            break;
        }
        let view = match scan::view(bytes) {
            Ok(view) => view,
            Err(reason) => {
                checks.failure = Some((
                    position,
                    format!("记录无法解码 / record does not decode: {reason}"),
                ));
                break;
            }
        };
        if view.position != position {
            checks.failure = Some((
                position,
                format!(
                    "记录位置不符 / record says it is position {}",
                    view.position
                ),
            ));
            break;
        }
        match checks.last_hash {
            None => checks.first_prev_hash = Some(Hash(*view.prev_hash)),
            Some(previous) if view.prev_hash != &previous.0 => {
                checks.failure = Some((position, broken_link(view.prev_hash, &previous, position)));
                break;
            }
            Some(_) => {}
        }
        events.add(&[view.event_id], position);
        let length = (view.stream.len() as u16).to_be_bytes();
        stream_digest.add(
            &[
                &length,
                view.stream.as_bytes(),
                &view.stream_version.to_be_bytes(),
            ],
            position,
        );
        let start = view.stream.as_ptr() as usize - base;
        checks.streams.push((
            stream_id(view.stream),
            start..start + view.stream.len(),
            view.stream_version,
        ));
        checks.last_hash = Some(record_hash(bytes));
    }
    checks
}

/// A stream's name as 128 bits of its blake3 hash: the walk keeps one version per stream, and
/// at 12.5 million records (1.5 million streams) the names themselves cost about 150 MB of
/// the walk's memory, the hashes a third of that. Two streams sharing an id would take 2^64
/// work to find; a chance one is about 2^-88 at that size.
fn stream_id(stream: &str) -> u128 {
    let hash = blake3::hash(stream.as_bytes());
    u128::from_le_bytes(hash.as_bytes()[..16].try_into().expect("16 bytes"))
}

fn broken_link(found: &[u8; 32], expected: &Hash, position: u64) -> String {
    format!(
        "链断裂 / previous hash {} does not match {expected} (record {} or this one was altered)",
        hex::encode(found),
        position - 1
    )
}

fn walk_checked(
    shared: &Shared,
    head: &Head,
    mut progress: impl FnMut(u64, u64),
    checked: Vec<std::sync::mpsc::Receiver<Checked>>,
) -> Result<Result<(), VerifyReport>, Error> {
    let total = head.position;
    let mut next = 1u64;
    let mut prev_hash = shared.genesis;
    let mut versions: HashMap<u128, u64> = HashMap::new();
    progress(0, total);
    // The checking threads end once the reader has; then so does the walk.
    let batches = (0..).map_while(|batch: usize| checked[batch % checked.len()].recv().ok());
    for item in batches {
        if next > total {
            break;
        }
        let checks = match item {
            Checked::Unreadable(error) => return Err(error),
            Checked::BadKey(reason) => return Ok(Err(broken(head, next - 1, next, reason))),
            Checked::Batch(checks) => checks,
        };
        if checks.first != next {
            let why = if checks.first > next {
                "gap before batch"
            } else {
                "batches overlap"
            };
            return Ok(Err(broken(
                head,
                next - 1,
                next,
                format!("缺失或重叠 / {why} starting at {}", checks.first),
            )));
        }
        if let Some(found) = checks.first_prev_hash {
            if found != prev_hash {
                return Ok(Err(broken(
                    head,
                    next - 1,
                    next,
                    broken_link(&found.0, &prev_hash, next),
                )));
            }
        }
        for (id, range, version) in &checks.streams {
            let position = next;
            let previous = versions.insert(*id, *version).unwrap_or(0);
            if *version != previous + 1 {
                let stream = String::from_utf8_lossy(&checks.value[range.clone()]);
                return Ok(Err(broken(
                    head,
                    position - 1,
                    position,
                    format!(
                        "流版本不连续 / stream {stream} jumps from version {previous} to {version}"
                    ),
                )));
            }
            next += 1;
        }
        if let Some(last) = checks.last_hash {
            prev_hash = last;
        }
        if let Some((position, reason)) = checks.failure {
            return Ok(Err(broken(head, position - 1, position, reason)));
        }
        progress(next - 1, total);
    }
    let checked = next - 1;
    if checked < total {
        return Ok(Err(broken(
            head,
            checked,
            checked + 1,
            "记录缺失 / the log ends before the acknowledged head",
        )));
    }
    if prev_hash != head.hash {
        return Ok(Err(broken(
            head,
            checked,
            total,
            "末条哈希与头文件不符 / the last hash differs from the head",
        )));
    }
    progress(total, total);
    Ok(Ok(()))
}

/// Sums every index entry that points at most at the head (entries past it belong to a
/// batch being written right now).
fn index_digests(snapshot: &Snapshot, head: u64) -> Result<(Digest, Digest), Error> {
    let mut events = Digest::default();
    let mut streams = Digest::default();
    snapshot.for_each_entry(|kind, key, position| {
        if position <= head {
            match kind {
                Kind::Events => events.add(&[key], position),
                Kind::Streams => streams.add(&[key], position),
            }
        }
    })?;
    Ok((events, streams))
}

/// The slow path: names the first position whose index entries are wrong or missing, or that
/// an index entry wrongly points at.
fn first_bad_index_entry(shared: &Shared, snapshot: &Snapshot, head: u64) -> Result<u64, Error> {
    let mut worst = u64::MAX;
    let mut position = 1;
    'records: while position <= head {
        let records = read::range(shared, head, position, 4096)?;
        let index = shared.index.read().expect("index lock");
        for stored in &records {
            let record = &stored.record;
            let event = index.event(&record.event_id)?;
            let stream = index.stream_entry(&record.stream, record.stream_version)?;
            if event != Some(stored.position) || stream != Some(stored.position) {
                worst = stored.position;
                break 'records;
            }
        }
        if records.is_empty() {
            break;
        }
        position += records.len() as u64;
    }
    // Entries pointing at a record that is not theirs (or nowhere).
    let mut targets = Vec::new();
    snapshot.for_each_entry(|kind, key, target| {
        if target <= head {
            targets.push((kind, key.to_vec(), target));
        }
    })?;
    for (kind, key, target) in targets {
        if target >= worst {
            continue;
        }
        let fits = target >= 1
            && match read::at(shared, head, target) {
                Ok(stored) => {
                    let record = &stored.record;
                    match kind {
                        Kind::Events => key == record.event_id,
                        Kind::Streams => {
                            key == keys::stream_key(&record.stream, record.stream_version)
                        }
                    }
                }
                Err(_) => false,
            };
        if !fits {
            worst = target.max(1);
        }
    }
    Ok(if worst == u64::MAX { 1 } else { worst })
}
