//! A record rewritten straight in sled, before the log's own tail check can see it: the
//! evidence refuses to open and names the checkpoint's size and both roots. Forced on
//! through the recovery path, the ledger signs a new checkpoint that `caseledger-verify
//! consistency`, run as a separate process, refuses to accept as extending the old one.
//!
//! Which open check catches the rewrite is chosen here, not left to the ledger's size: the
//! quick check re-hashes only the last `open_tail_records` records (set to 5 below, so the
//! rewritten record 20 of 100 lies outside it), so only the full re-hash can catch it. With
//! `OpenCheck::Full` it refuses to open; with the default, the open succeeds and the
//! background re-hash then stops the evidence and the writer. Each mode has its own test,
//! and the tail and the stored tree have theirs.

mod common;

use std::path::Path;
use std::process::Command;

use caseledger_evidence::{
    Evidence, EvidenceError, EvidenceOptions, OpenCheck, OpenCheckStatus, Recovery,
};
use caseledger_log::{ErrorKind, LedgerOptions};
use caseledger_proof::note::NoteSigner;

use common::{append_records, verify_binary, ORIGIN};

fn ledger_options() -> LedgerOptions {
    let mut options = LedgerOptions::new(ORIGIN);
    // The log re-hashes only its last 5 records on open: the rewrite below is older, so only
    // the Merkle check can catch it on open.
    options.tail_check_records = 5;
    options
}

/// Records at the end of the log the quick open check re-hashes in these tests: fewer than
/// the 80 records after the rewritten one, so the quick check alone cannot see it.
const OPEN_TAIL_RECORDS: u64 = 5;

fn evidence_options(key: &NoteSigner, recovery: Recovery) -> EvidenceOptions {
    checked_options(key, recovery, OpenCheck::Full)
}

fn checked_options(key: &NoteSigner, recovery: Recovery, check: OpenCheck) -> EvidenceOptions {
    let mut options = EvidenceOptions::new(key.clone());
    options.checkpoint_every_records = 1_000_000;
    options.checkpoint_every_seconds = 3600;
    options.recovery = recovery;
    options.open_check = check;
    options.open_tail_records = OPEN_TAIL_RECORDS;
    options
}

/// The sled database of a closed ledger, opened behind its back.
fn open_sled(dir: &Path) -> sled::Db {
    caseledger_log::open_storage(dir).unwrap()
}

/// A ledger of 100 records across seven streams, with checkpoints at 50 and 100.
fn ledger_with_two_checkpoints(
    dir: &Path,
    key: &NoteSigner,
) -> (
    caseledger_evidence::StoredCheckpoint,
    caseledger_evidence::StoredCheckpoint,
) {
    let (ledger, evidence) =
        Evidence::open(dir, ledger_options(), evidence_options(key, Recovery::None)).unwrap();
    append_records(&ledger, 50, 10);
    let first = evidence.force_checkpoint().unwrap();
    append_records(&ledger, 50, 10);
    let old = evidence.force_checkpoint().unwrap();
    (first, old)
}

/// A ledger with two checkpoints ([`ledger_with_two_checkpoints`]) whose record 20 was then
/// rewritten behind its back: its folder, its key and the checkpoint at 100.
fn ledger_with_record_20_rewritten() -> (
    tempfile::TempDir,
    NoteSigner,
    caseledger_evidence::StoredCheckpoint,
) {
    let ledger_dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (_, old) = ledger_with_two_checkpoints(ledger_dir.path(), &key);
    rewrite_record(ledger_dir.path(), 20);
    (ledger_dir, key, old)
}

/// Asserts that `error` says the log no longer gives the root `signed` holds for its 100
/// records, naming `first_differing` as the first block of leaves that changed; returns the
/// log's root.
fn assert_root_mismatch(
    error: &EvidenceError,
    signed: &caseledger_evidence::StoredCheckpoint,
    first_differing: Option<(u64, u64)>,
) -> caseledger_proof::merkle::Hash {
    match error {
        EvidenceError::RootMismatch {
            tree_size,
            checkpoint_root,
            log_root,
            first_differing: found,
        } => {
            assert_eq!((*tree_size, *checkpoint_root), (100, signed.root));
            assert_ne!(*log_root, signed.root);
            assert_eq!(*found, first_differing);
            *log_root
        }
        other => panic!("expected a root mismatch, got {other}"),
    }
}

