//! One error type for every handler, rendered as an RFC 9457 problem.
//!
//! Every variant documents the status it answers with. The `type` of a problem is a stable
//! URI, `https://caseledger.example/problems/<code>`; clients switch on it, never on the text.
//! A 500 never shows its cause: the cause is logged with the request id, and the client gets
//! the request id to quote.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Prefix of every problem `type`.
pub const PROBLEM_TYPE_BASE: &str = "https://caseledger.example/problems/";

/// The media type of every error body (RFC 9457 §3).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem details object, as sent to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the problem, `https://caseledger.example/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short English summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in Chinese and English (`中文 / English`).
    pub detail: String,
    /// The stable code, the last segment of `type` (such as `case-not-found`).
    pub code: String,
    /// The offending request field, where there is one (a JSON pointer-like dotted path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request id, to quote when asking for help; the same id is in the server's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Everything a handler can answer with instead of success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the body is not JSON at all, or a query parameter does not parse.
    #[error("bad request: {en}")]
    BadRequest {
        /// Chinese detail.
        zh: String,
        /// English detail.
        en: String,
        /// The offending field, if known.
        field: Option<String>,
    },
    /// 401: no bearer token, or one that is unknown or revoked.
    #[error("unauthenticated")]
    Unauthenticated,
    /// 403: the token is valid but its role may not do this.
    #[error("forbidden: {en}")]
    Forbidden {
        /// Chinese detail.
        zh: String,
        /// English detail.
        en: String,
    },
    /// 404: no such resource, or one outside the caller's jurisdiction (so that its existence
    /// does not leak).
    #[error("not found: {what}")]
    NotFound {
        /// The kind of resource (`case`, `firm`, `unit`, `route`), used in the code.
        what: &'static str,
    },
    /// 405: the route exists, but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: `If-Match` named another stream version than the current one.
    #[error("version conflict: expected {expected}, current {current}")]
    VersionConflict {
        /// The version the client sent.
        expected: u64,
        /// The version the stream is at.
        current: u64,
    },
    /// 413: the body is larger than the limit.
    #[error("body larger than {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit_bytes: usize,
    },
    /// 415: a body that is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: the JSON is well formed but does not fit: unknown field, missing field, wrong type.
    #[error("unprocessable body: {en}")]
    Unprocessable {
        /// Chinese detail.
        zh: String,
        /// English detail.
        en: String,
        /// The offending field, if known.
        field: Option<String>,
    },
    /// 422 (or 409 for a state conflict): the domain refused the command. The domain's code is
    /// kept as the problem code.
    #[error("rejected by the rules: {code}: {en}")]
    Rejected {
        /// The status to answer with (422 for invalid input, 409 for an illegal transition).
        status: StatusCode,
        /// The domain's stable code (such as `illegal-transition`).
        code: String,
        /// Chinese detail.
        zh: String,
        /// English detail.
        en: String,
        /// The offending field, if the domain named one.
        field: Option<String>,
    },
    /// 503: too many requests are in flight, or the service is starting or stopping.
    #[error("unavailable: {en}")]
    Unavailable {
        /// Chinese detail.
        zh: String,
        /// English detail.
        en: String,
    },
    /// 504: the request took longer than the per-request timeout.
    #[error("request timed out")]
    Timeout,
    /// 500: anything else. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 500 from any displayable cause. The cause goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }

    /// A 400 with a message in both languages.
    pub fn bad_request(zh: &str, en: &str, field: Option<&str>) -> ApiError {
        ApiError::BadRequest {
            zh: zh.to_owned(),
            en: en.to_owned(),
            field: field.map(str::to_owned),
        }
    }

    /// A 403 with a message in both languages.
    pub fn forbidden(zh: &str, en: &str) -> ApiError {
        ApiError::Forbidden {
            zh: zh.to_owned(),
            en: en.to_owned(),
        }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::VersionConflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code, the last segment of the problem `type`.
    pub fn code(&self) -> String {
        match self {
            ApiError::BadRequest { .. } => "bad-request".into(),
            ApiError::Unauthenticated => "unauthenticated".into(),
            ApiError::Forbidden { .. } => "forbidden".into(),
            ApiError::NotFound { what } => format!("{what}-not-found"),
            ApiError::MethodNotAllowed => "method-not-allowed".into(),
            ApiError::VersionConflict { .. } => "version-conflict".into(),
            ApiError::PayloadTooLarge { .. } => "payload-too-large".into(),
            ApiError::UnsupportedMediaType => "unsupported-media-type".into(),
            ApiError::Unprocessable { .. } => "unprocessable-body".into(),
            ApiError::Rejected { code, .. } => code.clone(),
            ApiError::Unavailable { .. } => "unavailable".into(),
            ApiError::Timeout => "timeout".into(),
            ApiError::Internal(_) => "internal".into(),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "Bad request",
            ApiError::Unauthenticated => "Authentication required",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound { .. } => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::VersionConflict { .. } => "Version conflict",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::Unprocessable { .. } => "Unprocessable body",
            ApiError::Rejected { .. } => "Rejected by the rules",
            ApiError::Unavailable { .. } => "Service unavailable",
            ApiError::Timeout => "Request timed out",
            ApiError::Internal(_) => "Internal error",
        }
    }

    fn detail_and_field(&self) -> (String, Option<String>) {
        match self {
            ApiError::BadRequest { zh, en, field } | ApiError::Unprocessable { zh, en, field } => {
                (format!("{zh} / {en}"), field.clone())
            }
            ApiError::Unauthenticated => (
                "需要有效的访问令牌（Authorization: Bearer <令牌>） / A valid bearer token is required (Authorization: Bearer <token>)".into(),
                None,
            ),
            ApiError::Forbidden { zh, en } | ApiError::Unavailable { zh, en } => {
                (format!("{zh} / {en}"), None)
            }
            ApiError::NotFound { what } => (
                format!("未找到该资源，或不在您的管辖范围内 / No such {what}, or it is outside your jurisdiction"),
                None,
            ),
            ApiError::MethodNotAllowed => (
                "该路径不支持此请求方法 / This route does not accept this method".into(),
                None,
            ),
            ApiError::VersionConflict { expected, current } => (
                format!(
                    "版本冲突：请求基于版本 {expected}，当前版本为 {current}；请重新读取后再试 / \
                     Version conflict: the request expected version {expected}, the stream is at {current}; read again and retry"
                ),
                Some("If-Match".into()),
            ),
            ApiError::PayloadTooLarge { limit_bytes } => (
                format!("请求体超过 {limit_bytes} 字节的上限 / The body exceeds the limit of {limit_bytes} bytes"),
                None,
            ),
            ApiError::UnsupportedMediaType => (
                "请求体须为 application/json / The body must be application/json".into(),
                Some("Content-Type".into()),
            ),
            ApiError::Rejected {
                zh, en, field, ..
            } => (format!("{zh} / {en}"), field.clone()),
            ApiError::Timeout => (
                "请求处理超时 / The request took too long and was stopped".into(),
                None,
            ),
            ApiError::Internal(_) => (
                "服务器内部错误，请凭请求编号联系管理员 / Internal error; quote the request id to the administrator".into(),
                None,
            ),
        }
    }

    /// The problem object for this error, carrying `request_id` when known.
    pub fn to_problem(&self, request_id: Option<String>) -> Problem {
        let code = self.code();
        let (detail, field) = self.detail_and_field();
        Problem {
            type_uri: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: self.title().to_owned(),
            status: self.status().as_u16(),
            detail,
            code,
            field,
            request_id,
        }
    }
}

