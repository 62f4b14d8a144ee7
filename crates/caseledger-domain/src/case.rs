//! 投诉案件 — the complaint case: its state, its commands, `decide` (every rule) and `evolve`
//! (no rule).
//!
//! The lifecycle (DOMAIN.md §2), in the shape of a 12345 work order
//! (受理 → 派单 → 签收 → 办理 → 办结 → 回访 → 评价 → 归档):
//!
//! ```text
//! Filed ─dispatch─> Dispatched ─accept─> Accepted ─(contact, inspect, rectify, penalise,
//!   │                 │   ^  ^              │  mediate, joint enforcement)─> InProgress
//!   │                 │   │  └─transfer 移送─┤                                   │
//!   │                 └─return 退单─> Returned ─dispatch again─┘                 │
//!   │                                                       Accepted/InProgress ─resolve─> Resolved
//!   │                        Resolved ─feedback satisfied / basically satisfied─> Closed
//!   │                        Resolved ─dissatisfied, judged reasonable─> Reopened ─(handle)─> InProgress
//!   │                        Resolved ─dissatisfied, judged not reasonable, or unrated─> Closed
//!   ├─merge 并单─> Merged          any open state ─withdraw 撤回─> Withdrawn
//!   extend 延期 and supervise 督办 change deadlines and flags, not the state.
//! ```
//!
//! Who may act (checked in this order: the case exists, the role, the state, the unit's
//! jurisdiction or assignment, the fields):
//! - file: intake, the Office, a department, or a township / community for a compound in its
//!   area;
//! - dispatch: the Office, housing or petitions (county level; to the compound's own township
//!   or community, or to any department), or a township within its area (to itself or the
//!   compound's community; a department is reached by transfer). A returned or reopened case is
//!   dispatched again by its dispatcher or at county level;
//! - accept, return (with reason, within the return window), contact, inspect, order and verify
//!   rectification, mediate (township or community), resolve: only the unit the case is
//!   dispatched to;
//! - transfer (移送): the township handling the case, to a department responsible for its
//!   category;
//! - penalise: only a department with enforcement powers over the category;
//! - joint enforcement: the compound's township;
//! - extend (once, at most the policy's working days): the case's dispatcher or county level;
//! - supervise (督办): county level only;
//! - feedback (回访): intake, the dispatcher or county level; close and reopen: the dispatcher
//!   or county level (close also intake);
//! - merge: county level or the compound's township; withdraw: intake, the filing unit or
//!   county level; erase personal data: the Office.
//!
//! ```
//! use caseledger_domain::case::{evolve, CaseState, CaseStatus};
//! use caseledger_domain::act::{Act, CaseId, CaseWithdrawn};
//!
//! let state = CaseState::default();
//! assert_eq!(state.status, CaseStatus::NotFiled);
//! let withdrawn = Act::CaseWithdrawn(CaseWithdrawn {
//!     case_id: CaseId(uuid::Uuid::from_u128(1)),
//!     by: "12345".parse().unwrap(),
//!     reason: "撤回".into(),
//! });
//! // evolve never refuses: it only records what decide allowed.
//! assert_eq!(evolve(state, &withdrawn).status, CaseStatus::Withdrawn);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::act::*;
use crate::context::{deadline_rejection, Context};
use crate::deadline::{add_working_days, Clock, Deadline, Severity};
use crate::ids::{Category, UnitId, Uscc};
use crate::principal::Role;
use crate::registry::UnitKind;
use crate::rejection::{Rejection, RejectionCode};
use crate::seal::Sealed;

/// The most a fine may be, in fen (one hundred million yuan). Anything larger is a typo.
pub const FINE_FEN_MAX: u64 = 10_000_000_000;

/// The most working days a rectification order may allow.
pub const RECTIFICATION_WORKING_DAYS_MAX: u32 = 60;

/// The most rectification orders on one case.
pub const RECTIFICATIONS_MAX: u32 = 100;

// ---------------------------------------------------------------------------------------------
// State.

/// Where a case stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStatus {
    /// No complaint filed yet: the stream is empty.
    #[default]
    NotFiled,
    /// 已受理 — filed, waiting for dispatch.
    Filed,
    /// 已派单 — dispatched, waiting for acceptance.
    Dispatched,
    /// 已签收 — accepted by the handling unit.
    Accepted,
    /// 办理中 — being handled.
    InProgress,
    /// 已办结 — resolved, waiting for feedback.
    Resolved,
    /// 已归档 — closed.
    Closed,
    /// 已退单 — returned to the dispatcher.
    Returned,
    /// 再次处置 — reopened after reasonable dissatisfaction.
    Reopened,
    /// 已并单 — merged into another case.
    Merged,
    /// 已撤回 — withdrawn.
    Withdrawn,
}

impl CaseStatus {
    /// The status in Chinese, for messages.
    pub fn zh(self) -> &'static str {
        match self {
            CaseStatus::NotFiled => "未受理",
            CaseStatus::Filed => "已受理待派单",
            CaseStatus::Dispatched => "已派单待签收",
            CaseStatus::Accepted => "已签收",
            CaseStatus::InProgress => "办理中",
            CaseStatus::Resolved => "已办结待回访",
            CaseStatus::Closed => "已归档",
            CaseStatus::Returned => "已退单",
            CaseStatus::Reopened => "再次处置",
            CaseStatus::Merged => "已并单",
            CaseStatus::Withdrawn => "已撤回",
        }
    }

    /// The status in English, for messages.
    pub fn en(self) -> &'static str {
        match self {
            CaseStatus::NotFiled => "not filed",
            CaseStatus::Filed => "filed",
            CaseStatus::Dispatched => "dispatched",
            CaseStatus::Accepted => "accepted",
            CaseStatus::InProgress => "in progress",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Closed => "closed",
            CaseStatus::Returned => "returned",
            CaseStatus::Reopened => "reopened",
            CaseStatus::Merged => "merged",
            CaseStatus::Withdrawn => "withdrawn",
        }
    }

    /// True while the case can still change: filed and not closed, merged or withdrawn.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::NotFiled | CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Withdrawn
        )
    }

    /// True while the handling unit works on it (accepted, in progress, reopened).
    pub fn is_handling(self) -> bool {
        matches!(
            self,
            CaseStatus::Accepted | CaseStatus::InProgress | CaseStatus::Reopened
        )
    }
}

/// A rectification order's standing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rectification {
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Whether it was verified (passed or not).
    pub verified: bool,
}

/// Feedback recorded after resolution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Feedback {
    /// The rating.
    pub rating: Rating,
    /// Whether the complainant says it was resolved.
    pub resolved: bool,
}

