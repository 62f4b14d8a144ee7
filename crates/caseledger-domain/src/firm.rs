//! 物业服务企业信用档案 — the firm aggregate: registration, contract and tender filing,
//! handover inspection, exit, quarterly assessments, township aggregation, grade publication,
//! red and black lists, credit repair, commendation.
//!
//! Who may act:
//! - housing (the housing department or the Office): register, file contracts and tenders,
//!   publish grades, list and delist, repair credit, commend;
//! - housing or the compound's township: record a handover inspection (承接查验) or an exit;
//! - a community hosting a compound the firm serves under a filed contract: one quarterly
//!   assessment per quarter (items scored 0 to the policy's maximum);
//! - a township: aggregate its communities' assessments of a quarter, once.
//!
//! A grade is never typed in: [`PublishGrade`] names the grade housing expects, and is
//! rejected unless it equals the grade [`crate::credit::score`] computes from the records.
//! The accepted act carries the score and its whole trace.
//!
//! ```
//! use caseledger_domain::firm::{evolve, FirmState};
//! use caseledger_domain::act::{Act, FirmRegistered};
//!
//! let registered = Act::FirmRegistered(FirmRegistered {
//!     firm: "91430923MA4L123461".parse().unwrap(),
//!     name: "（样例）安化县资江物业服务有限公司".into(),
//!     by: "housing".parse().unwrap(),
//! });
//! let state = evolve(FirmState::default(), &registered);
//! assert!(state.firm.is_some());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::act::*;
use crate::case::check_text;
use crate::context::Context;
use crate::credit::{mean_hundredths, score, standing};
use crate::ids::{UnitId, Uscc};
use crate::policy::Grade;
use crate::principal::Role;
use crate::registry::UnitKind;
use crate::rejection::{Rejection, RejectionCode};

/// The most trace lines a [`GradePublished`] act carries. About 80 bytes each, so the act stays
/// well inside a record's payload limit; a county firm has far fewer credit-relevant acts in
/// a year.
pub const GRADE_TRACE_POINTS_MAX: usize = 2000;

/// A contract on file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// The compound's community at filing.
    pub community: UnitId,
    /// The compound's township at filing.
    pub township: UnitId,
    /// The filing number.
    pub contract_no: String,
    /// The last day of service.
    pub ends_on: NaiveDate,
}

/// A firm's file, folded from its acts by [`evolve`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmState {
    /// Acts applied (the stream version).
    pub version: u64,
    /// The firm, once registered.
    pub firm: Option<Uscc>,
    /// Its name.
    pub name: String,
    /// Contracts on file, by compound (removed on exit).
    pub contracts: BTreeMap<UnitId, Contract>,
    /// Compounds with a filed tender.
    pub tenders: BTreeSet<UnitId>,
    /// Handover inspections by compound: passed or not (the latest).
    pub handovers: BTreeMap<UnitId, bool>,
    /// Compounds the firm left.
    pub exits: BTreeSet<UnitId>,
    /// Quarterly assessments: quarter → community → score in hundredths.
    pub assessments: BTreeMap<Quarter, BTreeMap<UnitId, i64>>,
    /// Aggregations: quarter → townships that aggregated it.
    pub aggregations: BTreeMap<Quarter, BTreeSet<UnitId>>,
    /// Published grades by quarter.
    pub grades: BTreeMap<Quarter, Grade>,
    /// On the red list.
    pub red_listed: bool,
    /// On the black list.
    pub black_listed: bool,
    /// Positions whose deductions were repaired.
    pub repaired: BTreeSet<u64>,
    /// Commendations received.
    pub commendations: u32,
}

impl FirmState {
    /// The state after `acts`, from the empty stream.
    pub fn replay<'a>(acts: impl IntoIterator<Item = &'a Act>) -> FirmState {
        acts.into_iter().fold(FirmState::default(), evolve)
    }
}

