//! The tree kept by the writer on a real ledger in a temp folder: it equals the RFC tree of
//! the records, proofs verify for any size up to the head, it survives reopening, and
//! checkpoints are signed by count, by time and on demand, in sled and in the file.

mod common;

use caseledger_evidence::{file, Evidence, EvidenceError, EvidenceOptions};
use caseledger_log::{Ledger, LedgerOptions};
use caseledger_proof::checkpoint::Checkpoint;
use caseledger_proof::merkle::{leaf_hash, verify_consistency, verify_inclusion, MemoryTree};
use caseledger_proof::note::NoteSigner;

use common::{append_records, ORIGIN};

fn options(key: &NoteSigner) -> EvidenceOptions {
    let mut options = EvidenceOptions::new(key.clone());
    options.checkpoint_every_records = 1_000_000;
    options.checkpoint_every_seconds = 3600;
    options
}

/// The RFC tree of the log's records, built in memory.
fn memory_tree(ledger: &Ledger) -> MemoryTree {
    let mut tree = MemoryTree::new(4).unwrap();
    for record in ledger.read_range(1, usize::MAX).unwrap() {
        tree.push(&record.bytes);
    }
    tree
}

#[test]
fn proofs_hold_for_every_size_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    {
        let (ledger, _evidence) =
            Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
        // Odd batch sizes, so blocks and batches never line up.
        append_records(&ledger, 101, 13);
    }
    let (ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
    append_records(&ledger, 90, 7);
    assert_eq!(ledger.head().position, 191);
    let memory = memory_tree(&ledger);
    let reference = memory.reader();
    for tree_size in [1, 2, 15, 16, 17, 100, 101, 128, 190, 191] {
        assert_eq!(
            evidence.root(tree_size).unwrap(),
            reference.root(tree_size).unwrap(),
            "root at {tree_size}"
        );
        for position in [1, tree_size / 2 + 1, tree_size] {
            let proof = evidence.inclusion_proof(position, tree_size).unwrap();
            let record = &ledger.read_range(position, 1).unwrap()[0];
            assert_eq!(proof.leaf_hash, leaf_hash(&record.bytes));
            assert_eq!(
                proof.proof,
                reference.inclusion_proof(position - 1, tree_size).unwrap()
            );
            verify_inclusion(
                position - 1,
                tree_size,
                &proof.leaf_hash,
                &proof.proof,
                &proof.root,
            )
            .unwrap();
        }
    }
    let consistency = evidence.consistency_proof(37, 191).unwrap();
    let hashes: Vec<_> = consistency
        .proof
        .iter()
        .map(|hex| caseledger_proof::merkle::Hash::from_hex(hex).unwrap())
        .collect();
    verify_consistency(37, 191, &memory_root(&memory, 37), &memory.root(), &hashes).unwrap();
}

fn memory_root(memory: &MemoryTree, size: u64) -> caseledger_proof::merkle::Hash {
    memory.reader().root(size).unwrap()
}

#[test]
fn sizes_beyond_the_head_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
    append_records(&ledger, 10, 10);
    for (position, tree_size) in [(0, 5), (6, 5), (1, 11)] {
        let error = evidence.inclusion_proof(position, tree_size).unwrap_err();
        assert!(matches!(error, EvidenceError::Range { .. }), "{error}");
    }
    for (from, to) in [(0, 5), (6, 5), (1, 11)] {
        let error = evidence.consistency_proof(from, to).unwrap_err();
        assert!(matches!(error, EvidenceError::Range { .. }), "{error}");
    }
}

#[test]
fn checkpoints_by_count_go_to_sled_and_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let mut options = options(&key);
    options.checkpoint_every_records = 50;
    let (ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options).unwrap();
    append_records(&ledger, 120, 10);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while evidence.checkpoints().unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoints signed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stored = evidence.checkpoints().unwrap();
    let in_file = file::read_entries(dir.path()).unwrap();
    assert_eq!(
        stored.iter().map(|c| c.note.clone()).collect::<Vec<_>>(),
        in_file
    );
    let memory = memory_tree(&ledger);
    for checkpoint in &stored {
        assert!(checkpoint.tree_size >= 50);
        let opened = Checkpoint::open(&checkpoint.note, &key.verifier()).unwrap();
        assert_eq!(opened.root(), memory_root(&memory, opened.tree_size()));
    }
    assert!(stored
        .windows(2)
        .all(|w| w[1].tree_size >= w[0].tree_size + 50));
}

