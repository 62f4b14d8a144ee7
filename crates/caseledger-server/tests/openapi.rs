//! The checked-in `schemas/openapi.json` is exactly what the server serves.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p caseledger-server --test openapi`.

mod common;

use std::path::PathBuf;

fn checked_in_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openapi.json")
}

#[test]
fn checked_in_openapi_matches_the_code() {
    let generated = caseledger_server::openapi::document_json();
    let path = checked_in_path();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).expect("write schemas/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    assert!(
        checked_in == generated,
        "schemas/openapi.json differs from the generated document; \
         run UPDATE_SCHEMAS=1 cargo test -p caseledger-server --test openapi and review the diff"
    );
}

#[test]
fn document_names_every_route_and_the_problem_type() {
    let document: serde_json::Value =
        serde_json::from_str(&caseledger_server::openapi::document_json()).unwrap();
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        assert!(document["paths"][path].is_object(), "{path} missing");
    }
    assert!(document["components"]["schemas"]["Problem"].is_object());
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Checks that `value` serves no field the document's schema `name` does not name and every
/// field it requires, and so on down every property described by another schema.
fn assert_fits(document: &serde_json::Value, name: &str, value: &serde_json::Value) {
    let schema = &document["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    let Some(properties) = schema["properties"].as_object() else {
        return; // An enumeration of strings.
    };
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{name}: {value} is not an object"));
    for key in object.keys() {
        assert!(
            properties.contains_key(key),
            "{name} does not describe the served field {key}"
        );
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            object.contains_key(required),
            "{name} requires {required}, which is not served: {value}"
        );
    }
    for (property, schema) in properties {
        let inner = &value[property];
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str())
            .or_else(|| {
                schema["oneOf"].as_array().and_then(|variants| {
                    variants.iter().find_map(|variant| variant["$ref"].as_str())
                })
            });
        let Some(reference) = reference else { continue };
        let inner_name = reference.rsplit('/').next().unwrap();
        match inner {
            serde_json::Value::Array(items) => {
                for item in items {
                    assert_fits(document, inner_name, item);
                }
            }
            serde_json::Value::Null => {}
            other => assert_fits(document, inner_name, other),
        }
    }
}

/// The schemas that describe other crates' types (`openapi::*Schema`) name exactly the
/// fields the server serves.
#[tokio::test]
async fn described_shapes_match_served_bodies() {
    let document: serde_json::Value =
        serde_json::from_str(&caseledger_server::openapi::document_json()).unwrap();
    let server = common::TestServer::start().await;
    let intake = server.token("intake", "12345");
    let office = server.token("office", "office");
    let filed = server
        .post(
            "/api/v1/cases",
            &intake,
            serde_json::json!({
                "channel": "hotline12345",
                "compound": "compound/dongping/lanting-11",
                "category": "illegal-construction",
                "severity": "general",
                "firm": "91430923MA4L123461",
                "summary": "楼道堆放杂物",
            }),
        )
        .await;
    assert_eq!(filed.status, 201, "{}", filed.text());
    let case_id = filed.json().unwrap()["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.append_raw("91430923MA4L123461", 0).await;

    for (path, name) in [
        (format!("/api/v1/cases/{case_id}"), "CaseBody"),
        ("/api/v1/cases".to_owned(), "CaseList"),
        (
            "/api/v1/workload/township/dongping".to_owned(),
            "WorkloadList",
        ),
        ("/api/v1/measures?group_by=month".to_owned(), "MeasuresBody"),
        ("/api/v1/firms/91430923MA4L123461".to_owned(), "FirmBody"),
    ] {
        let response = server.get(&path, Some(&office)).await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        let body = response.json().unwrap();
        assert_fits(&document, name, &body);
        // Every list this checks has an item to check.
        for list in ["items", "units", "groups"] {
            if let Some(items) = body[list].as_array() {
                assert!(!items.is_empty(), "{path}: empty {list}");
            }
        }
    }
}
