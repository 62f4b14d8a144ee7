//! Graceful shutdown finishes in-flight appends: every act a client got 201 for is in the
//! log after the server stopped, and nothing else is.

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_appends() {
    let server = TestServer::start().await;
    let office = server.token("office", "office");
    let bearer = format!("Bearer {office}");
    let mut clients = Vec::new();
    for index in 0..32 {
        let mut client = server.client().await;
        let bearer = bearer.clone();
        clients.push(tokio::spawn(async move {
            let body = serde_json::to_vec(&json!({
                "channel": "walk-in",
                "compound": "compound/dongping/lanting-11",
                "category": "service-quality",
                "severity": "general",
                "summary": format!("停机测试 {index}"),
            }))
            .unwrap();
            let headers = [
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ];
            client
                .request("POST", "/api/v1/cases", &headers, Some(&body))
                .await
                .ok()
                .map(|response| response.status)
        }));
    }
    // Shut down while the requests are in flight.
    tokio::task::yield_now().await;
    let state = server.state.clone();
    let _dir = server.stop().await;
    let mut created = 0u64;
    for client in clients {
        match client.await.unwrap() {
            Some(201) => created += 1,
            Some(status) => panic!("unexpected status {status}"),
            // Not yet read by the server when it stopped: never acknowledged.
            None => {}
        }
    }
    assert!(created > 0, "some requests were in flight");
    assert_eq!(state.ledger().head().position, created);
    let report = state.ledger().verify(|_, _| {}).unwrap();
    assert!(report.ok);
}
