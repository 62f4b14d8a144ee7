//! The case resource: file a complaint, record acts on it, read its status, list cases, and
//! read its history (what a court reads).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use caseledger_domain::act::{Act, CaseId, Channel};
use caseledger_domain::case::{self, CaseCommand, CaseState, FileComplaint};
use caseledger_domain::context::Context;
use caseledger_domain::deadline::Severity;
use caseledger_domain::ids::{Category, UnitId, Uscc};
use caseledger_domain::principal::{Principal, Role};
use caseledger_domain::rejection::{Rejection, RejectionCode};
use caseledger_domain::seal::{self, KeyState, KeyStore, PersonalData, SealError};
use caseledger_projections::case_status::{CaseIndex, CaseLine, CaseQueries, CaseView};
use caseledger_projections::{Cursor, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::{may_read_case, principal_of, CaseScope, PERSONAL_DATA_ROLES};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::views::{ApiQuery, NoQuery, RecordView};
use crate::write::{
    decide_and_append, decide_and_append_holding, decode_records, etag, event_id_for, read_stream,
    write_answer, WriteHeaders, WriteOutcome,
};
use crate::AppState;

/// The case routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", post(file_case).get(list_cases))
        .route("/api/v1/cases/{case_id}", get(get_case))
        .route("/api/v1/cases/{case_id}/acts", post(record_act))
        .route("/api/v1/cases/{case_id}/history", get(case_history))
}

/// 投诉人信息 — the complainant's personal data. Sealed before it enters the ledger; shown
/// only to the Office and the court.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplainantBody {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Personal address.
    #[serde(default)]
    pub address: Option<String>,
}

/// 受理 — a complaint to file.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileCaseBody {
    /// The case id to use (a UUID); chosen by the service when absent.
    #[serde(default)]
    pub case_id: Option<Uuid>,
    /// How it arrived: `hotline12345`, `petition-platform`, `walk-in`, `owners-committee`,
    /// `department-inspection`.
    #[schema(value_type = String)]
    pub channel: Channel,
    /// The compound's unit id (`compound/dongping/lanting-11`).
    #[schema(value_type = String)]
    pub compound: UnitId,
    /// The category slug of the responsibility matrix (`illegal-construction`).
    #[schema(value_type = String)]
    pub category: Category,
    /// `urgent`, `general` or `complex`.
    #[schema(value_type = String)]
    pub severity: Severity,
    /// The 18-character credit code of the firm complained about, if any.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub firm: Option<Uscc>,
    /// What it is about, without personal data.
    pub summary: String,
    /// The complainant (sealed on arrival).
    #[serde(default)]
    pub complainant: ComplainantBody,
}

/// The answer to filing a complaint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiledCase {
    /// The case id.
    pub case_id: Uuid,
    /// The write.
    #[serde(flatten)]
    pub outcome: WriteOutcome,
}

pub(crate) fn parse_case_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound { what: "case" })
}

pub(crate) fn case_stream(case_id: Uuid) -> String {
    format!("case/{case_id}")
}

fn seal_failed(error: SealError) -> ApiError {
    match error {
        SealError::FieldTooLong { .. } | SealError::Malformed(_) => ApiError::Unprocessable {
            zh: format!("投诉人信息无效：{error}"),
            en: format!("The complainant's data is not acceptable: {error}"),
            field: Some("complainant".into()),
        },
        other => ApiError::internal(other),
    }
}

fn scope_units(state: &CaseState) -> Vec<&str> {
    state
        .handlers
        .iter()
        .chain(state.filed_by.iter())
        .chain(state.dispatcher.iter())
        .map(UnitId::as_str)
        .collect()
}

/// Whether `principal` may read the case folded into `state`.
pub(crate) fn may_read_state(principal: &Principal, state: &CaseState) -> bool {
    let units = scope_units(state);
    let scope = CaseScope {
        township: state.township.as_ref().map_or("", UnitId::as_str),
        community: state.community.as_ref().map_or("", UnitId::as_str),
        firm: state.firm.as_ref().map(Uscc::as_str),
        units: &units,
    };
    may_read_case(principal, &scope)
}

