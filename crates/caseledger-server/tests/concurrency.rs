//! 50 clients acting on the same cases at once: no act lost, none duplicated, the chain
//! verifies, and the projections equal a rebuild from the log.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use caseledger_projections::Scan;
use common::TestServer;
use serde_json::json;

const CASES: usize = 5;
const CLIENTS: usize = 50;
const ACTS_PER_CLIENT: usize = 10;

/// Every key and value of one projection tree.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn dump(server: &TestServer) -> BTreeMap<String, Pairs> {
    let reader = server.state.reader();
    caseledger_projections::NAMES
        .iter()
        .map(|name| {
            let tree = reader.tree(name).unwrap();
            let mut pairs = Vec::new();
            tree.scan(&[], None, &mut |key, value| {
                pairs.push((key.to_vec(), value.to_vec()));
                Scan::Continue
            })
            .unwrap();
            (name.to_string(), pairs)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_clients_on_the_same_cases() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let township = server.token("township", "township/dongping");
    let mut cases = Vec::new();
    for index in 0..CASES {
        let filed = server
            .post(
                "/api/v1/cases",
                &intake,
                json!({
                    "channel": "hotline12345",
                    "compound": "compound/dongping/lanting-11",
                    "category": "service-quality",
                    "severity": "general",
                    "summary": format!("电梯维保不到位 {index}"),
                    "complainant": {"name": "王五", "phone": "13700000000"},
                }),
            )
            .await;
        assert_eq!(filed.status, 201, "{}", filed.text());
        let case_id = filed.json().unwrap()["case_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let acts = format!("/api/v1/cases/{case_id}/acts");
        let dispatched = server
            .post(
                &acts,
                &housing,
                json!({"act": "DispatchCase", "to": "township/dongping"}),
            )
            .await;
        assert_eq!(dispatched.status, 201, "{}", dispatched.text());
        let accepted = server
            .post(&acts, &township, json!({"act": "AcceptCase"}))
            .await;
        assert_eq!(accepted.status, 201, "{}", accepted.text());
        cases.push(case_id);
    }

    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let case_id = cases[client % CASES].clone();
        let address = server.address;
        let bearer = format!("Bearer {township}");
        clients.push(tokio::spawn(async move {
            let mut http = caseledger_server::client::HttpClient::connect(address)
                .await
                .unwrap();
            let path = format!("/api/v1/cases/{case_id}/acts");
            let mut positions = Vec::new();
            for act in 0..ACTS_PER_CLIENT {
                let body = serde_json::to_vec(&json!({
                    "act": "RecordInspection",
                    "findings": format!("第 {client} 组第 {act} 次巡查"),
                    "substantiated": false,
                }))
                .unwrap();
                let key = format!("client-{client}-act-{act}");
                let headers = [
                    ("authorization", bearer.as_str()),
                    ("content-type", "application/json"),
                    ("idempotency-key", key.as_str()),
                ];
                let response = http
                    .request("POST", &path, &headers, Some(&body))
                    .await
                    .unwrap();
                assert_eq!(response.status, 201, "{}", response.text());
                positions.push(response.json().unwrap()["position"].as_u64().unwrap());
                // Every third act is sent twice, as a client retrying after a lost answer.
                if act % 3 == 0 {
                    let again = http
                        .request("POST", &path, &headers, Some(&body))
                        .await
                        .unwrap();
                    assert_eq!(again.status, 200, "{}", again.text());
                    assert_eq!(
                        again.json().unwrap()["position"].as_u64().unwrap(),
                        *positions.last().unwrap()
                    );
                }
            }
            positions
        }));
    }
    let mut positions = BTreeSet::new();
    for client in clients {
        for position in client.await.unwrap() {
            assert!(
                positions.insert(position),
                "position {position} answered twice"
            );
        }
    }
    assert_eq!(positions.len(), CLIENTS * ACTS_PER_CLIENT);

    // Every case holds its own acts exactly once.
    let office = server.token("office", "office");
    let per_case = 3 + (CLIENTS / CASES) * ACTS_PER_CLIENT;
    for case_id in &cases {
        let history = server
            .get(&format!("/api/v1/cases/{case_id}/history"), Some(&office))
            .await
            .json()
            .unwrap();
        let records = history["records"].as_array().unwrap();
        assert_eq!(records.len(), per_case);
        let findings: BTreeSet<&str> = records
            .iter()
            .filter_map(|record| record["act"]["findings"].as_str())
            .collect();
        assert_eq!(
            findings.len(),
            per_case - 3,
            "an inspection is missing or repeated"
        );
        for (index, record) in records.iter().enumerate() {
            assert_eq!(record["stream_version"], index as u64 + 1);
        }
    }
    let head = server.head();
    assert_eq!(head as usize, CASES * 3 + CLIENTS * ACTS_PER_CLIENT);
    let report = server
        .get("/api/v1/audit/verify", Some(&office))
        .await
        .json()
        .unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], head);

    // The projections the writer kept equal a rebuild from the log.
    let incremental = dump(&server);
    server
        .state
        .projections()
        .rebuild(server.state.ledger(), &[], &mut |_| {})
        .unwrap();
    let rebuilt = dump(&server);
    assert_eq!(
        incremental.keys().collect::<Vec<_>>(),
        rebuilt.keys().collect::<Vec<_>>()
    );
    for (name, pairs) in &incremental {
        assert!(
            &rebuilt[name] == pairs,
            "projection {name} differs from its rebuild"
        );
    }
    server.stop().await;
}
