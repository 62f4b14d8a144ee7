//! Token administration on a running server: issue, revoke, list.
//!
//! A ledger folder is held by one process at a time, so while the server runs the command
//! line (`caseledger token issue|revoke|list --data DIR`) cannot open the token tree itself;
//! it asks the server, through these routes, with the local admin credential the server
//! wrote to `DIR/server-admin.json` (mode 0600) when it started. An Office token is accepted
//! too, so the county's administrators can manage tokens remotely. Changes go through the
//! server's [`crate::auth::TokenStore`]: written and flushed, then in force at once (a
//! revoked token is refused by the very next request).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use caseledger_domain::principal::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{bearer, TokenEntry, TokenError};
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::views::NoQuery;
use crate::AppState;

/// The admin routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/tokens", post(issue).get(list))
        .route("/api/v1/admin/tokens/{id}/revoke", post(revoke))
}

/// Who may administer tokens: the holder of the server's local admin credential, or an
/// Office token. Extracting it answers 401 without a valid credential and 403 for other roles.
#[derive(Debug, Clone)]
pub struct Admin {
    /// `local-admin`, or the Office token's user.
    pub user: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, ApiError> {
        let presented = bearer(parts)?;
        if state
            .admin_credential()
            .is_some_and(|credential| credential.matches(presented))
        {
            return Ok(Admin {
                user: "local-admin".into(),
            });
        }
        let principal = state
            .tokens()
            .authenticate_shared(presented)
            .ok_or(ApiError::Unauthenticated)?;
        if principal.role != Role::Office.as_str() {
            return Err(ApiError::forbidden(
                "只有领导小组办公室可以管理令牌",
                "Only the Office may manage tokens",
            ));
        }
        Ok(Admin {
            user: principal.user.clone(),
        })
    }
}

/// A token to issue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueTokenBody {
    /// `office`, `department`, `township`, `community`, `intake`, `court` or `firm`.
    pub role: String,
    /// The unit id in the registry (`township/dongping`, `housing`, `firm/<uscc>`).
    pub unit: String,
    /// The user recorded as the actor of every act done with the token (default
    /// `<role>@<unit>`).
    #[serde(default)]
    pub user: Option<String>,
}

/// A token entry, without its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    /// The token id (the middle part of the token).
    pub id: String,
    /// The role.
    pub role: String,
    /// The unit.
    pub unit: String,
    /// The user.
    pub user: String,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<TokenEntry> for TokenView {
    fn from(entry: TokenEntry) -> TokenView {
        TokenView {
            id: entry.id,
            role: entry.principal.role,
            unit: entry.principal.unit,
            user: entry.principal.user,
            issued_at: entry.issued_at,
            revoked_at: entry.revoked_at,
        }
    }
}

/// A freshly issued token. `token` is shown this once; only its hash is kept.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IssuedTokenBody {
    /// The whole token, for its holder.
    pub token: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: TokenView,
}

/// Every token, revoked ones included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    /// The entries, by id.
    pub tokens: Vec<TokenView>,
}

fn store_failed(error: TokenError) -> ApiError {
    match error {
        TokenError::Unknown(_) => ApiError::NotFound { what: "token" },
        TokenError::InvalidPrincipal(reason) => ApiError::Unprocessable {
            zh: format!("令牌持有人无效：{reason}"),
            en: format!("Invalid principal: {reason}"),
            field: None,
        },
        other => ApiError::internal(other),
    }
}

/// Issues a token bound to a role and unit (checked against the registry).
#[utoipa::path(post, path = "/api/v1/admin/tokens", tag = "admin", security(("bearer" = [])),
    request_body = IssueTokenBody,
    responses(
        (status = 201, description = "Issued; the token is shown this once", body = IssuedTokenBody),
        (status = 400, description = "A query string: this resource takes none", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or admin credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the Office", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown role, or a unit that does not fit it", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    admin: Admin,
    _: NoQuery,
    ApiJson(body): ApiJson<IssueTokenBody>,
) -> Result<Response, ApiError> {
    let principal =
        crate::run::checked_principal(state.rules(), &body.role, &body.unit, body.user.as_deref())
            .map_err(|error| ApiError::Unprocessable {
                zh: "无法为该角色和单位签发令牌".into(),
                en: error.0,
                field: None,
            })?;
    let tokens = state.tokens().clone();
    // The store flushes the ledger's store: off the async workers.
    let issued = tokio::task::spawn_blocking(move || tokens.issue(principal))
        .await
        .map_err(ApiError::internal)?
        .map_err(store_failed)?;
    let entry = state
        .tokens()
        .entry(&issued.id)
        .ok_or_else(|| ApiError::internal("issued token not in the store"))?;
    tracing::info!(admin = %admin.user, token_id = %issued.id, "token issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenBody {
            token: issued.token,
            entry: entry.into(),
        }),
    )
        .into_response())
}

/// Revokes a token: from this answer on, it is refused.
#[utoipa::path(post, path = "/api/v1/admin/tokens/{id}/revoke", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "The token id")),
    responses(
        (status = 200, description = "Revoked (revoking twice is not an error)", body = TokenView),
        (status = 400, description = "A query string: this resource takes none", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or admin credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the Office", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    _: NoQuery,
) -> Result<Json<TokenView>, ApiError> {
    let tokens = state.tokens().clone();
    let revoked_id = id.clone();
    let entry = tokio::task::spawn_blocking(move || tokens.revoke(&revoked_id))
        .await
        .map_err(ApiError::internal)?
        .map_err(store_failed)?;
    tracing::info!(admin = %admin.user, token_id = %id, "token revoked");
    Ok(Json(entry.into()))
}

/// Lists every token (ids and principals; secrets are never stored).
#[utoipa::path(get, path = "/api/v1/admin/tokens", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every token", body = TokenList),
        (status = 400, description = "A query string: this resource takes none", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or admin credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the Office", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    _: NoQuery,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.tokens().list().map_err(store_failed)?;
    Ok(Json(TokenList {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    }))
}
