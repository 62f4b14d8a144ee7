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
use std::hash::{BuildHasher, Hasher};

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
    // (one per core, up to four): reading its batch, splitting it, hashing, decoding, its
    // position, the links inside the batch, and the index digests (sums, which need no
    // order). The log is cut into groups of consecutive positions, dealt round-robin; each
    // thread reads its groups through a range of its own, so a batch is checked by the
    // thread (and on the core) that read it, and the reading, a quarter of the CPU, is
    // shared by the checking threads instead of loading one more thread. The walk takes the
    // checked groups back round-robin, so in log order, and checks what needs the order: the
    // link between batches and each stream's versions.
    let workers = std::thread::available_parallelism()
        .map_or(1, |cores| cores.get())
        .clamp(1, CHECKING_THREADS_MAX);
    let mut outputs = Vec::with_capacity(workers);
    let ids = StreamIds::new();
    let ids = &ids;
    std::thread::scope(|scope| {
        let mut digests = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (checked, output) = std::sync::mpsc::sync_channel(GROUPS_AHEAD);
            outputs.push(output);
            let total = head.position;
            digests.push(
                std::thread::Builder::new()
                    .name("verify-check".into())
                    .spawn_scoped(scope, move || {
                        check_groups(shared, ids, total, worker, workers, checked)
                    })
                    .map_err(|error| Error::io("starting a checking thread", error))?,
            );
        }
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

/// Checked groups each checking thread may run ahead of the walk.
const GROUPS_AHEAD: usize = 4;

/// Positions a group spans: the batches whose keys fall in them are read, checked, and sent
/// to the walk together. A message per batch cost a thread wake-up or two per 30 to 64
/// records (futexes and context switches, about 4% of a verification's CPU); a group of
/// 1,024 records (about 450 KiB) still fits a core's cache.
const GROUP_POSITIONS: u64 = 1024;

/// Checking threads at most.
const CHECKING_THREADS_MAX: usize = 4;

/// What a checking thread found in one group of batches, for the walk.
struct CheckedGroup {
    /// One for each batch of the group, in order.
    batches: Vec<Checked>,
    /// Each sound record's stream and version, of all the group's batches in order: the
    /// first `sound` of the first batch, then those of the next.
    streams: Vec<(StreamId, u64)>,
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
    /// The value, to name a stream in a report.
    value: sled::IVec,
    /// The first record's previous hash, when it decoded.
    first_prev_hash: Option<Hash>,
    /// The hash of the last sound record.
    last_hash: Option<Hash>,
    /// How many records, from the first, are sound on their own.
    sound: usize,
    /// The first record that is not sound on its own: its position and why.
    failure: Option<(u64, String)>,
}

/// Reads and checks the groups `worker`, `worker + workers`, … up to the head: every record
/// that is not sound on its own is named, and the index digests of the sound ones summed.
/// Stops after a read error or a damaged key (the walk reports it there), or once the walk
/// has ended.
fn check_groups(
    shared: &Shared,
    ids: &StreamIds,
    head: u64,
    worker: usize,
    workers: usize,
    checked: std::sync::mpsc::SyncSender<CheckedGroup>,
) -> (Digest, Digest) {
    let mut events = Digest::default();
    let mut streams = Digest::default();
    for group in (worker as u64..).step_by(workers) {
        let start = group.saturating_mul(GROUP_POSITIONS).saturating_add(1);
        if start > head {
            break;
        }
        // Batches whose keys fall in the group's positions. The first group starts at the
        // tree's first key, so a key below position 1 is seen (and named) too; the last ends
        // right after the head, so a batch starting past the head is not walked.
        let end = frame::key(
            start
                .saturating_add(GROUP_POSITIONS)
                .min(head.saturating_add(1)),
        );
        let batches = if group == 0 {
            shared.log.range(..end)
        } else {
            shared.log.range(frame::key(start)..end)
        };
        let mut out = CheckedGroup {
            batches: Vec::new(),
            streams: Vec::with_capacity(GROUP_POSITIONS as usize),
        };
        let mut last = false;
        for item in batches {
            let checks = match item {
                Err(error) => Checked::Unreadable(error.into()),
                Ok((key, value)) => {
                    read::let_cache_evict(shared, &key);
                    match frame::position_of_key(&key) {
                        Err(error) => Checked::BadKey(error.to_string()),
                        Ok(first) => Checked::Batch(check_batch(
                            ids,
                            head,
                            first,
                            value,
                            &mut events,
                            &mut streams,
                            &mut out.streams,
                        )),
                    }
                }
            };
            last = !matches!(checks, Checked::Batch(_));
            out.batches.push(checks);
            if last {
                break;
            }
        }
        if checked.send(out).is_err() || last {
            break;
        }
    }
    (events, streams)
}

fn check_batch(
    ids: &StreamIds,
    head: u64,
    first: u64,
    value: sled::IVec,
    events: &mut Digest,
    stream_digest: &mut Digest,
    streams: &mut Vec<(StreamId, u64)>,
) -> BatchChecks {
    let mut checks = BatchChecks {
        first,
        value: value.clone(),
        first_prev_hash: None,
        last_hash: None,
        sound: 0,
        failure: None,
    };
    if value.is_empty() {
        let error = Error::corrupt(first, "empty batch in the log");
        checks.failure = Some((first, error.to_string()));
        return checks;
    }
    // The records are sliced off one by one: no list of them is built.
    let mut rest: &[u8] = &value;
    let mut position = first;
    while !rest.is_empty() && position <= head {
        let length = match read::frame_length(position, rest) {
            Ok(length) => length,
            Err(error) => {
                checks.failure = Some((position, error.to_string()));
                break;
            }
        };
        let bytes = &rest[4..4 + length];
        rest = &rest[4 + length..];
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
            &[&length, view.stream, &view.stream_version.to_be_bytes()],
            position,
        );
        streams.push((ids.of(view.stream), view.stream_version));
        checks.last_hash = Some(record_hash(bytes));
        checks.sound += 1;
        position += 1;
    }
    checks
}

