//! The write path shared by every resource: read the stream, decide, append, answer.
//!
//! - `If-Match: "<version>"` pins the stream version the client decided on: another version
//!   answers 409 and appends nothing.
//! - Requests on one stream take a lock (one of [`STREAM_LOCKS`] shards) from reading the
//!   stream to the append's acknowledgement, so that concurrent clients of one case queue
//!   instead of deciding on the same state and losing the append race over and over.
//! - Without `If-Match`, a conflict with a writer outside this service is not the client's
//!   doing: the stream is read again and the command decided again on the fresh state, a
//!   bounded number of times.
//! - `Idempotency-Key` maps to the event id deterministically (a hash of the caller, the
//!   stream and the key), so a repeat finds the first result in the log's event index, for
//!   the life of the ledger, and two racing repeats append once.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use caseledger_domain::act::{Act, RecordedAct};
use caseledger_log::{Actor, AppendRequest, ErrorKind, StoredRecord};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::AppState;

/// Decide-and-append attempts before giving up on a contended stream.
const CONFLICT_ATTEMPTS_MAX: usize = 16;

/// Records of one stream read to decide on it, at most.
pub const STREAM_RECORDS_MAX: usize = 100_000;

/// Shards of the per-stream write lock. Unrelated streams share a shard rarely, and then
/// only wait for one another's append.
pub const STREAM_LOCKS: usize = 4096;

/// The per-stream write locks.
pub struct StreamLocks {
    shards: Vec<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for StreamLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamLocks")
    }
}

impl Default for StreamLocks {
    fn default() -> StreamLocks {
        StreamLocks {
            shards: (0..STREAM_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }
}

impl StreamLocks {
    fn shard(stream: &str) -> usize {
        let digest = blake3::hash(stream.as_bytes());
        let bytes: [u8; 8] = digest.as_bytes()[..8].try_into().expect("8 bytes");
        (u64::from_le_bytes(bytes) % STREAM_LOCKS as u64) as usize
    }

    /// The lock of `stream`.
    pub fn of(&self, stream: &str) -> &tokio::sync::Mutex<()> {
        &self.shards[Self::shard(stream)]
    }

    /// Takes the locks of all `streams`: each shard once (two streams may share one), in
    /// shard order, so two callers locking overlapping sets never wait for each other in a
    /// circle, and a caller holding one lock never waits for a second.
    pub async fn lock_all(&self, streams: &[&str]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut shards: Vec<usize> = streams.iter().map(|stream| Self::shard(stream)).collect();
        shards.sort_unstable();
        shards.dedup();
        let mut guards = Vec::with_capacity(shards.len());
        for shard in shards {
            guards.push(self.shards[shard].lock().await);
        }
        guards
    }
}

/// Streams whose decoded acts the write path keeps in memory at most. Beyond that the cache
/// is emptied and refills from the log.
pub const STREAM_CACHE_ENTRIES_MAX: usize = 8_192;

/// The decoded acts of recently written streams, with the stream version they reflect, so
/// that an act on a case does not re-read and re-decode the case's whole stream from the log.
/// An entry is used only when its version equals the log's current version of the stream
/// (read from the stream index under the stream's lock), so appends made outside this
/// service are never missed.
#[derive(Default)]
pub struct StreamCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (u64, Arc<CachedStream>)>>,
}

impl std::fmt::Debug for StreamCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamCache")
    }
}

impl StreamCache {
    fn get(&self, stream: &str, version: u64) -> Option<Arc<CachedStream>> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(stream)
            .filter(|(cached, _)| *cached == version)
            .map(|(_, acts)| acts.clone())
    }

    fn put(&self, stream: &str, version: u64, acts: Arc<CachedStream>) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= STREAM_CACHE_ENTRIES_MAX && !entries.contains_key(stream) {
            entries.clear();
        }
        entries.insert(stream.to_owned(), (version, acts));
    }

    /// Moves the entry of `stream` from `from` to `to` by appending `new` acts, in place
    /// when nobody else holds the entry.
    fn extend(&self, stream: &str, from: u64, to: u64, new: Vec<RecordedAct>) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some((version, cached)) = entries.get_mut(stream) else {
            return;
        };
        if *version != from {
            entries.remove(stream);
            return;
        }
        let cached = Arc::make_mut(cached);
        for recorded in new {
            cached.case =
                caseledger_domain::case::evolve(std::mem::take(&mut cached.case), &recorded.act);
            cached.acts.push(recorded);
        }
        *version = to;
    }

    fn forget(&self, stream: &str) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.remove(stream);
    }
}

