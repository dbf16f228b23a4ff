//! [`Core`]: the whole domain in memory, changed only by [`Core::apply`].

use std::collections::{BTreeMap, BTreeSet};

use baton_protocol::frame::arg;
use baton_protocol::{
    AgentStateData, AgentStateName, ApiError, ErrorCode, InteractionsState, Method, Millis,
    ServerFrame, ServiceInfo, TransferData, TransferRecord, events,
};

use crate::command::{AdminCommand, Command};
use crate::effect::{Effect, Output, Recipient};
use crate::entity::*;
use crate::handoff::Handoff;

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

/// A timer is data: a due time and what it is for. Stale timers are checked and ignored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    Ring {
        interaction: InteractionId,
        agent: AgentId,
    },
    Collect {
        leg: TransferId,
    },
    Grace {
        agent: AgentId,
    },
    /// A customer's longest wait in the queue (the service's `max_queue_wait_ms`).
    QueueWait {
        interaction: InteractionId,
    },
}

/// The records changed since the last [`Core::take_changes`], to be committed in one transaction.
#[derive(Debug, Default)]
pub struct Changes {
    pub tenants: Vec<Tenant>,
    pub services: Vec<Service>,
    pub integrations: Vec<Integration>,
    pub agents: Vec<Agent>,
    pub interactions: Vec<Interaction>,
    pub legs: Vec<Leg>,
    /// Transfer data, written once with its leg.
    pub leg_data: Vec<(TransferId, InteractionId, TransferData)>,
    /// Chat messages posted since the last commit, each appended as a row of its own. The
    /// interactions above carry no transcript (decision 0016).
    pub messages: Vec<AppendedMessage>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
            && self.services.is_empty()
            && self.integrations.is_empty()
            && self.agents.is_empty()
            && self.interactions.is_empty()
            && self.legs.is_empty()
            && self.leg_data.is_empty()
            && self.messages.is_empty()
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

#[derive(Default)]
pub(crate) struct Dirty {
    tenants: BTreeSet<TenantId>,
    services: BTreeSet<ServiceId>,
    integrations: BTreeSet<(TenantId, String)>,
    pub(crate) agents: BTreeSet<AgentId>,
    interactions: BTreeSet<InteractionId>,
    legs: BTreeSet<TransferId>,
    leg_data: BTreeSet<TransferId>,
    /// Per interaction, the index of its first message not yet committed.
    messages: BTreeMap<InteractionId, usize>,
}

/// The domain. See the crate docs.
pub struct Core {
    pub(crate) config: CoreConfig,
    pub(crate) tenants: BTreeMap<TenantId, Tenant>,
    pub(crate) services: BTreeMap<ServiceId, Service>,
    pub(crate) integrations: BTreeMap<(TenantId, String), Integration>,
    pub(crate) agents: BTreeMap<AgentId, Agent>,
    pub(crate) interactions: BTreeMap<InteractionId, Interaction>,
    pub(crate) legs: BTreeMap<TransferId, Leg>,
    /// Which live interactions each agent is a party of.
    pub(crate) agent_interactions: BTreeMap<AgentId, BTreeSet<InteractionId>>,
    pub(crate) conns: BTreeMap<u64, AgentId>,
    pub(crate) timers: BTreeSet<(Millis, Timer)>,
    /// The last queue sequence number given out (see [`QueueEntry::seq`]).
    pub(crate) queue_seq: u64,
    /// Numbers the ids of interactions agents start (`startCall`, `startChat`).
    pub(crate) outbound_seq: u64,
    pub(crate) dirty: Dirty,
    // Per-apply scratch.
    pub(crate) now: Millis,
    pub(crate) out: Vec<Effect>,
    pub(crate) touched_interactions: BTreeSet<InteractionId>,
    pub(crate) touched_agents: BTreeSet<AgentId>,
    pub(crate) announced: BTreeSet<(InteractionId, AgentId)>,
    shown_agent_state: BTreeMap<AgentId, AgentStateData>,
    pub(crate) shown_customer_state: BTreeMap<InteractionId, baton_protocol::CustomerState>,
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
            conns: BTreeMap::new(),
            timers: BTreeSet::new(),
            queue_seq: 0,
            outbound_seq: 0,
            dirty: Dirty::default(),
            now: 0,
            out: Vec::new(),
            touched_interactions: BTreeSet::new(),
            touched_agents: BTreeSet::new(),
            announced: BTreeSet::new(),
            shown_agent_state: BTreeMap::new(),
            shown_customer_state: BTreeMap::new(),
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
                core.timers.insert((
                    now + config.disconnect_grace_ms as Millis,
                    Timer::Grace {
                        agent: a.id.clone(),
                    },
                ));
            }
            core.names.insert(&a);
            core.agents.insert(a.id.clone(), a);
        }
        for leg in snapshot.legs {
            if let Some(deadline) = leg.collect_deadline.filter(|_| leg.collected.is_none()) {
                core.timers.insert((
                    deadline.max(now),
                    Timer::Collect {
                        leg: leg.id.clone(),
                    },
                ));
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
                    core.timers.insert((
                        now + ring,
                        Timer::Ring {
                            interaction: i.id.clone(),
                            agent: p.agent.clone(),
                        },
                    ));
                }
            }
            let seqs = i
                .queue
                .iter()
                .chain(i.parties.iter().filter_map(|p| p.routed_from.as_ref()));
            core.queue_seq = seqs.map(|q| q.seq).fold(core.queue_seq, u64::max);
            if let Some(wait) = core.queue_wait(&i.service).filter(|_| unanswered(&i)) {
                core.timers.insert((
                    (i.created_at + wait).max(now),
                    Timer::QueueWait {
                        interaction: i.id.clone(),
                    },
                ));
            }
            core.interactions.insert(i.id.clone(), i);
        }
        core.rebuild_routing();
        core
    }

    /// When [`Command::Tick`] should next be applied.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.first().map(|(at, _)| *at)
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
            Command::Admin(admin) => Some(self.admin(admin)),
            Command::Tick => {
                self.fire_due_timers();
                None
            }
            Command::NodeDown { node } => {
                let gone: Vec<u64> = self
                    .conns
                    .keys()
                    .copied()
                    .filter(|c| crate::command::node_of(*c) == node)
                    .collect();
                for conn in gone {
                    self.disconnect(conn);
                }
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

    /// The records changed since the last call. Completed interactions (and their legs)
    /// leave memory here: the store keeps their history.
    pub fn take_changes(&mut self) -> Changes {
        let dirty = std::mem::take(&mut self.dirty);
        let mut changes = Changes {
            tenants: dirty
                .tenants
                .iter()
                .filter_map(|id| self.tenants.get(id).cloned())
                .collect(),
            services: dirty
                .services
                .iter()
                .filter_map(|id| self.services.get(id).cloned())
                .collect(),
            integrations: dirty
                .integrations
                .iter()
                .filter_map(|k| self.integrations.get(k).cloned())
                .collect(),
            agents: dirty
                .agents
                .iter()
                .filter_map(|id| self.agents.get(id).cloned())
                .collect(),
            interactions: Vec::new(),
            legs: dirty
                .legs
                .iter()
                .filter_map(|id| self.legs.get(id).cloned())
                .collect(),
            leg_data: dirty
                .leg_data
                .iter()
                .filter_map(|id| {
                    let leg = self.legs.get(id)?;
                    Some((leg.id.clone(), leg.interaction.clone(), leg.data.clone()?))
                })
                .collect(),
            messages: Vec::new(),
        };
        // Before the interactions: a completed one leaves memory below.
        for (id, first) in &dirty.messages {
            let Some(i) = self.interactions.get(id) else {
                continue;
            };
            changes
                .messages
                .extend(i.messages.iter().enumerate().skip(*first).map(|(seq, m)| {
                    AppendedMessage {
                        interaction: id.clone(),
                        seq: seq as u64,
                        message: m.clone(),
                    }
                }));
        }
        for id in &dirty.interactions {
            let Some(i) = self.interactions.get_mut(id) else {
                continue;
            };
            i.version += 1;
            // The record without its transcript: the messages are rows of their own.
            let transcript = std::mem::take(&mut i.messages);
            changes.interactions.push(i.clone());
            i.messages = transcript;
            if i.completed_at.is_some() {
                let i = self.interactions.remove(id).expect("present");
                for leg in &i.legs {
                    self.legs.remove(leg);
                }
                self.shown_customer_state.remove(id);
            }
        }
        changes
    }

    // ----- bookkeeping -------------------------------------------------------------------

    pub(crate) fn touch_interaction(&mut self, id: &InteractionId) {
        self.dirty.interactions.insert(id.clone());
        self.touched_interactions.insert(id.clone());
        self.queues.pending_interactions.insert(id.clone());
    }

    pub(crate) fn touch_agent(&mut self, id: &AgentId) {
        self.dirty.agents.insert(id.clone());
        self.touched_agents.insert(id.clone());
        self.queues.pending_agents.insert(id.clone());
    }

    pub(crate) fn mark_tenant(&mut self, id: &TenantId) {
        self.dirty.tenants.insert(id.clone());
    }

    pub(crate) fn mark_service(&mut self, id: &ServiceId) {
        self.dirty.services.insert(id.clone());
    }

    pub(crate) fn mark_integration(&mut self, key: &(TenantId, String)) {
        self.dirty.integrations.insert(key.clone());
    }

    pub(crate) fn touch_leg(&mut self, id: &TransferId) {
        self.dirty.legs.insert(id.clone());
    }

    pub(crate) fn touch_leg_data(&mut self, id: &TransferId) {
        self.dirty.leg_data.insert(id.clone());
        self.dirty.legs.insert(id.clone());
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

    pub(crate) fn ring_timeout(&self, service: &ServiceId) -> Millis {
        self.services
            .get(service)
            .map_or(20_000, |s| s.ring_timeout_ms as Millis)
    }

    /// A service's longest queue wait, if it has one.
    pub(crate) fn queue_wait(&self, service: &ServiceId) -> Option<Millis> {
        let s = self.services.get(service)?;
        let wait = s
            .max_queue_wait_ms
            .unwrap_or(self.config.limits.default_max_queue_wait_ms);
        (wait > 0).then_some(wait as Millis)
    }

    /// Refuses a new interaction when its service already has its maximum waiting.
    fn check_queue_room(&mut self, service: &ServiceId, name: &str) -> CoreResult<()> {
        let max = self.services[service]
            .max_queue_length
            .unwrap_or(self.config.limits.default_max_queue_length);
        if max == 0 {
            return Ok(());
        }
        // Timers fired before this command may have changed who waits.
        self.sync_routing();
        let waiting = self.queues.unanswered(service);
        if waiting >= max as usize {
            return Err(err(
                ErrorCode::RateLimited,
                format!(
                    "service {name:?} has its maximum of {max} customers waiting; try again later"
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn settings(&self, tenant: &TenantId) -> TenantSettings {
        self.tenants
            .get(tenant)
            .map(|t| t.settings)
            .unwrap_or_default()
    }

    /// Adds an agent party and indexes it.
    pub(crate) fn add_party(&mut self, interaction: &InteractionId, party: AgentParty) {
        let agent = party.agent.clone();
        if party.state == PartyState::Ringing {
            self.log_offered(interaction, &party);
        }
        if party.state == PartyState::Ringing
            && let Some(at) = party.ring_expires_at
        {
            self.timers.insert((
                at,
                Timer::Ring {
                    interaction: interaction.clone(),
                    agent: agent.clone(),
                },
            ));
        }
        if let Some(i) = self.interactions.get_mut(interaction) {
            i.parties.retain(|p| p.agent != agent);
            i.parties.push(party);
        }
        self.agent_interactions
            .entry(agent.clone())
            .or_default()
            .insert(interaction.clone());
        self.touch_interaction(interaction);
        self.touch_agent(&agent);
    }

    /// Removes an agent's party, tells them, and moves them to after-call work when it was
    /// their last interaction.
    pub(crate) fn remove_party(
        &mut self,
        interaction: &InteractionId,
        agent: &AgentId,
    ) -> Option<AgentParty> {
        let i = self.interactions.get_mut(interaction)?;
        let index = i.parties.iter().position(|p| &p.agent == agent)?;
        let party = i.parties.remove(index);
        if party.state != PartyState::Ringing && !i.past_parties.contains(agent) {
            i.past_parties.push(agent.clone());
        }
        if let Some(set) = self.agent_interactions.get_mut(agent) {
            set.remove(interaction);
        }
        self.announced.remove(&(interaction.clone(), agent.clone()));
        self.emit(
            agent,
            events::ON_INTERACTION_REMOVED,
            vec![arg(&interaction.0)],
        );
        let now = self.now;
        let left_empty = self
            .agent_interactions
            .get(agent)
            .is_none_or(BTreeSet::is_empty);
        let mut was_active = false;
        if let Some(a) = self.agents.get_mut(agent) {
            if a.active_interaction.as_ref() == Some(interaction) {
                a.active_interaction = None;
                was_active = true;
            }
            if left_empty {
                a.idle_since = now;
                if party.state != PartyState::Ringing
                    && a.chosen == ChosenState::Ready
                    && a.login.is_some()
                {
                    a.chosen = ChosenState::AfterCallWork;
                }
            }
        }
        if was_active {
            // Bright Pattern's `(interactionId | null)`: the host learns that nothing is active
            // any more, so it does not act on an interaction the agent has left.
            self.emit(
                agent,
                events::ON_ACTIVE_INTERACTION_SWITCHED,
                vec![arg(&None::<&str>)],
            );
        }
        self.touch_interaction(interaction);
        self.touch_agent(agent);
        Some(party)
    }

    pub(crate) fn agent_interaction_ids(&self, agent: &AgentId) -> Vec<InteractionId> {
        self.agent_interactions
            .get(agent)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Marks an interaction completed when nobody is left on it.
    pub(crate) fn complete_if_empty(&mut self, id: &InteractionId) {
        let now = self.now;
        let Some(i) = self.interactions.get_mut(id) else {
            return;
        };
        if i.parties.is_empty() && i.queue.is_none() && i.completed_at.is_none() {
            i.completed_at = Some(now);
            i.customer_connected = false;
            self.out.push(Effect::CloseCustomer {
                interaction: id.clone(),
            });
            self.touch_interaction(id);
            self.log_completed(id);
        }
    }

    // ----- connections -------------------------------------------------------------------

    fn connect(
        &mut self,
        agent_id: AgentId,
        session: SessionId,
        conn: u64,
        integration_key: Option<String>,
        resync: bool,
    ) -> CoreResult {
        let Some(agent) = self.agents.get(&agent_id) else {
            return Err(err(
                ErrorCode::UserDisabledOrDeleted,
                "this agent was deleted",
            ));
        };
        if agent.disabled {
            return Err(err(
                ErrorCode::UserDisabledOrDeleted,
                "this agent is disabled",
            ));
        }
        let previous = agent.login.clone();
        if let Some(old) = &previous {
            // The same connection announcing itself again (a new cluster engine) is no rival.
            if let Some(old_conn) = old.conn.filter(|c| *c != conn) {
                self.out.push(Effect::Send {
                    to: Recipient::Agent(old_conn),
                    frame: ServerFrame::event(
                        events::ON_SERVER_ERROR,
                        vec![arg(&ApiError::new(
                            ErrorCode::ForcedLogoutByOtherClient,
                            "this agent logged in from another client",
                        ))],
                    ),
                });
                self.out.push(Effect::Close { conn: old_conn });
                self.conns.remove(&old_conn);
            }
            if old.session != session {
                self.out.push(Effect::RevokeSession {
                    session: old.session.clone(),
                });
            }
        }
        let now = self.now;
        let agent = self.agents.get_mut(&agent_id).expect("checked");
        if previous.is_none() {
            agent.chosen = ChosenState::NotReady { reason: None };
            agent.idle_since = now;
        }
        // The same session reconnecting keeps what the CRM set for it.
        let dial_candidates = previous
            .filter(|old| old.session == session)
            .map(|old| old.dial_candidates)
            .unwrap_or_default();
        agent.login = Some(Login {
            session,
            integration_key,
            conn: Some(conn),
            disconnected_since: None,
            dial_candidates,
        });
        self.conns.insert(conn, agent_id.clone());
        self.touch_agent(&agent_id);

        let agent = &self.agents[&agent_id];
        let state = self.agent_state(agent);
        let login = serde_json::json!({
            "agentId": agent.id, "username": agent.username, "displayName": agent.display_name,
            "extension": agent.extension, "state": state.state, "notReadyReason": state.not_ready_reason,
            "dialCandidates": agent.login.as_ref().map(|l| &l.dial_candidates),
        });
        self.shown_agent_state.insert(agent_id.clone(), state);
        // A socket that stayed open saw its login; a second one would reset the page.
        if !resync {
            self.emit(&agent_id, events::ON_LOGIN, vec![arg(&login)]);
        }
        // Give a reconnecting widget its interactions back, then replay their transfer data.
        // An open socket may have missed an event when the old engine died, so it gets them
        // too, marked as replays, like the transfer data (a CRM must not open a case twice).
        for id in self.agent_interaction_ids(&agent_id) {
            if resync {
                let view = self.interaction_view(&id, &agent_id);
                self.announced.insert((id.clone(), agent_id.clone()));
                let meta = serde_json::json!({ "replay": true });
                self.emit(
                    &agent_id,
                    events::ON_NEW_INTERACTION,
                    vec![arg(&view), arg(&meta)],
                );
            } else {
                self.announce(&id, &agent_id);
            }
            let via = self.interactions[&id]
                .party(&agent_id)
                .and_then(|p| p.via_leg.clone());
            if let Some(leg) = via {
                self.deliver(&leg, &agent_id, true);
            }
        }
        let agent = &self.agents[&agent_id];
        Ok(serde_json::json!({
            "agentId": agent.id, "sessionId": agent.login.as_ref().map(|l| l.session.clone()),
            "tenant": agent.tenant, "username": agent.username, "displayName": agent.display_name,
            "extension": agent.extension,
            // So a widget can refuse over-long text before sending it (docs/protocol.md).
            "limits": {
                "maxMessageChars": self.config.limits.max_message_chars,
                "maxFrameBytes": self.config.max_frame_bytes,
            },
        }))
    }

    fn disconnect(&mut self, conn: u64) {
        let Some(agent_id) = self.conns.remove(&conn) else {
            return;
        };
        let now = self.now;
        let grace = self.config.disconnect_grace_ms as Millis;
        let Some(login) = self
            .agents
            .get_mut(&agent_id)
            .and_then(|a| a.login.as_mut())
        else {
            return;
        };
        if login.conn == Some(conn) {
            login.conn = None;
            login.disconnected_since = Some(now);
            self.timers.insert((
                now + grace,
                Timer::Grace {
                    agent: agent_id.clone(),
                },
            ));
            self.touch_agent(&agent_id);
        }
    }

    /// Ends an agent's login: offers move on, live interactions go back to their queue,
    /// wrap-ups complete.
    pub(crate) fn log_out(&mut self, agent_id: &AgentId, reason: &str) {
        let Some(agent) = self.agents.get(agent_id) else {
            return;
        };
        let Some(login) = agent.login.clone() else {
            return;
        };
        // The interactions first: their `ON_INTERACTION_REMOVED` frames must reach the
        // connection before `ON_LOGOUT` and the close, never after it.
        for id in self.agent_interaction_ids(agent_id) {
            let Some(party) = self.interactions[&id].party(agent_id).cloned() else {
                continue;
            };
            match party.state {
                PartyState::Ringing => self.offer_failed(&id, agent_id, "target_logged_out"),
                PartyState::WrapUp => {
                    self.remove_party(&id, agent_id);
                    self.complete_if_empty(&id);
                }
                PartyState::Connected | PartyState::Hold if self.interactions[&id].internal => {
                    self.end_internal_call(&id);
                    self.remove_party(&id, agent_id);
                    self.complete_if_empty(&id);
                }
                PartyState::Connected | PartyState::Hold => {
                    self.hand_to_heir(&id, agent_id);
                    self.remove_party(&id, agent_id);
                    let i = &self.interactions[&id];
                    let others = i.parties.iter().any(|p| p.state != PartyState::Ringing);
                    if !others && i.customer_connected {
                        // The leg that brought it here is still the current one: the next
                        // agent offered it gets its data (rules 9 and 11). A failed leg's
                        // data is never delivered, so `deliver` skips it.
                        let entry = QueueEntry {
                            service: i.service.clone(),
                            since: i.created_at,
                            seq: next_seq(&mut self.queue_seq),
                            leg: party.via_leg.clone(),
                        };
                        let ringing: Vec<AgentId> =
                            i.parties.iter().map(|p| p.agent.clone()).collect();
                        for r in ringing {
                            self.remove_party(&id, &r);
                        }
                        self.fail_pending(&id, "sender_logged_out");
                        let i = self.interactions.get_mut(&id).expect("live");
                        i.queue = Some(entry);
                        self.touch_interaction(&id);
                    }
                    self.complete_if_empty(&id);
                }
            }
        }
        if let Some(conn) = login.conn {
            self.emit(agent_id, events::ON_LOGOUT, vec![arg(&reason)]);
            self.out.push(Effect::Close { conn });
            self.conns.remove(&conn);
        }
        self.out.push(Effect::RevokeSession {
            session: login.session,
        });
        let agent = self.agents.get_mut(agent_id).expect("checked");
        agent.login = None;
        agent.chosen = ChosenState::NotReady { reason: None };
        agent.active_interaction = None;
        self.shown_agent_state.remove(agent_id);
        self.touch_agent(agent_id);
    }

    fn fire_due_timers(&mut self) {
        while let Some((at, _)) = self.timers.first() {
            if *at > self.now {
                break;
            }
            let (_, timer) = self.timers.pop_first().expect("non-empty");
            match timer {
                Timer::Ring { interaction, agent } => {
                    let due = self
                        .interactions
                        .get(&interaction)
                        .and_then(|i| i.party(&agent))
                        .is_some_and(|p| {
                            p.state == PartyState::Ringing
                                && p.ring_expires_at.is_some_and(|t| t <= self.now)
                        });
                    if due {
                        self.ring_timed_out(&interaction, &agent);
                    }
                }
                Timer::Collect { leg } => {
                    let due = self.legs.get(&leg).is_some_and(|l| {
                        l.collected.is_none() && l.collect_deadline.is_some_and(|t| t <= self.now)
                    });
                    if due {
                        self.finish_collection(&leg, baton_protocol::Outcome::Timeout, None);
                    }
                }
                Timer::Grace { agent } => {
                    let grace = self.config.disconnect_grace_ms as Millis;
                    let due = self
                        .agents
                        .get(&agent)
                        .and_then(|a| a.login.as_ref())
                        .is_some_and(|l| {
                            l.conn.is_none()
                                && l.disconnected_since.is_some_and(|s| s + grace <= self.now)
                        });
                    if due {
                        self.log_out(&agent, "disconnected");
                    }
                }
                Timer::QueueWait { interaction } => {
                    if self.interactions.get(&interaction).is_some_and(unanswered) {
                        let _ = self.customer_gone(&interaction, QUEUE_WAIT_TEXT);
                    }
                }
            }
        }
    }

    // ----- agent requests ----------------------------------------------------------------

    fn request(&mut self, conn: u64, method: Method) -> CoreResult {
        let Some(agent) = self.conns.get(&conn).cloned() else {
            return Err(err(
                ErrorCode::NotLoggedIn,
                "this connection is not logged in",
            ));
        };
        let now = self.now;
        self.config.limits.check_method(&method)?;
        match method {
            Method::GetLoginState => {
                let a = &self.agents[&agent];
                Ok(
                    serde_json::json!({"loggedIn": a.login.is_some(), "agentId": a.id, "username": a.username}),
                )
            }
            Method::Logout => {
                self.log_out(&agent, "logout");
                Ok(serde_json::Value::Null)
            }
            Method::GetAgentState => {
                Ok(serde_json::to_value(self.agent_state(&self.agents[&agent])).expect("json"))
            }
            Method::SetAgentState { state, reason } => {
                let chosen = match AgentStateName::parse(&state) {
                    Some(AgentStateName::Ready) => ChosenState::Ready,
                    Some(AgentStateName::NotReady) => ChosenState::NotReady {
                        reason: self.check_not_ready_reason(&agent, reason)?,
                    },
                    Some(AgentStateName::AfterCallWork) => ChosenState::AfterCallWork,
                    Some(AgentStateName::Ringing | AgentStateName::Busy) => {
                        return Err(err(
                            ErrorCode::InvalidArgs,
                            format!("{state} is set by the server"),
                        ));
                    }
                    None => {
                        return Err(err(
                            ErrorCode::InvalidArgs,
                            format!("unknown state {state:?}"),
                        ));
                    }
                };
                let a = self.agents.get_mut(&agent).expect("connected");
                if chosen == ChosenState::Ready && a.chosen != ChosenState::Ready {
                    a.idle_since = now;
                }
                a.chosen = chosen;
                self.touch_agent(&agent);
                Ok(serde_json::Value::Null)
            }
            Method::GetTeams => self.teams(&agent),
            Method::GetTeamMembers { team_id } => self.team_members(&agent, &team_id),
            Method::GetServicesList => {
                let list = self.services_of(&self.agents[&agent].tenant);
                Ok(serde_json::to_value(list).expect("json"))
            }
            Method::GetInteractionsState => {
                let interactions = self
                    .agent_interaction_ids(&agent)
                    .iter()
                    .map(|id| self.interaction_view(id, &agent))
                    .collect();
                let state = InteractionsState {
                    active_interaction_id: self.agents[&agent]
                        .active_interaction
                        .as_ref()
                        .map(|i| i.0.clone()),
                    interactions,
                };
                Ok(serde_json::to_value(state).expect("json"))
            }
            Method::AcceptInteraction { id } => {
                let id = self.pick_offer(&agent, id)?;
                self.accept(&id, &agent)
            }
            Method::RejectInteraction { id } => {
                let id = self.pick(&agent, id, |p| p.state == PartyState::Ringing)?;
                self.offer_failed(&id, &agent, "rejected");
                Ok(serde_json::Value::Null)
            }
            Method::SwitchActiveInteraction { id } => {
                let id = InteractionId(id);
                if self
                    .interactions
                    .get(&id)
                    .and_then(|i| i.party(&agent))
                    .is_none()
                {
                    return Err(err(
                        ErrorCode::NoInteraction,
                        "no such interaction for this agent",
                    ));
                }
                self.set_active(&agent, &id);
                Ok(serde_json::Value::Null)
            }
            Method::SendChatMessage { text, id } => {
                let id = self.pick(&agent, id, |p| p.state == PartyState::Connected)?;
                self.chat_from_agent(&id, &agent, text)
            }
            Method::SetTyping { typing, id } => {
                let id = self.pick(&agent, id, |p| p.state == PartyState::Connected)?;
                self.agent_typing(&id, &agent, typing)
            }
            Method::SetCallHold { hold, id } => {
                let id = self.pick(&agent, id, |p| {
                    matches!(p.state, PartyState::Connected | PartyState::Hold)
                })?;
                self.set_hold(&id, &agent, hold)
            }
            Method::LeaveInteraction { id } => {
                let id = self.pick(&agent, id, |p| {
                    matches!(p.state, PartyState::Connected | PartyState::Hold)
                })?;
                self.leave(&id, &agent)
            }
            Method::CompleteInteraction { id } => {
                let id = self.pick(&agent, id, |p| p.state != PartyState::Ringing)?;
                self.complete(&id, &agent)
            }
            Method::AddNote { text, id } => {
                let id = self.pick(&agent, id, |p| p.state != PartyState::Ringing)?;
                self.config.limits.check_note(&self.interactions[&id])?;
                let i = self.interactions.get_mut(&id).expect("picked");
                i.notes.push(baton_protocol::Note {
                    agent_id: agent.0.clone(),
                    text,
                    at: now,
                });
                self.touch_interaction(&id);
                Ok(serde_json::Value::Null)
            }
            Method::GetVariables { keys, id } => {
                let id = self.pick(&agent, id, |_| true)?;
                let data = &self.interactions[&id].attached_data;
                let out: serde_json::Map<String, serde_json::Value> = match keys {
                    None => data.clone(),
                    Some(keys) => keys
                        .into_iter()
                        .filter_map(|k| data.get(&k).cloned().map(|v| (k, v)))
                        .collect(),
                };
                Ok(serde_json::Value::Object(out))
            }
            Method::SetVariable { key, value, id } => {
                let id = self.pick(&agent, id, |p| p.state != PartyState::Ringing)?;
                self.config
                    .limits
                    .check_variable(&self.interactions[&id], &key)?;
                let i = self.interactions.get_mut(&id).expect("picked");
                i.attached_data.insert(key, value);
                self.touch_interaction(&id);
                Ok(serde_json::Value::Null)
            }
            Method::GetTransferHistory { id } => {
                let id = self.pick(&agent, id, |_| true)?;
                Ok(serde_json::to_value(self.transfer_history(&id)).expect("json"))
            }
            Method::BlindTransfer { target, data, id } => {
                self.handoff(&agent, Handoff::Blind { target, data, id })
            }
            Method::ConsultCall { target } => self.handoff(&agent, Handoff::Consult { target }),
            Method::Transfer { data } => self.handoff(&agent, Handoff::Transfer { data }),
            Method::InviteToCallConference { target, data, id } => {
                self.handoff(&agent, Handoff::Conference { target, data, id })
            }
            Method::MergeAllCallsIntoConference { data } => {
                self.handoff(&agent, Handoff::Merge { data })
            }
            Method::RemoveFromCallConference { party_id, id } => {
                self.handoff(&agent, Handoff::RemoveFromCall { party_id, id })
            }
            Method::InviteToChatConference { agent_id, id } => {
                self.handoff(&agent, Handoff::ChatInvite { agent_id, id })
            }
            Method::RemoveFromChatConference { party_id, id } => {
                self.handoff(&agent, Handoff::RemoveFromChat { party_id, id })
            }
            Method::GetAgentNotReadyReasons => self.not_ready_reasons(&agent),
            Method::GetService => self.get_service(&agent),
            Method::SetService { service } => self.set_service(&agent, service),
            Method::GetDidNumbersList => self.did_numbers(&agent),
            Method::GetDidNumber => self.get_did(&agent),
            Method::SetDidNumber { did } => self.set_did(&agent, did),
            Method::GetDispositionsList { target } => self.dispositions_list(&agent, target),
            Method::SetDisposition { disposition, id } => {
                self.set_disposition(&agent, &disposition, id)
            }
            Method::LeaveAndCompleteInteraction {
                disposition,
                note,
                id,
            } => self.leave_and_complete(&agent, disposition, note, id),
            Method::DestroyCallConference { id } => self.destroy_conference(&agent, id),
            Method::UpdateNote { text, id } => self.edit_note(&agent, text, id, false),
            Method::ReplaceNote { text, id } => self.edit_note(&agent, text, id, true),
            Method::SetRescheduleWindow { window, id } => self.set_reschedule(&agent, window, id),
            Method::SetDialCandidates { candidates } => {
                self.set_dial_candidates(&agent, candidates)
            }
            Method::GetConfig => self.get_config(&agent),
            Method::AddInteractionAssociatedObject { object, id } => {
                self.add_associated_object(&agent, object, id)
            }
            Method::SetInteractionActiveScreen { screen, id } => {
                self.set_active_screen(&agent, screen, id)
            }
            Method::StartCall { phone, objects } => self.start_call(&agent, phone, objects),
            Method::StartChat {
                channel,
                address,
                objects,
            } => self.start_chat(&agent, channel, address, objects),
            Method::StartEmail { .. } => self.start_email(),
        }
    }

    /// Resolves the interaction a method acts on: the given id (which must be the agent's),
    /// else the active one if it fits, else the only one that fits.
    pub(crate) fn pick(
        &self,
        agent: &AgentId,
        id: Option<String>,
        fits: impl Fn(&AgentParty) -> bool,
    ) -> CoreResult<InteractionId> {
        if let Some(id) = id {
            let id = InteractionId(id);
            let party = self.interactions.get(&id).and_then(|i| i.party(agent));
            return match party {
                None => Err(err(
                    ErrorCode::NoInteraction,
                    "no such interaction for this agent",
                )),
                Some(p) if !fits(p) => Err(err(
                    ErrorCode::NotSuitableState,
                    "the interaction is not in a suitable state",
                )),
                Some(_) => Ok(id),
            };
        }
        let fitting: Vec<InteractionId> = self
            .agent_interaction_ids(agent)
            .into_iter()
            .filter(|id| self.interactions[id].party(agent).is_some_and(&fits))
            .collect();
        if let Some(active) = &self.agents[agent].active_interaction
            && fitting.contains(active)
        {
            return Ok(active.clone());
        }
        match fitting.as_slice() {
            [only] => Ok(only.clone()),
            [] if self
                .agent_interactions
                .get(agent)
                .is_none_or(BTreeSet::is_empty) =>
            {
                Err(err(
                    ErrorCode::NoInteraction,
                    "the agent has no interaction",
                ))
            }
            [] => Err(err(
                ErrorCode::NotSuitableState,
                "no interaction in a suitable state",
            )),
            _ => Err(err(
                ErrorCode::InvalidArgs,
                "several interactions fit: give the interaction id",
            )),
        }
    }

    /// The offer `acceptInteraction` takes: without an id, Bright Pattern's "current
    /// interaction" is the active one if it rings, else the offer that has rung longest (not
    /// an error when several ring); otherwise as `pick`.
    fn pick_offer(&self, agent: &AgentId, id: Option<String>) -> CoreResult<InteractionId> {
        let ringing = |p: &AgentParty| p.state == PartyState::Ringing;
        let ringing_party = |i: &InteractionId| {
            self.interactions
                .get(i)
                .and_then(|x| x.party(agent))
                .filter(|p| ringing(p))
        };
        let active_rings = self.agents[agent]
            .active_interaction
            .as_ref()
            .is_some_and(|a| ringing_party(a).is_some());
        if id.is_none() && !active_rings {
            let oldest = self
                .agent_interaction_ids(agent)
                .into_iter()
                .filter_map(|i| ringing_party(&i).map(|p| (p.joined_at, i.clone())))
                .min();
            if let Some((_, oldest)) = oldest {
                return Ok(oldest);
            }
        }
        self.pick(agent, id, ringing)
    }

    pub(crate) fn set_active(&mut self, agent: &AgentId, id: &InteractionId) {
        let a = self.agents.get_mut(agent).expect("agent");
        if a.active_interaction.as_ref() != Some(id) {
            a.active_interaction = Some(id.clone());
            self.touch_agent(agent);
            self.emit(
                agent,
                events::ON_ACTIVE_INTERACTION_SWITCHED,
                vec![arg(&id.0)],
            );
            // Bright Pattern restores the CRM screen saved with `setInteractionActiveScreen`
            // when its interaction becomes active again.
            if let Some(screen) = self
                .interactions
                .get(id)
                .and_then(|i| i.active_screen.clone())
            {
                self.emit(
                    agent,
                    events::ON_SHOW_SCREEN,
                    vec![arg(&screen), arg(&id.0)],
                );
            }
        }
    }

    /// The state an agent shows: ringing or busy when interactions say so, else the chosen one.
    pub fn agent_state(&self, agent: &Agent) -> AgentStateData {
        let mut ringing = false;
        let mut busy = false;
        for id in self.agent_interactions.get(&agent.id).into_iter().flatten() {
            match self
                .interactions
                .get(id)
                .and_then(|i| i.party(&agent.id))
                .map(|p| p.state)
            {
                Some(PartyState::Ringing) => ringing = true,
                Some(_) => busy = true,
                None => {}
            }
        }
        let (state, reason) = if ringing {
            (AgentStateName::Ringing, None)
        } else if busy {
            (AgentStateName::Busy, None)
        } else {
            match &agent.chosen {
                ChosenState::Ready => (AgentStateName::Ready, None),
                ChosenState::NotReady { reason } => (AgentStateName::NotReady, reason.clone()),
                ChosenState::AfterCallWork => (AgentStateName::AfterCallWork, None),
            }
        };
        AgentStateData {
            state,
            not_ready_reason: reason,
            reserved_for_incoming_interaction: ringing,
        }
    }

    // ----- interactions ------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn new_interaction(
        &mut self,
        id: InteractionId,
        tenant: TenantId,
        channel: baton_protocol::Channel,
        service_name: &str,
        customer: baton_protocol::Customer,
        attached_data: serde_json::Map<String, serde_json::Value>,
        customer_token_hash: String,
    ) -> CoreResult {
        let service = self
            .service_by_name(&tenant, service_name)
            .ok_or_else(|| err(ErrorCode::NoService, format!("no service {service_name:?}")))?;
        if !service.channels.contains(&channel) {
            return Err(err(
                ErrorCode::NoService,
                format!("service {service_name:?} does not take {channel}"),
            ));
        }
        let service = service.id.clone();
        self.check_queue_room(&service, service_name)?;
        let wait = self.queue_wait(&service);
        let now = self.now;
        let interaction = Interaction {
            past_parties: Vec::new(),
            id: id.clone(),
            tenant,
            channel,
            service: service.clone(),
            customer,
            attached_data,
            notes: Vec::new(),
            messages: Vec::new(),
            created_at: now,
            completed_at: None,
            customer_connected: true,
            customer_on_hold: false,
            customer_token_hash,
            queue: Some(QueueEntry {
                service,
                since: now,
                seq: next_seq(&mut self.queue_seq),
                leg: None,
            }),
            parties: Vec::new(),
            skipped: Vec::new(),
            legs: Vec::new(),
            pending_leg: None,
            version: 0,
            direction: baton_protocol::Direction::Inbound,
            internal: false,
            disposition: None,
            associated_objects: Default::default(),
            active_screen: None,
            reschedule: None,
            ani: None,
            dnis: None,
        };
        self.interactions.insert(id.clone(), interaction);
        if let Some(wait) = wait {
            self.timers.insert((
                now + wait,
                Timer::QueueWait {
                    interaction: id.clone(),
                },
            ));
        }
        self.touch_interaction(&id);
        self.log_created(&id);
        Ok(serde_json::json!({"id": id}))
    }

    pub(crate) fn service_by_name(&self, tenant: &TenantId, name: &str) -> Option<&Service> {
        self.services
            .values()
            .find(|s| &s.tenant == tenant && s.name.eq_ignore_ascii_case(name))
    }

    fn accept(&mut self, id: &InteractionId, agent: &AgentId) -> CoreResult {
        self.log_accepted(id, agent);
        let i = self.interactions.get_mut(id).expect("picked");
        let party = i.party_mut(agent).expect("picked");
        party.state = PartyState::Connected;
        party.ring_expires_at = None;
        party.routed_from = None;
        party.reason = None;
        let via = party.via_leg.clone();
        let role = party.role;
        i.skipped.clear();
        if role == baton_protocol::PartyRole::Primary {
            i.customer_on_hold = false;
        }
        self.touch_interaction(id);
        self.touch_agent(agent);
        self.set_active(agent, id);
        if let Some(leg) = via {
            self.leg_accepted(&leg, agent);
        }
        Ok(serde_json::Value::Null)
    }

    fn chat_from_agent(&mut self, id: &InteractionId, agent: &AgentId, text: String) -> CoreResult {
        if self.interactions[id].channel != baton_protocol::Channel::Chat {
            return Err(err(ErrorCode::NotSuitableState, "not a chat"));
        }
        self.config
            .limits
            .check_transcript(&self.interactions[id], &text)?;
        let name = self.agents[agent].display_name.clone();
        let message = baton_protocol::ChatMessage {
            from: baton_protocol::MessageFrom::Agent,
            party_id: Some(agent.0.clone()),
            name,
            text,
            at: self.now,
            attachment: None,
        };
        self.post_message(id, message);
        Ok(serde_json::Value::Null)
    }

    fn customer_message(&mut self, id: &InteractionId, text: String) -> CoreResult {
        let Some(i) = self.interactions.get(id) else {
            return Err(err(ErrorCode::NoInteraction, "the interaction has ended"));
        };
        if !i.customer_connected {
            return Err(err(ErrorCode::NotSuitableState, "the customer has left"));
        }
        self.config.limits.check_message(&text)?;
        self.config.limits.check_transcript(i, &text)?;
        let message = baton_protocol::ChatMessage {
            from: baton_protocol::MessageFrom::Customer,
            party_id: Some("customer".into()),
            name: i.customer.name.clone(),
            text,
            at: self.now,
            attachment: None,
        };
        self.post_message(id, message);
        Ok(serde_json::Value::Null)
    }

    pub(crate) fn post_message(
        &mut self,
        id: &InteractionId,
        message: baton_protocol::ChatMessage,
    ) {
        let i = self.interactions.get_mut(id).expect("live");
        // Only the new message is committed (one row), not the interaction record.
        self.dirty
            .messages
            .entry(id.clone())
            .or_insert(i.messages.len());
        i.messages.push(message.clone());
        // Everyone who has answered, including agents wrapping up: "the customer left" is
        // posted after their parties went to wrap-up, and it is meant for them.
        let listeners: Vec<AgentId> = i
            .parties
            .iter()
            .filter(|p| p.state != PartyState::Ringing)
            .map(|p| p.agent.clone())
            .collect();
        for agent in listeners {
            self.emit(
                &agent,
                events::ON_CHAT_MESSAGE,
                vec![arg(&id.0), arg(&message)],
            );
        }
        self.out.push(Effect::Send {
            to: Recipient::Customer(id.clone()),
            frame: ServerFrame::event("message", vec![arg(&self.customer_message_view(&message))]),
        });
    }

    fn set_hold(&mut self, id: &InteractionId, agent: &AgentId, hold: bool) -> CoreResult {
        let i = &self.interactions[id];
        if i.channel != baton_protocol::Channel::Voice {
            return Err(err(ErrorCode::NotSuitableState, "only calls can be held"));
        }
        let consulting = i
            .parties
            .iter()
            .find(|p| p.role == baton_protocol::PartyRole::Consult)
            .map(|p| p.agent.clone());
        let consult_collecting = i
            .pending_leg
            .as_ref()
            .and_then(|l| self.legs.get(l))
            .is_some_and(|l| l.kind == baton_protocol::TransferKind::Consult);
        let party = i.party(agent).expect("picked");
        if !hold
            && party.state == PartyState::Hold
            && party.role == baton_protocol::PartyRole::Primary
        {
            // Retrieving the primary ends a consult that is still going, including one whose
            // data is still being collected (it would otherwise ring after the retrieve).
            if consult_collecting {
                self.fail_pending(id, "cancelled");
            }
            if let Some(consulted) = consulting {
                self.fail_pending(id, "cancelled");
                self.remove_party(id, &consulted);
            }
        }
        let i = self.interactions.get_mut(id).expect("picked");
        let party = i.party_mut(agent).expect("picked");
        party.state = if hold {
            PartyState::Hold
        } else {
            PartyState::Connected
        };
        i.customer_on_hold = hold;
        self.touch_interaction(id);
        Ok(serde_json::Value::Null)
    }

    pub(crate) fn leave(&mut self, id: &InteractionId, agent: &AgentId) -> CoreResult {
        let i = &self.interactions[id];
        if i.internal {
            self.end_internal_call(id);
            return Ok(serde_json::Value::Null);
        }
        let me = i.party(agent).expect("picked").clone();
        let others: Vec<AgentParty> = i
            .parties
            .iter()
            .filter(|p| &p.agent != agent && p.state != PartyState::Ringing)
            .cloned()
            .collect();
        if others.is_empty() {
            // The last agent leaves: the customer is released and the agent wraps up.
            let ringing: Vec<AgentId> = i
                .parties
                .iter()
                .filter(|p| &p.agent != agent)
                .map(|p| p.agent.clone())
                .collect();
            self.fail_pending(id, "cancelled");
            for r in ringing {
                self.remove_party(id, &r);
            }
            let i = self.interactions.get_mut(id).expect("picked");
            i.customer_connected = false;
            i.customer_on_hold = false;
            i.party_mut(agent).expect("picked").state = PartyState::WrapUp;
            self.out.push(Effect::CloseCustomer {
                interaction: id.clone(),
            });
            self.touch_interaction(id);
            self.touch_agent(agent);
            return Ok(serde_json::Value::Null);
        }
        if me.role == baton_protocol::PartyRole::Consult {
            self.remove_party(id, agent);
            return Ok(serde_json::Value::Null);
        }
        self.hand_to_heir(id, agent);
        self.remove_party(id, agent);
        Ok(serde_json::Value::Null)
    }

    /// When the primary agent goes (leaves or logs out) and others who answered stay, the
    /// first of them becomes primary and takes the customer off hold (chat invite-and-leave,
    /// conference leave, primary gone during a consultation).
    fn hand_to_heir(&mut self, id: &InteractionId, leaving: &AgentId) {
        let Some(i) = self.interactions.get_mut(id) else {
            return;
        };
        if i.party(leaving)
            .is_none_or(|p| p.role != baton_protocol::PartyRole::Primary)
        {
            return;
        }
        let Some(p) = i.parties.iter_mut().find(|p| {
            &p.agent != leaving && matches!(p.state, PartyState::Connected | PartyState::Hold)
        }) else {
            return;
        };
        p.role = baton_protocol::PartyRole::Primary;
        if p.state == PartyState::Hold {
            p.state = PartyState::Connected;
        }
        i.customer_on_hold = false;
        self.touch_interaction(id);
    }

    pub(crate) fn complete(&mut self, id: &InteractionId, agent: &AgentId) -> CoreResult {
        self.check_disposition(id)?;
        if self.interactions[id]
            .party(agent)
            .is_some_and(|p| p.state != PartyState::WrapUp)
        {
            self.leave(id, agent)?;
        }
        if self.interactions[id].party(agent).is_some() {
            self.remove_party(id, agent);
        }
        self.complete_if_empty(id);
        Ok(serde_json::Value::Null)
    }

    fn customer_hangup(&mut self, id: &InteractionId) -> CoreResult {
        self.customer_gone(id, "The customer left.")
    }

    /// The customer's side ends (they hung up, or waited too long): `text` is the system
    /// message the chat's parties and the customer see.
    fn customer_gone(&mut self, id: &InteractionId, text: &str) -> CoreResult {
        let Some(i) = self.interactions.get_mut(id) else {
            return Err(err(ErrorCode::NoInteraction, "the interaction has ended"));
        };
        if !i.customer_connected {
            return Ok(serde_json::Value::Null);
        }
        i.customer_connected = false;
        i.customer_on_hold = false;
        i.queue = None;
        let parties: Vec<(AgentId, PartyState)> = i
            .parties
            .iter()
            .map(|p| (p.agent.clone(), p.state))
            .collect();
        self.touch_interaction(id);
        self.fail_pending(id, "customer_left");
        for (agent, state) in parties {
            if state == PartyState::Ringing {
                self.remove_party(id, &agent);
            } else if let Some(p) = self
                .interactions
                .get_mut(id)
                .and_then(|i| i.party_mut(&agent))
            {
                p.state = PartyState::WrapUp;
                self.touch_agent(&agent);
            }
        }
        let message = baton_protocol::ChatMessage {
            from: baton_protocol::MessageFrom::System,
            party_id: None,
            name: "Baton".into(),
            text: text.into(),
            at: self.now,
            attachment: None,
        };
        if self.interactions[id].channel == baton_protocol::Channel::Chat {
            self.post_message(id, message);
        }
        self.complete_if_empty(id);
        self.out.push(Effect::CloseCustomer {
            interaction: id.clone(),
        });
        Ok(serde_json::Value::Null)
    }

    // ----- admin -------------------------------------------------------------------------

    /// The agent of `tenant` with this id, or `object_not_found`.
    fn tenant_agent(&self, tenant: &TenantId, agent: &AgentId) -> CoreResult<()> {
        match self.agents.get(agent) {
            Some(a) if &a.tenant == tenant => Ok(()),
            _ => Err(err(ErrorCode::ObjectNotFound, format!("no agent {agent}"))),
        }
    }

    /// Tells the agent's socket why with `ON_SERVER_ERROR`, then logs the agent out.
    fn end_login(&mut self, agent: &AgentId, error: ApiError, reason: &str) {
        if self.agents.get(agent).is_some_and(|a| a.is_logged_in()) {
            self.emit(agent, events::ON_SERVER_ERROR, vec![arg(&error)]);
            self.log_out(agent, reason);
        }
    }

    fn admin(&mut self, command: AdminCommand) -> CoreResult {
        match command {
            AdminCommand::Directory(command) => self.directory(command),
            AdminCommand::UpdateAgent {
                tenant,
                agent,
                display_name,
                services,
            } => {
                self.tenant_agent(&tenant, &agent)?;
                let service_ids = match &services {
                    None => None,
                    Some(names) => {
                        let mut ids = Vec::new();
                        for name in names {
                            let s = self.service_by_name(&tenant, name).ok_or_else(|| {
                                err(ErrorCode::ObjectNotFound, format!("no service {name:?}"))
                            })?;
                            ids.push(s.id.clone());
                        }
                        Some(ids)
                    }
                };
                let a = self.agents.get_mut(&agent).expect("checked");
                if let Some(name) = display_name {
                    a.display_name = name;
                }
                if let Some(ids) = service_ids {
                    a.services = ids;
                }
                self.touch_agent(&agent);
                Ok(self.agent_admin_view(&agent))
            }
            AdminCommand::SetAgentDisabled {
                tenant,
                agent,
                disabled,
            } => {
                self.tenant_agent(&tenant, &agent)?;
                if disabled {
                    let e = ApiError::new(
                        ErrorCode::UserDisabledOrDeleted,
                        "this agent was disabled by an administrator",
                    );
                    self.end_login(&agent, e, "disabled");
                }
                self.agents.get_mut(&agent).expect("checked").disabled = disabled;
                self.touch_agent(&agent);
                Ok(self.agent_admin_view(&agent))
            }
            AdminCommand::DeleteAgent { tenant, agent } => {
                self.tenant_agent(&tenant, &agent)?;
                let e = ApiError::new(
                    ErrorCode::UserDisabledOrDeleted,
                    "this agent was deleted by an administrator",
                );
                self.end_login(&agent, e, "deleted");
                if let Some(a) = self.agents.remove(&agent) {
                    self.names.remove(&a);
                }
                self.touch_agent(&agent);
                self.shown_agent_state.remove(&agent);
                Ok(serde_json::Value::Null)
            }
            AdminCommand::EndSession { tenant, session } => {
                let holder = self
                    .agents
                    .values()
                    .find(|a| {
                        a.tenant == tenant && a.login.as_ref().is_some_and(|l| l.session == session)
                    })
                    .map(|a| a.id.clone());
                if let Some(agent) = holder {
                    let e = ApiError::new(
                        ErrorCode::InvalidToken,
                        "this session was revoked by an administrator",
                    );
                    self.end_login(&agent, e, "revoked");
                }
                Ok(serde_json::Value::Null)
            }
            AdminCommand::CreateTenant { id, settings } => {
                if self.tenants.contains_key(&id) {
                    return Err(conflict(format!("tenant {id}")));
                }
                self.tenants.insert(
                    id.clone(),
                    Tenant {
                        id: id.clone(),
                        settings,
                        desk: Default::default(),
                    },
                );
                self.dirty.tenants.insert(id.clone());
                Ok(serde_json::json!({"name": id}))
            }
            AdminCommand::CreateService {
                id,
                tenant,
                name,
                channels,
                ring_timeout_ms,
            } => {
                self.require_tenant(&tenant)?;
                if self.service_by_name(&tenant, &name).is_some() {
                    return Err(conflict(format!("service {name}")));
                }
                if channels.is_empty() {
                    return Err(err(
                        ErrorCode::InvalidArgs,
                        "a service needs at least one channel",
                    ));
                }
                self.services.insert(
                    id.clone(),
                    Service {
                        id: id.clone(),
                        tenant,
                        name: name.clone(),
                        channels,
                        ring_timeout_ms,
                        dispositions: Default::default(),
                        max_queue_length: None,
                        max_queue_wait_ms: None,
                    },
                );
                self.dirty.services.insert(id.clone());
                Ok(serde_json::json!({"id": id, "name": name}))
            }
            AdminCommand::SetQueueLimits {
                tenant,
                service,
                max_queue_length,
                max_queue_wait_ms,
            } => {
                self.require_tenant(&tenant)?;
                let id = self
                    .service_by_name(&tenant, &service)
                    .map(|s| s.id.clone())
                    .ok_or_else(|| err(ErrorCode::NoService, format!("no service {service:?}")))?;
                let s = self.services.get_mut(&id).expect("found");
                s.max_queue_length = max_queue_length;
                s.max_queue_wait_ms = max_queue_wait_ms;
                self.dirty.services.insert(id);
                Ok(serde_json::json!({
                    "maxQueueLength": max_queue_length,
                    "maxQueueWaitMs": max_queue_wait_ms,
                }))
            }
            AdminCommand::CreateAgent {
                id,
                tenant,
                username,
                display_name,
                extension,
                services,
                max_chats,
            } => {
                self.require_tenant(&tenant)?;
                if self.names.by_username(&tenant, &username).is_some() {
                    return Err(conflict(format!("agent {username}")));
                }
                if let Some(ext) = &extension
                    && self.names.by_extension(&tenant, ext).is_some()
                {
                    return Err(conflict(format!("extension {ext}")));
                }
                let mut service_ids = Vec::new();
                for name in &services {
                    let s = self.service_by_name(&tenant, name).ok_or_else(|| {
                        err(ErrorCode::ObjectNotFound, format!("no service {name:?}"))
                    })?;
                    service_ids.push(s.id.clone());
                }
                let agent = Agent {
                    id: id.clone(),
                    tenant,
                    username: username.clone(),
                    display_name,
                    extension,
                    services: service_ids,
                    max_chats: max_chats.max(1),
                    chosen: ChosenState::NotReady { reason: None },
                    login: None,
                    idle_since: self.now,
                    active_interaction: None,
                    selected_service: None,
                    selected_did: None,
                    supervisor: false,
                    disabled: false,
                };
                self.names.insert(&agent);
                self.agents.insert(id.clone(), agent);
                self.touch_agent(&id);
                Ok(serde_json::json!({"id": id, "username": username}))
            }
            AdminCommand::SetIntegrationOrigins {
                tenant,
                key,
                allowed_origins,
            } => {
                let k = (tenant, key);
                let integration = self.integrations.get_mut(&k).ok_or_else(|| {
                    err(ErrorCode::ObjectNotFound, format!("no integration {}", k.1))
                })?;
                integration.allowed_origins = allowed_origins.clone();
                self.dirty.integrations.insert(k.clone());
                Ok(serde_json::json!({"integrationKey": k.1, "allowedOrigins": allowed_origins}))
            }
            AdminCommand::CreateIntegration {
                tenant,
                key,
                name,
                allowed_origins,
            } => {
                self.require_tenant(&tenant)?;
                let k = (tenant.clone(), key.clone());
                if self.integrations.contains_key(&k) {
                    return Err(conflict(format!("integration {key}")));
                }
                self.integrations.insert(
                    k.clone(),
                    Integration {
                        tenant,
                        key: key.clone(),
                        name: name.clone(),
                        allowed_origins: allowed_origins.clone(),
                        config: Default::default(),
                    },
                );
                self.dirty.integrations.insert(k);
                Ok(
                    serde_json::json!({"integrationKey": key, "name": name, "allowedOrigins": allowed_origins}),
                )
            }
            AdminCommand::SetSupervisor {
                tenant,
                username,
                supervisor,
            } => self.set_supervisor(&tenant, &username, supervisor),
            AdminCommand::UpdateSettings {
                tenant,
                transfer_data_timeout_ms,
                transfer_data_max_bytes,
                retention_secs,
            } => {
                self.require_tenant(&tenant)?;
                if let Some(t) = transfer_data_timeout_ms
                    && !TenantSettings::TIMEOUT_RANGE.contains(&t)
                {
                    return Err(err(
                        ErrorCode::InvalidArgs,
                        "transferDataTimeoutMs must be 100..=30000",
                    ));
                }
                if let Some(b) = transfer_data_max_bytes
                    && !(1..=TenantSettings::MAX_BYTES_LIMIT).contains(&b)
                {
                    return Err(err(
                        ErrorCode::InvalidArgs,
                        "transferDataMaxBytes must be 1..=1048576",
                    ));
                }
                let t = self.tenants.get_mut(&tenant).expect("checked");
                if let Some(v) = transfer_data_timeout_ms {
                    t.settings.transfer_data_timeout_ms = v;
                }
                if let Some(v) = transfer_data_max_bytes {
                    t.settings.transfer_data_max_bytes = v;
                }
                if let Some(v) = retention_secs {
                    t.settings.retention_secs = v;
                }
                let settings = t.settings;
                self.dirty.tenants.insert(tenant);
                Ok(serde_json::to_value(settings).expect("json"))
            }
        }
    }

    pub(crate) fn require_tenant(&self, tenant: &TenantId) -> CoreResult<()> {
        if self.tenants.contains_key(tenant) {
            Ok(())
        } else {
            Err(err(
                ErrorCode::ObjectNotFound,
                format!("no tenant {tenant}"),
            ))
        }
    }

    // ----- read access for the shell ---------------------------------------------------------

    pub fn tenant(&self, id: &TenantId) -> Option<&Tenant> {
        self.tenants.get(id)
    }

    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values()
    }

    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// An agent as the admin API shows it (service names, not ids; no login details).
    pub fn agent_admin_view(&self, id: &AgentId) -> serde_json::Value {
        let Some(a) = self.agents.get(id) else {
            return serde_json::Value::Null;
        };
        let services: Vec<&str> = a
            .services
            .iter()
            .filter_map(|s| self.services.get(s).map(|s| s.name.as_str()))
            .collect();
        serde_json::json!({
            "id": a.id, "username": a.username, "displayName": a.display_name,
            "extension": a.extension, "services": services, "maxChats": a.max_chats,
            "disabled": a.disabled, "loggedIn": a.is_logged_in(),
        })
    }

    pub fn agent_by_username(&self, tenant: &TenantId, username: &str) -> Option<&Agent> {
        self.names
            .by_username(tenant, username)
            .and_then(|id| self.agents.get(id))
    }

    pub fn integration(&self, tenant: &TenantId, key: &str) -> Option<&Integration> {
        self.integrations.get(&(tenant.clone(), key.to_owned()))
    }

    pub fn integrations(&self) -> impl Iterator<Item = &Integration> {
        self.integrations.values()
    }

    /// A tenant's services by name, so lists (the customer's picker, `getServicesList`)
    /// keep one order.
    pub fn services_of(&self, tenant: &TenantId) -> Vec<ServiceInfo> {
        let mut services: Vec<ServiceInfo> = self
            .services
            .values()
            .filter(|s| &s.tenant == tenant)
            .map(Core::service_info)
            .collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        services
    }

    pub fn interaction(&self, id: &InteractionId) -> Option<&Interaction> {
        self.interactions.get(id)
    }

    pub fn interactions(&self) -> impl Iterator<Item = &Interaction> {
        self.interactions.values()
    }

    pub fn leg(&self, id: &TransferId) -> Option<&Leg> {
        self.legs.get(id)
    }

    pub fn transfer_history(&self, id: &InteractionId) -> Vec<TransferRecord> {
        let Some(i) = self.interactions.get(id) else {
            return Vec::new();
        };
        i.legs
            .iter()
            .filter_map(|l| self.legs.get(l))
            .map(crate::view::transfer_record)
            .collect()
    }

    /// The customer socket's opening frames: the transcript, then the state.
    pub fn customer_greeting(&self, id: &InteractionId) -> Vec<ServerFrame> {
        let Some(i) = self.interactions.get(id) else {
            return Vec::new();
        };
        let mut frames: Vec<ServerFrame> = i
            .messages
            .iter()
            .map(|m| ServerFrame::event("message", vec![arg(&self.customer_message_view(m))]))
            .collect();
        frames.push(ServerFrame::event(
            "state",
            vec![arg(&self.customer_state(i))],
        ));
        frames
    }

    // ----- views -------------------------------------------------------------------------

    /// Sends `ON_NEW_INTERACTION` to an agent, once per apply.
    pub(crate) fn announce(&mut self, id: &InteractionId, agent: &AgentId) {
        let view = self.interaction_view(id, agent);
        self.announced.insert((id.clone(), agent.clone()));
        self.emit(agent, events::ON_NEW_INTERACTION, vec![arg(&view)]);
    }

    /// Sends the state changes this apply caused: interactions to their parties, the
    /// customer's view, and agent states that changed.
    fn flush_views(&mut self) {
        let interactions = std::mem::take(&mut self.touched_interactions);
        let announced = std::mem::take(&mut self.announced);
        let mut agents = std::mem::take(&mut self.touched_agents);
        // Only the queues that changed (or whose agents' availability or expected wait
        // did), and those of touched interactions, need their customers' positions.
        let mut services = std::mem::take(&mut self.queues.changed);
        services.extend(
            interactions
                .iter()
                .filter_map(|id| self.interactions.get(id)?.queue.as_ref())
                .map(|q| q.service.clone()),
        );
        let positions = self.queue_positions(&services);
        for id in &interactions {
            let Some(i) = self.interactions.get(id) else {
                continue;
            };
            let parties: Vec<AgentId> = i.parties.iter().map(|p| p.agent.clone()).collect();
            for agent in parties {
                agents.insert(agent.clone());
                if !announced.contains(&(id.clone(), agent.clone())) {
                    let view = self.interaction_change_view(id, &agent);
                    self.emit(
                        &agent,
                        events::ON_INTERACTION_STATE_CHANGE,
                        vec![arg(&view)],
                    );
                }
            }
            self.show_customer_state(id, positions.get(id).copied());
        }
        // A queue position or the agents' availability can change without the queued
        // interaction itself being touched.
        let queued: Vec<(InteractionId, u32)> = positions
            .into_iter()
            .filter(|(id, _)| !interactions.contains(id))
            .collect();
        for (id, position) in queued {
            self.show_customer_state(&id, Some(position));
        }
        for agent in agents {
            let Some(a) = self.agents.get(&agent) else {
                continue;
            };
            if !a.is_connected() {
                continue;
            }
            let state = self.agent_state(a);
            if self.shown_agent_state.get(&agent) != Some(&state) {
                self.shown_agent_state.insert(agent.clone(), state.clone());
                self.emit(&agent, events::ON_AGENT_STATE_CHANGE, vec![arg(&state)]);
            }
        }
    }
}

/// Marks an admin error as a conflict with something that exists (HTTP 409).
pub fn conflict(what: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidArgs, format!("{what} already exists"))
}

/// Whether an error from [`Core::apply`] is a [`conflict`].
pub fn is_conflict(e: &ApiError) -> bool {
    e.code == ErrorCode::InvalidArgs.code() && e.message.ends_with(" already exists")
}