#[test]
fn a_checkpoint_is_signed_after_the_interval_even_below_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let mut options = options(&key);
    options.checkpoint_every_seconds = 1;
    let (ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options).unwrap();
    append_records(&ledger, 3, 3);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while evidence.latest_checkpoint().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint after the interval"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(evidence.latest_checkpoint().unwrap().tree_size, 3);
}

#[test]
fn a_key_named_otherwise_or_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    {
        let (ledger, evidence) =
            Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
        append_records(&ledger, 5, 5);
        evidence.force_checkpoint().unwrap();
    }
    let stranger = NoteSigner::generate("caseledger.test/other").unwrap();
    let error =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&stranger)).unwrap_err();
    assert!(matches!(error, EvidenceError::KeyName { .. }), "{error}");
    let other = NoteSigner::generate(ORIGIN).unwrap();
    let error =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&other)).unwrap_err();
    assert!(matches!(error, EvidenceError::Checkpoint(_)), "{error}");
    // The right key still opens it.
    Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
}

#[test]
fn an_existing_ledger_gains_its_tree_on_first_attach() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap();
        append_records(&ledger, 40, 9);
    }
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let (ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
    let checkpoint = evidence.force_checkpoint().unwrap();
    assert_eq!(checkpoint.tree_size, 40);
    assert_eq!(checkpoint.root, memory_tree(&ledger).root());
}

#[test]
fn proofs_hold_across_the_writes_to_sled_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    let total = caseledger_evidence::tree::WRITE_RECORDS * 2 + 333;
    {
        let (ledger, evidence) =
            Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
        append_records(&ledger, total, 500);
        let memory = memory_tree(&ledger);
        for (position, tree_size) in [(1, total), (4100, 4200), (total, total), (8000, 8193)] {
            let proof = evidence.inclusion_proof(position, tree_size).unwrap();
            assert_eq!(
                proof.proof,
                memory
                    .reader()
                    .inclusion_proof(position - 1, tree_size)
                    .unwrap()
            );
            assert_eq!(proof.root, memory_root(&memory, tree_size));
        }
    }
    // Reopened without a checkpoint: the tree part still in memory is caught up from the log.
    let (ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
    append_records(&ledger, 50, 7);
    let memory = memory_tree(&ledger);
    let head = ledger.head().position;
    assert_eq!(evidence.force_checkpoint().unwrap().root, memory.root());
    let proof = evidence.inclusion_proof(head - 60, head).unwrap();
    verify_inclusion(
        head - 61,
        head,
        &proof.leaf_hash,
        &proof.proof,
        &memory.root(),
    )
    .unwrap();
}

/// Records after the latest checkpoint are held only by the unsigned head file; a clean
/// shutdown signs them, in sled and in the file.
#[test]
fn a_clean_shutdown_signs_the_records_after_the_latest_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let key = NoteSigner::generate(ORIGIN).unwrap();
    {
        let (ledger, evidence) =
            Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
        append_records(&ledger, 20, 7);
        assert_eq!(evidence.force_checkpoint().unwrap().tree_size, 20);
        append_records(&ledger, 5, 5);
        assert_eq!(evidence.latest_checkpoint().unwrap().tree_size, 20);
    }
    let last_in_file = file::read_last(dir.path()).unwrap().unwrap();
    let checkpoint = Checkpoint::open(&last_in_file, &key.verifier()).unwrap();
    assert_eq!(checkpoint.tree_size(), 25);
    let (_ledger, evidence) =
        Evidence::open(dir.path(), LedgerOptions::new(ORIGIN), options(&key)).unwrap();
    let latest = evidence.latest_checkpoint().unwrap();
    assert_eq!((latest.tree_size, latest.root), (25, checkpoint.root()));
}
