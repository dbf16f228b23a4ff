//! `GET /ws/agent`: hello, then requests, answers and events (PROTOCOL.md).
//!
//! One task reads, one writes. The writer drains a bounded queue fed by the engine; when
//! that queue is full the hub cuts the socket off (slow consumer). The reader checks each
//! frame's size and shape, counts pending requests, and hands the rest to the engine.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use baton_core::Command;
use baton_protocol::frame::FrameError;
use baton_protocol::{
    ApiError, ClientFrame, ErrorCode, HelloArgs, Method, OperationResult, ServerFrame,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

use crate::app::AppState;
use crate::auth;
use crate::engine::{Extra, ReplyTo};
use crate::error::HttpError;
use crate::hub::{AgentMeta, Outbound, PeerHandle};
use crate::query::Query;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws/agent", get(upgrade))
}

async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = super::refuse_if_full(&state) {
        return refused;
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let socket_origin = match &origin {
        None => SocketOrigin::NotBrowser,
        Some(o) if own_origin(&headers, o) => SocketOrigin::Own,
        Some(o) => SocketOrigin::Foreign(o.clone()),
    };
    if let Some(origin) = &origin
        && !origin_allowed(&state, &headers, origin).await
    {
        state
            .metrics
            .refused_connections
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(origin, "refused agent socket from a foreign origin");
        return HttpError::new(
            ErrorCode::NotEnoughPrivileges,
            format!("origin {origin} is not allowed"),
        )
        .into_response();
    }
    let max = state.settings.limits.max_frame_bytes;
    // Frames up to twice the limit are read and answered with `payload_too_large`; beyond
    // that the transport refuses them (close 1009), so memory stays bounded.
    // An 8 KiB read buffer instead of tungstenite's 128 KiB: ten thousand idle agents must
    // fit in memory (BENCHMARKS.md); larger frames grow it as they come.
    ws.read_buffer_size(8 * 1024)
        .max_message_size(max * 2)
        .max_frame_size(max * 2)
        .on_upgrade(move |socket| run(state, socket, socket_origin))
}

/// Who opened an agent socket, as the `Origin` header tells: it decides what a hello may
/// claim as its host page (`hostOrigin`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum SocketOrigin {
    /// No `Origin`: not a browser (a server-side client); it has no host page.
    NotBrowser,
    /// Baton's own pages: the widget, which reports the page that embeds it.
    Own,
    /// A CRM page's own script: its host page is this origin, whatever the hello says.
    Foreign(String),
}

/// Whether `origin` is the origin this request was sent to (Baton's own pages).
fn own_origin(headers: &HeaderMap, origin: &str) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// A browser may connect from the server's own pages or from a registered CRM origin.
pub(crate) async fn origin_allowed(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    if own_origin(headers, origin) {
        return true;
    }
    state
        .engine
        .query::<bool>(Query::OriginAllowed(origin.to_owned()))
        .await
        .unwrap_or(false)
}

type Sink = SplitSink<WebSocket, Message>;

