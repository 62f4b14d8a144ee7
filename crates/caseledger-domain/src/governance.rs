//! 治理行为 — the governance aggregate: joint meetings, safety inspections, and each
//! compound's owners' self-governance, fire-safety agreements, property liaison and
//! special maintenance fund (DOMAIN.md §5; the plan §四.(一), §四.(三), §五).
//!
//! Streams:
//! - `governance/<uuid>` holds one act: a joint meeting ([`ConveneJointMeeting`]) or a safety
//!   inspection ([`RecordSafetyInspection`]);
//! - a compound's id (`compound/dongping/lanting-11`) holds everything else about that
//!   compound, so the rules that order its acts (a committee is elected before it is filed,
//!   money is disbursed only after approval) read one stream.
//!
//! Who may act (the plan's own division of work):
//! - joint meetings (联席会议): the Leading Group Office, which convenes them every half year
//!   or at once in an emergency (§四.(一));
//! - safety inspections (安全生产抽查): housing (the housing department or the Office), joined
//!   by at least one of emergency, fire-rescue and urban-management (§四.(三));
//! - fire-safety agreements (防火协议): the compound's community (居民委员会), only while the
//!   compound has no management body of its own on this stream (§四.(三));
//! - owners' assembly, committee election and term change (业主大会、业主委员会、换届): the
//!   compound's township, or its community assisting (§五.(一).22–23);
//! - committee filing (备案): the compound's township only;
//! - maintenance fund (专项维修资金): the compound's township or community records the owners'
//!   application; housing reviews it and disburses, never more than it approved;
//! - property liaison (物管员): the compound's community names and publishes one.
//!
//! Personal data: residents (owners, committee members, signatories) appear only as counts.
//! The liaison's name and work contact are those of community staff, published in the
//! compound by the plan's own rule, so they are stored in clear (see
//! [`crate::act::PropertyLiaisonNamed`]).
//!
//! What this aggregate cannot see: firms' contracts live on firm streams, so "no management
//! body" for a fire-safety agreement means here "no owners' committee on this stream"; the
//! community attests the rest when it records the agreement. Whether a half-yearly meeting was
//! held every half year is a projection over meeting streams, not a rule of one meeting.
//!
//! ```
//! use caseledger_domain::act::{GovernanceId, MeetingKind};
//! use caseledger_domain::context::{Context, Rules};
//! use caseledger_domain::governance::{decide, evolve, ConveneJointMeeting, GovernanceCommand, GovernanceState};
//! use caseledger_domain::principal::{Principal, Role};
//! use caseledger_domain::{registry::Registry, Source};
//!
//! let text = "[[unit]]\nid = \"office\"\nkind = \"office\"\nname = \"办公室\"\n";
//! let registry = Registry::from_sources(&[Source { name: "county.toml", text }]).unwrap();
//! let rules = Rules { registry, ..Rules::default() };
//! let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap();
//! let office = Principal::new(Role::Office, "office".parse().unwrap());
//! let command = GovernanceCommand::ConveneJointMeeting(ConveneJointMeeting {
//!     meeting_id: GovernanceId(uuid::Uuid::from_u128(1)),
//!     kind: MeetingKind::HalfYearly,
//!     held_on: chrono::NaiveDate::from_ymd_opt(2026, 5, 28).unwrap(),
//!     attendees: vec!["office".parse().unwrap()],
//!     agenda: vec!["上半年物业投诉办理情况".into()],
//!     decisions: vec![],
//! });
//! let acts = decide(&GovernanceState::default(), &command, &Context::new(&rules, now, office)).unwrap();
//! assert_eq!(acts[0].stream().to_string(), "governance/00000000-0000-0000-0000-000000000001");
//! let state = acts.iter().fold(GovernanceState::default(), evolve);
//! assert_eq!(state.record, Some(GovernanceId(uuid::Uuid::from_u128(1))));
//! ```

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::act::*;
use crate::case::check_text;
use crate::context::Context;
use crate::deadline::cst_date;
use crate::ids::UnitId;
use crate::principal::Role;
use crate::registry::UnitKind;
use crate::rejection::{Rejection, RejectionCode};

/// The departments that join housing's safety inspections (§四.(三): 县应急局、县消防救援大队、
/// 县城管局). A rule of the plan, hence a constant.
pub const SAFETY_PARTNER_UNITS: [&str; 3] = ["emergency", "fire-rescue", "urban-management"];

/// The fewest members of an owners' committee (业主大会和业主委员会指导规则 第三十一条:
/// 5 至 11 人单数). National guidance, not the county plan.
pub const COMMITTEE_MEMBERS_MIN: u32 = 5;

/// The most members of an owners' committee (same rule: odd, 5 to 11).
pub const COMMITTEE_MEMBERS_MAX: u32 = 11;

/// The longest committee term, in months (same guidance: 每届任期不超过 5 年).
pub const COMMITTEE_TERM_MONTHS_MAX: u32 = 60;

/// The current owners' committee of a compound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committee {
    /// Its members.
    pub members: u32,
    /// First day of its term.
    pub term_starts_on: NaiveDate,
    /// Last day of its term.
    pub term_ends_on: NaiveDate,
    /// Whether this term is filed with the township.
    pub filed: bool,
    /// Terms so far, this one included.
    pub terms: u32,
}

