//! A ledger whose log was changed behind its back after a checkpoint was signed: the quick
//! open check (the last record) passes and the service starts; the full re-hash in the
//! background finds the changed record; from then on `/readyz` answers 503 naming the
//! mismatch, evidence is refused, and `/audit/verify` says where the chain breaks.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use caseledger_evidence::EvidenceOptions;
use caseledger_log::LedgerOptions;
use caseledger_server::auth::TokenPrincipal;
use caseledger_server::client::{HttpClient, HttpResponse};
use caseledger_server::AppState;

const ORIGIN: &str = "caseledger.example/test";
const CASES: usize = 6;
const TAMPERED_POSITION: u64 = 2;

/// The service's state over `dir`, re-hashing only the last record on open (the log's tail
/// and the evidence's quick check), so that a change further back is left to the background.
fn open(dir: &Path) -> AppState {
    let key_path = caseledger_server::evidence::default_key_path(dir);
    let key = caseledger_server::evidence::load_or_create_key(dir, &key_path, ORIGIN).unwrap();
    let mut ledger_options = LedgerOptions::new(ORIGIN);
    ledger_options.tail_check_records = 1;
    let mut evidence_options = EvidenceOptions::new(key);
    evidence_options.open_tail_records = 1;
    let (opened, evidence) = caseledger_server::evidence::open_ledger_with_evidence_options(
        dir,
        ledger_options,
        evidence_options,
    )
    .unwrap();
    AppState::builder(opened, caseledger_server::rules::embedded_rules().unwrap())
        .evidence(evidence)
        .build()
        .unwrap()
}

struct Server {
    address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve(state: AppState) -> Server {
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
    Server {
        address,
        stop,
        task,
    }
}

impl Server {
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> HttpResponse {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        let body = body.map(|body| serde_json::to_vec(body).unwrap());
        HttpClient::connect(self.address)
            .await
            .unwrap()
            .request(method, path, &headers, body.as_deref())
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

fn issue(state: &AppState, role: &str, unit: &str) -> String {
    state
        .tokens()
        .issue(TokenPrincipal {
            role: role.into(),
            unit: unit.into(),
            user: format!("{role}-user"),
        })
        .unwrap()
        .token
}

fn complaint() -> serde_json::Value {
    serde_json::json!({
        "channel": "hotline12345",
        "compound": "compound/dongping/lanting-11",
        "category": "illegal-construction",
        "severity": "general",
        "summary": "楼道堆放杂物",
    })
}

/// Flips one byte near the end of the record at `position`, in the sled batch holding it.
fn rewrite_record(dir: &Path, position: u64) {
    let db = common::open_sled(dir);
    let log = db.open_tree("ledger/log").unwrap();
    let (key, value) = log
        .range(..=position.to_be_bytes())
        .next_back()
        .unwrap()
        .unwrap();
    let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
    let mut value = value.to_vec();
    let mut offset = 0;
    for _ in first..position {
        let length = u32::from_le_bytes(value[offset..offset + 4].try_into().unwrap()) as usize;
        offset += 4 + length;
    }
    let length = u32::from_le_bytes(value[offset..offset + 4].try_into().unwrap()) as usize;
    value[offset + 4 + length - 3] ^= 0x01;
    log.insert(key, value).unwrap();
    db.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_check_makes_readyz_answer_503_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = open(dir.path());
    let intake = issue(&state, "intake", "12345");
    let office = issue(&state, "office", "office");
    let server = serve(state).await;
    let mut case_ids = Vec::new();
    for _ in 0..CASES {
        let filed = server
            .send("POST", "/api/v1/cases", Some(&intake), Some(&complaint()))
            .await;
        assert_eq!(filed.status, 201, "{}", filed.text());
        case_ids.push(
            filed.json().unwrap()["case_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The checkpoint the reopened ledger is checked against.
    let checkpoint = server
        .send("GET", "/api/v1/audit/checkpoint", Some(&office), None)
        .await;
    assert_eq!(checkpoint.status, 200, "{}", checkpoint.text());
    let ready = server.send("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    server.stop().await;

    rewrite_record(dir.path(), TAMPERED_POSITION);

    let server = serve(open(dir.path())).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        let response = server.send("GET", "/readyz", None, None).await;
        if response.status != 200 {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still ready: {}",
            response.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    let problem = refused.json().unwrap();
    let detail = problem["detail"].as_str().unwrap();
    // Both languages, and the evidence's own words on the mismatch: which tree size.
    assert!(detail.contains("检查点"), "{detail}");
    assert!(detail.contains("latest signed checkpoint"), "{detail}");
    assert!(detail.contains(&format!("tree size {CASES}")), "{detail}");

    // Acts are refused, and nothing is appended.
    let act = server
        .send("POST", "/api/v1/cases", Some(&intake), Some(&complaint()))
        .await;
    assert_eq!(act.status, 503, "{}", act.text());
    assert!(
        act.text().contains(&format!("tree size {CASES}")),
        "{}",
        act.text()
    );

    let records = server
        .send(
            "GET",
            "/api/v1/audit/records?from=1&limit=100",
            Some(&office),
            None,
        )
        .await;
    assert_eq!(records.status, 200, "{}", records.text());
    let records = records.json().unwrap();
    assert_eq!(
        records["records"].as_array().map(Vec::len),
        Some(CASES),
        "{records}"
    );

    // Evidence is refused the same way, and the full verification finds the break.
    let bundle = server
        .send(
            "GET",
            &format!("/api/v1/cases/{}/evidence", case_ids[0]),
            Some(&office),
            None,
        )
        .await;
    assert_eq!(bundle.status, 503, "{}", bundle.text());
    let report = server
        .send("GET", "/api/v1/audit/verify", Some(&office), None)
        .await;
    assert_eq!(report.status, 200, "{}", report.text());
    let report = report.json().unwrap();
    assert_eq!(report["ok"], false, "{report}");
    let broken_at = report["broken_at"].as_u64().unwrap();
    assert!(
        (TAMPERED_POSITION..=TAMPERED_POSITION + 1).contains(&broken_at),
        "{report}"
    );
    server.stop().await;
}