/// Applies one act. Total and rule-free; case and governance acts leave the state as it is.
pub fn evolve(mut state: FirmState, act: &Act) -> FirmState {
    if !act.is_firm_act() {
        return state;
    }
    state.version += 1;
    match act {
        Act::FirmRegistered(a) => {
            state.firm = Some(a.firm.clone());
            state.name = a.name.clone();
        }
        Act::ContractFiled(a) => {
            state.exits.remove(&a.compound);
            state.contracts.insert(
                a.compound.clone(),
                Contract {
                    community: a.community.clone(),
                    township: a.township.clone(),
                    contract_no: a.contract_no.clone(),
                    ends_on: a.ends_on,
                },
            );
        }
        Act::TenderFiled(a) => {
            state.tenders.insert(a.compound.clone());
        }
        Act::HandoverInspected(a) => {
            state.handovers.insert(a.compound.clone(), a.passed);
        }
        Act::FirmExited(a) => {
            state.contracts.remove(&a.compound);
            state.exits.insert(a.compound.clone());
        }
        Act::QuarterlyAssessmentSubmitted(a) => {
            state
                .assessments
                .entry(a.quarter)
                .or_default()
                .insert(a.community.clone(), a.score_hundredths);
        }
        Act::AssessmentsAggregated(a) => {
            state
                .aggregations
                .entry(a.quarter)
                .or_default()
                .insert(a.township.clone());
        }
        Act::GradePublished(a) => {
            state.grades.insert(a.quarter, a.grade);
        }
        Act::RedListed(_) => state.red_listed = true,
        Act::BlackListed(_) => state.black_listed = true,
        Act::Delisted(a) => match a.list {
            ListKind::Red => state.red_listed = false,
            ListKind::Black => state.black_listed = false,
        },
        Act::CreditRepaired(a) => {
            state.repaired.insert(a.position);
        }
        Act::FirmCommended(_) => state.commendations += 1,
        _ => {}
    }
    state
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// 企业建档 — open a firm's file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterFirm {
    /// The firm's credit code.
    pub firm: Uscc,
    /// Its registered name.
    pub name: String,
}

/// 合同备案 — file a service contract for a compound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileContract {
    /// The compound.
    pub compound: UnitId,
    /// The filing number.
    pub contract_no: String,
    /// First day of service.
    pub starts_on: NaiveDate,
    /// Last day of service (after the first).
    pub ends_on: NaiveDate,
}

/// 招投标备案 — file a preliminary-service tender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileTender {
    /// The compound.
    pub compound: UnitId,
    /// The tender's number.
    pub tender_no: String,
}

/// 承接查验 — record a handover inspection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordHandoverInspection {
    /// The compound.
    pub compound: UnitId,
    /// Whether it passed.
    pub passed: bool,
    /// What was found (required).
    pub findings: String,
}

/// 退出交接 — record the firm leaving a compound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordExit {
    /// The compound.
    pub compound: UnitId,
    /// Why (required).
    pub reason: String,
}

/// 季度考核 — the acting community's assessment of the firm for a quarter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitAssessment {
    /// The quarter (not later than the current one).
    pub quarter: Quarter,
    /// The scored items (1 to 50).
    pub items: Vec<AssessmentItem>,
}

/// 乡镇汇总 — the acting township's aggregation of its communities' assessments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AggregateAssessments {
    /// The quarter.
    pub quarter: Quarter,
}

/// 等级公布 — publish the grade of an ended quarter; must equal the computed grade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishGrade {
    /// The quarter.
    pub quarter: Quarter,
    /// The grade housing expects.
    pub grade: Grade,
}

/// 列入红榜.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRed {
    /// Why (required).
    pub reason: String,
}

/// 列入黑榜.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBlack {
    /// Why (required).
    pub reason: String,
}

/// 移出红榜 / 黑榜 — allowed once the firm is no longer eligible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delist {
    /// Which list.
    pub list: ListKind,
    /// Why (required).
    pub reason: String,
}

/// 信用修复 — cancel one deduction in the current span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepairCredit {
    /// The log position of the act whose deduction is cancelled.
    pub position: u64,
    /// Why (required).
    pub reason: String,
}

/// 表彰 — commend the firm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommendFirm {
    /// For what (required).
    pub reason: String,
}

