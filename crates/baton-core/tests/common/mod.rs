//! A deterministic harness around [`Core`]: it plays the shell's part (numbering
//! connections, taking change sets, keeping the clock) and records every frame an agent
//! connection was sent, as text and as parsed JSON.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use baton_core::{AdminCommand, AgentId, Command, Core, CoreConfig, Effect, InteractionId, Output};
use baton_core::{Agent, Integration, Interaction, Leg, Service, Snapshot, Tenant, TransferId};
use baton_core::{Recipient, SessionId, TenantId, TenantSettings};
use baton_protocol::{ApiError, Channel, Customer, Method, Millis, TransferData};
use serde_json::Value;

pub const TENANT: &str = "acme";
pub const RING_MS: Millis = 10_000;
pub const START: Millis = 1_700_000_000_000;

/// One frame sent to an agent connection.
#[derive(Debug, Clone)]
pub struct Frame {
    pub agent: String,
    pub conn: u64,
    /// Exactly what would go on the wire.
    pub text: String,
    pub json: Value,
}

impl Frame {
    pub fn event(&self) -> Option<&str> {
        self.json.get("event").and_then(Value::as_str)
    }

    pub fn is(&self, event: &str) -> bool {
        self.event() == Some(event)
    }

    pub fn arg(&self, i: usize) -> &Value {
        &self.json["args"][i]
    }

    pub fn rid(&self) -> Option<&str> {
        self.json.get("rid").and_then(Value::as_str)
    }

    /// The interaction an interaction event is about.
    pub fn interaction_id(&self) -> Option<String> {
        let a = self.arg(0);
        a.as_str()
            .map(str::to_owned)
            .or_else(|| a.get("id").and_then(Value::as_str).map(str::to_owned))
    }
}

/// What a store would hold after committing every change set.
#[derive(Default)]
pub struct Store {
    pub tenants: BTreeMap<TenantId, Tenant>,
    pub services: BTreeMap<String, Service>,
    pub integrations: BTreeMap<(TenantId, String), Integration>,
    pub agents: BTreeMap<AgentId, Agent>,
    pub interactions: BTreeMap<InteractionId, Interaction>,
    pub legs: BTreeMap<TransferId, Leg>,
    pub leg_data: BTreeMap<TransferId, TransferData>,
    /// Chat messages, appended as the real stores append rows.
    pub messages: BTreeMap<InteractionId, Vec<baton_protocol::ChatMessage>>,
    /// What the last change set wrote: interaction records and appended messages.
    pub last_records: Vec<String>,
    pub last_messages: Vec<(String, u64)>,
}

impl Store {
    fn commit(&mut self, c: baton_core::Changes) {
        for t in c.tenants {
            self.tenants.insert(t.id.clone(), t);
        }
        for s in c.services {
            self.services.insert(s.id.0.clone(), s);
        }
        for i in c.integrations {
            self.integrations
                .insert((i.tenant.clone(), i.key.clone()), i);
        }
        for a in c.agents {
            self.agents.insert(a.id.clone(), a);
        }
        self.last_records = c.interactions.iter().map(|i| i.id.0.clone()).collect();
        self.last_messages = c
            .messages
            .iter()
            .map(|m| (m.interaction.0.clone(), m.seq))
            .collect();
        for i in c.interactions {
            assert!(i.messages.is_empty(), "a record carries its transcript");
            self.interactions.insert(i.id.clone(), i);
        }
        for m in c.messages {
            let rows = self.messages.entry(m.interaction).or_default();
            // The key of a row: a message is appended exactly once, in order.
            assert_eq!(m.seq, rows.len() as u64, "message rows out of order");
            rows.push(m.message);
        }
        for l in c.legs {
            self.legs.insert(l.id.clone(), l);
        }
        for (id, _, data) in c.leg_data {
            self.leg_data.insert(id, data);
        }
    }

