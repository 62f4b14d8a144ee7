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
        // Rewriting the document passes whatever the code does: never in CI.
        assert!(
            std::env::var_os("CI").is_none(),
            "UPDATE_SCHEMAS is set in CI, where the document must be checked, not rewritten"
        );
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
/// field it requires, each field of the JSON type (and above the minimum) its property
/// gives, and so on down every property described by another schema. A schema of strings
/// checks the value is among its `enum`; an `allOf` checks the fields of all its parts.
fn assert_fits(document: &serde_json::Value, name: &str, value: &serde_json::Value) {
    let schema = &document["components"]["schemas"][name];
    assert!(schema.is_object(), "no schema {name}");
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(
            allowed.contains(value),
            "{name}: {value} not in {allowed:?}"
        );
        return;
    }
    if let Some(parts) = schema["allOf"].as_array() {
        // One object with every part's properties and required fields.
        let mut properties = serde_json::Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = match part["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                Some(inner) => &document["components"]["schemas"][inner],
                None => part,
            };
            let part_properties = part["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: a part of allOf without properties: {part}"));
            properties.extend(part_properties.clone());
            required.extend(part["required"].as_array().into_iter().flatten().cloned());
        }
        let merged = serde_json::json!({"properties": properties, "required": required});
        let mut scratch = document.clone();
        scratch["components"]["schemas"]["__merged"] = merged;
        assert_fits(&scratch, "__merged", value);
        return;
    }
    let properties = schema["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: a schema this check does not read: {schema}"));
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
        if object.contains_key(property) {
            assert_json_type(&format!("{name}.{property}"), schema, inner);
        }
        // An array of tuples (`prefixItems`): each served item is an array whose members fit
        // the tuple's schemas in order, and no more of them.
        if let Some(prefix) = schema["items"]["prefixItems"].as_array() {
            for item in inner.as_array().into_iter().flatten() {
                let members = item
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}.{property}: {item} is not a tuple"));
                assert_eq!(members.len(), prefix.len(), "{name}.{property}: {item}");
                for (member, member_schema) in members.iter().zip(prefix) {
                    fits_inline(
                        document,
                        &format!("{name}.{property}"),
                        member_schema,
                        member,
                    );
                }
            }
            continue;
        }
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str())
            .or_else(|| {
                schema["oneOf"].as_array().and_then(|variants| {
                    variants.iter().find_map(|variant| variant["$ref"].as_str())
                })
            });
        // A reference outside the document (the JSON Schema meta-schema) is not checked here.
        let Some(inner_name) = reference.and_then(|r| r.strip_prefix("#/components/schemas/"))
        else {
            continue;
        };
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

/// Checks that `value` is of one of the JSON types `schema["type"]` names (a name or a list of
/// them; none: not checked here), and not below its `minimum`.
fn assert_json_type(name: &str, schema: &serde_json::Value, value: &serde_json::Value) {
    let types: Vec<&str> = match &schema["type"] {
        serde_json::Value::String(one) => vec![one.as_str()],
        serde_json::Value::Array(many) => many.iter().filter_map(|t| t.as_str()).collect(),
        _ => return,
    };
    let fits = types.iter().any(|expected| match *expected {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        other => panic!("{name}: unknown JSON type {other}"),
    });
    assert!(fits, "{name}: {value} is not of type {types:?}");
    if let (Some(minimum), Some(number)) = (schema["minimum"].as_f64(), value.as_f64()) {
        assert!(number >= minimum, "{name}: {value} is below {minimum}");
    }
}

/// Checks `value` against a schema written inline (a tuple's member): a string among the
/// schema's `enum`, or an object fitting its properties as [`assert_fits`] checks them.
fn fits_inline(
    document: &serde_json::Value,
    name: &str,
    schema: &serde_json::Value,
    value: &serde_json::Value,
) {
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(
            allowed.contains(value),
            "{name}: {value} not in {allowed:?}"
        );
        return;
    }
    let mut scratch = document.clone();
    scratch["components"]["schemas"]["__inline"] = schema.clone();
    assert_fits(&scratch, "__inline", value);
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
    let case_id = server
        .file_case(&intake, serde_json::json!({"firm": "91430923MA4L123461"}))
        .await;
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
        if name == "CaseBody" {
            // A filed case has its dispatch clock running: the tuples above were checked.
            let running = body["case"]["running"].as_array().map(Vec::len);
            assert_eq!(running, Some(1), "{body}");
        }
        // Every list this checks has an item to check.
        for list in ["items", "units", "groups"] {
            if let Some(items) = body[list].as_array() {
                assert!(!items.is_empty(), "{path}: empty {list}");
            }
        }
    }
}

/// The bodies that were bare objects in the document: a case's evidence bundle and the
/// document itself, served by a server opened as `caseledger serve` opens it.
#[tokio::test]
async fn the_bundle_and_the_document_fit_their_schemas() {
    let document: serde_json::Value =
        serde_json::from_str(&caseledger_server::openapi::document_json()).unwrap();
    let server = common::TestServer::start_with_evidence(tempfile::tempdir().unwrap()).await;
    let intake = server.token("intake", "12345");
    let court = server.token("court", "court");
    let case_id = server
        .file_case(
            &intake,
            serde_json::json!({"complainant": {"name": "张三丰", "phone": "13812345678"}}),
        )
        .await;

    let response = server
        .get(&format!("/api/v1/cases/{case_id}/evidence"), Some(&court))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let mut bundle = response.json().unwrap();
    assert_eq!(bundle["records"].as_array().map(Vec::len), Some(1));
    // The decoded act's fields differ by kind (`schemas/acts/`); its schema names only `act`.
    for record in bundle["records"].as_array_mut().unwrap() {
        let act = record.as_object_mut().unwrap().remove("act").unwrap();
        assert_eq!(act["act"], "ComplaintFiled", "{act}");
    }
    assert_fits(&document, "EvidenceBundleSchema", &bundle);

    let served = server.get("/api/v1/openapi.json", None).await;
    assert_eq!(served.status, 200);
    let served = served.json().unwrap();
    assert_fits(&document, "OpenApiDocumentSchema", &served);
    for (path, operations) in served["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let context = format!("{method} {path}");
            fits_inline(
                &document,
                &context,
                &document["components"]["schemas"]["OpenApiOperationSchema"],
                operation,
            );
            for (status, response) in operation["responses"].as_object().unwrap() {
                assert_fits(&document, "OpenApiResponseSchema", response);
                assert!(status.parse::<u16>().is_ok(), "{context}: {status}");
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let location = parameter["in"].as_str().unwrap();
                assert!(
                    ["path", "query", "header"].contains(&location),
                    "{context}: {parameter}"
                );
            }
        }
    }
    server.stop().await;
}
