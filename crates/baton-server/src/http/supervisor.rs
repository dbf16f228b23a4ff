//! The supervisor feed (decision 0012): `GET /api/v1/supervisor/overview` and
//! `GET /api/v1/supervisor/interactions/{id}/handoffs`, for agents with the supervisor role,
//! authenticated by their session token. The role is granted through the admin API:
//! `PUT /api/v1/admin/tenants/{t}/agents/{username}/supervisor` `{"supervisor": true}`.
//! Nothing here carries message text or transfer-data content.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::{get, put};
use axum::{Json, Router};
use baton_core::{AdminCommand, Command, InteractionId, TenantId};
use baton_protocol::ErrorCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{AdminAuth, ApiJson};
use crate::app::AppState;
use crate::engine::Extra;
use crate::error::{HttpError, HttpResult};
use crate::query::Query;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/supervisor/overview", get(overview))
        .route("/api/v1/supervisor/stats", get(stats))
        .route(
            "/api/v1/supervisor/interactions/{id}/handoffs",
            get(handoffs),
        )
        .route(
            "/api/v1/supervisor/agents/{username}/state",
            put(set_agent_state),
        )
        .route(
            "/api/v1/admin/tenants/{tenant}/agents/{username}/supervisor",
            put(set_supervisor),
        )
}

/// A session token of an agent with the supervisor role, and the tenant it sees.
pub struct SupervisorAuth {
    pub agent: baton_core::AgentId,
    pub tenant: TenantId,
}

impl FromRequestParts<AppState> for SupervisorAuth {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let token = super::bearer(parts).ok_or_else(super::missing_token)?;
        let session = super::live_session(state, token).await?;
        let allowed: bool = state
            .engine
            .query(Query::IsSupervisor(session.agent.clone()))
            .await?;
        if !allowed {
            return Err(HttpError::new(
                ErrorCode::NotEnoughPrivileges,
                "this agent has no supervisor role",
            ));
        }
        Ok(SupervisorAuth {
            agent: session.agent,
            tenant: session.tenant,
        })
    }
}

/// Queues, agents and live interactions of the supervisor's tenant.
#[utoipa::path(get, path = "/api/v1/supervisor/overview", security(("session" = [])),
    responses((status = 200, body = Object), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody)))]
pub(crate) async fn overview(
    State(state): State<AppState>,
    auth: SupervisorAuth,
) -> HttpResult<Json<Value>> {
    Ok(Json(
        state
            .engine
            .query(Query::SupervisorOverview(auth.tenant, state.clock.now()))
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StatsParams {
    /// How many one-minute buckets, 1 to 60 (default 60).
    minutes: Option<String>,
}

/// The last hour of the supervisor's tenant in one-minute buckets, oldest first: hand-offs
/// by outcome and queue waits (count, average, longest). Counts only; empty after a restart.
#[utoipa::path(get, path = "/api/v1/supervisor/stats", security(("session" = [])),
    params(StatsParams),
    responses((status = 200, body = Object), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody)))]
pub(crate) async fn stats(
    State(state): State<AppState>,
    auth: SupervisorAuth,
    axum::extract::Query(params): axum::extract::Query<StatsParams>,
) -> HttpResult<Json<Value>> {
    let max = baton_core::stats::STATS_MINUTES;
    let minutes = match params.minutes.as_deref() {
        None => max,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=max).contains(m))
            .ok_or_else(|| {
                HttpError::new(
                    ErrorCode::InvalidArgs,
                    format!("minutes must be a whole number from 1 to {max}"),
                )
            })?,
    };
    Ok(Json(
        state
            .engine
            .query(Query::SupervisorStats(
                auth.tenant,
                state.clock.now(),
                minutes,
            ))
            .await?,
    ))
}

/// An interaction's hand-off chain, oldest first: who to whom, kind, outcome, size, times.
#[utoipa::path(get, path = "/api/v1/supervisor/interactions/{id}/handoffs", security(("session" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody)))]
pub(crate) async fn handoffs(
    State(state): State<AppState>,
    auth: SupervisorAuth,
    Path(id): Path<String>,
) -> HttpResult<Json<Value>> {
    let id = InteractionId(id);
    let store = state.store.clone();
    let (interaction, legs) = tokio::task::spawn_blocking(move || {
        Ok::<_, baton_store::StoreError>((store.interaction(&id)?, store.legs(&id)?))
    })
    .await
    .map_err(|e| HttpError::internal("history lookup", e))?
    .map_err(|e| HttpError::internal("history lookup", e))?;
    let Some(interaction) = interaction.filter(|i| i.tenant == auth.tenant) else {
        return Err(HttpError::new(
            ErrorCode::ObjectNotFound,
            "no such interaction",
        ));
    };
    let mut legs = legs;
    legs.sort_by_key(|l| l.created_at);
    let mut chain: Vec<Value> = Vec::with_capacity(legs.len());
    for l in &legs {
        // A person reads this: an agent target by name, a queue by its label.
        let to = match &l.target {
            baton_core::LegTarget::Agent(a) => state
                .engine
                .query::<Option<String>>(Query::AgentName(a.clone()))
                .await?
                .unwrap_or_else(|| l.target_label.clone()),
            baton_core::LegTarget::Service(_) => l.target_label.clone(),
        };
        chain.push(json!({
                "transferId": l.id.0,
                "kind": l.kind,
                "from": l.from_name,
                "to": to,
                "phase": l.phase,
                "outcome": l.outcome(),
                "reason": l.reason,
                "bytes": l.bytes,
                "createdAt": l.created_at,
                "receivers": l.receipts.len(),
        }));
    }
    Ok(Json(json!({
        "interactionId": interaction.id.0,
        "customer": interaction.customer.name,
        "createdAt": interaction.created_at,
        "completedAt": interaction.completed_at,
        "chain": chain,
    })))
}

#[derive(Deserialize, ToSchema)]
pub struct SetSupervisor {
    supervisor: bool,
}

/// Grants or withdraws an agent's supervisor role (admin token).
#[utoipa::path(put, path = "/api/v1/admin/tenants/{tenant}/agents/{username}/supervisor", security(("admin" = [])),
    params(("tenant" = String, Path), ("username" = String, Path)), request_body = SetSupervisor,
    responses((status = 200, body = Object), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody)))]
pub(crate) async fn set_supervisor(
    State(state): State<AppState>,
    _: AdminAuth,
    Path((tenant, username)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetSupervisor>,
) -> HttpResult<Json<Value>> {
    let command = AdminCommand::SetSupervisor {
        tenant: TenantId(tenant),
        username,
        supervisor: body.supervisor,
    };
    Ok(Json(
        state
            .engine
            .call(Command::Admin(command), Extra::default())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetAgentState {
    state: String,
    #[serde(default)]
    not_ready_reason: Option<String>,
}

/// A supervisor sets an agent of their tenant `ready` or `not_ready`.
#[utoipa::path(put, path = "/api/v1/supervisor/agents/{username}/state", security(("session" = [])),
    params(("username" = String, Path)), request_body = SetAgentState,
    responses((status = 200), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody), (status = 409, body = super::admin::ErrorBody)))]
pub(crate) async fn set_agent_state(
    State(state): State<AppState>,
    auth: SupervisorAuth,
    Path(username): Path<String>,
    ApiJson(body): ApiJson<SetAgentState>,
) -> HttpResult<Json<Value>> {
    let command = Command::SupervisorSetAgentState {
        supervisor: auth.agent,
        username,
        state: body.state,
        reason: body.not_ready_reason,
    };
    Ok(Json(state.engine.call(command, Extra::default()).await?))
}