fn error_frame(id: Option<u64>, error: ApiError) -> String {
    ServerFrame::response(id, OperationResult::err(error)).to_text()
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

async fn run(state: AppState, socket: WebSocket, origin: SocketOrigin) {
    let (mut sink, mut stream) = socket.split();
    let hello_timeout = Duration::from_millis(state.settings.limits.hello_timeout_ms);
    let hello = match tokio::time::timeout(hello_timeout, next_text(&mut stream)).await {
        Ok(Some(text)) => text,
        Ok(None) => return,
        Err(_) => {
            let _ = sink
                .send(Message::Text(
                    error_frame(
                        Some(0),
                        ApiError::new(ErrorCode::Timeout, "no hello in time"),
                    )
                    .into(),
                ))
                .await;
            return close(&mut sink, 1008, "no hello").await;
        }
    };
    let login = match check_hello(&state, &hello, &origin).await {
        Ok(login) => login,
        Err(error) => {
            tracing::info!(code = error.code, "hello refused");
            let _ = sink
                .send(Message::Text(error_frame(Some(0), error).into()))
                .await;
            return close(&mut sink, 1008, "hello refused").await;
        }
    };
    state
        .metrics
        .agent_connections
        .fetch_add(1, Ordering::Relaxed);
    let PeerHandle {
        id: conn,
        rx,
        kill,
        pending,
    } = state.hub.register_agent();
    let meta = AgentMeta {
        agent: login.agent.clone(),
        session: login.session.clone(),
        integration_key: login.integration_key.clone(),
    };
    state.hub.set_agent_meta(conn, meta);
    tracing::info!(conn, agent = %login.agent, "agent connected");
    let connect = Command::Connect {
        agent: login.agent.clone(),
        session: login.session,
        conn,
        integration_key: login.integration_key,
    };
    let writer = tokio::spawn(write_loop(sink, rx, kill));
    if state
        .engine
        .submit(
            connect,
            Extra::default(),
            ReplyTo::Socket {
                conn,
                id: 0,
                method: "hello",
            },
        )
        .await
        .is_ok()
    {
        let expiry = tokio::time::Instant::now()
            + Duration::from_millis((login.expires_at - state.clock.now()).max(0) as u64);
        read_loop(
            &state,
            conn,
            &login.agent,
            &mut stream,
            &pending,
            writer,
            expiry,
        )
        .await;
    }
    state.hub.unregister(conn);
    if let Some(media) = &state.media {
        media.close(None, baton_media::Party::Agent(login.agent.to_string()));
    }
    let _ = state
        .engine
        .submit(
            Command::Disconnect { conn },
            Extra::default(),
            ReplyTo::Nobody,
        )
        .await;
    tracing::info!(conn, agent = %login.agent, "agent disconnected");
}

struct HelloOk {
    agent: baton_core::AgentId,
    session: baton_core::SessionId,
    integration_key: Option<String>,
    /// When the session's token stops being valid: the socket is closed then.
    expires_at: baton_protocol::Millis,
}

async fn check_hello(
    state: &AppState,
    text: &str,
    origin: &SocketOrigin,
) -> Result<HelloOk, ApiError> {
    let hello: HelloArgs = match ClientFrame::parse(text) {
        Ok(ClientFrame::Hello(hello)) => hello,
        Ok(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "the first frame must be hello",
            ));
        }
        Err(e) => return Err(e.to_api_error()),
    };
    if hello.protocol != baton_protocol::PROTOCOL_VERSION {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("protocol {} is not spoken here; use 1", hello.protocol),
        ));
    }
    check_host_claim(&hello, origin)?;
    let hash = auth::token_hash(&hello.token);
    let store = state.store.clone();
    let session = tokio::task::spawn_blocking(move || store.session(&hash))
        .await
        .map_err(|_| ApiError::new(ErrorCode::UnknownError, "session lookup failed"))?
        .map_err(|_| ApiError::new(ErrorCode::UnknownError, "session lookup failed"))?
        .filter(|s| s.expires_at > state.clock.now())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "invalid or expired token"))?;
    if session.scope != baton_store::SessionScope::Agent {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            "a supervisor-console session cannot log in an agent socket; log in with POST /api/v1/sessions",
        ));
    }
    let disabled: Option<bool> = state
        .engine
        .query(Query::AgentDisabled(session.agent.clone()))
        .await?;
    if disabled != Some(false) {
        return Err(ApiError::new(
            ErrorCode::UserDisabledOrDeleted,
            "this agent is disabled or deleted",
        ));
    }
    let integration_key = match (hello.integration_key, &hello.host_origin) {
        (Some(key), _) => Some(key),
        (None, Some(host)) => Some(integration_for_origin(state, &session.tenant, host).await?),
        (None, None) => None,
    };
    if let Some(key) = &integration_key {
        let integration: Option<baton_core::Integration> = state
            .engine
            .query(Query::Integration {
                tenant: session.tenant.clone(),
                key: key.clone(),
            })
            .await?;
        let Some(integration) = integration else {
            return Err(ApiError::new(
                ErrorCode::ObjectNotFound,
                format!("no integration {key:?}"),
            ));
        };
        if *origin != SocketOrigin::NotBrowser {
            let allowed = hello
                .host_origin
                .as_ref()
                .is_some_and(|o| integration.allowed_origins.contains(o));
            if !allowed {
                return Err(ApiError::new(
                    ErrorCode::NotEnoughPrivileges,
                    format!(
                        "host origin {} is not allowed for integration {key:?}",
                        hello.host_origin.as_deref().unwrap_or("(none)")
                    ),
                ));
            }
        }
    }
    Ok(HelloOk {
        agent: session.agent,
        session: session.session,
        integration_key,
        expires_at: session.expires_at,
    })
}

