//! The HTTP surface. One module per resource, merged here; REST errors all go through
//! [`crate::error::HttpError`].

pub mod admin;
pub mod admin_agents;
pub mod admin_desk;
pub mod agent_ws;
pub mod attachments;
pub mod customer_state;
pub mod customer_ws;
pub mod faults;
pub mod grants;
pub mod headers;
pub mod ingress;
pub mod ops;
pub mod queues;
pub mod recording_policy;
pub mod recordings;
pub mod sessions;
pub mod supervisor;
mod voice;
pub mod web;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use baton_core::{InteractionId, TenantId};
use baton_protocol::ErrorCode;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth;
use crate::error::HttpError;

pub fn router(state: AppState) -> Router {
    let limit = state.settings.limits.max_body_bytes;
    let faults = if state.settings.test_faults {
        faults::router()
    } else {
        Router::new()
    };
    let routes = Router::new()
        .merge(faults)
        .merge(admin::router())
        .merge(admin_desk::router())
        .merge(admin_agents::router())
        .merge(sessions::router())
        .merge(ingress::router())
        .merge(grants::router())
        .merge(queues::router())
        .merge(recording_policy::router())
        .merge(ops::router())
        .merge(agent_ws::router())
        .merge(customer_ws::router())
        .merge(customer_state::router())
        .merge(attachments::router(&state.settings.attachments))
        .merge(recordings::router())
        .merge(supervisor::router())
        .merge(web::router())
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    headers::layer(routes, state)
}

/// Refuses a new agent WebSocket when the node holds its maximum of agent sockets
/// (`limits.max_connections`; customers have a pool of their own): HTTP 503 `rate_limited`.
pub(crate) fn refuse_if_full(state: &AppState) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    if state.hub.agent_connections() < state.settings.limits.max_connections {
        return None;
    }
    state
        .metrics
        .refused_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut e = HttpError::new(
        ErrorCode::RateLimited,
        "this node holds its maximum of connections",
    );
    e.status = StatusCode::SERVICE_UNAVAILABLE;
    Some(e.into_response())
}

/// A JSON body whose rejections speak the protocol: 413 `payload_too_large` or
/// 400 `invalid_request`, never axum's plain-text defaults.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> HttpError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return HttpError::new(ErrorCode::PayloadTooLarge, "request body is too large");
    }
    HttpError::new(ErrorCode::InvalidRequest, rejection.body_text())
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The bearer token of an `Authorization` header.
pub(crate) fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The unexpired session of a bearer token (any scope), or 401 `invalid_token`.
pub(crate) async fn live_session(
    state: &AppState,
    token: &str,
) -> Result<baton_store::SessionRecord, HttpError> {
    let hash = crate::auth::token_hash(token);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.session(&hash))
        .await
        .map_err(|e| HttpError::internal("session lookup", e))?
        .map_err(|e| HttpError::internal("session lookup", e))?
        .filter(|s| s.expires_at > state.clock.now())
        .ok_or_else(|| HttpError::new(ErrorCode::InvalidToken, "invalid or expired token"))
}

pub(crate) fn missing_token() -> HttpError {
    HttpError::new(ErrorCode::InvalidToken, "a bearer token is required")
}

/// Only an admin token reaches a handler that takes this.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = bearer(parts).ok_or_else(missing_token)?;
        match &state.settings.admin_token {
            Some(admin) if !admin.is_empty() && auth::constant_time_eq(admin.expose(), token) => {
                Ok(AdminAuth)
            }
            Some(admin) if !admin.is_empty() => Err(HttpError::new(
                ErrorCode::InvalidToken,
                "invalid admin token",
            )),
            _ => Err(HttpError::new(
                ErrorCode::NotEnoughPrivileges,
                "the admin API is off: start with --admin-token",
            )),
        }
    }
}

/// An ingress token, and the tenant it belongs to.
pub struct IngressAuth(pub TenantId);

impl FromRequestParts<AppState> for IngressAuth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let hash = auth::token_hash(bearer(parts).ok_or_else(missing_token)?);
        let store = state.store.clone();
        let tenant = tokio::task::spawn_blocking(move || store.ingress_tenant(&hash))
            .await
            .map_err(|e| HttpError::internal("token lookup", e))?
            .map_err(|e| HttpError::internal("token lookup", e))?;
        tenant
            .map(IngressAuth)
            .ok_or_else(|| HttpError::new(ErrorCode::InvalidToken, "invalid ingress token"))
    }
}

/// A customer token, and the interaction it belongs to.
pub struct CustomerAuth(pub InteractionId);

pub(crate) async fn customer_interaction(
    state: &AppState,
    token: &str,
) -> Result<InteractionId, HttpError> {
    let hash = auth::token_hash(token);
    let store = state.store.clone();
    let id = tokio::task::spawn_blocking(move || store.interaction_by_customer_token(&hash))
        .await
        .map_err(|e| HttpError::internal("token lookup", e))?
        .map_err(|e| HttpError::internal("token lookup", e))?;
    id.ok_or_else(|| HttpError::new(ErrorCode::InvalidToken, "invalid customer token"))
}

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = bearer(parts).ok_or_else(missing_token)?.to_owned();
        customer_interaction(state, &token).await.map(CustomerAuth)
    }
}
