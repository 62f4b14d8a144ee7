//! Reads. Nothing past the acknowledged head is ever returned, even if the writer has
//! already inserted it: until the flush it could still vanish in a crash.

use std::sync::Arc;

use caseledger_record::{record_hash, Record};

use crate::error::Error;
use crate::{frame, Shared, StoredRecord};

/// Decodes stored bytes found at `position`.
pub(crate) fn stored(position: u64, bytes: &[u8]) -> Result<StoredRecord, Error> {
    let record =
        Record::decode(bytes).map_err(|error| Error::corrupt(position, error.to_string()))?;
    if record.position != position {
        return Err(Error::corrupt(
            position,
            format!("record stored here says it is position {}", record.position),
        ));
    }
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

pub(crate) fn range(
    shared: &Shared,
    head: u64,
    from: u64,
    limit: usize,
) -> Result<Vec<StoredRecord>, Error> {
    let from = from.max(1);
    if from > head || limit == 0 {
        return Ok(Vec::new());
    }
    let last = head.min(from.saturating_add(limit as u64 - 1));
    let Some((first, _)) = batch_holding(shared, from)? else {
        return Err(Error::corrupt(
            from,
            "no batch in the log holds this position",
        ));
    };
    let mut out = Vec::with_capacity((last - from + 1) as usize);
    let mut next = first;
    for item in shared.log.range(frame::key(first)..) {
        let (key, value) = item?;
        let batch_first = frame::position_of_key(&key)?;
        if batch_first != next {
            let why = if batch_first > next {
                "missing from the log (gap)"
            } else {
                "batches overlap"
            };
            return Err(Error::corrupt(next, why));
        }
        let records = frame::split(batch_first, &value)?;
        for (index, bytes) in records.iter().enumerate() {
            let position = batch_first + index as u64;
            if position >= from && position <= last {
                out.push(stored(position, bytes)?);
            }
        }
        next = batch_first + records.len() as u64;
        if next > last {
            break;
        }
    }
    if out.len() as u64 != last - from + 1 {
        return Err(Error::corrupt(
            from + out.len() as u64,
            "missing from the log (shorter than the head)",
        ));
    }
    Ok(out)
}

/// The record at one position (at most the head).
pub(crate) fn at(shared: &Shared, head: u64, position: u64) -> Result<StoredRecord, Error> {
    let mut records = range(shared, head, position, 1)?;
    records
        .pop()
        .ok_or_else(|| Error::corrupt(position, "indexed position is not in the log"))
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
    let mut out = Vec::new();
    for (version, position) in entries {
        if out.len() >= limit || position > head {
            break;
        }
        let record = at(shared, head, position)?;
        if record.record.stream != stream || record.record.stream_version != version {
            return Err(Error::corrupt(
                position,
                format!("stream index says {stream} version {version}, the record disagrees"),
            ));
        }
        out.push(record);
    }
    Ok(out)
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
