//! The evidence resource (证据): the latest signed checkpoint, inclusion and consistency
//! proofs, and a case's evidence bundle for the offline verifier `caseledger-verify`.
//!
//! Who may read what: the checkpoint and consistency proofs say nothing about any record and
//! are open to every token holder; an inclusion proof names a record's leaf hash by position
//! and is for the auditing roles (Office, court); a case's bundle follows the history
//! endpoint's rules exactly.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use caseledger_domain::act::Act;
use caseledger_domain::case::CaseState;
use caseledger_evidence::{Evidence, EvidenceError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::principal_of;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::audit::AUDIT_ROLES;
use crate::routes::cases::{act_json, case_stream, may_read_state, parse_case_id};
use crate::routes::views::{ApiQuery, NoQuery};
use crate::write::{decode_records, read_stream};
use crate::AppState;

/// The evidence routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit/checkpoint", get(checkpoint))
        .route("/api/v1/audit/proof/inclusion", get(inclusion))
        .route("/api/v1/audit/proof/consistency", get(consistency))
        .route("/api/v1/cases/{case_id}/evidence", get(case_evidence))
}

fn evidence_of(state: &AppState) -> Result<Evidence, ApiError> {
    state
        .evidence()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable {
            zh: "本服务未启用证据（检查点签名密钥未加载）".into(),
            en: "Evidence is not enabled on this service (no checkpoint signing key)".into(),
        })
}

/// Bad sizes and positions are the caller's; a ledger whose open check failed serves no
/// evidence (503, with the mismatch named); anything else is ours.
fn evidence_failed(error: EvidenceError, field: &str) -> ApiError {
    match error {
        EvidenceError::Range { zh, en } => ApiError::BadRequest {
            zh,
            en,
            field: Some(field.into()),
        },
        EvidenceError::Refused(why) => ApiError::Unavailable {
            zh: format!("账本未通过开启时的核对，不再提供证据：{why}"),
            en: format!("The ledger failed its open check and serves no evidence: {why}"),
        },
        other => ApiError::internal(format!("evidence: {other}")),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

/// The latest signed checkpoint, as a C2SP signed note (text). Signs one first when none
/// covers the head yet.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed note: origin, tree size, root (base64), blank line, signature lines", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Evidence is not enabled", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn checkpoint(
    State(state): State<AppState>,
    _caller: Caller,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let evidence = evidence_of(&state)?;
    let checkpoint = blocking(move || match evidence.latest_checkpoint() {
        Some(latest) => Ok(latest),
        None => evidence
            .force_checkpoint()
            .map_err(|error| evidence_failed(error, "")),
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        checkpoint.note,
    )
        .into_response())
}

/// Which record, against which tree.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The record's position (1-based).
    pub position: u64,
    /// The tree size (at most the head); default: the latest checkpoint's.
    pub tree_size: Option<u64>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InclusionView {
    /// The record's position.
    pub position: u64,
    /// Its leaf index, `position - 1`.
    pub leaf_index: u64,
    /// The tree size proven against.
    pub tree_size: u64,
    /// `SHA-256(0x00 || record bytes)`, hex.
    pub leaf_hash: String,
    /// The tree's root at `tree_size`, hex.
    pub root: String,
    /// The audit path, leaf upwards, hex.
    pub proof: Vec<String>,
}

/// The proof that a record is in the tree of a given size.
#[utoipa::path(get, path = "/api/v1/audit/proof/inclusion", tag = "audit",
    security(("bearer" = [])), params(InclusionQuery),
    responses(
        (status = 200, description = "The inclusion proof", body = InclusionView),
        (status = 400, description = "Position or tree size outside the tree", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditing role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Evidence is not enabled", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionView>, ApiError> {
    caller.require_role(&AUDIT_ROLES)?;
    let evidence = evidence_of(&state)?;
    let head = state.ledger().head().position;
    let proof = blocking(move || {
        // A size beyond the head is the size's fault; any other range error the position's.
        let field = match query.tree_size {
            Some(size) if size > head => "tree_size",
            _ => "position",
        };
        let tree_size = match query.tree_size {
            Some(size) => size,
            None => match evidence.latest_checkpoint() {
                Some(latest) => latest.tree_size,
                None => {
                    evidence
                        .force_checkpoint()
                        .map_err(|error| evidence_failed(error, "tree_size"))?
                        .tree_size
                }
            },
        };
        evidence
            .inclusion_proof(query.position, tree_size)
            .map_err(|error| evidence_failed(error, field))
    })
    .await?;
    Ok(Json(InclusionView {
        position: proof.position,
        leaf_index: proof.leaf_index,
        tree_size: proof.tree_size,
        leaf_hash: proof.leaf_hash.to_hex(),
        root: proof.root.to_hex(),
        proof: proof.proof.iter().map(|hash| hash.to_hex()).collect(),
    }))
}

/// Between which tree sizes.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    /// The earlier tree size (at least 1).
    pub from: u64,
    /// The later tree size (at most the head).
    pub to: u64,
}

/// An RFC 9162 consistency proof, in the file format `caseledger-verify consistency` reads
/// (`caseledger-consistency-proof/v1`): save the body as is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyView {
    /// `caseledger-consistency-proof/v1`.
    pub format: String,
    /// The earlier tree size.
    pub old_size: u64,
    /// The later tree size.
    pub new_size: u64,
    /// RFC 9162 `PROOF(old_size, D[new_size])`, hex.
    pub proof: Vec<String>,
}

