//! 行为 — every act of the plan as a typed event, named in the past tense.
//!
//! An [`Act`] is what the ledger stores: the record's `kind` is [`Act::kind`], its
//! `schema_version` is [`Act::schema_version`], its payload is [`Act::encode_payload`] (the
//! act's own struct in bincode 2, standard configuration, without the kind, which the record
//! already carries) and its stream is [`Act::stream`] (`case/<uuid>`, `firm/<uscc>`,
//! `governance/<uuid>` for a joint meeting or safety inspection, or a compound's id such as
//! `compound/dongping/lanting-11` for its self-governance, fire-safety, liaison and
//! maintenance-fund acts).
//! [`Act::decode`] reverses it. In JSON an act is `{"act": "<kind>", …fields}`.
//!
//! Acts carry the facts their readers need, computed once by `decide`: deadlines, whether a
//! step was on time, the township and community of a case, a grade's score and trace. No
//! projection recomputes a rule.
//!
//! ```
//! use caseledger_domain::act::{Act, CaseId, CaseWithdrawn};
//!
//! let act = Act::CaseWithdrawn(CaseWithdrawn {
//!     case_id: CaseId(uuid::Uuid::from_u128(7)),
//!     by: "12345".parse().unwrap(),
//!     reason: "投诉人撤回 / withdrawn by the complainant".into(),
//! });
//! let bytes = act.encode_payload();
//! assert_eq!(Act::decode(act.kind(), act.schema_version(), &bytes).unwrap(), act);
//! assert_eq!(act.stream().to_string(), "case/00000000-0000-0000-0000-000000000007");
//! let json = serde_json::to_value(&act).unwrap();
//! assert_eq!(json["act"], "CaseWithdrawn");
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::deadline::{end_of_cst_day, Clock, Deadline, Severity};
use crate::ids::{Category, UnitId, Uscc};
use crate::policy::Grade;
use crate::seal::{KeyId, Sealed};

/// The largest act payload accepted by [`Act::decode`], in bytes. A record is at most
/// 256 KiB; the payload is most of it.
pub const PAYLOAD_BYTES_MAX: usize = 240 * 1024;

/// The longest free text (summary, findings, notes), in characters.
pub const TEXT_CHARS_MAX: usize = 4000;

/// The longest short text (reasons, legal bases, document numbers, names), in characters.
pub const SHORT_TEXT_CHARS_MAX: usize = 500;

/// The most entries of a list field (parties, departments, assessment items).
pub const LIST_ITEMS_MAX: usize = 50;

// ---------------------------------------------------------------------------------------------
// Shared value types.

/// The id of a case: a UUID chosen by the client (or the service) when the complaint is filed.
/// Its stream is `case/<uuid>`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct CaseId(pub Uuid);

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The id of a joint meeting or a safety inspection: a UUID chosen by the client. Its stream
/// is `governance/<uuid>`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct GovernanceId(pub Uuid);

impl fmt::Display for GovernanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The stream an act belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// `case/<uuid>`.
    Case(CaseId),
    /// `firm/<uscc>`.
    Firm(Uscc),
    /// `governance/<uuid>` — one joint meeting or one safety inspection.
    Governance(GovernanceId),
    /// A compound's self-governance, fire-safety, liaison and maintenance-fund acts, named by
    /// the compound's unit id (`compound/dongping/lanting-11`). Registry compound ids begin
    /// with `compound/` (the governance rules require it), so the stream name is the id itself.
    Compound(UnitId),
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamId::Case(id) => write!(f, "case/{id}"),
            StreamId::Firm(uscc) => write!(f, "firm/{uscc}"),
            StreamId::Governance(id) => write!(f, "governance/{id}"),
            StreamId::Compound(unit) if unit.as_str().starts_with("compound/") => {
                f.write_str(unit.as_str())
            }
            // Never produced by `decide` (it refuses such compounds); kept unambiguous.
            StreamId::Compound(unit) => write!(f, "compound/{unit}"),
        }
    }
}

impl FromStr for StreamId {
    type Err = ActDecodeError;
    fn from_str(text: &str) -> Result<StreamId, ActDecodeError> {
        let bad = || ActDecodeError::Stream(text.to_string());
        if let Some(rest) = text.strip_prefix("case/") {
            return Uuid::parse_str(rest)
                .map(|id| StreamId::Case(CaseId(id)))
                .map_err(|_| bad());
        }
        if let Some(rest) = text.strip_prefix("firm/") {
            return Uscc::new(rest).map(StreamId::Firm).map_err(|_| bad());
        }
        if let Some(rest) = text.strip_prefix("governance/") {
            return Uuid::parse_str(rest)
                .map(|id| StreamId::Governance(GovernanceId(id)))
                .map_err(|_| bad());
        }
        if text.starts_with("compound/") {
            return UnitId::new(text).map(StreamId::Compound).map_err(|_| bad());
        }
        Err(bad())
    }
}

/// 受理渠道 — how a complaint arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// 12345 政务服务便民热线.
    Hotline12345,
    /// 县信访管理服务平台 — the county petition platform.
    PetitionPlatform,
    /// 来访 — a walk-in at a township or community.
    WalkIn,
    /// 业主委员会 — raised by an owners' committee.
    OwnersCommittee,
    /// 部门巡查 — found by a department's own inspection.
    DepartmentInspection,
}

/// 联系方式 — how the complainant was contacted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ContactMethod {
    /// 电话.
    Phone,
    /// 短信.
    Sms,
    /// 上门 — a visit.
    Visit,
    /// 其他.
    Other,
}

/// 黑榜行为 — a black-list-grade violation found on inspection (DOMAIN.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SevereViolation {
    /// 违规停水停电 — cutting water or power illegally (e.g. to force fee payment).
    IllegalUtilityCut,
    /// 暴力催费 — violent or threatening fee collection.
    ViolentCollection,
    /// 拒不退出 — refusing to leave or hand over after the contract ended.
    RefusedHandover,
    /// 挪用维修资金 — misusing the special maintenance fund.
    FundMisuse,
}

