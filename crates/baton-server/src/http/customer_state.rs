//! `GET /api/v1/interactions/{id}/customer-state`: what the customer page shows, by REST.
//!
//! A page whose socket cannot reconnect asks here whether the chat has ended (a refused
//! WebSocket upgrade does not tell the browser why), and learns the limits before its
//! first send.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use baton_protocol::{CustomerState, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

use super::CustomerAuth;
use crate::app::AppState;
use crate::error::{HttpError, HttpResult};
use crate::query::Query;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/interactions/{id}/customer-state",
        get(customer_state),
    )
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPageState {
    /// The socket's `state` payload; `{"state": "completed"}` once the interaction ended.
    #[schema(value_type = Object)]
    state: serde_json::Value,
    max_message_chars: usize,
    /// What an attachment may be, shown before the customer picks a file.
    #[schema(value_type = Object)]
    attachments: serde_json::Value,
}

/// The customer's state and limits.
#[utoipa::path(get, path = "/api/v1/interactions/{id}/customer-state", security(("customer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CustomerPageState), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody)))]
pub(crate) async fn customer_state(
    State(state): State<AppState>,
    CustomerAuth(interaction): CustomerAuth,
    Path(id): Path<String>,
) -> HttpResult<Json<CustomerPageState>> {
    if id != interaction.as_str() {
        return Err(HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            "this token is for another interaction",
        ));
    }
    let live: Option<CustomerState> = state
        .engine
        .query(Query::CustomerState(interaction))
        .await?;
    let view = match live {
        Some(s) => serde_json::to_value(s).unwrap_or_default(),
        None => serde_json::json!({"state": "completed"}),
    };
    Ok(Json(CustomerPageState {
        state: view,
        max_message_chars: state.settings.interaction_limits.max_message_chars,
        attachments: serde_json::json!({
            "maxBytes": state.settings.attachments.max_bytes,
            "types": state.settings.attachments.types,
        }),
    }))
}
