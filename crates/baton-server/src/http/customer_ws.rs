//! `GET /ws/customer?token=…`: the customer's side of a chat (or call status).
//!
//! The customer token is the credential, so any origin may connect: a company embeds the
//! chat on its own site.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use baton_core::{Command, InteractionId};
use baton_protocol::{ApiError, ErrorCode, OperationResult, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use crate::app::AppState;
use crate::engine::Extra;
use crate::error::HttpError;
use crate::hub::{CustomerFull, Outbound, PeerHandle};

pub fn router() -> Router<AppState> {
    Router::new().route("/ws/customer", get(upgrade))
}

#[derive(Deserialize)]
struct TokenQuery {
    /// Optional here so that a missing token gets the protocol's error, not axum's text.
    token: Option<String>,
}

async fn upgrade(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(token) = q.token else {
        return HttpError::new(
            ErrorCode::InvalidToken,
            "a customer token is required: /ws/customer?token=…",
        )
        .into_response();
    };
    let interaction = match super::customer_interaction(&state, &token).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    let live = state
        .engine
        .query::<bool>(crate::query::Query::InteractionLive(interaction.clone()))
        .await;
    if !live.unwrap_or(false) {
        return HttpError::new(ErrorCode::NoInteraction, "the interaction has ended")
            .into_response();
    }
    // The customers' own pool, and a few sockets per customer (tabs), taken now so that
    // concurrent upgrades cannot pass the caps together.
    let limits = state.guard.limits;
    let handle = match state.hub.try_register_customer(
        interaction.clone(),
        limits.sockets_per_customer,
        limits.max_customer_connections,
    ) {
        Ok(handle) => handle,
        Err(full) => {
            state
                .metrics
                .refused_connections
                .fetch_add(1, Ordering::Relaxed);
            return customer_refused(full).into_response();
        }
    };
    let slot = Slot {
        hub: state.hub.clone(),
        id: handle.id,
    };
    let max = state.settings.limits.max_frame_bytes;
    ws.read_buffer_size(8 * 1024)
        .max_message_size(max)
        .on_upgrade(move |socket| run(state, socket, interaction, handle, slot))
}

fn customer_refused(full: CustomerFull) -> HttpError {
    match full {
        CustomerFull::Interaction(n) => HttpError::new(
            ErrorCode::RateLimited,
            format!("this chat already has {n} open connections; close one first"),
        ),
        CustomerFull::Pool(n) => {
            let mut e = HttpError::new(
                ErrorCode::RateLimited,
                format!("this node holds its maximum of {n} customer connections"),
            );
            e.status = axum::http::StatusCode::SERVICE_UNAVAILABLE;
            e
        }
    }
}

/// A registered customer socket; unregistered when dropped, even when the upgrade never
/// completes (the client went away), so a refused or dropped upgrade frees its place.
struct Slot {
    hub: std::sync::Arc<crate::hub::Hub>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

#[derive(Deserialize)]
struct CustomerFrame {
    op: String,
    #[serde(default)]
    args: Vec<serde_json::Value>,
    /// When given, the answer (success or error) carries it back, so a page knows which
    /// message was refused and can keep its text.
    #[serde(default)]
    id: Option<u64>,
}

/// The first frame on a customer socket: the limits a page checks before sending.
fn limits_frame(max_message_chars: usize) -> String {
    ServerFrame::event(
        "limits",
        vec![baton_protocol::frame::arg(
            &serde_json::json!({"maxMessageChars": max_message_chars}),
        )],
    )
    .to_text()
}

/// The customer's `typing` op: `args [bool]`.
async fn typing(
    state: &AppState,
    interaction: &InteractionId,
    args: &[serde_json::Value],
) -> Option<ApiError> {
    let Some(typing) = args.first().and_then(|v| v.as_bool()) else {
        return Some(ApiError::new(
            ErrorCode::InvalidArgs,
            "typing needs one boolean argument",
        ));
    };
    let command = Command::CustomerTyping {
        interaction: interaction.clone(),
        typing,
    };
    state.engine.call(command, Extra::default()).await.err()
}

async fn run(
    state: AppState,
    socket: WebSocket,
    interaction: InteractionId,
    handle: PeerHandle,
    slot: Slot,
) {
    let (mut sink, mut stream) = socket.split();
    state
        .metrics
        .customer_connections
        .fetch_add(1, Ordering::Relaxed);
    let max_chars = state.settings.interaction_limits.max_message_chars;
    let PeerHandle {
        id, mut rx, kill, ..
    } = handle;
    let greeting = state
        .engine
        .query::<Vec<String>>(crate::query::Query::CustomerGreeting(interaction.clone()))
        .await;
    for text in std::iter::once(limits_frame(max_chars)).chain(greeting.unwrap_or_default()) {
        if sink.send(Message::Text(text.into())).await.is_err() {
            return drop(slot);
        }
    }
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = kill.notified() => break,
                out = rx.recv() => match out {
                    Some(Outbound::Text(t)) => if sink.send(Message::Text(t.into())).await.is_err() { break },
                    Some(Outbound::Close(code, reason)) => {
                        let _ = sink.send(Message::Close(Some(axum::extract::ws::CloseFrame { code, reason: reason.into() }))).await;
                        break;
                    }
                    None => break,
                }
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(text) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        let frame = serde_json::from_str::<CustomerFrame>(&text);
        let request_id = frame.as_ref().ok().and_then(|f| f.id);
        let answer = match frame {
            Ok(f) if f.op == "message" => match f.args.first().and_then(|v| v.as_str()) {
                Some(t) if !t.trim().is_empty() && t.chars().count() <= max_chars => {
                    let command = Command::CustomerMessage {
                        interaction: interaction.clone(),
                        text: t.to_owned(),
                    };
                    state.engine.call(command, Extra::default()).await.err()
                }
                _ => Some(ApiError::new(
                    ErrorCode::InvalidArgs,
                    format!("message needs a text of 1 to {max_chars} characters"),
                )),
            },
            Ok(f) if f.op == "typing" => typing(&state, &interaction, &f.args).await,
            Ok(f) if super::voice::CUSTOMER_OPS.contains(&f.op.as_str()) => {
                let result =
                    match super::voice::customer_op(&state, &interaction, &f.op, &f.args).await {
                        Ok(data) => OperationResult::ok(data),
                        Err(e) => OperationResult::err(e),
                    };
                state
                    .hub
                    .send_customers_one(id, &ServerFrame::response(request_id, result).to_text());
                continue;
            }
            Ok(f) => Some(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("unknown op {:?}", f.op),
            )),
            Err(e) => Some(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("malformed frame: {e}"),
            )),
        };
        let result = match answer {
            Some(error) => OperationResult::err(error),
            None if request_id.is_some() => OperationResult::ok(serde_json::Value::Null),
            None => continue,
        };
        state
            .hub
            .send_customers_one(id, &ServerFrame::response(request_id, result).to_text());
    }
    writer.abort();
    if let Some(media) = &state.media {
        media.close(Some(interaction.to_string()), baton_media::Party::Customer);
    }
    drop(slot);
}