/// A case, folded from its acts by [`evolve`]. Every field is a fact an act stated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseState {
    /// Acts applied (the stream version).
    pub version: u64,
    /// The case id, once filed.
    pub case_id: Option<CaseId>,
    /// Where it stands.
    pub status: CaseStatus,
    /// The unit that filed it.
    pub filed_by: Option<UnitId>,
    /// The compound it is about.
    pub compound: Option<UnitId>,
    /// The compound's community.
    pub community: Option<UnitId>,
    /// The compound's township.
    pub township: Option<UnitId>,
    /// Its category.
    pub category: Option<Category>,
    /// Its severity.
    pub severity: Option<Severity>,
    /// The firm complained about.
    pub firm: Option<Uscc>,
    /// The sealed complainant data's key id (for erasure).
    pub complainant: Option<Sealed>,
    /// The unit that dispatched (or transferred) it to its current handler; after a return,
    /// the unit it went back to.
    pub dispatcher: Option<UnitId>,
    /// 承办单位 — the unit it is dispatched to.
    pub assignee: Option<UnitId>,
    /// Every unit it was ever dispatched or transferred to (they may read it).
    pub handlers: BTreeSet<UnitId>,
    /// The running clocks.
    pub deadlines: BTreeMap<Clock, Deadline>,
    /// Extensions granted.
    pub extensions: u32,
    /// Whether the handler contacted the complainant since acceptance.
    pub contacted: bool,
    /// Rectification orders by number.
    pub rectifications: BTreeMap<u32, Rectification>,
    /// Supervision notices issued.
    pub supervisions: u32,
    /// The finding at the last resolution.
    pub finding: Option<Finding>,
    /// Feedback on the last resolution.
    pub feedback: Option<Feedback>,
    /// The case it was merged into.
    pub merged_into: Option<CaseId>,
    /// Whether the complainant's personal data was erased.
    pub personal_data_erased: bool,
}

impl CaseState {
    /// The state after `acts`, from the empty stream.
    pub fn replay<'a>(acts: impl IntoIterator<Item = &'a Act>) -> CaseState {
        acts.into_iter().fold(CaseState::default(), evolve)
    }
}

/// Applies one act. Total and rule-free: it never fails and checks nothing; acts of other
/// kinds (firm acts) leave the state as it is.
pub fn evolve(mut state: CaseState, act: &Act) -> CaseState {
    if !act.is_case_act() {
        return state;
    }
    state.version += 1;
    match act {
        Act::ComplaintFiled(a) => {
            state.case_id = Some(a.case_id);
            state.status = CaseStatus::Filed;
            state.filed_by = Some(a.filed_by.clone());
            state.compound = Some(a.compound.clone());
            state.community = Some(a.community.clone());
            state.township = Some(a.township.clone());
            state.category = Some(a.category.clone());
            state.severity = Some(a.severity);
            state.firm = a.firm.clone();
            state.complainant = Some(a.complainant.clone());
            state.deadlines.clear();
            state.deadlines.insert(Clock::Dispatch, a.dispatch_deadline);
        }
        Act::CaseDispatched(a) => {
            dispatched(
                &mut state,
                &a.from,
                &a.to,
                a.accept_deadline,
                a.return_deadline,
            );
        }
        Act::CaseTransferred(a) => {
            dispatched(
                &mut state,
                &a.from,
                &a.to,
                a.accept_deadline,
                a.return_deadline,
            );
        }
        Act::CaseAccepted(a) => {
            state.status = CaseStatus::Accepted;
            state.contacted = false;
            state.deadlines.remove(&Clock::Accept);
            state
                .deadlines
                .insert(Clock::FirstContact, a.first_contact_deadline);
            state.deadlines.insert(Clock::Resolve, a.resolve_deadline);
        }
        Act::CaseReturned(a) => {
            state.status = CaseStatus::Returned;
            state.assignee = None;
            state.dispatcher = Some(a.to.clone());
            state.deadlines.clear();
            state.deadlines.insert(Clock::Dispatch, a.dispatch_deadline);
        }
        Act::ComplainantContacted(_) => {
            state.contacted = true;
            state.deadlines.remove(&Clock::FirstContact);
            start_handling(&mut state);
        }
        Act::InspectionRecorded(_)
        | Act::PenaltyImposed(_)
        | Act::MediationRecorded(_)
        | Act::JointEnforcementRecorded(_) => start_handling(&mut state),
        Act::RectificationOrdered(a) => {
            state.rectifications.insert(
                a.order,
                Rectification {
                    due_at: a.due_at,
                    verified: false,
                },
            );
            start_handling(&mut state);
        }
        Act::RectificationVerified(a) => {
            if let Some(order) = state.rectifications.get_mut(&a.order) {
                order.verified = true;
            }
            start_handling(&mut state);
        }
        Act::ExtensionGranted(a) => {
            state.extensions += 1;
            state.deadlines.insert(Clock::Resolve, a.resolve_deadline);
        }
        Act::SupervisionIssued(_) => state.supervisions += 1,
        Act::CaseResolved(a) => {
            state.status = CaseStatus::Resolved;
            state.finding = Some(a.finding);
            state.feedback = None;
            state.deadlines.clear();
            state
                .deadlines
                .insert(Clock::FollowUp, a.follow_up_deadline);
            state
                .deadlines
                .insert(Clock::CloseUnrated, a.close_unrated_deadline);
        }
        Act::FeedbackRecorded(a) => {
            state.feedback = Some(Feedback {
                rating: a.rating,
                resolved: a.resolved,
            });
            state.deadlines.remove(&Clock::FollowUp);
        }
        Act::CaseClosed(_) => {
            state.status = CaseStatus::Closed;
            state.deadlines.clear();
        }
        Act::CaseReopened(a) => {
            state.status = CaseStatus::Reopened;
            state.assignee = Some(a.unit.clone());
            state.handlers.insert(a.unit.clone());
            state.feedback = None;
            state.contacted = false;
            state.deadlines.clear();
            state.deadlines.insert(Clock::Resolve, a.resolve_deadline);
        }
        Act::CaseMerged(a) => {
            state.status = CaseStatus::Merged;
            state.merged_into = Some(a.into);
            state.deadlines.clear();
        }
        Act::CaseWithdrawn(_) => {
            state.status = CaseStatus::Withdrawn;
            state.deadlines.clear();
        }
        Act::PersonalDataErased(_) => state.personal_data_erased = true,
        _ => {}
    }
    state
}

fn dispatched(
    state: &mut CaseState,
    from: &UnitId,
    to: &UnitId,
    accept: Deadline,
    return_window: Deadline,
) {
    state.status = CaseStatus::Dispatched;
    state.dispatcher = Some(from.clone());
    state.assignee = Some(to.clone());
    state.handlers.insert(to.clone());
    state.contacted = false;
    state.deadlines.clear();
    state.deadlines.insert(Clock::Accept, accept);
    state.deadlines.insert(Clock::Return, return_window);
}

fn start_handling(state: &mut CaseState) {
    if matches!(state.status, CaseStatus::Accepted | CaseStatus::Reopened) {
        state.status = CaseStatus::InProgress;
    }
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// 受理 — file a complaint. The service seals the complainant's personal data before it
/// builds this command (see [`crate::seal::seal`]), with the stream name `case/<uuid>` as
/// the sealing context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileComplaint {
    /// The new case's id.
    pub case_id: CaseId,
    /// How it arrived.
    pub channel: Channel,
    /// The compound it is about.
    pub compound: UnitId,
    /// Its category (responsibility matrix slug).
    pub category: Category,
    /// How serious. `urgent` only for categories the matrix marks as urgent safety.
    pub severity: Severity,
    /// The firm complained about, if any.
    pub firm: Option<Uscc>,
    /// What it is about, without personal data.
    pub summary: String,
    /// The sealed complainant data.
    pub complainant: Sealed,
}

