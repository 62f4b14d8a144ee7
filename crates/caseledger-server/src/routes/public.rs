//! What the public reads, without a token: published credit grades and the red and black
//! lists (§六.(二) 信息依法公开). Built from firms' files only: no case, no complainant, no
//! personal data can reach these answers.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use caseledger_projections::firm::FirmQueries;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::routes::views::NoQuery;
use crate::AppState;

/// The public routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/public/credit", get(public_credit))
        .route("/api/v1/public/lists", get(public_lists))
}

/// A firm's published grade.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublishedGrade {
    /// 统一社会信用代码.
    pub uscc: String,
    /// The firm's name.
    pub name: String,
    /// The quarter graded (`2026-Q3`), if any grade was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarter: Option<String>,
    /// A, B, C or D.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// The score, in hundredths of a point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_hundredths: Option<i64>,
    /// 红榜.
    pub red_list: bool,
    /// 黑榜.
    pub black_list: bool,
}

/// Published grades of every firm.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicCredit {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// One entry per firm of the registry, in credit-code order.
    pub firms: Vec<PublishedGrade>,
}

/// The red and black lists.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicLists {
    /// The log position the projections reflect (at least).
    pub as_of: u64,
    /// 红榜.
    pub red: Vec<PublishedGrade>,
    /// 黑榜.
    pub black: Vec<PublishedGrade>,
}

fn published(state: &AppState) -> Result<Vec<PublishedGrade>, ApiError> {
    let queries = FirmQueries::new(state.reader().clone());
    let mut firms: Vec<PublishedGrade> = Vec::new();
    for unit in state.rules().registry.firms() {
        let Some(uscc) = unit.uscc.as_ref() else {
            continue;
        };
        let file = queries
            .file(uscc.as_str())
            .map_err(|error| ApiError::internal(format!("projection read: {error}")))?;
        let Some(file) = file else {
            continue;
        };
        let latest = file.latest.as_ref();
        firms.push(PublishedGrade {
            uscc: file.uscc.clone(),
            name: file.name.clone().unwrap_or_else(|| unit.name.clone()),
            quarter: latest.map(|grade| grade.quarter.clone()),
            grade: latest.map(|grade| grade.grade.clone()),
            score_hundredths: latest.map(|grade| grade.score_hundredths),
            red_list: file.red_list,
            black_list: file.black_list,
        });
    }
    firms.sort_by(|a, b| a.uscc.cmp(&b.uscc));
    Ok(firms)
}

/// Published credit grades of every registered firm. No token.
#[utoipa::path(get, path = "/api/v1/public/credit", tag = "public",
    responses((status = 200, description = "Grades", body = PublicCredit)))]
pub async fn public_credit(
    State(state): State<AppState>,
    _: NoQuery,
) -> Result<Json<PublicCredit>, ApiError> {
    let as_of = state.ledger().head().position;
    Ok(Json(PublicCredit {
        as_of,
        firms: published(&state)?,
    }))
}

/// The red and black lists. No token.
#[utoipa::path(get, path = "/api/v1/public/lists", tag = "public",
    responses((status = 200, description = "The lists", body = PublicLists)))]
pub async fn public_lists(
    State(state): State<AppState>,
    _: NoQuery,
) -> Result<Json<PublicLists>, ApiError> {
    let as_of = state.ledger().head().position;
    let firms = published(&state)?;
    Ok(Json(PublicLists {
        as_of,
        red: firms.iter().filter(|firm| firm.red_list).cloned().collect(),
        black: firms
            .iter()
            .filter(|firm| firm.black_list)
            .cloned()
            .collect(),
    }))
}
