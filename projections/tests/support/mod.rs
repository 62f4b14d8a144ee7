//! Test support: the shipped county rules, and a simulator that generates random but valid
//! case and firm histories by running commands through the domain's `decide` (a command the
//! domain rejects is simply not taken), so every generated act is one the writer could have
//! appended. `sqlite_store` holds the projections' trees in SQLite, the bench's baseline.
#![allow(dead_code)]

pub mod sqlite_store;

use std::collections::BTreeMap;
use std::sync::Arc;

use caseledger_domain::act::{
    Act, AssessmentItem, CaseId, Channel, ContactMethod, Finding, MediationOutcome, PenalisedParty,
    Quarter, Rating, RecordedAct,
};
use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::case::{self, CaseCommand, CaseState, CaseStatus};
use caseledger_domain::context::{Context, Rules};
use caseledger_domain::deadline::Severity;
use caseledger_domain::firm::{self, FirmCommand, FirmContext, FirmState};
use caseledger_domain::ids::{Category, UnitId, Uscc};
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, Grade, ResponsibilityMatrix};
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::registry::{Registry, UnitKind};
use caseledger_domain::seal::{seal, MemoryKeyStore, PersonalData, Sealed};
use caseledger_domain::Source;
use caseledger_record::{record_hash, Actor, Hash, Record, RECORD_FORMAT};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// The shipped county data, as the service loads it.
pub fn rules() -> Rules {
    let source = |name: &'static str, text: &'static str| Source { name, text };
    let registry = Registry::from_sources(&[
        source(
            "county.toml",
            include_str!("../../../ops/registry/county.toml"),
        ),
        source(
            "townships.toml",
            include_str!("../../../ops/registry/townships.toml"),
        ),
        source(
            "communities.toml",
            include_str!("../../../ops/registry/communities.toml"),
        ),
        source(
            "compounds.toml",
            include_str!("../../../ops/registry/compounds.toml"),
        ),
        source(
            "firms.toml",
            include_str!("../../../ops/registry/firms.toml"),
        ),
    ])
    .expect("shipped registry loads");
    let matrix = ResponsibilityMatrix::from_source(
        &source(
            "matrix.toml",
            include_str!("../../../ops/policy/matrix.toml"),
        ),
        &registry,
    )
    .expect("shipped matrix loads");
    let deadlines = DeadlinePolicy::from_source(&source(
        "deadlines.toml",
        include_str!("../../../ops/policy/deadlines.toml"),
    ))
    .expect("shipped deadline policy loads");
    let credit = CreditPolicy::from_source(&source(
        "credit.toml",
        include_str!("../../../ops/policy/credit.toml"),
    ))
    .expect("shipped credit policy loads");
    let calendar = WorkCalendar::from_sources(&[
        source("2026.toml", include_str!("../../../ops/calendar/2026.toml")),
        source("2027.toml", include_str!("../../../ops/calendar/2027.toml")),
    ])
    .expect("shipped calendar loads");
    Rules {
        registry,
        matrix,
        deadlines,
        credit,
        calendar,
    }
}

/// An instant given in China Standard Time.
pub fn cst(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .expect("valid offset")
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .expect("valid CST time")
        .with_timezone(&Utc)
}

/// A complainant's sealed data, sealed once per process so that histories are repeatable.
pub fn sealed() -> Sealed {
    static SEALED: std::sync::OnceLock<Sealed> = std::sync::OnceLock::new();
    SEALED
        .get_or_init(|| {
            let mut keys = MemoryKeyStore::default();
            let data = PersonalData {
                name: Some("张三".into()),
                phone: Some("13800000000".into()),
                address: Some("3栋".into()),
            };
            seal(&data, "case/test", &mut keys).expect("sealing works")
        })
        .clone()
}

/// The role a unit acts in.
pub fn role_of(rules: &Rules, unit: &UnitId) -> Role {
    match rules.registry.kind_of(unit) {
        Some(UnitKind::Office) => Role::Office,
        Some(UnitKind::Township) => Role::Township,
        Some(UnitKind::Community) => Role::Community,
        Some(UnitKind::Intake) => Role::Intake,
        _ => Role::Department,
    }
}