/// 派单 — dispatch the case to a township, community or department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchCase {
    /// The unit to handle it.
    pub to: UnitId,
    /// Instructions.
    #[serde(default)]
    pub note: String,
}

/// 签收 — accept the case dispatched to the acting unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptCase {}

/// 退单 — send the case back to its dispatcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnCase {
    /// Why (required).
    pub reason: String,
}

/// 移送 — a township transfers the case to a county department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferCase {
    /// The department.
    pub to: UnitId,
    /// Why (required).
    pub reason: String,
}

/// 先行联系 — record contact with the complainant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactComplainant {
    /// How.
    pub method: ContactMethod,
    /// What was said, without personal data.
    #[serde(default)]
    pub note: String,
}

/// 现场核查 — record an inspection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInspection {
    /// What was found (required).
    pub findings: String,
    /// Whether the complaint was borne out.
    pub substantiated: bool,
    /// A black-list-grade violation found, if any.
    #[serde(default)]
    pub severe_violation: Option<SevereViolation>,
}

/// 责令整改 — order a rectification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRectification {
    /// What must be done (required).
    pub requirement: String,
    /// Working days allowed (1 to 60).
    pub working_days: u32,
}

/// 整改复查 — verify a rectification order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRectification {
    /// The order's number.
    pub order: u32,
    /// Whether it passed.
    pub passed: bool,
    /// Notes.
    #[serde(default)]
    pub note: String,
}

/// 行政处罚 — impose a penalty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImposePenalty {
    /// On whom.
    pub party: PenalisedParty,
    /// 法律依据 (required).
    pub legal_basis: String,
    /// 处罚决定书文号 (required).
    pub decision_no: String,
    /// The fine in fen; 0 for none.
    #[serde(default)]
    pub fine_fen: u64,
}

/// 调解 — record a mediation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMediation {
    /// The parties, by role (at least two).
    pub parties: Vec<String>,
    /// The outcome.
    pub outcome: MediationOutcome,
    /// Notes.
    #[serde(default)]
    pub note: String,
}

/// 联合执法 — record joint enforcement led by the compound's township.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordJointEnforcement {
    /// The departments taking part (at least one).
    pub departments: Vec<UnitId>,
    /// The targets (required).
    pub targets: String,
    /// What was found and done (required).
    pub findings: String,
}

/// 延期 — extend the resolution deadline (once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantExtension {
    /// Working days to add (1 to the policy's maximum).
    pub working_days: u32,
    /// Why (required).
    pub reason: String,
}

/// 督办 — issue a supervision notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueSupervision {
    /// Why (required).
    pub reason: String,
}

/// 办结 — resolve the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveCase {
    /// What was done (required).
    pub summary: String,
    /// Whether the complaint was founded.
    pub finding: Finding,
}

/// 回访 — record the complainant's feedback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordFeedback {
    /// The rating.
    pub rating: Rating,
    /// Whether the complainant says the issue was resolved.
    pub resolved: bool,
    /// Notes, without personal data.
    #[serde(default)]
    pub note: String,
}

/// 归档 — close a resolved case whose dissatisfaction was judged not reasonable, or that got
/// no feedback within the close-unrated window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCase {}

/// 再次处置 — reopen a case whose dissatisfied rating was judged reasonable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenCase {
    /// Why the dissatisfaction is reasonable (required).
    pub reason: String,
}

/// 并单 — merge the case into another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCase {
    /// The case it continues in: one that exists in the caller's jurisdiction and is still
    /// being handled (not resolved, closed, merged or withdrawn). The service checks it; this
    /// decision sees only the merged case.
    pub into: CaseId,
    /// Why (required).
    pub reason: String,
}

/// 撤回 — withdraw the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawCase {
    /// Why (required).
    pub reason: String,
}

/// 个人信息删除 — erase the complainant's personal data. The service destroys the key after
/// the act is appended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasePersonalData {
    /// 法律依据 (required).
    pub legal_basis: String,
}

macro_rules! commands {
    ($enum:ident, $schemas:ident, $( $name:ident ),* $(,)?) => {
        /// Every command. In JSON, `{"command": "<Name>", …fields}`.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "command")]
        pub enum $enum {
            $(
                #[doc = concat!("See [`", stringify!($name), "`].")]
                $name($name),
            )*
        }

        impl $enum {
            /// The command's name (`DispatchCase`).
            pub fn name(&self) -> &'static str {
                match self {
                    $( $enum::$name(_) => stringify!($name), )*
                }
            }
        }

        /// The JSON Schema of each command's JSON form (`{"command": "<Name>", …}`).
        pub fn $schemas() -> Vec<(&'static str, schemars::Schema)> {
            vec![
                $( (stringify!($name), crate::act::tagged_schema::<$name>("command", stringify!($name))), )*
            ]
        }
    };
}

commands!(
    CaseCommand,
    case_command_schemas,
    FileComplaint,
    DispatchCase,
    AcceptCase,
    ReturnCase,
    TransferCase,
    ContactComplainant,
    RecordInspection,
    OrderRectification,
    VerifyRectification,
    ImposePenalty,
    RecordMediation,
    RecordJointEnforcement,
    GrantExtension,
    IssueSupervision,
    ResolveCase,
    RecordFeedback,
    CloseCase,
    ReopenCase,
    MergeCase,
    WithdrawCase,
    ErasePersonalData,
);

// ---------------------------------------------------------------------------------------------
// Decide.

