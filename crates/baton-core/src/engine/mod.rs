//! [`Core`]: the whole domain in memory, changed only by [`Core::apply`].
//!
//! `Core` holds the entities and the indexes over them; each concept below owns the
//! methods (and, where it can, the state) of one part of an apply:
//! - `requests`: an agent's `AdApi` method, dispatched to the concept that answers it.
//! - `sessions`: logins and their connections (`Connections`): connect, resync, disconnect,
//!   log out.
//! - `interactions`: an interaction's life from created to completed, and its parties.
//! - `admin`: tenants, services, agents and integrations as the admin API changes them.
//! - `timers`: deadlines as data (`Timers`), fired before every command.
//! - `queries`: read access for the shell and the other concepts.
//! - `changes`: what an apply changed (`ChangeSet`), handed to the store by
//!   [`Core::take_changes`].
//! - `flush`: what an apply shows agents and customers (`Views`), sent once at its end.

mod admin;
mod changes;
mod flush;
mod interactions;
mod queries;
mod requests;
mod sessions;
mod timers;

pub use admin::{conflict, is_conflict};
use changes::ChangeSet;
pub use changes::Changes;
use flush::Views;
use sessions::Connections;
pub(crate) use timers::Timer;
use timers::Timers;

use std::collections::{BTreeMap, BTreeSet};

use baton_protocol::{ApiError, ErrorCode, Millis, ServerFrame};

use crate::command::Command;
use crate::effect::{Effect, Output, Recipient};
use crate::entity::*;

/// Settings of the core that are not per tenant.
#[derive(Debug, Clone, Copy)]
pub struct CoreConfig {
    /// How long an agent whose connection dropped stays logged in, keeping their interactions.
    pub disconnect_grace_ms: u64,
    /// Most CRM records (`addInteractionAssociatedObject`) one interaction holds.
    pub max_associated_objects: usize,
    /// Caps on requests and interactions, and default queue limits (see [`crate::limits`]).
    pub limits: crate::limits::InteractionLimits,
    /// Key of the transfer-data digest in history (HMAC-SHA256); the server derives it
    /// from its server key. The default (zeros) is for tests only.
    pub digest_key: [u8; 32],
    /// The agent socket's frame limit (`[limits] max_frame_bytes`). The core never checks
    /// it; it is told to widgets in the hello answer so they refuse what cannot be sent.
    pub max_frame_bytes: usize,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            disconnect_grace_ms: 60_000,
            max_associated_objects: 100,
            limits: crate::limits::InteractionLimits::DEFAULT,
            digest_key: [0; 32],
            max_frame_bytes: 256 * 1024,
        }
    }
}

/// Everything the store holds for live work, read back at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub tenants: Vec<Tenant>,
    pub services: Vec<Service>,
    pub integrations: Vec<Integration>,
    pub agents: Vec<Agent>,
    /// Interactions that are not completed, each with its transcript (read from the
    /// message rows).
    pub interactions: Vec<Interaction>,
    /// Legs of those interactions, with their data where it was kept.
    pub legs: Vec<Leg>,
}

/// The domain. See the crate docs.
pub struct Core {
    pub(crate) config: CoreConfig,
    pub(crate) tenants: BTreeMap<TenantId, Tenant>,
    pub(crate) services: BTreeMap<ServiceId, Service>,
    integrations: BTreeMap<(TenantId, String), Integration>,
    pub(crate) agents: BTreeMap<AgentId, Agent>,
    pub(crate) interactions: BTreeMap<InteractionId, Interaction>,
    pub(crate) legs: BTreeMap<TransferId, Leg>,
    /// Which live interactions each agent is a party of.
    pub(crate) agent_interactions: BTreeMap<AgentId, BTreeSet<InteractionId>>,
    /// Open agent connections and whose they are (`sessions.rs`).
    connections: Connections,
    /// Deadlines still to come (`timers.rs`).
    timers: Timers,
    /// The last queue sequence number given out (see [`QueueEntry::seq`]).
    pub(crate) queue_seq: u64,
    /// Numbers the ids of interactions agents start (`startCall`, `startChat`).
    pub(crate) outbound_seq: u64,
    /// What the store has yet to commit (`changes.rs`).
    changes: ChangeSet,
    /// What this apply changed for agents and customers, and what they were shown (`flush.rs`).
    views: Views,
    // Per-apply scratch.
    pub(crate) now: Millis,
    pub(crate) out: Vec<Effect>,
    /// Per service, a moving average of how long routed customers waited (not stored:
    /// after a restart the estimate starts again).
    pub(crate) queue_wait: BTreeMap<ServiceId, u64>,
    /// Per tenant, the last hour of hand-offs and queue waits for the supervisor's charts
    /// (not stored: starts empty after a restart).
    pub(crate) stats: crate::stats::Stats,
    /// The routing index: queues and eligible agents per service (`queues.rs`).
    pub(crate) queues: crate::queues::Queues,
    /// Agents by username and extension per tenant (`names.rs`).
    pub(crate) names: crate::names::AgentNames,
}

