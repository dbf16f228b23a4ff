//! The embedded store: one SQLite file in the data directory, WAL journal, full sync.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use baton_core::{
    Agent, Integration, Interaction, InteractionId, Leg, Service, SessionId, Snapshot, Tenant,
    TenantId, TransferId,
};
use baton_protocol::{Millis, TransferData};
use rusqlite::{Connection, OptionalExtension, params};

use crate::cipher::{self, DataCipher};
use crate::{
    AttachmentRecord, Batch, Credential, SessionRecord, SessionScope, Store, StoreError,
    StoreResult,
};

/// Migrations, applied in order at open. Append only.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE services (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE integrations (tenant TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE agents (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE credentials (
    agent_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL COLLATE NOCASE,
    password_hash TEXT NOT NULL, UNIQUE (tenant, username));
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, agent_id TEXT NOT NULL,
    tenant TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE ingress_tokens (token_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL);
CREATE TABLE interactions (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL, completed_at INTEGER,
    customer_token_hash TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX interactions_live ON interactions (completed_at);
CREATE INDEX interactions_customer ON interactions (customer_token_hash);
CREATE TABLE legs (
    id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, tenant TEXT NOT NULL, created_at INTEGER NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX legs_interaction ON legs (interaction_id, created_at);
CREATE TABLE transfer_data (leg_id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, data TEXT NOT NULL);
"#,
    r#"
CREATE TABLE store_flags (name TEXT PRIMARY KEY);
"#,
    r#"
CREATE TABLE attachments (
    id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL,
    content_type TEXT NOT NULL, size INTEGER NOT NULL, uploader TEXT NOT NULL,
    created_at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX attachments_interaction ON attachments (interaction_id);
"#,
    r#"
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'agent';
"#,
    // Chat messages as appended rows (decision 0016); `move_transcripts_into_rows` then
    // moves the transcripts of existing records here, in the same transaction.
    r#"
CREATE TABLE messages (
    interaction_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (interaction_id, seq)) WITHOUT ROWID;
"#,
];

/// The schema version that created `messages`.
const MESSAGES_TABLE: usize = 5;

pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Encrypts transfer-data content at rest; `None` stores it as plaintext.
    cipher: Option<DataCipher>,
}

impl SqliteStore {
    /// Opens (creating if needed) `baton.db` in `dir` and runs pending migrations.
    /// Transfer data is stored as plaintext; see [`open_with`](Self::open_with).
    pub fn open(dir: &Path) -> StoreResult<Self> {
        Self::open_with(dir, None)
    }

    /// Opens the store; with a cipher, transfer-data content is encrypted at rest, and rows
    /// written as plaintext or with an older key are re-encrypted with the current key.
    pub fn open_with(dir: &Path, cipher: Option<DataCipher>) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let probe = dir.join(".write-test");
        std::fs::write(&probe, b"ok").map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let _ = std::fs::remove_file(&probe);
        let path = dir.join("baton.db");
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content (retention, re-encryption) is overwritten, not left in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&conn, cipher.as_ref())?;
        let store = Self {
            conn: Mutex::new(conn),
            path,
            cipher,
        };
        match &store.cipher {
            Some(c) => {
                let rewritten = store.reencrypt_transfer_data()?;
                tracing::info!(
                    current_key = c.current_key_id(),
                    keys = c.key_ids().len(),
                    rewritten,
                    "transfer data is encrypted at rest"
                );
            }
            None => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| {
                    tracing::warn!(
                        "transfer data is stored unencrypted: set --data-key-file or BATON_DATA_KEY (see SECURITY.md)"
                    )
                });
            }
        }
        Ok(store)
    }

    /// Re-encrypts every stored transfer-data row that was written with a key other than
    /// the current one, then truncates the WAL so the old bytes leave the disk. Plaintext
    /// rows are encrypted only the first time a key is configured (the store remembers it);
    /// after that a plaintext row was not written by Baton and is left to be refused on
    /// read. Returns how many rows were rewritten. Without a cipher, does nothing.
    pub fn reencrypt_transfer_data(&self) -> StoreResult<usize> {
        let Some(c) = &self.cipher else {
            return Ok(0);
        };
        let rewritten = self.with(|conn| {
            let tx = conn.transaction()?;
            let upgraded: bool = tx
                .query_row(
                    "SELECT 1 FROM store_flags WHERE name = 'transfer_data_encrypted'",
                    [],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            let rows: Vec<(String, String)> = {
                let mut stmt = tx.prepare("SELECT leg_id, data FROM transfer_data")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut n = 0;
            let mut planted = 0;
            for (leg, stored) in rows {
                if c.is_current(&stored) {
                    continue;
                }
                let plain = if cipher::is_sealed(&stored) {
                    c.decrypt_with_aad(&stored, leg.as_bytes())?
                } else if !upgraded {
                    stored
                } else {
                    planted += 1;
                    continue;
                };
                tx.execute(
                    "UPDATE transfer_data SET data = ?1 WHERE leg_id = ?2",
                    params![c.encrypt_with_aad(&plain, leg.as_bytes()), leg],
                )?;
                n += 1;
            }
            if planted > 0 {
                tracing::error!(
                    rows = planted,
                    "plaintext transfer-data rows found in an encrypted store; they are refused on read"
                );
            }
            n += reencrypt_attachments(&tx, c)?;
            n += reencrypt_messages(&tx, c)?;
            tx.execute(
                "INSERT OR IGNORE INTO store_flags (name) VALUES ('transfer_data_encrypted')",
                [],
            )?;
            tx.commit()?;
            if n > 0 {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Ok(n)
        })?;
        Ok(rewritten)
    }

    fn open_data(&self, leg: &str, stored: String) -> StoreResult<String> {
        Ok(cipher::open_stored(
            self.cipher.as_ref(),
            stored,
            leg.as_bytes(),
        )?)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }
}

/// The attachments' part of [`SqliteStore::reencrypt_transfer_data`], with a flag of its own
/// (attachments came after transfer-data encryption): rows under an older key, and
/// plaintext rows the first time a key is configured, are rewritten with the current key.
fn reencrypt_attachments(tx: &rusqlite::Transaction<'_>, c: &DataCipher) -> StoreResult<usize> {
    let upgraded = tx
        .query_row(
            "SELECT 1 FROM store_flags WHERE name = 'attachments_encrypted'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, data FROM attachments")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (id, stored) in rows {
        if c.is_current(&stored) {
            continue;
        }
        let plain = if cipher::is_sealed(&stored) {
            c.decrypt_with_aad(&stored, id.as_bytes())?
        } else if !upgraded {
            stored
        } else {
            tracing::error!(attachment = %id, "a plaintext attachment in an encrypted store is refused on read");
            continue;
        };
        tx.execute(
            "UPDATE attachments SET data = ?1 WHERE id = ?2",
            params![c.encrypt_with_aad(&plain, id.as_bytes()), id],
        )?;
        n += 1;
    }
    tx.execute(
        "INSERT OR IGNORE INTO store_flags (name) VALUES ('attachments_encrypted')",
        [],
    )?;
    Ok(n)
}

/// The messages' part of [`SqliteStore::reencrypt_transfer_data`], like attachments with a
/// flag of its own. Only rows not under the current key are read.
fn reencrypt_messages(tx: &rusqlite::Transaction<'_>, c: &DataCipher) -> StoreResult<usize> {
    let upgraded = tx
        .query_row(
            "SELECT 1 FROM store_flags WHERE name = 'messages_encrypted'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    let current = format!("v1:{}:", c.current_key_id());
    let rows: Vec<(String, i64, String)> = {
        let mut stmt = tx.prepare(
            "SELECT interaction_id, seq, body FROM messages WHERE substr(body, 1, length(?1)) <> ?1",
        )?;
        let rows = stmt.query_map([&current], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (id, seq, stored) in rows {
        let message = if cipher::is_sealed(&stored) {
            crate::open_message(Some(c), &id, seq, stored)?
        } else if !upgraded {
            serde_json::from_str(&stored)?
        } else {
            tracing::error!(interaction = %id, seq, "a plaintext chat message in an encrypted store is refused on read");
            continue;
        };
        tx.execute(
            "UPDATE messages SET body = ?1 WHERE interaction_id = ?2 AND seq = ?3",
            params![crate::seal_message(Some(c), &id, seq, &message)?, id, seq],
        )?;
        n += 1;
    }
    tx.execute(
        "INSERT OR IGNORE INTO store_flags (name) VALUES ('messages_encrypted')",
        [],
    )?;
    Ok(n)
}

fn migrate(conn: &Connection, cipher: Option<&DataCipher>) -> StoreResult<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == MESSAGES_TABLE {
            move_transcripts_into_rows(&tx, cipher)?;
        }
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Moves every transcript still inside an interaction record into `messages`, and
/// rewrites the record without it. Runs once, with the migration that made the table.
fn move_transcripts_into_rows(
    tx: &rusqlite::Transaction<'_>,
    cipher: Option<&DataCipher>,
) -> StoreResult<()> {
    let records: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, body FROM interactions")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut moved = 0usize;
    for (id, body) in records {
        let Some((record, messages)) = crate::split_transcript(&body)? else {
            continue;
        };
        for (seq, m) in messages.iter().enumerate() {
            let seq = seq as i64;
            tx.execute(
                "INSERT INTO messages (interaction_id, seq, body) VALUES (?1, ?2, ?3)",
                params![id, seq, crate::seal_message(cipher, &id, seq, m)?],
            )?;
        }
        tx.execute(
            "UPDATE interactions SET body = ?1 WHERE id = ?2",
            params![record, id],
        )?;
        moved += messages.len();
    }
    if moved > 0 {
        tracing::info!(messages = moved, "chat transcripts moved into message rows");
    }
    Ok(())
}

/// The transcript of one interaction, oldest first.
fn messages_of(
    conn: &Connection,
    cipher: Option<&DataCipher>,
    id: &str,
) -> StoreResult<Vec<baton_protocol::ChatMessage>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, body FROM messages WHERE interaction_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, body) = row?;
        out.push(crate::open_message(cipher, id, seq, body)?);
    }
    Ok(out)
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn read_all<T: serde::de::DeserializeOwned>(conn: &Connection, sql: &str) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for body in rows {
        out.push(serde_json::from_str(&body?)?);
    }
    Ok(out)
}

impl Store for SqliteStore {
    fn load(&self) -> StoreResult<Snapshot> {
        self.with(|conn| {
            let tenants: Vec<Tenant> = read_all(conn, "SELECT body FROM tenants")?;
            let services: Vec<Service> = read_all(conn, "SELECT body FROM services")?;
            let integrations: Vec<Integration> = read_all(conn, "SELECT body FROM integrations")?;
            let agents: Vec<Agent> = read_all(conn, "SELECT body FROM agents")?;
            let mut interactions: Vec<Interaction> = read_all(
                conn,
                "SELECT body FROM interactions WHERE completed_at IS NULL",
            )?;
            for i in &mut interactions {
                let rows = messages_of(conn, self.cipher.as_ref(), i.id.as_str())?;
                if !rows.is_empty() {
                    i.messages = rows;
                }
            }
            let mut legs: Vec<Leg> = read_all(
                conn,
                "SELECT l.body FROM legs l JOIN interactions i ON i.id = l.interaction_id \
                 WHERE i.completed_at IS NULL ORDER BY l.created_at",
            )?;
            let mut data = conn.prepare("SELECT data FROM transfer_data WHERE leg_id = ?1")?;
            for leg in &mut legs {
                let text: Option<String> =
                    data.query_row([leg.id.as_str()], |r| r.get(0)).optional()?;
                leg.data = text
                    .map(|t| self.open_data(leg.id.as_str(), t))
                    .transpose()?
                    .map(TransferData::from_trusted);
            }
            Ok(Snapshot {
                tenants,
                services,
                integrations,
                agents,
                interactions,
                legs,
            })
        })
    }

    fn commit(&self, batch: &Batch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            let tx = conn.transaction()?;
            let c = &batch.changes;
            for t in &c.tenants {
                tx.prepare_cached("INSERT OR REPLACE INTO tenants (id, body) VALUES (?1, ?2)")?
                    .execute(params![t.id.as_str(), json(t)?])?;
            }
            for s in &c.services {
                tx.prepare_cached("INSERT OR REPLACE INTO services (id, tenant, body) VALUES (?1, ?2, ?3)")?
                    .execute(params![s.id.as_str(), s.tenant.as_str(), json(s)?])?;
            }
            for i in &c.integrations {
                tx.prepare_cached("INSERT OR REPLACE INTO integrations (tenant, key, body) VALUES (?1, ?2, ?3)")?
                    .execute(params![i.tenant.as_str(), i.key, json(i)?])?;
            }
            for a in &c.agents {
                tx.prepare_cached("INSERT OR REPLACE INTO agents (id, tenant, username, body) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![a.id.as_str(), a.tenant.as_str(), a.username, json(a)?])?;
            }
            for cred in &batch.credentials {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO credentials (agent_id, tenant, username, password_hash) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![cred.agent.as_str(), cred.tenant.as_str(), cred.username, cred.password_hash])?;
            }
            for (hash, tenant) in &batch.ingress_tokens {
                tx.prepare_cached("INSERT OR REPLACE INTO ingress_tokens (token_hash, tenant) VALUES (?1, ?2)")?
                    .execute(params![hash, tenant.as_str()])?;
            }
            for session in &batch.revoked_sessions {
                tx.prepare_cached("DELETE FROM sessions WHERE session_id = ?1")?
                    .execute([session.as_str()])?;
            }
            for agent in batch.revoked_agent_sessions.iter().chain(&batch.deleted_agents) {
                tx.prepare_cached("DELETE FROM sessions WHERE agent_id = ?1")?
                    .execute([agent.as_str()])?;
            }
            for agent in &batch.deleted_agents {
                tx.prepare_cached("DELETE FROM credentials WHERE agent_id = ?1")?
                    .execute([agent.as_str()])?;
                tx.prepare_cached("DELETE FROM agents WHERE id = ?1")?
                    .execute([agent.as_str()])?;
            }
            for i in &c.interactions {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO interactions (id, tenant, status, completed_at, customer_token_hash, version, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    i.id.as_str(),
                    i.tenant.as_str(),
                    i.status().as_str(),
                    i.completed_at,
                    i.customer_token_hash,
                    i.version as i64,
                    json(i)?
                ])?;
            }
            for m in &c.messages {
                let seq = m.seq as i64;
                let id = m.interaction.as_str();
                tx.prepare_cached(
                    "INSERT INTO messages (interaction_id, seq, body) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![id, seq, crate::seal_message(self.cipher.as_ref(), id, seq, &m.message)?])?;
            }
            for l in &c.legs {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO legs (id, interaction_id, tenant, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![l.id.as_str(), l.interaction.as_str(), l.tenant.as_str(), l.created_at, json(l)?])?;
            }
            for (leg, interaction, data) in &c.leg_data {
                tx.prepare_cached("INSERT OR IGNORE INTO transfer_data (leg_id, interaction_id, data) VALUES (?1, ?2, ?3)")?
                    .execute(params![
                        leg.as_str(),
                        interaction.as_str(),
                        cipher::seal(self.cipher.as_ref(), data.as_str(), leg.as_str().as_bytes())
                    ])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn credential(&self, tenant: &TenantId, username: &str) -> StoreResult<Option<Credential>> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT agent_id, username, password_hash FROM credentials WHERE tenant = ?1 AND username = ?2",
                    params![tenant.as_str(), username],
                    |r| {
                        Ok(Credential {
                            agent: baton_core::AgentId(r.get(0)?),
                            tenant: tenant.clone(),
                            username: r.get(1)?,
                            password_hash: r.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM sessions WHERE agent_id = ?1 AND scope = ?2",
                [s.agent.as_str(), s.scope.as_str()],
            )?;
            tx.execute(
                "INSERT INTO sessions (token_hash, session_id, agent_id, tenant, expires_at, scope) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![s.token_hash, s.session.as_str(), s.agent.as_str(), s.tenant.as_str(), s.expires_at, s.scope.as_str()],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn purge_expired_sessions(&self, now: Millis) -> StoreResult<usize> {
        self.with(|conn| Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?))
    }

    fn sessions(&self, tenant: &TenantId) -> StoreResult<Vec<SessionRecord>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT token_hash, session_id, agent_id, expires_at, scope FROM sessions WHERE tenant = ?1 ORDER BY expires_at",
            )?;
            let rows = stmt.query_map([tenant.as_str()], |r| {
                Ok(SessionRecord {
                    token_hash: r.get(0)?,
                    session: SessionId(r.get(1)?),
                    agent: baton_core::AgentId(r.get(2)?),
                    tenant: tenant.clone(),
                    expires_at: r.get(3)?,
                    scope: SessionScope::parse(&r.get::<_, String>(4)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn ingress_tokens(&self, tenant: &TenantId) -> StoreResult<Vec<String>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT token_hash FROM ingress_tokens WHERE tenant = ?1 ORDER BY token_hash",
            )?;
            let rows = stmt.query_map([tenant.as_str()], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn revoke_ingress_token(&self, tenant: &TenantId, hash_prefix: &str) -> StoreResult<usize> {
        self.with(|conn| {
            Ok(conn.execute(
                "DELETE FROM ingress_tokens WHERE tenant = ?1 AND substr(token_hash, 1, ?3) = ?2",
                params![tenant.as_str(), hash_prefix, hash_prefix.len() as i64],
            )?)
        })
    }

    fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT session_id, agent_id, tenant, expires_at, scope FROM sessions WHERE token_hash = ?1",
                    [token_hash],
                    |r| {
                        Ok(SessionRecord {
                            token_hash: token_hash.to_owned(),
                            session: SessionId(r.get(0)?),
                            agent: baton_core::AgentId(r.get(1)?),
                            tenant: TenantId(r.get(2)?),
                            expires_at: r.get(3)?,
                            scope: SessionScope::parse(&r.get::<_, String>(4)?),
                        })
                    },
                )
                .optional()?)
        })
    }

    fn revoke_session(&self, session: &SessionId) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM sessions WHERE session_id = ?1",
                [session.as_str()],
            )?;
            Ok(())
        })
    }

    fn ingress_tenant(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT tenant FROM ingress_tokens WHERE token_hash = ?1",
                    [token_hash],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .map(TenantId))
        })
    }

    fn interaction_by_customer_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<InteractionId>> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT id FROM interactions WHERE customer_token_hash = ?1",
                    [token_hash],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .map(InteractionId))
        })
    }

    fn interaction(&self, id: &InteractionId) -> StoreResult<Option<Interaction>> {
        self.with(|conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM interactions WHERE id = ?1",
                    [id.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(body) = body else {
                return Ok(None);
            };
            let mut i: Interaction = serde_json::from_str(&body)?;
            let rows = messages_of(conn, self.cipher.as_ref(), id.as_str())?;
            if !rows.is_empty() {
                i.messages = rows;
            }
            Ok(Some(i))
        })
    }

    fn legs(&self, id: &InteractionId) -> StoreResult<Vec<Leg>> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT body FROM legs WHERE interaction_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([id.as_str()], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for body in rows {
                out.push(serde_json::from_str(&body?)?);
            }
            Ok(out)
        })
    }

    fn transfer_data(&self, leg: &TransferId) -> StoreResult<Option<String>> {
        let stored: Option<String> = self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT data FROM transfer_data WHERE leg_id = ?1",
                    [leg.as_str()],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        stored.map(|s| self.open_data(leg.as_str(), s)).transpose()
    }

    fn put_attachment(&self, r: &AttachmentRecord, content: &[u8]) -> StoreResult<()> {
        let data = crate::seal_attachment(self.cipher.as_ref(), &r.id, content);
        self.with(|conn| {
            conn.execute(
                "INSERT INTO attachments (id, interaction_id, tenant, name, content_type, size, uploader, created_at, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    r.id,
                    r.interaction.as_str(),
                    r.tenant.as_str(),
                    r.name,
                    r.content_type,
                    r.size as i64,
                    r.uploader,
                    r.created_at,
                    data
                ],
            )?;
            Ok(())
        })
    }

    fn attachment(
        &self,
        interaction: &InteractionId,
        id: &str,
    ) -> StoreResult<Option<(AttachmentRecord, Vec<u8>)>> {
        let row = self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT tenant, name, content_type, size, uploader, created_at, data FROM attachments \
                     WHERE id = ?1 AND interaction_id = ?2",
                    params![id, interaction.as_str()],
                    |r| {
                        Ok((
                            AttachmentRecord {
                                id: id.to_owned(),
                                interaction: interaction.clone(),
                                tenant: TenantId(r.get(0)?),
                                name: r.get(1)?,
                                content_type: r.get(2)?,
                                size: r.get::<_, i64>(3)? as u64,
                                uploader: r.get(4)?,
                                created_at: r.get(5)?,
                            },
                            r.get::<_, String>(6)?,
                        ))
                    },
                )
                .optional()?)
        })?;
        match row {
            Some((record, stored)) => {
                let content = crate::open_attachment(self.cipher.as_ref(), id, stored)?;
                Ok(Some((record, content)))
            }
            None => Ok(None),
        }
    }

    fn delete_attachment(&self, id: &str) -> StoreResult<()> {
        self.with(|conn| {
            conn.execute("DELETE FROM attachments WHERE id = ?1", params![id])?;
            Ok(())
        })
    }

    fn attachment_stored(&self, id: &str) -> StoreResult<Option<String>> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT data FROM attachments WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    fn purge_transfer_data(&self, tenant: &TenantId, before: Millis) -> StoreResult<usize> {
        self.with(|conn| {
            let n = conn.execute(
                "DELETE FROM transfer_data WHERE interaction_id IN \
                 (SELECT id FROM interactions WHERE tenant = ?1 AND completed_at IS NOT NULL AND completed_at < ?2)",
                params![tenant.as_str(), before],
            )? + conn.execute(
                "DELETE FROM attachments WHERE interaction_id IN \
                 (SELECT id FROM interactions WHERE tenant = ?1 AND completed_at IS NOT NULL AND completed_at < ?2)",
                params![tenant.as_str(), before],
            )?;
            // `secure_delete` zeroes the deleted cells in the pages written now; the older
            // copies of those pages still sit in the WAL until a checkpoint moves the
            // current pages into the database and the WAL is cut to zero bytes.
            if n > 0 {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Ok(n)
        })
    }

    fn ping(&self) -> StoreResult<()> {
        self.with(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:0101010101010101010101010101010101010101010101010101010101010101";
    const K2: &str = "k2:0202020202020202020202020202020202020202020202020202020202020202";
    const SECRET: &str = r#"{"caseId": "C-SECRET-1042",  "n": 1.50}"#;

    fn data_batch(leg: &str) -> Batch {
        let mut batch = Batch::default();
        batch.changes.leg_data.push((
            TransferId(leg.into()),
            InteractionId("i1".into()),
            TransferData::parse(SECRET, 1000).unwrap(),
        ));
        batch
    }

    fn files_contain(dir: &Path, needle: &str) -> bool {
        std::fs::read_dir(dir).unwrap().any(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
    }

    #[test]
    fn transfer_data_is_encrypted_at_rest_and_keys_rotate() {
        let dir = tempfile_dir("cipher");
        let cipher = |text: &str| Some(DataCipher::parse(text).unwrap());
        let leg = TransferId("leg-1".into());
        {
            let store = SqliteStore::open_with(&dir, cipher(K1)).unwrap();
            store.commit(&data_batch("leg-1")).unwrap();
            assert_eq!(store.transfer_data(&leg).unwrap().as_deref(), Some(SECRET));
            assert!(!files_contain(&dir, "C-SECRET"), "plaintext on disk");
        }
        // Rotation: k2 is appended and becomes current; the k1 row is rewritten with k2.
        {
            let store = SqliteStore::open_with(&dir, cipher(&format!("{K1}\n{K2}"))).unwrap();
            store.commit(&data_batch("leg-2")).unwrap();
            assert_eq!(store.transfer_data(&leg).unwrap().as_deref(), Some(SECRET));
        }
        // k1 can now be dropped; without k2 nothing is readable, and nothing is guessed.
        let store = SqliteStore::open_with(&dir, cipher(K2)).unwrap();
        assert_eq!(store.transfer_data(&leg).unwrap().as_deref(), Some(SECRET));
        drop(store);
        let err = SqliteStore::open_with(&dir, cipher(K1)).err().unwrap();
        assert!(err.to_string().contains("\"k2\""), "{err}");
        let store = SqliteStore::open(&dir).unwrap();
        assert!(store.transfer_data(&leg).is_err());
        assert!(!files_contain(&dir, "C-SECRET"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn attachments_are_encrypted_when_a_key_is_configured_and_follow_a_rotation() {
        let dir = tempfile_dir("attachments");
        let cipher = |text: &str| Some(DataCipher::parse(text).unwrap());
        let interaction = InteractionId("i-1".into());
        let record = AttachmentRecord {
            id: "att-1".into(),
            interaction: interaction.clone(),
            tenant: TenantId("acme".into()),
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            size: 15,
            uploader: "customer".into(),
            created_at: 1,
        };
        let raw = |store: &SqliteStore| store.attachment_stored("att-1").unwrap().unwrap();
        {
            let store = SqliteStore::open(&dir).unwrap();
            store.put_attachment(&record, b"C-SECRET-A-FILE").unwrap();
            assert!(!raw(&store).starts_with("v1:"));
        }
        for (keys, id) in [(K1.to_owned(), "k1"), (format!("{K1}\n{K2}"), "k2")] {
            let store = SqliteStore::open_with(&dir, cipher(&keys)).unwrap();
            assert!(
                raw(&store).starts_with(&format!("v1:{id}:")),
                "{}",
                raw(&store)
            );
            let (got, content) = store.attachment(&interaction, "att-1").unwrap().unwrap();
            assert_eq!(
                (got, content.as_slice()),
                (record.clone(), &b"C-SECRET-A-FILE"[..])
            );
        }
        let store = SqliteStore::open_with(&dir, cipher(K2)).unwrap();
        assert!(store.attachment(&interaction, "att-1").unwrap().is_some());
        assert!(
            store
                .attachment(&InteractionId("i-2".into()), "att-1")
                .unwrap()
                .is_none()
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn plaintext_rows_are_encrypted_when_a_key_is_first_configured() {
        let dir = tempfile_dir("upgrade");
        let leg = TransferId("leg-1".into());
        SqliteStore::open(&dir)
            .unwrap()
            .commit(&data_batch("leg-1"))
            .unwrap();
        let store = SqliteStore::open_with(&dir, Some(DataCipher::parse(K1).unwrap())).unwrap();
        assert_eq!(store.transfer_data(&leg).unwrap().as_deref(), Some(SECRET));
        let raw: String = store
            .with(|c| Ok(c.query_row("SELECT data FROM transfer_data", [], |r| r.get(0))?))
            .unwrap();
        assert!(raw.starts_with("v1:k1:"), "{raw}");
        drop(store);
        assert!(
            !files_contain(&dir, "C-SECRET"),
            "the old plaintext stayed on disk"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_plaintext_row_planted_in_an_encrypted_store_is_refused() {
        let dir = tempfile_dir("planted");
        let key = || Some(DataCipher::parse(K1).unwrap());
        let store = SqliteStore::open_with(&dir, key()).unwrap();
        store.commit(&data_batch("leg-1")).unwrap();
        // Someone with write access to the file puts a plaintext row in.
        store
            .with(|c| {
                Ok(c.execute(
                    "INSERT INTO transfer_data (leg_id, interaction_id, data) VALUES ('leg-2', 'i1', '{\"forged\":1}')",
                    [],
                )?)
            })
            .unwrap();
        let planted = TransferId("leg-2".into());
        let err = store.transfer_data(&planted).unwrap_err().to_string();
        assert!(err.contains("plaintext"), "{err}");
        drop(store);
        // A restart does not launder it: the one-time upgrade already ran.
        let store = SqliteStore::open_with(&dir, key()).unwrap();
        assert!(store.transfer_data(&planted).is_err());
        let leg = TransferId("leg-1".into());
        assert_eq!(store.transfer_data(&leg).unwrap().as_deref(), Some(SECRET));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_retention_purge_leaves_no_plaintext_in_the_database_or_the_wal() {
        let dir = tempfile_dir("purge");
        let store = SqliteStore::open(&dir).unwrap();
        let mut batch = data_batch("leg-1");
        batch.changes.tenants.push(Tenant {
            id: TenantId("t".into()),
            settings: Default::default(),
            desk: Default::default(),
        });
        store.commit(&batch).unwrap();
        store
            .with(|c| {
                Ok(c.execute(
                    "INSERT INTO interactions (id, tenant, status, completed_at, customer_token_hash, version, body) \
                     VALUES ('i1', 't', 'completed', 5, 'h', 1, '{}')",
                    [],
                )?)
            })
            .unwrap();
        assert!(
            files_contain(&dir, "C-SECRET"),
            "the test needs the plaintext on disk first"
        );
        assert_eq!(
            store
                .purge_transfer_data(&TenantId("t".into()), 10)
                .unwrap(),
            1
        );
        assert!(
            !files_contain(&dir, "C-SECRET"),
            "purged transfer data is still on disk (database or WAL)"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "baton-store-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn chat(text: &str, at: Millis) -> baton_protocol::ChatMessage {
        baton_protocol::ChatMessage {
            from: baton_protocol::MessageFrom::Customer,
            party_id: Some("customer".into()),
            name: "Carl".into(),
            text: text.into(),
            at,
            attachment: None,
        }
    }

    /// A live chat record as the core commits it (no transcript inside).
    fn live_chat(id: &str) -> Interaction {
        let body = serde_json::json!({
            "id": id, "tenant": "t", "channel": "chat", "service": "svc",
            "customer": {"name": "Carl"}, "notes": [],
            "created_at": 1, "completed_at": null, "customer_connected": true,
            "customer_on_hold": false, "customer_token_hash": "h", "queue": null,
            "parties": [], "skipped": [], "legs": [], "pending_leg": null, "version": 1,
            "attached_data": {}
        });
        serde_json::from_value(body).expect("an interaction record")
    }

    fn raw<T: rusqlite::types::FromSql>(store: &SqliteStore, sql: &str) -> T {
        store
            .with(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn a_chat_message_is_one_appended_row_and_the_record_is_not_rewritten() {
        let dir = tempfile_dir("append");
        let store = SqliteStore::open(&dir).unwrap();
        let mut first = Batch::default();
        first.changes.interactions.push(live_chat("i1"));
        store.commit(&first).unwrap();
        let record: String = raw(&store, "SELECT body FROM interactions");
        for seq in 0..50u64 {
            let mut batch = Batch::default();
            batch.changes.messages.push(baton_core::AppendedMessage {
                interaction: InteractionId("i1".into()),
                seq,
                message: chat(&format!("message {seq}"), seq as Millis),
            });
            store.commit(&batch).unwrap();
        }
        assert_eq!(raw::<i64>(&store, "SELECT count(*) FROM messages"), 50);
        assert_eq!(
            raw::<String>(&store, "SELECT body FROM interactions"),
            record
        );
        // A place in the transcript is written once: a second row there is refused.
        let mut again = Batch::default();
        again.changes.messages.push(baton_core::AppendedMessage {
            interaction: InteractionId("i1".into()),
            seq: 3,
            message: chat("forged", 3),
        });
        assert!(store.commit(&again).is_err());
        let live = store.load().unwrap().interactions;
        let texts: Vec<&str> = live[0].messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts.len(), 50);
        assert_eq!((texts[0], texts[49]), ("message 0", "message 49"));
        let stored = store
            .interaction(&InteractionId("i1".into()))
            .unwrap()
            .unwrap();
        assert_eq!(stored.messages, live[0].messages);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A data directory from before decision 0016: schema version 3, transcripts inside the
    /// interaction records.
    fn old_store_with_a_transcript(dir: &Path) -> Vec<baton_protocol::ChatMessage> {
        std::fs::create_dir_all(dir).unwrap();
        let conn = Connection::open(dir.join("baton.db")).unwrap();
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            .unwrap();
        for (i, sql) in MIGRATIONS[..MESSAGES_TABLE - 1].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_version (version) VALUES (?1)", [i + 1])
                .unwrap();
        }
        let transcript = vec![chat("C-SECRET hello", 10), chat("C-SECRET my order", 11)];
        let mut old = live_chat("i1");
        old.messages = transcript.clone();
        let body = serde_json::to_string(&old).unwrap();
        assert!(body.contains("C-SECRET my order"), "the old format");
        conn.execute(
            "INSERT INTO interactions (id, tenant, status, completed_at, customer_token_hash, version, body) \
             VALUES ('i1', 't', 'queued', NULL, 'h', 1, ?1)",
            [body],
        )
        .unwrap();
        transcript
    }

    #[test]
    fn an_old_record_with_its_transcript_inside_loads_and_its_messages_become_rows() {
        let dir = tempfile_dir("old-transcript");
        let transcript = old_store_with_a_transcript(&dir);
        let store = SqliteStore::open(&dir).unwrap();
        let live = store.load().unwrap().interactions;
        assert_eq!(live[0].messages, transcript);
        assert_eq!(raw::<i64>(&store, "SELECT count(*) FROM messages"), 2);
        let body: String = raw(&store, "SELECT body FROM interactions");
        assert!(!body.contains("C-SECRET"), "{body}");
        // Posting goes on after the moved messages.
        let mut batch = Batch::default();
        batch.changes.messages.push(baton_core::AppendedMessage {
            interaction: InteractionId("i1".into()),
            seq: 2,
            message: chat("after the upgrade", 12),
        });
        store.commit(&batch).unwrap();
        assert_eq!(store.load().unwrap().interactions[0].messages.len(), 3);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn messages_are_encrypted_at_rest_when_a_key_is_configured() {
        let dir = tempfile_dir("old-transcript-key");
        let transcript = old_store_with_a_transcript(&dir);
        // Upgraded with a key: the moved messages are sealed at once.
        let store = SqliteStore::open_with(&dir, Some(DataCipher::parse(K1).unwrap())).unwrap();
        assert_eq!(store.load().unwrap().interactions[0].messages, transcript);
        let row: String = raw(&store, "SELECT body FROM messages WHERE seq = 0");
        assert!(row.starts_with("v1:k1:"), "{row}");
        drop(store);
        assert!(!files_contain(&dir, "C-SECRET"), "plaintext on disk");
        // Rotation rewrites them with the new key; without a key nothing is readable.
        let store = SqliteStore::open_with(
            &dir,
            Some(DataCipher::parse(&format!("{K1}\n{K2}")).unwrap()),
        )
        .unwrap();
        let row: String = raw(&store, "SELECT body FROM messages WHERE seq = 1");
        assert!(row.starts_with("v1:k2:"), "{row}");
        drop(store);
        assert!(SqliteStore::open(&dir).unwrap().load().is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn migrations_run_once_and_reopen_keeps_data() {
        let dir = std::env::temp_dir().join(format!("baton-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = SqliteStore::open(&dir).unwrap();
            let mut batch = Batch::default();
            batch.changes.tenants.push(Tenant {
                id: TenantId("t".into()),
                settings: Default::default(),
                desk: Default::default(),
            });
            batch
                .ingress_tokens
                .push(("h".into(), TenantId("t".into())));
            store.commit(&batch).unwrap();
        }
        let store = SqliteStore::open(&dir).unwrap();
        let snap = store.load().unwrap();
        assert_eq!(snap.tenants.len(), 1);
        assert_eq!(
            store.ingress_tenant("h").unwrap(),
            Some(TenantId("t".into()))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
