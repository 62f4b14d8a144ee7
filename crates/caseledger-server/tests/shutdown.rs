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

/// 32 clients post complaints one after another on their own connections, without end; the
/// server is stopped once it has appended 64 of them, so that requests are being read,
/// decided and appended as it stops. Every client's run ends with the stop (none reaches its
/// quota), every 201 is in the log, and the log holds nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_appends() {
    const QUOTA: u64 = 100_000;
    let server = TestServer::start().await;
    let office = server.token("office", "office");
    let bearer = format!("Bearer {office}");
    let mut clients = Vec::new();
    for index in 0..32 {
        let mut client = server.client().await;
        let bearer = bearer.clone();
        clients.push(tokio::spawn(async move {
            let headers = [
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ];
            let mut created = 0u64;
            for round in 0..QUOTA {
                let body = complaint(format!("停机测试 {index}-{round}"));
                match client
                    .request("POST", "/api/v1/cases", &headers, Some(&body))
                    .await
                {
                    Ok(response) if response.status == 201 => created += 1,
                    Ok(response) => {
                        panic!("unexpected status {}: {}", response.status, response.text())
                    }
                    // The server closed the connection as it stopped: this request was not
                    // read, or not answered, and must not be in the log.
                    Err(_) => return (created, false),
                }
            }
            (created, true)
        }));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.head() < 64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the clients appended {} acts in 60 s",
            server.head()
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // Shut down while the requests are in flight.
    let state = server.state.clone();
    let _dir = server.stop().await;
    let mut created = 0u64;
    for client in clients {
        let (by_client, finished) = client.await.unwrap();
        assert!(!finished, "a client sent all its requests before the stop");
        created += by_client;
    }
    assert!(created >= 64, "only {created} acts acknowledged");
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
