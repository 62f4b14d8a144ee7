//! Records to facts, through the domain's act decoder ([`Act::decode`]). The only module
//! that knows the domain's act types.

use caseledger_domain::act::{Act, ListKind, PenalisedParty};
use caseledger_domain::deadline::{Clock as DomainClock, Deadline};
use caseledger_record::Record;
use chrono::{DateTime, Utc};

use crate::facts::{CaseFact, Clock, Due, Event, FirmFact, Rating, Subject, TracePoint};
use crate::Error;

fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

fn due(deadline: &Deadline) -> Due {
    Due {
        clock: match deadline.clock {
            DomainClock::Dispatch => Clock::Dispatch,
            DomainClock::Accept => Clock::Accept,
            DomainClock::FirstContact => Clock::FirstContact,
            DomainClock::Return => Clock::Return,
            DomainClock::Resolve => Clock::Resolve,
            DomainClock::FollowUp => Clock::FollowUp,
            DomainClock::CloseUnrated => Clock::CloseUnrated,
        },
        started_us: micros(deadline.started_at),
        due_us: micros(deadline.due_at),
        warn_50_us: micros(deadline.warn_50_at),
        warn_75_us: micros(deadline.warn_75_at),
    }
}

/// The slug serde gives a kebab-case enum value (`hotline12345`, `partly-agreed` …).
fn slug<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

fn rating(rating: caseledger_domain::act::Rating) -> Rating {
    use caseledger_domain::act::Rating as Domain;
    match rating {
        Domain::Satisfied => Rating::Satisfied,
        Domain::BasicallySatisfied => Rating::BasicallySatisfied,
        Domain::Dissatisfied => Rating::Dissatisfied,
    }
}

fn list(kind: ListKind) -> String {
    match kind {
        ListKind::Red => "red".into(),
        ListKind::Black => "black".into(),
    }
}

/// Decodes one record into the facts the projections read.
pub fn event(record: &Record) -> Result<Event, Error> {
    let act =
        Act::decode(&record.kind, record.schema_version, &record.payload).map_err(|error| {
            Error::Decode {
                position: record.position,
                message: error.to_string(),
            }
        })?;
    let subject = subject(act);
    Ok(Event {
        position: record.position,
        at_us: record.recorded_at_us,
        unit: record.actor.unit.clone(),
        kind: record.kind.clone(),
        subject,
    })
}

fn case(case_id: caseledger_domain::act::CaseId, fact: CaseFact, starts: Vec<Due>) -> Subject {
    Subject::Case {
        case: case_id.to_string(),
        fact,
        starts,
    }
}

fn firm(uscc: &caseledger_domain::ids::Uscc, fact: FirmFact) -> Subject {
    Subject::Firm {
        uscc: uscc.to_string(),
        fact,
    }
}