/// A principal acting for `unit` in its natural role.
pub fn acting(rules: &Rules, unit: &str) -> Principal {
    let unit: UnitId = unit.parse().expect("valid unit id");
    Principal::new(role_of(rules, &unit), unit)
}

/// One act as decided, with who decided it and when.
#[derive(Clone, Debug)]
pub struct Step {
    /// When it was decided (and recorded).
    pub at: DateTime<Utc>,
    /// Who.
    pub principal: Principal,
    /// The act.
    pub act: Act,
}

/// A small deterministic generator (xorshift64*), so a seed gives one history.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct SimCase {
    state: CaseState,
}

/// How a simulation runs.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// First instant.
    pub start: DateTime<Utc>,
    /// Most seconds between two steps.
    pub step_seconds_max: i64,
    /// Cases open at once, roughly.
    pub open_cases: usize,
    /// Percent of cases about a firm.
    pub firm_percent: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            start: cst(2026, 1, 5, 9, 0),
            step_seconds_max: 3_600,
            open_cases: 20,
            firm_percent: 60,
        }
    }
}

/// Generates valid histories through the domain's `decide`.
pub struct Sim<'r> {
    pub rules: &'r Rules,
    pub rng: Rng,
    pub now: DateTime<Utc>,
    pub steps: Vec<Step>,
    options: SimOptions,
    cases: BTreeMap<CaseId, SimCase>,
    open: Vec<CaseId>,
    firms: BTreeMap<Uscc, (FirmState, Vec<RecordedAct>)>,
    compounds: Vec<UnitId>,
    categories: Vec<Category>,
    firm_ids: Vec<Uscc>,
    quarter: Quarter,
    next_case: u128,
}

