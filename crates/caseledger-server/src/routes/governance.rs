//! Governance (DOMAIN.md §5): joint meetings, safety inspections, and each compound's owners'
//! self-governance, fire-safety agreements, property liaison and maintenance fund.
//!
//! One write route takes every governance act, `{"act": "<kind or command>", …fields}`; the
//! command names its own stream (`governance/<uuid>` for a meeting or an inspection, the
//! compound's id for the rest), and the domain's `governance::decide` holds every rule of who
//! may record what. Reads return a stream's state and records.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use caseledger_domain::context::Context;
use caseledger_domain::governance::{self, GovernanceCommand, GovernanceState};
use caseledger_domain::ids::UnitId;
use caseledger_domain::principal::{Principal, Role};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::principal_of;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::cases::{act_view, parse_command, HistoryItem};
use crate::routes::views::{NoQuery, RecordView};
use crate::write::{
    decide_and_append, decode_records, etag, event_id_for, read_stream, write_answer, WriteHeaders,
    WriteOutcome,
};
use crate::AppState;

/// The governance routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/governance/acts", post(record_governance_act))
        .route("/api/v1/governance/records/{id}", get(get_record))
        .route(
            "/api/v1/governance/compounds/{*compound}",
            get(get_compound),
        )
}

/// Each governance act's kind and the command that records it; either name is accepted.
pub const GOVERNANCE_ACT_NAMES: [(&str, &str); 11] = [
    ("JointMeetingConvened", "ConveneJointMeeting"),
    ("SafetyInspectionRecorded", "RecordSafetyInspection"),
    ("FireSafetyAgreementSigned", "SignFireSafetyAgreement"),
    ("OwnersAssemblyFormed", "FormOwnersAssembly"),
    ("OwnersCommitteeElected", "ElectOwnersCommittee"),
    ("OwnersCommitteeFiled", "FileOwnersCommittee"),
    ("OwnersCommitteeTermChanged", "ChangeOwnersCommitteeTerm"),
    ("MaintenanceFundApplied", "ApplyMaintenanceFund"),
    ("MaintenanceFundReviewed", "ReviewMaintenanceFund"),
    ("MaintenanceFundDisbursed", "DisburseMaintenanceFund"),
    ("PropertyLiaisonNamed", "NamePropertyLiaison"),
];

/// Records one governance act. Who may record it is the domain's rule: a wrong role or unit
/// answers 403 with the domain's code, an act the stream's state does not allow answers 409
/// or 422 with the domain's code, and nothing is appended.
#[utoipa::path(post, path = "/api/v1/governance/acts", tag = "governance", security(("bearer" = [])),
    request_body(content = crate::openapi::ActBodySchema, description = "`{\"act\": \"FormOwnersAssembly\", \"compound\": \"compound/dongping/lanting-11\", \"formed_on\": \"2026-05-01\"}`; the fields of each command are in `schemas/commands/`"),
    params(
        ("If-Match" = Option<String>, Header, description = "The stream version decided on, such as \"3\"; another answers 409"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat answers the first result"),
    ),
    responses(
        (status = 201, description = "Recorded", body = WriteOutcome),
        (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key", body = WriteOutcome),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role or unit may not record this act", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale If-Match, or not allowed in the stream's state", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown act or field, or refused by the rules", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_governance_act(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    let write_headers = WriteHeaders::from_headers(&headers)?;
    let command: GovernanceCommand = parse_command(body, &GOVERNANCE_ACT_NAMES)?;
    let stream = command.stream().to_string();
    let event_id = event_id_for(&caller, &stream, write_headers.idempotency_key.as_deref());
    let outcome = decide_and_append(
        &state,
        &caller,
        &stream,
        &write_headers,
        event_id,
        |stored| {
            let current = GovernanceState::replay(stored.acts.iter().map(|recorded| &recorded.act));
            let context = Context::new(state.rules(), chrono::Utc::now(), principal.clone());
            Ok(governance::decide(&current, &command, &context)?)
        },
    )
    .await?;
    Ok(write_answer(&outcome, &outcome))
}

/// A maintenance-fund application as the stream's state holds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundView {
    /// The application id.
    pub application_id: Uuid,
    /// The amount asked for, in fen.
    pub requested_fen: u64,
    /// `Pending`, `Approved` or `Rejected`.
    pub status: String,
    /// The amount approved, in fen.
    pub approved_fen: u64,
    /// The amount disbursed so far, in fen.
    pub disbursed_fen: u64,
}

/// The current owners' committee of a compound.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitteeView {
    /// Its members.
    pub members: u32,
    /// First day of its term.
    pub term_starts_on: String,
    /// Last day of its term.
    pub term_ends_on: String,
    /// Whether this term is filed with the township.
    pub filed: bool,
    /// Terms so far, this one included.
    pub terms: u32,
}

/// A governance stream's state: one meeting or inspection, or one compound's acts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GovernanceStateView {
    /// Acts applied (the stream version).
    pub version: u64,
    /// The meeting or inspection of a `governance/<uuid>` stream.
    pub record: Option<Uuid>,
    /// The compound of a compound stream.
    pub compound: Option<String>,
    /// 业主大会 formed.
    pub assembly_formed: bool,
    /// 业主委员会, once elected.
    pub committee: Option<CommitteeView>,
    /// Fire-safety agreements signed.
    pub fire_agreements: u32,
    /// The current property liaison's name (community staff, published in the compound).
    pub liaison: Option<String>,
    /// Maintenance-fund applications, by id.
    pub funds: Vec<FundView>,
}

