//! The framework with a tiny projection: catch-up, byte-identical rebuild, version change,
//! an interrupted rebuild that leaves the old generation serving, and gaps.

use std::sync::Arc;

use caseledger_projections::framework::{generation_tree, read_checkpoint, read_meta, META_TREE};
use caseledger_projections::store::dump;
use caseledger_projections::{
    codec, Error, Input, KvStore, MemStore, Options, Projection, Projections, Reader, Table, Tx,
};
use caseledger_record::{Actor, Hash, Record, RECORD_FORMAT};

/// Counts records per kind and remembers each stream's last position.
struct Tally {
    version: u32,
    kinds: Table<u64>,
}

impl Tally {
    fn boxed(version: u32) -> Box<dyn Projection> {
        Box::new(Tally {
            version,
            kinds: Table::default(),
        })
    }
}

impl Projection for Tally {
    fn name(&self) -> &'static str {
        "tally"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn apply(&mut self, input: &Input<'_>, tx: &mut Tx<'_>) -> Result<(), Error> {
        let record = input.record;
        let key = format!("k/{}", record.kind).into_bytes();
        *self.kinds.get_or_insert_with(tx, &key, || 0)? += u64::from(self.version);
        tx.put(
            format!("s/{}", record.stream).into_bytes(),
            codec::encode(&record.position),
        );
        Ok(())
    }
    fn flush(&mut self, tx: &mut Tx<'_>) -> Result<(), Error> {
        self.kinds.flush(tx);
        Ok(())
    }
    fn discard(&mut self) {
        self.kinds.clear();
    }
    fn cached(&self) -> usize {
        self.kinds.len()
    }
}

fn records(count: u64) -> Vec<Record> {
    (1..=count)
        .map(|position| Record {
            format: RECORD_FORMAT,
            position,
            prev_hash: Hash([0; 32]),
            recorded_at_us: 1_764_000_000_000_000 + position as i64,
            stream: format!("case/{}", position % 13),
            stream_version: position / 13 + 1,
            event_id: [0; 16],
            actor: Actor {
                role: "r".into(),
                unit: "u".into(),
                user: "x".into(),
            },
            kind: ["A", "B", "C"][(position % 3) as usize].into(),
            schema_version: 1,
            payload: Vec::new(),
        })
        .collect()
}

fn small_options() -> Options {
    Options {
        read_batch_records: 7,
        commit_records: 20,
        parallel_records_min: 1,
        ..Options::default()
    }
}

fn active_dump(store: &MemStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    let reader = Reader::new(Arc::new(store.clone())).unwrap();
    dump(reader.tree("tally").unwrap().as_ref()).unwrap()
}

fn open(
    store: &MemStore,
    version: u32,
    log: &Vec<Record>,
    options: Options,
) -> Result<Projections, Error> {
    Projections::open(
        Arc::new(store.clone()),
        vec![Tally::boxed(version)],
        log,
        options,
        &mut |_| {},
    )
    .map(|(projections, _)| projections)
}

#[test]
fn incremental_equals_rebuild_byte_for_byte() {
    let log = records(100);
    let incremental = MemStore::new();
    let mut projections = open(&incremental, 1, &Vec::new(), small_options()).unwrap();
    for chunk in log.chunks(9) {
        projections.apply(chunk).unwrap();
    }
    let rebuilt = MemStore::new();
    open(&rebuilt, 1, &log, small_options()).unwrap();
    assert_eq!(active_dump(&incremental), active_dump(&rebuilt));
    assert!(!active_dump(&rebuilt).is_empty());
    // An on-demand rebuild gives the same bytes again, in a new generation.
    let mut projections = open(&rebuilt, 1, &log, small_options()).unwrap();
    let summary = projections.rebuild(&["tally"], &log, &mut |_| {}).unwrap();
    assert_eq!(summary.swapped, vec!["tally".to_string()]);
    assert_eq!(active_dump(&incremental), active_dump(&rebuilt));
}

#[test]
fn open_catches_up_from_the_checkpoint_and_skips_what_it_has() {
    let log = records(50);
    let store = MemStore::new();
    let mut projections = open(&store, 1, &log[..10].to_vec(), small_options()).unwrap();
    projections.apply(&log[5..12]).unwrap();
    assert_eq!(projections.checkpoints(), vec![("tally", 12)]);
    let error = projections.apply(&log[20..22]).unwrap_err();
    assert!(matches!(
        error,
        Error::Gap {
            expected: 13,
            found: 21,
            ..
        }
    ));
    let projections = open(&store, 1, &log, small_options()).unwrap();
    assert_eq!(projections.checkpoints(), vec![("tally", 50)]);
    let reference = MemStore::new();
    open(&reference, 1, &log, small_options()).unwrap();
    assert_eq!(active_dump(&store), active_dump(&reference));
}

