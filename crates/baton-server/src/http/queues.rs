//! `PUT /api/v1/admin/tenants/{tenant}/services/{service}/queue-limits`: how many customers
//! a service lets wait, and for how long (see [`baton_core::limits`]).

use axum::extract::{Path, State};
use axum::routing::put;
use axum::{Json, Router};
use baton_core::{AdminCommand, Command, TenantId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::ErrorBody;
use super::{AdminAuth, ApiJson};
use crate::app::AppState;
use crate::engine::Extra;
use crate::error::HttpResult;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/admin/tenants/{tenant}/services/{service}/queue-limits",
        put(set_queue_limits),
    )
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueLimits {
    /// Customers waiting at most (unanswered); a new one beyond is refused with 429
    /// `rate_limited`. `null` = the server's default, 0 = no limit.
    #[serde(default)]
    #[schema(minimum = 0)]
    max_queue_length: Option<u32>,
    /// Longest unanswered wait in milliseconds, after which the chat ends with a message
    /// to the customer. `null` = the server's default, 0 = no limit.
    #[serde(default)]
    #[schema(minimum = 0)]
    max_queue_wait_ms: Option<u64>,
}

/// Sets a service's queue limits; answers them.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/services/{service}/queue-limits", request_body = QueueLimits, security(("admin" = [])),
    params(("tenant" = String, Path), ("service" = String, Path, description = "the service's name")),
    responses((status = 200, body = QueueLimits), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_queue_limits(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, service)): Path<(String, String)>,
    ApiJson(body): ApiJson<QueueLimits>,
) -> HttpResult<Json<serde_json::Value>> {
    let command = AdminCommand::SetQueueLimits {
        tenant: TenantId(tenant),
        service,
        max_queue_length: body.max_queue_length,
        max_queue_wait_ms: body.max_queue_wait_ms,
    };
    Ok(Json(
        state
            .engine
            .call(Command::Admin(command), Extra::default())
            .await?,
    ))
}