/// Decides a command against a case: the acts to append, or why not. Every rule of the case
/// lives here. Deadlines and on-time flags are computed from `context.now` and carried in the
/// acts.
pub fn decide(
    state: &CaseState,
    command: &CaseCommand,
    context: &Context<'_>,
) -> Result<Vec<Act>, Rejection> {
    if let CaseCommand::FileComplaint(command) = command {
        return file(state, command, context).map(|act| vec![act]);
    }
    let Some(case_id) = state.case_id else {
        return Err(Rejection::new(
            RejectionCode::NotFound,
            "案件不存在（尚未受理）",
            "the case does not exist (no complaint was filed)",
        ));
    };
    let case = Case {
        state,
        case_id,
        context,
    };
    let act = match command {
        CaseCommand::FileComplaint(_) => unreachable!("handled above"),
        CaseCommand::DispatchCase(command) => case.dispatch(command)?,
        CaseCommand::AcceptCase(_) => case.accept()?,
        CaseCommand::ReturnCase(command) => case.give_back(command)?,
        CaseCommand::TransferCase(command) => case.transfer(command)?,
        CaseCommand::ContactComplainant(command) => case.contact(command)?,
        CaseCommand::RecordInspection(command) => case.inspect(command)?,
        CaseCommand::OrderRectification(command) => case.order_rectification(command)?,
        CaseCommand::VerifyRectification(command) => case.verify_rectification(command)?,
        CaseCommand::ImposePenalty(command) => case.penalise(command)?,
        CaseCommand::RecordMediation(command) => case.mediate(command)?,
        CaseCommand::RecordJointEnforcement(command) => case.joint_enforcement(command)?,
        CaseCommand::GrantExtension(command) => case.extend(command)?,
        CaseCommand::IssueSupervision(command) => case.supervise(command)?,
        CaseCommand::ResolveCase(command) => case.resolve(command)?,
        CaseCommand::RecordFeedback(command) => return case.feedback(command),
        CaseCommand::CloseCase(_) => case.close()?,
        CaseCommand::ReopenCase(command) => case.reopen(command)?,
        CaseCommand::MergeCase(command) => case.merge(command)?,
        CaseCommand::WithdrawCase(command) => case.withdraw(command)?,
        CaseCommand::ErasePersonalData(command) => case.erase(command)?,
    };
    Ok(vec![act])
}

/// Checks a text field: at most `max` characters, and not blank when required.
pub(crate) fn check_text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<(), Rejection> {
    if required && value.trim().is_empty() {
        return Err(Rejection::new(
            RejectionCode::InvalidField,
            format!("{field} 不能为空"),
            format!("{field} must not be empty"),
        )
        .at(field));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(Rejection::new(
            RejectionCode::InvalidField,
            format!("{field} 过长：{chars} 字，最多 {max} 字"),
            format!("{field} is too long: {chars} characters, at most {max}"),
        )
        .at(field));
    }
    Ok(())
}

fn wrong_role(context: &Context<'_>, action_zh: &str, action_en: &str) -> Rejection {
    let role = context.principal.role;
    Rejection::new(
        RejectionCode::WrongRole,
        format!("{}（{}）无权{action_zh}", role.zh(), context.principal.unit),
        format!("a {role} ({}) may not {action_en}", context.principal.unit),
    )
}

fn unknown_unit(field: &str, unit: &UnitId, expected_zh: &str, expected_en: &str) -> Rejection {
    Rejection::new(
        RejectionCode::UnknownUnit,
        format!("{unit} 不是名录中的{expected_zh}"),
        format!("{unit} is not a {expected_en} in the registry"),
    )
    .at(field)
}

fn file(
    state: &CaseState,
    command: &FileComplaint,
    context: &Context<'_>,
) -> Result<Act, Rejection> {
    let principal = &context.principal;
    let registry = &context.rules.registry;
    if state.status != CaseStatus::NotFiled {
        return Err(Rejection::new(
            RejectionCode::AlreadyExists,
            format!("案件 {} 已受理", command.case_id),
            format!("case {} was already filed", command.case_id),
        )
        .at("case_id"));
    }
    if !matches!(
        principal.role,
        Role::Intake | Role::Office | Role::Department | Role::Township | Role::Community
    ) {
        return Err(wrong_role(context, "受理投诉", "file a complaint"));
    }
    if command.case_id.0.is_nil() {
        return Err(Rejection::new(
            RejectionCode::InvalidField,
            "案件编号不能为空 UUID",
            "case_id must not be the nil UUID",
        )
        .at("case_id"));
    }
    if registry.kind_of(&command.compound) != Some(UnitKind::Compound) {
        return Err(unknown_unit(
            "compound",
            &command.compound,
            "住宅小区",
            "compound",
        ));
    }
    let (Some(community), Some(township)) = (
        registry.community_of(&command.compound).cloned(),
        registry.township_of(&command.compound).cloned(),
    ) else {
        return Err(unknown_unit(
            "compound",
            &command.compound,
            "住宅小区",
            "compound",
        ));
    };
    if matches!(principal.role, Role::Township | Role::Community)
        && !registry.is_within(&command.compound, &principal.unit)
    {
        return Err(Rejection::new(
            RejectionCode::WrongJurisdiction,
            format!("{} 不在 {} 辖区内", command.compound, principal.unit),
            format!(
                "{} is not in the area of {}",
                command.compound, principal.unit
            ),
        )
        .at("compound"));
    }
    if context.rules.matrix.category(&command.category).is_none() {
        return Err(Rejection::new(
            RejectionCode::UnknownCategory,
            format!("职责分工中没有事项类别 {}", command.category),
            format!(
                "category {} is not in the responsibility matrix",
                command.category
            ),
        )
        .at("category"));
    }
    if command.severity == Severity::Urgent
        && !context.rules.matrix.is_urgent_capable(&command.category)
    {
        return Err(Rejection::new(
            RejectionCode::InvalidField,
            format!(
                "事项类别 {} 不属于紧急安全事项，不能按紧急办理",
                command.category
            ),
            format!(
                "category {} is not urgent safety; it cannot be filed as urgent",
                command.category
            ),
        )
        .at("severity"));
    }
    if let Some(firm) = &command.firm {
        if registry.firm(firm).is_none() {
            return Err(Rejection::new(
                RejectionCode::UnknownUnit,
                format!("物业服务企业 {firm} 不在名录中"),
                format!("firm {firm} is not in the registry"),
            )
            .at("firm"));
        }
    }
    check_text("summary", &command.summary, TEXT_CHARS_MAX, true)?;
    let sealed = &command.complainant;
    if sealed.nonce.len() != crate::seal::NONCE_BYTES
        || sealed.ciphertext.len() > crate::seal::CIPHERTEXT_BYTES_MAX
    {
        return Err(Rejection::new(
            RejectionCode::InvalidField,
            format!(
                "投诉人密文格式错误：随机数应为 {} 字节，密文最多 {} 字节",
                crate::seal::NONCE_BYTES,
                crate::seal::CIPHERTEXT_BYTES_MAX
            ),
            format!(
                "the sealed complainant data is malformed: the nonce takes {} bytes and the ciphertext at most {}",
                crate::seal::NONCE_BYTES,
                crate::seal::CIPHERTEXT_BYTES_MAX
            ),
        )
        .at("complainant"));
    }
    let dispatch_deadline = context.clock(Clock::Dispatch, command.severity)?;
    Ok(Act::ComplaintFiled(ComplaintFiled {
        case_id: command.case_id,
        channel: command.channel,
        filed_by: principal.unit.clone(),
        compound: command.compound.clone(),
        community,
        township,
        category: command.category.clone(),
        severity: command.severity,
        firm: command.firm.clone(),
        summary: command.summary.clone(),
        complainant: command.complainant.clone(),
        dispatch_deadline,
    }))
}

/// A filed case under decision.
struct Case<'s, 'c> {
    state: &'s CaseState,
    case_id: CaseId,
    context: &'s Context<'c>,
}

impl Case<'_, '_> {
    fn unit(&self) -> &UnitId {
        &self.context.principal.unit
    }

    fn severity(&self) -> Severity {
        self.state.severity.unwrap_or(Severity::General)
    }

