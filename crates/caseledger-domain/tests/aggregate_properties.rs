//! Property tests: random command sequences never panic and never produce an act that the
//! rules forbid (checked by an independent auditor, written from DOMAIN.md rather than from
//! `decide`); `evolve` is total; a credit score replayed from the same acts is identical.

mod common;

use std::sync::OnceLock;

use caseledger_domain::act::*;
use caseledger_domain::case::{self, *};
use caseledger_domain::context::{Context, Rules};
use caseledger_domain::credit::score;
use caseledger_domain::deadline::{Clock, Severity};
use caseledger_domain::firm::{self, FirmState};
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::registry::UnitKind;
use chrono::{DateTime, Duration, Utc};
use common::*;
use proptest::prelude::*;

fn shared_rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(rules)
}

fn principals() -> Vec<Principal> {
    vec![
        office(),
        housing(),
        petitions(),
        urban(),
        market(),
        hotline(),
        dongping(),
        qingtangpu(),
        heping(),
        xinjie(),
        court(),
        public(),
        principal(Role::Firm, &format!("firm/{FIRM}")),
    ]
}

fn unit(text: &str) -> caseledger_domain::ids::UnitId {
    text.parse().unwrap()
}

/// The principal acting for `unit`, with the role its registry kind implies.
fn acting_for(rules: &Rules, unit: &caseledger_domain::ids::UnitId) -> Option<Principal> {
    let role = match rules.registry.kind_of(unit)? {
        UnitKind::Office => Role::Office,
        UnitKind::Department => Role::Department,
        UnitKind::Township => Role::Township,
        UnitKind::Community => Role::Community,
        UnitKind::Intake => Role::Intake,
        UnitKind::Firm => Role::Firm,
        UnitKind::Compound => return None,
    };
    Some(Principal::new(role, unit.clone()))
}

/// Who acts at a step: half the time the case's assignee or dispatcher (so that sequences get
/// deep into the lifecycle), otherwise anyone.
fn pick(rules: &Rules, state: &CaseState, who: usize) -> Principal {
    let everyone = principals();
    let relative = match who {
        0..=5 => state.assignee.as_ref(),
        6..=8 => state.dispatcher.as_ref(),
        _ => None,
    };
    relative
        .and_then(|unit| acting_for(rules, unit))
        .unwrap_or_else(|| everyone[who % everyone.len()].clone())
}

/// A department that handles the case's category, when the matrix names one.
fn responsible_department(
    rules: &Rules,
    state: &CaseState,
) -> Option<caseledger_domain::ids::UnitId> {
    let rule = rules.matrix.category(state.category.as_ref()?)?;
    rule.handlers.iter().find_map(|body| match body {
        caseledger_domain::policy::Body::Unit(unit) => Some(unit.clone()),
        _ => None,
    })
}

/// A command from a small menu, with parameters drawn from `a` and `b`; half the time a target
/// or order number is taken from the case itself, so that valid commands are common.
fn command_for(rules: &Rules, state: &CaseState, choice: u8, a: u8, b: bool) -> CaseCommand {
    let relative = a.is_multiple_of(2);
    // Ending a case (merge, withdraw, erase) is common in life but would cut most sequences
    // short; three times in four those choices order or verify a rectification instead.
    let choice = match choice % 26 {
        20 | 21 if !a.is_multiple_of(4) => {
            if b {
                9
            } else {
                10
            }
        }
        other => other,
    };
    match command(choice, a, b) {
        CaseCommand::DispatchCase(mut dispatch) if relative => {
            if let Some(township) = &state.township {
                dispatch.to = township.clone();
            }
            CaseCommand::DispatchCase(dispatch)
        }
        CaseCommand::TransferCase(mut transfer) if relative => {
            if let Some(department) = responsible_department(rules, state) {
                transfer.to = department;
            }
            CaseCommand::TransferCase(transfer)
        }
        CaseCommand::VerifyRectification(mut verify) if relative => {
            verify.order = state
                .rectifications
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0);
            CaseCommand::VerifyRectification(verify)
        }
        other => other,
    }
}

