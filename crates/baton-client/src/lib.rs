//! A Rust client for Baton's agent WebSocket (protocol v1).
//!
//! # Layout
//! - [`connect`] says hello and returns a [`Client`] (a cheap, clonable handle over one
//!   connection task) and an [`Events`] stream.
//! - [`Client`] has typed methods for every AdApi method, plus [`Client::call`] for raw ones.
//! - Events that want an answer (`ON_REQUEST_TRANSFER_DATA`, `ON_LOAD_TRANSFER_DATA`) carry a
//!   `rid`: answer with [`Client::reply`], or let [`ConnectOptions`] handlers do it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), baton_client::ClientError> {
//! let options = baton_client::ConnectOptions::new("token").integration_key("demo-crm");
//! let (client, mut events) = baton_client::connect("ws://127.0.0.1:7878/ws/agent", options).await?;
//! client.set_agent_state("ready", None).await?;
//! while let Some(event) = events.next().await {
//!     println!("{}", event.name);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use baton_protocol::frame::arg;
use baton_protocol::{
    ApiError, ErrorCode, InteractionsState, OperationResult, RequestTransferMeta, TransferRecord,
    events,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

pub use baton_protocol as protocol;

/// What went wrong, with a [`ClientError::kind`] to match on.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("server answered: {0}")]
    Api(ApiError),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("the connection is closed")]
    Closed,
    #[error("unexpected frame from the server: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The protocol error code, when the server answered with one.
    pub fn kind(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(e) => e.kind(),
            _ => None,
        }
    }

    pub fn api(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// An event from the server. `args` stay raw so transfer data keeps its exact bytes.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub args: Vec<Box<RawValue>>,
    pub rid: Option<String>,
}

impl Event {
    /// Argument `i` parsed as JSON (`Null` when absent).
    pub fn arg(&self, i: usize) -> serde_json::Value {
        self.args
            .get(i)
            .and_then(|a| serde_json::from_str(a.get()).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// Argument `i` as the exact text the server sent.
    pub fn raw(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(|a| a.get())
    }
}

/// The stream of events of one connection. Ends when the connection closes.
pub struct Events {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// Waits for the next event with this name, dropping others.
    pub async fn wait_for(&mut self, name: &str) -> Option<Event> {
        while let Some(e) = self.next().await {
            if e.name == name {
                return Some(e);
            }
        }
        None
    }

    /// An event already received, without waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

type DataFuture = Pin<Box<dyn Future<Output = DataAnswer> + Send>>;
type DataHandler = Arc<dyn Fn(String, RequestTransferMeta) -> DataFuture + Send + Sync>;

/// An answer to `ON_REQUEST_TRANSFER_DATA`.
#[derive(Debug, Clone)]
pub enum DataAnswer {
    /// JSON text, sent verbatim.
    Value(String),
    /// `undefined`: no data.
    Undefined,
    /// The handler failed.
    Error(String),
    /// Do not answer at all (lets tests model a hung CRM).
    NoAnswer,
}

/// How to connect.
#[derive(Clone)]
pub struct ConnectOptions {
    token: String,
    integration_key: Option<String>,
    host_origin: Option<String>,
    transfer_data: Option<DataHandler>,
    auto_ack: bool,
}

impl ConnectOptions {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            integration_key: None,
            host_origin: None,
            transfer_data: None,
            auto_ack: true,
        }
    }

    /// Declares the integration this client acts for, like a widget in a CRM host.
    pub fn integration_key(mut self, key: impl Into<String>) -> Self {
        self.integration_key = Some(key.into());
        self
    }

    pub fn host_origin(mut self, origin: impl Into<String>) -> Self {
        self.host_origin = Some(origin.into());
        self
    }

    /// Answers every `ON_REQUEST_TRANSFER_DATA` with this handler. The event still
    /// appears on the [`Events`] stream.
    pub fn on_request_transfer_data<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(String, RequestTransferMeta) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = DataAnswer> + Send + 'static,
    {
        self.transfer_data = Some(Arc::new(move |id, meta| Box::pin(handler(id, meta))));
        self
    }

    /// Whether `ON_LOAD_TRANSFER_DATA` is acknowledged as soon as it arrives (default true).
    pub fn auto_ack(mut self, yes: bool) -> Self {
        self.auto_ack = yes;
        self
    }
}

/// What the server said to hello.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub agent_id: String,
    pub session_id: Option<String>,
    pub username: Option<String>,
}

struct WeakClient {
    out: mpsc::WeakUnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    hello: Arc<Hello>,
}