    fn wrong_state(&self, action_zh: &str, action_en: &str) -> Rejection {
        let status = self.state.status;
        Rejection::new(
            RejectionCode::WrongState,
            format!("案件{}，不能{action_zh}", status.zh()),
            format!("the case is {}; it cannot be {action_en}", status.en()),
        )
    }

    fn require_state(
        &self,
        allowed: &[CaseStatus],
        action_zh: &str,
        action_en: &str,
    ) -> Result<(), Rejection> {
        if allowed.contains(&self.state.status) {
            Ok(())
        } else {
            Err(self.wrong_state(action_zh, action_en))
        }
    }

    fn require_assignee(&self, action_zh: &str, action_en: &str) -> Result<(), Rejection> {
        if self.state.assignee.as_ref() == Some(self.unit()) {
            return Ok(());
        }
        let assignee = self
            .state
            .assignee
            .as_ref()
            .map(UnitId::as_str)
            .unwrap_or("-");
        Err(Rejection::new(
            RejectionCode::NotAssignee,
            format!(
                "只有承办单位 {assignee} 可以{action_zh}，{} 不是",
                self.unit()
            ),
            format!(
                "only the assigned unit {assignee} may {action_en}; {} is not",
                self.unit()
            ),
        ))
    }

    /// The county level (Office, housing, petitions) or the unit that dispatched the case.
    fn is_dispatcher(&self) -> bool {
        self.context.principal.is_county_dispatcher()
            || self.state.dispatcher.as_ref() == Some(self.unit())
    }

    fn require_dispatcher(
        &self,
        allow_intake: bool,
        action_zh: &str,
        action_en: &str,
    ) -> Result<(), Rejection> {
        if self.is_dispatcher() || (allow_intake && self.context.principal.role == Role::Intake) {
            return Ok(());
        }
        match self.context.principal.role {
            Role::Township | Role::Community | Role::Department => {
                let dispatcher = self
                    .state
                    .dispatcher
                    .as_ref()
                    .map(UnitId::as_str)
                    .unwrap_or("-");
                Err(Rejection::new(
                    RejectionCode::WrongJurisdiction,
                    format!("只有派单单位 {dispatcher} 或县级派单部门可以{action_zh}"),
                    format!("only the dispatching unit {dispatcher} or the county level may {action_en}"),
                ))
            }
            _ => Err(wrong_role(self.context, action_zh, action_en)),
        }
    }

    fn township(&self) -> Option<&UnitId> {
        self.state.township.as_ref()
    }

    fn deadline_passed(&self, clock: Clock) -> bool {
        self.state
            .deadlines
            .get(&clock)
            .is_some_and(|deadline| deadline.is_overdue_at(self.context.now))
    }

