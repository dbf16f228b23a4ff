//! `baton bench`: hand-off latency and throughput with real durability, idle-connection
//! memory, and the same load on baselines, run interleaved in rounds so that a noisy moment
//! on the machine hits every system alike (see BENCHMARKS.md and decision 0017).
//!
//! # Layout
//! - [`chain`]: the load shape (chains of hops at a fixed concurrency), payloads, percentiles.
//! - [`target`]: the servers under test (in-process, child processes, a cluster of child
//!   processes, or `--url`) and the REST setup.
//! - [`baton`]: Baton as a transport: `blindTransfer` with explicit data → `ON_LOAD_TRANSFER_DATA`.
//! - [`relay`]: the relay baselines: bare, group commit (the floor), one fsync per message.
//! - [`nats`]: NATS request-reply over the raw text protocol.
//! - [`report`]: per-round results, medians and spreads of the ratios, the printed tables.
//! - [`sys`]: CPU time and RSS from `/proc`.
//! - [`calls`]: `--calls N`, two-party calls through the media plane against a bare UDP
//!   forwarder (its own load and report).

mod baton;
mod calls;
mod chain;
mod nats;
mod relay;
mod report;
mod sys;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use chain::{Chain, Load, Summary};
use report::{Connections, Report, Run, Setup, StoreReport};
use target::{Rest, Server, ServerOptions, Tenant};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Bench a running server (loopback only) instead of starting one in this process.
    #[arg(long, conflicts_with_all = ["spawn", "cluster", "encrypt"])]
    pub url: Option<String>,
    /// Admin token of the `--url` server.
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Pid of the `--url` server, to report its CPU time and RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Start the server as a child `baton serve` process instead of in this process, so its
    /// CPU and memory are measured apart from the load generator's.
    #[arg(long, conflicts_with = "cluster")]
    pub spawn: bool,
    /// Start a cluster of this many `baton serve` nodes (child processes sharing --database
    /// and --nats), and a one-node cluster and an embedded server beside it; agents are
    /// spread over the nodes, and the three run the same workload in turn.
    #[arg(long, requires = "database", value_parser = clap::value_parser!(u16).range(2..=16))]
    pub cluster: Option<u16>,
    /// PostgreSQL for `--cluster`; each cluster gets a new schema `baton_bench_<random>`.
    #[arg(long, requires = "cluster")]
    pub database: Option<String>,
    /// NATS (loopback): the NATS baseline, and the cluster's bus with `--cluster`.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Agents taking part in hand-offs.
    #[arg(long, default_value_t = 20)]
    pub agents: usize,
    /// Spread the agents and chains over this many tenants (agent i in tenant i mod N);
    /// every hand-off stays inside its tenant.
    #[arg(long, default_value_t = 1)]
    pub tenants: usize,
    /// Chats waiting in the first tenant, in a service no agent serves, for the whole run:
    /// routing has them in front of it on every command.
    #[arg(long, default_value_t = 0)]
    pub backlog: usize,
    /// Chat messages each chain's interaction carries (sent by its first holder before the
    /// first hand-off), so every hand-off moves a long transcript.
    #[arg(long, default_value_t = 0)]
    pub messages: usize,
    /// Size of each of those chat messages, in bytes.
    #[arg(long, default_value_t = 500)]
    pub message_bytes: usize,
    /// Encrypt transfer data at rest (the server gets a fresh key, as `BATON_DATA_KEY`).
    #[arg(long)]
    pub encrypt: bool,
    /// Size of each hand-off's transfer data (JSON), in bytes.
    #[arg(long, default_value_t = 1024)]
    pub payload_bytes: usize,
    /// Hand-offs in flight at once (one chain of hand-offs each).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long each system runs in each round: `10s`, `500ms`, or seconds.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Rounds: every round runs each system once, in the same order (Baton first).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// Baselines to run in every round [default: all; with --cluster: none].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub baselines: Option<Vec<BaselineKind>>,
    /// Also hold this many idle logged-in agent sockets and report memory per connection.
    #[arg(long, default_value_t = 0)]
    pub connections: usize,
    /// Where the in-process or child servers and the relays keep their files
    /// [default: the system temp dir]. Put it on the disk you want to measure.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Instead of hand-offs: hold this many two-party calls (100 without a number) through
    /// the media plane, each party a WebRTC peer sending a 100-byte frame every 20 ms, and
    /// compare forwarding with a bare UDP forwarder (`--baselines none` skips it). Uses
    /// --rounds, --duration, --spawn, --json.
    #[arg(long, num_args = 0..=1, default_missing_value = "100", conflicts_with_all = ["url", "cluster", "connections", "backlog", "messages", "encrypt"])]
    pub calls: Option<usize>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A system Baton is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BaselineKind {
    /// A WebSocket relay that stores nothing.
    Relay,
    /// The relay with a group-committing log: one fsync for every message waiting. The floor.
    Floor,
    /// The relay with one fsync per message.
    Fsync,
    /// NATS request-reply (core NATS, nothing stored); skipped when NATS is not reachable.
    Nats,
    /// No baseline.
    None,
}