/// The proof that the tree of `from` records is a prefix of the tree of `to` records.
#[utoipa::path(get, path = "/api/v1/audit/proof/consistency", tag = "audit",
    security(("bearer" = [])), params(ConsistencyQuery),
    responses(
        (status = 200, description = "The consistency proof", body = ConsistencyView),
        (status = 400, description = "Sizes out of order or beyond the head", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Evidence is not enabled", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn consistency(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let evidence = evidence_of(&state)?;
    // A `to` beyond the head is its fault; sizes out of order or zero, `from`'s.
    let field = if query.to > state.ledger().head().position {
        "to"
    } else {
        "from"
    };
    let proof = blocking(move || {
        evidence
            .consistency_proof(query.from, query.to)
            .map_err(|error| evidence_failed(error, field))
    })
    .await?;
    Ok(Json(ConsistencyView {
        format: proof.format,
        old_size: proof.old_size,
        new_size: proof.new_size,
        proof: proof.proof,
    }))
}

/// 证据包 — every record of a case, raw and decoded, each with an inclusion proof against one
/// signed checkpoint, the checkpoint and the ledger's key (`caseledger-evidence-bundle/v1`,
/// see `schemas/evidence-bundle.md`). Check it offline with
/// `caseledger-verify BUNDLE --key PUBKEY`. Who may download it follows the history's rules.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}/evidence", tag = "cases", security(("bearer" = [])),
    params(("case_id" = String, Path, description = "The case id")),
    responses(
        (status = 200, description = "The evidence bundle (format caseledger-evidence-bundle/v1)", body = crate::openapi::EvidenceBundleSchema),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caller's jurisdiction", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Evidence is not enabled", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn case_evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    let case_id = parse_case_id(&case_id)?;
    let stream = case_stream(case_id);
    let records = read_stream(&state, &stream)?;
    let acts = decode_records(&records)?;
    let current = CaseState::replay(acts.iter().map(|recorded| &recorded.act));
    if current.case_id.is_none() || !may_read_state(&principal, &current) {
        return Err(ApiError::NotFound { what: "case" });
    }
    let evidence = evidence_of(&state)?;
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bundle = blocking(move || {
        let shown = |record: &caseledger_log::Record| {
            let act = Act::decode(&record.kind, record.schema_version, &record.payload).ok()?;
            act_json(&state, &principal, &stream, &act).ok()
        };
        evidence
            .bundle(&stream, &generated_at, shown)
            .map_err(|error| evidence_failed(error, "case_id"))
    })
    .await?;
    let body = serde_json::to_vec_pretty(&bundle).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"case-{case_id}-evidence.json\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ledger whose open check failed answers 503 naming the mismatch, not 500.
    #[test]
    fn a_failed_open_check_is_unavailable_and_named() {
        let why = "账本与最新检查点不符 / the log does not reproduce the latest checkpoint";
        match evidence_failed(EvidenceError::Refused(why.into()), "") {
            ApiError::Unavailable { zh, en } => {
                assert!(zh.contains(why), "{zh}");
                assert!(en.contains(why), "{en}");
            }
            other => panic!("expected 503, got {other:?}"),
        }
        assert!(matches!(
            evidence_failed(
                EvidenceError::Range {
                    zh: "x".into(),
                    en: "x".into()
                },
                "position"
            ),
            ApiError::BadRequest { .. }
        ));
    }
}
