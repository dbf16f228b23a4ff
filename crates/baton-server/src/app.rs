//! [`Application`]: settings in, a bound listener and a running engine out.

use std::future::Future;

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::Arc;

use baton_core::{AdminCommand, Command, Core, CoreConfig, TenantId, TenantSettings};
use baton_store::{Batch, Credential, PostgresStore, SqliteStore, Store};

use crate::auth;
use crate::engine::{Clock, Engine, EngineHandle, Extra};
use crate::hub::Hub;
use crate::idle::IdleTimeout;
use crate::login_guard::{LoginGuard, PasswordWorkers};
use crate::metrics::Metrics;
use crate::query::Query;
use crate::settings::{ConfigFile, Settings};

/// Everything a handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<AppInner>);

pub struct AppInner {
    pub engine: EngineHandle,
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    pub limiter: LoginGuard,
    /// Where passwords are hashed and checked: never on the blocking pool commits use.
    pub passwords: PasswordWorkers,
    pub clock: Clock,
    /// The address actually bound (differs from settings with port 0).
    pub local_addr: SocketAddr,
    /// In a cluster: this node's link to the engine.
    pub remote: Option<Arc<crate::cluster::Remote>>,
    /// This node's number (0 on a single node).
    pub node: u16,
    /// Chat grants and the public side's rate limits.
    pub guard: Arc<crate::guard::Guard>,
    /// Uploads per interaction per minute (`[attachments] uploads_per_minute`).
    pub attachment_uploads: Arc<crate::guard::RateLimiter>,
    /// Calls' audio (docs/voice.md); `None` when `[media] enabled = false` or in a cluster.
    pub media: Option<crate::media::MediaHandle>,
    /// Call recordings under the data dir (docs/voice.md, "Recording").
    pub recordings: Arc<crate::recordings::RecordingStore>,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// Why the server could not start, said so an operator knows what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}{hint}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error(transparent)]
    Store(#[from] baton_store::StoreError),
    #[error("cannot apply the configuration: {0}")]
    Seed(String),
    #[error("cannot join the cluster: {0}")]
    Cluster(String),
    #[error(transparent)]
    Key(#[from] crate::guard::KeyError),
    #[error(transparent)]
    DataDir(#[from] crate::datadir::LockError),
    #[error("cannot open the media sockets ([media] udp_port, addresses): {0}")]
    Media(std::io::Error),
}

pub struct Application {
    listener: tokio::net::TcpListener,
    state: AppState,
    /// The local engine (single node); in a cluster the engine moves between nodes.
    engine_task: Option<tokio::task::JoinHandle<()>>,
    /// The data directory's lock (single node): released when the server stops.
    data_lock: Option<crate::datadir::DataDirLock>,
}

impl Application {
    /// Opens the store, restores the core (or joins the cluster), binds the socket and
    /// seeds the configuration.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let clock = Clock::new();
        let core_config = |key: &crate::guard::ServerKey| CoreConfig {
            disconnect_grace_ms: settings.disconnect_grace_ms,
            max_associated_objects: settings.limits.max_associated_objects,
            limits: settings.interaction_limits,
            digest_key: key.derive(crate::guard::DIGEST_PURPOSE),
            max_frame_bytes: settings.limits.max_frame_bytes,
        };
        let node = match &settings.cluster {
            Some(c) => c.node_id.unwrap_or_else(crate::cluster::random_node_id),
            None => 0,
        };
        // Taken before anything else touches the directory: a second process stops here.
        let data_lock = match &settings.cluster {
            Some(_) => None,
            None => Some(crate::datadir::DataDirLock::acquire(&settings.data_dir)?),
        };
        let metrics = Arc::new(Metrics::with_node(node));
        let hub = Arc::new(Hub::new(
            settings.limits.send_queue_frames,
            metrics.clone(),
            node,
        ));
        let listener = tokio::net::TcpListener::bind(settings.listen).await.map_err(|source| StartError::Bind {
            addr: settings.listen,
            hint: match source.kind() {
                std::io::ErrorKind::AddrInUse => " (the port is taken: stop the other process or pass --listen with another port)",
                std::io::ErrorKind::PermissionDenied => " (permission denied: use a port above 1024)",
                _ => "",
            },
            source,
        })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
            hint: "",
        })?;

        let recordings = Arc::new(crate::recordings::RecordingStore::new(
            &settings.data_dir,
            settings.data_cipher.clone(),
        ));
        // The media plane runs beside a local engine; in a cluster calls are signalling only.
        let mut media: Option<crate::media::MediaHandle> = None;
        let (store, engine, remote, engine_task, server_key): (
            Arc<dyn Store>,
            EngineHandle,
            _,
            _,
            _,
        ) = match &settings.cluster {
            Some(cluster) => {
                let (url, schema) = (cluster.database_url.clone(), cluster.schema.clone());
                let cipher = settings.data_cipher.clone();
                let tls = baton_store::PgTlsOptions {
                    ca_file: cluster.database_ca_file.clone(),
                };
                // Shard engines each open their own connection with the same options.
                let open_store: crate::cluster::StoreOpener = Arc::new(move || {
                    PostgresStore::open_with_tls(&url, schema.as_deref(), cipher.clone(), &tls)
                });
                let pg = Arc::new({
                    let open = open_store.clone();
                    tokio::task::spawn_blocking(move || open())
                        .await
                        .expect("open does not panic")?
                });
                let server_key = cluster_server_key(&settings, &pg).await?;
                let started = crate::cluster::start(
                    cluster,
                    pg.clone(),
                    open_store,
                    hub.clone(),
                    metrics.clone(),
                    clock,
                    core_config(&server_key),
                    node,
                )
                .await
                .map_err(StartError::Cluster)?;
                tracing::info!(node, "joined the cluster");
                let handle = EngineHandle::Remote(started.remote.clone());
                (pg, handle, Some(started.remote), None, server_key)
            }
            None => {
                let server_key = server_key(&settings)?;
                let dir = settings.data_dir.clone();
                let cipher = settings.data_cipher.clone();
                let store: Arc<dyn Store> = Arc::new(
                    tokio::task::spawn_blocking(move || SqliteStore::open_with(&dir, cipher))
                        .await
                        .expect("open does not panic")?,
                );
                let snapshot = {
                    let store = store.clone();
                    tokio::task::spawn_blocking(move || store.load())
                        .await
                        .expect("load does not panic")?
                };
                tracing::info!(
                    tenants = snapshot.tenants.len(),
                    agents = snapshot.agents.len(),
                    live_interactions = snapshot.interactions.len(),
                    "restored state"
                );
                let core = Core::restore(core_config(&server_key), snapshot, clock.now());
                let live_calls: Vec<_> = core
                    .interactions()
                    .filter_map(|i| {
                        let state = crate::media::call_state(i, core.record_policy(i))?;
                        Some((i.id.clone(), Some(state)))
                    })
                    .collect();
                let outlet: Arc<dyn crate::engine::Outlet> = hub.clone();
                let (mut engine, jobs) =
                    Engine::new(core, store.clone(), outlet, metrics.clone(), clock);
                if settings.media.enabled {
                    let handle = crate::media::start(
                        &settings.media,
                        EngineHandle::Local(jobs.clone()),
                        live_calls,
                        recordings.clone(),
                        clock,
                        settings.data_cipher.clone(),
                    )
                    .await
                    .map_err(StartError::Media)?;
                    engine = engine.with_media(handle.clone());
                    media = Some(handle);
                }
                let (_, task) = crate::engine::spawn_supervised(
                    engine,
                    metrics.clone(),
                    settings.exit_on_engine_failure,
                );
                metrics
                    .engine_shards
                    .store(1, std::sync::atomic::Ordering::SeqCst);
                (
                    store,
                    EngineHandle::Local(jobs),
                    None,
                    Some(task),
                    server_key,
                )
            }
        };
        let guard = Arc::new(crate::guard::Guard::new(
            settings.public_limits,
            &server_key,
        ));
        let limiter = LoginGuard::new(&settings.limits);
        let attachment_uploads = Arc::new(crate::guard::RateLimiter::new(
            settings.attachments.uploads_per_minute,
            settings.public_limits.max_limiter_keys,
        ));
        let passwords = PasswordWorkers::new(
            settings.limits.password_hash_threads,
            settings.limits.password_hash_queue,
        );
        let state = AppState(Arc::new(AppInner {
            engine,
            store,
            hub,
            metrics,
            settings,
            limiter,
            passwords,
            clock,
            local_addr,
            remote,
            node,
            guard,
            attachment_uploads,
            media,
            recordings,
        }));
        let app = Self {
            listener,
            state,
            engine_task,
            data_lock,
        };
        let seed_config = app.state.settings.seed.clone();
        app.seed(&seed_config).await?;
        Ok(app)
    }