impl BaselineKind {
    fn name(self) -> &'static str {
        match self {
            BaselineKind::Relay => "ws relay",
            BaselineKind::Floor => "group commit",
            BaselineKind::Fsync => "fsync each",
            BaselineKind::Nats => "nats",
            BaselineKind::None => "none",
        }
    }
}

/// `10s`, `1.5s`, `500ms`, or a number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let secs = number
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{text:?} is not a duration like 10s or 500ms"))?
        * scale;
    if !(0.01..=3600.0).contains(&secs) {
        return Err(format!("{text:?}: a run lasts 10ms to 3600s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn spinner(json: bool, name: &str, round: u32, rounds: u32) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>24} {spinner} {pos} hand-offs, {per_sec}, {elapsed}",
        )
        .expect("valid template"),
    );
    bar.set_prefix(format!("round {round}/{rounds} {name}"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn progress(json: bool, name: &str, len: u64) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>15} [{bar:32}] {pos}/{len}, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar
}

fn say(json: bool, text: impl AsRef<str>) {
    if !json {
        eprintln!("{}", text.as_ref());
    }
}

/// The loopback socket address of a `nats://host:port` (or `host:port`) URL.
fn nats_addr(url: &str) -> Result<SocketAddr, String> {
    let hostport = url
        .strip_prefix("nats://")
        .unwrap_or(url)
        .trim_end_matches('/');
    let hostport = hostport.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = hostport
        .parse()
        .map_err(|_| format!("--nats {url}: expected nats://127.0.0.1:4222"))?;
    if !addr.ip().is_loopback() {
        return Err("--nats must be a loopback address".into());
    }
    Ok(addr)
}

/// Baton under test: its servers (one, or a cluster's nodes; REST goes to the first), its
/// tenants, logged-in agents and chains.
struct BatonSystem {
    name: String,
    servers: Vec<Server>,
    rest: Rest,
    tenants: Vec<Tenant>,
    agents: Arc<baton::BatonAgents>,
    chains: Vec<Chain>,
    /// Chains' and backlog chats' customers, hung up at the end.
    customers: Vec<(String, String)>,
    setup: Setup,
}

impl BatonSystem {
    async fn set_up(
        name: &str,
        servers: Vec<Server>,
        args: &BenchArgs,
    ) -> Result<BatonSystem, String> {
        let json = args.json;
        let rest = Rest::new(&servers[0]);
        for s in &servers {
            Rest::new(s).wait_ready().await?;
        }
        let setup_parallel = sys::nproc() * 2;
        say(
            json,
            format!(
                "{name}: {} at {}; {} tenants, {} agents",
                servers[0].describe(),
                servers
                    .iter()
                    .map(|s| s.base.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                args.tenants,
                args.agents
            ),
        );
        let mut tenants = Vec::new();
        for t in 0..args.tenants {
            tenants
                .push(target::tenant(&rest, args.payload_bytes, t == 0 && args.backlog > 0).await?);
        }
        let names: Vec<String> = tenants.iter().map(|t| t.name.clone()).collect();
        let (usernames, created) =
            target::create_agents(&rest, &names, "agent", args.agents, setup_parallel).await?;
        let (tokens, logged_in) =
            target::login_all(&rest, &names, &usernames, setup_parallel).await?;
        let connect_started = Instant::now();
        let ws: Vec<String> = servers.iter().map(Server::ws_url).collect();
        let agents = baton::BatonAgents::connect(&ws, usernames, tokens).await?;
        let (chains, mut customers) = agents
            .start_chains(&rest, &tenants, args.concurrency)
            .await?;
        let connect = connect_started.elapsed();
        let started = Instant::now();
        if args.backlog > 0 {
            say(
                json,
                format!("{name}: queuing {} backlog chats", args.backlog),
            );
            customers.extend(baton::queue_backlog(&rest, &tenants[0], args.backlog).await?);
        }
        if args.messages > 0 {
            say(
                json,
                format!("{name}: {} chat messages into each chain", args.messages),
            );
            agents
                .fill_transcripts(&chains, args.messages, args.message_bytes)
                .await?;
        }
        Ok(BatonSystem {
            name: name.to_owned(),
            servers,
            rest,
            tenants,
            agents: Arc::new(agents),
            chains,
            customers,
            setup: Setup {
                system: name.to_owned(),
                create_agents_secs: created.as_secs_f64(),
                logins_secs: logged_in.as_secs_f64(),
                connect_secs: connect.as_secs_f64(),
                workload_secs: started.elapsed().as_secs_f64(),
            },
        })
    }

    /// CPU and RSS of each server process that can be measured, with its label.
    fn usage(&self) -> Vec<(String, Option<sys::Usage>)> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let label = match (&s.at, self.servers.len()) {
                    (target::Where::InProcess { .. }, _) => "server threads".to_owned(),
                    (_, 1) => "server process".to_owned(),
                    _ => format!("node {}", i + 1),
                };
                (label, s.usage())
            })
            .collect()
    }

    async fn store_counters(&self) -> Option<target::StoreCounters> {
        let mut sum: Option<target::StoreCounters> = None;
        for s in &self.servers {
            if let Some(c) = Rest::new(s).metrics().await {
                let t = sum.get_or_insert_default();
                t.commits += c.commits;
                t.commands += c.commands;
                t.micros += c.micros;
            }
        }
        sum
    }

    /// One measured run: the chains go on from where the last round left them.
    async fn run(&mut self, args: &BenchArgs, round: u32) -> Run {
        let load = load(args);
        let before = self.usage();
        let store_before = self.store_counters().await;
        let bar = spinner(args.json, &self.name, round, args.rounds);
        let chains = std::mem::take(&mut self.chains);
        let outcome = chain::drive(self.agents.clone(), chains, load, bar.clone()).await;
        bar.finish_and_clear();
        let after = self.usage();
        let store_after = self.store_counters().await;
        self.chains = outcome.chains.clone();
        let summary = Summary::of(outcome);
        let done = summary.handoffs.max(1) as f64;
        let processes: Vec<report::ProcessCpu> = before
            .into_iter()
            .zip(after)
            .filter_map(|((label, b), (_, a))| {
                let (b, a) = (b?, a?);
                let cpu = a.cpu.saturating_sub(b.cpu).as_secs_f64();
                Some(report::ProcessCpu {
                    process: label,
                    cpu_secs: cpu,
                    cpu_micros_per_handoff: cpu * 1e6 / done,
                    rss_bytes: a.rss_bytes,
                })
            })
            .collect();
        let store = match (store_before, store_after) {
            (Some(b), Some(a)) => {
                let d = a.since(b);
                Some(StoreReport {
                    commits: d.commits,
                    commands: d.commands,
                    commands_per_commit: d.commands as f64 / d.commits.max(1) as f64,
                    commit_ms_mean: d.micros as f64 / 1e3 / d.commits.max(1) as f64,
                    commits_per_handoff: d.commits as f64 / done,
                })
            }
            _ => None,
        };
        Run::new(round, &self.name, summary, processes, store)
    }

    async fn finish(self) {
        self.agents.finish(&self.rest, &self.customers).await;
        self.agents.close();
        for s in self.servers {
            s.stop().await;
        }
    }
}

