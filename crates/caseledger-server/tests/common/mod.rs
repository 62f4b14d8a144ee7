//! A real server on 127.0.0.1 over a real ledger in a temporary folder.
#![allow(dead_code)] // Each test binary uses a part.

use std::net::SocketAddr;

use caseledger_log::{Actor, AppendRequest, Appended};
use caseledger_server::auth::TokenPrincipal;
use caseledger_server::client::{HttpClient, HttpResponse};
use caseledger_server::config::Limits;
use caseledger_server::rules::embedded_rules;
use caseledger_server::{open_ledger, AppState};

pub const ORIGIN: &str = "caseledger.example/test";

pub struct TestServer {
    pub state: AppState,
    pub address: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Serves `state` on a free loopback port in a task of its own; returns the address, the
/// sender that stops it, and the task (which ends when `serve` returns).
pub async fn spawn_serve(
    state: AppState,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(caseledger_server::serve::serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
    ));
    (address, stop, task)
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(Limits::default()).await
    }

    pub async fn start_with(limits: Limits) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let opened = open_ledger(dir.path(), ORIGIN).unwrap();
        let state = AppState::builder(opened, embedded_rules().unwrap())
            .limits(limits)
            .build()
            .unwrap();
        TestServer::serve(dir, state).await
    }

    /// A server over the ledger in `dir` opened the way `caseledger serve` opens it: with its
    /// evidence (Merkle tree, signed checkpoints, the open check in the background).
    pub async fn start_with_evidence(dir: tempfile::TempDir) -> TestServer {
        let config = caseledger_server::config::ServerConfig::default();
        let state = caseledger_server::run::open_state(dir.path(), &config).unwrap();
        TestServer::serve(dir, state).await
    }

    async fn serve(dir: tempfile::TempDir, state: AppState) -> TestServer {
        let (address, stop, task) = spawn_serve(state.clone()).await;
        TestServer {
            state,
            address,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn token(&self, role: &str, unit: &str) -> String {
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

    pub async fn client(&self) -> HttpClient {
        HttpClient::connect(self.address).await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> HttpResponse {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let mut headers = Vec::new();
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        self.client()
            .await
            .request("GET", path, &headers, None)
            .await
            .unwrap()
    }

    /// Sends a JSON request with a bearer token and extra headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> HttpResponse {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let mut headers: Vec<(&str, &str)> = extra.to_vec();
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        let bytes = body.map(|body| serde_json::to_vec(body).unwrap());
        if bytes.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.client()
            .await
            .request(method, path, &headers, bytes.as_deref())
            .await
            .unwrap()
    }

    /// POSTs JSON.
    pub async fn post(&self, path: &str, token: &str, body: serde_json::Value) -> HttpResponse {
        self.send("POST", path, Some(token), &[], Some(&body)).await
    }

    /// Files a complaint through 12345 intake in Dongping's Lanting compound with `extra`
    /// fields merged into the body; asserts 201 and returns the case id.
    pub async fn file_case(&self, intake: &str, extra: serde_json::Value) -> String {
        let mut body = serde_json::json!({
            "channel": "hotline12345",
            "compound": "compound/dongping/lanting-11",
            "category": "illegal-construction",
            "severity": "general",
            "summary": "楼道堆放杂物",
        });
        for (key, value) in extra.as_object().expect("extra fields are an object") {
            body[key] = value.clone();
        }
        let filed = self.post("/api/v1/cases", intake, body).await;
        assert_eq!(filed.status, 201, "{}", filed.text());
        filed.json().unwrap()["case_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// POSTs an act decided on stream version `version` (`If-Match: "<version>"`); asserts
    /// 201 and returns the stream's new version.
    pub async fn act_at(
        &self,
        path: &str,
        token: &str,
        version: u64,
        body: &serde_json::Value,
    ) -> u64 {
        let etag = format!("\"{version}\"");
        let response = self
            .send(
                "POST",
                path,
                Some(token),
                &[("if-match", &etag)],
                Some(body),
            )
            .await;
        assert_eq!(response.status, 201, "{body}: {}", response.text());
        response.json().unwrap()["stream_version"].as_u64().unwrap()
    }

    pub fn head(&self) -> u64 {
        self.state.ledger().head().position
    }

    /// Appends a firm act straight to the ledger, bypassing the API (for tests of the
    /// log-only resources): a registration at version 0, commendations after it.
    pub async fn append_raw(&self, uscc: &str, expected_version: u64) -> Appended {
        use caseledger_domain::act::{Act, FirmCommended, FirmRegistered};
        let firm: caseledger_domain::ids::Uscc = uscc.parse().unwrap();
        let act = if expected_version == 0 {
            Act::FirmRegistered(FirmRegistered {
                firm,
                name: "（样例）测试物业".into(),
                by: "housing".parse().unwrap(),
            })
        } else {
            Act::FirmCommended(FirmCommended {
                firm,
                reason: "test".into(),
                by: "housing".parse().unwrap(),
            })
        };
        self.append_act(&act, expected_version).await
    }

    /// Appends `act` straight to the ledger as the housing department's operator, bypassing
    /// the API and the domain's rules, and tells the live tails.
    pub async fn append_act(
        &self,
        act: &caseledger_domain::act::Act,
        expected_version: u64,
    ) -> Appended {
        let appended = self
            .state
            .ledger()
            .append(AppendRequest {
                stream: act.stream().to_string(),
                expected_version,
                event_id: uuid::Uuid::now_v7(),
                actor: Actor {
                    role: "department".into(),
                    unit: "housing".into(),
                    user: "operator".into(),
                },
                kind: act.kind().into(),
                schema_version: act.schema_version(),
                payload: act.encode_payload(),
            })
            .await
            .unwrap();
        self.state.notify_appended(appended.position);
        appended
    }

    /// Shuts the server down gracefully and hands back its folder.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.dir
    }
}

/// A two-worker runtime for tests that drive `serve_folder` from a plain thread.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The default configuration, listening on a free loopback port.
pub fn loopback_config() -> caseledger_server::config::ServerConfig {
    caseledger_server::config::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..caseledger_server::config::ServerConfig::default()
    }
}
