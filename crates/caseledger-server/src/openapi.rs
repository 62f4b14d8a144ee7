//! The OpenAPI document, generated from the handlers' annotations with utoipa.
//!
//! The document is checked in as `schemas/openapi.json`; a test fails when the two drift.
//! Regenerate with `UPDATE_SCHEMAS=1 cargo test -p caseledger-server --test openapi`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API's document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "caseledger",
        description = "The audit API of Anhua County's property-management supervision ledger \
                       (安化县物业管理监管台账). Errors are RFC 9457 problems.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        crate::routes::service::healthz,
        crate::routes::service::readyz,
        crate::routes::service::metrics,
        crate::routes::service::openapi_document,
        crate::routes::audit::verify,
        crate::routes::audit::records,
        crate::routes::events::events,
        crate::routes::cases::file_case,
        crate::routes::cases::list_cases,
        crate::routes::cases::get_case,
        crate::routes::cases::record_act,
        crate::routes::cases::case_history,
        crate::routes::evidence::checkpoint,
        crate::routes::evidence::inclusion,
        crate::routes::evidence::consistency,
        crate::routes::evidence::case_evidence,
        crate::routes::firms::register_firm,
        crate::routes::firms::record_firm_act,
        crate::routes::firms::get_firm,
        crate::routes::firms::firm_history,
        crate::routes::reports::workload_all,
        crate::routes::reports::workload_unit,
        crate::routes::reports::measures,
        crate::routes::public::public_credit,
        crate::routes::public::public_lists,
    ),
    components(schemas(
        crate::error::Problem,
        crate::routes::service::Health,
        crate::routes::views::RecordView,
        crate::routes::views::ActorView,
        crate::routes::audit::VerifyView,
        crate::routes::audit::RecordsPage,
        crate::write::WriteOutcome,
        crate::write::AppendedAct,
        crate::routes::cases::FileCaseBody,
        crate::routes::cases::ComplainantBody,
        crate::routes::cases::FiledCase,
        crate::routes::cases::CaseBody,
        crate::routes::cases::CaseList,
        crate::routes::cases::History,
        crate::routes::cases::HistoryItem,
        crate::routes::evidence::InclusionView,
        crate::routes::evidence::ConsistencyView,
        crate::routes::firms::RegisterFirmBody,
        crate::routes::firms::FirmBody,
        crate::routes::reports::WorkloadList,
        crate::routes::reports::MeasuresBody,
        crate::routes::reports::GroupBy,
        crate::routes::public::PublishedGrade,
        crate::routes::public::PublicCredit,
        crate::routes::public::PublicLists,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "service", description = "Liveness, readiness, metrics, this document"),
        (name = "audit", description = "Verification, raw records and the live tail (Office and court)"),
        (name = "cases", description = "Complaint cases: file, act, read, list, history"),
        (name = "firms", description = "Firms' credit files"),
        (name = "reports", description = "Workload and measures"),
        (name = "public", description = "Published grades and lists, no token"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("clt1.<id>.<secret>")
                    .build(),
            ),
        );
    }
}

/// The document as pretty JSON with a trailing newline, exactly as checked in.
pub fn document_json() -> String {
    let mut doc = ApiDoc::openapi();
    // The crate version would make the document change with every release bump; the API has
    // its own version in its paths.
    doc.info.version = "v1".into();
    let mut text = doc
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    text.push('\n');
    text
}