/// 受理 — files a complaint. The complainant's data is sealed before it enters the ledger.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])),
    request_body = FileCaseBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat answers the first result")),
    responses(
        (status = 201, description = "Filed", body = FiledCase),
        (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key", body = FiledCase),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not file here", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown field, wrong type or refused by the rules", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn file_case(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FileCaseBody>,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    let write_headers = WriteHeaders::from_headers(&headers)?;
    let event_id = event_id_for(&caller, "cases", write_headers.idempotency_key.as_deref());
    let case_id = body
        .case_id
        .unwrap_or(if write_headers.idempotency_key.is_some() {
            event_id
        } else {
            Uuid::now_v7()
        });
    let stream = case_stream(case_id);
    let personal = PersonalData {
        name: body.complainant.name.clone(),
        phone: body.complainant.phone.clone(),
        address: body.complainant.address.clone(),
    };
    let mut sealed = None;
    let outcome = decide_and_append(&state, &caller, &stream, &write_headers, event_id, |acts| {
        let current = acts.case.clone();
        if sealed.is_none() {
            let mut keys = state.keys().clone();
            sealed = Some(seal::seal(&personal, &stream, &mut keys).map_err(seal_failed)?);
        }
        let command = CaseCommand::FileComplaint(FileComplaint {
            case_id: CaseId(case_id),
            channel: body.channel,
            compound: body.compound.clone(),
            category: body.category.clone(),
            severity: body.severity,
            firm: body.firm.clone(),
            summary: body.summary.clone(),
            complainant: sealed.clone().expect("sealed above"),
        });
        let context = Context::new(state.rules(), chrono::Utc::now(), principal.clone());
        Ok(case::decide(&current, &command, &context)?)
    })
    .await?;
    let case_id = outcome
        .stream
        .strip_prefix("case/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or(case_id);
    let mut response = write_answer(&outcome.clone(), FiledCase { case_id, outcome });
    if let Ok(location) = axum::http::HeaderValue::from_str(&format!("/api/v1/cases/{case_id}")) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// The command names and the act kinds they record, so that a client may name either.
const CASE_ACT_NAMES: [(&str, &str); 21] = [
    ("ComplaintFiled", "FileComplaint"),
    ("CaseDispatched", "DispatchCase"),
    ("CaseAccepted", "AcceptCase"),
    ("CaseReturned", "ReturnCase"),
    ("CaseTransferred", "TransferCase"),
    ("ComplainantContacted", "ContactComplainant"),
    ("InspectionRecorded", "RecordInspection"),
    ("RectificationOrdered", "OrderRectification"),
    ("RectificationVerified", "VerifyRectification"),
    ("PenaltyImposed", "ImposePenalty"),
    ("MediationRecorded", "RecordMediation"),
    ("JointEnforcementRecorded", "RecordJointEnforcement"),
    ("ExtensionGranted", "GrantExtension"),
    ("SupervisionIssued", "IssueSupervision"),
    ("CaseResolved", "ResolveCase"),
    ("FeedbackRecorded", "RecordFeedback"),
    ("CaseClosed", "CloseCase"),
    ("CaseReopened", "ReopenCase"),
    ("CaseMerged", "MergeCase"),
    ("CaseWithdrawn", "WithdrawCase"),
    ("PersonalDataErased", "ErasePersonalData"),
];

/// Turns `{"act": "<kind or command>", …fields}` into a command of type `T` (internally
/// tagged by `command`), naming the offending field on failure.
pub fn parse_command<T: serde::de::DeserializeOwned>(
    body: serde_json::Value,
    names: &[(&str, &str)],
) -> Result<T, ApiError> {
    let serde_json::Value::Object(mut fields) = body else {
        return Err(ApiError::Unprocessable {
            zh: "请求体须为 JSON 对象".into(),
            en: "The body must be a JSON object".into(),
            field: None,
        });
    };
    let missing = || ApiError::Unprocessable {
        zh: "缺少字段 `act`（行为名称）".into(),
        en: "Missing field `act` (the act's name)".into(),
        field: Some("act".into()),
    };
    let name = match fields.remove("act") {
        Some(serde_json::Value::String(name)) => name,
        Some(_) => {
            return Err(ApiError::Unprocessable {
                zh: "`act` 须为字符串".into(),
                en: "`act` must be a string".into(),
                field: Some("act".into()),
            })
        }
        None => return Err(missing()),
    };
    let command = names
        .iter()
        .find(|(kind, command)| *kind == name || *command == name)
        .map(|(_, command)| *command)
        .ok_or_else(|| ApiError::Unprocessable {
            zh: format!("未知的行为 `{name}`"),
            en: format!("Unknown act `{name}`"),
            field: Some("act".into()),
        })?;
    if fields.contains_key("command") {
        return Err(ApiError::Unprocessable {
            zh: "未知字段 `command`".into(),
            en: "Unknown field `command`".into(),
            field: Some("command".into()),
        });
    }
    fields.insert("command".into(), serde_json::Value::String(command.into()));
    let value = serde_json::Value::Object(fields);
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let field = if path == "." {
            message.split('`').nth(1).map(str::to_owned)
        } else {
            Some(path)
        };
        ApiError::Unprocessable {
            zh: format!("行为 `{name}` 的字段不符合要求：{message}"),
            en: format!("The fields of act `{name}` do not fit: {message}"),
            field,
        }
    })
}

/// Records one act on a case: `{"act": "<kind>", …fields}`, where the kind is the act's
/// name (`CaseDispatched`) or the command's (`DispatchCase`).
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/acts", tag = "cases", security(("bearer" = [])),
    request_body(content = crate::openapi::ActBodySchema, description = "`{\"act\": \"CaseDispatched\", \"to\": \"township/dongping\"}`"),
    params(
        ("case_id" = String, Path, description = "The case id"),
        ("If-Match" = Option<String>, Header, description = "The stream version decided on, such as \"3\"; another answers 409"),
        ("Idempotency-Key" = Option<String>, Header, description = "A repeat answers the first result"),
    ),
    responses(
        (status = 201, description = "Recorded", body = WriteOutcome),
        (status = 200, description = "A repeat of an earlier request with the same Idempotency-Key", body = WriteOutcome),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role or unit may not do this", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caller's jurisdiction", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale If-Match, or not allowed in the case's state", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown act or field, or refused by the rules", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_act(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    let case_id = parse_case_id(&case_id)?;
    let write_headers = WriteHeaders::from_headers(&headers)?;
    let command: CaseCommand = parse_command(body, &CASE_ACT_NAMES)?;
    if matches!(command, CaseCommand::FileComplaint(_)) {
        return Err(ApiError::Unprocessable {
            zh: "受理投诉请使用 POST /api/v1/cases".into(),
            en: "File complaints with POST /api/v1/cases".into(),
            field: Some("act".into()),
        });
    }
    let stream = case_stream(case_id);
    // A merge also holds its target's write lock, so the target checked is the target the
    // merge is recorded against (no act on it can land in between).
    let target_stream = match &command {
        CaseCommand::MergeCase(merge) => Some(case_stream(merge.into.0)),
        _ => None,
    };
    let also: Vec<&str> = target_stream.as_deref().into_iter().collect();
    let event_id = event_id_for(&caller, &stream, write_headers.idempotency_key.as_deref());
    let mut erased_key = None;
    let decide = |acts: &crate::write::CachedStream| {
        // Decided on the cached fold itself: no copy of the case per act.
        let current = &acts.case;
        if current.case_id.is_none() || !may_read_state(&principal, current) {
            return Err(ApiError::NotFound { what: "case" });
        }
        if let CaseCommand::MergeCase(merge) = &command {
            check_merge_target(&state, &principal, merge.into)?;
        }
        if matches!(command, CaseCommand::ErasePersonalData(_)) {
            erased_key = current
                .complainant
                .as_ref()
                .map(|sealed| sealed.key_id.clone());
        }
        let context = Context::new(state.rules(), chrono::Utc::now(), principal.clone());
        Ok(case::decide(current, &command, &context)?)
    };
    let outcome = decide_and_append_holding(
        &state,
        &caller,
        &stream,
        &also,
        &write_headers,
        event_id,
        decide,
    )
    .await?;
    if matches!(command, CaseCommand::ErasePersonalData(_)) {
        if let Some(key_id) = erased_key {
            let mut keys = state.keys().clone();
            // Destroying a key flushes the store: off the async workers.
            tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
                if !matches!(
                    keys.key(&key_id).map_err(ApiError::internal)?,
                    KeyState::Destroyed
                ) {
                    keys.destroy_key(&key_id).map_err(ApiError::internal)?;
                }
                Ok(())
            })
            .await
            .map_err(ApiError::internal)??;
        }
    }
    Ok(write_answer(&outcome, &outcome))
}