/// Carried in response extensions so the request-id middleware can fill in the id and log a
/// 500's cause next to it.
#[derive(Clone, Debug)]
pub(crate) struct ProblemMarker {
    pub(crate) problem: Problem,
    pub(crate) internal_cause: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let internal_cause = match &self {
            ApiError::Internal(cause) => Some(cause.clone()),
            _ => None,
        };
        let problem = self.to_problem(None);
        let mut response = problem_response(&problem);
        response.extensions_mut().insert(ProblemMarker {
            problem,
            internal_cause,
        });
        response
    }
}

/// Renders a problem with its status and media type.
pub(crate) fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: ApiError, status: u16, code: &str, field: Option<&str>) {
        let problem = error.to_problem(Some("r-1".into()));
        assert_eq!(problem.status, status);
        assert_eq!(problem.code, code);
        assert_eq!(problem.type_uri, format!("{PROBLEM_TYPE_BASE}{code}"));
        assert_eq!(problem.field.as_deref(), field);
        assert!(
            problem.detail.contains(" / "),
            "detail in both languages: {}",
            problem.detail
        );
    }

    #[test]
    fn variants_answer_their_documented_status() {
        check(ApiError::Unauthenticated, 401, "unauthenticated", None);
        check(ApiError::forbidden("不可", "no"), 403, "forbidden", None);
        check(
            ApiError::NotFound { what: "case" },
            404,
            "case-not-found",
            None,
        );
        check(
            ApiError::VersionConflict {
                expected: 1,
                current: 2,
            },
            409,
            "version-conflict",
            Some("If-Match"),
        );
        check(
            ApiError::PayloadTooLarge { limit_bytes: 10 },
            413,
            "payload-too-large",
            None,
        );
        check(
            ApiError::Rejected {
                status: StatusCode::CONFLICT,
                code: "illegal-transition".into(),
                zh: "非法".into(),
                en: "illegal".into(),
                field: Some("act".into()),
            },
            409,
            "illegal-transition",
            Some("act"),
        );
        check(ApiError::Timeout, 504, "timeout", None);
    }

    #[test]
    fn internal_error_never_shows_its_cause() {
        let problem = ApiError::internal("sled: disk full at /secret/path").to_problem(None);
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("sled"));
        assert!(!problem.detail.contains("/secret"));
    }
}