/// Where a maintenance-fund application stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FundStatus {
    /// Awaiting housing's review.
    Pending,
    /// Approved: money may be disbursed up to the approved amount.
    Approved,
    /// Rejected.
    Rejected,
}

/// One maintenance-fund application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundApplication {
    /// Asked for, in fen.
    pub requested_fen: u64,
    /// Its status.
    pub status: FundStatus,
    /// Approved, in fen (zero until approved).
    pub approved_fen: u64,
    /// Paid out so far, in fen.
    pub disbursed_fen: u64,
}

/// A governance stream's state, folded by [`evolve`]: either one meeting or inspection
/// (`record`), or one compound's acts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceState {
    /// Acts applied (the stream version).
    pub version: u64,
    /// The meeting or inspection recorded on a `governance/<uuid>` stream.
    pub record: Option<GovernanceId>,
    /// The compound of a compound stream, once it has an act.
    pub compound: Option<UnitId>,
    /// 业主大会 formed.
    pub assembly_formed: bool,
    /// 业主委员会, once elected.
    pub committee: Option<Committee>,
    /// Fire-safety agreements signed.
    pub fire_agreements: u32,
    /// The current property liaison's name.
    pub liaison: Option<String>,
    /// Maintenance-fund applications by id.
    pub funds: BTreeMap<Uuid, FundApplication>,
}

impl GovernanceState {
    /// The state after `acts`, from the empty stream.
    pub fn replay<'a>(acts: impl IntoIterator<Item = &'a Act>) -> GovernanceState {
        acts.into_iter().fold(GovernanceState::default(), evolve)
    }
}

/// Applies one act. Total and rule-free: it records what the act says; case and firm acts
/// leave the state as it is. Arithmetic saturates, so no act sequence can panic.
pub fn evolve(mut state: GovernanceState, act: &Act) -> GovernanceState {
    if !act.is_governance_act() {
        return state;
    }
    state.version += 1;
    if let StreamId::Compound(compound) = act.stream() {
        state.compound.get_or_insert(compound);
    }
    match act {
        Act::JointMeetingConvened(a) => state.record = Some(a.meeting_id),
        Act::SafetyInspectionRecorded(a) => state.record = Some(a.inspection_id),
        Act::FireSafetyAgreementSigned(_) => {
            state.fire_agreements = state.fire_agreements.saturating_add(1)
        }
        Act::OwnersAssemblyFormed(_) => state.assembly_formed = true,
        Act::OwnersCommitteeElected(a) => {
            state.committee = Some(Committee {
                members: a.members,
                term_starts_on: a.term_starts_on,
                term_ends_on: a.term_ends_on,
                filed: false,
                terms: 1,
            })
        }
        Act::OwnersCommitteeTermChanged(a) => {
            let terms = state.committee.as_ref().map_or(0, |c| c.terms);
            state.committee = Some(Committee {
                members: a.members,
                term_starts_on: a.term_starts_on,
                term_ends_on: a.term_ends_on,
                filed: false,
                terms: terms.saturating_add(1),
            })
        }
        Act::OwnersCommitteeFiled(_) => {
            if let Some(committee) = state.committee.as_mut() {
                committee.filed = true;
            }
        }
        Act::MaintenanceFundApplied(a) => {
            state.funds.insert(
                a.application_id,
                FundApplication {
                    requested_fen: a.amount_fen,
                    status: FundStatus::Pending,
                    approved_fen: 0,
                    disbursed_fen: 0,
                },
            );
        }
        Act::MaintenanceFundReviewed(a) => {
            if let Some(fund) = state.funds.get_mut(&a.application_id) {
                fund.status = if a.approved {
                    FundStatus::Approved
                } else {
                    FundStatus::Rejected
                };
                fund.approved_fen = a.approved_fen;
            }
        }
        Act::MaintenanceFundDisbursed(a) => {
            if let Some(fund) = state.funds.get_mut(&a.application_id) {
                fund.disbursed_fen = fund.disbursed_fen.saturating_add(a.amount_fen);
            }
        }
        Act::PropertyLiaisonNamed(a) => state.liaison = Some(a.name.clone()),
        _ => {}
    }
    state
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// 召开联席会议 — record a joint meeting the Office convened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConveneJointMeeting {
    /// A new id: the meeting's stream.
    pub meeting_id: GovernanceId,
    /// Regular (half-yearly) or emergency.
    pub kind: MeetingKind,
    /// The day it was held (not in the future).
    pub held_on: NaiveDate,
    /// The units that attended (1 to 50, in the registry, no repeats).
    pub attendees: Vec<UnitId>,
    /// Agenda items (1 to 50).
    pub agenda: Vec<String>,
    /// Decisions taken (0 to 50).
    pub decisions: Vec<String>,
}

/// 安全生产抽查 — record a safety spot-check of compounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSafetyInspection {
    /// A new id: the inspection's stream.
    pub inspection_id: GovernanceId,
    /// The day of the inspection (not in the future).
    pub inspected_on: NaiveDate,
    /// The compounds checked (1 to 50, in the registry).
    pub compounds: Vec<UnitId>,
    /// The departments that joined (at least one of emergency, fire-rescue,
    /// urban-management; all county departments).
    pub departments: Vec<UnitId>,
    /// What was found (required).
    pub findings: String,
    /// The number of hazards found.
    pub hazards: u32,
}