/// The stream of the record at `index` of a batch whose records up to it are sound.
fn stream_of(value: &[u8], first: u64, index: usize) -> String {
    let mut rest = value;
    for position in first.. {
        let Ok(length) = read::frame_length(position, rest) else {
            break;
        };
        if position - first == index as u64 {
            return match scan::view(&rest[4..4 + length]) {
                Ok(view) => String::from_utf8_lossy(view.stream).into_owned(),
                Err(_) => break,
            };
        }
        rest = &rest[4 + length..];
    }
    "?".to_owned()
}

/// A stream's name as 128 bits: the walk keeps one version per stream, and at 12.5 million
/// records (1.5 million streams) the names themselves cost about 150 MB of the walk's
/// memory, the ids a third of that. Two words rather than a `u128`, whose alignment of 16
/// would pad each entry of the walk's map from 24 bytes to 32.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct StreamId([u64; 2]);

/// Names streams by [`StreamId`]s: two SipHash-1-3 sums of the name (each after a different
/// first byte) under a key drawn at random for this verification. Two streams sharing an id
/// by chance is about 2^-88 at 1.5 million streams; names chosen to share one would have to
/// be chosen knowing a key that exists only while this verification runs. (A blake3 hash of
/// each name, as before, took about 90 ns a record on the development machine, these two
/// sums about 40.)
struct StreamIds {
    key: std::collections::hash_map::RandomState,
}

impl StreamIds {
    fn new() -> StreamIds {
        StreamIds {
            key: std::collections::hash_map::RandomState::new(),
        }
    }

    fn of(&self, stream: &[u8]) -> StreamId {
        let sum = |first: u8| {
            let mut hasher = self.key.build_hasher();
            hasher.write_u8(first);
            hasher.write(stream);
            hasher.finish()
        };
        StreamId([sum(1), sum(2)])
    }
}

impl std::hash::Hash for StreamId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u128(u128::from(self.0[0]) | (u128::from(self.0[1]) << 64));
    }
}

/// The walk's map from stream to its last version. The keys are already hashes, so the map
/// does not hash them again with SipHash (16 bytes for every record); it only folds both
/// words with two keys drawn for this verification, so that stream names chosen for ids
/// whose low bits agree cannot pile up in one place of the table.
type Versions = HashMap<StreamId, u64, StreamIdState>;

#[derive(Clone)]
struct StreamIdState {
    keys: [u64; 2],
}

