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
    // Hashing is the largest cost of the walk and needs no order. One thread reads the log
    // (one sled iterator: several would each pull the log through sled's cache) and deals
    // the batches round-robin to hashing threads (one per core, up to four); the walk takes
    // the hashed batches back round-robin, so in log order, and checks the links with them.
    let workers = std::thread::available_parallelism()
        .map_or(1, |cores| cores.get())
        .clamp(1, HASHING_THREADS_MAX);
    let mut inputs = Vec::with_capacity(workers);
    let mut outputs = Vec::with_capacity(workers);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (input, batches) = std::sync::mpsc::sync_channel(HASHED_BATCHES_AHEAD);
            let (hashed, output) = std::sync::mpsc::sync_channel(HASHED_BATCHES_AHEAD);
            inputs.push(input);
            outputs.push(output);
            scope.spawn(move || hash_batches(batches, hashed));
        }
        scope.spawn(move || read_batches(shared, head.position, inputs));
        walk_with_hashes(shared, head, progress, outputs)
    })
}

/// Batches each hashing thread may hold and run ahead of the walk.
const HASHED_BATCHES_AHEAD: usize = 64;

/// Hashing threads at most.
const HASHING_THREADS_MAX: usize = 4;

/// A batch as read from the log tree.
type LogItem = sled::Result<(sled::IVec, sled::IVec)>;

/// A batch and its records' hashes; `None` when it could not be split (the walk reports it).
type HashedItem = (LogItem, Option<Vec<Hash>>);

/// Deals the log's batches up to the head round-robin to the hashing threads. Stops after
/// an error (the walk reports it) or once the walk has ended.
fn read_batches(shared: &Shared, head: u64, inputs: Vec<std::sync::mpsc::SyncSender<LogItem>>) {
    for (batch, item) in shared.log.iter().enumerate() {
        // A batch starting past the head is not walked; after a damaged key or a read
        // error the walk stops there.
        let last = match &item {
            Ok((key, _)) => match frame::position_of_key(key) {
                Ok(first) if first > head => return,
                Ok(_) => false,
                Err(_) => true,
            },
            Err(_) => true,
        };
        if inputs[batch % inputs.len()].send(item).is_err() || last {
            return;
        }
    }
}

/// Hashes the records of each batch it is given, in order.
fn hash_batches(
    batches: std::sync::mpsc::Receiver<LogItem>,
    hashed: std::sync::mpsc::SyncSender<HashedItem>,
) {
    for item in batches {
        let hashes = match &item {
            Ok((key, value)) => frame::position_of_key(key)
                .and_then(|first| frame::split(first, value))
                .ok()
                .map(|records| records.iter().map(|bytes| record_hash(bytes)).collect()),
            Err(_) => None,
        };
        if hashed.send((item, hashes)).is_err() {
            return;
        }
    }
}

fn walk_with_hashes(
    shared: &Shared,
    head: &Head,
    mut progress: impl FnMut(u64, u64),
    hashed: Vec<std::sync::mpsc::Receiver<HashedItem>>,
) -> Result<Result<Walked, VerifyReport>, Error> {
    let total = head.position;
    let mut next = 1u64;
    let mut prev_hash = shared.genesis;
    let mut versions: HashMap<Box<str>, u64> = HashMap::new();
    let mut events = Digest::default();
    let mut streams = Digest::default();
    progress(0, total);
    // The hashing threads end once the reader has; then so does the walk.
    let batches = (0..).map_while(|batch: usize| hashed[batch % hashed.len()].recv().ok());
    'batches: for (item, hashes) in batches {
        if next > total {
            break;
        }
        let (key, value) = item?;
        let first = match frame::position_of_key(&key) {
            Ok(first) => first,
            Err(error) => return Ok(Err(broken(head, next - 1, next, error.to_string()))),
        };
        if first != next {
            let why = if first > next {
                "gap before batch"
            } else {
                "batches overlap"
            };
            return Ok(Err(broken(
                head,
                next - 1,
                next,
                format!("缺失或重叠 / {why} starting at {first}"),
            )));
        }
        let records = match frame::split(first, &value) {
            Ok(records) => records,
            Err(error) => {
                return Ok(Err(broken(
                    head,
                    next - 1,
                    error.position().unwrap_or(next),
                    error.to_string(),
                )))
            }
        };
        // Hashed by a hashing thread from these very bytes; should that have failed, here.
        let hashes = hashes
            .filter(|hashes| hashes.len() == records.len())
            .unwrap_or_else(|| records.iter().map(|bytes| record_hash(bytes)).collect());
        for (bytes, hash) in records.into_iter().zip(hashes) {
            let position = next;
            if position > total {
                break 'batches;
            }
            let fail = |reason: String| Ok(Err(broken(head, position - 1, position, reason)));
            let view = match scan::view(bytes) {
                Ok(view) => view,
                Err(reason) => {
                    return fail(format!("记录无法解码 / record does not decode: {reason}"))
                }
            };
            if view.position != position {
                return fail(format!(
                    "记录位置不符 / record says it is position {}",
                    view.position
                ));
            }
            if view.prev_hash != &prev_hash.0 {
                return fail(format!(
                    "链断裂 / previous hash {} does not match {prev_hash} (record {} or this one was altered)",
                    hex::encode(view.prev_hash),
                    position - 1
                ));
            }
            let previous = match versions.get_mut(view.stream) {
                Some(version) => std::mem::replace(version, view.stream_version),
                None => {
                    versions.insert(view.stream.into(), view.stream_version);
                    0
                }
            };
            if view.stream_version != previous + 1 {
                return fail(format!(
                    "流版本不连续 / stream {} jumps from version {previous} to {}",
                    view.stream, view.stream_version
                ));
            }
            events.add(&[view.event_id], position);
            let length = (view.stream.len() as u16).to_be_bytes();
            streams.add(
                &[
                    &length,
                    view.stream.as_bytes(),
                    &view.stream_version.to_be_bytes(),
                ],
                position,
            );
            prev_hash = hash;
            next += 1;
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
    Ok(Ok(Walked { events, streams }))
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