/// A stream as the write path decides on it: its decoded acts, and their fold as a case
/// (the default state for streams that are not cases), kept so that an act does not replay
/// the whole stream.
#[derive(Debug, Clone, Default)]
pub struct CachedStream {
    /// Every act of the stream, in order, with positions.
    pub acts: Vec<RecordedAct>,
    /// `CaseState::replay` of `acts`.
    pub case: caseledger_domain::case::CaseState,
}

/// The decoded acts of `stream` and its version: from the cache when current, else from the
/// log. Call it holding the stream's lock.
fn load_stream(state: &AppState, stream: &str) -> Result<(u64, Arc<CachedStream>), ApiError> {
    let version = state
        .ledger()
        .stream_version(stream)
        .map_err(crate::routes::views::read_failed)?;
    if let Some(acts) = state.stream_cache().get(stream, version) {
        return Ok((version, acts));
    }
    let records = read_stream(state, stream)?;
    let version = records.last().map_or(0, |last| last.record.stream_version);
    let acts = decode_records(&records)?;
    let case =
        caseledger_domain::case::CaseState::replay(acts.iter().map(|recorded| &recorded.act));
    let acts = Arc::new(CachedStream { acts, case });
    state.stream_cache().put(stream, version, acts.clone());
    Ok((version, acts))
}

/// Longest `Idempotency-Key`, in bytes.
const IDEMPOTENCY_KEY_BYTES_MAX: usize = 200;

/// One appended act, as answered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AppendedAct {
    /// The act kind.
    pub act: String,
    /// Its position in the log.
    pub position: u64,
    /// Its chain hash, hex.
    pub hash: String,
    /// Its version in its stream.
    pub stream_version: u64,
}

/// The answer to a write.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WriteOutcome {
    /// The stream written (`case/<id>`, `firm/<uscc>`).
    pub stream: String,
    /// Position of the last act appended.
    pub position: u64,
    /// Hash of the last act appended, hex.
    pub hash: String,
    /// The stream's version after the write (send it back in `If-Match`).
    pub stream_version: u64,
    /// Every act appended, in order (a command may give more than one).
    pub acts: Vec<AppendedAct>,
    /// True when this repeats an earlier request with the same `Idempotency-Key`: nothing new
    /// was appended and this is the first result.
    pub duplicate: bool,
}

/// The preconditions of a write, from its headers.
#[derive(Debug, Clone, Default)]
pub struct WriteHeaders {
    /// `If-Match`, parsed.
    pub if_match: Option<u64>,
    /// `Idempotency-Key`, raw.
    pub idempotency_key: Option<String>,
}

impl WriteHeaders {
    /// Reads `If-Match` (`"3"`, `W/"3"` or `3`) and `Idempotency-Key`.
    pub fn from_headers(headers: &HeaderMap) -> Result<WriteHeaders, ApiError> {
        let if_match = match headers.get("if-match") {
            None => None,
            Some(value) => {
                let text = value.to_str().unwrap_or("").trim();
                let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
                Some(text.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(
                        "If-Match 须为流版本号，如 \"3\"",
                        "If-Match must be a stream version such as \"3\"",
                        Some("If-Match"),
                    )
                })?)
            }
        };
        let idempotency_key = match headers.get("idempotency-key") {
            None => None,
            Some(value) => {
                let text = value.to_str().unwrap_or("");
                if text.is_empty() || text.len() > IDEMPOTENCY_KEY_BYTES_MAX {
                    return Err(ApiError::bad_request(
                        &format!("Idempotency-Key 须为 1 到 {IDEMPOTENCY_KEY_BYTES_MAX} 个可见字符"),
                        &format!("Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible characters"),
                        Some("Idempotency-Key"),
                    ));
                }
                Some(text.to_owned())
            }
        };
        Ok(WriteHeaders {
            if_match,
            idempotency_key,
        })
    }
}

