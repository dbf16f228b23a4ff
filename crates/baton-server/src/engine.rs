//! The engine: one task owns the core. It drains commands in batches, applies each, commits
//! all their changes in one store transaction, and only then sends replies and events.
//! Many hand-offs thus share one fsync (group commit), and nobody ever sees a state that a
//! crash could take back.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use baton_core::{Command, Core, Effect, Recipient};
use baton_protocol::{ApiError, ErrorCode, Millis, OperationResult, ServerFrame};
use baton_store::{Batch, Credential, Store};
use tokio::sync::{mpsc, oneshot};

use crate::hub::{Hub, Outbound};
use crate::metrics::Metrics;

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
#[derive(Debug, Default)]
pub struct Extra {
    pub credentials: Vec<Credential>,
}

/// Where a command's answer goes.
pub enum ReplyTo {
    /// Nobody waits (disconnects, timers, replies to events).
    Nobody,
    /// A frame `{"id":…,"result":…}` on an agent socket.
    Socket {
        conn: u64,
        id: u64,
        method: &'static str,
    },
    /// A REST handler or the hello handshake.
    Channel(oneshot::Sender<Result<serde_json::Value, ApiError>>),
}

type Read = Box<dyn FnOnce(&Core) + Send>;

enum Job {
    Command {
        command: Box<Command>,
        extra: Extra,
        reply: ReplyTo,
    },
    Read(Read),
}

/// A cheap handle to the engine task.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Job>,
}

impl EngineHandle {
    /// Sends a command whose answer goes to `reply`.
    pub async fn submit(
        &self,
        command: Command,
        extra: Extra,
        reply: ReplyTo,
    ) -> Result<(), ApiError> {
        self.tx
            .send(Job::Command {
                command: Box::new(command),
                extra,
                reply,
            })
            .await
            .map_err(|_| stopped())
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
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Core) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        let job = Job::Read(Box::new(move |core| {
            let _ = tx.send(f(core));
        }));
        self.tx.send(job).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())
    }
}

fn stopped() -> ApiError {
    ApiError::new(ErrorCode::UnknownError, "the server is shutting down")
}

/// Most commands one transaction takes; more wait for the next.
const MAX_BATCH: usize = 1024;

pub struct Engine {
    core: Core,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    clock: Clock,
    rx: mpsc::Receiver<Job>,
}

impl Engine {
    pub fn new(
        core: Core,
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> (Self, EngineHandle) {
        let (tx, rx) = mpsc::channel(8192);
        (
            Self {
                core,
                store,
                hub,
                metrics,
                clock,
                rx,
            },
            EngineHandle { tx },
        )
    }

    /// Runs until every handle is dropped. A store failure stops the process: memory and
    /// disk would disagree, and the durable state is the one to restart from.
    pub async fn run(mut self) {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        loop {
            let deadline = self
                .core
                .next_deadline()
                .map(|at| self.clock.instant_at(at));
            let first = match deadline {
                Some(at) => tokio::select! {
                    job = self.rx.recv() => job,
                    _ = tokio::time::sleep_until(at) => Some(Job::Command { command: Box::new(Command::Tick), extra: Extra::default(), reply: ReplyTo::Nobody }),
                },
                None => self.rx.recv().await,
            };
            let Some(first) = first else { break };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.step(&mut jobs).await {
                tracing::error!(error = %e, "store commit failed; stopping so the durable state stays the truth");
                std::process::exit(70);
            }
        }
        tracing::debug!("engine stopped");
    }

    async fn step(&mut self, jobs: &mut Vec<Job>) -> Result<(), baton_store::StoreError> {
        let now = self.clock.now();
        let mut replies = Vec::new();
        let mut effects = Vec::new();
        let mut reads = Vec::new();
        let mut batch = Batch::default();
        let mut commands = 0u64;
        if self.core.next_deadline().is_some_and(|at| at <= now) {
            effects.extend(self.core.apply(Command::Tick, now).effects);
        }
        for job in jobs.drain(..) {
            match job {
                Job::Read(read) => reads.push(read),
                Job::Command {
                    command,
                    extra,
                    reply,
                } => {
                    commands += 1;
                    let output = self.core.apply(*command, now);
                    let result = output.reply.unwrap_or(Ok(serde_json::Value::Null));
                    if result.is_ok() {
                        batch.credentials.extend(extra.credentials);
                    }
                    effects.extend(output.effects);
                    replies.push((reply, result));
                }
            }
        }
        batch.changes = self.core.take_changes();
        if !batch.is_empty() {
            let started = Instant::now();
            let store = self.store.clone();
            batch = tokio::task::spawn_blocking(move || store.commit(&batch).map(|()| batch))
                .await
                .expect("commit task does not panic")?;
            drop(batch);
            self.metrics.commits.fetch_add(1, Ordering::Relaxed);
            self.metrics
                .commit_commands
                .fetch_add(commands, Ordering::Relaxed);
            self.metrics
                .commit_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
        // Committed: now the world may know. Answers first, then the events they caused.
        for (reply, result) in replies {
            match reply {
                ReplyTo::Nobody => {}
                ReplyTo::Channel(tx) => {
                    let _ = tx.send(result);
                }
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
                    self.hub.answered(conn);
                    self.hub.send_agent(
                        conn,
                        Outbound::Text(ServerFrame::response(Some(id), result).to_text()),
                    );
                }
            }
        }
        self.carry_out(effects);
        for read in reads {
            read(&self.core);
        }
        Ok(())
    }

    fn carry_out(&self, effects: Vec<Effect>) {
        let mut revoked = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send {
                    to: Recipient::Agent(conn),
                    frame,
                } => self.hub.send_agent(conn, Outbound::Text(frame.to_text())),
                Effect::Send {
                    to: Recipient::Customer(interaction),
                    frame,
                } => self.hub.send_customers(&interaction, &frame.to_text()),
                Effect::Close { conn } => self
                    .hub
                    .send_agent(conn, Outbound::Close(1000, "logged out")),
                Effect::CloseCustomer { interaction } => self.hub.close_customers(&interaction),
                Effect::RevokeSession { session } => revoked.push(session),
            }
        }
        if !revoked.is_empty() {
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || {
                for session in revoked {
                    if let Err(e) = store.revoke_session(&session) {
                        tracing::warn!(error = %e, "could not revoke a session");
                    }
                }
            });
        }
    }
}
