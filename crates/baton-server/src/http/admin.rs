//! `/api/v1/admin/…`: tenants, services, agents, integrations, settings, ingress tokens;
//! and the admin reads of interactions and their transfer history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use baton_core::{
    AdminCommand, AgentId, Command, InteractionId, ServiceId, TenantId, TenantSettings,
};
use baton_protocol::{Channel, ErrorCode, InteractionSummary, TransferRecord};
use baton_store::{Batch, Credential};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AdminAuth, ApiJson};
use crate::app::AppState;
use crate::auth;
use crate::engine::Extra;
use crate::error::{HttpError, HttpResult};
use crate::query::Query;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/tenants", post(create_tenant))
        .route(
            "/api/v1/admin/tenants/{tenant}/services",
            post(create_service),
        )
        .route("/api/v1/admin/tenants/{tenant}/agents", post(create_agent))
        .route(
            "/api/v1/admin/tenants/{tenant}/integrations",
            post(create_integration),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/settings",
            put(update_settings),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/ingress-tokens",
            post(create_ingress_token),
        )
        .route("/api/v1/interactions/{id}", get(get_interaction))
        .route("/api/v1/interactions/{id}/transfers", get(get_transfers))
}

async fn admin(
    state: &AppState,
    command: AdminCommand,
    extra: Extra,
) -> HttpResult<serde_json::Value> {
    Ok(state.engine.call(Command::Admin(command), extra).await?)
}

fn check_name(what: &str, value: &str) -> HttpResult<()> {
    if value.trim().is_empty() || value.len() > 200 {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("{what} must be 1 to 200 characters"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTenant {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantCreated {
    name: String,
}

/// Creates a tenant.
#[utoipa::path(post, path = "/api/v1/admin/tenants", request_body = CreateTenant, security(("admin" = [])),
    responses((status = 201, body = TenantCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    _: AdminAuth,
    ApiJson(body): ApiJson<CreateTenant>,
) -> HttpResult<(StatusCode, Json<TenantCreated>)> {
    check_name("name", &body.name)?;
    admin(
        &state,
        AdminCommand::CreateTenant {
            id: TenantId(body.name.clone()),
            settings: TenantSettings::default(),
        },
        Extra::default(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(TenantCreated { name: body.name })))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateService {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    channels: Vec<Channel>,
    #[schema(minimum = 1000, maximum = 600000)]
    ring_timeout_ms: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceCreated {
    id: String,
    name: String,
}

/// Creates a service (a queue) of a tenant.
#[utoipa::path(post, path = "/api/v1/admin/tenants/{tenant}/services", request_body = CreateService, security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 201, body = ServiceCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_service(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<CreateService>,
) -> HttpResult<(StatusCode, Json<ServiceCreated>)> {
    check_name("name", &body.name)?;
    let ring = body.ring_timeout_ms.unwrap_or(20_000);
    if !(1_000..=600_000).contains(&ring) {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            "ringTimeoutMs must be 1000..=600000",
        ));
    }
    let id = ServiceId(auth::new_id("svc"));
    let command = AdminCommand::CreateService {
        id: id.clone(),
        tenant: TenantId(tenant),
        name: body.name.clone(),
        channels: body.channels,
        ring_timeout_ms: ring,
    };
    admin(&state, command, Extra::default()).await?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceCreated {
            id: id.0,
            name: body.name,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgent {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    username: String,
    #[schema(min_length = 4, max_length = 1024)]
    password: String,
    display_name: Option<String>,
    extension: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[schema(minimum = 1, maximum = 50)]
    max_chats: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentCreated {
    id: String,
    username: String,
}

/// Creates an agent. The password is stored as an argon2id hash.
#[utoipa::path(post, path = "/api/v1/admin/tenants/{tenant}/agents", request_body = CreateAgent, security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 201, body = AgentCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_agent(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<CreateAgent>,
) -> HttpResult<(StatusCode, Json<AgentCreated>)> {
    check_name("username", &body.username)?;
    if body.password.len() < 4 || body.password.len() > 1024 {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            "password must be 4 to 1024 characters",
        ));
    }
    let max_chats = body.max_chats.unwrap_or(3);
    if !(1..=50).contains(&max_chats) {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            "maxChats must be 1..=50",
        ));
    }
    let password = body.password;
    let hash = hash_on_password_threads(&state, password).await?;
    let tenant = TenantId(tenant);
    let id = AgentId(auth::new_id("agent"));
    let extra = Extra {
        credentials: vec![Credential {
            agent: id.clone(),
            tenant: tenant.clone(),
            username: body.username.clone(),
            password_hash: hash,
        }],
        ..Extra::default()
    };
    let command = AdminCommand::CreateAgent {
        id: id.clone(),
        tenant,
        username: body.username.clone(),
        display_name: body.display_name.unwrap_or_else(|| body.username.clone()),
        extension: body.extension,
        services: body.services,
        max_chats,
    };
    admin(&state, command, extra).await?;
    Ok((
        StatusCode::CREATED,
        Json(AgentCreated {
            id: id.0,
            username: body.username,
        }),
    ))
}

/// Hashes a new password on the password threads (never the blocking pool commits use).
pub(crate) async fn hash_on_password_threads(
    state: &AppState,
    password: String,
) -> HttpResult<String> {
    state
        .passwords
        .run(move || auth::hash_password(&password))
        .await
        .map_err(|_| {
            HttpError::new(
                ErrorCode::RateLimited,
                "the server is busy hashing passwords; try again shortly",
            )
        })?
        .map_err(|e| HttpError::internal("password hashing", e))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateIntegration {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    integration_key: String,
    name: String,
    #[serde(default)]
    #[schema(inline, value_type = Vec<String>, pattern = r"^https?://[^/]+$")]
    allowed_origins: Vec<String>,
}

/// Registers a CRM integration and the origins allowed to host it.
#[utoipa::path(post, path = "/api/v1/admin/tenants/{tenant}/integrations", request_body = CreateIntegration, security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 201, body = CreateIntegration), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_integration(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<CreateIntegration>,
) -> HttpResult<(StatusCode, Json<CreateIntegration>)> {
    check_name("integrationKey", &body.integration_key)?;
    for origin in &body.allowed_origins {
        if !(origin.starts_with("http://") || origin.starts_with("https://"))
            || origin.ends_with('/')
        {
            return Err(HttpError::new(
                ErrorCode::InvalidArgs,
                format!("{origin:?} is not an origin like https://crm.example.com"),
            ));
        }
    }
    let command = AdminCommand::CreateIntegration {
        tenant: TenantId(tenant),
        key: body.integration_key.clone(),
        name: body.name.clone(),
        allowed_origins: body.allowed_origins.clone(),
    };
    admin(&state, command, Extra::default()).await?;
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSettings {
    #[schema(minimum = 100, maximum = 30000)]
    transfer_data_timeout_ms: Option<u64>,
    #[schema(minimum = 1, maximum = 1048576)]
    transfer_data_max_bytes: Option<usize>,
    retention_secs: Option<u64>,
    /// What an interaction keeps of DTMF keyed on its call (docs/voice.md, "DTMF").
    dtmf_log: Option<DtmfLogName>,
    /// The tenant's calls are recorded from their start (`true`) or only when an agent
    /// records them (`false`). Until set, the server's `[media] record_calls` applies; a
    /// service may override it.
    record_calls: Option<bool>,
}

/// `count`: who keyed a digit and when; `digits`: the digits too, sealed with the data key.
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum DtmfLogName {
    Count,
    Digits,
}

impl From<DtmfLogName> for baton_core::DtmfLog {
    fn from(name: DtmfLogName) -> Self {
        match name {
            DtmfLogName::Count => Self::Count,
            DtmfLogName::Digits => Self::Digits,
        }
    }
}

/// Changes a tenant's settings (transfer data, retention, calls); answers them all.
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/settings", request_body = UpdateSettings, security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = UpdateSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_settings(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<UpdateSettings>,
) -> HttpResult<Json<serde_json::Value>> {
    let command = AdminCommand::UpdateSettings {
        tenant: TenantId(tenant),
        transfer_data_timeout_ms: body.transfer_data_timeout_ms,
        transfer_data_max_bytes: body.transfer_data_max_bytes,
        retention_secs: body.retention_secs,
        dtmf_log: body.dtmf_log.map(Into::into),
        record_calls: body.record_calls,
    };
    Ok(Json(admin(&state, command, Extra::default()).await?))
}

#[derive(Serialize, ToSchema)]
pub struct IngressToken {
    token: String,
}

/// Issues an ingress token for the systems that bring customers in.
#[utoipa::path(post, path = "/api/v1/admin/tenants/{tenant}/ingress-tokens", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 201, body = IngressToken), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_ingress_token(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<(StatusCode, Json<IngressToken>)> {
    let tenant = super::admin_agents::require_tenant(&state, &tenant).await?;
    let token = auth::new_token();
    let mut batch = Batch::default();
    batch
        .ingress_tokens
        .push((auth::token_hash(&token), tenant));
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.commit(&batch))
        .await
        .map_err(|e| HttpError::internal("token storage", e))?
        .map_err(|e| HttpError::internal("token storage", e))?;
    Ok((StatusCode::CREATED, Json(IngressToken { token })))
}

