//! Engines sharded by tenant (decision 0018): a cluster splits its tenants into a fixed
//! number of shards by a stable hash of the tenant id, and each shard has its own engine
//! under its own fenced lease. A node sends each command and query to the engine of the
//! shard its tenant falls in; the few questions about every tenant (origins, retention,
//! gauges, readiness) go to every shard and their answers are merged.
//!
//! Commands name their tenant directly, or name an agent, an interaction or a socket whose
//! tenant never changes: this module finds it (in the database the first time, then from a
//! bounded cache) so the node needs no copy of the domain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use baton_core::{
    AdminCommand, AgentId, Command, DirectoryCommand, InteractionId, Snapshot, TenantId,
};
use baton_protocol::{ApiError, ErrorCode};
use baton_store::PostgresStore;
use serde_json::Value;

use crate::query::Query;

/// Which shard a tenant's engine is: FNV-1a of the tenant id, stable across versions,
/// platforms and restarts (a shard's rows must not change owner when a node upgrades).
pub fn shard_of(tenant: &TenantId, shards: u16) -> u16 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in tenant.0.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(shards.max(1))) as u16
}

/// The lease row of a shard's engine. With one shard it is today's `engine` lease, so an
/// unsharded cluster and a one-shard cluster are the same thing.
pub fn lease_name(shard: u16, shards: u16) -> String {
    if shards <= 1 {
        "engine".to_owned()
    } else {
        format!("engine.{shard}.of.{shards}")
    }
}

/// Keeps only the shard's tenants and what belongs to them.
pub fn snapshot_of_shard(mut snapshot: Snapshot, shard: u16, shards: u16) -> Snapshot {
    if shards <= 1 {
        return snapshot;
    }
    let mine = |t: &TenantId| shard_of(t, shards) == shard;
    snapshot.tenants.retain(|t| mine(&t.id));
    snapshot.services.retain(|s| mine(&s.tenant));
    snapshot.integrations.retain(|i| mine(&i.tenant));
    snapshot.agents.retain(|a| mine(&a.tenant));
    snapshot.interactions.retain(|i| mine(&i.tenant));
    let live: std::collections::HashSet<&InteractionId> =
        snapshot.interactions.iter().map(|i| &i.id).collect();
    snapshot.legs.retain(|l| live.contains(&l.interaction));
    snapshot
}

/// Where a command or query goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The engine of one shard.
    Shard(u16),
    /// Every shard's engine; the answers are merged (queries only).
    Every,
}

/// Most agent and interaction tenants a node remembers; past it the cache starts over
/// (a miss costs one indexed read).
const MAX_CACHED: usize = 100_000;

/// Finds the shard of commands and queries on a node.
pub struct Router {
    pub shards: u16,
    store: Arc<PostgresStore>,
    agents: Mutex<HashMap<AgentId, TenantId>>,
    interactions: Mutex<HashMap<InteractionId, TenantId>>,
    /// The tenant of each agent socket of this node, from its `Connect`.
    conns: Mutex<HashMap<u64, TenantId>>,
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, key: K, value: V) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(key, value);
}

fn unknown(what: &str) -> ApiError {
    ApiError::new(ErrorCode::ObjectNotFound, format!("no such {what}"))
}

impl Router {
    pub fn new(shards: u16, store: Arc<PostgresStore>) -> Self {
        Self {
            shards: shards.max(1),
            store,
            agents: Mutex::default(),
            interactions: Mutex::default(),
            conns: Mutex::default(),
        }
    }

    fn shard(&self, tenant: &TenantId) -> Route {
        Route::Shard(shard_of(tenant, self.shards))
    }

    async fn agent_tenant(&self, agent: &AgentId) -> Result<TenantId, ApiError> {
        if let Some(t) = self
            .agents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(agent)
        {
            return Ok(t.clone());
        }
        let (store, id) = (self.store.clone(), agent.clone());
        let found = tokio::task::spawn_blocking(move || store.agent_tenant(&id))
            .await
            .map_err(|e| ApiError::new(ErrorCode::UnknownError, e.to_string()))?
            .map_err(|e| ApiError::new(ErrorCode::ApiNotAnswer, e.to_string()))?
            .ok_or_else(|| unknown("agent"))?;
        remember(&self.agents, agent.clone(), found.clone());
        Ok(found)
    }

