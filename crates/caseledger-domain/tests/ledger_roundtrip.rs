//! A whole case lifecycle and a firm's file written into a real ledger (sled, in a temporary
//! folder), read back, decoded, folded and scored, before and after reopening the ledger.

mod common;

use caseledger_domain::act::{Act, Quarter, RecordedAct};
use caseledger_domain::case::{CaseState, CaseStatus};
use caseledger_domain::credit::score;
use caseledger_domain::firm::{self, FirmCommand, FirmContext, FirmState};
use caseledger_domain::principal::Principal;
use caseledger_log::{Actor, AppendRequest, Ledger, LedgerOptions, StoredRecord};
use chrono::{DateTime, Utc};
use common::*;

const ORIGIN: &str = "caseledger.test/anhua";

fn request(principal: &Principal, act: &Act, expected_version: u64, index: u128) -> AppendRequest {
    AppendRequest {
        stream: act.stream().to_string(),
        expected_version,
        event_id: uuid::Uuid::from_u128(0x5eed_0000 + index),
        actor: Actor {
            role: principal.role.as_str().into(),
            unit: principal.unit.to_string(),
            user: "operator-1".into(),
        },
        kind: act.kind().into(),
        schema_version: act.schema_version(),
        payload: act.encode_payload(),
    }
}

fn decode(stored: &StoredRecord) -> RecordedAct {
    let record = &stored.record;
    RecordedAct::decode(
        record.position,
        record.event_uuid(),
        record.recorded_at_us,
        &record.kind,
        record.schema_version,
        &record.payload,
    )
    .unwrap_or_else(|error| panic!("position {}: {error}", record.position))
}

/// Decides and appends firm commands one at a time, as the service would.
fn append_firm(
    ledger: &Ledger,
    rules: &caseledger_domain::context::Rules,
    steps: Vec<(Principal, DateTime<Utc>, FirmCommand)>,
    credit_records: &mut Vec<RecordedAct>,
    next_event: &mut u128,
) {
    let stream = format!("firm/{FIRM}");
    for (principal, now, command) in steps {
        let own: Vec<StoredRecord> = ledger.read_stream(&stream, 1, 10_000).unwrap();
        let state = FirmState::replay(
            own.iter()
                .map(decode)
                .collect::<Vec<_>>()
                .iter()
                .map(|r| &r.act),
        );
        let context = caseledger_domain::context::Context::new(rules, now, principal.clone());
        let acts = firm::decide(
            &state,
            &command,
            &FirmContext {
                context: &context,
                records: credit_records,
            },
        )
        .unwrap_or_else(|rejection| panic!("{}: {rejection}", command.name()));
        for act in acts {
            *next_event += 1;
            let appended = ledger
                .append_blocking(request(&principal, &act, state.version, *next_event))
                .unwrap();
            let stored = ledger.read_range(appended.position, 1).unwrap().remove(0);
            credit_records.push(decode(&stored));
        }
    }
}

#[test]
fn a_case_lifecycle_and_a_firm_file_round_trip_through_a_real_ledger() {
    let rules = rules();
    let dir = tempfile::tempdir().unwrap();
    let lifecycle = full_lifecycle(&rules);
    let stream = lifecycle[0].2.stream().to_string();
    {
        let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap();
        for (index, (principal, _, act)) in lifecycle.iter().enumerate() {
            let appended = ledger
                .append_blocking(request(principal, act, index as u64, index as u128))
                .unwrap();
            assert_eq!(appended.stream_version, index as u64 + 1);
        }
        // A stale expected version is a conflict and appends nothing.
        let (principal, _, act) = &lifecycle[1];
        assert!(ledger
            .append_blocking(request(principal, act, 3, 999))
            .is_err());
        assert_eq!(ledger.head().position, lifecycle.len() as u64);
    }

    let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap();
    assert!(ledger.verify(|_, _| {}).unwrap().ok);
    let stored = ledger.read_stream(&stream, 1, 1000).unwrap();
    assert_eq!(stored.len(), lifecycle.len());
    let read: Vec<RecordedAct> = stored.iter().map(decode).collect();
    for ((principal, _, act), (record, back)) in lifecycle.iter().zip(stored.iter().zip(&read)) {
        assert_eq!(&back.act, act);
        assert_eq!(record.record.actor.role, principal.role.as_str());
        assert_eq!(record.record.stream, stream);
    }
    let state = CaseState::replay(read.iter().map(|r| &r.act));
    assert_eq!(state.status, CaseStatus::Closed);
    assert!(state.personal_data_erased);
    assert_eq!(state.extensions, 1);
    assert_eq!(state.version, lifecycle.len() as u64);

    // The firm's file goes into the same ledger; its grade is computed from both streams.
    let mut credit_records = read.clone();
    let mut next_event = 1000;
    let firm = FIRM.parse().unwrap();
    let quarter = Quarter::new(2026, 1).unwrap();
    append_firm(
        &ledger,
        &rules,
        vec![
            (
                housing(),
                monday(),
                FirmCommand::RegisterFirm(firm::RegisterFirm {
                    firm: FIRM.parse().unwrap(),
                    name: "（样例）资江物业".into(),
                }),
            ),
            (
                housing(),
                monday(),
                FirmCommand::FileContract(firm::FileContract {
                    compound: COMPOUND.parse().unwrap(),
                    contract_no: "安住建物备〔2026〕1号".into(),
                    starts_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    ends_on: chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
                }),
            ),
            (
                heping(),
                cst(2026, 3, 20, 10, 0),
                FirmCommand::SubmitAssessment(firm::SubmitAssessment {
                    quarter,
                    items: vec![caseledger_domain::act::AssessmentItem {
                        item: "综合".into(),
                        score: 96,
                    }],
                }),
            ),
        ],
        &mut credit_records,
        &mut next_event,
    );
    // The case acts were recorded now (the writer's clock), so score the quarter they fall in.
    let now_quarter = Quarter::of_instant(Utc::now());
    let expected = score(&rules.credit, &firm, now_quarter, &credit_records);
    let reread: Vec<RecordedAct> = ledger
        .read_range(1, 10_000)
        .unwrap()
        .iter()
        .map(decode)
        .collect();
    assert_eq!(
        score(&rules.credit, &firm, now_quarter, &reread),
        expected,
        "the score replays from the ledger"
    );
    // Penalty −10, substantiated complaint −2, black-list violation −20 in this quarter.
    let deductions: i64 = expected
        .trace
        .iter()
        .filter(|p| p.points_hundredths < 0)
        .map(|p| p.points_hundredths)
        .sum();
    assert_eq!(deductions, -3200);
    for line in &expected.trace {
        let record = reread
            .iter()
            .find(|r| r.position == line.position)
            .expect("trace names a stored act");
        assert_eq!(record.event_id, line.event_id);
    }
}