impl WeakClient {
    fn upgrade(&self) -> Option<Client> {
        Some(Client {
            out: self.out.upgrade()?,
            pending: self.pending.clone(),
            next_id: self.next_id.clone(),
            hello: self.hello.clone(),
        })
    }
}

type Pending = Arc<Mutex<Waiters>>;

/// Calls waiting for their answer. Once the connection is gone it stays `closed`, so a call
/// made afterwards fails at once instead of waiting for an answer that cannot come.
#[derive(Default)]
struct Waiters {
    closed: bool,
    map: HashMap<u64, oneshot::Sender<OperationResult>>,
}

/// A handle to one agent connection. Clones share it; it closes when the last is dropped
/// or [`Client::close`] is called.
#[derive(Clone)]
pub struct Client {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    hello: Arc<Hello>,
}

/// Connects and says hello. Fails with the server's error (e.g. `invalid_token`) if refused.
pub async fn connect(url: &str, options: ConnectOptions) -> Result<(Client, Events), ClientError> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let (mut sink, mut stream) = ws.split();
    let hello = serde_json::json!({"op": "hello", "args": {
        "token": options.token, "integrationKey": options.integration_key, "hostOrigin": options.host_origin, "protocol": 1,
    }});
    sink.send(Message::text(hello.to_string()))
        .await
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let mut early = Vec::new();
    let hello = loop {
        let Some(Ok(msg)) = stream.next().await else {
            return Err(ClientError::Closed);
        };
        let Message::Text(text) = msg else { continue };
        match parse(&text)? {
            Incoming::Response {
                id: Some(0),
                result,
            } => {
                let data = result.into_result().map_err(ClientError::Api)?;
                break serde_json::from_value::<Hello>(data)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
            }
            Incoming::Event(e) => early.push(e),
            Incoming::Response { .. } => {
                return Err(ClientError::Protocol("answer before hello".into()));
            }
        }
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let close = matches!(msg, Message::Close(_));
            if sink.send(msg).await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let client = Client {
        out: out_tx,
        pending: Arc::default(),
        next_id: Arc::new(AtomicU64::new(1)),
        hello: Arc::new(hello),
    };
    for e in early {
        client.dispatch(e, &options, &event_tx);
    }
    let reader = client.downgrade();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let Message::Text(text) = msg else { continue };
            match parse(&text) {
                Ok(Incoming::Response {
                    id: Some(id),
                    result,
                }) => {
                    if let Some(tx) = reader
                        .pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .map
                        .remove(&id)
                    {
                        let _ = tx.send(result);
                    }
                }
                Ok(Incoming::Response { id: None, result }) => {
                    let _ = event_tx.send(Event {
                        name: "RESPONSE_WITHOUT_ID".into(),
                        args: vec![arg(&result)],
                        rid: None,
                    });
                }
                Ok(Incoming::Event(e)) => match reader.upgrade() {
                    Some(client) => client.dispatch(e, &options, &event_tx),
                    None => break,
                },
                Err(e) => tracing::warn!(error = %e, "unreadable frame from server"),
            }
        }
        // Wake every waiter, and refuse later calls: the connection is gone.
        let mut waiters = reader.pending.lock().unwrap_or_else(|p| p.into_inner());
        waiters.closed = true;
        waiters.map.clear();
    });
    Ok((client, Events { rx: event_rx }))
}

enum Incoming {
    Response {
        id: Option<u64>,
        result: OperationResult,
    },
    Event(Event),
}

fn parse(text: &str) -> Result<Incoming, ClientError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        result: Option<OperationResult>,
        #[serde(default)]
        event: Option<String>,
        #[serde(default)]
        args: Vec<Box<RawValue>>,
        #[serde(default)]
        rid: Option<String>,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| ClientError::Protocol(e.to_string()))?;
    match (raw.event, raw.result) {
        (Some(name), _) => Ok(Incoming::Event(Event {
            name,
            args: raw.args,
            rid: raw.rid,
        })),
        (None, Some(result)) => Ok(Incoming::Response { id: raw.id, result }),
        _ => Err(ClientError::Protocol(text.chars().take(200).collect())),
    }
}

impl Client {
    /// What the reader task keeps: without a strong sender, dropping every `Client` closes
    /// the connection.
    fn downgrade(&self) -> WeakClient {
        WeakClient {
            out: self.out.downgrade(),
            pending: self.pending.clone(),
            next_id: self.next_id.clone(),
            hello: self.hello.clone(),
        }
    }

