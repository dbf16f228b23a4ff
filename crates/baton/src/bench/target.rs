//! The server under test (in this process, a child `baton serve`, or `--url`) and the REST
//! calls that set up a bench tenant and its agents.

use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_server::settings::Secret;
use baton_server::{Application, Limits, Settings};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Semaphore;

use super::sys;

/// Name of the in-process server's threads (workers and blocking pool), so their CPU
/// time can be told apart from the load generator's.
pub const SERVER_THREADS: &str = "baton-server";
pub const SERVICE: &str = "bench";
/// The service `--backlog` chats wait in: no bench agent serves it.
pub const BACKLOG_SERVICE: &str = "bench-backlog";
pub const INTEGRATION: &str = "bench-crm";
pub const PASSWORD: &str = "bench-password";
/// Chats each bench agent may hold (the most the admin API allows).
pub const MAX_CHATS: u32 = 50;

pub enum Where {
    /// `baton_server::Application` on its own tokio runtime in this process.
    InProcess {
        runtime: Option<tokio::runtime::Runtime>,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        /// Closed when the server has drained (its engine committed what it had).
        stopped: Option<tokio::sync::oneshot::Receiver<()>>,
        _dir: tempfile::TempDir,
    },
    /// `baton serve` as a child process.
    Child {
        child: tokio::process::Child,
        _dir: tempfile::TempDir,
    },
    /// Someone else's server; `pid` if given with `--server-pid`.
    Remote { pid: Option<u32> },
}

pub struct Server {
    pub base: String,
    pub admin: String,
    pub at: Where,
}

/// How the bench starts a server of its own.
#[derive(Clone)]
pub struct ServerOptions {
    pub limits: Limits,
    /// Transfer-data key text (`<id>:<hex key>`), as `BATON_DATA_KEY` would give it.
    pub data_key: Option<String>,
    /// See [`Server::child`].
    pub fixed_mmap: bool,
    /// Start the child as a node of this cluster.
    pub cluster: Option<ClusterNode>,
    /// `[media] max_peers`: peer connections the media plane takes (two per call).
    pub media_peers: usize,
}

/// What every node of a bench cluster shares.
#[derive(Clone)]
pub struct ClusterNode {
    pub database: String,
    pub nats: String,
    /// PostgreSQL schema and NATS subject prefix, new for every cluster the bench starts,
    /// so it never meets a test's or another bench's tables.
    pub name: String,
    /// The server key every node needs (it signs chat grants).
    pub server_key: String,
    /// The admin token every node accepts.
    pub admin: String,
}

impl ClusterNode {
    pub fn new(database: &str, nats: &str) -> Self {
        Self {
            database: database.to_owned(),
            nats: nats.to_owned(),
            name: format!("baton_bench_{}", &baton_server::auth::new_token()[..12]),
            server_key: baton_server::auth::new_token(),
            admin: baton_server::auth::new_token(),
        }
    }
}

/// A fresh transfer-data key, in the text form `BATON_DATA_KEY` takes.
pub fn new_data_key() -> String {
    format!("bench:{}", baton_server::auth::new_token())
}

/// Limits that let the bench's own traffic through: big payloads, many sockets.
pub fn limits(payload_bytes: usize, connections: usize) -> Limits {
    let d = Limits::default();
    Limits {
        max_frame_bytes: d.max_frame_bytes.max(payload_bytes * 2 + 64 * 1024),
        max_connections: d.max_connections.max(connections + 1000),
        ..d
    }
}

/// The bench creates interactions from one address far faster than customers would.
const PUBLIC_LIMITS_TOML: &str = "[public_limits]\ninteractions_per_minute_per_token = 100000000\n\
interactions_per_minute_per_address = 100000000\nsockets_per_customer = 1000\n\
max_customer_connections = 1000000\n[interaction_limits]\ndefault_max_queue_length = 0\n";

fn public_limits() -> baton_server::guard::PublicLimits {
    baton_server::guard::PublicLimits {
        interactions_per_minute_per_token: 100_000_000,
        interactions_per_minute_per_address: 100_000_000,
        sockets_per_customer: 1000,
        max_customer_connections: 1_000_000,
        ..Default::default()
    }
}

/// A runtime whose threads all carry `name` and stay alive, so per-thread CPU adds up.
pub fn named_runtime(name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()
}