impl<'r> Sim<'r> {
    pub fn new(rules: &'r Rules, seed: u64, options: SimOptions) -> Sim<'r> {
        let compounds = rules
            .registry
            .of_kind(UnitKind::Compound)
            .into_iter()
            .map(|unit| unit.id.clone())
            .collect();
        let categories = rules
            .matrix
            .categories()
            .map(|rule| rule.category.clone())
            .collect();
        let firm_ids = rules
            .registry
            .firms()
            .filter_map(|unit| unit.uscc.clone())
            .collect();
        Sim {
            rules,
            rng: Rng::new(seed),
            now: options.start,
            quarter: Quarter::of_instant(options.start),
            steps: Vec::new(),
            options,
            cases: BTreeMap::new(),
            open: Vec::new(),
            firms: BTreeMap::new(),
            compounds,
            categories,
            firm_ids,
            next_case: u128::from(seed) << 64,
        }
    }

    /// The position the next act will have.
    fn next_position(&self) -> u64 {
        self.steps.len() as u64 + 1
    }

    fn record(&mut self, principal: &Principal, acts: Vec<Act>) {
        for act in acts {
            let position = self.next_position();
            if let Some(case_id) = act.case_id() {
                let case = self.cases.get_mut(&case_id).expect("simulated case");
                case.state = case::evolve(std::mem::take(&mut case.state), &act);
                let about = case.state.firm.clone();
                if let Some(firm) = &about {
                    self.firm_record(firm, position, &act);
                }
                if let Act::PenaltyImposed(penalty) = &act {
                    if let PenalisedParty::Firm(firm) = &penalty.party {
                        if about.as_ref() != Some(firm) {
                            self.firm_record(firm, position, &act);
                        }
                    }
                }
            } else if let caseledger_domain::act::StreamId::Firm(uscc) = act.stream() {
                let entry = self.firms.entry(uscc.clone()).or_default();
                entry.0 = firm::evolve(std::mem::take(&mut entry.0), &act);
                self.firm_record(&uscc, position, &act);
            }
            self.steps.push(Step {
                at: self.now,
                principal: principal.clone(),
                act,
            });
        }
    }

    fn firm_record(&mut self, uscc: &Uscc, position: u64, act: &Act) {
        let entry = self.firms.entry(uscc.clone()).or_default();
        entry.1.push(RecordedAct {
            position,
            event_id: uuid::Uuid::from_u128(u128::from(position)),
            recorded_at: self.now,
            act: act.clone(),
        });
    }

    /// Tries a case command by each principal in turn; records the first accepted.
    pub fn case_command(
        &mut self,
        case_id: CaseId,
        principals: &[Principal],
        command: CaseCommand,
    ) -> bool {
        for principal in principals {
            let context = Context::new(self.rules, self.now, principal.clone());
            let state = &self.cases[&case_id].state;
            if let Ok(acts) = case::decide(state, &command, &context) {
                self.record(principal, acts);
                return true;
            }
        }
        false
    }

    /// Tries a firm command by `principal`; records it when accepted.
    pub fn firm_command(
        &mut self,
        uscc: &Uscc,
        principal: &Principal,
        command: FirmCommand,
    ) -> bool {
        match self.decide_firm(uscc, principal, &command) {
            Ok(acts) => {
                self.record(principal, acts);
                true
            }
            Err(_) => false,
        }
    }

    /// Runs a case command by one principal; the rejection's text when refused.
    pub fn case_command_explained(
        &mut self,
        case_id: CaseId,
        principal: &Principal,
        command: CaseCommand,
    ) -> Result<(), String> {
        let context = Context::new(self.rules, self.now, principal.clone());
        let state = &self
            .cases
            .get(&case_id)
            .ok_or_else(|| format!("case {case_id} was never filed"))?
            .state;
        let acts = case::decide(state, &command, &context).map_err(|why| why.to_string())?;
        self.record(principal, acts);
        Ok(())
    }

    /// Files a complaint with a given command (its case id already set).
    pub fn file_command(
        &mut self,
        case_id: CaseId,
        principal: &Principal,
        command: CaseCommand,
    ) -> Result<(), String> {
        self.cases.insert(
            case_id,
            SimCase {
                state: CaseState::default(),
            },
        );
        let result = self.case_command_explained(case_id, principal, command);
        if result.is_ok() {
            self.open.push(case_id);
        }
        result
    }

    /// Runs a firm command; the rejection's text when refused.
    pub fn firm_command_explained(
        &mut self,
        uscc: &Uscc,
        principal: &Principal,
        command: FirmCommand,
    ) -> Result<(), String> {
        let acts = self
            .decide_firm(uscc, principal, &command)
            .map_err(|why| why.to_string())?;
        self.record(principal, acts);
        Ok(())
    }

    /// The domain's decision on a firm command, over the firm's history as it stands (borrowed:
    /// a copy of a firm's whole history for every command made a 10,000,000-act simulation
    /// quadratic).
    fn decide_firm(
        &mut self,
        uscc: &Uscc,
        principal: &Principal,
        command: &FirmCommand,
    ) -> Result<Vec<Act>, caseledger_domain::rejection::Rejection> {
        let context = Context::new(self.rules, self.now, principal.clone());
        let (state, records) = self.firms.entry(uscc.clone()).or_default();
        let firm_context = FirmContext {
            context: &context,
            records,
        };
        firm::decide(state, command, &firm_context)
    }

    /// Files a complaint; returns its case id when the domain accepted it.
    pub fn file(
        &mut self,
        compound: &UnitId,
        category: &Category,
        severity: Severity,
        firm: Option<Uscc>,
    ) -> Option<CaseId> {
        self.next_case += 1;
        let case_id = CaseId(uuid::Uuid::from_u128(self.next_case));
        self.cases.insert(
            case_id,
            SimCase {
                state: CaseState::default(),
            },
        );
        let command = CaseCommand::FileComplaint(case::FileComplaint {
            case_id,
            channel: Channel::Hotline12345,
            compound: compound.clone(),
            category: category.clone(),
            severity,
            firm,
            summary: "模拟投诉 simulated complaint".into(),
            complainant: sealed(),
        });
        let hotline = acting(self.rules, "12345");
        if self.case_command(case_id, &[hotline], command) {
            self.open.push(case_id);
            Some(case_id)
        } else {
            self.cases.remove(&case_id);
            None
        }
    }

    /// Registers every firm and files contracts for a few compounds each.
    pub fn register_firms(&mut self) {
        let housing = acting(self.rules, "housing");
        for (index, uscc) in self.firm_ids.clone().iter().enumerate() {
            self.firm_command(
                uscc,
                &housing,
                FirmCommand::RegisterFirm(firm::RegisterFirm {
                    firm: uscc.clone(),
                    name: format!("firm {index}"),
                }),
            );
            for offset in 0..3 {
                let compound = self.compounds[(index * 3 + offset) % self.compounds.len()].clone();
                let starts_on = caseledger_domain::deadline::cst_date(self.now);
                self.firm_command(
                    uscc,
                    &housing,
                    FirmCommand::FileContract(firm::FileContract {
                        compound,
                        contract_no: format!("C-{index}-{offset}"),
                        starts_on,
                        ends_on: starts_on + Duration::days(3 * 365),
                    }),
                );
            }
        }
    }

    /// The quarterly round for `quarter`: each hosting community assesses, each township
    /// aggregates, housing publishes the grade the domain computes.
    pub fn quarterly(&mut self, quarter: Quarter) {
        let housing = acting(self.rules, "housing");
        for uscc in self.firm_ids.clone() {
            let Some(state) = self.firms.get(&uscc).map(|(state, _)| state.clone()) else {
                continue;
            };
            let mut communities = Vec::new();
            let mut townships = Vec::new();
            for compound in state.contracts.keys() {
                if let Some(community) = self.rules.registry.community_of(compound) {
                    if !communities.contains(community) {
                        communities.push(community.clone());
                    }
                }
                if let Some(township) = self.rules.registry.township_of(compound) {
                    if !townships.contains(township) {
                        townships.push(township.clone());
                    }
                }
            }
            for community in communities {
                let score = 55 + self.rng.below(46) as u32;
                let principal = Principal::new(Role::Community, community);
                self.firm_command(
                    &uscc,
                    &principal,
                    FirmCommand::SubmitAssessment(firm::SubmitAssessment {
                        quarter,
                        items: vec![
                            AssessmentItem {
                                item: "保洁".into(),
                                score,
                            },
                            AssessmentItem {
                                item: "安全管理".into(),
                                score: (score + 5).min(100),
                            },
                        ],
                    }),
                );
            }
            for township in townships {
                let principal = Principal::new(Role::Township, township);
                self.firm_command(
                    &uscc,
                    &principal,
                    FirmCommand::AggregateAssessments(firm::AggregateAssessments { quarter }),
                );
            }
            for grade in [Grade::A, Grade::B, Grade::C, Grade::D] {
                if self.firm_command(
                    &uscc,
                    &housing,
                    FirmCommand::PublishGrade(firm::PublishGrade { quarter, grade }),
                ) {
                    break;
                }
            }
            let reason = "季度评定 quarterly review".to_string();
            self.firm_command(
                &uscc,
                &housing,
                FirmCommand::ListBlack(firm::ListBlack {
                    reason: reason.clone(),
                }),
            );
            self.firm_command(
                &uscc,
                &housing,
                FirmCommand::ListRed(firm::ListRed {
                    reason: reason.clone(),
                }),
            );
            for list in [
                caseledger_domain::act::ListKind::Red,
                caseledger_domain::act::ListKind::Black,
            ] {
                self.firm_command(
                    &uscc,
                    &housing,
                    FirmCommand::Delist(firm::Delist {
                        list,
                        reason: reason.clone(),
                    }),
                );
            }
            if self.rng.chance(10) {
                self.firm_command(
                    &uscc,
                    &housing,
                    FirmCommand::CommendFirm(firm::CommendFirm {
                        reason: "表彰 commended".into(),
                    }),
                );
            }
        }
    }

    fn principals_for(&self, case_id: CaseId) -> Vec<Principal> {
        let state = &self.cases[&case_id].state;
        let mut principals = Vec::new();
        let mut add = |unit: Option<&UnitId>| {
            if let Some(unit) = unit {
                let principal = Principal::new(role_of(self.rules, unit), unit.clone());
                if !principals.contains(&principal) {
                    principals.push(principal);
                }
            }
        };
        add(state.assignee.as_ref());
        add(state.dispatcher.as_ref());
        add(state.township.as_ref());
        add(state.community.as_ref());
        add(Some(&"office".parse().expect("office")));
        add(Some(&"12345".parse().expect("12345")));
        principals
    }

    fn targets_for(&self, case_id: CaseId) -> Vec<UnitId> {
        let state = &self.cases[&case_id].state;
        let mut targets: Vec<UnitId> = Vec::new();
        if let Some(township) = &state.township {
            targets.push(township.clone());
        }
        if let Some(community) = &state.community {
            targets.push(community.clone());
        }
        if let Some(rule) = state
            .category
            .as_ref()
            .and_then(|category| self.rules.matrix.category(category))
        {
            for body in &rule.handlers {
                if let Some(unit) = body.resolve(&self.rules.registry, state.compound.as_ref()) {
                    if !targets.contains(&unit) {
                        targets.push(unit);
                    }
                }
            }
        }
        targets
    }

    fn enforcers_for(&self, case_id: CaseId) -> Vec<Principal> {
        let state = &self.cases[&case_id].state;
        state
            .category
            .as_ref()
            .and_then(|category| self.rules.matrix.category(category))
            .map(|rule| {
                rule.enforcement
                    .iter()
                    .map(|unit| Principal::new(Role::Department, unit.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Takes one plausible next step on a case; false when nothing was accepted.
    pub fn advance(&mut self, case_id: CaseId) -> bool {
        let status = self.cases[&case_id].state.status;
        let principals = self.principals_for(case_id);
        let roll = self.rng.below(100);
        let text = |words: &str| words.to_string();
        let attempt: Vec<CaseCommand> = match status {
            CaseStatus::Filed | CaseStatus::Returned => {
                let targets = self.targets_for(case_id);
                let mut commands: Vec<CaseCommand> = Vec::new();
                if roll < 4 {
                    commands.push(CaseCommand::WithdrawCase(case::WithdrawCase {
                        reason: text("投诉人撤回 withdrawn"),
                    }));
                }
                if roll < 8 {
                    if let Some(into) = self.open.iter().find(|other| **other != case_id) {
                        commands.push(CaseCommand::MergeCase(case::MergeCase {
                            into: *into,
                            reason: text("重复投诉 duplicate"),
                        }));
                    }
                }
                let start = self.rng.below(targets.len().max(1) as u64) as usize;
                for index in 0..targets.len() {
                    commands.push(CaseCommand::DispatchCase(case::DispatchCase {
                        to: targets[(start + index) % targets.len()].clone(),
                        note: String::new(),
                    }));
                }
                commands
            }
            CaseStatus::Dispatched => {
                if roll < 10 {
                    vec![CaseCommand::ReturnCase(case::ReturnCase {
                        reason: text("不属于本单位职责 not ours"),
                    })]
                } else if roll < 14 {
                    vec![CaseCommand::IssueSupervision(case::IssueSupervision {
                        reason: text("督办 supervise"),
                    })]
                } else {
                    vec![CaseCommand::AcceptCase(case::AcceptCase {})]
                }
            }
            CaseStatus::Accepted | CaseStatus::InProgress | CaseStatus::Reopened => {
                let state = &self.cases[&case_id].state;
                let mut commands = Vec::new();
                if !state.contacted && roll < 70 {
                    commands.push(CaseCommand::ContactComplainant(case::ContactComplainant {
                        method: ContactMethod::Phone,
                        note: String::new(),
                    }));
                }
                match roll % 10 {
                    0 => commands.push(CaseCommand::RecordInspection(case::RecordInspection {
                        findings: text("现场核查 inspected"),
                        substantiated: roll.is_multiple_of(3),
                        severe_violation: None,
                    })),
                    1 => commands.push(CaseCommand::GrantExtension(case::GrantExtension {
                        working_days: 5,
                        reason: text("情况复杂 complex"),
                    })),
                    2 => {
                        if let Some(firm) = state.firm.clone() {
                            let enforcers = self.enforcers_for(case_id);
                            let fine = 100_000 * (1 + self.rng.below(20));
                            let command = CaseCommand::ImposePenalty(case::ImposePenalty {
                                party: PenalisedParty::Firm(firm),
                                legal_basis: text("《物业管理条例》第五十九条"),
                                decision_no: format!("罚{}", self.steps.len()),
                                fine_fen: fine,
                            });
                            self.case_command(case_id, &enforcers, command);
                        }
                    }
                    3 => commands.push(CaseCommand::RecordMediation(case::RecordMediation {
                        parties: vec![text("业主"), text("物业企业")],
                        outcome: *self.rng.pick(&[
                            MediationOutcome::Agreed,
                            MediationOutcome::PartlyAgreed,
                            MediationOutcome::Failed,
                        ]),
                        note: String::new(),
                    })),
                    4 => {
                        let departments = self
                            .targets_for(case_id)
                            .into_iter()
                            .filter(|unit| {
                                self.rules.registry.kind_of(unit) == Some(UnitKind::Department)
                            })
                            .collect::<Vec<_>>();
                        if let Some(to) = departments.first() {
                            commands.push(CaseCommand::TransferCase(case::TransferCase {
                                to: to.clone(),
                                reason: text("移送主管部门 transfer"),
                            }));
                        }
                    }
                    5 => commands.push(CaseCommand::IssueSupervision(case::IssueSupervision {
                        reason: text("督办 supervise"),
                    })),
                    6 => commands.push(CaseCommand::OrderRectification(case::OrderRectification {
                        requirement: text("限期整改 rectify"),
                        working_days: 3,
                    })),
                    7 => {
                        if let Some(order) = state.rectifications.keys().next_back() {
                            commands.push(CaseCommand::VerifyRectification(
                                case::VerifyRectification {
                                    order: *order,
                                    passed: !roll.is_multiple_of(3),
                                    note: String::new(),
                                },
                            ));
                        }
                    }
                    8 => {
                        let departments = self
                            .targets_for(case_id)
                            .into_iter()
                            .filter(|unit| {
                                self.rules.registry.kind_of(unit) == Some(UnitKind::Department)
                            })
                            .collect::<Vec<_>>();
                        commands.push(CaseCommand::RecordJointEnforcement(
                            case::RecordJointEnforcement {
                                departments,
                                targets: text("违规搭建 illegal structures"),
                                findings: text("已拆除 removed"),
                            },
                        ));
                    }
                    _ => {}
                }
                if roll >= 40 {
                    commands.push(CaseCommand::ResolveCase(case::ResolveCase {
                        summary: text("已处理 handled"),
                        finding: *self.rng.pick(&[
                            Finding::Substantiated,
                            Finding::PartlySubstantiated,
                            Finding::NotSubstantiated,
                        ]),
                    }));
                }
                commands
            }
            CaseStatus::Resolved => {
                let state = &self.cases[&case_id].state;
                if let Some(feedback) = &state.feedback {
                    if feedback.rating == Rating::Dissatisfied && roll < 60 {
                        vec![CaseCommand::ReopenCase(case::ReopenCase {
                            reason: text("不满意有理 reasonable"),
                        })]
                    } else {
                        vec![CaseCommand::CloseCase(case::CloseCase {})]
                    }
                } else if roll < 90 {
                    let rating = *self.rng.pick(&[
                        Rating::Satisfied,
                        Rating::Satisfied,
                        Rating::BasicallySatisfied,
                        Rating::Dissatisfied,
                    ]);
                    vec![CaseCommand::RecordFeedback(case::RecordFeedback {
                        rating,
                        resolved: rating != Rating::Dissatisfied,
                        note: String::new(),
                    })]
                } else {
                    vec![CaseCommand::CloseCase(case::CloseCase {})]
                }
            }
            _ => Vec::new(),
        };
        for command in attempt {
            if self.case_command(case_id, &principals, command) {
                return true;
            }
        }
        false
    }

    /// Runs until `records` acts exist: files, advances and closes cases, and runs the
    /// firms' quarterly rounds as quarters pass.
    pub fn run(&mut self, records: usize) {
        if self.firms.is_empty() {
            self.register_firms();
        }
        while self.steps.len() < records {
            let seconds = 1 + self.rng.below(self.options.step_seconds_max as u64) as i64;
            self.now += Duration::seconds(seconds);
            let quarter = Quarter::of_instant(self.now);
            if quarter != self.quarter {
                let ended = self.quarter;
                self.quarter = quarter;
                self.quarterly(ended);
            }
            if self.open.len() < self.options.open_cases || self.rng.chance(5) {
                let compound = self.rng.pick(&self.compounds).clone();
                let category = self.rng.pick(&self.categories).clone();
                let severity = if self.rng.chance(20) {
                    Severity::Complex
                } else {
                    Severity::General
                };
                let firm = if self.rng.chance(self.options.firm_percent) {
                    Some(self.rng.pick(&self.firm_ids).clone())
                } else {
                    None
                };
                self.file(&compound, &category, severity, firm);
                continue;
            }
            let index = self.rng.below(self.open.len() as u64) as usize;
            let case_id = self.open[index];
            self.advance(case_id);
            let status = self.cases[&case_id].state.status;
            if matches!(
                status,
                CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Withdrawn
            ) {
                self.open.swap_remove(index);
            }
        }
    }
}

/// The steps as log records, chained, positions from 1, recorded at their decision time.
pub fn to_records(steps: &[Step]) -> Vec<Record> {
    let mut prev = caseledger_record::genesis_hash("caseledger.test/projections");
    let mut records = Vec::with_capacity(steps.len());
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    for (index, step) in steps.iter().enumerate() {
        let stream = step.act.stream().to_string();
        let version = versions.entry(stream.clone()).or_insert(0);
        *version += 1;
        let record = Record {
            format: RECORD_FORMAT,
            position: index as u64 + 1,
            prev_hash: prev,
            recorded_at_us: step.at.timestamp_micros(),
            stream,
            stream_version: *version,
            event_id: *uuid::Uuid::from_u128(index as u128 + 1).as_bytes(),
            actor: Actor {
                role: step.principal.role.as_str().to_string(),
                unit: step.principal.unit.to_string(),
                user: "sim".into(),
            },
            kind: step.act.kind().to_string(),
            schema_version: step.act.schema_version(),
            payload: step.act.encode_payload(),
        };
        prev = record_hash(&record.encode());
        records.push(record);
    }
    records
}

/// Appends the steps to a ledger, in batches, with the stream versions they imply.
pub fn append_all(ledger: &caseledger_log::Ledger, steps: &[Step], batch: usize) {
    let mut versions: BTreeMap<String, u64> = BTreeMap::new();
    for (chunk_index, chunk) in steps.chunks(batch.max(1)).enumerate() {
        let mut requests = Vec::with_capacity(chunk.len());
        for (index, step) in chunk.iter().enumerate() {
            let stream = step.act.stream().to_string();
            let version = versions.entry(stream.clone()).or_insert(0);
            requests.push(caseledger_log::AppendRequest {
                stream,
                expected_version: *version,
                event_id: uuid::Uuid::from_u128(((chunk_index * batch + index) as u128) + 1),
                actor: Actor {
                    role: step.principal.role.as_str().to_string(),
                    unit: step.principal.unit.to_string(),
                    user: "sim".into(),
                },
                kind: step.act.kind().to_string(),
                schema_version: step.act.schema_version(),
                payload: step.act.encode_payload(),
            });
            *version += 1;
        }
        ledger
            .append_many_blocking(requests)
            .expect("simulated acts append");
    }
}

/// A source of records that is a plain list, for folding without a log.
pub fn genesis() -> Hash {
    caseledger_record::genesis_hash("caseledger.test/projections")
}

/// Every projection's name with every key and value of its active tree.
pub type Dump = Vec<(String, Vec<caseledger_projections::store::Pair>)>;

/// The names of every projection tree that is active, with every key and value.
pub fn dump_all(store: &Arc<dyn caseledger_projections::KvStore>) -> Dump {
    let reader = caseledger_projections::Reader::new(store.clone()).expect("reader");
    caseledger_projections::NAMES
        .iter()
        .map(|name| {
            let tree = reader.tree(name).expect("built");
            (
                name.to_string(),
                caseledger_projections::store::dump(tree.as_ref()).expect("dump"),
            )
        })
        .collect()
}
