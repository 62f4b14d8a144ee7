//! Given / when / then tests of the firm aggregate and the credit score.

mod common;

use caseledger_domain::act::*;
use caseledger_domain::case::{self, CaseCommand};
use caseledger_domain::context::{Context, Rules};
use caseledger_domain::credit::{score, standing};
use caseledger_domain::deadline::Severity;
use caseledger_domain::firm::*;
use caseledger_domain::policy::Grade;
use caseledger_domain::principal::Principal;
use caseledger_domain::rejection::RejectionCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::*;

const XINJIE_COMPOUND: &str = "compound/dongping/binjiang-mingyuan-21";

fn unit(text: &str) -> caseledger_domain::ids::UnitId {
    text.parse().unwrap()
}

fn quarter(year: i32, q: u8) -> Quarter {
    Quarter::new(year, q).unwrap()
}

/// Appends firm commands one by one, each decided against the records so far.
fn run(
    rules: &Rules,
    mut records: Vec<RecordedAct>,
    steps: Vec<(Principal, DateTime<Utc>, FirmCommand)>,
) -> Vec<RecordedAct> {
    for (principal, now, command) in steps {
        let state = FirmState::replay(
            records
                .iter()
                .filter(|record| !record.act.is_case_act())
                .map(|record| &record.act),
        );
        let context = Context::new(rules, now, principal);
        let acts = decide(
            &state,
            &command,
            &FirmContext {
                context: &context,
                records: &records,
            },
        )
        .unwrap_or_else(|rejection| panic!("step {} rejected: {rejection}", command.name()));
        for act in acts {
            let position = records
                .iter()
                .map(|record| record.position)
                .max()
                .unwrap_or(0)
                + 1;
            records.push(RecordedAct {
                position,
                event_id: uuid::Uuid::from_u128(u128::from(position)),
                recorded_at: now,
                act,
            });
        }
    }
    records
}

fn contract(compound: &str) -> FirmCommand {
    FirmCommand::FileContract(FileContract {
        compound: unit(compound),
        contract_no: format!("安住建物备〔2026〕{}号", compound.len()),
        starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        ends_on: NaiveDate::from_ymd_opt(2028, 12, 31).unwrap(),
    })
}

fn assess(q: Quarter, scores: &[u32]) -> FirmCommand {
    FirmCommand::SubmitAssessment(SubmitAssessment {
        quarter: q,
        items: scores
            .iter()
            .enumerate()
            .map(|(i, score)| AssessmentItem {
                item: format!("项目{i}"),
                score: *score,
            })
            .collect(),
    })
}

fn publish(q: Quarter, grade: Grade) -> FirmCommand {
    FirmCommand::PublishGrade(PublishGrade { quarter: q, grade })
}

fn early_2026() -> DateTime<Utc> {
    cst(2026, 1, 5, 10, 0)
}

/// Registered, with contracts for a compound in 和平社区 and one in 新街社区 (both 东坪镇).
fn registered(rules: &Rules) -> Vec<RecordedAct> {
    run(
        rules,
        vec![],
        vec![
            (
                housing(),
                early_2026(),
                FirmCommand::RegisterFirm(RegisterFirm {
                    firm: FIRM.parse().unwrap(),
                    name: "（样例）安化县资江物业服务有限公司".into(),
                }),
            ),
            (housing(), early_2026(), contract(COMPOUND)),
            (housing(), early_2026(), contract(XINJIE_COMPOUND)),
        ],
    )
}

/// Q1 2026 assessed by both communities: 85.00 and 95.00, mean 90.00 (grade A).
fn assessed_q1(rules: &Rules) -> Vec<RecordedAct> {
    let at = cst(2026, 3, 20, 10, 0);
    run(
        rules,
        registered(rules),
        vec![
            (heping(), at, assess(quarter(2026, 1), &[90, 80])),
            (xinjie(), at, assess(quarter(2026, 1), &[95])),
        ],
    )
}

fn after_q1() -> DateTime<Utc> {
    cst(2026, 4, 2, 10, 0)
}

