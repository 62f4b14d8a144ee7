//! The layers every request passes: request id, tracing, metrics, bounded concurrency and a
//! timeout, and the final touch on problems (request id in, 500 causes logged, never sent).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::{problem_response, ApiError, ProblemMarker};
use crate::AppState;

/// The header carrying the request id, in and out.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's request id is kept only if short and plain, so it cannot inject into logs.
fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let plain = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| text.to_owned())
}

/// Outermost layer: names the request, traces it (method, route template, status, time; never
/// the query string or body, which may carry personal data), counts it, and completes problems.
pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    // The route template is shared (`MatchedPath` holds an `Arc<str>`) and the method of a
    // standard request is a constant: neither is copied per request.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let method = request.method().clone();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);

    let metrics = state.metrics();
    metrics.in_flight_add(1);
    let response = next.run(request).instrument(span.clone()).await;
    metrics.in_flight_add(-1);
    let response = plain_rejection_as_problem(response).await;

    let mut response = complete_problem(response, &request_id, &span, &state);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics.observe_request(method.as_str(), route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(status, elapsed_us = elapsed.as_micros() as u64, "handled");
    });
    response
}

/// The largest plain-text rejection body read to put it in a problem's detail.
const PLAIN_REJECTION_BYTES_MAX: usize = 4096;

/// A 400 that axum's own extractors answered in plain text (a path segment that is not
/// UTF-8, say) becomes a problem like every other refusal, its text the English detail.
async fn plain_rejection_as_problem(response: Response) -> Response {
    let plain = response.status() == axum::http::StatusCode::BAD_REQUEST
        && response.extensions().get::<ProblemMarker>().is_none()
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/plain"));
    if !plain {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), PLAIN_REJECTION_BYTES_MAX)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|_| "the request could not be read".into());
    ApiError::BadRequest {
        zh: "请求无效".into(),
        en: text,
        field: None,
    }
    .into_response()
}

fn complete_problem(
    response: Response,
    request_id: &str,
    span: &tracing::Span,
    state: &AppState,
) -> Response {
    let Some(marker) = response.extensions().get::<ProblemMarker>().cloned() else {
        return response;
    };
    let _entered = span.enter();
    match &marker.internal_cause {
        Some(cause) => {
            tracing::error!(code = %marker.problem.code, cause = %cause, "internal error")
        }
        None => tracing::info!(code = %marker.problem.code, "refused"),
    }
    state.metrics().count_rejection(&marker.problem.code);
    let mut problem = marker.problem;
    problem.request_id = Some(request_id.to_owned());
    let mut fresh = problem_response(&problem);
    // Keep headers a handler set (such as ETag or Retry-After) except the body's own.
    for (name, value) in response.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fresh
}

/// Bounded concurrency and the per-request timeout. A request waits for a slot no longer than
/// its timeout. A timed-out append may still be recorded (the writer already holds it); the
/// client finds out by repeating it with the same `Idempotency-Key`.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // A full verification reads the whole log; it has its own, longer, limit.
    let is_verify = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| path.as_str() == "/api/v1/audit/verify");
    let timeout = if is_verify {
        std::time::Duration::from_millis(state.limits().verify_timeout_ms)
    } else {
        state.limits().request_timeout()
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let permit = match tokio::time::timeout_at(deadline, state.in_flight().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) => {
            return ApiError::Unavailable {
                zh: "服务正在停止".into(),
                en: "The service is shutting down".into(),
            }
            .into_response()
        }
        Err(_) => {
            return ApiError::Unavailable {
                zh: "服务繁忙，请稍后再试".into(),
                en: "Too many requests in flight; retry later".into(),
            }
            .into_response()
        }
    };
    let response = match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };
    drop(permit);
    response
}