fn load(args: &BenchArgs) -> Load {
    Load {
        participants: args.agents,
        groups: args.tenants,
        payload_bytes: args.payload_bytes,
        duration: args.duration,
        capacity: target::MAX_CHATS,
    }
}

/// A baseline, connected and ready for its rounds.
enum BaselineSystem {
    Relay {
        kind: BaselineKind,
        clients: Arc<relay::RelayClients>,
        chains: Vec<Chain>,
    },
    Nats {
        clients: Arc<nats::NatsClients>,
        chains: Vec<Chain>,
    },
}

impl BaselineSystem {
    fn name(&self) -> &'static str {
        match self {
            BaselineSystem::Relay { kind, .. } => kind.name(),
            BaselineSystem::Nats { .. } => BaselineKind::Nats.name(),
        }
    }

    async fn run(&mut self, args: &BenchArgs, round: u32) -> Run {
        let name = self.name();
        let bar = spinner(args.json, name, round, args.rounds);
        let load = load(args);
        let before = sys::threads_named(relay::RELAY_THREADS);
        let (outcome, relay) = match self {
            BaselineSystem::Relay {
                clients, chains, ..
            } => {
                let out =
                    chain::drive(clients.clone(), std::mem::take(chains), load, bar.clone()).await;
                *chains = out.chains.clone();
                (out, true)
            }
            BaselineSystem::Nats { clients, chains } => {
                let out =
                    chain::drive(clients.clone(), std::mem::take(chains), load, bar.clone()).await;
                *chains = out.chains.clone();
                (out, false)
            }
        };
        bar.finish_and_clear();
        let summary = Summary::of(outcome);
        let processes = if relay {
            let after = sys::threads_named(relay::RELAY_THREADS);
            let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64();
            vec![report::ProcessCpu {
                process: "relay threads".into(),
                cpu_secs: cpu,
                cpu_micros_per_handoff: cpu * 1e6 / summary.handoffs.max(1) as f64,
                rss_bytes: after.rss_bytes,
            }]
        } else {
            Vec::new()
        };
        Run::new(round, name, summary, processes, None)
    }
}

