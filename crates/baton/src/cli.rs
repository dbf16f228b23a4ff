//! Command-line interface. Settings are layered: defaults, then `--config`, then flags and
//! environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use baton_server::cluster::ClusterSettings;
use baton_server::guard::ServerKey;
use baton_server::settings::Secret;
use baton_server::tls::TlsConfig;
use baton_server::{Application, ConfigFile, Settings};
use baton_store::DataCipher;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton: an open agent-desktop server with transfer data that travels with the customer."
)]
pub struct Cli {
    /// Log filter, e.g. `info` or `baton_server=debug` (default: $RUST_LOG or `info`).
    #[arg(long, global = true)]
    pub log: Option<String>,
    /// Log lines as `text` (no colour unless standard error is a terminal) or `json`
    /// (one object per line, for a log collector).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Commands,
}

impl Cli {
    /// The log filter asked for; `baton bench` defaults to `warn`, so the in-process
    /// server's per-hand-off log lines do not cost the measured CPU.
    pub fn log_filter(&self) -> Option<&str> {
        match (&self.log, &self.command) {
            (Some(filter), _) => Some(filter),
            (None, Commands::Bench(_)) if std::env::var_os("RUST_LOG").is_none() => Some("warn"),
            (None, _) => None,
        }
    }
}

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Commands {
    /// Run the server.
    Serve(ServeArgs),
    /// Run the server with a seeded demo tenant and print what to open.
    Demo(DemoArgs),
    /// Measure hand-off latency, throughput and connection capacity.
    Bench(crate::bench::BenchArgs),
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:7878].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Directory for the embedded database [default: ./baton-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Bearer token for the admin API.
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A baton.toml declaring settings, limits, tenants, services, agents and integrations.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// How long an agent whose socket dropped keeps their login, in milliseconds.
    #[arg(long)]
    pub disconnect_grace_ms: Option<u64>,
    /// Cluster mode: the PostgreSQL database shared by every node (needs --nats).
    #[arg(long, env = "BATON_DATABASE", requires = "nats")]
    pub database: Option<String>,
    /// Cluster mode: the NATS server carrying events between nodes.
    #[arg(long, env = "BATON_NATS", requires = "database")]
    pub nats: Option<String>,
    /// Cluster mode: a NATS credentials file (`.creds`) for this node.
    #[arg(long, env = "BATON_NATS_CREDENTIALS")]
    pub nats_credentials: Option<PathBuf>,
    /// A PostgreSQL schema for Baton's tables (created if missing).
    #[arg(long)]
    pub database_schema: Option<String>,
    /// Prefix of the cluster's NATS subjects, so clusters can share a NATS server.
    #[arg(long, default_value = "baton")]
    pub cluster_name: String,
    /// This node's number in the cluster, 1..=65535 [default: random].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub node_id: Option<u16>,
    /// Cluster mode: tenant shards, each run by its own engine on some node (decision
    /// 0018). Every node of a cluster must give the same number; 1 is one engine for all.
    #[arg(long, env = "BATON_SHARDS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub shards: u16,
    /// Cluster mode: how long a command waits for an engine while none runs (a failover)
    /// before it fails with `api_not_answer`, in milliseconds [default: lease time + 3000].
    #[arg(long, env = "BATON_FAILOVER_WAIT_MS")]
    pub failover_wait_ms: Option<u64>,
    /// File of transfer-data encryption keys, `<id>:<key>` per line, the last one current
    /// (see SECURITY.md). Env BATON_DATA_KEY holds the same text directly.
    #[arg(long, env = "BATON_DATA_KEY_FILE")]
    pub data_key_file: Option<PathBuf>,
    /// Serve HTTPS and WSS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (unencrypted).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// File holding the server key (64 hex characters), which signs chat grants; every
    /// cluster node needs the same. Env BATON_SERVER_KEY holds the key directly.
    /// [default: <data dir>/server.key, made on first start]
    #[arg(long, env = "BATON_SERVER_KEY_FILE")]
    pub server_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// Directory for the embedded database. Not `baton serve`'s `./baton-data`: the demo
    /// seeds known passwords and a known ingress token.
    #[arg(long, default_value = "./baton-demo-data")]
    pub data_dir: PathBuf,
    /// Serve HTTPS and WSS with a self-signed certificate for localhost and 127.0.0.1, made
    /// on first use and kept in the data directory.
    #[arg(long)]
    pub tls: bool,
    /// Another origin allowed to embed the widget with integration key `test-adapter`
    /// (Bright Pattern's example integration), e.g. `http://localhost:8080`. Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
}

