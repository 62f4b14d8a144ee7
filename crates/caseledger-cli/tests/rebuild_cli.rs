//! `caseledger rebuild` as a real process on a real ledger: the exit status, the summary, that
//! the rebuilt projections hold exactly what the writer had built incrementally (and answer
//! queries the same), that `--projection` rebuilds only the one named, and that an unknown
//! name is a usage error (exit 2) that says which names exist.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::case_status::{CaseIndex, CaseQueries};
use caseledger_projections::{KvStore, PageRequest, Reader, Scan, NAMES};
use caseledger_server::demo::{prepare, DemoOptions};

/// Every key and value of every projection, read through the queries' reader.
type Dump = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

/// What the projections hold, and a few answers to queries, read while nobody else has the
/// ledger open.
struct Seen {
    dump: Dump,
    generations: BTreeMap<String, u64>,
    head: u64,
    /// The first page of every case, and the full status of the newest.
    cases: Vec<String>,
    newest: String,
    by_state: usize,
}

fn look(data: &Path) -> Seen {
    let ledger = Ledger::open_existing(data, LedgerOptions::new("")).expect("ledger opens");
    let store: Arc<dyn KvStore> = Arc::new(ledger.store());
    let reader = Reader::new(store).expect("reader");
    let mut dump = Dump::new();
    let mut generations = BTreeMap::new();
    for name in NAMES {
        let tree = reader.tree(name).expect("projection built");
        let mut pairs = Vec::new();
        tree.scan(&[], None, &mut |key, value| {
            pairs.push((key.to_vec(), value.to_vec()));
            Scan::Continue
        })
        .expect("scans");
        dump.insert(name.to_string(), pairs);
        let (meta, _) = reader.status(name).expect("status");
        generations.insert(
            name.to_string(),
            meta.active.expect("an active generation").number,
        );
    }
    let queries = CaseQueries::new(reader);
    let at_us = 1_800_000_000_000_000;
    let page = queries
        .all(at_us, &PageRequest::first(50))
        .expect("lists cases");
    let cases: Vec<String> = page.items.iter().map(|line| line.case.clone()).collect();
    let newest = cases.first().expect("the demo filed cases").clone();
    let newest = format!(
        "{:?}",
        queries
            .case_at(&newest, at_us)
            .expect("lookup")
            .expect("found")
    );
    let by_state = queries
        .list(CaseIndex::State, "closed", at_us, &PageRequest::first(500))
        .expect("lists by state")
        .items
        .len();
    Seen {
        dump,
        generations,
        head: ledger.head().position,
        cases,
        newest,
        by_state,
    }
}

fn rebuild(data: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caseledger"))
        .arg("rebuild")
        .arg("--data")
        .arg(data)
        .args(extra)
        .output()
        .expect("runs caseledger")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A real ledger: the demo's synthetic county, small, appended through the service's writer
/// with every projection kept by the writer (the incremental path).
fn demo_ledger(data: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let options = DemoOptions {
            dir: data.to_path_buf(),
            cases: 120,
            listen: "127.0.0.1:0".parse().expect("address"),
        };
        let (state, generated, _) = prepare(&options, |_| {}).await.expect("demo prepared");
        assert!(generated, "a fresh folder is filled");
        drop(state);
    });
}

#[test]
fn rebuild_reproduces_the_projections_and_rejects_unknown_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("ledger");
    demo_ledger(&data);
    let before = look(&data);
    assert!(
        before.head > 500,
        "a realistic ledger: {} records",
        before.head
    );
    assert!(!before.cases.is_empty());
    assert!(before.by_state > 0, "some demo cases are closed");

    // All projections, JSON summary.
    let output = rebuild(&data, &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(text(&output.stdout).trim()).expect("one JSON summary");
    assert_eq!(summary["records"], before.head);
    assert_eq!(summary["opened_records"], 0, "the writer kept them current");
    assert!(summary["records_per_second"].as_f64().unwrap() > 0.0);
    let rebuilt: Vec<&str> = summary["projections"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|projection| projection["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(rebuilt, NAMES);
    let after = look(&data);
    for name in NAMES {
        assert!(
            after.generations[name] > before.generations[name],
            "{name} got a new generation"
        );
        assert_eq!(
            after.dump[name], before.dump[name],
            "{name}: rebuilt equals what the writer built"
        );
    }
    assert_eq!(after.cases, before.cases);
    assert_eq!(after.newest, before.newest);
    assert_eq!(after.by_state, before.by_state);

    // One projection, text summary: only it gets a new generation.
    let output = rebuild(&data, &["--projection", "workload"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "rebuilt 1 projection(s) over {} records",
            before.head
        )),
        "{stdout}"
    );
    assert!(stdout.contains("workload"), "{stdout}");
    assert!(!stdout.contains("case_status"), "{stdout}");
    let again = look(&data);
    for name in NAMES {
        let expected = after.generations[name] + u64::from(name == "workload");
        assert_eq!(again.generations[name], expected, "{name}");
        assert_eq!(again.dump[name], before.dump[name], "{name}");
    }

    // An unknown name: a usage error naming the choices, and nothing rebuilt.
    let output = rebuild(&data, &["--projection", "no_such_view"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no projection is called no_such_view"),
        "{stderr}"
    );
    for name in NAMES {
        assert!(stderr.contains(name), "the choices are listed: {stderr}");
    }
    assert!(output.stdout.is_empty());
    assert_eq!(look(&data).generations, again.generations);

    // No ledger there: an I/O error, exit 2.
    let output = rebuild(&dir.path().join("missing"), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}
