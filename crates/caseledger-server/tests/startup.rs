//! `serve_folder` (what `caseledger serve` runs) binds its address before it opens the
//! ledger and answers there meanwhile: alive and starting on `/healthz`, 503 with
//! `Retry-After` everywhere else. Real sockets; the opening is held at its start by the test
//! hook of `serve_folder_with`.

use std::io::{Read, Write};
use std::net::SocketAddr;

mod common;

use caseledger_server::config::ServerConfig;
use common::{loopback_config, runtime};

/// One HTTP/1.1 request on a connection of its own: the status, the head and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("reads the answer");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn the_server_answers_while_it_opens_its_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let config = loopback_config();
    let runtime = runtime();
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (early_tx, early_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve_data = data.clone();
    let server = runtime.spawn(async move {
        tokio::select! {
            result = caseledger_server::run::serve_folder_with(
                &serve_data,
                None,
                &config,
                move |address| address_tx.send(address).unwrap(),
                move |address| {
                    // The ledger is not open yet: what the server answers now.
                    let answers: Vec<_> = ["/healthz", "/readyz", "/api/v1/cases", "/metrics"]
                        .into_iter()
                        .map(|path| get(address, path))
                        .collect();
                    early_tx.send((address, answers)).unwrap();
                },
            ) => result,
            _ = stop_rx => Ok(()),
        }
    });
    let (early_address, answers) = early_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    let (status, _, body) = &answers[0];
    assert_eq!(*status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(health["status"], "starting", "{body}");
    for (status, head, body) in &answers[1..] {
        assert_eq!(*status, 503, "{body}");
        assert!(head.contains("retry-after: 5"), "{head}");
        assert!(head.contains("application/problem+json"), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("The service is starting"), "{detail}");
    }
    // Nothing was opened while the server answered so.
    assert!(!data.join(caseledger_server::auth::ADMIN_FILE_NAME).exists());

    // Then the ledger opens, on the same address, and the service takes work.
    let address = address_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    assert_eq!(address, early_address);
    let (status, _, body) = get(address, "/healthz");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"],
        "ok"
    );
    let (status, _, body) = get(address, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get(address, "/api/v1/cases");
    assert_eq!(status, 401, "no token: {body}");

    let _ = stop_tx.send(());
    runtime.block_on(server).unwrap().unwrap();
}

/// An address in use is refused before the ledger is opened (or created): the operator does
/// not wait for a long open, or a rebuild, to learn it.
#[test]
fn an_address_in_use_is_refused_before_the_ledger_opens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let config = ServerConfig::default();
    let runtime = runtime();
    let result = runtime.block_on(caseledger_server::run::serve_folder_with(
        &data,
        Some(address),
        &config,
        |_| panic!("must not serve"),
        |_| panic!("must not open"),
    ));
    let error = result.expect_err("the address is taken");
    assert!(error.to_string().contains("cannot listen"), "{error}");
    assert!(!data.exists(), "the ledger folder was created");
}