/// Builds settings from defaults, the config file, then flags.
pub fn settings(args: &ServeArgs) -> Result<Settings, String> {
    let mut s = Settings::default();
    if let Some(path) = &args.config {
        let file = ConfigFile::load(path).map_err(|e| e.to_string())?;
        if let Some(v) = file.listen {
            s.listen = v;
        }
        if let Some(v) = &file.data_dir {
            s.data_dir = v.clone();
        }
        if let Some(v) = &file.admin_token {
            s.admin_token = Some(Secret::new(v.clone()));
        }
        if let Some(v) = file.session_ttl_secs {
            s.session_ttl_secs = v;
        }
        if let Some(v) = file.disconnect_grace_ms {
            s.disconnect_grace_ms = v;
        }
        if let Some(v) = file.limits {
            s.limits = v;
        }
        if let Some(v) = file.public_limits {
            s.public_limits = v;
        }
        if let Some(v) = file.interaction_limits {
            s.interaction_limits = v;
        }
        if let Some(v) = &file.attachments {
            if let Some(t) = v.unknown_type() {
                return Err(format!(
                    "{}: [attachments] types: {t:?} is not a type the server can recognise (one of {})",
                    path.display(),
                    baton_server::http::attachments::KNOWN_TYPES.join(", ")
                ));
            }
            s.attachments = v.clone();
        }
        if let Some(v) = &file.media {
            s.media = v.clone();
        }
        if let Some(v) = &file.server_key_file {
            s.server_key = Some(server_key_file(v)?);
        }
        if let Some(v) = &file.data_key_file {
            s.data_cipher = Some(DataCipher::from_file(v).map_err(|e| e.to_string())?);
        }
        if let (Some(db), Some(nats)) = (&file.database, &file.nats) {
            s.cluster = Some(ClusterSettings::new(db.clone(), nats.clone()));
        }
        s.seed = file;
    }
    if let Some(v) = args.listen {
        s.listen = v;
    }
    if let Some(v) = &args.data_dir {
        s.data_dir = v.clone();
    }
    if let Some(v) = &args.admin_token {
        s.admin_token = Some(Secret::new(v.clone()));
    }
    if let Some(v) = args.disconnect_grace_ms {
        s.disconnect_grace_ms = v;
    }
    if let (Some(db), Some(nats)) = (&args.database, &args.nats) {
        s.cluster = Some(ClusterSettings::new(db.clone(), nats.clone()));
    }
    if let Some(cluster) = s.cluster.as_mut() {
        cluster.database_ca_file = s.seed.database_ca_file.clone();
        cluster.nats_tls = s.seed.nats_tls.unwrap_or(false);
        cluster.nats_ca_file = s.seed.nats_ca_file.clone();
        cluster.nats_credentials_file = args
            .nats_credentials
            .clone()
            .or(s.seed.nats_credentials_file.clone());
        cluster.schema = args.database_schema.clone().or(cluster.schema.take());
        cluster.node_id = args.node_id.or(cluster.node_id);
        cluster.name = args.cluster_name.clone();
        cluster.shards = args.shards;
        cluster.failover_wait_ms = args.failover_wait_ms.or(cluster.failover_wait_ms);
    }
    if std::env::var("BATON_TEST_FAULTS").is_ok_and(|v| v == "1") {
        tracing::warn!("BATON_TEST_FAULTS=1: fault-injection routes are on; never in production");
        s.test_faults = true;
    }
    if let Some(cipher) = data_cipher(args)? {
        s.data_cipher = Some(cipher);
    }
    if let Some(path) = &args.server_key_file {
        s.server_key = Some(server_key_file(path)?);
    } else if let Ok(text) = std::env::var("BATON_SERVER_KEY")
        && !text.trim().is_empty()
    {
        s.server_key =
            Some(ServerKey::from_hex(&text, "BATON_SERVER_KEY").map_err(|e| e.to_string())?);
    }
    // The flags replace the file's `[tls]` as a pair (clap makes them come together).
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => s.seed.tls.as_ref().map(|f| (f.cert.clone(), f.key.clone())),
    };
    if let Some((cert, key)) = tls {
        s.tls = Some(TlsConfig::load(&cert, &key).map_err(|e| e.to_string())?);
    }
    Ok(s)
}

fn server_key_file(path: &std::path::Path) -> Result<ServerKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the server key {}: {e}", path.display()))?;
    ServerKey::from_hex(&text, &path.display().to_string()).map_err(|e| e.to_string())
}

/// Transfer-data keys: `--data-key-file` / `BATON_DATA_KEY_FILE`, else `BATON_DATA_KEY`,
/// else the config file's `data_key_file` (already loaded), else none.
fn data_cipher(args: &ServeArgs) -> Result<Option<DataCipher>, String> {
    if let Some(path) = &args.data_key_file {
        return DataCipher::from_file(path)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    match std::env::var("BATON_DATA_KEY") {
        Ok(text) if !text.trim().is_empty() => DataCipher::parse(&text)
            .map(Some)
            .map_err(|e| format!("BATON_DATA_KEY: {e}")),
        _ => Ok(None),
    }
}

pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Commands::Serve(args) => {
            let app = Application::build(settings(&args)?)
                .await
                .map_err(|e| e.to_string())?;
            announce(&app);
            app.run_until(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Commands::Demo(args) => crate::demo::run(args).await,
        Commands::Bench(args) => crate::bench::run(args).await,
    }
}

/// The line scripts wait for: the address actually bound.
pub fn announce(app: &Application) {
    let scheme = if app.state().settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("Baton listening on {scheme}://{}", app.local_addr());
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod attachment_config_tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn load(toml: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.toml");
        std::fs::write(&path, toml).unwrap();
        let cli = Cli::parse_from(["baton", "--config", path.to_str().unwrap()]);
        settings(&cli.serve)
    }

    #[test]
    fn an_attachment_type_the_server_cannot_sniff_names_the_file_and_the_key() {
        let e = load("[attachments]\ntypes = [\"application/x-msdownload\"]\n").unwrap_err();
        assert!(e.contains("baton.toml"), "{e}");
        assert!(e.contains("[attachments] types"), "{e}");
        let s = load("[attachments]\nmax_bytes = 1000\ntypes = [\"image/png\"]\n").unwrap();
        assert_eq!(s.attachments.max_bytes, 1000);
        assert_eq!(s.attachments.types, vec!["image/png".to_owned()]);
    }
}
