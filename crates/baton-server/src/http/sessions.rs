//! `POST /api/v1/sessions`: an agent logs in and gets a session token.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use baton_core::{SessionId, TenantId};
use baton_protocol::ErrorCode;
use baton_store::SessionRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use crate::app::AppState;
use crate::auth;
use crate::error::{HttpError, HttpResult};
use crate::login_guard::{Busy, MAX_NAME_CHARS, MAX_PASSWORD_BYTES};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/sessions", post(login))
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
#[utoipa::path(post, path = "/api/v1/sessions", request_body = Login,
    responses((status = 201, body = SessionCreated), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 429, body = super::admin::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Login>,
) -> HttpResult<(StatusCode, Json<SessionCreated>)> {
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
    };
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.create_session(&record))
        .await
        .map_err(|e| HttpError::internal("session storage", e))?
        .map_err(|e| HttpError::internal("session storage", e))?;
    state.metrics.logins_ok.fetch_add(1, Relaxed);
    tracing::info!(agent = %credential.agent, "agent logged in");
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            token,
            agent_id: credential.agent.0,
        }),
    ))
}
