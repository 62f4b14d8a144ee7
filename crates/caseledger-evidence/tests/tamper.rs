//! A record rewritten straight in sled, before the log's own tail check can see it: the
//! evidence refuses to open and names the checkpoint's size and both roots. Forced on
//! through the recovery path, the ledger signs a new checkpoint that `caseledger-verify
//! consistency`, run as a separate process, refuses to accept as extending the old one.

mod common;

use std::path::Path;
use std::process::Command;

use caseledger_evidence::{Evidence, EvidenceError, EvidenceOptions, Recovery};
use caseledger_log::{LedgerOptions, SLED_DIR_NAME};
use caseledger_proof::note::NoteSigner;

use common::{append_records, verify_binary, ORIGIN};

fn ledger_options() -> LedgerOptions {
    let mut options = LedgerOptions::new(ORIGIN);
    // The log re-hashes only its last 5 records on open: the rewrite below is older, so only
    // the Merkle check can catch it on open.
    options.tail_check_records = 5;
    options
}

fn evidence_options(key: &NoteSigner, recovery: Recovery) -> EvidenceOptions {
    let mut options = EvidenceOptions::new(key.clone());
    options.checkpoint_every_records = 1_000_000;
    options.checkpoint_every_seconds = 3600;
    options.recovery = recovery;
    options
}

/// Flips one payload byte of the record at `position`, behind the ledger's back.
fn rewrite_record(dir: &Path, position: u64) {
    let db = sled::Config::new()
        .path(dir.join(SLED_DIR_NAME))
        .segment_size(8 * 1024 * 1024)
        .open()
        .unwrap();
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
    let message = error.to_string();
    match &error {
        EvidenceError::RootMismatch {
            tree_size,
            checkpoint_root,
            log_root,
            first_differing,
        } => {
            assert_eq!(*tree_size, 100);
            assert_eq!(*checkpoint_root, old.root);
            assert_ne!(*log_root, old.root);
            assert_eq!(*first_differing, Some((17, 32)));
            assert!(message.contains(&checkpoint_root.to_string()), "{message}");
            assert!(message.contains(&log_root.to_string()), "{message}");
            assert!(message.contains("100"), "{message}");
        }
        other => panic!("expected a root mismatch, got {other}"),
    }

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
