//! A merge (并单) must name a case that exists in the caller's jurisdiction and is still being
//! handled; every other target is refused with the field `into` named, and nothing is
//! appended. Over real HTTP on 127.0.0.1.

mod common;

use caseledger_server::client::HttpResponse;
use common::TestServer;
use serde_json::json;

/// Posts an act on `case`.
async fn act(
    server: &TestServer,
    token: &str,
    case: &str,
    body: serde_json::Value,
) -> HttpResponse {
    server
        .post(&format!("/api/v1/cases/{case}/acts"), token, body)
        .await
}

/// Posts a merge of `case` into `into`.
async fn merge(server: &TestServer, token: &str, case: &str, into: &str) -> HttpResponse {
    let body = json!({"act": "MergeCase", "into": into, "reason": "重复投诉"});
    act(server, token, case, body).await
}

/// Posts a merge of `case` into `into` and checks the refusal: status, problem code, the
/// field `into`, and that the log's head did not move.
async fn refused(
    server: &TestServer,
    token: &str,
    case: &str,
    into: &str,
    (status, code): (u16, &str),
) -> serde_json::Value {
    let before = server.head();
    let response = merge(server, token, case, into).await;
    assert_eq!(response.status, status, "{}", response.text());
    let problem = response.json().unwrap();
    assert_eq!(
        problem["type"],
        format!("https://caseledger.example/problems/{code}"),
        "{problem}"
    );
    assert_eq!(problem["field"], "into", "{problem}");
    assert_eq!(server.head(), before, "a refused merge appended");
    problem
}

async fn state_of(server: &TestServer, token: &str, case: &str) -> serde_json::Value {
    let response = server
        .get(&format!("/api/v1/cases/{case}"), Some(token))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json().unwrap()["case"]["status"].clone()
}

#[tokio::test]
async fn a_merge_needs_an_open_target_in_the_callers_jurisdiction() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let dongping = server.token("township", "township/dongping");

    let repeat = server.file_case(&intake, json!({})).await;
    let original = server.file_case(&intake, json!({})).await;
    let withdrawn = server.file_case(&intake, json!({})).await;
    let elsewhere = server
        .file_case(
            &intake,
            json!({"compound": "compound/qingtangpu/lanting-11"}),
        )
        .await;
    // The repeat complaint sits with Dongping's township, which may merge it.
    let dispatch = json!({"act": "DispatchCase", "to": "township/dongping"});
    let dispatched = act(&server, &housing, &repeat, dispatch).await;
    assert_eq!(dispatched.status, 201, "{}", dispatched.text());
    let withdraw = json!({"act": "WithdrawCase", "reason": "投诉人撤回"});
    let withdraw = act(&server, &intake, &withdrawn, withdraw).await;
    assert_eq!(withdraw.status, 201, "{}", withdraw.text());

    // A case id nobody filed.
    let unknown = "0192f0c4-1111-7000-8000-000000000001";
    let problem = refused(&server, &housing, &repeat, unknown, (422, "invalid-field")).await;
    assert!(
        problem["detail"].as_str().unwrap().contains(unknown),
        "{problem}"
    );
    // A case the township cannot see: filed in another township's compound.
    refused(
        &server,
        &dongping,
        &repeat,
        &elsewhere,
        (422, "invalid-field"),
    )
    .await;
    // A case that is no longer handled.
    let problem = refused(&server, &housing, &repeat, &withdrawn, (409, "wrong-state")).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("withdrawn"),
        "{problem}"
    );
    // The domain still names its own errors: the case itself, the nil id.
    let response = merge(&server, &dongping, &repeat, &repeat).await;
    assert_eq!(response.status, 422, "{}", response.text());
    assert_eq!(
        response.json().unwrap()["type"],
        "https://caseledger.example/problems/merge-into-self"
    );
    let nil = "00000000-0000-0000-0000-000000000000";
    let problem = refused(&server, &housing, &repeat, nil, (422, "invalid-field")).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("nil UUID"),
        "{problem}"
    );

    // An open case in the township's own area takes the merge.
    let merged = merge(&server, &dongping, &repeat, &original).await;
    assert_eq!(merged.status, 201, "{}", merged.text());
    let status = state_of(&server, &housing, &repeat).await;
    assert_eq!(status["state"], "Merged", "{status}");
    assert_eq!(status["merged_into"], original.as_str(), "{status}");

    // A merged case takes no merge itself: a later repeat joins the open original.
    let later = server.file_case(&intake, json!({})).await;
    refused(&server, &housing, &later, &repeat, (409, "wrong-state")).await;
    let joined = merge(&server, &housing, &later, &original).await;
    assert_eq!(joined.status, 201, "{}", joined.text());
    // The original lists both, in the order they were merged.
    let status = state_of(&server, &housing, &original).await;
    assert_eq!(status["merged_from"], json!([repeat, later]), "{status}");
}

/// A merge and the withdrawal of its target sent at the same moment from two worker threads,
/// many times over:
/// whichever the ledger records first, a merge is never recorded after its target was
/// withdrawn (the target's check and the merge's append are one step for other writers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_racing_its_targets_withdrawal_never_lands_on_a_withdrawn_case() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let mut outcomes = (0, 0);
    for round in 0..40 {
        let repeat = server.file_case(&intake, json!({})).await;
        let target = server.file_case(&intake, json!({})).await;
        let withdraw_body = json!({"act": "WithdrawCase", "reason": "投诉人撤回"});
        // Either request starts first, in turn.
        let (merged, withdrawn) = if round % 2 == 0 {
            tokio::join!(
                merge(&server, &housing, &repeat, &target),
                act(&server, &intake, &target, withdraw_body),
            )
        } else {
            let (withdrawn, merged) = tokio::join!(
                act(&server, &intake, &target, withdraw_body),
                merge(&server, &housing, &repeat, &target),
            );
            (merged, withdrawn)
        };
        assert_eq!(withdrawn.status, 201, "{}", withdrawn.text());
        let withdrawn_at = withdrawn.json().unwrap()["position"].as_u64().unwrap();
        match merged.status {
            201 => {
                let merged_at = merged.json().unwrap()["position"].as_u64().unwrap();
                assert!(
                    merged_at < withdrawn_at,
                    "merged at {merged_at} into a case withdrawn at {withdrawn_at}"
                );
                outcomes.0 += 1;
            }
            409 => outcomes.1 += 1,
            other => panic!("merge answered {other}: {}", merged.text()),
        }
    }
    eprintln!(
        "merged first {} times, refused {} times",
        outcomes.0, outcomes.1
    );
    // Both orders happened (about half each on two worker threads), so the race was run
    // and not settled the same way every round.
    assert!(
        outcomes.0 > 0 && outcomes.1 > 0,
        "one order only: merged first {} times, refused {} times",
        outcomes.0,
        outcomes.1
    );
}