/// Who a penalty is imposed on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PenalisedParty {
    /// A property-service firm; counts against its credit.
    Firm(Uscc),
    /// Anyone else (an owner, a shop), described without personal data.
    Other(String),
}

/// 办理结果认定 — whether the complaint was found to be founded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// 属实.
    Substantiated,
    /// 部分属实.
    PartlySubstantiated,
    /// 不属实.
    NotSubstantiated,
}

impl Finding {
    /// True when the complaint counts as substantiated for credit (属实 or 部分属实).
    pub fn is_substantiated(self) -> bool {
        !matches!(self, Finding::NotSubstantiated)
    }
}

/// 调解结果.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MediationOutcome {
    /// 调解成功 — the parties agreed.
    Agreed,
    /// 部分达成 — partly agreed.
    PartlyAgreed,
    /// 调解不成 — no agreement.
    Failed,
}

/// 满意度 — the complainant's rating at follow-up (回访).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Dissatisfied,
}

/// Why a case was closed (归档).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CloseOutcome {
    /// Rated satisfied or basically satisfied.
    Rated,
    /// Rated dissatisfied, and the dissatisfaction was judged not reasonable.
    DissatisfactionNotReasonable,
    /// 逾期未评价 — no feedback within the close-unrated window.
    Unrated,
}

/// 红榜 / 黑榜.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    /// 红榜 — the red list.
    Red,
    /// 黑榜 — the black list.
    Black,
}

/// 季度 — a calendar quarter, written `2026-Q3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quarter {
    year: i32,
    quarter: u8,
}

impl Quarter {
    /// A quarter; `quarter` is 1 to 4 and `year` 2000 to 2999.
    pub fn new(year: i32, quarter: u8) -> Option<Quarter> {
        ((1..=4).contains(&quarter) && (2000..=2999).contains(&year))
            .then_some(Quarter { year, quarter })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The quarter of the year, 1 to 4.
    pub fn quarter(self) -> u8 {
        self.quarter
    }

    /// The quarter a China Standard Time day falls in.
    pub fn of_date(date: NaiveDate) -> Quarter {
        Quarter {
            year: date.year(),
            quarter: (date.month0() / 3 + 1) as u8,
        }
    }

    /// The quarter an instant falls in, in China Standard Time.
    pub fn of_instant(instant: DateTime<Utc>) -> Quarter {
        Quarter::of_date(crate::deadline::cst_date(instant))
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, u32::from(self.quarter - 1) * 3 + 1, 1)
            .unwrap_or(NaiveDate::MIN)
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// 00:00 CST of its first day, in UTC.
    pub fn starts_at(self) -> DateTime<Utc> {
        match self.first_day().pred_opt() {
            Some(day) => end_of_cst_day(day),
            None => DateTime::<Utc>::MIN_UTC,
        }
    }

    /// 24:00 CST of its last day, in UTC: the first instant after it.
    pub fn ends_at(self) -> DateTime<Utc> {
        end_of_cst_day(self.last_day())
    }

    /// The next quarter.
    pub fn next(self) -> Quarter {
        if self.quarter == 4 {
            Quarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }

    /// The previous quarter.
    pub fn previous(self) -> Quarter {
        if self.quarter == 1 {
            Quarter {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

impl FromStr for Quarter {
    type Err = String;
    fn from_str(text: &str) -> Result<Quarter, String> {
        let bad =
            || format!("季度格式应为 2026-Q3 / a quarter is written like 2026-Q3, not {text:?}");
        let (year, quarter) = text.split_once("-Q").ok_or_else(bad)?;
        if year.len() != 4 || quarter.len() != 1 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let quarter: u8 = quarter.parse().map_err(|_| bad())?;
        Quarter::new(year, quarter).ok_or_else(bad)
    }
}

impl Serialize for Quarter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Quarter {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quarter".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "季度 — a calendar quarter, such as 2026-Q3.",
            "pattern": "^2[0-9]{3}-Q[1-4]$",
        })
    }
}

/// One scored item of a quarterly assessment (考核项目).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AssessmentItem {
    /// The item, such as `保洁` (cleaning) or `安全管理` (safety management).
    pub item: String,
    /// Its score, 0 to the policy's `score_max` (100).
    pub score: u32,
}

/// A community's score within a township's aggregation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommunityScore {
    /// The community.
    pub community: UnitId,
    /// Its quarterly score, in hundredths of a point.
    pub score_hundredths: i64,
}

/// Why a credit point was counted (or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CreditReason {
    /// A community's quarterly assessment: its share of the mean.
    QuarterlyAssessment,
    /// 行政处罚 — a penalty on the firm.
    Penalty,
    /// 有效投诉 — a complaint about the firm found substantiated.
    SubstantiatedComplaint,
    /// 逾期整改 — a rectification not done (or not passed) by its due time.
    OverdueRectification,
    /// 黑榜行为 — a black-list-grade violation.
    BlackListViolation,
    /// 表彰 — a commendation.
    Commendation,
}

/// One line of a credit score's trace: the act that caused it and the points it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreditPoint {
    /// The log position of the act.
    pub position: u64,
    /// Its event id.
    pub event_id: Uuid,
    /// Its kind, such as `PenaltyImposed`.
    pub kind: String,
    /// The case it belongs to, for case acts.
    pub case_id: Option<CaseId>,
    /// Why it counts.
    pub reason: CreditReason,
    /// Points, in hundredths (−1000 = −10 points). Zero when capped or repaired.
    pub points_hundredths: i64,
    /// The position of the `CreditRepaired` act that cancelled this deduction, if any.
    pub repaired_by: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Case acts.

