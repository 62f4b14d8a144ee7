//! A crash during a rebuild: the old generation keeps serving, and the rebuild completes on
//! the next open. Once with a failure injected after N commits, once with a real process
//! killed (SIGKILL) in the middle of its rebuild.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::framework::{read_meta, META_TREE};
use caseledger_projections::ledger::{open_ledger, ProjectedLedger};
use caseledger_projections::{all, KvStore, Options, Reader};

const ORIGIN: &str = "caseledger.test/crash";
const CHILD_DIR: &str = "CASELEDGER_TEST_CRASH_CHILD_DIR";

fn small_commits() -> Options {
    Options {
        commit_records: 500,
        read_batch_records: 250,
        ..Options::default()
    }
}

/// Opens the ledger in `dir` again, with small commits, in the same process that just
/// closed it (opening waits for sled's directory lock, which sled releases a moment after a
/// ledger is dropped).
fn reopen(dir: &Path) -> Result<ProjectedLedger, caseledger_projections::Error> {
    open_ledger(
        dir,
        LedgerOptions::new(ORIGIN),
        all(),
        small_commits(),
        &mut |_| {},
    )
}

/// A ledger of `records` simulated acts, with the projections attached while appending.
fn make_ledger(dir: &Path, records: usize) -> support::Dump {
    let rules = support::rules();
    let mut sim = support::Sim::new(&rules, 11, support::SimOptions::default());
    sim.run(records);
    let opened = open_ledger(
        dir,
        LedgerOptions::new(ORIGIN),
        all(),
        Options::default(),
        &mut |_| {},
    )
    .expect("opens");
    support::append_all(&opened.ledger, &sim.steps, 64);
    let store: Arc<dyn KvStore> = Arc::new(opened.ledger.store());
    support::dump_all(&store)
}

fn generations(store: &Arc<dyn KvStore>) -> Vec<(u64, Option<u64>)> {
    let meta = store.open_tree(META_TREE).expect("meta");
    caseledger_projections::NAMES
        .iter()
        .map(|name| {
            let entry = read_meta(meta.as_ref(), name).expect("meta entry");
            (
                entry.active.expect("active").number,
                entry.building.map(|building| building.number),
            )
        })
        .collect()
}

#[test]
fn an_injected_failure_leaves_the_old_generation_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = make_ledger(dir.path(), 3_000);
    let failing = Options {
        fail_after_commits: Some(2),
        ..small_commits()
    };
    {
        let opened = open_ledger(
            dir.path(),
            LedgerOptions::new(ORIGIN),
            all(),
            failing,
            &mut |_| {},
        )
        .expect("opens: nothing to catch up, so no failure yet");
        let store: Arc<dyn KvStore> = Arc::new(opened.ledger.store());
        let old = generations(&store);
        let error = opened
            .live
            .rebuild(&opened.ledger, &[], &mut |_| {})
            .expect_err("the injected failure stops the rebuild");
        assert_eq!(error, caseledger_projections::Error::Injected(2));
        // The old generations still answer, unchanged, while the shadows wait.
        assert_eq!(support::dump_all(&store), before);
        let now = generations(&store);
        for ((active, _), (still, building)) in old.iter().zip(&now) {
            assert_eq!(active, still);
            assert!(building.is_some());
        }
    }
    let reopened = reopen(dir.path()).expect("reopens");
    assert_eq!(reopened.summary.swapped.len(), 4, "the rebuild completes");
    let store: Arc<dyn KvStore> = Arc::new(reopened.ledger.store());
    assert_eq!(support::dump_all(&store), before);
    assert!(generations(&store)
        .iter()
        .all(|(_, building)| building.is_none()));
}

/// The child side of the killed-process test: rebuilds slowly, printing each commit. Run
/// alone (without the parent's folder), it rebuilds a small ledger of its own to the end.
#[test]
fn child_rebuilds_until_killed() {
    let own = tempfile::tempdir().expect("temp dir");
    let (dir, pause_ms) = match std::env::var_os(CHILD_DIR) {
        Some(dir) => (std::path::PathBuf::from(dir), 200),
        None => {
            make_ledger(own.path(), 600);
            (own.path().to_path_buf(), 0)
        }
    };
    let opened = open_ledger(
        &dir,
        LedgerOptions::new(ORIGIN),
        all(),
        small_commits(),
        &mut |_| {},
    )
    .expect("child opens");
    opened
        .live
        .rebuild(&opened.ledger, &[], &mut |progress| {
            if progress.writing {
                println!("writing {}", progress.done);
            } else {
                println!("progress {}", progress.done);
            }
            std::thread::sleep(std::time::Duration::from_millis(pause_ms));
        })
        .expect("child rebuild");
    assert_eq!(
        opened.live.checkpoints().iter().map(|(_, at)| *at).min(),
        Some(opened.ledger.head().position)
    );
    println!("finished");
}

#[test]
fn a_killed_rebuild_completes_on_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = make_ledger(dir.path(), 6_000);
    let old = {
        let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).expect("opens");
        let store: Arc<dyn KvStore> = Arc::new(ledger.store());
        generations(&store)
    };
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_rebuilds_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("child stdout");
    let mut commits = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        assert_ne!(line, "finished", "the child finished before it was killed");
        if line.starts_with("progress ") {
            commits += 1;
            if commits == 3 {
                break;
            }
        }
    }
    assert_eq!(commits, 3, "the child reported its commits");
    child.kill().expect("SIGKILL");
    child.wait().expect("child reaped");

    // After the kill the old generations are still the active ones.
    {
        let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).expect("reopens");
        let store: Arc<dyn KvStore> = Arc::new(ledger.store());
        let now = generations(&store);
        for ((active, _), (still, _)) in old.iter().zip(&now) {
            assert_eq!(active, still, "a half-built generation was swapped in");
        }
        assert_eq!(support::dump_all(&store), before);
        let reader = Reader::new(store).expect("reader");
        assert!(reader.status("case_status").expect("status").1 > 0);
    }
    // Opening with the projections attached finishes the rebuild.
    let reopened = reopen(dir.path()).expect("reopens with projections");
    let store: Arc<dyn KvStore> = Arc::new(reopened.ledger.store());
    assert_eq!(support::dump_all(&store), before);
    let after = generations(&store);
    assert!(after.iter().all(|(_, building)| building.is_none()));
    assert!(
        after.iter().zip(&old).all(|((new, _), (old, _))| new > old),
        "new generations are active: {after:?} after {old:?}"
    );
}
