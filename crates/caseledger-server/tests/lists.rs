//! The case list's filters, cursor and page cap, and the reports, over real HTTP.

mod common;

use std::collections::BTreeSet;

use caseledger_server::config::Limits;
use common::TestServer;
use serde_json::json;

const FIRM: &str = "91430923MA4L123461";
const PAGE_ITEMS_MAX: usize = 3;

/// Four cases in two townships, two categories, with and without the firm; the first one
/// dispatched to its township. Returns their ids in filing order.
async fn four_cases(server: &TestServer) -> Vec<String> {
    let intake = server.token("intake", "12345");
    let housing = server.token("department", "housing");
    let mut ids = Vec::new();
    for (compound, category, firm) in [
        (
            "compound/dongping/lanting-11",
            "illegal-construction",
            Some(FIRM),
        ),
        ("compound/dongping/lanting-11", "service-quality", None),
        (
            "compound/qingtangpu/lanting-11",
            "service-quality",
            Some(FIRM),
        ),
        (
            "compound/qingtangpu/lanting-11",
            "illegal-construction",
            None,
        ),
    ] {
        let mut extra = json!({"compound": compound, "category": category});
        if let Some(firm) = firm {
            extra["firm"] = json!(firm);
        }
        ids.push(server.file_case(&intake, extra).await);
    }
    server
        .act_at(
            &format!("/api/v1/cases/{}/acts", ids[0]),
            &housing,
            1,
            &json!({"act": "DispatchCase", "to": "township/dongping"}),
        )
        .await;
    ids
}

/// The ids a list answers, checking it is a 200 that reflects the head.
async fn listed(server: &TestServer, token: &str, query: &str) -> BTreeSet<String> {
    let response = server
        .get(&format!("/api/v1/cases?{query}"), Some(token))
        .await;
    assert_eq!(response.status, 200, "{query}: {}", response.text());
    let page = response.json().unwrap();
    assert_eq!(page["as_of"], server.head(), "{query}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["case"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_filter_pages_and_caps_pages() {
    let server = TestServer::start_with(Limits {
        page_items_max: PAGE_ITEMS_MAX,
        ..Limits::default()
    })
    .await;
    let ids = four_cases(&server).await;
    let office = server.token("office", "office");
    let pick = |which: &[usize]| -> BTreeSet<String> {
        which.iter().map(|&index| ids[index].clone()).collect()
    };
    for (query, expect) in [
        ("township=township/dongping", pick(&[0, 1])),
        ("community=community/qingtangpu/xinjie", pick(&[2, 3])),
        ("compound=compound/dongping/lanting-11", pick(&[0, 1])),
        (&format!("firm={FIRM}") as &str, pick(&[0, 2])),
        ("category=service-quality", pick(&[1, 2])),
        ("state=dispatched", pick(&[0])),
        ("unit=township/dongping", pick(&[0])),
        ("overdue=true", pick(&[])),
        (
            "township=township/dongping&category=service-quality",
            pick(&[1]),
        ),
    ] {
        assert_eq!(listed(&server, &office, query).await, expect, "{query}");
    }

    // A township sees its own cases only, whatever it asks.
    let qingtangpu = server.token("township", "township/qingtangpu");
    assert_eq!(listed(&server, &qingtangpu, "").await, pick(&[2, 3]));
    assert!(listed(&server, &qingtangpu, "township=township/dongping")
        .await
        .is_empty());

    // Pages of one, followed by cursor: every case once, newest first.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("limit=1&cursor={cursor}"),
            None => "limit=1".to_owned(),
        };
        let page = server
            .get(&format!("/api/v1/cases?{query}"), Some(&office))
            .await
            .json()
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1, "{page}");
        seen.extend(
            items
                .iter()
                .map(|item| item["case"].as_str().unwrap().to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() <= ids.len(), "the cursor loops: {seen:?}");
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    // A larger page than the cap is capped, and says where to go on.
    let page = server
        .get("/api/v1/cases?limit=100000", Some(&office))
        .await
        .json()
        .unwrap();
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        PAGE_ITEMS_MAX,
        "{page}"
    );
    assert!(page["next"].is_string(), "{page}");
    let records = server
        .get("/api/v1/audit/records?from=1&limit=100000", Some(&office))
        .await
        .json()
        .unwrap();
    assert_eq!(records["records"].as_array().unwrap().len(), PAGE_ITEMS_MAX);

    // An unknown filter is refused rather than ignored.
    let response = server
        .get("/api/v1/cases?street=renmin", Some(&office))
        .await;
    assert_eq!(response.status, 400, "{}", response.text());
    server.stop().await;
}

#[tokio::test]
async fn workload_and_measures_by_every_grouping() {
    let server = TestServer::start().await;
    let ids = four_cases(&server).await;
    assert_eq!(ids.len(), 4);
    let office = server.token("office", "office");

    let all = server.get("/api/v1/workload", Some(&office)).await;
    assert_eq!(all.status, 200, "{}", all.text());
    let all = all.json().unwrap();
    assert_eq!(all["as_of"], server.head());
    let dongping = all["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|unit| unit["unit"] == "township/dongping")
        .unwrap_or_else(|| panic!("no township/dongping in {all}"))
        .clone();
    assert_eq!(dongping["awaiting_acceptance"], 1, "{dongping}");
    let one = server
        .get("/api/v1/workload/township/dongping", Some(&office))
        .await;
    assert_eq!(one.status, 200, "{}", one.text());
    let mut one = one.json().unwrap()["units"][0].clone();
    let mut dongping = dongping;
    // The instant each was evaluated at differs; the rest is the same.
    for unit in [&mut one, &mut dongping] {
        unit.as_object_mut().unwrap().remove("at_us");
    }
    assert_eq!(one, dongping);

    // Months are China Standard Time's (UTC+8).
    let month = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let county = server
        .get(
            &format!("/api/v1/measures?from={month}&to={month}"),
            Some(&office),
        )
        .await;
    assert_eq!(county.status, 200, "{}", county.text());
    let county = county.json().unwrap();
    assert_eq!(county["groups"][0]["counts"]["filed"], 4, "{county}");
    for (group_by, expect) in [
        ("township", vec!["township/dongping", "township/qingtangpu"]),
        ("department", vec!["township/dongping"]),
        ("firm", vec![FIRM]),
        ("category", vec!["illegal-construction", "service-quality"]),
        ("month", vec![month.as_str()]),
    ] {
        let response = server
            .get(
                &format!("/api/v1/measures?group_by={group_by}&from={month}&to={month}"),
                Some(&office),
            )
            .await;
        assert_eq!(response.status, 200, "{group_by}: {}", response.text());
        let body = response.json().unwrap();
        assert_eq!(body["as_of"], server.head());
        let values: Vec<&str> = body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| group["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, expect, "{group_by}: {body}");
    }
    let response = server
        .get("/api/v1/measures?group_by=street", Some(&office))
        .await;
    assert_eq!(response.status, 400, "{}", response.text());
    server.stop().await;
}
