//! The bench's SQLite baseline does the same work as sled: the store reads back what it was
//! given, and the projections folded over it hold the same bytes as over sled, after opening
//! and after an on-demand rebuild.

mod support;

use std::sync::Arc;

use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::{all, KvStore, Options, Projections, Scan, Writes};
use support::sqlite_store::SqliteStore;

#[test]
fn a_tree_reads_back_its_batches_in_key_order_and_drops() {
    let folder = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&folder.path().join("baseline.sqlite")).expect("opens");
    let tree = store.open_tree("proj/x/g1").expect("tree");
    let mut writes = Writes::default();
    writes.put(b"b".to_vec(), b"2".to_vec());
    writes.put(b"a".to_vec(), b"1".to_vec());
    writes.put(b"c".to_vec(), b"3".to_vec());
    tree.apply_batch(writes).expect("writes");
    let mut writes = Writes::default();
    writes.delete(b"c".to_vec());
    writes.put(b"a".to_vec(), b"one".to_vec());
    tree.apply_batch(writes).expect("deletes and replaces");
    assert_eq!(tree.get(b"a").expect("reads"), Some(b"one".to_vec()));
    assert_eq!(tree.get(b"c").expect("reads"), None);
    let mut seen = Vec::new();
    tree.scan(b"a", None, &mut |key, value| {
        seen.push((key.to_vec(), value.to_vec()));
        Scan::Continue
    })
    .expect("scans");
    assert_eq!(
        seen,
        vec![
            (b"a".to_vec(), b"one".to_vec()),
            (b"b".to_vec(), b"2".to_vec())
        ]
    );
    let mut first = Vec::new();
    tree.scan(b"a", Some(b"b"), &mut |key, _| {
        first.push(key.to_vec());
        Scan::Stop
    })
    .expect("scans");
    assert_eq!(
        first,
        vec![b"a".to_vec()],
        "a scan stops when told, before its end"
    );
    assert!(store.drop_tree("proj/x/g1").expect("drops"));
    assert!(!store.drop_tree("proj/x/g1").expect("drops"), "gone");
    let reopened = store.open_tree("proj/x/g1").expect("tree");
    assert_eq!(
        reopened.get(b"a").expect("reads"),
        None,
        "its rows went with it"
    );
}

#[test]
fn projections_over_sqlite_hold_the_same_bytes_as_over_sled() {
    let rules = support::rules();
    let mut sim = support::Sim::new(&rules, 7, support::SimOptions::default());
    sim.run(3_000);
    let log = support::to_records(&sim.steps);
    let folder = tempfile::tempdir().expect("temp dir");
    let ledger = Ledger::open(
        &folder.path().join("ledger"),
        LedgerOptions::new("caseledger.test/projections"),
    )
    .expect("ledger opens");
    let sled: Arc<dyn KvStore> = Arc::new(ledger.store());
    let sqlite: Arc<dyn KvStore> =
        Arc::new(SqliteStore::open(&folder.path().join("baseline.sqlite")).expect("sqlite opens"));
    let mut dumps = Vec::new();
    for store in [sled, sqlite] {
        let (mut projections, summary) =
            Projections::open(store.clone(), all(), &log, Options::default(), &mut |_| {})
                .expect("folds");
        assert_eq!(summary.records, log.len() as u64);
        let opened = support::dump_all(&store);
        projections
            .rebuild(&[], &log, &mut |_| {})
            .expect("rebuilds");
        assert_eq!(
            support::dump_all(&store),
            opened,
            "a rebuild gives the same bytes"
        );
        dumps.push(opened);
    }
    assert!(dumps[0].iter().all(|(_, entries)| !entries.is_empty()));
    assert_eq!(dumps[0], dumps[1]);
}