    fn dispatch(
        &self,
        event: Event,
        options: &ConnectOptions,
        events: &mpsc::UnboundedSender<Event>,
    ) {
        if let Some(rid) = event.rid.clone() {
            if event.name == events::ON_REQUEST_TRANSFER_DATA
                && let Some(handler) = options.transfer_data.clone()
            {
                let id = event.arg(0).as_str().unwrap_or_default().to_owned();
                if let Ok(meta) = serde_json::from_value::<RequestTransferMeta>(event.arg(1)) {
                    let client = self.clone();
                    tokio::spawn(async move {
                        match handler(id, meta).await {
                            DataAnswer::Value(v) => client.reply(&rid, Some(&v)),
                            DataAnswer::Undefined => client.reply(&rid, None),
                            DataAnswer::Error(e) => client.reply_error(&rid, &e),
                            DataAnswer::NoAnswer => {}
                        }
                    });
                }
            } else if event.name == events::ON_LOAD_TRANSFER_DATA && options.auto_ack {
                self.reply(&rid, None);
            }
        }
        let _ = events.send(event);
    }

    pub fn agent_id(&self) -> &str {
        &self.hello.agent_id
    }

    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// Answers an event that carries a `rid`. `value` is JSON text sent verbatim; `None`
    /// means `undefined` (and, for `ON_LOAD_TRANSFER_DATA`, is the acknowledgement).
    pub fn reply(&self, rid: &str, value: Option<&str>) {
        let rid = serde_json::to_string(rid).expect("string");
        let text = match value {
            Some(v) => format!(r#"{{"reply":{rid},"value":{v}}}"#),
            None => format!(r#"{{"reply":{rid}}}"#),
        };
        let _ = self.out.send(Message::text(text));
    }

    pub fn reply_error(&self, rid: &str, error: &str) {
        let text = serde_json::json!({"reply": rid, "error": error}).to_string();
        let _ = self.out.send(Message::text(text));
    }

    /// Sends a raw text frame (tests of malformed input use it).
    pub fn send_raw(&self, text: impl Into<String>) {
        let _ = self.out.send(Message::text(text.into()));
    }

    /// Closes the connection.
    pub fn close(&self) {
        let _ = self.out.send(Message::Close(None));
    }

    /// Calls a method with raw positional args; `null` means "not given".
    pub async fn call_raw(
        &self,
        op: &str,
        args: Vec<Box<RawValue>>,
    ) -> Result<serde_json::Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut waiters = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if waiters.closed {
                return Err(ClientError::Closed);
            }
            waiters.map.insert(id, tx);
        }
        let args: Vec<&str> = args.iter().map(|a| a.get()).collect();
        let frame = format!(
            r#"{{"id":{id},"op":{},"args":[{}]}}"#,
            serde_json::to_string(op).expect("string"),
            args.join(",")
        );
        self.out
            .send(Message::text(frame))
            .map_err(|_| ClientError::Closed)?;
        let result = rx.await.map_err(|_| ClientError::Closed)?;
        result.into_result().map_err(ClientError::Api)
    }

    /// Calls a method with ordinary JSON args.
    pub async fn call(
        &self,
        op: &str,
        args: Vec<serde_json::Value>,
    ) -> Result<serde_json::Value, ClientError> {
        self.call_raw(op, args.iter().map(arg).collect()).await
    }

    pub async fn get_login_state(&self) -> Result<serde_json::Value, ClientError> {
        self.call("getLoginState", vec![]).await
    }

    pub async fn logout(&self) -> Result<(), ClientError> {
        self.call("logout", vec![]).await.map(drop)
    }

    pub async fn get_agent_state(&self) -> Result<baton_protocol::AgentStateData, ClientError> {
        typed(self.call("getAgentState", vec![]).await?)
    }

    pub async fn set_agent_state(
        &self,
        state: &str,
        reason: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call("setAgentState", vec![state.into(), reason.into()])
            .await
            .map(drop)
    }

    pub async fn get_team_members(
        &self,
        team: &str,
    ) -> Result<Vec<baton_protocol::TeamMember>, ClientError> {
        typed(self.call("getTeamMembers", vec![team.into()]).await?)
    }

    pub async fn get_services_list(&self) -> Result<Vec<baton_protocol::ServiceInfo>, ClientError> {
        typed(self.call("getServicesList", vec![]).await?)
    }

    pub async fn get_interactions_state(&self) -> Result<InteractionsState, ClientError> {
        typed(self.call("getInteractionsState", vec![]).await?)
    }

    pub async fn accept_interaction(&self, id: Option<&str>) -> Result<(), ClientError> {
        self.call("acceptInteraction", vec![id.into()])
            .await
            .map(drop)
    }

