//! `/api/v1/admin/tenants/{tenant}/…`: the life of agents after creation (list, update,
//! disable, delete), their sessions (list, revoke) and the tenant's ingress tokens (list,
//! revoke). A disabled or deleted agent's socket is told 107 `user_disabled_or_deleted`
//! and closed; a revoked session's socket is told 111 `invalid_token`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use baton_core::{AdminCommand, AgentId, Command, SessionId, TenantId};
use baton_protocol::{ErrorCode, Millis};
use baton_store::Credential;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::admin::{ErrorBody, hash_on_password_threads};
use super::{AdminAuth, ApiJson};
use crate::app::AppState;
use crate::engine::{Extra, Revocation};
use crate::error::{HttpError, HttpResult};
use crate::login_guard::{MAX_NAME_CHARS, MAX_PASSWORD_BYTES};
use crate::query::Query;

/// How many characters of a token's SHA-256 (hex) name it in the admin API.
const TOKEN_ID_CHARS: usize = 16;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/tenants/{tenant}/agents", get(list_agents))
        .route(
            "/api/v1/admin/tenants/{tenant}/agents/{agent}",
            get(get_agent).patch(update_agent).delete(delete_agent),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/sessions",
            get(list_sessions),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/sessions/{session}",
            delete(revoke_session),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/ingress-tokens",
            get(list_ingress_tokens),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/ingress-tokens/{id}",
            delete(revoke_ingress_token),
        )
}

fn too_long(what: &str, value: &str) -> HttpResult<()> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("{what} must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The tenant of an admin path, or 404 `object_not_found`.
pub(crate) async fn require_tenant(state: &AppState, tenant: &str) -> HttpResult<TenantId> {
    too_long("tenant", tenant)?;
    let tenant = TenantId(tenant.to_owned());
    let exists: bool = state
        .engine
        .query(Query::TenantExists(tenant.clone()))
        .await?;
    if !exists {
        return Err(HttpError::new(
            ErrorCode::ObjectNotFound,
            format!("no tenant {tenant}"),
        ));
    }
    Ok(tenant)
}

/// An agent as the admin API shows it.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    id: String,
    username: String,
    display_name: String,
    extension: Option<String>,
    services: Vec<String>,
    max_chats: u32,
    disabled: bool,
    logged_in: bool,
}

/// The agent named by id or username in `tenant`, or 404.
async fn find_agent(state: &AppState, tenant: &TenantId, key: &str) -> HttpResult<AgentView> {
    too_long("agent", key)?;
    let view: Option<AgentView> = state
        .engine
        .query(Query::AgentView {
            tenant: tenant.clone(),
            key: key.to_owned(),
        })
        .await?;
    view.ok_or_else(|| HttpError::new(ErrorCode::ObjectNotFound, format!("no agent {key:?}")))
}

/// Lists a tenant's agents, by username.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/agents", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = [AgentView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_agents(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<Json<Vec<AgentView>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    Ok(Json(state.engine.query(Query::AgentsOf(tenant)).await?))
}

