//! The checked-in `schemas/openapi.json` is exactly what the server serves.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p caseledger-server --test openapi`.

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