/// A merge (并单) names the case it joins, which must exist in the caller's jurisdiction and
/// still be open: a repeat complaint merged into a closed, withdrawn, resolved or merged case,
/// or into a case id nobody filed, would be handled by no one. The domain decides on the
/// merged case alone, so the service checks the other one here, in the case-status
/// projection (which holds every acknowledged act). The nil id and the case itself are left
/// to the domain, which names those errors.
fn check_merge_target(
    state: &AppState,
    principal: &Principal,
    into: CaseId,
) -> Result<(), ApiError> {
    if into.0.is_nil() {
        return Ok(());
    }
    let target = CaseQueries::new(state.reader().clone())
        .case_at(&into.to_string(), now_us())
        .map_err(projection_failed)?
        .filter(|view| may_read_view(principal, view));
    let Some(target) = target else {
        return Err(Rejection::new(
            RejectionCode::InvalidField,
            format!("没有可并入的案件 {into}（不存在或不在本辖区）"),
            format!("there is no case {into} in your jurisdiction to merge into"),
        )
        .at("into")
        .into());
    };
    let target_state = target.status.state;
    if !target_state.is_open() {
        return Err(Rejection::new(
            RejectionCode::WrongState,
            format!(
                "目标案件 {into} 已不在办理中（{}），不能并入",
                target_state.slug()
            ),
            format!(
                "case {into} is {}: only a case still being handled can take a merge",
                target_state.slug()
            ),
        )
        .at("into")
        .into());
    }
    Ok(())
}