    /// What `baton serve` reads at start: live interactions and their legs, with data.
    pub fn snapshot(&self) -> Snapshot {
        let live: Vec<Interaction> = self
            .interactions
            .values()
            .filter(|i| i.completed_at.is_none())
            .map(|i| {
                let mut i = i.clone();
                i.messages = self.messages.get(&i.id).cloned().unwrap_or_default();
                i
            })
            .collect();
        let legs = live
            .iter()
            .flat_map(|i| i.legs.iter())
            .filter_map(|l| self.legs.get(l))
            .map(|l| {
                let mut l = l.clone();
                l.data = self.leg_data.get(&l.id).cloned();
                l
            })
            .collect();
        Snapshot {
            tenants: self.tenants.values().cloned().collect(),
            services: self.services.values().cloned().collect(),
            integrations: self.integrations.values().cloned().collect(),
            agents: self.agents.values().cloned().collect(),
            interactions: live,
            legs,
        }
    }
}

pub struct World {
    pub core: Core,
    pub config: CoreConfig,
    pub store: Store,
    pub now: Millis,
    next_conn: u64,
    /// The live connection of each agent, as the shell sees it.
    pub conn_of: BTreeMap<String, u64>,
    /// The agent and integration key every connection was opened with.
    pub conn_info: BTreeMap<u64, (String, Option<String>)>,
    pub closed: BTreeSet<u64>,
    /// Frames not yet taken by [`World::take`].
    pending: Vec<Frame>,
    /// Every frame ever sent to an agent, in order.
    pub history: Vec<Frame>,
    /// Frames sent to customers, by interaction.
    pub customer: Vec<(String, Value)>,
    /// Interactions the change sets reported as completed.
    pub completed: BTreeSet<String>,
    /// Every frame of the last apply, for checks that look at one command's effects.
    pub last: Vec<Frame>,
    pub last_effects: Vec<Effect>,
}

impl World {
    /// Tenant `acme`, services `sales` and `support` (chat and voice), integrations `crm`
    /// and `erp`.
    pub fn new() -> Self {
        Self::with_config(CoreConfig::default())
    }

    pub fn with_config(config: CoreConfig) -> Self {
        let mut w = World {
            core: Core::new(config),
            config,
            store: Store::default(),
            now: START,
            next_conn: 1,
            conn_of: BTreeMap::new(),
            conn_info: BTreeMap::new(),
            closed: BTreeSet::new(),
            pending: Vec::new(),
            history: Vec::new(),
            customer: Vec::new(),
            completed: BTreeSet::new(),
            last: Vec::new(),
            last_effects: Vec::new(),
        };
        w.admin(AdminCommand::CreateTenant {
            id: TenantId(TENANT.into()),
            settings: TenantSettings::default(),
        })
        .unwrap();
        for name in ["sales", "support"] {
            w.admin(AdminCommand::CreateService {
                id: format!("svc-{name}").as_str().into(),
                tenant: TENANT.into(),
                name: name.into(),
                channels: vec![Channel::Chat, Channel::Voice],
                ring_timeout_ms: RING_MS as u64,
            })
            .unwrap();
        }
        for key in ["crm", "erp"] {
            w.admin(AdminCommand::CreateIntegration {
                tenant: TENANT.into(),
                key: key.into(),
                name: key.to_uppercase(),
                allowed_origins: vec![format!("https://{key}.example")],
            })
            .unwrap();
        }
        w
    }

