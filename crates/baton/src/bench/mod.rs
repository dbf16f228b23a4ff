//! `baton bench`: hand-off latency and throughput with real durability, idle-connection
//! memory, and the same load on baselines (see BENCHMARKS.md).
//!
//! # Layout
//! - [`chain`]: the load shape (chains of hops at a fixed concurrency), payloads, percentiles.
//! - [`target`]: the server under test (in-process, child process or `--url`) and REST setup.
//! - [`baton`]: Baton as a transport: `blindTransfer` with explicit data → `ON_LOAD_TRANSFER_DATA`.
//! - [`relay`]: baselines 1 and 2, a bare WebSocket relay, without and with an fsync per message.
//! - [`nats`]: baseline 3, NATS request-reply over the raw text protocol.
//! - [`sys`]: CPU time and RSS from `/proc`.

mod baton;
mod chain;
mod nats;
mod relay;
mod sys;
mod target;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use chain::{Load, Summary, Transport};
use target::{Rest, Server};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Bench a running server (loopback only) instead of starting one in this process.
    #[arg(long)]
    pub url: Option<String>,
    /// Admin token of the `--url` server.
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Pid of the `--url` server, to report its CPU time and RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Start the server as a child `baton serve` process instead of in this process, so its
    /// CPU and memory are measured apart from the load generator's.
    #[arg(long, conflicts_with = "url")]
    pub spawn: bool,
    /// Agents taking part in hand-offs.
    #[arg(long, default_value_t = 20)]
    pub agents: usize,
    /// Hand-offs to run.
    #[arg(long, default_value_t = 2000)]
    pub handoffs: u64,
    /// Size of each hand-off's transfer data (JSON), in bytes.
    #[arg(long, default_value_t = 1024)]
    pub payload_bytes: usize,
    /// Hand-offs in flight at once (one chain of hand-offs each).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Also hold this many idle logged-in agent sockets and report memory per connection.
    #[arg(long, default_value_t = 0)]
    pub connections: usize,
    /// Stops each measured run after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub max_secs: u64,
    /// Run the same load through baselines: a bare WebSocket relay, the relay with one
    /// fsync per message, and NATS request-reply (if reachable).
    #[arg(long)]
    pub compare: bool,
    /// NATS address for `--compare` (loopback only).
    #[arg(long, default_value = "127.0.0.1:4222")]
    pub nats: SocketAddr,
    /// Where the in-process or child server and the fsync baseline keep their files
    /// [default: the system temp dir]. Put it on the disk you want to measure.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Report {
    server: String,
    cpus: usize,
    agents: usize,
    concurrency: usize,
    handoffs_requested: u64,
    payload_bytes: usize,
    tenant: String,
    setup: Setup,
    baton: Summary,
    server_usage: Option<ServerUsage>,
    store: Option<StoreReport>,
    connections: Option<Connections>,
    compare: Option<Compare>,
    notes: Vec<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Setup {
    create_agents_secs: f64,
    logins_secs: f64,
    connect_secs: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerUsage {
    cpu_secs: f64,
    cpu_micros_per_handoff: f64,
    /// Whole-process CPU over the run (in-process: server and load generator together).
    process_cpu_secs: Option<f64>,
    rss_bytes: u64,
    what: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreReport {
    commits: u64,
    commands: u64,
    commands_per_commit: f64,
    commit_ms_mean: f64,
    commits_per_handoff: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connections {
    count: usize,
    create_agents_secs: f64,
    logins_secs: f64,
    connect_secs: f64,
    rss_before_bytes: Option<u64>,
    rss_after_bytes: Option<u64>,
    bytes_per_connection: Option<f64>,
    what: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Compare {
    fsync_alone_p50_ms: f64,
    fsync_alone_p99_ms: f64,
    baselines: Vec<Baseline>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Baseline {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relay_cpu_micros_per_handoff: Option<f64>,
    /// Baton divided by the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    ratios: Option<Ratios>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ratios {
    p50: f64,
    p90: f64,
    p99: f64,
    throughput: f64,
}

fn progress(json: bool, name: &str, len: u64) -> indicatif::ProgressBar {
    if json {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>15} [{bar:32}] {pos}/{len} hand-offs, {per_sec}, {elapsed}",
        )
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

pub async fn run(args: BenchArgs) -> Result<(), String> {
    if args.agents < 2 {
        return Err("--agents must be at least 2".into());
    }
    if args.concurrency == 0 || args.concurrency > args.agents * 25 {
        return Err(format!(
            "--concurrency must be 1..={} with {} agents (each holds at most 50 chats)",
            args.agents * 25,
            args.agents
        ));
    }
    if args.handoffs == 0 {
        return Err("--handoffs must be at least 1".into());
    }
    if !args.nats.ip().is_loopback() {
        return Err("--nats must be a loopback address".into());
    }
    let nofile = sys::raise_nofile();
    let in_process = args.url.is_none() && !args.spawn;
    // Both ends of every socket live here when the server is in-process.
    let fds_needed = (args.connections + args.agents) * if in_process { 2 } else { 1 } + 512;
    if fds_needed as u64 > nofile {
        return Err(format!(
            "--connections {} needs about {fds_needed} open files here, but the limit is {nofile}; {}",
            args.connections,
            if in_process {
                "use --spawn to run the server in its own process, or raise `ulimit -n`"
            } else {
                "raise `ulimit -n`"
            }
        ));
    }
    let json = args.json;
    let data_parent = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    let limits = target::limits(args.payload_bytes, args.connections + args.agents);
    let server = match &args.url {
        Some(url) => Server::remote(
            url,
            args.admin_token
                .clone()
                .ok_or("--url needs --admin-token (or BATON_ADMIN_TOKEN)")?,
            args.server_pid,
        )?,
        None if args.spawn => Server::child(&data_parent, limits, args.connections > 0).await?,
        None => Server::in_process(&data_parent, limits).await?,
    };
    let mut report = Report {
        server: server.describe().to_owned(),
        cpus: sys::nproc(),
        agents: args.agents,
        concurrency: args.concurrency,
        handoffs_requested: args.handoffs,
        payload_bytes: args.payload_bytes,
        ..Report::default()
    };
    let result = measure(&args, &server, &data_parent, &mut report).await;
    server.stop().await;
    result?;
    if args.compare {
        report.compare = Some(compare(&args, &data_parent, &report.baton).await?);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_report(&report);
    }
    Ok(())
}

async fn measure(
    args: &BenchArgs,
    server: &Server,
    data_parent: &std::path::Path,
    report: &mut Report,
) -> Result<(), String> {
    let json = args.json;
    let rest = Rest::new(server);
    let setup_parallel = sys::nproc() * 2;
    say(
        json,
        format!("server: {} at {}", server.describe(), server.base),
    );
    let tenant = target::tenant(&rest, args.payload_bytes).await?;
    report.tenant = tenant.name.clone();
    say(
        json,
        format!("tenant {}: creating {} agents", tenant.name, args.agents),
    );
    let (usernames, created) =
        target::create_agents(&rest, &tenant.name, "agent", args.agents, setup_parallel).await?;
    let (tokens, logged_in) =
        target::login_all(&rest, &tenant.name, &usernames, setup_parallel).await?;
    let connect_started = Instant::now();
    let agents = baton::BatonAgents::connect(&server.ws_url(), usernames, tokens).await?;
    let (starts, customers) = agents
        .start_chains(&rest, &tenant, args.concurrency)
        .await?;
    report.setup = Setup {
        create_agents_secs: created.as_secs_f64(),
        logins_secs: logged_in.as_secs_f64(),
        connect_secs: connect_started.elapsed().as_secs_f64(),
    };

    let agents = Arc::new(agents);
    let load = Load {
        participants: args.agents,
        handoffs: args.handoffs,
        payload_bytes: args.payload_bytes,
        max: Duration::from_secs(args.max_secs),
        capacity: target::MAX_CHATS,
    };
    let cpu_before = server.usage();
    let process_before = sys::process("self");
    let store_before = rest.metrics().await;
    let bar = progress(json, "baton", args.handoffs);
    let outcome = chain::drive(agents.clone(), starts, load, bar.clone()).await;
    bar.finish_and_clear();
    let cpu_after = server.usage();
    let process_after = sys::process("self");
    let store_after = rest.metrics().await;
    report.baton = Summary::of(outcome);
    let done = report.baton.handoffs.max(1) as f64;
    if let (Some(b), Some(a)) = (cpu_before, cpu_after) {
        let cpu = a.cpu.saturating_sub(b.cpu).as_secs_f64();
        let in_process = matches!(server.at, target::Where::InProcess { .. });
        report.server_usage = Some(ServerUsage {
            cpu_secs: cpu,
            cpu_micros_per_handoff: cpu * 1e6 / done,
            process_cpu_secs: match (process_before, process_after, in_process) {
                (Some(b), Some(a), true) => Some(a.cpu.saturating_sub(b.cpu).as_secs_f64()),
                _ => None,
            },
            rss_bytes: a.rss_bytes,
            what: if in_process {
                "CPU: the in-process server runtime's threads; RSS: the whole process (server and load generator share it)".into()
            } else {
                "the server process alone".into()
            },
        });
    } else {
        report
            .notes
            .push("server CPU and RSS: n/a (remote server; pass --server-pid)".into());
    }
    if let (Some(b), Some(a)) = (store_before, store_after) {
        let d = a.since(b);
        report.store = Some(StoreReport {
            commits: d.commits,
            commands: d.commands,
            commands_per_commit: d.commands as f64 / d.commits.max(1) as f64,
            commit_ms_mean: d.micros as f64 / 1e3 / d.commits.max(1) as f64,
            commits_per_handoff: d.commits as f64 / done,
        });
    }
    agents.finish(&rest, &customers).await;

    if args.connections > 0 {
        report.connections = Some(connections(args, server, &rest, &tenant.name).await?);
    }
    agents.close();
    let _ = data_parent;
    Ok(())
}

async fn connections(
    args: &BenchArgs,
    server: &Server,
    rest: &Rest,
    tenant: &str,
) -> Result<Connections, String> {
    let json = args.json;
    let k = args.connections;
    let parallel = sys::nproc() * 2;
    say(
        json,
        format!("connections: creating {k} idle agents (one argon2 hash each)"),
    );
    let (names, created) = target::create_agents(rest, tenant, "idle", k, parallel).await?;
    say(
        json,
        format!("connections: {k} logins (one argon2 verification each)"),
    );
    let (tokens, logged_in) = target::login_all(rest, tenant, &names, parallel).await?;
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

async fn compare(
    args: &BenchArgs,
    data_parent: &std::path::Path,
    baton: &Summary,
) -> Result<Compare, String> {
    let json = args.json;
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
    let runtime = target::named_runtime("bench-relay").map_err(|e| e.to_string())?;
    let load = Load {
        participants: args.agents,
        handoffs: args.handoffs,
        payload_bytes: args.payload_bytes,
        max: Duration::from_secs(args.max_secs),
        capacity: target::MAX_CHATS,
    };
    let starts: Vec<(String, usize)> = (0..args.concurrency)
        .map(|k| (format!("c{k}"), k % args.agents))
        .collect();
    let mut baselines = Vec::new();
    for (name, durable) in [
        ("ws relay", None),
        ("ws relay+fsync", Some(dir.path().join("relay.log"))),
    ] {
        let addr = runtime
            .spawn(relay::serve(durable))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("relay: {e}"))?;
        let clients = Arc::new(relay::RelayClients::connect(addr, args.agents).await?);
        let before = sys::threads_named("bench-relay");
        let s = run_baseline(json, name, clients, starts.clone(), load).await;
        let cpu = sys::threads_named("bench-relay")
            .cpu
            .saturating_sub(before.cpu);
        baselines.push(Baseline {
            name: name.into(),
            relay_cpu_micros_per_handoff: Some(cpu.as_secs_f64() * 1e6 / s.handoffs.max(1) as f64),
            ratios: Some(ratios(baton, &s)),
            summary: Some(s),
            skipped: None,
        });
    }
    if nats::reachable(args.nats).await {
        let clients = Arc::new(nats::NatsClients::connect(args.nats, args.agents).await?);
        let s = run_baseline(json, "nats", clients, starts.clone(), load).await;
        baselines.push(Baseline {
            name: "nats req-reply".into(),
            relay_cpu_micros_per_handoff: None,
            ratios: Some(ratios(baton, &s)),
            summary: Some(s),
            skipped: None,
        });
    } else {
        baselines.push(Baseline {
            name: "nats req-reply".into(),
            summary: None,
            skipped: Some(format!("not reachable at {}", args.nats)),
            relay_cpu_micros_per_handoff: None,
            ratios: None,
        });
    }
    runtime.shutdown_background();
    Ok(Compare {
        fsync_alone_p50_ms: alone.p50_ms,
        fsync_alone_p99_ms: alone.p99_ms,
        baselines,
    })
}

async fn run_baseline<T: Transport>(
    json: bool,
    name: &str,
    transport: Arc<T>,
    starts: Vec<(String, usize)>,
    load: Load,
) -> Summary {
    let bar = progress(json, name, load.handoffs);
    let out = chain::drive(transport, starts, load, bar.clone()).await;
    bar.finish_and_clear();
    Summary::of(out)
}

fn ratios(baton: &Summary, base: &Summary) -> Ratios {
    Ratios {
        p50: baton.p50_ms / base.p50_ms,
        p90: baton.p90_ms / base.p90_ms,
        p99: baton.p99_ms / base.p99_ms,
        throughput: baton.per_sec / base.per_sec,
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn row(name: &str, s: &Summary) -> String {
    format!(
        "  {name:<16} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>12.0} {:>7}",
        s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms, s.per_sec, s.errors
    )
}

fn print_report(r: &Report) {
    println!();
    println!(
        "Baton bench: {} server, {} CPUs; {} agents, concurrency {}, {} hand-offs of {} B transfer data; tenant {}",
        r.server, r.cpus, r.agents, r.concurrency, r.handoffs_requested, r.payload_bytes, r.tenant
    );
    println!(
        "setup: agents created in {:.2}s, logged in in {:.2}s, connected and chains started in {:.2}s",
        r.setup.create_agents_secs, r.setup.logins_secs, r.setup.connect_secs
    );
    println!();
    println!(
        "  {:<16} {:>9} {:>9} {:>9} {:>9} {:>12} {:>7}",
        "hand-off", "p50 ms", "p90 ms", "p99 ms", "max ms", "per sec", "errors"
    );
    println!("{}", row("baton", &r.baton));
    if let Some(c) = &r.compare {
        for b in &c.baselines {
            match (&b.summary, &b.skipped) {
                (Some(s), _) => println!("{}", row(&b.name, s)),
                (None, Some(why)) => println!("  {:<16} skipped: {why}", b.name),
                _ => {}
            }
        }
        println!(
            "  {:<16} {:>9.3} {:>9} {:>9.3}   (one {}-byte write + fdatasync at a time)",
            "fsync alone", c.fsync_alone_p50_ms, "", c.fsync_alone_p99_ms, r.payload_bytes
        );
        println!();
        println!(
            "  {:<16} {:>9} {:>9} {:>9} {:>12}",
            "baton / …", "p50", "p90", "p99", "throughput"
        );
        for b in &c.baselines {
            if let Some(x) = &b.ratios {
                println!(
                    "  {:<16} {:>8.2}× {:>8.2}× {:>8.2}× {:>11.2}×",
                    b.name, x.p50, x.p90, x.p99, x.throughput
                );
            }
        }
    }
    if r.baton.errors > 0 || r.baton.timed_out {
        println!();
        if let Some(e) = &r.baton.first_error {
            println!("  first error: {e}");
        }
        if r.baton.timed_out {
            println!("  stopped by --max-secs before all hand-offs were done");
        }
    }
    println!();
    if let Some(u) = &r.server_usage {
        println!(
            "server CPU: {:.2}s over the run, {:.0} µs per hand-off ({})",
            u.cpu_secs, u.cpu_micros_per_handoff, u.what
        );
        if let Some(p) = u.process_cpu_secs {
            println!("process CPU (server + load generator): {p:.2}s");
        }
        println!("RSS: {}", mib(u.rss_bytes));
    }
    if let Some(s) = &r.store {
        println!(
            "store: {} commits for {} commands ({:.1} per commit, {:.2} commits per hand-off), {:.2} ms per commit",
            s.commits, s.commands, s.commands_per_commit, s.commits_per_handoff, s.commit_ms_mean
        );
    }
    if let Some(c) = &r.connections {
        println!(
            "connections: {} idle agents — created in {:.1}s, logged in in {:.1}s, connected in {:.1}s",
            c.count, c.create_agents_secs, c.logins_secs, c.connect_secs
        );
        match (
            c.rss_before_bytes,
            c.rss_after_bytes,
            c.bytes_per_connection,
        ) {
            (Some(b), Some(a), Some(per)) => println!(
                "  RSS {} → {}: {:.1} KiB per connection ({})",
                mib(b),
                mib(a),
                per / 1024.0,
                c.what
            ),
            _ => println!("  RSS per connection: {}", c.what),
        }
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}