/// Flips one payload byte of the record at `position`, behind the ledger's back.
fn rewrite_record(dir: &Path, position: u64) {
    let db = open_sled(dir);
    let log = db.open_tree("ledger/log").unwrap();
    let (key, value) = log
        .range(..=position.to_be_bytes())
        .next_back()
        .unwrap()
        .unwrap();
    let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
    let mut value = value.to_vec();
    // Walk the batch's length-prefixed records to the one at `position`.
    let mut offset = 0;
    for _ in first..position {
        let length = u32::from_le_bytes(value[offset..offset + 4].try_into().unwrap()) as usize;
        offset += 4 + length;
    }
    let length = u32::from_le_bytes(value[offset..offset + 4].try_into().unwrap()) as usize;
    let end = offset + 4 + length;
    // The payload `{"n":19}` ends the record: change a digit, keep it decodable.
    value[end - 3] ^= 0x01;
    log.insert(key, value).unwrap();
    db.flush().unwrap();
}

fn run_consistency(dir: &Path, old: &str, new: &str, proof: &str, key: &NoteSigner) -> Option<i32> {
    std::fs::write(dir.join("old.checkpoint"), old).unwrap();
    std::fs::write(dir.join("new.checkpoint"), new).unwrap();
    std::fs::write(dir.join("proof.json"), proof).unwrap();
    std::fs::write(dir.join("ledger.pub"), key.verifier().to_text()).unwrap();
    let output = Command::new(verify_binary())
        .arg("consistency")
        .arg(dir.join("old.checkpoint"))
        .arg(dir.join("new.checkpoint"))
        .arg(dir.join("proof.json"))
        .arg("--key")
        .arg(dir.join("ledger.pub"))
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    output.status.code()
}

#[test]
fn a_rewritten_record_refuses_to_open_and_a_forced_checkpoint_is_inconsistent() {
    let ledger_dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (first, old) = {
        let (ledger, evidence) = Evidence::open(
            ledger_dir.path(),
            ledger_options(),
            evidence_options(&key, Recovery::None),
        )
        .unwrap();
        append_records(&ledger, 50, 10);
        let first = evidence.force_checkpoint().unwrap();
        append_records(&ledger, 50, 10);
        let old = evidence.force_checkpoint().unwrap();
        // Control: two honest checkpoints are consistent, and the verifier says so.
        let proof = evidence
            .consistency_proof(first.tree_size, old.tree_size)
            .unwrap();
        let proof = serde_json::to_string_pretty(&proof).unwrap();
        assert_eq!(
            run_consistency(files.path(), &first.note, &old.note, &proof, &key),
            Some(0)
        );
        (first, old)
    };
    assert_eq!((first.tree_size, old.tree_size), (50, 100));

    rewrite_record(ledger_dir.path(), 20);

    let error = Evidence::open(
        ledger_dir.path(),
        ledger_options(),
        evidence_options(&key, Recovery::None),
    )
    .unwrap_err();
    let log_root = assert_root_mismatch(&error, &old, Some((17, 32)));
    let message = error.to_string();
    assert!(message.contains(&old.root.to_string()), "{message}");
    assert!(message.contains(&log_root.to_string()), "{message}");
    assert!(message.contains("100"), "{message}");

    // Forced on: the tree is rebuilt from the altered log and a new checkpoint signed at once,
    // for the same 100 records with another root.
    let (ledger, evidence) = Evidence::open(
        ledger_dir.path(),
        ledger_options(),
        evidence_options(&key, Recovery::RebuildTreeFromLog),
    )
    .unwrap();
    let recovered = evidence.latest_checkpoint().unwrap();
    assert_eq!(recovered.tree_size, 100);
    assert_ne!(recovered.root, old.root);
    append_records(&ledger, 10, 10);
    let new = evidence.force_checkpoint().unwrap();
    assert_eq!(new.tree_size, 110);
    let proof = evidence
        .consistency_proof(old.tree_size, new.tree_size)
        .unwrap();
    let proof = serde_json::to_string_pretty(&proof).unwrap();
    assert_eq!(
        run_consistency(files.path(), &old.note, &new.note, &proof, &key),
        Some(1),
        "the forced checkpoint must not verify as extending the old one"
    );
    // Record 20 is among the first checkpoint's 50 too: it is inconsistent as well.
    let proof = evidence
        .consistency_proof(first.tree_size, new.tree_size)
        .unwrap();
    let proof = serde_json::to_string_pretty(&proof).unwrap();
    assert_eq!(
        run_consistency(files.path(), &first.note, &new.note, &proof, &key),
        Some(1)
    );
    // After the recovery the ledger opens normally again: the log reproduces the new checkpoint.
    drop(evidence);
    drop(ledger);
    Evidence::open(
        ledger_dir.path(),
        ledger_options(),
        evidence_options(&key, Recovery::None),
    )
    .unwrap();
}

