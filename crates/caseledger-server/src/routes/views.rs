//! Shapes shared by several resources: records as the API shows them, query extraction.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::Engine as _;
use caseledger_log::StoredRecord;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Who did an act, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActorView {
    /// The role (`office`, `department`, `township`, `community`, `intake`, …).
    pub role: String,
    /// The unit acted for.
    pub unit: String,
    /// The user within the unit.
    pub user: String,
}

/// One record of the log: its place in the chain and its header. The payload is shown
/// decoded by the resources that know its kind, or raw (base64) by the audit resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// 1-based position in the global log.
    pub position: u64,
    /// Chain hash of this record (blake3, hex).
    pub hash: String,
    /// Chain hash of the previous record (or the genesis hash), hex.
    pub prev_hash: String,
    /// When the writer recorded it, RFC 3339 UTC with microseconds.
    pub recorded_at: String,
    /// The stream (`case/<id>`, `firm/<uscc>`, …).
    pub stream: String,
    /// Version within the stream.
    pub stream_version: u64,
    /// The event id.
    pub event_id: String,
    /// Who did it.
    pub actor: ActorView,
    /// The act kind.
    pub kind: String,
    /// The payload's schema version.
    pub schema_version: u16,
    /// The exact stored bytes of the record, base64 (audit only; hash them to check `hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_base64: Option<String>,
}

impl RecordView {
    /// The header of a stored record, without its bytes.
    pub fn header(stored: &StoredRecord) -> RecordView {
        let record = &stored.record;
        RecordView {
            position: stored.position,
            hash: stored.hash.to_hex(),
            prev_hash: record.prev_hash.to_hex(),
            recorded_at: record
                .recorded_at()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            stream: record.stream.clone(),
            stream_version: record.stream_version,
            event_id: record.event_uuid().to_string(),
            actor: ActorView {
                role: record.actor.role.clone(),
                unit: record.actor.unit.clone(),
                user: record.actor.user.clone(),
            },
            kind: record.kind.clone(),
            schema_version: record.schema_version,
            bytes_base64: None,
        }
    }

    /// The header and the raw stored bytes.
    pub fn raw(stored: &StoredRecord) -> RecordView {
        let mut view = RecordView::header(stored);
        view.bytes_base64 = Some(base64::engine::general_purpose::STANDARD.encode(&stored.bytes));
        view
    }
}

/// Query parameters parsed into `T`, answering 400 (naming the parameter where serde does)
/// instead of axum's plain-text rejection.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let field = query_field::<T>(parts.uri.query().unwrap_or_default())
                    .filter(|name| !name.is_empty() && name.len() <= 64);
                Err(ApiError::BadRequest {
                    zh: "查询参数无效".into(),
                    en: format!("Invalid query parameters: {text}"),
                    field,
                })
            }
        }
    }
}

/// The parameter a query string that does not parse as `T` fails at: read again as axum's
/// `Query` reads it, with the path serde was at. An unknown or missing parameter is named by
/// serde's message (the path has not reached it); a value that does not fit, by the path
/// (`overdue=maybe` names `overdue`, not the `true` of "not `true` or `false`").
fn query_field<T: DeserializeOwned>(query: &str) -> Option<String> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    let error = serde_path_to_error::deserialize::<_, T>(deserializer).err()?;
    let message = error.inner().to_string();
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let path = error.path().to_string();
    match named {
        Some(name) => Some(name.to_owned()),
        None if path != "." => Some(path),
        None => None,
    }
}

/// Refuses any query string, for a resource that takes no parameters: a parameter a client
/// believes it passed (an older quarter, a checkpoint of some size) is otherwise ignored
/// without a word, and the answer looks like an answer to it.
#[derive(Debug, Clone, Copy)]
pub struct NoQuery;

impl<S> FromRequestParts<S> for NoQuery
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(query) = parts.uri.query().filter(|query| !query.is_empty()) else {
            return Ok(NoQuery);
        };
        let name = query.split(['&', '=']).next().unwrap_or_default();
        let field = (!name.is_empty() && name.len() <= 64).then(|| name.to_owned());
        Err(ApiError::BadRequest {
            zh: "此资源不接受查询参数".into(),
            en: format!("this resource takes no query parameters (got {query:?})"),
            field,
        })
    }
}

/// The page size a list answers with: the client's `limit`, defaulted and capped by the
/// configuration. A `limit` of 0 is refused (it asks for a page of nothing).
pub fn page_limit(state: &crate::AppState, requested: Option<usize>) -> Result<usize, ApiError> {
    if requested == Some(0) {
        return Err(ApiError::bad_request(
            "limit 至少为 1",
            "limit must be at least 1",
            Some("limit"),
        ));
    }
    Ok(state.limits().page_items(requested))
}

/// Maps a ledger error on a read to a 500 (the cause is logged, not sent).
pub fn read_failed(error: caseledger_log::Error) -> ApiError {
    ApiError::internal(format!("ledger read: {error}"))
}
