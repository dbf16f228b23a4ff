//! Settings: built-in defaults, then `baton.toml`, then command-line flags and environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A secret that never prints.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
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
    /// How long an HTTP request may take to arrive, headers and body, counted from the
    /// connection's opening or the request's first byte; also how long a response may stall
    /// unread. Slower connections are closed. Quiet keep-alive connections and open
    /// WebSockets are not timed (see `idle`).
    pub http_idle_timeout_ms: u64,
    /// TCP connections a node holds open at once, WebSockets included; more wait in the
    /// kernel's accept queue until one closes, so a flood of connections costs no more
    /// file descriptors than this. Keep it above `max_connections` plus the customers'
    /// socket pool, and below the process's open-file limit.
    pub max_http_connections: usize,
    /// CRM records (`addInteractionAssociatedObject`, `startCall`'s objects) one interaction
    /// holds; more get `payload_too_large`.
    pub max_associated_objects: usize,
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
            http_idle_timeout_ms: 60_000,
            max_http_connections: 32_768,
            max_associated_objects: 100,
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
    /// Limits on the public, customer-facing side (`[public_limits]`).
    pub public_limits: crate::guard::PublicLimits,
    /// Caps on messages, notes, variables and queues (`[interaction_limits]`).
    pub interaction_limits: baton_core::InteractionLimits,
    /// Size and type limits of chat attachments (`[attachments]`, decision 0014).
    pub attachments: crate::http::attachments::AttachmentLimits,
    /// Calls' audio: UDP port, host candidate addresses, limits (`[media]`, docs/voice.md).
    pub media: crate::media::MediaSettings,
    /// The server key (`server_key_file`, `BATON_SERVER_KEY`); `None` = `<data dir>/server.key`.
    pub server_key: Option<crate::guard::ServerKey>,
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
            public_limits: crate::guard::PublicLimits::default(),
            interaction_limits: baton_core::InteractionLimits::default(),
            attachments: Default::default(),
            media: Default::default(),
            server_key: None,
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
    /// PEM roots for PostgreSQL TLS (`?sslmode=require` in `database`).
    pub database_ca_file: Option<PathBuf>,
    /// Require TLS to NATS.
    pub nats_tls: Option<bool>,
    /// PEM roots for NATS TLS.
    pub nats_ca_file: Option<PathBuf>,
    /// NATS credentials (`.creds`) file.
    pub nats_credentials_file: Option<PathBuf>,
    /// `[public_limits]`: rate and socket limits for customers (see `guard`).
    pub public_limits: Option<crate::guard::PublicLimits>,
    /// `[interaction_limits]`: message, note, variable and queue caps.
    pub interaction_limits: Option<baton_core::InteractionLimits>,
    /// `[attachments]`: size limit and type allow-list of chat attachments.
    pub attachments: Option<crate::http::attachments::AttachmentLimits>,
    /// `[media]`: calls' audio (docs/voice.md).
    pub media: Option<crate::media::MediaSettings>,
    /// File holding the server key (64 hex characters); the same on every cluster node.
    pub server_key_file: Option<PathBuf>,
    pub tenants: Vec<TenantConfig>,
    /// The file this came from, for errors found while applying it.
    #[serde(skip)]
    pub origin: Option<String>,
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
    /// Replaces the stored list at each start when given.
    pub not_ready_reasons: Option<Vec<String>>,
    /// Replaces the stored list at each start when given.
    pub did_numbers: Option<Vec<DidNumberConfig>>,
    /// Each team named here is created or replaced at start; others are left alone.
    pub teams: Vec<TeamConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DidNumberConfig {
    pub number: String,
    #[serde(default)]
    pub is_sms: bool,
    #[serde(default = "yes")]
    pub is_voice: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    pub name: String,
    /// Default: true when the team has supervisors.
    #[serde(default)]
    pub is_supervised: Option<bool>,
    /// Usernames.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub supervisors: Vec<String>,
}

/// One disposition of a service, as the config file and the admin API
/// (`PUT …/services/{service}/dispositions`) both give it. Other fields are ignored, so a
/// list read from the API (each entry with its `id`) can be put back as it is.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, utoipa::ToSchema)]
pub struct DispositionEntry {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: baton_protocol::DispositionType,
}

