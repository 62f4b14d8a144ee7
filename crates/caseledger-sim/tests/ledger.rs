//! A simulated history appended to a real ledger in a temp folder: it verifies and reads back.

use std::path::PathBuf;

use caseledger_domain::act::Act;
use caseledger_domain::seal::MemoryKeyStore;
use caseledger_log::{Ledger, LedgerOptions};
use caseledger_sim::{append_all, load_rules, AppendError, SimConfig, Simulation};

#[test]
fn a_simulated_history_appends_to_a_real_ledger_that_verifies() {
    let ops = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ops");
    let rules = load_rules(&ops).expect("the shipped ops folder loads");
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path(), LedgerOptions::new("caseledger.test/sim")).unwrap();

    let mut keys = MemoryKeyStore::default();
    let simulation = Simulation::new(SimConfig::year(3, 250), &rules, &mut keys).unwrap();
    let mut calls = 0;
    let mut last = 0;
    let summary = append_all(&ledger, simulation, |progress| {
        calls += 1;
        assert!(progress.appended > last);
        last = progress.appended;
    })
    .expect("the history appends");
    assert!(summary.appended > 2_000, "{} records", summary.appended);
    assert_eq!(summary.head, summary.appended);
    assert!(calls >= 1);

    let report = ledger.verify(|_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");

    // Every record decodes to an act on the stream it names.
    let mut position = 1;
    while position <= summary.head {
        for stored in ledger.read_range(position, 1_000).unwrap() {
            let record = &stored.record;
            let act = Act::decode(&record.kind, record.schema_version, &record.payload)
                .expect("every payload decodes");
            assert_eq!(act.stream().to_string(), record.stream);
            position = stored.position + 1;
        }
    }

    // A second run of the same config cannot go on top: its positions would be wrong.
    let mut keys = MemoryKeyStore::default();
    let again = Simulation::new(SimConfig::year(3, 10), &rules, &mut keys).unwrap();
    match append_all(&ledger, again, |_| {}) {
        Err(AppendError::WrongStart { head, expected }) => {
            assert_eq!((head, expected), (summary.head, 1));
        }
        other => panic!("expected WrongStart, got {other:?}"),
    }
    assert_eq!(ledger.head().position, summary.head);
}