    /// Applies one command at the current time, as the server would: effects recorded,
    /// change set taken.
    pub fn apply(&mut self, command: Command) -> Output {
        let out = self.core.apply(command, self.now);
        let changes = self.core.take_changes();
        for i in &changes.interactions {
            if i.completed_at.is_some() {
                self.completed.insert(i.id.0.clone());
            }
        }
        self.store.commit(changes);
        self.last.clear();
        for e in &out.effects {
            match e {
                Effect::Send {
                    to: Recipient::Agent(conn),
                    frame,
                } => {
                    let text = frame.to_text();
                    let json: Value = serde_json::from_str(&text).expect("frames are JSON");
                    let agent = self
                        .conn_info
                        .get(conn)
                        .map(|(a, _)| a.clone())
                        .unwrap_or_default();
                    let f = Frame {
                        agent,
                        conn: *conn,
                        text,
                        json,
                    };
                    self.pending.push(f.clone());
                    self.history.push(f.clone());
                    self.last.push(f);
                }
                Effect::Send {
                    to: Recipient::Customer(id),
                    frame,
                } => {
                    let json: Value = serde_json::from_str(&frame.to_text()).unwrap();
                    self.customer.push((id.0.clone(), json));
                }
                Effect::Close { conn } => {
                    self.closed.insert(*conn);
                    self.conn_of.retain(|_, c| c != conn);
                }
                Effect::CloseCustomer { .. } | Effect::RevokeSession { .. } => {}
            }
        }
        self.last_effects = out.effects.clone();
        out
    }

    /// The process restarts: every connection is gone, the core is rebuilt from the store.
    pub fn restart(&mut self) {
        let open: Vec<u64> = self.conn_of.values().copied().collect();
        self.closed.extend(open);
        self.conn_of.clear();
        self.pending.clear();
        self.last.clear();
        self.last_effects.clear();
        self.core = Core::restore(self.config, self.store.snapshot(), self.now);
    }

    pub fn admin(&mut self, command: AdminCommand) -> Result<Value, ApiError> {
        self.apply(Command::Admin(command))
            .reply
            .expect("admin replies")
    }

    pub fn add_agent(&mut self, name: &str, services: &[&str]) {
        self.add_agent_with(name, services, 2, None);
    }

    pub fn add_agent_with(
        &mut self,
        name: &str,
        services: &[&str],
        max_chats: u32,
        extension: Option<&str>,
    ) {
        self.admin(AdminCommand::CreateAgent {
            id: name.into(),
            tenant: TENANT.into(),
            username: name.into(),
            display_name: format!("Agent {name}"),
            extension: extension.map(str::to_owned),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            max_chats,
        })
        .unwrap();
    }

    /// A widget says hello for `agent` on a fresh connection.
    pub fn connect(&mut self, agent: &str, key: Option<&str>) -> u64 {
        self.connect_session(agent, key, &format!("session-{agent}"))
    }

