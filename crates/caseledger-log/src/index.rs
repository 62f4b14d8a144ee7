//! The event-id index and the stream index, built so that the acknowledgement path writes no
//! per-record sled keys (measured: one random sled key costs about 13 µs here, see
//! schemas/storage.md).
//!
//! Each index is a small log-structured merge tree of its own:
//! - a **memtable** in memory holds the entries of the records since the last run, sorted;
//! - every [`RUN_RECORDS`] records the memtable is frozen and a background thread writes it as
//!   one immutable **run** (lookups see the frozen entries meanwhile): its sorted
//!   entries cut into chunks of about [`CHUNK_BYTES`], one sled value per chunk, then a summary
//!   (positions covered, the first key of every chunk, a Bloom filter) as one more value;
//! - lookups go memtable → runs from newest to oldest, skipping runs whose Bloom filter says no,
//!   and read one chunk from a run that may hold the key.
//!
//! Memory is bounded by the memtable and the frozen one (about `RUN_RECORDS` records' entries
//! each; the memtable grows past that only while the previous run is still being written) plus, per run,
//! its chunk fences and Bloom filter (about 10 bits per entry). After a crash the memtable is
//! rebuilt from the log records after the last run: the runs are derived data, the log is the
//! truth.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher};
use std::sync::Arc;

use crate::error::Error;
use crate::keys;

/// Records per run.
pub(crate) const RUN_RECORDS: u64 = 65_536;
/// Target size of one chunk value.
const CHUNK_BYTES: usize = 32 * 1024;
const BLOOM_BITS_PER_ENTRY: usize = 10;
const BLOOM_PROBES: u64 = 7;

/// Which index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Event id (16 bytes) → position.
    Events = 1,
    /// Stream key ([`keys::stream_key`]) → position. The Bloom filter holds stream prefixes.
    Streams = 2,
}

/// Base runs merged into one level-1 run.
pub(crate) const MERGE_RUNS: usize = 8;

/// The first byte of a run's keys: the kind, plus 0x10 for level 1 (merged runs).
fn prefix(kind: Kind, level: u8) -> u8 {
    kind as u8 | (level << 4)
}

/// Chunk key: kind and level, run number (u64 BE), chunk number (u32 BE).
fn chunk_key(prefix: u8, run: u64, chunk: u32) -> [u8; 13] {
    let mut key = [0u8; 13];
    key[0] = prefix;
    key[1..9].copy_from_slice(&run.to_be_bytes());
    key[9..].copy_from_slice(&chunk.to_be_bytes());
    key
}

/// Summary key: kind and level, run number (u64 BE).
fn summary_key(prefix: u8, run: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = prefix;
    key[1..].copy_from_slice(&run.to_be_bytes());
    key
}

/// Two 64-bit hashes of a key; Bloom probes are `h1 + i * h2`.
fn hash_pair(key: &[u8]) -> (u64, u64) {
    let mut first = std::hash::DefaultHasher::new();
    key.hash(&mut first);
    let mut second = std::hash::DefaultHasher::new();
    0x5EED_u32.hash(&mut second);
    key.hash(&mut second);
    (first.finish(), second.finish() | 1)
}