impl From<&GovernanceState> for GovernanceStateView {
    fn from(state: &GovernanceState) -> GovernanceStateView {
        GovernanceStateView {
            version: state.version,
            record: state.record.map(|id| id.0),
            compound: state.compound.as_ref().map(|id| id.as_str().to_owned()),
            assembly_formed: state.assembly_formed,
            committee: state.committee.as_ref().map(|committee| CommitteeView {
                members: committee.members,
                term_starts_on: committee.term_starts_on.to_string(),
                term_ends_on: committee.term_ends_on.to_string(),
                filed: committee.filed,
                terms: committee.terms,
            }),
            fire_agreements: state.fire_agreements,
            liaison: state.liaison.clone(),
            funds: state
                .funds
                .iter()
                .map(|(id, fund)| FundView {
                    application_id: *id,
                    requested_fen: fund.requested_fen,
                    status: format!("{:?}", fund.status),
                    approved_fen: fund.approved_fen,
                    disbursed_fen: fund.disbursed_fen,
                })
                .collect(),
        }
    }
}

/// A governance stream: its state and every record, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GovernanceBody {
    /// The log head when it was read.
    pub as_of: u64,
    /// The stream (`governance/<uuid>` or the compound's id).
    pub stream: String,
    /// The stream's version (send it in `If-Match`).
    pub version: u64,
    /// The state folded from the records.
    pub state: GovernanceStateView,
    /// The records.
    pub records: Vec<HistoryItem>,
}

/// Who may read governance records: the county's units, each township and community for the
/// compounds in its area. Meetings and inspections are county-wide records.
fn may_read_governance(
    state: &AppState,
    principal: &Principal,
    compound: Option<&UnitId>,
) -> Result<(), ApiError> {
    let allowed = match principal.role {
        Role::Office | Role::Court | Role::Department => true,
        Role::Township | Role::Community => compound
            .is_none_or(|compound| state.rules().registry.is_within(compound, &principal.unit)),
        Role::Intake | Role::Firm | Role::Public => false,
    };
    if allowed {
        Ok(())
    } else if compound.is_some() && matches!(principal.role, Role::Township | Role::Community) {
        // Outside the caller's area: as for cases, its existence does not leak.
        Err(ApiError::NotFound { what: "compound" })
    } else {
        Err(ApiError::forbidden(
            "该角色不能查看治理记录",
            "This role does not read governance records",
        ))
    }
}

fn stream_body(
    state: &AppState,
    principal: &Principal,
    stream: &str,
) -> Result<GovernanceBody, ApiError> {
    let as_of = state.ledger().head().position;
    let stored = read_stream(state, stream)?;
    let acts = decode_records(&stored)?;
    let folded = GovernanceState::replay(acts.iter().map(|recorded| &recorded.act));
    let records = stored
        .iter()
        .zip(&acts)
        .map(|(record, recorded)| {
            Ok(HistoryItem {
                record: RecordView::header(record),
                act: act_view(state, principal, stream, &recorded.act)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(GovernanceBody {
        as_of,
        stream: stream.to_owned(),
        version: stored.last().map_or(0, |last| last.record.stream_version),
        state: GovernanceStateView::from(&folded),
        records,
    })
}

fn answer(body: GovernanceBody) -> Response {
    let version = body.version;
    let mut response = Json(body).into_response();
    let (name, value) = etag(version);
    response.headers_mut().insert(name, value);
    response
}

/// A joint meeting or a safety inspection (`governance/<id>`).
#[utoipa::path(get, path = "/api/v1/governance/records/{id}", tag = "governance", security(("bearer" = [])),
    params(("id" = String, Path, description = "The meeting's or inspection's id (a UUID)")),
    responses(
        (status = 200, description = "Its state and records", body = GovernanceBody),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role does not read governance records", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such record", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    may_read_governance(&state, &principal, None)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound { what: "record" })?;
    let body = stream_body(&state, &principal, &format!("governance/{id}"))?;
    if body.records.is_empty() {
        return Err(ApiError::NotFound { what: "record" });
    }
    Ok(answer(body))
}

/// A compound's governance: assembly, committee, fire-safety agreements, liaison, fund.
#[utoipa::path(get, path = "/api/v1/governance/compounds/{compound}", tag = "governance", security(("bearer" = [])),
    params(("compound" = String, Path, description = "The compound's unit id, with or without its `compound/` prefix (`dongping/lanting-11`)")),
    responses(
        (status = 200, description = "Its state and records (none yet is an empty list)", body = GovernanceBody),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role does not read governance records", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such compound in the caller's area", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_compound(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound): Path<String>,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    let text = if compound.starts_with("compound/") {
        compound
    } else {
        format!("compound/{compound}")
    };
    let compound: UnitId = text
        .parse()
        .map_err(|_| ApiError::NotFound { what: "compound" })?;
    if state.rules().registry.unit(&compound).is_none() {
        return Err(ApiError::NotFound { what: "compound" });
    }
    may_read_governance(&state, &principal, Some(&compound))?;
    let body = stream_body(&state, &principal, compound.as_str())?;
    Ok(answer(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_governance_act_has_its_command() {
        let kinds: Vec<&str> = GOVERNANCE_ACT_NAMES.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, caseledger_domain::act::Act::GOVERNANCE_KINDS);
    }
}