/// 受理 — a complaint was filed and a case opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ComplaintFiled {
    /// The case.
    pub case_id: CaseId,
    /// How it arrived.
    pub channel: Channel,
    /// The unit that filed it (an intake channel, township, community, department or the Office).
    pub filed_by: UnitId,
    /// The compound it is about.
    pub compound: UnitId,
    /// The compound's community, at filing.
    pub community: UnitId,
    /// The compound's township, at filing.
    pub township: UnitId,
    /// The category of matter (responsibility matrix).
    pub category: Category,
    /// How serious: decides the resolution clock.
    pub severity: Severity,
    /// The firm complained about, if any.
    pub firm: Option<Uscc>,
    /// What the complaint is about, without personal data.
    pub summary: String,
    /// 投诉人信息 — the complainant's name, phone and address, sealed.
    pub complainant: Sealed,
    /// The dispatch clock, started at filing.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub dispatch_deadline: Deadline,
}

/// 派单 — a case was dispatched to a unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseDispatched {
    /// The case.
    pub case_id: CaseId,
    /// The dispatching unit.
    pub from: UnitId,
    /// The unit that now handles it (承办单位).
    pub to: UnitId,
    /// Instructions.
    pub note: String,
    /// Whether the dispatch clock was met (true for a re-dispatch without one).
    pub on_time: bool,
    /// The acceptance clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub accept_deadline: Deadline,
    /// The return window.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub return_deadline: Deadline,
}

/// 签收 — the unit a case was dispatched to accepted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseAccepted {
    /// The case.
    pub case_id: CaseId,
    /// The accepting unit.
    pub unit: UnitId,
    /// Whether it was accepted before the acceptance deadline.
    pub on_time: bool,
    /// The first-contact clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub first_contact_deadline: Deadline,
    /// The resolution clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub resolve_deadline: Deadline,
}

/// 退单 — the unit sent the case back to its dispatcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseReturned {
    /// The case.
    pub case_id: CaseId,
    /// The returning unit.
    pub unit: UnitId,
    /// The dispatcher it goes back to.
    pub to: UnitId,
    /// Why (required).
    pub reason: String,
    /// The clock for dispatching it again.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub dispatch_deadline: Deadline,
}

/// 移送 — a township transferred the case to a county department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseTransferred {
    /// The case.
    pub case_id: CaseId,
    /// The transferring township.
    pub from: UnitId,
    /// The department that now handles it.
    pub to: UnitId,
    /// Why.
    pub reason: String,
    /// The department's acceptance clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub accept_deadline: Deadline,
    /// The department's return window.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub return_deadline: Deadline,
}

/// 先行联系 — the handling unit contacted the complainant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ComplainantContacted {
    /// The case.
    pub case_id: CaseId,
    /// The unit.
    pub unit: UnitId,
    /// How.
    pub method: ContactMethod,
    /// What was said, without personal data.
    pub note: String,
    /// True for the first contact after acceptance.
    pub first: bool,
    /// For the first contact, whether it met the first-contact deadline (else true).
    pub on_time: bool,
}

/// 现场核查 — the handling unit inspected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InspectionRecorded {
    /// The case.
    pub case_id: CaseId,
    /// The unit.
    pub unit: UnitId,
    /// What was found.
    pub findings: String,
    /// Whether the complaint was borne out on site.
    pub substantiated: bool,
    /// A black-list-grade violation found, if any.
    pub severe_violation: Option<SevereViolation>,
}

/// 责令整改 — the handling unit ordered a rectification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RectificationOrdered {
    /// The case.
    pub case_id: CaseId,
    /// The unit.
    pub unit: UnitId,
    /// The order's number within the case, from 1.
    pub order: u32,
    /// What must be done.
    pub requirement: String,
    /// Working days allowed.
    pub working_days: u32,
    /// When it is due: 24:00 CST of the last working day.
    #[serde(with = "instant_compact")]
    #[schemars(with = "DateTime<Utc>")]
    pub due_at: DateTime<Utc>,
}

/// 整改复查 — the handling unit verified a rectification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RectificationVerified {
    /// The case.
    pub case_id: CaseId,
    /// The unit.
    pub unit: UnitId,
    /// The order verified.
    pub order: u32,
    /// Whether the rectification passed.
    pub passed: bool,
    /// 逾期整改 — not passed, or verified at or after its due time.
    pub overdue: bool,
    /// Notes.
    pub note: String,
}

/// 行政处罚 — a body with enforcement powers imposed a penalty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PenaltyImposed {
    /// The case.
    pub case_id: CaseId,
    /// The department that imposed it.
    pub unit: UnitId,
    /// On whom.
    pub party: PenalisedParty,
    /// 法律依据 — the legal basis (article of law or regulation).
    pub legal_basis: String,
    /// 处罚决定书文号 — the decision's document number.
    pub decision_no: String,
    /// 罚款 — the fine in fen (0 for a penalty without a fine).
    pub fine_fen: u64,
}

/// 调解 — a mediation was held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MediationRecorded {
    /// The case.
    pub case_id: CaseId,
    /// The mediating unit.
    pub unit: UnitId,
    /// The parties, by role (业主, 业委会, 物业企业), without personal data.
    pub parties: Vec<String>,
    /// The outcome.
    pub outcome: MediationOutcome,
    /// Notes.
    pub note: String,
}

/// 联合执法 — a township led joint enforcement with departments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JointEnforcementRecorded {
    /// The case.
    pub case_id: CaseId,
    /// The leading township.
    pub lead: UnitId,
    /// The departments taking part.
    pub departments: Vec<UnitId>,
    /// The targets.
    pub targets: String,
    /// What was found and done.
    pub findings: String,
}