/// 签订防火协议.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignFireSafetyAgreement {
    /// The compound.
    pub compound: UnitId,
    /// The day it was signed (not in the future).
    pub signed_on: NaiveDate,
    /// How many owners and occupants signed (at least one).
    pub signatories: u32,
    /// The responsibilities agreed (required).
    pub responsibilities: String,
}

/// 成立业主大会.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormOwnersAssembly {
    /// The compound.
    pub compound: UnitId,
    /// The day of the first meeting (not in the future).
    pub formed_on: NaiveDate,
}

/// The facts of a committee election, shared by the first election and each term change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElectOwnersCommittee {
    /// The compound.
    pub compound: UnitId,
    /// The day of the election (not in the future).
    pub elected_on: NaiveDate,
    /// The number of members: odd, 5 to 11.
    pub members: u32,
    /// First day of the term (not before the election).
    pub term_starts_on: NaiveDate,
    /// Last day of the term (after the first, at most five years on).
    pub term_ends_on: NaiveDate,
}

/// 业主委员会备案.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileOwnersCommittee {
    /// The compound.
    pub compound: UnitId,
    /// 备案编号 (required).
    pub filing_no: String,
}

/// 业主委员会换届 — same facts as an election; the committee must exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeOwnersCommitteeTerm {
    /// The compound.
    pub compound: UnitId,
    /// The day of the election (not in the future).
    pub elected_on: NaiveDate,
    /// The number of members: odd, 5 to 11.
    pub members: u32,
    /// First day of the new term (after the current term's first day).
    pub term_starts_on: NaiveDate,
    /// Last day of the new term (after the first, at most five years on).
    pub term_ends_on: NaiveDate,
}

/// 维修资金使用申请.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyMaintenanceFund {
    /// The compound.
    pub compound: UnitId,
    /// A new application id.
    pub application_id: Uuid,
    /// The amount, in fen (more than zero).
    pub amount_fen: u64,
    /// What it pays for (required).
    pub purpose: String,
}

/// 维修资金审核.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewMaintenanceFund {
    /// The compound.
    pub compound: UnitId,
    /// The application.
    pub application_id: Uuid,
    /// Approve or reject.
    pub approved: bool,
    /// When approving: 1 fen to the amount asked for. When rejecting: zero.
    pub approved_fen: u64,
    /// Why (required when rejecting).
    pub reason: String,
}

/// 维修资金拨付.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisburseMaintenanceFund {
    /// The compound.
    pub compound: UnitId,
    /// The approved application.
    pub application_id: Uuid,
    /// This payment, in fen (more than zero; with earlier payments, at most the approved
    /// amount).
    pub amount_fen: u64,
}

/// 指定物管员 — name and publish the compound's property liaison (replaces the previous one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamePropertyLiaison {
    /// The compound.
    pub compound: UnitId,
    /// The staff member's name (required).
    pub name: String,
    /// The published work contact (required).
    pub contact: String,
    /// The day it was published in the compound (not in the future).
    pub published_on: NaiveDate,
}

/// Every governance command. In JSON, `{"command": "<Name>", …fields}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command")]
pub enum GovernanceCommand {
    /// See [`ConveneJointMeeting`].
    ConveneJointMeeting(ConveneJointMeeting),
    /// See [`RecordSafetyInspection`].
    RecordSafetyInspection(RecordSafetyInspection),
    /// See [`SignFireSafetyAgreement`].
    SignFireSafetyAgreement(SignFireSafetyAgreement),
    /// See [`FormOwnersAssembly`].
    FormOwnersAssembly(FormOwnersAssembly),
    /// See [`ElectOwnersCommittee`].
    ElectOwnersCommittee(ElectOwnersCommittee),
    /// See [`FileOwnersCommittee`].
    FileOwnersCommittee(FileOwnersCommittee),
    /// See [`ChangeOwnersCommitteeTerm`].
    ChangeOwnersCommitteeTerm(ChangeOwnersCommitteeTerm),
    /// See [`ApplyMaintenanceFund`].
    ApplyMaintenanceFund(ApplyMaintenanceFund),
    /// See [`ReviewMaintenanceFund`].
    ReviewMaintenanceFund(ReviewMaintenanceFund),
    /// See [`DisburseMaintenanceFund`].
    DisburseMaintenanceFund(DisburseMaintenanceFund),
    /// See [`NamePropertyLiaison`].
    NamePropertyLiaison(NamePropertyLiaison),
}

macro_rules! governance_command_names {
    ($( $name:ident ),* $(,)?) => {
        impl GovernanceCommand {
            /// The command's name (`ConveneJointMeeting`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( GovernanceCommand::$name(_) => stringify!($name), )*
                }
            }
        }

        /// The JSON Schema of each governance command's JSON form (`{"command": "<Name>", …}`).
        pub fn governance_command_schemas() -> Vec<(&'static str, schemars::Schema)> {
            vec![
                $( (stringify!($name), crate::act::tagged_schema::<$name>("command", stringify!($name))), )*
            ]
        }
    };
}

