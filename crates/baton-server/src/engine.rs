//! The engine: one task owns the core. It drains commands in batches, applies each, commits
//! all their changes in one store transaction, and only then sends replies and events.
//! Many hand-offs thus share one fsync (group commit), and nobody ever sees a state that a
//! crash could take back.
//!
//! Handlers reach the engine through an [`EngineHandle`]: a channel on a single node, NATS
//! in a cluster (see [`crate::cluster`]). The engine sends through an [`Outlet`]: the local
//! hub, or the hub plus NATS for sockets held by other nodes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use baton_core::{Command, Core, Effect, InteractionId, Recipient};
use baton_protocol::{ApiError, ErrorCode, Millis, OperationResult, ServerFrame};
use baton_store::{Batch, Credential, Store};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::hub::{Hub, Outbound};
use crate::metrics::Metrics;
use crate::query::{self, Query};

/// Milliseconds since the epoch, advancing with tokio's clock so tests can pause time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Millis,
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Self {
        let base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis);
        Self {
            base,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> Millis {
        self.base + self.start.elapsed().as_millis() as Millis
    }

    fn instant_at(&self, at: Millis) -> tokio::time::Instant {
        self.start + std::time::Duration::from_millis((at - self.base).max(0) as u64)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes that must commit with a command, and only if it succeeds.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Extra {
    pub credentials: Vec<Credential>,
    /// What an admin action ends (sessions, agents).
    #[serde(default)]
    pub revocations: Vec<Revocation>,
}

/// Something an admin action ends, in the same transaction as its command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Revocation {
    /// One session (revoked by an admin).
    Session(baton_core::SessionId),
    /// Every session of an agent (disabled).
    AgentSessions(baton_core::AgentId),
    /// An agent's record, credential and sessions (deleted).
    Agent(baton_core::AgentId),
}

/// Where a command's answer goes.
pub enum ReplyTo {
    /// Nobody waits (disconnects, timers, replies to events).
    Nobody,
    /// A frame `{"id":…,"result":…}` on an agent socket of this node.
    Socket {
        conn: u64,
        id: u64,
        method: &'static str,
    },
    /// A REST handler or the hello handshake on this node.
    Channel(oneshot::Sender<Result<serde_json::Value, ApiError>>),
    /// Another node, over NATS: the subject to publish the answer on.
    Remote(String),
}

/// Where a query's answer goes.
pub enum QueryReply {
    Channel(oneshot::Sender<serde_json::Value>),
    Remote(String),
}

pub enum Job {
    Command {
        command: Box<Command>,
        extra: Extra,
        reply: ReplyTo,
    },
    Query {
        query: Query,
        reply: QueryReply,
    },
    /// A test-only fault: the engine panics while applying it (`BATON_TEST_FAULTS=1`).
    InjectPanic,
}

/// What travels to the engine's node in a cluster.
#[derive(Serialize, Deserialize)]
pub enum Envelope {
    Command { command: Command, extra: Extra },
    Query(Query),
}

/// A cheap handle to the engine, wherever it runs.
#[derive(Clone)]
pub enum EngineHandle {
    Local(mpsc::Sender<Job>),
    Remote(Arc<crate::cluster::Remote>),
}

/// An [`EngineHandle`] that does not keep the engine running: for tasks the engine itself
/// keeps alive (the media plane), which would otherwise hold it past shutdown.
#[derive(Clone)]
pub enum WeakEngineHandle {
    Local(mpsc::WeakSender<Job>),
    Remote(Arc<crate::cluster::Remote>),
}

impl WeakEngineHandle {
    /// The handle, unless the engine has stopped.
    pub fn upgrade(&self) -> Option<EngineHandle> {
        match self {
            WeakEngineHandle::Local(tx) => tx.upgrade().map(EngineHandle::Local),
            WeakEngineHandle::Remote(remote) => Some(EngineHandle::Remote(remote.clone())),
        }
    }
}

impl EngineHandle {
    pub fn downgrade(&self) -> WeakEngineHandle {
        match self {
            EngineHandle::Local(tx) => WeakEngineHandle::Local(tx.downgrade()),
            EngineHandle::Remote(remote) => WeakEngineHandle::Remote(remote.clone()),
        }
    }

    /// Sends a command whose answer goes to `reply`.
    pub async fn submit(
        &self,
        command: Command,
        extra: Extra,
        reply: ReplyTo,
    ) -> Result<(), ApiError> {
        match self {
            EngineHandle::Local(tx) => tx
                .send(Job::Command {
                    command: Box::new(command),
                    extra,
                    reply,
                })
                .await
                .map_err(|_| stopped()),
            EngineHandle::Remote(remote) => remote.submit(command, extra, reply).await,
        }
    }

    /// Sends a command and waits for its answer (committed before it arrives).
    pub async fn call(
        &self,
        command: Command,
        extra: Extra,
    ) -> Result<serde_json::Value, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.submit(command, extra, ReplyTo::Channel(tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Reads the committed state of the core.
    pub async fn query<T: DeserializeOwned>(&self, query: Query) -> Result<T, ApiError> {
        let value = match self {
            EngineHandle::Local(tx) => {
                let (reply, rx) = oneshot::channel();
                tx.send(Job::Query {
                    query,
                    reply: QueryReply::Channel(reply),
                })
                .await
                .map_err(|_| stopped())?;
                rx.await.map_err(|_| stopped())?
            }
            EngineHandle::Remote(remote) => remote.query(query).await?,
        };
        serde_json::from_value(value)
            .map_err(|e| ApiError::new(ErrorCode::UnknownError, format!("bad engine answer: {e}")))
    }
}

pub(crate) fn stopped() -> ApiError {
    ApiError::new(
        ErrorCode::ApiNotAnswer,
        "the engine is not answering (shutting down, or a new one is starting)",
    )
}

/// Where the engine's output goes.
pub trait Outlet: Send + Sync + 'static {
    fn agent(&self, conn: u64, out: Outbound);
    fn customers(&self, interaction: &InteractionId, text: &str);
    fn close_customers(&self, interaction: &InteractionId);
    /// A socket request was answered (the pending count goes down).
    fn answered(&self, conn: u64);
    /// Publishes an answer for another node.
    fn remote_reply(&self, subject: String, payload: Vec<u8>);
    /// Sends what was buffered during one batch.
    fn flush(&self) {}
}

impl Outlet for Hub {
    fn agent(&self, conn: u64, out: Outbound) {
        self.send_agent(conn, out);
    }
    fn customers(&self, interaction: &InteractionId, text: &str) {
        self.send_customers(interaction, text);
    }
    fn close_customers(&self, interaction: &InteractionId) {
        Hub::close_customers(self, interaction);
    }
    fn answered(&self, conn: u64) {
        Hub::answered(self, conn);
    }
    fn remote_reply(&self, _subject: String, _payload: Vec<u8>) {}
}

/// The answer of a command as it travels: an `OperationResult`.
pub fn encode_result(result: &Result<serde_json::Value, ApiError>) -> Vec<u8> {
    let r = match result {
        Ok(data) => OperationResult::Success { data: data.clone() },
        Err(error) => OperationResult::Error {
            error: error.clone(),
        },
    };
    serde_json::to_vec(&r).expect("results serialise")
}

type Commit = tokio::task::JoinHandle<Result<std::time::Duration, baton_store::StoreError>>;

/// A batch applied in memory whose commit is under way; its answers wait for it.
#[derive(Default)]
struct Applied {
    replies: Vec<(ReplyTo, Result<serde_json::Value, ApiError>)>,
    effects: Vec<Effect>,
    answers: Vec<(serde_json::Value, QueryReply)>,
    commands: u64,
    /// Whether the batch wrote anything (a batch of reads commits nothing).
    writes: bool,
    /// The voice calls the batch touched, for the media plane.
    calls: Vec<(baton_core::InteractionId, Option<baton_media::CallState>)>,
}

/// Most commands one transaction takes; more wait for the next.
const MAX_BATCH: usize = 1024;

pub struct Engine {
    core: Core,
    store: Arc<dyn Store>,
    outlet: Arc<dyn Outlet>,
    metrics: Arc<Metrics>,
    clock: Clock,
    rx: mpsc::Receiver<Job>,
    /// Told of every voice call a commit changed (docs/voice.md).
    media: Option<crate::media::MediaHandle>,
}

impl Engine {
    pub fn new(
        core: Core,
        store: Arc<dyn Store>,
        outlet: Arc<dyn Outlet>,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> (Self, mpsc::Sender<Job>) {
        let (tx, rx) = mpsc::channel(8192);
        (
            Self {
                core,
                store,
                outlet,
                metrics,
                clock,
                rx,
                media: None,
            },
            tx,
        )
    }

    /// Calls' audio follows their state: after each commit the media plane hears of the
    /// voice interactions that changed.
    pub fn with_media(mut self, media: crate::media::MediaHandle) -> Self {
        self.media = Some(media);
        self
    }

    /// Runs until every sender is dropped. A store failure ends it with the reason: memory
    /// and disk would disagree, and the durable state is the one to restart from (see
    /// [`spawn_supervised`], which ends the process).
    ///
    /// Commits are pipelined: while one batch is being written, the next is applied in
    /// memory. Its answers and events still wait for its own commit, and batches are
    /// announced in order.
    pub async fn run(mut self) -> Result<(), String> {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        let mut inflight: Option<(Commit, Applied)> = None;
        loop {
            let deadline = self
                .core
                .next_deadline()
                .map(|at| self.clock.instant_at(at));
            let first = tokio::select! {
                biased;
                done = async { (&mut inflight.as_mut().expect("guarded").0).await }, if inflight.is_some() => {
                    let (_, applied) = inflight.take().expect("guarded");
                    self.finish(done, applied)?;
                    continue;
                }
                job = self.rx.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
                _ = async { match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                } } => Job::Command { command: Box::new(Command::Tick), extra: Extra::default(), reply: ReplyTo::Nobody },
            };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let (batch, applied) = self.apply(&mut jobs);
            // One commit at a time, in order: the previous one lands and is announced first.
            if let Some((commit, previous)) = inflight.take() {
                self.finish(commit.await, previous)?;
            }
            let store = self.store.clone();
            let commit = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                store.commit(&batch).map(|()| started.elapsed())
            });
            inflight = Some((commit, applied));
        }
        if let Some((commit, applied)) = inflight.take() {
            self.finish(commit.await, applied)?;
        }
        tracing::debug!("engine stopped");
        Ok(())
    }

    /// Applies a batch of jobs in memory; returns what to commit and what to announce after.
    fn apply(&mut self, jobs: &mut Vec<Job>) -> (Batch, Applied) {
        let now = self.clock.now();
        let mut applied = Applied::default();
        let mut batch = Batch::default();
        if self.core.next_deadline().is_some_and(|at| at <= now) {
            applied
                .effects
                .extend(self.core.apply(Command::Tick, now).effects);
        }
        let mut queries = Vec::new();
        for job in jobs.drain(..) {
            match job {
                Job::Query { query, reply } => queries.push((query, reply)),
                Job::Command {
                    command,
                    extra,
                    reply,
                } => {
                    applied.commands += 1;
                    let output = self.core.apply(*command, now);
                    let result = output.reply.unwrap_or(Ok(serde_json::Value::Null));
                    if result.is_ok() {
                        batch.credentials.extend(extra.credentials);
                        for revocation in extra.revocations {
                            match revocation {
                                Revocation::Session(s) => batch.revoked_sessions.push(s),
                                Revocation::AgentSessions(a) => {
                                    batch.revoked_agent_sessions.push(a)
                                }
                                Revocation::Agent(a) => batch.deleted_agents.push(a),
                            }
                        }
                    }
                    applied.effects.extend(output.effects);
                    applied.replies.push((reply, result));
                }
                Job::InjectPanic => panic!("injected fault: the engine panics (BATON_TEST_FAULTS)"),
            }
        }
        // Answered from the state this batch commits; sent once it has.
        for (query, reply) in queries {
            applied
                .answers
                .push((query::answer(&self.core, &query), reply));
        }
        // A revoked session stops being valid in the same transaction as the change that
        // revoked it (a login elsewhere, a logout): a crash cannot leave it usable.
        applied.effects.retain(|effect| match effect {
            Effect::RevokeSession { session } => {
                batch.revoked_sessions.push(session.clone());
                false
            }
            _ => true,
        });
        batch.changes = self.core.take_changes();
        applied.writes = !batch.is_empty();
        if self.media.is_some() {
            applied.calls = batch
                .changes
                .interactions
                .iter()
                .filter(|i| i.channel == baton_protocol::Channel::Voice)
                .map(|i| {
                    let policy = self.core.record_policy(i);
                    (i.id.clone(), crate::media::call_state(i, policy))
                })
                .collect();
        }
        (batch, applied)
    }

    /// The batch is committed: now the world may know. Answers first, then the events.
    /// A failed commit is an error: nothing of the batch is announced.
    fn finish(
        &self,
        done: Result<Result<std::time::Duration, baton_store::StoreError>, tokio::task::JoinError>,
        applied: Applied,
    ) -> Result<(), String> {
        let took = match done {
            Ok(Ok(took)) => took,
            Ok(Err(e)) => return Err(format!("store commit failed: {e}")),
            Err(e) => return Err(format!("commit task failed: {e}")),
        };
        if applied.writes {
            self.metrics.commits.fetch_add(1, Ordering::Relaxed);
            self.metrics
                .commit_commands
                .fetch_add(applied.commands, Ordering::Relaxed);
            self.metrics
                .commit_micros
                .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        }
        for (reply, result) in applied.replies {
            self.reply(reply, result);
        }
        self.carry_out(applied.effects);
        if let Some(media) = &self.media {
            media.calls(applied.calls);
        }
        for (answer, reply) in applied.answers {
            match reply {
                QueryReply::Channel(tx) => {
                    let _ = tx.send(answer);
                }
                QueryReply::Remote(subject) => {
                    self.outlet
                        .remote_reply(subject, serde_json::to_vec(&answer).expect("json"));
                }
            }
        }
        self.outlet.flush();
        Ok(())
    }

    fn reply(&self, reply: ReplyTo, result: Result<serde_json::Value, ApiError>) {
        match reply {
            ReplyTo::Nobody => {}
            ReplyTo::Channel(tx) => {
                let _ = tx.send(result);
            }
            ReplyTo::Remote(subject) => self.outlet.remote_reply(subject, encode_result(&result)),
            ReplyTo::Socket { conn, id, method } => {
                let label = match &result {
                    Ok(_) => "success",
                    Err(e) => e.kind().map_or("unknown_error", |k| k.name()),
                };
                self.metrics.request(method, label);
                let result = match result {
                    Ok(data) => OperationResult::Success { data },
                    Err(error) => OperationResult::Error { error },
                };
                self.outlet.answered(conn);
                self.outlet.agent(
                    conn,
                    Outbound::Text(ServerFrame::response(Some(id), result).to_text()),
                );
            }
        }
    }

    fn carry_out(&self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send {
                    to: Recipient::Agent(conn),
                    frame,
                } => self.outlet.agent(conn, Outbound::Text(frame.to_text())),
                Effect::Send {
                    to: Recipient::Customer(interaction),
                    frame,
                } => self.outlet.customers(&interaction, &frame.to_text()),
                Effect::Close { conn } => {
                    self.outlet.agent(conn, Outbound::Close(1000, "logged out"))
                }
                Effect::CloseCustomer { interaction } => self.outlet.close_customers(&interaction),
                // Already committed with the batch that revoked it (see `apply`).
                Effect::RevokeSession { .. } => {}
            }
        }
    }
}

/// Spawns the engine and a watcher. If the engine panics or fails a commit, the watcher logs
/// why, marks the engine dead (`/healthz` answers 503) and, when `exit` is set, ends the
/// process with status 70 so a supervisor restarts it from the durable state. Returns the
/// engine's abort handle (a cluster node steps down by aborting it) and the watcher.
pub fn spawn_supervised(
    engine: Engine,
    metrics: Arc<Metrics>,
    exit: bool,
) -> (tokio::task::AbortHandle, tokio::task::JoinHandle<()>) {
    let task = tokio::spawn(engine.run());
    let abort = task.abort_handle();
    let watcher = tokio::spawn(async move {
        let reason = match task.await {
            Ok(Ok(())) => return,
            Err(e) if e.is_cancelled() => return,
            Ok(Err(reason)) => reason,
            Err(e) => {
                let panic = e.into_panic();
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_owned());
                format!("the engine panicked: {message}")
            }
        };
        metrics.engine_dead.store(true, Ordering::SeqCst);
        tracing::error!(
            reason,
            "the engine stopped; exiting so the durable state stays the truth and a supervisor restarts the server"
        );
        if exit {
            std::process::exit(70);
        }
    });
    (abort, watcher)
}