/// Every firm command. In JSON, `{"command": "<Name>", …fields}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command")]
pub enum FirmCommand {
    /// See [`RegisterFirm`].
    RegisterFirm(RegisterFirm),
    /// See [`FileContract`].
    FileContract(FileContract),
    /// See [`FileTender`].
    FileTender(FileTender),
    /// See [`RecordHandoverInspection`].
    RecordHandoverInspection(RecordHandoverInspection),
    /// See [`RecordExit`].
    RecordExit(RecordExit),
    /// See [`SubmitAssessment`].
    SubmitAssessment(SubmitAssessment),
    /// See [`AggregateAssessments`].
    AggregateAssessments(AggregateAssessments),
    /// See [`PublishGrade`].
    PublishGrade(PublishGrade),
    /// See [`ListRed`].
    ListRed(ListRed),
    /// See [`ListBlack`].
    ListBlack(ListBlack),
    /// See [`Delist`].
    Delist(Delist),
    /// See [`RepairCredit`].
    RepairCredit(RepairCredit),
    /// See [`CommendFirm`].
    CommendFirm(CommendFirm),
}

macro_rules! firm_command_names {
    ($( $name:ident ),* $(,)?) => {
        impl FirmCommand {
            /// The command's name (`PublishGrade`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( FirmCommand::$name(_) => stringify!($name), )*
                }
            }
        }

        /// The JSON Schema of each firm command's JSON form (`{"command": "<Name>", …}`).
        pub fn firm_command_schemas() -> Vec<(&'static str, schemars::Schema)> {
            vec![
                $( (stringify!($name), crate::act::tagged_schema::<$name>("command", stringify!($name))), )*
            ]
        }
    };
}

firm_command_names!(
    RegisterFirm,
    FileContract,
    FileTender,
    RecordHandoverInspection,
    RecordExit,
    SubmitAssessment,
    AggregateAssessments,
    PublishGrade,
    ListRed,
    ListBlack,
    Delist,
    RepairCredit,
    CommendFirm,
);

/// What a firm decision needs: the common context, and the recorded acts credit is computed
/// from (the firm's own stream and the streams of the cases about it, with positions).
#[derive(Debug, Clone, Copy)]
pub struct FirmContext<'a, 'b> {
    /// The rules, the time and who asks.
    pub context: &'a Context<'b>,
    /// The firm's records and the records of cases about it.
    pub records: &'a [RecordedAct],
}

/// Decides a command against a firm's file: the acts to append, or why not.
pub fn decide(
    state: &FirmState,
    command: &FirmCommand,
    context: &FirmContext<'_, '_>,
) -> Result<Vec<Act>, Rejection> {
    if let FirmCommand::RegisterFirm(command) = command {
        return register(state, command, context.context).map(|act| vec![act]);
    }
    let Some(firm) = state.firm.clone() else {
        return Err(Rejection::new(
            RejectionCode::NotFound,
            "企业信用档案不存在（尚未建档）",
            "the firm has no file (it was never registered)",
        ));
    };
    let decision = Firm {
        state,
        firm,
        context,
    };
    let act = match command {
        FirmCommand::RegisterFirm(_) => unreachable!("handled above"),
        FirmCommand::FileContract(command) => decision.file_contract(command)?,
        FirmCommand::FileTender(command) => decision.file_tender(command)?,
        FirmCommand::RecordHandoverInspection(command) => decision.handover(command)?,
        FirmCommand::RecordExit(command) => decision.exit(command)?,
        FirmCommand::SubmitAssessment(command) => decision.assess(command)?,
        FirmCommand::AggregateAssessments(command) => decision.aggregate(command)?,
        FirmCommand::PublishGrade(command) => decision.publish(command)?,
        FirmCommand::ListRed(command) => decision.list_red(command)?,
        FirmCommand::ListBlack(command) => decision.list_black(command)?,
        FirmCommand::Delist(command) => decision.delist(command)?,
        FirmCommand::RepairCredit(command) => decision.repair(command)?,
        FirmCommand::CommendFirm(command) => decision.commend(command)?,
    };
    Ok(vec![act])
}

fn not_housing(context: &Context<'_>, action_zh: &str, action_en: &str) -> Rejection {
    let principal = &context.principal;
    Rejection::new(
        RejectionCode::WrongRole,
        format!("只有住建局或领导小组办公室可以{action_zh}，{principal} 不可"),
        format!("only housing or the Office may {action_en}; {principal} may not"),
    )
}

