//! Reads. Nothing past the acknowledged head is ever returned, even if the writer has
//! already inserted it: until the flush it could still vanish in a crash.

use std::sync::Arc;

use caseledger_record::{record_hash, Record};

use crate::error::Error;
use crate::{frame, Shared, StoredRecord};

/// Checks that a record decoded from the bytes stored at `position` says it is there.
fn at_its_position(position: u64, record: Record) -> Result<Record, Error> {
    if record.position != position {
        return Err(Error::corrupt(
            position,
            format!("record stored here says it is position {}", record.position),
        ));
    }
    Ok(record)
}

/// Decodes stored bytes found at `position`.
pub(crate) fn stored(position: u64, bytes: &[u8]) -> Result<StoredRecord, Error> {
    let record =
        Record::decode(bytes).map_err(|error| Error::corrupt(position, error.to_string()))?;
    let record = at_its_position(position, record)?;
    Ok(StoredRecord {
        position,
        hash: record_hash(bytes),
        bytes: Arc::from(bytes),
        record,
    })
}

/// The batch holding `position`: its first position and its value.
fn batch_holding(shared: &Shared, position: u64) -> Result<Option<(u64, sled::IVec)>, Error> {
    match shared.log.range(..=frame::key(position)).next_back() {
        None => Ok(None),
        Some(item) => {
            let (key, value) = item?;
            Ok(Some((frame::position_of_key(&key)?, value)))
        }
    }
}

/// Up to `limit` positions from `from` (1-based), each decoded by `decode`, up to the head.
fn decoded_range<T>(
    shared: &Shared,
    head: u64,
    from: u64,
    limit: usize,
    decode: impl Fn(u64, &[u8]) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let from = from.max(1);
    if from > head || limit == 0 {
        return Ok(Vec::new());
    }
    let last = head.min(from.saturating_add(limit as u64 - 1));
    let mut out = Vec::with_capacity((last - from + 1) as usize);
    scan_bytes(shared, head, from, last, |position, bytes| {
        out.push(decode(position, bytes)?);
        Ok::<(), Error>(())
    })?;
    Ok(out)
}

pub(crate) fn range(
    shared: &Shared,
    head: u64,
    from: u64,
    limit: usize,
) -> Result<Vec<StoredRecord>, Error> {
    decoded_range(shared, head, from, limit, stored)
}

/// Like [`range`], the records' fields only: no chain hash, no copy of the stored bytes and
/// no canonical-form check ([`Record::decode_fields`]).
pub(crate) fn fields(
    shared: &Shared,
    head: u64,
    from: u64,
    limit: usize,
) -> Result<Vec<Record>, Error> {
    decoded_range(shared, head, from, limit, |position, bytes| {
        let record = Record::decode_fields(bytes)
            .map_err(|error| Error::corrupt(position, error.to_string()))?;
        at_its_position(position, record)
    })
}

/// The record at one position (at most the head).
pub(crate) fn at(shared: &Shared, head: u64, position: u64) -> Result<StoredRecord, Error> {
    let mut records = positions(shared, head, &[position])?;
    records
        .pop()
        .ok_or_else(|| Error::corrupt(position, "indexed position is not in the log"))
}

/// One batch value being read, with a cursor on its length prefixes: reading several
/// positions of one batch in increasing order walks its prefixes once.
struct BatchCursor {
    first: u64,
    value: sled::IVec,
    /// The position whose length prefix starts at `offset`.
    position: u64,
    offset: usize,
}

impl BatchCursor {
    /// The stored bytes of `position`, sliced out of the batch without splitting or decoding
    /// the records before it; `None` when the batch ends before it.
    fn slice(&mut self, position: u64) -> Result<Option<&[u8]>, Error> {
        if position < self.position {
            // Behind the cursor: walk again from the batch's start.
            self.position = self.first;
            self.offset = 0;
        }
        loop {
            let rest = &self.value[self.offset..];
            if rest.is_empty() {
                return Ok(None);
            }
            let length = frame_length(self.position, rest)?;
            if self.position == position {
                return Ok(Some(&self.value[self.offset + 4..self.offset + 4 + length]));
            }
            self.offset += 4 + length;
            self.position += 1;
        }
    }
}

/// The length of the record whose prefix starts `rest`, checked like [`frame::split`].
pub(crate) fn frame_length(position: u64, rest: &[u8]) -> Result<usize, Error> {
    let Some(prefix) = rest.get(..4) else {
        return Err(Error::corrupt(
            position,
            "truncated record length in the log",
        ));
    };
    let length = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if length > caseledger_record::RECORD_BYTES_MAX || length > rest.len() - 4 {
        return Err(Error::corrupt(
            position,
            format!("record length {length} runs past its batch in the log"),
        ));
    }
    Ok(length)
}