#[derive(Debug, Clone)]
struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    fn new(entries: usize) -> Bloom {
        let words = (entries * BLOOM_BITS_PER_ENTRY).div_ceil(64).max(1);
        Bloom {
            bits: vec![0; words],
        }
    }

    fn insert(&mut self, (h1, h2): (u64, u64)) {
        let size = self.bits.len() as u64 * 64;
        for probe in 0..BLOOM_PROBES {
            let bit = h1.wrapping_add(probe.wrapping_mul(h2)) % size;
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    fn contains(&self, (h1, h2): (u64, u64)) -> bool {
        let size = self.bits.len() as u64 * 64;
        (0..BLOOM_PROBES).all(|probe| {
            let bit = h1.wrapping_add(probe.wrapping_mul(h2)) % size;
            self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }
}

/// What is kept in memory of one run.
#[derive(Debug, Clone)]
struct Run {
    /// 0 for a run of one memtable, 1 for a merge of [`MERGE_RUNS`] of them.
    level: u8,
    number: u64,
    /// The first position whose entries it holds.
    first_position: u64,
    /// The last position whose entries it holds.
    last_position: u64,
    /// The first key of each chunk.
    fences: Vec<Vec<u8>>,
    bloom: Bloom,
}

impl Run {
    /// Whether this run holds every position `other` holds.
    fn covers(&self, other: &Run) -> bool {
        other.first_position >= self.first_position && other.last_position <= self.last_position
    }
}

fn encode_summary(run: &Run) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&run.first_position.to_be_bytes());
    out.extend_from_slice(&run.last_position.to_be_bytes());
    out.extend_from_slice(&(run.fences.len() as u32).to_be_bytes());
    for fence in &run.fences {
        out.extend_from_slice(&(fence.len() as u16).to_be_bytes());
        out.extend_from_slice(fence);
    }
    out.extend_from_slice(&(run.bloom.bits.len() as u32).to_be_bytes());
    for word in &run.bloom.bits {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < length {
            return None;
        }
        let (head, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Some(head)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn decode_summary(level: u8, number: u64, bytes: &[u8]) -> Option<Run> {
    let mut reader = Reader { bytes };
    let first_position = reader.u64()?;
    let last_position = reader.u64()?;
    let fence_count = reader.u32()? as usize;
    let mut fences = Vec::with_capacity(fence_count.min(1 << 20));
    for _ in 0..fence_count {
        let length = reader.u16()? as usize;
        fences.push(reader.take(length)?.to_vec());
    }
    let words = reader.u32()? as usize;
    let mut bits = Vec::with_capacity(words.min(1 << 24));
    for _ in 0..words {
        bits.push(u64::from_le_bytes(reader.take(8)?.try_into().ok()?));
    }
    if !reader.bytes.is_empty() || bits.is_empty() {
        return None;
    }
    Some(Run {
        level,
        number,
        first_position,
        last_position,
        fences,
        bloom: Bloom { bits },
    })
}

/// Entries of a chunk value: (u16 BE key length, key, u64 BE position) repeated.
pub(crate) fn decode_chunk(bytes: &[u8]) -> Option<Vec<(&[u8], u64)>> {
    let mut reader = Reader { bytes };
    let mut out = Vec::new();
    while !reader.bytes.is_empty() {
        let length = reader.u16()? as usize;
        let key = reader.take(length)?;
        out.push((key, reader.u64()?));
    }
    Some(out)
}

/// Sorted entries: key → position.
type Entries = BTreeMap<Vec<u8>, u64>;

/// One index: memtable, the memtable being written as a run, and the runs.
#[derive(Debug)]
struct Side {
    kind: Kind,
    memtable: Entries,
    /// A former memtable while a background thread writes it as a run.
    frozen: Option<Arc<Entries>>,
    runs: Vec<Run>,
}

fn bloom_key(kind: Kind, key: &[u8]) -> &[u8] {
    match kind {
        Kind::Events => key,
        // Bloom filters of the stream index hold the stream prefix, so one probe answers
        // "does this run hold any version of this stream".
        Kind::Streams => &key[..key.len().saturating_sub(8)],
    }
}

/// Builds a run from sorted entries: chunk values and the in-memory summary.
fn build_run<'a>(
    kind: Kind,
    entries: impl ExactSizeIterator<Item = (&'a [u8], u64)>,
    level: u8,
    number: u64,
    (first_position, last_position): (u64, u64),
) -> (Vec<Vec<u8>>, Run) {
    let mut bloom = Bloom::new(entries.len());
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut fences = Vec::new();
    let mut current = Vec::with_capacity(CHUNK_BYTES + 512);
    for (key, position) in entries {
        if current.is_empty() {
            fences.push(key.to_vec());
        }
        current.extend_from_slice(&(key.len() as u16).to_be_bytes());
        current.extend_from_slice(key);
        current.extend_from_slice(&position.to_be_bytes());
        bloom.insert(hash_pair(bloom_key(kind, key)));
        if current.len() >= CHUNK_BYTES {
            chunks.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    let run = Run {
        level,
        number,
        first_position,
        last_position,
        fences,
        bloom,
    };
    (chunks, run)
}

/// Writes runs of both kinds: their chunks, then both summaries in one sled batch, so a
/// summary is never there without its chunks, and a crash loses both kinds' runs or neither.
///
/// The chunks go in batches of [`CHUNKS_PER_BATCH`]: sled applies a batch under a lock that
/// every other sled write waits for, the ledger writer's included, and a merged run's 40 MB
/// in one batch held appends up for about a quarter of a second. Chunks are not part of the
/// index until their summary is, so they need no atomicity among themselves.
fn store_runs(tree: &sled::Tree, runs: &[(Kind, Vec<Vec<u8>>, &Run)]) -> Result<(), Error> {
    let mut summaries = sled::Batch::default();
    for (kind, values, run) in runs {
        let prefix = prefix(*kind, run.level);
        for (group, values) in values.chunks(CHUNKS_PER_BATCH).enumerate() {
            let mut chunks = sled::Batch::default();
            for (offset, value) in values.iter().enumerate() {
                let chunk = (group * CHUNKS_PER_BATCH + offset) as u32;
                chunks.insert(&chunk_key(prefix, run.number, chunk)[..], &value[..]);
            }
            tree.apply_batch(chunks)?;
        }
        summaries.insert(&summary_key(prefix, run.number)[..], encode_summary(run));
    }
    tree.apply_batch(summaries)?;
    Ok(())
}

/// Chunks (about 32 KiB each) written per sled batch.
const CHUNKS_PER_BATCH: usize = 32;

/// Memtables taken out of the index, to be written as a run without holding its lock.
pub(crate) struct FrozenRun {
    tree: sled::Tree,
    number: u64,
    first_position: u64,
    last_position: u64,
    events: Arc<Entries>,
    streams: Arc<Entries>,
}

/// A run written to sled, to be installed in the index.
pub(crate) struct StoredRun {
    last_position: u64,
    events: Run,
    streams: Run,
}

impl FrozenRun {
    /// Writes the run ([`store_runs`]).
    pub(crate) fn store(&self) -> Result<StoredRun, Error> {
        let span = (self.first_position, self.last_position);
        let build = |kind, entries: &Entries| {
            let entries = entries
                .iter()
                .map(|(key, position)| (key.as_slice(), *position));
            build_run(kind, entries, 0, self.number, span)
        };
        let (event_chunks, events) = build(Kind::Events, &self.events);
        let (stream_chunks, streams) = build(Kind::Streams, &self.streams);
        store_runs(
            &self.tree,
            &[
                (Kind::Events, event_chunks, &events),
                (Kind::Streams, stream_chunks, &streams),
            ],
        )?;
        Ok(StoredRun {
            last_position: self.last_position,
            events,
            streams,
        })
    }
}

/// Base runs to merge into one level-1 run, read and written without the index's lock.
pub(crate) struct Merge {
    tree: sled::Tree,
    events: Vec<Run>,
    streams: Vec<Run>,
}

/// A merged run written to sled, to be installed in the index.
pub(crate) struct StoredMerge {
    events: Run,
    streams: Run,
}

impl Merge {
    /// Reads the base runs' entries, sorts them into one run and writes it (its chunks, then
    /// both summaries, as for a base run). The base runs are left as they are.
    pub(crate) fn store(&self) -> Result<StoredMerge, Error> {
        let build = |kind: Kind, runs: &[Run]| -> Result<(Vec<Vec<u8>>, Run), Error> {
            let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
                return Err(corrupt_index("an empty merge"));
            };
            let mut values = Vec::new();
            for run in runs {
                for chunk in 0..run.fences.len() {
                    let key = chunk_key(prefix(kind, run.level), run.number, chunk as u32);
                    values.push(chunk_value(&self.tree, key)?);
                }
            }
            let mut entries = Vec::new();
            for value in &values {
                entries.extend(
                    decode_chunk(value).ok_or_else(|| corrupt_index("a chunk does not decode"))?,
                );
            }
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let span = (first.first_position, last.last_position);
            Ok(build_run(kind, entries.into_iter(), 1, first.number, span))
        };
        let (event_chunks, events) = build(Kind::Events, &self.events)?;
        let (stream_chunks, streams) = build(Kind::Streams, &self.streams)?;
        if (events.first_position, events.last_position)
            != (streams.first_position, streams.last_position)
        {
            return Err(corrupt_index("the two indexes cover different runs"));
        }
        store_runs(
            &self.tree,
            &[
                (Kind::Events, event_chunks, &events),
                (Kind::Streams, stream_chunks, &streams),
            ],
        )?;
        Ok(StoredMerge { events, streams })
    }
}

/// Both indexes.
#[derive(Debug)]
pub(crate) struct Index {
    tree: sled::Tree,
    events: Side,
    streams: Side,
    /// Every position up to this one is in a run.
    run_position: u64,
    /// Every position up to this one is in a run or the memtable.
    position: u64,
    /// The latest version and its position of every stream in the streams memtable, and of
    /// the frozen one while it is being written: "the current version of this stream" is
    /// asked for every act and every read of a case, and a hash lookup answers it without two
    /// ordered searches over byte-string keys.
    latest: Latest,
    latest_frozen: Option<Arc<Latest>>,
    /// The number of the next base run (numbers are never reused: merged base runs stay).
    next_run: u64,
}

/// Stream → (latest version, its position).
type Latest = HashMap<Box<str>, (u64, u64)>;

fn corrupt_index(reason: &str) -> Error {
    Error::corrupt(0, format!("index: {reason} / 索引损坏"))
}

/// The stored value of one chunk of a run; a run's chunk that is not there is damage.
fn chunk_value(tree: &sled::Tree, key: [u8; 13]) -> Result<sled::IVec, Error> {
    tree.get(key)?
        .ok_or_else(|| corrupt_index("a chunk of a run is missing"))
}

impl Side {
    /// Entries with keys in `[from, to]` from one run, in key order.
    fn run_entries(
        &self,
        tree: &sled::Tree,
        run: &Run,
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<(Vec<u8>, u64)>, Error> {
        // The chunk that may hold `from` is the last whose first key is <= from.
        let start = run
            .fences
            .partition_point(|fence| fence.as_slice() <= from)
            .saturating_sub(1);
        let mut out = Vec::new();
        for chunk in start..run.fences.len() {
            if run.fences[chunk].as_slice() > to {
                break;
            }
            let key = chunk_key(prefix(self.kind, run.level), run.number, chunk as u32);
            let value = chunk_value(tree, key)?;
            let entries =
                decode_chunk(&value).ok_or_else(|| corrupt_index("a chunk does not decode"))?;
            for (key, position) in entries {
                if key >= from && key <= to {
                    out.push((key.to_vec(), position));
                }
            }
        }
        Ok(out)
    }

    /// Every entry with a key in `[from, to]`: runs oldest first, then the memtable.
    fn entries(
        &self,
        tree: &sled::Tree,
        bloom_probe: &[u8],
        from: &[u8],
        to: &[u8],
    ) -> Result<Vec<(Vec<u8>, u64)>, Error> {
        let hashes = hash_pair(bloom_probe);
        let mut out = Vec::new();
        for run in &self.runs {
            if run.bloom.contains(hashes) {
                out.extend(self.run_entries(tree, run, from, to)?);
            }
        }
        for entries in self.frozen.as_deref().into_iter().chain([&self.memtable]) {
            out.extend(
                entries
                    .range(from.to_vec()..=to.to_vec())
                    .map(|(key, position)| (key.clone(), *position)),
            );
        }
        Ok(out)
    }

    fn get(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<u64>, Error> {
        if let Some(position) = self.memtable.get(key) {
            return Ok(Some(*position));
        }
        if let Some(position) = self.frozen.as_ref().and_then(|frozen| frozen.get(key)) {
            return Ok(Some(*position));
        }
        let hashes = hash_pair(bloom_key(self.kind, key));
        for run in self.runs.iter().rev() {
            if run.bloom.contains(hashes) {
                if let Some((_, position)) = self.run_entries(tree, run, key, key)?.pop() {
                    return Ok(Some(position));
                }
            }
        }
        Ok(None)
    }
}

/// Every run summary of one kind and level, in run-number order. Summaries have 9-byte keys;
/// chunks 13-byte ones. Both start with the kind-and-level byte, and a run's summary sorts
/// right before its chunks. Only the summaries are read: after each, the scan jumps past its
/// run's chunks (scanning them all would read the whole index at every open: 11 s and 960 MB
/// at 10 million records).
fn read_summaries(tree: &sled::Tree, kind: Kind, level: u8) -> Result<Vec<Run>, Error> {
    let prefix = prefix(kind, level);
    let mut runs = Vec::new();
    let mut next_run = 0u64;
    loop {
        let Some(item) = tree.range(summary_key(prefix, next_run)..).next() else {
            break;
        };
        let (key, value) = item?;
        if key.first() != Some(&prefix) {
            break;
        }
        let Some(number) = key
            .get(1..9)
            .map(|run| u64::from_be_bytes(run.try_into().expect("8 bytes")))
        else {
            return Err(corrupt_index("an index key is too short"));
        };
        // The next seek starts past this run, whatever this key is.
        let Some(after) = number.checked_add(1) else {
            break;
        };
        next_run = after;
        if key.len() != 9 {
            // Chunks of a run whose summary was never written (a crash between the two
            // batches): not part of the index.
            continue;
        }
        let run = decode_summary(level, number, &value)
            .ok_or_else(|| corrupt_index("a run summary does not decode"))?;
        runs.push(run);
    }
    Ok(runs)
}

impl Index {
    /// Loads the run summaries. The memtable starts empty; the caller feeds it the records
    /// after [`Index::position`].
    pub(crate) fn load(tree: sled::Tree) -> Result<Index, Error> {
        let mut index = Index {
            tree,
            events: Side {
                kind: Kind::Events,
                memtable: BTreeMap::new(),
                frozen: None,
                runs: Vec::new(),
            },
            streams: Side {
                kind: Kind::Streams,
                memtable: BTreeMap::new(),
                frozen: None,
                runs: Vec::new(),
            },
            run_position: 0,
            position: 0,
            latest: HashMap::new(),
            latest_frozen: None,
            next_run: 1,
        };
        let mut positions = [Vec::new(), Vec::new()];
        for (slot, kind) in [Kind::Events, Kind::Streams].into_iter().enumerate() {
            let base = read_summaries(&index.tree, kind, 0)?;
            let merged = read_summaries(&index.tree, kind, 1)?;
            if let Some(last) = base.last() {
                index.next_run = index.next_run.max(last.number + 1);
            }
            // A merged run replaces the base runs it covers (they stay stored, unused); the
            // runs in service must then cover the positions from 1 without a gap or overlap.
            let mut runs: Vec<Run> = base
                .into_iter()
                .filter(|run| !merged.iter().any(|merge| merge.covers(run)))
                .collect();
            runs.extend(merged);
            runs.sort_by_key(|run| run.first_position);
            for run in runs {
                let expected_first = positions[slot]
                    .last()
                    .map_or(1, |(_, last): &(u64, u64)| last + 1);
                if run.first_position != expected_first || run.last_position < run.first_position {
                    return Err(corrupt_index("runs do not follow each other"));
                }
                positions[slot].push((run.first_position, run.last_position));
                match kind {
                    Kind::Events => index.events.runs.push(run),
                    Kind::Streams => index.streams.runs.push(run),
                }
            }
        }
        // The summaries of one run are written in one batch; a run lost by a crash in both
        // sides or in neither. Anything else is damage.
        if positions[0] != positions[1] {
            return Err(corrupt_index("the two indexes cover different runs"));
        }
        index.run_position = positions[0].last().map_or(0, |(_, last)| *last);
        index.position = index.run_position;
        Ok(index)
    }

    /// Every position up to this one is indexed.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Every position up to this one is in a stored run.
    #[cfg(test)]
    pub(crate) fn run_position(&self) -> u64 {
        self.run_position
    }

    /// Adds one record's entries (positions must come in order, without gaps).
    pub(crate) fn add(&mut self, position: u64, event_id: &[u8; 16], stream: &str, version: u64) {
        assert_eq!(
            position,
            self.position + 1,
            "index entries come in position order"
        );
        self.events.memtable.insert(event_id.to_vec(), position);
        self.streams
            .memtable
            .insert(keys::stream_key(stream, version), position);
        match self.latest.get_mut(stream) {
            Some(latest) => *latest = (version, position),
            None => {
                self.latest.insert(stream.into(), (version, position));
            }
        }
        self.position = position;
    }

    /// Takes the memtables out as a run to write once they hold `RUN_RECORDS` records (and no
    /// earlier run is still being written). Lookups keep seeing the frozen entries until the
    /// run is installed.
    pub(crate) fn freeze(&mut self) -> Option<FrozenRun> {
        if self.events.frozen.is_some() || self.position - self.run_position < RUN_RECORDS {
            return None;
        }
        let events = Arc::new(std::mem::take(&mut self.events.memtable));
        let streams = Arc::new(std::mem::take(&mut self.streams.memtable));
        self.events.frozen = Some(events.clone());
        self.streams.frozen = Some(streams.clone());
        self.latest_frozen = Some(Arc::new(std::mem::take(&mut self.latest)));
        let number = self.next_run;
        self.next_run += 1;
        Some(FrozenRun {
            tree: self.tree.clone(),
            number,
            first_position: self.run_position + 1,
            last_position: self.position,
            events,
            streams,
        })
    }

    /// Puts a written run in place of its frozen memtables.
    pub(crate) fn install(&mut self, stored: StoredRun) {
        self.events.runs.push(stored.events);
        self.streams.runs.push(stored.streams);
        self.events.frozen = None;
        self.streams.frozen = None;
        self.latest_frozen = None;
        self.run_position = stored.last_position;
    }

    /// Freezes, writes and installs a run in one go, when one is due; then merges, when a
    /// merge is due.
    #[cfg(test)]
    pub(crate) fn maybe_write_run(&mut self) -> Result<(), Error> {
        if let Some(frozen) = self.freeze() {
            let stored = frozen.store()?;
            self.install(stored);
        }
        if let Some(merge) = self.merge_due() {
            let merged = merge.store()?;
            self.install_merge(merged);
        }
        Ok(())
    }

    /// The oldest [`MERGE_RUNS`] base runs after the last merged one, once there are that
    /// many: every new event id and stream is looked up in every run (a Bloom probe each, and
    /// a chunk read on a false positive), so at 13 million records, 200 runs of each index,
    /// the writer spent most of its time there. Merging keeps the runs to about one per
    /// 524,288 records.
    pub(crate) fn merge_due(&self) -> Option<Merge> {
        let tail = |runs: &[Run]| -> Vec<Run> {
            let start = runs
                .iter()
                .rposition(|run| run.level > 0)
                .map_or(0, |last| last + 1);
            runs[start..].iter().take(MERGE_RUNS).cloned().collect()
        };
        let events = tail(&self.events.runs);
        if events.len() < MERGE_RUNS {
            return None;
        }
        let streams = tail(&self.streams.runs);
        Some(Merge {
            tree: self.tree.clone(),
            events,
            streams,
        })
    }

    /// Puts a merged run in place of the base runs it covers (which stay stored: lookups and
    /// verification snapshots that started before may still read them).
    pub(crate) fn install_merge(&mut self, merged: StoredMerge) {
        for (side, run) in [
            (&mut self.events, merged.events),
            (&mut self.streams, merged.streams),
        ] {
            let covered = |base: &Run| run.covers(base);
            let Some(start) = side.runs.iter().position(covered) else {
                continue;
            };
            let end = start
                + side.runs[start..]
                    .iter()
                    .take_while(|base| covered(base))
                    .count();
            side.runs.splice(start..end, [run]);
        }
    }

    /// The position of an event id.
    pub(crate) fn event(&self, event_id: &[u8; 16]) -> Result<Option<u64>, Error> {
        self.events.get(&self.tree, event_id)
    }

    /// The position of one stream version.
    pub(crate) fn stream_entry(&self, stream: &str, version: u64) -> Result<Option<u64>, Error> {
        self.streams
            .get(&self.tree, &keys::stream_key(stream, version))
    }

    /// (version, position) of a stream's versions from `from_version`, in version order.
    pub(crate) fn stream(&self, stream: &str, from_version: u64) -> Result<Vec<(u64, u64)>, Error> {
        let prefix = keys::stream_prefix(stream);
        let from = keys::stream_key(stream, from_version);
        let to = keys::stream_key(stream, u64::MAX);
        let mut out: Vec<(u64, u64)> = self
            .streams
            .entries(&self.tree, &prefix, &from, &to)?
            .into_iter()
            .map(|(key, position)| (keys::version_of_stream_key(&key).unwrap_or(0), position))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// The latest version of a stream with its position, if any.
    pub(crate) fn stream_latest(&self, stream: &str) -> Result<Option<(u64, u64)>, Error> {
        for latest in [Some(&self.latest), self.latest_frozen.as_deref()]
            .into_iter()
            .flatten()
        {
            if let Some(found) = latest.get(stream) {
                return Ok(Some(*found));
            }
        }
        let from = keys::stream_key(stream, 0);
        let to = keys::stream_key(stream, u64::MAX);
        let side = &self.streams;
        let hashes = hash_pair(&keys::stream_prefix(stream));
        for run in side.runs.iter().rev() {
            if run.bloom.contains(hashes) {
                if let Some((key, position)) = side.run_entries(&self.tree, run, &from, &to)?.pop()
                {
                    return Ok(Some((
                        keys::version_of_stream_key(&key).unwrap_or(0),
                        position,
                    )));
                }
            }
        }
        Ok(None)
    }

    /// What a full scan needs, taken under the lock so that the scan itself does not hold it:
    /// the stored chunks to read and a copy of the memtables.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut chunks = Vec::new();
        let mut memtable = Vec::new();
        for side in [&self.events, &self.streams] {
            for run in &side.runs {
                for chunk in 0..run.fences.len() {
                    let key = chunk_key(prefix(side.kind, run.level), run.number, chunk as u32);
                    chunks.push((side.kind, key));
                }
            }
            for entries in side.frozen.as_deref().into_iter().chain([&side.memtable]) {
                for (key, position) in entries {
                    memtable.push((side.kind, key.clone(), *position));
                }
            }
        }
        Snapshot {
            tree: self.tree.clone(),
            chunks,
            memtable,
        }
    }
}

/// Every entry of both indexes at one moment; see [`Index::snapshot`].
pub(crate) struct Snapshot {
    tree: sled::Tree,
    chunks: Vec<(Kind, [u8; 13])>,
    memtable: Vec<(Kind, Vec<u8>, u64)>,
}

impl Snapshot {
    /// Visits every entry: its index, key and position.
    pub(crate) fn for_each_entry(
        &self,
        mut visit: impl FnMut(Kind, &[u8], u64),
    ) -> Result<(), Error> {
        for (kind, chunk_key) in &self.chunks {
            let value = chunk_value(&self.tree, *chunk_key)?;
            let entries =
                decode_chunk(&value).ok_or_else(|| corrupt_index("a chunk does not decode"))?;
            for (key, position) in entries {
                visit(*kind, key, position);
            }
        }
        for (kind, key, position) in &self.memtable {
            visit(*kind, key, *position);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bloom_has_no_false_negatives() {
        let mut bloom = Bloom::new(1000);
        for i in 0u32..1000 {
            bloom.insert(hash_pair(&i.to_be_bytes()));
        }
        assert!((0u32..1000).all(|i| bloom.contains(hash_pair(&i.to_be_bytes()))));
        let false_positives = (1000u32..11_000)
            .filter(|i| bloom.contains(hash_pair(&i.to_be_bytes())))
            .count();
        assert!(
            false_positives < 300,
            "{false_positives} false positives in 10,000"
        );
    }

    #[test]
    fn runs_answer_like_the_memtable() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let mut index = Index::load(db.open_tree("index").unwrap()).unwrap();
        let total = RUN_RECORDS + 10;
        for position in 1..=total {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(position * 7919).to_le_bytes());
            index.add(
                position,
                &id,
                &format!("case/{}", position % 1000),
                position / 1000 + 1,
            );
            index.maybe_write_run().unwrap();
        }
        assert_eq!(index.run_position(), RUN_RECORDS);
        let reloaded = Index::load(db.open_tree("index").unwrap()).unwrap();
        assert_eq!(reloaded.position(), RUN_RECORDS);
        for position in [1, 2, 500, RUN_RECORDS, RUN_RECORDS + 3] {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(position * 7919).to_le_bytes());
            assert_eq!(index.event(&id).unwrap(), Some(position));
            let stream = format!("case/{}", position % 1000);
            let versions = index.stream(&stream, 1).unwrap();
            assert!(versions.contains(&(position / 1000 + 1, position)));
            assert_eq!(
                index.stream_entry(&stream, position / 1000 + 1).unwrap(),
                Some(position)
            );
        }
        assert_eq!(index.event(&[0xEE; 16]).unwrap(), None);
    }

    /// The latest version of a stream is the same answer whether it sits in the memtable, in
    /// a frozen memtable being written, or only in a run.
    #[test]
    fn stream_latest_is_right_in_the_memtable_the_frozen_one_and_the_runs() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let mut index = Index::load(db.open_tree("index").unwrap()).unwrap();
        let mut expected: HashMap<String, (u64, u64)> = HashMap::new();
        let mut add = |index: &mut Index, position: u64, stream: String| {
            let version = expected.get(&stream).map_or(1, |(version, _)| version + 1);
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&position.to_le_bytes());
            index.add(position, &id, &stream, version);
            expected.insert(stream, (version, position));
            expected.clone()
        };
        let check = |index: &Index, expected: &HashMap<String, (u64, u64)>| {
            for (stream, latest) in expected {
                assert_eq!(
                    index.stream_latest(stream).unwrap(),
                    Some(*latest),
                    "{stream}"
                );
            }
            assert_eq!(index.stream_latest("case/none").unwrap(), None);
        };
        let mut seen = HashMap::new();
        for position in 1..=RUN_RECORDS {
            seen = add(&mut index, position, format!("case/{}", position % 37));
        }
        check(&index, &seen);
        let frozen = index.freeze().expect("a run is due");
        // Frozen, not yet written: the answers come from the frozen map.
        add(&mut index, RUN_RECORDS + 1, "case/5".into());
        seen = add(&mut index, RUN_RECORDS + 2, "firm/new".into());
        check(&index, &seen);
        let stored = frozen.store().unwrap();
        index.install(stored);
        // Installed: streams of the run alone are answered from the run.
        check(&index, &seen);
        let reloaded = Index::load(db.open_tree("index").unwrap()).unwrap();
        assert_eq!(
            reloaded.stream_latest("case/6").unwrap(),
            seen.get("case/6").copied()
        );
    }

    /// Eight base runs are merged into one level-1 run: lookups, the entries a snapshot visits
    /// and a reload give the same answers as before, and new runs after a reload take fresh
    /// numbers.
    #[test]
    fn merged_runs_answer_like_the_runs_they_replace() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let mut index = Index::load(db.open_tree("index").unwrap()).unwrap();
        let mut versions: HashMap<u64, u64> = HashMap::new();
        let id = |position: u64| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(position * 7919).to_le_bytes());
            id
        };
        let mut add = |index: &mut Index, position: u64| {
            let stream = position % 1000;
            let version = versions.get(&stream).map_or(1, |version| version + 1);
            versions.insert(stream, version);
            index.add(position, &id(position), &format!("case/{stream}"), version);
            index.maybe_write_run().unwrap();
            (stream, version)
        };
        let total = (MERGE_RUNS as u64 + 1) * RUN_RECORDS + 5;
        let mut expected = Vec::new();
        for position in 1..=total {
            let (stream, version) = add(&mut index, position);
            if position % 4099 == 0 || position == total || position == 1 {
                expected.push((position, stream, version));
            }
        }
        let levels =
            |index: &Index| -> Vec<u8> { index.events.runs.iter().map(|run| run.level).collect() };
        assert_eq!(levels(&index), vec![1, 0]);
        assert_eq!(index.streams.runs.len(), 2);
        let check = |index: &Index| {
            for (position, stream, version) in &expected {
                assert_eq!(index.event(&id(*position)).unwrap(), Some(*position));
                let stream = format!("case/{stream}");
                assert_eq!(
                    index.stream_entry(&stream, *version).unwrap(),
                    Some(*position),
                    "{stream} {version}"
                );
                let all = index.stream(&stream, 1).unwrap();
                assert_eq!(all.len() as u64, all.last().unwrap().0, "{stream}: no gaps");
            }
            assert_eq!(index.event(&[0xEE; 16]).unwrap(), None);
            let mut entries = [0u64; 2];
            index
                .snapshot()
                .for_each_entry(|kind, _, _| entries[kind as usize - 1] += 1)
                .unwrap();
            assert_eq!(entries, [total, total], "each entry visited once");
        };
        check(&index);
        let mut reloaded = Index::load(db.open_tree("index").unwrap()).unwrap();
        assert_eq!(levels(&reloaded), vec![1, 0]);
        drop(index);
        // The memtable after the runs is fed again, as opening does from the log.
        let mut versions_again: HashMap<u64, u64> = HashMap::new();
        for position in 1..=total {
            let stream = position % 1000;
            let version = versions_again.get(&stream).map_or(1, |version| version + 1);
            versions_again.insert(stream, version);
            if position > reloaded.position() {
                reloaded.add(position, &id(position), &format!("case/{stream}"), version);
            }
        }
        check(&reloaded);
        // Another base run after the reload gets a number of its own.
        for position in total + 1..=total + RUN_RECORDS {
            let stream = position % 1000;
            let version = versions_again.get(&stream).map_or(1, |version| version + 1);
            versions_again.insert(stream, version);
            reloaded.add(position, &id(position), &format!("case/{stream}"), version);
            reloaded.maybe_write_run().unwrap();
        }
        let numbers: Vec<u64> = reloaded.events.runs.iter().map(|run| run.number).collect();
        assert_eq!(levels(&reloaded), vec![1, 0, 0]);
        assert_eq!(
            numbers,
            vec![1, MERGE_RUNS as u64 + 1, MERGE_RUNS as u64 + 2]
        );
        let again = Index::load(db.open_tree("index").unwrap()).unwrap();
        assert_eq!(again.position(), (MERGE_RUNS as u64 + 2) * RUN_RECORDS);
        assert_eq!(again.event(&id(total + 7)).unwrap(), Some(total + 7));
        assert_eq!(again.event(&id(3)).unwrap(), Some(3));
    }

    /// Loading reads each run's summary and seeks past its chunks; chunks left without a
    /// summary (a crash between the two batches) are not part of the index.
    #[test]
    fn load_finds_every_run_and_ignores_chunks_without_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let tree = db.open_tree("index").unwrap();
        let mut index = Index::load(tree.clone()).unwrap();
        let id = |position: u64| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(position * 7919).to_le_bytes());
            id
        };
        for position in 1..=2 * RUN_RECORDS {
            index.add(
                position,
                &id(position),
                &format!("case/{}", position % 100),
                1,
            );
            index.maybe_write_run().unwrap();
        }
        assert_eq!(index.run_position(), 2 * RUN_RECORDS);
        let runs_before = tree.len();
        for kind in [Kind::Events, Kind::Streams] {
            tree.insert(&chunk_key(prefix(kind, 0), 3, 0)[..], &b"orphan"[..])
                .unwrap();
        }
        let reloaded = Index::load(tree.clone()).unwrap();
        assert_eq!(reloaded.position(), 2 * RUN_RECORDS);
        assert_eq!(reloaded.events.runs.len(), 2);
        assert_eq!(reloaded.streams.runs.len(), 2);
        for position in [1, RUN_RECORDS, RUN_RECORDS + 1, 2 * RUN_RECORDS] {
            assert_eq!(reloaded.event(&id(position)).unwrap(), Some(position));
        }
        assert_eq!(tree.len(), runs_before + 2);
        // A summary removed from the middle breaks the sequence of runs: refused.
        tree.remove(&summary_key(prefix(Kind::Events, 0), 1)[..])
            .unwrap();
        assert!(Index::load(tree).is_err());
    }
}
