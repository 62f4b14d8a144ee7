//! The projections attached to a real ledger: the writer applies every batch before it
//! acknowledges, so a client reads its own write; and an append before the projections are
//! attached is refused, and not left unprojected when the ledger opens again.

mod support;

use caseledger_log::{Actor, AppendRequest, Ledger, LedgerOptions};
use caseledger_projections::case_status::{CaseQueries, CaseState};
use caseledger_projections::ledger::{open_ledger, LiveProjections};
use caseledger_projections::{all, Options};

fn request(step: &support::Step, expected_version: u64, id: u128) -> AppendRequest {
    AppendRequest {
        stream: step.act.stream().to_string(),
        expected_version,
        event_id: uuid::Uuid::from_u128(id),
        actor: Actor {
            role: step.principal.role.as_str().to_string(),
            unit: step.principal.unit.to_string(),
            user: "test".into(),
        },
        kind: step.act.kind().to_string(),
        schema_version: step.act.schema_version(),
        payload: step.act.encode_payload(),
    }
}

/// The ledger in `dir` with every projection attached, as the server opens it.
fn open_projected(
    dir: &std::path::Path,
) -> Result<caseledger_projections::ledger::ProjectedLedger, caseledger_projections::Error> {
    open_ledger(
        dir,
        LedgerOptions::new("caseledger.test/live"),
        all(),
        Options::default(),
        &mut |_| {},
    )
}

#[test]
fn a_client_reads_its_own_write() {
    let rules = support::rules();
    let mut sim = support::Sim::new(&rules, 3, support::SimOptions::default());
    let compound = "compound/dongping/lanting-11".parse().expect("compound");
    let category = "service-quality".parse().expect("category");
    let case = sim
        .file(
            &compound,
            &category,
            caseledger_domain::deadline::Severity::General,
            None,
        )
        .expect("filed");
    let dir = tempfile::tempdir().expect("temp dir");
    let opened = open_projected(dir.path()).expect("opens");
    let queries = CaseQueries::new(opened.reader.clone());
    assert_eq!(queries.status(&case.to_string()).expect("query"), None);
    let appended = opened
        .ledger
        .append_blocking(request(&sim.steps[0], 0, 1))
        .expect("appends");
    // No waiting, no polling: the acknowledgement came after the projections were written.
    let status = queries
        .status(&case.to_string())
        .expect("query")
        .expect("the case is projected before the append returns");
    assert_eq!(status.state, CaseState::Filed);
    assert_eq!(status.filed_position, appended.position);
    assert_eq!(
        opened.live.checkpoints(),
        vec![
            ("case_status", 1),
            ("workload", 1),
            ("firm_history", 1),
            ("measures", 1)
        ]
    );
}

#[test]
fn an_append_before_attaching_is_refused() {
    let rules = support::rules();
    let mut sim = support::Sim::new(&rules, 4, support::SimOptions::default());
    sim.run(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let (_live, observer) = LiveProjections::new();
    let ledger = Ledger::open_with_observers(
        dir.path(),
        LedgerOptions::new("caseledger.test/live"),
        vec![observer],
    )
    .expect("opens");
    let error = ledger
        .append_blocking(request(&sim.steps[0], 0, 1))
        .expect_err("refused");
    assert!(
        error.to_string().contains("not attached"),
        "unexpected error: {error}"
    );
    // Readers never see the record: the head they read stays where the projections are.
    assert_eq!(ledger.head().position, 0);
    // The record may be durable already (the log is written beside the observers, as a
    // crash after the flush leaves an unanswered append), and then it is not left
    // unprojected: opened with the projections, they catch up to it.
    drop(ledger);
    let opened = open_projected(dir.path()).expect("reopens");
    let head = opened.ledger.head().position;
    assert!(head <= 1, "head {head}");
    for (name, checkpoint) in opened.live.checkpoints() {
        assert_eq!(checkpoint, head, "{name}");
    }
}