/// Now, in microseconds since the epoch.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn view_scope(view: &CaseView) -> (Vec<&str>, CaseScope<'_>) {
    let status = &view.status;
    let units: Vec<&str> = status.units_passed.iter().map(String::as_str).collect();
    let scope = CaseScope {
        township: &status.township,
        community: &status.community,
        firm: status.firm.as_deref(),
        units: &[],
    };
    (units, scope)
}

fn may_read_view(principal: &Principal, view: &CaseView) -> bool {
    let (units, scope) = view_scope(view);
    may_read_case(
        principal,
        &CaseScope {
            units: &units,
            ..scope
        },
    )
}

fn projection_failed(error: caseledger_projections::Error) -> ApiError {
    match error {
        caseledger_projections::Error::PageSize { .. }
        | caseledger_projections::Error::Cursor(_)
        | caseledger_projections::Error::Argument { .. } => {
            ApiError::bad_request("查询参数无效", &format!("Invalid query: {error}"), None)
        }
        other => ApiError::internal(format!("projection read: {other}")),
    }
}

/// A case's status as the projections see it, at `as_of`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseBody {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// The case stream's version (send it in `If-Match`).
    pub version: u64,
    /// The status: state, units, deadlines, clocks and flags.
    #[schema(value_type = crate::openapi::CaseViewSchema)]
    pub case: serde_json::Value,
}