/// The integration a host page without an `integrationKey` speaks for (Bright Pattern's key
/// is optional): the one integration of the agent's tenant that lists the page's origin.
/// The allow-list still decides: an origin no integration lists is refused, and one that
/// several list is refused too, since the page's `getConfig` and outcomes would be ambiguous
/// (decision 0025).
async fn integration_for_origin(
    state: &AppState,
    tenant: &baton_core::TenantId,
    host: &str,
) -> Result<String, ApiError> {
    let keys: Vec<String> = state
        .engine
        .query(Query::IntegrationsAllowing {
            tenant: tenant.clone(),
            origin: host.to_owned(),
        })
        .await?;
    match <[String; 1]>::try_from(keys) {
        Ok([key]) => Ok(key),
        Err(keys) if keys.is_empty() => Err(ApiError::new(
            ErrorCode::NotEnoughPrivileges,
            format!("host origin {host} is not allowed for any integration of this tenant"),
        )),
        Err(keys) => Err(ApiError::new(
            ErrorCode::NotEnoughPrivileges,
            format!(
                "host origin {host} is allowed for several integrations ({}); name one with integrationKey",
                keys.join(", ")
            ),
        )),
    }
}

/// The host page a hello claims must be one it can stand for (issue 12, widget takeover):
/// only Baton's own widget may report a page other than its socket's origin; a CRM page's
/// script speaks for its own origin only. (A client that is not a browser can send any
/// `Origin`; it already holds the agent's token, so there is nothing for it to take over.)
fn check_host_claim(hello: &HelloArgs, origin: &SocketOrigin) -> Result<(), ApiError> {
    let Some(host) = &hello.host_origin else {
        return Ok(());
    };
    match origin {
        SocketOrigin::Foreign(socket) if socket != host => Err(ApiError::new(
            ErrorCode::NotEnoughPrivileges,
            format!("hostOrigin {host} is not this socket's origin {socket}"),
        )),
        _ => Ok(()),
    }
}

/// A frame over the limit (but under twice it, which the transport refuses): answered with
/// `payload_too_large` (21) on its own id when its head says it; an answer to
/// `ON_REQUEST_TRANSFER_DATA` is recorded as `too_large` at once. `false` when the engine is
/// gone.
async fn oversized(state: &AppState, conn: u64, text: &str, max: usize) -> bool {
    let head = baton_protocol::peek::peek_head(text);
    let e = ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("frame is {} bytes; the limit is {max}", text.len()),
    );
    state
        .hub
        .send_agent(conn, Outbound::Text(error_frame(head.id, e)));
    if let Some(rid) = head.reply {
        let reply = Command::Reply {
            conn,
            rid,
            value: None,
            error: Some(baton_core::REPLY_TOO_LARGE.to_owned()),
        };
        return state
            .engine
            .submit(reply, Extra::default(), ReplyTo::Nobody)
            .await
            .is_ok();
    }
    true
}