impl StreamIdState {
    fn new() -> StreamIdState {
        let random = std::collections::hash_map::RandomState::new();
        StreamIdState {
            keys: [random.hash_one(1u8), random.hash_one(2u8)],
        }
    }
}

impl BuildHasher for StreamIdState {
    type Hasher = StreamIdHasher;

    fn build_hasher(&self) -> StreamIdHasher {
        StreamIdHasher {
            keys: self.keys,
            state: 0,
        }
    }
}

/// Hashes a [`StreamId`] to the folded product of its two words, each xored with a key:
/// the high half of the 128-bit product xor its low half.
struct StreamIdHasher {
    keys: [u64; 2],
    state: u64,
}

impl Hasher for StreamIdHasher {
    fn finish(&self) -> u64 {
        self.state
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only [`StreamId`]s are hashed here (by `write_u128`); other input is folded 16
        // bytes at a time all the same.
        for chunk in bytes.chunks(16) {
            let mut word = [0u8; 16];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u128(u128::from_le_bytes(word) ^ u128::from(self.state));
        }
    }

    fn write_u128(&mut self, words: u128) {
        let product = u128::from(words as u64 ^ self.keys[0])
            * u128::from((words >> 64) as u64 ^ self.keys[1]);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
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
    checked: Vec<std::sync::mpsc::Receiver<CheckedGroup>>,
) -> Result<Result<(), VerifyReport>, Error> {
    let total = head.position;
    let mut next = 1u64;
    let mut prev_hash = shared.genesis;
    let mut versions = Versions::with_hasher(StreamIdState::new());
    progress(0, total);
    // Each checking thread ends after its last group up to the head; then so does the walk.
    let groups = (0..).map_while(|turn: usize| checked[turn % checked.len()].recv().ok());
    'walk: for group in groups {
        let mut steps = group.streams.iter();
        for item in group.batches {
            if next > total {
                break 'walk;
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
            for &(id, version) in steps.by_ref().take(checks.sound) {
                let last = versions.entry(id).or_insert(0);
                if version != *last + 1 {
                    let previous = *last;
                    let stream =
                        stream_of(&checks.value, checks.first, (next - checks.first) as usize);
                    return Ok(Err(broken(
                        head,
                        next - 1,
                        next,
                        format!(
                            "流版本不连续 / stream {stream} jumps from version {previous} to {version}"
                        ),
                    )));
                }
                *last = version;
                next += 1;
            }
            if let Some(last) = checks.last_hash {
                prev_hash = last;
            }
            if let Some((position, reason)) = checks.failure {
                return Ok(Err(broken(head, position - 1, position, reason)));
            }
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

#[cfg(test)]
mod tests {
    use caseledger_record::{record_hash, Hash, Record};

    use super::{run, GROUP_POSITIONS};
    use crate::head::Head;
    use crate::testing::request;
    use crate::{frame, Ledger, LedgerOptions, VerifyReport};

    /// Records in the test ledger: three groups and a part, so every checking thread has
    /// groups and the walk takes them back from each.
    const RECORDS: u64 = 3 * GROUP_POSITIONS + 300;

    /// A ledger of [`RECORDS`] records in batches of 1 to 97 records, 13 streams interleaved
    /// inside and across batches.
    fn ledger(dir: &std::path::Path) -> Ledger {
        let ledger = Ledger::open(dir, LedgerOptions::new("caseledger.test/verify")).unwrap();
        let mut versions = [0u64; 13];
        let mut n = 0;
        let mut size = 1;
        while n < RECORDS {
            let requests = (0..size.min(RECORDS - n))
                .map(|_| {
                    n += 1;
                    let stream = (n * 7 % 13) as usize;
                    versions[stream] += 1;
                    request(&format!("case/{stream}"), versions[stream] - 1, n)
                })
                .collect();
            ledger.append_many_blocking(requests).unwrap();
            size = size * 5 % 97 + 1;
        }
        assert_eq!(ledger.head().position, RECORDS);
        ledger
    }

    /// Every batch of the log: its first position and its records' bytes.
    fn batches(ledger: &Ledger) -> Vec<(u64, Vec<Vec<u8>>)> {
        ledger
            .shared()
            .log
            .iter()
            .map(|item| {
                let (key, value) = item.unwrap();
                let first = frame::position_of_key(&key).unwrap();
                let records = frame::split(first, &value).unwrap();
                (first, records.into_iter().map(<[u8]>::to_vec).collect())
            })
            .collect()
    }

    /// The records of the batch that starts at `first`.
    fn batch_at(ledger: &Ledger, first: u64) -> Vec<Vec<u8>> {
        batches(ledger)
            .into_iter()
            .find(|(at, _)| *at == first)
            .map(|(_, records)| records)
            .expect("a batch starts there")
    }

    /// Replaces the batch stored at `first` with `records`, framed.
    fn store(ledger: &Ledger, first: u64, records: &[Vec<u8>]) {
        let mut value = Vec::new();
        for record in records {
            frame::push(&mut value, record);
        }
        store_value(ledger, first, value);
    }

    /// Replaces the stored value of the batch at `first` with `value` as it is.
    fn store_value(ledger: &Ledger, first: u64, value: Vec<u8>) {
        ledger
            .shared()
            .log
            .insert(frame::key(first), value)
            .unwrap();
    }

    /// The first position after `at` that is neither the first nor the last of its batch,
    /// and its batch's first position.
    fn inside_a_batch(ledger: &Ledger, at: u64) -> (u64, u64) {
        batches(ledger)
            .into_iter()
            .find(|(first, records)| *first > at && records.len() >= 3)
            .map(|(first, _)| (first + 1, first))
            .expect("a batch of three or more records")
    }

    /// Edits the record at `position` as a forger who knows the format would: it and every
    /// record after it re-chained, so only the record-level checks can notice. Returns the
    /// forged head.
    fn forge(ledger: &Ledger, position: u64, edit: impl Fn(&mut Record)) -> Head {
        let mut prev_hash: Option<Hash> = None;
        let mut last = Hash([0; 32]);
        for (first, mut records) in batches(ledger) {
            let changed = first + records.len() as u64 > position;
            for (index, bytes) in records.iter_mut().enumerate() {
                let at = first + index as u64;
                if at >= position {
                    let mut record = Record::decode(bytes).unwrap();
                    if let Some(previous) = prev_hash {
                        record.prev_hash = previous;
                    }
                    if at == position {
                        edit(&mut record);
                    }
                    *bytes = record.encode();
                    prev_hash = Some(record_hash(bytes));
                }
                last = record_hash(bytes);
            }
            if changed {
                store(ledger, first, &records);
            }
        }
        Head {
            position: RECORDS,
            hash: last,
        }
    }

    /// The records with one payload byte of record `index` changed.
    fn with_a_changed_byte(records: &[Vec<u8>], index: usize) -> Vec<Vec<u8>> {
        let mut records = records.to_vec();
        let end = records[index].len() - 3;
        records[index][end] ^= 1;
        records
    }

    fn verify(ledger: &Ledger, head: Head) -> VerifyReport {
        run(ledger.shared(), head, |_, _| {}).unwrap()
    }

    fn assert_broken(report: &VerifyReport, position: u64, words: &str) {
        assert!(!report.ok, "{report:?}");
        assert_eq!(report.broken_at, Some(position), "{report:?}");
        let reason = report.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(words), "{reason}");
    }

    #[test]
    fn a_sound_ledger_of_many_groups_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let mut calls = Vec::new();
        let report = run(ledger.shared(), ledger.head(), |done, total| {
            calls.push((done, total))
        })
        .unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.records, RECORDS);
        assert_eq!(report.head_hash, ledger.head().hash);
        assert_eq!(calls.first(), Some(&(0, RECORDS)));
        assert_eq!(calls.last(), Some(&(RECORDS, RECORDS)));
        assert!(calls.windows(2).all(|pair| pair[0].0 <= pair[1].0));
    }

    #[test]
    fn a_rechained_skipped_version_inside_a_batch_names_its_stream() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let (position, _) = inside_a_batch(&ledger, 2 * GROUP_POSITIONS);
        let stream = ledger.read_range(position, 1).unwrap()[0]
            .record
            .stream
            .clone();
        let head = forge(&ledger, position, |record| record.stream_version += 1);
        let report = verify(&ledger, head);
        assert_broken(&report, position, "version");
        assert!(report.reason.unwrap().contains(&stream));
    }