/// A command from a small menu, with parameters drawn from `a` and `b`.
fn command(choice: u8, a: u8, b: bool) -> CaseCommand {
    let targets = [
        TOWNSHIP,
        COMMUNITY,
        "urban-management",
        "housing",
        "market-supervision",
        "township/qingtangpu",
        "community/dongping/xinjie",
        "health",
    ];
    let target = unit(targets[a as usize % targets.len()]);
    // 22 to 25 repeat the commands that move a case forward, so sequences get deep.
    let choice = match choice % 26 {
        22 => 16,
        23 => 17,
        24 => 3,
        25 => 7,
        other => other,
    };
    match choice {
        0 => {
            let (category, severity) = [
                ("service-quality", Severity::General),
                ("illegal-construction", Severity::Complex),
                ("special-equipment", Severity::Urgent),
                ("decoration", Severity::General),
            ][a as usize % 4];
            CaseCommand::FileComplaint(FileComplaint {
                case_id: case_id(),
                channel: Channel::WalkIn,
                compound: unit(COMPOUND),
                category: category.parse().unwrap(),
                severity,
                firm: b.then(|| FIRM.parse().unwrap()),
                summary: "投诉".into(),
                complainant: sealed(),
            })
        }
        1 | 2 => CaseCommand::DispatchCase(DispatchCase {
            to: target,
            note: String::new(),
        }),
        3 | 4 => CaseCommand::AcceptCase(AcceptCase {}),
        5 => CaseCommand::ReturnCase(ReturnCase {
            reason: if b { "原因".into() } else { String::new() },
        }),
        6 => CaseCommand::TransferCase(TransferCase {
            to: target,
            reason: "移送".into(),
        }),
        7 => CaseCommand::ContactComplainant(ContactComplainant {
            method: ContactMethod::Visit,
            note: String::new(),
        }),
        8 => CaseCommand::RecordInspection(RecordInspection {
            findings: "核查".into(),
            substantiated: b,
            severe_violation: b.then_some(SevereViolation::ViolentCollection),
        }),
        9 => CaseCommand::OrderRectification(OrderRectification {
            requirement: "整改".into(),
            working_days: u32::from(a % 6),
        }),
        10 => CaseCommand::VerifyRectification(VerifyRectification {
            order: u32::from(a % 3),
            passed: b,
            note: String::new(),
        }),
        11 => CaseCommand::ImposePenalty(ImposePenalty {
            party: PenalisedParty::Firm(FIRM.parse().unwrap()),
            legal_basis: "条例".into(),
            decision_no: "文号".into(),
            fine_fen: u64::from(a) * 10_000,
        }),
        12 => CaseCommand::RecordMediation(RecordMediation {
            parties: vec!["业主".into(), "物业".into()],
            outcome: MediationOutcome::PartlyAgreed,
            note: String::new(),
        }),
        13 => CaseCommand::RecordJointEnforcement(RecordJointEnforcement {
            departments: vec![unit(
                ["housing", "urban-management", TOWNSHIP][a as usize % 3],
            )],
            targets: "目标".into(),
            findings: "结果".into(),
        }),
        14 => CaseCommand::GrantExtension(GrantExtension {
            working_days: u32::from(a % 13),
            reason: "延期".into(),
        }),
        15 => CaseCommand::IssueSupervision(IssueSupervision {
            reason: "督办".into(),
        }),
        16 => CaseCommand::ResolveCase(ResolveCase {
            summary: "办结".into(),
            finding: [
                Finding::Substantiated,
                Finding::PartlySubstantiated,
                Finding::NotSubstantiated,
            ][a as usize % 3],
        }),
        17 => CaseCommand::RecordFeedback(RecordFeedback {
            rating: [
                Rating::Satisfied,
                Rating::BasicallySatisfied,
                Rating::Dissatisfied,
                Rating::Dissatisfied,
            ][a as usize % 4],
            resolved: b,
            note: String::new(),
        }),
        18 => CaseCommand::CloseCase(CloseCase {}),
        19 => CaseCommand::ReopenCase(ReopenCase {
            reason: "不满意".into(),
        }),
        20 => CaseCommand::MergeCase(MergeCase {
            into: if b {
                case_id()
            } else {
                CaseId(uuid::Uuid::from_u128(9))
            },
            reason: "并单".into(),
        }),
        _ => {
            if b {
                CaseCommand::WithdrawCase(WithdrawCase {
                    reason: "撤回".into(),
                })
            } else {
                CaseCommand::ErasePersonalData(ErasePersonalData {
                    legal_basis: "个保法".into(),
                })
            }
        }
    }
}