governance_command_names!(
    ConveneJointMeeting,
    RecordSafetyInspection,
    SignFireSafetyAgreement,
    FormOwnersAssembly,
    ElectOwnersCommittee,
    FileOwnersCommittee,
    ChangeOwnersCommitteeTerm,
    ApplyMaintenanceFund,
    ReviewMaintenanceFund,
    DisburseMaintenanceFund,
    NamePropertyLiaison,
);

impl GovernanceCommand {
    /// The stream the command's acts go to: `governance/<uuid>` or the compound's id.
    pub fn stream(&self) -> StreamId {
        match self {
            GovernanceCommand::ConveneJointMeeting(c) => StreamId::Governance(c.meeting_id),
            GovernanceCommand::RecordSafetyInspection(c) => StreamId::Governance(c.inspection_id),
            GovernanceCommand::SignFireSafetyAgreement(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::FormOwnersAssembly(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::ElectOwnersCommittee(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::FileOwnersCommittee(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::ChangeOwnersCommitteeTerm(c) => {
                StreamId::Compound(c.compound.clone())
            }
            GovernanceCommand::ApplyMaintenanceFund(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::ReviewMaintenanceFund(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::DisburseMaintenanceFund(c) => StreamId::Compound(c.compound.clone()),
            GovernanceCommand::NamePropertyLiaison(c) => StreamId::Compound(c.compound.clone()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decide.

/// Decides a governance command against its stream's state: the acts to append (to
/// [`GovernanceCommand::stream`]), or why not. Every rule lives here.
pub fn decide(
    state: &GovernanceState,
    command: &GovernanceCommand,
    context: &Context<'_>,
) -> Result<Vec<Act>, Rejection> {
    let decision = Governance { state, context };
    let act = match command {
        GovernanceCommand::ConveneJointMeeting(c) => decision.convene(c)?,
        GovernanceCommand::RecordSafetyInspection(c) => decision.inspect(c)?,
        GovernanceCommand::SignFireSafetyAgreement(c) => decision.fire_agreement(c)?,
        GovernanceCommand::FormOwnersAssembly(c) => decision.form_assembly(c)?,
        GovernanceCommand::ElectOwnersCommittee(c) => decision.elect(c)?,
        GovernanceCommand::FileOwnersCommittee(c) => decision.file_committee(c)?,
        GovernanceCommand::ChangeOwnersCommitteeTerm(c) => decision.change_term(c)?,
        GovernanceCommand::ApplyMaintenanceFund(c) => decision.apply_fund(c)?,
        GovernanceCommand::ReviewMaintenanceFund(c) => decision.review_fund(c)?,
        GovernanceCommand::DisburseMaintenanceFund(c) => decision.disburse_fund(c)?,
        GovernanceCommand::NamePropertyLiaison(c) => decision.name_liaison(c)?,
    };
    Ok(vec![act])
}

/// A compound's place in the registry.
struct Area {
    community: UnitId,
    township: UnitId,
}

/// Which local bodies may do a compound act.
#[derive(Clone, Copy)]
enum Local {
    /// The compound's township or community.
    TownshipOrCommunity,
    /// The compound's township only.
    Township,
    /// The compound's community only.
    Community,
}

struct Governance<'s, 'c, 'r> {
    state: &'s GovernanceState,
    context: &'c Context<'r>,
}

impl Governance<'_, '_, '_> {
    fn unit(&self) -> UnitId {
        self.context.principal.unit.clone()
    }

    fn today(&self) -> NaiveDate {
        cst_date(self.context.now)
    }

    fn not_future(&self, field: &str, date: NaiveDate) -> Result<(), Rejection> {
        let today = self.today();
        if date > today {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("{field} 日期 {date} 晚于今天 {today}"),
                format!("{field} {date} is after today {today}"),
            )
            .at(field));
        }
        Ok(())
    }

    /// A `governance/<uuid>` stream holds exactly one act.
    fn fresh_record(&self, id: GovernanceId) -> Result<(), Rejection> {
        if self.state.record.is_some() || self.state.compound.is_some() || self.state.version > 0 {
            return Err(Rejection::new(
                RejectionCode::AlreadyExists,
                format!("记录 governance/{id} 已存在"),
                format!("the record governance/{id} already exists"),
            ));
        }
        Ok(())
    }

    /// Checks the compound: in the registry, named by the convention its stream relies on,
    /// the compound of this stream; and that the principal may act for it.
    fn compound(
        &self,
        compound: &UnitId,
        local: Local,
        action: (&str, &str),
    ) -> Result<Area, Rejection> {
        let (action_zh, action_en) = action;
        let principal = &self.context.principal;
        let allowed = matches!(
            (local, principal.role),
            (Local::TownshipOrCommunity, Role::Township | Role::Community)
                | (Local::Township, Role::Township)
                | (Local::Community, Role::Community)
        );
        if !allowed {
            let who = match local {
                Local::TownshipOrCommunity => {
                    ("小区所在乡镇或社区", "the compound's township or community")
                }
                Local::Township => ("小区所在乡镇", "the compound's township"),
                Local::Community => ("小区所在社区", "the compound's community"),
            };
            return Err(Rejection::new(
                RejectionCode::WrongRole,
                format!("只有{}可以{action_zh}，{principal} 不可", who.0),
                format!("only {} may {action_en}; {principal} may not", who.1),
            ));
        }
        if self.state.record.is_some() {
            return Err(Rejection::new(
                RejectionCode::WrongState,
                "该流是联席会议或安全检查记录，不是小区",
                "this stream is a meeting or inspection record, not a compound",
            )
            .at("compound"));
        }
        if let Some(own) = &self.state.compound {
            if own != compound {
                return Err(Rejection::new(
                    RejectionCode::WrongState,
                    format!("该流属于小区 {own}，不是 {compound}"),
                    format!("this stream belongs to compound {own}, not {compound}"),
                )
                .at("compound"));
            }
        }
        let registry = &self.context.rules.registry;
        if registry.kind_of(compound) != Some(UnitKind::Compound) {
            return Err(Rejection::new(
                RejectionCode::UnknownUnit,
                format!("{compound} 不是名录中的小区"),
                format!("{compound} is not a compound in the registry"),
            )
            .at("compound"));
        }
        if !compound.as_str().starts_with("compound/") {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("小区编号 {compound} 应以 compound/ 开头"),
                format!("compound id {compound} must begin with compound/ (it names the stream)"),
            )
            .at("compound"));
        }
        let (Some(community), Some(township)) = (
            registry.community_of(compound),
            registry.township_of(compound),
        ) else {
            return Err(Rejection::new(
                RejectionCode::UnknownUnit,
                format!("小区 {compound} 在名录中没有所属社区或乡镇"),
                format!("compound {compound} has no community or township in the registry"),
            )
            .at("compound"));
        };
        let area = match principal.role {
            Role::Township => township,
            _ => community,
        };
        if &principal.unit != area {
            return Err(Rejection::new(
                RejectionCode::WrongJurisdiction,
                format!("小区 {compound} 不在 {} 辖区内", principal.unit),
                format!(
                    "compound {compound} is not in the area of {}",
                    principal.unit
                ),
            )
            .at("compound"));
        }
        Ok(Area {
            community: community.clone(),
            township: township.clone(),
        })
    }

    /// Housing or the Office, for the county-level acts.
    fn require_housing(&self, action_zh: &str, action_en: &str) -> Result<(), Rejection> {
        let principal = &self.context.principal;
        if !principal.is_housing() {
            return Err(Rejection::new(
                RejectionCode::WrongRole,
                format!("只有住建局或领导小组办公室可以{action_zh}，{principal} 不可"),
                format!("only housing or the Office may {action_en}; {principal} may not"),
            ));
        }
        Ok(())
    }

    /// The compound of a housing act: in the registry and this stream's.
    fn county_compound(&self, compound: &UnitId) -> Result<(), Rejection> {
        let registry = &self.context.rules.registry;
        if registry.kind_of(compound) != Some(UnitKind::Compound) {
            return Err(Rejection::new(
                RejectionCode::UnknownUnit,
                format!("{compound} 不是名录中的小区"),
                format!("{compound} is not a compound in the registry"),
            )
            .at("compound"));
        }
        if self.state.compound.as_ref() != Some(compound) {
            return Err(Rejection::new(
                RejectionCode::NotFound,
                format!("小区 {compound} 没有维修资金申请记录"),
                format!("compound {compound} has no maintenance-fund application on this stream"),
            )
            .at("compound"));
        }
        Ok(())
    }

    fn texts(field: &str, items: &[String], min: usize) -> Result<(), Rejection> {
        if items.len() < min || items.len() > LIST_ITEMS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!(
                    "{field} 应为 {min} 至 {LIST_ITEMS_MAX} 项，实有 {} 项",
                    items.len()
                ),
                format!(
                    "{field} takes {min} to {LIST_ITEMS_MAX} items, not {}",
                    items.len()
                ),
            )
            .at(field));
        }
        for item in items {
            check_text(field, item, SHORT_TEXT_CHARS_MAX, true)?;
        }
        Ok(())
    }

    fn units(&self, field: &str, units: &[UnitId], kinds: &[UnitKind]) -> Result<(), Rejection> {
        if units.is_empty() || units.len() > LIST_ITEMS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!(
                    "{field} 应为 1 至 {LIST_ITEMS_MAX} 个单位，实有 {} 个",
                    units.len()
                ),
                format!(
                    "{field} takes 1 to {LIST_ITEMS_MAX} units, not {}",
                    units.len()
                ),
            )
            .at(field));
        }
        let registry = &self.context.rules.registry;
        for (index, unit) in units.iter().enumerate() {
            if units[..index].contains(unit) {
                return Err(Rejection::new(
                    RejectionCode::InvalidField,
                    format!("{field} 中 {unit} 重复"),
                    format!("{unit} appears twice in {field}"),
                )
                .at(field));
            }
            if !registry
                .kind_of(unit)
                .is_some_and(|kind| kinds.contains(&kind))
            {
                let expected: Vec<&str> = kinds.iter().map(|kind| kind.as_str()).collect();
                let expected = expected.join(" / ");
                return Err(Rejection::new(
                    RejectionCode::UnknownUnit,
                    format!("{field} 中的 {unit} 不是名录中的 {expected}"),
                    format!("{unit} in {field} is not a {expected} in the registry"),
                )
                .at(field));
            }
        }
        Ok(())
    }

    fn convene(&self, c: &ConveneJointMeeting) -> Result<Act, Rejection> {
        let principal = &self.context.principal;
        if principal.role != Role::Office {
            return Err(Rejection::new(
                RejectionCode::WrongRole,
                format!("联席会议由领导小组办公室召集，{principal} 不可"),
                format!("joint meetings are convened by the Office; {principal} may not"),
            ));
        }
        self.fresh_record(c.meeting_id)?;
        self.not_future("held_on", c.held_on)?;
        self.units(
            "attendees",
            &c.attendees,
            &[
                UnitKind::Office,
                UnitKind::Department,
                UnitKind::Township,
                UnitKind::Community,
            ],
        )?;
        Self::texts("agenda", &c.agenda, 1)?;
        Self::texts("decisions", &c.decisions, 0)?;
        Ok(Act::JointMeetingConvened(JointMeetingConvened {
            meeting_id: c.meeting_id,
            kind: c.kind,
            held_on: c.held_on,
            attendees: c.attendees.clone(),
            agenda: c.agenda.clone(),
            decisions: c.decisions.clone(),
            by: self.unit(),
        }))
    }

    fn inspect(&self, c: &RecordSafetyInspection) -> Result<Act, Rejection> {
        self.require_housing("组织安全生产抽查", "lead a safety inspection")?;
        self.fresh_record(c.inspection_id)?;
        self.not_future("inspected_on", c.inspected_on)?;
        self.units("compounds", &c.compounds, &[UnitKind::Compound])?;
        self.units("departments", &c.departments, &[UnitKind::Department])?;
        if !c
            .departments
            .iter()
            .any(|unit| SAFETY_PARTNER_UNITS.contains(&unit.as_str()))
        {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                "安全生产抽查须有应急局、消防救援大队或城管局参加",
                "a safety inspection takes at least one of emergency, fire-rescue and urban-management",
            )
            .at("departments"));
        }
        check_text("findings", &c.findings, TEXT_CHARS_MAX, true)?;
        Ok(Act::SafetyInspectionRecorded(SafetyInspectionRecorded {
            inspection_id: c.inspection_id,
            inspected_on: c.inspected_on,
            compounds: c.compounds.clone(),
            departments: c.departments.clone(),
            findings: c.findings.clone(),
            hazards: c.hazards,
            by: self.unit(),
        }))
    }

    fn fire_agreement(&self, c: &SignFireSafetyAgreement) -> Result<Act, Rejection> {
        self.compound(
            &c.compound,
            Local::Community,
            ("组织签订防火协议", "organise a fire-safety agreement"),
        )?;
        if self.state.committee.is_some() {
            return Err(Rejection::new(
                RejectionCode::NotEligible,
                format!("小区 {} 已有业主委员会，防火协议只在物业管理主体不明时签订", c.compound),
                format!(
                    "compound {} has an owners' committee; fire-safety agreements are for compounds with no management body",
                    c.compound
                ),
            )
            .at("compound"));
        }
        self.not_future("signed_on", c.signed_on)?;
        if c.signatories == 0 {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                "防火协议至少要有一名业主或使用人签订",
                "a fire-safety agreement takes at least one signatory",
            )
            .at("signatories"));
        }
        check_text(
            "responsibilities",
            &c.responsibilities,
            TEXT_CHARS_MAX,
            true,
        )?;
        Ok(Act::FireSafetyAgreementSigned(FireSafetyAgreementSigned {
            compound: c.compound.clone(),
            signed_on: c.signed_on,
            signatories: c.signatories,
            responsibilities: c.responsibilities.clone(),
            by: self.unit(),
        }))
    }

    fn form_assembly(&self, c: &FormOwnersAssembly) -> Result<Act, Rejection> {
        let area = self.compound(
            &c.compound,
            Local::TownshipOrCommunity,
            ("指导成立业主大会", "record an owners' assembly"),
        )?;
        if self.state.assembly_formed {
            return Err(Rejection::new(
                RejectionCode::AlreadyExists,
                format!("小区 {} 已成立业主大会", c.compound),
                format!("compound {} already has an owners' assembly", c.compound),
            )
            .at("compound"));
        }
        self.not_future("formed_on", c.formed_on)?;
        Ok(Act::OwnersAssemblyFormed(OwnersAssemblyFormed {
            compound: c.compound.clone(),
            formed_on: c.formed_on,
            community: area.community,
            township: area.township,
            by: self.unit(),
        }))
    }

    /// The rules an election and a term change share.
    fn term(
        &self,
        elected_on: NaiveDate,
        members: u32,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
    ) -> Result<(), Rejection> {
        self.not_future("elected_on", elected_on)?;
        if !(COMMITTEE_MEMBERS_MIN..=COMMITTEE_MEMBERS_MAX).contains(&members)
            || members.is_multiple_of(2)
        {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!(
                    "业主委员会委员应为 {COMMITTEE_MEMBERS_MIN} 至 {COMMITTEE_MEMBERS_MAX} 人单数，不是 {members} 人"
                ),
                format!(
                    "an owners' committee has an odd number of members from {COMMITTEE_MEMBERS_MIN} to {COMMITTEE_MEMBERS_MAX}, not {members}"
                ),
            )
            .at("members"));
        }
        if starts_on < elected_on {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("任期开始 {starts_on} 早于选举日 {elected_on}"),
                format!("the term starts {starts_on}, before the election {elected_on}"),
            )
            .at("term_starts_on"));
        }
        let latest = starts_on.checked_add_months(Months::new(COMMITTEE_TERM_MONTHS_MAX));
        if ends_on <= starts_on || latest.is_none_or(|latest| ends_on > latest) {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("任期 {starts_on} 至 {ends_on} 无效：须在开始之后且不超过 5 年"),
                format!(
                    "the term {starts_on} to {ends_on} is invalid: it must end after it starts and last at most 5 years"
                ),
            )
            .at("term_ends_on"));
        }
        Ok(())
    }

    fn elect(&self, c: &ElectOwnersCommittee) -> Result<Act, Rejection> {
        self.compound(
            &c.compound,
            Local::TownshipOrCommunity,
            ("指导选举业主委员会", "record an owners' committee election"),
        )?;
        if !self.state.assembly_formed {
            return Err(Rejection::new(
                RejectionCode::WrongState,
                format!("小区 {} 尚未成立业主大会，不能选举业主委员会", c.compound),
                format!(
                    "compound {} has no owners' assembly; a committee is elected by the assembly",
                    c.compound
                ),
            ));
        }
        if self.state.committee.is_some() {
            return Err(Rejection::new(
                RejectionCode::AlreadyExists,
                format!("小区 {} 已有业主委员会；新一届请办理换届", c.compound),
                format!(
                    "compound {} already has an owners' committee; record a term change instead",
                    c.compound
                ),
            ));
        }
        self.term(c.elected_on, c.members, c.term_starts_on, c.term_ends_on)?;
        Ok(Act::OwnersCommitteeElected(OwnersCommitteeElected {
            compound: c.compound.clone(),
            elected_on: c.elected_on,
            members: c.members,
            term_starts_on: c.term_starts_on,
            term_ends_on: c.term_ends_on,
            by: self.unit(),
        }))
    }

    fn file_committee(&self, c: &FileOwnersCommittee) -> Result<Act, Rejection> {
        self.compound(
            &c.compound,
            Local::Township,
            ("为业主委员会备案", "file an owners' committee"),
        )?;
        let Some(committee) = &self.state.committee else {
            return Err(Rejection::new(
                RejectionCode::WrongState,
                format!("小区 {} 尚未选举业主委员会，无从备案", c.compound),
                format!(
                    "compound {} has no elected owners' committee to file",
                    c.compound
                ),
            ));
        };
        if committee.filed {
            return Err(Rejection::new(
                RejectionCode::AlreadyExists,
                format!("本届业主委员会（{} 起）已备案", committee.term_starts_on),
                format!(
                    "the committee of the term starting {} is already filed",
                    committee.term_starts_on
                ),
            ));
        }
        check_text("filing_no", &c.filing_no, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::OwnersCommitteeFiled(OwnersCommitteeFiled {
            compound: c.compound.clone(),
            filing_no: c.filing_no.clone(),
            term_starts_on: committee.term_starts_on,
            by: self.unit(),
        }))
    }

    fn change_term(&self, c: &ChangeOwnersCommitteeTerm) -> Result<Act, Rejection> {
        self.compound(
            &c.compound,
            Local::TownshipOrCommunity,
            (
                "指导业主委员会换届",
                "record an owners' committee term change",
            ),
        )?;
        let Some(committee) = &self.state.committee else {
            return Err(Rejection::new(
                RejectionCode::WrongState,
                format!("小区 {} 尚未选举业主委员会，不能换届", c.compound),
                format!(
                    "compound {} has no owners' committee whose term could change",
                    c.compound
                ),
            ));
        };
        if c.term_starts_on <= committee.term_starts_on {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!(
                    "新一届任期须晚于本届（{} 起）开始",
                    committee.term_starts_on
                ),
                format!(
                    "the new term must start after the current one (from {})",
                    committee.term_starts_on
                ),
            )
            .at("term_starts_on"));
        }
        self.term(c.elected_on, c.members, c.term_starts_on, c.term_ends_on)?;
        Ok(Act::OwnersCommitteeTermChanged(
            OwnersCommitteeTermChanged {
                compound: c.compound.clone(),
                elected_on: c.elected_on,
                members: c.members,
                term_starts_on: c.term_starts_on,
                term_ends_on: c.term_ends_on,
                by: self.unit(),
            },
        ))
    }

    fn apply_fund(&self, c: &ApplyMaintenanceFund) -> Result<Act, Rejection> {
        self.compound(
            &c.compound,
            Local::TownshipOrCommunity,
            (
                "登记维修资金使用申请",
                "record a maintenance-fund application",
            ),
        )?;
        if self.state.funds.contains_key(&c.application_id) {
            return Err(Rejection::new(
                RejectionCode::AlreadyExists,
                format!("申请 {} 已存在", c.application_id),
                format!("application {} already exists", c.application_id),
            )
            .at("application_id"));
        }
        if c.amount_fen == 0 {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                "申请金额须大于零",
                "the amount applied for must be more than zero",
            )
            .at("amount_fen"));
        }
        check_text("purpose", &c.purpose, TEXT_CHARS_MAX, true)?;
        Ok(Act::MaintenanceFundApplied(MaintenanceFundApplied {
            compound: c.compound.clone(),
            application_id: c.application_id,
            amount_fen: c.amount_fen,
            purpose: c.purpose.clone(),
            by: self.unit(),
        }))
    }

    fn application(&self, id: Uuid) -> Result<&FundApplication, Rejection> {
        self.state.funds.get(&id).ok_or_else(|| {
            Rejection::new(
                RejectionCode::NotFound,
                format!("维修资金申请 {id} 不存在"),
                format!("maintenance-fund application {id} does not exist"),
            )
            .at("application_id")
        })
    }

    fn review_fund(&self, c: &ReviewMaintenanceFund) -> Result<Act, Rejection> {
        self.require_housing("审核维修资金申请", "review a maintenance-fund application")?;
        self.county_compound(&c.compound)?;
        let application = self.application(c.application_id)?;
        if application.status != FundStatus::Pending {
            return Err(Rejection::new(
                RejectionCode::WrongState,
                format!("申请 {} 已审核", c.application_id),
                format!("application {} was already reviewed", c.application_id),
            )
            .at("application_id"));
        }
        if c.approved {
            if c.approved_fen == 0 || c.approved_fen > application.requested_fen {
                return Err(Rejection::new(
                    RejectionCode::InvalidField,
                    format!(
                        "核准金额 {} 分应在 1 至申请金额 {} 分之间",
                        c.approved_fen, application.requested_fen
                    ),
                    format!(
                        "the approved amount {} fen must be from 1 to the {} fen applied for",
                        c.approved_fen, application.requested_fen
                    ),
                )
                .at("approved_fen"));
            }
            check_text("reason", &c.reason, SHORT_TEXT_CHARS_MAX, false)?;
        } else {
            if c.approved_fen != 0 {
                return Err(Rejection::new(
                    RejectionCode::InvalidField,
                    "不予核准时核准金额应为零",
                    "a rejection approves zero fen",
                )
                .at("approved_fen"));
            }
            check_text("reason", &c.reason, SHORT_TEXT_CHARS_MAX, true)?;
        }
        Ok(Act::MaintenanceFundReviewed(MaintenanceFundReviewed {
            compound: c.compound.clone(),
            application_id: c.application_id,
            approved: c.approved,
            approved_fen: c.approved_fen,
            reason: c.reason.clone(),
            by: self.unit(),
        }))
    }

    fn disburse_fund(&self, c: &DisburseMaintenanceFund) -> Result<Act, Rejection> {
        self.require_housing("拨付维修资金", "disburse the maintenance fund")?;
        self.county_compound(&c.compound)?;
        let application = self.application(c.application_id)?;
        if application.status != FundStatus::Approved {
            return Err(Rejection::new(
                RejectionCode::WrongState,
                format!("申请 {} 未经核准，不能拨付", c.application_id),
                format!(
                    "application {} is not approved; nothing may be disbursed",
                    c.application_id
                ),
            )
            .at("application_id"));
        }
        if c.amount_fen == 0 {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                "拨付金额须大于零",
                "a disbursement must be more than zero",
            )
            .at("amount_fen"));
        }
        let remaining = application
            .approved_fen
            .saturating_sub(application.disbursed_fen);
        if c.amount_fen > remaining {
            return Err(Rejection::new(
                RejectionCode::ExceedsApproved,
                format!(
                    "拨付 {} 分超过核准余额 {remaining} 分（核准 {} 分，已拨 {} 分）",
                    c.amount_fen, application.approved_fen, application.disbursed_fen
                ),
                format!(
                    "{} fen exceeds the {remaining} fen left of the approval ({} approved, {} disbursed)",
                    c.amount_fen, application.approved_fen, application.disbursed_fen
                ),
            )
            .at("amount_fen"));
        }
        Ok(Act::MaintenanceFundDisbursed(MaintenanceFundDisbursed {
            compound: c.compound.clone(),
            application_id: c.application_id,
            amount_fen: c.amount_fen,
            // No overflow: amount ≤ approved − disbursed.
            disbursed_total_fen: application.disbursed_fen + c.amount_fen,
            by: self.unit(),
        }))
    }

    fn name_liaison(&self, c: &NamePropertyLiaison) -> Result<Act, Rejection> {
        self.compound(
            &c.compound,
            Local::Community,
            ("指定物管员", "name a property liaison"),
        )?;
        check_text("name", &c.name, SHORT_TEXT_CHARS_MAX, true)?;
        check_text("contact", &c.contact, SHORT_TEXT_CHARS_MAX, true)?;
        self.not_future("published_on", c.published_on)?;
        Ok(Act::PropertyLiaisonNamed(PropertyLiaisonNamed {
            compound: c.compound.clone(),
            name: c.name.clone(),
            contact: c.contact.clone(),
            published_on: c.published_on,
            by: self.unit(),
        }))
    }
}
