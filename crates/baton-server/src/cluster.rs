//! Cluster mode: identical nodes on PostgreSQL and NATS.
//!
//! One node at a time runs the engine. It holds the `engine` lease in PostgreSQL, renews it
//! every second, and proves it still holds it in every commit (fencing), so a node that lost
//! the lease can never write. When it dies, another node takes the lease after it expires,
//! rebuilds the core from PostgreSQL — every interaction, leg, transfer data and deadline is
//! there — and carries on. See `docs/cluster.md` and decision 0005.
//!
//! Every node forwards its commands and queries to the engine over NATS (`baton.engine`,
//! answers on `baton.reply.<node>.<n>`); the engine sends frames for sockets of other nodes
//! to `baton.node.<node>` and customer frames to `baton.customers`. Nodes say they are alive
//! on `baton.alive`; the engine logs out the sockets of a node that goes silent. A new
//! engine announces itself on `baton.leader`, and every node then announces its live agent
//! sockets again, which also replays their pending transfer data.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_core::{Command, Core, CoreConfig, InteractionId};
use baton_protocol::{ApiError, ErrorCode, OperationResult, ServerFrame};
use baton_store::{PostgresStore, Store};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Clock, Engine, Envelope, Extra, Job, Outlet, QueryReply, ReplyTo};
use crate::hub::{Hub, Outbound};
use crate::metrics::Metrics;
use crate::query::Query;

/// NATS subjects of one cluster, all under its name, so clusters can share a NATS server.
#[derive(Debug, Clone)]
struct Subjects {
    engine: String,
    alive: String,
    leader: String,
    customers: String,
    prefix: String,
}

impl Subjects {
    fn new(name: &str) -> Self {
        Self {
            engine: format!("{name}.engine"),
            alive: format!("{name}.alive"),
            leader: format!("{name}.leader"),
            customers: format!("{name}.customers"),
            prefix: name.to_owned(),
        }
    }

    /// Where a shard's engine listens: `<name>.engine` unsharded, `<name>.engine.<k>` else.
    fn engine_of(&self, shard: u16, shards: u16) -> String {
        if shards <= 1 {
            self.engine.clone()
        } else {
            format!("{}.{shard}", self.engine)
        }
    }

    fn node(&self, node: u16) -> String {
        format!("{}.node.{node}", self.prefix)
    }

    /// Told to a node the engine believed dead: it announces its sockets again.
    fn down(&self, node: u16) -> String {
        format!("{}.down.{node}", self.prefix)
    }

    fn reply(&self, node: u16, id: &str) -> String {
        format!("{}.reply.{node}.{id}", self.prefix)
    }
}

/// How to reach the other parts of a cluster.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    pub database_url: String,
    /// A PostgreSQL schema to use (created if missing); tests use one each.
    pub schema: Option<String>,
    pub nats_url: String,
    /// This node's number (1..=65535); random when not given.
    pub node_id: Option<u16>,
    /// How long the engine lease lasts without renewal; a dead engine is replaced after it.
    pub lease_ttl_ms: u64,
    /// How long a node may be silent before the engine logs its sockets out.
    pub node_timeout_ms: u64,
    /// How long a node waits for the engine to answer a command it received.
    pub request_timeout_ms: u64,
    /// How long a command waits for an engine while none runs (a failover), before it
    /// fails with `api_not_answer`. `None`: the lease time plus 3 s (a poll and the load).
    pub failover_wait_ms: Option<u64>,
    /// Prefix of every NATS subject, so several clusters can share one NATS server.
    pub name: String,
    /// Tenant shards, each with its own engine (decision 0018); 1 is one engine for all.
    /// Every node of a cluster must use the same number.
    pub shards: u16,
    /// PEM roots for PostgreSQL TLS (`sslmode=require` in the URL); default the system's.
    pub database_ca_file: Option<std::path::PathBuf>,
    /// Require TLS to NATS (a `tls://` URL requires it too).
    pub nats_tls: bool,
    /// PEM roots for NATS TLS; default the system's.
    pub nats_ca_file: Option<std::path::PathBuf>,
    /// A NATS credentials file (`.creds`: user JWT and NKey seed).
    pub nats_credentials_file: Option<std::path::PathBuf>,
}

impl ClusterSettings {
    pub fn new(database_url: impl Into<String>, nats_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            schema: None,
            nats_url: nats_url.into(),
            node_id: None,
            lease_ttl_ms: 5_000,
            node_timeout_ms: 6_000,
            request_timeout_ms: 15_000,
            failover_wait_ms: None,
            name: "baton".into(),
            shards: 1,
            database_ca_file: None,
            nats_tls: false,
            nats_ca_file: None,
            nats_credentials_file: None,
        }
    }
}

/// A frame for a socket held by another node.
#[derive(Serialize, Deserialize)]
struct Delivery {
    conn: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    close: Option<u16>,
}

#[derive(Serialize, Deserialize)]
struct CustomerDelivery {
    interaction: InteractionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default)]
    close: bool,
}

