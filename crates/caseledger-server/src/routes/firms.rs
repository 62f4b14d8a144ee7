//! The firm resource: register, record acts on a firm's file, read the file (score, grade,
//! trace, lists) and its history.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use caseledger_domain::act::RecordedAct;
use caseledger_domain::context::Context;
use caseledger_domain::firm::{self, FirmCommand, FirmContext, FirmState, RegisterFirm};
use caseledger_domain::ids::Uscc;
use caseledger_projections::firm::{FirmFile, FirmQueries, QuarterCredit};
use caseledger_projections::{Cursor, PageRequest, PAGE_RECORDS_MAX};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{may_read_firm, principal_of};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::cases::{act_view, parse_command, History, HistoryItem};
use crate::routes::views::{NoQuery, RecordView};
use crate::write::{
    decide_and_append, decode_records, event_id_for, read_stream, write_answer, WriteHeaders,
    WriteOutcome,
};
use crate::AppState;

/// Cases about one firm read to decide a firm act (its credit counts them), at most.
const FIRM_CASES_MAX: usize = 100_000;

/// The firm routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/firms", post(register_firm))
        .route("/api/v1/firms/{uscc}", get(get_firm))
        .route("/api/v1/firms/{uscc}/acts", post(record_firm_act))
        .route("/api/v1/firms/{uscc}/history", get(firm_history))
}

/// 企业建档 — a firm to register.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterFirmBody {
    /// 统一社会信用代码 — the 18-character unified social credit code (checked).
    #[schema(value_type = String)]
    pub firm: Uscc,
    /// Its registered name.
    pub name: String,
}

const FIRM_ACT_NAMES: [(&str, &str); 13] = [
    ("FirmRegistered", "RegisterFirm"),
    ("ContractFiled", "FileContract"),
    ("TenderFiled", "FileTender"),
    ("HandoverInspected", "RecordHandoverInspection"),
    ("FirmExited", "RecordExit"),
    ("QuarterlyAssessmentSubmitted", "SubmitAssessment"),
    ("AssessmentsAggregated", "AggregateAssessments"),
    ("GradePublished", "PublishGrade"),
    ("RedListed", "ListRed"),
    ("BlackListed", "ListBlack"),
    ("Delisted", "Delist"),
    ("CreditRepaired", "RepairCredit"),
    ("FirmCommended", "CommendFirm"),
];

/// A credit code from a path: 422 naming `uscc` when it is not a valid code.
fn parse_uscc(text: &str) -> Result<Uscc, ApiError> {
    text.parse::<Uscc>().map_err(|error| {
        // The domain's message is already "中文 / English": split it, not repeat it.
        let message = error.to_string();
        let (zh, en) = message
            .split_once(" / ")
            .map_or((message.as_str(), message.as_str()), |(zh, en)| (zh, en));
        ApiError::Unprocessable {
            zh: zh.to_owned(),
            en: en.to_owned(),
            field: Some("uscc".into()),
        }
    })
}

fn firm_stream(uscc: &Uscc) -> String {
    format!("firm/{uscc}")
}

fn projection_failed(error: caseledger_projections::Error) -> ApiError {
    ApiError::internal(format!("projection read: {error}"))
}

/// The firm's records and the records of every case about it, in position order: what its
/// credit is computed from.
fn credit_records(
    state: &AppState,
    uscc: &Uscc,
    own: Vec<RecordedAct>,
) -> Result<Vec<RecordedAct>, ApiError> {
    let queries = FirmQueries::new(state.reader().clone());
    let mut records = own;
    let mut page = PageRequest::first(PAGE_RECORDS_MAX);
    let mut cases = 0usize;
    loop {
        let listed = queries
            .cases(uscc.as_str(), &page)
            .map_err(projection_failed)?;
        for case in &listed.items {
            cases += 1;
            if cases > FIRM_CASES_MAX {
                return Err(ApiError::internal(format!(
                    "firm {uscc} has more than {FIRM_CASES_MAX} cases"
                )));
            }
            let stored = read_stream(state, &format!("case/{case}"))?;
            records.extend(decode_records(&stored)?);
        }
        match listed.next {
            Some(Cursor(next)) => page.after = Some(Cursor(next)),
            None => break,
        }
    }
    records.sort_by_key(|recorded| recorded.position);
    Ok(records)
}

async fn decide_firm(
    state: &AppState,
    caller: &Caller,
    uscc: &Uscc,
    headers: &HeaderMap,
    command: FirmCommand,
) -> Result<Response, ApiError> {
    let principal = principal_of(caller)?;
    let write_headers = WriteHeaders::from_headers(headers)?;
    let stream = firm_stream(uscc);
    let event_id = event_id_for(caller, &stream, write_headers.idempotency_key.as_deref());
    let registering = matches!(command, FirmCommand::RegisterFirm(_));
    let outcome = decide_and_append(state, caller, &stream, &write_headers, event_id, |stored| {
        let own = stored.acts.clone();
        let current = FirmState::replay(own.iter().map(|recorded| &recorded.act));
        if !registering && (current.firm.is_none() || !may_read_firm(&principal, uscc.as_str())) {
            return Err(ApiError::NotFound { what: "firm" });
        }
        let records = if registering {
            own
        } else {
            credit_records(state, uscc, own)?
        };
        let context = Context::new(state.rules(), chrono::Utc::now(), principal.clone());
        let firm_context = FirmContext {
            context: &context,
            records: &records,
        };
        Ok(firm::decide(&current, &command, &firm_context)?)
    })
    .await?;
    Ok(write_answer(&outcome, &outcome))
}

