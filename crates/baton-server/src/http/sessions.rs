//! Logins: `POST /api/v1/sessions` gives an agent session (the widget, the SDK, the agent
//! socket); `POST /api/v1/supervisor/sessions` gives a supervisor-console session, which
//! reads the supervisor feed only and leaves the agent's widget logged in;
//! `DELETE /api/v1/sessions/current` ends the session of the bearer token.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, post};
use axum::{Json, Router};
use baton_core::{AdminCommand, Command, SessionId, TenantId};
use baton_protocol::ErrorCode;
use baton_store::{Credential, SessionRecord, SessionScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use crate::app::AppState;
use crate::auth;
use crate::error::{HttpError, HttpResult};
use crate::login_guard::{Busy, MAX_NAME_CHARS, MAX_PASSWORD_BYTES};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", post(login))
        .route("/api/v1/supervisor/sessions", post(supervisor_login))
        .route("/api/v1/sessions/current", delete(logout))
}

#[derive(Deserialize, ToSchema)]
pub struct Login {
    tenant: String,
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    token: String,
    agent_id: String,
}

/// Logs an agent in. Wrong tenant, username or password all answer 401 `invalid_credentials`.
/// An agent logs in: the session opens the agent socket. It replaces the agent's previous
/// agent session (whose socket is told 100 `forced_logout_by_other_client`).
#[utoipa::path(post, path = "/api/v1/sessions", request_body = Login,
    responses((status = 201, body = SessionCreated), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 429, body = super::admin::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Login>,
) -> HttpResult<(StatusCode, Json<SessionCreated>)> {
    let credential = check_credentials(&state, peer, body).await?;
    open_session(&state, credential, SessionScope::Agent).await
}

/// A supervisor logs in to the console: the session reads the supervisor feed and cannot
/// open an agent socket, so the supervisor's own widget stays logged in. 403 code 1 for an
/// agent without the supervisor role.
#[utoipa::path(post, path = "/api/v1/supervisor/sessions", request_body = Login,
    responses((status = 201, body = SessionCreated), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 429, body = super::admin::ErrorBody)))]
async fn supervisor_login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Login>,
) -> HttpResult<(StatusCode, Json<SessionCreated>)> {
    let credential = check_credentials(&state, peer, body).await?;
    let allowed: bool = state
        .engine
        .query(crate::query::Query::IsSupervisor(credential.agent.clone()))
        .await?;
    if !allowed {
        return Err(HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            "this agent has no supervisor role",
        ));
    }
    open_session(&state, credential, SessionScope::Supervisor).await
}

/// Ends the session of the bearer token, whatever its scope; a socket logged in with it
/// is told 111 `invalid_token` and logged out.
#[utoipa::path(delete, path = "/api/v1/sessions/current", security(("session" = [])),
    responses((status = 204), (status = 401, body = super::admin::ErrorBody)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> HttpResult<StatusCode> {
    let token = super::bearer_of(&headers).ok_or_else(super::missing_token)?;
    let session = super::live_session(&state, token).await?;
    let extra = crate::engine::Extra {
        revocations: vec![crate::engine::Revocation::Session(session.session.clone())],
        ..Default::default()
    };
    let command = AdminCommand::EndSession {
        tenant: session.tenant,
        session: session.session,
    };
    state.engine.call(Command::Admin(command), extra).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks a login under the login guard (decision 0008): lengths first, then the limiter,
/// then the password on the bounded hashing threads. Only failures count against the limits.
async fn check_credentials(
    state: &AppState,
    peer: SocketAddr,
    body: Login,
) -> HttpResult<Credential> {
    use std::sync::atomic::Ordering::Relaxed;
    // Lengths first: nothing longer than what creation accepts is hashed or kept as a key.
    for (what, value) in [("tenant", &body.tenant), ("username", &body.username)] {
        if value.chars().count() > MAX_NAME_CHARS {
            return Err(HttpError::new(
                ErrorCode::InvalidArgs,
                format!("{what} must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
    }
    if body.password.len() > MAX_PASSWORD_BYTES {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("password must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    // For the log: whatever the client sent, without control characters (no forged log
    // lines) and cut short.
    let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(100).collect() };
    let (who_tenant, who) = (clean(&body.tenant), clean(&body.username));
    let ticket = match state.limiter.admit(&body.tenant, &body.username, peer.ip()) {
        Ok(ticket) => ticket,
        Err(refusal) => {
            tracing::warn!(event = "login_rate_limited", tenant = %who_tenant, username = %who,
                "login refused: too many attempts");
            state.metrics.logins_rate_limited.fetch_add(1, Relaxed);
            return Err(HttpError::new(ErrorCode::RateLimited, refusal.message()));
        }
    };
    let tenant = TenantId(body.tenant);
    let store = state.store.clone();
    let (username, password) = (body.username, body.password);
    let checked = state
        .passwords
        .run(move || {
            let credential = store.credential(&tenant, &username)?;
            let hash = credential
                .as_ref()
                .map_or(auth::dummy_hash(), |c| c.password_hash.as_str());
            let ok = auth::verify_password(hash, &password);
            Ok::<_, baton_store::StoreError>(credential.filter(|_| ok))
        })
        .await;
    let credential = match checked {
        Ok(result) => result.map_err(|e| HttpError::internal("login", e))?,
        Err(Busy) => {
            // Never judged: it does not count as a failure.
            state.limiter.succeeded(ticket);
            state.metrics.logins_rate_limited.fetch_add(1, Relaxed);
            return Err(HttpError::new(
                ErrorCode::RateLimited,
                "the server is busy checking other logins; try again shortly",
            ));
        }
    };
    let Some(credential) = credential else {
        tracing::warn!(event = "login_failed", tenant = %who_tenant, username = %who,
            "login failed: wrong tenant, username or password");
        state.metrics.logins_failed.fetch_add(1, Relaxed);
        return Err(HttpError::new(
            ErrorCode::InvalidCredentials,
            "wrong tenant, username or password",
        ));
    };
    state.limiter.succeeded(ticket);
    Ok(credential)
}

/// Stores a new session of `scope` for a checked credential, replacing the agent's previous
/// session of that scope in the same transaction.
async fn open_session(
    state: &AppState,
    credential: Credential,
    scope: SessionScope,
) -> HttpResult<(StatusCode, Json<SessionCreated>)> {
    use std::sync::atomic::Ordering::Relaxed;
    let disabled: Option<bool> = state
        .engine
        .query(crate::query::Query::AgentDisabled(credential.agent.clone()))
        .await?;
    if disabled != Some(false) {
        return Err(HttpError::new(
            ErrorCode::UserDisabledOrDeleted,
            "this agent is disabled or deleted",
        ));
    }
    let token = auth::new_token();
    let record = SessionRecord {
        token_hash: auth::token_hash(&token),
        session: SessionId(auth::new_id("session")),
        agent: credential.agent.clone(),
        tenant: credential.tenant,
        expires_at: state.clock.now() + state.settings.session_ttl_secs as i64 * 1000,
        scope,
    };
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.create_session(&record))
        .await
        .map_err(|e| HttpError::internal("session storage", e))?
        .map_err(|e| HttpError::internal("session storage", e))?;
    state.metrics.logins_ok.fetch_add(1, Relaxed);
    tracing::info!(agent = %credential.agent, scope = scope.as_str(), "agent logged in");
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            token,
            agent_id: credential.agent.0,
        }),
    ))
}