/// Records of one case about the firm, from `first` on: filed, dispatched, accepted, then
/// `extra` steps, all by their principals at their times.
fn case_about_firm(
    rules: &Rules,
    id: u128,
    extra: Vec<(Principal, DateTime<Utc>, CaseCommand)>,
    first: u64,
) -> Vec<RecordedAct> {
    let case = CaseId(uuid::Uuid::from_u128(id));
    let start = cst(2026, 3, 2, 10, 0);
    let mut steps = vec![
        (
            hotline(),
            start,
            CaseCommand::FileComplaint(case::FileComplaint {
                case_id: case,
                channel: Channel::Hotline12345,
                compound: unit(COMPOUND),
                category: "service-quality".parse().unwrap(),
                severity: Severity::General,
                firm: Some(FIRM.parse().unwrap()),
                summary: "垃圾清运不及时".into(),
                complainant: sealed(),
            }),
        ),
        (
            housing(),
            start + Duration::hours(1),
            CaseCommand::DispatchCase(case::DispatchCase {
                to: unit(TOWNSHIP),
                note: String::new(),
            }),
        ),
        (
            dongping(),
            start + Duration::hours(2),
            CaseCommand::AcceptCase(case::AcceptCase {}),
        ),
    ];
    steps.extend(extra);
    let times: Vec<DateTime<Utc>> = steps.iter().map(|(_, at, _)| *at).collect();
    let mut state = case::CaseState::default();
    let mut out = Vec::new();
    for (index, (principal, at, command)) in steps.into_iter().enumerate() {
        let context = Context::new(rules, at, principal);
        for act in case::decide(&state, &command, &context)
            .unwrap_or_else(|r| panic!("{}: {r}", command.name()))
        {
            state = case::evolve(state, &act);
            let position = first + out.len() as u64;
            out.push(RecordedAct {
                position,
                event_id: uuid::Uuid::from_u128(u128::from(position)),
                recorded_at: times[index],
                act,
            });
        }
    }
    out
}

fn penalty_step(at: DateTime<Utc>) -> (Principal, DateTime<Utc>, CaseCommand) {
    (
        housing(),
        at,
        CaseCommand::ImposePenalty(case::ImposePenalty {
            party: PenalisedParty::Firm(FIRM.parse().unwrap()),
            legal_basis: "《物业管理条例》".into(),
            decision_no: "安住建罚〔2026〕7号".into(),
            fine_fen: 100_000,
        }),
    )
}

fn violation_step(at: DateTime<Utc>) -> (Principal, DateTime<Utc>, CaseCommand) {
    (
        dongping(),
        at,
        CaseCommand::RecordInspection(case::RecordInspection {
            findings: "物业以停水催缴物业费".into(),
            substantiated: true,
            severe_violation: Some(SevereViolation::IllegalUtilityCut),
        }),
    )
}

