//! The service layer: problems, request ids, metrics, readiness and the served document, over
//! real HTTP on 127.0.0.1 to a server on a ledger in a temporary folder.

mod common;

use caseledger_server::client::HttpResponse;
use common::TestServer;

/// Sends `method path` with the extra headers and no body.
async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> HttpResponse {
    server.send(method, path, None, headers, None).await
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::start().await;
    let response = server.get("/healthz", None).await;
    assert_eq!(
        (response.status, response.json().unwrap()["status"].clone()),
        (200, serde_json::json!("ok"))
    );
    assert_eq!(server.get("/readyz", None).await.status, 200);
    server.state.begin_shutdown();
    let response = server.get("/readyz", None).await;
    assert_eq!(response.status, 503);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        response.json().unwrap()["type"],
        "https://caseledger.example/problems/unavailable"
    );
}

#[tokio::test]
async fn unknown_route_and_method_are_problems_with_request_id() {
    let server = TestServer::start().await;
    let response = server.get("/api/v1/nothing-here", None).await;
    assert_eq!(response.status, 404);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let body = response.json().unwrap();
    assert_eq!(
        body["type"],
        "https://caseledger.example/problems/route-not-found"
    );
    assert_eq!(body["status"], 404);
    let request_id = response.header("x-request-id").unwrap();
    assert_eq!(body["request_id"], request_id);
    assert!(body["detail"].as_str().unwrap().contains(" / "));

    let response = send(&server, "POST", "/healthz", &[]).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.json().unwrap()["code"], "method-not-allowed");
}

#[tokio::test]
async fn client_request_id_is_kept_only_when_plain() {
    let server = TestServer::start().await;
    let response = send(&server, "GET", "/healthz", &[("x-request-id", "abc-123")]).await;
    assert_eq!(response.header("x-request-id"), Some("abc-123"));
    // Not plain (a space and a quote): replaced by an id of the server's own, a UUID.
    let response = send(&server, "GET", "/healthz", &[("x-request-id", "a b\"c")]).await;
    let replaced = response
        .header("x-request-id")
        .expect("every answer names its request");
    assert!(
        uuid::Uuid::parse_str(replaced).is_ok(),
        "not a generated id: {replaced}"
    );
    // Without one, every request gets an id of its own.
    let first = server.get("/healthz", None).await;
    let second = server.get("/healthz", None).await;
    assert_ne!(first.header("x-request-id"), second.header("x-request-id"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let server = TestServer::start().await;
    server.get("/healthz", None).await;
    server.get("/no/such", None).await;
    let response = server.get("/metrics", None).await;
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text();
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
    let server = TestServer::start().await;
    let response = server.get("/api/v1/openapi.json", None).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.json().unwrap()["openapi"]
            .as_str()
            .map(|v| v.starts_with("3.1")),
        Some(true)
    );
}
