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
        crate::routes::governance::record_governance_act,
        crate::routes::governance::get_record,
        crate::routes::governance::get_compound,
        crate::routes::admin::issue,
        crate::routes::admin::revoke,
        crate::routes::admin::list,
        crate::routes::reports::workload_all,
        crate::routes::reports::workload_unit,
        crate::routes::reports::measures,
        crate::routes::public::public_credit,
        crate::routes::public::public_lists,
    ),
    components(schemas(
        crate::error::Problem,
        crate::routes::service::Health,
        crate::routes::service::EvidenceCheck,
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
        crate::routes::governance::GovernanceBody,
        crate::routes::governance::GovernanceStateView,
        crate::routes::governance::CommitteeView,
        crate::routes::governance::FundView,
        crate::routes::admin::IssueTokenBody,
        crate::routes::admin::IssuedTokenBody,
        crate::routes::admin::TokenView,
        crate::routes::admin::TokenList,
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
        (name = "governance", description = "Joint meetings, safety inspections, compounds' self-governance and maintenance fund"),
        (name = "admin", description = "Tokens: issue, revoke, list (the Office, or the server's local admin credential)"),
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

// The shapes of types other crates serialize (projections, domain), described for the
// document only. Those crates know no OpenAPI; these mirrors name their fields as they are
// serialized, and `tests/openapi.rs` checks real answers against them.

/// One line of a case list.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct CaseLineSchema {
    /// The case id.
    case: String,
    /// Its state: `Filed`, `Dispatched`, `Accepted`, `InProgress`, `Returned`, `Resolved`,
    /// `Closed`, `Reopened`, `Merged` or `Withdrawn`.
    state: String,
    /// Its category slug.
    category: String,
    /// The unit holding it.
    unit: Option<String>,
    /// When it was filed, in microseconds since the epoch.
    filed_at_us: i64,
    /// Whether it is overdue at the instant asked.
    overdue: bool,
}

/// An act, decoded: `{"act": "<kind>", …the act's fields}`. The fields of each kind are
/// described by the JSON Schemas in `schemas/acts/`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct ActSchema {
    /// The act's kind (`ComplaintFiled`, `CaseDispatched`, …).
    act: String,
}

/// A deadline as an act carries it (microseconds since the epoch, UTC).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct DueSchema {
    /// Which clock: `Dispatch`, `Acceptance`, `Handling`, `Return`, `Feedback`,
    /// `CloseUnrated`, `Rectification`, …
    clock: String,
    /// When it started.
    started_us: i64,
    /// When it runs out: overdue at and after this instant.
    due_us: i64,
    /// The first warning (50% of the span).
    warn_50_us: i64,
    /// The second warning (75% of the span).
    warn_75_us: i64,
}

/// One deadline a case has had, and how it ended.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct DeadlineEntrySchema {
    /// The deadline as carried by the act.
    due: DueSchema,
    /// The unit whose clock it was.
    unit: Option<String>,
    /// The record that set it.
    set_by: u64,
    /// When it stopped running, if it did.
    ended_us: Option<i64>,
}

/// 延期 — an extension granted.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct ExtensionSchema {
    /// When.
    at_us: i64,
    /// By which unit.
    unit: String,
    /// The deadline before.
    previous_due_us: Option<i64>,
    /// The deadline after.
    new_due_us: Option<i64>,
    /// Why.
    reason: String,
}

/// 督办 — a supervision notice.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct NoticeSchema {
    /// When.
    at_us: i64,
    /// Who issued it.
    by: String,
    /// The unit supervised.
    unit: Option<String>,
    /// The notice.
    notice: String,
}

/// 回访 — one feedback.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct FeedbackSchema {
    /// When.
    at_us: i64,
    /// `Satisfied`, `BasicallySatisfied` or `Dissatisfied`.
    rating: String,
    /// Whether the complainant says it was resolved.
    resolved: bool,
}

