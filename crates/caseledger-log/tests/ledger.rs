//! The ledger through its public API, on real sled folders.

use std::sync::{Arc, Mutex};

use caseledger_log::{
    Actor, AppendRequest, Committed, Error, ErrorKind, KvBatch, Ledger, LedgerOptions, Observer,
};

const ORIGIN: &str = "caseledger.test/anhua";

fn request(stream: &str, expected_version: u64, payload: &str) -> AppendRequest {
    AppendRequest {
        stream: stream.into(),
        expected_version,
        event_id: uuid::Uuid::now_v7(),
        actor: Actor {
            role: "handler".into(),
            unit: "housing".into(),
            user: "user-1".into(),
        },
        kind: "CaseAccepted".into(),
        schema_version: 1,
        payload: payload.as_bytes().to_vec(),
    }
}

fn open(dir: &std::path::Path) -> Ledger {
    Ledger::open(dir, LedgerOptions::new(ORIGIN)).unwrap()
}

#[test]
fn appends_are_read_back_by_position_stream_and_event() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    assert_eq!(ledger.head().position, 0);
    assert_eq!(ledger.head().hash, ledger.genesis());
    let first = request("case/1", 0, "a");
    let a = ledger.append_blocking(first.clone()).unwrap();
    let b = ledger.append_blocking(request("case/2", 0, "b")).unwrap();
    let c = ledger.append_blocking(request("case/1", 1, "c")).unwrap();
    assert_eq!((a.position, b.position, c.position), (1, 2, 3));
    assert_eq!(
        (a.stream_version, b.stream_version, c.stream_version),
        (1, 1, 2)
    );
    assert!(!a.duplicate);
    assert_eq!(ledger.head().position, 3);
    assert_eq!(ledger.head().hash, c.hash);

    let all = ledger.read_range(1, 10).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].record.prev_hash, ledger.genesis());
    assert_eq!(all[1].record.prev_hash, a.hash);
    assert_eq!(all[2].hash, c.hash);
    assert_eq!(ledger.read_range(2, 1).unwrap()[0].record.payload, b"b");
    assert!(ledger.read_range(4, 10).unwrap().is_empty());

    let stream = ledger.read_stream("case/1", 1, 10).unwrap();
    let positions: Vec<u64> = stream.iter().map(|s| s.position).collect();
    assert_eq!(positions, vec![1, 3]);
    assert_eq!(ledger.read_stream("case/1", 2, 10).unwrap()[0].position, 3);
    assert!(ledger.read_stream("case/10", 1, 10).unwrap().is_empty());

    let found = ledger.read_event(first.event_id).unwrap().unwrap();
    assert_eq!(found.position, 1);
    assert!(ledger.read_event(uuid::Uuid::now_v7()).unwrap().is_none());
    assert_eq!(ledger.stream_version("case/1").unwrap(), 2);
    assert_eq!(ledger.stream_version("case/none").unwrap(), 0);
    let report = ledger.verify(|_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 3);
}

#[test]
fn a_stale_version_is_a_conflict_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ledger.append_blocking(request("case/1", 0, "a")).unwrap();
    let error = ledger
        .append_blocking(request("case/1", 0, "b"))
        .unwrap_err();
    assert_eq!(
        error.kind(),
        &ErrorKind::Conflict {
            stream: "case/1".into(),
            expected: 0,
            actual: 1
        }
    );
    assert!(error.to_string().contains("expected version 0"));
    let error = ledger
        .append_blocking(request("case/2", 3, "b"))
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::Conflict {
            expected: 3,
            actual: 0,
            ..
        }
    ));
    // A conflict appends nothing and the writer goes on.
    assert_eq!(ledger.head().position, 1);
    ledger.append_blocking(request("case/1", 1, "c")).unwrap();
}

#[test]
fn duplicates_return_the_original_and_differing_content_is_rejected_for_life() {
    let dir = tempfile::tempdir().unwrap();
    let original = request("case/1", 0, "a");
    let first = {
        let ledger = open(dir.path());
        let first = ledger.append_blocking(original.clone()).unwrap();
        let again = ledger.append_blocking(original.clone()).unwrap();
        assert_eq!(
            again,
            caseledger_log::Appended {
                duplicate: true,
                ..first
            }
        );
        first
    };
    let ledger = open(dir.path());
    let again = ledger.append_blocking(original.clone()).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.position, first.position);
    let mut changed = original.clone();
    changed.payload = b"other".to_vec();
    let error = ledger.append_blocking(changed).unwrap_err();
    assert_eq!(
        error.kind(),
        &ErrorKind::DuplicateMismatch {
            event_id: original.event_id
        }
    );
    assert_eq!(ledger.head().position, 1);
}

