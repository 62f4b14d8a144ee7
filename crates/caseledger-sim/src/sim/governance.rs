//! Governance acts (DOMAIN.md §5): joint meetings, safety inspections, and each compound's
//! liaison, owners' self-governance, fire-safety agreement and maintenance fund, decided by
//! `caseledger_domain::governance::decide`.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use uuid::Uuid;

use caseledger_domain::act::{GovernanceId, MeetingKind};
use caseledger_domain::deadline::cst_date;
use caseledger_domain::governance::{self, GovernanceCommand, GovernanceState};
use caseledger_domain::ids::UnitId;
use caseledger_domain::principal::{Principal, Role};

use super::{uuid_v4, Simulation, Task};
use crate::clock::at_cst;
use crate::rng::{mix, Rng};
use crate::{RefusedStep, SimError};

/// Share of compounds whose owners' assembly and committee already exist at launch (recorded
/// in the first weeks with their historical dates).
const COMMITTEE_AT_LAUNCH_SHARE: f64 = 0.4;
/// Share of the other compounds that form an assembly and elect a committee during a year.
const NEW_COMMITTEE_SHARE_PER_YEAR: f64 = 0.12;
/// Share of compounds with a committee that apply to the maintenance fund in a year.
const FUND_SHARE_PER_YEAR: f64 = 0.15;
/// Share of fund applications housing approves.
const FUND_APPROVE_SHARE: f64 = 0.85;
/// Safety inspections per quarter.
const SAFETY_INSPECTIONS_PER_QUARTER: u64 = 2;
/// Committee terms, years (our default; the national guidance caps them at 5).
const COMMITTEE_TERM_YEARS: u32 = 3;

/// A governance step, planned with its time.
#[derive(Clone, Debug)]
pub(super) enum GovernanceTask {
    Liaison {
        compound: usize,
    },
    Assembly {
        compound: usize,
        formed_on: NaiveDate,
    },
    Elect {
        compound: usize,
        elected_on: NaiveDate,
        members: u32,
    },
    FileCommittee {
        compound: usize,
    },
    ChangeTerm {
        compound: usize,
        members: u32,
    },
    FireAgreement {
        compound: usize,
    },
    FundApply {
        compound: usize,
        application: Uuid,
        amount_fen: u64,
    },
    FundReview {
        compound: usize,
        application: Uuid,
        approve: bool,
    },
    FundDisburse {
        compound: usize,
        application: Uuid,
        tranche: u8,
    },
    Meeting {
        kind: MeetingKind,
    },
    SafetyInspection,
}

/// Each compound's governance stream state, and the ids of meetings and inspections.
#[derive(Default)]
pub(super) struct GovernanceBook {
    pub(super) compounds: Vec<GovernanceState>,
}