/// Everything the case status projection knows about one case.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct CaseStatusSchema {
    /// The case id.
    case: String,
    /// Its state (`Filed`, `Dispatched`, `Accepted`, `InProgress`, `Returned`, `Resolved`,
    /// `Closed`, `Reopened`, `Merged`, `Withdrawn`).
    state: String,
    /// Category slug.
    category: String,
    /// 住宅小区.
    compound: String,
    /// 社区.
    community: String,
    /// 乡镇.
    township: String,
    /// The firm it is about, if one.
    firm: Option<String>,
    /// Intake channel.
    channel: String,
    /// `urgent`, `general` or `complex`.
    severity: String,
    /// Position of the filing record.
    filed_position: u64,
    /// When it was filed.
    filed_at_us: i64,
    /// The last record applied to it.
    last_position: u64,
    /// When that was.
    updated_at_us: i64,
    /// The unit handling it now.
    unit: Option<String>,
    /// Every unit it was dispatched or transferred to, in order of first arrival.
    units_passed: Vec<String>,
    /// Every deadline it has had, oldest first.
    deadlines: Vec<DeadlineEntrySchema>,
    /// Extensions granted.
    extensions: Vec<ExtensionSchema>,
    /// Supervision notices.
    notices: Vec<NoticeSchema>,
    /// The case it was merged into.
    merged_into: Option<String>,
    /// Cases merged into this one (并单), in the order they were merged.
    merged_from: Vec<String>,
    /// 回访 — feedback received.
    feedback: Vec<FeedbackSchema>,
    /// Times returned (退单).
    returns: u32,
    /// Times transferred (移送).
    transfers: u32,
    /// Times reopened.
    reopenings: u32,
    /// Penalties imposed on it, in fen, in order.
    penalties_fen: Vec<i64>,
    /// Mediation outcomes, in order.
    mediations: Vec<String>,
    /// When last resolved.
    resolved_at_us: Option<i64>,
    /// When closed.
    closed_at_us: Option<i64>,
}

/// Where a running clock stands at an instant.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub enum ClockStatusSchema {
    /// Less than half the time used.
    OnTime,
    /// 黄色预警 — at least 50% used.
    Warn50,
    /// 橙色预警 — at least 75% used.
    Warn75,
    /// 逾期 — past the deadline.
    Overdue,
}

/// A case's status evaluated at an instant.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct CaseViewSchema {
    /// What is stored.
    status: CaseStatusSchema,
    /// The instant asked about (µs).
    at_us: i64,
    /// Each running clock and where it stands: pairs `[deadline entry, clock status]`.
    running: Vec<(DeadlineEntrySchema, ClockStatusSchema)>,
    /// Whether any running clock is overdue at that instant.
    overdue: bool,
    /// The worst state of any running clock.
    worst: Option<ClockStatusSchema>,
}

/// A unit's counts over a period.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct DayCountsSchema {
    /// Cases received (dispatched or transferred to it).
    received: u64,
    /// Accepted.
    accepted: u64,
    /// Resolved.
    resolved: u64,
    /// Closed.
    closed: u64,
    /// Returned by it.
    returns_out: u64,
    /// Returned to it.
    returns_in: u64,
    /// Transferred away by it.
    transfers_out: u64,
    /// Transferred to it.
    transfers_in: u64,
    /// Sum of handling times, µs.
    handling_sum_us: i64,
    /// Handling times by histogram bucket.
    handling_histogram: std::collections::BTreeMap<u32, u64>,
}

/// A unit's workload: now, and over a period.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct WorkloadSchema {
    /// The unit.
    unit: String,
    /// The instant "now" and "overdue" refer to, µs.
    at_us: i64,
    /// First day of the period (CST), inclusive.
    from: String,
    /// Last day of the period (CST), inclusive.
    to: String,
    /// Open cases in its hands now.
    open: u64,
    /// 待签收.
    awaiting_acceptance: u64,
    /// 办理中.
    in_progress: u64,
    /// 逾期.
    overdue: u64,
    /// What happened in the period.
    period: DayCountsSchema,
    /// Mean handling time of cases resolved in the period, µs.
    mean_handling_us: Option<i64>,
    /// 90th percentile of handling time, µs.
    p90_handling_us: Option<i64>,
}

