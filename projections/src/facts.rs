//! What the projections read from a record: the facts of its act, in one flat shape.
//!
//! The domain crate owns the acts and their encoding; the `decode` module is the one place that
//! turns a record into a [`Event`] (through the domain's act decoder). The folds read only
//! these facts, so a change in the domain's act types touches this module alone. Facts carry
//! what the acts carry — deadlines, scores, grades, traces — and nothing is recomputed here.

use serde::{Deserialize, Serialize};

/// A clock that runs on a case (mirrors the domain's clocks; stored by projections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Clock {
    /// 派单 — dispatch after filing.
    Dispatch,
    /// 签收 — acceptance after dispatch.
    Accept,
    /// 先行联系 — first contact with the complainant.
    FirstContact,
    /// 退单 — the window in which a unit may return a case.
    Return,
    /// 办结 — resolution.
    Resolve,
    /// 回访 — follow-up after resolution.
    FollowUp,
    /// 逾期未评价自动办结 — a resolved case without feedback closes unrated.
    CloseUnrated,
    /// 限期整改 — a rectification ordered with a deadline.
    Rectification,
}

impl Clock {
    /// A stable one-byte tag for keys.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// The kebab-case name used in JSON and on the CLI.
    pub fn slug(self) -> &'static str {
        match self {
            Clock::Dispatch => "dispatch",
            Clock::Accept => "accept",
            Clock::FirstContact => "first-contact",
            Clock::Return => "return",
            Clock::Resolve => "resolve",
            Clock::FollowUp => "follow-up",
            Clock::CloseUnrated => "close-unrated",
            Clock::Rectification => "rectification",
        }
    }

    /// Whether a case still running this clock past its deadline counts as overdue. The
    /// return window only closes an option; it is never "overdue".
    pub fn counts_as_overdue(self) -> bool {
        // The return window closes an option; close-unrated closes the case by itself; a
        // rectification's deadline is the firm's, not the handling unit's.
        !matches!(
            self,
            Clock::Return | Clock::CloseUnrated | Clock::Rectification
        )
    }
}

/// A deadline as an act carries it, in microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    /// Which clock.
    pub clock: Clock,
    /// When it started.
    pub started_us: i64,
    /// When it runs out: overdue at and after this instant.
    pub due_us: i64,
    /// The first warning (50% of the span), as the act carries it.
    pub warn_50_us: i64,
    /// The second warning (75% of the span).
    pub warn_75_us: i64,
}

/// 回访评价 — the complainant's rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rating {
    /// 满意.
    Satisfied,
    /// 基本满意.
    BasicallySatisfied,
    /// 不满意.
    Dissatisfied,
}

/// What a case act says, as far as the projections care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseFact {
    /// 受理 — a complaint filed: where it is about and which clocks start.
    Filed {
        /// The category slug.
        category: String,
        /// The compound (住宅小区) id.
        compound: String,
        /// The community (社区) id.
        community: String,
        /// The township (乡镇) id.
        township: String,
        /// The firm's USCC, when the complaint is about one.
        firm: Option<String>,
        /// The intake channel (12345, petition, walk-in …).
        channel: String,
        /// Urgent, general or complex.
        severity: String,
    },
    /// 派单 — dispatched (or re-dispatched) to a handling unit.
    Dispatched {
        /// The handling unit.
        unit: String,
    },
    /// 签收 — accepted by the unit holding it.
    Accepted {
        /// Before the acceptance deadline, as the act says.
        on_time: bool,
    },
    /// 退单 — sent back by the unit holding it.
    Returned {
        /// The dispatcher it goes back to.
        to: String,
        /// Why.
        reason: String,
    },
    /// 移送 — transferred to a department.
    Transferred {
        /// The receiving unit.
        to: String,
    },
    /// 先行联系 — the complainant was contacted.
    Contacted {
        /// The first contact after acceptance.
        first: bool,
        /// Before the first-contact deadline, as the act says.
        on_time: bool,
    },
    /// 现场检查 — an inspection.
    Inspected {
        /// A black-list-grade violation found, if any (its slug).
        severe_violation: Option<String>,
    },
    /// 责令整改 — a rectification ordered.
    RectificationOrdered,
    /// 整改复查 — a rectification checked.
    RectificationVerified {
        /// 逾期整改 — not passed, or verified at or after its due time.
        overdue: bool,
    },
    /// 行政处罚 — a penalty imposed.
    Penalised {
        /// The firm penalised, if a firm.
        firm: Option<String>,
        /// The fine in fen (0 for a penalty without a fine).
        amount_fen: i64,
        /// 法律依据 — the legal basis.
        basis: String,
    },
    /// 调解 — a mediation and its outcome.
    Mediated {
        /// The outcome slug (agreed, partial, failed …).
        outcome: String,
    },
    /// 联合执法 — joint enforcement recorded.
    JointEnforcement,
    /// 延期 — an extension of the resolution clock.
    Extended {
        /// Why.
        reason: String,
    },
    /// 督办 — a supervision notice.
    Supervised {
        /// Why.
        notice: String,
        /// The unit supervised.
        unit: Option<String>,
    },
    /// 办结 — resolved by the unit holding it.
    Resolved {
        /// Whether the complaint was substantiated (有效投诉).
        substantiated: bool,
        /// Before the resolution deadline, as the act says.
        on_time: bool,
    },
    /// 回访 — feedback from the complainant.
    Feedback {
        /// The rating.
        rating: Rating,
        /// Whether the complainant says the matter was resolved.
        resolved: bool,
    },
    /// 归档 — closed, rated or not.
    Closed {
        /// Why (rated, dissatisfaction-not-reasonable, unrated).
        outcome: String,
    },
    /// 再次处置 — reopened after a reasonable dissatisfaction.
    Reopened {
        /// The unit that handles it again.
        unit: String,
    },
    /// 并单 — merged into another case.
    Merged {
        /// The case it was merged into.
        into: String,
    },
    /// 撤回 — withdrawn.
    Withdrawn,
    /// An act the projections do not read.
    Other,
}

