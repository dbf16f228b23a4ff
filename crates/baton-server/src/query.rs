//! Reads of the engine's state, as data: in a cluster they travel to the engine's node.

use baton_core::{AgentId, Core, Integration, Interaction, InteractionId, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Query {
    /// Whether some integration lists this origin (agent sockets from CRM pages).
    OriginAllowed(String),
    /// Every origin any integration lists (`frame-ancestors` of `/widget/`).
    FrameOrigins,
    Integration {
        tenant: TenantId,
        key: String,
    },
    /// The keys of a tenant's integrations that list this origin (a hello without a key).
    IntegrationsAllowing {
        tenant: TenantId,
        origin: String,
    },
    TenantExists(TenantId),
    AgentExists {
        tenant: TenantId,
        username: String,
    },
    InteractionLive(InteractionId),
    /// The customer socket's opening frames, as text.
    CustomerGreeting(InteractionId),
    /// The customer's `state` now, `null` once the interaction has ended.
    CustomerState(InteractionId),
    /// An agent's display name, if the agent exists.
    AgentName(baton_core::AgentId),
    /// Whether the agent has the supervisor role.
    IsSupervisor(baton_core::AgentId),
    /// The supervisor console's picture of a tenant.
    SupervisorOverview(TenantId, baton_protocol::Millis),
    /// The supervisor console's charts: the last `minutes` one-minute buckets of a tenant.
    SupervisorStats(TenantId, baton_protocol::Millis, u32),
    /// Admin view; the stored copy is used when the interaction is no longer live.
    InteractionSummary(Box<Interaction>),
    Services(TenantId),
    /// `(tenant, retentionSecs)` of every tenant.
    Retention,
    /// Interaction counts by status and logged-in agents, for `/metrics`.
    Gauges,
    /// Admin reads of the desk directory; answered as `Result<Value, ApiError>`.
    Directory {
        tenant: TenantId,
        read: baton_core::DirectoryRead,
    },
    Ping,
    /// A tenant's agents as the admin API shows them, by username.
    AgentsOf(TenantId),
    /// An agent of a tenant by id or username: its admin view, or null.
    AgentView {
        tenant: TenantId,
        key: String,
    },
    /// Whether an agent is disabled (`null` when it does not exist).
    AgentDisabled(AgentId),
}

/// Answers a query from the core's committed state.
pub fn answer(core: &Core, query: &Query) -> Value {
    match query {
        Query::OriginAllowed(origin) => json!(
            core.integrations()
                .any(|i| i.allowed_origins.iter().any(|o| o == origin))
        ),
        Query::FrameOrigins => {
            let origins: std::collections::BTreeSet<&String> = core
                .integrations()
                .flat_map(|i| i.allowed_origins.iter())
                .collect();
            json!(origins)
        }
        Query::Integration { tenant, key } => json!(core.integration(tenant, key).cloned()),
        Query::IntegrationsAllowing { tenant, origin } => {
            let keys: Vec<&String> = core
                .integrations()
                .filter(|i| &i.tenant == tenant && i.allowed_origins.contains(origin))
                .map(|i| &i.key)
                .collect();
            json!(keys)
        }
        Query::TenantExists(tenant) => json!(core.tenant(tenant).is_some()),
        Query::AgentExists { tenant, username } => {
            json!(core.agent_by_username(tenant, username).is_some())
        }
        Query::InteractionLive(id) => json!(core.interaction(id).is_some()),
        Query::CustomerGreeting(id) => json!(
            core.customer_greeting(id)
                .iter()
                .map(|f| f.to_text())
                .collect::<Vec<_>>()
        ),
        Query::CustomerState(id) => json!(core.customer_view(id)),
        Query::AgentName(agent) => json!(core.agent(agent).map(|a| a.display_name.clone())),
        Query::IsSupervisor(agent) => json!(core.is_supervisor(agent)),
        Query::SupervisorOverview(tenant, now) => core.supervisor_overview(tenant, *now),
        Query::SupervisorStats(tenant, now, minutes) => {
            core.supervisor_stats(tenant, *now, *minutes)
        }
        Query::InteractionSummary(stored) => {
            let summary = match core.interaction(&stored.id) {
                Some(live) => core.interaction_summary(live),
                None => core.interaction_summary(stored),
            };
            json!(summary)
        }
        Query::Services(tenant) => json!(core.services_of(tenant)),
        Query::Retention => json!(
            core.tenants()
                .map(|t| (t.id.clone(), t.settings.retention_secs))
                .collect::<Vec<_>>()
        ),
        Query::Gauges => {
            let mut by_status = [0u64; 5];
            for i in core.interactions() {
                by_status[i.status() as usize] += 1;
            }
            let logged_in = core.agents().filter(|a| a.is_logged_in()).count() as u64;
            json!({"byStatus": by_status, "loggedIn": logged_in})
        }
        Query::Directory { tenant, read } => json!(core.directory_read(tenant, read)),
        Query::Ping => Value::Null,
        Query::AgentsOf(tenant) => {
            let mut agents: Vec<&baton_core::Agent> =
                core.agents().filter(|a| &a.tenant == tenant).collect();
            agents.sort_by(|a, b| a.username.cmp(&b.username));
            json!(
                agents
                    .iter()
                    .map(|a| core.agent_admin_view(&a.id))
                    .collect::<Vec<_>>()
            )
        }
        Query::AgentView { tenant, key } => {
            let by_id = core
                .agent(&AgentId(key.clone()))
                .filter(|a| &a.tenant == tenant);
            match by_id.or_else(|| core.agent_by_username(tenant, key)) {
                Some(a) => core.agent_admin_view(&a.id),
                None => Value::Null,
            }
        }
        Query::AgentDisabled(id) => json!(core.agent(id).map(|a| a.disabled)),
    }
}

/// The answer to [`Query::Gauges`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gauges {
    pub by_status: [u64; 5],
    pub logged_in: u64,
}

pub type MaybeIntegration = Option<Integration>;
