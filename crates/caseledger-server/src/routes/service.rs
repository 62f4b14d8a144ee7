//! Service endpoints: liveness, readiness, metrics, the OpenAPI document, and the fallbacks.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{extract::State, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::AppState;

/// The media type of the Prometheus text exposition.
const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The service endpoints.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi_document))
}

/// Liveness and readiness answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when alive (`starting` while the ledger opens), `ready` when accepting work.
    pub status: String,
    /// Readiness only, when the service serves evidence: where the open check of the Merkle
    /// tree against the latest signed checkpoint stands. While the full re-hash runs in the
    /// background the service already serves (the quick check passed before it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_check: Option<EvidenceCheck>,
}

/// 开启核对 — where the evidence's open check stands, as `/readyz` reports it. A failed check
/// is no state of a ready service: `/readyz` answers 503 naming the mismatch instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceCheck {
    /// The quick check passed; every record is being re-hashed in the background.
    Running,
    /// Every check passed.
    Passed,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "Alive: `ok`, or `starting` while the server opens its ledger (every other path answers 503 with Retry-After meanwhile)", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        evidence_check: None,
    })
}

/// The service accepts work: the ledger is open and verified, it is not shutting down, and
/// the evidence's open check has not failed. The body says whether that check is still
/// running in the background.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses(
        (status = 200, description = "Ready; `evidence_check` says whether the background check of the log against the latest checkpoint still runs", body = Health),
        (status = 503, description = "Starting or stopping, or the log failed the open check against the latest signed checkpoint (the detail names the mismatch)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let check = state
        .evidence()
        .map(caseledger_evidence::Evidence::open_check);
    readiness(state.is_ready(), check).map(Json)
}

/// The answer to anything asked of a ledger whose log failed the evidence's open check
/// (`why` names the mismatch, in both languages already): 503.
pub(crate) fn open_check_failed(why: &str) -> ApiError {
    ApiError::Unavailable {
        zh: "账本未通过开启时与最新检查点的核对，不再提供证据、不再接受写入".into(),
        en: format!(
            "The ledger failed its open check against the latest signed checkpoint \
             and serves no evidence and takes no act: {why}"
        ),
    }
}

/// Why the ledger refuses to serve, if its open check failed.
pub(crate) fn open_check_failure(state: &AppState) -> Option<ApiError> {
    match state.evidence()?.open_check() {
        caseledger_evidence::OpenCheckStatus::Failed(why) => Some(open_check_failed(&why)),
        _ => None,
    }
}

/// What `/readyz` answers, given whether the service takes work and, when it serves
/// evidence, where the open check stands.
fn readiness(
    ready: bool,
    check: Option<caseledger_evidence::OpenCheckStatus>,
) -> Result<Health, ApiError> {
    use caseledger_evidence::OpenCheckStatus;
    if !ready {
        return Err(ApiError::Unavailable {
            zh: "服务尚未就绪或正在停止".into(),
            en: "The service is starting or stopping".into(),
        });
    }
    let evidence_check = match check {
        None => None,
        Some(OpenCheckStatus::Running) => Some(EvidenceCheck::Running),
        Some(OpenCheckStatus::Passed) => Some(EvidenceCheck::Passed),
        Some(OpenCheckStatus::Failed(why)) => return Err(open_check_failed(&why)),
    };
    Ok(Health {
        status: "ready".into(),
        evidence_check,
    })
}

/// Counters in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // The projections' lock is the writer's while it applies a batch: wait for it off the
    // async workers.
    let gathered = tokio::task::spawn_blocking(move || {
        let head = state.ledger().head().position;
        let projections = crate::metrics::ProjectionGauges::of(state.projections());
        state.metrics().render(Some(head), &projections)
    })
    .await;
    let text = match gathered {
        Ok(text) => text,
        Err(error) => {
            return ApiError::internal(format!("gathering the metrics: {error}")).into_response()
        }
    };
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_CONTENT_TYPE),
    );
    response
}

/// This API's OpenAPI 3.1 document (also checked in as `schemas/openapi.json`).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service",
    responses(
        (status = 200, description = "The OpenAPI document", body = crate::openapi::OpenApiDocumentSchema),
        (status = 400, description = "A query string: this resource takes none", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn openapi_document(_: crate::routes::views::NoQuery) -> Response {
    let mut response = crate::openapi::document_json().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Any unknown path: a 404 problem.
pub async fn not_found() -> ApiError {
    ApiError::NotFound { what: "route" }
}

/// A known path with the wrong method: a 405 problem.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger_evidence::OpenCheckStatus;

    fn check(
        ready: bool,
        open_check: Option<OpenCheckStatus>,
        expect: Result<Option<EvidenceCheck>, (&str, &str)>,
    ) {
        match (readiness(ready, open_check), expect) {
            (Ok(health), Ok(evidence_check)) => {
                assert_eq!(health.status, "ready");
                assert_eq!(health.evidence_check, evidence_check);
            }
            (Err(ApiError::Unavailable { zh, en }), Err((zh_named, en_named))) => {
                assert!(zh.contains(zh_named), "{zh}");
                assert!(en.contains(en_named), "{en}");
            }
            (answer, expect) => panic!("expected {expect:?}, got {answer:?}"),
        }
    }

    /// Every state of the evidence's open check, as `/readyz` reports it.
    #[test]
    fn readiness_reports_the_open_check() {
        let why = "records 17..=32 do not reproduce the checkpoint's root";
        check(true, None, Ok(None));
        check(
            true,
            Some(OpenCheckStatus::Running),
            Ok(Some(EvidenceCheck::Running)),
        );
        check(
            true,
            Some(OpenCheckStatus::Passed),
            Ok(Some(EvidenceCheck::Passed)),
        );
        check(
            true,
            Some(OpenCheckStatus::Failed(why.into())),
            Err(("最新检查点", why)),
        );
        check(
            false,
            Some(OpenCheckStatus::Passed),
            Err(("正在停止", "stopping")),
        );
    }
}
