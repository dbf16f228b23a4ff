//! `POST /api/v1/chat-grants`: a site's backend trades its ingress token for a short-lived
//! signed grant, and the public chat page carries the grant (`/chat/?grant=…`) instead of
//! the token. Grants are checked without a store lookup (an HMAC, see [`crate::guard`]).
//!
//! Also the caller of the public routes ([`PublicCaller`]: an ingress token or a grant) and
//! its source address ([`ClientAddr`]), which the rate limits key on.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::post;
use axum::{Json, Router};
use baton_core::TenantId;
use baton_protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::IngressAuth;
use crate::app::AppState;
use crate::auth;
use crate::error::{HttpError, HttpResult};
use crate::guard::{GRANT_PREFIX, Grant, GrantError};
use crate::query::Query;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/chat-grants", post(create_grant))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateGrant {
    /// Only this service (by name) may be chosen with the grant; none = any of the tenant's.
    #[serde(default)]
    service: Option<String>,
    /// Lifetime in seconds (default 3600; at most `public_limits.chat_grant_max_ttl_secs`).
    #[serde(default)]
    ttl_secs: Option<u64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantCreated {
    grant: String,
    /// Milliseconds since the epoch.
    expires_at: i64,
    /// The chat page with this grant, relative to the server.
    chat_path: String,
}

/// Default grant lifetime: long enough for a customer to read the page and start a chat.
const DEFAULT_TTL_SECS: u64 = 3600;

/// Signs a grant for the ingress token's tenant. Only an ingress token may ask (not a grant).
#[utoipa::path(post, path = "/api/v1/chat-grants", request_body = CreateGrant, security(("ingress" = [])),
    responses((status = 201, body = GrantCreated), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody)))]
pub async fn create_grant(
    State(state): State<AppState>,
    IngressAuth(tenant): IngressAuth,
    body: axum::body::Bytes,
) -> HttpResult<(StatusCode, Json<GrantCreated>)> {
    // The body is optional: an empty one asks for a grant to any service.
    let body: CreateGrant = if body.iter().all(u8::is_ascii_whitespace) {
        CreateGrant::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| HttpError::new(ErrorCode::InvalidRequest, format!("bad body: {e}")))?
    };
    let max = state.guard.limits.chat_grant_max_ttl_secs;
    let ttl = body.ttl_secs.unwrap_or(DEFAULT_TTL_SECS.min(max));
    if ttl == 0 || ttl > max {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("ttlSecs must be 1 to {max}"),
        ));
    }
    if let Some(service) = &body.service {
        let services: Vec<baton_protocol::ServiceInfo> =
            state.engine.query(Query::Services(tenant.clone())).await?;
        if !services
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(service))
        {
            return Err(HttpError::new(
                ErrorCode::NoService,
                format!("no service {service:?}"),
            ));
        }
    }
    let grant = Grant {
        tenant,
        service: body.service,
        expires_at: state.clock.now() + (ttl as i64) * 1000,
    };
    let text = state.guard.grants.sign(&grant);
    Ok((
        StatusCode::CREATED,
        Json(GrantCreated {
            chat_path: format!("/chat/?grant={text}"),
            grant: text,
            expires_at: grant.expires_at,
        }),
    ))
}

/// Who calls a public route: an ingress token (server to server) or a chat grant.
pub struct PublicCaller {
    pub tenant: TenantId,
    /// The one service a grant allows, if it names one.
    pub service: Option<String>,
    /// What the per-credential rate limit counts against.
    pub rate_key: String,
}

impl FromRequestParts<AppState> for PublicCaller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = super::bearer(parts).unwrap_or_default().to_owned();
        if !token.starts_with(GRANT_PREFIX) {
            let hash = auth::token_hash(&token);
            let IngressAuth(tenant) = IngressAuth::from_request_parts(parts, state).await?;
            return Ok(Self {
                tenant,
                service: None,
                rate_key: format!("token:{hash}"),
            });
        }
        match state.guard.grants.verify(&token, state.clock.now()) {
            Ok(grant) => Ok(Self {
                rate_key: format!("grant:{}", grant.tenant.0),
                tenant: grant.tenant,
                service: grant.service,
            }),
            Err(e @ (GrantError::Invalid | GrantError::Expired)) => {
                Err(HttpError::new(ErrorCode::InvalidToken, e.to_string()))
            }
        }
    }
}

/// The peer's address (no proxy header is trusted: behind a reverse proxy every customer
/// shares its address, see SECURITY.md).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// Counts one new interaction against the caller's and the address's rate limits.
pub fn charge(state: &AppState, caller: &PublicCaller, addr: &ClientAddr) -> HttpResult<()> {
    if let Some(ip) = addr.0
        && !state
            .guard
            .per_address
            .allow(&crate::guard::address_key(ip))
    {
        return Err(limited("this address"));
    }
    if !state.guard.per_token.allow(&caller.rate_key) {
        return Err(limited("this chat link or token"));
    }
    Ok(())
}

fn limited(who: &str) -> HttpError {
    HttpError::new(
        ErrorCode::RateLimited,
        format!("too many new conversations from {who}; try again in a minute"),
    )
}
