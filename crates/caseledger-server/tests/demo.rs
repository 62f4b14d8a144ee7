//! `caseledger demo` from a fresh folder, then a second run that reuses it.

use std::time::Duration;

use caseledger_server::client::HttpClient;
use caseledger_server::demo::{run_demo, DemoOptions, DemoReport, DemoTokens, TOKENS_FILE_NAME};

/// Runs the demo until it has served `check`, then stops it.
async fn run_once<F, Fut>(dir: &std::path::Path, check: F) -> DemoReport
where
    F: FnOnce(std::net::SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (said_tx, mut said_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = DemoOptions {
        dir: dir.to_owned(),
        cases: 200,
        listen: "127.0.0.1:0".parse().unwrap(),
    };
    let task = tokio::spawn(run_demo(
        options,
        async move {
            let _ = stop_rx.await;
        },
        move |line| {
            let _ = said_tx.send(line);
        },
    ));
    let address = loop {
        let line = tokio::time::timeout(Duration::from_secs(300), said_rx.recv())
            .await
            .expect("the demo says where it serves")
            .expect("the demo is running");
        if let Some(rest) = line.split("serving: http://").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    check(address).await;
    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap()
}

async fn get(address: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("authorization", b.as_str()))
        .collect();
    let mut client = HttpClient::connect(address).await.unwrap();
    let response = client.request("GET", path, &headers, None).await.unwrap();
    (response.status, response.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fills_a_fresh_folder_then_reuses_it() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("demo-data");
    let first = run_once(&dir, |address| {
        let dir = dir.clone();
        async move {
            let (status, _) = get(address, "/healthz", None).await;
            assert_eq!(status, 200);
            let (status, credit) = get(address, "/api/v1/public/credit", None).await;
            assert_eq!(status, 200);
            // Every firm of the registry has been assessed and graded.
            let credit: serde_json::Value = serde_json::from_str(&credit).unwrap();
            let firms = credit["firms"].as_array().unwrap();
            assert!(!firms.is_empty(), "{credit}");
            for firm in firms {
                assert!(firm["grade"].is_string(), "a firm without a grade: {firm}");
            }
            let tokens: DemoTokens =
                serde_json::from_str(&std::fs::read_to_string(dir.join(TOKENS_FILE_NAME)).unwrap())
                    .unwrap();
            assert!(tokens.tokens.len() >= 8);
            let office = tokens.tokens.iter().find(|t| t.role == "office").unwrap();
            let (status, report) = get(address, "/api/v1/audit/verify", Some(&office.token)).await;
            assert_eq!(status, 200);
            assert!(report.contains("\"ok\":true"), "{report}");
            let (status, cases) = get(address, "/api/v1/cases?limit=3", Some(&office.token)).await;
            assert_eq!(status, 200, "{cases}");
            assert!(cases.contains("\"case\""), "{cases}");
        }
    })
    .await;
    assert!(first.generated);
    // 200 complaints and a year of firm acts: several records per case.
    assert!(first.records > 1_000, "{} records", first.records);

    // While the demo serves, the `token` commands reach it through its admin file.
    let second = run_once(&dir, |address| {
        let dir = dir.clone();
        async move {
            let config = caseledger_server::config::ServerConfig::default();
            let issued = tokio::task::spawn_blocking(move || {
                caseledger_server::run::issue_token(&dir, &config, "office", "office", None)
            })
            .await
            .unwrap()
            .unwrap();
            let (status, _) = get(address, "/api/v1/audit/verify", Some(&issued.token)).await;
            assert_eq!(status, 200);
        }
    })
    .await;
    assert!(!dir.join(caseledger_server::auth::ADMIN_FILE_NAME).exists());
    assert!(!second.generated);
    assert_eq!(second.records, first.records);
    let first_tokens: Vec<&str> = first
        .tokens
        .tokens
        .iter()
        .map(|t| t.token.as_str())
        .collect();
    let second_tokens: Vec<&str> = second
        .tokens
        .tokens
        .iter()
        .map(|t| t.token.as_str())
        .collect();
    assert_eq!(
        first_tokens, second_tokens,
        "the second run reuses the tokens"
    );
}