/// 企业建档 — registers a firm (housing or the Office).
#[utoipa::path(post, path = "/api/v1/firms", tag = "firms", security(("bearer" = [])),
    request_body = RegisterFirmBody,
    responses(
        (status = 201, description = "Registered", body = WriteOutcome),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only housing or the Office registers firms", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already registered", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid credit code, unknown field", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn register_firm(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RegisterFirmBody>,
) -> Result<Response, ApiError> {
    let uscc = body.firm.clone();
    let command = FirmCommand::RegisterFirm(RegisterFirm {
        firm: body.firm,
        name: body.name,
    });
    decide_firm(&state, &caller, &uscc, &headers, command).await
}

/// Records one act on a firm's file: `{"act": "<kind>", …fields}`.
#[utoipa::path(post, path = "/api/v1/firms/{uscc}/acts", tag = "firms", security(("bearer" = [])),
    request_body(content = crate::openapi::ActBodySchema, description = "`{\"act\": \"SubmitAssessment\", \"quarter\": \"2026-Q3\", \"items\": [...]}`"),
    params(
        ("uscc" = String, Path, description = "The firm's credit code"),
        ("If-Match" = Option<String>, Header, description = "The stream version decided on"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat answers the first result"),
    ),
    responses(
        (status = 201, description = "Recorded", body = WriteOutcome),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role or unit may not do this", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such firm", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale If-Match or not allowed now", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid credit code, unknown act or field, refused by the rules", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_firm_act(
    State(state): State<AppState>,
    caller: Caller,
    Path(uscc): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let uscc = parse_uscc(&uscc)?;
    let command: FirmCommand = parse_command(body, &FIRM_ACT_NAMES)?;
    if matches!(command, FirmCommand::RegisterFirm(_)) {
        return Err(ApiError::Unprocessable {
            zh: "企业建档请使用 POST /api/v1/firms".into(),
            en: "Register firms with POST /api/v1/firms".into(),
            field: Some("act".into()),
        });
    }
    decide_firm(&state, &caller, &uscc, &headers, command).await
}

/// A firm's file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FirmBody {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// The firm stream's version.
    pub version: u64,
    /// The file: name, compounds, cases, penalties, latest grade, lists.
    #[schema(value_type = crate::openapi::FirmFileSchema)]
    pub file: FirmFile,
    /// Its quarters, newest first: assessments, grade and every point of the score's trace.
    #[schema(value_type = Vec<crate::openapi::QuarterCreditSchema>)]
    pub credit: Vec<QuarterCredit>,
}

/// A firm's file: score, grade, trace, lists.
#[utoipa::path(get, path = "/api/v1/firms/{uscc}", tag = "firms", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "The firm's credit code")),
    responses(
        (status = 200, description = "The file", body = FirmBody),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such firm (or not the caller's own)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid credit code", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_firm(
    State(state): State<AppState>,
    caller: Caller,
    Path(uscc): Path<String>,
    _: NoQuery,
) -> Result<Json<FirmBody>, ApiError> {
    let principal = principal_of(&caller)?;
    let uscc = parse_uscc(&uscc)?;
    if !may_read_firm(&principal, uscc.as_str()) {
        return Err(ApiError::NotFound { what: "firm" });
    }
    let as_of = state.ledger().head().position;
    let queries = FirmQueries::new(state.reader().clone());
    let file = queries
        .file(uscc.as_str())
        .map_err(projection_failed)?
        .ok_or(ApiError::NotFound { what: "firm" })?;
    let credit = queries
        .credit(
            uscc.as_str(),
            &PageRequest::first(state.limits().page_items(None).min(PAGE_RECORDS_MAX)),
        )
        .map_err(projection_failed)?;
    let version = state
        .ledger()
        .stream_version(&firm_stream(&uscc))
        .map_err(crate::routes::views::read_failed)?;
    Ok(Json(FirmBody {
        as_of,
        version,
        file,
        credit: credit.items,
    }))
}

/// Every record of a firm's own stream, in order, with decoded acts.
#[utoipa::path(get, path = "/api/v1/firms/{uscc}/history", tag = "firms", security(("bearer" = [])),
    params(("uscc" = String, Path, description = "The firm's credit code")),
    responses(
        (status = 200, description = "The firm's records", body = History),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such firm", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn firm_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(uscc): Path<String>,
    _: NoQuery,
) -> Result<Json<History>, ApiError> {
    let principal = principal_of(&caller)?;
    let uscc = parse_uscc(&uscc)?;
    if !may_read_firm(&principal, uscc.as_str()) {
        return Err(ApiError::NotFound { what: "firm" });
    }
    let stream = firm_stream(&uscc);
    let as_of = state.ledger().head().position;
    let stored = read_stream(&state, &stream)?;
    if stored.is_empty() {
        return Err(ApiError::NotFound { what: "firm" });
    }
    let acts = decode_records(&stored)?;
    let records = stored
        .iter()
        .zip(&acts)
        .map(|(record, recorded)| {
            Ok(HistoryItem {
                record: RecordView::header(record),
                act: act_view(&state, &principal, &stream, &recorded.act)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(History {
        as_of,
        stream,
        records,
    }))
}
