//! The service endpoints over real HTTP. `/readyz` reports the evidence's open check: the server opened as
//! `caseledger serve` opens it checks the log against the latest signed checkpoint quickly,
//! then re-hashes every record in the background.

mod common;

use common::TestServer;

async fn readyz(server: &TestServer) -> serde_json::Value {
    let response = server.get("/readyz", None).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json().unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_the_background_open_check() {
    // A fresh ledger has no checkpoint to check against: passed at once.
    let server = TestServer::start_with_evidence(tempfile::tempdir().unwrap()).await;
    assert_eq!(readyz(&server).await["evidence_check"], "passed");
    for version in 0..40 {
        server.append_raw("91430923MA4L123461", version).await;
    }
    let checkpoint = server.state.evidence().unwrap().force_checkpoint().unwrap();
    assert_eq!(checkpoint.tree_size, 40);
    let dir = server.stop().await;

    // Reopened: the quick check passed before serving; the full one runs in the background
    // and ends passed. Until it ends /readyz says so (already 200: the service serves).
    let server = TestServer::start_with_evidence(dir).await;
    let first = readyz(&server).await["evidence_check"].clone();
    assert!(first == "running" || first == "passed", "{first}");
    let evidence = server.state.evidence().unwrap().clone();
    let outcome = tokio::task::spawn_blocking(move || evidence.wait_open_check())
        .await
        .unwrap();
    assert_eq!(outcome, caseledger_evidence::OpenCheckStatus::Passed);
    assert_eq!(readyz(&server).await["evidence_check"], "passed");

    // Liveness and the Prometheus text, counting the readiness checks above by route.
    let health = server.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json().unwrap()["status"], "ok");
    let metrics = server.get("/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.text();
    assert!(
        text.lines()
            .any(|line| line.contains("route=\"/readyz\"") && !line.starts_with('#')),
        "{text}"
    );
    // The log's head and each projection's checkpoint (all at the head: the writer applies
    // every batch before it answers) and cache.
    assert!(text.contains("caseledger_log_head_position 40\n"), "{text}");
    for projection in ["case_status", "workload", "firm_history", "measures"] {
        assert!(
            text.contains(&format!(
                "caseledger_projection_checkpoint{{projection=\"{projection}\"}} 40\n"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "caseledger_projection_cache_entries{{projection=\"{projection}\"}} "
            )),
            "{text}"
        );
    }

    // Stopping: 503, a problem.
    server.state.begin_shutdown();
    let stopping = server.get("/readyz", None).await;
    assert_eq!(stopping.status, 503, "{}", stopping.text());
    assert_eq!(
        stopping.header("content-type"),
        Some("application/problem+json")
    );
    server.stop().await;
}
