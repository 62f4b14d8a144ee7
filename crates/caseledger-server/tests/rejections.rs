//! Every rejection class answers its status as a problem, and appends nothing.

mod common;

use common::TestServer;
use serde_json::json;

const FIRM: &str = "91430923MA4L123461";

fn complaint() -> serde_json::Value {
    json!({
        "channel": "hotline12345",
        "compound": "compound/dongping/lanting-11",
        "category": "illegal-construction",
        "severity": "general",
        "firm": FIRM,
        "summary": "楼道堆放杂物",
        "complainant": {"name": "李四", "phone": "13900000000"},
    })
}

/// Checks a refused request: its status, its problem code and field, and that the log's head
/// did not move.
async fn check(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
    (status, code, field): (u16, &str, Option<&str>),
) {
    let before = server.head();
    let response = server.send(method, path, token, headers, body).await;
    assert_eq!(
        response.status,
        status,
        "{method} {path}: {}",
        response.text()
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let problem = response.json().unwrap();
    assert_eq!(
        problem["type"],
        format!("https://caseledger.example/problems/{code}"),
        "{problem}"
    );
    assert_eq!(problem["field"].as_str(), field, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains(" / "));
    assert!(problem["request_id"].is_string());
    assert_eq!(server.head(), before, "{method} {path} appended");
}

#[tokio::test]
async fn every_rejection_class_changes_nothing() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let other_township = server.token("township", "township/qingtangpu");
    let dongping = server.token("township", "township/dongping");
    let community = server.token("community", "community/dongping/heping");

    let filed = server.post("/api/v1/cases", &intake, complaint()).await;
    assert_eq!(filed.status, 201, "{}", filed.text());
    let case_id = filed.json().unwrap()["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acts = format!("/api/v1/cases/{case_id}/acts");
    let dispatch = json!({"act": "DispatchCase", "to": "township/dongping"});

    // The fields of a complaint in order, as an array (serde would fill the struct from it),
    // and an issue of a token the same way: refused as a body that is not an object.
    let array = json!([
        null,
        "walk-in",
        "compound/dongping/lanting-11",
        "illegal-construction",
        "general",
        null,
        "as an array",
        {}
    ]);
    check(
        &server,
        "POST",
        "/api/v1/cases",
        Some(&intake),
        &[],
        Some(&array),
        (422, "unprocessable-body", None),
    )
    .await;
    // JSON, of the wrong type for an enum: a 422 naming the field, not "not valid JSON".
    let mut wrong_type = complaint();
    wrong_type["channel"] = json!(5);
    check(
        &server,
        "POST",
        "/api/v1/cases",
        Some(&intake),
        &[],
        Some(&wrong_type),
        (422, "unprocessable-body", Some("channel")),
    )
    .await;
    let office = server.token("office", "office");
    // A path segment that is not UTF-8: axum's own refusal, as a problem like the rest.
    check(
        &server,
        "GET",
        "/api/v1/cases/%ff",
        Some(&office),
        &[],
        None,
        (400, "bad-request", None),
    )
    .await;
    check(
        &server,
        "POST",
        "/api/v1/admin/tokens",
        Some(&office),
        &[],
        Some(&json!(["office", "office", null])),
        (422, "unprocessable-body", None),
    )
    .await;

    // No token, a bad token.
    check(
        &server,
        "POST",
        &acts,
        None,
        &[],
        Some(&dispatch),
        (401, "unauthenticated", None),
    )
    .await;
    check(
        &server,
        "POST",
        &acts,
        Some("clt1.0123456789abcdef.00"),
        &[],
        Some(&dispatch),
        (401, "unauthenticated", None),
    )
    .await;
    check(
        &server,
        "GET",
        "/api/v1/cases",
        None,
        &[],
        None,
        (401, "unauthenticated", None),
    )
    .await;
    // Wrong role: a community may not dispatch at county level.
    check(
        &server,
        "POST",
        &acts,
        Some(&community),
        &[],
        Some(&dispatch),
        (403, "wrong-role", None),
    )
    .await;
    // Another township's case: it does not exist for them.
    check(
        &server,
        "POST",
        &acts,
        Some(&other_township),
        &[],
        Some(&dispatch),
        (404, "case-not-found", None),
    )
    .await;
    check(
        &server,
        "GET",
        &format!("/api/v1/cases/{case_id}"),
        Some(&other_township),
        &[],
        None,
        (404, "case-not-found", None),
    )
    .await;
    check(
        &server,
        "GET",
        &format!("/api/v1/cases/{case_id}/history"),
        Some(&other_township),
        &[],
        None,
        (404, "case-not-found", None),
    )
    .await;
    // Illegal transition: accepting a case nobody dispatched.
    check(
        &server,
        "POST",
        &acts,
        Some(&dongping),
        &[],
        Some(&json!({"act": "AcceptCase"})),
        (409, "wrong-state", None),
    )
    .await;
    // Stale If-Match.
    check(
        &server,
        "POST",
        &acts,
        Some(&housing),
        &[("if-match", "\"0\"")],
        Some(&dispatch),
        (409, "version-conflict", Some("If-Match")),
    )
    .await;
    // Unknown act and unknown field.
    check(
        &server,
        "POST",
        &acts,
        Some(&housing),
        &[],
        Some(&json!({"act": "CaseTeleported"})),
        (422, "unprocessable-body", Some("act")),
    )
    .await;
    check(
        &server,
        "POST",
        &acts,
        Some(&housing),
        &[],
        Some(&json!({"act": "DispatchCase", "to": "township/dongping", "priority": 1})),
        (422, "unprocessable-body", Some("priority")),
    )
    .await;
    let mut unknown = complaint();
    unknown["complainant"]["email"] = json!("x@example.org");
    check(
        &server,
        "POST",
        "/api/v1/cases",
        Some(&intake),
        &[],
        Some(&unknown),
        (422, "unprocessable-body", Some("complainant.email")),
    )
    .await;
    // Invalid credit codes, in a body and in a path.
    check(
        &server,
        "POST",
        "/api/v1/firms",
        Some(&housing),
        &[],
        Some(&json!({"firm": "91430923MA4L123460", "name": "x"})),
        (422, "unprocessable-body", Some("firm")),
    )
    .await;
    check(
        &server,
        "GET",
        "/api/v1/firms/12345",
        Some(&housing),
        &[],
        None,
        (422, "unprocessable-body", Some("uscc")),
    )
    .await;
    // Said once in each language, not twice.
    let detail = server
        .get("/api/v1/firms/12345", Some(&housing))
        .await
        .json()
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        detail.matches("统一社会信用代码无效").count(),
        1,
        "{detail}"
    );
    assert_eq!(
        detail.matches("invalid unified social credit code").count(),
        1,
        "{detail}"
    );
    let mut bad_firm = complaint();
    bad_firm["firm"] = json!("not-a-code");
    check(
        &server,
        "POST",
        "/api/v1/cases",
        Some(&intake),
        &[],
        Some(&bad_firm),
        (422, "unprocessable-body", Some("firm")),
    )
    .await;

    // Malformed JSON, an oversized body, a body that is not JSON at all.
    let token = format!("Bearer {housing}");
    let raw = |body: Vec<u8>, content_type: &'static str| {
        let token = token.clone();
        let acts = acts.clone();
        let server = &server;
        async move {
            let before = server.head();
            let response = server
                .client()
                .await
                .request(
                    "POST",
                    &acts,
                    &[("authorization", &token), ("content-type", content_type)],
                    Some(&body),
                )
                .await
                .unwrap();
            assert_eq!(server.head(), before);
            response
        }
    };
    let response = raw(b"{\"act\": \"DispatchCase\",".to_vec(), "application/json").await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(response.json().unwrap()["code"], "bad-request");
    let mut huge =
        b"{\"act\": \"DispatchCase\", \"to\": \"township/dongping\", \"note\": \"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 70 * 1024));
    huge.extend(b"\"}");
    let response = raw(huge, "application/json").await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(response.json().unwrap()["code"], "payload-too-large");
    let response = raw(
        b"act=DispatchCase".to_vec(),
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(response.status, 415);

    // After all that, the case is still at version 1 and the chain verifies.
    assert_eq!(server.head(), 1);
    let office = server.token("office", "office");
    let report = server
        .get("/api/v1/audit/verify", Some(&office))
        .await
        .json()
        .unwrap();
    assert_eq!(report["ok"], true);
    server.stop().await;
}

#[tokio::test]
async fn idempotency_key_answers_the_first_result() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let headers = [("idempotency-key", "call-2026-11-26-0001")];
    let first = server
        .send(
            "POST",
            "/api/v1/cases",
            Some(&intake),
            &headers,
            Some(&complaint()),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = server
        .send(
            "POST",
            "/api/v1/cases",
            Some(&intake),
            &headers,
            Some(&complaint()),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    let (first, again) = (first.json().unwrap(), again.json().unwrap());
    assert_eq!(first["case_id"], again["case_id"]);
    assert_eq!(first["position"], again["position"]);
    assert_eq!(first["hash"], again["hash"]);
    assert_eq!(again["duplicate"], true);
    assert_eq!(server.head(), 1);
    server.stop().await;
}