    pub fn connect_session(&mut self, agent: &str, key: Option<&str>, session: &str) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.conn_info
            .insert(conn, (agent.to_owned(), key.map(str::to_owned)));
        let out = self.apply(Command::Connect {
            agent: agent.into(),
            session: SessionId(session.to_owned()),
            conn,
            integration_key: key.map(str::to_owned),
        });
        out.reply.expect("connect replies").expect("connect works");
        self.conn_of.insert(agent.to_owned(), conn);
        conn
    }

    pub fn disconnect(&mut self, agent: &str) {
        let conn = self.conn_of.remove(agent).expect("connected");
        self.closed.insert(conn);
        self.apply(Command::Disconnect { conn });
    }

    pub fn conn(&self, agent: &str) -> u64 {
        *self
            .conn_of
            .get(agent)
            .unwrap_or_else(|| panic!("{agent} has no connection"))
    }

    pub fn req(&mut self, agent: &str, method: Method) -> Result<Value, ApiError> {
        let conn = self.conn(agent);
        self.apply(Command::Request { conn, method })
            .reply
            .expect("requests reply")
    }

    pub fn ok(&mut self, agent: &str, method: Method) -> Value {
        let name = method.name();
        self.req(agent, method)
            .unwrap_or_else(|e| panic!("{agent} {name}: {e}"))
    }

    pub fn set_state(&mut self, agent: &str, state: &str) {
        self.ok(
            agent,
            Method::SetAgentState {
                state: state.into(),
                reason: None,
            },
        );
    }

    pub fn ready(&mut self, agent: &str) {
        self.set_state(agent, "ready");
    }

    /// Logs in (without a CRM host unless `key`) and goes ready.
    pub fn login_ready(&mut self, agent: &str, key: Option<&str>) -> u64 {
        let conn = self.connect(agent, key);
        self.ready(agent);
        conn
    }

    pub fn accept(&mut self, agent: &str) {
        self.ok(agent, Method::AcceptInteraction { id: None });
    }

    pub fn new_interaction(&mut self, id: &str, channel: Channel, service: &str) {
        let out = self.apply(Command::NewInteraction {
            id: id.into(),
            tenant: TENANT.into(),
            channel,
            service: service.into(),
            customer: Customer {
                name: format!("Customer {id}"),
                phone: None,
                email: None,
            },
            attached_data: Default::default(),
            customer_token_hash: format!("hash-{id}"),
        });
        out.reply
            .expect("ingress replies")
            .expect("interaction created");
    }

    pub fn chat(&mut self, id: &str) {
        self.new_interaction(id, Channel::Chat, "sales");
    }

    pub fn call(&mut self, id: &str) {
        self.new_interaction(id, Channel::Voice, "sales");
    }

    pub fn hangup(&mut self, id: &str) {
        self.apply(Command::CustomerHangup {
            interaction: id.into(),
        })
        .reply
        .unwrap()
        .unwrap();
    }

    /// Time passes by `ms`; due timers fire.
    pub fn advance(&mut self, ms: Millis) {
        self.now += ms;
        self.apply(Command::Tick);
    }

    pub fn reply(&mut self, agent: &str, rid: &str, value: Option<&str>, error: Option<&str>) {
        let conn = self.conn(agent);
        self.apply(Command::Reply {
            conn,
            rid: rid.to_owned(),
            value: value.map(str::to_owned),
            error: error.map(str::to_owned),
        });
    }

    /// Frames sent to `agent` since the last `take` for that agent.
    pub fn take(&mut self, agent: &str) -> Vec<Frame> {
        let (mine, rest) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|f| f.agent == agent);
        self.pending = rest;
        mine
    }

    /// Forgets every frame not yet taken.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    // ----- reading the core ----------------------------------------------------------------

    pub fn agent_state(&self, agent: &str) -> (String, Option<String>) {
        let a = self.core.agent(&AgentId(agent.into())).expect("agent");
        let s = self.core.agent_state(a);
        (s.state.as_str().to_owned(), s.not_ready_reason)
    }

    pub fn state_of(&self, agent: &str) -> String {
        self.agent_state(agent).0
    }

    /// The party state of `agent` on `id` (`ringing`, `connected`, `hold`, `wrap_up`).
    pub fn party(&self, id: &str, agent: &str) -> Option<String> {
        let i = self.core.interaction(&InteractionId(id.into()))?;
        let p = i.party(&AgentId(agent.into()))?;
        Some(
            serde_json::to_value(p.state)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    pub fn status(&self, id: &str) -> &'static str {
        if self.completed.contains(id) {
            return "completed";
        }
        self.core
            .interaction(&InteractionId(id.into()))
            .map_or("gone", |i| i.status().as_str())
    }

    /// Which agents `id` is ringing for.
    pub fn ringing(&self, id: &str) -> Vec<String> {
        self.core
            .interaction(&InteractionId(id.into()))
            .map(|i| {
                i.parties
                    .iter()
                    .filter(|p| p.state == baton_core::PartyState::Ringing)
                    .map(|p| p.agent.0.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// The names of the events in `frames`, in order.
pub fn names(frames: &[Frame]) -> Vec<&str> {
    frames.iter().filter_map(Frame::event).collect()
}

pub fn find<'a>(frames: &'a [Frame], event: &str) -> Option<&'a Frame> {
    frames.iter().find(|f| f.is(event))
}

pub fn all<'a>(frames: &'a [Frame], event: &str) -> Vec<&'a Frame> {
    frames.iter().filter(|f| f.is(event)).collect()
}
