//! Given / when / then tests of the case aggregate: every allowed transition and every
//! rejection, on the shipped registry, matrix, policies and calendar.

mod common;

use caseledger_domain::act::*;
use caseledger_domain::case::*;
use caseledger_domain::deadline::{Clock, Deadline, Severity};
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::rejection::RejectionCode;
use chrono::{DateTime, Duration, Utc};
use common::*;

fn unit(text: &str) -> caseledger_domain::ids::UnitId {
    text.parse().unwrap()
}

fn file_about(category: &str, severity: Severity) -> CaseCommand {
    CaseCommand::FileComplaint(FileComplaint {
        case_id: case_id(),
        channel: Channel::Hotline12345,
        compound: unit(COMPOUND),
        category: category.parse().unwrap(),
        severity,
        firm: Some(FIRM.parse().unwrap()),
        summary: "小区电梯多次停运，物业未及时维修".into(),
        complainant: sealed(),
    })
}

fn file() -> CaseCommand {
    file_about("service-quality", Severity::General)
}

fn dispatch(to: &str) -> CaseCommand {
    CaseCommand::DispatchCase(DispatchCase {
        to: unit(to),
        note: "请核实处理".into(),
    })
}

fn accept() -> CaseCommand {
    CaseCommand::AcceptCase(AcceptCase {})
}

fn contact() -> CaseCommand {
    CaseCommand::ContactComplainant(ContactComplainant {
        method: ContactMethod::Phone,
        note: "已电话联系".into(),
    })
}

fn resolve(finding: Finding) -> CaseCommand {
    CaseCommand::ResolveCase(ResolveCase {
        summary: "已督促物业维修电梯".into(),
        finding,
    })
}

fn feedback(rating: Rating) -> CaseCommand {
    CaseCommand::RecordFeedback(RecordFeedback {
        rating,
        resolved: rating != Rating::Dissatisfied,
        note: String::new(),
    })
}

fn extension(working_days: u32) -> CaseCommand {
    CaseCommand::GrantExtension(GrantExtension {
        working_days,
        reason: "需协调维保单位".into(),
    })
}

