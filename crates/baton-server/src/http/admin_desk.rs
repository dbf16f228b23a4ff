//! `/api/v1/admin/tenants/{tenant}/…` for the agent desktop's directory: not-ready reasons,
//! DID numbers, teams, a service's dispositions and an integration's `config`.
//! Each `PUT` replaces the whole thing and answers what is now stored; each `GET` reads it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use baton_core::directory::DidInput;
use baton_core::{AdminCommand, Command, DirectoryCommand, DirectoryRead, TenantId};
use baton_protocol::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::admin::ErrorBody;
use super::{AdminAuth, ApiJson};
use crate::app::AppState;
use crate::engine::Extra;
use crate::error::HttpResult;
use crate::query::Query;
use crate::settings::DispositionEntry;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/admin/tenants/{tenant}/not-ready-reasons",
            get(get_not_ready_reasons).put(put_not_ready_reasons),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/did-numbers",
            get(get_did_numbers).put(put_did_numbers),
        )
        .route("/api/v1/admin/tenants/{tenant}/teams", get(get_teams))
        .route(
            "/api/v1/admin/tenants/{tenant}/teams/{team}",
            put(put_team).delete(delete_team),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/services/{service}/dispositions",
            get(get_dispositions).put(put_dispositions),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/integrations/{key}/config",
            get(get_integration_config).put(put_integration_config),
        )
}

async fn change(state: &AppState, command: DirectoryCommand) -> HttpResult<Json<Value>> {
    let answer = state
        .engine
        .call(
            Command::Admin(AdminCommand::Directory(command)),
            Extra::default(),
        )
        .await?;
    Ok(Json(answer))
}

async fn read(state: &AppState, tenant: String, read: DirectoryRead) -> HttpResult<Json<Value>> {
    let answer: Result<Value, ApiError> = state
        .engine
        .query(Query::Directory {
            tenant: TenantId(tenant),
            read,
        })
        .await?;
    Ok(Json(answer?))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotReadyReasons {
    /// The reasons agents may give for `not_ready`; empty allows any reason.
    not_ready_reasons: Vec<String>,
}

/// `{notReadyReasons: […]}` or the bare list.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NotReadyReasonsBody {
    Object(NotReadyReasons),
    List(Vec<String>),
}

/// Replaces the tenant's not-ready reasons.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/not-ready-reasons", request_body = NotReadyReasonsBody, security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = NotReadyReasons), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_not_ready_reasons(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<NotReadyReasonsBody>,
) -> HttpResult<Json<Value>> {
    let reasons = match body {
        NotReadyReasonsBody::Object(o) => o.not_ready_reasons,
        NotReadyReasonsBody::List(list) => list,
    };
    let command = DirectoryCommand::SetNotReadyReasons {
        tenant: TenantId(tenant),
        reasons,
    };
    change(&state, command).await
}

/// The tenant's not-ready reasons.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/not-ready-reasons", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = NotReadyReasons), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_not_ready_reasons(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<Json<Value>> {
    read(&state, tenant, DirectoryRead::NotReadyReasons).await
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct DidNumberBody {
    #[schema(min_length = 1, max_length = 200, pattern = r"[0-9A-Za-z]")]
    number: String,
    #[serde(rename = "isSMS", default)]
    is_sms: bool,
    #[serde(rename = "isVoice", default = "yes")]
    is_voice: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DidNumbers {
    did_numbers: Vec<DidNumberBody>,
}

/// `{didNumbers: […]}` or the bare list.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DidNumbersBody {
    Object(DidNumbers),
    List(Vec<DidNumberBody>),
}

/// Replaces the tenant's DID numbers. Each gets the id `did-<digits>`.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/did-numbers", request_body = DidNumbersBody, security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_did_numbers(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<DidNumbersBody>,
) -> HttpResult<Json<Value>> {
    let list = match body {
        DidNumbersBody::Object(o) => o.did_numbers,
        DidNumbersBody::List(list) => list,
    };
    let command = DirectoryCommand::SetDidNumbers {
        tenant: TenantId(tenant),
        numbers: list
            .into_iter()
            .map(|d| DidInput {
                number: d.number,
                is_sms: d.is_sms,
                is_voice: d.is_voice,
            })
            .collect(),
    };
    change(&state, command).await
}