/// The rules restated independently of `decide`: may `principal` have produced `act` on a case
/// in `state` at `now`? Returns what is wrong.
fn audit(
    rules: &Rules,
    state: &CaseState,
    principal: &Principal,
    now: DateTime<Utc>,
    act: &Act,
) -> Result<(), String> {
    let registry = &rules.registry;
    let county = matches!(principal.role, Role::Office)
        || (principal.role == Role::Department
            && ["housing", "petitions"].contains(&principal.unit.as_str()));
    let assignee = state.assignee.as_ref() == Some(&principal.unit);
    let handling = matches!(
        state.status,
        CaseStatus::Accepted | CaseStatus::InProgress | CaseStatus::Reopened
    );
    let open = !matches!(
        state.status,
        CaseStatus::NotFiled | CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Withdrawn
    );
    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{} by {principal} in {:?}: {what}",
                act.kind(),
                state.status
            ))
        }
    };
    if !matches!(act, Act::ComplaintFiled(_)) {
        check(state.case_id == act.case_id(), "act for another case")?;
    }
    match act {
        Act::ComplaintFiled(a) => {
            check(state.status == CaseStatus::NotFiled, "filed twice")?;
            check(
                !matches!(principal.role, Role::Court | Role::Firm | Role::Public),
                "role may not file",
            )?;
            check(
                registry.township_of(&a.compound) == Some(&a.township),
                "township fact wrong",
            )?;
            if a.severity == Severity::Urgent {
                check(
                    rules.matrix.is_urgent_capable(&a.category),
                    "urgent for a non-urgent category",
                )?;
            }
        }
        Act::CaseDispatched(a) => {
            check(
                county || principal.role == Role::Township,
                "role may not dispatch",
            )?;
            check(
                open && state.status != CaseStatus::Resolved,
                "dispatching a closed or resolved case",
            )?;
            let kind = registry.kind_of(&a.to);
            check(
                matches!(
                    kind,
                    Some(UnitKind::Township | UnitKind::Community | UnitKind::Department)
                ),
                "bad target kind",
            )?;
            if matches!(kind, Some(UnitKind::Township | UnitKind::Community)) {
                check(
                    Some(&a.to) == state.township.as_ref()
                        || Some(&a.to) == state.community.as_ref(),
                    "target outside the compound's area",
                )?;
            }
            if !county {
                check(
                    state.township.as_ref() == Some(&principal.unit),
                    "township outside its area",
                )?;
                check(
                    kind != Some(UnitKind::Department),
                    "township dispatching to a department",
                )?;
            }
        }
        Act::CaseAccepted(_) => check(
            state.status == CaseStatus::Dispatched && assignee,
            "accept by non-assignee or wrong state",
        )?,
        Act::CaseReturned(a) => {
            check(
                matches!(state.status, CaseStatus::Dispatched | CaseStatus::Accepted) && assignee,
                "return",
            )?;
            check(!a.reason.trim().is_empty(), "return without reason")?;
            check(
                state
                    .deadlines
                    .get(&Clock::Return)
                    .is_some_and(|d| now < d.due_at),
                "return after the window",
            )?;
        }
        Act::CaseTransferred(a) => {
            check(
                principal.role == Role::Township && assignee,
                "transfer by non-township or non-assignee",
            )?;
            check(
                registry.kind_of(&a.to) == Some(UnitKind::Department),
                "transfer to a non-department",
            )?;
            check(
                rules.matrix.is_handler(
                    &a.to,
                    state.category.as_ref().unwrap(),
                    registry,
                    state.compound.as_ref(),
                ),
                "transfer to a department not responsible",
            )?;
        }
        Act::ComplainantContacted(_)
        | Act::InspectionRecorded(_)
        | Act::RectificationOrdered(_)
        | Act::CaseResolved(_) => check(
            handling && assignee,
            "handling act by non-assignee or wrong state",
        )?,
        Act::RectificationVerified(a) => {
            check(handling && assignee, "verification")?;
            check(
                state
                    .rectifications
                    .get(&a.order)
                    .is_some_and(|r| !r.verified),
                "verifying an unknown or verified order",
            )?;
        }
        Act::MediationRecorded(_) => check(
            handling && assignee && matches!(principal.role, Role::Community | Role::Township),
            "mediation",
        )?,
        Act::PenaltyImposed(_) => {
            check(handling, "penalty in wrong state")?;
            check(
                principal.role == Role::Department
                    && rules
                        .matrix
                        .has_enforcement_powers(&principal.unit, state.category.as_ref().unwrap()),
                "penalty by a body without enforcement powers",
            )?;
        }
        Act::JointEnforcementRecorded(_) => check(
            handling
                && principal.role == Role::Township
                && state.township.as_ref() == Some(&principal.unit),
            "joint enforcement",
        )?,
        Act::ExtensionGranted(a) => {
            check(handling, "extension in wrong state")?;
            check(
                state.extensions < rules.deadlines.extensions_max,
                "second extension",
            )?;
            check(
                (1..=rules.deadlines.extension_working_days_max).contains(&a.working_days),
                "extension length",
            )?;
            check(
                county || state.dispatcher.as_ref() == Some(&principal.unit),
                "extension by non-dispatcher",
            )?;
        }
        Act::SupervisionIssued(_) => check(
            county && open && state.status != CaseStatus::Resolved,
            "supervision",
        )?,
        Act::FeedbackRecorded(_) => check(
            state.status == CaseStatus::Resolved && state.feedback.is_none(),
            "feedback",
        )?,
        Act::CaseClosed(_) => check(
            state.status == CaseStatus::Resolved,
            "closing an unresolved case",
        )?,
        Act::CaseReopened(_) => check(
            state.status == CaseStatus::Resolved
                && state
                    .feedback
                    .as_ref()
                    .is_some_and(|f| f.rating == Rating::Dissatisfied),
            "reopen without dissatisfaction",
        )?,
        Act::CaseMerged(a) => {
            check(open && state.status != CaseStatus::Resolved, "merge")?;
            check(Some(a.into) != state.case_id, "merge into itself")?;
        }
        Act::CaseWithdrawn(_) => check(open, "withdrawing a finished case")?,
        Act::PersonalDataErased(_) => check(
            principal.role == Role::Office && !state.personal_data_erased,
            "erasure",
        )?,
        other => return Err(format!("firm act {} from the case aggregate", other.kind())),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_never_panic_nor_break_a_rule(
        steps in proptest::collection::vec((0usize..26, any::<u8>(), any::<u8>(), any::<bool>(), 0i64..30), 1..80),
        file_first in any::<bool>(),
        category in any::<u8>(),
    ) {
        let rules = shared_rules();
        let mut state = CaseState::default();
        let mut now = monday();
        let mut applied = 0u64;
        let mut steps = steps;
        if file_first {
            steps.insert(0, (18, 0, category, true, 0));
        }
        for (who, choice, a, b, hours) in steps {
            now += Duration::hours(hours);
            let principal = &pick(rules, &state, who);
            let command = command_for(rules, &state, choice, a, b);
            let context = Context::new(rules, now, principal.clone());
            let result = case::decide(&state, &command, &context);
            prop_assert_eq!(&result, &case::decide(&state, &command, &context), "decide is deterministic");
            if let Ok(acts) = result {
                prop_assert!(!acts.is_empty());
                for act in acts {
                    if let Err(problem) = audit(rules, &state, principal, now, &act) {
                        prop_assert!(false, "{}", problem);
                    }
                    state = case::evolve(state, &act);
                    applied += 1;
                }
            }
            prop_assert_eq!(state.version, applied);
            prop_assert!(state.extensions <= rules.deadlines.extensions_max);
        }
    }

    #[test]
    fn evolve_is_total_over_any_act_order(order in proptest::collection::vec(any::<proptest::sample::Index>(), 0..80)) {
        let pool = every_kind(shared_rules());
        let chosen: Vec<&Act> = order.iter().map(|index| index.get(&pool)).collect();
        let case_state = chosen.iter().fold(CaseState::default(), |state, act| case::evolve(state, act));
        let firm_state = chosen.iter().fold(FirmState::default(), |state, act| firm::evolve(state, act));
        let case_acts = chosen.iter().filter(|act| act.is_case_act()).count() as u64;
        prop_assert_eq!(case_state.version, case_acts);
        prop_assert_eq!(firm_state.version, chosen.len() as u64 - case_acts);
    }

    #[test]
    fn a_credit_score_replayed_from_the_same_acts_is_identical(
        events in proptest::collection::vec((0u8..6, 0u32..=100, 0i64..360, any::<bool>()), 0..60),
        shuffle in any::<u64>(),
        q in 1u8..=4,
    ) {
        let rules = shared_rules();
        let records = credit_world(&events);
        let quarter = Quarter::new(2026, q).unwrap();
        let first = score(&rules.credit, &FIRM.parse().unwrap(), quarter, &records);
        let again = score(&rules.credit, &FIRM.parse().unwrap(), quarter, &records);
        prop_assert_eq!(&first, &again);
        let mut shuffled = records.clone();
        let mut seed = shuffle | 1;
        for i in (1..shuffled.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            shuffled.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(&score(&rules.credit, &FIRM.parse().unwrap(), quarter, &shuffled), &first);
        let sum: i64 = first.trace.iter().map(|line| line.points_hundredths).sum();
        prop_assert_eq!(first.score_hundredths, sum.clamp(0, 100 * 100));
        for line in &first.trace {
            prop_assert!(records.iter().any(|r| r.position == line.position && r.act.kind() == line.kind));
        }
    }
}

/// Firm and case records at random times of 2026: assessments, penalties, violations,
/// substantiated resolutions, commendations, repairs.
fn credit_world(events: &[(u8, u32, i64, bool)]) -> Vec<RecordedAct> {
    let firm: caseledger_domain::ids::Uscc = FIRM.parse().unwrap();
    let start = cst(2026, 1, 1, 9, 0);
    let mut records = Vec::new();
    let case = CaseId(uuid::Uuid::from_u128(1));
    let filed = every_kind(shared_rules())
        .into_iter()
        .find(|act| matches!(act, Act::ComplaintFiled(_)))
        .unwrap();
    let Act::ComplaintFiled(mut filed) = filed else {
        unreachable!()
    };
    filed.case_id = case;
    filed.firm = Some(firm.clone());
    records.push(RecordedAct {
        position: 1,
        event_id: uuid::Uuid::from_u128(1),
        recorded_at: start,
        act: Act::ComplaintFiled(filed),
    });
    let communities = [
        COMMUNITY,
        "community/dongping/xinjie",
        "community/dongping/zijiang",
    ];
    for (index, (kind, value, day, flag)) in events.iter().enumerate() {
        let position = index as u64 + 2;
        let at = start + Duration::days(*day);
        let act = match kind {
            0 => Act::QuarterlyAssessmentSubmitted(QuarterlyAssessmentSubmitted {
                firm: firm.clone(),
                quarter: Quarter::of_instant(at),
                community: unit(communities[*value as usize % 3]),
                items: vec![AssessmentItem {
                    item: "综合".into(),
                    score: *value,
                }],
                score_hundredths: i64::from(*value) * 100,
            }),
            1 => Act::PenaltyImposed(PenaltyImposed {
                case_id: case,
                unit: unit("housing"),
                party: PenalisedParty::Firm(firm.clone()),
                legal_basis: "x".into(),
                decision_no: "y".into(),
                fine_fen: u64::from(*value),
            }),
            2 => Act::InspectionRecorded(InspectionRecorded {
                case_id: case,
                unit: unit(TOWNSHIP),
                findings: "x".into(),
                substantiated: true,
                severe_violation: flag.then_some(SevereViolation::IllegalUtilityCut),
            }),
            3 => Act::CaseResolved(CaseResolved {
                case_id: case,
                unit: unit(TOWNSHIP),
                summary: "x".into(),
                finding: if *flag {
                    Finding::Substantiated
                } else {
                    Finding::NotSubstantiated
                },
                on_time: true,
                follow_up_deadline: caseledger_domain::deadline::Deadline::spanning(
                    Clock::FollowUp,
                    at,
                    at + Duration::days(1),
                ),
                close_unrated_deadline: caseledger_domain::deadline::Deadline::spanning(
                    Clock::CloseUnrated,
                    at,
                    at + Duration::days(3),
                ),
            }),
            4 => Act::FirmCommended(FirmCommended {
                firm: firm.clone(),
                reason: "x".into(),
                by: unit("housing"),
            }),
            _ => Act::CreditRepaired(CreditRepaired {
                firm: firm.clone(),
                position: u64::from(*value) % (position + 1),
                reason: "x".into(),
                by: unit("housing"),
            }),
        };
        records.push(RecordedAct {
            position,
            event_id: uuid::Uuid::from_u128(u128::from(position)),
            recorded_at: at,
            act,
        });
    }
    records
}

/// The generator reaches every case act: without this, the property above could pass by
/// rejecting nearly everything.
#[test]
fn random_sequences_reach_every_case_act() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let rules = shared_rules();
    let mut runner = TestRunner::deterministic();
    // Longer sequences than the property's, so that rare late stages (reopening) show up.
    let strategy = proptest::collection::vec(
        (
            0usize..26,
            any::<u8>(),
            any::<u8>(),
            any::<bool>(),
            0i64..30,
        ),
        40..200,
    );
    let mut kinds = std::collections::BTreeSet::new();
    for iteration in 0..600u32 {
        let mut steps = strategy.new_tree(&mut runner).expect("a value").current();
        steps.insert(0, (18, 0, (iteration % 4) as u8, true, 0));
        let mut state = CaseState::default();
        let mut now = monday();
        for (who, choice, a, b, hours) in steps {
            now += Duration::hours(hours);
            let context = Context::new(rules, now, pick(rules, &state, who));
            if let Ok(acts) =
                case::decide(&state, &command_for(rules, &state, choice, a, b), &context)
            {
                for act in acts {
                    kinds.insert(act.kind());
                    state = case::evolve(state, &act);
                }
            }
        }
    }
    let missing: Vec<&str> = Act::CASE_KINDS
        .iter()
        .copied()
        .filter(|kind| !kinds.contains(kind))
        .collect();
    assert!(missing.is_empty(), "never produced: {missing:?}");
}