fn firm() -> caseledger_domain::ids::Uscc {
    FIRM.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Registration and filings.

#[test]
fn housing_registers_and_files_contracts_with_their_area() {
    let rules = rules();
    let records = registered(&rules);
    let Act::ContractFiled(filed) = &records[1].act else {
        panic!()
    };
    assert_eq!(filed.community, unit(COMMUNITY));
    assert_eq!(filed.township, unit(TOWNSHIP));
    let state = FirmState::replay(records.iter().map(|r| &r.act));
    assert_eq!(state.contracts.len(), 2);
    let register = FirmCommand::RegisterFirm(RegisterFirm {
        firm: firm(),
        name: "x".into(),
    });
    given_firm(&rules, records.clone())
        .when(register.clone())
        .then_err(RejectionCode::AlreadyExists);
    given_firm(&rules, vec![])
        .by(dongping())
        .when(register)
        .then_err(RejectionCode::WrongRole);
    given_firm(&rules, vec![])
        .when(contract(COMPOUND))
        .then_err(RejectionCode::NotFound);
    let mut bad_dates = contract(COMPOUND);
    if let FirmCommand::FileContract(c) = &mut bad_dates {
        c.ends_on = c.starts_on;
    }
    given_firm(&rules, records.clone())
        .when(bad_dates)
        .then_err(RejectionCode::InvalidField);
    given_firm(&rules, records.clone())
        .when(contract(COMMUNITY))
        .then_err(RejectionCode::UnknownUnit);
    given_firm(&rules, records.clone())
        .by(dongping())
        .when(contract(COMPOUND))
        .then_err(RejectionCode::WrongRole);
    given_firm(&rules, records)
        .when(FirmCommand::FileTender(FileTender {
            compound: unit(COMPOUND),
            tender_no: "AH-ZB-2026-01".into(),
        }))
        .then_kinds(&["TenderFiled"]);
}

#[test]
fn handover_and_exit_by_housing_or_the_compounds_township() {
    let rules = rules();
    let records = registered(&rules);
    let handover = FirmCommand::RecordHandoverInspection(RecordHandoverInspection {
        compound: unit(COMPOUND),
        passed: true,
        findings: "共用设施设备完好".into(),
    });
    given_firm(&rules, records.clone())
        .by(dongping())
        .when(handover.clone())
        .then_kinds(&["HandoverInspected"]);
    given_firm(&rules, records.clone())
        .by(qingtangpu())
        .when(handover.clone())
        .then_err(RejectionCode::WrongJurisdiction);
    given_firm(&rules, records.clone())
        .by(heping())
        .when(handover)
        .then_err(RejectionCode::WrongRole);
    let exit = |compound: &str| {
        FirmCommand::RecordExit(RecordExit {
            compound: unit(compound),
            reason: "合同期满".into(),
        })
    };
    given_firm(&rules, records.clone())
        .by(dongping())
        .when(exit(COMPOUND))
        .then_kinds(&["FirmExited"]);
    given_firm(&rules, records)
        .when(exit("compound/dongping/cuizhu-12"))
        .then_err(RejectionCode::NoContract);
}

// ---------------------------------------------------------------------------------------------
// Assessments and aggregation.

#[test]
fn a_community_assesses_once_per_quarter() {
    let rules = rules();
    let records = assessed_q1(&rules);
    let Act::QuarterlyAssessmentSubmitted(heping_q1) = &records[3].act else {
        panic!()
    };
    assert_eq!(heping_q1.score_hundredths, 8500);
    assert_eq!(heping_q1.community, unit(COMMUNITY));
    let at = cst(2026, 3, 25, 10, 0);
    let rejection = given_firm(&rules, records.clone())
        .by(heping())
        .at(at)
        .when(assess(quarter(2026, 1), &[70]))
        .then_err(RejectionCode::DuplicateAssessment);
    assert!(rejection.zh.contains("2026-Q1") && rejection.en.contains("2026-Q1"));
    // The next quarter is a new assessment.
    given_firm(&rules, records.clone())
        .by(heping())
        .at(cst(2026, 6, 20, 10, 0))
        .when(assess(quarter(2026, 2), &[70]))
        .then_kinds(&["QuarterlyAssessmentSubmitted"]);
    // A community hosting none of the firm's compounds, a township, a score over 100, a future quarter.
    given_firm(&rules, records.clone())
        .by(principal(
            caseledger_domain::principal::Role::Community,
            "community/dongping/zijiang",
        ))
        .at(at)
        .when(assess(quarter(2026, 1), &[70]))
        .then_err(RejectionCode::WrongJurisdiction);
    given_firm(&rules, records.clone())
        .by(dongping())
        .at(at)
        .when(assess(quarter(2026, 1), &[70]))
        .then_err(RejectionCode::WrongRole);
    let rejection = given_firm(&rules, registered(&rules))
        .by(heping())
        .at(at)
        .when(assess(quarter(2026, 1), &[70, 101]))
        .then_err(RejectionCode::InvalidField);
    assert_eq!(rejection.field.as_deref(), Some("items"));
    given_firm(&rules, registered(&rules))
        .by(heping())
        .at(at)
        .when(assess(quarter(2026, 2), &[70]))
        .then_err(RejectionCode::InvalidField);
    given_firm(&rules, registered(&rules))
        .by(heping())
        .at(at)
        .when(assess(quarter(2026, 1), &[]))
        .then_err(RejectionCode::InvalidField);
}

#[test]
fn the_township_aggregates_its_communities_once() {
    let rules = rules();
    let records = assessed_q1(&rules);
    let aggregate = FirmCommand::AggregateAssessments(AggregateAssessments {
        quarter: quarter(2026, 1),
    });
    let (acts, _) = given_firm(&rules, records.clone())
        .by(dongping())
        .at(after_q1())
        .when(aggregate.clone())
        .then_kinds(&["AssessmentsAggregated"]);
    let Act::AssessmentsAggregated(aggregated) = &acts[0] else {
        panic!()
    };
    assert_eq!(aggregated.score_hundredths, 9000);
    assert_eq!(aggregated.communities.len(), 2);
    let records = run(
        &rules,
        records,
        vec![(dongping(), after_q1(), aggregate.clone())],
    );
    given_firm(&rules, records.clone())
        .by(dongping())
        .at(after_q1())
        .when(aggregate.clone())
        .then_err(RejectionCode::DuplicateAggregation);
    given_firm(&rules, records.clone())
        .by(qingtangpu())
        .at(after_q1())
        .when(aggregate.clone())
        .then_err(RejectionCode::NothingToAggregate);
    given_firm(&rules, records)
        .by(heping())
        .at(after_q1())
        .when(aggregate)
        .then_err(RejectionCode::WrongRole);
}

// ---------------------------------------------------------------------------------------------
// Grades.

#[test]
fn housing_publishes_only_the_computed_grade_with_its_trace() {
    let rules = rules();
    let records = assessed_q1(&rules);
    let (acts, _) = given_firm(&rules, records.clone())
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::A))
        .then_kinds(&["GradePublished"]);
    let Act::GradePublished(published) = &acts[0] else {
        panic!()
    };
    assert_eq!(published.score_hundredths, 9000);
    assert_eq!(published.inspection_interval_months, 12);
    assert_eq!(
        published
            .trace
            .iter()
            .map(|p| p.points_hundredths)
            .sum::<i64>(),
        9000
    );
    assert_eq!(
        published
            .trace
            .iter()
            .map(|p| p.position)
            .collect::<Vec<_>>(),
        vec![4, 5]
    );
    let rejection = given_firm(&rules, records.clone())
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::B))
        .then_err(RejectionCode::GradeMismatch);
    assert!(
        rejection.zh.contains('A') && rejection.en.contains("90.00"),
        "{rejection}"
    );
    assert_eq!(rejection.field.as_deref(), Some("grade"));
    given_firm(&rules, records.clone())
        .at(cst(2026, 3, 30, 10, 0))
        .when(publish(quarter(2026, 1), Grade::A))
        .then_err(RejectionCode::InvalidField);
    given_firm(&rules, registered(&rules))
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::D))
        .then_err(RejectionCode::NothingToAggregate);
    given_firm(&rules, records.clone())
        .by(dongping())
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::A))
        .then_err(RejectionCode::WrongRole);
    let published = run(
        &rules,
        records,
        vec![(housing(), after_q1(), publish(quarter(2026, 1), Grade::A))],
    );
    given_firm(&rules, published)
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::A))
        .then_err(RejectionCode::GradeAlreadyPublished);
}

