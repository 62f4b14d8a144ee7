//! The audit resource and the live tail, over real HTTP on 127.0.0.1.

mod common;

use std::time::Duration;

use common::TestServer;

const FIRM_A: &str = "91430923MA4L123461";
const FIRM_B: &str = "91430923MA4L91531J";

#[tokio::test]
async fn audit_needs_a_token_and_an_auditing_role() {
    let server = TestServer::start().await;
    let response = server.get("/api/v1/audit/verify", None).await;
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let response = server
        .get("/api/v1/audit/verify", Some("clt1.0000000000000000.00"))
        .await;
    assert_eq!(response.status, 401);
    let township = server.token("township", "township/dongping");
    let response = server.get("/api/v1/audit/records", Some(&township)).await;
    assert_eq!(response.status, 403);
    assert_eq!(response.json().unwrap()["code"], "forbidden");
    server.stop().await;
}

#[tokio::test]
async fn verify_and_records_page_through_the_log() {
    let server = TestServer::start().await;
    let office = server.token("office", "office");
    let court = server.token("court", "court");
    let mut last = None;
    for version in 0..5 {
        last = Some(server.append_raw(FIRM_A, version).await);
    }
    let last = last.unwrap();

    let report = server
        .get("/api/v1/audit/verify", Some(&court))
        .await
        .json()
        .unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], 5);
    assert_eq!(report["head_hash"], last.hash.to_hex());

    let page = server
        .get("/api/v1/audit/records?from=2&limit=2", Some(&office))
        .await
        .json()
        .unwrap();
    assert_eq!(page["as_of"], 5);
    assert_eq!(page["next"], 4);
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["position"], 2);
    // The bytes hash to the stated hash, and the chain links.
    use base64::Engine as _;
    for record in records {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(record["bytes_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            caseledger_record::record_hash(&bytes).to_hex(),
            record["hash"]
        );
    }
    assert_eq!(records[1]["prev_hash"], records[0]["hash"]);

    let page = server
        .get("/api/v1/audit/records?from=5&limit=10", Some(&office))
        .await
        .json()
        .unwrap();
    assert!(page.get("next").is_none());
    let response = server
        .get("/api/v1/audit/records?from=x", Some(&office))
        .await;
    assert_eq!(response.status, 400);
    let response = server
        .get("/api/v1/audit/records?form=1", Some(&office))
        .await;
    assert_eq!(response.status, 400);
    server.stop().await;
}

async fn read_events(client: &mut caseledger_server::client::HttpClient, count: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut text = String::new();
    while ids.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(5), client.read_chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("stream still open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(id) = event.lines().find_map(|line| line.strip_prefix("id: ")) {
                ids.push(id.parse().unwrap());
            }
        }
    }
    ids
}

#[tokio::test]
async fn live_tail_resumes_with_last_event_id_and_ends_on_shutdown() {
    let server = TestServer::start().await;
    let office = server.token("office", "office");
    let bearer = format!("Bearer {office}");
    for version in 0..3 {
        server.append_raw(FIRM_B, version).await;
    }
    let mut client = server.client().await;
    let (status, headers) = client
        .request_streaming(
            "GET",
            "/api/v1/events?after=1",
            &[("authorization", &bearer)],
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("text/event-stream")));
    assert_eq!(read_events(&mut client, 2).await, vec![2, 3]);
    // Live: a new record arrives on the open stream.
    server.append_raw(FIRM_B, 3).await;
    assert_eq!(read_events(&mut client, 1).await, vec![4]);

    // Resume on another connection: Last-Event-ID wins over `after`.
    let mut resumed = server.client().await;
    let (status, _) = resumed
        .request_streaming(
            "GET",
            "/api/v1/events?after=0",
            &[("authorization", &bearer), ("last-event-id", "3")],
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(read_events(&mut resumed, 1).await, vec![4]);

    // Shutdown ends open tails, so graceful shutdown completes.
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("shutdown completes with tails open");
}

/// The live tails are bounded: with every slot taken, another is refused with a 503 that
/// says when to try again; once a tail ends, its slot serves the next.
#[tokio::test]
async fn live_tails_past_the_limit_are_told_to_retry() {
    let server = TestServer::start_with(caseledger_server::config::Limits {
        sse_subscribers_max: 1,
        ..caseledger_server::config::Limits::default()
    })
    .await;
    let office = server.token("office", "office");
    let bearer = format!("Bearer {office}");
    let headers = [("authorization", bearer.as_str())];
    let mut first = server.client().await;
    let (status, _) = first
        .request_streaming("GET", "/api/v1/events", &headers)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let refused = server.get("/api/v1/events", Some(&office)).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    // The first tail closes; its slot is free again (the server notices on its next write
    // or keep-alive, so allow it a moment).
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut version = 0;
    loop {
        let mut next = server.client().await;
        let (status, _) = next
            .request_streaming("GET", "/api/v1/events", &headers)
            .await
            .unwrap();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            std::time::Instant::now() < deadline,
            "the closed tail's slot never came back"
        );
        // Something for the closed tail's stream to write, so that it finds out.
        server.append_raw(FIRM_A, version).await;
        version += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("shutdown completes");
}