impl From<DispositionEntry> for baton_core::directory::DispositionInput {
    fn from(d: DispositionEntry) -> Self {
        Self {
            code: d.code,
            name: d.name,
            kind: d.kind,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettingsConfig {
    pub transfer_data_timeout_ms: Option<u64>,
    pub transfer_data_max_bytes: Option<usize>,
    pub retention_secs: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    pub channels: Vec<baton_protocol::Channel>,
    #[serde(default)]
    pub ring_timeout_ms: Option<u64>,
    /// Default: true when `dispositions` are given.
    #[serde(default)]
    pub use_dispositions: Option<bool>,
    #[serde(default)]
    pub require_disposition: Option<bool>,
    /// With `use_dispositions` and `require_disposition`: replaces the stored ones at each
    /// start when any of the three is given.
    #[serde(default)]
    pub dispositions: Option<Vec<DispositionEntry>>,
    /// Customers waiting at most; more are refused (`rate_limited`). 0 = no limit.
    #[serde(default)]
    pub max_queue_length: Option<u32>,
    /// Longest unanswered wait, in milliseconds; then the chat ends. 0 = no limit.
    #[serde(default)]
    pub max_queue_wait_ms: Option<u64>,
}

impl ServiceConfig {
    /// Whether the file says anything about this service's dispositions.
    pub fn sets_dispositions(&self) -> bool {
        self.use_dispositions.is_some()
            || self.require_disposition.is_some()
            || self.dispositions.is_some()
    }
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

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// What `getConfig` answers this integration's hosts; replaces the stored one when given.
    #[serde(default)]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
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
        let mut file = file;
        file.validate().map_err(|message| ConfigError::Invalid {
            path: origin.to_owned(),
            message,
        })?;
        file.origin = Some(origin.to_owned());
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
            check_ranges(t)?;
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
            t.validate_desk()?;
        }
        if let Some(media) = &self.media {
            crate::ice::check(media)?;
        }
        Ok(())
    }
}

impl TenantConfig {
    /// The desk keys, checked before anything is applied; errors name the TOML key.
    fn validate_desk(&self) -> Result<(), String> {
        let key = |k: &str| format!("tenants.{}.{k}", self.name);
        let mut seen = std::collections::HashSet::new();
        for r in self.not_ready_reasons.iter().flatten() {
            if r.trim().is_empty() {
                return Err(format!("{}: a reason is empty", key("not_ready_reasons")));
            }
            if !seen.insert(r.to_lowercase()) {
                return Err(format!(
                    "{}: {r:?} is listed twice",
                    key("not_ready_reasons")
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for d in self.did_numbers.iter().flatten() {
            let id = baton_core::directory::did_id(&d.number);
            if id == "did-" {
                return Err(format!(
                    "{}: {:?} has no digits",
                    key("did_numbers"),
                    d.number
                ));
            }
            if !seen.insert(id) {
                return Err(format!(
                    "{}: {:?} is listed twice",
                    key("did_numbers"),
                    d.number
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for team in &self.teams {
            if team.name.trim().is_empty() {
                return Err(format!("{}: a team has an empty name", key("teams")));
            }
            if team
                .name
                .eq_ignore_ascii_case(baton_core::directory::ALL_TEAM)
            {
                return Err(format!("{}: team \"all\" is built in", key("teams")));
            }
            if !seen.insert(team.name.clone()) {
                return Err(format!(
                    "{}: {:?} is declared twice",
                    key("teams"),
                    team.name
                ));
            }
        }
        for s in &self.services {
            let key = key(&format!("services.{}", s.name));
            let list = s.dispositions.as_deref().unwrap_or_default();
            if s.require_disposition == Some(true)
                && (list.is_empty() || s.use_dispositions == Some(false))
            {
                return Err(format!(
                    "{key}.require_disposition: needs use_dispositions and at least one disposition"
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for d in list {
                if d.code.trim().is_empty() || d.name.trim().is_empty() {
                    return Err(format!("{key}.dispositions: a code or name is empty"));
                }
                if !seen.insert(d.code.to_lowercase()) {
                    return Err(format!(
                        "{key}.dispositions: code {:?} is listed twice",
                        d.code
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Range checks the admin API also makes, here with the TOML key that is wrong, so a bad
/// file fails at start with its own words instead of the REST field names.
fn check_ranges(t: &TenantConfig) -> Result<(), String> {
    use baton_core::TenantSettings;
    fn out_of<T: std::fmt::Display + PartialOrd>(
        key: String,
        value: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<(), String> {
        if range.contains(&value) {
            return Ok(());
        }
        Err(format!(
            "{key} must be {}..={}, got {value}",
            range.start(),
            range.end()
        ))
    }
    let tenant = format!("[[tenants]] name = {:?}", t.name);
    if let Some(s) = &t.settings {
        if let Some(v) = s.transfer_data_timeout_ms {
            out_of(
                format!("{tenant}: settings.transfer_data_timeout_ms"),
                v,
                TenantSettings::TIMEOUT_RANGE,
            )?;
        }
        if let Some(v) = s.transfer_data_max_bytes {
            out_of(
                format!("{tenant}: settings.transfer_data_max_bytes"),
                v,
                1..=TenantSettings::MAX_BYTES_LIMIT,
            )?;
        }
    }
    for s in &t.services {
        if let Some(v) = s.ring_timeout_ms {
            out_of(
                format!(
                    "{tenant}, [[tenants.services]] name = {:?}: ring_timeout_ms",
                    s.name
                ),
                v,
                1_000..=600_000,
            )?;
        }
    }
    for a in &t.agents {
        if let Some(v) = a.max_chats {
            out_of(
                format!(
                    "{tenant}, [[tenants.agents]] username = {:?}: max_chats",
                    a.username
                ),
                v,
                1..=50,
            )?;
        }
    }
    Ok(())
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
    fn a_value_out_of_range_names_the_file_and_the_toml_key() {
        let text =
            "[[tenants]]\nname = \"demo\"\n[tenants.settings]\ntransfer_data_timeout_ms = 5\n";
        let err = ConfigFile::parse(text, "/etc/baton.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "config file /etc/baton.toml: [[tenants]] name = \"demo\": \
             settings.transfer_data_timeout_ms must be 100..=30000, got 5"
        );
        let text = "[[tenants]]\nname = \"demo\"\n[[tenants.services]]\nname = \"Sales\"\nchannels = [\"chat\"]\nring_timeout_ms = 10\n";
        let err = ConfigFile::parse(text, "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("name = \"Sales\": ring_timeout_ms must be 1000..=600000, got 10"),
            "{err}"
        );
    }

    #[test]
    fn media_ice_servers_turn_secret_and_quality_parse_and_are_checked() {
        let text = "[media]\nice_servers = [\"stun:s.example.com\", \"turns:t.example.com:5349\"]\n\
                    turn_secret = \"0123456789abcdef0123\"\nturn_credential_secs = 600\n\
                    [media.quality]\nmax_packet_loss_percent = 8\n";
        let file = ConfigFile::parse(text, "baton.toml").unwrap();
        let media = file.media.unwrap();
        assert_eq!(media.turn_credential_secs, 600);
        assert_eq!(media.quality.max_packet_loss_percent, 8);
        assert_eq!(
            media.quality.max_jitter_ms, 30,
            "the others keep their defaults"
        );
        assert!(
            !format!("{media:?}").contains("0123456789abcdef0123"),
            "the secret never prints"
        );
        let err = ConfigFile::parse("[media]\nice_servers = [\"turn:t\"]\n", "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("turn_secret is not set"), "{err}");
    }

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
    fn desk_keys_parse_and_their_mistakes_name_the_key() {
        let text = r#"
[[tenants]]
name = "acme"
not_ready_reasons = ["Lunch", "Meeting"]
did_numbers = [{ number = "+1 555 0100", is_sms = true }]
[[tenants.services]]
name = "Support"
channels = ["chat"]
require_disposition = true
dispositions = [{ code = "ok", name = "Resolved", type = "SUCCESS" }]
[[tenants.teams]]
name = "Tier 1"
members = ["alice"]
[[tenants.integrations]]
key = "crm"
name = "CRM"
config = { theme = "dark", pages = 3 }
"#;
        let file = ConfigFile::parse(text, "baton.toml").unwrap();
        let t = &file.tenants[0];
        assert_eq!(t.not_ready_reasons.as_ref().unwrap().len(), 2);
        assert!(t.did_numbers.as_ref().unwrap()[0].is_voice);
        assert!(t.services[0].sets_dispositions());
        assert_eq!(t.integrations[0].config.as_ref().unwrap()["pages"], 3);
        assert_eq!(file.origin.as_deref(), Some("baton.toml"));

        let bad = text.replace("\"SUCCESS\"", "\"GREAT\"");
        let err = ConfigFile::parse(&bad, "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("baton.toml, line 10") && err.contains("GREAT"),
            "{err}"
        );
        let bad = text.replace(
            "dispositions = [{ code = \"ok\", name = \"Resolved\", type = \"SUCCESS\" }]",
            "dispositions = []",
        );
        let err = ConfigFile::parse(&bad, "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("baton.toml: tenants.acme.services.Support.require_disposition"),
            "{err}"
        );
        let bad = text.replace("\"Tier 1\"", "\"all\"");
        let err = ConfigFile::parse(&bad, "baton.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tenants.acme.teams: team \"all\" is built in"),
            "{err}"
        );
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
