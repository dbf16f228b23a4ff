//! The cluster store: PostgreSQL, the source of truth for every node.
//!
//! Same records as SQLite (JSON bodies beside queried columns). Two additions make it safe
//! with several nodes: an `engine` lease with an epoch (one node applies commands at a time;
//! every commit checks it still holds the lease, so a node that lost it cannot write), and
//! optimistic versions on interactions (an older version never overwrites a newer one).

use std::sync::Mutex;

use baton_core::{
    Agent, AgentId, Integration, Interaction, InteractionId, Leg, Service, SessionId, Snapshot,
    Tenant, TenantId, TransferId,
};
use baton_protocol::{Millis, TransferData};
use postgres::{Client, NoTls, Transaction};

use crate::cipher::{self, DataCipher};
use crate::pg_tls::{PgTlsOptions, RustlsConnect};
use crate::{
    AttachmentRecord, Batch, Credential, SessionRecord, SessionScope, Store, StoreError,
    StoreResult,
};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE services (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE integrations (tenant TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, key));
CREATE TABLE agents (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE credentials (
    agent_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, password_hash TEXT NOT NULL);
CREATE UNIQUE INDEX credentials_login ON credentials (tenant, lower(username));
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY, session_id TEXT NOT NULL UNIQUE, agent_id TEXT NOT NULL,
    tenant TEXT NOT NULL, expires_at BIGINT NOT NULL);
CREATE TABLE ingress_tokens (token_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL);
CREATE TABLE interactions (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, status TEXT NOT NULL, completed_at BIGINT,
    customer_token_hash TEXT NOT NULL, version BIGINT NOT NULL, body TEXT NOT NULL);
CREATE INDEX interactions_live ON interactions (completed_at);
CREATE INDEX interactions_customer ON interactions (customer_token_hash);
CREATE TABLE legs (
    id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, tenant TEXT NOT NULL, created_at BIGINT NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX legs_interaction ON legs (interaction_id, created_at);
CREATE TABLE transfer_data (leg_id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL, expires_at BIGINT NOT NULL);
"#,
    r#"
CREATE TABLE cluster_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
    r#"
CREATE TABLE attachments (
    id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL,
    content_type TEXT NOT NULL, size BIGINT NOT NULL, uploader TEXT NOT NULL,
    created_at BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX attachments_interaction ON attachments (interaction_id);
"#,
    r#"
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'agent';
"#,
    // Chat messages as appended rows (decision 0016); `move_transcripts_into_rows` then
    // moves the transcripts of existing records here, in the same transaction.
    r#"
CREATE TABLE messages (
    interaction_id TEXT NOT NULL, seq BIGINT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (interaction_id, seq));
"#,
    // What the store remembers of its own encryption, as in SQLite: a sealed table whose
    // flag is set was encrypted before, so a plaintext row in it was not written by Baton.
    // A table that already holds sealed rows was encrypted before this migration.
    r#"
CREATE TABLE store_flags (name TEXT PRIMARY KEY);
INSERT INTO store_flags (name) SELECT 'transfer_data_encrypted'
    WHERE EXISTS (SELECT 1 FROM transfer_data WHERE data LIKE 'v1:%');
INSERT INTO store_flags (name) SELECT 'attachments_encrypted'
    WHERE EXISTS (SELECT 1 FROM attachments WHERE data LIKE 'v1:%');
INSERT INTO store_flags (name) SELECT 'messages_encrypted'
    WHERE EXISTS (SELECT 1 FROM messages WHERE body LIKE 'v1:%');
"#,
];

/// The schema version that created `messages`.
const MESSAGES_TABLE: usize = 5;

/// The lease of the one engine of an unsharded cluster.
const ENGINE_LEASE: &str = "engine";

/// Milliseconds on the database's clock, so nodes with skewed clocks agree on leases.
const DB_NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// Any number taken to serialise migrations of every node and schema.
const MIGRATION_LOCK: i64 = 0x0062_6174_6f6e;

/// A connection that is dropped on a plain thread: the blocking client runs its own runtime,
/// which must not be dropped inside tokio's.
struct Conn(Option<Client>);

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("present until drop")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

pub struct PostgresStore {
    writer: Mutex<Conn>,
    reader: Mutex<Conn>,
    /// `(lease, holder, epoch)`: the lease this store's engine must hold to commit.
    fence: Mutex<Option<(String, String, i64)>>,
    /// Encrypts transfer-data content at rest, as in the SQLite store.
    cipher: Option<DataCipher>,
}

fn connect(url: &str, schema: Option<&str>, tls: &PgTlsOptions) -> StoreResult<Client> {
    let config: postgres::Config = url.parse()?;
    let mut client = match config.get_ssl_mode() {
        postgres::config::SslMode::Require => config.connect(RustlsConnect::new(tls)?),
        _ => config.connect(NoTls),
    }
    .map_err(|e| StoreError::Connect(error_chain(&e)))?;
    if let Some(schema) = schema {
        let quoted = format!("\"{}\"", schema.replace('"', ""));
        client.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted}; SET search_path TO {quoted}"
        ))?;
    }
    Ok(client)
}