/// One agent, by id or username.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/agents/{agent}", security(("admin" = [])),
    params(("tenant" = String, Path), ("agent" = String, Path, description = "agent id or username")),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_agent(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, agent)): Path<(String, String)>,
) -> HttpResult<Json<AgentView>> {
    let tenant = require_tenant(&state, &tenant).await?;
    Ok(Json(find_agent(&state, &tenant, &agent).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAgent {
    /// A new password (4 to 1024 bytes). The current session stays valid.
    #[schema(min_length = 4, max_length = 1024)]
    password: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    display_name: Option<String>,
    /// Replaces the agent's services (names).
    services: Option<Vec<String>>,
    /// `true` logs the agent out (107 on its socket) and refuses its logins until `false`.
    disabled: Option<bool>,
}

/// Changes an agent's password, display name, services, or disables or enables it.
#[utoipa::path(patch, path = "/api/v1/admin/tenants/{tenant}/agents/{agent}", request_body = UpdateAgent, security(("admin" = [])),
    params(("tenant" = String, Path), ("agent" = String, Path, description = "agent id or username")),
    responses((status = 200, body = AgentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn update_agent(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, agent)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateAgent>,
) -> HttpResult<Json<AgentView>> {
    if let Some(name) = &body.display_name {
        if name.trim().is_empty() {
            return Err(HttpError::new(
                ErrorCode::InvalidArgs,
                "displayName must not be empty",
            ));
        }
        too_long("displayName", name)?;
    }
    for s in body.services.iter().flatten() {
        too_long("a service name", s)?;
    }
    if let Some(p) = &body.password
        && (p.len() < 4 || p.len() > MAX_PASSWORD_BYTES)
    {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("password must be 4 to {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let tenant = require_tenant(&state, &tenant).await?;
    let view = find_agent(&state, &tenant, &agent).await?;
    let id = AgentId(view.id.clone());
    let mut extra = Extra::default();
    if let Some(password) = body.password {
        extra.credentials.push(Credential {
            agent: id.clone(),
            tenant: tenant.clone(),
            username: view.username.clone(),
            password_hash: hash_on_password_threads(&state, password).await?,
        });
    }
    let command = AdminCommand::UpdateAgent {
        tenant: tenant.clone(),
        agent: id.clone(),
        display_name: body.display_name,
        services: body.services,
    };
    let mut answer = state.engine.call(Command::Admin(command), extra).await?;
    if let Some(disabled) = body.disabled {
        let extra = Extra {
            revocations: if disabled {
                vec![Revocation::AgentSessions(id.clone())]
            } else {
                vec![]
            },
            ..Extra::default()
        };
        let command = AdminCommand::SetAgentDisabled {
            tenant,
            agent: id,
            disabled,
        };
        answer = state.engine.call(Command::Admin(command), extra).await?;
    }
    serde_json::from_value(answer)
        .map(Json)
        .map_err(|e| HttpError::internal("agent view", e))
}

/// Deletes an agent: logged out (107 on its socket), its credential and sessions gone. Its
/// interactions' history keeps its id.
#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant}/agents/{agent}", security(("admin" = [])),
    params(("tenant" = String, Path), ("agent" = String, Path, description = "agent id or username")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_agent(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, agent)): Path<(String, String)>,
) -> HttpResult<StatusCode> {
    let tenant = require_tenant(&state, &tenant).await?;
    let view = find_agent(&state, &tenant, &agent).await?;
    let id = AgentId(view.id);
    let extra = Extra {
        revocations: vec![Revocation::Agent(id.clone())],
        ..Extra::default()
    };
    let command = AdminCommand::DeleteAgent { tenant, agent: id };
    state.engine.call(Command::Admin(command), extra).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A session as the admin API shows it: never its token.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    session_id: String,
    agent_id: String,
    /// Milliseconds since the epoch.
    expires_at: Millis,
    /// `agent` (widget and agent socket) or `supervisor` (the supervisor console only).
    #[schema(value_type = String)]
    scope: baton_store::SessionScope,
}

/// Lists a tenant's unexpired sessions, soonest to expire first.
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/sessions", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = [SessionView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<Json<Vec<SessionView>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let now = state.clock.now();
    let store = state.store.clone();
    let sessions = tokio::task::spawn_blocking(move || store.sessions(&tenant))
        .await
        .map_err(|e| HttpError::internal("session list", e))?
        .map_err(|e| HttpError::internal("session list", e))?;
    Ok(Json(
        sessions
            .into_iter()
            .filter(|s| s.expires_at > now)
            .map(|s| SessionView {
                session_id: s.session.0,
                agent_id: s.agent.0,
                expires_at: s.expires_at,
                scope: s.scope,
            })
            .collect(),
    ))
}

/// Revokes a session: its token opens nothing from now on, and a socket logged in with it
/// is told 111 `invalid_token` and logged out.
#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant}/sessions/{session}", security(("admin" = [])),
    params(("tenant" = String, Path), ("session" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_session(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, session)): Path<(String, String)>,
) -> HttpResult<StatusCode> {
    let tenant = require_tenant(&state, &tenant).await?;
    too_long("session", &session)?;
    let store = state.store.clone();
    let known = {
        let tenant = tenant.clone();
        tokio::task::spawn_blocking(move || store.sessions(&tenant))
            .await
            .map_err(|e| HttpError::internal("session lookup", e))?
            .map_err(|e| HttpError::internal("session lookup", e))?
            .iter()
            .any(|s| s.session.0 == session)
    };
    if !known {
        return Err(HttpError::new(
            ErrorCode::ObjectNotFound,
            format!("no session {session:?}"),
        ));
    }
    let session = SessionId(session);
    let extra = Extra {
        revocations: vec![Revocation::Session(session.clone())],
        ..Extra::default()
    };
    let command = AdminCommand::EndSession { tenant, session };
    state.engine.call(Command::Admin(command), extra).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An ingress token as the admin API shows it: the first 16 hex characters of its SHA-256,
/// enough to name it, useless to use it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct IngressTokenView {
    id: String,
}

/// Lists a tenant's ingress tokens (by id, never the token).
#[utoipa::path(get, path = "/api/v1/admin/tenants/{tenant}/ingress-tokens", security(("admin" = [])),
    params(("tenant" = String, Path)),
    responses((status = 200, body = [IngressTokenView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_ingress_tokens(
    State(state): State<AppState>,
    _: AdminAuth,
    Path(tenant): Path<String>,
) -> HttpResult<Json<Vec<IngressTokenView>>> {
    let tenant = require_tenant(&state, &tenant).await?;
    let store = state.store.clone();
    let hashes = tokio::task::spawn_blocking(move || store.ingress_tokens(&tenant))
        .await
        .map_err(|e| HttpError::internal("token list", e))?
        .map_err(|e| HttpError::internal("token list", e))?;
    Ok(Json(
        hashes
            .into_iter()
            .map(|h| IngressTokenView {
                id: h.chars().take(TOKEN_ID_CHARS).collect(),
            })
            .collect(),
    ))
}

/// Revokes an ingress token by its id: requests with it answer 401 from now on.
#[utoipa::path(delete, path = "/api/v1/admin/tenants/{tenant}/ingress-tokens/{id}", security(("admin" = [])),
    params(("tenant" = String, Path), ("id" = String, Path, description = "the id from the list")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_ingress_token(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, id)): Path<(String, String)>,
) -> HttpResult<StatusCode> {
    let tenant = require_tenant(&state, &tenant).await?;
    if id.len() != TOKEN_ID_CHARS || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("an ingress token id is {TOKEN_ID_CHARS} hex characters"),
        ));
    }
    let store = state.store.clone();
    let id = id.to_ascii_lowercase();
    let removed = tokio::task::spawn_blocking(move || store.revoke_ingress_token(&tenant, &id))
        .await
        .map_err(|e| HttpError::internal("token revocation", e))?
        .map_err(|e| HttpError::internal("token revocation", e))?;
    if removed == 0 {
        return Err(HttpError::new(
            ErrorCode::ObjectNotFound,
            "no such ingress token",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}
