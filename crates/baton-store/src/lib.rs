//! Durable storage for Baton.
//!
//! # Layout
//! - [`Store`]: what the server needs from storage, as a trait, so PostgreSQL can follow
//!   the embedded default without touching the server.
//! - [`Batch`]: one transaction's worth of writes: the core's change set plus the writes
//!   that must land with it (credentials of a new agent, ingress tokens).
//! - [`cipher`]: [`DataCipher`], AES-256-GCM encryption at rest of transfer-data content.
//! - [`sqlite`]: the embedded implementation (WAL, `synchronous=FULL`, migrations at open).
//! - [`postgres`]: the cluster implementation, with the engine lease and optimistic versions.
//! - [`pg_tls`]: TLS to PostgreSQL (`sslmode=require`) with rustls.
//!
//! Records are stored as JSON bodies beside the few columns that are queried. Transfer-data
//! content lives in its own table so retention can delete it and keep the history. Chat
//! messages are appended as rows of `messages` (keyed by interaction and place, sealed like
//! transfer data), never rewritten with their interaction (decision 0016).

pub mod cipher;
pub mod pg_tls;
pub mod postgres;
pub mod sqlite;

use baton_core::{
    AgentId, Changes, Interaction, InteractionId, Leg, SessionId, Snapshot, TenantId,
};
use baton_protocol::Millis;

pub use self::postgres::PostgresStore;
pub use cipher::{CipherError, DataCipher};
pub use pg_tls::PgTlsOptions;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored record is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("this node no longer holds the engine lease")]
    Fenced,
    #[error("interaction {0} was changed by someone else")]
    VersionConflict(String),
    #[error(transparent)]
    Cipher(#[from] cipher::CipherError),
    #[error("the database schema is version {found}, newer than this binary ({supported})")]
    TooNew { found: i64, supported: i64 },
    #[error(transparent)]
    Tls(#[from] pg_tls::PgTlsError),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An agent's login secret. Only the argon2 hash is kept.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Credential {
    pub agent: AgentId,
    pub tenant: TenantId,
    pub username: String,
    pub password_hash: String,
}

/// A login session, found by the SHA-256 of its bearer token.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: String,
    pub session: SessionId,
    pub agent: AgentId,
    pub tenant: TenantId,
    pub expires_at: Millis,
    pub scope: SessionScope,
}

/// What a session may be used for. An agent has at most one session of each scope: a new
/// login replaces the previous one of its scope only, so a supervisor who opens the console
/// keeps their widget logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionScope {
    /// The agent widget and SDK (`POST /api/v1/sessions`, the agent socket).
    #[default]
    Agent,
    /// The supervisor console's REST feed only (`POST /api/v1/supervisor/sessions`).
    Supervisor,
}

impl SessionScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionScope::Agent => "agent",
            SessionScope::Supervisor => "supervisor",
        }
    }

    /// Reads the stored column; anything unknown is the narrower supervisor scope, which
    /// cannot drive an agent socket.
    pub fn parse(s: &str) -> Self {
        match s {
            "agent" => SessionScope::Agent,
            _ => SessionScope::Supervisor,
        }
    }
}

/// A file attached to a chat (decision 0014). The content is stored apart from this, base64
/// text sealed with the data cipher (the attachment id is the associated data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRecord {
    pub id: String,
    pub interaction: InteractionId,
    pub tenant: TenantId,
    pub name: String,
    /// The sniffed type, never the declared one.
    pub content_type: String,
    pub size: u64,
    /// `customer`, or the uploading agent's id.
    pub uploader: String,
    pub created_at: Millis,
}

/// Encodes attachment bytes for a TEXT column, sealed when there is a cipher.
pub(crate) fn seal_attachment(cipher: Option<&DataCipher>, id: &str, content: &[u8]) -> String {
    use base64::Engine as _;
    cipher::seal(
        cipher,
        &base64::engine::general_purpose::STANDARD.encode(content),
        id.as_bytes(),
    )
}

/// The inverse of [`seal_attachment`].
pub(crate) fn open_attachment(
    cipher: Option<&DataCipher>,
    id: &str,
    stored: String,
) -> StoreResult<Vec<u8>> {
    use base64::Engine as _;
    let text = cipher::open_stored(cipher, stored, id.as_bytes())?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| StoreError::Corrupt(serde::de::Error::custom(e)))
}

/// The associated data of a message row: the row's key, so a sealed message cannot be
/// moved to another interaction or place in the transcript.
pub(crate) fn message_aad(interaction: &str, seq: i64) -> Vec<u8> {
    format!("{interaction}#{seq}").into_bytes()
}

/// Encodes a chat message for its row in `messages`, sealed when there is a cipher.
pub(crate) fn seal_message(
    cipher: Option<&DataCipher>,
    interaction: &str,
    seq: i64,
    message: &baton_protocol::ChatMessage,
) -> StoreResult<String> {
    Ok(cipher::seal(
        cipher,
        &serde_json::to_string(message)?,
        &message_aad(interaction, seq),
    ))
}