/// 延期 — the resolution deadline was extended (once).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExtensionGranted {
    /// The case.
    pub case_id: CaseId,
    /// Who granted it.
    pub by: UnitId,
    /// Working days added.
    pub working_days: u32,
    /// Why.
    pub reason: String,
    /// The new resolution clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub resolve_deadline: Deadline,
}

/// 督办 — a supervision notice was issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupervisionIssued {
    /// The case.
    pub case_id: CaseId,
    /// Who issued it (the Office, housing or petitions).
    pub by: UnitId,
    /// The unit supervised (the case's handler, or its dispatcher when it has none).
    pub unit: Option<UnitId>,
    /// Why.
    pub reason: String,
    /// The clocks overdue when it was issued.
    pub overdue_clocks: Vec<Clock>,
}

/// 办结 — the handling unit resolved the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseResolved {
    /// The case.
    pub case_id: CaseId,
    /// The unit.
    pub unit: UnitId,
    /// What was done.
    pub summary: String,
    /// Whether the complaint was founded.
    pub finding: Finding,
    /// Whether it was resolved before the resolution deadline.
    pub on_time: bool,
    /// The follow-up clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub follow_up_deadline: Deadline,
    /// When it closes unrated without feedback.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub close_unrated_deadline: Deadline,
}

/// 回访 — the complainant's feedback was recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeedbackRecorded {
    /// The case.
    pub case_id: CaseId,
    /// Who recorded it.
    pub by: UnitId,
    /// The rating.
    pub rating: Rating,
    /// Whether the complainant says the issue was resolved (解决率).
    pub resolved: bool,
    /// Notes, without personal data.
    pub note: String,
    /// Whether it was recorded before the follow-up deadline.
    pub on_time: bool,
}

/// 归档 — the case was closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseClosed {
    /// The case.
    pub case_id: CaseId,
    /// Who closed it.
    pub by: UnitId,
    /// Why.
    pub outcome: CloseOutcome,
}

/// 再次处置 — a dissatisfied rating was judged reasonable and the case reopened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseReopened {
    /// The case.
    pub case_id: CaseId,
    /// Who reopened it.
    pub by: UnitId,
    /// The unit that handles it again.
    pub unit: UnitId,
    /// Why the dissatisfaction is reasonable.
    pub reason: String,
    /// The new resolution clock.
    #[serde(with = "deadline_compact")]
    #[schemars(with = "Deadline")]
    pub resolve_deadline: Deadline,
}

/// 并单 — the case was merged into another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseMerged {
    /// The case merged away.
    pub case_id: CaseId,
    /// Who merged it.
    pub by: UnitId,
    /// The case it continues in.
    pub into: CaseId,
    /// Why.
    pub reason: String,
}

/// 撤回 — the case was withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseWithdrawn {
    /// The case.
    pub case_id: CaseId,
    /// Who withdrew it.
    pub by: UnitId,
    /// Why.
    pub reason: String,
}

/// 个人信息删除 — the complainant's sealing key was destroyed (PIPL). The sealed data stays in
/// the chain and can never be opened again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PersonalDataErased {
    /// The case.
    pub case_id: CaseId,
    /// Who ordered it.
    pub by: UnitId,
    /// The destroyed key.
    pub key_id: KeyId,
    /// 法律依据 — why (the complainant's request under PIPL art. 47, …).
    pub legal_basis: String,
}

// ---------------------------------------------------------------------------------------------
// Firm acts.

/// 企业建档 — a firm's credit file was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FirmRegistered {
    /// The firm.
    pub firm: Uscc,
    /// Its registered name.
    pub name: String,
    /// Who registered it.
    pub by: UnitId,
}

/// 合同备案 — a service contract for a compound was filed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContractFiled {
    /// The firm.
    pub firm: Uscc,
    /// The compound served.
    pub compound: UnitId,
    /// The compound's community, at filing.
    pub community: UnitId,
    /// The compound's township, at filing.
    pub township: UnitId,
    /// 备案号 — the filing number.
    pub contract_no: String,
    /// First day of service.
    pub starts_on: NaiveDate,
    /// Last day of service.
    pub ends_on: NaiveDate,
    /// Who filed it.
    pub by: UnitId,
}

/// 招投标备案 — a preliminary-service tender was filed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TenderFiled {
    /// The firm that won.
    pub firm: Uscc,
    /// The compound.
    pub compound: UnitId,
    /// The tender's number.
    pub tender_no: String,
    /// Who filed it.
    pub by: UnitId,
}

/// 承接查验 — a handover inspection was made; its result is public.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HandoverInspected {
    /// The firm taking over.
    pub firm: Uscc,
    /// The compound.
    pub compound: UnitId,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub findings: String,
    /// Who recorded it.
    pub by: UnitId,
}

/// 退出交接 — the firm left a compound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FirmExited {
    /// The firm.
    pub firm: Uscc,
    /// The compound left.
    pub compound: UnitId,
    /// Why.
    pub reason: String,
    /// Who recorded it.
    pub by: UnitId,
}

/// 季度考核 — a community assessed a firm for a quarter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QuarterlyAssessmentSubmitted {
    /// The firm.
    pub firm: Uscc,
    /// The quarter.
    pub quarter: Quarter,
    /// The assessing community.
    pub community: UnitId,
    /// The scored items.
    pub items: Vec<AssessmentItem>,
    /// The mean of the items, in hundredths of a point, rounded half up.
    pub score_hundredths: i64,
}

/// 乡镇汇总 — a township summed up its communities' assessments and reported them to housing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AssessmentsAggregated {
    /// The firm.
    pub firm: Uscc,
    /// The quarter.
    pub quarter: Quarter,
    /// The township.
    pub township: UnitId,
    /// Each community's score.
    pub communities: Vec<CommunityScore>,
    /// Their mean, in hundredths, rounded half up.
    pub score_hundredths: i64,
}