#[derive(Serialize, Deserialize)]
struct CustomerBatch {
    origin: u16,
    items: Vec<CustomerDelivery>,
}

#[derive(Serialize, Deserialize)]
struct LeaderNotice {
    node: u16,
    epoch: i64,
    /// The shard whose engine this is (0 when unsharded).
    #[serde(default)]
    shard: u16,
}

fn close_reason(code: u16) -> &'static str {
    match code {
        1000 => "logged out",
        1008 => "slow consumer: too many unread frames",
        _ => "closed",
    }
}

/// This node's side of the conversation with the engine, wherever it runs.
pub struct Remote {
    nats: async_nats::Client,
    subjects: Subjects,
    node: u16,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    pending: Mutex<HashMap<u64, Pending>>,
    next: AtomicU64,
    timeout: Duration,
    /// How long a command waits for an engine when none answers (a failover).
    failover_wait: Duration,
    /// The newest engine of each shard seen, `(epoch, node)`; epoch 0 before any.
    /// Waiters watch it.
    leader: tokio::sync::watch::Sender<Vec<(i64, u16)>>,
    /// Which shard each command and query goes to.
    pub router: crate::shards::Router,
    /// Signs what this node sends to the engine.
    signer: Arc<crate::cluster_auth::Signer>,
}

/// A request on its way to the engine.
struct Pending {
    answer: oneshot::Sender<Answer>,
    /// The shard it went to, and the epoch of that shard's engine known when it was sent:
    /// a newer engine means it may be lost.
    shard: u16,
    epoch: i64,
}

/// What became of a request sent to the engine.
enum Answer {
    /// The engine's signed answer.
    Payload(bytes::Bytes),
    /// NATS said nobody listens on the engine subject: nothing received it.
    NoEngine,
    /// The engine it went to was replaced before answering: it may or may not have run.
    EngineChanged,
}

/// How long a request sent to an engine that was then replaced may still be answered
/// (it reached the new engine just before its announcement did).
const ENGINE_CHANGE_GRACE: Duration = Duration::from_millis(1000);

/// How long a command that found no engine waits before it looks again, unless a new
/// engine's announcement wakes it sooner. Long enough that this node has heard a new
/// engine and announced its sockets to it before the command arrives there.
const NO_ENGINE_RETRY: Duration = Duration::from_millis(1000);

impl Remote {
    #[allow(clippy::too_many_arguments)]
    async fn start(
        nats: async_nats::Client,
        subjects: Subjects,
        node: u16,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        timeout: Duration,
        failover_wait: Duration,
        signer: Arc<crate::cluster_auth::Signer>,
        router: crate::shards::Router,
    ) -> Result<Arc<Self>, String> {
        let mut replies = nats
            .subscribe(subjects.reply(node, "*"))
            .await
            .map_err(|e| e.to_string())?;
        let remote = Arc::new(Self {
            nats,
            subjects,
            node,
            hub,
            metrics,
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            timeout,
            failover_wait,
            leader: tokio::sync::watch::Sender::new(vec![(0, 0); usize::from(router.shards)]),
            router,
            signer,
        });
        let weak = Arc::downgrade(&remote);
        tokio::spawn(async move {
            while let Some(msg) = replies.next().await {
                let Some(remote) = weak.upgrade() else { break };
                let Some(id) = msg
                    .subject
                    .rsplit('.')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                // NATS itself answers "no responders" with an empty message; anything else
                // must come from the engine.
                let answer = if msg.payload.is_empty() {
                    Answer::NoEngine
                } else if let Some(body) = remote.signer.open(&msg.payload) {
                    Answer::Payload(bytes::Bytes::copy_from_slice(body))
                } else {
                    remote.refused("reply");
                    continue;
                };
                if let Some(p) = remote.pending().remove(&id) {
                    let _ = p.answer.send(answer);
                }
            }
        });
        Ok(remote)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest epoch of a shard's engine seen; 0 before any.
    fn leader_epoch(&self, shard: u16) -> i64 {
        self.leader.borrow()[usize::from(shard)].0
    }

    /// The node that runs each shard's engine, as last announced; `None` before any.
    pub fn engine_nodes(&self) -> Vec<Option<u16>> {
        self.leader
            .borrow()
            .iter()
            .map(|(epoch, node)| (*epoch > 0).then_some(*node))
            .collect()
    }

    /// Takes note of an engine's announcement. Returns whether it is a new engine; if so,
    /// requests still waiting on the one before are answered `EngineChanged` unless the new
    /// engine answers them within [`ENGINE_CHANGE_GRACE`].
    fn engine_announced(self: &Arc<Self>, shard: u16, epoch: i64, node: u16) -> bool {
        let newer = self
            .leader
            .send_if_modified(|seen| match seen.get_mut(usize::from(shard)) {
                Some(seen) if epoch > seen.0 => {
                    *seen = (epoch, node);
                    true
                }
                _ => false,
            });
        if shard == 0 {
            self.metrics
                .engine_node
                .store(u64::from(node), Ordering::Relaxed);
        }
        if newer {
            let weak = Arc::downgrade(self);
            tokio::spawn(async move {
                tokio::time::sleep(ENGINE_CHANGE_GRACE).await;
                let Some(remote) = weak.upgrade() else { return };
                let lost: Vec<Pending> = {
                    let mut pending = remote.pending();
                    let ids: Vec<u64> = pending
                        .iter()
                        .filter(|(_, p)| p.shard == shard && p.epoch < epoch)
                        .map(|(id, _)| *id)
                        .collect();
                    ids.iter().filter_map(|id| pending.remove(id)).collect()
                };
                for p in lost {
                    let _ = p.answer.send(Answer::EngineChanged);
                }
            });
        }
        newer
    }

    /// Counts and logs a message that is not signed by a node of this cluster.
    fn refused(&self, subject: &str) {
        refused(&self.metrics, subject);
    }

    /// Publishes an envelope with a reply subject, in order with every earlier one.
    async fn send(
        &self,
        envelope: &Envelope,
        shard: u16,
    ) -> Result<(u64, oneshot::Receiver<Answer>), ApiError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending().insert(
            id,
            Pending {
                answer: tx,
                shard,
                epoch: self.leader_epoch(shard),
            },
        );
        let payload = self
            .signer
            .seal(&serde_json::to_vec(envelope).expect("envelopes serialise"));
        if let Err(e) = self
            .nats
            .publish_with_reply(
                self.subjects.engine_of(shard, self.router.shards),
                self.subjects.reply(self.node, &id.to_string()),
                payload.into(),
            )
            .await
        {
            self.pending().remove(&id);
            return Err(ApiError::new(
                ErrorCode::ApiNotAnswer,
                format!("cannot reach the engine: {e}"),
            ));
        }
        Ok((id, rx))
    }

