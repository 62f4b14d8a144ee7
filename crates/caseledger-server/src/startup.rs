//! What `caseledger serve` answers while it opens its ledger.
//!
//! The server binds its address first and answers there at once, then opens the ledger: the
//! tail of the chain re-hashed against the head file, the evidence's quick check, and the
//! projections brought up to date (after an upgrade that changes a projection's version, a
//! rebuild over the whole log: about 5 s a million records on the development machine). Until
//! the ledger is open, `/healthz` says the process is alive and starting, `/readyz` answers 503
//! with how far the projections are, and every other path 503 with `Retry-After`, so that a
//! supervisor's liveness probe does not kill a long rebuild and a client knows to come back.

use std::sync::{Arc, Mutex};

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use caseledger_projections::Progress;

use crate::error::ApiError;
use crate::routes::service::Health;

/// Seconds a client is asked to wait (`Retry-After`) while the server starts.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// Where opening the ledger stands, shared between the opening thread and the answers.
#[derive(Clone, Default)]
pub struct Starting {
    progress: Arc<Mutex<Option<Progress>>>,
}

impl Starting {
    /// Records the projections' latest progress (the opening's progress callback).
    pub fn observe(&self, progress: &Progress) {
        *self
            .progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(progress.clone());
    }

    /// What the opening is doing, in both languages.
    fn stage(&self) -> (String, String) {
        let progress = self
            .progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match progress {
            None => ("正在打开台账".into(), "opening the ledger".into()),
            Some(progress) if progress.writing => (
                format!("正在写入投影（{}）", progress.names.join("、")),
                format!("writing the projections ({})", progress.names.join(", ")),
            ),
            Some(progress) => {
                let percent = progress.percent_folded();
                (
                    format!(
                        "正在更新投影（{}）：{percent}%，第 {} 条，共 {} 条",
                        progress.names.join("、"),
                        progress.done,
                        progress.head
                    ),
                    format!(
                        "bringing the projections up to date ({}): {percent}%, position {} of {}",
                        progress.names.join(", "),
                        progress.done,
                        progress.head
                    ),
                )
            }
        }
    }

    /// The 503 every request but `/healthz` gets meanwhile.
    fn unavailable(&self) -> Response {
        let (zh, en) = self.stage();
        let mut response = ApiError::Unavailable {
            zh: format!("服务正在启动：{zh}；请稍后重试"),
            en: format!("The service is starting: {en}; retry shortly"),
        }
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        response
    }

    /// The service while the ledger opens.
    pub fn router(&self) -> Router {
        let readyz = self.clone();
        let fallback = self.clone();
        Router::new()
            .route(
                "/healthz",
                get(|| async {
                    Json(Health {
                        status: "starting".into(),
                        evidence_check: None,
                    })
                }),
            )
            .route("/readyz", get(move || async move { readyz.unavailable() }))
            .fallback(move || async move { fallback.unavailable() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(starting: &Starting) -> String {
        let (zh, en) = starting.stage();
        format!("{zh} / {en}")
    }

    #[test]
    fn the_answers_say_how_far_the_projections_are() {
        let starting = Starting::default();
        assert!(detail(&starting).contains("opening the ledger"));
        let mut progress = Progress {
            names: vec!["case_status".into(), "workload".into()],
            from: 1,
            done: 250,
            head: 1_000,
            records_per_second: 100_000.0,
            writing: false,
        };
        starting.observe(&progress);
        let text = detail(&starting);
        assert!(
            text.contains("bringing the projections up to date (case_status, workload): 25%, position 250 of 1000"),
            "{text}"
        );
        progress.done = 1_000;
        progress.writing = true;
        starting.observe(&progress);
        assert!(
            detail(&starting).contains("writing the projections (case_status, workload)"),
            "{}",
            detail(&starting)
        );
        let response = starting.unavailable();
        assert_eq!(
            response.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    }
}