/// An error and its causes, so a refused certificate says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl PostgresStore {
    /// Connects, optionally inside `schema` (created if missing), and runs migrations under
    /// an advisory lock so nodes starting together do not race.
    pub fn open(url: &str, schema: Option<&str>) -> StoreResult<Self> {
        Self::open_with(url, schema, None)
    }

    /// [`PostgresStore::open`] with transfer data encrypted by `cipher` (every node of a
    /// cluster needs the same keys).
    pub fn open_with(
        url: &str,
        schema: Option<&str>,
        cipher: Option<DataCipher>,
    ) -> StoreResult<Self> {
        Self::open_with_tls(url, schema, cipher, &PgTlsOptions::default())
    }

    /// [`PostgresStore::open_with`], verifying the server with `tls` when the URL says
    /// `sslmode=require` (see [`crate::pg_tls`]).
    pub fn open_with_tls(
        url: &str,
        schema: Option<&str>,
        cipher: Option<DataCipher>,
        tls: &PgTlsOptions,
    ) -> StoreResult<Self> {
        let mut writer = connect(url, schema, tls)?;
        let reader = connect(url, schema, tls)?;
        migrate(&mut writer, cipher.as_ref())?;
        if let Some(c) = &cipher {
            let rewritten = reencrypt_sealed_columns(&mut writer, c)?;
            tracing::info!(
                current_key = c.current_key_id(),
                keys = c.key_ids().len(),
                rewritten,
                "transfer data is encrypted at rest"
            );
        }
        Ok(Self {
            writer: Mutex::new(Conn(Some(writer))),
            reader: Mutex::new(Conn(Some(reader))),
            fence: Mutex::new(None),
            cipher,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Conn> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the engine lease if it is free or expired. Returns the new epoch.
    pub fn try_acquire_lease(&self, holder: &str, ttl_ms: i64) -> StoreResult<Option<i64>> {
        self.try_acquire_named_lease(ENGINE_LEASE, holder, ttl_ms)
    }

    /// Takes the lease `name` (an engine, or one shard's engine) if it is free or expired.
    /// Returns the new epoch.
    pub fn try_acquire_named_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let row = self.writer().query_opt(
            &format!(
                "INSERT INTO leases (name, holder, epoch, expires_at) VALUES ($3, $1, 1, {DB_NOW} + $2) \
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = leases.epoch + 1, \
                 expires_at = EXCLUDED.expires_at WHERE leases.expires_at < {DB_NOW} RETURNING epoch"
            ),
            &[&holder, &ttl_ms, &name],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Extends the lease; `false` when another node has taken it.
    pub fn renew_lease(&self, holder: &str, epoch: i64, ttl_ms: i64) -> StoreResult<bool> {
        self.renew_named_lease(ENGINE_LEASE, holder, epoch, ttl_ms)
    }

    /// Extends the lease `name`; `false` when another node has taken it.
    pub fn renew_named_lease(
        &self,
        name: &str,
        holder: &str,
        epoch: i64,
        ttl_ms: i64,
    ) -> StoreResult<bool> {
        let n = self.writer().execute(
            &format!("UPDATE leases SET expires_at = {DB_NOW} + $3 WHERE name = $4 AND holder = $1 AND epoch = $2"),
            &[&holder, &epoch, &ttl_ms, &name],
        )?;
        Ok(n == 1)
    }

    /// Gives the lease up at once (clean shutdown), so another node need not wait it out.
    pub fn release_lease(&self, holder: &str, epoch: i64) -> StoreResult<()> {
        self.release_named_lease(ENGINE_LEASE, holder, epoch)
    }

    /// Gives the lease `name` up at once, so another node need not wait it out.
    pub fn release_named_lease(&self, name: &str, holder: &str, epoch: i64) -> StoreResult<()> {
        self.writer().execute(
            "UPDATE leases SET expires_at = 0 WHERE name = $3 AND holder = $1 AND epoch = $2",
            &[&holder, &epoch, &name],
        )?;
        Ok(())
    }

    /// Every later commit must prove this node still holds this epoch of the engine lease.
    pub fn set_fence(&self, fence: Option<(String, i64)>) {
        self.set_named_fence(fence.map(|(holder, epoch)| (ENGINE_LEASE.to_owned(), holder, epoch)));
    }

    /// Every later commit must prove this node still holds `(lease, holder, epoch)`.
    pub fn set_named_fence(&self, fence: Option<(String, String, i64)>) {
        *self.fence.lock().unwrap_or_else(|p| p.into_inner()) = fence;
    }

    /// The tenant of an agent, for a cluster node that routes commands by tenant.
    pub fn agent_tenant(&self, agent: &AgentId) -> StoreResult<Option<TenantId>> {
        let row = self
            .reader()
            .query_opt("SELECT tenant FROM agents WHERE id = $1", &[&agent.0])?;
        Ok(row.map(|r| TenantId(r.get(0))))
    }

    /// The tenant of an interaction, for a cluster node that routes commands by tenant.
    pub fn interaction_tenant(&self, id: &InteractionId) -> StoreResult<Option<TenantId>> {
        let row = self
            .reader()
            .query_opt("SELECT tenant FROM interactions WHERE id = $1", &[&id.0])?;
        Ok(row.map(|r| TenantId(r.get(0))))
    }

    /// A random 32-byte secret (64 hex digits) shared by every node of the cluster: made
    /// by the first node that asks for `name`, read by the others. Whoever can read this
    /// database can run the cluster anyway, so the database is where the secret lives.
    pub fn shared_secret(&self, name: &str) -> StoreResult<String> {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut conn = self.writer();
        conn.execute(
            "INSERT INTO cluster_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &fresh],
        )?;
        Ok(conn
            .query_one(
                "SELECT value FROM cluster_secrets WHERE name = $1",
                &[&name],
            )?
            .get(0))
    }

    /// Whether this store's connections are TLS (for tests and `/readyz` diagnostics).
    pub fn uses_tls(&self) -> StoreResult<bool> {
        Ok(self
            .reader()
            .query_one(
                "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )?
            .get(0))
    }
}

fn migrate(client: &mut Client, cipher: Option<&DataCipher>) -> StoreResult<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = (|| -> StoreResult<()> {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let current: i64 = client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
            .get(0);
        let supported = MIGRATIONS.len() as i64;
        if current > supported {
            return Err(StoreError::TooNew {
                found: current,
                supported,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let mut tx = client.transaction()?;
            tx.batch_execute(sql)?;
            if i + 1 == MESSAGES_TABLE {
                move_transcripts_into_rows(&mut tx, cipher)?;
            }
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(i as i64 + 1)],
            )?;
            tx.commit()?;
        }
        Ok(())
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    result
}

/// A table column that holds sealed values, and how to find each row's associated data.
struct SealedColumn {
    table: &'static str,
    /// The row's key columns, in the order they page and bind the associated data.
    keys: &'static str,
    column: &'static str,
    /// Set once the column has been encrypted (see the `store_flags` migration).
    flag: &'static str,
    aad: fn(&postgres::Row) -> Vec<u8>,
}

const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "transfer_data",
        keys: "leg_id",
        column: "data",
        flag: "transfer_data_encrypted",
        aad: |r| r.get::<_, String>(0).into_bytes(),
    },
    SealedColumn {
        table: "attachments",
        keys: "id",
        column: "data",
        flag: "attachments_encrypted",
        aad: |r| r.get::<_, String>(0).into_bytes(),
    },
    SealedColumn {
        table: "messages",
        keys: "interaction_id, seq",
        column: "body",
        flag: "messages_encrypted",
        aad: |r| crate::message_aad(r.get(0), r.get(1)),
    },
];

/// Rows read per round trip while re-encrypting: bounded memory however large the table.
const RESEAL_PAGE: i64 = 200;

/// What SQLite does at open, for the shared store: every sealed value written with a key
/// other than the current one (or as plaintext, the first time a key is configured) is
/// rewritten with the current key. Runs under the migration lock so nodes starting together
/// take turns; each rewrite only replaces the value it read, so a row another node changed
/// meanwhile is left for the next start. Returns how many values were rewritten.
fn reencrypt_sealed_columns(client: &mut Client, c: &DataCipher) -> StoreResult<usize> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let result = (|| -> StoreResult<usize> {
        let mut rewritten = 0;
        for sealed in SEALED_COLUMNS {
            rewritten += reencrypt_column(client, c, sealed)?;
        }
        Ok(rewritten)
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    result
}

fn reencrypt_column(
    client: &mut Client,
    c: &DataCipher,
    sealed: &SealedColumn,
) -> StoreResult<usize> {
    let SealedColumn {
        table,
        keys,
        column,
        flag,
        aad,
    } = sealed;
    let upgraded = client
        .query_opt("SELECT 1 FROM store_flags WHERE name = $1", &[flag])?
        .is_some();
    let current = format!("v1:{}:", c.current_key_id());
    let key_count = keys.split(',').count();
    // Keyset paging: each page starts after the last key of the one before, so rows left
    // as they are (planted plaintext) are not read again.
    let after = match key_count {
        1 => format!("{keys} > $3"),
        _ => format!("({keys}) > ($3, $4)"),
    };
    let first_page = format!(
        "SELECT {keys}, {column} FROM {table} WHERE left({column}, length($1)) <> $1 \
         ORDER BY {keys} LIMIT $2"
    );
    let next_page = format!(
        "SELECT {keys}, {column} FROM {table} WHERE left({column}, length($1)) <> $1 AND {after} \
         ORDER BY {keys} LIMIT $2"
    );
    let key_match = keys
        .split(',')
        .enumerate()
        .map(|(i, k)| format!("{} = ${}", k.trim(), i + 3))
        .collect::<Vec<_>>()
        .join(" AND ");
    let update = format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2 AND {key_match}");
    let (mut rewritten, mut planted) = (0usize, 0usize);
    let mut last: Option<(String, i64)> = None;
    loop {
        let rows = match &last {
            None => client.query(&first_page, &[&current, &RESEAL_PAGE])?,
            Some((k, _)) if key_count == 1 => {
                client.query(&next_page, &[&current, &RESEAL_PAGE, k])?
            }
            Some((k, seq)) => client.query(&next_page, &[&current, &RESEAL_PAGE, k, seq])?,
        };
        let Some(tail) = rows.last() else { break };
        last = Some((tail.get(0), if key_count == 1 { 0 } else { tail.get(1) }));
        let mut tx = client.transaction()?;
        for row in &rows {
            let stored: String = row.get(key_count);
            let plain = if cipher::is_sealed(&stored) {
                c.decrypt_with_aad(&stored, &aad(row))?
            } else if !upgraded {
                stored.clone()
            } else {
                planted += 1;
                continue;
            };
            let fresh = c.encrypt_with_aad(&plain, &aad(row));
            let first_key: String = row.get(0);
            let n = if key_count == 1 {
                tx.execute(&update, &[&fresh, &stored, &first_key])?
            } else {
                let seq: i64 = row.get(1);
                tx.execute(&update, &[&fresh, &stored, &first_key, &seq])?
            };
            rewritten += n as usize;
        }
        tx.commit()?;
    }
    if planted > 0 {
        tracing::error!(
            table = *table,
            rows = planted,
            "plaintext rows found in an encrypted store; they are refused on read"
        );
    }
    client.execute(
        "INSERT INTO store_flags (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        &[flag],
    )?;
    Ok(rewritten)
}

/// Moves every transcript still inside an interaction record into `messages`, and
/// rewrites the record without it. Runs once, with the migration that made the table.
fn move_transcripts_into_rows(
    tx: &mut Transaction<'_>,
    cipher: Option<&DataCipher>,
) -> StoreResult<()> {
    let records: Vec<(String, String)> = tx
        .query("SELECT id, body FROM interactions", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut moved = 0usize;
    for (id, body) in records {
        let Some((record, messages)) = crate::split_transcript(&body)? else {
            continue;
        };
        for (seq, m) in messages.iter().enumerate() {
            let seq = seq as i64;
            tx.execute(
                "INSERT INTO messages (interaction_id, seq, body) VALUES ($1, $2, $3)",
                &[&id, &seq, &crate::seal_message(cipher, &id, seq, m)?],
            )?;
        }
        tx.execute(
            "UPDATE interactions SET body = $1 WHERE id = $2",
            &[&record, &id],
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
    client: &mut Client,
    cipher: Option<&DataCipher>,
    id: &str,
) -> StoreResult<Vec<baton_protocol::ChatMessage>> {
    let mut out = Vec::new();
    for row in client.query(
        "SELECT seq, body FROM messages WHERE interaction_id = $1 ORDER BY seq",
        &[&id],
    )? {
        out.push(crate::open_message(cipher, id, row.get(0), row.get(1))?);
    }
    Ok(out)
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn read_all<T: serde::de::DeserializeOwned>(client: &mut Client, sql: &str) -> StoreResult<Vec<T>> {
    let mut out = Vec::new();
    for row in client.query(sql, &[])? {
        out.push(serde_json::from_str(row.get::<_, &str>(0))?);
    }
    Ok(out)
}

fn upsert(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> StoreResult<u64> {
    let stmt = tx.prepare(sql)?;
    Ok(tx.execute(&stmt, params)?)
}

impl Store for PostgresStore {
    fn load(&self) -> StoreResult<Snapshot> {
        let mut c = self.reader();
        let tenants: Vec<Tenant> = read_all(&mut c, "SELECT body FROM tenants")?;
        let services: Vec<Service> = read_all(&mut c, "SELECT body FROM services")?;
        let integrations: Vec<Integration> = read_all(&mut c, "SELECT body FROM integrations")?;
        let agents: Vec<Agent> = read_all(&mut c, "SELECT body FROM agents")?;
        let mut interactions: Vec<Interaction> = read_all(
            &mut c,
            "SELECT body FROM interactions WHERE completed_at IS NULL",
        )?;
        for i in &mut interactions {
            let rows = messages_of(&mut c, self.cipher.as_ref(), &i.id.0)?;
            if !rows.is_empty() {
                i.messages = rows;
            }
        }
        let mut legs: Vec<Leg> = Vec::new();
        for row in c.query(
            "SELECT l.body, d.data FROM legs l JOIN interactions i ON i.id = l.interaction_id \
             LEFT JOIN transfer_data d ON d.leg_id = l.id WHERE i.completed_at IS NULL ORDER BY l.created_at",
            &[],
        )? {
            let mut leg: Leg = serde_json::from_str(row.get::<_, &str>(0))?;
            leg.data = match row.get::<_, Option<String>>(1) {
                Some(stored) => Some(TransferData::from_trusted(cipher::open_stored(self.cipher.as_ref(), stored, leg.id.0.as_bytes())?)),
                None => None,
            };
            legs.push(leg);
        }
        Ok(Snapshot {
            tenants,
            services,
            integrations,
            agents,
            interactions,
            legs,
        })
    }

    fn commit(&self, batch: &Batch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let fence = self.fence.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut client = self.writer();
        let mut tx = client.transaction()?;
        if let Some((lease, holder, epoch)) = &fence {
            let held = tx.query_opt(
                "SELECT 1 FROM leases WHERE name = $3 AND holder = $1 AND epoch = $2 FOR SHARE",
                &[holder, epoch, lease],
            )?;
            if held.is_none() {
                return Err(StoreError::Fenced);
            }
        }
        let c = &batch.changes;
        for t in &c.tenants {
            upsert(
                &mut tx,
                "INSERT INTO tenants (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
                &[&t.id.0, &json(t)?],
            )?;
        }
        for s in &c.services {
            upsert(
                &mut tx,
                "INSERT INTO services (id, tenant, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
                &[&s.id.0, &s.tenant.0, &json(s)?],
            )?;
        }
        for i in &c.integrations {
            upsert(
                &mut tx,
                "INSERT INTO integrations (tenant, key, body) VALUES ($1, $2, $3) ON CONFLICT (tenant, key) DO UPDATE SET body = EXCLUDED.body",
                &[&i.tenant.0, &i.key, &json(i)?],
            )?;
        }
        for a in &c.agents {
            upsert(
                &mut tx,
                "INSERT INTO agents (id, tenant, username, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
                &[&a.id.0, &a.tenant.0, &a.username, &json(a)?],
            )?;
        }
        for cred in &batch.credentials {
            upsert(
                &mut tx,
                "INSERT INTO credentials (agent_id, tenant, username, password_hash) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (agent_id) DO UPDATE SET password_hash = EXCLUDED.password_hash",
                &[
                    &cred.agent.0,
                    &cred.tenant.0,
                    &cred.username,
                    &cred.password_hash,
                ],
            )?;
        }
        for (hash, tenant) in &batch.ingress_tokens {
            upsert(
                &mut tx,
                "INSERT INTO ingress_tokens (token_hash, tenant) VALUES ($1, $2) ON CONFLICT (token_hash) DO NOTHING",
                &[hash, &tenant.0],
            )?;
        }
        for i in &c.interactions {
            let version = i.version as i64;
            let written = upsert(
                &mut tx,
                "INSERT INTO interactions (id, tenant, status, completed_at, customer_token_hash, version, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, \
                 completed_at = EXCLUDED.completed_at, version = EXCLUDED.version, body = EXCLUDED.body \
                 WHERE interactions.version < EXCLUDED.version",
                &[
                    &i.id.0,
                    &i.tenant.0,
                    &i.status().as_str(),
                    &i.completed_at,
                    &i.customer_token_hash,
                    &version,
                    &json(i)?,
                ],
            )?;
            if written == 0 {
                return Err(StoreError::VersionConflict(i.id.0.clone()));
            }
        }
        for m in &c.messages {
            let seq = m.seq as i64;
            upsert(
                &mut tx,
                "INSERT INTO messages (interaction_id, seq, body) VALUES ($1, $2, $3)",
                &[
                    &m.interaction.0,
                    &seq,
                    &crate::seal_message(self.cipher.as_ref(), &m.interaction.0, seq, &m.message)?,
                ],
            )?;
        }
        for l in &c.legs {
            upsert(
                &mut tx,
                "INSERT INTO legs (id, interaction_id, tenant, created_at, body) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body",
                &[
                    &l.id.0,
                    &l.interaction.0,
                    &l.tenant.0,
                    &l.created_at,
                    &json(l)?,
                ],
            )?;
        }
        for (leg, interaction, data) in &c.leg_data {
            upsert(
                &mut tx,
                "INSERT INTO transfer_data (leg_id, interaction_id, data) VALUES ($1, $2, $3) ON CONFLICT (leg_id) DO NOTHING",
                &[
                    &leg.0,
                    &interaction.0,
                    &cipher::seal(self.cipher.as_ref(), data.as_str(), leg.0.as_bytes()),
                ],
            )?;
        }
        for session in &batch.revoked_sessions {
            upsert(
                &mut tx,
                "DELETE FROM sessions WHERE session_id = $1",
                &[&session.0],
            )?;
        }
        for agent in batch
            .revoked_agent_sessions
            .iter()
            .chain(&batch.deleted_agents)
        {
            upsert(
                &mut tx,
                "DELETE FROM sessions WHERE agent_id = $1",
                &[&agent.0],
            )?;
        }
        for agent in &batch.deleted_agents {
            upsert(
                &mut tx,
                "DELETE FROM credentials WHERE agent_id = $1",
                &[&agent.0],
            )?;
            upsert(&mut tx, "DELETE FROM agents WHERE id = $1", &[&agent.0])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn credential(&self, tenant: &TenantId, username: &str) -> StoreResult<Option<Credential>> {
        let row = self.reader().query_opt(
            "SELECT agent_id, username, password_hash FROM credentials WHERE tenant = $1 AND lower(username) = lower($2)",
            &[&tenant.0, &username],
        )?;
        Ok(row.map(|r| Credential {
            agent: AgentId(r.get(0)),
            tenant: tenant.clone(),
            username: r.get(1),
            password_hash: r.get(2),
        }))
    }

    fn sessions(&self, tenant: &TenantId) -> StoreResult<Vec<SessionRecord>> {
        let rows = self.reader().query(
            "SELECT token_hash, session_id, agent_id, expires_at, scope FROM sessions WHERE tenant = $1 ORDER BY expires_at",
            &[&tenant.0],
        )?;
        Ok(rows
            .iter()
            .map(|r| SessionRecord {
                token_hash: r.get(0),
                session: SessionId(r.get(1)),
                agent: baton_core::AgentId(r.get(2)),
                tenant: tenant.clone(),
                expires_at: r.get(3),
                scope: SessionScope::parse(r.get(4)),
            })
            .collect())
    }

    fn ingress_tokens(&self, tenant: &TenantId) -> StoreResult<Vec<String>> {
        let rows = self.reader().query(
            "SELECT token_hash FROM ingress_tokens WHERE tenant = $1 ORDER BY token_hash",
            &[&tenant.0],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn revoke_ingress_token(&self, tenant: &TenantId, hash_prefix: &str) -> StoreResult<usize> {
        Ok(self.writer().execute(
            "DELETE FROM ingress_tokens WHERE tenant = $1 AND left(token_hash, $3) = $2",
            &[&tenant.0, &hash_prefix, &(hash_prefix.len() as i32)],
        )? as usize)
    }

    fn purge_expired_sessions(&self, now: Millis) -> StoreResult<usize> {
        Ok(self
            .writer()
            .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])? as usize)
    }

    fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
        let mut client = self.writer();
        let mut tx = client.transaction()?;
        tx.execute(
            "DELETE FROM sessions WHERE agent_id = $1 AND scope = $2",
            &[&s.agent.0, &s.scope.as_str()],
        )?;
        tx.execute(
            "INSERT INTO sessions (token_hash, session_id, agent_id, tenant, expires_at, scope) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&s.token_hash, &s.session.0, &s.agent.0, &s.tenant.0, &s.expires_at, &s.scope.as_str()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = self.reader().query_opt(
            "SELECT session_id, agent_id, tenant, expires_at, scope FROM sessions WHERE token_hash = $1",
            &[&token_hash],
        )?;
        Ok(row.map(|r| SessionRecord {
            token_hash: token_hash.to_owned(),
            session: SessionId(r.get(0)),
            agent: AgentId(r.get(1)),
            tenant: TenantId(r.get(2)),
            expires_at: r.get(3),
            scope: SessionScope::parse(r.get(4)),
        }))
    }

    fn revoke_session(&self, session: &SessionId) -> StoreResult<()> {
        self.writer()
            .execute("DELETE FROM sessions WHERE session_id = $1", &[&session.0])?;
        Ok(())
    }

    fn ingress_tenant(&self, token_hash: &str) -> StoreResult<Option<TenantId>> {
        let row = self.reader().query_opt(
            "SELECT tenant FROM ingress_tokens WHERE token_hash = $1",
            &[&token_hash],
        )?;
        Ok(row.map(|r| TenantId(r.get(0))))
    }

    fn interaction_by_customer_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<InteractionId>> {
        let row = self.reader().query_opt(
            "SELECT id FROM interactions WHERE customer_token_hash = $1",
            &[&token_hash],
        )?;
        Ok(row.map(|r| InteractionId(r.get(0))))
    }

    fn interaction(&self, id: &InteractionId) -> StoreResult<Option<Interaction>> {
        let mut c = self.reader();
        let row = c.query_opt("SELECT body FROM interactions WHERE id = $1", &[&id.0])?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut i: Interaction = serde_json::from_str(row.get::<_, &str>(0))?;
        let rows = messages_of(&mut c, self.cipher.as_ref(), &id.0)?;
        if !rows.is_empty() {
            i.messages = rows;
        }
        Ok(Some(i))
    }

    fn legs(&self, id: &InteractionId) -> StoreResult<Vec<Leg>> {
        let rows = self.reader().query(
            "SELECT body FROM legs WHERE interaction_id = $1 ORDER BY created_at, id",
            &[&id.0],
        )?;
        let mut out = Vec::new();
        for r in rows {
            out.push(serde_json::from_str(r.get::<_, &str>(0))?);
        }
        Ok(out)
    }

    fn transfer_data(&self, leg: &TransferId) -> StoreResult<Option<String>> {
        let row = self.reader().query_opt(
            "SELECT data FROM transfer_data WHERE leg_id = $1",
            &[&leg.0],
        )?;
        match row {
            Some(r) => Ok(Some(cipher::open_stored(
                self.cipher.as_ref(),
                r.get(0),
                leg.0.as_bytes(),
            )?)),
            None => Ok(None),
        }
    }

    fn put_attachment(&self, r: &AttachmentRecord, content: &[u8]) -> StoreResult<()> {
        let data = crate::seal_attachment(self.cipher.as_ref(), &r.id, content);
        self.writer().execute(
            "INSERT INTO attachments (id, interaction_id, tenant, name, content_type, size, uploader, created_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &r.id,
                &r.interaction.0,
                &r.tenant.0,
                &r.name,
                &r.content_type,
                &(r.size as i64),
                &r.uploader,
                &r.created_at,
                &data,
            ],
        )?;
        Ok(())
    }

    fn attachment(
        &self,
        interaction: &InteractionId,
        id: &str,
    ) -> StoreResult<Option<(AttachmentRecord, Vec<u8>)>> {
        let row = self.reader().query_opt(
            "SELECT tenant, name, content_type, size, uploader, created_at, data FROM attachments \
             WHERE id = $1 AND interaction_id = $2",
            &[&id, &interaction.0],
        )?;
        let Some(r) = row else {
            return Ok(None);
        };
        let record = AttachmentRecord {
            id: id.to_owned(),
            interaction: interaction.clone(),
            tenant: TenantId(r.get(0)),
            name: r.get(1),
            content_type: r.get(2),
            size: r.get::<_, i64>(3) as u64,
            uploader: r.get(4),
            created_at: r.get(5),
        };
        let content = crate::open_attachment(self.cipher.as_ref(), id, r.get(6))?;
        Ok(Some((record, content)))
    }

    fn delete_attachment(&self, id: &str) -> StoreResult<()> {
        self.writer()
            .execute("DELETE FROM attachments WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn attachment_stored(&self, id: &str) -> StoreResult<Option<String>> {
        let row = self
            .reader()
            .query_opt("SELECT data FROM attachments WHERE id = $1", &[&id])?;
        Ok(row.map(|r| r.get(0)))
    }

    fn purge_transfer_data(&self, tenant: &TenantId, before: Millis) -> StoreResult<usize> {
        let n = self.writer().execute(
            "DELETE FROM transfer_data WHERE interaction_id IN \
             (SELECT id FROM interactions WHERE tenant = $1 AND completed_at IS NOT NULL AND completed_at < $2)",
            &[&tenant.0, &before],
        )?;
        // A statement of its own: two writer guards in one expression would deadlock.
        let attachments = self.writer().execute(
            "DELETE FROM attachments WHERE interaction_id IN \
             (SELECT id FROM interactions WHERE tenant = $1 AND completed_at IS NOT NULL AND completed_at < $2)",
            &[&tenant.0, &before],
        )?;
        Ok((n + attachments) as usize)
    }

    fn ping(&self) -> StoreResult<()> {
        self.reader().query_one("SELECT 1", &[])?;
        Ok(())
    }
}

#[cfg(test)]
mod tls_tests {
    //! Against the PostgreSQL of this machine (Debian's, with its `snakeoil` certificate for
    //! `localhost`), like the cluster tests.
    use super::*;
    use std::path::PathBuf;

    const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    /// A public root that never signed the local server's certificate.
    const OTHER_CA: &str = "/etc/ssl/certs/ISRG_Root_X1.pem";

    fn options(ca: Option<&str>) -> PgTlsOptions {
        PgTlsOptions {
            ca_file: ca.map(PathBuf::from),
        }
    }

    #[test]
    fn sslmode_require_is_tls_verified_against_the_ca() {
        let url = "postgres://postgres@localhost:5432/test?sslmode=require";
        // A schema of this process's own: test runs of other checkouts, at other migration
        // versions, share the database.
        let schema = format!("tls_test_{}", std::process::id());
        let schema = Some(schema.as_str());
        let store = PostgresStore::open_with_tls(url, schema, None, &options(Some(SNAKEOIL)))
            .expect("TLS to the local server, verified with its certificate");
        assert!(store.uses_tls().unwrap());
        // A CA that did not sign the server's certificate: refused, not downgraded.
        let err = PostgresStore::open_with_tls(url, schema, None, &options(Some(OTHER_CA)))
            .err()
            .expect("an unverified certificate is refused")
            .to_string();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
        // A name the certificate does not carry is refused too.
        let by_ip = "postgres://postgres@127.0.0.1:5432/test?sslmode=require";
        assert!(
            PostgresStore::open_with_tls(by_ip, schema, None, &options(Some(SNAKEOIL))).is_err()
        );
        // Without sslmode=require nothing changes: no TLS.
        let plain = PostgresStore::open_with_tls(
            "postgres://postgres@127.0.0.1:5432/test",
            schema,
            None,
            &options(None),
        )
        .unwrap();
        assert!(!plain.uses_tls().unwrap());
    }

    #[test]
    fn every_node_reads_the_same_shared_secret() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let schema = format!("secret_test_{}", std::process::id());
        let a = PostgresStore::open(url, Some(&schema)).unwrap();
        let b = PostgresStore::open(url, Some(&schema)).unwrap();
        let s = a.shared_secret("cluster").unwrap();
        assert_eq!(s.len(), 64);
        assert_eq!(b.shared_secret("cluster").unwrap(), s);
        assert_ne!(b.shared_secret("other").unwrap(), s);
    }

    /// A customer's chat message, as the core records one.
    fn message(text: &str, at: Millis) -> baton_protocol::ChatMessage {
        baton_protocol::ChatMessage {
            from: baton_protocol::MessageFrom::Customer,
            party_id: Some("customer".into()),
            name: "Carl".into(),
            text: text.into(),
            at,
            attachment: None,
        }
    }

    #[test]
    fn transcripts_move_into_sealed_rows_and_messages_are_appended() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let schema = format!("messages_test_{}", std::process::id());
        let key = "k1:0101010101010101010101010101010101010101010101010101010101010101";
        // A schema from before decision 0016: version 3, the transcript inside the record.
        let mut old = connect(url, Some(&schema), &PgTlsOptions::default()).unwrap();
        old.batch_execute(
            "DROP TABLE IF EXISTS schema_version, tenants, services, integrations, agents, \
             credentials, sessions, ingress_tokens, interactions, legs, transfer_data, leases, \
             cluster_secrets, attachments, messages, store_flags; \
             CREATE TABLE schema_version (version BIGINT NOT NULL)",
        )
        .unwrap();
        for (i, sql) in MIGRATIONS[..MESSAGES_TABLE - 1].iter().enumerate() {
            old.batch_execute(sql).unwrap();
            old.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(i as i64 + 1)],
            )
            .unwrap();
        }
        let body = serde_json::json!({
            "id": "i1", "tenant": "t", "channel": "chat", "service": "svc",
            "customer": {"name": "Carl"}, "notes": [], "created_at": 1, "completed_at": null,
            "customer_connected": true, "customer_on_hold": false, "customer_token_hash": "h",
            "queue": null, "parties": [], "skipped": [], "legs": [], "pending_leg": null,
            "version": 1, "attached_data": {},
            "messages": [message("C-SECRET hello", 10), message("my order", 11)],
        });
        old.execute(
            "INSERT INTO interactions (id, tenant, status, completed_at, customer_token_hash, version, body) \
             VALUES ('i1', 't', 'queued', NULL, 'h', 1, $1)",
            &[&body.to_string()],
        )
        .unwrap();

        let store =
            PostgresStore::open_with(url, Some(&schema), Some(DataCipher::parse(key).unwrap()))
                .unwrap();
        let live = store.load().unwrap().interactions;
        assert_eq!(
            live[0].messages,
            [message("C-SECRET hello", 10), message("my order", 11)]
        );
        let record: String = old
            .query_one("SELECT body FROM interactions", &[])
            .unwrap()
            .get(0);
        assert!(!record.contains("C-SECRET"), "{record}");
        let row: String = old
            .query_one("SELECT body FROM messages WHERE seq = 0", &[])
            .unwrap()
            .get(0);
        assert!(row.starts_with("v1:k1:"), "{row}");

        // A new message is one row; the record stays as it was.
        let mut batch = Batch::default();
        batch.changes.messages.push(baton_core::AppendedMessage {
            interaction: InteractionId("i1".into()),
            seq: 2,
            message: message("after the upgrade", 12),
        });
        store.commit(&batch).unwrap();
        let again: String = old
            .query_one("SELECT body FROM interactions", &[])
            .unwrap()
            .get(0);
        assert_eq!(again, record);
        let stored = store
            .interaction(&InteractionId("i1".into()))
            .unwrap()
            .unwrap();
        assert_eq!(stored.messages.len(), 3);
        assert_eq!(stored.messages[2].text, "after the upgrade");
        old.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .unwrap();
    }

    #[test]
    fn rows_are_encrypted_when_a_key_is_first_set_and_follow_a_rotation() {
        use crate::Store;
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let schema = format!("reseal_test_{}", std::process::id());
        let k1 = "k1:0101010101010101010101010101010101010101010101010101010101010101";
        let k2 = "k2:0202020202020202020202020202020202020202020202020202020202020202";
        let mut raw = connect(url, Some(&schema), &PgTlsOptions::default()).unwrap();
        raw.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .unwrap();
        let mut raw = connect(url, Some(&schema), &PgTlsOptions::default()).unwrap();
        let stored = |raw: &mut Client| -> Vec<String> {
            raw.query(
                "SELECT data FROM transfer_data UNION ALL SELECT data FROM attachments \
                 UNION ALL SELECT body FROM messages",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
        };

        // Data written before any key: plaintext.
        let plain = PostgresStore::open(url, Some(&schema)).unwrap();
        let record = AttachmentRecord {
            id: "att-1".into(),
            interaction: InteractionId("i1".into()),
            tenant: TenantId("acme".into()),
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            size: 6,
            uploader: "customer".into(),
            created_at: 7,
        };
        plain.put_attachment(&record, b"SECRET").unwrap();
        raw.batch_execute(
            "INSERT INTO transfer_data VALUES ('leg-1', 'i1', '{\"case\":\"C-SECRET\"}')",
        )
        .unwrap();
        let hi = serde_json::to_string(&message("hi", 1)).unwrap();
        raw.execute("INSERT INTO messages VALUES ('i1', 0, $1)", &[&hi])
            .unwrap();
        drop(plain);

        // The first start with a key encrypts them.
        let keyed =
            PostgresStore::open_with(url, Some(&schema), Some(DataCipher::parse(k1).unwrap()))
                .unwrap();
        let rows = stored(&mut raw);
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.starts_with("v1:k1:")), "{rows:?}");
        let leg = TransferId("leg-1".into());
        assert_eq!(
            keyed.transfer_data(&leg).unwrap().as_deref(),
            Some(r#"{"case":"C-SECRET"}"#)
        );
        drop(keyed);

        // After a rotation every row is under the new key, readable with it alone.
        let both = format!("{k1}\n{k2}");
        drop(
            PostgresStore::open_with(url, Some(&schema), Some(DataCipher::parse(&both).unwrap()))
                .unwrap(),
        );
        let rows = stored(&mut raw);
        assert!(rows.iter().all(|r| r.starts_with("v1:k2:")), "{rows:?}");
        let only_k2 =
            PostgresStore::open_with(url, Some(&schema), Some(DataCipher::parse(k2).unwrap()))
                .unwrap();
        assert_eq!(
            only_k2.transfer_data(&leg).unwrap().as_deref(),
            Some(r#"{"case":"C-SECRET"}"#)
        );
        let (_, content) = only_k2
            .attachment(&InteractionId("i1".into()), "att-1")
            .unwrap()
            .unwrap();
        assert_eq!(content, b"SECRET");
        let k2_only = DataCipher::parse(k2).unwrap();
        let messages = messages_of(&mut raw, Some(&k2_only), "i1").unwrap();
        assert_eq!(messages[0].text, "hi");
        drop(only_k2);

        // A plaintext row planted after encryption is not sealed by a restart, and is refused.
        raw.batch_execute("INSERT INTO transfer_data VALUES ('leg-2', 'i1', '{\"planted\":1}')")
            .unwrap();
        let again =
            PostgresStore::open_with(url, Some(&schema), Some(DataCipher::parse(k2).unwrap()))
                .unwrap();
        let planted: String = raw
            .query_one("SELECT data FROM transfer_data WHERE leg_id = 'leg-2'", &[])
            .unwrap()
            .get(0);
        assert_eq!(planted, r#"{"planted":1}"#);
        assert!(again.transfer_data(&TransferId("leg-2".into())).is_err());
        raw.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .unwrap();
    }

    #[test]
    fn attachments_are_stored_sealed_read_back_and_deleted() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        let schema = format!("attachments_test_{}", std::process::id());
        let key = "k1:0101010101010101010101010101010101010101010101010101010101010101";
        let store =
            PostgresStore::open_with(url, Some(&schema), Some(DataCipher::parse(key).unwrap()))
                .unwrap();
        let interaction = InteractionId("i-1".into());
        let record = AttachmentRecord {
            id: "att-1".into(),
            interaction: interaction.clone(),
            tenant: TenantId("acme".into()),
            name: "a.png".into(),
            content_type: "image/png".into(),
            size: 4,
            uploader: "customer".into(),
            created_at: 7,
        };
        store.put_attachment(&record, b"\x89PNG").unwrap();
        let stored = store.attachment_stored("att-1").unwrap().unwrap();
        assert!(stored.starts_with("v1:k1:"), "{stored}");
        let (got, content) = store.attachment(&interaction, "att-1").unwrap().unwrap();
        assert_eq!((got, content.as_slice()), (record, &b"\x89PNG"[..]));
        assert!(
            store
                .attachment(&InteractionId("i-2".into()), "att-1")
                .unwrap()
                .is_none()
        );
        store.delete_attachment("att-1").unwrap();
        assert!(store.attachment_stored("att-1").unwrap().is_none());
    }
}