fn register(
    state: &FirmState,
    command: &RegisterFirm,
    context: &Context<'_>,
) -> Result<Act, Rejection> {
    if !context.principal.is_housing() {
        return Err(not_housing(context, "为企业建档", "register a firm"));
    }
    if state.firm.is_some() {
        return Err(Rejection::new(
            RejectionCode::AlreadyExists,
            format!("企业 {} 已建档", command.firm),
            format!("firm {} is already registered", command.firm),
        )
        .at("firm"));
    }
    check_text("name", &command.name, SHORT_TEXT_CHARS_MAX, true)?;
    Ok(Act::FirmRegistered(FirmRegistered {
        firm: command.firm.clone(),
        name: command.name.clone(),
        by: context.principal.unit.clone(),
    }))
}

struct Firm<'s, 'a, 'b> {
    state: &'s FirmState,
    firm: Uscc,
    context: &'s FirmContext<'a, 'b>,
}

impl Firm<'_, '_, '_> {
    fn ctx(&self) -> &Context<'_> {
        self.context.context
    }

    fn unit(&self) -> UnitId {
        self.ctx().principal.unit.clone()
    }

    fn require_housing(&self, action_zh: &str, action_en: &str) -> Result<(), Rejection> {
        if self.ctx().principal.is_housing() {
            Ok(())
        } else {
            Err(not_housing(self.ctx(), action_zh, action_en))
        }
    }

    /// Housing, or the township the compound lies in.
    fn require_housing_or_township(
        &self,
        compound: &UnitId,
        action_zh: &str,
        action_en: &str,
    ) -> Result<(), Rejection> {
        let principal = &self.ctx().principal;
        if principal.is_housing() {
            return Ok(());
        }
        if principal.role != Role::Township {
            return Err(Rejection::new(
                RejectionCode::WrongRole,
                format!("只有住建局或小区所在乡镇可以{action_zh}"),
                format!("only housing or the compound's township may {action_en}"),
            ));
        }
        if !self
            .ctx()
            .rules
            .registry
            .is_within(compound, &principal.unit)
        {
            return Err(Rejection::new(
                RejectionCode::WrongJurisdiction,
                format!("{compound} 不在 {} 辖区内", principal.unit),
                format!("{compound} is not in the area of {}", principal.unit),
            )
            .at("compound"));
        }
        Ok(())
    }

    fn compound(&self, compound: &UnitId) -> Result<(UnitId, UnitId), Rejection> {
        let registry = &self.ctx().rules.registry;
        let unknown = || {
            Rejection::new(
                RejectionCode::UnknownUnit,
                format!("{compound} 不是名录中的住宅小区"),
                format!("{compound} is not a compound in the registry"),
            )
            .at("compound")
        };
        if registry.kind_of(compound) != Some(UnitKind::Compound) {
            return Err(unknown());
        }
        match (
            registry.community_of(compound),
            registry.township_of(compound),
        ) {
            (Some(community), Some(township)) => Ok((community.clone(), township.clone())),
            _ => Err(unknown()),
        }
    }

    fn file_contract(&self, command: &FileContract) -> Result<Act, Rejection> {
        self.require_housing("办理合同备案", "file a contract")?;
        let (community, township) = self.compound(&command.compound)?;
        check_text(
            "contract_no",
            &command.contract_no,
            SHORT_TEXT_CHARS_MAX,
            true,
        )?;
        if command.ends_on <= command.starts_on {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!(
                    "合同终止日 {} 应晚于起始日 {}",
                    command.ends_on, command.starts_on
                ),
                format!(
                    "the contract's last day {} must come after its first day {}",
                    command.ends_on, command.starts_on
                ),
            )
            .at("ends_on"));
        }
        Ok(Act::ContractFiled(ContractFiled {
            firm: self.firm.clone(),
            compound: command.compound.clone(),
            community,
            township,
            contract_no: command.contract_no.clone(),
            starts_on: command.starts_on,
            ends_on: command.ends_on,
            by: self.unit(),
        }))
    }

    fn file_tender(&self, command: &FileTender) -> Result<Act, Rejection> {
        self.require_housing("办理招投标备案", "file a tender")?;
        self.compound(&command.compound)?;
        check_text("tender_no", &command.tender_no, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::TenderFiled(TenderFiled {
            firm: self.firm.clone(),
            compound: command.compound.clone(),
            tender_no: command.tender_no.clone(),
            by: self.unit(),
        }))
    }

    fn handover(&self, command: &RecordHandoverInspection) -> Result<Act, Rejection> {
        self.require_housing_or_township(
            &command.compound,
            "记录承接查验",
            "record a handover inspection",
        )?;
        self.compound(&command.compound)?;
        check_text("findings", &command.findings, TEXT_CHARS_MAX, true)?;
        Ok(Act::HandoverInspected(HandoverInspected {
            firm: self.firm.clone(),
            compound: command.compound.clone(),
            passed: command.passed,
            findings: command.findings.clone(),
            by: self.unit(),
        }))
    }

    fn exit(&self, command: &RecordExit) -> Result<Act, Rejection> {
        self.require_housing_or_township(&command.compound, "记录退出交接", "record an exit")?;
        if !self.state.contracts.contains_key(&command.compound) {
            return Err(Rejection::new(
                RejectionCode::NoContract,
                format!("企业在 {} 没有备案合同", command.compound),
                format!("the firm has no filed contract for {}", command.compound),
            )
            .at("compound"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::FirmExited(FirmExited {
            firm: self.firm.clone(),
            compound: command.compound.clone(),
            reason: command.reason.clone(),
            by: self.unit(),
        }))
    }

    fn assess(&self, command: &SubmitAssessment) -> Result<Act, Rejection> {
        let principal = &self.ctx().principal;
        if principal.role != Role::Community {
            return Err(Rejection::new(
                RejectionCode::WrongRole,
                format!("季度考核由社区进行，{principal} 不可"),
                format!("quarterly assessments are made by communities; {principal} may not"),
            ));
        }
        if !self
            .state
            .contracts
            .values()
            .any(|contract| contract.community == principal.unit)
        {
            return Err(Rejection::new(
                RejectionCode::WrongJurisdiction,
                format!("{} 辖区内没有该企业备案服务的小区", principal.unit),
                format!(
                    "the firm serves no compound in {} under a filed contract",
                    principal.unit
                ),
            ));
        }
        let current = Quarter::of_instant(self.ctx().now);
        if command.quarter > current {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("不能考核未来的季度 {}（当前 {current}）", command.quarter),
                format!(
                    "cannot assess a future quarter {} (now {current})",
                    command.quarter
                ),
            )
            .at("quarter"));
        }
        if self
            .state
            .assessments
            .get(&command.quarter)
            .is_some_and(|by| by.contains_key(&principal.unit))
        {
            return Err(Rejection::new(
                RejectionCode::DuplicateAssessment,
                format!(
                    "{} 已对该企业进行过 {} 季度考核",
                    principal.unit, command.quarter
                ),
                format!(
                    "{} already assessed this firm for {}",
                    principal.unit, command.quarter
                ),
            )
            .at("quarter"));
        }
        if command.items.is_empty() || command.items.len() > LIST_ITEMS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("考核项目应为 1 至 {LIST_ITEMS_MAX} 项"),
                format!("an assessment has 1 to {LIST_ITEMS_MAX} items"),
            )
            .at("items"));
        }
        let score_max = self.ctx().rules.credit.score_max;
        for item in &command.items {
            check_text("items", &item.item, SHORT_TEXT_CHARS_MAX, true)?;
            if item.score > score_max {
                return Err(Rejection::new(
                    RejectionCode::InvalidField,
                    format!(
                        "考核项目“{}”得分 {} 超出 0 至 {score_max}",
                        item.item, item.score
                    ),
                    format!(
                        "item {:?} scores {}, outside 0 to {score_max}",
                        item.item, item.score
                    ),
                )
                .at("items"));
            }
        }
        let scores: Vec<i64> = command
            .items
            .iter()
            .map(|item| i64::from(item.score) * 100)
            .collect();
        Ok(Act::QuarterlyAssessmentSubmitted(
            QuarterlyAssessmentSubmitted {
                firm: self.firm.clone(),
                quarter: command.quarter,
                community: principal.unit.clone(),
                items: command.items.clone(),
                score_hundredths: mean_hundredths(&scores),
            },
        ))
    }

    fn aggregate(&self, command: &AggregateAssessments) -> Result<Act, Rejection> {
        let principal = &self.ctx().principal;
        if principal.role != Role::Township {
            return Err(Rejection::new(
                RejectionCode::WrongRole,
                format!("季度考核由乡镇汇总，{principal} 不可"),
                format!("assessments are aggregated by townships; {principal} may not"),
            ));
        }
        if self
            .state
            .aggregations
            .get(&command.quarter)
            .is_some_and(|by| by.contains(&principal.unit))
        {
            return Err(Rejection::new(
                RejectionCode::DuplicateAggregation,
                format!("{} 已汇总过 {} 季度考核", principal.unit, command.quarter),
                format!("{} already aggregated {}", principal.unit, command.quarter),
            )
            .at("quarter"));
        }
        let registry = &self.ctx().rules.registry;
        let communities: Vec<CommunityScore> = self
            .state
            .assessments
            .get(&command.quarter)
            .into_iter()
            .flatten()
            .filter(|(community, _)| registry.township_of(community) == Some(&principal.unit))
            .map(|(community, score)| CommunityScore {
                community: community.clone(),
                score_hundredths: *score,
            })
            .collect();
        if communities.is_empty() {
            return Err(Rejection::new(
                RejectionCode::NothingToAggregate,
                format!(
                    "{} 辖区内的社区尚未提交 {} 季度考核",
                    principal.unit, command.quarter
                ),
                format!(
                    "no community of {} has assessed {}",
                    principal.unit, command.quarter
                ),
            )
            .at("quarter"));
        }
        let scores: Vec<i64> = communities
            .iter()
            .map(|community| community.score_hundredths)
            .collect();
        Ok(Act::AssessmentsAggregated(AssessmentsAggregated {
            firm: self.firm.clone(),
            quarter: command.quarter,
            township: principal.unit.clone(),
            score_hundredths: mean_hundredths(&scores),
            communities,
        }))
    }

    fn publish(&self, command: &PublishGrade) -> Result<Act, Rejection> {
        self.require_housing("公布信用等级", "publish a grade")?;
        if command.quarter.ends_at() > self.ctx().now {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("{} 季度尚未结束", command.quarter),
                format!("quarter {} has not ended", command.quarter),
            )
            .at("quarter"));
        }
        if self.state.grades.contains_key(&command.quarter) {
            return Err(Rejection::new(
                RejectionCode::GradeAlreadyPublished,
                format!("{} 季度等级已公布", command.quarter),
                format!("the grade of {} was already published", command.quarter),
            )
            .at("quarter"));
        }
        let computed = score(
            &self.ctx().rules.credit,
            &self.firm,
            command.quarter,
            self.context.records,
        );
        if computed.assessments == 0 {
            return Err(Rejection::new(
                RejectionCode::NothingToAggregate,
                format!(
                    "{} 季度及之前 12 个月内没有社区考核，无法评级",
                    command.quarter
                ),
                format!(
                    "no community assessment in the 12 months ending {}; the firm cannot be graded",
                    command.quarter
                ),
            )
            .at("quarter"));
        }
        if computed.trace.len() > GRADE_TRACE_POINTS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!(
                    "计分记录 {} 条，超过单次公布上限 {GRADE_TRACE_POINTS_MAX} 条",
                    computed.trace.len()
                ),
                format!(
                    "the score has {} trace lines, more than the {GRADE_TRACE_POINTS_MAX} one publication can carry",
                    computed.trace.len()
                ),
            )
            .at("quarter"));
        }
        if computed.grade != command.grade {
            let points = computed.score_hundredths as f64 / 100.0;
            return Err(Rejection::new(
                RejectionCode::GradeMismatch,
                format!("公布的等级 {} 与按记录计算的等级 {}（{points:.2} 分）不一致", command.grade, computed.grade),
                format!(
                    "the grade {} differs from the grade {} computed from the records ({points:.2} points)",
                    command.grade, computed.grade
                ),
            )
            .at("grade"));
        }
        Ok(Act::GradePublished(GradePublished {
            firm: self.firm.clone(),
            quarter: command.quarter,
            score_hundredths: computed.score_hundredths,
            grade: computed.grade,
            inspection_interval_months: computed.inspection_interval_months,
            trace: computed.trace,
            by: self.unit(),
        }))
    }

    fn list_red(&self, command: &ListRed) -> Result<Act, Rejection> {
        self.require_housing("列入红榜", "red-list a firm")?;
        if self.state.red_listed {
            return Err(Rejection::new(
                RejectionCode::AlreadyListed,
                "企业已在红榜",
                "the firm is already on the red list",
            ));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let standing = standing(
            &self.ctx().rules.credit,
            &self.firm,
            self.ctx().now,
            self.context.records,
        );
        let policy = &self.ctx().rules.credit.red_list;
        match (standing.red_eligible, standing.latest_grade) {
            (true, Some((quarter, _))) => Ok(Act::RedListed(RedListed {
                firm: self.firm.clone(),
                quarter,
                reason: command.reason.clone(),
                by: self.unit(),
            })),
            _ => Err(Rejection::new(
                RejectionCode::NotEligible,
                format!(
                    "列入红榜须连续 {} 个季度公布等级为 {} 且无行政处罚",
                    policy.consecutive_quarters, policy.grade
                ),
                format!(
                    "the red list takes grade {} published for {} consecutive quarters with no penalty",
                    policy.grade, policy.consecutive_quarters
                ),
            )),
        }
    }

    fn list_black(&self, command: &ListBlack) -> Result<Act, Rejection> {
        self.require_housing("列入黑榜", "black-list a firm")?;
        if self.state.black_listed {
            return Err(Rejection::new(
                RejectionCode::AlreadyListed,
                "企业已在黑榜",
                "the firm is already on the black list",
            ));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let standing = standing(
            &self.ctx().rules.credit,
            &self.firm,
            self.ctx().now,
            self.context.records,
        );
        if !standing.black_eligible {
            let grade = self.ctx().rules.credit.black_list.grade;
            return Err(Rejection::new(
                RejectionCode::NotEligible,
                format!("列入黑榜须最近公布等级为 {grade} 或有未修复的黑榜行为"),
                format!("the black list takes a latest published grade of {grade} or an unrepaired black-list-grade violation"),
            ));
        }
        Ok(Act::BlackListed(BlackListed {
            firm: self.firm.clone(),
            grounds: standing.black_grounds,
            reason: command.reason.clone(),
            by: self.unit(),
        }))
    }

    fn delist(&self, command: &Delist) -> Result<Act, Rejection> {
        self.require_housing("移出红黑榜", "delist a firm")?;
        let (listed, name_zh, name_en) = match command.list {
            ListKind::Red => (self.state.red_listed, "红榜", "red list"),
            ListKind::Black => (self.state.black_listed, "黑榜", "black list"),
        };
        if !listed {
            return Err(Rejection::new(
                RejectionCode::NotListed,
                format!("企业不在{name_zh}"),
                format!("the firm is not on the {name_en}"),
            )
            .at("list"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let standing = standing(
            &self.ctx().rules.credit,
            &self.firm,
            self.ctx().now,
            self.context.records,
        );
        let still = match command.list {
            ListKind::Red => standing.red_eligible,
            ListKind::Black => standing.black_eligible,
        };
        if still {
            return Err(Rejection::new(
                RejectionCode::NotEligible,
                format!("企业仍符合{name_zh}条件，不能移出"),
                format!("the firm still meets the {name_en} conditions and cannot be removed"),
            )
            .at("list"));
        }
        Ok(Act::Delisted(Delisted {
            firm: self.firm.clone(),
            list: command.list,
            reason: command.reason.clone(),
            by: self.unit(),
        }))
    }

    fn repair(&self, command: &RepairCredit) -> Result<Act, Rejection> {
        self.require_housing("信用修复", "repair credit")?;
        let now = self.ctx().now;
        let current = score(
            &self.ctx().rules.credit,
            &self.firm,
            Quarter::of_instant(now),
            self.context.records,
        );
        let deduction = current.trace.iter().any(|line| {
            line.position == command.position
                && line.points_hundredths < 0
                && line.repaired_by.is_none()
        });
        if !deduction || self.state.repaired.contains(&command.position) {
            return Err(Rejection::new(
                RejectionCode::NotRepairable,
                format!("位置 {} 不是该企业当前有效的扣分记录", command.position),
                format!(
                    "position {} is not a deduction currently counted against this firm",
                    command.position
                ),
            )
            .at("position"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::CreditRepaired(CreditRepaired {
            firm: self.firm.clone(),
            position: command.position,
            reason: command.reason.clone(),
            by: self.unit(),
        }))
    }

    fn commend(&self, command: &CommendFirm) -> Result<Act, Rejection> {
        self.require_housing("表彰企业", "commend a firm")?;
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::FirmCommended(FirmCommended {
            firm: self.firm.clone(),
            reason: command.reason.clone(),
            by: self.unit(),
        }))
    }
}
