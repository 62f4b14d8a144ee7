//! The live tail of the log as server-sent events, resumable with `Last-Event-ID`.
//!
//! Each event is one record's header (no payload: payloads are read through the resources
//! that know who may see them), with the record's position as the event id. A client that
//! reconnects with `Last-Event-ID: N` continues at N + 1, so nothing is missed or repeated.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::{watch, OwnedSemaphorePermit};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::audit::AUDIT_ROLES;
use crate::routes::views::{ApiQuery, RecordView};
use crate::AppState;

/// How often an idle tail looks at the head even without a signal (appends made by another
/// process before the service started, or missed signals).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// The event routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(events))
}

/// Where the tail starts.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Send records after this position (default: from the current head, so only new ones).
    pub after: Option<u64>,
}

/// Counts a subscriber while its stream lives.
struct Subscription {
    state: AppState,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.state.metrics().sse_subscribers_add(-1);
    }
}

/// Seconds a client refused for want of a live-tail slot is asked to wait (`Retry-After`).
const SSE_RETRY_AFTER_SECONDS: u64 = 5;

struct Tail {
    subscription: Arc<Subscription>,
    next: u64,
    buffered: VecDeque<Event>,
    appended: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
}

/// A live tail of the log. Each event: `id` = position, `event` = `record`, `data` = the
/// record's header as JSON.
#[utoipa::path(get, path = "/api/v1/events", tag = "audit",
    security(("bearer" = [])), params(EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this position (wins over `after`)")),
    responses(
        (status = 200, description = "An event stream (text/event-stream)", body = String, content_type = "text/event-stream"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an auditing role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many open tails (with Retry-After)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    caller.require_role(&AUDIT_ROLES)?;
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Last-Event-ID 须为记录位置（非负整数）",
                        "Last-Event-ID must be a record position (a non-negative integer)",
                        Some("Last-Event-ID"),
                    )
                })?,
        ),
        None => None,
    };
    let after = resume
        .or(query.after)
        .unwrap_or_else(|| state.ledger().head().position);
    let Ok(permit) = state.sse_slots().try_acquire_owned() else {
        // Every slot is taken: a client may try again shortly, as a tail ends.
        let mut response = ApiError::Unavailable {
            zh: "实时订阅连接数已达上限，请稍后重试".into(),
            en: "Too many live tails are open; try again shortly".into(),
        }
        .into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(SSE_RETRY_AFTER_SECONDS),
        );
        return Ok(response);
    };
    state.metrics().sse_subscribers_add(1);
    let tail = Tail {
        subscription: Arc::new(Subscription {
            state: state.clone(),
            _permit: permit,
        }),
        next: after.saturating_add(1),
        buffered: VecDeque::new(),
        appended: state.appended_signal(),
        shutdown: state.shutdown_signal(),
    };
    let stream = futures_util::stream::unfold(tail, next_event);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn next_event(mut tail: Tail) -> Option<(Result<Event, Infallible>, Tail)> {
    loop {
        if *tail.shutdown.borrow() {
            return None;
        }
        if let Some(event) = tail.buffered.pop_front() {
            return Some((Ok(event), tail));
        }
        let state = &tail.subscription.state;
        let batch = state.limits().sse_batch_records_max;
        match state.ledger().read_range(tail.next, batch) {
            Ok(records) if !records.is_empty() => {
                for stored in &records {
                    let view = RecordView::header(stored);
                    let event = Event::default()
                        .id(stored.position.to_string())
                        .event("record")
                        .json_data(&view)
                        .unwrap_or_else(|_| Event::default().comment("unencodable record"));
                    tail.buffered.push_back(event);
                }
                tail.next = records.last().map_or(tail.next, |last| last.position + 1);
                continue;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "live tail read failed; closing the stream");
                return None;
            }
        }
        tokio::select! {
            _ = tail.appended.changed() => {}
            _ = tail.shutdown.changed() => {}
            () = tokio::time::sleep(IDLE_POLL) => {}
        }
    }
}
