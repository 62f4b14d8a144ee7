//! Workload and measures: what dashboards read from the projections.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use caseledger_domain::principal::{Principal, Role};
use caseledger_projections::measures::{Dimension, MeasureQueries, Measures, Months};
use caseledger_projections::workload::{Workload, WorkloadQueries};
use caseledger_projections::{Cursor, PageRequest, PAGE_RECORDS_MAX};
use chrono::{Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::principal_of;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::cases::now_us;
use crate::routes::views::ApiQuery;
use crate::AppState;

/// Units listed by `GET /workload` at most (the registry has far fewer).
const WORKLOAD_UNITS_MAX: usize = 2_000;

/// Days the workload period covers when the client names none.
const WORKLOAD_PERIOD_DAYS_DEFAULT: i64 = 30;

/// The report routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workload", get(workload_all))
        .route("/api/v1/workload/{*unit}", get(workload_unit))
        .route("/api/v1/measures", get(measures))
}

fn cst_today() -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    Utc::now().with_timezone(&cst).date_naive()
}

fn projection_failed(error: caseledger_projections::Error) -> ApiError {
    match error {
        caseledger_projections::Error::Argument { field, .. } => ApiError::BadRequest {
            zh: "查询参数无效".into(),
            en: format!("Invalid query: {error}"),
            field: Some(field.to_owned()),
        },
        other => ApiError::internal(format!("projection read: {other}")),
    }
}

/// Whether `principal` reads every unit's workload (the Office, the court and the county
/// dispatchers), or only its own.
fn reads_all_units(principal: &Principal) -> bool {
    matches!(principal.role, Role::Office | Role::Court) || principal.is_county_dispatcher()
}

/// The period of a workload report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day, `YYYY-MM-DD` in China Standard Time (default: the 30 days ending on `to`,
    /// that is 29 days before it).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (default: today).
    pub to: Option<NaiveDate>,
}

impl PeriodQuery {
    fn days(&self) -> (NaiveDate, NaiveDate) {
        let to = self.to.unwrap_or_else(cst_today);
        let from = self
            .from
            .unwrap_or(to - Duration::days(WORKLOAD_PERIOD_DAYS_DEFAULT - 1));
        (from, to)
    }
}

/// Workloads of units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkloadList {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// Each unit's workload: open, awaiting acceptance, in progress, overdue, the period's
    /// counts and handling times.
    #[schema(value_type = Vec<crate::openapi::WorkloadSchema>)]
    pub units: Vec<Workload>,
}