/// 等级公布 — housing published a firm's grade for a quarter, equal to the computed one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GradePublished {
    /// The firm.
    pub firm: Uscc,
    /// The quarter.
    pub quarter: Quarter,
    /// The score over the 12 months ending with the quarter, in hundredths.
    pub score_hundredths: i64,
    /// The grade.
    pub grade: Grade,
    /// 检查频次 — months between inspections at this grade.
    pub inspection_interval_months: u32,
    /// Every point of the score and the act that caused it.
    pub trace: Vec<CreditPoint>,
    /// Who published it.
    pub by: UnitId,
}

/// 列入红榜.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RedListed {
    /// The firm.
    pub firm: Uscc,
    /// The quarter of the grade that made it eligible.
    pub quarter: Quarter,
    /// Why.
    pub reason: String,
    /// Who listed it.
    pub by: UnitId,
}

/// 列入黑榜.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BlackListed {
    /// The firm.
    pub firm: Uscc,
    /// The positions of the acts that made it eligible (the grade publication, violations).
    pub grounds: Vec<u64>,
    /// Why.
    pub reason: String,
    /// Who listed it.
    pub by: UnitId,
}

/// 移出红榜 / 黑榜.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Delisted {
    /// The firm.
    pub firm: Uscc,
    /// Which list.
    pub list: ListKind,
    /// Why.
    pub reason: String,
    /// Who removed it.
    pub by: UnitId,
}

/// 信用修复 — a deduction was cancelled after the firm put it right.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreditRepaired {
    /// The firm.
    pub firm: Uscc,
    /// The log position of the act whose deduction is cancelled.
    pub position: u64,
    /// Why.
    pub reason: String,
    /// Who repaired it.
    pub by: UnitId,
}

/// 表彰 — the firm was commended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FirmCommended {
    /// The firm.
    pub firm: Uscc,
    /// For what.
    pub reason: String,
    /// Who commended it.
    pub by: UnitId,
}

// ---------------------------------------------------------------------------------------------
// Governance acts (DOMAIN.md §5; the plan §四.(一), §四.(三), §五). The rules are in
// [`crate::governance`].

/// 联席会议类型 — why a joint meeting was held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingKind {
    /// 例会 — the regular meeting, every half year.
    HalfYearly,
    /// 临时会议 — called at once because of an emergency (突发情况).
    Emergency,
}

/// 联席会议 — the Office convened a joint meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JointMeetingConvened {
    /// The meeting (its stream).
    pub meeting_id: GovernanceId,
    /// Regular or emergency.
    pub kind: MeetingKind,
    /// The day it was held (China Standard Time).
    pub held_on: NaiveDate,
    /// 参会单位 — the units that attended.
    pub attendees: Vec<UnitId>,
    /// 议题 — the agenda items.
    pub agenda: Vec<String>,
    /// 议定事项 — what was decided.
    pub decisions: Vec<String>,
    /// Who convened it (the Office).
    pub by: UnitId,
}

/// 安全生产抽查 — housing, with emergency, fire-rescue or urban-management, spot-checked
/// compounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SafetyInspectionRecorded {
    /// The inspection (its stream).
    pub inspection_id: GovernanceId,
    /// The day of the inspection.
    pub inspected_on: NaiveDate,
    /// The compounds checked.
    pub compounds: Vec<UnitId>,
    /// The departments that joined housing.
    pub departments: Vec<UnitId>,
    /// 检查情况 — what was found.
    pub findings: String,
    /// 隐患 — the number of hazards found.
    pub hazards: u32,
    /// Who led it (housing or the Office).
    pub by: UnitId,
}

/// 防火协议 — the community had owners and occupants of a compound with no management body
/// sign a fire-safety agreement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FireSafetyAgreementSigned {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The day it was signed.
    pub signed_on: NaiveDate,
    /// How many owners and occupants signed (no names: they are residents' personal data).
    pub signatories: u32,
    /// 消防安全管理责任 — the responsibilities agreed.
    pub responsibilities: String,
    /// The community that organised it.
    pub by: UnitId,
}

/// 业主大会成立.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OwnersAssemblyFormed {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The day of the first assembly meeting.
    pub formed_on: NaiveDate,
    /// The compound's community at the time.
    pub community: UnitId,
    /// The compound's township at the time.
    pub township: UnitId,
    /// The township or community that guided it.
    pub by: UnitId,
}

/// 选举业主委员会 — the assembly elected the first owners' committee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OwnersCommitteeElected {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The day of the election.
    pub elected_on: NaiveDate,
    /// The number of members (an odd number, 5 to 11). No names: members are owners.
    pub members: u32,
    /// First day of the term.
    pub term_starts_on: NaiveDate,
    /// Last day of the term.
    pub term_ends_on: NaiveDate,
    /// The township or community that guided it.
    pub by: UnitId,
}

/// 业主委员会备案 — the township filed the committee of the current term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OwnersCommitteeFiled {
    /// The compound (its stream).
    pub compound: UnitId,
    /// 备案编号.
    pub filing_no: String,
    /// The term filed: its first day.
    pub term_starts_on: NaiveDate,
    /// The township.
    pub by: UnitId,
}

/// 换届 — a new committee term was elected; it must be filed again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OwnersCommitteeTermChanged {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The day of the election.
    pub elected_on: NaiveDate,
    /// The number of members (odd, 5 to 11).
    pub members: u32,
    /// First day of the new term.
    pub term_starts_on: NaiveDate,
    /// Last day of the new term.
    pub term_ends_on: NaiveDate,
    /// The township or community that guided it.
    pub by: UnitId,
}

/// 专项维修资金使用申请 — an application to use the special maintenance fund was recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MaintenanceFundApplied {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The application, chosen by the client; unique within the compound.
    pub application_id: Uuid,
    /// The amount asked for, in fen (分).
    pub amount_fen: u64,
    /// 用途 — the works it pays for.
    pub purpose: String,
    /// The township or community that recorded it on the owners' behalf.
    pub by: UnitId,
}