/// The counts behind the measures.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct CountsSchema {
    /// Filed.
    filed: u64,
    /// Repeat complaints.
    repeats: u64,
    /// Dispatched.
    dispatched: u64,
    /// Responded to (accepted) in time.
    responded: u64,
    /// Returned.
    returned: u64,
    /// Resolved.
    resolved: u64,
    /// Resolved on time.
    resolved_on_time: u64,
    /// Sum of filing-to-resolution times, µs.
    handling_sum_us: i64,
    /// Rated.
    rated: u64,
    /// Rated as resolved.
    rated_resolved: u64,
    /// Rated satisfied.
    satisfied: u64,
    /// Reopened.
    reopened: u64,
}

/// The measures of one group over a range of months.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct MeasuresSchema {
    /// The group's value (empty for the county; the month with `group_by=month`).
    value: String,
    /// The counts.
    counts: CountsSchema,
    /// 响应率.
    response_rate: Option<f64>,
    /// 解决率.
    resolution_rate: Option<f64>,
    /// 满意率.
    satisfaction_rate: Option<f64>,
    /// 按时办结率.
    on_time_resolution_rate: Option<f64>,
    /// 退单率.
    return_rate: Option<f64>,
    /// 重复投诉率.
    repeat_rate: Option<f64>,
    /// Mean filing-to-resolution time, µs.
    mean_handling_us: Option<i64>,
    /// Open cases with a clock past its deadline.
    overdue: u64,
}

/// A quarter's grade.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct QuarterGradeSchema {
    /// `YYYY-Qn`.
    quarter: String,
    /// Score in hundredths of a point.
    score_hundredths: i64,
    /// A, B, C or D.
    grade: String,
    /// Months between inspections the grade implies.
    inspection_interval_months: u32,
}

/// A firm's file: the running totals.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct FirmFileSchema {
    /// 统一社会信用代码.
    uscc: String,
    /// Its name, once registered.
    name: Option<String>,
    /// When it was registered.
    registered_at_us: Option<i64>,
    /// Compounds it serves under a filed contract.
    compounds: Vec<String>,
    /// Cases about it.
    cases: u64,
    /// Cases about it, by category.
    cases_by_category: std::collections::BTreeMap<String, u64>,
    /// 有效投诉.
    substantiated: u64,
    /// 黑榜行为.
    severe_violations: u64,
    /// 表彰.
    commendations: u64,
    /// 行政处罚.
    penalties: u64,
    /// Fines summed, in fen.
    penalties_fen: i64,
    /// 调解 — mediations by outcome.
    mediations: std::collections::BTreeMap<String, u64>,
    /// The latest grade.
    latest: Option<QuarterGradeSchema>,
    /// 红榜.
    red_list: bool,
    /// 黑榜.
    black_list: bool,
    /// Times its credit was repaired.
    credit_repairs: u64,
    /// The last record about it.
    last_position: u64,
}

/// One line of a credit score's trace.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct TracePointSchema {
    /// The record that caused it.
    position: u64,
    /// Its act kind.
    kind: String,
    /// Why it counts.
    reason: String,
    /// Points in hundredths.
    hundredths: i64,
    /// The case it comes from, if one.
    case: Option<String>,
    /// The credit repair that cancelled it, if one.
    repaired_by: Option<u64>,
}

/// A quarter's credit: the communities' assessments and the grade.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct QuarterCreditSchema {
    /// `YYYY-Qn`.
    quarter: String,
    /// Each community's score, hundredths.
    assessments: std::collections::BTreeMap<String, i64>,
    /// Whether the township aggregated them.
    aggregated: bool,
    /// The grade, once assigned.
    grade: Option<QuarterGradeSchema>,
    /// Every point of the score.
    trace: Vec<TracePointSchema>,
    /// The record that graded it.
    graded_by: Option<u64>,
}

/// The body of an act on a case, a firm or governance: `{"act": "<kind or command>", …}`.
/// The fields of each command are described by the JSON Schemas in `schemas/commands/`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct ActBodySchema {
    /// The act's kind (`CaseDispatched`) or its command's name (`DispatchCase`).
    act: String,
}

