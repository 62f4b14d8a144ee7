//! Erasing a complainant's personal data over real HTTP.

mod common;

use common::TestServer;
use serde_json::json;

const COMPOUND: &str = "compound/dongping/lanting-11";

/// Erasure (the Office's act) destroys the complainant's key: the court then reads
/// `{"erased": true}` where it read the name, and the chain still verifies.
#[tokio::test]
async fn erasing_personal_data_destroys_the_key() {
    let server = TestServer::start().await;
    let intake = server.token("intake", "12345");
    let office = server.token("office", "office");
    let court = server.token("court", "court");
    let filed = server
        .post(
            "/api/v1/cases",
            &intake,
            json!({
                "channel": "hotline12345", "compound": COMPOUND,
                "category": "illegal-construction", "severity": "general",
                "summary": "楼道堆放杂物",
                "complainant": {"name": "李四", "phone": "13900000000"},
            }),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text());
    let case_id = filed.json().unwrap()["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let history = format!("/api/v1/cases/{case_id}/history");
    let before = server.get(&history, Some(&court)).await.json().unwrap();
    assert_eq!(before["records"][0]["act"]["complainant"]["name"], "李四");

    let erased = server
        .post(
            &format!("/api/v1/cases/{case_id}/acts"),
            &office,
            json!({"act": "ErasePersonalData", "legal_basis": "个人信息保护法第四十七条"}),
        )
        .await;
    assert_eq!(erased.status, 201, "{}", erased.text());
    let after = server.get(&history, Some(&court)).await;
    let after_text = after.text();
    assert!(!after_text.contains("李四") && !after_text.contains("13900000000"));
    assert_eq!(
        after.json().unwrap()["records"][0]["act"]["complainant"],
        json!({"erased": true})
    );
    let verify = server.get("/api/v1/audit/verify", Some(&office)).await;
    assert_eq!(verify.json().unwrap()["ok"], true);
}
