//! Damage done behind the ledger's back, straight through sled or the file system: each kind
//! is detected, named by position (or by the head file), and never panics.

use std::path::Path;

use caseledger_log::{Actor, AppendRequest, ErrorKind, Ledger, LedgerOptions, HEAD_FILE_NAME};

const ORIGIN: &str = "caseledger.test/tamper";

fn request(stream: &str, expected_version: u64) -> AppendRequest {
    AppendRequest {
        stream: stream.into(),
        expected_version,
        event_id: uuid::Uuid::now_v7(),
        actor: Actor {
            role: "inspector".into(),
            unit: "township/dongping".into(),
            user: "user-7".into(),
        },
        kind: "InspectionRecorded".into(),
        schema_version: 1,
        payload: b"{\"finding\":\"the lift is stopped\"}".to_vec(),
    }
}

/// Ten records, each in a batch of its own (so the log tree has keys 1..=10).
fn ledger_of_ten(dir: &Path) {
    let ledger = Ledger::open(dir, LedgerOptions::new(ORIGIN)).unwrap();
    for version in 0..10 {
        ledger.append_blocking(request("case/1", version)).unwrap();
    }
}

/// The log tree, opened behind the ledger's back with the same sled settings.
fn raw_log(dir: &Path) -> (sled::Db, sled::Tree) {
    let db = caseledger_log::open_storage(dir).unwrap();
    let tree = db.open_tree("ledger/log").unwrap();
    (db, tree)
}

fn flip_a_payload_byte(dir: &Path, position: u64) {
    let (db, log) = raw_log(dir);
    let key = position.to_be_bytes();
    let mut value = log.get(key).unwrap().unwrap().to_vec();
    let last = value.len() - 3;
    value[last] ^= 0x01;
    log.insert(key, value).unwrap();
    db.flush().unwrap();
}

fn position_of(error: &caseledger_log::Error) -> u64 {
    match error.kind() {
        ErrorKind::Corrupt { position, .. } => *position,
        other => panic!("expected a corruption naming a position, got {other:?}"),
    }
}

#[test]
fn one_changed_byte_in_the_tail_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    flip_a_payload_byte(dir.path(), 7);
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    // Record 7's own bytes still decode, so the break shows where record 8 links to it.
    let position = position_of(&error);
    assert!(position == 7 || position == 8, "{error}");
    assert!(error.to_string().contains(&format!("position {position}")));
}

#[test]
fn one_changed_byte_before_the_tail_is_named_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    flip_a_payload_byte(dir.path(), 3);
    let mut options = LedgerOptions::new(ORIGIN);
    options.tail_check_records = 2;
    let ledger = Ledger::open(dir.path(), options).unwrap();
    let report = ledger.verify(|_, _| {}).unwrap();
    assert!(!report.ok);
    assert_eq!(report.broken_at, Some(4), "{report:?}");
    assert!(report.reason.unwrap().contains("previous hash"));
}

#[test]
fn a_changed_length_prefix_is_named() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    {
        let (db, log) = raw_log(dir.path());
        let key = 5u64.to_be_bytes();
        let mut value = log.get(key).unwrap().unwrap().to_vec();
        value[0] = 0xFF;
        value[1] = 0xFF;
        log.insert(key, value).unwrap();
        db.flush().unwrap();
    }
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert_eq!(position_of(&error), 5, "{error}");
}

#[test]
fn removed_last_records_refuse_to_open() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    {
        let (db, log) = raw_log(dir.path());
        log.remove(10u64.to_be_bytes()).unwrap();
        log.remove(9u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert_eq!(position_of(&error), 9, "{error}");
    assert!(error.to_string().contains("acknowledged"));
}

#[test]
fn a_removed_middle_record_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    {
        let (db, log) = raw_log(dir.path());
        log.remove(4u64.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    // Opening rebuilds the in-memory index from the log, which walks past the hole.
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert_eq!(position_of(&error), 4, "{error}");
    assert!(error.to_string().contains("gap"));
}

#[test]
fn a_deleted_head_file_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    std::fs::remove_file(dir.path().join(HEAD_FILE_NAME)).unwrap();
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Head { .. }), "{error}");
    assert!(error.to_string().contains("missing"));
}