impl Server {
    pub async fn in_process(
        data_parent: &std::path::Path,
        options: &ServerOptions,
    ) -> Result<Server, String> {
        let dir = tempfile::Builder::new()
            .prefix("baton-bench-")
            .tempdir_in(data_parent)
            .map_err(|e| format!("temp dir in {}: {e}", data_parent.display()))?;
        let admin = baton_server::auth::new_token();
        let settings = Settings {
            listen: "127.0.0.1:0".parse().expect("valid"),
            data_dir: dir.path().to_path_buf(),
            admin_token: Some(Secret::new(admin.clone())),
            limits: options.limits,
            data_cipher: match &options.data_key {
                Some(text) => Some(
                    baton_store::DataCipher::parse(text).map_err(|e| format!("data key: {e}"))?,
                ),
                None => None,
            },
            public_limits: public_limits(),
            interaction_limits: baton_core::InteractionLimits {
                default_max_queue_length: 0,
                ..Default::default()
            },
            media: baton_server::media::MediaSettings {
                max_peers: options.media_peers,
                ..Default::default()
            },
            ..Settings::default()
        };
        let runtime = named_runtime(SERVER_THREADS).map_err(|e| e.to_string())?;
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (drained_tx, drained) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(async move {
            let _drained = drained_tx;
            match Application::build(settings).await {
                Ok(app) => {
                    let _ = addr_tx.send(Ok(app.local_addr()));
                    if let Err(e) = app
                        .run_until(async {
                            let _ = stopped.await;
                        })
                        .await
                    {
                        tracing::error!(error = %e, "bench server stopped");
                    }
                }
                Err(e) => {
                    let _ = addr_tx.send(Err(e.to_string()));
                }
            }
        });
        let addr = addr_rx
            .await
            .map_err(|_| "the server task ended".to_owned())??;
        Ok(Server {
            base: format!("http://{addr}"),
            admin,
            at: Where::InProcess {
                runtime: Some(runtime),
                stop: Some(stop),
                stopped: Some(drained),
                _dir: dir,
            },
        })
    }

    /// Starts `baton serve` (this very binary) on a free loopback port.
    /// With `fixed_mmap`, glibc in the child returns big blocks on free (see
    /// [`sys::MMAP_THRESHOLD_ENV`]), so an RSS delta measures live memory.
    pub async fn child(
        data_parent: &std::path::Path,
        options: &ServerOptions,
    ) -> Result<Server, String> {
        let limits = &options.limits;
        let dir = tempfile::Builder::new()
            .prefix("baton-bench-")
            .tempdir_in(data_parent)
            .map_err(|e| format!("temp dir in {}: {e}", data_parent.display()))?;
        let admin = match &options.cluster {
            Some(c) => c.admin.clone(),
            None => baton_server::auth::new_token(),
        };
        let config = dir.path().join("bench.toml");
        std::fs::write(
            &config,
            format!(
                "[limits]\nmax_frame_bytes = {}\nmax_connections = {}\n{PUBLIC_LIMITS_TOML}\
                 [media]\nmax_peers = {}\n",
                limits.max_frame_bytes, limits.max_connections, options.media_peers
            ),
        )
        .map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = tokio::process::Command::new(exe);
        command.args(["--log", "warn"]);
        if options.fixed_mmap {
            command.env(sys::MMAP_THRESHOLD_ENV.0, sys::MMAP_THRESHOLD_ENV.1);
        }
        if let Some(key) = &options.data_key {
            command.env("BATON_DATA_KEY", key);
        }
        if let Some(c) = &options.cluster {
            command
                .args(["serve", "--database", &c.database, "--nats", &c.nats])
                .args(["--database-schema", &c.name, "--cluster-name", &c.name])
                .env("BATON_SERVER_KEY", &c.server_key);
        } else {
            command.arg("serve");
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("BATON_ADMIN_TOKEN", &admin)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start baton serve: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("Baton listening on ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or("baton serve did not say where it listens")?;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            base,
            admin,
            at: Where::Child { child, _dir: dir },
        })
    }

    pub fn remote(url: &str, admin: String, pid: Option<u32>) -> Result<Server, String> {
        let base = url.trim_end_matches('/').to_owned();
        let host = base
            .strip_prefix("http://")
            .ok_or("--url must start with http://")?
            .split('/')
            .next()
            .unwrap_or_default();
        let loopback = host.starts_with("127.")
            || host.starts_with("localhost:")
            || host == "localhost"
            || host.starts_with("[::1]");
        if !loopback {
            return Err(format!(
                "--url {url}: the bench only targets loopback servers (127.0.0.1, localhost, [::1])"
            ));
        }
        Ok(Server {
            base,
            admin,
            at: Where::Remote { pid },
        })
    }