/// 维修资金审核 — housing approved or rejected an application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MaintenanceFundReviewed {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The application.
    pub application_id: Uuid,
    /// Approved or rejected.
    pub approved: bool,
    /// The amount approved, in fen: at most the amount asked for; zero when rejected.
    pub approved_fen: u64,
    /// Why (required when rejected).
    pub reason: String,
    /// Housing or the Office.
    pub by: UnitId,
}

/// 维修资金拨付 — housing paid out (part of) an approved application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MaintenanceFundDisbursed {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The application.
    pub application_id: Uuid,
    /// This payment, in fen.
    pub amount_fen: u64,
    /// Paid out for this application so far, this payment included, in fen. Never more
    /// than the approved amount.
    pub disbursed_total_fen: u64,
    /// Housing or the Office.
    pub by: UnitId,
}

/// 物管员 — the community named (and published in the compound) its property liaison.
///
/// The name and work contact are those of community staff acting in their office, published
/// in the compound by the plan's own rule (§五.(一).23.(2): 指定专人……并在小区内公布), not a
/// complainant's personal data; they are therefore stored in clear, not sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PropertyLiaisonNamed {
    /// The compound (its stream).
    pub compound: UnitId,
    /// The liaison's name.
    pub name: String,
    /// The published work contact (office phone).
    pub contact: String,
    /// The day it was published in the compound.
    pub published_on: NaiveDate,
    /// The community.
    pub by: UnitId,
}

// ---------------------------------------------------------------------------------------------
// Compact instants in payloads.

/// An instant as whole seconds and nanoseconds since the Unix epoch in binary encodings (a few
/// bytes, no text to format or parse: decoding an act is on the projections' rebuild path),
/// and as RFC 3339 text in JSON. Exact: every `DateTime<Utc>` survives the round trip.
mod instant_compact {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            value.serialize(serializer)
        } else {
            (value.timestamp(), value.timestamp_subsec_nanos()).serialize(serializer)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        if deserializer.is_human_readable() {
            DateTime::<Utc>::deserialize(deserializer)
        } else {
            let (seconds, nanos) = <(i64, u32)>::deserialize(deserializer)?;
            DateTime::from_timestamp(seconds, nanos).ok_or_else(|| {
                serde::de::Error::custom(format!("instant {seconds}.{nanos:09} is out of range"))
            })
        }
    }
}

/// A [`Deadline`] as its clock and four compact instants in binary encodings, as the plain
/// struct in JSON.
mod deadline_compact {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::deadline::{Clock, Deadline};

    #[derive(Serialize, Deserialize)]
    struct Compact(
        Clock,
        #[serde(with = "super::instant_compact")] DateTime<Utc>,
        #[serde(with = "super::instant_compact")] DateTime<Utc>,
        #[serde(with = "super::instant_compact")] DateTime<Utc>,
        #[serde(with = "super::instant_compact")] DateTime<Utc>,
    );

