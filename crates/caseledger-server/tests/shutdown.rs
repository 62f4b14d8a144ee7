//! Graceful shutdown finishes in-flight appends: every act a client got 201 for is in the
//! log after the server stopped, and nothing else is. When `serve` returns, the ledger it was
//! given is closed: its last act is signed, and the folder opens again.

mod common;

use common::TestServer;
use serde_json::json;

/// The body of a walk-in complaint with this summary.
fn complaint(summary: String) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "channel": "walk-in",
        "compound": "compound/dongping/lanting-11",
        "category": "service-quality",
        "severity": "general",
        "summary": summary,
    }))
    .unwrap()
}

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
            let body = complaint(format!("停机测试 {index}"));
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

/// `serve` returns only after the connections' copies of the state are gone, so for a caller
/// that gave it the only copy the ledger is closed by then: its final checkpoint, signed on
/// the way out, is in the checkpoints file and covers every act, and the folder reopens.
/// Several rounds, because the connections' tasks used to drop their copies (and sign that
/// checkpoint) just after `serve` had returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_opens_again_as_soon_as_serve_returns() {
    let dir = tempfile::tempdir().unwrap();
    let config = caseledger_server::config::ServerConfig::default();
    for round in 1..=6u64 {
        let state = caseledger_server::run::open_state(dir.path(), &config)
            .unwrap_or_else(|error| panic!("round {round}: reopening failed: {error}"));
        let evidence = state.evidence().expect("opened with its evidence");
        let signed = evidence.latest_checkpoint().map_or(0, |c| c.tree_size);
        assert_eq!(
            signed,
            (round - 1) * 2,
            "round {round}: the last stop signed every act"
        );
        let bearer = format!(
            "Bearer {}",
            state
                .tokens()
                .issue(caseledger_server::auth::TokenPrincipal {
                    role: "office".into(),
                    unit: "office".into(),
                    user: "office-user".into(),
                })
                .unwrap()
                .token
        );
        let (address, stop, task) = common::spawn_serve(state).await;
        for index in 0..2 {
            let body = complaint(format!("重开测试 {round}-{index}"));
            let headers = [
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ];
            let response = caseledger_server::client::HttpClient::connect(address)
                .await
                .unwrap()
                .request("POST", "/api/v1/cases", &headers, Some(&body))
                .await
                .unwrap();
            assert_eq!(response.status, 201, "{}", response.text());
        }
        let _ = stop.send(());
        task.await.unwrap().unwrap();
        // Straight away, before anything reopens the folder: the final checkpoint, signed
        // as the ledger closed, is already in the checkpoints file and covers every act.
        let last = caseledger_evidence::file::read_last(dir.path())
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: no checkpoint in the file"));
        let size: u64 = last.lines().nth(1).unwrap().parse().unwrap();
        assert_eq!(
            size,
            round * 2,
            "round {round}: the file's last checkpoint\n{last}"
        );
    }
}
