//! `caseledger rebuild` as a real process on a real ledger: the exit status, the summary, that
//! the rebuilt projections hold exactly what the writer had built incrementally (and answer
//! queries the same), that `--projection` rebuilds only the one named, and that an unknown
//! name is a usage error (exit 2) that says which names exist. And `caseledger serve` over a
//! ledger whose projections must be built first: it builds them before it listens, its log
//! shows the progress, and a `rebuild` while it serves is refused with what to do instead.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
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
    common::caseledger()
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

    // The help names every projection, and says the folder must not be served.
    let help = common::caseledger()
        .args(["rebuild", "--help"])
        .output()
        .expect("runs caseledger");
    let help = text(&help.stdout);
    for name in NAMES {
        assert!(help.contains(name), "{name} is not in the help: {help}");
    }
    assert!(help.contains("stop a"), "{help}");

    // No ledger there: an I/O error, exit 2.
    let output = rebuild(&dir.path().join("missing"), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

/// The message of each of `serve`'s JSON log lines, and the line's fields.
fn logged(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("the log")
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"))["fields"]
                .clone()
        })
        .collect()
}

#[test]
fn serve_builds_missing_projections_before_it_takes_work_and_logs_the_progress() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("ledger");
    demo_ledger(&data);
    let before = look(&data);
    // Forget every projection, as in a ledger written before they existed: their catalogue
    // goes, so opening the ledger must build each one over the whole log.
    {
        let db = common::open_sled(&data);
        let meta = caseledger_projections::framework::META_TREE;
        assert!(db.drop_tree(meta).expect("drops the catalogue"));
        db.flush().expect("flushed");
    }

    let log = dir.path().join("serve.log");
    let mut child = common::caseledger()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reads the address");
    assert!(common::address_in(&line).is_some(), "{line}");
    // While it is served, `rebuild` is refused and says what to do instead.
    let refused = rebuild(&data, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("is already open"), "{stderr}");
    assert!(stderr.contains("stop the service first"), "{stderr}");
    assert!(refused.stdout.is_empty());
    common::stop(child);

    let entries = logged(&log);
    let position = |message: &str| {
        entries
            .iter()
            .position(|fields| fields["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} in the log: {entries:#?}"))
    };
    let progress = &entries[position("bringing the projections up to date")];
    assert_eq!(progress["head"], before.head, "{progress}");
    let building = progress["projections"].as_str().expect("names");
    let writing = &entries[position("writing the projections")];
    assert_eq!(
        writing["done"], before.head,
        "all folded, then written: {writing}"
    );
    assert_eq!(writing["percent"], 100, "{writing}");
    assert!(
        position("bringing the projections up to date") < position("writing the projections")
            && position("writing the projections") < position("projections up to date"),
        "folded, written, done: {entries:#?}"
    );
    let done = &entries[position("projections up to date")];
    assert_eq!(done["records"], before.head, "{done}");
    let built = done["built"].as_str().expect("names");
    for name in NAMES {
        assert!(building.contains(name), "{name} is being built: {progress}");
        assert!(built.contains(name), "{name} was built: {done}");
    }
    assert!(
        position("projections up to date") < position("serving"),
        "built before serving: {entries:#?}"
    );
    // It listened (answering 503 meanwhile) before it opened the ledger.
    let listening =
        position("listening; opening the ledger (requests answer 503 until it is open)");
    assert!(
        listening < position("bringing the projections up to date"),
        "bound before opening: {entries:#?}"
    );
    assert_eq!(
        entries[listening]["address"],
        entries[position("serving")]["address"],
        "one address: {entries:#?}"
    );

    // What `serve` built equals what the writer had built, batch by batch; the generations
    // are the first of the new catalogue, so the refused rebuild built none.
    let after = look(&data);
    assert!(
        after.generations.values().all(|&number| number == 1),
        "{:?}",
        after.generations
    );
    for name in NAMES {
        assert_eq!(after.dump[name], before.dump[name], "{name}");
    }
    assert_eq!(after.cases, before.cases);
    assert_eq!(after.newest, before.newest);
}