    async fn interaction_tenant(&self, id: &InteractionId) -> Result<TenantId, ApiError> {
        if let Some(t) = self
            .interactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
        {
            return Ok(t.clone());
        }
        let (store, key) = (self.store.clone(), id.clone());
        let found = tokio::task::spawn_blocking(move || store.interaction_tenant(&key))
            .await
            .map_err(|e| ApiError::new(ErrorCode::UnknownError, e.to_string()))?
            .map_err(|e| ApiError::new(ErrorCode::ApiNotAnswer, e.to_string()))?
            .ok_or_else(|| unknown("interaction"))?;
        remember(&self.interactions, id.clone(), found.clone());
        Ok(found)
    }

    async fn conn_tenant(&self, conn: u64) -> Result<TenantId, ApiError> {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&conn)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(ErrorCode::NotLoggedIn, "this connection is not logged in")
            })
    }

    /// The shard of a command, learning what later commands need (a socket's tenant, a
    /// new interaction's tenant).
    pub async fn command(&self, command: &Command) -> Result<Route, ApiError> {
        if self.shards == 1 {
            return Ok(Route::Shard(0));
        }
        let tenant = match command {
            Command::Connect { agent, conn, .. } | Command::Resync { agent, conn, .. } => {
                let tenant = self.agent_tenant(agent).await?;
                remember(&self.conns, *conn, tenant.clone());
                tenant
            }
            Command::Disconnect { conn } => {
                let tenant = self.conn_tenant(*conn).await?;
                self.conns
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(conn);
                tenant
            }
            Command::Request { conn, .. } | Command::Reply { conn, .. } => {
                self.conn_tenant(*conn).await?
            }
            Command::NewInteraction { id, tenant, .. } => {
                remember(&self.interactions, id.clone(), tenant.clone());
                tenant.clone()
            }
            Command::CustomerMessage { interaction, .. }
            | Command::CustomerHangup { interaction }
            | Command::CustomerTyping { interaction, .. }
            | Command::CallMedia { interaction, .. }
            | Command::PostAttachment { interaction, .. } => {
                self.interaction_tenant(interaction).await?
            }
            Command::SupervisorSetAgentState { supervisor, .. } => {
                self.agent_tenant(supervisor).await?
            }
            Command::Admin(admin) => admin_tenant(admin).clone(),
            // Each engine runs its own clock and watches the nodes itself.
            Command::Tick | Command::NodeDown { .. } => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "this command is the engine's own",
                ));
            }
        };
        Ok(self.shard(&tenant))
    }

    /// The shard of a query, or every shard for the questions about all tenants.
    pub async fn query(&self, query: &Query) -> Result<Route, ApiError> {
        if self.shards == 1 {
            return Ok(Route::Shard(0));
        }
        let tenant = match query {
            Query::OriginAllowed(_)
            | Query::FrameOrigins
            | Query::Retention
            | Query::Gauges
            | Query::Ping => return Ok(Route::Every),
            Query::Integration { tenant, .. }
            | Query::IntegrationsAllowing { tenant, .. }
            | Query::TenantExists(tenant)
            | Query::AgentExists { tenant, .. }
            | Query::SupervisorOverview(tenant, _)
            | Query::SupervisorStats(tenant, _, _)
            | Query::Services(tenant)
            | Query::Directory { tenant, .. }
            | Query::AgentsOf(tenant)
            | Query::AgentView { tenant, .. } => tenant.clone(),
            Query::InteractionSummary(interaction) => interaction.tenant.clone(),
            Query::InteractionLive(id) | Query::CustomerGreeting(id) | Query::CustomerState(id) => {
                self.interaction_tenant(id).await?
            }
            Query::AgentName(agent) | Query::IsSupervisor(agent) | Query::AgentDisabled(agent) => {
                self.agent_tenant(agent).await?
            }
        };
        Ok(self.shard(&tenant))
    }

    /// Whether a live socket's tenant falls in `shard` (a new engine of that shard wants it
    /// announced again).
    pub fn conn_in_shard(&self, conn: u64, shard: u16) -> bool {
        self.shards == 1
            || self
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&conn)
                .is_some_and(|t| shard_of(t, self.shards) == shard)
    }
}