    pub fn serialize<S: Serializer>(value: &Deadline, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            value.serialize(serializer)
        } else {
            Compact(
                value.clock,
                value.started_at,
                value.due_at,
                value.warn_50_at,
                value.warn_75_at,
            )
            .serialize(serializer)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Deadline, D::Error> {
        if deserializer.is_human_readable() {
            Deadline::deserialize(deserializer)
        } else {
            let Compact(clock, started_at, due_at, warn_50_at, warn_75_at) =
                Compact::deserialize(deserializer)?;
            Ok(Deadline {
                clock,
                started_at,
                due_at,
                warn_50_at,
                warn_75_at,
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The umbrella.

/// Why payload bytes are not an act.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActDecodeError {
    /// The kind is not one this code knows.
    #[error("未知的行为类型 {0:?} / unknown act kind {0:?}")]
    UnknownKind(String),
    /// The kind is known but not at this schema version.
    #[error("行为 {kind} 不支持版本 {version} / act {kind} has no schema version {version} (this code reads {expected})")]
    Version {
        /// The kind.
        kind: String,
        /// The version found.
        version: u16,
        /// The version this code reads.
        expected: u16,
    },
    /// The payload does not decode as that kind.
    #[error("行为 {kind} 的数据无法解码 / payload of {kind} does not decode: {reason}")]
    Malformed {
        /// The kind.
        kind: String,
        /// What bincode said.
        reason: String,
    },
    /// The payload decodes but leaves bytes over.
    #[error("行为 {kind} 的数据末尾多出 {trailing} 字节 / payload of {kind} has {trailing} trailing bytes")]
    Trailing {
        /// The kind.
        kind: String,
        /// How many bytes were left.
        trailing: usize,
    },
    /// The payload is larger than [`PAYLOAD_BYTES_MAX`].
    #[error("行为数据过大 / payload of {0} bytes exceeds {PAYLOAD_BYTES_MAX}")]
    TooLarge(usize),
    /// A stream name is not `case/<uuid>`, `firm/<uscc>`, `governance/<uuid>` or
    /// `compound/<…>`.
    #[error("流名称无效 / {0:?} is not a stream name (case/<uuid>, firm/<uscc>, governance/<uuid> or compound/<id>)")]
    Stream(String),
}

fn payload_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<PAYLOAD_BYTES_MAX>()
}

fn encode_body<T: Serialize>(body: &T) -> Vec<u8> {
    // Every act type is plain data (strings, integers, options, vectors, UTF-8 times), all of
    // which bincode encodes; within the limits an act always encodes.
    bincode::serde::encode_to_vec(body, payload_config()).expect("an act always encodes")
}

fn decode_body<T: serde::de::DeserializeOwned>(
    kind: &str,
    payload: &[u8],
) -> Result<T, ActDecodeError> {
    let (body, used): (T, usize) = bincode::serde::decode_from_slice(payload, payload_config())
        .map_err(|error| ActDecodeError::Malformed {
            kind: kind.to_string(),
            reason: error.to_string(),
        })?;
    if used != payload.len() {
        return Err(ActDecodeError::Trailing {
            kind: kind.to_string(),
            trailing: payload.len() - used,
        });
    }
    Ok(body)
}

macro_rules! acts {
    (
        case { $( $case:ident = $case_version:literal ),* $(,)? }
        firm { $( $firm:ident = $firm_version:literal ),* $(,)? }
        governance { $( $gov:ident = $gov_version:literal ),* $(,)? }
    ) => {
        /// Every act: case, firm and governance. In JSON, `{"act": "<kind>", …fields}`.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "act")]
        pub enum Act {
            $(
                #[doc = concat!("See [`", stringify!($case), "`].")]
                $case($case),
            )*
            $(
                #[doc = concat!("See [`", stringify!($firm), "`].")]
                $firm($firm),
            )*
            $(
                #[doc = concat!("See [`", stringify!($gov), "`].")]
                $gov($gov),
            )*
        }

        impl Act {
            /// Every kind of act on a case stream.
            pub const CASE_KINDS: &'static [&'static str] = &[$(stringify!($case)),*];

            /// Every kind of act on a firm stream.
            pub const FIRM_KINDS: &'static [&'static str] = &[$(stringify!($firm)),*];

            /// Every kind of act on a governance or compound stream.
            pub const GOVERNANCE_KINDS: &'static [&'static str] = &[$(stringify!($gov)),*];

            /// The kind name, as stored in a record (`ComplaintFiled`).
            pub fn kind(&self) -> &'static str {
                match self {
                    $( Act::$case(_) => stringify!($case), )*
                    $( Act::$firm(_) => stringify!($firm), )*
                    $( Act::$gov(_) => stringify!($gov), )*
                }
            }

            /// The schema version of this kind's payload this code writes.
            pub fn schema_version(&self) -> u16 {
                match self {
                    $( Act::$case(_) => $case_version, )*
                    $( Act::$firm(_) => $firm_version, )*
                    $( Act::$gov(_) => $gov_version, )*
                }
            }

            /// The schema version this code reads and writes for a kind; `None` for an
            /// unknown kind.
            pub fn schema_version_of(kind: &str) -> Option<u16> {
                match kind {
                    $( stringify!($case) => Some($case_version), )*
                    $( stringify!($firm) => Some($firm_version), )*
                    $( stringify!($gov) => Some($gov_version), )*
                    _ => None,
                }
            }

            /// The stream it belongs to: `case/<uuid>`, `firm/<uscc>`, `governance/<uuid>`
            /// or the compound's id (`compound/…`).
            pub fn stream(&self) -> StreamId {
                match self {
                    $( Act::$case(act) => StreamId::Case(act.case_id), )*
                    $( Act::$firm(act) => StreamId::Firm(act.firm.clone()), )*
                    $( Act::$gov(act) => act.stream_id(), )*
                }
            }

            /// The payload bytes: the act's own struct in bincode 2 (standard configuration:
            /// little-endian, variable-length integers), without the kind.
            pub fn encode_payload(&self) -> Vec<u8> {
                match self {
                    $( Act::$case(act) => encode_body(act), )*
                    $( Act::$firm(act) => encode_body(act), )*
                    $( Act::$gov(act) => encode_body(act), )*
                }
            }

            /// Decodes a record's kind, schema version and payload. Refuses unknown kinds,
            /// unknown versions, malformed payloads and trailing bytes.
            pub fn decode(kind: &str, schema_version: u16, payload: &[u8]) -> Result<Act, ActDecodeError> {
                if payload.len() > PAYLOAD_BYTES_MAX {
                    return Err(ActDecodeError::TooLarge(payload.len()));
                }
                // One match on the kind gives both the version and the decoder: the reader
                // decodes every record of a rebuild, and matching the kind against every name
                // twice was a measurable part of it.
                type Decoder = fn(&str, &[u8]) -> Result<Act, ActDecodeError>;
                let (expected, decoder): (u16, Decoder) = match kind {
                    $( stringify!($case) => ($case_version, |kind, payload| decode_body(kind, payload).map(Act::$case)), )*
                    $( stringify!($firm) => ($firm_version, |kind, payload| decode_body(kind, payload).map(Act::$firm)), )*
                    $( stringify!($gov) => ($gov_version, |kind, payload| decode_body(kind, payload).map(Act::$gov)), )*
                    _ => return Err(ActDecodeError::UnknownKind(kind.to_string())),
                };
                if schema_version != expected {
                    return Err(ActDecodeError::Version { kind: kind.to_string(), version: schema_version, expected });
                }
                decoder(kind, payload)
            }
        }

        /// The JSON Schema of each kind's JSON form (`{"act": "<kind>", …}`), by kind.
        pub fn act_schemas() -> Vec<(&'static str, u16, schemars::Schema)> {
            vec![
                $( (stringify!($case), $case_version, tagged_schema::<$case>("act", stringify!($case))), )*
                $( (stringify!($firm), $firm_version, tagged_schema::<$firm>("act", stringify!($firm))), )*
                $( (stringify!($gov), $gov_version, tagged_schema::<$gov>("act", stringify!($gov))), )*
            ]
        }
    };
}

