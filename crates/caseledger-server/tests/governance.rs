//! Governance acts over real HTTP: recorded by the roles the domain allows, refused with the
//! domain's code otherwise, and a refusal appends nothing.

mod common;

use common::TestServer;
use serde_json::json;

const COMPOUND: &str = "compound/dongping/lanting-11";

/// A refused governance act: its status and domain code, and the log's head did not move.
async fn refused(
    server: &TestServer,
    token: &str,
    body: serde_json::Value,
    status: u16,
    code: &str,
) {
    let before = server.head();
    let response = server.post("/api/v1/governance/acts", token, body).await;
    assert_eq!(response.status, status, "{}", response.text());
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
    assert_eq!(server.head(), before, "a refused act appended");
}

#[tokio::test]
async fn governance_acts_follow_the_domain_rules() {
    let server = TestServer::start().await;
    let office = server.token("office", "office");
    let township = server.token("township", "township/dongping");
    let other_township = server.token("township", "township/meicheng");
    let housing = server.token("department", "housing");
    let firm = server.token("firm", "firm/91430923MA4L123461");

    // An owners' committee is elected only after the assembly is formed.
    let elect = json!({
        "act": "ElectOwnersCommittee", "compound": COMPOUND, "elected_on": "2026-03-01",
        "members": 7, "term_starts_on": "2026-03-01", "term_ends_on": "2031-02-28",
    });
    refused(&server, &township, elect.clone(), 409, "wrong-state").await;

    let assembly =
        json!({"act": "FormOwnersAssembly", "compound": COMPOUND, "formed_on": "2026-02-01"});
    // Housing does not form owners' assemblies; another township has no say here.
    refused(&server, &housing, assembly.clone(), 403, "wrong-role").await;
    refused(
        &server,
        &other_township,
        assembly.clone(),
        403,
        "wrong-jurisdiction",
    )
    .await;
    // Unknown fields and acts are refused before the domain sees them.
    refused(
        &server,
        &township,
        json!({"act": "FormOwnersAssembly", "compound": COMPOUND, "formed_on": "2026-02-01", "extra": 1}),
        422,
        "unprocessable-body",
    )
    .await;
    refused(
        &server,
        &township,
        json!({"act": "Dance"}),
        422,
        "unprocessable-body",
    )
    .await;

    let before = server.head();
    let formed = server
        .post("/api/v1/governance/acts", &township, assembly.clone())
        .await;
    assert_eq!(formed.status, 201, "{}", formed.text());
    let formed = formed.json().unwrap();
    assert_eq!(formed["stream"], COMPOUND);
    assert_eq!(formed["acts"][0]["act"], "OwnersAssemblyFormed");
    assert_eq!(server.head(), before + 1);
    // Twice is refused with the domain's code.
    refused(&server, &township, assembly, 409, "already-exists").await;
    // Now the election is allowed, by the act's kind name as well as the command's.
    let mut elected = elect.clone();
    elected["act"] = json!("OwnersCommitteeElected");
    let response = server
        .post("/api/v1/governance/acts", &township, elected)
        .await;
    assert_eq!(response.status, 201, "{}", response.text());

    // A joint meeting is the Office's.
    let meeting_id = "0192f0c4-1111-7000-8000-000000000001";
    let meeting = json!({
        "act": "ConveneJointMeeting", "meeting_id": meeting_id, "kind": "half-yearly",
        "held_on": "2026-05-28", "attendees": ["office", "housing"],
        "agenda": ["上半年物业投诉办理情况"], "decisions": [],
    });
    refused(&server, &township, meeting.clone(), 403, "wrong-role").await;
    let response = server
        .post("/api/v1/governance/acts", &office, meeting)
        .await;
    assert_eq!(response.status, 201, "{}", response.text());

    // Reads: the compound's state and records, in the township's area only.
    let path = format!("/api/v1/governance/compounds/{COMPOUND}");
    let read = server.get(&path, Some(&township)).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.header("etag"), Some("\"2\""));
    let body = read.json().unwrap();
    assert_eq!(body["state"]["assembly_formed"], true);
    assert_eq!(body["state"]["committee"]["members"], 7);
    assert_eq!(body["records"].as_array().unwrap().len(), 2);
    assert_eq!(body["records"][1]["act"]["act"], "OwnersCommitteeElected");
    let short = server
        .get(
            "/api/v1/governance/compounds/dongping/lanting-11",
            Some(&office),
        )
        .await;
    assert_eq!(short.status, 200);
    assert_eq!(short.json().unwrap()["version"], 2);
    assert_eq!(server.get(&path, Some(&other_township)).await.status, 404);
    assert_eq!(server.get(&path, Some(&firm)).await.status, 403);
    assert_eq!(server.get(&path, None).await.status, 401);

    let record = server
        .get(
            &format!("/api/v1/governance/records/{meeting_id}"),
            Some(&housing),
        )
        .await;
    assert_eq!(record.status, 200, "{}", record.text());
    let record = record.json().unwrap();
    assert_eq!(record["stream"], format!("governance/{meeting_id}"));
    assert_eq!(record["records"][0]["act"]["act"], "JointMeetingConvened");
    let missing = server
        .get(
            "/api/v1/governance/records/0192f0c4-1111-7000-8000-000000000002",
            Some(&office),
        )
        .await;
    assert_eq!(missing.status, 404);

    // Everything recorded verifies.
    let verify = server.get("/api/v1/audit/verify", Some(&office)).await;
    assert_eq!(verify.json().unwrap()["ok"], true);
}

#[tokio::test]
async fn a_repeated_governance_act_appends_once() {
    let server = TestServer::start().await;
    let township = server.token("township", "township/dongping");
    let body =
        json!({"act": "FormOwnersAssembly", "compound": COMPOUND, "formed_on": "2026-02-01"});
    let key = [("idempotency-key", "assembly-1")];
    let first = server
        .send(
            "POST",
            "/api/v1/governance/acts",
            Some(&township),
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let head = server.head();
    let again = server
        .send(
            "POST",
            "/api/v1/governance/acts",
            Some(&township),
            &key,
            Some(&body),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json().unwrap()["duplicate"], true);
    assert_eq!(server.head(), head);
    // A stale If-Match is refused.
    let stale = server
        .send(
            "POST",
            "/api/v1/governance/acts",
            Some(&township),
            &[("if-match", "\"0\"")],
            Some(&json!({
                "act": "NamePropertyLiaison", "compound": COMPOUND, "name": "王五",
                "contact": "社区办公室", "published_on": "2026-02-02",
            })),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text());
    assert_eq!(server.head(), head);
}