fn subject(act: Act) -> Subject {
    match act {
        Act::ComplaintFiled(act) => case(
            act.case_id,
            CaseFact::Filed {
                category: act.category.to_string(),
                compound: act.compound.to_string(),
                community: act.community.to_string(),
                township: act.township.to_string(),
                firm: act.firm.map(|firm| firm.to_string()),
                channel: slug(&act.channel),
                severity: slug(&act.severity),
            },
            vec![due(&act.dispatch_deadline)],
        ),
        Act::CaseDispatched(act) => case(
            act.case_id,
            CaseFact::Dispatched {
                unit: act.to.to_string(),
            },
            vec![due(&act.accept_deadline), due(&act.return_deadline)],
        ),
        Act::CaseAccepted(act) => case(
            act.case_id,
            CaseFact::Accepted {
                on_time: act.on_time,
            },
            vec![due(&act.first_contact_deadline), due(&act.resolve_deadline)],
        ),
        Act::CaseReturned(act) => case(
            act.case_id,
            CaseFact::Returned {
                to: act.to.to_string(),
                reason: act.reason,
            },
            vec![due(&act.dispatch_deadline)],
        ),
        Act::CaseTransferred(act) => case(
            act.case_id,
            CaseFact::Transferred {
                to: act.to.to_string(),
            },
            vec![due(&act.accept_deadline), due(&act.return_deadline)],
        ),
        Act::ComplainantContacted(act) => case(
            act.case_id,
            CaseFact::Contacted {
                first: act.first,
                on_time: act.on_time,
            },
            Vec::new(),
        ),
        Act::InspectionRecorded(act) => case(
            act.case_id,
            CaseFact::Inspected {
                severe_violation: act.severe_violation.map(|violation| slug(&violation)),
            },
            Vec::new(),
        ),
        Act::RectificationOrdered(act) => {
            let due_us = micros(act.due_at);
            // The order carries its due time, not a started clock: the warning points are
            // not the case rules' business, so they sit at the deadline itself.
            let started = Due {
                clock: Clock::Rectification,
                started_us: due_us,
                due_us,
                warn_50_us: due_us,
                warn_75_us: due_us,
            };
            case(act.case_id, CaseFact::RectificationOrdered, vec![started])
        }
        Act::RectificationVerified(act) => case(
            act.case_id,
            CaseFact::RectificationVerified {
                overdue: act.overdue,
            },
            Vec::new(),
        ),
        Act::PenaltyImposed(act) => case(
            act.case_id,
            CaseFact::Penalised {
                firm: match &act.party {
                    PenalisedParty::Firm(uscc) => Some(uscc.to_string()),
                    PenalisedParty::Other(_) => None,
                },
                amount_fen: i64::try_from(act.fine_fen).unwrap_or(i64::MAX),
                basis: act.legal_basis,
            },
            Vec::new(),
        ),
        Act::MediationRecorded(act) => case(
            act.case_id,
            CaseFact::Mediated {
                outcome: slug(&act.outcome),
            },
            Vec::new(),
        ),
        Act::JointEnforcementRecorded(act) => {
            case(act.case_id, CaseFact::JointEnforcement, Vec::new())
        }
        Act::ExtensionGranted(act) => case(
            act.case_id,
            CaseFact::Extended { reason: act.reason },
            vec![due(&act.resolve_deadline)],
        ),
        Act::SupervisionIssued(act) => case(
            act.case_id,
            CaseFact::Supervised {
                notice: act.reason,
                unit: act.unit.map(|unit| unit.to_string()),
            },
            Vec::new(),
        ),
        Act::CaseResolved(act) => case(
            act.case_id,
            CaseFact::Resolved {
                substantiated: act.finding.is_substantiated(),
                on_time: act.on_time,
            },
            vec![
                due(&act.follow_up_deadline),
                due(&act.close_unrated_deadline),
            ],
        ),
        Act::FeedbackRecorded(act) => case(
            act.case_id,
            CaseFact::Feedback {
                rating: rating(act.rating),
                resolved: act.resolved,
            },
            Vec::new(),
        ),
        Act::CaseClosed(act) => case(
            act.case_id,
            CaseFact::Closed {
                outcome: slug(&act.outcome),
            },
            Vec::new(),
        ),
        Act::CaseReopened(act) => case(
            act.case_id,
            CaseFact::Reopened {
                unit: act.unit.to_string(),
            },
            vec![due(&act.resolve_deadline)],
        ),
        Act::CaseMerged(act) => case(
            act.case_id,
            CaseFact::Merged {
                into: act.into.to_string(),
            },
            Vec::new(),
        ),
        Act::CaseWithdrawn(act) => case(act.case_id, CaseFact::Withdrawn, Vec::new()),
        Act::PersonalDataErased(act) => case(act.case_id, CaseFact::Other, Vec::new()),
        Act::FirmRegistered(act) => firm(&act.firm, FirmFact::Registered { name: act.name }),
        Act::ContractFiled(act) => firm(
            &act.firm,
            FirmFact::ContractFiled {
                compound: act.compound.to_string(),
            },
        ),
        Act::TenderFiled(act) => firm(
            &act.firm,
            FirmFact::TenderFiled {
                compound: act.compound.to_string(),
            },
        ),
        Act::HandoverInspected(act) => firm(
            &act.firm,
            FirmFact::HandoverInspected {
                compound: act.compound.to_string(),
                result: if act.passed {
                    format!("通过 passed: {}", act.findings)
                } else {
                    format!("未通过 failed: {}", act.findings)
                },
            },
        ),
        Act::FirmExited(act) => firm(
            &act.firm,
            FirmFact::Exited {
                compound: act.compound.to_string(),
            },
        ),
        Act::QuarterlyAssessmentSubmitted(act) => firm(
            &act.firm,
            FirmFact::Assessed {
                quarter: act.quarter.to_string(),
                community: act.community.to_string(),
                score_hundredths: act.score_hundredths,
            },
        ),
        Act::AssessmentsAggregated(act) => firm(
            &act.firm,
            FirmFact::Aggregated {
                quarter: act.quarter.to_string(),
            },
        ),
        Act::GradePublished(act) => firm(
            &act.firm,
            FirmFact::Graded {
                quarter: act.quarter.to_string(),
                score_hundredths: act.score_hundredths,
                grade: act.grade.to_string(),
                inspection_interval_months: act.inspection_interval_months,
                trace: act
                    .trace
                    .into_iter()
                    .map(|point| TracePoint {
                        position: point.position,
                        kind: point.kind,
                        reason: slug(&point.reason),
                        hundredths: point.points_hundredths,
                        case: point.case_id.map(|id| id.to_string()),
                        repaired_by: point.repaired_by,
                    })
                    .collect(),
            },
        ),
        Act::RedListed(act) => firm(
            &act.firm,
            FirmFact::Listed {
                list: list(ListKind::Red),
                reason: act.reason,
            },
        ),
        Act::BlackListed(act) => firm(
            &act.firm,
            FirmFact::Listed {
                list: list(ListKind::Black),
                reason: act.reason,
            },
        ),
        Act::Delisted(act) => firm(
            &act.firm,
            FirmFact::Delisted {
                list: list(act.list),
            },
        ),
        Act::CreditRepaired(act) => firm(&act.firm, FirmFact::CreditRepaired),
        Act::FirmCommended(act) => firm(&act.firm, FirmFact::Commended { reason: act.reason }),
        // Governance, compound and fund acts: no projection reads them yet.
        #[allow(unreachable_patterns)]
        _ => Subject::Other,
    }
}