    /// Waits for the answer to one sent request, at most the request time-out.
    async fn wait(&self, id: u64, rx: oneshot::Receiver<Answer>) -> Answer {
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(answer)) => answer,
            _ => {
                self.pending().remove(&id);
                Answer::EngineChanged
            }
        }
    }

    /// Sends a request and waits for the engine's answer. While no engine listens (a
    /// failover), the request was received by nobody, so it is sent again until an engine
    /// answers or `failover_wait` has passed (then `api_not_answer`: nothing happened). A
    /// request whose engine was replaced before answering, or that went unanswered for the
    /// request time-out, fails with `timeout`: it may or may not have been applied.
    /// `sent` is the first sending, done by the caller so that requests leave in order.
    async fn roundtrip(
        &self,
        envelope: &Envelope,
        shard: u16,
        sent: (u64, oneshot::Receiver<Answer>),
    ) -> Result<bytes::Bytes, ApiError> {
        let deadline = tokio::time::Instant::now() + self.failover_wait;
        let mut sent = Some(sent);
        loop {
            let mut leader = self.leader.subscribe();
            let epoch = self.leader_epoch(shard);
            let (id, rx) = match sent.take() {
                Some(first) => first,
                None => self.send(envelope, shard).await?,
            };
            match self.wait(id, rx).await {
                Answer::Payload(payload) => return Ok(payload),
                Answer::EngineChanged => return Err(outcome_unknown()),
                Answer::NoEngine if tokio::time::Instant::now() >= deadline => {
                    return Err(ApiError::new(
                        ErrorCode::ApiNotAnswer,
                        "no engine answered within the failover time; nothing was done",
                    ));
                }
                Answer::NoEngine => {
                    // Sent again when this node has announced its sockets to a newer engine
                    // of the shard, or after a pause (an engine that only blinked).
                    let newer = leader.wait_for(|seen| {
                        seen.get(usize::from(shard))
                            .is_some_and(|(e, _)| *e > epoch)
                    });
                    let pause = NO_ENGINE_RETRY.min(deadline - tokio::time::Instant::now());
                    let _ = tokio::time::timeout(pause, newer).await;
                }
            }
        }
    }

    pub async fn submit(
        self: &Arc<Self>,
        command: Command,
        extra: Extra,
        reply: ReplyTo,
    ) -> Result<(), ApiError> {
        let shard = match self.router.command(&command).await? {
            crate::shards::Route::Shard(shard) => shard,
            crate::shards::Route::Every => 0,
        };
        let envelope = Envelope::Command { command, extra };
        if matches!(reply, ReplyTo::Nobody) {
            let payload = self
                .signer
                .seal(&serde_json::to_vec(&envelope).expect("envelopes serialise"));
            return self
                .nats
                .publish(
                    self.subjects.engine_of(shard, self.router.shards),
                    payload.into(),
                )
                .await
                .map_err(|e| {
                    ApiError::new(
                        ErrorCode::ApiNotAnswer,
                        format!("cannot reach the engine: {e}"),
                    )
                });
        }
        let sent = self.send(&envelope, shard).await?;
        let this = self.clone();
        tokio::spawn(async move {
            let result = this
                .roundtrip(&envelope, shard, sent)
                .await
                .and_then(|payload| {
                    serde_json::from_slice::<OperationResult>(&payload)
                        .map_err(|e| {
                            ApiError::new(
                                ErrorCode::UnknownError,
                                format!("bad engine answer: {e}"),
                            )
                        })?
                        .into_result()
                });
            match reply {
                ReplyTo::Channel(tx) => {
                    let _ = tx.send(result);
                }
                ReplyTo::Socket { conn, id, method } => {
                    let label = match &result {
                        Ok(_) => "success",
                        Err(e) => e.kind().map_or("unknown_error", |k| k.name()),
                    };
                    this.metrics.request(method, label);
                    this.hub.answered(conn);
                    let result = match result {
                        Ok(data) => OperationResult::Success { data },
                        Err(error) => OperationResult::Error { error },
                    };
                    this.hub.send_agent(
                        conn,
                        Outbound::Text(ServerFrame::response(Some(id), result).to_text()),
                    );
                }
                ReplyTo::Nobody | ReplyTo::Remote(_) => {}
            }
        });
        Ok(())
    }

    pub async fn query(self: &Arc<Self>, query: Query) -> Result<serde_json::Value, ApiError> {
        let route = self.router.query(&query).await?;
        let envelope = Envelope::Query(query);
        let shards: Vec<u16> = match route {
            crate::shards::Route::Shard(shard) => vec![shard],
            crate::shards::Route::Every => (0..self.router.shards).collect(),
        };
        let mut sent = Vec::with_capacity(shards.len());
        for shard in &shards {
            sent.push((*shard, self.send(&envelope, *shard).await?));
        }
        let answers = futures_util::future::join_all(
            sent.into_iter()
                .map(|(shard, sent)| self.roundtrip(&envelope, shard, sent)),
        )
        .await;
        let mut values = Vec::with_capacity(answers.len());
        for payload in answers {
            values.push(serde_json::from_slice(&payload?).map_err(|e| {
                ApiError::new(ErrorCode::UnknownError, format!("bad engine answer: {e}"))
            })?);
        }
        let Envelope::Query(query) = &envelope else {
            unreachable!("built above")
        };
        Ok(crate::shards::merge(query, values))
    }

    /// Readiness: every shard's engine answers a ping, without waiting out a failover.
    pub async fn ping(&self) -> bool {
        for shard in 0..self.router.shards {
            let Ok((id, rx)) = self.send(&Envelope::Query(Query::Ping), shard).await else {
                return false;
            };
            match tokio::time::timeout(Duration::from_secs(2), rx).await {
                Ok(Ok(Answer::Payload(_))) => {}
                _ => {
                    self.pending().remove(&id);
                    return false;
                }
            }
        }
        true
    }

    pub fn nats_connected(&self) -> bool {
        self.nats.connection_state() == async_nats::connection::State::Connected
    }
}

