//! Why a command was refused: a stable code, a message in Chinese and in English, and the
//! field at fault.
//!
//! The service turns a [`Rejection`] into an `application/problem+json` body whose `type`
//! ends in [`RejectionCode::as_str`]. Codes are part of the API: they never change meaning
//! and are never reused; new ones are added at the end.
//!
//! ```
//! use caseledger_domain::rejection::{Rejection, RejectionCode};
//!
//! let rejection = Rejection::new(RejectionCode::WrongState, "案件已办结", "the case is closed");
//! assert_eq!(rejection.code.as_str(), "wrong-state");
//! assert!(rejection.to_string().contains("案件已办结"));
//! ```

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A stable, machine-readable reason for a rejection. Serialized in kebab case
/// (`wrong-state`), the same text [`RejectionCode::as_str`] returns.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RejectionCode {
    /// The case or firm is not in a state that allows the command.
    WrongState,
    /// The principal's role may not issue this command at all.
    WrongRole,
    /// The principal's role may issue it, but not for this unit, area or case.
    WrongJurisdiction,
    /// Only the unit the case is dispatched to (承办单位) may do this.
    NotAssignee,
    /// The body has no enforcement powers (执法权) over the case's category.
    NoEnforcementPowers,
    /// The target department is not responsible for the case's category.
    NotResponsible,
    /// A unit, compound, community or category is not in the registry.
    UnknownUnit,
    /// A field is empty, too long or out of range.
    InvalidField,
    /// The command is for a stream that does not exist yet (the case was never filed, the
    /// firm never registered).
    NotFound,
    /// The case or firm already exists.
    AlreadyExists,
    /// 退单 — the return window after dispatch has closed.
    ReturnWindowClosed,
    /// 延期 — an extension was already granted; only one is allowed.
    ExtensionAlreadyGranted,
    /// 延期 — the extension asked for is longer than the policy allows.
    ExtensionTooLong,
    /// 并单 — a case cannot be merged into itself.
    MergeIntoSelf,
    /// 回访 — feedback was already recorded for this resolution.
    FeedbackAlreadyRecorded,
    /// The case cannot be closed or reopened on the feedback it has.
    FeedbackRequired,
    /// A rectification order referred to does not exist or was already verified.
    UnknownRectification,
    /// Personal data of the case was already erased.
    AlreadyErased,
    /// 季度考核 — this community already assessed this firm for this quarter.
    DuplicateAssessment,
    /// The township already aggregated this quarter, or has nothing to aggregate.
    DuplicateAggregation,
    /// There are no assessments to aggregate.
    NothingToAggregate,
    /// The grade published differs from the grade computed from the acts.
    GradeMismatch,
    /// The grade of this quarter was already published.
    GradeAlreadyPublished,
    /// The firm is not eligible for the red or black list (or for removal from it).
    NotEligible,
    /// The firm is already on that list.
    AlreadyListed,
    /// The firm is not on that list.
    NotListed,
    /// 信用修复 — the record named is not a deduction of this firm's credit, or is already
    /// repaired.
    NotRepairable,
    /// The firm has no filed contract for that compound.
    NoContract,
    /// The category is not in the responsibility matrix.
    UnknownCategory,
    /// A deadline could not be computed (the working-day calendar does not cover the dates).
    DeadlineUnavailable,
    /// 维修资金 — a disbursement would exceed what housing approved.
    ExceedsApproved,
}