/// A case's status: state, handler, running clocks and whether it is overdue.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}", tag = "cases", security(("bearer" = [])),
    params(("case_id" = String, Path, description = "The case id")),
    responses(
        (status = 200, description = "The case", body = CaseBody),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caller's jurisdiction", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let principal = principal_of(&caller)?;
    let case_id = parse_case_id(&case_id)?;
    let as_of = state.ledger().head().position;
    let view = CaseQueries::new(state.reader().clone())
        .case_at(&case_id.to_string(), now_us())
        .map_err(projection_failed)?
        .ok_or(ApiError::NotFound { what: "case" })?;
    if !may_read_view(&principal, &view) {
        return Err(ApiError::NotFound { what: "case" });
    }
    let version = state
        .ledger()
        .stream_version(&case_stream(case_id))
        .map_err(crate::routes::views::read_failed)?;
    // Serialized straight from the view: going through a `serde_json::Value` first cost
    // a third of a read's time in allocations (profiled under load).
    #[derive(Serialize)]
    struct CaseBodyOut<'a> {
        as_of: u64,
        version: u64,
        case: &'a CaseView,
    }
    let body = CaseBodyOut {
        as_of,
        version,
        case: &view,
    };
    let mut response = crate::json::json_answer(axum::http::StatusCode::OK, &body);
    let (name, value) = etag(version);
    response.headers_mut().insert(name, value);
    Ok(response)
}

/// Filters of the case list. A value that names nothing (a state that is not one; a unit,
/// area, firm or category neither in the county's rules nor on any case) is refused with a
/// 400 naming the parameter, rather than answered with an empty page.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// The unit handling it now.
    pub unit: Option<String>,
    /// 乡镇.
    pub township: Option<String>,
    /// 社区.
    pub community: Option<String>,
    /// 住宅小区.
    pub compound: Option<String>,
    /// The firm's credit code.
    pub firm: Option<String>,
    /// State slug (`dispatched`, `in-progress`, …), or the state as the lists show it
    /// (`Dispatched`, `InProgress`, …).
    pub state: Option<String>,
    /// Category slug.
    pub category: Option<String>,
    /// Only overdue (`true`) or only not overdue (`false`) cases.
    pub overdue: Option<bool>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, at least 1 (default and cap from the configuration).
    pub limit: Option<usize>,
}

/// A page of cases, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseList {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// The cases: id, state, category, unit, filing time, overdue. A page may hold fewer
    /// than `limit` items when several filters are combined; follow `next`. Serialized
    /// straight from the projection's lines, with no JSON value in between.
    #[schema(value_type = Vec<crate::openapi::CaseLineSchema>)]
    pub items: Vec<CaseLine>,
    /// Pass as `cursor` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The slug of the state `value` names, as a slug (`in-progress`) or as the lists show it
/// (`InProgress`); `value` itself when it names no state (refused by [`check_filter`]).
fn state_slug(value: &str) -> String {
    use caseledger_projections::case_status::CaseState as Listed;
    Listed::from_slug(value)
        .or_else(|| serde_json::from_value::<Listed>(serde_json::Value::from(value)).ok())
        .map_or_else(|| value.to_owned(), |state| state.slug().to_owned())
}

/// Refuses a list filter that names nothing: a state that is not one, or a unit, area, firm
/// or category that is neither in the county's rules nor on any case (a code retired from
/// the registry still lists its old cases). A typo then gets a 400 naming the parameter,
/// where an empty page would read as "no such cases".
fn check_filter(
    state: &AppState,
    queries: &CaseQueries,
    index: CaseIndex,
    value: &str,
    at: i64,
) -> Result<(), ApiError> {
    use caseledger_domain::registry::UnitKind;
    use caseledger_projections::case_status::CaseState as Listed;
    let rules = state.rules();
    let kind = crate::access::registered_kind(&rules.registry, value);
    let (field, known) = match index {
        CaseIndex::State => {
            if Listed::from_slug(value).is_some() {
                return Ok(());
            }
            let states: Vec<&str> = Listed::ALL.iter().map(|state| state.slug()).collect();
            let states = states.join(", ");
            return Err(ApiError::bad_request(
                &format!("没有状态 {value:?}；可选：{states}"),
                &format!("no case state is called {value:?}; one of {states}"),
                Some("state"),
            ));
        }
        CaseIndex::Category => (
            "category",
            Category::new(value)
                .ok()
                .is_some_and(|category| rules.matrix.category(&category).is_some()),
        ),
        CaseIndex::Firm => (
            "firm",
            Uscc::new(value)
                .ok()
                .is_some_and(|uscc| rules.registry.firm(&uscc).is_some()),
        ),
        CaseIndex::Township => ("township", kind == Some(UnitKind::Township)),
        CaseIndex::Community => ("community", kind == Some(UnitKind::Community)),
        CaseIndex::Compound => ("compound", kind == Some(UnitKind::Compound)),
        CaseIndex::Unit | CaseIndex::UnitPassed => ("unit", kind.is_some()),
    };
    if known
        || !queries
            .list(index, value, at, &PageRequest::first(1))
            .map_err(projection_failed)?
            .items
            .is_empty()
    {
        return Ok(());
    }
    Err(ApiError::bad_request(
        &format!("名录中没有 {field} {value:?}，也没有案件涉及它"),
        &format!("no {field} is called {value:?}, in the county's registry or on any case"),
        Some(field),
    ))
}