/// The same chain starts every baseline gets: chain `k` begins with participant `k % agents`
/// (so in group `k % tenants`, as Baton's chats are routed inside their tenant).
fn baseline_starts(args: &BenchArgs) -> Vec<Chain> {
    (0..args.concurrency)
        .map(|k| (format!("c{k}"), k % args.agents))
        .collect()
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    if let Some(n) = args.calls {
        return calls::run(&args, n).await;
    }
    if args.agents < 2 {
        return Err("--agents must be at least 2".into());
    }
    if args.tenants == 0 || args.agents < 2 * args.tenants {
        return Err(format!(
            "--tenants {}: every tenant needs at least 2 of the --agents ({})",
            args.tenants, args.agents
        ));
    }
    if args.concurrency == 0 || args.concurrency > args.agents * 25 {
        return Err(format!(
            "--concurrency must be 1..={} with {} agents (each holds at most 50 chats)",
            args.agents * 25,
            args.agents
        ));
    }
    if args.message_bytes == 0 || args.message_bytes > 8000 {
        return Err("--message-bytes must be 1..=8000 (the default message limit)".into());
    }
    let nats_addr = nats_addr(&args.nats)?;
    let nofile = sys::raise_nofile();
    let in_process = args.url.is_none() && !args.spawn && args.cluster.is_none();
    // Both ends of every socket live here when the server is in-process.
    let fds_needed =
        (args.connections + args.agents) * if in_process { 2 } else { 1 } + args.agents * 2 + 512;
    if fds_needed as u64 > nofile {
        return Err(format!(
            "--connections {} with --agents {} needs about {fds_needed} open files here, but the limit is {nofile}; {}",
            args.connections,
            args.agents,
            if in_process {
                "use --spawn to run the server in its own process, or raise `ulimit -n`"
            } else {
                "raise `ulimit -n`"
            }
        ));
    }
    let json = args.json;
    let data_parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    let options = ServerOptions {
        limits: target::limits(args.payload_bytes, args.connections + args.agents),
        data_key: args.encrypt.then(target::new_data_key),
        fixed_mmap: args.connections > 0,
        cluster: None,
        media_peers: baton_server::media::MediaSettings::default().max_peers,
    };
    let mut report = Report::new(&args, sys::nproc());

    let mut systems = Vec::new();
    let set_up = async {
        match (&args.url, args.cluster) {
            (Some(url), _) => {
                let admin = args
                    .admin_token
                    .clone()
                    .ok_or("--url needs --admin-token (or BATON_ADMIN_TOKEN)")?;
                let server = Server::remote(url, admin, args.server_pid)?;
                systems.push(BatonSystem::set_up("baton", vec![server], &args).await?);
            }
            (None, Some(nodes)) => {
                let database = args.database.clone().ok_or("--cluster needs --database")?;
                let embedded = Server::child(&data_parent, &options).await?;
                systems.push(BatonSystem::set_up("embedded", vec![embedded], &args).await?);
                for n in [1, nodes as usize] {
                    let node = target::ClusterNode::new(&database, &args.nats);
                    report.notes.push(format!(
                        "{n}-node cluster: PostgreSQL schema and NATS prefix {}",
                        node.name
                    ));
                    let options = ServerOptions {
                        cluster: Some(node),
                        ..options.clone()
                    };
                    let mut servers = Vec::new();
                    for _ in 0..n {
                        servers.push(Server::child(&data_parent, &options).await?);
                    }
                    let name = if n == 1 {
                        "1 node".to_owned()
                    } else {
                        format!("{n} nodes")
                    };
                    systems.push(BatonSystem::set_up(&name, servers, &args).await?);
                }
            }
            (None, None) => {
                let server = if args.spawn {
                    Server::child(&data_parent, &options).await?
                } else {
                    Server::in_process(&data_parent, &options).await?
                };
                systems.push(BatonSystem::set_up("baton", vec![server], &args).await?);
            }
        }
        Ok::<(), String>(())
    }
    .await;
    let outcome = match set_up {
        Ok(()) => measure(&args, &data_parent, nats_addr, &mut systems, &mut report).await,
        Err(e) => Err(e),
    };
    if outcome.is_ok() && args.connections > 0 {
        let first = &systems[0];
        say(json, "connections: measuring idle sockets");
        match connections(
            &args,
            &first.servers[0],
            &first.rest,
            &first.tenants[0].name,
        )
        .await
        {
            Ok(c) => report.connections = Some(c),
            Err(e) => report.notes.push(format!("connections: {e}")),
        }
    }
    for s in systems {
        s.finish().await;
    }
    outcome?;
    report.summarise();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        report.print();
    }
    Ok(())
}

