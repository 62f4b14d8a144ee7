//! Evidence end to end: a real server on 127.0.0.1 over a real ledger folder, opened the way
//! `caseledger serve` opens it (signing key loaded from the folder). A case is run through
//! the HTTP API, its evidence bundle downloaded and checked by the `caseledger-verify`
//! binary in a separate process: exit 0; a tampered copy: exit 1.

use std::path::{Path, PathBuf};
use std::process::Command;

use caseledger_server::auth::TokenPrincipal;
use caseledger_server::client::{HttpClient, HttpResponse};
use caseledger_server::config::ServerConfig;
use caseledger_server::AppState;
use serde_json::json;

const FIRM: &str = "91430923MA4L123461";

/// The `caseledger-verify` binary, built from this workspace into a target folder of its own
/// (the test's own target folder is locked by the cargo running the tests).
fn verify_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap().parent().unwrap();
    let tool_target = target.join("caseledger-verify-for-tests");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "caseledger-verify",
            "--bin",
            "caseledger-verify",
        ])
        .arg("--target-dir")
        .arg(&tool_target)
        .current_dir(&workspace)
        .status()
        .expect("running cargo build for caseledger-verify");
    assert!(status.success(), "building caseledger-verify failed");
    tool_target.join("debug").join("caseledger-verify")
}

