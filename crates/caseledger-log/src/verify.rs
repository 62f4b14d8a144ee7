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
use std::hash::{Hash as _, Hasher};

use caseledger_record::{ChainWalker, Hash};

use crate::error::Error;
use crate::head::Head;
use crate::index::{Kind, Snapshot};
use crate::{frame, keys, read, Shared};

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

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Digest {
    count: u64,
    low: u64,
    high: u64,
}

impl Digest {
    fn add(&mut self, key: &[u8], position: u64) {
        let mut low = std::hash::DefaultHasher::new();
        key.hash(&mut low);
        position.hash(&mut low);
        let mut high = std::hash::DefaultHasher::new();
        0xC0FFEE_u32.hash(&mut high);
        key.hash(&mut high);
        position.hash(&mut high);
        self.count += 1;
        self.low = self.low.wrapping_add(low.finish());
        self.high = self.high.wrapping_add(high.finish());
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
    mut progress: impl FnMut(u64, u64),
) -> Result<VerifyReport, Error> {
    let total = head.position;
    let mut walker = ChainWalker::new(shared.genesis);
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut expected_events = Digest::default();
    let mut expected_streams = Digest::default();
    let mut last_hash = shared.genesis;
    progress(0, total);
    'batches: for item in shared.log.iter() {
        let (key, value) = item?;
        let next = walker.next_position();
        if next > total {
            break;
        }
        let first = match frame::position_of_key(&key) {
            Ok(first) => first,
            Err(error) => return Ok(broken(&head, next - 1, next, error.to_string())),
        };
        if first != next {
            let why = if first > next { "gap before batch" } else { "batches overlap" };
            return Ok(broken(&head, next - 1, next, format!("缺失或重叠 / {why} starting at {first}")));
        }
        let records = match frame::split(first, &value) {
            Ok(records) => records,
            Err(error) => {
                return Ok(broken(&head, next - 1, error.position().unwrap_or(next), error.to_string()))
            }
        };
        for bytes in records {
            let position = walker.next_position();
            if position > total {
                break 'batches;
            }
            let (record, hash) = match walker.push(bytes) {
                Ok(pair) => pair,
                Err(error) => return Ok(broken(&head, position - 1, error.position(), error.to_string())),
            };
            let previous = versions.get(&record.stream).copied().unwrap_or(0);
            if record.stream_version != previous + 1 {
                return Ok(broken(
                    &head,
                    position - 1,
                    position,
                    format!(
                        "流版本不连续 / stream {} jumps from version {previous} to {}",
                        record.stream, record.stream_version
                    ),
                ));
            }
            expected_events.add(&record.event_id, position);
            expected_streams.add(&keys::stream_key(&record.stream, record.stream_version), position);
            match versions.get_mut(&record.stream) {
                Some(version) => *version = record.stream_version,
                None => {
                    versions.insert(record.stream, record.stream_version);
                }
            }
            last_hash = hash;
        }
        progress(walker.next_position() - 1, total);
    }
    let checked = walker.next_position() - 1;
    if checked < total {
        return Ok(broken(&head, checked, checked + 1, "记录缺失 / the log ends before the acknowledged head"));
    }
    if last_hash != head.hash {
        return Ok(broken(&head, checked, total, "末条哈希与头文件不符 / the last hash differs from the head"));
    }
    let snapshot = shared.index.read().expect("index lock").snapshot();
    let mut actual_events = Digest::default();
    let mut actual_streams = Digest::default();
    snapshot.for_each_entry(|kind, key, position| {
        // Entries past the head belong to a batch being written right now.
        if position <= total {
            match kind {
                Kind::Events => actual_events.add(key, position),
                Kind::Streams => actual_streams.add(key, position),
            }
        }
    })?;
    if actual_events != expected_events || actual_streams != expected_streams {
        let position = first_bad_index_entry(shared, &snapshot, total)?;
        return Ok(broken(&head, total, position, "索引与日志不符 / the indexes disagree with the log"));
    }
    progress(total, total);
    Ok(VerifyReport {
        ok: true,
        records: total,
        head_hash: head.hash,
        broken_at: None,
        reason: None,
    })
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
                        Kind::Streams => key == keys::stream_key(&record.stream, record.stream_version),
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