/// One line of a credit score's trace, as the grading act carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePoint {
    /// The record that caused it.
    pub position: u64,
    /// Its act kind.
    pub kind: String,
    /// Why it counts (quarterly-assessment, penalty, commendation …).
    pub reason: String,
    /// Points in hundredths (negative for deductions; zero when capped or repaired).
    pub hundredths: i64,
    /// The case it comes from, if one.
    pub case: Option<String>,
    /// The credit repair that cancelled it, if one.
    pub repaired_by: Option<u64>,
}

/// What a firm act says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmFact {
    /// Registered.
    Registered {
        /// The firm's name.
        name: String,
    },
    /// 备案 — a contract filed for a compound.
    ContractFiled {
        /// The compound.
        compound: String,
    },
    /// 招投标备案 — a tender filed.
    TenderFiled {
        /// The compound.
        compound: String,
    },
    /// 承接查验 — a handover inspected.
    HandoverInspected {
        /// The compound.
        compound: String,
        /// The public result.
        result: String,
    },
    /// 退出 — the firm left a compound.
    Exited {
        /// The compound.
        compound: String,
    },
    /// 季度考评 — a community's quarterly assessment.
    Assessed {
        /// The quarter, such as `2026Q1`.
        quarter: String,
        /// The community.
        community: String,
        /// Its score, 0..=100 points in hundredths.
        score_hundredths: i64,
    },
    /// 汇总上报 — a township's aggregation of its communities' assessments.
    Aggregated {
        /// The quarter.
        quarter: String,
    },
    /// 信用评级 — the grade the domain's scoring function gave, with its trace.
    Graded {
        /// The quarter.
        quarter: String,
        /// The score in hundredths.
        score_hundredths: i64,
        /// A, B, C or D.
        grade: String,
        /// Months between inspections that the grade implies.
        inspection_interval_months: u32,
        /// Every point of the score.
        trace: Vec<TracePoint>,
    },
    /// 列入红榜/黑榜.
    Listed {
        /// `red` or `black`.
        list: String,
        /// Why.
        reason: String,
    },
    /// 移出红榜/黑榜.
    Delisted {
        /// `red` or `black`.
        list: String,
    },
    /// 信用修复.
    CreditRepaired,
    /// 表彰 — commended.
    Commended {
        /// For what.
        reason: String,
    },
    /// An act the projections do not read.
    Other,
}

/// What a record is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A case act.
    Case {
        /// The case id (the stream's suffix).
        case: String,
        /// Its facts.
        fact: CaseFact,
        /// Clocks the act starts (replacing a running clock of the same kind).
        starts: Vec<Due>,
    },
    /// A firm act.
    Firm {
        /// The firm's USCC (the stream's suffix).
        uscc: String,
        /// Its facts.
        fact: FirmFact,
    },
    /// Anything else (governance, compounds …): no projection reads it yet.
    Other,
}

/// One record, as the folds read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The record's position.
    pub position: u64,
    /// When it was recorded, µs since the epoch, UTC.
    pub at_us: i64,
    /// The acting unit.
    pub unit: String,
    /// The act kind, as recorded.
    pub kind: String,
    /// What it is about.
    pub subject: Subject,
}
