//! Rebuilt from scratch equals built batch by batch, byte for byte, over random valid case and
//! firm histories generated through the domain's `decide` — also across a restart at a random
//! point. Real sled trees in temporary folders.

mod support;

use std::sync::Arc;

use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::{all, KvStore, Options, Projections};
use caseledger_record::Record;
use proptest::prelude::*;

fn store(dir: &tempfile::TempDir) -> (Ledger, Arc<dyn KvStore>) {
    let ledger = Ledger::open(
        dir.path(),
        LedgerOptions::new("caseledger.test/projections"),
    )
    .expect("ledger opens");
    let store: Arc<dyn KvStore> = Arc::new(ledger.store());
    (ledger, store)
}

fn options(commit_records: usize, cache_entries_max: usize) -> Options {
    Options {
        read_batch_records: 97,
        commit_records,
        cache_entries_max,
        parallel_records_min: 64,
        // Small parts, so that large commits take the multi-part path too.
        batch_keys_max: 300,
        fail_after_commits: None,
    }
}

fn history(seed: u64, records: usize) -> Vec<Record> {
    let rules = support::rules();
    let mut sim = support::Sim::new(
        &rules,
        seed,
        support::SimOptions {
            // Long gaps let quarters pass, so firms are assessed, graded and listed.
            step_seconds_max: 40_000,
            ..support::SimOptions::default()
        },
    );
    sim.run(records);
    support::to_records(&sim.steps)
}

/// Applies `log` in batches of the given sizes (cycling), restarting once after `restart_at`
/// records: the projections are dropped and reopened over the log as far as `restart_to`.
fn incremental(
    log: &[Record],
    batches: &[usize],
    restart_at: usize,
    restart_to: usize,
) -> support::Dump {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_ledger, store) = store(&dir);
    let empty: Vec<Record> = Vec::new();
    let (mut projections, _) = Projections::open(
        store.clone(),
        all(),
        &empty,
        options(1_000, 1_000_000),
        &mut |_| {},
    )
    .expect("opens empty");
    let mut next = 0usize;
    let mut restarted = false;
    let mut sizes = batches.iter().cycle();
    while next < log.len() {
        if !restarted && next >= restart_at {
            restarted = true;
            drop(projections);
            let upto = restart_to.max(next).min(log.len());
            let seen = log[..upto].to_vec();
            projections =
                Projections::open(store.clone(), all(), &seen, options(50, 10), &mut |_| {})
                    .expect("reopens")
                    .0;
            next = upto;
            continue;
        }
        let size = (*sizes.next().expect("cycle")).max(1);
        let end = (next + size).min(log.len());
        projections.apply(&log[next..end]).expect("batch applies");
        next = end;
    }
    support::dump_all(&store)
}

fn rebuilt(log: &[Record], commit_records: usize, cache_entries_max: usize) -> support::Dump {
    rebuilt_with(log, options(commit_records, cache_entries_max))
}

fn rebuilt_with(log: &[Record], options: Options) -> support::Dump {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_ledger, store) = store(&dir);
    let source = log.to_vec();
    let (mut projections, summary) =
        Projections::open(store.clone(), all(), &source, options, &mut |_| {}).expect("rebuilds");
    assert_eq!(summary.swapped.len(), 4);
    let first = support::dump_all(&store);
    // An on-demand rebuild into new generations gives the same bytes again.
    projections
        .rebuild(&[], &source, &mut |_| {})
        .expect("rebuilds on demand");
    assert_eq!(support::dump_all(&store), first);
    first
}

fn describe_difference(left: &support::Dump, right: &support::Dump) -> String {
    for ((name, a), (_, b)) in left.iter().zip(right) {
        if a != b {
            let first = a
                .iter()
                .zip(b.iter())
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            let show = |pairs: &[(Vec<u8>, Vec<u8>)]| {
                pairs
                    .get(first)
                    .map(|(key, _)| caseledger_projections::codec::show_key(key))
                    .unwrap_or_default()
            };
            return format!(
                "{name}: {} vs {} entries; first difference at #{first}: {} vs {}",
                a.len(),
                b.len(),
                show(a),
                show(b)
            );
        }
    }
    String::new()
}

#[test]
fn a_long_history_rebuilds_to_the_same_bytes() {
    let log = history(2026, 6_000);
    let left = incremental(&log, &[1, 7, 64, 3, 250], 2_500, 2_900);
    let right = rebuilt(&log, 1_000, 500);
    assert!(left == right, "{}", describe_difference(&left, &right));
    // One commit for the whole history in parts of 40 keys: a shadow's parts are then many,
    // and written key by key on two threads.
    let whole = rebuilt_with(
        &log,
        Options {
            batch_keys_max: 40,
            ..options(1_000_000, 1_000_000)
        },
    );
    assert!(left == whole, "{}", describe_difference(&left, &whole));
    // Every projection has data, so the comparison means something.
    for (name, pairs) in &right {
        assert!(pairs.len() > 10, "{name} is nearly empty");
    }
}

/// Applies `log` in batches of 10 the way the writer does, with `cache_entries_max` set to
/// `cap`; returns the most entries any projection held after a batch, and the dump.
fn applied_with_cap(log: &[Record], cap: usize) -> (usize, support::Dump) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_ledger, store) = store(&dir);
    let empty: Vec<Record> = Vec::new();
    let options = options(1_000, cap);
    let (mut projections, _) =
        Projections::open(store.clone(), all(), &empty, options, &mut |_| {}).expect("opens empty");
    let mut most = 0;
    for batch in log.chunks(10) {
        projections.apply(batch).expect("batch applies");
        for (_, entries) in projections.cached() {
            most = most.max(entries);
        }
    }
    (most, support::dump_all(&store))
}

#[test]
fn the_writers_batches_keep_the_caches_bounded() {
    let log = history(77, 3_000);
    let (unbounded, expected) = applied_with_cap(&log, usize::MAX);
    // Without a bound the caches hold every case and cell seen, far past the bound below.
    assert!(unbounded > 500, "only {unbounded} entries cached");
    let (bounded, dump) = applied_with_cap(&log, 200);
    assert!(
        bounded <= 200,
        "{bounded} entries cached over a bound of 200"
    );
    assert!(
        dump == expected,
        "{}",
        describe_difference(&dump, &expected)
    );
    assert!(dump == rebuilt(&log, 1_000, 1_000_000));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_rebuild(
        seed in 0u64..1_000_000,
        records in 50usize..1_500,
        batches in prop::collection::vec(1usize..80, 1..6),
        restart in 0.0f64..1.0,
        lag in 0usize..200,
        commit_records in 20usize..2_000,
        cache_entries_max in 0usize..3_000,
    ) {
        let log = history(seed, records);
        let restart_at = (restart * log.len() as f64) as usize;
        let left = incremental(&log, &batches, restart_at, restart_at + lag);
        let right = rebuilt(&log, commit_records, cache_entries_max);
        prop_assert!(left == right, "{}", describe_difference(&left, &right));
    }
}