/// The rounds: every system once per round, Baton's first, then the baselines.
async fn measure(
    args: &BenchArgs,
    data_parent: &std::path::Path,
    nats_addr: SocketAddr,
    systems: &mut [BatonSystem],
    report: &mut Report,
) -> Result<(), String> {
    let json = args.json;
    report.setup = systems.iter().map(|s| s.setup.clone()).collect();
    report.tenants = systems
        .iter()
        .flat_map(|s| s.tenants.iter().map(|t| t.name.clone()))
        .collect();
    let dir = tempfile::Builder::new()
        .prefix("baton-bench-relay-")
        .tempdir_in(data_parent)
        .map_err(|e| e.to_string())?;
    let alone = {
        let (path, bytes) = (dir.path().to_path_buf(), args.payload_bytes);
        tokio::task::spawn_blocking(move || relay::fsync_alone(&path, bytes, 200))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("fsync probe: {e}"))?
    };
    let alone = Summary::of(chain::Outcome {
        latencies: alone,
        elapsed: Duration::from_secs(1),
        ..chain::Outcome::default()
    });
    report.fsync_alone_p50_ms = alone.p50_ms;
    report.fsync_alone_p99_ms = alone.p99_ms;

    let runtime = target::named_runtime(relay::RELAY_THREADS).map_err(|e| e.to_string())?;
    let kinds = report.baselines.clone();
    let mut baselines = Vec::new();
    for kind in kinds {
        let durability = match kind {
            BaselineKind::Relay => relay::Durability::None,
            BaselineKind::Floor => relay::Durability::GroupCommit,
            BaselineKind::Fsync => relay::Durability::PerMessage,
            BaselineKind::Nats => {
                if nats::reachable(nats_addr).await {
                    let clients =
                        Arc::new(nats::NatsClients::connect(nats_addr, args.agents).await?);
                    baselines.push(BaselineSystem::Nats {
                        clients,
                        chains: baseline_starts(args),
                    });
                } else {
                    report.notes.push(format!(
                        "nats baseline skipped: not reachable at {nats_addr}"
                    ));
                }
                continue;
            }
            BaselineKind::None => continue,
        };
        let path = dir.path().to_path_buf();
        let addr = runtime
            .spawn(async move { relay::serve(durability, &path).await })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("relay: {e}"))?;
        let clients = Arc::new(relay::RelayClients::connect(addr, args.agents).await?);
        baselines.push(BaselineSystem::Relay {
            kind,
            clients,
            chains: baseline_starts(args),
        });
    }

    for round in 1..=args.rounds {
        for s in systems.iter_mut() {
            let run = s.run(args, round).await;
            say(json, run.line());
            report.runs.push(run);
        }
        for b in baselines.iter_mut() {
            let run = b.run(args, round).await;
            say(json, run.line());
            report.runs.push(run);
        }
    }
    drop(baselines);
    runtime.shutdown_background();
    Ok(())
}

