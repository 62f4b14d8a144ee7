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
        // As the lists show a state, too.
        ("state=Dispatched", pick(&[0])),
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
    assert_eq!(response.json().unwrap()["field"], "group_by");
    server.stop().await;
}

/// Files a copy of the filing of case `like` as a new case under `category`, straight to the
/// ledger: a case recorded under a category the current rules do not have, as one filed
/// before the policy retired it. Returns the new case's id.
async fn file_under_retired_category(server: &TestServer, like: &str, category: &str) -> String {
    use caseledger_domain::act::{Act, CaseId};
    let ledger = server.state.ledger();
    let filing = ledger
        .read_stream(&format!("case/{like}"), 1, 1)
        .unwrap()
        .remove(0)
        .record;
    let Act::ComplaintFiled(mut filed) =
        Act::decode(&filing.kind, filing.schema_version, &filing.payload).unwrap()
    else {
        panic!("the first act of a case is its filing");
    };
    filed.case_id = CaseId(uuid::Uuid::now_v7());
    filed.category = category.parse().unwrap();
    let case = filed.case_id.to_string();
    server.append_act(&Act::ComplaintFiled(filed), 0).await;
    case
}

/// A filter value that names nothing this county has is refused, naming the parameter,
/// rather than answered with an empty page (which a dashboard would show as "no cases"); a
/// value the rules no longer have still lists the cases recorded under it.
#[tokio::test]
async fn filters_that_name_nothing_are_refused_by_name() {
    let server = TestServer::start().await;
    let ids = four_cases(&server).await;
    let office = server.token("office", "office");
    for (query, field) in [
        ("state=in_progress", "state"),
        ("category=no-such-matter", "category"),
        ("township=township/nowhere", "township"),
        // A township is not a community.
        ("community=township/dongping", "community"),
        ("compound=compound/dongping/nowhere", "compound"),
        ("unit=nobody", "unit"),
        ("firm=not-a-credit-code", "firm"),
        ("township=township/dongping&state=done", "state"),
        // A page of nothing is not a page.
        ("limit=0", "limit"),
        // Values that do not parse are named by their parameter, not by a word of serde's
        // message ("not `true` or `false`").
        ("overdue=maybe", "overdue"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("state=filed&limit=x", "limit"),
    ] {
        let response = server
            .get(&format!("/api/v1/cases?{query}"), Some(&office))
            .await;
        assert_eq!(response.status, 400, "{query}: {}", response.text());
        let problem = response.json().unwrap();
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
    // The states there are, by name.
    let problem = server
        .get("/api/v1/cases?state=in_progress", Some(&office))
        .await
        .json()
        .unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("in-progress") && detail.contains("withdrawn"),
        "{detail}"
    );

    // The same for the audit's records; a limit of 1 is one record.
    let response = server
        .get("/api/v1/audit/records?limit=0", Some(&office))
        .await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(response.json().unwrap()["field"], "limit");
    let response = server
        .get("/api/v1/audit/records?limit=1", Some(&office))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json().unwrap()["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Known values with no case are empty pages, not errors.
    assert!(listed(&server, &office, "state=withdrawn").await.is_empty());
    assert!(listed(&server, &office, "unit=housing").await.is_empty());

    // A category the rules no longer have still lists its cases.
    let retired = file_under_retired_category(&server, &ids[0], "retired-matter").await;
    assert_eq!(
        listed(&server, &office, "category=retired-matter").await,
        BTreeSet::from([retired])
    );

    // A unit's workload: a unit that does not exist is not found, rather than idle.
    let response = server
        .get("/api/v1/workload/township/nowhere", Some(&office))
        .await;
    assert_eq!(response.status, 404, "{}", response.text());
    let response = server.get("/api/v1/workload/housing", Some(&office)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    server.stop().await;
}

/// A resource that takes no parameters refuses a query string, naming the first parameter:
/// otherwise a client asking for an older quarter or a checkpoint of some size would get
/// the latest, with nothing to say the parameter was ignored.
#[tokio::test]
async fn resources_without_parameters_refuse_a_query_string() {
    let server = TestServer::start().await;
    let ids = four_cases(&server).await;
    server.append_raw(FIRM, 0).await;
    let office = server.token("office", "office");
    let case = &ids[0];
    for path in [
        format!("/api/v1/cases/{case}"),
        format!("/api/v1/cases/{case}/history"),
        format!("/api/v1/firms/{FIRM}"),
        format!("/api/v1/firms/{FIRM}/history"),
        "/api/v1/audit/verify".to_owned(),
        "/api/v1/public/credit".to_owned(),
        "/api/v1/public/lists".to_owned(),
        "/api/v1/admin/tokens".to_owned(),
        "/api/v1/openapi.json".to_owned(),
    ] {
        let plain = server.get(&path, Some(&office)).await;
        assert_eq!(plain.status, 200, "{path}: {}", plain.text());
        let asked = server
            .get(&format!("{path}?quarter=2026-Q1&x=1"), Some(&office))
            .await;
        assert_eq!(asked.status, 400, "{path}: {}", asked.text());
        let problem = asked.json().unwrap();
        assert_eq!(problem["field"], "quarter", "{path}: {problem}");
        // An empty query string is no parameter at all.
        let empty = server.get(&format!("{path}?"), Some(&office)).await;
        assert_eq!(empty.status, 200, "{path}?: {}", empty.text());
    }
    // The token writes too, and a refused one issues or revokes nothing.
    let listed = || async {
        server
            .get("/api/v1/admin/tokens", Some(&office))
            .await
            .json()
            .unwrap()
    };
    let before = listed().await;
    let issue = json!({"role": "township", "unit": "township/dongping"});
    let refused = server
        .post("/api/v1/admin/tokens?role=office", &office, issue)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.json().unwrap()["field"], "role");
    let id = before["tokens"][0]["id"].as_str().unwrap().to_owned();
    let refused = server
        .post(
            &format!("/api/v1/admin/tokens/{id}/revoke?now=1"),
            &office,
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(listed().await, before);
    server.stop().await;
}