    pub async fn reject_interaction(&self, id: Option<&str>) -> Result<(), ClientError> {
        self.call("rejectInteraction", vec![id.into()])
            .await
            .map(drop)
    }

    pub async fn send_chat_message(&self, text: &str, id: Option<&str>) -> Result<(), ClientError> {
        self.call("sendChatMessage", vec![text.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn set_call_hold(&self, hold: bool, id: Option<&str>) -> Result<(), ClientError> {
        self.call("setCallHold", vec![hold.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn leave_interaction(&self, id: Option<&str>) -> Result<(), ClientError> {
        self.call("leaveInteraction", vec![id.into()])
            .await
            .map(drop)
    }

    pub async fn complete_interaction(&self, id: Option<&str>) -> Result<(), ClientError> {
        self.call("completeInteraction", vec![id.into()])
            .await
            .map(drop)
    }

    pub async fn add_note(&self, text: &str, id: Option<&str>) -> Result<(), ClientError> {
        self.call("addNote", vec![text.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn set_variable(
        &self,
        key: &str,
        value: serde_json::Value,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call("setVariable", vec![key.into(), value, id.into()])
            .await
            .map(drop)
    }

    pub async fn get_variables(
        &self,
        keys: Option<Vec<&str>>,
        id: Option<&str>,
    ) -> Result<serde_json::Value, ClientError> {
        self.call("getVariables", vec![keys.into(), id.into()])
            .await
    }

    /// Hands the interaction to `target` (username, extension or `service:<name>`).
    /// `data` is JSON text sent verbatim as `customTransferData`.
    pub async fn blind_transfer(
        &self,
        target: &str,
        data: Option<&str>,
        id: Option<&str>,
    ) -> Result<String, ClientError> {
        transfer_id(
            self.call_raw("blindTransfer", vec![arg(&target), raw(data)?, arg(&id)])
                .await?,
        )
    }

    pub async fn consult_call(&self, target: &str) -> Result<String, ClientError> {
        transfer_id(self.call("consultCall", vec![target.into()]).await?)
    }

    pub async fn transfer(&self, data: Option<&str>) -> Result<String, ClientError> {
        transfer_id(self.call_raw("transfer", vec![raw(data)?]).await?)
    }

    pub async fn invite_to_call_conference(
        &self,
        target: &str,
        data: Option<&str>,
        id: Option<&str>,
    ) -> Result<String, ClientError> {
        transfer_id(
            self.call_raw(
                "inviteToCallConference",
                vec![arg(&target), raw(data)?, arg(&id)],
            )
            .await?,
        )
    }

    pub async fn merge_all_calls_into_conference(
        &self,
        data: Option<&str>,
    ) -> Result<String, ClientError> {
        transfer_id(
            self.call_raw("mergeAllCallsIntoConference", vec![raw(data)?])
                .await?,
        )
    }

    pub async fn remove_from_call_conference(
        &self,
        party_id: &str,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call("removeFromCallConference", vec![party_id.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn invite_to_chat_conference(
        &self,
        agent: &str,
        id: Option<&str>,
    ) -> Result<String, ClientError> {
        transfer_id(
            self.call("inviteToChatConference", vec![agent.into(), id.into()])
                .await?,
        )
    }

    pub async fn remove_from_chat_conference(
        &self,
        party_id: &str,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call("removeFromChatConference", vec![party_id.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn get_transfer_history(
        &self,
        id: Option<&str>,
    ) -> Result<Vec<TransferRecord>, ClientError> {
        typed(self.call("getTransferHistory", vec![id.into()]).await?)
    }

    pub async fn get_teams(&self) -> Result<Vec<baton_protocol::Team>, ClientError> {
        typed(self.call("getTeams", vec![]).await?)
    }

    pub async fn get_agent_not_ready_reasons(&self) -> Result<Vec<String>, ClientError> {
        typed(self.call("getAgentNotReadyReasons", vec![]).await?)
    }

    /// The agent's selected service, if any.
    pub async fn get_service(&self) -> Result<Option<baton_protocol::ServiceInfo>, ClientError> {
        typed(self.call("getService", vec![]).await?)
    }

    /// Selects a service by name or id; `None` clears the selection.
    pub async fn set_service(&self, service: Option<&str>) -> Result<(), ClientError> {
        self.call("setService", vec![service.into()])
            .await
            .map(drop)
    }

    pub async fn get_did_numbers_list(
        &self,
    ) -> Result<Vec<baton_protocol::DidNumber>, ClientError> {
        typed(self.call("getDIDNumbersList", vec![]).await?)
    }

    pub async fn get_did_number(&self) -> Result<Option<baton_protocol::DidNumber>, ClientError> {
        typed(self.call("getDIDNumber", vec![]).await?)
    }

    /// Selects a DID by id or number; `None` clears the selection.
    pub async fn set_did_number(&self, did: Option<&str>) -> Result<(), ClientError> {
        self.call("setDIDNumber", vec![did.into()]).await.map(drop)
    }

    pub async fn get_dispositions_list(
        &self,
        target: &baton_protocol::DispositionTarget,
    ) -> Result<Vec<baton_protocol::DispositionData>, ClientError> {
        typed(
            self.call(
                "getDispositionsList",
                vec![serde_json::to_value(target).expect("json")],
            )
            .await?,
        )
    }

    /// Sets the interaction's disposition by id, code or name.
    pub async fn set_disposition(
        &self,
        disposition: &str,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call("setDisposition", vec![disposition.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn leave_and_complete_interaction(
        &self,
        disposition: Option<&str>,
        note: Option<&str>,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call(
            "leaveAndCompleteInteraction",
            vec![disposition.into(), note.into(), id.into()],
        )
        .await
        .map(drop)
    }

    pub async fn destroy_call_conference(&self, id: Option<&str>) -> Result<(), ClientError> {
        self.call("destroyCallConference", vec![id.into()])
            .await
            .map(drop)
    }

    /// Appends to this agent's latest note on the interaction.
    pub async fn update_note(&self, text: &str, id: Option<&str>) -> Result<(), ClientError> {
        self.call("updateNote", vec![text.into(), id.into()])
            .await
            .map(drop)
    }

    /// Replaces this agent's latest note on the interaction.
    pub async fn replace_note(&self, text: &str, id: Option<&str>) -> Result<(), ClientError> {
        self.call("replaceNote", vec![text.into(), id.into()])
            .await
            .map(drop)
    }

    pub async fn set_reschedule_window(
        &self,
        window: &baton_protocol::RescheduleData,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call(
            "setRescheduleWindow",
            vec![serde_json::to_value(window).expect("json"), id.into()],
        )
        .await
        .map(drop)
    }

    pub async fn set_dial_candidates(
        &self,
        candidates: Vec<serde_json::Value>,
    ) -> Result<(), ClientError> {
        self.call("setDialCandidates", vec![candidates.into()])
            .await
            .map(drop)
    }

    /// The `config` of the integration this client declared (`{}` if none).
    pub async fn get_config(&self) -> Result<serde_json::Value, ClientError> {
        self.call("getConfig", vec![]).await
    }

    pub async fn add_interaction_associated_object(
        &self,
        object: &baton_protocol::AssociatedObject,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call(
            "addInteractionAssociatedObject",
            vec![serde_json::to_value(object).expect("json"), id.into()],
        )
        .await
        .map(drop)
    }

    pub async fn set_interaction_active_screen(
        &self,
        screen: serde_json::Value,
        id: Option<&str>,
    ) -> Result<(), ClientError> {
        self.call("setInteractionActiveScreen", vec![screen, id.into()])
            .await
            .map(drop)
    }

    /// Calls a colleague (username or extension) or an outside number; answers the new
    /// interaction's id.
    pub async fn start_call(&self, phone: &str) -> Result<String, ClientError> {
        new_id(self.call("startCall", vec![phone.into()]).await?)
    }

    /// Starts an outbound chat on `channel` (`web`, `sms`, …) to `address`.
    pub async fn start_chat(&self, channel: &str, address: &str) -> Result<String, ClientError> {
        new_id(
            self.call("startChat", vec![channel.into(), address.into()])
                .await?,
        )
    }

    /// Always `api_method_not_implemented` for now: Baton has no email channel.
    pub async fn start_email(&self, email: &str) -> Result<String, ClientError> {
        new_id(self.call("startEmail", vec![email.into()]).await?)
    }
}

fn new_id(value: serde_json::Value) -> Result<String, ClientError> {
    value
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Protocol("answer without id".into()))
}

fn raw(data: Option<&str>) -> Result<Box<RawValue>, ClientError> {
    match data {
        None => Ok(arg(&serde_json::Value::Null)),
        Some(text) => RawValue::from_string(text.to_owned()).map_err(|e| {
            ClientError::Api(ApiError::new(
                ErrorCode::InvalidArgs,
                format!("transfer data is not JSON: {e}"),
            ))
        }),
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ClientError> {
    serde_json::from_value(value).map_err(|e| ClientError::Protocol(e.to_string()))
}

fn transfer_id(value: serde_json::Value) -> Result<String, ClientError> {
    value
        .get("transferId")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Protocol("hand-off answer without transferId".into()))
}