/// Whether a read error is the transport refusing a frame over its size limit.
fn is_too_large(e: axum::Error) -> bool {
    let inner = e.into_inner();
    matches!(
        inner.downcast_ref::<tungstenite::Error>(),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// The session's lifetime is over: the agent hears `ON_SERVER_ERROR` `invalid_token` (111),
/// then is logged out like a `logout` request (`ON_LOGOUT`, the socket closed with 1000).
async fn session_expired(state: &AppState, conn: u64, writer: tokio::task::JoinHandle<()>) {
    tracing::info!(conn, "session expired; closing the agent socket");
    let error = ApiError::new(ErrorCode::InvalidToken, "the session expired; log in again");
    let frame = ServerFrame::event(
        baton_protocol::events::ON_SERVER_ERROR,
        vec![serde_json::value::to_raw_value(&error).expect("json")],
    );
    state.hub.send_agent(conn, Outbound::Text(frame.to_text()));
    let logout = Command::Request {
        conn,
        method: Method::Logout,
    };
    let submitted = state
        .engine
        .submit(logout, Extra::default(), ReplyTo::Nobody)
        .await;
    if submitted.is_err() {
        state
            .hub
            .send_agent(conn, Outbound::Close(1008, "session expired"));
    }
    // The writer ends after the close frame the logout queues.
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

async fn next_text(stream: &mut SplitStream<WebSocket>) -> Option<String> {
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Text(t) => return Some(t.to_string()),
            Message::Close(_) => return None,
            _ => {}
        }
    }
    None
}

async fn write_loop(
    mut sink: Sink,
    mut rx: tokio::sync::mpsc::Receiver<Outbound>,
    kill: std::sync::Arc<tokio::sync::Notify>,
) {
    loop {
        tokio::select! {
            biased;
            _ = kill.notified() => {
                return close(&mut sink, 1008, "slow consumer: too many unread frames").await;
            }
            out = rx.recv() => match out {
                Some(Outbound::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(Outbound::Close(code, reason)) => return close(&mut sink, code, reason).await,
                None => return close(&mut sink, 1001, "server closing").await,
            }
        }
    }
}

async fn read_loop(
    state: &AppState,
    conn: u64,
    agent: &baton_core::AgentId,
    stream: &mut SplitStream<WebSocket>,
    pending: &std::sync::atomic::AtomicUsize,
    mut writer: tokio::task::JoinHandle<()>,
    expiry: tokio::time::Instant,
) {
    let limits = state.settings.limits;
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = &mut writer => return,
            _ = tokio::time::sleep_until(expiry) => {
                return session_expired(state, conn, writer).await;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                state.hub.send_agent(
                    conn,
                    Outbound::Text(error_frame(
                        None,
                        ApiError::new(ErrorCode::InvalidRequest, "frames must be JSON text"),
                    )),
                );
                continue;
            }
            Some(Ok(Message::Close(_))) | None => return,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                tracing::debug!(conn, error = %e, "agent socket error");
                if is_too_large(e) {
                    // Over twice the limit: refused by the transport. Say so with 1009.
                    state
                        .hub
                        .send_agent(conn, Outbound::Close(1009, "frame too large"));
                    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
                }
                return;
            }
        };
        state.metrics.frames_in.fetch_add(1, Ordering::Relaxed);
        if text.len() > limits.max_frame_bytes {
            if !oversized(state, conn, &text, limits.max_frame_bytes).await {
                return;
            }
            continue;
        }
        let frame = match ClientFrame::parse(&text) {
            Ok(frame) => frame,
            Err(FrameError { id, message }) => {
                state.metrics.invalid_frames.fetch_add(1, Ordering::Relaxed);
                state.hub.send_agent(
                    conn,
                    Outbound::Text(error_frame(
                        id,
                        ApiError::new(ErrorCode::InvalidRequest, message),
                    )),
                );
                continue;
            }
        };
        let (command, reply) = match frame {
            ClientFrame::Hello(_) => {
                let e = ApiError::new(ErrorCode::InvalidRequest, "hello was already said");
                state
                    .hub
                    .send_agent(conn, Outbound::Text(error_frame(None, e)));
                continue;
            }
            ClientFrame::Reply { rid, value, error } => (
                Command::Reply {
                    conn,
                    rid,
                    value: value.map(|v| v.get().to_owned()),
                    error,
                },
                ReplyTo::Nobody,
            ),
            ClientFrame::Request { id, op, args }
                if super::voice::AGENT_OPS.contains(&op.as_str()) =>
            {
                // Voice signalling goes to the media plane, not the engine (docs/voice.md).
                let args: Vec<serde_json::Value> = args
                    .iter()
                    .map(|a| serde_json::from_str(a.get()).unwrap_or(serde_json::Value::Null))
                    .collect();
                let result = match super::voice::agent_op(state, agent, &op, &args).await {
                    Ok(data) => OperationResult::ok(data),
                    Err(e) => OperationResult::err(e),
                };
                state.hub.send_agent(
                    conn,
                    Outbound::Text(ServerFrame::response(Some(id), result).to_text()),
                );
                continue;
            }
            ClientFrame::Request { id, op, args } => {
                let method = match Method::parse(&op, &args) {
                    Ok(method) => method,
                    Err(e) => {
                        if e.code == ErrorCode::InvalidRequest.code() {
                            state.metrics.invalid_frames.fetch_add(1, Ordering::Relaxed);
                        }
                        state
                            .hub
                            .send_agent(conn, Outbound::Text(error_frame(Some(id), e)));
                        continue;
                    }
                };
                if pending.fetch_add(1, Ordering::Relaxed) >= limits.max_pending_requests {
                    pending.fetch_sub(1, Ordering::Relaxed);
                    let e = ApiError::new(
                        ErrorCode::RateLimited,
                        format!("more than {} requests pending", limits.max_pending_requests),
                    );
                    state
                        .hub
                        .send_agent(conn, Outbound::Text(error_frame(Some(id), e)));
                    continue;
                }
                let name = method.name();
                (
                    Command::Request { conn, method },
                    ReplyTo::Socket {
                        conn,
                        id,
                        method: name,
                    },
                )
            }
        };
        if state
            .engine
            .submit(command, Extra::default(), reply)
            .await
            .is_err()
        {
            return;
        }
    }
}
