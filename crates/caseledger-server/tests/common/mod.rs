//! A real server on 127.0.0.1 over a real ledger in a temporary folder.
#![allow(dead_code)] // Each test binary uses a part.

use std::net::SocketAddr;

use caseledger_log::{Actor, AppendRequest, Appended, Ledger, LedgerOptions};
use caseledger_server::auth::TokenPrincipal;
use caseledger_server::client::{HttpClient, HttpResponse};
use caseledger_server::config::Limits;
use caseledger_server::AppState;

pub const ORIGIN: &str = "caseledger.example/test";

pub struct TestServer {
    pub state: AppState,
    pub address: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(Limits::default()).await
    }

    pub async fn start_with(limits: Limits) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path(), LedgerOptions::new(ORIGIN)).unwrap();
        let state = AppState::builder(ledger).limits(limits).build().unwrap();
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

    /// Appends a plain record straight to the ledger (for tests of the log-only resources).
    pub async fn append_raw(&self, stream: &str, expected_version: u64) -> Appended {
        let appended = self
            .state
            .ledger()
            .append(AppendRequest {
                stream: stream.into(),
                expected_version,
                event_id: uuid::Uuid::now_v7(),
                actor: Actor {
                    role: "intake".into(),
                    unit: "12345".into(),
                    user: "operator".into(),
                },
                kind: "TestRecorded".into(),
                schema_version: 1,
                payload: b"{}".to_vec(),
            })
            .await
            .unwrap();
        self.state.notify_appended(appended.position);
        appended
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}
