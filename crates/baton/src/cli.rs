//! Command-line interface. Settings are layered: defaults, then `--config`, then flags and
//! environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use baton_server::settings::Secret;
use baton_server::{Application, ConfigFile, Settings};
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
    #[command(subcommand)]
    pub command: Commands,
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
}

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// Directory for the embedded database.
    #[arg(long, default_value = "./baton-data")]
    pub data_dir: PathBuf,
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
    Ok(s)
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
    println!("Baton listening on http://{}", app.local_addr());
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