#[test]
fn a_version_change_rebuilds_and_swaps() {
    let log = records(40);
    let store = MemStore::new();
    open(&store, 1, &log, small_options()).unwrap();
    let meta = store.open_tree(META_TREE).unwrap();
    let first = read_meta(meta.as_ref(), "tally").unwrap().active.unwrap();
    let mut seen = Vec::new();
    let (_, summary) = Projections::open(
        Arc::new(store.clone()),
        vec![Tally::boxed(2)],
        &log,
        small_options(),
        &mut |progress| seen.push((progress.done, progress.writing)),
    )
    .unwrap();
    assert_eq!(summary.swapped, vec!["tally".to_string()]);
    // Progress comes after every read batch (7 records), and as each commit starts: after
    // 20 records or more, and at the head.
    let batches: Vec<u64> = seen.iter().filter(|(_, w)| !w).map(|(d, _)| *d).collect();
    assert_eq!(batches, vec![7, 14, 21, 28, 35, 40]);
    let commits: Vec<u64> = seen.iter().filter(|(_, w)| *w).map(|(d, _)| *d).collect();
    assert_eq!(commits, vec![21, 40]);
    assert_eq!(seen.iter().position(|&p| p == (21, true)), Some(3));
    let second = read_meta(meta.as_ref(), "tally").unwrap().active.unwrap();
    assert_eq!(second.version, 2);
    assert_ne!(first.number, second.number);
    assert!(!store
        .tree_names()
        .contains(&generation_tree("tally", first.number)));
}

#[test]
fn a_rebuild_drops_the_old_generation_behind_it_and_an_open_forgets_it() {
    let log = records(40);
    let store = MemStore::new();
    let mut projections = open(&store, 1, &log, small_options()).unwrap();
    let meta = store.open_tree(META_TREE).unwrap();
    let first = read_meta(meta.as_ref(), "tally").unwrap().active.unwrap();
    let summary = projections.rebuild(&[], &log, &mut |_| {}).unwrap();
    assert_eq!(summary.swapped, vec!["tally".to_string()]);
    let entry = read_meta(meta.as_ref(), "tally").unwrap();
    assert_ne!(entry.active.unwrap().number, first.number);
    // Listed as retired until an open or a shadow drops it again; the tree itself is
    // dropped on a thread that dropping the projections waits for.
    assert_eq!(entry.retired, vec![first.number]);
    drop(projections);
    let old_tree = generation_tree("tally", first.number);
    assert!(!store.tree_names().contains(&old_tree));
    let projections = open(&store, 1, &log, small_options()).unwrap();
    assert!(read_meta(meta.as_ref(), "tally")
        .unwrap()
        .retired
        .is_empty());
    assert!(!store.tree_names().contains(&old_tree));
    assert_eq!(projections.checkpoints(), vec![("tally", 40)]);
}

#[test]
fn an_interrupted_rebuild_leaves_the_old_generation_serving_and_resumes() {
    let log = records(100);
    let store = MemStore::new();
    open(&store, 1, &log, small_options()).unwrap();
    let before = active_dump(&store);
    let failing = Options {
        fail_after_commits: Some(2),
        ..small_options()
    };
    let error = open(&store, 2, &log, failing).err().unwrap();
    assert_eq!(error, Error::Injected(2));
    // The old generation still answers, unchanged.
    assert_eq!(active_dump(&store), before);
    let meta = store.open_tree(META_TREE).unwrap();
    let entry = read_meta(meta.as_ref(), "tally").unwrap();
    let building = entry.building.unwrap();
    let shadow = store
        .open_tree(&generation_tree("tally", building.number))
        .unwrap();
    assert_eq!(read_checkpoint(shadow.as_ref()).unwrap(), 42);
    // The next open resumes the shadow and swaps it in.
    open(&store, 2, &log, small_options()).unwrap();
    let entry = read_meta(meta.as_ref(), "tally").unwrap();
    assert_eq!(entry.active.unwrap(), building);
    assert!(entry.building.is_none());
    let reference = MemStore::new();
    open(&reference, 2, &log, small_options()).unwrap();
    assert_eq!(active_dump(&store), active_dump(&reference));
    assert_ne!(active_dump(&store), before);
}

#[test]
fn unknown_names_and_checkpoints_beyond_the_log_are_refused() {
    let log = records(10);
    let store = MemStore::new();
    let mut projections = open(&store, 1, &log, small_options()).unwrap();
    assert_eq!(
        projections.rebuild(&["nope"], &log, &mut |_| {}).err(),
        Some(Error::UnknownProjection("nope".into()))
    );
    let error = open(&store, 1, &log[..5].to_vec(), small_options())
        .err()
        .unwrap();
    assert!(matches!(
        error,
        Error::AheadOfLog {
            checkpoint: 10,
            head: 5,
            ..
        }
    ));
}

#[test]
fn the_writer_folds_correctly_after_a_failed_rebuild() {
    let log = records(130);
    let store = MemStore::new();
    let failing = Options {
        fail_after_commits: Some(2),
        ..small_options()
    };
    // Built to 100, then a rebuild that fails midway: its folds filled the caches with the
    // shadow's partial state.
    open(&store, 1, &log[..100].to_vec(), small_options()).unwrap();
    let mut projections = open(&store, 1, &log[..100].to_vec(), failing).unwrap();
    let error = projections
        .rebuild(&[], &log[..100].to_vec(), &mut |_| {})
        .err();
    assert_eq!(error, Some(Error::Injected(2)));
    // The writer's next batches must fold onto the active generation, not those caches.
    projections.apply(&log[100..]).unwrap();
    let reference = MemStore::new();
    open(&reference, 1, &log, small_options()).unwrap();
    assert_eq!(active_dump(&store), active_dump(&reference));
}