acts! {
    case {
        ComplaintFiled = 1,
        CaseDispatched = 1,
        CaseAccepted = 1,
        CaseReturned = 1,
        CaseTransferred = 1,
        ComplainantContacted = 1,
        InspectionRecorded = 1,
        RectificationOrdered = 1,
        RectificationVerified = 1,
        PenaltyImposed = 1,
        MediationRecorded = 1,
        JointEnforcementRecorded = 1,
        ExtensionGranted = 1,
        SupervisionIssued = 1,
        CaseResolved = 1,
        FeedbackRecorded = 1,
        CaseClosed = 1,
        CaseReopened = 1,
        CaseMerged = 1,
        CaseWithdrawn = 1,
        PersonalDataErased = 1,
    }
    firm {
        FirmRegistered = 1,
        ContractFiled = 1,
        TenderFiled = 1,
        HandoverInspected = 1,
        FirmExited = 1,
        QuarterlyAssessmentSubmitted = 1,
        AssessmentsAggregated = 1,
        GradePublished = 1,
        RedListed = 1,
        BlackListed = 1,
        Delisted = 1,
        CreditRepaired = 1,
        FirmCommended = 1,
    }
    governance {
        JointMeetingConvened = 1,
        SafetyInspectionRecorded = 1,
        FireSafetyAgreementSigned = 1,
        OwnersAssemblyFormed = 1,
        OwnersCommitteeElected = 1,
        OwnersCommitteeFiled = 1,
        OwnersCommitteeTermChanged = 1,
        MaintenanceFundApplied = 1,
        MaintenanceFundReviewed = 1,
        MaintenanceFundDisbursed = 1,
        PropertyLiaisonNamed = 1,
    }
}

/// The stream of a governance act: its own id, or its compound.
trait GovernanceStream {
    fn stream_id(&self) -> StreamId;
}

impl GovernanceStream for JointMeetingConvened {
    fn stream_id(&self) -> StreamId {
        StreamId::Governance(self.meeting_id)
    }
}

impl GovernanceStream for SafetyInspectionRecorded {
    fn stream_id(&self) -> StreamId {
        StreamId::Governance(self.inspection_id)
    }
}

macro_rules! compound_streams {
    ($( $name:ident ),* $(,)?) => {
        $(
            impl GovernanceStream for $name {
                fn stream_id(&self) -> StreamId {
                    StreamId::Compound(self.compound.clone())
                }
            }
        )*
    };
}

compound_streams!(
    FireSafetyAgreementSigned,
    OwnersAssemblyFormed,
    OwnersCommitteeElected,
    OwnersCommitteeFiled,
    OwnersCommitteeTermChanged,
    MaintenanceFundApplied,
    MaintenanceFundReviewed,
    MaintenanceFundDisbursed,
    PropertyLiaisonNamed,
);

impl Act {
    /// The case it is about, for case acts.
    pub fn case_id(&self) -> Option<CaseId> {
        match self.stream() {
            StreamId::Case(id) => Some(id),
            _ => None,
        }
    }

    /// True for acts on a case stream.
    pub fn is_case_act(&self) -> bool {
        Act::CASE_KINDS.contains(&self.kind())
    }

    /// True for acts on a firm stream.
    pub fn is_firm_act(&self) -> bool {
        Act::FIRM_KINDS.contains(&self.kind())
    }

    /// True for governance acts (on a `governance/<uuid>` or a compound stream).
    pub fn is_governance_act(&self) -> bool {
        Act::GOVERNANCE_KINDS.contains(&self.kind())
    }
}

/// The JSON Schema of `T` with a required string property `tag` fixed to `value`: the JSON
/// form of one variant of an internally tagged enum.
pub(crate) fn tagged_schema<T: JsonSchema>(tag: &str, value: &str) -> schemars::Schema {
    let mut schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$id".into(),
            serde_json::Value::String(format!("caseledger:{tag}/{value}")),
        );
        if let Some(serde_json::Value::Object(properties)) = object.get_mut("properties") {
            properties.insert(
                tag.to_string(),
                serde_json::json!({ "type": "string", "const": value }),
            );
        }
        match object.get_mut("required") {
            Some(serde_json::Value::Array(required)) => {
                required.insert(0, serde_json::Value::String(tag.to_string()))
            }
            _ => {
                object.insert("required".into(), serde_json::json!([tag]));
            }
        }
    }
    schema
}

/// An act as read back from the log: its position, event id and recorded-at time, which the
/// credit trace and deadlines refer to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RecordedAct {
    /// The log position.
    pub position: u64,
    /// The event id.
    pub event_id: Uuid,
    /// When the writer recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The act.
    pub act: Act,
}

impl RecordedAct {
    /// Decodes an act read back from the log, from the record's fields: position, event id,
    /// recorded-at time (microseconds since the Unix epoch, UTC), kind, schema version and
    /// payload.
    pub fn decode(
        position: u64,
        event_id: Uuid,
        recorded_at_us: i64,
        kind: &str,
        schema_version: u16,
        payload: &[u8],
    ) -> Result<RecordedAct, ActDecodeError> {
        Ok(RecordedAct {
            position,
            event_id,
            recorded_at: DateTime::from_timestamp_micros(recorded_at_us).unwrap_or_default(),
            act: Act::decode(kind, schema_version, payload)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's name leads the decoder to that kind's version and to that kind's body: a
    /// wrong version names the kind's own, and an empty payload is refused under its name.
    #[test]
    fn every_kind_decodes_under_its_own_name_and_version() {
        let kinds = Act::CASE_KINDS
            .iter()
            .chain(Act::FIRM_KINDS)
            .chain(Act::GOVERNANCE_KINDS);
        for &kind in kinds {
            let expected = Act::schema_version_of(kind).expect("a listed kind has a version");
            assert_eq!(
                Act::decode(kind, expected + 1, &[]),
                Err(ActDecodeError::Version {
                    kind: kind.to_string(),
                    version: expected + 1,
                    expected,
                })
            );
            match Act::decode(kind, expected, &[]) {
                Err(ActDecodeError::Malformed { kind: named, .. }) => assert_eq!(named, kind),
                other => panic!("{kind}: an empty payload gave {other:?}"),
            }
        }
        assert_eq!(
            Act::decode("caseclosed", 1, &[]),
            Err(ActDecodeError::UnknownKind("caseclosed".into()))
        );
    }
}