/// The engine's output in a cluster: local sockets directly, the rest over NATS, in order.
struct ClusterOutlet {
    hub: Arc<Hub>,
    subjects: Subjects,
    node: u16,
    buffer: Mutex<OutBuffer>,
    publisher: mpsc::UnboundedSender<Vec<(String, Vec<u8>)>>,
}

#[derive(Default)]
struct OutBuffer {
    replies: Vec<(String, Vec<u8>)>,
    nodes: BTreeMap<u16, Vec<Delivery>>,
    customers: Vec<CustomerDelivery>,
}

impl ClusterOutlet {
    fn buffer(&self) -> std::sync::MutexGuard<'_, OutBuffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Outlet for ClusterOutlet {
    fn agent(&self, conn: u64, out: Outbound) {
        let node = baton_core::command::node_of(conn);
        if node == self.node {
            return self.hub.send_agent(conn, out);
        }
        let delivery = match out {
            Outbound::Text(text) => Delivery {
                conn,
                text: Some(text),
                close: None,
            },
            Outbound::Close(code, _) => Delivery {
                conn,
                text: None,
                close: Some(code),
            },
        };
        self.buffer().nodes.entry(node).or_default().push(delivery);
    }

    fn customers(&self, interaction: &InteractionId, text: &str) {
        self.hub.send_customers(interaction, text);
        self.buffer().customers.push(CustomerDelivery {
            interaction: interaction.clone(),
            text: Some(text.to_owned()),
            close: false,
        });
    }

    fn close_customers(&self, interaction: &InteractionId) {
        self.hub.close_customers(interaction);
        self.buffer().customers.push(CustomerDelivery {
            interaction: interaction.clone(),
            text: None,
            close: true,
        });
    }

    fn answered(&self, conn: u64) {
        if baton_core::command::node_of(conn) == self.node {
            self.hub.answered(conn);
        }
    }

    fn remote_reply(&self, subject: String, payload: Vec<u8>) {
        self.buffer().replies.push((subject, payload));
    }

