//! `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::atomic::Ordering;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;
use crate::query::{Gauges, Query};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

/// Liveness: the process answers and its engine is alive (503 `engine dead` when the
/// engine task panicked or failed a commit, or its channel closed).
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = String), (status = 503, body = String)))]
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let dead = state
        .metrics
        .engine_dead
        .load(std::sync::atomic::Ordering::SeqCst)
        || matches!(&state.engine, crate::engine::EngineHandle::Local(tx) if tx.is_closed());
    if dead {
        (StatusCode::SERVICE_UNAVAILABLE, "engine dead")
    } else {
        (StatusCode::OK, "ok")
    }
}

/// Readiness: the engine and the store answer. In a cluster the body names the node that
/// runs the engine (`ready: engine on node 3`), so an operator can find it.
#[utoipa::path(get, path = "/readyz", responses((status = 200, body = String), (status = 503, body = String)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let store = state.store.clone();
    let store_ok = tokio::task::spawn_blocking(move || store.ping().is_ok())
        .await
        .unwrap_or(false);
    let engine_ok = match &state.remote {
        // A ping that does not wait out a failover: readiness must answer promptly.
        Some(remote) => remote.ping().await,
        None => state
            .engine
            .query::<serde_json::Value>(Query::Ping)
            .await
            .is_ok(),
    };
    let nats_ok = state.remote.as_ref().is_none_or(|r| r.nats_connected());
    if !(store_ok && engine_ok && nats_ok) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready".to_owned());
    }
    let Some(remote) = &state.remote else {
        return (StatusCode::OK, "ready".to_owned());
    };
    let nodes = remote.engine_nodes();
    let body = match nodes.as_slice() {
        [Some(node)] => format!("ready: engine on node {node}"),
        shards => {
            let list: Vec<String> = shards
                .iter()
                .enumerate()
                .map(|(k, n)| match n {
                    Some(n) => format!("{k}:{n}"),
                    None => format!("{k}:?"),
                })
                .collect();
            format!("ready: shard engines on nodes {}", list.join(" "))
        }
    };
    (StatusCode::OK, body)
}

/// Prometheus text.
#[utoipa::path(get, path = "/metrics", responses((status = 200, body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let gauges: Gauges = state.engine.query(Query::Gauges).await.unwrap_or_default();
    let (by_status, logged_in) = (gauges.by_status, gauges.logged_in);
    let sockets = state.hub.connections() as u64;
    let extra = [
        (
            "baton_interactions_queued",
            "Interactions waiting in a queue",
            by_status[0],
        ),
        (
            "baton_interactions_offered",
            "Interactions ringing at an agent",
            by_status[1],
        ),
        (
            "baton_interactions_connected",
            "Interactions with an agent",
            by_status[2],
        ),
        (
            "baton_interactions_wrap_up",
            "Interactions in wrap-up",
            by_status[3],
        ),
        ("baton_agents_logged_in", "Agents logged in", logged_in),
        ("baton_open_sockets", "Open WebSockets", sockets),
        (
            "baton_engine_running",
            "1 on a node that runs an engine (a single node always does)",
            u64::from(state.metrics.engine_shards.load(Ordering::SeqCst) > 0),
        ),
        (
            "baton_engine_shards",
            "Shard engines this node runs (a single node runs one)",
            state.metrics.engine_shards.load(Ordering::SeqCst),
        ),
        (
            "baton_engine_node",
            "The node that last announced itself as the cluster's engine (0: none yet, or a single node)",
            state.metrics.engine_node.load(Ordering::Relaxed),
        ),
    ];
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&extra),
    )
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["admin", "ingress", "customer", "session"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Baton", description = "Agent-desktop server: REST API of protocol v1. The agent WebSocket is described in docs/protocol.md."),
    paths(
        healthz, readyz, metrics,
        super::admin::create_tenant, super::admin::create_service, super::admin::create_agent,
        super::admin::create_integration, super::admin::update_settings, super::admin::create_ingress_token,
        super::admin::get_interaction, super::admin::get_transfers,
        super::admin_desk::put_not_ready_reasons, super::admin_desk::get_not_ready_reasons,
        super::admin_desk::put_did_numbers, super::admin_desk::get_did_numbers,
        super::admin_desk::get_teams, super::admin_desk::put_team, super::admin_desk::delete_team,
        super::admin_desk::put_dispositions, super::admin_desk::get_dispositions,
        super::admin_desk::put_integration_config, super::admin_desk::get_integration_config,
        super::admin_agents::list_agents, super::admin_agents::get_agent, super::admin_agents::update_agent,
        super::admin_agents::delete_agent, super::admin_agents::list_sessions, super::admin_agents::revoke_session,
        super::admin_agents::list_ingress_tokens, super::admin_agents::revoke_ingress_token,
        super::sessions::login, super::sessions::supervisor_login, super::sessions::logout,
        super::ingress::create_interaction, super::ingress::list_services, super::ingress::post_message, super::ingress::hangup,
        super::customer_state::customer_state,
        super::grants::create_grant, super::queues::set_queue_limits, super::recording_policy::set_recording_policy,
        super::supervisor::overview, super::supervisor::stats, super::supervisor::handoffs, super::supervisor::set_agent_state,
        super::supervisor::set_supervisor,
        super::attachments::upload, super::attachments::download,
        super::recordings::list, super::recordings::download,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