/// The records at `wanted` (each in `1..=head`), in the order given.
///
/// The log keeps one sled value per writer batch (up to thousands of records), and finding a
/// record in it means walking the length prefixes before it: one dependent memory load per
/// record, a cache miss each once the batch is no longer in the processor's caches (profiled:
/// this walk was the largest part of a single-record read). So each position's batch is found
/// by key first, a batch holding several wanted positions is walked once (increasing
/// positions continue from the last one), and no batch is walked past the record wanted; the
/// records before it are neither copied nor decoded.
pub(crate) fn positions(
    shared: &Shared,
    head: u64,
    wanted: &[u64],
) -> Result<Vec<StoredRecord>, Error> {
    let mut out = Vec::with_capacity(wanted.len());
    let mut cursor: Option<BatchCursor> = None;
    for &position in wanted {
        if position == 0 || position > head {
            return Err(Error::corrupt(
                position,
                format!("position {position} is not within the acknowledged log 1..={head}"),
            ));
        }
        let Some((first, value)) = batch_holding(shared, position)? else {
            return Err(Error::corrupt(
                position,
                "no batch in the log holds this position",
            ));
        };
        let same_batch = cursor.as_ref().is_some_and(|batch| batch.first == first);
        if !same_batch {
            cursor = Some(BatchCursor {
                first,
                value,
                position: first,
                offset: 0,
            });
        }
        let batch = cursor.as_mut().expect("a batch was just found");
        let Some(bytes) = batch.slice(position)? else {
            return Err(Error::corrupt(
                position,
                "missing from the log (gap after the batch before it)",
            ));
        };
        out.push(stored(position, bytes)?);
    }
    Ok(out)
}

pub(crate) fn stream(
    shared: &Shared,
    head: u64,
    stream: &str,
    from_version: u64,
    limit: usize,
) -> Result<Vec<StoredRecord>, Error> {
    let entries = shared
        .index
        .read()
        .expect("index lock")
        .stream(stream, from_version.max(1))?;
    let wanted: Vec<(u64, u64)> = entries
        .into_iter()
        .take_while(|(_, position)| *position <= head)
        .take(limit)
        .collect();
    let positions_wanted: Vec<u64> = wanted.iter().map(|(_, position)| *position).collect();
    let records = positions(shared, head, &positions_wanted)?;
    for ((version, position), record) in wanted.iter().zip(&records) {
        if record.record.stream != stream || record.record.stream_version != *version {
            return Err(Error::corrupt(
                *position,
                format!("stream index says {stream} version {version}, the record disagrees"),
            ));
        }
    }
    Ok(records)
}

pub(crate) fn event(
    shared: &Shared,
    head: u64,
    event_id: uuid::Uuid,
) -> Result<Option<StoredRecord>, Error> {
    let found = shared
        .index
        .read()
        .expect("index lock")
        .event(event_id.as_bytes())?;
    let Some(position) = found else {
        return Ok(None);
    };
    if position > head {
        return Ok(None);
    }
    let record = at(shared, head, position)?;
    if record.record.event_id != *event_id.as_bytes() {
        return Err(Error::corrupt(
            position,
            format!("event index points {event_id} here, the record has another id"),
        ));
    }
    Ok(Some(record))
}

/// The last version of a stream at or before `head` (0 when none).
pub(crate) fn stream_version(shared: &Shared, head: u64, stream: &str) -> Result<u64, Error> {
    let index = shared.index.read().expect("index lock");
    if let Some((version, position)) = index.stream_latest(stream)? {
        if position <= head {
            return Ok(version);
        }
    }
    // The latest version is not acknowledged yet: the one before it is.
    let entries = index.stream(stream, 1)?;
    Ok(entries
        .iter()
        .filter(|(_, position)| *position <= head)
        .map(|(version, _)| *version)
        .max()
        .unwrap_or(0))
}

/// Lets sled's cache evict behind a scan; call it with each log key a scan has just read.
///
/// sled 0.34 evicts from its cache only when one of its 256 shards has queued 64 accesses,
/// and a scan touches each leaf once or twice, so a long scan kept everything it read (a full
/// verification of 12.5 million records peaked at 1.5 GB). A lookup of the key just read
/// counts as an access to every node on its path, the new leaf included, so the shards of the
/// leaves behind the scan fill and sled evicts them down to its cache capacity as the scan
/// goes (the same verification: 612 MB with two lookups a batch, and faster, the kernel no
/// longer zeroing fresh pages for every leaf read). The nodes are cached: no I/O.
pub(crate) fn let_cache_evict(shared: &Shared, key: &[u8]) {
    for _ in 0..CACHE_TOUCHES_PER_BATCH {
        let _ = shared.log.get(key);
    }
}

