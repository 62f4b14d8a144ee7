//! A firm's credit file over real HTTP: registered and contracted by housing, assessed by the
//! community that hosts its compound, aggregated by the township, graded by housing; read back
//! with its score, grade, trace and lists; published without any personal data.

mod common;

use chrono::Datelike as _;
use common::TestServer;
use serde_json::json;

const FIRM: &str = "91430923MA4L123461";
const OTHER_FIRM: &str = "91430923MA4L91531J";
const NAME: &str = "王五";
const PHONE: &str = "13700000000";

/// The quarter before the current one (`YYYY-Qn`): assessments may not be for the future.
fn last_quarter() -> String {
    let earlier = chrono::Utc::now() - chrono::Duration::days(100);
    format!("{}-Q{}", earlier.year(), earlier.month0() / 3 + 1)
}

#[tokio::test]
async fn a_firm_is_registered_assessed_graded_and_published() {
    let server = TestServer::start().await;
    let housing = server.token("department", "housing");
    let community = server.token("community", "community/dongping/heping");
    let township = server.token("township", "township/dongping");
    let intake = server.token("intake", "12345");
    let own = server.token("firm", &format!("firm/{FIRM}"));
    let other = server.token("firm", &format!("firm/{OTHER_FIRM}"));
    let quarter = last_quarter();
    let acts = format!("/api/v1/firms/{FIRM}/acts");

    let registered = server
        .post(
            "/api/v1/firms",
            &housing,
            json!({"firm": FIRM, "name": "（样例）安化县资江物业服务有限公司"}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    assert_eq!(registered.json().unwrap()["stream_version"], 1);

    let items: Vec<serde_json::Value> = ["保洁", "秩序维护", "绿化养护", "设施设备维护"]
        .iter()
        .map(|item| json!({"item": item, "score": 96}))
        .collect();
    let steps: Vec<(&str, serde_json::Value)> = vec![
        (
            &housing,
            json!({"act": "FileContract", "compound": "compound/dongping/lanting-11",
                   "contract_no": "安物备〔2024〕001号", "starts_on": "2020-01-01", "ends_on": "2099-12-31"}),
        ),
        (
            &community,
            json!({"act": "SubmitAssessment", "quarter": quarter, "items": items}),
        ),
        (
            &township,
            json!({"act": "AggregateAssessments", "quarter": quarter}),
        ),
        (
            &housing,
            json!({"act": "PublishGrade", "quarter": quarter, "grade": "A"}),
        ),
    ];
    let mut version = 1;
    for (token, body) in steps {
        let next = server.act_at(&acts, token, version, &body).await;
        assert_eq!(next, version + 1);
        version = next;
    }

    // Refused, appending nothing: a second grade for the quarter; a community
    // grading; the black list for a grade-A firm with no violation; an invalid code.
    // Domain rejections keep their domain code.
    let refusals: Vec<(&str, String, serde_json::Value, (u16, &str))> = vec![
        (
            &housing,
            acts.clone(),
            json!({"act": "PublishGrade", "quarter": quarter, "grade": "D"}),
            (409, "grade-already-published"),
        ),
        (
            &housing,
            acts.clone(),
            json!({"act": "ListBlack", "reason": "无"}),
            (422, "not-eligible"),
        ),
        (
            &community,
            acts.clone(),
            json!({"act": "CommendFirm", "reason": "好"}),
            (403, "wrong-role"),
        ),
        (
            &housing,
            "/api/v1/firms/91430923MA4L12346X/acts".to_owned(),
            json!({"act": "CommendFirm", "reason": "好"}),
            (422, "unprocessable-body"),
        ),
    ];
    for (token, path, body, (status, code)) in refusals {
        let before = server.head();
        let response = server.post(&path, token, body.clone()).await;
        assert_eq!(response.status, status, "{body}: {}", response.text());
        assert_eq!(response.json().unwrap()["code"], code, "{body}");
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(server.head(), before, "{body} appended");
    }

    // A case about the firm, with a complainant the firm must never see.
    server
        .file_case(
            &intake,
            json!({"firm": FIRM, "complainant": {"name": NAME, "phone": PHONE}}),
        )
        .await;

    let file = server
        .get(&format!("/api/v1/firms/{FIRM}"), Some(&housing))
        .await;
    assert_eq!(file.status, 200, "{}", file.text());
    let file = file.json().unwrap();
    assert_eq!(file["as_of"], server.head(), "{file}");
    assert_eq!(file["version"], 5, "{file}");
    assert_eq!(file["file"]["latest"]["grade"], "A", "{file}");
    assert_eq!(file["file"]["latest"]["quarter"], quarter);
    assert!(
        file["file"]["latest"]["score_hundredths"].as_i64().unwrap() >= 9000,
        "{file}"
    );
    assert_eq!(
        file["file"]["compounds"],
        json!(["compound/dongping/lanting-11"])
    );
    assert_eq!(file["file"]["cases"], 1, "{file}");
    assert_eq!(file["file"]["black_list"], false);
    let credit = &file["credit"][0];
    assert_eq!(credit["aggregated"], true, "{credit}");
    assert_eq!(credit["grade"]["grade"], "A", "{credit}");
    assert!(
        !credit["trace"].as_array().unwrap().is_empty(),
        "every point is traced: {credit}"
    );

    let history = server
        .get(&format!("/api/v1/firms/{FIRM}/history"), Some(&housing))
        .await;
    assert_eq!(history.status, 200, "{}", history.text());
    let history = history.json().unwrap();
    let kinds: Vec<&str> = history["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "FirmRegistered",
            "ContractFiled",
            "QuarterlyAssessmentSubmitted",
            "AssessmentsAggregated",
            "GradePublished"
        ]
    );

    // The firm reads its own file, not another's; neither it nor the public sees the
    // complainant.
    let mine = server
        .get(&format!("/api/v1/firms/{FIRM}"), Some(&own))
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text());
    let theirs = server
        .get(&format!("/api/v1/firms/{FIRM}"), Some(&other))
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text());
    let credit = server.get("/api/v1/public/credit", None).await;
    assert_eq!(credit.status, 200);
    let published = credit.json().unwrap();
    assert_eq!(published["as_of"], server.head());
    let entry = published["firms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|firm| firm["uscc"] == FIRM)
        .unwrap_or_else(|| panic!("{FIRM} unpublished: {published}"));
    assert_eq!(
        (entry["quarter"].as_str(), entry["grade"].as_str()),
        (Some(quarter.as_str()), Some("A")),
        "{entry}"
    );
    let lists = server.get("/api/v1/public/lists", None).await;
    assert_eq!(lists.status, 200);
    for text in [mine.text(), credit.text(), lists.text()] {
        assert!(!text.contains(NAME) && !text.contains(PHONE), "{text}");
    }
    server.stop().await;
}