/// 证据包 — a case's evidence (`caseledger-evidence-bundle/v1`, `schemas/evidence-bundle.md`):
/// the records of one stream proven against one signed checkpoint. Mirrors
/// `caseledger_proof::bundle::EvidenceBundle`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct EvidenceBundleSchema {
    /// Always `caseledger-evidence-bundle/v1`.
    format: String,
    /// The ledger's origin: the first line of its checkpoints and its key's name.
    origin: String,
    /// The ledger's public key in signed-note verifier-key form. Informative: the court checks
    /// against the key it obtained independently.
    ledger_key: String,
    /// The signed checkpoint note, exactly as signed.
    checkpoint: String,
    /// The stream whose records these are, such as `case/<uuid>`.
    stream: String,
    /// The stream's version at the checkpoint: the bundle holds versions `1..=stream_version_head`.
    stream_version_head: u64,
    /// When the server assembled the bundle (RFC 3339, UTC). Not evidence.
    generated_at: String,
    /// The stream's records, in log order.
    records: Vec<BundleRecordSchema>,
}

/// One record of an evidence bundle.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct BundleRecordSchema {
    /// 1-based position in the ledger's log.
    position: u64,
    /// 0-based leaf index in the Merkle tree: `position - 1`.
    leaf_index: u64,
    /// The record's exact stored bytes, base64. Every hash is over these bytes.
    raw: String,
    /// The same record decoded, for reading.
    record: BundleDecodedRecordSchema,
    /// The act decoded by the server, for reading (absent where the caller may not see it);
    /// not covered by the checks.
    act: Option<ActSchema>,
    /// blake3 chain hash of `raw` (lowercase hex): the next record's `prev_hash`.
    chain_hash: String,
    /// RFC 9162 leaf hash `SHA-256(0x00 || raw)` (lowercase hex).
    leaf_hash: String,
    /// RFC 9162 inclusion proof of the leaf against the checkpoint's tree size, leaf upwards
    /// (lowercase hex).
    inclusion_proof: Vec<String>,
}

/// A bundle record's fields in readable form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct BundleDecodedRecordSchema {
    /// Record layout version.
    format: u8,
    /// Position in the log.
    position: u64,
    /// Chain hash of the previous record (lowercase hex).
    prev_hash: String,
    /// Recorded-at time, microseconds since the Unix epoch, UTC.
    recorded_at_us: i64,
    /// The same time in RFC 3339.
    recorded_at: String,
    /// The stream.
    stream: String,
    /// Version within the stream.
    stream_version: u64,
    /// The event id as a UUID.
    event_id: String,
    /// Who did it.
    actor: BundleActorSchema,
    /// The act kind.
    kind: String,
    /// Schema version of the payload.
    schema_version: u16,
    /// The payload bytes, base64.
    payload: String,
}

/// Who did an act, as shown in a bundle.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct BundleActorSchema {
    /// The role.
    role: String,
    /// The unit.
    unit: String,
    /// The user within the unit.
    user: String,
}

/// An OpenAPI 3.1 document, as `/api/v1/openapi.json` serves this API's own: the top level
/// typed, each operation and schema as the OpenAPI 3.1 specification defines them.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiDocumentSchema {
    /// The OpenAPI version: `3.1.0`.
    openapi: String,
    /// What the API is.
    info: OpenApiInfoSchema,
    /// Each path and the operations on it, by lowercase method (`get`, `post`, …).
    paths: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, OpenApiOperationSchema>,
    >,
    /// The named schemas and security schemes.
    components: OpenApiComponentsSchema,
    /// The tags operations are grouped by.
    tags: Vec<OpenApiTagSchema>,
}

/// The document's `info`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiInfoSchema {
    /// `caseledger`.
    title: String,
    /// What the API does.
    description: Option<String>,
    /// The API's license.
    license: Option<OpenApiLicenseSchema>,
    /// The API's version: `v1`.
    version: String,
}