/// The filter a caller's jurisdiction imposes on lists, if any.
fn jurisdiction_filter(principal: &Principal) -> Result<Option<(CaseIndex, String)>, ApiError> {
    let unit = principal.unit.as_str().to_owned();
    Ok(match principal.role {
        Role::Office | Role::Court | Role::Intake => None,
        Role::Department if principal.is_county_dispatcher() => None,
        Role::Department => Some((CaseIndex::UnitPassed, unit)),
        Role::Township => Some((CaseIndex::Township, unit)),
        Role::Community => Some((CaseIndex::Community, unit)),
        Role::Firm => Some((
            CaseIndex::Firm,
            unit.strip_prefix("firm/").unwrap_or(&unit).to_owned(),
        )),
        Role::Public => {
            return Err(ApiError::forbidden(
                "公众只能查看公开信息",
                "The public reads only the published endpoints",
            ))
        }
    })
}

/// Lists cases by unit, area, firm, state or category, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])),
    params(CaseFilter),
    responses(
        (status = 200, description = "A page of cases", body = CaseList),
        (status = 400, description = "Invalid filter or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<CaseFilter>,
) -> Result<Json<CaseList>, ApiError> {
    let principal = principal_of(&caller)?;
    let forced = jurisdiction_filter(&principal)?;
    let given: Vec<(CaseIndex, String)> = [
        (CaseIndex::Compound, filter.compound.clone()),
        (CaseIndex::Community, filter.community.clone()),
        (CaseIndex::Firm, filter.firm.clone()),
        (CaseIndex::Unit, filter.unit.clone()),
        (CaseIndex::Township, filter.township.clone()),
        (CaseIndex::Category, filter.category.clone()),
        (CaseIndex::State, filter.state.as_deref().map(state_slug)),
    ]
    .into_iter()
    .filter_map(|(index, value)| value.map(|value| (index, value)))
    .collect();
    // The jurisdiction's filter is the scan when there is one, so a page never leaves it.
    let mut filters = given.clone();
    let scan = match &forced {
        Some(forced) => forced.clone(),
        None if !given.is_empty() => filters.remove(0),
        None => (CaseIndex::State, String::new()),
    };
    let limit = super::views::page_limit(&state, filter.limit)?;
    let page = PageRequest {
        limit: limit.min(caseledger_projections::PAGE_RECORDS_MAX),
        after: filter.cursor.clone().map(Cursor),
    };
    let at = now_us();
    let as_of = state.ledger().head().position;
    let queries = CaseQueries::new(state.reader().clone());
    for (index, value) in &given {
        check_filter(&state, &queries, *index, value, at)?;
    }
    let listed = if forced.is_none() && given.is_empty() {
        queries.all(at, &page)
    } else {
        queries.list(scan.0, &scan.1, at, &page)
    }
    .map_err(projection_failed)?;
    let mut items = Vec::with_capacity(listed.items.len());
    for line in listed.items {
        if filter.overdue.is_some_and(|wanted| wanted != line.overdue) {
            continue;
        }
        if !filters.is_empty() {
            let Some(status) = queries.status(&line.case).map_err(projection_failed)? else {
                continue;
            };
            let matches = filters.iter().all(|(index, value)| match index {
                CaseIndex::Compound => &status.compound == value,
                CaseIndex::Community => &status.community == value,
                CaseIndex::Firm => status.firm.as_ref() == Some(value),
                CaseIndex::Unit => status.unit.as_ref() == Some(value),
                CaseIndex::UnitPassed => status.units_passed.contains(value),
                CaseIndex::Township => &status.township == value,
                CaseIndex::Category => &status.category == value,
                CaseIndex::State => status.state.slug() == value,
            });
            if !matches {
                continue;
            }
        }
        items.push(line);
    }
    Ok(Json(CaseList {
        as_of,
        items,
        next: listed.next.map(|cursor| cursor.0),
    }))
}

/// One record of a case's history, with its act decoded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    /// The record's place in the chain.
    #[serde(flatten)]
    pub record: RecordView,
    /// The act, decoded. The complainant's data is shown to the Office and the court, and
    /// replaced by `{"sealed": true}` for everyone else (`{"erased": true}` once erased).
    #[schema(value_type = crate::openapi::ActSchema)]
    pub act: ActJson,
}

