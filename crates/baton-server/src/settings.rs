//! Settings: built-in defaults, then `baton.toml`, then command-line flags and environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A secret that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Every limit the server enforces. Each is configurable and answered with a protocol error.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket text frame answered normally; larger ones get `payload_too_large`.
    /// Frames over twice this size close the connection (close code 1009).
    pub max_frame_bytes: usize,
    /// Requests a connection may have waiting for an answer; more get `rate_limited`.
    pub max_pending_requests: usize,
    /// Frames queued for one socket; a client that lets more pile up is disconnected.
    pub send_queue_frames: usize,
    /// Largest REST request body; larger ones get HTTP 413 `payload_too_large`.
    pub max_body_bytes: usize,
    /// Failed logins per minute for one tenant and username from one source address; more
    /// get HTTP 429 `rate_limited` without their password being checked.
    pub login_attempts_per_minute: u32,
    /// Failed logins per minute for one tenant and username from all addresses together.
    pub login_failures_per_account_per_minute: u32,
    /// Failed logins per minute from one source address (IPv6: its /64), any username.
    pub login_failures_per_address_per_minute: u32,
    /// Login attempts per minute for the whole server, failed or not.
    pub login_attempts_global_per_minute: u32,
    /// Keys each login limiter table may hold; when full the oldest window is dropped.
    pub login_limiter_max_keys: usize,
    /// Threads that hash and check passwords (0: one per core).
    pub password_hash_threads: usize,
    /// Logins that may wait for a password thread; more get HTTP 429 `rate_limited` at once.
    pub password_hash_queue: usize,
    /// Open WebSockets (agents and customers) per node; more are refused with HTTP 503.
    pub max_connections: usize,
    /// How long a new WebSocket may take to say hello.
    pub hello_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 256 * 1024,
            max_pending_requests: 64,
            send_queue_frames: 1024,
            max_body_bytes: 1024 * 1024,
            login_attempts_per_minute: 10,
            login_failures_per_account_per_minute: 100,
            login_failures_per_address_per_minute: 60,
            login_attempts_global_per_minute: 6000,
            login_limiter_max_keys: 10_000,
            password_hash_threads: 0,
            password_hash_queue: 64,
            max_connections: 20_000,
            hello_timeout_ms: 10_000,
        }
    }
}

/// What the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub admin_token: Option<Secret>,
    pub limits: Limits,
    /// How long an agent session token is valid.
    pub session_ttl_secs: u64,
    /// How long an agent whose socket dropped keeps their login and interactions.
    pub disconnect_grace_ms: u64,
    /// How often retention deletes old transfer data.
    pub purge_interval_secs: u64,
    /// Tenants, services, agents and integrations to create at start if missing.
    pub seed: ConfigFile,
    /// Encrypts transfer-data content at rest (`--data-key-file`, `BATON_DATA_KEY`);
    /// `None` stores it as plaintext. See SECURITY.md.
    pub data_cipher: Option<baton_store::DataCipher>,
    /// Serve HTTPS and WSS instead of HTTP and WS on `listen` (`--tls-cert`, `--tls-key`).
    pub tls: Option<crate::tls::TlsConfig>,
    /// Cluster mode (PostgreSQL + NATS) instead of the embedded store.
    pub cluster: Option<crate::cluster::ClusterSettings>,
    /// End the process (status 70) when the engine panics or a commit fails. Off only for
    /// tests that embed the server and check `/healthz` afterwards.
    pub exit_on_engine_failure: bool,
    /// Test-only fault injection (`BATON_TEST_FAULTS=1`): adds
    /// `POST /api/v1/admin/debug/engine-panic` (admin token). Never set it in production.
    pub test_faults: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7878".parse().expect("valid"),
            data_dir: PathBuf::from("./baton-data"),
            admin_token: None,
            limits: Limits::default(),
            session_ttl_secs: 12 * 3600,
            disconnect_grace_ms: 60_000,
            purge_interval_secs: 60,
            seed: ConfigFile::default(),
            data_cipher: None,
            tls: None,
            cluster: None,
            exit_on_engine_failure: true,
            test_faults: false,
        }
    }
}