/// The tenant's DID numbers, with their ids.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/did-numbers", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_did_numbers(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<Json<Value>> {
    read(&state, tenant, DirectoryRead::DidNumbers).await
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamBody {
    /// Default: true when the team has supervisors.
    is_supervised: Option<bool>,
    /// Usernames of the team's agents.
    #[serde(default)]
    members: Vec<String>,
    /// Usernames of its supervisors.
    #[serde(default)]
    supervisors: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    id: String,
    name: String,
    is_supervised: bool,
    members: Vec<String>,
    supervisors: Vec<String>,
}

/// Creates or replaces a team (its id is its name; `all` is built in).
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/teams/{team}", request_body = TeamBody, security(("admin" = [])),
    params(("tenant" = String, Path), ("team" = String, Path)),
    responses((status = 200, body = TeamView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_team(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, team)): Path<(String, String)>,
    ApiJson(body): ApiJson<TeamBody>,
) -> HttpResult<Json<Value>> {
    let command = DirectoryCommand::PutTeam {
        tenant: TenantId(tenant),
        name: team,
        is_supervised: body.is_supervised,
        members: body.members,
        supervisors: body.supervisors,
    };
    change(&state, command).await
}

/// Deletes a team.
#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant}/teams/{team}", security(("admin" = [])),
    params(("tenant" = String, Path), ("team" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_team(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, team)): Path<(String, String)>,
) -> HttpResult<StatusCode> {
    let command = DirectoryCommand::DeleteTeam {
        tenant: TenantId(tenant),
        name: team,
    };
    let _ = change(&state, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's teams (without the built-in `all`).
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/teams", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = [TeamView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_teams(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<Json<Value>> {
    read(&state, tenant, DirectoryRead::Teams).await
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dispositions {
    /// Default: true when dispositions are given.
    use_dispositions: Option<bool>,
    /// Completing needs a disposition first (error 16); needs at least one disposition.
    #[serde(default)]
    require_disposition: bool,
    #[serde(default)]
    dispositions: Vec<DispositionEntry>,
}

/// Replaces a service's dispositions (the service by name or id). Each disposition's id is
/// `<serviceId>:<code>`.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/services/{service}/dispositions", request_body = Dispositions, security(("admin" = [])),
    params(("tenant" = String, Path), ("service" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_dispositions(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, service)): Path<(String, String)>,
    ApiJson(body): ApiJson<Dispositions>,
) -> HttpResult<Json<Value>> {
    let command = DirectoryCommand::SetDispositions {
        tenant: TenantId(tenant),
        service,
        use_dispositions: body
            .use_dispositions
            .unwrap_or(!body.dispositions.is_empty()),
        require_disposition: body.require_disposition,
        dispositions: body.dispositions.into_iter().map(Into::into).collect(),
    };
    change(&state, command).await
}

/// A service's dispositions.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/services/{service}/dispositions", security(("admin" = [])),
    params(("tenant" = String, Path), ("service" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_dispositions(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, service)): Path<(String, String)>,
) -> HttpResult<Json<Value>> {
    read(&state, tenant, DirectoryRead::Dispositions { service }).await
}

/// Replaces an integration's `config`, the JSON object its hosts get from `getConfig`.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/integrations/{key}/config", request_body = Object, security(("admin" = [])),
    params(("tenant" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_integration_config(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, key)): Path<(String, String)>,
    ApiJson(config): ApiJson<serde_json::Map<String, Value>>,
) -> HttpResult<Json<Value>> {
    let command = DirectoryCommand::SetIntegrationConfig {
        tenant: TenantId(tenant),
        key,
        config,
    };
    change(&state, command).await
}

/// An integration's `config`.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/integrations/{key}/config", security(("admin" = [])),
    params(("tenant" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_integration_config(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, key)): Path<(String, String)>,
) -> HttpResult<Json<Value>> {
    read(&state, tenant, DirectoryRead::IntegrationConfig { key }).await
}
