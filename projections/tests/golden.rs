//! Golden tests: hand-written histories in `tests/data/<name>.history.json`, each run
//! through the domain's `decide` (every step must be accepted), folded into the projections
//! on real sled trees, then queried; the answers must equal `tests/data/<name>.expected.json`.
//! Queries may also stand among the steps: they see the projections as they are then.
//! `UPDATE_GOLDEN=1 cargo test -p caseledger-projections --test golden` rewrites the expected
//! files (review the diff before committing).
//!
//! A history file:
//! ```json
//! { "steps": [ { "at": "2026-03-02 10:00", "by": "12345", "case": "1",
//!                "command": { "command": "FileComplaint", … } },
//!              { "at": "…", "by": "housing", "firm": "9143…", "command": { … } } ],
//!   "queries": [ { "query": "case", "case": "1", "at": "2026-03-03 10:00" }, … ] }
//! ```
//! Times are China Standard Time. `"case": "1"` is the case whose id is the UUID with value 1;
//! `FileComplaint` gets its `case_id` and sealed complainant filled in.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use caseledger_domain::act::CaseId;
use caseledger_domain::case::CaseCommand;
use caseledger_domain::firm::FirmCommand;
use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::case_status::{CaseIndex, CaseQueries};
use caseledger_projections::firm::FirmQueries;
use caseledger_projections::measures::{Dimension, MeasureQueries, Months};
use caseledger_projections::workload::WorkloadQueries;
use caseledger_projections::{all, KvStore, Options, PageRequest, Projections, Reader};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{json, Value};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn cst(text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|error| panic!("time {text:?} is not YYYY-MM-DD HH:MM: {error}"));
    naive
        .and_local_timezone(chrono::FixedOffset::east_opt(8 * 3600).expect("CST"))
        .single()
        .expect("CST has no gaps")
        .with_timezone(&Utc)
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing in {value}"))
}

fn case_id(text: &str) -> CaseId {
    CaseId(uuid::Uuid::from_u128(
        text.parse().expect("case numbers are integers"),
    ))
}

/// Runs one step of a history through `decide`, recording its acts in the simulator.
fn run_step(sim: &mut support::Sim<'_>, index: usize, step: &Value) {
    let rules = sim.rules;
    sim.now = cst(field(step, "at"));
    let principal = support::acting(rules, field(step, "by"));
    let mut command = step["command"].clone();
    let accepted = if let Some(case) = step["case"].as_str() {
        let id = case_id(case);
        if command["command"] == "FileComplaint" {
            command["case_id"] = json!(id);
            command["complainant"] = serde_json::to_value(support::sealed()).expect("sealed");
            let command: CaseCommand = serde_json::from_value(command)
                .unwrap_or_else(|error| panic!("step {index}: {error}"));
            sim.file_command(id, &principal, command)
        } else {
            let command: CaseCommand = serde_json::from_value(command)
                .unwrap_or_else(|error| panic!("step {index}: {error}"));
            sim.case_command_explained(id, &principal, command)
        }
    } else {
        let uscc = field(step, "firm").parse().expect("valid USCC");
        let command: FirmCommand =
            serde_json::from_value(command).unwrap_or_else(|error| panic!("step {index}: {error}"));
        sim.firm_command_explained(&uscc, &principal, command)
    };
    if let Err(why) = accepted {
        panic!("step {index} ({step}) was rejected: {why}");
    }
}

fn months(query: &Value) -> Months {
    Months::new(field(query, "from"), field(query, "to")).expect("valid months")
}

fn dimension(text: &str) -> Dimension {
    serde_json::from_value(json!(text)).unwrap_or_else(|_| panic!("unknown dimension {text}"))
}

fn answer(reader: &Reader, query: &Value) -> Value {
    let at = query["at"].as_str().map(|at| cst(at).timestamp_micros());
    let page = PageRequest::first(query["limit"].as_u64().unwrap_or(50) as usize);
    let cases = CaseQueries::new(reader.clone());
    let workload = WorkloadQueries::new(reader.clone());
    let firms = FirmQueries::new(reader.clone());
    let measures = MeasureQueries::new(reader.clone());
    let at_us = at.unwrap_or(0);
    let result = match field(query, "query") {
        "case" => json!(cases
            .case_at(&case_id(field(query, "case")).to_string(), at_us)
            .expect("case query")),
        "list" => {
            let index: CaseIndex = serde_json::from_value(query["index"].clone()).expect("index");
            json!(cases
                .list(index, field(query, "value"), at_us, &page)
                .expect("list"))
        }
        "overdue" => json!(cases.overdue(at_us, &page).expect("overdue")),
        "workload" => {
            let date =
                |name| NaiveDate::parse_from_str(field(query, name), "%Y-%m-%d").expect("date");
            json!(workload
                .workload(field(query, "unit"), date("from"), date("to"), at_us)
                .expect("workload"))
        }
        "measures" => json!(measures
            .measures(
                dimension(field(query, "dimension")),
                query["value"].as_str().unwrap_or(""),
                &months(query),
                at_us
            )
            .expect("measures")),
        "measures_by" => json!(measures
            .by(dimension(field(query, "dimension")), &months(query), at_us)
            .expect("measures by")),
        "monthly" => json!(measures
            .monthly(
                dimension(field(query, "dimension")),
                query["value"].as_str().unwrap_or(""),
                &months(query),
                at_us
            )
            .expect("monthly")),
        "firm" => {
            let uscc = field(query, "firm");
            json!({
                "file": firms.file(uscc).expect("file"),
                "credit": firms.credit(uscc, &page).expect("credit"),
                "penalties": firms.penalties(uscc, &page).expect("penalties"),
                "cases": firms.cases(uscc, &page).expect("cases"),
                "timeline": firms.timeline(uscc, &page).expect("timeline"),
            })
        }
        other => panic!("unknown query {other}"),
    };
    json!({ "query": query, "answer": readable(result) })
}

