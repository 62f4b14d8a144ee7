//! Tokens managed while the server runs: the admin routes over real HTTP, and the command
//! line's functions against a server serving a real ledger folder.

mod common;

use caseledger_server::auth::{AdminCredential, ADMIN_FILE_NAME};
use caseledger_server::client::HttpClient;
use caseledger_server::config::ServerConfig;
use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn the_office_issues_and_revokes_tokens_on_the_running_server() {
    let server = TestServer::start().await;
    let office = server.token("office", "office");
    let township = server.token("township", "township/dongping");

    // Only the Office (or the local admin credential) administers tokens.
    let body = json!({"role": "township", "unit": "township/dongping"});
    let refused = server
        .post("/api/v1/admin/tokens", &township, body.clone())
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let refused = server
        .send("POST", "/api/v1/admin/tokens", None, &[], Some(&body))
        .await;
    assert_eq!(refused.status, 401);
    // A unit that does not fit the role is refused.
    let refused = server
        .post(
            "/api/v1/admin/tokens",
            &office,
            json!({"role": "township", "unit": "housing"}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());

    let issued = server.post("/api/v1/admin/tokens", &office, body).await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let issued = issued.json().unwrap();
    let token = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["role"], "township");
    assert_eq!(issued["user"], "township@township/dongping");
    // It works at once, on the same server.
    let cases = server.get("/api/v1/cases", Some(&token)).await;
    assert_eq!(cases.status, 200, "{}", cases.text());

    // The list shows it, without any hash or secret.
    let list = server.get("/api/v1/admin/tokens", Some(&office)).await;
    assert_eq!(list.status, 200);
    let text = list.text();
    assert!(text.contains(&id));
    assert!(!text.contains(token.rsplit('.').next().unwrap()));
    assert!(!text.contains("sha256"));

    // Revoked: refused by the very next request, on a connection opened before.
    let mut kept = HttpClient::connect(server.address).await.unwrap();
    let bearer = format!("Bearer {token}");
    let before = kept
        .request("GET", "/api/v1/cases", &[("authorization", &bearer)], None)
        .await
        .unwrap();
    assert_eq!(before.status, 200);
    let revoked = server
        .send(
            "POST",
            &format!("/api/v1/admin/tokens/{id}/revoke"),
            Some(&office),
            &[],
            Some(&json!({})),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert!(revoked.json().unwrap()["revoked_at"].is_string());
    let after = kept
        .request("GET", "/api/v1/cases", &[("authorization", &bearer)], None)
        .await
        .unwrap();
    assert_eq!(after.status, 401);
    let unknown = server
        .send(
            "POST",
            "/api/v1/admin/tokens/0123456789abcdef/revoke",
            Some(&office),
            &[],
            Some(&json!({})),
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[test]
fn the_local_admin_credential_matches_only_itself() {
    let (credential, text) = AdminCredential::generate();
    assert!(text.starts_with("cla1."));
    assert!(credential.matches(&text));
    let (_, other) = AdminCredential::generate();
    assert!(!credential.matches(&other));
    assert!(!credential.matches(""));
    assert!(!credential.matches(text.trim_start_matches("cla1.")));
}

/// `serve_folder` (what `caseledger serve` runs) writes the admin file; the token commands
/// then go through the running server, and a revocation is in force on it at once.
#[test]
fn token_commands_reach_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve_data = data.clone();
    let serve_config = config.clone();
    let server = runtime.spawn(async move {
        tokio::select! {
            result = caseledger_server::run::serve_folder(&serve_data, None, &serve_config, move |address| {
                address_tx.send(address).unwrap();
            }) => result,
            _ = stop_rx => Ok(()),
        }
    });
    let address = address_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    let admin_file = data.join(ADMIN_FILE_NAME);
    assert!(admin_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&admin_file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the admin file is the owner's only: {mode:o}"
        );
    }

    let issued =
        caseledger_server::run::issue_token(&data, &config, "office", "office", Some("auditor"))
            .unwrap();
    let status = |token: &str| {
        runtime.block_on(async {
            let mut client = HttpClient::connect(address).await.unwrap();
            let bearer = format!("Bearer {token}");
            client
                .request("GET", "/api/v1/cases", &[("authorization", &bearer)], None)
                .await
                .unwrap()
                .status
        })
    };
    assert_eq!(status(&issued.token), 200);
    let listed = caseledger_server::run::list_tokens(&data, &config).unwrap();
    assert!(listed.iter().any(|entry| entry.id == issued.id));
    // A unit that does not fit the role is refused before the server is asked.
    assert!(
        caseledger_server::run::issue_token(&data, &config, "township", "housing", None).is_err()
    );

    let revoked = caseledger_server::run::revoke_token(&data, &config, &issued.id).unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(status(&issued.token), 401);

    let _ = stop_tx.send(());
    runtime.block_on(server).unwrap().unwrap();
    drop(runtime);
    // Stopped: the admin file is gone, and the commands open the folder itself.
    assert!(!admin_file.exists());
    let listed = caseledger_server::run::list_tokens(&data, &config).unwrap();
    let entry = listed.iter().find(|entry| entry.id == issued.id).unwrap();
    assert!(
        entry.revoked_at.is_some(),
        "the revocation was made durable"
    );
}
