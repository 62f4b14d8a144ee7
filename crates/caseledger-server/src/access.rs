//! Who may see what (DOMAIN.md §6), and domain rejections as problems.
//!
//! The rules of who may *act* live in the domain's `decide`; this module only decides what a
//! caller may *read*, and hides what it may not read behind a 404, so that a case's existence
//! does not leak outside its jurisdiction.

use axum::http::StatusCode;
use caseledger_domain::ids::UnitId;
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::rejection::{Rejection, RejectionCode};

use crate::auth::Caller;
use crate::error::ApiError;

/// Roles the law allows to read complainants' personal data: the Office (which runs
/// supervision) and the court (evidence). Everyone else sees only that it is sealed.
pub const PERSONAL_DATA_ROLES: [Role; 2] = [Role::Office, Role::Court];

/// Every role, to find one by its name without going through a JSON value per request.
const ROLES: [Role; 8] = [
    Role::Office,
    Role::Department,
    Role::Township,
    Role::Community,
    Role::Intake,
    Role::Court,
    Role::Firm,
    Role::Public,
];

/// The kind of the unit whose id is `text` in the county's registry; `None` when `text` is
/// not a unit id or the registry has no such unit.
pub fn registered_kind(
    registry: &caseledger_domain::registry::Registry,
    text: &str,
) -> Option<caseledger_domain::registry::UnitKind> {
    UnitId::new(text).ok().and_then(|id| registry.kind_of(&id))
}

/// The role named `name` (`office`, `township`, …).
pub fn role_named(name: &str) -> Option<Role> {
    ROLES.into_iter().find(|role| role.as_str() == name)
}

/// The domain principal of a caller, or a 403 when its token names a role or unit the
/// domain does not know (a token issued before a registry change).
pub fn principal_of(caller: &Caller) -> Result<Principal, ApiError> {
    let role = role_named(&caller.principal.role).ok_or_else(|| {
        ApiError::forbidden(
            &format!("令牌的角色“{}”无效", caller.principal.role),
            &format!(
                "The token's role `{}` is not a known role",
                caller.principal.role
            ),
        )
    })?;
    let unit: UnitId = caller.principal.unit.parse().map_err(|_| {
        ApiError::forbidden(
            &format!("令牌的单位“{}”无效", caller.principal.unit),
            &format!(
                "The token's unit `{}` is not a valid unit id",
                caller.principal.unit
            ),
        )
    })?;
    Ok(Principal::new(role, unit))
}

/// What a case offers for deciding who may read it.
#[derive(Debug, Clone, Copy)]
pub struct CaseScope<'a> {
    /// 乡镇.
    pub township: &'a str,
    /// 社区.
    pub community: &'a str,
    /// The firm it is about.
    pub firm: Option<&'a str>,
    /// Every unit it was ever dispatched or transferred to, and the unit that filed it.
    pub units: &'a [&'a str],
}

/// Whether `principal` may read a case with this scope.
pub fn may_read_case(principal: &Principal, scope: &CaseScope<'_>) -> bool {
    let unit = principal.unit.as_str();
    let involved = scope.units.contains(&unit);
    match principal.role {
        Role::Office | Role::Court => true,
        // The 12345 hotline and the petition platform take complaints county-wide and call
        // complainants back (回访) on any case.
        Role::Intake => true,
        Role::Department => involved || principal.is_county_dispatcher(),
        Role::Township => involved || scope.township == unit,
        Role::Community => involved || scope.community == unit,
        Role::Firm => scope.firm.is_some_and(|firm| {
            UnitId::new(format!("firm/{firm}")).is_ok_and(|id| id == principal.unit)
        }),
        Role::Public => false,
    }
}

/// Whether `principal` may read the file and history of firm `uscc`.
pub fn may_read_firm(principal: &Principal, uscc: &str) -> bool {
    match principal.role {
        Role::Public => false,
        Role::Firm => principal.unit.as_str() == format!("firm/{uscc}"),
        _ => true,
    }
}

/// The status a domain rejection answers with.
pub fn rejection_status(code: RejectionCode) -> StatusCode {
    match code {
        RejectionCode::NotFound => StatusCode::NOT_FOUND,
        RejectionCode::WrongRole
        | RejectionCode::WrongJurisdiction
        | RejectionCode::NotAssignee
        | RejectionCode::NoEnforcementPowers => StatusCode::FORBIDDEN,
        RejectionCode::WrongState
        | RejectionCode::AlreadyExists
        | RejectionCode::ReturnWindowClosed
        | RejectionCode::ExtensionAlreadyGranted
        | RejectionCode::FeedbackAlreadyRecorded
        | RejectionCode::FeedbackRequired
        | RejectionCode::AlreadyErased
        | RejectionCode::DuplicateAssessment
        | RejectionCode::DuplicateAggregation
        | RejectionCode::GradeAlreadyPublished
        | RejectionCode::AlreadyListed
        | RejectionCode::NotListed => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> ApiError {
        ApiError::Rejected {
            status: rejection_status(rejection.code),
            code: rejection.code.as_str().to_owned(),
            zh: rejection.zh,
            en: rejection.en,
            field: rejection.field,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, unit: &str) -> Principal {
        Principal::new(role, unit.parse().unwrap())
    }

    #[test]
    fn jurisdiction_of_reads() {
        let units = ["12345", "township/dongping", "urban-management"];
        let scope = CaseScope {
            township: "township/dongping",
            community: "community/dongping/heping",
            firm: Some("91430923MA4L123461"),
            units: &units,
        };
        let check = |role, unit, expected| {
            assert_eq!(
                may_read_case(&principal(role, unit), &scope),
                expected,
                "{role} {unit}"
            );
        };
        check(Role::Office, "office", true);
        check(Role::Court, "court", true);
        check(Role::Township, "township/dongping", true);
        check(Role::Township, "township/meicheng", false);
        check(Role::Community, "community/dongping/heping", true);
        check(Role::Community, "community/dongping/other", false);
        check(Role::Department, "urban-management", true);
        check(Role::Department, "housing", true);
        check(Role::Department, "health", false);
        check(Role::Firm, "firm/91430923MA4L123461", true);
        check(Role::Firm, "firm/91430923MA4L91531J", false);
        check(Role::Public, "public", false);
    }
}