/// Every unit's workload (the caller's own unit only, unless it reads all).
#[utoipa::path(get, path = "/api/v1/workload", tag = "reports", security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "Workloads", body = WorkloadList),
        (status = 400, description = "Invalid period", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn workload_all(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(period): ApiQuery<PeriodQuery>,
) -> Result<Json<WorkloadList>, ApiError> {
    let principal = principal_of(&caller)?;
    if principal.role == Role::Public {
        return Err(ApiError::forbidden(
            "公众只能查看公开信息",
            "The public reads only the published endpoints",
        ));
    }
    let (from, to) = period.days();
    let as_of = state.ledger().head().position;
    let queries = WorkloadQueries::new(state.reader().clone());
    let units = if reads_all_units(&principal) {
        let mut units = Vec::new();
        let mut page = PageRequest::first(PAGE_RECORDS_MAX);
        loop {
            let listed = queries.units(&page).map_err(projection_failed)?;
            units.extend(listed.items);
            match listed.next {
                Some(Cursor(next)) if units.len() < WORKLOAD_UNITS_MAX => {
                    page.after = Some(Cursor(next))
                }
                _ => break,
            }
        }
        units
    } else {
        vec![principal.unit.as_str().to_owned()]
    };
    let at = now_us();
    let units = units
        .iter()
        .map(|unit| {
            queries
                .workload(unit, from, to, at)
                .map_err(projection_failed)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(WorkloadList { as_of, units }))
}

/// One unit's workload.
#[utoipa::path(get, path = "/api/v1/workload/{unit}", tag = "reports", security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit id (`township/dongping`, `housing`)"), PeriodQuery),
    responses(
        (status = 200, description = "The unit's workload", body = WorkloadList),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such unit, or not the caller's", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn workload_unit(
    State(state): State<AppState>,
    caller: Caller,
    Path(unit): Path<String>,
    ApiQuery(period): ApiQuery<PeriodQuery>,
) -> Result<Json<WorkloadList>, ApiError> {
    let principal = principal_of(&caller)?;
    let unit = unit.trim_start_matches('/').to_owned();
    if !reads_all_units(&principal) && principal.unit.as_str() != unit {
        return Err(ApiError::NotFound { what: "unit" });
    }
    let queries = WorkloadQueries::new(state.reader().clone());
    if !unit_known(&state, &queries, &unit)? {
        // A typo would otherwise read as a unit with no work at all.
        return Err(ApiError::NotFound { what: "unit" });
    }
    let (from, to) = period.days();
    let as_of = state.ledger().head().position;
    let workload = queries
        .workload(&unit, from, to, now_us())
        .map_err(projection_failed)?;
    Ok(Json(WorkloadList {
        as_of,
        units: vec![workload],
    }))
}

/// Whether `unit` is in the county's registry or has a workload (a unit retired from the
/// registry keeps its history).
fn unit_known(state: &AppState, queries: &WorkloadQueries, unit: &str) -> Result<bool, ApiError> {
    if crate::access::registered_kind(&state.rules().registry, unit).is_some() {
        return Ok(true);
    }
    let mut page = PageRequest::first(PAGE_RECORDS_MAX);
    loop {
        let listed = queries.units(&page).map_err(projection_failed)?;
        if listed.items.iter().any(|known| known == unit) {
            return Ok(true);
        }
        match listed.next {
            Some(next) => page.after = Some(next),
            None => return Ok(false),
        }
    }
}

/// How measures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// 乡镇.
    Township,
    /// The handling unit (department, township or community).
    Department,
    /// 物业企业.
    Firm,
    /// 类别.
    Category,
    /// Month by month, county-wide.
    Month,
}

/// What measures to compute.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeasuresQuery {
    /// Grouping; the county as a whole when absent.
    #[param(value_type = Option<String>)]
    pub group_by: Option<GroupBy>,
    /// First filing month, `YYYY-MM` (default: January of this year).
    pub from: Option<String>,
    /// Last filing month, inclusive (default: this month).
    pub to: Option<String>,
}

/// The county's measures: response, resolution and satisfaction rates and more.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasuresBody {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// First month.
    pub from: String,
    /// Last month.
    pub to: String,
    /// The grouping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<GroupBy>,
    /// One entry per group (or per month), with counts and rates.
    #[schema(value_type = Vec<crate::openapi::MeasuresSchema>)]
    pub groups: Vec<Measures>,
}

/// 接诉即办 measures: response rate 响应率, resolution rate 解决率, satisfaction rate 满意率,
/// on-time resolution, returns, repeats, handling time and overdue counts.
#[utoipa::path(get, path = "/api/v1/measures", tag = "reports", security(("bearer" = [])),
    params(MeasuresQuery),
    responses(
        (status = 200, description = "Measures", body = MeasuresBody),
        (status = 400, description = "Invalid months or grouping", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn measures(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<MeasuresQuery>,
) -> Result<Json<MeasuresBody>, ApiError> {
    principal_of(&caller)?;
    let today = cst_today();
    let to = query
        .to
        .clone()
        .unwrap_or_else(|| today.format("%Y-%m").to_string());
    let from = query
        .from
        .clone()
        .unwrap_or_else(|| today.format("%Y-01").to_string());
    let months = Months::new(&from, &to).map_err(projection_failed)?;
    let as_of = state.ledger().head().position;
    let queries = MeasureQueries::new(state.reader().clone());
    let at = now_us();
    let groups = match query.group_by {
        None => vec![queries
            .measures(Dimension::County, "", &months, at)
            .map_err(projection_failed)?],
        Some(GroupBy::Month) => queries
            .monthly(Dimension::County, "", &months, at)
            .map_err(projection_failed)?
            .into_iter()
            .map(|(month, measures)| Measures {
                value: month,
                ..measures
            })
            .collect(),
        Some(group) => {
            let dimension = match group {
                GroupBy::Township => Dimension::Township,
                GroupBy::Department => Dimension::Unit,
                GroupBy::Firm => Dimension::Firm,
                GroupBy::Category | GroupBy::Month => Dimension::Category,
            };
            queries
                .by(dimension, &months, at)
                .map_err(projection_failed)?
        }
    };
    Ok(Json(MeasuresBody {
        as_of,
        from,
        to,
        group_by: query.group_by,
        groups,
    }))
}