    #[test]
    fn a_rechained_record_claiming_another_position_inside_a_batch_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let (position, _) = inside_a_batch(&ledger, GROUP_POSITIONS + 17);
        let head = forge(&ledger, position, |record| record.position += 1);
        assert_broken(&verify(&ledger, head), position, "position");
    }

    #[test]
    fn a_changed_byte_is_named_inside_a_batch_and_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let head = ledger.head();
        let all = batches(&ledger);
        // The middle record of a batch: the next record of the same batch no longer links.
        let (position, first) = inside_a_batch(&ledger, 2 * GROUP_POSITIONS + 5);
        let original = batch_at(&ledger, first);
        let changed = with_a_changed_byte(&original, (position - first) as usize);
        store(&ledger, first, &changed);
        assert_broken(&verify(&ledger, head), position + 1, "previous hash");
        store(&ledger, first, &original);
        assert!(verify(&ledger, head).ok);
        // The last record of a batch: the next batch's first record no longer links.
        let (first, original) = all
            .iter()
            .find(|(at, records)| *at > GROUP_POSITIONS && records.len() >= 2)
            .unwrap()
            .clone();
        let changed = with_a_changed_byte(&original, original.len() - 1);
        store(&ledger, first, &changed);
        let report = verify(&ledger, head);
        assert_broken(&report, first + original.len() as u64, "previous hash");
    }

    #[test]
    fn undecodable_records_and_lengths_inside_a_batch_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let head = ledger.head();
        let (position, first) = inside_a_batch(&ledger, 3 * GROUP_POSITIONS);
        let original = batch_at(&ledger, first);
        let index = (position - first) as usize;
        // A record whose format byte is unknown.
        let mut records = original.clone();
        records[index][0] = 9;
        store(&ledger, first, &records);
        assert_broken(&verify(&ledger, head), position, "does not decode");
        // A length prefix running past the batch.
        let mut value = Vec::new();
        for (at, record) in original.iter().enumerate() {
            if at == index {
                value.extend_from_slice(&u32::MAX.to_le_bytes());
            } else {
                frame::push(&mut value, record);
            }
        }
        store_value(&ledger, first, value);
        assert_broken(&verify(&ledger, head), position, "runs past");
    }

    #[test]
    fn a_missing_batch_and_a_missing_end_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let head = ledger.head();
        let all = batches(&ledger);
        let (first, _) = all.iter().find(|(at, _)| *at > GROUP_POSITIONS).unwrap();
        let removed = ledger
            .shared()
            .log
            .remove(frame::key(*first))
            .unwrap()
            .unwrap();
        assert_broken(&verify(&ledger, head), *first, "gap");
        store_value(&ledger, *first, removed.to_vec());
        assert!(verify(&ledger, head).ok);
        let (last, _) = all.last().unwrap();
        ledger.shared().log.remove(frame::key(*last)).unwrap();
        assert_broken(&verify(&ledger, head), *last, "ends before");
    }

    /// A batch longer than a group leaves the groups after its key empty; the walk goes on
    /// past them, and a record of the batch far past its first group is still named.
    #[test]
    fn a_batch_longer_than_a_group_is_walked_whole() {
        let dir = tempfile::tempdir().unwrap();
        let ledger =
            Ledger::open(dir.path(), LedgerOptions::new("caseledger.test/verify")).unwrap();
        let long = 2 * GROUP_POSITIONS + 500;
        let requests = (0..long)
            .map(|n| request(&format!("case/{n}"), 0, n))
            .collect();
        ledger.append_many_blocking(requests).unwrap();
        for n in 0..10 {
            ledger.append_blocking(request("case/1", 1 + n, n)).unwrap();
        }
        let head = ledger.head();
        let (first, records) = batches(&ledger).swap_remove(0);
        assert_eq!((first, records.len() as u64), (1, long), "one batch");
        let report = verify(&ledger, head);
        assert!(report.ok, "{report:?}");
        assert_eq!(report.records, long + 10);
        let position = 2 * GROUP_POSITIONS + 7;
        let changed = with_a_changed_byte(&records, (position - 1) as usize);
        store(&ledger, 1, &changed);
        assert_broken(&verify(&ledger, head), position + 1, "previous hash");
    }

    #[test]
    fn another_head_hash_is_named_at_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger(dir.path());
        let mut head = ledger.head();
        head.hash.0[0] ^= 1;
        assert_broken(&verify(&ledger, head), RECORDS, "head");
    }
}