    /// Creates what `config` declares and is missing (see [`seed`]).
    pub async fn seed(&self, config: &ConfigFile) -> Result<(), StartError> {
        seed(&self.state, config).await.map_err(StartError::Seed)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then closes sockets and lets the engine drain.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let engine_task = self.engine_task;
        let purge = tokio::spawn(purge_loop(self.state.clone()));
        let router = crate::http::router(self.state.clone());
        let limits = &self.state.settings.limits;
        let idle_timeout = std::time::Duration::from_millis(limits.http_idle_timeout_ms);
        let max_open = limits.max_http_connections;
        // The outer no-op `tap_io`s: axum gives `ConnectInfo<SocketAddr>` to `TapIo` listeners.
        let result = match &self.state.settings.tls {
            None => {
                // Small frames must not wait for Nagle's algorithm (up to 40 ms each).
                let listener = self.listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(
                    IdleTimeout::new(listener, idle_timeout, max_open).tap_io(|_| {}),
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
            }
            // Same server, same shutdown; only the listener differs (see `tls`).
            Some(tls) => {
                let listener = crate::tls::listener(self.listener, tls);
                axum::serve(
                    IdleTimeout::new(listener, idle_timeout, max_open).tap_io(|_| {}),
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await
            }
        };
        purge.abort();
        // axum's graceful shutdown does not see upgraded connections: close the sockets.
        self.state.hub.close_all();
        drop(self.state);
        if let Some(task) = engine_task {
            match tokio::time::timeout(std::time::Duration::from_secs(5), task).await {
                Ok(_) => tracing::info!("engine stopped"),
                // Something still holds a handle to it: exiting loses nothing committed.
                Err(_) => tracing::warn!("the engine did not stop within 5 s; exiting anyway"),
            }
        }
        drop(self.data_lock);
        result.map_err(|source| StartError::Bind {
            addr: "0.0.0.0:0".parse().expect("valid"),
            source,
            hint: "",
        })
    }
}

/// The configured server key; else, in a cluster, the one every node shares in PostgreSQL
/// (made by the first node).
async fn cluster_server_key(
    settings: &Settings,
    pg: &Arc<PostgresStore>,
) -> Result<crate::guard::ServerKey, StartError> {
    if let Some(key) = &settings.server_key {
        return Ok(key.clone());
    }
    let pg = pg.clone();
    let hex = tokio::task::spawn_blocking(move || pg.shared_secret("server-key"))
        .await
        .expect("does not panic")?;
    Ok(crate::guard::ServerKey::from_hex(
        &hex,
        "the cluster's server key",
    )?)
}

/// The configured server key; else `<data dir>/server.key` (made on first start).
fn server_key(settings: &Settings) -> Result<crate::guard::ServerKey, StartError> {
    if let Some(key) = &settings.server_key {
        return Ok(key.clone());
    }
    // The store makes the directory too, but the key is needed before the store opens.
    let _ = std::fs::create_dir_all(&settings.data_dir);
    Ok(crate::guard::ServerKey::load_or_create(
        &settings.data_dir.join("server.key"),
    )?)
}

/// Creates what the config file declares and is missing. Existing records are left alone,
/// so restarting with the same file is harmless.
pub async fn seed(state: &AppState, config: &ConfigFile) -> Result<(), String> {
    for t in &config.tenants {
        let tenant = TenantId(t.name.clone());
        let exists: bool =
            retry(|| state.engine.query(Query::TenantExists(tenant.clone()))).await?;
        if !exists {
            call(
                state,
                AdminCommand::CreateTenant {
                    id: tenant.clone(),
                    settings: TenantSettings::default(),
                },
                Extra::default(),
            )
            .await?;
        }
        if let Some(s) = &t.settings {
            call(
                state,
                AdminCommand::UpdateSettings {
                    tenant: tenant.clone(),
                    transfer_data_timeout_ms: s.transfer_data_timeout_ms,
                    transfer_data_max_bytes: s.transfer_data_max_bytes,
                    retention_secs: s.retention_secs,
                    dtmf_log: None,
                    record_calls: None,
                },
                Extra::default(),
            )
            .await?;
        }
        for s in &t.services {
            let command = AdminCommand::CreateService {
                id: baton_core::ServiceId(auth::new_id("svc")),
                tenant: tenant.clone(),
                name: s.name.clone(),
                channels: s.channels.clone(),
                ring_timeout_ms: s.ring_timeout_ms.unwrap_or(20_000),
            };
            call_if_new(state, command, Extra::default()).await?;
            if s.max_queue_length.is_some() || s.max_queue_wait_ms.is_some() {
                let limits = AdminCommand::SetQueueLimits {
                    tenant: tenant.clone(),
                    service: s.name.clone(),
                    max_queue_length: s.max_queue_length,
                    max_queue_wait_ms: s.max_queue_wait_ms,
                };
                call(state, limits, Extra::default()).await?;
            }
        }
        for a in &t.agents {
            let known: bool = retry(|| {
                state.engine.query(Query::AgentExists {
                    tenant: tenant.clone(),
                    username: a.username.clone(),
                })
            })
            .await?;
            if known {
                update_from_file(state, &tenant, a).await?;
                continue;
            }
            let password = a.password.clone();
            let hash = crate::http::admin::hash_on_password_threads(state, password)
                .await
                .map_err(|e| e.error.message)?;
            let id = baton_core::AgentId(auth::new_id("agent"));
            let extra = Extra {
                credentials: vec![Credential {
                    agent: id.clone(),
                    tenant: tenant.clone(),
                    username: a.username.clone(),
                    password_hash: hash,
                }],
                ..Extra::default()
            };
            let command = AdminCommand::CreateAgent {
                id,
                tenant: tenant.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone().unwrap_or_else(|| a.username.clone()),
                extension: a.extension.clone(),
                services: a.services.clone(),
                max_chats: a.max_chats.unwrap_or(3),
            };
            call_if_new(state, command, extra).await?;
        }
        for i in &t.integrations {
            let command = AdminCommand::CreateIntegration {
                tenant: tenant.clone(),
                key: i.key.clone(),
                name: i.name.clone(),
                allowed_origins: i.allowed_origins.clone(),
            };
            call_if_new(state, command, Extra::default()).await?;
        }
        seed_desk(state, config, t).await?;
        if !t.ingress_tokens.is_empty() {
            let batch = Batch {
                ingress_tokens: t
                    .ingress_tokens
                    .iter()
                    .map(|tok| (auth::token_hash(tok), tenant.clone()))
                    .collect(),
                ..Batch::default()
            };
            let store = state.store.clone();
            tokio::task::spawn_blocking(move || store.commit(&batch))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Applies the desk keys the file gives (reasons, DIDs, dispositions, teams, integration
/// config): what the file names wins at each start, what it leaves out keeps its stored
/// value (decision 0007). Errors name the file and the key.
async fn seed_desk(
    state: &AppState,
    config: &ConfigFile,
    t: &crate::settings::TenantConfig,
) -> Result<(), String> {
    use baton_core::DirectoryCommand as D;
    use baton_core::directory::DidInput;
    let tenant = TenantId(t.name.clone());
    let mut commands: Vec<(String, D)> = Vec::new();
    if let Some(reasons) = &t.not_ready_reasons {
        commands.push((
            "not_ready_reasons".into(),
            D::SetNotReadyReasons {
                tenant: tenant.clone(),
                reasons: reasons.clone(),
            },
        ));
    }
    if let Some(numbers) = &t.did_numbers {
        let numbers = numbers
            .iter()
            .map(|d| DidInput {
                number: d.number.clone(),
                is_sms: d.is_sms,
                is_voice: d.is_voice,
            })
            .collect();
        commands.push((
            "did_numbers".into(),
            D::SetDidNumbers {
                tenant: tenant.clone(),
                numbers,
            },
        ));
    }
    for s in t.services.iter().filter(|s| s.sets_dispositions()) {
        let list = s.dispositions.clone().unwrap_or_default();
        commands.push((
            format!("services.{}.dispositions", s.name),
            D::SetDispositions {
                tenant: tenant.clone(),
                service: s.name.clone(),
                use_dispositions: s.use_dispositions.unwrap_or(!list.is_empty()),
                require_disposition: s.require_disposition.unwrap_or(false),
                dispositions: list.into_iter().map(Into::into).collect(),
            },
        ));
    }
    for team in &t.teams {
        commands.push((
            format!("teams.{}", team.name),
            D::PutTeam {
                tenant: tenant.clone(),
                name: team.name.clone(),
                is_supervised: team.is_supervised,
                members: team.members.clone(),
                supervisors: team.supervisors.clone(),
            },
        ));
    }
    for i in &t.integrations {
        if let Some(c) = &i.config {
            commands.push((
                format!("integrations.{}.config", i.key),
                D::SetIntegrationConfig {
                    tenant: tenant.clone(),
                    key: i.key.clone(),
                    config: c.clone(),
                },
            ));
        }
    }
    for (key, command) in commands {
        call(state, AdminCommand::Directory(command), Extra::default())
            .await
            .map_err(|e| match &config.origin {
                Some(file) => format!("config file {file}: tenants.{}.{key}: {e}", t.name),
                None => format!("tenants.{}.{key}: {e}", t.name),
            })?;
    }
    Ok(())
}

/// Applies what `baton.toml` says of an agent that already exists: a new password, display
/// name or services. An extension or chat limit the file changes is refused with a message:
/// those have no update path yet.
async fn update_from_file(
    state: &AppState,
    tenant: &TenantId,
    a: &crate::settings::AgentConfig,
) -> Result<(), String> {
    let view: serde_json::Value = retry(|| {
        state.engine.query(Query::AgentView {
            tenant: tenant.clone(),
            key: a.username.clone(),
        })
    })
    .await?;
    let field = |name: &str| view.get(name).cloned().unwrap_or_default();
    let refuse = |what: &str, old: serde_json::Value, new: String| {
        Err(format!(
            "tenant {tenant:?}, agent {:?}: the config file changes {what} from {old} to {new}, which only applies to new agents; put back the old value, or delete the agent (DELETE /api/v1/admin/tenants/{tenant}/agents/{}) and restart",
            a.username, a.username
        ))
    };
    if let Some(ext) = &a.extension
        && field("extension") != serde_json::json!(ext)
    {
        return refuse("extension", field("extension"), format!("{ext:?}"));
    }
    if let Some(max) = a.max_chats
        && field("maxChats") != serde_json::json!(max)
    {
        return refuse("max_chats", field("maxChats"), max.to_string());
    }
    let id = baton_core::AgentId(view["id"].as_str().unwrap_or_default().to_owned());
    let display_name = a
        .display_name
        .clone()
        .filter(|n| field("displayName") != serde_json::json!(n));
    let lower = |v: Vec<String>| {
        let mut v: Vec<String> = v.into_iter().map(|s| s.to_lowercase()).collect();
        v.sort();
        v
    };
    let current: Vec<String> = serde_json::from_value(field("services")).unwrap_or_default();
    let services = (lower(current) != lower(a.services.clone())).then(|| a.services.clone());
    let store = state.store.clone();
    let (t, u) = (tenant.clone(), a.username.clone());
    let password = a.password.clone();
    let same_password = state
        .passwords
        .run(move || {
            store
                .credential(&t, &u)
                .map(|c| c.is_some_and(|c| auth::verify_password(&c.password_hash, &password)))
        })
        .await
        .map_err(|_| "the password threads are busy".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut extra = Extra::default();
    if !same_password {
        let hash = crate::http::admin::hash_on_password_threads(state, a.password.clone())
            .await
            .map_err(|e| e.error.message)?;
        extra.credentials.push(Credential {
            agent: id.clone(),
            tenant: tenant.clone(),
            username: a.username.clone(),
            password_hash: hash,
        });
    }
    if display_name.is_none() && services.is_none() && extra.credentials.is_empty() {
        return Ok(());
    }
    tracing::info!(
        tenant = %tenant,
        username = %a.username,
        password = !same_password,
        display_name = display_name.is_some(),
        services = services.is_some(),
        "applying the config file's changes to an agent"
    );
    let command = AdminCommand::UpdateAgent {
        tenant: tenant.clone(),
        agent: id,
        display_name,
        services,
    };
    state
        .engine
        .call(Command::Admin(command), extra)
        .await
        .map(|_| ())
        .map_err(|e| e.message)
}

/// Retries while no engine answers (a cluster that is still choosing one), up to 30 s.
/// What it retries is idempotent (reads, and creations of what is missing), so an answer
/// lost with an engine that changed (`timeout`) is retried too.
async fn retry<T, F, Fut>(mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, baton_protocol::ApiError>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let lost = [
        baton_protocol::ErrorCode::ApiNotAnswer.code(),
        baton_protocol::ErrorCode::Timeout.code(),
    ];
    loop {
        match f().await {
            Err(e) if lost.contains(&e.code) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => return other.map_err(|e| e.message),
        }
    }
}

async fn call(
    state: &AppState,
    command: AdminCommand,
    extra: Extra,
) -> Result<serde_json::Value, String> {
    state
        .engine
        .call(Command::Admin(command), extra)
        .await
        .map_err(|e| e.message)
}

async fn call_if_new(state: &AppState, command: AdminCommand, extra: Extra) -> Result<(), String> {
    match state.engine.call(Command::Admin(command), extra).await {
        Ok(_) => Ok(()),
        Err(e) if baton_core::engine::is_conflict(&e) => Ok(()),
        Err(e) => Err(e.message),
    }
}

/// Deletes the sessions whose lifetime is over: an expired token is refused anyway, and
/// its row is no use to anyone.
pub async fn purge_sessions(state: &AppState) {
    let now = state.clock.now();
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.purge_expired_sessions(now)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(sessions = n, "deleted expired sessions"),
        Ok(Err(e)) => tracing::warn!(error = %e, "session purge failed"),
        Err(e) => tracing::warn!(error = %e, "session purge failed"),
    }
}

/// Deletes transfer-data content `retentionSecs` after its interaction completed (rule 16).
async fn purge_loop(state: AppState) {
    let every = std::time::Duration::from_secs(state.settings.purge_interval_secs.max(1));
    loop {
        tokio::time::sleep(every).await;
        purge_once(&state).await;
    }
}

/// Call recordings go with their tenant's transfer data: older than the tenant's retention
/// (by when the file was closed), or all of them when the interaction is gone.
fn purge_recordings(
    store: &dyn Store,
    recordings: &crate::recordings::RecordingStore,
    tenants: &[(TenantId, u64)],
    now: i64,
) -> usize {
    let mut total = 0;
    for call in recordings.calls() {
        let tenant = match store.interaction(&baton_core::InteractionId(call.clone())) {
            Ok(found) => found.map(|i| i.tenant),
            Err(e) => {
                tracing::warn!(error = %e, "retention: interaction lookup failed");
                continue;
            }
        };
        let cutoff = match tenant {
            Some(t) => match tenants.iter().find(|(id, _)| *id == t) {
                Some((_, retention)) => now - *retention as i64 * 1000,
                None => continue,
            },
            None => i64::MAX,
        };
        total += recordings.purge(&call, cutoff);
    }
    total
}

pub async fn purge_once(state: &AppState) {
    purge_sessions(state).await;
    let Ok(tenants) = state
        .engine
        .query::<Vec<(TenantId, u64)>>(Query::Retention)
        .await
    else {
        return;
    };
    let now = state.clock.now();
    let store = state.store.clone();
    let recordings = state.recordings.clone();
    let purged = tokio::task::spawn_blocking(move || {
        let mut total = purge_recordings(&*store, &recordings, &tenants, now);
        for (tenant, retention) in tenants {
            match store.purge_transfer_data(&tenant, now - retention as i64 * 1000) {
                Ok(n) => total += n,
                Err(e) => tracing::warn!(error = %e, "retention purge failed"),
            }
        }
        total
    })
    .await
    .unwrap_or(0);
    if purged > 0 {
        tracing::info!(purged, "deleted expired transfer data");
        state
            .metrics
            .purged_transfer_data
            .fetch_add(purged as u64, std::sync::atomic::Ordering::Relaxed);
    }
}