/// Lookups per batch read in [`let_cache_evict`].
const CACHE_TOUCHES_PER_BATCH: usize = 2;

/// Calls `visit(position, stored bytes)` for every position of `from..=to` (clamped to the
/// head), in order, without decoding or hashing the records: for checks that hash the stored
/// bytes themselves. Each batch value is read once. Stops at the first error `visit` returns.
pub(crate) fn scan_bytes<E: From<Error>>(
    shared: &Shared,
    head: u64,
    from: u64,
    to: u64,
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let from = from.max(1);
    let last = to.min(head);
    if from > last {
        return Ok(());
    }
    let Some((first, _)) = batch_holding(shared, from)? else {
        return Err(Error::corrupt(from, "no batch in the log holds this position").into());
    };
    let mut next = first;
    for item in shared.log.range(frame::key(first)..) {
        let (key, value) = item.map_err(Error::from)?;
        let_cache_evict(shared, &key);
        let batch_first = frame::position_of_key(&key)?;
        if batch_first != next {
            let why = if batch_first > next {
                "missing from the log (gap)"
            } else {
                "batches overlap"
            };
            return Err(Error::corrupt(next, why).into());
        }
        let mut rest: &[u8] = &value;
        let mut position = batch_first;
        while !rest.is_empty() {
            let length = frame_length(position, rest)?;
            if position >= from && position <= last {
                visit(position, &rest[4..4 + length])?;
            }
            rest = &rest[4 + length..];
            position += 1;
        }
        if position == batch_first {
            return Err(Error::corrupt(batch_first, "empty batch in the log").into());
        }
        next = position;
        if next > last {
            return Ok(());
        }
    }
    Err(Error::corrupt(next, "missing from the log (shorter than the head)").into())
}

#[cfg(test)]
mod tests {
    use crate::testing::request;
    use crate::{Ledger, LedgerOptions};

    /// Streams interleaved inside batches and across them: a stream read (several positions
    /// per batch, walked once) gives the same records as a range read (every batch split).
    #[test]
    fn stream_reads_slice_the_same_records_as_range_reads() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), LedgerOptions::new("caseledger.test/read")).unwrap();
        let mut versions = [0u64; 3];
        for batch in 0..4 {
            let requests = (0..25)
                .map(|n| {
                    let stream = (n + batch) % 3;
                    versions[stream] += 1;
                    request(&format!("case/{stream}"), versions[stream] - 1, n as u64)
                })
                .collect();
            ledger.append_many_blocking(requests).unwrap();
        }
        let all = ledger.read_range(1, 1000).unwrap();
        assert_eq!(all.len(), 100);
        for (stream, version) in versions.iter().enumerate() {
            let name = format!("case/{stream}");
            let expected: Vec<_> = all.iter().filter(|r| r.record.stream == name).collect();
            let read = ledger.read_stream(&name, 1, 1000).unwrap();
            assert_eq!(read.len() as u64, *version);
            assert_eq!(read.iter().collect::<Vec<_>>(), expected);
            // From a later version, and limited.
            let later = ledger.read_stream(&name, 5, 3).unwrap();
            assert_eq!(later.iter().collect::<Vec<_>>(), expected[4..7].to_vec());
        }
        for record in [&all[0], &all[24], &all[25], &all[99]] {
            let found = ledger
                .read_event(uuid::Uuid::from_bytes(record.record.event_id))
                .unwrap();
            assert_eq!(found.as_ref(), Some(record));
        }
        let mut visited = Vec::new();
        ledger
            .scan_bytes(20, 30, |position, bytes| {
                visited.push((position, bytes.to_vec()));
                Ok::<(), crate::Error>(())
            })
            .unwrap();
        let expected: Vec<_> = all[19..30]
            .iter()
            .map(|r| (r.position, r.bytes.to_vec()))
            .collect();
        assert_eq!(visited, expected);
        // The fields-only read gives the same records, within the same bounds.
        let fields = ledger.read_records(20, 11).unwrap();
        let expected: Vec<_> = all[19..30].iter().map(|r| r.record.clone()).collect();
        assert_eq!(fields, expected);
        assert_eq!(ledger.read_records(95, 50).unwrap().len(), 6);
        assert!(ledger.read_records(101, 5).unwrap().is_empty());
    }
}