/// What the customer (and the transcript) is told when no agent answered in time.
pub const QUEUE_WAIT_TEXT: &str = "No agent could take this chat in time. Please try again later.";

/// A customer still there whom no agent has answered yet (queued or only ringing).
pub(crate) fn unanswered(i: &Interaction) -> bool {
    i.customer_connected
        && i.legs.is_empty()
        && i.parties.iter().all(|p| p.state == PartyState::Ringing)
}

pub(crate) fn err(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

/// Hands out the next number of a counter.
pub(crate) fn next_seq(counter: &mut u64) -> u64 {
    *counter += 1;
    *counter
}

pub(crate) type CoreResult<T = serde_json::Value> = Result<T, ApiError>;

impl Core {
    pub fn new(config: CoreConfig) -> Self {
        Self {
            config,
            tenants: BTreeMap::new(),
            services: BTreeMap::new(),
            integrations: BTreeMap::new(),
            agents: BTreeMap::new(),
            interactions: BTreeMap::new(),
            legs: BTreeMap::new(),
            agent_interactions: BTreeMap::new(),
            connections: Connections::default(),
            timers: Timers::default(),
            queue_seq: 0,
            outbound_seq: 0,
            changes: ChangeSet::default(),
            now: 0,
            out: Vec::new(),
            views: Views::default(),
            queue_wait: BTreeMap::new(),
            stats: Default::default(),
            queues: Default::default(),
            names: Default::default(),
        }
    }

    /// Rebuilds the core after a restart. Nobody is connected yet: logged-in agents get the
    /// disconnect grace to come back, ringing offers ring again from `now`, and collection
    /// deadlines keep their original time.
    pub fn restore(config: CoreConfig, snapshot: Snapshot, now: Millis) -> Self {
        let mut core = Core::new(config);
        core.now = now;
        for t in snapshot.tenants {
            core.tenants.insert(t.id.clone(), t);
        }
        for s in snapshot.services {
            core.services.insert(s.id.clone(), s);
        }
        for i in snapshot.integrations {
            core.integrations
                .insert((i.tenant.clone(), i.key.clone()), i);
        }
        for mut a in snapshot.agents {
            if let Some(login) = a.login.as_mut() {
                login.conn = None;
                login.disconnected_since = Some(now);
                core.timers.set(
                    now + config.disconnect_grace_ms as Millis,
                    Timer::Grace {
                        agent: a.id.clone(),
                    },
                );
            }
            core.names.insert(&a);
            core.agents.insert(a.id.clone(), a);
        }
        for leg in snapshot.legs {
            if let Some(deadline) = leg.collect_deadline.filter(|_| leg.collected.is_none()) {
                core.timers.set(
                    deadline.max(now),
                    Timer::Collect {
                        leg: leg.id.clone(),
                    },
                );
            }
            core.legs.insert(leg.id.clone(), leg);
        }
        for mut i in snapshot.interactions {
            let ring = core.ring_timeout(&i.service);
            for p in &mut i.parties {
                core.agent_interactions
                    .entry(p.agent.clone())
                    .or_default()
                    .insert(i.id.clone());
                if p.state == PartyState::Ringing {
                    p.ring_expires_at = Some(now + ring);
                    core.timers.set(
                        now + ring,
                        Timer::Ring {
                            interaction: i.id.clone(),
                            agent: p.agent.clone(),
                        },
                    );
                }
            }
            let seqs = i
                .queue
                .iter()
                .chain(i.parties.iter().filter_map(|p| p.routed_from.as_ref()));
            core.queue_seq = seqs.map(|q| q.seq).fold(core.queue_seq, u64::max);
            if let Some(wait) = core.queue_wait(&i.service).filter(|_| unanswered(&i)) {
                core.timers.set(
                    (i.created_at + wait).max(now),
                    Timer::QueueWait {
                        interaction: i.id.clone(),
                    },
                );
            }
            core.interactions.insert(i.id.clone(), i);
        }
        core.rebuild_routing();
        core
    }

    /// When [`Command::Tick`] should next be applied.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.next_due()
    }

    /// Applies one command at time `now`. Changes accumulate until [`Core::take_changes`].
    pub fn apply(&mut self, command: Command, now: Millis) -> Output {
        self.now = now;
        // Deadlines that passed are settled before anything else: an accept that arrives
        // after its offer rang out finds it gone, whoever ticks the clock.
        if !matches!(command, Command::Tick) && self.next_deadline().is_some_and(|at| at <= now) {
            self.fire_due_timers();
        }
        let reply = match command {
            Command::Connect {
                agent,
                session,
                conn,
                integration_key,
            } => Some(self.connect(agent, session, conn, integration_key, false)),
            Command::Resync {
                agent,
                session,
                conn,
                integration_key,
            } => Some(self.connect(agent, session, conn, integration_key, true)),
            Command::Disconnect { conn } => {
                self.disconnect(conn);
                None
            }
            Command::Request { conn, method } => Some(self.request(conn, method)),
            Command::Reply {
                conn,
                rid,
                value,
                error,
            } => {
                self.reply(conn, &rid, value, error);
                None
            }
            Command::NewInteraction {
                id,
                tenant,
                channel,
                service,
                customer,
                attached_data,
                customer_token_hash,
            } => Some(self.new_interaction(
                id,
                tenant,
                channel,
                &service,
                customer,
                attached_data,
                customer_token_hash,
            )),
            Command::CustomerMessage { interaction, text } => {
                Some(self.customer_message(&interaction, text))
            }
            Command::CustomerHangup { interaction } => Some(self.customer_hangup(&interaction)),
            Command::PostAttachment {
                interaction,
                agent,
                attachment,
            } => Some(self.post_attachment(&interaction, agent.as_ref(), attachment)),
            Command::SupervisorSetAgentState {
                supervisor,
                username,
                state,
                reason,
            } => Some(self.supervisor_set_state(&supervisor, &username, &state, reason)),
            Command::CustomerTyping {
                interaction,
                typing,
            } => Some(self.customer_typing(&interaction, typing)),
            Command::CallMedia {
                interaction,
                change,
            } => Some(self.call_media(&interaction, change)),
            Command::Admin(admin) => Some(self.admin(admin)),
            Command::Tick => {
                self.fire_due_timers();
                None
            }
            Command::NodeDown { node } => {
                self.node_down(node);
                None
            }
        };
        self.route_all();
        self.flush_views();
        self.close_customers_last();
        #[cfg(debug_assertions)]
        if let Err(broken) = crate::invariants::check(self) {
            panic!("core invariant broken: {broken}");
        }
        Output {
            reply,
            effects: std::mem::take(&mut self.out),
        }
    }

    pub(crate) fn send_agent(&mut self, agent: &AgentId, frame: ServerFrame) {
        if let Some(conn) = self.agents.get(agent).and_then(Agent::conn) {
            self.out.push(Effect::Send {
                to: Recipient::Agent(conn),
                frame,
            });
        }
    }

    pub(crate) fn emit(
        &mut self,
        agent: &AgentId,
        event: &str,
        args: Vec<Box<serde_json::value::RawValue>>,
    ) {
        self.send_agent(agent, ServerFrame::event(event, args));
    }
}