/// The document's license.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiLicenseSchema {
    /// The license's name.
    name: String,
    /// Its SPDX identifier.
    identifier: Option<String>,
}

/// The JSON Schema 2020-12 meta-schema, which OpenAPI 3.1 uses for its schemas.
const JSON_SCHEMA_META_SCHEMA: &str = "https://json-schema.org/draft/2020-12/schema";

/// A JSON Schema, as OpenAPI 3.1 documents carry them: described by the JSON Schema 2020-12
/// meta-schema.
fn json_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::RefOr::Ref(utoipa::openapi::Ref::new(JSON_SCHEMA_META_SCHEMA))
}

/// Named JSON Schemas.
fn named_json_schemas() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .description(Some("The named schemas, each a JSON Schema 2020-12."))
        .additional_properties(Some(utoipa::openapi::Ref::new(JSON_SCHEMA_META_SCHEMA)))
        .build()
}

/// One operation (OpenAPI 3.1 Operation Object).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiOperationSchema {
    /// The tags it is listed under.
    tags: Vec<String>,
    /// One line on what it does.
    summary: Option<String>,
    /// More on what it does.
    description: Option<String>,
    /// Its id: the handler's name.
    #[schema(rename = "operationId")]
    operation_id: String,
    /// Its path, query and header parameters.
    parameters: Option<Vec<OpenApiParameterSchema>>,
    /// Its request body.
    #[schema(rename = "requestBody")]
    request_body: Option<OpenApiRequestBodySchema>,
    /// Its answers by status code.
    responses: std::collections::BTreeMap<String, OpenApiResponseSchema>,
    /// The security requirements: `[{"bearer": []}]` for routes that need a token.
    security: Option<Vec<std::collections::BTreeMap<String, Vec<String>>>>,
}

/// Where a parameter goes.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
#[schema(rename_all = "lowercase")]
pub enum OpenApiParameterLocationSchema {
    /// In the path.
    Path,
    /// In the query string.
    Query,
    /// In a header.
    Header,
}

/// One parameter (OpenAPI 3.1 Parameter Object).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiParameterSchema {
    /// Its name.
    name: String,
    /// Where it goes.
    #[schema(rename = "in")]
    location: OpenApiParameterLocationSchema,
    /// What it means.
    description: Option<String>,
    /// Whether it must be given.
    required: bool,
    /// Its values.
    #[schema(schema_with = json_schema)]
    schema: (),
}

/// A request body (OpenAPI 3.1 Request Body Object).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiRequestBodySchema {
    /// What it is.
    description: Option<String>,
    /// Its forms by media type.
    content: std::collections::BTreeMap<String, OpenApiMediaTypeSchema>,
    /// Whether it must be given.
    required: Option<bool>,
}

/// An answer (OpenAPI 3.1 Response Object).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiResponseSchema {
    /// What it means.
    description: String,
    /// Its body's forms by media type.
    content: Option<std::collections::BTreeMap<String, OpenApiMediaTypeSchema>>,
}

/// A body in one media type (OpenAPI 3.1 Media Type Object).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiMediaTypeSchema {
    /// The body's shape.
    #[schema(schema_with = json_schema)]
    schema: (),
}

/// The document's `components`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiComponentsSchema {
    /// The named schemas.
    #[schema(schema_with = named_json_schemas)]
    schemas: (),
    /// The security schemes: `bearer`.
    #[schema(rename = "securitySchemes")]
    security_schemes: std::collections::BTreeMap<String, OpenApiSecuritySchemeSchema>,
}

/// A security scheme (OpenAPI 3.1 Security Scheme Object, HTTP kind).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiSecuritySchemeSchema {
    /// `http`.
    #[schema(rename = "type")]
    kind: String,
    /// `bearer`.
    scheme: String,
    /// The token's form.
    #[schema(rename = "bearerFormat")]
    bearer_format: Option<String>,
}

/// A tag operations are grouped by.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // A description of a shape; never built.
pub struct OpenApiTagSchema {
    /// The tag.
    name: String,
    /// What it groups.
    description: Option<String>,
}