    pub fn ws_url(&self) -> String {
        format!(
            "ws://{}/ws/agent",
            self.base
                .trim_start_matches("http://")
                .trim_end_matches('/')
        )
    }

    /// The customer socket of the interaction whose customer token is `token`.
    pub fn customer_ws_url(&self, token: &str) -> String {
        format!(
            "ws://{}/ws/customer?token={token}",
            self.base
                .trim_start_matches("http://")
                .trim_end_matches('/')
        )
    }

    pub fn describe(&self) -> &'static str {
        match self.at {
            Where::InProcess { .. } => "in-process",
            Where::Child { .. } => "child process",
            Where::Remote { .. } => "remote (--url)",
        }
    }

    /// The server's CPU time and RSS, when they can be measured. In-process, CPU is the
    /// server runtime's threads and RSS is the whole (shared) process.
    pub fn usage(&self) -> Option<sys::Usage> {
        match &self.at {
            Where::InProcess { .. } => {
                sys::trim_heap();
                Some(sys::threads_named(SERVER_THREADS))
            }
            Where::Child { child, .. } => sys::process(&child.id()?.to_string()),
            Where::Remote { pid } => sys::process(&pid.as_ref()?.to_string()),
        }
    }

    pub async fn stop(mut self) {
        match &mut self.at {
            Where::InProcess {
                runtime,
                stop,
                stopped,
                ..
            } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                // Shutting the runtime down under a commit in flight would cancel it, and
                // the engine exits the process when its commit task is cancelled.
                if let Some(stopped) = stopped.take() {
                    let _ = tokio::time::timeout(Duration::from_secs(10), stopped).await;
                }
                if let Some(rt) = runtime.take() {
                    // Lets the server close its sockets and the engine drain.
                    let _ = tokio::task::spawn_blocking(move || {
                        rt.shutdown_timeout(Duration::from_secs(5))
                    })
                    .await;
                }
            }
            Where::Child { child, .. } => {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
            Where::Remote { .. } => {}
        }
    }
}

/// REST calls with the admin token at hand.
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    admin: String,
}

impl Rest {
    pub fn new(server: &Server) -> Self {
        Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("reqwest client"),
            base: server.base.clone(),
            admin: server.admin.clone(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{method} {path}: HTTP {status}: {body}"))
        }
    }

    /// Waits until the server answers `/readyz` (a cluster node: an engine runs).
    pub async fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = self
                .http
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{} never became ready", self.base));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Result<Value, String> {
        let admin = self.admin.clone();
        self.send(reqwest::Method::POST, path, Some(&admin), Some(body))
            .await
    }

    pub async fn metrics(&self) -> Option<StoreCounters> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        // A sample is `name value` or `name{labels} value` (every sample has a node label).
        let get = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| {
                    let rest = l.strip_prefix(name)?;
                    let rest = match rest.strip_prefix('{') {
                        Some(labelled) => &labelled[labelled.find('}')? + 1..],
                        None => rest,
                    };
                    rest.strip_prefix(' ')?.trim().parse().ok()
                })
                .unwrap_or(0)
        };
        Some(StoreCounters {
            commits: get("baton_commits_total"),
            commands: get("baton_committed_commands_total"),
            micros: get("baton_commit_microseconds_total"),
        })
    }
}

/// The server's group-commit counters (from `/metrics`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreCounters {
    pub commits: u64,
    pub commands: u64,
    pub micros: u64,
}

impl StoreCounters {
    pub fn since(self, before: StoreCounters) -> StoreCounters {
        StoreCounters {
            commits: self.commits.saturating_sub(before.commits),
            commands: self.commands.saturating_sub(before.commands),
            micros: self.micros.saturating_sub(before.micros),
        }
    }
}

pub struct Tenant {
    pub name: String,
    pub ingress: String,
}

