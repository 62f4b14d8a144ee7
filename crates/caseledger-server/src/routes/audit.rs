//! The audit resource: full verification and raw records, for the Office and the court.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::views::{read_failed, ApiQuery, NoQuery, RecordView};
use crate::AppState;

/// Roles that audit the ledger: the Leading Group Office and the court.
pub const AUDIT_ROLES: [&str; 2] = ["office", "court"];

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit/verify", get(verify))
        .route("/api/v1/audit/records", get(records))
}

/// The outcome of a full verification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerifyView {
    /// Whether every record re-hashes, links and is indexed correctly.
    pub ok: bool,
    /// Records checked.
    pub records: u64,
    /// Hash of the last acknowledged record, hex.
    pub head_hash: String,
    /// The first broken position, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<u64>,
    /// What is broken there, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Re-hashes and checks the whole log. One verification runs at a time.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The verification report", body = VerifyView),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditing role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "A verification is already running", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    _: NoQuery,
) -> Result<Json<VerifyView>, ApiError> {
    caller.require_role(&AUDIT_ROLES)?;
    let permit = state
        .verify_slot()
        .try_acquire_owned()
        .map_err(|_| ApiError::Unavailable {
            zh: "已有一次完整校验正在进行，请稍后再试".into(),
            en: "A full verification is already running; retry later".into(),
        })?;
    let ledger = state.ledger().clone();
    let report = tokio::task::spawn_blocking(move || {
        let report = ledger.verify(|_, _| {});
        drop(permit);
        report
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(read_failed)?;
    if !report.ok {
        tracing::error!(broken_at = ?report.broken_at, "full verification failed");
    }
    Ok(Json(VerifyView {
        ok: report.ok,
        records: report.records,
        head_hash: report.head_hash.to_hex(),
        broken_at: report.broken_at,
        reason: report.reason,
    }))
}

/// Which records to return.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// First position (1-based, default 1).
    pub from: Option<u64>,
    /// Records at most, at least 1 (default and cap from the configuration).
    pub limit: Option<usize>,
}

/// A page of raw records.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordsPage {
    /// The log's head position when the page was read.
    pub as_of: u64,
    /// The records, in position order, each with its stored bytes.
    pub records: Vec<RecordView>,
    /// The `from` of the next page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Raw records by position: the exact stored bytes, base64, with their chain hashes.
#[utoipa::path(get, path = "/api/v1/audit/records", tag = "audit",
    security(("bearer" = [])), params(RecordsQuery),
    responses(
        (status = 200, description = "A page of records", body = RecordsPage),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditing role", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn records(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RecordsQuery>,
) -> Result<Json<RecordsPage>, ApiError> {
    caller.require_role(&AUDIT_ROLES)?;
    let from = query.from.unwrap_or(1).max(1);
    let limit = super::views::page_limit(&state, query.limit)?;
    let as_of = state.ledger().head().position;
    let stored = state
        .ledger()
        .read_range(from, limit)
        .map_err(read_failed)?;
    let next = stored
        .last()
        .map(|last| last.position + 1)
        .filter(|next| *next <= as_of);
    Ok(Json(RecordsPage {
        as_of,
        records: stored.iter().map(RecordView::raw).collect(),
        next,
    }))
}