impl RejectionCode {
    /// Every code, in declaration order.
    pub const ALL: [RejectionCode; 31] = [
        RejectionCode::WrongState,
        RejectionCode::WrongRole,
        RejectionCode::WrongJurisdiction,
        RejectionCode::NotAssignee,
        RejectionCode::NoEnforcementPowers,
        RejectionCode::NotResponsible,
        RejectionCode::UnknownUnit,
        RejectionCode::InvalidField,
        RejectionCode::NotFound,
        RejectionCode::AlreadyExists,
        RejectionCode::ReturnWindowClosed,
        RejectionCode::ExtensionAlreadyGranted,
        RejectionCode::ExtensionTooLong,
        RejectionCode::MergeIntoSelf,
        RejectionCode::FeedbackAlreadyRecorded,
        RejectionCode::FeedbackRequired,
        RejectionCode::UnknownRectification,
        RejectionCode::AlreadyErased,
        RejectionCode::DuplicateAssessment,
        RejectionCode::DuplicateAggregation,
        RejectionCode::NothingToAggregate,
        RejectionCode::GradeMismatch,
        RejectionCode::GradeAlreadyPublished,
        RejectionCode::NotEligible,
        RejectionCode::AlreadyListed,
        RejectionCode::NotListed,
        RejectionCode::NotRepairable,
        RejectionCode::NoContract,
        RejectionCode::UnknownCategory,
        RejectionCode::DeadlineUnavailable,
        RejectionCode::ExceedsApproved,
    ];

    /// The stable text of the code, such as `wrong-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::WrongState => "wrong-state",
            RejectionCode::WrongRole => "wrong-role",
            RejectionCode::WrongJurisdiction => "wrong-jurisdiction",
            RejectionCode::NotAssignee => "not-assignee",
            RejectionCode::NoEnforcementPowers => "no-enforcement-powers",
            RejectionCode::NotResponsible => "not-responsible",
            RejectionCode::UnknownUnit => "unknown-unit",
            RejectionCode::InvalidField => "invalid-field",
            RejectionCode::NotFound => "not-found",
            RejectionCode::AlreadyExists => "already-exists",
            RejectionCode::ReturnWindowClosed => "return-window-closed",
            RejectionCode::ExtensionAlreadyGranted => "extension-already-granted",
            RejectionCode::ExtensionTooLong => "extension-too-long",
            RejectionCode::MergeIntoSelf => "merge-into-self",
            RejectionCode::FeedbackAlreadyRecorded => "feedback-already-recorded",
            RejectionCode::FeedbackRequired => "feedback-required",
            RejectionCode::UnknownRectification => "unknown-rectification",
            RejectionCode::AlreadyErased => "already-erased",
            RejectionCode::DuplicateAssessment => "duplicate-assessment",
            RejectionCode::DuplicateAggregation => "duplicate-aggregation",
            RejectionCode::NothingToAggregate => "nothing-to-aggregate",
            RejectionCode::GradeMismatch => "grade-mismatch",
            RejectionCode::GradeAlreadyPublished => "grade-already-published",
            RejectionCode::NotEligible => "not-eligible",
            RejectionCode::AlreadyListed => "already-listed",
            RejectionCode::NotListed => "not-listed",
            RejectionCode::NotRepairable => "not-repairable",
            RejectionCode::NoContract => "no-contract",
            RejectionCode::UnknownCategory => "unknown-category",
            RejectionCode::DeadlineUnavailable => "deadline-unavailable",
            RejectionCode::ExceedsApproved => "exceeds-approved",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused command. It changes nothing: `decide` returned no act.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{zh} / {en} [{code}]")]
pub struct Rejection {
    /// The stable reason.
    pub code: RejectionCode,
    /// What was wrong, in Chinese.
    pub zh: String,
    /// What was wrong, in English.
    pub en: String,
    /// The command field at fault (its JSON name), when one is.
    pub field: Option<String>,
}

impl Rejection {
    /// A rejection with no field named.
    pub fn new(code: RejectionCode, zh: impl Into<String>, en: impl Into<String>) -> Rejection {
        Rejection {
            code,
            zh: zh.into(),
            en: en.into(),
            field: None,
        }
    }

    /// Names the command field at fault.
    pub fn at(mut self, field: &str) -> Rejection {
        self.field = Some(field.to_string());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_text_matches_its_serde_form() {
        for code in RejectionCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn display_names_both_languages_and_the_code() {
        let rejection = Rejection::new(
            RejectionCode::NotAssignee,
            "只有承办单位可以签收",
            "only the assignee may accept",
        )
        .at("unit");
        let text = rejection.to_string();
        assert!(text.contains("只有承办单位可以签收"));
        assert!(text.contains("only the assignee may accept"));
        assert!(text.contains("not-assignee"));
        assert_eq!(rejection.field.as_deref(), Some("unit"));
    }
}
