//! A whole case, each step by the role the plan gives it, over real HTTP on 127.0.0.1.

mod common;

use common::TestServer;
use serde_json::json;

pub const FIRM: &str = "91430923MA4L123461";
const COMPOUND: &str = "compound/dongping/lanting-11";
const NAME: &str = "张三丰";
const PHONE: &str = "13812345678";

#[tokio::test]
async fn complaint_from_12345_to_closure_then_the_court_reads_it() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let township = server.token("township", "township/dongping");
    let urban = server.token("department", "urban-management");
    let court = server.token("court", "court");
    let firm = server.token("firm", &format!("firm/{FIRM}"));

    // 受理: the 12345 hotline files the complaint.
    let filed = server
        .post(
            "/api/v1/cases",
            &intake,
            json!({
                "channel": "hotline12345",
                "compound": COMPOUND,
                "category": "illegal-construction",
                "severity": "general",
                "firm": FIRM,
                "summary": "小区绿地被占用搭建车棚",
                "complainant": {"name": NAME, "phone": PHONE},
            }),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text());
    let filed = filed.json().unwrap();
    let case_id = filed["case_id"].as_str().unwrap().to_owned();
    assert_eq!(filed["position"], 1);
    assert_eq!(filed["hash"].as_str().unwrap().len(), 64);
    let acts = format!("/api/v1/cases/{case_id}/acts");

    let steps: Vec<(&str, serde_json::Value)> = vec![
        // 派单: housing dispatches to the compound's township.
        (
            &housing,
            json!({"act": "CaseDispatched", "to": "township/dongping", "note": "请核实"}),
        ),
        // 签收.
        (&township, json!({"act": "CaseAccepted"})),
        // 移送: the township transfers to urban management (illegal construction).
        (
            &township,
            json!({"act": "CaseTransferred", "to": "urban-management", "reason": "违章搭建属城管执法"}),
        ),
        (&urban, json!({"act": "AcceptCase"})),
        (
            &urban,
            json!({"act": "InspectionRecorded", "findings": "绿地上搭建车棚约 40 平方米", "substantiated": true}),
        ),
        (
            &urban,
            json!({"act": "PenaltyImposed", "party": {"firm": FIRM}, "legal_basis": "《城乡规划法》第六十四条", "decision_no": "安城罚〔2026〕12号", "fine_fen": 500000}),
        ),
        (
            &urban,
            json!({"act": "CaseResolved", "summary": "责令拆除并罚款", "finding": "substantiated"}),
        ),
        // 回访: satisfied, which closes the case.
        (
            &intake,
            json!({"act": "FeedbackRecorded", "rating": "satisfied", "resolved": true, "note": "已拆除"}),
        ),
    ];
    let mut version = 1;
    for (token, body) in steps {
        let etag = format!("\"{version}\"");
        let response = server
            .send(
                "POST",
                &acts,
                Some(token),
                &[("if-match", &etag)],
                Some(&body),
            )
            .await;
        assert_eq!(response.status, 201, "{body}: {}", response.text());
        let outcome = response.json().unwrap();
        version = outcome["stream_version"].as_u64().unwrap();
        assert_eq!(
            response.header("etag"),
            Some(format!("\"{version}\"").as_str())
        );
    }
    // Feedback gave two acts: FeedbackRecorded and CaseClosed.
    assert_eq!(version, 10);

    let case = server
        .get(&format!("/api/v1/cases/{case_id}"), Some(&housing))
        .await;
    assert_eq!(case.status, 200, "{}", case.text());
    let case = case.json().unwrap();
    assert_eq!(case["case"]["status"]["state"], "Closed", "{case}");
    assert_eq!(case["as_of"], 10);
    assert_eq!(case["version"], 10);

    // The court reads the whole history, with the complainant's data.
    let history = server
        .get(&format!("/api/v1/cases/{case_id}/history"), Some(&court))
        .await;
    assert_eq!(history.status, 200);
    let history = history.json().unwrap();
    let records = history["records"].as_array().unwrap();
    assert_eq!(records.len(), 10);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ComplaintFiled",
            "CaseDispatched",
            "CaseAccepted",
            "CaseTransferred",
            "CaseAccepted",
            "InspectionRecorded",
            "PenaltyImposed",
            "CaseResolved",
            "FeedbackRecorded",
            "CaseClosed"
        ]
    );
    for record in records {
        // Every record with its place in the chain, its time and who did it.
        assert_eq!(record["hash"].as_str().map(str::len), Some(64), "{record}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(record["recorded_at"].as_str().unwrap()).is_ok(),
            "{record}"
        );
        assert!(record["actor"]["role"].is_string(), "{record}");
        assert_eq!(record["act"]["act"], record["kind"], "{record}");
    }
    for pair in records.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(
            pair[1]["position"].as_u64().unwrap(),
            pair[0]["position"].as_u64().unwrap() + 1
        );
    }
    assert_eq!(records[0]["act"]["complainant"]["name"], NAME);
    assert_eq!(records[0]["act"]["complainant"]["phone"], PHONE);
    assert_eq!(records[1]["actor"]["unit"], "housing");
    assert_eq!(records[6]["act"]["fine_fen"], 500000);

    // The township handled it: it reads the history, but the complainant stays sealed.
    let sealed = server
        .get(&format!("/api/v1/cases/{case_id}/history"), Some(&township))
        .await;
    assert_eq!(sealed.status, 200);
    assert_eq!(
        sealed.json().unwrap()["records"][0]["act"]["complainant"],
        json!({"sealed": true})
    );
    // The firm sees the cases about it, never the complainant.
    for path in [
        format!("/api/v1/cases/{case_id}/history"),
        format!("/api/v1/cases/{case_id}"),
        "/api/v1/cases".to_owned(),
    ] {
        let response = server.get(&path, Some(&firm)).await;
        assert_eq!(response.status, 200, "{path}");
        let text = response.text();
        assert!(text.contains(&case_id), "{path}: {text}");
        assert!(
            !text.contains(NAME) && !text.contains(PHONE),
            "{path} leaks personal data"
        );
    }
    for path in ["/api/v1/public/credit", "/api/v1/public/lists"] {
        let response = server.get(path, None).await;
        assert_eq!(response.status, 200, "{path}");
        let text = response.text();
        assert!(
            !text.contains(NAME) && !text.contains(PHONE),
            "{path} leaks personal data"
        );
    }
    // The raw records hold only ciphertext.
    let raw = server
        .get("/api/v1/audit/records?from=1&limit=100", Some(&court))
        .await
        .text();
    assert!(!raw.contains(NAME) && !raw.contains(PHONE));

    let report = server
        .get("/api/v1/audit/verify", Some(&court))
        .await
        .json()
        .unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], 10);

    // Reports see it.
    let workload = server
        .get("/api/v1/workload/urban-management", Some(&urban))
        .await;
    assert_eq!(workload.status, 200, "{}", workload.text());
    let measures = server
        .get("/api/v1/measures?group_by=township", Some(&housing))
        .await;
    assert_eq!(measures.status, 200, "{}", measures.text());
    let listed = server
        .get(
            "/api/v1/cases?township=township/dongping&state=closed",
            Some(&housing),
        )
        .await
        .json()
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    server.stop().await;
}
