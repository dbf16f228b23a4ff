//! The embedded store: one SQLite file in the data directory, WAL journal, full sync.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use baton_core::{
    Agent, Integration, Interaction, InteractionId, Leg, Service, SessionId, Snapshot, Tenant,
    TenantId, TransferId,
};
use baton_protocol::{Millis, TransferData};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Batch, Credential, SessionRecord, Store, StoreError, StoreResult};

/// Migrations, applied in order at open. Append only.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) `baton.db` in `dir` and runs pending migrations.
    pub fn open(dir: &Path) -> StoreResult<Self> {
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
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }
}

fn migrate(conn: &Connection) -> StoreResult<()> {
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
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [i as i64 + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
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
            let interactions: Vec<Interaction> = read_all(
                conn,
                "SELECT body FROM interactions WHERE completed_at IS NULL",
            )?;
            let mut legs: Vec<Leg> = read_all(
                conn,
                "SELECT l.body FROM legs l JOIN interactions i ON i.id = l.interaction_id \
                 WHERE i.completed_at IS NULL ORDER BY l.created_at",
            )?;
            let mut data = conn.prepare("SELECT data FROM transfer_data WHERE leg_id = ?1")?;
            for leg in &mut legs {
                let text: Option<String> =
                    data.query_row([leg.id.as_str()], |r| r.get(0)).optional()?;
                leg.data = text.map(TransferData::from_trusted);
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
            for l in &c.legs {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO legs (id, interaction_id, tenant, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![l.id.as_str(), l.interaction.as_str(), l.tenant.as_str(), l.created_at, json(l)?])?;
            }
            for (leg, interaction, data) in &c.leg_data {
                tx.prepare_cached("INSERT OR IGNORE INTO transfer_data (leg_id, interaction_id, data) VALUES (?1, ?2, ?3)")?
                    .execute(params![leg.as_str(), interaction.as_str(), data.as_str()])?;
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
            conn.execute(
                "INSERT INTO sessions (token_hash, session_id, agent_id, tenant, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.session.as_str(), s.agent.as_str(), s.tenant.as_str(), s.expires_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT session_id, agent_id, tenant, expires_at FROM sessions WHERE token_hash = ?1",
                    [token_hash],
                    |r| {
                        Ok(SessionRecord {
                            token_hash: token_hash.to_owned(),
                            session: SessionId(r.get(0)?),
                            agent: baton_core::AgentId(r.get(1)?),
                            tenant: TenantId(r.get(2)?),
                            expires_at: r.get(3)?,
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
            Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
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
        self.with(|conn| {
            Ok(conn
                .query_row(
                    "SELECT data FROM transfer_data WHERE leg_id = ?1",
                    [leg.as_str()],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    fn purge_transfer_data(&self, tenant: &TenantId, before: Millis) -> StoreResult<usize> {
        self.with(|conn| {
            Ok(conn.execute(
                "DELETE FROM transfer_data WHERE interaction_id IN \
                 (SELECT id FROM interactions WHERE tenant = ?1 AND completed_at IS NOT NULL AND completed_at < ?2)",
                params![tenant.as_str(), before],
            )?)
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
