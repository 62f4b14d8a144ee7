//! Shared fixtures: the shipped ops/ data, principals, times, and the given / when / then
//! helper over `decide` and `evolve`.
#![allow(dead_code)]

use caseledger_domain::act::{Act, CaseId, RecordedAct};
use caseledger_domain::calendar::WorkCalendar;
use caseledger_domain::case::{self, CaseCommand, CaseState};
use caseledger_domain::context::{Context, Rules};
use caseledger_domain::firm::{self, FirmCommand, FirmContext, FirmState};
use caseledger_domain::policy::{CreditPolicy, DeadlinePolicy, ResponsibilityMatrix};
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::registry::Registry;
use caseledger_domain::rejection::{Rejection, RejectionCode};
use caseledger_domain::seal::{seal, MemoryKeyStore, PersonalData, Sealed};
use caseledger_domain::Source;
use chrono::{DateTime, TimeZone, Utc};

/// The shipped county data, as the service would load it.
pub fn rules() -> Rules {
    let registry = Registry::from_sources(&[
        Source {
            name: "county.toml",
            text: include_str!("../../../../ops/registry/county.toml"),
        },
        Source {
            name: "townships.toml",
            text: include_str!("../../../../ops/registry/townships.toml"),
        },
        Source {
            name: "communities.toml",
            text: include_str!("../../../../ops/registry/communities.toml"),
        },
        Source {
            name: "compounds.toml",
            text: include_str!("../../../../ops/registry/compounds.toml"),
        },
        Source {
            name: "firms.toml",
            text: include_str!("../../../../ops/registry/firms.toml"),
        },
    ])
    .expect("shipped registry loads");
    let matrix = ResponsibilityMatrix::from_source(
        &Source {
            name: "matrix.toml",
            text: include_str!("../../../../ops/policy/matrix.toml"),
        },
        &registry,
    )
    .expect("shipped matrix loads");
    let deadlines = DeadlinePolicy::from_source(&Source {
        name: "deadlines.toml",
        text: include_str!("../../../../ops/policy/deadlines.toml"),
    })
    .expect("shipped deadline policy loads");
    let credit = CreditPolicy::from_source(&Source {
        name: "credit.toml",
        text: include_str!("../../../../ops/policy/credit.toml"),
    })
    .expect("shipped credit policy loads");
    let calendar = WorkCalendar::from_sources(&[
        Source {
            name: "2026.toml",
            text: include_str!("../../../../ops/calendar/2026.toml"),
        },
        Source {
            name: "2027.toml",
            text: include_str!("../../../../ops/calendar/2027.toml"),
        },
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

pub fn principal(role: Role, unit: &str) -> Principal {
    Principal::new(role, unit.parse().expect("valid unit id"))
}

pub fn office() -> Principal {
    principal(Role::Office, "office")
}
pub fn housing() -> Principal {
    principal(Role::Department, "housing")
}
pub fn petitions() -> Principal {
    principal(Role::Department, "petitions")
}
pub fn urban() -> Principal {
    principal(Role::Department, "urban-management")
}
pub fn market() -> Principal {
    principal(Role::Department, "market-supervision")
}
pub fn hotline() -> Principal {
    principal(Role::Intake, "12345")
}
pub fn dongping() -> Principal {
    principal(Role::Township, "township/dongping")
}
pub fn qingtangpu() -> Principal {
    principal(Role::Township, "township/qingtangpu")
}
pub fn heping() -> Principal {
    principal(Role::Community, "community/dongping/heping")
}
pub fn xinjie() -> Principal {
    principal(Role::Community, "community/dongping/xinjie")
}
pub fn court() -> Principal {
    principal(Role::Court, "court")
}
pub fn public() -> Principal {
    principal(Role::Public, "public")
}

/// 兰亭苑, in 和平社区, 东坪镇.
pub const COMPOUND: &str = "compound/dongping/lanting-11";
pub const COMMUNITY: &str = "community/dongping/heping";
pub const TOWNSHIP: &str = "township/dongping";
/// A sample firm of the shipped registry.
pub const FIRM: &str = "91430923MA4L123461";
pub const OTHER_FIRM: &str = "91430923MA4L91531J";

pub fn case_id() -> CaseId {
    CaseId(uuid::Uuid::from_u128(
        0x2026_0302_0000_0000_0000_0000_0000_0001,
    ))
}

/// An instant given in China Standard Time.
pub fn cst(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Monday 2 March 2026, 10:00 CST: an ordinary working week.
pub fn monday() -> DateTime<Utc> {
    cst(2026, 3, 2, 10, 0)
}

/// The complainant's sealed data, sealed once per test process so that every history holds
/// the same bytes.
pub fn sealed() -> Sealed {
    static SEALED: std::sync::OnceLock<Sealed> = std::sync::OnceLock::new();
    SEALED.get_or_init(seal_once).clone()
}

fn seal_once() -> Sealed {
    let mut keys = MemoryKeyStore::default();
    let data = PersonalData {
        name: Some("张三".into()),
        phone: Some("13800000000".into()),
        address: Some("兰亭苑3栋".into()),
    };
    seal(&data, &format!("case/{}", case_id()), &mut keys).expect("sealing works")
}

/// Runs commands in order against one case, each by its principal at its time, and returns
/// every act. Panics on a rejection: a `given` history must be valid.
pub fn history(rules: &Rules, steps: &[(Principal, DateTime<Utc>, CaseCommand)]) -> Vec<Act> {
    let mut state = CaseState::default();
    let mut acts = Vec::new();
    for (principal, now, command) in steps {
        let context = Context::new(rules, *now, principal.clone());
        let produced = case::decide(&state, command, &context).unwrap_or_else(|rejection| {
            panic!("given step {} rejected: {rejection}", command.name())
        });
        for act in produced {
            state = case::evolve(state, &act);
            acts.push(act);
        }
    }
    acts
}

/// given(acts).by(principal).at(now).when(command).then(acts) / .then_err(code)
pub struct Given<'r> {
    rules: &'r Rules,
    acts: Vec<Act>,
    principal: Principal,
    now: DateTime<Utc>,
}

pub fn given(rules: &Rules, acts: Vec<Act>) -> Given<'_> {
    Given {
        rules,
        acts,
        principal: office(),
        now: monday(),
    }
}

impl<'r> Given<'r> {
    pub fn by(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn when(self, command: CaseCommand) -> When {
        let state = CaseState::replay(&self.acts);
        let context = Context::new(self.rules, self.now, self.principal);
        let result = case::decide(&state, &command, &context);
        When {
            name: command.name(),
            state,
            result,
        }
    }
}

pub struct When {
    name: &'static str,
    pub state: CaseState,
    pub result: Result<Vec<Act>, Rejection>,
}

impl When {
    /// The acts produced, exactly.
    pub fn then(self, expected: Vec<Act>) -> CaseState {
        let acts = self
            .result
            .unwrap_or_else(|rejection| panic!("{} rejected: {rejection}", self.name));
        assert_eq!(acts, expected, "{} produced other acts", self.name);
        acts.iter().fold(self.state, case::evolve)
    }

    /// The kinds of the acts produced; returns the acts and the state after them.
    pub fn then_kinds(self, kinds: &[&str]) -> (Vec<Act>, CaseState) {
        let acts = self
            .result
            .unwrap_or_else(|rejection| panic!("{} rejected: {rejection}", self.name));
        let produced: Vec<&str> = acts.iter().map(Act::kind).collect();
        assert_eq!(produced, kinds, "{} produced other acts", self.name);
        let state = acts.iter().fold(self.state, case::evolve);
        (acts, state)
    }

    /// Rejected with this code; the messages are non-empty in both languages.
    pub fn then_err(self, code: RejectionCode) -> Rejection {
        match self.result {
            Ok(acts) => panic!(
                "{} was allowed ({:?}), expected {code}",
                self.name,
                acts.iter().map(Act::kind).collect::<Vec<_>>()
            ),
            Err(rejection) => {
                assert_eq!(
                    rejection.code, code,
                    "{} rejected for another reason: {rejection}",
                    self.name
                );
                assert!(!rejection.zh.is_empty() && !rejection.en.is_empty());
                rejection
            }
        }
    }
}

/// Firm-side given / when / then: the firm's recorded acts (with positions) and the case
/// acts about it.
pub struct GivenFirm<'r> {
    pub rules: &'r Rules,
    pub records: Vec<RecordedAct>,
    pub principal: Principal,
    pub now: DateTime<Utc>,
}

pub fn given_firm(rules: &Rules, records: Vec<RecordedAct>) -> GivenFirm<'_> {
    GivenFirm {
        rules,
        records,
        principal: housing(),
        now: monday(),
    }
}

impl<'r> GivenFirm<'r> {
    pub fn by(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub fn when(self, command: FirmCommand) -> When {
        let state = FirmState::replay(self.records.iter().map(|record| &record.act));
        let context = Context::new(self.rules, self.now, self.principal);
        let firm_context = FirmContext {
            context: &context,
            records: &self.records,
        };
        let result = firm::decide(&state, &command, &firm_context);
        When {
            name: command.name(),
            state: CaseState::default(),
            result,
        }
    }
}

/// Numbers acts as records from position `first`, one minute apart from `start`.
pub fn recorded(acts: Vec<(DateTime<Utc>, Act)>, first: u64) -> Vec<RecordedAct> {
    acts.into_iter()
        .enumerate()
        .map(|(index, (recorded_at, act))| RecordedAct {
            position: first + index as u64,
            event_id: uuid::Uuid::from_u128(u128::from(first + index as u64)),
            recorded_at,
            act,
        })
        .collect()
}

pub type Step = (Principal, DateTime<Utc>, CaseCommand);

/// Runs steps against one case and returns each act with the principal and time that made it.
pub fn acts_with_actors(rules: &Rules, steps: Vec<Step>) -> Vec<(Principal, DateTime<Utc>, Act)> {
    let mut state = CaseState::default();
    let mut out = Vec::new();
    for (principal, now, command) in steps {
        let context = Context::new(rules, now, principal.clone());
        let produced = case::decide(&state, &command, &context)
            .unwrap_or_else(|rejection| panic!("step {} rejected: {rejection}", command.name()));
        for act in produced {
            state = case::evolve(state, &act);
            out.push((principal.clone(), now, act));
        }
    }
    out
}

/// A whole case lifecycle through every stage: filed, dispatched, returned, dispatched again,
/// accepted, contacted, inspected, rectification ordered and verified, joint enforcement,
/// extension, supervision, passed on to the community, mediated, resolved, rated
/// dissatisfied, reopened, resolved again, rated satisfied and closed, personal data erased.
pub fn full_lifecycle(rules: &Rules) -> Vec<(Principal, DateTime<Utc>, Act)> {
    use caseledger_domain::act::*;
    use caseledger_domain::case::*;
    let t = |hours: i64| monday() + chrono::Duration::hours(hours);
    let unit = |text: &str| -> caseledger_domain::ids::UnitId { text.parse().unwrap() };
    let steps: Vec<Step> = vec![
        (
            hotline(),
            t(0),
            CaseCommand::FileComplaint(FileComplaint {
                case_id: case_id(),
                channel: Channel::Hotline12345,
                compound: unit(COMPOUND),
                category: "service-quality".parse().unwrap(),
                severity: caseledger_domain::deadline::Severity::General,
                firm: Some(FIRM.parse().unwrap()),
                summary: "物业以停水方式催缴物业费".into(),
                complainant: sealed(),
            }),
        ),
        (
            housing(),
            t(1),
            CaseCommand::DispatchCase(DispatchCase {
                to: unit(TOWNSHIP),
                note: "请核实".into(),
            }),
        ),
        (
            dongping(),
            t(2),
            CaseCommand::ReturnCase(ReturnCase {
                reason: "请补充小区楼栋信息".into(),
            }),
        ),
        (
            housing(),
            t(3),
            CaseCommand::DispatchCase(DispatchCase {
                to: unit(TOWNSHIP),
                note: "已补充".into(),
            }),
        ),
        (dongping(), t(4), CaseCommand::AcceptCase(AcceptCase {})),
        (
            dongping(),
            t(5),
            CaseCommand::ContactComplainant(ContactComplainant {
                method: ContactMethod::Phone,
                note: "已联系".into(),
            }),
        ),
        (
            dongping(),
            t(6),
            CaseCommand::RecordInspection(RecordInspection {
                findings: "确有停水".into(),
                substantiated: true,
                severe_violation: Some(SevereViolation::IllegalUtilityCut),
            }),
        ),
        (
            dongping(),
            t(7),
            CaseCommand::OrderRectification(OrderRectification {
                requirement: "立即恢复供水".into(),
                working_days: 1,
            }),
        ),
        (
            dongping(),
            t(8),
            CaseCommand::VerifyRectification(VerifyRectification {
                order: 1,
                passed: true,
                note: "已恢复".into(),
            }),
        ),
        (
            dongping(),
            t(9),
            CaseCommand::RecordJointEnforcement(RecordJointEnforcement {
                departments: vec![unit("housing"), unit("market-supervision")],
                targets: "物业服务企业".into(),
                findings: "责令整改".into(),
            }),
        ),
        (
            housing(),
            t(10),
            CaseCommand::ImposePenalty(ImposePenalty {
                party: PenalisedParty::Firm(FIRM.parse().unwrap()),
                legal_basis: "《湖南省物业管理条例》".into(),
                decision_no: "安住建罚〔2026〕3号".into(),
                fine_fen: 2_000_000,
            }),
        ),
        (
            housing(),
            t(11),
            CaseCommand::GrantExtension(GrantExtension {
                working_days: 5,
                reason: "需协调供水公司".into(),
            }),
        ),
        (
            petitions(),
            t(12),
            CaseCommand::IssueSupervision(IssueSupervision {
                reason: "群众反映强烈".into(),
            }),
        ),
        (
            dongping(),
            t(13),
            CaseCommand::DispatchCase(DispatchCase {
                to: unit(COMMUNITY),
                note: "请社区调解".into(),
            }),
        ),
        (heping(), t(14), CaseCommand::AcceptCase(AcceptCase {})),
        (
            heping(),
            t(15),
            CaseCommand::RecordMediation(RecordMediation {
                parties: vec!["业主".into(), "物业服务企业".into()],
                outcome: MediationOutcome::Agreed,
                note: "达成缴费与服务协议".into(),
            }),
        ),
        (
            heping(),
            t(16),
            CaseCommand::ResolveCase(ResolveCase {
                summary: "已恢复供水并调解".into(),
                finding: Finding::Substantiated,
            }),
        ),
        (
            hotline(),
            t(17),
            CaseCommand::RecordFeedback(RecordFeedback {
                rating: Rating::Dissatisfied,
                resolved: false,
                note: String::new(),
            }),
        ),
        (
            dongping(),
            t(18),
            CaseCommand::ReopenCase(ReopenCase {
                reason: "仍有楼栋水压不足".into(),
            }),
        ),
        (
            heping(),
            t(19),
            CaseCommand::ResolveCase(ResolveCase {
                summary: "已全部恢复".into(),
                finding: Finding::Substantiated,
            }),
        ),
        (
            hotline(),
            t(20),
            CaseCommand::RecordFeedback(RecordFeedback {
                rating: Rating::Satisfied,
                resolved: true,
                note: String::new(),
            }),
        ),
        (
            office(),
            t(21),
            CaseCommand::ErasePersonalData(ErasePersonalData {
                legal_basis: "《个人信息保护法》第四十七条".into(),
            }),
        ),
    ];
    acts_with_actors(rules, steps)
}

/// At least one act of every kind, made by `decide` where a short history allows and built
/// directly otherwise.
pub fn every_kind(rules: &Rules) -> Vec<Act> {
    use caseledger_domain::act::*;
    let unit = |text: &str| -> caseledger_domain::ids::UnitId { text.parse().unwrap() };
    let mut acts: Vec<Act> = full_lifecycle(rules)
        .into_iter()
        .map(|(_, _, act)| act)
        .collect();
    let other = CaseId(uuid::Uuid::from_u128(77));
    let transfer_steps: Vec<Step> = vec![
        (
            hotline(),
            monday(),
            CaseCommand::FileComplaint(caseledger_domain::case::FileComplaint {
                case_id: other,
                channel: Channel::PetitionPlatform,
                compound: unit(COMPOUND),
                category: "illegal-construction".parse().unwrap(),
                severity: caseledger_domain::deadline::Severity::Complex,
                firm: None,
                summary: "楼顶违建".into(),
                complainant: sealed(),
            }),
        ),
        (
            petitions(),
            monday(),
            CaseCommand::DispatchCase(caseledger_domain::case::DispatchCase {
                to: unit(TOWNSHIP),
                note: String::new(),
            }),
        ),
        (
            dongping(),
            monday(),
            CaseCommand::AcceptCase(caseledger_domain::case::AcceptCase {}),
        ),
        (
            dongping(),
            monday(),
            CaseCommand::TransferCase(caseledger_domain::case::TransferCase {
                to: unit("urban-management"),
                reason: "违建".into(),
            }),
        ),
        (
            hotline(),
            monday(),
            CaseCommand::MergeCase(caseledger_domain::case::MergeCase {
                into: case_id(),
                reason: "重复".into(),
            }),
        ),
    ];
    // The merge by the hotline is not allowed; the office merges instead.
    let mut transfer_steps = transfer_steps;
    transfer_steps.last_mut().unwrap().0 = office();
    acts.extend(
        acts_with_actors(rules, transfer_steps)
            .into_iter()
            .map(|(_, _, act)| act),
    );
    acts.push(Act::CaseWithdrawn(CaseWithdrawn {
        case_id: other,
        by: unit("12345"),
        reason: "撤回".into(),
    }));
    let firm: caseledger_domain::ids::Uscc = FIRM.parse().unwrap();
    let quarter = Quarter::new(2026, 1).unwrap();
    let housing = unit("housing");
    acts.extend([
        Act::FirmRegistered(FirmRegistered {
            firm: firm.clone(),
            name: "（样例）资江物业".into(),
            by: housing.clone(),
        }),
        Act::ContractFiled(ContractFiled {
            firm: firm.clone(),
            compound: unit(COMPOUND),
            community: unit(COMMUNITY),
            township: unit(TOWNSHIP),
            contract_no: "备〔2026〕1号".into(),
            starts_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            ends_on: chrono::NaiveDate::from_ymd_opt(2028, 12, 31).unwrap(),
            by: housing.clone(),
        }),
        Act::TenderFiled(TenderFiled {
            firm: firm.clone(),
            compound: unit(COMPOUND),
            tender_no: "ZB-1".into(),
            by: housing.clone(),
        }),
        Act::HandoverInspected(HandoverInspected {
            firm: firm.clone(),
            compound: unit(COMPOUND),
            passed: false,
            findings: "消防设施缺失".into(),
            by: unit(TOWNSHIP),
        }),
        Act::QuarterlyAssessmentSubmitted(QuarterlyAssessmentSubmitted {
            firm: firm.clone(),
            quarter,
            community: unit(COMMUNITY),
            items: vec![
                AssessmentItem {
                    item: "保洁".into(),
                    score: 88,
                },
                AssessmentItem {
                    item: "安全".into(),
                    score: 91,
                },
            ],
            score_hundredths: 8950,
        }),
        Act::AssessmentsAggregated(AssessmentsAggregated {
            firm: firm.clone(),
            quarter,
            township: unit(TOWNSHIP),
            communities: vec![CommunityScore {
                community: unit(COMMUNITY),
                score_hundredths: 8950,
            }],
            score_hundredths: 8950,
        }),
        Act::GradePublished(GradePublished {
            firm: firm.clone(),
            quarter,
            score_hundredths: 8950,
            grade: caseledger_domain::policy::Grade::B,
            inspection_interval_months: 6,
            trace: vec![CreditPoint {
                position: 41,
                event_id: uuid::Uuid::from_u128(41),
                kind: "QuarterlyAssessmentSubmitted".into(),
                case_id: None,
                reason: CreditReason::QuarterlyAssessment,
                points_hundredths: 8950,
                repaired_by: None,
            }],
            by: housing.clone(),
        }),
        Act::RedListed(RedListed {
            firm: firm.clone(),
            quarter,
            reason: "连续A级".into(),
            by: housing.clone(),
        }),
        Act::BlackListed(BlackListed {
            firm: firm.clone(),
            grounds: vec![7, 9],
            reason: "违法停水".into(),
            by: housing.clone(),
        }),
        Act::Delisted(Delisted {
            firm: firm.clone(),
            list: ListKind::Black,
            reason: "已修复".into(),
            by: housing.clone(),
        }),
        Act::CreditRepaired(CreditRepaired {
            firm: firm.clone(),
            position: 7,
            reason: "已整改".into(),
            by: housing.clone(),
        }),
        Act::FirmCommended(FirmCommended {
            firm: firm.clone(),
            reason: "表彰".into(),
            by: housing.clone(),
        }),
        Act::FirmExited(FirmExited {
            firm,
            compound: unit(COMPOUND),
            reason: "合同期满".into(),
            by: housing,
        }),
    ]);
    acts
}