/// Shows µs instants as CST times and µs durations as hours, so that a reviewer can check
/// the expected files by eye.
fn readable(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let shown = match (&value, key.ends_with("_us")) {
                        (Value::Number(number), true) => {
                            let micros = number.as_i64().unwrap_or_default();
                            if key.contains("handling") {
                                json!(format!("{:.2} h", micros as f64 / 3_600_000_000.0))
                            } else {
                                let at = DateTime::from_timestamp_micros(micros)
                                    .unwrap_or_default()
                                    .with_timezone(
                                        &chrono::FixedOffset::east_opt(8 * 3600).expect("CST"),
                                    );
                                json!(at.format("%Y-%m-%d %H:%M:%S").to_string())
                            }
                        }
                        _ => readable(value),
                    };
                    (key, shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(readable).collect()),
        other => other,
    }
}

/// The one helper: history in, projections built (incrementally, then checked against a
/// rebuild), queries answered, answers compared with the expected file.
fn check(name: &str) {
    let history_path = data(&format!("{name}.history.json"));
    let expected_path = data(&format!("{name}.expected.json"));
    let history: Value = serde_json::from_str(
        &std::fs::read_to_string(&history_path)
            .unwrap_or_else(|error| panic!("{}: {error}", history_path.display())),
    )
    .expect("history is JSON");
    let rules = support::rules();
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = Ledger::open(dir.path(), LedgerOptions::new("caseledger.test/golden"))
        .expect("ledger opens");
    let store: Arc<dyn KvStore> = Arc::new(ledger.store());
    let empty = Vec::new();
    let (mut projections, _) = Projections::open(
        store.clone(),
        all(),
        &empty,
        Options::default(),
        &mut |_| {},
    )
    .expect("opens");
    let reader = Reader::new(store.clone()).expect("reader");
    let mut sim = support::Sim::new(&rules, 0, support::SimOptions::default());
    let mut answers = Vec::new();
    let mut applied = 0usize;
    // Steps run in order; a query among them sees the projections as they are then, each
    // act applied as its own batch, as a quiet service would.
    for (index, step) in history["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .enumerate()
    {
        if step.get("query").is_some() {
            answers.push(answer(&reader, step));
            continue;
        }
        run_step(&mut sim, index, step);
        let records = support::to_records(&sim.steps);
        for record in &records[applied..] {
            projections
                .apply(std::slice::from_ref(record))
                .expect("applies");
        }
        applied = records.len();
    }
    let records = support::to_records(&sim.steps);
    let incremental = support::dump_all(&store);
    projections
        .rebuild(&[], &records, &mut |_| {})
        .expect("rebuilds");
    assert_eq!(support::dump_all(&store), incremental, "rebuild differs");
    for query in history["queries"].as_array().into_iter().flatten() {
        answers.push(answer(&reader, query));
    }
    let actual = serde_json::to_string_pretty(&Value::Array(answers)).expect("JSON") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        // Rewriting the expected answers passes whatever the code does: never in CI.
        assert!(
            std::env::var_os("CI").is_none(),
            "UPDATE_GOLDEN is set in CI, where the golden files must be checked, not rewritten"
        );
        std::fs::write(&expected_path, &actual).expect("writes expected");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (run with UPDATE_GOLDEN=1 to create it)",
            expected_path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: answers differ from {} at line {}:\n  expected: {}\n  actual:   {}\n(UPDATE_GOLDEN=1 rewrites it)",
            expected_path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

#[test]
fn a_case_transferred_returned_redispatched_extended_and_reopened() {
    check("case_lifecycle");
}

#[test]
fn a_firms_grade_over_four_quarters_with_a_penalty_that_expires() {
    check("firm_credit");
}

#[test]
fn the_measures_of_a_small_county() {
    check("county_measures");
}