fn penalty() -> CaseCommand {
    CaseCommand::ImposePenalty(ImposePenalty {
        party: PenalisedParty::Firm(FIRM.parse().unwrap()),
        legal_basis: "《物业管理条例》第五十九条".into(),
        decision_no: "安住建罚〔2026〕1号".into(),
        fine_fen: 500_000,
    })
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

type Steps = Vec<(Principal, DateTime<Utc>, CaseCommand)>;

fn filed_steps() -> Steps {
    vec![(hotline(), monday(), file())]
}

fn dispatched_steps() -> Steps {
    let mut steps = filed_steps();
    steps.push((housing(), monday() + hours(1), dispatch(TOWNSHIP)));
    steps
}

fn accepted_steps() -> Steps {
    let mut steps = dispatched_steps();
    steps.push((dongping(), monday() + hours(2), accept()));
    steps
}

fn in_progress_steps() -> Steps {
    let mut steps = accepted_steps();
    steps.push((dongping(), monday() + hours(3), contact()));
    steps
}

fn resolved_steps() -> Steps {
    let mut steps = in_progress_steps();
    steps.push((
        dongping(),
        monday() + hours(4),
        resolve(Finding::Substantiated),
    ));
    steps
}

fn acts(steps: Steps) -> Vec<Act> {
    history(&rules(), &steps)
}

/// Deadline helper: `clock` started at `start`, due at 24:00 CST of the given day.
fn due(clock: Clock, start: DateTime<Utc>, year: i32, month: u32, day: u32) -> Deadline {
    Deadline::spanning(
        clock,
        start,
        cst(year, month, day, 0, 0) + Duration::days(1),
    )
}

// ---------------------------------------------------------------------------------------------
// Allowed transitions.

#[test]
fn hotline_files_a_complaint_with_its_facts_and_dispatch_deadline() {
    let rules = rules();
    let state = given(&rules, vec![])
        .by(hotline())
        .at(monday())
        .when(file())
        .then(vec![Act::ComplaintFiled(ComplaintFiled {
            case_id: case_id(),
            channel: Channel::Hotline12345,
            filed_by: unit("12345"),
            compound: unit(COMPOUND),
            community: unit(COMMUNITY),
            township: unit(TOWNSHIP),
            category: "service-quality".parse().unwrap(),
            severity: Severity::General,
            firm: Some(FIRM.parse().unwrap()),
            summary: "小区电梯多次停运，物业未及时维修".into(),
            complainant: match file() {
                CaseCommand::FileComplaint(command) => command.complainant,
                _ => unreachable!(),
            },
            // Monday 10:00 CST + 1 working day = end of Tuesday.
            dispatch_deadline: due(Clock::Dispatch, monday(), 2026, 3, 3),
        })]);
    assert_eq!(state.status, CaseStatus::Filed);
    assert_eq!(state.version, 1);
}

#[test]
fn county_dispatch_carries_accept_and_return_deadlines() {
    let rules = rules();
    let at = monday() + hours(1);
    let state = given(&rules, acts(filed_steps()))
        .by(housing())
        .at(at)
        .when(dispatch(TOWNSHIP))
        .then(vec![Act::CaseDispatched(CaseDispatched {
            case_id: case_id(),
            from: unit("housing"),
            to: unit(TOWNSHIP),
            note: "请核实处理".into(),
            on_time: true,
            accept_deadline: due(Clock::Accept, at, 2026, 3, 3),
            return_deadline: due(Clock::Return, at, 2026, 3, 4),
        })]);
    assert_eq!(state.status, CaseStatus::Dispatched);
    assert_eq!(state.assignee, Some(unit(TOWNSHIP)));
    assert!(state.handlers.contains(&unit(TOWNSHIP)));
}

#[test]
fn petitions_and_the_office_dispatch_at_county_level_too() {
    let rules = rules();
    for principal in [petitions(), office()] {
        given(&rules, acts(filed_steps()))
            .by(principal)
            .when(dispatch("urban-management"))
            .then_kinds(&["CaseDispatched"]);
    }
    given(&rules, acts(filed_steps()))
        .by(housing())
        .when(dispatch(COMMUNITY))
        .then_kinds(&["CaseDispatched"]);
}

#[test]
fn a_township_files_a_walk_in_and_dispatches_within_its_area() {
    let rules = rules();
    let mut command = file();
    if let CaseCommand::FileComplaint(file) = &mut command {
        file.channel = Channel::WalkIn;
    }
    let filed = history(&rules, &[(dongping(), monday(), command)]);
    given(&rules, filed.clone())
        .by(dongping())
        .when(dispatch(COMMUNITY))
        .then_kinds(&["CaseDispatched"]);
    given(&rules, filed)
        .by(dongping())
        .when(dispatch(TOWNSHIP))
        .then_kinds(&["CaseDispatched"]);
}

#[test]
fn the_assignee_accepts_with_contact_and_resolve_deadlines() {
    let rules = rules();
    let at = monday() + hours(2);
    let state = given(&rules, acts(dispatched_steps()))
        .by(dongping())
        .at(at)
        .when(accept())
        .then(vec![Act::CaseAccepted(CaseAccepted {
            case_id: case_id(),
            unit: unit(TOWNSHIP),
            on_time: true,
            first_contact_deadline: due(Clock::FirstContact, at, 2026, 3, 3),
            // 5 working days after Monday 2 March: Tuesday to Friday, then Monday 9 March.
            resolve_deadline: due(Clock::Resolve, at, 2026, 3, 9),
        })]);
    assert_eq!(state.status, CaseStatus::Accepted);
}

#[test]
fn a_late_acceptance_is_flagged_not_refused() {
    let rules = rules();
    let late = cst(2026, 3, 5, 9, 0);
    let (produced, _) = given(&rules, acts(dispatched_steps()))
        .by(dongping())
        .at(late)
        .when(accept())
        .then_kinds(&["CaseAccepted"]);
    assert!(matches!(&produced[0], Act::CaseAccepted(accepted) if !accepted.on_time));
}

#[test]
fn deadlines_cross_the_national_day_holiday_and_its_make_up_saturday() {
    let rules = rules();
    // Wednesday 30 September 2026, 10:00 CST; 1-7 October are holidays.
    let filed_at = cst(2026, 9, 30, 10, 0);
    let filed = history(&rules, &[(hotline(), filed_at, file())]);
    let Act::ComplaintFiled(complaint) = &filed[0] else {
        panic!()
    };
    assert_eq!(
        complaint.dispatch_deadline,
        due(Clock::Dispatch, filed_at, 2026, 10, 8)
    );
    // Dispatched Friday 9 October: Saturday 10 October is a make-up working day.
    let dispatched_at = cst(2026, 10, 9, 9, 0);
    let (produced, _) = given(&rules, filed)
        .by(housing())
        .at(dispatched_at)
        .when(dispatch(TOWNSHIP))
        .then_kinds(&["CaseDispatched"]);
    let Act::CaseDispatched(dispatched) = &produced[0] else {
        panic!()
    };
    assert_eq!(
        dispatched.accept_deadline,
        due(Clock::Accept, dispatched_at, 2026, 10, 10)
    );
    assert!(
        !dispatched.on_time,
        "the dispatch deadline (8 October) had passed"
    );
}

#[test]
fn the_assignee_returns_within_the_window_and_the_dispatcher_dispatches_again() {
    let rules = rules();
    let at = monday() + hours(5);
    let state = given(&rules, acts(dispatched_steps()))
        .by(dongping())
        .at(at)
        .when(CaseCommand::ReturnCase(ReturnCase {
            reason: "不属于本乡镇职责".into(),
        }))
        .then(vec![Act::CaseReturned(CaseReturned {
            case_id: case_id(),
            unit: unit(TOWNSHIP),
            to: unit("housing"),
            reason: "不属于本乡镇职责".into(),
            dispatch_deadline: due(Clock::Dispatch, at, 2026, 3, 3),
        })]);
    assert_eq!(state.status, CaseStatus::Returned);
    assert_eq!(state.assignee, None);
    let mut steps = dispatched_steps();
    steps.push((
        dongping(),
        at,
        CaseCommand::ReturnCase(ReturnCase {
            reason: "不属于本乡镇职责".into(),
        }),
    ));
    given(&rules, acts(steps))
        .by(housing())
        .when(dispatch("market-supervision"))
        .then_kinds(&["CaseDispatched"]);
}

#[test]
fn a_township_transfers_to_a_responsible_department() {
    let rules = rules();
    let mut steps = vec![(
        hotline(),
        monday(),
        file_about("illegal-construction", Severity::General),
    )];
    steps.push((housing(), monday() + hours(1), dispatch(TOWNSHIP)));
    steps.push((dongping(), monday() + hours(2), accept()));
    let state = given(&rules, acts(steps.clone()))
        .by(dongping())
        .when(CaseCommand::TransferCase(TransferCase {
            to: unit("urban-management"),
            reason: "违建属城管执法".into(),
        }))
        .then_kinds(&["CaseTransferred"])
        .1;
    assert_eq!(state.status, CaseStatus::Dispatched);
    assert_eq!(state.assignee, Some(unit("urban-management")));
    assert_eq!(state.dispatcher, Some(unit(TOWNSHIP)));
    // The department accepts and, holding enforcement powers, penalises.
    steps.push((
        dongping(),
        monday() + hours(3),
        CaseCommand::TransferCase(TransferCase {
            to: unit("urban-management"),
            reason: "违建属城管执法".into(),
        }),
    ));
    steps.push((urban(), monday() + hours(4), accept()));
    let state = given(&rules, acts(steps))
        .by(urban())
        .when(penalty())
        .then_kinds(&["PenaltyImposed"])
        .1;
    assert_eq!(state.status, CaseStatus::InProgress);
}

#[test]
fn a_township_dispatches_an_accepted_case_on_to_the_compounds_community() {
    let rules = rules();
    let state = given(&rules, acts(accepted_steps()))
        .by(dongping())
        .when(dispatch(COMMUNITY))
        .then_kinds(&["CaseDispatched"])
        .1;
    assert_eq!(state.assignee, Some(unit(COMMUNITY)));
    assert_eq!(state.dispatcher, Some(unit(TOWNSHIP)));
}

#[test]
fn handling_acts_move_an_accepted_case_in_progress() {
    let rules = rules();
    let commands = vec![
        contact(),
        CaseCommand::RecordInspection(RecordInspection {
            findings: "电梯维保记录缺失".into(),
            substantiated: true,
            severe_violation: None,
        }),
        CaseCommand::OrderRectification(OrderRectification {
            requirement: "三日内修复电梯".into(),
            working_days: 3,
        }),
        CaseCommand::RecordJointEnforcement(RecordJointEnforcement {
            departments: vec![unit("market-supervision"), unit("housing")],
            targets: "小区电梯".into(),
            findings: "责令停用整改".into(),
        }),
    ];
    for command in commands {
        let state = given(&rules, acts(accepted_steps()))
            .by(dongping())
            .when(command)
            .then_kinds_any();
        assert_eq!(state.status, CaseStatus::InProgress);
    }
    let mut steps = accepted_steps();
    steps.push((dongping(), monday() + hours(3), dispatch(COMMUNITY)));
    steps.push((heping(), monday() + hours(4), accept()));
    let state = given(&rules, acts(steps))
        .by(heping())
        .when(CaseCommand::RecordMediation(RecordMediation {
            parties: vec!["业主".into(), "物业服务企业".into()],
            outcome: MediationOutcome::Agreed,
            note: String::new(),
        }))
        .then_kinds(&["MediationRecorded"])
        .1;
    assert_eq!(state.status, CaseStatus::InProgress);
}

trait ThenAny {
    fn then_kinds_any(self) -> CaseState;
}

impl ThenAny for common::When {
    fn then_kinds_any(self) -> CaseState {
        let acts = self
            .result
            .clone()
            .unwrap_or_else(|rejection| panic!("rejected: {rejection}"));
        assert_eq!(acts.len(), 1);
        acts.iter().fold(self.state, evolve)
    }
}

#[test]
fn the_first_contact_is_timed_and_later_ones_are_not() {
    let rules = rules();
    let (produced, _) = given(&rules, acts(accepted_steps()))
        .by(dongping())
        .when(contact())
        .then_kinds(&["ComplainantContacted"]);
    assert!(matches!(&produced[0], Act::ComplainantContacted(c) if c.first && c.on_time));
    let late = cst(2026, 3, 10, 9, 0);
    let (produced, _) = given(&rules, acts(accepted_steps()))
        .by(dongping())
        .at(late)
        .when(contact())
        .then_kinds(&["ComplainantContacted"]);
    assert!(matches!(&produced[0], Act::ComplainantContacted(c) if c.first && !c.on_time));
    let (produced, _) = given(&rules, acts(in_progress_steps()))
        .by(dongping())
        .at(late)
        .when(contact())
        .then_kinds(&["ComplainantContacted"]);
    assert!(matches!(&produced[0], Act::ComplainantContacted(c) if !c.first && c.on_time));
}

#[test]
fn rectification_is_ordered_with_a_due_time_and_verified_once() {
    let rules = rules();
    let mut steps = in_progress_steps();
    steps.push((
        dongping(),
        monday() + hours(4),
        CaseCommand::OrderRectification(OrderRectification {
            requirement: "修复电梯".into(),
            working_days: 3,
        }),
    ));
    let history_acts = acts(steps.clone());
    let Some(Act::RectificationOrdered(order)) = history_acts.last() else {
        panic!()
    };
    assert_eq!(order.order, 1);
    // Monday + 3 working days = end of Thursday.
    assert_eq!(order.due_at, cst(2026, 3, 5, 0, 0) + Duration::days(1));
    let verify = |passed| {
        CaseCommand::VerifyRectification(VerifyRectification {
            order: 1,
            passed,
            note: String::new(),
        })
    };
    let (produced, state) = given(&rules, history_acts.clone())
        .by(dongping())
        .at(cst(2026, 3, 5, 9, 0))
        .when(verify(true))
        .then_kinds(&["RectificationVerified"]);
    assert!(matches!(&produced[0], Act::RectificationVerified(v) if !v.overdue));
    assert!(state.rectifications[&1].verified);
    let (produced, _) = given(&rules, history_acts.clone())
        .by(dongping())
        .at(cst(2026, 3, 9, 9, 0))
        .when(verify(true))
        .then_kinds(&["RectificationVerified"]);
    assert!(
        matches!(&produced[0], Act::RectificationVerified(v) if v.overdue),
        "verified after the due day"
    );
    steps.push((dongping(), cst(2026, 3, 5, 9, 0), verify(false)));
    given(&rules, acts(steps))
        .by(dongping())
        .when(verify(true))
        .then_err(RejectionCode::UnknownRectification);
}

#[test]
fn one_extension_moves_the_resolve_deadline() {
    let rules = rules();
    let state = given(&rules, acts(in_progress_steps()))
        .by(housing())
        .when(extension(10))
        .then_kinds(&["ExtensionGranted"])
        .1;
    // 9 March + 10 working days = 23 March.
    assert_eq!(
        state.deadlines[&Clock::Resolve].due_at,
        cst(2026, 3, 24, 0, 0)
    );
    assert_eq!(state.extensions, 1);
}

#[test]
fn supervision_names_the_overdue_clocks_without_changing_the_state() {
    let rules = rules();
    let late = cst(2026, 3, 12, 9, 0);
    let (produced, state) = given(&rules, acts(accepted_steps()))
        .by(petitions())
        .at(late)
        .when(CaseCommand::IssueSupervision(IssueSupervision {
            reason: "逾期未办结".into(),
        }))
        .then_kinds(&["SupervisionIssued"]);
    let Act::SupervisionIssued(notice) = &produced[0] else {
        panic!()
    };
    assert_eq!(
        notice.overdue_clocks,
        vec![Clock::FirstContact, Clock::Resolve]
    );
    assert_eq!(notice.unit, Some(unit(TOWNSHIP)));
    assert_eq!(state.status, CaseStatus::Accepted);
    assert_eq!(state.supervisions, 1);
}

#[test]
fn resolve_then_satisfied_feedback_closes_the_case() {
    let rules = rules();
    let state = given(&rules, acts(in_progress_steps()))
        .by(dongping())
        .when(resolve(Finding::Substantiated))
        .then_kinds(&["CaseResolved"])
        .1;
    assert_eq!(state.status, CaseStatus::Resolved);
    assert!(state.deadlines.contains_key(&Clock::FollowUp));
    for rating in [Rating::Satisfied, Rating::BasicallySatisfied] {
        let state = given(&rules, acts(resolved_steps()))
            .by(hotline())
            .when(feedback(rating))
            .then_kinds(&["FeedbackRecorded", "CaseClosed"])
            .1;
        assert_eq!(state.status, CaseStatus::Closed);
    }
}

#[test]
fn an_accepted_case_may_be_resolved_directly() {
    let rules = rules();
    given(&rules, acts(accepted_steps()))
        .by(dongping())
        .when(resolve(Finding::NotSubstantiated))
        .then_kinds(&["CaseResolved"]);
}

#[test]
fn reasonable_dissatisfaction_reopens_the_case_for_the_same_unit() {
    let rules = rules();
    let mut steps = resolved_steps();
    steps.push((
        hotline(),
        monday() + hours(6),
        feedback(Rating::Dissatisfied),
    ));
    let state = given(&rules, acts(steps.clone()))
        .by(housing())
        .when(CaseCommand::ReopenCase(ReopenCase {
            reason: "电梯仍未修好".into(),
        }))
        .then_kinds(&["CaseReopened"])
        .1;
    assert_eq!(state.status, CaseStatus::Reopened);
    assert_eq!(state.assignee, Some(unit(TOWNSHIP)));
    steps.push((
        housing(),
        monday() + hours(7),
        CaseCommand::ReopenCase(ReopenCase {
            reason: "电梯仍未修好".into(),
        }),
    ));
    let state = given(&rules, acts(steps.clone()))
        .by(dongping())
        .when(contact())
        .then_kinds(&["ComplainantContacted"])
        .1;
    assert_eq!(state.status, CaseStatus::InProgress);
    given(&rules, acts(steps))
        .by(dongping())
        .when(resolve(Finding::Substantiated))
        .then_kinds(&["CaseResolved"]);
}

#[test]
fn unreasonable_dissatisfaction_or_silence_closes_the_case() {
    let rules = rules();
    let mut steps = resolved_steps();
    steps.push((
        hotline(),
        monday() + hours(6),
        feedback(Rating::Dissatisfied),
    ));
    let (produced, state) = given(&rules, acts(steps))
        .by(housing())
        .when(CaseCommand::CloseCase(CloseCase {}))
        .then_kinds(&["CaseClosed"]);
    assert!(
        matches!(&produced[0], Act::CaseClosed(c) if c.outcome == CloseOutcome::DissatisfactionNotReasonable)
    );
    assert_eq!(state.status, CaseStatus::Closed);
    // Resolved Monday; 3 working days later (end of Thursday) it closes unrated.
    let (produced, _) = given(&rules, acts(resolved_steps()))
        .by(hotline())
        .at(cst(2026, 3, 6, 9, 0))
        .when(CaseCommand::CloseCase(CloseCase {}))
        .then_kinds(&["CaseClosed"]);
    assert!(matches!(&produced[0], Act::CaseClosed(c) if c.outcome == CloseOutcome::Unrated));
}

#[test]
fn merge_and_withdraw_end_open_cases() {
    let rules = rules();
    let other = CaseId(uuid::Uuid::from_u128(99));
    let merge = CaseCommand::MergeCase(MergeCase {
        into: other,
        reason: "同一事项重复投诉".into(),
    });
    let state = given(&rules, acts(dispatched_steps()))
        .by(housing())
        .when(merge.clone())
        .then_kinds(&["CaseMerged"])
        .1;
    assert_eq!(state.status, CaseStatus::Merged);
    assert_eq!(state.merged_into, Some(other));
    given(&rules, acts(filed_steps()))
        .by(dongping())
        .when(merge)
        .then_kinds(&["CaseMerged"]);
    let withdraw = CaseCommand::WithdrawCase(WithdrawCase {
        reason: "投诉人撤回".into(),
    });
    for steps in [
        filed_steps(),
        dispatched_steps(),
        accepted_steps(),
        in_progress_steps(),
        resolved_steps(),
    ] {
        let state = given(&rules, acts(steps))
            .by(hotline())
            .when(withdraw.clone())
            .then_kinds(&["CaseWithdrawn"])
            .1;
        assert_eq!(state.status, CaseStatus::Withdrawn);
    }
}

#[test]
fn the_office_erases_personal_data_once_even_after_closing() {
    let rules = rules();
    let mut steps = resolved_steps();
    steps.push((hotline(), monday() + hours(6), feedback(Rating::Satisfied)));
    let erase = CaseCommand::ErasePersonalData(ErasePersonalData {
        legal_basis: "《个人信息保护法》第四十七条".into(),
    });
    let filed = acts(filed_steps());
    let Act::ComplaintFiled(complaint) = &filed[0] else {
        panic!()
    };
    let (produced, state) = given(&rules, acts(steps.clone()))
        .by(office())
        .when(erase.clone())
        .then_kinds(&["PersonalDataErased"]);
    assert!(
        matches!(&produced[0], Act::PersonalDataErased(e) if e.key_id == complaint.complainant.key_id)
    );
    assert!(state.personal_data_erased);
    steps.push((office(), monday() + hours(7), erase.clone()));
    given(&rules, acts(steps))
        .by(office())
        .when(erase.clone())
        .then_err(RejectionCode::AlreadyErased);
    given(&rules, acts(filed_steps()))
        .by(housing())
        .when(erase)
        .then_err(RejectionCode::WrongRole);
}

// ---------------------------------------------------------------------------------------------
// Rejections.

#[test]
fn wrong_state() {
    let rules = rules();
    given(&rules, acts(filed_steps()))
        .by(dongping())
        .when(accept())
        .then_err(RejectionCode::WrongState);
    given(&rules, acts(dispatched_steps()))
        .by(dongping())
        .when(resolve(Finding::Substantiated))
        .then_err(RejectionCode::WrongState);
    given(&rules, acts(in_progress_steps()))
        .by(hotline())
        .when(feedback(Rating::Satisfied))
        .then_err(RejectionCode::WrongState);
    let mut closed = resolved_steps();
    closed.push((hotline(), monday() + hours(6), feedback(Rating::Satisfied)));
    let closed = acts(closed);
    given(&rules, closed.clone())
        .by(housing())
        .when(dispatch(TOWNSHIP))
        .then_err(RejectionCode::WrongState);
    given(&rules, closed.clone())
        .by(hotline())
        .when(CaseCommand::WithdrawCase(WithdrawCase {
            reason: "x".into(),
        }))
        .then_err(RejectionCode::WrongState);
    given(&rules, closed)
        .by(housing())
        .when(extension(3))
        .then_err(RejectionCode::WrongState);
    given(&rules, acts(filed_steps()))
        .by(hotline())
        .when(file())
        .then_err(RejectionCode::AlreadyExists);
    given(&rules, vec![])
        .by(dongping())
        .when(accept())
        .then_err(RejectionCode::NotFound);
    let rejection = given(&rules, acts(in_progress_steps()))
        .by(dongping())
        .when(CaseCommand::ReturnCase(ReturnCase { reason: "x".into() }))
        .then_err(RejectionCode::WrongState);
    assert!(
        rejection.zh.contains("办理中") && rejection.en.contains("in progress"),
        "{rejection}"
    );
}

#[test]
fn wrong_role() {
    let rules = rules();
    let supervise = CaseCommand::IssueSupervision(IssueSupervision {
        reason: "督办".into(),
    });
    for principal in [heping(), dongping(), urban(), hotline()] {
        given(&rules, acts(accepted_steps()))
            .by(principal)
            .when(supervise.clone())
            .then_err(RejectionCode::WrongRole);
    }
    given(&rules, vec![])
        .by(court())
        .when(file())
        .then_err(RejectionCode::WrongRole);
    given(&rules, vec![])
        .by(public())
        .when(file())
        .then_err(RejectionCode::WrongRole);
    given(&rules, acts(filed_steps()))
        .by(public())
        .when(dispatch(TOWNSHIP))
        .then_err(RejectionCode::WrongRole);
    given(&rules, acts(filed_steps()))
        .by(urban())
        .when(dispatch(TOWNSHIP))
        .then_err(RejectionCode::WrongRole);
    given(&rules, acts(filed_steps()))
        .by(heping())
        .when(dispatch(COMMUNITY))
        .then_err(RejectionCode::WrongRole);
    given(&rules, acts(accepted_steps()))
        .by(hotline())
        .when(penalty())
        .then_err(RejectionCode::WrongRole);
    given(&rules, acts(resolved_steps()))
        .by(principal(Role::Firm, &format!("firm/{FIRM}")))
        .when(feedback(Rating::Satisfied))
        .then_err(RejectionCode::WrongRole);
    // Only a township transfers.
    let mut steps = dispatched_steps();
    steps.pop();
    steps.push((
        housing(),
        monday() + hours(1),
        dispatch("market-supervision"),
    ));
    steps.push((market(), monday() + hours(2), accept()));
    given(&rules, acts(steps))
        .by(market())
        .when(CaseCommand::TransferCase(TransferCase {
            to: unit("urban-management"),
            reason: "x".into(),
        }))
        .then_err(RejectionCode::WrongRole);
}

#[test]
fn wrong_jurisdiction() {
    let rules = rules();
    // Another township may not dispatch a Dongping case.
    given(&rules, acts(filed_steps()))
        .by(qingtangpu())
        .when(dispatch("township/qingtangpu"))
        .then_err(RejectionCode::WrongJurisdiction);
    // County level dispatches to the compound's own township or community only.
    given(&rules, acts(filed_steps()))
        .by(housing())
        .when(dispatch("township/qingtangpu"))
        .then_err(RejectionCode::WrongJurisdiction);
    given(&rules, acts(filed_steps()))
        .by(housing())
        .when(dispatch("community/dongping/xinjie"))
        .then_err(RejectionCode::WrongJurisdiction);
    // A township reaches departments only by transfer, and only communities of the compound.
    let mut command = file();
    if let CaseCommand::FileComplaint(file) = &mut command {
        file.channel = Channel::WalkIn;
    }
    let walk_in = history(&rules, &[(dongping(), monday(), command.clone())]);
    given(&rules, walk_in.clone())
        .by(dongping())
        .when(dispatch("urban-management"))
        .then_err(RejectionCode::WrongJurisdiction);
    given(&rules, walk_in)
        .by(dongping())
        .when(dispatch("community/dongping/xinjie"))
        .then_err(RejectionCode::WrongJurisdiction);
    // Filing outside one's area.
    given(&rules, vec![])
        .by(qingtangpu())
        .when(command.clone())
        .then_err(RejectionCode::WrongJurisdiction);
    given(&rules, vec![])
        .by(xinjie())
        .when(command)
        .then_err(RejectionCode::WrongJurisdiction);
    // Joint enforcement is led by the compound's township.
    let joint = CaseCommand::RecordJointEnforcement(RecordJointEnforcement {
        departments: vec![unit("housing")],
        targets: "x".into(),
        findings: "y".into(),
    });
    given(&rules, acts(accepted_steps()))
        .by(qingtangpu())
        .when(joint)
        .then_err(RejectionCode::WrongJurisdiction);
    // Extensions come from the dispatcher or the county level.
    given(&rules, acts(accepted_steps()))
        .by(qingtangpu())
        .when(extension(2))
        .then_err(RejectionCode::WrongJurisdiction);
    // Merging by another township.
    given(&rules, acts(filed_steps()))
        .by(qingtangpu())
        .when(CaseCommand::MergeCase(MergeCase {
            into: CaseId(uuid::Uuid::from_u128(5)),
            reason: "x".into(),
        }))
        .then_err(RejectionCode::WrongJurisdiction);
}

#[test]
fn only_the_assignee_accepts_returns_inspects_and_resolves() {
    let rules = rules();
    let outsider = market();
    given(&rules, acts(dispatched_steps()))
        .by(outsider.clone())
        .when(accept())
        .then_err(RejectionCode::NotAssignee);
    given(&rules, acts(dispatched_steps()))
        .by(housing())
        .when(CaseCommand::ReturnCase(ReturnCase { reason: "x".into() }))
        .then_err(RejectionCode::NotAssignee);
    given(&rules, acts(accepted_steps()))
        .by(heping())
        .when(CaseCommand::RecordInspection(RecordInspection {
            findings: "x".into(),
            substantiated: true,
            severe_violation: None,
        }))
        .then_err(RejectionCode::NotAssignee);
    given(&rules, acts(in_progress_steps()))
        .by(outsider)
        .when(resolve(Finding::Substantiated))
        .then_err(RejectionCode::NotAssignee);
    given(&rules, acts(in_progress_steps()))
        .by(housing())
        .when(contact())
        .then_err(RejectionCode::NotAssignee);
}

#[test]
fn penalty_by_a_body_without_enforcement_powers() {
    let rules = rules();
    // A township has no enforcement powers, even as assignee.
    let rejection = given(&rules, acts(accepted_steps()))
        .by(dongping())
        .when(penalty())
        .then_err(RejectionCode::NoEnforcementPowers);
    assert!(rejection.zh.contains("service-quality") && rejection.en.contains("service-quality"));
    // Market supervision has none over service quality; urban management none either.
    given(&rules, acts(accepted_steps()))
        .by(market())
        .when(penalty())
        .then_err(RejectionCode::NoEnforcementPowers);
    given(&rules, acts(accepted_steps()))
        .by(urban())
        .when(penalty())
        .then_err(RejectionCode::NoEnforcementPowers);
    given(&rules, acts(accepted_steps()))
        .by(office())
        .when(penalty())
        .then_err(RejectionCode::NoEnforcementPowers);
    // Housing has: allowed, fine in fen.
    let (produced, _) = given(&rules, acts(accepted_steps()))
        .by(housing())
        .when(penalty())
        .then_kinds(&["PenaltyImposed"]);
    assert!(matches!(&produced[0], Act::PenaltyImposed(p) if p.fine_fen == 500_000));
    // The legal basis is required.
    let mut no_basis = penalty();
    if let CaseCommand::ImposePenalty(p) = &mut no_basis {
        p.legal_basis = " ".into();
    }
    let rejection = given(&rules, acts(accepted_steps()))
        .by(housing())
        .when(no_basis)
        .then_err(RejectionCode::InvalidField);
    assert_eq!(rejection.field.as_deref(), Some("legal_basis"));
}

#[test]
fn a_second_extension_or_a_long_one_is_refused() {
    let rules = rules();
    let mut steps = in_progress_steps();
    steps.push((housing(), monday() + hours(5), extension(3)));
    let rejection = given(&rules, acts(steps))
        .by(housing())
        .when(extension(2))
        .then_err(RejectionCode::ExtensionAlreadyGranted);
    assert!(rejection.en.contains("at most 1"));
    let rejection = given(&rules, acts(in_progress_steps()))
        .by(housing())
        .when(extension(11))
        .then_err(RejectionCode::ExtensionTooLong);
    assert_eq!(rejection.field.as_deref(), Some("working_days"));
    given(&rules, acts(in_progress_steps()))
        .by(housing())
        .when(extension(0))
        .then_err(RejectionCode::InvalidField);
}

#[test]
fn a_return_after_the_window_is_refused() {
    let rules = rules();
    // Dispatched Monday; the 2-working-day window ends with Wednesday.
    given(&rules, acts(dispatched_steps()))
        .by(dongping())
        .at(cst(2026, 3, 5, 8, 0))
        .when(CaseCommand::ReturnCase(ReturnCase { reason: "x".into() }))
        .then_err(RejectionCode::ReturnWindowClosed);
    given(&rules, acts(dispatched_steps()))
        .by(dongping())
        .when(CaseCommand::ReturnCase(ReturnCase { reason: "".into() }))
        .then_err(RejectionCode::InvalidField);
}

#[test]
fn other_rejections_name_what_was_wrong() {
    let rules = rules();
    let rejection = given(&rules, acts(filed_steps()))
        .by(housing())
        .when(CaseCommand::MergeCase(MergeCase {
            into: case_id(),
            reason: "x".into(),
        }))
        .then_err(RejectionCode::MergeIntoSelf);
    assert_eq!(rejection.field.as_deref(), Some("into"));
    let mut steps = resolved_steps();
    steps.push((
        hotline(),
        monday() + hours(6),
        feedback(Rating::Dissatisfied),
    ));
    given(&rules, acts(steps))
        .by(hotline())
        .when(feedback(Rating::Satisfied))
        .then_err(RejectionCode::FeedbackAlreadyRecorded);
    given(&rules, acts(resolved_steps()))
        .by(housing())
        .when(CaseCommand::CloseCase(CloseCase {}))
        .then_err(RejectionCode::FeedbackRequired);
    given(&rules, acts(resolved_steps()))
        .by(housing())
        .when(CaseCommand::ReopenCase(ReopenCase { reason: "x".into() }))
        .then_err(RejectionCode::FeedbackRequired);
    let mut steps = accepted_steps();
    steps[0].2 = file_about("illegal-construction", Severity::General);
    let rejection = given(&rules, acts(steps))
        .by(dongping())
        .when(CaseCommand::TransferCase(TransferCase {
            to: unit("health"),
            reason: "x".into(),
        }))
        .then_err(RejectionCode::NotResponsible);
    assert!(rejection.zh.contains("health") && rejection.en.contains("illegal-construction"));
    given(&rules, vec![])
        .by(hotline())
        .when(file_about("decoration", Severity::Urgent))
        .then_err(RejectionCode::InvalidField);
    given(&rules, vec![])
        .by(hotline())
        .when(file_about("no-such-category", Severity::General))
        .then_err(RejectionCode::UnknownCategory);
    let rejection = given(&rules, acts(filed_steps()))
        .by(housing())
        .when(dispatch("compound/dongping/cuizhu-12"))
        .then_err(RejectionCode::UnknownUnit);
    assert_eq!(rejection.field.as_deref(), Some("to"));
    let mut command = file();
    if let CaseCommand::FileComplaint(file) = &mut command {
        file.compound = unit("compound/nowhere/none");
    }
    given(&rules, vec![])
        .by(hotline())
        .when(command)
        .then_err(RejectionCode::UnknownUnit);
    let mut command = file();
    if let CaseCommand::FileComplaint(file) = &mut command {
        file.complainant.ciphertext = vec![0; caseledger_domain::seal::CIPHERTEXT_BYTES_MAX + 1];
    }
    let rejection = given(&rules, vec![])
        .by(hotline())
        .when(command)
        .then_err(RejectionCode::InvalidField);
    assert_eq!(rejection.field.as_deref(), Some("complainant"));
    // A calendar that does not cover the dates refuses rather than guesses.
    given(&rules, vec![])
        .by(hotline())
        .at(cst(2030, 3, 4, 10, 0))
        .when(file())
        .then_err(RejectionCode::DeadlineUnavailable);
}

#[test]
fn urgent_safety_cases_resolve_within_hours() {
    let rules = rules();
    let mut steps = vec![(
        hotline(),
        monday(),
        file_about("special-equipment", Severity::Urgent),
    )];
    steps.push((
        housing(),
        monday() + hours(1),
        dispatch("market-supervision"),
    ));
    let at = monday() + hours(2);
    let (produced, _) = given(&rules, acts(steps))
        .by(market())
        .at(at)
        .when(accept())
        .then_kinds(&["CaseAccepted"]);
    let Act::CaseAccepted(accepted) = &produced[0] else {
        panic!()
    };
    assert_eq!(accepted.resolve_deadline.due_at, at + hours(24));
}

#[test]
fn commands_and_rejections_have_a_json_form() {
    let command = CaseCommand::DispatchCase(DispatchCase {
        to: unit(TOWNSHIP),
        note: String::new(),
    });
    let json = serde_json::to_value(&command).unwrap();
    assert_eq!(json["command"], "DispatchCase");
    assert_eq!(
        serde_json::from_value::<CaseCommand>(json).unwrap(),
        command
    );
    let accept: CaseCommand = serde_json::from_str(r#"{"command":"AcceptCase"}"#).unwrap();
    assert_eq!(accept, CaseCommand::AcceptCase(AcceptCase {}));
    let unknown = serde_json::from_str::<CaseCommand>(
        r#"{"command":"DispatchCase","to":"township/dongping","colour":"red"}"#,
    );
    assert!(unknown.is_err(), "unknown fields are refused");
    let bad_unit =
        serde_json::from_str::<CaseCommand>(r#"{"command":"DispatchCase","to":"not a unit"}"#);
    assert!(bad_unit.is_err());
}

#[test]
fn evolve_ignores_firm_acts() {
    let filed = acts(filed_steps());
    let state = CaseState::replay(&filed);
    let firm_act = Act::FirmCommended(FirmCommended {
        firm: FIRM.parse().unwrap(),
        reason: "x".into(),
        by: unit("housing"),
    });
    assert_eq!(evolve(state.clone(), &firm_act), state);
}