/// Tenant `bench-<random>` with service `bench` (chat and voice, long ring time-out), integration
/// `bench-crm`, transfer data up to the payload size, and an ingress token; with `backlog`,
/// also the service `bench-backlog`, which no bench agent serves.
pub async fn tenant(rest: &Rest, payload_bytes: usize, backlog: bool) -> Result<Tenant, String> {
    let name = baton_server::auth::new_id("bench");
    rest.admin_post("/api/v1/admin/tenants", json!({"name": name}))
        .await?;
    let services = if backlog {
        &[SERVICE, BACKLOG_SERVICE][..]
    } else {
        &[SERVICE][..]
    };
    for service in services {
        rest.admin_post(
            &format!("/api/v1/admin/tenants/{name}/services"),
            json!({"name": service, "channels": ["chat", "voice"], "ringTimeoutMs": 600_000}),
        )
        .await?;
    }
    rest.admin_post(
        &format!("/api/v1/admin/tenants/{name}/integrations"),
        json!({"integrationKey": INTEGRATION, "name": "Bench CRM", "allowedOrigins": ["http://bench.invalid"]}),
    )
    .await?;
    let max = payload_bytes.max(65536);
    if max > 1024 * 1024 {
        return Err(format!(
            "--payload-bytes {payload_bytes}: transfer data is at most 1 MiB"
        ));
    }
    let admin = rest.admin.clone();
    rest.send(
        reqwest::Method::PUT,
        &format!("/api/v1/admin/tenants/{name}/settings"),
        Some(&admin),
        Some(json!({"transferDataMaxBytes": max})),
    )
    .await?;
    let token = rest
        .admin_post(
            &format!("/api/v1/admin/tenants/{name}/ingress-tokens"),
            json!({}),
        )
        .await?;
    let ingress = token["token"]
        .as_str()
        .ok_or("ingress token answer without token")?
        .to_owned();
    Ok(Tenant { name, ingress })
}

/// Runs `f(i)` for `i in 0..n` with at most `parallel` at once; answers in order of `i`.
pub async fn parallel<T, F, Fut>(n: usize, parallel: usize, f: F) -> Result<Vec<T>, String>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut keep = |done: Result<(usize, Result<T, String>), tokio::task::JoinError>| {
        let (i, r) = done.map_err(|e| e.to_string())?;
        out[i] = Some(r?);
        Ok::<(), String>(())
    };
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("open");
        let fut = f(i);
        set.spawn(async move {
            let r = fut.await;
            drop(permit);
            (i, r)
        });
        // Reap finished ones so errors surface early and the set stays small.
        while let Some(done) = set.try_join_next() {
            keep(done)?;
        }
    }
    while let Some(done) = set.join_next().await {
        keep(done)?;
    }
    Ok(out
        .into_iter()
        .map(|v| v.expect("every index ran"))
        .collect())
}

/// Creates agents `{prefix}{i}` for `i in 0..n` with the bench service, agent `i` in
/// tenant `tenants[i % tenants.len()]`.
pub async fn create_agents(
    rest: &Rest,
    tenants: &[String],
    prefix: &str,
    n: usize,
    parallelism: usize,
) -> Result<(Vec<String>, Duration), String> {
    let started = Instant::now();
    let names = parallel(n, parallelism, |i| {
        let rest = rest.clone();
        let username = format!("{prefix}{i:05}");
        let tenant = &tenants[i % tenants.len()];
        let path = format!("/api/v1/admin/tenants/{tenant}/agents");
        async move {
            rest.admin_post(
                &path,
                json!({"username": username, "password": PASSWORD, "displayName": username,
                       "services": [SERVICE], "maxChats": MAX_CHATS}),
            )
            .await?;
            Ok(username)
        }
    })
    .await?;
    Ok((names, started.elapsed()))
}

/// Logs each agent in (one argon2 verification each), agent `i` in tenant
/// `tenants[i % tenants.len()]`; answers their session tokens.
pub async fn login_all(
    rest: &Rest,
    tenants: &[String],
    usernames: &[String],
    parallelism: usize,
) -> Result<(Vec<String>, Duration), String> {
    let started = Instant::now();
    let tokens = parallel(usernames.len(), parallelism, |i| {
        let rest = rest.clone();
        let tenant = &tenants[i % tenants.len()];
        let body = json!({"tenant": tenant, "username": usernames[i], "password": PASSWORD});
        async move {
            let v = rest
                .send(reqwest::Method::POST, "/api/v1/sessions", None, Some(body))
                .await?;
            v["token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "login answer without token".to_owned())
        }
    })
    .await?;
    Ok((tokens, started.elapsed()))
}
