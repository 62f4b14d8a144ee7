//! The service layer without a ledger: problems, request ids, limits, metrics, readiness.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use caseledger_server::config::Limits;
use caseledger_server::rules::embedded_rules;
use caseledger_server::{app, open_ledger, AppState};
use tower::ServiceExt;

/// A state over a real ledger in a temporary folder.
fn state() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let opened = open_ledger(dir.path(), "caseledger.example/test").unwrap();
    let state = AppState::builder(opened, embedded_rules().unwrap())
        .limits(Limits::default())
        .build()
        .unwrap();
    (state, dir)
}

async fn send(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, Vec<(String, String)>, serde_json::Value, String) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect::<Vec<_>>();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json, text)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn health_and_readiness() {
    let (state, _dir) = state();
    let (status, _, body, _) = send(&state, get("/healthz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, _, _, _) = send(&state, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    state.begin_shutdown();
    let (status, headers, body, _) = send(&state, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        body["type"],
        "https://caseledger.example/problems/unavailable"
    );
}

#[tokio::test]
async fn unknown_route_and_method_are_problems_with_request_id() {
    let (state, _dir) = state();
    let (status, headers, body, _) = send(&state, get("/api/v1/nothing-here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        body["type"],
        "https://caseledger.example/problems/route-not-found"
    );
    assert_eq!(body["status"], 404);
    let request_id = header(&headers, "x-request-id").unwrap();
    assert_eq!(body["request_id"], request_id);
    assert!(body["detail"].as_str().unwrap().contains(" / "));

    let request = Request::post("/healthz").body(Body::empty()).unwrap();
    let (status, _, body, _) = send(&state, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], "method-not-allowed");
}

#[tokio::test]
async fn client_request_id_is_kept_only_when_plain() {
    let (state, _dir) = state();
    let request = Request::get("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _, _) = send(&state, request).await;
    assert_eq!(header(&headers, "x-request-id"), Some("abc-123"));
    let request = Request::get("/healthz")
        .header("x-request-id", "a b\"c")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _, _) = send(&state, request).await;
    assert_ne!(header(&headers, "x-request-id"), Some("a b\"c"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let (state, _dir) = state();
    send(&state, get("/healthz")).await;
    send(&state, get("/no/such")).await;
    let (status, headers, _, text) = send(&state, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(
        text.contains(
            "caseledger_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("route=\"unmatched\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("caseledger_rejections_total{code=\"route-not-found\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_is_served() {
    let (state, _dir) = state();
    let (status, headers, body, _) = send(&state, get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert_eq!(
        body["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true)
    );
}