    fn flush(&self) {
        let out = std::mem::take(&mut *self.buffer());
        let mut messages = out.replies;
        for (node, deliveries) in out.nodes {
            messages.push((
                self.subjects.node(node),
                serde_json::to_vec(&deliveries).expect("json"),
            ));
        }
        if !out.customers.is_empty() {
            let batch = CustomerBatch {
                origin: self.node,
                items: out.customers,
            };
            messages.push((
                self.subjects.customers.clone(),
                serde_json::to_vec(&batch).expect("json"),
            ));
        }
        if !messages.is_empty() {
            let _ = self.publisher.send(messages);
        }
    }
}

/// Everything cluster mode runs on one node.
pub struct Cluster {
    pub remote: Arc<Remote>,
    pub node: u16,
}

/// Connects to NATS and starts this node's cluster tasks: deliveries, heartbeats, and the
/// contest for the engine lease.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    settings: &ClusterSettings,
    store: Arc<PostgresStore>,
    open_store: StoreOpener,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    clock: Clock,
    core_config: CoreConfig,
    node: u16,
) -> Result<Cluster, String> {
    let nats = connect_nats(settings).await?;
    // Only nodes that can read the cluster's database know this key: the engine takes
    // commands signed with it and nothing else (see `crate::cluster_auth`).
    let secret = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.shared_secret("engine-commands"))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot read the cluster secret: {e}"))?
    };
    let signer = Arc::new(
        crate::cluster_auth::Signer::from_hex(&secret)
            .ok_or("the cluster secret in the database is malformed")?,
    );
    let subjects = Subjects::new(&settings.name);
    let timeout = Duration::from_millis(settings.request_timeout_ms);
    let failover_wait = Duration::from_millis(
        settings
            .failover_wait_ms
            .unwrap_or(settings.lease_ttl_ms + 3_000),
    );
    let remote = Remote::start(
        nats.clone(),
        subjects.clone(),
        node,
        hub.clone(),
        metrics.clone(),
        timeout,
        failover_wait,
        signer.clone(),
        crate::shards::Router::new(settings.shards, store.clone()),
    )
    .await?;

    // Frames for this node's sockets.
    let mut mine = nats
        .subscribe(subjects.node(node))
        .await
        .map_err(|e| e.to_string())?;
    let (h, sig, m) = (hub.clone(), signer.clone(), metrics.clone());
    tokio::spawn(async move {
        while let Some(msg) = mine.next().await {
            let Some(body) = sig.open(&msg.payload) else {
                refused(&m, "node");
                continue;
            };
            let Ok(deliveries) = serde_json::from_slice::<Vec<Delivery>>(body) else {
                continue;
            };
            for d in deliveries {
                match (d.text, d.close) {
                    (Some(text), _) => h.send_agent(d.conn, Outbound::Text(text)),
                    (None, Some(code)) => {
                        h.send_agent(d.conn, Outbound::Close(code, close_reason(code)))
                    }
                    _ => {}
                }
            }
        }
    });
    let mut customers = nats
        .subscribe(subjects.customers.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (h, sig, m) = (hub.clone(), signer.clone(), metrics.clone());
    tokio::spawn(async move {
        while let Some(msg) = customers.next().await {
            let Some(body) = sig.open(&msg.payload) else {
                refused(&m, "customers");
                continue;
            };
            let Ok(batch) = serde_json::from_slice::<CustomerBatch>(body) else {
                continue;
            };
            if batch.origin == node {
                continue;
            }
            for item in batch.items {
                match item.text {
                    Some(text) => h.send_customers(&item.interaction, &text),
                    None if item.close => h.close_customers(&item.interaction),
                    None => {}
                }
            }
        }
    });

    // Declared dead while alive (a long pause): announce this node's agent sockets again.
    let mut down = nats
        .subscribe(subjects.down(node))
        .await
        .map_err(|e| e.to_string())?;
    let (r, h, sig) = (remote.clone(), hub.clone(), signer.clone());
    tokio::spawn(async move {
        while let Some(msg) = down.next().await {
            let Some(body) = sig.open(&msg.payload) else {
                r.refused("down");
                continue;
            };
            // The shard whose engine said so; its sockets only.
            let shard = serde_json::from_slice::<u16>(body).ok();
            tracing::warn!(
                ?shard,
                "an engine took this node for dead; announcing its sockets again"
            );
            reannounce(&r, &h, shard).await;
        }
    });

    // A new engine: announce this node's agent sockets again.
    let mut leaders = nats
        .subscribe(subjects.leader.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (r, h, sig) = (remote.clone(), hub.clone(), signer.clone());
    tokio::spawn(async move {
        while let Some(msg) = leaders.next().await {
            let Some(body) = sig.open(&msg.payload) else {
                r.refused("leader");
                continue;
            };
            let Ok(notice) = serde_json::from_slice::<LeaderNotice>(body) else {
                continue;
            };
            if notice.epoch <= r.leader_epoch(notice.shard) {
                continue;
            }
            tracing::info!(
                engine_node = notice.node,
                shard = notice.shard,
                epoch = notice.epoch,
                "a new engine leads the cluster"
            );
            // The engine's own node announces too: the new core restored its sockets'
            // logins, but an event may have been lost with the old engine. The sockets go
            // first: requests waiting for this engine are woken after, so they reach it
            // behind their socket's announcement (one NATS connection keeps the order).
            reannounce(&r, &h, Some(notice.shard)).await;
            r.engine_announced(notice.shard, notice.epoch, notice.node);
        }
    });

    // Which nodes are alive, to spread the shards over them.
    let live: Arc<Mutex<HashMap<u16, tokio::time::Instant>>> = Arc::default();
    let mut heard = nats
        .subscribe(subjects.alive.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (l, sig, m) = (live.clone(), signer.clone(), metrics.clone());
    tokio::spawn(async move {
        while let Some(msg) = heard.next().await {
            let Some(body) = sig.open(&msg.payload) else {
                refused(&m, "alive");
                continue;
            };
            if let Ok(n) = serde_json::from_slice::<u16>(body) {
                l.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(n, tokio::time::Instant::now());
            }
        }
    });

    // Heartbeats.
    let alive = nats.clone();
    let alive_subject = subjects.alive.clone();
    let sig = signer.clone();
    tokio::spawn(async move {
        let payload = sig.seal(&serde_json::to_vec(&node).expect("json"));
        loop {
            let _ = alive
                .publish(alive_subject.clone(), payload.clone().into())
                .await;
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    });

    // The publisher keeps the engine's messages in order.
    let (publisher, mut outbox) = mpsc::unbounded_channel::<Vec<(String, Vec<u8>)>>();
    let (p, sig) = (nats.clone(), signer.clone());
    tokio::spawn(async move {
        while let Some(messages) = outbox.recv().await {
            for (subject, payload) in messages {
                if let Err(e) = p.publish(subject, sig.seal(&payload).into()).await {
                    tracing::warn!(error = %e, "could not publish to NATS");
                }
            }
        }
    });
    let outlet: Arc<dyn Outlet> = Arc::new(ClusterOutlet {
        hub: hub.clone(),
        subjects: subjects.clone(),
        node,
        buffer: Mutex::default(),
        publisher,
    });
    tokio::spawn(contend(
        Leading {
            settings: settings.clone(),
            subjects,
            nats,
            store,
            open_store,
            outlet,
            metrics,
            clock,
            core_config,
            node,
            signer,
            holder: format!("node-{node}-{}", crate::auth::new_id("run")),
        },
        live,
    ));
    Ok(Cluster { remote, node })
}

/// Opens another connection to the cluster's database: each shard's engine commits on its
/// own, under its own fence, so shards on one node commit side by side.
pub type StoreOpener =
    Arc<dyn Fn() -> Result<PostgresStore, baton_store::StoreError> + Send + Sync>;

/// Announces the live agent sockets of this node to the engines again: those of one
/// shard's new engine, or all of them.
async fn reannounce(remote: &Arc<Remote>, hub: &Hub, shard: Option<u16>) {
    for (conn, meta) in hub.agent_sockets() {
        if shard.is_some_and(|s| !remote.router.conn_in_shard(conn, s)) {
            continue;
        }
        let resync = Command::Resync {
            agent: meta.agent,
            session: meta.session,
            conn,
            integration_key: meta.integration_key,
        };
        let _ = remote
            .submit(resync, Extra::default(), ReplyTo::Nobody)
            .await;
    }
}

/// What a node needs to run shard engines.
struct Leading {
    settings: ClusterSettings,
    subjects: Subjects,
    nats: async_nats::Client,
    store: Arc<PostgresStore>,
    open_store: StoreOpener,
    outlet: Arc<dyn Outlet>,
    metrics: Arc<Metrics>,
    clock: Clock,
    core_config: CoreConfig,
    node: u16,
    signer: Arc<crate::cluster_auth::Signer>,
    /// This run of this node in the lease rows.
    holder: String,
}

/// A shard engine this node runs.
struct Held {
    /// Asks it to hand its shard over: stop taking commands, finish those it has, release
    /// the lease.
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

/// Every second: takes free shard leases up to this node's share, `ceil(shards / live
/// nodes)`, and hands over the shards above it when more nodes are alive. With one shard
/// this is the single engine of decision 0005.
async fn contend(leading: Leading, live: Arc<Mutex<HashMap<u16, tokio::time::Instant>>>) {
    let leading = Arc::new(leading);
    let shards = leading.settings.shards.max(1);
    let window = Duration::from_millis(leading.settings.lease_ttl_ms.max(1_000));
    let ttl = leading.settings.lease_ttl_ms as i64;
    let mut held: BTreeMap<u16, Held> = BTreeMap::new();
    if shards > 1 {
        // Hear the others' heartbeats first, so the first node up does not take every shard
        // only to hand most of them over a moment later.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
    }
    loop {
        held.retain(|_, h| !h.done.is_finished());
        let alive = {
            let now = tokio::time::Instant::now();
            let live = live.lock().unwrap_or_else(|p| p.into_inner());
            live.iter()
                .filter(|(n, t)| **n != leading.node && now - **t <= window)
                .count()
                + 1
        };
        let share = usize::from(shards).div_ceil(alive);
        if held.len() > share {
            if let Some((shard, h)) = held.pop_last() {
                tracing::info!(
                    node = leading.node,
                    shard,
                    share,
                    "more nodes are alive: handing a shard over"
                );
                let _ = h.stop.send(());
                let _ = h.done.await;
            }
        } else {
            // Nodes start looking at different shards, so nodes starting together spread.
            let first = leading.node % shards;
            for k in 0..shards {
                if held.len() >= share {
                    break;
                }
                let shard = (first + k) % shards;
                if held.contains_key(&shard) {
                    continue;
                }
                let (s, h) = (leading.store.clone(), leading.holder.clone());
                let name = crate::shards::lease_name(shard, shards);
                let acquired =
                    tokio::task::spawn_blocking(move || s.try_acquire_named_lease(&name, &h, ttl))
                        .await;
                match acquired {
                    Ok(Ok(Some(epoch))) => {
                        let (stop, stopped) = oneshot::channel();
                        let l = leading.clone();
                        let done = tokio::spawn(async move { l.lead(shard, epoch, stopped).await });
                        held.insert(shard, Held { stop, done });
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, shard, "lease check failed"),
                    Err(e) => tracing::warn!(error = %e, shard, "lease task failed"),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
}

impl Leading {
    /// Runs the engine of one shard while this node holds its lease (epoch `epoch`).
    async fn lead(&self, shard: u16, epoch: i64, stop: oneshot::Receiver<()>) {
        let shards = self.settings.shards.max(1);
        let lease = crate::shards::lease_name(shard, shards);
        let store = if shards == 1 {
            self.store.clone()
        } else {
            let open = self.open_store.clone();
            match tokio::task::spawn_blocking(move || open()).await {
                Ok(Ok(store)) => Arc::new(store),
                other => {
                    let error = match other {
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => e.to_string(),
                        Ok(Ok(_)) => unreachable!("matched above"),
                    };
                    tracing::error!(error, shard, "cannot open a connection for the shard");
                    self.release(&lease, epoch).await;
                    return;
                }
            }
        };
        store.set_named_fence(Some((lease.clone(), self.holder.clone(), epoch)));
        self.metrics.engine_shards.fetch_add(1, Ordering::SeqCst);
        tracing::info!(
            node = self.node,
            shard,
            epoch,
            "this node now runs the engine"
        );
        let handed_over = self.run(&store, shard, epoch, stop).await;
        self.metrics.engine_shards.fetch_sub(1, Ordering::SeqCst);
        store.set_named_fence(None);
        if handed_over {
            self.release(&lease, epoch).await;
        }
        tracing::warn!(
            node = self.node,
            shard,
            epoch,
            handed_over,
            "this node no longer runs the engine"
        );
    }

    async fn release(&self, lease: &str, epoch: i64) {
        let (s, h, name) = (self.store.clone(), self.holder.clone(), lease.to_owned());
        let _ = tokio::task::spawn_blocking(move || s.release_named_lease(&name, &h, epoch)).await;
    }

    /// The engine loop of one shard. Returns whether it ended by handing over (and has
    /// finished every command it took), rather than by losing the lease.
    async fn run(
        &self,
        store: &Arc<PostgresStore>,
        shard: u16,
        epoch: i64,
        mut stop: oneshot::Receiver<()>,
    ) -> bool {
        let (settings, subjects, nats, metrics, signer) = (
            &self.settings,
            &self.subjects,
            &self.nats,
            &self.metrics,
            &self.signer,
        );
        let shards = settings.shards.max(1);
        let lease = crate::shards::lease_name(shard, shards);
        let s = store.clone();
        let snapshot = match tokio::task::spawn_blocking(move || s.load()).await {
            Ok(Ok(snapshot)) => crate::shards::snapshot_of_shard(snapshot, shard, shards),
            other => {
                tracing::error!(?other, "cannot load the state to run the engine");
                return false;
            }
        };
        let core = Core::restore(self.core_config, snapshot, self.clock.now());
        let store_dyn: Arc<dyn Store> = store.clone();
        let (engine, jobs) = Engine::new(
            core,
            store_dyn,
            self.outlet.clone(),
            metrics.clone(),
            self.clock,
        );
        let (engine_task, watcher) = crate::engine::spawn_supervised(engine, metrics.clone(), true);
        let subscriptions = async {
            Ok::<_, async_nats::SubscribeError>((
                nats.subscribe(subjects.engine_of(shard, shards)).await?,
                nats.subscribe(subjects.alive.clone()).await?,
            ))
        };
        let Ok((mut inbox, mut alive)) = subscriptions.await else {
            engine_task.abort();
            return false;
        };
        let notice = signer.seal(
            &serde_json::to_vec(&LeaderNotice {
                node: self.node,
                epoch,
                shard,
            })
            .expect("json"),
        );
        let _ = nats
            .publish(subjects.leader.clone(), notice.clone().into())
            .await;

        let node_timeout = Duration::from_millis(settings.node_timeout_ms);
        let mut last_seen: HashMap<u16, tokio::time::Instant> = HashMap::new();
        let mut renew =
            tokio::time::interval(Duration::from_millis((settings.lease_ttl_ms / 4).max(200)));
        let handed_over = loop {
            tokio::select! {
                _ = &mut stop => break true,
                msg = inbox.next() => {
                    let Some(msg) = msg else { break false };
                    let Some(job) = job_of(msg, signer, metrics) else { continue };
                    if jobs.send(job).await.is_err() {
                        break false;
                    }
                }
                msg = alive.next() => {
                    let Some(msg) = msg else { break false };
                    let Some(body) = signer.open(&msg.payload) else {
                        refused(metrics, "alive");
                        continue;
                    };
                    if let Ok(n) = serde_json::from_slice::<u16>(body) {
                        last_seen.insert(n, tokio::time::Instant::now());
                    }
                }
                _ = renew.tick() => {
                    let (s, h, name) = (store.clone(), self.holder.clone(), lease.clone());
                    let ttl = settings.lease_ttl_ms as i64;
                    match tokio::task::spawn_blocking(move || s.renew_named_lease(&name, &h, epoch, ttl)).await {
                        Ok(Ok(true)) => {}
                        _ => break false,
                    }
                    let _ = nats.publish(subjects.leader.clone(), notice.clone().into()).await;
                    let now = tokio::time::Instant::now();
                    let gone: Vec<u16> = last_seen.iter().filter(|(_, t)| now - **t > node_timeout).map(|(n, _)| *n).collect();
                    for n in gone {
                        last_seen.remove(&n);
                        tracing::warn!(node = n, shard, "a node went silent: logging its sockets out");
                        let job = Job::Command { command: Box::new(Command::NodeDown { node: n }), extra: Extra::default(), reply: ReplyTo::Nobody };
                        let _ = jobs.send(job).await;
                        let body = serde_json::to_vec(&shard).expect("json");
                        let _ = nats.publish(subjects.down(n), signer.seal(&body).into()).await;
                    }
                }
            }
        };
        if handed_over {
            // No new commands; those taken — and those NATS had already delivered — are
            // applied, committed and answered, then the lease goes (the next engine of the
            // shard starts from all of them).
            let _ = inbox.unsubscribe().await;
            while let Ok(Some(msg)) =
                tokio::time::timeout(Duration::from_millis(200), inbox.next()).await
            {
                if let Some(job) = job_of(msg, signer, metrics)
                    && jobs.send(job).await.is_err()
                {
                    break;
                }
            }
            drop(jobs);
            if tokio::time::timeout(Duration::from_secs(10), watcher)
                .await
                .is_err()
            {
                engine_task.abort();
                return false;
            }
            true
        } else {
            engine_task.abort();
            false
        }
    }
}

/// The engine's job for a message on its subject; `None` for one that is not signed by
/// the cluster, unreadable, or a query nobody waits for.
fn job_of(
    msg: async_nats::Message,
    signer: &crate::cluster_auth::Signer,
    metrics: &Metrics,
) -> Option<Job> {
    let Some(body) = signer.open(&msg.payload) else {
        refused(metrics, "engine");
        return None;
    };
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        tracing::warn!("unreadable envelope on the engine subject");
        return None;
    };
    let reply = msg.reply.map(|s| s.to_string());
    Some(match envelope {
        Envelope::Command { command, extra } => Job::Command {
            command: Box::new(command),
            extra,
            reply: reply.map_or(ReplyTo::Nobody, ReplyTo::Remote),
        },
        Envelope::Query(query) => Job::Query {
            query,
            reply: QueryReply::Remote(reply?),
        },
    })
}

/// Counts and logs a message on `subject` (its kind) without a valid cluster signature.
fn refused(metrics: &Metrics, subject: &str) {
    metrics
        .rejected_cluster_messages
        .fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        subject,
        "refused an unsigned or wrongly signed cluster message"
    );
}

/// Connects to NATS with the cluster's TLS and credentials settings.
async fn connect_nats(settings: &ClusterSettings) -> Result<async_nats::Client, String> {
    let mut options = async_nats::ConnectOptions::new();
    if let Some(path) = &settings.nats_credentials_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| format!("NATS credentials file {}: {e}", path.display()))?;
    }
    if let Some(path) = &settings.nats_ca_file {
        options = options.add_root_certificates(path.clone());
    }
    if settings.nats_tls {
        options = options.require_tls(true);
    }
    options
        .connect(&settings.nats_url)
        .await
        .map_err(|e| format!("cannot connect to NATS at {}: {e}", settings.nats_url))
}

/// A random node number, never 0 (0 is the single-node hub).
pub fn random_node_id() -> u16 {
    use rand::Rng;
    rand::rng().random_range(1..=u16::MAX)
}

/// The answer of a request whose engine went away before answering.
fn outcome_unknown() -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        "the engine changed while this command was in flight: it may or may not have been \
         applied; check the state before retrying",
    )
}