#[test]
fn append_many_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ledger.append_blocking(request("case/1", 0, "a")).unwrap();
    let error = ledger
        .append_many_blocking(vec![
            request("case/2", 0, "b"),
            request("case/1", 0, "stale"),
        ])
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Conflict { .. }));
    assert_eq!(ledger.head().position, 1);
    assert_eq!(ledger.stream_version("case/2").unwrap(), 0);
    let results = ledger
        .append_many_blocking(vec![
            request("case/2", 0, "b"),
            request("case/2", 1, "c"),
            request("case/1", 1, "d"),
        ])
        .unwrap();
    let positions: Vec<u64> = results.iter().map(|r| r.position).collect();
    assert_eq!(positions, vec![2, 3, 4]);
    assert_eq!(results[1].stream_version, 2);
    let same_id = request("case/3", 0, "e");
    let error = ledger
        .append_many_blocking(vec![
            same_id.clone(),
            AppendRequest {
                expected_version: 1,
                ..same_id
            },
        ])
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::DuplicateInBatch { .. }));
    assert!(ledger.verify(|_, _| {}).unwrap().ok);
}

#[test]
fn invalid_requests_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let mut long = request("case/1", 0, "a");
    long.stream = "s".repeat(300);
    assert!(matches!(
        ledger.append_blocking(long).unwrap_err().kind(),
        ErrorKind::Invalid { .. }
    ));
    let mut big = request("case/1", 0, "");
    big.payload = vec![0; caseledger_log::PAYLOAD_BYTES_MAX + 1];
    assert!(matches!(
        ledger.append_blocking(big).unwrap_err().kind(),
        ErrorKind::Invalid { .. }
    ));
    assert!(matches!(
        ledger
            .append_blocking(request("", 0, "a"))
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid { .. }
    ));
    assert_eq!(ledger.head().position, 0);
}

#[test]
fn an_atomic_append_larger_than_a_batch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = LedgerOptions::new(ORIGIN);
    options.batch_records_max = 2;
    let ledger = Ledger::open(dir.path(), options).unwrap();
    let error = ledger
        .append_many_blocking(vec![
            request("case/1", 0, "a"),
            request("case/1", 1, "b"),
            request("case/1", 2, "c"),
        ])
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Invalid { .. }), "{error}");
    assert_eq!(ledger.head().position, 0);
    ledger
        .append_many_blocking(vec![request("case/1", 0, "a"), request("case/1", 1, "b")])
        .unwrap();
    assert_eq!(ledger.head().position, 2);
}

#[test]
fn reopening_continues_the_chain_and_checks_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let ledger = open(dir.path());
        ledger.append_blocking(request("case/1", 0, "a")).unwrap();
        ledger.head()
    };
    let ledger = open(dir.path());
    assert_eq!(ledger.head(), head);
    let next = ledger.append_blocking(request("case/1", 1, "b")).unwrap();
    assert_eq!(next.position, 2);
    assert_eq!(
        ledger.read_range(2, 1).unwrap()[0].record.prev_hash,
        head.hash
    );
    drop(ledger);
    let error = Ledger::open(dir.path(), LedgerOptions::new("another/origin")).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::OriginMismatch { .. }));
    let existing = Ledger::open_existing(dir.path(), LedgerOptions::new("")).unwrap();
    assert_eq!(existing.origin(), ORIGIN);
    assert_eq!(existing.head().position, 2);
    let missing = Ledger::open_existing(&dir.path().join("nothing"), LedgerOptions::new(""));
    assert!(matches!(missing.unwrap_err().kind(), ErrorKind::Io { .. }));
}

/// Records what it was given; fails on demand.
struct Recorder {
    seen: Arc<Mutex<Vec<u64>>>,
    fail_at: Option<u64>,
    applied: Option<u64>,
}

impl Observer for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn apply(&mut self, batch: &[Committed]) -> Result<(), Error> {
        for committed in batch {
            if Some(committed.position) == self.fail_at {
                return Err(Error::new(ErrorKind::Invalid {
                    reason: "told to fail".into(),
                }));
            }
            self.seen.lock().unwrap().push(committed.position);
        }
        Ok(())
    }
    fn applied_position(&self) -> Option<u64> {
        self.applied
    }
}

