//! Ingress and customer REST: create interactions, list services, customer messages and hang-up.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use baton_core::{Command, InteractionId};
use baton_protocol::{Channel, Customer, ErrorCode, ServiceInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grants::{ClientAddr, PublicCaller};
use super::{ApiJson, CustomerAuth};
use crate::app::AppState;
use crate::auth;
use crate::engine::Extra;
use crate::error::{HttpError, HttpResult};
use crate::query::Query;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/interactions", post(create_interaction))
        .route("/api/v1/services", get(list_services))
        .route("/api/v1/interactions/{id}/messages", post(post_message))
        .route("/api/v1/interactions/{id}/hangup", post(hangup))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateInteraction {
    channel: Channel,
    service: String,
    customer: Customer,
    #[serde(default)]
    #[schema(value_type = Object)]
    attached_data: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InteractionCreated {
    id: String,
    customer_token: String,
}

/// Brings a customer in: the interaction is queued on the service and routed.
#[utoipa::path(post, path = "/api/v1/interactions", request_body = CreateInteraction, security(("ingress" = [])),
    responses((status = 201, body = InteractionCreated), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody), (status = 413, body = super::admin::ErrorBody), (status = 429, body = super::admin::ErrorBody)))]
async fn create_interaction(
    State(state): State<AppState>,
    addr: ClientAddr,
    caller: PublicCaller,
    ApiJson(body): ApiJson<CreateInteraction>,
) -> HttpResult<(StatusCode, Json<InteractionCreated>)> {
    if let Some(only) = &caller.service
        && !only.eq_ignore_ascii_case(&body.service)
    {
        return Err(HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            format!("this chat link is for service {only:?}"),
        ));
    }
    super::grants::charge(&state, &caller, &addr)?;
    let tenant = caller.tenant;
    if body.customer.name.trim().is_empty() || body.customer.name.len() > 200 {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            "customer.name must be 1 to 200 characters",
        ));
    }
    let id = InteractionId(auth::new_id("int"));
    let token = auth::new_token();
    let command = Command::NewInteraction {
        id: id.clone(),
        tenant,
        channel: body.channel,
        service: body.service,
        customer: body.customer,
        attached_data: body.attached_data.unwrap_or_default(),
        customer_token_hash: auth::token_hash(&token),
    };
    state.engine.call(command, Extra::default()).await?;
    Ok((
        StatusCode::CREATED,
        Json(InteractionCreated {
            id: id.0,
            customer_token: token,
        }),
    ))
}

/// The tenant's services, for a page that lets the customer choose.
#[utoipa::path(get, path = "/api/v1/services", security(("ingress" = [])),
    responses((status = 200, body = [ServiceInfo]), (status = 401, body = super::admin::ErrorBody)))]
async fn list_services(
    State(state): State<AppState>,
    caller: PublicCaller,
) -> HttpResult<Json<Vec<ServiceInfo>>> {
    let mut services: Vec<ServiceInfo> = state.engine.query(Query::Services(caller.tenant)).await?;
    if let Some(only) = &caller.service {
        services.retain(|s| s.name.eq_ignore_ascii_case(only));
    }
    Ok(Json(services))
}

#[derive(Deserialize, ToSchema)]
pub struct PostMessage {
    text: String,
}

fn own(path: &str, auth: &InteractionId) -> HttpResult<()> {
    if path != auth.as_str() {
        return Err(HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            "this token is for another interaction",
        ));
    }
    Ok(())
}

/// The customer writes in the chat.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/messages", request_body = PostMessage, security(("customer" = [])),
    params(("id" = String, Path)),
    responses((status = 201), (status = 400, body = super::admin::ErrorBody), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody), (status = 409, body = super::admin::ErrorBody), (status = 413, body = super::admin::ErrorBody)))]
async fn post_message(
    State(state): State<AppState>,
    CustomerAuth(interaction): CustomerAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PostMessage>,
) -> HttpResult<StatusCode> {
    own(&id, &interaction)?;
    let max = state.settings.interaction_limits.max_message_chars;
    if body.text.trim().is_empty() || body.text.chars().count() > max {
        return Err(HttpError::new(
            ErrorCode::InvalidArgs,
            format!("text must be 1 to {max} characters"),
        ));
    }
    state
        .engine
        .call(
            Command::CustomerMessage {
                interaction,
                text: body.text,
            },
            Extra::default(),
        )
        .await?;
    Ok(StatusCode::CREATED)
}

/// The customer leaves the chat or hangs up the call.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/hangup", security(("customer" = [])), params(("id" = String, Path)),
    responses((status = 200), (status = 401, body = super::admin::ErrorBody), (status = 403, body = super::admin::ErrorBody), (status = 404, body = super::admin::ErrorBody)))]
async fn hangup(
    State(state): State<AppState>,
    CustomerAuth(interaction): CustomerAuth,
    Path(id): Path<String>,
) -> HttpResult<StatusCode> {
    own(&id, &interaction)?;
    state
        .engine
        .call(Command::CustomerHangup { interaction }, Extra::default())
        .await?;
    Ok(StatusCode::OK)
}