    fn dispatch(&self, command: &DispatchCase) -> Result<Act, Rejection> {
        let principal = &self.context.principal;
        let registry = &self.context.rules.registry;
        let county = principal.is_county_dispatcher();
        if !county && principal.role != Role::Township {
            return Err(wrong_role(self.context, "派单", "dispatch a case"));
        }
        let status = self.state.status;
        let fresh = matches!(
            status,
            CaseStatus::Filed | CaseStatus::Returned | CaseStatus::Reopened
        );
        let redesignate = matches!(
            status,
            CaseStatus::Dispatched | CaseStatus::Accepted | CaseStatus::InProgress
        );
        if !(fresh || redesignate) || (status == CaseStatus::Dispatched && !county) {
            return Err(self.wrong_state("派单", "dispatched"));
        }
        let target_kind = registry.kind_of(&command.to);
        if !matches!(
            target_kind,
            Some(UnitKind::Township | UnitKind::Community | UnitKind::Department)
        ) {
            return Err(unknown_unit(
                "to",
                &command.to,
                "乡镇、社区或县直部门",
                "township, community or department",
            ));
        }
        let local_township = self.township() == Some(&command.to);
        let local_community = self.state.community.as_ref() == Some(&command.to);
        if county {
            if matches!(target_kind, Some(UnitKind::Township | UnitKind::Community))
                && !(local_township || local_community)
            {
                return Err(Rejection::new(
                    RejectionCode::WrongJurisdiction,
                    format!("{} 不是案件所在小区的乡镇或社区", command.to),
                    format!(
                        "{} is not the township or community of the case's compound",
                        command.to
                    ),
                )
                .at("to"));
            }
        } else {
            if self.township() != Some(self.unit()) {
                return Err(Rejection::new(
                    RejectionCode::WrongJurisdiction,
                    format!("案件小区不在 {} 辖区内", self.unit()),
                    format!("the case's compound is not in the area of {}", self.unit()),
                ));
            }
            if redesignate {
                self.require_assignee("向社区派单", "dispatch it on to a community")?;
            } else if status != CaseStatus::Filed
                && self.state.dispatcher.as_ref() != Some(self.unit())
            {
                return Err(Rejection::new(
                    RejectionCode::WrongJurisdiction,
                    "退回或再次处置的案件由原派单单位重新派单",
                    "a returned or reopened case is dispatched again by its dispatcher",
                ));
            }
            let allowed = local_community || (local_township && !redesignate);
            if !allowed {
                return Err(Rejection::new(
                    RejectionCode::WrongJurisdiction,
                    format!("乡镇只能在辖区内派单（本乡镇或小区所在社区），{} 不可；交县直部门请用移送", command.to),
                    format!(
                        "a township dispatches only within its area (itself or the compound's community), not to {}; use a transfer for a department",
                        command.to
                    ),
                )
                .at("to"));
            }
        }
        if redesignate && self.state.assignee.as_ref() == Some(&command.to) {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("案件已由 {} 承办", command.to),
                format!("the case is already with {}", command.to),
            )
            .at("to"));
        }
        check_text("note", &command.note, TEXT_CHARS_MAX, false)?;
        let severity = self.severity();
        Ok(Act::CaseDispatched(CaseDispatched {
            case_id: self.case_id,
            from: self.unit().clone(),
            to: command.to.clone(),
            note: command.note.clone(),
            on_time: !self.deadline_passed(Clock::Dispatch),
            accept_deadline: self.context.clock(Clock::Accept, severity)?,
            return_deadline: self.context.clock(Clock::Return, severity)?,
        }))
    }

    fn accept(&self) -> Result<Act, Rejection> {
        self.require_state(&[CaseStatus::Dispatched], "签收", "accepted")?;
        self.require_assignee("签收", "accept it")?;
        let severity = self.severity();
        Ok(Act::CaseAccepted(CaseAccepted {
            case_id: self.case_id,
            unit: self.unit().clone(),
            on_time: !self.deadline_passed(Clock::Accept),
            first_contact_deadline: self.context.clock(Clock::FirstContact, severity)?,
            resolve_deadline: self.context.clock(Clock::Resolve, severity)?,
        }))
    }

    fn give_back(&self, command: &ReturnCase) -> Result<Act, Rejection> {
        self.require_state(
            &[CaseStatus::Dispatched, CaseStatus::Accepted],
            "退单",
            "returned",
        )?;
        self.require_assignee("退单", "return it")?;
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        if self.deadline_passed(Clock::Return) || !self.state.deadlines.contains_key(&Clock::Return)
        {
            return Err(Rejection::new(
                RejectionCode::ReturnWindowClosed,
                "已超过退单时限",
                "the return window after dispatch has closed",
            ));
        }
        let to = self
            .state
            .dispatcher
            .clone()
            .unwrap_or_else(|| self.unit().clone());
        Ok(Act::CaseReturned(CaseReturned {
            case_id: self.case_id,
            unit: self.unit().clone(),
            to,
            reason: command.reason.clone(),
            dispatch_deadline: self.context.clock(Clock::Dispatch, self.severity())?,
        }))
    }

    fn transfer(&self, command: &TransferCase) -> Result<Act, Rejection> {
        if self.context.principal.role != Role::Township {
            return Err(wrong_role(self.context, "移送案件", "transfer a case"));
        }
        self.require_state(
            &[CaseStatus::Accepted, CaseStatus::InProgress],
            "移送",
            "transferred",
        )?;
        self.require_assignee("移送", "transfer it")?;
        let registry = &self.context.rules.registry;
        if registry.kind_of(&command.to) != Some(UnitKind::Department) {
            return Err(unknown_unit(
                "to",
                &command.to,
                "县直部门",
                "county department",
            ));
        }
        let Some(category) = self.state.category.clone() else {
            return Err(self.wrong_state("移送", "transferred"));
        };
        if !self.context.rules.matrix.is_handler(
            &command.to,
            &category,
            registry,
            self.state.compound.as_ref(),
        ) {
            return Err(Rejection::new(
                RejectionCode::NotResponsible,
                format!("{} 不负责 {} 类事项", command.to, category),
                format!(
                    "{} is not responsible for category {}",
                    command.to, category
                ),
            )
            .at("to"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let severity = self.severity();
        Ok(Act::CaseTransferred(CaseTransferred {
            case_id: self.case_id,
            from: self.unit().clone(),
            to: command.to.clone(),
            reason: command.reason.clone(),
            accept_deadline: self.context.clock(Clock::Accept, severity)?,
            return_deadline: self.context.clock(Clock::Return, severity)?,
        }))
    }

    fn handling(&self, action_zh: &str, action_en: &str, state_en: &str) -> Result<(), Rejection> {
        if !self.state.status.is_handling() {
            return Err(self.wrong_state(action_zh, state_en));
        }
        self.require_assignee(action_zh, action_en)
    }

    fn contact(&self, command: &ContactComplainant) -> Result<Act, Rejection> {
        self.handling("联系投诉人", "contact the complainant", "handled")?;
        check_text("note", &command.note, TEXT_CHARS_MAX, false)?;
        let first = !self.state.contacted;
        Ok(Act::ComplainantContacted(ComplainantContacted {
            case_id: self.case_id,
            unit: self.unit().clone(),
            method: command.method,
            note: command.note.clone(),
            first,
            on_time: !(first && self.deadline_passed(Clock::FirstContact)),
        }))
    }

    fn inspect(&self, command: &RecordInspection) -> Result<Act, Rejection> {
        self.handling("记录核查", "record an inspection", "handled")?;
        check_text("findings", &command.findings, TEXT_CHARS_MAX, true)?;
        Ok(Act::InspectionRecorded(InspectionRecorded {
            case_id: self.case_id,
            unit: self.unit().clone(),
            findings: command.findings.clone(),
            substantiated: command.substantiated,
            severe_violation: command.severe_violation,
        }))
    }

    fn order_rectification(&self, command: &OrderRectification) -> Result<Act, Rejection> {
        self.handling("责令整改", "order a rectification", "handled")?;
        check_text("requirement", &command.requirement, TEXT_CHARS_MAX, true)?;
        if command.working_days == 0 || command.working_days > RECTIFICATION_WORKING_DAYS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("整改期限应为 1 至 {RECTIFICATION_WORKING_DAYS_MAX} 个工作日，不是 {}", command.working_days),
                format!("a rectification takes 1 to {RECTIFICATION_WORKING_DAYS_MAX} working days, not {}", command.working_days),
            )
            .at("working_days"));
        }
        let order = self.state.rectifications.len() as u32 + 1;
        if order > RECTIFICATIONS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("整改令已达上限 {RECTIFICATIONS_MAX}"),
                format!("a case has at most {RECTIFICATIONS_MAX} rectification orders"),
            ));
        }
        let due_at = add_working_days(
            &self.context.rules.calendar,
            self.context.now,
            command.working_days,
        )
        .map_err(|error| deadline_rejection(&error))?;
        Ok(Act::RectificationOrdered(RectificationOrdered {
            case_id: self.case_id,
            unit: self.unit().clone(),
            order,
            requirement: command.requirement.clone(),
            working_days: command.working_days,
            due_at,
        }))
    }

    fn verify_rectification(&self, command: &VerifyRectification) -> Result<Act, Rejection> {
        self.handling("整改复查", "verify a rectification", "handled")?;
        let Some(order) = self
            .state
            .rectifications
            .get(&command.order)
            .filter(|order| !order.verified)
        else {
            return Err(Rejection::new(
                RejectionCode::UnknownRectification,
                format!("没有待复查的第 {} 号整改令", command.order),
                format!(
                    "there is no unverified rectification order {}",
                    command.order
                ),
            )
            .at("order"));
        };
        check_text("note", &command.note, TEXT_CHARS_MAX, false)?;
        Ok(Act::RectificationVerified(RectificationVerified {
            case_id: self.case_id,
            unit: self.unit().clone(),
            order: command.order,
            passed: command.passed,
            overdue: !command.passed || self.context.now >= order.due_at,
            note: command.note.clone(),
        }))
    }

    fn penalise(&self, command: &ImposePenalty) -> Result<Act, Rejection> {
        let principal = &self.context.principal;
        if matches!(
            principal.role,
            Role::Intake | Role::Court | Role::Firm | Role::Public
        ) {
            return Err(wrong_role(self.context, "作出行政处罚", "impose a penalty"));
        }
        if !self.state.status.is_handling() {
            return Err(self.wrong_state("作出处罚", "penalised"));
        }
        let category = self
            .state
            .category
            .as_ref()
            .map(Category::as_str)
            .unwrap_or("-");
        let powers = principal.role == Role::Department
            && self.state.category.as_ref().is_some_and(|category| {
                self.context
                    .rules
                    .matrix
                    .has_enforcement_powers(self.unit(), category)
            });
        if !powers {
            return Err(Rejection::new(
                RejectionCode::NoEnforcementPowers,
                format!(
                    "{} 对 {category} 类事项没有行政执法权，不能处罚",
                    self.unit()
                ),
                format!(
                    "{} has no enforcement powers over category {category} and may not penalise",
                    self.unit()
                ),
            ));
        }
        match &command.party {
            PenalisedParty::Firm(firm) if self.context.rules.registry.firm(firm).is_none() => {
                return Err(Rejection::new(
                    RejectionCode::UnknownUnit,
                    format!("物业服务企业 {firm} 不在名录中"),
                    format!("firm {firm} is not in the registry"),
                )
                .at("party"));
            }
            PenalisedParty::Other(description) => {
                check_text("party", description, SHORT_TEXT_CHARS_MAX, true)?
            }
            PenalisedParty::Firm(_) => {}
        }
        check_text(
            "legal_basis",
            &command.legal_basis,
            SHORT_TEXT_CHARS_MAX,
            true,
        )?;
        check_text(
            "decision_no",
            &command.decision_no,
            SHORT_TEXT_CHARS_MAX,
            true,
        )?;
        if command.fine_fen > FINE_FEN_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("罚款 {} 分超过上限 {FINE_FEN_MAX} 分", command.fine_fen),
                format!(
                    "a fine of {} fen exceeds the limit of {FINE_FEN_MAX} fen",
                    command.fine_fen
                ),
            )
            .at("fine_fen"));
        }
        Ok(Act::PenaltyImposed(PenaltyImposed {
            case_id: self.case_id,
            unit: self.unit().clone(),
            party: command.party.clone(),
            legal_basis: command.legal_basis.clone(),
            decision_no: command.decision_no.clone(),
            fine_fen: command.fine_fen,
        }))
    }

    fn mediate(&self, command: &RecordMediation) -> Result<Act, Rejection> {
        if !matches!(
            self.context.principal.role,
            Role::Community | Role::Township
        ) {
            return Err(wrong_role(self.context, "调解", "mediate"));
        }
        self.handling("调解", "mediate", "mediated")?;
        if command.parties.len() < 2 || command.parties.len() > LIST_ITEMS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("调解当事方应为 2 至 {LIST_ITEMS_MAX} 个"),
                format!("a mediation has 2 to {LIST_ITEMS_MAX} parties"),
            )
            .at("parties"));
        }
        for party in &command.parties {
            check_text("parties", party, SHORT_TEXT_CHARS_MAX, true)?;
        }
        check_text("note", &command.note, TEXT_CHARS_MAX, false)?;
        Ok(Act::MediationRecorded(MediationRecorded {
            case_id: self.case_id,
            unit: self.unit().clone(),
            parties: command.parties.clone(),
            outcome: command.outcome,
            note: command.note.clone(),
        }))
    }

    fn joint_enforcement(&self, command: &RecordJointEnforcement) -> Result<Act, Rejection> {
        if self.context.principal.role != Role::Township {
            return Err(wrong_role(
                self.context,
                "牵头联合执法",
                "lead joint enforcement",
            ));
        }
        if !self.state.status.is_handling() {
            return Err(self.wrong_state("记录联合执法", "enforced jointly"));
        }
        if self.township() != Some(self.unit()) {
            return Err(Rejection::new(
                RejectionCode::WrongJurisdiction,
                format!("联合执法由小区所在乡镇牵头，{} 不是", self.unit()),
                format!(
                    "joint enforcement is led by the compound's township; {} is not",
                    self.unit()
                ),
            ));
        }
        if command.departments.is_empty() || command.departments.len() > LIST_ITEMS_MAX {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                format!("联合执法应有 1 至 {LIST_ITEMS_MAX} 个部门参加"),
                format!("joint enforcement takes 1 to {LIST_ITEMS_MAX} departments"),
            )
            .at("departments"));
        }
        for department in &command.departments {
            if self.context.rules.registry.kind_of(department) != Some(UnitKind::Department) {
                return Err(unknown_unit(
                    "departments",
                    department,
                    "县直部门",
                    "county department",
                ));
            }
        }
        check_text("targets", &command.targets, SHORT_TEXT_CHARS_MAX, true)?;
        check_text("findings", &command.findings, TEXT_CHARS_MAX, true)?;
        Ok(Act::JointEnforcementRecorded(JointEnforcementRecorded {
            case_id: self.case_id,
            lead: self.unit().clone(),
            departments: command.departments.clone(),
            targets: command.targets.clone(),
            findings: command.findings.clone(),
        }))
    }

    fn extend(&self, command: &GrantExtension) -> Result<Act, Rejection> {
        self.require_dispatcher(false, "批准延期", "grant an extension")?;
        if !self.state.status.is_handling() {
            return Err(self.wrong_state("延期", "extended"));
        }
        let policy = &self.context.rules.deadlines;
        if self.state.extensions >= policy.extensions_max {
            return Err(Rejection::new(
                RejectionCode::ExtensionAlreadyGranted,
                format!(
                    "本案已延期 {} 次，最多 {} 次",
                    self.state.extensions, policy.extensions_max
                ),
                format!(
                    "the case was already extended {} time(s); at most {} allowed",
                    self.state.extensions, policy.extensions_max
                ),
            ));
        }
        if command.working_days == 0 {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                "延期天数不能为 0",
                "an extension adds at least 1 working day",
            )
            .at("working_days"));
        }
        if command.working_days > policy.extension_working_days_max {
            return Err(Rejection::new(
                RejectionCode::ExtensionTooLong,
                format!(
                    "延期 {} 个工作日，超过上限 {} 个",
                    command.working_days, policy.extension_working_days_max
                ),
                format!(
                    "an extension of {} working days exceeds the limit of {}",
                    command.working_days, policy.extension_working_days_max
                ),
            )
            .at("working_days"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let current = match self.state.deadlines.get(&Clock::Resolve) {
            Some(deadline) => *deadline,
            None => self.context.clock(Clock::Resolve, self.severity())?,
        };
        let resolve_deadline = current
            .extended(&self.context.rules.calendar, command.working_days)
            .map_err(|error| deadline_rejection(&error))?;
        Ok(Act::ExtensionGranted(ExtensionGranted {
            case_id: self.case_id,
            by: self.unit().clone(),
            working_days: command.working_days,
            reason: command.reason.clone(),
            resolve_deadline,
        }))
    }

    fn supervise(&self, command: &IssueSupervision) -> Result<Act, Rejection> {
        if !self.context.principal.is_county_dispatcher() {
            return Err(wrong_role(
                self.context,
                "督办（仅限领导小组办公室、住建局、信访局）",
                "issue a supervision notice (Office, housing or petitions only)",
            ));
        }
        self.require_state(
            &[
                CaseStatus::Filed,
                CaseStatus::Dispatched,
                CaseStatus::Returned,
                CaseStatus::Accepted,
                CaseStatus::InProgress,
                CaseStatus::Reopened,
            ],
            "督办",
            "supervised",
        )?;
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let overdue_clocks = self
            .state
            .deadlines
            .values()
            // The return window is a permission, not a duty: it cannot be overdue.
            .filter(|deadline| {
                deadline.clock != Clock::Return && deadline.is_overdue_at(self.context.now)
            })
            .map(|deadline| deadline.clock)
            .collect();
        Ok(Act::SupervisionIssued(SupervisionIssued {
            case_id: self.case_id,
            by: self.unit().clone(),
            unit: self
                .state
                .assignee
                .clone()
                .or_else(|| self.state.dispatcher.clone()),
            reason: command.reason.clone(),
            overdue_clocks,
        }))
    }

    fn resolve(&self, command: &ResolveCase) -> Result<Act, Rejection> {
        self.handling("办结", "resolve it", "resolved")?;
        check_text("summary", &command.summary, TEXT_CHARS_MAX, true)?;
        let severity = self.severity();
        Ok(Act::CaseResolved(CaseResolved {
            case_id: self.case_id,
            unit: self.unit().clone(),
            summary: command.summary.clone(),
            finding: command.finding,
            on_time: !self.deadline_passed(Clock::Resolve),
            follow_up_deadline: self.context.clock(Clock::FollowUp, severity)?,
            close_unrated_deadline: self.context.clock(Clock::CloseUnrated, severity)?,
        }))
    }

    fn feedback(&self, command: &RecordFeedback) -> Result<Vec<Act>, Rejection> {
        self.require_dispatcher(true, "记录回访", "record feedback")?;
        self.require_state(&[CaseStatus::Resolved], "回访", "rated")?;
        if self.state.feedback.is_some() {
            return Err(Rejection::new(
                RejectionCode::FeedbackAlreadyRecorded,
                "本次办结已有回访评价",
                "feedback on this resolution was already recorded",
            ));
        }
        check_text("note", &command.note, TEXT_CHARS_MAX, false)?;
        let mut acts = vec![Act::FeedbackRecorded(FeedbackRecorded {
            case_id: self.case_id,
            by: self.unit().clone(),
            rating: command.rating,
            resolved: command.resolved,
            note: command.note.clone(),
            on_time: !self.deadline_passed(Clock::FollowUp),
        })];
        if command.rating != Rating::Dissatisfied {
            acts.push(Act::CaseClosed(CaseClosed {
                case_id: self.case_id,
                by: self.unit().clone(),
                outcome: CloseOutcome::Rated,
            }));
        }
        Ok(acts)
    }

    fn close(&self) -> Result<Act, Rejection> {
        self.require_dispatcher(true, "归档", "close it")?;
        self.require_state(&[CaseStatus::Resolved], "归档", "closed")?;
        let outcome = match &self.state.feedback {
            Some(feedback) if feedback.rating == Rating::Dissatisfied => {
                CloseOutcome::DissatisfactionNotReasonable
            }
            None if self.deadline_passed(Clock::CloseUnrated) => CloseOutcome::Unrated,
            _ => {
                return Err(Rejection::new(
                    RejectionCode::FeedbackRequired,
                    "尚未回访且未到逾期未评价归档时间",
                    "no feedback yet and the close-unrated time has not come",
                ))
            }
        };
        Ok(Act::CaseClosed(CaseClosed {
            case_id: self.case_id,
            by: self.unit().clone(),
            outcome,
        }))
    }

    fn reopen(&self, command: &ReopenCase) -> Result<Act, Rejection> {
        self.require_dispatcher(false, "重新处置", "reopen it")?;
        self.require_state(&[CaseStatus::Resolved], "重新处置", "reopened")?;
        if self.state.feedback.as_ref().map(|feedback| feedback.rating)
            != Some(Rating::Dissatisfied)
        {
            return Err(Rejection::new(
                RejectionCode::FeedbackRequired,
                "只有回访不满意的案件才能再次处置",
                "only a case rated dissatisfied can be reopened",
            ));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        let Some(unit) = self.state.assignee.clone() else {
            return Err(self.wrong_state("重新处置", "reopened"));
        };
        Ok(Act::CaseReopened(CaseReopened {
            case_id: self.case_id,
            by: self.unit().clone(),
            unit,
            reason: command.reason.clone(),
            resolve_deadline: self.context.clock(Clock::Resolve, self.severity())?,
        }))
    }

    fn merge(&self, command: &MergeCase) -> Result<Act, Rejection> {
        let principal = &self.context.principal;
        let local = principal.role == Role::Township && self.township() == Some(self.unit());
        if !principal.is_county_dispatcher() && !local {
            return Err(if principal.role == Role::Township {
                Rejection::new(
                    RejectionCode::WrongJurisdiction,
                    "案件小区不在本乡镇辖区内，不能并单",
                    "the case's compound is not in this township's area; it cannot merge it",
                )
            } else {
                wrong_role(self.context, "并单", "merge cases")
            });
        }
        if !self.state.status.is_open() || self.state.status == CaseStatus::Resolved {
            return Err(self.wrong_state("并单", "merged"));
        }
        if command.into == self.case_id {
            return Err(Rejection::new(
                RejectionCode::MergeIntoSelf,
                "案件不能并入自身",
                "a case cannot be merged into itself",
            )
            .at("into"));
        }
        if command.into.0.is_nil() {
            return Err(Rejection::new(
                RejectionCode::InvalidField,
                "目标案件编号无效",
                "into must not be the nil UUID",
            )
            .at("into"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::CaseMerged(CaseMerged {
            case_id: self.case_id,
            by: self.unit().clone(),
            into: command.into,
            reason: command.reason.clone(),
        }))
    }

    fn withdraw(&self, command: &WithdrawCase) -> Result<Act, Rejection> {
        let principal = &self.context.principal;
        let allowed = principal.role == Role::Intake
            || principal.is_county_dispatcher()
            || self.state.filed_by.as_ref() == Some(self.unit());
        if !allowed {
            return Err(wrong_role(
                self.context,
                "撤回案件（限受理渠道、受理单位或县级派单部门）",
                "withdraw the case (intake, the filing unit or the county level only)",
            ));
        }
        if !self.state.status.is_open() {
            return Err(self.wrong_state("撤回", "withdrawn"));
        }
        check_text("reason", &command.reason, SHORT_TEXT_CHARS_MAX, true)?;
        Ok(Act::CaseWithdrawn(CaseWithdrawn {
            case_id: self.case_id,
            by: self.unit().clone(),
            reason: command.reason.clone(),
        }))
    }

    fn erase(&self, command: &ErasePersonalData) -> Result<Act, Rejection> {
        if self.context.principal.role != Role::Office {
            return Err(wrong_role(
                self.context,
                "删除个人信息（限领导小组办公室）",
                "erase personal data (the Office only)",
            ));
        }
        if self.state.personal_data_erased {
            return Err(Rejection::new(
                RejectionCode::AlreadyErased,
                "个人信息已删除",
                "the personal data was already erased",
            ));
        }
        let Some(sealed) = &self.state.complainant else {
            return Err(self.wrong_state("删除个人信息", "erased"));
        };
        check_text(
            "legal_basis",
            &command.legal_basis,
            SHORT_TEXT_CHARS_MAX,
            true,
        )?;
        Ok(Act::PersonalDataErased(PersonalDataErased {
            case_id: self.case_id,
            by: self.unit().clone(),
            key_id: sealed.key_id.clone(),
            legal_basis: command.legal_basis.clone(),
        }))
    }
}
