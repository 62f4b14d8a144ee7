//! The engine: an agenda of timed tasks (case steps, firm steps), each decided by the domain
//! with the acting principal at the simulated time, folded with `evolve`, and emitted as
//! [`SimStep`]s in time order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use caseledger_domain::act::{
    Act, AssessmentItem, CaseId, Channel, ContactMethod, Finding, ListKind, MediationOutcome,
    PenalisedParty, Quarter, Rating, RecordedAct, SevereViolation,
};
use caseledger_domain::case::{self, CaseCommand, CaseState};
use caseledger_domain::context::{Context, Rules};
use caseledger_domain::credit;
use caseledger_domain::deadline::{cst_date, Clock, Severity};
use caseledger_domain::firm::{self, FirmCommand, FirmContext, FirmState};
use caseledger_domain::ids::UnitId;
use caseledger_domain::policy::Body;
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::registry::UnitKind;
use caseledger_domain::seal::{seal, KeyStore, PersonalData};

mod governance;

use governance::{GovernanceBook, GovernanceTask};

use crate::clock::{at_cst, SimClock, OFFICE_OPENS_MINUTES};
use crate::county::{tier_profile, County, Tier};
use crate::rng::{mix, Rng};
use crate::{RefusedStep, SimConfig, SimError, SimStep};

// Realism rates (see the crate documentation for the whole list).
const CHANNEL_WEIGHTS: [(Channel, f64); 5] = [
    (Channel::Hotline12345, 62.0),
    (Channel::PetitionPlatform, 8.0),
    (Channel::WalkIn, 20.0),
    (Channel::OwnersCommittee, 5.0),
    (Channel::DepartmentInspection, 5.0),
];
const MERGE_WINDOW_DAYS: i64 = 15;
const REPEAT_SHARE: f64 = 0.04;
const WITHDRAW_SHARE: f64 = 0.025;
const MISROUTE_SHARE: f64 = 0.06;
const LATE_DISPATCH_SHARE: f64 = 0.05;
const LATE_ACCEPT_SHARE: f64 = 0.05;
const LATE_CONTACT_SHARE: f64 = 0.08;
const INSPECT_SHARE: f64 = 0.70;
const EXTENSION_COMPLEX_SHARE: f64 = 0.25;
const EXTENSION_GENERAL_SHARE: f64 = 0.03;
const OVERDUE_SHARE: [f64; 3] = [0.03, 0.08, 0.15]; // urgent, general, complex
const SUPERVISE_OVERDUE_SHARE: f64 = 0.85;
const JOINT_SHARE: f64 = 0.10;
const UNRATED_SHARE: f64 = 0.06;
const LATE_FEEDBACK_SHARE: f64 = 0.07;
const RATINGS: [(Rating, f64); 3] = [
    (Rating::Satisfied, 72.0),
    (Rating::BasicallySatisfied, 17.0),
    (Rating::Dissatisfied, 11.0),
];
const REOPEN_SHARE: f64 = 0.5;
const ERASE_SHARE: f64 = 0.005;
const NOT_SUBSTANTIATED_SHARE: f64 = 0.2;
const PARTLY_SHARE: f64 = 0.2;
const REPAIR_SHARE: f64 = 0.5;

/// Credit-relevant case acts, which the firm's records keep for scoring.
fn credit_relevant(act: &Act) -> bool {
    match act {
        Act::ComplaintFiled(_)
        | Act::CaseResolved(_)
        | Act::PenaltyImposed(_)
        | Act::RectificationVerified(_) => true,
        Act::InspectionRecorded(inspection) => inspection.severe_violation.is_some(),
        _ => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timing {
    OnTime,
    Late,
}

/// Who acts, resolved against the case state when the step runs.
#[derive(Clone, Debug)]
enum By {
    /// A fixed principal.
    Fixed(Principal),
    /// The unit the case is dispatched to.
    Assignee,
    /// The unit that dispatched it (or the unit it was returned to).
    Dispatcher,
    /// The compound's township.
    LocalTownship,
}

#[derive(Clone, Debug)]
enum Step {
    Dispatch {
        by: By,
        to: UnitId,
        timing: Timing,
    },
    Accept {
        timing: Timing,
    },
    Return {
        reason: String,
    },
    Transfer {
        to: UnitId,
    },
    Contact {
        timing: Timing,
    },
    Inspect {
        substantiated: bool,
        severe: Option<SevereViolation>,
    },
    OrderRectification {
        working_days: u32,
    },
    VerifyRectification {
        passed: bool,
        late: bool,
    },
    Penalise {
        by: UnitId,
        party: PenalisedParty,
        fine_fen: u64,
        basis: String,
    },
    Mediate {
        outcome: MediationOutcome,
    },
    Joint {
        departments: Vec<UnitId>,
    },
    Extend {
        working_days: u32,
    },
    Supervise {
        by: Principal,
    },
    Resolve {
        finding: Finding,
        timing: Timing,
    },
    Feedback {
        by: By,
        rating: Rating,
        resolved: bool,
        timing: Timing,
    },
    Close {
        by: By,
        unrated: bool,
    },
    Reopen,
    Merge {
        by: By,
        into: CaseId,
    },
    Withdraw {
        by: By,
    },
    Erase,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Dispatch { .. } => "DispatchCase",
            Step::Accept { .. } => "AcceptCase",
            Step::Return { .. } => "ReturnCase",
            Step::Transfer { .. } => "TransferCase",
            Step::Contact { .. } => "ContactComplainant",
            Step::Inspect { .. } => "RecordInspection",
            Step::OrderRectification { .. } => "OrderRectification",
            Step::VerifyRectification { .. } => "VerifyRectification",
            Step::Penalise { .. } => "ImposePenalty",
            Step::Mediate { .. } => "RecordMediation",
            Step::Joint { .. } => "RecordJointEnforcement",
            Step::Extend { .. } => "GrantExtension",
            Step::Supervise { .. } => "IssueSupervision",
            Step::Resolve { .. } => "ResolveCase",
            Step::Feedback { .. } => "RecordFeedback",
            Step::Close { .. } => "CloseCase",
            Step::Reopen => "ReopenCase",
            Step::Merge { .. } => "MergeCase",
            Step::Withdraw { .. } => "WithdrawCase",
            Step::Erase => "ErasePersonalData",
        }
    }
}

struct CaseSim {
    id: CaseId,
    stream: String,
    state: CaseState,
    rng: Rng,
    plan: VecDeque<Step>,
    firm: Option<usize>,
    urgent: bool,
    user: String,
}

#[derive(Clone, Debug)]
enum FirmTask {
    Register,
    FileContract {
        compound: usize,
    },
    Tender {
        compound: usize,
    },
    Handover {
        compound: usize,
        passed: bool,
    },
    Exit {
        compound: usize,
        successor: usize,
    },
    Assess {
        community: UnitId,
        quarter: Quarter,
        index: usize,
    },
    Aggregate {
        township: UnitId,
        quarter: Quarter,
    },
    Publish {
        quarter: Quarter,
    },
    Review,
    Repair {
        position: u64,
    },
    Commend,
}

enum Task {
    Case(u32),
    Governance(GovernanceTask),
    Firm(usize, FirmTask),
    QuarterClosed(Quarter, usize),
}

struct Agenda {
    at: DateTime<Utc>,
    seq: u64,
    task: Task,
}

impl PartialEq for Agenda {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Agenda {}
impl PartialOrd for Agenda {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Agenda {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct FirmSim {
    state: FirmState,
    records: Vec<RecordedAct>,
    rng: Rng,
    /// Per-case probabilities that keep the firm's yearly deductions near its tier's.
    p_substantiated: f64,
    p_penalty: f64,
    p_violation: f64,
    p_overdue_rectification: f64,
}

/// A deterministic synthetic history of the county. Iterate it for [`SimStep`]s in time
/// order; see the crate documentation.
pub struct Simulation<'a> {
    config: SimConfig,
    rules: &'a Rules,
    keys: &'a mut dyn KeyStore,
    county: County,
    clock: SimClock<'a>,
    filings: Vec<DateTime<Utc>>,
    next_filing: usize,
    agenda: BinaryHeap<Reverse<Agenda>>,
    seq: u64,
    cases: HashMap<u32, CaseSim>,
    finished: BTreeMap<CaseId, CaseState>,
    firms: Vec<FirmSim>,
    compound_firm: Vec<Option<usize>>,
    recent: HashMap<(usize, usize), (CaseId, DateTime<Utc>, u32)>,
    out: VecDeque<SimStep>,
    next_position: u64,
    quarters: Vec<Quarter>,
    governance: GovernanceBook,
    failed: bool,
}

impl std::fmt::Debug for Simulation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("config", &self.config)
            .field("next_position", &self.next_position)
            .field("open_cases", &self.cases.len())
            .finish()
    }
}