struct Server {
    state: AppState,
    address: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(dir: &Path) -> Server {
    let state = caseledger_server::run::open_state(dir, &ServerConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(caseledger_server::serve::serve(
        listener,
        state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        state,
        address,
        stop,
        task,
    }
}

impl Server {
    fn token(&self, role: &str, unit: &str) -> String {
        self.state
            .tokens()
            .issue(TokenPrincipal {
                role: role.into(),
                unit: unit.into(),
                user: format!("{role}-user"),
            })
            .unwrap()
            .token
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        extra: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> HttpResponse {
        let bearer = format!("Bearer {token}");
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        headers.push(("authorization", bearer.as_str()));
        let bytes = body.map(|body| serde_json::to_vec(body).unwrap());
        if bytes.is_some() {
            headers.push(("content-type", "application/json"));
        }
        HttpClient::connect(self.address)
            .await
            .unwrap()
            .request(method, path, &headers, bytes.as_deref())
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, token: &str) -> HttpResponse {
        self.send("GET", path, token, &[], None).await
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
        drop(self.state);
    }
}

/// Files a complaint and takes it to resolution; returns the case id.
async fn run_a_case(server: &Server) -> String {
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let township = server.token("township", "township/dongping");
    let filed = server
        .send(
            "POST",
            "/api/v1/cases",
            &intake,
            &[],
            Some(&json!({
                "channel": "hotline12345",
                "compound": "compound/dongping/lanting-11",
                "category": "illegal-construction",
                "severity": "general",
                "firm": FIRM,
                "summary": "小区绿地被占用搭建车棚",
                "complainant": {"name": "张三丰", "phone": "13812345678"},
            })),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text());
    let case_id = filed.json().unwrap()["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let steps: Vec<(&str, serde_json::Value)> = vec![
        (
            &housing,
            json!({"act": "CaseDispatched", "to": "township/dongping", "note": "请核实"}),
        ),
        (&township, json!({"act": "CaseAccepted"})),
        (
            &township,
            json!({"act": "InspectionRecorded", "findings": "绿地上搭建车棚约 40 平方米", "substantiated": true}),
        ),
        (
            &township,
            json!({"act": "CaseResolved", "summary": "已责令拆除", "finding": "substantiated"}),
        ),
    ];
    let mut version = 1;
    for (token, body) in steps {
        let etag = format!("\"{version}\"");
        let response = server
            .send(
                "POST",
                &format!("/api/v1/cases/{case_id}/acts"),
                token,
                &[("if-match", &etag)],
                Some(&body),
            )
            .await;
        assert_eq!(response.status, 201, "{body}: {}", response.text());
        version = response.json().unwrap()["stream_version"].as_u64().unwrap();
    }
    assert_eq!(version, 5);
    case_id
}

fn run_verify(args: &[&Path]) -> (Option<i32>, String) {
    let output = Command::new(verify_binary()).args(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_bundle_from_the_api_verifies_offline_and_a_tampered_copy_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let court = server.token("court", "court");
    let other_township = server.token("township", "township/meicheng");
    let case_id = run_a_case(&server).await;

    // Who may read the history may download the bundle; others get the same 404 as there.
    let refused = server
        .get(
            &format!("/api/v1/cases/{case_id}/evidence"),
            &other_township,
        )
        .await;
    let history = server
        .get(&format!("/api/v1/cases/{case_id}/history"), &other_township)
        .await;
    assert_eq!((refused.status, history.status), (404, 404));

    let response = server
        .get(&format!("/api/v1/cases/{case_id}/evidence"), &court)
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let bundle_path = files.path().join("bundle.json");
    std::fs::write(&bundle_path, &response.body).unwrap();
    let bundle = response.json().unwrap();
    assert_eq!(bundle["format"], "caseledger-evidence-bundle/v1");
    assert_eq!(bundle["records"].as_array().unwrap().len(), 5);

    // The court's copy of the key: the verifier key file written beside the signing key.
    let public = caseledger_evidence::keyfile::public_key_path(
        &caseledger_server::evidence::default_key_path(dir.path()),
    );
    let (code, report) = run_verify(&[&bundle_path, Path::new("--key"), &public]);
    assert_eq!(code, Some(0), "{report}");

    // One changed digit in one record's raw bytes (base64 re-encoded).
    let mut tampered = bundle.clone();
    let raw = tampered["records"][2]["raw"].as_str().unwrap().to_owned();
    use base64::Engine as _;
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(&raw)
        .unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    tampered["records"][2]["raw"] = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
    let tampered_path = files.path().join("tampered.json");
    std::fs::write(
        &tampered_path,
        serde_json::to_vec_pretty(&tampered).unwrap(),
    )
    .unwrap();
    let (code, report) = run_verify(&[&tampered_path, Path::new("--key"), &public]);
    assert_eq!(code, Some(1), "{report}");

    // The checkpoint, as text, and a consistency proof to a later one, checked offline too.
    let old = server.get("/api/v1/audit/checkpoint", &court).await;
    assert_eq!(old.status, 200);
    assert!(old
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let old_note = old.text();
    let old_size: u64 = old_note.lines().nth(1).unwrap().parse().unwrap();
    let _second = run_a_case(&server).await;
    let new_checkpoint = server.state.evidence().unwrap().force_checkpoint().unwrap();
    let new = server.get("/api/v1/audit/checkpoint", &court).await;
    assert_eq!(new.text(), new_checkpoint.note);
    let proof = server
        .get(
            &format!(
                "/api/v1/audit/proof/consistency?from={old_size}&to={}",
                new_checkpoint.tree_size
            ),
            &court,
        )
        .await;
    assert_eq!(proof.status, 200, "{}", proof.text());
    let (old_path, new_path, proof_path) = (
        files.path().join("old.checkpoint"),
        files.path().join("new.checkpoint"),
        files.path().join("proof.json"),
    );
    std::fs::write(&old_path, &old_note).unwrap();
    std::fs::write(&new_path, &new_checkpoint.note).unwrap();
    std::fs::write(&proof_path, &proof.body).unwrap();
    let consistency = Path::new("consistency");
    let (code, report) = run_verify(&[
        consistency,
        &old_path,
        &new_path,
        &proof_path,
        Path::new("--key"),
        &public,
    ]);
    assert_eq!(code, Some(0), "{report}");

    // Inclusion proofs are for the auditing roles, and sizes beyond the head are refused.
    let inclusion = server
        .get("/api/v1/audit/proof/inclusion?position=3", &court)
        .await;
    assert_eq!(inclusion.status, 200, "{}", inclusion.text());
    let township = server.token("township", "township/dongping");
    let forbidden = server
        .get("/api/v1/audit/proof/inclusion?position=3", &township)
        .await;
    assert_eq!(forbidden.status, 403);
    let beyond = server
        .get(
            "/api/v1/audit/proof/inclusion?position=1&tree_size=999999",
            &court,
        )
        .await;
    assert_eq!(beyond.status, 400, "{}", beyond.text());
    assert_eq!(beyond.json().unwrap()["field"], "tree_size");
    // Each refusal names the parameter at fault.
    for (query, field) in [
        ("proof/inclusion?position=999999", "position"),
        ("proof/inclusion?position=0&tree_size=2", "position"),
        ("proof/consistency?from=1&to=999999", "to"),
        ("proof/consistency?from=3&to=2", "from"),
    ] {
        let refused = server.get(&format!("/api/v1/audit/{query}"), &court).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text());
        assert_eq!(refused.json().unwrap()["field"], field, "{query}");
    }
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn serve_refuses_a_signing_key_others_can_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // First open creates the key (0600) and the ledger.
    drop(caseledger_server::run::open_state(dir.path(), &ServerConfig::default()).unwrap());
    let key = caseledger_server::evidence::default_key_path(dir.path());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = caseledger_server::run::open_state(dir.path(), &ServerConfig::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("chmod 600"), "{error}");
}
