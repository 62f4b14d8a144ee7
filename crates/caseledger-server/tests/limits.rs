//! Bounded concurrency and the per-request timeout over real HTTP: a client that stops
//! half-way through its body holds the only slot until its timeout (504, nothing appended);
//! a request behind it waits for that slot instead of running alongside.

mod common;

use std::time::{Duration, Instant};

use caseledger_server::config::Limits;
use common::TestServer;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const REQUEST_TIMEOUT_MS: u64 = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_times_out_and_the_next_waits_for_its_slot() {
    let server = TestServer::start_with(Limits {
        in_flight_requests_max: 1,
        request_timeout_ms: REQUEST_TIMEOUT_MS,
        ..Limits::default()
    })
    .await;
    let intake = server.token("intake", "12345");
    let office = server.token("office", "office");
    let before = server.head();

    // A: the head and 10 of the 100 body bytes it announces, then silence.
    let started = Instant::now();
    let mut stalled = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/cases HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {intake}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"channel"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let stalled_answer = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        // Read until the status line and the problem's body have come (the server may keep
        // the connection open).
        while !String::from_utf8_lossy(&answer).contains("\"code\"") {
            let read = tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buffer))
                .await
                .expect("the stalled request is answered")
                .unwrap();
            if read == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..read]);
        }
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    });

    // B, once A holds the only slot: it waits for that slot, then is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.state.metrics().in_flight() < 1 {
        assert!(
            Instant::now() < deadline,
            "the stalled request never started"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let waited = Instant::now();
    let listed = server.get("/api/v1/cases", Some(&office)).await;
    let waited = waited.elapsed();
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert!(
        waited >= Duration::from_millis(REQUEST_TIMEOUT_MS - 600),
        "the second request ran alongside the first ({waited:?})"
    );

    let (answer, elapsed) = stalled_answer.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    assert!(
        elapsed >= Duration::from_millis(REQUEST_TIMEOUT_MS - 100),
        "{elapsed:?}"
    );
    assert_eq!(server.head(), before, "a timed-out request appended");
    server.stop().await;
}