/// The event id of a request: derived from the caller, the stream and the idempotency key
/// when there is one (a UUIDv8 over SHA-256), otherwise fresh and time-ordered (v7).
pub fn event_id_for(caller: &Caller, scope: &str, key: Option<&str>) -> Uuid {
    let Some(key) = key else {
        return Uuid::now_v7();
    };
    derived_id(&[
        "caseledger idempotency v1",
        &caller.principal.role,
        &caller.principal.unit,
        &caller.principal.user,
        scope,
        key,
    ])
}

fn derived_id(parts: &[&str]) -> Uuid {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The event id of the `index`-th act of a multi-act decision (0 is `first` itself).
fn nth_event_id(first: Uuid, index: usize) -> Uuid {
    if index == 0 {
        first
    } else {
        derived_id(&[
            "caseledger follow-on act v1",
            &first.to_string(),
            &index.to_string(),
        ])
    }
}

/// Decodes stored records into acts with their positions.
pub fn decode_records(records: &[StoredRecord]) -> Result<Vec<RecordedAct>, ApiError> {
    records
        .iter()
        .map(|stored| {
            let record = &stored.record;
            let act = Act::decode(&record.kind, record.schema_version, &record.payload).map_err(
                |error| {
                    ApiError::internal(format!(
                        "record {} does not decode: {error}",
                        stored.position
                    ))
                },
            )?;
            Ok(RecordedAct {
                position: stored.position,
                event_id: record.event_uuid(),
                recorded_at: record.recorded_at(),
                act,
            })
        })
        .collect()
}

/// Reads every record of `stream` (bounded by [`STREAM_RECORDS_MAX`]).
pub fn read_stream(state: &AppState, stream: &str) -> Result<Vec<StoredRecord>, ApiError> {
    let records = state
        .ledger()
        .read_stream(stream, 1, STREAM_RECORDS_MAX)
        .map_err(crate::routes::views::read_failed)?;
    if records.len() == STREAM_RECORDS_MAX {
        return Err(ApiError::internal(format!(
            "stream {stream} has more than {STREAM_RECORDS_MAX} records"
        )));
    }
    Ok(records)
}

/// The answer for an event id already in the log: the first result.
fn repeated(state: &AppState, event_id: Uuid) -> Result<Option<WriteOutcome>, ApiError> {
    let Some(first) = state
        .ledger()
        .read_event(event_id)
        .map_err(crate::routes::views::read_failed)?
    else {
        return Ok(None);
    };
    let mut acts = vec![first.clone()];
    // Follow-on acts of the same decision have derived ids.
    for index in 1.. {
        match state
            .ledger()
            .read_event(nth_event_id(event_id, index))
            .map_err(crate::routes::views::read_failed)?
        {
            Some(next) => acts.push(next),
            None => break,
        }
    }
    let last = acts.last().unwrap_or(&first);
    Ok(Some(WriteOutcome {
        stream: first.record.stream.clone(),
        position: last.position,
        hash: last.hash.to_hex(),
        stream_version: last.record.stream_version,
        acts: acts
            .iter()
            .map(|stored| AppendedAct {
                act: stored.record.kind.clone(),
                position: stored.position,
                hash: stored.hash.to_hex(),
                stream_version: stored.record.stream_version,
            })
            .collect(),
        duplicate: true,
    }))
}

/// Reads `stream`, lets `decide` turn its acts into new acts (or refuse), and appends them.
/// `decide` is called again on fresh records after a conflict when the client sent no
/// `If-Match`. Everything `decide` refuses appends nothing.
pub async fn decide_and_append<F>(
    state: &AppState,
    caller: &Caller,
    stream: &str,
    headers: &WriteHeaders,
    event_id: Uuid,
    decide: F,
) -> Result<WriteOutcome, ApiError>
where
    F: FnMut(&CachedStream) -> Result<Vec<Act>, ApiError>,
{
    decide_and_append_holding(state, caller, stream, &[], headers, event_id, decide).await
}

/// [`decide_and_append`], holding the write locks of the streams in `also` too while
/// `decide` runs and the acts are appended: what `decide` reads of them (through the
/// projections, which hold every acknowledged act) cannot change before the append.
pub async fn decide_and_append_holding<F>(
    state: &AppState,
    caller: &Caller,
    stream: &str,
    also: &[&str],
    headers: &WriteHeaders,
    event_id: Uuid,
    mut decide: F,
) -> Result<WriteOutcome, ApiError>
where
    F: FnMut(&CachedStream) -> Result<Vec<Act>, ApiError>,
{
    if headers.idempotency_key.is_some() {
        if let Some(outcome) = repeated(state, event_id)? {
            state.metrics().count_append(true);
            return Ok(outcome);
        }
    }
    let mut streams = vec![stream];
    streams.extend_from_slice(also);
    let _stream_locks = state.stream_locks().lock_all(&streams).await;
    if headers.idempotency_key.is_some() {
        // A repeat that waited for the lock behind its first request.
        if let Some(outcome) = repeated(state, event_id)? {
            state.metrics().count_append(true);
            return Ok(outcome);
        }
    }
    let actor = Actor {
        role: caller.principal.role.clone(),
        unit: caller.principal.unit.clone(),
        user: caller.principal.user.clone(),
    };
    for _ in 0..CONFLICT_ATTEMPTS_MAX {
        let (version, records) = load_stream(state, stream)?;
        if let Some(expected) = headers.if_match {
            if expected != version {
                return Err(ApiError::VersionConflict {
                    expected,
                    current: version,
                });
            }
        }
        let acts = decide(&records)?;
        if acts.is_empty() {
            return Err(ApiError::internal("decide returned no act"));
        }
        let requests: Vec<AppendRequest> = acts
            .iter()
            .enumerate()
            .map(|(index, act)| AppendRequest {
                stream: act.stream().to_string(),
                expected_version: version + index as u64,
                event_id: nth_event_id(event_id, index),
                actor: actor.clone(),
                kind: act.kind().to_owned(),
                schema_version: act.schema_version(),
                payload: act.encode_payload(),
            })
            .collect();
        if let Some(request) = requests.iter().find(|request| request.stream != stream) {
            return Err(ApiError::internal(format!(
                "decision on {stream} produced an act for {}",
                request.stream
            )));
        }
        match state.ledger().append_many(requests).await {
            Ok(appended) => {
                let last = *appended.last().expect("one result per request");
                state.notify_appended(last.position);
                for result in &appended {
                    state.metrics().count_append(result.duplicate);
                }
                if appended.iter().any(|result| result.duplicate) {
                    state.stream_cache().forget(stream);
                } else {
                    let new: Vec<RecordedAct> = acts
                        .iter()
                        .zip(&appended)
                        .enumerate()
                        .map(|(index, (act, result))| RecordedAct {
                            position: result.position,
                            event_id: nth_event_id(event_id, index),
                            recorded_at: chrono::DateTime::from_timestamp_micros(
                                result.recorded_at_us,
                            )
                            .unwrap_or_default(),
                            act: act.clone(),
                        })
                        .collect();
                    // Let go of our reference first, so the entry grows in place.
                    drop(records);
                    state
                        .stream_cache()
                        .extend(stream, version, last.stream_version, new);
                }
                return Ok(WriteOutcome {
                    stream: stream.to_owned(),
                    position: last.position,
                    hash: last.hash.to_hex(),
                    stream_version: last.stream_version,
                    acts: acts
                        .iter()
                        .zip(&appended)
                        .map(|(act, result)| AppendedAct {
                            act: act.kind().to_owned(),
                            position: result.position,
                            hash: result.hash.to_hex(),
                            stream_version: result.stream_version,
                        })
                        .collect(),
                    duplicate: appended.iter().all(|result| result.duplicate),
                });
            }
            Err(error) => match error.kind() {
                ErrorKind::Conflict {
                    expected, actual, ..
                } => {
                    if headers.if_match.is_some() {
                        return Err(ApiError::VersionConflict {
                            expected: *expected,
                            current: *actual,
                        });
                    }
                    continue;
                }
                ErrorKind::DuplicateMismatch { .. } => {
                    // A concurrent repeat with the same key won the race: answer its result.
                    if let Some(outcome) = repeated(state, event_id)? {
                        return Ok(outcome);
                    }
                    return Err(ApiError::internal(error));
                }
                ErrorKind::Invalid { reason } => {
                    return Err(ApiError::Unprocessable {
                        zh: "记录不符合台账的限制".into(),
                        en: format!("The act does not fit the ledger's limits: {reason}"),
                        field: None,
                    })
                }
                ErrorKind::Overloaded => {
                    return Err(ApiError::Unavailable {
                        zh: "写入队列已满，请稍后再试".into(),
                        en: "The write queue is full; retry later".into(),
                    })
                }
                // The writer stops when the evidence's open check fails: say so (503).
                ErrorKind::Observer { .. } | ErrorKind::Stopped { .. } => {
                    return Err(crate::routes::service::open_check_failure(state)
                        .unwrap_or_else(|| ApiError::internal(error)))
                }
                _ => return Err(ApiError::internal(error)),
            },
        }
    }
    let current = state
        .ledger()
        .stream_version(stream)
        .map_err(crate::routes::views::read_failed)?;
    Err(ApiError::VersionConflict {
        expected: current,
        current,
    })
}

/// The answer to a write: 201 with `body` (200 for a repeat), and the stream's version as
/// the `ETag`, to send back in `If-Match`.
pub fn write_answer(outcome: &WriteOutcome, body: impl Serialize) -> axum::response::Response {
    let status = if outcome.duplicate {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::CREATED
    };
    let mut response = crate::json::json_answer(status, &body);
    let (name, value) = etag(outcome.stream_version);
    response.headers_mut().insert(name, value);
    response
}

/// Sets `ETag: "<version>"`.
pub fn etag(version: u64) -> (axum::http::HeaderName, HeaderValue) {
    (
        axum::http::header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\""))
            .unwrap_or(HeaderValue::from_static("\"0\"")),
    )
}