#[test]
fn observers_see_every_batch_and_a_failure_stops_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let observer = Recorder {
            seen: seen.clone(),
            fail_at: Some(3),
            applied: None,
        };
        let ledger = Ledger::open_with_observers(
            dir.path(),
            LedgerOptions::new(ORIGIN),
            vec![Box::new(observer)],
        )
        .unwrap();
        ledger.append_blocking(request("case/1", 0, "a")).unwrap();
        ledger.append_blocking(request("case/1", 1, "b")).unwrap();
        let error = ledger
            .append_blocking(request("case/1", 2, "c"))
            .unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::Observer { .. }),
            "{error}"
        );
        // Not acknowledged: readers do not see it.
        assert_eq!(ledger.head().position, 2);
        let error = ledger
            .append_blocking(request("case/2", 0, "d"))
            .unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Stopped { .. }), "{error}");
    }
    assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
    // On reopen an observer that says it applied up to 1 is replayed from 2.
    let replayed = Arc::new(Mutex::new(Vec::new()));
    let observer = Recorder {
        seen: replayed.clone(),
        fail_at: None,
        applied: Some(1),
    };
    let ledger = Ledger::open_with_observers(
        dir.path(),
        LedgerOptions::new(ORIGIN),
        vec![Box::new(observer)],
    )
    .unwrap();
    let head = ledger.head().position;
    assert!(head >= 2, "acknowledged records survive");
    assert_eq!(*replayed.lock().unwrap(), (2..=head).collect::<Vec<_>>());
    assert!(ledger.verify(|_, _| {}).unwrap().ok);
}

/// Applies slowly and publishes the last position it applied.
struct Slow {
    applied: Arc<std::sync::atomic::AtomicU64>,
}

impl Observer for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn apply(&mut self, batch: &[Committed]) -> Result<(), Error> {
        std::thread::sleep(std::time::Duration::from_millis(3));
        let last = batch.last().map_or(0, |committed| committed.position);
        self.applied
            .store(last, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// Panics on its second batch.
struct Panicking {
    batches: u32,
}

impl Observer for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }
    fn apply(&mut self, _batch: &[Committed]) -> Result<(), Error> {
        self.batches += 1;
        assert!(self.batches < 2, "an observer bug");
        Ok(())
    }
}

/// A panicking observer fails the request whose batch it was given (and every later one);
/// nothing waits for an answer for ever.
#[test]
fn a_panicking_observer_fails_its_request_instead_of_hanging_it() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_with_observers(
        dir.path(),
        LedgerOptions::new(ORIGIN),
        vec![Box::new(Panicking { batches: 0 })],
    )
    .unwrap();
    ledger.append_blocking(request("case/1", 0, "a")).unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let appending = ledger.clone();
    std::thread::spawn(move || {
        let second = appending.append_blocking(request("case/1", 1, "b"));
        let third = appending.append_blocking(request("case/2", 0, "c"));
        let _ = sender.send((second.is_err(), third.is_err()));
    });
    let (second_failed, third_failed) = receiver
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the requests were answered");
    assert!(second_failed && third_failed);
    assert_eq!(ledger.head().position, 1);
}