/// The tenant an admin command changes.
fn admin_tenant(admin: &AdminCommand) -> &TenantId {
    match admin {
        AdminCommand::CreateTenant { id, .. } => id,
        AdminCommand::SetSupervisor { tenant, .. }
        | AdminCommand::CreateService { tenant, .. }
        | AdminCommand::CreateAgent { tenant, .. }
        | AdminCommand::CreateIntegration { tenant, .. }
        | AdminCommand::SetIntegrationOrigins { tenant, .. }
        | AdminCommand::SetQueueLimits { tenant, .. }
        | AdminCommand::UpdateAgent { tenant, .. }
        | AdminCommand::SetAgentDisabled { tenant, .. }
        | AdminCommand::DeleteAgent { tenant, .. }
        | AdminCommand::EndSession { tenant, .. }
        | AdminCommand::UpdateSettings { tenant, .. }
        | AdminCommand::SetServiceRecording { tenant, .. } => tenant,
        AdminCommand::Directory(directory) => match directory {
            DirectoryCommand::SetNotReadyReasons { tenant, .. }
            | DirectoryCommand::SetDidNumbers { tenant, .. }
            | DirectoryCommand::PutTeam { tenant, .. }
            | DirectoryCommand::DeleteTeam { tenant, .. }
            | DirectoryCommand::SetDispositions { tenant, .. }
            | DirectoryCommand::SetIntegrationConfig { tenant, .. } => tenant,
        },
    }
}

/// Merges the answers of every shard to a question about all tenants.
pub fn merge(query: &Query, answers: Vec<Value>) -> Value {
    match query {
        Query::OriginAllowed(_) => Value::Bool(answers.iter().any(|a| a == &Value::Bool(true))),
        Query::FrameOrigins => {
            let all: std::collections::BTreeSet<String> = answers
                .into_iter()
                .filter_map(|a| match a {
                    Value::Array(items) => Some(items),
                    _ => None,
                })
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            serde_json::json!(all)
        }
        Query::Retention => Value::Array(
            answers
                .into_iter()
                .filter_map(|a| match a {
                    Value::Array(items) => Some(items),
                    _ => None,
                })
                .flatten()
                .collect(),
        ),
        Query::Gauges => {
            let mut by_status = [0u64; 5];
            let mut logged_in = 0;
            for a in &answers {
                for (i, n) in by_status.iter_mut().enumerate() {
                    *n += a["byStatus"][i].as_u64().unwrap_or(0);
                }
                logged_in += a["loggedIn"].as_u64().unwrap_or(0);
            }
            serde_json::json!({"byStatus": by_status, "loggedIn": logged_in})
        }
        _ => answers.into_iter().next().unwrap_or(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_always_falls_in_the_same_shard() {
        // Pinned values (FNV-1a 64): a change of hash would move tenants to another engine
        // while their old one still runs.
        assert_eq!(shard_of(&TenantId("acme".into()), 16), 15);
        assert_eq!(shard_of(&TenantId("globex".into()), 16), 14);
        assert_eq!(shard_of(&TenantId("initech".into()), 7), 1);
        assert_eq!(shard_of(&TenantId("anything".into()), 1), 0);
        let spread: std::collections::BTreeSet<u16> = (0..200)
            .map(|i| shard_of(&TenantId(format!("tenant-{i}")), 16))
            .collect();
        assert_eq!(spread.len(), 16, "200 tenants reach every one of 16 shards");
    }

    #[test]
    fn one_shard_keeps_the_engine_lease_of_an_unsharded_cluster() {
        assert_eq!(lease_name(0, 1), "engine");
        assert_eq!(lease_name(3, 16), "engine.3.of.16");
    }
}