impl Simulation<'_> {
    /// Plans the period's governance acts.
    pub(super) fn schedule_governance(&mut self, rng: &mut Rng) {
        self.governance.compounds = vec![GovernanceState::default(); self.county.compounds.len()];
        let start = self.config.start;
        let days = i64::from(self.config.days);
        let years = days as f64 / 365.0;
        let first = at_cst(self.clock.working_day_from(start), 0, 0);
        for compound in 0..self.county.compounds.len() {
            // 物管员: every community names its compounds' liaison in the first weeks.
            let at = self.clock.office_after(first, 2, 15, rng);
            self.push(at, Task::Governance(GovernanceTask::Liaison { compound }));
            if rng.chance(COMMITTEE_AT_LAUNCH_SHARE) {
                // Recorded at launch with the dates it really happened.
                let elected_on = start
                    - Duration::days(
                        rng.range(60, u64::from(COMMITTEE_TERM_YEARS) * 365 - 30) as i64
                    );
                let formed_on = elected_on - Duration::days(rng.range(10, 60) as i64);
                let members = [5, 7, 7, 9, 11][rng.below(5)];
                let at = self.clock.office_after(first, 5, 25, rng);
                let elect = self.clock.office_after(at, 0, 2, rng);
                let file = self.clock.office_after(elect, 1, 5, rng);
                self.push(
                    at,
                    Task::Governance(GovernanceTask::Assembly {
                        compound,
                        formed_on,
                    }),
                );
                self.push(
                    elect,
                    Task::Governance(GovernanceTask::Elect {
                        compound,
                        elected_on,
                        members,
                    }),
                );
                self.push(
                    file,
                    Task::Governance(GovernanceTask::FileCommittee { compound }),
                );
                // 换届 when the term ends inside the period, a month ahead.
                let ends = elected_on
                    .checked_add_months(Months::new(12 * COMMITTEE_TERM_YEARS))
                    .unwrap_or(elected_on);
                let change_on = ends - Duration::days(30);
                if change_on > start + Duration::days(40)
                    && change_on < start + Duration::days(days)
                {
                    let at = self.clock.office_after(at_cst(change_on, 0, 0), 0, 0, rng);
                    let members = [5, 7, 9][rng.below(3)];
                    self.push(
                        at,
                        Task::Governance(GovernanceTask::ChangeTerm { compound, members }),
                    );
                }
                if rng.chance(FUND_SHARE_PER_YEAR * years) {
                    let day = start + Duration::days(rng.range(45, days.max(46) as u64) as i64);
                    let at = self.clock.office_after(at_cst(day, 0, 0), 0, 0, rng);
                    let application = uuid_v4(rng);
                    let amount_fen = rng.range(200, 3_000) * 100 * 100;
                    self.push(
                        at,
                        Task::Governance(GovernanceTask::FundApply {
                            compound,
                            application,
                            amount_fen,
                        }),
                    );
                }
            } else if rng.chance(NEW_COMMITTEE_SHARE_PER_YEAR * years) {
                let day =
                    start + Duration::days(rng.range(30, (days * 2 / 3).max(31) as u64) as i64);
                let at = self.clock.office_after(at_cst(day, 0, 0), 0, 0, rng);
                let elect = self.clock.office_after(at, 10, 30, rng);
                let file = self.clock.office_after(elect, 3, 10, rng);
                let members = [5, 7, 9][rng.below(3)];
                self.push(
                    at,
                    Task::Governance(GovernanceTask::Assembly {
                        compound,
                        formed_on: cst_date(at),
                    }),
                );
                self.push(
                    elect,
                    Task::Governance(GovernanceTask::Elect {
                        compound,
                        elected_on: cst_date(elect),
                        members,
                    }),
                );
                self.push(
                    file,
                    Task::Governance(GovernanceTask::FileCommittee { compound }),
                );
            } else if self.compound_firm[compound].is_none() {
                // 防火协议: a compound with neither firm nor committee signs one before summer.
                let day = start + Duration::days((days / 4).min(120) + rng.range(0, 20) as i64);
                let at = self.clock.office_after(at_cst(day, 0, 0), 0, 0, rng);
                self.push(
                    at,
                    Task::Governance(GovernanceTask::FireAgreement { compound }),
                );
            }
        }
        // 联席会议: every half year (late June, late December), and one emergency meeting in
        // the flood season.
        let mut day = start;
        let end = start + Duration::days(days);
        while day < end {
            if (day.month() == 6 || day.month() == 12) && day.day() == 20 {
                let at = self.clock.office_after(at_cst(day, 0, 0), 0, 3, rng);
                self.push(
                    at,
                    Task::Governance(GovernanceTask::Meeting {
                        kind: MeetingKind::HalfYearly,
                    }),
                );
            }
            if day.month() == 7 && day.day() == 8 {
                let at = self.clock.office_after(at_cst(day, 0, 0), 0, 1, rng);
                self.push(
                    at,
                    Task::Governance(GovernanceTask::Meeting {
                        kind: MeetingKind::Emergency,
                    }),
                );
            }
            if day.day() == 1 && matches!(day.month(), 1 | 4 | 7 | 10) {
                for _ in 0..SAFETY_INSPECTIONS_PER_QUARTER {
                    let at = self.clock.office_after(at_cst(day, 0, 0), 10, 55, rng);
                    if at < at_cst(end, 0, 0) {
                        self.push(at, Task::Governance(GovernanceTask::SafetyInspection));
                    }
                }
            }
            day = day.succ_opt().unwrap_or(end);
        }
    }

    fn governance_command(
        &mut self,
        task: &GovernanceTask,
        at: DateTime<Utc>,
        rng: &mut Rng,
    ) -> Option<(Principal, GovernanceCommand)> {
        let today = cst_date(at);
        let compound_info = |index: usize| &self.county.compounds[index];
        let township =
            |index: usize| Principal::new(Role::Township, compound_info(index).township.clone());
        let community =
            |index: usize| Principal::new(Role::Community, compound_info(index).community.clone());
        let local = |index: usize, rng: &mut Rng| {
            if rng.chance(0.5) {
                township(index)
            } else {
                community(index)
            }
        };
        let housing = Principal::new(Role::Department, self.county.housing.clone());
        Some(match task.clone() {
            GovernanceTask::Liaison { compound } => (
                community(compound),
                GovernanceCommand::NamePropertyLiaison(governance::NamePropertyLiaison {
                    compound: compound_info(compound).id.clone(),
                    name: format!("（样例）社区物管员{:02}号", compound % 97 + 1),
                    contact: format!("0737-72{:05}", rng.range(0, 99_999)),
                    published_on: today,
                }),
            ),
            GovernanceTask::Assembly {
                compound,
                formed_on,
            } => (
                local(compound, rng),
                GovernanceCommand::FormOwnersAssembly(governance::FormOwnersAssembly {
                    compound: compound_info(compound).id.clone(),
                    formed_on,
                }),
            ),
            GovernanceTask::Elect {
                compound,
                elected_on,
                members,
            } => {
                if !self.governance.compounds[compound].assembly_formed {
                    return None;
                }
                (
                    local(compound, rng),
                    GovernanceCommand::ElectOwnersCommittee(governance::ElectOwnersCommittee {
                        compound: compound_info(compound).id.clone(),
                        elected_on,
                        members,
                        term_starts_on: elected_on,
                        term_ends_on: elected_on
                            .checked_add_months(Months::new(12 * COMMITTEE_TERM_YEARS))
                            .unwrap_or(elected_on),
                    }),
                )
            }
            GovernanceTask::FileCommittee { compound } => {
                let state = &self.governance.compounds[compound];
                let committee = state.committee.as_ref()?;
                if committee.filed {
                    return None;
                }
                (
                    township(compound),
                    GovernanceCommand::FileOwnersCommittee(governance::FileOwnersCommittee {
                        compound: compound_info(compound).id.clone(),
                        filing_no: format!("安业备〔{}〕{:03}号", today.year(), compound + 1),
                    }),
                )
            }
            GovernanceTask::ChangeTerm { compound, members } => {
                let committee = self.governance.compounds[compound].committee.as_ref()?;
                let starts = committee.term_ends_on.max(today + Duration::days(1));
                (
                    local(compound, rng),
                    GovernanceCommand::ChangeOwnersCommitteeTerm(
                        governance::ChangeOwnersCommitteeTerm {
                            compound: compound_info(compound).id.clone(),
                            elected_on: today,
                            members,
                            term_starts_on: starts,
                            term_ends_on: starts
                                .checked_add_months(Months::new(12 * COMMITTEE_TERM_YEARS))
                                .unwrap_or(starts),
                        },
                    ),
                )
            }
            GovernanceTask::FireAgreement { compound } => {
                if self.governance.compounds[compound].committee.is_some() {
                    return None;
                }
                (
                    community(compound),
                    GovernanceCommand::SignFireSafetyAgreement(governance::SignFireSafetyAgreement {
                        compound: compound_info(compound).id.clone(),
                        signed_on: today,
                        signatories: rng.range(12, 80) as u32,
                        responsibilities: "楼栋长负责消防通道巡查，住户不得占用楼道 / building heads patrol the fire lanes; no storage in stairwells".into(),
                    }),
                )
            }
            GovernanceTask::FundApply {
                compound,
                application,
                amount_fen,
            } => (
                local(compound, rng),
                GovernanceCommand::ApplyMaintenanceFund(governance::ApplyMaintenanceFund {
                    compound: compound_info(compound).id.clone(),
                    application_id: application,
                    amount_fen,
                    purpose: [
                        "屋面防水维修 / roof waterproofing",
                        "电梯更新改造 / lift replacement",
                        "外墙脱落维修 / facade repair",
                        "二次供水设施更换 / secondary water supply",
                    ][rng.below(4)]
                    .into(),
                }),
            ),
            GovernanceTask::FundReview {
                compound,
                application,
                approve,
            } => {
                let requested = self.governance.compounds[compound]
                    .funds
                    .get(&application)?
                    .requested_fen;
                let approved_fen = if approve {
                    (requested / 100 * rng.range(70, 100) / 100 * 100).max(100)
                } else {
                    0
                };
                (
                    housing,
                    GovernanceCommand::ReviewMaintenanceFund(governance::ReviewMaintenanceFund {
                        compound: compound_info(compound).id.clone(),
                        application_id: application,
                        approved: approve,
                        approved_fen,
                        reason: if approve {
                            "经审核同意，按核定金额使用 / approved at the reviewed amount".into()
                        } else {
                            "业主表决比例不足，不予批准 / too few owners voted for it".into()
                        },
                    }),
                )
            }
            GovernanceTask::FundDisburse {
                compound,
                application,
                tranche,
            } => {
                let fund = self.governance.compounds[compound]
                    .funds
                    .get(&application)?;
                let remaining = fund.approved_fen.saturating_sub(fund.disbursed_fen);
                if remaining == 0 {
                    return None;
                }
                // Two tranches: 70% at the start of works, the rest on completion.
                let amount_fen = if tranche == 0 {
                    (fund.approved_fen * 7 / 10).max(1).min(remaining)
                } else {
                    remaining
                };
                (
                    housing,
                    GovernanceCommand::DisburseMaintenanceFund(
                        governance::DisburseMaintenanceFund {
                            compound: compound_info(compound).id.clone(),
                            application_id: application,
                            amount_fen,
                        },
                    ),
                )
            }
            GovernanceTask::Meeting { kind } => {
                let mut attendees: Vec<UnitId> =
                    vec![self.county.office.clone(), self.county.housing.clone()];
                for unit in [
                    "urban-management",
                    "market-supervision",
                    "public-security",
                    "fire-rescue",
                    "petitions",
                    "township/dongping",
                ] {
                    if let Ok(unit) = unit.parse::<UnitId>() {
                        if self.rules.registry.unit(&unit).is_some() {
                            attendees.push(unit);
                        }
                    }
                }
                let (agenda, decisions) = match kind {
                    MeetingKind::HalfYearly => (
                        vec![
                            "通报半年物业投诉办理情况 / complaints of the half year".to_string(),
                            "研究信用评价结果运用 / using the credit grades".to_string(),
                        ],
                        vec!["对 D 级企业开展约谈 / interview the grade-D firms".to_string()],
                    ),
                    _ => (
                        vec!["汛期小区安全隐患排查 / flood-season hazards in compounds".to_string()],
                        vec![
                            "三日内完成地下车库排水检查 / check garage drainage within three days"
                                .to_string(),
                        ],
                    ),
                };
                (
                    Principal::new(Role::Office, self.county.office.clone()),
                    GovernanceCommand::ConveneJointMeeting(governance::ConveneJointMeeting {
                        meeting_id: GovernanceId(uuid_v4(rng)),
                        kind,
                        held_on: today,
                        attendees,
                        agenda,
                        decisions,
                    }),
                )
            }
            GovernanceTask::SafetyInspection => {
                let count = rng.range(3, 6) as usize;
                let mut compounds: Vec<UnitId> = (0..count)
                    .map(|_| {
                        self.county.compounds[rng.below(self.county.compounds.len())]
                            .id
                            .clone()
                    })
                    .collect();
                compounds.sort();
                compounds.dedup();
                let mut departments = Vec::new();
                for unit in ["emergency", "fire-rescue", "urban-management"] {
                    if let Ok(unit) = unit.parse::<UnitId>() {
                        if self.rules.registry.unit(&unit).is_some()
                            && (departments.is_empty() || rng.chance(0.5))
                        {
                            departments.push(unit);
                        }
                    }
                }
                if departments.is_empty() {
                    return None;
                }
                let hazards = rng.range(0, 6) as u32;
                (
                    housing,
                    GovernanceCommand::RecordSafetyInspection(governance::RecordSafetyInspection {
                        inspection_id: GovernanceId(uuid_v4(rng)),
                        inspected_on: today,
                        compounds,
                        departments,
                        findings: format!("抽查发现安全隐患 {hazards} 处，已责令限期整改 / {hazards} hazards found, ordered put right"),
                        hazards,
                    }),
                )
            }
        })
    }

    /// Runs one governance step.
    pub(super) fn run_governance(
        &mut self,
        task: GovernanceTask,
        at: DateTime<Utc>,
    ) -> Result<(), SimError> {
        let mut rng = Rng::new(mix(
            self.config.seed,
            0x6F7E_0000_0000 ^ self.seq ^ at.timestamp() as u64,
        ));
        let Some((principal, command)) = self.governance_command(&task, at, &mut rng) else {
            return Ok(());
        };
        let name = command.name();
        let stream = command.stream().to_string();
        let compound = match &task {
            GovernanceTask::Liaison { compound }
            | GovernanceTask::Assembly { compound, .. }
            | GovernanceTask::Elect { compound, .. }
            | GovernanceTask::FileCommittee { compound }
            | GovernanceTask::ChangeTerm { compound, .. }
            | GovernanceTask::FireAgreement { compound }
            | GovernanceTask::FundApply { compound, .. }
            | GovernanceTask::FundReview { compound, .. }
            | GovernanceTask::FundDisburse { compound, .. } => Some(*compound),
            GovernanceTask::Meeting { .. } | GovernanceTask::SafetyInspection => None,
        };
        let fresh = GovernanceState::default();
        let state = match compound {
            Some(index) => &self.governance.compounds[index],
            None => &fresh,
        };
        let context = caseledger_domain::context::Context::new(self.rules, at, principal.clone());
        let acts = governance::decide(state, &command, &context).map_err(|rejection| {
            SimError::Rejected(Box::new(RefusedStep {
                stream: stream.clone(),
                command: name,
                principal: principal.to_string(),
                at,
                rejection,
            }))
        })?;
        for act in acts {
            let expected_version = match compound {
                Some(index) => self.governance.compounds[index].version,
                None => 0,
            };
            if let Some(index) = compound {
                let state = std::mem::take(&mut self.governance.compounds[index]);
                self.governance.compounds[index] = governance::evolve(state, &act);
            }
            let step = self.emit(
                at,
                &principal,
                "staff-01",
                &stream,
                expected_version,
                act,
                &mut rng,
            );
            self.out.push_back(step);
        }
        // What follows a fund application: the review, then the disbursements.
        match task {
            GovernanceTask::FundApply {
                compound,
                application,
                ..
            } => {
                let approve = rng.chance(FUND_APPROVE_SHARE);
                let at = self.clock.office_after(at, 5, 15, &mut rng);
                self.push(
                    at,
                    Task::Governance(GovernanceTask::FundReview {
                        compound,
                        application,
                        approve,
                    }),
                );
            }
            GovernanceTask::FundReview {
                compound,
                application,
                approve: true,
            } => {
                let first = self.clock.office_after(at, 5, 20, &mut rng);
                let second = self.clock.office_after(first, 20, 60, &mut rng);
                self.push(
                    first,
                    Task::Governance(GovernanceTask::FundDisburse {
                        compound,
                        application,
                        tranche: 0,
                    }),
                );
                self.push(
                    second,
                    Task::Governance(GovernanceTask::FundDisburse {
                        compound,
                        application,
                        tranche: 1,
                    }),
                );
            }
            _ => {}
        }
        Ok(())
    }
}
