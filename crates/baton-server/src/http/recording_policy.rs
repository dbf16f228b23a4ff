//! `PUT /api/v1/admin/tenants/{tenant}/services/{service}/recording`: whether a service's
//! calls are recorded from their start, overriding the tenant's policy (tenant settings,
//! `recordCalls`) and the server's `[media] record_calls` (docs/voice.md, "Recording").

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
        "/api/v1/admin/tenants/{tenant}/services/{service}/recording",
        put(set_recording_policy),
    )
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordingPolicy {
    /// `true`: every call of the service is recorded from its start (agents may still stop
    /// it); `false`: only calls an agent records; `null`: the tenant's policy.
    #[serde(default)]
    record_calls: Option<bool>,
}

/// Sets a service's recording policy; answers it.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/services/{service}/recording", request_body = RecordingPolicy, security(("admin" = [])),
    params(("tenant" = String, Path), ("service" = String, Path, description = "the service's name")),
    responses((status = 200, body = RecordingPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_recording_policy(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, service)): Path<(String, String)>,
    ApiJson(body): ApiJson<RecordingPolicy>,
) -> HttpResult<Json<serde_json::Value>> {
    let command = AdminCommand::SetServiceRecording {
        tenant: TenantId(tenant),
        service,
        record_calls: body.record_calls,
    };
    Ok(Json(
        state
            .engine
            .call(Command::Admin(command), Extra::default())
            .await?,
    ))
}