#[test]
fn a_checkpoint_file_that_contradicts_sled_refuses_to_open() {
    let ledger_dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    {
        let (ledger, evidence) = Evidence::open(
            ledger_dir.path(),
            ledger_options(),
            evidence_options(&key, Recovery::None),
        )
        .unwrap();
        append_records(&ledger, 30, 10);
        evidence.force_checkpoint().unwrap();
    }
    // A validly signed checkpoint of the same size with another root, appended to the file.
    let forged = caseledger_proof::checkpoint::Checkpoint::new(
        ORIGIN,
        30,
        caseledger_proof::merkle::Hash([7; 32]),
    )
    .unwrap()
    .sign(&key)
    .unwrap();
    caseledger_evidence::file::append(ledger_dir.path(), &forged).unwrap();
    let error = Evidence::open(
        ledger_dir.path(),
        ledger_options(),
        evidence_options(&key, Recovery::None),
    )
    .unwrap_err();
    assert!(
        matches!(error, EvidenceError::Contradiction { tree_size: 30 }),
        "{error}"
    );
}

#[test]
fn by_default_the_open_is_quick_and_the_background_check_stops_serving() {
    let (ledger_dir, key, old) = ledger_with_record_20_rewritten();

    // The default mode, with the rewritten record outside the quick check's tail: the open
    // succeeds, and the full re-hash in the background finds the record.
    let options = checked_options(&key, Recovery::None, OpenCheck::default());
    assert_eq!(options.open_check, OpenCheck::QuickThenFullInBackground);
    let (ledger, evidence) = Evidence::open(ledger_dir.path(), ledger_options(), options).unwrap();
    let OpenCheckStatus::Failed(why) = evidence.wait_open_check() else {
        panic!("the background check passed over a rewritten record");
    };
    assert!(why.contains("17..=32"), "{why}");
    assert!(why.contains(&old.root.to_string()), "{why}");
    // From then on nothing is served: no proof, no bundle, no checkpoint, no append.
    for refused in [
        evidence.inclusion_proof(1, 100).map(|_| ()),
        evidence
            .bundle("case/6", "2026-11-27T00:00:00Z", |_| None)
            .map(|_| ()),
        evidence.force_checkpoint().map(|_| ()),
    ] {
        match refused {
            Err(EvidenceError::Refused(message)) => assert_eq!(message, why),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // case/0 holds 16 records, so this append is valid but for the refusal.
    let appended = ledger.append_blocking(common::request("case/0", 16, "{}"));
    match appended.map_err(|error| error.kind().clone()) {
        Err(ErrorKind::Observer { .. } | ErrorKind::Stopped { .. }) => {}
        other => panic!("expected the writer to refuse, got {other:?}"),
    }
}

#[test]
fn the_quick_check_finds_a_rewritten_record_in_the_tail() {
    // Outside the log's own tail check (5 records), inside the quick check's 100.
    let (ledger_dir, key, _) = ledger_with_record_20_rewritten();
    let mut options = checked_options(&key, Recovery::None, OpenCheck::Quick);
    options.open_tail_records = 100;
    let error = Evidence::open(ledger_dir.path(), ledger_options(), options).unwrap_err();
    assert!(
        matches!(error, EvidenceError::RecordDiffers { position: 20 }),
        "{error}"
    );
}

#[test]
fn a_bundle_holding_a_rewritten_record_is_refused() {
    // Record 20 belongs to case/5 (the first 50 records go to case/(n % 7), n = position - 1).
    let (ledger_dir, key, _) = ledger_with_record_20_rewritten();
    // The quick check alone (the background one would stop everything first).
    let (_ledger, evidence) = Evidence::open(
        ledger_dir.path(),
        ledger_options(),
        checked_options(&key, Recovery::None, OpenCheck::Quick),
    )
    .unwrap();
    assert_eq!(evidence.open_check(), OpenCheckStatus::Passed);
    match evidence.bundle("case/5", "2026-11-27T00:00:00Z", |_| None) {
        Err(EvidenceError::Assemble(
            caseledger_proof::bundle::AssembleError::NotInCheckpoint { position: 20, .. },
        )) => {}
        other => panic!("expected the bundle to be refused at record 20, got {other:?}"),
    }
    // A case without the rewritten record is served.
    let bundle = evidence
        .bundle("case/6", "2026-11-27T00:00:00Z", |_| None)
        .unwrap();
    assert_eq!(bundle.records.len(), 14);
}

#[test]
fn a_rewritten_tree_node_refuses_to_open() {
    let ledger_dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (_, old) = ledger_with_two_checkpoints(ledger_dir.path(), &key);
    {
        // The root of 100 records hashes the stored node over records 1..=64 (level 6).
        let db = open_sled(ledger_dir.path());
        let tree = db.open_tree(caseledger_evidence::tree::TREE_NAME).unwrap();
        let mut key = vec![b'n', 6];
        key.extend_from_slice(&0u64.to_be_bytes());
        assert!(tree.get(&key).unwrap().is_some());
        tree.insert(key, &[9u8; 32][..]).unwrap();
        db.flush().unwrap();
    }
    let error = Evidence::open(
        ledger_dir.path(),
        ledger_options(),
        checked_options(&key, Recovery::None, OpenCheck::Quick),
    )
    .unwrap_err();
    match error {
        EvidenceError::TreeMismatch {
            tree_size,
            checkpoint_root,
            tree_root,
        } => {
            assert_eq!(tree_size, 100);
            assert_eq!(checkpoint_root, old.root);
            assert_ne!(tree_root, old.root);
        }
        other => panic!("expected a tree mismatch, got {other}"),
    }
}

/// Opens the closed ledger in `dir` again, with the full open check and `recovery`.
fn reopen(
    dir: &Path,
    key: &NoteSigner,
    recovery: Recovery,
) -> Result<(caseledger_log::Ledger, Evidence), EvidenceError> {
    Evidence::open(dir, ledger_options(), evidence_options(key, recovery))
}

/// Damages the stored tree of a closed ledger: `what` picks a node above the leaves, a block
/// of leaf hashes, or the tree's state record.
fn damage_tree(dir: &Path, what: &str) {
    let db = open_sled(dir);
    let tree = db.open_tree(caseledger_evidence::tree::TREE_NAME).unwrap();
    let key = match what {
        "node" => {
            let mut key = vec![b'n', 6];
            key.extend_from_slice(&0u64.to_be_bytes());
            key
        }
        "leaves" => tree
            .scan_prefix(b"l")
            .next()
            .expect("a stored block of leaf hashes")
            .unwrap()
            .0
            .to_vec(),
        "state" => b"state".to_vec(),
        other => panic!("no such damage: {other}"),
    };
    let mut value = tree
        .get(&key)
        .unwrap()
        .expect("the damaged key exists")
        .to_vec();
    let last = value.len() - 1;
    value[last] ^= 0x01;
    tree.insert(key, value).unwrap();
    db.flush().unwrap();
}

#[test]
fn a_damaged_tree_is_repaired_from_a_sound_log_without_a_new_checkpoint() {
    for what in ["node", "leaves", "state"] {
        let ledger_dir = tempfile::tempdir().unwrap();
        let key = NoteSigner::generate(ORIGIN).unwrap();
        let (_, old) = ledger_with_two_checkpoints(ledger_dir.path(), &key);
        damage_tree(ledger_dir.path(), what);
        // A normal open refuses, and says the tree is what differs.
        let refused = reopen(ledger_dir.path(), &key, Recovery::None);
        match (what, refused) {
            // The state's last bytes are a leaf hash of the last block: the root changes.
            ("node" | "state", Err(EvidenceError::TreeMismatch { tree_size, .. })) => {
                assert_eq!(tree_size, 100);
            }
            // Records 1..=16 lie outside the quick check's tail: the full re-hash compares
            // each block of stored leaf hashes with the log.
            ("leaves", Err(EvidenceError::TreeDamaged { first, last })) => {
                assert_eq!((first, last), (1, 16));
            }
            (what, Err(other)) => panic!("{what}: refused for another reason: {other}"),
            (what, Ok(_)) => panic!("{what}: a damaged tree opened"),
        }
        // The repair checks the log against the signed root, then rebuilds the tree.
        let (ledger, evidence) = reopen(ledger_dir.path(), &key, Recovery::RepairTreeFromLog)
            .unwrap_or_else(|error| panic!("{what}: the repair refused: {error}"));
        assert_eq!(evidence.root(100).unwrap(), old.root, "{what}");
        assert_eq!(evidence.open_check(), OpenCheckStatus::Passed, "{what}");
        // Nothing was signed: the latest checkpoint is still the old one.
        let latest = evidence.latest_checkpoint().unwrap();
        assert_eq!((latest.tree_size, latest.root), (100, old.root), "{what}");
        drop(evidence);
        drop(ledger);
        // And the next open is a normal one.
        let (_ledger, evidence) = reopen(ledger_dir.path(), &key, Recovery::None)
            .unwrap_or_else(|error| panic!("{what}: the repaired ledger refused: {error}"));
        assert_eq!(evidence.root(100).unwrap(), old.root, "{what}");
    }
}

#[test]
fn the_repair_refuses_a_rewritten_log_and_keeps_the_stored_tree() {
    let (ledger_dir, key, old) = ledger_with_record_20_rewritten();
    let error = reopen(ledger_dir.path(), &key, Recovery::RepairTreeFromLog).unwrap_err();
    // The repair compares the log with the signed root only, so it names no block.
    assert_root_mismatch(&error, &old, None);
    // The stored tree was not touched: a normal full open still finds the block that changed
    // by comparing the log with it.
    let error = reopen(ledger_dir.path(), &key, Recovery::None).unwrap_err();
    match error {
        EvidenceError::RootMismatch {
            first_differing, ..
        } => assert_eq!(first_differing, Some((17, 32))),
        other => panic!("expected a root mismatch, got {other}"),
    }
}