/// `baton.toml`. Every field is optional; see `docs/configuration.md`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// File of transfer-data encryption keys (see SECURITY.md).
    pub data_key_file: Option<PathBuf>,
    pub session_ttl_secs: Option<u64>,
    pub disconnect_grace_ms: Option<u64>,
    pub limits: Option<Limits>,
    /// `[tls]`: serve HTTPS and WSS with these PEM files.
    pub tls: Option<TlsFiles>,
    /// `postgres://…`: cluster mode with this database (needs `nats`).
    pub database: Option<String>,
    /// `nats://…`: the cluster's message bus.
    pub nats: Option<String>,
    pub tenants: Vec<TenantConfig>,
}

/// `[tls]` of `baton.toml`. Relative paths are relative to the working directory.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1), unencrypted.
    pub key: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TenantConfig {
    pub name: String,
    pub settings: Option<TenantSettingsConfig>,
    pub services: Vec<ServiceConfig>,
    pub agents: Vec<AgentConfig>,
    pub integrations: Vec<IntegrationConfig>,
    /// Ingress tokens accepted for this tenant (stored hashed).
    pub ingress_tokens: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettingsConfig {
    pub transfer_data_timeout_ms: Option<u64>,
    pub transfer_data_max_bytes: Option<usize>,
    pub retention_secs: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    pub channels: Vec<baton_protocol::Channel>,
    #[serde(default)]
    pub ring_timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub extension: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub max_chats: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// A config file that could not be used: which file, where, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}, column {column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("config file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |span| line_col(text, span.start));
            ConfigError::Parse {
                path: origin.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        file.validate().map_err(|message| ConfigError::Invalid {
            path: origin.to_owned(),
            message,
        })?;
        Ok(file)
    }

    fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for (ti, t) in self.tenants.iter().enumerate() {
            if t.name.trim().is_empty() {
                return Err("a tenant has an empty name".into());
            }
            if !names.insert(&t.name) {
                return Err(format!("tenant {:?} is declared twice", t.name));
            }
            // Usernames log in case-insensitively, so "Alice" and "alice" are one agent.
            let mut usernames: std::collections::HashMap<String, usize> = Default::default();
            for (ai, a) in t.agents.iter().enumerate() {
                if let Some(first) = usernames.insert(a.username.to_lowercase(), ai) {
                    return Err(format!(
                        "tenants[{ti}].agents[{ai}].username {:?} duplicates tenants[{ti}].agents[{first}].username of tenant {:?} (usernames are case-insensitive)",
                        a.username, t.name
                    ));
                }
            }
            for a in &t.agents {
                for s in &a.services {
                    if !t.services.iter().any(|d| d.name.eq_ignore_ascii_case(s)) {
                        return Err(format!(
                            "agent {:?} of tenant {:?} names unknown service {s:?}",
                            a.username, t.name
                        ));
                    }
                }
                if a.password.len() < 4 {
                    return Err(format!(
                        "agent {:?} of tenant {:?} needs a password of at least 4 characters",
                        a.username, t.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_config_names_file_line_and_problem() {
        let text = "[[tenants]]\nname = \"a\"\nbogus = 1\n";
        let err = ConfigFile::parse(text, "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("baton.toml, line 3"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn unknown_service_of_agent_is_reported() {
        let text = "[[tenants]]\nname = \"a\"\n[[tenants.agents]]\nusername = \"x\"\npassword = \"secret\"\nservices = [\"Nope\"]\n";
        let err = ConfigFile::parse(text, "f.toml").unwrap_err().to_string();
        assert!(err.contains("unknown service \"Nope\""), "{err}");
    }

    #[test]
    fn duplicate_usernames_are_refused_with_the_file_and_key() {
        let agent =
            |u: &str| format!("[[tenants.agents]]\nusername = \"{u}\"\npassword = \"secret\"\n");
        let text = format!(
            "[[tenants]]\nname = \"a\"\n{}{}{}",
            agent("alice"),
            agent("bob"),
            agent("Alice")
        );
        let err = ConfigFile::parse(&text, "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("config file baton.toml"), "{err}");
        assert!(
            err.contains(
                "tenants[0].agents[2].username \"Alice\" duplicates tenants[0].agents[0].username"
            ),
            "{err}"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(****)");
    }

    #[test]
    fn tls_section_takes_a_cert_and_a_key() {
        let file =
            ConfigFile::parse("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n", "f.toml").unwrap();
        let tls = file.tls.unwrap();
        assert_eq!(
            (tls.cert, tls.key),
            (PathBuf::from("c.pem"), PathBuf::from("k.pem"))
        );
        let err = ConfigFile::parse("[tls]\ncert = \"c.pem\"\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `key`"), "{err}");
    }
}