async fn connections(
    args: &BenchArgs,
    server: &Server,
    rest: &Rest,
    tenant: &str,
) -> Result<Connections, String> {
    let tenants = [tenant.to_owned()];
    let json = args.json;
    let k = args.connections;
    let parallel = sys::nproc() * 2;
    say(
        json,
        format!("connections: creating {k} idle agents (one argon2 hash each)"),
    );
    let (names, created) = target::create_agents(rest, &tenants, "idle", k, parallel).await?;
    say(
        json,
        format!("connections: {k} logins (one argon2 verification each)"),
    );
    let (tokens, logged_in) = target::login_all(rest, &tenants, &names, parallel).await?;
    let settle = Duration::from_millis(1500);
    tokio::time::sleep(settle).await;
    let before = server.usage();
    let bar = progress(json, "connect", k as u64);
    let started = Instant::now();
    let ws = server.ws_url();
    let tokens = Arc::new(tokens);
    let held = target::parallel(k, 64, |i| {
        let (ws, tokens, bar) = (ws.clone(), tokens.clone(), bar.clone());
        async move {
            let conn = baton::connect_agent(&ws, tokens[i].clone()).await?;
            bar.inc(1);
            Ok(conn)
        }
    })
    .await?;
    let connect = started.elapsed();
    bar.finish_and_clear();
    tokio::time::sleep(settle).await;
    let after = server.usage();
    let in_process = matches!(server.at, target::Where::InProcess { .. });
    let per = match (before, after) {
        (Some(b), Some(a)) => Some((a.rss_bytes as f64 - b.rss_bytes as f64) / k as f64),
        _ => None,
    };
    for (client, _) in &held {
        client.close();
    }
    drop(held);
    Ok(Connections {
        count: k,
        create_agents_secs: created.as_secs_f64(),
        logins_secs: logged_in.as_secs_f64(),
        connect_secs: connect.as_secs_f64(),
        rss_before_bytes: before.map(|u| u.rss_bytes),
        rss_after_bytes: after.map(|u| u.rss_bytes),
        bytes_per_connection: per,
        what: if in_process {
            "whole process: server AND client side of each socket (an upper bound for the server; use --spawn for the server alone)".into()
        } else if per.is_some() {
            "the server process alone".into()
        } else {
            "n/a (remote server; pass --server-pid)".into()
        },
    })
}