/// An act as a history shows it: serialized straight from the act, except a filing, whose
/// complainant is replaced by what the reader may see.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ActJson {
    /// Any act but a filing.
    Act(Box<Act>),
    /// A filing, with the complainant opened or hidden.
    Filing(serde_json::Value),
}

/// Every record of a stream, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct History {
    /// The log head when it was read.
    pub as_of: u64,
    /// The stream.
    pub stream: String,
    /// The records.
    pub records: Vec<HistoryItem>,
}

/// The act as a JSON value, with the complainant's sealed data opened for `principal` if
/// the law allows, and hidden otherwise.
pub fn act_json(
    state: &AppState,
    principal: &Principal,
    stream: &str,
    act: &Act,
) -> Result<serde_json::Value, ApiError> {
    match act_view(state, principal, stream, act)? {
        ActJson::Act(act) => serde_json::to_value(act).map_err(ApiError::internal),
        ActJson::Filing(value) => Ok(value),
    }
}

/// [`act_json`] for serializing directly: only a filing goes through a JSON value.
pub fn act_view(
    state: &AppState,
    principal: &Principal,
    stream: &str,
    act: &Act,
) -> Result<ActJson, ApiError> {
    let Act::ComplaintFiled(filed) = act else {
        return Ok(ActJson::Act(Box::new(act.clone())));
    };
    let mut value = serde_json::to_value(act).map_err(ApiError::internal)?;
    let shown = if PERSONAL_DATA_ROLES.contains(&principal.role) {
        match seal::unseal(&filed.complainant, stream, state.keys()) {
            Ok(data) => {
                serde_json::json!({ "name": data.name, "phone": data.phone, "address": data.address })
            }
            Err(SealError::KeyErased { .. }) => serde_json::json!({ "erased": true }),
            Err(error) => return Err(ApiError::internal(format!("unseal: {error}"))),
        }
    } else {
        serde_json::json!({ "sealed": true })
    };
    if let Some(object) = value.as_object_mut() {
        object.insert("complainant".into(), shown);
    }
    Ok(ActJson::Filing(value))
}

/// Every record of a case with its position, hashes, time, actor and decoded act: what a
/// court reads. Personal data is unsealed only for the Office and the court.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}/history", tag = "cases", security(("bearer" = [])),
    params(("case_id" = String, Path, description = "The case id")),
    responses(
        (status = 200, description = "The case's records, in order", body = History),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in the caller's jurisdiction", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn case_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
    _: NoQuery,
) -> Result<Json<History>, ApiError> {
    let principal = principal_of(&caller)?;
    let case_id = parse_case_id(&case_id)?;
    let stream = case_stream(case_id);
    let as_of = state.ledger().head().position;
    let records = read_stream(&state, &stream)?;
    let acts = decode_records(&records)?;
    let current = CaseState::replay(acts.iter().map(|recorded| &recorded.act));
    if current.case_id.is_none() || !may_read_state(&principal, &current) {
        return Err(ApiError::NotFound { what: "case" });
    }
    let records = records
        .iter()
        .zip(&acts)
        .map(|(stored, recorded)| {
            Ok(HistoryItem {
                record: RecordView::header(stored),
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