/// The observers run while the syncer flushes, but nothing is answered, and no reader sees a
/// head, before every observer has applied it: a client reads its own writes.
#[test]
fn nothing_is_acknowledged_before_the_observers_applied_it() {
    let dir = tempfile::tempdir().unwrap();
    let applied = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ledger = Ledger::open_with_observers(
        dir.path(),
        LedgerOptions::new(ORIGIN),
        vec![Box::new(Slow {
            applied: applied.clone(),
        })],
    )
    .unwrap();
    let threads: Vec<_> = (0..16)
        .map(|task| {
            let ledger = ledger.clone();
            let applied = applied.clone();
            std::thread::spawn(move || {
                for step in 0..20u64 {
                    let stream = format!("case/{task}");
                    let appended = ledger.append_blocking(request(&stream, step, "x")).unwrap();
                    let seen = applied.load(std::sync::atomic::Ordering::SeqCst);
                    assert!(
                        seen >= appended.position,
                        "acknowledged {} before the observer applied it ({seen})",
                        appended.position
                    );
                    let head = ledger.head().position;
                    let seen = applied.load(std::sync::atomic::Ordering::SeqCst);
                    assert!(seen >= head, "head {head} ahead of the observer ({seen})");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(ledger.head().position, 320);
    assert!(ledger.verify(|_, _| {}).unwrap().ok);
}

/// The storage of a closed ledger opens behind its back with the ledger's settings, at once
/// after the ledger is dropped; an open ledger's is refused, and a folder without a ledger
/// is an error that creates nothing.
#[test]
fn the_storage_of_a_closed_ledger_opens_and_nothing_else_does() {
    let empty = tempfile::tempdir().unwrap();
    let error = caseledger_log::open_storage(empty.path()).unwrap_err();
    assert!(error.to_string().contains("no ledger"), "{error}");
    assert!(!empty.path().join(caseledger_log::SLED_DIR_NAME).exists());

    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ledger.append_blocking(request("case/1", 0, "a")).unwrap();
    let error = caseledger_log::open_storage(dir.path()).unwrap_err();
    assert!(error.to_string().contains("is already open"), "{error}");
    drop(ledger);
    let db = caseledger_log::open_storage(dir.path()).unwrap();
    assert_eq!(db.open_tree("ledger/log").unwrap().len(), 1);
}

/// A folder that is open stays refused (after a short wait for the lock); once closed it
/// opens at once, however soon after.
#[test]
fn an_open_folder_is_refused_and_a_closed_one_reopens_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    ledger.append_blocking(request("case/1", 0, "a")).unwrap();
    let started = std::time::Instant::now();
    let error = match Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)) {
        Ok(_) => panic!("a folder already open was opened again"),
        Err(error) => error,
    };
    assert!(
        matches!(error.kind(), ErrorKind::InUse { dir: held } if held == dir.path()),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("is already open"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    drop(ledger);
    for version in 1..20 {
        let ledger = open(dir.path());
        ledger
            .append_blocking(request("case/1", version, "b"))
            .unwrap();
    }
    assert_eq!(open(dir.path()).head().position, 20);
}

#[test]
fn the_store_gives_trees_but_never_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let store = ledger.store();
    assert!(store.open_tree("ledger/log").is_err());
    assert!(store.drop_tree("ledger/index").is_err());
    let tree = store.open_tree("projection/case-status").unwrap();
    let mut batch = KvBatch::new();
    batch.insert(b"a/1", b"x");
    batch.insert(b"a/2", b"y");
    batch.insert(b"b/1", b"z");
    tree.apply_batch(batch).unwrap();
    assert_eq!(tree.get(b"a/2").unwrap(), Some(b"y".to_vec()));
    let prefixed: Vec<_> = tree
        .scan_prefix(b"a/")
        .map(|item| item.unwrap().0)
        .collect();
    assert_eq!(prefixed, vec![b"a/1".to_vec(), b"a/2".to_vec()]);
    let ranged: Vec<_> = tree
        .range(b"a/2".to_vec()..)
        .map(|item| item.unwrap().1)
        .collect();
    assert_eq!(ranged, vec![b"y".to_vec(), b"z".to_vec()]);
    assert_eq!(tree.last().unwrap().unwrap().0, b"b/1".to_vec());
    assert!(store
        .tree_names()
        .contains(&"projection/case-status".to_string()));
    assert!(store.drop_tree("projection/case-status").unwrap());
}

#[test]
fn many_records_roll_into_index_runs_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let total = 70_000u64;
    let mut ids = Vec::new();
    {
        let ledger = open(dir.path());
        let mut versions = std::collections::HashMap::new();
        let mut position = 0;
        while position < total {
            let batch: Vec<AppendRequest> = (0..1000)
                .map(|i| {
                    let stream = format!("case/{}", (position + i) % 997);
                    let version = versions.entry(stream.clone()).or_insert(0u64);
                    let request = request(&stream, *version, "p");
                    *version += 1;
                    request
                })
                .collect();
            ids.push(batch[0].event_id);
            ledger.append_many_blocking(batch).unwrap();
            position += 1000;
        }
        assert_eq!(ledger.head().position, total);
    }
    let ledger = open(dir.path());
    assert_eq!(ledger.read_event(ids[0]).unwrap().unwrap().position, 1);
    assert_eq!(
        ledger.read_event(ids[69]).unwrap().unwrap().position,
        69_001
    );
    let stream = ledger.read_stream("case/5", 1, 1000).unwrap();
    assert_eq!(stream.len(), 71);
    assert!(stream
        .windows(2)
        .all(|w| w[1].record.stream_version == w[0].record.stream_version + 1));
    assert_eq!(ledger.stream_version("case/5").unwrap(), 71);
    ledger
        .append_blocking(request("case/5", 71, "next"))
        .unwrap();
    let report = ledger.verify(|_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, total + 1);
    drop(ledger);

    // An index entry edited behind the ledger's back: the first event-id entry of the first
    // run now points one position further. Verification names the damage.
    {
        let db = caseledger_log::open_storage(dir.path()).unwrap();
        let index = db.open_tree("ledger/index").unwrap();
        let mut key = vec![1u8];
        key.extend(1u64.to_be_bytes());
        key.extend(0u32.to_be_bytes());
        let mut chunk = index.get(&key).unwrap().unwrap().to_vec();
        let at = 2 + 16 + 7; // the low byte of the first entry's position
        chunk[at] = chunk[at].wrapping_add(1);
        index.insert(&key, chunk).unwrap();
        db.flush().unwrap();
    }
    let ledger = open(dir.path());
    let report = ledger.verify(|_, _| {}).unwrap();
    assert!(!report.ok, "{report:?}");
    assert!(report.broken_at.is_some());
    assert!(report.reason.unwrap().contains("indexes disagree"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]

    /// Many tasks appending to a few streams at once: positions gapless, each stream's
    /// versions contiguous, the chain verifies, retried ids come back as duplicates.
    #[test]
    fn concurrent_appends_stay_gapless_and_contiguous(
        tasks in 2usize..24,
        per_task in 1usize..30,
        streams in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = open(dir.path());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let acknowledged = runtime.block_on(async {
            let mut handles = Vec::new();
            for task in 0..tasks {
                let ledger = ledger.clone();
                handles.push(tokio::spawn(async move {
                    let mut out = Vec::new();
                    for step in 0..per_task {
                        let stream = format!("case/{}", (task + step) % streams);
                        // Optimistic concurrency: reload and retry on conflict, as a client would.
                        loop {
                            let version = ledger.stream_version(&stream).unwrap();
                            let req = request(&stream, version, &format!("{task}/{step}"));
                            match ledger.append(req.clone()).await {
                                Ok(appended) => {
                                    let again = ledger.append(req).await.unwrap();
                                    assert!(again.duplicate);
                                    assert_eq!(again.position, appended.position);
                                    out.push(appended);
                                    break;
                                }
                                Err(error) if matches!(error.kind(), ErrorKind::Conflict { .. }) => continue,
                                Err(error) => panic!("{error}"),
                            }
                        }
                    }
                    out
                }));
            }
            let mut all = Vec::new();
            for handle in handles {
                all.extend(handle.await.unwrap());
            }
            all
        });
        let mut positions: Vec<u64> = acknowledged.iter().map(|a| a.position).collect();
        positions.sort_unstable();
        let expected: Vec<u64> = (1..=(tasks * per_task) as u64).collect();
        proptest::prop_assert_eq!(positions, expected);
        let records = ledger.read_range(1, tasks * per_task).unwrap();
        let mut last = std::collections::HashMap::new();
        for stored in &records {
            let previous = last.insert(stored.record.stream.clone(), stored.record.stream_version).unwrap_or(0);
            proptest::prop_assert_eq!(stored.record.stream_version, previous + 1);
        }
        let report = ledger.verify(|_, _| {}).unwrap();
        proptest::prop_assert!(report.ok, "{:?}", report);
    }
}

#[test]
fn an_import_keeps_its_times_but_never_goes_backwards_or_ahead_of_now() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let day_us = 86_400_000_000i64;
    let past = 1_750_000_000_000_000i64; // June 2025
    let appended = ledger
        .import_many_blocking(vec![
            (request("case/import-1", 0, "a"), past),
            (request("case/import-1", 1, "b"), past + day_us),
        ])
        .unwrap();
    let records = ledger.read_range(1, 10).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].record.recorded_at_us, past);
    assert_eq!(records[1].record.recorded_at_us, past + day_us);
    assert_eq!(appended[1].recorded_at_us, past + day_us);

    // Going backwards, or into the future, is refused and appends nothing.
    let head = ledger.head();
    let backwards = ledger
        .import_many_blocking(vec![(request("case/import-2", 0, "c"), past)])
        .unwrap_err();
    assert!(
        backwards.to_string().contains("before the previous"),
        "{backwards}"
    );
    let future = i64::MAX / 2;
    let ahead = ledger
        .import_many_blocking(vec![(request("case/import-2", 0, "c"), future)])
        .unwrap_err();
    assert!(ahead.to_string().contains("future"), "{ahead}");
    assert_eq!(ledger.head(), head);

    // An ordinary append after an import is stamped by the writer's clock, never earlier.
    let now = ledger
        .append_blocking(request("case/import-2", 0, "d"))
        .unwrap();
    assert!(now.recorded_at_us > past + day_us);
    assert!(ledger.verify(|_, _| {}).unwrap().ok);
}