#[cfg(test)]
mod tests {
    use super::StreamLocks;

    /// Two streams of one shard take it once (a second `lock` would wait for ever), whatever
    /// order the streams are named in.
    #[tokio::test]
    async fn lock_all_takes_each_shard_once() {
        let locks = StreamLocks::default();
        let first = "case/0";
        let same_shard = (1..1_000_000)
            .map(|n| format!("case/{n}"))
            .find(|stream| StreamLocks::shard(stream) == StreamLocks::shard(first))
            .expect("a second stream in the first one's shard");
        let other = (1..)
            .map(|n| format!("case/{n}"))
            .find(|stream| StreamLocks::shard(stream) != StreamLocks::shard(first))
            .unwrap();
        let taken = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            locks.lock_all(&[first, &same_shard, &other]),
        )
        .await
        .expect("locking two streams of one shard does not wait on itself");
        assert_eq!(taken.len(), 2);
        // Held: another writer of either shard waits.
        assert!(locks.of(first).try_lock().is_err());
        assert!(locks.of(&other).try_lock().is_err());
        drop(taken);
        assert!(locks.of(first).try_lock().is_ok());
        // Named in the other order, the same two shards are taken.
        let taken = locks.lock_all(&[&other, first]).await;
        assert_eq!(taken.len(), 2);
    }
}