/// An interaction with its parties and state, live or completed.
#[utoipa::path(get, path = "/api/v1/interactions/{id}", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = InteractionSummary), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_interaction(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(id): Path<String>,
) -> HttpResult<Json<InteractionSummary>> {
    let id = InteractionId(id);
    let store = state.store.clone();
    let stored = tokio::task::spawn_blocking({
        let id = id.clone();
        move || store.interaction(&id)
    })
    .await
    .map_err(|e| HttpError::internal("interaction lookup", e))?
    .map_err(|e| HttpError::internal("interaction lookup", e))?;
    let Some(stored) = stored else {
        return Err(HttpError::new(
            ErrorCode::ObjectNotFound,
            "no such interaction",
        ));
    };
    let mut summary: InteractionSummary = state
        .engine
        .query(Query::InteractionSummary(Box::new(stored)))
        .await?;
    crate::media::open_dtmf_log(state.settings.data_cipher.as_ref(), &mut summary);
    Ok(Json(summary))
}

/// Every transfer leg of an interaction: sizes and SHA-256 of the data, never the data.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/transfers", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = [TransferRecord]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_transfers(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(id): Path<String>,
) -> HttpResult<Json<Vec<TransferRecord>>> {
    let id = InteractionId(id);
    let store = state.store.clone();
    let (exists, legs) = tokio::task::spawn_blocking(move || {
        Ok::<_, baton_store::StoreError>((store.interaction(&id)?.is_some(), store.legs(&id)?))
    })
    .await
    .map_err(|e| HttpError::internal("history lookup", e))?
    .map_err(|e| HttpError::internal("history lookup", e))?;
    if !exists {
        return Err(HttpError::new(
            ErrorCode::ObjectNotFound,
            "no such interaction",
        ));
    }
    Ok(Json(legs.iter().map(baton_core::transfer_record).collect()))
}

/// The error body of every REST error.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: baton_protocol::ApiError,
}