#[test]
fn every_deduction_names_its_act_and_the_score_is_their_sum() {
    let rules = rules();
    let mut records = assessed_q1(&rules);
    let day = |d| cst(2026, 3, d, 10, 0);
    // Case 1: penalty, a violation, an overdue rectification, resolved substantiated.
    records.extend(case_about_firm(
        &rules,
        1,
        vec![
            penalty_step(day(3)),
            violation_step(day(3)),
            (
                dongping(),
                day(3),
                CaseCommand::OrderRectification(case::OrderRectification {
                    requirement: "恢复供水".into(),
                    working_days: 1,
                }),
            ),
            (
                dongping(),
                day(9),
                CaseCommand::VerifyRectification(case::VerifyRectification {
                    order: 1,
                    passed: true,
                    note: String::new(),
                }),
            ),
            (
                dongping(),
                day(10),
                CaseCommand::ResolveCase(case::ResolveCase {
                    summary: "已整改".into(),
                    finding: Finding::Substantiated,
                }),
            ),
        ],
        100,
    ));
    // Case 2: resolved not substantiated: no deduction.
    records.extend(case_about_firm(
        &rules,
        2,
        vec![(
            dongping(),
            day(10),
            CaseCommand::ResolveCase(case::ResolveCase {
                summary: "经核查不属实".into(),
                finding: Finding::NotSubstantiated,
            }),
        )],
        200,
    ));
    // Three commendations: only two count (cap 10 points).
    for _ in 0..3 {
        records = run(
            &rules,
            records,
            vec![(
                housing(),
                day(20),
                FirmCommand::CommendFirm(CommendFirm {
                    reason: "疫情防控表现突出".into(),
                }),
            )],
        );
    }
    let result = score(&rules.credit, &firm(), quarter(2026, 1), &records);
    let by_reason = |reason: CreditReason| {
        result
            .trace
            .iter()
            .filter(|p| p.reason == reason)
            .map(|p| p.points_hundredths)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_reason(CreditReason::QuarterlyAssessment),
        vec![4250, 4750]
    );
    assert_eq!(by_reason(CreditReason::Penalty), vec![-1000]);
    assert_eq!(by_reason(CreditReason::BlackListViolation), vec![-2000]);
    assert_eq!(by_reason(CreditReason::OverdueRectification), vec![-500]);
    assert_eq!(by_reason(CreditReason::SubstantiatedComplaint), vec![-200]);
    assert_eq!(by_reason(CreditReason::Commendation), vec![500, 500, 0]);
    // 90 - 10 - 20 - 5 - 2 + 10 = 63.00: grade C, quarterly inspections.
    assert_eq!(result.score_hundredths, 6300);
    assert_eq!(
        result
            .trace
            .iter()
            .map(|p| p.points_hundredths)
            .sum::<i64>(),
        6300
    );
    assert_eq!(result.grade, Grade::C);
    assert_eq!(result.inspection_interval_months, 3);
    for line in &result.trace {
        let record = records
            .iter()
            .find(|r| r.position == line.position)
            .expect("every point names a recorded act");
        assert_eq!(record.act.kind(), line.kind);
        assert_eq!(record.event_id, line.event_id);
    }
    given_firm(&rules, records.clone())
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::A))
        .then_err(RejectionCode::GradeMismatch);
    given_firm(&rules, records.clone())
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::C))
        .then_kinds(&["GradePublished"]);

    // Credit repair cancels one deduction, by position, once.
    let penalty_position = result
        .trace
        .iter()
        .find(|p| p.reason == CreditReason::Penalty)
        .unwrap()
        .position;
    let repair = |position| {
        FirmCommand::RepairCredit(RepairCredit {
            position,
            reason: "已整改到位，申请信用修复".into(),
        })
    };
    let repaired = run(
        &rules,
        records.clone(),
        vec![(housing(), day(25), repair(penalty_position))],
    );
    let after = score(&rules.credit, &firm(), quarter(2026, 1), &repaired);
    assert_eq!(after.score_hundredths, 7300);
    let line = after
        .trace
        .iter()
        .find(|p| p.position == penalty_position)
        .unwrap();
    assert_eq!(
        (line.points_hundredths, line.repaired_by.is_some()),
        (0, true)
    );
    given_firm(&rules, repaired)
        .at(day(26))
        .when(repair(penalty_position))
        .then_err(RejectionCode::NotRepairable);
    given_firm(&rules, records)
        .at(day(26))
        .when(repair(4))
        .then_err(RejectionCode::NotRepairable);
}