#[test]
fn a_corrupted_head_file_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    let path = dir.path().join(HEAD_FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("position 10", "position 11", 1)).unwrap();
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Head { .. }), "{error}");
    std::fs::write(&path, b"garbage").unwrap();
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Head { .. }), "{error}");
}

#[test]
fn a_well_formed_head_with_another_hash_is_named_by_position() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    let path = dir.path().join(HEAD_FILE_NAME);
    // A head file that checks out by itself but names another hash for position 10.
    let body = format!("caseledger-head 1\nposition 10\nhash {}\n", "ab".repeat(32));
    let check = blake3::hash(body.as_bytes()).to_hex();
    let mut bytes = format!("{body}check {check}\n").into_bytes();
    bytes.resize(255, b' ');
    bytes.push(b'\n');
    std::fs::write(&path, bytes).unwrap();
    let error = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap_err();
    assert_eq!(position_of(&error), 10, "{error}");
}

/// Rewrites records `from..=10` of a ledger of ten through `edit`, then re-chains them and the
/// head file as a forger who knows the format would: every hash recomputed, so only the
/// record-level checks can notice.
fn forge_from(dir: &Path, from: u64, edit: impl Fn(&mut caseledger_record::Record)) {
    let (db, log) = raw_log(dir);
    let previous = log.get((from - 1).to_be_bytes()).unwrap().unwrap();
    let mut prev_hash = caseledger_record::record_hash(&previous[4..]);
    for position in from..=10 {
        let key = position.to_be_bytes();
        let value = log.get(key).unwrap().unwrap();
        let mut record = caseledger_record::Record::decode(&value[4..]).unwrap();
        record.prev_hash = prev_hash;
        if position == from {
            edit(&mut record);
        }
        let bytes = record.encode();
        prev_hash = caseledger_record::record_hash(&bytes);
        let mut value = (bytes.len() as u32).to_le_bytes().to_vec();
        value.extend_from_slice(&bytes);
        log.insert(key, value).unwrap();
    }
    db.flush().unwrap();
    let text = format!(
        "caseledger-head 1\nposition 10\nhash {}\n",
        hex::encode(prev_hash.0)
    );
    let check = blake3::hash(text.as_bytes()).to_hex();
    let mut head = format!("{text}check {check}\n").into_bytes();
    head.resize(511, b' ');
    head.push(b'\n');
    std::fs::write(dir.join(HEAD_FILE_NAME), head).unwrap();
}

/// Opens the forged ledger, checking only the last record's link on open (the forged chain is
/// consistent, so that passes), and returns the position and reason that full verification
/// names, or that opening names when a read on the way (the index rebuild reads records by
/// position) already refuses.
fn named_after_forgery(dir: &Path) -> (u64, String) {
    let mut options = LedgerOptions::new(ORIGIN);
    options.tail_check_records = 1;
    let ledger = match Ledger::open(dir, options) {
        Ok(ledger) => ledger,
        Err(error) => return (position_of(&error), error.to_string()),
    };
    let report = ledger.verify(|_, _| {}).unwrap();
    assert!(!report.ok, "{report:?}");
    (report.broken_at.unwrap(), report.reason.unwrap())
}

#[test]
fn a_rechained_skipped_stream_version_is_named() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    forge_from(dir.path(), 6, |record| record.stream_version += 1);
    let (position, reason) = named_after_forgery(dir.path());
    assert_eq!(position, 6, "{reason}");
    assert!(reason.contains("version"), "{reason}");
}

#[test]
fn a_rechained_record_claiming_another_position_is_named() {
    let dir = tempfile::tempdir().unwrap();
    ledger_of_ten(dir.path());
    forge_from(dir.path(), 4, |record| record.position = 40);
    let (position, reason) = named_after_forgery(dir.path());
    assert_eq!(position, 4, "{reason}");
    assert!(reason.contains("position"), "{reason}");
}