fn principal_for(rules: &Rules, unit: &UnitId) -> Principal {
    let role = match rules.registry.kind_of(unit) {
        Some(UnitKind::Office) => Role::Office,
        Some(UnitKind::Township) => Role::Township,
        Some(UnitKind::Community) => Role::Community,
        Some(UnitKind::Intake) => Role::Intake,
        _ => Role::Department,
    };
    Principal::new(role, unit.clone())
}

fn uuid_v4(rng: &mut Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.bytes16()).into_uuid()
}

impl<'a> Simulation<'a> {
    /// Prepares a run. Checks that the registry has the units the run needs (housing, office,
    /// petitions, the 12345 and petition-platform intakes, compounds) and that the calendar
    /// covers the period and the four months after it (late cases and the last quarter's
    /// grades).
    pub fn new(
        config: SimConfig,
        rules: &'a Rules,
        keys: &'a mut dyn KeyStore,
    ) -> Result<Simulation<'a>, SimError> {
        if config.days == 0 {
            return Err(SimError::Config("days must be at least 1".into()));
        }
        let end = config
            .start
            .checked_add_signed(Duration::days(i64::from(config.days) + 120))
            .ok_or_else(|| {
                SimError::Config("the period ends beyond the calendar's range".into())
            })?;
        let mut day = config.start;
        while day <= end {
            if !rules.calendar.covers(day) {
                return Err(SimError::Config(format!(
                    "工作日历未覆盖 {day} / the working-day calendar does not cover {day}; the run needs {} to {end} (its period plus 120 days)",
                    config.start
                )));
            }
            day = day
                .checked_add_signed(Duration::days(28))
                .unwrap_or(end.succ_opt().unwrap_or(end));
        }
        if !rules.calendar.covers(end) {
            return Err(SimError::Config(format!(
                "工作日历未覆盖 {end} / the working-day calendar does not cover {end}"
            )));
        }
        let county = County::new(rules, config.seed)?;
        let clock = SimClock {
            calendar: &rules.calendar,
        };
        let mut master = Rng::new(mix(config.seed, 1));
        let filings = filing_times(&config, &mut master);
        let expected = county.expected_firm_cases(config.cases);
        let years = f64::from(config.days) / 365.0;
        let firms: Vec<FirmSim> = county
            .firms
            .iter()
            .enumerate()
            .map(|(index, info)| {
                // An improving firm's complaints follow its later, better tier.
                let profile = tier_profile(info.tier_in_quarter(1));
                let cases = expected[index].max(1.0);
                let per_case = |per_year: f64| (per_year * years / cases).clamp(0.0, 0.9);
                let p_substantiated = per_case(profile.substantiated_per_year);
                let rectifications = (cases * p_substantiated * 0.6).max(1.0);
                FirmSim {
                    state: FirmState::default(),
                    records: Vec::new(),
                    rng: Rng::new(mix(config.seed, 0xF1_0000 + index as u64)),
                    p_substantiated,
                    p_penalty: per_case(profile.penalties_per_year),
                    p_violation: per_case(profile.violations_per_year),
                    p_overdue_rectification: (profile.overdue_rectifications_per_year * years
                        / rectifications)
                        .clamp(0.0, 0.8),
                }
            })
            .collect();
        let compound_firm = county.initial_firm.clone();
        let mut simulation = Simulation {
            next_position: config.first_position.max(1),
            config,
            rules,
            keys,
            county,
            clock,
            filings,
            next_filing: 0,
            agenda: BinaryHeap::new(),
            seq: 0,
            cases: HashMap::new(),
            finished: BTreeMap::new(),
            firms,
            compound_firm,
            recent: HashMap::new(),
            out: VecDeque::new(),
            quarters: Vec::new(),
            governance: GovernanceBook::default(),
            failed: false,
        };
        if simulation.config.firm_acts {
            simulation.schedule_firm_year(&mut master);
        }
        if simulation.config.governance_acts {
            simulation.schedule_governance(&mut master);
        }
        Ok(simulation)
    }

    /// The final state of every case the run finished, by case id, when
    /// [`SimConfig::retain_states`] is set (else empty): what the simulation believed, for
    /// replay checks.
    pub fn case_states(&self) -> &BTreeMap<CaseId, CaseState> {
        &self.finished
    }

    /// The state of every firm as the simulation believes it, in credit-code order.
    pub fn firm_states(&self) -> Vec<&FirmState> {
        self.firms.iter().map(|firm| &firm.state).collect()
    }

    /// The governance state of every compound stream as the simulation believes it, in the
    /// registry's compound order (default states for compounds with no governance act).
    pub fn governance_states(&self) -> &[caseledger_domain::governance::GovernanceState] {
        &self.governance.compounds
    }

    /// The position the next step takes.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    fn push(&mut self, at: DateTime<Utc>, task: Task) {
        self.seq += 1;
        self.agenda.push(Reverse(Agenda {
            at,
            seq: self.seq,
            task,
        }));
    }

    fn period_end(&self) -> DateTime<Utc> {
        at_cst(
            self.config.start + Duration::days(i64::from(self.config.days)),
            0,
            0,
        )
    }

    // -----------------------------------------------------------------------------------------
    // Firm schedule.

    fn schedule_firm_year(&mut self, rng: &mut Rng) {
        let start = self.clock.working_day_from(self.config.start);
        let first_morning = at_cst(start, OFFICE_OPENS_MINUTES, 0);
        for firm in 0..self.firms.len() {
            let at = first_morning + Duration::minutes(5 + firm as i64 * 7);
            self.push(at, Task::Firm(firm, FirmTask::Register));
        }
        for compound in 0..self.compound_firm.len() {
            let Some(firm) = self.compound_firm[compound] else {
                continue;
            };
            let filed = self
                .clock
                .office_after(first_morning + Duration::hours(10), 1, 5, rng);
            if rng.chance(0.1) {
                let tender = filed - Duration::minutes(30);
                self.push(tender, Task::Firm(firm, FirmTask::Tender { compound }));
            }
            self.push(filed, Task::Firm(firm, FirmTask::FileContract { compound }));
            if rng.chance(0.08) {
                let at = self.clock.office_after(filed, 1, 4, rng);
                let passed = rng.chance(0.85);
                self.push(
                    at,
                    Task::Firm(firm, FirmTask::Handover { compound, passed }),
                );
            }
        }
        // Quarters that overlap the period, closed one working day after they end.
        let end = self.period_end();
        let mut quarter = Quarter::of_date(self.config.start);
        let mut index = 0;
        while quarter.starts_at() < end {
            self.quarters.push(quarter);
            let closed = self.clock.office_after(quarter.ends_at(), 0, 0, rng);
            self.push(closed, Task::QuarterClosed(quarter, index));
            quarter = quarter.next();
            index += 1;
        }
        // A few compounds change firms: the township records the exit, housing files the
        // successor's contract, the township inspects the handover.
        let years = f64::from(self.config.days) / 365.0;
        let exits = (3.0 * years)
            .round()
            .max(if self.config.days >= 120 { 1.0 } else { 0.0 }) as usize;
        let weak: Vec<usize> = (0..self.compound_firm.len())
            .filter(|&c| {
                self.compound_firm[c].is_some_and(|f| {
                    matches!(self.county.firms[f].tier, Tier::C | Tier::D)
                        && !self.county.firms[f].improving
                })
            })
            .collect();
        let strong: Vec<usize> = (0..self.county.firms.len())
            .filter(|&f| matches!(self.county.firms[f].tier, Tier::A | Tier::B))
            .collect();
        for i in 0..exits.min(weak.len()) {
            if strong.is_empty() {
                break;
            }
            let compound = weak[(i * 7 + rng.below(weak.len())) % weak.len()];
            let successor = strong[rng.below(strong.len())];
            let Some(firm) = self.compound_firm[compound] else {
                continue;
            };
            if successor == firm {
                continue;
            }
            // Mid-quarter, away from the assessment weeks.
            let day = self.config.start
                + Duration::days(
                    i64::from(self.config.days) * (i as i64 * 2 + 1) / (exits as i64 * 2 + 1),
                );
            let quarter = Quarter::of_date(day);
            let day = day
                .max(quarter.first_day() + Duration::days(30))
                .min(quarter.last_day() - Duration::days(20));
            let at = self.clock.office_after(at_cst(day, 0, 0), 0, 0, rng);
            if at < self.period_end() {
                self.push(
                    at,
                    Task::Firm(
                        firm,
                        FirmTask::Exit {
                            compound,
                            successor,
                        },
                    ),
                );
            }
        }
        // Tenders for new phases, and commendations of good firms in the flood season.
        for _ in 0..(4.0 * years).round() as usize {
            let compound = rng.below(self.compound_firm.len());
            if let Some(firm) = strong.get(rng.below(strong.len().max(1))).copied() {
                let day = self.config.start
                    + Duration::days(rng.range(20, u64::from(self.config.days.max(21)) - 1) as i64);
                let at = self.clock.office_after(at_cst(day, 0, 0), 0, 0, rng);
                self.push(at, Task::Firm(firm, FirmTask::Tender { compound }));
            }
        }
        let good: Vec<usize> = (0..self.county.firms.len())
            .filter(|&f| self.county.firms[f].tier == Tier::A)
            .collect();
        for (i, firm) in good.iter().copied().enumerate().take(3) {
            let day = self.config.start
                + Duration::days(i64::from(self.config.days) * 6 / 10 + i as i64 * 3);
            let at = self.clock.office_after(at_cst(day, 0, 0), 0, 0, rng);
            self.push(at, Task::Firm(firm, FirmTask::Commend));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Emitting acts.

    // Each argument is a field of the record; bundling them would only move the list.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        at: DateTime<Utc>,
        principal: &Principal,
        user: &str,
        stream: &str,
        expected_version: u64,
        act: Act,
        rng: &mut Rng,
    ) -> SimStep {
        let position = self.next_position;
        self.next_position += 1;
        let millis = at.timestamp_millis().max(0) as u64;
        let mut random = [0u8; 10];
        random.copy_from_slice(&rng.bytes16()[..10]);
        let event_id = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
        SimStep {
            position,
            recorded_at: at,
            principal: principal.clone(),
            user: user.to_string(),
            stream: stream.to_string(),
            expected_version,
            event_id,
            kind: act.kind(),
            schema_version: act.schema_version(),
            payload: act.encode_payload(),
            act,
        }
    }

    fn recorded(step: &SimStep) -> RecordedAct {
        RecordedAct {
            position: step.position,
            event_id: step.event_id,
            recorded_at: step.recorded_at,
            act: step.act.clone(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Cases.

    fn file_case(&mut self, index: u32, at: DateTime<Utc>) -> Result<(), SimError> {
        let mut rng = Rng::new(mix(self.config.seed, 0xCA5E_0000_0000 + u64::from(index)));
        let id = CaseId(uuid_v4(&mut rng));
        let stream = format!("case/{id}");
        let county = &self.county;
        let category_index = rng.weighted(&county.category_weights);
        let category = &county.categories[category_index];
        let profile = category.profile;
        let compound_index = rng.weighted(&county.compound_weights);
        let compound = &county.compounds[compound_index];
        let petition = category.slug.as_str() == "petition";
        let channel = if petition {
            Channel::PetitionPlatform
        } else {
            let weights: Vec<f64> = CHANNEL_WEIGHTS.iter().map(|(_, w)| *w).collect();
            CHANNEL_WEIGHTS[rng.weighted(&weights)].0
        };
        let severity = if category.urgent_capable && rng.chance(profile.urgent) {
            Severity::Urgent
        } else if rng.chance(profile.complex) {
            Severity::Complex
        } else {
            Severity::General
        };
        let firm = if rng.chance(profile.names_firm) {
            self.compound_firm[compound_index]
        } else {
            None
        };
        let departments = category.departments();
        // Who files, and who dispatches.
        let township = principal_for(self.rules, &compound.township);
        let community = principal_for(self.rules, &compound.community);
        let (filer, county_dispatcher): (Principal, Option<Principal>) = match channel {
            Channel::Hotline12345 => (
                Principal::new(Role::Intake, county.hotline.clone()),
                Some(if rng.chance(0.15) {
                    Principal::new(Role::Office, county.office.clone())
                } else {
                    Principal::new(Role::Department, county.housing.clone())
                }),
            ),
            Channel::PetitionPlatform => (
                Principal::new(Role::Intake, county.platform.clone()),
                Some(Principal::new(Role::Department, county.petitions.clone())),
            ),
            Channel::WalkIn => (
                if rng.chance(0.6) {
                    township.clone()
                } else {
                    community.clone()
                },
                None,
            ),
            Channel::OwnersCommittee => (community.clone(), None),
            Channel::DepartmentInspection => match departments.first() {
                Some(department) => (
                    Principal::new(Role::Department, (*department).clone()),
                    Some(Principal::new(Role::Department, county.housing.clone())),
                ),
                None => (township.clone(), None),
            },
        };
        let channel = if channel == Channel::DepartmentInspection && departments.is_empty() {
            Channel::WalkIn
        } else {
            channel
        };
        let summary = format!(
            "{}：{}",
            compound.name,
            profile.summaries[rng.below(profile.summaries.len())]
        );
        let personal = synthetic_person(&mut rng, &compound.name);
        let complainant = seal(&personal, &stream, &mut *self.keys)?;
        let command = CaseCommand::FileComplaint(case::FileComplaint {
            case_id: id,
            channel,
            compound: compound.id.clone(),
            category: category.slug.clone(),
            severity,
            firm: firm.map(|f| county.firms[f].uscc.clone()),
            summary,
            complainant,
        });
        let user = format!("staff-{:02}", rng.range(1, 12));

        // The plan.
        let mut plan = VecDeque::new();
        let recent_key = (compound_index, category_index);
        // A repeat complaint (重复投诉) is merged into the open case it repeats, when there is
        // one from the last days: drawn first so that the merge rate does not grow with volume.
        let repeat = rng.chance(REPEAT_SHARE);
        let merge_into = self
            .recent
            .get(&recent_key)
            .and_then(|(into, when, other)| {
                (repeat
                    && at - *when < Duration::days(MERGE_WINDOW_DAYS)
                    && self.cases.contains_key(other))
                .then_some(*into)
            });
        let by_merger = if matches!(filer.role, Role::Township | Role::Community) {
            By::LocalTownship
        } else {
            By::Fixed(Principal::new(Role::Department, county.housing.clone()))
        };
        let intake_by = |filer: &Principal| -> By {
            if filer.role == Role::Intake {
                By::Fixed(filer.clone())
            } else {
                By::Dispatcher
            }
        };
        if let Some(into) = merge_into {
            plan.push_back(Step::Merge {
                by: by_merger,
                into,
            });
        } else {
            let withdraw_at = rng.chance(WITHDRAW_SHARE).then(|| rng.below(3));
            let withdraw_by = if filer.role == Role::Intake {
                By::Fixed(filer.clone())
            } else if filer.role == Role::Department {
                By::Fixed(Principal::new(Role::Department, county.housing.clone()))
            } else {
                By::Fixed(filer.clone())
            };
            if withdraw_at == Some(0) {
                plan.push_back(Step::Withdraw { by: withdraw_by });
            } else {
                self.plan_handling(
                    &mut rng,
                    &mut plan,
                    category_index,
                    compound_index,
                    firm,
                    severity,
                    county_dispatcher,
                    withdraw_at.map(|stage| (stage, withdraw_by)),
                    intake_by(&filer),
                );
            }
        }
        self.recent.insert(recent_key, (id, at, index));

        let state = CaseState::default();
        let context = Context::new(self.rules, at, filer.clone());
        let acts = case::decide(&state, &command, &context).map_err(|rejection| {
            SimError::Rejected(Box::new(RefusedStep {
                stream: stream.clone(),
                command: "FileComplaint",
                principal: filer.to_string(),
                at,
                rejection,
            }))
        })?;
        let mut sim = CaseSim {
            id,
            stream,
            state,
            rng,
            plan,
            firm,
            urgent: severity == Severity::Urgent,
            user,
        };
        self.apply_case_acts(&mut sim, at, &filer, acts);
        self.schedule_case(index, sim, at);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_handling(
        &self,
        rng: &mut Rng,
        plan: &mut VecDeque<Step>,
        category_index: usize,
        compound_index: usize,
        firm: Option<usize>,
        severity: Severity,
        county_dispatcher: Option<Principal>,
        withdraw: Option<(usize, By)>,
        feedback_by: By,
    ) {
        let county = &self.county;
        let category = &county.categories[category_index];
        let profile = category.profile;
        let compound = &county.compounds[compound_index];
        let departments = category.departments();
        let urgent = severity == Severity::Urgent;
        let late = |rng: &mut Rng, share: f64| {
            if !urgent && rng.chance(share) {
                Timing::Late
            } else {
                Timing::OnTime
            }
        };
        // Who handles: a local body where the matrix names one (mostly), else a department.
        let local = category.local_handler().cloned();
        let prefer_local = match (&local, departments.is_empty()) {
            (Some(_), true) => true,
            (Some(_), false) => rng.chance(0.7),
            (None, _) => false,
        };
        let handler: UnitId = if prefer_local {
            match local {
                Some(Body::LocalCommunity) => compound.community.clone(),
                _ => compound.township.clone(),
            }
        } else {
            departments[rng.below(departments.len())].clone()
        };
        let handler_is_department =
            self.rules.registry.kind_of(&handler) == Some(UnitKind::Department);
        let withdraw_stage = withdraw.as_ref().map(|(stage, _)| *stage);
        let push_withdraw = |plan: &mut VecDeque<Step>| {
            if let Some((_, by)) = &withdraw {
                plan.push_back(Step::Withdraw { by: by.clone() });
            }
        };
        let township = Principal::new(Role::Township, compound.township.clone());
        match &county_dispatcher {
            Some(dispatcher) => {
                if handler_is_department && rng.chance(MISROUTE_SHARE) {
                    // 退单: dispatched to the township first, which sends it back.
                    plan.push_back(Step::Dispatch {
                        by: By::Fixed(dispatcher.clone()),
                        to: compound.township.clone(),
                        timing: Timing::OnTime,
                    });
                    if rng.chance(0.3) {
                        plan.push_back(Step::Accept {
                            timing: Timing::OnTime,
                        });
                    }
                    plan.push_back(Step::Return {
                        reason: format!("该事项不属于乡镇职责，应由 {handler} 办理 / not a township matter; {handler} handles it"),
                    });
                }
                let timing = late(rng, LATE_DISPATCH_SHARE);
                plan.push_back(Step::Dispatch {
                    by: By::Fixed(dispatcher.clone()),
                    to: handler.clone(),
                    timing,
                });
            }
            None => {
                // Filed locally: the township dispatches within its area, then transfers a
                // department's matter (移送).
                let to = if handler.as_str() == compound.community.as_str() {
                    compound.community.clone()
                } else {
                    compound.township.clone()
                };
                plan.push_back(Step::Dispatch {
                    by: By::Fixed(township.clone()),
                    to,
                    timing: late(rng, LATE_DISPATCH_SHARE),
                });
                if handler_is_department {
                    plan.push_back(Step::Accept {
                        timing: Timing::OnTime,
                    });
                    plan.push_back(Step::Transfer {
                        to: handler.clone(),
                    });
                }
            }
        }
        if withdraw_stage == Some(1) {
            push_withdraw(plan);
            return;
        }
        plan.push_back(Step::Accept {
            timing: late(rng, LATE_ACCEPT_SHARE),
        });
        // A township handling a matter it shares with a department sometimes transfers it;
        // a dispute goes on to the community to mediate.
        let mut assignee = handler.clone();
        if assignee == compound.township {
            let slug = category.slug.as_str();
            if slug == "dispute-mediation" && rng.chance(0.4) {
                plan.push_back(Step::Dispatch {
                    by: By::Fixed(township.clone()),
                    to: compound.community.clone(),
                    timing: Timing::OnTime,
                });
                plan.push_back(Step::Accept {
                    timing: Timing::OnTime,
                });
                assignee = compound.community.clone();
            } else if !departments.is_empty() && rng.chance(0.15) {
                let to = departments[rng.below(departments.len())].clone();
                plan.push_back(Step::Transfer { to: to.clone() });
                plan.push_back(Step::Accept {
                    timing: Timing::OnTime,
                });
                assignee = to;
            }
        }
        if withdraw_stage == Some(2) {
            push_withdraw(plan);
            return;
        }
        plan.push_back(Step::Contact {
            timing: late(rng, LATE_CONTACT_SHARE),
        });

        // The finding, and what it leads to.
        let firm_sim = firm.map(|f| &self.firms[f]);
        let mut finding = if let Some(firm_sim) = firm_sim {
            if rng.chance(firm_sim.p_substantiated) {
                if rng.chance(0.3) {
                    Finding::PartlySubstantiated
                } else {
                    Finding::Substantiated
                }
            } else {
                Finding::NotSubstantiated
            }
        } else if rng.chance(NOT_SUBSTANTIATED_SHARE) {
            Finding::NotSubstantiated
        } else if rng.chance(PARTLY_SHARE) {
            Finding::PartlySubstantiated
        } else {
            Finding::Substantiated
        };
        let firm_party = profile.firm_is_party && firm.is_some();
        let mut penalty: Option<PenalisedParty> = None;
        let mut severe = None;
        if !category.enforcement.is_empty() {
            if let (true, Some(f), Some(firm_sim)) = (firm_party, firm, firm_sim) {
                if rng.chance(firm_sim.p_penalty) {
                    penalty = Some(PenalisedParty::Firm(county.firms[f].uscc.clone()));
                }
            } else if finding.is_substantiated() && rng.chance(profile.other_penalty) {
                let party = match category.slug.as_str() {
                    "illegal-construction" | "decoration" | "change-of-use" | "green-space" => {
                        "涉事业主（个人信息不入账） / the owner concerned"
                    }
                    "unlicensed-business"
                    | "residential-to-commercial"
                    | "home-schooling"
                    | "pollution"
                    | "advertising" => "涉事经营者 / the business concerned",
                    _ => "涉事当事人 / the party concerned",
                };
                penalty = Some(PenalisedParty::Other(party.to_string()));
            }
        }
        if let (Some(firm_sim), true) = (firm_sim, firm_party) {
            if rng.chance(firm_sim.p_violation) {
                severe = Some(match category.slug.as_str() {
                    "firm-exit" => SevereViolation::RefusedHandover,
                    "maintenance-fund" => SevereViolation::FundMisuse,
                    "fees" => SevereViolation::ViolentCollection,
                    _ => SevereViolation::IllegalUtilityCut,
                });
            }
        }
        if (penalty.is_some() || severe.is_some()) && !finding.is_substantiated() {
            finding = Finding::Substantiated;
        }
        let substantiated = finding.is_substantiated();
        if rng.chance(INSPECT_SHARE) || penalty.is_some() || severe.is_some() {
            plan.push_back(Step::Inspect {
                substantiated,
                severe,
            });
        }
        let assignee_kind = self.rules.registry.kind_of(&assignee);
        let mediates = matches!(
            assignee_kind,
            Some(UnitKind::Community | UnitKind::Township)
        ) && matches!(
            category.slug.as_str(),
            "dispute-mediation" | "owners-committee" | "fee-arrears" | "service-quality" | "fees"
        ) && (category.slug.as_str() == "dispute-mediation" || rng.chance(0.15));
        if mediates {
            let outcome = [
                MediationOutcome::Agreed,
                MediationOutcome::PartlyAgreed,
                MediationOutcome::Failed,
            ][rng.weighted(&[65.0, 20.0, 15.0])];
            plan.push_back(Step::Mediate { outcome });
        }
        let rectify = substantiated
            && !urgent
            && (firm.is_some() && rng.chance(0.6)
                || penalty
                    .as_ref()
                    .is_some_and(|p| matches!(p, PenalisedParty::Other(_)))
                    && rng.chance(0.5));
        if rectify {
            let overdue = if firm.is_some() {
                firm_sim.is_some_and(|f| rng.chance(f.p_overdue_rectification))
            } else {
                rng.chance(0.2)
            };
            let passed = !(overdue && rng.chance(0.4));
            plan.push_back(Step::OrderRectification {
                working_days: rng.range(2, 5) as u32,
            });
            plan.push_back(Step::VerifyRectification {
                passed,
                late: overdue && passed,
            });
        }
        if let Some(party) = penalty {
            let by = if category.enforcement.contains(&assignee) {
                assignee.clone()
            } else {
                category.enforcement[rng.below(category.enforcement.len())].clone()
            };
            let (low, high) = profile.fine_yuan;
            let fine_fen = if high == 0 || rng.chance(0.1) {
                0
            } else {
                rng.range(low / 100, high / 100) * 100 * 100
            };
            let basis = if profile.legal_basis.is_empty() {
                "《物业管理条例》".to_string()
            } else {
                profile.legal_basis.to_string()
            };
            plan.push_back(Step::Penalise {
                by,
                party,
                fine_fen,
                basis,
            });
        }
        let joint_capable = matches!(
            category.slug.as_str(),
            "illegal-construction"
                | "green-space"
                | "fire-safety"
                | "firm-exit"
                | "change-of-use"
                | "unlicensed-business"
        );
        if joint_capable && rng.chance(JOINT_SHARE) {
            let mut departments: Vec<UnitId> = category.enforcement.clone();
            if departments.is_empty() {
                departments.push(county.housing.clone());
            }
            if rng.chance(0.5) && !departments.contains(&county.housing) {
                departments.push(county.housing.clone());
            }
            plan.push_back(Step::Joint { departments });
        }
        let extension_share = match severity {
            Severity::Urgent => 0.0,
            Severity::General => EXTENSION_GENERAL_SHARE,
            Severity::Complex => EXTENSION_COMPLEX_SHARE,
        };
        let extended = rng.chance(extension_share);
        if extended {
            plan.push_back(Step::Extend {
                working_days: rng.range(3, 10) as u32,
            });
        }
        let overdue_share = match severity {
            Severity::Urgent => OVERDUE_SHARE[0],
            Severity::General => OVERDUE_SHARE[1],
            Severity::Complex => OVERDUE_SHARE[2],
        };
        let overdue = !extended && rng.chance(overdue_share);
        if overdue && rng.chance(SUPERVISE_OVERDUE_SHARE) {
            let by = if county_dispatcher
                .as_ref()
                .is_some_and(|d| d.unit == county.petitions)
            {
                Principal::new(Role::Department, county.petitions.clone())
            } else if rng.chance(0.4) {
                Principal::new(Role::Office, county.office.clone())
            } else {
                Principal::new(Role::Department, county.housing.clone())
            };
            plan.push_back(Step::Supervise { by });
        }
        plan.push_back(Step::Resolve {
            finding,
            timing: if overdue {
                Timing::Late
            } else {
                Timing::OnTime
            },
        });
        if rng.chance(UNRATED_SHARE) {
            plan.push_back(Step::Close {
                by: feedback_by.clone(),
                unrated: true,
            });
        } else {
            let weights: Vec<f64> = RATINGS.iter().map(|(_, w)| *w).collect();
            let rating = RATINGS[rng.weighted(&weights)].0;
            let resolved = feedback_resolved(rng, rating);
            plan.push_back(Step::Feedback {
                by: feedback_by.clone(),
                rating,
                resolved,
                timing: late(rng, LATE_FEEDBACK_SHARE),
            });
            if rating == Rating::Dissatisfied {
                if rng.chance(REOPEN_SHARE) {
                    plan.push_back(Step::Reopen);
                    plan.push_back(Step::Contact {
                        timing: Timing::OnTime,
                    });
                    plan.push_back(Step::Resolve {
                        finding,
                        timing: Timing::OnTime,
                    });
                    let again = if rng.chance(0.85) {
                        Rating::BasicallySatisfied
                    } else {
                        Rating::Dissatisfied
                    };
                    plan.push_back(Step::Feedback {
                        by: feedback_by.clone(),
                        rating: again,
                        resolved: again != Rating::Dissatisfied,
                        timing: Timing::OnTime,
                    });
                    if again == Rating::Dissatisfied {
                        plan.push_back(Step::Close {
                            by: feedback_by.clone(),
                            unrated: false,
                        });
                    }
                } else {
                    plan.push_back(Step::Close {
                        by: feedback_by.clone(),
                        unrated: false,
                    });
                }
            }
        }
        if rng.chance(ERASE_SHARE) {
            plan.push_back(Step::Erase);
        }
    }

    fn apply_case_acts(
        &mut self,
        sim: &mut CaseSim,
        at: DateTime<Utc>,
        principal: &Principal,
        acts: Vec<Act>,
    ) {
        for act in acts {
            let expected_version = sim.state.version;
            sim.state = case::evolve(std::mem::take(&mut sim.state), &act);
            let step = self.emit(
                at,
                principal,
                &sim.user,
                &sim.stream,
                expected_version,
                act,
                &mut sim.rng,
            );
            self.note_for_credit(sim.firm, &step);
            self.out.push_back(step);
        }
    }

    fn note_for_credit(&mut self, firm: Option<usize>, step: &SimStep) {
        let Some(firm) = firm else {
            return;
        };
        // Without firm files there is nothing to score, repair or list.
        if !self.config.firm_acts || !credit_relevant(&step.act) {
            return;
        }
        self.firms[firm].records.push(Self::recorded(step));
        let repair = match &step.act {
            Act::PenaltyImposed(penalty) => matches!(penalty.party, PenalisedParty::Firm(_)),
            Act::InspectionRecorded(_) => true,
            _ => false,
        };
        if repair {
            let rng = &mut self.firms[firm].rng;
            if rng.chance(REPAIR_SHARE) {
                let at = self.clock.office_after(step.recorded_at, 20, 40, rng);
                let position = step.position;
                self.push(at, Task::Firm(firm, FirmTask::Repair { position }));
            }
            if matches!(step.act, Act::InspectionRecorded(_)) {
                let at = self
                    .clock
                    .office_after(step.recorded_at, 3, 8, &mut self.firms[firm].rng);
                self.push(at, Task::Firm(firm, FirmTask::Review));
            }
        }
    }

    /// When the next planned step of a case runs, from its state after the last act.
    fn next_time(&self, sim: &mut CaseSim, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let step = sim.plan.front()?;
        let clock = self.clock;
        let rng = &mut sim.rng;
        let due = |clock_kind: Clock| sim.state.deadlines.get(&clock_kind).map(|d| d.due_at);
        let urgent = sim.urgent;
        let soon = |rng: &mut Rng, until: Option<DateTime<Utc>>, timing: Timing| -> DateTime<Utc> {
            match (until, timing) {
                (Some(until), Timing::OnTime) if urgent => {
                    clock.any_between(now, now + (until - now) / 6, 5, rng)
                }
                (Some(until), Timing::OnTime) => clock.office_between(now, until, 10, true, rng),
                (Some(until), Timing::Late) => clock.office_after(until, 0, 2, rng),
                (None, _) => clock.office_after(now, 0, 1, rng),
            }
        };
        let resolve_due = due(Clock::Resolve);
        let handling = |rng: &mut Rng| -> DateTime<Utc> {
            match resolve_due {
                Some(until) if urgent => clock.any_between(now, now + (until - now) / 4, 10, rng),
                Some(until) if until > now => {
                    let horizon = now + (until - now) * 2 / 5;
                    clock.office_between(now, horizon.max(now + Duration::hours(2)), 20, true, rng)
                }
                _ => clock.office_after(now, 0, 1, rng),
            }
        };
        Some(match step {
            Step::Dispatch { timing, .. } => soon(rng, due(Clock::Dispatch), *timing),
            Step::Accept { timing } => soon(rng, due(Clock::Accept), *timing),
            Step::Return { .. } => match due(Clock::Return) {
                Some(until) => clock.office_between(now, until, 30, true, rng),
                None => clock.office_after(now, 0, 0, rng),
            },
            Step::Transfer { .. } => clock.office_after(now, 0, 1, rng),
            Step::Contact { timing } => {
                soon(rng, due(Clock::FirstContact).or(resolve_due), *timing)
            }
            Step::Inspect { .. }
            | Step::Penalise { .. }
            | Step::Mediate { .. }
            | Step::Joint { .. }
            | Step::Extend { .. } => handling(rng),
            Step::OrderRectification { .. } => {
                clock.office_between(now, now + Duration::hours(4), 10, true, rng)
            }
            Step::VerifyRectification { passed, late } => {
                let order_due = sim
                    .state
                    .rectifications
                    .values()
                    .next_back()
                    .map(|order| order.due_at)
                    .unwrap_or(now + Duration::days(3));
                if *late || !passed {
                    clock.office_after(order_due, 0, 2, rng)
                } else {
                    clock.office_between(now, order_due, 60, false, rng)
                }
            }
            Step::Supervise { .. } => match resolve_due {
                Some(until) if urgent => until + Duration::hours(rng.range(1, 6) as i64),
                Some(until) => clock.office_after(until, 0, 1, rng),
                None => clock.office_after(now, 1, 2, rng),
            },
            Step::Resolve { timing, .. } => match (resolve_due, timing) {
                (Some(until), Timing::OnTime) if urgent => clock.any_between(now, until, 10, rng),
                (Some(until), Timing::OnTime) => clock.office_between(now, until, 30, false, rng),
                (Some(until), Timing::Late) => {
                    let after = if until > now { until } else { now };
                    if urgent {
                        after + Duration::hours(rng.range(2, 20) as i64)
                    } else {
                        clock.office_after(after, 1, 5, rng)
                    }
                }
                (None, _) => clock.office_after(now, 1, 3, rng),
            },
            Step::Feedback { timing, .. } => soon(rng, due(Clock::FollowUp), *timing),
            Step::Close { unrated: true, .. } => match due(Clock::CloseUnrated) {
                Some(until) => clock.office_after(until, 0, 1, rng),
                None => clock.office_after(now, 3, 4, rng),
            },
            Step::Close { .. } | Step::Reopen => clock.office_after(now, 0, 2, rng),
            Step::Merge { .. } => soon(rng, due(Clock::Dispatch), Timing::OnTime),
            Step::Withdraw { .. } => clock.office_after(now, 0, 1, rng),
            Step::Erase => clock.office_after(now, 10, 60, rng),
        })
    }

    fn schedule_case(&mut self, index: u32, mut sim: CaseSim, now: DateTime<Utc>) {
        match self.next_time(&mut sim, now) {
            Some(at) => {
                let at = at.max(now + Duration::seconds(1));
                self.cases.insert(index, sim);
                self.push(at, Task::Case(index));
            }
            None => {
                if self.config.retain_states {
                    self.finished.insert(sim.id, sim.state);
                }
            }
        }
    }

    fn resolve_by(&self, by: &By, state: &CaseState) -> Principal {
        let unit = match by {
            By::Fixed(principal) => return principal.clone(),
            By::Assignee => state.assignee.clone(),
            By::Dispatcher => state.dispatcher.clone(),
            By::LocalTownship => state.township.clone(),
        };
        match unit {
            Some(unit) => principal_for(self.rules, &unit),
            None => Principal::new(Role::Department, self.county.housing.clone()),
        }
    }

    fn run_case(&mut self, index: u32, at: DateTime<Utc>) -> Result<(), SimError> {
        let Some(mut sim) = self.cases.remove(&index) else {
            return Ok(());
        };
        let Some(step) = sim.plan.pop_front() else {
            return Ok(());
        };
        let name = step.name();
        let state = &sim.state;
        let assignee = || self.resolve_by(&By::Assignee, state);
        let (principal, command) = match step {
            Step::Dispatch { by, to, .. } => (
                self.resolve_by(&by, state),
                CaseCommand::DispatchCase(case::DispatchCase {
                    to,
                    note: "请按职责办理 / please handle within your remit".into(),
                }),
            ),
            Step::Accept { .. } => (assignee(), CaseCommand::AcceptCase(case::AcceptCase {})),
            Step::Return { reason } => (
                assignee(),
                CaseCommand::ReturnCase(case::ReturnCase { reason }),
            ),
            Step::Transfer { to } => (
                assignee(),
                CaseCommand::TransferCase(case::TransferCase {
                    reason: format!("属 {to} 职责，依职责分工移送 / transferred to {to} under the responsibility matrix"),
                    to,
                }),
            ),
            Step::Contact { .. } => {
                let method = [ContactMethod::Phone, ContactMethod::Visit, ContactMethod::Sms, ContactMethod::Other]
                    [sim.rng.weighted(&[80.0, 12.0, 6.0, 2.0])];
                (
                    assignee(),
                    CaseCommand::ContactComplainant(case::ContactComplainant {
                        method,
                        note: "已与投诉人联系，说明办理安排 / contacted the complainant about the plan".into(),
                    }),
                )
            }
            Step::Inspect { substantiated, severe } => (
                assignee(),
                CaseCommand::RecordInspection(case::RecordInspection {
                    findings: if substantiated {
                        "现场核查，反映问题属实 / on-site check: the complaint is borne out".into()
                    } else {
                        "现场核查，未发现所反映问题 / on-site check: nothing found".into()
                    },
                    substantiated,
                    severe_violation: severe,
                }),
            ),
            Step::OrderRectification { working_days } => (
                assignee(),
                CaseCommand::OrderRectification(case::OrderRectification {
                    requirement: format!("限 {working_days} 个工作日内整改到位 / put right within {working_days} working days"),
                    working_days,
                }),
            ),
            Step::VerifyRectification { passed, .. } => {
                let order = state
                    .rectifications
                    .iter()
                    .find(|(_, order)| !order.verified)
                    .map(|(number, _)| *number)
                    .unwrap_or(1);
                (
                    assignee(),
                    CaseCommand::VerifyRectification(case::VerifyRectification {
                        order,
                        passed,
                        note: if passed {
                            "复查整改到位 / rectification verified".into()
                        } else {
                            "复查未整改到位 / rectification not done".into()
                        },
                    }),
                )
            }
            Step::Penalise { by, party, fine_fen, basis } => {
                let number = sim.rng.range(1, 999);
                let decision_no = format!("安{}罚决字〔{}〕第{number}号", abbreviation(by.as_str()), cst_date(at).format("%Y"));
                (
                    Principal::new(Role::Department, by),
                    CaseCommand::ImposePenalty(case::ImposePenalty {
                        party,
                        legal_basis: basis,
                        decision_no,
                        fine_fen,
                    }),
                )
            }
            Step::Mediate { outcome } => (
                assignee(),
                CaseCommand::RecordMediation(case::RecordMediation {
                    parties: vec!["业主 / owner".into(), "物业服务企业 / property firm".into()],
                    outcome,
                    note: "社区组织调解 / mediation held by the community".into(),
                }),
            ),
            Step::Joint { departments } => (
                self.resolve_by(&By::LocalTownship, state),
                CaseCommand::RecordJointEnforcement(case::RecordJointEnforcement {
                    departments,
                    targets: "涉事小区违法违规问题 / the violations in the compound".into(),
                    findings: "联合执法现场处置，责令整改 / handled on site jointly, ordered to put right".into(),
                }),
            ),
            Step::Extend { working_days } => (
                self.resolve_by(&By::Dispatcher, state),
                CaseCommand::GrantExtension(case::GrantExtension {
                    working_days,
                    reason: "情况复杂需协调多方 / complex, several parties involved".into(),
                }),
            ),
            Step::Supervise { by } => (
                by,
                CaseCommand::IssueSupervision(case::IssueSupervision {
                    reason: "案件超期未办结，请限期办理 / overdue; resolve it without delay".into(),
                }),
            ),
            Step::Resolve { finding, .. } => (
                assignee(),
                CaseCommand::ResolveCase(case::ResolveCase {
                    summary: match finding {
                        Finding::NotSubstantiated => "经核查反映问题不属实，已向投诉人解释 / not borne out; explained to the complainant".into(),
                        _ => "已按要求处置完毕 / handled as required".into(),
                    },
                    finding,
                }),
            ),
            Step::Feedback { by, rating, resolved, .. } => (
                self.resolve_by(&by, state),
                CaseCommand::RecordFeedback(case::RecordFeedback {
                    rating,
                    resolved,
                    note: String::new(),
                }),
            ),
            Step::Close { by, .. } => (
                self.resolve_by(&by, state),
                CaseCommand::CloseCase(case::CloseCase {}),
            ),
            Step::Reopen => (
                self.resolve_by(&By::Dispatcher, state),
                CaseCommand::ReopenCase(case::ReopenCase {
                    reason: "投诉人不满意理由成立，再次处置 / the dissatisfaction is reasonable".into(),
                }),
            ),
            Step::Merge { by, into } => (
                self.resolve_by(&by, state),
                CaseCommand::MergeCase(case::MergeCase {
                    into,
                    reason: "同一小区同一事项重复投诉 / repeat complaint about the same matter".into(),
                }),
            ),
            Step::Withdraw { by } => (
                self.resolve_by(&by, state),
                CaseCommand::WithdrawCase(case::WithdrawCase {
                    reason: "投诉人申请撤回 / withdrawn at the complainant's request".into(),
                }),
            ),
            Step::Erase => (
                Principal::new(Role::Office, self.county.office.clone()),
                CaseCommand::ErasePersonalData(case::ErasePersonalData {
                    legal_basis: "《个人信息保护法》第四十七条 / PIPL art. 47, at the complainant's request".into(),
                }),
            ),
        };
        let context = Context::new(self.rules, at, principal.clone());
        let acts = case::decide(&sim.state, &command, &context).map_err(|rejection| {
            SimError::Rejected(Box::new(RefusedStep {
                stream: sim.stream.clone(),
                command: name,
                principal: principal.to_string(),
                at,
                rejection,
            }))
        })?;
        let erased = acts.iter().find_map(|act| match act {
            Act::PersonalDataErased(erased) => Some(erased.key_id.clone()),
            _ => None,
        });
        self.apply_case_acts(&mut sim, at, &principal, acts);
        if let Some(key_id) = erased {
            self.keys.destroy_key(&key_id)?;
        }
        self.schedule_case(index, sim, at);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Firms.

    fn housing(&self) -> Principal {
        Principal::new(Role::Department, self.county.housing.clone())
    }

    fn run_quarter(&mut self, quarter: Quarter, index: usize, at: DateTime<Utc>) {
        // Every community hosting a compound a firm serves under a filed contract assesses
        // it; townships aggregate; housing publishes; housing reviews the lists.
        for firm in 0..self.firms.len() {
            let mut communities: Vec<UnitId> = self.firms[firm]
                .state
                .contracts
                .values()
                .map(|contract| contract.community.clone())
                .collect();
            communities.sort();
            communities.dedup();
            let mut townships = Vec::new();
            let rng = &mut self.firms[firm].rng;
            let mut pushes = Vec::new();
            for community in communities {
                if let Some(township) = self.rules.registry.township_of(&community) {
                    townships.push(township.clone());
                }
                let when = self.clock.office_after(at, 0, 7, rng);
                pushes.push((
                    when,
                    FirmTask::Assess {
                        community,
                        quarter,
                        index,
                    },
                ));
            }
            townships.sort();
            townships.dedup();
            for township in townships {
                let when = self.clock.office_after(at, 9, 11, rng);
                pushes.push((when, FirmTask::Aggregate { township, quarter }));
            }
            let when = self.clock.office_after(at, 13, 15, rng);
            pushes.push((when, FirmTask::Publish { quarter }));
            let review = self.clock.office_after(at, 16, 18, rng);
            pushes.push((review, FirmTask::Review));
            for (when, task) in pushes {
                self.push(when, Task::Firm(firm, task));
            }
        }
    }

    fn firm_command(
        &mut self,
        firm: usize,
        task: FirmTask,
        at: DateTime<Utc>,
    ) -> Option<(Principal, FirmCommand)> {
        let county = &self.county;
        let housing = self.housing();
        let info = &county.firms[firm];
        let state = &self.firms[firm].state;
        let standing = || {
            credit::standing(
                &self.rules.credit,
                &info.uscc,
                at,
                &self.firms[firm].records,
            )
        };
        Some(match task {
            FirmTask::Register => (
                housing,
                FirmCommand::RegisterFirm(firm::RegisterFirm {
                    firm: info.uscc.clone(),
                    name: info.name.clone(),
                }),
            ),
            FirmTask::FileContract { compound } => {
                let starts_on =
                    self.config.start - Duration::days(400 + 37 * (compound as i64 % 11));
                (
                    housing,
                    FirmCommand::FileContract(firm::FileContract {
                        compound: county.compounds[compound].id.clone(),
                        contract_no: format!(
                            "安物备〔{}〕{:03}号",
                            cst_date(at).format("%Y"),
                            compound + 1
                        ),
                        starts_on: starts_on.min(cst_date(at)),
                        ends_on: cst_date(at) + Duration::days(3 * 365),
                    }),
                )
            }
            FirmTask::Tender { compound } => (
                housing,
                FirmCommand::FileTender(firm::FileTender {
                    compound: county.compounds[compound].id.clone(),
                    tender_no: format!(
                        "安物招〔{}〕{:03}号",
                        cst_date(at).format("%Y"),
                        compound + 1
                    ),
                }),
            ),
            FirmTask::Handover { compound, passed } => (
                principal_for(self.rules, &county.compounds[compound].township),
                FirmCommand::RecordHandoverInspection(firm::RecordHandoverInspection {
                    compound: county.compounds[compound].id.clone(),
                    passed,
                    findings: if passed {
                        "共用部位和设施设备查验合格 / common parts and equipment pass".into()
                    } else {
                        "消防设施和电梯资料不全，限期补齐 / fire and lift records incomplete".into()
                    },
                }),
            ),
            FirmTask::Exit { compound, .. } => {
                let id = &county.compounds[compound].id;
                if !state.contracts.contains_key(id) {
                    return None;
                }
                (
                    principal_for(self.rules, &county.compounds[compound].township),
                    FirmCommand::RecordExit(firm::RecordExit {
                        compound: id.clone(),
                        reason: "业主大会决定解聘，合同终止 / dismissed by the owners' assembly"
                            .into(),
                    }),
                )
            }
            FirmTask::Assess {
                community,
                quarter,
                index,
            } => {
                if !state.contracts.values().any(|c| c.community == community) {
                    return None;
                }
                let tier = info.tier_in_quarter(index);
                let (low, high) = tier_profile(tier).items;
                let rng = &mut self.firms[firm].rng;
                let items = [
                    "保洁",
                    "秩序维护",
                    "绿化养护",
                    "设施设备维护",
                    "收费公示",
                    "业主满意度",
                ]
                .iter()
                .map(|item| AssessmentItem {
                    item: (*item).to_string(),
                    score: rng.range(low, high).min(100) as u32,
                })
                .collect();
                (
                    principal_for(self.rules, &community),
                    FirmCommand::SubmitAssessment(firm::SubmitAssessment { quarter, items }),
                )
            }
            FirmTask::Aggregate { township, quarter } => {
                let any = state.assessments.get(&quarter).is_some_and(|by| {
                    by.keys().any(|community| {
                        self.rules.registry.township_of(community) == Some(&township)
                    })
                });
                let done = state
                    .aggregations
                    .get(&quarter)
                    .is_some_and(|by| by.contains(&township));
                if !any || done {
                    return None;
                }
                (
                    principal_for(self.rules, &township),
                    FirmCommand::AggregateAssessments(firm::AggregateAssessments { quarter }),
                )
            }
            FirmTask::Publish { quarter } => {
                let score = credit::score(
                    &self.rules.credit,
                    &info.uscc,
                    quarter,
                    &self.firms[firm].records,
                );
                if score.assessments == 0 || state.grades.contains_key(&quarter) {
                    return None;
                }
                (
                    housing,
                    FirmCommand::PublishGrade(firm::PublishGrade {
                        quarter,
                        grade: score.grade,
                    }),
                )
            }
            FirmTask::Review => {
                let standing = standing();
                let command = if standing.black_eligible && !state.black_listed {
                    FirmCommand::ListBlack(firm::ListBlack {
                        reason:
                            "信用等级为 D 或有黑榜行为 / grade D or a black-list-grade violation"
                                .into(),
                    })
                } else if state.black_listed && !standing.black_eligible {
                    FirmCommand::Delist(firm::Delist {
                        list: ListKind::Black,
                        reason: "整改到位，不再符合黑榜条件 / put right; no longer meets the black-list conditions".into(),
                    })
                } else if standing.red_eligible && !state.red_listed {
                    FirmCommand::ListRed(firm::ListRed {
                        reason: "连续四个季度信用等级 A 且无行政处罚 / grade A for four quarters, no penalty".into(),
                    })
                } else if state.red_listed && !standing.red_eligible {
                    FirmCommand::Delist(firm::Delist {
                        list: ListKind::Red,
                        reason: "不再符合红榜条件 / no longer meets the red-list conditions".into(),
                    })
                } else {
                    return None;
                };
                (housing, command)
            }
            FirmTask::Repair { position } => {
                let score = credit::score(
                    &self.rules.credit,
                    &info.uscc,
                    Quarter::of_instant(at),
                    &self.firms[firm].records,
                );
                let counted = score.trace.iter().any(|line| {
                    line.position == position
                        && line.points_hundredths < 0
                        && line.repaired_by.is_none()
                });
                if !counted || state.repaired.contains(&position) {
                    return None;
                }
                (
                    housing,
                    FirmCommand::RepairCredit(firm::RepairCredit {
                        position,
                        reason: "企业已整改并经复查，申请信用修复 / put right and verified".into(),
                    }),
                )
            }
            FirmTask::Commend => (
                housing,
                FirmCommand::CommendFirm(firm::CommendFirm {
                    reason: "防汛救灾工作表现突出 / outstanding work in the flood season".into(),
                }),
            ),
        })
    }

    fn run_firm(&mut self, firm: usize, task: FirmTask, at: DateTime<Utc>) -> Result<(), SimError> {
        // Follow-ups that depend on the task, decided before it runs.
        let follow = match &task {
            FirmTask::Exit {
                compound,
                successor,
            } => Some((*compound, *successor)),
            _ => None,
        };
        let reviews_after = matches!(task, FirmTask::Repair { .. } | FirmTask::Publish { .. });
        let Some((principal, command)) = self.firm_command(firm, task, at) else {
            return Ok(());
        };
        let name = command.name();
        let stream = format!("firm/{}", self.county.firms[firm].uscc);
        let acts = {
            let context = Context::new(self.rules, at, principal.clone());
            let firm_context = FirmContext {
                context: &context,
                records: &self.firms[firm].records,
            };
            firm::decide(&self.firms[firm].state, &command, &firm_context).map_err(|rejection| {
                SimError::Rejected(Box::new(RefusedStep {
                    stream: stream.clone(),
                    command: name,
                    principal: principal.to_string(),
                    at,
                    rejection,
                }))
            })?
        };
        let mut rng = self.firms[firm].rng.clone();
        for act in acts {
            let expected_version = self.firms[firm].state.version;
            let state = std::mem::take(&mut self.firms[firm].state);
            self.firms[firm].state = firm::evolve(state, &act);
            let user = "staff-01";
            let step = self.emit(
                at,
                &principal,
                user,
                &stream,
                expected_version,
                act,
                &mut rng,
            );
            self.firms[firm].records.push(Self::recorded(&step));
            self.out.push_back(step);
        }
        self.firms[firm].rng = rng;
        if let Some((compound, successor)) = follow {
            let rng = &mut self.firms[firm].rng;
            let filed = self.clock.office_after(at, 2, 5, rng);
            let inspected = self.clock.office_after(filed, 1, 3, rng);
            let passed = rng.chance(0.85);
            self.compound_firm[compound] = Some(successor);
            self.push(
                filed,
                Task::Firm(successor, FirmTask::FileContract { compound }),
            );
            self.push(
                inspected,
                Task::Firm(successor, FirmTask::Handover { compound, passed }),
            );
        }
        if reviews_after && name == "RepairCredit" {
            let at = self.clock.office_after(at, 1, 3, &mut self.firms[firm].rng);
            self.push(at, Task::Firm(firm, FirmTask::Review));
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // The loop.

    fn run_next(&mut self) -> Result<bool, SimError> {
        let filing = self.filings.get(self.next_filing).copied();
        let top = self.agenda.peek().map(|Reverse(agenda)| agenda.at);
        match (filing, top) {
            (None, None) => Ok(false),
            (Some(at), top) if top.is_none_or(|top| at <= top) => {
                let index = self.next_filing as u32;
                self.next_filing += 1;
                self.file_case(index, at)?;
                Ok(true)
            }
            _ => {
                let Some(Reverse(agenda)) = self.agenda.pop() else {
                    return Ok(false);
                };
                match agenda.task {
                    Task::Case(index) => self.run_case(index, agenda.at)?,
                    Task::Firm(firm, task) => self.run_firm(firm, task, agenda.at)?,
                    Task::Governance(task) => self.run_governance(task, agenda.at)?,
                    Task::QuarterClosed(quarter, index) => {
                        self.run_quarter(quarter, index, agenda.at)
                    }
                }
                Ok(true)
            }
        }
    }
}

impl Iterator for Simulation<'_> {
    type Item = Result<SimStep, SimError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(step) = self.out.pop_front() {
                return Some(Ok(step));
            }
            if self.failed {
                return None;
            }
            match self.run_next() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

fn feedback_resolved(rng: &mut Rng, rating: Rating) -> bool {
    match rating {
        Rating::Satisfied => rng.chance(0.97),
        Rating::BasicallySatisfied => rng.chance(0.8),
        Rating::Dissatisfied => rng.chance(0.2),
    }
}

/// The short name of a department in a penalty decision number (安城管罚决字…).
fn abbreviation(unit: &str) -> &'static str {
    match unit {
        "housing" => "住建",
        "urban-management" => "城管",
        "market-supervision" => "市监",
        "public-security" => "公",
        "natural-resources" => "自然资源",
        "fire-rescue" => "消",
        "health" => "卫",
        "education" => "教",
        "hr-social-security" => "人社",
        "ecology-environment" => "环",
        _ => "",
    }
}

const SURNAMES: [&str; 16] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "谌", "龚", "夏", "曾", "彭", "罗",
];
const GIVEN: [&str; 16] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
];

/// A synthetic complainant: invented name, a number in a range no real subscriber holds in
/// this data (the 170 virtual-operator block, random digits), an address in the compound.
fn synthetic_person(rng: &mut Rng, compound: &str) -> PersonalData {
    let name = format!(
        "{}{}{}",
        SURNAMES[rng.below(SURNAMES.len())],
        GIVEN[rng.below(GIVEN.len())],
        if rng.chance(0.5) {
            GIVEN[rng.below(GIVEN.len())]
        } else {
            ""
        }
    );
    let phone = format!("170{:08}", rng.range(0, 99_999_999));
    let address = format!(
        "{compound}{}栋{}单元{}室",
        rng.range(1, 20),
        rng.range(1, 4),
        rng.range(1, 30) * 100 + rng.range(1, 4)
    );
    PersonalData {
        name: Some(name),
        phone: Some(phone),
        address: Some(address),
    }
}

/// Filing instants for `config.cases` cases over the period, sorted. Daily volume follows a
/// season (more in summer: lifts, water, noise; fewer over the Spring Festival), weekends
/// carry 60% of a weekday's, and hours follow the 12345 day (07:00 to 22:00, peak mid-morning).
fn filing_times(config: &SimConfig, rng: &mut Rng) -> Vec<DateTime<Utc>> {
    let days: Vec<NaiveDate> = (0..config.days)
        .map(|d| config.start + Duration::days(i64::from(d)))
        .collect();
    let weights: Vec<f64> = days
        .iter()
        .map(|day| {
            use chrono::Datelike;
            let season = match day.month() {
                6..=8 => 1.3,
                2 => 0.7,
                _ => 1.0,
            };
            let weekday = if day.weekday().number_from_monday() >= 6 {
                0.6
            } else {
                1.0
            };
            season * weekday
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut running = 0.0;
    for weight in &weights {
        running += weight / total;
        cumulative.push(running);
    }
    let hour_weights = [
        2.0, 5.0, 9.0, 10.0, 8.0, 5.0, 4.0, 7.0, 8.0, 7.0, 5.0, 4.0, 3.0, 3.0, 2.0,
    ]; // 07:00 .. 21:00
    let mut times: Vec<DateTime<Utc>> = (0..config.cases)
        .map(|_| {
            let target = rng.unit();
            let index = cumulative
                .partition_point(|c| *c < target)
                .min(days.len() - 1);
            let hour = 7 + rng.weighted(&hour_weights) as i64;
            let minute = rng.range(0, 59) as i64;
            at_cst(days[index], hour * 60 + minute, rng.range(0, 59) as i64)
        })
        .collect();
    times.sort();
    times
}