#[test]
fn records_count_for_twelve_months_only() {
    let rules = rules();
    let mut records = assessed_q1(&rules);
    records.extend(case_about_firm(
        &rules,
        1,
        vec![penalty_step(cst(2026, 3, 3, 10, 0))],
        100,
    ));
    assert_eq!(
        score(&rules.credit, &firm(), quarter(2026, 1), &records).score_hundredths,
        8000
    );
    // Q1 2027: the Q1 2026 assessments and the March 2026 penalty have expired.
    let later = run(
        &rules,
        records.clone(),
        vec![(
            heping(),
            cst(2027, 3, 20, 10, 0),
            assess(quarter(2027, 1), &[70]),
        )],
    );
    let result = score(&rules.credit, &firm(), quarter(2027, 1), &later);
    assert_eq!(result.score_hundredths, 7000);
    assert_eq!(result.assessments, 1);
    // Q4 2026 still counts both.
    let result = score(&rules.credit, &firm(), quarter(2026, 4), &later);
    assert_eq!(result.score_hundredths, 8000);
}

#[test]
fn the_mean_is_shared_exactly_among_assessments() {
    let rules = rules();
    let at = cst(2026, 3, 20, 10, 0);
    // 3 assessments: 100, 100, 99 → mean 99.67; shares must add to 9967.
    let mut records = run(
        &rules,
        registered(&rules),
        vec![
            (heping(), at, assess(quarter(2026, 1), &[100])),
            (xinjie(), at, assess(quarter(2026, 1), &[100])),
        ],
    );
    records = run(
        &rules,
        records,
        vec![(
            heping(),
            cst(2026, 6, 20, 10, 0),
            assess(quarter(2026, 2), &[99]),
        )],
    );
    let result = score(&rules.credit, &firm(), quarter(2026, 2), &records);
    assert_eq!(result.score_hundredths, 9967);
    assert_eq!(
        result
            .trace
            .iter()
            .map(|p| p.points_hundredths)
            .sum::<i64>(),
        9967
    );
}