/// The inverse of [`seal_message`].
pub(crate) fn open_message(
    cipher: Option<&DataCipher>,
    interaction: &str,
    seq: i64,
    stored: String,
) -> StoreResult<baton_protocol::ChatMessage> {
    let text = cipher::open_stored(cipher, stored, &message_aad(interaction, seq))?;
    Ok(serde_json::from_str(&text)?)
}

/// An interaction record as written before decision 0016, with its transcript inside:
/// the body without it, and the messages to append as rows. `None` when there is none.
pub(crate) fn split_transcript(
    body: &str,
) -> StoreResult<Option<(String, Vec<baton_protocol::ChatMessage>)>> {
    let mut record: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body)?;
    let messages = match record.remove("messages") {
        Some(serde_json::Value::Array(m)) if !m.is_empty() => m,
        _ => return Ok(None),
    };
    let messages = messages
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((serde_json::to_string(&record)?, messages)))
}

/// Writes that commit together, in one transaction and one fsync.
#[derive(Debug, Default)]
pub struct Batch {
    pub changes: Changes,
    pub credentials: Vec<Credential>,
    pub ingress_tokens: Vec<(String, TenantId)>,
    /// Sessions that stop being valid with this batch (logout, replaced by another login).
    pub revoked_sessions: Vec<SessionId>,
    /// Agents whose every session stops being valid (disabled by an admin).
    pub revoked_agent_sessions: Vec<AgentId>,
    /// Agents deleted by an admin: their record, credential and sessions go.
    pub deleted_agents: Vec<AgentId>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.credentials.is_empty()
            && self.ingress_tokens.is_empty()
            && self.revoked_sessions.is_empty()
            && self.revoked_agent_sessions.is_empty()
            && self.deleted_agents.is_empty()
    }
}

/// Everything the server asks of storage. Calls block; the server runs them off the async
/// threads.
pub trait Store: Send + Sync + 'static {
    /// Configuration and every live interaction, to rebuild the core at start.
    fn load(&self) -> StoreResult<Snapshot>;
    /// Commits a batch atomically and durably.
    fn commit(&self, batch: &Batch) -> StoreResult<()>;

    fn credential(&self, tenant: &TenantId, username: &str) -> StoreResult<Option<Credential>>;
    /// Stores a new session and, in the same transaction, deletes every other session of
    /// its agent: one agent has one valid token, and a crash cannot leave two.
    fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    fn revoke_session(&self, session: &SessionId) -> StoreResult<()>;
    /// Deletes the sessions that expired before `now`; returns how many.
    fn purge_expired_sessions(&self, now: Millis) -> StoreResult<usize>;
    /// A tenant's sessions, soonest to expire first (for the admin API).
    fn sessions(&self, tenant: &TenantId) -> StoreResult<Vec<SessionRecord>>;
    /// The hashes of a tenant's ingress tokens.
    fn ingress_tokens(&self, tenant: &TenantId) -> StoreResult<Vec<String>>;
    /// Deletes a tenant's ingress tokens whose hash starts with `hash_prefix`; how many.
    fn revoke_ingress_token(&self, tenant: &TenantId, hash_prefix: &str) -> StoreResult<usize>;
    fn ingress_tenant(&self, token_hash: &str) -> StoreResult<Option<TenantId>>;
    fn interaction_by_customer_token(&self, token_hash: &str)
    -> StoreResult<Option<InteractionId>>;

    /// Any interaction, live or completed, as last committed.
    fn interaction(&self, id: &InteractionId) -> StoreResult<Option<Interaction>>;
    /// An interaction's legs, oldest first, without their data.
    fn legs(&self, id: &InteractionId) -> StoreResult<Vec<Leg>>;
    /// The stored content of a leg's data, if not purged. For audits and tests.
    fn transfer_data(&self, leg: &baton_core::TransferId) -> StoreResult<Option<String>>;
    /// Stores an attachment's record and content, for an interaction that exists.
    fn put_attachment(&self, record: &AttachmentRecord, content: &[u8]) -> StoreResult<()>;
    /// An attachment of this interaction and its content, if not purged.
    fn attachment(
        &self,
        interaction: &InteractionId,
        id: &str,
    ) -> StoreResult<Option<(AttachmentRecord, Vec<u8>)>>;
    /// Removes an attachment whose announcing message could not be posted.
    fn delete_attachment(&self, id: &str) -> StoreResult<()>;
    /// The raw stored content column of an attachment, for audits and tests.
    fn attachment_stored(&self, id: &str) -> StoreResult<Option<String>>;
    /// Deletes the data content and attachments of a tenant's interactions completed before
    /// `before`; returns how many rows went.
    fn purge_transfer_data(&self, tenant: &TenantId, before: Millis) -> StoreResult<usize>;
    /// Cheap liveness probe for `/readyz`.
    fn ping(&self) -> StoreResult<()>;
}