#[test]
fn the_same_records_in_any_order_give_the_same_score() {
    let rules = rules();
    let mut records = assessed_q1(&rules);
    records.extend(case_about_firm(
        &rules,
        1,
        vec![penalty_step(cst(2026, 3, 3, 10, 0))],
        100,
    ));
    let forward = score(&rules.credit, &firm(), quarter(2026, 1), &records);
    records.reverse();
    assert_eq!(
        score(&rules.credit, &firm(), quarter(2026, 1), &records),
        forward
    );
    // A penalty on another firm does not count.
    let other = score(
        &rules.credit,
        &OTHER_FIRM.parse().unwrap(),
        quarter(2026, 1),
        &records,
    );
    assert!(other.trace.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Red and black lists.

fn graded_a_for(rules: &Rules, quarters: u8) -> Vec<RecordedAct> {
    let mut records = registered(rules);
    for q in 1..=quarters {
        let q = quarter(2026, q);
        let assessed_at = q.last_day().and_hms_opt(2, 0, 0).unwrap().and_utc();
        records = run(
            rules,
            records,
            vec![(heping(), assessed_at, assess(q, &[95]))],
        );
        records = run(
            rules,
            records,
            vec![(
                housing(),
                q.ends_at() + Duration::days(2),
                publish(q, Grade::A),
            )],
        );
    }
    records
}

#[test]
fn red_list_takes_four_a_quarters_without_penalty() {
    let rules = rules();
    let red = FirmCommand::ListRed(ListRed {
        reason: "连续四个季度A级".into(),
    });
    let january = cst(2027, 1, 10, 10, 0);
    let records = graded_a_for(&rules, 4);
    let (acts, _) = given_firm(&rules, records.clone())
        .at(january)
        .when(red.clone())
        .then_kinds(&["RedListed"]);
    assert!(matches!(&acts[0], Act::RedListed(r) if r.quarter == quarter(2026, 4)));
    given_firm(&rules, graded_a_for(&rules, 3))
        .at(january)
        .when(red.clone())
        .then_err(RejectionCode::NotEligible);
    let listed = run(
        &rules,
        records.clone(),
        vec![(housing(), january, red.clone())],
    );
    given_firm(&rules, listed.clone())
        .at(january)
        .when(red.clone())
        .then_err(RejectionCode::AlreadyListed);
    let delist = FirmCommand::Delist(Delist {
        list: ListKind::Red,
        reason: "x".into(),
    });
    given_firm(&rules, listed.clone())
        .at(january)
        .when(delist.clone())
        .then_err(RejectionCode::NotEligible);
    // A penalty ends eligibility: then it may be delisted.
    let mut penalised = listed;
    let mut case = case_about_firm(&rules, 1, vec![], 500);
    for record in &mut case {
        record.recorded_at = cst(2026, 12, 1, 10, 0);
    }
    penalised.extend(case);
    penalised.push(RecordedAct {
        position: 600,
        event_id: uuid::Uuid::from_u128(600),
        recorded_at: cst(2026, 12, 2, 10, 0),
        act: Act::PenaltyImposed(PenaltyImposed {
            case_id: CaseId(uuid::Uuid::from_u128(1)),
            unit: unit("housing"),
            party: PenalisedParty::Firm(firm()),
            legal_basis: "x".into(),
            decision_no: "y".into(),
            fine_fen: 0,
        }),
    });
    assert!(!standing(&rules.credit, &firm(), january, &penalised).red_eligible);
    given_firm(&rules, penalised)
        .at(january)
        .when(delist)
        .then_kinds(&["Delisted"]);
    given_firm(&rules, records)
        .at(january)
        .when(FirmCommand::Delist(Delist {
            list: ListKind::Black,
            reason: "x".into(),
        }))
        .then_err(RejectionCode::NotListed);
}

#[test]
fn black_list_takes_a_violation_and_repair_allows_delisting() {
    let rules = rules();
    let black = FirmCommand::ListBlack(ListBlack {
        reason: "违法停水".into(),
    });
    let mut records = assessed_q1(&rules);
    let now = cst(2026, 3, 20, 15, 0);
    given_firm(&rules, records.clone())
        .at(now)
        .when(black.clone())
        .then_err(RejectionCode::NotEligible);
    records.extend(case_about_firm(
        &rules,
        1,
        vec![violation_step(cst(2026, 3, 3, 10, 0))],
        100,
    ));
    let violation = records.last().unwrap().position;
    let (acts, _) = given_firm(&rules, records.clone())
        .at(now)
        .when(black.clone())
        .then_kinds(&["BlackListed"]);
    assert!(matches!(&acts[0], Act::BlackListed(b) if b.grounds == vec![violation]));
    let listed = run(&rules, records, vec![(housing(), now, black.clone())]);
    given_firm(&rules, listed.clone())
        .at(now)
        .when(black)
        .then_err(RejectionCode::AlreadyListed);
    let delist = FirmCommand::Delist(Delist {
        list: ListKind::Black,
        reason: "已完成信用修复".into(),
    });
    given_firm(&rules, listed.clone())
        .at(now)
        .when(delist.clone())
        .then_err(RejectionCode::NotEligible);
    let repaired = run(
        &rules,
        listed,
        vec![(
            housing(),
            now,
            FirmCommand::RepairCredit(RepairCredit {
                position: violation,
                reason: "已恢复供水并道歉".into(),
            }),
        )],
    );
    given_firm(&rules, repaired)
        .at(now + Duration::hours(1))
        .when(delist)
        .then_kinds(&["Delisted"]);
}

#[test]
fn a_grade_d_firm_is_black_list_eligible() {
    let rules = rules();
    let at = cst(2026, 3, 20, 10, 0);
    let records = run(
        &rules,
        registered(&rules),
        vec![(heping(), at, assess(quarter(2026, 1), &[50]))],
    );
    let records = run(
        &rules,
        records,
        vec![(housing(), after_q1(), publish(quarter(2026, 1), Grade::D))],
    );
    let standing = standing(&rules.credit, &firm(), after_q1(), &records);
    assert!(standing.black_eligible);
    assert_eq!(
        standing.black_grounds,
        vec![records.last().unwrap().position]
    );
}

#[test]
fn firm_commands_have_a_json_form() {
    let command = publish(quarter(2026, 1), Grade::A);
    let json = serde_json::to_value(&command).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"command": "PublishGrade", "quarter": "2026-Q1", "grade": "A"})
    );
    assert_eq!(
        serde_json::from_value::<FirmCommand>(json).unwrap(),
        command
    );
    assert!(serde_json::from_str::<FirmCommand>(
        r#"{"command":"PublishGrade","quarter":"2026-Q5","grade":"A"}"#
    )
    .is_err());
}

#[test]
fn a_grade_with_more_trace_lines_than_an_act_can_carry_is_refused() {
    let rules = rules();
    let mut records = assessed_q1(&rules);
    let first = records.len() as u64 + 1;
    for index in 0..GRADE_TRACE_POINTS_MAX as u64 {
        let position = first + index;
        records.push(RecordedAct {
            position,
            event_id: uuid::Uuid::from_u128(u128::from(position)),
            recorded_at: cst(2026, 3, 21, 10, 0),
            act: Act::FirmCommended(FirmCommended {
                firm: firm(),
                reason: "表彰".into(),
                by: unit("housing"),
            }),
        });
    }
    let rejection = given_firm(&rules, records)
        .at(after_q1())
        .when(publish(quarter(2026, 1), Grade::A))
        .then_err(RejectionCode::InvalidField);
    assert!(rejection.en.contains("trace lines"), "{rejection}");
}
